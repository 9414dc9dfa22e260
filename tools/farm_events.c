/* SPDX-License-Identifier: GPL-2.0-or-later */
/* euicc-sim farm events DIR SCENARIO.json: the farm plays its devices (docs/rules.md, "Device
 * scenarios"). On the card side each step is what a modem would send (ENVELOPE EVENT DOWNLOAD location
 * status, with the location information when it registers; 'no service' again and again when a cell
 * goes dark, so that the card's own fall-back logic runs). On the network side the same step is written
 * as the events a network would report to the SM-SR, one JSON line each, for `smsr event --file`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host/adapter.h"
#include "host/cli.h"
#include "host/farm.h"
#include "host/link.h"
#include "euicc_sim.h"

/* "600", "100kB", "100MB", "2GB": bytes, -1 when not one */
static long long size_of(const char *s)
{
	char *end = NULL;
	double v = s ? strtod(s, &end) : -1;
	double mul = !end || end == s ? -1
		: !*end		      ? 1
		: !strcmp(end, "kB")  ? 1e3
		: !strcmp(end, "MB")  ? 1e6
		: !strcmp(end, "GB")  ? 1e9
				      : -1;
	return mul < 0 || v < 0 || v * mul > 1e18 ? -1 : (long long)(v * mul);
}

static int bcd_digits(const char *s, size_t lo, size_t hi)
{
	size_t n = s ? strlen(s) : 0;
	return n >= lo && n <= hi && strspn(s, "0123456789") == n ? 0 : -1;
}

/* TS 24.008 10.5.1.3 (MCC, MNC) then LAC and cell identity, big-endian */
static void location_info(const char *mcc, const char *mnc, long lac, long cell, uint8_t out[7])
{
	uint8_t m3 = strlen(mnc) == 3 ? (uint8_t)(mnc[2] - '0') : 0x0F;
	out[0] = (uint8_t)((mcc[1] - '0') << 4 | (mcc[0] - '0'));
	out[1] = (uint8_t)(m3 << 4 | (mcc[2] - '0'));
	out[2] = (uint8_t)((mnc[1] - '0') << 4 | (mnc[0] - '0'));
	out[3] = (uint8_t)(lac >> 8);
	out[4] = (uint8_t)lac;
	out[5] = (uint8_t)(cell >> 8);
	out[6] = (uint8_t)cell;
}

typedef struct {
	farm_info f;
	FILE *out;
	char name[128];
	long long *usage; /* bytes so far, per card */
	unsigned events, envelopes, fallbacks;
	char why[1400];
} scenario;

/* the modem of card i: attach, then what the step sends */
/* an ENVELOPE's answer: done, or done with proactive commands to fetch (the loop fetched them) */
static bool answered(uint16_t sw)
{
	return sw == 0x9000 || (sw >> 8) == 0x91;
}

static int card_side(scenario *sc, unsigned i, json_t *step)
{
	json_t *loc = json_object_get(step, "location");
	const char *conn = json_string_value(json_object_get(step, "connectivity"));
	if (!loc && !conn)
		return 0; /* data usage: the network's count alone */
	char uri[4200], why[1200];
	snprintf(uri, sizeof(uri), "farm:%s#%u", sc->f.dir, i);
	smsr_link *l = NULL;
	if (link_open_uri(uri, &l, why, sizeof(why))) {
		snprintf(sc->why, sizeof(sc->why), "card %u: %s", i, why);
		return -1;
	}
	dev_host h;
	scp80_keyset none;
	memset(&none, 0, sizeof(none)); /* a modem holds no OTA keys: what the card sends the SM-SR stays queued */
	dev_transport t = link_transport(l);
	dev_init_keys(&h, &t, &none);
	int rc = dev_attach(&h) ? -1 : 0;
	unsigned r0 = h.refreshes;
	if (loc) {
		uint8_t info[7];
		location_info(json_string_value(json_object_get(loc, "mcc")),
			      json_string_value(json_object_get(loc, "mnc")),
			      (long)json_integer_value(json_object_get(loc, "lac")),
			      (long)json_integer_value(json_object_get(loc, "cell")), info);
		if (!answered(dev_location_info(&h, 0x00, info)))
			rc = -1;
		sc->envelopes++;
	} else if (!strcmp(conn, "no-service")) {
		/* a modem that lost its network reports so at every scan: the card falls back after its threshold */
		for (int k = 0; k < 10 && h.refreshes == r0; k++, sc->envelopes++)
			if (!answered(dev_location(&h, 0x02)))
				rc = -1;
	} else {
		if (!answered(dev_location(&h, !strcmp(conn, "limited") ? 0x01 : 0x00)))
			rc = -1;
		sc->envelopes++;
	}
	sc->fallbacks += h.refreshes != r0 && conn && !strcmp(conn, "no-service");
	if (rc)
		snprintf(sc->why, sizeof(sc->why), "card %u refused the event download", i);
	dev_free(&h);
	link_close(l);
	return rc;
}

