/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fleet in the store: each eUICC's endpoint and tags, and the selections that lists, campaigns and
 * rules make of it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/link.h"
#include "store_int.h"

int store_endpoint(smsr_store *s, const char *eid, char *out, size_t len)
{
	sqlite3_stmt *st;
	int rc = -1;
	store_prep(s, "SELECT endpoint FROM euicc WHERE eid = ? AND endpoint IS NOT NULL", &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0));
		rc = 0;
	}
	store_unprep(s, st);
	return rc;
}

int store_set_endpoint(smsr_store *s, const char *eid, const char *uri)
{
	store_durability(s, STORE_BEFORE_SEND);
	sqlite3_stmt *st;
	store_prep(s, "UPDATE euicc SET endpoint = ? WHERE eid = ?", &st);
	sqlite3_bind_text(st, 1, uri, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, eid, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE && sqlite3_changes(s->db) == 1 ? 0 : -1;
	store_unprep(s, st);
	return rc;
}

int store_parse_tags(const char *text, json_t *tags, char *why, size_t why_len)
{
	char buf[2048];
	if (strlen(text) >= sizeof(buf)) {
		snprintf(why, why_len, "tags longer than %zu characters", sizeof(buf) - 1);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	for (char *save = NULL, *t = strtok_r(buf, ";", &save); t; t = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(t, '=');
		size_t kl = eq ? (size_t)(eq - t) : 0;
		if (!eq || !kl || kl > 64 ||
		    strspn(t, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != kl ||
		    strlen(eq + 1) > 128) {
			snprintf(why, why_len, "tag '%.200s': expected KEY=VALUE (KEY letters, digits, _ . -)", t);
			return -1;
		}
		*eq = '\0';
		json_object_set_new(tags, t, json_string(eq + 1));
	}
	return 0;
}

int store_fleet_line(char *line, store_fleet_row *row, char *why, size_t why_len)
{
	memset(row, 0, sizeof(*row));
	line[strcspn(line, "\r\n")] = '\0';
	if (strchr(line, '"')) {
		snprintf(why, why_len, "quoted fields are not read: eis,endpoint,tags without quotes");
		return -1;
	}
	char *c1 = strchr(line, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
	if (!c1) {
		snprintf(why, why_len, "expected eis,endpoint[,tags]");
		return -1;
	}
	*c1 = '\0';
	if (c2)
		*c2 = '\0';
	const char *tag_text = c2 ? c2 + 1 : "";
	if (strchr(tag_text, ',')) {
		snprintf(why, why_len, "more than three fields (tags are K=V;K=V)");
		return -1;
	}
	if (!*line || !c1[1]) {
		snprintf(why, why_len, "field '%s' is empty", !*line ? "eis" : "endpoint");
		return -1;
	}
	char inner[1200];
	if (link_check_uri(c1 + 1, inner, sizeof(inner))) {
		snprintf(why, why_len, "field 'endpoint': %s", inner);
		return -1;
	}
	json_t *tags = json_object();
	if (store_parse_tags(tag_text, tags, inner, sizeof(inner))) {
		snprintf(why, why_len, "field 'tags': %s", inner);
		json_decref(tags);
		return -1;
	}
	row->eis = line;
	row->endpoint = c1 + 1;
	row->tags = tags;
	return 0;
}

json_t *store_enabled(smsr_store *s, const char *eid)
{
	sqlite3_stmt *st;
	json_t *o = NULL;
	store_prep(s,
		   "SELECT i.iccid, p.operator FROM isdp i LEFT JOIN smdp_profile p ON p.iccid = i.iccid "
		   "WHERE i.eid = ? AND i.state = 'enabled'",
		   &st);
	sqlite3_bind_text(st, 1, eid, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = json_object();
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			json_object_set_new(o, "iccid", json_string((const char *)sqlite3_column_text(st, 0)));
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			json_object_set_new(o, "operator", json_string((const char *)sqlite3_column_text(st, 1)));
	}
	store_unprep(s, st);
	return o;
}

static bool matches(const store_filter *f, json_t *tags, json_t *isdps, json_t *enabled)
{
	const char *k;
	json_t *v;
	if (f && f->tags)
		json_object_foreach(f->tags, k, v) if (!json_equal(json_object_get(tags, k), v)) return false;
	if (f && f->state) {
		bool any = false;
		size_t i;
		json_t *p;
		json_array_foreach(isdps, i, p)
			any |= !strcmp(json_string_value(json_object_get(p, "state")), f->state);
		if (!any)
			return false;
	}
	if (f && f->operator_) {
		const char *op = json_string_value(json_object_get(enabled, "operator"));
		if (!op || strcmp(op, f->operator_))
			return false;
	}
	return true;
}

/* every eUICC's ISD-Ps and enabled profile, in two queries (not two per eUICC) */
static void fleet_profiles(smsr_store *s, json_t *isdps, json_t *enabled)
{
	sqlite3_stmt *st;
	store_prep(
		s,
		"SELECT eid, aid, iccid, state, fallback, emergency, scp03_key IS NOT NULL FROM isdp ORDER BY eid, aid",
		&st);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *eid = (const char *)sqlite3_column_text(st, 0);
		json_t *l = json_object_get(isdps, eid);
		if (!l)
			json_object_set_new(isdps, eid, l = json_array());
		json_array_append_new(l, store_isdp_row(st, 1));
	}
	store_unprep(s, st);
	store_prep(s,
		   "SELECT i.eid, i.iccid, p.operator FROM isdp i LEFT JOIN smdp_profile p ON p.iccid = i.iccid "
		   "WHERE i.state = 'enabled'",
		   &st);
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			json_object_set_new(o, "iccid", json_string((const char *)sqlite3_column_text(st, 1)));
		if (sqlite3_column_type(st, 2) != SQLITE_NULL)
			json_object_set_new(o, "operator", json_string((const char *)sqlite3_column_text(st, 2)));
		json_object_set_new(enabled, (const char *)sqlite3_column_text(st, 0), o);
	}
	store_unprep(s, st);
}

json_t *store_fleet(smsr_store *s, const store_filter *f, bool details)
{
	sqlite3_stmt *st;
	json_t *a = json_array();
	bool need_isdps = details || (f && (f->state || f->operator_));
	json_t *all_isdps = json_object(), *all_enabled = json_object();
	if (need_isdps)
		fleet_profiles(s, all_isdps, all_enabled);
	store_prep(s,
		   "SELECT e.eid, e.registered, k.counter, e.endpoint, e.tags FROM euicc e LEFT JOIN keyset k "
		   "ON k.eid = e.eid AND k.kvn = 1 ORDER BY e.eid",
		   &st);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *eid = (const char *)sqlite3_column_text(st, 0);
		if (f && f->eids && !json_object_get(f->eids, eid))
			continue;
		json_t *tags = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
		if (!json_is_object(tags)) {
			json_decref(tags);
			tags = json_object();
		}
		json_t *isdps = NULL, *enabled = NULL;
		if (need_isdps) {
			isdps = json_object_get(all_isdps, eid);
			isdps = isdps ? json_incref(isdps) : json_array();
			enabled = json_incref(json_object_get(all_enabled, eid));
		}
		if (!matches(f, tags, isdps, enabled)) {
			json_decref(tags);
			json_decref(isdps);
			json_decref(enabled);
			continue;
		}
		json_t *o = json_pack("{s:s}", "eid", eid);
		if (details) {
			char cn[16];
			snprintf(cn, sizeof(cn), "%010llx", (unsigned long long)sqlite3_column_int64(st, 2));
			json_object_set_new(o, "registered", json_string((const char *)sqlite3_column_text(st, 1)));
			json_object_set_new(o, "counter", json_string(cn));
			json_object_set_new(o, "endpoint",
					    sqlite3_column_type(st, 3) == SQLITE_NULL
						    ? json_null()
						    : json_string((const char *)sqlite3_column_text(st, 3)));
			json_object_set(o, "tags", tags);
			json_object_set(o, "isdps", isdps);
			json_object_set_new(o, "enabled", enabled ? enabled : json_null());
			enabled = NULL;
		}
		json_decref(tags);
		json_decref(isdps);
		json_decref(enabled);
		json_array_append_new(a, o);
	}
	store_unprep(s, st);
	json_decref(all_isdps);
	json_decref(all_enabled);
	return a;
}

json_t *store_list(smsr_store *s)
{
	return store_fleet(s, NULL, true);
}
