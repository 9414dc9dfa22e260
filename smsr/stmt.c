/* SPDX-License-Identifier: GPL-2.0-or-later */
/* How the store talks to SQLite (store_int.h): prepared statements kept per connection (parsing SQL was
 * a sixth of a campaign job's CPU time, and the same few dozen statements run for every job), one writer
 * at a time within the process, transactions, and the WAL synced for writes that must be on disk. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

int exec(smsr_store *s, const char *sql)
{
	store_writer_enter(s, sql);
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
	store_writer_leave(s);
	return rc;
}

/* one statement, a string literal, through the cache (the transaction boundaries of every job) */
static int exec1(smsr_store *s, const char *sql)
{
	sqlite3_stmt *st;
	if (store_prep(s, sql, &st) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	store_unprep(s, st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

int store_begin(smsr_store *s)
{
	return exec1(s, "BEGIN IMMEDIATE");
}

void store_durability(smsr_store *s, int kind)
{
	if (kind == STORE_BEFORE_SEND)
		s->sync_due = true;
}

/* the directory holding file, synced (a new file's entry) */
static int sync_dir(const char *file)
{
	char dir[4200];
	const char *slash = strrchr(file, '/');
	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - file) + (slash == file) : 1, slash ? file : ".");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

/* Group commit among a process's connections (a campaign's workers): a commit's frames are written
 * before its hook runs, so an fdatasync that starts after the hook took its ticket covers it. A commit
 * whose ticket a finished sync of the same file covered returns at once; one that a sync in progress
 * covers waits for it; otherwise it syncs for every commit made so far. With the card journals' syncs
 * on the same disk a sync waits milliseconds in the queue, long enough for others to join it. */
static pthread_mutex_t gc_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gc_cv = PTHREAD_COND_INITIALIZER;
static unsigned long long gc_tickets, gc_synced, gc_running; /* gc_running: the ticket a sync covers */
static bool gc_busy;
static dev_t gc_dev;
static ino_t gc_ino; /* the file gc_synced (and a sync in progress) is of */

static int group_sync(int fd, dev_t dev, ino_t ino)
{
	pthread_mutex_lock(&gc_mu);
	unsigned long long me = ++gc_tickets;
	int rc = 0;
	for (;;) {
		bool same = gc_dev == dev && gc_ino == ino;
		if (same && gc_synced >= me)
			break;
		if (gc_busy) {
			pthread_cond_wait(&gc_cv, &gc_mu); /* covered by it or not, then look again */
			continue;
		}
		gc_busy = true;
		gc_dev = dev;
		gc_ino = ino;
		gc_running = gc_tickets;
		pthread_mutex_unlock(&gc_mu);
		rc = fdatasync(fd);
		pthread_mutex_lock(&gc_mu);
		gc_busy = false;
		if (!rc && gc_running > gc_synced)
			gc_synced = gc_running;
		pthread_cond_broadcast(&gc_cv);
		break; /* a failure is this commit's own; a waiter syncs again for itself */
	}
	pthread_mutex_unlock(&gc_mu);
	return rc;
}

/* fdatasync of the WAL through a descriptor of our own (the same file SQLite writes: checked by inode,
 * since SQLite may delete and create it again); a new WAL's directory entry is synced once */
static int wal_sync(smsr_store *s)
{
	const char *db = sqlite3_db_filename(s->db, "main");
	char path[4200];
	struct stat st, fst;
	if (!db || !*db || snprintf(path, sizeof(path), "%s-wal", db) >= (int)sizeof(path) || stat(path, &st))
		return -1;
	if (s->wal_fd >= 0 && (fstat(s->wal_fd, &fst) || fst.st_ino != st.st_ino)) {
		close(s->wal_fd);
		s->wal_fd = -1;
	}
	if (s->wal_fd < 0) {
		s->wal_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->wal_fd < 0 || sync_dir(db) || fstat(s->wal_fd, &st))
			return -1;
	}
	return group_sync(s->wal_fd, st.st_dev, st.st_ino);
}

/* Another connection holds the write lock (a campaign's other workers, another smsr): SQLite's own
 * timeout sleeps 1, 2, 5 … 100 ms between tries, long beside a write that takes tens of microseconds;
 * this tries every 50 µs for the first 10 ms, then every millisecond, 5 s in all, or as many tries as
 * the int ctx points to. */
int store_busy_wait(void *ctx, int n)
{
	if (n >= (ctx ? *(const int *)ctx : 200 + 4990))
		return 0;
	struct timespec d = { 0, n < 200 ? 50 * 1000 : 1000 * 1000 };
	nanosleep(&d, NULL);
	return 1;
}

/* SQLite's own automatic checkpoint (passive) tries again at every commit once the WAL holds 1,000
 * frames. With several workers reading, it seldom reaches the WAL's end (it stops at the first frame a
 * reader still needs), so the WAL never started over: it grew past 1 GB over 10,000 swap jobs, and every
 * commit synced the WAL and the database once more for a few frames (15 SM-SR syncs a swap job instead
 * of 6). Here the process tries again only once the WAL has grown by 250 frames, and from 4,000 frames
 * on a restart checkpoint waits for the readers (up to 20 ms; writers wait meanwhile, readers do not),
 * after which the next writer starts the WAL over. */
static int ckpt_next;
static pthread_mutex_t ckpt_mu = PTHREAD_MUTEX_INITIALIZER;

/* a restart checkpoint waits for the readers at most 20 ms (10 at 50 µs, then 10 at 1 ms): writers
 * wait on it meanwhile */
static int ckpt_tries = 200 + 10;

static void checkpoint(sqlite3 *db, const char *name, int frames)
{
	pthread_mutex_lock(&ckpt_mu);
	if (frames < 1000)
		ckpt_next = 1000; /* started over */
	bool go = frames >= 1000 && frames >= ckpt_next;
	if (go)
		ckpt_next = frames + 250;
	pthread_mutex_unlock(&ckpt_mu);
	if (go && frames < 4000) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	} else if (go) {
		sqlite3_busy_handler(db, store_busy_wait, &ckpt_tries);
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
		sqlite3_busy_handler(db, store_busy_wait, NULL);
	}
}

/* after every commit of this connection, with the write lock released: the sync a BEFORE_SEND write
 * needs, then SQLite's own automatic checkpoint (which this hook replaces) */
int store_wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
	smsr_store *s = ctx;
	int rc = SQLITE_OK;
	store_writer_committed(s); /* the sync below is nobody else's wait */
	if (s->sync_due) {
		s->sync_due = false;
		if (wal_sync(s))
			rc = SQLITE_IOERR_FSYNC;
	}
	checkpoint(db, name, frames);
	return rc;
}

int store_begin_settled(smsr_store *s)
{
	store_durability(s, STORE_SETTLED);
	return store_begin(s);
}

void store_rollback(smsr_store *s)
{
	exec1(s, "ROLLBACK");
}

int store_commit(smsr_store *s)
{
	return exec1(s, "COMMIT");
}

int store_end(smsr_store *s, int rc)
{
	if (!rc && !store_commit(s))
		return 0;
	store_rollback(s);
	return -1;
}
