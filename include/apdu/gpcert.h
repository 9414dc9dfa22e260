/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GlobalPlatform-format certificates as SGP.02 uses them (docs/protocol.md §3):
 * 7F21 { 93 serial, 42 CA id, 5F20 subject, 95 key usage, [5F25 effective], 5F24 expiry,
 *        73 { C8 01 role, C9 auth key id }, 7F49 { B0 41 04‖X‖Y, F0 01 curve }, 5F37 r‖s }
 * The signature covers the TLVs from 93 up to (not including) 5F37. */
#ifndef APDU_GPCERT_H
#define APDU_GPCERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"
#include "apdu/crypto.h"

#define GPCERT_ROLE_SMDP  0x01
#define GPCERT_ROLE_SMSR  0x02
#define GPCERT_ROLE_EUM	  0x03 /* bench's own choice for the EUM certificate */
#define GPCERT_ROLE_ECASD 0x04 /* bench's own choice for CERT.ECASD.ECKA */
#define GPCERT_ROLE_CI	  0x05

#define GPCERT_KEY_USAGE_SIGN  0x0082 /* digital signature */
#define GPCERT_KEY_USAGE_AGREE 0x0008 /* key agreement */

typedef struct {
	uint8_t serial[16];
	size_t serial_len;
	uint8_t ca_id[16];
	size_t ca_id_len;
	char subject[64];
	uint16_t key_usage;
	uint8_t effective[4]; /* BCD YYYYMMDD */
	uint8_t expiry[4];
	uint8_t role;
	uint8_t auth_key_id[20];
	size_t auth_key_id_len;
	uint8_t pub[65];
	crypto_curve curve;
	/* set by gpcert_parse: where the signed part and the signature are in the input */
	const uint8_t *signed_part;
	size_t signed_len;
	uint8_t sig[64];
} gpcert;

/* Encodes and signs with `signer` (the issuer's private key); appends the whole 7F21 TLV. */
APDU_MUST_CHECK apdu_err gpcert_build(const gpcert *c, const crypto_eckey *signer, abuf *out);
/* Parses a whole 7F21 TLV. Fields point into / are copied from `in`. */
APDU_MUST_CHECK apdu_err gpcert_parse(const uint8_t *in, size_t len, gpcert *out);
/* Verifies the signature with the issuer's public key: APDU_OK or APDU_E_MAC. */
APDU_MUST_CHECK apdu_err gpcert_verify(const gpcert *c, const crypto_eckey *issuer_pub);
/* The certified public key as a key object. */
APDU_MUST_CHECK apdu_err gpcert_pubkey(const gpcert *c, crypto_eckey **out);
/* Issues a certificate for `pub` (65-byte point) with the given role and subject, signed by `issuer`
 * (serial and key identifiers from SHA-256 of the keys, validity 2026-01-01..2046-12-31). */
APDU_MUST_CHECK apdu_err gpcert_issue(const crypto_eckey *issuer, uint8_t role, uint16_t key_usage, const char *subject,
				      const uint8_t pub[65], crypto_curve curve, abuf *out);

#endif
