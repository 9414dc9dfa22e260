/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SAIP profile package (TCA eUICC Profile Package, DER) as a UICC file system: the file-system
 * elements (mf, telecom, usim, opt-usim, gsm-access, df-5gs, df-saip, isim, opt-isim, csim, opt-csim,
 * phonebook, cd) and genericFileManagement become a tree of DFs, ADFs and EFs with their descriptors,
 * SFIs, access-rule references and initial contents; pinCodes / pukCodes become the profile's PINs;
 * akaParameter gives the MILENAGE keys. Where a file's size is not in its FCP, the size comes from the
 * element's template as far as the bench knows it (see the table below and docs/card.md).
 * The parser trusts nothing: every length is checked, and the first problem is named with the element. */
#include <stdio.h>
#include <string.h>

#include "apdu/crypto.h"
#include "apdu/tlv.h"
#include "euicc_int.h"

/* Where the files of each file-system element live, and the FID of its first DF when the element
 * leaves it to the template. */
enum { BASE_MF, BASE_USIM, BASE_ISIM, BASE_CSIM };
static const struct {
	uint8_t tag;
	uint8_t base;
	uint16_t first_fid;
	const char *name;
} fs_elements[] = {
	{ 0xB0, BASE_MF, 0x3F00, "mf" },	   { 0xB1, BASE_MF, 0x7F11, "cd" },
	{ 0xB2, BASE_MF, 0x7F10, "telecom" },	   { 0xB3, BASE_MF, 0, "usim" },
	{ 0xB4, BASE_USIM, 0, "opt-usim" },	   { 0xB5, BASE_MF, 0, "isim" },
	{ 0xB6, BASE_ISIM, 0, "opt-isim" },	   { 0xB7, BASE_USIM, 0x5F3A, "phonebook" },
	{ 0xB8, BASE_USIM, 0x5F3B, "gsm-access" }, { 0xB9, BASE_MF, 0, "csim" },
	{ 0xBA, BASE_CSIM, 0, "opt-csim" },	   { 0xBC, BASE_USIM, 0x5FC0, "df-5gs" },
	{ 0xBD, BASE_USIM, 0x5FD0, "df-saip" },
};

/* Template sizes of transparent EFs whose FCP has no '80' (3GPP TS 31.102 / ETSI TS 102 221 sizes of
 * the files the TS.48 packages create that way). Others get their content's or fill pattern's length. */
static const struct {
	uint8_t pe;
	uint16_t fid;
	uint16_t size;
} template_sizes[] = {
	{ 0xB0, 0x2FE2, 10 }, { 0xB0, 0x2F08, 5 },  { 0xB2, 0x4F22, 4 },  { 0xB2, 0x4F23, 2 },	{ 0xB2, 0x4F24, 2 },
	{ 0xB3, 0x6F07, 9 },  { 0xB3, 0x6F08, 33 }, { 0xB3, 0x6F09, 33 }, { 0xB3, 0x6F31, 1 },	{ 0xB3, 0x6F43, 2 },
	{ 0xB3, 0x6F46, 17 }, { 0xB3, 0x6F56, 1 },  { 0xB3, 0x6F5B, 6 },  { 0xB3, 0x6F5C, 3 },	{ 0xB3, 0x6F73, 14 },
	{ 0xB3, 0x6F78, 2 },  { 0xB3, 0x6F7B, 12 }, { 0xB3, 0x6F7E, 11 }, { 0xB3, 0x6FAD, 4 },	{ 0xB3, 0x6FE3, 18 },
	{ 0xB4, 0x6F05, 2 },  { 0xB4, 0x6F37, 3 },  { 0xB4, 0x6F41, 5 },  { 0xB4, 0x6F2C, 16 }, { 0xB4, 0x6FB2, 7 },
	{ 0xB4, 0x6FB4, 7 },  { 0xB4, 0x6FB5, 2 },  { 0xB4, 0x6FB6, 1 },  { 0xB4, 0x6FC3, 4 },	{ 0xB4, 0x6FDB, 1 },
	{ 0xB4, 0x6FDC, 1 },  { 0xB8, 0x4F20, 9 },  { 0xB8, 0x4F52, 9 },  { 0xB8, 0x4F64, 1 },	{ 0xBC, 0x4F01, 20 },
	{ 0xBC, 0x4F02, 20 }, { 0xBC, 0x4F06, 4 },  { 0xBC, 0x4F0A, 4 },  { 0xB5, 0x6FAD, 3 },
};

