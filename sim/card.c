/* The card: creation, power, the APDU dispatcher (channels, SELECT, GET RESPONSE, Le handling) and the
 * one table from internal results to ISO 7816 status words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apdu/gpcert.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/tlv.h"
#include "euicc_int.h"

/* ATR: TS 3B, T0 with 11 historical bytes, TD1 (T=0 offered), TD2 (T=1 offered), "euicc-bench", TCK */
static const uint8_t atr_bytes[] = { 0x3B, 0x8B, 0x80, 0x01, 'e', 'u', 'i', 'c', 'c', '-',
				     'b', 'e', 'n', 'c', 'h', 0x00 };

static const uint8_t aid_isdr[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
				      0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00 };
static const uint8_t aid_ecasd[16] = { 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF,
				       0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x02, 0x00 };

uint16_t euicc_sw_of(eu_status s)
{
	switch (s) {
	case EU_OK: return 0x9000;
	case EU_MORE_DATA: return 0x6100;
	case EU_WRONG_LENGTH: return 0x6700;
	case EU_SECURITY: return 0x6982;
	case EU_CONDITIONS: return 0x6985;
	case EU_POL1: return 0x69E1;
	case EU_WRONG_DATA: return 0x6A80;
	case EU_FUNC_NOT_SUPPORTED: return 0x6A81;
	case EU_FILE_NOT_FOUND: return 0x6A82;
	case EU_NO_MEMORY: return 0x6A84;
	case EU_NOT_ENOUGH_MEMORY_SEC: return 0x6A84;
	case EU_WRONG_P1P2: return 0x6A86;
	case EU_NOT_FOUND: return 0x6A88;
	case EU_MEMORY_FAILURE: return 0x6581;
	case EU_CHANNEL: return 0x6881;
	case EU_INS: return 0x6D00;
	case EU_CLA: return 0x6E00;
	case EU_WRONG_LE: return 0x6C00;
	case EU_TECHNICAL: return 0x6F00;
	case EU_VERIFICATION_FAILED: return 0x6300;
	case EU_TOOLKIT_BUSY: return 0x9300;
	case EU_AUTH_MAC: return 0x9862;
	case EU_WRONG_OFFSET: return 0x6B00;
	case EU_RECORD_NOT_FOUND: return 0x6A83;
	case EU_PIN_WRONG: return 0x63C0;
	case EU_PIN_BLOCKED: return 0x6983;
	case EU_PIN_INVALIDATED: return 0x6984;
	case EU_INCOMPATIBLE_FILE: return 0x6981;
	case EU_NO_EF: return 0x6986;
	case EU_END_OF_FILE: return 0x6282;
	case EU_MORE_BLOCKS: return 0x62F1;
	}
	return 0x6F00;
}

void euicc_tracef(euicc_card *c, const char *fmt, ...)
{
	if (!c->trace)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	c->trace(c->trace_ctx, line);
}

void euicc_trace_hex(euicc_card *c, const char *label, const uint8_t *p, size_t len)
{
	if (!c->trace)
		return;
	size_t show = len > 200 ? 200 : len;
	char *h = hex_encode_alloc(p, show);
	euicc_tracef(c, "%s %s%s", label, h ? h : "", len > show ? "…" : "");
	free(h);
}

void euicc_set_trace(euicc_card *c, euicc_trace_fn fn, void *ctx)
{
	c->trace = fn;
	c->trace_ctx = ctx;
}

const char *euicc_last_error(const euicc_card *c)
{
	return c->last_error[0] ? c->last_error : NULL;
}

bool euicc_unsaved(const euicc_card *c)
{
	if (!c->path)
		return false;
	if (c->jr.seq > 0 || c->lazy_pending)
		return true;
	char *jp = journal_path(c->path);
	bool j = jp && access(jp, F_OK) == 0;
	free(jp);
	return j;
}

const char *euicc_load_note(const euicc_card *c)
{
	return c->load_note[0] ? c->load_note : NULL;
}

