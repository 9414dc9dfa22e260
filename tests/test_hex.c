/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

START_TEST(decode_case_and_spaces)
{
	abuf b = ABUF_INIT;
	ck_assert_int_eq(hex_decode("0A bC:de\n0f", &b, NULL), APDU_OK);
	ck_assert_uint_eq(b.len, 4);
	ck_assert_int_eq(memcmp(b.p, "\x0a\xbc\xde\x0f", 4), 0);
	abuf_free(&b);
}
END_TEST

START_TEST(decode_errors_leave_output)
{
	static const struct {
		const char *in;
		apdu_err err;
		size_t pos;
	} t[] = {
		{ "0g", APDU_E_HEX_DIGIT, 1 }, { "abc", APDU_E_HEX_ODD, 3 },	{ "12 3", APDU_E_HEX_ODD, 4 },
		{ "zz", APDU_E_HEX_DIGIT, 0 }, { "0x12", APDU_E_HEX_DIGIT, 1 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		abuf b = ABUF_INIT;
		abuf_put(&b, "\x55", 1);
		size_t pos = 99;
		ck_assert_int_eq(hex_decode(t[i].in, &b, &pos), t[i].err);
		ck_assert_uint_eq(pos, t[i].pos);
		ck_assert_uint_eq(b.len, 1);
		ck_assert_uint_eq(b.p[0], 0x55);
		abuf_free(&b);
	}
}
END_TEST

START_TEST(decode_exact)
{
	uint8_t out[3] = { 1, 2, 3 };
	ck_assert_int_eq(hex_decode_exact("aabb", out, 3), APDU_E_BAD_LENGTH);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_int_eq(hex_decode_exact("AABBCC", out, 3), APDU_OK);
	ck_assert_uint_eq(out[2], 0xcc);
}
END_TEST

START_TEST(encode_roundtrip)
{
	uint8_t all[256];
	char s[513];
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	hex_encode(all, 256, s);
	ck_assert_uint_eq(strlen(s), 512);
	ck_assert_str_eq(s + 508, "feff");
	abuf b = ABUF_INIT;
	ck_assert_int_eq(hex_decode(s, &b, NULL), APDU_OK);
	ck_assert_int_eq(memcmp(b.p, all, 256), 0);
	abuf_free(&b);
}
END_TEST

START_TEST(abuf_growth_and_limits)
{
	abuf b = ABUF_INIT;
	for (int i = 0; i < 10000; i++)
		ck_assert_int_eq(abuf_put_u8(&b, (uint8_t)i), APDU_OK);
	ck_assert_uint_eq(b.len, 10000);
	ck_assert_uint_eq(b.p[9999], (uint8_t)9999);
	ck_assert_int_eq(abuf_insert(&b, 1, "xy", 2), APDU_OK);
	ck_assert_uint_eq(b.p[1], 'x');
	ck_assert_uint_eq(b.p[3], 1);
	ck_assert_int_eq(abuf_reserve(&b, ABUF_MAX), APDU_E_NOMEM);
	/* the error sticks: later puts do nothing */
	ck_assert_int_eq(abuf_put_u8(&b, 1), APDU_E_NOMEM);
	ck_assert_uint_eq(b.len, 10002);
	abuf_reset(&b);
	ck_assert_int_eq(abuf_put_u16(&b, 0x1234), APDU_OK);
	ck_assert_uint_eq(b.p[0], 0x12);
	abuf_truncate(&b, 1);
	ck_assert_uint_eq(b.len, 1);
	abuf_free(&b);
	abuf_free(NULL);
}
END_TEST

START_TEST(cursor_checks)
{
	const uint8_t d[3] = { 1, 2, 3 };
	acur c = acur_make(d, 3);
	const uint8_t *p;
	uint16_t v;
	ck_assert_int_eq(acur_take(&c, 4, &p), APDU_E_TRUNC_VALUE);
	ck_assert_uint_eq(c.len, 3);
	ck_assert_int_eq(acur_u16(&c, &v), APDU_OK);
	ck_assert_uint_eq(v, 0x0102);
	ck_assert_int_eq(acur_u16(&c, &v), APDU_E_TRUNC_HEADER);
	ck_assert_uint_eq(c.len, 1);
	ck_assert_int_eq(acur_take(&c, SIZE_MAX, &p), APDU_E_TRUNC_VALUE);
}
END_TEST

START_TEST(strerror_total)
{
	for (int i = 0; i < APDU_E__COUNT; i++)
		ck_assert_str_ne(apdu_strerror((apdu_err)i), "unknown error");
	ck_assert_str_eq(apdu_strerror((apdu_err)999), "unknown error");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("hex");
	TCase *tc = tcase_create("hex");
	tcase_add_test(tc, decode_case_and_spaces);
	tcase_add_test(tc, decode_errors_leave_output);
	tcase_add_test(tc, decode_exact);
	tcase_add_test(tc, encode_roundtrip);
	tcase_add_test(tc, abuf_growth_and_limits);
	tcase_add_test(tc, cursor_checks);
	tcase_add_test(tc, strerror_total);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
