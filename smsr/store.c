/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "apdu/crypto.h"
#include "apdu/gpcert.h"
#include "apdu/scp80.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "host/pki.h"
#include "store.h"
#include "store_int.h"

/* Schema migrations: entry i takes the database from version i to i+1. */
static const char *const migrations[] = {
	"CREATE TABLE euicc (eid TEXT PRIMARY KEY, eis TEXT NOT NULL, registered TEXT NOT NULL);"
	"CREATE TABLE keyset (eid TEXT NOT NULL REFERENCES euicc(eid) ON DELETE CASCADE, kvn INTEGER NOT NULL,"
	"  kic_alg INTEGER NOT NULL, kid_alg INTEGER NOT NULL, kic BLOB NOT NULL, kid BLOB NOT NULL,"
	"  counter INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (eid, kvn));"
	"CREATE TABLE isdp (eid TEXT NOT NULL REFERENCES euicc(eid) ON DELETE CASCADE, aid TEXT NOT NULL,"
	"  iccid TEXT, state TEXT NOT NULL, fallback INTEGER NOT NULL DEFAULT 0, emergency INTEGER NOT NULL DEFAULT 0,"
	"  scp03_key BLOB, scp03_kvn INTEGER, PRIMARY KEY (eid, aid));"
	"CREATE TABLE notification (eid TEXT NOT NULL REFERENCES euicc(eid) ON DELETE CASCADE, seq INTEGER NOT NULL,"
	"  type INTEGER NOT NULL, aid TEXT, received TEXT NOT NULL, confirmed TEXT, PRIMARY KEY (eid, seq));"
	"CREATE TABLE oplog (id INTEGER PRIMARY KEY, ts TEXT NOT NULL, who TEXT NOT NULL, what TEXT NOT NULL,"
	"  eid TEXT, result TEXT NOT NULL);",
	/* 2: the fleet (endpoints, tags), counters reserved in blocks, the SM-DP's inventory, jobs, campaigns */
	"ALTER TABLE euicc ADD COLUMN endpoint TEXT;"
	"ALTER TABLE euicc ADD COLUMN tags TEXT NOT NULL DEFAULT '{}';"
	"CREATE TABLE smdp_profile (iccid TEXT PRIMARY KEY, imsi TEXT NOT NULL, operator TEXT NOT NULL,"
	"  pool TEXT, state TEXT NOT NULL, eid TEXT, job INTEGER, added TEXT NOT NULL, nonce BLOB NOT NULL,"
	"  sealed BLOB NOT NULL);"
	"CREATE TABLE smdp_meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);"
	"CREATE INDEX smdp_pool ON smdp_profile (pool, state, iccid);"
	"CREATE INDEX smdp_job ON smdp_profile (job) WHERE job IS NOT NULL;"
	"CREATE INDEX smdp_eid ON smdp_profile (eid, pool, state, iccid) WHERE eid IS NOT NULL;"
	"CREATE TABLE campaign (id INTEGER PRIMARY KEY, op TEXT NOT NULL, args TEXT NOT NULL, target TEXT NOT NULL,"
	"  concurrency INTEGER NOT NULL, rate REAL NOT NULL, validity INTEGER NOT NULL, retries INTEGER NOT NULL,"
	"  max_failures REAL NOT NULL, state TEXT NOT NULL, created TEXT NOT NULL, finished TEXT);"
	"CREATE TABLE job (id INTEGER PRIMARY KEY, campaign INTEGER REFERENCES campaign(id), eid TEXT NOT NULL"
	"  REFERENCES euicc(eid), op TEXT NOT NULL, args TEXT NOT NULL, state TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0, deadline INTEGER NOT NULL,"
	"  step TEXT, result TEXT, created TEXT NOT NULL, started TEXT, finished TEXT);"
	"CREATE INDEX job_campaign ON job (campaign, state, next_try, id);"
	"CREATE UNIQUE INDEX job_one_per_euicc ON job (eid) WHERE state = 'running';",
	/* 3: the rules engine (events.c): events in, rule sets, decisions, each rule's state per eUICC */
	"CREATE TABLE event (seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, eid TEXT NOT NULL, type TEXT NOT NULL,"
	"  fields TEXT NOT NULL, time INTEGER NOT NULL, source TEXT NOT NULL, received TEXT NOT NULL,"
	"  decided TEXT, explain TEXT);"
	"CREATE INDEX event_due ON event (time, seq) WHERE decided IS NULL;"
	"CREATE INDEX event_eid ON event (eid, time);"
	"CREATE TABLE ruleset (version INTEGER PRIMARY KEY, name TEXT NOT NULL, text TEXT NOT NULL,"
	"  loaded TEXT NOT NULL);"
	"CREATE TABLE decision (id INTEGER PRIMARY KEY, event INTEGER NOT NULL REFERENCES event(seq),"
	"  rule TEXT NOT NULL, eid TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, jobs TEXT,"
	"  campaign INTEGER, time INTEGER NOT NULL);"
	"CREATE INDEX decision_event ON decision (event);"
	"CREATE INDEX decision_rule ON decision (rule, eid, outcome, time);"
	"CREATE INDEX decision_eid ON decision (eid, time);"
	"CREATE TABLE rule_state (rule TEXT NOT NULL, eid TEXT NOT NULL, since INTEGER, count INTEGER NOT NULL,"
	"  acted INTEGER NOT NULL, last_acted INTEGER, PRIMARY KEY (rule, eid));"
	"ALTER TABLE job ADD COLUMN decision INTEGER;",
	/* 4: an event reads all its eUICC's rule states at once */
	"CREATE INDEX rule_state_eid ON rule_state (eid);",
	/* 5: the API's bearer tokens (hashed), and who made each campaign and job */
	"CREATE TABLE token (name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL UNIQUE,"
	"  created TEXT NOT NULL);"
	"ALTER TABLE campaign ADD COLUMN who TEXT;"
	"ALTER TABLE job ADD COLUMN who TEXT;"
	/* an eUICC's last contact, without reading every job's result */
	"CREATE INDEX job_eid_finished ON job (eid, finished);",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

const char *store_default_path(char *buf, size_t len)
{
	return bench_data_path(buf, len, "smsr.db");
}

void now_iso(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int store_schema_version(smsr_store *s)
{
	sqlite3_stmt *st;
	int v = -1;
	if (store_prep(s, "PRAGMA user_version", &st) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	store_unprep(s, st);
	return v;
}

static int mkdirs_for(const char *file)
{
	char d[1024];
	snprintf(d, sizeof(d), "%s", file);
	char *slash = strrchr(d, '/');
	if (!slash)
		return 0;
	*slash = '\0';
	for (char *p = d + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(d, 0700) && errno != EEXIST)
				return -1;
			*p = '/';
		}
	return mkdir(d, 0700) && errno != EEXIST ? -1 : 0;
}

/* A store this process may not write (a read-only file system, a file it may only read): opened read
 * only, as it is at rest (an smsr that exits checkpoints its WAL, so the file alone is the store), for
 * the commands that only read (list, notifications); anything that writes fails with the store named
 * read-only. */
static int open_readonly(const char *path, smsr_store **out, char *why, size_t why_len)
{
	smsr_store *s = calloc(1, sizeof(*s));
	if (s)
		s->wal_fd = -1;
	char uri[4200];
	snprintf(uri, sizeof(uri), "file:%s?immutable=1", path);
	if (!s || sqlite3_open_v2(uri, &s->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) {
		snprintf(why, why_len, "%s: %s", path, s && s->db ? sqlite3_errmsg(s->db) : "out of memory");
		store_close(s);
		return -1;
	}
	int v = store_schema_version(s);
	if (v != SCHEMA_VERSION) {
		snprintf(why, why_len,
			 "%s is read-only and has schema version %d (this smsr needs %d, and cannot "
			 "migrate a store it may not write)",
			 path, v, SCHEMA_VERSION);
		store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

int store_open(const char *path, smsr_store **out, char *why, size_t why_len)
{
	if (mkdirs_for(path)) {
		snprintf(why, why_len, "cannot create the directory of %s: %s", path, strerror(errno));
		return -1;
	}
	/* Keys live here: a new file is the user's alone (0600; SQLite gives its WAL and shared-memory files
	 * the same mode). An existing file is never opened here: closing any descriptor of it would drop
	 * the POSIX locks that other connections of this process hold on it (a campaign's workers), and
	 * another process could then take the store for unused, checkpoint it and delete the WAL under
	 * them. */
	struct stat sb;
	if (stat(path, &sb) != 0) {
		int fd = errno == ENOENT ? open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600) : -1;
		if (fd < 0 && errno != EEXIST) {
			snprintf(why, why_len, "cannot open %s: %s", path, strerror(errno));
			return -1;
		}
		if (fd >= 0)
			close(fd); /* new: nobody holds a lock on it yet */
	} else if (access(path, W_OK) != 0 && (errno == EROFS || errno == EACCES || errno == EPERM) &&
		   access(path, R_OK) == 0) {
		return open_readonly(path, out, why, why_len);
	}
	smsr_store *s = calloc(1, sizeof(*s));
	if (s)
		s->wal_fd = -1;
	if (!s || sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(why, why_len, "%s: %s", path, s && s->db ? sqlite3_errmsg(s->db) : "out of memory");
		store_close(s);
		return -1;
	}
	sqlite3_busy_handler(s->db, store_busy_wait, NULL);
	if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL")) {
		int ec = sqlite3_errcode(s->db) & 0xFF;
		if (ec == SQLITE_NOTADB || ec == SQLITE_CORRUPT)
			snprintf(why, why_len, "%s is not an SM-SR store: %s", path, sqlite3_errmsg(s->db));
		else
			snprintf(why, why_len, "%s cannot be opened for writing: %s%s", path, sqlite3_errmsg(s->db),
				 ec == SQLITE_FULL || ec == SQLITE_IOERR ? " (is the disk full?)" : "");
		store_close(s);
		return -1;
	}
	sqlite3_wal_hook(s->db, store_wal_hook, s);
	int v = store_schema_version(s);
	if (v < 0 || v > SCHEMA_VERSION) {
		snprintf(why, why_len, "%s has schema version %d; this smsr knows up to %d", path, v, SCHEMA_VERSION);
		store_close(s);
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		char pragma[64];
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version=%d", v + 1);
		store_durability(s, STORE_BEFORE_SEND);
		if (store_begin(s) || exec(s, migrations[v]) || exec(s, pragma) || store_commit(s)) {
			snprintf(why, why_len, "%s: migration to schema %d failed: %s", path, v + 1,
				 sqlite3_errmsg(s->db));
			exec(s, "ROLLBACK");
			store_close(s);
			return -1;
		}
	}
	*out = s;
	return 0;
}

void store_close(smsr_store *s)
{
	if (!s)
		return;
	store_stmts_free(s);
	sqlite3_close(s->db);
	store_writer_leave(s); /* closed: whatever it had open is rolled back */
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s);
}

static int hexfield(json_t *o, const char *key, uint8_t *out, size_t cap, size_t *len)
{
	const char *h = json_string_value(json_object_get(o, key));
	abuf b = ABUF_INIT;
	if (!h || hex_decode(h, &b, NULL) || b.len > cap || b.len == 0) {
		abuf_free(&b);
		return -1;
	}
	memcpy(out, b.p, b.len);
	*len = b.len;
	abuf_free(&b);
	return 0;
}

/* a GP certificate (7F21) in hex at o.key, parsed whole */
static int certfield(json_t *o, const char *key, bool required)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return required ? -1 : 0;
	const char *h = json_string_value(v);
	abuf b = ABUF_INIT;
	gpcert c;
	int rc = !h || hex_decode(h, &b, NULL) || gpcert_parse(b.p, b.len, &c) ? -1 : 0;
	abuf_free(&b);
	return rc;
}

/* One OTA keyset of an EIS: kvn 1-15, algorithms (TS 102 225 5.1.2) with keys of their length, a
 * counter of 10 hex digits (0 to 2^40-1). The keyset and counter go to ks and counter. */
static int check_keyset(json_t *k, size_t i, scp80_keyset *ks, uint64_t *counter, char *why, size_t why_len)
{
	json_t *jk = json_object_get(k, "kvn"), *jc = json_object_get(k, "kic"), *jd = json_object_get(k, "kid");
	json_int_t kvn = json_integer_value(jk);
	if (!json_is_integer(jk) || kvn < 1 || kvn > 15) {
		snprintf(why, why_len, "field 'ota_keysets[%zu].kvn' is not a key version from 1 to 15", i);
		return -1;
	}
	const char *names[2] = { "kic", "kid" };
	json_t *objs[2] = { jc, jd };
	uint8_t alg[2];
	for (int n = 0; n < 2; n++) {
		json_t *a = json_object_get(objs[n], "algorithm");
		json_int_t v = json_integer_value(a);
		if (!json_is_integer(a) || v < 1 || v > 15) {
			snprintf(why, why_len,
				 "field 'ota_keysets[%zu].%s.algorithm' is missing or not an algorithm nibble", i,
				 names[n]);
			return -1;
		}
		alg[n] = (uint8_t)v;
	}
	memset(ks, 0, sizeof(*ks));
	ks->kic = (uint8_t)(kvn << 4 | alg[0]);
	ks->kid = (uint8_t)(kvn << 4 | alg[1]);
	if (hexfield(jc, "key", ks->kic_key, 32, &ks->kic_key_len)) {
		snprintf(why, why_len, "field 'ota_keysets[%zu].kic.key' is missing or not 1-32 bytes of hex", i);
		return -1;
	}
	if (hexfield(jd, "key", ks->kid_key, 32, &ks->kid_key_len)) {
		snprintf(why, why_len, "field 'ota_keysets[%zu].kid.key' is missing or not 1-32 bytes of hex", i);
		return -1;
	}
	/* SGP.02's SPI (ciphered, cryptographic checksum, PoR the same) takes both keys with both algorithms */
	if (scp80_keyset_check(ks, 0x1639)) {
		snprintf(
			why, why_len,
			"field 'ota_keysets[%zu]': algorithm %u (KIc) / %u (KID) with keys of %zu / %zu bytes is not a "
			"keyset SCP80 can use (AES 16/24/32, 3DES 16/24 bytes)",
			i, alg[0], alg[1], ks->kic_key_len, ks->kid_key_len);
		scp80_keyset_clear(ks);
		return -1;
	}
	json_t *jn = json_object_get(k, "counter");
	const char *cn = json_string_value(jn);
	uint8_t cb[5];
	if (jn && (!cn || strlen(cn) != 10 || hex_decode_exact(cn, cb, 5))) {
		snprintf(why, why_len, "field 'ota_keysets[%zu].counter' is not 10 hex digits (0 to 2^40-1)", i);
		scp80_keyset_clear(ks);
		return -1;
	}
	*counter = 0;
	if (jn)
		for (int b = 0; b < 5; b++)
			*counter = *counter << 8 | cb[b];
	return 0;
}

int store_check_eis(json_t *eis, char *why, size_t why_len)
{
	const char *fmt = json_string_value(json_object_get(eis, "format"));
	const char *eid = json_string_value(json_object_get(eis, "eid"));
	json_t *ks = json_object_get(eis, "ota_keysets");
	if (!fmt || strcmp(fmt, "euicc-bench-eis")) {
		snprintf(why, why_len, "not an EIS file (field 'format' is not \"euicc-bench-eis\")");
		return -1;
	}
	if (!eid || strlen(eid) != 32 || eid_check(eid)) {
		snprintf(why, why_len, "field 'eid' is missing or its check digits are wrong");
		return -1;
	}
	if (!json_is_array(ks) || !json_array_size(ks) || json_array_size(ks) > 15) {
		snprintf(why, why_len, "field 'ota_keysets' is missing, empty or longer than 15");
		return -1;
	}
	json_t *ecasd = json_object_get(eis, "ecasd");
	if (certfield(ecasd, "certificate", true)) {
		snprintf(why, why_len, "field 'ecasd.certificate' is missing or not a GP certificate (7F21)");
		return -1;
	}
	if (certfield(ecasd, "eum_certificate", false)) {
		snprintf(why, why_len, "field 'ecasd.eum_certificate' is not a GP certificate (7F21)");
		return -1;
	}
	{
		size_t i;
		json_t *k;
		json_array_foreach(ks, i, k)
		{
			scp80_keyset one;
			uint64_t c;
			if (check_keyset(k, i, &one, &c, why, why_len))
				return -1;
			scp80_keyset_clear(&one);
			for (size_t m = 0; m < i; m++)
				if (json_equal(json_object_get(json_array_get(ks, m), "kvn"),
					       json_object_get(k, "kvn"))) {
					snprintf(why, why_len, "field 'ota_keysets[%zu].kvn' repeats keyset %zu's", i,
						 m);
					return -1;
				}
		}
	}
	return 0;
}

int store_register(smsr_store *s, json_t *eis, const char *endpoint, json_t *tags, char out_eid[33], char *why,
		   size_t why_len)
{
	store_durability(s, STORE_BEFORE_SEND);
	if (store_check_eis(eis, why, why_len))
		return -1;
	const char *eid = json_string_value(json_object_get(eis, "eid"));
	json_t *ks = json_object_get(eis, "ota_keysets");
	/* the keys live once, in the keyset table: the EIS kept beside it has none */
	json_t *kept = json_deep_copy(eis);
	size_t ki;
	json_t *kk;
	json_array_foreach(json_object_get(kept, "ota_keysets"), ki, kk)
	{
		json_object_del(json_object_get(kk, "kic"), "key");
		json_object_del(json_object_get(kk, "kid"), "key");
	}
	char *text = json_dumps(kept, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(kept);
	char ts[32];
	now_iso(ts);
	sqlite3_stmt *st = NULL;
	int rc = -1;
	bool began = false;
	char *tags_text = tags ? json_dumps(tags, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	/* inside a caller's transaction (fleet import: all lines or none) a savepoint, else one of its own */
	if (exec(s, "SAVEPOINT reg"))
		goto out;
	began = true;
	if (store_prep(s, "INSERT INTO euicc (eid, eis, registered, endpoint, tags) VALUES (?,?,?,?,?)", &st))
		goto out;
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, tags_text, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		snprintf(why, why_len, "eUICC %s is already registered", eid);
		goto out;
	}
	store_unprep(s, st);
	st = NULL;
	size_t i;
	json_t *k;
	json_array_foreach(ks, i, k)
	{
		scp80_keyset one;
		uint64_t counter = 0;
		if (check_keyset(k, i, &one, &counter, why, why_len))
			goto out;
		int kvn = one.kic >> 4;
		uint8_t kic[32], kid[32];
		size_t lc = one.kic_key_len, ld = one.kid_key_len;
		memcpy(kic, one.kic_key, lc);
		memcpy(kid, one.kid_key, ld);
		json_t *jc = json_object_get(k, "kic"), *jd = json_object_get(k, "kid");
		scp80_keyset_clear(&one);
		if (store_prep(s, "INSERT INTO keyset (eid,kvn,kic_alg,kid_alg,kic,kid,counter) VALUES (?,?,?,?,?,?,?)",
			       &st))
			goto out;
		sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 2, kvn);
		sqlite3_bind_int(st, 3, (int)json_integer_value(json_object_get(jc, "algorithm")));
		sqlite3_bind_int(st, 4, (int)json_integer_value(json_object_get(jd, "algorithm")));
		sqlite3_bind_blob(st, 5, kic, (int)lc, SQLITE_TRANSIENT);
		sqlite3_bind_blob(st, 6, kid, (int)ld, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)counter);
		crypto_wipe(kic, sizeof(kic));
		crypto_wipe(kid, sizeof(kid));
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(why, why_len, "keyset %d: %s", kvn, sqlite3_errmsg(s->db));
			goto out;
		}
		store_unprep(s, st);
		st = NULL;
	}
	if (exec(s, "RELEASE reg"))
		goto out;
	snprintf(out_eid, 33, "%s", eid);
	rc = 0;
