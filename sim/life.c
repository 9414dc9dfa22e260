/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card's life: creation, loading its state file (locked first, then read), cloning, locking,
 * saving and freeing. The file's format and the commits of each change are nvm.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apdu/crypto.h"
#include "apdu/gpcert.h"
#include <dirent.h>

#include "apdu/hex.h"
#include "apdu/ids.h"
#include "euicc_int.h"

bool euicc_unsaved(const euicc_card *c)
{
	if (!c->path)
		return false;
	if (c->jr.seq > 0 || c->lazy_pending)
		return true;
	/* a journal with records of its own (an empty one is where a farm card's records will go) */
	char *jp = journal_path(c->path);
	struct stat st;
	bool j = jp && stat(jp, &st) == 0 && st.st_size > 0;
	free(jp);
	return j;
}

const char *euicc_load_note(const euicc_card *c)
{
	return c->load_note[0] ? c->load_note : NULL;
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
	c->es8.perso_target = -1;
	c->es8.dl_target = -1;
	c->check_blobs = getenv("EUICC_CHECK_BLOBS") != NULL;
	c->cat.switch_from = c->cat.switch_to = -1;
	sms_reassembly_init(&c->ota.sms);
	abuf_init(&c->es8.dl_buf);
	abuf_init(&c->fs.bt_rest);
	abuf_init(&c->fs.bt_set);
	c->fs.bt_set_ef = -1;
	return c;
}

/* The ECASD key pair from the card's generator, CERT.ECASD.ECKA from the issuer's EUM, the EUM's
 * certificate and PK.CI. -1 with why. */
static int certify(euicc_card *c, const euicc_new_opts *o, const char *eid, char *why, size_t why_len)
{
	euicc_nvm *n = &c->nvm;
	crypto_eckey *k = NULL;
	int rc = -1;
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
		goto out;
	}
	if (!o->issuer.eum || !o->issuer.ci || !o->issuer.eum_cert) {
		snprintf(why, why_len, "no PKI to certify the card");
		goto out;
	}
	abuf cert = ABUF_INIT;
	char subj[64];
	snprintf(subj, sizeof(subj), "eUICC %s", eid);
	e = gpcert_issue(o->issuer.eum, GPCERT_ROLE_ECASD, GPCERT_KEY_USAGE_AGREE, subj, n->ecasd_pk, n->curve, &cert);
	if (e || cert.len > sizeof(n->ecasd_cert) || o->issuer.eum_cert_len > sizeof(n->eum_cert)) {
		abuf_free(&cert);
		snprintf(why, why_len, "cannot certify the ECASD key: %s", apdu_strerror(e));
		goto out;
	}
	memcpy(n->ecasd_cert, cert.p, cert.len);
	n->ecasd_cert_len = (uint16_t)cert.len;
	abuf_free(&cert);
	memcpy(n->eum_cert, o->issuer.eum_cert, o->issuer.eum_cert_len);
	n->eum_cert_len = (uint16_t)o->issuer.eum_cert_len;
	if (crypto_ec_public(o->issuer.ci, n->ci_pk)) {
		snprintf(why, why_len, "bad CI key");
		goto out;
	}
	rc = 0;
out:
	crypto_ec_free(k);
	return rc;
}

