/* SPDX-License-Identifier: GPL-2.0-or-later */
/* euicc-sim: creates software eUICCs and serves them to pcscd through the vpcd driver. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/smdp.h"
#include "host/cli.h"
#include "apdu/hex.h"
#include "host/pki.h"
#include "euicc/euicc.h"
#include "euicc/vpcd.h"
#include "host/capture.h"
#include "euicc_sim.h"

#define MAX_CARDS 64

static bool g_json;
static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_reset;

static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return cli_fail("euicc-sim", g_json, code, "%s", msg);
}

static void emit(json_t *o)
{
	cli_emit(o);
}

static int cmd_new(int argc, char **argv);
static int cmd_run(int argc, char **argv);
static int cmd_show(int argc, char **argv);
static int run_new(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_new(argc, argv);
}
static int run_run(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_run(argc, argv);
}
static int run_show(void *ctx, int argc, char **argv)
{
	(void)ctx;
	return cmd_show(argc, argv);
}
static int run_farm(void *ctx, int argc, char **argv)
{
	(void)ctx;
	if (argc >= 2 && !strcmp(argv[1], "run")) {
		int ac, rc;
		char **av;
		if ((rc = sim_farm_run_args(g_json, argc, argv, &ac, &av)))
			return rc;
		return cmd_run(ac, av);
	}
	return sim_cmd_farm(g_json, argc, argv);
}

static const cli_command sim_table[] = {
	{ "new", "--state FILE [--eid EID] [--eis EIS.json] [--seed N] [--pki DIR] [--fallback-threshold N] [--force]",
	  "create a card (EID, ECASD key and certificate, ISD-R OTA keysets) and its EIS for an SM-SR", run_new },
	{ "run",
	  "--state FILE [--vpcd HOST:PORT] [--state FILE --vpcd HOST:PORT]... [--trace] [--pcap F [--pcap-plaintext]] "
	  "[--gsmtap H:P]",
	  "serve cards to vpcd (default 127.0.0.1:35963); reconnects when pcscd restarts; SIGINT/SIGTERM save and exit",
	  run_run },
	{ "show", "--state FILE [--json] [--show-secrets]",
	  "EID, profiles, free slots, pending notifications, counters", run_show },
	{ "farm",
	  "new DIR --count N [--seed S] [--pki DIR] | show DIR | run DIR [--vpcd HOST:PORT] [--first I] [--count K]",
	  "a device farm: N cards in DIR with the fleet file smsr imports (endpoint farm:DIR#i)", run_farm },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fputs("usage: euicc-sim [--json] COMMAND [OPTIONS]\n"
	      "\n"
	      "A software SGP.02 eUICC that pcscd sees through vsmartcard's vpcd driver.\n"
	      "\n"
	      "commands:\n",
	      f);
	cli_list(f, sim_table, 6);
	fputs("\n"
	      "  run   --state FILE --reset-from FRESH [--vpcd HOST:PORT]\n"
	      "        one card that SIGHUP resets to FRESH (copied over FILE, then a power cycle) without\n"
	      "        leaving the reader; logs 'card 0 reset to FRESH' (conformance runs: apdu replay --reset-cmd)\n"
	      "  run   --echo [--vpcd HOST:PORT]    a card that answers 9000 to everything (latency floor)\n"
	      "  run   ... --t0-strict   behave as a real T=0 card: ATR with T=0 only, 61xx after every case-4\n"
	      "        command, 6Cxx for a wrong Le, no extended length (docs/real-cards.md)\n"
	      "\n"
	      "The test PKI (CI, EUM, SM-DP, SM-SR) lives in $XDG_DATA_HOME/euicc-bench/pki unless --pki DIR.\n"
	      "Keys are never printed unless --show-secrets. Exit status: 0 ok, 1 failed, 2 bad arguments.\n",
	      f);
}

enum {
	O_STATE = 256,
	O_EID,
	O_EIS,
	O_SEED,
	O_PKI,
	O_FB,
	O_FORCE,
	O_VPCD,
	O_TRACE,
	O_ECHO,
	O_SECRETS,
	O_HELP,
	O_RESET_FROM,
	O_T0,
	O_PCAP,
	O_GSMTAP,
	O_PLAIN
};

static int write_json_file(const char *path, json_t *o, char *why, size_t why_len)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s.new.%ld", path, (long)getpid());
	FILE *f = NULL;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0)
		f = fdopen(fd, "w");
	if (!f || json_dumpf(o, f, JSON_INDENT(2)) || fputc('\n', f) == EOF || fflush(f) || fsync(fileno(f))) {
		snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		unlink(tmp);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path)) {
		snprintf(why, why_len, "cannot rename to %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int cmd_new(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, O_STATE },
		{ "eid", required_argument, NULL, O_EID },
		{ "eis", required_argument, NULL, O_EIS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "pki", required_argument, NULL, O_PKI },
		{ "fallback-threshold", required_argument, NULL, O_FB },
		{ "force", no_argument, NULL, O_FORCE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL, *eis = NULL, *pki_dir = NULL;
	euicc_new_opts o;
	memset(&o, 0, sizeof(o));
	bool force = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case O_STATE: state = optarg; break;
		case O_EID: o.eid = optarg; break;
		case O_EIS: eis = optarg; break;
		case O_SEED:
			o.has_seed = true;
			errno = 0;
			o.seed = strtoull(optarg, &end, 0);
			if (!*optarg || *end || *optarg == '-' || errno == ERANGE)
				return fail(CLI_USAGE, "--seed: '%s' is not a number from 0 to 2^64-1", optarg);
			break;
		case O_PKI: pki_dir = optarg; break;
		case O_FB:
			o.fallback_threshold = (unsigned)strtoul(optarg, &end, 10);
			if (!*optarg || *end || o.fallback_threshold < 1 || o.fallback_threshold > 255)
				return fail(CLI_USAGE, "--fallback-threshold: '%s' is not a number from 1 to 255",
					    optarg);
			break;
		case O_FORCE: force = true; break;
		case 'h':
		case O_HELP: usage(stdout); return 0;
		default:
			return fail(CLI_USAGE, "new: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(CLI_USAGE, "new: unexpected argument '%s'", argv[optind]);
	if (!state)
		return fail(CLI_USAGE, "new: --state FILE is required");
	if (!force && access(state, F_OK) == 0)
		return fail(CLI_USAGE, "new: %s exists; a card's NVM is not overwritten without --force", state);
	char dir[1024], why[1024];
	bench_pki pki;
	if (pki_load_or_create(pki_dir ? pki_dir : pki_default_dir(dir, sizeof(dir)), &pki, why, sizeof(why)))
		return fail(1, "test PKI: %s", why);
	o.issuer = pki_issuer(&pki);
	euicc_card *card = euicc_create(&o, why, sizeof(why));
	pki_free(&pki);
	if (!card)
		return fail(o.eid ? CLI_USAGE : 1, "new: %s", why);
	int rc = 0;
	/* a state file another process serves is not replaced under it (it would write its card back) */
	if (euicc_claim(card, state, why, sizeof(why))) {
		rc = fail(1, "new: %s", why);
		goto out;
	}
	/* the EIS first: a card whose EIS could not be written is not left behind */
	if (eis) {
		json_t *e = euicc_eis(card);
		int w = write_json_file(eis, e, why, sizeof(why));
		json_decref(e);
		if (w) {
			rc = fail(1, "new: %s", why);
			goto out;
		}
	}
	if (euicc_save(card, state, why, sizeof(why))) {
		rc = fail(1, "new: %s", why);
		goto out;
	}
	char eid[33];
	euicc_eid(card, eid);
	if (g_json) {
		emit(json_pack("{s:s,s:s,s:s?}", "eid", eid, "state", state, "eis", eis));
	} else {
		printf("created eUICC %s\n  NVM  %s (0600)\n", eid, state);
		if (eis)
			printf("  EIS  %s (contains OTA keys: 0600)\n", eis);
	}
