/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every SM-SR operation stands on: the result, the connection to the card at its endpoint (the
 * device adapter, the SCP80 counter committed by the store), one ES5 command with the counter
 * resynchronised, notifications handled, and the audit that settles the store. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/hex.h"
#include "apdu/proto.h"
#include "audit.h"
#include "core.h"

const char *smsr_kind_name(smsr_kind k)
{
	switch (k) {
	case SMSR_DONE: return "done";
	case SMSR_REFUSED: return "refused";
	case SMSR_TRANSPORT: return "transport";
	case SMSR_TIMEOUT: return "timeout";
	case SMSR_SECURITY: return "security";
	case SMSR_NOT_FOUND: return "not-found";
	case SMSR_CONFLICT: return "conflict";
	case SMSR_INTERNAL: return "internal";
	case SMSR_BAD_INPUT: return "bad-input";
	}
	return "internal";
}

void smsr_result_init(smsr_result *r)
{
	memset(r, 0, sizeof(*r));
	r->por = -1;
}

void smsr_result_free(smsr_result *r)
{
	json_decref(r->events);
	json_decref(r->isdps);
	r->events = r->isdps = NULL;
}

json_t *smsr_result_json(const smsr_result *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "eid", r->eid, "operation", r->op, "outcome",
			      r->kind == SMSR_DONE ? "done" : "failed", "kind", smsr_kind_name(r->kind));
	if (r->aid[0])
		json_object_set_new(o, "aid", json_string(r->aid));
	if (r->iccid[0])
		json_object_set_new(o, "iccid", json_string(r->iccid));
	if (r->kind != SMSR_DONE)
		json_object_set_new(o, "message", json_string(r->msg));
	if (r->por >= 0)
		json_object_set_new(o, "por", json_integer(r->por));
	if (r->sw) {
		char sw[8];
		snprintf(sw, sizeof(sw), "%04X", r->sw);
		json_object_set_new(o, "sw", json_string(sw));
	}
	json_object_set_new(o, "notifications", json_integer(r->notifications));
	json_object_set_new(o, "apdus", json_integer(r->apdus));
	json_object_set_new(o, "ms", json_real(r->ms));
	if (r->isdps)
		json_object_set(o, "isdps", r->isdps);
	if (r->events && json_array_size(r->events))
		json_object_set(o, "events", r->events);
	return o;
}

