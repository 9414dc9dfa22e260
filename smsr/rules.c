/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rules engine's decisions (rules.h, docs/rules.md). Each event is held against every rule in
 * priority order: its type, its conditions, which eUICCs the rule is for; a rule whose condition holds
 * is in an episode (since the first event that made it hold) and acts at most once in it, after its
 * hold, outside its cooldown and its limit, and only if no rule of higher priority acted on the event.
 * Everything decided, and why, goes to the store in one transaction (store_decide). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "campaign.h"
#include "rules.h"

static const char *iso(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

/* a field of the event as text (numbers written as they would be typed) */
static const char *field_text(json_t *fields, const char *k, char buf[64])
{
	json_t *v = json_object_get(fields, k);
	if (json_is_string(v))
		return json_string_value(v);
	if (json_is_integer(v)) {
		snprintf(buf, 64, "%lld", (long long)json_integer_value(v));
		return buf;
	}
	if (json_is_real(v)) {
		snprintf(buf, 64, "%.17g", json_real_value(v));
		return buf;
	}
	if (json_is_boolean(v))
		return json_is_true(v) ? "true" : "false";
	return NULL;
}

static bool field_number(json_t *fields, const char *k, double *out)
{
	json_t *v = json_object_get(fields, k);
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	const char *s = json_string_value(v);
	char *end;
	if (!s || !*s)
		return false;
	*out = strtod(s, &end);
	return !*end;
}

static bool cond_holds(const rule_cond *c, json_t *fields, char *why, size_t n)
{
	char buf[64];
	const char *v = field_text(fields, c->field, buf);
	double d = 0;
	bool num = field_number(fields, c->field, &d), ok = false;
	switch (c->kind) {
	case COND_EQUALS: ok = v && !strcmp(v, json_string_value(c->value)); break;
	case COND_NOT: ok = !v || strcmp(v, json_string_value(c->value)); break;
	case COND_PREFIX:
		ok = v && !strncmp(v, json_string_value(c->value), strlen(json_string_value(c->value)));
		break;
	case COND_IN: {
		size_t i;
		json_t *e;
		json_array_foreach(c->value, i, e) ok |= v && !strcmp(v, json_string_value(e));
		break;
	}
	case COND_RANGE: ok = num && d >= c->lo && d <= c->hi; break;
	case COND_ABOVE: ok = num && d > c->lo; break;
	case COND_BELOW: ok = num && d < c->hi; break;
	}
	if (!ok) {
		static const char *const names[] = { "equals", "not", "in", "prefix", "range", "above", "below" };
		char want[128];
		if (c->kind == COND_RANGE)
			snprintf(want, sizeof(want), "[%g, %g]", c->lo, c->hi);
		else if (c->kind == COND_ABOVE || c->kind == COND_BELOW)
			snprintf(want, sizeof(want), "%g", c->lo);
		else {
			char *t = json_dumps(c->value, JSON_ENCODE_ANY | JSON_COMPACT);
			snprintf(want, sizeof(want), "%s", t ? t : "?");
			free(t);
		}
		snprintf(why, n, "%s is %s%s%s, wants %s %s", c->field, v ? "'" : "", v ? v : "absent", v ? "'" : "",
			 names[c->kind], want);
	}
	return ok;
}

static bool name_in(json_t *names, const char *n)
{
	size_t i;
	json_t *e;
	json_array_foreach(names, i, e) if (n && !strcmp(json_string_value(e), n)) return true;
	return false;
}

/* the rule's `for` against the eUICC as the store knows it now */
static bool for_holds(const rule *r, json_t *facts, char *why, size_t n)
{
	const char *k;
	json_t *v, *tags = json_object_get(facts, "tags");
	if (r->tags)
		json_object_foreach(r->tags, k, v) if (!json_equal(json_object_get(tags, k), v))
		{
			const char *have = json_string_value(json_object_get(tags, k));
			snprintf(why, n, "tag %s is %s%s%s, wants '%s'", k, have ? "'" : "", have ? have : "absent",
				 have ? "'" : "", json_string_value(v));
			return false;
		}
	const char *op = json_string_value(json_object_get(json_object_get(facts, "enabled"), "operator"));
	if (r->operators && !name_in(r->operators, op)) {
		snprintf(why, n, "the enabled profile's operator is %s%s%s, not one the rule is for", op ? "'" : "",
			 op ? op : "unknown", op ? "'" : "");
		return false;
	}
	if (r->not_operators && name_in(r->not_operators, op)) {
		snprintf(why, n, "the enabled profile's operator is '%s', one the rule is not for", op);
		return false;
	}
	if (r->state[0] && !name_in(json_object_get(facts, "states"), r->state)) {
		snprintf(why, n, "no ISD-P is %s", r->state);
		return false;
	}
	return true;
}

typedef struct {
	smsr_core *x;
	const rules_opts *o;
	const char *eid, *event_id;
	long long time;
	json_t *explain;
	store_decision *d;
	size_t nd;
	store_state_change *sc;
	size_t ns;
	store_event *timers;
	json_t *timer_fields; /* owned, one per timer */
	char (*timer_ids)[160];
	size_t nt;
	const rule *acted_by;
	char (*details)[400];
} decide_ctx;

static void explain(decide_ctx *c, const rule *r, const char *outcome, const char *why)
{
	json_array_append_new(json_object_get(c->explain, "rules"),
			      json_pack("{s:s,s:s,s:s}", "rule", r->name, "outcome", outcome, "why", why));
}

static void record(decide_ctx *c, const rule *r, const char *outcome, const char *why, json_t *actions)
{
	explain(c, r, outcome, why);
	store_decision *d = &c->d[c->nd];
	snprintf(c->details[c->nd], sizeof(c->details[0]), "%s", why);
	*d = (store_decision){ .rule = r->name,
			       .eid = c->eid,
			       .outcome = outcome,
			       .detail = c->details[c->nd],
			       .time = c->time,
			       .actions = actions };
	c->nd++;
}

static void set_state(decide_ctx *c, const rule *r, const store_rule_st *st)
{
	c->sc[c->ns++] = (store_state_change){ .rule = r->name, .eid = c->eid, .st = *st };
}

/* the rule's actions with what is known only now: a campaign's eUICCs */
static json_t *actions_now(decide_ctx *c, const rule *r, char *why, size_t n)
{
	json_t *out = json_deep_copy(r->actions), *a;
	size_t i;
	json_array_foreach(out, i, a)
	{
		if (strcmp(json_string_value(json_object_get(a, "op")), "campaign"))
			continue;
		json_t *args = json_object_get(a, "args");
		json_t *eids = smsr_campaign_targets(c->x->st, json_string_value(json_object_get(args, "target")), why,
						     n);
		if (!eids) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(args, "eids", eids);
	}
	return out;
}

/* the condition holds for r on this eUICC: does it act now? */
static void consider(decide_ctx *c, const rule *r, store_rule_st *st, bool from_timer)
{
	char why[400], a[32], b[32];
	long long t = c->time;
	if (st->acted) {
		snprintf(why, sizeof(why), "acted already in this episode (the condition holds since %s)",
			 iso(st->since, a));
		record(c, r, "once", why, NULL);
	} else if ((r->hold_for && t - st->since < r->hold_for) || (r->hold_count && st->count < r->hold_count)) {
		if (r->hold_for && t - st->since < r->hold_for) {
			snprintf(why, sizeof(why),
				 "held: the condition holds since %s, acts once it has for %llds (at %s)",
				 iso(st->since, a), r->hold_for, iso(st->since + r->hold_for, b));
			/* a timer wakes the rule when the hold is over, unless the condition ends first */
			size_t k = c->nt++;
			snprintf(c->timer_ids[k], sizeof(c->timer_ids[0]), "timer:%s:%s:%lld", r->name, c->eid,
				 st->since);
			json_t *f = json_pack("{s:s,s:I}", "rule", r->name, "since", (json_int_t)st->since);
			json_array_append_new(c->timer_fields, f);
			c->timers[k] = (store_event){ .id = c->timer_ids[k],
						      .eid = c->eid,
						      .type = "timer",
						      .fields = f,
						      .time = st->since + r->hold_for,
						      .source = "timer" };
		} else {
			snprintf(why, sizeof(why), "held: %lld of %lld matching events in a row", st->count,
				 r->hold_count);
		}
		record(c, r, "held", why, NULL);
	} else if (st->has_acted && r->cooldown && t < st->last_acted + r->cooldown) {
		snprintf(why, sizeof(why), "cooling down: acted at %s, again from %s", iso(st->last_acted, a),
			 iso(st->last_acted + r->cooldown, b));
		record(c, r, "cooldown", why, NULL);
	} else if (r->limit_count &&
		   store_rule_acted_since(c->x->st, r->name, c->eid, t - r->limit_per) >= r->limit_count) {
		snprintf(why, sizeof(why), "limit: acted %lld times in the last %llds already", r->limit_count,
			 r->limit_per);
		record(c, r, "limit", why, NULL);
	} else if (c->acted_by) {
		snprintf(why, sizeof(why), "outranked: rule %s (priority %d) acted on this event", c->acted_by->name,
			 c->acted_by->priority);
		record(c, r, "outranked", why, NULL);
	} else {
		json_t *acts = actions_now(c, r, why, sizeof(why));
		if (!acts) {
			record(c, r, "failed", why, NULL);
		} else {
			snprintf(why, sizeof(why), "%s%s", c->o->dry_run ? "would act (dry run)" : "acted",
				 from_timer ? ": the hold is over" : "");
			record(c, r, c->o->dry_run ? "dry-run" : "acted", why, acts);
			st->acted = true;
			st->has_acted = true;
			st->last_acted = t;
			c->acted_by = r;
		}
	}
	set_state(c, r, st);
}

static int by_priority(const void *a, const void *b)
{
	const rule *x = *(const rule *const *)a, *y = *(const rule *const *)b;
	return x->priority != y->priority ? (y->priority > x->priority ? 1 : -1) : x->index - y->index;
}

static void state_of(const store_rule_map *m, const char *name, store_rule_st *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].rule, name)) {
			*out = m->v[i].st;
			return;
		}
}