out:
	euicc_free(card);
	return rc;
}

static void print_show(json_t *s)
{
	printf("EID            %s\n", json_string_value(json_object_get(s, "eid")));
	json_t *ps = json_object_get(s, "profiles"), *p;
	size_t i;
	printf("profiles       %zu of 4 slots used\n", json_array_size(ps));
	json_array_foreach(ps, i, p)
	{
		printf("  %s  %-13s %-21s%s%s\n", json_string_value(json_object_get(p, "aid")),
		       json_string_value(json_object_get(p, "state")),
		       json_is_string(json_object_get(p, "iccid")) ? json_string_value(json_object_get(p, "iccid"))
								   : "-",
		       json_is_true(json_object_get(p, "fallback")) ? " fall-back" : "",
		       json_is_true(json_object_get(p, "emergency")) ? " emergency" : "");
	}
	json_t *ns = json_object_get(s, "notifications");
	printf("notifications  %zu pending\n", json_array_size(ns));
	json_array_foreach(ns, i, p) printf("  seq %lld type %02llx\n", json_integer_value(json_object_get(p, "seq")),
					    json_integer_value(json_object_get(p, "type")));
	json_array_foreach(json_object_get(s, "keysets"), i, p)
	{
		printf("keyset %lld      counter %s", json_integer_value(json_object_get(p, "kvn")),
		       json_string_value(json_object_get(p, "counter")));
		json_t *k = json_object_get(json_object_get(p, "kic"), "key");
		if (k)
			printf("  KIc %s KID %s", json_string_value(k),
			       json_string_value(json_object_get(json_object_get(p, "kid"), "key")));
		printf("\n");
	}
	printf("MO counter     %s\n", json_string_value(json_object_get(s, "mo_counter")));
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, O_STATE },
		{ "show-secrets", no_argument, NULL, O_SECRETS },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *state = NULL;
	bool secrets = false;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_STATE: state = optarg; break;
		case O_SECRETS: secrets = true; break;
		case 'h':
		case O_HELP: usage(stdout); return 0;
		default:
			return fail(CLI_USAGE, "show: unknown or incomplete option '%s' (see --help)",
				    argv[optind - 1]);
		}
	}
	if (!state)
		return fail(CLI_USAGE, "show: --state FILE is required");
	char why[1024];
	euicc_card *card = euicc_load_readonly(state, why, sizeof(why));
	if (!card)
		return fail(1, "%s", why);
	json_t *s = euicc_show(card, secrets);
	euicc_free(card);
	if (g_json)
		emit(s);
	else {
		print_show(s);
		json_decref(s);
	}
	return 0;
}

