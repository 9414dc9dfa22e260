/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "apdu/tlv.h"

/* ISO/IEC 8825-1 8.1.2: tag number >= 31 continues in following bytes, b8 set = more follow. */
static apdu_err ber_read_tag(acur *c, uint32_t *tag, uint8_t *tag_len)
{
	if (c->len < 1)
		return APDU_E_TRUNC_HEADER;
	uint32_t t = c->p[0];
	size_t n = 1;
	if ((c->p[0] & 0x1f) == 0x1f) {
		for (;;) {
			if (n >= c->len)
				return APDU_E_TRUNC_HEADER;
			if (n >= TLV_MAX_TAG_BYTES)
				return APDU_E_BAD_TAG;
			uint8_t b = c->p[n++];
			t = (t << 8) | b;
			if (!(b & 0x80))
				break;
		}
	}
	*tag = t;
	*tag_len = (uint8_t)n;
	c->p += n;
	c->len -= n;
	return APDU_OK;
}

/* ISO/IEC 8825-1 8.1.3, definite form only, at most 3 subsequent octets. */
static apdu_err ber_read_len(acur *c, size_t *len)
{
	if (c->len < 1)
		return APDU_E_TRUNC_HEADER;
	uint8_t first = c->p[0];
	if (first < 0x80) {
		*len = first;
		c->p++;
		c->len--;
		return APDU_OK;
	}
	size_t n = first & 0x7f;
	if (n == 0 || n > TLV_MAX_LEN_BYTES)
		return APDU_E_BAD_LENGTH;
	if (c->len < 1 + n)
		return APDU_E_TRUNC_HEADER;
	size_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | c->p[1 + i];
	*len = v;
	c->p += 1 + n;
	c->len -= 1 + n;
	return APDU_OK;
}

apdu_err tlv_next(acur *c, tlv *out)
{
	acur w = *c;
	tlv t;
	apdu_err e = ber_read_tag(&w, &t.tag, &t.tag_len);
	if (e)
		return e;
	e = ber_read_len(&w, &t.len);
	if (e)
		return e;
	if (t.len > w.len)
		return APDU_E_TRUNC_VALUE;
	t.constructed = (c->p[0] & 0x20) != 0;
	t.value = w.p;
	t.raw = c->p;
	t.raw_len = (size_t)(w.p - c->p) + t.len;
	w.p += t.len;
	w.len -= t.len;
	*c = w;
	*out = t;
	return APDU_OK;
}

apdu_err tlv_parse_one(const uint8_t *buf, size_t len, tlv *out)
{
	acur c = acur_make(buf, len);
	tlv t;
	apdu_err e = tlv_next(&c, &t);
	if (e)
		return e;
	if (c.len)
		return APDU_E_TRAILING;
	*out = t;
	return APDU_OK;
}

apdu_err tlv_find(const uint8_t *buf, size_t len, uint32_t tag, tlv *out)
{
	acur c = acur_make(buf, len);
	while (c.len) {
		tlv t;
		apdu_err e = tlv_next(&c, &t);
		if (e)
			return e;
		if (t.tag == tag) {
			*out = t;
			return APDU_OK;
		}
	}
	return APDU_E_BAD_TAG;
}

static apdu_err tlv_walk_rec(const uint8_t *buf, size_t len, int depth, int max_depth, tlv_visit_fn fn, void *ctx,
			     int *stop)
{
	if (depth >= max_depth)
		return APDU_E_TOO_DEEP;
	acur c = acur_make(buf, len);
	while (c.len && !*stop) {
		tlv t;
		apdu_err e = tlv_next(&c, &t);
		if (e)
			return e;
		if (fn && fn(&t, depth, ctx)) {
			*stop = 1;
			break;
		}
		if (t.constructed && t.len) {
			e = tlv_walk_rec(t.value, t.len, depth + 1, max_depth, fn, ctx, stop);
			if (e)
				return e;
		}
	}
	return APDU_OK;
}

apdu_err tlv_walk(const uint8_t *buf, size_t len, int max_depth, tlv_visit_fn fn, void *ctx)
{
	int stop = 0;
	if (max_depth <= 0 || max_depth > TLV_MAX_DEPTH)
		max_depth = TLV_MAX_DEPTH;
	/* validate first, then visit: the callback never sees a prefix of a bad tree */
	apdu_err e = tlv_walk_rec(buf, len, 0, max_depth, NULL, NULL, &stop);
	if (e || !fn)
		return e;
	return tlv_walk_rec(buf, len, 0, max_depth, fn, ctx, &stop);
}

