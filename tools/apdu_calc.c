/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apdu scp03, milenage, tlv, eid, iccid: the offline calculators. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/milenage.h"
#include "apdu/scp03.h"
#include "apdu/tlv.h"
#include "apdu_tool.h"

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

/* --enc, --mac, --dek: AES keys of one length */
static int scp03_keys_arg(const char *enc, const char *mac, const char *dek, scp03_keys *kp, abuf *bp)
{
	scp03_keys k = *kp;
	int rc = 0;
	const char *names[3] = { "--enc", "--mac", "--dek" };
	const char *vals[3] = { enc, mac, dek };
	uint8_t *dst[3] = { k.enc, k.mac, k.dek };
	for (int i = 0; i < 3; i++) {
		if (!vals[i]) {
			rc = tool_fail(CLI_USAGE, "%s is required", names[i]);
			goto done;
		}
		if ((rc = arg_hex(names[i], vals[i], bp, 0)))
			goto done;
		if (bp->len != 16 && bp->len != 24 && bp->len != 32) {
			rc = tool_fail(CLI_USAGE, "%s: an AES key has 16, 24 or 32 bytes, got %zu", names[i], bp->len);
			goto done;
		}
		if (i > 0 && bp->len != k.key_len) {
			rc = tool_fail(CLI_USAGE, "%s: %zu bytes, but --enc has %zu (all three keys have one length)",
				       names[i], bp->len, k.key_len);
			goto done;
		}
		memcpy(dst[i], bp->p, bp->len);
		k.key_len = bp->len;
	}
done:
	*kp = k;
	crypto_wipe(&k, sizeof(k));
	(void)bp;
	return rc;
}

/* --card-response: the INITIALIZE UPDATE answer, with or without its 9000 */
static int scp03_card_response(const char *cr, abuf *resp)
{
	int rc = 0;
	if (!cr) {
		rc = tool_fail(CLI_USAGE, "--card-response is required");
		goto done;
	}
	if ((rc = arg_hex("--card-response", cr, resp, 0)))
		goto done;
	if (resp->len == 31 || resp->len == 34) {
		if (resp->p[resp->len - 2] != 0x90 || resp->p[resp->len - 1] != 0x00) {
			rc = tool_fail(CLI_FAIL, "--card-response: status word %02x%02x is not 9000",
				       resp->p[resp->len - 2], resp->p[resp->len - 1]);
			goto done;
		}
		resp->len -= 2;
	}
	if (resp->len != 29 && resp->len != 32) {
		rc = tool_fail(CLI_USAGE, "--card-response: expected 29 or 32 bytes (S8 mode), got %zu", resp->len);
		goto done;
	}
done:
	return rc;
}

/* each --cmd wrapped and each --rsp unwrapped, in order */
static int scp03_exchanges(scp03_session *s, const char **cmds, size_t ncmd, const char **rsps, size_t nrsp,
			   json_t *jcmds, json_t *jrsps)
{
	abuf b = ABUF_INIT, out = ABUF_INIT;
	apdu_err e;
	int rc = 0;
	size_t n = ncmd > nrsp ? ncmd : nrsp;
	for (size_t i = 0; i < n; i++) {
		char name[32];
		if (i < ncmd) {
			snprintf(name, sizeof(name), "--cmd #%zu", i + 1);
			if ((rc = arg_hex(name, cmds[i], &b, 0))) {
				goto done;
			}
			abuf_reset(&out);
			if ((e = scp03_wrap_command(s, b.p, b.len, &out))) {
				rc = tool_fail(CLI_USAGE, "%s: cannot wrap: %s", name, apdu_strerror(e));
				goto done;
			}
			json_array_append_new(jcmds, json_hex(out.p, out.len));
		}
		if (i < nrsp) {
			snprintf(name, sizeof(name), "--rsp #%zu", i + 1);
			if ((rc = arg_hex(name, rsps[i], &b, 0))) {
				goto done;
			}
			if (b.len < 2) {
				rc = tool_fail(CLI_USAGE, "%s: an R-APDU has at least the 2-byte status word", name);
				goto done;
			}
			uint16_t sw = (uint16_t)((b.p[b.len - 2] << 8) | b.p[b.len - 1]);
			abuf_reset(&out);
			if ((e = scp03_unwrap_response(s, b.p, b.len - 2, sw, &out))) {
				rc = tool_fail(CLI_FAIL, "%s: %s", name,
					       e == APDU_E_MAC ? "R-MAC does not verify" : apdu_strerror(e));
				goto done;
			}
			abuf_put_u16(&out, sw);
			json_array_append_new(jrsps, json_hex(out.p, out.len));
		}
	}
done:
	abuf_free(&b);
	abuf_free(&out);
	return rc;
}

/* the session's commands and responses, as text or JSON; takes the references */
static int scp03_print(json_t *ext, json_t *jcmds, json_t *jrsps)
{
	int rc = 0;
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
	json_decref(jcmds);
	json_decref(jrsps);
	return rc;
}

