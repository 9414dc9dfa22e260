/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/apdu.h"
#include "apdu/hex.h"
#include "apdu/proto.h"
#include "apdu/sms.h"
#include "apdu/tlv.h"
#include "host/adapter.h"

static void logf_(dev_host *h, const char *msg)
{
	abuf_reset(&h->log);
	abuf_put(&h->log, msg, strlen(msg) + 1);
}

/* a key of at most 32 bytes in hex at o.key */
static int eis_key(json_t *o, uint8_t *out, size_t *len)
{
	const char *hx = json_string_value(json_object_get(o, "key"));
	abuf b = ABUF_INIT;
	int rc = !hx || hex_decode(hx, &b, NULL) || b.len == 0 || b.len > 32 ? -1 : 0;
	if (!rc) {
		memcpy(out, b.p, b.len);
		*len = b.len;
	}
	abuf_free(&b);
	return rc;
}

int dev_init(dev_host *h, const dev_transport *t, json_t *eis)
{
	memset(h, 0, sizeof(*h));
	sms_reassembly_init(&h->mo_reasm);
	h->t = *t;
	h->spi = 0x1639;
	h->cntr = 1;
	json_t *k = json_array_get(json_object_get(eis, "ota_keysets"), 0);
	json_t *jkvn = json_object_get(k, "kvn"), *kic = json_object_get(k, "kic"), *kid = json_object_get(k, "kid");
	json_t *ac = json_object_get(kic, "algorithm"), *ad = json_object_get(kid, "algorithm");
	json_int_t kvn = json_integer_value(jkvn), vc = json_integer_value(ac), vd = json_integer_value(ad);
	/* every field checked: an EIS from a file is anybody's input */
	if (!json_is_integer(jkvn) || kvn < 1 || kvn > 15 || !json_is_integer(ac) || vc < 0 || vc > 15 ||
	    !json_is_integer(ad) || vd < 0 || vd > 15)
		return -1;
	h->ks.kic = (uint8_t)(kvn << 4 | vc);
	h->ks.kid = (uint8_t)(kvn << 4 | vd);
	if (eis_key(kic, h->ks.kic_key, &h->ks.kic_key_len) || eis_key(kid, h->ks.kid_key, &h->ks.kid_key_len)) {
		scp80_keyset_clear(&h->ks);
		return -1;
	}
	return 0;
}

void dev_free(dev_host *h)
{
	abuf_free(&h->por_data);
	abuf_free(&h->log);
	sms_reassembly_free(&h->mo_reasm);
	scp80_keyset_clear(&h->ks);
}

void dev_init_keys(dev_host *h, const dev_transport *t, const scp80_keyset *ks)
{
	memset(h, 0, sizeof(*h));
	sms_reassembly_init(&h->mo_reasm);
	h->t = *t;
	h->spi = 0x1639;
	h->cntr = 1;
	h->ks = *ks;
}

void dev_tracef(dev_host *h, const char *fmt, ...)
{
	if (!h->trace)
		return;
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	h->trace(h->trace_ctx, line);
}

static void trace_hex(dev_host *h, const char *label, const uint8_t *p, size_t len)
{
	if (!h->trace)
		return;
	size_t show = len > 120 ? 120 : len;
	char *x = hex_encode_alloc(p, show);
	dev_tracef(h, "%s %s%s", label, x ? x : "", len > show ? "…" : "");
	free(x);
}

