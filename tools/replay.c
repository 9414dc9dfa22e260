/* `apdu replay`: conformance vectors (docs/vectors.md) replayed against a card — an in-process software
 * card (a fresh copy of a state file for every case) or a PC/SC reader (optionally reset by a command
 * before every case). Raw steps are compared byte for byte with `..` and `*` wildcards; OTA steps are
 * wrapped with SCP80 using the keys of an EIS file; key establishment and download are symbolic. Results
 * as TAP on stdout, optionally JUnit XML. */
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
#include "host/pki.h"
#include "host/smdp.h"
#include "apdu/proto.h"
#include "host/link.h"
#include "host/profile.h"
#include "replay.h"

/* ---------------- the vector files ---------------- */

typedef struct {
	char *text;      /* the line without its keyword's indentation */
	const char *file;
	int line;
} vstep;

typedef struct {
	char *name;      /* case ID or state name */
	char *title;
	char *requires;  /* state name (cases) */
	bool t1_only;    /* `protocol t1`: a behaviour a T=0 card shows otherwise (skipped on T=0) */
	vstep *steps;
	size_t n, cap;
	const char *file;
	int line;
} vblock;

typedef struct {
	vblock *cases;
	size_t ncases, capc;
	vblock *states;
	size_t nstates, caps;
	char **files;    /* every file read, owned */
	size_t nfiles;
	bool no_includes; /* the fuzz target: nothing but the bytes given */
	char err[512];
} vlib;

static char *trim(char *s)
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

static int load_file(vlib *L, const char *path, int depth)
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
				snprintf(L->err, sizeof(L->err), "%s:%d: %s without a name", fname, ln, is_case ? "case" : "state");
				rc = -1;
				break;
			}
			cur = is_case ? new_block(&L->cases, &L->ncases, &L->capc) : new_block(&L->states, &L->nstates, &L->caps);
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
				snprintf(L->err, sizeof(L->err), "%s:%d: protocol: only 't1' (a case a T=0 card answers otherwise)",
					 fname, ln);
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

static void free_lib(vlib *L)
{
	free_blocks(L->cases, L->ncases);
	free_blocks(L->states, L->nstates);
	for (size_t i = 0; i < L->nfiles; i++)
		free(L->files[i]);
	free(L->files);
}

static const vblock *find_state(const vlib *L, const char *name)
{
	for (size_t i = 0; i < L->nstates; i++)
		if (!strcmp(L->states[i].name, name))
			return &L->states[i];
	return NULL;
}

/* ---------------- running ---------------- */

typedef struct {
	char name[32];
	char value[600];
} var;

typedef struct {
	const replay_opts *o;
	const vlib *L;
	smsr_link *link;
	dev_host h;
	bool have_host;
	json_t *eis;
	bench_pki pki, foreign;
	bool have_pki, have_foreign;
	char tmpdir[256];
	var vars[64];
	size_t nvars;
	abuf last;           /* data of the last response (raw) or of the last PoR's last command */
	uint64_t last_cntr;
	unsigned interrupt_after, segments_done;
	/* the failure of the running case */
	char fail[2048];
	const vstep *fail_step;
} runner;

