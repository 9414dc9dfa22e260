/* A test host built from apdu/ that drives a card exactly as an SM-SR and a modem would: SCP80 packets
 * with the card's real keys in SMS-PP ENVELOPEs, FETCH / TERMINAL RESPONSE, REFRESH handled by a reset,
 * PoRs and MO notifications unwrapped. The transport is a function table (in-process or PC/SC). */
#ifndef TESTHOST_H
#define TESTHOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "apdu/scp80.h"

typedef struct {
	/* one exchange: fills rapdu (data ‖ SW), returns its length or 0 on transport failure */
	size_t (*transmit)(void *ctx, const uint8_t *capdu, size_t len, uint8_t *rapdu, size_t cap);
	/* power cycle / reset (after REFRESH) */
	void (*reset)(void *ctx);
	void *ctx;
} th_transport;

typedef struct {
	uint16_t seq;
	uint8_t type;
	uint8_t aid[16];
} th_notif;

typedef struct {
	th_transport t;
	scp80_keyset ks;            /* ISD-R keyset 1 from the EIS */
	uint64_t cntr;              /* next counter to send */
	uint16_t spi;               /* default 0x1639 (SGP.02) */
	uint8_t smsc_ref;
	/* results of the last exchange */
	bool have_por;
	scp80_por_hdr por;
	abuf por_data;              /* response data of the PoR */
	th_notif notifs[16];
	size_t n_notifs;
	unsigned refreshes;
	bool fail_refresh;          /* answer REFRESH with 'command beyond terminal's capabilities' */
	abuf log;                   /* last error text */
} th_host;

int th_init(th_host *h, const th_transport *t, json_t *eis);
void th_free(th_host *h);
/* TERMINAL PROFILE, then the proactive loop */
int th_attach(th_host *h);
/* Sends one script (C-APDUs, or raw TLVs when raw is set) to `tar`; runs the proactive loop; the PoR ends
 * up in h->por / h->por_data. Returns 0 when a PoR came back. */
int th_send(th_host *h, const uint8_t tar[3], bool expanded, const uint8_t *const *items, const size_t *lens,
	    size_t n, bool raw_tlv);
/* Convenience: one C-APDU (hex) to the ISD-R, expanded format; returns the SW of the command (0 on failure)
 * and its response data in out (may be NULL). */
uint16_t th_isdr(th_host *h, const char *apdu_hex, abuf *out);
/* Sends a raw envelope (already built packet) and runs the proactive loop. */
int th_send_packet(th_host *h, const uint8_t *pkt, size_t len);
/* Exchanges one plain APDU (hex); returns SW, data appended to out when given (GET RESPONSE handled). */
uint16_t th_apdu(th_host *h, const char *hex, abuf *out);
uint16_t th_apdu_bin(th_host *h, const uint8_t *a, size_t len, abuf *out);
/* Runs FETCH/TERMINAL RESPONSE while the card has proactive commands. */
int th_proactive_loop(th_host *h, uint16_t sw);
/* Confirms every received notification with STORE DATA 3A08. */
int th_confirm_notifications(th_host *h);
/* EVENT DOWNLOAD location status */
uint16_t th_location(th_host *h, uint8_t status);


/* SM-DP role for tests: key establishment scenario #3 with ISD-P `aid` and SCP03t download of `pkg`.
 * Returns 0 on success; on failure a message in h->log. */
#include "apdu/pki.h"
int th_download(th_host *h, const bench_pki *pki, json_t *eis, const uint8_t aid[16], const uint8_t *pkg,
		size_t pkg_len, size_t segment);
#endif