/* what a command of the script is, for the trace */
static const char *command_name(const uint8_t *a, size_t len)
{
	if (len < 4)
		return "?";
	switch (a[1]) {
	case 0xE6: return a[2] == 0x20 ? "INSTALL [for personalization]" : "INSTALL [for install] (CreateISDP)";
	case 0xE4: return "DELETE (DeleteProfile)";
	case 0xF2: return "GET STATUS (audit)";
	case 0xCA: return "GET DATA";
	case 0xE2:
		if (len >= 7) {
			switch ((a[5] << 8) | a[6]) {
			case PROTO_DGI_KE_CERT: return "STORE DATA 3A01 (key establishment: SM-DP certificate)";
			case PROTO_DGI_KE_EPK: return "STORE DATA 3A02 (key establishment: ePK.DP, signature)";
			case PROTO_DGI_ENABLE: return "STORE DATA 3A03 (EnableProfile)";
			case PROTO_DGI_DISABLE: return "STORE DATA 3A04 (DisableProfile)";
			case PROTO_DGI_SET_FALLBACK: return "STORE DATA 3A05 (SetFallBackAttribute)";
			case PROTO_DGI_SET_EMERGENCY: return "STORE DATA 3A06 (SetEmergencyProfileAttribute)";
			case PROTO_DGI_CONNECTIVITY: return "STORE DATA 3A07 (UpdateConnectivityParameters)";
			case PROTO_DGI_NOTIF_CONFIRM: return "STORE DATA 3A08 (notification confirmation)";
			case PROTO_DGI_SET_POL1: return "STORE DATA 3A09 (POL1)";
			}
		}
		return "STORE DATA";
	}
	return "command";
}

static void trace_script(dev_host *h, const uint8_t *script, size_t len)
{
	scp80_script_iter it;
	scp80_script_item item;
	bool done = false;
	if (!h->trace || scp80_script_begin(&it, SCP80_FORMAT_EXPANDED, script, len))
		return;
	while (!scp80_script_next(&it, &item, &done) && !done) {
		char label[96];
		if (item.tag == 0x22)
			snprintf(label, sizeof(label), "    C-APDU %s:", command_name(item.value, item.len));
		else
			snprintf(label, sizeof(label), "    SCP03t %s TLV (%zu bytes):",
				 item.tag == PROTO_SCP03T_TAG_OPEN	     ? "open"
					 : item.tag == PROTO_SCP03T_TAG_AUTH ? "authenticate"
									     : "segment",
				 item.len);
		trace_hex(h, label, item.value, item.len);
	}
}

/* the status word ending an answer of n bytes; 0 when the transport gave none */
static uint16_t sw_at(const uint8_t *r, size_t n)
{
	return (uint16_t)(n < 2 ? 0 : (r[n - 2] << 8) | r[n - 1]);
}

uint16_t dev_exchange(const dev_transport *t, const uint8_t *a, size_t len, abuf *out, unsigned *count)
{
	/* one per thread: workers of a campaign exchange with their cards at once */
	static _Thread_local uint8_t r[65538 + 16];
	unsigned sent = 1;
	size_t n = t->transmit(t->ctx, a, len, r, sizeof(r));
	uint16_t sw = sw_at(r, n);
	if ((sw >> 8) == 0x6C && len == 5) {
		/* a T=0 card: P3 was not the length there is; the same command with that P3 */
		uint8_t again[5];
		memcpy(again, a, 5);
		again[4] = (uint8_t)sw;
		sent++;
		n = t->transmit(t->ctx, again, 5, r, sizeof(r));
		sw = sw_at(r, n);
	}
	if (sw && out)
		abuf_put(out, r, n - 2);
	while (sw && ((sw >> 8) == 0x61 || ((sw >> 8) == 0x9F && a[0] == 0xA0))) {
		/* GET RESPONSE in the class and on the channel of the command (the GSM class for 9Fxx) */
		uint8_t gr[5] = { (uint8_t)(a[0] == 0xA0 ? 0xA0 : a[0] & 0x03), 0xC0, 0x00, 0x00, (uint8_t)sw };
		sent++;
		n = t->transmit(t->ctx, gr, 5, r, sizeof(r));
		sw = sw_at(r, n);
		if (sw && out)
			abuf_put(out, r, n - 2);
	}
	if (count)
		*count += sent;
	return sw;
}

