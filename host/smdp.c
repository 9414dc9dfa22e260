/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-DP role, through the SM-SR's OTA channel: key establishment scenario #3 with an ISD-P (the
 * SM-DP's certificate, then an ephemeral key signed over the card's challenge; the receipt proves the
 * card derived the same keys) and the SCP03t download of a SAIP package in segments, each answered
 * with the profile elements' statuses. */
#include <stdio.h>
#include <string.h>

#include "apdu/crypto.h"
#include "apdu/gpcert.h"
#include "apdu/hex.h"
#include "apdu/proto.h"
#include "apdu/scp03.h"
#include "apdu/tlv.h"
#include "host/smdp.h"

static const uint8_t isdr_tar[3] = PROTO_TAR_BYTES(PROTO_TAR_ISDR);

/* CERT.ECASD.ECKA from the EIS, verified up to the CI: the card's key agreement key */
static int ecasd_key(dev_host *h, const bench_pki *pki, json_t *eis, crypto_eckey **out)
{
	abuf ecert = ABUF_INIT;
	gpcert ec;
	const char *ech = json_string_value(json_object_get(json_object_get(eis, "ecasd"), "certificate"));
	int ok = pki->eum_verified && ech && !hex_decode(ech, &ecert, NULL) && !gpcert_parse(ecert.p, ecert.len, &ec) &&
		!gpcert_verify(&ec, pki->eum) && !gpcert_pubkey(&ec, out);
	abuf_free(&ecert);
	return ok ? 0 : dev_fail(h, "ECASD certificate does not verify up to the CI");
}

/* Sends items to tar and takes the expanded-format answer: 0 when the PoR says OK and the last
 * command answered 9000; -1 with "WHAT refused" in h->log otherwise. */
static int exchange(dev_host *h, const uint8_t tar[3], const uint8_t *const *items, const size_t *lens, size_t n,
		    bool raw, scp80_response *r, const char *what)
{
	if (dev_send(h, tar, true, items, lens, n, raw) || h->por.status ||
	    scp80_response_parse(SCP80_FORMAT_EXPANDED, h->por_data.p, h->por_data.len, r) || r->last_sw != 0x9000) {
		char m[96];
		snprintf(m, sizeof(m), "%s refused", what);
		return dev_fail(h, m);
	}
	return 0;
}

/* STORE DATA (one block, last) with the given data field */
static void store_data(abuf *out, const uint8_t *data, size_t len)
{
	uint8_t hdr[5] = { 0x80, 0xE2, 0x89, 0x00, (uint8_t)len };
	abuf_put(out, hdr, 5);
	abuf_put(out, data, len);
}

/* message 1: INSTALL [for personalization] of the ISD-P + STORE DATA 3A01 { CERT.DP.ECDSA }; the card
 * answers its challenge */
static int ke_certificate(dev_host *h, const bench_pki *pki, const uint8_t aid[16], uint8_t challenge[16])
{
	uint8_t inst[5 + 22] = { 0x80, 0xE6, 0x20, 0x00, 22, 0x00, 0x00, 0x10 };
	memcpy(inst + 8, aid, 16);
	abuf field = ABUF_INIT, sd = ABUF_INIT;
	int rc = -1;
	if (dgi_put(&field, PROTO_DGI_KE_CERT, pki->smdp_cert.p, pki->smdp_cert.len) || field.len > 255) {
		rc = dev_fail(h, "the SM-DP certificate does not fit one STORE DATA");
		goto out;
	}
	store_data(&sd, field.p, field.len);
	const uint8_t *items[2] = { inst, sd.p };
	size_t lens[2] = { sizeof(inst), sd.len };
	scp80_response r;
	tlv t;
	if (sd.err) {
		rc = dev_fail(h, "out of memory");
	} else if (!exchange(h, isdr_tar, items, lens, 2, false, &r, "3A01")) {
		if (r.count != 2 || tlv_find(r.data, r.len, PROTO_KE_TAG_CHALLENGE, &t) ||
		    t.len != PROTO_KE_CHALLENGE_LEN) {
			rc = dev_fail(h, "3A01 refused");
		} else {
			memcpy(challenge, t.value, PROTO_KE_CHALLENGE_LEN);
			rc = 0;
		}
	}
out:
	abuf_free(&field);
	abuf_free(&sd);
	return rc;
}

