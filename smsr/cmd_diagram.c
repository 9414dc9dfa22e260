/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr diagram IN.mmd... --out OUT.mmd|OUT.svg: diagrams that --diagram wrote, joined in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diagram.h"
#include "smsr.h"

int smsr_cmd_diagram(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	const char *out = smsr_opt(argc, argv, "--out");
	if (!out || argc < 4)
		return smsr_fail(x, CLI_USAGE, "usage: smsr diagram IN.mmd... --out OUT.mmd|OUT.svg");
	diagram *d = diagram_new();
	char why[600];
	int rc = 0;
	for (int i = 1; i < argc && !rc; i++) {
		if (!strcmp(argv[i], "--out")) {
			i++;
			continue;
		}
		abuf text = ABUF_INIT;
		if (smsr_read_file(argv[i], &text, why, sizeof(why)))
			rc = smsr_fail(x, 1, "diagram: %s", why);
		else {
			abuf_put_u8(&text, 0);
			if (diagram_read_mermaid(d, (const char *)text.p))
				rc = smsr_fail(x, 1, "diagram: %s is not a sequence diagram of smsr --diagram",
					       argv[i]);
		}
		abuf_free(&text);
	}
	if (!rc && diagram_write(d, out, why, sizeof(why)))
		rc = smsr_fail(x, 1, "diagram: %s", why);
	if (!rc && x->json)
		smsr_emit(x, json_pack("{s:s,s:I}", "out", out, "arrows", (json_int_t)diagram_arrows(d)));
	else if (!rc)
		printf("%s: %zu steps\n", out, diagram_arrows(d));
	diagram_free(d);
	return rc;
}
