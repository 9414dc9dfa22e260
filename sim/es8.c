/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ES8 on the card (docs/protocol.md §3): the ISD-R forwards STORE DATA to the ISD-P named by INSTALL [for
 * personalization]; key establishment scenario #3 (GP Amendment E, ECKA-EG); SCP03t profile download
 * into the ISD-P, validated and stored only when the whole package arrived. */
#include <string.h>

#include "apdu/gpcert.h"
#include "apdu/ids.h"
#include "apdu/tlv.h"
#include "euicc_int.h"

/* SAIP PEStatus values (TCA eUICC Profile Package) */

void es8_reset_session(euicc_card *c)
{
	c->es8.perso_target = -1;
	c->es8.ke_challenge_valid = false;
	c->es8.ke_dp_valid = false;
	crypto_wipe(c->es8.ke_challenge, sizeof(c->es8.ke_challenge));
	c->es8.dl_target = -1;
	scp03_session_clear(&c->es8.dl);
	abuf_free(&c->es8.dl_buf);
	c->es8.dl_pe_count = 0;
	c->es8.dl_failed = false;
}

/* 3A01 { 7F21 CERT.DP.ECDSA }: verified against PK.CI.ECDSA; answers 85 L <challenge> */
static eu_status ke_certificate(euicc_card *c, const uint8_t *v, size_t len, abuf *out)
{
	gpcert cert;
	crypto_eckey *ci = NULL;
	if (gpcert_parse(v, len, &cert))
		return EU_WRONG_DATA;
	if (cert.role != GPCERT_ROLE_SMDP || cert.curve != c->nvm.curve)
		return EU_WRONG_DATA;
	if (crypto_ec_from_public(c->nvm.curve, c->nvm.ci_pk, 65, &ci))
		return EU_TECHNICAL;
	apdu_err e = gpcert_verify(&cert, ci);
	crypto_ec_free(ci);
	if (e) {
		euicc_tracef(c, "  3A01: CERT.DP.ECDSA does not verify against the CI");
		return EU_SECURITY;
	}
	memcpy(c->es8.ke_dp_pk, cert.pub, 65);
	c->es8.ke_dp_valid = true;
	if (euicc_random(c, c->es8.ke_challenge, PROTO_KE_CHALLENGE_LEN))
		return EU_TECHNICAL;
	c->es8.ke_challenge_valid = true;
	tlv_put(out, 0x85, c->es8.ke_challenge, PROTO_KE_CHALLENGE_LEN);
	euicc_tracef(c, "  3A01: SM-DP certificate verified, challenge issued");
	return EU_OK;
}

