/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The enabled profile's UICC file system (ETSI TS 102 221, 3GPP TS 31.102): SELECT by FID, path and
 * AID, STATUS, READ/UPDATE BINARY (also by SFI), READ/UPDATE RECORD (absolute, current, next,
 * previous; linear fixed and cyclic), SEARCH RECORD (simple and enhanced), VERIFY / CHANGE / DISABLE /
 * ENABLE / UNBLOCK PIN with counters in NVM, access rules from EF.ARR (6982 when not satisfied), and
 * AUTHENTICATE with MILENAGE (3G and GSM contexts). The tree is built from the stored package (saip.c)
 * when first needed; the files' contents and the PIN counters live in the profile's NVM, so updates
 * survive power cycles and stay with their profile. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/milenage.h"
#include "apdu/tlv.h"
#include "euicc_int.h"

/* ISO 7816-4 access mode bits of an EF */
#define AM_READ	  0x01
#define AM_UPDATE 0x02

void fs_forget(euicc_card *c)
{
	c->fs.valid = false;
	memset(c->fs.pin_verified, 0, sizeof(c->fs.pin_verified));
	for (int i = 0; i < EUICC_CHANNELS; i++) {
		c->fs.df[i] = 0;
		c->fs.ef[i] = -1;
		c->fs.rec[i] = 0;
	}
	c->fs.gsm_df = 0;
	c->fs.gsm_ef = -1;
	c->fs.gsm_rec = 0;
}

/* the enabled profile's file contents are about to change: saved from now on, not rebuilt */
static void files_touch(euicc_card *c)
{
	euicc_blob_touch(c, c->fs.profile);
	c->nvm.profiles[c->fs.profile].files_pristine = false;
}

/* The tree of the enabled profile, (re)built when the enabled profile changed. */
static fs_tree *tree(euicc_card *c)
{
	int en = euicc_enabled_profile(c);
	if (en < 0)
		return NULL;
	nvm_profile *p = &c->nvm.profiles[en];
	if (!c->fs.valid || c->fs.profile != en) {
		fs_forget(c);
		if (saip_build(p->package, p->package_len, &c->fs.tree, NULL, 0, NULL, NULL) ||
		    c->fs.tree.data_len != p->fsdata_len) {
			euicc_tracef(c, "profile %d: no file system (%s)", en,
				     c->fs.tree.why[0] ? c->fs.tree.why : "not installed");
			return NULL;
		}
		c->fs.profile = en;
		c->fs.valid = true;
	}
	return &c->fs.tree;
}

static nvm_profile *prof(euicc_card *c)
{
	return &c->nvm.profiles[c->fs.profile];
}

static uint8_t *body(euicc_card *c, const fs_file *f)
{
	return prof(c)->fsdata + f->data_off;
}

static bool is_dir(const fs_file *f)
{
	return f->type == FS_DF || f->type == FS_ADF;
}

/* the ADF the channel is in (7FFF), else the USIM */
static int current_adf(const fs_tree *t, int dir)
{
	for (int d = dir; d > 0; d = t->f[d].parent)
		if (t->f[d].type == FS_ADF)
			return d;
	return fs_adf(t, fs_usim_prefix);
}

/* ---- access rules (TS 102 221 9.2.7, EF.ARR referenced by '8B') ---- */

static bool sc_satisfied(euicc_card *c, const tlv *sc)
{
	switch (sc->tag) {
	case 0x90: return true;
	case 0x97: return false;
	case 0xA4: {
		tlv k;
		return !tlv_find(sc->value, sc->len, 0x83, &k) && k.len == 1 && pin_satisfied(c, k.value[0]);
	}
	case 0xA0:   /* OR template */
	case 0xAF: { /* AND template */
		acur in = acur_make(sc->value, sc->len);
		tlv x;
		bool any = false, all = true;
		while (in.len && !tlv_next(&in, &x)) {
			bool s = sc_satisfied(c, &x);
			any = any || s;
			all = all && s;
		}
		return sc->tag == 0xA0 ? any : all;
	}
	}
	return false; /* secure messaging templates and anything else: not this card */
}

