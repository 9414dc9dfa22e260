/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ISD-R (ES5, docs/protocol.md §2) and ECASD commands. */
#include <string.h>

#include "apdu/tlv.h"
#include "euicc_int.h"

static const uint8_t isdp_prefix[PROTO_AID_ISDP_PREFIX_LEN] = PROTO_AID_ISDP_PREFIX;
static const uint8_t elf_aid[16] = PROTO_AID_ISDP_ELF;
static const uint8_t module_aid[16] = PROTO_AID_ISDP_MODULE;

#define DEFAULT_NVM_GRANT 0x8000 /* bytes reserved for an ISD-P without an 'EF' { 83 } request */
#define TOTAL_NVM	  (EUICC_MAX_PROFILES * EUICC_MAX_PACKAGE)

/* Enables profile `to` (disabling the enabled one in the same step) and asks the terminal to refresh. */
static void switch_profile(euicc_card *c, int from, int to, uint8_t notif_type)
{
	nvm_profile *p = c->nvm.profiles;
	if (from >= 0) {
		p[from].state = PROTO_ISDP_DISABLED;
		if (p[from].pol1 & POL1_DELETE_WHEN_DISABLED && notif_type != PROTO_NOTIF_FALLBACK) {
			euicc_tracef(c, "POL1: profile deleted when disabled");
			memset(&p[from], 0, sizeof(p[from]));
		}
	}
	if (to >= 0)
		p[to].state = PROTO_ISDP_ENABLED;
	c->cat.switch_from = from;
	c->cat.switch_to = to;
	c->cat.noservice_count = 0;
	euicc_queue_notification(c, notif_type, to >= 0 ? p[to].aid : p[from].aid);
	euicc_want_refresh(c);
}

eu_status isdr_fallback_switch(euicc_card *c)
{
	int en = euicc_enabled_profile(c), fb = -1;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++)
		if (c->nvm.profiles[i].used && c->nvm.profiles[i].fallback)
			fb = i;
	if (fb < 0 || en == fb || c->nvm.profiles[fb].state != PROTO_ISDP_DISABLED)
		return EU_CONDITIONS;
	euicc_tracef(c, "fall-back: switching to the fall-back profile (POL1 ignored)");
	switch_profile(c, en, fb, PROTO_NOTIF_FALLBACK);
	return EU_OK;
}