/* the network's report of the step for card i, one JSON line */
static int network_side(scenario *sc, unsigned i, json_t *eis, json_t *step, long long t, const char *id)
{
	const char *eid = json_string_value(json_object_get(eis, "eid"));
	json_t *loc = json_object_get(step, "location"), *use = json_object_get(step, "data-usage");
	const char *conn = json_string_value(json_object_get(step, "connectivity"));
	json_t *o = json_pack("{s:s,s:s,s:I}", "id", id, "eid", eid ? eid : "", "time", (json_int_t)t);
	if (loc) {
		json_object_set_new(o, "type", json_string("location"));
		json_object_update(o, loc);
	} else if (use) {
		sc->usage[i] += size_of(json_string_value(json_object_get(use, "grow")));
		json_object_set_new(o, "type", json_string("data-usage"));
		json_object_set_new(o, "bytes", json_integer(sc->usage[i]));
		if (json_object_get(use, "period"))
			json_object_set(o, "period", json_object_get(use, "period"));
	} else {
		json_object_set_new(o, "type", json_string("connectivity"));
		json_object_set_new(o, "status", json_string(conn));
	}
	char *line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!line)
		return -1;
	fprintf(sc->out, "%s\n", line);
	free(line);
	sc->events++;
	return 0;
}

/* every step checked before anything is sent: the field at fault named */
static int check_step(scenario *sc, json_t *s, size_t k)
{
	const char *keys[] = { "location", "data-usage", "connectivity" };
	int kinds = 0;
	for (int i = 0; i < 3; i++)
		kinds += json_object_get(s, keys[i]) != NULL;
	char *w = sc->why;
	size_t wl = sizeof(sc->why);
	if (!json_is_object(s))
		return snprintf(w, wl, "steps[%zu]: expected an object", k), -1;
	if (cli_duration(json_string_value(json_object_get(s, "at"))) < 0)
		return snprintf(w, wl, "steps[%zu].at: expected a duration from the start (0m, 10m, 2h, 1d)", k), -1;
	if (kinds != 1)
		return snprintf(w, wl, "steps[%zu]: expected one of location, data-usage, connectivity", k), -1;
	json_t *e = json_object_get(s, "every"), *n = json_object_get(s, "times");
	if ((e && cli_duration(json_string_value(e)) <= 0) ||
	    (n && (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > 100000)))
		return snprintf(w, wl, "steps[%zu]: every is a duration and times a count (1 to 100000)", k), -1;
	json_t *loc = json_object_get(s, "location");
	if (loc) {
		json_t *lac = json_object_get(loc, "lac"), *cell = json_object_get(loc, "cell");
		if (bcd_digits(json_string_value(json_object_get(loc, "mcc")), 3, 3) ||
		    bcd_digits(json_string_value(json_object_get(loc, "mnc")), 2, 3))
			return snprintf(w, wl, "steps[%zu].location: mcc is 3 digits and mnc 2 or 3, as text", k), -1;
		if ((lac &&
		     (!json_is_integer(lac) || json_integer_value(lac) < 0 || json_integer_value(lac) > 65535)) ||
		    (cell &&
		     (!json_is_integer(cell) || json_integer_value(cell) < 0 || json_integer_value(cell) > 65535)))
			return snprintf(w, wl, "steps[%zu].location: lac and cell are numbers from 0 to 65535", k), -1;
	}
	json_t *use = json_object_get(s, "data-usage");
	if (use && size_of(json_string_value(json_object_get(use, "grow"))) < 0)
		return snprintf(w, wl, "steps[%zu].data-usage.grow: expected bytes as text (\"600\", \"100MB\")", k),
		       -1;
	const char *c = json_string_value(json_object_get(s, "connectivity"));
	if (json_object_get(s, "connectivity") &&
	    (!c || (strcmp(c, "service") && strcmp(c, "no-service") && strcmp(c, "limited"))))
		return snprintf(w, wl, "steps[%zu].connectivity: expected service, no-service or limited", k), -1;
	json_t *cards = json_object_get(s, "cards");
	size_t i;
	json_t *v;
	if (cards && !json_is_array(cards) && strcmp(json_string_value(cards) ? json_string_value(cards) : "", "all"))
		return snprintf(w, wl, "steps[%zu].cards: expected \"all\" or a list of card numbers", k), -1;
	json_array_foreach(cards, i, v) if (!json_is_integer(v) || json_integer_value(v) < 0 ||
					    json_integer_value(v) >= (json_int_t)sc->f.count)
	{
		return snprintf(w, wl, "steps[%zu].cards[%zu]: no card %lld in a farm of %u", k, i,
				(long long)json_integer_value(v), sc->f.count),
		       -1;
	}
	return 0;
}

