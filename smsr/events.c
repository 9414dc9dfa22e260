/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rules engine's tables (store.h, "events.c"): events in (an id each: the same event twice is kept
 * once), rule sets, and each decision made in one transaction with the jobs it creates, the rules'
 * state it moves and the timers it sets, so that a killed engine neither loses an event nor acts twice
 * on one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "store_int.h"

/* an id for an event that came without one: its content, so that the same report twice is one event */
static void content_id(const store_event *e, char out[48])
{
	json_t *o = json_pack("{s:s,s:s,s:I,s:O}", "eid", e->eid, "type", e->type, "time", (json_int_t)e->time,
			      "fields", e->fields);
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	uint8_t h[32];
	memset(h, 0, sizeof(h));
	if (!text || crypto_sha256((const uint8_t *)text, strlen(text), h))
		memset(h, 0, sizeof(h)); /* out of memory: one id for all such events, the first kept */
	char hex[65];
	hex_encode(h, 16, hex);
	snprintf(out, 48, "h:%.32s", hex);
	free(text);
	json_decref(o);
}

int store_event_add(smsr_store *s, const store_event *e, long long *seq, char *why, size_t why_len)
{
	char cid[48], ts[32];
	const char *id = e->id;
	if (!id) {
		content_id(e, cid);
		id = cid;
	}
	char *fields = json_dumps(e->fields, JSON_COMPACT | JSON_SORT_KEYS);
	if (!fields) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	now_iso(ts);
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	store_prep(s,
		   "INSERT OR IGNORE INTO event (id, eid, type, fields, time, source, received) VALUES "
		   "(?,?,?,?,?,?,?)",
		   &st);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, e->eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, e->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, fields, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, e->time);
	sqlite3_bind_text(st, 6, e->source ? e->source : "cli", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, ts, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(s->db) ? 1 : 0) : -1;
	if (rc > 0 && seq)
		*seq = sqlite3_last_insert_rowid(s->db);
	if (rc < 0)
		snprintf(why, why_len, "cannot store the event: %s", sqlite3_errmsg(s->db));
	store_unprep(s, st);
	free(fields);
	return rc;
}

#define EVENT_COLS "seq, id, eid, type, fields, time, source, received, decided, explain"

static json_t *event_row(sqlite3_stmt *st)
{
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:I,s:s,s:s}", "seq", (json_int_t)sqlite3_column_int64(st, 0), "id",
			      sqlite3_column_text(st, 1), "eid", sqlite3_column_text(st, 2), "type",
			      sqlite3_column_text(st, 3), "time", (json_int_t)sqlite3_column_int64(st, 5), "source",
			      sqlite3_column_text(st, 6), "received", sqlite3_column_text(st, 7));
	json_t *f = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
	json_object_set_new(o, "fields", json_is_object(f) ? f : json_object());
	if (!json_is_object(f))
		json_decref(f);
	json_object_set_new(o, "decided",
			    sqlite3_column_type(st, 8) == SQLITE_NULL
				    ? json_null()
				    : json_string((const char *)sqlite3_column_text(st, 8)));
	json_t *x = sqlite3_column_type(st, 9) == SQLITE_NULL
		? NULL
		: json_loads((const char *)sqlite3_column_text(st, 9), 0, NULL);
	json_object_set_new(o, "explain", x ? x : json_null());
	return o;
}

json_t *store_event_due(smsr_store *s, long long now)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT " EVENT_COLS " FROM event WHERE decided IS NULL AND time <= ? ORDER BY time, seq LIMIT 1",
		   &st);
	sqlite3_bind_int64(st, 1, now);
	json_t *o = sqlite3_step(st) == SQLITE_ROW ? event_row(st) : NULL;
	store_unprep(s, st);
	return o;
}

long long store_events_waiting(smsr_store *s, long long now, long long *next)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT count(*) FILTER (WHERE time <= ?1), min(time) FROM event WHERE decided IS NULL", &st);
	sqlite3_bind_int64(st, 1, now);
	long long n = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		if (next)
			*next = sqlite3_column_type(st, 1) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 1);
	}
	store_unprep(s, st);
	return n;
}

