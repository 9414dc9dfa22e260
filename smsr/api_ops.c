/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SGP.02 functions as POST endpoints: /es4/EnableProfile and its family, /es4/AuditEIS,
 * /es2/DownloadProfile. Each is checked (the field at fault named), then becomes one job of the API's
 * campaign, run by the server's workers; the answer is the job (202), or with ?wait=SECONDS its outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

typedef struct {
	const char *path, *op;
	unsigned fields;	/* which of the fields below it takes */
	const char *want_state; /* 409 unless the ISD-P is in this state (NULL: any) */
	const char *not_state;	/* 409 when the ISD-P is in this state */
} es_function;

enum { F_ICCID = 1, F_POOL = 2, F_POL1 = 4, F_SMSC = 8 };

static const es_function functions[] = {
	{ "/es4/EnableProfile", "enable", F_ICCID, "disabled", NULL },
	{ "/es4/DisableProfile", "disable", F_ICCID, "enabled", NULL },
	{ "/es4/DeleteProfile", "delete", F_ICCID, NULL, "enabled" },
	{ "/es4/SetFallBackAttribute", "set-fallback", F_ICCID, NULL, NULL },
	{ "/es4/SetEmergencyProfileAttribute", "set-emergency", F_ICCID, NULL, NULL },
	{ "/es4/UpdatePolicyRules", "set-pol1", F_ICCID | F_POL1, NULL, NULL },
	{ "/es4/UpdateConnectivityParameters", "update-connectivity", F_SMSC, NULL, NULL },
	{ "/es4/AuditEIS", "audit", 0, NULL, NULL },
	{ "/es2/DownloadProfile", "download", F_ICCID | F_POOL, NULL, NULL },
};

static const char *str_field(json_t *body, const char *k, api_response *r, bool *bad)
{
	json_t *v = json_object_get(body, k);
	if (!v)
		return NULL;
	if (!json_is_string(v) || !json_string_length(v)) {
		api_error(r, 400, "bad_field", k, "'%s' must be a non-empty string", k);
		*bad = true;
		return NULL;
	}
	return json_string_value(v);
}

