/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR's package checks (profile show, and download before anything is sent): any bytes as a
 * profile package. What it describes has an ICCID with valid check digits; a refusal says why. */
#include <stdlib.h>
#include <string.h>

#include "apdu/ids.h"
#include "host/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[400];
	why[0] = '\0';
	json_t *d = profile_describe(data, size, false, why, sizeof(why));
	if (!d) {
		if (!why[0])
			abort();
		return 0;
	}
	const char *iccid = json_string_value(json_object_get(d, "iccid"));
	if (!iccid || iccid_check(iccid))
		abort();
	/* keys are never part of a description without --show-secrets */
	char *text = json_dumps(d, 0);
	if (!text || strstr(text, "\"k\"") || strstr(text, "\"opc\""))
		abort();
	free(text);
	json_decref(d);
	return 0;
}
