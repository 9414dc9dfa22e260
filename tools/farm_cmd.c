/* SPDX-License-Identifier: GPL-2.0-or-later */
/* euicc-sim farm new|show|run: a device farm (host/farm.h), its cards served to pcscd as vpcd readers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "euicc_sim.h"
#include "host/cli.h"
#include "host/farm.h"
#include "host/pki.h"

static void progress(void *ctx, unsigned done, unsigned total)
{
	(void)ctx;
	if (done % 100 == 0 || done == total)
		fprintf(stderr, "\r  %u/%u cards%s", done, total, done == total ? "\n" : "");
}

static int farm_new(bool json, int argc, char **argv)
{
	const char *dir = NULL, *count_s = NULL, *seed_s = NULL, *pki_dir = NULL;
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--count") && v)
			count_s = argv[++i];
		else if (!strcmp(argv[i], "--seed") && v)
			seed_s = argv[++i];
		else if (!strcmp(argv[i], "--pki") && v)
			pki_dir = argv[++i];
		else if (!dir && argv[i][0] != '-')
			dir = argv[i];
		else
			return cli_fail("euicc-sim", json, CLI_USAGE, "farm new: unknown or incomplete option '%s'",
					argv[i]);
	}
	if (!dir || !count_s)
		return cli_fail("euicc-sim", json, CLI_USAGE,
				"usage: euicc-sim farm new DIR --count N [--seed S] [--pki DIR]");
	char *end;
	errno = 0;
	unsigned long n = strtoul(count_s, &end, 10);
	if (*end || errno || n < 1 || n > FARM_MAX_CARDS || count_s[0] == '-')
		return cli_fail("euicc-sim", json, CLI_USAGE, "farm new: --count '%s' is not 1 to %u", count_s,
				FARM_MAX_CARDS);
	euicc_new_opts o;
	memset(&o, 0, sizeof(o));
	if (seed_s) {
		o.has_seed = true;
		o.seed = strtoull(seed_s, &end, 0);
		if (*end || seed_s[0] == '-')
			return cli_fail("euicc-sim", json, CLI_USAGE, "farm new: --seed '%s' is not a number", seed_s);
	}
	char d[1024], why[1200];
	bench_pki pki;
	if (pki_load_or_create(pki_dir ? pki_dir : pki_default_dir(d, sizeof(d)), &pki, why, sizeof(why)))
		return cli_fail("euicc-sim", json, 1, "test PKI: %s", why);
	o.issuer = pki_issuer(&pki);
	int rc = farm_create(dir, (unsigned)n, &o, isatty(2) && !json ? progress : NULL, NULL, why, sizeof(why));
	pki_free(&pki);
	if (rc)
		return cli_fail("euicc-sim", json, 1, "farm new: %s", why);
	farm_info f;
	if (farm_open(dir, &f, why, sizeof(why)))
		return cli_fail("euicc-sim", json, 1, "farm new: %s", why);
	if (json)
		cli_emit(json_pack("{s:s,s:i,s:s,s:s}", "farm", f.dir, "count", (int)f.count, "fleet", "fleet.csv",
				   "eis", "eis.jsonl"));
	else
		printf("farm %s: %u cards\n  fleet  %s/fleet.csv (smsr fleet import)\n  EIS    %s/eis.jsonl (OTA keys: "
		       "0600)\n",
		       f.dir, f.count, f.dir, f.dir);
	return 0;
}

static int farm_show(bool json, int argc, char **argv)
{
	if (argc != 3)
		return cli_fail("euicc-sim", json, CLI_USAGE, "usage: euicc-sim farm show DIR");
	farm_info f;
	char why[1200], path[4200];
	if (farm_open(argv[2], &f, why, sizeof(why)))
		return cli_fail("euicc-sim", json, 1, "farm show: %s", why);
	unsigned touched = 0, profiles[EUICC_MAX_PROFILES + 1] = { 0 }, bad = 0;
	unsigned long long bytes = 0;
	for (unsigned i = 0; i < f.count; i++) {
		struct stat st, js;
		if (farm_card_path(&f, i, path, sizeof(path)) || stat(path, &st)) {
			bad++;
			continue;
		}
		bytes += (unsigned long long)st.st_size;
		char jp[4300];
		snprintf(jp, sizeof(jp), "%s.journal", path);
		if (!stat(jp, &js) && js.st_size > 0) { /* a farm makes each journal empty */
			touched++;
			bytes += (unsigned long long)js.st_size;
		}
		euicc_card *c = euicc_load_readonly(path, why, sizeof(why));
		if (!c) {
			bad++;
			continue;
		}
		json_t *s = euicc_show(c, false);
		size_t np = json_array_size(json_object_get(s, "profiles"));
		profiles[np <= EUICC_MAX_PROFILES ? np : EUICC_MAX_PROFILES]++;
		json_decref(s);
		euicc_free(c);
	}
	if (json) {
		json_t *hist = json_array();
		for (unsigned k = 0; k <= EUICC_MAX_PROFILES; k++)
			json_array_append_new(hist, json_integer(profiles[k]));
		cli_emit(json_pack("{s:s,s:i,s:s,s:i,s:i,s:I,s:o}", "farm", f.dir, "count", (int)f.count, "created",
				   f.created, "changed", (int)touched, "unreadable", (int)bad, "bytes",
				   (json_int_t)bytes, "cards_with_n_profiles", hist));
	} else {
		printf("farm %s (created %s)\n  cards        %u (%u changed since made, %u unreadable)\n  disk         "
		       "%.1f MiB (%.1f KiB per card)\n  profiles     ",
		       f.dir, f.created, f.count, touched, bad, (double)bytes / 1048576.0,
		       (double)bytes / 1024.0 / (double)f.count);
		for (unsigned k = 0; k <= EUICC_MAX_PROFILES; k++)
			printf("%s%u with %u", k ? ", " : "", profiles[k], k);
		printf("\n");
	}
	return bad ? 1 : 0;
}

