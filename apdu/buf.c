/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "apdu/buf.h"

apdu_err acur_u8(acur *c, uint8_t *out)
{
	if (c->len < 1)
		return APDU_E_TRUNC_HEADER;
	*out = c->p[0];
	c->p++;
	c->len--;
	return APDU_OK;
}

apdu_err acur_u16(acur *c, uint16_t *out)
{
	if (c->len < 2)
		return APDU_E_TRUNC_HEADER;
	*out = (uint16_t)((c->p[0] << 8) | c->p[1]);
	c->p += 2;
	c->len -= 2;
	return APDU_OK;
}

apdu_err acur_take(acur *c, size_t n, const uint8_t **out)
{
	if (n > c->len)
		return APDU_E_TRUNC_VALUE;
	*out = c->p;
	c->p += n;
	c->len -= n;
	return APDU_OK;
}

apdu_err acur_copy(acur *c, void *dst, size_t n)
{
	const uint8_t *p;
	apdu_err e = acur_take(c, n, &p);
	if (e)
		return e;
	if (n)
		memcpy(dst, p, n);
	return APDU_OK;
}

void abuf_init(abuf *b)
{
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = APDU_OK;
}

void abuf_free(abuf *b)
{
	if (!b)
		return;
	if (b->p) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	abuf_init(b);
}

void abuf_reset(abuf *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->len);
	b->len = 0;
	b->err = APDU_OK;
}

apdu_err abuf_reserve(abuf *b, size_t extra)
{
	if (b->err)
		return b->err;
	if (extra > ABUF_MAX || b->len > ABUF_MAX - extra)
		return b->err = APDU_E_NOMEM;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return APDU_OK;
	size_t ncap = b->cap ? b->cap : 64;
	while (ncap < need)
		ncap *= 2;
	if (ncap > ABUF_MAX)
		ncap = ABUF_MAX;
	/* Grow by copy so the old block can be wiped: it may hold key material. */
	uint8_t *np = malloc(ncap);
	if (!np)
		return b->err = APDU_E_NOMEM;
	if (b->p) {
		memcpy(np, b->p, b->len);
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = np;
	b->cap = ncap;
	return APDU_OK;
}

apdu_err abuf_put(abuf *b, const void *data, size_t len)
{
	apdu_err e = abuf_reserve(b, len);
	if (e)
		return e;
	if (len)
		memcpy(b->p + b->len, data, len);
	b->len += len;
	return APDU_OK;
}

apdu_err abuf_put_u8(abuf *b, uint8_t v)
{
	return abuf_put(b, &v, 1);
}

apdu_err abuf_put_u16(abuf *b, uint16_t v)
{
	uint8_t t[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	return abuf_put(b, t, 2);
}

apdu_err abuf_fill(abuf *b, uint8_t v, size_t n)
{
	apdu_err e = abuf_reserve(b, n);
	if (e || n == 0)
		return e;
	memset(b->p + b->len, v, n);
	b->len += n;
	return APDU_OK;
}

apdu_err abuf_insert(abuf *b, size_t at, const void *data, size_t len)
{
	if (at > b->len)
		return b->err ? b->err : (b->err = APDU_E_INVAL);
	apdu_err e = abuf_reserve(b, len);
	if (e || len == 0)
		return e;
	memmove(b->p + at + len, b->p + at, b->len - at);
	if (len)
		memcpy(b->p + at, data, len);
	b->len += len;
	return APDU_OK;
}

void abuf_truncate(abuf *b, size_t len)
{
	if (len >= b->len)
		return;
	OPENSSL_cleanse(b->p + len, b->len - len);
	b->len = len;
}

void abuf_fail(abuf *b, apdu_err e)
{
	if (e && !b->err)
		b->err = e;
}
