/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/sms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	sms_deliver d;
	if (sms_deliver_parse(data, size, &d) == APDU_OK) {
		sms_udh u;
		(void)!sms_udh_parse(d.ud, d.ud_len, &u); /* the verdict is not what is fuzzed */
	}
	sms_submit s;
	(void)!sms_submit_parse(data, size, &s); /* the verdict is not what is fuzzed */
	sms_pp_envelope e;
	if (sms_pp_envelope_parse(data, size, &e) == APDU_OK) {
		sms_deliver inner;
		(void)!sms_deliver_parse(e.tpdu, e.tpdu_len, &inner); /* the verdict is not what is fuzzed */
	}
	/* the input as a stream of concatenated-SMS user data: first byte = part length */
	sms_reassembly r;
	sms_reassembly_init(&r);
	abuf out = ABUF_INIT;
	size_t off = 0;
	while (off < size) {
		size_t n = data[off++];
		if (n > size - off)
			n = size - off;
		bool complete;
		(void)!sms_reassembly_feed(&r, data + off, n, &complete, &out); /* the verdict is not what is fuzzed */
		off += n;
	}
	sms_reassembly_free(&r);
	abuf_free(&out);
	return 0;
}
