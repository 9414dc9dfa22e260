/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The rules file (rules.h, docs/rules.md): YAML through libyaml's document API, so that every fault
 * names the line it is on and the field (when.mcc, then.pool, ...). JSON is YAML too. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "campaign.h"
#include "host/cli.h"
#include "rules.h"

typedef struct {
	yaml_document_t doc;
	char *why;
	size_t why_len;
} parser;

static yaml_node_t *node(parser *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

static int line_of(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int fail(parser *p, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
	char m[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	snprintf(p->why, p->why_len, "line %d: %s: %s", line_of(n), path, m);
	return -1;
}

/* the keys of a mapping must be scalars, each once, and among allowed (NULL: any) */
static int check_keys(parser *p, yaml_node_t *m, const char *path, const char *const *allowed, const char *list)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return fail(p, m, path, "expected a mapping (key: value lines)");
	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top; a++) {
		const char *k = scalar(node(p, a->key));
		if (!k || !*k)
			return fail(p, node(p, a->key), path, "a key must be a plain word");
		for (yaml_node_pair_t *b = m->data.mapping.pairs.start; b < a; b++)
			if (!strcmp(k, scalar(node(p, b->key))))
				return fail(p, node(p, a->key), path, "'%s' is given twice", k);
		if (!allowed)
			continue;
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			ok |= !strcmp(k, allowed[i]);
		if (!ok)
			return fail(p, node(p, a->key), path, "unknown key '%s' (expected %s)", k, list);
	}
	return 0;
}

static yaml_node_t *get(parser *p, yaml_node_t *m, const char *key)
{
	if (!m || m->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *a = m->data.mapping.pairs.start; a < m->data.mapping.pairs.top; a++)
		if (!strcmp(scalar(node(p, a->key)), key))
			return node(p, a->value);
	return NULL;
}

long long rules_duration(const char *s)
{
	return cli_duration(s);
}

/* a number, with a size unit (kB MB GB: powers of 1000; KiB MiB GiB: of 1024); -1 when not one */
static int number(const char *s, double *out)
{
	if (!s || !*s)
		return -1;
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (end == s || errno)
		return -1;
	static const struct {
		const char *u;
		double f;
	} units[] = { { "", 1 },
		      { "B", 1 },
		      { "kB", 1e3 },
		      { "KB", 1e3 },
		      { "MB", 1e6 },
		      { "GB", 1e9 },
		      { "TB", 1e12 },
		      { "KiB", 1024.0 },
		      { "MiB", 1048576.0 },
		      { "GiB", 1073741824.0 },
		      { "TiB", 1099511627776.0 } };
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strcmp(end, units[i].u)) {
			*out = v * units[i].f;
			return 0;
		}
	return -1;
}

/* ---- when: the event type and the conditions on its fields ---- */

static const struct {
	const char *type, *fields, *enum_field, *enum_values;
} event_types[] = {
	{ "location", "mcc mnc lac tac cell status", "status", "service no-service limited" },
	{ "data-usage", "bytes period", NULL, NULL },
	{ "connectivity", "status", "status", "service no-service limited" },
	{ "notification", "kind seq aid iccid", "kind", "declaration profile-change change-failed fall-back other" },
	{ "job", "state op kind job campaign decision rule message", "state", "done failed expired cancelled" },
	{ "audit-mismatch", "what aid iccid store card", "what", "state fallback missing-on-card unknown-to-store" },
};

static int type_index(const char *t)
{
	for (size_t i = 0; i < sizeof(event_types) / sizeof(event_types[0]); i++)
		if (!strcmp(event_types[i].type, t))
			return (int)i;
	return -1;
}

static bool in_words(const char *words, const char *w)
{
	size_t n = strlen(w);
	if (!n)
		return false; /* an empty key (an anchor alone) is no word */
	for (const char *c = words; (c = strstr(c, w)) != NULL; c += n)
		if ((c == words || c[-1] == ' ') && (c[n] == ' ' || !c[n]))
			return true;
	return false;
}

