/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API's router and request bodies (smsr/api*.c) over a real store: any bytes as one request. The
 * first byte picks the token (operator, viewer, none, a wrong one), then a line "METHOD /path?k=v&...",
 * then the body. Every answer has a status the API gives, is JSON (or a CSV report), and every error is
 * {"error": {"code", "message"}}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static smsr_store *st;
static char tokens[2][80];
static long long campaign;

static char dir[] = "/tmp/fuzz-api-XXXXXX";

/* the store goes with the process */
static void teardown(void)
{
	store_close(st);
	const char *const files[] = { "smsr.db", "smsr.db-wal", "smsr.db-shm" };
	char p[80];
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void setup(void)
{
	char path[64], why[300];
	if (!mkdtemp(dir))
		abort();
	atexit(teardown);
	snprintf(path, sizeof(path), "%s/smsr.db", dir);
	if (store_open(path, &st, why, sizeof(why)) ||
	    store_token_create(st, "ops", "operator", tokens[0], why, sizeof(why)) < 0 ||
	    store_token_create(st, "view", "viewer", tokens[1], why, sizeof(why)) < 0)
		abort();
	campaign = api_campaign_of(st);
}

static json_t *query_of(char *q)
{
	json_t *o = json_object();
	for (char *kv = strtok(q, "&"); kv; kv = strtok(NULL, "&")) {
		char *eq = strchr(kv, '=');
		if (eq)
			*eq = '\0';
		json_object_set_new(o, kv, json_string(eq ? eq + 1 : ""));
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!st)
		setup();
	if (size < 2 || size > 65536)
		return 0;
	char auth[100];
	const char *a = NULL;
	switch (data[0] & 3) {
	case 0: snprintf(auth, sizeof(auth), "Bearer %s", tokens[0]), a = auth; break;
	case 1: snprintf(auth, sizeof(auth), "Bearer %s", tokens[1]), a = auth; break;
	case 2: a = NULL; break;
	default: a = "Bearer smsr_0000"; break;
	}
	const uint8_t *nl = memchr(data + 1, '\n', size - 1);
	size_t line_len = nl ? (size_t)(nl - data - 1) : size - 1;
	char *line = strndup((const char *)data + 1, line_len);
	char *sp = strchr(line, ' '), *method = line, *path = sp ? sp + 1 : (char *)"/";
	if (sp)
		*sp = '\0';
	char *qm = strchr(path, '?');
	json_t *query = NULL;
	if (qm) {
		*qm = '\0';
		query = query_of(qm + 1);
	}
	api_env env = { .st = st, .api_campaign = campaign, .openapi = "{}", .openapi_len = 2 };
	api_request q = { .method = method,
			  .path = path,
			  .query = query,
			  .body = nl ? (const char *)nl + 1 : NULL,
			  .body_len = nl ? size - line_len - 2 : 0,
			  .auth = a };
	api_response r;
	api_handle(&env, &q, &r);
	static const int known[] = { 200, 201, 202, 400, 401, 403, 404, 405, 409, 413, 500, 503 };
	bool ok = false;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		ok |= r.status == known[i];
	if (!ok || (!r.json && !r.text))
		abort();
	if (r.status >= 400) {
		json_t *e = json_object_get(r.json, "error");
		if (!json_is_string(json_object_get(e, "code")) || !json_is_string(json_object_get(e, "message")))
			abort();
	}
	api_response_free(&r);
	json_decref(query);
	free(line);
	return 0;
}
