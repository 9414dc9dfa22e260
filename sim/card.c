/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card: creation, power, the APDU dispatcher (channels, SELECT, GET RESPONSE, Le handling) and the
 * one table from internal results to ISO 7816 status words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "apdu/gpcert.h"
#include "apdu/hex.h"
#include "apdu/ids.h"
#include "apdu/tlv.h"
#include "euicc_int.h"

/* ATR: TS 3B, T0 with 11 historical bytes, TD1 (T=0 offered), TD2 (T=1 offered), "euicc-bench", TCK */
static const uint8_t atr_bytes[] = {
	0x3B, 0x8B, 0x80, 0x01, 'e', 'u', 'i', 'c', 'c', '-', 'b', 'e', 'n', 'c', 'h', 0x00
};

/* T=0 only (a strict T=0 card): TS ‖ T0 '0B' (no interface bytes, 11 historical bytes) ‖ "euicc-bench",
 * no TCK (ISO 7816-3 8.2.5: none when only T=0 is offered) */
static const uint8_t atr_t0[] = { 0x3B, 0x0B, 'e', 'u', 'i', 'c', 'c', '-', 'b', 'e', 'n', 'c', 'h' };

void euicc_set_t0_strict(euicc_card *c, bool on)
{
	c->t0_strict = on;
}

size_t euicc_atr(const euicc_card *c, uint8_t *atr)
{
	if (c->t0_strict) {
		memcpy(atr, atr_t0, sizeof(atr_t0));
		return sizeof(atr_t0);
	}
	memcpy(atr, atr_bytes, sizeof(atr_bytes));
	uint8_t tck = 0;
	for (size_t i = 1; i + 1 < sizeof(atr_bytes); i++)
		tck ^= atr_bytes[i];
	atr[sizeof(atr_bytes) - 1] = tck;
	return sizeof(atr_bytes);
}

static void drop_sessions(euicc_card *c)
{
	memset(c->channel_app, 0, sizeof(c->channel_app));
	memset(c->channel_open, 0, sizeof(c->channel_open));
	c->channel_open[0] = true;
	c->pending_len = 0;
	c->pending_sw = 0;
	c->cat.terminal_profile = false;
	c->cat.n_proactive = 0;
	c->cat.noservice_count = 0;
	sms_reassembly_free(&c->ota.sms);
	es8_reset_session(c);
	fs_forget(c); /* the enabled profile may have changed; the security status starts over */
}

size_t euicc_power_on(euicc_card *c, uint8_t *atr)
{
	drop_sessions(c);
	c->powered = true;
	/* after a REFRESH the terminal re-attaches: notifications go out then */
	if (c->cat.refresh_pending) {
		c->cat.refresh_pending = false;
		c->cat.notify_after_attach = true;
	}
	return euicc_atr(c, atr);
}

size_t euicc_reset(euicc_card *c, uint8_t *atr)
{
	return euicc_power_on(c, atr);
}

void euicc_power_off(euicc_card *c)
{
	drop_sessions(c);
	c->powered = false;
}

/* ---- dispatcher ---- */

static eu_status manage_channel(euicc_card *c, const capdu *a, int ch, abuf *out)
{
	if (a->p1 == 0x00) { /* open: the card assigns the channel (P2 = 00) or takes the one asked */
		int want = a->p2;
		if (want == 0) {
			for (int i = 1; i < EUICC_CHANNELS; i++)
				if (!c->channel_open[i]) {
					want = i;
					break;
				}
			if (want == 0)
				return EU_CHANNEL;
			if (a->cse != APDU_CASE_2S)
				return EU_WRONG_LENGTH;
		}
		if (want >= EUICC_CHANNELS || c->channel_open[want])
			return EU_CHANNEL;
		c->channel_open[want] = true;
		c->channel_app[want] = c->channel_app[ch]; /* the new channel inherits the selection */
		if (a->p2 == 0)
			abuf_put_u8(out, (uint8_t)want);
		return EU_OK;
	}
	if (a->p1 == 0x80) { /* close */
		if (a->p2 == 0 || a->p2 >= EUICC_CHANNELS || !c->channel_open[a->p2])
			return EU_CHANNEL;
		c->channel_open[a->p2] = false;
		c->channel_app[a->p2] = APP_NONE;
		return EU_OK;
	}
	return EU_WRONG_P1P2;
}

static void fci(abuf *out, const uint8_t *aid, uint8_t life_cycle)
{
	size_t m, m2;
	tlv_begin(out, 0x6F, &m);
	tlv_put(out, 0x84, aid, 16);
	tlv_begin(out, 0xA5, &m2);
	tlv_put_u8(out, 0x9F6E, 0x00);
	tlv_end(out, m2);
	tlv_put_u8(out, 0x9F70, life_cycle);
	tlv_end(out, m);
}