/* INSTALL [for install and make selectable] (CreateISDP) and INSTALL [for personalization] */
static eu_status install(euicc_card *c, const capdu *a)
{
	acur cur = acur_make(a->data, a->lc);
	const uint8_t *elf, *mod, *inst, *priv, *params, *token;
	uint8_t l_elf, l_mod, l_inst, l_priv, l_params, l_token;
	if (acur_u8(&cur, &l_elf) || acur_take(&cur, l_elf, &elf) || acur_u8(&cur, &l_mod) ||
	    acur_take(&cur, l_mod, &mod) || acur_u8(&cur, &l_inst) || acur_take(&cur, l_inst, &inst))
		return EU_WRONG_DATA;
	if (a->p1 == 0x20) {
		/* GP 11.5.2.3: INSTALL [for personalization] names the application in the third field */
		int i = euicc_find_profile(c, inst, l_inst);
		if (i < 0)
			return EU_NOT_FOUND;
		if (c->nvm.profiles[i].state < PROTO_ISDP_SELECTABLE)
			return EU_CONDITIONS;
		c->es8.perso_target = i;
		euicc_tracef(c, "INSTALL [for personalization]: STORE DATA now goes to ISD-P %d", i);
		return EU_OK;
	}
	if (a->p1 != 0x0C)
		return EU_WRONG_P1P2;
	if (acur_u8(&cur, &l_priv) || acur_take(&cur, l_priv, &priv) || acur_u8(&cur, &l_params) ||
	    acur_take(&cur, l_params, &params) || acur_u8(&cur, &l_token) || acur_take(&cur, l_token, &token))
		return EU_WRONG_DATA;
	if (cur.len)
		return EU_WRONG_DATA;
	if (l_elf != 16 || memcmp(elf, elf_aid, 16) || l_mod != 16 || memcmp(mod, module_aid, 16))
		return EU_NOT_FOUND;
	if (l_inst != 16 || memcmp(inst, isdp_prefix, 13) || inst[15] != 0x00)
		return EU_WRONG_DATA;
	if (l_priv != 3 || priv[0] != 0x80 || priv[1] != 0xC0)
		return EU_WRONG_DATA; /* security domain, trusted path, authorized management */
	if (euicc_find_profile(c, inst, 16) >= 0 || !memcmp(inst + 13, "\x00\x01\x00", 3) ||
	    !memcmp(inst + 13, "\x00\x02\x00", 3))
		return EU_CONDITIONS; /* an application with this AID exists */
	/* install parameters: C9 { 81 02 03 70 ... } SCP03 i=70, optional EF { 83 02 <bytes> } */
	uint16_t grant = DEFAULT_NVM_GRANT;
	tlv t;
	acur pc = acur_make(params, l_params);
	bool have_c9 = false;
	while (pc.len) {
		if (tlv_next(&pc, &t))
			return EU_WRONG_DATA;
		if (t.tag == 0xC9)
			have_c9 = true;
		if (t.tag == 0xEF) {
			tlv q;
			if (!tlv_find(t.value, t.len, 0x83, &q)) {
				if (q.len != 2)
					return EU_WRONG_DATA;
				grant = (uint16_t)((q.value[0] << 8) | q.value[1]);
			}
		}
	}
	if (!have_c9)
		return EU_WRONG_DATA;
	int slot = -1;
	unsigned granted = 0;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
		if (!c->nvm.profiles[i].used && slot < 0)
			slot = i;
		if (c->nvm.profiles[i].used)
			granted += c->nvm.profiles[i].nvm_granted;
	}
	if (slot < 0 || grant > EUICC_MAX_PACKAGE || granted + grant > TOTAL_NVM)
		return EU_NO_MEMORY;
	euicc_profile_clear(c, slot);
	nvm_profile *p = &c->nvm.profiles[slot];
	p->used = true;
	memcpy(p->aid, inst, 16);
	p->state = PROTO_ISDP_SELECTABLE; /* INSTALLED and made selectable in one step */
	p->nvm_granted = grant;
	euicc_tracef(c, "CreateISDP: ISD-P %d created, SELECTABLE", slot);
	return EU_OK;
}

static int aid_arg(euicc_card *c, const uint8_t *v, size_t len, eu_status *st)
{
	tlv t;
	if (tlv_find(v, len, 0x4F, &t) || t.len != 16) {
		*st = EU_WRONG_DATA;
		return -1;
	}
	int i = euicc_find_profile(c, t.value, t.len);
	if (i < 0)
		*st = EU_NOT_FOUND;
	return i;
}

static eu_status enable_profile(euicc_card *c, int i)
{
	nvm_profile *p = &c->nvm.profiles[i];
	if (p->state == PROTO_ISDP_ENABLED || p->state != PROTO_ISDP_DISABLED)
		return EU_CONDITIONS;
	int en = euicc_enabled_profile(c);
	if (en >= 0 && (c->nvm.profiles[en].pol1 & POL1_DISABLE_NOT_ALLOWED))
		return EU_POL1;
	switch_profile(c, en, i, PROTO_NOTIF_CHANGE_OK);
	euicc_tracef(c, "EnableProfile: ISD-P %d enabled", i);
	return EU_OK;
}

static eu_status disable_profile(euicc_card *c, int i)
{
	nvm_profile *p = &c->nvm.profiles[i];
	if (p->state != PROTO_ISDP_ENABLED)
		return EU_CONDITIONS;
	if (p->pol1 & POL1_DISABLE_NOT_ALLOWED)
		return EU_POL1;
	if (p->fallback)
		return EU_CONDITIONS; /* the fall-back profile cannot be disabled */
	/* exactly one profile stays enabled: the fall-back profile takes over */
	int fb = -1;
	for (int k = 0; k < EUICC_MAX_PROFILES; k++)
		if (c->nvm.profiles[k].used && c->nvm.profiles[k].fallback &&
		    c->nvm.profiles[k].state == PROTO_ISDP_DISABLED)
			fb = k;
	if (fb < 0)
		return EU_CONDITIONS;
	switch_profile(c, i, fb, PROTO_NOTIF_CHANGE_OK);
	euicc_tracef(c, "DisableProfile: ISD-P %d disabled, fall-back ISD-P %d enabled", i, fb);
	return EU_OK;
}

