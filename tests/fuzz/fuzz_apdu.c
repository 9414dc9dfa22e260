/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/apdu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	capdu a;
	if (capdu_parse(data, size, &a) == APDU_OK) {
		/* whatever parses re-encodes to the same bytes */
		abuf b = ABUF_INIT;
		if (capdu_encode(&a, &b) != APDU_OK || b.len != size || memcmp(b.p, data, size) != 0)
			abort();
		abuf_free(&b);
	}
	rapdu r;
	(void)!rapdu_parse(data, size, &r); /* the verdict is not what is fuzzed */
	return 0;
}
