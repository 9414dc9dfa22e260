/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one module that touches OpenSSL (3.x EVP, EVP_MAC, EVP_KDF). Keys passed in are never copied into
 * long-lived state here; callers wipe their own key buffers with crypto_wipe(). */
#ifndef APDU_CRYPTO_H
#define APDU_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/err.h"

void crypto_wipe(void *p, size_t len);
/* Constant-time comparison; true when equal. */
bool crypto_equal(const void *a, const void *b, size_t len);
APDU_MUST_CHECK apdu_err crypto_random(void *out, size_t len);

/* AES-CBC without padding (len a multiple of 16). key 16/24/32 bytes; iv NULL = zero IV. in == out allowed. */
APDU_MUST_CHECK apdu_err crypto_aes_cbc(const uint8_t *key, size_t key_len, const uint8_t *iv, bool encrypt,
					const uint8_t *in, size_t len, uint8_t *out);
/* One AES block, ECB. */
APDU_MUST_CHECK apdu_err crypto_aes_block(const uint8_t *key, size_t key_len, const uint8_t in[16], uint8_t out[16]);
/* AES-CMAC (NIST SP 800-38B), full 16 bytes. */
APDU_MUST_CHECK apdu_err crypto_aes_cmac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
					 uint8_t out[16]);

/* Triple-DES CBC without padding (len a multiple of 8); key 16 bytes (2-key, K1 K2 K1) or 24 (3-key). */
APDU_MUST_CHECK apdu_err crypto_des3_cbc(const uint8_t *key, size_t key_len, const uint8_t *iv, bool encrypt,
					 const uint8_t *in, size_t len, uint8_t *out);
/* ETSI TS 102 225 5.1.3.1 CC with DES in CBC mode: data zero-padded to a multiple of 8, zero IV, the last
 * cipher block is the MAC. */
APDU_MUST_CHECK apdu_err crypto_des3_cbc_mac(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
					     uint8_t out[8]);

APDU_MUST_CHECK apdu_err crypto_sha256(const uint8_t *data, size_t len, uint8_t out[32]);
/* ANSI X9.63 KDF with SHA-256: out = H(Z ‖ counter ‖ SharedInfo) ‖ ..., counter from 1. */
APDU_MUST_CHECK apdu_err crypto_x963_kdf_sha256(const uint8_t *z, size_t z_len, const uint8_t *shared_info,
						size_t si_len, uint8_t *out, size_t out_len);
/* NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF, in the standard input order
 * (i ‖ label ‖ 00 ‖ context ‖ L, counter 32 bits, L 32 bits), via EVP_KDF "KBKDF". */
APDU_MUST_CHECK apdu_err crypto_kbkdf_cmac(const uint8_t *key, size_t key_len, const uint8_t *label, size_t label_len,
					   const uint8_t *context, size_t ctx_len, uint8_t *out, size_t out_len);

/* Elliptic curves used by GP certificates; the value is the GP curve parameter reference. */
typedef enum {
	CRYPTO_CURVE_P256 = 0x00,
	CRYPTO_CURVE_BRAINPOOLP256R1 = 0x03,
} crypto_curve;

typedef struct crypto_eckey crypto_eckey;

APDU_MUST_CHECK apdu_err crypto_ec_generate(crypto_curve curve, crypto_eckey **out);
/* From a 32-byte private scalar (the public point is derived). */
APDU_MUST_CHECK apdu_err crypto_ec_from_private(crypto_curve curve, const uint8_t d[32], crypto_eckey **out);
/* The private key d for crypto_ecdh alone: no public part (crypto_ec_public fails on it), which spares
 * the scalar multiplication that derives it. */
APDU_MUST_CHECK apdu_err crypto_ec_agreement_key(crypto_curve curve, const uint8_t d[32], crypto_eckey **out);
/* From an uncompressed point 04 ‖ X ‖ Y (65 bytes); refuses points not on the curve. */
APDU_MUST_CHECK apdu_err crypto_ec_from_public(crypto_curve curve, const uint8_t *pub, size_t len, crypto_eckey **out);
APDU_MUST_CHECK apdu_err crypto_ec_public(const crypto_eckey *k, uint8_t out[65]);
APDU_MUST_CHECK apdu_err crypto_ec_private(const crypto_eckey *k, uint8_t out[32]);
crypto_curve crypto_ec_curve(const crypto_eckey *k);
void crypto_ec_free(crypto_eckey *k);
/* ECDH (ECKA-DH): Z = x-coordinate of d·Q, 32 bytes. */
APDU_MUST_CHECK apdu_err crypto_ecdh(const crypto_eckey *priv, const crypto_eckey *peer, uint8_t z[32]);
/* ECDSA with SHA-256; signature as raw r ‖ s (2 × 32 bytes), as GP certificates carry it. */
APDU_MUST_CHECK apdu_err crypto_ecdsa_sign(const crypto_eckey *priv, const uint8_t *msg, size_t len, uint8_t sig[64]);
/* APDU_OK when valid, APDU_E_MAC when the signature does not verify. */
APDU_MUST_CHECK apdu_err crypto_ecdsa_verify(const crypto_eckey *pub, const uint8_t *msg, size_t len,
					     const uint8_t sig[64]);

#endif
