/* SPDX-License-Identifier: GPL-2.0-or-later */
/* In-process card fixtures for the card tests: a PKI in a temp dir, a card, a transport for testhost. */
#ifndef CARDUTIL_H
#define CARDUTIL_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apdu/hex.h"
#include "apdu/ids.h"
#include "host/pki.h"
#include "host/smdp.h"
#include "apdu/gpcert.h"
#include "apdu/tlv.h"
#include "euicc/euicc.h"
#include "host/adapter.h"

typedef struct {
	char dir[256];
	bench_pki pki;
	euicc_card *card;
	json_t *eis;
	dev_host host;
} cu_fixture;

static size_t cu_transmit(void *ctx, const uint8_t *capdu, size_t len, uint8_t *r, size_t cap)
{
	(void)cap;
	return euicc_transmit(((cu_fixture *)ctx)->card, capdu, len, r);
}

static void cu_reset(void *ctx)
{
	uint8_t atr[EUICC_ATR_MAX];
	euicc_reset(((cu_fixture *)ctx)->card, atr);
}

static void cu_trace(void *ctx, const char *line)
{
	(void)ctx;
	fprintf(stderr, "  card: %s\n", line);
}

static inline int cu_setup(cu_fixture *f, uint64_t seed)
{
	char why[512];
	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/euicc-test-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	char pkidir[300];
	snprintf(pkidir, sizeof(pkidir), "%s/pki", f->dir);
	if (pki_load_or_create(pkidir, &f->pki, why, sizeof(why)))
		return -1;
	euicc_new_opts o;
	memset(&o, 0, sizeof(o));
	o.has_seed = seed != 0;
	o.seed = seed;
	o.issuer = pki_issuer(&f->pki);
	f->card = euicc_create(&o, why, sizeof(why));
	if (!f->card)
		return -1;
	char path[300];
	snprintf(path, sizeof(path), "%s/card.json", f->dir);
	if (euicc_save(f->card, path, why, sizeof(why)))
		return -1;
	f->eis = euicc_eis(f->card);
	if (getenv("EUICC_TRACE"))
		euicc_set_trace(f->card, cu_trace, NULL);
	dev_transport t = { cu_transmit, cu_reset, f };
	if (dev_init(&f->host, &t, f->eis))
		return -1;
	uint8_t atr[EUICC_ATR_MAX];
	euicc_power_on(f->card, atr);
	return 0;
}

static inline void cu_teardown(cu_fixture *f)
{
	dev_free(&f->host);
	json_decref(f->eis);
	euicc_free(f->card);
	pki_free(&f->pki);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd)) {
	}
}

static inline void cu_isdp_aid(uint8_t aid[16], int n)
{
	static const uint8_t base[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
					  0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00 };
	memcpy(aid, base, 16);
	aid[13] = (uint8_t)((0x10 + n) >> 8);
	aid[14] = (uint8_t)(0x10 + n);
}

/* CreateISDP for ISD-P number n: INSTALL [for install and make selectable] */
static inline uint16_t cu_create(cu_fixture *f, int n)
{
	uint8_t aid[16];
	char hex[300], ah[33];
	cu_isdp_aid(aid, n);
	hex_encode(aid, 16, ah);
	snprintf(hex, sizeof(hex),
		 "80E60C00 3F 10a0000005591010ffffffff8900000d00 10a0000005591010ffffffff8900000e00 10%s 0380C000 "
		 "06C90481020370 00",
		 ah);
	return dev_isdr(&f->host, hex, NULL);
}

static inline uint16_t cu_store(cu_fixture *f, uint16_t tag, int n)
{
	uint8_t aid[16];
	char hex[200], ah[33];
	cu_isdp_aid(aid, n);
	hex_encode(aid, 16, ah);
	snprintf(hex, sizeof(hex), "80E28800 15 %04x 12 4F10%s", tag, ah);
	return dev_isdr(&f->host, hex, NULL);
}

static inline uint16_t cu_delete(cu_fixture *f, int n)
{
	uint8_t aid[16];
	char hex[200], ah[33];
	cu_isdp_aid(aid, n);
	hex_encode(aid, 16, ah);
	snprintf(hex, sizeof(hex), "80E40000 12 4F10%s", ah);
	return dev_isdr(&f->host, hex, NULL);
}

/* a minimal SAIP package: header (version 2.3, ICCID) and end */
static inline void cu_package(abuf *out, const char *iccid)
{
	uint8_t bcd[10];
	size_t n = strlen(iccid), m;
	for (size_t i = 0; i < 10; i++) {
		uint8_t hi = 2 * i < n ? (uint8_t)(iccid[2 * i] - '0') : 0x0f;
		uint8_t lo = 2 * i + 1 < n ? (uint8_t)(iccid[2 * i + 1] - '0') : 0x0f;
		bcd[i] = (uint8_t)((hi << 4) | lo);
	}
	tlv_begin(out, 0xA0, &m);
	tlv_put_u8(out, 0x80, 2);
	tlv_put_u8(out, 0x81, 3);
	tlv_put(out, 0x82, "bench test", 10);
	tlv_put(out, 0x83, bcd, 10);
	tlv_end(out, m);
	tlv_begin(out, 0xAA, &m);
	tlv_put(out, 0xA0, "\x80\x00", 2);
	tlv_end(out, m);
}

/* create + download (ISD-P ends DISABLED) */
static inline int cu_install(cu_fixture *f, int n, const char *iccid)
{
	if (cu_create(f, n) != 0x9000)
		return -1;
	uint8_t aid[16];
	cu_isdp_aid(aid, n);
	abuf pkg = ABUF_INIT;
	cu_package(&pkg, iccid);
	int rc = smdp_download(&f->host, &f->pki, f->eis, aid, pkg.p, pkg.len, 512);
	abuf_free(&pkg);
	return rc;
}

#endif