/* the 3A02 data field: DGI 3A02 { A6 CRT, 7F49 { B0 ePK.DP.ECKA }, 5F37 signature }, the signature over
 * the DGI before 5F37 and then 85 L challenge (apdu/proto.h). The CRT goes to crt for the receipt. */
static int ke_message2(const bench_pki *pki, const uint8_t challenge[16], const uint8_t epk[65], abuf *crt, abuf *out)
{
	abuf body = ABUF_INIT, msg = ABUF_INIT;
	size_t m;
	tlv_begin(crt, 0xA6, &m);
	tlv_put(crt, 0x90, "\x03\x00", 2);
	tlv_put_u8(crt, 0x95, 0x5C);
	tlv_put_u8(crt, 0x80, 0x88);
	tlv_put_u8(crt, 0x81, 0x10);
	tlv_put_u8(crt, 0x82, 0x01);
	tlv_put_u8(crt, 0x83, 0x30);
	tlv_end(crt, m);
	abuf_put(&body, crt->p, crt->len);
	tlv_begin(&body, 0x7F49, &m);
	tlv_put(&body, 0xB0, epk, 65);
	tlv_end(&body, m);
	/* the DGI's length covers the body and the 5F37 TLV (3 + 64) */
	size_t total = body.len + 3 + 64;
	abuf_put_u16(out, PROTO_DGI_KE_EPK);
	if (total < 0xff) {
		abuf_put_u8(out, (uint8_t)total);
	} else {
		abuf_put_u8(out, 0xff);
		abuf_put_u16(out, (uint16_t)total);
	}
	abuf_put(out, body.p, body.len);
	abuf_put(&msg, out->p, out->len);
	if (PROTO_KE_SIG_EXTRA_00)
		abuf_put_u8(&msg, 0x00);
	tlv_put(&msg, PROTO_KE_TAG_CHALLENGE, challenge, PROTO_KE_CHALLENGE_LEN);
	uint8_t sig[64];
	apdu_err e = msg.err || body.err || crt->err ? APDU_E_NOMEM : crypto_ecdsa_sign(pki->smdp, msg.p, msg.len, sig);
	abuf_put(out, "\x5F\x37\x40", 3);
	abuf_put(out, sig, 64);
	abuf_free(&msg);
	abuf_free(&body);
	return e || out->err ? -1 : 0;
}

/* message 2 and the derivation: Z = ECDH(eSK.DP, PK.ECASD), X9.63 KDF with SharedInfo 5C 88 10 DR;
 * kd[0..15] the receipt key, kd[16..31] the ISD-P's SCP03 key */
