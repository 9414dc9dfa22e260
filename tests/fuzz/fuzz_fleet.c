/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fleet's text inputs: any bytes as one line of `smsr fleet import` (eis,endpoint,tags), as a --tag
 * value and as an endpoint URI. A line taken has a non-empty eis and an endpoint the transports accept;
 * a refusal names why. */
#include <stdlib.h>
#include <string.h>

#include "host/link.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	char *line = malloc(size + 1), why[1400];
	memcpy(line, data, size);
	line[size] = '\0';
	why[0] = '\0';
	json_t *tags = json_object();
	if (store_parse_tags(line, tags, why, sizeof(why)) && !why[0])
		abort();
	json_decref(tags);
	why[0] = '\0';
	if (link_check_uri(line, why, sizeof(why)) && !why[0])
		abort();
	store_fleet_row row;
	why[0] = '\0';
	if (store_fleet_line(line, &row, why, sizeof(why))) {
		if (!why[0])
			abort();
	} else {
		char w2[1400];
		if (!row.eis[0] || !json_is_object(row.tags) || link_check_uri(row.endpoint, w2, sizeof(w2)))
			abort();
		json_decref(row.tags);
	}
	free(line);
	return 0;
}
