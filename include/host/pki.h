/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The bench's test PKI: a CI, an EUM, an SM-DP and an SM-SR key pair with GP-format certificates
 * (CI self-signed; EUM, SM-DP, SM-SR signed by the CI). Kept in one JSON file, 0600, in a directory:
 * by default $XDG_DATA_HOME/euicc-bench/pki (~/.local/share/euicc-bench/pki). Test keys only. */
#ifndef APDU_PKI_H
#define APDU_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include "apdu/buf.h"
#include "apdu/crypto.h"
#include "apdu/gpcert.h"
#include "euicc/euicc.h"

typedef struct {
	crypto_curve curve;
	crypto_eckey *ci, *eum, *smdp, *smsr;
	abuf ci_cert, eum_cert, smdp_cert, smsr_cert;
	bool eum_verified; /* the EUM certificate verifies under the CI (checked once, at load) */
} bench_pki;

/* $XDG_DATA_HOME/euicc-bench/NAME (~/.local/share/euicc-bench/NAME): where the bench keeps its data. */
const char *bench_data_path(char *buf, size_t len, const char *name);
/* Writes the default directory into buf (no trailing slash). */
const char *pki_default_dir(char *buf, size_t len);
/* Loads the PKI from dir, creating it (and the directory, 0700) when absent. On failure *why says what
 * failed (a path, a field). A corrupt file is refused, never replaced. */
apdu_err pki_load_or_create(const char *dir, bench_pki *out, char *why, size_t why_len);
void pki_free(bench_pki *p);
/* The EUM and CI of the PKI as a card's issuer (euicc_new_opts). */
euicc_issuer pki_issuer(const bench_pki *p);
#endif
