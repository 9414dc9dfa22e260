/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The services every part of the card uses: the status-word table, the trace, the random generator,
 * profile lookups, the copy-on-write mark of a profile's blobs, the notification queue, big blocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "apdu/hex.h"
#include "euicc_int.h"

const uint8_t euicc_aid_isdr[16] = PROTO_AID_ISDR, euicc_aid_ecasd[16] = PROTO_AID_ECASD;

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
		if (c->nvm.profiles[i].used && c->nvm.profiles[i].state == PROTO_ISDP_ENABLED)
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

void euicc_queue_notification(euicc_card *c, uint8_t type, const uint8_t aid[16])
{
	euicc_nvm *n = &c->nvm;
	int slot = -1;
	for (int i = 0; i < EUICC_MAX_NOTIFS; i++)
		if (!n->notifs[i].used) {
			slot = i;
			break;
		}
	if (slot < 0) {
		/* full: the oldest unconfirmed notification gives way */
		slot = 0;
		for (int i = 1; i < EUICC_MAX_NOTIFS; i++)
			if (n->notifs[i].seq < n->notifs[slot].seq)
				slot = i;
	}
	nvm_notif *t = &n->notifs[slot];
	t->used = true;
	t->seq = n->next_seq++;
	if (n->next_seq == 0)
		n->next_seq = 1;
	t->type = type;
	memcpy(t->aid, aid, 16);
	euicc_tracef(c, "notification %u queued (type %02x)", t->seq, type);
}

void euicc_want_refresh(euicc_card *c)
{
	c->cat.refresh_wanted = true;
}
