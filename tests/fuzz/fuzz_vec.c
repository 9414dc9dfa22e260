/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The conformance-vector parser of `apdu replay` (cases, states, steps, expectation patterns): any
 * bytes. It reads them or names the line it refuses; either way nothing leaks or crashes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[600];
	why[0] = '\0';
	if (replay_check_text((const char *)data, size, why, sizeof(why)) && !why[0])
		abort(); /* a refusal always says why */
	return 0;
}