typedef struct {
	long long t;
	size_t step, rep;
} occurrence;

static int by_time(const void *a, const void *b)
{
	const occurrence *x = a, *y = b;
	return x->t != y->t ? (x->t < y->t ? -1 : 1) : x->step != y->step ? (x->step < y->step ? -1 : 1) : 0;
}

static int play(scenario *sc, json_t *doc, json_t *eis_lines, long long t0)
{
	json_t *steps = json_object_get(doc, "steps"), *s;
	size_t n = 0, k;
	json_array_foreach(steps, k, s)
		n += json_object_get(s, "times") ? (size_t)json_integer_value(json_object_get(s, "times")) : 1;
	occurrence *o = calloc(n ? n : 1, sizeof(*o));
	if (!o)
		return snprintf(sc->why, sizeof(sc->why), "out of memory"), -1;
	size_t m = 0;
	json_array_foreach(steps, k, s)
	{
		long long at = cli_duration(json_string_value(json_object_get(s, "at"))),
			  every = json_object_get(s, "every")
			? cli_duration(json_string_value(json_object_get(s, "every")))
			: 0;
		size_t times = json_object_get(s, "times") ? (size_t)json_integer_value(json_object_get(s, "times"))
							   : 1;
		for (size_t r = 0; r < times; r++)
			o[m++] = (occurrence){ t0 + at + (long long)r * every, k, r };
	}
	qsort(o, m, sizeof(*o), by_time);
	int rc = 0;
	for (size_t j = 0; j < m && !rc; j++) {
		json_t *st = json_array_get(steps, o[j].step), *cards = json_object_get(st, "cards");
		if (!cards)
			cards = json_object_get(doc, "cards");
		for (unsigned i = 0; i < sc->f.count && !rc; i++) {
			bool in = !cards || json_is_string(cards);
			size_t a;
			json_t *v;
			json_array_foreach(cards, a, v) in |= (unsigned)json_integer_value(v) == i;
			if (!in)
				continue;
			char id[200];
			snprintf(id, sizeof(id), "%s:%zu:%zu:%u", sc->name, o[j].step, o[j].rep, i);
			rc = card_side(sc, i, st) || network_side(sc, i, json_array_get(eis_lines, i), st, o[j].t, id);
		}
	}
	free(o);
	return rc;
}

int sim_scenario_check(json_t *doc, unsigned count, long long *start, char *why, size_t why_len)
{
	scenario sc;
	memset(&sc, 0, sizeof(sc));
	sc.f.count = count;
	json_t *steps = json_object_get(doc, "steps"), *s;
	size_t k, total = 0;
	int rc = 0;
	long long t0 = 0;
	if (!json_is_object(doc))
		rc = (snprintf(sc.why, sizeof(sc.why), "expected a JSON object with start and steps"), -1);
	else if (cli_time(json_string_value(json_object_get(doc, "start")), &t0))
		rc = (snprintf(sc.why, sizeof(sc.why), "start: expected a time like 2026-01-01T00:00:00Z"), -1);
	else if (!json_is_array(steps) || !json_array_size(steps))
		rc = (snprintf(sc.why, sizeof(sc.why), "steps: expected a list of steps"), -1);
	if (!rc && json_object_get(doc, "cards")) {
		json_t *whole = json_pack("{s:s,s:O,s:s}", "at", "0m", "cards", json_object_get(doc, "cards"),
					  "connectivity", "service");
		if (check_step(&sc, whole, 0)) {
			rc = -1;
			/* the message names steps[0]: it is the scenario's own cards */
			char inner[sizeof(sc.why)];
			const char *dot = strchr(sc.why, '.');
			snprintf(inner, sizeof(inner), "%s", dot ? dot + 1 : sc.why);
			snprintf(sc.why, sizeof(sc.why), "%s", inner);
		}
		json_decref(whole);
	}
	json_array_foreach(steps, k, s)
	{
		if (rc || check_step(&sc, s, k)) {
			rc = -1;
			break;
		}
		json_t *n = json_object_get(s, "times");
		total += n ? (size_t)json_integer_value(n) : 1;
		if (total > 1000000)
			rc = (snprintf(sc.why, sizeof(sc.why), "steps[%zu]: more than 1,000,000 steps in all", k), -1);
	}
	if (start)
		*start = t0;
	if (rc)
		snprintf(why, why_len, "%s", sc.why);
	return rc;
}

