/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Private declarations of libeuicc. */
#ifndef EUICC_INT_H
#define EUICC_INT_H

#include <stdarg.h>

#include "apdu/apdu.h"
#include "apdu/buf.h"
#include "apdu/drbg.h"
#include "apdu/scp03.h"
#include "apdu/scp80.h"
#include "apdu/sms.h"
#include "apdu/proto.h"
#include "euicc/policy.h"
#include "card_limits.h"
#include "cat_state.h"
#include "es8_state.h"
#include "fs_state.h"
#include "ota_state.h"
#include "euicc/euicc.h"

/* 2: the snapshot names a journal (STATE.journal) and may leave out a profile's files as installed;
 * a build that reads only version 1 would silently ignore both, so it refuses version 2 instead */
#define EUICC_NVM_VERSION 2
#define EUICC_NVM_OLDEST  1		    /* version-1 files load (no journal, files always present) */
#define NVM_FORMAT	  "euicc-bench-nvm" /* the document's "format" */

typedef struct {
	bool used;
	uint8_t kvn;		  /* key version: KIc/KID high nibble */
	uint8_t kic_alg, kid_alg; /* algorithm nibbles */
	uint8_t kic[32], kid[32];
	uint8_t key_len;
	uint8_t counter[5]; /* high-water mark: above every counter accepted (see ota.c) */
} nvm_keyset;

/* A PIN or PUK of a profile, from its pinCodes / pukCodes elements; the counters live here (NVM). */
typedef struct {
	bool used;
	uint8_t ref;	     /* key reference: 01 PIN1, 81 PIN2, 0A ADM1 ...; PUKs: 01, 81 ... */
	uint8_t value[8];    /* 'FF'-padded */
	uint8_t max, left;   /* retry counter */
	uint8_t unblock_ref; /* PINs: the PUK that unblocks it (0: none) */
	uint8_t attrs;	     /* PINs: SAIP pinAttributes (euicc/policy.h) */
	bool enabled;	     /* PINs: verification required */
} nvm_pin;

/* One ISD-P. The two variable-length blobs come last: copies and comparisons stop at their lengths. */
typedef struct {
	bool used;
	uint8_t aid[16];
	uint8_t state;
	bool fallback, emergency;
	uint8_t pol1;
	uint16_t nvm_granted;
	bool has_keys; /* SCP03 keyset from key establishment */
	uint8_t scp03_kvn, scp03_kid;
	uint8_t scp03_key[16];
	bool has_iccid;
	uint8_t iccid[10]; /* swapped BCD as in the SAIP header */
	uint8_t smsc[12];  /* connectivity parameters: TON/NPI + BCD */
	uint8_t smsc_len;
	uint8_t sqn_ms[6]; /* highest SQN accepted by AUTHENTICATE (TS 33.102 C) */
	nvm_pin pins[EUICC_MAX_PINS];
	nvm_pin puks[EUICC_MAX_PUKS];
	uint32_t package_len;
	uint32_t fsdata_len; /* installed file contents (saip.c lays them out, fs.c updates them) */
	bool files_pristine; /* fsdata is what installing the package gives: not saved, rebuilt */
	uint32_t blob_gen;   /* bumped by euicc_blob_touch before the blobs change (RAM only) */
	uint8_t fsdata[EUICC_MAX_FSDATA];
	uint8_t package[EUICC_MAX_PACKAGE];
} nvm_profile;

typedef struct {
	bool used;
	uint16_t seq;
	uint8_t type;
	uint8_t aid[16];
} nvm_notif;

/* Everything that survives power-off; copied whole for rollback, so it holds no pointers. */
typedef struct {
	uint8_t eid[16];
	crypto_curve curve;
	uint8_t ecasd_sk[32];
	uint8_t ecasd_pk[65];
	uint8_t ecasd_cert[512];
	uint16_t ecasd_cert_len;
	uint8_t eum_cert[512];
	uint16_t eum_cert_len;
	uint8_t ci_pk[65];
	nvm_keyset keysets[EUICC_MAX_KEYSETS];
	uint8_t mo_counter[5]; /* counter of the card's own MO packets */
	nvm_notif notifs[EUICC_MAX_NOTIFS];
	uint16_t next_seq;
	uint8_t fallback_threshold;
	sms_addr smsr; /* where MO messages go */
	uint8_t rng_seed[32];
	uint64_t rng_counter;
	nvm_profile profiles[EUICC_MAX_PROFILES]; /* last: see nvm_copy */
} euicc_nvm;

