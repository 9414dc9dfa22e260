/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apdu ota encode|decode|por: SCP80 command packets and PoRs (ETSI TS 102 225). */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apdu/apdu.h"
#include "apdu/crypto.h"
#include "apdu/scp80.h"
#include "apdu_tool.h"

/* ---------------- ota ---------------- */

typedef struct {
	const char *spi, *kic, *kic_key, *kid, *kid_key, *tar, *cntr, *format;
} ota_args;

static const char *alg_name(uint8_t nibble)
{
	switch (nibble) {
	case 0x2: return "AES";
	case 0x5: return "3DES 2-key";
	case 0x9: return "3DES 3-key";
	case 0x1: return "single DES";
	case 0xd: return "DES ECB";
	case 0x0: return "implicit";
	}
	return "reserved";
}

static const char *sig_name(uint8_t s)
{
	static const char *const n[4] = { "none", "RC", "CC", "DS" };
	return n[s & 3];
}

static const char *cntr_name(uint8_t m)
{
	switch (m & SCP80_SPI1_CNTR_MASK) {
	case SCP80_CNTR_NONE: return "no counter";
	case SCP80_CNTR_AVAILABLE: return "counter, no replay check";
	case SCP80_CNTR_HIGHER: return "counter must be higher";
	case SCP80_CNTR_ONE_HIGHER: return "counter must be one higher";
	}
	return "?";
}

static void describe_spi(uint16_t spi, char *buf, size_t n)
{
	uint8_t s1 = (uint8_t)(spi >> 8), s2 = (uint8_t)spi;
	static const char *const por[4] = { "no PoR", "PoR always", "PoR on error", "reserved" };
	snprintf(buf, n, "%s, %s, %s; %s, PoR %s, PoR %s, PoR via %s", sig_name(s1),
		 (s1 & SCP80_SPI1_CIPHER) ? "ciphered" : "not ciphered", cntr_name(s1), por[s2 & 3],
		 sig_name((uint8_t)(s2 >> 2)), (s2 & SCP80_SPI2_POR_CIPHER) ? "ciphered" : "not ciphered",
		 (s2 & SCP80_SPI2_POR_SUBMIT) ? "SMS-SUBMIT" : "SMS-DELIVER-REPORT");
}

/* Builds the keyset and SPI from the options, naming the first bad one. */
/* a key option: hex, at most cap bytes */
static int key_arg(const char *name, const char *val, uint8_t *dst, size_t cap, size_t *len)
{
	abuf key = ABUF_INIT;
	int rc = arg_hex(name, val, &key, 0);
	if (!rc && key.len > cap)
		rc = tool_fail(CLI_USAGE, "%s: %zu bytes is longer than any key", name, key.len);
	if (!rc) {
		memcpy(dst, key.p, key.len);
		*len = key.len;
	}
	crypto_wipe(key.p, key.len);
	abuf_free(&key);
	return rc;
}