static json_t *decisions_of(smsr_store *s, const char *where, long long seq, const char *eid)
{
	sqlite3_stmt *st;
	if (!strcmp(where, "event"))
		store_prep(
			s,
			"SELECT d.id, d.event, d.rule, d.eid, d.outcome, d.detail, d.jobs, d.time, e.id FROM decision "
			"d JOIN event e ON e.seq = d.event WHERE d.event = ? ORDER BY d.id",
			&st);
	else
		store_prep(
			s,
			"SELECT d.id, d.event, d.rule, d.eid, d.outcome, d.detail, d.jobs, d.time, e.id FROM decision "
			"d JOIN event e ON e.seq = d.event WHERE d.eid = ? ORDER BY d.time, d.id",
			&st);
	if (eid)
		sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, seq);
	json_t *a = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_pack("{s:I,s:I,s:s,s:s,s:s,s:s,s:I,s:s}", "id",
				      (json_int_t)sqlite3_column_int64(st, 0), "event_seq",
				      (json_int_t)sqlite3_column_int64(st, 1), "rule", sqlite3_column_text(st, 2),
				      "eid", sqlite3_column_text(st, 3), "outcome", sqlite3_column_text(st, 4),
				      "detail", sqlite3_column_text(st, 5), "time",
				      (json_int_t)sqlite3_column_int64(st, 7), "event", sqlite3_column_text(st, 8));
		json_t *j = sqlite3_column_type(st, 6) == SQLITE_NULL
			? NULL
			: json_loads((const char *)sqlite3_column_text(st, 6), 0, NULL);
		json_object_set_new(o, "jobs", json_is_array(j) ? j : json_array());
		json_object_set_new(o, "campaign",
				    sqlite3_column_type(st, 9) == SQLITE_NULL
					    ? json_null()
					    : json_integer(sqlite3_column_int64(st, 9)));
		if (!json_is_array(j))
			json_decref(j);
		json_array_append_new(a, o);
	}
	store_unprep(s, st);
	return a;
}

json_t *store_event_get(smsr_store *s, const char *id)
{
	sqlite3_stmt *st;
	bool digits = *id && strspn(id, "0123456789") == strlen(id);
	store_prep(s, "SELECT " EVENT_COLS " FROM event WHERE id = ?1 OR (?2 AND seq = ?3)", &st);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, digits);
	sqlite3_bind_int64(st, 3, digits ? atoll(id) : 0);
	json_t *o = sqlite3_step(st) == SQLITE_ROW ? event_row(st) : NULL;
	store_unprep(s, st);
	if (o)
		json_object_set_new(
			o, "decisions",
			decisions_of(s, "event", (long long)json_integer_value(json_object_get(o, "seq")), NULL));
	return o;
}

json_t *store_events_of(smsr_store *s, const char *eid, long long limit)
{
	sqlite3_stmt *st;
	store_prep(s,
		   "SELECT " EVENT_COLS " FROM (SELECT * FROM event WHERE ?1 IS NULL OR eid = ?1 ORDER BY time DESC, "
		   "seq DESC LIMIT ?2) ORDER BY time, seq",
		   &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit > 0 ? limit : -1);
	json_t *a = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, event_row(st));
	store_unprep(s, st);
	return a;
}

json_t *store_events_after(smsr_store *s, long long seq, long long limit)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT " EVENT_COLS " FROM event WHERE seq > ? ORDER BY seq LIMIT ?", &st);
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_int64(st, 2, limit);
	json_t *a = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, event_row(st));
	store_unprep(s, st);
	return a;
}

json_t *store_decisions_of(smsr_store *s, const char *eid)
{
	return decisions_of(s, "eid", 0, eid);
}

json_t *store_euicc_facts(smsr_store *s, const char *eid)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT tags FROM euicc WHERE eid = ?", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	json_t *tags = NULL;
	bool found = sqlite3_step(st) == SQLITE_ROW;
	if (found)
		tags = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	store_unprep(s, st);
	if (!found)
		return NULL;
	json_t *states = json_array();
	store_prep(s, "SELECT DISTINCT state FROM isdp WHERE eid = ?", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(states, json_string((const char *)sqlite3_column_text(st, 0)));
	store_unprep(s, st);
	json_t *en = store_enabled(s, eid);
	return json_pack("{s:o,s:o,s:o}", "tags", json_is_object(tags) ? tags : json_object(), "enabled",
			 en ? en : json_null(), "states", states);
}

int store_rule_state(smsr_store *s, const char *rule, const char *eid, store_rule_st *out)
{
	memset(out, 0, sizeof(*out));
	sqlite3_stmt *st;
	store_prep(s, "SELECT since, count, acted, last_acted FROM rule_state WHERE rule = ? AND eid = ?", &st);
	sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	int rc = 1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		out->in_episode = sqlite3_column_type(st, 0) != SQLITE_NULL;
		out->since = sqlite3_column_int64(st, 0);
		out->count = sqlite3_column_int64(st, 1);
		out->acted = sqlite3_column_int(st, 2) != 0;
		out->has_acted = sqlite3_column_type(st, 3) != SQLITE_NULL;
		out->last_acted = sqlite3_column_int64(st, 3);
		rc = 0;
	}
	store_unprep(s, st);
	return rc;
}