static bool allowed(euicc_card *c, const fs_tree *t, int file, uint8_t am_bit)
{
	const fs_file *f = &t->f[file];
	if (!f->arr_fid)
		return true; /* no rules given (the bench's own packages) */
	int arr = -1;
	for (int d = f->parent; d >= 0 && arr < 0; d = t->f[d].parent) {
		arr = fs_child(t, d, f->arr_fid);
		if (d == 0)
			break;
	}
	if (arr < 0 || t->f[arr].type != FS_EF_LINEAR || !f->arr_rec || f->arr_rec > t->f[arr].size / t->f[arr].rec_len)
		return false; /* a rule that cannot be found is never satisfied */
	const fs_file *a = &t->f[arr];
	acur cur = acur_make(body(c, a) + (size_t)(f->arr_rec - 1) * a->rec_len, a->rec_len);
	tlv x;
	bool applies = false;
	while (cur.len && cur.p[0] != 0xFF && cur.p[0] != 0x00 && !tlv_next(&cur, &x)) {
		if (x.tag == 0x80)
			applies = x.len == 1 && (x.value[0] & am_bit);
		else if (x.tag == 0x84)
			applies = false; /* rules by command header: for commands this card does not have */
		else if (applies && sc_satisfied(c, &x))
			return true;
	}
	return false;
}

/* ---- FCP ---- */

static void fcp(euicc_card *c, const fs_tree *t, int i, abuf *out)
{
	const fs_file *f = &t->f[i];
	size_t m;
	tlv_begin(out, 0x62, &m);
	if (is_dir(f)) {
		tlv_put(out, 0x82, "\x78\x21", 2);
	} else {
		uint8_t d[5] = { (uint8_t)(f->type == FS_EF_TRANSPARENT	     ? 0x41
						   : f->type == FS_EF_BERTLV ? 0x39
						   : f->type == FS_EF_LINEAR ? 0x42
									     : 0x46),
				 0x21 };
		if (f->type == FS_EF_TRANSPARENT || f->type == FS_EF_BERTLV) {
			tlv_put(out, 0x82, d, 2);
		} else {
			d[2] = (uint8_t)(f->rec_len >> 8);
			d[3] = (uint8_t)f->rec_len;
			d[4] = (uint8_t)(f->size / f->rec_len);
			tlv_put(out, 0x82, d, 5);
		}
	}
	uint8_t fid[2] = { (uint8_t)(f->fid >> 8), (uint8_t)f->fid };
	tlv_put(out, 0x83, fid, 2);
	if (f->type == FS_ADF)
		tlv_put(out, 0x84, f->aid, f->aid_len);
	tlv_put_u8(out, 0x8A, 0x05); /* life cycle: operational, activated */
	if (f->arr_fid) {
		uint8_t r[3] = { (uint8_t)(f->arr_fid >> 8), (uint8_t)f->arr_fid, f->arr_rec };
		tlv_put(out, 0x8B, r, 3);
	}
	if (is_dir(f)) {
		/* PIN status template: PS_DO (b8 = the first key enabled ...) then the key references */
		nvm_profile *p = prof(c);
		uint8_t ps[16], n = 0, bits = 0;
		size_t m2;
		for (int k = 0; k < EUICC_MAX_PINS && n < 8; k++) {
			const nvm_pin *pin = &p->pins[k];
			if (!pin->used || ((pin->ref & 0x80) && f->type != FS_ADF))
				continue;
			if (pin->enabled)
				bits |= (uint8_t)(0x80 >> n);
			ps[n++] = pin->ref;
		}
		tlv_begin(out, 0xC6, &m2);
		tlv_put_u8(out, 0x90, bits);
		for (uint8_t k = 0; k < n; k++)
			tlv_put_u8(out, 0x83, ps[k]);
		tlv_end(out, m2);
	} else {
		uint8_t s[2] = { (uint8_t)(f->size >> 8), (uint8_t)f->size };
		tlv_put(out, 0x80, s, 2);
		if (f->sfi)
			tlv_put_u8(out, 0x88, (uint8_t)(f->sfi << 3));
		else
			tlv_put(out, 0x88, NULL, 0);
	}
	tlv_end(out, m);
}

