/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/crypto.h"
#include "apdu/scp80.h"
#include "apdu/sms.h"

static json_t *V;

static void keyset_from(json_t *ks, scp80_keyset *out)
{
	abuf b = ABUF_INIT;
	memset(out, 0, sizeof(*out));
	tu_hexfix(&out->kic, 1, tu_str(ks, "kic"));
	tu_hexfix(&out->kid, 1, tu_str(ks, "kid"));
	tu_hex(&b, tu_str(ks, "kic_key"));
	memcpy(out->kic_key, b.p, b.len);
	out->kic_key_len = b.len;
	tu_hex(&b, tu_str(ks, "kid_key"));
	memcpy(out->kid_key, b.p, b.len);
	out->kid_key_len = b.len;
	abuf_free(&b);
}

static uint16_t spi_of(json_t *v)
{
	uint8_t s[2];
	tu_hexfix(s, 2, tu_str(v, "spi"));
	return (uint16_t)((s[0] << 8) | s[1]);
}

/* pySim's command vectors byte for byte, then the card side unwraps them back to the APDU */
START_TEST(pysim_commands)
{
	json_t *cmds = json_object_get(V, "commands"), *v;
	size_t i;
	ck_assert_uint_ge(json_array_size(cmds), 7);
	json_array_foreach(cmds, i, v)
	{
		const char *name = tu_str(v, "name");
		scp80_keyset ks;
		keyset_from(json_object_get(json_object_get(V, "keysets"), tu_str(v, "keyset")), &ks);
		uint8_t tar[3], cntr[5];
		tu_hexfix(tar, 3, tu_str(v, "tar"));
		tu_hexfix(cntr, 5, tu_str(v, "cntr"));
		abuf apdu = ABUF_INIT, pkt = ABUF_INIT, back = ABUF_INIT;
		tu_hex(&apdu, tu_str(v, "apdu"));
		ck_assert_int_eq(scp80_wrap_command(&ks, spi_of(v), tar, cntr, apdu.p, apdu.len, &pkt), APDU_OK);
		bool no_cpl = json_is_true(json_object_get(v, "cpl_omitted"));
		if (no_cpl) {
			ck_assert_uint_eq(((size_t)pkt.p[0] << 8 | pkt.p[1]), pkt.len - 2);
			tu_assert_hex(pkt.p + 2, pkt.len - 2, tu_str(v, "packet"), "%s (CPL omitted by pySim)", name);
		} else {
			tu_assert_hex(pkt.p, pkt.len, tu_str(v, "packet"), "%s", name);
		}
		scp80_cmd_hdr h;
		ck_assert_int_eq(scp80_unwrap_command(&ks, pkt.p, pkt.len, &h, &back), APDU_OK);
		ck_assert_uint_eq(back.len, apdu.len);
		ck_assert_int_eq(memcmp(back.p, apdu.p, apdu.len), 0);
		ck_assert_int_eq(memcmp(h.tar, tar, 3), 0);
		ck_assert_uint_eq(h.spi, spi_of(v));

		/* the SMS-DELIVER TPDU around it (UDH 02 70 00), see vectors/README.md for the UDL octet */
		json_t *tp = json_object_get(V, "tpdu_fields");
		const char *want = json_string_value(json_object_get(v, "tpdu"));
		if (want) {
			abuf ud = ABUF_INIT, tpdu = ABUF_INIT, w = ABUF_INIT;
			abuf_put(&ud, "\x02\x70\x00", 3);
			abuf_put(&ud, pkt.p, pkt.len);
			sms_deliver d;
			memset(&d, 0, sizeof(d));
			tu_hexfix(&d.first_octet, 1, tu_str(tp, "first_octet"));
			strcpy(d.oa.digits, tu_str(tp, "oa_digits"));
			tu_hexfix(&d.oa.toa, 1, tu_str(tp, "oa_toa"));
			tu_hexfix(&d.pid, 1, tu_str(tp, "pid"));
			tu_hexfix(&d.dcs, 1, tu_str(tp, "dcs"));
			tu_hexfix(d.scts, 7, tu_str(tp, "scts"));
			d.ud = ud.p;
			d.ud_len = ud.len;
			ck_assert_int_eq(sms_deliver_build(&d, &tpdu), APDU_OK);
			tu_hex(&w, want);
			size_t off = (size_t)json_integer_value(json_object_get(tp, "udl_offset"));
			uint8_t pysim_udl;
			tu_hexfix(&pysim_udl, 1, tu_str(tp, "pysim_udl"));
			ck_assert_uint_eq(w.p[off], pysim_udl);
			ck_assert_uint_eq(tpdu.p[off], ud.len); /* TS 23.040: UDL counts UDH and data */
			w.p[off] = tpdu.p[off];
			char *wh = hex_encode_alloc(w.p, w.len);
			tu_assert_hex(tpdu.p, tpdu.len, wh, "%s TPDU", name);
			free(wh);
			sms_deliver back_d;
			ck_assert_int_eq(sms_deliver_parse(tpdu.p, tpdu.len, &back_d), APDU_OK);
			ck_assert_str_eq(back_d.oa.digits, "12345678");
			ck_assert_uint_eq(back_d.ud_len, ud.len);
			abuf_free(&ud);
			abuf_free(&tpdu);
			abuf_free(&w);
		}
		abuf_free(&apdu);
		abuf_free(&pkt);
		abuf_free(&back);
		scp80_keyset_clear(&ks);
	}
}
END_TEST