int rules_event_parse(json_t *o, store_event *e, long long now, char *why, size_t why_len)
{
	memset(e, 0, sizeof(*e));
	if (!json_is_object(o))
		return snprintf(why, why_len, "expected a JSON object"), -1;
	const char *id = json_string_value(json_object_get(o, "id")),
		   *type = json_string_value(json_object_get(o, "type"));
	const char *eid = json_string_value(json_object_get(o, "eid"));
	if (json_object_get(o, "id") && (!id || !*id || strlen(id) > 128))
		return snprintf(why, why_len, "field 'id': expected a text of 1 to 128 characters"), -1;
	if (!eid || !*eid)
		return snprintf(why, why_len, "field 'eid': missing"), -1;
	if (!type || type_index(type) < 0)
		return snprintf(why, why_len,
				"field 'type': expected one of location, data-usage, connectivity, notification, job, "
				"audit-mismatch"),
		       -1;
	json_t *t = json_object_get(o, "time");
	e->time = now;
	if (json_is_integer(t) && json_integer_value(t) > 0)
		e->time = (long long)json_integer_value(t);
	else if (t && cli_time(json_string_value(t), &e->time))
		return snprintf(why, why_len, "field 'time': expected seconds since 1970 or 2026-01-01T00:00:00Z"), -1;
	json_t *f = json_object_get(o, "fields"), *v;
	if (f && !json_is_object(f))
		return snprintf(why, why_len, "field 'fields': expected an object"), -1;
	e->fields = f ? json_deep_copy(f) : json_object();
	const char *k;
	json_object_foreach(o, k, v) if (strcmp(k, "id") && strcmp(k, "eid") && strcmp(k, "type") &&
					 strcmp(k, "time") && strcmp(k, "fields")) json_object_set(e->fields, k, v);
	/* what the network reports is checked as the rules would read it: a misspelt field would match
	 * no rule, silently */
	bool network = !strcmp(type, "location") || !strcmp(type, "data-usage") || !strcmp(type, "connectivity");
	json_object_foreach(e->fields, k, v)
	{
		if (network && rules_event_field(type, k, json_string_value(v), why, why_len)) {
			json_decref(e->fields);
			e->fields = NULL;
			return -1;
		}
	}
	e->id = id;
	e->eid = eid;
	e->type = type;
	return 0;
}

int rules_event_field(const char *type, const char *field, const char *value, char *why, size_t why_len)
{
	int ti = type_index(type);
	if (ti < 0)
		return 0; /* not a type rules take: nothing to check */
	if (!in_words(event_types[ti].fields, field)) {
		snprintf(why, why_len, "field '%s': %s events have no such field (%s)", field, type,
			 event_types[ti].fields);
		return -1;
	}
	const char *ef = event_types[ti].enum_field;
	if (value && ef && !strcmp(ef, field) && !in_words(event_types[ti].enum_values, value)) {
		snprintf(why, why_len, "field '%s': '%s' is not one of %s", field, value, event_types[ti].enum_values);
		return -1;
	}
	return 0;
}

static int enum_ok(parser *p, int ti, const char *field, yaml_node_t *n, const char *v, const char *path)
{
	const char *ef = event_types[ti].enum_field;
	if (ef && !strcmp(ef, field) && !in_words(event_types[ti].enum_values, v))
		return fail(p, n, path, "'%s' is not a %s %s (%s)", v, event_types[ti].type, field,
			    event_types[ti].enum_values);
	return 0;
}

