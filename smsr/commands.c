/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The smsr commands and their table: each parses its arguments and runs one SM-SR operation. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/proto.h"
#include "apdu/tlv.h"
#include "host/profile.h"
#include "smsr.h"

#define SMSR_EIS_MAX (1 << 20) /* an EIS is a few kB; a larger file is refused before it is read */

static int cmd_download(smsr_ctx *x, const char *eid, const char *file)
{
	char why[1200];
	abuf pkg = ABUF_INIT;
	if (smsr_read_file(file, &pkg, why, sizeof(why))) {
		abuf_free(&pkg);
		return smsr_fail(x, 1, "%s", why);
	}
	json_t *d = profile_describe(pkg.p, pkg.len, false, why, sizeof(why));
	if (!d) {
		abuf_free(&pkg);
		return smsr_fail(x, 1, "%s: not a profile package: %s", file, why);
	}
	char iccid[24];
	snprintf(iccid, sizeof(iccid), "%s", json_string_value(json_object_get(d, "iccid")));
	json_decref(d);
	int rc = smsr_connect(x, eid);
	if (rc) {
		abuf_free(&pkg);
		return rc;
	}
	char aid[33], hex[300], have_aid[33], have_iccid[21];
	/* one ICCID, one ISD-P: the card refuses a second one too, this saves the packets */
	if (!store_isdp_find(x->st, x->eid, iccid, have_aid, have_iccid) && !strcmp(have_iccid, iccid)) {
		abuf_free(&pkg);
		store_log(x->st, "download", x->eid, "ICCID already installed");
		return smsr_fail(x, 1, "download: ICCID %s is already installed in ISD-P %s of eUICC %s", iccid,
				 have_aid, x->eid);
	}
	store_next_aid(x->st, x->eid, aid);
	if (!x->json)
		printf("download %s (ICCID %s, %zu bytes) to eUICC %s\n", file, iccid, pkg.len, x->eid);
	snprintf(hex, sizeof(hex),
		 "80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0010%"
		 "s0380C00006C9048102037000",
		 aid);
	uint16_t sw = smsr_es5(x, hex, NULL);
	if (sw != 0x9000) {
		abuf_free(&pkg);
		store_log(x->st, "download", x->eid, "CreateISDP refused");
		if (!sw)
			return smsr_fail(x, 1, "CreateISDP: %s", x->msg);
		return smsr_fail(x, 1, "CreateISDP refused with %04x%s", sw,
				 sw == 0x6A84 ? " (not enough memory: the card holds 4 profiles)" : "");
	}
	store_isdp_put(x->st, x->eid, aid, NULL, "selectable", 0, 0);
	smsr_event(x, "ISD-P %s created", aid);
	bench_pki pki;
	if (smsr_load_pki(x, &pki)) {
		abuf_free(&pkg);
		return 1;
	}
	json_t *eis = store_eis(x->st, x->eid);
	uint8_t aidb[16];
	if (hex_decode_exact(aid, aidb, 16)) {
		json_decref(eis);
		return smsr_fail(x, 1, "the store names ISD-P '%s', which is not a 16-byte AID", aid);
	}
	if (isatty(2) && !x->json) {
		x->h.progress = smsr_progress;
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
		if (smsr_es5(x, del, NULL) == 0x9000)
			store_isdp_delete(x->st, x->eid, aid);
		else
			store_isdp_state(x->st, x->eid, aid, "unknown");
		store_log(x->st, "download", x->eid, reason);
		return smsr_fail(x, 1, "download failed: %s", reason);
	}
	store_isdp_put(x->st, x->eid, aid, iccid, "disabled", 0, 0);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	store_log(x->st, "download", x->eid, "ok");
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:s,s:s,s:s,s:f,s:i}", "eid", x->eid, "aid", aid, "iccid", iccid, "ms", ms,
				    "apdus", (int)(x->h.apdus - apdus0)));
	else
		printf("installed: ISD-P %s, ICCID %s (%.0f ms, %u APDUs)\n", aid, iccid, ms, x->h.apdus - apdus0);
	return 0;
}

