/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SM-SR core: one function per SGP.02 SM-SR function, over the store and an EID. Nothing is printed
 * here: each call fills an smsr_result that the command line, the shell, campaigns, rules and the API
 * present as they like. */
#ifndef SMSR_CORE_H
#define SMSR_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "apdu/buf.h"
#include "host/adapter.h"
#include "host/capture.h"
#include "host/link.h"
#include "host/pki.h"
#include "store.h"

/* why an operation did not end as asked */
typedef enum {
	SMSR_DONE = 0,
	SMSR_REFUSED,	/* the card answered with a status word that refuses it (POL1, memory, state) */
	SMSR_TRANSPORT, /* no answer, or no PoR: the endpoint cannot be reached (retryable) */
	SMSR_TIMEOUT,	/* the job's validity ran out (campaigns) */
	SMSR_SECURITY,	/* a PoR that refuses the packet (keys, counter), a foreign certificate */
	SMSR_NOT_FOUND, /* no such eUICC, ISD-P, ICCID or pool profile */
	SMSR_CONFLICT,	/* the stored state forbids it (an ICCID already installed, a pool exhausted) */
	SMSR_INTERNAL,	/* the store or this program failed */
	SMSR_BAD_INPUT, /* an argument is wrong (named in msg) */
} smsr_kind;

const char *smsr_kind_name(smsr_kind k);

typedef struct {
	smsr_kind kind;
	char op[40];
	char eid[33], aid[33], iccid[21];
	int por;		/* PoR status of the last packet, -1 when none came */
	uint16_t sw;		/* the status word of the operation's command, 0 when none */
	unsigned notifications; /* handled (stored and confirmed) during the operation */
	unsigned apdus;
	double ms;
	json_t *events; /* what happened on the way (resyncs, notifications, leftovers deleted): strings */
	json_t *isdps;	/* the ISD-Ps after, as the store has them once settled; NULL when not read */
	char msg[1024]; /* on failure: what failed and why */
	bool usage;	/* the failure is the caller's: no endpoint and no --reader/--inproc (exit 2) */
} smsr_result;

void smsr_result_init(smsr_result *r);
void smsr_result_free(smsr_result *r);
/* the result as one JSON object (eid, operation, outcome, kind, message, por, sw, ...) */
json_t *smsr_result_json(const smsr_result *r);

typedef struct {
	/* where the store is (NULL: the default) and optional one-off endpoints (else the fleet's) */
	const char *db_path;
	const char *reader;
	const char *inproc;
	dev_trace_fn trace; /* each step decoded (NULL: none) */
	void *trace_ctx;
	void (*progress)(void *ctx, size_t done, size_t total); /* download progress (NULL: none) */
	void *progress_ctx;
	const char *pki_dir;  /* the test PKI (NULL: the default) */
	const char *kek_path; /* the SM-DP inventory's key-encryption key (NULL: smdp.kek beside the store) */
	capture *cap;	      /* every exchange with a card captured (NULL: none; shared by workers) */
	capture_tap tap;
	smsr_store *st;
	smsr_link *link;
	dev_host h;
	bool connected;
	bool audit_reports; /* smsr_audit reports mismatches as events (AuditEIS) */
	char eid[33];
	bench_pki pki; /* the SM-DP's PKI once a download read it */
	bool have_pki;
	smsr_result *r; /* the operation under way */
	smsr_result scratch;
} smsr_core;

int smsr_core_open(smsr_core *x, char *why, size_t why_len);
void smsr_core_close(smsr_core *x);
void smsr_disconnect(smsr_core *x);

/* ES3/ES2 DownloadProfile: CreateISDP, key establishment (SM-DP), SCP03t download of pkg */
int smsr_download_profile(smsr_core *x, const char *eid, const uint8_t *pkg, size_t len, smsr_result *r);
/* The same with a profile of the SM-DP's inventory: iccid, or the first available of pool; reserved for
 * the eUICC (and job, 0 none) before anything is sent, installed after, back to available when the card
 * surely does not have it, left reserved when that is unknown (an audit settles it) */
int smsr_download_from_inventory(smsr_core *x, const char *eid, const char *iccid, const char *pool, long long job,
				 smsr_result *r);
/* the inventory's key-encryption key (created 0600 beside the store on first use unless kek_path) */
int smsr_kek(smsr_core *x, bool create, uint8_t kek[32], char *why, size_t why_len);
/* ES4 EnableProfile, DisableProfile, DeleteProfile, SetFallBackAttribute, SetEmergencyProfileAttribute:
 * target is an ISD-P AID or an ICCID */
int smsr_enable_profile(smsr_core *x, const char *eid, const char *target, smsr_result *r);
int smsr_disable_profile(smsr_core *x, const char *eid, const char *target, smsr_result *r);
int smsr_delete_profile(smsr_core *x, const char *eid, const char *target, smsr_result *r);
int smsr_set_fallback_attribute(smsr_core *x, const char *eid, const char *target, smsr_result *r);
int smsr_set_emergency_attribute(smsr_core *x, const char *eid, const char *target, smsr_result *r);
/* ES4 UpdatePolicyRules (POL1 bits 00..07) */
int smsr_update_policy_rules(smsr_core *x, const char *eid, const char *target, int pol1, smsr_result *r);
/* ES4 UpdateConnectivityParameters: the SMS centre of the enabled profile (1..20 digits) */
int smsr_update_connectivity_parameters(smsr_core *x, const char *eid, const char *smsc, smsr_result *r);
/* ES4 AuditEIS: the ISD-Ps read from the card, the store settled */
int smsr_audit_eis(smsr_core *x, const char *eid, smsr_result *r);
/* HandleNotification: attaches, stores and confirms what the card has pending */
int smsr_handle_notifications_of(smsr_core *x, const char *eid, smsr_result *r);
/* the bench's connectivity loss: 'no service' until the card falls back */
int smsr_connectivity_loss(smsr_core *x, const char *eid, smsr_result *r);
/* one of the operations on a profile by its name: enable, disable, delete, set-fallback,
 * set-emergency, set-pol1 (pol1 used only by set-pol1); the names the CLI and campaigns use */
bool smsr_profile_op_known(const char *what);
int smsr_profile_op(smsr_core *x, const char *what, const char *eid, const char *target, int pol1, smsr_result *r);

/* below the operations (core.c): the connection, one ES5 command, notifications, the audit */
/* the registered EID for eid (NULL: the only one), without a lookup for the card already connected */
int smsr_resolve_eid(smsr_core *x, const char *eid, char out[33], char *why, size_t why_len);
int smsr_connect(smsr_core *x, const char *eid);
uint16_t smsr_es5(smsr_core *x, const char *apdu_hex, abuf *out);
void smsr_handle_notifications(smsr_core *x);
int smsr_audit(smsr_core *x);
/* a failure of the operation under way: kind and message kept in x->r; returns -1 */
int smsr_err(smsr_core *x, smsr_kind k, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void smsr_note(smsr_core *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the name the rules engine gives a notification type (docs/rules.md) */
const char *smsr_notif_key(unsigned t);
const char *smsr_notif_name(unsigned t);

#endif