static int ke_keys(dev_host *h, const bench_pki *pki, const crypto_eckey *ecasd, const uint8_t challenge[16],
		   uint8_t kd[32])
{
	crypto_eckey *eph = NULL;
	abuf crt = ABUF_INIT, field = ABUF_INIT, sd = ABUF_INIT, rin = ABUF_INIT;
	uint8_t epk[65], z[32], receipt[16];
	int rc = -1;
	if (crypto_ec_generate(CRYPTO_CURVE_P256, &eph) || crypto_ec_public(eph, epk)) {
		rc = dev_fail(h, "cannot generate the ephemeral key");
		goto out;
	}
	if (ke_message2(pki, challenge, epk, &crt, &field) || field.len > 255) {
		rc = dev_fail(h, "cannot build or sign the 3A02 message");
		goto out;
	}
	store_data(&sd, field.p, field.len);
	const uint8_t *items[1] = { sd.p };
	size_t lens[1] = { sd.len };
	scp80_response r;
	tlv tdr, trc;
	if (exchange(h, isdr_tar, items, lens, 1, false, &r, "3A02"))
		goto out;
	if (tlv_find(r.data, r.len, PROTO_KE_TAG_CHALLENGE, &tdr) || tlv_find(r.data, r.len, 0x86, &trc) ||
	    tdr.len != PROTO_KE_DR_LEN || trc.len != 16) {
		rc = dev_fail(h, "3A02 refused");
		goto out;
	}
	uint8_t si[3 + PROTO_KE_DR_LEN] = { 0x5C, 0x88, 0x10 };
	memcpy(si + 3, tdr.value, PROTO_KE_DR_LEN);
	abuf_put(&rin, crt.p, crt.len);
	tlv_put(&rin, PROTO_KE_TAG_CHALLENGE, tdr.value, PROTO_KE_DR_LEN);
	if (crypto_ecdh(eph, ecasd, z) || crypto_x963_kdf_sha256(z, 32, si, sizeof(si), kd, 32) || rin.err ||
	    crypto_aes_cmac(kd, 16, rin.p, rin.len, receipt)) {
		rc = dev_fail(h, "key derivation failed");
		goto out;
	}
	rc = memcmp(receipt, trc.value, 16) ? dev_fail(h, "receipt does not verify") : 0;
out:
	crypto_wipe(z, sizeof(z));
	crypto_ec_free(eph);
	abuf_free(&crt);
	abuf_free(&field);
	abuf_free(&sd);
	abuf_free(&rin);
	return rc;
}

/* SCP03t with the new key to the ISD-P's TAR: the open TLV and its answer; auth is the authenticate TLV
 * that travels with the first segment */
static int scp03t_open(dev_host *h, const uint8_t tar[3], const uint8_t key[16], scp03_session *s, abuf *auth)
{
	scp03_keys k;
	memset(&k, 0, sizeof(k));
	k.kvn = 0x30;
	k.key_len = 16;
	memcpy(k.enc, key, 16);
	memcpy(k.mac, key, 16);
	memcpy(k.dek, key, 16);
	uint8_t hc[8];
	abuf open = ABUF_INIT;
	scp80_response r;
	int rc = -1;
	if (crypto_random(hc, 8) || scp03t_host_open(k.kvn, 0x01, hc, &open)) {
		rc = dev_fail(h, "cannot build the SCP03t open TLV");
	} else {
		const uint8_t *items[1] = { open.p };
		size_t lens[1] = { open.len };
		if (!exchange(h, tar, items, lens, 1, true, &r, "SCP03t open"))
			rc = scp03t_host_open_response(s, &k, hc, r.data, r.len) || scp03t_host_authenticate(s, auth)
				? dev_fail(h, "SCP03t open refused")
				: 0;
	}
	crypto_wipe(&k, sizeof(k));
	abuf_free(&open);
	return rc;
}

/* The card's answer to a segment: 30 { A0 { 30 { 80 status, 81 element number } ... } }; the first
 * element that did not install, said in refused ("" when all did) */
static void pe_refused(const uint8_t *ans, size_t len, char *refused, size_t cap)
{
	tlv l30, la0, e, st, pe;
	refused[0] = 0;
	if (tlv_find(ans, len, 0x30, &l30) || tlv_find(l30.value, l30.len, 0xA0, &la0))
		return;
	acur cur = acur_make(la0.value, la0.len);
	while (cur.len && !tlv_next(&cur, &e) && !refused[0]) {
		if (tlv_find(e.value, e.len, 0x80, &st) || st.len != 1 || st.value[0] == PROTO_PE_OK)
			continue;
		unsigned n = !tlv_find(e.value, e.len, 0x81, &pe) && pe.len == 1 ? pe.value[0] : 0;
		uint8_t s = st.value[0];
		snprintf(refused, cap, "profile element %u refused: %s", n,
			 s == PROTO_PE_NOT_SUPPORTED		   ? "not supported"
				 : s == PROTO_PE_BAD_VALUES	   ? "bad values"
				 : s == PROTO_PE_NOT_ENOUGH_MEMORY ? "not enough memory"
				 : s == PROTO_PE_INVALID_FORMAT	   ? "invalid format"
								   : "error");
	}
}