static int cond_value(parser *p, rule *r, int ti, const char *field, const char *op, yaml_node_t *v, const char *path)
{
	if (r->n_conds >= RULE_MAX_CONDS)
		return fail(p, v, path, "more than %d conditions in one rule", RULE_MAX_CONDS);
	rule_cond *c = &r->conds[r->n_conds];
	memset(c, 0, sizeof(*c));
	snprintf(c->field, sizeof(c->field), "%s", field);
	c->line = line_of(v);
	static const char *const names[] = { "equals", "not", "in", "prefix", "range", "above", "below" };
	size_t k = 0;
	while (k < 7 && strcmp(names[k], op))
		k++;
	if (k == 7)
		return fail(p, v, path, "unknown test '%s' (equals, not, in, prefix, range, above, below)", op);
	c->kind = (rule_cond_kind)k;
	const char *s = scalar(v);
	if (c->kind == COND_IN) {
		if (!v || v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.start == v->data.sequence.items.top)
			return fail(p, v, path, "'in' takes a list of values, [a, b]");
		c->value = json_array();
		for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
			const char *e = scalar(node(p, *i));
			if (!e || enum_ok(p, ti, field, node(p, *i), e, path)) {
				json_decref(c->value);
				return e ? -1 : fail(p, node(p, *i), path, "a value of 'in' must be a plain value");
			}
			json_array_append_new(c->value, json_string(e));
		}
	} else if (c->kind == COND_RANGE) {
		yaml_node_item_t *i = v && v->type == YAML_SEQUENCE_NODE ? v->data.sequence.items.start : NULL;
		if (!i || v->data.sequence.items.top - i != 2 || number(scalar(node(p, i[0])), &c->lo) ||
		    number(scalar(node(p, i[1])), &c->hi))
			return fail(p, v, path, "'range' takes two numbers, [low, high]");
		if (c->lo > c->hi)
			return fail(p, v, path, "the range [%g, %g] is empty (low above high)", c->lo, c->hi);
	} else if (c->kind == COND_ABOVE || c->kind == COND_BELOW) {
		double d;
		if (number(s, &d))
			return fail(p, v, path, "'%s' takes a number (units kB MB GB, KiB MiB GiB allowed)", op);
		c->lo = c->hi = d;
	} else {
		if (!s)
			return fail(p, v, path, "'%s' takes one plain value", op);
		if (enum_ok(p, ti, field, v, s, path))
			return -1;
		c->value = json_string(s);
	}
	r->n_conds++;
	return 0;
}

static int parse_when(parser *p, rule *r, yaml_node_t *w)
{
	if (check_keys(p, w, "when", NULL, NULL))
		return -1;
	yaml_node_t *t = get(p, w, "type");
	const char *ts = scalar(t);
	if (!ts)
		return fail(p, t ? t : w, "when.type",
			    "every rule needs an event type (location, data-usage, "
			    "connectivity, notification, job, audit-mismatch)");
	int ti = type_index(ts);
	if (ti < 0)
		return fail(p, t, "when.type",
			    "unknown event type '%s' (location, data-usage, connectivity, notification, job, "
			    "audit-mismatch)%s",
			    ts, !strcmp(ts, "timer") ? "; timers are the engine's own, see hold" : "");
	snprintf(r->type, sizeof(r->type), "%s", ts);
	for (yaml_node_pair_t *a = w->data.mapping.pairs.start; a < w->data.mapping.pairs.top; a++) {
		const char *k = scalar(node(p, a->key));
		yaml_node_t *v = node(p, a->value);
		if (!strcmp(k, "type"))
			continue;
		char path[80];
		snprintf(path, sizeof(path), "when.%s", k);
		if (strlen(k) >= sizeof(r->conds[0].field) || !in_words(event_types[ti].fields, k))
			return fail(p, node(p, a->key), path, "%s events have no field '%s' (%s)", ts, k,
				    event_types[ti].fields);
		if (v->type == YAML_MAPPING_NODE) {
			if (check_keys(p, v, path, NULL, NULL))
				return -1;
			for (yaml_node_pair_t *b = v->data.mapping.pairs.start; b < v->data.mapping.pairs.top; b++)
				if (cond_value(p, r, ti, k, scalar(node(p, b->key)), node(p, b->value), path))
					return -1;
		} else if (cond_value(p, r, ti, k, v->type == YAML_SEQUENCE_NODE ? "in" : "equals", v, path)) {
			return -1;
		}
	}
	/* conditions on one field that can never all hold */
	for (size_t i = 0; i < r->n_conds; i++)
		for (size_t j = i + 1; j < r->n_conds; j++) {
			const rule_cond *a = &r->conds[i], *b = &r->conds[j];
			if (strcmp(a->field, b->field))
				continue;
			bool never = (a->kind == COND_EQUALS && b->kind == COND_EQUALS &&
				      !json_equal(a->value, b->value)) ||
				(a->kind == COND_ABOVE && b->kind == COND_BELOW && a->lo >= b->hi) ||
				(a->kind == COND_BELOW && b->kind == COND_ABOVE && b->lo >= a->hi);
			if (never)
				return fail(p, w, "when", "the conditions on '%s' (lines %d and %d) can never all hold",
					    a->field, a->line, b->line);
		}
	return 0;
}

/* ---- for: which eUICCs ---- */

