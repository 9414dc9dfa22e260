/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SCP80 secured packets: ETSI TS 102 225 clause 5, 3GPP TS 31.115 clauses 4-7, ETSI TS 102 226 clause 5. */
#include <string.h>

#include "apdu/crypto.h"
#include "apdu/scp80.h"
#include "apdu/tlv.h"
#include "apdu/proto.h"

#define SCP80_CC_LEN	  PROTO_SCP80_CC_LEN /* TS 102 225 5.1.3.1 */
#define SCP80_RC_LEN	  4		     /* CRC32 */
#define SCP80_UDH_POR_LEN 3
static const uint8_t scp80_udh_por[SCP80_UDH_POR_LEN] = { 0x02, 0x71, 0x00 };

/* KIc/KID algorithm nibble (TS 102 225 5.1.2, 5.1.3): b2..b1 family, b4..b3 mode */
enum {
	ALG_DES_CBC = 0x1, /* single DES: refused, broken */
	ALG_AES = 0x2,	   /* AES-CBC for KIc, AES-CMAC for KID */
	ALG_3DES2 = 0x5,   /* triple DES, 2 keys, outer CBC */
	ALG_3DES3 = 0x9,   /* triple DES, 3 keys */
	ALG_CRC32 = 0x5,   /* KID for RC: CRC32 */
};

const char *scp80_por_status_name(uint8_t status)
{
	switch (status) {
	case SCP80_POR_OK: return "PoR OK";
	case SCP80_POR_RC_CC_DS_FAILED: return "RC/CC/DS failed";
	case SCP80_POR_CNTR_LOW: return "counter low";
	case SCP80_POR_CNTR_HIGH: return "counter high";
	case SCP80_POR_CNTR_BLOCKED: return "counter blocked";
	case SCP80_POR_CIPHERING_ERROR: return "ciphering error";
	case SCP80_POR_UNDEFINED_SECURITY_ERROR: return "unidentified security error";
	case SCP80_POR_INSUFFICIENT_MEMORY: return "insufficient memory";
	case SCP80_POR_MORE_TIME: return "more time needed";
	case SCP80_POR_TAR_UNKNOWN: return "TAR unknown";
	case SCP80_POR_INSUFFICIENT_SECURITY: return "insufficient security level";
	case 0x0b: return "response data sent with SMS-SUBMIT";
	}
	return "reserved status";
}

void scp80_keyset_clear(scp80_keyset *ks)
{
	crypto_wipe(ks, sizeof(*ks));
}

apdu_err scp80_spi_check(uint16_t spi)
{
	uint8_t s1 = (uint8_t)(spi >> 8), s2 = (uint8_t)spi;
	if ((s1 & SCP80_SPI1_RESERVED) || (s2 & SCP80_SPI2_RESERVED))
		return APDU_E_SPI;
	if ((s2 & SCP80_SPI2_POR_MASK) == 0x03)
		return APDU_E_SPI; /* PoR field '11' is reserved */
	if ((s1 & SCP80_SPI1_SIG_MASK) == SCP80_SIG_DS || ((s2 >> SCP80_SPI2_POR_SIG_SHIFT) & 3) == SCP80_SIG_DS)
		return APDU_E_UNSUPPORTED; /* digital signatures: not specified for SMS in practice */
	return APDU_OK;
}

static size_t cipher_block(uint8_t kic)
{
	return (kic & 0x0f) == ALG_AES ? 16 : 8;
}

static apdu_err check_cipher_key(uint8_t kic, size_t key_len)
{
	switch (kic & 0x0f) {
	case ALG_AES: return key_len == 16 || key_len == 24 || key_len == 32 ? APDU_OK : APDU_E_KEY_LENGTH;
	case ALG_3DES2: return key_len == 16 ? APDU_OK : APDU_E_KEY_LENGTH;
	case ALG_3DES3: return key_len == 24 ? APDU_OK : APDU_E_KEY_LENGTH;
	}
	return APDU_E_UNSUPPORTED;
}

static apdu_err check_sig_key(uint8_t sig, uint8_t kid, size_t key_len)
{
	if (sig == SCP80_SIG_NONE)
		return APDU_OK;
	if (sig == SCP80_SIG_RC)
		return (kid & 0x0f) == ALG_CRC32 ? APDU_OK : APDU_E_UNSUPPORTED;
	if (sig == SCP80_SIG_CC)
		return check_cipher_key(kid, key_len);
	return APDU_E_UNSUPPORTED;
}