START_TEST(pysim_pors)
{
	json_t *pors = json_object_get(V, "pors"), *v;
	size_t i;
	int failing = 0;
	ck_assert_uint_ge(json_array_size(pors), 8);
	json_array_foreach(pors, i, v)
	{
		const char *name = tu_str(v, "name");
		scp80_keyset ks;
		keyset_from(json_object_get(json_object_get(V, "keysets"), tu_str(v, "keyset")), &ks);
		abuf in = ABUF_INIT, data = ABUF_INIT;
		tu_hex(&in, tu_str(v, "response"));
		scp80_por_hdr h;
		memset(&h, 0xee, sizeof(h));
		apdu_err e = scp80_unwrap_por(&ks, spi_of(v), in.p, in.len, &h, &data);
		if (json_is_true(json_object_get(v, "must_fail"))) {
			ck_assert_msg(e == APDU_E_MAC, "%s must fail the CC check, got %s", name, apdu_strerror(e));
			ck_assert_uint_eq(h.status, 0xee);
			ck_assert_uint_eq(data.len, 0);
			failing++;
		} else {
			ck_assert_msg(e == APDU_OK, "%s: %s", name, apdu_strerror(e));
			ck_assert_int_eq(h.status, json_integer_value(json_object_get(v, "status")));
			scp80_response r;
			ck_assert_int_eq(scp80_response_parse(SCP80_FORMAT_COMPACT, data.p, data.len, &r), APDU_OK);
			ck_assert_int_eq(r.count, json_integer_value(json_object_get(v, "count")));
			uint8_t sw[2] = { (uint8_t)(r.last_sw >> 8), (uint8_t)r.last_sw };
			tu_assert_hex(sw, 2, tu_str(v, "last_sw"), "%s last SW", name);
			tu_assert_hex(r.data, r.len, tu_str(v, "data"), "%s data", name);
			/* the card side re-creates the PoR byte for byte */
			abuf again = ABUF_INIT;
			ck_assert_int_eq(scp80_wrap_por(&ks, spi_of(v), &h, data.p, data.len, true, &again), APDU_OK);
			tu_assert_hex(again.p, again.len, tu_str(v, "response"), "%s re-wrapped", name);
			/* and the same without the UDH still verifies */
			abuf plain = ABUF_INIT;
			ck_assert_int_eq(scp80_unwrap_por(&ks, spi_of(v), in.p + 3, in.len - 3, &h, &plain), APDU_OK);
			ck_assert_uint_eq(plain.len, data.len);
			abuf_free(&again);
			abuf_free(&plain);
		}
		abuf_free(&in);
		abuf_free(&data);
	}
	ck_assert_int_eq(failing, 1);
}
END_TEST