static int ota_keyset(const ota_args *a, scp80_keyset *ks, uint16_t *spi_out)
{
	uint8_t spi[2] = { 0, 0 }, kic = 0, kid = 0;
	abuf key = ABUF_INIT;
	int rc;
	memset(ks, 0, sizeof(*ks));
	if ((rc = arg_hex_fixed("--spi", a->spi, spi, 2)) || (rc = arg_hex_fixed("--kic", a->kic, &kic, 1)) ||
	    (rc = arg_hex_fixed("--kid", a->kid, &kid, 1)))
		return rc;
	uint16_t s = (uint16_t)((spi[0] << 8) | spi[1]);
	if (spi[0] & SCP80_SPI1_RESERVED)
		return tool_fail(CLI_USAGE, "--spi: reserved bits set in the first byte (%02x; b8..b6 must be 0)",
				 spi[0]);
	if (spi[1] & SCP80_SPI2_RESERVED)
		return tool_fail(CLI_USAGE, "--spi: reserved bits set in the second byte (%02x; b8..b7 must be 0)",
				 spi[1]);
	if ((spi[1] & 3) == 3)
		return tool_fail(CLI_USAGE, "--spi: PoR field '11' in the second byte is reserved");
	if ((spi[0] & 3) == 3 || ((spi[1] >> 2) & 3) == 3)
		return tool_fail(CLI_USAGE, "--spi: digital signatures (DS) are not supported");
	ks->kic = kic;
	ks->kid = kid;
	if (a->kic_key && (rc = key_arg("--kic-key", a->kic_key, ks->kic_key, sizeof(ks->kic_key), &ks->kic_key_len)))
		goto out;
	if (a->kid_key && (rc = key_arg("--kid-key", a->kid_key, ks->kid_key, sizeof(ks->kid_key), &ks->kid_key_len)))
		goto out;
	bool cipher = (spi[0] & SCP80_SPI1_CIPHER) || (spi[1] & SCP80_SPI2_POR_CIPHER);
	uint8_t sig1 = spi[0] & 3, sig2 = (spi[1] >> 2) & 3;
	if (cipher) {
		uint8_t alg = kic & 0x0f;
		size_t need = alg == 0x5 ? 16 : alg == 0x9 ? 24 : 0;
		if (alg != 0x2 && alg != 0x5 && alg != 0x9) {
			rc = tool_fail(
				CLI_USAGE,
				"--kic: algorithm nibble %x (%s) is not supported (2 AES, 5 3DES 2-key, 9 3DES 3-key)",
				alg, alg_name(alg));
			goto out;
		}
		if (!a->kic_key) {
			rc = tool_fail(CLI_USAGE, "--kic-key is required: the SPI asks for ciphering");
			goto out;
		}
		if ((need && ks->kic_key_len != need) ||
		    (!need && ks->kic_key_len != 16 && ks->kic_key_len != 24 && ks->kic_key_len != 32)) {
			rc = tool_fail(CLI_USAGE, "--kic-key: %s needs %s bytes, got %zu", alg_name(alg),
				       need == 16	    ? "16"
					       : need == 24 ? "24"
							    : "16, 24 or 32",
				       ks->kic_key_len);
			goto out;
		}
	}
	if (sig1 == SCP80_SIG_CC || sig2 == SCP80_SIG_CC) {
		uint8_t alg = kid & 0x0f;
		size_t need = alg == 0x5 ? 16 : alg == 0x9 ? 24 : 0;
		if (alg != 0x2 && alg != 0x5 && alg != 0x9) {
			rc = tool_fail(CLI_USAGE, "--kid: algorithm nibble %x (%s) is not supported for a CC", alg,
				       alg_name(alg));
			goto out;
		}
		if (!a->kid_key) {
			rc = tool_fail(CLI_USAGE, "--kid-key is required: the SPI asks for a cryptographic checksum");
			goto out;
		}
		if ((need && ks->kid_key_len != need) ||
		    (!need && ks->kid_key_len != 16 && ks->kid_key_len != 24 && ks->kid_key_len != 32)) {
			rc = tool_fail(CLI_USAGE, "--kid-key: %s needs %s bytes, got %zu", alg_name(alg),
				       need == 16	    ? "16"
					       : need == 24 ? "24"
							    : "16, 24 or 32",
				       ks->kid_key_len);
			goto out;
		}
	}
	if ((sig1 == SCP80_SIG_RC || sig2 == SCP80_SIG_RC) && (kid & 0x0f) != 0x5) {
		rc = tool_fail(CLI_USAGE, "--kid: RC needs algorithm nibble 5 (CRC32)");
		goto out;
	}
	apdu_err e = scp80_keyset_check(ks, s);
	if (e) {
		rc = tool_fail(CLI_USAGE, "--spi/--kic/--kid: %s", apdu_strerror(e));
		goto out;
	}
	*spi_out = s;
out:
	abuf_free(&key);
	return rc;
}

