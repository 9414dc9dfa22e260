/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A device scenario as `euicc-sim farm events` reads it (sim_scenario_check): any bytes as JSON, for
 * a farm of 6 cards. A scenario taken has a start and steps; a refusal names where. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "euicc_sim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!o)
		return 0;
	char why[1400];
	why[0] = '\0';
	long long start = 0;
	if (sim_scenario_check(o, 6, &start, why, sizeof(why))) {
		if (!why[0])
			abort();
	} else if (!json_array_size(json_object_get(o, "steps"))) {
		abort();
	}
	json_decref(o);
	return 0;
}
