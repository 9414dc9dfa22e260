/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr campaign create|run|status|pause|resume|cancel|report and smsr jobs. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "campaign.h"
#include "smsr.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static int parse_duration(const char *s, long long *out)
{
	char *end;
	double v = strtod(s, &end);
	double mul = !strcmp(end, "") || !strcmp(end, "s") ? 1
		: !strcmp(end, "m")			   ? 60
		: !strcmp(end, "h")			   ? 3600
		: !strcmp(end, "d")			   ? 86400
							   : -1;
	if (end == s || mul < 0 || v <= 0 || v * mul > 3650.0 * 86400)
		return -1;
	*out = (long long)(v * mul);
	return 0;
}

static const char create_usage[] =
	"usage: smsr campaign create --op OP [--pool P] [--iccid ICCID] [--profile TARGET] [--old fallback|delete]\n"
	"         [--smsc DIGITS] [--pol1 BITS] --target all|tag:K=V|eids:EID,...|csv:FILE|operator:NAME\n"
	"         [--concurrency N] [--rate R/s] [--validity 24h] [--retries K] [--max-failures PCT] [--dry-run]\n"
	"  OP: swap (--pool, --old), download (--pool or --iccid), enable, disable, delete, set-fallback,\n"
	"      set-emergency (--profile ICCID|AID|enabled|pool:P|operator:NAME), set-pol1 (--profile, --pol1),\n"
	"      update-connectivity (--smsc), audit";

/* the arguments an operation needs, each checked (exit 2 naming the option) */
static int check_op_args(smsr_ctx *x, const store_campaign_spec *cs, const char *pool, const char *iccid,
			 const char *profile, const char *old, const char *smsc, const char *pol1, long *pol1_out)
{
	store_campaign_spec c = *cs;
	bool targeted = !strcmp(c.op, "enable") || !strcmp(c.op, "disable") || !strcmp(c.op, "delete") ||
		!strcmp(c.op, "set-fallback") || !strcmp(c.op, "set-emergency") || !strcmp(c.op, "set-pol1");
	if (targeted && !profile)
		return smsr_fail(x, CLI_USAGE,
				 "campaign create: --op %s needs --profile ICCID|AID|enabled|pool:P|operator:NAME",
				 c.op);
	if ((!strcmp(c.op, "swap") && !pool) || (!strcmp(c.op, "download") && !pool == !iccid))
		return smsr_fail(x, CLI_USAGE, "campaign create: --op %s needs --pool%s", c.op,
				 !strcmp(c.op, "download") ? " or --iccid (one of them)" : "");
	if (old && strcmp(old, "fallback") && strcmp(old, "delete"))
		return smsr_fail(x, CLI_USAGE, "campaign create: --old '%s': fallback or delete", old);
	if (!strcmp(c.op, "update-connectivity") && !smsc)
		return smsr_fail(x, CLI_USAGE, "campaign create: --op update-connectivity needs --smsc DIGITS");
	if (!strcmp(c.op, "set-pol1")) {
		char *end;
		*pol1_out = pol1 ? strtol(pol1, &end, 16) : -1;
		if (!pol1 || *end || *pol1_out < 0 || *pol1_out > 7)
			return smsr_fail(x, CLI_USAGE, "campaign create: --op set-pol1 needs --pol1 BITS (hex 00..07)");
	}
	return 0;
}

/* --concurrency, --rate, --validity, --retries, --max-failures: -1 not one of them, 0 taken, else the
 * exit status of the refusal */