apdu_err scp80_keyset_check(const scp80_keyset *ks, uint16_t spi)
{
	uint8_t s1 = (uint8_t)(spi >> 8), s2 = (uint8_t)spi;
	apdu_err e = scp80_spi_check(spi);
	if (e)
		return e;
	bool cipher = (s1 & SCP80_SPI1_CIPHER) || (s2 & SCP80_SPI2_POR_CIPHER);
	if (cipher && (e = check_cipher_key(ks->kic, ks->kic_key_len)))
		return e;
	if ((e = check_sig_key(s1 & SCP80_SPI1_SIG_MASK, ks->kid, ks->kid_key_len)))
		return e;
	return check_sig_key((s2 >> SCP80_SPI2_POR_SIG_SHIFT) & 3, ks->kid, ks->kid_key_len);
}

static size_t sig_len(uint8_t sig)
{
	return sig == SCP80_SIG_CC ? SCP80_CC_LEN : sig == SCP80_SIG_RC ? SCP80_RC_LEN : 0;
}

static uint32_t crc32_iso13239(const uint8_t *p, size_t len)
{
	uint32_t crc = 0xffffffffu;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
	}
	return ~crc;
}

/* TS 102 225 5.1.3: the checksum over `in`; 3DES CBC-MAC pads with zeros to the block size itself,
 * AES-CMAC pads as CMAC does. */
static apdu_err compute_sig(uint8_t sig, const scp80_keyset *ks, const uint8_t *in, size_t len, uint8_t *out)
{
	if (sig == SCP80_SIG_RC) {
		uint32_t c = crc32_iso13239(in, len);
		out[0] = (uint8_t)(c >> 24);
		out[1] = (uint8_t)(c >> 16);
		out[2] = (uint8_t)(c >> 8);
		out[3] = (uint8_t)c;
		return APDU_OK;
	}
	if ((ks->kid & 0x0f) == ALG_AES) {
		uint8_t full[16];
		apdu_err e = crypto_aes_cmac(ks->kid_key, ks->kid_key_len, in, len, full);
		if (!e)
			memcpy(out, full, SCP80_CC_LEN);
		crypto_wipe(full, sizeof(full));
		return e;
	}
	return crypto_des3_cbc_mac(ks->kid_key, ks->kid_key_len, in, len, out);
}

static apdu_err run_cipher(const scp80_keyset *ks, bool encrypt, uint8_t *buf, size_t len)
{
	if ((ks->kic & 0x0f) == ALG_AES)
		return crypto_aes_cbc(ks->kic_key, ks->kic_key_len, NULL, encrypt, buf, len, buf);
	return crypto_des3_cbc(ks->kic_key, ks->kic_key_len, NULL, encrypt, buf, len, buf);
}

apdu_err scp80_wrap_command(const scp80_keyset *ks, uint16_t spi, const uint8_t tar[3], const uint8_t cntr[5],
			    const uint8_t *data, size_t len, abuf *out)
{
	uint8_t s1 = (uint8_t)(spi >> 8);
	uint8_t sig = s1 & SCP80_SPI1_SIG_MASK;
	bool cipher = (s1 & SCP80_SPI1_CIPHER) != 0;
	apdu_err e = scp80_keyset_check(ks, spi);
	if (e)
		return e;
	if (len > SCP80_MAX_PACKET)
		return APDU_E_NOMEM;
	size_t slen = sig_len(sig);
	size_t pad = 0;
	if (cipher) {
		size_t bs = cipher_block(ks->kic);
		size_t clen = 5 + 1 + slen + len; /* CNTR PCNTR sig data */
		pad = (bs - clen % bs) % bs;
	}
	size_t chl = 13 + slen;
	size_t cpl = 1 + chl + len + pad;
	/* The packet is assembled in a scratch buffer (it holds plaintext) and copied out at the end. */
	abuf pkt = ABUF_INIT;
	abuf_put_u16(&pkt, (uint16_t)cpl);
	abuf_put_u8(&pkt, (uint8_t)chl);
	abuf_put_u16(&pkt, spi);
	abuf_put_u8(&pkt, ks->kic);
	abuf_put_u8(&pkt, ks->kid);
	abuf_put(&pkt, tar, 3);
	abuf_put(&pkt, cntr, 5);
	abuf_put_u8(&pkt, (uint8_t)pad);
	size_t sig_at = pkt.len;
	abuf_fill(&pkt, 0, slen);
	abuf_put(&pkt, data, len);
	abuf_fill(&pkt, 0, pad);
	if ((e = pkt.err))
		goto out;
	if (slen) {
		/* TS 102 225 5.1.3: the checksum covers CPL..TAR, CNTR, PCNTR and the (padded) data, not itself */
		abuf mac_in = ABUF_INIT;
		abuf_put(&mac_in, pkt.p, sig_at);
		abuf_put(&mac_in, pkt.p + sig_at + slen, pkt.len - sig_at - slen);
		e = mac_in.err ? mac_in.err : compute_sig(sig, ks, mac_in.p, mac_in.len, pkt.p + sig_at);
		abuf_free(&mac_in);
		if (e)
			goto out;
	}
	if (cipher && (e = run_cipher(ks, true, pkt.p + 10, pkt.len - 10)))
		goto out;
	e = abuf_put(out, pkt.p, pkt.len);
out:
	abuf_free(&pkt);
	return e;
}

