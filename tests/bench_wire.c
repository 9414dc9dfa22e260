/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Wire-layer benchmark: cost of each secure-channel operation as a ratio to a floor measured in the same
 * run (one AES-128-CBC pass over the same bytes through the same crypto module). Prints a table; never
 * asserts on time. Run: meson test -C build --benchmark  (or build/tests/bench_wire [ITERATIONS]). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apdu/crypto.h"
#include "apdu/milenage.h"
#include "apdu/scp03.h"
#include "apdu/scp80.h"
#include "apdu/tlv.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static uint8_t data[112], key[16];
static scp80_keyset ks;
static abuf pkt, out;
static scp03_session host, card;
static volatile unsigned sink;

static void op_floor(void)
{
	uint8_t buf[112];
	if (crypto_aes_cbc(key, 16, NULL, true, data, sizeof(buf), buf))
		abort(); /* a failed step would make the figure meaningless */
	sink += buf[0];
}

static void op_scp80_wrap(void)
{
	const uint8_t tar[3] = { 0, 0, 1 }, cntr[5] = { 0, 0, 0, 0, 1 };
	abuf_reset(&pkt);
	if (scp80_wrap_command(&ks, 0x1639, tar, cntr, data, 100, &pkt))
		abort(); /* a failed step would make the figure meaningless */
}

static void op_scp80_unwrap(void)
{
	scp80_cmd_hdr h;
	abuf_reset(&out);
	if (scp80_unwrap_command(&ks, pkt.p, pkt.len, &h, &out) != APDU_OK)
		abort();
}

static void op_scp03_roundtrip(void)
{
	uint8_t cmd[105] = { 0x80, 0xe2, 0x91, 0x00, 100 };
	memcpy(cmd + 5, data, 100);
	abuf_reset(&pkt);
	abuf_reset(&out);
	if (scp03_wrap_command(&host, cmd, sizeof(cmd), &pkt) || scp03_card_unwrap_command(&card, pkt.p, pkt.len, &out))
		abort();
}

static void op_milenage(void)
{
	milenage_out m;
	uint8_t sqn[6] = { 0 }, amf[2] = { 0x80, 0 };
	if (milenage_all(key, key, data, sqn, amf, &m))
		abort(); /* a failed step would make the figure meaningless */
	sink += m.res[0];
}

static uint8_t tree[512];
static size_t tree_len;
static int count_visit(const tlv *t, int d, void *c)
{
	(void)t;
	(void)d;
	(*(unsigned *)c)++;
	return 0;
}

static void op_tlv_walk(void)
{
	unsigned n = 0;
	if (tlv_walk(tree, tree_len, 0, count_visit, &n))
		abort(); /* a failed step would make the figure meaningless */
	sink += n;
}

static double measure(void (*fn)(void), unsigned iters)
{
	for (unsigned i = 0; i < iters / 10 + 1; i++)
		fn(); /* warm up */
	double best = 1e30;
	for (int round = 0; round < 5; round++) {
		double t0 = now_ns();
		for (unsigned i = 0; i < iters; i++)
			fn();
		double per = (now_ns() - t0) / iters;
		if (per < best)
			best = per;
	}
	return best;
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 20000;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	for (size_t i = 0; i < 16; i++)
		key[i] = (uint8_t)(i * 17);
	ks.kic = ks.kid = 0x12;
	ks.kic_key_len = ks.kid_key_len = 16;
	memcpy(ks.kic_key, key, 16);
	memcpy(ks.kid_key, key, 16);
	op_scp80_wrap();

	scp03_keys k = { .kvn = 0x30, .key_len = 16 };
	memcpy(k.enc, key, 16);
	memcpy(k.mac, key, 16);
	memcpy(k.dek, key, 16);
	uint8_t hc[8] = { 1 }, cc[8] = { 2 }, kdd[10] = { 0 };
	abuf r = ABUF_INIT, ea = ABUF_INIT;
	if (scp03_card_init(&card, &k, 0x70, hc, cc, kdd, NULL, &r) || scp03_host_init(&host, &k, hc, r.p, r.len) ||
	    scp03_host_external_authenticate(&host, 0x33, &ea) || scp03_card_external_authenticate(&card, ea.p, ea.len))
		return 1;

	abuf t = ABUF_INIT;
	size_t m1, m2;
	tlv_begin(&t, 0xE3, &m1);
	for (int i = 0; i < 20; i++) {
		tlv_begin(&t, 0xA0, &m2);
		tlv_put(&t, 0x4F, data, 16);
		tlv_put_u8(&t, 0x9F70, 0x3F);
		tlv_end(&t, m2);
	}
	tlv_end(&t, m1);
	tree_len = t.len < sizeof(tree) ? t.len : sizeof(tree);
	memcpy(tree, t.p, tree_len);

	struct {
		const char *name;
		void (*fn)(void);
	} ops[] = {
		{ "floor: AES-128-CBC, 112 bytes", op_floor },
		{ "SCP80 wrap, 100 bytes, SPI 1639 AES", op_scp80_wrap },
		{ "SCP80 unwrap + CC check", op_scp80_unwrap },
		{ "SCP03 wrap + card unwrap, level 33", op_scp03_roundtrip },
		{ "MILENAGE f1..f5*", op_milenage },
		{ "BER-TLV walk, 61 items", op_tlv_walk },
	};
	double floor_ns = 0;
	printf("%-40s %12s %10s\n", "operation", "ns/op", "x floor");
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		double ns = measure(ops[i].fn, iters);
		if (i == 0)
			floor_ns = ns;
		printf("%-40s %12.0f %10.2f\n", ops[i].name, ns, ns / floor_ns);
	}
	abuf_free(&r);
	abuf_free(&ea);
	abuf_free(&t);
	abuf_free(&pkt);
	abuf_free(&out);
	return 0;
}
