/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR functions of SGP.02 (core.h): each connects to the eUICC at its endpoint, sends its ES5
 * commands (and the SM-DP's ES8 ones for a download), settles the store and fills the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apdu/crypto.h"
#include "apdu/hex.h"
#include "apdu/proto.h"
#include "host/pki.h"
#include "host/profile.h"
#include "host/smdp.h"
#include "core.h"

typedef struct {
	struct timespec t0;
	unsigned apdus0;
	bool was_connected;
} op_clock;

static void op_begin(smsr_core *x, smsr_result *r, const char *op, op_clock *c)
{
	smsr_result_init(r);
	snprintf(r->op, sizeof(r->op), "%s", op);
	x->r = r;
	clock_gettime(CLOCK_MONOTONIC, &c->t0);
	c->was_connected = x->connected;
	c->apdus0 = x->connected ? x->h.apdus : 0;
}

static int op_end(smsr_core *x, smsr_result *r, const op_clock *c, int rc)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->ms = (double)(t1.tv_sec - c->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - c->t0.tv_nsec) / 1e6;
	if (x->connected)
		r->apdus = x->h.apdus - (c->was_connected ? c->apdus0 : 0);
	if (!rc)
		r->kind = SMSR_DONE;
	else if (r->kind == SMSR_DONE)
		r->kind = SMSR_INTERNAL;
	if (x->st && r->eid[0])
		store_log(x->st, r->op, r->eid, rc ? smsr_kind_name(r->kind) : "ok");
	x->r = NULL;
	return rc;
}

static void settle(smsr_core *x, smsr_result *r)
{
	smsr_kind k = r->kind;
	char msg[sizeof(r->msg)];
	memcpy(msg, r->msg, sizeof(msg));
	if (!smsr_audit(x)) {
		json_decref(r->isdps);
		r->isdps = store_isdps(x->st, x->eid);
	}
	/* an audit after a failure does not replace what failed */
	r->kind = k;
	memcpy(r->msg, msg, sizeof(msg));
}

/* the SM-DP's PKI, read once per core (a campaign worker downloads thousands of times) */
static const bench_pki *core_pki(smsr_core *x)
{
	char dir[1024], why[1200];
	if (x->have_pki)
		return &x->pki;
	if (pki_load_or_create(x->pki_dir ? x->pki_dir : pki_default_dir(dir, sizeof(dir)), &x->pki, why,
			       sizeof(why))) {
		smsr_err(x, SMSR_INTERNAL, "test PKI: %s", why);
		return NULL;
	}
	x->have_pki = true;
	return &x->pki;
}

/* A download's outcome in the store as one commit: the ISD-P's keys (synced before anything else is sent),
 * its state and, for a profile of the SM-DP's inventory (inv), that profile installed. Three commits
 * before, each writing the pages the others write again. */
static void download_done(smsr_core *x, const char *aid, const char *iccid, const char *inv)
{
	bool txn = !store_begin(x->st);
	for (int pass = txn ? 0 : 1; pass < 2; pass++) {
		if (x->h.have_scp03_key)
			store_isdp_keys(x->st, x->eid, aid, x->h.scp03_key, x->h.scp03_kvn);
		store_isdp_put(x->st, x->eid, aid, iccid, "disabled", 0, 0);
		if (inv)
			store_smdp_set(x->st, inv, "installed", x->eid);
		if (pass == 1 || !store_commit(x->st))
			break;
		store_rollback(x->st); /* the commit failed: each write on its own */
	}
	crypto_wipe(x->h.scp03_key, 16);
}

