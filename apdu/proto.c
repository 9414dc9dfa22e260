/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Names of the protocol values of apdu/proto.h, for the card's `show` and the SM-SR's store alike. */
#include <stdint.h>

#include "apdu/proto.h"

const char *proto_isdp_state_name(uint8_t s)
{
	switch (s) {
	case PROTO_ISDP_INSTALLED: return "installed";
	case PROTO_ISDP_SELECTABLE: return "selectable";
	case PROTO_ISDP_PERSONALIZED: return "personalized";
	case PROTO_ISDP_DISABLED: return "disabled";
	case PROTO_ISDP_ENABLED: return "enabled";
	}
	return "unknown";
}
