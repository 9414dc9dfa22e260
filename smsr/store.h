/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR's EIS store: SQLite (WAL, foreign keys, schema version with migrations). */
#ifndef SMSR_STORE_H
#define SMSR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "apdu/scp80.h"

typedef struct smsr_store smsr_store;

const char *store_default_path(char *buf, size_t len);
int store_open(const char *path, smsr_store **out, char *why, size_t why_len);
void store_close(smsr_store *s);
int store_schema_version(smsr_store *s);

/* ES1: imports an EIS (validated field by field; a known EID is refused). */
/* Checks every field of an EIS as register takes it (EID check digits, certificates, keysets with
 * their algorithms, key lengths and counters); -1 with the field named in why. */
int store_check_eis(json_t *eis, char *why, size_t why_len);
/* with its endpoint (a URI, may be NULL) and tags (an object of strings, may be NULL); inside a caller's
 * transaction it is a savepoint of it */
int store_register(smsr_store *s, json_t *eis, const char *endpoint, json_t *tags, char out_eid[33], char *why,
		   size_t why_len);
/* Picks the EID: the given one (must be registered) or the only registered one. */
int store_resolve_eid(smsr_store *s, const char *eid, char out[33], char *why, size_t why_len);
json_t *store_eis(smsr_store *s, const char *eid);

/* SCP80 keyset `kvn` of an eUICC; counter = the last one used. */
int store_keyset(smsr_store *s, const char *eid, int kvn, scp80_keyset *ks, uint64_t *counter);
/* The next counter to send. The store reserves STORE_COUNTER_BLOCK counters at a time: its counter
 * column is the end of the reserved block, committed before any counter of it leaves (a crash skips
 * the rest of the block, never reuses one). */
#define STORE_COUNTER_BLOCK 64
int store_next_counter(smsr_store *s, const char *eid, int kvn, uint64_t *out);
int store_set_counter(smsr_store *s, const char *eid, int kvn, uint64_t value);

/* ISD-Ps */
int store_isdp_put(smsr_store *s, const char *eid, const char *aid, const char *iccid, const char *state, int fallback,
		   int emergency);
int store_isdp_state(smsr_store *s, const char *eid, const char *aid, const char *state);
int store_isdp_keys(smsr_store *s, const char *eid, const char *aid, const uint8_t key[16], int kvn);
int store_isdp_delete(smsr_store *s, const char *eid, const char *aid);
int store_isdp_clear(smsr_store *s, const char *eid);
/* Deletes the ISD-Ps of `eid` whose AID is not in `keep` (n AIDs): what an audit did not see. */
int store_isdp_prune(smsr_store *s, const char *eid, char (*keep)[33], size_t n);
/* AID or ICCID to AID */
int store_isdp_find(smsr_store *s, const char *eid, const char *aid_or_iccid, char aid[33], char iccid[21]);
json_t *store_isdps(smsr_store *s, const char *eid);
/* the next free ISD-P AID (counter from 0010) */
int store_next_aid(smsr_store *s, const char *eid, char aid[33]);

/* notifications: received (idempotent on duplicates) and confirmed */
/* kind: the rules' name of its type (declaration, profile-change, ...); an event goes with it */
int store_notif_received(smsr_store *s, const char *eid, unsigned seq, unsigned type, const char *kind, const char *aid,
			 bool *dup);
int store_notif_confirmed(smsr_store *s, const char *eid, unsigned seq);
json_t *store_notifs(smsr_store *s, const char *eid);

/* fleet.c: endpoints, tags and selections */
int store_endpoint(smsr_store *s, const char *eid, char *out, size_t len);
int store_set_endpoint(smsr_store *s, const char *eid, const char *uri);
/* One line of a fleet CSV, split in place: eis, endpoint (checked as link_open_uri reads it), tags
 * (K=V;K=V, a new object the caller releases). -1 with the field at fault named. */
typedef struct {
	const char *eis, *endpoint;
	json_t *tags;
} store_fleet_row;
int store_fleet_line(char *line, store_fleet_row *row, char *why, size_t why_len);
/* "K=V;K=V" into tags (an object); -1 with the tag at fault named */
int store_parse_tags(const char *text, json_t *tags, char *why, size_t why_len);
typedef struct {
	json_t *tags;	       /* every K=V must match (NULL: any) */
	const char *state;     /* an ISD-P in this state (NULL: any) */
	const char *operator_; /* the enabled profile's operator, from the SM-DP inventory (NULL: any) */
	json_t *eids;	       /* an object whose keys are the EIDs to take (NULL: all) */
} store_filter;
/* the eUICCs that match f (NULL: all), in EID order: {eid} or, with details, also registered, counter,
 * endpoint, tags, isdps, enabled {iccid, operator} */