static int download(smsr_core *x, const char *eid, const uint8_t *pkg, size_t len, const char *inv, smsr_result *r)
{
	char why[600];
	json_t *d = profile_describe(pkg, len, false, why, sizeof(why));
	if (!d)
		return smsr_err(x, SMSR_BAD_INPUT, "not a profile package: %s", why);
	snprintf(r->iccid, sizeof(r->iccid), "%s", json_string_value(json_object_get(d, "iccid")));
	json_decref(d);
	if (smsr_connect(x, eid))
		return -1;
	char aid[33], hex[300], have_aid[33], have_iccid[21];
	/* one ICCID, one ISD-P: the card refuses a second one too, this saves the packets */
	if (!store_isdp_find(x->st, x->eid, r->iccid, have_aid, have_iccid) && !strcmp(have_iccid, r->iccid))
		return smsr_err(x, SMSR_CONFLICT, "download: ICCID %s is already installed in ISD-P %s of eUICC %s",
				r->iccid, have_aid, x->eid);
	store_next_aid(x->st, x->eid, aid);
	snprintf(r->aid, sizeof(r->aid), "%s", aid);
	snprintf(hex, sizeof(hex),
		 "80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0010%"
		 "s0380C00006C9048102037000",
		 aid);
	uint16_t sw = smsr_es5(x, hex, NULL);
	if (sw != 0x9000) {
		if (!sw)
			return smsr_err(x, r->kind, "CreateISDP: %.1000s", r->msg);
		r->sw = sw;
		return smsr_err(x, SMSR_REFUSED, "CreateISDP refused with %04x%s", sw,
				sw == 0x6A84 ? " (not enough memory: the card holds 4 profiles)" : "");
	}
	store_isdp_put(x->st, x->eid, aid, NULL, "selectable", 0, 0);
	smsr_note(x, "ISD-P %s created", aid);
	const bench_pki *pki = core_pki(x);
	if (!pki)
		return -1;
	json_t *eis = store_eis(x->st, x->eid);
	uint8_t aidb[16];
	if (hex_decode_exact(aid, aidb, 16)) {
		json_decref(eis);
		return smsr_err(x, SMSR_INTERNAL, "the store names ISD-P '%s', which is not a 16-byte AID", aid);
	}
	x->h.progress = x->progress;
	x->h.progress_ctx = x->progress_ctx;
	x->h.have_scp03_key = false;
	int rc = smdp_download(&x->h, pki, eis, aidb, pkg, len, PROTO_SCP03T_SEGMENT);
	x->h.progress = NULL;
	json_decref(eis);
	if (rc && x->h.have_scp03_key) {
		store_isdp_keys(x->st, x->eid, aid, x->h.scp03_key, x->h.scp03_kvn);
		crypto_wipe(x->h.scp03_key, 16);
	}
	if (rc) {
		/* the card keeps no half profile; the empty ISD-P goes too (or is settled by the next audit) */
		char reason[600];
		snprintf(reason, sizeof(reason), "%s", x->h.log.len ? (const char *)x->h.log.p : "transport failure");
		char del[100];
		snprintf(del, sizeof(del), "80E40000124F10%s", aid);
		if (smsr_es5(x, del, NULL) == 0x9000)
			store_isdp_delete(x->st, x->eid, aid);
		else
			store_isdp_state(x->st, x->eid, aid, "unknown");
		bool transport = !x->h.have_por && strstr(reason, "transport");
		return smsr_err(x, transport ? SMSR_TRANSPORT : SMSR_REFUSED, "download failed: %s", reason);
	}
	download_done(x, aid, r->iccid, inv);
	r->sw = 0x9000;
	return 0;
}

int smsr_download_profile(smsr_core *x, const char *eid, const uint8_t *pkg, size_t len, smsr_result *r)
{
	op_clock c;
	op_begin(x, r, "download", &c);
	return op_end(x, r, &c, download(x, eid, pkg, len, NULL, r));
}

