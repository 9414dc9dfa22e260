/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card's parsers from the outside: raw APDU streams, OTA scripts that arrive with valid keys (so the
 * fuzzer reaches INSTALL, STORE DATA and DELETE payloads, the script formats and the SCP03t TLVs), and
 * STORE DATA payloads forwarded to an ISD-P. Every input starts from the same fresh card. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <dirent.h>

#include "apdu/hex.h"
#include "apdu/sms.h"
#include "apdu/scp80.h"
#include "euicc/euicc.h"
#include "host/profile.h"
#include "host/adapter.h"
#include "host/smdp.h"

static char pristine[512], workdir[64];
static scp80_keyset ks;
static uint64_t cntr = 1;

static euicc_card *init_card;
static size_t init_transmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	(void)ctx;
	(void)cap;
	return euicc_transmit(init_card, a, len, r);
}
static void init_reset(void *ctx)
{
	(void)ctx;
	uint8_t atr[EUICC_ATR_MAX];
	euicc_reset(init_card, atr);
}

/* one profile with files, downloaded and enabled the way an SM-SR does it, so that the stream
 * reaches the file system and AUTHENTICATE */
static void install_profile(euicc_card *c, json_t *eis, const bench_pki *pki)
{
	init_card = c;
	uint8_t atr[EUICC_ATR_MAX];
	euicc_power_on(c, atr);
	dev_transport t = { init_transmit, init_reset, NULL };
	dev_host h;
	if (dev_init(&h, &t, eis) || dev_attach(&h))
		abort();
	profile_params pp = { .iccid = "8988211000000467285", .imsi = "001010123456063", .spn = "Fuzz" };
	memset(pp.k, 0x42, 16);
	memset(pp.opc, 0x24, 16);
	abuf pkg = ABUF_INIT;
	char why[200];
	uint8_t aid[16];
	static const char aidh[] = "a0000005591010ffffffff8900001000";
	if (hex_decode_exact(aidh, aid, 16))
		abort(); /* the harness's own fixed input */
	if (profile_build(&pp, &pkg, why, sizeof(why)) ||
	    dev_isdr(&h,
		     "80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0010"
		     "a0000005591010ffffffff89000010000380C00006C9048102037000",
		     NULL) != 0x9000 ||
	    smdp_download(&h, pki, eis, aid, pkg.p, pkg.len, 512) ||
	    dev_isdr(&h, "80E28800153A03124F10a0000005591010ffffffff8900001000", NULL) != 0x9000)
		abort();
	dev_confirm_notifications(&h);
	cntr = h.cntr + 512; /* above the card's counter mark */
	abuf_free(&pkg);
	dev_free(&h);
}

static void init_once(void)
{
	if (pristine[0])
		return;
	char dir[] = "/tmp/euicc-fuzz-XXXXXX", why[512], pkidir[600];
	if (!mkdtemp(dir))
		abort();
	snprintf(workdir, sizeof(workdir), "%s", dir);
	snprintf(pkidir, sizeof(pkidir), "%s/pki", dir);
	bench_pki pki;
	if (pki_load_or_create(pkidir, &pki, why, sizeof(why)))
		abort();
	euicc_new_opts o = { .has_seed = true, .seed = 1, .issuer = pki_issuer(&pki) };
	euicc_card *c = euicc_create(&o, why, sizeof(why));
	snprintf(pristine, sizeof(pristine), "%s/card.json", dir);
	if (!c || euicc_save(c, pristine, why, sizeof(why)))
		abort();
	json_t *eis = euicc_eis(c);
	install_profile(c, eis, &pki);
	if (euicc_save(c, pristine, why, sizeof(why)))
		abort();
	json_t *k = json_array_get(json_object_get(eis, "ota_keysets"), 0);
	ks.kic = ks.kid = 0x12;
	abuf b = ABUF_INIT;
	if (hex_decode(json_string_value(json_object_get(json_object_get(k, "kic"), "key")), &b, NULL))
		abort(); /* the harness's own fixed input */
	memcpy(ks.kic_key, b.p, b.len);
	ks.kic_key_len = b.len;
	abuf_reset(&b);
	if (hex_decode(json_string_value(json_object_get(json_object_get(k, "kid"), "key")), &b, NULL))
		abort(); /* the harness's own fixed input */
	memcpy(ks.kid_key, b.p, b.len);
	ks.kid_key_len = b.len;
	abuf_free(&b);
	json_decref(eis);
	euicc_free(c);
	pki_free(&pki);
}

