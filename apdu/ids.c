/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "apdu/ids.h"

static apdu_err all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return APDU_E_HEX_DIGIT;
	return APDU_OK;
}

/* ISO 7064 MOD 97-10 over a digit string: value mod 97, one digit at a time. */
static unsigned mod97(const char *s, size_t n)
{
	unsigned r = 0;
	for (size_t i = 0; i < n; i++)
		r = (r * 10 + (unsigned)(s[i] - '0')) % 97;
	return r;
}

apdu_err eid_check(const char *eid)
{
	if (strlen(eid) != EID_DIGITS)
		return APDU_E_BAD_LENGTH;
	apdu_err e = all_digits(eid, EID_DIGITS);
	if (e)
		return e;
	return mod97(eid, EID_DIGITS) == 1 ? APDU_OK : APDU_E_CHECK_DIGIT;
}

apdu_err eid_complete(const char *eid, char out[EID_DIGITS + 1])
{
	size_t n = strlen(eid);
	if (n != 30 && n != 32)
		return APDU_E_BAD_LENGTH;
	apdu_err e = all_digits(eid, n);
	if (e)
		return e;
	char buf[EID_DIGITS + 1];
	memcpy(buf, eid, 30);
	buf[30] = buf[31] = '0';
	buf[32] = '\0';
	/* check = 98 - (N·100 mod 97), as for IBAN */
	unsigned c = 98 - mod97(buf, EID_DIGITS);
	buf[30] = (char)('0' + c / 10);
	buf[31] = (char)('0' + c % 10);
	memcpy(out, buf, sizeof(buf));
	return APDU_OK;
}

apdu_err eid_to_bytes(const char *eid, uint8_t out[16])
{
	if (strlen(eid) != EID_DIGITS)
		return APDU_E_BAD_LENGTH;
	apdu_err e = all_digits(eid, EID_DIGITS);
	if (e)
		return e;
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)(((eid[2 * i] - '0') << 4) | (eid[2 * i + 1] - '0'));
	return APDU_OK;
}

apdu_err luhn_digit(const char *digits, char *out)
{
	size_t n = strlen(digits);
	if (n == 0)
		return APDU_E_BAD_LENGTH;
	apdu_err e = all_digits(digits, n);
	if (e)
		return e;
	unsigned sum = 0;
	/* double every second digit counting from the right, starting with the rightmost */
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[n - 1 - i] - '0');
		if (i % 2 == 0) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	*out = (char)('0' + (10 - sum % 10) % 10);
	return APDU_OK;
}

apdu_err iccid_check(const char *iccid)
{
	size_t n = strlen(iccid);
	if (n < 19 || n > 20)
		return APDU_E_BAD_LENGTH;
	apdu_err e = all_digits(iccid, n);
	if (e)
		return e;
	char body[20], c;
	memcpy(body, iccid, n - 1);
	body[n - 1] = '\0';
	if ((e = luhn_digit(body, &c)))
		return e;
	return c == iccid[n - 1] ? APDU_OK : APDU_E_CHECK_DIGIT;
}

apdu_err iccid_to_bcd(const char *iccid, uint8_t out[10])
{
	size_t n = strlen(iccid);
	if (n < 1 || n > 20)
		return APDU_E_BAD_LENGTH;
	apdu_err e = all_digits(iccid, n);
	if (e)
		return e;
	for (size_t i = 0; i < 10; i++) {
		uint8_t lo = 2 * i < n ? (uint8_t)(iccid[2 * i] - '0') : 0x0f;
		uint8_t hi = 2 * i + 1 < n ? (uint8_t)(iccid[2 * i + 1] - '0') : 0x0f;
		out[i] = (uint8_t)((hi << 4) | lo);
	}
	return APDU_OK;
}

apdu_err iccid_from_bcd(const uint8_t in[10], char out[21])
{
	char buf[21];
	size_t n = 0;
	for (size_t i = 0; i < 20; i++) {
		uint8_t d = (i % 2 == 0) ? (in[i / 2] & 0x0f) : (in[i / 2] >> 4);
		if (d == 0x0f) {
			/* padding only at the end */
			for (size_t j = i + 1; j < 20; j++) {
				uint8_t d2 = (j % 2 == 0) ? (in[j / 2] & 0x0f) : (in[j / 2] >> 4);
				if (d2 != 0x0f)
					return APDU_E_HEX_DIGIT;
			}
			break;
		}
		if (d > 9)
			return APDU_E_HEX_DIGIT;
		buf[n++] = (char)('0' + d);
	}
	buf[n] = '\0';
	memcpy(out, buf, n + 1);
	return APDU_OK;
}
