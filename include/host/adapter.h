/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR's device adapter, built from apdu/ only: it plays the modem (TERMINAL PROFILE, SMS-PP
 * ENVELOPEs, FETCH / TERMINAL RESPONSE, REFRESH handled by a reset, MO SMS delivered) and the SM-SR's
 * SCP80 end (packets with the eUICC's keys, PoRs and notifications unwrapped), plus the SM-DP role
 * (key establishment scenario #3, SCP03t download). The transport is a function table (PC/SC, in-process).
 * The card tests use it as their test host. */
#ifndef SMSR_ADAPTER_H
#define SMSR_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "apdu/scp80.h"
#include "apdu/sms.h"

typedef struct {
	/* one exchange: fills rapdu (data ‖ SW), returns its length or 0 on transport failure */
	size_t (*transmit)(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap);
	/* power cycle / reset (after REFRESH) */
	void (*reset)(void *ctx);
	void *ctx;
} dev_transport;

typedef struct {
	uint16_t seq;
	uint8_t type;
	uint8_t aid[16];
} dev_notif;

typedef void (*dev_trace_fn)(void *ctx, const char *line);

typedef struct {
	dev_transport t;
	scp80_keyset ks; /* ISD-R keyset 1 from the EIS */
	uint64_t cntr;	 /* next counter to send */
	uint16_t spi;	 /* default 0x1639 (SGP.02) */
	uint8_t smsc_ref;
	/* results of the last exchange */
	bool have_por;
	scp80_por_hdr por;
	abuf por_data; /* response data of the PoR */
	dev_notif notifs[16];
	size_t n_notifs;
	unsigned refreshes;
	bool refresh_unsupported; /* a modem without REFRESH: answers 'command beyond terminal's capabilities' */
	abuf log;		  /* last error text */
	/* optional hooks */
	/* the SCP80 counter to use, committed by the store first; non-zero: it could not be committed and
	 * the packet is not sent (dev_send fails with the reason in log) */
	int (*next_counter)(void *ctx, uint64_t *counter);
	void *counter_ctx;
	dev_trace_fn trace; /* each step decoded, for the shell's `trace on` */
	void *trace_ctx;
	void (*progress)(void *ctx, size_t done, size_t total); /* download progress */
	void *progress_ctx;
	/* results of the last key establishment */
	uint8_t scp03_key[16];
	uint8_t scp03_kvn;
	bool have_scp03_key;
	unsigned apdus;		 /* APDUs exchanged so far */
	bool auto_resync;	 /* on PoR 'counter low' without a store: jump 256 ahead, resend once */
	sms_reassembly mo_reasm; /* the card's concatenated MO SMS being put together */
	bool mo_first_rsp;	 /* its first part was a response packet (a PoR) */
} dev_host;

/* With keys given directly (the SM-SR's store) instead of an EIS. */
void dev_init_keys(dev_host *h, const dev_transport *t, const scp80_keyset *ks);

int dev_init(dev_host *h, const dev_transport *t, json_t *eis);
void dev_free(dev_host *h);
/* TERMINAL PROFILE, then the proactive loop */
int dev_attach(dev_host *h);
/* Sends one script (C-APDUs, or raw TLVs when raw is set) to `tar`; runs the proactive loop; the PoR ends
 * up in h->por / h->por_data. Returns 0 when a PoR came back. */
int dev_send(dev_host *h, const uint8_t tar[3], bool expanded, const uint8_t *const *items, const size_t *lens,
	     size_t n, bool raw_tlv);
/* Faults a conformance script asks the host to put into one packet (dev_send_faults). */
typedef enum {
	DEV_FAULT_NONE = 0,
	DEV_FAULT_FLIP_LAST, /* flip a bit of the last (secured) byte */
	DEV_FAULT_SHORTEN, /* also drop that byte, the command packet length to match: ciphered data not whole blocks */
} dev_fault;
/* dev_send with one deliberate fault in the packet */
int dev_send_faults(dev_host *h, const uint8_t tar[3], bool expanded, const uint8_t *const *items, const size_t *lens,
		    size_t n, bool raw_tlv, dev_fault fault);
/* Convenience: one C-APDU (hex) to the ISD-R, expanded format; returns the SW of the command (0 on failure)
 * and its response data in out (may be NULL). */
uint16_t dev_isdr(dev_host *h, const char *apdu_hex, abuf *out);
/* Sends a raw envelope (already built packet) and runs the proactive loop. */
int dev_send_packet(dev_host *h, const uint8_t *pkt, size_t len);
/* Exchanges one plain APDU (hex); returns SW, data appended to out when given (GET RESPONSE handled). */
uint16_t dev_apdu(dev_host *h, const char *hex, abuf *out);
uint16_t dev_apdu_bin(dev_host *h, const uint8_t *a, size_t len, abuf *out);
/* One plain exchange as a T=0 host completes it: 6Cxx resends a case-2 command with that Le, 61xx (9Fxx
 * in the GSM class) is followed by GET RESPONSE; response data appended to out (may be NULL). Returns
 * the last SW, 0 when the transport failed; *count (may be NULL) grows by the APDUs sent. */
uint16_t dev_exchange(const dev_transport *t, const uint8_t *a, size_t len, abuf *out, unsigned *count);
/* Runs FETCH/TERMINAL RESPONSE while the card has proactive commands. */
int dev_proactive_loop(dev_host *h, uint16_t sw);
/* Confirms every received notification with STORE DATA 3A08. */
int dev_confirm_notifications(dev_host *h);
/* EVENT DOWNLOAD location status */
uint16_t dev_location(dev_host *h, uint8_t status);
/* the same with the location information (TS 102 223 8.19: MCC and MNC in BCD as TS 24.008 10.5.1.3,
 * LAC, cell identity), as a modem sends it when it registers */
uint16_t dev_location_info(dev_host *h, uint8_t status, const uint8_t info[7]);

/* A step of the host, decoded, to h->trace (when set) */
void dev_tracef(dev_host *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Says what failed in h->log; returns -1 */
int dev_fail(dev_host *h, const char *m);

#endif