/* nvm_text.c: the document as text (malloc'd, NUL-terminated, holds keys: wipe before free), with the
 * journal id a snapshot names (or NULL) and, for a record, "=" for the blobs of each profile whose
 * inline_blob[i] is false (inline_blob NULL: every blob written); NULL when out of memory */
char *nvm_render(const euicc_nvm *n, const uint8_t *journal_id, const bool *inline_blob, size_t *out_len);
/* Copy up to the blobs' lengths. */
void nvm_copy(euicc_nvm *dst, const euicc_nvm *src);
/* The same without the blobs (package, files): the card's snapshot before every state-changing command
 * takes only these; whoever changes a profile's blobs calls euicc_blob_touch first, which saves them
 * into the snapshot (copy on write) and bumps blob_gen so the change is seen. */
/* large zeroed blocks (a card, an NVM) whose pages take memory only once written; freed with their size */
void *euicc_big_alloc(size_t n);
void euicc_big_free(void *p, size_t n);
/* wipes what an NVM holds (fixed part, blobs up to their lengths) without touching unused pages */
void nvm_wipe(euicc_nvm *n);
void nvm_copy_fixed(euicc_nvm *dst, const euicc_nvm *src);
bool nvm_equal_fixed(const euicc_nvm *a, const euicc_nvm *b);
/* after differs from before only in notifications that were confirmed (removed) */
bool nvm_only_confirmations(const euicc_nvm *before, const euicc_nvm *after);

/* saip.c: builds the tree; with data != NULL also writes the initial contents (data_cap bytes at most)
 * and, with pins != NULL, the PINs and PUKs. Returns 0, or -1 with t->bad_pe/bad_status/why set. */
int saip_build(const uint8_t *pkg, size_t len, fs_tree *t, uint8_t *data, size_t data_cap, nvm_pin *pins,
	       nvm_pin *puks);
/* Lookups in a tree (saip.c, used by fs.c too): the child of `dir` with `fid`; the first ADF whose AID
 * starts with the 7-byte application code `prefix` (RID + application code, e.g. the USIM's). -1: none. */
extern const uint8_t fs_usim_prefix[7];
int fs_child(const fs_tree *t, int dir, uint16_t fid);
int fs_adf(const fs_tree *t, const uint8_t *prefix);

/* The selectable applications of a channel */
enum { APP_NONE = 0, APP_ISDR, APP_ECASD, APP_FS, APP_ISDP0 /* + index */ };

/* Internal result of a command: the one table that maps it to ISO 7816 status words (sw_of). */
typedef enum {
	EU_OK,
	EU_MORE_DATA,		  /* 61xx set by the dispatcher */
	EU_WRONG_LENGTH,	  /* 6700 */
	EU_SECURITY,		  /* 6982 security status not satisfied */
	EU_CONDITIONS,		  /* 6985 */
	EU_POL1,		  /* 69E1 */
	EU_WRONG_DATA,		  /* 6A80 */
	EU_FUNC_NOT_SUPPORTED,	  /* 6A81 */
	EU_FILE_NOT_FOUND,	  /* 6A82 */
	EU_NO_MEMORY,		  /* 6A84 */
	EU_WRONG_P1P2,		  /* 6A86 */
	EU_NOT_FOUND,		  /* 6A88 referenced data not found */
	EU_MEMORY_FAILURE,	  /* 6581 */
	EU_CHANNEL,		  /* 6881 logical channel not supported */
	EU_INS,			  /* 6D00 */
	EU_CLA,			  /* 6E00 */
	EU_WRONG_LE,		  /* 6Cxx set by the dispatcher */
	EU_TECHNICAL,		  /* 6F00 */
	EU_NOT_ENOUGH_MEMORY_SEC, /* 6A84 as well, kept separate for traces */
	EU_VERIFICATION_FAILED,	  /* 6300 */
	EU_TOOLKIT_BUSY,	  /* 9300: proactive commands pending, try the envelope again later */
	EU_AUTH_MAC,		  /* 9862: AUTHENTICATE MAC failure */
	EU_WRONG_OFFSET,	  /* 6B00: offset outside the EF */
	EU_RECORD_NOT_FOUND,	  /* 6A83 */
	EU_PIN_WRONG,		  /* 63Cx: x from c->pin_left */
	EU_PIN_BLOCKED,		  /* 6983 authentication method blocked */
	EU_PIN_INVALIDATED,	  /* 6984 reference data invalidated (PIN disabled) */
	EU_INCOMPATIBLE_FILE,	  /* 6981 command incompatible with the file structure */
	EU_NO_EF,		  /* 6986 command not allowed (no EF selected) */
	EU_END_OF_FILE,		  /* 6282 with data: fewer bytes than Le before the end of the EF */
	EU_MORE_BLOCKS,		  /* 62F1 with data: RETRIEVE DATA has more (TS 102 221 11.3.1) */
} eu_status;