/* enable / disable / delete / set-fallback / set-emergency */
static int cmd_target(smsr_ctx *x, const char *what, const char *eid, const char *target, int pol1)
{
	int rc = smsr_connect(x, eid);
	if (rc)
		return rc;
	char aid[33], iccid[21], hex[120];
	if (store_isdp_find(x->st, x->eid, target, aid, iccid)) {
		/* perhaps the store is behind the card */
		if (smsr_audit(x) || store_isdp_find(x->st, x->eid, target, aid, iccid))
			return smsr_fail(x, 1, "%s: no ISD-P with AID or ICCID %s on eUICC %s", what, target, x->eid);
	}
	if (!strcmp(what, "delete"))
		snprintf(hex, sizeof(hex), "80E40000124F10%s", aid);
	else if (!strcmp(what, "set-pol1"))
		snprintf(hex, sizeof(hex), "80E2880018%04x154F10%s8001%02x", PROTO_DGI_SET_POL1, aid, pol1);
	else {
		uint16_t tag = !strcmp(what, "enable")	? PROTO_DGI_ENABLE
			: !strcmp(what, "disable")	? PROTO_DGI_DISABLE
			: !strcmp(what, "set-fallback") ? PROTO_DGI_SET_FALLBACK
							: PROTO_DGI_SET_EMERGENCY;
		snprintf(hex, sizeof(hex), "80E2880015%04x124F10%s", tag, aid);
	}
	unsigned notes = x->notes;
	uint16_t sw = smsr_es5(x, hex, NULL);
	if (sw != 0x9000) {
		store_log(x->st, what, x->eid, sw ? "refused" : "no PoR");
		if (!sw) {
			store_isdp_state(x->st, x->eid, aid, "unknown");
			return smsr_fail(x, 1, "%s %s: %s (marked unknown; `smsr audit` settles it)", what, aid,
					 x->msg);
		}
		const char *why = sw == 0x69E1 ? "the profile's POL1 forbids it"
			: sw == 0x6985	       ? "conditions not satisfied (state, fall-back rule)"
			: sw == 0x6A88	       ? "the card has no such ISD-P"
					       : "refused";
		smsr_audit(x);
		return smsr_fail(x, 1, "%s %s: the card answered %04x: %s", what, iccid[0] ? iccid : aid, sw, why);
	}
	smsr_audit(x);
	store_log(x->st, what, x->eid, "ok");
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:s,s:s,s:s,s:s,s:o,s:i}", "eid", x->eid, "operation", what, "aid", aid, "iccid",
				    iccid, "isdps", smsr_isdps_json(x), "notifications", (int)(x->notes - notes)));
	else {
		printf("%s %s: done\n", what, iccid[0] ? iccid : aid);
		smsr_print_isdps(x);
	}
	return 0;
}

static int cmd_connectivity_loss(smsr_ctx *x, const char *eid)
{
	int rc = smsr_connect(x, eid);
	if (rc)
		return rc;
	unsigned refresh0 = x->h.refreshes;
	int events = 0;
	for (; events < 10 && x->h.refreshes == refresh0; events++) {
		dev_location(&x->h, 0x02);
		smsr_handle_notifications(x);
	}
	bool switched = x->h.refreshes != refresh0;
	smsr_audit(x);
	store_log(x->st, "connectivity-loss", x->eid, switched ? "fall-back" : "no switch");
	if (!switched)
		return smsr_fail(x, 1,
				 "no fall-back after %d 'no service' events (is a fall-back profile set and disabled?)",
				 events);
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:s,s:i,s:b,s:o}", "eid", x->eid, "events", events, "fallback", 1, "isdps",
				    smsr_isdps_json(x)));
	else {
		printf("%d 'no service' events: the card switched to its fall-back profile\n", events);
		smsr_print_isdps(x);
	}
	return 0;
}

