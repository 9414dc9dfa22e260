/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SCP03: GlobalPlatform Card Specification v2.3 Amendment D (v1.1.2 onwards). */
#include <string.h>

#include "apdu/apdu.h"
#include "apdu/crypto.h"
#include "apdu/scp03.h"
#include "apdu/tlv.h"

#define S8 8 /* S8 mode: 8-byte challenges, cryptograms and MACs */

void scp03_keys_clear(scp03_keys *k)
{
	crypto_wipe(k, sizeof(*k));
}

void scp03_session_clear(scp03_session *s)
{
	crypto_wipe(s, sizeof(*s));
	s->state = SCP03_IDLE;
}

bool scp03_level_valid(uint8_t level)
{
	switch (level) {
	case 0x01:
	case 0x03:
	case 0x11:
	case 0x13:
	case 0x31:
	case 0x33: return true;
	}
	return false;
}

apdu_err scp03_kdf(const uint8_t *key, size_t key_len, uint8_t constant, const uint8_t *context, size_t ctx_len,
		   uint8_t *out, size_t out_len)
{
	uint8_t in[16 + 64];
	uint8_t block[16];
	if (ctx_len > 64 || out_len == 0 || out_len > 32)
		return APDU_E_INVAL;
	size_t bits = out_len * 8;
	memset(in, 0, 11);
	in[11] = constant;
	in[12] = 0x00;		       /* separation indicator */
	in[13] = (uint8_t)(bits >> 8); /* L */
	in[14] = (uint8_t)bits;
	memcpy(in + 16, context, ctx_len);
	for (size_t done = 0, i = 1; done < out_len; i++) {
		in[15] = (uint8_t)i;
		apdu_err e = crypto_aes_cmac(key, key_len, in, 16 + ctx_len, block);
		if (e)
			return e;
		size_t n = out_len - done < 16 ? out_len - done : 16;
		memcpy(out + done, block, n);
		done += n;
	}
	crypto_wipe(block, sizeof(block));
	return APDU_OK;
}

apdu_err scp03_card_challenge(const scp03_keys *k, const uint8_t seq[3], const uint8_t *aid, size_t aid_len,
			      uint8_t out[8])
{
	uint8_t ctx[3 + 16];
	if (aid_len > 16)
		return APDU_E_INVAL;
	memcpy(ctx, seq, 3);
	memcpy(ctx + 3, aid, aid_len);
	return scp03_kdf(k->enc, k->key_len, SCP03_DC_CARD_CHALLENGE, ctx, 3 + aid_len, out, 8);
}

static apdu_err check_keys(const scp03_keys *k)
{
	return k->key_len == 16 || k->key_len == 24 || k->key_len == 32 ? APDU_OK : APDU_E_KEY_LENGTH;
}

/* Amendment D 6.2.1 / 6.2.2: session keys and both cryptograms from the two challenges. */
static apdu_err derive_session(scp03_session *s, const scp03_keys *k, const uint8_t host_challenge[8],
			       const uint8_t card_challenge[8])
{
	scp03_session n;
	uint8_t ctx[16];
	apdu_err e = check_keys(k);
	if (e)
		return e;
	memset(&n, 0, sizeof(n));
	memcpy(ctx, host_challenge, 8);
	memcpy(ctx + 8, card_challenge, 8);
	n.key_len = k->key_len;
	n.kvn = k->kvn;
	if ((e = scp03_kdf(k->enc, k->key_len, SCP03_DC_S_ENC, ctx, 16, n.s_enc, k->key_len)) ||
	    (e = scp03_kdf(k->mac, k->key_len, SCP03_DC_S_MAC, ctx, 16, n.s_mac, k->key_len)) ||
	    (e = scp03_kdf(k->mac, k->key_len, SCP03_DC_S_RMAC, ctx, 16, n.s_rmac, k->key_len)) ||
	    (e = scp03_kdf(n.s_mac, k->key_len, SCP03_DC_CARD_CRYPTOGRAM, ctx, 16, n.card_cryptogram, S8)) ||
	    (e = scp03_kdf(n.s_mac, k->key_len, SCP03_DC_HOST_CRYPTOGRAM, ctx, 16, n.host_cryptogram, S8))) {
		crypto_wipe(&n, sizeof(n));
		return e;
	}
	memcpy(n.host_challenge, host_challenge, 8);
	memcpy(n.card_challenge, card_challenge, 8);
	n.state = SCP03_INITIALIZED;
	scp03_session_clear(s);
	*s = n;
	crypto_wipe(&n, sizeof(n));
	return APDU_OK;
}

