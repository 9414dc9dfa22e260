/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card's NVM: one JSON document per card (the snapshot, versioned, written atomically: new file,
 * fdatasync, rename, directory fsync, 0600) and its journal (journal.c), where each state change is one
 * record. Loading applies the journal to the snapshot and validates every field; a corrupt, truncated or
 * inconsistent state is refused with a message that names what is wrong, never reset silently. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apdu/hex.h"
#include "apdu/ids.h"
#include "euicc_int.h"

void nvm_copy(euicc_nvm *dst, const euicc_nvm *src)
{
	memcpy(dst, src, offsetof(euicc_nvm, profiles));
	for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
		nvm_profile *d = &dst->profiles[i];
		const nvm_profile *s = &src->profiles[i];
		memcpy(d, s, offsetof(nvm_profile, fsdata));
		memcpy(d->fsdata, s->fsdata, s->fsdata_len);
		memcpy(d->package, s->package, s->package_len);
	}
}

void nvm_wipe(euicc_nvm *n)
{
	/* what holds data: the fixed part and each blob as far as it is used (the rest was never written) */
	crypto_wipe(n, offsetof(euicc_nvm, profiles));
	for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
		nvm_profile *p = &n->profiles[i];
		crypto_wipe(p->fsdata, p->fsdata_len);
		crypto_wipe(p->package, p->package_len);
		crypto_wipe(p, offsetof(nvm_profile, fsdata));
	}
}

void nvm_copy_fixed(euicc_nvm *dst, const euicc_nvm *src)
{
	memcpy(dst, src, offsetof(euicc_nvm, profiles));
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		memcpy(&dst->profiles[i], &src->profiles[i], offsetof(nvm_profile, fsdata));
}

bool nvm_equal_fixed(const euicc_nvm *a, const euicc_nvm *b)
{
	if (memcmp(a, b, offsetof(euicc_nvm, profiles)))
		return false;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		if (memcmp(&a->profiles[i], &b->profiles[i], offsetof(nvm_profile, fsdata)))
			return false;
	return true;
}

bool nvm_only_confirmations(const euicc_nvm *before, const euicc_nvm *after)
{
	size_t a = offsetof(euicc_nvm, notifs), b = a + sizeof(before->notifs), e = offsetof(euicc_nvm, profiles);
	if (memcmp(before, after, a) || memcmp((const uint8_t *)before + b, (const uint8_t *)after + b, e - b))
		return false;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		if (memcmp(&before->profiles[i], &after->profiles[i], offsetof(nvm_profile, fsdata)))
			return false;
	static const nvm_notif gone;
	for (int i = 0; i < EUICC_MAX_NOTIFS; i++) {
		const nvm_notif *x = &before->notifs[i], *y = &after->notifs[i];
		if (memcmp(x, y, sizeof(*x)) && !(x->used && !memcmp(y, &gone, sizeof(*y))))
			return false;
	}
	return true;
}

static json_t *pins_json(const nvm_pin *p, int n, bool secrets)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++) {
		if (!p[i].used)
			continue;
		json_t *j = json_pack("{s:i,s:i,s:i,s:i,s:i,s:b}", "ref", p[i].ref, "max", p[i].max, "left", p[i].left,
				      "unblock_ref", p[i].unblock_ref, "attrs", p[i].attrs, "enabled", p[i].enabled);
		if (secrets)
			json_object_set_new(j, "value", euicc_hexj(p[i].value, 8));
		json_array_append_new(a, j);
	}
	return a;
}

