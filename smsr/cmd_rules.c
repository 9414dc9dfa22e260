/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr event, smsr rules check|load|show|explain|run, smsr history (docs/rules.md). */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "rules.h"
#include "smsr.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

int smsr_parse_time(const char *s, long long *out)
{
	return cli_time(s, out);
}

static void iso(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- smsr event ---- */

static const char event_types[] = "location data-usage connectivity notification job audit-mismatch";

/* a field's value as typed: a whole number without a leading zero, or a size (600MB), becomes a number;
 * anything else (an MNC of "01") stays text */
static json_t *field_value(const char *v)
{
	size_t n = strlen(v), d = strspn(v, "0123456789");
	if (d == n && n && n <= 18 && (v[0] != '0' || n == 1))
		return json_integer(atoll(v));
	if (d && d < n && v[0] != '0') {
		static const struct {
			const char *u;
			long long f;
		} units[] = { { "kB", 1000LL },	 { "MB", 1000000LL },  { "GB", 1000000000LL },
			      { "KiB", 1024LL }, { "MiB", 1048576LL }, { "GiB", 1073741824LL } };
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && d <= 12; i++)
			if (!strcmp(v + d, units[i].u))
				return json_integer(atoll(v) * units[i].f);
	}
	return json_string(v);
}

/* one event from a JSON object {id?, eid, type, time?, fields?} (and any other key a field); *why on
 * a fault */
static int event_of(smsr_ctx *x, json_t *o, store_event *e, char eid[33], char *why, size_t why_len)
{
	if (rules_event_parse(o, e, store_now(), why, why_len))
		return -1;
	char inner[400];
	if (store_resolve_eid(x->c.st, e->eid, eid, inner, sizeof(inner))) {
		snprintf(why, why_len, "field 'eid': %s", inner);
		json_decref(e->fields);
		e->fields = NULL;
		return -1;
	}
	e->eid = eid;
	return 0;
}

/* one pass over an events file: checked (store false) or stored; *n the line of a fault */
static int events_pass(smsr_ctx *x, FILE *in, bool store, int *n, size_t *stored, size_t *dup, char *why,
		       size_t why_len)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = 0;
	*n = 0;
	while (!rc && (len = getline(&line, &cap, in)) >= 0) {
		(*n)++;
		if (strspn(line, " \t\r\n") == (size_t)len)
			continue;
		json_error_t err;
		json_t *o = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &err);
		store_event e;
		char eid[33];
		if (!o) {
			snprintf(why, why_len, "not JSON (%s)", err.text);
			rc = -1;
		} else if (event_of(x, o, &e, eid, why, why_len)) {
			rc = -1;
		} else {
			e.source = "file";
			int r = store ? store_event_add(x->c.st, &e, NULL, why, why_len) : 1;
			rc = r < 0 ? -1 : 0;
			*stored += r == 1;
			*dup += r == 0;
			json_decref(e.fields);
		}
		json_decref(o);
	}
	free(line);
	if (!rc && ferror(in)) {
		snprintf(why, why_len, "cannot read the file");
		rc = -1;
	}
	return rc;
}

static int events_file(smsr_ctx *x, const char *path)
{
	FILE *in = fopen(path, "r");
	if (!in)
		return smsr_fail(x, 1, "event --file: cannot read %s", path);
	char why[600];
	int n = 0;
	size_t stored = 0, dup = 0;
	/* every line checked first: a bad one is refused with its number and nothing is stored */
	int rc = events_pass(x, in, false, &n, &stored, &dup, why, sizeof(why));
	if (rc) {
		fclose(in);
		return smsr_fail(x, 1, "event --file: %s line %d: %s", path, n, why);
	}
	stored = dup = 0;
	rewind(in);
	if (store_begin(x->c.st)) {
		fclose(in);
		return smsr_fail(x, 1, "event --file: the store is busy");
	}
	rc = events_pass(x, in, true, &n, &stored, &dup, why, sizeof(why));
	fclose(in);
	if (rc || store_commit(x->c.st)) {
		store_rollback(x->c.st);
		return smsr_fail(x, 1, "event --file: %s line %d: %s; nothing stored", path, n,
				 rc ? why : "the store refused the commit");
	}
	if (x->json)
		smsr_emit(x, json_pack("{s:I,s:I}", "stored", (json_int_t)stored, "duplicates", (json_int_t)dup));
	else
		printf("%zu events stored, %zu duplicates ignored\n", stored, dup);
	return 0;
}