static void decide_rules(decide_ctx *c, const ruleset *rs, const char *type, json_t *fields, json_t *facts)
{
	const rule **order = malloc((rs->n ? rs->n : 1) * sizeof(*order));
	store_rule_map states = { 0 };
	if (!order || store_rule_states(c->x->st, c->eid, &states)) {
		free(order);
		free(states.v);
		return;
	}
	for (size_t i = 0; i < rs->n; i++)
		order[i] = &rs->v[i];
	qsort(order, rs->n, sizeof(*order), by_priority);
	long long others = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const rule *r = order[i];
		char why[400];
		if (strcmp(r->type, type)) {
			others++; /* counted, not listed: most rules of a large set take other events */
			continue;
		}
		store_rule_st st;
		state_of(&states, r->name, &st);
		bool holds = true;
		for (size_t k = 0; holds && k < r->n_conds; k++)
			holds = cond_holds(&r->conds[k], fields, why, sizeof(why));
		if (!holds) {
			explain(c, r, "no-match", why);
			if (st.in_episode) { /* the condition ends: a hold starts again from nothing */
				st.in_episode = false;
				st.count = 0;
				st.acted = false;
				set_state(c, r, &st);
			}
			continue;
		}
		if (!for_holds(r, facts, why, sizeof(why))) {
			explain(c, r, "not-for", why);
			continue;
		}
		if (!st.in_episode) {
			st.in_episode = true;
			st.since = c->time;
			st.count = 0;
			st.acted = false;
		}
		st.count++;
		consider(c, r, &st, false);
	}
	json_object_set_new(c->explain, "other_types", json_integer(others));
	free(order);
	free(states.v);
}

