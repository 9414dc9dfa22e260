/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `apdu replay`: conformance vectors replayed against a card (docs/vectors.md). */
#ifndef APDU_REPLAY_H
#define APDU_REPLAY_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
	const char *reader;    /* PC/SC reader (name or index) */
	const char *inproc;    /* or an in-process card: a fresh copy of this state file for every case */
	const char *reset_cmd; /* PC/SC: a shell command that resets the card before every case */
	const char *eis;       /* keys and counters for OTA steps */
	const char *pki_dir;   /* the SM-DP role's PKI (default: the bench's data directory) */
	const char *junit;     /* also write JUnit XML here */
	const char *pcap;      /* capture every APDU of the run (GSMTAP; NULL: none) */
	const char *gsmtap;    /* and/or send them live (HOST[:PORT]) */
	bool stop_on_fail;
	bool list; /* print the cases (ID, title, required state, file:line) and run nothing */
	const char **files;
	size_t nfiles;
} replay_opts;

/* Runs every case of the files; prints TAP on stdout. Returns 0 all passed, 1 some failed, -1 an error
 * (bad file, card unreachable) with why. */
int replay_run(const replay_opts *o, char *why, size_t why_len);
/* Parses vector text (no includes) and its expectation patterns: the fuzz target's entry. 0 when it
 * reads, -1 with why. */
int replay_check_text(const char *data, size_t len, char *why, size_t why_len);

#endif
