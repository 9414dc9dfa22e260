/* smsr: a minimal SM-SR (with the SM-DP role it needs) that drives eUICCs over the air. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/cli.h"
#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/tlv.h"
#include "audit.h"
#include "apdu/proto.h"
#include "host/profile.h"
#include "smsr.h"

#define EXIT_USAGE 2
#define SMSR_EIS_MAX (1 << 20) /* an EIS is a few kB; a larger file is refused before it is read */

const char *const smsr_commands[] = { "register", "list", "audit", "download", "enable", "disable", "delete",
				      "set-fallback", "set-emergency", "set-pol1", "update-connectivity", "connectivity-loss", "notifications", "status",
				      "pki", "profile", "shell", "help", NULL };

static const char usage[] =
	"usage: smsr [--db FILE] [--reader NAME|N | --inproc STATE_FILE] [--trace] [--json] COMMAND [ARGS]\n"
	"\n"
	"A minimal SM-SR (SGP.02) with the SM-DP role it needs: it drives eUICCs over the air (SCP80 in SMS-PP\n"
	"ENVELOPEs, playing the modem too) through PC/SC or an in-process software card.\n"
	"\n"
	"commands (EID may be left out when one eUICC is registered; TARGET is an ISD-P AID or an ICCID):\n"
	"  register EIS.json             import an eUICC (EID, certificates, OTA keysets)\n"
	"  list                          registered eUICCs and their ISD-Ps as the store knows them\n"
	"  audit [EID]                   read the ISD-Ps from the card and settle the store\n"
	"  download [EID] PACKAGE.der    CreateISDP, key establishment (SM-DP), SCP03t download\n"
	"  enable|disable|delete [EID] TARGET\n"
	"  set-fallback|set-emergency [EID] TARGET\n"
	"  set-pol1 [EID] TARGET BITS    POL1 of a profile (bench extension): 01 no disable, 02 no delete, 04 delete when disabled\n"
	"  update-connectivity [EID] SMSC  UpdateConnectivityParameters: the SMS centre of the enabled profile\n"
	"  connectivity-loss [EID]       report 'no service' until the card falls back\n"
	"  notifications [EID]           notifications received and confirmed\n"
	"  status [EID]                  the card's profile table (audit, printed as a table)\n"
	"  pki init DIR                  create the test PKI (CI, EUM, SM-DP, SM-SR) in DIR\n"
	"  profile new --iccid ICCID --imsi IMSI --k HEX --opc HEX [--out FILE [--force]] [--name TEXT] [--spn NAME]\n"
	"              [--pin DIGITS] [--puk DIGITS] [--pin-enabled]\n"
	"  profile show [--show-secrets] FILE\n"
	"  shell                         interactive: history, completion, `trace on|off`, `help`\n"
	"\n"
	"The store is $XDG_DATA_HOME/euicc-bench/smsr.db (0600) unless --db. Keys are never printed.\n"
	"Exit status: 0 ok, 1 the operation failed (the message says what and why), 2 bad arguments.\n";