size_t tlv_tag_size(uint32_t tag)
{
	return tag > 0xffff ? 3 : tag > 0xff ? 2 : 1;
}

size_t tlv_len_size(size_t len)
{
	return len < 0x80 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 4;
}

apdu_err tlv_put_tag(abuf *b, uint32_t tag)
{
	uint8_t t[3];
	size_t n = tlv_tag_size(tag);
	for (size_t i = 0; i < n; i++)
		t[i] = (uint8_t)(tag >> (8 * (n - 1 - i)));
	return abuf_put(b, t, n);
}

static size_t ber_len_encode(size_t len, uint8_t out[4])
{
	if (len < 0x80) {
		out[0] = (uint8_t)len;
		return 1;
	}
	if (len <= 0xff) {
		out[0] = 0x81;
		out[1] = (uint8_t)len;
		return 2;
	}
	if (len <= 0xffff) {
		out[0] = 0x82;
		out[1] = (uint8_t)(len >> 8);
		out[2] = (uint8_t)len;
		return 3;
	}
	out[0] = 0x83;
	out[1] = (uint8_t)(len >> 16);
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	return 4;
}

apdu_err tlv_put_len(abuf *b, size_t len)
{
	uint8_t l[4];
	if (len > 0xffffff)
		return b->err ? b->err : (b->err = APDU_E_BAD_LENGTH);
	return abuf_put(b, l, ber_len_encode(len, l));
}

apdu_err tlv_put(abuf *b, uint32_t tag, const void *value, size_t len)
{
	if (len > 0xffffff || tag > 0xffffff)
		return b->err ? b->err : (b->err = APDU_E_BAD_LENGTH);
	apdu_err e = abuf_reserve(b, tlv_tag_size(tag) + tlv_len_size(len) + len);
	if (e)
		return e;
	tlv_put_tag(b, tag);
	tlv_put_len(b, len);
	return abuf_put(b, value, len);
}

apdu_err tlv_put_u8(abuf *b, uint32_t tag, uint8_t v)
{
	return tlv_put(b, tag, &v, 1);
}

apdu_err tlv_begin(abuf *b, uint32_t tag, size_t *mark)
{
	apdu_err e = tlv_put_tag(b, tag);
	*mark = b->len;
	return e;
}

apdu_err tlv_end(abuf *b, size_t mark)
{
	if (b->err)
		return b->err;
	if (mark > b->len)
		return b->err = APDU_E_INVAL;
	size_t len = b->len - mark;
	uint8_t l[4];
	if (len > 0xffffff)
		return b->err = APDU_E_BAD_LENGTH;
	return abuf_insert(b, mark, l, ber_len_encode(len, l));
}

/* ---- COMPREHENSION-TLV ---- */

static apdu_err ctlv_read_len(acur *c, size_t *len)
{
	if (c->len < 1)
		return APDU_E_TRUNC_HEADER;
	uint8_t first = c->p[0];
	size_t n, v = 0;
	if (first <= 0x7f) {
		*len = first;
		c->p++;
		c->len--;
		return APDU_OK;
	}
	if (first < 0x81 || first > 0x83)
		return APDU_E_BAD_LENGTH;
	n = first & 0x03;
	if (c->len < 1 + n)
		return APDU_E_TRUNC_HEADER;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | c->p[1 + i];
	/* TS 102 223 C.3: '81' only for 128..255; shortest form required for the others too */
	if ((n == 1 && v < 0x80) || (n == 2 && v < 0x100) || (n == 3 && v < 0x10000))
		return APDU_E_BAD_LENGTH;
	*len = v;
	c->p += 1 + n;
	c->len -= 1 + n;
	return APDU_OK;
}