static json_t *names_of(parser *p, yaml_node_t *v, const char *path)
{
	json_t *a = json_array();
	if (scalar(v)) {
		json_array_append_new(a, json_string(scalar(v)));
		return a;
	}
	if (v && v->type == YAML_SEQUENCE_NODE && v->data.sequence.items.start < v->data.sequence.items.top) {
		for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
			if (!scalar(node(p, *i))) {
				json_decref(a);
				fail(p, node(p, *i), path, "expected a name");
				return NULL;
			}
			json_array_append_new(a, json_string(scalar(node(p, *i))));
		}
		return a;
	}
	json_decref(a);
	fail(p, v, path, "expected a name or a list of names");
	return NULL;
}

static int parse_for(parser *p, rule *r, yaml_node_t *f)
{
	static const char *const keys[] = { "tag", "operator", "not-operator", "state", NULL };
	if (check_keys(p, f, "for", keys, "tag, operator, not-operator, state"))
		return -1;
	yaml_node_t *v;
	if ((v = get(p, f, "tag"))) {
		if (check_keys(p, v, "for.tag", NULL, NULL))
			return -1;
		r->tags = json_object();
		for (yaml_node_pair_t *a = v->data.mapping.pairs.start; a < v->data.mapping.pairs.top; a++) {
			const char *val = scalar(node(p, a->value));
			if (!val)
				return fail(p, node(p, a->value), "for.tag", "a tag's value must be a plain value");
			json_object_set_new(r->tags, scalar(node(p, a->key)), json_string(val));
		}
	}
	if ((v = get(p, f, "operator")) && !(r->operators = names_of(p, v, "for.operator")))
		return -1;
	if ((v = get(p, f, "not-operator")) && !(r->not_operators = names_of(p, v, "for.not-operator")))
		return -1;
	if ((v = get(p, f, "state"))) {
		const char *s = scalar(v);
		if (!s || !in_words("installed selectable personalized disabled enabled", s))
			return fail(p, v, "for.state",
				    "expected an ISD-P state (installed, selectable, personalized, disabled, enabled)");
		snprintf(r->state, sizeof(r->state), "%s", s);
	}
	return 0;
}

/* ---- then: the actions, each a job of the SM-SR core ---- */

static int action_arg(parser *p, yaml_node_t *m, const char *key, json_t *args, const char *as, const char *path,
		      bool need)
{
	yaml_node_t *v = get(p, m, key);
	char pk[80];
	snprintf(pk, sizeof(pk), "%s.%s", path, key);
	if (!v)
		return need ? fail(p, m, pk, "missing (this operation needs it)") : 0;
	if (!scalar(v))
		return fail(p, v, pk, "expected a plain value");
	json_object_set_new(args, as, json_string(scalar(v)));
	return 0;
}

static int profile_target_ok(parser *p, yaml_node_t *m, const char *path)
{
	yaml_node_t *v = get(p, m, "profile");
	const char *t = scalar(v);
	if (!t)
		return 0;
	size_t n = strlen(t);
	bool digits = strspn(t, "0123456789") == n, hex = strspn(t, "0123456789abcdefABCDEF") == n;
	if (!strcmp(t, "enabled") || (!strncmp(t, "pool:", 5) && t[5]) || (!strncmp(t, "operator:", 9) && t[9]) ||
	    (digits && (n == 19 || n == 20)) || (hex && n == 32))
		return 0;
	char pk[80];
	snprintf(pk, sizeof(pk), "%s.profile", path);
	return fail(p, v, pk, "'%s' names no profile (an ICCID, an ISD-P AID, enabled, pool:P or operator:NAME)", t);
}

