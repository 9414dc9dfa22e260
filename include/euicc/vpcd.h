/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vpcd link (vsmartcard's virtual reader driver, docs/protocol.md §9): the card is the TCP client of the
 * reader; frames are a 2-byte big-endian length and a payload. A 1-byte payload is a control code. */
#ifndef EUICC_VPCD_H
#define EUICC_VPCD_H

#include <stddef.h>
#include <stdint.h>

#define VPCD_CTRL_OFF	  0x00
#define VPCD_CTRL_ON	  0x01
#define VPCD_CTRL_RESET	  0x02
#define VPCD_CTRL_ATR	  0x04
#define VPCD_DEFAULT_PORT 35963

/* Connects with TCP_NODELAY; -1 with errno on failure. */
int vpcd_connect(const char *host, int port);
/* Reads one frame (blocking); returns its length, 0 on orderly close, -1 on error or oversize. */
long vpcd_read_frame(int fd, uint8_t *buf, size_t cap);

/* A frame being assembled from a stream, one per connection, so that a peer that sends half a frame
 * and stalls holds up only its own card. The payload buffer grows to the largest frame seen. */
typedef struct {
	uint8_t hdr[2];
	size_t have; /* bytes of the current frame so far, header included */
	size_t len;  /* payload length, known once have >= 2 */
	uint8_t *buf;
	size_t cap;
	size_t max; /* largest payload accepted (0: 65535) */
} vpcd_framer;

void vpcd_framer_init(vpcd_framer *f, size_t max);
void vpcd_framer_free(vpcd_framer *f);
/* Takes bytes of the stream from in: *used says how many. 1 when a frame is whole (f->buf, f->len; the
 * next call starts the next frame), 0 when more is needed, -1 when the frame is larger than f->max or
 * memory runs out. */
int vpcd_framer_feed(vpcd_framer *f, const uint8_t *in, size_t n, size_t *used);
/* Reads what a non-blocking fd has without waiting: 1 a frame is whole, 0 nothing more yet, -1 the peer
 * closed or broke the framing. */
int vpcd_read_nb(int fd, vpcd_framer *f);
int vpcd_write_frame(int fd, const uint8_t *buf, size_t len);
/* Parses HOST:PORT (or :PORT, or PORT). */
int vpcd_parse_addr(const char *s, char *host, size_t host_len, int *port);

#endif