/* the document as a tree (`show`, tests); what the card writes is nvm_render's text of the same */
json_t *nvm_to_json(const euicc_nvm *n, bool secrets)
{
	json_t *o = json_object();
	json_object_set_new(o, "format", json_string(NVM_FORMAT));
	json_object_set_new(o, "version", json_integer(EUICC_NVM_VERSION));
	json_object_set_new(o, "eid", euicc_hexj(n->eid, 16));
	json_object_set_new(o, "curve", json_integer(n->curve));
	if (secrets)
		json_object_set_new(o, "ecasd_sk", euicc_hexj(n->ecasd_sk, 32));
	json_object_set_new(o, "ecasd_pk", euicc_hexj(n->ecasd_pk, 65));
	json_object_set_new(o, "ecasd_cert", euicc_hexj(n->ecasd_cert, n->ecasd_cert_len));
	json_object_set_new(o, "eum_cert", euicc_hexj(n->eum_cert, n->eum_cert_len));
	json_object_set_new(o, "ci_pk", euicc_hexj(n->ci_pk, 65));
	json_t *ks = json_array();
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++) {
		const nvm_keyset *k = &n->keysets[i];
		if (!k->used)
			continue;
		json_t *j = json_pack("{s:i,s:i,s:i,s:o}", "kvn", k->kvn, "kic_alg", k->kic_alg, "kid_alg", k->kid_alg,
				      "counter", euicc_hexj(k->counter, 5));
		if (secrets) {
			json_object_set_new(j, "kic", euicc_hexj(k->kic, k->key_len));
			json_object_set_new(j, "kid", euicc_hexj(k->kid, k->key_len));
		}
		json_array_append_new(ks, j);
	}
	json_object_set_new(o, "keysets", ks);
	json_object_set_new(o, "mo_counter", euicc_hexj(n->mo_counter, 5));
	json_t *ps = json_array();
	for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
		const nvm_profile *p = &n->profiles[i];
		if (!p->used)
			continue;
		json_t *j = json_pack("{s:i,s:o,s:s,s:i,s:b,s:b,s:i,s:i}", "slot", i, "aid", euicc_hexj(p->aid, 16),
				      "state", proto_isdp_state_name(p->state), "state_byte", p->state, "fallback",
				      p->fallback, "emergency", p->emergency, "pol1", p->pol1, "nvm_granted",
				      p->nvm_granted);
		json_object_set_new(j, "iccid", p->has_iccid ? euicc_hexj(p->iccid, 10) : json_null());
		json_object_set_new(j, "smsc", euicc_hexj(p->smsc, p->smsc_len));
		json_object_set_new(j, "sqn_ms", euicc_hexj(p->sqn_ms, 6));
		if (p->has_keys) {
			json_t *k = json_pack("{s:i,s:i}", "kvn", p->scp03_kvn, "kid", p->scp03_kid);
			if (secrets)
				json_object_set_new(k, "key", euicc_hexj(p->scp03_key, 16));
			json_object_set_new(j, "scp03", k);
		} else {
			json_object_set_new(j, "scp03", json_null());
		}
		if (secrets) {
			json_object_set_new(j, "package", euicc_hexj(p->package, p->package_len));
			/* files as installed from the package are not saved: loading installs them again */
			if (!p->files_pristine)
				json_object_set_new(j, "files", euicc_hexj(p->fsdata, p->fsdata_len));
		} else {
			json_object_set_new(j, "package_len", json_integer(p->package_len));
			json_object_set_new(j, "files_len", json_integer(p->fsdata_len));
		}
		json_object_set_new(j, "pins", pins_json(p->pins, EUICC_MAX_PINS, secrets));
		json_object_set_new(j, "puks", pins_json(p->puks, EUICC_MAX_PUKS, secrets));
		json_array_append_new(ps, j);
	}
	json_object_set_new(o, "profiles", ps);
	json_object_set_new(o, "notifications", euicc_notifs_json(n));
	json_object_set_new(o, "next_seq", json_integer(n->next_seq));
	json_object_set_new(o, "fallback_threshold", json_integer(n->fallback_threshold));
	json_object_set_new(o, "smsr", json_pack("{s:i,s:s}", "toa", n->smsr.toa, "digits", n->smsr.digits));
	if (secrets) {
		json_object_set_new(o, "rng_seed", euicc_hexj(n->rng_seed, 32));
		json_object_set_new(o, "rng_counter", json_integer((json_int_t)n->rng_counter));
	}
	return o;
}

/* ---- loading: every field checked, the first bad one named ---- */

typedef struct {
	char *why;
	size_t why_len;
	int bad;
} vctx;

static void bad(vctx *v, const char *fmt, const char *field) __attribute__((format(printf, 2, 0)));
static void bad(vctx *v, const char *fmt, const char *field)
{
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	if (!v->bad)
		snprintf(v->why, v->why_len, fmt, field);
#pragma GCC diagnostic pop
	v->bad = 1;
}

static void get_hex(vctx *v, json_t *o, const char *key, uint8_t *out, size_t len)
{
	const char *s = json_string_value(json_object_get(o, key));
	if (!s || hex_decode_exact(s, out, len))
		bad(v, "field '%s' is missing or not the expected hex length", key);
}

static size_t get_hex_var(vctx *v, json_t *o, const char *key, uint8_t *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));
	abuf b = ABUF_INIT;
	size_t n = 0;
	if (!s || hex_decode(s, &b, NULL) || b.len > cap)
		bad(v, "field '%s' is missing, not hex, or too long", key);
	else if (b.len) {
		memcpy(out, b.p, b.len);
		n = b.len;
	}
	abuf_free(&b);
	return n;
}