/* The SFIs the SAIP templates give their EFs (TS 31.102 Annex H, TS 31.103, TS 102 221): an EF of a
 * template element whose FCP leaves '88' out gets the template's SFI, or none when the template gives it
 * none (EF.SPN, EF.SMS, ...). parent is the FID of the EF's DF, TPL_ADF for the element's ADF. Only
 * files made by genericFileManagement take TS 102 221's default (the FID's low five bits). EF.ICCID and
 * EF.ARR at the MF carry TS 102 221's SFIs 02 and 06 (docs/protocol-choices.md). */
#define TPL_ADF 0xFFFF
static const struct {
	uint8_t pe;
	uint16_t parent, fid;
	uint8_t sfi;
} template_sfis[] = {
	/* mf */
	{ 0xB0, 0x3F00, 0x2FE2, 0x02 },
	{ 0xB0, 0x3F00, 0x2F05, 0x05 },
	{ 0xB0, 0x3F00, 0x2F06, 0x06 },
	{ 0xB0, 0x3F00, 0x2F00, 0x1E },
	{ 0xB0, 0x3F00, 0x2F08, 0x08 },
	/* telecom: DF.MMSS, DF.MCS, DF.V2X */
	{ 0xB2, 0x5F3C, 0x4F20, 0x01 },
	{ 0xB2, 0x5F3C, 0x4F21, 0x02 },
	{ 0xB2, 0x5F3C, 0x4F22, 0x03 },
	{ 0xB2, 0x5F3D, 0x4F01, 0x01 },
	{ 0xB2, 0x5F3D, 0x4F02, 0x02 },
	{ 0xB2, 0x5F3E, 0x4F01, 0x01 },
	{ 0xB2, 0x5F3E, 0x4F02, 0x02 },
	/* usim */
	{ 0xB3, TPL_ADF, 0x6FB7, 0x01 },
	{ 0xB3, TPL_ADF, 0x6FAD, 0x03 },
	{ 0xB3, TPL_ADF, 0x6F38, 0x04 },
	{ 0xB3, TPL_ADF, 0x6F56, 0x05 },
	{ 0xB3, TPL_ADF, 0x6F78, 0x06 },
	{ 0xB3, TPL_ADF, 0x6F07, 0x07 },
	{ 0xB3, TPL_ADF, 0x6F08, 0x08 },
	{ 0xB3, TPL_ADF, 0x6F09, 0x09 },
	{ 0xB3, TPL_ADF, 0x6F7E, 0x0B },
	{ 0xB3, TPL_ADF, 0x6F73, 0x0C },
	{ 0xB3, TPL_ADF, 0x6F7B, 0x0D },
	{ 0xB3, TPL_ADF, 0x6F5B, 0x0F },
	{ 0xB3, TPL_ADF, 0x6F5C, 0x10 },
	{ 0xB3, TPL_ADF, 0x6F31, 0x12 },
	{ 0xB3, TPL_ADF, 0x6F06, 0x17 },
	{ 0xB3, TPL_ADF, 0x6FE4, 0x18 },
	{ 0xB3, TPL_ADF, 0x6FE3, 0x1E },
	/* opt-usim */
	{ 0xB4, TPL_ADF, 0x6F05, 0x02 },
	{ 0xB4, TPL_ADF, 0x6F60, 0x0A },
	{ 0xB4, TPL_ADF, 0x6F48, 0x0E },
	{ 0xB4, TPL_ADF, 0x6F61, 0x11 },
	{ 0xB4, TPL_ADF, 0x6F62, 0x13 },
	{ 0xB4, TPL_ADF, 0x6F80, 0x14 },
	{ 0xB4, TPL_ADF, 0x6F81, 0x15 },
	{ 0xB4, TPL_ADF, 0x6F4F, 0x16 },
	{ 0xB4, TPL_ADF, 0x6FC5, 0x19 },
	{ 0xB4, TPL_ADF, 0x6FC6, 0x1A },
	{ 0xB4, TPL_ADF, 0x6FCD, 0x1B },
	{ 0xB4, TPL_ADF, 0x6FD9, 0x1D },
	/* isim */
	{ 0xB5, TPL_ADF, 0x6F02, 0x02 },
	{ 0xB5, TPL_ADF, 0x6FAD, 0x03 },
	{ 0xB5, TPL_ADF, 0x6F04, 0x04 },
	{ 0xB5, TPL_ADF, 0x6F03, 0x05 },
	{ 0xB5, TPL_ADF, 0x6F06, 0x06 },
	{ 0xB5, TPL_ADF, 0x6F07, 0x07 },
	/* gsm-access */
	{ 0xB8, 0x5F3B, 0x4F20, 0x01 },
	{ 0xB8, 0x5F3B, 0x4F52, 0x02 },
	/* df-5gs */
	{ 0xBC, 0x5FC0, 0x4F01, 0x01 },
	{ 0xBC, 0x5FC0, 0x4F02, 0x02 },
	{ 0xBC, 0x5FC0, 0x4F03, 0x03 },
	{ 0xBC, 0x5FC0, 0x4F04, 0x04 },
	{ 0xBC, 0x5FC0, 0x4F05, 0x05 },
	{ 0xBC, 0x5FC0, 0x4F06, 0x06 },
	{ 0xBC, 0x5FC0, 0x4F07, 0x07 },
	{ 0xBC, 0x5FC0, 0x4F08, 0x08 },
	{ 0xBC, 0x5FC0, 0x4F09, 0x09 },
	{ 0xBC, 0x5FC0, 0x4F0A, 0x0A },
	{ 0xBC, 0x5FC0, 0x4F0C, 0x0C },
	{ 0xBC, 0x5FC0, 0x4F0D, 0x0D },
	{ 0xBC, 0x5FC0, 0x4F0E, 0x0E },
	{ 0xBC, 0x5FC0, 0x4F0F, 0x0F },
	{ 0xBC, 0x5FC0, 0x4F10, 0x10 },
	{ 0xBC, 0x5FC0, 0x4F11, 0x11 },
	{ 0xBC, 0x5FC0, 0x4F15, 0x15 },
	{ 0xBC, 0x5FC0, 0x4F16, 0x16 },
};

