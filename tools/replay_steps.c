/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The replayer's steps: variables, byte patterns, raw APDUs, OTA scripts, key establishment and download. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "apdu/hex.h"
#include "apdu/proto.h"
#include "host/link.h"
#include "host/pki.h"
#include "host/profile.h"
#include "host/smdp.h"
#include "replay_int.h"

void failf(runner *R, const vstep *s, const char *fmt, ...)
{
	if (R->fail[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(R->fail, sizeof(R->fail), fmt, ap);
	va_end(ap);
	R->fail_step = s;
}

void set_var(runner *R, const char *name, const char *value)
{
	for (size_t i = 0; i < R->nvars; i++)
		if (!strcmp(R->vars[i].name, name)) {
			snprintf(R->vars[i].value, sizeof(R->vars[i].value), "%s", value);
			return;
		}
	if (R->nvars < sizeof(R->vars) / sizeof(R->vars[0])) {
		snprintf(R->vars[R->nvars].name, sizeof(R->vars[0].name), "%s", name);
		snprintf(R->vars[R->nvars].value, sizeof(R->vars[0].value), "%s", value);
		R->nvars++;
	}
}

/* $NAME replaced by its value; an unknown variable is an error */
int expand(runner *R, const vstep *s, const char *in, char *out, size_t cap)
{
	size_t w = 0;
	for (const char *p = in; *p;) {
		if (*p == '$') {
			const char *q = p + 1;
			while ((*q >= 'A' && *q <= 'Z') || (*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
			       *q == '_')
				q++;
			char name[32];
			snprintf(name, sizeof(name), "%.*s", (int)(q - p - 1), p + 1);
			const char *val = NULL;
			for (size_t i = 0; i < R->nvars; i++)
				if (!strcmp(R->vars[i].name, name))
					val = R->vars[i].value;
			if (!val) {
				failf(R, s, "unknown variable $%s", name);
				return -1;
			}
			size_t n = strlen(val);
			if (w + n + 1 > cap)
				goto too_long;
			memcpy(out + w, val, n);
			w += n;
			p = q;
			continue;
		}
		if (w + 2 > cap)
			goto too_long;
		out[w++] = *p++;
	}
	out[w] = '\0';
	return 0;
too_long:
	failf(R, s, "line too long after variables");
	return -1;
}

/* compares and, on a mismatch, describes it with a caret under the first differing byte */
bool check_bytes(runner *R, const vstep *s, const char *what, const pattern *p, const uint8_t *d, size_t n)
{
	size_t at = match(p, d, n);
	if (!at)
		return true;
	char e[2 * 4096 + 8], g[2 * 4096 + 8];
	pattern_text(p, e, sizeof(e));
	bytes_text(d, n, g, sizeof(g));
	size_t col = 2 * (at - 1);
	failf(R, s, "%s differ at byte %zu\n    expected: %.600s\n    got:      %.600s\n              %*s^", what,
	      at - 1, e, g, (int)(col < 600 ? col : 600), "");
	return false;
}

int hex_arg(runner *R, const vstep *s, const char *text, abuf *out)
{
	abuf_reset(out);
	if (hex_decode(text, out, NULL)) {
		failf(R, s, "not hex: %s", text);
		return -1;
	}
	return 0;
}

/* the expectation line that must follow an action */
const vstep *expect_line(runner *R, const vblock *b, size_t *k, const char *kw)
{
	if (*k + 1 >= b->n || strncmp(b->steps[*k + 1].text, kw, strlen(kw))) {
		failf(R, &b->steps[*k], "the step is not followed by its '%s' expectation", kw);
		return NULL;
	}
	(*k)++;
	return &b->steps[*k];
}

/* byte for byte, no shell (a path may hold any character) */
static const uint8_t *tar_of(const char *name, uint8_t tar[3])
{
	uint32_t v = !strcmp(name, "isdr") ? PROTO_TAR_ISDR : !strcmp(name, "ecasd") ? PROTO_TAR_ECASD : 0;
	if (v) {
		tar[0] = (uint8_t)(v >> 16);
		tar[1] = (uint8_t)(v >> 8);
		tar[2] = (uint8_t)v;
	} else if (strlen(name) == 6 && !hex_decode_exact(name, tar, 3))
		return tar;
	else
		return NULL;
	return tar;
}

/* OTA [options] TARGET APDU ; APDU ...   then   POR status=XX [sw=XXXX] [count=N] [data=PATTERN] */
/* The POR line of an OTA step against the PoR that came back: status, and when asked the count, the
 * last status word and the response data (kept in R->last for later steps) */
static void check_por(runner *R, const vstep *e, const char *eline)
{
	const dev_host *h = &R->h;
	unsigned want_status = 0x100, want_count = 0;
	int want_sw = -1;
	bool want_data = false, want_count_set = false;
	pattern pat;
	char ebuf[4096];
	snprintf(ebuf, sizeof(ebuf), "%s", eline + 3);
	char *save2 = NULL;
	for (char *tok = strtok_r(ebuf, " \t", &save2); tok; tok = strtok_r(NULL, " \t", &save2)) {
		if (!strncmp(tok, "status=", 7))
			want_status = (unsigned)strtoul(tok + 7, NULL, 16);
		else if (!strncmp(tok, "sw=", 3))
			want_sw = (int)strtoul(tok + 3, NULL, 16);
		else if (!strncmp(tok, "count=", 6)) {
			want_count = (unsigned)strtoul(tok + 6, NULL, 10);
			want_count_set = true;
		} else if (!strncmp(tok, "data=", 5)) {
			char rest[4096];
			/* data= takes the rest of the line (patterns may contain spaces) */
			snprintf(rest, sizeof(rest), "%s%s%s", tok + 5, save2 && *save2 ? " " : "", save2 ? save2 : "");
			if (parse_pattern(rest, &pat)) {
				failf(R, e, "data= is not a pattern of hex, '..' and a final '*'");
				return;
			}
			want_data = true;
			break;
		} else {
			failf(R, e, "POR: unknown field '%s' (status=, sw=, count=, data=)", tok);
			return;
		}
	}
	if (want_status > 0xFF) {
		failf(R, e, "POR needs status=XX");
		return;
	}
	if (h->por.status != want_status) {
		failf(R, e, "PoR status differs\n    expected: status=%02x\n    got:      status=%02x (%s)",
		      want_status, h->por.status, scp80_por_status_name(h->por.status));
		return;
	}
	if (want_sw < 0 && !want_count_set && !want_data)
		return;
	scp80_response r;
	if (scp80_response_parse(SCP80_FORMAT_EXPANDED, h->por_data.p, h->por_data.len, &r)) {
		failf(R, e, "the PoR's response data does not parse");
		return;
	}
	abuf_put(&R->last, r.data, r.len);
	if (want_count_set && r.count != want_count) {
		failf(R, e, "PoR count differs\n    expected: count=%u\n    got:      count=%u", want_count,
		      (unsigned)r.count);
		return;
	}
	if (want_sw >= 0 && r.last_sw != want_sw) {
		failf(R, e, "PoR status word differs\n    expected: sw=%04x\n    got:      sw=%04x", (unsigned)want_sw,
		      r.last_sw);
		return;
	}
	if (want_data)
		check_bytes(R, e, "PoR response data", &pat, r.data, r.len);
}

void step_ota(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", line + 3);
	char *p = trim(buf);
	uint16_t spi = 0x1639;
	int cntr_mode = 0; /* 0 next, 1 the last one again */
	dev_fault corrupt = DEV_FAULT_NONE;
	/* options before the target */
	for (;;) {
		char *sp = strpbrk(p, " \t");
		if (!sp)
			break;
		*sp = '\0';
		if (!strncmp(p, "spi=", 4)) {
			spi = (uint16_t)strtoul(p + 4, NULL, 16);
		} else if (!strcmp(p, "counter=last")) {
			cntr_mode = 1;
		} else if (!strcmp(p, "corrupt=cc")) {
			corrupt = DEV_FAULT_FLIP_LAST;
		} else if (!strcmp(p, "corrupt=cipher")) {
			corrupt = DEV_FAULT_SHORTEN;
		} else {
			*sp = ' ';
			break;
		}
		p = trim(sp + 1);
	}
	char *sp = strpbrk(p, " \t");
	if (!sp) {
		failf(R, s, "OTA needs a target and at least one APDU");
		return;
	}
	*sp = '\0';
	uint8_t tar[3];
	if (!tar_of(p, tar)) {
		failf(R, s, "OTA target '%s': isdr, ecasd or a 6-digit hex TAR", p);
		return;
	}
	abuf apdus[16];
	const uint8_t *items[16];
	size_t lens[16], n = 0;
	char *save = NULL;
	for (char *tok = strtok_r(sp + 1, ";", &save); tok; tok = strtok_r(NULL, ";", &save)) {
		if (n == 16) {
			failf(R, s, "OTA: at most 16 APDUs in one script");
			goto out;
		}
		abuf_init(&apdus[n]);
		if (hex_arg(R, s, trim(tok), &apdus[n])) {
			abuf_free(&apdus[n]);
			goto out;
		}
		items[n] = apdus[n].p;
		lens[n] = apdus[n].len;
		n++;
	}
	dev_host *h = &R->h;
	h->spi = spi;
	if (cntr_mode == 1)
		h->cntr = R->last_cntr;
	R->last_cntr = h->cntr;
	bool resync = h->auto_resync;
	if (cntr_mode == 1)
		h->auto_resync = false; /* the point is the refusal */
	int rc = dev_send_faults(h, tar, true, items, lens, n, false, corrupt);
	h->auto_resync = resync;
	h->spi = 0x1639;
	abuf_reset(&R->last);
	if (rc) {
		failf(R, s, "no PoR came back (%s)", h->log.len ? (char *)h->log.p : "transport");
		goto out;
	}
	check_por(R, e, eline);
out:
	for (size_t i = 0; i < n; i++)
		abuf_free(&apdus[i]);
}

/* C: APDU   then   R: [DATA PATTERN] SW */
void step_raw(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline)
{
	abuf a = ABUF_INIT;
	if (hex_arg(R, s, line + 2, &a)) {
		abuf_free(&a);
		return;
	}
	static uint8_t r[65538 + 16];
	char ebuf[4096];
	snprintf(ebuf, sizeof(ebuf), "%s", trim((char *)eline + 2));
	size_t n = R->h.t.transmit(R->h.t.ctx, a.p, a.len, r, sizeof(r));
	R->h.apdus++;
	abuf_reset(&R->last);
	if (n >= 2 && link_protocol(R->link) == 0) {
		/* a T=0 card: as a T=0 host, fetch 61xx / 9Fxx with GET RESPONSE and send a 6Cxx command again
		 * with that P3, unless the vector expects those status words itself */
		const char *esw = strrchr(ebuf, ' ') ? strrchr(ebuf, ' ') + 1 : ebuf;
		for (int guard = 0; guard < 64 && n >= 2; guard++) {
			uint8_t s1 = r[n - 2], s2 = r[n - 1];
			bool more = (s1 == 0x61 || s1 == 0x9F) && strncasecmp(esw, s1 == 0x61 ? "61" : "9f", 2);
			bool again = s1 == 0x6C && strncasecmp(esw, "6c", 2) && a.len == 5;
			if (!more && !again)
				break;
			abuf_put(&R->last, r, n - 2);
			if (again) {
				a.p[4] = s2;
				abuf_reset(&R->last);
				n = R->h.t.transmit(R->h.t.ctx, a.p, a.len, r, sizeof(r));
			} else {
				uint8_t gr[5] = { (uint8_t)(a.p[0] == 0xA0 ? 0xA0 : (a.p[0] & 0x03)), 0xC0, 0x00, 0x00,
						  s2 };
				n = R->h.t.transmit(R->h.t.ctx, gr, 5, r, sizeof(r));
			}
			R->h.apdus++;
		}
	}
	abuf_free(&a);
	if (n < 2) {
		failf(R, s, "the card did not answer");
		return;
	}
	/* the data as the host got it (all GET RESPONSE parts), then the last status word */
	uint8_t swb[2] = { r[n - 2], r[n - 1] };
	abuf_put(&R->last, r, n - 2);
	char *sw = strrchr(ebuf, ' ');
	char *swt = sw ? sw + 1 : ebuf;
	pattern psw, pdata;
	if (parse_pattern(swt, &psw) || psw.n != 2 || psw.star) {
		failf(R, e, "R: must end with the status word (4 hex digits, '..' allowed)");
		return;
	}
	if (sw)
		*sw = '\0';
	if (parse_pattern(sw ? ebuf : "", &pdata)) {
		failf(R, e, "R: data is not a pattern of hex, '..' and a final '*'");
		return;
	}
	if (check_bytes(R, e, "response data", &pdata, R->last.p, R->last.len))
		check_bytes(R, e, "status words", &psw, swb, 2);
}

/* DOWNLOAD ... interrupt-after=N: the card is reset (power cut) after N segments went through */
static void progress_reset(void *ctx, size_t done, size_t total)
{
	runner *R = ctx;
	(void)done;
	(void)total;
	if (R->interrupt_after && ++R->segments_done == R->interrupt_after)
		R->h.t.reset(R->h.t.ctx);
}

/* DOWNLOAD AID PACKAGE [options]   then   EXPECT ok | EXPECT fail TEXT
 * PACKAGE: generated:ICCID:IMSI[:K:OPC] (a bench package; K 11.., OPc 22.. by default) or a .der path
 * relative to the vector file.
 * Options: pki=foreign-ci | pki=bad-signature, challenge=wrong, corrupt-segment=N, truncate=BYTES,
 * segment=BYTES, interrupt-after=N (segments). */
/* The package of a DOWNLOAD step: generated:ICCID:IMSI[:K:OPC], or a file (relative to the vector
 * file). -1 with the failure said. */
static int download_package(runner *R, const vstep *s, const char *pk, abuf *pkg)
{
	char why[512];
	if (!strncmp(pk, "generated:", 10)) {
		char spec[200], *sv = NULL;
		snprintf(spec, sizeof(spec), "%s", pk + 10);
		profile_params pp;
		memset(&pp, 0, sizeof(pp));
		pp.iccid = strtok_r(spec, ":", &sv);
		pp.imsi = strtok_r(NULL, ":", &sv);
		const char *kh = strtok_r(NULL, ":", &sv), *oh = strtok_r(NULL, ":", &sv);
		memset(pp.k, 0x11, 16);
		memset(pp.opc, 0x22, 16);
		if ((kh && hex_decode_exact(kh, pp.k, 16)) || (oh && hex_decode_exact(oh, pp.opc, 16)) || (kh && !oh)) {
			failf(R, s, "generated:ICCID:IMSI[:K:OPC] with 16-byte K and OPc");
			return -1;
		}
		if (!pp.iccid || !pp.imsi || profile_build(&pp, pkg, why, sizeof(why))) {
			failf(R, s, "generated package: %s",
			      pp.iccid && pp.imsi ? why : "generated:ICCID:IMSI[:K:OPC]");
			return -1;
		}
	} else {
		char path[1024];
		const char *slash = strrchr(s->file, '/');
		if (pk[0] != '/' && slash)
			snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - s->file), s->file, pk);
		else
			snprintf(path, sizeof(path), "%s", pk);
		FILE *f = fopen(path, "rb");
		if (!f) {
			failf(R, s, "package %s: %s", path, strerror(errno));
			return -1;
		}
		uint8_t b[4096];
		size_t k;
		while ((k = fread(b, 1, sizeof(b), f)) > 0)
			abuf_put(pkg, b, k);
		fclose(f);
	}
	return 0;
}

void step_download(runner *R, const vstep *s, const char *line, const vstep *e, const char *eline)
{
	char buf[4096];
	snprintf(buf, sizeof(buf), "%s", line + 8);
	char *save = NULL, *aidh = strtok_r(buf, " \t", &save), *pk = strtok_r(NULL, " \t", &save);
	uint8_t aid[16];
	if (!aidh || hex_decode_exact(aidh, aid, 16) || !pk) {
		failf(R, s, "DOWNLOAD needs a 16-byte ISD-P AID and a package");
		return;
	}
	abuf pkg = ABUF_INIT;
	smdp_faults faults = { 0 };
	char why[512];
	if (download_package(R, s, pk, &pkg)) {
		abuf_free(&pkg);
		return;
	}
	const bench_pki *pki = &R->pki;
	bench_pki bad;
	size_t segment = PROTO_SCP03T_SEGMENT;
	for (char *opt = strtok_r(NULL, " \t", &save); opt; opt = strtok_r(NULL, " \t", &save)) {
		if (!strcmp(opt, "pki=bad-signature")) {
			bad = R->pki;
			bad.smdp = R->pki.smsr; /* signs with a key CERT.DP.ECDSA does not certify */
			pki = &bad;
		} else if (!strcmp(opt, "pki=foreign-ci")) {
			if (!R->have_foreign) {
				char dir[400];
				snprintf(dir, sizeof(dir), "%s/foreign-pki", R->tmpdir);
				if (pki_load_or_create(dir, &R->foreign, why, sizeof(why))) {
					failf(R, s, "foreign PKI: %s", why);
					abuf_free(&pkg);
					return;
				}
				R->have_foreign = true;
			}
			bad = R->pki;
			bad.smdp = R->foreign.smdp;
			bad.smdp_cert = R->foreign.smdp_cert;
			pki = &bad;
		} else if (!strcmp(opt, "challenge=wrong")) {
			faults.wrong_challenge = true;
		} else if (!strncmp(opt, "corrupt-segment=", 16) || !strncmp(opt, "segment=", 8) ||
			   !strncmp(opt, "interrupt-after=", 16)) {
			/* counts and sizes: a number from 1 up, nothing else (segment=0 would never end) */
			const char *v = strchr(opt, '=') + 1;
			char *end;
			unsigned long n = strtoul(v, &end, 10);
			if (!*v || *end || *v == '-' || n < 1 || n > 65535) {
				failf(R, s, "DOWNLOAD: '%s' is not a number from 1 to 65535", opt);
				abuf_free(&pkg);
				return;
			}
			if (opt[0] == 'c') {
				faults.corrupt_segment = (int)n;
			} else if (opt[0] == 's') {
				segment = n;
			} else {
				R->interrupt_after = (unsigned)n;
				R->segments_done = 0;
				R->h.progress = progress_reset;
				R->h.progress_ctx = R;
			}
		} else if (!strncmp(opt, "truncate=", 9)) {
			size_t t = (size_t)strtoul(opt + 9, NULL, 10);
			if (t < pkg.len)
				pkg.len = t;
		} else {
			failf(R, s, "DOWNLOAD: unknown option '%s'", opt);
			abuf_free(&pkg);
			return;
		}
	}
	abuf_reset(&R->h.log);
	int rc = smdp_download_faults(&R->h, pki, R->eis, aid, pkg.p, pkg.len, segment, &faults);
	R->h.progress = NULL;
	R->interrupt_after = 0;
	abuf_free(&pkg);
	const char *got = rc ? (R->h.log.len ? (const char *)R->h.log.p : "failed") : NULL;
	char eb[1024];
	snprintf(eb, sizeof(eb), "%s", trim((char *)eline + 6));
	if (!strcmp(eb, "ok")) {
		if (rc)
			failf(R, e, "download outcome differs\n    expected: ok\n    got:      fail (%s)", got);
	} else if (!strncmp(eb, "fail", 4)) {
		const char *text = trim(eb + 4);
		if (!rc)
			failf(R, e, "download outcome differs\n    expected: fail %s\n    got:      ok", text);
		else if (*text && !strstr(got, text))
			failf(R, e, "download failure differs\n    expected: fail %s\n    got:      fail (%s)", text,
			      got);
	} else {
		failf(R, e, "EXPECT ok | EXPECT fail [TEXT]");
	}
}