uint16_t dev_apdu_bin(dev_host *h, const uint8_t *a, size_t len, abuf *out)
{
	return dev_exchange(&h->t, a, len, out, &h->apdus);
}

uint16_t dev_apdu(dev_host *h, const char *hex, abuf *out)
{
	abuf a = ABUF_INIT;
	if (hex_decode(hex, &a, NULL)) {
		abuf_free(&a);
		return 0;
	}
	uint16_t sw = dev_apdu_bin(h, a.p, a.len, out);
	abuf_free(&a);
	return sw;
}

static void take_notification(dev_host *h, const uint8_t *pkt, size_t len)
{
	scp80_cmd_hdr hd;
	abuf body = ABUF_INIT;
	if (scp80_unwrap_command(&h->ks, pkt, len, &hd, &body)) {
		logf_(h, "notification packet does not verify");
		abuf_free(&body);
		return;
	}
	tlv e1, t;
	trace_hex(h, "    notification (MO SMS, SCP80 verified):", body.p, body.len);
	if (!tlv_parse_one(body.p, body.len, &e1) && e1.tag == 0xE1 && h->n_notifs < 16) {
		dev_notif *n = &h->notifs[h->n_notifs];
		memset(n, 0, sizeof(*n));
		if (!tlv_find(e1.value, e1.len, 0x4E, &t) && t.len == 2)
			n->seq = (uint16_t)((t.value[0] << 8) | t.value[1]);
		if (!tlv_find(e1.value, e1.len, 0x4D, &t) && t.len == 1)
			n->type = t.value[0];
		if (!tlv_find(e1.value, e1.len, 0x2F, &t) && t.len == 16)
			memcpy(n->aid, t.value, 16);
		h->n_notifs++;
	}
	abuf_free(&body);
}

static int take_por(dev_host *h, const uint8_t *ud, size_t len)
{
	abuf_reset(&h->por_data);
	/* an error PoR may come unsecured: try the SPI first, then without security */
	if (scp80_unwrap_por(&h->ks, h->spi, ud, len, &h->por, &h->por_data) == APDU_OK) {
		h->have_por = true;
		dev_tracef(h, "    PoR: status %02x (%s)", h->por.status, scp80_por_status_name(h->por.status));
		trace_hex(h, "    PoR response data:", h->por_data.p, h->por_data.len);
		return 0;
	}
	abuf_reset(&h->por_data);
	uint16_t plain = (uint16_t)(h->spi & (SCP80_SPI2_POR_MASK | SCP80_SPI2_POR_SUBMIT));
	if (scp80_unwrap_por(&h->ks, plain, ud, len, &h->por, &h->por_data) == APDU_OK) {
		h->have_por = true;
		return 0;
	}
	logf_(h, "PoR does not verify");
	return -1;
}

/* UD of an MO SMS: a PoR (71) or a command packet from the card (70: notifications) */

static void take_mo_ud(dev_host *h, const uint8_t *ud, size_t len)
{
	sms_udh u;
	if (sms_udh_parse(ud, len, &u))
		return;
	bool rsp = sms_udh_find(&u, SMS_IEI_RSP_PACKET) != NULL, concat = sms_udh_find(&u, SMS_IEI_CONCAT8) != NULL;
	if (!concat) {
		if (rsp)
			take_por(h, ud, len);
		else if (sms_udh_find(&u, SMS_IEI_CMD_PACKET))
			take_notification(h, u.payload, u.payload_len);
		return;
	}
	if (sms_udh_find(&u, SMS_IEI_CONCAT8)->value[2] == 1)
		h->mo_first_rsp = rsp;
	bool complete = false;
	abuf whole = ABUF_INIT;
	if (!sms_reassembly_feed(&h->mo_reasm, ud, len, &complete, &whole) && complete) {
		if (h->mo_first_rsp) {
			abuf w2 = ABUF_INIT;
			abuf_put(&w2, "\x02\x71\x00", 3);
			abuf_put(&w2, whole.p, whole.len);
			take_por(h, w2.p, w2.len);
			abuf_free(&w2);
		} else {
			take_notification(h, whole.p, whole.len);
		}
	}
	abuf_free(&whole);
}

