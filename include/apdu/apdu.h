/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ISO/IEC 7816-4 command and response APDUs: one model with an explicit case, one validator
 * (capdu_validate), a zero-copy parser and an encoder. */
#ifndef APDU_APDU_H
#define APDU_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"

typedef enum {
	APDU_CASE_1 = 1, /* no data, no Le */
	APDU_CASE_2S,	 /* Le (short) */
	APDU_CASE_3S,	 /* Lc + data (short) */
	APDU_CASE_4S,	 /* Lc + data + Le (short) */
	APDU_CASE_2E,	 /* Le (extended) */
	APDU_CASE_3E,	 /* Lc + data (extended) */
	APDU_CASE_4E,	 /* Lc + data + Le (extended) */
} apdu_case;

typedef struct {
	uint8_t cla, ins, p1, p2;
	apdu_case cse;
	const uint8_t *data; /* points into the parsed buffer (zero-copy) or the caller's data */
	size_t lc;	     /* Nc: number of data bytes */
	size_t le;	     /* Ne: 1..256 short, 1..65536 extended; 0 when the case has no Le */
} capdu;

typedef struct {
	const uint8_t *data;
	size_t len;
	uint16_t sw;
} rapdu;

const char *apdu_case_name(apdu_case c);

/* The one place that decides whether a capdu is well formed: case in range, Lc and Le consistent with it
 * (short: Nc 1..255, Ne 1..256; extended: Nc 1..65535, Ne 1..65536). */
APDU_MUST_CHECK apdu_err capdu_validate(const capdu *a);
/* Parses a whole buffer as one C-APDU (ISO/IEC 7816-4 5.1). *out untouched on failure. */
APDU_MUST_CHECK apdu_err capdu_parse(const uint8_t *buf, size_t len, capdu *out);
/* Builds a capdu, choosing the short form when Nc <= 255 and Ne <= 256, extended otherwise. */
APDU_MUST_CHECK apdu_err capdu_make(capdu *out, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data,
				    size_t lc, size_t le);
/* Encodes a validated capdu; nothing is appended on failure. */
APDU_MUST_CHECK apdu_err capdu_encode(const capdu *a, abuf *out);
/* Length of the encoding. */
size_t capdu_encoded_len(const capdu *a);

/* Splits an R-APDU into data and SW1SW2 (at least 2 bytes). */
APDU_MUST_CHECK apdu_err rapdu_parse(const uint8_t *buf, size_t len, rapdu *out);

#endif
