/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "apdu/hex.h"
#include "host/pki.h"

#define PKI_FILE    "pki.json"
#define PKI_VERSION 1

const char *bench_data_path(char *buf, size_t len, const char *name)
{
	const char *x = getenv("XDG_DATA_HOME");
	if (x && *x)
		snprintf(buf, len, "%s/euicc-bench/%s", x, name);
	else
		snprintf(buf, len, "%s/.local/share/euicc-bench/%s", getenv("HOME") ? getenv("HOME") : ".", name);
	return buf;
}

const char *pki_default_dir(char *buf, size_t len)
{
	return bench_data_path(buf, len, "pki");
}

static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[1024];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, mode) != 0 && errno != EEXIST)
				return -1;
			*p = '/';
		}
	}
	return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

static json_t *key_json(const crypto_eckey *k, const abuf *cert)
{
	uint8_t sk[32];
	char skh[65];
	char *ch = hex_encode_alloc(cert->p, cert->len);
	if (crypto_ec_private(k, sk))
		return NULL;
	hex_encode(sk, 32, skh);
	crypto_wipe(sk, sizeof(sk));
	json_t *o = json_pack("{s:s,s:s}", "sk", skh, "cert", ch ? ch : "");
	crypto_wipe(skh, sizeof(skh));
	free(ch);
	return o;
}

static apdu_err create(const char *path, bench_pki *p, char *why, size_t why_len)
{
	uint8_t pub[65];
	apdu_err e;
	p->curve = CRYPTO_CURVE_P256;
	if ((e = crypto_ec_generate(p->curve, &p->ci)) || (e = crypto_ec_generate(p->curve, &p->eum)) ||
	    (e = crypto_ec_generate(p->curve, &p->smdp)) || (e = crypto_ec_generate(p->curve, &p->smsr)))
		goto fail;
	struct {
		crypto_eckey *k;
		abuf *cert;
		uint8_t role;
		const char *subj;
		uint16_t ku;
	} items[] = {
		{ p->ci, &p->ci_cert, GPCERT_ROLE_CI, "euicc-bench test CI", GPCERT_KEY_USAGE_SIGN },
		{ p->eum, &p->eum_cert, GPCERT_ROLE_EUM, "euicc-bench test EUM", GPCERT_KEY_USAGE_SIGN },
		{ p->smdp, &p->smdp_cert, GPCERT_ROLE_SMDP, "euicc-bench test SM-DP", GPCERT_KEY_USAGE_SIGN },
		{ p->smsr, &p->smsr_cert, GPCERT_ROLE_SMSR, "euicc-bench test SM-SR", GPCERT_KEY_USAGE_SIGN },
	};
	for (size_t i = 0; i < 4; i++) {
		if ((e = crypto_ec_public(items[i].k, pub)) ||
		    (e = gpcert_issue(p->ci, items[i].role, items[i].ku, items[i].subj, pub, p->curve, items[i].cert)))
			goto fail;
	}
	json_t *o = json_pack("{s:i,s:s,s:o,s:o,s:o,s:o}", "version", PKI_VERSION, "curve", "P-256", "ci",
			      key_json(p->ci, &p->ci_cert), "eum", key_json(p->eum, &p->eum_cert), "smdp",
			      key_json(p->smdp, &p->smdp_cert), "smsr", key_json(p->smsr, &p->smsr_cert));
	if (!o) {
		e = APDU_E_NOMEM;
		goto fail;
	}
	char tmp[1200];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char *text = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	size_t n = text ? strlen(text) : 0;
	int ok = fd >= 0 && text && write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	if (text) {
		crypto_wipe(text, n);
		free(text);
	}
	if (fd >= 0)
		close(fd);
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
		e = APDU_E_INVAL;
		goto fail;
	}
	return APDU_OK;
fail:
	if (!*why)
		snprintf(why, why_len, "cannot create the test PKI: %s", apdu_strerror(e));
	return e;
}

static apdu_err load_key(json_t *root, const char *name, crypto_curve curve, crypto_eckey **k, abuf *cert, char *why,
			 size_t why_len)
{
	json_t *o = json_object_get(root, name);
	const char *sk = json_string_value(json_object_get(o, "sk"));
	const char *ch = json_string_value(json_object_get(o, "cert"));
	uint8_t d[32];
	if (!sk || !ch || hex_decode_exact(sk, d, 32) || hex_decode(ch, cert, NULL)) {
		snprintf(why, why_len, "field '%s' is missing or malformed", name);
		return APDU_E_INVAL;
	}
	apdu_err e = crypto_ec_from_private(curve, d, k);
	crypto_wipe(d, 32);
	gpcert c;
	if (!e && (e = gpcert_parse(cert->p, cert->len, &c)))
		snprintf(why, why_len, "certificate '%s' does not parse: %s", name, apdu_strerror(e));
	else if (e)
		snprintf(why, why_len, "key '%s' is not a valid private key", name);
	return e;
}

apdu_err pki_load_or_create(const char *dir, bench_pki *out, char *why, size_t why_len)
{
	char path[1100];
	bench_pki p;
	memset(&p, 0, sizeof(p));
	why[0] = '\0';
	if (mkdir_p(dir, 0700) != 0) {
		snprintf(why, why_len, "cannot create directory %s: %s", dir, strerror(errno));
		return APDU_E_INVAL;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, PKI_FILE);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	apdu_err e;
	if (!root) {
		if (access(path, F_OK) == 0) {
			snprintf(why, why_len, "%s is corrupt (%s, line %d); refusing to replace it", path, jerr.text,
				 jerr.line);
			return APDU_E_INVAL;
		}
		e = create(path, &p, why, why_len);
	} else {
		char inner[200] = "";
		p.curve = CRYPTO_CURVE_P256;
		if (json_integer_value(json_object_get(root, "version")) != PKI_VERSION) {
			snprintf(inner, sizeof(inner), "unsupported version");
			e = APDU_E_UNSUPPORTED;
		} else if (!(e = load_key(root, "ci", p.curve, &p.ci, &p.ci_cert, inner, sizeof(inner))) &&
			   !(e = load_key(root, "eum", p.curve, &p.eum, &p.eum_cert, inner, sizeof(inner))) &&
			   !(e = load_key(root, "smdp", p.curve, &p.smdp, &p.smdp_cert, inner, sizeof(inner)))) {
			e = load_key(root, "smsr", p.curve, &p.smsr, &p.smsr_cert, inner, sizeof(inner));
		}
		json_decref(root);
		if (e)
			snprintf(why, why_len, "%s: %s", path, inner);
	}
	if (e) {
		pki_free(&p);
		return e;
	}
	/* every download checks a card's ECASD certificate up to the CI; the EUM's link is the same each
	 * time */
	gpcert eum;
	p.eum_verified = !gpcert_parse(p.eum_cert.p, p.eum_cert.len, &eum) && !gpcert_verify(&eum, p.ci);
	*out = p;
	return APDU_OK;
}

void pki_free(bench_pki *p)
{
	crypto_ec_free(p->ci);
	crypto_ec_free(p->eum);
	crypto_ec_free(p->smdp);
	crypto_ec_free(p->smsr);
	abuf_free(&p->ci_cert);
	abuf_free(&p->eum_cert);
	abuf_free(&p->smdp_cert);
	abuf_free(&p->smsr_cert);
	memset(p, 0, sizeof(*p));
}

euicc_issuer pki_issuer(const bench_pki *p)
{
	euicc_issuer is = { .eum = p->eum, .eum_cert = p->eum_cert.p, .eum_cert_len = p->eum_cert.len, .ci = p->ci };
	return is;
}
