/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The GSM class (CLA A0, 3GPP TS 51.011): the command set a 2G modem uses, over a GSM view of the
 * enabled profile. The view is the profile's own file system: the MF and its EFs (EF.ICCID ...), DF.GSM
 * '7F20' is the USIM's ADF (its EFs have the same FIDs: EF.IMSI 6F07, EF.AD 6FAD, EF.LOCI 6F7E, ...),
 * DF.TELECOM '7F10' the profile's DF.TELECOM. SELECT answers 9Fxx and GET RESPONSE gives the GSM
 * response (TS 51.011 9.2.1); READ/UPDATE BINARY and RECORD, STATUS, VERIFY CHV (CHV1 is PIN1 '01',
 * CHV2 PIN2 '81') and RUN GSM ALGORITHM (MILENAGE's SRES and Kc, as AUTHENTICATE's GSM context gives
 * them). Status words are TS 51.011's (gsm_sw_of). See docs/card.md. */
#include <string.h>

#include "euicc_int.h"

#define GSM_DF_GSM     0x7F20
#define GSM_DF_TELECOM 0x7F10

uint16_t gsm_sw_of(eu_status s)
{
	switch (s) {
	case EU_OK: return 0x9000;
	case EU_FILE_NOT_FOUND:
	case EU_NOT_FOUND: return 0x9404;
	case EU_NO_EF: return 0x9400;
	case EU_WRONG_OFFSET:
	case EU_RECORD_NOT_FOUND: return 0x9402;
	case EU_INCOMPATIBLE_FILE: return 0x9408;
	case EU_SECURITY:
	case EU_PIN_WRONG: return 0x9804;
	case EU_PIN_INVALIDATED:
	case EU_CONDITIONS: return 0x9808;
	case EU_PIN_BLOCKED: return 0x9840;
	case EU_MEMORY_FAILURE: return 0x9240;
	case EU_WRONG_LENGTH: return 0x6700;
	case EU_WRONG_P1P2:
	case EU_WRONG_DATA: return 0x6B00;
	case EU_INS: return 0x6D00;
	case EU_CLA: return 0x6E00;
	case EU_TOOLKIT_BUSY: return 0x9300;
	default: return 0x6F00;
	}
}

static bool is_dir(const fs_file *f)
{
	return f->type == FS_DF || f->type == FS_ADF;
}

/* DF.GSM of the view: the USIM's ADF, -1 when the profile has none */
static int df_gsm(const fs_tree *t)
{
	return fs_adf(t, fs_usim_prefix);
}

/* the GSM FID the view shows for directory i */
static uint16_t view_fid(const fs_tree *t, int i)
{
	return i == df_gsm(t) ? GSM_DF_GSM : t->f[i].fid;
}

/* TS 51.011 8.4.1 / 9.2.1: from the current DF, the MF, DF.GSM, the current DF's children, its parent,
 * and the parent's DF children */
static int lookup(const fs_tree *t, int cur, uint16_t fid)
{
	if (fid == 0x3F00)
		return 0;
	if (fid == GSM_DF_GSM)
		return df_gsm(t);
	int parent = cur > 0 ? t->f[cur].parent : 0;
	if (cur == df_gsm(t))
		parent = 0; /* DF.GSM sits at the MF in the view */
	int i = fs_child(t, cur, fid);
	if (i >= 0 && t->f[i].type != FS_ADF)
		return i;
	if (cur != 0 && view_fid(t, parent) == fid)
		return parent;
	i = fs_child(t, parent, fid);
	if (i >= 0 && t->f[i].type == FS_DF)
		return i;
	return -1;
}

/* the access condition nibble of EF i for reading or updating: 0 always, 1 CHV1, 2 CHV2, 4 ADM, F never,
 * found by trying the rule with none, then one of the keys, as verified */
static uint8_t access_nibble(euicc_card *c, const fs_tree *t, int i, bool update)
{
	static const struct {
		uint8_t ref, nibble;
	} keys[] = { { 0x01, 0x1 }, { 0x81, 0x2 }, { 0x0A, 0x4 } };
	bool saved[EUICC_MAX_PINS];
	memcpy(saved, c->fs.pin_verified, sizeof(saved));
	memset(c->fs.pin_verified, 0, sizeof(c->fs.pin_verified));
	uint8_t n = 0xF;
	if (fs_allowed(c, t, i, update)) {
		n = 0x0;
	} else {
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]) && n == 0xF; k++) {
			const nvm_pin *p = pin_find(c, keys[k].ref);
			if (!p)
				continue;
			memset(c->fs.pin_verified, 0, sizeof(c->fs.pin_verified));
			c->fs.pin_verified[p - c->nvm.profiles[c->fs.profile].pins] = true;
			if (fs_allowed(c, t, i, update))
				n = keys[k].nibble;
		}
	}
	memcpy(c->fs.pin_verified, saved, sizeof(saved));
	return n;
}