static void failf(runner *R, const vstep *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void failf(runner *R, const vstep *s, const char *fmt, ...)
{
	if (R->fail[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(R->fail, sizeof(R->fail), fmt, ap);
	va_end(ap);
	R->fail_step = s;
}

static void set_var(runner *R, const char *name, const char *value)
{
	for (size_t i = 0; i < R->nvars; i++)
		if (!strcmp(R->vars[i].name, name)) {
			snprintf(R->vars[i].value, sizeof(R->vars[i].value), "%s", value);
			return;
		}
	if (R->nvars < sizeof(R->vars) / sizeof(R->vars[0])) {
		snprintf(R->vars[R->nvars].name, sizeof(R->vars[0].name), "%s", name);
		snprintf(R->vars[R->nvars].value, sizeof(R->vars[0].value), "%s", value);
		R->nvars++;
	}
}

/* $NAME replaced by its value; an unknown variable is an error */
static int expand(runner *R, const vstep *s, const char *in, char *out, size_t cap)
{
	size_t w = 0;
	for (const char *p = in; *p;) {
		if (*p == '$') {
			const char *q = p + 1;
			while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_')
				q++;
			char name[32];
			snprintf(name, sizeof(name), "%.*s", (int)(q - p - 1), p + 1);
			const char *val = NULL;
			for (size_t i = 0; i < R->nvars; i++)
				if (!strcmp(R->vars[i].name, name))
					val = R->vars[i].value;
			if (!val) {
				failf(R, s, "unknown variable $%s", name);
				return -1;
			}
			size_t n = strlen(val);
			if (w + n + 1 > cap)
				goto too_long;
			memcpy(out + w, val, n);
			w += n;
			p = q;
			continue;
		}
		if (w + 2 > cap)
			goto too_long;
		out[w++] = *p++;
	}
	out[w] = '\0';
	return 0;
too_long:
	failf(R, s, "line too long after variables");
	return -1;
}

/* An expected-bytes pattern: hex, '..' for any byte, '*' (last) for any remaining bytes. */
typedef struct {
	uint8_t b[4096];
	bool any[4096];
	size_t n;
	bool star;
} pattern;

static int parse_pattern(const char *s, pattern *p)
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
static size_t match(const pattern *p, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < p->n; i++)
		if (i >= n || (!p->any[i] && p->b[i] != d[i]))
			return i + 1;
	if (!p->star && n != p->n)
		return p->n + 1;
	return 0;
}

static void pattern_text(const pattern *p, char *out, size_t cap)
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

static void bytes_text(const uint8_t *d, size_t n, char *out, size_t cap)
{
	size_t w = 0;
	for (size_t i = 0; i < n && w + 3 < cap; i++)
		w += (size_t)snprintf(out + w, cap - w, "%02x", d[i]);
	out[w] = '\0';
	if (!n)
		snprintf(out, cap, "(none)");
}

/* compares and, on a mismatch, describes it with a caret under the first differing byte */
static bool check_bytes(runner *R, const vstep *s, const char *what, const pattern *p, const uint8_t *d, size_t n)
{
	size_t at = match(p, d, n);
	if (!at)
		return true;
	char e[2 * 4096 + 8], g[2 * 4096 + 8];
	pattern_text(p, e, sizeof(e));
	bytes_text(d, n, g, sizeof(g));
	size_t col = 2 * (at - 1);
	failf(R, s, "%s differ at byte %zu\n    expected: %.600s\n    got:      %.600s\n              %*s^", what, at - 1, e, g,
	      (int)(col < 600 ? col : 600), "");
	return false;
}

static int hex_arg(runner *R, const vstep *s, const char *text, abuf *out)
{
	abuf_reset(out);
	if (hex_decode(text, out, NULL)) {
		failf(R, s, "not hex: %s", text);
		return -1;
	}
	return 0;
}

/* the expectation line that must follow an action */
static const vstep *expect_line(runner *R, const vblock *b, size_t *k, const char *kw)
{
	if (*k + 1 >= b->n || strncmp(b->steps[*k + 1].text, kw, strlen(kw))) {
		failf(R, &b->steps[*k], "the step is not followed by its '%s' expectation", kw);
		return NULL;
	}
	(*k)++;
	return &b->steps[*k];
}

/* byte for byte, no shell (a path may hold any character) */
static int copy_file(const char *from, const char *to, char *why, size_t why_len)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[8192];
	size_t n;
	int rc = 0;
	if (!in || !out) {
		snprintf(why, why_len, "%s: %s", in ? to : from, strerror(errno));
		rc = -1;
	}
	while (!rc && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			snprintf(why, why_len, "%s: %s", to, strerror(errno));
			rc = -1;
		}
	if (!rc && ferror(in)) {
		snprintf(why, why_len, "%s: read error", from);
		rc = -1;
	}
	if (out && fclose(out) && !rc) {
		snprintf(why, why_len, "%s: %s", to, strerror(errno));
		rc = -1;
	}
	if (in)
		fclose(in);
	return rc;
}

static int open_card(runner *R, char *why, size_t why_len)
{
	const replay_opts *o = R->o;
	if (R->link) {
		link_close(R->link);
		R->link = NULL;
	}
	if (o->inproc) {
		/* a fresh copy of the state file (and its journal, when the card was not stopped cleanly) for
		 * every case: the user's files are never touched */
		char copy[400], from_j[1100], copy_j[420];
		snprintf(copy, sizeof(copy), "%s/card.json", R->tmpdir);
		snprintf(from_j, sizeof(from_j), "%s.journal", o->inproc);
		snprintf(copy_j, sizeof(copy_j), "%s.journal", copy);
		if (copy_file(o->inproc, copy, why, why_len))
			return -1;
		unlink(copy_j);
		if (access(from_j, F_OK) == 0 && copy_file(from_j, copy_j, why, why_len))
			return -1;
		return link_open_inproc(copy, &R->link, why, why_len);
	}
	if (o->reset_cmd && system(o->reset_cmd) != 0) {
		snprintf(why, why_len, "--reset-cmd failed: %s", o->reset_cmd);
		return -1;
	}
	/* the reader may need a moment after a reset command */
	for (int i = 0;; i++) {
		if (!link_open_pcsc(o->reader ? o->reader : "0", &R->link, why, why_len))
			return 0;
		if (!o->reset_cmd || i >= 50)
			return -1;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

static const uint8_t *tar_of(const char *name, uint8_t tar[3])
{
	uint32_t v = !strcmp(name, "isdr") ? PROTO_TAR_ISDR : !strcmp(name, "ecasd") ? PROTO_TAR_ECASD : 0;
	if (v) {
		tar[0] = (uint8_t)(v >> 16);
		tar[1] = (uint8_t)(v >> 8);
		tar[2] = (uint8_t)v;
	} else if (strlen(name) == 6 && !hex_decode_exact(name, tar, 3))
		return tar;
	else
		return NULL;
	return tar;
}

/* OTA [options] TARGET APDU ; APDU ...   then   POR status=XX [sw=XXXX] [count=N] [data=PATTERN] */
static void step_ota(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", line + 3);
	char *p = trim(buf);
	uint16_t spi = 0x1639;
	int cntr_mode = 0; /* 0 next, 1 the last one again */
	int corrupt = 0;   /* 1 cc, 2 cipher */
	/* options before the target */
	for (;;) {
		char *sp = strpbrk(p, " \t");
		if (!sp)
			break;
		*sp = '\0';
		if (!strncmp(p, "spi=", 4)) {
			spi = (uint16_t)strtoul(p + 4, NULL, 16);
		} else if (!strcmp(p, "counter=last")) {
			cntr_mode = 1;
		} else if (!strcmp(p, "corrupt=cc")) {
			corrupt = 1;
		} else if (!strcmp(p, "corrupt=cipher")) {
			corrupt = 2;
		} else {
			*sp = ' ';
			break;
		}
		p = trim(sp + 1);
	}
	char *sp = strpbrk(p, " \t");
	if (!sp) {
		failf(R, s, "OTA needs a target and at least one APDU");
		return;
	}
	*sp = '\0';
	uint8_t tar[3];
	if (!tar_of(p, tar)) {
		failf(R, s, "OTA target '%s': isdr, ecasd or a 6-digit hex TAR", p);
		return;
	}
	abuf apdus[16];
	const uint8_t *items[16];
	size_t lens[16], n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(sp + 1, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		if (n == 16) {
			failf(R, s, "OTA: at most 16 APDUs in one script");
			goto out;
		}
		abuf_init(&apdus[n]);
		if (hex_arg(R, s, trim(tok), &apdus[n])) {
			abuf_free(&apdus[n]);
			goto out;
		}
		items[n] = apdus[n].p;
		lens[n] = apdus[n].len;
		n++;
	}
	dev_host *h = &R->h;
	h->spi = spi;
	if (cntr_mode == 1)
		h->cntr = R->last_cntr;
	R->last_cntr = h->cntr;
	h->corrupt_packet = corrupt;
	bool resync = h->auto_resync;
	if (cntr_mode == 1)
		h->auto_resync = false; /* the point is the refusal */
	int rc = dev_send(h, tar, true, items, lens, n, false);
	h->auto_resync = resync;
	h->corrupt_packet = 0;
	h->spi = 0x1639;
	abuf_reset(&R->last);
	if (rc) {
		failf(R, s, "no PoR came back (%s)", h->log.len ? (char *)h->log.p : "transport");
		goto out;
	}
	/* the expectation */
	unsigned want_status = 0x100, want_count = 0;
	int want_sw = -1;
	bool want_data = false, want_count_set = false;
	pattern pat;
	char ebuf[4096];
	snprintf(ebuf, sizeof(ebuf), "%s", eline + 3);
	char *save2 = NULL;
	for (char *tok = strtok_r(ebuf, " \t", &save2); tok; tok = strtok_r(NULL, " \t", &save2)) {
		if (!strncmp(tok, "status=", 7))
			want_status = (unsigned)strtoul(tok + 7, NULL, 16);
		else if (!strncmp(tok, "sw=", 3))
			want_sw = (int)strtoul(tok + 3, NULL, 16);
		else if (!strncmp(tok, "count=", 6)) {
			want_count = (unsigned)strtoul(tok + 6, NULL, 10);
			want_count_set = true;
		} else if (!strncmp(tok, "data=", 5)) {
			char rest[4096];
			/* data= takes the rest of the line (patterns may contain spaces) */
			snprintf(rest, sizeof(rest), "%s%s%s", tok + 5, save2 && *save2 ? " " : "", save2 ? save2 : "");
			if (parse_pattern(rest, &pat)) {
				failf(R, e, "data= is not a pattern of hex, '..' and a final '*'");
				goto out;
			}
			want_data = true;
			break;
		} else {
			failf(R, e, "POR: unknown field '%s' (status=, sw=, count=, data=)", tok);
			goto out;
		}
	}
	if (want_status > 0xFF) {
		failf(R, e, "POR needs status=XX");
		goto out;
	}
	if (h->por.status != want_status) {
		failf(R, e, "PoR status differs\n    expected: status=%02x\n    got:      status=%02x (%s)", want_status,
		      h->por.status, scp80_por_status_name(h->por.status));
		goto out;
	}
	if (want_sw < 0 && !want_count_set && !want_data)
		goto out;
	scp80_response r;
	if (scp80_response_parse(SCP80_FORMAT_EXPANDED, h->por_data.p, h->por_data.len, &r)) {
		failf(R, e, "the PoR's response data does not parse");
		goto out;
	}
	abuf_put(&R->last, r.data, r.len);
	if (want_count_set && r.count != want_count) {
		failf(R, e, "PoR count differs\n    expected: count=%u\n    got:      count=%u", want_count, (unsigned)r.count);
		goto out;
	}
	if (want_sw >= 0 && r.last_sw != want_sw) {
		failf(R, e, "PoR status word differs\n    expected: sw=%04x\n    got:      sw=%04x", (unsigned)want_sw, r.last_sw);
		goto out;
	}
	if (want_data)
		check_bytes(R, e, "PoR response data", &pat, r.data, r.len);
out:
	for (size_t i = 0; i < n; i++)
		abuf_free(&apdus[i]);
}

/* C: APDU   then   R: [DATA PATTERN] SW */
static void step_raw(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline)
{
	abuf a = ABUF_INIT;
	if (hex_arg(R, s, line + 2, &a)) {
		abuf_free(&a);
		return;
	}
	static uint8_t r[65538 + 16];
	char ebuf[4096];
	snprintf(ebuf, sizeof(ebuf), "%s", trim((char *)eline + 2));
	size_t n = R->h.t.transmit(R->h.t.ctx, a.p, a.len, r, sizeof(r));
	R->h.apdus++;
	abuf_reset(&R->last);
	if (n >= 2 && link_protocol(R->link) == 0) {
		/* a T=0 card: as a T=0 host, fetch 61xx / 9Fxx with GET RESPONSE and send a 6Cxx command again
		 * with that P3, unless the vector expects those status words itself */
		const char *esw = strrchr(ebuf, ' ') ? strrchr(ebuf, ' ') + 1 : ebuf;
		for (int guard = 0; guard < 64 && n >= 2; guard++) {
			uint8_t s1 = r[n - 2], s2 = r[n - 1];
			bool more = (s1 == 0x61 || s1 == 0x9F) && strncasecmp(esw, s1 == 0x61 ? "61" : "9f", 2);
			bool again = s1 == 0x6C && strncasecmp(esw, "6c", 2) && a.len == 5;
			if (!more && !again)
				break;
			abuf_put(&R->last, r, n - 2);
			if (again) {
				a.p[4] = s2;
				abuf_reset(&R->last);
				n = R->h.t.transmit(R->h.t.ctx, a.p, a.len, r, sizeof(r));
			} else {
				uint8_t gr[5] = { (uint8_t)(a.p[0] == 0xA0 ? 0xA0 : (a.p[0] & 0x03)), 0xC0, 0x00, 0x00, s2 };
				n = R->h.t.transmit(R->h.t.ctx, gr, 5, r, sizeof(r));
			}
			R->h.apdus++;
		}
	}
	abuf_free(&a);
	if (n < 2) {
		failf(R, s, "the card did not answer");
		return;
	}
	/* the data as the host got it (all GET RESPONSE parts), then the last status word */
	uint8_t swb[2] = { r[n - 2], r[n - 1] };
	abuf_put(&R->last, r, n - 2);
	char *sw = strrchr(ebuf, ' ');
	char *swt = sw ? sw + 1 : ebuf;
	pattern psw, pdata;
	if (parse_pattern(swt, &psw) || psw.n != 2 || psw.star) {
		failf(R, e, "R: must end with the status word (4 hex digits, '..' allowed)");
		return;
	}
	if (sw)
		*sw = '\0';
	if (parse_pattern(sw ? ebuf : "", &pdata)) {
		failf(R, e, "R: data is not a pattern of hex, '..' and a final '*'");
		return;
	}
	if (check_bytes(R, e, "response data", &pdata, R->last.p, R->last.len))
		check_bytes(R, e, "status words", &psw, swb, 2);
}

/* DOWNLOAD ... interrupt-after=N: the card is reset (power cut) after N segments went through */
static void progress_reset(void *ctx, size_t done, size_t total)
{
	runner *R = ctx;
	(void)done;
	(void)total;
	if (R->interrupt_after && ++R->segments_done == R->interrupt_after)
		R->h.t.reset(R->h.t.ctx);
}

/* DOWNLOAD AID PACKAGE [options]   then   EXPECT ok | EXPECT fail TEXT
 * PACKAGE: generated:ICCID:IMSI[:K:OPC] (a bench package; K 11.., OPc 22.. by default) or a .der path
 * relative to the vector file.
 * Options: pki=foreign-ci | pki=bad-signature, challenge=wrong, corrupt-segment=N, truncate=BYTES,
 * segment=BYTES, interrupt-after=N (segments). */
static void step_download(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", line + 8);
	char *save = NULL, *aidh = strtok_r(buf, " \t", &save), *pk = strtok_r(NULL, " \t", &save);
	uint8_t aid[16];
	if (!aidh || hex_decode_exact(aidh, aid, 16) || !pk) {
		failf(R, s, "DOWNLOAD needs a 16-byte ISD-P AID and a package");
		return;
	}
	abuf pkg = ABUF_INIT;
	smdp_faults faults = { 0 };
	char why[512];
	if (!strncmp(pk, "generated:", 10)) {
		char spec[200], *sv = NULL;
		snprintf(spec, sizeof(spec), "%s", pk + 10);
		profile_params pp;
		memset(&pp, 0, sizeof(pp));
		pp.iccid = strtok_r(spec, ":", &sv);
		pp.imsi = strtok_r(NULL, ":", &sv);
		const char *kh = strtok_r(NULL, ":", &sv), *oh = strtok_r(NULL, ":", &sv);
		memset(pp.k, 0x11, 16);
		memset(pp.opc, 0x22, 16);
		if ((kh && hex_decode_exact(kh, pp.k, 16)) || (oh && hex_decode_exact(oh, pp.opc, 16)) || (kh && !oh)) {
			failf(R, s, "generated:ICCID:IMSI[:K:OPC] with 16-byte K and OPc");
			return;
		}
		if (!pp.iccid || !pp.imsi || profile_build(&pp, &pkg, why, sizeof(why))) {
			failf(R, s, "generated package: %s", pp.iccid && pp.imsi ? why : "generated:ICCID:IMSI[:K:OPC]");
			abuf_free(&pkg);
			return;
		}
	} else {
		char path[1024];
		const char *slash = strrchr(s->file, '/');
		if (pk[0] != '/' && slash)
			snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - s->file), s->file, pk);
		else
			snprintf(path, sizeof(path), "%s", pk);
		FILE *f = fopen(path, "rb");
		if (!f) {
			failf(R, s, "package %s: %s", path, strerror(errno));
			return;
		}
		uint8_t b[4096];
		size_t k;
		while ((k = fread(b, 1, sizeof(b), f)) > 0)
			abuf_put(&pkg, b, k);
		fclose(f);
	}
	const bench_pki *pki = &R->pki;
	bench_pki bad;
	size_t segment = 512;
	for (char *opt = strtok_r(NULL, " \t", &save); opt; opt = strtok_r(NULL, " \t", &save)) {
		if (!strcmp(opt, "pki=bad-signature")) {
			bad = R->pki;
			bad.smdp = R->pki.smsr; /* signs with a key CERT.DP.ECDSA does not certify */
			pki = &bad;
		} else if (!strcmp(opt, "pki=foreign-ci")) {
			if (!R->have_foreign) {
				char dir[400];
				snprintf(dir, sizeof(dir), "%s/foreign-pki", R->tmpdir);
				if (pki_load_or_create(dir, &R->foreign, why, sizeof(why))) {
					failf(R, s, "foreign PKI: %s", why);
					abuf_free(&pkg);
					return;
				}
				R->have_foreign = true;
			}
			bad = R->pki;
			bad.smdp = R->foreign.smdp;
			bad.smdp_cert = R->foreign.smdp_cert;
			pki = &bad;
		} else if (!strcmp(opt, "challenge=wrong")) {
			faults.wrong_challenge = true;
		} else if (!strncmp(opt, "corrupt-segment=", 16) || !strncmp(opt, "segment=", 8) ||
			   !strncmp(opt, "interrupt-after=", 16)) {
			/* counts and sizes: a number from 1 up, nothing else (segment=0 would never end) */
			const char *v = strchr(opt, '=') + 1;
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (!*v || *end || *v == '-' || n < 1 || n > 65535) {
				failf(R, s, "DOWNLOAD: '%s' is not a number from 1 to 65535", opt);
				abuf_free(&pkg);
				return;
			}
			if (opt[0] == 'c') {
				faults.corrupt_segment = (int)n;
			} else if (opt[0] == 's') {
				segment = n;
			} else {
				R->interrupt_after = (unsigned)n;
				R->segments_done = 0;
				R->h.progress = progress_reset;
				R->h.progress_ctx = R;
			}
		} else if (!strncmp(opt, "truncate=", 9)) {
			size_t t = (size_t)strtoul(opt + 9, NULL, 10);
			if (t < pkg.len)
				pkg.len = t;
		} else {
			failf(R, s, "DOWNLOAD: unknown option '%s'", opt);
			abuf_free(&pkg);
			return;
		}
	}
	abuf_reset(&R->h.log);
	int rc = smdp_download_faults(&R->h, pki, R->eis, aid, pkg.p, pkg.len, segment, &faults);
	R->h.progress = NULL;
	R->interrupt_after = 0;
	abuf_free(&pkg);
	const char *got = rc ? (R->h.log.len ? (const char *)R->h.log.p : "failed") : NULL;
	char eb[1024];
	snprintf(eb, sizeof(eb), "%s", trim((char *)eline + 6));
	if (!strcmp(eb, "ok")) {
		if (rc)
			failf(R, e, "download outcome differs\n    expected: ok\n    got:      fail (%s)", got);
	} else if (!strncmp(eb, "fail", 4)) {
		const char *text = trim(eb + 4);
		if (!rc)
			failf(R, e, "download outcome differs\n    expected: fail %s\n    got:      ok", text);
		else if (*text && !strstr(got, text))
			failf(R, e, "download failure differs\n    expected: fail %s\n    got:      fail (%s)", text, got);
	} else {
		failf(R, e, "EXPECT ok | EXPECT fail [TEXT]");
	}
}

static void run_steps(runner *R, const vblock *b)
{
	for (size_t k = 0; k < b->n && !R->fail[0]; k++) {
		const vstep *s = &b->steps[k];
		char line[4096], eline[4096];
		if (expand(R, s, s->text, line, sizeof(line)))
			return;
		if (!strncmp(line, "C:", 2)) {
			const vstep *e = expect_line(R, b, &k, "R:");
			if (e && !expand(R, e, e->text, eline, sizeof(eline)))
				step_raw(R, s, line, e, eline);
		} else if (!strncmp(line, "OTA ", 4)) {
			const vstep *e = expect_line(R, b, &k, "POR");
			if (e && !expand(R, e, e->text, eline, sizeof(eline)))
				step_ota(R, s, line, e, eline);
		} else if (!strncmp(line, "DOWNLOAD ", 9)) {
			const vstep *e = expect_line(R, b, &k, "EXPECT");
			if (e && !expand(R, e, e->text, eline, sizeof(eline)))
				step_download(R, s, line, e, eline);
		} else if (!strncmp(line, "set ", 4)) {
			char *p = trim(line + 4), *sp = strpbrk(p, " \t");
			if (!sp) {
				failf(R, s, "set NAME VALUE");
				return;
			}
			*sp = '\0';
			set_var(R, p, trim(sp + 1));
		} else if (!strncmp(line, "capture ", 8)) {
			/* capture NAME OFFSET LENGTH: bytes of the last response data, as hex */
			char name[32];
			unsigned off, len;
			if (sscanf(line + 8, "%31s %u %u", name, &off, &len) != 3 || off + len > R->last.len || len > 290) {
				failf(R, s, "capture NAME OFFSET LENGTH within the last response (%zu bytes)", R->last.len);
				return;
			}
			char hx[600];
			set_var(R, name, hex_encode(R->last.p + off, len, hx));
		} else if (!strncmp(line, "LOCATION ", 9)) {
			/* LOCATION no-service|normal: EVENT DOWNLOAD location status, the proactive loop after it */
			const char *st = trim(line + 9);
			uint8_t v = !strcmp(st, "normal") ? 0x00 : !strcmp(st, "limited") ? 0x01 : !strcmp(st, "no-service") ? 0x02 : 0xFF;
			if (v == 0xFF) {
				failf(R, s, "LOCATION normal|limited|no-service");
				return;
			}
			if (dev_location(&R->h, v) == 0)
				failf(R, s, "the card did not answer the EVENT DOWNLOAD");
		} else if (!strcmp(line, "CONFIRM")) {
			/* confirms the notifications the card sent (STORE DATA 3A08 for each) */
			if (dev_confirm_notifications(&R->h))
				failf(R, s, "confirming the notifications failed");
		} else if (!strncmp(line, "NOTIFICATIONS ", 14)) {
			/* NOTIFICATIONS count=N [last-type=XX]: what the card has sent and is not yet confirmed */
			unsigned cnt = 0, type = 0x100;
			const char *c = strstr(line, "count="), *t = strstr(line, "last-type=");
			if (!c) {
				failf(R, s, "NOTIFICATIONS count=N [last-type=XX]");
				return;
			}
			cnt = (unsigned)strtoul(c + 6, NULL, 10);
			if (t)
				type = (unsigned)strtoul(t + 10, NULL, 16);
			if (R->h.n_notifs != cnt)
				failf(R, s, "notifications differ\n    expected: count=%u\n    got:      count=%zu", cnt, R->h.n_notifs);
			else if (type <= 0xFF && (!cnt || R->h.notifs[cnt - 1].type != type))
				failf(R, s, "notification type differs\n    expected: last-type=%02x\n    got:      last-type=%02x", type,
				      cnt ? R->h.notifs[cnt - 1].type : 0);
		} else if (!strcmp(line, "RESET")) {
			R->h.t.reset(R->h.t.ctx);
			if (dev_attach(&R->h))
				failf(R, s, "no answer after the reset");
		} else {
			failf(R, s, "unknown step: %.60s", line);
		}
	}
}

/* a state's steps, after those of the state it requires itself */
static void run_state(runner *R, const char *name, int depth)
{
	const vblock *st = find_state(R->L, name);
	if (!st || depth > 8) {
		failf(R, NULL, "state '%s' %s", name, st ? "requires states more than 8 deep" : "is not defined");
		return;
	}
	if (st->requires && strcmp(st->requires, "fresh"))
		run_state(R, st->requires, depth + 1);
	if (!R->fail[0])
		run_steps(R, st);
}

static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\n' || *s == '\t')
				fputc(*s, f);
		}
	}
}

