/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A device farm: many software eUICCs in one directory, each a small NVM file and an empty journal file
 * that takes blocks only once the card changes, with one EIS bundle and one fleet file that `smsr fleet
 * import` reads.
 *
 *   DIR/farm.json      {"format":1,"count":N,...}, written last: a farm without it is unfinished
 *   DIR/cards/NNNNNN/card.nvm  card i (card.nvm.journal beside it: empty until it changes), a folder per card so
 *                      that loading one never reads the names of all the others
 *   DIR/eis.jsonl      the EIS of card i on line i (0-based); holds OTA keys: 0600
 *   DIR/fleet.csv      eis,endpoint,tags: eis.jsonl#i,farm:DIR#i,farm=NAME;slot=i
 *
 * An SM-SR reaches card i in-process at the endpoint farm:DIR#i (link_open_uri). */
#ifndef HOST_FARM_H
#define HOST_FARM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "euicc/euicc.h"

#define FARM_FORMAT	   1
#define FARM_MAX_CARDS	   1000000u
#define FARM_JOURNAL_BYTES (128u * 1024u) /* each card's journal, once it changed */

typedef struct {
	char dir[4096]; /* absolute */
	unsigned count;
	bool has_seed;
	uint64_t seed;
	char created[32];
} farm_info;

typedef void (*farm_progress_fn)(void *ctx, unsigned done, unsigned total);

/* Creates DIR (absent or empty) with count cards certified by opts->issuer; with opts->has_seed card i
 * draws from seed + i (reproducible farms). -1 with why naming the card or file at fault; what was
 * made stays, but without farm.json nothing takes it for a farm. */
int farm_create(const char *dir, unsigned count, const euicc_new_opts *opts, farm_progress_fn progress, void *ctx,
		char *why, size_t why_len);
int farm_open(const char *dir, farm_info *f, char *why, size_t why_len);
int farm_card_path(const farm_info *f, unsigned index, char *out, size_t len);
/* "DIR#INDEX" (the rest of a farm: endpoint) to its parts */
int farm_parse_endpoint(const char *rest, char *dir, size_t dir_len, unsigned *index, char *why, size_t why_len);

#endif
