/* apdu: an offline calculator for the wire layer (OTA packets, PoRs, SCP03 sessions, MILENAGE, TLV
 * trees, EID/ICCID check digits). Human-readable output by default, one JSON object with --json. */
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apdu/apdu.h"
#include "host/cli.h"
#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/milenage.h"
#include "apdu/scp03.h"
#include "apdu/scp80.h"
#include "apdu/tlv.h"
#include "host/link.h"
#include "replay.h"

#define EXIT_USAGE 2   /* bad arguments */
#define EXIT_FAIL 1    /* the input does not verify (CC, MAC, check digits) */

static bool g_json;
static const char *g_cmd = "apdu";

/* Reports an error naming what failed; with --json also as {"error": ...} on stdout. */
static int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", g_cmd, msg);
	if (g_json) {
		json_t *o = json_pack("{s:s}", "error", msg);
		json_dumpf(o, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(o);
	}
	return code;
}

static int emit_json(json_t *o)
{
	if (!o)
		return fail(EXIT_FAIL, "out of memory building JSON");
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(o);
	return 0;
}

static json_t *json_hex(const uint8_t *p, size_t len)
{
	char *s = hex_encode_alloc(p, len);
	json_t *j = s ? json_string(s) : NULL;
	free(s);
	return j;
}

static void print_hex(const char *label, const uint8_t *p, size_t len)
{
	char *s = hex_encode_alloc(p, len);
	if (label)
		printf("%-22s %s\n", label, s ? s : "?");
	else
		printf("%s\n", s ? s : "?");
	free(s);
}

/* Parses hex for option `name`; exact length when want > 0. Returns 0 or an exit code (error printed). */
static int arg_hex(const char *name, const char *val, abuf *out, size_t want)
{
	size_t pos = 0;
	abuf_reset(out);
	apdu_err e = hex_decode(val, out, &pos);
	if (e == APDU_E_HEX_DIGIT)
		return fail(EXIT_USAGE, "%s: '%c' at position %zu is not a hex digit", name, val[pos], pos + 1);
	if (e == APDU_E_HEX_ODD)
		return fail(EXIT_USAGE, "%s: odd number of hex digits", name);
	if (e)
		return fail(EXIT_USAGE, "%s: %s", name, apdu_strerror(e));
	if (want && out->len != want)
		return fail(EXIT_USAGE, "%s: expected %zu bytes (%zu hex digits), got %zu bytes", name, want,
			    2 * want, out->len);
	return 0;
}

static int arg_hex_fixed(const char *name, const char *val, uint8_t *out, size_t want)
{
	abuf b = ABUF_INIT;
	int rc = val ? arg_hex(name, val, &b, want) : fail(EXIT_USAGE, "%s is required", name);
	if (!rc)
		memcpy(out, b.p, want);
	abuf_free(&b);
	return rc;
}

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
		return fail(EXIT_USAGE, "--spi: reserved bits set in the first byte (%02x; b8..b6 must be 0)", spi[0]);
	if (spi[1] & SCP80_SPI2_RESERVED)
		return fail(EXIT_USAGE, "--spi: reserved bits set in the second byte (%02x; b8..b7 must be 0)", spi[1]);
	if ((spi[1] & 3) == 3)
		return fail(EXIT_USAGE, "--spi: PoR field '11' in the second byte is reserved");
	if ((spi[0] & 3) == 3 || ((spi[1] >> 2) & 3) == 3)
		return fail(EXIT_USAGE, "--spi: digital signatures (DS) are not supported");
	ks->kic = kic;
	ks->kid = kid;
	if (a->kic_key) {
		if ((rc = arg_hex("--kic-key", a->kic_key, &key, 0)))
			goto out;
		if (key.len > sizeof(ks->kic_key)) {
			rc = fail(EXIT_USAGE, "--kic-key: %zu bytes is longer than any key", key.len);
			goto out;
		}
		memcpy(ks->kic_key, key.p, key.len);
		ks->kic_key_len = key.len;
	}
	if (a->kid_key) {
		if ((rc = arg_hex("--kid-key", a->kid_key, &key, 0)))
			goto out;
		if (key.len > sizeof(ks->kid_key)) {
			rc = fail(EXIT_USAGE, "--kid-key: %zu bytes is longer than any key", key.len);
			goto out;
		}
		memcpy(ks->kid_key, key.p, key.len);
		ks->kid_key_len = key.len;
	}
	bool cipher = (spi[0] & SCP80_SPI1_CIPHER) || (spi[1] & SCP80_SPI2_POR_CIPHER);
	uint8_t sig1 = spi[0] & 3, sig2 = (spi[1] >> 2) & 3;
	if (cipher) {
		uint8_t alg = kic & 0x0f;
		size_t need = alg == 0x5 ? 16 : alg == 0x9 ? 24 : 0;
		if (alg != 0x2 && alg != 0x5 && alg != 0x9) {
			rc = fail(EXIT_USAGE, "--kic: algorithm nibble %x (%s) is not supported (2 AES, 5 3DES 2-key, 9 3DES 3-key)",
				  alg, alg_name(alg));
			goto out;
		}
		if (!a->kic_key) {
			rc = fail(EXIT_USAGE, "--kic-key is required: the SPI asks for ciphering");
			goto out;
		}
		if ((need && ks->kic_key_len != need) ||
		    (!need && ks->kic_key_len != 16 && ks->kic_key_len != 24 && ks->kic_key_len != 32)) {
			rc = fail(EXIT_USAGE, "--kic-key: %s needs %s bytes, got %zu", alg_name(alg),
				  need == 16 ? "16" : need == 24 ? "24" : "16, 24 or 32", ks->kic_key_len);
			goto out;
		}
	}
	if (sig1 == SCP80_SIG_CC || sig2 == SCP80_SIG_CC) {
		uint8_t alg = kid & 0x0f;
		size_t need = alg == 0x5 ? 16 : alg == 0x9 ? 24 : 0;
		if (alg != 0x2 && alg != 0x5 && alg != 0x9) {
			rc = fail(EXIT_USAGE, "--kid: algorithm nibble %x (%s) is not supported for a CC", alg, alg_name(alg));
			goto out;
		}
		if (!a->kid_key) {
			rc = fail(EXIT_USAGE, "--kid-key is required: the SPI asks for a cryptographic checksum");
			goto out;
		}
		if ((need && ks->kid_key_len != need) ||
		    (!need && ks->kid_key_len != 16 && ks->kid_key_len != 24 && ks->kid_key_len != 32)) {
			rc = fail(EXIT_USAGE, "--kid-key: %s needs %s bytes, got %zu", alg_name(alg),
				  need == 16 ? "16" : need == 24 ? "24" : "16, 24 or 32", ks->kid_key_len);
			goto out;
		}
	}
	if ((sig1 == SCP80_SIG_RC || sig2 == SCP80_SIG_RC) && (kid & 0x0f) != 0x5) {
		rc = fail(EXIT_USAGE, "--kid: RC needs algorithm nibble 5 (CRC32)");
		goto out;
	}
	apdu_err e = scp80_keyset_check(ks, s);
	if (e) {
		rc = fail(EXIT_USAGE, "--spi/--kic/--kid: %s", apdu_strerror(e));
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
		return fail(EXIT_USAGE, "--format: '%s' is neither 'compact' nor 'expanded'", f);
	return 0;
}