uint16_t euicc_sw_of(eu_status s);

/* The context a command runs in */
typedef enum { CTX_CONTACT, CTX_OTA } eu_context;

/* journal.c: the NVM's write-ahead journal (STATE.journal), see the layout there */
#define JOURNAL_PAGE	4096u
#define JOURNAL_BYTES	(1u << 20)    /* preallocated once; a snapshot is written when it is full */
#define JOURNAL_CHUNK	(64u * 1024u) /* blocks written ahead of the records, this much at a time */
#define JOURNAL_FORMAT	2u	      /* 2: the slot after each record starts zeroed (1 still loads) */
#define JOURNAL_HDR	44
#define JOURNAL_REC_HDR 28
#define JOURNAL_MAC	16

typedef struct {
	int fd;		    /* open once the first record is written, else -1 */
	bool have_id;	    /* the snapshot names a journal (a file without one gets a snapshot first) */
	uint8_t id[16];	    /* the snapshot's "journal": records of any other id are not this state's */
	uint32_t seq;	    /* records so far; the next is seq + 1 */
	uint64_t end;	    /* offset of the next record */
	uint64_t size;	    /* the file's size (JOURNAL_BYTES; tests make it smaller) */
	bool header_ok;	    /* the file's header names id */
	uint64_t fill_from; /* open: the file is written (records or zeros) up to here */
	bool dir_unsynced;  /* open: made by this card, its directory entry not synced yet */
} nvm_journal;

void journal_init(nvm_journal *j);
void journal_close(nvm_journal *j);
/* a new snapshot names id: the journal starts over (its header is rewritten with the first record) */
void journal_restart(nvm_journal *j, const uint8_t id[16]);
int journal_frame_header(uint8_t out[JOURNAL_HDR], const uint8_t id[16]); /* -1: no MAC */
/* out holds JOURNAL_REC_HDR + len + JOURNAL_MAC bytes; returns that size (0: no MAC) */
size_t journal_frame_record(uint8_t *out, const uint8_t id[16], uint32_t seq, const void *payload, size_t len);
/* applies the journal in buf to *root (the snapshot's document, replaced by the last record's, with its
 * kept blobs filled in); sets j's seq, end and header_ok. -1 with why when the journal is damaged. */
/* checks one record's document (a whole card); non-zero with why refuses the journal */
typedef int (*journal_check_fn)(void *ctx, json_t *doc, char *why, size_t why_len);
/* applies the journal in buf to *root (the snapshot's document, replaced by the last record's, with its
 * kept blobs filled in), each record checked by check; sets j's seq, end and header_ok. A torn last
 * record (a crash while it was written) is ignored and said in note. -1 with why when the journal is
 * damaged: its header, a record that does not load, a damaged record before good ones. */
int journal_replay(const uint8_t *buf, size_t len, const uint8_t id[16], json_t **root, nvm_journal *j, char *note,
		   size_t note_len, journal_check_fn check, void *check_ctx, char *why, size_t why_len);
/* the same from PATH.journal (absent: nothing to apply) */
int journal_read(const char *path, const uint8_t id[16], json_t **root, nvm_journal *j, char *note, size_t note_len,
		 journal_check_fn check, void *check_ctx, char *why, size_t why_len);
int journal_append(nvm_journal *j, const char *path, const char *payload, size_t len, char *why, size_t why_len);
char *journal_path(const char *path);
int sync_dir_of(const char *path);