static int failx(smsr_ctx *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failx(smsr_ctx *x, int code, const char *fmt, ...)
{
	/* formatted aside first: an argument may be x->msg itself */
	char line[sizeof(x->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memcpy(x->msg, line, sizeof(line));
	fprintf(stderr, "smsr: %s\n", x->msg);
	if (x->json) {
		json_t *o = json_pack("{s:s}", "error", x->msg);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	}
	return code;
}

static void emit(smsr_ctx *x, json_t *o)
{
	if (x->events && json_array_size(x->events))
		json_object_set(o, "events", x->events);
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
}

static void event(smsr_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void event(smsr_ctx *x, const char *fmt, ...)
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

static int open_store(smsr_ctx *x)
{
	if (x->st)
		return 0;
	char path[1024], why[1200];
	const char *p = x->db_path ? x->db_path : store_default_path(path, sizeof(path));
	if (store_open(p, &x->st, why, sizeof(why)))
		return failx(x, 1, "store: %s", why);
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
static void handle_notifications(smsr_ctx *x);

static int connect_card(smsr_ctx *x, const char *eid)
{
	char why[1200];
	if (open_store(x))
		return 1;
	char e[33];
	if (store_resolve_eid(x->st, eid, e, why, sizeof(why)))
		return failx(x, 1, "%s", why);
	if (x->connected && !strcmp(e, x->eid))
		return 0;
	smsr_disconnect(x);
	snprintf(x->eid, sizeof(x->eid), "%s", e);
	if (!x->reader && !x->inproc)
		return failx(x, EXIT_USAGE, "no card: give --reader NAME|N (PC/SC) or --inproc STATE_FILE");
	int rc = x->inproc ? link_open_inproc(x->inproc, &x->link, why, sizeof(why))
			   : link_open_pcsc(x->reader, &x->link, why, sizeof(why));
	if (rc)
		return failx(x, 1, "%s", why);
	scp80_keyset ks;
	if (store_keyset(x->st, x->eid, 1, &ks, NULL))
		return failx(x, 1, "eUICC %s has no OTA keyset 1 in the store", x->eid);
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
		return failx(x, 1, "%s: %s", link_name(x->link),
			     x->h.log.len ? (const char *)x->h.log.p : "the card does not answer TERMINAL PROFILE");
	handle_notifications(x);
	return 0;
}

static const char *notif_name(unsigned t)
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
static uint16_t es5(smsr_ctx *x, const char *apdu_hex, abuf *out)
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
			event(x, "counter too low: resynchronised to %010llx and retried", (unsigned long long)c + 1);
			continue;
		}
		if (x->h.por.status) {
			snprintf(x->msg, sizeof(x->msg), "the card refused the packet: PoR status %02x (%s)", x->h.por.status,
				 scp80_por_status_name(x->h.por.status));
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
	handle_notifications(x);
	return sw;
}

static void handle_notifications(smsr_ctx *x)
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
		event(x, "notification %u: %s (%s)%s", list[i].seq, notif_name(list[i].type), aid + 26, dup ? ", again" : "");
		char hex[64];
		snprintf(hex, sizeof(hex), "80E28900073A08044E02%04x", list[i].seq);
		if (es5(x, hex, NULL) == 0x9000) {
			store_notif_confirmed(x->st, x->eid, list[i].seq);
			x->notes++;
		}
	}
}

static uint16_t es5(smsr_ctx *x, const char *apdu_hex, abuf *out);

/* Reads the ISD-Ps from the card and settles the store. An ISD-P that holds no profile (a download
 * that did not end: killed, card removed, transport lost) is deleted on the card and in the store, so
 * interrupted downloads never fill the card. */
static int audit(smsr_ctx *x)
{
	abuf r = ABUF_INIT;
	uint16_t sw = es5(x, "80F24002024F0000", &r);
	if (sw != 0x9000 && sw != 0x6A88) {
		abuf_free(&r);
		if (sw)
			return failx(x, 1, "audit: the card refused GET STATUS (%04x)", sw);
		return failx(x, 1, "audit: %s", x->msg);
	}
	audit_isdp list[AUDIT_MAX_ISDPS];
	size_t n = 0;
	char why[200];
	int prc = audit_parse(r.p, r.len, list, AUDIT_MAX_ISDPS, &n, why, sizeof(why));
	abuf_free(&r);
	if (prc)
		return failx(x, 1, "audit: %s; the store is left as it was", why);
	/* leftovers of interrupted downloads go first; one the card does not delete stays listed */
	char seen[AUDIT_MAX_ISDPS][33];
	size_t n_seen = 0;
	for (size_t i = 0; i < n; i++) {
		if (audit_is_empty(&list[i])) {
			char del[100];
			snprintf(del, sizeof(del), "80E40000124F10%.32s", list[i].aid);
			uint16_t dsw = es5(x, del, NULL);
			if (dsw == 0x9000) {
				event(x, "ISD-P %s held no profile (an interrupted download): deleted", list[i].aid);
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
			store_isdp_put(x->st, x->eid, list[i].aid, list[i].iccid, audit_state_name(list[i].state),
				       list[i].fallback, list[i].emergency);
	}
	/* what the card no longer has leaves the store (keys of the others stay) */
	store_isdp_prune(x->st, x->eid, seen, n_seen);
	store_commit(x->st);
	return 0;
}

static json_t *isdps_json(smsr_ctx *x)
{
	return store_isdps(x->st, x->eid);
}

static void print_table(smsr_ctx *x, json_t *isdps)
{
	size_t i;
	json_t *p;
	printf("eUICC %s\n", x->eid);
	printf("  %-34s %-21s %-13s %s\n", "ISD-P AID", "ICCID", "state", "flags");
	json_array_foreach(isdps, i, p) {
		const char *st = json_string_value(json_object_get(p, "state"));
		bool on = st && !strcmp(st, "enabled");
		printf("  %-34s %-21s %s%-13s%s %s%s\n", json_string_value(json_object_get(p, "aid")),
		       json_is_string(json_object_get(p, "iccid")) ? json_string_value(json_object_get(p, "iccid")) : "-",
		       on && x->color ? "\033[32m" : "", st, on && x->color ? "\033[0m" : "",
		       json_is_true(json_object_get(p, "fallback")) ? "fall-back " : "",
		       json_is_true(json_object_get(p, "emergency")) ? "emergency" : "");
	}
	if (!json_array_size(isdps))
		printf("  (no ISD-P)\n");
}

static void print_isdps(smsr_ctx *x)
{
	json_t *l = isdps_json(x);
	print_table(x, l);
	json_decref(l);
}

static int read_file(const char *path, abuf *out, char *why, size_t why_len)
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

static void progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	int w = 40, fill = total ? (int)(done * (size_t)w / total) : w;
	fprintf(stderr, "\r  download [%.*s%*s] %3zu%% %zu/%zu bytes", fill, "########################################", w - fill, "",
		total ? done * 100 / total : 100, done, total);
	if (done >= total)
		fputc('\n', stderr);
}

static int load_pki(smsr_ctx *x, bench_pki *pki)
{
	char dir[1024], why[1200];
	if (pki_load_or_create(pki_default_dir(dir, sizeof(dir)), pki, why, sizeof(why)))
		return failx(x, 1, "test PKI: %s", why);
	return 0;
}

static int cmd_download(smsr_ctx *x, const char *eid, const char *file)
{
	char why[1200];
	abuf pkg = ABUF_INIT;
	if (read_file(file, &pkg, why, sizeof(why))) {
		abuf_free(&pkg);
		return failx(x, 1, "%s", why);
	}
	json_t *d = profile_describe(pkg.p, pkg.len, false, why, sizeof(why));
	if (!d) {
		abuf_free(&pkg);
		return failx(x, 1, "%s: not a profile package: %s", file, why);
	}
	char iccid[24];
	snprintf(iccid, sizeof(iccid), "%s", json_string_value(json_object_get(d, "iccid")));
	json_decref(d);
	int rc = connect_card(x, eid);
	if (rc) {
		abuf_free(&pkg);
		return rc;
	}
	char aid[33], hex[300], have_aid[33], have_iccid[21];
	/* one ICCID, one ISD-P: the card refuses a second one too, this saves the packets */
	if (!store_isdp_find(x->st, x->eid, iccid, have_aid, have_iccid) && !strcmp(have_iccid, iccid)) {
		abuf_free(&pkg);
		store_log(x->st, "download", x->eid, "ICCID already installed");
		return failx(x, 1, "download: ICCID %s is already installed in ISD-P %s of eUICC %s", iccid, have_aid,
			     x->eid);
	}
	store_next_aid(x->st, x->eid, aid);
	if (!x->json)
		printf("download %s (ICCID %s, %zu bytes) to eUICC %s\n", file, iccid, pkg.len, x->eid);
	snprintf(hex, sizeof(hex),
		 "80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0010%s0380C00006C9048102037000",
		 aid);
	uint16_t sw = es5(x, hex, NULL);
	if (sw != 0x9000) {
		abuf_free(&pkg);
		store_log(x->st, "download", x->eid, "CreateISDP refused");
		if (!sw)
			return failx(x, 1, "CreateISDP: %s", x->msg);
		return failx(x, 1, "CreateISDP refused with %04x%s", sw, sw == 0x6A84 ? " (not enough memory: the card holds 4 profiles)" : "");
	}
	store_isdp_put(x->st, x->eid, aid, NULL, "selectable", 0, 0);
	event(x, "ISD-P %s created", aid);
	bench_pki pki;
	if (load_pki(x, &pki)) {
		abuf_free(&pkg);
		return 1;
	}
	json_t *eis = store_eis(x->st, x->eid);
	uint8_t aidb[16];
	hex_decode_exact(aid, aidb, 16);
	if (isatty(2) && !x->json) {
		x->h.progress = progress;
		x->h.progress_ctx = x;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	x->h.have_scp03_key = false;
	unsigned apdus0 = x->h.apdus;
	rc = smdp_download(&x->h, &pki, eis, aidb, pkg.p, pkg.len, PROTO_SCP03T_SEGMENT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	x->h.progress = NULL;
	json_decref(eis);
	pki_free(&pki);
	abuf_free(&pkg);
	if (x->h.have_scp03_key) {
		store_isdp_keys(x->st, x->eid, aid, x->h.scp03_key, x->h.scp03_kvn);
		crypto_wipe(x->h.scp03_key, 16);
	}
	if (rc) {
		/* the card keeps no half profile; the empty ISD-P goes too (or is settled by the next audit) */
		const char *reason = x->h.log.len ? (const char *)x->h.log.p : "transport failure";
		char del[100];
		snprintf(del, sizeof(del), "80E40000124F10%s", aid);
		if (es5(x, del, NULL) == 0x9000)
			store_isdp_delete(x->st, x->eid, aid);
		else
			store_isdp_state(x->st, x->eid, aid, "unknown");
		store_log(x->st, "download", x->eid, reason);
		return failx(x, 1, "download failed: %s", reason);
	}
	store_isdp_put(x->st, x->eid, aid, iccid, "disabled", 0, 0);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	store_log(x->st, "download", x->eid, "ok");
	if (x->json)
		emit(x, json_pack("{s:s,s:s,s:s,s:f,s:i}", "eid", x->eid, "aid", aid, "iccid", iccid, "ms", ms, "apdus",
				  (int)(x->h.apdus - apdus0)));
	else
		printf("installed: ISD-P %s, ICCID %s (%.0f ms, %u APDUs)\n", aid, iccid, ms, x->h.apdus - apdus0);
	return 0;
}

/* enable / disable / delete / set-fallback / set-emergency */
static int cmd_target(smsr_ctx *x, const char *what, const char *eid, const char *target, int pol1)
{
	int rc = connect_card(x, eid);
	if (rc)
		return rc;
	char aid[33], iccid[21], hex[120];
	if (store_isdp_find(x->st, x->eid, target, aid, iccid)) {
		/* perhaps the store is behind the card */
		if (audit(x) || store_isdp_find(x->st, x->eid, target, aid, iccid))
			return failx(x, 1, "%s: no ISD-P with AID or ICCID %s on eUICC %s", what, target, x->eid);
	}
	if (!strcmp(what, "delete"))
		snprintf(hex, sizeof(hex), "80E40000124F10%s", aid);
	else if (!strcmp(what, "set-pol1"))
		snprintf(hex, sizeof(hex), "80E2880018%04x154F10%s8001%02x", PROTO_DGI_SET_POL1, aid, pol1);
	else {
		uint16_t tag = !strcmp(what, "enable") ? PROTO_DGI_ENABLE : !strcmp(what, "disable") ? PROTO_DGI_DISABLE
			       : !strcmp(what, "set-fallback") ? PROTO_DGI_SET_FALLBACK : PROTO_DGI_SET_EMERGENCY;
		snprintf(hex, sizeof(hex), "80E2880015%04x124F10%s", tag, aid);
	}
	unsigned notes = x->notes;
	uint16_t sw = es5(x, hex, NULL);
	if (sw != 0x9000) {
		store_log(x->st, what, x->eid, sw ? "refused" : "no PoR");
		if (!sw) {
			store_isdp_state(x->st, x->eid, aid, "unknown");
			return failx(x, 1, "%s %s: %s (marked unknown; `smsr audit` settles it)", what, aid, x->msg);
		}
		const char *why = sw == 0x69E1 ? "the profile's POL1 forbids it"
			: sw == 0x6985 ? "conditions not satisfied (state, fall-back rule)"
			: sw == 0x6A88 ? "the card has no such ISD-P" : "refused";
		audit(x);
		return failx(x, 1, "%s %s: the card answered %04x: %s", what, iccid[0] ? iccid : aid, sw, why);
	}
	audit(x);
	store_log(x->st, what, x->eid, "ok");
	if (x->json)
		emit(x, json_pack("{s:s,s:s,s:s,s:s,s:o,s:i}", "eid", x->eid, "operation", what, "aid", aid, "iccid", iccid,
				  "isdps", isdps_json(x), "notifications", (int)(x->notes - notes)));
	else {
		printf("%s %s: done\n", what, iccid[0] ? iccid : aid);
		print_isdps(x);
	}
	return 0;
}

static int cmd_connectivity_loss(smsr_ctx *x, const char *eid)
{
	int rc = connect_card(x, eid);
	if (rc)
		return rc;
	unsigned refresh0 = x->h.refreshes;
	int events = 0;
	for (; events < 10 && x->h.refreshes == refresh0; events++) {
		dev_location(&x->h, 0x02);
		handle_notifications(x);
	}
	bool switched = x->h.refreshes != refresh0;
	audit(x);
	store_log(x->st, "connectivity-loss", x->eid, switched ? "fall-back" : "no switch");
	if (!switched)
		return failx(x, 1, "no fall-back after %d 'no service' events (is a fall-back profile set and disabled?)", events);
	if (x->json)
		emit(x, json_pack("{s:s,s:i,s:b,s:o}", "eid", x->eid, "events", events, "fallback", 1, "isdps", isdps_json(x)));
	else {
		printf("%d 'no service' events: the card switched to its fall-back profile\n", events);
		print_isdps(x);
	}
	return 0;
}

static int cmd_profile(smsr_ctx *x, int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help"))
		return failx(x, EXIT_USAGE, "usage: smsr profile new --iccid ICCID --imsi IMSI --k HEX --opc HEX [--out FILE] | "
					    "smsr profile show [--show-secrets] FILE");
	char why[600];
	if (!strcmp(argv[1], "show")) {
		bool secrets = false;
		const char *file = NULL;
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--show-secrets"))
				secrets = true;
			else if (!file)
				file = argv[i];
			else
				return failx(x, EXIT_USAGE, "profile show: unexpected argument '%s'", argv[i]);
		}
		if (!file)
			return failx(x, EXIT_USAGE, "profile show: FILE is required");
		abuf b = ABUF_INIT;
		if (read_file(file, &b, why, sizeof(why))) {
			abuf_free(&b);
			return failx(x, 1, "%s", why);
		}
		json_t *d = profile_describe(b.p, b.len, secrets, why, sizeof(why));
		abuf_free(&b);
		if (!d)
			return failx(x, 1, "%s: not a profile package: %s", file, why);
		if (x->json) {
			emit(x, d);
		} else {
			printf("%s: %lld bytes\n  ICCID %s\n  IMSI  %s\n", file, json_integer_value(json_object_get(d, "bytes")),
			       json_string_value(json_object_get(d, "iccid")),
			       json_is_string(json_object_get(d, "imsi")) ? json_string_value(json_object_get(d, "imsi")) : "-");
			if (json_is_string(json_object_get(d, "k")))
				printf("  K     %s\n", json_string_value(json_object_get(d, "k")));
			if (json_is_string(json_object_get(d, "opc")))
				printf("  OPc   %s\n", json_string_value(json_object_get(d, "opc")));
			size_t i;
			json_t *e;
			json_array_foreach(json_object_get(d, "elements"), i, e)
				printf("  %2zu  %s %-22s %5lld bytes\n", i, json_string_value(json_object_get(e, "tag")),
				       json_string_value(json_object_get(e, "name")), json_integer_value(json_object_get(e, "bytes")));
			printf("  files with an explicit identifier:\n");
			json_array_foreach(json_object_get(d, "files"), i, e)
				printf("    %s (%s) %s\n", json_string_value(json_object_get(e, "fid")),
				       json_string_value(json_object_get(e, "element")),
				       json_is_string(json_object_get(e, "content")) ? json_string_value(json_object_get(e, "content")) : "");
			json_decref(d);
		}
		return 0;
	}
	if (strcmp(argv[1], "new"))
		return failx(x, EXIT_USAGE, "profile: unknown subcommand '%s' (new, show)", argv[1]);
	profile_params p;
	memset(&p, 0, sizeof(p));
	const char *out = NULL, *k = NULL, *opc = NULL;
	bool force = false;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--pin-enabled")) {
			p.pin_enabled = true;
			continue;
		}
		if (!strcmp(o, "--force")) {
			force = true;
			continue;
		}
		if (!strcmp(o, "--iccid") && v) p.iccid = v;
		else if (!strcmp(o, "--imsi") && v) p.imsi = v;
		else if (!strcmp(o, "--k") && v) k = v;
		else if (!strcmp(o, "--opc") && v) opc = v;
		else if (!strcmp(o, "--out") && v) out = v;
		else if (!strcmp(o, "--name") && v) p.name = v;
		else if (!strcmp(o, "--spn") && v) p.spn = v;
		else if (!strcmp(o, "--pin") && v) p.pin = v;
		else if (!strcmp(o, "--puk") && v) p.puk = v;
		else
			return failx(x, EXIT_USAGE, "profile new: unknown or incomplete option '%s'", o);
		i++;
	}
	if (!p.iccid || !p.imsi || !k || !opc)
		return failx(x, EXIT_USAGE, "profile new: --iccid, --imsi, --k and --opc are required");
	if (hex_decode_exact(k, p.k, 16))
		return failx(x, EXIT_USAGE, "profile new: --k: expected 16 bytes of hex");
	if (hex_decode_exact(opc, p.opc, 16))
		return failx(x, EXIT_USAGE, "profile new: --opc: expected 16 bytes of hex");
	abuf b = ABUF_INIT;
	if (profile_build(&p, &b, why, sizeof(why)))
		return failx(x, EXIT_USAGE, "profile new: %s", why);
	char path[1024];
	if (!out) {
		snprintf(path, sizeof(path), "profile-%s.der", p.iccid);
		out = path;
	}
	/* a package (it holds K and OPc) is not overwritten unless asked */
	int fd = open(out, O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0 && errno == EEXIST) {
		abuf_free(&b);
		crypto_wipe(&p, sizeof(p));
		return failx(x, EXIT_USAGE, "profile new: %s exists; give --force to overwrite it", out);
	}
	if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len) {
		if (fd >= 0)
			close(fd);
		abuf_free(&b);
		return failx(x, 1, "profile new: cannot write %s: %s", out, strerror(errno));
	}
	close(fd);
	if (x->json)
		emit(x, json_pack("{s:s,s:s,s:s,s:I}", "file", out, "iccid", p.iccid, "imsi", p.imsi, "bytes", (json_int_t)b.len));
	else
		printf("wrote %s (%zu bytes, ICCID %s, IMSI %s)\n", out, b.len, p.iccid, p.imsi);
	abuf_free(&b);
	crypto_wipe(&p, sizeof(p));
	return 0;
}

int smsr_run(smsr_ctx *x, int argc, char **argv)
{
	const char *cmd = argv[0];
	json_decref(x->events);
	x->events = NULL;
	x->msg[0] = '\0';
	/* EID first when it looks like one (32 digits), otherwise the only registered eUICC */
	const char *eid = NULL;
	int a = 1;
	if (argc > 1 && strlen(argv[1]) == 32 && strspn(argv[1], "0123456789") == 32) {
		eid = argv[1];
		a = 2;
	}
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(cmd, "profile"))
		return cmd_profile(x, argc, argv);
	if (!strcmp(cmd, "pki")) {
		if (argc != 3 || strcmp(argv[1], "init"))
			return failx(x, EXIT_USAGE, "usage: smsr pki init DIR");
		bench_pki pki;
		char why[1200];
		if (pki_load_or_create(argv[2], &pki, why, sizeof(why)))
			return failx(x, 1, "pki: %s", why);
		pki_free(&pki);
		if (x->json)
			emit(x, json_pack("{s:s}", "pki", argv[2]));
		else
			printf("test PKI ready in %s (CI, EUM, SM-DP, SM-SR)\n", argv[2]);
		return 0;
	}
	if (open_store(x))
		return 1;
	if (!strcmp(cmd, "register")) {
		if (argc != 2)
			return failx(x, EXIT_USAGE, "usage: smsr register EIS.json");
		json_error_t je;
		struct stat sb;
		if (stat(argv[1], &sb) != 0)
			return failx(x, 1, "%s: %s", argv[1], strerror(errno));
		if (sb.st_size > SMSR_EIS_MAX)
			return failx(x, 1, "%s is larger than an EIS can be (%lld bytes, at most %d)", argv[1],
				     (long long)sb.st_size, SMSR_EIS_MAX);
		/* jansson keeps the last of two equal keys: an EIS that says two things is refused */
		json_t *eis = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &je);
		if (!eis)
			return failx(x, 1, "%s: %s (line %d)", argv[1], je.text, je.line);
		char e[33], why[600];
		int rc = store_register(x->st, eis, e, why, sizeof(why));
		json_decref(eis);
		if (rc)
			return failx(x, 1, "register %s: %s", argv[1], why);
		store_log(x->st, "register", e, "ok");
		if (x->json)
			emit(x, json_pack("{s:s}", "eid", e));
		else
			printf("registered eUICC %s\n", e);
		return 0;
	}
	if (!strcmp(cmd, "list")) {
		json_t *l = store_list(x->st);
		if (x->json) {
			emit(x, json_pack("{s:o}", "euiccs", l));
		} else {
			size_t i;
			json_t *e;
			if (!json_array_size(l))
				printf("no eUICC registered\n");
			json_array_foreach(l, i, e) {
				snprintf(x->eid, sizeof(x->eid), "%s", json_string_value(json_object_get(e, "eid")));
				print_table(x, json_object_get(e, "isdps"));
			}
			json_decref(l);
		}
		return 0;
	}
	if (!strcmp(cmd, "notifications")) {
		char e[33], why[600];
		if (store_resolve_eid(x->st, eid, e, why, sizeof(why)))
			return failx(x, 1, "%s", why);
		json_t *n = store_notifs(x->st, e);
		if (x->json) {
			emit(x, json_pack("{s:s,s:o}", "eid", e, "notifications", n));
		} else {
			size_t i;
			json_t *o;
			printf("eUICC %s: %zu notifications\n", e, json_array_size(n));
			json_array_foreach(n, i, o)
				printf("  seq %-4lld %-36s %s  received %s  %s\n", json_integer_value(json_object_get(o, "seq")),
				       notif_name((unsigned)json_integer_value(json_object_get(o, "type"))),
				       json_string_value(json_object_get(o, "aid")), json_string_value(json_object_get(o, "received")),
				       json_is_string(json_object_get(o, "confirmed")) ? "confirmed" : "not confirmed");
			json_decref(n);
		}
		return 0;
	}
	if (!strcmp(cmd, "audit") || !strcmp(cmd, "status")) {
		if (argc > a)
			return failx(x, EXIT_USAGE, "%s: unexpected argument '%s'", cmd, argv[a]);
		int rc = connect_card(x, eid);
		if (rc || (rc = audit(x)))
			return rc;
		store_log(x->st, "audit", x->eid, "ok");
		if (x->json)
			emit(x, json_pack("{s:s,s:o}", "eid", x->eid, "isdps", isdps_json(x)));
		else
			print_isdps(x);
		return 0;
	}
	if (!strcmp(cmd, "download")) {
		if (argc != a + 1)
			return failx(x, EXIT_USAGE, "usage: smsr download [EID] PACKAGE.der");
		return cmd_download(x, eid, argv[a]);
	}
	if (!strcmp(cmd, "enable") || !strcmp(cmd, "disable") || !strcmp(cmd, "delete") || !strcmp(cmd, "set-fallback") ||
	    !strcmp(cmd, "set-emergency")) {
		if (argc != a + 1)
			return failx(x, EXIT_USAGE, "usage: smsr %s [EID] AID|ICCID", cmd);
		return cmd_target(x, cmd, eid, argv[a], 0);
	}
	if (!strcmp(cmd, "set-pol1")) {
		char *end;
		long bits = argc == a + 2 ? strtol(argv[a + 1], &end, 16) : -1;
		if (argc != a + 2 || *end || bits < 0 || bits > 7)
			return failx(x, EXIT_USAGE, "usage: smsr set-pol1 [EID] AID|ICCID BITS (hex 00..07)");
		return cmd_target(x, cmd, eid, argv[a], (int)bits);
	}
	if (!strcmp(cmd, "update-connectivity")) {
		if (argc != a + 1)
			return failx(x, EXIT_USAGE, "usage: smsr update-connectivity [EID] SMSC_DIGITS");
		const char *d = argv[a];
		size_t nd = strlen(d);
		if (!nd || nd > 20 || strspn(d, "0123456789") != nd)
			return failx(x, EXIT_USAGE, "update-connectivity: SMSC '%s' is not 1 to 20 digits", d);
		int rc = connect_card(x, eid);
		if (rc)
			return rc;
		/* STORE DATA 3A07 { A0 { 06 L <TON/NPI 91> <BCD digits> } } */
		char bcd[24] = "", hex[160];
		for (size_t i = 0; i < nd; i += 2)
			snprintf(bcd + strlen(bcd), sizeof(bcd) - strlen(bcd), "%c%c", i + 1 < nd ? d[i + 1] : 'f', d[i]);
		size_t l6 = 1 + (nd + 1) / 2;
		snprintf(hex, sizeof(hex), "80E28800%02zx3A07%02zxA0%02zx06%02zx91%s", l6 + 7, l6 + 4, l6 + 2, l6, bcd);
		uint16_t sw = es5(x, hex, NULL);
		store_log(x->st, "update-connectivity", x->eid, sw == 0x9000 ? "ok" : "refused");
		if (sw != 0x9000)
			return failx(x, 1, "update-connectivity: %s", sw ? "the card refused it (is a profile enabled?)" : x->msg);
		if (x->json)
			emit(x, json_pack("{s:s,s:s}", "eid", x->eid, "smsc", d));
		else
			printf("connectivity parameters updated: SMSC %s\n", d);
		return 0;
	}
	if (!strcmp(cmd, "connectivity-loss")) {
		if (argc > a)
			return failx(x, EXIT_USAGE, "connectivity-loss: unexpected argument '%s'", argv[a]);
		return cmd_connectivity_loss(x, eid);
	}
	if (!strcmp(cmd, "shell"))
		return smsr_shell(x);
	return failx(x, EXIT_USAGE, "unknown command '%s' (see smsr --help)", cmd);
}