/* a timer of a rule's hold: it acts if its episode is still the one that set the timer */
static void decide_timer(decide_ctx *c, const ruleset *rs, json_t *fields, json_t *facts)
{
	const char *name = json_string_value(json_object_get(fields, "rule"));
	long long since = (long long)json_integer_value(json_object_get(fields, "since"));
	const rule *r = NULL;
	for (size_t i = 0; name && i < rs->n; i++)
		if (!strcmp(rs->v[i].name, name))
			r = &rs->v[i];
	json_t *rl = json_object_get(c->explain, "rules");
	if (!r) {
		json_array_append_new(rl,
				      json_pack("{s:s,s:s,s:s}", "rule", name ? name : "", "outcome", "stale", "why",
						"the rule is no longer loaded"));
		return;
	}
	store_rule_st st;
	char why[400];
	if (store_rule_state(c->x->st, r->name, c->eid, &st) || !st.in_episode || st.since != since) {
		explain(c, r, "stale", "the condition ended before the hold was over");
	} else if (!for_holds(r, facts, why, sizeof(why))) {
		explain(c, r, "not-for", why);
	} else {
		consider(c, r, &st, true);
	}
}

int rules_decide(smsr_core *x, const ruleset *rs, json_t *event, const rules_opts *o, int *acted, char *why,
		 size_t why_len)
{
	long long seq = (long long)json_integer_value(json_object_get(event, "seq"));
	const char *type = json_string_value(json_object_get(event, "type"));
	json_t *fields = json_object_get(event, "fields");
	size_t cap = rs->n + 1;
	decide_ctx c = { .x = x,
			 .o = o,
			 .eid = json_string_value(json_object_get(event, "eid")),
			 .event_id = json_string_value(json_object_get(event, "id")),
			 .time = (long long)json_integer_value(json_object_get(event, "time")),
			 .explain = json_pack("{s:s,s:s,s:[]}", "event",
					      json_string_value(json_object_get(event, "id")), "type", type, "rules"),
			 .d = calloc(cap, sizeof(store_decision)),
			 .sc = calloc(cap, sizeof(store_state_change)),
			 .timers = calloc(cap, sizeof(store_event)),
			 .timer_fields = json_array(),
			 .timer_ids = calloc(cap, sizeof(*c.timer_ids)),
			 .details = calloc(cap, sizeof(*c.details)) };
	int rc = -1;
	json_t *facts = NULL;
	if (!c.d || !c.sc || !c.timers || !c.timer_ids || !c.details) {
		snprintf(why, why_len, "out of memory");
		goto out;
	}
	facts = store_euicc_facts(x->st, c.eid);
	if (!facts)
		json_object_set_new(c.explain, "note", json_string("no such eUICC in the store: nothing decided"));
	else if (!strcmp(type, "timer"))
		decide_timer(&c, rs, fields, facts);
	else
		decide_rules(&c, rs, type, fields, facts);
	rc = store_decide(x->st, seq, c.explain, c.d, c.nd, c.sc, c.ns, c.timers, c.nt, o->campaign, o->validity, why,
			  why_len);
	for (size_t i = 0; !rc && acted && i < c.nd; i++)
		*acted += !strcmp(c.d[i].outcome, "acted");
out:
	for (size_t i = 0; c.d && i < c.nd; i++)
		json_decref(c.d[i].actions);
	free(c.d);
	free(c.sc);
	free(c.timers);
	free(c.timer_ids);
	free(c.details);
	json_decref(c.timer_fields);
	json_decref(c.explain);
	json_decref(facts);
	return rc;
}
