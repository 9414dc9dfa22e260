/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Byte cursor (read side) and checked growing buffer (write side).
 *
 * Every parser of this project reads through an `acur`: `need > len` is checked by comparison with the
 * remaining length, never with pointer sums. Every encoder writes into an `abuf`, which grows up to a hard
 * limit and remembers the first failure, so a chain of puts can be checked once at the end. */
#ifndef APDU_BUF_H
#define APDU_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/err.h"

typedef struct {
	const uint8_t *p;
	size_t len;
} acur;

static inline acur acur_make(const uint8_t *p, size_t len)
{
	acur c = { p, len };
	return c;
}

APDU_MUST_CHECK apdu_err acur_u8(acur *c, uint8_t *out);
APDU_MUST_CHECK apdu_err acur_u16(acur *c, uint16_t *out); /* big-endian */
APDU_MUST_CHECK apdu_err acur_take(acur *c, size_t n, const uint8_t **out);
APDU_MUST_CHECK apdu_err acur_copy(acur *c, void *dst, size_t n);

/* Largest buffer an abuf will grow to (a peer never makes us allocate more). */
#define ABUF_MAX (16u * 1024u * 1024u)

typedef struct {
	uint8_t *p;
	size_t len;
	size_t cap;
	apdu_err err; /* first failure; later puts are no-ops */
} abuf;

#define ABUF_INIT                   \
	{                           \
		NULL, 0, 0, APDU_OK \
	}

void abuf_init(abuf *b);
/* Wipes the contents (they may be keys or plaintext) and frees. Accepts NULL. */
void abuf_free(abuf *b);
/* Drops the contents but keeps the allocation; clears the error. */
void abuf_reset(abuf *b);
apdu_err abuf_reserve(abuf *b, size_t extra);
apdu_err abuf_put(abuf *b, const void *data, size_t len);
apdu_err abuf_put_u8(abuf *b, uint8_t v);
apdu_err abuf_put_u16(abuf *b, uint16_t v);
apdu_err abuf_fill(abuf *b, uint8_t v, size_t n);
/* Inserts `len` bytes at offset `at` (moving what follows). */
apdu_err abuf_insert(abuf *b, size_t at, const void *data, size_t len);
/* A builder that wrote into b failed: its error becomes b's sticky error (the first one stays) */
void abuf_fail(abuf *b, apdu_err e);
/* Truncates to `len` (<= current length), wiping what is cut. */
void abuf_truncate(abuf *b, size_t len);

#endif