/* 3A02 { A6 CRT, 7F49 { B0 ePK.DP.ECKA }, 5F37 signature }: answers 85 L <DR> 86 L <receipt> */
static eu_status ke_establish(euicc_card *c, int isdp, const uint8_t *data, size_t dlen, const uint8_t *v, size_t len,
			      abuf *out)
{
	tlv crt, epk, sig, t;
	if (!c->es8.ke_dp_valid || !c->es8.ke_challenge_valid)
		return EU_CONDITIONS;
	if (tlv_find(v, len, 0xA6, &crt) || tlv_find(v, len, 0x7F49, &epk) || tlv_find(v, len, 0x5F37, &sig) ||
	    sig.len != 64)
		return EU_WRONG_DATA;
	/* signed: the data field up to the 5F37 TLV, then 85 L <challenge> */
	size_t signed_len = (size_t)(sig.raw - data);
	if (sig.raw < data || signed_len > dlen)
		return EU_WRONG_DATA;
	abuf m = ABUF_INIT;
	abuf_put(&m, data, signed_len);
	if (PROTO_KE_SIG_EXTRA_00)
		abuf_put_u8(&m, 0x00);
	tlv_put(&m, 0x85, c->es8.ke_challenge, PROTO_KE_CHALLENGE_LEN);
	crypto_eckey *dp = NULL, *eph = NULL, *ecasd = NULL;
	eu_status st = EU_OK;
	uint8_t z[32], kd[32], dr[PROTO_KE_DR_LEN], receipt[16];
	if (m.err || crypto_ec_from_public(c->nvm.curve, c->es8.ke_dp_pk, 65, &dp)) {
		st = EU_TECHNICAL;
		goto out;
	}
	if (crypto_ecdsa_verify(dp, m.p, m.len, sig.value)) {
		euicc_tracef(c, "  3A02: signature of the SM-DP does not verify");
		st = EU_SECURITY;
		goto out;
	}
	/* CRT: 90 (scenario), 95 (key usage), 80 '88' AES, 81 '10' 16-byte key, 82 KID, 83 KVN */
	tlv ktype, klen, kid, kvn, usage, host_id, sdin;
	if (tlv_find(crt.value, crt.len, 0x80, &ktype) || ktype.len != 1 || ktype.value[0] != 0x88 ||
	    tlv_find(crt.value, crt.len, 0x81, &klen) || klen.len != 1 || klen.value[0] != 0x10 ||
	    tlv_find(crt.value, crt.len, 0x82, &kid) || kid.len != 1 || tlv_find(crt.value, crt.len, 0x83, &kvn) ||
	    kvn.len != 1 || tlv_find(crt.value, crt.len, 0x95, &usage) || usage.len != 1) {
		st = EU_WRONG_DATA;
		goto out;
	}
	if (tlv_find(epk.value, epk.len, 0xB0, &t) || t.len != 65 ||
	    crypto_ec_from_public(c->nvm.curve, t.value, 65, &eph)) {
		st = EU_WRONG_DATA;
		goto out;
	}
	if (crypto_ec_agreement_key(c->nvm.curve, c->nvm.ecasd_sk, &ecasd) || crypto_ecdh(ecasd, eph, z) ||
	    euicc_random(c, dr, sizeof(dr))) {
		st = EU_TECHNICAL;
		goto out;
	}
	/* SharedInfo = key usage ‖ key type ‖ key length ‖ DR [‖ HostID] [‖ SDIN] */
	abuf si = ABUF_INIT;
	abuf_put_u8(&si, usage.value[0]);
	abuf_put_u8(&si, 0x88);
	abuf_put_u8(&si, 0x10);
	abuf_put(&si, dr, sizeof(dr));
	if (!tlv_find(crt.value, crt.len, 0x84, &host_id))
		abuf_put(&si, host_id.value, host_id.len);
	if (!tlv_find(crt.value, crt.len, 0x45, &sdin))
		abuf_put(&si, sdin.value, sdin.len);
	apdu_err e = si.err ? si.err : crypto_x963_kdf_sha256(z, 32, si.p, si.len, kd, sizeof(kd));
	abuf_free(&si);
	if (e) {
		st = EU_TECHNICAL;
		goto out;
	}
	/* receipt = CMAC(receipt key, A6 CRT ‖ 85 L DR) */
	abuf rin = ABUF_INIT;
	abuf_put(&rin, crt.raw, crt.raw_len);
	tlv_put(&rin, 0x85, dr, sizeof(dr));
	e = rin.err ? rin.err : crypto_aes_cmac(kd, 16, rin.p, rin.len, receipt);
	abuf_free(&rin);
	if (e) {
		st = EU_TECHNICAL;
		goto out;
	}
	nvm_profile *p = &c->nvm.profiles[isdp];
	memcpy(p->scp03_key, kd + 16, 16);
	p->scp03_kvn = kvn.value[0];
	p->scp03_kid = kid.value[0];
	p->has_keys = true;
	if (p->state == PROTO_ISDP_SELECTABLE)
		p->state = PROTO_ISDP_PERSONALIZED;
	tlv_put(out, 0x85, dr, sizeof(dr));
	tlv_put(out, 0x86, receipt, sizeof(receipt));
	c->es8.ke_challenge_valid = false;
	c->es8.ke_dp_valid = false;
	euicc_tracef(c, "  3A02: key established for ISD-P %d (KVN %02x), PERSONALIZED", isdp, p->scp03_kvn);
out:
	crypto_wipe(z, sizeof(z));
	crypto_wipe(kd, sizeof(kd));
	crypto_wipe(receipt, sizeof(receipt));
	crypto_ec_free(dp);
	crypto_ec_free(eph);
	crypto_ec_free(ecasd);
	abuf_free(&m);
	return st;
}

eu_status es8_store_data(euicc_card *c, int isdp, const uint8_t *data, size_t len, abuf *out)
{
	acur cur = acur_make(data, len);
	dgi d;
	if (!len)
		return EU_WRONG_LENGTH;
	if (dgi_next(&cur, &d) || cur.len)
		return EU_WRONG_DATA;
	switch (d.tag) {
	case 0x3A01: return ke_certificate(c, d.value, d.len, out);
	case 0x3A02: return ke_establish(c, isdp, data, len, d.value, d.len, out);
	}
	return EU_NOT_FOUND;
}

/* EUICCResponse as the bench encodes it: 30 { A0 { 30 { 80 status, 81 PE number } ... } } */
static void pe_status(abuf *list, uint8_t status, size_t pe_number)
{
	size_t m;
	tlv_begin(list, 0x30, &m);
	tlv_put_u8(list, 0x80, status);
	tlv_put_u8(list, 0x81, (uint8_t)(pe_number & 0xff));
	tlv_end(list, m);
}