int euicc_commit_now(euicc_card *c)
{
	if (!c->path || !c->snapshot_active)
		return 0; /* in memory only, or no state-changing command running */
	char why[256];
	if (nvm_commit(c, c->blob_saved, why, sizeof(why)) != 0) {
		snprintf(c->last_error, sizeof(c->last_error), "%s", why);
		euicc_tracef(c, "NVM save failed: %s", why);
		return -1;
	}
	/* what is on disk now is what the command is measured against (and undone to) */
	nvm_copy_fixed(c->snapshot, &c->nvm);
	return 0;
}

apdu_err euicc_random(euicc_card *c, void *out, size_t len)
{
	/* the generator state lives in NVM so a seeded card stays reproducible across runs */
	drbg d;
	memcpy(d.seed, c->nvm.rng_seed, 32);
	d.counter = c->rng_pos;
	apdu_err e = drbg_bytes(&d, out, len);
	c->rng_pos = d.counter;
	drbg_clear(&d);
	/* the NVM keeps a mark ahead of the position, moved (and saved) 1024 blocks at a time: after a
	 * restart the generator resumes past every block it may have used, without a write per draw */
	if (c->rng_pos > c->nvm.rng_counter)
		c->nvm.rng_counter = c->rng_pos + 1024;
	return e;
}

int euicc_find_profile(const euicc_card *c, const uint8_t *aid, size_t aid_len)
{
	if (aid_len != 16)
		return -1;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		if (c->nvm.profiles[i].used && memcmp(c->nvm.profiles[i].aid, aid, 16) == 0)
			return i;
	return -1;
}

void euicc_blob_touch(euicc_card *c, int i)
{
	nvm_profile *p = &c->nvm.profiles[i];
	if (c->snapshot_active && !c->blob_saved[i]) {
		nvm_profile *s = &c->snapshot->profiles[i];
		memcpy(s->package, p->package, p->package_len);
		memcpy(s->fsdata, p->fsdata, p->fsdata_len);
		c->blob_saved[i] = true;
	}
	p->blob_gen++;
}

void euicc_profile_clear(euicc_card *c, int i)
{
	euicc_blob_touch(c, i);
	nvm_profile *p = &c->nvm.profiles[i];
	uint32_t gen = p->blob_gen;
	crypto_wipe(p, sizeof(*p));
	p->blob_gen = gen;
}

int euicc_enabled_profile(const euicc_card *c)
{
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		if (c->nvm.profiles[i].used && c->nvm.profiles[i].state == PS_ENABLED)
			return i;
	return -1;
}

const char *euicc_eid(const euicc_card *c, char out[33])
{
	return hex_encode(c->nvm.eid, 16, out);
}

