/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The whole SM-SR flow as a benchmark: CreateISDP, key establishment, download of a (12 KB TS.48)
 * package, enable (PoR, REFRESH, notification, confirmation), audit. Reports APDU count, wall time and
 * the ratio to APDU count x the echo floor measured in the same run (PC/SC), or the time in-process.
 * Through PC/SC each round is followed by the replay of its very APDUs on the echo card; the ratios are
 * best/best and the median of the rounds' own ratios. BENCH_DETAIL=1 prints each round and the APDUs of
 * the best round that took 0.3 ms or more above their echo (where the time above the floor goes).
 * usage: bench_flow pcsc ECHO_READER CARD_READER EIS.json PKI_DIR PACKAGE [ROUNDS]
 *        bench_flow inproc STATE_FILE|- EIS.json PKI_DIR PACKAGE [ROUNDS]   ('-': a card without a state file) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/tlv.h"
#include "euicc/euicc.h"
#include "host/smdp.h"
#include "host/link.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* the C-APDUs of a round, replayed on the echo card for the floor of exactly this traffic */
static abuf rec;
static size_t rec_n;
static dev_transport inner;

/* per APDU of a round: its instruction byte and round trip on the card and on the echo card */
#define MAX_TIMED 1024
typedef struct {
	uint8_t ins[MAX_TIMED];
	double card_us[MAX_TIMED], echo_us[MAX_TIMED];
	size_t n;
} round_times;
static round_times cur, best_round;

static size_t rec_transmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	abuf_put_u16(&rec, (uint16_t)len);
	abuf_put(&rec, a, len);
	double t0 = now_ms();
	size_t n = inner.transmit(ctx, a, len, r, cap);
	if (rec_n < MAX_TIMED) {
		cur.card_us[rec_n] = (now_ms() - t0) * 1000.0;
		cur.ins[rec_n] = len > 1 ? a[1] : 0;
		cur.n = rec_n + 1;
	}
	rec_n++;
	return n;
}

static euicc_card *mem_card;
static size_t mem_transmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	(void)ctx;
	(void)cap;
	return euicc_transmit(mem_card, a, len, r);
}
static void mem_reset(void *ctx)
{
	(void)ctx;
	uint8_t atr[EUICC_ATR_MAX];
	euicc_reset(mem_card, atr);
}

static int read_all(const char *path, abuf *out)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[4096];
	size_t n;
	if (!f)
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		abuf_put(out, buf, n);
	fclose(f);
	return 0;
}

/* The same package under another ICCID (the header's plain-BCD ICCID, digit 12 moved on, the Luhn
 * digit recomputed): a card holds one profile per ICCID, and the rounds alternate two ISD-Ps. */
static int other_iccid(abuf *pkg)
{
	tlv hdr, t;
	if (tlv_parse_one(pkg->p, pkg->len, &hdr) && tlv_find(pkg->p, pkg->len, 0xA0, &hdr))
		return -1;
	if (hdr.tag != 0xA0 || tlv_find(hdr.value, hdr.len, 0x83, &t) || t.len != 10)
		return -1;
	uint8_t *v = (uint8_t *)t.value;
	char d[21];
	size_t n = 0;
	for (; n < 20; n++) {
		uint8_t nib = (uint8_t)(n % 2 ? v[n / 2] & 0x0F : v[n / 2] >> 4);
		if (nib > 9)
			break;
		d[n] = (char)('0' + nib);
	}
	if (n < 19)
		return -1;
	d[12] = (char)('0' + (d[12] - '0' + 1) % 10);
	d[n - 1] = '\0';
	char check;
	if (luhn_digit(d, &check))
		return -1;
	d[n - 1] = check;
	for (size_t i = 0; i < n; i++) {
		uint8_t nib = (uint8_t)(d[i] - '0');
		v[i / 2] = (uint8_t)(i % 2 ? (v[i / 2] & 0xF0) | nib : (v[i / 2] & 0x0F) | (nib << 4));
	}
	return 0;
}

