/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jobs and campaigns in the store. A job is one operation on one eUICC: new -> running -> done | failed |
 * expired | cancelled; a campaign is one operation over a target set, its jobs made at creation. A job
 * is claimed (running, attempts + 1) in a committed transaction before anything is sent, and the
 * store's partial unique index keeps one running job per eUICC. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_int.h"

static long long clock_offset;

void store_set_clock(long long now)
{
	clock_offset = now - (long long)time(NULL);
}

long long store_now(void)
{
	return (long long)time(NULL) + clock_offset;
}

static void iso_of(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

long long store_campaign_insert(smsr_store *s, const store_campaign_spec *c, json_t *eids, long long first_try)
{
	char ts[32], *args = json_dumps(c->args, JSON_COMPACT | JSON_SORT_KEYS);
	now_iso(ts);
	long long id = -1;
	sqlite3_stmt *st = NULL;
	if (!args)
		return -1;
	store_prep(s,
		   "INSERT INTO campaign (op, args, target, concurrency, rate, validity, retries, max_failures, "
		   "state, created, who) VALUES (?,?,?,?,?,?,?,?,'ready',?,?)",
		   &st);
	sqlite3_bind_text(st, 1, c->op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, args, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, c->target, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, c->concurrency);
	sqlite3_bind_double(st, 5, c->rate);
	sqlite3_bind_int64(st, 6, c->validity);
	sqlite3_bind_int(st, 7, c->retries);
	sqlite3_bind_double(st, 8, c->max_failures);
	sqlite3_bind_text(st, 9, ts, -1, SQLITE_STATIC);
	if (s->actor[0])
		sqlite3_bind_text(st, 10, s->actor, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(s->db);
	store_unprep(s, st);
	st = NULL;
	size_t i;
	json_t *e;
	long long deadline = (first_try ? first_try : store_now()) + c->validity;
	if (id > 0)
		store_prep(s,
			   "INSERT INTO job (campaign, eid, op, args, state, next_try, deadline, created, who) VALUES "
			   "(?,?,?,?,'new',?,?,?,?)",
			   &st);
	json_array_foreach(eids, i, e)
	{
		if (id < 0)
			break;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, json_string_value(e), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, c->op, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, args, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, first_try);
		sqlite3_bind_int64(st, 6, deadline);
		sqlite3_bind_text(st, 7, ts, -1, SQLITE_STATIC);
		if (s->actor[0])
			sqlite3_bind_text(st, 8, s->actor, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 8);
		if (sqlite3_step(st) != SQLITE_DONE)
			id = -1;
	}
	store_unprep(s, st);
	free(args);
	return id;
}

long long store_campaign_create(smsr_store *s, const store_campaign_spec *c, json_t *eids, char *why, size_t why_len)
{
	store_durability(s, STORE_BEFORE_SEND);
	if (store_begin(s)) {
		snprintf(why, why_len, "the store is busy");
		return -1;
	}
	long long id = store_campaign_insert(s, c, eids, 0);
	if (id < 0 || store_commit(s)) {
		snprintf(why, why_len, "cannot store the campaign: %s", sqlite3_errmsg(s->db));
		exec(s, "ROLLBACK");
		return -1;
	}
	return id;
}

static json_t *job_row(sqlite3_stmt *st)
{
	/* id, campaign, eid, op, args, state, attempts, next_try, deadline, step, result, created, started,
	 * finished */
	json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:i,s:I,s:I}", "id", (json_int_t)sqlite3_column_int64(st, 0), "eid",
			      sqlite3_column_text(st, 2), "op", sqlite3_column_text(st, 3), "state",
			      sqlite3_column_text(st, 5), "attempts", sqlite3_column_int(st, 6), "next_try",
			      (json_int_t)sqlite3_column_int64(st, 7), "deadline",
			      (json_int_t)sqlite3_column_int64(st, 8));
	json_object_set_new(o, "campaign",
			    sqlite3_column_type(st, 1) == SQLITE_NULL ? json_null()
								      : json_integer(sqlite3_column_int64(st, 1)));
	json_object_set_new(o, "args", json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL));
	const char *names[] = { "step", "result" };
	for (int k = 0; k < 2; k++)
		json_object_set_new(o, names[k],
				    sqlite3_column_type(st, 9 + k) == SQLITE_NULL
					    ? json_null()
					    : json_loads((const char *)sqlite3_column_text(st, 9 + k), 0, NULL));
	const char *times[] = { "created", "started", "finished" };
	for (int k = 0; k < 3; k++)
		json_object_set_new(o, times[k],
				    sqlite3_column_type(st, 11 + k) == SQLITE_NULL
					    ? json_null()
					    : json_string((const char *)sqlite3_column_text(st, 11 + k)));
	/* a job a rule made: its decision and the rule's name */
	json_object_set_new(o, "decision",
			    sqlite3_column_type(st, 14) == SQLITE_NULL ? json_null()
								       : json_integer(sqlite3_column_int64(st, 14)));
	/* who asked for it: an API token's name, or null for the command line and the rules */
	json_object_set_new(o, "who",
			    sqlite3_column_type(st, 15) == SQLITE_NULL
				    ? json_null()
				    : json_string((const char *)sqlite3_column_text(st, 15)));
	if (sqlite3_column_count(st) > 16)
		json_object_set_new(o, "rule",
				    sqlite3_column_type(st, 16) == SQLITE_NULL
					    ? json_null()
					    : json_string((const char *)sqlite3_column_text(st, 16)));
	return o;
}

