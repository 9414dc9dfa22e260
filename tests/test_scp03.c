/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/crypto.h"
#include "apdu/scp03.h"
#include "apdu/tlv.h"

static json_t *V;

static void keys_from(json_t *ks, scp03_keys *k)
{
	abuf b = ABUF_INIT;
	memset(k, 0, sizeof(*k));
	tu_hexfix(&k->kvn, 1, tu_str(ks, "kvn"));
	tu_hex(&b, tu_str(ks, "enc"));
	memcpy(k->enc, b.p, b.len);
	k->key_len = b.len;
	tu_hex(&b, tu_str(ks, "mac"));
	memcpy(k->mac, b.p, b.len);
	tu_hex(&b, tu_str(ks, "dek"));
	memcpy(k->dek, b.p, b.len);
	abuf_free(&b);
}

/* pySim's sessions byte for byte on the host side; in the same run the card side (this repo's) unwraps
 * every command back to its plain form and re-creates the response. */
START_TEST(pysim_sessions)
{
	json_t *sessions = json_object_get(V, "sessions"), *v, *plain = json_object_get(V, "plain");
	size_t i;
	static const char *const cases[] = { "case_1", "case_2", "case_3", "case_4" };
	ck_assert_uint_eq(json_array_size(sessions), 9);
	json_array_foreach(sessions, i, v)
	{
		const char *name = tu_str(v, "name");
		scp03_keys k;
		scp03_session host, card;
		memset(&host, 0, sizeof(host));
		memset(&card, 0, sizeof(card));
		keys_from(json_object_get(json_object_get(V, "keysets"), tu_str(v, "keyset")), &k);
		abuf iu_cmd = ABUF_INIT, iu_rsp = ABUF_INIT, out = ABUF_INIT, b = ABUF_INIT, c = ABUF_INIT;
		tu_hex(&iu_cmd, tu_str(v, "init_upd_cmd"));
		tu_hex(&iu_rsp, tu_str(v, "init_upd_rsp"));
		const uint8_t *hc = iu_cmd.p + 5;
		ck_assert_int_eq(scp03_init_update_apdu(k.kvn, hc, &out), APDU_OK);
		tu_assert_hex(out.p, out.len, tu_str(v, "init_upd_cmd"), "%s INITIALIZE UPDATE", name);
		ck_assert_int_eq(scp03_host_init(&host, &k, hc, iu_rsp.p, iu_rsp.len), APDU_OK);

		/* card side: same challenges give the same response, cryptogram included */
		abuf_reset(&out);
		ck_assert_int_eq(
			scp03_card_init(&card, &k, iu_rsp.p[12], hc, iu_rsp.p + 13, iu_rsp.p, iu_rsp.p + 29, &out),
			APDU_OK);
		tu_assert_hex(out.p, out.len, tu_str(v, "init_upd_rsp"), "%s card INITIALIZE UPDATE response", name);

		uint8_t level;
		abuf ea = ABUF_INIT;
		tu_hex(&ea, tu_str(v, "ext_auth_cmd"));
		level = ea.p[2];
		abuf_reset(&out);
		ck_assert_int_eq(scp03_host_external_authenticate(&host, level, &out), APDU_OK);
		tu_assert_hex(out.p, out.len, tu_str(v, "ext_auth_cmd"), "%s EXTERNAL AUTHENTICATE", name);
		ck_assert_int_eq(scp03_card_external_authenticate(&card, out.p, out.len), APDU_OK);

		/* GET EID command and response */
		tu_hex(&b, tu_str(plain, "get_eid_cmd"));
		abuf_reset(&out);
		ck_assert_int_eq(scp03_wrap_command(&host, b.p, b.len, &out), APDU_OK);
		tu_assert_hex(out.p, out.len, tu_str(v, "get_eid_cmd"), "%s wrapped GET EID", name);
		abuf_reset(&c);
		ck_assert_int_eq(scp03_card_unwrap_command(&card, out.p, out.len, &c), APDU_OK);
		/* the card sees the plain command; Le becomes 00 in the wrapped form, hence compare Lc+data */
		ck_assert_uint_eq(c.len, b.len);
		ck_assert_int_eq(memcmp(c.p, b.p, b.len - 1), 0);
		tu_hex(&b, tu_str(v, "get_eid_rsp"));
		abuf_reset(&out);
		ck_assert_int_eq(scp03_unwrap_response(&host, b.p, b.len, 0x9000, &out), APDU_OK);
		tu_assert_hex(out.p, out.len, tu_str(plain, "get_eid_rsp"), "%s unwrapped GET EID response", name);
		abuf_reset(&c);
		ck_assert_int_eq(scp03_card_wrap_response(&card, out.p, out.len, 0x9000, &c), APDU_OK);
		tu_assert_hex(c.p, c.len, tu_str(v, "get_eid_rsp"), "%s card-wrapped GET EID response", name);

		for (size_t k2 = 0; k2 < 4; k2++) {
			tu_hex(&b, tu_str(plain, cases[k2]));
			abuf_reset(&out);
			ck_assert_int_eq(scp03_wrap_command(&host, b.p, b.len, &out), APDU_OK);
			tu_assert_hex(out.p, out.len, tu_str(v, cases[k2]), "%s %s", name, cases[k2]);
			abuf_reset(&c);
			ck_assert_int_eq(scp03_card_unwrap_command(&card, out.p, out.len, &c), APDU_OK);
			ck_assert_uint_eq(c.p[0], b.p[0]);
			ck_assert_int_eq(memcmp(c.p + 1, b.p + 1, 3), 0);
		}
		/* a response whose R-MAC was tampered with is refused */
		if (level & SCP03_LEVEL_RMAC) {
			tu_hex(&b, tu_str(v, "get_eid_rsp"));
			b.p[b.len - 1] ^= 1;
			abuf_reset(&out);
			ck_assert_int_eq(scp03_unwrap_response(&host, b.p, b.len, 0x9000, &out), APDU_E_MAC);
			ck_assert_uint_eq(out.len, 0);
		}
		abuf_free(&iu_cmd);
		abuf_free(&iu_rsp);
		abuf_free(&out);
		abuf_free(&b);
		abuf_free(&c);
		abuf_free(&ea);
		scp03_session_clear(&host);
		scp03_session_clear(&card);
		scp03_keys_clear(&k);
	}
}
END_TEST

