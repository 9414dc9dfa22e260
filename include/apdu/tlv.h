/* SPDX-License-Identifier: GPL-2.0-or-later */
/* BER-TLV (ISO/IEC 8825-1 as profiled by ISO/IEC 7816-4 and GlobalPlatform), COMPREHENSION-TLV
 * (ETSI TS 102 223 annex C) and GlobalPlatform DGI. Zero-copy: parsed items point into the input. */
#ifndef APDU_TLV_H
#define APDU_TLV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu/buf.h"

/* Limits on what a peer controls. */
#define TLV_MAX_TAG_BYTES 3  /* e.g. 'BF 30', '7F 21', '5F 37' */
#define TLV_MAX_LEN_BYTES 3  /* '83 xx xx xx' at most (up to 16 MiB - 1) */
#define TLV_MAX_DEPTH	  16 /* nesting limit of tlv_walk */

typedef struct {
	uint32_t tag;	  /* tag bytes big-endian, e.g. 0xBF30 */
	uint8_t tag_len;  /* 1..3 */
	bool constructed; /* bit 6 of the first tag byte */
	const uint8_t *value;
	size_t len;
	const uint8_t *raw; /* whole TLV */
	size_t raw_len;
} tlv;

/* Reads one BER-TLV from the cursor and advances it. On failure the cursor and *out are unchanged.
 * Indefinite length ('80') and more than 3 length octets are refused with APDU_E_BAD_LENGTH. */
APDU_MUST_CHECK apdu_err tlv_next(acur *c, tlv *out);
/* Parses exactly one TLV that spans the whole buffer. */
APDU_MUST_CHECK apdu_err tlv_parse_one(const uint8_t *buf, size_t len, tlv *out);
/* Finds the first TLV with `tag` at the top level of buf (a well-formed sequence of TLVs). */
APDU_MUST_CHECK apdu_err tlv_find(const uint8_t *buf, size_t len, uint32_t tag, tlv *out);

/* Walks a sequence of TLVs depth-first, descending into constructed ones; the callback gets each item
 * with its depth (0 = top). Validates the whole tree first (so the callback only ever sees a
 * well-formed tree) and refuses nesting deeper than max_depth. A non-zero callback return stops the walk. */
typedef int (*tlv_visit_fn)(const tlv *t, int depth, void *ctx);
APDU_MUST_CHECK apdu_err tlv_walk(const uint8_t *buf, size_t len, int max_depth, tlv_visit_fn fn, void *ctx);

/* Encoded size of a tag / a length. */
size_t tlv_tag_size(uint32_t tag);
size_t tlv_len_size(size_t len);
apdu_err tlv_put_tag(abuf *b, uint32_t tag);
apdu_err tlv_put_len(abuf *b, size_t len);
/* Appends tag ‖ length ‖ value. */
apdu_err tlv_put(abuf *b, uint32_t tag, const void *value, size_t len);
apdu_err tlv_put_u8(abuf *b, uint32_t tag, uint8_t v);
/* Nested building: tlv_begin writes the tag and remembers where the value starts; tlv_end inserts the
 * length once the value is complete. */
apdu_err tlv_begin(abuf *b, uint32_t tag, size_t *mark);
apdu_err tlv_end(abuf *b, size_t mark);

/* COMPREHENSION-TLV (TS 102 223 C.1-C.3): tags 1 byte ('01'..'7E', CR in b8) or 3 bytes ('7F' + 2 bytes,
 * CR in b16); lengths '00'..'7F', '81 80'..'81 FF', '82 xx xx', '83 xx xx xx'. */
typedef struct {
	uint16_t tag;  /* without the CR flag: 1..0x7E for short tags, up to 0x7FFF for long ones */
	bool cr;       /* comprehension required */
	bool long_tag; /* encoded in the 3-byte format */
	const uint8_t *value;
	size_t len;
} ctlv;

APDU_MUST_CHECK apdu_err ctlv_next(acur *c, ctlv *out);
APDU_MUST_CHECK apdu_err ctlv_find(const uint8_t *buf, size_t len, uint16_t tag, ctlv *out);
/* Writes a short tag when tag <= 0x7E, the 3-byte form otherwise. */
apdu_err ctlv_put(abuf *b, uint16_t tag, bool cr, const void *value, size_t len);
/* Re-encodes a parsed item, keeping its tag format (a small tag may come in the 3-byte format). */
apdu_err ctlv_put_item(abuf *b, const ctlv *item);

/* GlobalPlatform DGI (GPCS 11.11.3.2): 2-byte tag, length 1 byte ('00'..'FE') or 'FF' + 2 bytes. */
typedef struct {
	uint16_t tag;
	const uint8_t *value;
	size_t len;
} dgi;

APDU_MUST_CHECK apdu_err dgi_next(acur *c, dgi *out);
size_t dgi_len_size(size_t len);
apdu_err dgi_put(abuf *b, uint16_t tag, const void *value, size_t len);

#endif
