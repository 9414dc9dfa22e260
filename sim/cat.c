/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Card Application Toolkit (ETSI TS 102 223, 3GPP TS 31.111): TERMINAL PROFILE, FETCH, TERMINAL
 * RESPONSE, proactive REFRESH and SEND SHORT MESSAGE, EVENT DOWNLOAD (location status), and the MO
 * notifications of the ISD-R. */
#include <string.h>

#include "apdu/tlv.h"
#include "euicc_int.h"

#define CAT_REFRESH	   0x01
#define CAT_SEND_SMS	   0x13
#define REFRESH_UICC_RESET 0x04

void cat_queue_proactive(euicc_card *c, const uint8_t *cmd, size_t len)
{
	if (c->cat.n_proactive >= EUICC_MAX_PROACTIVE || len > sizeof(c->cat.proactive[0].data)) {
		euicc_tracef(c, "proactive queue full: command dropped");
		return;
	}
	memcpy(c->cat.proactive[c->cat.n_proactive].data, cmd, len);
	c->cat.proactive[c->cat.n_proactive].len = len;
	c->cat.n_proactive++;
}

static uint8_t next_number(euicc_card *c)
{
	c->cat.proactive_number = (uint8_t)(c->cat.proactive_number % 0xFE + 1);
	return c->cat.proactive_number;
}

/* D0 { 81 03 <number> <type> <qualifier>, 82 02 81 <dest>, ... } */
static void proactive(euicc_card *c, uint8_t type, uint8_t qual, uint8_t dest, const uint8_t *rest, size_t rest_len)
{
	abuf b = ABUF_INIT;
	size_t m;
	uint8_t details[3] = { next_number(c), type, qual }, ids[2] = { 0x81, dest };
	tlv_begin(&b, 0xD0, &m);
	ctlv_put(&b, 0x01, true, details, 3);
	ctlv_put(&b, 0x02, true, ids, 2);
	abuf_put(&b, rest, rest_len);
	tlv_end(&b, m);
	if (!b.err)
		cat_queue_proactive(c, b.p, b.len);
	abuf_free(&b);
}

/* One SMS-SUBMIT per part (concatenated when the user data exceeds one SMS). */
apdu_err cat_queue_sms(euicc_card *c, const uint8_t *ud, size_t ud_len)
{
	abuf parts[SMS_MAX_PARTS];
	size_t n = 0;
	apdu_err e = APDU_OK;
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_init(&parts[i]);
	if (ud_len <= SMS_MAX_UD) {
		abuf_put(&parts[0], ud, ud_len);
		n = 1;
	} else {
		/* re-split the packet behind the single UDH '02 id 00' with the same identifier */
		uint8_t ref;
		euicc_random(c, &ref, 1);
		if (ud_len < 3 || ud[0] != 0x02)
			e = APDU_E_INVAL;
		else
			e = sms_split_packet(ud[1], ud + 3, ud_len - 3, ref, parts, &n);
	}
	for (size_t i = 0; i < n && !e; i++) {
		sms_submit s;
		memset(&s, 0, sizeof(s));
		s.first_octet = 0x41; /* SMS-SUBMIT, UDHI, no validity period */
		s.da = c->nvm.smsr;
		s.pid = 0x7F;
		s.dcs = 0xF6;
		s.ud = parts[i].p;
		s.ud_len = parts[i].len;
		abuf tpdu = ABUF_INIT, rest = ABUF_INIT;
		e = sms_submit_build(&s, &tpdu);
		if (!e) {
			ctlv_put(&rest, 0x0B, true, tpdu.p, tpdu.len);
			proactive(c, CAT_SEND_SMS, 0x00, 0x83, rest.p, rest.len);
			euicc_tracef(c, "proactive SEND SHORT MESSAGE queued (%zu octets of user data)", parts[i].len);
		}
		abuf_free(&tpdu);
		abuf_free(&rest);
	}
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_free(&parts[i]);
	return e;
}