enum { OPT_SPI = 256, OPT_KIC, OPT_KIC_KEY, OPT_KID, OPT_KID_KEY, OPT_TAR, OPT_CNTR, OPT_FORMAT, OPT_HELP,
       OPT_ENC, OPT_MAC, OPT_DEK, OPT_LEVEL, OPT_HOST_CHAL, OPT_CARD_RESP, OPT_CMD, OPT_RSP, OPT_KVN,
       OPT_K, OPT_OP, OPT_OPC, OPT_RAND, OPT_SQN, OPT_AMF };

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

static int cmd_ota(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		printf("usage: apdu ota encode|decode|por [OPTIONS] ...\n\n%s\n%s\n%s", ota_encode_help,
		       ota_decode_help, ota_por_help);
		return argc < 2 ? EXIT_USAGE : 0;
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
		return fail(EXIT_USAGE, "ota: unknown subcommand '%s' (encode, decode, por)", sub);
	g_cmd = !strcmp(sub, "encode") ? "apdu ota encode" : !strcmp(sub, "decode") ? "apdu ota decode" : "apdu ota por";

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
			return fail(EXIT_USAGE, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
	}
	scp80_keyset ks;
	uint16_t spi = 0;
	scp80_format fmt = SCP80_FORMAT_COMPACT;
	int rc;
	memset(&ks, 0, sizeof(ks));
	if ((rc = parse_format(a.format, &fmt)) || (rc = ota_keyset(&a, &ks, &spi)))
		return rc;
	abuf out = ABUF_INIT, tmp = ABUF_INIT, script = ABUF_INIT;
	json_t *o = NULL;
	char spi_text[200];
	describe_spi(spi, spi_text, sizeof(spi_text));

	if (!strcmp(sub, "encode")) {
		uint8_t tar[3], cntr[5];
		if ((rc = arg_hex_fixed("--tar", a.tar, tar, 3)) || (rc = arg_hex_fixed("--cntr", a.cntr, cntr, 5)))
			goto done;
		if (optind >= argc) {
			rc = fail(EXIT_USAGE, "no APDU given (APDU_HEX...)");
			goto done;
		}
		size_t n = (size_t)(argc - optind);
		abuf *apdus = calloc(n, sizeof(abuf));
		const uint8_t **ptrs = calloc(n, sizeof(*ptrs));
		size_t *lens = calloc(n, sizeof(*lens));
		if (!apdus || !ptrs || !lens) {
			free(apdus); free(ptrs); free(lens);
			rc = fail(EXIT_FAIL, "out of memory");
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
					rc = fail(EXIT_USAGE, "%s: not a valid C-APDU: %s", name, apdu_strerror(e));
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
				e = scp80_wrap_command(&ks, spi, tar, cntr, script.p, script.len, &out);
			if (e)
				rc = fail(EXIT_FAIL, "cannot wrap: %s", apdu_strerror(e));
		}
		for (size_t i = 0; i < n; i++)
			abuf_free(&apdus[i]);
		free(apdus); free(ptrs); free(lens);
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
	} else if (!strcmp(sub, "decode")) {
		scp80_cmd_hdr h;
		if (optind != argc - 1) {
			rc = fail(EXIT_USAGE, "expected exactly one PACKET_HEX, got %d arguments", argc - optind);
			goto done;
		}
		if ((rc = arg_hex("PACKET_HEX", argv[optind], &tmp, 0)))
			goto done;
		apdu_err e = scp80_parse_command_header(tmp.p, tmp.len, &h);
		if (e) {
			rc = fail(EXIT_FAIL, "PACKET_HEX: malformed packet header: %s", apdu_strerror(e));
			goto done;
		}
		if (h.spi != spi) {
			rc = fail(EXIT_FAIL, "PACKET_HEX: packet SPI %04x differs from --spi %04x", h.spi, spi);
			goto done;
		}
		if (h.kic != ks.kic || h.kid != ks.kid) {
			rc = fail(EXIT_FAIL, "PACKET_HEX: packet KIc/KID %02x/%02x differ from --kic/--kid %02x/%02x", h.kic,
				  h.kid, ks.kic, ks.kid);
			goto done;
		}
		e = scp80_unwrap_command(&ks, tmp.p, tmp.len, &h, &script);
		if (e) {
			rc = fail(EXIT_FAIL, "PACKET_HEX: %s (PoR status %02x: %s)", apdu_strerror(e), scp80_por_status_for(e),
				  scp80_por_status_name(scp80_por_status_for(e)));
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
			rc = fail(EXIT_FAIL, "script (%s format): %s", fmt == SCP80_FORMAT_COMPACT ? "compact" : "expanded",
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
	} else {
		scp80_por_hdr h;
		if (optind != argc - 1) {
			rc = fail(EXIT_USAGE, "expected exactly one RESPONSE_HEX, got %d arguments", argc - optind);
			goto done;
		}
		if ((rc = arg_hex("RESPONSE_HEX", argv[optind], &tmp, 0)))
			goto done;
		apdu_err e = scp80_unwrap_por(&ks, spi, tmp.p, tmp.len, &h, &out);
		if (e) {
			rc = fail(EXIT_FAIL, "RESPONSE_HEX: %s", e == APDU_E_MAC ? "CC of the PoR does not verify" : apdu_strerror(e));
			goto done;
		}
		scp80_response r;
		memset(&r, 0, sizeof(r));
		if (out.len) {
			e = scp80_response_parse(fmt, out.p, out.len, &r);
			if (e) {
				rc = fail(EXIT_FAIL, "RESPONSE_HEX: response data (%s format): %s",
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
	}
done:
	scp80_keyset_clear(&ks);
	abuf_free(&out);
	abuf_free(&tmp);
	abuf_free(&script);
	return rc;
}

/* ---------------- scp03 ---------------- */

static const char scp03_help[] =
	"usage: apdu scp03 --enc HEX --mac HEX --dek HEX --level HEX2 --host-challenge HEX16\n"
	"                  --card-response INIT_UPDATE_RESPONSE_HEX [--kvn HEX2]\n"
	"                  [--cmd C_APDU_HEX]... [--rsp R_APDU_HEX]... [--json]\n"
	"\n"
	"Plays the host side of an SCP03 session (GlobalPlatform Amendment D): checks the card cryptogram\n"
	"in the INITIALIZE UPDATE response (data only, without SW, or with a trailing 9000), computes the\n"
	"EXTERNAL AUTHENTICATE for the security level (01, 03, 11, 13, 33), wraps each --cmd in order and\n"
	"unwraps each --rsp (the i-th response belongs to the i-th command; data, R-MAC and the SW last).\n"
	"Keys: 16, 24 or 32 bytes each, all the same length. --kvn defaults to the one in the response.\n"
	"JSON keys: external_authenticate, commands (array), responses (array).\n";

static int cmd_scp03(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "enc", required_argument, NULL, OPT_ENC },
		{ "mac", required_argument, NULL, OPT_MAC },
		{ "dek", required_argument, NULL, OPT_DEK },
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "host-challenge", required_argument, NULL, OPT_HOST_CHAL },
		{ "card-response", required_argument, NULL, OPT_CARD_RESP },
		{ "kvn", required_argument, NULL, OPT_KVN },
		{ "cmd", required_argument, NULL, OPT_CMD },
		{ "rsp", required_argument, NULL, OPT_RSP },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *enc = NULL, *mac = NULL, *dek = NULL, *level = NULL, *hc = NULL, *cr = NULL, *kvn_s = NULL;
	const char **cmds = calloc((size_t)argc, sizeof(char *)), **rsps = calloc((size_t)argc, sizeof(char *));
	size_t ncmd = 0, nrsp = 0;
	int c, rc = 0;
	g_cmd = "apdu scp03";
	if (!cmds || !rsps) {
		free(cmds); free(rsps);
		return fail(EXIT_FAIL, "out of memory");
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ENC: enc = optarg; break;
		case OPT_MAC: mac = optarg; break;
		case OPT_DEK: dek = optarg; break;
		case OPT_LEVEL: level = optarg; break;
		case OPT_HOST_CHAL: hc = optarg; break;
		case OPT_CARD_RESP: cr = optarg; break;
		case OPT_KVN: kvn_s = optarg; break;
		case OPT_CMD: cmds[ncmd++] = optarg; break;
		case OPT_RSP: rsps[nrsp++] = optarg; break;
		case 'h':
		case OPT_HELP: fputs(scp03_help, stdout); free(cmds); free(rsps); return 0;
		default:
			free(cmds); free(rsps);
			return fail(EXIT_USAGE, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
	}
	scp03_keys k;
	scp03_session s;
	memset(&k, 0, sizeof(k));
	memset(&s, 0, sizeof(s));
	abuf b = ABUF_INIT, resp = ABUF_INIT, out = ABUF_INIT;
	uint8_t host_chal[8], lvl;
	json_t *jcmds = json_array(), *jrsps = json_array();
	if (optind < argc) {
		rc = fail(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	const char *names[3] = { "--enc", "--mac", "--dek" };
	const char *vals[3] = { enc, mac, dek };
	uint8_t *dst[3] = { k.enc, k.mac, k.dek };
	for (int i = 0; i < 3; i++) {
		if (!vals[i]) {
			rc = fail(EXIT_USAGE, "%s is required", names[i]);
			goto done;
		}
		if ((rc = arg_hex(names[i], vals[i], &b, 0)))
			goto done;
		if (b.len != 16 && b.len != 24 && b.len != 32) {
			rc = fail(EXIT_USAGE, "%s: an AES key has 16, 24 or 32 bytes, got %zu", names[i], b.len);
			goto done;
		}
		if (i > 0 && b.len != k.key_len) {
			rc = fail(EXIT_USAGE, "%s: %zu bytes, but --enc has %zu (all three keys have one length)", names[i],
				  b.len, k.key_len);
			goto done;
		}
		memcpy(dst[i], b.p, b.len);
		k.key_len = b.len;
	}
	if ((rc = arg_hex_fixed("--level", level, &lvl, 1)) || (rc = arg_hex_fixed("--host-challenge", hc, host_chal, 8)))
		goto done;
	if (!scp03_level_valid(lvl)) {
		rc = fail(EXIT_USAGE, "--level: %02x is not a security level (01, 03, 11, 13, 31, 33)", lvl);
		goto done;
	}
	if (!cr) {
		rc = fail(EXIT_USAGE, "--card-response is required");
		goto done;
	}
	if ((rc = arg_hex("--card-response", cr, &resp, 0)))
		goto done;
	if (resp.len == 31 || resp.len == 34) {
		if (resp.p[resp.len - 2] != 0x90 || resp.p[resp.len - 1] != 0x00) {
			rc = fail(EXIT_FAIL, "--card-response: status word %02x%02x is not 9000", resp.p[resp.len - 2],
				  resp.p[resp.len - 1]);
			goto done;
		}
		resp.len -= 2;
	}
	if (resp.len != 29 && resp.len != 32) {
		rc = fail(EXIT_USAGE, "--card-response: expected 29 or 32 bytes (S8 mode), got %zu", resp.len);
		goto done;
	}
	k.kvn = resp.p[10];
	if (kvn_s) {
		if ((rc = arg_hex_fixed("--kvn", kvn_s, &k.kvn, 1)))
			goto done;
	}
	apdu_err e = scp03_host_init(&s, &k, host_chal, resp.p, resp.len);
	if (e == APDU_E_MAC) {
		rc = fail(EXIT_FAIL, "--card-response: card cryptogram does not verify (wrong keys or host challenge)");
		goto done;
	} else if (e) {
		rc = fail(EXIT_FAIL, "--card-response: %s", apdu_strerror(e));
		goto done;
	}
	abuf_reset(&out);
	if ((e = scp03_host_external_authenticate(&s, lvl, &out))) {
		rc = fail(EXIT_FAIL, "EXTERNAL AUTHENTICATE: %s", apdu_strerror(e));
		goto done;
	}
	json_t *ext = json_hex(out.p, out.len);
	size_t n = ncmd > nrsp ? ncmd : nrsp;
	for (size_t i = 0; i < n; i++) {
		char name[32];
		if (i < ncmd) {
			snprintf(name, sizeof(name), "--cmd #%zu", i + 1);
			if ((rc = arg_hex(name, cmds[i], &b, 0))) {
				json_decref(ext);
				goto done;
			}
			abuf_reset(&out);
			if ((e = scp03_wrap_command(&s, b.p, b.len, &out))) {
				json_decref(ext);
				rc = fail(EXIT_USAGE, "%s: cannot wrap: %s", name, apdu_strerror(e));
				goto done;
			}
			json_array_append_new(jcmds, json_hex(out.p, out.len));
		}
		if (i < nrsp) {
			snprintf(name, sizeof(name), "--rsp #%zu", i + 1);
			if ((rc = arg_hex(name, rsps[i], &b, 0))) {
				json_decref(ext);
				goto done;
			}
			if (b.len < 2) {
				json_decref(ext);
				rc = fail(EXIT_USAGE, "%s: an R-APDU has at least the 2-byte status word", name);
				goto done;
			}
			uint16_t sw = (uint16_t)((b.p[b.len - 2] << 8) | b.p[b.len - 1]);
			abuf_reset(&out);
			if ((e = scp03_unwrap_response(&s, b.p, b.len - 2, sw, &out))) {
				json_decref(ext);
				rc = fail(EXIT_FAIL, "%s: %s", name,
					  e == APDU_E_MAC ? "R-MAC does not verify" : apdu_strerror(e));
				goto done;
			}
			abuf_put_u16(&out, sw);
			json_array_append_new(jrsps, json_hex(out.p, out.len));
		}
	}
	if (g_json) {
		json_t *o = json_object();
		json_object_set_new(o, "external_authenticate", ext);
		json_object_set_new(o, "commands", jcmds);
		json_object_set_new(o, "responses", jrsps);
		jcmds = jrsps = NULL;
		rc = emit_json(o);
	} else {
		printf("%-22s %s\n", "EXTERNAL AUTHENTICATE", json_string_value(ext));
		for (size_t i = 0; i < json_array_size(jcmds); i++)
			printf("command %-14zu %s\n", i + 1, json_string_value(json_array_get(jcmds, i)));
		for (size_t i = 0; i < json_array_size(jrsps); i++)
			printf("response %-13zu %s\n", i + 1, json_string_value(json_array_get(jrsps, i)));
		json_decref(ext);
	}
done:
	json_decref(jcmds);
	json_decref(jrsps);
	scp03_keys_clear(&k);
	scp03_session_clear(&s);
	abuf_free(&b);
	abuf_free(&resp);
	abuf_free(&out);
	free(cmds);
	free(rsps);
	return rc;
}

/* ---------------- milenage ---------------- */

static const char milenage_help[] =
	"usage: apdu milenage --k HEX --op HEX|--opc HEX --rand HEX --sqn HEX --amf HEX [--json]\n"
	"\n"
	"Computes MILENAGE (3GPP TS 35.206) f1, f1*, f2, f3, f4, f5, f5* for K (16 bytes), OP or OPc\n"
	"(16 bytes), RAND (16), SQN (6) and AMF (2). Prints opc, mac_a, mac_s, res, ck, ik, ak, ak_star\n"
	"(the same names in JSON) and autn = SQN xor AK ‖ AMF ‖ MAC-A.\n";

static int cmd_milenage(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "k", required_argument, NULL, OPT_K },
		{ "op", required_argument, NULL, OPT_OP },
		{ "opc", required_argument, NULL, OPT_OPC },
		{ "rand", required_argument, NULL, OPT_RAND },
		{ "sqn", required_argument, NULL, OPT_SQN },
		{ "amf", required_argument, NULL, OPT_AMF },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *ks = NULL, *op = NULL, *opc_s = NULL, *rand_s = NULL, *sqn_s = NULL, *amf_s = NULL;
	int c, rc;
	g_cmd = "apdu milenage";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_K: ks = optarg; break;
		case OPT_OP: op = optarg; break;
		case OPT_OPC: opc_s = optarg; break;
		case OPT_RAND: rand_s = optarg; break;
		case OPT_SQN: sqn_s = optarg; break;
		case OPT_AMF: amf_s = optarg; break;
		case 'h':
		case OPT_HELP: fputs(milenage_help, stdout); return 0;
		default: return fail(EXIT_USAGE, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	if (op && opc_s)
		return fail(EXIT_USAGE, "--op and --opc: give one of them, not both");
	if (!op && !opc_s)
		return fail(EXIT_USAGE, "--op or --opc is required");
	uint8_t k[16], opc[16], rnd[16], sqn[6], amf[2];
	if ((rc = arg_hex_fixed("--k", ks, k, 16)) || (rc = arg_hex_fixed("--rand", rand_s, rnd, 16)) ||
	    (rc = arg_hex_fixed("--sqn", sqn_s, sqn, 6)) || (rc = arg_hex_fixed("--amf", amf_s, amf, 2)))
		goto out;
	if (op) {
		uint8_t opb[16];
		if ((rc = arg_hex_fixed("--op", op, opb, 16)))
			goto out;
		if (milenage_opc(k, opb, opc)) {
			rc = fail(EXIT_FAIL, "crypto failure computing OPc");
			goto out;
		}
	} else if ((rc = arg_hex_fixed("--opc", opc_s, opc, 16))) {
		goto out;
	}
	milenage_out m;
	if (milenage_all(k, opc, rnd, sqn, amf, &m)) {
		rc = fail(EXIT_FAIL, "crypto failure in MILENAGE");
		goto out;
	}
	uint8_t autn[16];
	for (int i = 0; i < 6; i++)
		autn[i] = sqn[i] ^ m.ak[i];
	memcpy(autn + 6, amf, 2);
	memcpy(autn + 8, m.mac_a, 8);
	struct { const char *name; const uint8_t *p; size_t len; } f[] = {
		{ "opc", opc, 16 }, { "mac_a", m.mac_a, 8 }, { "mac_s", m.mac_s, 8 }, { "res", m.res, 8 },
		{ "ck", m.ck, 16 }, { "ik", m.ik, 16 }, { "ak", m.ak, 6 }, { "ak_star", m.ak_star, 6 },
		{ "autn", autn, 16 },
	};
	if (g_json) {
		json_t *o = json_object();
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			json_object_set_new(o, f[i].name, json_hex(f[i].p, f[i].len));
		rc = emit_json(o);
	} else {
		for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
			print_hex(f[i].name, f[i].p, f[i].len);
		rc = 0;
	}
	crypto_wipe(&m, sizeof(m));
out:
	crypto_wipe(k, sizeof(k));
	crypto_wipe(opc, sizeof(opc));
	return rc;
}

/* ---------------- tlv ---------------- */

typedef struct {
	json_t *stack[TLV_MAX_DEPTH + 1];
} tlv_json_ctx;

static int tlv_print_visit(const tlv *t, int depth, void *ctx)
{
	(void)ctx;
	char tag[8];
	snprintf(tag, sizeof(tag), "%0*X", (int)(2 * t->tag_len), (unsigned)t->tag);
	if (t->constructed) {
		printf("%*s%s (%zu bytes)\n", 2 * depth, "", tag, t->len);
	} else {
		char *v = hex_encode_alloc(t->value, t->len);
		printf("%*s%s %zu: %s\n", 2 * depth, "", tag, t->len, v ? v : "?");
		free(v);
	}
	return 0;
}

static int tlv_json_visit(const tlv *t, int depth, void *ctx)
{
	tlv_json_ctx *c = ctx;
	char tag[8];
	snprintf(tag, sizeof(tag), "%0*x", (int)(2 * t->tag_len), (unsigned)t->tag);
	json_t *node = json_pack("{s:s,s:I}", "tag", tag, "len", (json_int_t)t->len);
	json_array_append_new(c->stack[depth], node);
	if (t->constructed) {
		json_t *children = json_array();
		json_object_set_new(node, "children", children);
		c->stack[depth + 1] = children;
	} else {
		json_object_set_new(node, "value", json_hex(t->value, t->len));
	}
	return 0;
}

static int cmd_tlv(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu tlv [--json] HEX\n"
		"\n"
		"Prints the BER-TLV tree of HEX, one item a line, indented by depth: constructed items with\n"
		"their length, primitive ones with their value. Tags up to 3 bytes, lengths up to 3 octets,\n"
		"nesting up to 16 levels. JSON: {\"tlv\": [{tag, len, value | children}...]}.\n";
	g_cmd = "apdu tlv";
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		fputs(help, stdout);
		return 0;
	}
	if (argc != 2)
		return fail(EXIT_USAGE, "expected exactly one HEX argument (see --help)");
	abuf b = ABUF_INIT;
	int rc = arg_hex("HEX", argv[1], &b, 0);
	if (rc)
		return rc;
	apdu_err e = tlv_walk(b.p, b.len, TLV_MAX_DEPTH, NULL, NULL);
	if (e) {
		/* find where it breaks, for the message */
		rc = fail(EXIT_FAIL, "HEX: not a well-formed BER-TLV sequence: %s", apdu_strerror(e));
	} else if (g_json) {
		tlv_json_ctx ctx;
		json_t *root = json_array();
		ctx.stack[0] = root;
		tlv_walk(b.p, b.len, TLV_MAX_DEPTH, tlv_json_visit, &ctx);
		rc = emit_json(json_pack("{s:o}", "tlv", root));
	} else {
		tlv_walk(b.p, b.len, TLV_MAX_DEPTH, tlv_print_visit, NULL);
	}
	abuf_free(&b);
	return rc;
}

/* ---------------- eid / iccid ---------------- */

/* `apdu eid --help` or `apdu eid check --help` */
static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc && i <= 2; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int cmd_eid(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu eid check [--json] EID\n"
		"\n"
		"Checks the two check digits of a 32-digit EID (ISO 7064 MOD 97-10: the number mod 97 is 1).\n"
		"Exit 0 when valid, 1 when the check digits are wrong (the right ones are printed).\n";
	g_cmd = "apdu eid check";
	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "check"))
		return fail(EXIT_USAGE, "usage: apdu eid check EID");
	const char *eid = argv[2];
	apdu_err e = eid_check(eid);
	if (e == APDU_E_BAD_LENGTH)
		return fail(EXIT_USAGE, "EID: expected 32 digits, got %zu characters", strlen(eid));
	if (e == APDU_E_HEX_DIGIT)
		return fail(EXIT_USAGE, "EID: only decimal digits are allowed");
	char right[EID_DIGITS + 1];
	eid_complete(eid, right);
	if (g_json) {
		emit_json(json_pack("{s:s,s:b,s:s}", "eid", eid, "valid", e == APDU_OK, "expected", right + 30));
	} else if (!e) {
		printf("EID %s: check digits valid\n", eid);
	} else {
		printf("EID %s: check digits wrong: expected %s (%s)\n", eid, right + 30, right);
	}
	return e ? EXIT_FAIL : 0;
}

static int cmd_iccid(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu iccid check [--json] ICCID\n"
		"\n"
		"Checks the Luhn check digit (the last digit) of a 19- or 20-digit ICCID.\n"
		"Exit 0 when valid, 1 when the check digit is wrong (the right one is printed).\n";
	g_cmd = "apdu iccid check";
	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "check"))
		return fail(EXIT_USAGE, "usage: apdu iccid check ICCID");
	const char *iccid = argv[2];
	apdu_err e = iccid_check(iccid);
	if (e == APDU_E_BAD_LENGTH)
		return fail(EXIT_USAGE, "ICCID: expected 19 or 20 digits, got %zu characters", strlen(iccid));
	if (e == APDU_E_HEX_DIGIT)
		return fail(EXIT_USAGE, "ICCID: only decimal digits are allowed");
	char body[21], digit;
	size_t n = strlen(iccid);
	memcpy(body, iccid, n - 1);
	body[n - 1] = '\0';
	luhn_digit(body, &digit);
	char d[2] = { digit, 0 };
	if (g_json)
		emit_json(json_pack("{s:s,s:b,s:s}", "iccid", iccid, "valid", e == APDU_OK, "expected", d));
	else if (!e)
		printf("ICCID %s: check digit valid\n", iccid);
	else
		printf("ICCID %s: check digit wrong: expected %c\n", iccid, digit);
	return e ? EXIT_FAIL : 0;
}

/* ---------------- send / read-ids (a card through PC/SC or in-process) ---------------- */

static int open_card(int *argc, char **argv, smsr_link **out)
{
	const char *reader = NULL, *inproc = NULL;
	int n = 0;
	for (int i = 0; i < *argc; i++) {
		if (i > 0 && (!strcmp(argv[i], "--reader") || !strcmp(argv[i], "--inproc")) && i + 1 < *argc) {
			if (argv[i][2] == 'r')
				reader = argv[++i];
			else
				inproc = argv[++i];
			continue;
		}
		argv[n++] = argv[i];
	}
	*argc = n;
	argv[n] = NULL;
	if (reader && inproc)
		return fail(EXIT_USAGE, "--reader and --inproc: give one of them");
	char why[1200];
	int rc = inproc ? link_open_inproc(inproc, out, why, sizeof(why))
			: link_open_pcsc(reader ? reader : "0", out, why, sizeof(why));
	if (rc)
		return fail(EXIT_FAIL, "%s", why);
	return 0;
}

/* one exchange with GET RESPONSE (61xx) and a corrected Le (6Cxx) */
static uint16_t exchange(dev_transport *t, const uint8_t *a, size_t len, abuf *data)
{
	static uint8_t r[65538 + 16];
	uint8_t again[300];
	size_t n = t->transmit(t->ctx, a, len, r, sizeof(r));
	if (n < 2)
		return 0;
	uint16_t sw = (uint16_t)((r[n - 2] << 8) | r[n - 1]);
	if ((sw >> 8) == 0x6C && len >= 5 && len <= sizeof(again)) {
		memcpy(again, a, len);
		again[len - 1] = (uint8_t)sw;
		n = t->transmit(t->ctx, again, len, r, sizeof(r));
		if (n < 2)
			return 0;
		sw = (uint16_t)((r[n - 2] << 8) | r[n - 1]);
	}
	abuf_put(data, r, n - 2);
	while ((sw >> 8) == 0x61) {
		uint8_t gr[5] = { (uint8_t)(a[0] & 0x03), 0xC0, 0x00, 0x00, (uint8_t)sw };
		n = t->transmit(t->ctx, gr, 5, r, sizeof(r));
		if (n < 2)
			return 0;
		sw = (uint16_t)((r[n - 2] << 8) | r[n - 1]);
		abuf_put(data, r, n - 2);
	}
	return sw;
}

static int cmd_send(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu send [--reader NAME|N | --inproc STATE_FILE] [--json] APDU_HEX...\n"
		"\n"
		"Sends each C-APDU to a card — a PC/SC reader (default reader 0) or an in-process software card — and\n"
		"prints the response data and status word. 61xx is followed by GET RESPONSE, 6Cxx resent with Le.\n";
	g_cmd = "apdu send";
	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		fputs(help, stdout);
		return 0;
	}
	smsr_link *l = NULL;
	int rc = open_card(&argc, argv, &l);
	if (rc)
		return rc;
	if (argc < 2) {
		link_close(l);
		return fail(EXIT_USAGE, "no APDU given (see --help)");
	}
	dev_transport t = link_transport(l);
	json_t *arr = json_array();
	abuf a = ABUF_INIT, d = ABUF_INIT;
	for (int i = 1; i < argc && !rc; i++) {
		char name[32];
		snprintf(name, sizeof(name), "APDU #%d", i);
		if ((rc = arg_hex(name, argv[i], &a, 0)))
			break;
		capdu ca;
		if (capdu_parse(a.p, a.len, &ca)) {
			rc = fail(EXIT_USAGE, "%s: not a valid C-APDU", name);
			break;
		}
		abuf_reset(&d);
		uint16_t sw = exchange(&t, a.p, a.len, &d);
		if (!sw) {
			rc = fail(EXIT_FAIL, "%s: the card did not answer", name);
			break;
		}
		uint8_t s[2] = { (uint8_t)(sw >> 8), (uint8_t)sw };
		json_array_append_new(arr, json_pack("{s:o,s:o,s:o}", "apdu", json_hex(a.p, a.len), "data", json_hex(d.p, d.len),
						     "sw", json_hex(s, 2)));
		if (!g_json) {
			char *x = hex_encode_alloc(a.p, a.len), *y = hex_encode_alloc(d.p, d.len);
			printf("%s -> %s%s%04x\n", x, y, d.len ? " " : "", sw);
			free(x);
			free(y);
		}
	}
	if (!rc && g_json)
		emit_json(json_pack("{s:O}", "responses", arr));
	json_decref(arr);
	abuf_free(&a);
	abuf_free(&d);
	link_close(l);
	return rc;
}