static long long get_int(vctx *v, json_t *o, const char *key, long long lo, long long hi)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi) {
		bad(v, "field '%s' is missing or out of range", key);
		return lo;
	}
	return json_integer_value(j);
}

static bool get_bool(vctx *v, json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_boolean(j))
		bad(v, "field '%s' is missing or not a boolean", key);
	return json_is_true(j);
}

static bool valid_state(int s)
{
	return s == PROTO_ISDP_INSTALLED || s == PROTO_ISDP_SELECTABLE || s == PROTO_ISDP_PERSONALIZED ||
		s == PROTO_ISDP_DISABLED || s == PROTO_ISDP_ENABLED;
}

/* two PIN tables hold the same references */
static bool same_refs(const nvm_pin *a, const nvm_pin *b, int n)
{
	int na = 0, nb = 0;
	for (int i = 0; i < n; i++) {
		na += a[i].used;
		nb += b[i].used;
		bool found = !a[i].used;
		for (int k = 0; k < n && !found; k++)
			found = b[k].used && b[k].ref == a[i].ref;
		if (!found)
			return false;
	}
	return na == nb;
}

static void load_pins(vctx *v, json_t *j, const char *key, nvm_pin *p, int max)
{
	json_t *a = json_object_get(j, key), *e;
	size_t i;
	if (!json_is_array(a) || json_array_size(a) > (size_t)max) {
		bad(v, "field '%s' is missing or has too many entries", key);
		return;
	}
	json_array_foreach(a, i, e)
	{
		p[i].used = true;
		p[i].ref = (uint8_t)get_int(v, e, "ref", 0, 255);
		p[i].max = (uint8_t)get_int(v, e, "max", 1, 15);
		p[i].left = (uint8_t)get_int(v, e, "left", 0, p[i].max);
		p[i].unblock_ref = (uint8_t)get_int(v, e, "unblock_ref", 0, 255);
		p[i].attrs = (uint8_t)get_int(v, e, "attrs", 0, 255);
		p[i].enabled = get_bool(v, e, "enabled");
		get_hex(v, e, "value", p[i].value, 8);
	}
}

/* The installed files and PINs. Without "files" (never changed since the install, or a file written
 * before files existed) they are installed from the package, and the PIN and PUK states kept in the
 * document (when there) replace the package's; otherwise the files' layout must be the package's. */
static void load_files(vctx *v, json_t *j, nvm_profile *p)
{
	if (!json_object_get(j, "files")) {
		size_t bad_pe;
		char why[160];
		if (saip_install(p, &bad_pe, why, sizeof(why)) != PROTO_PE_OK) {
			bad(v, "the stored package does not install ('%s')", "package");
			return;
		}
		if (json_object_get(j, "pins") || json_object_get(j, "puks")) {
			nvm_pin pins[EUICC_MAX_PINS], puks[EUICC_MAX_PUKS];
			memset(pins, 0, sizeof(pins));
			memset(puks, 0, sizeof(puks));
			load_pins(v, j, "pins", pins, EUICC_MAX_PINS);
			load_pins(v, j, "puks", puks, EUICC_MAX_PUKS);
			if (!v->bad && !same_refs(pins, p->pins, EUICC_MAX_PINS))
				bad(v, "field '%s' does not match the package's PINs", "pins");
			if (!v->bad && !same_refs(puks, p->puks, EUICC_MAX_PUKS))
				bad(v, "field '%s' does not match the package's PUKs", "puks");
			memcpy(p->pins, pins, sizeof(pins));
			memcpy(p->puks, puks, sizeof(puks));
			crypto_wipe(pins, sizeof(pins));
			crypto_wipe(puks, sizeof(puks));
		}
		return;
	}
	p->fsdata_len = (uint32_t)get_hex_var(v, j, "files", p->fsdata, sizeof(p->fsdata));
	load_pins(v, j, "pins", p->pins, EUICC_MAX_PINS);
	load_pins(v, j, "puks", p->puks, EUICC_MAX_PUKS);
	if (v->bad)
		return;
	fs_tree *t = malloc(sizeof(*t));
	if (!t || saip_build(p->package, p->package_len, t, NULL, 0, NULL, NULL) || t->data_len != p->fsdata_len)
		bad(v, "field '%s' does not match the package's file system", "files");
	free(t);
}

