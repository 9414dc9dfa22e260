/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API's resources: /euiccs, /smdp/profiles and /smdp/pools, /jobs, /events, /rules (campaigns are
 * in api_campaigns.c). Reads answer from the store as it is; writes are checked whole before anything is
 * stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "rules.h"

/* "/jobs/12" against "/jobs/": the rest after the prefix when it is one segment, else NULL */
static const char *segment(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) || !path[n] || strchr(path + n, '/'))
		return NULL;
	return path + n;
}

static bool get_only(const api_request *q, api_response *r)
{
	if (!strcmp(q->method, "GET"))
		return true;
	api_error(r, 405, "method_not_allowed", NULL, "%s takes GET", q->path);
	return false;
}

static long long id_of(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);
	return *end || v < 1 ? -1 : v;
}

static void answer(api_response *r, int status, json_t *o)
{
	api_response_free(r);
	r->status = status;
	r->json = o;
}

static void euiccs(api_env *env, const api_request *q, api_response *r)
{
	store_filter f;
	memset(&f, 0, sizeof(f));
	const char *tag = api_query(q, "tag");
	char why[300];
	if (tag) {
		f.tags = json_object();
		if (store_parse_tags(tag, f.tags, why, sizeof(why))) {
			json_decref(f.tags);
			api_error(r, 400, "bad_parameter", "tag", "?tag=%s: %s", tag, why);
			return;
		}
	}
	f.state = api_query(q, "state");
	f.operator_ = api_query(q, "operator");
	const char *lim = api_query(q, "limit"), *off = api_query(q, "offset");
	long long limit = lim ? id_of(lim) : 0, offset = off ? (strcmp(off, "0") ? id_of(off) : 0) : 0;
	if (limit < 0 || offset < 0) {
		json_decref(f.tags);
		api_error(r, 400, "bad_parameter", limit < 0 ? "limit" : "offset", "?%s=%s: a whole number%s",
			  limit < 0 ? "limit" : "offset", limit < 0 ? lim : off, limit < 0 ? " from 1" : "");
		return;
	}
	json_t *all = store_fleet(env->st, &f, true), *e, *last = store_last_contacts(env->st);
	json_decref(f.tags);
	size_t total = json_array_size(all), i;
	json_t *l = json_array();
	for (i = (size_t)offset; i < total && (!limit || i < (size_t)(offset + limit)); i++)
		json_array_append(l, json_array_get(all, i));
	json_decref(all);
	json_array_foreach(l, i, e)
	{
		json_t *t = json_object_get(last, json_string_value(json_object_get(e, "eid")));
		json_object_set(e, "last_contact", t ? t : json_null());
	}
	json_decref(last);
	answer(r, 200, json_pack("{s:o,s:I}", "euiccs", l, "count", (json_int_t)total));
}

static void euicc(api_env *env, const char *eid, api_response *r)
{
	store_filter f;
	memset(&f, 0, sizeof(f));
	f.eids = json_pack("{s:b}", eid, 1);
	json_t *l = store_fleet(env->st, &f, true);
	json_decref(f.eids);
	if (!json_array_size(l)) {
		json_decref(l);
		api_error(r, 404, "not_found", "eid", "no eUICC %s is registered", eid);
		return;
	}
	json_t *o = json_incref(json_array_get(l, 0));
	json_decref(l);
	json_t *last = store_last_contacts(env->st), *t = json_object_get(last, eid);
	json_object_set(o, "last_contact", t ? t : json_null());
	json_decref(last);
	json_t *notifs = store_notifs(env->st, eid), *nt;
	size_t i;
	json_array_foreach(notifs, i, nt) json_object_set_new(
		nt, "kind", json_string(smsr_notif_key((unsigned)json_integer_value(json_object_get(nt, "type")))));
	json_object_set_new(o, "notifications", notifs);
	json_object_set_new(o, "jobs", store_jobs_of(env->st, 0, NULL, eid));
	json_object_set_new(o, "decisions", store_decisions_of(env->st, eid));
	json_object_set_new(o, "events", store_events_of(env->st, eid, 50));
	answer(r, 200, o);
}

