/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one table of SGP.02 protocol values the card, the host and the tests share: AIDs, TARs, DGIs of
 * the ISD-R's STORE DATA, SCP03t tags, key-establishment sizes, ISD-P states, notification types and
 * profile-element statuses. A value the public sources do not settle is marked: [one] = a single
 * public implementation, [?] = not confirmed anywhere public, [bench] = this project's own encoding
 * where SGP.02 defines none. docs/protocol.md gives the source of each; docs/protocol-choices.md the
 * behaviour chosen. Correct a value here and both ends change together. */
#ifndef APDU_PROTO_H
#define APDU_PROTO_H

#include <stdint.h>

/* §1 AIDs (SGP.02 2.2): the RID A000000559, application 1010FFFFFFFF89, then 4 bytes per instance */
#define PROTO_AID_PREFIX 0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89
#define PROTO_AID_ISDR                                   \
	{                                                \
		PROTO_AID_PREFIX, 0x00, 0x00, 0x01, 0x00 \
	}
#define PROTO_AID_ECASD                                  \
	{                                                \
		PROTO_AID_PREFIX, 0x00, 0x00, 0x02, 0x00 \
	}
#define PROTO_AID_ISDP_ELF                               \
	{                                                \
		PROTO_AID_PREFIX, 0x00, 0x00, 0x0D, 0x00 \
	} /* INSTALL [for install] */
#define PROTO_AID_ISDP_MODULE                            \
	{                                                \
		PROTO_AID_PREFIX, 0x00, 0x00, 0x0E, 0x00 \
	}
#define PROTO_AID_ISDP_PREFIX          \
	{                              \
		PROTO_AID_PREFIX, 0x00 \
	} /* 13 bytes: an ISD-P */
#define PROTO_AID_ISDP_PREFIX_LEN 13

/* §1 OTA TARs: AID bytes 13..15 (the ETSI TS 101 220 rule) [?] */
#define PROTO_TAR_ISDR	0x000001u
#define PROTO_TAR_ECASD 0x000002u
#define PROTO_TAR_BYTES(v)                                                                       \
	{                                                                                        \
		(uint8_t)(((v) >> 16) & 0xFF), (uint8_t)(((v) >> 8) & 0xFF), (uint8_t)((v)&0xFF) \
	}

/* §2 ES5/ES8 functions as STORE DATA DGIs to the ISD-R */
enum {
	PROTO_DGI_KE_CERT = 0x3A01,	  /* key establishment: CERT.DP.ECDSA */
	PROTO_DGI_KE_EPK = 0x3A02,	  /* key establishment: ePK.DP.ECKA, signature */
	PROTO_DGI_ENABLE = 0x3A03,	  /* EnableProfile: 4F AID */
	PROTO_DGI_DISABLE = 0x3A04,	  /* DisableProfile: 4F AID */
	PROTO_DGI_SET_FALLBACK = 0x3A05,  /* SetFallBackAttribute: 4F AID */
	PROTO_DGI_SET_EMERGENCY = 0x3A06, /* [bench] SetEmergencyProfileAttribute: 4F AID */
	PROTO_DGI_CONNECTIVITY = 0x3A07,  /* UpdateConnectivityParameters */
	PROTO_DGI_NOTIF_CONFIRM = 0x3A08, /* notification confirmation: 4E sequence number */
	PROTO_DGI_SET_POL1 = 0x3A09,	  /* [bench] POL1 of a profile (ES6's job on a real card): 4F AID, 80 POL1 */
};

/* §3 SCP03t, the TLV form of SCP03 used for the profile download [one] */
#define PROTO_SCP03T_TAG_OPEN	  0x84 /* host: KVN ‖ KID ‖ host challenge; card: INITIALIZE UPDATE answer */
#define PROTO_SCP03T_TAG_AUTH	  0x85 /* '33' ‖ host cryptogram ‖ C-MAC */
#define PROTO_SCP03T_TAG_DATA	  0x86 /* ENC(segment) ‖ C-MAC */
#define PROTO_SCP03T_OPEN_HAS_KID 1    /* [?] the '84' value carries a KID byte after the KVN */
#define PROTO_SCP03T_SEGMENT	  512  /* [one] the segment size of the one public SM-DP */
/* [?] C-MAC input of a TLV command: chain ‖ tag ‖ length ‖ value, the length counting the 8 MAC bytes
 *     (as Lc' does for an APDU). R-MAC of the card's answer: chain ‖ encrypted answer (no SW exists). */

/* §3 key establishment, scenario #3 [one]/[?] */
#define PROTO_KE_CHALLENGE_LEN 16   /* random challenge in the 3A01 answer (85 L challenge) */
#define PROTO_KE_DR_LEN	       16   /* derivation random DR */
#define PROTO_KE_TAG_CHALLENGE 0x85 /* the challenge in the 3A01 answer and in the signed data */
#define PROTO_KE_SIG_EXTRA_00  0    /* [?] one implementation puts a 00 before 85 in the signed data */
/* [?] signed data of 3A02: the STORE DATA data field before the 5F37 TLV, then 85 L challenge */
/* [one] keydata: bytes 0..15 receipt key, 16..31 the ISD-P's SCP03 key (used for ENC, MAC and DEK) */

/* §5 SCP80 (TS 102 225) */
#define PROTO_SCP80_CC_LEN 8 /* CC length for both DES and AES [vec] */
/* TS 102 226 compact format: the INS values whose P3 is Le (case 2); every other INS is read as Lc [bench] */
#define PROTO_COMPACT_LE_INS                       \
	{                                          \
		0xB0, 0xB2, 0xC0, 0xCA, 0x12, 0x84 \
	}

/* §2 ISD-P life cycle (GlobalPlatform) */
enum {
	PROTO_ISDP_INSTALLED = 0x03,
	PROTO_ISDP_SELECTABLE = 0x07,
	PROTO_ISDP_PERSONALIZED = 0x0F,
	PROTO_ISDP_DISABLED = 0x1F,
	PROTO_ISDP_ENABLED = 0x3F,
};

/* the name of an ISD-P state byte ("installed" ... "enabled", "unknown" for any other) */
const char *proto_isdp_state_name(uint8_t state);

/* §2 notification types */
enum {
	PROTO_NOTIF_DECLARATION = 0x01,
	PROTO_NOTIF_CHANGE_OK = 0x02,
	PROTO_NOTIF_CHANGE_FAILED = 0x03,
	PROTO_NOTIF_FALLBACK = 0x05,
};

/* SAIP profile-element status codes (the ones the card answers) */
enum {
	PROTO_PE_OK = 0,
	PROTO_PE_NOT_SUPPORTED = 1,
	PROTO_PE_BAD_VALUES = 3,
	PROTO_PE_NOT_ENOUGH_MEMORY = 4,
	PROTO_PE_INVALID_FORMAT = 5,
};

#endif