START_TEST(expanded_format)
{
	json_t *v, *a;
	size_t i, j;
	json_array_foreach(json_object_get(V, "expanded_commands"), i, v)
	{
		json_t *apdus = json_object_get(v, "apdus");
		size_t n = json_array_size(apdus);
		abuf bufs[4], out = ABUF_INIT;
		const uint8_t *ptrs[4];
		size_t lens[4];
		ck_assert_uint_le(n, 4);
		json_array_foreach(apdus, j, a)
		{
			abuf_init(&bufs[j]);
			tu_hex(&bufs[j], json_string_value(a));
			ptrs[j] = bufs[j].p;
			lens[j] = bufs[j].len;
		}
		ck_assert_int_eq(scp80_expanded_script_build(&out, ptrs, lens, n), APDU_OK);
		tu_assert_hex(out.p, out.len, tu_str(v, "script"), "expanded script %zu", i);
		scp80_script_iter it;
		ck_assert_int_eq(scp80_script_begin(&it, SCP80_FORMAT_EXPANDED, out.p, out.len), APDU_OK);
		for (size_t k = 0;; k++) {
			scp80_script_item item;
			bool done;
			ck_assert_int_eq(scp80_script_next(&it, &item, &done), APDU_OK);
			if (done) {
				ck_assert_uint_eq(k, n);
				break;
			}
			ck_assert_uint_eq(item.tag, 0x22);
			ck_assert_uint_eq(item.len, lens[k]);
			ck_assert_int_eq(memcmp(item.value, ptrs[k], lens[k]), 0);
		}
		for (j = 0; j < n; j++)
			abuf_free(&bufs[j]);
		abuf_free(&out);
	}
	json_array_foreach(json_object_get(V, "expanded_responses"), i, v)
	{
		abuf in = ABUF_INIT;
		tu_hex(&in, tu_str(v, "response"));
		scp80_response r;
		ck_assert_int_eq(scp80_response_parse(SCP80_FORMAT_EXPANDED, in.p, in.len, &r), APDU_OK);
		ck_assert_int_eq(r.count, json_integer_value(json_object_get(v, "count")));
		uint8_t sw[2] = { (uint8_t)(r.last_sw >> 8), (uint8_t)r.last_sw };
		tu_assert_hex(sw, 2, tu_str(v, "last_sw"), "expanded response %zu", i);
		abuf_free(&in);
	}
	/* the 198-byte registry case: long-form lengths on both levels (pySim test_registry_golden) */
	uint8_t reg[200];
	for (int k = 0; k < 198; k++)
		reg[k] = (uint8_t)k;
	reg[198] = 0x90;
	reg[199] = 0x00;
	const uint8_t *rp[1] = { reg };
	size_t rl[1] = { 200 };
	abuf out = ABUF_INIT;
	ck_assert_int_eq(scp80_expanded_response_build(&out, 1, rp, rl, 1), APDU_OK);
	tu_assert_hex(out.p, 9, "ab81ce8001012381c8", "expanded response header");
	scp80_response r;
	ck_assert_int_eq(scp80_response_parse(SCP80_FORMAT_EXPANDED, out.p, out.len, &r), APDU_OK);
	ck_assert_uint_eq(r.len, 198);
	ck_assert_uint_eq(r.last_sw, 0x9000);
	abuf_free(&out);
	/* unknown template content is refused */
	const uint8_t bad[] = { 0xab, 0x06, 0x80, 0x01, 0x01, 0x90, 0x01, 0x01 };
	ck_assert_int_eq(scp80_response_parse(SCP80_FORMAT_EXPANDED, bad, sizeof(bad), &r), APDU_E_UNSUPPORTED);
	const uint8_t cut[] = { 0xab, 0x07, 0x80, 0x01, 0x01, 0x23, 0x02, 0x90 };
	ck_assert_int_eq(scp80_response_parse(SCP80_FORMAT_EXPANDED, cut, sizeof(cut), &r), APDU_E_TRUNC_VALUE);
	ck_assert_int_eq(scp80_response_parse(SCP80_FORMAT_COMPACT, cut, 2, &r), APDU_E_TRUNC_HEADER);
}
END_TEST