/* BCD with swapped nibbles ('F' ends), as EF.ICCID and EF.IMSI hold digits */
static void swapped_digits(const uint8_t *p, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < 2 * len && n + 1 < cap; i++) {
		uint8_t nib = (i % 2 == 0) ? (p[i / 2] & 0x0f) : (p[i / 2] >> 4);
		if (nib > 9)
			break;
		out[n++] = (char)('0' + nib);
	}
	out[n] = '\0';
}

static int cmd_read_ids(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu read-ids [--reader NAME|N | --inproc STATE_FILE] [--json]\n"
		"\n"
		"Reads the ICCID (EF.ICCID), the USIM found through EF.DIR, its IMSI (EF.IMSI) and SPN (EF.SPN) with\n"
		"standard UICC commands only, so it works on real cards too. JSON keys: iccid, usim_aid, imsi, spn.\n";
	g_cmd = "apdu read-ids";
	if (argc >= 2 && !strcmp(argv[1], "--help")) {
		fputs(help, stdout);
		return 0;
	}
	smsr_link *l = NULL;
	int rc = open_card(&argc, argv, &l);
	if (rc)
		return rc;
	if (argc > 1) {
		link_close(l);
		return fail(EXIT_USAGE, "unexpected argument '%s'", argv[1]);
	}
	dev_transport t = link_transport(l);
	abuf d = ABUF_INIT;
	char iccid[24] = "", imsi[20] = "", spn[40] = "", aidh[40] = "";
	uint16_t sw;
	/* EF.ICCID under the MF */
	static const uint8_t sel_iccid[] = { 0x00, 0xA4, 0x08, 0x0C, 0x02, 0x2F, 0xE2 }, rd10[] = { 0x00, 0xB0, 0x00, 0x00, 0x0A };
	if (exchange(&t, sel_iccid, sizeof(sel_iccid), &d) != 0x9000 || (abuf_reset(&d), exchange(&t, rd10, 5, &d)) != 0x9000 ||
	    d.len != 10) {
		abuf_free(&d);
		link_close(l);
		return fail(EXIT_FAIL, "cannot read EF.ICCID (no profile enabled?)");
	}
	swapped_digits(d.p, d.len, iccid, sizeof(iccid));
	/* EF.DIR: the first record naming a USIM (AID A0000000871002...) */
	static const uint8_t sel_dir[] = { 0x00, 0xA4, 0x08, 0x0C, 0x02, 0x2F, 0x00 };
	uint8_t usim[16];
	size_t usim_len = 0;
	abuf_reset(&d);
	if (exchange(&t, sel_dir, sizeof(sel_dir), &d) == 0x9000) {
		for (uint8_t rec = 1; rec < 16 && !usim_len; rec++) {
			uint8_t rr[5] = { 0x00, 0xB2, rec, 0x04, 0x00 };
			abuf_reset(&d);
			if (exchange(&t, rr, 5, &d) != 0x9000)
				break;
			tlv app, aid;
			if (!tlv_find(d.p, d.len, 0x61, &app) && !tlv_find(app.value, app.len, 0x4F, &aid) && aid.len >= 7 &&
			    aid.len <= 16 && !memcmp(aid.value, "\xA0\x00\x00\x00\x87\x10\x02", 7)) {
				memcpy(usim, aid.value, aid.len);
				usim_len = aid.len;
			}
		}
	}
	if (usim_len) {
		hex_encode(usim, usim_len, aidh);
		uint8_t sa[5 + 16] = { 0x00, 0xA4, 0x04, 0x0C, (uint8_t)usim_len };
		memcpy(sa + 5, usim, usim_len);
		static const uint8_t sel_imsi[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x07 }, rd9[] = { 0x00, 0xB0, 0x00, 0x00, 0x09 };
		static const uint8_t sel_spn[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x46 }, rd17[] = { 0x00, 0xB0, 0x00, 0x00, 0x11 };
		abuf_reset(&d);
		if (exchange(&t, sa, 5 + usim_len, &d) == 0x9000 && (abuf_reset(&d), exchange(&t, sel_imsi, sizeof(sel_imsi), &d)) == 0x9000 &&
		    (abuf_reset(&d), exchange(&t, rd9, 5, &d)) == 0x9000 && d.len == 9 && d.p[0] >= 1 && d.p[0] <= 8) {
			char all[20];
			swapped_digits(d.p + 1, d.p[0], all, sizeof(all));
			snprintf(imsi, sizeof(imsi), "%s", all[0] ? all + 1 : ""); /* the first nibble is the parity */
		}
		abuf_reset(&d);
		if (exchange(&t, sel_spn, sizeof(sel_spn), &d) == 0x9000 && (abuf_reset(&d), sw = exchange(&t, rd17, 5, &d)) == 0x9000) {
			size_t n = 0;
			for (size_t i = 1; i < d.len && d.p[i] != 0xFF && n + 1 < sizeof(spn); i++)
				spn[n++] = d.p[i] >= 0x20 && d.p[i] < 0x7F ? (char)d.p[i] : '?';
			spn[n] = '\0';
		}
	}
	abuf_free(&d);
	link_close(l);
	if (g_json) {
		json_t *o = json_pack("{s:s}", "iccid", iccid);
		json_object_set_new(o, "usim_aid", aidh[0] ? json_string(aidh) : json_null());
		json_object_set_new(o, "imsi", imsi[0] ? json_string(imsi) : json_null());
		json_object_set_new(o, "spn", spn[0] ? json_string(spn) : json_null());
		return emit_json(o);
	}
	printf("ICCID  %s\nUSIM   %s\nIMSI   %s\nSPN    %s\n", iccid, aidh[0] ? aidh : "-", imsi[0] ? imsi : "-", spn[0] ? spn : "-");
	return 0;
}