static eu_status set_flag(euicc_card *c, int i, bool fallback)
{
	nvm_profile *p = &c->nvm.profiles[i];
	if (p->state != PROTO_ISDP_DISABLED && p->state != PROTO_ISDP_ENABLED)
		return EU_CONDITIONS;
	if (fallback ? p->emergency : p->fallback)
		return EU_CONDITIONS; /* emergency and fall-back never on the same profile */
	for (int k = 0; k < EUICC_MAX_PROFILES; k++) {
		if (fallback)
			c->nvm.profiles[k].fallback = false;
		else
			c->nvm.profiles[k].emergency = false;
	}
	if (fallback)
		p->fallback = true;
	else
		p->emergency = true;
	return EU_OK;
}

static eu_status confirm_notification(euicc_card *c, const uint8_t *v, size_t len)
{
	tlv t;
	if (tlv_find(v, len, 0x4E, &t) || t.len != 2)
		return EU_WRONG_DATA;
	uint16_t seq = (uint16_t)((t.value[0] << 8) | t.value[1]);
	for (int i = 0; i < EUICC_MAX_NOTIFS; i++) {
		nvm_notif *n = &c->nvm.notifs[i];
		if (n->used && n->seq == seq) {
			memset(n, 0, sizeof(*n));
			euicc_tracef(c, "notification %u confirmed", seq);
			return EU_OK;
		}
	}
	/* already confirmed: harmless; never issued: an error */
	return seq != 0 && seq < c->nvm.next_seq ? EU_OK : EU_NOT_FOUND;
}

static eu_status store_data(euicc_card *c, const capdu *a, abuf *out)
{
	if (c->es8.perso_target >= 0)
		return es8_store_data(c, c->es8.perso_target, a->data, a->lc, out);
	/* docs/protocol.md §2: P1 '88'/'89' (last block, DGI format, response expected or not) */
	if ((a->p1 & 0x88) != 0x88 || (a->p1 & 0x30) != 0x00)
		return EU_WRONG_P1P2;
	if (a->lc == 0)
		return EU_WRONG_LENGTH;
	acur cur = acur_make(a->data, a->lc);
	dgi d;
	if (dgi_next(&cur, &d) || cur.len)
		return EU_WRONG_DATA;
	eu_status st = EU_OK;
	int i;
	switch (d.tag) {
	case 0x3A03:
		if ((i = aid_arg(c, d.value, d.len, &st)) < 0)
			return st;
		return enable_profile(c, i);
	case 0x3A04:
		if ((i = aid_arg(c, d.value, d.len, &st)) < 0)
			return st;
		return disable_profile(c, i);
	case 0x3A05:
		if ((i = aid_arg(c, d.value, d.len, &st)) < 0)
			return st;
		return set_flag(c, i, true);
	case PROTO_DGI_SET_EMERGENCY:
		if ((i = aid_arg(c, d.value, d.len, &st)) < 0)
			return st;
		return set_flag(c, i, false);
	case 0x3A07: {
		/* A0 { 06 L <TON/NPI> <SMSC BCD> } for the enabled profile */
		tlv t0, t6;
		if (tlv_find(d.value, d.len, 0xA0, &t0) || tlv_find(t0.value, t0.len, 0x06, &t6) || t6.len < 2 ||
		    t6.len > sizeof(c->nvm.profiles[0].smsc))
			return EU_WRONG_DATA;
		int en = euicc_enabled_profile(c);
		if (en < 0)
			return EU_CONDITIONS;
		memcpy(c->nvm.profiles[en].smsc, t6.value, t6.len);
		c->nvm.profiles[en].smsc_len = (uint8_t)t6.len;
		return EU_OK;
	}
	case 0x3A08: return confirm_notification(c, d.value, d.len);
	case PROTO_DGI_SET_POL1: {
		tlv t;
		if ((i = aid_arg(c, d.value, d.len, &st)) < 0)
			return st;
		if (tlv_find(d.value, d.len, 0x80, &t) || t.len != 1 || (t.value[0] & ~0x07))
			return EU_WRONG_DATA;
		c->nvm.profiles[i].pol1 = t.value[0];
		return EU_OK;
	}
	}
	return EU_NOT_FOUND;
}

