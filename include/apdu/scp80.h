/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SCP80: secured packets for SMS (ETSI TS 102 225, 3GPP TS 31.115) and the remote command formats of
 * ETSI TS 102 226. Both directions: the SM-SR wraps command packets and unwraps PoRs, the card unwraps
 * command packets and wraps PoRs. */
#ifndef APDU_SCP80_H
#define APDU_SCP80_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"

/* SPI first byte (TS 102 225 5.1.1) */
#define SCP80_SPI1_SIG_MASK   0x03
#define SCP80_SIG_NONE	      0x00
#define SCP80_SIG_RC	      0x01
#define SCP80_SIG_CC	      0x02
#define SCP80_SIG_DS	      0x03
#define SCP80_SPI1_CIPHER     0x04
#define SCP80_SPI1_CNTR_MASK  0x18
#define SCP80_CNTR_NONE	      0x00
#define SCP80_CNTR_AVAILABLE  0x08 /* counter available, no replay check */
#define SCP80_CNTR_HIGHER     0x10 /* process if higher than the stored one */
#define SCP80_CNTR_ONE_HIGHER 0x18 /* process if exactly one higher */
#define SCP80_SPI1_RESERVED   0xe0
/* SPI second byte */
#define SCP80_SPI2_POR_MASK	 0x03
#define SCP80_POR_NONE		 0x00
#define SCP80_POR_ALWAYS	 0x01
#define SCP80_POR_ON_ERROR	 0x02
#define SCP80_SPI2_POR_SIG_SHIFT 2 /* b4..b3: PoR RC/CC/DS, same coding as SPI1 b2..b1 */
#define SCP80_SPI2_POR_CIPHER	 0x10
#define SCP80_SPI2_POR_SUBMIT	 0x20 /* PoR via SMS-SUBMIT instead of SMS-DELIVER-REPORT */
#define SCP80_SPI2_RESERVED	 0xc0

/* PoR status codes (TS 102 225 table 5.5, TS 31.115 7) */
enum {
	SCP80_POR_OK = 0x00,
	SCP80_POR_RC_CC_DS_FAILED = 0x01,
	SCP80_POR_CNTR_LOW = 0x02,
	SCP80_POR_CNTR_HIGH = 0x03,
	SCP80_POR_CNTR_BLOCKED = 0x04,
	SCP80_POR_CIPHERING_ERROR = 0x05,
	SCP80_POR_UNDEFINED_SECURITY_ERROR = 0x06,
	SCP80_POR_INSUFFICIENT_MEMORY = 0x07,
	SCP80_POR_MORE_TIME = 0x08,
	SCP80_POR_TAR_UNKNOWN = 0x09,
	SCP80_POR_INSUFFICIENT_SECURITY = 0x0a,
};
const char *scp80_por_status_name(uint8_t status);

/* Packet size limits: one command packet fits the concatenated-SMS reassembly limit. */
#define SCP80_MAX_PACKET 4096

typedef struct {
	uint8_t kic; /* KIc byte: key version (b8..b5) | algorithm (b4..b1) */
	uint8_t kid; /* KID byte */
	uint8_t kic_key[32];
	size_t kic_key_len;
	uint8_t kid_key[32];
	size_t kid_key_len;
} scp80_keyset;

/* Wipes the key material. */
void scp80_keyset_clear(scp80_keyset *ks);
/* Checks the algorithm nibbles against the SPI and the key lengths against the algorithms. */
APDU_MUST_CHECK apdu_err scp80_keyset_check(const scp80_keyset *ks, uint16_t spi);

typedef struct {
	uint16_t spi; /* SPI1 << 8 | SPI2 */
	uint8_t kic, kid;
	uint8_t tar[3];
	uint8_t cntr[5];
} scp80_cmd_hdr;

/* Checks reserved SPI bits and unsupported combinations (DS, RC with CRC16). */
APDU_MUST_CHECK apdu_err scp80_spi_check(uint16_t spi);

/* Wraps `data` (a remote command script) into a secured command packet, CPL first. kic/kid of the
 * header come from the keyset. Nothing is appended on failure. */
APDU_MUST_CHECK apdu_err scp80_wrap_command(const scp80_keyset *ks, uint16_t spi, const uint8_t tar[3],
					    const uint8_t cntr[5], const uint8_t *data, size_t len, abuf *out);
