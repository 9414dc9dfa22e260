/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr: a minimal SM-SR (with the SM-DP role it needs) that drives eUICCs over the air. The global
 * options, then one command of the table (commands.c). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host/cli.h"
#include "diagram.h"
#include "smsr.h"

int main(int argc, char **argv)
{
	cli_protect_keys();
	smsr_ctx x;
	memset(&x, 0, sizeof(x));
	x.json = cli_take_flag(&argc, argv, "--json");
	const char *pcap = NULL, *gsmtap = NULL, *diagram_path = NULL;
	bool plaintext = false;
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *o = argv[i];
		if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
			smsr_usage(stdout);
			return 0;
		}
		if (!strcmp(o, "--version")) {
			printf("smsr (euicc-bench) 0.1.0\n");
			return 0;
		}
		if (!strcmp(o, "--trace")) {
			x.trace = true;
			continue;
		}
		if (!strcmp(o, "--pcap-plaintext")) {
			plaintext = true;
			continue;
		}
		if (i + 1 >= argc)
			return smsr_fail(&x, CLI_USAGE, "option %s needs a value", o);
		if (!strcmp(o, "--db"))
			x.c.db_path = argv[++i];
		else if (!strcmp(o, "--reader"))
			x.c.reader = argv[++i];
		else if (!strcmp(o, "--inproc"))
			x.c.inproc = argv[++i];
		else if (!strcmp(o, "--kek"))
			x.c.kek_path = argv[++i];
		else if (!strcmp(o, "--pki"))
			x.c.pki_dir = argv[++i];
		else if (!strcmp(o, "--pcap"))
			pcap = argv[++i];
		else if (!strcmp(o, "--gsmtap"))
			gsmtap = argv[++i];
		else if (!strcmp(o, "--diagram"))
			diagram_path = argv[++i];
		else if (!strcmp(o, "--now")) {
			long long now;
			if (smsr_parse_time(argv[++i], &now))
				return smsr_fail(&x, CLI_USAGE,
						 "--now '%s': expected seconds since 1970 or 2026-01-01T10:00:00Z",
						 argv[i]);
			store_set_clock(now);
		} else
			return smsr_fail(&x, CLI_USAGE, "unknown option '%s' (global options come before the command)",
					 o);
	}
	if (x.c.reader && x.c.inproc)
		return smsr_fail(&x, CLI_USAGE, "--reader and --inproc: give one of them");
	if (plaintext && !pcap)
		return smsr_fail(&x, CLI_USAGE, "--pcap-plaintext annotates a capture: give --pcap FILE too");
	char why[600];
	if ((pcap || gsmtap) && capture_open(pcap, gsmtap, plaintext, &x.c.cap, why, sizeof(why)))
		return smsr_fail(&x, 1, "%s", why);
	if (diagram_path) {
		const char *dot = strrchr(diagram_path, '.');
		if (!dot || (strcmp(dot, ".mmd") && strcmp(dot, ".svg")))
			return smsr_fail(&x, CLI_USAGE, "--diagram %s: the name ends in .mmd (Mermaid) or .svg",
					 diagram_path);
		x.diagram = diagram_new();
	}
	if (i >= argc) {
		smsr_usage(stderr);
		return CLI_USAGE;
	}
	x.color = isatty(1) && !x.json && !getenv("NO_COLOR");
	signal(SIGPIPE, SIG_IGN);
	int rc = smsr_dispatch(&x, smsr_table, argc - i, argv + i);
	smsr_core_close(&x.c);
	capture_close(x.c.cap);
	if (x.diagram && diagram_write(x.diagram, diagram_path, why, sizeof(why)) && !rc)
		rc = smsr_fail(&x, 1, "%s", why);
	diagram_free(x.diagram);
	return rc;
}