/* enable / disable / delete / set-fallback / set-emergency / set-pol1 */
static int target_op(smsr_core *x, const char *what, const char *eid, const char *target, int pol1, smsr_result *r)
{
	if (smsr_connect(x, eid))
		return -1;
	char aid[33], iccid[21], hex[120];
	if (store_isdp_find(x->st, x->eid, target, aid, iccid)) {
		/* perhaps the store is behind the card */
		if (smsr_audit(x) || store_isdp_find(x->st, x->eid, target, aid, iccid))
			return smsr_err(x, SMSR_NOT_FOUND, "%s: no ISD-P with AID or ICCID %s on eUICC %s", what,
					target, x->eid);
	}
	snprintf(r->aid, sizeof(r->aid), "%s", aid);
	snprintf(r->iccid, sizeof(r->iccid), "%s", iccid);
	if (!strcmp(what, "delete"))
		snprintf(hex, sizeof(hex), "80E40000124F10%s", aid);
	else if (!strcmp(what, "set-pol1"))
		snprintf(hex, sizeof(hex), "80E2880018%04x154F10%s8001%02x", PROTO_DGI_SET_POL1, aid, pol1);
	else {
		uint16_t tag = !strcmp(what, "enable")	? PROTO_DGI_ENABLE
			: !strcmp(what, "disable")	? PROTO_DGI_DISABLE
			: !strcmp(what, "set-fallback") ? PROTO_DGI_SET_FALLBACK
							: PROTO_DGI_SET_EMERGENCY;
		snprintf(hex, sizeof(hex), "80E2880015%04x124F10%s", tag, aid);
	}
	uint16_t sw = smsr_es5(x, hex, NULL);
	r->sw = sw;
	if (sw != 0x9000) {
		if (!sw) {
			store_isdp_state(x->st, x->eid, aid, "unknown");
			return smsr_err(x, r->kind, "%s %s: %.900s (marked unknown; `smsr audit` settles it)", what,
					aid, r->msg);
		}
		const char *why = sw == 0x69E1 ? "the profile's POL1 forbids it"
			: sw == 0x6985	       ? "conditions not satisfied (state, fall-back rule)"
			: sw == 0x6A88	       ? "the card has no such ISD-P"
					       : "refused";
		smsr_err(x, SMSR_REFUSED, "%s %s: the card answered %04x: %s", what, iccid[0] ? iccid : aid, sw, why);
		settle(x, r);
		return -1;
	}
	settle(x, r);
	return 0;
}

static int run_target(smsr_core *x, const char *what, const char *eid, const char *target, int pol1, smsr_result *r)
{
	op_clock c;
	op_begin(x, r, what, &c);
	return op_end(x, r, &c, target_op(x, what, eid, target, pol1, r));
}

bool smsr_profile_op_known(const char *what)
{
	static const char *const ops[] = { "enable",	    "disable",	"delete", "set-fallback",
					   "set-emergency", "set-pol1", NULL };
	for (size_t i = 0; ops[i]; i++)
		if (!strcmp(what, ops[i]))
			return true;
	return false;
}

int smsr_profile_op(smsr_core *x, const char *what, const char *eid, const char *target, int pol1, smsr_result *r)
{
	if (!strcmp(what, "set-pol1"))
		return smsr_update_policy_rules(x, eid, target, pol1, r);
	if (!smsr_profile_op_known(what)) {
		op_clock c;
		op_begin(x, r, what, &c);
		return op_end(x, r, &c, smsr_err(x, SMSR_BAD_INPUT, "'%s' is not an operation on a profile", what));
	}
	return run_target(x, what, eid, target, 0, r);
}

int smsr_enable_profile(smsr_core *x, const char *eid, const char *target, smsr_result *r)
{
	return run_target(x, "enable", eid, target, 0, r);
}

int smsr_disable_profile(smsr_core *x, const char *eid, const char *target, smsr_result *r)
{
	return run_target(x, "disable", eid, target, 0, r);
}

int smsr_delete_profile(smsr_core *x, const char *eid, const char *target, smsr_result *r)
{
	return run_target(x, "delete", eid, target, 0, r);
}

int smsr_set_fallback_attribute(smsr_core *x, const char *eid, const char *target, smsr_result *r)
{
	return run_target(x, "set-fallback", eid, target, 0, r);
}

int smsr_set_emergency_attribute(smsr_core *x, const char *eid, const char *target, smsr_result *r)
{
	return run_target(x, "set-emergency", eid, target, 0, r);
}

