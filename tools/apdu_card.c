/* SPDX-License-Identifier: GPL-2.0-or-later */
/* apdu send, read-ids, replay: a card through PC/SC or in-process. */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apdu/apdu.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/tlv.h"
#include "host/cli.h"
#include "host/capture.h"
#include "host/link.h"
#include "replay.h"
#include "apdu_tool.h"

/* ---------------- send / read-ids (a card through PC/SC or in-process) ---------------- */

static capture *g_cap;	  /* --pcap / --gsmtap */
static capture_tap g_tap; /* the card's exchanges into it */

/* the card's transport, captured when asked */
static dev_transport card_transport(smsr_link *l)
{
	return link_captured(l, g_cap, 0, &g_tap);
}

static void close_card(smsr_link *l)
{
	link_close(l);
	capture_close(g_cap);
	g_cap = NULL;
}

static int open_card(int *argc, char **argv, smsr_link **out)
{
	const char *reader = NULL, *inproc = NULL, *pcap = NULL, *gsmtap = NULL;
	int n = 0;
	for (int i = 0; i < *argc; i++) {
		if (i > 0 &&
		    (!strcmp(argv[i], "--reader") || !strcmp(argv[i], "--inproc") || !strcmp(argv[i], "--pcap") ||
		     !strcmp(argv[i], "--gsmtap")) &&
		    i + 1 < *argc) {
			const char **slot = argv[i][2] == 'r' ? &reader
				: argv[i][2] == 'i'	      ? &inproc
				: argv[i][2] == 'p'	      ? &pcap
							      : &gsmtap;
			*slot = argv[++i];
			continue;
		}
		argv[n++] = argv[i];
	}
	*argc = n;
	argv[n] = NULL;
	if (reader && inproc)
		return tool_fail(CLI_USAGE, "--reader and --inproc: give one of them");
	char why[1200];
	if ((pcap || gsmtap) && capture_open(pcap, gsmtap, false, &g_cap, why, sizeof(why)))
		return tool_fail(CLI_FAIL, "%s", why);
	int rc = inproc ? link_open_inproc(inproc, out, why, sizeof(why))
			: link_open_pcsc(reader ? reader : "0", out, why, sizeof(why));
	if (rc) {
		capture_close(g_cap);
		g_cap = NULL;
		return tool_fail(CLI_FAIL, "%s", why);
	}
	return 0;
}

