/* SPDX-License-Identifier: GPL-2.0-or-later */
/* GSMTAP captures (capture.h). A plain capture is written by libpcap (pcap_dump, flushed after every
 * packet). libpcap writes no pcapng, and comments need it: a capture with notes is written here as
 * pcapng (a section header, one interface, enhanced packet blocks with an opt_comment), the smallest
 * part of that format Wireshark reads. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <pthread.h>

#include <pcap/pcap.h>

#include "host/capture.h"

#define FRAME_MAX 70000

typedef struct {
	char name[40];
	unsigned id;
} card_name;

struct capture {
	pthread_mutex_t lock; /* campaign workers share one capture */
	pcap_t *dead;
	pcap_dumper_t *dump;
	FILE *ng; /* pcapng (with notes) */
	int sock;
	struct sockaddr_storage to;
	socklen_t to_len;
	bool notes;
	unsigned long count;
	/* the last packet, kept until its note comes (or the next packet) */
	uint8_t last[FRAME_MAX];
	size_t last_len;
	unsigned last_card;
	struct timeval last_tv;
	char note[1024];
	/* card numbers by name (an EID), in order of first use: an open-addressing table */
	card_name *names;
	size_t names_cap, names_n;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t ip_sum(const uint8_t *h, size_t n)
{
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(h[i] << 8 | h[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* Ethernet, IPv4 10.N.N.N -> 127.0.0.1, UDP 40000+N -> 4729, then the GSMTAP payload; its length */
static size_t frame(uint8_t *f, unsigned card, const uint8_t *payload, size_t n)
{
	static const uint8_t eth[14] = { 0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x08, 0x00 };
	memcpy(f, eth, 14);
	uint8_t *ip = f + 14, *udp = ip + 20;
	memset(ip, 0, 28);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(28 + n));
	ip[6] = 0x40; /* don't fragment */
	ip[8] = 64;
	ip[9] = 17;
	unsigned a = card + 1;
	ip[12] = 10, ip[13] = (uint8_t)(a >> 16), ip[14] = (uint8_t)(a >> 8), ip[15] = (uint8_t)a;
	ip[16] = 127, ip[19] = 1;
	put16(ip + 10, ip_sum(ip, 20));
	put16(udp, (uint16_t)(40000 + card % 20000));
	put16(udp + 2, GSMTAP_UDP_PORT);
	put16(udp + 4, (uint16_t)(8 + n)); /* checksum 0: none (IPv4) */
	memcpy(udp + 8, payload, n);
	return 42 + n;
}

static int ng_block(FILE *f, uint32_t type, const uint8_t *body, size_t n)
{
	uint32_t total = (uint32_t)(12 + ((n + 3) & ~(size_t)3));
	static const uint8_t pad[4];
	return fwrite(&type, 4, 1, f) == 1 && fwrite(&total, 4, 1, f) == 1 && fwrite(body, 1, n, f) == n &&
			fwrite(pad, 1, (4 - n % 4) % 4, f) == (4 - n % 4) % 4 && fwrite(&total, 4, 1, f) == 1
		? 0
		: -1;
}

/* an enhanced packet block: interface 0, microseconds, the frame, then its comment if any */
static void ng_packet(capture *c)
{
	size_t clen = strlen(c->note), n = c->last_len;
	uint8_t *b = malloc(20 + n + 4 + clen + 8 + 8);
	if (!b)
		return;
	uint64_t us = (uint64_t)c->last_tv.tv_sec * 1000000u + (uint64_t)c->last_tv.tv_usec;
	uint32_t w[5] = { 0, (uint32_t)(us >> 32), (uint32_t)us, (uint32_t)n, (uint32_t)n };
	memcpy(b, w, 20);
	memcpy(b + 20, c->last, n);
	size_t o = 20 + n;
	while (o % 4)
		b[o++] = 0;
	if (clen) {
		uint16_t code = 1, len = (uint16_t)clen; /* opt_comment */
		memcpy(b + o, &code, 2);
		memcpy(b + o + 2, &len, 2);
		memcpy(b + o + 4, c->note, clen);
		o += 4 + clen;
		while (o % 4)
			b[o++] = 0;
		memset(b + o, 0, 4); /* opt_endofopt */
		o += 4;
	}
	ng_block(c->ng, 6, b, o);
	fflush(c->ng);
	free(b);
}

static void flush_last(capture *c)
{
	if (!c->last_len || !c->ng)
		return;
	ng_packet(c);
	c->last_len = 0;
	c->note[0] = '\0';
}

static void emit(capture *c, unsigned card, uint8_t sub, const uint8_t *data, size_t n, const char *note)
{
	uint8_t g[FRAME_MAX];
	if (n > FRAME_MAX - 16 - 42)
		n = FRAME_MAX - 16 - 42;
	memset(g, 0, 16);
	g[0] = GSMTAP_VERSION;
	g[1] = 4; /* header length in 32-bit words */
	g[2] = GSMTAP_TYPE_SIM;
	g[12] = sub;
	memcpy(g + 16, data, n);
	if (c->sock >= 0)
		sendto(c->sock, g, n + 16, MSG_DONTWAIT, (struct sockaddr *)&c->to, c->to_len);
	uint8_t f[FRAME_MAX];
	size_t len = frame(f, card, g, n + 16);
	struct timeval tv;
	gettimeofday(&tv, NULL);
	pthread_mutex_lock(&c->lock);
	c->count++;
	if (c->dump) {
		struct pcap_pkthdr h = { .ts = tv, .caplen = (bpf_u_int32)len, .len = (bpf_u_int32)len };
		pcap_dump((u_char *)c->dump, &h, f);
		pcap_dump_flush(c->dump);
	} else if (c->ng) {
		flush_last(c);
		memcpy(c->last, f, len);
		c->last_len = len;
		c->last_card = card;
		c->last_tv = tv;
		snprintf(c->note, sizeof(c->note), "%s", note ? note : "");
	}
	pthread_mutex_unlock(&c->lock);
}

static int open_udp(capture *c, const char *udp, char *why, size_t why_len)
{
	char host[256];
	snprintf(host, sizeof(host), "%s", udp);
	char *colon = strrchr(host, ':');
	const char *port = "4729";
	if (colon) {
		*colon = '\0';
		port = colon + 1;
	}
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM }, *ai = NULL;
	int rc = getaddrinfo(host[0] ? host : "127.0.0.1", port, &hints, &ai);
	if (rc || !ai) {
		snprintf(why, why_len, "--gsmtap %s: %s", udp, gai_strerror(rc));
		return -1;
	}
	memcpy(&c->to, ai->ai_addr, ai->ai_addrlen);
	c->to_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	c->sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c->sock < 0) {
		snprintf(why, why_len, "--gsmtap %s: %s", udp, strerror(errno));
		return -1;
	}
	return 0;
}