/* the SFI of EF fid under parent as its element's template defines it (0: none); gfm files (pe 0xA1)
 * take TS 102 221's default */
static uint8_t template_sfi(const fs_tree *t, uint8_t pe, int parent, uint16_t fid)
{
	if (pe == 0xA1 || pe < 0xB0)
		return (uint8_t)(fid & 0x1F);
	uint16_t pf = parent >= 0 && t->f[parent].type == FS_ADF ? TPL_ADF : parent >= 0 ? t->f[parent].fid : 0;
	for (size_t i = 0; i < sizeof(template_sfis) / sizeof(template_sfis[0]); i++)
		if (template_sfis[i].pe == pe && template_sfis[i].fid == fid && template_sfis[i].parent == pf)
			return template_sfis[i].sfi;
	return 0;
}

const uint8_t fs_usim_prefix[7] = { 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02 };
static const uint8_t isim_prefix[7] = { 0xA0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x04 };
static const uint8_t csim_prefix[7] = { 0xA0, 0x00, 0x00, 0x03, 0x43, 0x10, 0x02 };

typedef struct {
	fs_tree *t;
	uint8_t *data; /* NULL: layout only */
	size_t cap;
	int pe_index;
	const char *pe_name;
} bctx;

static int fail(bctx *b, uint8_t status, const char *fmt, unsigned v)
{
	fs_tree *t = b->t;
	if (t->bad_pe < 0) {
		t->bad_pe = b->pe_index;
		t->bad_status = status;
		char m[64];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		snprintf(m, sizeof(m), fmt, v);
#pragma GCC diagnostic pop
		snprintf(t->why, sizeof(t->why), "element %d (%.21s): %.63s", b->pe_index, b->pe_name, m);
	}
	return -1;
}

static uint32_t be_uint(const uint8_t *p, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | p[i];
	return v;
}

int fs_adf(const fs_tree *t, const uint8_t *prefix)
{
	for (size_t i = 1; i < t->n; i++)
		if (t->f[i].type == FS_ADF && t->f[i].aid_len >= 7 && !memcmp(t->f[i].aid, prefix, 7))
			return (int)i;
	return -1;
}

int fs_child(const fs_tree *t, int dir, uint16_t fid)
{
	for (size_t i = 1; i < t->n; i++)
		if (t->f[i].parent == dir && t->f[i].fid == fid)
			return (int)i;
	return -1;
}

/* Fills a body (a record or a transparent EF) with the FCP's pattern: 'C1' filling pattern (its last
 * byte repeats to the end), 'C2' repeat pattern (repeats whole); 'FF' without one (TS 102 222). */
static void fill(uint8_t *p, size_t n, const uint8_t *pat, size_t pat_len, bool repeat)
{
	for (size_t i = 0; i < n; i++) {
		if (!pat_len)
			p[i] = 0xFF;
		else if (repeat)
			p[i] = pat[i % pat_len];
		else
			p[i] = pat[i < pat_len ? i : pat_len - 1];
	}
}

/* Creates a file from an FCP (the createFCP of a file element or a '62' of genericFileManagement).
 * fid_default: the template's FID for a first DF without one (0: none). Returns the index or -1. */
/* the file type a descriptor byte names */
static uint8_t type_of(uint8_t fd)
{
	if ((fd & 0x3F) == 0x39)
		return FS_EF_BERTLV; /* '39' / '79' (shareable): an EF of BER-TLV objects, not a DF */
	if ((fd & 0x38) == 0x38)
		return FS_DF;
	if ((fd & 0x07) == 0x02)
		return FS_EF_LINEAR;
	if ((fd & 0x07) == 0x06)
		return FS_EF_CYCLIC;
	return FS_EF_TRANSPARENT;
}

