/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The apdu tool's shared helpers: failing, JSON answers, hex arguments. */
#include <stdarg.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apdu/hex.h"
#include "host/cli.h"
#include "apdu_tool.h"

bool g_json;
const char *g_cmd = "apdu";

/* Reports an error naming what failed; with --json also as {"error": ...} on stdout. */
int tool_fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cli_fail(g_cmd, g_json, code, "%s", msg);
}

int emit_json(json_t *o)
{
	if (!o)
		return tool_fail(CLI_FAIL, "out of memory building JSON");
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
	return 0;
}

json_t *json_hex(const uint8_t *p, size_t len)
{
	char *s = hex_encode_alloc(p, len);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

void print_hex(const char *label, const uint8_t *p, size_t len)
{
	char *s = hex_encode_alloc(p, len);
	if (label)
		printf("%-22s %s\n", label, s ? s : "?");
	else
		printf("%s\n", s ? s : "?");
	free(s);
}

/* Parses hex for option `name`; exact length when want > 0. Returns 0 or an exit code (error printed). */
int arg_hex(const char *name, const char *val, abuf *out, size_t want)
{
	size_t pos = 0;
	abuf_reset(out);
	apdu_err e = hex_decode(val, out, &pos);
	if (e == APDU_E_HEX_DIGIT)
		return tool_fail(CLI_USAGE, "%s: '%c' at position %zu is not a hex digit", name, val[pos], pos + 1);
	if (e == APDU_E_HEX_ODD)
		return tool_fail(CLI_USAGE, "%s: odd number of hex digits", name);
	if (e)
		return tool_fail(CLI_USAGE, "%s: %s", name, apdu_strerror(e));
	if (want && out->len != want)
		return tool_fail(CLI_USAGE, "%s: expected %zu bytes (%zu hex digits), got %zu bytes", name, want,
				 2 * want, out->len);
	return 0;
}

int arg_hex_fixed(const char *name, const char *val, uint8_t *out, size_t want)
{
	abuf b = ABUF_INIT;
	int rc = val ? arg_hex(name, val, &b, want) : tool_fail(CLI_USAGE, "%s is required", name);
	if (!rc)
		memcpy(out, b.p, want);
	abuf_free(&b);
	return rc;
}

bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && i <= 2; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}
