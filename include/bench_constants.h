/* The one table of protocol values that PROTOCOL.md marks uncertain ([one] = a single public
 * implementation, [?] = not confirmed anywhere public), and of the choices this project made where the
 * sources are silent. Correct a value here and it changes everywhere. Each entry names its PROTOCOL.md
 * section; docs/protocol-choices.md explains the behaviour chosen. */
#ifndef BENCH_CONSTANTS_H
#define BENCH_CONSTANTS_H

/* §1 Identifiers: OTA TARs are AID bytes 13..15 (ETSI TS 101 220 rule) [?] */
#define BENCH_TAR_ISDR 0x000001u
#define BENCH_TAR_ECASD 0x000002u

/* §3 SCP03t, the TLV form of SCP03 used for profile download [one] */
#define BENCH_SCP03T_TAG_OPEN 0x84     /* host: KVN ‖ KID ‖ host challenge; card: INITIALIZE UPDATE answer */
#define BENCH_SCP03T_TAG_AUTH 0x85     /* '33' ‖ host cryptogram ‖ C-MAC */
#define BENCH_SCP03T_TAG_DATA 0x86     /* ENC(segment) ‖ C-MAC */
#define BENCH_SCP03T_OPEN_HAS_KID 1    /* [?] the '84' value carries a KID byte after the KVN */
#define BENCH_SCP03T_SEGMENT 512       /* [one] Njiwa's segment size */
/* [?] C-MAC input of a TLV command: chain ‖ tag ‖ length ‖ value, the length counting the 8 MAC bytes
 *     (as Lc' does for an APDU). R-MAC of the card's answer: chain ‖ encrypted answer (no SW exists). */

/* §5 SCP80 */
#define BENCH_SCP80_CC_LEN 8           /* CC length for both DES and AES [vec] */
/* choices: single DES and DES-ECB refused; RC only as CRC32 (KID algorithm '5'); DS not supported */

/* TS 102 226 compact format: INS values whose P3 is Le (case 2), every other INS is read as Lc. Ours. */
#define BENCH_COMPACT_LE_INS { 0xB0, 0xB2, 0xC0, 0xCA, 0x12, 0x84 }

/* §2 ES5 functions with no public encoding [?]: the bench's choices, as STORE DATA DGIs to the ISD-R */
#define BENCH_DGI_SET_EMERGENCY 0x3A06 /* SetEmergencyProfileAttribute: 3A06 { 4F 10 AID } */
#define BENCH_DGI_SET_POL1 0x3A09      /* POL1 of a profile (ES6's job on a real card): 3A09 { 4F AID, 80 01 POL1 } */

/* §3 key establishment [one]/[?] */
#define BENCH_KE_CHALLENGE_LEN 16      /* random challenge in the 3A01 answer (85 L challenge) */
#define BENCH_KE_DR_LEN 16             /* derivation random DR */
#define BENCH_KE_SIG_EXTRA_00 0        /* [?] Njiwa puts a 00 before 85 in the signed data; we do not */
/* [?] signed data of 3A02: the STORE DATA data field before the 5F37 TLV, then 85 L challenge */
/* [one] keydata: bytes 0..15 receipt key, 16..31 the ISD-P's SCP03 key (used for ENC, MAC and DEK) */

/* §2 notifications: the card's own MO packets [?] */
#define BENCH_MO_SPI 0x0E00            /* CC, ciphered, counter available (no replay check), no PoR */
#define BENCH_MO_KVN 1                 /* keyset that secures MO notifications */

/* ISD-R minimum security level for OTA commands (ours): CC, ciphering, counter must be higher */
#define BENCH_ISDR_MSL_SPI1 0x16

/* SAIP pinCodes / pukCodes [?]: no public text at hand gives the bits of pinAttributes. The TS.48
 * packages give PIN1 (disabled there) 06 and PIN2/ADM (always enabled) 03, so the bench reads
 * b1 as "enabled" and b3 as "may be disabled"; b2 is not used. Defaults when an element leaves them out:
 * pinAttributes 7, maxNumOfAttemps-retryNumLeft 0x33 for PINs and 0xAA for PUKs (high nibble: maximum,
 * low nibble: tries left). docs/card.md */
#define BENCH_SAIP_PIN_ATTR_ENABLED 0x01
#define BENCH_SAIP_PIN_ATTR_DISABLE_ALLOWED 0x04
#define BENCH_SAIP_PIN_ATTRS_DEFAULT 0x07
#define BENCH_SAIP_PIN_TRIES_DEFAULT 0x33
#define BENCH_SAIP_PUK_TRIES_DEFAULT 0xAA

#endif
