/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The OTA layer's state (RAM only): the SMS being reassembled and the last counter accepted per keyset
 * (the NVM keeps a high-water mark above it, see ota.c). Part of the card (struct euicc_card, field
 * ota); ota.c and the life cycle use it. */
#ifndef SIM_OTA_STATE_H
#define SIM_OTA_STATE_H

#include <stdint.h>

#include "apdu/sms.h"
#include "card_limits.h"

typedef struct {
	sms_reassembly sms;
	uint8_t accepted[EUICC_MAX_KEYSETS][5];
} ota_state;

#endif