static const struct option scp03_opts[] = {
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

int cmd_scp03(int argc, char **argv)
{
	const char *enc = NULL, *mac = NULL, *dek = NULL, *level = NULL, *hc = NULL, *cr = NULL, *kvn_s = NULL;
	const char **cmds = calloc((size_t)argc, sizeof(char *)), **rsps = calloc((size_t)argc, sizeof(char *));
	size_t ncmd = 0, nrsp = 0;
	int c, rc = 0;
	g_cmd = "apdu scp03";
	if (!cmds || !rsps) {
		free(cmds);
		free(rsps);
		return tool_fail(CLI_FAIL, "out of memory");
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", scp03_opts, NULL)) != -1) {
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
		case OPT_HELP:
			fputs(scp03_help, stdout);
			free(cmds);
			free(rsps);
			return 0;
		default:
			free(cmds);
			free(rsps);
			return tool_fail(CLI_USAGE, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
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
		rc = tool_fail(CLI_USAGE, "unexpected argument '%s'", argv[optind]);
		goto done;
	}
	if ((rc = scp03_keys_arg(enc, mac, dek, &k, &b)))
		goto done;
	if ((rc = arg_hex_fixed("--level", level, &lvl, 1)) ||
	    (rc = arg_hex_fixed("--host-challenge", hc, host_chal, 8)))
		goto done;
	if (!scp03_level_valid(lvl)) {
		rc = tool_fail(CLI_USAGE, "--level: %02x is not a security level (01, 03, 11, 13, 31, 33)", lvl);
		goto done;
	}
	if ((rc = scp03_card_response(cr, &resp)))
		goto done;
	k.kvn = resp.p[10];
	if (kvn_s) {
		if ((rc = arg_hex_fixed("--kvn", kvn_s, &k.kvn, 1)))
			goto done;
	}
	apdu_err e = scp03_host_init(&s, &k, host_chal, resp.p, resp.len);
	if (e == APDU_E_MAC) {
		rc = tool_fail(CLI_FAIL,
			       "--card-response: card cryptogram does not verify (wrong keys or host challenge)");
		goto done;
	} else if (e) {
		rc = tool_fail(CLI_FAIL, "--card-response: %s", apdu_strerror(e));
		goto done;
	}
	abuf_reset(&out);
	if ((e = scp03_host_external_authenticate(&s, lvl, &out))) {
		rc = tool_fail(CLI_FAIL, "EXTERNAL AUTHENTICATE: %s", apdu_strerror(e));
		goto done;
	}
	json_t *ext = json_hex(out.p, out.len);
	if ((rc = scp03_exchanges(&s, cmds, ncmd, rsps, nrsp, jcmds, jrsps))) {
		json_decref(ext);
		goto done;
	}
	rc = scp03_print(ext, jcmds, jrsps);
	jcmds = jrsps = NULL;
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

int cmd_milenage(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "k", required_argument, NULL, OPT_K },     { "op", required_argument, NULL, OPT_OP },
		{ "opc", required_argument, NULL, OPT_OPC }, { "rand", required_argument, NULL, OPT_RAND },
		{ "sqn", required_argument, NULL, OPT_SQN }, { "amf", required_argument, NULL, OPT_AMF },
		{ "help", no_argument, NULL, OPT_HELP },     { NULL, 0, NULL, 0 },
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
		default:
			return tool_fail(CLI_USAGE, "unknown or incomplete option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return tool_fail(CLI_USAGE, "unexpected argument '%s'", argv[optind]);
	if (op && opc_s)
		return tool_fail(CLI_USAGE, "--op and --opc: give one of them, not both");
	if (!op && !opc_s)
		return tool_fail(CLI_USAGE, "--op or --opc is required");
	uint8_t k[16], opc[16], rnd[16], sqn[6], amf[2];
	if ((rc = arg_hex_fixed("--k", ks, k, 16)) || (rc = arg_hex_fixed("--rand", rand_s, rnd, 16)) ||
	    (rc = arg_hex_fixed("--sqn", sqn_s, sqn, 6)) || (rc = arg_hex_fixed("--amf", amf_s, amf, 2)))
		goto out;
	if (op) {
		uint8_t opb[16];
		if ((rc = arg_hex_fixed("--op", op, opb, 16)))
			goto out;
		if (milenage_opc(k, opb, opc)) {
			rc = tool_fail(CLI_FAIL, "crypto failure computing OPc");
			goto out;
		}
	} else if ((rc = arg_hex_fixed("--opc", opc_s, opc, 16))) {
		goto out;
	}
	milenage_out m;
	if (milenage_all(k, opc, rnd, sqn, amf, &m)) {
		rc = tool_fail(CLI_FAIL, "crypto failure in MILENAGE");
		goto out;
	}
	uint8_t autn[16];
	for (int i = 0; i < 6; i++)
		autn[i] = sqn[i] ^ m.ak[i];
	memcpy(autn + 6, amf, 2);
	memcpy(autn + 8, m.mac_a, 8);
	struct {
		const char *name;
		const uint8_t *p;
		size_t len;
	} f[] = {
		{ "opc", opc, 16 },  { "mac_a", m.mac_a, 8 },	  { "mac_s", m.mac_s, 8 },
		{ "res", m.res, 8 }, { "ck", m.ck, 16 },	  { "ik", m.ik, 16 },
		{ "ak", m.ak, 6 },   { "ak_star", m.ak_star, 6 }, { "autn", autn, 16 },
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

int cmd_tlv(int argc, char **argv)
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
		return tool_fail(CLI_USAGE, "expected exactly one HEX argument (see --help)");
	abuf b = ABUF_INIT;
	int rc = arg_hex("HEX", argv[1], &b, 0);
	if (rc)
		return rc;
	apdu_err e = tlv_walk(b.p, b.len, TLV_MAX_DEPTH, NULL, NULL);
	if (e) {
		/* find where it breaks, for the message */
		rc = tool_fail(CLI_FAIL, "HEX: not a well-formed BER-TLV sequence: %s", apdu_strerror(e));
	} else if (g_json) {
		tlv_json_ctx ctx;
		json_t *root = json_array();
		ctx.stack[0] = root;
		if ((e = tlv_walk(b.p, b.len, TLV_MAX_DEPTH, tlv_json_visit, &ctx))) {
			json_decref(root);
			rc = tool_fail(CLI_FAIL, "HEX: %s", apdu_strerror(e));
		} else {
			rc = emit_json(json_pack("{s:o}", "tlv", root));
		}
	} else if ((e = tlv_walk(b.p, b.len, TLV_MAX_DEPTH, tlv_print_visit, NULL))) {
		rc = tool_fail(CLI_FAIL, "HEX: %s", apdu_strerror(e));
	}
	abuf_free(&b);
	return rc;
}

/* ---------------- eid / iccid ---------------- */

/* `apdu eid --help` or `apdu eid check --help` */

int cmd_eid(int argc, char **argv)
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
		return tool_fail(CLI_USAGE, "usage: apdu eid check EID");
	const char *eid = argv[2];
	apdu_err e = eid_check(eid);
	if (e == APDU_E_BAD_LENGTH)
		return tool_fail(CLI_USAGE, "EID: expected 32 digits, got %zu characters", strlen(eid));
	if (e == APDU_E_HEX_DIGIT)
		return tool_fail(CLI_USAGE, "EID: only decimal digits are allowed");
	char right[EID_DIGITS + 1];
	if (eid_complete(eid, right))
		return tool_fail(CLI_USAGE, "EID: its first 30 digits do not complete");
	if (g_json) {
		emit_json(json_pack("{s:s,s:b,s:s}", "eid", eid, "valid", e == APDU_OK, "expected", right + 30));
	} else if (!e) {
		printf("EID %s: check digits valid\n", eid);
	} else {
		printf("EID %s: check digits wrong: expected %s (%s)\n", eid, right + 30, right);
	}
	return e ? CLI_FAIL : 0;
}

int cmd_iccid(int argc, char **argv)
{
	static const char help[] = "usage: apdu iccid check [--json] ICCID\n"
				   "\n"
				   "Checks the Luhn check digit (the last digit) of a 19- or 20-digit ICCID.\n"
				   "Exit 0 when valid, 1 when the check digit is wrong (the right one is printed).\n";
	g_cmd = "apdu iccid check";
	if (wants_help(argc, argv)) {
		fputs(help, stdout);
		return 0;
	}
	if (argc != 3 || strcmp(argv[1], "check"))
		return tool_fail(CLI_USAGE, "usage: apdu iccid check ICCID");
	const char *iccid = argv[2];
	apdu_err e = iccid_check(iccid);
	if (e == APDU_E_BAD_LENGTH)
		return tool_fail(CLI_USAGE, "ICCID: expected 19 or 20 digits, got %zu characters", strlen(iccid));
	if (e == APDU_E_HEX_DIGIT)
		return tool_fail(CLI_USAGE, "ICCID: only decimal digits are allowed");
	char body[21], digit;
	size_t n = strlen(iccid);
	memcpy(body, iccid, n - 1);
	body[n - 1] = '\0';
	if (luhn_digit(body, &digit))
		return tool_fail(CLI_USAGE, "ICCID: its digits before the check digit do not compute");
	char d[2] = { digit, 0 };
	if (g_json)
		emit_json(json_pack("{s:s,s:b,s:s}", "iccid", iccid, "valid", e == APDU_OK, "expected", d));
	else if (!e)
		printf("ICCID %s: check digit valid\n", iccid);
	else
		printf("ICCID %s: check digit wrong: expected %c\n", iccid, digit);
	return e ? CLI_FAIL : 0;
}