int main(int argc, char **argv)
{
	bool pcsc = argc > 1 && !strcmp(argv[1], "pcsc");
	int base = pcsc ? 4 : 3;
	if (argc < base + 3) {
		fprintf(stderr, "usage: see the header of bench_flow.c\n");
		return 2;
	}
	const char *eis_path = argv[base], *pki_dir = argv[base + 1], *pkg_path = argv[base + 2];
	int rounds = argc > base + 3 ? atoi(argv[base + 3]) : 5;
	char why[1200];
	json_t *eis = json_load_file(eis_path, 0, NULL);
	bench_pki pki;
	abuf pkg = ABUF_INIT;
	if (!eis || pki_load_or_create(pki_dir, &pki, why, sizeof(why)) || read_all(pkg_path, &pkg)) {
		fprintf(stderr, "bench_flow: cannot load the EIS, PKI or package\n");
		return 1;
	}
	abuf pkg2 = ABUF_INIT;
	abuf_put(&pkg2, pkg.p, pkg.len);
	if (pkg2.err || other_iccid(&pkg2)) {
		fprintf(stderr, "bench_flow: the package has no header ICCID to vary\n");
		return 1;
	}
	smsr_link *card = NULL, *echo = NULL;
	dev_transport t;
	double floor_us = 0;
	if (pcsc) {
		if (link_open_pcsc(argv[2], &echo, why, sizeof(why)) ||
		    link_open_pcsc(argv[3], &card, why, sizeof(why))) {
			fprintf(stderr, "bench_flow: %s\n", why);
			return 1;
		}
		/* the floor: the echo card's round trip, median of 500 */
		dev_transport et = link_transport(echo);
		double tt[500];
		uint8_t sel[] = { 0x00, 0xA4, 0x04, 0x0C, 0x05, 0xA0, 0x00, 0x00, 0x05, 0x59 }, r[300];
		for (int i = 0; i < 500; i++) {
			double t0 = now_ms();
			et.transmit(et.ctx, sel, sizeof(sel), r, sizeof(r));
			tt[i] = (now_ms() - t0) * 1000.0;
		}
		qsort(tt, 500, sizeof(double), cmpd);
		floor_us = tt[250];
		t = link_transport(card);
	} else if (!strcmp(argv[2], "-")) {
		euicc_new_opts o = { .has_seed = true, .seed = 11, .issuer = pki_issuer(&pki) };
		mem_card = euicc_create(&o, why, sizeof(why));
		if (!mem_card)
			return 1;
		json_decref(eis);
		eis = euicc_eis(mem_card);
		uint8_t atr[EUICC_ATR_MAX];
		euicc_power_on(mem_card, atr);
		t.transmit = mem_transmit;
		t.reset = mem_reset;
		t.ctx = NULL;
	} else {
		if (link_open_inproc(argv[2], &card, why, sizeof(why))) {
			fprintf(stderr, "bench_flow: %s\n", why);
			return 1;
		}
		t = link_transport(card);
	}
	inner = t;
	t.transmit = rec_transmit;
	dev_host h;
	dev_init(&h, &t, eis);
	/* above whatever counter an earlier client left on the card ('counter must be higher') */
	h.cntr = (uint64_t)time(NULL) << 8;
	dev_attach(&h);
	dev_confirm_notifications(&h);
	double best = 1e30, echo_best = 1e30, ratios[1000];
	int n_ratios = 0;
	bool detail = getenv("BENCH_DETAIL") != NULL;
	if (rounds > 1000)
		rounds = 1000;
	unsigned apdus = 0;
	for (int round = 0; round < rounds; round++) {
		char aid_hex[33], hex[300];
		uint8_t aid[16];
		snprintf(aid_hex, sizeof(aid_hex), "a0000005591010ffffffff8900%04x00", 0x20 + round % 2);
		if (hex_decode_exact(aid_hex, aid, 16))
			abort(); /* a failed step would make the figure meaningless */
		unsigned a0 = h.apdus;
		abuf_reset(&rec);
		rec_n = 0;
		double t0 = now_ms();
		snprintf(hex, sizeof(hex),
			 "80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0010%"
			 "s0380C00006C9048102037000",
			 aid_hex);
		if (dev_isdr(&h, hex, NULL) != 0x9000 ||
		    smdp_download(&h, &pki, eis, aid, round % 2 ? pkg2.p : pkg.p, pkg.len, 512)) {
			fprintf(stderr, "bench_flow: create/download failed: %s\n", h.log.len ? (char *)h.log.p : "");
			return 1;
		}
		snprintf(hex, sizeof(hex), "80E2880015 3A03 12 4F10%s", aid_hex);
		if (dev_isdr(&h, hex, NULL) != 0x9000 || dev_confirm_notifications(&h) ||
		    dev_isdr(&h, "80F24002024F0000", NULL) != 0x9000) {
			fprintf(stderr, "bench_flow: enable/audit failed\n");
			return 1;
		}
		double ms = now_ms() - t0;
		apdus = h.apdus - a0;
		bool is_best = ms < best;
		if (is_best)
			best = ms;
		if (pcsc) {
			/* the same APDUs on the echo card: the transport's share of this very traffic */
			dev_transport et = link_transport(echo);
			uint8_t r[300];
			double e0 = now_ms();
			acur c = acur_make(rec.p, rec.len);
			uint16_t l;
			const uint8_t *ap;
			for (size_t k = 0; !acur_u16(&c, &l) && !acur_take(&c, l, &ap); k++) {
				double s0 = now_ms();
				et.transmit(et.ctx, ap, l, r, sizeof(r));
				if (k < MAX_TIMED)
					cur.echo_us[k] = (now_ms() - s0) * 1000.0;
			}
			double ems = now_ms() - e0;
			if (ems < echo_best)
				echo_best = ems;
			ratios[n_ratios++] = ms / ems;
			if (is_best)
				best_round = cur;
			if (detail)
				printf("  round %2d: %.1f ms, echo replay %.1f ms, ratio %.2f\n", round, ms, ems,
				       ms / ems);
		}
		/* make room for the next round: delete the other (disabled) profile */
		if (round > 0) {
			char other[33];
			snprintf(other, sizeof(other), "a0000005591010ffffffff8900%04x00", 0x20 + (round + 1) % 2);
			snprintf(hex, sizeof(hex), "80E40000124F10%s", other);
			dev_isdr(&h, hex, NULL);
		}
	}
	printf("whole flow (create, key establishment, %zu-byte download, enable + notification, audit)\n", pkg.len);
	printf("  transport            %s\n",
	       pcsc			       ? "PC/SC through pcscd + vpcd"
		       : !strcmp(argv[2], "-") ? "in-process, card without state file"
					       : "in-process, card with its NVM file");
	printf("  APDUs                %u\n", apdus);
	printf("  wall time (best of %d) %.1f ms\n", rounds, best);
	if (pcsc) {
		printf("  echo floor           %.1f us per APDU (median of 500 SELECTs)\n", floor_us);
		printf("  ratio to APDUs x median floor            %.2f\n", best * 1000.0 / (apdus * floor_us));
		printf("  echo replay of the same %zu APDUs         %.1f ms (%.1f us per APDU)\n", rec_n, echo_best,
		       echo_best * 1000.0 / (double)rec_n);
		printf("  ratio to the echo replay (the floor)     %.2f\n", best / echo_best);
		qsort(ratios, (size_t)n_ratios, sizeof(double), cmpd);
		printf("  median of the %d rounds' own ratios      %.2f\n", n_ratios, ratios[n_ratios / 2]);
		if (detail) {
			printf("  APDUs of the best round 0.3 ms or more above their echo:\n");
			for (size_t k = 0; k < best_round.n; k++)
				if (best_round.card_us[k] - best_round.echo_us[k] >= 300)
					printf("    #%zu INS %02X: %.0f us (echo %.0f us)\n", k, best_round.ins[k],
					       best_round.card_us[k], best_round.echo_us[k]);
		}
	}
	dev_free(&h);
	link_close(card);
	link_close(echo);
	euicc_free(mem_card);
	pki_free(&pki);
	json_decref(eis);
	abuf_free(&pkg);
	abuf_free(&pkg2);
	abuf_free(&rec);
	return 0;
}