static bool digits(const char *s, size_t lo, size_t hi)
{
	size_t n = strlen(s);
	if (n < lo || n > hi)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* the ISD-P of iccid on eid: its state, or an answer (404) */
static int isdp_state(api_env *env, const char *eid, const char *iccid, char state[16], api_response *r)
{
	json_t *l = store_isdps(env->st, eid), *p;
	size_t i;
	int rc = -1;
	json_array_foreach(l, i, p)
	{
		const char *ic = json_string_value(json_object_get(p, "iccid"));
		const char *aid = json_string_value(json_object_get(p, "aid"));
		if ((ic && !strcmp(ic, iccid)) || (aid && !strcasecmp(aid, iccid))) {
			snprintf(state, 16, "%s", json_string_value(json_object_get(p, "state")));
			rc = 0;
			break;
		}
	}
	json_decref(l);
	if (rc)
		api_error(r, 404, "not_found", "iccid", "eUICC %s has no profile %s", eid, iccid);
	return rc;
}

/* the fields of a download: an ICCID of the inventory that is available, or a pool with one */
static int check_download(api_env *env, const char *iccid, const char *pool, api_response *r)
{
	if (!iccid == !pool) {
		api_error(r, 400, "bad_field", iccid ? "pool" : "iccid",
			  "DownloadProfile takes 'iccid' (a profile of the inventory) or 'pool', one of them");
		return -1;
	}
	json_t *l = store_smdp_list(env->st, pool, iccid ? NULL : "available"), *p;
	size_t i;
	const char *state = NULL;
	bool any = false;
	json_array_foreach(l, i, p)
	{
		if (iccid && strcmp(json_string_value(json_object_get(p, "iccid")), iccid))
			continue;
		any = true;
		state = json_string_value(json_object_get(p, "state"));
		break;
	}
	int rc = 0;
	if (iccid && !any)
		api_error(r, 404, "not_found", "iccid", "the SM-DP has no profile %s", iccid);
	else if (iccid && strcmp(state, "available"))
		api_error(r, 409, "conflict", "iccid", "profile %s is %s, not available", iccid, state);
	else if (pool && !any)
		api_error(r, 409, "conflict", "pool", "pool '%s' has no available profile", pool);
	rc = r->json ? -1 : 0;
	json_decref(l);
	return rc;
}

/* a body's fields into the job's arguments: -1 with the answer */
static int job_args(api_env *env, const es_function *f, json_t *body, const char *eid, json_t *args, api_response *r)
{
	bool bad = false;
	const char *iccid = str_field(body, "iccid", r, &bad), *pool = str_field(body, "pool", r, &bad);
	const char *smsc = str_field(body, "smsc", r, &bad);
	if (bad)
		return -1;
	char state[16];
	if (!strcmp(f->op, "download")) {
		if (check_download(env, iccid, pool, r))
			return -1;
		json_object_set_new(args, iccid ? "iccid" : "pool", json_string(iccid ? iccid : pool));
		return 0;
	}
	if (f->fields & F_ICCID) {
		if (!iccid) {
			api_error(r, 400, "missing_field", "iccid", "%s needs 'iccid' (or an ISD-P AID)", f->path + 5);
			return -1;
		}
		if (isdp_state(env, eid, iccid, state, r))
			return -1;
		if ((f->want_state && strcmp(state, f->want_state)) || (f->not_state && !strcmp(state, f->not_state))) {
			api_error(r, 409, "conflict", "iccid", "profile %s on %s is %s: %s needs it %s%s", iccid, eid,
				  state, f->path + 5, f->want_state ? "" : "not ",
				  f->want_state ? f->want_state : f->not_state);
			return -1;
		}
		json_object_set_new(args, "target", json_string(iccid));
	}
	if (f->fields & F_POL1) {
		json_t *v = json_object_get(body, "pol1");
		long p = -1;
		if (json_is_integer(v))
			p = (long)json_integer_value(v);
		else if (json_is_string(v)) {
			char *end;
			p = strtol(json_string_value(v), &end, 16);
			if (*end || !json_string_length(v))
				p = -1;
		}
		if (p < 0 || p > 7) {
			api_error(r, 400, v ? "bad_field" : "missing_field", "pol1",
				  "'pol1' must be the POL1 bits, 0 to 7 (or hex \"00\" to \"07\")");
			return -1;
		}
		json_object_set_new(args, "pol1", json_integer(p));
	}
	if (f->fields & F_SMSC) {
		if (!smsc || !digits(smsc, 1, 20)) {
			api_error(r, 400, smsc ? "bad_field" : "missing_field", "smsc",
				  "'smsc' must be the SMS centre's number, 1 to 20 digits");
			return -1;
		}
		json_object_set_new(args, "smsc", json_string(smsc));
	}
	return 0;
}

/* every key of body is one f takes */
static int known_fields(const es_function *f, json_t *body, api_response *r)
{
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v)
	{
		bool ok = !strcmp(k, "eid") || (!strcmp(k, "iccid") && (f->fields & F_ICCID)) ||
			(!strcmp(k, "pool") && (f->fields & F_POOL)) || (!strcmp(k, "pol1") && (f->fields & F_POL1)) ||
			(!strcmp(k, "smsc") && (f->fields & F_SMSC));
		if (!ok) {
			api_error(r, 400, "unknown_field", k, "%s takes no field '%s'", f->path + 5, k);
			return -1;
		}
	}
	return 0;
}

static void run_function(api_env *env, const es_function *f, const api_request *q, api_response *r)
{
	const char *w = api_query(q, "wait");
	double wait = 0;
	if (w) {
		char *end;
		wait = strtod(w, &end);
		if (*end || end == w || wait < 0 || wait > API_MAX_WAIT) {
			api_error(r, 400, "bad_parameter", "wait", "?wait=%s: seconds, 0 to %d", w, API_MAX_WAIT);
			return;
		}
	}
	json_t *body = api_body_object(q, r);
	if (!body)
		return;
	json_t *args = json_object();
	bool bad = false;
	const char *eid = str_field(body, "eid", r, &bad);
	char e[33], why[400];
	if (bad || known_fields(f, body, r))
		goto out;
	if (!eid) {
		api_error(r, 400, "missing_field", "eid", "%s needs 'eid'", f->path + 5);
		goto out;
	}
	if (strlen(eid) != 32 || store_resolve_eid(env->st, eid, e, why, sizeof(why))) {
		api_error(r, 404, "not_found", "eid", "no eUICC %s is registered", eid);
		goto out;
	}
	if (job_args(env, f, body, e, args, r))
		goto out;
	long long id = env->api_campaign > 0 ? store_job_add(env->st, env->api_campaign, e, f->op, args, 3600) : -1;
	if (id < 0) {
		api_error(r, 503, "store_busy", NULL, "the store cannot take the job now; try again");
		goto out;
	}
	r->changed = true;
	api_job_answer(env, id, r);
	if (r->status == 202 && wait > 0) {
		r->wait_job = id;
		r->wait_s = wait;
	}
out:
	json_decref(args);
	json_decref(body);
}

bool api_ops(api_env *env, const api_request *q, api_response *r)
{
	for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
		if (strcmp(q->path, functions[i].path))
			continue;
		if (strcmp(q->method, "POST"))
			api_error(r, 405, "method_not_allowed", NULL, "%s takes POST", q->path);
		else
			run_function(env, &functions[i], q, r);
		return true;
	}
	return false;
}
