/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The programs' shared helpers: command tables, failing, JSON answers, flags, key protection. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "host/cli.h"

bool cli_take_flag(int *argc, char **argv, const char *flag)
{
	bool found = false;
	int n = 0;
	for (int i = 0; i < *argc; i++) {
		if (i > 0 && !strcmp(argv[i], flag)) {
			found = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	*argc = n;
	argv[n] = NULL;
	return found;
}

#if defined(__SANITIZE_ADDRESS__)
#define CLI_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CLI_SANITIZED 1
#endif
#endif

void cli_protect_keys(void)
{
#ifndef CLI_SANITIZED
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

const cli_command *cli_find(const cli_command *table, const char *name)
{
	for (const cli_command *c = table; c->name; c++)
		if (!strcmp(c->name, name))
			return c;
	return NULL;
}

void cli_list(FILE *f, const cli_command *table, int width)
{
	for (const cli_command *c = table; c->name; c++) {
		char syn[256];
		snprintf(syn, sizeof(syn), "%s%s%s", c->name, c->args[0] ? " " : "", c->args);
		if ((int)strlen(syn) > width)
			fprintf(f, "  %s\n  %*s %s\n", syn, width, "", c->help);
		else
			fprintf(f, "  %-*s %s\n", width, syn, c->help);
	}
}

int cli_fail(const char *prog, bool json, int code, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", prog, line);
	if (json)
		cli_emit(json_pack("{s:s}", "error", line));
	return code;
}

void cli_emit(json_t *o)
{
	if (!o)
		return;
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
}
