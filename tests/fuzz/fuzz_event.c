/* SPDX-License-Identifier: GPL-2.0-or-later */
/* An event as `smsr event --file` reads it (rules_event_parse): any bytes as one JSON line. An event
 * taken has an eUICC, a type the rules know, a time and an object of fields; a refusal names the
 * field. */
#include <stdlib.h>
#include <string.h>

#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!o)
		return 0;
	store_event e;
	char why[800];
	why[0] = '\0';
	if (rules_event_parse(o, &e, 1767225600, why, sizeof(why))) {
		if (strncmp(why, "field '", 7) && strcmp(why, "expected a JSON object"))
			abort(); /* every refusal names its field */
		if (e.fields)
			abort(); /* nothing left to free on a refusal */
	} else {
		if (!e.eid || !*e.eid || !e.type || !json_is_object(e.fields) || e.time < 0)
			abort();
		json_decref(e.fields);
	}
	json_decref(o);
	return 0;
}