bool fs_select_aid(euicc_card *c, int ch, const uint8_t *aid, size_t len, bool want_fcp, abuf *out)
{
	fs_tree *t = tree(c);
	if (!t || len < 5)
		return false;
	for (size_t i = 1; i < t->n; i++) {
		fs_file *f = &t->f[i];
		if (f->type == FS_ADF && len <= f->aid_len && !memcmp(f->aid, aid, len)) {
			c->fs.df[ch] = (int)i;
			c->fs.ef[ch] = -1;
			c->fs.rec[ch] = 0;
			if (want_fcp)
				fcp(c, t, (int)i, out);
			return true;
		}
	}
	return false;
}

static eu_status select_file(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	bool want_fcp = (a->p2 & 0x0C) == 0x04 || (a->p2 & 0x0C) == 0x00;
	if ((a->p2 & 0x0C) == 0x08)
		return EU_WRONG_P1P2;
	int cur = c->fs.df[ch], found = -1;
	if (a->p1 == 0x03) { /* parent DF */
		if (a->lc)
			return EU_WRONG_LENGTH;
		found = cur > 0 ? t->f[cur].parent : 0;
		if (t->f[cur].type == FS_ADF)
			found = 0;
	} else if (a->p1 <= 0x02 || a->p1 == 0x08 || a->p1 == 0x09) {
		if (a->lc % 2 || (a->p1 <= 0x02 && a->lc != 2 && a->lc != 0) || a->lc > 16)
			return EU_WRONG_LENGTH;
		int dir = a->p1 == 0x08 ? 0 : cur;
		if (a->lc == 0)
			found = 0;
		for (size_t i = 0; i + 1 < a->lc; i += 2) {
			uint16_t fid = (uint16_t)((a->data[i] << 8) | a->data[i + 1]);
			int f;
			if (fid == 0x3F00 && (i == 0 || a->p1 == 0x00))
				f = 0;
			else if (fid == 0x7FFF)
				f = current_adf(t, dir);
			else {
				f = fs_child(t, dir, fid);
				if (a->p1 == 0x00 && f < 0) {
					/* TS 102 221 8.4.1: the current DF itself, its parent, the parent's children, the MF's */
					if (t->f[dir].fid == fid)
						f = dir;
					else if (dir > 0 && t->f[t->f[dir].parent].fid == fid)
						f = t->f[dir].parent;
					else if (dir > 0)
						f = fs_child(t, t->f[dir].parent, fid);
					if (f < 0)
						f = fs_child(t, 0, fid);
				}
			}
			if (f < 0)
				return EU_FILE_NOT_FOUND;
			if (a->p1 == 0x01 && !is_dir(&t->f[f]))
				return EU_FILE_NOT_FOUND;
			if (a->p1 == 0x02 && is_dir(&t->f[f]))
				return EU_FILE_NOT_FOUND;
			found = f;
			if (is_dir(&t->f[f]))
				dir = f;
			else if (i + 2 < a->lc)
				return EU_FILE_NOT_FOUND; /* an EF in the middle of a path */
		}
	} else {
		return EU_WRONG_P1P2;
	}
	if (found < 0)
		return EU_FILE_NOT_FOUND;
	if (is_dir(&t->f[found])) {
		c->fs.df[ch] = found;
		c->fs.ef[ch] = -1;
	} else {
		c->fs.df[ch] = t->f[found].parent;
		c->fs.ef[ch] = found;
	}
	c->fs.rec[ch] = 0;
	if (want_fcp)
		fcp(c, t, found, out);
	return EU_OK;
}

/* The EF a command works on: the current one, or the one its SFI names in the current DF (which then
 * becomes current). */
static int target_ef(euicc_card *c, int ch, const fs_tree *t, int sfi)
{
	if (!sfi)
		return c->fs.ef[ch];
	for (size_t i = 1; i < t->n; i++)
		if (t->f[i].parent == c->fs.df[ch] && !is_dir(&t->f[i]) && t->f[i].sfi == sfi) {
			if (c->fs.ef[ch] != (int)i)
				c->fs.rec[ch] = 0;
			c->fs.ef[ch] = (int)i;
			return (int)i;
		}
	return -2;
}