int dev_proactive_loop(dev_host *h, uint16_t sw)
{
	int guard = 0;
	while ((sw >> 8) == 0x91 && guard++ < 64) {
		uint8_t fetch[5] = { 0x80, 0x12, 0x00, 0x00, (uint8_t)sw };
		abuf cmd = ABUF_INIT;
		uint16_t fsw = dev_apdu_bin(h, fetch, 5, &cmd);
		if (fsw != 0x9000) {
			abuf_free(&cmd);
			return -1;
		}
		tlv d0;
		ctlv details, tpdu;
		if (tlv_parse_one(cmd.p, cmd.len, &d0) || d0.tag != 0xD0 ||
		    ctlv_find(d0.value, d0.len, 0x01, &details) || details.len != 3) {
			abuf_free(&cmd);
			return -1;
		}
		uint8_t type = details.value[1];
		dev_tracef(h, "  proactive command %02x (%s)", type,
			   type == 0x13		  ? "SEND SHORT MESSAGE"
				   : type == 0x01 ? "REFRESH"
						  : "other");
		if (type == 0x13 && !ctlv_find(d0.value, d0.len, 0x0B, &tpdu)) {
			sms_submit s;
			if (!sms_submit_parse(tpdu.value, tpdu.len, &s))
				take_mo_ud(h, s.ud, s.ud_len);
		}
		/* TERMINAL RESPONSE: details, device identities terminal -> UICC, result OK */
		abuf tr = ABUF_INIT, body = ABUF_INIT;
		uint8_t ids[2] = { 0x82, 0x81 }, res = (type == 0x01 && h->refresh_unsupported) ? 0x30 : 0x00;
		ctlv_put(&body, 0x01, true, details.value, 3);
		ctlv_put(&body, 0x02, true, ids, 2);
		ctlv_put(&body, 0x03, true, &res, 1);
		uint8_t hdr[5] = { 0x80, 0x14, 0x00, 0x00, (uint8_t)body.len };
		abuf_put(&tr, hdr, 5);
		abuf_put(&tr, body.p, body.len);
		sw = dev_apdu_bin(h, tr.p, tr.len, NULL);
		abuf_free(&tr);
		abuf_free(&body);
		abuf_free(&cmd);
		if (type == 0x01 && !h->refresh_unsupported) {
			/* REFRESH (UICC reset): the modem resets the card and attaches again */
			h->refreshes++;
			h->t.reset(h->t.ctx);
			sw = dev_apdu(h, "801000000aff9fffff7f0000000000", NULL);
		}
	}
	return 0;
}

int dev_attach(dev_host *h)
{
	uint16_t sw = dev_apdu(h, "801000000aff9fffff7f0000000000", NULL);
	if (sw != 0x9000 && (sw >> 8) != 0x91) {
		char m[120];
		if (!sw)
			snprintf(m, sizeof(m), "the card does not answer TERMINAL PROFILE");
		else
			snprintf(m, sizeof(m), "the card refused TERMINAL PROFILE with %04x%s", sw,
				 sw == 0x6581 ? " (memory failure: its NVM cannot be written, e.g. a full disk)" : "");
		logf_(h, m);
		return -1;
	}
	return dev_proactive_loop(h, sw);
}

