/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "apdu/gpcert.h"
#include "apdu/tlv.h"

static apdu_err put_body(const gpcert *c, abuf *b)
{
	size_t m, m2;
	uint8_t ku[2] = { (uint8_t)(c->key_usage >> 8), (uint8_t)c->key_usage };
	size_t slen = strnlen(c->subject, sizeof(c->subject));
	tlv_put(b, 0x93, c->serial, c->serial_len);
	tlv_put(b, 0x42, c->ca_id, c->ca_id_len);
	tlv_put(b, 0x5F20, c->subject, slen);
	tlv_put(b, 0x95, ku, 2);
	tlv_put(b, 0x5F25, c->effective, 4);
	tlv_put(b, 0x5F24, c->expiry, 4);
	tlv_begin(b, 0x73, &m);
	tlv_put_u8(b, 0xC8, c->role);
	tlv_put(b, 0xC9, c->auth_key_id, c->auth_key_id_len);
	tlv_end(b, m);
	tlv_begin(b, 0x7F49, &m2);
	tlv_put(b, 0xB0, c->pub, 65);
	tlv_put_u8(b, 0xF0, (uint8_t)c->curve);
	tlv_end(b, m2);
	return b->err;
}

apdu_err gpcert_build(const gpcert *c, const crypto_eckey *signer, abuf *out)
{
	abuf body = ABUF_INIT, whole = ABUF_INIT;
	uint8_t sig[64];
	apdu_err e = put_body(c, &body);
	if (!e)
		e = crypto_ecdsa_sign(signer, body.p, body.len, sig);
	if (!e) {
		size_t m;
		tlv_begin(&whole, 0x7F21, &m);
		abuf_put(&whole, body.p, body.len);
		tlv_put(&whole, 0x5F37, sig, 64);
		tlv_end(&whole, m);
		e = whole.err ? whole.err : abuf_put(out, whole.p, whole.len);
	}
	abuf_free(&body);
	abuf_free(&whole);
	return e;
}

static apdu_err copy_field(const tlv *t, uint8_t *dst, size_t cap, size_t *len)
{
	if (t->len > cap)
		return APDU_E_BAD_LENGTH;
	memcpy(dst, t->value, t->len);
	*len = t->len;
	return APDU_OK;
}

apdu_err gpcert_parse(const uint8_t *in, size_t len, gpcert *out)
{
	tlv outer, t;
	gpcert c;
	apdu_err e = tlv_parse_one(in, len, &outer);
	if (e)
		return e;
	if (outer.tag != 0x7F21)
		return APDU_E_BAD_TAG;
	memset(&c, 0, sizeof(c));
	acur cur = acur_make(outer.value, outer.len);
	unsigned seen = 0;
	c.signed_part = outer.value;
	while (cur.len) {
		if ((e = tlv_next(&cur, &t)))
			return e;
		size_t n = 0;
		switch (t.tag) {
		case 0x93:
			e = copy_field(&t, c.serial, sizeof(c.serial), &c.serial_len);
			seen |= 1;
			break;
		case 0x42:
			e = copy_field(&t, c.ca_id, sizeof(c.ca_id), &c.ca_id_len);
			seen |= 2;
			break;
		case 0x5F20:
			if (t.len >= sizeof(c.subject))
				return APDU_E_BAD_LENGTH;
			memcpy(c.subject, t.value, t.len);
			seen |= 4;
			break;
		case 0x95:
			if (t.len != 2)
				return APDU_E_BAD_LENGTH;
			c.key_usage = (uint16_t)((t.value[0] << 8) | t.value[1]);
			break;
		case 0x5F25: e = t.len == 4 ? copy_field(&t, c.effective, 4, &n) : APDU_E_BAD_LENGTH; break;
		case 0x5F24: e = t.len == 4 ? copy_field(&t, c.expiry, 4, &n) : APDU_E_BAD_LENGTH; break;
		case 0x73: {
			tlv r;
			if (tlv_find(t.value, t.len, 0xC8, &r) || r.len != 1)
				return APDU_E_BAD_TAG;
			c.role = r.value[0];
			if (!tlv_find(t.value, t.len, 0xC9, &r))
				e = copy_field(&r, c.auth_key_id, sizeof(c.auth_key_id), &c.auth_key_id_len);
			break;
		}
		case 0x7F49: {
			tlv k, cv;
			if (tlv_find(t.value, t.len, 0xB0, &k) || k.len != 65 || k.value[0] != 0x04)
				return APDU_E_BAD_TAG;
			memcpy(c.pub, k.value, 65);
			if (tlv_find(t.value, t.len, 0xF0, &cv) || cv.len != 1)
				return APDU_E_BAD_TAG;
			if (cv.value[0] != CRYPTO_CURVE_P256 && cv.value[0] != CRYPTO_CURVE_BRAINPOOLP256R1)
				return APDU_E_UNSUPPORTED;
			c.curve = (crypto_curve)cv.value[0];
			seen |= 8;
			break;
		}
		case 0x5F37:
			if (t.len != 64)
				return APDU_E_BAD_LENGTH;
			if (cur.len)
				return APDU_E_TRAILING; /* the signature comes last */
			memcpy(c.sig, t.value, 64);
			c.signed_len = (size_t)(t.raw - outer.value);
			seen |= 16;
			break;
		default: return APDU_E_BAD_TAG;
		}
		if (e)
			return e;
	}
	if (seen != 31)
		return APDU_E_BAD_TAG;
	*out = c;
	return APDU_OK;
}

apdu_err gpcert_pubkey(const gpcert *c, crypto_eckey **out)
{
	return crypto_ec_from_public(c->curve, c->pub, 65, out);
}

apdu_err gpcert_verify(const gpcert *c, const crypto_eckey *issuer_pub)
{
	if (!c->signed_part || !c->signed_len)
		return APDU_E_STATE;
	return crypto_ecdsa_verify(issuer_pub, c->signed_part, c->signed_len, c->sig);
}

apdu_err gpcert_issue(const crypto_eckey *issuer, uint8_t role, uint16_t key_usage, const char *subject,
		      const uint8_t pub[65], crypto_curve curve, abuf *out)
{
	gpcert c;
	memset(&c, 0, sizeof(c));
	uint8_t h[32];
	/* serial: first bytes of SHA-256(public key); CA id and auth key id: SHA-256 of the issuer's key */
	apdu_err e = crypto_sha256(pub, 65, h);
	if (e)
		return e;
	memcpy(c.serial, h, 8);
	c.serial_len = 8;
	uint8_t ipub[65];
	if ((e = crypto_ec_public(issuer, ipub)) || (e = crypto_sha256(ipub, 65, h)))
		return e;
	memcpy(c.ca_id, h, 8);
	c.ca_id_len = 8;
	memcpy(c.auth_key_id, h, 20);
	c.auth_key_id_len = 20;
	snprintf(c.subject, sizeof(c.subject), "%s", subject);
	c.key_usage = key_usage;
	static const uint8_t from[4] = { 0x20, 0x26, 0x01, 0x01 }, to[4] = { 0x20, 0x46, 0x12, 0x31 };
	memcpy(c.effective, from, 4);
	memcpy(c.expiry, to, 4);
	c.role = role;
	memcpy(c.pub, pub, 65);
	c.curve = curve;
	return gpcert_build(&c, issuer, out);
}