json_t *store_fleet(smsr_store *s, const store_filter *f, bool details);
json_t *store_list(smsr_store *s);
/* the enabled profile of eid: {iccid, operator (from the SM-DP's inventory, when it is its)}, NULL: none */
json_t *store_enabled(smsr_store *s, const char *eid);

/* inventory.c: the SM-DP's profiles, sealed (AES-256-GCM) under a key-encryption key kept outside */
int inventory_kek_load(const char *path, bool create, uint8_t kek[32], char *why, size_t why_len);
typedef struct {
	const char *iccid, *imsi, *operator_, *pool; /* pool may be NULL */
} smdp_entry;
int store_smdp_add(smsr_store *s, const uint8_t kek[32], const smdp_entry *e, const uint8_t *pkg, size_t len, char *why,
		   size_t why_len);
/* the package of iccid, unsealed; -1 with why (a wrong KEK, a tampered row) and nothing in pkg */
int store_smdp_open(smsr_store *s, const uint8_t kek[32], const char *iccid, abuf *pkg, char *why, size_t why_len);
/* takes iccid (available, or reserved by this job for eid), or the first available of pool, for eid
 * (and job, 0: none): state reserved. -1 with why */
int store_smdp_reserve(smsr_store *s, const char *iccid, const char *pool, const char *eid, long long job, char out[21],
		       char *why, size_t why_len);
/* state available (eid NULL), reserved, installed (eid) or deleted */
int store_smdp_set(smsr_store *s, const char *iccid, const char *state, const char *eid);
json_t *store_smdp_list(smsr_store *s, const char *pool, const char *state);
int store_smdp_of_job(smsr_store *s, long long job, char out[21]);
int store_smdp_on_card(smsr_store *s, const char *eid, const char *pool, char out[21]);
/* the ICCID on eid of operator (installed there, the inventory says) */
int store_smdp_of_operator(smsr_store *s, const char *eid, const char *operator_, char out[21]);

/* jobs.c: jobs and campaigns */
long long store_now(void);
typedef struct {
	const char *op;
	json_t *args; /* the operation's arguments (object) */
	const char *target;
	int concurrency;
	double rate;	     /* jobs per second at most, 0: no limit */
	long long validity;  /* seconds from creation */
	int retries;	     /* more attempts after a transport failure */
	double max_failures; /* percent of finished jobs failed that pauses the campaign (100: never) */
} store_campaign_spec;
/* the campaign and one new job per EID of eids (strings), in one transaction; its id or -1 */
long long store_campaign_create(smsr_store *s, const store_campaign_spec *c, json_t *eids, char *why, size_t why_len);
/* the same inside a transaction of the caller's, its jobs due from first_try (0: now) */
long long store_campaign_insert(smsr_store *s, const store_campaign_spec *c, json_t *eids, long long first_try);
json_t *store_campaign(smsr_store *s, long long id); /* NULL: none; with "jobs" counts by state */
int store_campaign_set_state(smsr_store *s, long long id, const char *state);
/* the state changed only from one of from ("ready,paused"; NULL: any), in one statement (no other
 * process's change in between): 1 changed, 0 it was in none of them, -1 the store failed */
int store_campaign_move(smsr_store *s, long long id, const char *from, const char *state);
/* the state alone (no counts): cheap enough to ask before every job */
int store_campaign_state(smsr_store *s, long long id, char *out, size_t len);
bool store_campaign_waiting(smsr_store *s, long long id); /* a job of it is new (due or not) */
/* the next job of campaign to run (new, due, its eUICC not busy), claimed: running, attempts + 1,
 * committed; NULL when none */
json_t *store_job_claim(smsr_store *s, long long campaign, long long now);
/* state (and when new again, next_try), step and result (NULL: kept) */
int store_job_update(smsr_store *s, long long id, const char *state, long long next_try, json_t *step, json_t *result);
/* campaign 0: all; state NULL: any */
json_t *store_jobs(smsr_store *s, long long campaign, const char *state);
json_t *store_jobs_of(smsr_store *s, long long campaign, const char *state, const char *eid); /* eid NULL: all */
void store_log(smsr_store *s, const char *what, const char *eid, const char *result);
json_t *store_job(smsr_store *s, long long id);		   /* one job as store_jobs has it, NULL: none */
json_t *store_campaigns(smsr_store *s, const char *state); /* every campaign (state NULL: any), as store_campaign */
/* one new job in campaign (due now, valid for validity seconds), committed; its id or -1 */
long long store_job_add(smsr_store *s, long long campaign, const char *eid, const char *op, json_t *args,
			long long validity);
json_t *store_last_contacts(smsr_store *s);
/* the first campaign of op (the rules' and the API's own campaigns), 0: none */
long long store_campaign_of_op(smsr_store *s, const char *op); /* {EID: when its last job ended} */

