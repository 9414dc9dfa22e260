/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rules engine (docs/rules.md): a rules file in YAML (libyaml), checked with the line of every fault;
 * events decided against it into jobs of the SM-SR core, each decision recorded with why. */
#ifndef SMSR_RULES_H
#define SMSR_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "core.h"
#include "store.h"

typedef enum { COND_EQUALS, COND_NOT, COND_IN, COND_PREFIX, COND_RANGE, COND_ABOVE, COND_BELOW } rule_cond_kind;

typedef struct {
	char field[32];
	rule_cond_kind kind;
	json_t *value; /* equals, not, prefix: a string; in: an array of strings */
	double lo, hi; /* range, above (lo), below (hi) */
	int line;
} rule_cond;

#define RULE_MAX_CONDS 8

typedef struct {
	char name[64];
	int line, index;
	char type[24];
	rule_cond conds[RULE_MAX_CONDS];
	size_t n_conds;
	json_t *tags;	   /* for: tag K: V (object) or NULL */
	json_t *operators; /* for: operator (array) or NULL */
	json_t *not_operators;
	char state[16];	      /* for: an ISD-P in this state */
	long long hold_for;   /* seconds the condition must last, 0: none */
	long long hold_count; /* matching events in a row, 0: none */
	long long cooldown, limit_count, limit_per;
	int priority;
	json_t *actions; /* [{op, args, delay}] */
} rule;

typedef struct {
	rule *v;
	size_t n;
} ruleset;

/* Parses and checks a rules file (YAML or JSON, a mapping with `rules:`): 0, or -1 with why naming the
 * line and the field at fault (and for a contradiction, both rules). */
int rules_parse(const char *text, size_t len, ruleset *out, char *why, size_t why_len);
void rules_free(ruleset *rs);
json_t *rules_json(const ruleset *rs); /* the rules as checked, for `rules show` */
/* An event as it arrives (a JSON object: id?, eid, type, time?, fields?, and any other key a field),
 * checked and into e (e->fields to free; the strings are o's); the eUICC is not looked up. 0, or -1
 * with why naming the field. */
int rules_event_parse(json_t *o, store_event *e, long long now, char *why, size_t why_len);
/* a field of an event of type as it arrives: one the type has, and for status, kind and state one of
 * their values (value NULL: not text); 0, or -1 with why naming the field */
int rules_event_field(const char *type, const char *field, const char *value, char *why, size_t why_len);
/* "10m", "1h30m", "2d", "45" (seconds): -1 when not a duration */
long long rules_duration(const char *s);

typedef struct {
	bool dry_run;
	long long campaign; /* the rules' campaign (store_rules_campaign) */
	long long validity; /* of each job, from when it is due */
} rules_opts;

/* Decides one event (a row of store_event_due) against rs and records it (store_decide): 0, or -1 with
 * why (the store failed: the event stays undecided). *acted counts the decisions that created work. */
int rules_decide(smsr_core *x, const ruleset *rs, json_t *event, const rules_opts *o, int *acted, char *why,
		 size_t why_len);

#endif
