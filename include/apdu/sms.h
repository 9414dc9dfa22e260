/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SMS for OTA: SMS-DELIVER / SMS-SUBMIT TPDUs with 8-bit data and a user data header (3GPP TS 23.040),
 * concatenated SMS split and reassembly (TS 23.040 9.2.3.24.1, TS 31.115 4.1), and the SMS-PP download
 * ENVELOPE (ETSI TS 102 223 7.1.1, TS 31.111 7.1.1). */
#ifndef APDU_SMS_H
#define APDU_SMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"

#define SMS_MAX_UD	    140 /* octets of user data in one SMS */
#define SMS_MAX_PARTS	    32	/* reassembly limit: parts of one concatenated message */
#define SMS_MAX_ADDR_DIGITS 20

#define SMS_FO_UDHI	   0x40
#define SMS_FO_DELIVER_MMS 0x04 /* TP-MMS: no more messages waiting */

/* Address field (TS 23.040 9.1.2.5): digits as ASCII ('0'-'9', '*', '#', 'a'-'c'), type of address byte. */
typedef struct {
	uint8_t toa;
	char digits[SMS_MAX_ADDR_DIGITS + 1];
} sms_addr;

apdu_err sms_addr_put(abuf *b, const sms_addr *a);
APDU_MUST_CHECK apdu_err sms_addr_read(acur *c, sms_addr *out);

typedef struct {
	uint8_t first_octet; /* TP-MTI = 00 plus flags (UDHI, MMS, SRI, RP) */
	sms_addr oa;
	uint8_t pid;
	uint8_t dcs;
	uint8_t scts[7];
	const uint8_t *ud; /* user data, including the UDH when UDHI is set */
	size_t ud_len;
} sms_deliver;

/* TP-UDL is computed: the number of octets of TP-UD (8-bit data). */
APDU_MUST_CHECK apdu_err sms_deliver_build(const sms_deliver *d, abuf *out);
/* Only 8-bit data coding (DCS class F4..F7 or 04..07 groups) is accepted. ud points into `in`. */
APDU_MUST_CHECK apdu_err sms_deliver_parse(const uint8_t *in, size_t len, sms_deliver *out);

typedef struct {
	uint8_t first_octet; /* TP-MTI = 01 plus flags; VPF must be 'not present' (b4..b3 = 00) */
	uint8_t mr;
	sms_addr da;
	uint8_t pid;
	uint8_t dcs;
	const uint8_t *ud;
	size_t ud_len;
} sms_submit;

APDU_MUST_CHECK apdu_err sms_submit_build(const sms_submit *s, abuf *out);
APDU_MUST_CHECK apdu_err sms_submit_parse(const uint8_t *in, size_t len, sms_submit *out);

/* User data header: a length octet and information elements. */
typedef struct {
	uint8_t iei;
	const uint8_t *value;
	uint8_t len;
} sms_udh_ie;

#define SMS_UDH_MAX_IES 8
typedef struct {
	sms_udh_ie ie[SMS_UDH_MAX_IES];
	size_t n;
	const uint8_t *payload; /* what follows the UDH */
	size_t payload_len;
} sms_udh;

#define SMS_IEI_CONCAT8	   0x00
#define SMS_IEI_CONCAT16   0x08
#define SMS_IEI_CMD_PACKET 0x70 /* TS 31.115: command packet identifier (CPI) */
#define SMS_IEI_RSP_PACKET 0x71 /* response packet identifier (RPI) */

APDU_MUST_CHECK apdu_err sms_udh_parse(const uint8_t *ud, size_t len, sms_udh *out);
const sms_udh_ie *sms_udh_find(const sms_udh *u, uint8_t iei);

/* Splits a secured packet into the user data of one or more SMS: a single SMS gets UDH '02 70 00'; a longer
 * packet gets '07 70 00 00 03 ref n 1' in the first part and '05 00 03 ref n i' in the others.
 * Each part's UD is appended to parts[i]; *n_parts receives the count. */
APDU_MUST_CHECK apdu_err sms_split_command_packet(const uint8_t *pkt, size_t len, uint8_t ref,
						  abuf parts[SMS_MAX_PARTS], size_t *n_parts);
/* The same for any packet identifier: SMS_IEI_CMD_PACKET (command packets) or SMS_IEI_RSP_PACKET (PoRs). */
APDU_MUST_CHECK apdu_err sms_split_packet(uint8_t iei, const uint8_t *pkt, size_t len, uint8_t ref,
					  abuf parts[SMS_MAX_PARTS], size_t *n_parts);

/* Reassembly of concatenated SMS with a size limit. Feed the user data of each part; when the message is
 * complete, *complete is set and `out` holds the packet (the UD of all parts without their UDHs; the first
 * part's other IEs such as '70 00' are reported in has_cpi). */
typedef struct {
	bool active;
	uint16_t ref;
	uint8_t total;
	uint32_t have; /* bitmask of received parts */
	bool has_cpi;
	abuf part[SMS_MAX_PARTS];
} sms_reassembly;

void sms_reassembly_init(sms_reassembly *r);
void sms_reassembly_free(sms_reassembly *r);
APDU_MUST_CHECK apdu_err sms_reassembly_feed(sms_reassembly *r, const uint8_t *ud, size_t len, bool *complete,
					     abuf *out);

/* SMS-PP download ENVELOPE: 80 C2 00 00 Lc D1 L { 82 02 83 81, [86 L address], 8B L TPDU } */
typedef struct {
	uint8_t src, dst;	/* device identities */
	const uint8_t *address; /* SMSC address (TON/NPI + BCD) or NULL */
	size_t address_len;
	const uint8_t *tpdu;
	size_t tpdu_len;
} sms_pp_envelope;

/* Appends the whole C-APDU. */
APDU_MUST_CHECK apdu_err sms_pp_envelope_build(const uint8_t *address, size_t address_len, const uint8_t *tpdu,
					       size_t tpdu_len, abuf *out);
/* Parses the ENVELOPE data field (the 'D1' BER-TLV). */
APDU_MUST_CHECK apdu_err sms_pp_envelope_parse(const uint8_t *data, size_t len, sms_pp_envelope *out);

#endif