out:
	store_unprep(s, st);
	free(tags_text);
	if (rc && began) {
		exec(s, "ROLLBACK TO reg");
		exec(s, "RELEASE reg");
	}
	if (rc && !why[0])
		snprintf(why, why_len, "%s", sqlite3_errmsg(s->db));
	free(text);
	return rc;
}

int store_resolve_eid(smsr_store *s, const char *eid, char out[33], char *why, size_t why_len)
{
	sqlite3_stmt *st;
	int n = 0;
	if (eid) {
		store_prep(s, "SELECT eid FROM euicc WHERE eid = ?", &st);
		sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	} else {
		store_prep(s, "SELECT eid FROM euicc LIMIT 2", &st);
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, 33, "%s", (const char *)sqlite3_column_text(st, 0));
		n++;
	}
	store_unprep(s, st);
	if (eid && n == 0) {
		snprintf(why, why_len, "eUICC %s is not registered (see `smsr list`)", eid);
		return -1;
	}
	if (!eid && n != 1) {
		snprintf(why, why_len,
			 n ? "more than one eUICC is registered: name the EID"
			   : "no eUICC is registered: `smsr register EIS.json` first");
		return -1;
	}
	return 0;
}

json_t *store_eis(smsr_store *s, const char *eid)
{
	sqlite3_stmt *st;
	json_t *j = NULL;
	store_prep(s, "SELECT eis FROM euicc WHERE eid = ?", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		j = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
	store_unprep(s, st);
	return j;
}

int store_keyset(smsr_store *s, const char *eid, int kvn, scp80_keyset *ks, uint64_t *counter)
{
	sqlite3_stmt *st;
	int rc = -1;
	store_prep(s, "SELECT kic_alg, kid_alg, kic, kid, counter FROM keyset WHERE eid = ? AND kvn = ?", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, kvn);
	if (sqlite3_step(st) == SQLITE_ROW) {
		memset(ks, 0, sizeof(*ks));
		ks->kic = (uint8_t)((kvn << 4) | sqlite3_column_int(st, 0));
		ks->kid = (uint8_t)((kvn << 4) | sqlite3_column_int(st, 1));
		int lc = sqlite3_column_bytes(st, 2), ld = sqlite3_column_bytes(st, 3);
		if (lc > 0 && lc <= 32 && ld > 0 && ld <= 32) {
			memcpy(ks->kic_key, sqlite3_column_blob(st, 2), (size_t)lc);
			memcpy(ks->kid_key, sqlite3_column_blob(st, 3), (size_t)ld);
			ks->kic_key_len = (size_t)lc;
			ks->kid_key_len = (size_t)ld;
			if (counter)
				*counter = (uint64_t)sqlite3_column_int64(st, 4);
			rc = 0;
		}
	}
	store_unprep(s, st);
	return rc;
}

int store_next_counter(smsr_store *s, const char *eid, int kvn, uint64_t *out)
{
	counter_block *cb = &s->cb;
	if (cb->kvn == kvn && !strcmp(cb->eid, eid) && cb->next <= cb->limit && cb->next) {
		*out = cb->next++;
		return 0;
	}
	/* a new block: the store's counter moves to its end and is committed and synced before any counter
	 * of it leaves, so a crash never reuses one; what a crash leaves unused is skipped (the card accepts
	 * any higher counter, SPI counter mode 'higher') */
	store_durability(s, STORE_BEFORE_SEND);
	if (store_begin(s))
		return -1;
	uint64_t end = 0;
	int rc = store_counter_block_in(s, eid, kvn, &end);
	if (store_end(s, rc)) {
		memset(cb, 0, sizeof(*cb));
		return -1;
	}
	store_counter_block_taken(s, eid, kvn, end);
	*out = cb->next++;
	return 0;
}

int store_counter_block_in(smsr_store *s, const char *eid, int kvn, uint64_t *end)
{
	sqlite3_stmt *st;
	int rc = -1;
	store_prep(s, "UPDATE keyset SET counter = counter + ? WHERE eid = ? AND kvn = ? RETURNING counter", &st);
	sqlite3_bind_int(st, 1, STORE_COUNTER_BLOCK);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, kvn);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*end = (uint64_t)sqlite3_column_int64(st, 0);
		rc = 0;
	}
	store_unprep(s, st);
	return rc;
}

