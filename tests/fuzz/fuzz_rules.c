/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rules file (smsr/rules_parse.c): any bytes as YAML. A file taken has rules each with a name, an
 * event type and at least one action, that print as JSON; a refusal names a line; a duration parse
 * never goes negative but for -1. */
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	char why[800];
	why[0] = '\0';
	ruleset rs;
	if (rules_parse((const char *)data, size, &rs, why, sizeof(why))) {
		if (strncmp(why, "line ", 5))
			abort(); /* every refusal names its line */
	} else {
		for (size_t i = 0; i < rs.n; i++)
			if (!rs.v[i].name[0] || !rs.v[i].type[0] || json_array_size(rs.v[i].actions) < 1)
				abort();
		json_t *j = rules_json(&rs);
		char *text = json_dumps(j, 0);
		if (!text)
			abort();
		free(text);
		json_decref(j);
		rules_free(&rs);
	}
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	long long d = rules_duration(s);
	if (d < -1)
		abort();
	free(s);
	return 0;
}
