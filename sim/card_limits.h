/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card's sizes: what one eUICC holds, shared by the NVM and the modules' states. */
#ifndef SIM_CARD_LIMITS_H
#define SIM_CARD_LIMITS_H

#define EUICC_MAX_KEYSETS 3
#define EUICC_MAX_NOTIFS  16
#define EUICC_MAX_PACKAGE (32 * 1024) /* one stored SAIP package */
#define EUICC_CHANNELS	  4
#define EUICC_MAX_FSDATA  (24 * 1024) /* the contents of one profile's EFs */
#define EUICC_MAX_PINS	  8	      /* PINs of one profile (PIN1, PIN2, ADM1..) */
#define EUICC_MAX_PUKS	  4

#endif