/* a CHV status byte: b8 initialised, b4..b1 the tries left */
static uint8_t chv_status(euicc_card *c, uint8_t ref, bool puk)
{
	const nvm_pin *p = pin_find(c, ref);
	if (!p)
		return 0x00;
	if (puk) {
		nvm_profile *pr = &c->nvm.profiles[c->fs.profile];
		for (int k = 0; k < EUICC_MAX_PUKS; k++)
			if (pr->puks[k].used && p->unblock_ref && pr->puks[k].ref == p->unblock_ref)
				return (uint8_t)(0x80 | (pr->puks[k].left & 0x0F));
		return 0x00;
	}
	return (uint8_t)(0x80 | (p->left & 0x0F));
}

/* TS 51.011 9.2.1: the response to SELECT (and STATUS) of directory i or EF i */
static void response(euicc_card *c, const fs_tree *t, int i, abuf *out)
{
	const fs_file *f = &t->f[i];
	uint16_t fid = is_dir(f) ? view_fid(t, i) : f->fid;
	uint8_t r[23];
	memset(r, 0, sizeof(r));
	r[4] = (uint8_t)(fid >> 8);
	r[5] = (uint8_t)fid;
	if (is_dir(f)) {
		uint8_t dfs = 0, efs = 0;
		for (size_t k = 1; k < t->n; k++)
			if (t->f[k].parent == i && t->f[k].type != FS_ADF)
				is_dir(&t->f[k]) ? dfs++ : efs++;
		if (i == 0 && df_gsm(t) >= 0)
			dfs++; /* DF.GSM */
		const nvm_pin *pin1 = pin_find(c, 0x01);
		r[6] = i == 0 ? 0x01 : 0x02;
		r[12] = 10;							  /* bytes 14 to 23 follow */
		r[13] = (uint8_t)(0x01 | (pin1 && !pin1->enabled ? 0x80 : 0x00)); /* clock stop, CHV1 disabled */
		r[14] = dfs;
		r[15] = efs;
		r[16] = 4; /* CHV1, CHV2, their unblock codes */
		r[18] = chv_status(c, 0x01, false);
		r[19] = chv_status(c, 0x01, true);
		r[20] = chv_status(c, 0x81, false);
		r[21] = chv_status(c, 0x81, true);
		abuf_put(out, r, 23);
		return;
	}
	r[2] = (uint8_t)(f->size >> 8);
	r[3] = (uint8_t)f->size;
	r[6] = 0x04;
	r[8] = (uint8_t)(access_nibble(c, t, i, false) << 4 | access_nibble(c, t, i, true));
	r[9] = 0xFF;  /* INCREASE: never */
	r[10] = 0x44; /* REHABILITATE / INVALIDATE: ADM */
	r[11] = 0x01; /* not invalidated */
	r[12] = 2;
	r[13] = f->type == FS_EF_LINEAR ? 0x01 : f->type == FS_EF_CYCLIC ? 0x03 : 0x00;
	r[14] = (uint8_t)f->rec_len;
	abuf_put(out, r, 15);
}

static eu_status gsm_select(euicc_card *c, fs_tree *t, const capdu *a, abuf *out)
{
	if (a->p1 || a->p2)
		return EU_WRONG_P1P2;
	if (a->lc != 2)
		return EU_WRONG_LENGTH;
	uint16_t fid = (uint16_t)(a->data[0] << 8 | a->data[1]);
	int cur = c->fs.gsm_df >= 0 && (size_t)c->fs.gsm_df < t->n ? c->fs.gsm_df : 0;
	int i = lookup(t, cur, fid);
	if (i < 0 || t->f[i].type == FS_EF_BERTLV)
		return EU_FILE_NOT_FOUND;
	if (is_dir(&t->f[i])) {
		c->fs.gsm_df = i;
		c->fs.gsm_ef = -1;
	} else {
		c->fs.gsm_ef = i;
		c->fs.gsm_rec = 0;
	}
	response(c, t, i, out);
	return EU_OK;
}

/* the current EF of the kind the command needs, its rule checked */
static eu_status current(euicc_card *c, const fs_tree *t, bool records, bool update, const fs_file **f)
{
	if (c->fs.gsm_ef < 0 || (size_t)c->fs.gsm_ef >= t->n)
		return EU_NO_EF;
	*f = &t->f[c->fs.gsm_ef];
	bool rec = (*f)->type == FS_EF_LINEAR || (*f)->type == FS_EF_CYCLIC;
	if (records != rec || (!records && (*f)->type != FS_EF_TRANSPARENT))
		return EU_INCOMPATIBLE_FILE;
	if (!fs_allowed(c, t, c->fs.gsm_ef, update))
		return EU_SECURITY;
	return EU_OK;
}

