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
int store_notif_received(smsr_store *s, const char *eid, unsigned seq, unsigned type, const char *aid, bool *dup);
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
json_t *store_campaign(smsr_store *s, long long id); /* NULL: none; with "jobs" counts by state */
int store_campaign_set_state(smsr_store *s, long long id, const char *state);
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
void store_log(smsr_store *s, const char *what, const char *eid, const char *result);
int store_begin(smsr_store *s);
/* a transaction of bookkeeping an audit rebuilds (store_int.h, store_durability) */
int store_begin_settled(smsr_store *s);
int store_commit(smsr_store *s);
void store_rollback(smsr_store *s);

#endif
