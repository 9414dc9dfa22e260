/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The vpcd framing of euicc-sim: any byte stream, fed in pieces whose sizes the input's first byte
 * chooses. The frames the framer hands out must be exactly those a plain reading of the stream gives
 * (2-byte length, payload), and one larger than the limit stops it. */
#include <stdlib.h>
#include <string.h>

#include "euicc/vpcd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = (size_t)(data[0] % 7) + 1, max = data[0] & 0x80 ? 300 : 65535;
	const uint8_t *s = data + 1;
	size_t n = size - 1, pos = 0, ref = 0;
	vpcd_framer f;
	vpcd_framer_init(&f, max);
	while (pos < n) {
		size_t take = n - pos < step ? n - pos : step, used = 0;
		int st = vpcd_framer_feed(&f, s + pos, take, &used);
		if (used > take)
			abort();
		pos += used;
		if (st < 0) {
			/* only a frame over the limit stops it: its header says so */
			size_t len = (size_t)s[ref] << 8 | s[ref + 1];
			if (len <= max)
				abort();
			break;
		}
		if (st == 1) {
			size_t len = (size_t)s[ref] << 8 | s[ref + 1];
			if (f.len != len || ref + 2 + len != pos || (len && memcmp(f.buf, s + ref + 2, len)))
				abort();
			ref = pos;
		} else if (used != take) {
			abort(); /* it takes all it is given until a frame is whole */
		}
		step = step % 5 + 1;
	}
	vpcd_framer_free(&f);
	return 0;
}
