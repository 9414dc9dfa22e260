/* SPDX-License-Identifier: GPL-2.0-or-later */
/* BER-TLV EFs (file descriptor 39/79, TS 102 221 11.3): the EF's body is a list of BER-TLV objects (free
 * space FF). RETRIEVE DATA gives an object whole, or the tag list (5C), in blocks (62F1 while more
 * follow); SET DATA stores one, in one block or several, and a tag alone deletes it. See docs/card.md. */
#include <string.h>

#include "apdu/tlv.h"
#include "euicc_int.h"

/* The objects of a BER-TLV EF are its body's TLVs, one after the other; the first '00' or 'FF' where a
 * tag would start ends them (free space). Returns how many bytes they take. */
static size_t bt_used(const uint8_t *p, size_t n)
{
	acur cur = acur_make(p, n);
	while (cur.len && cur.p[0] != 0x00 && cur.p[0] != 0xFF) {
		tlv t;
		if (tlv_next(&cur, &t))
			break;
	}
	return (size_t)(cur.p - p);
}

/* the current EF when it is a BER-TLV EF its rule allows reading (or updating); its index */
static eu_status bt_ef(euicc_card *c, int ch, fs_tree *t, bool update, int *out)
{
	int ef = fs_current_ef(c, ch, t);
	if (ef < 0)
		return EU_NO_EF;
	if (t->f[ef].type != FS_EF_BERTLV)
		return EU_INCOMPATIBLE_FILE;
	if (!fs_allowed(c, t, ef, update))
		return EU_SECURITY;
	*out = ef;
	return EU_OK;
}

/* gives up to Le (256 without) bytes of what RETRIEVE DATA has, keeping the rest: 62F1 while more */
static eu_status bt_give(euicc_card *c, const capdu *a, abuf *out)
{
	size_t ne = a->le ? a->le : 256, give = c->fs.bt_rest.len < ne ? c->fs.bt_rest.len : ne;
	abuf_put(out, c->fs.bt_rest.p, give);
	memmove(c->fs.bt_rest.p, c->fs.bt_rest.p + give, c->fs.bt_rest.len - give);
	c->fs.bt_rest.len -= give;
	return c->fs.bt_rest.len ? EU_MORE_BLOCKS : EU_OK;
}

eu_status bertlv_retrieve_data(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	if (a->p1 != 0x00 || (a->p2 != 0x80 && a->p2 != 0x00))
		return EU_WRONG_P1P2;
	int ef;
	eu_status st = bt_ef(c, ch, t, false, &ef);
	if (st != EU_OK)
		return st;
	if (a->p2 == 0x00) { /* the next block */
		if (!c->fs.bt_rest.len)
			return EU_CONDITIONS;
		return bt_give(c, a, out);
	}
	abuf_reset(&c->fs.bt_rest);
	acur tc = acur_make(a->data, a->lc);
	tlv want;
	/* the data field is a tag alone: read it as the header of an empty object */
	uint8_t hdr[8];
	if (!a->lc || a->lc > 3)
		return EU_WRONG_LENGTH;
	memcpy(hdr, a->data, a->lc);
	hdr[a->lc] = 0x00;
	tc = acur_make(hdr, a->lc + 1u);
	if (tlv_next(&tc, &want) || tc.len)
		return EU_WRONG_DATA;
	const fs_file *f = &t->f[ef];
	const uint8_t *b = fs_body(c, f);
	size_t used = bt_used(b, f->size);
	acur cur = acur_make(b, used);
	if (want.tag == 0x5C) { /* the tag list */
		abuf tags = ABUF_INIT;
		tlv o;
		while (cur.len && !tlv_next(&cur, &o))
			abuf_put(&tags, o.raw, o.tag_len);
		tlv_put(&c->fs.bt_rest, 0x5C, tags.p, tags.len);
		abuf_free(&tags);
		return bt_give(c, a, out);
	}
	tlv o;
	while (cur.len && !tlv_next(&cur, &o))
		if (o.tag == want.tag) {
			abuf_put(&c->fs.bt_rest, o.raw, o.raw_len);
			return bt_give(c, a, out);
		}
	return EU_NOT_FOUND;
}

