/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR's EIS store: SQLite (WAL, foreign keys, schema version with migrations). */
#ifndef SMSR_STORE_H
#define SMSR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

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
int store_register(smsr_store *s, json_t *eis, char out_eid[33], char *why, size_t why_len);
/* Picks the EID: the given one (must be registered) or the only registered one. */
int store_resolve_eid(smsr_store *s, const char *eid, char out[33], char *why, size_t why_len);
json_t *store_eis(smsr_store *s, const char *eid);

/* SCP80 keyset `kvn` of an eUICC; counter = the last one used. */
int store_keyset(smsr_store *s, const char *eid, int kvn, scp80_keyset *ks, uint64_t *counter);
/* Increments the counter and commits it before the packet leaves; returns the value to send. */
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

json_t *store_list(smsr_store *s);
void store_log(smsr_store *s, const char *what, const char *eid, const char *result);
int store_begin(smsr_store *s);
int store_commit(smsr_store *s);

#endif
