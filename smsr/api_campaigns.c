/* SPDX-License-Identifier: GPL-2.0-or-later */
/* /campaigns: create (with a dry-run preview), list, one, pause, resume, cancel, report. A campaign the
 * API creates is ready: the server's scheduler runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "campaign.h"
#include "host/cli.h"

static void answer(api_response *r, int status, json_t *o)
{
	api_response_free(r);
	r->status = status;
	r->json = o;
}

static const char *const campaign_fields[] = { "op",	   "target",  "pool",	      "iccid",	     "profile",
					       "old",	   "smsc",    "pol1",	      "concurrency", "rate",
					       "validity", "retries", "max_failures", "dry_run",     NULL };

static const char *text_of(json_t *b, const char *k, api_response *r)
{
	json_t *v = json_object_get(b, k);
	if (v && (!json_is_string(v) || !json_string_length(v))) {
		api_error(r, 400, "bad_field", k, "'%s' must be a non-empty string", k);
		return NULL;
	}
	return json_string_value(v);
}

/* a number field in [lo, hi] (default def when absent); -1 with the answer */
static int number_of(json_t *b, const char *k, double lo, double hi, double def, double *out, api_response *r)
{
	json_t *v = json_object_get(b, k);
	*out = v ? json_number_value(v) : def;
	if (v && (!json_is_number(v) || *out < lo || *out > hi)) {
		api_error(r, 400, "bad_field", k, "'%s' must be a number from %g to %g", k, lo, hi);
		return -1;
	}
	return 0;
}

/* the body into spec and args; -1 with the answer */
static int campaign_spec(json_t *b, store_campaign_spec *c, json_t *args, api_response *r)
{
	const char *k;
	json_t *v;
	json_object_foreach(b, k, v)
	{
		bool known = false;
		for (size_t i = 0; campaign_fields[i]; i++)
			known |= !strcmp(k, campaign_fields[i]);
		if (!known) {
			api_error(r, 400, "unknown_field", k, "a campaign takes no field '%s'", k);
			return -1;
		}
	}
	c->op = text_of(b, "op", r);
	c->target = text_of(b, "target", r);
	const char *f[] = { "pool", "iccid", "profile", "old", "smsc" };
	const char *val[5];
	for (int i = 0; i < 5; i++)
		if (!(val[i] = text_of(b, f[i], r)) && r->json)
			return -1;
	if (r->json)
		return -1;
	if (!c->op || !smsr_job_op_known(c->op) || !strcmp(c->op, "api") || !strcmp(c->op, "rules")) {
		api_error(r, 400, c->op ? "bad_field" : "missing_field", "op",
			  "'op' must be one of swap, download, enable, disable, delete, set-fallback, set-emergency, "
			  "set-pol1, update-connectivity, audit");
		return -1;
	}
	if (!c->target) {
		api_error(r, 400, "missing_field", "target",
			  "'target' is required: all, tag:K=V, eids:EID,..., operator:NAME");
		return -1;
	}
	bool targeted = !strcmp(c->op, "enable") || !strcmp(c->op, "disable") || !strcmp(c->op, "delete") ||
		!strcmp(c->op, "set-fallback") || !strcmp(c->op, "set-emergency") || !strcmp(c->op, "set-pol1");
	const char *pool = val[0], *iccid = val[1], *profile = val[2], *old = val[3], *smsc = val[4];
	if (targeted && !profile) {
		api_error(r, 400, "missing_field", "profile",
			  "op %s needs 'profile': ICCID, AID, enabled, pool:P or operator:NAME", c->op);
		return -1;
	}
	if ((!strcmp(c->op, "swap") && !pool) || (!strcmp(c->op, "download") && !pool == !iccid)) {
		api_error(r, 400, "missing_field", "pool", "op %s needs 'pool'%s", c->op,
			  !strcmp(c->op, "download") ? " or 'iccid' (one of them)" : "");
		return -1;
	}
	if (old && strcmp(old, "fallback") && strcmp(old, "delete")) {
		api_error(r, 400, "bad_field", "old", "'old' is fallback or delete");
		return -1;
	}
	if (!strcmp(c->op, "update-connectivity") && !smsc) {
		api_error(r, 400, "missing_field", "smsc", "op update-connectivity needs 'smsc'");
		return -1;
	}
	double d;
	if (!strcmp(c->op, "set-pol1")) {
		if (number_of(b, "pol1", 0, 7, -1, &d, r))
			return -1;
		if (d < 0) {
			api_error(r, 400, "missing_field", "pol1", "op set-pol1 needs 'pol1' (0 to 7)");
			return -1;
		}
		json_object_set_new(args, "pol1", json_integer((json_int_t)d));
	}
	if (number_of(b, "concurrency", 1, 64, 1, &d, r))
		return -1;
	c->concurrency = (int)d;
	if (number_of(b, "rate", 0, 100000, 0, &c->rate, r) || number_of(b, "retries", 0, 20, 3, &d, r))
		return -1;
	c->retries = (int)d;
	if (number_of(b, "max_failures", 0, 100, 100, &c->max_failures, r))
		return -1;
	json_t *vv = json_object_get(b, "validity");
	c->validity = !vv	      ? 86400
		: json_is_integer(vv) ? (long long)json_integer_value(vv)
		: json_is_string(vv)  ? cli_duration(json_string_value(vv))
				      : -1;
	if (c->validity <= 0 || c->validity > 3650LL * 86400) {
		api_error(r, 400, "bad_field", "validity", "'validity' is seconds or a duration such as \"24h\"");
		return -1;
	}
	if (pool)
		json_object_set_new(args, "pool", json_string(pool));
	if (iccid)
		json_object_set_new(args, "iccid", json_string(iccid));
	if (profile)
		json_object_set_new(args, "target", json_string(profile));
	if (!strcmp(c->op, "swap"))
		json_object_set_new(args, "old", json_string(old ? old : "fallback"));
	if (smsc)
		json_object_set_new(args, "smsc", json_string(smsc));
	c->args = args;
	return 0;
}

