/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-DP's profile inventory: packages sealed with AES-256-GCM under a key-encryption key (KEK) that
 * never enters the store. Each row's ICCID, IMSI and operator are its additional authenticated data, so
 * a row moved or edited is refused like a flipped byte; a check value sealed under the same KEK tells a
 * wrong key apart from a tampered row. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "store_int.h"

#define GCM_NONCE 12
#define GCM_TAG	  16
static const char kek_check_text[] = "euicc-bench SM-DP inventory KEK check";

int inventory_kek_load(const char *path, bool create, uint8_t kek[32], char *why, size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		uint8_t k[32];
		char hex[65];
		if (RAND_bytes(k, 32) != 1) {
			snprintf(why, why_len, "no random bytes for a new key-encryption key");
			return -1;
		}
		hex_encode(k, 32, hex);
		crypto_wipe(k, sizeof(k));
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		bool ok = fd >= 0 && write(fd, hex, 64) == 64 && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
		crypto_wipe(hex, sizeof(hex));
		if (fd >= 0)
			close(fd);
		if (!ok) {
			snprintf(why, why_len, "cannot create the key-encryption key %s: %s", path, strerror(errno));
			return -1;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(why, why_len, "key-encryption key %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	char buf[80];
	ssize_t n = fstat(fd, &st) == 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	close(fd);
	if (n >= 0 && (st.st_mode & 077)) {
		snprintf(why, why_len, "key-encryption key %s is readable by others (mode %03o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 0777));
		crypto_wipe(buf, sizeof(buf));
		return -1;
	}
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	int rc = hex_decode_exact(buf, kek, 32) ? -1 : 0;
	crypto_wipe(buf, sizeof(buf));
	if (rc)
		snprintf(why, why_len, "key-encryption key %s: expected 64 hex digits (32 bytes)", path);
	return rc;
}

static int gcm(bool enc, const uint8_t kek[32], const uint8_t nonce[GCM_NONCE], const uint8_t *aad, size_t aad_len,
	       const uint8_t *in, size_t len, uint8_t *out, uint8_t tag[GCM_TAG])
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0,
	    ok = c && EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) == 1 &&
		EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, GCM_NONCE, NULL) == 1 &&
		EVP_CipherInit_ex(c, NULL, NULL, kek, nonce, enc) == 1 &&
		EVP_CipherUpdate(c, NULL, &l, aad, (int)aad_len) == 1 &&
		(len == 0 || EVP_CipherUpdate(c, out, &l, in, (int)len) == 1);
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, GCM_TAG, tag) == 1;
	ok = ok && EVP_CipherFinal_ex(c, out + (len ? (size_t)l : 0), &l) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, GCM_TAG, tag) == 1;
	EVP_CIPHER_CTX_free(c);
	return ok ? 0 : -1;
}

/* nonce ‖ ciphertext ‖ tag */
static int seal(const uint8_t kek[32], const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t len,
		uint8_t nonce[GCM_NONCE], abuf *out)
{
	if (RAND_bytes(nonce, GCM_NONCE) != 1 || abuf_reserve(out, len + GCM_TAG))
		return -1;
	uint8_t *p = out->p + out->len;
	if (gcm(true, kek, nonce, aad, aad_len, in, len, p, p + len))
		return -1;
	out->len += len + GCM_TAG;
	return 0;
}

static int unseal(const uint8_t kek[32], const uint8_t *aad, size_t aad_len, const uint8_t nonce[GCM_NONCE],
		  const uint8_t *in, size_t len, abuf *out)
{
	if (len < GCM_TAG || abuf_reserve(out, len))
		return -1;
	uint8_t tag[GCM_TAG];
	memcpy(tag, in + len - GCM_TAG, GCM_TAG);
	if (gcm(false, kek, nonce, aad, aad_len, in, len - GCM_TAG, out->p + out->len, tag)) {
		crypto_wipe(out->p + out->len, len - GCM_TAG);
		return -1;
	}
	out->len += len - GCM_TAG;
	return 0;
}

