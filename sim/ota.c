/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Over the air: SMS-PP download ENVELOPEs carrying SCP80 command packets (3GPP TS 31.111 7.1.1,
 * TS 31.115, ETSI TS 102 225/226), the script they carry, and the PoR. */
#include <string.h>

#include "apdu/tlv.h"
#include "euicc_int.h"

#define TAR_ISDR ((uint8_t[3]){ (PROTO_TAR_ISDR >> 16) & 0xff, (PROTO_TAR_ISDR >> 8) & 0xff, PROTO_TAR_ISDR & 0xff })

static int find_keyset(const euicc_card *c, uint8_t kic, uint8_t kid)
{
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++) {
		const nvm_keyset *k = &c->nvm.keysets[i];
		if (k->used && k->kvn == (kic >> 4) && k->kvn == (kid >> 4))
			return i;
	}
	return -1;
}

/* Replay protection without a disk write per packet: the NVM holds a high-water mark above every
 * accepted counter; it moves up by OTA_COUNTER_RESERVE (and is saved) only when a counter reaches it.
 * After a restart every counter up to the mark counts as used, so a replay stays refused; the SM-SR
 * resynchronises past it (PoR 'counter low'). */
#define OTA_COUNTER_RESERVE 256

static void counter_accept(euicc_card *c, int idx, const uint8_t cntr[5])
{
	nvm_keyset *k = &c->nvm.keysets[idx];
	memcpy(c->ota.accepted[idx], cntr, 5);
	if (memcmp(cntr, k->counter, 5) < 0)
		return;
	uint64_t v = 0;
	for (int i = 0; i < 5; i++)
		v = (v << 8) | cntr[i];
	v = v + OTA_COUNTER_RESERVE > 0xFFFFFFFFFFull ? 0xFFFFFFFFFFull : v + OTA_COUNTER_RESERVE;
	for (int i = 4; i >= 0; i--) {
		k->counter[i] = (uint8_t)v;
		v >>= 8;
	}
}

void ota_reserve_ahead(euicc_card *c)
{
	/* after a load every keyset's accepted counter sits on its mark: a record written for anything
	 * else carries the next block, and the session's first packet then changes no NVM */
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++) {
		nvm_keyset *k = &c->nvm.keysets[i];
		if (k->used && memcmp(c->ota.accepted[i], k->counter, 5) >= 0)
			counter_accept(c, i, c->ota.accepted[i]);
	}
}

static void keyset_for(const nvm_keyset *k, scp80_keyset *ks)
{
	memset(ks, 0, sizeof(*ks));
	ks->kic = (uint8_t)((k->kvn << 4) | k->kic_alg);
	ks->kid = (uint8_t)((k->kvn << 4) | k->kid_alg);
	memcpy(ks->kic_key, k->kic, k->key_len);
	memcpy(ks->kid_key, k->kid, k->key_len);
	ks->kic_key_len = ks->kid_key_len = k->key_len;
}

static bool sw_continues(uint16_t sw)
{
	/* TS 102 226 5.1.2: the script stops at the first command that is not successful */
	uint8_t s1 = (uint8_t)(sw >> 8);
	return sw == 0x9000 || s1 == 0x61 || s1 == 0x62 || s1 == 0x63 || s1 == 0x91;
}

