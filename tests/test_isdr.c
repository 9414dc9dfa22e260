/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ISD-R state machine as a table: every ES5 function against an ISD-P in every life-cycle state, with
 * the expected status word and the state after. Each row starts from a fresh card. */
#include "testutil.h"
#include "cardutil.h"

enum { ST_NONE, ST_SELECTABLE, ST_PERSONALIZED, ST_DISABLED, ST_ENABLED };
static const char *const st_name[] = { "none", "selectable", "personalized", "disabled", "enabled" };
enum { F_ENABLE, F_DISABLE, F_FALLBACK, F_EMERGENCY, F_DELETE, F_CREATE_SAME };
static const char *const f_name[] = { "enable", "disable", "set-fallback", "set-emergency", "delete", "create" };

/* expected SW and resulting state of ISD-P 1 (a fall-back profile 0 is enabled when 1 is not) */
static const struct {
	int state, fn;
	uint16_t sw;
	int after;
} table[] = {
	{ ST_NONE, F_ENABLE, 0x6A88, ST_NONE },
	{ ST_NONE, F_DISABLE, 0x6A88, ST_NONE },
	{ ST_NONE, F_FALLBACK, 0x6A88, ST_NONE },
	{ ST_NONE, F_EMERGENCY, 0x6A88, ST_NONE },
	{ ST_NONE, F_DELETE, 0x6A88, ST_NONE },
	{ ST_NONE, F_CREATE_SAME, 0x9000, ST_SELECTABLE },
	{ ST_SELECTABLE, F_ENABLE, 0x6985, ST_SELECTABLE },
	{ ST_SELECTABLE, F_DISABLE, 0x6985, ST_SELECTABLE },
	{ ST_SELECTABLE, F_FALLBACK, 0x6985, ST_SELECTABLE },
	{ ST_SELECTABLE, F_EMERGENCY, 0x6985, ST_SELECTABLE },
	{ ST_SELECTABLE, F_DELETE, 0x9000, ST_NONE },
	{ ST_SELECTABLE, F_CREATE_SAME, 0x6985, ST_SELECTABLE },
	{ ST_PERSONALIZED, F_ENABLE, 0x6985, ST_PERSONALIZED },
	{ ST_PERSONALIZED, F_DISABLE, 0x6985, ST_PERSONALIZED },
	{ ST_PERSONALIZED, F_FALLBACK, 0x6985, ST_PERSONALIZED },
	{ ST_PERSONALIZED, F_EMERGENCY, 0x6985, ST_PERSONALIZED },
	{ ST_PERSONALIZED, F_DELETE, 0x9000, ST_NONE },
	{ ST_PERSONALIZED, F_CREATE_SAME, 0x6985, ST_PERSONALIZED },
	{ ST_DISABLED, F_ENABLE, 0x9000, ST_ENABLED },
	{ ST_DISABLED, F_DISABLE, 0x6985, ST_DISABLED },
	{ ST_DISABLED, F_FALLBACK, 0x9000, ST_DISABLED },
	{ ST_DISABLED, F_EMERGENCY, 0x9000, ST_DISABLED },
	{ ST_DISABLED, F_DELETE, 0x9000, ST_NONE },
	{ ST_DISABLED, F_CREATE_SAME, 0x6985, ST_DISABLED },
	{ ST_ENABLED, F_ENABLE, 0x6985, ST_ENABLED },
	{ ST_ENABLED, F_DISABLE, 0x9000, ST_DISABLED }, /* the fall-back profile 0 takes over */
	{ ST_ENABLED, F_FALLBACK, 0x9000, ST_ENABLED },
	{ ST_ENABLED, F_EMERGENCY, 0x9000, ST_ENABLED },
	{ ST_ENABLED, F_DELETE, 0x6985, ST_ENABLED },
	{ ST_ENABLED, F_CREATE_SAME, 0x6985, ST_ENABLED },
};

static int state_of(cu_fixture *f, int n)
{
	json_t *s = euicc_show(f->card, false), *p;
	size_t i;
	uint8_t aid[16];
	char ah[33];
	cu_isdp_aid(aid, n);
	hex_encode(aid, 16, ah);
	int st = ST_NONE;
	json_array_foreach(json_object_get(s, "profiles"), i, p)
	{
		if (strcmp(json_string_value(json_object_get(p, "aid")), ah))
			continue;
		const char *name = json_string_value(json_object_get(p, "state"));
		for (int k = 0; k < 5; k++)
			if (!strcmp(name, st_name[k]))
				st = k;
	}
	json_decref(s);
	return st;
}

static int enabled_count(cu_fixture *f)
{
	json_t *s = euicc_show(f->card, false), *p;
	size_t i;
	int n = 0;
	json_array_foreach(json_object_get(s, "profiles"), i, p)
		n += !strcmp(json_string_value(json_object_get(p, "state")), "enabled");
	json_decref(s);
	return n;
}

START_TEST(state_table)
{
	size_t row = (size_t)_i;
	cu_fixture f;
	ck_assert_int_eq(cu_setup(&f, 3), 0);
	ck_assert_int_eq(dev_attach(&f.host), 0);
	/* profile 0: installed, enabled, fall-back */
	ck_assert_int_eq(cu_install(&f, 0, "8949449999999990015"), 0);
	ck_assert_uint_eq(cu_store(&f, 0x3A03, 0), 0x9000);
	ck_assert_uint_eq(cu_store(&f, 0x3A05, 0), 0x9000);
	/* profile 1 in the row's state */
	int want = table[row].state;
	uint8_t aid[16];
	cu_isdp_aid(aid, 1);
	if (want >= ST_SELECTABLE)
		ck_assert_uint_eq(cu_create(&f, 1), 0x9000);
	if (want == ST_PERSONALIZED)
		ck_assert_int_eq(smdp_download(&f.host, &f.pki, f.eis, aid, NULL, 0, 512), 0);
	if (want >= ST_DISABLED) {
		abuf pkg = ABUF_INIT;
		cu_package(&pkg, "8988211000000467285");
		ck_assert_int_eq(smdp_download(&f.host, &f.pki, f.eis, aid, pkg.p, pkg.len, 512), 0);
		abuf_free(&pkg);
	}
	if (want == ST_ENABLED)
		ck_assert_uint_eq(cu_store(&f, 0x3A03, 1), 0x9000);
	ck_assert_int_eq(state_of(&f, 1), want);
	uint16_t sw = 0;
	switch (table[row].fn) {
	case F_ENABLE: sw = cu_store(&f, 0x3A03, 1); break;
	case F_DISABLE: sw = cu_store(&f, 0x3A04, 1); break;
	case F_FALLBACK: sw = cu_store(&f, 0x3A05, 1); break;
	case F_EMERGENCY: sw = cu_store(&f, 0x3A06, 1); break;
	case F_DELETE: sw = cu_delete(&f, 1); break;
	case F_CREATE_SAME: sw = cu_create(&f, 1); break;
	}
	ck_assert_msg(sw == table[row].sw, "%s on %s: SW %04x, expected %04x", f_name[table[row].fn], st_name[want], sw,
		      table[row].sw);
	ck_assert_msg(state_of(&f, 1) == table[row].after, "%s on %s: state %s, expected %s", f_name[table[row].fn],
		      st_name[want], st_name[state_of(&f, 1)], st_name[table[row].after]);
	/* exactly one profile stays enabled */
	ck_assert_int_eq(enabled_count(&f), 1);
	cu_teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("isdr");
	TCase *tc = tcase_create("isdr");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, state_table, 0, (int)(sizeof(table) / sizeof(table[0])));
	suite_add_tcase(s, tc);
	return tu_run(s);
}