int smsr_cmd_event(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: smsr event EID TYPE [K=V]... [--id ID] [--time T]\n"
		       "       smsr event --file EVENTS.jsonl\n"
		       "  TYPE: %s\n"
		       "  an event with the id of one stored before is a duplicate and changes nothing; without --id\n"
		       "  the id is derived from the content. T: seconds since 1970 or 2026-01-01T10:00:00Z\n",
		       event_types);
		return 0;
	}
	if (smsr_open_store(x))
		return 1;
	if (argc == 3 && !strcmp(argv[1], "--file"))
		return events_file(x, argv[2]);
	if (argc < 3)
		return smsr_fail(x, CLI_USAGE, "usage: smsr event EID TYPE [K=V]... [--id ID] [--time T] | --file F");
	json_t *o = json_pack("{s:s,s:s,s:{}}", "eid", argv[1], "type", argv[2], "fields");
	for (int i = 3; i < argc; i++) {
		if ((!strcmp(argv[i], "--id") || !strcmp(argv[i], "--time")) && i + 1 < argc) {
			json_object_set_new(o, argv[i] + 2, json_string(argv[i + 1]));
			i++;
			continue;
		}
		const char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i] || argv[i][0] == '-') {
			json_decref(o);
			return smsr_fail(x, CLI_USAGE, "event: '%s' is not K=V (or --id ID, --time T)", argv[i]);
		}
		char k[64];
		snprintf(k, sizeof(k), "%.*s", (int)(eq - argv[i]), argv[i]);
		json_object_set_new(json_object_get(o, "fields"), k, field_value(eq + 1));
	}
	store_event e;
	char eid[33], why[600];
	long long seq = 0;
	int r = event_of(x, o, &e, eid, why, sizeof(why));
	if (!r) {
		r = store_event_add(x->c.st, &e, &seq, why, sizeof(why));
		json_decref(e.fields);
	}
	json_decref(o);
	if (r < 0)
		return smsr_fail(x, 1, "event: %s", why);
	if (x->json)
		smsr_emit(x, json_pack("{s:b,s:I}", "stored", r == 1, "seq", (json_int_t)seq));
	else if (r == 1)
		printf("event %lld stored (%s of eUICC %s)\n", seq, argv[2], eid);
	else
		printf("a duplicate of an event stored before: nothing changed\n");
	return 0;
}

/* ---- smsr rules ---- */

static int load_rules_file(smsr_ctx *x, const char *path, abuf *text, ruleset *rs, const char *what)
{
	char why[700];
	if (smsr_read_file(path, text, why, sizeof(why)))
		return smsr_fail(x, 1, "rules %s: %s", what, why);
	if (rules_parse((const char *)text->p, text->len, rs, why, sizeof(why)))
		return smsr_fail(x, 1, "rules %s: %s: %s", what, path, why);
	return 0;
}

static int rules_check(smsr_ctx *x, const char *path, bool load)
{
	abuf text = ABUF_INIT;
	ruleset rs;
	if (load_rules_file(x, path, &text, &rs, load ? "load" : "check")) {
		abuf_free(&text);
		return 1;
	}
	long long version = 0;
	if (load) {
		abuf_put_u8(&text, 0);
		const char *base = strrchr(path, '/');
		if (smsr_open_store(x) ||
		    (version = store_ruleset_put(x->c.st, base ? base + 1 : path, (const char *)text.p)) < 0) {
			rules_free(&rs);
			abuf_free(&text);
			return x->msg[0] ? 1 : smsr_fail(x, 1, "rules load: the store cannot keep the rules");
		}
	}
	if (x->json) {
		json_t *o = json_pack("{s:b,s:o}", "ok", 1, "rules", rules_json(&rs));
		if (load)
			json_object_set_new(o, "version", json_integer(version));
		smsr_emit(x, o);
	} else if (load) {
		printf("%s: %zu rules, loaded as version %lld (smsr rules run applies them)\n", path, rs.n, version);
	} else {
		printf("%s: %zu rules, no fault found\n", path, rs.n);
	}
	rules_free(&rs);
	abuf_free(&text);
	return 0;
}