/* a file without '80': the size its template gives, else what its contents need (at least a record,
 * at least one byte) */
static uint32_t default_size(const fs_file *f, uint8_t pe_tag, size_t content)
{
	uint32_t sz = 0;
	for (size_t i = 0; i < sizeof(template_sizes) / sizeof(template_sizes[0]); i++)
		if (template_sizes[i].pe == pe_tag && template_sizes[i].fid == f->fid)
			sz = template_sizes[i].size;
	if (!sz)
		sz = (uint32_t)content;
	if (f->rec_len && sz < f->rec_len)
		sz = f->rec_len;
	return sz ? sz : 1;
}

static int create(bctx *b, int parent, const uint8_t *fcp, size_t len, uint16_t fid_default, uint8_t pe_tag,
		  size_t content_hint)
{
	fs_tree *t = b->t;
	tlv d, fid, size, aid, arr, sfi, prop, pat;
	if (t->n >= FS_MAX_FILES)
		return fail(b, PROTO_PE_NOT_ENOUGH_MEMORY, "more than %u files", FS_MAX_FILES);
	fs_file *f = &t->f[t->n];
	memset(f, 0, sizeof(*f));
	f->parent = parent;
	f->pe_tag = pe_tag;
	bool has_aid = !tlv_find(fcp, len, 0x84, &aid);
	bool has_desc = !tlv_find(fcp, len, 0x82, &d) && d.len >= 2;
	if (!tlv_find(fcp, len, 0x83, &fid)) {
		if (fid.len != 2)
			return fail(b, PROTO_PE_BAD_VALUES, "file identifier of %u bytes", (unsigned)fid.len);
		f->fid = (uint16_t)be_uint(fid.value, 2);
	} else if (fid_default) {
		f->fid = fid_default;
	} else {
		return fail(b, PROTO_PE_NOT_SUPPORTED,
			    "a file without identifier needs a template this card lacks (%u)", 0);
	}
	if (has_aid) {
		if (aid.len < 5 || aid.len > 16)
			return fail(b, PROTO_PE_BAD_VALUES, "AID of %u bytes", (unsigned)aid.len);
		f->type = FS_ADF;
		memcpy(f->aid, aid.value, aid.len);
		f->aid_len = (uint8_t)aid.len;
	} else if (!has_desc) {
		/* no descriptor: a DF by its template when it has a PIN status template, else a transparent EF */
		tlv ps;
		f->type = (!tlv_find(fcp, len, 0xC6, &ps) || fid_default) ? FS_DF : FS_EF_TRANSPARENT;
	} else {
		f->type = type_of(d.value[0]);
		if (f->type == FS_EF_LINEAR || f->type == FS_EF_CYCLIC) {
			if (d.len < 4 || !be_uint(d.value + 2, 2))
				return fail(b, PROTO_PE_BAD_VALUES, "record file %04X without a record length", f->fid);
			f->rec_len = (uint16_t)be_uint(d.value + 2, 2);
		}
	}
	if (!tlv_find(fcp, len, 0x8B, &arr) && arr.len == 3) {
		f->arr_fid = (uint16_t)be_uint(arr.value, 2);
		f->arr_rec = arr.value[2];
	}
	if (f->type == FS_DF || f->type == FS_ADF)
		return (int)t->n++;
	/* no '88': what the element's template says (TS 102 221 11.1.1.4.8's low five bits for files
	 * outside the templates); an empty '88' = no SFI */
	if (tlv_find(fcp, len, 0x88, &sfi))
		f->sfi = template_sfi(t, pe_tag, parent, f->fid);
	else if (sfi.len == 1)
		f->sfi = (uint8_t)(sfi.value[0] >> 3);
	const uint8_t *pp = NULL;
	size_t pl = 0;
	bool repeat = false;
	if (!tlv_find(fcp, len, 0xA5, &prop)) {
		if (!tlv_find(prop.value, prop.len, 0xC1, &pat) && pat.len) {
			pp = pat.value;
			pl = pat.len;
		} else if (!tlv_find(prop.value, prop.len, 0xC2, &pat) && pat.len) {
			pp = pat.value;
			pl = pat.len;
			repeat = true;
		}
	}
	uint32_t sz = 0;
	if (!tlv_find(fcp, len, 0x80, &size)) {
		if (size.len < 1 || size.len > 3)
			return fail(b, PROTO_PE_BAD_VALUES, "file size of %u bytes", (unsigned)size.len);
		sz = be_uint(size.value, size.len);
	} else {
		sz = default_size(f, pe_tag, content_hint > pl ? content_hint : pl);
	}
	if (f->rec_len && (sz % f->rec_len || sz / f->rec_len > 254))
		return fail(b, PROTO_PE_BAD_VALUES, "record file %04X: size not a whole number of records (max 254)",
			    f->fid);
	if (sz > EUICC_MAX_FSDATA)
		return fail(b, PROTO_PE_NOT_ENOUGH_MEMORY, "file %04X too large", f->fid);
	f->size = sz;
	f->data_off = (uint32_t)t->data_len;
	if (t->data_len + sz > (b->data ? b->cap : EUICC_MAX_FSDATA))
		return fail(b, PROTO_PE_NOT_ENOUGH_MEMORY, "the files need more than %u bytes",
			    (unsigned)EUICC_MAX_FSDATA);
	t->data_len += sz;
	if (b->data) {
		size_t body = f->rec_len ? f->rec_len : sz;
		for (size_t o = 0; o < sz; o += body)
			fill(b->data + f->data_off + o, body, pp, pl, repeat);
	}
	return (int)t->n++;
}

