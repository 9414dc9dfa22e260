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
	bool settled; /* the connection commits with synchronous=NORMAL (see store_durability) */
};

/* A prepared statement for SQL, which must be a string literal (the cache knows it by its address):
 * cached per connection and reset by store_unprep, which finalizes any other statement. */
int store_prep(smsr_store *s, const char *sql, sqlite3_stmt **st);
int store_unprep(smsr_store *s, sqlite3_stmt *st); /* the last step's error, as sqlite3_finalize */
void store_stmts_free(smsr_store *s);
void now_iso(char out[32]);
int exec(smsr_store *s, const char *sql);
/* Two kinds of write (docs/fleet.md, "Durability"). BEFORE_SEND: what must be on disk before a packet
 * may leave (a counter block, a job's claim, a reservation, a notification received, keys), committed
 * with synchronous=FULL, whose sync also covers every commit before it. SETTLED: bookkeeping that an
 * audit rebuilds from the card (ISD-P rows, job results, the log), committed with synchronous=NORMAL:
 * a killed process loses none of it, a power loss at most what followed the last BEFORE_SEND commit.
 * Called before a write outside a transaction; inside one it changes nothing. */
enum { STORE_BEFORE_SEND, STORE_SETTLED };
void store_durability(smsr_store *s, int kind);

#endif
