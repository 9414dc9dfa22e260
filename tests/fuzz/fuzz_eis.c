/* SPDX-License-Identifier: GPL-2.0-or-later */
/* EIS import: any bytes as the EIS file `smsr register` reads (duplicate keys refused) and the device
 * adapter's EIS reading. What the store's check accepts must give the adapter a usable keyset. */
#include <stdlib.h>
#include <string.h>

#include "apdu/scp80.h"
#include "host/adapter.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t no_transmit(void *ctx, const uint8_t *a, size_t len, uint8_t *r, size_t cap)
{
	(void)ctx, (void)a, (void)len, (void)r, (void)cap;
	return 0;
}

static void no_reset(void *ctx)
{
	(void)ctx;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t err;
	json_t *eis = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &err);
	if (!eis)
		return 0;
	char why[400];
	int ok = store_check_eis(eis, why, sizeof(why)) == 0;
	if (!ok && !why[0])
		abort(); /* a refusal names the field */
	dev_transport t = { no_transmit, no_reset, NULL };
	dev_host h;
	int drc = dev_init(&h, &t, eis);
	if (ok && (drc || scp80_keyset_check(&h.ks, 0x1639)))
		abort(); /* an EIS register takes is one the adapter can use */
	dev_free(&h);
	json_decref(eis);
	return 0;
}
