/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Error codes of the wire layer (apdu/). Every function of this layer that can fail returns one of
 * these; APDU_OK is zero so `if (err)` reads naturally. Outputs are left untouched on failure. */
#ifndef APDU_ERR_H
#define APDU_ERR_H

/* On every function of the wire layer that returns an apdu_err, except the encoders whose error is
 * sticky in the buffer (abuf_put, tlv_put, ... set b->err; the buffer is checked once at the end) */
#define APDU_MUST_CHECK __attribute__((warn_unused_result))

typedef enum {
	APDU_OK = 0,
	APDU_E_INVAL,	     /* an argument is out of range */
	APDU_E_HEX_DIGIT,    /* a character that is not a hex digit */
	APDU_E_HEX_ODD,	     /* an odd number of hex digits */
	APDU_E_NOSPACE,	     /* the caller's buffer is too small */
	APDU_E_NOMEM,	     /* allocation failed or a size limit was hit */
	APDU_E_TRUNC_HEADER, /* input ends inside a header (tag, length, APDU header) */
	APDU_E_TRUNC_VALUE,  /* a length runs past the end of the input */
	APDU_E_TRAILING,     /* bytes left over after a complete object */
	APDU_E_BAD_LENGTH,   /* a length field is malformed or inconsistent */
	APDU_E_BAD_TAG,	     /* a tag is malformed or not the expected one */
	APDU_E_TOO_DEEP,     /* nesting deeper than the limit */
	APDU_E_BAD_CASE,     /* APDU case inconsistent with its Lc/Le */
	APDU_E_UNSUPPORTED,  /* a valid but unsupported option (algorithm, SPI bit, ...) */
	APDU_E_KEY_LENGTH,   /* a key has the wrong length for its algorithm */
	APDU_E_CRYPTO,	     /* the crypto library failed */
	APDU_E_MAC,	     /* a MAC, CC or cryptogram does not verify */
	APDU_E_PADDING,	     /* padding is malformed after deciphering */
	APDU_E_SPI,	     /* SPI bits reserved or inconsistent */
	APDU_E_STATE,	     /* called in the wrong state (e.g. wrap before authentication) */
	APDU_E_CHECK_DIGIT,  /* a check digit (EID, ICCID) is wrong */
	APDU_E__COUNT
} apdu_err;

/* A short English description, never NULL. */
const char *apdu_strerror(apdu_err err);

#endif
