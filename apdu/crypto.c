/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/bn.h>
#include <openssl/param_build.h>

#include <pthread.h>

#include "apdu/crypto.h"

/* Algorithms fetched once: OpenSSL 3 looks a legacy EVP_aes_128_cbc() or a CMAC by name up again on
 * every init (name lookups, locks), which was most of the cost of a short message. CMAC contexts are
 * kept as templates with their cipher set (and a zero key), duplicated and keyed per use. A fetch that fails leaves NULL and the
 * call falls back to the lookup by name. */
static EVP_CIPHER *fetched_aes[3], *fetched_des3[2];
static EVP_MAC_CTX *cmac_template[3];
static EVP_MD *fetched_sha256;
static EC_GROUP *fetched_group[2]; /* P-256, brainpoolP256r1: building one costs more than a key */
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;

static void fetch_algorithms(void)
{
	static const char *const aes[3] = { "AES-128-CBC", "AES-192-CBC", "AES-256-CBC" };
	EVP_MAC *cmac = EVP_MAC_fetch(NULL, "CMAC", NULL);
	for (int i = 0; i < 3; i++) {
		fetched_aes[i] = EVP_CIPHER_fetch(NULL, aes[i], NULL);
		EVP_MAC_CTX *t = cmac ? EVP_MAC_CTX_new(cmac) : NULL;
		OSSL_PARAM p[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)aes[i], 0),
				   OSSL_PARAM_construct_end() };
		/* keyed once (with zeros): OpenSSL copies only an initialised CMAC context */
		static const uint8_t zero[32];
		if (t && (EVP_MAC_CTX_set_params(t, p) != 1 || EVP_MAC_init(t, zero, 16 + 8 * (size_t)i, NULL) != 1)) {
			EVP_MAC_CTX_free(t);
			t = NULL;
		}
		cmac_template[i] = t;
	}
	EVP_MAC_free(cmac);
	fetched_des3[0] = EVP_CIPHER_fetch(NULL, "DES-EDE-CBC", NULL);
	fetched_des3[1] = EVP_CIPHER_fetch(NULL, "DES-EDE3-CBC", NULL);
	fetched_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	fetched_group[0] = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
	fetched_group[1] = EC_GROUP_new_by_curve_name(NID_brainpoolP256r1);
}

static void fetch(void)
{
	pthread_once(&fetch_once, fetch_algorithms);
}

struct crypto_eckey {
	EVP_PKEY *pkey;
	crypto_curve curve;
};

void crypto_wipe(void *p, size_t len)
{
	/* glibc's explicit_bzero: memset's speed (OPENSSL_cleanse stores a byte at a time, and a card's
	 * profile slot is 56 KiB), and a barrier the compiler cannot remove */
	if (p && len)
		explicit_bzero(p, len);
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) == 0;
}

apdu_err crypto_random(void *out, size_t len)
{
	if (len > (size_t)0x7fffffff)
		return APDU_E_INVAL;
	return RAND_bytes(out, (int)len) == 1 ? APDU_OK : APDU_E_CRYPTO;
}

static const EVP_CIPHER *aes_cbc_for(size_t key_len)
{
	fetch();
	switch (key_len) {
	case 16: return fetched_aes[0] ? fetched_aes[0] : EVP_aes_128_cbc();
	case 24: return fetched_aes[1] ? fetched_aes[1] : EVP_aes_192_cbc();
	case 32: return fetched_aes[2] ? fetched_aes[2] : EVP_aes_256_cbc();
	}
	return NULL;
}

