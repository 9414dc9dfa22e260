/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR's store: schema migrations, the SCP80 counter committed before a packet may leave,
 * notifications taken once, and bad input (a duplicate EIS, a damaged or future store) refused with
 * nothing changed. */
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "cardutil.h"
#include "store.h"

typedef struct {
	cu_fixture card;
	char db[300];
	char eid[33];
	smsr_store *st;
} store_fixture;

static store_fixture S;

static void setup(void)
{
	memset(&S, 0, sizeof(S));
	ck_assert_int_eq(cu_setup(&S.card, 7), 0);
	snprintf(S.db, sizeof(S.db), "%s/smsr.db", S.card.dir);
	char why[600];
	ck_assert_msg(store_open(S.db, &S.st, why, sizeof(why)) == 0, "%s", why);
	ck_assert_msg(store_register(S.st, S.card.eis, NULL, NULL, S.eid, why, sizeof(why)) == 0, "%s", why);
}

static void teardown(void)
{
	store_close(S.st);
	cu_teardown(&S.card);
}

static void reopen(void)
{
	char why[600];
	store_close(S.st);
	S.st = NULL;
	ck_assert_msg(store_open(S.db, &S.st, why, sizeof(why)) == 0, "%s", why);
}

/* the user_version of the file, read with SQLite itself */
static int file_version(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int v = -1;
	ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

START_TEST(migrated_once)
{
	int v = store_schema_version(S.st);
	ck_assert_int_ge(v, 1);
	ck_assert_int_eq(file_version(S.db), v);
	reopen(); /* an up-to-date store is opened as it is: its eUICC is still there */
	ck_assert_int_eq(store_schema_version(S.st), v);
	char e[33], why[600];
	ck_assert_int_eq(store_resolve_eid(S.st, NULL, e, why, sizeof(why)), 0);
	ck_assert_str_eq(e, S.eid);
}
END_TEST

/* whether this process holds SQLite's shared lock on the database file, as another process sees it */
static int shared_lock_seen(const char *path)
{
	pid_t c = fork();
	if (c == 0) {
		int fd = open(path, O_RDWR);
		struct flock l = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0x40000002, .l_len = 510 };
		_exit(fd >= 0 && fcntl(fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK ? 1 : 0);
	}
	int st = 0;
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A second connection opened in a process must leave the first one's locks in place: a descriptor of
 * the file opened and closed beside SQLite dropped them (POSIX locks are per process and file), and
 * another process closing the store then took it for unused and deleted the WAL under them. */
START_TEST(second_connection_keeps_locks)
{
	json_decref(store_list(S.st)); /* a read: the connection takes its shared lock */
	ck_assert_int_eq(shared_lock_seen(S.db), 1);
	smsr_store *b = NULL;
	char why[600];
	ck_assert_msg(store_open(S.db, &b, why, sizeof(why)) == 0, "%s", why);
	ck_assert_int_eq(shared_lock_seen(S.db), 1);
	store_close(b);
	ck_assert_int_eq(shared_lock_seen(S.db), 1);
}
END_TEST

START_TEST(future_schema_refused)
{
	store_close(S.st);
	S.st = NULL;
	sqlite3 *db;
	ck_assert_int_eq(sqlite3_open(S.db, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	char why[600];
	ck_assert_int_ne(store_open(S.db, &S.st, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "schema version 99"));
	ck_assert_int_eq(file_version(S.db), 99); /* left as it was */
}
END_TEST

START_TEST(damaged_file_refused)
{
	store_close(S.st);
	S.st = NULL;
	char junk[300];
	snprintf(junk, sizeof(junk), "%s/junk.db", S.card.dir);
	FILE *f = fopen(junk, "wb");
	ck_assert_ptr_nonnull(f);
	for (int i = 0; i < 4096; i++)
		fputc(i * 37 & 0xFF, f);
	fclose(f);
	struct stat before, after;
	ck_assert_int_eq(stat(junk, &before), 0);
	char why[600];
	smsr_store *st = NULL;
	ck_assert_int_ne(store_open(junk, &st, why, sizeof(why)), 0);
	ck_assert_ptr_null(st);
	ck_assert_int_gt((int)strlen(why), 0);
	ck_assert_int_eq(stat(junk, &after), 0);
	ck_assert_int_eq((int)after.st_size, (int)before.st_size);
	ck_assert_int_eq(store_open(S.db, &S.st, why, sizeof(why)), 0);
}
END_TEST

START_TEST(counter_committed_before_send)
{
	scp80_keyset ks;
	uint64_t last = 0, a = 0, b = 0;
	ck_assert_int_eq(store_keyset(S.st, S.eid, 1, &ks, &last), 0);
	ck_assert_int_eq(store_next_counter(S.st, S.eid, 1, &a), 0);
	ck_assert_int_eq(store_next_counter(S.st, S.eid, 1, &b), 0);
	ck_assert(a > last);
	ck_assert(b == a + 1);
	/* the value handed out is on disk before the caller may send it: another connection sees it */
	sqlite3 *db;
	sqlite3_stmt *st;
	ck_assert_int_eq(sqlite3_open_v2(S.db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT counter FROM keyset WHERE kvn = 1", -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert((uint64_t)sqlite3_column_int64(st, 0) >= b); /* the reserved block covers b */
	sqlite3_finalize(st);
	sqlite3_close(db);
	reopen();
	uint64_t c = 0;
	ck_assert_int_eq(store_next_counter(S.st, S.eid, 1, &c), 0);
	ck_assert(c > b); /* never a counter twice, across restarts */
	scp80_keyset_clear(&ks);
}
END_TEST

START_TEST(unknown_keyset_refused)
{
	uint64_t c = 0;
	ck_assert_int_ne(store_next_counter(S.st, S.eid, 9, &c), 0);
	ck_assert_int_ne(store_next_counter(S.st, "89049032123451234512345678901235", 1, &c), 0);
}
END_TEST

START_TEST(notifications_idempotent)
{
	static const char aid[] = "A0000005591010FFFFFFFF8900001000";
	bool dup = true;
	ck_assert_int_eq(store_notif_received(S.st, S.eid, 5, 2, "profile-change", aid, &dup), 0);
	ck_assert(!dup);
	ck_assert_int_eq(store_notif_received(S.st, S.eid, 5, 2, "profile-change", aid, &dup), 0);
	ck_assert(dup); /* the same notification delivered again acts once */
	json_t *n = store_notifs(S.st, S.eid);
	size_t found = 0, i;
	json_t *o;
	json_array_foreach(n, i, o) found += json_integer_value(json_object_get(o, "seq")) == 5;
	ck_assert_int_eq((int)found, 1);
	json_decref(n);
	ck_assert_int_eq(store_notif_confirmed(S.st, S.eid, 5), 0);
	n = store_notifs(S.st, S.eid);
	json_array_foreach(n, i, o) if (json_integer_value(json_object_get(o, "seq")) == 5)
		ck_assert(json_is_string(json_object_get(o, "confirmed")));
	json_decref(n);
}
END_TEST

START_TEST(duplicate_eis_refused)
{
	char e[33], why[600];
	json_t *before = store_list(S.st);
	ck_assert_int_ne(store_register(S.st, S.card.eis, NULL, NULL, e, why, sizeof(why)), 0);
	ck_assert_int_gt((int)strlen(why), 0);
	json_t *after = store_list(S.st);
	ck_assert(json_equal(before, after));
	json_decref(before);
	json_decref(after);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, migrated_once);
	tcase_add_test(tc, second_connection_keeps_locks);
	tcase_add_test(tc, future_schema_refused);
	tcase_add_test(tc, damaged_file_refused);
	tcase_add_test(tc, counter_committed_before_send);
	tcase_add_test(tc, unknown_keyset_refused);
	tcase_add_test(tc, notifications_idempotent);
	tcase_add_test(tc, duplicate_eis_refused);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