euicc_card *euicc_create(const euicc_new_opts *o, char *why, size_t why_len)
{
	euicc_card *c = euicc_create_empty();
	if (!c) {
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	euicc_nvm *n = &c->nvm;
	drbg d;
	if (o->has_seed ? drbg_init_seed(&d, o->seed) != APDU_OK : drbg_init_random(&d) != APDU_OK) {
		snprintf(why, why_len, o->has_seed ? "cannot derive the seed" : "no random numbers from the OS");
		goto fail;
	}
	memcpy(n->rng_seed, d.seed, 32);
	drbg_clear(&d);
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
		if (euicc_random(c, r, sizeof(r))) {
			snprintf(why, why_len, "no random numbers for the EID");
			goto fail;
		}
		for (int i = 0; i < 20; i++)
			body[10 + i] = (char)('0' + r[i] % 10);
		body[30] = '\0';
		if (eid_complete(body, eid)) {
			snprintf(why, why_len, "cannot complete the EID's check digits");
			goto fail;
		}
	}
	if (eid_to_bytes(eid, n->eid)) {
		snprintf(why, why_len, "EID %s does not encode", eid);
		goto fail;
	}

	if (certify(c, o, eid, why, why_len))
		goto fail;

	/* ISD-R SCP80 keysets: version 1 AES-128 (as SGP.02 deployments use), version 2 3DES 2-key */
	static const struct {
		uint8_t kvn, alg, len;
	} ks[] = { { 1, 0x2, 16 }, { 2, 0x5, 16 } };
	for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		nvm_keyset *s = &n->keysets[i];
		s->used = true;
		s->kvn = ks[i].kvn;
		s->kic_alg = s->kid_alg = ks[i].alg;
		s->key_len = ks[i].len;
		if (euicc_random(c, s->kic, s->key_len) || euicc_random(c, s->kid, s->key_len)) {
			snprintf(why, why_len, "no random numbers for the OTA keysets");
			goto fail;
		}
	}
	n->fallback_threshold = (uint8_t)(o->fallback_threshold
						  ? (o->fallback_threshold > 255 ? 255 : o->fallback_threshold)
						  : 3);
	n->smsr.toa = 0x91;
	snprintf(n->smsr.digits, sizeof(n->smsr.digits), "%s", o->smsr_msisdn ? o->smsr_msisdn : "882350000000");
	n->next_seq = 1;
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++)
		memcpy(c->ota.accepted[i], n->keysets[i].counter, 5);
	/* the eUICC declares itself at its first attach */
	euicc_queue_notification(c, PROTO_NOTIF_DECLARATION, euicc_aid_isdr);
	return c;
fail:
	euicc_free(c);
	return NULL;
}

void euicc_counters_from_nvm(euicc_card *c)
{
	/* after a load every counter up to the high-water mark counts as used */
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++)
		memcpy(c->ota.accepted[i], c->nvm.keysets[i].counter, 5);
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
	sms_reassembly_free(&c->ota.sms);
	abuf_free(&c->es8.dl_buf);
	abuf_free(&c->fs.bt_rest);
	abuf_free(&c->fs.bt_set);
	/* the keys and what the blobs hold; the pages go back to the kernel, which zeroes them */
	nvm_wipe(&c->nvm);
	nvm_wipe(c->snapshot);
	crypto_wipe(&c->es8.dl, sizeof(c->es8.dl));
	euicc_big_free(c->snapshot, sizeof(*c->snapshot));
	free(c->path);
	euicc_big_free(c, sizeof(*c));
}

/* path opened and flock'ed (exclusive), the lock checked to be on the file the name means now (a
 * writer's next snapshot may have taken the name between open and lock). The fd, or -1 with why;
 * *locked false on a file system without locks (the fd is then unguarded). */
static int open_locked(const char *path, bool *locked, char *why, size_t why_len)
{
	for (int tries = 0; tries < 100; tries++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, why_len, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			int e = errno;
			if (e == EWOULDBLOCK) {
				close(fd);
				snprintf(
					why, why_len,
					"%s is in use by another process (euicc-sim run, or an --inproc smsr or apdu); "
					"stop it first: two writers would interleave the card's journal",
					path);
				return -1;
			}
			*locked = false;
			return fd; /* no locks on this file system: carry on unguarded */
		}
		struct stat a, b;
		if (fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
			*locked = true;
			return fd;
		}
		close(fd);
	}
	snprintf(why, why_len, "%s keeps being replaced; cannot lock it", path);
	return -1;
}