/* smsr profile show [--show-secrets] FILE */
static int profile_show(smsr_ctx *x, int argc, char **argv)
{
	char why[600];
	bool secrets = false;
	const char *file = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--show-secrets"))
			secrets = true;
		else if (!file)
			file = argv[i];
		else
			return smsr_fail(x, CLI_USAGE, "profile show: unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return smsr_fail(x, CLI_USAGE, "profile show: FILE is required");
	abuf b = ABUF_INIT;
	if (smsr_read_file(file, &b, why, sizeof(why))) {
		abuf_free(&b);
		return smsr_fail(x, 1, "%s", why);
	}
	json_t *d = profile_describe(b.p, b.len, secrets, why, sizeof(why));
	abuf_free(&b);
	if (!d)
		return smsr_fail(x, 1, "%s: not a profile package: %s", file, why);
	if (x->json) {
		smsr_emit(x, d);
	} else {
		printf("%s: %lld bytes\n  ICCID %s\n  IMSI  %s\n", file,
		       json_integer_value(json_object_get(d, "bytes")), json_string_value(json_object_get(d, "iccid")),
		       json_is_string(json_object_get(d, "imsi")) ? json_string_value(json_object_get(d, "imsi"))
								  : "-");
		if (json_is_string(json_object_get(d, "k")))
			printf("  K     %s\n", json_string_value(json_object_get(d, "k")));
		if (json_is_string(json_object_get(d, "opc")))
			printf("  OPc   %s\n", json_string_value(json_object_get(d, "opc")));
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(d, "elements"), i, e) printf(
			"  %2zu  %s %-22s %5lld bytes\n", i, json_string_value(json_object_get(e, "tag")),
			json_string_value(json_object_get(e, "name")), json_integer_value(json_object_get(e, "bytes")));
		printf("  files with an explicit identifier:\n");
		json_array_foreach(json_object_get(d, "files"), i, e) printf(
			"    %s (%s) %s\n", json_string_value(json_object_get(e, "fid")),
			json_string_value(json_object_get(e, "element")),
			json_is_string(json_object_get(e, "content")) ? json_string_value(json_object_get(e, "content"))
								      : "");
		json_decref(d);
	}
	return 0;
}

/* smsr profile new --iccid ... : a package written 0600, never over an existing file unless --force */
static int profile_new(smsr_ctx *x, int argc, char **argv)
{
	char why[600];
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
		if (!strcmp(o, "--iccid") && v)
			p.iccid = v;
		else if (!strcmp(o, "--imsi") && v)
			p.imsi = v;
		else if (!strcmp(o, "--k") && v)
			k = v;
		else if (!strcmp(o, "--opc") && v)
			opc = v;
		else if (!strcmp(o, "--out") && v)
			out = v;
		else if (!strcmp(o, "--name") && v)
			p.name = v;
		else if (!strcmp(o, "--spn") && v)
			p.spn = v;
		else if (!strcmp(o, "--pin") && v)
			p.pin = v;
		else if (!strcmp(o, "--puk") && v)
			p.puk = v;
		else
			return smsr_fail(x, CLI_USAGE, "profile new: unknown or incomplete option '%s'", o);
		i++;
	}
	if (!p.iccid || !p.imsi || !k || !opc)
		return smsr_fail(x, CLI_USAGE, "profile new: --iccid, --imsi, --k and --opc are required");
	if (hex_decode_exact(k, p.k, 16))
		return smsr_fail(x, CLI_USAGE, "profile new: --k: expected 16 bytes of hex");
	if (hex_decode_exact(opc, p.opc, 16))
		return smsr_fail(x, CLI_USAGE, "profile new: --opc: expected 16 bytes of hex");
	abuf b = ABUF_INIT;
	if (profile_build(&p, &b, why, sizeof(why)))
		return smsr_fail(x, CLI_USAGE, "profile new: %s", why);
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
		return smsr_fail(x, CLI_USAGE, "profile new: %s exists; give --force to overwrite it", out);
	}
	if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len) {
		if (fd >= 0)
			close(fd);
		abuf_free(&b);
		return smsr_fail(x, 1, "profile new: cannot write %s: %s", out, strerror(errno));
	}
	close(fd);
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:s,s:s,s:s,s:I}", "file", out, "iccid", p.iccid, "imsi", p.imsi, "bytes",
				    (json_int_t)b.len));
	else
		printf("wrote %s (%zu bytes, ICCID %s, IMSI %s)\n", out, b.len, p.iccid, p.imsi);
	abuf_free(&b);
	crypto_wipe(&p, sizeof(p));
	return 0;
}

