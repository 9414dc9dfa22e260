/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/sms.h"

START_TEST(address_field)
{
	abuf b = ABUF_INIT;
	sms_addr a = { 0x91, "4412345678" }, odd = { 0x81, "12345" }, back;
	ck_assert_int_eq(sms_addr_put(&b, &a), APDU_OK);
	tu_assert_hex(b.p, b.len, "0a914421436587", "even digits");
	abuf_reset(&b);
	ck_assert_int_eq(sms_addr_put(&b, &odd), APDU_OK);
	tu_assert_hex(b.p, b.len, "05812143f5", "odd digits, F padded");
	acur c = acur_make(b.p, b.len);
	ck_assert_int_eq(sms_addr_read(&c, &back), APDU_OK);
	ck_assert_str_eq(back.digits, "12345");
	ck_assert_uint_eq(c.len, 0);
	/* truncated digits, wrong filler */
	c = acur_make(b.p, b.len - 1);
	ck_assert_int_eq(sms_addr_read(&c, &back), APDU_E_TRUNC_VALUE);
	ck_assert_uint_eq(c.len, b.len - 1);
	b.p[4] = 0x25;
	c = acur_make(b.p, b.len);
	ck_assert_int_eq(sms_addr_read(&c, &back), APDU_E_HEX_DIGIT);
	abuf_free(&b);
}
END_TEST

START_TEST(deliver_and_submit)
{
	const uint8_t ud[] = { 0x02, 0x70, 0x00, 0xaa, 0xbb };
	sms_deliver d = { .first_octet = 0x40,
			  .oa = { 0x81, "12345678" },
			  .pid = 0x7f,
			  .dcs = 0xf6,
			  .scts = { 0x22, 0x70, 0x52, 0, 0, 0, 0 },
			  .ud = ud,
			  .ud_len = sizeof(ud) };
	abuf b = ABUF_INIT;
	ck_assert_int_eq(sms_deliver_build(&d, &b), APDU_OK);
	tu_assert_hex(b.p, b.len, "40 0881214365877ff6 22705200000000 05 027000aabb", "SMS-DELIVER");
	sms_deliver p;
	ck_assert_int_eq(sms_deliver_parse(b.p, b.len, &p), APDU_OK);
	ck_assert_uint_eq(p.ud_len, 5);
	ck_assert_uint_eq(p.pid, 0x7f);
	/* sweep: every truncation and extension is refused */
	abuf_fill(&b, 0, 3);
	for (size_t len = 0; len < b.len; len++)
		if (len != b.len - 3)
			ck_assert_int_ne(sms_deliver_parse(b.p, len, &p), APDU_OK);
	/* 7-bit coding is not OTA data */
	d.dcs = 0x00;
	ck_assert_int_eq(sms_deliver_build(&d, &b), APDU_E_UNSUPPORTED);
	abuf_free(&b);

	sms_submit s = { .first_octet = 0x41,
			 .mr = 0,
			 .da = { 0x91, "4477" },
			 .pid = 0x7f,
			 .dcs = 0xf6,
			 .ud = ud,
			 .ud_len = sizeof(ud) };
	abuf sb = ABUF_INIT;
	ck_assert_int_eq(sms_submit_build(&s, &sb), APDU_OK);
	tu_assert_hex(sb.p, sb.len, "41 00 04914477 7f f6 05 027000aabb", "SMS-SUBMIT");
	sms_submit sp;
	ck_assert_int_eq(sms_submit_parse(sb.p, sb.len, &sp), APDU_OK);
	ck_assert_str_eq(sp.da.digits, "4477");
	ck_assert_int_eq(sms_deliver_parse(sb.p, sb.len, &p), APDU_E_BAD_TAG);
	/* with a relative validity period */
	abuf vb = ABUF_INIT;
	ck_assert_int_eq(hex_decode("51 00 04914477 7f f6 a7 02 0102", &vb, NULL), APDU_OK);
	ck_assert_int_eq(sms_submit_parse(vb.p, vb.len, &sp), APDU_OK);
	ck_assert_uint_eq(sp.ud_len, 2);
	abuf_free(&vb);
	abuf_free(&sb);
}
END_TEST

