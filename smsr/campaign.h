/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Campaigns: one operation over many eUICCs, as jobs in the store, run by workers that each hold their
 * own connection to the store and to the cards. */
#ifndef SMSR_CAMPAIGN_H
#define SMSR_CAMPAIGN_H

#include <signal.h>

#include "core.h"

/* The operations a job can be: swap (args pool, old = fallback|delete), download (pool or iccid),
 * enable, disable, delete, set-fallback, set-emergency (target: ICCID, AID, "enabled" or "pool:P"),
 * set-pol1 (target, pol1), update-connectivity (smsc), audit. */
bool smsr_job_op_known(const char *op);
/* Runs one claimed job (a row of store_jobs) through the core; its outcome in r. */
int smsr_run_job(smsr_core *x, json_t *job, smsr_result *r);

/* The EIDs a target names: all, tag:K=V[;K=V], eids:EID[,EID]..., csv:FILE (an EID first on each line),
 * operator:NAME (the enabled profile's operator). A JSON array of strings, or NULL with why. */
json_t *smsr_campaign_targets(smsr_store *s, const char *target, char *why, size_t why_len);

typedef struct {
	/* called under a lock after each job ends (result JSON with its id and state), and every ~200 ms
	 * with the campaign's counts (store_campaign's "jobs") */
	void (*on_job)(void *ctx, json_t *job_result);
	void (*on_progress)(void *ctx, json_t *counts, double elapsed_s);
	void *ctx;
	volatile sig_atomic_t *stop; /* set (SIGINT, SIGTERM): jobs under way finish, then the run ends paused */
	bool due_only; /* end when no job is due now (the rules engine's runs), leaving the campaign ready */
	/* a worker with nothing to claim: called instead of a 100 ms sleep (NULL: sleep); with it the run
	 * stays open for new jobs until *stop (the server's own campaign) */
	void (*idle)(void *ctx);
	/* each step of a job decoded, with its eUICC (NULL: none); called from the job's worker thread */
	void (*on_trace)(void *ctx, const char *eid, const char *line);
} smsr_run_opts;

/* Runs campaign id until no job is left (done), it is paused or cancelled (by `campaign pause|cancel`
 * or the failure limit), or *stop. proto gives the store path, PKI and KEK; each worker opens its own.
 * Returns 0 when the run ended as asked, -1 with why (another process runs it, the store failed). */
int smsr_campaign_run(const smsr_core *proto, long long id, const smsr_run_opts *o, char *why, size_t why_len);

#endif
