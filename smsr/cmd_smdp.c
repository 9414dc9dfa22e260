/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr smdp add|generate|list: the SM-DP's profile inventory (keys are never printed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apdu/crypto.h"
#include "apdu/ids.h"
#include "host/profile.h"
#include "smsr.h"

static int add_one(smsr_ctx *x, const uint8_t kek[32], const uint8_t *pkg, size_t len, const char *op, const char *pool,
		   char iccid[24], char *why, size_t why_len)
{
	json_t *d = profile_describe(pkg, len, false, why, why_len);
	if (!d)
		return -1;
	snprintf(iccid, 24, "%s", json_string_value(json_object_get(d, "iccid")));
	const char *imsi = json_string_value(json_object_get(d, "imsi"));
	smdp_entry e = { iccid, imsi ? imsi : "", op, pool };
	int rc = store_smdp_add(x->c.st, kek, &e, pkg, len, why, why_len);
	json_decref(d);
	return rc;
}

static int smdp_add(smsr_ctx *x, int argc, char **argv)
{
	const char *op = smsr_opt(argc, argv, "--operator"), *pool = smsr_opt(argc, argv, "--pool");
	if (argc < 3 || argv[2][0] == '-' || !op)
		return smsr_fail(x, CLI_USAGE, "usage: smsr smdp add PACKAGE.der --operator NAME [--pool NAME]");
	if (smsr_open_store(x))
		return 1;
	char why[1200], iccid[24];
	uint8_t kek[32];
	if (smsr_kek(&x->c, true, kek, why, sizeof(why)))
		return smsr_fail(x, 1, "smdp add: %s", why);
	abuf pkg = ABUF_INIT;
	int rc = smsr_read_file(argv[2], &pkg, why, sizeof(why));
	if (!rc)
		rc = add_one(x, kek, pkg.p, pkg.len, op, pool, iccid, why, sizeof(why));
	crypto_wipe(kek, sizeof(kek));
	crypto_wipe(pkg.p, pkg.len);
	abuf_free(&pkg);
	if (rc)
		return smsr_fail(x, 1, "smdp add %s: %s", argv[2], why);
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:s,s:s,s:s?,s:s}", "iccid", iccid, "operator", op, "pool", pool, "state",
				    "available"));
	else
		printf("SM-DP: profile %s of %s added%s%s (sealed)\n", iccid, op, pool ? " to pool " : "",
		       pool ? pool : "");
	return 0;
}

/* the next ICCID: the digits before the check digit + 1, the Luhn digit again */
static int next_iccid(char *iccid)
{
	size_t n = strlen(iccid);
	for (size_t i = n - 1; i-- > 0;) {
		if (iccid[i] < '9') {
			iccid[i]++;
			break;
		}
		iccid[i] = '0';
		if (i == 0)
			return -1;
	}
	char body[24], check;
	snprintf(body, sizeof(body), "%.*s", (int)(n - 1), iccid);
	if (luhn_digit(body, &check))
		return -1;
	iccid[n - 1] = check;
	return 0;
}

static int next_imsi(char *imsi)
{
	for (size_t i = strlen(imsi); i-- > 0;) {
		if (imsi[i] < '9') {
			imsi[i]++;
			return 0;
		}
		imsi[i] = '0';
	}
	return -1;
}