static eu_status delete_profile(euicc_card *c, const capdu *a)
{
	if (a->p1 != 0x00 || (a->p2 != 0x00 && a->p2 != 0x40 && a->p2 != 0x80))
		return EU_WRONG_P1P2;
	eu_status st = EU_OK;
	int i = aid_arg(c, a->data, a->lc, &st);
	if (i < 0)
		return st;
	nvm_profile *p = &c->nvm.profiles[i];
	if (p->state == PROTO_ISDP_ENABLED || p->fallback)
		return EU_CONDITIONS;
	if (p->pol1 & POL1_DELETE_NOT_ALLOWED)
		return EU_POL1;
	if (c->es8.perso_target == i)
		c->es8.perso_target = -1;
	if (c->es8.dl_target == i)
		es8_reset_session(c);
	euicc_profile_clear(c, i);
	euicc_tracef(c, "DeleteProfile: ISD-P %d deleted", i);
	return EU_OK;
}

static void isdp_entry(const nvm_profile *p, abuf *out)
{
	size_t m;
	tlv_begin(out, 0xE3, &m);
	tlv_put(out, 0x4F, p->aid, 16);
	tlv_put_u8(out, 0x9F70, p->state);
	tlv_put_u8(out, 0x53, (uint8_t)((p->fallback ? 0x01 : 0) | (p->emergency ? 0x02 : 0)));
	uint8_t g[2] = { (uint8_t)(p->nvm_granted >> 8), (uint8_t)p->nvm_granted };
	tlv_put(out, 0x8F, g, 2);
	uint32_t rem = p->nvm_granted > p->package_len ? p->nvm_granted - p->package_len : 0;
	uint8_t r[2] = { (uint8_t)(rem >> 8), (uint8_t)rem };
	tlv_put(out, 0x91, r, 2);
	if (p->has_iccid)
		tlv_put(out, 0x5A, p->iccid, 10);
	tlv_end(out, m);
}

static eu_status get_status(euicc_card *c, const capdu *a, abuf *out)
{
	if (a->p1 != 0x40 || (a->p2 != 0x00 && a->p2 != 0x02))
		return EU_WRONG_P1P2;
	/* search criteria: 4F 00 (all) or 4F <AID prefix> */
	tlv t;
	const uint8_t *prefix = NULL;
	size_t plen = 0;
	if (a->lc) {
		if (tlv_find(a->data, a->lc, 0x4F, &t))
			return EU_WRONG_DATA;
		prefix = t.value;
		plen = t.len;
	}
	size_t n = 0;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
		nvm_profile *p = &c->nvm.profiles[i];
		if (!p->used || (plen && (plen > 16 || memcmp(p->aid, prefix, plen))))
			continue;
		isdp_entry(p, out);
		n++;
	}
	return n ? EU_OK : EU_NOT_FOUND;
}

static void put_eid(euicc_card *c, abuf *out)
{
	tlv_put(out, 0x5A, c->nvm.eid, 16);
}

