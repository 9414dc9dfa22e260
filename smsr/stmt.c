/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store's prepared statements, kept per connection (store_int.h): parsing SQL was a sixth of a
 * campaign job's CPU time, and the same few dozen statements run for every job. */
#include <stdlib.h>

#include "store_int.h"

int store_prep(smsr_store *s, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	store_stmt *free_slot = NULL;
	for (size_t i = 0; i < STORE_STMTS; i++) {
		store_stmt *e = &s->stmts[i];
		if (e->sql == sql && !e->busy) {
			e->busy = true;
			*st = e->st;
			return SQLITE_OK;
		}
		if (!e->sql && !free_slot)
			free_slot = e;
	}
	/* a statement in use already (a nested query) or a full cache: one of its own, finalized after */
	int rc = sqlite3_prepare_v3(s->db, sql, -1, free_slot ? SQLITE_PREPARE_PERSISTENT : 0, st, NULL);
	if (rc == SQLITE_OK && free_slot && *st) {
		free_slot->sql = sql;
		free_slot->st = *st;
		free_slot->busy = true;
	}
	return rc;
}

int store_unprep(smsr_store *s, sqlite3_stmt *st)
{
	if (!st)
		return SQLITE_OK;
	for (size_t i = 0; i < STORE_STMTS; i++) {
		store_stmt *e = &s->stmts[i];
		if (e->st == st) {
			int rc = sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			e->busy = false;
			return rc;
		}
	}
	return sqlite3_finalize(st);
}

void store_stmts_free(smsr_store *s)
{
	for (size_t i = 0; i < STORE_STMTS; i++) {
		sqlite3_finalize(s->stmts[i].st);
		s->stmts[i] = (store_stmt){ 0 };
	}
}