static int smdp_generate(smsr_ctx *x, int argc, char **argv)
{
	const char *op = smsr_opt(argc, argv, "--operator"), *pool = smsr_opt(argc, argv, "--pool"),
		   *count_s = smsr_opt(argc, argv, "--count"), *iccid0 = smsr_opt(argc, argv, "--iccid-from"),
		   *imsi0 = smsr_opt(argc, argv, "--imsi-from");
	if (!op || !pool || !count_s || !iccid0 || !imsi0)
		return smsr_fail(x, CLI_USAGE,
				 "usage: smsr smdp generate --operator NAME --pool NAME --count N --iccid-from ICCID "
				 "--imsi-from IMSI");
	char *end;
	long count = strtol(count_s, &end, 10);
	if (*end || count < 1 || count > 1000000)
		return smsr_fail(x, CLI_USAGE, "smdp generate: --count '%s' is not 1 to 1000000", count_s);
	if (iccid_check(iccid0))
		return smsr_fail(x, CLI_USAGE,
				 "smdp generate: --iccid-from '%s' is not an ICCID (19 or 20 digits, Luhn)", iccid0);
	size_t il = strlen(imsi0);
	if (il < 6 || il > 15 || strspn(imsi0, "0123456789") != il)
		return smsr_fail(x, CLI_USAGE, "smdp generate: --imsi-from '%s' is not 6 to 15 digits", imsi0);
	if (smsr_open_store(x))
		return 1;
	char why[1200], iccid[24], imsi[16];
	uint8_t kek[32];
	if (smsr_kek(&x->c, true, kek, why, sizeof(why)))
		return smsr_fail(x, 1, "smdp generate: %s", why);
	snprintf(iccid, sizeof(iccid), "%s", iccid0);
	snprintf(imsi, sizeof(imsi), "%s", imsi0);
	/* all or nothing: one transaction */
	if (store_begin(x->c.st)) {
		crypto_wipe(kek, sizeof(kek));
		return smsr_fail(x, 1, "smdp generate: the store is busy");
	}
	int rc = 0;
	bool tty = isatty(2) && !x->json;
	for (long i = 0; i < count && !rc; i++) {
		profile_params p;
		memset(&p, 0, sizeof(p));
		p.iccid = iccid;
		p.imsi = imsi;
		if (crypto_random(p.k, 16) || crypto_random(p.opc, 16)) {
			snprintf(why, sizeof(why), "no random bytes for K and OPc");
			rc = -1;
			break;
		}
		abuf b = ABUF_INIT;
		char got[24];
		if (profile_build(&p, &b, why, sizeof(why)) ||
		    add_one(x, kek, b.p, b.len, op, pool, got, why, sizeof(why)))
			rc = -1;
		crypto_wipe(&p, sizeof(p));
		crypto_wipe(b.p, b.len);
		abuf_free(&b);
		if (!rc && i + 1 < count && (next_iccid(iccid) || next_imsi(imsi))) {
			snprintf(why, sizeof(why), "the ICCID or IMSI range ends before %ld profiles", count);
			rc = -1;
		}
		if (tty && (i + 1) % 100 == 0)
			fprintf(stderr, "\r  %ld/%ld profiles", i + 1, count);
	}
	if (tty && count >= 100)
		fputc('\n', stderr);
	crypto_wipe(kek, sizeof(kek));
	if (rc || store_commit(x->c.st)) {
		store_rollback(x->c.st);
		return smsr_fail(x, 1, "smdp generate: %s; nothing added", rc ? why : "the store could not commit");
	}
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:s,s:s,s:i,s:s,s:s}", "operator", op, "pool", pool, "count", (int)count,
				    "iccid_from", iccid0, "iccid_to", iccid));
	else
		printf("SM-DP: %ld profiles of %s in pool %s (ICCID %s to %s), sealed\n", count, op, pool, iccid0,
		       iccid);
	return 0;
}

static int smdp_list(smsr_ctx *x, int argc, char **argv)
{
	const char *pool = smsr_opt(argc, argv, "--pool"), *state = smsr_opt(argc, argv, "--state");
	static const char *const states[] = { "available", "reserved", "installed", "deleted", NULL };
	bool ok = !state;
	for (size_t i = 0; states[i] && !ok; i++)
		ok = !strcmp(state, states[i]);
	if (!ok)
		return smsr_fail(x, CLI_USAGE,
				 "smdp list: --state '%s': one of available, reserved, installed, deleted", state);
	if (smsr_open_store(x))
		return 1;
	json_t *l = store_smdp_list(x->c.st, pool, state);
	if (x->json) {
		smsr_emit(x, json_pack("{s:o}", "profiles", l));
		return 0;
	}
	size_t i;
	json_t *p;
	printf("%-21s %-16s %-12s %-10s %-10s %s\n", "ICCID", "IMSI", "operator", "pool", "state", "eUICC");
	json_array_foreach(l, i, p)
		printf("%-21s %-16s %-12s %-10s %-10s %s\n", json_string_value(json_object_get(p, "iccid")),
		       json_string_value(json_object_get(p, "imsi")), json_string_value(json_object_get(p, "operator")),
		       json_is_string(json_object_get(p, "pool")) ? json_string_value(json_object_get(p, "pool")) : "-",
		       json_string_value(json_object_get(p, "state")),
		       json_is_string(json_object_get(p, "eid")) ? json_string_value(json_object_get(p, "eid")) : "-");
	printf("%zu profiles\n", json_array_size(l));
	json_decref(l);
	return 0;
}

int smsr_cmd_smdp(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc >= 2 && !strcmp(argv[1], "add"))
		return smdp_add(x, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "generate"))
		return smdp_generate(x, argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "list"))
		return smdp_list(x, argc, argv);
	return smsr_fail(x, CLI_USAGE,
			 "usage: smsr smdp add PACKAGE.der --operator NAME [--pool NAME] | smsr smdp generate "
			 "--operator NAME --pool NAME --count N --iccid-from ICCID --imsi-from IMSI | smsr smdp list "
			 "[--pool P] [--state S]");
}