int dev_send_packet(dev_host *h, const uint8_t *pkt, size_t len)
{
	abuf parts[SMS_MAX_PARTS];
	size_t n = 0;
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_init(&parts[i]);
	h->have_por = false;
	int rc = -1;
	if (sms_split_command_packet(pkt, len, h->smsc_ref++, parts, &n))
		goto out;
	for (size_t i = 0; i < n; i++) {
		sms_deliver d;
		memset(&d, 0, sizeof(d));
		d.first_octet = 0x40 | SMS_FO_DELIVER_MMS;
		d.oa.toa = 0x91;
		strcpy(d.oa.digits, "882350000000");
		d.pid = 0x7F;
		d.dcs = 0xF6;
		d.ud = parts[i].p;
		d.ud_len = parts[i].len;
		abuf tpdu = ABUF_INIT, env = ABUF_INIT, resp = ABUF_INIT;
		abuf_fail(&env, sms_deliver_build(&d, &tpdu));
		abuf_fail(&env, tpdu.err ? tpdu.err : sms_pp_envelope_build(NULL, 0, tpdu.p, tpdu.len, &env));
		dev_tracef(h, "  ENVELOPE SMS-PP %zu/%zu (%zu bytes)", i + 1, n, env.len);
		uint16_t sw = dev_apdu_bin(h, env.p, env.len, &resp);
		for (int retry = 0; sw == 0x9300 && retry < 3; retry++) {
			/* toolkit busy: fetch what the card has pending, then try again */
			dev_proactive_loop(h, 0x9100);
			abuf_reset(&resp);
			sw = dev_apdu_bin(h, env.p, env.len, &resp);
		}
		if (resp.len)
			take_mo_ud(h, resp.p, resp.len);
		abuf_free(&tpdu);
		abuf_free(&env);
		abuf_free(&resp);
		if (sw != 0x9000 && (sw >> 8) != 0x91) {
			logf_(h, "ENVELOPE refused");
			goto out;
		}
		dev_proactive_loop(h, sw);
	}
	rc = h->have_por ? 0 : -1;
out:
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_free(&parts[i]);
	return rc;
}

int dev_send(dev_host *h, const uint8_t tar[3], bool expanded, const uint8_t *const *items, const size_t *lens,
	     size_t n, bool raw_tlv)
{
	return dev_send_faults(h, tar, expanded, items, lens, n, raw_tlv, DEV_FAULT_NONE);
}

int dev_send_faults(dev_host *h, const uint8_t tar[3], bool expanded, const uint8_t *const *items, const size_t *lens,
		    size_t n, bool raw_tlv, dev_fault fault)
{
	abuf script = ABUF_INIT, pkt = ABUF_INIT;
	if (raw_tlv) {
		size_t m;
		tlv_begin(&script, 0xAA, &m);
		for (size_t i = 0; i < n; i++)
			abuf_put(&script, items[i], lens[i]);
		tlv_end(&script, m);
	} else if (expanded) {
		abuf_fail(&script, scp80_expanded_script_build(&script, items, lens, n));
	} else {
		for (size_t i = 0; i < n; i++)
			abuf_put(&script, items[i], lens[i]);
	}
	uint8_t cntr[5];
	uint64_t cv = 0;
	if (!h->next_counter) {
		cv = h->cntr++;
	} else if (h->next_counter(h->counter_ctx, &cv)) {
		/* a counter the SM-SR could not commit would be reused after a crash: nothing leaves */
		logf_(h, "cannot commit the SCP80 counter in the store: packet not sent");
		abuf_free(&script);
		return -1;
	}
	for (int i = 0; i < 5; i++)
		cntr[i] = (uint8_t)(cv >> (8 * (4 - i)));
	dev_tracef(h, "SCP80 packet: SPI %04x KIc %02x KID %02x TAR %02x%02x%02x CNTR %010llx", h->spi, h->ks.kic,
		   h->ks.kid, tar[0], tar[1], tar[2], (unsigned long long)cv);
	trace_script(h, script.p, script.len);
	int rc = -1;
	if (!scp80_wrap_command(&h->ks, h->spi, tar, cntr, script.p, script.len, &pkt)) {
		if (fault != DEV_FAULT_NONE && pkt.len > 16) {
			pkt.p[pkt.len - 1] ^= 0x01;
			if (fault == DEV_FAULT_SHORTEN) { /* one byte shorter, the command packet length to match */
				pkt.len--;
				uint16_t cpl = (uint16_t)((pkt.p[0] << 8 | pkt.p[1]) - 1);
				pkt.p[0] = (uint8_t)(cpl >> 8);
				pkt.p[1] = (uint8_t)cpl;
			}
		}
		rc = dev_send_packet(h, pkt.p, pkt.len);
	}
	if (!rc && h->auto_resync && !h->next_counter && h->por.status == SCP80_POR_CNTR_LOW) {
		/* the card's high-water mark is at most 256 above what it accepted (sim/ota.c) */
		h->cntr += 256;
		for (int i = 0; i < 5; i++)
			cntr[i] = (uint8_t)(h->cntr >> (8 * (4 - i)));
		h->cntr++;
		abuf_reset(&pkt);
		if (!scp80_wrap_command(&h->ks, h->spi, tar, cntr, script.p, script.len, &pkt))
			rc = dev_send_packet(h, pkt.p, pkt.len);
	}
	abuf_free(&script);
	abuf_free(&pkt);
	return rc;
}