/* one entry of "keysets" */
static void load_keyset(vctx *v, json_t *j, nvm_keyset *k)
{
	k->used = true;
	k->kvn = (uint8_t)get_int(v, j, "kvn", 1, 15);
	k->kic_alg = (uint8_t)get_int(v, j, "kic_alg", 0, 15);
	k->kid_alg = (uint8_t)get_int(v, j, "kid_alg", 0, 15);
	size_t a = get_hex_var(v, j, "kic", k->kic, sizeof(k->kic));
	size_t b = get_hex_var(v, j, "kid", k->kid, sizeof(k->kid));
	if (!v->bad && (a != b || (a != 16 && a != 24 && a != 32)))
		bad(v, "keyset keys of '%s' have inconsistent lengths", "keysets");
	k->key_len = (uint8_t)a;
	get_hex(v, j, "counter", k->counter, 5);
}

/* one entry of "profiles" into its slot */
static void load_profile(vctx *v, json_t *j, euicc_nvm *n, int *enabled)
{
	int slot = (int)get_int(v, j, "slot", 0, EUICC_MAX_PROFILES - 1);
	nvm_profile *p = &n->profiles[slot];
	if (p->used) {
		bad(v, "two profiles in one slot ('%s')", "slot");
		return;
	}
	p->used = true;
	get_hex(v, j, "aid", p->aid, 16);
	p->state = (uint8_t)get_int(v, j, "state_byte", 0, 255);
	if (!valid_state(p->state))
		bad(v, "field '%s' is not a life-cycle state", "state_byte");
	*enabled += p->state == PROTO_ISDP_ENABLED;
	p->fallback = get_bool(v, j, "fallback");
	p->emergency = get_bool(v, j, "emergency");
	p->pol1 = (uint8_t)get_int(v, j, "pol1", 0, 7);
	p->nvm_granted = (uint16_t)get_int(v, j, "nvm_granted", 0, EUICC_MAX_PACKAGE);
	json_t *ic = json_object_get(j, "iccid");
	if (!json_is_null(ic)) {
		get_hex(v, j, "iccid", p->iccid, 10);
		p->has_iccid = true;
	}
	p->smsc_len = (uint8_t)get_hex_var(v, j, "smsc", p->smsc, sizeof(p->smsc));
	if (json_object_get(j, "sqn_ms")) /* optional: files written before AUTHENTICATE existed */
		get_hex(v, j, "sqn_ms", p->sqn_ms, 6);
	json_t *k = json_object_get(j, "scp03");
	if (json_is_object(k)) {
		p->has_keys = true;
		p->scp03_kvn = (uint8_t)get_int(v, k, "kvn", 0, 255);
		p->scp03_kid = (uint8_t)get_int(v, k, "kid", 0, 255);
		get_hex(v, k, "key", p->scp03_key, 16);
	} else if (!json_is_null(k)) {
		bad(v, "field '%s' is neither an object nor null", "scp03");
	}
	p->package_len = (uint32_t)get_hex_var(v, j, "package", p->package, sizeof(p->package));
	if (!v->bad && (p->state == PROTO_ISDP_DISABLED || p->state == PROTO_ISDP_ENABLED) &&
	    (!p->package_len || !p->has_iccid))
		bad(v, "a profile in state disabled/enabled has no package ('%s')", "package");
	if (!v->bad && p->package_len)
		load_files(v, j, p);
	for (int q = 0; q < EUICC_MAX_PROFILES && !v->bad; q++)
		if (q != slot && n->profiles[q].used && !memcmp(n->profiles[q].aid, p->aid, 16))
			bad(v, "two profiles with the same '%s'", "aid");
}