/* a file command of the enabled profile: the BER-TLV data objects or the file system */
static eu_status file_command(euicc_card *c, int ch, const capdu *a, abuf *out)
{
	if (a->ins == 0xCB || a->ins == 0xDB)
		return bertlv_command(c, ch, a, out);
	return fs_command(c, ch, a, out);
}

static eu_status select_aid(euicc_card *c, const capdu *a, int ch, abuf *out)
{
	if (a->p1 != 0x04) {
		/* by FID or path: the enabled profile's file system */
		eu_status st = file_command(c, ch, a, out);
		if (st == EU_OK)
			c->channel_app[ch] = APP_FS;
		return st;
	}
	if ((a->p2 & 0xF3) != 0x00) /* first occurrence; b4..b3 choose FCI, FCP or none */
		return EU_WRONG_P1P2;
	if (a->lc < 5 || a->lc > 16)
		return EU_WRONG_LENGTH;
	const uint8_t *aid = a->data;
	int app = APP_NONE;
	const uint8_t *full = NULL;
	uint8_t lc = 0x0F;
	/* exact AID or a unique partial AID (ISO 7816-4 first occurrence) */
	if (memcmp(euicc_aid_isdr, aid, a->lc) == 0) {
		app = APP_ISDR;
		full = euicc_aid_isdr;
	} else if (memcmp(euicc_aid_ecasd, aid, a->lc) == 0) {
		app = APP_ECASD;
		full = euicc_aid_ecasd;
	} else {
		for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
			nvm_profile *p = &c->nvm.profiles[i];
			if (p->used && memcmp(p->aid, aid, a->lc) == 0 && p->state >= PROTO_ISDP_SELECTABLE) {
				app = APP_ISDP0 + i;
				full = p->aid;
				lc = p->state;
				break;
			}
		}
	}
	if (app == APP_NONE) {
		/* an application of the enabled profile (ADF.USIM, also by partial AID) */
		if (fs_select_aid(c, ch, aid, a->lc, (a->p2 & 0x0C) == 0x04, out)) {
			c->channel_app[ch] = APP_FS;
			return EU_OK;
		}
		return EU_FILE_NOT_FOUND;
	}
	c->channel_app[ch] = (uint8_t)app;
	if ((a->p2 & 0x0C) != 0x0C)
		fci(out, full, lc);
	euicc_tracef(c, "SELECT %s", app == APP_ISDR ? "ISD-R" : app == APP_ECASD ? "ECASD" : "ISD-P");
	return EU_OK;
}

/* Commands that never change NVM: no snapshot, no save. */
static bool read_only(const capdu *a)
{
	switch (a->ins) {
	case 0xA4:
	case 0xC0:
	case 0xCA:
	case 0xCB:
	case 0x70:
	case 0x12:
	case 0xB0:
	case 0xB2:
	case 0xA2: return true;
	case 0xF2: /* STATUS / GET STATUS */ return true;
	}
	return false;
}

/* the GSM class (TS 51.011): its status words, response data waiting behind 9Fxx, data beyond P3 cut */
static size_t finish_gsm(euicc_card *c, const capdu *a, eu_status st, abuf *data, uint8_t *r)
{
	uint16_t sw = gsm_sw_of(st);
	size_t n = 0;
	if (st == EU_OK && data->len && !a->le) {
		memcpy(c->pending, data->p, data->len);
		c->pending_len = data->len;
		sw = (uint16_t)(0x9F00 | (data->len >= 256 ? 0 : data->len));
	} else if (st == EU_OK && data->len) {
		n = data->len < a->le ? data->len : a->le;
		memcpy(r, data->p, n);
	}
	if (st == EU_OK && sw == 0x9000 && c->cat.n_proactive && a->ins != 0x12)
		sw = (uint16_t)(0x9100 | (c->cat.proactive[0].len & 0xff));
	r[n++] = (uint8_t)(sw >> 8);
	r[n++] = (uint8_t)sw;
	return n;
}