START_TEST(wrong_cryptogram)
{
	json_t *v = json_array_get(json_object_get(V, "sessions"), 0);
	scp03_keys k;
	scp03_session s;
	memset(&s, 0, sizeof(s));
	keys_from(json_object_get(json_object_get(V, "keysets"), tu_str(v, "keyset")), &k);
	abuf cmd = ABUF_INIT, rsp = ABUF_INIT, out = ABUF_INIT;
	tu_hex(&cmd, tu_str(v, "init_upd_cmd"));
	tu_hex(&rsp, tu_str(v, "init_upd_rsp"));
	rsp.p[28] ^= 0xff;
	ck_assert_int_eq(scp03_host_init(&s, &k, cmd.p + 5, rsp.p, rsp.len), APDU_E_MAC);
	ck_assert_int_eq(s.state, SCP03_IDLE);
	ck_assert_int_eq(scp03_host_external_authenticate(&s, 0x33, &out), APDU_E_STATE);
	ck_assert_int_eq(scp03_wrap_command(&s, cmd.p, cmd.len, &out), APDU_E_STATE);
	ck_assert_int_eq(scp03_host_init(&s, &k, cmd.p + 5, rsp.p, 20), APDU_E_BAD_LENGTH);
	rsp.p[28] ^= 0xff;
	rsp.p[11] = 0x02;
	ck_assert_int_eq(scp03_host_init(&s, &k, cmd.p + 5, rsp.p, rsp.len), APDU_E_UNSUPPORTED);
	ck_assert_uint_eq(out.len, 0);
	abuf_free(&cmd);
	abuf_free(&rsp);
	abuf_free(&out);
}
END_TEST

