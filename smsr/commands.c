/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The smsr commands on one eUICC and the table of all commands: each parses its arguments, runs one
 * function of the SM-SR core and presents its result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/pki.h"
#include "serve.h"
#include "smsr.h"

static int cmd_download(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	const char *iccid = smsr_opt(argc, argv, "--iccid"), *pool = smsr_opt(argc, argv, "--pool");
	smsr_result r;
	int rc;
	if (iccid || pool) {
		if (argc != a + 2 || (iccid && pool))
			return smsr_fail(x, CLI_USAGE,
					 "usage: smsr download [EID] PACKAGE.der | --iccid ICCID | --pool P");
		if (smsr_open_store(x))
			return 1;
		rc = smsr_download_from_inventory(smsr_core_of(x), eid, iccid, pool, 0, &r);
	} else {
		if (argc != a + 1)
			return smsr_fail(x, CLI_USAGE,
					 "usage: smsr download [EID] PACKAGE.der | --iccid ICCID | --pool P");
		char why[1200];
		abuf pkg = ABUF_INIT;
		if (smsr_read_file(argv[a], &pkg, why, sizeof(why))) {
			abuf_free(&pkg);
			return smsr_fail(x, 1, "%s", why);
		}
		if (!x->json)
			printf("download %s (%zu bytes)\n", argv[a], pkg.len);
		rc = smsr_download_profile(smsr_core_of(x), eid, pkg.p, pkg.len, &r);
		abuf_free(&pkg);
		if (rc && r.kind == SMSR_BAD_INPUT) {
			char m[sizeof(r.msg)];
			snprintf(m, sizeof(m), "%.200s: %.800s", argv[a], r.msg);
			memcpy(r.msg, m, sizeof(m));
		}
	}
	rc = smsr_report(x, &r, rc, NULL);
	if (!rc && !x->json)
		printf("installed: ISD-P %s, ICCID %s on eUICC %s (%.0f ms, %u APDUs)\n", r.aid, r.iccid, r.eid, r.ms,
		       r.apdus);
	smsr_result_free(&r);
	return rc;
}

/* enable / disable / delete / set-fallback / set-emergency / set-pol1 */
static int cmd_target(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid, *what = argv[0];
	int a = smsr_take_eid(argc, argv, &eid);
	bool pol1 = !strcmp(what, "set-pol1");
	char *end = NULL;
	long bits = pol1 && argc == a + 2 ? strtol(argv[a + 1], &end, 16) : 0;
	if (pol1 && (argc != a + 2 || *end || bits < 0 || bits > 7))
		return smsr_fail(x, CLI_USAGE, "usage: smsr set-pol1 [EID] AID|ICCID BITS (hex 00..07)");
	if (!pol1 && argc != a + 1)
		return smsr_fail(x, CLI_USAGE, "usage: smsr %s [EID] AID|ICCID", what);
	smsr_result r;
	int rc = smsr_profile_op(smsr_core_of(x), what, eid, argv[a], (int)bits, &r);
	rc = smsr_report(x, &r, rc, NULL);
	if (!rc && !x->json) {
		printf("%s %s: done\n", what, r.iccid[0] ? r.iccid : r.aid);
		smsr_print_table(x, r.eid, r.isdps);
	}
	smsr_result_free(&r);
	return rc;
}

static int cmd_connectivity(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc != a + 1)
		return smsr_fail(x, CLI_USAGE, "usage: smsr update-connectivity [EID] SMSC_DIGITS");
	smsr_result r;
	int rc = smsr_update_connectivity_parameters(smsr_core_of(x), eid, argv[a], &r);
	rc = smsr_report(x, &r, rc, json_pack("{s:s}", "smsc", argv[a]));
	if (!rc && !x->json)
		printf("connectivity parameters updated: SMSC %s\n", argv[a]);
	smsr_result_free(&r);
	return rc;
}

static int cmd_loss(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc > a)
		return smsr_fail(x, CLI_USAGE, "connectivity-loss: unexpected argument '%s'", argv[a]);
	smsr_result r;
	int rc = smsr_connectivity_loss(smsr_core_of(x), eid, &r);
	rc = smsr_report(x, &r, rc, json_pack("{s:b}", "fallback", 1));
	if (!rc && !x->json)
		smsr_print_table(x, r.eid, r.isdps);
	smsr_result_free(&r);
	return rc;
}

static int cmd_audit(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc > a)
		return smsr_fail(x, CLI_USAGE, "%s: unexpected argument '%s'", argv[0], argv[a]);
	smsr_result r;
	int rc = smsr_audit_eis(smsr_core_of(x), eid, &r);
	rc = smsr_report(x, &r, rc, NULL);
	if (!rc && !x->json)
		smsr_print_table(x, r.eid, r.isdps);
	smsr_result_free(&r);
	return rc;
}