static eu_status get_data(euicc_card *c, const capdu *a, abuf *out, bool ecasd)
{
	uint16_t tag = (uint16_t)((a->p1 << 8) | a->p2);
	switch (tag) {
	case 0x005A: put_eid(c, out); return EU_OK;
	case 0x7F21:
		if (!ecasd)
			break;
		abuf_put(out, c->nvm.ecasd_cert, c->nvm.ecasd_cert_len);
		return EU_OK;
	case 0xFF21: {
		/* extended card resources: 81 applications, 82 free NVM, 83 free RAM */
		unsigned apps = 2, used = 0;
		for (int i = 0; i < EUICC_MAX_PROFILES; i++)
			if (c->nvm.profiles[i].used) {
				apps++;
				used += c->nvm.profiles[i].nvm_granted;
			}
		unsigned freem = TOTAL_NVM - used;
		size_t m;
		uint8_t f[3] = { (uint8_t)(freem >> 16), (uint8_t)(freem >> 8), (uint8_t)freem };
		uint8_t ram[2] = { 0x10, 0x00 };
		tlv_begin(out, 0xFF21, &m);
		tlv_put_u8(out, 0x81, (uint8_t)apps);
		tlv_put(out, 0x82, f, 3);
		tlv_put(out, 0x83, ram, 2);
		tlv_end(out, m);
		return EU_OK;
	}
	case 0xBF30: {
		/* 5C tag list: 7F21 (ECASD certificate), 66 (card recognition data) */
		tlv t;
		if (!a->lc || tlv_find(a->data, a->lc, 0x5C, &t))
			return EU_WRONG_DATA;
		size_t m;
		tlv_begin(out, 0xBF30, &m);
		for (size_t i = 0; i < t.len; i++) {
			if (t.value[i] == 0x7F && i + 1 < t.len && t.value[i + 1] == 0x21) {
				abuf_put(out, c->nvm.ecasd_cert, c->nvm.ecasd_cert_len);
				i++;
			} else if (t.value[i] == 0x66) {
				static const uint8_t crd[] = { 0x73, 0x0A, 0x06, 0x08, 0x2A, 0x86,
							       0x48, 0x86, 0xFC, 0x6B, 0x01, 0x01 };
				tlv_put(out, 0x66, crd, sizeof(crd));
			} else if (t.value[i] == 0x5A) {
				put_eid(c, out);
			} else {
				return EU_NOT_FOUND;
			}
		}
		tlv_end(out, m);
		return EU_OK;
	}
	}
	return EU_NOT_FOUND;
}

eu_status ecasd_command(euicc_card *c, const capdu *a, eu_context ctx, abuf *out)
{
	(void)ctx;
	if (a->ins == 0xCA || a->ins == 0xCB) {
		/* the EID and the certificate are public: readable on the contact interface */
		if ((a->cla & 0x80) == 0)
			return EU_CLA;
		return get_data(c, a, out, true);
	}
	return EU_INS;
}

eu_status isdr_command(euicc_card *c, const capdu *a, eu_context ctx, abuf *out)
{
	if ((a->cla & 0x80) == 0)
		return EU_CLA;
	/* management needs the secured (OTA) path; a device may still read the EID. GET DATA of a data
	 * object the ISD-R holds only for the SM-SR (FF21, BF30) is a security error on the contact
	 * interface; one it does not hold at all (66, E0, ...) is 6A88, as on the ECASD (GP: referenced
	 * data not found; docs/protocol-choices.md) */
	if (ctx == CTX_CONTACT && (a->ins == 0xCA || a->ins == 0xCB) && !(a->p1 == 0x00 && a->p2 == 0x5A)) {
		uint16_t tag = (uint16_t)((a->p1 << 8) | a->p2);
		return tag == 0xFF21 || tag == 0xBF30 ? EU_SECURITY : EU_NOT_FOUND;
	}
	if (ctx == CTX_CONTACT && !(a->ins == 0xCA && a->p1 == 0x00 && a->p2 == 0x5A))
		return a->ins == 0xE6 || a->ins == 0xE2 || a->ins == 0xE4 || a->ins == 0xF2 ? EU_SECURITY : EU_INS;
	switch (a->ins) {
	case 0xE6:
		if (!a->lc)
			return EU_WRONG_LENGTH;
		return install(c, a);
	case 0xE2: return store_data(c, a, out);
	case 0xE4:
		if (!a->lc)
			return EU_WRONG_LENGTH;
		return delete_profile(c, a);
	case 0xF2: return get_status(c, a, out);
	case 0xCA:
	case 0xCB: return get_data(c, a, out, false);
	}
	return EU_INS;
}
