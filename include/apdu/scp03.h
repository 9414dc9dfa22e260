/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SCP03 (GlobalPlatform Card Specification 2.3 Amendment D), host and card sides, security levels
 * 01/03/11/13/33, AES-128/192/256, S8 mode; and SCP03t, its TLV form used by SGP.02 for profile download. */
#ifndef APDU_SCP03_H
#define APDU_SCP03_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"
#include "apdu/proto.h"

#define SCP03_LEVEL_CMAC 0x01
#define SCP03_LEVEL_CDEC 0x02
#define SCP03_LEVEL_RMAC 0x10
#define SCP03_LEVEL_RENC 0x20

/* Key derivation constants (Amendment D 4.1.5 table 4-1). */
enum {
	SCP03_DC_CARD_CRYPTOGRAM = 0x00,
	SCP03_DC_HOST_CRYPTOGRAM = 0x01,
	SCP03_DC_CARD_CHALLENGE = 0x02,
	SCP03_DC_S_ENC = 0x04,
	SCP03_DC_S_MAC = 0x06,
	SCP03_DC_S_RMAC = 0x07,
};

typedef struct {
	uint8_t kvn;
	size_t key_len; /* 16, 24 or 32 */
	uint8_t enc[32], mac[32], dek[32];
} scp03_keys;

typedef enum { SCP03_IDLE, SCP03_INITIALIZED, SCP03_AUTHENTICATED } scp03_state;

typedef struct {
	scp03_state state;
	uint8_t kvn;
	uint8_t i_param;
	uint8_t level;
	size_t key_len;
	uint8_t s_enc[32], s_mac[32], s_rmac[32];
	uint8_t chain[16]; /* MAC chaining value */
	uint32_t counter;  /* encryption counter of the last command */
	uint8_t host_challenge[8], card_challenge[8];
	uint8_t host_cryptogram[8], card_cryptogram[8];
} scp03_session;

void scp03_keys_clear(scp03_keys *k);
/* Wipes all session keys and returns to IDLE. */
void scp03_session_clear(scp03_session *s);
bool scp03_level_valid(uint8_t level);

/* Amendment D 4.1.5: NIST SP 800-108 counter mode, AES-CMAC, with SCP03's own input order
 * (11 x '00' ‖ constant ‖ '00' ‖ L ‖ i ‖ context). out_len in bytes. */
APDU_MUST_CHECK apdu_err scp03_kdf(const uint8_t *key, size_t key_len, uint8_t constant, const uint8_t *context,
				   size_t ctx_len, uint8_t *out, size_t out_len);
/* Pseudo-random card challenge (Amendment D 6.2.2.1): KDF(constant 02, seq counter ‖ AID) with the ENC key. */
APDU_MUST_CHECK apdu_err scp03_card_challenge(const scp03_keys *k, const uint8_t seq[3], const uint8_t *aid,
					      size_t aid_len, uint8_t out[8]);

/* ---- host side ---- */
/* INITIALIZE UPDATE: 80 50 KVN 00 08 <host challenge> 00 */
APDU_MUST_CHECK apdu_err scp03_init_update_apdu(uint8_t kvn, const uint8_t host_challenge[8], abuf *out);
/* Checks the INITIALIZE UPDATE response (data without SW), derives the session keys and verifies the card
 * cryptogram (APDU_E_MAC when wrong). */
APDU_MUST_CHECK apdu_err scp03_host_init(scp03_session *s, const scp03_keys *k, const uint8_t host_challenge[8],
					 const uint8_t *resp, size_t len);
/* EXTERNAL AUTHENTICATE (C-MAC'd, never ciphered). */
APDU_MUST_CHECK apdu_err scp03_host_external_authenticate(scp03_session *s, uint8_t level, abuf *out);
APDU_MUST_CHECK apdu_err scp03_wrap_command(scp03_session *s, const uint8_t *apdu, size_t len, abuf *out);
/* `data` is the response data (with R-MAC) without SW. Error SWs pass through unprotected. */
APDU_MUST_CHECK apdu_err scp03_unwrap_response(scp03_session *s, const uint8_t *data, size_t len, uint16_t sw,
					       abuf *out);

