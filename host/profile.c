/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/tlv.h"
#include "host/profile.h"

const char *profile_element_name(uint32_t tag)
{
	switch (tag) {
	case 0xA0: return "header";
	case 0xA1: return "genericFileManagement";
	case 0xA2: return "pinCodes";
	case 0xA3: return "pukCodes";
	case 0xA4: return "akaParameter";
	case 0xA5: return "cdmaParameter";
	case 0xA6: return "securityDomain";
	case 0xA7: return "rfm";
	case 0xA8: return "application";
	case 0xA9: return "nonStandard";
	case 0xAA: return "end";
	case 0xB0: return "mf";
	case 0xB1: return "cd";
	case 0xB2: return "telecom";
	case 0xB3: return "usim";
	case 0xB4: return "opt-usim";
	case 0xB5: return "isim";
	case 0xB6: return "opt-isim";
	case 0xB7: return "phonebook";
	case 0xB8: return "gsm-access";
	case 0xB9: return "csim";
	case 0xBA: return "opt-csim";
	case 0xBB: return "eap";
	case 0xBC: return "df-5gs";
	case 0xBD: return "df-saip";
	}
	return "unknown";
}

static const uint8_t oid_mf[6] = { 0x67, 0x81, 0x0f, 0x01, 0x02, 0x01 };	 /* TCA template MF */
static const uint8_t oid_usim[6] = { 0x67, 0x81, 0x0f, 0x01, 0x02, 0x04 };	 /* TCA template ADF.USIM */
static const uint8_t oid_telecom[6] = { 0x67, 0x81, 0x0f, 0x01, 0x02, 0x03 };	 /* DF.TELECOM */
static const uint8_t oid_optusim[6] = { 0x67, 0x81, 0x0f, 0x01, 0x02, 0x05 };	 /* optional USIM files */
static const uint8_t oid_gsm_access[6] = { 0x67, 0x81, 0x0f, 0x01, 0x02, 0x07 }; /* DF.GSM-ACCESS */
static const uint8_t usim_aid[12] = { 0xa0, 0x00, 0x00, 0x00, 0x87, 0x10, 0x02, 0xff, 0x49, 0xff, 0x05, 0x89 };

/* PE header: A0 { 80 00 (mandated), 81 01 <identification> } */
static void pe_header(abuf *b, uint8_t id)
{
	size_t m;
	tlv_begin(b, 0xA0, &m);
	tlv_put(b, 0x80, NULL, 0);
	tlv_put_u8(b, 0x81, id);
	tlv_end(b, m);
}

/* a file: [tag] { A1 { fileDescriptor fields } [83 contents] } */
static void file(abuf *b, uint32_t tag, const uint8_t *fdesc, size_t flen, const uint8_t *content, size_t clen)
{
	size_t m, m2;
	tlv_begin(b, tag, &m);
	tlv_begin(b, 0xA1, &m2);
	abuf_put(b, fdesc, flen);
	tlv_end(b, m2);
	if (content)
		tlv_put(b, 0x83, content, clen);
	tlv_end(b, m);
}

static int digits(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s);
	if (n < lo || n > hi)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	return 0;
}

/* what every element writer reads: the parameters and the PIN values ('FF' padded) */
typedef struct {
	const profile_params *p;
	const uint8_t *pin, *puk, *adm1;
} gen_in;

/* The profile elements in package order; each appends its part, numbering elements with *idp (the
 * usim element is written by two, *mp carrying its open TLV from the first to the second). */
