/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SAIP profile packages (TCA eUICC Profile Package, DER): a generator for test profiles and a reader. */
#ifndef SMSR_PROFILE_H
#define SMSR_PROFILE_H

#include <stdbool.h>

#include <jansson.h>

#include "apdu/buf.h"

typedef struct {
	const char *iccid; /* 19-20 digits, Luhn-valid */
	const char *imsi;  /* 6-15 digits */
	uint8_t k[16];
	uint8_t opc[16];
	const char *name; /* profile type text, optional */
	const char *spn;  /* service provider name (EF.SPN), optional */
	const char *pin;  /* PIN1, 4-8 digits; NULL: 0000 */
	const char *puk;  /* PUK1, 8 digits; NULL: 11111111 */
	bool pin_enabled; /* PIN1 verification required (default: disabled, as in TS.48) */
} profile_params;

/* header, mf (EF.PL, EF.ICCID, EF.DIR, EF.ARR), pukCodes, pinCodes (PIN1, ADM1 55555555), usim (ADF.USIM,
 * EF.IMSI, EF.AD, EF.UST, EF.LOCI, EF.PSLOCI, EF.SPN), akaParameter (MILENAGE K/OPc), end. Fails with a message naming the bad parameter. */
int profile_build(const profile_params *p, abuf *out, char *why, size_t why_len);
/* Elements, ICCID, IMSI of a package; keys only with secrets. NULL with why on a malformed package. */
json_t *profile_describe(const uint8_t *pkg, size_t len, bool secrets, char *why, size_t why_len);
const char *profile_element_name(uint32_t tag);

#endif