/* the latest rule set in the store, parsed */
static int current_rules(smsr_ctx *x, ruleset *rs, long long *version)
{
	json_t *r = store_ruleset(x->c.st);
	if (!r)
		return smsr_fail(x, 1, "no rules are loaded: smsr rules load FILE");
	const char *text = json_string_value(json_object_get(r, "text"));
	char why[700];
	*version = (long long)json_integer_value(json_object_get(r, "version"));
	int rc = rules_parse(text, strlen(text), rs, why, sizeof(why));
	json_decref(r);
	return rc ? smsr_fail(x, 1, "the stored rules (version %lld) do not parse: %s", *version, why) : 0;
}

static int rules_show(smsr_ctx *x)
{
	ruleset rs;
	long long v;
	if (smsr_open_store(x) || current_rules(x, &rs, &v))
		return 1;
	if (x->json) {
		smsr_emit(x, json_pack("{s:I,s:o}", "version", (json_int_t)v, "rules", rules_json(&rs)));
	} else {
		printf("rules version %lld: %zu rules\n", v, rs.n);
		for (size_t i = 0; i < rs.n; i++)
			printf("  %-24s %-14s priority %d\n", rs.v[i].name, rs.v[i].type, rs.v[i].priority);
	}
	rules_free(&rs);
	return 0;
}

static int rules_explain(smsr_ctx *x, const char *id)
{
	if (smsr_open_store(x))
		return 1;
	json_t *e = store_event_get(x->c.st, id);
	if (!e)
		return smsr_fail(x, 1, "rules explain: no event '%s' (smsr history EID lists them)", id);
	if (x->json) {
		smsr_emit(x, e);
		return 0;
	}
	char t[32];
	iso((long long)json_integer_value(json_object_get(e, "time")), t);
	char *f = json_dumps(json_object_get(e, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
	printf("event %s (#%lld): %s of eUICC %s at %s %s\n", json_string_value(json_object_get(e, "id")),
	       (long long)json_integer_value(json_object_get(e, "seq")), json_string_value(json_object_get(e, "type")),
	       json_string_value(json_object_get(e, "eid")), t, f ? f : "");
	free(f);
	json_t *xp = json_object_get(e, "explain");
	if (json_is_null(xp)) {
		printf("  not decided yet (smsr rules run decides it)\n");
	} else {
		if (json_object_get(xp, "note"))
			printf("  %s\n", json_string_value(json_object_get(xp, "note")));
		long long others = (long long)json_integer_value(json_object_get(xp, "other_types"));
		if (others)
			printf("  (%lld rule%s take%s other events)\n", others, others == 1 ? "" : "s",
			       others == 1 ? "s" : "");
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(xp, "rules"), i, r) printf(
			"  %-24s %-11s %s\n", json_string_value(json_object_get(r, "rule")),
			json_string_value(json_object_get(r, "outcome")), json_string_value(json_object_get(r, "why")));
		json_array_foreach(json_object_get(e, "decisions"), i, r)
		{
			char *jobs = json_dumps(json_object_get(r, "jobs"), JSON_COMPACT);
			printf("  decision %lld: %s %s, jobs %s\n",
			       (long long)json_integer_value(json_object_get(r, "id")),
			       json_string_value(json_object_get(r, "rule")),
			       json_string_value(json_object_get(r, "outcome")), jobs ? jobs : "[]");
			free(jobs);
		}
	}
	json_decref(e);
	return 0;
}

typedef struct {
	smsr_ctx *x;
	long long jobs, failed;
} run_view;

static void on_job(void *ctx, json_t *res)
{
	run_view *v = ctx;
	v->jobs++;
	const char *st = json_string_value(json_object_get(res, "state"));
	v->failed += st && strcmp(st, "done") && strcmp(st, "new");
	if (!v->x->json)
		fprintf(stderr, "  job %lld %s %s: %s%s%s\n",
			(long long)json_integer_value(json_object_get(res, "job")),
			json_string_value(json_object_get(res, "operation")),
			json_string_value(json_object_get(res, "eid")), st ? st : "?",
			json_object_get(res, "message") ? ", " : "",
			json_object_get(res, "message") ? json_string_value(json_object_get(res, "message")) : "");
}

/* the jobs that are due: the rules' own campaign and the campaigns that decisions made */
static int run_due(smsr_ctx *x, long long campaign, run_view *v)
{
	smsr_run_opts o = { .on_job = on_job, .ctx = v, .stop = &g_stop, .due_only = true };
	char why[700];
	json_t *ids = store_decided_campaigns(x->c.st), *id;
	json_array_insert_new(ids, 0, json_integer(campaign));
	size_t i;
	int rc = 0;
	json_array_foreach(ids, i, id)
	{
		if (g_stop)
			break;
		if (smsr_campaign_run(&x->c, (long long)json_integer_value(id), &o, why, sizeof(why))) {
			rc = smsr_fail(x, 1, "rules run: %s", why);
			break;
		}
	}
	json_decref(ids);
	return rc;
}

typedef struct {
	bool once, dry;
	long long validity;
	int conc, retries;
} run_args;

static int run_options(smsr_ctx *x, int argc, char **argv, run_args *a)
{
	*a = (run_args){ .validity = 86400, .conc = 2, .retries = 2 };
	long long n;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (!strcmp(o, "--once")) {
			a->once = true;
		} else if (!strcmp(o, "--dry-run")) {
			a->dry = true;
		} else if (!strcmp(o, "--concurrency") && v && (n = strtoll(v, &end, 10)) >= 1 && n <= 64 && !*end) {
			a->conc = (int)n;
			i++;
		} else if (!strcmp(o, "--retries") && v && (n = strtoll(v, &end, 10)) >= 0 && n <= 20 && !*end) {
			a->retries = (int)n;
			i++;
		} else if (!strcmp(o, "--validity") && v && (a->validity = rules_duration(v)) > 0) {
			i++;
		} else {
			return smsr_fail(
				x, CLI_USAGE,
				"rules run: '%s'%s: expected --once, --dry-run, --concurrency 1..64, --retries "
				"0..20, --validity DURATION",
				o, v && strncmp(v, "--", 2) ? " or its value" : "");
		}
	}
	return 0;
}

