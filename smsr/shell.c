/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr shell: readline with a history file, completion of commands, EIDs, AIDs and ICCIDs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "host/pki.h"
#include "smsr.h"

static smsr_ctx *g_x;
static const cli_command *g_table;
static char *words[256];
static size_t n_words;

static void collect_words(void)
{
	for (size_t i = 0; i < n_words; i++)
		free(words[i]);
	n_words = 0;
	if (!g_x->c.st)
		return;
	json_t *l = store_list(g_x->c.st), *e, *p;
	size_t i, j;
	json_array_foreach(l, i, e)
	{
		if (n_words < 255)
			words[n_words++] = strdup(json_string_value(json_object_get(e, "eid")));
		json_array_foreach(json_object_get(e, "isdps"), j, p)
		{
			if (n_words < 255)
				words[n_words++] = strdup(json_string_value(json_object_get(p, "aid")));
			if (n_words < 255 && json_is_string(json_object_get(p, "iccid")))
				words[n_words++] = strdup(json_string_value(json_object_get(p, "iccid")));
		}
	}
	json_decref(l);
}

static char *generator(const char *text, int state)
{
	static size_t idx, len;
	static int phase;
	if (!state) {
		idx = 0;
		len = strlen(text);
		phase = rl_point == (int)len && !strchr(rl_line_buffer, ' ') ? 0 : 1;
	}
	if (phase == 0) {
		while (g_table[idx].name) {
			const char *c = g_table[idx++].name;
			if (!strncmp(c, text, len))
				return strdup(c);
		}
		return NULL;
	}
	while (idx < n_words) {
		const char *w = words[idx++];
		if (!strncmp(w, text, len))
			return strdup(w);
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)start;
	(void)end;
	rl_attempted_completion_over = 1;
	return rl_completion_matches(text, generator);
}

int smsr_shell(smsr_ctx *x, const cli_command *table)
{
	g_x = x;
	g_table = table;
	char hist[1024];
	bench_data_path(hist, sizeof(hist), "smsr_history");
	read_history(hist);
	rl_readline_name = "smsr";
	rl_attempted_completion_function = complete;
	collect_words();
	printf("smsr shell: `help` lists the commands, Tab completes them and EIDs, AIDs, ICCIDs.\n");
	char *line;
	while ((line = readline(x->color ? "\001\033[1m\002smsr>\001\033[0m\002 " : "smsr> ")) != NULL) {
		char *argv[32];
		int argc = 0;
		for (char *t = strtok(line, " \t"); t && argc < 31; t = strtok(NULL, " \t"))
			argv[argc++] = t;
		argv[argc] = NULL;
		if (!argc) {
			free(line);
			continue;
		}
		/* the history keeps the line as typed, but for secrets: the value after --k, --opc, --pin or
		 * --puk is kept as "<hidden>" (the history outlives the session) */
		char joined[1024] = "";
		for (int i = 0; i < argc; i++) {
			bool secret = i > 0 &&
				(!strcmp(argv[i - 1], "--k") || !strcmp(argv[i - 1], "--opc") ||
				 !strcmp(argv[i - 1], "--pin") || !strcmp(argv[i - 1], "--puk"));
			strncat(joined, secret ? "<hidden>" : argv[i], sizeof(joined) - strlen(joined) - 2);
			if (i + 1 < argc)
				strcat(joined, " ");
		}
		add_history(joined);
		if (!strcmp(argv[0], "quit") || !strcmp(argv[0], "exit")) {
			free(line);
			break;
		}
		if (!strcmp(argv[0], "help")) {
			static const cli_command extra[] = {
				{ "trace", "on|off",
				  "show every step decoded: ENVELOPE, SCP80, APDUs, PoR, proactive commands", NULL },
				{ "quit", "", "leave the shell", NULL },
				{ NULL, NULL, NULL, NULL },
			};
			cli_list(stdout, table, 32);
			cli_list(stdout, extra, 32);
		} else if (!strcmp(argv[0], "trace")) {
			if (argc == 2 && (!strcmp(argv[1], "on") || !strcmp(argv[1], "off"))) {
				x->trace = !strcmp(argv[1], "on");
				smsr_disconnect(&x->c); /* reconnect with the new trace setting */
				printf("trace %s\n", x->trace ? "on" : "off");
			} else {
				printf("usage: trace on|off\n");
			}
		} else if (!strcmp(argv[0], "shell")) {
			printf("already in the shell\n");
		} else {
			smsr_dispatch(x, table, argc, argv);
			collect_words();
		}
		free(line);
	}
	write_history(hist);
	for (size_t i = 0; i < n_words; i++)
		free(words[i]);
	n_words = 0;
	printf("\n");
	return 0;
}
