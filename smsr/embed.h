/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Files built into the smsr program (scripts/embed): the portal and the OpenAPI document. */
#ifndef SMSR_EMBED_H
#define SMSR_EMBED_H

#include <stddef.h>

typedef struct {
	const char *url, *ctype;
	const unsigned char *data;
	size_t len;
} embedded_file;

extern const embedded_file embedded_files[]; /* ends with a NULL url */

#endif
