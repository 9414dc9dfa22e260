/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The bench card's own choices where SGP.02 and the SAIP format leave them to the card: read by the
 * card and by the host that talks to it. docs/protocol-choices.md explains each. */
#ifndef EUICC_POLICY_H
#define EUICC_POLICY_H

/* the card's own MO packets (notifications) [?]: CC, ciphered, counter available (no replay check),
 * no PoR; secured with keyset 1 */
#define BENCH_MO_SPI 0x0E00
#define BENCH_MO_KVN 1

/* ISD-R minimum security level for OTA commands: CC, ciphering, counter must be higher */
#define BENCH_ISDR_MSL_SPI1 0x16

/* SAIP pinCodes / pukCodes [?]: no public text at hand gives the bits of pinAttributes. The TS.48
 * packages give PIN1 (disabled there) 06 and PIN2/ADM (always enabled) 03, so the bench reads b1 as
 * "enabled" and b3 as "may be disabled"; b2 is not used. Defaults when an element leaves them out:
 * pinAttributes 7, maxNumOfAttemps-retryNumLeft 0x33 for PINs and 0xAA for PUKs (high nibble:
 * maximum, low nibble: tries left). docs/card.md */
#define BENCH_SAIP_PIN_ATTR_ENABLED	    0x01
#define BENCH_SAIP_PIN_ATTR_DISABLE_ALLOWED 0x04
#define BENCH_SAIP_PIN_ATTRS_DEFAULT	    0x07
#define BENCH_SAIP_PIN_TRIES_DEFAULT	    0x33
#define BENCH_SAIP_PUK_TRIES_DEFAULT	    0xAA

/* POL1 bits of a profile (bench encoding) */
#define POL1_DISABLE_NOT_ALLOWED  0x01
#define POL1_DELETE_NOT_ALLOWED	  0x02
#define POL1_DELETE_WHEN_DISABLED 0x04

#endif