/* the farm's EIS bundle, one object per card */
static json_t *eis_lines(const farm_info *f, char *why, size_t why_len)
{
	char path[4200];
	snprintf(path, sizeof(path), "%s/eis.jsonl", f->dir);
	FILE *in = fopen(path, "r");
	if (!in) {
		snprintf(why, why_len, "cannot read %.1000s", path);
		return NULL;
	}
	json_t *a = json_array();
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, in) > 0)
		json_array_append_new(a, json_loads(line, 0, NULL));
	free(line);
	fclose(in);
	if (json_array_size(a) < f->count) {
		snprintf(why, why_len, "%.1000s holds %zu EIS for %u cards", path, json_array_size(a), f->count);
		json_decref(a);
		return NULL;
	}
	return a;
}

int sim_farm_events(bool json, int argc, char **argv)
{
	if (argc < 4 || (argc != 4 && !(argc == 6 && !strcmp(argv[4], "--out"))))
		return cli_fail("euicc-sim", json, CLI_USAGE,
				"usage: euicc-sim farm events DIR SCENARIO.json [--out EVENTS.jsonl]  (docs/rules.md)");
	scenario sc;
	memset(&sc, 0, sizeof(sc));
	if (farm_open(argv[2], &sc.f, sc.why, sizeof(sc.why)))
		return cli_fail("euicc-sim", json, 1, "farm events: %s", sc.why);
	json_error_t err;
	json_t *doc = json_load_file(argv[3], JSON_REJECT_DUPLICATES, &err), *eis = NULL;
	if (!doc)
		return cli_fail("euicc-sim", json, 1, "farm events: %s line %d: %s", argv[3], err.line, err.text);
	long long t0 = 0;
	const char *base = strrchr(argv[3], '/');
	const char *nm = json_string_value(json_object_get(doc, "name"));
	snprintf(sc.name, sizeof(sc.name), "%s", nm ? nm : base ? base + 1 : argv[3]);
	int rc = sim_scenario_check(doc, sc.f.count, &t0, sc.why, sizeof(sc.why));
	if (!rc && !(eis = eis_lines(&sc.f, sc.why, sizeof(sc.why))))
		rc = -1;
	sc.usage = calloc(sc.f.count ? sc.f.count : 1, sizeof(long long));
	sc.out = argc == 6 ? fopen(argv[5], "w") : stdout;
	if (!rc && (!sc.out || !sc.usage))
		rc = (snprintf(sc.why, sizeof(sc.why), "cannot write %s", argc == 6 ? argv[5] : "the output"), -1);
	if (!rc)
		rc = play(&sc, doc, eis, t0);
	if (sc.out && sc.out != stdout && fclose(sc.out) && !rc)
		rc = (snprintf(sc.why, sizeof(sc.why), "cannot write %s", argv[5]), -1);
	free(sc.usage);
	json_decref(eis);
	json_decref(doc);
	if (rc)
		return cli_fail("euicc-sim", json, 1, "farm events: %s: %s", argv[3], sc.why);
	if (json)
		cli_emit(json_pack("{s:s,s:I,s:I,s:I}", "scenario", sc.name, "events", (json_int_t)sc.events,
				   "envelopes", (json_int_t)sc.envelopes, "fallbacks", (json_int_t)sc.fallbacks));
	else
		fprintf(stderr, "scenario %s: %u events for the SM-SR, %u event downloads to cards, %u fall-backs\n",
			sc.name, sc.events, sc.envelopes, sc.fallbacks);
	return 0;
}