apdu_err ctlv_next(acur *c, ctlv *out)
{
	acur w = *c;
	ctlv t;
	if (w.len < 1)
		return APDU_E_TRUNC_HEADER;
	uint8_t b0 = w.p[0];
	/* TS 102 223 C.2: '00', '80' and 'FF' are not valid first tag bytes */
	if (b0 == 0x00 || b0 == 0x80 || b0 == 0xff)
		return APDU_E_BAD_TAG;
	if (b0 == 0x7f) {
		if (w.len < 3)
			return APDU_E_TRUNC_HEADER;
		uint16_t v = (uint16_t)((w.p[1] << 8) | w.p[2]);
		t.cr = (v & 0x8000) != 0;
		t.tag = v & 0x7fff;
		t.long_tag = true;
		if (t.tag == 0)
			return APDU_E_BAD_TAG;
		w.p += 3;
		w.len -= 3;
	} else {
		t.cr = (b0 & 0x80) != 0;
		t.tag = b0 & 0x7f;
		t.long_tag = false;
		w.p++;
		w.len--;
	}
	apdu_err e = ctlv_read_len(&w, &t.len);
	if (e)
		return e;
	if (t.len > w.len)
		return APDU_E_TRUNC_VALUE;
	t.value = w.p;
	w.p += t.len;
	w.len -= t.len;
	*c = w;
	*out = t;
	return APDU_OK;
}

apdu_err ctlv_find(const uint8_t *buf, size_t len, uint16_t tag, ctlv *out)
{
	acur c = acur_make(buf, len);
	while (c.len) {
		ctlv t;
		apdu_err e = ctlv_next(&c, &t);
		if (e)
			return e;
		if (t.tag == tag) {
			*out = t;
			return APDU_OK;
		}
	}
	return APDU_E_BAD_TAG;
}

static apdu_err ctlv_put_fmt(abuf *b, uint16_t tag, bool cr, bool long_tag, const void *value, size_t len)
{
	uint8_t hdr[7];
	size_t n = 0;
	if (tag == 0 || tag > 0x7fff || len > 0xffffff)
		return b->err ? b->err : (b->err = APDU_E_INVAL);
	if (tag <= 0x7e && !long_tag) {
		hdr[n++] = (uint8_t)(tag | (cr ? 0x80 : 0));
	} else {
		uint16_t v = (uint16_t)(tag | (cr ? 0x8000 : 0));
		hdr[n++] = 0x7f;
		hdr[n++] = (uint8_t)(v >> 8);
		hdr[n++] = (uint8_t)v;
	}
	n += ber_len_encode(len, hdr + n);
	apdu_err e = abuf_reserve(b, n + len);
	if (e)
		return e;
	abuf_put(b, hdr, n);
	return abuf_put(b, value, len);
}

apdu_err ctlv_put(abuf *b, uint16_t tag, bool cr, const void *value, size_t len)
{
	return ctlv_put_fmt(b, tag, cr, false, value, len);
}

apdu_err ctlv_put_item(abuf *b, const ctlv *item)
{
	return ctlv_put_fmt(b, item->tag, item->cr, item->long_tag, item->value, item->len);
}

/* ---- DGI ---- */

apdu_err dgi_next(acur *c, dgi *out)
{
	acur w = *c;
	dgi d;
	if (w.len < 3)
		return APDU_E_TRUNC_HEADER;
	d.tag = (uint16_t)((w.p[0] << 8) | w.p[1]);
	if (w.p[2] != 0xff) {
		d.len = w.p[2];
		w.p += 3;
		w.len -= 3;
	} else {
		if (w.len < 5)
			return APDU_E_TRUNC_HEADER;
		d.len = ((size_t)w.p[3] << 8) | w.p[4];
		w.p += 5;
		w.len -= 5;
	}
	if (d.len > w.len)
		return APDU_E_TRUNC_VALUE;
	d.value = w.p;
	w.p += d.len;
	w.len -= d.len;
	*c = w;
	*out = d;
	return APDU_OK;
}

size_t dgi_len_size(size_t len)
{
	return len < 0xff ? 1 : 3;
}

apdu_err dgi_put(abuf *b, uint16_t tag, const void *value, size_t len)
{
	uint8_t hdr[5] = { (uint8_t)(tag >> 8), (uint8_t)tag };
	size_t n = 2;
	if (len > 0xffff)
		return b->err ? b->err : (b->err = APDU_E_BAD_LENGTH);
	if (len < 0xff) {
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = 0xff;
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	}
	apdu_err e = abuf_reserve(b, n + len);
	if (e)
		return e;
	abuf_put(b, hdr, n);
	return abuf_put(b, value, len);
}