static int open_ng(capture *c, const char *file, char *why, size_t why_len)
{
	c->ng = fopen(file, "wb");
	if (!c->ng) {
		snprintf(why, why_len, "%s: %s", file, strerror(errno));
		return -1;
	}
	/* section header: byte-order magic, version 1.0, section length unknown */
	uint8_t shb[16];
	uint32_t magic = 0x1A2B3C4D;
	uint16_t major = 1, minor = 0;
	int64_t len = -1;
	memcpy(shb, &magic, 4);
	memcpy(shb + 4, &major, 2);
	memcpy(shb + 6, &minor, 2);
	memcpy(shb + 8, &len, 8);
	/* one interface: Ethernet, snap length 65535 */
	uint8_t idb[8] = { 1, 0, 0, 0, 0xff, 0xff, 0, 0 };
	if (ng_block(c->ng, 0x0A0D0D0A, shb, 16) || ng_block(c->ng, 1, idb, 8) || fflush(c->ng)) {
		snprintf(why, why_len, "%s: cannot write", file);
		return -1;
	}
	return 0;
}

int capture_open(const char *file, const char *udp, bool notes, capture **out, char *why, size_t why_len)
{
	capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	c->sock = -1;
	c->notes = notes && file;
	pthread_mutex_init(&c->lock, NULL);
	int rc = 0;
	if (file && c->notes) {
		rc = open_ng(c, file, why, why_len);
	} else if (file) {
		c->dead = pcap_open_dead(DLT_EN10MB, 65535);
		c->dump = c->dead ? pcap_dump_open(c->dead, file) : NULL;
		if (!c->dump) {
			snprintf(why, why_len, "%s: %s", file, c->dead ? pcap_geterr(c->dead) : "libpcap failed");
			rc = -1;
		}
	}
	if (!rc && udp)
		rc = open_udp(c, udp, why, why_len);
	if (rc) {
		capture_close(c);
		return -1;
	}
	*out = c;
	return 0;
}

void capture_close(capture *c)
{
	if (!c)
		return;
	if (c->ng) {
		flush_last(c);
		fclose(c->ng);
	}
	if (c->dump)
		pcap_dump_close(c->dump);
	if (c->dead)
		pcap_close(c->dead);
	if (c->sock >= 0)
		close(c->sock);
	pthread_mutex_destroy(&c->lock);
	free(c->names);
	free(c);
}

