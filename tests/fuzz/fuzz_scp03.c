/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/scp03.h"

/* An authenticated card session at level 33 (fixed challenges), then the input as a secured C-APDU,
 * as an SCP03t '86' TLV and as a host-side response. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scp03_keys k;
	memset(&k, 0, sizeof(k));
	k.kvn = 0x30;
	k.key_len = 16;
	for (int i = 0; i < 16; i++)
		k.enc[i] = k.mac[i] = k.dek[i] = (uint8_t)i;
	const uint8_t hc[8] = { 1 }, cc[8] = { 2 }, kdd[10] = { 0 };
	scp03_session host, card;
	memset(&host, 0, sizeof(host));
	memset(&card, 0, sizeof(card));
	abuf r = ABUF_INIT, ea = ABUF_INIT, out = ABUF_INIT;
	if (scp03_card_init(&card, &k, 0x70, hc, cc, kdd, NULL, &r) || scp03_host_init(&host, &k, hc, r.p, r.len) ||
	    scp03_host_external_authenticate(&host, 0x33, &ea) || scp03_card_external_authenticate(&card, ea.p, ea.len))
		abort();
	(void)!scp03_card_unwrap_command(&card, data, size, &out); /* the verdict is not what is fuzzed */
	abuf_reset(&out);
	if (size >= 2)
		(void)!scp03_unwrap_response(&host, data, size - 2, (uint16_t)((data[size - 2] << 8) | data[size - 1]),
					     &out); /* the verdict is not what is fuzzed */
	scp03_session t = card;
	abuf_reset(&out);
	(void)!scp03t_card_unwrap(&t, data, size, &out); /* the verdict is not what is fuzzed */
	scp03_session t2;
	memset(&t2, 0, sizeof(t2));
	abuf_reset(&out);
	(void)!scp03t_card_open(&t2, &k, data, size, cc, kdd, NULL, &out); /* the verdict is not what is fuzzed */
	abuf_free(&r);
	abuf_free(&ea);
	abuf_free(&out);
	return 0;
}