static int check_record(void *ctx, json_t *doc, char *why, size_t why_len)
{
	(void)ctx;
	euicc_nvm *n = euicc_big_alloc(sizeof(*n));
	if (!n) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	int rc = nvm_from_json(doc, n, why, why_len);
	nvm_wipe(n);
	euicc_big_free(n, sizeof(*n));
	return rc;
}

/* the snapshot's bytes in one buffer (jansson's json_loadfd reads a byte per system call); the
 * buffer holds the card's keys and is wiped by the caller */
static uint8_t *read_all(int fd, size_t *len)
{
	struct stat st;
	if (lseek(fd, 0, SEEK_SET) != 0 || fstat(fd, &st) != 0 || st.st_size < 0)
		return NULL;
	/* what the file says now, and a page more in case it grows under us: read to the end regardless */
	size_t cap = (size_t)st.st_size + 4096, n = 0;
	uint8_t *b = malloc(cap);
	while (b) {
		if (n == cap) {
			uint8_t *g = malloc(cap * 2);
			if (g)
				memcpy(g, b, n);
			crypto_wipe(b, n);
			free(b);
			b = g;
			cap *= 2;
			continue;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			crypto_wipe(b, n);
			free(b);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return b;
}

/* the card of the snapshot read from fd (at offset 0) and its journal; NULL with why */
static euicc_card *load_from(int fd, const char *path, char *why, size_t why_len)
{
	json_error_t err;
	size_t len = 0;
	errno = 0;
	uint8_t *text = read_all(fd, &len);
	if (!text) {
		snprintf(why, why_len, "%s: %s", path, errno ? strerror(errno) : "out of memory");
		return NULL;
	}
	json_t *root = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &err);
	crypto_wipe(text, len);
	free(text);
	if (!root) {
		snprintf(why, why_len, "%s is corrupt or truncated (%s at line %d, column %d); refusing to load it",
			 path, err.text, err.line, err.column);
		return NULL;
	}
	euicc_card *c = euicc_create_empty();
	if (!c) {
		json_decref(root);
		snprintf(why, why_len, "out of memory");
		return NULL;
	}
	char inner[400];
	/* the journal named by the snapshot, applied on top of it */
	json_t *jid = json_object_get(root, "journal");
	if (jid) {
		uint8_t id[16];
		const char *h = json_string_value(jid);
		if (!h || hex_decode_exact(h, id, 16)) {
			snprintf(why, why_len, "%s: field 'journal' is not 16 bytes of hex; refusing to load it", path);
			json_decref(root);
			euicc_free(c);
			return NULL;
		}
		if (journal_read(path, id, &root, &c->jr, c->load_note, sizeof(c->load_note), check_record, NULL, inner,
				 sizeof(inner))) {
			snprintf(why, why_len, "%s; refusing to load it", inner);
			json_decref(root);
			euicc_free(c);
			return NULL;
		}
		memcpy(c->jr.id, id, 16);
		c->jr.have_id = true;
	}
	if (nvm_from_json(root, &c->nvm, inner, sizeof(inner))) {
		snprintf(why, why_len, "%s: %s; refusing to load it", path, inner);
		json_decref(root);
		euicc_free(c);
		return NULL;
	}
	json_decref(root);
	euicc_counters_from_nvm(c);
	return c;
}

/* PATH.new.PID files a killed writer left (each holds every key of the card): with the lock held nobody
 * else is writing one, so they go */
static void remove_stale_temps(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	const char *base = slash ? slash + 1 : path;
	DIR *d = dir ? opendir(dir) : NULL;
	size_t bl = strlen(base);
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		const char *n = e->d_name;
		if (strncmp(n, base, bl) || strncmp(n + bl, ".new.", 5) || !n[bl + 5] ||
		    strspn(n + bl + 5, "0123456789") != strlen(n + bl + 5))
			continue;
		char full[4096];
		snprintf(full, sizeof(full), "%s/%s", dir, n);
		unlink(full);
	}
	if (d)
		closedir(d);
	free(dir);
}

