/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vector files (docs/vectors.md) read into cases and states, includes followed. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apdu/hex.h"
#include "apdu/proto.h"
#include "host/link.h"
#include "host/pki.h"
#include "host/profile.h"
#include "host/smdp.h"
#include "replay_int.h"

char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = '\0';
	return s;
}

static void push_step(vblock *b, const char *text, const char *file, int line)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		b->steps = realloc(b->steps, b->cap * sizeof(*b->steps));
		if (!b->steps)
			abort();
	}
	b->steps[b->n++] = (vstep){ strdup(text), file, line };
}

static vblock *new_block(vblock **arr, size_t *n, size_t *cap)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 32;
		*arr = realloc(*arr, *cap * sizeof(**arr));
		if (!*arr)
			abort();
	}
	vblock *b = &(*arr)[(*n)++];
	memset(b, 0, sizeof(*b));
	return b;
}

static int load_stream(vlib *L, FILE *f, const char *path, int depth);

int load_file(vlib *L, const char *path, int depth)
{
	if (depth > 8) {
		snprintf(L->err, sizeof(L->err), "%s: includes nested more than 8 deep", path);
		return -1;
	}
	for (size_t i = 0; i < L->nfiles; i++)
		if (!strcmp(L->files[i], path))
			return 0; /* included twice: once is enough */
	if (L->no_includes && depth > 0) {
		snprintf(L->err, sizeof(L->err), "%s: includes are off", path);
		return -1;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(L->err, sizeof(L->err), "%s: %s", path, strerror(errno));
		return -1;
	}
	return load_stream(L, f, path, depth);
}

static int load_stream(vlib *L, FILE *f, const char *path, int depth)
{
	L->files = realloc(L->files, (L->nfiles + 1) * sizeof(char *));
	const char *fname = L->files[L->nfiles++] = strdup(path);
	char buf[4096];
	int ln = 0, rc = 0;
	vblock *cur = NULL;
	while (fgets(buf, sizeof(buf), f)) {
		ln++;
		if (!strchr(buf, '\n') && !feof(f)) {
			snprintf(L->err, sizeof(L->err), "%s:%d: line longer than 4095 characters", fname, ln);
			rc = -1;
			break;
		}
		char *s = trim(buf);
		if (!*s || *s == '#')
			continue;
		if (!strncmp(s, "include ", 8)) {
			char inc[1024];
			const char *rel = trim(s + 8);
			const char *slash = strrchr(fname, '/');
			if (rel[0] != '/' && slash)
				snprintf(inc, sizeof(inc), "%.*s/%s", (int)(slash - fname), fname, rel);
			else
				snprintf(inc, sizeof(inc), "%s", rel);
			if (load_file(L, inc, depth + 1)) {
				rc = -1;
				break;
			}
			cur = NULL;
			continue;
		}
		if (!strncmp(s, "case ", 5) || !strncmp(s, "state ", 6)) {
			bool is_case = s[0] == 'c';
			char *rest = trim(s + (is_case ? 5 : 6));
			char *sp = strpbrk(rest, " \t");
			if (sp)
				*sp++ = '\0';
			if (!*rest) {
				snprintf(L->err, sizeof(L->err), "%s:%d: %s without a name", fname, ln,
					 is_case ? "case" : "state");
				rc = -1;
				break;
			}
			cur = is_case ? new_block(&L->cases, &L->ncases, &L->capc)
				      : new_block(&L->states, &L->nstates, &L->caps);
			cur->name = strdup(rest);
			cur->title = strdup(sp ? trim(sp) : "");
			cur->file = fname;
			cur->line = ln;
			continue;
		}
		if (!cur) {
			snprintf(L->err, sizeof(L->err), "%s:%d: a step outside any case or state: %s", fname, ln, s);
			rc = -1;
			break;
		}
		if (!strncmp(s, "requires ", 9)) {
			free(cur->requires);
			cur->requires = strdup(trim(s + 9));
			continue;
		}
		if (!strncmp(s, "protocol ", 9)) {
			if (strcmp(trim(s + 9), "t1")) {
				snprintf(L->err, sizeof(L->err),
					 "%s:%d: protocol: only 't1' (a case a T=0 card answers otherwise)", fname, ln);
				rc = -1;
				break;
			}
			cur->t1_only = true;
			continue;
		}
		push_step(cur, s, fname, ln);
	}
	fclose(f);
	return rc;
}

