/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/ids.h"

START_TEST(eid_vectors)
{
	json_t *V = tu_vectors("ids.json"), *v;
	size_t i;
	json_array_foreach(json_object_get(V, "eid_valid"), i, v)
		ck_assert_msg(eid_check(json_string_value(v)) == APDU_OK, "%s", json_string_value(v));
	json_array_foreach(json_object_get(V, "eid_invalid"), i, v)
		ck_assert_int_eq(eid_check(json_string_value(v)), APDU_E_CHECK_DIGIT);
	json_array_foreach(json_object_get(V, "eid_complete"), i, v)
	{
		char out[33];
		ck_assert_int_eq(eid_complete(tu_str(v, "in"), out), APDU_OK);
		ck_assert_str_eq(out, tu_str(v, "out"));
	}
	json_array_foreach(json_object_get(V, "iccid_valid"), i, v)
		ck_assert_int_eq(iccid_check(json_string_value(v)), APDU_OK);
	json_array_foreach(json_object_get(V, "iccid_invalid"), i, v)
		ck_assert_int_eq(iccid_check(json_string_value(v)), APDU_E_CHECK_DIGIT);
	json_array_foreach(json_object_get(V, "luhn"), i, v)
	{
		char d;
		ck_assert_int_eq(luhn_digit(tu_str(v, "in"), &d), APDU_OK);
		ck_assert_int_eq(d, tu_str(v, "digit")[0]);
	}
	json_decref(V);
}
END_TEST

START_TEST(bad_input)
{
	char out[33] = "untouched";
	ck_assert_int_eq(eid_check("8904903212345123451234567890123"), APDU_E_BAD_LENGTH);
	ck_assert_int_eq(eid_check("8904903212345123451234567890123a"), APDU_E_HEX_DIGIT);
	ck_assert_int_eq(eid_complete("123", out), APDU_E_BAD_LENGTH);
	ck_assert_str_eq(out, "untouched");
	ck_assert_int_eq(iccid_check("898821100000046728"), APDU_E_BAD_LENGTH);
	ck_assert_int_eq(iccid_check("89882110000004672 5"), APDU_E_HEX_DIGIT);
	/* every single-digit change of a valid EID is caught by MOD 97-10 */
	char e[33] = "89049032123451234512345678901235";
	for (int pos = 0; pos < 32; pos++) {
		char orig = e[pos];
		for (char d = '0'; d <= '9'; d++) {
			if (d == orig)
				continue;
			e[pos] = d;
			ck_assert_int_eq(eid_check(e), APDU_E_CHECK_DIGIT);
		}
		e[pos] = orig;
	}
}
END_TEST

START_TEST(bcd)
{
	uint8_t b[10], eid[16];
	char back[21];
	ck_assert_int_eq(iccid_to_bcd("8988211000000467285", b), APDU_OK);
	tu_assert_hex(b, 10, "988812010000407682f5", "swapped BCD, F padded");
	ck_assert_uint_eq(b[9], 0xf5);
	ck_assert_int_eq(iccid_from_bcd(b, back), APDU_OK);
	ck_assert_str_eq(back, "8988211000000467285");
	b[3] = 0xaf;
	ck_assert_int_ne(iccid_from_bcd(b, back), APDU_OK);
	ck_assert_str_eq(back, "8988211000000467285");
	ck_assert_int_eq(eid_to_bytes("89049032123451234512345678901235", eid), APDU_OK);
	tu_assert_hex(eid, 16, "89049032123451234512345678901235", "EID bytes");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ids");
	TCase *tc = tcase_create("ids");
	tcase_add_test(tc, eid_vectors);
	tcase_add_test(tc, bad_input);
	tcase_add_test(tc, bcd);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