int store_rule_states(smsr_store *s, const char *eid, store_rule_map *out)
{
	out->n = 0;
	sqlite3_stmt *st;
	store_prep(s, "SELECT rule, since, count, acted, last_acted FROM rule_state WHERE eid = ?", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	int rc = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (out->n == out->cap) {
			size_t cap = out->cap ? out->cap * 2 : 16;
			store_rule_entry *v = realloc(out->v, cap * sizeof(*v));
			if (!v) {
				rc = -1;
				break;
			}
			out->v = v;
			out->cap = cap;
		}
		store_rule_entry *e = &out->v[out->n++];
		snprintf(e->rule, sizeof(e->rule), "%s", (const char *)sqlite3_column_text(st, 0));
		e->st.in_episode = sqlite3_column_type(st, 1) != SQLITE_NULL;
		e->st.since = sqlite3_column_int64(st, 1);
		e->st.count = sqlite3_column_int64(st, 2);
		e->st.acted = sqlite3_column_int(st, 3) != 0;
		e->st.has_acted = sqlite3_column_type(st, 4) != SQLITE_NULL;
		e->st.last_acted = sqlite3_column_int64(st, 4);
	}
	store_unprep(s, st);
	return rc;
}

long long store_rule_acted_since(smsr_store *s, const char *rule, const char *eid, long long since)
{
	sqlite3_stmt *st;
	store_prep(s,
		   "SELECT count(*) FROM decision WHERE rule = ? AND eid = ? AND outcome IN ('acted', 'dry-run') AND "
		   "time > ?",
		   &st);
	sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, since);
	long long n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	store_unprep(s, st);
	return n;
}

/* a campaign action: the campaign (ready, for `rules run` or `campaign run` to run) and its jobs, made
 * with the decision */
static int decision_campaign(smsr_store *s, json_t *args, long long at, long long validity, long long did)
{
	json_t *run = json_object_get(args, "run");
	store_campaign_spec c = { .op = json_string_value(json_object_get(run, "op")),
				  .args = json_object_get(run, "args"),
				  .target = json_string_value(json_object_get(args, "target")),
				  .concurrency = (int)json_integer_value(json_object_get(args, "concurrency")),
				  .rate = 0,
				  .validity = validity,
				  .retries = 2,
				  .max_failures = 100 };
	long long id = store_campaign_insert(s, &c, json_object_get(args, "eids"), at);
	if (id < 0)
		return -1;
	sqlite3_stmt *st;
	store_prep(s, "UPDATE decision SET campaign = ? WHERE id = ?", &st);
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, did);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

/* the jobs of one decision's actions: new, in the rules' campaign, due after each action's delay */
static int decision_jobs(smsr_store *s, const store_decision *d, long long campaign, long long validity, long long did,
			 json_t *ids)
{
	char ts[32];
	now_iso(ts);
	size_t i;
	json_t *a;
	json_array_foreach(d->actions, i, a)
	{
		long long at = d->time + (long long)json_integer_value(json_object_get(a, "delay"));
		if (!strcmp(json_string_value(json_object_get(a, "op")), "campaign")) {
			if (decision_campaign(s, json_object_get(a, "args"), at, validity, did))
				return -1;
			continue;
		}
		char *args = json_dumps(json_object_get(a, "args"), JSON_COMPACT | JSON_SORT_KEYS);
		sqlite3_stmt *st;
		store_prep(s,
			   "INSERT INTO job (campaign, eid, op, args, state, next_try, deadline, created, decision) "
			   "VALUES (?,?,?,?,'new',?,?,?,?)",
			   &st);
		sqlite3_bind_int64(st, 1, campaign);
		sqlite3_bind_text(st, 2, d->eid, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, json_string_value(json_object_get(a, "op")), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, args ? args : "{}", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, at);
		sqlite3_bind_int64(st, 6, at + validity);
		sqlite3_bind_text(st, 7, ts, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 8, did);
		int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		store_unprep(s, st);
		free(args);
		if (rc)
			return -1;
		json_array_append_new(ids, json_integer(sqlite3_last_insert_rowid(s->db)));
	}
	return 0;
}

static int put_decision(smsr_store *s, long long seq, const store_decision *d, long long campaign, long long validity)
{
	sqlite3_stmt *st;
	store_prep(s,
		   "INSERT INTO decision (event, rule, eid, outcome, detail, time) VALUES (?,?,?,?,?,?) RETURNING id",
		   &st);
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, d->rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, d->eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, d->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, d->detail ? d->detail : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, d->time);
	long long did = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	store_unprep(s, st);
	if (did < 0)
		return -1;
	json_t *ids = json_array();
	int rc = 0;
	if (d->actions && !strcmp(d->outcome, "acted"))
		rc = decision_jobs(s, d, campaign, validity, did, ids);
	char *text = json_dumps(ids, JSON_COMPACT);
	json_decref(ids);
	if (!rc) {
		store_prep(s, "UPDATE decision SET jobs = ? WHERE id = ?", &st);
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, did);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		store_unprep(s, st);
	}
	free(text);
	return rc;
}

