/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Inside the store: the files that keep its tables (store.c the eUICCs, keys and ISD-Ps; fleet.c the
 * endpoints and tags; inventory.c the SM-DP's profiles; jobs.c jobs and campaigns) share the handle. */
#ifndef SMSR_STORE_INT_H
#define SMSR_STORE_INT_H

#include <sqlite3.h>

#include "store.h"

/* counters handed out from a block reserved (committed) in the store */
typedef struct {
	char eid[33];
	int kvn;
	uint64_t next, limit; /* next <= limit: next..limit are reserved and not yet used */
} counter_block;

/* a prepared statement of the cache (stmt.c), known by the address of its SQL text */
typedef struct {
	const char *sql;
	sqlite3_stmt *st;
	bool busy;
} store_stmt;
#define STORE_STMTS 96

struct smsr_store {
	sqlite3 *db;
	store_stmt stmts[STORE_STMTS];
	counter_block cb;
	bool sync_due;	/* a BEFORE_SEND write is under way: its commit syncs the WAL (store_durability) */
	bool writing;	/* holds the process's writer lock (stmt.c) */
	int wal_fd;	/* the WAL, opened by us to sync it outside SQLite's write lock; -1 until needed */
	char actor[80]; /* who the changes are made for (store_set_actor), "" for the local user */
};

/* A prepared statement for SQL, which must be a string literal (the cache knows it by its address):
 * cached per connection and reset by store_unprep, which finalizes any other statement. */
int store_prep(smsr_store *s, const char *sql, sqlite3_stmt **st);
int store_unprep(smsr_store *s, sqlite3_stmt *st); /* the last step's error, as sqlite3_finalize */
void store_stmts_free(smsr_store *s);
/* the process's writer lock around a statement run outside store_prep (exec) */
void store_writer_enter(smsr_store *s, const char *sql);
void store_writer_leave(smsr_store *s);
void store_writer_committed(smsr_store *s); /* from the WAL hook: the commit is made, the lock goes */
/* ends the transaction: committed when rc is 0 and the commit takes, else rolled back; 0 or -1 */
int store_end(smsr_store *s, int rc);
void now_iso(char out[32]);
/* an ISD-P as store_isdps has it, from columns c.. (aid, iccid, state, fallback, emergency, keys) */
json_t *store_isdp_row(sqlite3_stmt *st, int c);
int exec(smsr_store *s, const char *sql);
/* Inside a transaction: the next block of kvn's counters for eid reserved (its last counter in *end),
 * to be taken by store_counter_block_taken once the transaction is committed. 0 or -1 (no keyset). */
int store_counter_block_in(smsr_store *s, const char *eid, int kvn, uint64_t *end);
void store_counter_block_taken(smsr_store *s, const char *eid, int kvn, uint64_t end);
/* the busy handler of every connection: tries every 50 µs, then every millisecond, 5 s in all (ctx
 * NULL) or as many tries as the int ctx points to */
int store_busy_wait(void *ctx, int n);
/* Two kinds of write (docs/fleet.md, "Durability"). Every commit is made with synchronous=NORMAL, so no
 * sync happens under SQLite's write lock. BEFORE_SEND: what must be on disk before a packet may leave
 * (a counter block, a job's claim, a reservation, a notification received, keys): the WAL is synced
 * right after its commit, before the call returns (the WAL hook), and that sync covers every commit
 * before it. SETTLED: bookkeeping that an audit rebuilds from the card (ISD-P rows, job results, the
 * log): a killed process loses none of it, a power loss at most what followed the last BEFORE_SEND
 * commit. Called before the write (or its transaction). */
enum { STORE_BEFORE_SEND, STORE_SETTLED };
void store_durability(smsr_store *s, int kind);
/* installed on every connection (sqlite3_wal_hook) */
int store_wal_hook(void *ctx, sqlite3 *db, const char *name, int frames);

#endif