int smsr_update_policy_rules(smsr_core *x, const char *eid, const char *target, int pol1, smsr_result *r)
{
	if (pol1 < 0 || pol1 > 7) {
		op_clock c;
		op_begin(x, r, "set-pol1", &c);
		return op_end(x, r, &c, smsr_err(x, SMSR_BAD_INPUT, "set-pol1: BITS %d is not 00..07", pol1));
	}
	return run_target(x, "set-pol1", eid, target, pol1, r);
}

static int connectivity(smsr_core *x, const char *eid, const char *d, smsr_result *r)
{
	size_t nd = strlen(d);
	if (!nd || nd > 20 || strspn(d, "0123456789") != nd)
		return smsr_err(x, SMSR_BAD_INPUT, "update-connectivity: SMSC '%s' is not 1 to 20 digits", d);
	if (smsr_connect(x, eid))
		return -1;
	/* STORE DATA 3A07 { A0 { 06 L <TON/NPI 91> <BCD digits> } } */
	char bcd[24] = "", hex[160];
	for (size_t i = 0; i < nd; i += 2)
		snprintf(bcd + strlen(bcd), sizeof(bcd) - strlen(bcd), "%c%c", i + 1 < nd ? d[i + 1] : 'f', d[i]);
	size_t l6 = 1 + (nd + 1) / 2;
	snprintf(hex, sizeof(hex), "80E28800%02zx3A07%02zxA0%02zx06%02zx91%s", l6 + 7, l6 + 4, l6 + 2, l6, bcd);
	uint16_t sw = smsr_es5(x, hex, NULL);
	r->sw = sw;
	if (sw != 0x9000) {
		if (!sw)
			return smsr_err(x, r->kind, "update-connectivity: %.1000s", r->msg);
		return smsr_err(x, SMSR_REFUSED, "update-connectivity: the card refused it (is a profile enabled?)");
	}
	return 0;
}

int smsr_update_connectivity_parameters(smsr_core *x, const char *eid, const char *smsc, smsr_result *r)
{
	op_clock c;
	op_begin(x, r, "update-connectivity", &c);
	return op_end(x, r, &c, connectivity(x, eid, smsc, r));
}

static int audit_op(smsr_core *x, const char *eid, smsr_result *r)
{
	if (smsr_connect(x, eid))
		return -1;
	/* AuditEIS asked for: what the store did not know is reported (the audits that settle an
	 * operation's outcome are how the store learns it, and report nothing) */
	x->audit_reports = true;
	int rc = smsr_audit(x);
	x->audit_reports = false;
	if (rc)
		return -1;
	r->isdps = store_isdps(x->st, x->eid);
	return 0;
}

int smsr_audit_eis(smsr_core *x, const char *eid, smsr_result *r)
{
	op_clock c;
	op_begin(x, r, "audit", &c);
	return op_end(x, r, &c, audit_op(x, eid, r));
}

int smsr_handle_notifications_of(smsr_core *x, const char *eid, smsr_result *r)
{
	op_clock c;
	op_begin(x, r, "notifications", &c);
	return op_end(x, r, &c, smsr_connect(x, eid));
}

static int loss(smsr_core *x, const char *eid, smsr_result *r)
{
	if (smsr_connect(x, eid))
		return -1;
	unsigned refresh0 = x->h.refreshes;
	int events = 0;
	for (; events < 10 && x->h.refreshes == refresh0; events++) {
		dev_location(&x->h, 0x02);
		smsr_handle_notifications(x);
	}
	bool switched = x->h.refreshes != refresh0;
	settle(x, r);
	if (!switched)
		return smsr_err(x, SMSR_REFUSED,
				"no fall-back after %d 'no service' events (is a fall-back profile set and disabled?)",
				events);
	smsr_note(x, "%d 'no service' events: the card switched to its fall-back profile", events);
	return 0;
}