/* the KEK is the one the inventory was sealed with (the first add seals the check value) */
static int kek_check(smsr_store *s, const uint8_t kek[32], bool create, char *why, size_t why_len)
{
	sqlite3_stmt *st;
	store_prep(s, "SELECT v FROM smdp_meta WHERE k = 'kek-check'", &st);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *v = sqlite3_column_blob(st, 0);
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		abuf plain = ABUF_INIT;
		if (n > GCM_NONCE && !unseal(kek, NULL, 0, v, v + GCM_NONCE, n - GCM_NONCE, &plain) &&
		    plain.len == sizeof(kek_check_text) - 1 && !memcmp(plain.p, kek_check_text, plain.len))
			rc = 0;
		else
			snprintf(why, why_len,
				 "the key-encryption key is not the one this inventory was sealed with (nothing read)");
		abuf_free(&plain);
		store_unprep(s, st);
		return rc;
	}
	store_unprep(s, st);
	if (!create)
		return 0; /* an empty inventory: nothing to read anyway */
	uint8_t nonce[GCM_NONCE];
	abuf v = ABUF_INIT, sealed = ABUF_INIT;
	if (!seal(kek, NULL, 0, (const uint8_t *)kek_check_text, sizeof(kek_check_text) - 1, nonce, &sealed)) {
		abuf_put(&v, nonce, GCM_NONCE);
		abuf_put(&v, sealed.p, sealed.len);
		store_prep(s, "INSERT INTO smdp_meta (k, v) VALUES ('kek-check', ?)", &st);
		sqlite3_bind_blob(st, 1, v.p, (int)v.len, SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
		store_unprep(s, st);
	}
	abuf_free(&v);
	abuf_free(&sealed);
	if (rc)
		snprintf(why, why_len, "cannot seal the inventory's key check: %s", sqlite3_errmsg(s->db));
	return rc;
}

