/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ES8 sessions (RAM only): the ISD-P that STORE DATA goes to after INSTALL [for personalization], the
 * key establishment's challenge and SM-DP key, the SCP03t download and the package as it arrives. Part
 * of the card (struct euicc_card, field es8). */
#ifndef SIM_ES8_STATE_H
#define SIM_ES8_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"
#include "apdu/scp03.h"

typedef struct {
	int perso_target; /* ISD-P index that STORE DATA goes to after INSTALL [for personalization], -1 */
	uint8_t ke_challenge[16];
	bool ke_challenge_valid;
	uint8_t ke_dp_pk[65]; /* PK.DP.ECDSA from a verified 3A01 */
	bool ke_dp_valid;
	int dl_target; /* ISD-P index of the SCP03t session, -1 */
	scp03_session dl;
	abuf dl_buf;	    /* the package as it arrives */
	size_t dl_pe_count; /* profile elements answered so far */
	bool dl_failed;
} es8_state;

#endif
