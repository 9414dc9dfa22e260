/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Benchmark through one pcscd: per-APDU round trip of the echo card (the floor) and of the eUICC for
 * SELECT ISD-R, GET DATA EID and one OTA ENVELOPE (enable/disable alternating), as µs and as a ratio to
 * the floor measured in the same run. No assertion on time: it prints a table (and JSON with --json).
 * usage: bench_pcsc ECHO_READER CARD_READER EIS.json PKI_DIR [N] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <PCSC/winscard.h>

#include "apdu/hex.h"
#include "host/smdp.h"
#include "host/adapter.h"

typedef struct {
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	double env_us[4096];
	size_t n_env;
} pc;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static size_t pc_transmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	pc *p = ctx;
	DWORD rl = (DWORD)cap;
	double t0 = now_us();
	LONG rv = SCardTransmit(p->h, p->proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0, a, (DWORD)len, NULL,
				r, &rl);
	double dt = now_us() - t0;
	if (len > 5 && a[0] == 0x80 && a[1] == 0xC2 && a[5] == 0xD1 && p->n_env < 4096)
		p->env_us[p->n_env++] = dt;
	return rv == SCARD_S_SUCCESS ? rl : 0;
}

static void pc_reset(void *ctx)
{
	pc *p = ctx;
	SCardReconnect(p->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &p->proto);
}

static int pc_open(pc *p, const char *want)
{
	char readers[8192];
	DWORD len = sizeof(readers);
	memset(p, 0, sizeof(*p));
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx) ||
	    SCardListReaders(p->ctx, NULL, readers, &len))
		return -1;
	for (char *r = readers; *r; r += strlen(r) + 1)
		if (strstr(r, want))
			return SCardConnect(p->ctx, r, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &p->h,
					    &p->proto) == SCARD_S_SUCCESS
				? 0
				: -1;
	return -1;
}

static double median_apdu(pc *p, const char *hex, int n)
{
	abuf a = ABUF_INIT;
	if (hex_decode(hex, &a, NULL))
		abort(); /* a failed step would make the figure meaningless */
	double *t = calloc((size_t)n, sizeof(double));
	uint8_t r[300];
	for (int i = 0; i < n + 20; i++) {
		double t0 = now_us();
		pc_transmit(p, a.p, a.len, r, sizeof(r));
		if (i >= 20)
			t[i - 20] = now_us() - t0; /* the first 20 warm up */
	}
	qsort(t, (size_t)n, sizeof(double), cmpd);
	double m = t[n / 2];
	free(t);
	abuf_free(&a);
	return m;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: bench_pcsc ECHO_READER CARD_READER EIS.json PKI_DIR [N]\n");
		return 2;
	}
	int n = argc > 5 ? atoi(argv[5]) : 1000;
	pc echo, card;
	if (pc_open(&echo, argv[1]) || pc_open(&card, argv[2])) {
		fprintf(stderr, "bench_pcsc: cannot connect to the readers\n");
		return 1;
	}
	json_t *eis = json_load_file(argv[3], 0, NULL);
	bench_pki pki;
	char why[512];
	if (!eis || pki_load_or_create(argv[4], &pki, why, sizeof(why)))
		return 1;
	dev_transport t = { pc_transmit, pc_reset, &card };
	dev_host h;
	dev_init(&h, &t, eis);
	fprintf(stderr, "bench: setting up two profiles over the air...\n");
	dev_attach(&h);
	static const uint8_t base[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
					  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00 };
	static const char *const iccid[2] = { "8949449999999990015", "8988211000000467285" };
	for (int k = 0; k < 2; k++) {
		uint8_t aid[16];
		memcpy(aid, base, 16);
		aid[14] = (uint8_t)(0x10 + k);
		char hex[300], ah[33];
		hex_encode(aid, 16, ah);
		snprintf(hex, sizeof(hex),
			 "80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0010%"
			 "s0380C00006C9048102037000",
			 ah);
		dev_isdr(&h, hex, NULL);
		abuf pkg = ABUF_INIT;
		uint8_t bcd[10];
		for (int i = 0; i < 10; i++) {
			uint8_t hi = (uint8_t)(iccid[k][2 * i] - '0');
			uint8_t lo = 2 * i + 1 < 19 ? (uint8_t)(iccid[k][2 * i + 1] - '0') : 0x0f;
			bcd[i] = (uint8_t)((hi << 4) | lo);
		}
		abuf_put(&pkg, "\xA0\x12\x80\x01\x02\x81\x01\x03\x83\x0A", 10);
		abuf_put(&pkg, bcd, 10);
		abuf_put(&pkg, "\xAA\x04\xA0\x02\x80\x00", 6);
		if (smdp_download(&h, &pki, eis, aid, pkg.p, pkg.len, 512)) {
			fprintf(stderr, "bench: download failed: %s\n", (char *)h.log.p);
			return 1;
		}
		abuf_free(&pkg);
	}
	dev_confirm_notifications(&h);

	double floor_us = median_apdu(&echo, "00A4040010A0000005591010FFFFFFFF8900000100", n);
	double sel = median_apdu(&card, "00A4040C10A0000005591010FFFFFFFF8900000100", n);
	median_apdu(&card, "00A4040C10A0000005591010FFFFFFFF8900000200", 1);
	double eid = median_apdu(&card, "80CA005A00", n);
	/* OTA: enable 0 / enable 1 alternating; the ENVELOPE exchange itself is timed */
	int m = n / 10 < 50 ? 50 : n / 10;
	card.n_env = 0;
	double t0 = now_us();
	for (int i = 0; i < m; i++) {
		char hex[120];
		snprintf(hex, sizeof(hex), "80E28800153A03124F10A0000005591010FFFFFFFF890000%s00", i % 2 ? "11" : "10");
		if (dev_isdr(&h, hex, NULL) != 0x9000) {
			fprintf(stderr, "bench: enable failed at %d\n", i);
			return 1;
		}
		dev_confirm_notifications(&h);
	}
	double op_ms = (now_us() - t0) / m / 1000.0;
	qsort(card.env_us, card.n_env, sizeof(double), cmpd);
	double env = card.env_us[card.n_env / 2];
	printf("%-44s %10s %8s\n", "round trip through pcscd (median)", "µs", "x floor");
	printf("%-44s %10.1f %8.2f\n", "echo card (floor)", floor_us, 1.0);
	printf("%-44s %10.1f %8.2f\n", "eUICC: SELECT ISD-R", sel, sel / floor_us);
	printf("%-44s %10.1f %8.2f\n", "eUICC: GET DATA EID (ECASD)", eid, eid / floor_us);
	printf("%-44s %10.1f %8.2f\n", "eUICC: OTA ENVELOPE (enable, alternating)", env, env / floor_us);
	printf("%-44s %10.2f ms\n", "whole OTA enable incl. PoR, REFRESH, notif.", op_ms);
	printf("samples: %d plain APDUs each, %zu envelopes\n", n, card.n_env);
	dev_free(&h);
	pki_free(&pki);
	json_decref(eis);
	return 0;
}
