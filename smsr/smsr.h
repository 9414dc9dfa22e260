/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The smsr program's operations, shared by the command line and the shell. */
#ifndef SMSR_SMSR_H
#define SMSR_SMSR_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "host/cli.h"
#include "host/pki.h"
#include "host/link.h"
#include "host/smdp.h"
#include "store.h"

typedef struct {
	const char *db_path;
	const char *reader;
	const char *inproc;
	bool trace;
	bool json;
	bool color;
	smsr_store *st;
	smsr_link *link;
	dev_host h;
	bool connected;
	char eid[33];
	char msg[1024]; /* what failed, for the caller to print */
	unsigned notes; /* notifications handled during the last operation */
	json_t *events; /* human-readable events of the last operation (resyncs, notifications) */
} smsr_ctx;

/* session.c: failing (the message kept in x->msg, printed, a JSON error with --json) and answering */
int smsr_fail(smsr_ctx *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void smsr_emit(smsr_ctx *x, json_t *o);
/* something that happened during an operation (a resync, a notification): printed, and in the JSON */
void smsr_event(smsr_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int smsr_open_store(smsr_ctx *x);
/* the card of eid (or the only registered one): transport, keys, attach, pending notifications */
int smsr_connect(smsr_ctx *x, const char *eid);
void smsr_disconnect(smsr_ctx *x);
const char *smsr_notif_name(unsigned t);
/* one ES5 command in an OTA packet; resynchronises the counter on 'counter too low'. The SW of the
 * command, or 0 with x->msg set. */
uint16_t smsr_es5(smsr_ctx *x, const char *apdu_hex, abuf *out);
/* notifications that came with the last exchange: stored, then confirmed (3A08), idempotent */
void smsr_handle_notifications(smsr_ctx *x);
/* GET STATUS of the ISD-Ps; the store settled to what the card has */
int smsr_audit(smsr_ctx *x);
json_t *smsr_isdps_json(smsr_ctx *x);
void smsr_print_table(smsr_ctx *x, json_t *isdps);
void smsr_print_isdps(smsr_ctx *x);
int smsr_read_file(const char *path, abuf *out, char *why, size_t why_len);
void smsr_progress(void *ctx, size_t done, size_t total);
int smsr_load_pki(smsr_ctx *x, bench_pki *pki);
/* the index of the first argument after an optional EID (set in *eid, else NULL) */
int smsr_take_eid(int argc, char **argv, const char **eid);
/* runs argv[0] from table with x; returns the exit status */
int smsr_dispatch(smsr_ctx *x, const cli_command *table, int argc, char **argv);

/* commands.c: the commands, in the order --help lists them */
extern const cli_command smsr_table[];
/* --help: the table with the global options and the exit statuses */
void smsr_usage(FILE *f);

/* shell.c: reads command lines and dispatches them through table */
int smsr_shell(smsr_ctx *x, const cli_command *table);

#endif
