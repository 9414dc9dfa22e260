/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "euicc/vpcd.h"

int vpcd_connect(const char *host, int port)
{
	struct addrinfo hints, *res = NULL;
	char ps[16];
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(ps, sizeof(ps), "%d", port);
	if (getaddrinfo(host, ps, &hints, &res) != 0 || !res) {
		errno = EHOSTUNREACH;
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *a = res; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		int saved = errno;
		close(fd);
		fd = -1;
		errno = saved;
	}
	freeaddrinfo(res);
	if (fd >= 0) {
		int one = 1;
		/* the reader side keeps Nagle on: without these a round trip waits out delayed ACK (§9) */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	return fd;
}

static int read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 && got == 0 ? 0 : -1;
		got += (size_t)r;
		/* ACK at once after every read: the reader writes the length and the APDU separately with
		 * Nagle on, so a delayed ACK of the first part holds the second back for 40 ms (§9) */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	}
	return 1;
}

long vpcd_read_frame(int fd, uint8_t *buf, size_t cap)
{
	uint8_t hdr[2];
	int r = read_full(fd, hdr, 2);
	if (r <= 0)
		return r;
	size_t len = ((size_t)hdr[0] << 8) | hdr[1];
	if (len > cap)
		return -1;
	if (len && read_full(fd, buf, len) <= 0)
		return -1;
	return (long)len;
}

void vpcd_framer_init(vpcd_framer *f, size_t max)
{
	memset(f, 0, sizeof(*f));
	f->max = max && max < 65535 ? max : 65535;
}

void vpcd_framer_free(vpcd_framer *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

int vpcd_framer_feed(vpcd_framer *f, const uint8_t *in, size_t n, size_t *used)
{
	size_t u = 0;
	if (f->have >= 2 + f->len && f->have >= 2)
		f->have = 0; /* the previous frame was handed out */
	while (f->have < 2 && u < n) {
		f->hdr[f->have++] = in[u++];
		if (f->have == 2) {
			f->len = (size_t)f->hdr[0] << 8 | f->hdr[1];
			if (f->len > f->max) {
				*used = u;
				return -1;
			}
			if (f->len > f->cap) {
				uint8_t *b = realloc(f->buf, f->len);
				if (!b) {
					*used = u;
					return -1;
				}
				f->buf = b;
				f->cap = f->len;
			}
		}
	}
	if (f->have >= 2) {
		size_t want = 2 + f->len - f->have, take = n - u < want ? n - u : want;
		if (take)
			memcpy(f->buf + (f->have - 2), in + u, take);
		f->have += take;
		u += take;
	}
	*used = u;
	return f->have >= 2 && f->have == 2 + f->len ? 1 : 0;
}

int vpcd_read_nb(int fd, vpcd_framer *f)
{
	for (;;) {
		if (f->have >= 2 && f->have == 2 + f->len)
			f->have = 0; /* the previous frame was handed out */
		/* no more than the frame still needs: the next frame stays in the socket */
		size_t want = f->have < 2 ? 2 - f->have : 2 + f->len - f->have;
		uint8_t chunk[4096];
		size_t used;
		if (want == 0)
			return vpcd_framer_feed(f, chunk, 0, &used); /* an empty frame */
		ssize_t r = read(fd, chunk, want < sizeof(chunk) ? want : sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r <= 0)
			return -1;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one)); /* see read_full */
		int st = vpcd_framer_feed(f, chunk, (size_t)r, &used);
		if (st != 0)
			return st;
	}
}

int vpcd_write_frame(int fd, const uint8_t *buf, size_t len)
{
	uint8_t frame[2 + 65538];
	if (len > 65538)
		return -1;
	frame[0] = (uint8_t)(len >> 8);
	frame[1] = (uint8_t)len;
	memcpy(frame + 2, buf, len);
	size_t off = 0;
	while (off < len + 2) {
		ssize_t w = write(fd, frame + off, len + 2 - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			/* a non-blocking socket whose peer reads slowly: wait a while, then give the peer up */
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, 5000) == 1)
				continue;
			return -1;
		}
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 0;
}

int vpcd_parse_addr(const char *s, char *host, size_t host_len, int *port)
{
	const char *colon = strrchr(s, ':');
	const char *ps = colon ? colon + 1 : s;
	char *end;
	long p = strtol(ps, &end, 10);
	if (!*ps || *end || p <= 0 || p > 65535)
		return -1;
	if (colon && colon != s) {
		size_t n = (size_t)(colon - s);
		if (n >= host_len)
			return -1;
		memcpy(host, s, n);
		host[n] = '\0';
	} else {
		snprintf(host, host_len, "127.0.0.1");
	}
	*port = (int)p;
	return 0;
}
