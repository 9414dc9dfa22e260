/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store's prepared statements, kept per connection (store_int.h): parsing SQL was a sixth of a
 * campaign job's CPU time, and the same few dozen statements run for every job. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_int.h"

/* One writer at a time within the process. SQLite's own lock keeps writers of different processes
 * apart, but a connection that finds it taken can only sleep and try again (store.c's busy handler):
 * with several workers of a campaign that polling cost more than the writes. Taken before a write
 * transaction starts (BEGIN, SAVEPOINT, or a write statement outside one), given back when the
 * connection is in autocommit mode again (committed or rolled back). */
static pthread_mutex_t writer = PTHREAD_MUTEX_INITIALIZER;

static bool starts_write(const char *sql)
{
	while (*sql == ' ' || *sql == '\t' || *sql == '\n')
		sql++;
	static const char *const w[] = { "BEGIN", "SAVEPOINT", "INSERT", "UPDATE", "DELETE", "REPLACE" };
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		if (!strncasecmp(sql, w[i], strlen(w[i])))
			return true;
	return false;
}

void store_writer_enter(smsr_store *s, const char *sql)
{
	if (!s->writing && sqlite3_get_autocommit(s->db) && starts_write(sql)) {
		pthread_mutex_lock(&writer);
		s->writing = true;
	}
}

void store_writer_committed(smsr_store *s)
{
	if (s->writing) {
		s->writing = false;
		pthread_mutex_unlock(&writer);
	}
}

void store_writer_leave(smsr_store *s)
{
	if (s->writing && sqlite3_get_autocommit(s->db)) {
		s->writing = false;
		pthread_mutex_unlock(&writer);
	}
}

int store_prep(smsr_store *s, const char *sql, sqlite3_stmt **st)
{
	*st = NULL;
	store_writer_enter(s, sql);
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
	if (!st) {
		store_writer_leave(s);
		return SQLITE_OK;
	}
	for (size_t i = 0; i < STORE_STMTS; i++) {
		store_stmt *e = &s->stmts[i];
		if (e->st == st) {
			int rc = sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			e->busy = false;
			store_writer_leave(s);
			return rc;
		}
	}
	int rc = sqlite3_finalize(st);
	store_writer_leave(s);
	return rc;
}

void store_stmts_free(smsr_store *s)
{
	for (size_t i = 0; i < STORE_STMTS; i++) {
		sqlite3_finalize(s->stmts[i].st);
		s->stmts[i] = (store_stmt){ 0 };
	}
}