euicc_card *euicc_load(const char *path, char *why, size_t why_len)
{
	/* lock first, then read the locked file: a card read before the lock could be a stale copy of
	 * one another process was still changing */
	bool locked = false;
	int fd = open_locked(path, &locked, why, why_len);
	if (fd < 0)
		return NULL;
	euicc_card *c = load_from(fd, path, why, why_len);
	if (!c || !(c->path = strdup(path))) {
		if (c)
			snprintf(why, why_len, "out of memory");
		euicc_free(c);
		close(fd);
		return NULL;
	}
	if (locked) {
		c->lock_fd = fd;
		remove_stale_temps(path);
	} else {
		close(fd);
	}
	return c;
}

euicc_card *euicc_load_readonly(const char *path, char *why, size_t why_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return NULL;
	}
	euicc_card *c = load_from(fd, path, why, why_len);
	close(fd);
	return c; /* no state file: it changes in memory only, until euicc_save gives it one */
}

/* path locked for c (c->lock_fd); a file system without locks leaves c unguarded */
static int lock_into(euicc_card *c, const char *path, char *why, size_t why_len)
{
	bool locked = false;
	int fd = open_locked(path, &locked, why, why_len);
	if (fd < 0)
		return -1;
	if (locked)
		c->lock_fd = fd;
	else
		close(fd);
	return 0;
}

euicc_card *euicc_clone(const euicc_card *src)
{
	euicc_card *c = euicc_create_empty();
	if (!c)
		return NULL;
	nvm_copy(&c->nvm, &src->nvm);
	euicc_counters_from_nvm(c); /* as a load of src's NVM would give */
	return c;
}

int euicc_claim(euicc_card *c, const char *path, char *why, size_t why_len)
{
	if (c->lock_fd >= 0 || (c->path && strcmp(c->path, path))) {
		snprintf(why, why_len, "this card already has a state file");
		return -1;
	}
	if (access(path, F_OK) != 0)
		return 0; /* nothing there yet: the save creates it */
	return lock_into(c, path, why, why_len);
}

int euicc_lock(euicc_card *c, char *why, size_t why_len)
{
	if (!c->path || c->lock_fd >= 0)
		return 0;
	return lock_into(c, c->path, why, why_len);
}

void euicc_forget_state_file(euicc_card *c)
{
	free(c->path);
	c->path = NULL;
}

int euicc_save(euicc_card *c, const char *path, char *why, size_t why_len)
{
	if (c->path && !strcmp(c->path, path) && nvm_still_ours(c, why, why_len))
		return -1; /* not written over what took its place */
	/* An explicit save happens between commands: the marks can come down to what was really used
	 * (never below it), so the next start needs no resynchronisation. */
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++)
		if (c->nvm.keysets[i].used)
			memcpy(c->nvm.keysets[i].counter, c->ota.accepted[i], 5);
	c->nvm.rng_counter = c->rng_pos;
	for (int i = 4, v = 0; i >= 0; i--, v += 8)
		c->nvm.mo_counter[i] = (uint8_t)(c->mo_pos >> v);
	uint8_t id[16];
	if (nvm_new_snapshot_id(c, path, id, why, why_len))
		return -1;
	/* at rest the state is the one file: a journal there belongs to an earlier snapshot */
	char *jp = journal_path(path);
	if (jp)
		unlink(jp);
	free(jp);
	if (!c->path || strcmp(c->path, path)) {
		free(c->path);
		c->path = strdup(path);
	}
	journal_close(&c->jr);
	journal_restart(&c->jr, id);
	c->lazy_pending = false;
	return 0;
}

void euicc_set_journal_size(euicc_card *c, size_t bytes)
{
	size_t pages = (bytes + JOURNAL_PAGE - 1) / JOURNAL_PAGE;
	if (pages < 16)
		pages = 16;
	if (pages > JOURNAL_BYTES / JOURNAL_PAGE)
		pages = JOURNAL_BYTES / JOURNAL_PAGE;
	c->jr.size = pages * JOURNAL_PAGE;
}