/* The EF a command names (by SFI, else the current one) when it has the structure the command needs
 * and its access rule for `am` is satisfied. */
static eu_status named_ef(euicc_card *c, int ch, fs_tree *t, int sfi, bool records, uint8_t am, const fs_file **out)
{
	int ef = target_ef(c, ch, t, sfi);
	if (ef == -2)
		return EU_FILE_NOT_FOUND;
	if (ef < 0)
		return EU_NO_EF;
	const fs_file *f = &t->f[ef];
	bool is_rec = f->type == FS_EF_LINEAR || f->type == FS_EF_CYCLIC;
	if (records ? !is_rec : f->type != FS_EF_TRANSPARENT)
		return EU_INCOMPATIBLE_FILE;
	if (!allowed(c, t, ef, am))
		return EU_SECURITY;
	*out = f;
	return EU_OK;
}

static eu_status binary(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	int sfi = (a->p1 & 0x80) ? (a->p1 & 0x1F) : 0;
	if ((a->p1 & 0x80) && (a->p1 & 0x60))
		return EU_WRONG_P1P2;
	bool upd = a->ins == 0xD6;
	const fs_file *f = NULL;
	eu_status st = named_ef(c, ch, t, sfi, false, upd ? AM_UPDATE : AM_READ, &f);
	if (st != EU_OK)
		return st;
	size_t off = sfi ? a->p2 : (((size_t)a->p1 << 8) | a->p2);
	if (off >= f->size)
		return EU_WRONG_OFFSET;
	if (upd) {
		if (!a->lc)
			return EU_WRONG_LENGTH;
		if (off + a->lc > f->size)
			return EU_WRONG_LENGTH;
		files_touch(c);
		memcpy(body(c, f) + off, a->data, a->lc);
		return EU_OK;
	}
	size_t ne = a->le ? a->le : 256;
	size_t n = f->size - off < ne ? f->size - off : ne;
	abuf_put(out, body(c, f) + off, n);
	/* ISO 7816-4: an explicit Le past the end gets the bytes there are and 6282; Le 00 (up to 256)
	 * asks for what there is (docs/protocol-choices.md) */
	return n < ne && a->le && a->le != 256 ? EU_END_OF_FILE : EU_OK;
}

/* Record numbers are logical: for a cyclic EF record 1 is the last one written (stored first). */
/* The record EF a command names (P2 b8..b4 SFI, else the current EF), its access rule checked. */
static eu_status record_ef(euicc_card *c, int ch, fs_tree *t, const capdu *a, uint8_t am, const fs_file **out)
{
	int sfi = a->p2 >> 3;
	if (sfi == 0x1F)
		return EU_WRONG_P1P2;
	return named_ef(c, ch, t, sfi, true, am, out);
}

static eu_status record(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	int mode = a->p2 & 0x07;
	bool upd = a->ins == 0xDC;
	const fs_file *f = NULL;
	eu_status st = record_ef(c, ch, t, a, upd ? AM_UPDATE : AM_READ, &f);
	if (st != EU_OK)
		return st;
	int nrec = (int)(f->size / f->rec_len), cur = c->fs.rec[ch], r;
	bool cyclic = f->type == FS_EF_CYCLIC;
	if (upd && a->lc != f->rec_len)
		return EU_WRONG_LENGTH;
	switch (mode) {
	case 0x02: /* next */
	case 0x03: /* previous */
		if (a->p1)
			return EU_WRONG_P1P2;
		if (upd && cyclic) {
			if (mode != 0x03)
				return EU_WRONG_P1P2; /* a cyclic EF is written in previous mode only */
			files_touch(c);
			uint8_t *b = body(c, f);
			memmove(b + f->rec_len, b, (size_t)(nrec - 1) * f->rec_len);
			memcpy(b, a->data, f->rec_len);
			c->fs.rec[ch] = 1;
			return EU_OK;
		}
		if (mode == 0x02)
			r = cur == 0 ? 1 : cur + 1;
		else
			r = cur == 0 ? nrec : cur - 1;
		if (r < 1 || r > nrec) {
			if (!cyclic)
				return EU_RECORD_NOT_FOUND;
			r = r < 1 ? nrec : 1;
		}
		c->fs.rec[ch] = r;
		break;
	case 0x04: /* absolute, or current with P1 = 00 */
		if (upd && cyclic)
			return EU_WRONG_P1P2;
		r = a->p1 ? a->p1 : cur;
		if (r < 1 || r > nrec)
			return EU_RECORD_NOT_FOUND;
		break;
	default: return EU_WRONG_P1P2;
	}
	uint8_t *rec = body(c, f) + (size_t)(r - 1) * f->rec_len;
	if (upd) {
		files_touch(c);
		memcpy(rec, a->data, f->rec_len);
	} else
		abuf_put(out, rec, f->rec_len);
	return EU_OK;
}

