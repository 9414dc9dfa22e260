/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <PCSC/winscard.h>

#include "euicc/euicc.h"
#include "host/farm.h"
#include "host/link.h"

#define LINK_BUSY_TRIES 20 /* 2 s */

struct smsr_link {
	bool inproc;
	euicc_card *card;
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	DWORD proto;
	char name[256];
	char state[1024];
	bool keep_journal; /* a farm card: its journal stays at close (the next session reads it) */
};

static size_t pcsc_transmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	smsr_link *l = ctx;
	DWORD rl = (DWORD)cap;
	LONG rv = SCardTransmit(l->h, l->proto == SCARD_PROTOCOL_T1 ? SCARD_PCI_T1 : SCARD_PCI_T0, a, (DWORD)len, NULL,
				r, &rl);
	return rv == SCARD_S_SUCCESS ? rl : 0;
}

static void pcsc_reset(void *ctx)
{
	smsr_link *l = ctx;
	SCardReconnect(l->h, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, SCARD_RESET_CARD, &l->proto);
}

static size_t inproc_transmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	smsr_link *l = ctx;
	(void)cap;
	return euicc_transmit(l->card, a, len, r);
}

static void inproc_reset(void *ctx)
{
	smsr_link *l = ctx;
	uint8_t atr[EUICC_ATR_MAX];
	euicc_reset(l->card, atr);
}

int link_open_pcsc(const char *reader, smsr_link **out, char *why, size_t why_len)
{
	smsr_link *l = calloc(1, sizeof(*l));
	char readers[16384], *found = NULL;
	DWORD len = sizeof(readers);
	LONG rv;
	if (!l)
		return -1;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &l->ctx);
	if (rv != SCARD_S_SUCCESS) {
		snprintf(why, why_len, "no PC/SC service (is pcscd running?): %s", pcsc_stringify_error(rv));
		free(l);
		return -1;
	}
	rv = SCardListReaders(l->ctx, NULL, readers, &len);
	if (rv != SCARD_S_SUCCESS) {
		snprintf(why, why_len, "no reader: %s", pcsc_stringify_error(rv));
		goto fail;
	}
	char *end;
	long idx = strtol(reader, &end, 10);
	bool by_index = *reader && !*end;
	long i = 0;
	for (char *r = readers; *r; r += strlen(r) + 1, i++)
		if (by_index ? i == idx : strstr(r, reader) != NULL) {
			found = r;
			break;
		}
	if (!found) {
		snprintf(why, why_len, "--reader %s: no such reader (readers: ", reader);
		for (char *r = readers; *r; r += strlen(r) + 1) {
			size_t n = strlen(why);
			snprintf(why + n, why_len - n, "%s\"%s\"", r == readers ? "" : ", ", r);
		}
		size_t n = strlen(why);
		snprintf(why + n, why_len - n, ")");
		goto fail;
	}
	/* one session at a time per card: an exclusive connection for the whole session, so that two
	 * programs never interleave their APDUs (an OTA exchange is many APDUs; ISD-P AIDs are picked from
	 * what the card has). A card in use is retried for a short while, then reported busy. */
	for (int tries = 0;; tries++) {
		rv = SCardConnect(l->ctx, found, SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1, &l->h,
				  &l->proto);
		if (rv != SCARD_E_SHARING_VIOLATION || tries >= LINK_BUSY_TRIES)
			break;
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	if (rv == SCARD_E_SHARING_VIOLATION) {
		snprintf(why, why_len,
			 "reader \"%s\" is busy: another program has the card (an smsr or apdu session); try again "
			 "when it is done",
			 found);
		goto fail;
	}
	if (rv != SCARD_S_SUCCESS) {
		snprintf(why, why_len, "reader \"%s\": %s", found, pcsc_stringify_error(rv));
		goto fail;
	}
	snprintf(l->name, sizeof(l->name), "PC/SC \"%.240s\"", found);
	*out = l;
	return 0;
fail:
	SCardReleaseContext(l->ctx);
	free(l);
	return -1;
}

int link_open_inproc(const char *state, smsr_link **out, char *why, size_t why_len)
{
	smsr_link *l = calloc(1, sizeof(*l));
	if (!l)
		return -1;
	l->inproc = true;
	/* locked, then read (euicc_load): never a stale copy of a card another process is changing */
	l->card = euicc_load(state, why, why_len);
	if (!l->card) {
		free(l);
		return -1;
	}
	uint8_t atr[EUICC_ATR_MAX];
	euicc_power_on(l->card, atr);
	snprintf(l->state, sizeof(l->state), "%s", state);
	snprintf(l->name, sizeof(l->name), "in-process card %.230s", state);
	*out = l;
	return 0;
}