uint16_t dev_isdr(dev_host *h, const char *apdu_hex, abuf *out)
{
	static const uint8_t tar[3] = PROTO_TAR_BYTES(PROTO_TAR_ISDR);
	abuf a = ABUF_INIT;
	if (hex_decode(apdu_hex, &a, NULL)) {
		abuf_free(&a);
		return 0;
	}
	const uint8_t *items[1] = { a.p };
	size_t lens[1] = { a.len };
	int rc = dev_send(h, tar, true, items, lens, 1, false);
	abuf_free(&a);
	if (rc || h->por.status != 0)
		return 0;
	scp80_response r;
	if (scp80_response_parse(SCP80_FORMAT_EXPANDED, h->por_data.p, h->por_data.len, &r))
		return 0;
	if (out)
		abuf_put(out, r.data, r.len);
	return r.last_sw;
}

int dev_confirm_notifications(dev_host *h)
{
	for (size_t i = 0; i < h->n_notifs; i++) {
		char hex[64];
		snprintf(hex, sizeof(hex), "80E2890007 3A08 04 4E02%04x", h->notifs[i].seq);
		if (dev_isdr(h, hex, NULL) != 0x9000)
			return -1;
	}
	h->n_notifs = 0;
	return 0;
}

/* EVENT DOWNLOAD location status (TS 102 223 7.5.1), with the location information when info is given */
static uint16_t location_event(dev_host *h, uint8_t status, const uint8_t info[7])
{
	uint8_t a[5 + 21] = { 0x80, 0xC2, 0x00, 0x00, 0x0C, 0xD6, 0x0A,	  0x99, 0x01, 0x03,
			      0x82, 0x02, 0x82, 0x81, 0x9B, 0x01, status, 0x93, 0x07 };
	size_t len = 17;
	if (info) {
		a[4] = 0x15;
		a[6] = 0x13;
		memcpy(a + 19, info, 7);
		len = sizeof(a);
	}
	dev_tracef(h, "  ENVELOPE EVENT DOWNLOAD location status: %s%s",
		   status == 0		 ? "normal service"
			   : status == 1 ? "limited service"
					 : "no service",
		   info ? ", with location information" : "");
	uint16_t sw = dev_apdu_bin(h, a, len, NULL);
	dev_proactive_loop(h, sw);
	return sw;
}

uint16_t dev_location(dev_host *h, uint8_t status)
{
	return location_event(h, status, NULL);
}

uint16_t dev_location_info(dev_host *h, uint8_t status, const uint8_t info[7])
{
	return location_event(h, status, info);
}

int dev_fail(dev_host *h, const char *m)
{
	logf_(h, m);
	return -1;
}
