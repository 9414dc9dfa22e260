/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVM document as text, written directly (nvm_render): a snapshot, or one journal record. It is
 * the document nvm_to_json(n, true) builds, in the same key order and jansson's compact form, with the
 * journal id when a snapshot names one and "=" for a blob a record keeps from the state before.
 * Building that document as a jansson tree and dumping it was a tenth of a campaign job's CPU time (a
 * swap writes seven records); tests/test_nvm.c checks the two against each other. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/hex.h"
#include "euicc_int.h"

typedef struct {
	char *p;
	size_t len, cap;
	bool oom;
	bool first; /* nothing written yet in the object or array just opened */
} text;

/* room for n more bytes and the final NUL; a larger buffer wipes the one it replaces (keys) */
static bool room(text *t, size_t n)
{
	if (t->oom)
		return false;
	if (t->len + n + 1 <= t->cap)
		return true;
	size_t cap = (t->len + n + 1) * 2;
	char *q = malloc(cap);
	if (!q) {
		t->oom = true;
		return false;
	}
	memcpy(q, t->p, t->len);
	crypto_wipe(t->p, t->cap);
	free(t->p);
	t->p = q;
	t->cap = cap;
	return true;
}

static void raw(text *t, const char *s, size_t n)
{
	if (room(t, n)) {
		memcpy(t->p + t->len, s, n);
		t->len += n;
	}
}

static void lit(text *t, const char *s)
{
	raw(t, s, strlen(s));
}

static void open_(text *t, char c)
{
	raw(t, &c, 1);
	t->first = true;
}

static void close_(text *t, char c)
{
	raw(t, &c, 1);
	t->first = false;
}

/* a separator unless first; an array element has no key */
static void elem(text *t)
{
	if (!t->first)
		raw(t, ",", 1);
	t->first = false;
}

/* "k": with its separator (keys are this file's own literals: nothing to escape) */
static void key(text *t, const char *k)
{
	elem(t);
	raw(t, "\"", 1);
	lit(t, k);
	raw(t, "\":", 2);
}

/* a string as jansson writes it: quote, backslash and control characters escaped, the rest as is */
static void str(text *t, const char *s)
{
	raw(t, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char e[8];
		if (c == '"' || c == '\\')
			snprintf(e, sizeof(e), "\\%c", c);
		else if (c == '\b' || c == '\f' || c == '\n' || c == '\r' || c == '\t')
			snprintf(e, sizeof(e), "\\%c",
				 c == '\b'	     ? 'b'
					 : c == '\f' ? 'f'
					 : c == '\n' ? 'n'
					 : c == '\r' ? 'r'
						     : 't');
		else if (c < 0x20)
			snprintf(e, sizeof(e), "\\u%04X", c);
		else {
			e[0] = (char)c;
			e[1] = '\0';
		}
		lit(t, e);
	}
	raw(t, "\"", 1);
}

static void kstr(text *t, const char *k, const char *s)
{
	key(t, k);
	str(t, s);
}

static void kint(text *t, const char *k, long long v)
{
	char b[24];
	key(t, k);
	raw(t, b, (size_t)snprintf(b, sizeof(b), "%lld", v));
}

static void kbool(text *t, const char *k, bool v)
{
	key(t, k);
	lit(t, v ? "true" : "false");
}

static void hexv(text *t, const uint8_t *p, size_t len)
{
	if (!room(t, 2 * len + 2))
		return;
	t->p[t->len++] = '"';
	hex_encode(p, len, t->p + t->len);
	t->len += 2 * len;
	t->p[t->len++] = '"';
}

static void khex(text *t, const char *k, const uint8_t *p, size_t len)
{
	key(t, k);
	hexv(t, p, len);
}

static void pins(text *t, const char *k, const nvm_pin *p, int n)
{
	key(t, k);
	open_(t, '[');
	for (int i = 0; i < n; i++) {
		if (!p[i].used)
			continue;
		elem(t);
		open_(t, '{');
		kint(t, "ref", p[i].ref);
		kint(t, "max", p[i].max);
		kint(t, "left", p[i].left);
		kint(t, "unblock_ref", p[i].unblock_ref);
		kint(t, "attrs", p[i].attrs);
		kbool(t, "enabled", p[i].enabled);
		khex(t, "value", p[i].value, 8);
		close_(t, '}');
	}
	close_(t, ']');
}

/* a blob, or "=" when a record keeps the one of the state before */
static void kblob(text *t, const char *k, const uint8_t *p, size_t len, bool keep)
{
	key(t, k);
	if (keep)
		lit(t, "\"=\"");
	else
		hexv(t, p, len);
}