/* ---- run ---- */

typedef struct {
	const char *state;
	euicc_card *card; /* NULL in echo mode */
	char host[256];
	int port;
	int fd;
	double next_try;
	double backoff;
	int index;
	bool was_connected;
	vpcd_framer fr;	  /* this connection's frame so far: one stalled peer holds up only its own card */
	char notes[1024]; /* --pcap-plaintext: what the card decoded of the exchange under way */
	bool print;	  /* --trace */
} slot;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		g_reset = 1;
	else
		g_stop = 1;
}

static capture *g_cap; /* --pcap / --gsmtap: every APDU the cards answer, and their ATRs */

static void trace_line(void *ctx, const char *line)
{
	slot *s = ctx;
	if (s->print)
		fprintf(stderr, "[card %d] %s\n", s->index, line);
	/* the card's own view of the exchange under way, as a note on its packet; the raw APDUs are the
	 * packet itself */
	const char *l = line + strspn(line, " ");
	if (capture_notes(g_cap) && strncmp(l, "C-APDU", 6) && strncmp(l, "R-APDU", 6) && strncmp(l, "FETCH ->", 8)) {
		size_t have = strlen(s->notes);
		snprintf(s->notes + have, sizeof(s->notes) - have, "%s%s", have ? "; " : "", l);
	}
}

static const uint8_t echo_atr[] = { 0x3B, 0x80, 0x80, 0x01, 0x01 };

