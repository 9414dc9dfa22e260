/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "testutil.h"

#include "apdu/crypto.h"

/* RFC 4493 section 4 (AES-128) and NIST SP 800-38B D.2/D.3 (AES-192/256) CMAC examples */
START_TEST(aes_cmac_vectors)
{
	static const struct {
		const char *key, *msg, *mac;
	} t[] = {
		{ "2b7e151628aed2a6abf7158809cf4f3c", "", "bb1d6929e95937287fa37d129b756746" },
		{ "2b7e151628aed2a6abf7158809cf4f3c", "6bc1bee22e409f96e93d7e117393172a",
		  "070a16b46b4d4144f79bdd9dd04a287c" },
		{ "2b7e151628aed2a6abf7158809cf4f3c",
		  "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411",
		  "dfa66747de9ae63030ca32611497c827" },
		{ "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b", "", "d17ddf46adaacde531cac483de7a9367" },
		{ "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", "",
		  "028962f61b7bf89efc6b551f4667d983" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		abuf k = ABUF_INIT, m = ABUF_INIT;
		uint8_t mac[16];
		tu_hex(&k, t[i].key);
		tu_hex(&m, t[i].msg);
		ck_assert_int_eq(crypto_aes_cmac(k.p, k.len, m.p, m.len, mac), APDU_OK);
		tu_assert_hex(mac, 16, t[i].mac, "CMAC vector %zu", i);
		abuf_free(&k);
		abuf_free(&m);
	}
	uint8_t mac[16];
	ck_assert_int_eq(crypto_aes_cmac((const uint8_t *)"short", 5, NULL, 0, mac), APDU_E_KEY_LENGTH);
}
END_TEST

/* FIPS 197 C.1 and SP 800-38A F.2.1 (AES-128-CBC) */
START_TEST(aes_cbc_vectors)
{
	uint8_t k[16], iv[16], pt[32], ct[32], out[32];
	tu_hexfix(k, 16, "2b7e151628aed2a6abf7158809cf4f3c");
	tu_hexfix(iv, 16, "000102030405060708090a0b0c0d0e0f");
	tu_hexfix(pt, 32, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
	tu_hexfix(ct, 32, "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2");
	ck_assert_int_eq(crypto_aes_cbc(k, 16, iv, true, pt, 32, out), APDU_OK);
	ck_assert_int_eq(memcmp(out, ct, 32), 0);
	ck_assert_int_eq(crypto_aes_cbc(k, 16, iv, false, out, 32, out), APDU_OK);
	ck_assert_int_eq(memcmp(out, pt, 32), 0);
	ck_assert_int_eq(crypto_aes_cbc(k, 16, iv, true, pt, 31, out), APDU_E_BAD_LENGTH);
	uint8_t fk[16], fpt[16], blk[16];
	tu_hexfix(fk, 16, "000102030405060708090a0b0c0d0e0f");
	tu_hexfix(fpt, 16, "00112233445566778899aabbccddeeff");
	ck_assert_int_eq(crypto_aes_block(fk, 16, fpt, blk), APDU_OK);
	tu_assert_hex(blk, 16, "69c4e0d86a7b0430d8cdb78070b4c55a", "FIPS 197 C.1");
}
END_TEST

START_TEST(des3)
{
	/* SP 800-67 style check by round trip plus the known property: 2-key 3DES with K1 = K2 is single DES.
	 * FIPS 81 single-DES ECB example: key 0123456789abcdef, "Now is t" -> 3fa40e8a984d4815 */
	uint8_t k[16], pt[8], out[8];
	tu_hexfix(k, 16, "0123456789abcdef0123456789abcdef");
	tu_hexfix(pt, 8, "4e6f772069732074");
	ck_assert_int_eq(crypto_des3_cbc(k, 16, NULL, true, pt, 8, out), APDU_OK);
	tu_assert_hex(out, 8, "3fa40e8a984d4815", "FIPS 81 via degenerate 3DES");
	uint8_t k3[24], data[24], enc[24], dec[24];
	for (int i = 0; i < 24; i++) {
		k3[i] = (uint8_t)(i * 7 + 1);
		data[i] = (uint8_t)i;
	}
	ck_assert_int_eq(crypto_des3_cbc(k3, 24, NULL, true, data, 24, enc), APDU_OK);
	ck_assert_int_ne(memcmp(enc, data, 24), 0);
	ck_assert_int_eq(crypto_des3_cbc(k3, 24, NULL, false, enc, 24, dec), APDU_OK);
	ck_assert_int_eq(memcmp(dec, data, 24), 0);
	ck_assert_int_eq(crypto_des3_cbc(k3, 8, NULL, true, data, 8, enc), APDU_E_KEY_LENGTH);
	/* the CBC-MAC is the last CBC block of the zero-padded data */
	uint8_t mac[8], cbc[24];
	ck_assert_int_eq(crypto_des3_cbc_mac(k3, 24, data, 20, mac), APDU_OK);
	uint8_t padded[24] = { 0 };
	memcpy(padded, data, 20);
	ck_assert_int_eq(crypto_des3_cbc(k3, 24, NULL, true, padded, 24, cbc), APDU_OK);
	ck_assert_int_eq(memcmp(mac, cbc + 16, 8), 0);
}
END_TEST

START_TEST(sha256_and_kdfs)
{
	uint8_t h[32];
	ck_assert_int_eq(crypto_sha256((const uint8_t *)"abc", 3, h), APDU_OK);
	tu_assert_hex(h, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "SHA-256(abc)");
	/* X9.63: out = SHA-256(Z ‖ 00000001 ‖ SI) ‖ SHA-256(Z ‖ 00000002 ‖ SI), checked independently */
	uint8_t z[32], si[20], out[48], buf[56], blk[32];
	for (int i = 0; i < 32; i++)
		z[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 20; i++)
		si[i] = (uint8_t)i;
	ck_assert_int_eq(crypto_x963_kdf_sha256(z, 32, si, 20, out, 48), APDU_OK);
	for (uint8_t ctr = 1; ctr <= 2; ctr++) {
		memcpy(buf, z, 32);
		buf[32] = buf[33] = buf[34] = 0;
		buf[35] = ctr;
		memcpy(buf + 36, si, 20);
		ck_assert_int_eq(crypto_sha256(buf, 56, blk), APDU_OK);
		ck_assert_int_eq(memcmp(out + 32 * (ctr - 1), blk, ctr == 1 ? 32 : 16), 0);
	}
	/* SP 800-108 counter mode with CMAC: K(i) = CMAC(K, i(32) ‖ label ‖ 00 ‖ context ‖ L(32)) */
	uint8_t key[16], label[4] = { 1, 2, 3, 4 }, ctx[5] = { 9, 8, 7, 6, 5 }, kb[32], in[64], c[16];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)(i * 3);
	ck_assert_int_eq(crypto_kbkdf_cmac(key, 16, label, 4, ctx, 5, kb, 32), APDU_OK);
	for (uint8_t i = 1; i <= 2; i++) {
		size_t n = 0;
		in[n++] = 0;
		in[n++] = 0;
		in[n++] = 0;
		in[n++] = i;
		memcpy(in + n, label, 4);
		n += 4;
		in[n++] = 0;
		memcpy(in + n, ctx, 5);
		n += 5;
		in[n++] = 0;
		in[n++] = 0;
		in[n++] = 1;
		in[n++] = 0; /* L = 256 bits */
		ck_assert_int_eq(crypto_aes_cmac(key, 16, in, n, c), APDU_OK);
		ck_assert_int_eq(memcmp(kb + 16 * (i - 1), c, 16), 0);
	}
}
END_TEST

static void ec_roundtrip(crypto_curve curve)
{
	crypto_eckey *a = NULL, *b = NULL, *apub = NULL, *bpub = NULL, *a2 = NULL;
	uint8_t pa[65], pb[65], za[32], zb[32], d[32], sig[64];
	ck_assert_int_eq(crypto_ec_generate(curve, &a), APDU_OK);
	ck_assert_int_eq(crypto_ec_generate(curve, &b), APDU_OK);
	ck_assert_int_eq(crypto_ec_public(a, pa), APDU_OK);
	ck_assert_int_eq(crypto_ec_public(b, pb), APDU_OK);
	ck_assert_uint_eq(pa[0], 0x04);
	ck_assert_int_eq(crypto_ec_from_public(curve, pa, 65, &apub), APDU_OK);
	ck_assert_int_eq(crypto_ec_from_public(curve, pb, 65, &bpub), APDU_OK);
	ck_assert_int_eq(crypto_ecdh(a, bpub, za), APDU_OK);
	ck_assert_int_eq(crypto_ecdh(b, apub, zb), APDU_OK);
	ck_assert_int_eq(memcmp(za, zb, 32), 0);
	/* the private scalar reproduces the same public point */
	ck_assert_int_eq(crypto_ec_private(a, d), APDU_OK);
	ck_assert_int_eq(crypto_ec_from_private(curve, d, &a2), APDU_OK);
	uint8_t pa2[65];
	ck_assert_int_eq(crypto_ec_public(a2, pa2), APDU_OK);
	ck_assert_int_eq(memcmp(pa, pa2, 65), 0);
	ck_assert_int_eq(crypto_ec_curve(a2), curve);
	/* the agreement key (no public part) agrees on the same secret, and has no public point to give */
	crypto_eckey *ag = NULL;
	uint8_t zag[32], none[65];
	ck_assert_int_eq(crypto_ec_agreement_key(curve, d, &ag), APDU_OK);
	ck_assert_int_eq(crypto_ecdh(ag, bpub, zag), APDU_OK);
	ck_assert_int_eq(memcmp(za, zag, 32), 0);
	ck_assert_int_ne(crypto_ec_public(ag, none), APDU_OK);
	crypto_ec_free(ag);
	/* raw r‖s signatures verify with the public key only, and fail when anything changes */
	const uint8_t msg[] = "3A02 A6 7F49 85";
	ck_assert_int_eq(crypto_ecdsa_sign(a2, msg, sizeof(msg), sig), APDU_OK);
	ck_assert_int_eq(crypto_ecdsa_verify(apub, msg, sizeof(msg), sig), APDU_OK);
	sig[10] ^= 1;
	ck_assert_int_eq(crypto_ecdsa_verify(apub, msg, sizeof(msg), sig), APDU_E_MAC);
	sig[10] ^= 1;
	ck_assert_int_eq(crypto_ecdsa_verify(bpub, msg, sizeof(msg), sig), APDU_E_MAC);
	ck_assert_int_eq(crypto_ecdsa_verify(apub, msg, sizeof(msg) - 1, sig), APDU_E_MAC);
	/* a point off the curve is refused */
	crypto_eckey *bad = NULL;
	pa[64] ^= 1;
	ck_assert_int_ne(crypto_ec_from_public(curve, pa, 65, &bad), APDU_OK);
	ck_assert_ptr_null(bad);
	ck_assert_int_eq(crypto_ec_from_public(curve, pa, 64, &bad), APDU_E_BAD_LENGTH);
	crypto_ec_free(a);
	crypto_ec_free(b);
	crypto_ec_free(apub);
	crypto_ec_free(bpub);
	crypto_ec_free(a2);
	crypto_ec_free(NULL);
}

START_TEST(ec_p256)
{
	ec_roundtrip(CRYPTO_CURVE_P256);
}
END_TEST

START_TEST(ec_brainpool)
{
	ec_roundtrip(CRYPTO_CURVE_BRAINPOOLP256R1);
}
END_TEST

/* A known P-256 key pair (RFC 6979 A.2.5): private x -> public Ux, Uy */
START_TEST(ec_known_key)
{
	uint8_t d[32], pub[65];
	crypto_eckey *k = NULL;
	tu_hexfix(d, 32, "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
	ck_assert_int_eq(crypto_ec_from_private(CRYPTO_CURVE_P256, d, &k), APDU_OK);
	ck_assert_int_eq(crypto_ec_public(k, pub), APDU_OK);
	tu_assert_hex(pub, 65,
		      "04 60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6"
		      "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299",
		      "RFC 6979 A.2.5 public key");
	crypto_ec_free(k);
	uint8_t zero[32] = { 0 }, order[32];
	ck_assert_int_ne(crypto_ec_from_private(CRYPTO_CURVE_P256, zero, &k), APDU_OK);
	ck_assert_int_ne(crypto_ec_agreement_key(CRYPTO_CURVE_P256, zero, &k), APDU_OK);
	/* a scalar that is not below the group's order is no key, either way */
	tu_hexfix(order, 32, "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
	ck_assert_int_ne(crypto_ec_from_private(CRYPTO_CURVE_P256, order, &k), APDU_OK);
	ck_assert_int_ne(crypto_ec_agreement_key(CRYPTO_CURVE_P256, order, &k), APDU_OK);
	ck_assert_int_eq(crypto_ec_generate((crypto_curve)7, &k), APDU_E_UNSUPPORTED);
}
END_TEST

START_TEST(misc)
{
	uint8_t a[8] = { 1, 2, 3 }, b[8] = { 1, 2, 3 };
	ck_assert(crypto_equal(a, b, 8));
	b[7] = 1;
	ck_assert(!crypto_equal(a, b, 8));
	crypto_wipe(a, 8);
	ck_assert_uint_eq(a[0], 0);
	uint8_t r1[32], r2[32];
	ck_assert_int_eq(crypto_random(r1, 32), APDU_OK);
	ck_assert_int_eq(crypto_random(r2, 32), APDU_OK);
	ck_assert_int_ne(memcmp(r1, r2, 32), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("crypto");
	TCase *tc = tcase_create("crypto");
	tcase_add_test(tc, aes_cmac_vectors);
	tcase_add_test(tc, aes_cbc_vectors);
	tcase_add_test(tc, des3);
	tcase_add_test(tc, sha256_and_kdfs);
	tcase_add_test(tc, ec_p256);
	tcase_add_test(tc, ec_brainpool);
	tcase_add_test(tc, ec_known_key);
	tcase_add_test(tc, misc);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