static void free_blocks(vblock *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < b[i].n; k++)
			free(b[i].steps[k].text);
		free(b[i].steps);
		free(b[i].name);
		free(b[i].title);
		free(b[i].requires);
	}
	free(b);
}

void free_lib(vlib *L)
{
	free_blocks(L->cases, L->ncases);
	free_blocks(L->states, L->nstates);
	for (size_t i = 0; i < L->nfiles; i++)
		free(L->files[i]);
	free(L->files);
}

const vblock *find_state(const vlib *L, const char *name)
{
	for (size_t i = 0; i < L->nstates; i++)
		if (!strcmp(L->states[i].name, name))
			return &L->states[i];
	return NULL;
}

int replay_check_text(const char *data, size_t len, char *why, size_t why_len)
{
	vlib L;
	memset(&L, 0, sizeof(L));
	L.no_includes = true;
	FILE *f = fmemopen((void *)data, len, "r");
	if (!f) {
		snprintf(why, why_len, "fmemopen: %s", strerror(errno));
		return -1;
	}
	int rc = load_stream(&L, f, "input.vec", 0);
	if (rc)
		snprintf(why, why_len, "%s", L.err);
	/* the expectation patterns, matched against the text's own bytes */
	for (size_t i = 0; i < L.ncases && !rc; i++)
		for (size_t k = 0; k < L.cases[i].n; k++) {
			const char *t = L.cases[i].steps[k].text;
			pattern *p = malloc(sizeof(*p));
			if (!p)
				abort();
			if (!strncmp(t, "R:", 2) && !parse_pattern(t + 2, p))
				(void)match(p, (const uint8_t *)data, len);
			free(p);
		}
	free_lib(&L);
	return rc;
}

int parse_pattern(const char *s, pattern *p)
{
	memset(p, 0, sizeof(*p));
	for (const char *c = s; *c;) {
		if (*c == ' ' || *c == '\t') {
			c++;
			continue;
		}
		if (p->star)
			return -1; /* '*' must come last */
		if (*c == '*') {
			p->star = true;
			c++;
			continue;
		}
		if (p->n >= sizeof(p->b))
			return -1;
		if (c[0] == '.' && c[1] == '.') {
			p->any[p->n++] = true;
			c += 2;
			continue;
		}
		int hi = hex_nibble(c[0]), lo = c[1] ? hex_nibble(c[1]) : -1;
		if (hi < 0 || lo < 0)
			return -1;
		p->b[p->n++] = (uint8_t)(hi << 4 | lo);
		c += 2;
	}
	return 0;
}

/* 0 when data matches; else the index of the first difference (+1) */
size_t match(const pattern *p, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < p->n; i++)
		if (i >= n || (!p->any[i] && p->b[i] != d[i]))
			return i + 1;
	if (!p->star && n != p->n)
		return p->n + 1;
	return 0;
}

void pattern_text(const pattern *p, char *out, size_t cap)
{
	size_t w = 0;
	for (size_t i = 0; i < p->n && w + 4 < cap; i++) {
		if (p->any[i])
			w += (size_t)snprintf(out + w, cap - w, "..");
		else
			w += (size_t)snprintf(out + w, cap - w, "%02x", p->b[i]);
	}
	if (p->star && w + 2 < cap)
		w += (size_t)snprintf(out + w, cap - w, "*");
	out[w < cap ? w : cap - 1] = '\0';
}

void bytes_text(const uint8_t *d, size_t n, char *out, size_t cap)
{
	size_t w = 0;
	for (size_t i = 0; i < n && w + 3 < cap; i++)
		w += (size_t)snprintf(out + w, cap - w, "%02x", d[i]);
	out[w] = '\0';
	if (!n)
		snprintf(out, cap, "(none)");
}