#define JOB_COLS                                                                                                       \
	"id, campaign, eid, op, args, state, attempts, next_try, deadline, step, result, created, started, finished, " \
	"decision, who"

json_t *store_job_claim(smsr_store *s, long long campaign, long long now)
{
	store_durability(s, STORE_BEFORE_SEND);
	char ts[32];
	iso_of(now, ts);
	if (store_begin(s))
		return NULL;
	sqlite3_stmt *st;
	store_prep(s,
		   "UPDATE job SET state = 'running', attempts = attempts + 1, started = ?3 WHERE id = (SELECT j.id "
		   "FROM job j WHERE j.campaign = ?1 AND j.state = 'new' AND j.next_try <= ?2 AND NOT EXISTS "
		   "(SELECT 1 FROM job r WHERE r.eid = j.eid AND r.state = 'running') ORDER BY j.next_try, j.id "
		   "LIMIT 1) RETURNING " JOB_COLS,
		   &st);
	sqlite3_bind_int64(st, 1, campaign);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
	json_t *j = sqlite3_step(st) == SQLITE_ROW ? job_row(st) : NULL;
	store_unprep(s, st);
	/* The job's first packet needs a counter block of the ISD-R's keyset: reserved in the claim's
	 * commit, it costs no sync of its own (a job that sends nothing leaves 64 counters unused, which
	 * the card's 'higher' counter mode allows). An eUICC without keyset 1 takes its block later. */
	const char *eid = json_string_value(json_object_get(j, "eid"));
	uint64_t end = 0;
	bool block = eid && !store_counter_block_in(s, eid, 1, &end);
	if (store_commit(s)) {
		exec(s, "ROLLBACK");
		json_decref(j);
		return NULL;
	}
	if (block)
		store_counter_block_taken(s, eid, 1, end);
	return j;
}

int store_job_update(smsr_store *s, long long id, const char *state, long long next_try, json_t *step, json_t *result)
{
	store_durability(s, STORE_SETTLED);
	char ts[32], *st_text = step ? json_dumps(step, JSON_COMPACT) : NULL,
		     *res_text = result ? json_dumps(result, JSON_COMPACT) : NULL;
	now_iso(ts);
	bool final = strcmp(state, "new") && strcmp(state, "running");
	sqlite3_stmt *st;
	store_prep(s,
		   "UPDATE job SET state = ?, next_try = ?, step = coalesce(?, step), result = coalesce(?, "
		   "result), finished = ? WHERE id = ?",
		   &st);
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, next_try);
	sqlite3_bind_text(st, 3, st_text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, res_text, -1, SQLITE_STATIC);
	if (final)
		sqlite3_bind_text(st, 5, ts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, id);
	if (final && store_begin(s)) {
		store_unprep(s, st);
		free(st_text);
		free(res_text);
		return -1;
	}
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	free(st_text);
	free(res_text);
	if (!final)
		return rc;
	/* a job that ends is an event for the rules engine, in the same transaction (events.c) */
	store_prep(s,
		   "INSERT OR IGNORE INTO event (id, eid, type, fields, time, source, received) SELECT 'job:' || j.id, "
		   "j.eid, 'job', json_object('job', j.id, 'op', j.op, 'state', j.state, 'campaign', j.campaign, "
		   "'decision', j.decision, 'rule', (SELECT rule FROM decision d WHERE d.id = j.decision), 'kind', "
		   "json_extract(j.result, '$.kind'), 'message', json_extract(j.result, '$.message')), ?, 'smsr', ? "
		   "FROM job j WHERE j.id = ?",
		   &st);
	sqlite3_bind_int64(st, 1, store_now());
	sqlite3_bind_text(st, 2, ts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	if (!rc && sqlite3_step(st) != SQLITE_DONE)
		rc = -1;
	store_unprep(s, st);
	return store_end(s, rc);
}