static bool match_at(const uint8_t *rec, size_t rl, size_t from, const uint8_t *pat, size_t pl)
{
	for (size_t o = from; o + pl <= rl; o++)
		if (!memcmp(rec + o, pat, pl))
			return true;
	return false;
}

/* SEARCH RECORD (TS 102 221 11.1.7): simple search (P2 b3..b1 = 100 forward / 101 backward from P1)
 * finds the string anywhere in a record; enhanced search (110) takes a search indication byte
 * (b3..b1 mode as in READ RECORD, b4 0 = from an offset, 1 = after the first occurrence of a byte). */
static eu_status search(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	int mode = a->p2 & 0x07;
	const fs_file *f = NULL;
	eu_status st = record_ef(c, ch, t, a, AM_READ, &f);
	if (st != EU_OK)
		return st;
	int nrec = (int)(f->size / f->rec_len);
	const uint8_t *pat = a->data;
	size_t pl = a->lc, from_off = 0;
	int dir, start;
	bool by_value = false;
	uint8_t value = 0;
	if (mode == 0x04 || mode == 0x05) {
		dir = mode == 0x04 ? 1 : -1;
		start = a->p1 ? a->p1 : (c->fs.rec[ch] ? c->fs.rec[ch] : (dir > 0 ? 1 : nrec));
	} else if (mode == 0x06) {
		if (a->lc < 3)
			return EU_WRONG_LENGTH;
		uint8_t ind = a->data[0];
		int m = ind & 0x07, cur = c->fs.rec[ch];
		if (ind & 0x08) {
			by_value = true;
			value = a->data[1];
		} else {
			from_off = a->data[1];
		}
		pat = a->data + 2;
		pl = a->lc - 2;
		switch (m) {
		case 0x04:
			dir = 1;
			start = a->p1 ? a->p1 : (cur ? cur : 1);
			break;
		case 0x05:
			dir = -1;
			start = a->p1 ? a->p1 : (cur ? cur : nrec);
			break;
		case 0x06:
			dir = 1;
			start = cur ? cur + 1 : 1;
			break;
		case 0x07:
			dir = -1;
			start = cur ? cur - 1 : nrec;
			break;
		default: return EU_WRONG_DATA;
		}
	} else {
		return EU_WRONG_P1P2;
	}
	if (!pl || pl > f->rec_len)
		return EU_WRONG_LENGTH;
	if (start < 1 || start > nrec)
		return EU_RECORD_NOT_FOUND;
	int first = 0;
	for (int r = start; r >= 1 && r <= nrec; r += dir) {
		const uint8_t *rec = body(c, f) + (size_t)(r - 1) * f->rec_len;
		size_t off = from_off;
		if (by_value) {
			const uint8_t *v = memchr(rec, value, f->rec_len);
			if (!v)
				continue;
			off = (size_t)(v - rec) + 1;
		}
		if (off < f->rec_len && match_at(rec, f->rec_len, off, pat, pl)) {
			abuf_put_u8(out, (uint8_t)r);
			if (!first)
				first = r;
		}
	}
	if (!first)
		return EU_RECORD_NOT_FOUND;
	c->fs.rec[ch] = first;
	return EU_OK;
}