/* C-MAC: CMAC(S-MAC, chain ‖ input); the full value becomes the new chain. */
static apdu_err cmac_chain(scp03_session *s, const uint8_t *in, size_t len, uint8_t mac[S8], bool update)
{
	abuf b = ABUF_INIT;
	uint8_t full[16];
	abuf_put(&b, s->chain, 16);
	abuf_put(&b, in, len);
	apdu_err e = b.err ? b.err : crypto_aes_cmac(s->s_mac, s->key_len, b.p, b.len, full);
	abuf_free(&b);
	if (e)
		return e;
	memcpy(mac, full, S8);
	if (update)
		memcpy(s->chain, full, 16);
	return APDU_OK;
}

static apdu_err rmac_compute(const scp03_session *s, const uint8_t *in, size_t len, uint8_t mac[S8])
{
	abuf b = ABUF_INIT;
	uint8_t full[16];
	abuf_put(&b, s->chain, 16);
	abuf_put(&b, in, len);
	apdu_err e = b.err ? b.err : crypto_aes_cmac(s->s_rmac, s->key_len, b.p, b.len, full);
	abuf_free(&b);
	if (!e)
		memcpy(mac, full, S8);
	return e;
}

/* Amendment D 6.2.6 / 6.2.7: ICV = AES(S-ENC, counter as a 16-byte block), first byte '80' for responses. */
static apdu_err make_icv(const scp03_session *s, bool response, uint8_t icv[16])
{
	uint8_t blk[16] = { 0 };
	blk[12] = (uint8_t)(s->counter >> 24);
	blk[13] = (uint8_t)(s->counter >> 16);
	blk[14] = (uint8_t)(s->counter >> 8);
	blk[15] = (uint8_t)s->counter;
	if (response)
		blk[0] = 0x80;
	return crypto_aes_block(s->s_enc, s->key_len, blk, icv);
}

/* pad '80 00..' to a multiple of 16 and encrypt; appends to out */
static apdu_err enc_pad80(const scp03_session *s, bool response, const uint8_t *in, size_t len, abuf *out)
{
	uint8_t icv[16];
	size_t padded = (len / 16 + 1) * 16;
	abuf b = ABUF_INIT;
	abuf_put(&b, in, len);
	abuf_put_u8(&b, 0x80);
	abuf_fill(&b, 0, padded - len - 1);
	apdu_err e = b.err;
	if (!e)
		e = make_icv(s, response, icv);
	if (!e)
		e = crypto_aes_cbc(s->s_enc, s->key_len, icv, true, b.p, b.len, b.p);
	if (!e)
		e = abuf_put(out, b.p, b.len);
	abuf_free(&b);
	return e;
}

static apdu_err dec_unpad80(const scp03_session *s, bool response, const uint8_t *in, size_t len, abuf *out)
{
	uint8_t icv[16];
	if (len == 0 || len % 16)
		return APDU_E_PADDING;
	abuf b = ABUF_INIT;
	abuf_put(&b, in, len);
	apdu_err e = b.err;
	if (!e)
		e = make_icv(s, response, icv);
	if (!e)
		e = crypto_aes_cbc(s->s_enc, s->key_len, icv, false, b.p, b.len, b.p);
	if (!e) {
		size_t n = b.len;
		while (n > 0 && b.p[n - 1] == 0x00 && b.len - n < 16)
			n--;
		if (n == 0 || b.p[n - 1] != 0x80 || b.len - n >= 16)
			e = APDU_E_PADDING;
		else
			e = abuf_put(out, b.p, n - 1);
	}
	abuf_free(&b);
	return e;
}

