/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A small deterministic random bit generator: SHA-256(seed ‖ counter) blocks. Seeded from the OS for
 * normal use, or from a number (--seed) so that everything a card draws at random is reproducible.
 * Not a replacement for the OS generator where secrecy against an attacker matters; this is a bench. */
#ifndef APDU_DRBG_H
#define APDU_DRBG_H

#include <stdint.h>
#include <stddef.h>

#include "apdu/crypto.h"

typedef struct {
	uint8_t seed[32];
	uint64_t counter;
} drbg;

APDU_MUST_CHECK apdu_err drbg_init_random(drbg *d);
APDU_MUST_CHECK apdu_err drbg_init_seed(drbg *d, uint64_t seed);
APDU_MUST_CHECK apdu_err drbg_bytes(drbg *d, void *out, size_t len);
/* An EC key pair whose private scalar comes from the generator. */
APDU_MUST_CHECK apdu_err drbg_ec_key(drbg *d, crypto_curve curve, crypto_eckey **out);
void drbg_clear(drbg *d);

#endif
