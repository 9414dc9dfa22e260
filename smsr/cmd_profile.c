/* SPDX-License-Identifier: GPL-2.0-or-later */
/* smsr profile new|show: make a SAIP package, or show one (keys only when asked). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "host/profile.h"
#include "smsr.h"

/* smsr profile show [--show-secrets] FILE */
static int profile_show(smsr_ctx *x, int argc, char **argv)
{
	char why[600];
	bool secrets = false;
	const char *file = NULL;
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--show-secrets"))
			secrets = true;
		else if (!file)
			file = argv[i];
		else
			return smsr_fail(x, CLI_USAGE, "profile show: unexpected argument '%s'", argv[i]);
	}
	if (!file)
		return smsr_fail(x, CLI_USAGE, "profile show: FILE is required");
	abuf b = ABUF_INIT;
	if (smsr_read_file(file, &b, why, sizeof(why))) {
		abuf_free(&b);
		return smsr_fail(x, 1, "%s", why);
	}
	json_t *d = profile_describe(b.p, b.len, secrets, why, sizeof(why));
	abuf_free(&b);
	if (!d)
		return smsr_fail(x, 1, "%s: not a profile package: %s", file, why);
	if (x->json) {
		smsr_emit(x, d);
	} else {
		printf("%s: %lld bytes\n  ICCID %s\n  IMSI  %s\n", file,
		       json_integer_value(json_object_get(d, "bytes")), json_string_value(json_object_get(d, "iccid")),
		       json_is_string(json_object_get(d, "imsi")) ? json_string_value(json_object_get(d, "imsi"))
								  : "-");
		if (json_is_string(json_object_get(d, "k")))
			printf("  K     %s\n", json_string_value(json_object_get(d, "k")));
		if (json_is_string(json_object_get(d, "opc")))
			printf("  OPc   %s\n", json_string_value(json_object_get(d, "opc")));
		size_t i;
		json_t *e;
		json_array_foreach(json_object_get(d, "elements"), i, e) printf(
			"  %2zu  %s %-22s %5lld bytes\n", i, json_string_value(json_object_get(e, "tag")),
			json_string_value(json_object_get(e, "name")), json_integer_value(json_object_get(e, "bytes")));
		printf("  files with an explicit identifier:\n");
		json_array_foreach(json_object_get(d, "files"), i, e) printf(
			"    %s (%s) %s\n", json_string_value(json_object_get(e, "fid")),
			json_string_value(json_object_get(e, "element")),
			json_is_string(json_object_get(e, "content")) ? json_string_value(json_object_get(e, "content"))
								      : "");
		json_decref(d);
	}
	return 0;
}

/* smsr profile new --iccid ... : a package written 0600, never over an existing file unless --force */
static int profile_new(smsr_ctx *x, int argc, char **argv)
{
	char why[600];
	profile_params p;
	memset(&p, 0, sizeof(p));
	const char *out = NULL, *k = NULL, *opc = NULL;
	bool force = false;
	for (int i = 2; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--pin-enabled")) {
			p.pin_enabled = true;
			continue;
		}
		if (!strcmp(o, "--force")) {
			force = true;
			continue;
		}
		if (!strcmp(o, "--iccid") && v)
			p.iccid = v;
		else if (!strcmp(o, "--imsi") && v)
			p.imsi = v;
		else if (!strcmp(o, "--k") && v)
			k = v;
		else if (!strcmp(o, "--opc") && v)
			opc = v;
		else if (!strcmp(o, "--out") && v)
			out = v;
		else if (!strcmp(o, "--name") && v)
			p.name = v;
		else if (!strcmp(o, "--spn") && v)
			p.spn = v;
		else if (!strcmp(o, "--pin") && v)
			p.pin = v;
		else if (!strcmp(o, "--puk") && v)
			p.puk = v;
		else
			return smsr_fail(x, CLI_USAGE, "profile new: unknown or incomplete option '%s'", o);
		i++;
	}
	if (!p.iccid || !p.imsi || !k || !opc)
		return smsr_fail(x, CLI_USAGE, "profile new: --iccid, --imsi, --k and --opc are required");
	if (hex_decode_exact(k, p.k, 16))
		return smsr_fail(x, CLI_USAGE, "profile new: --k: expected 16 bytes of hex");
	if (hex_decode_exact(opc, p.opc, 16))
		return smsr_fail(x, CLI_USAGE, "profile new: --opc: expected 16 bytes of hex");
	abuf b = ABUF_INIT;
	if (profile_build(&p, &b, why, sizeof(why)))
		return smsr_fail(x, CLI_USAGE, "profile new: %s", why);
	char path[1024];
	if (!out) {
		snprintf(path, sizeof(path), "profile-%s.der", p.iccid);
		out = path;
	}
	/* a package (it holds K and OPc) is not overwritten unless asked */
	int fd = open(out, O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0 && errno == EEXIST) {
		abuf_free(&b);
		crypto_wipe(&p, sizeof(p));
		return smsr_fail(x, CLI_USAGE, "profile new: %s exists; give --force to overwrite it", out);
	}
	if (fd < 0 || write(fd, b.p, b.len) != (ssize_t)b.len) {
		if (fd >= 0)
			close(fd);
		abuf_free(&b);
		return smsr_fail(x, 1, "profile new: cannot write %s: %s", out, strerror(errno));
	}
	close(fd);
	if (x->json)
		smsr_emit(x,
			  json_pack("{s:s,s:s,s:s,s:I}", "file", out, "iccid", p.iccid, "imsi", p.imsi, "bytes",
				    (json_int_t)b.len));
	else
		printf("wrote %s (%zu bytes, ICCID %s, IMSI %s)\n", out, b.len, p.iccid, p.imsi);
	abuf_free(&b);
	crypto_wipe(&p, sizeof(p));
	return 0;
}

int smsr_cmd_profile(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	if (argc < 2 || !strcmp(argv[1], "--help"))
		return smsr_fail(x, CLI_USAGE,
				 "usage: smsr profile new --iccid ICCID --imsi IMSI --k HEX --opc HEX [--out FILE] | "
				 "smsr profile show [--show-secrets] FILE");
	if (!strcmp(argv[1], "show"))
		return profile_show(x, argc, argv);
	if (!strcmp(argv[1], "new"))
		return profile_new(x, argc, argv);
	return smsr_fail(x, CLI_USAGE, "profile: unknown subcommand '%s' (new, show)", argv[1]);
}
