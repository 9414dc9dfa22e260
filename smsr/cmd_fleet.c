/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr register, fleet import, list: the fleet as the store holds it. */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smsr.h"

#define SMSR_EIS_MAX (1 << 20) /* an EIS is a few kB; a larger file is refused before it is read */

static json_t *load_eis(const char *path, char *why, size_t why_len)
{
	struct stat sb;
	json_error_t je;
	if (stat(path, &sb) != 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (sb.st_size > SMSR_EIS_MAX) {
		snprintf(why, why_len, "%s is larger than an EIS can be (%lld bytes, at most %d)", path,
			 (long long)sb.st_size, SMSR_EIS_MAX);
		return NULL;
	}
	/* jansson keeps the last of two equal keys: an EIS that says two things is refused */
	json_t *eis = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!eis)
		snprintf(why, why_len, "%s: %s (line %d)", path, je.text, je.line);
	return eis;
}

int smsr_cmd_register(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *file = NULL, *endpoint = NULL;
	char why[1200];
	json_t *tags = json_object();
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--endpoint") && i + 1 < argc) {
			endpoint = argv[++i];
		} else if (!strcmp(argv[i], "--tag") && i + 1 < argc) {
			if (store_parse_tags(argv[++i], tags, why, sizeof(why))) {
				json_decref(tags);
				return smsr_fail(x, CLI_USAGE, "register: --tag: %s", why);
			}
		} else if (!file && argv[i][0] != '-') {
			file = argv[i];
		} else {
			json_decref(tags);
			return smsr_fail(x, CLI_USAGE, "usage: smsr register EIS.json [--endpoint URI] [--tag K=V]...");
		}
	}
	if (!file) {
		json_decref(tags);
		return smsr_fail(x, CLI_USAGE, "usage: smsr register EIS.json [--endpoint URI] [--tag K=V]...");
	}
	if (endpoint && link_check_uri(endpoint, why, sizeof(why))) {
		json_decref(tags);
		return smsr_fail(x, CLI_USAGE, "register: --endpoint: %s", why);
	}
	if (smsr_open_store(x)) {
		json_decref(tags);
		return 1;
	}
	json_t *eis = load_eis(file, why, sizeof(why));
	if (!eis) {
		json_decref(tags);
		return smsr_fail(x, 1, "%s", why);
	}
	char e[33];
	int rc = store_register(x->c.st, eis, endpoint, tags, e, why, sizeof(why));
	json_decref(eis);
	if (rc) {
		json_decref(tags);
		return smsr_fail(x, 1, "register %s: %s", file, why);
	}
	store_log(x->c.st, "register", e, "ok");
	if (x->json)
		smsr_emit(x, json_pack("{s:s,s:s?,s:o}", "eid", e, "endpoint", endpoint, "tags", tags));
	else {
		printf("registered eUICC %s%s%s\n", e, endpoint ? " at " : "", endpoint ? endpoint : "");
		json_decref(tags);
	}
	return 0;
}

/* the lines of a JSON Lines bundle, read once */
typedef struct {
	char path[8192];
	char **lines;
	size_t n;
} bundle;

static void bundle_free(bundle *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->lines[i]);
	free(b->lines);
	memset(b, 0, sizeof(*b));
}

static int bundle_load(bundle *b, const char *path, char *why, size_t why_len)
{
	if (b->lines && !strcmp(b->path, path))
		return 0;
	bundle_free(b);
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(why, why_len, "%.1000s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(b->path, sizeof(b->path), "%s", path);
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (b->n == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			b->lines = realloc(b->lines, alloc * sizeof(char *));
		}
		b->lines[b->n++] = strdup(line);
	}
	free(line);
	fclose(f);
	return 0;
}

/* one CSV line: eis,endpoint,tags; returns -1 with why */
static int import_line(smsr_ctx *x, const char *base, char *line, bundle *b, char *why, size_t why_len)
{
	store_fleet_row row;
	if (store_fleet_line(line, &row, why, why_len))
		return -1;
	const char *eis_f = row.eis, *endpoint = row.endpoint;
	json_t *tags = row.tags;
	char inner[1200];
	char path[8192];
	snprintf(path, sizeof(path), "%s%s%s", eis_f[0] == '/' ? "" : base, eis_f[0] == '/' ? "" : "/", eis_f);
	json_t *eis = NULL;
	char *hash = strrchr(path, '#');
	if (hash) {
		*hash = '\0';
		char *end;
		unsigned long idx = strtoul(hash + 1, &end, 10);
		if (!hash[1] || *end) {
			snprintf(why, why_len, "field 'eis': '%s' is not FILE or BUNDLE.jsonl#INDEX", eis_f);
		} else if (!bundle_load(b, path, inner, sizeof(inner))) {
			json_error_t je;
			if (idx >= b->n)
				snprintf(why, why_len, "field 'eis': %.600s has %zu lines, no line %lu", path, b->n,
					 idx);
			else if (!(eis = json_loads(b->lines[idx], JSON_REJECT_DUPLICATES, &je)))
				snprintf(why, why_len, "field 'eis': %.600s line %lu: %s", path, idx + 1, je.text);
		} else {
			snprintf(why, why_len, "field 'eis': %s", inner);
		}
	} else if (!(eis = load_eis(path, inner, sizeof(inner)))) {
		snprintf(why, why_len, "field 'eis': %s", inner);
	}
	int rc = -1;
	char e[33];
	if (eis && store_register(x->c.st, eis, endpoint, tags, e, inner, sizeof(inner)) == 0)
		rc = 0;
	else if (eis)
		snprintf(why, why_len, "%s", inner);
	json_decref(eis);
	json_decref(tags);
	return rc;
}