static int header_iccid(const tlv *hdr, uint8_t iccid[10])
{
	tlv t;
	if (tlv_find(hdr->value, hdr->len, 0x83, &t) || t.len != 10)
		return -1;
	/* the SAIP header carries the ICCID as plain BCD with 'F' padding */
	char digits[21];
	size_t n = 0;
	for (size_t i = 0; i < 20; i++) {
		uint8_t nib = (i % 2 == 0) ? (t.value[i / 2] >> 4) : (t.value[i / 2] & 0x0f);
		if (nib == 0x0f)
			break;
		if (nib > 9)
			return -1;
		digits[n++] = (char)('0' + nib);
	}
	digits[n] = '\0';
	if (iccid_check(digits))
		return -1;
	memcpy(iccid, t.value, 10);
	return 0;
}

/* Looks at the profile elements that are complete in the download buffer and answers each once. */
/* The header element: a header with an ICCID, and (one ICCID, one profile) not one another ISD-P
 * already holds, refused before anything of the package is kept */
static bool header_ok(euicc_card *c, int isdp, const tlv *pe, uint8_t iccid[10])
{
	if (pe->tag != 0xA0 || header_iccid(pe, iccid))
		return false;
	for (int o = 0; o < EUICC_MAX_PROFILES; o++)
		if (o != isdp && c->nvm.profiles[o].used && c->nvm.profiles[o].has_iccid &&
		    !memcmp(c->nvm.profiles[o].iccid, iccid, 10)) {
			euicc_tracef(c, "  profile refused: its ICCID is installed in ISD-P %d", o);
			return false;
		}
	return true;
}

/* The whole package is here: its files and PINs installed; one element that does not install refuses
 * the profile, its number and status in the answer's list */
static eu_status install(euicc_card *c, int isdp, abuf *list)
{
	nvm_profile *p = &c->nvm.profiles[isdp];
	euicc_blob_touch(c, isdp);
	memcpy(p->package, c->es8.dl_buf.p, c->es8.dl_buf.len);
	p->package_len = (uint32_t)c->es8.dl_buf.len;
	size_t bad_pe = 0;
	char why[160];
	uint8_t ps = saip_install(p, &bad_pe, why, sizeof(why));
	if (ps == PROTO_PE_OK)
		return EU_OK;
	pe_status(list, ps, bad_pe);
	euicc_tracef(c, "  profile refused: %s", why);
	p->package_len = 0;
	return ps == PROTO_PE_NOT_ENOUGH_MEMORY ? EU_NO_MEMORY : EU_WRONG_DATA;
}

static eu_status download_progress(euicc_card *c, int isdp, abuf *resp, bool *finished)
{
	acur cur = acur_make(c->es8.dl_buf.p, c->es8.dl_buf.len);
	size_t idx = 0;
	abuf list = ABUF_INIT;
	*finished = false;
	eu_status st = EU_OK;
	uint8_t iccid[10];
	bool have_header = false;
	while (cur.len) {
		tlv pe;
		acur before = cur;
		apdu_err e = tlv_next(&cur, &pe);
		if (e == APDU_E_TRUNC_VALUE || e == APDU_E_TRUNC_HEADER) {
			cur = before;
			break; /* the rest comes with the next segment */
		}
		if (e) {
			pe_status(&list, PROTO_PE_INVALID_FORMAT, idx);
			st = EU_WRONG_DATA;
			break;
		}
		if (idx == 0) {
			if (!header_ok(c, isdp, &pe, iccid)) {
				if (idx >= c->es8.dl_pe_count)
					pe_status(&list, PROTO_PE_BAD_VALUES, idx);
				st = EU_WRONG_DATA;
				break;
			}
			have_header = true;
		}
		if (idx > 0 && pe.tag == 0xA0) { /* one header per package */
			if (idx >= c->es8.dl_pe_count)
				pe_status(&list, PROTO_PE_BAD_VALUES, idx);
			st = EU_WRONG_DATA;
			break;
		}
		if (idx >= c->es8.dl_pe_count) {
			pe_status(&list, (pe.tag & 0xE0) == 0xA0 ? PROTO_PE_OK : PROTO_PE_NOT_SUPPORTED, idx);
			c->es8.dl_pe_count = idx + 1;
		}
		idx++;
		if (pe.tag == 0xAA) { /* the end element */
			if (cur.len) {
				st = EU_WRONG_DATA;
				break;
			}
			*finished = true;
			break;
		}
	}
	nvm_profile *p = &c->nvm.profiles[isdp];
	if (st == EU_OK && *finished) {
		st = have_header ? install(c, isdp, &list) : EU_WRONG_DATA;
	}
	size_t m;
	tlv_begin(resp, 0x30, &m);
	size_t m2;
	tlv_begin(resp, 0xA0, &m2);
	abuf_put(resp, list.p, list.len);
	tlv_end(resp, m2);
	tlv_end(resp, m);
	abuf_free(&list);
	if (st == EU_OK && *finished) {
		memcpy(p->iccid, iccid, 10);
		p->has_iccid = true;
		p->state = PROTO_ISDP_DISABLED;
		euicc_tracef(c, "  profile package complete (%zu bytes, %zu elements): ISD-P %d DISABLED",
			     c->es8.dl_buf.len, c->es8.dl_pe_count, isdp);
	}
	return st;
}