static size_t name_slot(const capture *c, const char *name)
{
	size_t h = 5381;
	for (const char *p = name; *p; p++)
		h = h * 33 + (unsigned char)*p;
	size_t i = h & (c->names_cap - 1);
	while (c->names[i].name[0] && strcmp(c->names[i].name, name))
		i = (i + 1) & (c->names_cap - 1);
	return i;
}

unsigned capture_card(capture *c, const char *name)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (c->names_n * 2 >= c->names_cap) {
		size_t cap = c->names_cap ? c->names_cap * 2 : 64;
		card_name *old = c->names;
		size_t old_cap = c->names_cap;
		c->names = calloc(cap, sizeof(*c->names));
		c->names_cap = cap;
		for (size_t i = 0; c->names && i < old_cap; i++)
			if (old[i].name[0])
				c->names[name_slot(c, old[i].name)] = old[i];
		free(old);
	}
	unsigned id = 0;
	if (c->names) {
		size_t i = name_slot(c, name);
		if (!c->names[i].name[0]) {
			snprintf(c->names[i].name, sizeof(c->names[i].name), "%s", name);
			c->names[i].id = (unsigned)c->names_n++;
		}
		id = c->names[i].id;
	}
	pthread_mutex_unlock(&c->lock);
	return id;
}

void capture_atr(capture *c, unsigned card, const uint8_t *atr, size_t len)
{
	if (c)
		emit(c, card, GSMTAP_SIM_ATR, atr, len, NULL);
}

void capture_apdu_noted(capture *c, unsigned card, const uint8_t *capdu, size_t clen, const uint8_t *rapdu, size_t rlen,
			const char *note)
{
	if (!c)
		return;
	uint8_t b[2 * 65546];
	if (clen > 65546)
		clen = 65546;
	if (rlen > 65546)
		rlen = 65546;
	memcpy(b, capdu, clen);
	memcpy(b + clen, rapdu, rlen);
	emit(c, card, GSMTAP_SIM_APDU, b, clen + rlen, note);
}

void capture_apdu(capture *c, unsigned card, const uint8_t *capdu, size_t clen, const uint8_t *rapdu, size_t rlen)
{
	capture_apdu_noted(c, card, capdu, clen, rapdu, rlen, NULL);
}

void capture_note(capture *c, unsigned card, const char *text)
{
	if (!c || !c->notes)
		return;
	pthread_mutex_lock(&c->lock);
	if (c->last_len && c->last_card == card) {
		size_t have = strlen(c->note);
		snprintf(c->note + have, sizeof(c->note) - have, "%s%s", have ? "; " : "", text);
	}
	pthread_mutex_unlock(&c->lock);
}

bool capture_notes(const capture *c)
{
	return c && c->notes;
}

unsigned long capture_count(const capture *c)
{
	return c ? c->count : 0;
}

static size_t tap_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap)
{
	capture_tap *t = ctx;
	size_t n = t->inner.transmit(t->inner.ctx, capdu, len, rapdu, cap);
	if (n >= 2)
		capture_apdu_noted(t->c, t->card, capdu, len, rapdu, n, t->pending[0] ? t->pending : NULL);
	t->pending[0] = '\0';
	return n;
}

void capture_tap_note(capture_tap *t, const char *line, bool answered)
{
	if (!t->c || !t->c->notes)
		return;
	while (*line == ' ')
		line++;
	if (answered) {
		capture_note(t->c, t->card, line);
		return;
	}
	size_t have = strlen(t->pending);
	snprintf(t->pending + have, sizeof(t->pending) - have, "%s%s", have ? "; " : "", line);
}

static void tap_atr(capture_tap *t)
{
	uint8_t atr[64];
	size_t n = t->atr ? t->atr(t->atr_ctx, atr, sizeof(atr)) : 0;
	if (n)
		capture_atr(t->c, t->card, atr, n);
}

static void tap_reset(void *ctx)
{
	capture_tap *t = ctx;
	if (t->inner.reset)
		t->inner.reset(t->inner.ctx);
	tap_atr(t);
}

dev_transport capture_transport(capture_tap *tap)
{
	if (!tap->c)
		return tap->inner;
	dev_transport t = tap->inner;
	t.transmit = tap_transmit;
	t.reset = tap->inner.reset ? tap_reset : NULL;
	t.ctx = tap;
	tap_atr(tap);
	return t;
}
