/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Plays pcscd's vpcd driver (the TCP server side) and an SM-SR at once, so that the real euicc-sim can
 * be killed at any moment: loops create/download/enable/delete over OTA, reconnecting whenever the card
 * process dies. Before each operation it prints "begin K OP" and after one the card acknowledged
 * "acked K STATE" (ISD-P K's state from then on), so that the test can check that an acknowledged change
 * survived the kill. usage: crash_host PORT EIS.json PKI_DIR SECONDS */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "apdu/hex.h"
#include "apdu/tlv.h"
#include "host/adapter.h"
#include "host/smdp.h"
#include "euicc/vpcd.h"

typedef struct {
	int fd;
	bool dead;
} vconn;

static int send_frame(int fd, const uint8_t *p, size_t n)
{
	return vpcd_write_frame(fd, p, n);
}

static long recv_frame(int fd, uint8_t *p, size_t cap)
{
	long n = vpcd_read_frame(fd, p, cap);
	return n <= 0 ? -1 : n;
}

static size_t vtransmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	vconn *v = ctx;
	if (v->dead || send_frame(v->fd, a, len)) {
		v->dead = true;
		return 0;
	}
	long n = recv_frame(v->fd, r, cap);
	if (n < 2) {
		v->dead = true;
		return 0;
	}
	return (size_t)n;
}

static void vreset(void *ctx)
{
	vconn *v = ctx;
	uint8_t c = 0x02, atr[64];
	if (v->dead || send_frame(v->fd, &c, 1)) {
		v->dead = true;
		return;
	}
	c = 0x04;
	if (send_frame(v->fd, &c, 1) || recv_frame(v->fd, atr, sizeof(atr)) <= 0)
		v->dead = true;
}

static void aid_of(uint8_t aid[16], int n)
{
	static const uint8_t base[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
					  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00 };
	memcpy(aid, base, 16);
	aid[14] = (uint8_t)(0x10 + n);
}

/* prefix ‖ AID as one C-APDU */
static void note(const char *what, int k, const char *detail)
{
	printf("%s %d %s\n", what, k, detail);
	fflush(stdout);
}

static uint16_t by_aid(dev_host *h, const char *prefix, const uint8_t aid[16])
{
	char ah[33], hex[200];
	hex_encode(aid, 16, ah);
	snprintf(hex, sizeof(hex), "%s%s", prefix, ah);
	return dev_isdr(h, hex, NULL);
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: crash_host PORT EIS.json PKI_DIR SECONDS\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int port = atoi(argv[1]);
	json_t *eis = json_load_file(argv[2], 0, NULL);
	bench_pki pki;
	char why[512];
	if (!eis || pki_load_or_create(argv[3], &pki, why, sizeof(why))) {
		fprintf(stderr, "crash_host: cannot load EIS or PKI\n");
		return 1;
	}
	double end = (double)time(NULL) + atof(argv[4]);
	int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) || listen(ls, 4)) {
		perror("crash_host: listen");
		return 1;
	}
	printf("listening\n");
	fflush(stdout);
	vconn v = { -1, true };
	dev_transport t = { vtransmit, vreset, &v };
	dev_host h;
	if (dev_init(&h, &t, eis))
		return 1;
	h.auto_resync = true;
	unsigned ops = 0, conns = 0, seed = 12345;
	abuf pkg = ABUF_INIT;
	while ((double)time(NULL) < end) {
		struct pollfd p = { ls, POLLIN, 0 };
		if (poll(&p, 1, 500) <= 0)
			continue;
		v.fd = accept(ls, NULL, NULL);
		if (v.fd < 0)
			continue;
		setsockopt(v.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		v.dead = false;
		conns++;
		uint8_t on = 0x01;
		send_frame(v.fd, &on, 1);
		vreset(&v);
		dev_attach(&h);
		dev_confirm_notifications(&h);
		while (!v.dead && (double)time(NULL) < end) {
			/* audit: which ISD-Ps exist, in which state */
			abuf st = ABUF_INIT;
			int state[4] = { 0, 0, 0, 0 };
			uint16_t sw = dev_isdr(&h, "80F24002024F0000", &st);
			if (sw != 0x9000 && sw != 0x6A88) {
				abuf_free(&st);
				break;
			}
			acur c = acur_make(st.p, st.len);
			tlv e3, a, l;
			while (c.len && !tlv_next(&c, &e3))
				if (!tlv_find(e3.value, e3.len, 0x4F, &a) && !tlv_find(e3.value, e3.len, 0x9F70, &l) &&
				    a.len == 16 && a.value[14] >= 0x10 && a.value[14] < 0x14)
					state[a.value[14] - 0x10] = l.value[0];
			abuf_free(&st);
			seed = seed * 1103515245u + 12345u;
			int k = (int)((seed >> 16) % 4);
			uint8_t aid[16];
			aid_of(aid, k);
			if (state[k] == 0) {
				static const char *const good[4] = { "8988211000000467285", "8949449999999990015",
								     "8988211000000000018", "8988211000000000026" };
				char hex[300], ah[33];
				hex_encode(aid, 16, ah);
				snprintf(hex, sizeof(hex),
					 "80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0"
					 "010%s0380C00006C9048102037000",
					 ah);
				note("begin", k, "create+download");
				if (dev_isdr(&h, hex, NULL) != 0x9000)
					continue;
				abuf_reset(&pkg);
				size_t m;
				uint8_t bcd[10];
				const char *ic = good[k];
				for (int i = 0; i < 10; i++) {
					uint8_t hi = (uint8_t)(ic[2 * i] - '0');
					uint8_t lo = 2 * i + 1 < 19 ? (uint8_t)(ic[2 * i + 1] - '0') : 0x0f;
					bcd[i] = (uint8_t)((hi << 4) | lo);
				}
				tlv_begin(&pkg, 0xA0, &m);
				tlv_put_u8(&pkg, 0x80, 2);
				tlv_put_u8(&pkg, 0x81, 3);
				tlv_put(&pkg, 0x83, bcd, 10);
				tlv_end(&pkg, m);
				abuf_fill(&pkg, 0, 0);
				tlv_begin(&pkg, 0xB0, &m);
				abuf_fill(&pkg, 0x5A, 900); /* a body worth a few segments */
				tlv_end(&pkg, m);
				tlv_put(&pkg, 0xAA, "\xA0\x02\x80\x00", 4);
				if (smdp_download(&h, &pki, eis, aid, pkg.p, pkg.len, 300) == 0)
					note("acked", k, "disabled");
			} else if (state[k] == 0x1F && (seed & 0x100)) {
				note("begin", k, "enable");
				if (by_aid(&h, "80E28800153A03124F10", aid) == 0x9000) /* enable */
					note("acked", k, "enabled");
			} else if (state[k] != 0x3F) {
				note("begin", k, "delete");
				if (by_aid(&h, "80E40000124F10", aid) == 0x9000) /* delete (any half-made one too) */
					note("acked", k, "absent");
			} else {
				note("begin", k, "fallback");
				by_aid(&h, "80E28800153A05124F10", aid); /* fall-back on the enabled one */
			}
			dev_confirm_notifications(&h);
			ops++;
		}
		close(v.fd);
		v.dead = true;
	}
	printf("ops=%u connections=%u\n", ops, conns);
	abuf_free(&pkg);
	dev_free(&h);
	pki_free(&pki);
	json_decref(eis);
	return 0;
}
