/* SPDX-License-Identifier: GPL-2.0-or-later */
/* libeuicc: a software SGP.02 eUICC (ISD-R, ECASD, up to four ISD-Ps) as a library. No global state:
 * one process may hold many cards. The card speaks APDUs (euicc_transmit) after a power-on, and saves its
 * NVM atomically after every state-changing command when it has a state file. */
#ifndef EUICC_EUICC_H
#define EUICC_EUICC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define EUICC_MAX_PROFILES 4
#define EUICC_ATR_MAX	   33
#define EUICC_RAPDU_MAX	   (65536 + 2)

typedef struct euicc_card euicc_card;

/* Who certifies a new card: the EUM signs CERT.ECASD.ECKA, the CI's public key is the card's PK.CI. */
typedef struct crypto_eckey crypto_eckey; /* apdu/crypto.h */
typedef struct {
	const crypto_eckey *eum;
	const uint8_t *eum_cert; /* the EUM's certificate, kept on the card */
	size_t eum_cert_len;
	const crypto_eckey *ci;
} euicc_issuer;

typedef struct {
	const char *eid; /* 32 digits with valid check digits, or NULL for a fresh one */
	bool has_seed;	 /* draw everything from a DRBG seeded with `seed` (reproducible cards) */
	uint64_t seed;
	euicc_issuer issuer;	     /* signs CERT.ECASD.ECKA (EUM) and provides PK.CI */
	unsigned fallback_threshold; /* consecutive "no service" events before the fall-back switch; 0 = 3 */
	const char *smsr_msisdn;     /* where MO notifications go until an SMS tells otherwise; NULL = default */
} euicc_new_opts;

/* A new card in memory. NULL on failure, with the reason in why. */
euicc_card *euicc_create(const euicc_new_opts *opts, char *why, size_t why_len);
/* Opens a card's NVM (the snapshot PATH and the journal PATH.journal, see docs/card.md) for this process
 * alone: the file is locked first (an exclusive flock, held until euicc_free and moved along with every
 * new snapshot), then read through the locked descriptor, so the card is never a stale copy of one
 * another process is changing. Each state change becomes a journal record before its answer. NULL with
 * why when another process holds the file ("is in use"), or when the state is corrupt or truncated (the
 * failing field named); nothing is written then. */
euicc_card *euicc_load(const char *path, char *why, size_t why_len);
/* The same state read without the lock (euicc-sim show, a fresh card to copy): the card has no state
 * file, changes stay in memory unless euicc_save gives it one. */
euicc_card *euicc_load_readonly(const char *path, char *why, size_t why_len);
/* A copy of a card's NVM as a new card in memory (no state file, powered off), as loading src's state
 * would give: for many runs from one state (fuzzing, farms of one template). NULL when out of memory. */
euicc_card *euicc_clone(const euicc_card *src);
/* What the last load accepted and a user should know (a torn last journal record: a crash while it was
 * written, never acknowledged), or NULL. */
const char *euicc_load_note(const euicc_card *c);
/* Saves the whole state as a snapshot (new file, fdatasync, rename, directory fsync; 0600), removes
 * PATH.journal and makes `path` the card's state file. Call it between commands (e.g. at exit): it also
 * brings the counter marks down to the values really used. Refused when the card's own state file was
 * removed or replaced while it ran (nothing is written over what took its place). */
int euicc_save(euicc_card *c, const char *path, char *why, size_t why_len);
/* Whether the state file holds anything a save would fold (journal records, a confirmation kept in
 * RAM): a client that changed nothing need not rewrite the file. */
bool euicc_unsaved(const euicc_card *c);
void euicc_free(euicc_card *c);
/* Claims the card's state file for this process alone (see euicc_load); for a card that got its file
 * from euicc_save. -1 with why when another process holds it; a file system without locks is not an
 * error. */
int euicc_lock(euicc_card *c, char *why, size_t why_len);
/* Before a new card is saved over an existing PATH (euicc-sim new --force): locks PATH as it is, so a
 * process serving it refuses the overwrite ("in use"); the save then moves the lock. 0 when PATH does
 * not exist. */
int euicc_claim(euicc_card *c, const char *path, char *why, size_t why_len);
/* The journal's size (rounded to pages, 64 KiB to 1 MiB; 1 MiB unless set): a card that is one of
 * thousands (a farm) takes less disk; a smaller journal is folded into a snapshot more often. Set it
 * before the first state change. */
void euicc_set_journal_size(euicc_card *c, size_t bytes);
/* Stops saving to the state file: the card lives in memory only (tests, fuzzing). */
void euicc_forget_state_file(euicc_card *c);

/* Power and reset: the ATR is written to atr (at most EUICC_ATR_MAX bytes); returns its length.
 * A reset keeps the NVM and drops channels, sessions and pending responses. */
size_t euicc_power_on(euicc_card *c, uint8_t *atr);
size_t euicc_reset(euicc_card *c, uint8_t *atr);
void euicc_power_off(euicc_card *c);
size_t euicc_atr(const euicc_card *c, uint8_t *atr);
/* Behaves as a strict T=0 card, as a real one in a USB reader does: an ATR offering T=0 only, 61xx
 * after every case-4 command (Le is not carried), 6Cxx when a case-2 Le is not the length there is,
 * GET RESPONSE likewise, no extended length (6700). */
void euicc_set_t0_strict(euicc_card *c, bool on);

/* One APDU exchange. rapdu must hold EUICC_RAPDU_MAX bytes. Always produces an R-APDU (at least a SW). */
size_t euicc_transmit(euicc_card *c, const uint8_t *capdu, size_t len, uint8_t *rapdu);

/* The EIS an SM-SR imports (EID, certificates, OTA keysets and counters). New reference. */
json_t *euicc_eis(const euicc_card *c);
/* A summary for `euicc-sim show`: eid, profiles, free slots, notifications, counters; secrets only if asked. */
json_t *euicc_show(const euicc_card *c, bool secrets);
const char *euicc_eid(const euicc_card *c, char out[33]);

/* A line-oriented trace of what the card does (decoded APDUs, OTA steps); keys are never traced. */
typedef void (*euicc_trace_fn)(void *ctx, const char *line);
void euicc_set_trace(euicc_card *c, euicc_trace_fn fn, void *ctx);
/* The last save error (a state file that could not be written), or NULL. */
const char *euicc_last_error(const euicc_card *c);

#endif