int smsr_err(smsr_core *x, smsr_kind k, const char *fmt, ...)
{
	smsr_result *r = x->r ? x->r : &x->scratch;
	char line[sizeof(r->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memcpy(r->msg, line, sizeof(line));
	r->kind = k;
	return -1;
}

void smsr_note(smsr_core *x, const char *fmt, ...)
{
	smsr_result *r = x->r ? x->r : &x->scratch;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!r->events)
		r->events = json_array();
	json_array_append_new(r->events, json_string(line));
}

static int next_counter(void *ctx, uint64_t *c)
{
	smsr_core *x = ctx;
	return store_next_counter(x->st, x->eid, 1, c);
}

int smsr_core_open(smsr_core *x, char *why, size_t why_len)
{
	if (x->st)
		return 0;
	char path[1024];
	const char *p = x->db_path ? x->db_path : store_default_path(path, sizeof(path));
	char inner[1200];
	if (store_open(p, &x->st, inner, sizeof(inner))) {
		snprintf(why, why_len, "store: %s", inner);
		return -1;
	}
	return 0;
}

void smsr_disconnect(smsr_core *x)
{
	if (x->connected)
		dev_free(&x->h);
	link_close(x->link);
	x->link = NULL;
	x->connected = false;
}

void smsr_core_close(smsr_core *x)
{
	smsr_disconnect(x);
	store_close(x->st);
	x->st = NULL;
	if (x->have_pki)
		pki_free(&x->pki);
	x->have_pki = false;
	smsr_result_free(&x->scratch);
}

static int open_link(smsr_core *x, char *why, size_t why_len)
{
	if (x->reader)
		return link_open_pcsc(x->reader, &x->link, why, why_len);
	if (x->inproc)
		return link_open_inproc(x->inproc, &x->link, why, why_len);
	char uri[4200];
	if (store_endpoint(x->st, x->eid, uri, sizeof(uri))) {
		snprintf(
			why, why_len,
			"eUICC %s has no endpoint: register it with --endpoint URI, or give --reader NAME|N (PC/SC) or "
			"--inproc STATE_FILE",
			x->eid);
		return -2;
	}
	return link_open_uri(uri, &x->link, why, why_len);
}

/* each step decoded: to the caller's trace, and with --pcap-plaintext a note on the packet it explains
 * (what is decoded from an answer goes on the exchange that brought it, the rest on the next one) */
static void core_trace(void *ctx, const char *line)
{
	smsr_core *x = ctx;
	if (capture_notes(x->cap)) {
		const char *l = line + strspn(line, " ");
		bool answered = !strncmp(l, "PoR", 3) || !strncmp(l, "proactive", 9) ||
			!strncmp(l, "notification", 12) || !strncmp(l, "key establishment", 17);
		capture_tap_note(&x->tap, line, answered);
	}
	if (x->trace)
		x->trace(x->trace_ctx, line);
}

int smsr_resolve_eid(smsr_core *x, const char *eid, char out[33], char *why, size_t why_len)
{
	/* a job's functions each connect: the card already connected under this EID needs no lookup */
	if (x->connected && eid && !strcmp(eid, x->eid)) {
		snprintf(out, 33, "%s", eid);
		return 0;
	}
	return store_resolve_eid(x->st, eid, out, why, why_len);
}

int smsr_connect(smsr_core *x, const char *eid)
{
	char why[1200];
	if (smsr_core_open(x, why, sizeof(why)))
		return smsr_err(x, SMSR_INTERNAL, "%s", why);
	char e[33];
	if (smsr_resolve_eid(x, eid, e, why, sizeof(why)))
		return smsr_err(x, SMSR_NOT_FOUND, "%s", why);
	if (x->r)
		snprintf(x->r->eid, sizeof(x->r->eid), "%s", e);
	if (x->connected && !strcmp(e, x->eid))
		return 0;
	smsr_disconnect(x);
	snprintf(x->eid, sizeof(x->eid), "%s", e);
	int rc = open_link(x, why, sizeof(why));
	if (rc) {
		if (rc == -2 && x->r)
			x->r->usage = true;
		return smsr_err(x, rc == -2 ? SMSR_BAD_INPUT : SMSR_TRANSPORT, "%s", why);
	}
	scp80_keyset ks;
	if (store_keyset(x->st, x->eid, 1, &ks, NULL))
		return smsr_err(x, SMSR_INTERNAL, "eUICC %s has no OTA keyset 1 in the store", x->eid);
	dev_transport t = link_captured(x->link, x->cap, capture_card(x->cap, x->eid), &x->tap);
	dev_init_keys(&x->h, &t, &ks);
	scp80_keyset_clear(&ks);
	x->h.next_counter = next_counter;
	x->h.counter_ctx = x;
	/* core_trace reads x->trace when it is called: the shell's `trace on|off` takes effect at once */
	x->h.trace = core_trace;
	x->h.trace_ctx = x;
	x->connected = true;
	/* the modem attaches: TERMINAL PROFILE; the card may send pending notifications */
	if (dev_attach(&x->h))
		return smsr_err(x, SMSR_TRANSPORT, "%s: %s", link_name(x->link),
				x->h.log.len ? (const char *)x->h.log.p : "the card does not answer TERMINAL PROFILE");
	smsr_handle_notifications(x);
	return 0;
}

const char *smsr_notif_name(unsigned t)
{
	switch (t) {
	case 1: return "eUICC declaration";
	case 2: return "profile change succeeded";
	case 3: return "profile change failed, rolled back";
	case 5: return "profile change after fall-back";
	}
	return "notification";
}

const char *smsr_notif_key(unsigned t)
{
	switch (t) {
	case PROTO_NOTIF_DECLARATION: return "declaration";
	case PROTO_NOTIF_CHANGE_OK: return "profile-change";
	case PROTO_NOTIF_CHANGE_FAILED: return "change-failed";
	case PROTO_NOTIF_FALLBACK: return "fall-back";
	}
	return "other";
}

/* One ES5 command in an OTA packet; resynchronises the counter on 'counter too low'. Returns the SW of
 * the command, or 0 with the kind and message of the failure in x->r. */
uint16_t smsr_es5(smsr_core *x, const char *apdu_hex, abuf *out)
{
	static const uint8_t tar[3] = PROTO_TAR_BYTES(PROTO_TAR_ISDR);
	abuf a = ABUF_INIT;
	if (hex_decode(apdu_hex, &a, NULL)) {
		abuf_free(&a);
		smsr_err(x, SMSR_INTERNAL, "internal: bad APDU");
		return 0;
	}
	const uint8_t *items[1] = { a.p };
	size_t lens[1] = { a.len };
	uint16_t sw = 0;
	for (int attempt = 0; attempt < 4; attempt++) {
		int rc = dev_send(&x->h, tar, true, items, lens, 1, false);
		if (rc) {
			smsr_err(x, SMSR_TRANSPORT, "no proof of receipt from the card (%s)",
				 x->h.log.len ? (char *)x->h.log.p : "transport failure");
			break;
		}
		if (x->r)
			x->r->por = x->h.por.status;
		if (x->h.por.status == SCP80_POR_CNTR_LOW && attempt < 3) {
			/* the card holds a higher counter than the store: jump ahead, 2^8, 2^16, 2^24 */
			uint64_t c = 0;
			scp80_keyset ks;
			store_keyset(x->st, x->eid, 1, &ks, &c);
			scp80_keyset_clear(&ks);
			c += 1ull << (8 * (attempt + 1));
			store_set_counter(x->st, x->eid, 1, c);
			smsr_note(x, "counter too low: resynchronised to %010llx and retried",
				  (unsigned long long)c + 1);
			continue;
		}
		if (x->h.por.status) {
			smsr_err(x, SMSR_SECURITY, "the card refused the packet: PoR status %02x (%s)", x->h.por.status,
				 scp80_por_status_name(x->h.por.status));
			break;
		}
		scp80_response r;
		if (scp80_response_parse(SCP80_FORMAT_EXPANDED, x->h.por_data.p, x->h.por_data.len, &r)) {
			smsr_err(x, SMSR_TRANSPORT, "the PoR carries no readable response");
			break;
		}
		sw = r.last_sw;
		if (out)
			abuf_put(out, r.data, r.len);
		break;
	}
	abuf_free(&a);
	smsr_handle_notifications(x);
	return sw;
}

void smsr_handle_notifications(smsr_core *x)
{
	size_t n = x->h.n_notifs;
	dev_notif list[16];
	memcpy(list, x->h.notifs, n * sizeof(list[0]));
	x->h.n_notifs = 0;
	for (size_t i = 0; i < n; i++) {
		char aid[33];
		bool dup = false;
		hex_encode(list[i].aid, 16, aid);
		if (store_notif_received(x->st, x->eid, list[i].seq, list[i].type, smsr_notif_key(list[i].type), aid,
					 &dup)) {
			/* not on disk: unconfirmed, the card sends it again at the next attach */
			smsr_note(x, "notification %u: the store cannot record it; left unconfirmed", list[i].seq);
			continue;
		}
		smsr_note(x, "notification %u: %s (%s)%s", list[i].seq, smsr_notif_name(list[i].type), aid + 26,
			  dup ? ", again" : "");
		char hex[64];
		snprintf(hex, sizeof(hex), "80E28900073A08044E02%04x", list[i].seq);
		if (smsr_es5(x, hex, NULL) == 0x9000) {
			store_notif_confirmed(x->st, x->eid, list[i].seq);
			if (x->r)
				x->r->notifications++;
		}
	}
}

static void mismatch(smsr_core *x, const char *what, const char *aid, const char *iccid, const char *store,
		     const char *card)
{
	json_t *f = json_pack("{s:s,s:s}", "what", what, "aid", aid);
	if (iccid && *iccid)
		json_object_set_new(f, "iccid", json_string(iccid));
	if (store)
		json_object_set_new(f, "store", json_string(store));
	if (card)
		json_object_set_new(f, "card", json_string(card));
	store_event e = { .eid = x->eid, .type = "audit-mismatch", .fields = f, .time = store_now(), .source = "smsr" };
	char why[200];
	store_event_add(x->st, &e, NULL, why, sizeof(why));
	smsr_note(x, "audit: the store had ISD-P %s %s, the card %s", aid + 26, store ? store : "nowhere",
		  card ? card : "has none");
	json_decref(f);
}

/* what the audit found that the store did not know, as audit-mismatch events for the rules engine
 * (docs/rules.md), in the audit's transaction */
static void report_mismatches(smsr_core *x, json_t *before, const audit_isdp *list, size_t n, char seen[][33],
			      size_t n_seen)
{
	size_t i;
	json_t *p;
	json_array_foreach(before, i, p)
	{
		const char *aid = json_string_value(json_object_get(p, "aid"));
		bool on_card = false;
		for (size_t k = 0; aid && k < n_seen; k++)
			on_card |= !strcmp(seen[k], aid);
		if (aid && !on_card)
			mismatch(x, "missing-on-card", aid, json_string_value(json_object_get(p, "iccid")),
				 json_string_value(json_object_get(p, "state")), NULL);
	}
	for (size_t k = 0; k < n; k++) {
		const char *card = proto_isdp_state_name(list[k].state), *had = NULL;
		bool kept = false, fb = false;
		for (size_t j = 0; j < n_seen; j++)
			kept |= !strcmp(seen[j], list[k].aid);
		json_array_foreach(before, i, p) if (!strcmp(json_string_value(json_object_get(p, "aid")), list[k].aid))
		{
			had = json_string_value(json_object_get(p, "state"));
			fb = json_is_true(json_object_get(p, "fallback"));
		}
		if (!kept)
			continue;
		if (!had)
			mismatch(x, "unknown-to-store", list[k].aid, list[k].iccid, NULL, card);
		else if (strcmp(had, card))
			mismatch(x, "state", list[k].aid, list[k].iccid, had, card);
		else if (fb != list[k].fallback)
			mismatch(x, "fallback", list[k].aid, list[k].iccid, fb ? "fall-back" : "not fall-back",
				 list[k].fallback ? "fall-back" : "not fall-back");
	}
}

/* Reads the ISD-Ps from the card and settles the store. An ISD-P that holds no profile (a download
 * that did not end: killed, card removed, transport lost) is deleted on the card and in the store, so
 * interrupted downloads never fill the card. */
int smsr_audit(smsr_core *x)
{
	abuf r = ABUF_INIT;
	uint16_t sw = smsr_es5(x, "80F24002024F0000", &r);
	if (sw != 0x9000 && sw != 0x6A88) {
		abuf_free(&r);
		if (sw)
			return smsr_err(x, SMSR_REFUSED, "audit: the card refused GET STATUS (%04x)", sw);
		smsr_result *res = x->r ? x->r : &x->scratch;
		return smsr_err(x, res->kind, "audit: %.1000s", res->msg);
	}
	audit_isdp list[AUDIT_MAX_ISDPS];
	size_t n = 0;
	char why[200];
	int prc = audit_parse(r.p, r.len, list, AUDIT_MAX_ISDPS, &n, why, sizeof(why));
	abuf_free(&r);
	if (prc)
		return smsr_err(x, SMSR_SECURITY, "audit: %s; the store is left as it was", why);
	/* leftovers of interrupted downloads go first; one the card does not delete stays listed */
	char seen[AUDIT_MAX_ISDPS][33];
	size_t n_seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (audit_is_empty(&list[i])) {
			char del[100];
			snprintf(del, sizeof(del), "80E40000124F10%.32s", list[i].aid);
			uint16_t dsw = smsr_es5(x, del, NULL);
			if (dsw == 0x9000) {
				smsr_note(x, "ISD-P %s held no profile (an interrupted download): deleted",
					  list[i].aid);
				store_isdp_delete(x->st, x->eid, list[i].aid);
				continue;
			}
		}
		memcpy(seen[n_seen++], list[i].aid, 33);
	}
	json_t *before = store_isdps(x->st, x->eid);
	store_begin_settled(x->st);
	if (x->audit_reports)
		report_mismatches(x, before, list, n, seen, n_seen);
	json_decref(before);
	for (size_t i = 0; i < n; i++) {
		bool kept = false;
		for (size_t k = 0; k < n_seen; k++)
			kept |= !strcmp(seen[k], list[i].aid);
		if (kept)
			store_isdp_put(x->st, x->eid, list[i].aid, list[i].iccid, proto_isdp_state_name(list[i].state),
				       list[i].fallback, list[i].emergency);
	}
	/* what the card no longer has leaves the store (keys of the others stay) */
	store_isdp_prune(x->st, x->eid, seen, n_seen);
	store_commit(x->st);
	return 0;
}