static int open_farm(const char *rest, smsr_link **out, char *why, size_t why_len)
{
	char dir[4096], path[4200];
	unsigned index;
	farm_info f;
	if (farm_parse_endpoint(rest, dir, sizeof(dir), &index, why, why_len) || farm_open(dir, &f, why, why_len))
		return -1;
	if (farm_card_path(&f, index, path, sizeof(path))) {
		snprintf(why, why_len, "farm %s has %u cards: no card %u", dir, f.count, index);
		return -1;
	}
	if (link_open_inproc(path, out, why, why_len))
		return -1;
	euicc_set_journal_size((*out)->card, FARM_JOURNAL_BYTES);
	(*out)->keep_journal = true;
	snprintf((*out)->name, sizeof((*out)->name), "farm card %u of %.200s", index, f.dir);
	return 0;
}

int link_open_uri(const char *uri, smsr_link **out, char *why, size_t why_len)
{
	if (!strncmp(uri, "pcsc:", 5) && uri[5])
		return link_open_pcsc(uri + 5, out, why, why_len);
	if (!strncmp(uri, "inproc:", 7) && uri[7])
		return link_open_inproc(uri + 7, out, why, why_len);
	if (!strncmp(uri, "farm:", 5))
		return open_farm(uri + 5, out, why, why_len);
	snprintf(why, why_len, "endpoint '%s': expected pcsc:READER, inproc:STATE_FILE or farm:DIR#INDEX", uri);
	return -1;
}

int link_check_uri(const char *uri, char *why, size_t why_len)
{
	char dir[4096];
	unsigned i;
	if ((!strncmp(uri, "pcsc:", 5) && uri[5]) || (!strncmp(uri, "inproc:", 7) && uri[7]))
		return 0;
	if (!strncmp(uri, "farm:", 5))
		return farm_parse_endpoint(uri + 5, dir, sizeof(dir), &i, why, why_len);
	snprintf(why, why_len, "endpoint '%s': expected pcsc:READER, inproc:STATE_FILE or farm:DIR#INDEX", uri);
	return -1;
}

dev_transport link_transport(smsr_link *l)
{
	dev_transport t;
	t.ctx = l;
	t.transmit = l->inproc ? inproc_transmit : pcsc_transmit;
	t.reset = l->inproc ? inproc_reset : pcsc_reset;
	return t;
}

const char *link_name(const smsr_link *l)
{
	return l->name;
}

int link_protocol(const smsr_link *l)
{
	if (l->inproc)
		return -1;
	return l->proto == SCARD_PROTOCOL_T0 ? 0 : 1;
}

size_t link_atr(smsr_link *l, uint8_t *out, size_t cap)
{
	if (l->inproc) {
		uint8_t atr[EUICC_ATR_MAX];
		size_t n = euicc_atr(l->card, atr);
		if (n > cap)
			return 0;
		memcpy(out, atr, n);
		return n;
	}
	char name[256];
	DWORD nl = sizeof(name), state, proto, al = (DWORD)cap;
	if (SCardStatus(l->h, name, &nl, &state, &proto, out, &al) != SCARD_S_SUCCESS)
		return 0;
	return al;
}

static size_t link_atr_of(void *ctx, uint8_t *out, size_t cap)
{
	return link_atr(ctx, out, cap);
}

dev_transport link_captured(smsr_link *l, capture *c, unsigned card, capture_tap *tap)
{
	*tap = (capture_tap){ .c = c, .card = card, .inner = link_transport(l), .atr = link_atr_of, .atr_ctx = l };
	return capture_transport(tap);
}

void link_close(smsr_link *l)
{
	if (!l)
		return;
	if (l->inproc) {
		char why[512];
		/* a session that changed nothing leaves the file as it was */
		if (!l->keep_journal && euicc_unsaved(l->card) && euicc_save(l->card, l->state, why, sizeof(why)))
			fprintf(stderr, "smsr: the in-process card could not be saved: %s\n", why);
		euicc_free(l->card);
	} else {
		SCardDisconnect(l->h, SCARD_LEAVE_CARD);
		SCardReleaseContext(l->ctx);
	}
	free(l);
}