static apdu_err cipher_run(const EVP_CIPHER *ciph, const uint8_t *key, const uint8_t *iv, bool encrypt,
			   const uint8_t *in, size_t len, uint8_t *out)
{
	if (len > (size_t)0x7fffffff)
		return APDU_E_INVAL;
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	apdu_err ret = APDU_E_CRYPTO;
	int outl = 0, finl = 0;
	if (!ctx)
		return APDU_E_NOMEM;
	if (EVP_CipherInit_ex(ctx, ciph, NULL, key, iv, encrypt ? 1 : 0) != 1)
		goto out;
	EVP_CIPHER_CTX_set_padding(ctx, 0);
	if (len && EVP_CipherUpdate(ctx, out, &outl, in, (int)len) != 1)
		goto out;
	if (EVP_CipherFinal_ex(ctx, out + outl, &finl) != 1)
		goto out;
	ret = APDU_OK;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

apdu_err crypto_aes_cbc(const uint8_t *key, size_t key_len, const uint8_t *iv, bool encrypt, const uint8_t *in,
			size_t len, uint8_t *out)
{
	static const uint8_t zero_iv[16];
	const EVP_CIPHER *c = aes_cbc_for(key_len);
	if (!c)
		return APDU_E_KEY_LENGTH;
	if (len % 16)
		return APDU_E_BAD_LENGTH;
	return cipher_run(c, key, iv ? iv : zero_iv, encrypt, in, len, out);
}

apdu_err crypto_aes_block(const uint8_t *key, size_t key_len, const uint8_t in[16], uint8_t out[16])
{
	/* CBC with a zero IV over one block is ECB */
	return crypto_aes_cbc(key, key_len, NULL, true, in, 16, out);
}

apdu_err crypto_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len, uint8_t out[16])
{
	const char *name;
	int k;
	switch (key_len) {
	case 16:
		name = "AES-128-CBC";
		k = 0;
		break;
	case 24:
		name = "AES-192-CBC";
		k = 1;
		break;
	case 32:
		name = "AES-256-CBC";
		k = 2;
		break;
	default: return APDU_E_KEY_LENGTH;
	}
	fetch();
	EVP_MAC *mac = NULL;
	EVP_MAC_CTX *ctx;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER, (char *)name, 0),
		OSSL_PARAM_construct_end(),
	};
	if (cmac_template[k]) {
		ctx = EVP_MAC_CTX_dup(cmac_template[k]);
	} else {
		mac = EVP_MAC_fetch(NULL, "CMAC", NULL);
		ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	}
	apdu_err ret = APDU_E_CRYPTO;
	size_t outl = 0;
	if (!ctx)
		goto out;
	if (EVP_MAC_init(ctx, key, key_len, cmac_template[k] ? NULL : params) != 1)
		goto out;
	if (len && EVP_MAC_update(ctx, data, len) != 1)
		goto out;
	if (EVP_MAC_final(ctx, out, &outl, 16) != 1 || outl != 16)
		goto out;
	ret = APDU_OK;
out:
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ret;
}

apdu_err crypto_des3_cbc(const uint8_t *key, size_t key_len, const uint8_t *iv, bool encrypt, const uint8_t *in,
			 size_t len, uint8_t *out)
{
	static const uint8_t zero_iv[8];
	const EVP_CIPHER *c;
	fetch();
	if (key_len == 16)
		c = fetched_des3[0] ? fetched_des3[0] : EVP_des_ede_cbc();
	else if (key_len == 24)
		c = fetched_des3[1] ? fetched_des3[1] : EVP_des_ede3_cbc();
	else
		return APDU_E_KEY_LENGTH;
	if (len % 8)
		return APDU_E_BAD_LENGTH;
	return cipher_run(c, key, iv ? iv : zero_iv, encrypt, in, len, out);
}

apdu_err crypto_des3_cbc_mac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len, uint8_t out[8])
{
	if (key_len != 16 && key_len != 24)
		return APDU_E_KEY_LENGTH;
	size_t padded = (len + 7) / 8 * 8;
	if (padded == 0)
		padded = 8;
	uint8_t *buf = OPENSSL_zalloc(padded);
	if (!buf)
		return APDU_E_NOMEM;
	if (len)
		memcpy(buf, data, len);
	apdu_err e = crypto_des3_cbc(key, key_len, NULL, true, buf, padded, buf);
	if (!e)
		memcpy(out, buf + padded - 8, 8);
	OPENSSL_clear_free(buf, padded);
	return e;
}

apdu_err crypto_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
	unsigned int l = 0;
	fetch();
	if (EVP_Digest(data, len, out, &l, fetched_sha256 ? fetched_sha256 : EVP_sha256(), NULL) != 1 || l != 32)
		return APDU_E_CRYPTO;
	return APDU_OK;
}

static apdu_err kdf_run(const char *name, OSSL_PARAM *params, uint8_t *out, size_t out_len)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, name, NULL);
	EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	apdu_err ret = APDU_E_CRYPTO;
	if (ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1)
		ret = APDU_OK;
	EVP_KDF_CTX_free(ctx);
	EVP_KDF_free(kdf);
	return ret;
}

apdu_err crypto_x963_kdf_sha256(const uint8_t *z, size_t z_len, const uint8_t *shared_info, size_t si_len, uint8_t *out,
				size_t out_len)
{
	if (!z_len || !out_len)
		return APDU_E_INVAL;
	OSSL_PARAM params[4];
	size_t n = 0;
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)z, z_len);
	if (si_len)
		params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)shared_info, si_len);
	params[n] = OSSL_PARAM_construct_end();
	return kdf_run("X963KDF", params, out, out_len);
}