static int put_state(smsr_store *s, const char *rule, const char *eid, const store_rule_st *r)
{
	sqlite3_stmt *st;
	store_prep(
		s,
		"INSERT OR REPLACE INTO rule_state (rule, eid, since, count, acted, last_acted) VALUES (?,?,?,?,?,?)",
		&st);
	sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	if (r->in_episode)
		sqlite3_bind_int64(st, 3, r->since);
	sqlite3_bind_int64(st, 4, r->count);
	sqlite3_bind_int(st, 5, r->acted);
	if (r->has_acted)
		sqlite3_bind_int64(st, 6, r->last_acted);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_decide(smsr_store *s, long long seq, json_t *explain, const store_decision *d, size_t nd,
		 const store_state_change *sc, size_t ns, const store_event *timers, size_t nt, long long campaign,
		 long long validity, char *why, size_t why_len)
{
	/* bookkeeping: nothing leaves on it. Its jobs are claimed, and that commit is synced, before any of
	 * them sends a packet; a power loss before then loses the decision whole, and the event is decided
	 * again */
	store_durability(s, STORE_SETTLED);
	if (store_begin(s)) {
		snprintf(why, why_len, "the store is busy");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; !rc && i < nd; i++)
		rc = put_decision(s, seq, &d[i], campaign, validity);
	for (size_t i = 0; !rc && i < ns; i++)
		rc = put_state(s, sc[i].rule, sc[i].eid, &sc[i].st);
	char inner[200];
	for (size_t i = 0; !rc && i < nt; i++)
		rc = store_event_add(s, &timers[i], NULL, inner, sizeof(inner)) < 0 ? -1 : 0;
	char *x = json_dumps(explain, JSON_COMPACT);
	char ts[32];
	now_iso(ts);
	if (!rc) {
		sqlite3_stmt *st;
		store_prep(s, "UPDATE event SET decided = ?, explain = ? WHERE seq = ? AND decided IS NULL", &st);
		sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, x, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, seq);
		rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(s->db) == 1 ? 0 : -1;
		store_unprep(s, st);
	}
	free(x);
	if (rc || store_commit(s)) {
		snprintf(why, why_len, "cannot record the decision on event %lld: %s", seq, sqlite3_errmsg(s->db));
		store_rollback(s);
		return -1;
	}
	return 0;
}

long long store_ruleset_put(smsr_store *s, const char *name, const char *text)
{
	char ts[32];
	now_iso(ts);
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	store_prep(s, "INSERT INTO ruleset (name, text, loaded) VALUES (?,?,?) RETURNING version", &st);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
	long long v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	store_unprep(s, st);
	return v;
}

json_t *store_ruleset(smsr_store *s)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT version, name, text, loaded FROM ruleset ORDER BY version DESC LIMIT 1", &st);
	json_t *o = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		o = json_pack("{s:I,s:s,s:s,s:s}", "version", (json_int_t)sqlite3_column_int64(st, 0), "name",
			      sqlite3_column_text(st, 1), "text", sqlite3_column_text(st, 2), "loaded",
			      sqlite3_column_text(st, 3));
	store_unprep(s, st);
	return o;
}

long long store_rules_campaign(smsr_store *s, int concurrency, int retries, long long validity)
{
	sqlite3_stmt *st;
	long long id = store_campaign_of_op(s, "rules");
	if (id) {
		store_durability(s, STORE_SETTLED);
		store_prep(s, "UPDATE campaign SET concurrency = ?, retries = ?, validity = ? WHERE id = ?", &st);
		sqlite3_bind_int(st, 1, concurrency);
		sqlite3_bind_int(st, 2, retries);
		sqlite3_bind_int64(st, 3, validity);
		sqlite3_bind_int64(st, 4, id);
		int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		store_unprep(s, st);
		return rc ? -1 : id;
	}
	store_campaign_spec c = { .op = "rules",
				  .args = NULL,
				  .target = "rules",
				  .concurrency = concurrency,
				  .rate = 0,
				  .validity = validity,
				  .retries = retries,
				  .max_failures = 100 };
	json_t *args = json_object(), *none = json_array();
	c.args = args;
	char why[200];
	id = store_campaign_create(s, &c, none, why, sizeof(why));
	json_decref(args);
	json_decref(none);
	return id;
}

json_t *store_decided_campaigns(smsr_store *s)
{
	sqlite3_stmt *st;
	store_prep(s,
		   "SELECT c.id FROM campaign c WHERE c.state IN ('ready', 'running', 'paused') AND c.id IN (SELECT "
		   "campaign FROM decision WHERE campaign IS NOT NULL) ORDER BY c.id",
		   &st);
	json_t *a = json_array();
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, json_integer(sqlite3_column_int64(st, 0)));
	store_unprep(s, st);
	return a;
}