/* fillFileContent / fillFileOffset on file `i`, the position moving as SAIP describes */
static int fill_content(bctx *b, int i, size_t *pos, const uint8_t *v, size_t n)
{
	fs_file *f = &b->t->f[i];
	if (f->type == FS_DF || f->type == FS_ADF)
		return fail(b, PROTO_PE_BAD_VALUES, "content for DF %04X", f->fid);
	if (*pos + n > f->size)
		return fail(b, PROTO_PE_BAD_VALUES, "content beyond the end of file %04X", f->fid);
	if (b->data)
		memcpy(b->data + f->data_off + *pos, v, n);
	*pos += n;
	return 0;
}

/* how many content bytes a file element brings (for sizes the FCP leaves out) */
static size_t content_extent(const uint8_t *v, size_t len, uint8_t off_tag, uint8_t content_tag)
{
	acur c = acur_make(v, len);
	tlv x;
	size_t pos = 0;
	while (c.len && !tlv_next(&c, &x)) {
		if (x.tag == content_tag)
			pos += x.len;
		else if (x.tag == off_tag && x.len >= 1 && x.len <= 2)
			pos += be_uint(x.value, x.len);
	}
	return pos;
}

/* One file-system element: [n] items of { [1] createFCP, [2] fillFileOffset, [3] fillFileContent } */
static int fs_element(bctx *b, uint8_t tag, const uint8_t *v, size_t len)
{
	fs_tree *t = b->t;
	size_t k;
	for (k = 0; k < sizeof(fs_elements) / sizeof(fs_elements[0]); k++)
		if (fs_elements[k].tag == tag)
			break;
	int base = 0;
	switch (fs_elements[k].base) {
	case BASE_USIM: base = fs_adf(t, fs_usim_prefix); break;
	case BASE_ISIM: base = fs_adf(t, isim_prefix); break;
	case BASE_CSIM: base = fs_adf(t, csim_prefix); break;
	}
	if (base < 0)
		return fail(b, PROTO_PE_BAD_VALUES, "its application (ADF) is not installed before it", 0);
	int root = -1, dir = base;
	acur c = acur_make(v, len);
	tlv item;
	while (c.len) {
		if (tlv_next(&c, &item))
			return fail(b, PROTO_PE_INVALID_FORMAT, "malformed item", 0);
		if (item.tag == 0xA0 || !item.constructed)
			continue; /* element header, templateID */
		tlv fcp;
		acur ic = acur_make(item.value, item.len);
		tlv x;
		int cur = -1;
		size_t pos = 0;
		bool first = true;
		while (ic.len) {
			if (tlv_next(&ic, &x))
				return fail(b, PROTO_PE_INVALID_FORMAT, "malformed file item", 0);
			if (x.tag == 0x80) { /* doNotCreate */
				first = false;
				continue;
			}
			if (x.tag == 0xA1 && first) {
				fcp = x;
				/* the element's own DF (MF for 'mf') */
				if (tag == 0xB0 && root < 0) {
					tlv a;
					if (!tlv_find(fcp.value, fcp.len, 0x8B, &a) && a.len == 3) {
						t->f[0].arr_fid = (uint16_t)be_uint(a.value, 2);
						t->f[0].arr_rec = a.value[2];
					}
					root = 0;
					first = false;
					continue;
				}
				size_t hint = content_extent(item.value, item.len, 0x82, 0x83);
				int parent = (root < 0) ? base : dir;
				int i = create(b, parent, fcp.value, fcp.len, root < 0 ? fs_elements[k].first_fid : 0,
					       tag, hint);
				if (i < 0)
					return -1;
				if (t->f[i].type == FS_DF || t->f[i].type == FS_ADF) {
					if (root < 0) {
						root = i;
					} else {
						t->f[i].parent = root; /* a DF inside the element's DF */
					}
					dir = i;
				} else if (root < 0) {
					root = base; /* an element of EFs only (opt-usim ...) */
				}
				cur = i;
				first = false;
				continue;
			}
			first = false;
			if (x.tag == 0x82) {
				if (cur < 0 || x.len < 1 || x.len > 2)
					return fail(b, PROTO_PE_BAD_VALUES, "fillFileOffset without a file", 0);
				pos += be_uint(x.value, x.len);
				if (pos > t->f[cur].size)
					return fail(b, PROTO_PE_BAD_VALUES, "offset beyond the end of file %04X",
						    t->f[cur].fid);
			} else if (x.tag == 0x83) {
				if (cur < 0)
					return fail(b, PROTO_PE_BAD_VALUES, "fillFileContent without a file", 0);
				if (fill_content(b, cur, &pos, x.value, x.len))
					return -1;
			} else {
				return fail(b, PROTO_PE_NOT_SUPPORTED, "file item with tag %02X", (unsigned)x.tag);
			}
		}
	}
	return 0;
}