static void create(api_env *env, const api_request *q, api_response *r)
{
	json_t *b = api_body_object(q, r);
	if (!b)
		return;
	store_campaign_spec c = { 0 };
	json_t *args = json_object(), *eids = NULL;
	json_t *dry = json_object_get(b, "dry_run");
	char why[1200];
	if (dry && !json_is_boolean(dry)) {
		api_error(r, 400, "bad_field", "dry_run", "'dry_run' is true or false");
		goto out;
	}
	if (campaign_spec(b, &c, args, r))
		goto out;
	if (!strncmp(c.target, "csv:", 4)) {
		api_error(r, 400, "bad_field", "target", "a target file is not read through the API: use eids:EID,...");
		goto out;
	}
	if (!(eids = smsr_campaign_targets(env->st, c.target, why, sizeof(why)))) {
		api_error(r, 400, "bad_field", "target", "%s", why);
		goto out;
	}
	if (!json_array_size(eids)) {
		api_error(r, 409, "conflict", "target", "target %s names no registered eUICC", c.target);
		goto out;
	}
	const char *pool = json_string_value(json_object_get(args, "pool"));
	if (pool && (!strcmp(c.op, "swap") || !strcmp(c.op, "download"))) {
		json_t *avail = store_smdp_list(env->st, pool, "available");
		size_t n = json_array_size(avail);
		json_decref(avail);
		if (n < json_array_size(eids)) {
			api_error(r, 409, "conflict", "pool", "pool %s has %zu available profiles for %zu eUICCs", pool,
				  n, json_array_size(eids));
			goto out;
		}
	}
	if (json_is_true(dry)) {
		answer(r, 200,
		       json_pack("{s:b,s:s,s:O,s:s,s:I,s:O}", "dry_run", 1, "op", c.op, "args", args, "target",
				 c.target, "jobs", (json_int_t)json_array_size(eids), "eids", eids));
		goto out;
	}
	long long id = store_campaign_create(env->st, &c, eids, why, sizeof(why));
	if (id < 0) {
		api_error(r, 503, "store_busy", NULL, "%s", why);
		goto out;
	}
	answer(r, 201, store_campaign(env->st, id));
	r->changed = true;
out:
	json_decref(eids);
	json_decref(args);
	json_decref(b);
}

static void change(api_env *env, long long id, const char *verb, api_response *r)
{
	json_t *c = store_campaign(env->st, id);
	if (!c) {
		api_error(r, 404, "not_found", "campaign", "no campaign %lld", id);
		return;
	}
	const char *st = json_string_value(json_object_get(c, "state"));
	const char *to = !strcmp(verb, "pause") ? "paused" : !strcmp(verb, "resume") ? "ready" : "cancelled";
	bool final = !strcmp(st, "done") || !strcmp(st, "cancelled");
	const char *op = json_string_value(json_object_get(c, "op"));
	int moved = 0;
	if (!strcmp(op, "api") || !strcmp(op, "rules")) {
		api_error(r, 409, "conflict", "campaign",
			  "campaign %lld holds the %s's own jobs: it is not paused or cancelled", id, op);
	} else if (final || (!strcmp(verb, "resume") && strcmp(st, "paused")) ||
		   (!strcmp(verb, "pause") && !strcmp(st, "paused"))) {
		api_error(r, 409, "conflict", "campaign", "campaign %lld is %s: it cannot be %s", id, st,
			  !strcmp(verb, "pause")	    ? "paused"
				  : !strcmp(verb, "resume") ? "resumed"
							    : "cancelled");
	} else if ((moved = store_campaign_move(env->st, id,
						!strcmp(verb, "resume")		 ? "paused"
							: !strcmp(verb, "pause") ? "ready,running"
										 : "ready,running,paused",
						to)) <= 0) {
		if (moved < 0)
			api_error(r, 503, "store_busy", NULL, "the store is busy; try again");
		else
			api_error(r, 409, "conflict", "campaign",
				  "campaign %lld changed state meanwhile: it cannot be %s", id,
				  !strcmp(verb, "pause")	    ? "paused"
					  : !strcmp(verb, "resume") ? "resumed"
								    : "cancelled");
	} else {
		char what[40];
		snprintf(what, sizeof(what), "campaign %s %lld", verb, id);
		store_log(env->st, what, NULL, to); /* with the token's name */
		answer(r, 200, store_campaign(env->st, id));
		r->changed = true;
	}
	json_decref(c);
}

