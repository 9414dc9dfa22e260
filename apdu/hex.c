/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include "apdu/hex.h"

int hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex_is_separator(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ':';
}

apdu_err hex_decode(const char *hex, abuf *out, size_t *bad_pos)
{
	size_t digits = 0;
	/* First pass validates, so a failure leaves `out` untouched. */
	for (size_t i = 0; hex[i]; i++) {
		if (hex_is_separator(hex[i]))
			continue;
		if (hex_nibble(hex[i]) < 0) {
			if (bad_pos)
				*bad_pos = i;
			return APDU_E_HEX_DIGIT;
		}
		digits++;
	}
	if (digits % 2) {
		if (bad_pos)
			*bad_pos = strlen(hex);
		return APDU_E_HEX_ODD;
	}
	apdu_err e = abuf_reserve(out, digits / 2);
	if (e)
		return e;
	int hi = -1;
	for (size_t i = 0; hex[i]; i++) {
		if (hex_is_separator(hex[i]))
			continue;
		int n = hex_nibble(hex[i]);
		if (hi < 0) {
			hi = n;
		} else {
			out->p[out->len++] = (uint8_t)((hi << 4) | n);
			hi = -1;
		}
	}
	return APDU_OK;
}

apdu_err hex_decode_exact(const char *hex, uint8_t *out, size_t want)
{
	abuf b = ABUF_INIT;
	apdu_err e = hex_decode(hex, &b, NULL);
	if (!e && b.len != want)
		e = APDU_E_BAD_LENGTH;
	if (!e && want)
		memcpy(out, b.p, want);
	abuf_free(&b);
	return e;
}

char *hex_encode(const uint8_t *data, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[data[i] >> 4];
		out[2 * i + 1] = digits[data[i] & 0x0f];
	}
	out[2 * len] = '\0';
	return out;
}

char *hex_encode_alloc(const uint8_t *data, size_t len)
{
	char *s = malloc(2 * len + 1);
	if (!s)
		return NULL;
	return hex_encode(data, len, s);
}
