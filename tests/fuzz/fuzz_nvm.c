/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVM loader: any bytes as the card's state file. Whatever loads must be a consistent card. */
#include <stdlib.h>
#include <string.h>

#include "euicc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!root)
		return 0;
	euicc_nvm *n = calloc(1, sizeof(*n));
	char why[300];
	if (n && nvm_from_json(root, n, why, sizeof(why)) == 0) {
		int enabled = 0;
		for (int i = 0; i < EUICC_MAX_PROFILES; i++)
			enabled += n->profiles[i].used && n->profiles[i].state == PROTO_ISDP_ENABLED;
		if (enabled > 1)
			abort();
		/* and it saves back to the same content */
		json_t *again = nvm_to_json(n, true);
		euicc_nvm *m = calloc(1, sizeof(*m));
		if (!m || nvm_from_json(again, m, why, sizeof(why)) || memcmp(m, n, sizeof(*n)))
			abort();
		free(m);
		json_decref(again);
	}
	free(n);
	json_decref(root);
	return 0;
}
