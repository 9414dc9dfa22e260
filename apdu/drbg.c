/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "apdu/drbg.h"

apdu_err drbg_init_random(drbg *d)
{
	d->counter = 0;
	return crypto_random(d->seed, sizeof(d->seed));
}

apdu_err drbg_init_seed(drbg *d, uint64_t seed)
{
	uint8_t in[16] = "euicc-bench-sd";
	for (int i = 0; i < 8; i++)
		in[8 + i] = (uint8_t)(seed >> (56 - 8 * i));
	d->counter = 0;
	return crypto_sha256(in, sizeof(in), d->seed);
}

apdu_err drbg_bytes(drbg *d, void *out, size_t len)
{
	uint8_t in[40], blk[32];
	uint8_t *o = out;
	memcpy(in, d->seed, 32);
	while (len) {
		for (int i = 0; i < 8; i++)
			in[32 + i] = (uint8_t)(d->counter >> (56 - 8 * i));
		d->counter++;
		apdu_err e = crypto_sha256(in, sizeof(in), blk);
		if (e)
			return e;
		size_t n = len < 32 ? len : 32;
		memcpy(o, blk, n);
		o += n;
		len -= n;
	}
	crypto_wipe(in, sizeof(in));
	crypto_wipe(blk, sizeof(blk));
	return APDU_OK;
}

apdu_err drbg_ec_key(drbg *d, crypto_curve curve, crypto_eckey **out)
{
	uint8_t sk[32];
	apdu_err e = APDU_E_CRYPTO;
	/* a scalar of zero or above the order is refused by crypto_ec_from_private: draw again */
	for (int tries = 0; tries < 16; tries++) {
		if ((e = drbg_bytes(d, sk, sizeof(sk))))
			break;
		if ((e = crypto_ec_from_private(curve, sk, out)) == APDU_OK)
			break;
	}
	crypto_wipe(sk, sizeof(sk));
	return e;
}

void drbg_clear(drbg *d)
{
	crypto_wipe(d, sizeof(*d));
}