static eu_status binary(euicc_card *c, fs_tree *t, const capdu *a, abuf *out)
{
	bool upd = a->ins == 0xD6;
	const fs_file *f;
	eu_status st = current(c, t, false, upd, &f);
	if (st != EU_OK)
		return st;
	size_t off = (size_t)a->p1 << 8 | a->p2, n = upd ? a->lc : a->le;
	if (off >= f->size)
		return EU_WRONG_OFFSET;
	if (!n || off + n > f->size)
		return EU_WRONG_LENGTH;
	if (upd) {
		fs_touch(c);
		memcpy(fs_body(c, f) + off, a->data, n);
	} else {
		abuf_put(out, fs_body(c, f) + off, n);
	}
	return EU_OK;
}

/* TS 51.011 9.2.5/9.2.6: P2 02 next, 03 previous, 04 absolute (P1, or the current record when P1 is 0);
 * records are numbered as in the UICC view (a cyclic EF's record 1 is the last written) */
static eu_status record(euicc_card *c, fs_tree *t, const capdu *a, abuf *out)
{
	bool upd = a->ins == 0xDC;
	const fs_file *f;
	eu_status st = current(c, t, true, upd, &f);
	if (st != EU_OK)
		return st;
	int nrec = (int)(f->size / f->rec_len), r;
	switch (a->p2) {
	case 0x02: r = c->fs.gsm_rec + 1; break;
	case 0x03: r = c->fs.gsm_rec ? c->fs.gsm_rec - 1 : nrec; break;
	case 0x04: r = a->p1 ? a->p1 : c->fs.gsm_rec; break;
	default: return EU_WRONG_P1P2;
	}
	if ((a->p2 != 0x04 && a->p1) || r < 1 || r > nrec)
		return a->p2 == 0x04 || a->p1 ? EU_WRONG_OFFSET : EU_RECORD_NOT_FOUND;
	if ((upd ? a->lc : a->le) != f->rec_len)
		return EU_WRONG_LENGTH;
	if (upd && f->type == FS_EF_CYCLIC && a->p2 != 0x03)
		return EU_WRONG_P1P2; /* a cyclic EF is updated with 'previous' only */
	uint8_t *b = fs_body(c, f);
	size_t at = (size_t)(r - 1) * f->rec_len;
	if (upd && f->type == FS_EF_CYCLIC) {
		/* the oldest record is written and becomes record 1 */
		fs_touch(c);
		memmove(b + f->rec_len, b, f->size - f->rec_len);
		memcpy(b, a->data, f->rec_len);
		r = 1;
	} else if (upd) {
		fs_touch(c);
		memcpy(b + at, a->data, f->rec_len);
	} else {
		abuf_put(out, b + at, f->rec_len);
	}
	c->fs.gsm_rec = r;
	return EU_OK;
}

static eu_status verify_chv(euicc_card *c, const capdu *a)
{
	if (a->p1 || (a->p2 != 0x01 && a->p2 != 0x02))
		return EU_WRONG_P1P2;
	if (a->lc != 8)
		return EU_WRONG_LENGTH;
	uint8_t ref = a->p2 == 0x01 ? 0x01 : 0x81;
	eu_status st = pin_verify(c, ref, a->data);
	const nvm_pin *p = pin_find(c, ref);
	/* TS 51.011 9.4.5: the try that used the last attempt is 9840, like a blocked CHV */
	return st == EU_PIN_WRONG && p && !p->left ? EU_PIN_BLOCKED : st;
}

eu_status gsm_command(euicc_card *c, const capdu *a, abuf *out)
{
	fs_tree *t = fs_tree_of(c);
	if (!t)
		return a->ins == 0xA4 ? EU_FILE_NOT_FOUND : EU_CONDITIONS; /* no profile enabled */
	switch (a->ins) {
	case 0xA4: return gsm_select(c, t, a, out);
	case 0xF2: /* STATUS: the current directory's response */
		if (a->p1 || a->p2)
			return EU_WRONG_P1P2;
		response(c, t, c->fs.gsm_df >= 0 && (size_t)c->fs.gsm_df < t->n ? c->fs.gsm_df : 0, out);
		return EU_OK;
	case 0xB0:
	case 0xD6: return binary(c, t, a, out);
	case 0xB2:
	case 0xDC: return record(c, t, a, out);
	case 0x20: return verify_chv(c, a);
	case 0x88: /* RUN GSM ALGORITHM: RAND in, SRES ‖ Kc out */
		if (a->p1 || a->p2)
			return EU_WRONG_P1P2;
		if (a->lc != 16)
			return EU_WRONG_LENGTH;
		if (c->fs.gsm_df != df_gsm(t))
			return EU_CONDITIONS; /* DF.GSM must be selected */
		return fs_gsm_algorithm(c, t, a->data, out);
	}
	return EU_INS;
}
