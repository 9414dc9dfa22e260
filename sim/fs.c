/* The enabled profile's file system, as far as this issue goes: the files the SAIP package describes
 * with an explicit file identifier (MF and ADF.USIM trees), read-only; SELECT by FID, path and AID,
 * READ BINARY, READ RECORD, and AUTHENTICATE (3G context) with MILENAGE from the akaParameter element.
 * Built from the stored package when first needed after a reset (ETSI TS 102 221, 3GPP TS 31.102). */
#include <string.h>

#include "apdu/milenage.h"
#include "apdu/tlv.h"
#include "euicc_int.h"

static const uint8_t usim_aid_prefix[7] = { 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02 };

static int add_file(fs_tree *t, int parent, const tlv *desc, const uint8_t *content, size_t clen)
{
	tlv d, fid, size, aid;
	if (t->n >= FS_MAX_FILES)
		return -1;
	if (tlv_find(desc->value, desc->len, 0x83, &fid) || fid.len != 2)
		return -1; /* no explicit FID: needs the TCA templates (not yet) */
	fs_file *f = &t->f[t->n];
	memset(f, 0, sizeof(*f));
	f->fid = (uint16_t)((fid.value[0] << 8) | fid.value[1]);
	f->parent = parent;
	f->type = FS_EF_TRANSPARENT;
	if (!tlv_find(desc->value, desc->len, 0x82, &d) && d.len >= 1) {
		uint8_t fd = d.value[0];
		if ((fd & 0x38) == 0x38)
			f->type = FS_DF;
		else if ((fd & 0x07) == 0x02)
			f->type = FS_EF_LINEAR;
		else if ((fd & 0x07) == 0x06)
			f->type = FS_EF_CYCLIC;
		if (d.len >= 4)
			f->rec_len = (uint16_t)((d.value[2] << 8) | d.value[3]);
	}
	if (!tlv_find(desc->value, desc->len, 0x84, &aid) && aid.len <= 16) {
		f->type = FS_ADF;
		memcpy(f->aid, aid.value, aid.len);
		f->aid_len = (uint8_t)aid.len;
	}
	f->size = (uint32_t)clen;
	if (!tlv_find(desc->value, desc->len, 0x80, &size) && size.len >= 1 && size.len <= 3) {
		uint32_t s = 0;
		for (size_t i = 0; i < size.len; i++)
			s = (s << 8) | size.value[i];
		f->size = s;
	}
	if (f->type == FS_EF_LINEAR || f->type == FS_EF_CYCLIC) {
		if (!f->rec_len)
			return -1;
		if (f->size < clen)
			f->size = (uint32_t)clen;
	}
	f->content = content;
	f->content_len = clen;
	return (int)t->n++;
}

/* Children of a file-system PE: each [n] { A1 descriptor, [83 content] } */
static void add_children(fs_tree *t, int parent, const uint8_t *v, size_t len, bool adf_first)
{
	acur c = acur_make(v, len);
	tlv item;
	int dir = parent;
	while (c.len && !tlv_next(&c, &item)) {
		tlv desc, content;
		if (!item.constructed || tlv_find(item.value, item.len, 0xA1, &desc))
			continue;
		const uint8_t *cp = NULL;
		size_t cl = 0;
		if (!tlv_find(item.value, item.len, 0x83, &content)) {
			cp = content.value;
			cl = content.len;
		}
		int idx = add_file(t, dir, &desc, cp, cl);
		if (idx >= 0 && adf_first && t->f[idx].type == FS_ADF && dir == parent)
			dir = idx; /* the files that follow live in the ADF */
	}
}

int fs_build(const uint8_t *pkg, size_t len, fs_tree *t)
{
	memset(t, 0, sizeof(*t));
	/* the MF is always there */
	t->f[0].fid = 0x3F00;
	t->f[0].type = FS_DF;
	t->f[0].parent = -1;
	t->n = 1;
	acur c = acur_make(pkg, len);
	tlv pe;
	while (c.len && !tlv_next(&c, &pe)) {
		if (pe.tag == 0xB0)
			add_children(t, 0, pe.value, pe.len, false);
		else if (pe.tag == 0xB3 || pe.tag == 0xB4)
			add_children(t, 0, pe.value, pe.len, true);
		else if (pe.tag == 0xA4) {
			tlv a1, a2, alg, k, opc;
			if (!tlv_find(pe.value, pe.len, 0xA1, &a1) && !tlv_find(a1.value, a1.len, 0xA1, &a2) &&
			    !tlv_find(a2.value, a2.len, 0x80, &alg) && alg.len == 1 && !tlv_find(a2.value, a2.len, 0x82, &k) &&
			    k.len == 16 && !tlv_find(a2.value, a2.len, 0x83, &opc) && opc.len == 16) {
				t->aka_alg = alg.value[0];
				memcpy(t->k, k.value, 16);
				memcpy(t->opc, opc.value, 16);
				t->has_aka = true;
			}
		}
	}
	return 0;
}