apdu_err crypto_kbkdf_cmac(const uint8_t *key, size_t key_len, const uint8_t *label, size_t label_len,
			   const uint8_t *context, size_t ctx_len, uint8_t *out, size_t out_len)
{
	const char *cipher;
	switch (key_len) {
	case 16: cipher = "AES-128-CBC"; break;
	case 24: cipher = "AES-192-CBC"; break;
	case 32: cipher = "AES-256-CBC"; break;
	default: return APDU_E_KEY_LENGTH;
	}
	OSSL_PARAM params[7];
	size_t n = 0;
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE, (char *)"counter", 0);
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC, (char *)"CMAC", 0);
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CIPHER, (char *)cipher, 0);
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
	if (label_len)
		params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)label, label_len);
	if (ctx_len)
		params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)context, ctx_len);
	params[n] = OSSL_PARAM_construct_end();
	return kdf_run("KBKDF", params, out, out_len);
}

/* ---- elliptic curves ---- */

static const char *curve_name(crypto_curve c)
{
	switch (c) {
	case CRYPTO_CURVE_P256: return "prime256v1";
	case CRYPTO_CURVE_BRAINPOOLP256R1: return "brainpoolP256r1";
	}
	return NULL;
}

static apdu_err eckey_wrap(EVP_PKEY *pkey, crypto_curve curve, crypto_eckey **out)
{
	crypto_eckey *k = OPENSSL_zalloc(sizeof(*k));
	if (!k) {
		EVP_PKEY_free(pkey);
		return APDU_E_NOMEM;
	}
	k->pkey = pkey;
	k->curve = curve;
	*out = k;
	return APDU_OK;
}

apdu_err crypto_ec_generate(crypto_curve curve, crypto_eckey **out)
{
	const char *name = curve_name(curve);
	if (!name)
		return APDU_E_UNSUPPORTED;
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", name);
	if (!pkey)
		return APDU_E_CRYPTO;
	return eckey_wrap(pkey, curve, out);
}

static apdu_err ec_fromdata(crypto_curve curve, const uint8_t *d, bool derive, const uint8_t *pub, size_t pub_len,
			    crypto_eckey **out)
{
	const char *name = curve_name(curve);
	if (!name)
		return APDU_E_UNSUPPORTED;
	apdu_err ret = APDU_E_CRYPTO;
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *bn = NULL;
	uint8_t derived[65];
	EC_GROUP *own = NULL;
	const EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	BN_CTX *bnctx = NULL;

	if (!bld)
		return APDU_E_NOMEM;
	if (d) {
		bn = BN_bin2bn(d, 32, NULL);
		if (!bn || BN_is_zero(bn))
			goto out;
		fetch();
		grp = fetched_group[curve == CRYPTO_CURVE_P256 ? 0 : 1];
		if (!grp)
			grp = own = EC_GROUP_new_by_curve_name(OBJ_sn2nid(name));
		if (!grp || BN_cmp(bn, EC_GROUP_get0_order(grp)) >= 0)
			goto out;
	}
	if (d && derive) {
		/* derive the public point so the key is complete */
		bnctx = BN_CTX_new();
		pt = EC_POINT_new(grp);
		if (!pt || !bnctx || EC_POINT_mul(grp, pt, bn, NULL, NULL, bnctx) != 1)
			goto out;
		if (EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, derived, 65, bnctx) != 65)
			goto out;
		pub = derived;
		pub_len = 65;
	}
	if (!d && (pub_len != 65 || pub[0] != 0x04)) {
		ret = APDU_E_BAD_LENGTH;
		goto out;
	}
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, name, 0) ||
	    (pub && !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len)))
		goto out;
	if (bn && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bn))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1)
		goto out;
	if (EVP_PKEY_fromdata(ctx, &pkey, d ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	/* fromdata does not check that a given point is on the curve (a derived one is). Both curves have
	 * cofactor 1, so a point on the curve is in the group: the quick check (no multiplication by the
	 * order) is the whole check. */
	EVP_PKEY_CTX_free(ctx);
	ctx = d ? NULL : EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (!d && (!ctx || EVP_PKEY_public_check_quick(ctx) != 1)) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
		ret = APDU_E_INVAL;
		goto out;
	}
	ret = eckey_wrap(pkey, curve, out);
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(bn);
	EC_POINT_free(pt);
	EC_GROUP_free(own);
	BN_CTX_free(bnctx);
	return ret;
}