static void put_header(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* header: plain BCD ICCID, 'F' padded (as the TS.48 packages carry it) */
	uint8_t iccid_plain[10], iccid_swapped[10];
	size_t n = strlen(p->iccid);
	for (size_t i = 0; i < 10; i++) {
		uint8_t hi = 2 * i < n ? (uint8_t)(p->iccid[2 * i] - '0') : 0x0f;
		uint8_t lo = 2 * i + 1 < n ? (uint8_t)(p->iccid[2 * i + 1] - '0') : 0x0f;
		iccid_plain[i] = (uint8_t)((hi << 4) | lo);
	}
	abuf_fail(b, iccid_to_bcd(p->iccid, iccid_swapped));
	const char *name = p->name ? p->name : "euicc-bench test profile";
	tlv_begin(b, 0xA0, &m);
	tlv_put_u8(b, 0x80, 2);
	tlv_put_u8(b, 0x81, 3);
	tlv_put(b, 0x82, name, strlen(name));
	tlv_put(b, 0x83, iccid_plain, 10);
	tlv_begin(b, 0xA5, &m2); /* eUICC-Mandatory-services: usim, milenage */
	tlv_put(b, 0x81, NULL, 0);
	tlv_put(b, 0x91, NULL, 0);
	tlv_end(b, m2);
	tlv_begin(b, 0xA6, &m2); /* eUICC-Mandatory-GFSTEList */
	tlv_put(b, 0x06, oid_mf, 6);
	tlv_put(b, 0x06, oid_usim, 6);
	tlv_end(b, m2);
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_mf(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	uint8_t iccid_swapped[10];
	abuf_fail(b, iccid_to_bcd(p->iccid, iccid_swapped));
	/* mf: MF, EF.PL, EF.ICCID, EF.DIR (one USIM record), EF.ARR */
	tlv_begin(b, 0xB0, &m);
	pe_header(b, id++);
	tlv_put(b, 0x81, oid_mf, 6);
	/* access rules (EF.ARR, 3 records): 1 read always / update ADM1, 2 read PIN1 / update ADM1,
	 * 3 read and update PIN1 / (de)activate ADM1 */
	static const uint8_t fd_mf[] = { 0x8B, 0x03, 0x2F, 0x06, 0x01, 0xC6, 0x02, 0x01, 0x0A };
	file(b, 0xA2, fd_mf, sizeof(fd_mf), NULL, 0);
	static const uint8_t fd_pl[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x2F, 0x05,
					 0x8B, 0x03, 0x2F, 0x06, 0x01, 0x80, 0x01, 0x06 };
	const uint8_t pl[6] = { 'e', 'n', 0xff, 0xff, 0xff, 0xff };
	file(b, 0xA3, fd_pl, sizeof(fd_pl), pl, 6);
	static const uint8_t fd_iccid[] = {
		0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x2F, 0xE2, 0x8B, 0x03, 0x2F, 0x06, 0x01
	};
	file(b, 0xA4, fd_iccid, sizeof(fd_iccid), iccid_swapped, 10);
	static const uint8_t fd_dir[] = { 0x82, 0x04, 0x42, 0x21, 0x00, 0x20, 0x83, 0x02, 0x2F,
					  0x00, 0x8B, 0x03, 0x2F, 0x06, 0x01, 0x80, 0x01, 0x20 };
	uint8_t dir[32];
	memset(dir, 0xff, sizeof(dir));
	dir[0] = 0x61;
	dir[1] = 0x14;
	dir[2] = 0x4F;
	dir[3] = 0x0C;
	memcpy(dir + 4, usim_aid, 12);
	dir[16] = 0x50;
	dir[17] = 0x04;
	memcpy(dir + 18, "USIM", 4);
	file(b, 0xA5, fd_dir, sizeof(fd_dir), dir, 32);
	static const uint8_t fd_arr[] = { 0x82, 0x04, 0x42, 0x21, 0x00, 0x20, 0x83, 0x02, 0x2F,
					  0x06, 0x8B, 0x03, 0x2F, 0x06, 0x01, 0x80, 0x01, 0x60 };
	uint8_t arr[96];
	static const uint8_t adm[] = { 0xA4, 0x06, 0x83, 0x01, 0x0A, 0x95, 0x01, 0x08 };
	static const uint8_t pin1[] = { 0xA4, 0x06, 0x83, 0x01, 0x01, 0x95, 0x01, 0x08 };
	memset(arr, 0xff, sizeof(arr));
	k = 0;
	arr[k++] = 0x80;
	arr[k++] = 0x01;
	arr[k++] = 0x01;
	arr[k++] = 0x90;
	arr[k++] = 0x00;
	arr[k++] = 0x80;
	arr[k++] = 0x01;
	arr[k++] = 0x1A;
	memcpy(arr + k, adm, 8);
	k = 32;
	arr[k++] = 0x80;
	arr[k++] = 0x01;
	arr[k++] = 0x01;
	memcpy(arr + k, pin1, 8);
	k += 8;
	arr[k++] = 0x80;
	arr[k++] = 0x01;
	arr[k++] = 0x1A;
	memcpy(arr + k, adm, 8);
	k = 64;
	arr[k++] = 0x80;
	arr[k++] = 0x01;
	arr[k++] = 0x03;
	memcpy(arr + k, pin1, 8);
	k += 8;
	arr[k++] = 0x80;
	arr[k++] = 0x01;
	arr[k++] = 0x18;
	memcpy(arr + k, adm, 8);
	file(b, 0xA6, fd_arr, sizeof(fd_arr), arr, sizeof(arr));
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_puk_codes(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* pukCodes: PUK1 */
	tlv_begin(b, 0xA3, &m);
	pe_header(b, id++);
	tlv_begin(b, 0xA1, &m2);
	tlv_begin(b, 0x30, &m4);
	tlv_put_u8(b, 0x80, 0x01);
	tlv_put(b, 0x81, puk, 8);
	tlv_end(b, m4);
	tlv_end(b, m2);
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_pin_codes(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* pinCodes: PIN1 (disabled unless asked; unblocked by PUK1), ADM1 */
	tlv_begin(b, 0xA2, &m);
	pe_header(b, id++);
	tlv_begin(b, 0xA1, &m2);
	tlv_begin(b, 0xA0, &m3);
	tlv_begin(b, 0x30, &m4);
	tlv_put_u8(b, 0x80, 0x01);
	tlv_put(b, 0x81, pin, 8);
	tlv_put_u8(b, 0x82, 0x01);
	tlv_put_u8(b, 0x83, p->pin_enabled ? 0x07 : 0x06);
	tlv_end(b, m4);
	tlv_begin(b, 0x30, &m4);
	tlv_put_u8(b, 0x80, 0x0A);
	tlv_put(b, 0x81, adm1, 8);
	tlv_put_u8(b, 0x83, 0x03);
	tlv_end(b, m4);
	tlv_end(b, m3);
	tlv_end(b, m2);
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_telecom(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* telecom: DF.TELECOM, where a 2G modem looks for EF.SMSP (TS 51.011); the EF itself is not in the
	 * telecom template and comes with genericFileManagement below */
	tlv_begin(b, 0xB2, &m);
	pe_header(b, id++);
	tlv_put(b, 0x81, oid_telecom, 6);
	static const uint8_t fd_telecom[] = { 0x82, 0x02, 0x78, 0x21, 0x83, 0x02, 0x7F,
					      0x10, 0x8B, 0x03, 0x2F, 0x06, 0x01 };
	file(b, 0xA2, fd_telecom, sizeof(fd_telecom), NULL, 0);
	/* [9] DF.GRAPHICS and [11] EF.ICE_graphics, a BER-TLV EF of 256 bytes (objects read and written
	 * with RETRIEVE DATA / SET DATA, PIN1) */
	static const uint8_t fd_graphics[] = { 0x82, 0x02, 0x78, 0x21, 0x83, 0x02, 0x5F,
					       0x50, 0x8B, 0x03, 0x2F, 0x06, 0x01 };
	file(b, 0xA9, fd_graphics, sizeof(fd_graphics), NULL, 0);
	static const uint8_t fd_ice[] = { 0x82, 0x02, 0x39, 0x21, 0x83, 0x02, 0x4F, 0x21, 0x8B,
					  0x03, 0x2F, 0x06, 0x03, 0x80, 0x02, 0x01, 0x00 };
	file(b, 0xAB, fd_ice, sizeof(fd_ice), NULL, 0);
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_usim_adf(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* usim: ADF.USIM, EF.IMSI */
	uint8_t imsi[9];
	size_t in = strlen(p->imsi);
	memset(imsi, 0xff, sizeof(imsi));
	imsi[0] = (uint8_t)((in + 2) / 2); /* TS 31.102 4.2.2: length, then parity nibble and digits */
	for (size_t i = 0; i <= in; i++) {
		uint8_t d = i == 0 ? (uint8_t)((in % 2) ? 0x9 : 0x1) : (uint8_t)(p->imsi[i - 1] - '0');
		size_t byte = 1 + i / 2;
		if (i % 2 == 0)
			imsi[byte] = (uint8_t)((imsi[byte] & 0xF0) | d);
		else
			imsi[byte] = (uint8_t)((imsi[byte] & 0x0F) | (d << 4));
	}
	tlv_begin(b, 0xB3, &m);
	pe_header(b, id++);
	tlv_put(b, 0x81, oid_usim, 6);
	uint8_t fd_adf[3 + 2 + 2 + 12 + 5 + 5];
	k = 0;
	fd_adf[k++] = 0x83;
	fd_adf[k++] = 0x02;
	fd_adf[k++] = 0x7F;
	fd_adf[k++] = 0xD0;
	fd_adf[k++] = 0x84;
	fd_adf[k++] = 0x0C;
	memcpy(fd_adf + k, usim_aid, 12);
	k += 12;
	static const uint8_t rest[] = { 0x8B, 0x03, 0x2F, 0x06, 0x01, 0xC6, 0x03, 0x81, 0x01, 0x0A };
	/* the USIM's files: read with PIN1, written by ADM1 (EF.LOCI and EF.PSLOCI by the modem) */
	memcpy(fd_adf + k, rest, sizeof(rest));
	k += sizeof(rest);
	file(b, 0xA2, fd_adf, k, NULL, 0);
	/* the USIM's mandatory EFs (TS 31.102 4.2, the SAIP usim template), each under its PE-USIM tag:
	 * [3] IMSI, [5] Keys, [6] KeysPS, [7] HPPLMN, [8] UST, [11] SMSP, [13] SPN, [15] START-HFN, [16] THRESHOLD,
	 * [17] PSLOCI, [18] ACC, [19] FPLMN, [20] LOCI, [21] AD, [22] ECC, [23] NETPAR. Access rules (EF.ARR
	 * records): 1 read always, 2 read PIN1, 3 read and update PIN1 (what the modem writes); ADM1 updates. */
	static const uint8_t fd_imsi[] = {
		0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x07, 0x8B, 0x03, 0x2F, 0x06, 0x02
	};
	file(b, 0xA3, fd_imsi, sizeof(fd_imsi), imsi, 9);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_usim_efs(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* EF.Keys, EF.KeysPS: KSI 07 (no key), CK and IK unset (TS 31.102 4.2.4, 4.2.5) */
	uint8_t keys[33];
	memset(keys, 0xFF, sizeof(keys));
	keys[0] = 0x07;
	static const uint8_t fd_keys[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x08,
					   0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x21 };
	file(b, 0xA5, fd_keys, sizeof(fd_keys), keys, sizeof(keys));
	static const uint8_t fd_keysps[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x09,
					     0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x21 };
	file(b, 0xA6, fd_keysps, sizeof(fd_keysps), keys, sizeof(keys));
	/* EF.HPPLMN: a higher-priority PLMN search every 10 x 6 minutes (TS 31.102 4.2.6) */
	static const uint8_t fd_hpplmn[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x31,
					     0x8B, 0x03, 0x2F, 0x06, 0x02, 0x80, 0x01, 0x01 };
	static const uint8_t hpplmn[1] = { 0x0A };
	file(b, 0xA7, fd_hpplmn, sizeof(fd_hpplmn), hpplmn, 1);
	/* EF.UST: 12 (SMSP), 19 (SPN, when it is written), 27 (GSM access: DF.GSM-ACCESS below; Kc with the 3G
	 * answer), 38 (GSM security context). Nothing else is offered, so no file of another service is there. */
	static const uint8_t fd_ust[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x38,
					  0x8B, 0x03, 0x2F, 0x06, 0x02, 0x80, 0x01, 0x08 };
	uint8_t ust[8] = { 0x00, 0x00, 0x00, 0x04, 0x20, 0x00, 0x00, 0x00 };
	ust[1] |= 0x08; /* service 12: EF.SMSP */
	if (p->spn)
		ust[2] |= 0x04; /* service 19 */
	file(b, 0xA8, fd_ust, sizeof(fd_ust), ust, sizeof(ust));
	/* [11] EF.SMSP: one record of 40 bytes (12-byte alpha identifier), no parameter set yet (TS 31.102
	 * 4.2.27); a 2G modem and pySim-read read its first record */
	static const uint8_t fd_smsp[] = { 0x82, 0x04, 0x42, 0x21, 0x00, 0x28, 0x83, 0x02, 0x6F,
					   0x42, 0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x28 };
	uint8_t smsp[40];
	memset(smsp, 0xFF, sizeof(smsp));
	file(b, 0xAB, fd_smsp, sizeof(fd_smsp), smsp, sizeof(smsp));
	if (p->spn) {
		/* EF.SPN: display condition, then the name in the SMS default alphabet (ASCII letters), FF padded */
		static const uint8_t fd_spn[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F,
						  0x46, 0x8B, 0x03, 0x2F, 0x06, 0x02 };
		uint8_t spn[17];
		memset(spn, 0xFF, sizeof(spn));
		spn[0] = 0x01;
		memcpy(spn + 1, p->spn, strlen(p->spn));
		file(b, 0xAD, fd_spn, sizeof(fd_spn), spn, 17);
	}
	/* EF.START-HFN: START-CS, START-PS initial values; EF.THRESHOLD: the maximum (TS 31.102 4.2.51-52) */
	static const uint8_t fd_hfn[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x5B,
					  0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x06 };
	static const uint8_t hfn[6] = { 0xF0, 0x00, 0x00, 0xF0, 0x00, 0x00 };
	file(b, 0xAF, fd_hfn, sizeof(fd_hfn), hfn, sizeof(hfn));
	static const uint8_t fd_thr[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x5C,
					  0x8B, 0x03, 0x2F, 0x06, 0x02, 0x80, 0x01, 0x03 };
	static const uint8_t thr[3] = { 0xFF, 0xFF, 0xFF };
	file(b, 0xB0, fd_thr, sizeof(fd_thr), thr, sizeof(thr));
	/* EF.PSLOCI and EF.LOCI: no location yet (TS 31.102 4.2.17, 4.2.23) */
	static const uint8_t fd_psloci[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x73,
					     0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x0E };
	static const uint8_t psloci[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					    0x00, 0xf1, 0x10, 0xff, 0xfe, 0xff, 0x01 };
	file(b, 0xB1, fd_psloci, sizeof(fd_psloci), psloci, sizeof(psloci));
	/* EF.ACC: the access class of the IMSI's last digit (TS 22.011 4.2) */
	static const uint8_t fd_acc[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x78,
					  0x8B, 0x03, 0x2F, 0x06, 0x02, 0x80, 0x01, 0x02 };
	unsigned cls = (unsigned)(p->imsi[strlen(p->imsi) - 1] - '0');
	uint8_t acc[2] = { (uint8_t)((1u << cls) >> 8), (uint8_t)(1u << cls) };
	file(b, 0xB2, fd_acc, sizeof(fd_acc), acc, sizeof(acc));
	/* EF.FPLMN: no forbidden PLMN (four entries) */
	static const uint8_t fd_fplmn[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x7B,
					    0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x0C };
	uint8_t fplmn[12];
	memset(fplmn, 0xFF, sizeof(fplmn));
	file(b, 0xB3, fd_fplmn, sizeof(fd_fplmn), fplmn, sizeof(fplmn));
	static const uint8_t fd_loci[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x7E,
					   0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x0B };
	static const uint8_t loci[11] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0xf1, 0x10, 0xff, 0xfe, 0xff, 0x01 };
	file(b, 0xB4, fd_loci, sizeof(fd_loci), loci, sizeof(loci));
	/* EF.AD: normal operation, MNC of 2 digits (TS 31.102 4.2.18) */
	static const uint8_t fd_ad[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0xAD, 0x8B, 0x03, 0x2F, 0x06, 0x02 };
	static const uint8_t ad[4] = { 0x00, 0x00, 0x00, 0x02 };
	file(b, 0xB5, fd_ad, sizeof(fd_ad), ad, 4);
	/* EF.ECC: one record, 112, no alpha identifier, no category (TS 31.102 4.2.21) */
	static const uint8_t fd_ecc[] = { 0x82, 0x04, 0x42, 0x21, 0x00, 0x04, 0x83, 0x02, 0x6F,
					  0xB7, 0x8B, 0x03, 0x2F, 0x06, 0x01, 0x80, 0x01, 0x04 };
	static const uint8_t ecc[4] = { 0x11, 0xF2, 0xFF, 0x00 };
	file(b, 0xB6, fd_ecc, sizeof(fd_ecc), ecc, sizeof(ecc));
	/* EF.NETPAR: no network parameters yet (TS 31.102 4.2.53) */
	static const uint8_t fd_netpar[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0xC4,
					     0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x10 };
	uint8_t netpar[16];
	memset(netpar, 0xFF, sizeof(netpar));
	file(b, 0xB7, fd_netpar, sizeof(fd_netpar), netpar, sizeof(netpar));
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_opt_usim(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* opt-usim: [2] EF.LI, English */
	tlv_begin(b, 0xB4, &m);
	pe_header(b, id++);
	tlv_put(b, 0x81, oid_optusim, 6);
	static const uint8_t fd_li[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x6F, 0x05,
					 0x8B, 0x03, 0x2F, 0x06, 0x01, 0x80, 0x01, 0x02 };
	static const uint8_t li[2] = { 'e', 'n' };
	file(b, 0xA2, fd_li, sizeof(fd_li), li, sizeof(li));
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_gsm_access(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* gsm-access (service 27): [2] DF.GSM-ACCESS, [3] EF.Kc, [4] EF.KcGPRS, no key yet (KSI 07) */
	tlv_begin(b, 0xB8, &m);
	pe_header(b, id++);
	tlv_put(b, 0x81, oid_gsm_access, 6);
	static const uint8_t fd_gsma[] = {
		0x82, 0x02, 0x78, 0x21, 0x83, 0x02, 0x5F, 0x3B, 0x8B, 0x03, 0x2F, 0x06, 0x01
	};
	file(b, 0xA2, fd_gsma, sizeof(fd_gsma), NULL, 0);
	uint8_t kc[9];
	memset(kc, 0xFF, sizeof(kc));
	kc[8] = 0x07;
	static const uint8_t fd_kc[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x4F, 0x20,
					 0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x09 };
	file(b, 0xA3, fd_kc, sizeof(fd_kc), kc, sizeof(kc));
	static const uint8_t fd_kcgprs[] = { 0x82, 0x02, 0x41, 0x21, 0x83, 0x02, 0x4F, 0x52,
					     0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x09 };
	file(b, 0xA4, fd_kcgprs, sizeof(fd_kcgprs), kc, sizeof(kc));
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_gfm(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* genericFileManagement: DF.TELECOM/EF.SMSP, one record of 40 bytes, no parameter set yet */
	tlv_begin(b, 0xA1, &m);
	pe_header(b, id++);
	tlv_begin(b, 0xA1, &m2);
	tlv_begin(b, 0x30, &m3);
	static const uint8_t telecom_path[2] = { 0x7F, 0x10 };
	tlv_put(b, 0x80, telecom_path, 2);
	static const uint8_t fcp_smsp[] = { 0x82, 0x04, 0x42, 0x21, 0x00, 0x28, 0x83, 0x02, 0x6F,
					    0x42, 0x8B, 0x03, 0x2F, 0x06, 0x03, 0x80, 0x01, 0x28 };
	tlv_put(b, 0x62, fcp_smsp, sizeof(fcp_smsp));
	tlv_end(b, m3);
	tlv_end(b, m2);
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_aka(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* akaParameter: MILENAGE (algorithmID 1), K, OPc */
	tlv_begin(b, 0xA4, &m);
	pe_header(b, id++);
	tlv_begin(b, 0xA1, &m2);
	tlv_begin(b, 0xA1, &m3);
	tlv_put_u8(b, 0x80, 0x01);
	tlv_put_u8(b, 0x81, 0x02);
	tlv_put(b, 0x82, p->k, 16);
	tlv_put(b, 0x83, p->opc, 16);
	tlv_end(b, m3);
	tlv_end(b, m2);
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

static void put_end(abuf *b, uint8_t *idp, size_t *mp, const gen_in *g)
{
	const profile_params *p = g->p;
	const uint8_t *pin = g->pin, *puk = g->puk, *adm1 = g->adm1;
	size_t m = *mp, m2 = 0, m3 = 0, m4 = 0, k = 0;
	uint8_t id = *idp;
	/* end */
	tlv_begin(b, 0xAA, &m);
	pe_header(b, id++);
	tlv_end(b, m);
	*idp = id;
	*mp = m;
	(void)p, (void)pin, (void)puk, (void)adm1, (void)m2, (void)m3, (void)m4, (void)k;
}

int profile_build(const profile_params *p, abuf *out, char *why, size_t why_len)
{
	if (!p->iccid || iccid_check(p->iccid)) {
		snprintf(why, why_len, "--iccid %s: not 19-20 digits with a valid Luhn check digit",
			 p->iccid ? p->iccid : "");
		return -1;
	}
	if (p->spn &&
	    (strlen(p->spn) > 16 ||
	     strspn(p->spn, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -.") != strlen(p->spn))) {
		snprintf(why, why_len, "--spn '%s': up to 16 letters, digits, spaces, '-' or '.'", p->spn);
		return -1;
	}
	if (!p->imsi || digits(p->imsi, 6, 15)) {
		snprintf(why, why_len, "--imsi %s: expected 6 to 15 digits", p->imsi ? p->imsi : "");
		return -1;
	}
	/* PINs: digits, 'FF' padded to 8 bytes (TS 102 221 9.5.2); the PUK is 8 digits */
	uint8_t pin[8], puk[8], adm1[8];
	const char *pin_s = p->pin ? p->pin : "0000", *puk_s = p->puk ? p->puk : "11111111";
	if (digits(pin_s, 4, 8)) {
		snprintf(why, why_len, "--pin %s: expected 4 to 8 digits", pin_s);
		return -1;
	}
	if (digits(puk_s, 8, 8)) {
		snprintf(why, why_len, "--puk %s: expected 8 digits", puk_s);
		return -1;
	}
	memset(pin, 0xff, 8);
	memcpy(pin, pin_s, strlen(pin_s));
	memcpy(puk, puk_s, 8);
	memcpy(adm1, "55555555", 8);
	abuf b = ABUF_INIT;
	size_t m = 0;
	uint8_t id = 1;
	const gen_in g = { p, pin, puk, adm1 };
	static void (*const elements[])(abuf *, uint8_t *, size_t *, const gen_in *) = {
		put_header,   put_mf,	    put_puk_codes,  put_pin_codes, put_telecom, put_usim_adf,
		put_usim_efs, put_opt_usim, put_gsm_access, put_gfm,	   put_aka,	put_end,
	};
	for (size_t i = 0; i < sizeof(elements) / sizeof(elements[0]); i++)
		elements[i](&b, &id, &m, &g);
	int rc = b.err ? -1 : (abuf_put(out, b.p, b.len) ? -1 : 0);
	if (rc)
		snprintf(why, why_len, "cannot encode the package: %s", apdu_strerror(b.err));
	abuf_free(&b);
	return rc;
}

static void bcd_digits(const uint8_t *v, size_t len, bool swapped, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < 2 * len && n + 1 < cap; i++) {
		uint8_t nib = swapped ? ((i % 2 == 0) ? (v[i / 2] & 0x0f) : (v[i / 2] >> 4))
				      : ((i % 2 == 0) ? (v[i / 2] >> 4) : (v[i / 2] & 0x0f));
		if (nib > 9)
			break;
		out[n++] = (char)('0' + nib);
	}
	out[n] = '\0';
}

/* bytes as a JSON hex string ("" when out of memory) */
static json_t *hex_string(const uint8_t *p, size_t len)
{
	char *h = hex_encode_alloc(p, len);
	json_t *s = json_string(h ? h : "");
	free(h);
	return s;
}

/* the files of a file-system element: FID, element, initial contents */
static void describe_files(const tlv *pe, json_t *files)
{
	acur fc = acur_make(pe->value, pe->len);
	tlv item, fd, fid, content;
	while (fc.len && !tlv_next(&fc, &item)) {
		if (!item.constructed || tlv_find(item.value, item.len, 0xA1, &fd) ||
		    tlv_find(fd.value, fd.len, 0x83, &fid) || fid.len != 2)
			continue;
		char fh[5];
		snprintf(fh, sizeof(fh), "%02x%02x", fid.value[0], fid.value[1]);
		json_t *fo = json_pack("{s:s,s:s}", "fid", fh, "element", profile_element_name(pe->tag));
		if (!tlv_find(item.value, item.len, 0x83, &content)) {
			json_object_set_new(fo, "content", hex_string(content.value, content.len));
		}
		json_array_append_new(files, fo);
	}
}

/* EF.IMSI of the usim element: the file whose descriptor names FID 6F07, its 83 content */
static void describe_imsi(const tlv *pe, char *imsi, size_t cap)
{
	tlv f, v;
	acur u = acur_make(pe->value, pe->len);
	while (u.len && !tlv_next(&u, &f)) {
		tlv fd, fid;
		if (!tlv_find(f.value, f.len, 0xA1, &fd) && !tlv_find(fd.value, fd.len, 0x83, &fid) && fid.len == 2 &&
		    fid.value[0] == 0x6F && fid.value[1] == 0x07 && !tlv_find(f.value, f.len, 0x83, &v) && v.len == 9) {
			bcd_digits(v.value + 1, 8, true, imsi, cap);
			memmove(imsi, imsi + 1, strlen(imsi)); /* drop the parity nibble */
		}
	}
}

/* K and OPc of the akaParameter element (only when secrets are asked for) */
static void describe_keys(const tlv *pe, json_t *o)
{
	tlv a1, a2, kk, op;
	if (!tlv_find(pe->value, pe->len, 0xA1, &a1) && !tlv_find(a1.value, a1.len, 0xA1, &a2)) {
		if (!tlv_find(a2.value, a2.len, 0x82, &kk))
			json_object_set_new(o, "k", hex_string(kk.value, kk.len));
		if (!tlv_find(a2.value, a2.len, 0x83, &op))
			json_object_set_new(o, "opc", hex_string(op.value, op.len));
	}
}

json_t *profile_describe(const uint8_t *pkg, size_t len, bool secrets, char *why, size_t why_len)
{
	acur c = acur_make(pkg, len);
	json_t *els = json_array(), *o = json_object(), *files = json_array();
	char iccid[24] = "", imsi[20] = "";
	bool end = false;
	size_t idx = 0;
	while (c.len) {
		tlv pe;
		apdu_err e = tlv_next(&c, &pe);
		if (e) {
			snprintf(why, why_len, "element %zu at offset %zu: %s", idx, (size_t)(c.p - pkg),
				 apdu_strerror(e));
			goto bad;
		}
		if (idx == 0 && pe.tag != 0xA0) {
			snprintf(why, why_len, "the first element is %s, not the header", profile_element_name(pe.tag));
			goto bad;
		}
		if (end) {
			snprintf(why, why_len, "element %zu follows the end element", idx);
			goto bad;
		}
		if (idx > 0 && pe.tag == 0xA0) {
			snprintf(why, why_len, "element %zu is a second header", idx);
			goto bad;
		}
		char tag[8];
		snprintf(tag, sizeof(tag), "%02x", (unsigned)pe.tag);
		json_array_append_new(els,
				      json_pack("{s:s,s:s,s:I}", "tag", tag, "name", profile_element_name(pe.tag),
						"bytes", (json_int_t)pe.raw_len));
		tlv t;
		if (pe.tag == 0xA0 && !tlv_find(pe.value, pe.len, 0x83, &t) && t.len == 10)
			bcd_digits(t.value, 10, false, iccid, sizeof(iccid));
		if (pe.tag >= 0xB0 && pe.tag <= 0xBF) /* every file-system element */
			describe_files(&pe, files);
		if (pe.tag == 0xB3)
			describe_imsi(&pe, imsi, sizeof(imsi));
		if (pe.tag == 0xA4 && secrets)
			describe_keys(&pe, o);
		if (pe.tag == 0xAA)
			end = true;
		idx++;
	}
	if (!end) {
		snprintf(why, why_len, "no end element: the package is truncated");
		goto bad;
	}
	if (!iccid[0] || iccid_check(iccid)) {
		snprintf(why, why_len, "the header's ICCID (tag 83) is missing or its check digit is wrong");
		goto bad;
	}
	json_object_set_new(o, "iccid", json_string(iccid));
	json_object_set_new(o, "imsi", imsi[0] ? json_string(imsi) : json_null());
	json_object_set_new(o, "elements", els);
	json_object_set_new(o, "files", files);
	json_object_set_new(o, "bytes", json_integer((json_int_t)len));
	return o;
bad:
	json_decref(files);
	json_decref(els);
	json_decref(o);
	return NULL;
}
