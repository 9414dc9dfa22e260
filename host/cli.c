/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The programs' shared helpers: command tables, failing, JSON answers, flags, key protection,
 * durations and times. */
#define _XOPEN_SOURCE 700 /* strptime */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

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

void cli_xml_text(FILE *f, const char *s)
{
	for (; *s; s++)
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			/* control characters have no place in XML 1.0 */
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
}

long long cli_duration(const char *s)
{
	if (!s || !*s)
		return -1;
	long long total = 0;
	const char *c = s;
	while (*c) {
		char *end;
		errno = 0;
		long long v = strtoll(c, &end, 10);
		if (end == c || errno || v < 0 || v > 100LL * 365 * 86400)
			return -1;
		long long unit;
		switch (*end) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case '\0':
			if (c != s)
				return -1; /* "1h30": the unit of the last part is missing */
			return v;
		default: return -1;
		}
		total += v * unit;
		if (total > 100LL * 365 * 86400)
			return -1;
		c = end + 1;
	}
	return total;
}

int cli_time(const char *s, long long *out)
{
	if (!s || !*s)
		return -1;
	if (strspn(s, "0123456789") == strlen(s) && strlen(s) <= 12) {
		*out = atoll(s);
		return 0;
	}
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end || (strcmp(end, "Z") && *end))
		return -1;
	time_t t = timegm(&tm);
	if (t < 0 || t > (time_t)253402300799LL) /* before 1970 or after 9999 */
		return -1;
	*out = (long long)t;
	return 0;
}
