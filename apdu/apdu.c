/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "apdu/apdu.h"

const char *apdu_case_name(apdu_case c)
{
	switch (c) {
	case APDU_CASE_1: return "1";
	case APDU_CASE_2S: return "2S";
	case APDU_CASE_3S: return "3S";
	case APDU_CASE_4S: return "4S";
	case APDU_CASE_2E: return "2E";
	case APDU_CASE_3E: return "3E";
	case APDU_CASE_4E: return "4E";
	}
	return "?";
}

apdu_err capdu_validate(const capdu *a)
{
	bool has_data, has_le, ext;
	switch (a->cse) {
	case APDU_CASE_1:
		has_data = false;
		has_le = false;
		ext = false;
		break;
	case APDU_CASE_2S:
		has_data = false;
		has_le = true;
		ext = false;
		break;
	case APDU_CASE_3S:
		has_data = true;
		has_le = false;
		ext = false;
		break;
	case APDU_CASE_4S:
		has_data = true;
		has_le = true;
		ext = false;
		break;
	case APDU_CASE_2E:
		has_data = false;
		has_le = true;
		ext = true;
		break;
	case APDU_CASE_3E:
		has_data = true;
		has_le = false;
		ext = true;
		break;
	case APDU_CASE_4E:
		has_data = true;
		has_le = true;
		ext = true;
		break;
	default: return APDU_E_BAD_CASE;
	}
	size_t max_nc = ext ? 65535 : 255, max_ne = ext ? 65536 : 256;
	if (has_data ? (a->lc < 1 || a->lc > max_nc || !a->data) : a->lc != 0)
		return APDU_E_BAD_CASE;
	if (has_le ? (a->le < 1 || a->le > max_ne) : a->le != 0)
		return APDU_E_BAD_CASE;
	return APDU_OK;
}

apdu_err capdu_parse(const uint8_t *buf, size_t len, capdu *out)
{
	capdu a;
	if (len < 4)
		return APDU_E_TRUNC_HEADER;
	memset(&a, 0, sizeof(a));
	a.cla = buf[0];
	a.ins = buf[1];
	a.p1 = buf[2];
	a.p2 = buf[3];
	const uint8_t *b = buf + 4;
	size_t rest = len - 4; /* bytes after the header: the body (ISO/IEC 7816-4 5.1) */

	if (rest == 0) {
		a.cse = APDU_CASE_1;
	} else if (rest == 1) {
		a.cse = APDU_CASE_2S;
		a.le = b[0] ? b[0] : 256;
	} else if (b[0] != 0) {
		size_t nc = b[0];
		if (rest < 1 + nc)
			return APDU_E_TRUNC_VALUE;
		if (rest == 1 + nc) {
			a.cse = APDU_CASE_3S;
		} else if (rest == 2 + nc) {
			a.cse = APDU_CASE_4S;
			a.le = b[1 + nc] ? b[1 + nc] : 256;
		} else {
			return APDU_E_TRAILING;
		}
		a.lc = nc;
		a.data = b + 1;
	} else if (rest == 3) {
		a.cse = APDU_CASE_2E;
		size_t ne = ((size_t)b[1] << 8) | b[2];
		a.le = ne ? ne : 65536;
	} else {
		if (rest < 3)
			return APDU_E_TRUNC_HEADER; /* '00' announces an extended length that is cut short */
		size_t nc = ((size_t)b[1] << 8) | b[2];
		if (nc == 0)
			return APDU_E_BAD_LENGTH;
		if (rest < 3 + nc)
			return APDU_E_TRUNC_VALUE;
		if (rest == 3 + nc) {
			a.cse = APDU_CASE_3E;
		} else if (rest == 5 + nc) {
			a.cse = APDU_CASE_4E;
			size_t ne = ((size_t)b[3 + nc] << 8) | b[4 + nc];
			a.le = ne ? ne : 65536;
		} else if (rest == 4 + nc) {
			return APDU_E_TRUNC_VALUE; /* one byte of a two-byte Le */
		} else {
			return APDU_E_TRAILING;
		}
		a.lc = nc;
		a.data = b + 3;
	}
	apdu_err e = capdu_validate(&a);
	if (e)
		return e;
	*out = a;
	return APDU_OK;
}

apdu_err capdu_make(capdu *out, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2, const uint8_t *data, size_t lc,
		    size_t le)
{
	capdu a = { .cla = cla, .ins = ins, .p1 = p1, .p2 = p2, .data = lc ? data : NULL, .lc = lc, .le = le };
	bool ext = lc > 255 || le > 256;
	if (lc && le)
		a.cse = ext ? APDU_CASE_4E : APDU_CASE_4S;
	else if (lc)
		a.cse = ext ? APDU_CASE_3E : APDU_CASE_3S;
	else if (le)
		a.cse = ext ? APDU_CASE_2E : APDU_CASE_2S;
	else
		a.cse = APDU_CASE_1;
	apdu_err e = capdu_validate(&a);
	if (e)
		return e;
	*out = a;
	return APDU_OK;
}

size_t capdu_encoded_len(const capdu *a)
{
	switch (a->cse) {
	case APDU_CASE_1: return 4;
	case APDU_CASE_2S: return 5;
	case APDU_CASE_3S: return 5 + a->lc;
	case APDU_CASE_4S: return 6 + a->lc;
	case APDU_CASE_2E: return 7;
	case APDU_CASE_3E: return 7 + a->lc;
	case APDU_CASE_4E: return 9 + a->lc;
	}
	return 0;
}

apdu_err capdu_encode(const capdu *a, abuf *out)
{
	apdu_err e = capdu_validate(a);
	if (e)
		return e;
	e = abuf_reserve(out, capdu_encoded_len(a));
	if (e)
		return e;
	uint8_t hdr[4] = { a->cla, a->ins, a->p1, a->p2 };
	abuf_put(out, hdr, 4);
	switch (a->cse) {
	case APDU_CASE_1: break;
	case APDU_CASE_2S: abuf_put_u8(out, (uint8_t)(a->le & 0xff)); break;
	case APDU_CASE_3S:
	case APDU_CASE_4S:
		abuf_put_u8(out, (uint8_t)a->lc);
		abuf_put(out, a->data, a->lc);
		if (a->cse == APDU_CASE_4S)
			abuf_put_u8(out, (uint8_t)(a->le & 0xff));
		break;
	case APDU_CASE_2E:
		abuf_put_u8(out, 0);
		abuf_put_u16(out, (uint16_t)(a->le & 0xffff));
		break;
	case APDU_CASE_3E:
	case APDU_CASE_4E:
		abuf_put_u8(out, 0);
		abuf_put_u16(out, (uint16_t)a->lc);
		abuf_put(out, a->data, a->lc);
		if (a->cse == APDU_CASE_4E)
			abuf_put_u16(out, (uint16_t)(a->le & 0xffff));
		break;
	}
	return out->err;
}

apdu_err rapdu_parse(const uint8_t *buf, size_t len, rapdu *out)
{
	if (len < 2)
		return APDU_E_TRUNC_HEADER;
	out->data = buf;
	out->len = len - 2;
	out->sw = (uint16_t)((buf[len - 2] << 8) | buf[len - 1]);
	return APDU_OK;
}