/* Runs a script against the target; appends the response in the script's format. */
static void run_script(euicc_card *c, int target, const uint8_t *script, size_t len, abuf *resp)
{
	scp80_format fmt = (len && (script[0] == 0xAA)) ? SCP80_FORMAT_EXPANDED : SCP80_FORMAT_COMPACT;
	scp80_script_iter it;
	uint8_t count = 0;
	uint16_t last_sw = 0x9000;
	abuf last = ABUF_INIT, all = ABUF_INIT, one = ABUF_INIT;
	/* expanded: the R-APDUs, each as data ‖ SW */
	const uint8_t *ptrs[32];
	size_t lens[32], offs[32];
	size_t n_r = 0;
	if (scp80_script_begin(&it, fmt, script, len)) {
		last_sw = 0x6A80;
		goto answer;
	}
	for (;;) {
		scp80_script_item item;
		bool done = false;
		if (scp80_script_next(&it, &item, &done)) {
			/* a truncated command ends the processing; it is the command that failed (counted, no
			 * data), not an error tacked onto the previous command's answer */
			last_sw = 0x6A80;
			count++;
			abuf_reset(&last);
			if (n_r < 32) {
				offs[n_r] = all.len;
				abuf_put_u16(&all, last_sw);
				lens[n_r++] = 2;
			}
			break;
		}
		if (done)
			break;
		eu_status st;
		abuf_reset(&one);
		if (item.tag == 0x22) {
			capdu a;
			if (capdu_parse(item.value, item.len, &a)) {
				st = EU_WRONG_LENGTH;
			} else {
				euicc_trace_hex(c, "  OTA C-APDU", item.value, item.len);
				if (target < 0)
					st = isdr_command(c, &a, CTX_OTA, &one);
				else
					st = EU_INS; /* ISD-Ps take SCP03t TLVs, not plain APDUs */
			}
		} else if (target >= 0 &&
			   (item.tag == SCP03T_TAG_OPEN || item.tag == SCP03T_TAG_AUTH ||
			    item.tag == SCP03T_TAG_DATA)) {
			/* the raw TLV again, with its header, as es8 parses whole TLVs */
			size_t hdr = tlv_tag_size(item.tag) + tlv_len_size(item.len);
			st = es8_scp03t(c, target, item.tag, item.value - hdr, item.len + hdr, &one);
		} else {
			st = EU_FUNC_NOT_SUPPORTED;
		}
		if (one.err)
			st = EU_TECHNICAL;
		uint16_t sw = euicc_sw_of(st);
		if (st != EU_OK)
			abuf_reset(&one);
		count++;
		last_sw = sw;
		abuf_reset(&last);
		abuf_put(&last, one.p, one.len);
		if (n_r < 32) {
			offs[n_r] = all.len;
			abuf_put(&all, one.p, one.len);
			abuf_put_u16(&all, sw);
			lens[n_r] = one.len + 2;
			n_r++;
		}
		euicc_tracef(c, "  OTA R-APDU SW %04x (%zu bytes)", sw, one.len);
		if (!sw_continues(sw))
			break;
	}
answer:
	if (fmt == SCP80_FORMAT_EXPANDED) {
		for (size_t i = 0; i < n_r; i++)
			ptrs[i] = all.p + offs[i];
		abuf_fail(resp, scp80_expanded_response_build(resp, count, ptrs, lens, n_r));
	} else {
		abuf_fail(resp, scp80_compact_response_build(resp, count, last_sw, last.p, last.len));
	}
	abuf_free(&last);
	abuf_free(&all);
	abuf_free(&one);
}

/* Builds the PoR: secured as the SPI asks when the keys were verified, plain otherwise. */
static void make_por(euicc_card *c, const scp80_keyset *ks, uint16_t spi, const uint8_t tar[3], const uint8_t cntr[5],
		     uint8_t status, const uint8_t *data, size_t len, abuf *out)
{
	scp80_por_hdr h;
	memcpy(h.tar, tar, 3);
	memcpy(h.cntr, cntr, 5);
	h.status = status;
	bool secured = ks && status != SCP80_POR_RC_CC_DS_FAILED && status != SCP80_POR_CIPHERING_ERROR &&
		status != SCP80_POR_UNDEFINED_SECURITY_ERROR && status != SCP80_POR_TAR_UNKNOWN;
	scp80_keyset none;
	memset(&none, 0, sizeof(none));
	/* unsecured: no checksum, no ciphering, the same PoR mode and route */
	uint16_t use_spi = secured ? spi : (uint16_t)(spi & (SCP80_SPI2_POR_MASK | SCP80_SPI2_POR_SUBMIT));
	if (scp80_wrap_por(secured ? ks : &none, use_spi, &h, data, len, true, out))
		euicc_tracef(c, "  PoR could not be built");
	euicc_tracef(c, "  PoR status %02x (%s)%s", status, scp80_por_status_name(status),
		     secured ? "" : ", unsecured");
}