/* ---- card side ---- */
/* Answers INITIALIZE UPDATE: KDD(10) ‖ KVN ‖ 03 ‖ i ‖ card challenge ‖ card cryptogram [‖ seq]. */
APDU_MUST_CHECK apdu_err scp03_card_init(scp03_session *s, const scp03_keys *k, uint8_t i_param,
					 const uint8_t host_challenge[8], const uint8_t card_challenge[8],
					 const uint8_t kdd[10], const uint8_t *seq, abuf *out);
/* Verifies an EXTERNAL AUTHENTICATE command (whole C-APDU). */
APDU_MUST_CHECK apdu_err scp03_card_external_authenticate(scp03_session *s, const uint8_t *apdu, size_t len);
/* Verifies and deciphers a secured C-APDU; appends the plain C-APDU (CLA without the SM bit). */
APDU_MUST_CHECK apdu_err scp03_card_unwrap_command(scp03_session *s, const uint8_t *apdu, size_t len, abuf *out);
/* Protects the response data for `sw` (appends data' ‖ R-MAC; no SW). */
APDU_MUST_CHECK apdu_err scp03_card_wrap_response(scp03_session *s, const uint8_t *data, size_t len, uint16_t sw,
						  abuf *out);

/* ---- SCP03t (SGP.02 profile download; values marked [?] in docs/protocol-choices.md) ---- */
#define SCP03T_TAG_OPEN PROTO_SCP03T_TAG_OPEN
#define SCP03T_TAG_AUTH PROTO_SCP03T_TAG_AUTH
#define SCP03T_TAG_DATA PROTO_SCP03T_TAG_DATA
#define SCP03T_LEVEL	0x33

/* '84' { KVN ‖ KID ‖ host challenge } */
APDU_MUST_CHECK apdu_err scp03t_host_open(uint8_t kvn, uint8_t kid, const uint8_t host_challenge[8], abuf *out);
/* Processes the card's '84' answer (the whole TLV). */
APDU_MUST_CHECK apdu_err scp03t_host_open_response(scp03_session *s, const scp03_keys *k,
						   const uint8_t host_challenge[8], const uint8_t *tlv, size_t len);
/* '85' { 33 ‖ host cryptogram ‖ MAC } */
APDU_MUST_CHECK apdu_err scp03t_host_authenticate(scp03_session *s, abuf *out);
/* '86' { ENC(segment) ‖ MAC } */
APDU_MUST_CHECK apdu_err scp03t_host_wrap(scp03_session *s, const uint8_t *data, size_t len, abuf *out);
/* Card answer to an '86': ENC(response) ‖ R-MAC (or R-MAC alone for an empty response). */
APDU_MUST_CHECK apdu_err scp03t_host_unwrap(scp03_session *s, const uint8_t *in, size_t len, abuf *out);

/* Card: answers an '84' TLV (whole TLV in, whole TLV out). */
APDU_MUST_CHECK apdu_err scp03t_card_open(scp03_session *s, const scp03_keys *k, const uint8_t *tlv, size_t len,
					  const uint8_t card_challenge[8], const uint8_t kdd[10], const uint8_t *seq,
					  abuf *out);
APDU_MUST_CHECK apdu_err scp03t_card_authenticate(scp03_session *s, const uint8_t *tlv, size_t len);
APDU_MUST_CHECK apdu_err scp03t_card_unwrap(scp03_session *s, const uint8_t *tlv, size_t len, abuf *out);
APDU_MUST_CHECK apdu_err scp03t_card_wrap(scp03_session *s, const uint8_t *data, size_t len, abuf *out);

#endif
