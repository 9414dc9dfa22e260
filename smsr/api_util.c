/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every part of the API shares: the one error shape, the body and the query, the API's own
 * campaign and the answer for a job. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"

void api_response_free(api_response *r)
{
	json_decref(r->json);
	free(r->text);
	r->json = NULL;
	r->text = NULL;
}

void api_ascii(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			*s = '?';
}

void api_error(api_response *r, int status, const char *code, const char *field, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	api_response_free(r);
	r->status = status;
	r->wait_job = 0;
	r->json = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	if (!r->json) {
		/* the message quoted a path or value that is not UTF-8 */
		api_ascii(msg);
		r->json = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
	}
	json_t *f = field ? json_string(field) : NULL;
	if (f)
		json_object_set_new(json_object_get(r->json, "error"), "field", f);
}

const char *api_query(const api_request *q, const char *k)
{
	return q->query ? json_string_value(json_object_get(q->query, k)) : NULL;
}

json_t *api_body_object(const api_request *q, api_response *r)
{
	if (!q->body || !q->body_len) {
		api_error(r, 400, "bad_json", NULL, "the request needs a JSON object as its body");
		return NULL;
	}
	json_error_t e;
	json_t *o = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &e);
	if (!o) {
		api_error(r, 400, "bad_json", NULL, "the body is not JSON: %s at line %d, column %d", e.text, e.line,
			  e.column);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		api_error(r, 400, "bad_json", NULL, "the body must be a JSON object");
		return NULL;
	}
	return o;
}

bool api_job_final(const char *state)
{
	return state &&
		(!strcmp(state, "done") || !strcmp(state, "failed") || !strcmp(state, "expired") ||
		 !strcmp(state, "cancelled"));
}

long long api_campaign_of(smsr_store *s)
{
	long long id = store_campaign_of_op(s, "api");
	if (id)
		return id;
	store_campaign_spec c0 = {
		.op = "api", .target = "api", .concurrency = 4, .validity = 3600, .retries = 2, .max_failures = 100
	};
	json_t *args = json_object(), *none = json_array();
	c0.args = args;
	char why[200];
	id = store_campaign_create(s, &c0, none, why, sizeof(why));
	json_decref(args);
	json_decref(none);
	return id;
}

void api_job_answer(api_env *env, long long job, api_response *r)
{
	json_t *j = store_job(env->st, job);
	if (!j) {
		api_error(r, 404, "not_found", "job", "no job %lld", job);
		return;
	}
	api_response_free(r);
	r->status = api_job_final(json_string_value(json_object_get(j, "state"))) ? 200 : 202;
	r->json = j;
	r->wait_job = 0;
}