apdu_err scp03_init_update_apdu(uint8_t kvn, const uint8_t host_challenge[8], abuf *out)
{
	uint8_t a[14] = { 0x80, 0x50, kvn, 0x00, 0x08 };
	memcpy(a + 5, host_challenge, 8);
	a[13] = 0x00;
	return abuf_put(out, a, sizeof(a));
}

apdu_err scp03_host_init(scp03_session *s, const scp03_keys *k, const uint8_t host_challenge[8], const uint8_t *resp,
			 size_t len)
{
	/* Amendment D 7.1.1.6: KDD(10) KVN(1) '03' i(1) card challenge(8) card cryptogram(8) [seq(3)] */
	if (len != 29 && len != 32)
		return APDU_E_BAD_LENGTH;
	if (resp[11] != 0x03)
		return APDU_E_UNSUPPORTED;
	if (resp[10] != k->kvn && k->kvn != 0)
		return APDU_E_INVAL;
	scp03_session n;
	memset(&n, 0, sizeof(n));
	apdu_err e = derive_session(&n, k, host_challenge, resp + 13);
	if (!e && !crypto_equal(n.card_cryptogram, resp + 21, 8))
		e = APDU_E_MAC;
	if (!e) {
		n.i_param = resp[12];
		n.kvn = resp[10];
		scp03_session_clear(s);
		*s = n;
	}
	crypto_wipe(&n, sizeof(n));
	return e;
}

apdu_err scp03_host_external_authenticate(scp03_session *s, uint8_t level, abuf *out)
{
	uint8_t a[21] = { 0x84, 0x82, level, 0x00, 0x10 };
	uint8_t mac[S8];
	if (s->state != SCP03_INITIALIZED)
		return APDU_E_STATE;
	if (!scp03_level_valid(level))
		return APDU_E_INVAL;
	memcpy(a + 5, s->host_cryptogram, 8);
	apdu_err e = cmac_chain(s, a, 13, mac, true);
	if (e)
		return e;
	memcpy(a + 13, mac, 8);
	if ((e = abuf_put(out, a, sizeof(a))))
		return e;
	s->level = level;
	s->counter = 0;
	s->state = SCP03_AUTHENTICATED;
	return APDU_OK;
}

apdu_err scp03_wrap_command(scp03_session *s, const uint8_t *apdu, size_t len, abuf *out)
{
	capdu a;
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	apdu_err e = capdu_parse(apdu, len, &a);
	if (e)
		return e;
	if (a.cse >= APDU_CASE_2E)
		return APDU_E_UNSUPPORTED; /* extended length under SCP03: not needed by SGP.02 */
	bool has_data = a.cse == APDU_CASE_3S || a.cse == APDU_CASE_4S;
	bool has_le = a.cse == APDU_CASE_2S || a.cse == APDU_CASE_4S;
	abuf body = ABUF_INIT;
	uint32_t saved_counter = s->counter;
	uint8_t saved_chain[16];
	memcpy(saved_chain, s->chain, 16);
	if (s->level & SCP03_LEVEL_CDEC) {
		/* 6.2.6: the counter is incremented for every command, with or without data */
		s->counter++;
		if (has_data)
			e = enc_pad80(s, false, a.data, a.lc, &body);
	} else if (has_data) {
		e = abuf_put(&body, a.data, a.lc);
	}
	if (e)
		goto fail;
	if (body.len + S8 > 255) {
		e = APDU_E_BAD_LENGTH;
		goto fail;
	}
	/* 6.2.4: CLA with b3 set (GP secure messaging) and the logical channel bits zero for the MAC */
	uint8_t cla = (uint8_t)(a.cla | 0x04);
	uint8_t hdr[5] = { (uint8_t)(cla & 0xfc), a.ins, a.p1, a.p2, (uint8_t)(body.len + S8) };
	abuf mac_in = ABUF_INIT;
	abuf_put(&mac_in, hdr, 5);
	abuf_put(&mac_in, body.p, body.len);
	e = mac_in.err ? mac_in.err : cmac_chain(s, mac_in.p, mac_in.len, mac, true);
	abuf_free(&mac_in);
	if (e)
		goto fail;
	hdr[0] = cla;
	e = abuf_reserve(out, 5 + body.len + S8 + 1);
	if (e)
		goto fail;
	abuf_put(out, hdr, 5);
	abuf_put(out, body.p, body.len);
	abuf_put(out, mac, S8);
	if (has_le)
		abuf_put_u8(out, 0x00); /* the response grows by the R-MAC: ask for everything */
	abuf_free(&body);
	return APDU_OK;
fail:
	s->counter = saved_counter;
	memcpy(s->chain, saved_chain, 16);
	abuf_free(&body);
	return e;
}