apdu_err scp80_parse_command_header(const uint8_t *pkt, size_t len, scp80_cmd_hdr *out)
{
	acur c = acur_make(pkt, len);
	scp80_cmd_hdr h;
	uint16_t cpl;
	uint8_t chl;
	apdu_err e;
	memset(&h, 0, sizeof(h));
	if ((e = acur_u16(&c, &cpl)) || (e = acur_u8(&c, &chl)) || (e = acur_u16(&c, &h.spi)) ||
	    (e = acur_u8(&c, &h.kic)) || (e = acur_u8(&c, &h.kid)) || (e = acur_copy(&c, h.tar, 3)))
		return e == APDU_E_TRUNC_VALUE ? APDU_E_TRUNC_HEADER : e;
	if ((size_t)cpl + 2 > len)
		return APDU_E_TRUNC_VALUE;
	if ((size_t)cpl + 2 < len)
		return APDU_E_TRAILING;
	if (chl < 13 || (size_t)chl + 1 > cpl)
		return APDU_E_BAD_LENGTH;
	*out = h;
	return APDU_OK;
}

apdu_err scp80_unwrap_command(const scp80_keyset *ks, const uint8_t *pkt, size_t len, scp80_cmd_hdr *hdr, abuf *data)
{
	scp80_cmd_hdr h;
	apdu_err e = scp80_parse_command_header(pkt, len, &h);
	if (e)
		return e;
	uint8_t s1 = (uint8_t)(h.spi >> 8);
	uint8_t sig = s1 & SCP80_SPI1_SIG_MASK;
	bool cipher = (s1 & SCP80_SPI1_CIPHER) != 0;
	if ((e = scp80_keyset_check(ks, h.spi)))
		return e;
	if (h.kic != ks->kic || h.kid != ks->kid)
		return APDU_E_INVAL;
	size_t chl = pkt[2];
	size_t slen = sig_len(sig);
	if (chl != 13 + slen)
		return APDU_E_BAD_LENGTH;
	size_t body_len = len - 10; /* CNTR onwards */
	if (body_len < 6 + slen)
		return APDU_E_TRUNC_VALUE;
	abuf plain = ABUF_INIT;
	abuf_put(&plain, pkt, len);
	if ((e = plain.err))
		goto out;
	if (cipher) {
		size_t bs = cipher_block(ks->kic);
		if (body_len % bs) {
			e = APDU_E_PADDING;
			goto out;
		}
		if ((e = run_cipher(ks, false, plain.p + 10, body_len)))
			goto out;
	}
	memcpy(h.cntr, plain.p + 10, 5);
	size_t pcntr = plain.p[15];
	size_t data_len = body_len - 6 - slen;
	if (pcntr > data_len || (cipher ? pcntr >= cipher_block(ks->kic) : pcntr != 0)) {
		e = APDU_E_PADDING;
		goto out;
	}
	if (slen) {
		uint8_t got[SCP80_CC_LEN], want[SCP80_CC_LEN];
		memcpy(got, plain.p + 16, slen);
		memmove(plain.p + 16, plain.p + 16 + slen, data_len); /* CC covers everything but itself */
		e = compute_sig(sig, ks, plain.p, 16 + data_len, want);
		if (!e && !crypto_equal(got, want, slen))
			e = APDU_E_MAC;
		crypto_wipe(want, sizeof(want));
		if (e)
			goto out;
		e = abuf_put(data, plain.p + 16, data_len - pcntr);
	} else {
		e = abuf_put(data, plain.p + 16, data_len - pcntr);
	}
	if (!e)
		*hdr = h;
out:
	abuf_free(&plain);
	return e;
}