/* `rules load` while the engine runs: the new version decides from the next event on (a version that
 * no longer parses leaves the one in use) */
static void reload_rules(smsr_ctx *x, ruleset *rs, long long *version)
{
	json_t *cur = store_ruleset(x->c.st);
	long long latest = (long long)json_integer_value(json_object_get(cur, "version"));
	json_decref(cur);
	ruleset next;
	long long nv;
	if (latest == *version || current_rules(x, &next, &nv))
		return;
	rules_free(rs);
	*rs = next;
	*version = nv;
	if (!x->json)
		fprintf(stderr, "rules run: now deciding with rules version %lld (%zu rules)\n", nv, rs->n);
}

static int rules_run(smsr_ctx *x, int argc, char **argv)
{
	run_args ra;
	if (run_options(x, argc, argv, &ra))
		return CLI_USAGE;
	bool once = ra.once, dry = ra.dry;
	long long validity = ra.validity;
	int conc = ra.conc, retries = ra.retries;
	ruleset rs;
	long long version = 0;
	if (smsr_open_store(x))
		return 1;
	/* one engine per store: two would race for each event (the store would refuse the second's
	 * decision, but the user should hear why up front) */
	char lp[4200], def[1024];
	snprintf(lp, sizeof(lp), "%s.rules.lock", x->c.db_path ? x->c.db_path : store_default_path(def, sizeof(def)));
	int lock = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB)) {
		if (lock >= 0)
			close(lock);
		return smsr_fail(x, 1, "rules run: another process runs the rules engine on this store (%s is locked)",
				 lp);
	}
	if (current_rules(x, &rs, &version)) {
		close(lock);
		return 1;
	}
	long long campaign = store_rules_campaign(x->c.st, conc, retries, validity);
	if (campaign < 0) {
		rules_free(&rs);
		close(lock);
		return smsr_fail(x, 1, "rules run: the store cannot keep the rules' campaign");
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	rules_opts ro = { .dry_run = dry, .campaign = campaign, .validity = validity };
	bool progress = isatty(2) && !x->json;
	run_view v = { .x = x };
	long long decided = 0;
	int acted = 0, rc = 0;
	char why[700];
	while (!g_stop && !rc) {
		json_t *ev;
		reload_rules(x, &rs, &version);
		while (!g_stop && (ev = store_event_due(x->c.st, store_now())) != NULL) {
			if (rules_decide(&x->c, &rs, ev, &ro, &acted, why, sizeof(why)))
				rc = smsr_fail(x, 1, "rules run: %s", why);
			json_decref(ev);
			if (rc)
				break;
			decided++;
			if (progress && decided % 500 == 0)
				fprintf(stderr, "\r  %lld events decided, %d actions", decided, acted);
		}
		if (rc || g_stop)
			break;
		if (!dry && (rc = run_due(x, campaign, &v)) != 0)
			break;
		long long next = 0;
		if (store_events_waiting(x->c.st, store_now(), &next))
			continue; /* the jobs' outcomes are events too */
		if (once)
			break;
		sleep(1);
	}
	rules_free(&rs);
	if (rc)
		return rc;
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:I,s:I,s:i,s:I,s:I,s:b}", "version", (json_int_t)version, "decided",
				    (json_int_t)decided, "acted", acted, "jobs", (json_int_t)v.jobs, "failed",
				    (json_int_t)v.failed, "dry_run", dry));
	else
		printf("rules version %lld: %lld events decided, %d actions%s, %lld jobs run (%lld failed)%s\n",
		       version, decided, acted, dry ? " (dry run: none taken)" : "", v.jobs, v.failed,
		       g_stop ? "; stopped" : "");
	return 0;
}

