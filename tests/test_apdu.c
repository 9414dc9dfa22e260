/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/apdu.h"

static const struct {
	const char *hex;
	apdu_err err;
	apdu_case cse;
	size_t lc, le;
} parse_table[] = {
	{ "", APDU_E_TRUNC_HEADER, 0, 0, 0 },
	{ "00a4", APDU_E_TRUNC_HEADER, 0, 0, 0 },
	{ "00a40400", APDU_OK, APDU_CASE_1, 0, 0 },
	{ "00b0000010", APDU_OK, APDU_CASE_2S, 0, 16 },
	{ "00b0000000", APDU_OK, APDU_CASE_2S, 0, 256 },
	{ "00a40004023f00", APDU_OK, APDU_CASE_3S, 2, 0 },
	{ "00a40004023f0000", APDU_OK, APDU_CASE_4S, 2, 256 },
	{ "00a40004023f0012", APDU_OK, APDU_CASE_4S, 2, 0x12 },
	{ "00a40004033f00", APDU_E_TRUNC_VALUE, 0, 0, 0 },
	{ "00a40004013f0000", APDU_E_TRAILING, 0, 0, 0 },
	{ "00b0000000ffff", APDU_OK, APDU_CASE_2E, 0, 0xffff },
	{ "00b00000000000", APDU_OK, APDU_CASE_2E, 0, 65536 },
	{ "00d60000000002aabb", APDU_OK, APDU_CASE_3E, 2, 0 },
	{ "00d60000000002aabb0100", APDU_OK, APDU_CASE_4E, 2, 256 },
	{ "00d60000000002aabb0000", APDU_OK, APDU_CASE_4E, 2, 65536 },
	{ "00d60000000002aabb01", APDU_E_TRUNC_VALUE, 0, 0, 0 },
	{ "00d60000000003aabb", APDU_E_TRUNC_VALUE, 0, 0, 0 },
	{ "00d60000000000aa", APDU_E_BAD_LENGTH, 0, 0, 0 },
	{ "00d6000000", APDU_OK, APDU_CASE_2S, 0, 256 },
	{ "00d600000000", APDU_E_TRUNC_HEADER, 0, 0, 0 },
	{ "00d60000000002aabb000000", APDU_E_TRAILING, 0, 0, 0 },
};

START_TEST(parse_cases)
{
	for (size_t i = 0; i < sizeof(parse_table) / sizeof(parse_table[0]); i++) {
		abuf b = ABUF_INIT;
		ck_assert_int_eq(hex_decode(parse_table[i].hex, &b, NULL), APDU_OK);
		capdu a, untouched;
		memset(&a, 0x5a, sizeof(a));
		memcpy(&untouched, &a, sizeof(a));
		apdu_err e = capdu_parse(b.p, b.len, &a);
		ck_assert_msg(e == parse_table[i].err, "%s: got %s", parse_table[i].hex, apdu_strerror(e));
		if (!e) {
			ck_assert_int_eq(a.cse, parse_table[i].cse);
			ck_assert_uint_eq(a.lc, parse_table[i].lc);
			ck_assert_uint_eq(a.le, parse_table[i].le);
			abuf enc = ABUF_INIT;
			ck_assert_int_eq(capdu_encode(&a, &enc), APDU_OK);
			ck_assert_uint_eq(enc.len, b.len);
			ck_assert_int_eq(memcmp(enc.p, b.p, b.len), 0);
			ck_assert_uint_eq(capdu_encoded_len(&a), b.len);
			abuf_free(&enc);
		} else {
			ck_assert_int_eq(memcmp(&a, &untouched, sizeof(a)), 0);
		}
		abuf_free(&b);
	}
}
END_TEST

/* Every prefix of a valid APDU, and the APDU with 1..3 extra bytes: no crash, the exact APDU parses, and
 * each failure leaves the output untouched. */
