/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apdu: an offline calculator for the wire layer (OTA packets, PoRs, SCP03 sessions, MILENAGE, TLV
 * trees, EID/ICCID check digits) and a sender to a card. Human-readable output by default, one JSON
 * object with --json. The command table is here; each command lives with its kind. */
#include <stdio.h>
#include <string.h>

#include "host/cli.h"
#include "apdu_tool.h"

static int run_ota(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_ota(argc, argv);
}
static int run_scp03(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_scp03(argc, argv);
}
static int run_milenage(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_milenage(argc, argv);
}
static int run_tlv(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_tlv(argc, argv);
}
static int run_eid(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_eid(argc, argv);
}
static int run_iccid(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_iccid(argc, argv);
}
static int run_send(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_send(argc, argv);
}
static int run_read_ids(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_read_ids(argc, argv);
}
static int run_replay(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_replay(argc, argv);
}

static const cli_command apdu_table[] = {
	{ "ota", "encode|decode|por", "SCP80: wrap C-APDUs, verify and decipher a packet or a PoR", run_ota },
	{ "scp03", "", "host side of an SCP03 session: EXTERNAL AUTHENTICATE, wrap, unwrap", run_scp03 },
	{ "milenage", "", "MILENAGE f1..f5* (3GPP TS 35.206)", run_milenage },
	{ "tlv", "HEX", "print a BER-TLV tree", run_tlv },
	{ "eid", "check EID", "check EID check digits", run_eid },
	{ "iccid", "check ICCID", "check an ICCID's Luhn digit", run_iccid },
	{ "send", "", "send C-APDUs to a card (PC/SC reader or in-process software card)", run_send },
	{ "read-ids", "", "ICCID, IMSI, SPN of the enabled profile, with standard UICC commands", run_read_ids },
	{ "replay", "", "replay conformance vectors against a card (TAP, JUnit)", run_replay },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fputs("usage: apdu [--json] COMMAND [ARGS]\n"
	      "\n"
	      "Offline calculator for the eUICC bench's wire layer, and a sender to a card. Hex input is\n"
	      "case-insensitive and may contain spaces. --json (anywhere on the line) prints one JSON object.\n"
	      "\n"
	      "commands:\n",
	      f);
	cli_list(f, apdu_table, 24);
	fputs("\n'apdu COMMAND --help' explains each one. Exit status: 0 ok, 1 the input does not verify,\n"
	      "2 bad arguments.\n",
	      f);
}

int main(int argc, char **argv)
{
	cli_protect_keys();
	/* --json is accepted anywhere: take it out before the subcommand parses its options */
	g_json = cli_take_flag(&argc, argv, "--json");
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("apdu (euicc-bench) 0.1.0\n");
		return 0;
	}
	const cli_command *c = cli_find(apdu_table, cmd);
	if (c)
		return c->run(NULL, argc - 1, argv + 1);
	return tool_fail(CLI_USAGE, "unknown command '%s' (see apdu --help)", cmd);
}
