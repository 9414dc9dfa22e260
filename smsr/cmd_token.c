/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr token create|list|revoke: the API's bearer tokens (shown once, stored hashed). */
#include <stdio.h>
#include <string.h>

#include "serve.h"

static const char token_usage[] = "usage: smsr token create --role operator|viewer [--name NAME] | list | revoke NAME";

int smsr_cmd_token(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *sub = argc >= 2 ? argv[1] : "";
	if (!strcmp(sub, "create")) {
		const char *role = smsr_opt(argc, argv, "--role"), *name = smsr_opt(argc, argv, "--name");
		if (!role)
			return smsr_fail(x, CLI_USAGE, "token create: --role operator|viewer is required\n%s",
					 token_usage);
		if (smsr_open_store(x))
			return 1;
		char gen[64], tok[80], why[300];
		if (!name) {
			json_t *l = store_tokens(x->c.st);
			snprintf(gen, sizeof(gen), "%s-%zu", role, json_array_size(l) + 1);
			json_decref(l);
			name = gen;
		}
		if (store_token_create(x->c.st, name, role, tok, why, sizeof(why)) < 0)
			return smsr_fail(x, !strncmp(why, "name", 4) || !strncmp(why, "role", 4) ? CLI_USAGE : 1,
					 "token create: %s", why);
		if (x->json)
			smsr_emit(x, json_pack("{s:s,s:s,s:s}", "token", tok, "name", name, "role", role));
		else
			printf("%s\n", tok);
		if (!x->json)
			fprintf(stderr, "token '%s' (%s): shown once, the store keeps only its hash\n", name, role);
		memset(tok, 0, sizeof(tok));
		return 0;
	}
	if (!strcmp(sub, "list")) {
		if (smsr_open_store(x))
			return 1;
		json_t *l = store_tokens(x->c.st), *t;
		if (x->json) {
			smsr_emit(x, json_pack("{s:o}", "tokens", l));
			return 0;
		}
		size_t i;
		printf("%-24s %-9s %s\n", "name", "role", "created");
		json_array_foreach(l, i, t) printf("%-24s %-9s %s\n", json_string_value(json_object_get(t, "name")),
						   json_string_value(json_object_get(t, "role")),
						   json_string_value(json_object_get(t, "created")));
		json_decref(l);
		return 0;
	}
	if (!strcmp(sub, "revoke") && argc >= 3) {
		if (smsr_open_store(x))
			return 1;
		int rc = store_token_revoke(x->c.st, argv[2]);
		if (rc)
			return smsr_fail(x, 1, "token revoke: %s",
					 rc > 0 ? "no token has that name" : "the store failed");
		if (x->json)
			smsr_emit(x, json_pack("{s:s,s:b}", "name", argv[2], "revoked", 1));
		else
			printf("token '%s' revoked\n", argv[2]);
		return 0;
	}
	return smsr_fail(x, CLI_USAGE, "%s", token_usage);
}
