/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every smsr command stands on: failing and answering (text or JSON), the store, the connection
 * to the card (the device adapter, the SCP80 counter committed by the store), ES5 commands with the
 * counter resynchronised, notifications handled, the audit, and the dispatch of a command line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "apdu/hex.h"
#include "apdu/proto.h"
#include "apdu/tlv.h"
#include "audit.h"
#include "smsr.h"

int smsr_fail(smsr_ctx *x, int code, const char *fmt, ...)
{
	/* formatted aside first: an argument may be x->msg itself */
	char line[sizeof(x->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memcpy(x->msg, line, sizeof(line));
	return cli_fail("smsr", x->json, code, "%s", x->msg);
}

void smsr_emit(smsr_ctx *x, json_t *o)
{
	if (x->events && json_array_size(x->events))
		json_object_set(o, "events", x->events);
	cli_emit(o);
}

void smsr_event(smsr_ctx *x, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (!x->events)
		x->events = json_array();
	json_array_append_new(x->events, json_string(line));
	if (!x->json)
		printf("  %s\n", line);
}

static void trace_line(void *ctx, const char *line)
{
	smsr_ctx *x = ctx;
	if (x->color)
		fprintf(stderr, "\033[2m%s\033[0m\n", line);
	else
		fprintf(stderr, "%s\n", line);
}

static int next_counter(void *ctx, uint64_t *c)
{
	smsr_ctx *x = ctx;
	return store_next_counter(x->st, x->eid, 1, c);
}

int smsr_open_store(smsr_ctx *x)
{
	if (x->st)
		return 0;
	char path[1024], why[1200];
	const char *p = x->db_path ? x->db_path : store_default_path(path, sizeof(path));
	if (store_open(p, &x->st, why, sizeof(why)))
		return smsr_fail(x, 1, "store: %s", why);
	return 0;
}

void smsr_disconnect(smsr_ctx *x)
{
	if (x->connected)
		dev_free(&x->h);
	link_close(x->link);
	x->link = NULL;
	x->connected = false;
}

/* Notifications that came with the last exchange: stored, then confirmed (3A08), idempotent. */

int smsr_connect(smsr_ctx *x, const char *eid)
{
	char why[1200];
	if (smsr_open_store(x))
		return 1;
	char e[33];
	if (store_resolve_eid(x->st, eid, e, why, sizeof(why)))
		return smsr_fail(x, 1, "%s", why);
	if (x->connected && !strcmp(e, x->eid))
		return 0;
	smsr_disconnect(x);
	snprintf(x->eid, sizeof(x->eid), "%s", e);
	if (!x->reader && !x->inproc)
		return smsr_fail(x, CLI_USAGE, "no card: give --reader NAME|N (PC/SC) or --inproc STATE_FILE");
	int rc = x->inproc ? link_open_inproc(x->inproc, &x->link, why, sizeof(why))
			   : link_open_pcsc(x->reader, &x->link, why, sizeof(why));
	if (rc)
		return smsr_fail(x, 1, "%s", why);
	scp80_keyset ks;
	if (store_keyset(x->st, x->eid, 1, &ks, NULL))
		return smsr_fail(x, 1, "eUICC %s has no OTA keyset 1 in the store", x->eid);
	dev_transport t = link_transport(x->link);
	dev_init_keys(&x->h, &t, &ks);
	scp80_keyset_clear(&ks);
	x->h.next_counter = next_counter;
	x->h.counter_ctx = x;
	if (x->trace) {
		x->h.trace = trace_line;
		x->h.trace_ctx = x;
	}
	x->connected = true;
	/* the modem attaches: TERMINAL PROFILE; the card may send pending notifications */
	if (dev_attach(&x->h))
		return smsr_fail(x, 1, "%s: %s", link_name(x->link),
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

/* One ES5 command in an OTA packet; resynchronises the counter on 'counter too low'. Returns the SW of
 * the command or 0 with x->msg set. */
uint16_t smsr_es5(smsr_ctx *x, const char *apdu_hex, abuf *out)
{
	static const uint8_t tar[3] = PROTO_TAR_BYTES(PROTO_TAR_ISDR);
	abuf a = ABUF_INIT;
	if (hex_decode(apdu_hex, &a, NULL)) {
		abuf_free(&a);
		snprintf(x->msg, sizeof(x->msg), "internal: bad APDU");
		return 0;
	}
	const uint8_t *items[1] = { a.p };
	size_t lens[1] = { a.len };
	uint16_t sw = 0;
	for (int attempt = 0; attempt < 4; attempt++) {
		int rc = dev_send(&x->h, tar, true, items, lens, 1, false);
		if (rc) {
			snprintf(x->msg, sizeof(x->msg), "no proof of receipt from the card (%s)",
				 x->h.log.len ? (char *)x->h.log.p : "transport failure");
			break;
		}
		if (x->h.por.status == SCP80_POR_CNTR_LOW && attempt < 3) {
			/* the card holds a higher counter than the store: jump ahead, 2^8, 2^16, 2^24 */
			uint64_t c = 0;
			scp80_keyset ks;
			store_keyset(x->st, x->eid, 1, &ks, &c);
			scp80_keyset_clear(&ks);
			c += 1ull << (8 * (attempt + 1));
			store_set_counter(x->st, x->eid, 1, c);
			smsr_event(x, "counter too low: resynchronised to %010llx and retried",
				   (unsigned long long)c + 1);
			continue;
		}
		if (x->h.por.status) {
			snprintf(x->msg, sizeof(x->msg), "the card refused the packet: PoR status %02x (%s)",
				 x->h.por.status, scp80_por_status_name(x->h.por.status));
			break;
		}
		scp80_response r;
		if (scp80_response_parse(SCP80_FORMAT_EXPANDED, x->h.por_data.p, x->h.por_data.len, &r)) {
			snprintf(x->msg, sizeof(x->msg), "the PoR carries no readable response");
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

void smsr_handle_notifications(smsr_ctx *x)
{
	size_t n = x->h.n_notifs;
	dev_notif list[16];
	memcpy(list, x->h.notifs, n * sizeof(list[0]));
	x->h.n_notifs = 0;
	for (size_t i = 0; i < n; i++) {
		char aid[33];
		bool dup = false;
		hex_encode(list[i].aid, 16, aid);
		store_notif_received(x->st, x->eid, list[i].seq, list[i].type, aid, &dup);
		smsr_event(x, "notification %u: %s (%s)%s", list[i].seq, smsr_notif_name(list[i].type), aid + 26,
			   dup ? ", again" : "");
		char hex[64];
		snprintf(hex, sizeof(hex), "80E28900073A08044E02%04x", list[i].seq);
		if (smsr_es5(x, hex, NULL) == 0x9000) {
			store_notif_confirmed(x->st, x->eid, list[i].seq);
			x->notes++;
		}
	}
}

/* Reads the ISD-Ps from the card and settles the store. An ISD-P that holds no profile (a download
 * that did not end: killed, card removed, transport lost) is deleted on the card and in the store, so
 * interrupted downloads never fill the card. */
int smsr_audit(smsr_ctx *x)
{
	abuf r = ABUF_INIT;
	uint16_t sw = smsr_es5(x, "80F24002024F0000", &r);
	if (sw != 0x9000 && sw != 0x6A88) {
		abuf_free(&r);
		if (sw)
			return smsr_fail(x, 1, "audit: the card refused GET STATUS (%04x)", sw);
		return smsr_fail(x, 1, "audit: %s", x->msg);
	}
	audit_isdp list[AUDIT_MAX_ISDPS];
	size_t n = 0;
	char why[200];
	int prc = audit_parse(r.p, r.len, list, AUDIT_MAX_ISDPS, &n, why, sizeof(why));
	abuf_free(&r);
	if (prc)
		return smsr_fail(x, 1, "audit: %s; the store is left as it was", why);
	/* leftovers of interrupted downloads go first; one the card does not delete stays listed */
	char seen[AUDIT_MAX_ISDPS][33];
	size_t n_seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (audit_is_empty(&list[i])) {
			char del[100];
			snprintf(del, sizeof(del), "80E40000124F10%.32s", list[i].aid);
			uint16_t dsw = smsr_es5(x, del, NULL);
			if (dsw == 0x9000) {
				smsr_event(x, "ISD-P %s held no profile (an interrupted download): deleted",
					   list[i].aid);
				store_isdp_delete(x->st, x->eid, list[i].aid);
				continue;
			}
		}
		memcpy(seen[n_seen++], list[i].aid, 33);
	}
	store_begin(x->st);
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

json_t *smsr_isdps_json(smsr_ctx *x)
{
	return store_isdps(x->st, x->eid);
}

void smsr_print_table(smsr_ctx *x, json_t *isdps)
{
	size_t i;
	json_t *p;
	printf("eUICC %s\n", x->eid);
	printf("  %-34s %-21s %-13s %s\n", "ISD-P AID", "ICCID", "state", "flags");
	json_array_foreach(isdps, i, p)
	{
		const char *st = json_string_value(json_object_get(p, "state"));
		bool on = st && !strcmp(st, "enabled");
		printf("  %-34s %-21s %s%-13s%s %s%s\n", json_string_value(json_object_get(p, "aid")),
		       json_is_string(json_object_get(p, "iccid")) ? json_string_value(json_object_get(p, "iccid"))
								   : "-",
		       on && x->color ? "\033[32m" : "", st, on && x->color ? "\033[0m" : "",
		       json_is_true(json_object_get(p, "fallback")) ? "fall-back " : "",
		       json_is_true(json_object_get(p, "emergency")) ? "emergency" : "");
	}
	if (!json_array_size(isdps))
		printf("  (no ISD-P)\n");
}

void smsr_print_isdps(smsr_ctx *x)
{
	json_t *l = smsr_isdps_json(x);
	smsr_print_table(x, l);
	json_decref(l);
}

int smsr_read_file(const char *path, abuf *out, char *why, size_t why_len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	uint8_t buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (abuf_put(out, buf, n) || out->len > (1u << 20)) {
			fclose(f);
			snprintf(why, why_len, "%s: larger than 1 MiB", path);
			return -1;
		}
	fclose(f);
	return 0;
}

void smsr_progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	int w = 40, fill = total ? (int)(done * (size_t)w / total) : w;
	fprintf(stderr, "\r  download [%.*s%*s] %3zu%% %zu/%zu bytes", fill, "########################################",
		w - fill, "", total ? done * 100 / total : 100, done, total);
	if (done >= total)
		fputc('\n', stderr);
}

int smsr_load_pki(smsr_ctx *x, bench_pki *pki)
{
	char dir[1024], why[1200];
	if (pki_load_or_create(pki_default_dir(dir, sizeof(dir)), pki, why, sizeof(why)))
		return smsr_fail(x, 1, "test PKI: %s", why);
	return 0;
}

int smsr_take_eid(int argc, char **argv, const char **eid)
{
	/* EID first when it looks like one (32 digits), otherwise the only registered eUICC */
	*eid = NULL;
	if (argc > 1 && strlen(argv[1]) == 32 && strspn(argv[1], "0123456789") == 32) {
		*eid = argv[1];
		return 2;
	}
	return 1;
}

int smsr_dispatch(smsr_ctx *x, const cli_command *table, int argc, char **argv)
{
	json_decref(x->events);
	x->events = NULL;
	x->msg[0] = '\0';
	const cli_command *c = cli_find(table, argv[0]);
	if (!c)
		return smsr_fail(x, CLI_USAGE, "unknown command '%s' (see smsr --help)", argv[0]);
	return c->run(x, argc, argv);
}
