/* SPDX-License-Identifier: GPL-2.0-or-later */
/* One command as one transaction: the NVM as it was is kept before a state-changing command, and
 * afterwards the change is committed (a journal record) or, when it cannot be, undone whole. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "euicc_int.h"

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

void txn_begin(euicc_card *c)
{
	if (!c->path)
		return; /* an in-memory card has nothing to commit */
	nvm_copy_fixed(c->snapshot, &c->nvm);
	memset(c->blob_saved, 0, sizeof(c->blob_saved));
	c->snapshot_active = true;
	if (c->check_blobs)
		nvm_copy(c->snapshot, &c->nvm); /* the whole of it, to catch a blob changed untouched */
}

eu_status txn_end(euicc_card *c, eu_status st, abuf *out, size_t proactive_before)
{
	if (!c->path)
		return st;
	if (c->check_blobs) {
		for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
			const nvm_profile *x = &c->snapshot->profiles[i], *y = &c->nvm.profiles[i];
			if (x->blob_gen == y->blob_gen && x->package_len == y->package_len &&
			    x->fsdata_len == y->fsdata_len &&
			    (memcmp(x->package, y->package, x->package_len) ||
			     memcmp(x->fsdata, y->fsdata, x->fsdata_len)))
				abort(); /* a blob changed without euicc_blob_touch: it would not be saved */
		}
	}
	c->snapshot_active = false;
	bool changed = !nvm_equal_fixed(c->snapshot, &c->nvm), touched = false;
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
			if (c->cat.n_proactive > proactive_before)
				c->cat.n_proactive = proactive_before;
			abuf_reset(out);
			st = EU_MEMORY_FAILURE;
			euicc_tracef(c, "NVM save failed: %s", why);
		}
	}
	return st;
}