static bool sw_is_protected(uint16_t sw)
{
	/* 6.2.5: only '9000' and warnings ('62xx', '63xx') carry an R-MAC */
	return sw == 0x9000 || (sw >> 8) == 0x62 || (sw >> 8) == 0x63;
}

apdu_err scp03_unwrap_response(scp03_session *s, const uint8_t *data, size_t len, uint16_t sw, abuf *out)
{
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	if (!(s->level & SCP03_LEVEL_RMAC) || !sw_is_protected(sw))
		return abuf_put(out, data, len);
	if (len < S8)
		return APDU_E_TRUNC_VALUE;
	size_t dlen = len - S8;
	abuf in = ABUF_INIT;
	abuf_put(&in, data, dlen);
	abuf_put_u16(&in, sw);
	apdu_err e = in.err ? in.err : rmac_compute(s, in.p, in.len, mac);
	abuf_free(&in);
	if (e)
		return e;
	if (!crypto_equal(mac, data + dlen, S8))
		return APDU_E_MAC;
	if ((s->level & SCP03_LEVEL_RENC) && dlen)
		return dec_unpad80(s, true, data, dlen, out);
	return abuf_put(out, data, dlen);
}

apdu_err scp03_card_init(scp03_session *s, const scp03_keys *k, uint8_t i_param, const uint8_t host_challenge[8],
			 const uint8_t card_challenge[8], const uint8_t kdd[10], const uint8_t *seq, abuf *out)
{
	scp03_session n;
	memset(&n, 0, sizeof(n));
	apdu_err e = derive_session(&n, k, host_challenge, card_challenge);
	if (e)
		return e;
	n.i_param = i_param;
	abuf r = ABUF_INIT;
	abuf_put(&r, kdd, 10);
	abuf_put_u8(&r, k->kvn);
	abuf_put_u8(&r, 0x03);
	abuf_put_u8(&r, i_param);
	abuf_put(&r, card_challenge, 8);
	abuf_put(&r, n.card_cryptogram, 8);
	if (seq)
		abuf_put(&r, seq, 3);
	e = r.err ? r.err : abuf_put(out, r.p, r.len);
	abuf_free(&r);
	if (!e) {
		scp03_session_clear(s);
		*s = n;
	}
	crypto_wipe(&n, sizeof(n));
	return e;
}

apdu_err scp03_card_external_authenticate(scp03_session *s, const uint8_t *apdu, size_t len)
{
	uint8_t mac[S8];
	capdu a;
	if (s->state != SCP03_INITIALIZED)
		return APDU_E_STATE;
	apdu_err e = capdu_parse(apdu, len, &a);
	if (e)
		return e;
	if ((a.cla & 0xfc) != 0x84 || a.ins != 0x82 || a.p2 != 0x00)
		return APDU_E_INVAL;
	if (a.lc != 16 || a.cse != APDU_CASE_3S)
		return APDU_E_BAD_LENGTH;
	if (!scp03_level_valid(a.p1))
		return APDU_E_INVAL;
	if (!crypto_equal(a.data, s->host_cryptogram, 8))
		return APDU_E_MAC;
	uint8_t saved[16];
	memcpy(saved, s->chain, 16);
	uint8_t hdr[13] = { (uint8_t)(a.cla & 0xfc), a.ins, a.p1, a.p2, 0x10 };
	memcpy(hdr + 5, a.data, 8);
	if ((e = cmac_chain(s, hdr, 13, mac, true)))
		return e;
	if (!crypto_equal(mac, a.data + 8, 8)) {
		memcpy(s->chain, saved, 16);
		return APDU_E_MAC;
	}
	s->level = a.p1;
	s->counter = 0;
	s->state = SCP03_AUTHENTICATED;
	return APDU_OK;
}