/* genericFileManagement: A1 { A0 header, A1 { 30 { 80 path | 62 FCP | 81 content | 02 offset ... } ... } } */
static int generic_fm(bctx *b, const uint8_t *v, size_t len)
{
	fs_tree *t = b->t;
	tlv list, seq, x;
	if (tlv_find(v, len, 0xA1, &list))
		return fail(b, PROTO_PE_INVALID_FORMAT, "no fileManagementCMD", 0);
	acur c = acur_make(list.value, list.len);
	while (c.len) {
		if (tlv_next(&c, &seq) || seq.tag != 0x30)
			return fail(b, PROTO_PE_INVALID_FORMAT, "malformed fileManagementCMD", 0);
		acur ic = acur_make(seq.value, seq.len);
		int dir = 0, cur = -1;
		size_t pos = 0;
		while (ic.len) {
			if (tlv_next(&ic, &x))
				return fail(b, PROTO_PE_INVALID_FORMAT, "malformed command", 0);
			if (x.tag == 0x80) { /* filePath from the MF */
				if (x.len % 2 || x.len > 8)
					return fail(b, PROTO_PE_BAD_VALUES, "filePath of %u bytes", (unsigned)x.len);
				dir = 0;
				cur = -1;
				for (size_t i = 0; i < x.len; i += 2) {
					uint16_t fid = (uint16_t)be_uint(x.value + i, 2);
					int n = fid == 0x7FFF ? fs_adf(t, fs_usim_prefix) : fs_child(t, dir, fid);
					if (n < 0 && dir == 0) /* ADFs by FID as well */
						for (size_t j = 1; j < t->n && n < 0; j++)
							if (t->f[j].type == FS_ADF && t->f[j].fid == fid)
								n = (int)j;
					if (n < 0)
						return fail(b, PROTO_PE_BAD_VALUES, "filePath names no file (%04X)",
							    fid);
					if (t->f[n].type == FS_DF || t->f[n].type == FS_ADF) {
						dir = n;
					} else {
						cur = n; /* an EF: the content commands go to it */
						pos = 0;
					}
				}
			} else if (x.tag == 0x62) {
				int n = create(b, dir, x.value, x.len, 0, 0xA1,
					       content_extent(ic.p, ic.len, 0x02, 0x81));
				if (n < 0)
					return -1;
				if (t->f[n].type == FS_DF || t->f[n].type == FS_ADF)
					dir = n;
				cur = n;
				pos = 0;
			} else if (x.tag == 0x81) {
				if (cur < 0)
					return fail(b, PROTO_PE_BAD_VALUES, "fillFileContent without a file", 0);
				if (fill_content(b, cur, &pos, x.value, x.len))
					return -1;
			} else if (x.tag == 0x02) {
				if (cur < 0 || x.len < 1 || x.len > 2)
					return fail(b, PROTO_PE_BAD_VALUES, "fillFileOffset without a file", 0);
				pos += be_uint(x.value, x.len);
				if (pos > t->f[cur].size)
					return fail(b, PROTO_PE_BAD_VALUES, "offset beyond the end of file %04X",
						    t->f[cur].fid);
			} else {
				return fail(b, PROTO_PE_NOT_SUPPORTED, "file management command with tag %02X",
					    (unsigned)x.tag);
			}
		}
	}
	return 0;
}

static uint8_t int_last(const tlv *x)
{
	return x->len ? x->value[x->len - 1] : 0;
}