START_TEST(compact_script_split)
{
	/* SELECT (Lc), READ BINARY (Le), GET STATUS (Lc), case 1 at the end */
	abuf s = ABUF_INIT;
	ck_assert_int_eq(hex_decode("00a40004023f00 00b000000a 80f24002024f00 80e60c00", &s, NULL), APDU_OK);
	static const size_t want[] = { 7, 5, 7, 4 };
	scp80_script_iter it;
	ck_assert_int_eq(scp80_script_begin(&it, SCP80_FORMAT_COMPACT, s.p, s.len), APDU_OK);
	for (size_t k = 0; k < 5; k++) {
		scp80_script_item item;
		bool done;
		ck_assert_int_eq(scp80_script_next(&it, &item, &done), APDU_OK);
		if (k == 4) {
			ck_assert(done);
			break;
		}
		ck_assert(!done);
		ck_assert_uint_eq(item.len, want[k]);
	}
	ck_assert_int_eq(scp80_script_begin(&it, SCP80_FORMAT_COMPACT, s.p, 10), APDU_OK);
	scp80_script_item item;
	bool done;
	ck_assert_int_eq(scp80_script_next(&it, &item, &done), APDU_OK);
	ck_assert_int_eq(scp80_script_next(&it, &item, &done), APDU_E_TRUNC_HEADER);
	ck_assert_int_ne(scp80_script_begin(&it, SCP80_FORMAT_EXPANDED, s.p, s.len), APDU_OK); /* not an AA template */
	abuf_free(&s);
}
END_TEST

/* Every SPI combination of docs/protocol.md §5 x every algorithm x several lengths: the card side
 * unwraps what the host wrapped, and the host unwraps the PoR the card wrapped. */
START_TEST(roundtrip_all_spi)
{
	static const struct {
		uint8_t alg;
		size_t klen;
	} algs[] = {
		{ 0x2, 16 }, { 0x2, 24 }, { 0x2, 32 }, { 0x5, 16 }, { 0x9, 24 },
	};
	static const uint8_t sigs[] = { SCP80_SIG_NONE, SCP80_SIG_RC, SCP80_SIG_CC };
	static const uint8_t cntrs[] = { SCP80_CNTR_NONE, SCP80_CNTR_AVAILABLE, SCP80_CNTR_HIGHER,
					 SCP80_CNTR_ONE_HIGHER };
	static const size_t lens[] = { 0, 1, 7, 8, 15, 16, 17, 100 };
	const uint8_t tar[3] = { 0, 0, 1 }, cntr[5] = { 0, 0, 0, 0, 0x2a };
	uint8_t data[128];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13);
	unsigned count = 0;
	for (size_t a = 0; a < sizeof(algs) / sizeof(algs[0]); a++)
		for (size_t s1 = 0; s1 < 3; s1++)
			for (int ciph = 0; ciph < 2; ciph++)
				for (size_t c = 0; c < 4; c++)
					for (int por = 0; por < 3; por++)
						for (size_t s2 = 0; s2 < 3; s2++)
							for (int pciph = 0; pciph < 2; pciph++)
								for (int submit = 0; submit < 2; submit++) {
									scp80_keyset ks;
									memset(&ks, 0, sizeof(ks));
									ks.kic = (uint8_t)(0x10 | algs[a].alg);
									ks.kid = (uint8_t)(0x10 |
											   (sigs[s1] == SCP80_SIG_RC ||
													    sigs[s2] ==
														    SCP80_SIG_RC
												    ? 0x5
												    : algs[a].alg));
									if ((sigs[s1] == SCP80_SIG_RC &&
									     sigs[s2] == SCP80_SIG_CC &&
									     algs[a].alg != 0x5) ||
									    (sigs[s2] == SCP80_SIG_RC &&
									     sigs[s1] == SCP80_SIG_CC &&
									     algs[a].alg != 0x5))
										continue; /* one KID cannot name CRC32 and an AES/3DES-3 CC at once */
									for (size_t k = 0; k < algs[a].klen; k++) {
										ks.kic_key[k] = (uint8_t)(k + 1);
										ks.kid_key[k] = (uint8_t)(0x80 + k);
									}
									ks.kic_key_len = ks.kid_key_len = algs[a].klen;
									uint16_t spi =
										(uint16_t)(((sigs[s1] |
											     (ciph ? SCP80_SPI1_CIPHER
												   : 0) |
											     cntrs[c])
											    << 8) |
											   (por | (sigs[s2] << 2) |
											    (pciph ? SCP80_SPI2_POR_CIPHER
												   : 0) |
											    (submit ? SCP80_SPI2_POR_SUBMIT
												    : 0)));
									for (size_t l = 0;
									     l < sizeof(lens) / sizeof(lens[0]); l++) {
										abuf pkt = ABUF_INIT, back = ABUF_INIT,
										     por_pkt = ABUF_INIT,
										     por_back = ABUF_INIT;
										ck_assert_int_eq(scp80_wrap_command(
													 &ks, spi, tar,
													 cntr, data,
													 lens[l], &pkt),
												 APDU_OK);
										scp80_cmd_hdr h;
										ck_assert_msg(scp80_unwrap_command(
												      &ks, pkt.p,
												      pkt.len, &h,
												      &back) == APDU_OK,
											      "spi %04x", spi);
										ck_assert_uint_eq(back.len, lens[l]);
										ck_assert(tu_memeq(back.p, data,
												   lens[l]));
										ck_assert_int_eq(
											memcmp(h.cntr, cntr, 5), 0);
										if (ciph && lens[l] >= 8) {
											/* ciphering hides the data */
											for (size_t off = 0;
											     off + lens[l] <= pkt.len;
											     off++)
												ck_assert_int_ne(
													memcmp(pkt.p + off,
													       data,
													       lens[l]),
													0);
										}
										/* any single flipped bit after the header is caught when the packet carries a CC or RC */
										if (sigs[s1] != SCP80_SIG_NONE &&
										    lens[l] == 17) {
											for (size_t pos = 10;
											     pos < pkt.len; pos += 3) {
												abuf junk = ABUF_INIT;
												pkt.p[pos] ^= 0x01;
												ck_assert_int_ne(
													scp80_unwrap_command(
														&ks,
														pkt.p,
														pkt.len,
														&h,
														&junk),
													APDU_OK);
												ck_assert_uint_eq(
													junk.len, 0);
												pkt.p[pos] ^= 0x01;
												abuf_free(&junk);
											}
										}
										scp80_por_hdr ph = { { 0, 0, 1 },
												     { 0, 0, 0, 0,
												       0x2a },
												     SCP80_POR_OK },
											      ph2;
										ck_assert_int_eq(
											scp80_wrap_por(&ks, spi, &ph,
												       data, lens[l],
												       true, &por_pkt),
											APDU_OK);
										ck_assert_int_eq(
											scp80_unwrap_por(
												&ks, spi, por_pkt.p,
												por_pkt.len, &ph2,
												&por_back),
											APDU_OK);
										ck_assert_uint_eq(por_back.len,
												  lens[l]);
										ck_assert(tu_memeq(por_back.p, data,
												   lens[l]));
										ck_assert_uint_eq(ph2.status, 0);
										abuf_free(&pkt);
										abuf_free(&back);
										abuf_free(&por_pkt);
										abuf_free(&por_back);
										count++;
									}
								}
	ck_assert_uint_gt(count, 10000);
}
END_TEST

