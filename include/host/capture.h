/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Captures for Wireshark (docs/capture.md): every APDU a card exchanges as a GSMTAP v2 packet of type
 * SIM, sub-type APDU (the command, then the response and its SW, in one packet, as SIMtrace sends it),
 * and the ATR at each power-on, in IPv4/UDP to port 4729: written to a pcap file (libpcap; Ethernet
 * framing, so `tshark -r` decodes it with no option) and/or sent live over UDP. Each card is its own
 * stream: source address 10.N.N.N and port 40000 + N % 20000 for card N. Optional annotations
 * (`capture_note`: what a secured packet carried in clear) make the file pcapng, each one a comment on
 * the packet it explains; a note is text the caller chose, never a key. */
#ifndef HOST_CAPTURE_H
#define HOST_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/adapter.h"

typedef struct capture capture;

/* file: a pcap file to write (NULL: none); udp: HOST:PORT to send to (NULL: none; PORT defaults to
 * 4729 when only HOST is given); notes: keep annotations (the file is then pcapng). -1 with why. */
int capture_open(const char *file, const char *udp, bool notes, capture **out, char *why, size_t why_len);
/* flushes and closes (NULL: nothing); the file is whole after every packet anyway */
void capture_close(capture *c);
void capture_atr(capture *c, unsigned card, const uint8_t *atr, size_t len);
void capture_apdu(capture *c, unsigned card, const uint8_t *capdu, size_t clen, const uint8_t *rapdu, size_t rlen);
void capture_apdu_noted(capture *c, unsigned card, const uint8_t *capdu, size_t clen, const uint8_t *rapdu, size_t rlen,
			const char *note);
/* an annotation for the last packet, when it is card's (only with notes) */
void capture_note(capture *c, unsigned card, const char *text);
bool capture_notes(const capture *c); /* annotations are kept */
/* the card number of name (an EID): 0, 1, ... in order of first use */
unsigned capture_card(capture *c, const char *name);
/* packets so far (APDUs and ATRs) */
unsigned long capture_count(const capture *c);

/* a transport that records every exchange of inner as card's, and the card's ATR now (its power-on)
 * and after every reset when atr is given (c NULL: inner itself) */
typedef struct {
	capture *c;
	unsigned card;
	dev_transport inner;
	size_t (*atr)(void *ctx, uint8_t *out, size_t cap); /* the card's ATR, its length (NULL: none) */
	void *atr_ctx;
	char pending[1024]; /* notes for the next exchange */
} capture_tap;
dev_transport capture_transport(capture_tap *tap);
/* an annotation from the side that holds the keys: what the next exchange sends (answered false: an
 * SCP80 packet's header, the C-APDU inside), or what the exchange just made brought (true: a PoR) */
void capture_tap_note(capture_tap *t, const char *line, bool answered);

/* the GSMTAP values (PROTOCOL.md §10: libosmocore gsmtap.h, Wireshark packet-gsmtap.h) */
#define GSMTAP_VERSION	2
#define GSMTAP_UDP_PORT 4729
#define GSMTAP_TYPE_SIM 4
#define GSMTAP_SIM_APDU 0
#define GSMTAP_SIM_ATR	1

#endif