static int find_child(const fs_tree *t, int dir, uint16_t fid)
{
	for (size_t i = 1; i < t->n; i++)
		if (t->f[i].parent == dir && t->f[i].fid == fid)
			return (int)i;
	return -1;
}

static int usim_adf(const fs_tree *t)
{
	for (size_t i = 1; i < t->n; i++)
		if (t->f[i].type == FS_ADF)
			return (int)i;
	return -1;
}

static void fcp(const fs_tree *t, int i, abuf *out)
{
	const fs_file *f = &t->f[i];
	size_t m;
	tlv_begin(out, 0x62, &m);
	if (f->type == FS_DF || f->type == FS_ADF) {
		tlv_put(out, 0x82, "\x78\x21", 2);
	} else {
		uint8_t d[5] = { (uint8_t)(f->type == FS_EF_TRANSPARENT ? 0x41 : f->type == FS_EF_LINEAR ? 0x42 : 0x46), 0x21 };
		if (f->type == FS_EF_TRANSPARENT) {
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
	if (f->type != FS_DF && f->type != FS_ADF) {
		uint8_t s[2] = { (uint8_t)(f->size >> 8), (uint8_t)f->size };
		tlv_put(out, 0x80, s, 2);
	}
	tlv_end(out, m);
}

/* The tree of the enabled profile, (re)built when the enabled profile changed. */
static fs_tree *tree(euicc_card *c)
{
	int en = euicc_enabled_profile(c);
	if (en < 0)
		return NULL;
	nvm_profile *p = &c->nvm.profiles[en];
	if (!c->fs_valid || c->fs_profile != en || c->fs.built_len != p->package_len) {
		fs_build(p->package, p->package_len, &c->fs);
		c->fs.built_len = p->package_len;
		c->fs_profile = en;
		c->fs_valid = true;
		for (int i = 0; i < EUICC_CHANNELS; i++) {
			c->fs_df[i] = 0;
			c->fs_ef[i] = -1;
		}
	}
	return &c->fs;
}

bool fs_select_aid(euicc_card *c, int ch, const uint8_t *aid, size_t len, bool want_fcp, abuf *out)
{
	fs_tree *t = tree(c);
	int adf = t ? usim_adf(t) : -1;
	if (adf < 0 || len > t->f[adf].aid_len || memcmp(t->f[adf].aid, aid, len) || len < sizeof(usim_aid_prefix))
		return false;
	c->fs_df[ch] = adf;
	c->fs_ef[ch] = -1;
	if (want_fcp)
		fcp(t, adf, out);
	return true;
}

eu_status fs_command(euicc_card *c, int ch, const capdu *a, abuf *out)
{
	fs_tree *t = tree(c);
	if (!t)
		return a->ins == 0xA4 ? EU_FILE_NOT_FOUND : EU_CONDITIONS; /* no profile enabled */
	if (a->ins == 0xA4) {
		bool want_fcp = (a->p2 & 0x0C) == 0x04;
		int cur = c->fs_df[ch], found = -1;
		if (a->p1 == 0x00 || a->p1 == 0x08 || a->p1 == 0x09) {
			if (a->lc % 2 || (a->p1 == 0x00 && a->lc != 2 && a->lc != 0))
				return EU_WRONG_LENGTH;
			int dir = a->p1 == 0x08 ? 0 : cur;
			if (a->lc == 0) {
				found = 0;
			}
			for (size_t i = 0; i + 1 < a->lc; i += 2) {
				uint16_t fid = (uint16_t)((a->data[i] << 8) | a->data[i + 1]);
				int f;
				if (fid == 0x3F00)
					f = 0;
				else if (fid == 0x7FFF)
					f = usim_adf(t);
				else {
					f = find_child(t, dir, fid);
					/* TS 102 221 8.4.1: also the parent's children and the MF's */
					if (f < 0 && a->p1 == 0x00 && dir > 0)
						f = find_child(t, t->f[dir].parent, fid);
					if (f < 0 && a->p1 == 0x00)
						f = find_child(t, 0, fid);
				}
				if (f < 0)
					return EU_FILE_NOT_FOUND;
				found = f;
				if (t->f[f].type == FS_DF || t->f[f].type == FS_ADF)
					dir = f;
				else if (i + 2 < a->lc)
					return EU_FILE_NOT_FOUND; /* an EF in the middle of a path */
			}
		} else {
			return EU_WRONG_P1P2;
		}
		if (found < 0)
			return EU_FILE_NOT_FOUND;
		if (t->f[found].type == FS_DF || t->f[found].type == FS_ADF) {
			c->fs_df[ch] = found;
			c->fs_ef[ch] = -1;
		} else {
			c->fs_df[ch] = t->f[found].parent;
			c->fs_ef[ch] = found;
		}
		if (want_fcp)
			fcp(t, found, out);
		return EU_OK;
	}
	int ef = c->fs_ef[ch];
	if (a->ins == 0xB0) {
		if (ef < 0 || t->f[ef].type != FS_EF_TRANSPARENT)
			return ef < 0 ? EU_CONDITIONS : EU_CONDITIONS;
		if (a->p1 & 0x80)
			return EU_FUNC_NOT_SUPPORTED; /* SFI addressing: not yet */
		size_t off = ((size_t)a->p1 << 8) | a->p2, ne = a->le ? a->le : 256;
		const fs_file *f = &t->f[ef];
		if (off >= f->size)
			return EU_WRONG_P1P2;
		size_t n = f->size - off < ne ? f->size - off : ne;
		for (size_t i = 0; i < n; i++)
			abuf_put_u8(out, off + i < f->content_len ? f->content[off + i] : 0xFF);
		return EU_OK;
	}
	if (a->ins == 0xB2) {
		if (ef < 0 || (t->f[ef].type != FS_EF_LINEAR && t->f[ef].type != FS_EF_CYCLIC))
			return EU_CONDITIONS;
		if (a->p2 != 0x04)
			return EU_WRONG_P1P2; /* absolute mode only, so far */
		const fs_file *f = &t->f[ef];
		size_t nrec = f->size / f->rec_len;
		if (a->p1 == 0 || a->p1 > nrec)
			return EU_NOT_FOUND;
		size_t off = (size_t)(a->p1 - 1) * f->rec_len;
		for (size_t i = 0; i < f->rec_len; i++)
			abuf_put_u8(out, off + i < f->content_len ? f->content[off + i] : 0xFF);
		return EU_OK;
	}
	if (a->ins == 0x88)
		return fs_authenticate(c, ch, t, a, out);
	return EU_INS;
}

/* AUTHENTICATE, 3G context (TS 31.102 7.1.2): 10 RAND 10 AUTN -> DB RES CK IK, or DC AUTS */
eu_status fs_authenticate(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out)
{
	if (c->fs_df[ch] != usim_adf(t) || usim_adf(t) < 0)
		return EU_CONDITIONS;
	if (a->p1 != 0x00 || a->p2 != 0x81)
		return EU_WRONG_P1P2;
	if (a->lc != 34 || a->data[0] != 16 || a->data[17] != 16)
		return EU_WRONG_LENGTH;
	if (!t->has_aka || t->aka_alg != 0x01)
		return EU_FUNC_NOT_SUPPORTED; /* MILENAGE only */
	const uint8_t *rnd = a->data + 1, *autn = a->data + 18;
	milenage_out m;
	uint8_t sqn[6], xmac[8], xmac_s[8];
	if (milenage_f2345(t->k, t->opc, rnd, m.res, m.ck, m.ik, m.ak, m.ak_star))
		return EU_TECHNICAL;
	for (int i = 0; i < 6; i++)
		sqn[i] = autn[i] ^ m.ak[i];
	if (milenage_f1(t->k, t->opc, rnd, sqn, autn + 6, xmac, xmac_s))
		return EU_TECHNICAL;
	if (!crypto_equal(xmac, autn + 8, 8)) {
		crypto_wipe(&m, sizeof(m));
		return EU_AUTH_MAC; /* 9862 */
	}
	nvm_profile *p = &c->nvm.profiles[c->fs_profile];
	if (memcmp(sqn, p->sqn_ms, 6) <= 0) {
		/* TS 33.102 6.3.3: AUTS = SQNms xor AK* ‖ MAC-S, with AMF 0000 */
		static const uint8_t amf0[2] = { 0, 0 };
		uint8_t mac_a[8], mac_s[8], auts[14];
		milenage_f1(t->k, t->opc, rnd, p->sqn_ms, amf0, mac_a, mac_s);
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
	crypto_wipe(&m, sizeof(m));
	return EU_OK;
}
