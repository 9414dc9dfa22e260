/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A plain PC/SC client for the integration tests and the benchmark: finds a reader by name, connects,
 * sends APDUs (handling 61xx with GET RESPONSE), checks expected status words, or times round trips.
 * usage: pcsc_probe [--wait SEC] [--list] [--bench N] [--storm N] READER_SUBSTRING [APDU_HEX[=SW]]...
 * --storm N sends N random APDUs (lengths 1-261, fixed seed; vpcd's single-byte control codes left out)
 * and fails unless every one gets an answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <PCSC/winscard.h>

#include "apdu/hex.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	double wait_s = 0;
	int bench = 0, list = 0, storm = 0, i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--wait") && i + 1 < argc)
			wait_s = atof(argv[++i]);
		else if (!strcmp(argv[i], "--bench") && i + 1 < argc)
			bench = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--storm") && i + 1 < argc)
			storm = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--list"))
			list = 1;
		else {
			fprintf(stderr, "pcsc_probe: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	if (i >= argc && !list) {
		fprintf(stderr, "usage: pcsc_probe [--wait SEC] [--list] [--bench N] READER [APDU[=SW]]...\n");
		return 2;
	}
	const char *want = i < argc ? argv[i++] : "";
	SCARDCONTEXT ctx;
	LONG rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS) {
		fprintf(stderr, "pcsc_probe: no PC/SC service: %s\n", pcsc_stringify_error(rv));
		return 3;
	}
	double deadline = now_us() + wait_s * 1e6;
	char readers[8192], *found = NULL;
	SCARDHANDLE card = 0;
	DWORD proto = 0;
	for (;;) {
		DWORD len = sizeof(readers);
		rv = SCardListReaders(ctx, NULL, readers, &len);
		found = NULL;
		if (rv == SCARD_S_SUCCESS)
			for (char *r = readers; *r; r += strlen(r) + 1) {
				if (list)
					printf("%s\n", r);
				if (!found && strstr(r, want))
					found = r;
			}
		if (list)
			return found || !*want ? 0 : 1;
		if (found) {
			rv = SCardConnect(ctx, found, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &card,
					  &proto);
			if (rv == SCARD_S_SUCCESS)
				break;
		}
		if (now_us() > deadline) {
			fprintf(stderr, "pcsc_probe: %s '%s': %s\n", found ? "cannot connect to" : "no reader matching",
				want, pcsc_stringify_error(rv));
			SCardReleaseContext(ctx);
			return 1;
		}
		usleep(100000);
	}
	const SCARD_IO_REQUEST *pci = proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
	int rc = 0;
	if (storm) {
		uint64_t x = 0x2545F4914F6CDD1Dull;
		BYTE resp[66000], apdu[261];
		double worst = 0, t_all = now_us();
		for (int k = 0; k < storm; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t len = 1 + (size_t)(x % 261);
			for (size_t b = 0; b < len; b++) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				apdu[b] = (BYTE)(x >> 24);
			}
			if (len == 1 && (apdu[0] == 0x00 || apdu[0] == 0x01 || apdu[0] == 0x02 || apdu[0] == 0x04))
				apdu[0] = 0x03; /* vpcd's control codes are not APDUs */
			DWORD rlen = sizeof(resp);
			double t0 = now_us();
			rv = SCardTransmit(card, pci, apdu, (DWORD)len, NULL, resp, &rlen);
			double dt = now_us() - t0;
			worst = dt > worst ? dt : worst;
			if (rv != SCARD_S_SUCCESS || rlen < 2) {
				fprintf(stderr, "pcsc_probe: storm APDU %d (%zu bytes) got no answer: %s\n", k, len,
					pcsc_stringify_error(rv));
				return 1;
			}
		}
		printf("storm: %d APDUs answered in %.1f s, slowest %.1f ms\n", storm, (now_us() - t_all) / 1e6,
		       worst / 1e3);
	}
	for (; i < argc; i++) {
		char hex[4096];
		snprintf(hex, sizeof(hex), "%s", argv[i]);
		char *eq = strchr(hex, '=');
		long expect = -1;
		if (eq) {
			*eq = '\0';
			expect = strtol(eq + 1, NULL, 16);
		}
		abuf a = ABUF_INIT;
		if (hex_decode(hex, &a, NULL)) {
			fprintf(stderr, "pcsc_probe: bad hex %s\n", hex);
			return 2;
		}
		BYTE resp[66000];
		DWORD rlen;
		if (bench) {
			double *t = calloc((size_t)bench, sizeof(double));
			for (int k = 0; k < bench; k++) {
				rlen = sizeof(resp);
				double t0 = now_us();
				rv = SCardTransmit(card, pci, a.p, (DWORD)a.len, NULL, resp, &rlen);
				t[k] = now_us() - t0;
				if (rv != SCARD_S_SUCCESS) {
					fprintf(stderr, "pcsc_probe: transmit: %s\n", pcsc_stringify_error(rv));
					return 1;
				}
			}
			qsort(t, (size_t)bench, sizeof(double), cmp_double);
			printf("%s median_us=%.1f p90_us=%.1f\n", hex, t[bench / 2], t[bench * 9 / 10]);
			free(t);
			abuf_free(&a);
			continue;
		}
		abuf data = ABUF_INIT;
		uint16_t sw = 0;
		for (;;) {
			rlen = sizeof(resp);
			rv = SCardTransmit(card, pci, a.p, (DWORD)a.len, NULL, resp, &rlen);
			if (rv != SCARD_S_SUCCESS && wait_s > 0 && now_us() < deadline) {
				/* a card process that was just restarted: pcscd may still hold the old one's
				 * connection; connect again and resend until --wait runs out */
				SCardDisconnect(card, SCARD_LEAVE_CARD);
				usleep(100000);
				if (SCardConnect(ctx, found, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
						 &card, &proto) == SCARD_S_SUCCESS)
					pci = proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0;
				continue;
			}
			if (rv != SCARD_S_SUCCESS || rlen < 2) {
				fprintf(stderr, "pcsc_probe: transmit: %s\n", pcsc_stringify_error(rv));
				return 1;
			}
			abuf_put(&data, resp, rlen - 2);
			sw = (uint16_t)((resp[rlen - 2] << 8) | resp[rlen - 1]);
			if ((sw >> 8) != 0x61)
				break;
			uint8_t gr[5] = { 0x00, 0xC0, 0x00, 0x00, (uint8_t)sw };
			abuf_reset(&a);
			abuf_put(&a, gr, 5);
		}
		char *dh = hex_encode_alloc(data.p, data.len);
		printf("%s -> %s %04x\n", hex, dh ? dh : "", sw);
		free(dh);
		if (expect >= 0 && sw != expect) {
			fprintf(stderr, "pcsc_probe: %s answered %04x, expected %04lx\n", hex, sw, expect);
			rc = 1;
		}
		abuf_free(&a);
		abuf_free(&data);
	}
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	return rc;
}