static size_t finish(euicc_card *c, const capdu *a, eu_status st, abuf *data, uint8_t *r)
{
	if (a->cla == 0xA0)
		return finish_gsm(c, a, st, data, r);
	uint16_t sw = euicc_sw_of(st);
	size_t n = 0;
	if (st == EU_PIN_WRONG)
		sw = (uint16_t)(0x63C0 | (c->fs.pin_left & 0x0F));
	if (st == EU_END_OF_FILE || st == EU_MORE_BLOCKS) {
		/* the data there was (all of it fits: fewer bytes than Le), then the warning */
		memcpy(r, data->p, data->len);
		n = data->len;
	} else if (st == EU_OK && data->len) {
		size_t ne = a->le; /* 0 when the command has no Le */
		if (ne == 0 || data->len > ne) {
			/* ISO 7816-4 / TS 102 221: more data than asked for waits for GET RESPONSE */
			size_t give = ne ? ne : 0;
			memcpy(r, data->p, give);
			n = give;
			memcpy(c->pending, data->p + give, data->len - give);
			c->pending_len = data->len - give;
			size_t left = c->pending_len;
			sw = (uint16_t)(0x6100 | (left >= 256 ? 0 : left));
		} else {
			memcpy(r, data->p, data->len);
			n = data->len;
			if (c->cat.n_proactive &&
			    a->ins != 0x12) /* TS 102 221 10.2.1.1: data and a pending proactive command */
				sw = (uint16_t)(0x9100 | (c->cat.proactive[0].len & 0xff));
		}
	} else if (st == EU_OK && c->cat.n_proactive && a->ins != 0x12) {
		sw = (uint16_t)(0x9100 | (c->cat.proactive[0].len & 0xff));
	}
	r[n++] = (uint8_t)(sw >> 8);
	r[n++] = (uint8_t)sw;
	return n;
}

static size_t get_response(euicc_card *c, const capdu *a, uint8_t *r)
{
	size_t n = 0;
	uint16_t sw;
	size_t want = a->le ? a->le : 256;
	if (!c->pending_len || a->p1 || a->p2) {
		sw = euicc_sw_of(!c->pending_len ? EU_CONDITIONS : EU_WRONG_P1P2);
	} else if (c->t0_strict && want > c->pending_len) {
		sw = (uint16_t)(0x6C00 | (c->pending_len & 0xFF)); /* T=0: P3 names more than there is */
	} else {
		size_t ne = a->le ? a->le : 256;
		size_t give = c->pending_len < ne ? c->pending_len : ne;
		memcpy(r, c->pending, give);
		n = give;
		memmove(c->pending, c->pending + give, c->pending_len - give);
		c->pending_len -= give;
		if (c->pending_len)
			sw = (uint16_t)(0x6100 | (c->pending_len >= 256 ? 0 : c->pending_len));
		else if (c->cat.n_proactive)
			sw = (uint16_t)(0x9100 | (c->cat.proactive[0].len & 0xff));
		else
			sw = 0x9000;
	}
	r[n++] = (uint8_t)(sw >> 8);
	r[n++] = (uint8_t)sw;
	return n;
}

/* the file-system commands a channel with nothing selected still takes (the MF is current) */
static bool fs_ins(uint8_t ins)
{
	switch (ins) {
	case 0xB0:
	case 0xB2:
	case 0xD6:
	case 0xDC:
	case 0xA2:
	case 0x88:
	case 0x20:
	case 0x24:
	case 0x26:
	case 0x28:
	case 0x2C: return true;
	}
	return false;
}

static eu_status dispatch(euicc_card *c, const capdu *a, int ch, abuf *out)
{
	uint8_t app = c->channel_app[ch];
	bool gp = (a->cla & 0x80) != 0;
	if (a->cla == 0xA0) {
		/* the GSM class: the toolkit commands as in class 80 (a 2G modem sends them so), the rest
		 * over the GSM view of the enabled profile (gsm.c) */
		if (a->ins != 0x10 && a->ins != 0x12 && a->ins != 0x14 && a->ins != 0xC2)
			return gsm_command(c, a, out);
	}
	switch (a->ins) {
	case 0x70: return gp ? EU_CLA : manage_channel(c, a, ch, out);
	case 0xA4: return gp ? EU_CLA : select_aid(c, a, ch, out);
	case 0x10: return gp ? cat_terminal_profile(c, a) : EU_CLA;
	case 0x12: return gp ? cat_fetch(c, a, out) : EU_CLA;
	case 0x14: return gp ? cat_terminal_response(c, a) : EU_CLA;
	case 0xC2:
		if (!gp)
			return EU_CLA;
		if (a->lc == 0)
			return EU_WRONG_LENGTH;
		if (a->data[0] == 0xD1)
			return ota_envelope_sms_pp(c, a->data, a->lc, out);
		if (a->data[0] == 0xD6)
			return cat_event_download(c, a->data, a->lc);
		return EU_WRONG_DATA;
	case 0xF2:
		/* TS 102 221 STATUS (P1 00..02) unless a GP application takes GET STATUS (P1 80/40/20/10) */
		if (gp && a->p1 <= 0x02) {
			if (app == APP_FS)
				return file_command(c, ch, a, out);
			if (a->p2 != 0x0C && a->p2 != 0x00 && a->p2 != 0x01)
				return EU_WRONG_P1P2;
			/* the selected application: its FCI (00) or its name (01), as SELECT gave them; with
			 * nothing selected there is nothing to tell */
			const uint8_t *aid = app == APP_ISDR ? euicc_aid_isdr
				: app == APP_ECASD	     ? euicc_aid_ecasd
							     : NULL;
			if (aid && a->p2 == 0x00)
				fci(out, aid, 0x0F);
			else if (aid && a->p2 == 0x01)
				tlv_put(out, 0x84, aid, 16);
			return EU_OK;
		}
		break;
	}
	if (app == APP_FS || (app == APP_NONE && !gp && fs_ins(a->ins))) {
		/* an ISO instruction in the proprietary class is a class error; an instruction the card does
		 * not know at all (GET IDENTITY, SUSPEND UICC, ...) is an instruction error */
		if (gp && (a->ins == 0xCB || a->ins == 0xDB) && app == APP_FS)
			return file_command(c, ch, a, out); /* RETRIEVE DATA / SET DATA (TS 102 221 11.3) */
		if (gp)
			return fs_ins(a->ins) || a->ins == 0xA4 ? EU_CLA : EU_INS;
		return file_command(c, ch, a, out);
	}
	if (app == APP_ISDR)
		return isdr_command(c, a, CTX_CONTACT, out);
	if (app == APP_ECASD)
		return ecasd_command(c, a, CTX_CONTACT, out);
	if (app >= APP_ISDP0)
		return EU_SECURITY; /* ISD-Ps take no plain contact commands */
	return EU_INS;
}