int cmd_send(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu send [--reader NAME|N | --inproc STATE_FILE] [--pcap FILE] [--gsmtap HOST[:PORT]] "
		"[--json]\n"
		"                 APDU_HEX...\n"
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
		close_card(l);
		return tool_fail(CLI_USAGE, "no APDU given (see --help)");
	}
	dev_transport t = card_transport(l);
	json_t *arr = json_array();
	abuf a = ABUF_INIT, d = ABUF_INIT;
	for (int i = 1; i < argc && !rc; i++) {
		char name[32];
		snprintf(name, sizeof(name), "APDU #%d", i);
		if ((rc = arg_hex(name, argv[i], &a, 0)))
			break;
		capdu ca;
		if (capdu_parse(a.p, a.len, &ca)) {
			rc = tool_fail(CLI_USAGE, "%s: not a valid C-APDU", name);
			break;
		}
		abuf_reset(&d);
		uint16_t sw = dev_exchange(&t, a.p, a.len, &d, NULL);
		if (!sw) {
			rc = tool_fail(CLI_FAIL, "%s: the card did not answer", name);
			break;
		}
		uint8_t s[2] = { (uint8_t)(sw >> 8), (uint8_t)sw };
		json_array_append_new(arr,
				      json_pack("{s:o,s:o,s:o}", "apdu", json_hex(a.p, a.len), "data",
						json_hex(d.p, d.len), "sw", json_hex(s, 2)));
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
	close_card(l);
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

int cmd_read_ids(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu read-ids [--reader NAME|N | --inproc STATE_FILE] [--pcap FILE] [--gsmtap HOST[:PORT]] "
		"[--json]\n"
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
		close_card(l);
		return tool_fail(CLI_USAGE, "unexpected argument '%s'", argv[1]);
	}
	dev_transport t = card_transport(l);
	abuf d = ABUF_INIT;
	char iccid[24] = "", imsi[20] = "", spn[40] = "", aidh[40] = "";
	uint16_t sw;
	/* EF.ICCID under the MF */
	static const uint8_t sel_iccid[] = { 0x00, 0xA4, 0x08, 0x0C, 0x02, 0x2F, 0xE2 },
			     rd10[] = { 0x00, 0xB0, 0x00, 0x00, 0x0A };
	if (dev_exchange(&t, sel_iccid, sizeof(sel_iccid), &d, NULL) != 0x9000 ||
	    (abuf_reset(&d), dev_exchange(&t, rd10, 5, &d, NULL)) != 0x9000 || d.len != 10) {
		abuf_free(&d);
		close_card(l);
		return tool_fail(CLI_FAIL, "cannot read EF.ICCID (no profile enabled?)");
	}
	swapped_digits(d.p, d.len, iccid, sizeof(iccid));
	/* EF.DIR: the first record naming a USIM (AID A0000000871002...) */
	static const uint8_t sel_dir[] = { 0x00, 0xA4, 0x08, 0x0C, 0x02, 0x2F, 0x00 };
	uint8_t usim[16];
	size_t usim_len = 0;
	abuf_reset(&d);
	if (dev_exchange(&t, sel_dir, sizeof(sel_dir), &d, NULL) == 0x9000) {
		for (uint8_t rec = 1; rec < 16 && !usim_len; rec++) {
			uint8_t rr[5] = { 0x00, 0xB2, rec, 0x04, 0x00 };
			abuf_reset(&d);
			if (dev_exchange(&t, rr, 5, &d, NULL) != 0x9000)
				break;
			tlv app, aid;
			if (!tlv_find(d.p, d.len, 0x61, &app) && !tlv_find(app.value, app.len, 0x4F, &aid) &&
			    aid.len >= 7 && aid.len <= 16 && !memcmp(aid.value, "\xA0\x00\x00\x00\x87\x10\x02", 7)) {
				memcpy(usim, aid.value, aid.len);
				usim_len = aid.len;
			}
		}
	}
	if (usim_len) {
		hex_encode(usim, usim_len, aidh);
		uint8_t sa[5 + 16] = { 0x00, 0xA4, 0x04, 0x0C, (uint8_t)usim_len };
		memcpy(sa + 5, usim, usim_len);
		static const uint8_t sel_imsi[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x07 },
				     rd9[] = { 0x00, 0xB0, 0x00, 0x00, 0x09 };
		static const uint8_t sel_spn[] = { 0x00, 0xA4, 0x00, 0x0C, 0x02, 0x6F, 0x46 },
				     rd17[] = { 0x00, 0xB0, 0x00, 0x00, 0x11 };
		abuf_reset(&d);
		if (dev_exchange(&t, sa, 5 + usim_len, &d, NULL) == 0x9000 &&
		    (abuf_reset(&d), dev_exchange(&t, sel_imsi, sizeof(sel_imsi), &d, NULL)) == 0x9000 &&
		    (abuf_reset(&d), dev_exchange(&t, rd9, 5, &d, NULL)) == 0x9000 && d.len == 9 && d.p[0] >= 1 &&
		    d.p[0] <= 8) {
			char all[20];
			swapped_digits(d.p + 1, d.p[0], all, sizeof(all));
			snprintf(imsi, sizeof(imsi), "%s", all[0] ? all + 1 : ""); /* the first nibble is the parity */
		}
		abuf_reset(&d);
		if (dev_exchange(&t, sel_spn, sizeof(sel_spn), &d, NULL) == 0x9000 &&
		    (abuf_reset(&d), sw = dev_exchange(&t, rd17, 5, &d, NULL)) == 0x9000) {
			size_t n = 0;
			for (size_t i = 1; i < d.len && d.p[i] != 0xFF && n + 1 < sizeof(spn); i++)
				spn[n++] = d.p[i] >= 0x20 && d.p[i] < 0x7F ? (char)d.p[i] : '?';
			spn[n] = '\0';
		}
	}
	abuf_free(&d);
	close_card(l);
	if (g_json) {
		json_t *o = json_pack("{s:s}", "iccid", iccid);
		json_object_set_new(o, "usim_aid", aidh[0] ? json_string(aidh) : json_null());
		json_object_set_new(o, "imsi", imsi[0] ? json_string(imsi) : json_null());
		json_object_set_new(o, "spn", spn[0] ? json_string(spn) : json_null());
		return emit_json(o);
	}
	printf("ICCID  %s\nUSIM   %s\nIMSI   %s\nSPN    %s\n", iccid, aidh[0] ? aidh : "-", imsi[0] ? imsi : "-",
	       spn[0] ? spn : "-");
	return 0;
}