/* the package in segments; 85 (authenticate) travels with the first 86 */
static int send_segments(dev_host *h, const uint8_t tar[3], scp03_session *s, const abuf *auth, const uint8_t *pkg,
			 size_t pkg_len, size_t segment, const smdp_faults *f)
{
	for (size_t off = 0; off < pkg_len;) {
		size_t take = pkg_len - off < segment ? pkg_len - off : segment;
		abuf seg = ABUF_INIT, ans = ABUF_INIT;
		if (scp03t_host_wrap(s, pkg + off, take, &seg)) {
			abuf_free(&seg);
			return dev_fail(h, "cannot wrap a segment");
		}
		if (f && f->corrupt_segment && off / segment + 1 == (size_t)f->corrupt_segment)
			seg.p[seg.len - 1] ^= 0x01;
		const uint8_t *items[2];
		size_t lens[2], n = 0;
		if (off == 0) {
			items[n] = auth->p;
			lens[n++] = auth->len;
		}
		items[n] = seg.p;
		lens[n++] = seg.len;
		scp80_response r;
		int rc = exchange(h, tar, items, lens, n, true, &r, "segment");
		abuf_free(&seg);
		if (!rc && scp03t_host_unwrap(s, r.data, r.len, &ans))
			rc = dev_fail(h, "segment refused");
		char refused[96] = "";
		if (!rc)
			pe_refused(ans.p, ans.len, refused, sizeof(refused));
		abuf_free(&ans);
		if (rc)
			return rc;
		if (refused[0])
			return dev_fail(h, refused);
		off += take;
		if (h->progress)
			h->progress(h->progress_ctx, off, pkg_len);
	}
	return 0;
}

int smdp_download_faults(dev_host *h, const bench_pki *pki, json_t *eis, const uint8_t aid[16], const uint8_t *pkg,
			 size_t pkg_len, size_t segment, const smdp_faults *f)
{
	crypto_eckey *ecasd = NULL;
	uint8_t challenge[PROTO_KE_CHALLENGE_LEN], kd[32];
	scp03_session s;
	abuf auth = ABUF_INIT;
	memset(&s, 0, sizeof(s));
	int rc = -1;
	if (segment == 0)
		return dev_fail(h, "SCP03t segment size 0");
	if (ecasd_key(h, pki, eis, &ecasd) || ke_certificate(h, pki, aid, challenge))
		goto out;
	if (f && f->wrong_challenge)
		challenge[15] ^= 0x01; /* sign over another challenge than the card's */
	if (ke_keys(h, pki, ecasd, challenge, kd))
		goto out;
	memcpy(h->scp03_key, kd + 16, 16);
	h->scp03_kvn = 0x30;
	h->have_scp03_key = true;
	dev_tracef(h, "key establishment: receipt verified, SCP03 keyset 30 agreed with the ISD-P");
	const uint8_t *tar = aid + 12; /* the ISD-P's TAR: AID bytes 13..15 */
	if (scp03t_open(h, tar, kd + 16, &s, &auth))
		goto out;
	/* with no package: key establishment and an opened session only, the ISD-P stays PERSONALIZED */
	rc = pkg_len ? send_segments(h, tar, &s, &auth, pkg, pkg_len, segment, f) : 0;
out:
	crypto_wipe(kd, sizeof(kd));
	scp03_session_clear(&s);
	crypto_ec_free(ecasd);
	abuf_free(&auth);
	return rc;
}

int smdp_download(dev_host *h, const bench_pki *pki, json_t *eis, const uint8_t aid[16], const uint8_t *pkg,
		  size_t pkg_len, size_t segment)
{
	return smdp_download_faults(h, pki, eis, aid, pkg, pkg_len, segment, NULL);
}
