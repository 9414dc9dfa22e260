/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "apdu/hex.h"
#include "apdu/proto.h"
#include "apdu/tlv.h"
#include "audit.h"

bool audit_is_empty(const audit_isdp *e)
{
	return (e->state == PROTO_ISDP_INSTALLED || e->state == PROTO_ISDP_SELECTABLE ||
		e->state == PROTO_ISDP_PERSONALIZED) &&
		!e->iccid[0];
}

int audit_parse(const uint8_t *r, size_t len, audit_isdp *out, size_t cap, size_t *n, char *why, size_t why_len)
{
	*n = 0;
	acur c = acur_make(r, len);
	tlv e3, a, l, f, ic;
	while (c.len) {
		if (tlv_next(&c, &e3)) {
			snprintf(why, why_len, "the GET STATUS response is not a sequence of TLVs (%zu bytes left)",
				 c.len);
			return -1;
		}
		if (e3.tag != 0xE3 || tlv_find(e3.value, e3.len, 0x4F, &a) || a.len != 16 ||
		    tlv_find(e3.value, e3.len, 0x9F70, &l) || l.len < 1)
			continue;
		if (*n >= cap) {
			snprintf(why, why_len, "the card lists more than %zu ISD-Ps", cap);
			return -1;
		}
		audit_isdp *e = &out[(*n)++];
		memset(e, 0, sizeof(*e));
		hex_encode(a.value, 16, e->aid);
		e->state = l.value[0];
		if (!tlv_find(e3.value, e3.len, 0x53, &f) && f.len >= 1) {
			e->fallback = f.value[0] & 1;
			e->emergency = (f.value[0] >> 1) & 1;
		}
		if (!tlv_find(e3.value, e3.len, 0x5A, &ic) && ic.len == 10) {
			size_t k = 0;
			for (size_t i = 0; i < 20; i++) {
				uint8_t nib = (i % 2 == 0) ? (ic.value[i / 2] >> 4) : (ic.value[i / 2] & 0x0f);
				if (nib > 9)
					break;
				e->iccid[k++] = (char)('0' + nib);
			}
			e->iccid[k] = '\0';
		}
	}
	return 0;
}
