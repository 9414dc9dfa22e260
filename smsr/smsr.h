/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The smsr program: the command line and the shell over the SM-SR core (core.h). */
#ifndef SMSR_SMSR_H
#define SMSR_SMSR_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "core.h"
#include "host/cli.h"

typedef struct diagram diagram;

typedef struct {
	smsr_core c;
	diagram *diagram; /* --diagram: the trace recorded as a sequence diagram */
	bool trace;
	bool json;
	bool color;
	char msg[1024]; /* what failed, for the caller to print */
} smsr_ctx;

/* session.c: failing (the message kept in x->msg, printed, a JSON error with --json) and answering */
int smsr_fail(smsr_ctx *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void smsr_emit(smsr_ctx *x, json_t *o);
int smsr_open_store(smsr_ctx *x);
/* the core set up for one command: store, trace, progress bar on a terminal */
smsr_core *smsr_core_of(smsr_ctx *x);
/* an operation's result: its events printed (text), then a failure (exit 1) or, with --json, the result
 * object (extra fields merged in) and else nothing: the caller prints its own text after 0 */
int smsr_report(smsr_ctx *x, smsr_result *r, int rc, json_t *extra);
void smsr_print_table(smsr_ctx *x, const char *eid, json_t *isdps);
void smsr_print_isdps(smsr_ctx *x, const char *eid);
int smsr_read_file(const char *path, abuf *out, char *why, size_t why_len);
/* the index of the first argument after an optional EID (set in *eid, else NULL) */
int smsr_take_eid(int argc, char **argv, const char **eid);
/* runs argv[0] from table with x; returns the exit status */
int smsr_dispatch(smsr_ctx *x, const cli_command *table, int argc, char **argv);
/* options of the form --name VALUE / --flag after the positional ones: the value of --name or NULL */
const char *smsr_opt(int argc, char **argv, const char *name);

/* commands.c: the commands, in the order --help lists them */
extern const cli_command smsr_table[];
/* --help: the table with the global options and the exit statuses */
void smsr_usage(FILE *f);
/* the command groups, each in its file */
int smsr_cmd_profile(void *ctx, int argc, char **argv);	 /* cmd_profile.c */
int smsr_cmd_register(void *ctx, int argc, char **argv); /* cmd_fleet.c */
int smsr_cmd_fleet(void *ctx, int argc, char **argv);
int smsr_cmd_list(void *ctx, int argc, char **argv);
/* --tag K=V..., --state S, --operator OP from argv[from..] into f (f->tags to free) */
int smsr_take_filter(smsr_ctx *x, int argc, char **argv, int from, store_filter *f);
int smsr_cmd_smdp(void *ctx, int argc, char **argv);	 /* cmd_smdp.c */
int smsr_cmd_campaign(void *ctx, int argc, char **argv); /* cmd_campaign.c */
int smsr_cmd_jobs(void *ctx, int argc, char **argv);
int smsr_cmd_event(void *ctx, int argc, char **argv); /* cmd_rules.c */
int smsr_cmd_rules(void *ctx, int argc, char **argv);
int smsr_cmd_history(void *ctx, int argc, char **argv);
int smsr_cmd_diagram(void *ctx, int argc, char **argv); /* cmd_diagram.c */
/* seconds since 1970, or 2026-01-01T10:00:00Z: 0, else -1 */
int smsr_parse_time(const char *s, long long *out);

/* shell.c: reads command lines and dispatches them through table */
int smsr_shell(smsr_ctx *x, const cli_command *table);

#endif
