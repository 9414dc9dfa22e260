/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The replayer's JUnit XML: one testsuite per vector file, one testcase per case. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "host/cli.h"
#include "replay_int.h"

int replay_write_junit(const char *path, const vlib *L, const result *res, size_t failed, char *why, size_t why_len)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites tests=\"%zu\" failures=\"%zu\">\n",
		L->ncases, failed);
	for (size_t fi = 0; fi < L->nfiles; fi++) {
		size_t nt = 0, nf = 0, ns = 0;
		for (size_t i = 0; i < L->ncases; i++)
			if (L->cases[i].file == L->files[fi]) {
				nt++;
				nf += res[i].done && !res[i].skipped && !res[i].ok;
				ns += !res[i].done || res[i].skipped;
			}
		if (!nt)
			continue;
		fprintf(f, "  <testsuite name=\"");
		cli_xml_text(f, L->files[fi]);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n", nt, nf, ns);
		for (size_t i = 0; i < L->ncases; i++) {
			if (L->cases[i].file != L->files[fi])
				continue;
			fprintf(f, "    <testcase classname=\"");
			cli_xml_text(f, L->files[fi]);
			fprintf(f, "\" name=\"");
			cli_xml_text(f, L->cases[i].name);
			fputc(' ', f);
			cli_xml_text(f, L->cases[i].title);
			fprintf(f, "\" time=\"%.3f\"", res[i].secs);
			if (!res[i].done) {
				fprintf(f, "><skipped message=\"not run (--stop-on-fail)\"/></testcase>\n");
			} else if (res[i].skipped) {
				fprintf(f,
					"><skipped message=\"protocol t1: a T=0 card answers this "
					"otherwise\"/></testcase>\n");
			} else if (res[i].ok) {
				fprintf(f, "/>\n");
			} else {
				fprintf(f, "><failure message=\"");
				char first[200];
				snprintf(first, sizeof(first), "%s", res[i].detail);
				char *nl = strchr(first, '\n');
				if (nl)
					*nl = '\0';
				cli_xml_text(f, first);
				fprintf(f, "\">");
				cli_xml_text(f, res[i].detail);
				fprintf(f, "</failure></testcase>\n");
			}
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	if (fclose(f)) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