/* puts (or with an empty value, or a tag alone, deletes) the object obj in BER-TLV EF ef */
static eu_status bt_store(euicc_card *c, fs_tree *t, int ef, const uint8_t *obj, size_t n, bool del)
{
	const fs_file *f = &t->f[ef];
	tlv o;
	acur oc = acur_make(obj, n);
	if (tlv_next(&oc, &o) && !del)
		return EU_WRONG_DATA;
	uint32_t tag = o.tag;
	if (del) {
		uint8_t hdr[4];
		memcpy(hdr, obj, n);
		hdr[n] = 0x00;
		acur hc = acur_make(hdr, n + 1);
		if (tlv_next(&hc, &o))
			return EU_WRONG_DATA;
		tag = o.tag;
	}
	uint8_t *b = fs_body(c, f);
	size_t used = bt_used(b, f->size);
	abuf keep = ABUF_INIT;
	acur cur = acur_make(b, used);
	tlv x;
	while (cur.len && !tlv_next(&cur, &x))
		if (x.tag != tag)
			abuf_put(&keep, x.raw, x.raw_len);
	if (!del && o.len)
		abuf_put(&keep, obj, n);
	if (keep.err || keep.len > f->size) {
		abuf_free(&keep);
		return EU_NO_MEMORY;
	}
	fs_touch(c);
	if (keep.len)
		memcpy(b, keep.p, keep.len);
	memset(b + keep.len, 0xFF, f->size - keep.len);
	abuf_free(&keep);
	return EU_OK;
}

eu_status bertlv_set_data(euicc_card *c, int ch, fs_tree *t, const capdu *a)
{
	if (a->p1 != 0x00 || (a->p2 != 0x80 && a->p2 != 0x00))
		return EU_WRONG_P1P2;
	if (!a->lc)
		return EU_WRONG_LENGTH;
	int ef;
	eu_status st = bt_ef(c, ch, t, true, &ef);
	if (st != EU_OK)
		return st;
	if (a->p2 == 0x80) {
		abuf_reset(&c->fs.bt_set);
		c->fs.bt_set_ef = -1;
		/* a tag alone deletes its object */
		if (a->lc <= 3) {
			uint8_t hdr[4];
			memcpy(hdr, a->data, a->lc);
			hdr[a->lc] = 0x00;
			acur hc = acur_make(hdr, a->lc + 1u);
			tlv h;
			if (!tlv_next(&hc, &h) && !hc.len && h.tag_len == a->lc)
				return bt_store(c, t, ef, a->data, a->lc, true);
		}
	} else if (c->fs.bt_set_ef != ef) {
		return EU_CONDITIONS; /* no object on its way to this EF */
	}
	if (c->fs.bt_set.len + a->lc > t->f[ef].size + 8)
		return EU_NO_MEMORY;
	abuf_put(&c->fs.bt_set, a->data, a->lc);
	acur oc = acur_make(c->fs.bt_set.p, c->fs.bt_set.len);
	tlv o;
	apdu_err e = tlv_next(&oc, &o);
	if (e == APDU_E_TRUNC_VALUE) { /* the rest comes with the next blocks */
		c->fs.bt_set_ef = ef;
		return EU_OK;
	}
	if (e || oc.len) {
		abuf_reset(&c->fs.bt_set);
		c->fs.bt_set_ef = -1;
		return EU_WRONG_DATA;
	}
	st = bt_store(c, t, ef, c->fs.bt_set.p, c->fs.bt_set.len, false);
	abuf_reset(&c->fs.bt_set);
	c->fs.bt_set_ef = -1;
	return st;
}

eu_status bertlv_command(euicc_card *c, int ch, const capdu *a, abuf *out)
{
	fs_tree *t = fs_tree_of(c);
	if (!t)
		return EU_CONDITIONS; /* no profile enabled */
	return a->ins == 0xCB ? bertlv_retrieve_data(c, ch, t, a, out) : bertlv_set_data(c, ch, t, a);
}
