/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Hex helpers. Input is case-insensitive and may contain spaces, tabs, newlines and ':' separators. */
#ifndef APDU_HEX_H
#define APDU_HEX_H

#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"

/* Decodes into `out` (appended). On failure `out` is unchanged and *bad_pos (if given) is the offset of
 * the offending character in `hex`. */
APDU_MUST_CHECK apdu_err hex_decode(const char *hex, abuf *out, size_t *bad_pos);
/* Decodes into a fixed buffer of exactly `want` bytes (fails with APDU_E_BAD_LENGTH otherwise). */
APDU_MUST_CHECK apdu_err hex_decode_exact(const char *hex, uint8_t *out, size_t want);
/* Lowercase hex, NUL-terminated; `out` must hold 2*len+1 chars. Returns out. */
char *hex_encode(const uint8_t *data, size_t len, char *out);
/* Same into a fresh heap string (NULL on allocation failure). */
char *hex_encode_alloc(const uint8_t *data, size_t len);
/* The value of one hex digit, -1 for anything else. */
int hex_nibble(char c);

#endif