static void csv_report(json_t *jobs, api_response *r)
{
	size_t cap = 256 + json_array_size(jobs) * 256, n = 0, i;
	char *out = malloc(cap);
	if (!out) {
		api_error(r, 500, "internal", NULL, "out of memory");
		return;
	}
	n += (size_t)snprintf(out, cap, "job,eid,op,state,attempts,iccid,kind,message\n");
	json_t *j;
	json_array_foreach(jobs, i, j)
	{
		json_t *res = json_object_get(j, "result");
		char m[300];
		const char *msg = json_string_value(json_object_get(res, "message"));
		snprintf(m, sizeof(m), "%s", msg ? msg : "");
		for (char *p = m; *p; p++)
			if (*p == ',' || *p == '"' || *p == '\n' || *p == '\r')
				*p = ';';
		const char *ic = json_string_value(json_object_get(res, "iccid"));
		const char *kind = json_string_value(json_object_get(res, "kind"));
		int w = snprintf(out + n, cap - n, "%lld,%s,%s,%s,%lld,%s,%s,%s\n",
				 (long long)json_integer_value(json_object_get(j, "id")),
				 json_string_value(json_object_get(j, "eid")),
				 json_string_value(json_object_get(j, "op")),
				 json_string_value(json_object_get(j, "state")),
				 (long long)json_integer_value(json_object_get(j, "attempts")), ic ? ic : "",
				 kind ? kind : "", m);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	api_response_free(r);
	r->status = 200;
	r->text = out;
	r->text_len = n;
	r->ctype = "text/csv";
}

static void report(api_env *env, const api_request *q, long long id, api_response *r)
{
	const char *fmt = api_query(q, "format");
	fmt = fmt ? fmt : "json";
	if (strcmp(fmt, "json") && strcmp(fmt, "csv")) {
		api_error(r, 400, "bad_parameter", "format", "?format=%s: json or csv", fmt);
		return;
	}
	json_t *c = store_campaign(env->st, id);
	if (!c) {
		api_error(r, 404, "not_found", "campaign", "no campaign %lld", id);
		return;
	}
	json_t *jobs = store_jobs(env->st, id, NULL);
	if (!strcmp(fmt, "csv")) {
		csv_report(jobs, r);
		json_decref(jobs);
		json_decref(c);
		return;
	}
	json_object_set_new(c, "job_list", jobs);
	answer(r, 200, c);
}

static long long id_in(const char *s, const char **rest)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	*rest = end;
	return end == s || v < 1 ? -1 : v;
}

bool api_campaigns(api_env *env, const api_request *q, api_response *r)
{
	const char *p = q->path;
	if (!strcmp(p, "/campaigns")) {
		if (!strcmp(q->method, "POST"))
			create(env, q, r);
		else if (!strcmp(q->method, "GET"))
			answer(r, 200,
			       json_pack("{s:o}", "campaigns", store_campaigns(env->st, api_query(q, "state"))));
		else
			api_error(r, 405, "method_not_allowed", NULL, "%s takes GET or POST", p);
		return true;
	}
	if (strncmp(p, "/campaigns/", 11))
		return false;
	const char *rest;
	long long id = id_in(p + 11, &rest);
	if (id < 0)
		return false;
	bool get = !strcmp(q->method, "GET"), post = !strcmp(q->method, "POST");
	if (!*rest && get) {
		json_t *c = store_campaign(env->st, id);
		if (c)
			answer(r, 200, c);
		else
			api_error(r, 404, "not_found", "campaign", "no campaign %lld", id);
	} else if (!strcmp(rest, "/report") && get) {
		report(env, q, id, r);
	} else if ((!strcmp(rest, "/pause") || !strcmp(rest, "/resume") || !strcmp(rest, "/cancel")) && post) {
		change(env, id, rest + 1, r);
	} else if (!*rest || !strcmp(rest, "/report") || !strcmp(rest, "/pause") || !strcmp(rest, "/resume") ||
		   !strcmp(rest, "/cancel")) {
		api_error(r, 405, "method_not_allowed", NULL, "%s takes %s", p,
			  *rest && strcmp(rest, "/report") ? "POST" : "GET");
	} else {
		return false;
	}
	return true;
}
