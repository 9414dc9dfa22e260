/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Mermaid that `smsr diagram` reads back (smsr/diagram.c): any bytes as a diagram file. What is read
 * writes as Mermaid and SVG, and the Mermaid read again has the same number of steps. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diagram.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[] = "/tmp/fuzz-diagram-XXXXXX";

static void teardown(void)
{
	char p[64];
	snprintf(p, sizeof(p), "%s/d.mmd", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/d.svg", dir);
	unlink(p);
	rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		if (!mkdtemp(dir))
			abort();
		atexit(teardown);
		ready = true;
	}
	if (size > 65536)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	diagram *d = diagram_new();
	char why[300], mmd[64], svg[64];
	snprintf(mmd, sizeof(mmd), "%s/d.mmd", dir);
	snprintf(svg, sizeof(svg), "%s/d.svg", dir);
	if (!diagram_read_mermaid(d, text)) {
		size_t n = diagram_arrows(d);
		if (diagram_write(d, mmd, why, sizeof(why)) || diagram_write(d, svg, why, sizeof(why)))
			abort();
		FILE *f = fopen(mmd, "r");
		char *back = calloc(1, 1 << 22);
		size_t got = f ? fread(back, 1, (1 << 22) - 1, f) : 0;
		if (f)
			fclose(f);
		diagram *again = diagram_new();
		if (!got || diagram_read_mermaid(again, back) || diagram_arrows(again) != n)
			abort();
		diagram_free(again);
		free(back);
	}
	diagram_free(d);
	free(text);
	return 0;
}