/* ---------------- replay ---------------- */

static int cmd_replay(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu replay [--reader NAME|N [--reset-cmd CMD] | --inproc STATE_FILE] [--eis EIS.json]\n"
		"                   [--pki DIR] [--tap | --junit FILE] [--stop-on-fail] FILE...\n"
		"       apdu replay --list FILE...      the cases: ID, the state each requires, file:line, title\n"
		"\n"
		"Replays conformance vectors (docs/vectors.md) against a card and prints TAP: one line per case, a\n"
		"readable diff under each failure. Every case starts from a known card: with --inproc a fresh copy of\n"
		"STATE_FILE (never modified), with --reader after --reset-cmd (e.g. restart euicc-sim from a fresh\n"
		"state file) or, without it, in file order on the card as it is. Each case says the state it requires\n"
		"(a 'state' block of steps the replayer runs first). OTA steps use the keys of --eis; key establishment\n"
		"and download use the test PKI (--pki, default the bench's data directory). --junit also writes JUnit\n"
		"XML. Exit status: 0 all passed, 1 a case failed, 2 bad arguments or unreadable vectors.\n";
	g_cmd = "apdu replay";
	replay_opts o;
	memset(&o, 0, sizeof(o));
	const char **files = calloc((size_t)argc, sizeof(char *));
	if (!files)
		return fail(EXIT_FAIL, "out of memory");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(help, stdout);
			free(files);
			return 0;
		}
		if (!strcmp(a, "--stop-on-fail")) {
			o.stop_on_fail = true;
		} else if (!strcmp(a, "--list")) {
			o.list = true;
		} else if (!strcmp(a, "--tap")) {
			/* TAP is what goes to stdout anyway */
		} else if (a[0] == '-' && a[1] == '-') {
			const char **slot = !strcmp(a, "--reader") ? &o.reader : !strcmp(a, "--inproc") ? &o.inproc
					    : !strcmp(a, "--reset-cmd") ? &o.reset_cmd : !strcmp(a, "--eis") ? &o.eis
					    : !strcmp(a, "--pki") ? &o.pki_dir : !strcmp(a, "--junit") ? &o.junit : NULL;
			if (!slot || !v) {
				free(files);
				return fail(EXIT_USAGE, "%s: unknown option or missing value (see --help)", a);
			}
			*slot = v;
			i++;
		} else {
			files[o.nfiles++] = a;
		}
	}
	o.files = files;
	if (o.reader && o.inproc) {
		free(files);
		return fail(EXIT_USAGE, "--reader and --inproc: give one of them");
	}
	if (o.reset_cmd && o.inproc) {
		free(files);
		return fail(EXIT_USAGE, "--reset-cmd goes with --reader (an in-process card is reset by copying its file)");
	}
	if (!o.nfiles) {
		free(files);
		return fail(EXIT_USAGE, "no vector file given (see --help)");
	}
	char why[1200];
	int rc = replay_run(&o, why, sizeof(why));
	free(files);
	if (rc < 0)
		return fail(EXIT_USAGE, "%s", why);
	return rc ? EXIT_FAIL : 0;
}

