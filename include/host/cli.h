/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the bench's programs (apdu, euicc-sim, smsr) share: one command table per program (name,
 * synopsis, one-line help, function) that dispatch, --help, the shell and completion all read; failing
 * with a message (and a JSON error with --json); printing a JSON answer; the exit statuses. */
#ifndef HOST_CLI_H
#define HOST_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

/* exit statuses of every program */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct {
	const char *name;
	const char *args;			      /* synopsis after the name ("" when none) */
	const char *help;			      /* one line */
	int (*run)(void *ctx, int argc, char **argv); /* argv[0] is the command's name */
} cli_command;

/* The entry of a table (ended by a NULL name) called name, or NULL. */
const cli_command *cli_find(const cli_command *table, const char *name);
/* One line per command: "  NAME ARGS" padded to width, then the help. */
void cli_list(FILE *f, const cli_command *table, int width);
/* "PROG: MESSAGE" on stderr; with json, {"error": MESSAGE} on stdout too. Returns code. */
int cli_fail(const char *prog, bool json, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The answer on stdout, indented, with a newline; takes the reference. */
void cli_emit(json_t *o);
/* A duration as the programs take it: "45" (seconds), "30s", "10m", "2h", "1d", or sums like "1h30m";
 * -1 when s is not one. */
long long cli_duration(const char *s);
/* s as XML character data or an attribute value (< > & " escaped, control characters left out), for
 * JUnit reports and SVG */
void cli_xml_text(FILE *f, const char *s);
/* A time: seconds since 1970, or 2026-01-01T10:00:00Z (UTC); 0, or -1 when s is not one. */
int cli_time(const char *s, long long *out);

/* Removes every occurrence of `flag` after argv[0] (options like --json are accepted anywhere on the
 * command line) and returns whether there was one; argv stays NULL-terminated. */
bool cli_take_flag(int *argc, char **argv, const char *flag);
/* The process holds keys: no core dump of it, no ptrace by other processes of the user
 * (PR_SET_DUMPABLE 0). Left out in sanitizer builds, whose leak checker needs to trace the process. */
void cli_protect_keys(void);

#endif
