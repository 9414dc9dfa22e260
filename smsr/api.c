/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The API's door: who asks (bearer tokens, roles), then the routes to api_ops.c, api_res.c and
 * api_campaigns.c. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"

/* 0 and the token's name and role, or an answer (401) */
static int authenticate(api_env *env, const api_request *q, char name[64], char role[16], api_response *r)
{
	const char *tok = NULL;
	if (q->auth && !strncasecmp(q->auth, "Bearer ", 7))
		tok = q->auth + 7;
	else if (!q->auth && !strcmp(q->path, "/stream"))
		tok = api_query(q, "token"); /* a browser's EventSource cannot send a header */
	if (!tok) {
		api_error(r, 401, "unauthorized", NULL,
			  q->auth ? "the Authorization header must be 'Bearer TOKEN'"
				  : "this needs a token: Authorization: Bearer TOKEN (smsr token create)");
		return -1;
	}
	int rc = store_token_check(env->st, tok, name, role);
	if (rc < 0) {
		api_error(r, 503, "store_busy", NULL, "the store cannot check the token now; try again");
		return -1;
	}
	if (rc) {
		api_error(r, 401, "unauthorized", NULL, "the token is not known (revoked, or mistyped)");
		return -1;
	}
	return 0;
}

int api_auth(api_env *env, const api_request *q, api_response *r)
{
	char name[64], role[16];
	if (authenticate(env, q, name, role, r))
		return -1;
	snprintf(r->who, sizeof(r->who), "%s", name);
	return 0;
}

void api_handle(api_env *env, const api_request *q, api_response *r)
{
	memset(r, 0, sizeof(*r));
	r->status = 200;
	if (!strcmp(q->path, "/openapi.json") && !strcmp(q->method, "GET")) {
		json_error_t e;
		r->json = json_loadb(env->openapi ? env->openapi : "{}", env->openapi ? env->openapi_len : 2, 0, &e);
		if (!r->json)
			api_error(r, 500, "internal", NULL, "the OpenAPI document does not parse: %s", e.text);
		return;
	}
	if (q->body_len > API_MAX_BODY) {
		api_error(r, 413, "too_large", NULL, "the body has %zu bytes; at most %d are taken", q->body_len,
			  API_MAX_BODY);
		return;
	}
	char name[64], role[16];
	if (authenticate(env, q, name, role, r))
		return;
	snprintf(r->who, sizeof(r->who), "%s", name);
	bool write = strcmp(q->method, "GET") && strcmp(q->method, "HEAD");
	bool may_write = !strcmp(role, "operator");
	if (write && !may_write) {
		api_error(r, 403, "forbidden", NULL, "the token '%s' is a viewer's: it may read, not change", name);
		return;
	}
	char actor[80];
	snprintf(actor, sizeof(actor), "api:%s", name);
	store_set_actor(env->st, actor);
	bool routed = api_ops(env, q, r) || api_resources(env, q, may_write, r) || api_campaigns(env, q, r);
	store_set_actor(env->st, NULL);
	if (!routed)
		api_error(r, 404, "not_found", NULL, "no such resource: %s %s (see /openapi.json)", q->method, q->path);
}