apdu_err scp03_card_unwrap_command(scp03_session *s, const uint8_t *apdu, size_t len, abuf *out)
{
	capdu a;
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	apdu_err e = capdu_parse(apdu, len, &a);
	if (e)
		return e;
	if (!(a.cla & 0x04))
		return APDU_E_MAC; /* not secured at all: insufficient security */
	if (a.cse != APDU_CASE_3S && a.cse != APDU_CASE_4S)
		return APDU_E_BAD_LENGTH;
	if (a.lc < S8)
		return APDU_E_BAD_LENGTH;
	size_t blen = a.lc - S8;
	uint8_t saved_chain[16];
	uint32_t saved_counter = s->counter;
	memcpy(saved_chain, s->chain, 16);
	uint8_t hdr[5] = { (uint8_t)(a.cla & 0xfc), a.ins, a.p1, a.p2, (uint8_t)a.lc };
	abuf mac_in = ABUF_INIT;
	abuf_put(&mac_in, hdr, 5);
	abuf_put(&mac_in, a.data, blen);
	e = mac_in.err ? mac_in.err : cmac_chain(s, mac_in.p, mac_in.len, mac, true);
	abuf_free(&mac_in);
	if (e)
		goto fail;
	if (!crypto_equal(mac, a.data + blen, S8)) {
		e = APDU_E_MAC;
		goto fail;
	}
	abuf plain = ABUF_INIT;
	if (s->level & SCP03_LEVEL_CDEC) {
		s->counter++;
		if (blen)
			e = dec_unpad80(s, false, a.data, blen, &plain);
	} else {
		e = abuf_put(&plain, a.data, blen);
	}
	if (!e) {
		capdu p;
		/* the plain command keeps the caller's channel bits, drops the SM indication */
		e = capdu_make(&p, (uint8_t)(a.cla & ~0x04), a.ins, a.p1, a.p2, plain.p, plain.len,
			       a.cse == APDU_CASE_4S ? a.le : 0);
		if (!e)
			e = capdu_encode(&p, out);
	}
	abuf_free(&plain);
	if (e)
		goto fail;
	return APDU_OK;
fail:
	s->counter = saved_counter;
	memcpy(s->chain, saved_chain, 16);
	return e;
}

apdu_err scp03_card_wrap_response(scp03_session *s, const uint8_t *data, size_t len, uint16_t sw, abuf *out)
{
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	if (!(s->level & SCP03_LEVEL_RMAC) || !sw_is_protected(sw))
		return sw_is_protected(sw) ? abuf_put(out, data, len) : APDU_OK;
	abuf body = ABUF_INIT;
	apdu_err e;
	if ((s->level & SCP03_LEVEL_RENC) && len)
		e = enc_pad80(s, true, data, len, &body);
	else
		e = abuf_put(&body, data, len);
	size_t blen = body.len;
	abuf_put_u16(&body, sw);
	if (!e)
		e = body.err ? body.err : rmac_compute(s, body.p, body.len, mac);
	if (!e && !(e = abuf_reserve(out, blen + S8))) {
		abuf_put(out, body.p, blen);
		abuf_put(out, mac, S8);
	}
	abuf_free(&body);
	return e;
}

/* ---- SCP03t ---- */

#define OPEN_HDR (1 + PROTO_SCP03T_OPEN_HAS_KID) /* KVN [‖ KID] before the host challenge */