START_TEST(udh)
{
	abuf b = ABUF_INIT;
	ck_assert_int_eq(hex_decode("07 7000 0003 2a0301 cafe", &b, NULL), APDU_OK);
	sms_udh u;
	ck_assert_int_eq(sms_udh_parse(b.p, b.len, &u), APDU_OK);
	ck_assert_uint_eq(u.n, 2);
	ck_assert_ptr_nonnull(sms_udh_find(&u, SMS_IEI_CMD_PACKET));
	const sms_udh_ie *c = sms_udh_find(&u, SMS_IEI_CONCAT8);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->value[0], 0x2a);
	ck_assert_uint_eq(u.payload_len, 2);
	ck_assert_ptr_null(sms_udh_find(&u, SMS_IEI_RSP_PACKET));
	ck_assert_int_eq(sms_udh_parse(b.p, 5, &u), APDU_E_TRUNC_VALUE);
	b.p[0] = 0x05; /* IE runs past the UDH */
	ck_assert_int_eq(sms_udh_parse(b.p, b.len, &u), APDU_E_TRUNC_VALUE);
	abuf_free(&b);
}
END_TEST

/* Split then reassemble, in order and reversed, for every length 0..600: the packet comes back whole and
 * each part fits in one SMS. */
START_TEST(concat_roundtrip)
{
	uint8_t pkt[600];
	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7 + 3);
	abuf parts[SMS_MAX_PARTS];
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_init(&parts[i]);
	for (size_t len = 0; len <= sizeof(pkt); len++) {
		size_t n = 0;
		ck_assert_int_eq(sms_split_command_packet(pkt, len, (uint8_t)len, parts, &n), APDU_OK);
		ck_assert_uint_ge(n, 1);
		if (len <= 137)
			ck_assert_uint_eq(n, 1);
		else
			ck_assert_uint_eq(parts[0].p[1], 0x70);
		for (int rev = 0; rev < 2; rev++) {
			sms_reassembly r;
			sms_reassembly_init(&r);
			abuf out = ABUF_INIT;
			bool complete = false;
			for (size_t k = 0; k < n; k++) {
				size_t idx = rev ? n - 1 - k : k;
				ck_assert_uint_le(parts[idx].len, SMS_MAX_UD);
				ck_assert_int_eq(sms_reassembly_feed(&r, parts[idx].p, parts[idx].len, &complete, &out),
						 APDU_OK);
				ck_assert_int_eq(complete, k == n - 1);
			}
			ck_assert_uint_eq(out.len, len);
			ck_assert(tu_memeq(out.p, pkt, len));
			if (n > 1)
				ck_assert(r.has_cpi);
			sms_reassembly_free(&r);
			abuf_free(&out);
		}
	}
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_free(&parts[i]);
	/* too long for the reassembly limit */
	static uint8_t big[SMS_MAX_PARTS * 140];
	size_t n;
	abuf many[SMS_MAX_PARTS];
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_init(&many[i]);
	ck_assert_int_eq(sms_split_command_packet(big, sizeof(big), 1, many, &n), APDU_E_NOMEM);
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_free(&many[i]);
}
END_TEST