static void pools(api_env *env, api_response *r)
{
	json_t *l = store_smdp_list(env->st, NULL, NULL), *p, *by = json_object();
	size_t i;
	json_array_foreach(l, i, p)
	{
		const char *pool = json_string_value(json_object_get(p, "pool"));
		const char *key = pool ? pool : "";
		json_t *o = json_object_get(by, key);
		if (!o) {
			o = json_pack("{s:o,s:s,s:i,s:i,s:i,s:i,s:i}", "pool", pool ? json_string(pool) : json_null(),
				      "operator", json_string_value(json_object_get(p, "operator")), "available", 0,
				      "reserved", 0, "installed", 0, "deleted", 0, "total", 0);
			json_object_set_new(by, key, o);
		}
		const char *st = json_string_value(json_object_get(p, "state"));
		json_object_set_new(o, st, json_integer(json_integer_value(json_object_get(o, st)) + 1));
		json_object_set_new(o, "total", json_integer(json_integer_value(json_object_get(o, "total")) + 1));
	}
	json_decref(l);
	json_t *out = json_array();
	const char *k;
	json_object_foreach(by, k, p) json_array_append(out, p);
	json_decref(by);
	answer(r, 200, json_pack("{s:o}", "pools", out));
}

static void jobs(api_env *env, const api_request *q, api_response *r)
{
	const char *c = api_query(q, "campaign"), *eid = api_query(q, "eid");
	long long id = c ? id_of(c) : 0;
	if (id < 0) {
		api_error(r, 400, "bad_parameter", "campaign", "?campaign=%s is not a campaign id", c);
		return;
	}
	json_t *l = store_jobs_of(env->st, id, api_query(q, "state"), eid);
	answer(r, 200, json_pack("{s:o}", "jobs", l));
}

/* POST /events: one event (an object) or several (an array), all checked before any is stored */
static void post_events(api_env *env, const api_request *q, api_response *r)
{
	json_error_t je;
	json_t *b = q->body_len ? json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &je) : NULL;
	if (!b || (!json_is_object(b) && !json_is_array(b))) {
		json_decref(b);
		api_error(r, 400, "bad_json", NULL, "the body must be an event (a JSON object) or an array of them");
		return;
	}
	json_t *list = json_is_array(b) ? json_incref(b) : json_pack("[O]", b);
	size_t n = json_array_size(list), i;
	store_event *ev = calloc(n ? n : 1, sizeof(*ev));
	char(*eids)[33] = calloc(n ? n : 1, 33);
	char why[600], inner[300], source[80];
	snprintf(source, sizeof(source), "api:%s", r->who); /* who posted them */
	size_t parsed = 0, stored = 0, dup = 0;
	bool ok = ev && eids;
	for (i = 0; ok && i < n; i++, parsed++) {
		if (rules_event_parse(json_array_get(list, i), &ev[i], store_now(), why, sizeof(why))) {
			api_error(r, 400, "bad_event", NULL, "event %zu: %s", i, why);
			ok = false;
		} else if (store_resolve_eid(env->st, ev[i].eid, eids[i], inner, sizeof(inner))) {
			api_error(r, 404, "not_found", "eid", "event %zu: no eUICC %s is registered", i, ev[i].eid);
			ok = false;
		} else {
			ev[i].eid = eids[i];
			ev[i].source = source;
		}
	}
	if (ok && store_begin(env->st)) {
		api_error(r, 503, "store_busy", NULL, "the store is busy; try again");
		ok = false;
	}
	json_t *seqs = json_array();
	for (i = 0; ok && i < n; i++) {
		long long seq = 0;
		int rc = store_event_add(env->st, &ev[i], &seq, why, sizeof(why));
		if (rc < 0) {
			store_rollback(env->st);
			api_error(r, 400, "bad_event", NULL, "event %zu: %s", i, why);
			ok = false;
		}
		stored += rc == 1;
		dup += rc == 0;
		json_array_append_new(seqs, rc == 1 ? json_integer(seq) : json_null());
	}
	if (ok && store_commit(env->st)) {
		api_error(r, 503, "store_busy", NULL, "the store could not keep the events; try again");
		ok = false;
	}
	if (ok) {
		answer(r, 202,
		       json_pack("{s:I,s:I,s:o}", "stored", (json_int_t)stored, "duplicates", (json_int_t)dup, "seq",
				 seqs));
		r->changed = stored > 0;
	} else {
		json_decref(seqs);
	}
	for (i = 0; i < parsed && ev; i++)
		json_decref(ev[i].fields);
	free(ev);
	free(eids);
	json_decref(list);
	json_decref(b);
}

static void events(api_env *env, const api_request *q, api_response *r)
{
	if (!strcmp(q->method, "POST")) {
		post_events(env, q, r);
		return;
	}
	if (!get_only(q, r))
		return;
	const char *eid = api_query(q, "eid"), *lim = api_query(q, "limit");
	long long n = lim ? id_of(lim) : 100;
	if (n < 0 || n > 10000) {
		api_error(r, 400, "bad_parameter", "limit", "?limit=%s: 1 to 10000", lim);
		return;
	}
	answer(r, 200, json_pack("{s:o}", "events", store_events_of(env->st, eid, n)));
}