void *euicc_big_alloc(size_t n)
{
	/* straight from the kernel: zero pages that take no memory until written. From malloc, a block
	 * this size comes off the heap once glibc has raised its mmap threshold, and calloc then writes
	 * every page: an idle card cost ~300 kB of RSS instead of the pages it uses. */
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void euicc_big_free(void *p, size_t n)
{
	if (p)
		munmap(p, n);
}

euicc_card *euicc_create_empty(void)
{
	euicc_card *c = euicc_big_alloc(sizeof(*c));
	if (!c)
		return NULL;
	c->snapshot = euicc_big_alloc(sizeof(euicc_nvm));
	if (!c->snapshot) {
		euicc_big_free(c, sizeof(*c));
		return NULL;
	}
	journal_init(&c->jr);
	c->lock_fd = -1;
	c->perso_target = -1;
	c->dl_target = -1;
	c->check_blobs = getenv("EUICC_CHECK_BLOBS") != NULL;
	c->switch_from = c->switch_to = -1;
	sms_reassembly_init(&c->sms);
	abuf_init(&c->dl_buf);
	abuf_init(&c->bt_rest);
	abuf_init(&c->bt_set);
	c->bt_set_ef = -1;
	return c;
}

euicc_card *euicc_create(const euicc_new_opts *o, char *why, size_t why_len)
{
	euicc_card *c = euicc_create_empty();
	crypto_eckey *k = NULL;
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	euicc_nvm *n = &c->nvm;
	drbg d;
	if (o->has_seed)
		drbg_init_seed(&d, o->seed);
	else if (drbg_init_random(&d)) {
		snprintf(why, why_len, "no random numbers from the OS");
		goto fail;
	}
	memcpy(n->rng_seed, d.seed, 32);
	n->rng_counter = 0;
	c->rng_pos = 0;

	char eid[33];
	if (o->eid) {
		apdu_err e = eid_check(o->eid);
		if (e) {
			snprintf(why, why_len, "--eid %s: %s", o->eid,
				 e == APDU_E_CHECK_DIGIT ? "wrong check digits" : "expected 32 decimal digits");
			goto fail;
		}
		snprintf(eid, sizeof(eid), "%s", o->eid);
	} else {
		uint8_t r[20];
		char body[31] = "8904903200";
		euicc_random(c, r, sizeof(r));
		for (int i = 0; i < 20; i++)
			body[10 + i] = (char)('0' + r[i] % 10);
		body[30] = '\0';
		eid_complete(body, eid);
	}
	eid_to_bytes(eid, n->eid);

	/* ECASD key pair from the card's generator; the certificate from the test EUM */
	n->curve = CRYPTO_CURVE_P256;
	drbg kd;
	memcpy(kd.seed, n->rng_seed, 32);
	kd.counter = c->rng_pos;
	apdu_err e = drbg_ec_key(&kd, n->curve, &k);
	c->rng_pos = kd.counter;
	if (c->rng_pos > n->rng_counter)
		n->rng_counter = c->rng_pos + 1024;
	drbg_clear(&kd);
	if (e || crypto_ec_private(k, n->ecasd_sk) || crypto_ec_public(k, n->ecasd_pk)) {
		snprintf(why, why_len, "cannot create the ECASD key pair");
		goto fail;
	}
	if (!o->issuer.eum || !o->issuer.ci || !o->issuer.eum_cert) {
		snprintf(why, why_len, "no PKI to certify the card");
		goto fail;
	}
	abuf cert = ABUF_INIT;
	char subj[64];
	snprintf(subj, sizeof(subj), "eUICC %s", eid);
	e = gpcert_issue(o->issuer.eum, GPCERT_ROLE_ECASD, GPCERT_KEY_USAGE_AGREE, subj, n->ecasd_pk, n->curve, &cert);
	if (e || cert.len > sizeof(n->ecasd_cert) || o->issuer.eum_cert->len > sizeof(n->eum_cert)) {
		abuf_free(&cert);
		snprintf(why, why_len, "cannot certify the ECASD key: %s", apdu_strerror(e));
		goto fail;
	}
	memcpy(n->ecasd_cert, cert.p, cert.len);
	n->ecasd_cert_len = (uint16_t)cert.len;
	abuf_free(&cert);
	memcpy(n->eum_cert, o->issuer.eum_cert->p, o->issuer.eum_cert->len);
	n->eum_cert_len = (uint16_t)o->issuer.eum_cert->len;
	if (crypto_ec_public(o->issuer.ci, n->ci_pk)) {
		snprintf(why, why_len, "bad CI key");
		goto fail;
	}

	/* ISD-R SCP80 keysets: version 1 AES-128 (as SGP.02 deployments use), version 2 3DES 2-key */
	static const struct { uint8_t kvn, alg, len; } ks[] = { { 1, 0x2, 16 }, { 2, 0x5, 16 } };
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		nvm_keyset *s = &n->keysets[i];
		s->used = true;
		s->kvn = ks[i].kvn;
		s->kic_alg = s->kid_alg = ks[i].alg;
		s->key_len = ks[i].len;
		euicc_random(c, s->kic, s->key_len);
		euicc_random(c, s->kid, s->key_len);
	}
	n->fallback_threshold = (uint8_t)(o->fallback_threshold ? (o->fallback_threshold > 255 ? 255 : o->fallback_threshold) : 3);
	n->smsr.toa = 0x91;
	snprintf(n->smsr.digits, sizeof(n->smsr.digits), "%s", o->smsr_msisdn ? o->smsr_msisdn : "882350000000");
	n->next_seq = 1;
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++)
		memcpy(c->accepted[i], n->keysets[i].counter, 5);
	/* the eUICC declares itself at its first attach */
	isdr_queue_notification(c, NOTIF_DECLARATION, aid_isdr);
	crypto_ec_free(k);
	return c;
fail:
	crypto_ec_free(k);
	euicc_free(c);
	return NULL;
}