static json_t *one_action(parser *p, yaml_node_t *m, const char *path, bool nested)
{
	static const char *const keys[] = { "op",   "profile", "pool",	 "old",		"iccid",    "smsc",
					    "pol1", "delay",   "target", "concurrency", "campaign", NULL };
	if (check_keys(p, m, path, keys,
		       "op, profile, pool, old, iccid, smsc, pol1, delay, target, concurrency, campaign"))
		return NULL;
	char pk[80];
	snprintf(pk, sizeof(pk), "%s.op", path);
	yaml_node_t *opn = get(p, m, "op");
	const char *op = scalar(opn);
	if (!op || (!(!nested && !strcmp(op, "campaign")) && !smsr_job_op_known(op))) {
		fail(p, opn ? opn : m, pk,
		     "%s'%s' is not an operation (enable, disable, delete, set-fallback, set-emergency, set-pol1, "
		     "audit, swap, download, update-connectivity%s)",
		     op && nested && !strcmp(op, "campaign") ? "a campaign cannot start a campaign: " : "",
		     op ? op : "", nested ? "" : ", campaign");
		return NULL;
	}
	json_t *args = json_object();
	bool target = !strcmp(op, "enable") || !strcmp(op, "disable") || !strcmp(op, "delete") ||
		!strcmp(op, "set-fallback") || !strcmp(op, "set-emergency") || !strcmp(op, "set-pol1");
	int rc = action_arg(p, m, "profile", args, "target", path, target) || profile_target_ok(p, m, path) ||
		action_arg(p, m, "pool", args, "pool", path, !strcmp(op, "swap")) ||
		action_arg(p, m, "old", args, "old", path, false) ||
		action_arg(p, m, "iccid", args, "iccid", path, false) ||
		action_arg(p, m, "smsc", args, "smsc", path, !strcmp(op, "update-connectivity")) ||
		action_arg(p, m, "pol1", args, "pol1", path, !strcmp(op, "set-pol1"));
	const char *old = json_string_value(json_object_get(args, "old"));
	if (!rc && old && strcmp(old, "fallback") && strcmp(old, "delete"))
		rc = fail(p, get(p, m, "old"), "then.old", "'%s': expected fallback (keep it as fall-back) or delete",
			  old);
	if (!rc && !strcmp(op, "download") && !json_object_get(args, "pool") == !json_object_get(args, "iccid"))
		rc = fail(p, m, path, "download takes one of pool and iccid");
	long long delay = 0;
	yaml_node_t *d = get(p, m, "delay");
	if (!rc && d && (delay = rules_duration(scalar(d))) < 0)
		rc = fail(p, d, "then.delay", "'%s' is not a duration (30s, 10m, 2h, 1d, 1h30m)", scalar(d));
	if (!rc && !strcmp(op, "campaign")) {
		yaml_node_t *c = get(p, m, "campaign"), *tg = get(p, m, "target");
		json_t *inner = c ? one_action(p, c, "then.campaign", true) : NULL;
		if (!c)
			rc = fail(p, m, path, "a campaign action needs campaign: {op: ..., ...} and target:");
		else if (!inner)
			rc = -1;
		else if (!scalar(tg))
			rc = fail(p, tg ? tg : m, "then.target",
				  "a campaign needs a target (all, tag:K=V, operator:NAME)");
		if (!rc) {
			json_object_set(args, "run", inner);
			json_object_set_new(args, "target", json_string(scalar(tg)));
			yaml_node_t *cc = get(p, m, "concurrency");
			long conc = cc ? strtol(scalar(cc) ? scalar(cc) : "x", NULL, 10) : 2;
			if (conc < 1 || conc > 64)
				rc = fail(p, cc, "then.concurrency", "expected 1 to 64");
			json_object_set_new(args, "concurrency", json_integer(conc));
		}
		json_decref(inner);
	}
	if (rc) {
		json_decref(args);
		return NULL;
	}
	return json_pack("{s:s,s:o,s:I}", "op", op, "args", args, "delay", (json_int_t)delay);
}

static int parse_then(parser *p, rule *r, yaml_node_t *t)
{
	r->actions = json_array();
	if (t && t->type == YAML_MAPPING_NODE) {
		json_t *a = one_action(p, t, "then", false);
		return a ? json_array_append_new(r->actions, a) : -1;
	}
	if (!t || t->type != YAML_SEQUENCE_NODE || t->data.sequence.items.start == t->data.sequence.items.top)
		return fail(p, t, "then", "expected an action (op: ...) or a list of them");
	for (yaml_node_item_t *i = t->data.sequence.items.start; i < t->data.sequence.items.top; i++) {
		json_t *a = one_action(p, node(p, *i), "then", false);
		if (!a)
			return -1;
		json_array_append_new(r->actions, a);
	}
	return 0;
}

/* ---- a rule ---- */

static int duration_of(parser *p, yaml_node_t *v, const char *path, long long *out)
{
	*out = rules_duration(scalar(v));
	return *out < 0
		? fail(p, v, path, "'%s' is not a duration (30s, 10m, 2h, 1d, 1h30m)", scalar(v) ? scalar(v) : "")
		: 0;
}