/* ---- STATUS ---- */

static eu_status status(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	if (a->p1 > 0x02)
		return EU_WRONG_P1P2;
	int dir = c->fs.df[ch];
	switch (a->p2) {
	case 0x00: fcp(c, t, dir, out); return EU_OK;
	case 0x01: {
		int adf = current_adf(t, dir);
		if (adf >= 0 && t->f[dir].type == FS_ADF)
			tlv_put(out, 0x84, t->f[adf].aid, t->f[adf].aid_len);
		return EU_OK;
	}
	case 0x0C: return EU_OK;
	}
	return EU_WRONG_P1P2;
}

/* ---- AUTHENTICATE ---- */

/* a service of EF.UST (TS 31.102 4.2.8); without EF.UST every service counts as available */
static bool ust_service(euicc_card *c, const fs_tree *t, int adf, unsigned n)
{
	int ust = fs_child(t, adf, 0x6F38);
	if (ust < 0)
		return true;
	const fs_file *f = &t->f[ust];
	unsigned byte = (n - 1) / 8;
	return byte < f->size && (body(c, f)[byte] >> ((n - 1) % 8) & 1);
}

/* TS 33.102 6.8.1.2 conversion functions: c2 SRES = RES1 xor RES2 (8-byte RES), c3 Kc = CK1 xor CK2 xor
 * IK1 xor IK2 */
static void gsm_context(const milenage_out *m, uint8_t *sres, uint8_t kc[8])
{
	for (int i = 0; sres && i < 4; i++)
		sres[i] = (uint8_t)(m->res[i] ^ m->res[i + 4]);
	for (int i = 0; i < 8; i++)
		kc[i] = (uint8_t)(m->ck[i] ^ m->ck[i + 8] ^ m->ik[i] ^ m->ik[i + 8]);
}

static eu_status authenticate(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	int adf = current_adf(t, c->fs.df[ch]);
	if (adf < 0 || c->fs.df[ch] != adf || t->f[adf].aid_len < 7 || memcmp(t->f[adf].aid, fs_usim_prefix, 7))
		return EU_CONDITIONS;
	if (a->p1 != 0x00 || (a->p2 != 0x81 && a->p2 != 0x80))
		return EU_WRONG_P1P2;
	if (pin_index(c, 0x01) >= 0 && !pin_satisfied(c, 0x01))
		return EU_SECURITY; /* TS 31.102: AUTHENTICATE needs PIN1 */
	if (!t->has_aka || t->aka_alg != 0x01)
		return EU_FUNC_NOT_SUPPORTED; /* MILENAGE only */
	bool gsm = a->p2 == 0x80;
	if (gsm && !ust_service(c, t, adf, 38))
		return EU_WRONG_P1P2; /* no GSM security context in this profile */
	if (gsm ? (a->lc != 17 || a->data[0] != 16) : (a->lc != 34 || a->data[0] != 16 || a->data[17] != 16))
		return EU_WRONG_LENGTH;
	const uint8_t *rnd = a->data + 1;
	milenage_out m;
	uint8_t kc[8];
	if (milenage_f2345(t->k, t->opc, rnd, m.res, m.ck, m.ik, m.ak, m.ak_star))
		return EU_TECHNICAL;
	gsm_context(&m, NULL, kc);
	if (gsm) {
		uint8_t sres[4];
		gsm_context(&m, sres, kc);
		abuf_put_u8(out, 4);
		abuf_put(out, sres, 4);
		abuf_put_u8(out, 8);
		abuf_put(out, kc, 8);
		crypto_wipe(&m, sizeof(m));
		crypto_wipe(kc, sizeof(kc));
		return EU_OK;
	}
	const uint8_t *autn = a->data + 18;
	uint8_t sqn[6], xmac[8], xmac_s[8];
	for (int i = 0; i < 6; i++)
		sqn[i] = autn[i] ^ m.ak[i];
	if (milenage_f1(t->k, t->opc, rnd, sqn, autn + 6, xmac, xmac_s))
		return EU_TECHNICAL;
	if (!crypto_equal(xmac, autn + 8, 8)) {
		crypto_wipe(&m, sizeof(m));
		return EU_AUTH_MAC; /* 9862 */
	}
	nvm_profile *p = prof(c);
	if (memcmp(sqn, p->sqn_ms, 6) <= 0) {
		/* TS 33.102 6.3.3: AUTS = SQNms xor AK* ‖ MAC-S, with AMF 0000 */
		static const uint8_t amf0[2] = { 0, 0 };
		uint8_t mac_a[8], mac_s[8], auts[14];
		if (milenage_f1(t->k, t->opc, rnd, p->sqn_ms, amf0, mac_a, mac_s)) {
			crypto_wipe(&m, sizeof(m));
			return EU_TECHNICAL;
		}
		for (int i = 0; i < 6; i++)
			auts[i] = p->sqn_ms[i] ^ m.ak_star[i];
		memcpy(auts + 6, mac_s, 8);
		tlv_put(out, 0xDC, auts, 14);
		crypto_wipe(&m, sizeof(m));
		return EU_OK;
	}
	memcpy(p->sqn_ms, sqn, 6); /* saved with the answer */
	abuf_put_u8(out, 0xDB);
	abuf_put_u8(out, 8);
	abuf_put(out, m.res, 8);
	abuf_put_u8(out, 16);
	abuf_put(out, m.ck, 16);
	abuf_put_u8(out, 16);
	abuf_put(out, m.ik, 16);
	if (ust_service(c, t, adf, 27)) { /* Kc for GSM access (service 27) */
		abuf_put_u8(out, 8);
		abuf_put(out, kc, 8);
	}
	crypto_wipe(&m, sizeof(m));
	crypto_wipe(kc, sizeof(kc));
	return EU_OK;
}