static int take_limit(smsr_ctx *x, const char *o, const char *v, store_campaign_spec *cp)
{
	store_campaign_spec c = *cp;
	char *end = NULL;
	if (!strcmp(o, "--concurrency")) {
		c.concurrency = (int)strtol(v, &end, 10);
		if (*end || c.concurrency < 1 || c.concurrency > 64)
			return smsr_fail(x, CLI_USAGE, "campaign create: --concurrency '%s' is not 1 to 64", v);
	} else if (!strcmp(o, "--rate")) {
		c.rate = strtod(v, &end);
		if (end == v || (*end && strcmp(end, "/s")) || c.rate <= 0)
			return smsr_fail(x, CLI_USAGE, "campaign create: --rate '%s' is not a rate (e.g. 20/s)", v);
	} else if (!strcmp(o, "--validity")) {
		if (parse_duration(v, &c.validity))
			return smsr_fail(x, CLI_USAGE,
					 "campaign create: --validity '%s' is not a duration (90s, 30m, 24h, 7d)", v);
	} else if (!strcmp(o, "--retries")) {
		c.retries = (int)strtol(v, &end, 10);
		if (*end || c.retries < 0 || c.retries > 20)
			return smsr_fail(x, CLI_USAGE, "campaign create: --retries '%s' is not 0 to 20", v);
	} else if (!strcmp(o, "--max-failures")) {
		c.max_failures = strtod(v, &end);
		if (end == v || (*end && strcmp(end, "%")) || c.max_failures < 0 || c.max_failures > 100)
			return smsr_fail(x, CLI_USAGE, "campaign create: --max-failures '%s' is not 0 to 100 (percent)",
					 v);
	} else
		return -1;
	*cp = c;
	return 0;
}

static void preview(smsr_ctx *x, const store_campaign_spec *cp, json_t *eids)
{
	const store_campaign_spec c = *cp;
	if (x->json) {
		smsr_emit(x,
			  json_pack("{s:b,s:s,s:O,s:s,s:I,s:O}", "dry_run", 1, "op", c.op, "args", c.args, "target",
				    c.target, "jobs", (json_int_t)json_array_size(eids), "eids", eids));
	} else {
		printf("dry run: %s over %zu eUICCs (%s); nothing stored, nothing sent\n", c.op, json_array_size(eids),
		       c.target);
		size_t i;
		json_t *e;
		json_array_foreach(eids, i, e) if (i < 10) printf("  %s\n", json_string_value(e));
		if (json_array_size(eids) > 10)
			printf("  ... and %zu more\n", json_array_size(eids) - 10);
	}
}