START_TEST(unwrap_errors)
{
	scp80_keyset ks;
	memset(&ks, 0, sizeof(ks));
	ks.kic = ks.kid = 0x12;
	ks.kic_key_len = ks.kid_key_len = 16;
	memset(ks.kic_key, 1, 16);
	memset(ks.kid_key, 2, 16);
	const uint8_t tar[3] = { 0, 0, 1 }, cntr[5] = { 0, 0, 0, 0, 1 };
	const uint8_t apdu[] = { 0x80, 0xe2, 0x88, 0x00, 0x00 };
	abuf pkt = ABUF_INIT, out = ABUF_INIT;
	ck_assert_int_eq(scp80_wrap_command(&ks, 0x1639, tar, cntr, apdu, sizeof(apdu), &pkt), APDU_OK);
	scp80_cmd_hdr h;
	/* every truncation and extension fails and appends nothing */
	abuf_fill(&pkt, 0, 3);
	for (size_t len = 0; len <= pkt.len; len++) {
		if (len == pkt.len - 3)
			continue;
		ck_assert_int_ne(scp80_unwrap_command(&ks, pkt.p, len, &h, &out), APDU_OK);
		ck_assert_uint_eq(out.len, 0);
	}
	pkt.len -= 3;
	/* wrong key: CC fails -> PoR status 01 */
	scp80_keyset other = ks;
	other.kid_key[0] ^= 1;
	apdu_err e = scp80_unwrap_command(&other, pkt.p, pkt.len, &h, &out);
	ck_assert_int_ne(e, APDU_OK);
	/* with the ciphering key also wrong the padding counter is garbage: 01 or 05 */
	ck_assert(scp80_por_status_for(e) == SCP80_POR_RC_CC_DS_FAILED ||
		  scp80_por_status_for(e) == SCP80_POR_CIPHERING_ERROR);
	other = ks;
	other.kid_key[0] ^= 1;
	other.kic_key[0] = ks.kic_key[0];
	ck_assert_int_eq(scp80_unwrap_command(&other, pkt.p, pkt.len, &h, &out), APDU_E_MAC);
	ck_assert_int_eq(scp80_por_status_for(APDU_E_MAC), SCP80_POR_RC_CC_DS_FAILED);
	ck_assert_int_eq(scp80_por_status_for(APDU_E_PADDING), SCP80_POR_CIPHERING_ERROR);
	/* reserved SPI bits, DS, bad key lengths */
	ck_assert_int_eq(scp80_wrap_command(&ks, 0x2039, tar, cntr, apdu, 5, &out), APDU_E_SPI);
	ck_assert_int_eq(scp80_wrap_command(&ks, 0x1679, tar, cntr, apdu, 5, &out), APDU_E_SPI);
	ck_assert_int_eq(scp80_wrap_command(&ks, 0x1703, tar, cntr, apdu, 5, &out), APDU_E_SPI);
	ck_assert_int_eq(scp80_wrap_command(&ks, 0x1301, tar, cntr, apdu, 5, &out), APDU_E_UNSUPPORTED);
	other = ks;
	other.kic_key_len = 15;
	ck_assert_int_eq(scp80_wrap_command(&other, 0x1639, tar, cntr, apdu, 5, &out), APDU_E_KEY_LENGTH);
	other = ks;
	other.kic = 0x11; /* single DES */
	ck_assert_int_eq(scp80_wrap_command(&other, 0x1639, tar, cntr, apdu, 5, &out), APDU_E_UNSUPPORTED);
	ck_assert_uint_eq(out.len, 0);
	abuf_free(&pkt);
	abuf_free(&out);
}
END_TEST

