/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/tlv.h"

static int visit(const tlv *t, int depth, void *ctx)
{
	size_t *sum = ctx;
	/* touch every byte of every value: ASan catches a view that points outside the input */
	for (size_t i = 0; i < t->len; i++)
		*sum += t->value[i];
	(void)depth;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sum = 0;
	(void)!tlv_walk(data, size, 0, visit, &sum); /* the verdict is not what is fuzzed */
	acur c = acur_make(data, size);
	tlv t;
	abuf b = ABUF_INIT;
	while (c.len && tlv_next(&c, &t) == APDU_OK) {
		/* re-encoding a parsed item in shortest form never grows it */
		abuf_reset(&b);
		if (tlv_put(&b, t.tag, t.value, t.len) != APDU_OK || b.len > t.raw_len)
			abort();
	}
	abuf_free(&b);
	dgi d;
	c = acur_make(data, size);
	while (c.len && dgi_next(&c, &d) == APDU_OK)
		;
	return 0;
}