void euicc_counters_from_nvm(euicc_card *c)
{
	/* after a load every counter up to the high-water mark counts as used */
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++)
		memcpy(c->accepted[i], c->nvm.keysets[i].counter, 5);
	c->rng_pos = c->nvm.rng_counter;
	c->mo_pos = 0;
	for (int i = 0; i < 5; i++)
		c->mo_pos = (c->mo_pos << 8) | c->nvm.mo_counter[i];
}

void euicc_free(euicc_card *c)
{
	if (!c)
		return;
	journal_close(&c->jr);
	if (c->lock_fd >= 0)
		close(c->lock_fd);
	sms_reassembly_free(&c->sms);
	abuf_free(&c->dl_buf);
	abuf_free(&c->bt_rest);
	abuf_free(&c->bt_set);
	/* the keys and what the blobs hold; the pages go back to the kernel, which zeroes them */
	nvm_wipe(&c->nvm);
	nvm_wipe(c->snapshot);
	crypto_wipe(&c->dl, sizeof(c->dl));
	euicc_big_free(c->snapshot, sizeof(*c->snapshot));
	free(c->path);
	euicc_big_free(c, sizeof(*c));
}

/* T=0 only (a strict T=0 card): TS ‖ T0 '0B' (no interface bytes, 11 historical bytes) ‖ "euicc-bench",
 * no TCK (ISO 7816-3 8.2.5: none when only T=0 is offered) */
static const uint8_t atr_t0[] = { 0x3B, 0x0B, 'e', 'u', 'i', 'c', 'c', '-', 'b', 'e', 'n', 'c', 'h' };

void euicc_set_t0_strict(euicc_card *c, bool on)
{
	c->t0_strict = on;
}

size_t euicc_atr(const euicc_card *c, uint8_t *atr)
{
	if (c->t0_strict) {
		memcpy(atr, atr_t0, sizeof(atr_t0));
		return sizeof(atr_t0);
	}
	memcpy(atr, atr_bytes, sizeof(atr_bytes));
	uint8_t tck = 0;
	for (size_t i = 1; i + 1 < sizeof(atr_bytes); i++)
		tck ^= atr_bytes[i];
	atr[sizeof(atr_bytes) - 1] = tck;
	return sizeof(atr_bytes);
}

static void drop_sessions(euicc_card *c)
{
	memset(c->channel_app, 0, sizeof(c->channel_app));
	memset(c->channel_open, 0, sizeof(c->channel_open));
	c->channel_open[0] = true;
	c->pending_len = 0;
	c->pending_sw = 0;
	c->terminal_profile = false;
	c->n_proactive = 0;
	c->noservice_count = 0;
	sms_reassembly_free(&c->sms);
	es8_reset_session(c);
	fs_forget(c); /* the enabled profile may have changed; the security status starts over */
}

size_t euicc_power_on(euicc_card *c, uint8_t *atr)
{
	drop_sessions(c);
	c->powered = true;
	/* after a REFRESH the terminal re-attaches: notifications go out then */
	if (c->refresh_pending) {
		c->refresh_pending = false;
		c->notify_after_attach = true;
	}
	return euicc_atr(c, atr);
}

size_t euicc_reset(euicc_card *c, uint8_t *atr)
{
	return euicc_power_on(c, atr);
}

void euicc_power_off(euicc_card *c)
{
	drop_sessions(c);
	c->powered = false;
}

/* ---- dispatcher ---- */

static eu_status manage_channel(euicc_card *c, const capdu *a, int ch, abuf *out)
{
	if (a->p1 == 0x00) { /* open: the card assigns the channel (P2 = 00) or takes the one asked */
		int want = a->p2;
		if (want == 0) {
			for (int i = 1; i < EUICC_CHANNELS; i++)
				if (!c->channel_open[i]) {
					want = i;
					break;
				}
			if (want == 0)
				return EU_CHANNEL;
			if (a->cse != APDU_CASE_2S)
				return EU_WRONG_LENGTH;
		}
		if (want >= EUICC_CHANNELS || c->channel_open[want])
			return EU_CHANNEL;
		c->channel_open[want] = true;
		c->channel_app[want] = c->channel_app[ch]; /* the new channel inherits the selection */
		if (a->p2 == 0)
			abuf_put_u8(out, (uint8_t)want);
		return EU_OK;
	}
	if (a->p1 == 0x80) { /* close */
		if (a->p2 == 0 || a->p2 >= EUICC_CHANNELS || !c->channel_open[a->p2])
			return EU_CHANNEL;
		c->channel_open[a->p2] = false;
		c->channel_app[a->p2] = APP_NONE;
		return EU_OK;
	}
	return EU_WRONG_P1P2;
}