/* E1 { 4C EID, 4D type, 4E seq, 2F AID } in an SCP80 command packet from the ISD-R */
static void send_notification(euicc_card *c, const nvm_notif *n)
{
	abuf body = ABUF_INIT, pkt = ABUF_INIT, ud = ABUF_INIT;
	size_t m;
	uint8_t seq[2] = { (uint8_t)(n->seq >> 8), (uint8_t)n->seq };
	tlv_begin(&body, 0xE1, &m);
	tlv_put(&body, 0x4C, c->nvm.eid, 16);
	tlv_put_u8(&body, 0x4D, n->type);
	tlv_put(&body, 0x4E, seq, 2);
	tlv_put(&body, 0x2F, n->aid, 16);
	tlv_end(&body, m);
	const nvm_keyset *k = NULL;
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++)
		if (c->nvm.keysets[i].used && c->nvm.keysets[i].kvn == BENCH_MO_KVN)
			k = &c->nvm.keysets[i];
	if (!k || body.err)
		goto out;
	scp80_keyset ks;
	memset(&ks, 0, sizeof(ks));
	ks.kic = (uint8_t)((k->kvn << 4) | k->kic_alg);
	ks.kid = (uint8_t)((k->kvn << 4) | k->kid_alg);
	memcpy(ks.kic_key, k->kic, k->key_len);
	memcpy(ks.kid_key, k->kid, k->key_len);
	ks.kic_key_len = ks.kid_key_len = k->key_len;
	/* the card's own counter, one up per MO packet; the NVM holds a mark 256 ahead, moved only when
	 * reached, so a restart never reuses a value and a send does not cost a write */
	c->mo_pos++;
	uint8_t mo[5];
	for (int i = 4, v = 0; i >= 0; i--, v += 8)
		mo[i] = (uint8_t)(c->mo_pos >> v);
	uint64_t mark = 0;
	for (int i = 0; i < 5; i++)
		mark = (mark << 8) | c->nvm.mo_counter[i];
	if (c->mo_pos > mark)
		for (int i = 4, v = 0; i >= 0; i--, v += 8)
			c->nvm.mo_counter[i] = (uint8_t)((c->mo_pos + 256) >> v);
	const uint8_t tar[3] = { (PROTO_TAR_ISDR >> 16) & 0xff, (PROTO_TAR_ISDR >> 8) & 0xff, PROTO_TAR_ISDR & 0xff };
	apdu_err e = scp80_wrap_command(&ks, BENCH_MO_SPI, tar, mo, body.p, body.len, &pkt);
	scp80_keyset_clear(&ks);
	if (e)
		goto out;
	abuf_put(&ud, "\x02\x70\x00", 3);
	abuf_put(&ud, pkt.p, pkt.len);
	if (!ud.err && !cat_queue_sms(c, ud.p, ud.len))
		euicc_tracef(c, "notification %u (type %02x) sent as SEND SHORT MESSAGE", n->seq, n->type);
out:
	abuf_free(&body);
	abuf_free(&pkt);
	abuf_free(&ud);
}