/* whether an answer 30 { A0 { 30 { 80 status ... } } } reports an element that did not install */
static bool pe_error(const uint8_t *p, size_t len)
{
	tlv l30, la0, e, st;
	if (tlv_find(p, len, 0x30, &l30) || tlv_find(l30.value, l30.len, 0xA0, &la0))
		return false;
	acur c = acur_make(la0.value, la0.len);
	while (c.len && !tlv_next(&c, &e))
		if (!tlv_find(e.value, e.len, 0x80, &st) && st.len == 1 && st.value[0] != PROTO_PE_OK)
			return true;
	return false;
}

eu_status es8_scp03t(euicc_card *c, int isdp, uint32_t tag, const uint8_t *tlvp, size_t tlv_len, abuf *out)
{
	nvm_profile *p = &c->nvm.profiles[isdp];
	apdu_err e;
	if (tag == SCP03T_TAG_OPEN) {
		if (!p->has_keys || p->state != PROTO_ISDP_PERSONALIZED)
			return EU_CONDITIONS;
		es8_reset_session(c);
		scp03_keys k;
		memset(&k, 0, sizeof(k));
		k.kvn = p->scp03_kvn;
		k.key_len = 16;
		memcpy(k.enc, p->scp03_key, 16);
		memcpy(k.mac, p->scp03_key, 16);
		memcpy(k.dek, p->scp03_key, 16);
		uint8_t cc[8], kdd[10];
		memcpy(kdd, c->nvm.eid + 6, 10);
		if (euicc_random(c, cc, sizeof(cc)))
			return EU_TECHNICAL;
		e = scp03t_card_open(&c->es8.dl, &k, tlvp, tlv_len, cc, kdd, NULL, out);
		scp03_keys_clear(&k);
		if (e)
			return e == APDU_E_INVAL ? EU_NOT_FOUND : EU_WRONG_DATA;
		c->es8.dl_target = isdp;
		euicc_tracef(c, "  SCP03t opened for ISD-P %d", isdp);
		return EU_OK;
	}
	if (c->es8.dl_target != isdp)
		return EU_CONDITIONS;
	if (tag == SCP03T_TAG_AUTH) {
		e = scp03t_card_authenticate(&c->es8.dl, tlvp, tlv_len);
		if (e) {
			es8_reset_session(c);
			return e == APDU_E_MAC ? EU_SECURITY : EU_WRONG_DATA;
		}
		euicc_tracef(c, "  SCP03t authenticated (level 33)");
		return EU_OK;
	}
	/* '86': one segment of the package */
	abuf seg = ABUF_INIT, resp = ABUF_INIT;
	e = scp03t_card_unwrap(&c->es8.dl, tlvp, tlv_len, &seg);
	if (e) {
		abuf_free(&seg);
		/* a broken or forged segment ends the download: nothing is kept */
		es8_reset_session(c);
		return e == APDU_E_MAC ? EU_SECURITY : EU_WRONG_DATA;
	}
	eu_status st = EU_OK;
	bool finished = false;
	if (c->es8.dl_buf.len + seg.len > EUICC_MAX_PACKAGE || c->es8.dl_buf.len + seg.len > p->nvm_granted) {
		st = EU_NO_MEMORY;
	} else {
		abuf_put(&c->es8.dl_buf, seg.p, seg.len);
		st = download_progress(c, isdp, &resp, &finished);
	}
	abuf_free(&seg);
	if (st != EU_OK) {
		euicc_tracef(c, "  download failed: package refused, ISD-P %d keeps no profile", isdp);
		/* the per-element answer, with the status of the element that did not install, still goes back
		 * (ProfileInstallationResult) before the session ends */
		bool answered = resp.len && pe_error(resp.p, resp.len) &&
			!scp03t_card_wrap(&c->es8.dl, resp.p, resp.len, out);
		abuf_free(&resp);
		es8_reset_session(c);
		return answered ? EU_OK : st;
	}
	e = scp03t_card_wrap(&c->es8.dl, resp.p, resp.len, out);
	abuf_free(&resp);
	if (finished)
		es8_reset_session(c);
	return e ? EU_TECHNICAL : EU_OK;
}
