/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `apdu replay`: conformance vectors (docs/vectors.md) replayed against a card — an in-process software
 * card (a fresh copy of a state file for every case) or a PC/SC reader (optionally reset by a command
 * before every case). Raw steps are compared byte for byte with `..` and `*` wildcards; OTA steps are
 * wrapped with SCP80 using the keys of an EIS file; key establishment and download are symbolic. Results
 * as TAP on stdout, optionally JUnit XML. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apdu/hex.h"
#include "apdu/proto.h"
#include "host/link.h"
#include "host/pki.h"
#include "host/profile.h"
#include "host/smdp.h"
#include "replay_int.h"

static int copy_file(const char *from, const char *to, char *why, size_t why_len)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	char buf[8192];
	size_t n;
	int rc = 0;
	if (!in || !out) {
		snprintf(why, why_len, "%s: %s", in ? to : from, strerror(errno));
		rc = -1;
	}
	while (!rc && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n) {
			snprintf(why, why_len, "%s: %s", to, strerror(errno));
			rc = -1;
		}
	if (!rc && ferror(in)) {
		snprintf(why, why_len, "%s: read error", from);
		rc = -1;
	}
	if (out && fclose(out) && !rc) {
		snprintf(why, why_len, "%s: %s", to, strerror(errno));
		rc = -1;
	}
	if (in)
		fclose(in);
	return rc;
}