/* an answer that is a status word alone */
static size_t sw_only(uint8_t *r, eu_status st)
{
	uint16_t sw = euicc_sw_of(st);
	r[0] = (uint8_t)(sw >> 8);
	r[1] = (uint8_t)sw;
	return 2;
}

size_t euicc_transmit(euicc_card *c, const uint8_t *in, size_t len, uint8_t *r)
{
	capdu a;
	abuf out = ABUF_INIT;
	size_t n;
	if (!c->powered) {
		return sw_only(r, EU_TECHNICAL);
	}
	apdu_err pe = capdu_parse(in, len, &a);
	if (pe) {
		euicc_trace_hex(c, "C-APDU (malformed)", in, len);
		return sw_only(r, EU_WRONG_LENGTH);
	}
	euicc_trace_hex(c, "C-APDU", in, len);
	if (a.cla == 0xFF) {
		return sw_only(r, EU_CLA);
	}
	if (c->t0_strict) {
		/* T=0 (ISO 7816-3 12.2): no extended length; a case-4 command carries no Le, its data waits
		 * behind 61xx (9Fxx in the GSM class) */
		if (a.cse == APDU_CASE_2E || a.cse == APDU_CASE_3E || a.cse == APDU_CASE_4E) {
			return sw_only(r, EU_WRONG_LENGTH);
		}
		if (a.cse == APDU_CASE_4S)
			a.le = 0;
	}
	int ch = (a.cla & 0x40) ? 4 + (a.cla & 0x0F) : (a.cla & 0x03);
	if (ch >= EUICC_CHANNELS || !c->channel_open[ch]) {
		return sw_only(r, EU_CHANNEL);
	}
	/* GET RESPONSE in the class of the command that left the data (00, 80 after an ENVELOPE, as pySim
	 * and modems send it) */
	if (a.ins == 0xC0 && ((a.cla & 0xF0) != 0xA0 || a.cla == 0xA0)) {
		n = get_response(c, &a, r);
		euicc_trace_hex(c, "R-APDU", r, n);
		return n;
	}
	c->pending_len = 0;
	bool ro = read_only(&a);
	size_t proactive_before = c->cat.n_proactive;
	if (!ro)
		txn_begin(c);
	int rec_was = c->fs.rec[ch], gsm_rec_was = c->fs.gsm_rec;
	eu_status st = dispatch(c, &a, ch, &out);
	if (out.err)
		st = EU_TECHNICAL;
	if (c->t0_strict && a.cse == APDU_CASE_2S && a.ins != 0x12 && (st == EU_OK || st == EU_END_OF_FILE) &&
	    out.len && out.len != a.le && !(a.cla == 0xA0 && out.len > a.le)) {
		/* T=0: P3 is not the length there is: 6Cxx tells it, and nothing moved (the record pointer
		 * is put back; the command is sent again with the right P3) */
		c->fs.rec[ch] = rec_was;
		c->fs.gsm_rec = gsm_rec_was;
		size_t have = out.len;
		abuf_free(&out);
		r[0] = 0x6C;
		r[1] = (uint8_t)(have >= 256 ? 0 : have);
		euicc_trace_hex(c, "R-APDU", r, 2);
		return 2;
	}
	cat_flush_refresh(c);
	if (!ro)
		st = txn_end(c, st, &out, proactive_before);
	n = finish(c, &a, st, &out, r);
	euicc_trace_hex(c, "R-APDU", r, n);
	abuf_free(&out);
	return n;
}