static int serve_frame(slot *s, const uint8_t *in, long len, uint8_t *out)
{
	size_t n = 0;
	uint8_t atr[EUICC_ATR_MAX];
	if (len == 1) {
		switch (in[0]) {
		case VPCD_CTRL_OFF:
			if (s->card)
				euicc_power_off(s->card);
			return 0;
		case VPCD_CTRL_ON:
			if (s->card)
				capture_atr(g_cap, (unsigned)s->index, atr, euicc_power_on(s->card, atr));
			return 0;
		case VPCD_CTRL_RESET:
			if (s->card)
				capture_atr(g_cap, (unsigned)s->index, atr, euicc_reset(s->card, atr));
			return 0;
		case VPCD_CTRL_ATR:
			if (s->card)
				n = euicc_atr(s->card, atr);
			else
				memcpy(atr, echo_atr, n = sizeof(echo_atr));
			return vpcd_write_frame(s->fd, atr, n);
		}
		/* any other single byte is a (malformed) APDU: it gets its answer (6700), or the reader
		 * would wait for one for ever */
	}
	if (len < 1)
		return 0;
	if (s->card) {
		n = euicc_transmit(s->card, in, (size_t)len, out);
	} else {
		out[0] = 0x90;
		out[1] = 0x00;
		n = 2;
	}
	capture_apdu_noted(g_cap, (unsigned)s->index, in, (size_t)len, out, n, s->notes[0] ? s->notes : NULL);
	s->notes[0] = '\0';
	return vpcd_write_frame(s->fd, out, n);
}

/* what `run` was asked: the cards' state files and vpcd addresses, the modes */
typedef struct {
	const char *state[MAX_CARDS], *vpcd[MAX_CARDS];
	int n, nvpcd;
	bool trace, echo, t0, plaintext;
	const char *reset_from, *pcap, *gsmtap;
} run_cfg;

/* 0, or the exit status (-1: --help was printed) */
static int run_args(int argc, char **argv, run_cfg *cfg)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, O_STATE },
		{ "vpcd", required_argument, NULL, O_VPCD },
		{ "trace", no_argument, NULL, O_TRACE },
		{ "echo", no_argument, NULL, O_ECHO },
		{ "help", no_argument, NULL, O_HELP },
		{ "reset-from", required_argument, NULL, O_RESET_FROM },
		{ "t0-strict", no_argument, NULL, O_T0 },
		{ "pcap", required_argument, NULL, O_PCAP },
		{ "gsmtap", required_argument, NULL, O_GSMTAP },
		{ "pcap-plaintext", no_argument, NULL, O_PLAIN },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	memset(cfg, 0, sizeof(*cfg));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_STATE:
			if (cfg->n >= MAX_CARDS)
				return fail(CLI_USAGE, "run: at most %d cards", MAX_CARDS);
			cfg->state[cfg->n++] = optarg;
			break;
		case O_VPCD:
			if (cfg->nvpcd >= MAX_CARDS)
				return fail(CLI_USAGE, "run: too many --vpcd");
			cfg->vpcd[cfg->nvpcd++] = optarg;
			break;
		case O_TRACE: cfg->trace = true; break;
		case O_ECHO: cfg->echo = true; break;
		case O_RESET_FROM: cfg->reset_from = optarg; break;
		case O_T0: cfg->t0 = true; break;
		case O_PCAP: cfg->pcap = optarg; break;
		case O_GSMTAP: cfg->gsmtap = optarg; break;
		case O_PLAIN: cfg->plaintext = true; break;
		case 'h':
		case O_HELP: usage(stdout); return -1;
		default:
			return fail(CLI_USAGE, "run: unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(CLI_USAGE, "run: unexpected argument '%s'", argv[optind]);
	if (cfg->echo && cfg->n)
		return fail(CLI_USAGE, "run: --echo serves no card state: drop --state");
	if (cfg->echo)
		cfg->n = 1;
	if (!cfg->n)
		return fail(CLI_USAGE, "run: --state FILE (or --echo) is required");
	if (cfg->reset_from && (cfg->echo || cfg->n != 1))
		return fail(CLI_USAGE, "run: --reset-from goes with exactly one --state");
	if (cfg->nvpcd > cfg->n || (cfg->nvpcd && cfg->nvpcd != cfg->n))
		return fail(CLI_USAGE, "run: give one --vpcd per --state (got %d --state, %d --vpcd)", cfg->n,
			    cfg->nvpcd);
	return 0;
}