static void fci(abuf *out, const uint8_t *aid, uint8_t life_cycle)
{
	size_t m, m2;
	tlv_begin(out, 0x6F, &m);
	tlv_put(out, 0x84, aid, 16);
	tlv_begin(out, 0xA5, &m2);
	tlv_put_u8(out, 0x9F6E, 0x00);
	tlv_end(out, m2);
	tlv_put_u8(out, 0x9F70, life_cycle);
	tlv_end(out, m);
}

static eu_status select_aid(euicc_card *c, const capdu *a, int ch, abuf *out)
{
	if (a->p1 != 0x04) {
		/* by FID or path: the enabled profile's file system */
		eu_status st = fs_command(c, ch, a, out);
		if (st == EU_OK)
			c->channel_app[ch] = APP_FS;
		return st;
	}
	if ((a->p2 & 0xF3) != 0x00) /* first occurrence; b4..b3 choose FCI, FCP or none */
		return EU_WRONG_P1P2;
	if (a->lc < 5 || a->lc > 16)
		return EU_WRONG_LENGTH;
	const uint8_t *aid = a->data;
	int app = APP_NONE;
	const uint8_t *full = NULL;
	uint8_t lc = 0x0F;
	/* exact AID or a unique partial AID (ISO 7816-4 first occurrence) */
	if (memcmp(aid_isdr, aid, a->lc) == 0) {
		app = APP_ISDR;
		full = aid_isdr;
	} else if (memcmp(aid_ecasd, aid, a->lc) == 0) {
		app = APP_ECASD;
		full = aid_ecasd;
	} else {
		for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
			nvm_profile *p = &c->nvm.profiles[i];
			if (p->used && memcmp(p->aid, aid, a->lc) == 0 && p->state >= PS_SELECTABLE) {
				app = APP_ISDP0 + i;
				full = p->aid;
				lc = p->state;
				break;
			}
		}
	}
	if (app == APP_NONE) {
		/* an application of the enabled profile (ADF.USIM, also by partial AID) */
		if (fs_select_aid(c, ch, aid, a->lc, (a->p2 & 0x0C) == 0x04, out)) {
			c->channel_app[ch] = APP_FS;
			return EU_OK;
		}
		return EU_FILE_NOT_FOUND;
	}
	c->channel_app[ch] = (uint8_t)app;
	if ((a->p2 & 0x0C) != 0x0C)
		fci(out, full, lc);
	euicc_tracef(c, "SELECT %s", app == APP_ISDR ? "ISD-R" : app == APP_ECASD ? "ECASD" : "ISD-P");
	return EU_OK;
}

/* Commands that never change NVM: no snapshot, no save. */
static bool read_only(const capdu *a)
{
	switch (a->ins) {
	case 0xA4: case 0xC0: case 0xCA: case 0xCB: case 0x70: case 0x12: case 0xB0: case 0xB2: case 0xA2:
		return true;
	case 0xF2: /* STATUS / GET STATUS */
		return true;
	}
	return false;
}

/* the GSM class (TS 51.011): its status words, response data waiting behind 9Fxx, data beyond P3 cut */
static size_t finish_gsm(euicc_card *c, const capdu *a, eu_status st, abuf *data, uint8_t *r)
{
	uint16_t sw = gsm_sw_of(st);
	size_t n = 0;
	if (st == EU_OK && data->len && !a->le) {
		memcpy(c->pending, data->p, data->len);
		c->pending_len = data->len;
		sw = (uint16_t)(0x9F00 | (data->len >= 256 ? 0 : data->len));
	} else if (st == EU_OK && data->len) {
		n = data->len < a->le ? data->len : a->le;
		memcpy(r, data->p, n);
	}
	if (st == EU_OK && sw == 0x9000 && c->n_proactive && a->ins != 0x12)
		sw = (uint16_t)(0x9100 | (c->proactive[0].len & 0xff));
	r[n++] = (uint8_t)(sw >> 8);
	r[n++] = (uint8_t)sw;
	return n;
}