static void profile(text *t, const nvm_profile *p, int slot, bool keep)
{
	elem(t);
	open_(t, '{');
	kint(t, "slot", slot);
	khex(t, "aid", p->aid, 16);
	kstr(t, "state", proto_isdp_state_name(p->state));
	kint(t, "state_byte", p->state);
	kbool(t, "fallback", p->fallback);
	kbool(t, "emergency", p->emergency);
	kint(t, "pol1", p->pol1);
	kint(t, "nvm_granted", p->nvm_granted);
	if (p->has_iccid) {
		khex(t, "iccid", p->iccid, 10);
	} else {
		key(t, "iccid");
		lit(t, "null");
	}
	khex(t, "smsc", p->smsc, p->smsc_len);
	khex(t, "sqn_ms", p->sqn_ms, 6);
	key(t, "scp03");
	if (p->has_keys) {
		open_(t, '{');
		kint(t, "kvn", p->scp03_kvn);
		kint(t, "kid", p->scp03_kid);
		khex(t, "key", p->scp03_key, 16);
		close_(t, '}');
	} else {
		lit(t, "null");
	}
	kblob(t, "package", p->package, p->package_len, keep);
	/* files as installed from the package are not saved: loading installs them again */
	if (!p->files_pristine)
		kblob(t, "files", p->fsdata, p->fsdata_len, keep);
	pins(t, "pins", p->pins, EUICC_MAX_PINS);
	pins(t, "puks", p->puks, EUICC_MAX_PUKS);
	close_(t, '}');
}

static void fixed_head(text *t, const euicc_nvm *n, const uint8_t *journal_id)
{
	kstr(t, "format", NVM_FORMAT);
	kint(t, "version", EUICC_NVM_VERSION);
	if (journal_id)
		khex(t, "journal", journal_id, 16);
	khex(t, "eid", n->eid, 16);
	kint(t, "curve", n->curve);
	khex(t, "ecasd_sk", n->ecasd_sk, 32);
	khex(t, "ecasd_pk", n->ecasd_pk, 65);
	khex(t, "ecasd_cert", n->ecasd_cert, n->ecasd_cert_len);
	khex(t, "eum_cert", n->eum_cert, n->eum_cert_len);
	khex(t, "ci_pk", n->ci_pk, 65);
	key(t, "keysets");
	open_(t, '[');
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++) {
		const nvm_keyset *k = &n->keysets[i];
		if (!k->used)
			continue;
		elem(t);
		open_(t, '{');
		kint(t, "kvn", k->kvn);
		kint(t, "kic_alg", k->kic_alg);
		kint(t, "kid_alg", k->kid_alg);
		khex(t, "counter", k->counter, 5);
		khex(t, "kic", k->kic, k->key_len);
		khex(t, "kid", k->kid, k->key_len);
		close_(t, '}');
	}
	close_(t, ']');
	khex(t, "mo_counter", n->mo_counter, 5);
}

char *nvm_render(const euicc_nvm *n, const uint8_t *journal_id, const bool *inline_blob, size_t *out_len)
{
	text t = { 0 };
	/* the blobs' hex and some 6 KB around them: one allocation for nearly every card */
	size_t guess = 6144;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		if (n->profiles[i].used)
			guess += 2048 + 2 * ((size_t)n->profiles[i].package_len + n->profiles[i].fsdata_len);
	t.p = malloc(guess);
	t.cap = t.p ? guess : 0;
	t.oom = !t.p;
	open_(&t, '{');
	fixed_head(&t, n, journal_id);
	key(&t, "profiles");
	open_(&t, '[');
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		if (n->profiles[i].used)
			profile(&t, &n->profiles[i], i, inline_blob && !inline_blob[i]);
	close_(&t, ']');
	key(&t, "notifications");
	open_(&t, '[');
	for (int i = 0; i < EUICC_MAX_NOTIFS; i++) {
		const nvm_notif *x = &n->notifs[i];
		if (!x->used)
			continue;
		elem(&t);
		open_(&t, '{');
		kint(&t, "seq", x->seq);
		kint(&t, "type", x->type);
		khex(&t, "aid", x->aid, 16);
		close_(&t, '}');
	}
	close_(&t, ']');
	kint(&t, "next_seq", n->next_seq);
	kint(&t, "fallback_threshold", n->fallback_threshold);
	key(&t, "smsr");
	open_(&t, '{');
	kint(&t, "toa", n->smsr.toa);
	kstr(&t, "digits", n->smsr.digits);
	close_(&t, '}');
	khex(&t, "rng_seed", n->rng_seed, 32);
	kint(&t, "rng_counter", (long long)n->rng_counter);
	close_(&t, '}');
	if (t.oom || !room(&t, 0)) {
		if (t.p)
			crypto_wipe(t.p, t.cap);
		free(t.p);
		return NULL;
	}
	t.p[t.len] = '\0';
	*out_len = t.len;
	return t.p;
}