int smsr_connectivity_loss(smsr_core *x, const char *eid, smsr_result *r)
{
	op_clock c;
	op_begin(x, r, "connectivity-loss", &c);
	return op_end(x, r, &c, loss(x, eid, r));
}

int smsr_kek(smsr_core *x, bool create, uint8_t kek[32], char *why, size_t why_len)
{
	char path[4200];
	if (x->kek_path) {
		snprintf(path, sizeof(path), "%s", x->kek_path);
		create = false; /* a key named by the user is never made up */
	} else if (x->db_path) {
		const char *slash = strrchr(x->db_path, '/');
		snprintf(path, sizeof(path), "%.*s%ssmdp.kek", slash ? (int)(slash - x->db_path) : 0, x->db_path,
			 slash ? "/" : "");
	} else {
		bench_data_path(path, sizeof(path), "smdp.kek");
	}
	return inventory_kek_load(path, create, kek, why, why_len);
}

static bool card_has_iccid(smsr_core *x, const char *iccid)
{
	char aid[33], have[21];
	return !store_isdp_find(x->st, x->eid, iccid, aid, have) && !strcmp(have, iccid);
}

static int inventory_download(smsr_core *x, const char *eid, const char *iccid, const char *pool, long long job,
			      smsr_result *r)
{
	char why[1200], got[21], e[33];
	uint8_t kek[32];
	if (smsr_core_open(x, why, sizeof(why)))
		return smsr_err(x, SMSR_INTERNAL, "%s", why);
	if (smsr_resolve_eid(x, eid, e, why, sizeof(why)))
		return smsr_err(x, SMSR_NOT_FOUND, "%s", why);
	snprintf(r->eid, sizeof(r->eid), "%s", e);
	if (smsr_kek(x, false, kek, why, sizeof(why)))
		return smsr_err(x, SMSR_INTERNAL, "SM-DP: %s", why);
	/* the inventory first: a wrong key or a tampered row is refused before the card hears anything */
	if (store_smdp_reserve(x->st, iccid, pool, e, job, got, why, sizeof(why))) {
		crypto_wipe(kek, sizeof(kek));
		bool absent = iccid && strstr(why, "not in the");
		return smsr_err(x, absent ? SMSR_NOT_FOUND : SMSR_CONFLICT, "SM-DP: %s", why);
	}
	snprintf(r->iccid, sizeof(r->iccid), "%s", got);
	abuf pkg = ABUF_INIT;
	int rc = store_smdp_open(x->st, kek, got, &pkg, why, sizeof(why));
	crypto_wipe(kek, sizeof(kek));
	if (rc) {
		store_smdp_set(x->st, got, "available", NULL);
		abuf_free(&pkg);
		return smsr_err(x, SMSR_SECURITY, "SM-DP: %s", why);
	}
	smsr_note(x, "SM-DP: profile %s reserved for eUICC %s", got, e);
	rc = download(x, e, pkg.p, pkg.len, got, r);
	crypto_wipe(pkg.p, pkg.len);
	abuf_free(&pkg);
	if (rc) {
		/* the profile goes back to the pool unless the card has it after all */
		smsr_kind k = r->kind;
		char msg[sizeof(r->msg)];
		memcpy(msg, r->msg, sizeof(msg));
		bool known = x->connected && (k != SMSR_TRANSPORT || !smsr_audit(x));
		if (!x->connected || (known && !card_has_iccid(x, got)))
			store_smdp_set(x->st, got, "available", NULL);
		else if (known)
			store_smdp_set(x->st, got, "installed", x->eid);
		r->kind = k;
		memcpy(r->msg, msg, sizeof(msg));
		return -1;
	}
	return 0; /* installed in the inventory with the download's outcome (download_done) */
}

int smsr_download_from_inventory(smsr_core *x, const char *eid, const char *iccid, const char *pool, long long job,
				 smsr_result *r)
{
	op_clock c;
	op_begin(x, r, "download", &c);
	return op_end(x, r, &c, inventory_download(x, eid, iccid, pool, job, r));
}