static size_t finish(euicc_card *c, const capdu *a, eu_status st, abuf *data, uint8_t *r)
{
	if (a->cla == 0xA0)
		return finish_gsm(c, a, st, data, r);
	uint16_t sw = euicc_sw_of(st);
	size_t n = 0;
	if (st == EU_PIN_WRONG)
		sw = (uint16_t)(0x63C0 | (c->pin_left & 0x0F));
	if (st == EU_END_OF_FILE || st == EU_MORE_BLOCKS) {
		/* the data there was (all of it fits: fewer bytes than Le), then the warning */
		memcpy(r, data->p, data->len);
		n = data->len;
	} else if (st == EU_OK && data->len) {
		size_t ne = a->le; /* 0 when the command has no Le */
		if (ne == 0 || data->len > ne) {
			/* ISO 7816-4 / TS 102 221: more data than asked for waits for GET RESPONSE */
			size_t give = ne ? ne : 0;
			memcpy(r, data->p, give);
			n = give;
			memcpy(c->pending, data->p + give, data->len - give);
			c->pending_len = data->len - give;
			size_t left = c->pending_len;
			sw = (uint16_t)(0x6100 | (left >= 256 ? 0 : left));
		} else {
			memcpy(r, data->p, data->len);
			n = data->len;
			if (c->n_proactive && a->ins != 0x12) /* TS 102 221 10.2.1.1: data and a pending proactive command */
				sw = (uint16_t)(0x9100 | (c->proactive[0].len & 0xff));
		}
	} else if (st == EU_OK && c->n_proactive && a->ins != 0x12) {
		sw = (uint16_t)(0x9100 | (c->proactive[0].len & 0xff));
	}
	r[n++] = (uint8_t)(sw >> 8);
	r[n++] = (uint8_t)sw;
	return n;
}

static size_t get_response(euicc_card *c, const capdu *a, uint8_t *r)
{
	size_t n = 0;
	uint16_t sw;
	size_t want = a->le ? a->le : 256;
	if (!c->pending_len || a->p1 || a->p2) {
		sw = !c->pending_len ? 0x6985 : 0x6A86;
	} else if (c->t0_strict && want > c->pending_len) {
		sw = (uint16_t)(0x6C00 | (c->pending_len & 0xFF)); /* T=0: P3 names more than there is */
	} else {
		size_t ne = a->le ? a->le : 256;
		size_t give = c->pending_len < ne ? c->pending_len : ne;
		memcpy(r, c->pending, give);
		n = give;
		memmove(c->pending, c->pending + give, c->pending_len - give);
		c->pending_len -= give;
		if (c->pending_len)
			sw = (uint16_t)(0x6100 | (c->pending_len >= 256 ? 0 : c->pending_len));
		else if (c->n_proactive)
			sw = (uint16_t)(0x9100 | (c->proactive[0].len & 0xff));
		else
			sw = 0x9000;
	}
	r[n++] = (uint8_t)(sw >> 8);
	r[n++] = (uint8_t)sw;
	return n;
}

/* the file-system commands a channel with nothing selected still takes (the MF is current) */
static bool fs_ins(uint8_t ins)
{
	switch (ins) {
	case 0xB0: case 0xB2: case 0xD6: case 0xDC: case 0xA2: case 0x88:
	case 0x20: case 0x24: case 0x26: case 0x28: case 0x2C:
		return true;
	}
	return false;
}

