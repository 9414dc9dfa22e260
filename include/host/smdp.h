/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-DP role (host/smdp.c): key establishment scenario #3 with an ISD-P and the SCP03t download of
 * a SAIP package, sent through the device adapter's SCP80 channel to the ISD-R and then the ISD-P. */
#ifndef HOST_SMDP_H
#define HOST_SMDP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "host/adapter.h"
#include "host/pki.h"

/* Faults for negative conformance vectors (the replayer) and tests: a download that must be refused */
typedef struct {
	int corrupt_segment;  /* flip a MAC bit in this 1-based segment (0: none) */
	bool wrong_challenge; /* the key establishment signs over another challenge than the card's */
} smdp_faults;

/* Key establishment with ISD-P `aid` (its certificate from the EIS checked up to the PKI's CI), then the
 * package in SCP03t segments of `segment` bytes; pkg_len 0 stops after opening the session. 0 on
 * success; -1 with the step that failed in h->log (a profile element the card refused is named). The
 * ISD-P's SCP03 key ends in h->scp03_key. */
int smdp_download(dev_host *h, const bench_pki *pki, json_t *eis, const uint8_t aid[16], const uint8_t *pkg,
		  size_t pkg_len, size_t segment);
int smdp_download_faults(dev_host *h, const bench_pki *pki, json_t *eis, const uint8_t aid[16], const uint8_t *pkg,
			 size_t pkg_len, size_t segment, const smdp_faults *f);

#endif
