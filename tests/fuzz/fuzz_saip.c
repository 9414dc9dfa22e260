/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SAIP package parser (profile package -> file system, PINs): any bytes. What it accepts must be a
 * consistent tree whose files fit the data it laid out, the same with and without writing the data. */
#include <stdlib.h>
#include <string.h>

#include "euicc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fs_tree *t = malloc(sizeof(*t)), *u = malloc(sizeof(*u));
	uint8_t *fsdata = malloc(EUICC_MAX_FSDATA);
	nvm_pin pins[EUICC_MAX_PINS], puks[EUICC_MAX_PUKS];
	if (!t || !u || !fsdata)
		abort();
	int rc = saip_build(data, size, t, fsdata, EUICC_MAX_FSDATA, pins, puks);
	int rc2 = saip_build(data, size, u, NULL, 0, NULL, NULL);
	if (rc != rc2)
		abort();
	if (rc == 0) {
		if (t->data_len > EUICC_MAX_FSDATA || t->n > FS_MAX_FILES || t->data_len != u->data_len || t->n != u->n)
			abort();
		for (size_t i = 1; i < t->n; i++) {
			const fs_file *f = &t->f[i];
			if (f->parent < 0 || (size_t)f->parent >= i + 0 || (size_t)f->parent >= t->n)
				abort();
			if (f->type != FS_DF && f->type != FS_ADF && f->data_off + f->size > t->data_len)
				abort();
			if (f->rec_len && f->size % f->rec_len)
				abort();
		}
		for (int i = 0; i < EUICC_MAX_PINS; i++)
			if (pins[i].used && (pins[i].left > pins[i].max || !pins[i].max))
				abort();
	} else if (t->bad_pe < 0 || !t->why[0]) {
		abort(); /* a refusal always names the element */
	}
	free(t);
	free(u);
	free(fsdata);
	return 0;
}