static eu_status dispatch(euicc_card *c, const capdu *a, int ch, abuf *out)
{
	uint8_t app = c->channel_app[ch];
	bool gp = (a->cla & 0x80) != 0;
	if (a->cla == 0xA0) {
		/* the GSM class: the toolkit commands as in class 80 (a 2G modem sends them so), the rest
		 * over the GSM view of the enabled profile (gsm.c) */
		if (a->ins != 0x10 && a->ins != 0x12 && a->ins != 0x14 && a->ins != 0xC2)
			return gsm_command(c, a, out);
	}
	switch (a->ins) {
	case 0x70:
		return gp ? EU_CLA : manage_channel(c, a, ch, out);
	case 0xA4:
		return gp ? EU_CLA : select_aid(c, a, ch, out);
	case 0x10:
		return gp ? cat_terminal_profile(c, a) : EU_CLA;
	case 0x12:
		return gp ? cat_fetch(c, a, out) : EU_CLA;
	case 0x14:
		return gp ? cat_terminal_response(c, a) : EU_CLA;
	case 0xC2:
		if (!gp)
			return EU_CLA;
		if (a->lc == 0)
			return EU_WRONG_LENGTH;
		if (a->data[0] == 0xD1)
			return ota_envelope_sms_pp(c, a->data, a->lc, out);
		if (a->data[0] == 0xD6)
			return cat_event_download(c, a->data, a->lc);
		return EU_WRONG_DATA;
	case 0xF2:
		/* TS 102 221 STATUS (P1 00..02) unless a GP application takes GET STATUS (P1 80/40/20/10) */
		if (gp && a->p1 <= 0x02) {
			if (app == APP_FS)
				return fs_command(c, ch, a, out);
			if (a->p2 != 0x0C && a->p2 != 0x00 && a->p2 != 0x01)
				return EU_WRONG_P1P2;
			/* the selected application: its FCI (00) or its name (01), as SELECT gave them; with
			 * nothing selected there is nothing to tell */
			const uint8_t *aid = app == APP_ISDR ? aid_isdr : app == APP_ECASD ? aid_ecasd : NULL;
			if (aid && a->p2 == 0x00)
				fci(out, aid, 0x0F);
			else if (aid && a->p2 == 0x01)
				tlv_put(out, 0x84, aid, 16);
			return EU_OK;
		}
		break;
	}
	if (app == APP_FS || (app == APP_NONE && !gp && fs_ins(a->ins))) {
		/* an ISO instruction in the proprietary class is a class error; an instruction the card does
		 * not know at all (GET IDENTITY, SUSPEND UICC, ...) is an instruction error */
		if (gp && (a->ins == 0xCB || a->ins == 0xDB) && app == APP_FS)
			return fs_command(c, ch, a, out); /* RETRIEVE DATA / SET DATA (TS 102 221 11.3) */
		if (gp)
			return fs_ins(a->ins) || a->ins == 0xA4 ? EU_CLA : EU_INS;
		return fs_command(c, ch, a, out);
	}
	if (app == APP_ISDR)
		return isdr_command(c, a, CTX_CONTACT, out);
	if (app == APP_ECASD)
		return ecasd_command(c, a, CTX_CONTACT, out);
	if (app >= APP_ISDP0)
		return EU_SECURITY; /* ISD-Ps take no plain contact commands */
	return EU_INS;
}

