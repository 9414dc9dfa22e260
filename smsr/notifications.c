/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The eUICC's notifications in the store: received (idempotent on a sequence number seen before, on disk
 * before the confirmation is sent) and confirmed. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

int store_notif_received(smsr_store *s, const char *eid, unsigned seq, unsigned type, const char *kind, const char *aid,
			 bool *dup)
{
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	char ts[32];
	now_iso(ts);
	if (store_begin(s))
		return -1;
	store_prep(s, "INSERT OR IGNORE INTO notification (eid, seq, type, aid, received) VALUES (?,?,?,?,?)", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)seq);
	sqlite3_bind_int(st, 3, (int)type);
	sqlite3_bind_text(st, 4, aid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, ts, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	*dup = sqlite3_changes(s->db) == 0;
	store_unprep(s, st);
	/* an event for the rules engine, with the notification (events.c) */
	store_prep(s,
		   "INSERT OR IGNORE INTO event (id, eid, type, fields, time, source, received) VALUES ('notif:' || "
		   "?1 || ':' || ?2, ?1, 'notification', json_object('kind', ?3, 'seq', ?2, 'aid', ?4, 'iccid', "
		   "(SELECT iccid FROM isdp WHERE eid = ?1 AND aid = ?4)), ?5, 'smsr', ?6)",
		   &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)seq);
	sqlite3_bind_text(st, 3, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, aid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, store_now());
	sqlite3_bind_text(st, 6, ts, -1, SQLITE_STATIC);
	if (!rc && sqlite3_step(st) != SQLITE_DONE)
		rc = -1;
	store_unprep(s, st);
	return store_end(s, rc);
}

int store_notif_confirmed(smsr_store *s, const char *eid, unsigned seq)
{
	store_durability(s, STORE_SETTLED);
	sqlite3_stmt *st;
	char ts[32];
	now_iso(ts);
	store_prep(s, "UPDATE notification SET confirmed = coalesce(confirmed, ?) WHERE eid = ? AND seq = ?", &st);
	sqlite3_bind_text(st, 1, ts, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)seq);
	int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

json_t *store_notifs(smsr_store *s, const char *eid)
{
	sqlite3_stmt *st;
	json_t *a = json_array();
	store_prep(s, "SELECT seq, type, aid, received, confirmed FROM notification WHERE eid = ? ORDER BY seq", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_pack("{s:i,s:i,s:s,s:s}", "seq", sqlite3_column_int(st, 0), "type",
				      sqlite3_column_int(st, 1), "aid",
				      sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : "",
				      "received", sqlite3_column_text(st, 3));
		json_object_set_new(o, "confirmed",
				    sqlite3_column_type(st, 4) == SQLITE_NULL
					    ? json_null()
					    : json_string((const char *)sqlite3_column_text(st, 4)));
		json_array_append_new(a, o);
	}
	store_unprep(s, st);
	return a;
}
