/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR's HTTP/JSON API (docs/api.md, docs/openapi.json): one request in, one answer out, over the
 * store. No sockets here: `smsr serve` (serve.c, libmicrohttpd) carries requests to api_handle, and the
 * fuzz target calls it directly. */
#ifndef SMSR_API_H
#define SMSR_API_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core.h"
#include "store.h"

#define API_MAX_BODY (1024 * 1024) /* a larger body is refused with 413 */
#define API_MAX_WAIT 120	   /* ?wait=SECONDS at most */

typedef struct {
	const char *method; /* GET, POST, PUT, DELETE, ... */
	const char *path;   /* without the query */
	json_t *query;	    /* an object of strings (NULL: none) */
	const char *body;   /* may hold NUL bytes: body_len counts */
	size_t body_len;
	const char *auth; /* the Authorization header (NULL: none) */
} api_request;

typedef struct {
	int status;
	json_t *json; /* the answer (owned), or NULL when text is */
	char *text;   /* a text answer (owned, malloc), with ctype */
	size_t text_len;
	const char *ctype;  /* of text */
	long long wait_job; /* > 0: answer when this job is final or wait_s passed (api_job_answer) */
	double wait_s;
	bool changed; /* a job, campaign, event or rule set was stored: the scheduler looks now */
	char who[64]; /* the token's name, for the server's log */
} api_response;

typedef struct {
	smsr_store *st;		/* this request's connection */
	const smsr_core *proto; /* the store path, PKI and KEK */
	long long api_campaign; /* the campaign that holds the API's single jobs */
	const char *openapi;	/* the OpenAPI document served at /openapi.json */
	size_t openapi_len;
} api_env;

void api_response_free(api_response *r);
void api_handle(api_env *env, const api_request *q, api_response *r);
/* who asks (for what the server answers itself, /stream): 0 with r->who set, or -1 and the answer */
int api_auth(api_env *env, const api_request *q, api_response *r);
/* the answer for a job that was waited for: 200 with the job when it is final, else 202 */
void api_job_answer(api_env *env, long long job, api_response *r);
/* an error answer: {"error": {"code", "message", "field"}} (field NULL: none) */
void api_error(api_response *r, int status, const char *code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* text that quotes what a client sent, made safe for a JSON string: bytes above 0x7f stand as '?' */
void api_ascii(char *s);
/* the campaign that holds the API's jobs (made the first time); -1 */
long long api_campaign_of(smsr_store *s);
/* whether a job in this state has ended */
bool api_job_final(const char *state);

/* api_ops.c: POST /es4/..., /es2/DownloadProfile; api_res.c: the resources */
bool api_ops(api_env *env, const api_request *q, api_response *r);
bool api_resources(api_env *env, const api_request *q, bool may_write, api_response *r);
bool api_campaigns(api_env *env, const api_request *q, api_response *r); /* api_campaigns.c */
/* a JSON body that must be an object (400 naming what is wrong, else the object) */
json_t *api_body_object(const api_request *q, api_response *r);
const char *api_query(const api_request *q, const char *k);

#endif