static int campaign_create(smsr_ctx *x, int argc, char **argv)
{
	store_campaign_spec c = { .concurrency = 1, .rate = 0, .validity = 86400, .retries = 3, .max_failures = 100 };
	const char *pool = NULL, *iccid = NULL, *profile = NULL, *old = NULL, *smsc = NULL, *pol1 = NULL;
	bool dry = false;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--dry-run")) {
			dry = true;
			continue;
		}
		if (!v)
			return smsr_fail(x, CLI_USAGE, "campaign create: option %s needs a value\n%s", o, create_usage);
		int lim;
		if (!strcmp(o, "--op"))
			c.op = v;
		else if (!strcmp(o, "--target"))
			c.target = v;
		else if (!strcmp(o, "--pool"))
			pool = v;
		else if (!strcmp(o, "--iccid"))
			iccid = v;
		else if (!strcmp(o, "--profile"))
			profile = v;
		else if (!strcmp(o, "--old"))
			old = v;
		else if (!strcmp(o, "--smsc"))
			smsc = v;
		else if (!strcmp(o, "--pol1"))
			pol1 = v;
		else if ((lim = take_limit(x, o, v, &c)) >= 0) {
			if (lim)
				return lim;
		} else
			return smsr_fail(x, CLI_USAGE, "campaign create: unknown option '%s'\n%s", o, create_usage);
		i++;
	}
	if (!c.op || !c.target)
		return smsr_fail(x, CLI_USAGE, "campaign create: --op and --target are required\n%s", create_usage);
	if (!smsr_job_op_known(c.op))
		return smsr_fail(x, CLI_USAGE, "campaign create: --op '%s' is not an operation\n%s", c.op,
				 create_usage);
	long p1 = 0;
	int rc0 = check_op_args(x, &c, pool, iccid, profile, old, smsc, pol1, &p1);
	if (rc0)
		return rc0;
	if (smsr_open_store(x))
		return 1;
	char why[1200];
	json_t *eids = smsr_campaign_targets(x->c.st, c.target, why, sizeof(why));
	if (!eids)
		return smsr_fail(x, 1, "campaign create: %s", why);
	if (!json_array_size(eids)) {
		json_decref(eids);
		return smsr_fail(x, 1, "campaign create: --target %s names no registered eUICC", c.target);
	}
	c.args = json_object();
	if (pool)
		json_object_set_new(c.args, "pool", json_string(pool));
	if (iccid)
		json_object_set_new(c.args, "iccid", json_string(iccid));
	if (profile)
		json_object_set_new(c.args, "target", json_string(profile));
	if (!strcmp(c.op, "swap"))
		json_object_set_new(c.args, "old", json_string(old ? old : "fallback"));
	if (smsc)
		json_object_set_new(c.args, "smsc", json_string(smsc));
	if (!strcmp(c.op, "set-pol1"))
		json_object_set_new(c.args, "pol1", json_integer(p1));
	if (pool && (!strcmp(c.op, "swap") || !strcmp(c.op, "download"))) {
		json_t *avail = store_smdp_list(x->c.st, pool, "available");
		size_t n = json_array_size(avail);
		json_decref(avail);
		if (n < json_array_size(eids)) {
			size_t want = json_array_size(eids);
			json_decref(eids);
			json_decref(c.args);
			return smsr_fail(x, 1, "campaign create: pool %s has %zu available profiles for %zu eUICCs%s",
					 pool, n, want, dry ? "" : "; nothing created");
		}
	}
	int rc = 0;
	if (dry) {
		preview(x, &c, eids);
	} else {
		long long id = store_campaign_create(x->c.st, &c, eids, why, sizeof(why));
		if (id < 0)
			rc = smsr_fail(x, 1, "campaign create: %s", why);
		else if (x->json)
			smsr_emit(x,
				  json_pack("{s:I,s:s,s:I}", "campaign", (json_int_t)id, "op", c.op, "jobs",
					    (json_int_t)json_array_size(eids)));
		else
			printf("campaign %lld: %s over %zu eUICCs; run it with `smsr campaign run %lld`\n", id, c.op,
			       json_array_size(eids), id);
	}
	json_decref(eids);
	json_decref(c.args);
	return rc;
}

typedef struct {
	smsr_ctx *x;
	bool tty;
} run_view;

static void on_job(void *ctx, json_t *res)
{
	run_view *v = ctx;
	if (v->x->json && !v->tty) {
		char *s = json_dumps(res, JSON_COMPACT);
		printf("%s\n", s);
		fflush(stdout);
		free(s);
	} else if (!v->tty && strcmp(json_string_value(json_object_get(res, "state")), "done")) {
		printf("job %lld %s %s: %s\n", (long long)json_integer_value(json_object_get(res, "job")),
		       json_string_value(json_object_get(res, "eid")), json_string_value(json_object_get(res, "state")),
		       json_is_string(json_object_get(res, "message"))
			       ? json_string_value(json_object_get(res, "message"))
			       : "");
	}
}

static void on_progress(void *ctx, json_t *n, double t)
{
	run_view *v = ctx;
	if (!v->tty)
		return;
	long long total = json_integer_value(json_object_get(n, "total")),
		  done = json_integer_value(json_object_get(n, "done")),
		  bad = json_integer_value(json_object_get(n, "failed")) +
		json_integer_value(json_object_get(n, "expired")) + json_integer_value(json_object_get(n, "cancelled"));
	long long fin = done + bad;
	double rate = t > 0 ? (double)fin / t : 0;
	int w = 30, fill = total ? (int)(fin * w / total) : w;
	fprintf(stderr, "\r  [%.*s%*s] %lld/%lld  done %lld  failed %lld  %.1f jobs/s  ETA %.0fs ", fill,
		"##############################", w - fill, "", fin, total, done, bad, rate,
		rate > 0 ? (double)(total - fin) / rate : 0.0);
}