int main(int argc, char **argv)
{
	cli_protect_keys();
	smsr_ctx x;
	memset(&x, 0, sizeof(x));
	x.json = cli_take_flag(&argc, argv, "--json");
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(o, "--version")) {
			printf("smsr (euicc-bench) 0.1.0\n");
			return 0;
		}
		if (!strcmp(o, "--trace")) {
			x.trace = true;
			continue;
		}
		if (i + 1 >= argc)
			return failx(&x, EXIT_USAGE, "option %s needs a value", o);
		if (!strcmp(o, "--db"))
			x.db_path = argv[++i];
		else if (!strcmp(o, "--reader"))
			x.reader = argv[++i];
		else if (!strcmp(o, "--inproc"))
			x.inproc = argv[++i];
		else
			return failx(&x, EXIT_USAGE, "unknown option '%s' (global options come before the command)", o);
	}
	if (x.reader && x.inproc)
		return failx(&x, EXIT_USAGE, "--reader and --inproc: give one of them");
	if (i >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	x.color = isatty(1) && !x.json && !getenv("NO_COLOR");
	signal(SIGPIPE, SIG_IGN);
	int rc = smsr_run(&x, argc - i, argv + i);
	smsr_disconnect(&x);
	json_decref(x.events);
	store_close(x.st);
	return rc;
}
