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

struct smsr_store {
	sqlite3 *db;
	counter_block cb;
};

void now_iso(char out[32]);
int exec(smsr_store *s, const char *sql);

#endif