/* ---------------- main ---------------- */

static const char main_help[] =
	"usage: apdu [--json] COMMAND [ARGS]\n"
	"\n"
	"Offline calculator for the eUICC bench's wire layer. Hex input is case-insensitive and may\n"
	"contain spaces. --json (anywhere on the line) prints one JSON object on stdout.\n"
	"\n"
	"commands:\n"
	"  ota encode     wrap C-APDUs into an SCP80 command packet\n"
	"  ota decode     verify and decipher an SCP80 command packet\n"
	"  ota por        verify and decipher a PoR (proof of receipt)\n"
	"  scp03          host side of an SCP03 session: EXTERNAL AUTHENTICATE, wrap, unwrap\n"
	"  milenage       MILENAGE f1..f5* (3GPP TS 35.206)\n"
	"  tlv            print a BER-TLV tree\n"
	"  eid check      check EID check digits\n"
	"  iccid check    check an ICCID's Luhn digit\n"
	"  send           send C-APDUs to a card (PC/SC reader or in-process software card)\n"
	"  read-ids       ICCID, IMSI, SPN of the enabled profile, with standard UICC commands\n"
	"  replay         replay conformance vectors against a card (TAP, JUnit)\n"
	"\n"
	"'apdu COMMAND --help' explains each one. Exit status: 0 ok, 1 the input does not verify,\n"
	"2 bad arguments.\n";