static void envelope(euicc_card *c, const uint8_t *script, size_t len, const uint8_t tar[3])
{
	uint8_t cn[5];
	for (int i = 0; i < 5; i++)
		cn[i] = (uint8_t)(cntr >> (8 * (4 - i)));
	cntr++;
	abuf pkt = ABUF_INIT;
	abuf parts[SMS_MAX_PARTS];
	for (int i = 0; i < SMS_MAX_PARTS; i++)
		abuf_init(&parts[i]);
	size_t n = 0;
	static uint8_t r[EUICC_RAPDU_MAX];
	if (!scp80_wrap_command(&ks, 0x1621, tar, cn, script, len, &pkt) &&
	    !sms_split_command_packet(pkt.p, pkt.len, 1, parts, &n)) {
		for (size_t i = 0; i < n; i++) {
			sms_deliver d = { .first_octet = 0x44,
					  .oa = { 0x91, "4477" },
					  .pid = 0x7F,
					  .dcs = 0xF6,
					  .ud = parts[i].p,
					  .ud_len = parts[i].len };
			abuf tp = ABUF_INIT, env = ABUF_INIT;
			if (!sms_deliver_build(&d, &tp) && !sms_pp_envelope_build(NULL, 0, tp.p, tp.len, &env))
				euicc_transmit(c, env.p, env.len, r);
			abuf_free(&tp);
			abuf_free(&env);
		}
	}
	for (int i = 0; i < SMS_MAX_PARTS; i++)
		abuf_free(&parts[i]);
	abuf_free(&pkt);
}

/* the folder init_once made, files and all, once the pristine card is in memory: a run leaves nothing */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		char p[700];
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p))
			remove_tree(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size < 1)
		return 0;
	static euicc_card *base;
	if (!base) {
		char why[512];
		base = euicc_load_readonly(pristine, why, sizeof(why));
		if (!base)
			abort();
		remove_tree(workdir);
	}
	/* each input on the same fresh card, as loading the pristine state gives it */
	euicc_card *c = euicc_clone(base);
	if (!c)
		abort();
	uint8_t atr[EUICC_ATR_MAX];
	static uint8_t r[EUICC_RAPDU_MAX];
	euicc_power_on(c, atr);
	const uint8_t isdr[3] = { 0, 0, 1 }, isdp[3] = { 0, 0x10, 0 };
	switch (data[0] % 4) {
	case 0: { /* a stream of APDUs, each prefixed by its length */
		size_t off = 1;
		while (off < size) {
			size_t n = data[off++];
			if (n > size - off)
				n = size - off;
			euicc_transmit(c, data + off, n, r);
			off += n;
		}
		break;
	}
	case 1: /* an OTA script to the ISD-R, secured with the card's keys */
		envelope(c, data + 1, size - 1, isdr);
		break;
	case 2: { /* CreateISDP, then the input as a script to the ISD-P's TAR (SCP03t TLVs) */
		abuf s = ABUF_INIT;
		if (hex_decode(
			    "aa44 2242 80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e00"
			    "10a0000005591010ffffffff89000010000380C00006C9048102037000",
			    &s, NULL))
			abort(); /* the harness's own fixed input */
		envelope(c, s.p, s.len, isdr);
		abuf_free(&s);
		envelope(c, data + 1, size - 1, isdp);
		break;
	}
	case 3: { /* INSTALL [for personalization], then the input as a STORE DATA data field */
		abuf s = ABUF_INIT;
		if (hex_decode(
			    "aa44 2242 80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e00"
			    "10a0000005591010ffffffff89000010000380C00006C9048102037000",
			    &s, NULL))
			abort(); /* the harness's own fixed input */
		envelope(c, s.p, s.len, isdr);
		abuf_reset(&s);
		size_t n = size - 1 > 200 ? 200 : size - 1;
		uint8_t sd[5 + 200] = { 0x80, 0xE2, 0x89, 0x00, (uint8_t)n };
		memcpy(sd + 5, data + 1, n);
		uint8_t inst[27] = { 0x80, 0xE6, 0x20, 0x00, 22,   0x00, 0x00, 0x10, 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10,
				     0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00 };
		const uint8_t *items[2] = { inst, sd };
		size_t lens[2] = { sizeof(inst), 5 + n };
		if (scp80_expanded_script_build(&s, items, lens, 2))
			abort(); /* the harness's own fixed input */
		envelope(c, s.p, s.len, isdr);
		abuf_free(&s);
		break;
	}
	}
	euicc_free(c);
	return 0;
}
