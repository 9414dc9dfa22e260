/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/milenage.h"

START_TEST(ts35208_sets)
{
	json_t *V = tu_vectors("milenage-ts35208.json"), *v;
	size_t i;
	ck_assert_uint_eq(json_array_size(json_object_get(V, "sets")), 6);
	json_array_foreach(json_object_get(V, "sets"), i, v)
	{
		uint8_t k[16], op[16], opc[16], rnd[16], sqn[6], amf[2];
		int set = (int)json_integer_value(json_object_get(v, "set"));
		tu_hexfix(k, 16, tu_str(v, "k"));
		tu_hexfix(op, 16, tu_str(v, "op"));
		tu_hexfix(rnd, 16, tu_str(v, "rand"));
		tu_hexfix(sqn, 6, tu_str(v, "sqn"));
		tu_hexfix(amf, 2, tu_str(v, "amf"));
		ck_assert_int_eq(milenage_opc(k, op, opc), APDU_OK);
		tu_assert_hex(opc, 16, tu_str(v, "opc"), "set %d OPc", set);
		milenage_out m;
		ck_assert_int_eq(milenage_all(k, opc, rnd, sqn, amf, &m), APDU_OK);
		tu_assert_hex(m.mac_a, 8, tu_str(v, "mac_a"), "set %d f1", set);
		tu_assert_hex(m.mac_s, 8, tu_str(v, "mac_s"), "set %d f1*", set);
		struct {
			const char *key;
			const uint8_t *p;
			size_t n;
		} f[] = {
			{ "res", m.res, 8 }, { "ck", m.ck, 16 },	  { "ik", m.ik, 16 },
			{ "ak", m.ak, 6 },   { "ak_star", m.ak_star, 6 },
		};
		int checked = 0;
		for (size_t j = 0; j < 5; j++) {
			const char *want = json_string_value(json_object_get(v, f[j].key));
			if (!want)
				continue; /* set 6 in the source lists f1, f4 and f5* only */
			tu_assert_hex(f[j].p, f[j].n, want, "set %d %s", set, f[j].key);
			checked++;
		}
		ck_assert_int_ge(checked, 2);
	}
	json_decref(V);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("milenage");
	TCase *tc = tcase_create("milenage");
	tcase_add_test(tc, ts35208_sets);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