json_t *store_jobs(smsr_store *s, long long campaign, const char *state)
{
	return store_jobs_of(s, campaign, state, NULL);
}

json_t *store_jobs_of(smsr_store *s, long long campaign, const char *state, const char *eid)
{
	sqlite3_stmt *st;
	json_t *a = json_array();
	store_prep(s,
		   "SELECT " JOB_COLS ", (SELECT rule FROM decision d WHERE d.id = job.decision) FROM job WHERE (?1 = "
		   "0 OR campaign = ?1) AND (?2 IS NULL OR state = ?2) AND (?3 IS NULL OR eid = ?3) ORDER BY id",
		   &st);
	sqlite3_bind_int64(st, 1, campaign);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, eid, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, job_row(st));
	store_unprep(s, st);
	return a;
}

json_t *store_campaign(smsr_store *s, long long id)
{
	sqlite3_stmt *st;
	store_prep(s,
		   "SELECT id, op, args, target, concurrency, rate, validity, retries, max_failures, state, "
		   "created, finished, who FROM campaign WHERE id = ?",
		   &st);
	sqlite3_bind_int64(st, 1, id);
	json_t *o = NULL;
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = json_pack("{s:I,s:s,s:o,s:s,s:i,s:f,s:I,s:i,s:f,s:s,s:s}", "id",
			      (json_int_t)sqlite3_column_int64(st, 0), "op", sqlite3_column_text(st, 1), "args",
			      json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL), "target",
			      sqlite3_column_text(st, 3), "concurrency", sqlite3_column_int(st, 4), "rate",
			      sqlite3_column_double(st, 5), "validity", (json_int_t)sqlite3_column_int64(st, 6),
			      "retries", sqlite3_column_int(st, 7), "max_failures", sqlite3_column_double(st, 8),
			      "state", sqlite3_column_text(st, 9), "created", sqlite3_column_text(st, 10));
		json_object_set_new(o, "finished",
				    sqlite3_column_type(st, 11) == SQLITE_NULL
					    ? json_null()
					    : json_string((const char *)sqlite3_column_text(st, 11)));
		json_object_set_new(o, "who",
				    sqlite3_column_type(st, 12) == SQLITE_NULL
					    ? json_null()
					    : json_string((const char *)sqlite3_column_text(st, 12)));
	}
	store_unprep(s, st);
	if (!o)
		return NULL;
	json_t *counts = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i}", "new", 0, "running", 0, "done", 0, "failed", 0,
				   "expired", 0, "cancelled", 0);
	store_prep(s, "SELECT state, count(*) FROM job WHERE campaign = ? GROUP BY state", &st);
	sqlite3_bind_int64(st, 1, id);
	long long total = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_object_set_new(counts, (const char *)sqlite3_column_text(st, 0),
				    json_integer(sqlite3_column_int64(st, 1)));
		total += sqlite3_column_int64(st, 1);
	}
	store_unprep(s, st);
	json_object_set_new(counts, "total", json_integer(total));
	json_object_set_new(o, "jobs", counts);
	return o;
}

int store_campaign_set_state(smsr_store *s, long long id, const char *state)
{
	int rc = store_campaign_move(s, id, NULL, state);
	return rc == 1 ? 0 : -1;
}

int store_campaign_move(smsr_store *s, long long id, const char *from, const char *state)
{
	store_durability(s, STORE_BEFORE_SEND);
	char ts[32];
	now_iso(ts);
	bool final = !strcmp(state, "done") || !strcmp(state, "cancelled");
	sqlite3_stmt *st;
	if (store_begin(s))
		return -1;
	store_prep(s,
		   "UPDATE campaign SET state = ?1, finished = ?2 WHERE id = ?3 AND (?4 IS NULL OR instr(',' || ?4 || "
		   "',', ',' || state || ',') > 0)",
		   &st);
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	if (final)
		sqlite3_bind_text(st, 2, ts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	sqlite3_bind_text(st, 4, from, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	int changed = sqlite3_changes(s->db) == 1;
	store_unprep(s, st);
	if (!rc && changed && !strcmp(state, "cancelled")) {
		/* what has not started never will; a running job finishes (or is settled) as it is */
		store_prep(s, "UPDATE job SET state = 'cancelled', finished = ? WHERE campaign = ? AND state = 'new'",
			   &st);
		sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, id);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		store_unprep(s, st);
	}
	if (store_end(s, rc))
		return -1;
	return changed;
}

/* the ICCID of the inventory profile reserved for or installed by a job, if any */
int store_smdp_of_job(smsr_store *s, long long job, char out[21])
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT iccid FROM smdp_profile WHERE job = ? AND state IN ('reserved','installed')", &st);
	sqlite3_bind_int64(st, 1, job);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, 21, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	store_unprep(s, st);
	return rc;
}