uint8_t scp80_por_status_for(apdu_err err)
{
	switch (err) {
	case APDU_OK: return SCP80_POR_OK;
	case APDU_E_MAC: return SCP80_POR_RC_CC_DS_FAILED;
	case APDU_E_PADDING: return SCP80_POR_CIPHERING_ERROR;
	case APDU_E_NOMEM: return SCP80_POR_INSUFFICIENT_MEMORY;
	default: return SCP80_POR_UNDEFINED_SECURITY_ERROR;
	}
}

uint8_t scp80_counter_check(uint16_t spi, const uint8_t stored[5], const uint8_t received[5])
{
	static const uint8_t max[5] = { 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t mode = (uint8_t)(spi >> 8) & SCP80_SPI1_CNTR_MASK;
	if (mode == SCP80_CNTR_NONE || mode == SCP80_CNTR_AVAILABLE)
		return SCP80_POR_OK;
	/* TS 102 225 5.1.1: once the counter reached its maximum it is blocked */
	if (memcmp(stored, max, 5) == 0)
		return SCP80_POR_CNTR_BLOCKED;
	int cmp = memcmp(received, stored, 5);
	if (cmp <= 0)
		return SCP80_POR_CNTR_LOW;
	if (mode == SCP80_CNTR_ONE_HIGHER) {
		uint8_t next[5];
		memcpy(next, stored, 5);
		for (int i = 4; i >= 0; i--)
			if (++next[i])
				break;
		if (memcmp(received, next, 5) != 0)
			return SCP80_POR_CNTR_HIGH;
	}
	return SCP80_POR_OK;
}

apdu_err scp80_wrap_por(const scp80_keyset *ks, uint16_t spi, const scp80_por_hdr *hdr, const uint8_t *data, size_t len,
			bool with_udh, abuf *out)
{
	uint8_t s2 = (uint8_t)spi;
	uint8_t sig = (s2 >> SCP80_SPI2_POR_SIG_SHIFT) & 3;
	bool cipher = (s2 & SCP80_SPI2_POR_CIPHER) != 0;
	apdu_err e = scp80_keyset_check(ks, spi);
	if (e)
		return e;
	if (len > SCP80_MAX_PACKET)
		return APDU_E_NOMEM;
	size_t slen = sig_len(sig), pad = 0;
	if (cipher) {
		size_t bs = cipher_block(ks->kic);
		size_t clen = 5 + 1 + 1 + slen + len; /* CNTR PCNTR STATUS sig data */
		pad = (bs - clen % bs) % bs;
	}
	size_t rhl = 10 + slen;
	size_t rpl = 1 + 3 + 5 + 1 + 1 + slen + len + pad;
	abuf pkt = ABUF_INIT;
	abuf_put(&pkt, scp80_udh_por, SCP80_UDH_POR_LEN);
	abuf_put_u16(&pkt, (uint16_t)rpl);
	abuf_put_u8(&pkt, (uint8_t)rhl);
	abuf_put(&pkt, hdr->tar, 3);
	abuf_put(&pkt, hdr->cntr, 5);
	abuf_put_u8(&pkt, (uint8_t)pad);
	abuf_put_u8(&pkt, hdr->status);
	size_t sig_at = pkt.len;
	abuf_fill(&pkt, 0, slen);
	abuf_put(&pkt, data, len);
	abuf_fill(&pkt, 0, pad);
	if ((e = pkt.err))
		goto out;
	if (slen) {
		/* TS 31.115 7.1: the UDH is part of the CC input for SMS */
		abuf mac_in = ABUF_INIT;
		abuf_put(&mac_in, pkt.p, sig_at);
		abuf_put(&mac_in, pkt.p + sig_at + slen, pkt.len - sig_at - slen);
		e = mac_in.err ? mac_in.err : compute_sig(sig, ks, mac_in.p, mac_in.len, pkt.p + sig_at);
		abuf_free(&mac_in);
		if (e)
			goto out;
	}
	/* CNTR onwards is ciphered: UDH(3) RPL(2) RHL(1) TAR(3) = 9 bytes stay clear */
	if (cipher && (e = run_cipher(ks, true, pkt.p + 9, pkt.len - 9)))
		goto out;
	size_t skip = with_udh ? 0 : SCP80_UDH_POR_LEN;
	e = abuf_put(out, pkt.p + skip, pkt.len - skip);
out:
	abuf_free(&pkt);
	return e;
}

apdu_err scp80_unwrap_por(const scp80_keyset *ks, uint16_t spi, const uint8_t *in, size_t len, scp80_por_hdr *hdr,
			  abuf *data)
{
	uint8_t s2 = (uint8_t)spi;
	uint8_t sig = (s2 >> SCP80_SPI2_POR_SIG_SHIFT) & 3;
	bool cipher = (s2 & SCP80_SPI2_POR_CIPHER) != 0;
	apdu_err e = scp80_keyset_check(ks, spi);
	if (e)
		return e;
	abuf pkt = ABUF_INIT;
	/* with or without the UDH: normalise to "with", the CC covers it */
	if (len >= SCP80_UDH_POR_LEN && memcmp(in, scp80_udh_por, SCP80_UDH_POR_LEN) == 0) {
		abuf_put(&pkt, in, len);
	} else {
		abuf_put(&pkt, scp80_udh_por, SCP80_UDH_POR_LEN);
		abuf_put(&pkt, in, len);
	}
	if ((e = pkt.err))
		goto out;
	if (pkt.len < 9) {
		e = APDU_E_TRUNC_HEADER;
		goto out;
	}
	size_t rpl = ((size_t)pkt.p[3] << 8) | pkt.p[4];
	size_t rhl = pkt.p[5];
	size_t slen = sig_len(sig);
	if (rpl + 5 > pkt.len) {
		e = APDU_E_TRUNC_VALUE;
		goto out;
	}
	if (rpl + 5 < pkt.len) {
		e = APDU_E_TRAILING;
		goto out;
	}
	if (rhl != 10 + slen || rpl < 1 + rhl) {
		e = APDU_E_BAD_LENGTH;
		goto out;
	}
	size_t body = pkt.len - 9; /* CNTR onwards */
	if (cipher) {
		if (body % cipher_block(ks->kic)) {
			e = APDU_E_PADDING;
			goto out;
		}
		if ((e = run_cipher(ks, false, pkt.p + 9, body)))
			goto out;
	}
	size_t pcntr = pkt.p[14];
	size_t data_len = body - 7 - slen;
	if (pcntr > data_len || (cipher ? pcntr >= cipher_block(ks->kic) : pcntr != 0)) {
		e = APDU_E_PADDING;
		goto out;
	}
	scp80_por_hdr h;
	memcpy(h.tar, pkt.p + 6, 3);
	memcpy(h.cntr, pkt.p + 9, 5);
	h.status = pkt.p[15];
	if (slen) {
		uint8_t got[SCP80_CC_LEN], want[SCP80_CC_LEN];
		memcpy(got, pkt.p + 16, slen);
		memmove(pkt.p + 16, pkt.p + 16 + slen, data_len);
		e = compute_sig(sig, ks, pkt.p, 16 + data_len, want);
		if (!e && !crypto_equal(got, want, slen))
			e = APDU_E_MAC;
		if (e)
			goto out;
	}
	if ((e = abuf_put(data, pkt.p + 16, data_len - pcntr)))
		goto out;
	*hdr = h;
out:
	abuf_free(&pkt);
	return e;
}

/* ---- remote command formats ---- */

apdu_err scp80_expanded_script_build(abuf *out, const uint8_t *const *apdus, const size_t *lens, size_t n)
{
	abuf t = ABUF_INIT;
	size_t mark;
	tlv_begin(&t, 0xAA, &mark);
	for (size_t i = 0; i < n; i++)
		tlv_put(&t, 0x22, apdus[i], lens[i]);
	tlv_end(&t, mark);
	apdu_err e = t.err ? t.err : abuf_put(out, t.p, t.len);
	abuf_free(&t);
	return e;
}

/* Commands whose P3 is Le (ISO 7816 case 2) in the compact format; every other INS is read as Lc.
 * Chosen behaviour, see docs/protocol-choices.md. */
static bool compact_ins_is_le(uint8_t ins)
{
	/* READ BINARY, READ RECORD, GET RESPONSE, GET DATA, FETCH, GET CHALLENGE */
	static const uint8_t le_ins[] = PROTO_COMPACT_LE_INS;
	for (size_t i = 0; i < sizeof(le_ins); i++)
		if (le_ins[i] == ins)
			return true;
	return false;
}

apdu_err scp80_script_begin(scp80_script_iter *it, scp80_format format, const uint8_t *script, size_t len)
{
	it->format = format;
	it->cur = acur_make(script, len);
	it->started = false;
	if (format == SCP80_FORMAT_EXPANDED) {
		tlv t;
		apdu_err e = tlv_parse_one(script, len, &t);
		if (e)
			return e;
		if (t.tag != 0xAA)
			return APDU_E_BAD_TAG;
		it->cur = acur_make(t.value, t.len);
	}
	if (format != SCP80_FORMAT_EXPANDED && format != SCP80_FORMAT_COMPACT)
		return APDU_E_INVAL;
	it->started = true;
	return APDU_OK;
}

apdu_err scp80_script_next(scp80_script_iter *it, scp80_script_item *item, bool *done)
{
	if (!it->started)
		return APDU_E_STATE;
	if (it->cur.len == 0) {
		*done = true;
		return APDU_OK;
	}
	*done = false;
	if (it->format == SCP80_FORMAT_EXPANDED) {
		tlv t;
		apdu_err e = tlv_next(&it->cur, &t);
		if (e)
			return e;
		item->tag = t.tag;
		item->value = t.value;
		item->len = t.len;
		return APDU_OK;
	}
	const uint8_t *p = it->cur.p;
	size_t avail = it->cur.len, n;
	if (avail < 4)
		return APDU_E_TRUNC_HEADER;
	if (avail == 4)
		n = 4; /* case 1 at the end */
	else if (compact_ins_is_le(p[1]))
		n = 5;
	else if (5 + (size_t)p[4] > avail)
		return APDU_E_TRUNC_VALUE;
	else
		n = 5 + (size_t)p[4];
	item->tag = 0x22;
	item->value = p;
	item->len = n;
	it->cur.p += n;
	it->cur.len -= n;
	return APDU_OK;
}

apdu_err scp80_response_parse(scp80_format format, const uint8_t *in, size_t len, scp80_response *out)
{
	scp80_response r;
	memset(&r, 0, sizeof(r));
	if (format == SCP80_FORMAT_COMPACT) {
		if (len < 3)
			return APDU_E_TRUNC_HEADER;
		r.count = in[0];
		r.last_sw = (uint16_t)((in[1] << 8) | in[2]);
		r.data = in + 3;
		r.len = len - 3;
		*out = r;
		return APDU_OK;
	}
	if (format != SCP80_FORMAT_EXPANDED)
		return APDU_E_INVAL;
	tlv t, item;
	apdu_err e = tlv_parse_one(in, len, &t);
	if (e)
		return e;
	if (t.tag != 0xAB)
		return APDU_E_BAD_TAG;
	acur c = acur_make(t.value, t.len);
	bool have_count = false, have_rapdu = false;
	while (c.len) {
		if ((e = tlv_next(&c, &item)))
			return e;
		if (item.tag == 0x80) {
			if (item.len != 1)
				return APDU_E_BAD_LENGTH;
			r.count = item.value[0];
			have_count = true;
		} else if (item.tag == 0x23) {
			if (item.len < 2)
				return APDU_E_BAD_LENGTH;
			r.last_sw = (uint16_t)((item.value[item.len - 2] << 8) | item.value[item.len - 1]);
			r.data = item.value;
			r.len = item.len - 2;
			have_rapdu = true;
		} else {
			/* '81' immediate action, '83' script chaining...: not produced by our card */
			return APDU_E_UNSUPPORTED;
		}
	}
	if (!have_count || !have_rapdu)
		return APDU_E_BAD_TAG;
	*out = r;
	return APDU_OK;
}

apdu_err scp80_compact_response_build(abuf *out, uint8_t count, uint16_t last_sw, const uint8_t *data, size_t len)
{
	apdu_err e = abuf_reserve(out, 3 + len);
	if (e)
		return e;
	abuf_put_u8(out, count);
	abuf_put_u16(out, last_sw);
	return abuf_put(out, data, len);
}

apdu_err scp80_expanded_response_build(abuf *out, uint8_t count, const uint8_t *const *rapdus, const size_t *lens,
				       size_t n)
{
	abuf t = ABUF_INIT;
	size_t mark;
	tlv_begin(&t, 0xAB, &mark);
	tlv_put_u8(&t, 0x80, count);
	for (size_t i = 0; i < n; i++)
		tlv_put(&t, 0x23, rapdus[i], lens[i]);
	tlv_end(&t, mark);
	apdu_err e = t.err ? t.err : abuf_put(out, t.p, t.len);
	abuf_free(&t);
	return e;
}
