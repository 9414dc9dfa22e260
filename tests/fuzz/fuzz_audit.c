/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The store's input from the card: a GET STATUS response as the audit parses it into ISD-P rows. Every
 * row has a 32-digit hex AID and an ICCID of digits only; never more rows than room. */
#include <stdlib.h>
#include <string.h>

#include "apdu/proto.h"
#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	audit_isdp l[AUDIT_MAX_ISDPS];
	size_t n = 99;
	char why[200];
	why[0] = '\0';
	int rc = audit_parse(data, size, l, AUDIT_MAX_ISDPS, &n, why, sizeof(why));
	if (rc && !why[0])
		abort();
	if (n > AUDIT_MAX_ISDPS)
		abort();
	for (size_t i = 0; !rc && i < n; i++) {
		if (strlen(l[i].aid) != 32 || strspn(l[i].aid, "0123456789abcdef") != 32)
			abort();
		if (strspn(l[i].iccid, "0123456789") != strlen(l[i].iccid) || strlen(l[i].iccid) > 20)
			abort();
		(void)proto_isdp_state_name(l[i].state);
		(void)audit_is_empty(&l[i]);
	}
	return 0;
}