/* SIGHUP with --reset-from: between commands, the card is replaced by the fresh one, saved over its
 * state file and powered on as after a power cycle; a fresh file that does not load leaves it as is */
static void reset_card(slot *s, const run_cfg *cfg)
{
	const char *reset_from = cfg->reset_from;
	bool t0 = cfg->t0, trace = cfg->trace;
	char why[1024];
	euicc_card *fresh = euicc_load_readonly(reset_from, why, sizeof(why));
	if (!fresh || euicc_save(fresh, s->state, why, sizeof(why))) {
		fprintf(stderr, "euicc-sim: card 0 not reset: %s\n", why);
		euicc_free(fresh);
	} else {
		euicc_free(s->card); /* releases the old file's lock */
		s->card = fresh;
		euicc_set_t0_strict(s->card, t0);
		if (euicc_lock(s->card, why, sizeof(why)))
			fprintf(stderr, "euicc-sim: card 0: %s\n", why);
		if (trace || cfg->plaintext)
			euicc_set_trace(s->card, trace_line, s);
		uint8_t atr[EUICC_ATR_MAX];
		euicc_power_on(s->card, atr);
		fprintf(stderr, "euicc-sim: card 0 reset to %s\n", reset_from);
	}
}

/* a card without its vpcd connection tries again (backing off up to 5 s) */
static void try_connect(slot *s, int i, double t)
{
	s->fd = vpcd_connect(s->host, s->port);
	if (s->fd < 0) {
		if (s->was_connected || s->backoff <= 0.1)
			fprintf(stderr, "euicc-sim: card %d: vpcd %s:%d not reachable (%s); retrying\n", i, s->host,
				s->port, strerror(errno));
		s->was_connected = false;
		s->next_try = t + s->backoff;
		s->backoff = s->backoff * 2 > 5.0 ? 5.0 : s->backoff * 2;
	} else {
		fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
		s->fr.have = 0;
		fprintf(stderr, "euicc-sim: card %d connected to vpcd %s:%d\n", i, s->host, s->port);
		/* a vpcd card is inserted and powered when it connects: the reader may not send
		 * power-on again after the card process restarted */
		if (s->card) {
			uint8_t atr[EUICC_ATR_MAX];
			euicc_power_on(s->card, atr);
		}
		s->backoff = 0.1;
		s->was_connected = true;
	}
}

/* a readable connection: a whole frame is served, a broken connection closed for a reconnect */
static void serve_ready(slot *s, uint8_t *out)
{
	int st = vpcd_read_nb(s->fd, &s->fr);
	if (st == 0)
		return; /* part of a frame: the rest comes later, the other cards go on */
	if (st < 0 || serve_frame(s, s->fr.buf, (long)s->fr.len, out) != 0) {
		fprintf(stderr, "euicc-sim: card %d: vpcd connection closed; reconnecting\n", s->index);
		close(s->fd);
		s->fd = -1;
		s->next_try = now_s() + s->backoff;
		if (s->card)
			euicc_power_off(s->card);
	}
	if (s->card && euicc_last_error(s->card))
		fprintf(stderr, "euicc-sim: card %d: %s\n", s->index, euicc_last_error(s->card));
}

/* Each slot's address and card: a card another process holds is refused here (locked, then read), and
 * nothing of this process is written anywhere. 0, or the exit status (what is open is closed by the
 * caller). */