static int cmd_notifications(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *eid;
	int a = smsr_take_eid(argc, argv, &eid);
	if (argc > a)
		return smsr_fail(x, CLI_USAGE, "notifications: unexpected argument '%s'", argv[a]);
	if (smsr_open_store(x))
		return 1;
	char e[33], why[600];
	if (store_resolve_eid(x->c.st, eid, e, why, sizeof(why)))
		return smsr_fail(x, 1, "%s", why);
	json_t *n = store_notifs(x->c.st, e);
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
	{ "register", "EIS.json [--endpoint URI] [--tag K=V]...",
	  "import an eUICC (EID, certificates, OTA keysets) at its endpoint", smsr_cmd_register },
	{ "fleet", "import FILE.csv", "register many eUICCs (eis,endpoint,tags per line; all or none)",
	  smsr_cmd_fleet },
	{ "list", "[--tag K=V]... [--state S] [--operator OP]",
	  "registered eUICCs and their ISD-Ps as the store knows them", smsr_cmd_list },
	{ "audit", "[EID]", "read the ISD-Ps from the card and settle the store", cmd_audit },
	{ "status", "[EID]", "the card's profile table (audit, printed as a table)", cmd_audit },
	{ "download", "[EID] PACKAGE.der | --iccid ICCID | --pool P",
	  "CreateISDP, key establishment (SM-DP), SCP03t download (a file or the SM-DP's inventory)", cmd_download },
	{ "enable", "[EID] TARGET", "enable a profile (REFRESH, notification, confirmation follow)", cmd_target },
	{ "disable", "[EID] TARGET", "disable a profile; the fall-back profile takes over", cmd_target },
	{ "delete", "[EID] TARGET", "delete a disabled profile", cmd_target },
	{ "set-fallback", "[EID] TARGET", "make a profile the fall-back profile", cmd_target },
	{ "set-emergency", "[EID] TARGET", "make a profile the emergency profile", cmd_target },
	{ "set-pol1", "[EID] TARGET BITS",
	  "POL1 of a profile (bench extension): 01 no disable, 02 no delete, 04 delete when disabled", cmd_target },
	{ "update-connectivity", "[EID] SMSC", "UpdateConnectivityParameters: the SMS centre of the enabled profile",
	  cmd_connectivity },
	{ "connectivity-loss", "[EID]", "report 'no service' until the card falls back", cmd_loss },
	{ "notifications", "[EID]", "notifications received and confirmed", cmd_notifications },
	{ "smdp", "add|generate|list ...", "the SM-DP's profile inventory, encrypted at rest (smsr smdp --help)",
	  smsr_cmd_smdp },
	{ "campaign", "create|run|status|pause|resume|cancel|report ...",
	  "one operation over many eUICCs (smsr campaign --help)", smsr_cmd_campaign },
	{ "jobs", "[--campaign ID] [--state S] [--eid EID]", "jobs (one operation on one eUICC) and their outcomes",
	  smsr_cmd_jobs },
	{ "event", "EID TYPE [K=V]... | --file EVENTS.jsonl",
	  "an event for the rules engine (location, data-usage, connectivity, ...)", smsr_cmd_event },
	{ "rules", "check|load|show|explain|run ...", "the rules engine (smsr rules --help, docs/rules.md)",
	  smsr_cmd_rules },
	{ "history", "EID", "an eUICC's events, rule decisions, jobs and notifications in time order",
	  smsr_cmd_history },
	{ "serve", "[--listen HOST:PORT] [--tls-cert F --tls-key F] [--webhook URL]...",
	  "the API, the portal, the live feed, job workers and rules engine in one process (docs/api.md)",
	  smsr_cmd_serve },
	{ "token", "create --role operator|viewer [--name N] | list | revoke NAME",
	  "the API's bearer tokens (shown once, stored hashed)", smsr_cmd_token },
	{ "diagram", "IN.mmd... --out OUT.mmd|OUT.svg",
	  "join sequence diagrams that --diagram wrote, as Mermaid or SVG", smsr_cmd_diagram },
	{ "pki", "init DIR", "create the test PKI (CI, EUM, SM-DP, SM-SR) in DIR", cmd_pki },
	{ "profile", "new|show ...", "make or inspect a SAIP package (smsr profile --help)", smsr_cmd_profile },
	{ "shell", "", "interactive: history, completion, `trace on|off`, `help`", cmd_shell },
	{ "help", "", "this text", cmd_help },
	{ NULL, NULL, NULL, NULL },
};

void smsr_usage(FILE *f)
{
	fputs("usage: smsr [--db FILE] [--reader NAME|N | --inproc STATE_FILE] [--kek FILE] [--pki DIR] [--now TIME] "
	      "[--trace] [--json]\n"
	      "            [--pcap FILE [--pcap-plaintext]] [--gsmtap HOST[:PORT]] [--diagram FILE.mmd|FILE.svg]\n"
	      "            COMMAND [ARGS]\n"
	      "\n"
	      "An SM-SR (SGP.02) with the SM-DP role it needs: it drives a fleet of eUICCs over the air (SCP80 in\n"
	      "SMS-PP ENVELOPEs, playing the modem too), each at its endpoint: pcsc:READER, inproc:STATE_FILE or\n"
	      "farm:DIR#INDEX (euicc-sim farm). --reader / --inproc override the endpoint for one command.\n"
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
	      "The store is $XDG_DATA_HOME/euicc-bench/smsr.db (0600) unless --db; the SM-DP inventory's "
	      "key-encryption\n"
	      "key is smdp.kek beside it (made 0600 on first use) unless --kek. Keys are never printed.\n"
	      "--now TIME (seconds since 1970 or 2026-01-01T10:00:00Z) starts the clock of events, jobs and rules\n"
	      "there (a scenario's virtual time; docs/rules.md).\n"
	      "--pcap FILE writes every APDU exchanged with the cards as GSMTAP (Wireshark reads it with no option),\n"
	      "--gsmtap HOST[:PORT] sends them live over UDP (port 4729); --pcap-plaintext adds what each secured\n"
	      "packet carried in clear as pcapng comments (never a key); --diagram FILE draws the operation as a\n"
	      "sequence diagram (Mermaid or SVG). docs/capture.md.\n"
	      "Exit status: 0 ok, 1 the operation failed (the message says what and why), 2 bad arguments.\n",
	      f);
}