struct euicc_card {
	euicc_nvm nvm;
	nvm_journal jr;
	int lock_fd;	     /* the state file's inode, flock'ed by euicc_lock; -1 when not locked */
	euicc_nvm *snapshot; /* copy taken before a state-changing command */
	char *path;	     /* state file, NULL for an in-memory card */
	char last_error[256];
	char load_note[256]; /* what the load noticed and accepted (a torn last journal record) */
	bool t0_strict;	     /* behave as a T=0 card: 61xx after case 4, 6Cxx for a wrong Le, no extended */
	bool lazy_pending;   /* a confirmation is in RAM only (written with the next change or save) */
	bool state_lost;     /* the state file or journal was removed or replaced: no more commits */
	char state_lost_why[320];
	drbg rng;
	bool powered;
	uint8_t channel_app[EUICC_CHANNELS];
	bool channel_open[EUICC_CHANNELS];
	/* GET RESPONSE buffer (61xx) */
	uint8_t pending[EUICC_RAPDU_MAX];
	size_t pending_len;
	uint16_t pending_sw;
	cat_state cat;	  /* toolkit (cat_state.h) */
	ota_state ota;	  /* OTA (ota_state.h) */
	uint64_t rng_pos; /* generator position; the NVM holds a reserved mark above it */
	uint64_t mo_pos;  /* last MO counter used; the NVM holds a reserved mark above it */
	es8_state es8;	  /* ES8 sessions (es8_state.h) */
	fs_state fs;	  /* the enabled profile's files and PINs (fs_state.h) */
	euicc_trace_fn trace;
	void *trace_ctx;
	bool snapshot_active; /* a state-changing command runs: blobs are saved on first touch */
	bool blob_saved[EUICC_MAX_PROFILES];
	bool check_blobs; /* EUICC_CHECK_BLOBS set: verify that no blob changed untouched (tests) */
};