int main(int argc, char **argv)
{
	cli_protect_keys();
	/* --json is accepted anywhere: take it out before the subcommand parses its options */
	g_json = cli_take_flag(&argc, argv, "--json");
	if (argc < 2) {
		fputs(main_help, stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(main_help, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("apdu (euicc-bench) 0.1.0\n");
		return 0;
	}
	if (!strcmp(cmd, "ota"))
		return cmd_ota(argc - 1, argv + 1);
	if (!strcmp(cmd, "scp03"))
		return cmd_scp03(argc - 1, argv + 1);
	if (!strcmp(cmd, "milenage"))
		return cmd_milenage(argc - 1, argv + 1);
	if (!strcmp(cmd, "tlv"))
		return cmd_tlv(argc - 1, argv + 1);
	if (!strcmp(cmd, "eid"))
		return cmd_eid(argc - 1, argv + 1);
	if (!strcmp(cmd, "iccid"))
		return cmd_iccid(argc - 1, argv + 1);
	if (!strcmp(cmd, "send"))
		return cmd_send(argc - 1, argv + 1);
	if (!strcmp(cmd, "read-ids"))
		return cmd_read_ids(argc - 1, argv + 1);
	if (!strcmp(cmd, "replay"))
		return cmd_replay(argc - 1, argv + 1);
	return fail(EXIT_USAGE, "unknown command '%s' (see apdu --help)", cmd);
}