static int count_of(parser *p, yaml_node_t *v, const char *path, long long *out)
{
	const char *s = scalar(v);
	char *end = NULL;
	*out = s ? strtoll(s, &end, 10) : 0;
	return !s || *end || *out < 1 || *out > 1000000 ? fail(p, v, path, "expected a whole number, 1 or more") : 0;
}

static int parse_rule(parser *p, rule *r, yaml_node_t *m)
{
	static const char *const keys[] = {
		"name", "when", "for", "then", "hold", "cooldown", "limit", "priority", NULL
	};
	if (check_keys(p, m, "rule", keys, "name, when, for, then, hold, cooldown, limit, priority"))
		return -1;
	r->line = line_of(m);
	yaml_node_t *v = get(p, m, "name");
	const char *name = scalar(v);
	if (!name || !*name || strlen(name) >= sizeof(r->name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(name))
		return fail(p, v ? v : m, "name",
			    "every rule needs a name of letters, digits, '.', '_', '-' (63 at most)");
	snprintf(r->name, sizeof(r->name), "%s", name);
	if (!get(p, m, "when") || !get(p, m, "then"))
		return fail(p, m, r->name, "a rule needs when: and then:");
	if (parse_when(p, r, get(p, m, "when")) || ((v = get(p, m, "for")) && parse_for(p, r, v)) ||
	    parse_then(p, r, get(p, m, "then")))
		return -1;
	if ((v = get(p, m, "hold"))) {
		if (scalar(v)) {
			if (duration_of(p, v, "hold", &r->hold_for))
				return -1;
		} else {
			static const char *const hk[] = { "for", "count", NULL };
			if (check_keys(p, v, "hold", hk, "for, count") ||
			    (get(p, v, "for") && duration_of(p, get(p, v, "for"), "hold.for", &r->hold_for)) ||
			    (get(p, v, "count") && count_of(p, get(p, v, "count"), "hold.count", &r->hold_count)))
				return -1;
		}
	}
	if ((v = get(p, m, "cooldown")) && duration_of(p, v, "cooldown", &r->cooldown))
		return -1;
	if ((v = get(p, m, "limit"))) {
		static const char *const lk[] = { "count", "per", NULL };
		if (check_keys(p, v, "limit", lk, "count, per") || !get(p, v, "count") || !get(p, v, "per"))
			return fail(p, v, "limit", "expected count: N and per: DURATION");
		if (count_of(p, get(p, v, "count"), "limit.count", &r->limit_count) ||
		    duration_of(p, get(p, v, "per"), "limit.per", &r->limit_per))
			return -1;
	}
	if ((v = get(p, m, "priority"))) {
		const char *s = scalar(v);
		char *end = NULL;
		long pr = s ? strtol(s, &end, 10) : 0;
		if (!s || *end || pr < -1000 || pr > 1000)
			return fail(p, v, "priority", "expected a whole number from -1000 to 1000");
		r->priority = (int)pr;
	}
	return 0;
}

/* ---- the whole file ---- */

static json_t *cond_json(const rule_cond *c)
{
	static const char *const names[] = { "equals", "not", "in", "prefix", "range", "above", "below" };
	json_t *o = json_pack("{s:s,s:s}", "field", c->field, "test", names[c->kind]);
	if (c->kind == COND_RANGE)
		json_object_set_new(o, "value", json_pack("[f,f]", c->lo, c->hi));
	else if (c->kind == COND_ABOVE || c->kind == COND_BELOW)
		json_object_set_new(o, "value", json_real(c->lo));
	else
		json_object_set(o, "value", c->value);
	return o;
}

static json_t *rule_json(const rule *r)
{
	json_t *conds = json_array(), *f = json_object();
	for (size_t i = 0; i < r->n_conds; i++)
		json_array_append_new(conds, cond_json(&r->conds[i]));
	if (r->tags)
		json_object_set(f, "tag", r->tags);
	if (r->operators)
		json_object_set(f, "operator", r->operators);
	if (r->not_operators)
		json_object_set(f, "not-operator", r->not_operators);
	if (r->state[0])
		json_object_set_new(f, "state", json_string(r->state));
	return json_pack("{s:s,s:i,s:{s:s,s:o},s:o,s:O,s:{s:I,s:I},s:I,s:{s:I,s:I},s:i}", "name", r->name, "line",
			 r->line, "when", "type", r->type, "conditions", conds, "for", f, "then", r->actions, "hold",
			 "for", (json_int_t)r->hold_for, "count", (json_int_t)r->hold_count, "cooldown",
			 (json_int_t)r->cooldown, "limit", "count", (json_int_t)r->limit_count, "per",
			 (json_int_t)r->limit_per, "priority", r->priority);
}

json_t *rules_json(const ruleset *rs)
{
	json_t *a = json_array();
	for (size_t i = 0; i < rs->n; i++)
		json_array_append_new(a, rule_json(&rs->v[i]));
	return a;
}

/* two rules that take the same events for the same eUICCs at the same priority, and do different
 * things: which one acts would depend on their order in the file */
static int contradictions(parser *p, const ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++)
		for (size_t j = i + 1; j < rs->n; j++) {
			const rule *a = &rs->v[i], *b = &rs->v[j];
			if (!strcmp(a->name, b->name)) {
				snprintf(p->why, p->why_len,
					 "line %d: name: rule '%s' is named twice (first on line %d)", b->line, b->name,
					 a->line);
				return -1;
			}
			json_t *ja = rule_json(a), *jb = rule_json(b);
			json_object_del(ja, "name");
			json_object_del(jb, "name");
			json_object_del(ja, "line");
			json_object_del(jb, "line");
			json_t *ta = json_incref(json_object_get(ja, "then")),
			       *tb = json_incref(json_object_get(jb, "then"));
			json_object_del(ja, "then");
			json_object_del(jb, "then");
			bool clash = json_equal(ja, jb) && !json_equal(ta, tb);
			json_decref(ja);
			json_decref(jb);
			json_decref(ta);
			json_decref(tb);
			if (clash) {
				snprintf(
					p->why, p->why_len,
					"line %d: rule '%s' takes the same events for the same eUICCs as rule '%s' "
					"(line "
					"%d) at the same priority, and does something else: give one a higher priority",
					b->line, b->name, a->name, a->line);
				return -1;
			}
		}
	return 0;
}

