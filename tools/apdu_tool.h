/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The apdu tool's commands and shared helpers (tools/apdu_*.c). */
#ifndef TOOLS_APDU_TOOL_H
#define TOOLS_APDU_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "host/cli.h"

extern bool g_json;	  /* --json was given */
extern const char *g_cmd; /* the command named in messages ("apdu ota encode") */

/* apdu_util.c: reports an error naming what failed (and {"error": ...} with --json); returns code */
int tool_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int emit_json(json_t *o);
json_t *json_hex(const uint8_t *p, size_t len);
void print_hex(const char *label, const uint8_t *p, size_t len);
/* a hex argument: want bytes exactly (0: any length); fails naming the option */
int arg_hex(const char *name, const char *val, abuf *out, size_t want);
int arg_hex_fixed(const char *name, const char *val, uint8_t *out, size_t want);
bool wants_help(int argc, char **argv);

/* getopt_long values of the long options */
enum {
	OPT_SPI = 256,
	OPT_KIC,
	OPT_KIC_KEY,
	OPT_KID,
	OPT_KID_KEY,
	OPT_TAR,
	OPT_CNTR,
	OPT_FORMAT,
	OPT_HELP,
	OPT_ENC,
	OPT_MAC,
	OPT_DEK,
	OPT_LEVEL,
	OPT_HOST_CHAL,
	OPT_CARD_RESP,
	OPT_CMD,
	OPT_RSP,
	OPT_KVN,
	OPT_K,
	OPT_OP,
	OPT_OPC,
	OPT_RAND,
	OPT_SQN,
	OPT_AMF
};

/* the commands: argv[0] is the command's name */
int cmd_ota(int argc, char **argv);
int cmd_scp03(int argc, char **argv);
int cmd_milenage(int argc, char **argv);
int cmd_tlv(int argc, char **argv);
int cmd_eid(int argc, char **argv);
int cmd_iccid(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_read_ids(int argc, char **argv);
int cmd_replay(int argc, char **argv);

#endif
