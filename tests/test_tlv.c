/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/tlv.h"

START_TEST(ber_parse_table)
{
	static const struct {
		const char *hex;
		apdu_err err;
		uint32_t tag;
		size_t len;
	} t[] = {
		{ "5a021234", APDU_OK, 0x5a, 2 },
		{ "bf3003 5c015a", APDU_OK, 0xbf30, 3 },
		{ "7f2100", APDU_OK, 0x7f21, 0 },
		{ "5f3781 80", APDU_E_TRUNC_VALUE, 0, 0 },
		{ "9f7001 07", APDU_OK, 0x9f70, 1 },
		{ "df810101 aa", APDU_OK, 0xdf8101, 1 },
		{ "df81818101 aa", APDU_E_BAD_TAG, 0, 0 }, /* 4-byte tag */
		{ "df81", APDU_E_TRUNC_HEADER, 0, 0 },
		{ "04 8100", APDU_OK, 0x04, 0 },
		{ "04 820001 ff", APDU_OK, 0x04, 1 },
		{ "04 83000001 ff", APDU_OK, 0x04, 1 },
		{ "04 8400000001 ff", APDU_E_BAD_LENGTH, 0, 0 },
		{ "04 80 ff 0000", APDU_E_BAD_LENGTH, 0, 0 }, /* indefinite */
		{ "04 82 00", APDU_E_TRUNC_HEADER, 0, 0 },
		{ "04", APDU_E_TRUNC_HEADER, 0, 0 },
		{ "04 05 0102", APDU_E_TRUNC_VALUE, 0, 0 },
		{ "04 01 aa bb", APDU_E_TRAILING, 0, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		abuf b = ABUF_INIT;
		ck_assert_int_eq(hex_decode(t[i].hex, &b, NULL), APDU_OK);
		tlv x;
		memset(&x, 0x11, sizeof(x));
		apdu_err e = tlv_parse_one(b.p, b.len, &x);
		ck_assert_msg(e == t[i].err, "%s: %s", t[i].hex, apdu_strerror(e));
		if (!e) {
			ck_assert_uint_eq(x.tag, t[i].tag);
			ck_assert_uint_eq(x.len, t[i].len);
			ck_assert_uint_eq(x.raw_len, b.len);
		} else {
			ck_assert_uint_eq(x.tag, 0x11111111u);
		}
		abuf_free(&b);
	}
}
END_TEST

START_TEST(builder_roundtrip)
{
	static const size_t lens[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, 70000 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		abuf b = ABUF_INIT, v = ABUF_INIT;
		abuf_fill(&v, 0xa5, lens[i]);
		ck_assert_int_eq(tlv_put(&b, 0xbf30, v.p, v.len), APDU_OK);
		ck_assert_uint_eq(b.len, 2 + tlv_len_size(lens[i]) + lens[i]);
		tlv x;
		ck_assert_int_eq(tlv_parse_one(b.p, b.len, &x), APDU_OK);
		ck_assert_uint_eq(x.tag, 0xbf30);
		ck_assert_uint_eq(x.len, lens[i]);
		ck_assert(x.constructed);
		abuf_free(&b);
		abuf_free(&v);
	}
	/* length encodings of pySim's BerTlvLen vectors */
	static const struct {
		size_t len;
		const char *hex;
	} L[] = {
		{ 0, "00" },	 { 1, "01" },	  { 127, "7f" },     { 128, "8180" },
		{ 198, "81c6" }, { 255, "81ff" }, { 256, "820100" }, { 65535, "82ffff" },
	};
	for (size_t i = 0; i < sizeof(L) / sizeof(L[0]); i++) {
		abuf b = ABUF_INIT;
		ck_assert_int_eq(tlv_put_len(&b, L[i].len), APDU_OK);
		tu_assert_hex(b.p, b.len, L[i].hex, "length %zu", L[i].len);
		abuf_free(&b);
	}
}
END_TEST

START_TEST(nested_builder)
{
	abuf b = ABUF_INIT;
	size_t outer, inner;
	tlv_begin(&b, 0xE3, &outer);
	tlv_put(&b, 0x4F, "\xa0\x00\x00\x05\x59", 5);
	tlv_begin(&b, 0xA0, &inner);
	abuf_fill(&b, 0x00, 200); /* forces a long form on both levels */
	tlv_end(&b, inner);
	tlv_put_u8(&b, 0x9F70, 0x3F);
	ck_assert_int_eq(tlv_end(&b, outer), APDU_OK);
	tlv e3, a0, lc;
	ck_assert_int_eq(tlv_parse_one(b.p, b.len, &e3), APDU_OK);
	ck_assert_uint_eq(e3.tag, 0xE3);
	ck_assert_int_eq(tlv_find(e3.value, e3.len, 0xA0, &a0), APDU_OK);
	ck_assert_uint_eq(a0.len, 200);
	ck_assert_int_eq(tlv_find(e3.value, e3.len, 0x9F70, &lc), APDU_OK);
	ck_assert_uint_eq(lc.value[0], 0x3F);
	ck_assert_int_eq(tlv_find(e3.value, e3.len, 0x5A, &lc), APDU_E_BAD_TAG);
	abuf_free(&b);
}
END_TEST

static int count_visit(const tlv *t, int depth, void *ctx)
{
	int *n = ctx;
	(void)t;
	(void)depth;
	(*n)++;
	return 0;
}

START_TEST(walk_depth_limit)
{
	/* 20 nested 'A0' levels around one primitive: 2-byte headers, 43 bytes */
	abuf b = ABUF_INIT;
	size_t marks[20];
	for (int i = 0; i < 20; i++)
		tlv_begin(&b, 0xA0, &marks[i]);
	tlv_put_u8(&b, 0x80, 1);
	for (int i = 19; i >= 0; i--)
		tlv_end(&b, marks[i]);
	ck_assert_uint_eq(b.len, 43);
	int n = 0;
	ck_assert_int_eq(tlv_walk(b.p, b.len, 16, count_visit, &n), APDU_E_TOO_DEEP);
	ck_assert_int_eq(n, 0); /* nothing visited on a refused tree */
	/* without the 5 outer levels: 15 constructed + 1 primitive, depth 0..15, fits the limit of 16 */
	ck_assert_int_eq(tlv_walk(b.p + 10, b.len - 10, 16, count_visit, &n), APDU_OK);
	ck_assert_int_eq(n, 16);
	abuf_free(&b);
	abuf c = ABUF_INIT;
	ck_assert_int_eq(hex_decode("e30c 4f03a00000 9f700107 800100", &c, NULL), APDU_OK);
	n = 0;
	ck_assert_int_eq(tlv_walk(c.p, c.len, 16, count_visit, &n), APDU_OK);
	ck_assert_int_eq(n, 4);
	n = 0;
	ck_assert_int_eq(tlv_walk(c.p, c.len - 1, 16, count_visit, &n), APDU_E_TRUNC_VALUE);
	ck_assert_int_eq(n, 0);
	abuf_free(&c);
}
END_TEST

/* Every prefix 0..n and n+1..n+3 with trailing bytes, for a nested TLV: parse_one fails cleanly except on
 * the exact length; tlv_next on the cursor never advances on failure. */
START_TEST(boundary_sweep)
{
	abuf b = ABUF_INIT;
	size_t outer, inner;
	tlv_begin(&b, 0xBF30, &outer);
	tlv_put_u8(&b, 0x5C, 0x5A);
	tlv_begin(&b, 0x7F21, &inner);
	abuf_fill(&b, 0x42, 0x7e);
	tlv_end(&b, inner);
	tlv_end(&b, outer);
	ck_assert_int_eq(b.err, APDU_OK);
	size_t n = b.len;
	abuf_fill(&b, 0xff, 3);
	for (size_t len = 0; len <= n + 3; len++) {
		tlv x;
		memset(&x, 0x33, sizeof(x));
		apdu_err e = tlv_parse_one(b.p, len, &x);
		if (len == n) {
			ck_assert_int_eq(e, APDU_OK);
		} else {
			ck_assert_int_ne(e, APDU_OK);
			ck_assert_uint_eq(x.tag, 0x33333333u);
			acur c = acur_make(b.p, len);
			if (tlv_next(&c, &x) != APDU_OK) {
				ck_assert_ptr_eq(c.p, b.p);
				ck_assert_uint_eq(c.len, len);
			}
		}
	}
	abuf_free(&b);
}
END_TEST

START_TEST(comprehension_tlv)
{
	static const struct {
		const char *hex;
		apdu_err err;
		uint16_t tag;
		bool cr;
		size_t len;
	} t[] = {
		{ "820283 81", APDU_OK, 0x02, true, 2 },
		{ "0b00", APDU_OK, 0x0b, false, 0 },
		{ "7f8001 01 aa", APDU_OK, 0x0001, true, 1 },
		{ "7f0080 00", APDU_OK, 0x0080, false, 0 },
		{ "00 01 aa", APDU_E_BAD_TAG, 0, false, 0 },
		{ "80 01 aa", APDU_E_BAD_TAG, 0, false, 0 },
		{ "ff 01 aa", APDU_E_BAD_TAG, 0, false, 0 },
		{ "8b 817f", APDU_E_BAD_LENGTH, 0, false, 0 }, /* 81 only for 128..255 */
		{ "8b 84", APDU_E_BAD_LENGTH, 0, false, 0 },
		{ "8b 8180", APDU_E_TRUNC_VALUE, 0, false, 0 },
		{ "7f80", APDU_E_TRUNC_HEADER, 0, false, 0 },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		abuf b = ABUF_INIT;
		ck_assert_int_eq(hex_decode(t[i].hex, &b, NULL), APDU_OK);
		acur c = acur_make(b.p, b.len);
		ctlv x;
		apdu_err e = ctlv_next(&c, &x);
		ck_assert_msg(e == t[i].err, "%s: %s", t[i].hex, apdu_strerror(e));
		if (!e) {
			ck_assert_uint_eq(x.tag, t[i].tag);
			ck_assert_int_eq(x.cr, t[i].cr);
			ck_assert_uint_eq(x.len, t[i].len);
			abuf r = ABUF_INIT;
			ck_assert_int_eq(ctlv_put_item(&r, &x), APDU_OK);
			ck_assert_uint_eq(r.len, b.len);
			ck_assert_int_eq(memcmp(r.p, b.p, b.len), 0);
			abuf_free(&r);
		} else {
			ck_assert_uint_eq(c.len, b.len);
		}
		abuf_free(&b);
	}
	abuf r = ABUF_INIT;
	ck_assert_int_eq(ctlv_put(&r, 0, false, NULL, 0), APDU_E_INVAL);
	abuf_free(&r);
}
END_TEST

START_TEST(dgi_items)
{
	abuf b = ABUF_INIT, v = ABUF_INIT;
	abuf_fill(&v, 0x5a, 300);
	ck_assert_int_eq(dgi_put(&b, 0x8101, v.p, 10), APDU_OK);
	ck_assert_int_eq(dgi_put(&b, 0x0202, v.p, 254), APDU_OK);
	ck_assert_int_eq(dgi_put(&b, 0x0303, v.p, 255), APDU_OK);
	ck_assert_int_eq(dgi_put(&b, 0x0404, v.p, 300), APDU_OK);
	ck_assert_uint_eq(b.len, 3 + 10 + 3 + 254 + 5 + 255 + 5 + 300);
	ck_assert_uint_eq(b.p[13 + 2], 0xfe);
	ck_assert_uint_eq(b.p[13 + 3 + 254 + 2], 0xff);
	acur c = acur_make(b.p, b.len);
	static const size_t want[] = { 10, 254, 255, 300 };
	for (int i = 0; i < 4; i++) {
		dgi d;
		ck_assert_int_eq(dgi_next(&c, &d), APDU_OK);
		ck_assert_uint_eq(d.len, want[i]);
	}
	ck_assert_uint_eq(c.len, 0);
	dgi d;
	acur t = acur_make(b.p, 12);
	ck_assert_int_eq(dgi_next(&t, &d), APDU_E_TRUNC_VALUE);
	t = acur_make(b.p + 13 + 3 + 254, 4);
	ck_assert_int_eq(dgi_next(&t, &d), APDU_E_TRUNC_HEADER);
	ck_assert_uint_eq(dgi_len_size(254), 1);
	ck_assert_uint_eq(dgi_len_size(255), 3);
	abuf_free(&b);
	abuf_free(&v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tlv");
	TCase *tc = tcase_create("tlv");
	tcase_add_test(tc, ber_parse_table);
	tcase_add_test(tc, builder_roundtrip);
	tcase_add_test(tc, nested_builder);
	tcase_add_test(tc, walk_depth_limit);
	tcase_add_test(tc, boundary_sweep);
	tcase_add_test(tc, comprehension_tlv);
	tcase_add_test(tc, dgi_items);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
