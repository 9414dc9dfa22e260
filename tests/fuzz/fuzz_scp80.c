/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/scp80.h"

/* Fixed keysets: the fuzzer explores the parser; the keys decide the algorithm family. */
static void keyset(scp80_keyset *ks, uint8_t alg)
{
	memset(ks, 0, sizeof(*ks));
	ks->kic = ks->kid = (uint8_t)(0x10 | alg);
	ks->kic_key_len = ks->kid_key_len = alg == 0x9 ? 24 : 16;
	for (size_t i = 0; i < 24; i++) {
		ks->kic_key[i] = (uint8_t)i;
		ks->kid_key[i] = (uint8_t)(i + 0x40);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scp80_cmd_hdr h;
	abuf out = ABUF_INIT;
	if (scp80_parse_command_header(data, size, &h) == APDU_OK) {
		scp80_keyset ks;
		keyset(&ks, (h.kic & 0x0f) == 0x2 ? 0x2 : 0x5);
		ks.kic = h.kic;
		ks.kid = h.kid;
		if (scp80_unwrap_command(&ks, data, size, &h, &out) == APDU_OK) {
			scp80_script_iter it;
			for (int f = 0; f < 2; f++) {
				if (scp80_script_begin(&it, f ? SCP80_FORMAT_EXPANDED : SCP80_FORMAT_COMPACT, out.p,
						       out.len))
					continue;
				scp80_script_item item;
				bool done = false;
				while (scp80_script_next(&it, &item, &done) == APDU_OK && !done)
					;
			}
		}
	}
	if (size >= 2) {
		/* first two bytes pick the SPI for the PoR parser */
		uint16_t spi = (uint16_t)((data[0] << 8) | data[1]);
		scp80_keyset ks;
		keyset(&ks, (data[0] & 1) ? 0x2 : 0x5);
		scp80_por_hdr ph;
		abuf_reset(&out);
		if (scp80_unwrap_por(&ks, spi, data + 2, size - 2, &ph, &out) == APDU_OK) {
			scp80_response r;
			(void)!scp80_response_parse(SCP80_FORMAT_COMPACT, out.p, out.len,
						    &r); /* the verdict is not what is fuzzed */
			(void)!scp80_response_parse(SCP80_FORMAT_EXPANDED, out.p, out.len,
						    &r); /* the verdict is not what is fuzzed */
		}
	}
	scp80_response r;
	(void)!scp80_response_parse(SCP80_FORMAT_EXPANDED, data, size, &r); /* the verdict is not what is fuzzed */
	abuf_free(&out);
	return 0;
}
