/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every smsr command stands on: failing and answering (text or JSON), the core set up with the
 * trace and progress, results presented, and the dispatch of a command line. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagram.h"
#include "smsr.h"

int smsr_fail(smsr_ctx *x, int code, const char *fmt, ...)
{
	/* formatted aside first: an argument may be x->msg itself */
	char line[sizeof(x->msg)];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	memcpy(x->msg, line, sizeof(line));
	return cli_fail("smsr", x->json, code, "%s", x->msg);
}

void smsr_emit(smsr_ctx *x, json_t *o)
{
	(void)x;
	cli_emit(o);
}

static void trace_line(void *ctx, const char *line)
{
	smsr_ctx *x = ctx;
	diagram_trace(x->diagram, line);
	if (!x->trace)
		return;
	if (x->color)
		fprintf(stderr, "\033[2m%s\033[0m\n", line);
	else
		fprintf(stderr, "%s\n", line);
}

static void progress(void *ctx, size_t done, size_t total)
{
	(void)ctx;
	int w = 40, fill = total ? (int)(done * (size_t)w / total) : w;
	fprintf(stderr, "\r  download [%.*s%*s] %3zu%% %zu/%zu bytes", fill, "########################################",
		w - fill, "", total ? done * 100 / total : 100, done, total);
	if (done >= total)
		fputc('\n', stderr);
}

int smsr_open_store(smsr_ctx *x)
{
	char why[1300];
	if (smsr_core_open(&x->c, why, sizeof(why)))
		return smsr_fail(x, 1, "%s", why);
	return 0;
}

smsr_core *smsr_core_of(smsr_ctx *x)
{
	x->c.trace = x->trace || x->diagram ? trace_line : NULL;
	x->c.trace_ctx = x;
	bool bar = isatty(2) && !x->json;
	x->c.progress = bar ? progress : NULL;
	x->c.progress_ctx = x;
	return &x->c;
}

int smsr_report(smsr_ctx *x, smsr_result *r, int rc, json_t *extra)
{
	size_t i;
	json_t *e;
	if (!x->json)
		json_array_foreach(r->events, i, e) printf("  %s\n", json_string_value(e));
	if (rc) {
		json_decref(extra);
		return smsr_fail(x, r->usage ? CLI_USAGE : 1, "%s", r->msg);
	}
	if (x->json) {
		json_t *o = smsr_result_json(r);
		if (extra)
			json_object_update(o, extra);
		smsr_emit(x, o);
	}
	json_decref(extra);
	return 0;
}

void smsr_print_table(smsr_ctx *x, const char *eid, json_t *isdps)
{
	size_t i;
	json_t *p;
	printf("eUICC %s\n", eid);
	printf("  %-34s %-21s %-13s %s\n", "ISD-P AID", "ICCID", "state", "flags");
	json_array_foreach(isdps, i, p)
	{
		const char *st = json_string_value(json_object_get(p, "state"));
		bool on = st && !strcmp(st, "enabled");
		printf("  %-34s %-21s %s%-13s%s %s%s\n", json_string_value(json_object_get(p, "aid")),
		       json_is_string(json_object_get(p, "iccid")) ? json_string_value(json_object_get(p, "iccid"))
								   : "-",
		       on && x->color ? "\033[32m" : "", st, on && x->color ? "\033[0m" : "",
		       json_is_true(json_object_get(p, "fallback")) ? "fall-back " : "",
		       json_is_true(json_object_get(p, "emergency")) ? "emergency" : "");
	}
	if (!json_array_size(isdps))
		printf("  (no ISD-P)\n");
}

void smsr_print_isdps(smsr_ctx *x, const char *eid)
{
	json_t *l = store_isdps(x->c.st, eid);
	smsr_print_table(x, eid, l);
	json_decref(l);
}

int smsr_read_file(const char *path, abuf *out, char *why, size_t why_len)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	uint8_t buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (abuf_put(out, buf, n) || out->len > (1u << 20)) {
			fclose(f);
			snprintf(why, why_len, "%s: larger than 1 MiB", path);
			return -1;
		}
	fclose(f);
	return 0;
}

int smsr_take_eid(int argc, char **argv, const char **eid)
{
	/* EID first when it looks like one (32 digits), otherwise the only registered eUICC */
	*eid = NULL;
	if (argc > 1 && strlen(argv[1]) == 32 && strspn(argv[1], "0123456789") == 32) {
		*eid = argv[1];
		return 2;
	}
	return 1;
}

const char *smsr_opt(int argc, char **argv, const char *name)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], name))
			return argv[i + 1];
	return NULL;
}

int smsr_dispatch(smsr_ctx *x, const cli_command *table, int argc, char **argv)
{
	x->msg[0] = '\0';
	const cli_command *c = cli_find(table, argv[0]);
	if (!c)
		return smsr_fail(x, CLI_USAGE, "unknown command '%s' (see smsr --help)", argv[0]);
	return c->run(x, argc, argv);
}