static int open_slots(slot *slots, const run_cfg *cfg)
{
	for (int i = 0; i < cfg->n; i++) { /* all of them first: a failure below leaves none half-made */
		slots[i].index = i;
		slots[i].fd = -1;
		vpcd_framer_init(&slots[i].fr, 65535);
		slots[i].backoff = 0.1;
	}
	for (int i = 0; i < cfg->n; i++) {
		slot *s = &slots[i];
		const char *addr = cfg->nvpcd ? cfg->vpcd[i] : "127.0.0.1:35963";
		if (vpcd_parse_addr(addr, s->host, sizeof(s->host), &s->port)) {
			return fail(CLI_USAGE, "run: --vpcd '%s' is not HOST:PORT", addr);
		}
		if (!cfg->echo) {
			char why[1024];
			for (int k = 0; k < i; k++)
				if (!strcmp(slots[k].state, s->state)) {
					return fail(CLI_USAGE, "run: --state %s is given twice", s->state);
				}
			s->card = euicc_load(s->state, why, sizeof(why));
			if (!s->card)
				return fail(1, "%s", why);
			euicc_set_t0_strict(s->card, cfg->t0);
			if (euicc_load_note(s->card))
				fprintf(stderr, "euicc-sim: card %d: %s\n", i, euicc_load_note(s->card));
			s->print = cfg->trace;
			if (cfg->trace || cfg->plaintext)
				euicc_set_trace(s->card, trace_line, s);
		}
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	static slot slots[MAX_CARDS];
	run_cfg cfg;
	int rc = run_args(argc, argv, &cfg);
	if (rc)
		return rc < 0 ? 0 : rc;
	int n = cfg.n;
	for (int i = 0; i < n; i++)
		slots[i].state = cfg.state[i];
	bool started = false, saved_all = true;
	char cwhy[600];
	if (cfg.plaintext && !cfg.pcap)
		return fail(CLI_USAGE, "run: --pcap-plaintext annotates a capture: give --pcap FILE too");
	if ((cfg.pcap || cfg.gsmtap) && capture_open(cfg.pcap, cfg.gsmtap, cfg.plaintext, &g_cap, cwhy, sizeof(cwhy)))
		return fail(1, "run: %s", cwhy);
	if ((rc = open_slots(slots, &cfg)))
		goto out;
	started = true;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (cfg.reset_from)
		sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	static uint8_t out[EUICC_RAPDU_MAX];
	while (!g_stop) {
		if (g_reset) {
			g_reset = 0;
			reset_card(&slots[0], &cfg);
		}
		struct pollfd pfd[MAX_CARDS];
		int map[MAX_CARDS], np = 0;
		double t = now_s(), wait = 1.0;
		for (int i = 0; i < n; i++) {
			slot *s = &slots[i];
			if (s->fd < 0 && t >= s->next_try)
				try_connect(s, i, t);
			if (s->fd >= 0) {
				pfd[np].fd = s->fd;
				pfd[np].events = POLLIN;
				map[np++] = i;
			} else if (s->next_try - t < wait) {
				wait = s->next_try - t;
			}
		}
		int r = poll(pfd, (nfds_t)np, (int)(wait * 1000) + 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = fail(1, "poll: %s", strerror(errno));
			break;
		}
		for (int k = 0; k < np; k++) {
			if (!(pfd[k].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			serve_ready(&slots[map[k]], out);
		}
	}
out:
	for (int i = 0; i < n; i++) {
		slot *s = &slots[i];
		if (s->fd >= 0)
			close(s->fd);
		vpcd_framer_free(&s->fr);
		if (s->card) {
			char why[1024];
			/* a start that failed changed no card: nothing is saved */
			if (started && euicc_save(s->card, s->state, why, sizeof(why))) {
				rc = fail(1, "card %d not saved: %s", i, why);
				saved_all = false;
			}
			euicc_free(s->card);
		}
	}
	if (g_stop)
		fprintf(stderr, "euicc-sim: stopped%s\n",
			saved_all ? ", state saved" : "; a state was NOT saved (above)");
	capture_close(g_cap);
	g_cap = NULL;
	return rc;
}

int main(int argc, char **argv)
{
	cli_protect_keys();
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
		printf("euicc-sim (euicc-bench) 0.1.0\n");
		return 0;
	}
	const cli_command *c = cli_find(sim_table, cmd);
	if (c)
		return c->run(NULL, argc - 1, argv + 1);
	return fail(CLI_USAGE, "unknown command '%s' (new, run, show; see --help)", cmd);
}