/* One complete command packet: returns the PoR (with its UDH) in `por`, empty when none is due. */
static void process_packet(euicc_card *c, const uint8_t *pkt, size_t len, const sms_addr *from, abuf *por,
			   uint16_t *spi_out)
{
	scp80_cmd_hdr h;
	*spi_out = 0;
	if (scp80_parse_command_header(pkt, len, &h)) {
		euicc_tracef(c, "  OTA packet malformed: ignored");
		return;
	}
	*spi_out = h.spi;
	uint8_t cntr[5] = { 0 };
	if (len >= 15 && !(h.spi & (SCP80_SPI1_CIPHER << 8)))
		memcpy(cntr, pkt + 10, 5);
	uint8_t por_mode = (uint8_t)h.spi & SCP80_SPI2_POR_MASK;
	euicc_tracef(c, "  SCP80 SPI %04x KIc %02x KID %02x TAR %02x%02x%02x", h.spi, h.kic, h.kid, h.tar[0], h.tar[1],
		     h.tar[2]);
	int target = -2;
	if (!memcmp(h.tar, TAR_ISDR, 3)) {
		target = -1;
	} else {
		for (int i = 0; i < EUICC_MAX_PROFILES; i++)
			if (c->nvm.profiles[i].used && !memcmp(c->nvm.profiles[i].aid + 12, h.tar, 3))
				target = i;
	}
	if (target == -2) {
		if (por_mode != SCP80_POR_NONE)
			make_por(c, NULL, h.spi, h.tar, cntr, SCP80_POR_TAR_UNKNOWN, NULL, 0, por);
		return;
	}
	int kidx = find_keyset(c, h.kic, h.kid);
	nvm_keyset *k = kidx >= 0 ? &c->nvm.keysets[kidx] : NULL;
	if (!k || (h.kic & 0x0f) != k->kic_alg || (h.kid & 0x0f) != k->kid_alg) {
		if (por_mode != SCP80_POR_NONE)
			make_por(c, NULL, h.spi, h.tar, cntr, SCP80_POR_UNDEFINED_SECURITY_ERROR, NULL, 0, por);
		return;
	}
	scp80_keyset ks;
	keyset_for(k, &ks);
	abuf script = ABUF_INIT, resp = ABUF_INIT;
	apdu_err e = scp80_unwrap_command(&ks, pkt, len, &h, &script);
	uint8_t status = SCP80_POR_OK;
	if (e) {
		status = scp80_por_status_for(e);
		euicc_tracef(c, "  unwrap failed: %s", apdu_strerror(e));
	} else {
		memcpy(cntr, h.cntr, 5);
		uint8_t s1 = (uint8_t)(h.spi >> 8);
		/* minimum security level of the ISD-R: CC, ciphering, counter higher */
		if ((s1 & SCP80_SPI1_SIG_MASK) != SCP80_SIG_CC || !(s1 & SCP80_SPI1_CIPHER) ||
		    (s1 & SCP80_SPI1_CNTR_MASK) < SCP80_CNTR_HIGHER)
			status = SCP80_POR_INSUFFICIENT_SECURITY;
		else
			status = scp80_counter_check(h.spi, c->ota.accepted[kidx], h.cntr);
	}
	if (status == SCP80_POR_OK) {
		counter_accept(c, kidx, h.cntr); /* replay protection */
		/* MO messages go back to whoever sent a verified packet */
		if (strcmp(c->nvm.smsr.digits, from->digits) || c->nvm.smsr.toa != from->toa)
			c->nvm.smsr = *from;
		euicc_trace_hex(c, "  script", script.p, script.len);
		run_script(c, target, script.p, script.len, &resp);
	}
	if (por_mode == SCP80_POR_ALWAYS || (por_mode == SCP80_POR_ON_ERROR && status != SCP80_POR_OK))
		make_por(c, &ks, h.spi, h.tar, cntr, status, resp.p, resp.len, por);
	scp80_keyset_clear(&ks);
	abuf_free(&script);
	abuf_free(&resp);
}

eu_status ota_envelope_sms_pp(euicc_card *c, const uint8_t *data, size_t len, abuf *out)
{
	sms_pp_envelope env;
	sms_deliver d;
	sms_udh u;
	/* TS 102 221 10.2.1.1: while the terminal has not fetched what is pending, no room for a PoR */
	if (c->cat.n_proactive + 2 > EUICC_MAX_PROACTIVE)
		return EU_TOOLKIT_BUSY;
	if (sms_pp_envelope_parse(data, len, &env) || env.src != 0x83 || env.dst != 0x81)
		return EU_WRONG_DATA;
	if (sms_deliver_parse(env.tpdu, env.tpdu_len, &d))
		return EU_WRONG_DATA;
	if (d.pid != 0x7F || !(d.first_octet & SMS_FO_UDHI))
		return EU_WRONG_DATA; /* not SIM data download with a user data header */
	if (sms_udh_parse(d.ud, d.ud_len, &u))
		return EU_WRONG_DATA;
	euicc_tracef(c, "ENVELOPE SMS-PP from %s (%zu octets of user data)", d.oa.digits, d.ud_len);
	bool complete = false;
	abuf pkt = ABUF_INIT, por = ABUF_INIT;
	bool cpi = sms_udh_find(&u, SMS_IEI_CMD_PACKET) != NULL;
	apdu_err e = sms_reassembly_feed(&c->ota.sms, d.ud, d.ud_len, &complete, &pkt);
	if (e) {
		abuf_free(&pkt);
		return e == APDU_E_NOMEM ? EU_NO_MEMORY : EU_WRONG_DATA;
	}
	if (!complete) {
		euicc_tracef(c, "  concatenated SMS part stored");
		abuf_free(&pkt);
		return EU_OK;
	}
	bool concat = sms_udh_find(&u, SMS_IEI_CONCAT8) || sms_udh_find(&u, SMS_IEI_CONCAT16);
	if (concat ? !c->ota.sms.has_cpi : !cpi) {
		abuf_free(&pkt);
		return EU_WRONG_DATA;
	}
	uint16_t spi;
	process_packet(c, pkt.p, pkt.len, &d.oa, &por, &spi);
	eu_status st = EU_OK;
	if (por.len) {
		if (spi & SCP80_SPI2_POR_SUBMIT) {
			/* TS 31.115 5.1.2: the PoR goes back in an SMS-SUBMIT (proactive SEND SHORT MESSAGE) */
			if (cat_queue_sms(c, por.p, por.len))
				st = EU_TECHNICAL;
		} else {
			abuf_put(out, por.p, por.len);
		}
	}
	abuf_free(&pkt);
	abuf_free(&por);
	return st;
}