static long long campaign_id(smsr_ctx *x, int argc, char **argv, const char *what)
{
	char *end;
	long long id = argc >= 3 ? strtoll(argv[2], &end, 10) : 0;
	if (argc < 3 || *end || id < 1) {
		smsr_fail(x, CLI_USAGE, "usage: smsr campaign %s ID", what);
		return -1;
	}
	return id;
}

static int campaign_run(smsr_ctx *x, int argc, char **argv)
{
	long long id = campaign_id(x, argc, argv, "run");
	if (id < 0)
		return CLI_USAGE;
	if (smsr_open_store(x))
		return 1;
	run_view v = { x, isatty(2) && !x->json };
	smsr_run_opts o = { .on_job = on_job, .on_progress = on_progress, .ctx = &v, .stop = &g_stop };
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	char why[1200];
	int rc = smsr_campaign_run(&x->c, id, &o, why, sizeof(why));
	if (v.tty)
		fputc('\n', stderr);
	if (rc)
		return smsr_fail(x, 1, "campaign run: %s", why);
	json_t *c = store_campaign(x->c.st, id);
	if (x->json) {
		json_object_set_new(c, "summary", json_true());
		if (why[0])
			json_object_set_new(c, "note", json_string(why));
		smsr_emit(x, c);
		return 0;
	}
	json_t *n = json_object_get(c, "jobs");
	printf("campaign %lld %s: %lld done, %lld failed, %lld expired, %lld cancelled, %lld left%s%s\n", id,
	       json_string_value(json_object_get(c, "state")), json_integer_value(json_object_get(n, "done")),
	       json_integer_value(json_object_get(n, "failed")), json_integer_value(json_object_get(n, "expired")),
	       json_integer_value(json_object_get(n, "cancelled")),
	       json_integer_value(json_object_get(n, "new")) + json_integer_value(json_object_get(n, "running")),
	       why[0] ? "; " : "", why);
	json_decref(c);
	return 0;
}

static int campaign_status(smsr_ctx *x, int argc, char **argv)
{
	long long id = campaign_id(x, argc, argv, argv[1]);
	if (id < 0)
		return CLI_USAGE;
	if (smsr_open_store(x))
		return 1;
	json_t *c = store_campaign(x->c.st, id);
	if (!c)
		return smsr_fail(x, 1, "campaign %s: no campaign %lld", argv[1], id);
	const char *st = json_string_value(json_object_get(c, "state"));
	const char *to = !strcmp(argv[1], "pause") ? "paused"
		: !strcmp(argv[1], "resume")	   ? "ready"
		: !strcmp(argv[1], "cancel")	   ? "cancelled"
						   : NULL;
	if (to) {
		bool final = !strcmp(st, "done") || !strcmp(st, "cancelled");
		if (final || (!strcmp(argv[1], "resume") && strcmp(st, "paused"))) {
			json_decref(c);
			return smsr_fail(x, 1, "campaign %s %lld: it is %s", argv[1], id, st);
		}
		if (store_campaign_set_state(x->c.st, id, to)) {
			json_decref(c);
			return smsr_fail(x, 1, "campaign %s %lld: the store is busy", argv[1], id);
		}
		json_decref(c);
		c = store_campaign(x->c.st, id);
	}
	if (x->json) {
		smsr_emit(x, c);
		return 0;
	}
	json_t *n = json_object_get(c, "jobs");
	printf("campaign %lld: %s over %s, %s\n  jobs %lld: new %lld, running %lld, done %lld, failed %lld, expired "
	       "%lld, cancelled %lld\n",
	       id, json_string_value(json_object_get(c, "op")), json_string_value(json_object_get(c, "target")),
	       json_string_value(json_object_get(c, "state")), json_integer_value(json_object_get(n, "total")),
	       json_integer_value(json_object_get(n, "new")), json_integer_value(json_object_get(n, "running")),
	       json_integer_value(json_object_get(n, "done")), json_integer_value(json_object_get(n, "failed")),
	       json_integer_value(json_object_get(n, "expired")), json_integer_value(json_object_get(n, "cancelled")));
	if (!strcmp(argv[1], "resume"))
		printf("  run it again with `smsr campaign run %lld`\n", id);
	json_decref(c);
	return 0;
}