apdu_err crypto_ec_from_private(crypto_curve curve, const uint8_t d[32], crypto_eckey **out)
{
	return ec_fromdata(curve, d, true, NULL, 0, out);
}

apdu_err crypto_ec_agreement_key(crypto_curve curve, const uint8_t d[32], crypto_eckey **out)
{
	return ec_fromdata(curve, d, false, NULL, 0, out);
}

apdu_err crypto_ec_from_public(crypto_curve curve, const uint8_t *pub, size_t len, crypto_eckey **out)
{
	return ec_fromdata(curve, NULL, false, pub, len, out);
}

apdu_err crypto_ec_public(const crypto_eckey *k, uint8_t out[65])
{
	size_t len = 0;
	if (EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, out, 65, &len) != 1 || len != 65)
		return APDU_E_CRYPTO;
	return APDU_OK;
}

apdu_err crypto_ec_private(const crypto_eckey *k, uint8_t out[32])
{
	BIGNUM *bn = NULL;
	if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_PRIV_KEY, &bn) != 1)
		return APDU_E_CRYPTO;
	int ok = BN_bn2binpad(bn, out, 32) == 32;
	BN_clear_free(bn);
	return ok ? APDU_OK : APDU_E_CRYPTO;
}

crypto_curve crypto_ec_curve(const crypto_eckey *k)
{
	return k->curve;
}

void crypto_ec_free(crypto_eckey *k)
{
	if (!k)
		return;
	EVP_PKEY_free(k->pkey); /* OpenSSL clears private key material on free */
	OPENSSL_free(k);
}

apdu_err crypto_ecdh(const crypto_eckey *priv, const crypto_eckey *peer, uint8_t z[32])
{
	if (priv->curve != peer->curve)
		return APDU_E_INVAL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, priv->pkey, NULL);
	apdu_err ret = APDU_E_CRYPTO;
	size_t len = 32;
	if (!ctx)
		return APDU_E_NOMEM;
	/* no second check of the peer: every public key here came in through crypto_ec_from_public (on the
	 * curve, which with cofactor 1 is the whole check) or was derived; OpenSSL's own check at this point
	 * is the full one, a scalar multiplication by the order, as costly as the agreement itself */
	if (EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, peer->pkey, 0) == 1 &&
	    EVP_PKEY_derive(ctx, z, &len) == 1 && len == 32)
		ret = APDU_OK;
	EVP_PKEY_CTX_free(ctx);
	return ret;
}

apdu_err crypto_ecdsa_sign(const crypto_eckey *priv, const uint8_t *msg, size_t len, uint8_t sig[64])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[80];
	size_t der_len = sizeof(der);
	apdu_err ret = APDU_E_CRYPTO;
	ECDSA_SIG *s = NULL;
	if (!md)
		return APDU_E_NOMEM;
	if (EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, priv->pkey, NULL) != 1 ||
	    EVP_DigestSign(md, der, &der_len, msg, len) != 1)
		goto out;
	const uint8_t *p = der;
	s = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (!s)
		goto out;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(s), sig, 32) != 32 || BN_bn2binpad(ECDSA_SIG_get0_s(s), sig + 32, 32) != 32)
		goto out;
	ret = APDU_OK;
out:
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(md);
	return ret;
}

apdu_err crypto_ecdsa_verify(const crypto_eckey *pub, const uint8_t *msg, size_t len, const uint8_t sig[64])
{
	ECDSA_SIG *s = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *ss = BN_bin2bn(sig + 32, 32, NULL);
	uint8_t *der = NULL;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	apdu_err ret = APDU_E_CRYPTO;
	if (!s || !r || !ss || !md) {
		BN_free(r);
		BN_free(ss);
		ret = APDU_E_NOMEM;
		goto out;
	}
	ECDSA_SIG_set0(s, r, ss);
	int der_len = i2d_ECDSA_SIG(s, &der);
	if (der_len <= 0)
		goto out;
	if (EVP_DigestVerifyInit_ex(md, NULL, "SHA256", NULL, NULL, pub->pkey, NULL) != 1)
		goto out;
	int v = EVP_DigestVerify(md, der, (size_t)der_len, msg, len);
	ret = v == 1 ? APDU_OK : APDU_E_MAC;
out:
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	EVP_MD_CTX_free(md);
	return ret;
}
