/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The NVM journal: any bytes as STATE.journal, and any NUL-separated parts framed as well-formed
 * records (right id, sequence and checksum) so that the walk reaches their contents. Whatever loads must
 * be a consistent card. */
#include <stdlib.h>
#include <string.h>

#include "euicc_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *base(void)
{
	return json_pack("{s:[{s:i,s:s,s:s}]}", "profiles", "slot", 0, "package", "00", "files", "");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t id[16] = { 1, 2, 3 };
	char why[300];
	nvm_journal j;
	journal_init(&j);
	/* the input as the file */
	json_t *root = base();
	if (journal_replay(data, size, id, &root, &j, NULL, 0, NULL, NULL, why, sizeof(why)) == 0 &&
	    j.end % JOURNAL_PAGE)
		abort(); /* records start on page boundaries */
	json_decref(root);
	/* the input's parts as records */
	if (size > 65536)
		return 0;
	size_t cap = JOURNAL_PAGE + 17 * (JOURNAL_PAGE + size + 64);
	uint8_t *buf = calloc(1, cap);
	if (!buf)
		return 0;
	journal_frame_header(buf, id);
	size_t off = JOURNAL_PAGE, start = 0;
	uint32_t seq = 1;
	for (size_t i = 0; i <= size && seq <= 16; i++) {
		if (i < size && data[i])
			continue;
		off += journal_frame_record(buf + off, id, seq++, data + start, i - start);
		off = (off + JOURNAL_PAGE - 1) / JOURNAL_PAGE * JOURNAL_PAGE;
		start = i + 1;
	}
	root = base();
	if (journal_replay(buf, off, id, &root, &j, NULL, 0, NULL, NULL, why, sizeof(why)) == 0) {
		if (j.seq != seq - 1 || j.end != off)
			abort(); /* every well-formed record counts */
		euicc_nvm *n = calloc(1, sizeof(*n));
		if (n && nvm_from_json(root, n, why, sizeof(why)) == 0) {
			int enabled = 0;
			for (int i = 0; i < EUICC_MAX_PROFILES; i++)
				enabled += n->profiles[i].used && n->profiles[i].state == PROTO_ISDP_ENABLED;
			if (enabled > 1)
				abort();
		}
		free(n);
	}
	json_decref(root);
	free(buf);
	return 0;
}