int open_card(runner *R, char *why, size_t why_len)
{
	const replay_opts *o = R->o;
	if (R->link) {
		link_close(R->link);
		R->link = NULL;
	}
	if (o->inproc) {
		/* a fresh copy of the state file (and its journal, when the card was not stopped cleanly) for
		 * every case: the user's files are never touched */
		char copy[400], from_j[1100], copy_j[420];
		snprintf(copy, sizeof(copy), "%s/card.json", R->tmpdir);
		snprintf(from_j, sizeof(from_j), "%s.journal", o->inproc);
		snprintf(copy_j, sizeof(copy_j), "%s.journal", copy);
		if (copy_file(o->inproc, copy, why, why_len))
			return -1;
		unlink(copy_j);
		if (access(from_j, F_OK) == 0 && copy_file(from_j, copy_j, why, why_len))
			return -1;
		return link_open_inproc(copy, &R->link, why, why_len);
	}
	if (o->reset_cmd && system(o->reset_cmd) != 0) {
		snprintf(why, why_len, "--reset-cmd failed: %s", o->reset_cmd);
		return -1;
	}
	/* the reader may need a moment after a reset command */
	for (int i = 0;; i++) {
		if (!link_open_pcsc(o->reader ? o->reader : "0", &R->link, why, why_len))
			return 0;
		if (!o->reset_cmd || i >= 50)
			return -1;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
}

void run_steps(runner *R, const vblock *b)
{
	for (size_t k = 0; k < b->n && !R->fail[0]; k++) {
		const vstep *s = &b->steps[k];
		char line[4096], eline[4096];
		if (expand(R, s, s->text, line, sizeof(line)))
			return;
		if (!strncmp(line, "C:", 2)) {
			const vstep *e = expect_line(R, b, &k, "R:");
			if (e && !expand(R, e, e->text, eline, sizeof(eline)))
				step_raw(R, s, line, e, eline);
		} else if (!strncmp(line, "OTA ", 4)) {
			const vstep *e = expect_line(R, b, &k, "POR");
			if (e && !expand(R, e, e->text, eline, sizeof(eline)))
				step_ota(R, s, line, e, eline);
		} else if (!strncmp(line, "DOWNLOAD ", 9)) {
			const vstep *e = expect_line(R, b, &k, "EXPECT");
			if (e && !expand(R, e, e->text, eline, sizeof(eline)))
				step_download(R, s, line, e, eline);
		} else if (!strncmp(line, "set ", 4)) {
			char *p = trim(line + 4), *sp = strpbrk(p, " \t");
			if (!sp) {
				failf(R, s, "set NAME VALUE");
				return;
			}
			*sp = '\0';
			set_var(R, p, trim(sp + 1));
		} else if (!strncmp(line, "capture ", 8)) {
			/* capture NAME OFFSET LENGTH: bytes of the last response data, as hex */
			char name[32];
			unsigned off, len;
			if (sscanf(line + 8, "%31s %u %u", name, &off, &len) != 3 || off + len > R->last.len ||
			    len > 290) {
				failf(R, s, "capture NAME OFFSET LENGTH within the last response (%zu bytes)",
				      R->last.len);
				return;
			}
			char hx[600];
			set_var(R, name, hex_encode(R->last.p + off, len, hx));
		} else if (!strncmp(line, "LOCATION ", 9)) {
			/* LOCATION no-service|normal: EVENT DOWNLOAD location status, the proactive loop after it */
			const char *st = trim(line + 9);
			uint8_t v = !strcmp(st, "normal")   ? 0x00
				: !strcmp(st, "limited")    ? 0x01
				: !strcmp(st, "no-service") ? 0x02
							    : 0xFF;
			if (v == 0xFF) {
				failf(R, s, "LOCATION normal|limited|no-service");
				return;
			}
			if (dev_location(&R->h, v) == 0)
				failf(R, s, "the card did not answer the EVENT DOWNLOAD");
		} else if (!strcmp(line, "CONFIRM")) {
			/* confirms the notifications the card sent (STORE DATA 3A08 for each) */
			if (dev_confirm_notifications(&R->h))
				failf(R, s, "confirming the notifications failed");
		} else if (!strncmp(line, "NOTIFICATIONS ", 14)) {
			/* NOTIFICATIONS count=N [last-type=XX]: what the card has sent and is not yet confirmed */
			unsigned cnt = 0, type = 0x100;
			const char *c = strstr(line, "count="), *t = strstr(line, "last-type=");
			if (!c) {
				failf(R, s, "NOTIFICATIONS count=N [last-type=XX]");
				return;
			}
			cnt = (unsigned)strtoul(c + 6, NULL, 10);
			if (t)
				type = (unsigned)strtoul(t + 10, NULL, 16);
			if (R->h.n_notifs != cnt)
				failf(R, s, "notifications differ\n    expected: count=%u\n    got:      count=%zu",
				      cnt, R->h.n_notifs);
			else if (type <= 0xFF && (!cnt || R->h.notifs[cnt - 1].type != type))
				failf(R, s,
				      "notification type differs\n    expected: last-type=%02x\n    got:      "
				      "last-type=%02x",
				      type, cnt ? R->h.notifs[cnt - 1].type : 0);
		} else if (!strcmp(line, "RESET")) {
			R->h.t.reset(R->h.t.ctx);
			if (dev_attach(&R->h))
				failf(R, s, "no answer after the reset");
		} else {
			failf(R, s, "unknown step: %.60s", line);
		}
	}
}

/* a state's steps, after those of the state it requires itself */
void run_state(runner *R, const char *name, int depth)
{
	const vblock *st = find_state(R->L, name);
	if (!st || depth > 8) {
		failf(R, NULL, "state '%s' %s", name, st ? "requires states more than 8 deep" : "is not defined");
		return;
	}
	if (st->requires && strcmp(st->requires, "fresh"))
		run_state(R, st->requires, depth + 1);
	if (!R->fail[0])
		run_steps(R, st);
}

/* Every file, and every state a case or state requires: -1 with why when one is missing */
static int load_all(const replay_opts *o, vlib *L, char *why, size_t why_len)
{
	for (size_t i = 0; i < o->nfiles; i++)
		if (load_file(L, o->files[i], 0)) {
			snprintf(why, why_len, "%s", L->err);
			return -1;
		}
	for (size_t k = 0; k < L->ncases + L->nstates; k++) {
		const vblock *b = k < L->ncases ? &L->cases[k] : &L->states[k - L->ncases];
		if (b->requires && strcmp(b->requires, "fresh") && !find_state(L, b->requires)) {
			snprintf(why, why_len, "%s:%d: %s requires state '%s', which no file defines", b->file, b->line,
				 b->name, b->requires);
			return -1;
		}
	}
	return 0;
}

/* One case on a fresh card: the host set up, its state reached, its steps run (R->fail says what
 * failed). true: skipped, a `protocol t1` case on a T=0 card. */
static bool run_case(runner *R, const vblock *c)
{
	char ow[600];
	if (open_card(R, ow, sizeof(ow))) {
		failf(R, NULL, "the card: %s", ow);
	} else if (c->t1_only && link_protocol(R->link) == 0) {
		return true;
	} else {
		dev_transport t = link_captured(R->link, R->cap, 0, &R->tap);
		if (R->have_host) {
			/* one host for the whole run: its counter only grows */
			R->h.t = t;
		} else if (R->eis) {
			if (dev_init(&R->h, &t, R->eis))
				failf(R, NULL, "the EIS has no usable ISD-R keyset");
			R->have_host = true;
			R->h.auto_resync = true;
			R->h.cntr = (uint64_t)time(NULL) << 8; /* above what an earlier run left on a real card */
		} else {
			memset(&R->h, 0, sizeof(R->h));
			R->h.t = t;
			abuf_init(&R->h.log);
			abuf_init(&R->h.por_data);
			R->have_host = true;
		}
		if (R->eis) {
			set_var(R, "EID", json_string_value(json_object_get(R->eis, "eid")));
			set_var(R, "ISDR", json_string_value(json_object_get(json_object_get(R->eis, "isd_r"), "aid")));
			set_var(R, "ECASD",
				json_string_value(json_object_get(json_object_get(R->eis, "ecasd"), "aid")));
		}
		R->h.n_notifs = 0;
		if (!R->fail[0] && R->eis && dev_attach(&R->h))
			failf(R, NULL, "the card does not answer TERMINAL PROFILE");
		const char *req = c->requires ? c->requires : "fresh";
		if (!R->fail[0] && strcmp(req, "fresh")) {
			run_state(R, req, 0);
			if (R->fail[0]) {
				char tmp[sizeof(R->fail)];
				memcpy(tmp, R->fail, sizeof(tmp));
				int k = snprintf(R->fail, sizeof(R->fail), "setting up state '%.100s' failed: ", req);
				if (k > 0 && (size_t)k < sizeof(R->fail))
					snprintf(R->fail + k, sizeof(R->fail) - (size_t)k, "%.*s",
						 (int)(sizeof(R->fail) - (size_t)k - 1), tmp);
			}
		}
		if (!R->fail[0])
			run_steps(R, c);
	}
	return false;
}

/* The EIS and the PKI a run with OTA steps needs: -1 with why when one does not load */
static int load_keys(runner *R, const replay_opts *o, char *why, size_t why_len)
{
	json_error_t je;
	R->eis = o->eis ? json_load_file(o->eis, 0, &je) : NULL;
	if (o->eis && !R->eis) {
		snprintf(why, why_len, "%s: %s", o->eis, je.text);
		return -1;
	}
	if (R->eis) {
		char pdir[600];
		if (o->pki_dir)
			snprintf(pdir, sizeof(pdir), "%s", o->pki_dir);
		else if (!pki_default_dir(pdir, sizeof(pdir))) {
			snprintf(why, why_len, "no PKI directory (--pki DIR)");
			return -1;
		}
		if (pki_load_or_create(pdir, &R->pki, why, why_len))
			return -1;
		R->have_pki = true;
	}
	return 0;
}

/* where and why the running case failed */
static void failure_text(const runner *R, char *out, size_t cap)
{
	if (R->fail_step)
		snprintf(out, cap, "at %s:%d: %s\n    %s", R->fail_step->file, R->fail_step->line, R->fail_step->text,
			 R->fail);
	else
		snprintf(out, cap, "%s", R->fail);
}

/* what a run holds, released */
static void runner_free(runner *R)
{
	if (R->link)
		link_close(R->link);
	if (R->have_host && R->eis)
		dev_free(&R->h);
	else if (R->have_host) {
		abuf_free(&R->h.log);
		abuf_free(&R->h.por_data);
	}
	if (R->have_pki)
		pki_free(&R->pki);
	if (R->have_foreign)
		pki_free(&R->foreign);
	json_decref(R->eis);
	abuf_free(&R->last);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", R->tmpdir);
	if (system(cmd)) {
	}
}

int replay_run(const replay_opts *o, char *why, size_t why_len)
{
	vlib L;
	memset(&L, 0, sizeof(L));
	if (load_all(o, &L, why, why_len)) {
		free_lib(&L);
		return -1;
	}
	if (o->list) {
		for (size_t i = 0; i < L.ncases; i++) {
			const vblock *c = &L.cases[i];
			printf("%-22s %-14s %s:%d  %s\n", c->name, c->requires ? c->requires : "fresh", c->file,
			       c->line, c->title);
		}
		printf("# %zu cases in %zu files\n", L.ncases, L.nfiles);
		free_lib(&L);
		return 0;
	}
	if (o->inproc && access(o->inproc, R_OK) != 0) {
		snprintf(why, why_len, "--inproc %s: %s", o->inproc, strerror(errno));
		free_lib(&L);
		return -1;
	}
	runner R;
	memset(&R, 0, sizeof(R));
	R.o = o;
	R.L = &L;
	abuf_init(&R.last);
	snprintf(R.tmpdir, sizeof(R.tmpdir), "/tmp/apdu-replay-XXXXXX");
	int rc = -1;
	result *res = calloc(L.ncases ? L.ncases : 1, sizeof(*res));
	if (!mkdtemp(R.tmpdir) || !res) {
		snprintf(why, why_len, "cannot create a temporary directory: %s", strerror(errno));
		free(res);
		free_lib(&L);
		return -1;
	}
	if (load_keys(&R, o, why, why_len))
		goto out;
	if ((o->pcap || o->gsmtap) && capture_open(o->pcap, o->gsmtap, false, &R.cap, why, why_len))
		goto out;
	printf("TAP version 13\n1..%zu\n", L.ncases);
	size_t failed = 0, run = 0, skipped = 0;
	for (size_t i = 0; i < L.ncases; i++) {
		const vblock *c = &L.cases[i];
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		R.fail[0] = '\0';
		R.fail_step = NULL;
		R.nvars = 0;
		res[i].done = true;
		bool skip_t0 = run_case(&R, c);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		res[i].secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
		if (skip_t0) {
			res[i].skipped = true;
			skipped++;
			printf("ok %zu - %s %s # SKIP protocol t1: a T=0 card answers this otherwise\n", i + 1, c->name,
			       c->title);
			fflush(stdout);
			continue;
		}
		run++;
		res[i].ok = !R.fail[0];
		printf("%s %zu - %s %s # requires: %s\n", res[i].ok ? "ok" : "not ok", i + 1, c->name, c->title,
		       c->requires ? c->requires : "fresh");
		if (!res[i].ok) {
			failed++;
			char detail[3000];
			failure_text(&R, detail, sizeof(detail));
			res[i].detail = strdup(detail);
			printf("  ---\n  case: %s:%d\n  %s\n  ...\n", c->file, c->line, detail);
			if (o->stop_on_fail)
				break;
		}
		fflush(stdout);
	}
	printf("# %zu passed, %zu failed, %zu skipped, %zu not run\n", run - failed, failed, skipped,
	       L.ncases - run - skipped);
	if (o->junit && replay_write_junit(o->junit, &L, res, failed, why, why_len))
		goto out;
	rc = failed ? 1 : 0;
out:
	runner_free(&R);
	capture_close(R.cap);
	for (size_t i = 0; i < L.ncases; i++)
		free(res[i].detail);
	free(res);
	free_lib(&L);
	return rc;
}