/* One PIN or PUK entry: 80 key reference, 81 value (min..8 bytes, 'FF' padded), counter_tag
 * maxNumOfAttemps-retryNumLeft (default dflt). */
static int code_entry(bctx *b, const tlv *p, const char *what, size_t min, uint8_t counter_tag, uint8_t dflt,
		      nvm_pin *n)
{
	tlv x;
	memset(n, 0, sizeof(*n));
	n->used = true;
	if (tlv_find(p->value, p->len, 0x80, &x) || !x.len || x.len > 2)
		return fail(b, PROTO_PE_BAD_VALUES,
			    what[1] == 'I' ? "PIN without key reference" : "PUK without key reference", 0);
	n->ref = int_last(&x);
	if (tlv_find(p->value, p->len, 0x81, &x) || x.len < min || x.len > 8)
		return fail(b, PROTO_PE_BAD_VALUES,
			    what[1] == 'I' ? "PIN %02X value is not 4 to 8 bytes" : "PUK %02X value is not 8 bytes",
			    n->ref);
	memset(n->value, 0xFF, 8);
	memcpy(n->value, x.value, x.len);
	uint8_t ml = dflt;
	if (!tlv_find(p->value, p->len, counter_tag, &x))
		ml = int_last(&x);
	n->max = ml >> 4;
	n->left = ml & 0x0F;
	if (!n->max || n->left > n->max)
		return fail(b, PROTO_PE_BAD_VALUES,
			    what[1] == 'I' ? "PIN %02X retry counter" : "PUK %02X retry counter", n->ref);
	return 0;
}

/* pinCodes: A2 { A0 header, A1 { A0 { 30 { 80 ref, 81 value, 82 PUK ref, 83 attributes, 84 max/left } } } } */
static int pin_codes(bctx *b, const uint8_t *v, size_t len, nvm_pin *pins)
{
	tlv a1, a0, p, x;
	if (tlv_find(v, len, 0xA1, &a1))
		return fail(b, PROTO_PE_INVALID_FORMAT, "no pinCodes", 0);
	if (tlv_find(a1.value, a1.len, 0xA0, &a0))
		return 0; /* filePath form: PINs of another file, nothing new */
	acur c = acur_make(a0.value, a0.len);
	while (c.len) {
		if (tlv_next(&c, &p) || p.tag != 0x30)
			return fail(b, PROTO_PE_INVALID_FORMAT, "malformed PIN configuration", 0);
		nvm_pin n;
		if (code_entry(b, &p, "PIN", 4, 0x84, BENCH_SAIP_PIN_TRIES_DEFAULT, &n))
			return -1;
		if (!tlv_find(p.value, p.len, 0x82, &x))
			n.unblock_ref = int_last(&x);
		n.attrs = BENCH_SAIP_PIN_ATTRS_DEFAULT;
		if (!tlv_find(p.value, p.len, 0x83, &x))
			n.attrs = int_last(&x);
		n.enabled = (n.attrs & BENCH_SAIP_PIN_ATTR_ENABLED) != 0;
		int slot = -1;
		for (int i = 0; i < EUICC_MAX_PINS; i++) {
			if (pins[i].used && pins[i].ref == n.ref) {
				slot = -2; /* an application's copy of a PIN already defined (PIN2 of each ADF) */
				break;
			}
			if (!pins[i].used && slot == -1)
				slot = i;
		}
		if (slot == -1)
			return fail(b, PROTO_PE_NOT_ENOUGH_MEMORY, "more than %u PINs", EUICC_MAX_PINS);
		if (slot >= 0)
			pins[slot] = n;
	}
	return 0;
}

/* pukCodes: A3 { A0 header, A1 { 30 { 80 ref, 81 value, 82 max/left } } } */
static int puk_codes(bctx *b, const uint8_t *v, size_t len, nvm_pin *puks)
{
	tlv a1, p;
	if (tlv_find(v, len, 0xA1, &a1))
		return fail(b, PROTO_PE_INVALID_FORMAT, "no pukCodes", 0);
	acur c = acur_make(a1.value, a1.len);
	int k = 0;
	while (c.len) {
		if (tlv_next(&c, &p) || p.tag != 0x30)
			return fail(b, PROTO_PE_INVALID_FORMAT, "malformed PUK", 0);
		nvm_pin n;
		if (code_entry(b, &p, "PUK", 8, 0x82, BENCH_SAIP_PUK_TRIES_DEFAULT, &n))
			return -1;
		n.enabled = true;
		while (k < EUICC_MAX_PUKS && puks[k].used)
			k++;
		if (k >= EUICC_MAX_PUKS)
			return fail(b, PROTO_PE_NOT_ENOUGH_MEMORY, "more than %u PUKs", EUICC_MAX_PUKS);
		puks[k] = n;
	}
	return 0;
}