static int cmd_profile(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc < 2 || !strcmp(argv[1], "--help"))
		return smsr_fail(x, CLI_USAGE,
				 "usage: smsr profile new --iccid ICCID --imsi IMSI --k HEX --opc HEX [--out FILE] | "
				 "smsr profile show [--show-secrets] FILE");
	if (!strcmp(argv[1], "show"))
		return profile_show(x, argc, argv);
	if (!strcmp(argv[1], "new"))
		return profile_new(x, argc, argv);
	return smsr_fail(x, CLI_USAGE, "profile: unknown subcommand '%s' (new, show)", argv[1]);
}

static int cmd_pki(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc != 3 || strcmp(argv[1], "init"))
		return smsr_fail(x, CLI_USAGE, "usage: smsr pki init DIR");
	bench_pki pki;
	char why[1200];
	if (pki_load_or_create(argv[2], &pki, why, sizeof(why)))
		return smsr_fail(x, 1, "pki: %s", why);
	pki_free(&pki);
	if (x->json)
		smsr_emit(x, json_pack("{s:s}", "pki", argv[2]));
	else
		printf("test PKI ready in %s (CI, EUM, SM-DP, SM-SR)\n", argv[2]);
	return 0;
}

static int cmd_register(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (smsr_open_store(x))
		return 1;
	if (argc != 2)
		return smsr_fail(x, CLI_USAGE, "usage: smsr register EIS.json");
	json_error_t je;
	struct stat sb;
	if (stat(argv[1], &sb) != 0)
		return smsr_fail(x, 1, "%s: %s", argv[1], strerror(errno));
	if (sb.st_size > SMSR_EIS_MAX)
		return smsr_fail(x, 1, "%s is larger than an EIS can be (%lld bytes, at most %d)", argv[1],
				 (long long)sb.st_size, SMSR_EIS_MAX);
	/* jansson keeps the last of two equal keys: an EIS that says two things is refused */
	json_t *eis = json_load_file(argv[1], JSON_REJECT_DUPLICATES, &je);
	if (!eis)
		return smsr_fail(x, 1, "%s: %s (line %d)", argv[1], je.text, je.line);
	char e[33], why[600];
	int rc = store_register(x->st, eis, e, why, sizeof(why));
	json_decref(eis);
	if (rc)
		return smsr_fail(x, 1, "register %s: %s", argv[1], why);
	store_log(x->st, "register", e, "ok");
	if (x->json)
		smsr_emit(x, json_pack("{s:s}", "eid", e));
	else
		printf("registered eUICC %s\n", e);
	return 0;
}

static int cmd_list(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	(void)argc;
	(void)argv;
	if (smsr_open_store(x))
		return 1;
	json_t *l = store_list(x->st);
	if (x->json) {
		smsr_emit(x, json_pack("{s:o}", "euiccs", l));
	} else {
		size_t i;
		json_t *e;
		if (!json_array_size(l))
			printf("no eUICC registered\n");
		json_array_foreach(l, i, e)
		{
			snprintf(x->eid, sizeof(x->eid), "%s", json_string_value(json_object_get(e, "eid")));
			smsr_print_table(x, json_object_get(e, "isdps"));
		}
		json_decref(l);
	}
	return 0;
}