void cat_send_pending_notifications(euicc_card *c)
{
	/* every unconfirmed notification, oldest first */
	nvm_notif order[EUICC_MAX_NOTIFS];
	size_t k = 0;
	for (int i = 0; i < EUICC_MAX_NOTIFS; i++)
		if (c->nvm.notifs[i].used)
			order[k++] = c->nvm.notifs[i];
	for (size_t i = 1; i < k; i++)
		for (size_t j = i; j > 0 && order[j].seq < order[j - 1].seq; j--) {
			nvm_notif t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	for (size_t i = 0; i < k && c->cat.n_proactive < EUICC_MAX_PROACTIVE; i++)
		send_notification(c, &order[i]);
}

eu_status cat_terminal_profile(euicc_card *c, const capdu *a)
{
	if (a->p1 || a->p2)
		return EU_WRONG_P1P2;
	if (a->lc == 0)
		return EU_WRONG_LENGTH;
	c->cat.terminal_profile = true;
	euicc_tracef(c, "TERMINAL PROFILE (%zu bytes)", a->lc);
	/* a new terminal session: what an earlier one left unfetched is dropped (notifications follow again) */
	c->cat.n_proactive = 0;
	/* after an attach the pending notifications go out (and again at every attach until confirmed) */
	c->cat.notify_after_attach = false;
	cat_send_pending_notifications(c);
	return EU_OK;
}

eu_status cat_fetch(euicc_card *c, const capdu *a, abuf *out)
{
	if (a->p1 || a->p2)
		return EU_WRONG_P1P2;
	if (!c->cat.n_proactive)
		return EU_CONDITIONS;
	abuf_put(out, c->cat.proactive[0].data, c->cat.proactive[0].len);
	euicc_trace_hex(c, "FETCH ->", c->cat.proactive[0].data, c->cat.proactive[0].len);
	return EU_OK;
}

eu_status cat_terminal_response(euicc_card *c, const capdu *a)
{
	if (a->p1 || a->p2)
		return EU_WRONG_P1P2;
	if (!c->cat.n_proactive)
		return EU_CONDITIONS;
	ctlv details, result;
	if (a->lc == 0 || ctlv_find(a->data, a->lc, 0x01, &details) || details.len != 3 ||
	    ctlv_find(a->data, a->lc, 0x03, &result) || result.len < 1)
		return EU_WRONG_DATA;
	/* the command details must be those of the pending command: 81 03 <number> <type> <qualifier> */
	const uint8_t *pend = c->cat.proactive[0].data;
	size_t off = pend[1] == 0x81 ? 3 : 2;
	if (memcmp(pend + off + 2, details.value, 3) != 0)
		return EU_WRONG_DATA;
	uint8_t type = details.value[1], qual = details.value[2];
	euicc_tracef(c, "TERMINAL RESPONSE for %02x: result %02x", type, result.value[0]);
	memmove(&c->cat.proactive[0], &c->cat.proactive[1], (c->cat.n_proactive - 1) * sizeof(c->cat.proactive[0]));
	c->cat.n_proactive--;
	if (type == CAT_REFRESH && qual == REFRESH_UICC_RESET) {
		if (result.value[0] < 0x10) {
			c->cat.refresh_pending = true; /* the terminal resets the card next */
		} else if (c->cat.switch_to >= 0 && c->cat.switch_from >= 0 &&
			   c->nvm.profiles[c->cat.switch_to].state == PROTO_ISDP_ENABLED &&
			   c->nvm.profiles[c->cat.switch_from].state == PROTO_ISDP_DISABLED) {
			/* the terminal could not refresh: the switch is rolled back and reported (type 03) */
			c->nvm.profiles[c->cat.switch_to].state = PROTO_ISDP_DISABLED;
			c->nvm.profiles[c->cat.switch_from].state = PROTO_ISDP_ENABLED;
			euicc_tracef(c, "REFRESH failed (result %02x): profile switch rolled back", result.value[0]);
			/* the success notification of the switch never happened */
			for (int i = 0; i < EUICC_MAX_NOTIFS; i++) {
				nvm_notif *n = &c->nvm.notifs[i];
				if (n->used && n->type == PROTO_NOTIF_CHANGE_OK &&
				    !memcmp(n->aid, c->nvm.profiles[c->cat.switch_to].aid, 16) &&
				    n->seq == c->nvm.next_seq - 1)
					memset(n, 0, sizeof(*n));
			}
			euicc_queue_notification(c, PROTO_NOTIF_CHANGE_FAILED, c->nvm.profiles[c->cat.switch_to].aid);
			cat_send_pending_notifications(c);
		}
		c->cat.switch_from = c->cat.switch_to = -1;
	}
	return EU_OK;
}

/* EVENT DOWNLOAD (TS 102 223 7.5): location status 'no service' N times in a row triggers fall-back */
eu_status cat_event_download(euicc_card *c, const uint8_t *data, size_t len)
{
	tlv t;
	if (tlv_parse_one(data, len, &t) || t.tag != 0xD6)
		return EU_WRONG_DATA;
	ctlv ev, loc;
	if (ctlv_find(t.value, t.len, 0x19, &ev) || ev.len < 1)
		return EU_WRONG_DATA;
	if (ev.value[0] != 0x03)
		return EU_OK; /* other events: nothing to do */
	if (ctlv_find(t.value, t.len, 0x1B, &loc) || loc.len != 1)
		return EU_WRONG_DATA;
	int en = euicc_enabled_profile(c);
	if (loc.value[0] != 0x02 || en < 0 || c->nvm.profiles[en].fallback) {
		c->cat.noservice_count = 0;
		return EU_OK;
	}
	c->cat.noservice_count++;
	euicc_tracef(c, "EVENT DOWNLOAD location status: no service (%u of %u)", c->cat.noservice_count,
		     c->nvm.fallback_threshold);
	if (c->cat.noservice_count >= c->nvm.fallback_threshold) {
		c->cat.noservice_count = 0;
		isdr_fallback_switch(c);
	}
	return EU_OK;
}

/* Called by the dispatcher once a command is answered: a pending profile switch asks for REFRESH
 * behind whatever the command queued (its PoR first). */
void cat_flush_refresh(euicc_card *c)
{
	if (!c->cat.refresh_wanted)
		return;
	c->cat.refresh_wanted = false;
	proactive(c, CAT_REFRESH, REFRESH_UICC_RESET, 0x82, NULL, 0);
	euicc_tracef(c, "proactive REFRESH (UICC reset) queued");
}