START_TEST(counter_modes)
{
	const uint8_t c41[5] = { 0, 0, 0, 0, 0x41 }, c42[5] = { 0, 0, 0, 0, 0x42 }, c43[5] = { 0, 0, 0, 0, 0x43 };
	const uint8_t cff[5] = { 0xff, 0xff, 0xff, 0xff, 0xff }, c_carry[5] = { 0, 0, 0, 0, 0xff },
		      c_carried[5] = { 0, 0, 0, 1, 0x00 };
	ck_assert_int_eq(scp80_counter_check(0x0000, c42, c41), SCP80_POR_OK);
	ck_assert_int_eq(scp80_counter_check(0x0800, c42, c41), SCP80_POR_OK);
	ck_assert_int_eq(scp80_counter_check(0x1000, c42, c41), SCP80_POR_CNTR_LOW);
	ck_assert_int_eq(scp80_counter_check(0x1000, c42, c42), SCP80_POR_CNTR_LOW);
	ck_assert_int_eq(scp80_counter_check(0x1000, c41, c43), SCP80_POR_OK);
	ck_assert_int_eq(scp80_counter_check(0x1800, c41, c42), SCP80_POR_OK);
	ck_assert_int_eq(scp80_counter_check(0x1800, c41, c43), SCP80_POR_CNTR_HIGH);
	ck_assert_int_eq(scp80_counter_check(0x1800, c42, c42), SCP80_POR_CNTR_LOW);
	ck_assert_int_eq(scp80_counter_check(0x1800, c_carry, c_carried), SCP80_POR_OK);
	ck_assert_int_eq(scp80_counter_check(0x1000, cff, c43), SCP80_POR_CNTR_BLOCKED);
	ck_assert_str_eq(scp80_por_status_name(0x09), "TAR unknown");
	ck_assert_str_eq(scp80_por_status_name(0x0a), "insufficient security level");
}
END_TEST

int main(void)
{
	V = tu_vectors("scp80-pysim.json");
	Suite *s = suite_create("scp80");
	TCase *tc = tcase_create("scp80");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, pysim_commands);
	tcase_add_test(tc, pysim_pors);
	tcase_add_test(tc, expanded_format);
	tcase_add_test(tc, compact_script_split);
	tcase_add_test(tc, roundtrip_all_spi);
	tcase_add_test(tc, unwrap_errors);
	tcase_add_test(tc, counter_modes);
	suite_add_tcase(s, tc);
	int rc = tu_run(s);
	json_decref(V);
	return rc;
}