#define FARM_RUN_MAX 64 /* the cards one euicc-sim run serves */

/* cards first..first+count-1 as vpcd readers: card first + k at PORT + k (vpcd slot k % 2 of the
 * driver instance at PORT + k - k % 2) */
int sim_farm_run_args(bool json, int argc, char **argv, int *out_ac, char ***out_av)
{
	const char *dir = NULL, *vpcd = "127.0.0.1:35963", *first_s = "0", *count_s = NULL;
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--vpcd") && v)
			vpcd = argv[++i];
		else if (!strcmp(argv[i], "--first") && v)
			first_s = argv[++i];
		else if (!strcmp(argv[i], "--count") && v)
			count_s = argv[++i];
		else if (!dir && argv[i][0] != '-')
			dir = argv[i];
		else
			return cli_fail("euicc-sim", json, CLI_USAGE, "farm run: unknown or incomplete option '%s'",
					argv[i]);
	}
	if (!dir)
		return cli_fail("euicc-sim", json, CLI_USAGE,
				"usage: euicc-sim farm run DIR [--vpcd HOST:PORT] [--first I] [--count K]");
	farm_info f;
	char why[1200];
	if (farm_open(dir, &f, why, sizeof(why)))
		return cli_fail("euicc-sim", json, 1, "farm run: %s", why);
	char *end;
	unsigned long first = strtoul(first_s, &end, 10);
	if (*end || first_s[0] == '-' || first >= f.count)
		return cli_fail("euicc-sim", json, CLI_USAGE,
				"farm run: --first '%s' is not a card of this farm (0 to %u)", first_s, f.count - 1);
	unsigned long count = f.count - first < FARM_RUN_MAX ? f.count - first : FARM_RUN_MAX;
	if (count_s) {
		count = strtoul(count_s, &end, 10);
		if (*end || count_s[0] == '-' || count < 1 || count > FARM_RUN_MAX || first + count > f.count)
			return cli_fail("euicc-sim", json, CLI_USAGE,
					"farm run: --count '%s': 1 to %d cards from --first, within the farm's %u",
					count_s, FARM_RUN_MAX, f.count);
	}
	const char *colon = strrchr(vpcd, ':');
	unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (!colon || *end || port < 1 || port + count > 65536)
		return cli_fail("euicc-sim", json, CLI_USAGE, "farm run: --vpcd '%s' is not HOST:PORT", vpcd);
	static char states[FARM_RUN_MAX][4200], addrs[FARM_RUN_MAX][300];
	static char *av[2 + 4 * FARM_RUN_MAX];
	int ac = 0;
	av[ac++] = "run";
	for (unsigned long k = 0; k < count; k++) {
		if (farm_card_path(&f, (unsigned)(first + k), states[k], sizeof(states[k])))
			return cli_fail("euicc-sim", json, 1, "farm run: card %lu: path too long", first + k);
		snprintf(addrs[k], sizeof(addrs[k]), "%.*s:%lu", (int)(colon - vpcd), vpcd, port + k);
		av[ac++] = "--state";
		av[ac++] = states[k];
		av[ac++] = "--vpcd";
		av[ac++] = addrs[k];
	}
	av[ac] = NULL;
	fprintf(stderr, "euicc-sim: farm %s: cards %lu to %lu on vpcd ports %lu to %lu\n", f.dir, first,
		first + count - 1, port, port + count - 1);
	*out_ac = ac;
	*out_av = av;
	return 0;
}

int sim_cmd_farm(bool json, int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "new"))
		return farm_new(json, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "show"))
		return farm_show(json, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "events"))
		return sim_farm_events(json, argc, argv);
	return cli_fail("euicc-sim", json, CLI_USAGE,
			"usage: euicc-sim farm new DIR --count N [--seed S] [--pki DIR] | euicc-sim farm show DIR | "
			"euicc-sim farm run DIR [--vpcd HOST:PORT] [--first I] [--count K] | "
			"euicc-sim farm events DIR SCENARIO.json [--out EVENTS.jsonl]");
}