/* Card-side checks: a wrong MAC, a replayed command and a bad host cryptogram are refused and leave the
 * session (chain, counter) as it was, so the next genuine command still verifies. */
START_TEST(card_rejects)
{
	static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
	for (size_t L = 0; L < sizeof(levels); L++)
		for (size_t kl = 16; kl <= 32; kl += 8) {
			scp03_keys k;
			memset(&k, 0, sizeof(k));
			k.kvn = 0x30;
			k.key_len = kl;
			for (size_t i = 0; i < kl; i++) {
				k.enc[i] = (uint8_t)i;
				k.mac[i] = (uint8_t)(0x40 + i);
				k.dek[i] = (uint8_t)(0x80 + i);
			}
			uint8_t hc[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, cc[8], kdd[10] = { 0 }, seq[3] = { 0, 0, 7 };
			const uint8_t aid[16] = { 0xa0, 0, 0, 5, 0x59, 0x10, 0x10 };
			ck_assert_int_eq(scp03_card_challenge(&k, seq, aid, 16, cc), APDU_OK);
			scp03_session host, card;
			memset(&host, 0, sizeof(host));
			memset(&card, 0, sizeof(card));
			abuf r = ABUF_INIT, ea = ABUF_INIT, w = ABUF_INIT, p = ABUF_INIT, rr = ABUF_INIT,
			     hh = ABUF_INIT;
			ck_assert_int_eq(scp03_card_init(&card, &k, 0x70, hc, cc, kdd, seq, &r), APDU_OK);
			ck_assert_uint_eq(r.len, 32);
			ck_assert_int_eq(scp03_host_init(&host, &k, hc, r.p, r.len), APDU_OK);
			ck_assert_int_eq(scp03_host_external_authenticate(&host, levels[L], &ea), APDU_OK);
			ea.p[6] ^= 1; /* host cryptogram */
			ck_assert_int_eq(scp03_card_external_authenticate(&card, ea.p, ea.len), APDU_E_MAC);
			ea.p[6] ^= 1;
			ea.p[ea.len - 1] ^= 1; /* MAC */
			ck_assert_int_eq(scp03_card_external_authenticate(&card, ea.p, ea.len), APDU_E_MAC);
			ea.p[ea.len - 1] ^= 1;
			ck_assert_int_eq(scp03_card_external_authenticate(&card, ea.p, ea.len), APDU_OK);
			for (int n = 0; n < 3; n++) {
				uint8_t cmd[40] = { 0x80, 0xe2, 0x91, (uint8_t)n, 30 };
				for (int i = 0; i < 30; i++)
					cmd[5 + i] = (uint8_t)(i * n);
				abuf_reset(&w);
				ck_assert_int_eq(scp03_wrap_command(&host, cmd, 35, &w), APDU_OK);
				w.p[w.len - 3] ^= 1;
				abuf_reset(&p);
				ck_assert_int_eq(scp03_card_unwrap_command(&card, w.p, w.len, &p), APDU_E_MAC);
				ck_assert_uint_eq(p.len, 0);
				w.p[w.len - 3] ^= 1;
				ck_assert_int_eq(scp03_card_unwrap_command(&card, w.p, w.len, &p), APDU_OK);
				ck_assert_uint_eq(p.len, 35);
				ck_assert_int_eq(memcmp(p.p, cmd, 35), 0);
				/* replay: the chain moved on */
				abuf_reset(&p);
				ck_assert_int_eq(scp03_card_unwrap_command(&card, w.p, w.len, &p), APDU_E_MAC);
				/* the response, protected by the card, unwrapped by the host */
				const uint8_t data[5] = { 0x5a, 0x03, 1, 2, (uint8_t)n };
				abuf_reset(&rr);
				ck_assert_int_eq(scp03_card_wrap_response(&card, data, 5, 0x9000, &rr), APDU_OK);
				abuf_reset(&hh);
				ck_assert_int_eq(scp03_unwrap_response(&host, rr.p, rr.len, 0x9000, &hh), APDU_OK);
				ck_assert_uint_eq(hh.len, 5);
				ck_assert_int_eq(memcmp(hh.p, data, 5), 0);
				if (levels[L] & SCP03_LEVEL_RENC)
					ck_assert_int_ne(memcmp(rr.p, data, 5), 0);
			}
			/* error status words carry no protection */
			abuf_reset(&rr);
			ck_assert_int_eq(scp03_card_wrap_response(&card, NULL, 0, 0x6a88, &rr), APDU_OK);
			ck_assert_uint_eq(rr.len, 0);
			abuf_free(&r);
			abuf_free(&ea);
			abuf_free(&w);
			abuf_free(&p);
			abuf_free(&rr);
			abuf_free(&hh);
		}
}
END_TEST

/* KDF against an independent computation with the CMAC primitive (Amendment D 4.1.5 layout). */
START_TEST(kdf_layout)
{
	uint8_t key[16], ctx[16], out[32], in[32], blk[16];
	for (int i = 0; i < 16; i++) {
		key[i] = (uint8_t)(0x11 * i);
		ctx[i] = (uint8_t)(0xf0 - i);
	}
	ck_assert_int_eq(scp03_kdf(key, 16, 0x04, ctx, 16, out, 32), APDU_OK);
	for (uint8_t i = 1; i <= 2; i++) {
		memset(in, 0, 11);
		in[11] = 0x04;
		in[12] = 0x00;
		in[13] = 0x01; /* L = 256 bits */
		in[14] = 0x00;
		in[15] = i;
		memcpy(in + 16, ctx, 16);
		ck_assert_int_eq(crypto_aes_cmac(key, 16, in, 32, blk), APDU_OK);
		ck_assert_int_eq(memcmp(out + 16 * (i - 1), blk, 16), 0);
	}
	ck_assert_int_eq(scp03_kdf(key, 16, 0x04, ctx, 65, out, 16), APDU_E_INVAL);
	ck_assert(scp03_level_valid(0x33));
	ck_assert(!scp03_level_valid(0x02));
	ck_assert(!scp03_level_valid(0x21));
}
END_TEST

/* SCP03t: host and card in this repo, plus an independent check of the '85' MAC. */
START_TEST(scp03t_roundtrip)
{
	scp03_keys k;
	memset(&k, 0, sizeof(k));
	k.kvn = 0x30;
	k.key_len = 16;
	for (int i = 0; i < 16; i++) {
		k.enc[i] = (uint8_t)(i + 1);
		k.mac[i] = (uint8_t)(i + 2);
		k.dek[i] = (uint8_t)(i + 3);
	}
	uint8_t hc[8] = { 8, 7, 6, 5, 4, 3, 2, 1 }, cc[8] = { 9, 9, 9, 9, 1, 2, 3, 4 }, kdd[10] = { 1 };
	scp03_session host, card;
	memset(&host, 0, sizeof(host));
	memset(&card, 0, sizeof(card));
	abuf open = ABUF_INIT, ans = ABUF_INIT, auth = ABUF_INIT;
	ck_assert_int_eq(scp03t_host_open(k.kvn, 0x01, hc, &open), APDU_OK);
	tu_assert_hex(open.p, 4, "840a3001", "open TLV header");
	ck_assert_int_eq(scp03t_card_open(&card, &k, open.p, open.len, cc, kdd, NULL, &ans), APDU_OK);
	ck_assert_uint_eq(ans.p[0], 0x84);
	ck_assert_int_eq(scp03t_host_open_response(&host, &k, hc, ans.p, ans.len), APDU_OK);
	ck_assert_int_eq(scp03t_host_authenticate(&host, &auth), APDU_OK);
	ck_assert_uint_eq(auth.len, 2 + 17);
	/* independent: MAC = CMAC(S-MAC, 16 x 00 ‖ 85 11 33 ‖ host cryptogram)[0..8] */
	uint8_t in[16 + 3 + 8] = { 0 }, mac[16];
	in[16] = 0x85;
	in[17] = 0x11;
	in[18] = 0x33;
	memcpy(in + 19, host.host_cryptogram, 8);
	ck_assert_int_eq(crypto_aes_cmac(host.s_mac, 16, in, sizeof(in), mac), APDU_OK);
	ck_assert_int_eq(memcmp(auth.p + 11, mac, 8), 0);
	ck_assert_int_eq(scp03t_card_authenticate(&card, auth.p, auth.len), APDU_OK);
	/* segments of a profile package, including sizes around the block size and a long one */
	static const size_t sizes[] = { 1, 15, 16, 17, 200, 512, 1020 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		abuf seg = ABUF_INIT, w = ABUF_INIT, p = ABUF_INIT, r = ABUF_INIT, rp = ABUF_INIT;
		abuf_fill(&seg, (uint8_t)(0x30 + i), sizes[i]);
		ck_assert_int_eq(scp03t_host_wrap(&host, seg.p, seg.len, &w), APDU_OK);
		ck_assert_uint_eq(w.p[0], 0x86);
		w.p[w.len - 1] ^= 0x80;
		ck_assert_int_eq(scp03t_card_unwrap(&card, w.p, w.len, &p), APDU_E_MAC);
		w.p[w.len - 1] ^= 0x80;
		ck_assert_int_eq(scp03t_card_unwrap(&card, w.p, w.len, &p), APDU_OK);
		ck_assert_uint_eq(p.len, seg.len);
		ck_assert_int_eq(memcmp(p.p, seg.p, seg.len), 0);
		const uint8_t resp[] = { 0x30, 0x03, 0x80, 0x01, 0x00 };
		ck_assert_int_eq(scp03t_card_wrap(&card, resp, sizeof(resp), &r), APDU_OK);
		ck_assert_uint_eq(r.len, 16 + 8);
		ck_assert_int_eq(scp03t_host_unwrap(&host, r.p, r.len, &rp), APDU_OK);
		ck_assert_uint_eq(rp.len, sizeof(resp));
		ck_assert_int_eq(memcmp(rp.p, resp, sizeof(resp)), 0);
		abuf_free(&seg);
		abuf_free(&w);
		abuf_free(&p);
		abuf_free(&r);
		abuf_free(&rp);
	}
	/* an empty answer is the R-MAC alone */
	abuf r = ABUF_INIT, rp = ABUF_INIT;
	ck_assert_int_eq(scp03t_card_wrap(&card, NULL, 0, &r), APDU_OK);
	ck_assert_uint_eq(r.len, 8);
	ck_assert_int_eq(scp03t_host_unwrap(&host, r.p, r.len, &rp), APDU_OK);
	ck_assert_uint_eq(rp.len, 0);
	/* wrong tags and truncations */
	abuf junk = ABUF_INIT;
	ck_assert_int_eq(scp03t_card_unwrap(&card, open.p, open.len, &junk), APDU_E_BAD_TAG);
	ck_assert_int_eq(scp03t_card_unwrap(&card, auth.p, auth.len - 1, &junk), APDU_E_TRUNC_VALUE);
	ck_assert_uint_eq(junk.len, 0);
	abuf_free(&open);
	abuf_free(&ans);
	abuf_free(&auth);
	abuf_free(&r);
	abuf_free(&rp);
	abuf_free(&junk);
}
END_TEST

int main(void)
{
	V = tu_vectors("scp03-pysim.json");
	Suite *s = suite_create("scp03");
	TCase *tc = tcase_create("scp03");
	tcase_add_test(tc, pysim_sessions);
	tcase_add_test(tc, wrong_cryptogram);
	tcase_add_test(tc, card_rejects);
	tcase_add_test(tc, kdf_layout);
	tcase_add_test(tc, scp03t_roundtrip);
	suite_add_tcase(s, tc);
	int rc = tu_run(s);
	json_decref(V);
	return rc;
}
