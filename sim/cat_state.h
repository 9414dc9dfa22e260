/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The toolkit's state (RAM only): the terminal's profile, the proactive commands waiting for FETCH, the
 * REFRESH of a profile switch, the fall-back's count of "no service" events. Part of the card
 * (struct euicc_card, field cat); cat.c and the ISD-R's switch use it. */
#ifndef SIM_CAT_STATE_H
#define SIM_CAT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EUICC_MAX_PROACTIVE 8

typedef struct {
	bool terminal_profile;
	struct {
		uint8_t data[256];
		size_t len;
	} proactive[EUICC_MAX_PROACTIVE];
	size_t n_proactive;
	bool refresh_wanted;  /* a profile switch asks for REFRESH once the command is answered */
	bool refresh_pending; /* REFRESH issued; notifications wait for the re-attach */
	uint8_t proactive_number;
	int switch_from, switch_to; /* the last profile switch, until its REFRESH is answered */
	bool notify_after_attach;
	unsigned noservice_count;
} cat_state;

#endif