static int cmd_notifications(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	(void)a;
	if (smsr_open_store(x))
		return 1;
	char e[33], why[600];
	if (store_resolve_eid(x->st, eid, e, why, sizeof(why)))
		return smsr_fail(x, 1, "%s", why);
	json_t *n = store_notifs(x->st, e);
	if (x->json) {
		smsr_emit(x, json_pack("{s:s,s:o}", "eid", e, "notifications", n));
	} else {
		size_t i;
		json_t *o;
		printf("eUICC %s: %zu notifications\n", e, json_array_size(n));
		json_array_foreach(n, i, o) printf(
			"  seq %-4lld %-36s %s  received %s  %s\n", json_integer_value(json_object_get(o, "seq")),
			smsr_notif_name((unsigned)json_integer_value(json_object_get(o, "type"))),
			json_string_value(json_object_get(o, "aid")), json_string_value(json_object_get(o, "received")),
			json_is_string(json_object_get(o, "confirmed")) ? "confirmed" : "not confirmed");
		json_decref(n);
	}
	return 0;
}

static int cmd_audit(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	const char *cmd = argv[0];
	if (argc > a)
		return smsr_fail(x, CLI_USAGE, "%s: unexpected argument '%s'", cmd, argv[a]);
	int rc = smsr_connect(x, eid);
	if (rc || (rc = smsr_audit(x)))
		return rc;
	store_log(x->st, "audit", x->eid, "ok");
	if (x->json)
		smsr_emit(x, json_pack("{s:s,s:o}", "eid", x->eid, "isdps", smsr_isdps_json(x)));
	else
		smsr_print_isdps(x);
	return 0;
}

static int cmd_download_(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc != a + 1)
		return smsr_fail(x, CLI_USAGE, "usage: smsr download [EID] PACKAGE.der");
	return cmd_download(x, eid, argv[a]);
}

static int cmd_target_(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc != a + 1)
		return smsr_fail(x, CLI_USAGE, "usage: smsr %s [EID] AID|ICCID", argv[0]);
	return cmd_target(x, argv[0], eid, argv[a], 0);
}

static int cmd_pol1(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	char *end;
	long bits = argc == a + 2 ? strtol(argv[a + 1], &end, 16) : -1;
	if (argc != a + 2 || *end || bits < 0 || bits > 7)
		return smsr_fail(x, CLI_USAGE, "usage: smsr set-pol1 [EID] AID|ICCID BITS (hex 00..07)");
	return cmd_target(x, argv[0], eid, argv[a], (int)bits);
}

static int cmd_connectivity(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc != a + 1)
		return smsr_fail(x, CLI_USAGE, "usage: smsr update-connectivity [EID] SMSC_DIGITS");
	const char *d = argv[a];
	size_t nd = strlen(d);
	if (!nd || nd > 20 || strspn(d, "0123456789") != nd)
		return smsr_fail(x, CLI_USAGE, "update-connectivity: SMSC '%s' is not 1 to 20 digits", d);
	int rc = smsr_connect(x, eid);
	if (rc)
		return rc;
	/* STORE DATA 3A07 { A0 { 06 L <TON/NPI 91> <BCD digits> } } */
	char bcd[24] = "", hex[160];
	for (size_t i = 0; i < nd; i += 2)
		snprintf(bcd + strlen(bcd), sizeof(bcd) - strlen(bcd), "%c%c", i + 1 < nd ? d[i + 1] : 'f', d[i]);
	size_t l6 = 1 + (nd + 1) / 2;
	snprintf(hex, sizeof(hex), "80E28800%02zx3A07%02zxA0%02zx06%02zx91%s", l6 + 7, l6 + 4, l6 + 2, l6, bcd);
	uint16_t sw = smsr_es5(x, hex, NULL);
	store_log(x->st, "update-connectivity", x->eid, sw == 0x9000 ? "ok" : "refused");
	if (sw != 0x9000)
		return smsr_fail(x, 1, "update-connectivity: %s",
				 sw ? "the card refused it (is a profile enabled?)" : x->msg);
	if (x->json)
		smsr_emit(x, json_pack("{s:s,s:s}", "eid", x->eid, "smsc", d));
	else
		printf("connectivity parameters updated: SMSC %s\n", d);
	return 0;
}