int smsr_cmd_rules(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *sub = argc >= 2 ? argv[1] : "";
	if (!strcmp(sub, "--help") || !strcmp(sub, "-h") || !*sub) {
		printf("usage: smsr rules check FILE     the rules file's faults, each with its line and field\n"
		       "       smsr rules load FILE      check, then keep it in the store as the next version\n"
		       "       smsr rules show           the loaded rules\n"
		       "       smsr rules explain EVENT  which rules matched an event, which not and why, what was "
		       "done\n"
		       "       smsr rules run [--once] [--dry-run] [--concurrency N] [--retries K] [--validity D]\n"
		       "                                 decide events, run the jobs decided (until SIGTERM, or "
		       "--once:\n"
		       "                                 until nothing is due)\n"
		       "  the file format, with an example of each rule kind: docs/rules.md\n");
		return *sub ? 0 : CLI_USAGE;
	}
	if ((!strcmp(sub, "check") || !strcmp(sub, "load")) && argc == 3)
		return rules_check(x, argv[2], !strcmp(sub, "load"));
	if (!strcmp(sub, "show") && argc == 2)
		return rules_show(x);
	if (!strcmp(sub, "explain") && argc == 3)
		return rules_explain(x, argv[2]);
	if (!strcmp(sub, "run"))
		return rules_run(x, argc, argv);
	return smsr_fail(x, CLI_USAGE, "rules: '%s': expected check FILE, load FILE, show, explain EVENT or run", sub);
}

/* ---- smsr history EID ---- */

static long long iso_time(const char *s)
{
	long long t = 0;
	return s && !smsr_parse_time(s, &t) ? t : 0;
}

static void add(json_t *all, long long t, const char *kind, const char *text, json_t *obj)
{
	json_array_append_new(
		all, json_pack("{s:I,s:s,s:s,s:o}", "time", (json_int_t)t, "kind", kind, "text", text, "item", obj));
}

static int by_time(const void *a, const void *b)
{
	long long x = json_integer_value(json_object_get(*(json_t *const *)a, "time")),
		  y = json_integer_value(json_object_get(*(json_t *const *)b, "time"));
	return x < y ? -1 : x > y;
}