static size_t aad_of(const char *iccid, const char *imsi, const char *op, uint8_t *out, size_t cap)
{
	int n = snprintf((char *)out, cap, "%s%c%s%c%s", iccid, 0, imsi, 0, op);
	return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

int store_smdp_add(smsr_store *s, const uint8_t kek[32], const smdp_entry *e, const uint8_t *pkg, size_t len, char *why,
		   size_t why_len)
{
	store_durability(s, STORE_BEFORE_SEND);
	uint8_t aad[256], nonce[GCM_NONCE];
	size_t al = aad_of(e->iccid, e->imsi, e->operator_, aad, sizeof(aad));
	char ts[32];
	now_iso(ts);
	abuf sealed = ABUF_INIT;
	if (!al || seal(kek, aad, al, pkg, len, nonce, &sealed)) {
		abuf_free(&sealed);
		snprintf(why, why_len, "profile %s: cannot seal the package", e->iccid);
		return -1;
	}
	int rc = -1;
	if (exec(s, "SAVEPOINT smdp_add") == 0) {
		if (kek_check(s, kek, true, why, why_len) == 0) {
			sqlite3_stmt *st;
			store_prep(s,
				   "INSERT INTO smdp_profile (iccid, imsi, operator, pool, state, added, nonce, "
				   "sealed) VALUES (?,?,?,?,'available',?,?,?)",
				   &st);
			sqlite3_bind_text(st, 1, e->iccid, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, e->imsi, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, e->operator_, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, e->pool, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 5, ts, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 6, nonce, GCM_NONCE, SQLITE_STATIC);
			sqlite3_bind_blob(st, 7, sealed.p, (int)sealed.len, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_DONE)
				rc = 0;
			else
				snprintf(why, why_len, "profile %s: %s", e->iccid,
					 sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY
						 ? "this ICCID is already in the inventory"
						 : sqlite3_errmsg(s->db));
			store_unprep(s, st);
		}
		if (rc)
			exec(s, "ROLLBACK TO smdp_add");
		exec(s, "RELEASE smdp_add");
	}
	abuf_free(&sealed);
	return rc;
}

int store_smdp_open(smsr_store *s, const uint8_t kek[32], const char *iccid, abuf *pkg, char *why, size_t why_len)
{
	if (kek_check(s, kek, false, why, why_len))
		return -1;
	sqlite3_stmt *st;
	store_prep(s, "SELECT imsi, operator, nonce, sealed FROM smdp_profile WHERE iccid = ?", &st);
	sqlite3_bind_text(st, 1, iccid, -1, SQLITE_STATIC);
	int rc = -1;
	if (sqlite3_step(st) != SQLITE_ROW) {
		snprintf(why, why_len, "ICCID %s is not in the SM-DP's inventory", iccid);
	} else {
		uint8_t aad[256];
		size_t al = aad_of(iccid, (const char *)sqlite3_column_text(st, 0),
				   (const char *)sqlite3_column_text(st, 1), aad, sizeof(aad));
		if (sqlite3_column_bytes(st, 2) == GCM_NONCE && al &&
		    !unseal(kek, aad, al, sqlite3_column_blob(st, 2), sqlite3_column_blob(st, 3),
			    (size_t)sqlite3_column_bytes(st, 3), pkg))
			rc = 0;
		else
			snprintf(why, why_len,
				 "profile %s: its row fails authentication (tampered or damaged); not used", iccid);
	}
	store_unprep(s, st);
	return rc;
}

int store_smdp_reserve(smsr_store *s, const char *iccid, const char *pool, const char *eid, long long job, char out[21],
		       char *why, size_t why_len)
{
	store_durability(s, STORE_BEFORE_SEND);
	/* one statement: two workers never take the same profile; a job may take again what it reserved */
	sqlite3_stmt *st;
	store_prep(s,
		   "UPDATE smdp_profile SET state = 'reserved', eid = ?1, job = ?2 WHERE (state = 'available' OR "
		   "(state = 'reserved' AND job = ?2 AND eid = ?1)) AND "
		   "iccid = coalesce(?3, (SELECT iccid FROM smdp_profile WHERE pool = ?4 AND state = 'available' "
		   "ORDER BY iccid LIMIT 1)) RETURNING iccid",
		   &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	if (job)
		sqlite3_bind_int64(st, 2, job);
	sqlite3_bind_text(st, 3, iccid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, pool, -1, SQLITE_STATIC);
	int rc = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, 21, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	int err = store_unprep(s, st);
	if (!rc)
		return 0;
	if (err != SQLITE_OK) {
		snprintf(why, why_len, "the inventory cannot be written: %s", sqlite3_errmsg(s->db));
		return -1;
	}
	if (!iccid) {
		snprintf(why, why_len, "pool %s has no available profile (exhausted or unknown)", pool);
		return -1;
	}
	store_prep(s, "SELECT state, eid FROM smdp_profile WHERE iccid = ?", &st);
	sqlite3_bind_text(st, 1, iccid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		snprintf(why, why_len, "ICCID %s is not in the SM-DP's inventory", iccid);
	else
		snprintf(why, why_len, "profile %s is %s%s%s, not available", iccid,
			 (const char *)sqlite3_column_text(st, 0),
			 sqlite3_column_type(st, 1) == SQLITE_NULL ? "" : " for ",
			 sqlite3_column_type(st, 1) == SQLITE_NULL ? "" : (const char *)sqlite3_column_text(st, 1));
	store_unprep(s, st);
	return -1;
}

int store_smdp_set(smsr_store *s, const char *iccid, const char *state, const char *eid)
{
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	store_prep(s,
		   "UPDATE smdp_profile SET state = ?, eid = ?, job = CASE WHEN ? IN ('reserved', 'installed') "
		   "THEN job END "
		   "WHERE iccid = ?",
		   &st);
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, iccid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(s->db) == 1 ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

json_t *store_smdp_list(smsr_store *s, const char *pool, const char *state)
{
	sqlite3_stmt *st;
	json_t *a = json_array();
	store_prep(s,
		   "SELECT iccid, imsi, operator, pool, state, eid, job FROM smdp_profile WHERE (?1 IS NULL OR "
		   "pool = ?1) AND (?2 IS NULL OR state = ?2) ORDER BY iccid",
		   &st);
	sqlite3_bind_text(st, 1, pool, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, state, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "iccid", sqlite3_column_text(st, 0), "imsi",
				      sqlite3_column_text(st, 1), "operator", sqlite3_column_text(st, 2), "state",
				      sqlite3_column_text(st, 4));
		json_object_set_new(o, "pool",
				    sqlite3_column_type(st, 3) == SQLITE_NULL
					    ? json_null()
					    : json_string((const char *)sqlite3_column_text(st, 3)));
		json_object_set_new(o, "eid",
				    sqlite3_column_type(st, 5) == SQLITE_NULL
					    ? json_null()
					    : json_string((const char *)sqlite3_column_text(st, 5)));
		if (sqlite3_column_type(st, 6) != SQLITE_NULL)
			json_object_set_new(o, "job", json_integer(sqlite3_column_int64(st, 6)));
		json_array_append_new(a, o);
	}
	store_unprep(s, st);
	return a;
}