static const char *msg_of(json_t *j)
{
	const char *m = json_string_value(json_object_get(json_object_get(j, "result"), "message"));
	return m ? m : "";
}

static int campaign_report(smsr_ctx *x, int argc, char **argv)
{
	long long id = campaign_id(x, argc, argv, "report");
	if (id < 0)
		return CLI_USAGE;
	const char *fmt = smsr_opt(argc, argv, "--format");
	fmt = fmt ? fmt : x->json ? "json" : "table";
	if (strcmp(fmt, "table") && strcmp(fmt, "csv") && strcmp(fmt, "json") && strcmp(fmt, "junit"))
		return smsr_fail(x, CLI_USAGE, "campaign report: --format '%s': table, csv, json or junit", fmt);
	if (smsr_open_store(x))
		return 1;
	json_t *c = store_campaign(x->c.st, id);
	if (!c)
		return smsr_fail(x, 1, "campaign report: no campaign %lld", id);
	json_t *jobs = store_jobs(x->c.st, id, NULL), *j;
	size_t i;
	if (!strcmp(fmt, "json")) {
		json_object_set_new(c, "job_list", jobs);
		smsr_emit(x, c);
		return 0;
	}
	if (!strcmp(fmt, "csv")) {
		printf("job,eid,op,state,attempts,iccid,kind,message\n");
		json_array_foreach(jobs, i, j)
		{
			json_t *r = json_object_get(j, "result");
			char m[1100];
			snprintf(m, sizeof(m), "%s", msg_of(j));
			for (char *p = m; *p; p++)
				if (*p == ',' || *p == '"' || *p == '\n')
					*p = ';';
			printf("%lld,%s,%s,%s,%lld,%s,%s,%s\n", (long long)json_integer_value(json_object_get(j, "id")),
			       json_string_value(json_object_get(j, "eid")),
			       json_string_value(json_object_get(j, "op")),
			       json_string_value(json_object_get(j, "state")),
			       json_integer_value(json_object_get(j, "attempts")),
			       json_is_string(json_object_get(r, "iccid"))
				       ? json_string_value(json_object_get(r, "iccid"))
				       : "",
			       json_is_string(json_object_get(r, "kind"))
				       ? json_string_value(json_object_get(r, "kind"))
				       : "",
			       m);
		}
	} else if (!strcmp(fmt, "junit")) {
		json_t *n = json_object_get(c, "jobs");
		printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuite name=\"campaign %lld %s\" "
		       "tests=\"%lld\" "
		       "failures=\"%lld\" errors=\"%lld\" skipped=\"%lld\">\n",
		       id, json_string_value(json_object_get(c, "op")), json_integer_value(json_object_get(n, "total")),
		       json_integer_value(json_object_get(n, "failed")),
		       json_integer_value(json_object_get(n, "expired")),
		       json_integer_value(json_object_get(n, "cancelled")) +
			       json_integer_value(json_object_get(n, "new")) +
			       json_integer_value(json_object_get(n, "running")));
		json_array_foreach(jobs, i, j)
		{
			const char *st = json_string_value(json_object_get(j, "state"));
			printf("  <testcase classname=\"%s\" name=\"%s\">", json_string_value(json_object_get(j, "op")),
			       json_string_value(json_object_get(j, "eid")));
			if (!strcmp(st, "failed") || !strcmp(st, "expired")) {
				printf("<%s message=\"", !strcmp(st, "failed") ? "failure" : "error");
				cli_xml_text(stdout, msg_of(j));
				printf("\"/>");
			} else if (strcmp(st, "done")) {
				printf("<skipped message=\"%s\"/>", st);
			}
			printf("</testcase>\n");
		}
		printf("</testsuite>\n");
	} else {
		printf("%-6s %-32s %-10s %-9s %-3s %-21s %s\n", "job", "eUICC", "op", "state", "try", "ICCID",
		       "message");
		json_array_foreach(jobs, i, j)
		{
			json_t *r = json_object_get(j, "result");
			printf("%-6lld %-32s %-10s %-9s %-3lld %-21s %s\n",
			       (long long)json_integer_value(json_object_get(j, "id")),
			       json_string_value(json_object_get(j, "eid")),
			       json_string_value(json_object_get(j, "op")),
			       json_string_value(json_object_get(j, "state")),
			       json_integer_value(json_object_get(j, "attempts")),
			       json_is_string(json_object_get(r, "iccid"))
				       ? json_string_value(json_object_get(r, "iccid"))
				       : "-",
			       msg_of(j));
		}
	}
	json_decref(jobs);
	json_decref(c);
	return 0;
}

