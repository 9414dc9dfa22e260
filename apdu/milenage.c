/* SPDX-License-Identifier: GPL-2.0-or-later */
/* 3GPP TS 35.206 clause 4: the MILENAGE kernel with the default constants r1..r5, c1..c5. */
#include <string.h>

#include "apdu/crypto.h"
#include "apdu/milenage.h"

static apdu_err ek(const uint8_t k[16], const uint8_t in[16], uint8_t out[16])
{
	return crypto_aes_block(k, 16, in, out);
}

apdu_err milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16])
{
	uint8_t t[16];
	apdu_err e = ek(k, op, t);
	if (e)
		return e;
	for (int i = 0; i < 16; i++)
		opc[i] = t[i] ^ op[i];
	return APDU_OK;
}

/* OUTn = E_K(rot(TEMP ⊕ OPc, r) ⊕ c) ⊕ OPc, with r in bytes and c a single bit in the last byte */
static apdu_err out_n(const uint8_t k[16], const uint8_t opc[16], const uint8_t in[16], int r_bytes, uint8_t c,
		      uint8_t out[16])
{
	uint8_t x[16], rot[16];
	for (int i = 0; i < 16; i++)
		x[i] = in[i] ^ opc[i];
	for (int i = 0; i < 16; i++)
		rot[i] = x[(i + r_bytes) % 16];
	rot[15] ^= c;
	apdu_err e = ek(k, rot, out);
	if (e)
		return e;
	for (int i = 0; i < 16; i++)
		out[i] ^= opc[i];
	return APDU_OK;
}

static apdu_err temp_of(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], uint8_t temp[16])
{
	uint8_t x[16];
	for (int i = 0; i < 16; i++)
		x[i] = rand[i] ^ opc[i];
	return ek(k, x, temp);
}

apdu_err milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t sqn[6],
		     const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8])
{
	uint8_t temp[16], in1[16], x[16], out[16];
	apdu_err e = temp_of(k, opc, rand, temp);
	if (e)
		return e;
	memcpy(in1, sqn, 6);
	memcpy(in1 + 6, amf, 2);
	memcpy(in1 + 8, sqn, 6);
	memcpy(in1 + 14, amf, 2);
	/* OUT1 = E_K(TEMP ⊕ rot(IN1 ⊕ OPc, r1)) ⊕ OPc, r1 = 64 bits, c1 = 0 */
	for (int i = 0; i < 16; i++)
		x[i] = in1[i] ^ opc[i];
	uint8_t y[16];
	for (int i = 0; i < 16; i++)
		y[i] = temp[i] ^ x[(i + 8) % 16];
	if ((e = ek(k, y, out)))
		return e;
	for (int i = 0; i < 16; i++)
		out[i] ^= opc[i];
	memcpy(mac_a, out, 8);
	memcpy(mac_s, out + 8, 8);
	return APDU_OK;
}

apdu_err milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], uint8_t res[8],
			uint8_t ck[16], uint8_t ik[16], uint8_t ak[6], uint8_t ak_star[6])
{
	uint8_t temp[16], out[16];
	apdu_err e = temp_of(k, opc, rand, temp);
	if (e)
		return e;
	/* TEMP ⊕ OPc is rotated; out_n xors OPc into `in` itself, so pass TEMP */
	if ((e = out_n(k, opc, temp, 0, 0x01, out)))
		return e;
	memcpy(ak, out, 6);
	memcpy(res, out + 8, 8);
	if ((e = out_n(k, opc, temp, 4, 0x02, out)))
		return e;
	memcpy(ck, out, 16);
	if ((e = out_n(k, opc, temp, 8, 0x04, out)))
		return e;
	memcpy(ik, out, 16);
	if ((e = out_n(k, opc, temp, 12, 0x08, out)))
		return e;
	memcpy(ak_star, out, 6);
	crypto_wipe(temp, sizeof(temp));
	return APDU_OK;
}

apdu_err milenage_all(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16], const uint8_t sqn[6],
		      const uint8_t amf[2], milenage_out *out)
{
	milenage_out o;
	apdu_err e = milenage_f1(k, opc, rand, sqn, amf, o.mac_a, o.mac_s);
	if (!e)
		e = milenage_f2345(k, opc, rand, o.res, o.ck, o.ik, o.ak, o.ak_star);
	if (!e)
		*out = o;
	return e;
}