int smsr_cmd_history(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc != 2 || argv[1][0] == '-')
		return smsr_fail(x, CLI_USAGE,
				 "usage: smsr history EID  (events, rule decisions, jobs, notifications)");
	char eid[33], why[400], text[600];
	if (smsr_open_store(x))
		return 1;
	if (store_resolve_eid(x->c.st, argv[1], eid, why, sizeof(why)))
		return smsr_fail(x, 1, "history: %s", why);
	json_t *all = json_array(), *o;
	size_t i;
	json_t *l = store_events_of(x->c.st, eid, 0);
	json_array_foreach(l, i, o)
	{
		char *f = json_dumps(json_object_get(o, "fields"), JSON_COMPACT | JSON_SORT_KEYS);
		snprintf(text, sizeof(text), "event %s %s %s%s", json_string_value(json_object_get(o, "id")),
			 json_string_value(json_object_get(o, "type")), f ? f : "",
			 json_is_null(json_object_get(o, "decided")) ? " (not decided yet)" : "");
		free(f);
		json_object_del(o, "explain");
		add(all, (long long)json_integer_value(json_object_get(o, "time")), "event", text, json_incref(o));
	}
	json_decref(l);
	l = store_decisions_of(x->c.st, eid);
	json_array_foreach(l, i, o)
	{
		char *jobs = json_dumps(json_object_get(o, "jobs"), JSON_COMPACT);
		snprintf(text, sizeof(text), "rule %s: %s (%s), jobs %s", json_string_value(json_object_get(o, "rule")),
			 json_string_value(json_object_get(o, "outcome")),
			 json_string_value(json_object_get(o, "detail")), jobs ? jobs : "[]");
		free(jobs);
		add(all, (long long)json_integer_value(json_object_get(o, "time")), "decision", text, json_incref(o));
	}
	json_decref(l);
	l = store_jobs_of(x->c.st, 0, NULL, eid);
	json_array_foreach(l, i, o)
	{
		json_t *res = json_object_get(o, "result");
		const char *m = json_string_value(json_object_get(res, "message"));
		const char *who = json_string_value(json_object_get(o, "who"));
		snprintf(text, sizeof(text), "job %lld %s: %s%s%s%s%s",
			 (long long)json_integer_value(json_object_get(o, "id")),
			 json_string_value(json_object_get(o, "op")), json_string_value(json_object_get(o, "state")),
			 m ? ", " : "", m ? m : "", who ? " (by " : "", who ? who : "");
		if (who)
			strncat(text, ")", sizeof(text) - strlen(text) - 1);
		const char *when = json_string_value(json_object_get(o, "finished"));
		add(all, iso_time(when ? when : json_string_value(json_object_get(o, "created"))), "job", text,
		    json_incref(o));
	}
	json_decref(l);
	l = store_notifs(x->c.st, eid);
	json_array_foreach(l, i, o)
	{
		snprintf(text, sizeof(text), "notification %lld: %s, ISD-P %s%s",
			 (long long)json_integer_value(json_object_get(o, "seq")),
			 smsr_notif_name((unsigned)json_integer_value(json_object_get(o, "type"))),
			 json_string_value(json_object_get(o, "aid")),
			 json_is_null(json_object_get(o, "confirmed")) ? ", not confirmed" : "");
		add(all, iso_time(json_string_value(json_object_get(o, "received"))), "notification", text,
		    json_incref(o));
	}
	json_decref(l);
	/* stable order by time: events and decisions carry the engine's clock, jobs and notifications the
	 * wall clock at which they were recorded */
	size_t n = json_array_size(all);
	json_t **v = calloc(n ? n : 1, sizeof(*v));
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(all, i));
	if (n)
		qsort(v, n, sizeof(*v), by_time);
	json_array_clear(all);
	for (i = 0; i < n; i++)
		json_array_append_new(all, v[i]);
	free(v);
	if (x->json) {
		smsr_emit(x, json_pack("{s:s,s:o}", "eid", eid, "history", all));
		return 0;
	}
	printf("eUICC %s\n", eid);
	json_array_foreach(all, i, o)
	{
		char t[32];
		iso((long long)json_integer_value(json_object_get(o, "time")), t);
		printf("  %s  %s\n", t, json_string_value(json_object_get(o, "text")));
	}
	json_decref(all);
	return 0;
}