static void rules_get(api_env *env, api_response *r)
{
	json_t *cur = store_ruleset(env->st);
	if (!cur) {
		answer(r, 200, json_pack("{s:n,s:[]}", "version", "rules"));
		return;
	}
	ruleset rs;
	char why[700];
	const char *text = json_string_value(json_object_get(cur, "text"));
	if (!rules_parse(text, strlen(text), &rs, why, sizeof(why))) {
		json_object_set_new(cur, "rules", rules_json(&rs));
		rules_free(&rs);
	}
	answer(r, 200, cur);
}

/* PUT /rules: the body is a rules file (YAML or JSON), checked as `smsr rules check` does */
static void rules_put(api_env *env, const api_request *q, api_response *r)
{
	ruleset rs;
	char why[700];
	if (!q->body_len || memchr(q->body, 0, q->body_len)) {
		api_error(r, 400, "bad_rules", NULL, "the body must be a rules file (YAML text)");
		return;
	}
	if (rules_parse(q->body, q->body_len, &rs, why, sizeof(why))) {
		api_error(r, 400, "bad_rules", NULL, "%s", why);
		return;
	}
	char *text = strndup(q->body, q->body_len);
	const char *name = api_query(q, "name");
	long long v = text ? store_ruleset_put(env->st, name ? name : "api", text) : -1;
	free(text);
	if (v < 0) {
		rules_free(&rs);
		api_error(r, 503, "store_busy", NULL, "the store cannot keep the rules now; try again");
		return;
	}
	char ver[40];
	snprintf(ver, sizeof(ver), "version %lld", v);
	store_log(env->st, "rules load", NULL, ver); /* with the token's name */
	answer(r, 200, json_pack("{s:b,s:I,s:o}", "ok", 1, "version", (json_int_t)v, "rules", rules_json(&rs)));
	rules_free(&rs);
	r->changed = true;
}

/* POST /rules/check: the same check, nothing stored */
static void rules_check(const api_request *q, api_response *r)
{
	ruleset rs;
	char why[700];
	if (!q->body_len)
		snprintf(why, sizeof(why), "the body is empty");
	else if (memchr(q->body, 0, q->body_len))
		snprintf(why, sizeof(why), "the body is not text (it holds a NUL byte)");
	else if (!rules_parse(q->body, q->body_len, &rs, why, sizeof(why)))
		why[0] = '\0';
	if (why[0]) {
		api_ascii(why); /* the message may quote the file, which may not be UTF-8 */
		answer(r, 200, json_pack("{s:b,s:s}", "ok", 0, "message", why));
		return;
	}
	answer(r, 200, json_pack("{s:b,s:o}", "ok", 1, "rules", rules_json(&rs)));
	rules_free(&rs);
}

bool api_resources(api_env *env, const api_request *q, bool may_write, api_response *r)
{
	(void)may_write;
	const char *p = q->path, *seg;
	if (!strcmp(p, "/euiccs")) {
		if (get_only(q, r))
			euiccs(env, q, r);
	} else if ((seg = segment(p, "/euiccs/")) != NULL) {
		if (get_only(q, r))
			euicc(env, seg, r);
	} else if (!strcmp(p, "/smdp/profiles")) {
		if (get_only(q, r))
			answer(r, 200,
			       json_pack("{s:o}", "profiles",
					 store_smdp_list(env->st, api_query(q, "pool"), api_query(q, "state"))));
	} else if (!strcmp(p, "/smdp/pools")) {
		if (get_only(q, r))
			pools(env, r);
	} else if (!strcmp(p, "/jobs")) {
		if (get_only(q, r))
			jobs(env, q, r);
	} else if ((seg = segment(p, "/jobs/")) != NULL) {
		if (get_only(q, r)) {
			if (id_of(seg) < 0)
				api_error(r, 404, "not_found", "job", "no job %s", seg);
			else
				api_job_answer(env, id_of(seg), r);
			if (r->status == 202)
				r->status = 200;
		}
	} else if (!strcmp(p, "/events")) {
		events(env, q, r);
	} else if ((seg = segment(p, "/events/")) != NULL) {
		json_t *e = get_only(q, r) ? store_event_get(env->st, seg) : NULL;
		if (e)
			answer(r, 200, e);
		else if (!r->json)
			api_error(r, 404, "not_found", "event", "no event %s", seg);
	} else if (!strcmp(p, "/rules")) {
		if (!strcmp(q->method, "PUT"))
			rules_put(env, q, r);
		else if (get_only(q, r))
			rules_get(env, r);
	} else if (!strcmp(p, "/rules/check")) {
		if (strcmp(q->method, "POST"))
			api_error(r, 405, "method_not_allowed", NULL, "%s takes POST", q->path);
		else
			rules_check(q, r);
	} else {
		return false;
	}
	return true;
}