static int aka(bctx *b, const uint8_t *v, size_t len)
{
	fs_tree *t = b->t;
	tlv a1, a2, alg, k, opc;
	if (tlv_find(v, len, 0xA1, &a1) || tlv_find(a1.value, a1.len, 0xA1, &a2) ||
	    tlv_find(a2.value, a2.len, 0x80, &alg) || alg.len != 1)
		return fail(b, PROTO_PE_INVALID_FORMAT, "akaParameter without algorithm", 0);
	if (alg.value[0] != 0x01)
		return 0; /* not MILENAGE: kept, AUTHENTICATE answers 'function not supported' */
	if (tlv_find(a2.value, a2.len, 0x82, &k) || k.len != 16 || tlv_find(a2.value, a2.len, 0x83, &opc) ||
	    opc.len != 16)
		return fail(b, PROTO_PE_BAD_VALUES, "MILENAGE K or OPc is not 16 bytes", 0);
	if (t->has_aka)
		return 0; /* the first one is the USIM's (the ISIM's comes later) */
	t->aka_alg = 1;
	memcpy(t->k, k.value, 16);
	memcpy(t->opc, opc.value, 16);
	t->has_aka = true;
	return 0;
}

static int element(bctx *b, const tlv *pe, nvm_pin *pins, nvm_pin *puks)
{
	for (size_t k = 0; k < sizeof(fs_elements) / sizeof(fs_elements[0]); k++)
		if (fs_elements[k].tag == pe->tag) {
			b->pe_name = fs_elements[k].name;
			return fs_element(b, (uint8_t)pe->tag, pe->value, pe->len);
		}
	switch (pe->tag) {
	case 0xA1: b->pe_name = "genericFileManagement"; return generic_fm(b, pe->value, pe->len);
	case 0xA2: b->pe_name = "pinCodes"; return pin_codes(b, pe->value, pe->len, pins);
	case 0xA3: b->pe_name = "pukCodes"; return puk_codes(b, pe->value, pe->len, puks);
	case 0xA4: b->pe_name = "akaParameter"; return aka(b, pe->value, pe->len);
	}
	return 0; /* header, security domains, RFM, applications, end: not file-system matters */
}

int saip_build(const uint8_t *pkg, size_t len, fs_tree *t, uint8_t *data, size_t data_cap, nvm_pin *pins, nvm_pin *puks)
{
	memset(t, 0, sizeof(*t));
	t->bad_pe = -1;
	t->f[0].fid = 0x3F00;
	t->f[0].type = FS_DF;
	t->f[0].parent = -1;
	t->n = 1;
	/* the PINs are checked (count, duplicates) whether or not the caller keeps them: a layout-only
	 * build refuses what a full one refuses */
	nvm_pin scratch_pins[EUICC_MAX_PINS], scratch_puks[EUICC_MAX_PUKS];
	if (!pins)
		pins = scratch_pins;
	if (!puks)
		puks = scratch_puks;
	memset(pins, 0, sizeof(nvm_pin) * EUICC_MAX_PINS);
	memset(puks, 0, sizeof(nvm_pin) * EUICC_MAX_PUKS);
	bctx b = { t, data, data_cap, 0, "?" };
	acur c = acur_make(pkg, len);
	tlv pe;
	int rc = 0;
	while (c.len && !rc) {
		if (tlv_next(&c, &pe))
			rc = fail(&b, PROTO_PE_INVALID_FORMAT, "malformed element", 0);
		else if (element(&b, &pe, pins, puks))
			rc = -1;
		else
			b.pe_index++;
	}
	crypto_wipe(scratch_pins, sizeof(scratch_pins));
	crypto_wipe(scratch_puks, sizeof(scratch_puks));
	return rc;
}

uint8_t saip_install(nvm_profile *p, size_t *bad_pe, char *why, size_t why_len)
{
	fs_tree *t = malloc(sizeof(*t));
	if (!t) {
		snprintf(why, why_len, "out of memory");
		*bad_pe = 0;
		return PROTO_PE_NOT_ENOUGH_MEMORY;
	}
	uint8_t st = PROTO_PE_OK;
	if (saip_build(p->package, p->package_len, t, p->fsdata, sizeof(p->fsdata), p->pins, p->puks)) {
		st = t->bad_status;
		*bad_pe = (size_t)t->bad_pe;
		snprintf(why, why_len, "%s", t->why);
		p->fsdata_len = 0;
		memset(p->pins, 0, sizeof(p->pins));
		memset(p->puks, 0, sizeof(p->puks));
	} else {
		p->fsdata_len = (uint32_t)t->data_len;
	}
	p->files_pristine = st == PROTO_PE_OK;
	free(t);
	return st;
}
