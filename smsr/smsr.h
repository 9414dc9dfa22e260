/* The smsr program's operations, shared by the command line and the shell. */
#ifndef SMSR_SMSR_H
#define SMSR_SMSR_H

#include <stdbool.h>

#include <jansson.h>

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
	char msg[1024];       /* what failed, for the caller to print */
	unsigned notes;       /* notifications handled during the last operation */
	json_t *events;       /* human-readable events of the last operation (resyncs, notifications) */
} smsr_ctx;

/* Runs one command (argv[0] is the command); prints its result; returns the exit status. */
int smsr_run(smsr_ctx *x, int argc, char **argv);
void smsr_disconnect(smsr_ctx *x);
int smsr_shell(smsr_ctx *x);
extern const char *const smsr_commands[];

#endif