/* card.c */
void euicc_tracef(euicc_card *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void euicc_trace_hex(euicc_card *c, const char *label, const uint8_t *p, size_t len);
int euicc_find_profile(const euicc_card *c, const uint8_t *aid, size_t aid_len);
int euicc_enabled_profile(const euicc_card *c);
void euicc_blob_touch(euicc_card *c, int profile);
/* Inside a state-changing command: makes the NVM as it is now durable before the command goes on (a
 * PIN try is counted before the value is compared). -1 when it cannot be written (the command must then
 * stop with EU_MEMORY_FAILURE, having changed nothing else). */
int euicc_commit_now(euicc_card *c);
/* txn.c: a state-changing command begins (the NVM as it is kept aside) and ends: its change becomes
 * durable, or the command is undone whole and answers EU_MEMORY_FAILURE (proactive commands it
 * queued dropped, out emptied) */
void txn_begin(euicc_card *c);
eu_status txn_end(euicc_card *c, eu_status st, abuf *out, size_t proactive_before);
/* an ISD-P slot emptied (create, delete): every byte of the profile wiped */
void euicc_profile_clear(euicc_card *c, int profile);
apdu_err euicc_random(euicc_card *c, void *out, size_t len);
/* the ISD-R's and the ECASD's AIDs (apdu/proto.h) */
extern const uint8_t euicc_aid_isdr[16], euicc_aid_ecasd[16];
/* a notification for the SM-SR, sent at the next attach (the oldest gives way when the queue is full) */
void euicc_queue_notification(euicc_card *c, uint8_t type, const uint8_t aid[16]);
/* a profile switch asks for REFRESH once the command is answered */
void euicc_want_refresh(euicc_card *c);

/* isdr.c: one command to the ISD-R; appends response data to out */
eu_status isdr_command(euicc_card *c, const capdu *a, eu_context ctx, abuf *out);
eu_status ecasd_command(euicc_card *c, const capdu *a, eu_context ctx, abuf *out);
/* the fall-back switch (also used by cat.c) */
eu_status isdr_fallback_switch(euicc_card *c);
void euicc_queue_notification(euicc_card *c, uint8_t type, const uint8_t aid[16]);

/* fs.c */
bool fs_select_aid(euicc_card *c, int ch, const uint8_t *aid, size_t len, bool want_fcp, abuf *out);
eu_status fs_command(euicc_card *c, int ch, const capdu *a, abuf *out);
/* after a successful download: lays out and fills the profile's files and PINs; PE status on failure */
uint8_t saip_install(nvm_profile *p, size_t *bad_pe, char *why, size_t why_len);
void fs_forget(euicc_card *c);
/* for the GSM view (gsm.c): the enabled profile's tree (NULL: none), a file's body, its access rule for
 * reading or updating, marking the files changed and the GSM
 * algorithm (SRES ‖ Kc from MILENAGE, PIN1 required) */
fs_tree *fs_tree_of(euicc_card *c);
uint8_t *fs_body(euicc_card *c, const fs_file *f);
bool fs_allowed(euicc_card *c, const fs_tree *t, int file, bool update);
void fs_touch(euicc_card *c);
eu_status fs_gsm_algorithm(euicc_card *c, fs_tree *t, const uint8_t rnd[16], abuf *out);
/* the EF current on channel ch (-1 none) */
int fs_current_ef(euicc_card *c, int ch, const fs_tree *t);
/* pin.c: the enabled profile's PINs: a PIN by key reference (index, -1 none), whether its security
 * condition holds (verified, or not enabled), the PIN commands (INS 20, 24, 26, 28, 2C), a PIN by
 * reference (NULL none) and VERIFY of one (a disabled PIN: 6984) */
int pin_index(euicc_card *c, uint8_t ref);
bool pin_satisfied(euicc_card *c, uint8_t ref);
eu_status pin_command(euicc_card *c, const capdu *a);
const nvm_pin *pin_find(euicc_card *c, uint8_t ref);
eu_status pin_verify(euicc_card *c, uint8_t ref, const uint8_t value[8]);
/* bertlv.c: RETRIEVE DATA and SET DATA on the current BER-TLV EF */
eu_status bertlv_retrieve_data(euicc_card *c, int ch, fs_tree *t, const capdu *a, abuf *out);
eu_status bertlv_set_data(euicc_card *c, int ch, fs_tree *t, const capdu *a);
/* RETRIEVE DATA (CB) or SET DATA (DB) on the enabled profile */
eu_status bertlv_command(euicc_card *c, int ch, const capdu *a, abuf *out);
/* gsm.c: the TS 51.011 command set (CLA A0) over a GSM view of the enabled profile */
eu_status gsm_command(euicc_card *c, const capdu *a, abuf *out);
uint16_t gsm_sw_of(eu_status s);

/* ota.c */
eu_status ota_envelope_sms_pp(euicc_card *c, const uint8_t *data, size_t len, abuf *out);
/* each keyset whose accepted counter reached its NVM mark gets the next block (nvm_commit, before a
 * record: the counter's own record is spared) */
void ota_reserve_ahead(euicc_card *c);

/* cat.c */
eu_status cat_terminal_profile(euicc_card *c, const capdu *a);
eu_status cat_fetch(euicc_card *c, const capdu *a, abuf *out);
eu_status cat_terminal_response(euicc_card *c, const capdu *a);
eu_status cat_event_download(euicc_card *c, const uint8_t *data, size_t len);
void cat_queue_proactive(euicc_card *c, const uint8_t *cmd, size_t len);
void cat_send_pending_notifications(euicc_card *c);
void cat_flush_refresh(euicc_card *c);
apdu_err cat_queue_sms(euicc_card *c, const uint8_t *ud, size_t ud_len);

/* es8.c */
eu_status es8_store_data(euicc_card *c, int isdp, const uint8_t *data, size_t len, abuf *out);
eu_status es8_scp03t(euicc_card *c, int isdp, uint32_t tag, const uint8_t *tlv, size_t tlv_len, abuf *out);
void es8_reset_session(euicc_card *c);

/* card.c: a card with zeroed NVM, for the loader */
euicc_card *euicc_create_empty(void);
void euicc_counters_from_nvm(euicc_card *c);

/* show.c: shared by nvm.c */
json_t *euicc_hexj(const uint8_t *p, size_t len);
json_t *euicc_notifs_json(const euicc_nvm *n);

/* nvm.c */
json_t *nvm_to_json(const euicc_nvm *n, bool secrets);
int nvm_from_json(json_t *root, euicc_nvm *n, char *why, size_t why_len);
/* the whole NVM as PATH (new file, fdatasync, rename, fsync of the directory), naming journal id; with
 * lock_fd (>= 0) the lock moves to the new file before it takes the name */
int nvm_write_snapshot(const euicc_nvm *n, const char *path, const uint8_t id[16], int *lock_fd, char *why,
		       size_t why_len);
/* a state change made durable: a journal record (blobs inline where touched[i]) or a new snapshot */
int nvm_still_ours(euicc_card *c, char *why, size_t why_len);
int nvm_new_snapshot_id(euicc_card *c, const char *path, uint8_t id[16], char *why, size_t why_len);
int nvm_commit(euicc_card *c, const bool touched[EUICC_MAX_PROFILES], char *why, size_t why_len);

#endif
