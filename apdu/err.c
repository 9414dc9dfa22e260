/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "apdu/err.h"

static const char *const apdu_err_text[APDU_E__COUNT] = {
	[APDU_OK] = "success",
	[APDU_E_INVAL] = "invalid argument",
	[APDU_E_HEX_DIGIT] = "not a hex digit",
	[APDU_E_HEX_ODD] = "odd number of hex digits",
	[APDU_E_NOSPACE] = "output buffer too small",
	[APDU_E_NOMEM] = "out of memory or size limit reached",
	[APDU_E_TRUNC_HEADER] = "truncated header",
	[APDU_E_TRUNC_VALUE] = "value runs past the end of the input",
	[APDU_E_TRAILING] = "unexpected trailing bytes",
	[APDU_E_BAD_LENGTH] = "malformed or inconsistent length",
	[APDU_E_BAD_TAG] = "malformed or unexpected tag",
	[APDU_E_TOO_DEEP] = "nesting too deep",
	[APDU_E_BAD_CASE] = "APDU case inconsistent with Lc/Le",
	[APDU_E_UNSUPPORTED] = "unsupported option",
	[APDU_E_KEY_LENGTH] = "wrong key length for the algorithm",
	[APDU_E_CRYPTO] = "crypto library failure",
	[APDU_E_MAC] = "MAC or cryptographic checksum does not verify",
	[APDU_E_PADDING] = "bad padding",
	[APDU_E_SPI] = "reserved or inconsistent SPI bits",
	[APDU_E_STATE] = "wrong state for this operation",
	[APDU_E_CHECK_DIGIT] = "wrong check digit",
};

const char *apdu_strerror(apdu_err err)
{
	if ((unsigned)err >= APDU_E__COUNT || !apdu_err_text[err])
		return "unknown error";
	return apdu_err_text[err];
}