/* Reads the clear part of a command packet (CPL CHL SPI KIc KID TAR) so the receiver can pick the keys. */
APDU_MUST_CHECK apdu_err scp80_parse_command_header(const uint8_t *pkt, size_t len, scp80_cmd_hdr *out);
/* Deciphers and verifies a command packet; appends the script to `data` and fills hdr (with the CNTR).
 * APDU_E_MAC: CC/RC wrong; APDU_E_PADDING: ciphering error; both map to PoR statuses with
 * scp80_por_status_for(). Nothing is appended on failure. */
APDU_MUST_CHECK apdu_err scp80_unwrap_command(const scp80_keyset *ks, const uint8_t *pkt, size_t len,
					      scp80_cmd_hdr *hdr, abuf *data);
/* PoR status for an unwrap failure. */
uint8_t scp80_por_status_for(apdu_err err);
/* Counter check of TS 102 225 5.1.1 for the SPI's counter mode: SCP80_POR_OK or the status to answer. */
uint8_t scp80_counter_check(uint16_t spi, const uint8_t stored[5], const uint8_t received[5]);

typedef struct {
	uint8_t tar[3];
	uint8_t cntr[5];
	uint8_t status;
} scp80_por_hdr;

/* Wraps a PoR (response packet) as the SPI of the command asks (SPI2: CC/RC, ciphering); with_udh
 * prepends the '02 71 00' UDH, which the CC covers in either case (TS 31.115 5.2). */
APDU_MUST_CHECK apdu_err scp80_wrap_por(const scp80_keyset *ks, uint16_t spi, const scp80_por_hdr *hdr,
					const uint8_t *data, size_t len, bool with_udh, abuf *out);
/* Unwraps a PoR, with or without its UDH; appends the response data to `data`. */
APDU_MUST_CHECK apdu_err scp80_unwrap_por(const scp80_keyset *ks, uint16_t spi, const uint8_t *in, size_t len,
					  scp80_por_hdr *hdr, abuf *data);

/* Remote command formats (TS 102 226 5.1, 5.2). */
typedef enum { SCP80_FORMAT_COMPACT, SCP80_FORMAT_EXPANDED } scp80_format;

/* Expanded command script: 'AA' L { '22' L C-APDU ... } (definite length). */
APDU_MUST_CHECK apdu_err scp80_expanded_script_build(abuf *out, const uint8_t *const *apdus, const size_t *lens,
						     size_t n);

/* One item of a command script: a C-APDU (tag 0x22 in the expanded format) or another raw TLV of the
 * expanded format (e.g. SCP03t '84'/'85'/'86'). For the compact format every item is a C-APDU. */
typedef struct {
	uint32_t tag;
	const uint8_t *value;
	size_t len;
} scp80_script_item;

/* Iterates a script. Compact: commands are split by header + P3, where P3 is Le for the INS values that
 * carry no data (see scp80.c) and Lc otherwise. Expanded: the TLVs inside the 'AA' template. */
typedef struct {
	scp80_format format;
	acur cur;
	bool started;
} scp80_script_iter;

APDU_MUST_CHECK apdu_err scp80_script_begin(scp80_script_iter *it, scp80_format format, const uint8_t *script,
					    size_t len);
/* Returns APDU_OK with an item, APDU_E_TRUNC_HEADER-free end signalled by *done = true. */
APDU_MUST_CHECK apdu_err scp80_script_next(scp80_script_iter *it, scp80_script_item *item, bool *done);

/* Response to a script (TS 102 226 5.1.2 compact / 5.2.2 expanded). */
typedef struct {
	uint8_t count; /* number of executed commands */
	uint16_t last_sw;
	const uint8_t *data; /* response data of the last command */
	size_t len;
} scp80_response;

APDU_MUST_CHECK apdu_err scp80_response_parse(scp80_format format, const uint8_t *in, size_t len, scp80_response *out);
/* Compact: count ‖ SW ‖ data. */
APDU_MUST_CHECK apdu_err scp80_compact_response_build(abuf *out, uint8_t count, uint16_t last_sw, const uint8_t *data,
						      size_t len);
/* Expanded: 'AB' L { '80' 01 count, '23' L data‖SW ... } from the R-APDUs (data‖SW each). */
APDU_MUST_CHECK apdu_err scp80_expanded_response_build(abuf *out, uint8_t count, const uint8_t *const *rapdus,
						       const size_t *lens, size_t n);

#endif