apdu_err scp03t_host_open(uint8_t kvn, uint8_t kid, const uint8_t host_challenge[8], abuf *out)
{
	uint8_t v[OPEN_HDR + 8] = { kvn };
	if (PROTO_SCP03T_OPEN_HAS_KID)
		v[1] = kid;
	memcpy(v + OPEN_HDR, host_challenge, 8);
	return tlv_put(out, SCP03T_TAG_OPEN, v, sizeof(v));
}

apdu_err scp03t_host_open_response(scp03_session *s, const scp03_keys *k, const uint8_t host_challenge[8],
				   const uint8_t *in, size_t len)
{
	tlv t;
	apdu_err e = tlv_parse_one(in, len, &t);
	if (e)
		return e;
	if (t.tag != SCP03T_TAG_OPEN)
		return APDU_E_BAD_TAG;
	return scp03_host_init(s, k, host_challenge, t.value, t.len);
}

/* MAC over chain ‖ tag ‖ length ‖ value, where the length counts the MAC that follows (as Lc' does). */
static apdu_err tlv_mac(scp03_session *s, uint8_t tag, const uint8_t *v, size_t len, uint8_t mac[S8])
{
	abuf in = ABUF_INIT;
	tlv_put_tag(&in, tag);
	tlv_put_len(&in, len + S8);
	abuf_put(&in, v, len);
	apdu_err e = in.err ? in.err : cmac_chain(s, in.p, in.len, mac, true);
	abuf_free(&in);
	return e;
}

static apdu_err put_tlv_with_mac(abuf *out, uint8_t tag, const uint8_t *v, size_t len, const uint8_t mac[S8])
{
	apdu_err e = abuf_reserve(out, 1 + tlv_len_size(len + S8) + len + S8);
	if (e)
		return e;
	tlv_put_tag(out, tag);
	tlv_put_len(out, len + S8);
	abuf_put(out, v, len);
	return abuf_put(out, mac, S8);
}

apdu_err scp03t_host_authenticate(scp03_session *s, abuf *out)
{
	uint8_t v[9] = { SCP03T_LEVEL };
	uint8_t mac[S8];
	if (s->state != SCP03_INITIALIZED)
		return APDU_E_STATE;
	memcpy(v + 1, s->host_cryptogram, 8);
	uint8_t saved[16];
	memcpy(saved, s->chain, 16);
	apdu_err e = tlv_mac(s, SCP03T_TAG_AUTH, v, sizeof(v), mac);
	if (!e)
		e = put_tlv_with_mac(out, SCP03T_TAG_AUTH, v, sizeof(v), mac);
	if (e) {
		memcpy(s->chain, saved, 16);
		return e;
	}
	s->level = SCP03T_LEVEL;
	s->counter = 0;
	s->state = SCP03_AUTHENTICATED;
	return APDU_OK;
}

apdu_err scp03t_host_wrap(scp03_session *s, const uint8_t *data, size_t len, abuf *out)
{
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	uint8_t saved[16];
	memcpy(saved, s->chain, 16);
	s->counter++;
	abuf enc = ABUF_INIT;
	apdu_err e = enc_pad80(s, false, data, len, &enc);
	if (!e)
		e = tlv_mac(s, SCP03T_TAG_DATA, enc.p, enc.len, mac);
	if (!e)
		e = put_tlv_with_mac(out, SCP03T_TAG_DATA, enc.p, enc.len, mac);
	abuf_free(&enc);
	if (e) {
		s->counter--;
		memcpy(s->chain, saved, 16);
	}
	return e;
}

apdu_err scp03t_host_unwrap(scp03_session *s, const uint8_t *in, size_t len, abuf *out)
{
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	if (len < S8)
		return APDU_E_TRUNC_VALUE;
	size_t dlen = len - S8;
	apdu_err e = rmac_compute(s, in, dlen, mac);
	if (e)
		return e;
	if (!crypto_equal(mac, in + dlen, S8))
		return APDU_E_MAC;
	return dlen ? dec_unpad80(s, true, in, dlen, out) : APDU_OK;
}