static int cmd_loss(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc > a)
		return smsr_fail(x, CLI_USAGE, "connectivity-loss: unexpected argument '%s'", argv[a]);
	return cmd_connectivity_loss(x, eid);
}

static int cmd_shell(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc > 1)
		return smsr_fail(x, CLI_USAGE, "shell: unexpected argument '%s'", argv[1]);
	return smsr_shell(x, smsr_table);
}

static int cmd_help(void *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	smsr_usage(stdout);
	return 0;
}

const cli_command smsr_table[] = {
	{ "register", "EIS.json", "import an eUICC (EID, certificates, OTA keysets)", cmd_register },
	{ "list", "", "registered eUICCs and their ISD-Ps as the store knows them", cmd_list },
	{ "audit", "[EID]", "read the ISD-Ps from the card and settle the store", cmd_audit },
	{ "status", "[EID]", "the card's profile table (audit, printed as a table)", cmd_audit },
	{ "download", "[EID] PACKAGE.der", "CreateISDP, key establishment (SM-DP), SCP03t download", cmd_download_ },
	{ "enable", "[EID] TARGET", "enable a profile (REFRESH, notification, confirmation follow)", cmd_target_ },
	{ "disable", "[EID] TARGET", "disable a profile; the fall-back profile takes over", cmd_target_ },
	{ "delete", "[EID] TARGET", "delete a disabled profile", cmd_target_ },
	{ "set-fallback", "[EID] TARGET", "make a profile the fall-back profile", cmd_target_ },
	{ "set-emergency", "[EID] TARGET", "make a profile the emergency profile", cmd_target_ },
	{ "set-pol1", "[EID] TARGET BITS",
	  "POL1 of a profile (bench extension): 01 no disable, 02 no delete, 04 delete when disabled", cmd_pol1 },
	{ "update-connectivity", "[EID] SMSC", "UpdateConnectivityParameters: the SMS centre of the enabled profile",
	  cmd_connectivity },
	{ "connectivity-loss", "[EID]", "report 'no service' until the card falls back", cmd_loss },
	{ "notifications", "[EID]", "notifications received and confirmed", cmd_notifications },
	{ "pki", "init DIR", "create the test PKI (CI, EUM, SM-DP, SM-SR) in DIR", cmd_pki },
	{ "profile", "new|show ...", "make or inspect a SAIP package (smsr profile --help)", cmd_profile },
	{ "shell", "", "interactive: history, completion, `trace on|off`, `help`", cmd_shell },
	{ "help", "", "this text", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

void smsr_usage(FILE *f)
{
	fputs("usage: smsr [--db FILE] [--reader NAME|N | --inproc STATE_FILE] [--trace] [--json] COMMAND [ARGS]\n"
	      "\n"
	      "A minimal SM-SR (SGP.02) with the SM-DP role it needs: it drives eUICCs over the air (SCP80 in SMS-PP\n"
	      "ENVELOPEs, playing the modem too) through PC/SC or an in-process software card.\n"
	      "\n"
	      "commands (EID may be left out when one eUICC is registered; TARGET is an ISD-P AID or an ICCID):\n",
	      f);
	cli_list(f, smsr_table, 30);
	fputs("\n"
	      "  profile new --iccid ICCID --imsi IMSI --k HEX --opc HEX [--out FILE [--force]] [--name TEXT] [--spn "
	      "NAME]\n"
	      "              [--pin DIGITS] [--puk DIGITS] [--pin-enabled]\n"
	      "  profile show [--show-secrets] FILE\n"
	      "\n"
	      "The store is $XDG_DATA_HOME/euicc-bench/smsr.db (0600) unless --db. Keys are never printed.\n"
	      "Exit status: 0 ok, 1 the operation failed (the message says what and why), 2 bad arguments.\n",
	      f);
}