START_TEST(reassembly_errors)
{
	sms_reassembly r;
	sms_reassembly_init(&r);
	abuf out = ABUF_INIT, p = ABUF_INIT;
	bool complete;
	ck_assert_int_eq(hex_decode("05 0003 07 03 02 aaaa", &p, NULL), APDU_OK);
	ck_assert_int_eq(sms_reassembly_feed(&r, p.p, p.len, &complete, &out), APDU_OK);
	ck_assert(!complete);
	ck_assert_int_eq(sms_reassembly_feed(&r, p.p, p.len, &complete, &out), APDU_E_INVAL); /* duplicate */
	p.p[5] = 0x04;									      /* seq > total */
	ck_assert_int_eq(sms_reassembly_feed(&r, p.p, p.len, &complete, &out), APDU_E_BAD_LENGTH);
	p.p[5] = 0x00;
	ck_assert_int_eq(sms_reassembly_feed(&r, p.p, p.len, &complete, &out), APDU_E_BAD_LENGTH);
	p.p[4] = 33; /* more parts than the limit */
	p.p[5] = 1;
	ck_assert_int_eq(sms_reassembly_feed(&r, p.p, p.len, &complete, &out), APDU_E_BAD_LENGTH);
	ck_assert_uint_eq(out.len, 0);
	/* a different reference replaces the unfinished message */
	abuf_reset(&p);
	ck_assert_int_eq(hex_decode("05 0003 08 01 01 bb", &p, NULL), APDU_OK);
	ck_assert_int_eq(sms_reassembly_feed(&r, p.p, p.len, &complete, &out), APDU_OK);
	ck_assert(complete);
	ck_assert_uint_eq(out.len, 1);
	sms_reassembly_free(&r);
	abuf_free(&out);
	abuf_free(&p);
}
END_TEST

START_TEST(envelope)
{
	const uint8_t tpdu[] = { 0x40, 0x08, 0x81, 0x21, 0x43, 0x65, 0x87, 0x7f, 0xf6 };
	const uint8_t smsc[] = { 0x91, 0x44, 0x77 };
	abuf b = ABUF_INIT;
	ck_assert_int_eq(sms_pp_envelope_build(smsc, 3, tpdu, sizeof(tpdu), &b), APDU_OK);
	tu_assert_hex(b.p, b.len, "80c20000 16 d1 14 82028381 8603914477 8b09 400881214365877ff6", "ENVELOPE");
	sms_pp_envelope e;
	ck_assert_int_eq(sms_pp_envelope_parse(b.p + 5, b.len - 5, &e), APDU_OK);
	ck_assert_uint_eq(e.src, 0x83);
	ck_assert_uint_eq(e.dst, 0x81);
	ck_assert_uint_eq(e.tpdu_len, sizeof(tpdu));
	ck_assert_uint_eq(e.address_len, 3);
	for (size_t len = 0; len < b.len - 5; len++)
		ck_assert_int_ne(sms_pp_envelope_parse(b.p + 5, len, &e), APDU_OK);
	abuf_reset(&b);
	ck_assert_int_eq(sms_pp_envelope_build(NULL, 0, tpdu, sizeof(tpdu), &b), APDU_OK);
	ck_assert_uint_eq(b.p[4], 2 + 4 + 2 + sizeof(tpdu));
	/* unknown object with comprehension required is refused, without CR skipped */
	abuf x = ABUF_INIT;
	ck_assert_int_eq(hex_decode("d10a 82028381 9901ff 8b0100", &x, NULL), APDU_OK);
	ck_assert_int_eq(sms_pp_envelope_parse(x.p, x.len, &e), APDU_E_BAD_TAG);
	x.p[6] = 0x19;
	ck_assert_int_eq(sms_pp_envelope_parse(x.p, x.len, &e), APDU_OK);
	/* too big for a short APDU */
	uint8_t big[260] = { 0 };
	abuf_reset(&b);
	ck_assert_int_eq(sms_pp_envelope_build(NULL, 0, big, sizeof(big), &b), APDU_E_BAD_LENGTH);
	ck_assert_uint_eq(b.len, 0);
	abuf_free(&b);
	abuf_free(&x);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sms");
	TCase *tc = tcase_create("sms");
	tcase_add_test(tc, address_field);
	tcase_add_test(tc, deliver_and_submit);
	tcase_add_test(tc, udh);
	tcase_add_test(tc, concat_roundtrip);
	tcase_add_test(tc, reassembly_errors);
	tcase_add_test(tc, envelope);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