static int parse_format(const char *f, scp80_format *out)
{
	if (!f || !strcmp(f, "compact"))
		*out = SCP80_FORMAT_COMPACT;
	else if (!strcmp(f, "expanded"))
		*out = SCP80_FORMAT_EXPANDED;
	else
		return tool_fail(CLI_USAGE, "--format: '%s' is neither 'compact' nor 'expanded'", f);
	return 0;
}

static const struct option ota_opts[] = {
	{ "spi", required_argument, NULL, OPT_SPI },
	{ "kic", required_argument, NULL, OPT_KIC },
	{ "kic-key", required_argument, NULL, OPT_KIC_KEY },
	{ "kid", required_argument, NULL, OPT_KID },
	{ "kid-key", required_argument, NULL, OPT_KID_KEY },
	{ "tar", required_argument, NULL, OPT_TAR },
	{ "cntr", required_argument, NULL, OPT_CNTR },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

static const char ota_encode_help[] =
	"usage: apdu ota encode --spi HEX4 --kic HEX2 --kic-key HEX --kid HEX2 --kid-key HEX\n"
	"                       --tar HEX6 --cntr HEX10 [--format compact|expanded] [--json] APDU_HEX...\n"
	"\n"
	"Wraps one or more C-APDUs into an SCP80 secured command packet (ETSI TS 102 225, 3GPP TS 31.115)\n"
	"and prints it, CPL first. The compact format (default) concatenates the APDUs; the expanded format\n"
	"wraps them as AA { 22 <APDU> ... }.\n"
	"\n"
	"  --spi HEX4      security parameter indicator, e.g. 1639 (CC, ciphered, counter higher; PoR CC ciphered)\n"
	"  --kic HEX2      KIc byte: key version << 4 | algorithm (2 AES, 5 3DES 2-key, 9 3DES 3-key)\n"
	"  --kic-key HEX   ciphering key (16/24/32 bytes AES, 16 or 24 bytes 3DES)\n"
	"  --kid HEX2      KID byte, same coding (5 = CRC32 when the SPI asks for an RC)\n"
	"  --kid-key HEX   checksum key\n"
	"  --tar HEX6      toolkit application reference, e.g. 000001 for the ISD-R\n"
	"  --cntr HEX10    counter (5 bytes)\n"
	"  --json          print {\"packet\", \"cpl\", \"spi\", ...} as JSON\n";

static const char ota_decode_help[] =
	"usage: apdu ota decode --spi HEX4 --kic HEX2 --kic-key HEX --kid HEX2 --kid-key HEX\n"
	"                       [--format compact|expanded] [--json] PACKET_HEX\n"
	"\n"
	"Verifies the checksum of an SCP80 command packet (CPL first), deciphers it and prints the TAR, the\n"
	"counter and the C-APDUs of its script. --spi must match the packet's SPI.\n"
	"JSON keys: tar, cntr, apdus (array), spi, kic, kid, script.\n";

static const char ota_por_help[] =
	"usage: apdu ota por --spi HEX4 --kic HEX2 --kic-key HEX --kid HEX2 --kid-key HEX\n"
	"                    [--format compact|expanded] [--json] RESPONSE_HEX\n"
	"\n"
	"Verifies and deciphers a PoR (response packet), with or without its '02 71 00' UDH, using the SPI\n"
	"and keys of the command it answers, and prints the PoR status, the number of executed commands,\n"
	"the last status word and the last response data. JSON keys: status, count, last_sw, data.\n";

/* apdu ota encode: APDUs into a command packet */
static int ota_encode(const ota_args *a, const scp80_keyset *ks, uint16_t spi, scp80_format fmt, const char *spi_text,
		      int argc, char **argv)
{
	abuf out = ABUF_INIT, tmp = ABUF_INIT, script = ABUF_INIT;
	json_t *o = NULL;
	int rc = 0;
	uint8_t tar[3], cntr[5];
	if ((rc = arg_hex_fixed("--tar", a->tar, tar, 3)) || (rc = arg_hex_fixed("--cntr", a->cntr, cntr, 5)))
		goto done;
	if (optind >= argc) {
		rc = tool_fail(CLI_USAGE, "no APDU given (APDU_HEX...)");
		goto done;
	}
	size_t n = (size_t)(argc - optind);
	abuf *apdus = calloc(n, sizeof(abuf));
	const uint8_t **ptrs = calloc(n, sizeof(*ptrs));
	size_t *lens = calloc(n, sizeof(*lens));
	if (!apdus || !ptrs || !lens) {
		free(apdus);
		free(ptrs);
		free(lens);
		rc = tool_fail(CLI_FAIL, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		char name[32];
		capdu ca;
		snprintf(name, sizeof(name), "APDU #%zu", i + 1);
		rc = arg_hex(name, argv[optind + (int)i], &apdus[i], 0);
		if (!rc) {
			apdu_err e = capdu_parse(apdus[i].p, apdus[i].len, &ca);
			if (e)
				rc = tool_fail(CLI_USAGE, "%s: not a valid C-APDU: %s", name, apdu_strerror(e));
		}
		ptrs[i] = apdus[i].p;
		lens[i] = apdus[i].len;
	}
	if (!rc) {
		apdu_err e;
		if (fmt == SCP80_FORMAT_EXPANDED)
			e = scp80_expanded_script_build(&script, ptrs, lens, n);
		else {
			for (size_t i = 0; i < n; i++)
				abuf_put(&script, ptrs[i], lens[i]);
			e = script.err;
		}
		if (!e)
			e = scp80_wrap_command(ks, spi, tar, cntr, script.p, script.len, &out);
		if (e)
			rc = tool_fail(CLI_FAIL, "cannot wrap: %s", apdu_strerror(e));
	}
	for (size_t i = 0; i < n; i++)
		abuf_free(&apdus[i]);
	free(apdus);
	free(ptrs);
	free(lens);
	if (rc)
		goto done;
	if (g_json) {
		o = json_object();
		json_object_set_new(o, "packet", json_hex(out.p, out.len));
		json_object_set_new(o, "cpl", json_integer((json_int_t)(out.len - 2)));
		json_object_set_new(o, "spi", json_hex(out.p + 3, 2));
		json_object_set_new(o, "tar", json_hex(tar, 3));
		json_object_set_new(o, "cntr", json_hex(cntr, 5));
		json_object_set_new(o, "script", json_hex(script.p, script.len));
		rc = emit_json(o);
	} else {
		print_hex(NULL, out.p, out.len);
	}
done:
	abuf_free(&out);
	abuf_free(&tmp);
	abuf_free(&script);
	return rc;
}

/* apdu ota decode: a command packet verified, deciphered, its script listed */
static int ota_decode(const ota_args *a, const scp80_keyset *ks, uint16_t spi, scp80_format fmt, const char *spi_text,
		      int argc, char **argv)
{
	abuf out = ABUF_INIT, tmp = ABUF_INIT, script = ABUF_INIT;
	json_t *o = NULL;
	int rc = 0;
	scp80_cmd_hdr h;
	if (optind != argc - 1) {
		rc = tool_fail(CLI_USAGE, "expected exactly one PACKET_HEX, got %d arguments", argc - optind);
		goto done;
	}
	if ((rc = arg_hex("PACKET_HEX", argv[optind], &tmp, 0)))
		goto done;
	apdu_err e = scp80_parse_command_header(tmp.p, tmp.len, &h);
	if (e) {
		rc = tool_fail(CLI_FAIL, "PACKET_HEX: malformed packet header: %s", apdu_strerror(e));
		goto done;
	}
	if (h.spi != spi) {
		rc = tool_fail(CLI_FAIL, "PACKET_HEX: packet SPI %04x differs from --spi %04x", h.spi, spi);
		goto done;
	}
	if (h.kic != ks->kic || h.kid != ks->kid) {
		rc = tool_fail(CLI_FAIL, "PACKET_HEX: packet KIc/KID %02x/%02x differ from --kic/--kid %02x/%02x",
			       h.kic, h.kid, ks->kic, ks->kid);
		goto done;
	}
	e = scp80_unwrap_command(ks, tmp.p, tmp.len, &h, &script);
	if (e) {
		rc = tool_fail(CLI_FAIL, "PACKET_HEX: %s (PoR status %02x: %s)", apdu_strerror(e),
			       scp80_por_status_for(e), scp80_por_status_name(scp80_por_status_for(e)));
		goto done;
	}
	scp80_script_iter it;
	json_t *arr = json_array();
	e = scp80_script_begin(&it, fmt, script.p, script.len);
	bool done_flag = false;
	while (!e) {
		scp80_script_item item;
		e = scp80_script_next(&it, &item, &done_flag);
		if (e || done_flag)
			break;
		json_array_append_new(arr, json_hex(item.value, item.len));
	}
	if (e) {
		json_decref(arr);
		rc = tool_fail(CLI_FAIL, "script (%s format): %s", fmt == SCP80_FORMAT_COMPACT ? "compact" : "expanded",
			       apdu_strerror(e));
		goto done;
	}
	if (g_json) {
		o = json_object();
		json_object_set_new(o, "tar", json_hex(h.tar, 3));
		json_object_set_new(o, "cntr", json_hex(h.cntr, 5));
		json_object_set_new(o, "apdus", arr);
		json_object_set_new(o, "spi", json_hex(tmp.p + 3, 2));
		json_object_set_new(o, "kic", json_hex(&h.kic, 1));
		json_object_set_new(o, "kid", json_hex(&h.kid, 1));
		json_object_set_new(o, "script", json_hex(script.p, script.len));
		rc = emit_json(o);
	} else {
		printf("%-22s %04x (%s)\n", "SPI", h.spi, spi_text);
		printf("%-22s %02x (%s, key version %u)\n", "KIc", h.kic, alg_name(h.kic & 0x0f), h.kic >> 4);
		printf("%-22s %02x (%s, key version %u)\n", "KID", h.kid, alg_name(h.kid & 0x0f), h.kid >> 4);
		print_hex("TAR", h.tar, 3);
		print_hex("CNTR", h.cntr, 5);
		for (size_t i = 0; i < json_array_size(arr); i++) {
			char label[32];
			snprintf(label, sizeof(label), "APDU %zu", i + 1);
			printf("%-22s %s\n", label, json_string_value(json_array_get(arr, i)));
		}
		json_decref(arr);
	}
done:
	abuf_free(&out);
	abuf_free(&tmp);
	abuf_free(&script);
	return rc;
}

/* apdu ota por: a response packet verified and deciphered */
static int ota_por(const ota_args *a, const scp80_keyset *ks, uint16_t spi, scp80_format fmt, const char *spi_text,
		   int argc, char **argv)
{
	abuf out = ABUF_INIT, tmp = ABUF_INIT, script = ABUF_INIT;
	json_t *o = NULL;
	int rc = 0;
	scp80_por_hdr h;
	if (optind != argc - 1) {
		rc = tool_fail(CLI_USAGE, "expected exactly one RESPONSE_HEX, got %d arguments", argc - optind);
		goto done;
	}
	if ((rc = arg_hex("RESPONSE_HEX", argv[optind], &tmp, 0)))
		goto done;
	apdu_err e = scp80_unwrap_por(ks, spi, tmp.p, tmp.len, &h, &out);
	if (e) {
		rc = tool_fail(CLI_FAIL, "RESPONSE_HEX: %s",
			       e == APDU_E_MAC ? "CC of the PoR does not verify" : apdu_strerror(e));
		goto done;
	}
	scp80_response r;
	memset(&r, 0, sizeof(r));
	if (out.len) {
		e = scp80_response_parse(fmt, out.p, out.len, &r);
		if (e) {
			rc = tool_fail(CLI_FAIL, "RESPONSE_HEX: response data (%s format): %s",
				       fmt == SCP80_FORMAT_COMPACT ? "compact" : "expanded", apdu_strerror(e));
			goto done;
		}
	}
	uint8_t sw[2] = { (uint8_t)(r.last_sw >> 8), (uint8_t)r.last_sw };
	if (g_json) {
		o = json_object();
		json_object_set_new(o, "status", json_integer(h.status));
		json_object_set_new(o, "count", json_integer(r.count));
		json_object_set_new(o, "last_sw", out.len ? json_hex(sw, 2) : json_string(""));
		json_object_set_new(o, "data", json_hex(r.data, r.len));
		rc = emit_json(o);
	} else {
		printf("%-22s %02x (%s)\n", "status", h.status, scp80_por_status_name(h.status));
		print_hex("TAR", h.tar, 3);
		print_hex("CNTR", h.cntr, 5);
		if (out.len) {
			printf("%-22s %u\n", "count", r.count);
			print_hex("last_sw", sw, 2);
			print_hex("data", r.data, r.len);
		} else {
			printf("%-22s (no response data)\n", "count");
		}
	}
done:
	abuf_free(&out);
	abuf_free(&tmp);
	abuf_free(&script);
	return rc;
}

int cmd_ota(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: apdu ota encode|decode|por [OPTIONS] ...\n\n%s\n%s\n%s", ota_encode_help,
		       ota_decode_help, ota_por_help);
		return argc < 2 ? CLI_USAGE : 0;
	}
	const char *sub = argv[1];
	const char *help;
	if (!strcmp(sub, "encode"))
		help = ota_encode_help;
	else if (!strcmp(sub, "decode"))
		help = ota_decode_help;
	else if (!strcmp(sub, "por"))
		help = ota_por_help;
	else
		return tool_fail(CLI_USAGE, "ota: unknown subcommand '%s' (encode, decode, por)", sub);
	g_cmd = !strcmp(sub, "encode")	 ? "apdu ota encode"
		: !strcmp(sub, "decode") ? "apdu ota decode"
					 : "apdu ota por";

	ota_args a;
	memset(&a, 0, sizeof(a));
	int c;
	argc--;
	argv++;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", ota_opts, NULL)) != -1) {
		switch (c) {
		case OPT_SPI: a.spi = optarg; break;
		case OPT_KIC: a.kic = optarg; break;
		case OPT_KIC_KEY: a.kic_key = optarg; break;
		case OPT_KID: a.kid = optarg; break;
		case OPT_KID_KEY: a.kid_key = optarg; break;
		case OPT_TAR: a.tar = optarg; break;
		case OPT_CNTR: a.cntr = optarg; break;
		case OPT_FORMAT: a.format = optarg; break;
		case 'h':
		case OPT_HELP: fputs(help, stdout); return 0;
		default:
			return tool_fail(CLI_USAGE, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
	}
	scp80_keyset ks;
	uint16_t spi = 0;
	scp80_format fmt = SCP80_FORMAT_COMPACT;
	int rc;
	memset(&ks, 0, sizeof(ks));
	if ((rc = parse_format(a.format, &fmt)) || (rc = ota_keyset(&a, &ks, &spi)))
		return rc;
	char spi_text[200];
	describe_spi(spi, spi_text, sizeof(spi_text));

	if (!strcmp(sub, "encode"))
		rc = ota_encode(&a, &ks, spi, fmt, spi_text, argc, argv);
	else if (!strcmp(sub, "decode"))
		rc = ota_decode(&a, &ks, spi, fmt, spi_text, argc, argv);
	else
		rc = ota_por(&a, &ks, spi, fmt, spi_text, argc, argv);
	scp80_keyset_clear(&ks);
	return rc;
}
