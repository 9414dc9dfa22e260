/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The file system's state (RAM only): the enabled profile's tree as saip.c builds it from the stored
 * package, each channel's selection, the GSM view's, the PINs verified in this session, and the BER-TLV
 * transfers under way. Part of the card (struct euicc_card, field fs); fs.c, gsm.c, pin.c and bertlv.c
 * use it. */
#ifndef SIM_FS_STATE_H
#define SIM_FS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"
#include "card_limits.h"

/* The enabled profile's file system (saip.c builds it from the stored package, fs.c runs the commands) */
#define FS_MAX_FILES 320
enum { FS_DF = 1, FS_ADF, FS_EF_TRANSPARENT, FS_EF_LINEAR, FS_EF_CYCLIC, FS_EF_BERTLV };
typedef struct {
	uint16_t fid;
	uint8_t type;
	uint8_t sfi; /* 0: none */
	uint16_t rec_len;
	uint32_t size;
	int parent;
	uint8_t aid[16];
	uint8_t aid_len;
	uint16_t arr_fid; /* access rules: EF.ARR file and record (FCP '8B'); 0: always */
	uint8_t arr_rec;
	uint32_t data_off; /* the contents in the profile's fsdata */
	uint8_t pe_tag;	   /* the profile element that created it */
} fs_file;
typedef struct {
	fs_file f[FS_MAX_FILES];
	size_t n;
	size_t data_len; /* bytes of fsdata the files take */
	bool has_aka;
	uint8_t aka_alg;
	uint8_t k[16], opc[16];
	/* the first problem found, for the per-element status and for `show` */
	int bad_pe;	    /* index of the element, -1 when none */
	uint8_t bad_status; /* SAIP PE status */
	char why[128];
} fs_tree;

typedef struct {
	fs_tree tree;
	bool valid;  /* tree is the enabled profile's */
	int profile; /* whose tree it is */
	int df[EUICC_CHANNELS], ef[EUICC_CHANNELS], rec[EUICC_CHANNELS];
	int gsm_df, gsm_ef, gsm_rec;	   /* the GSM view's selection (CLA A0, channel 0): DF, EF (-1), record */
	bool pin_verified[EUICC_MAX_PINS]; /* security status of the session */
	uint8_t pin_left;		   /* the x of the last 63Cx */
	/* BER-TLV EFs: what RETRIEVE DATA still has to give, a SET DATA object still arriving */
	abuf bt_rest;
	abuf bt_set;
	int bt_set_ef; /* the EF the SET DATA object goes to, -1 none */
} fs_state;

#endif
