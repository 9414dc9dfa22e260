/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/tlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	acur c = acur_make(data, size);
	ctlv t;
	abuf b = ABUF_INIT;
	while (c.len) {
		const uint8_t *start = c.p;
		if (ctlv_next(&c, &t) != APDU_OK)
			break;
		/* shortest-form lengths are enforced, so re-encoding gives the same bytes back */
		abuf_reset(&b);
		if (ctlv_put_item(&b, &t) != APDU_OK)
			abort();
		if (b.len != (size_t)(c.p - start) || memcmp(b.p, start, b.len) != 0)
			abort();
	}
	abuf_free(&b);
	return 0;
}