START_TEST(boundary_sweep)
{
	static const char *const valid[] = { "80e2910006bf3e035c015a00", "00d60000000004a1a2a3a40010" };
	for (size_t v = 0; v < 2; v++) {
		abuf b = ABUF_INIT;
		ck_assert_int_eq(hex_decode(valid[v], &b, NULL), APDU_OK);
		size_t n = b.len;
		abuf_fill(&b, 0xee, 3);
		for (size_t len = 0; len <= n + 3; len++) {
			capdu a;
			memset(&a, 0x77, sizeof(a));
			apdu_err e = capdu_parse(b.p, len, &a);
			if (len == n) {
				ck_assert_int_eq(e, APDU_OK);
			} else if (e) {
				ck_assert_uint_eq(a.cla, 0x77);
				ck_assert_uint_eq(a.lc, (size_t)0x7777777777777777ull);
			} else {
				/* a shorter prefix may be another valid APDU (e.g. case 2S); it must re-encode exactly */
				abuf enc = ABUF_INIT;
				ck_assert_int_eq(capdu_encode(&a, &enc), APDU_OK);
				ck_assert_uint_eq(enc.len, len);
				abuf_free(&enc);
			}
		}
		abuf_free(&b);
	}
}
END_TEST

START_TEST(validator_and_make)
{
	capdu a;
	uint8_t data[300];
	memset(data, 0xab, sizeof(data));
	ck_assert_int_eq(capdu_make(&a, 0x80, 0xe2, 0x91, 0x00, data, 6, 256), APDU_OK);
	ck_assert_int_eq(a.cse, APDU_CASE_4S);
	ck_assert_int_eq(capdu_make(&a, 0x80, 0xe2, 0x91, 0x00, data, 300, 0), APDU_OK);
	ck_assert_int_eq(a.cse, APDU_CASE_3E);
	ck_assert_int_eq(capdu_make(&a, 0x00, 0xb0, 0, 0, NULL, 0, 257), APDU_OK);
	ck_assert_int_eq(a.cse, APDU_CASE_2E);
	ck_assert_int_eq(capdu_make(&a, 0x00, 0xb0, 0, 0, NULL, 0, 65537), APDU_E_BAD_CASE);
	ck_assert_int_eq(capdu_make(&a, 0x00, 0xb0, 0, 0, NULL, 0, 0), APDU_OK);
	ck_assert_int_eq(a.cse, APDU_CASE_1);
	/* inconsistent models are refused by the one validator, and the encoder appends nothing */
	capdu bad = { .cse = APDU_CASE_3S, .lc = 0, .data = NULL };
	ck_assert_int_eq(capdu_validate(&bad), APDU_E_BAD_CASE);
	bad.cse = APDU_CASE_2S;
	bad.le = 257;
	ck_assert_int_eq(capdu_validate(&bad), APDU_E_BAD_CASE);
	bad.cse = (apdu_case)42;
	ck_assert_int_eq(capdu_validate(&bad), APDU_E_BAD_CASE);
	abuf out = ABUF_INIT;
	ck_assert_int_eq(capdu_encode(&bad, &out), APDU_E_BAD_CASE);
	ck_assert_uint_eq(out.len, 0);
	ck_assert_str_eq(apdu_case_name(APDU_CASE_4E), "4E");
	abuf_free(&out);
}
END_TEST

START_TEST(rapdu_split)
{
	rapdu r;
	const uint8_t one[1] = { 0x90 };
	ck_assert_int_eq(rapdu_parse(one, 1, &r), APDU_E_TRUNC_HEADER);
	const uint8_t ok[4] = { 0xaa, 0xbb, 0x61, 0x32 };
	ck_assert_int_eq(rapdu_parse(ok, 4, &r), APDU_OK);
	ck_assert_uint_eq(r.sw, 0x6132);
	ck_assert_uint_eq(r.len, 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("apdu");
	TCase *tc = tcase_create("apdu");
	tcase_add_test(tc, parse_cases);
	tcase_add_test(tc, boundary_sweep);
	tcase_add_test(tc, validator_and_make);
	tcase_add_test(tc, rapdu_split);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