/* the first ICCID installed on eid (as the inventory says) whose column the query names equals key */
static int installed_iccid(smsr_store *s, const char *sql, const char *eid, const char *key, char out[21])
{
	sqlite3_stmt *st;
	store_prep(s, sql, &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, 21, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	store_unprep(s, st);
	return rc;
}

int store_smdp_on_card(smsr_store *s, const char *eid, const char *pool, char out[21])
{
	return installed_iccid(s,
			       "SELECT iccid FROM smdp_profile WHERE eid = ? AND pool = ? AND state = 'installed' "
			       "ORDER BY iccid LIMIT 1",
			       eid, pool, out);
}

int store_smdp_of_operator(smsr_store *s, const char *eid, const char *operator_, char out[21])
{
	return installed_iccid(s,
			       "SELECT iccid FROM smdp_profile WHERE eid = ? AND operator = ? AND state = "
			       "'installed' ORDER BY iccid LIMIT 1",
			       eid, operator_, out);
}

int store_campaign_state(smsr_store *s, long long id, char *out, size_t len)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT state FROM campaign WHERE id = ?", &st);
	sqlite3_bind_int64(st, 1, id);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	store_unprep(s, st);
	return rc;
}

bool store_campaign_waiting(smsr_store *s, long long id)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT 1 FROM job WHERE campaign = ? AND state = 'new' LIMIT 1", &st);
	sqlite3_bind_int64(st, 1, id);
	bool any = sqlite3_step(st) == SQLITE_ROW;
	store_unprep(s, st);
	return any;
}

json_t *store_job(smsr_store *s, long long id)
{
	sqlite3_stmt *st;
	store_prep(s,
		   "SELECT " JOB_COLS ", (SELECT rule FROM decision d WHERE d.id = job.decision) FROM job WHERE id = ?",
		   &st);
	sqlite3_bind_int64(st, 1, id);
	json_t *o = sqlite3_step(st) == SQLITE_ROW ? job_row(st) : NULL;
	store_unprep(s, st);
	return o;
}

json_t *store_campaigns(smsr_store *s, const char *state)
{
	sqlite3_stmt *st;
	json_t *ids = json_array(), *out = json_array(), *id;
	store_prep(s, "SELECT id FROM campaign WHERE (?1 IS NULL OR state = ?1) ORDER BY id", &st);
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(ids, json_integer(sqlite3_column_int64(st, 0)));
	store_unprep(s, st);
	size_t i;
	json_array_foreach(ids, i, id)
	{
		json_t *c = store_campaign(s, (long long)json_integer_value(id));
		if (c)
			json_array_append_new(out, c);
	}
	json_decref(ids);
	return out;
}

json_t *store_last_contacts(smsr_store *s)
{
	sqlite3_stmt *st;
	json_t *o = json_object();
	store_prep(s, "SELECT eid, max(finished) FROM job WHERE finished IS NOT NULL GROUP BY eid", &st);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(o, (const char *)sqlite3_column_text(st, 0),
				    json_string((const char *)sqlite3_column_text(st, 1)));
	store_unprep(s, st);
	return o;
}

long long store_job_add(smsr_store *s, long long campaign, const char *eid, const char *op, json_t *args,
			long long validity)
{
	char ts[32], *a = json_dumps(args, JSON_COMPACT | JSON_SORT_KEYS);
	if (!a)
		return -1;
	now_iso(ts);
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	store_prep(s,
		   "INSERT INTO job (campaign, eid, op, args, state, next_try, deadline, created, who) VALUES "
		   "(?,?,?,?,'new',0,?,?,?)",
		   &st);
	sqlite3_bind_int64(st, 1, campaign);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, op, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, a, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now() + validity);
	sqlite3_bind_text(st, 6, ts, -1, SQLITE_STATIC);
	if (s->actor[0])
		sqlite3_bind_text(st, 7, s->actor, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 7);
	long long id = sqlite3_step(st) == SQLITE_DONE ? sqlite3_last_insert_rowid(s->db) : -1;
	store_unprep(s, st);
	free(a);
	return id;
}

long long store_campaign_of_op(smsr_store *s, const char *op)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT id FROM campaign WHERE op = ? ORDER BY id LIMIT 1", &st);
	sqlite3_bind_text(st, 1, op, -1, SQLITE_STATIC);
	long long id = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	store_unprep(s, st);
	return id;
}
