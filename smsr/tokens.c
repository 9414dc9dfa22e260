/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API's bearer tokens. A token is 32 random bytes in hex after "smsr_"; the store keeps its SHA-256
 * only, so a copy of the store gives no token. The name of the token a change came with is the actor
 * recorded with it (job, campaign, log). */
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "apdu/crypto.h"
#include "store_int.h"

void store_set_actor(smsr_store *s, const char *name)
{
	snprintf(s->actor, sizeof(s->actor), "%s", name ? name : "");
}

static void token_hash(const char *token, char out[65])
{
	uint8_t d[SHA256_DIGEST_LENGTH];
	SHA256((const unsigned char *)token, strlen(token), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static bool name_ok(const char *n)
{
	size_t len = strlen(n);
	if (!len || len > 63)
		return false;
	for (const char *p = n; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.'))
			return false;
	return true;
}

int store_token_create(smsr_store *s, const char *name, const char *role, char out[80], char *why, size_t why_len)
{
	if (!name_ok(name)) {
		snprintf(why, why_len, "name '%s': 1 to 63 of A-Z a-z 0-9 - _ .", name);
		return -1;
	}
	if (strcmp(role, "operator") && strcmp(role, "viewer")) {
		snprintf(why, why_len, "role '%s': operator or viewer", role);
		return -1;
	}
	uint8_t raw[32];
	if (crypto_random(raw, sizeof(raw)) != APDU_OK) {
		snprintf(why, why_len, "no random bytes for a token");
		return -1;
	}
	memcpy(out, "smsr_", 5);
	for (size_t i = 0; i < sizeof(raw); i++)
		snprintf(out + 5 + 2 * i, 3, "%02x", raw[i]);
	char h[65], ts[32];
	token_hash(out, h);
	now_iso(ts);
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	store_prep(s, "INSERT INTO token (name, role, hash, created) VALUES (?,?,?,?)", &st);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, h, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, ts, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	store_unprep(s, st);
	if (rc != SQLITE_DONE) {
		memset(out, 0, 80);
		snprintf(why, why_len, rc == SQLITE_CONSTRAINT ? "a token named '%s' exists (revoke it first)" : "%s",
			 rc == SQLITE_CONSTRAINT ? name : sqlite3_errmsg(s->db));
		return -1;
	}
	return 1;
}

int store_token_check(smsr_store *s, const char *token, char name[64], char role[16])
{
	if (strncmp(token, "smsr_", 5) || strlen(token) != 69)
		return 1;
	char h[65];
	token_hash(token, h);
	sqlite3_stmt *st;
	store_prep(s, "SELECT name, role FROM token WHERE hash = ?", &st);
	sqlite3_bind_text(st, 1, h, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(name, 64, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(role, 16, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	store_unprep(s, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

json_t *store_tokens(smsr_store *s)
{
	sqlite3_stmt *st;
	json_t *a = json_array();
	store_prep(s, "SELECT name, role, created FROM token ORDER BY name", &st);
	while (sqlite3_step(st) == SQLITE_ROW)
		json_array_append_new(a,
				      json_pack("{s:s,s:s,s:s}", "name", sqlite3_column_text(st, 0), "role",
						sqlite3_column_text(st, 1), "created", sqlite3_column_text(st, 2)));
	store_unprep(s, st);
	return a;
}

int store_token_revoke(smsr_store *s, const char *name)
{
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	store_prep(s, "DELETE FROM token WHERE name = ?", &st);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? (sqlite3_changes(s->db) ? 0 : 1) : -1;
	store_unprep(s, st);
	return rc;
}
