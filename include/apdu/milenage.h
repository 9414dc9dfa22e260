/* SPDX-License-Identifier: GPL-2.0-or-later */
/* MILENAGE (3GPP TS 35.205/35.206): f1, f1*, f2, f3, f4, f5, f5*, and OPc from OP. */
#ifndef APDU_MILENAGE_H
#define APDU_MILENAGE_H

#include <stdint.h>

#include "apdu/err.h"

typedef struct {
	uint8_t mac_a[8];   /* f1 */
	uint8_t mac_s[8];   /* f1* */
	uint8_t res[8];	    /* f2 */
	uint8_t ck[16];	    /* f3 */
	uint8_t ik[16];	    /* f4 */
	uint8_t ak[6];	    /* f5 */
	uint8_t ak_star[6]; /* f5* */
} milenage_out;

APDU_MUST_CHECK apdu_err milenage_opc(const uint8_t k[16], const uint8_t op[16], uint8_t opc[16]);
APDU_MUST_CHECK apdu_err milenage_f1(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
				     const uint8_t sqn[6], const uint8_t amf[2], uint8_t mac_a[8], uint8_t mac_s[8]);
APDU_MUST_CHECK apdu_err milenage_f2345(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
					uint8_t res[8], uint8_t ck[16], uint8_t ik[16], uint8_t ak[6],
					uint8_t ak_star[6]);
/* All functions at once. */
APDU_MUST_CHECK apdu_err milenage_all(const uint8_t k[16], const uint8_t opc[16], const uint8_t rand[16],
				      const uint8_t sqn[6], const uint8_t amf[2], milenage_out *out);

#endif