int smsr_cmd_campaign(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *sub = argc >= 2 ? argv[1] : "";
	if (!strcmp(sub, "create"))
		return campaign_create(x, argc, argv);
	if (!strcmp(sub, "run"))
		return campaign_run(x, argc, argv);
	if (!strcmp(sub, "status") || !strcmp(sub, "pause") || !strcmp(sub, "resume") || !strcmp(sub, "cancel"))
		return campaign_status(x, argc, argv);
	if (!strcmp(sub, "report"))
		return campaign_report(x, argc, argv);
	return smsr_fail(
		x, CLI_USAGE,
		"usage: smsr campaign create ... | run ID | status ID | pause ID | resume ID | cancel ID | report "
		"ID [--format table|csv|json|junit]\n%s",
		create_usage);
}

int smsr_cmd_jobs(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *cs = smsr_opt(argc, argv, "--campaign"), *state = smsr_opt(argc, argv, "--state");
	char *end = NULL;
	long long campaign = cs ? strtoll(cs, &end, 10) : 0;
	if (cs && (*end || campaign < 1))
		return smsr_fail(x, CLI_USAGE, "jobs: --campaign '%s' is not a campaign id", cs);
	if (smsr_open_store(x))
		return 1;
	const char *eid = smsr_opt(argc, argv, "--eid");
	char e[33], why[400];
	if (eid && store_resolve_eid(x->c.st, eid, e, why, sizeof(why)))
		return smsr_fail(x, 1, "jobs: --eid: %s", why);
	json_t *l = store_jobs_of(x->c.st, campaign, state, eid ? e : NULL), *j;
	if (x->json) {
		smsr_emit(x, json_pack("{s:o}", "jobs", l));
		return 0;
	}
	size_t i;
	printf("%-6s %-8s %-32s %-12s %-9s %-16s %s\n", "job", "campaign", "eUICC", "op", "state", "rule", "message");
	json_array_foreach(l, i, j)
	{
		const char *rule = json_string_value(json_object_get(j, "rule"));
		printf("%-6lld %-8lld %-32s %-12s %-9s %-16s %s\n",
		       (long long)json_integer_value(json_object_get(j, "id")),
		       (long long)json_integer_value(json_object_get(j, "campaign")),
		       json_string_value(json_object_get(j, "eid")), json_string_value(json_object_get(j, "op")),
		       json_string_value(json_object_get(j, "state")), rule ? rule : "-", msg_of(j));
	}
	json_decref(l);
	return 0;
}