static int parse_doc(parser *p, ruleset *rs)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	static const char *const keys[] = { "rules", NULL };
	if (!root)
		return fail(p, NULL, "rules", "the file is empty");
	if (check_keys(p, root, "file", keys, "rules"))
		return -1;
	yaml_node_t *list = get(p, root, "rules");
	if (!list || list->type != YAML_SEQUENCE_NODE)
		return fail(p, list ? list : root, "rules", "expected a list of rules (- name: ...)");
	size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
	rs->v = calloc(n ? n : 1, sizeof(rule));
	if (!rs->v)
		return fail(p, list, "rules", "out of memory");
	for (yaml_node_item_t *i = list->data.sequence.items.start; i < list->data.sequence.items.top; i++) {
		rule *r = &rs->v[rs->n++];
		r->index = (int)rs->n - 1;
		if (parse_rule(p, r, node(p, *i)))
			return -1;
	}
	return contradictions(p, rs);
}

int rules_parse(const char *text, size_t len, ruleset *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	yaml_parser_t yp;
	parser p = { .why = why, .why_len = why_len };
	if (!yaml_parser_initialize(&yp)) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	int rc;
	if (!yaml_parser_load(&yp, &p.doc)) {
		snprintf(why, why_len, "line %zu: not YAML: %s%s%s", yp.problem_mark.line + 1,
			 yp.problem ? yp.problem : "unreadable", yp.context ? " " : "", yp.context ? yp.context : "");
		yaml_parser_delete(&yp);
		return -1;
	}
	rc = parse_doc(&p, out);
	yaml_document_delete(&p.doc);
	/* one document only: a second one would be ignored silently */
	if (!rc) {
		yaml_document_t more;
		if (yaml_parser_load(&yp, &more)) {
			if (yaml_document_get_root_node(&more)) {
				snprintf(why, why_len, "line %zu: a second YAML document ('---'): put all rules in one",
					 yp.mark.line);
				rc = -1;
			}
			yaml_document_delete(&more);
		}
	}
	yaml_parser_delete(&yp);
	if (rc)
		rules_free(out);
	return rc;
}

void rules_free(ruleset *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		rule *r = &rs->v[i];
		for (size_t k = 0; k < r->n_conds; k++)
			json_decref(r->conds[k].value);
		json_decref(r->tags);
		json_decref(r->operators);
		json_decref(r->not_operators);
		json_decref(r->actions);
	}
	free(rs->v);
	rs->v = NULL;
	rs->n = 0;
}