static int fleet_import(smsr_ctx *x, const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return smsr_fail(x, 1, "fleet import: %s: %s", file, strerror(errno));
	char dirbuf[4096];
	snprintf(dirbuf, sizeof(dirbuf), "%s", file);
	const char *base = dirname(dirbuf);
	if (smsr_open_store(x)) {
		fclose(f);
		return 1;
	}
	if (store_begin(x->c.st)) {
		fclose(f);
		return smsr_fail(x, 1, "fleet import: the store is busy");
	}
	bundle b;
	memset(&b, 0, sizeof(b));
	char *line = NULL, why[1600];
	size_t cap = 0, n = 0, lineno = 0;
	int rc = 0;
	bool tty = isatty(2) && !x->json;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		if (lineno == 1 && !strncmp(line, "eis,", 4))
			continue; /* the header */
		if (line[strspn(line, " \t\r\n")] == '\0' || line[0] == '#')
			continue;
		if (import_line(x, base, line, &b, why, sizeof(why))) {
			rc = smsr_fail(x, 1, "fleet import: %s line %zu: %s; nothing imported", file, lineno, why);
			break;
		}
		n++;
		if (tty && n % 500 == 0)
			fprintf(stderr, "\r  %zu eUICCs read", n);
	}
	if (tty && n >= 500)
		fputc('\n', stderr);
	free(line);
	fclose(f);
	bundle_free(&b);
	if (rc || store_commit(x->c.st)) {
		store_rollback(x->c.st);
		return rc ? rc : smsr_fail(x, 1, "fleet import: the store could not commit; nothing imported");
	}
	store_log(x->c.st, "fleet import", NULL, "ok");
	if (x->json)
		smsr_emit(x, json_pack("{s:s,s:I}", "file", file, "imported", (json_int_t)n));
	else
		printf("imported %zu eUICCs from %s\n", n, file);
	return 0;
}

int smsr_cmd_fleet(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc == 3 && !strcmp(argv[1], "import"))
		return fleet_import(x, argv[2]);
	return smsr_fail(x, CLI_USAGE, "usage: smsr fleet import FILE.csv (lines: eis,endpoint,tags)");
}

/* --tag K=V (repeatable), --state S, --operator OP into f */
int smsr_take_filter(smsr_ctx *x, int argc, char **argv, int from, store_filter *f)
{
	char why[600];
	memset(f, 0, sizeof(*f));
	for (int i = from; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return smsr_fail(x, CLI_USAGE, "%s: option %s needs a value", argv[0], o);
		if (!strcmp(o, "--tag")) {
			if (!f->tags)
				f->tags = json_object();
			if (store_parse_tags(v, f->tags, why, sizeof(why)))
				return smsr_fail(x, CLI_USAGE, "%s: --tag: %s", argv[0], why);
		} else if (!strcmp(o, "--state")) {
			f->state = v;
		} else if (!strcmp(o, "--operator")) {
			f->operator_ = v;
		} else {
			return smsr_fail(x, CLI_USAGE, "%s: unknown option '%s'", argv[0], o);
		}
		i++;
	}
	return 0;
}

int smsr_cmd_list(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	store_filter f;
	int rc = smsr_take_filter(x, argc, argv, 1, &f);
	if (rc) {
		json_decref(f.tags);
		return rc;
	}
	if (smsr_open_store(x)) {
		json_decref(f.tags);
		return 1;
	}
	json_t *l = store_fleet(x->c.st, &f, true);
	json_decref(f.tags);
	if (x->json) {
		smsr_emit(x, json_pack("{s:o}", "euiccs", l));
		return 0;
	}
	size_t i;
	json_t *e;
	if (!json_array_size(l))
		printf("no eUICC registered%s\n", f.tags || f.state || f.operator_ ? " matches" : "");
	json_array_foreach(l, i, e)
	{
		smsr_print_table(x, json_string_value(json_object_get(e, "eid")), json_object_get(e, "isdps"));
		const char *ep = json_string_value(json_object_get(e, "endpoint"));
		if (ep)
			printf("  endpoint %s\n", ep);
	}
	json_decref(l);
	return 0;
}