size_t euicc_transmit(euicc_card *c, const uint8_t *in, size_t len, uint8_t *r)
{
	capdu a;
	abuf out = ABUF_INIT;
	size_t n;
	if (!c->powered) {
		r[0] = 0x6F;
		r[1] = 0x00;
		return 2;
	}
	apdu_err pe = capdu_parse(in, len, &a);
	if (pe) {
		euicc_trace_hex(c, "C-APDU (malformed)", in, len);
		r[0] = 0x67;
		r[1] = 0x00;
		return 2;
	}
	euicc_trace_hex(c, "C-APDU", in, len);
	if (a.cla == 0xFF) {
		r[0] = 0x6E;
		r[1] = 0x00;
		return 2;
	}
	if (c->t0_strict) {
		/* T=0 (ISO 7816-3 12.2): no extended length; a case-4 command carries no Le, its data waits
		 * behind 61xx (9Fxx in the GSM class) */
		if (a.cse == APDU_CASE_2E || a.cse == APDU_CASE_3E || a.cse == APDU_CASE_4E) {
			r[0] = 0x67;
			r[1] = 0x00;
			return 2;
		}
		if (a.cse == APDU_CASE_4S)
			a.le = 0;
	}
	int ch = (a.cla & 0x40) ? 4 + (a.cla & 0x0F) : (a.cla & 0x03);
	if (ch >= EUICC_CHANNELS || !c->channel_open[ch]) {
		r[0] = 0x68;
		r[1] = 0x81;
		return 2;
	}
	/* GET RESPONSE in the class of the command that left the data (00, 80 after an ENVELOPE, as pySim
	 * and modems send it) */
	if (a.ins == 0xC0 && ((a.cla & 0xF0) != 0xA0 || a.cla == 0xA0)) {
		n = get_response(c, &a, r);
		euicc_trace_hex(c, "R-APDU", r, n);
		return n;
	}
	c->pending_len = 0;
	bool ro = read_only(&a);
	size_t proactive_before = c->n_proactive;
	if (!ro && c->path) {
		nvm_copy_fixed(c->snapshot, &c->nvm);
		memset(c->blob_saved, 0, sizeof(c->blob_saved));
		c->snapshot_active = true;
		if (c->check_blobs)
			nvm_copy(c->snapshot, &c->nvm); /* the whole of it, to catch a blob changed untouched */
	}
	int rec_was = c->fs_rec[ch], gsm_rec_was = c->gsm_rec;
	eu_status st = dispatch(c, &a, ch, &out);
	if (out.err)
		st = EU_TECHNICAL;
	if (c->t0_strict && a.cse == APDU_CASE_2S && a.ins != 0x12 && (st == EU_OK || st == EU_END_OF_FILE) &&
	    out.len && out.len != a.le && !(a.cla == 0xA0 && out.len > a.le)) {
		/* T=0: P3 is not the length there is: 6Cxx tells it, and nothing moved (the record pointer
		 * is put back; the command is sent again with the right P3) */
		c->fs_rec[ch] = rec_was;
		c->gsm_rec = gsm_rec_was;
		size_t have = out.len;
		abuf_free(&out);
		r[0] = 0x6C;
		r[1] = (uint8_t)(have >= 256 ? 0 : have);
		euicc_trace_hex(c, "R-APDU", r, 2);
		return 2;
	}
	cat_flush_refresh(c);
	if (!ro && c->path && c->check_blobs) {
		for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
			const nvm_profile *x = &c->snapshot->profiles[i], *y = &c->nvm.profiles[i];
			if (x->blob_gen == y->blob_gen && x->package_len == y->package_len && x->fsdata_len == y->fsdata_len &&
			    (memcmp(x->package, y->package, x->package_len) || memcmp(x->fsdata, y->fsdata, x->fsdata_len)))
				abort(); /* a blob changed without euicc_blob_touch: it would not be saved */
		}
	}
	c->snapshot_active = false;
	bool changed = !ro && c->path && !nvm_equal_fixed(c->snapshot, &c->nvm), touched = false;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		touched |= c->blob_saved[i];
	if (changed && !touched && nvm_only_confirmations(c->snapshot, &c->nvm)) {
		/* A confirmation alone is not written now: it goes to disk with the next change (or the save at
		 * exit). Lost in a crash, the notification is sent again at the next attach and confirmed again,
		 * which SGP.02's notification handling expects (the SM-SR treats duplicates as done). */
		euicc_tracef(c, "NVM: confirmation kept until the next write");
		c->lazy_pending = true;
	} else if (changed) {
		char why[256];
		if (nvm_commit(c, c->blob_saved, why, sizeof(why)) != 0) {
			/* nothing half-applied: the command is undone and reported as a memory failure */
			snprintf(c->last_error, sizeof(c->last_error), "%s", why);
			nvm_copy_fixed(&c->nvm, c->snapshot);
			for (int i = 0; i < EUICC_MAX_PROFILES; i++)
				if (c->blob_saved[i]) {
					nvm_profile *d = &c->nvm.profiles[i];
					const nvm_profile *s = &c->snapshot->profiles[i];
					memcpy(d->package, s->package, s->package_len);
					memcpy(d->fsdata, s->fsdata, s->fsdata_len);
				}
			if (c->n_proactive > proactive_before)
				c->n_proactive = proactive_before;
			abuf_reset(&out);
			st = EU_MEMORY_FAILURE;
			euicc_tracef(c, "NVM save failed: %s", why);
		}
	}
	n = finish(c, &a, st, &out, r);
	euicc_trace_hex(c, "R-APDU", r, n);
	abuf_free(&out);
	return n;
}
