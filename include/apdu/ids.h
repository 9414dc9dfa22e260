/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Identifier check digits: EID (GSMA SGP.02 / ISO 7064 MOD 97-10) and ICCID (ITU-T E.118 Luhn). */
#ifndef APDU_IDS_H
#define APDU_IDS_H

#include <stddef.h>
#include <stdint.h>

#include "apdu/err.h"

#define EID_DIGITS 32

/* APDU_OK when `eid` is 32 decimal digits whose value mod 97 is 1; APDU_E_BAD_LENGTH, APDU_E_HEX_DIGIT
 * (not a decimal digit) or APDU_E_CHECK_DIGIT otherwise. */
APDU_MUST_CHECK apdu_err eid_check(const char *eid);
/* Computes the two check digits for the first 30 digits of `eid` (30 or 32 digits given); writes the full
 * 32-digit EID plus NUL into out[33]. */
APDU_MUST_CHECK apdu_err eid_complete(const char *eid, char out[EID_DIGITS + 1]);
/* 16-byte binary EID from its 32 digits. */
APDU_MUST_CHECK apdu_err eid_to_bytes(const char *eid, uint8_t out[16]);

/* ICCID: 19 or 20 digits ('F' padding not included), the last one a Luhn check digit. */
APDU_MUST_CHECK apdu_err iccid_check(const char *iccid);
/* The Luhn check digit for `digits` (without check digit). */
APDU_MUST_CHECK apdu_err luhn_digit(const char *digits, char *out);
/* Nibble-swapped BCD as in EF.ICCID / the SAIP header (10 bytes, 'F' padded). */
APDU_MUST_CHECK apdu_err iccid_to_bcd(const char *iccid, uint8_t out[10]);
/* Back from swapped BCD; out needs 21 bytes. */
APDU_MUST_CHECK apdu_err iccid_from_bcd(const uint8_t in[10], char out[21]);

#endif