apdu_err scp03t_card_open(scp03_session *s, const scp03_keys *k, const uint8_t *in, size_t len,
			  const uint8_t card_challenge[8], const uint8_t kdd[10], const uint8_t *seq, abuf *out)
{
	tlv t;
	apdu_err e = tlv_parse_one(in, len, &t);
	if (e)
		return e;
	if (t.tag != SCP03T_TAG_OPEN)
		return APDU_E_BAD_TAG;
	if (t.len != OPEN_HDR + 8)
		return APDU_E_BAD_LENGTH;
	if (t.value[0] != k->kvn && t.value[0] != 0)
		return APDU_E_INVAL;
	abuf r = ABUF_INIT;
	scp03_session n;
	memset(&n, 0, sizeof(n));
	e = scp03_card_init(&n, k, 0x70, t.value + OPEN_HDR, card_challenge, kdd, seq, &r);
	if (!e)
		e = tlv_put(out, SCP03T_TAG_OPEN, r.p, r.len);
	if (!e) {
		scp03_session_clear(s);
		*s = n;
	}
	crypto_wipe(&n, sizeof(n));
	abuf_free(&r);
	return e;
}

apdu_err scp03t_card_authenticate(scp03_session *s, const uint8_t *in, size_t len)
{
	tlv t;
	uint8_t mac[S8];
	if (s->state != SCP03_INITIALIZED)
		return APDU_E_STATE;
	apdu_err e = tlv_parse_one(in, len, &t);
	if (e)
		return e;
	if (t.tag != SCP03T_TAG_AUTH)
		return APDU_E_BAD_TAG;
	if (t.len != 1 + 8 + S8)
		return APDU_E_BAD_LENGTH;
	if (t.value[0] != SCP03T_LEVEL)
		return APDU_E_INVAL;
	if (!crypto_equal(t.value + 1, s->host_cryptogram, 8))
		return APDU_E_MAC;
	uint8_t saved[16];
	memcpy(saved, s->chain, 16);
	if ((e = tlv_mac(s, SCP03T_TAG_AUTH, t.value, 9, mac)))
		return e;
	if (!crypto_equal(mac, t.value + 9, S8)) {
		memcpy(s->chain, saved, 16);
		return APDU_E_MAC;
	}
	s->level = SCP03T_LEVEL;
	s->counter = 0;
	s->state = SCP03_AUTHENTICATED;
	return APDU_OK;
}

apdu_err scp03t_card_unwrap(scp03_session *s, const uint8_t *in, size_t len, abuf *out)
{
	tlv t;
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	apdu_err e = tlv_parse_one(in, len, &t);
	if (e)
		return e;
	if (t.tag != SCP03T_TAG_DATA)
		return APDU_E_BAD_TAG;
	if (t.len < 16 + S8)
		return APDU_E_BAD_LENGTH;
	size_t elen = t.len - S8;
	uint8_t saved[16];
	memcpy(saved, s->chain, 16);
	if ((e = tlv_mac(s, SCP03T_TAG_DATA, t.value, elen, mac)))
		return e;
	if (!crypto_equal(mac, t.value + elen, S8)) {
		memcpy(s->chain, saved, 16);
		return APDU_E_MAC;
	}
	s->counter++;
	if ((e = dec_unpad80(s, false, t.value, elen, out))) {
		s->counter--;
		memcpy(s->chain, saved, 16);
	}
	return e;
}

apdu_err scp03t_card_wrap(scp03_session *s, const uint8_t *data, size_t len, abuf *out)
{
	uint8_t mac[S8];
	if (s->state != SCP03_AUTHENTICATED)
		return APDU_E_STATE;
	abuf body = ABUF_INIT;
	apdu_err e = len ? enc_pad80(s, true, data, len, &body) : APDU_OK;
	if (!e)
		e = rmac_compute(s, body.p, body.len, mac);
	if (!e && !(e = abuf_reserve(out, body.len + S8))) {
		abuf_put(out, body.p, body.len);
		abuf_put(out, mac, S8);
	}
	abuf_free(&body);
	return e;
}