/* ---------------- replay ---------------- */

int cmd_replay(int argc, char **argv)
{
	static const char help[] =
		"usage: apdu replay [--reader NAME|N [--reset-cmd CMD] | --inproc STATE_FILE] [--eis EIS.json]\n"
		"                   [--pki DIR] [--tap | --junit FILE] [--stop-on-fail] [--pcap FILE] [--gsmtap "
		"HOST[:PORT]]\n"
		"                   FILE...\n"
		"       apdu replay --list FILE...      the cases: ID, the state each requires, file:line, title\n"
		"\n"
		"Replays conformance vectors (docs/vectors.md) against a card and prints TAP: one line per case, a\n"
		"readable diff under each failure. Every case starts from a known card: with --inproc a fresh copy of\n"
		"STATE_FILE (never modified), with --reader after --reset-cmd (e.g. restart euicc-sim from a fresh\n"
		"state file) or, without it, in file order on the card as it is. Each case says the state it requires\n"
		"(a 'state' block of steps the replayer runs first). OTA steps use the keys of --eis; key "
		"establishment\n"
		"and download use the test PKI (--pki, default the bench's data directory). --junit also writes JUnit\n"
		"XML. Exit status: 0 all passed, 1 a case failed, 2 bad arguments or unreadable vectors.\n";
	g_cmd = "apdu replay";
	replay_opts o;
	memset(&o, 0, sizeof(o));
	const char **files = calloc((size_t)argc, sizeof(char *));
	if (!files)
		return tool_fail(CLI_FAIL, "out of memory");
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
			const char **slot = !strcmp(a, "--reader") ? &o.reader
				: !strcmp(a, "--inproc")	   ? &o.inproc
				: !strcmp(a, "--reset-cmd")	   ? &o.reset_cmd
				: !strcmp(a, "--eis")		   ? &o.eis
				: !strcmp(a, "--pki")		   ? &o.pki_dir
				: !strcmp(a, "--junit")		   ? &o.junit
				: !strcmp(a, "--pcap")		   ? &o.pcap
				: !strcmp(a, "--gsmtap")	   ? &o.gsmtap
								   : NULL;
			if (!slot || !v) {
				free(files);
				return tool_fail(CLI_USAGE, "%s: unknown option or missing value (see --help)", a);
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
		return tool_fail(CLI_USAGE, "--reader and --inproc: give one of them");
	}
	if (o.reset_cmd && o.inproc) {
		free(files);
		return tool_fail(CLI_USAGE,
				 "--reset-cmd goes with --reader (an in-process card is reset by copying its file)");
	}
	if (!o.nfiles) {
		free(files);
		return tool_fail(CLI_USAGE, "no vector file given (see --help)");
	}
	char why[1200];
	int rc = replay_run(&o, why, sizeof(why));
	free(files);
	if (rc < 0)
		return tool_fail(CLI_USAGE, "%s", why);
	return rc ? CLI_FAIL : 0;
}