int nvm_from_json(json_t *root, euicc_nvm *out, char *why, size_t why_len)
{
	vctx v = { why, why_len, 0 };
	euicc_nvm *n = euicc_big_alloc(sizeof(*n));
	if (!n) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	if (!json_is_object(root) || !json_string_value(json_object_get(root, "format")) ||
	    strcmp(json_string_value(json_object_get(root, "format")), NVM_FORMAT)) {
		bad(&v, "not a card NVM file (field '%s' is not \"" NVM_FORMAT "\")", "format");
		goto out;
	}
	long long ver = get_int(&v, root, "version", 0, 1000);
	if (!v.bad && (ver < EUICC_NVM_OLDEST || ver > EUICC_NVM_VERSION)) {
		snprintf(why, why_len, "NVM version %lld is not supported (this build reads versions %d to %d)", ver,
			 EUICC_NVM_OLDEST, EUICC_NVM_VERSION);
		v.bad = 1;
		goto out;
	}
	get_hex(&v, root, "eid", n->eid, 16);
	if (!v.bad) {
		char e[33];
		hex_encode(n->eid, 16, e);
		if (eid_check(e))
			bad(&v, "field '%s' is not an EID with valid check digits", "eid");
	}
	n->curve = (crypto_curve)get_int(&v, root, "curve", 0, 3);
	if (n->curve != CRYPTO_CURVE_P256 && n->curve != CRYPTO_CURVE_BRAINPOOLP256R1)
		bad(&v, "field '%s' names an unsupported curve", "curve");
	get_hex(&v, root, "ecasd_sk", n->ecasd_sk, 32);
	get_hex(&v, root, "ecasd_pk", n->ecasd_pk, 65);
	n->ecasd_cert_len = (uint16_t)get_hex_var(&v, root, "ecasd_cert", n->ecasd_cert, sizeof(n->ecasd_cert));
	n->eum_cert_len = (uint16_t)get_hex_var(&v, root, "eum_cert", n->eum_cert, sizeof(n->eum_cert));
	get_hex(&v, root, "ci_pk", n->ci_pk, 65);
	json_t *ks = json_object_get(root, "keysets"), *j;
	size_t i;
	if (!json_is_array(ks) || json_array_size(ks) > EUICC_MAX_KEYSETS)
		bad(&v, "field '%s' is missing or has too many entries", "keysets");
	json_array_foreach(ks, i, j)
	{
		if (v.bad || i >= EUICC_MAX_KEYSETS)
			break;
		load_keyset(&v, j, &n->keysets[i]);
	}
	get_hex(&v, root, "mo_counter", n->mo_counter, 5);
	json_t *ps = json_object_get(root, "profiles");
	if (!json_is_array(ps) || json_array_size(ps) > EUICC_MAX_PROFILES)
		bad(&v, "field '%s' is missing or has more than 4 entries", "profiles");
	int enabled = 0;
	json_array_foreach(ps, i, j)
	{
		if (v.bad)
			break;
		load_profile(&v, j, n, &enabled);
	}
	if (!v.bad && enabled > 1)
		bad(&v, "more than one profile is enabled ('%s')", "profiles");
	json_t *ns = json_object_get(root, "notifications");
	if (!json_is_array(ns) || json_array_size(ns) > EUICC_MAX_NOTIFS)
		bad(&v, "field '%s' is missing or has too many entries", "notifications");
	json_array_foreach(ns, i, j)
	{
		if (v.bad || i >= EUICC_MAX_NOTIFS)
			break;
		nvm_notif *t = &n->notifs[i];
		t->used = true;
		t->seq = (uint16_t)get_int(&v, j, "seq", 1, 65535);
		t->type = (uint8_t)get_int(&v, j, "type", 1, 255);
		get_hex(&v, j, "aid", t->aid, 16);
	}
	n->next_seq = (uint16_t)get_int(&v, root, "next_seq", 1, 65535);
	n->fallback_threshold = (uint8_t)get_int(&v, root, "fallback_threshold", 1, 255);
	json_t *sm = json_object_get(root, "smsr");
	n->smsr.toa = (uint8_t)get_int(&v, sm, "toa", 0, 255);
	const char *dg = json_string_value(json_object_get(sm, "digits"));
	if (!dg || strlen(dg) > SMS_MAX_ADDR_DIGITS || strspn(dg, "0123456789*#abc") != strlen(dg))
		bad(&v, "field '%s' is missing or not an address", "smsr.digits");
	else
		snprintf(n->smsr.digits, sizeof(n->smsr.digits), "%s", dg);
	get_hex(&v, root, "rng_seed", n->rng_seed, 32);
	n->rng_counter = (uint64_t)get_int(&v, root, "rng_counter", 0, INT64_MAX);
out:
	/* the blobs as far as they are used: a whole-struct copy would make every page of the card's
	 * 227 KiB NVM resident, used or not (issue 12: ~300 kB of RSS per idle card) */
	if (!v.bad)
		nvm_copy(out, n);
	nvm_wipe(n);
	euicc_big_free(n, sizeof(*n));
	return v.bad ? -1 : 0;
}