/* tokens.c: who changes the store, and the API's bearer tokens (only their SHA-256 is stored) */
/* the name recorded with what follows on this connection (jobs, campaigns, the log); NULL: the user */
void store_set_actor(smsr_store *s, const char *name);
/* a new token for name with role operator|viewer: 1 made (the token in out, shown once), -1 with why */
int store_token_create(smsr_store *s, const char *name, const char *role, char out[80], char *why, size_t why_len);
/* the token's name and role: 0 known, 1 not known, -1 the store failed */
int store_token_check(smsr_store *s, const char *token, char name[64], char role[16]);
json_t *store_tokens(smsr_store *s);			 /* [{name, role, created}] */
int store_token_revoke(smsr_store *s, const char *name); /* 0 revoked, 1 no such token, -1 */
/* the clock of store_now, moved to now (a scenario's virtual time): it runs on from there */
void store_set_clock(long long now);

/* events.c: the rules engine's events, rule sets, decisions and rule state */
typedef struct {
	const char *id; /* NULL: one derived from the content (eid, type, time, fields) */
	const char *eid, *type;
	json_t *fields;	    /* an object */
	long long time;	    /* seconds since the epoch (store_now: the engine's clock) */
	const char *source; /* cli, file, smsr, timer, api */
} store_event;
/* 1 stored (*seq its number), 0 a duplicate of a stored id (nothing changes), -1 with why */
int store_event_add(smsr_store *s, const store_event *e, long long *seq, char *why, size_t why_len);
/* the first undecided event due at now (by time, then arrival), NULL: none */
json_t *store_event_due(smsr_store *s, long long now);
/* undecided events due at now; *next the earliest time of any undecided one (0: none) */
long long store_events_waiting(smsr_store *s, long long now, long long *next);
/* by id or sequence number, with its decisions; NULL: none */
json_t *store_event_get(smsr_store *s, const char *id);
/* the last limit events of eid (NULL: all eUICCs; limit 0: all), oldest first */
json_t *store_events_of(smsr_store *s, const char *eid, long long limit);
json_t *store_decisions_of(smsr_store *s, const char *eid);
/* at most limit events stored after sequence number seq, in order (a server's feed) */
json_t *store_events_after(smsr_store *s, long long seq, long long limit);
/* what a rule's `for` asks of an eUICC: {tags, enabled {iccid, operator} or null, states [ISD-P states]};
 * NULL: not in the store */
json_t *store_euicc_facts(smsr_store *s, const char *eid);
typedef struct {
	bool in_episode;	/* the rule's condition holds since `since` */
	long long since, count; /* count: matching events in the episode */
	bool acted;		/* acted in this episode */
	bool has_acted;
	long long last_acted;
} store_rule_st;
int store_rule_state(smsr_store *s, const char *rule, const char *eid, store_rule_st *out); /* 1: none yet */
/* every rule's state on eid at once (an event is held against all rules) */
typedef struct {
	char rule[64];
	store_rule_st st;
} store_rule_entry;
typedef struct {
	store_rule_entry *v;
	size_t n, cap;
} store_rule_map;
int store_rule_states(smsr_store *s, const char *eid, store_rule_map *out);
/* decisions of rule on eid that acted (or would have, dry-run) after since */
long long store_rule_acted_since(smsr_store *s, const char *rule, const char *eid, long long since);
typedef struct {
	const char *rule, *eid, *outcome, *detail; /* outcome: acted, dry-run, held, cooldown, limit, ... */
	long long time;
	json_t *actions; /* acted: [{op, args, delay}], one job each */
} store_decision;
typedef struct {
	const char *rule, *eid;
	store_rule_st st;
} store_state_change;
/* one event decided, all or nothing: its decisions (and their jobs, in campaign), the rules' state, new
 * timer events, the event marked decided with its explanation */
int store_decide(smsr_store *s, long long seq, json_t *explain, const store_decision *d, size_t nd,
		 const store_state_change *sc, size_t ns, const store_event *timers, size_t nt, long long campaign,
		 long long validity, char *why, size_t why_len);
long long store_ruleset_put(smsr_store *s, const char *name, const char *text); /* its version, -1 */
json_t *store_ruleset(smsr_store *s); /* the latest {version, name, text, loaded}, NULL: none */
/* the campaign that holds the rules' jobs (made the first time), settings updated; -1 */
long long store_rules_campaign(smsr_store *s, int concurrency, int retries, long long validity);
/* campaigns that decisions made and that are not over (ready, running, paused): ids */
json_t *store_decided_campaigns(smsr_store *s);
int store_begin(smsr_store *s);
/* a transaction of bookkeeping an audit rebuilds (store_int.h, store_durability) */
int store_begin_settled(smsr_store *s);
int store_commit(smsr_store *s);
void store_rollback(smsr_store *s);

#endif