void store_counter_block_taken(smsr_store *s, const char *eid, int kvn, uint64_t end)
{
	counter_block *cb = &s->cb;
	snprintf(cb->eid, sizeof(cb->eid), "%s", eid);
	cb->kvn = kvn;
	cb->limit = end;
	cb->next = end - STORE_COUNTER_BLOCK + 1;
}

int store_set_counter(smsr_store *s, const char *eid, int kvn, uint64_t value)
{
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	memset(&s->cb, 0, sizeof(s->cb));
	store_prep(s, "UPDATE keyset SET counter = ? WHERE eid = ? AND kvn = ?", &st);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)value);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, kvn);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_isdp_put(smsr_store *s, const char *eid, const char *aid, const char *iccid, const char *state, int fallback,
		   int emergency)
{
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	store_prep(
		s,
		"INSERT INTO isdp (eid, aid, iccid, state, fallback, emergency) VALUES (?,?,?,?,?,?) "
		"ON CONFLICT (eid, aid) DO UPDATE SET iccid = coalesce(excluded.iccid, iccid), state = excluded.state, "
		"fallback = excluded.fallback, emergency = excluded.emergency",
		&st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, aid, -1, SQLITE_STATIC);
	if (iccid && *iccid)
		sqlite3_bind_text(st, 3, iccid, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 5, fallback);
	sqlite3_bind_int(st, 6, emergency);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_isdp_state(smsr_store *s, const char *eid, const char *aid, const char *state)
{
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	store_prep(s, "UPDATE isdp SET state = ? WHERE eid = ? AND aid = ?", &st);
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, aid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_isdp_keys(smsr_store *s, const char *eid, const char *aid, const uint8_t key[16], int kvn)
{
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	store_prep(s, "UPDATE isdp SET scp03_key = ?, scp03_kvn = ? WHERE eid = ? AND aid = ?", &st);
	sqlite3_bind_blob(st, 1, key, 16, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, kvn);
	sqlite3_bind_text(st, 3, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, aid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_isdp_delete(smsr_store *s, const char *eid, const char *aid)
{
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	store_prep(s, "DELETE FROM isdp WHERE eid = ? AND aid = ?", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, aid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_isdp_clear(smsr_store *s, const char *eid)
{
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	store_prep(s, "DELETE FROM isdp WHERE eid = ?", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_isdp_prune(smsr_store *s, const char *eid, char (*keep)[33], size_t n)
{
	store_durability(s, STORE_SETTLED);
	json_t *all = store_isdps(s, eid), *p;
	size_t i;
	json_array_foreach(all, i, p)
	{
		const char *aid = json_string_value(json_object_get(p, "aid"));
		bool seen = false;
		for (size_t k = 0; k < n; k++)
			if (!strcasecmp(keep[k], aid))
				seen = true;
		if (!seen)
			store_isdp_delete(s, eid, aid);
	}
	json_decref(all);
	return 0;
}

int store_isdp_find(smsr_store *s, const char *eid, const char *key, char aid[33], char iccid[21])
{
	sqlite3_stmt *st;
	int rc = -1;
	store_prep(s, "SELECT aid, coalesce(iccid,'') FROM isdp WHERE eid = ? AND (lower(aid) = lower(?) OR iccid = ?)",
		   &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(aid, 33, "%s", (const char *)sqlite3_column_text(st, 0));
		if (iccid)
			snprintf(iccid, 21, "%s", (const char *)sqlite3_column_text(st, 1));
		rc = 0;
	}
	store_unprep(s, st);
	return rc;
}

json_t *store_isdps(smsr_store *s, const char *eid)
{
	sqlite3_stmt *st;
	json_t *a = json_array();
	store_prep(s,
		   "SELECT aid, iccid, state, fallback, emergency, scp03_key IS NOT NULL FROM isdp "
		   "WHERE eid = ? ORDER BY aid",
		   &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a, store_isdp_row(st, 0));
	store_unprep(s, st);
	return a;
}

json_t *store_isdp_row(sqlite3_stmt *st, int c)
{
	json_t *o = json_pack("{s:s,s:s,s:b,s:b,s:b}", "aid", sqlite3_column_text(st, c), "state",
			      sqlite3_column_text(st, c + 2), "fallback", sqlite3_column_int(st, c + 3), "emergency",
			      sqlite3_column_int(st, c + 4), "keys", sqlite3_column_int(st, c + 5));
	json_object_set_new(o, "iccid",
			    sqlite3_column_type(st, c + 1) == SQLITE_NULL
				    ? json_null()
				    : json_string((const char *)sqlite3_column_text(st, c + 1)));
	return o;
}

int store_next_aid(smsr_store *s, const char *eid, char aid[33])
{
	for (unsigned n = 0x10; n < 0x10000; n++) {
		snprintf(aid, 33, "a0000005591010ffffffff8900%04x00", n);
		char a2[33];
		if (store_isdp_find(s, eid, aid, a2, NULL))
			return 0;
	}
	return -1;
}

void store_log(smsr_store *s, const char *what, const char *eid, const char *result)
{
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	char ts[32], who[80];
	now_iso(ts);
	snprintf(who, sizeof(who), "%s", s->actor[0] ? s->actor : getenv("USER") ? getenv("USER") : "uid");
	store_prep(s, "INSERT INTO oplog (ts, who, what, eid, result) VALUES (?,?,?,?,?)", &st);
	sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, who, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, what, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, result, -1, SQLITE_STATIC);
	sqlite3_step(st);
	store_unprep(s, st);
}
