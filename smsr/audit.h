/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the SM-SR reads from a card's audit: the ISD-P entries of a GET STATUS response (E3 templates:
 * 4F AID, 9F70 life cycle state, 53 fall-back/emergency flags, 5A ICCID), parsed whole. */
#ifndef SMSR_AUDIT_H
#define SMSR_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_MAX_ISDPS 16

typedef struct {
	char aid[33];	/* hex */
	char iccid[21]; /* digits, "" when the ISD-P holds no profile */
	uint8_t state;	/* GP life cycle byte */
	bool fallback, emergency;
} audit_isdp;

/* The ISD-Ps of a GET STATUS response (data only, no SW). Templates without a 16-byte AID or a state
 * byte are skipped; -1 with why when the response is not a sequence of TLVs or lists more than cap. */
int audit_parse(const uint8_t *r, size_t len, audit_isdp *out, size_t cap, size_t *n, char *why, size_t why_len);
/* installed, selectable or personalized: an ISD-P that holds no profile (a download that did not end) */
bool audit_is_empty(const audit_isdp *e);

#endif