typedef struct {
	bool done, ok, skipped;
	double secs;
	char *detail;
} result;

int replay_run(const replay_opts *o, char *why, size_t why_len)
{
	vlib L;
	memset(&L, 0, sizeof(L));
	for (size_t i = 0; i < o->nfiles; i++)
		if (load_file(&L, o->files[i], 0)) {
			snprintf(why, why_len, "%s", L.err);
			free_lib(&L);
			return -1;
		}
	for (size_t k = 0; k < L.ncases + L.nstates; k++) {
		const vblock *b = k < L.ncases ? &L.cases[k] : &L.states[k - L.ncases];
		if (b->requires && strcmp(b->requires, "fresh") && !find_state(&L, b->requires)) {
			snprintf(why, why_len, "%s:%d: %s requires state '%s', which no file defines", b->file, b->line, b->name,
				 b->requires);
			free_lib(&L);
			return -1;
		}
	}
	if (o->list) {
		for (size_t i = 0; i < L.ncases; i++) {
			const vblock *c = &L.cases[i];
			printf("%-22s %-14s %s:%d  %s\n", c->name, c->requires ? c->requires : "fresh", c->file, c->line, c->title);
		}
		printf("# %zu cases in %zu files\n", L.ncases, L.nfiles);
		free_lib(&L);
		return 0;
	}
	if (o->inproc && access(o->inproc, R_OK) != 0) {
		snprintf(why, why_len, "--inproc %s: %s", o->inproc, strerror(errno));
		free_lib(&L);
		return -1;
	}
	runner R;
	memset(&R, 0, sizeof(R));
	R.o = o;
	R.L = &L;
	abuf_init(&R.last);
	snprintf(R.tmpdir, sizeof(R.tmpdir), "/tmp/apdu-replay-XXXXXX");
	int rc = -1;
	result *res = calloc(L.ncases ? L.ncases : 1, sizeof(*res));
	if (!mkdtemp(R.tmpdir) || !res) {
		snprintf(why, why_len, "cannot create a temporary directory: %s", strerror(errno));
		free(res);
		free_lib(&L);
		return -1;
	}
	json_error_t je;
	R.eis = o->eis ? json_load_file(o->eis, 0, &je) : NULL;
	if (o->eis && !R.eis) {
		snprintf(why, why_len, "%s: %s", o->eis, je.text);
		goto out;
	}
	if (R.eis) {
		char pdir[600];
		if (o->pki_dir)
			snprintf(pdir, sizeof(pdir), "%s", o->pki_dir);
		else if (!pki_default_dir(pdir, sizeof(pdir))) {
			snprintf(why, why_len, "no PKI directory (--pki DIR)");
			goto out;
		}
		if (pki_load_or_create(pdir, &R.pki, why, why_len))
			goto out;
		R.have_pki = true;
	}
	printf("TAP version 13\n1..%zu\n", L.ncases);
	size_t failed = 0, run = 0, skipped = 0;
	for (size_t i = 0; i < L.ncases; i++) {
		const vblock *c = &L.cases[i];
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		R.fail[0] = '\0';
		R.fail_step = NULL;
		R.nvars = 0;
		char ow[600];
		bool skip_t0 = false;
		res[i].done = true;
		if (open_card(&R, ow, sizeof(ow))) {
			failf(&R, NULL, "the card: %s", ow);
		} else if (c->t1_only && link_protocol(R.link) == 0) {
			skip_t0 = true;
		} else {
			dev_transport t = link_transport(R.link);
			if (R.have_host) {
				/* one host for the whole run: its counter only grows */
				R.h.t = t;
			} else if (R.eis) {
				if (dev_init(&R.h, &t, R.eis))
					failf(&R, NULL, "the EIS has no usable ISD-R keyset");
				R.have_host = true;
				R.h.auto_resync = true;
				R.h.cntr = (uint64_t)time(NULL) << 8; /* above what an earlier run left on a real card */
			} else {
				memset(&R.h, 0, sizeof(R.h));
				R.h.t = t;
				abuf_init(&R.h.log);
				abuf_init(&R.h.por_data);
				R.have_host = true;
			}
			if (R.eis) {
				set_var(&R, "EID", json_string_value(json_object_get(R.eis, "eid")));
				set_var(&R, "ISDR", json_string_value(json_object_get(json_object_get(R.eis, "isd_r"), "aid")));
				set_var(&R, "ECASD", json_string_value(json_object_get(json_object_get(R.eis, "ecasd"), "aid")));
			}
			R.h.n_notifs = 0;
			if (!R.fail[0] && R.eis && dev_attach(&R.h))
				failf(&R, NULL, "the card does not answer TERMINAL PROFILE");
			const char *req = c->requires ? c->requires : "fresh";
			if (!R.fail[0] && strcmp(req, "fresh")) {
				run_state(&R, req, 0);
				if (R.fail[0]) {
					char tmp[sizeof(R.fail)];
					memcpy(tmp, R.fail, sizeof(tmp));
					int k = snprintf(R.fail, sizeof(R.fail), "setting up state '%.100s' failed: ", req);
					if (k > 0 && (size_t)k < sizeof(R.fail))
						snprintf(R.fail + k, sizeof(R.fail) - (size_t)k, "%.*s", (int)(sizeof(R.fail) - (size_t)k - 1), tmp);
				}
			}
			if (!R.fail[0])
				run_steps(&R, c);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		res[i].secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (skip_t0) {
			res[i].skipped = true;
			skipped++;
			printf("ok %zu - %s %s # SKIP protocol t1: a T=0 card answers this otherwise\n", i + 1, c->name,
			       c->title);
			fflush(stdout);
			continue;
		}
		run++;
		res[i].ok = !R.fail[0];
		printf("%s %zu - %s %s # requires: %s\n", res[i].ok ? "ok" : "not ok", i + 1, c->name, c->title,
		       c->requires ? c->requires : "fresh");
		if (!res[i].ok) {
			failed++;
			char detail[3000];
			if (R.fail_step)
				snprintf(detail, sizeof(detail), "at %s:%d: %s\n    %s", R.fail_step->file, R.fail_step->line,
					 R.fail_step->text, R.fail);
			else
				snprintf(detail, sizeof(detail), "%s", R.fail);
			res[i].detail = strdup(detail);
			printf("  ---\n  case: %s:%d\n  %s\n  ...\n", c->file, c->line, detail);
			if (o->stop_on_fail)
				break;
		}
		fflush(stdout);
	}
	printf("# %zu passed, %zu failed, %zu skipped, %zu not run\n", run - failed, failed, skipped,
	       L.ncases - run - skipped);
	if (o->junit) {
		FILE *f = fopen(o->junit, "w");
		if (!f) {
			snprintf(why, why_len, "%s: %s", o->junit, strerror(errno));
			goto out;
		}
		fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n", L.ncases,
			failed);
		for (size_t fi = 0; fi < L.nfiles; fi++) {
			size_t nt = 0, nf = 0, ns = 0;
			for (size_t i = 0; i < L.ncases; i++)
				if (L.cases[i].file == L.files[fi]) {
					nt++;
					nf += res[i].done && !res[i].skipped && !res[i].ok;
					ns += !res[i].done || res[i].skipped;
				}
			if (!nt)
				continue;
			fprintf(f, "  <testsuite name=\"");
			xml_text(f, L.files[fi]);
			fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", nt, nf, ns);
			for (size_t i = 0; i < L.ncases; i++) {
				if (L.cases[i].file != L.files[fi])
					continue;
				fprintf(f, "    <testcase classname=\"");
				xml_text(f, L.files[fi]);
				fprintf(f, "\" name=\"");
				xml_text(f, L.cases[i].name);
				fputc(' ', f);
				xml_text(f, L.cases[i].title);
				fprintf(f, "\" time=\"%.3f\"", res[i].secs);
				if (!res[i].done) {
					fprintf(f, "><skipped message=\"not run (--stop-on-fail)\"/></testcase>\n");
				} else if (res[i].skipped) {
					fprintf(f, "><skipped message=\"protocol t1: a T=0 card answers this otherwise\"/></testcase>\n");
				} else if (res[i].ok) {
					fprintf(f, "/>\n");
				} else {
					fprintf(f, "><failure message=\"");
					char first[200];
					snprintf(first, sizeof(first), "%s", res[i].detail);
					char *nl = strchr(first, '\n');
					if (nl)
						*nl = '\0';
					xml_text(f, first);
					fprintf(f, "\">");
					xml_text(f, res[i].detail);
					fprintf(f, "</failure></testcase>\n");
				}
			}
			fprintf(f, "  </testsuite>\n");
		}
		fprintf(f, "</testsuites>\n");
		if (fclose(f)) {
			snprintf(why, why_len, "%s: %s", o->junit, strerror(errno));
			goto out;
		}
	}
	rc = failed ? 1 : 0;
out:
	if (R.link)
		link_close(R.link);
	if (R.have_host && R.eis)
		dev_free(&R.h);
	else if (R.have_host) {
		abuf_free(&R.h.log);
		abuf_free(&R.h.por_data);
	}
	if (R.have_pki)
		pki_free(&R.pki);
	if (R.have_foreign)
		pki_free(&R.foreign);
	json_decref(R.eis);
	abuf_free(&R.last);
	for (size_t i = 0; i < L.ncases; i++)
		free(res[i].detail);
	free(res);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", R.tmpdir);
	if (system(cmd)) {
	}
	free_lib(&L);
	return rc;
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