eu_status fs_command(euicc_card *c, int ch, const capdu *a, abuf *out)
{
	fs_tree *t = tree(c);
	if (!t)
		return a->ins == 0xA4 ? EU_FILE_NOT_FOUND : EU_CONDITIONS; /* no profile enabled */
	switch (a->ins) {
	case 0xA4: return select_file(c, ch, t, a, out);
	case 0xF2: return status(c, ch, t, a, out);
	case 0xB0:
	case 0xD6: return binary(c, ch, t, a, out);
	case 0xB2:
	case 0xDC: return record(c, ch, t, a, out);
	case 0xA2: return search(c, ch, t, a, out);
	case 0x20:
	case 0x24:
	case 0x26:
	case 0x28:
	case 0x2C: return pin_command(c, a);
	case 0x88: return authenticate(c, ch, t, a, out);
	}
	return EU_INS;
}

/* ---- what the GSM view (gsm.c) uses ---- */

fs_tree *fs_tree_of(euicc_card *c)
{
	return tree(c);
}

int fs_current_ef(euicc_card *c, int ch, const fs_tree *t)
{
	return target_ef(c, ch, t, 0);
}

uint8_t *fs_body(euicc_card *c, const fs_file *f)
{
	return body(c, f);
}

bool fs_allowed(euicc_card *c, const fs_tree *t, int file, bool update)
{
	return allowed(c, t, file, update ? AM_UPDATE : AM_READ);
}

void fs_touch(euicc_card *c)
{
	files_touch(c);
}

eu_status fs_gsm_algorithm(euicc_card *c, fs_tree *t, const uint8_t rnd[16], abuf *out)
{
	if (pin_index(c, 0x01) >= 0 && !pin_satisfied(c, 0x01))
		return EU_SECURITY;
	if (!t->has_aka || t->aka_alg != 0x01)
		return EU_FUNC_NOT_SUPPORTED;
	milenage_out m;
	uint8_t sres[4], kc[8];
	if (milenage_f2345(t->k, t->opc, rnd, m.res, m.ck, m.ik, m.ak, m.ak_star))
		return EU_TECHNICAL;
	gsm_context(&m, sres, kc);
	abuf_put(out, sres, 4);
	abuf_put(out, kc, 8);
	crypto_wipe(&m, sizeof(m));
	crypto_wipe(kc, sizeof(kc));
	return EU_OK;
}
