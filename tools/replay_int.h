/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The replayer's parts (tools/replay*.c): the vector files as read, the runner, the steps, reports. */
#ifndef TOOLS_REPLAY_INT_H
#define TOOLS_REPLAY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "host/adapter.h"
#include "host/link.h"
#include "host/pki.h"
#include "host/capture.h"
#include "replay.h"

/* ---------------- the vector files ---------------- */

typedef struct {
	char *text; /* the line without its keyword's indentation */
	const char *file;
	int line;
} vstep;

typedef struct {
	char *name; /* case ID or state name */
	char *title;
	char *requires; /* state name (cases) */
	bool t1_only;	/* `protocol t1`: a behaviour a T=0 card shows otherwise (skipped on T=0) */
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
	char **files; /* every file read, owned */
	size_t nfiles;
	bool no_includes; /* the fuzz target: nothing but the bytes given */
	char err[512];
} vlib;

typedef struct {
	char name[32];
	char value[600];
} var;

typedef struct {
	const replay_opts *o;
	const vlib *L;
	smsr_link *link;
	capture *cap; /* --pcap / --gsmtap */
	capture_tap tap;
	dev_host h;
	bool have_host;
	json_t *eis;
	bench_pki pki, foreign;
	bool have_pki, have_foreign;
	char tmpdir[256];
	var vars[64];
	size_t nvars;
	abuf last; /* data of the last response (raw) or of the last PoR's last command */
	uint64_t last_cntr;
	unsigned interrupt_after, segments_done;
	/* the failure of the running case */
	char fail[2048];
	const vstep *fail_step;
} runner;

/* An expected-bytes pattern: hex, '..' for any byte, '*' (last) for any remaining bytes. */
typedef struct {
	uint8_t b[4096];
	bool any[4096];
	size_t n;
	bool star;
} pattern;

typedef struct {
	bool done, ok, skipped;
	double secs;
	char *detail;
} result;

/* replay_parse.c: the files, their cases and states */
char *trim(char *s);
int load_file(vlib *L, const char *path, int depth);
void free_lib(vlib *L);
const vblock *find_state(const vlib *L, const char *name);

/* replay_steps.c: what every step uses, and the steps (patterns: replay_parse.c) */
void failf(runner *R, const vstep *s, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void set_var(runner *R, const char *name, const char *value);
int expand(runner *R, const vstep *s, const char *in, char *out, size_t cap);
int parse_pattern(const char *s, pattern *p);
size_t match(const pattern *p, const uint8_t *d, size_t n);
void pattern_text(const pattern *p, char *out, size_t cap);
void bytes_text(const uint8_t *d, size_t n, char *out, size_t cap);
bool check_bytes(runner *R, const vstep *s, const char *what, const pattern *p, const uint8_t *d, size_t n);
int hex_arg(runner *R, const vstep *s, const char *text, abuf *out);
const vstep *expect_line(runner *R, const vblock *b, size_t *k, const char *kw);
void step_ota(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline);
void step_raw(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline);
void step_download(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline);

/* replay.c: the card of a case, a block's steps, a state set up */
int open_card(runner *R, char *why, size_t why_len);
void run_steps(runner *R, const vblock *b);
void run_state(runner *R, const char *name, int depth);

/* replay_report.c: JUnit XML of a run */
int replay_write_junit(const char *path, const vlib *L, const result *res, size_t failed, char *why, size_t why_len);

#endif