int nvm_write_snapshot(const euicc_nvm *n, const char *path, const uint8_t id[16], int *lock_fd, char *why,
		       size_t why_len)
{
	size_t len = 0;
	char *text = nvm_render(n, id, NULL, &len);
	if (!text) {
		snprintf(why, why_len, "out of memory serialising the NVM");
		return -1;
	}
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 32);
	int rc = -1, fd = -1;
	if (!tmp)
		goto out;
	snprintf(tmp, plen + 32, "%s.new.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(why, why_len, "cannot create %s: %s", tmp, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			snprintf(why, why_len, "cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (size_t)w;
	}
	/* the data must be on disk before the rename makes it the NVM (a crash leaves old or new) */
	if (fdatasync(fd) != 0) {
		snprintf(why, why_len, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	/* a locked card keeps its lock: the new file is locked before it takes the name */
	bool move_lock = lock_fd && *lock_fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;
	if (!move_lock) {
		close(fd);
		fd = -1;
	}
	if (rename(tmp, path) != 0) {
		snprintf(why, why_len, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		goto out;
	}
	if (move_lock) {
		close(*lock_fd);
		*lock_fd = fd;
		fd = -1;
	}
	/* the rename itself must be durable before the journal starts over for the new snapshot's id */
	if (sync_dir_of(path) != 0) {
		snprintf(why, why_len, "cannot sync the directory of %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc && tmp)
		unlink(tmp);
	free(tmp);
	crypto_wipe(text, len);
	free(text);
	return rc;
}

/* the whole NVM as a snapshot at path under a new journal id (id out) */
int nvm_new_snapshot_id(euicc_card *c, const char *path, uint8_t id[16], char *why, size_t why_len)
{
	if (crypto_random(id, 16)) {
		snprintf(why, why_len, "no random numbers for the journal id");
		return -1;
	}
	return nvm_write_snapshot(&c->nvm, path, id, &c->lock_fd, why, why_len);
}

/* a snapshot with a new journal id; the journal starts over */
static int checkpoint(euicc_card *c, char *why, size_t why_len)
{
	uint8_t id[16];
	if (nvm_new_snapshot_id(c, c->path, id, why, why_len))
		return -1;
	journal_restart(&c->jr, id);
	euicc_tracef(c, "NVM: snapshot written, journal started over");
	return 0;
}

int nvm_commit(euicc_card *c, const bool touched[EUICC_MAX_PROFILES], char *why, size_t why_len)
{
	if (nvm_still_ours(c, why, why_len))
		return -1;
	/* The generator's and the OTA counters' marks move with the first record a session writes, when
	 * nothing is left below them (as after every load): the draw that follows (key establishment) and
	 * the first packet then change no NVM, where each would have cost a record of its own. */
	if (c->rng_pos >= c->nvm.rng_counter)
		c->nvm.rng_counter = c->rng_pos + 1024;
	ota_reserve_ahead(c);
	size_t len = 0;
	char *text = nvm_render(&c->nvm, NULL, touched, &len);
	if (!text) {
		snprintf(why, why_len, "out of memory serialising the NVM");
		return -1;
	}
	int rc = journal_append(&c->jr, c->path, text, len, why, why_len);
	crypto_wipe(text, len);
	free(text);
	if (rc == 1)
		rc = checkpoint(c, why, why_len);
	else if (rc == 0)
		euicc_tracef(c, "NVM: journal record %u (%zu bytes)", c->jr.seq, len);
	if (rc == 0)
		c->lazy_pending = false;
	return rc;
}

/* The state file and the journal are still the ones this card writes: not removed, not replaced (by
 * hand, or by a tool that ignored the lock). After either, a crash would bring back an older card, or
 * none, with its counters below those already used: the card stops acknowledging changes. */
int nvm_still_ours(euicc_card *c, char *why, size_t why_len)
{
	if (c->state_lost) {
		snprintf(why, why_len, "%s", c->state_lost_why);
		return -1;
	}
	struct stat a, b;
	const char *what = NULL;
	if (c->lock_fd >= 0 && fstat(c->lock_fd, &a) == 0 &&
	    (a.st_nlink == 0 || stat(c->path, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev))
		what = c->path;
	char *jp = NULL;
	if (!what && c->jr.fd >= 0 && fstat(c->jr.fd, &a) == 0) {
		jp = journal_path(c->path);
		if (jp && (a.st_nlink == 0 || stat(jp, &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev))
			what = jp;
	}
	if (what) {
		snprintf(c->state_lost_why, sizeof(c->state_lost_why),
			 "%.200s was removed or replaced while the card ran; it acknowledges no more changes", what);
		c->state_lost = true;
		snprintf(why, why_len, "%s", c->state_lost_why);
	}
	free(jp);
	return what ? -1 : 0;
}
