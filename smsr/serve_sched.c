/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What `smsr serve` runs besides answering requests: the API's jobs (as soon as they are stored), the
 * rules engine (events decided, their jobs run), every campaign that is ready, and the live feed of
 * what happened (jobs, campaigns, events, traces) to SSE clients and webhooks. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "rules.h"
#include "serve.h"

void feed_init(feed *f)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	f->next = 1;
}

void feed_free(feed *f)
{
	for (size_t i = 0; i < FEED_KEEP; i++)
		free(f->msg[i]);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
}

void feed_publish(feed *f, const char *type, json_t *data)
{
	char *js = json_dumps(data, JSON_COMPACT);
	json_decref(data);
	if (!js)
		return;
	pthread_mutex_lock(&f->lock);
	long long n = f->next++;
	size_t len = strlen(js) + strlen(type) + 64;
	char *m = malloc(len);
	if (m)
		snprintf(m, len, "id: %lld\nevent: %s\ndata: %s\n\n", n, type, js);
	free(f->msg[n % FEED_KEEP]);
	f->msg[n % FEED_KEEP] = m;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	free(js);
	if (f->wake)
		f->wake(f->wake_ctx);
}

/* the notification (ES4 Handle...Notification, ES2 download) a finished job stands for, NULL: none */
static const char *notification_of(const char *op)
{
	static const char *const map[][2] = {
		{ "enable", "profile.enabled" },
		{ "disable", "profile.disabled" },
		{ "delete", "profile.deleted" },
		{ "download", "download.completed" },
		{ "swap", "profile.swapped" },
		{ "set-fallback", "profile.fallback-attribute-set" },
		{ "set-emergency", "profile.emergency-attribute-set" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(op, map[i][0]))
			return map[i][1];
	return NULL;
}

static void on_job(void *ctx, json_t *res)
{
	sched *s = ctx;
	const char *state = json_string_value(json_object_get(res, "state"));
	const char *op = json_string_value(json_object_get(res, "operation"));
	feed_publish(&s->feed, "job", json_incref(res));
	if (!state || !strcmp(state, "new"))
		return; /* tried again later: not an outcome yet */
	webhooks_send(s->hooks, "job.finished", res);
	const char *n = op && !strcmp(state, "done") ? notification_of(op) : NULL;
	if (n) {
		json_t *d = json_pack("{s:O,s:O,s:O}", "eid", json_object_get(res, "eid"), "job",
				      json_object_get(res, "job"), "operation", json_object_get(res, "operation"));
		if (json_object_get(res, "iccid"))
			json_object_set(d, "iccid", json_object_get(res, "iccid"));
		webhooks_send(s->hooks, n, d);
		feed_publish(&s->feed, "notification", json_pack("{s:s,s:O}", "type", n, "data", d));
		json_decref(d);
	}
}

static void on_progress(void *ctx, json_t *counts, double elapsed)
{
	(void)ctx;
	(void)counts;
	(void)elapsed;
}

static void on_trace(void *ctx, const char *eid, const char *line)
{
	sched *s = ctx;
	pthread_mutex_lock(&s->feed.lock);
	bool listened = s->feed.listeners > 0;
	pthread_mutex_unlock(&s->feed.lock);
	if (listened)
		feed_publish(&s->feed, "trace", json_pack("{s:s,s:s}", "eid", eid, "line", line));
}

static void run_opts(sched *s, smsr_run_opts *o, bool due_only)
{
	*o = (smsr_run_opts){ .on_job = on_job,
			      .on_progress = on_progress,
			      .on_trace = on_trace,
			      .ctx = s,
			      .stop = s->stop,
			      .due_only = due_only };
}

static bool wait_poke(sched *s, long ms)
{
	struct timespec t;
	deadline_in(&t, ms);
	pthread_mutex_lock(&s->lock);
	while (!s->poke && !*s->stop)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &t) == ETIMEDOUT)
			break;
	bool poked = s->poke;
	s->poke = false;
	pthread_mutex_unlock(&s->lock);
	return poked;
}

void sched_poke(sched *s)
{
	pthread_mutex_lock(&s->lock);
	s->poke = true;
	s->gen++;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

typedef struct {
	sched *s;
	long long id;
} runner_arg;

/* one campaign run to its end (done, paused, cancelled), as `smsr campaign run` would */
static void *campaign_runner(void *arg)
{
	runner_arg *a = arg;
	sched *s = a->s;
	smsr_run_opts o;
	run_opts(s, &o, false);
	char why[700];
	feed_publish(&s->feed, "campaign", json_pack("{s:I,s:s}", "id", (json_int_t)a->id, "state", "running"));
	int rc = smsr_campaign_run(&s->proto, a->id, &o, why, sizeof(why));
	if (rc)
		fprintf(stderr, "serve: campaign %lld: %s\n", a->id, why);
	smsr_core x;
	memset(&x, 0, sizeof(x));
	x.db_path = s->proto.db_path;
	char w2[300], st[16];
	if (!smsr_core_open(&x, w2, sizeof(w2))) {
		/* a server that stops leaves its campaigns ready for the next one (a failure limit's pause
		 * stays) */
		if (!rc && *s->stop && !why[0] && !store_campaign_state(x.st, a->id, st, sizeof(st)) &&
		    !strcmp(st, "paused"))
			store_campaign_move(x.st, a->id, "paused", "ready");
		json_t *c = store_campaign(x.st, a->id);
		if (c) {
			webhooks_send(s->hooks, "campaign.ended", c);
			feed_publish(&s->feed, "campaign", c);
		}
		smsr_core_close(&x);
	}
	pthread_mutex_lock(&s->lock);
	char key[24];
	snprintf(key, sizeof(key), "%lld", a->id);
	json_object_del(s->running, key);
	s->runners--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	free(a);
	return NULL;
}

/* campaigns that are ready and not the API's, the rules' or a decision's: each gets a runner */
static void start_ready(sched *s, smsr_store *st, long long rules_campaign)
{
	json_t *l = store_campaigns(st, "ready"), *c, *decided = store_decided_campaigns(st);
	size_t i, k;
	json_array_foreach(l, i, c)
	{
		long long id = (long long)json_integer_value(json_object_get(c, "id"));
		const char *op = json_string_value(json_object_get(c, "op"));
		bool skip = !strcmp(op, "api") || !strcmp(op, "rules") || id == rules_campaign;
		json_t *d;
		json_array_foreach(decided, k, d) skip |= (long long)json_integer_value(d) == id;
		char key[24];
		snprintf(key, sizeof(key), "%lld", id);
		pthread_mutex_lock(&s->lock);
		skip |= json_object_get(s->running, key) != NULL || s->runners >= 8;
		runner_arg *a = skip ? NULL : malloc(sizeof(*a));
		pthread_t th;
		if (a) {
			*a = (runner_arg){ s, id };
			json_object_set_new(s->running, key, json_true());
			s->runners++;
			if (pthread_create(&th, NULL, campaign_runner, a)) {
				json_object_del(s->running, key);
				s->runners--;
				free(a);
			} else {
				pthread_detach(th);
			}
		}
		pthread_mutex_unlock(&s->lock);
	}
	json_decref(decided);
	json_decref(l);
}

/* new events (and the notifications among them) to the feed and the webhooks */
static void feed_events(sched *s, smsr_store *st, long long *last)
{
	json_t *l = store_events_after(st, *last, 500), *e;
	size_t i;
	json_array_foreach(l, i, e)
	{
		*last = (long long)json_integer_value(json_object_get(e, "seq"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *kind = json_string_value(json_object_get(json_object_get(e, "fields"), "kind"));
		if (type && kind && !strcmp(type, "notification") && !strcmp(kind, "fall-back")) {
			json_t *d = json_pack("{s:O,s:O}", "eid", json_object_get(e, "eid"), "fields",
					      json_object_get(e, "fields"));
			webhooks_send(s->hooks, "profile.fallback", d);
			feed_publish(&s->feed, "notification",
				     json_pack("{s:s,s:o}", "type", "profile.fallback", "data", d));
		}
		feed_publish(&s->feed, "event", json_incref(e));
	}
	json_decref(l);
}

typedef struct {
	ruleset rs;
	long long version;
	bool have;
} rules_view;

static void rules_reload(smsr_store *st, rules_view *v)
{
	json_t *cur = store_ruleset(st);
	long long latest = (long long)json_integer_value(json_object_get(cur, "version"));
	if (cur && latest != v->version) {
		const char *text = json_string_value(json_object_get(cur, "text"));
		ruleset next;
		char why[700];
		if (!rules_parse(text, strlen(text), &next, why, sizeof(why))) {
			if (v->have)
				rules_free(&v->rs);
			v->rs = next;
			v->have = true;
			fprintf(stderr, "serve: deciding with rules version %lld (%zu rules)\n", latest, next.n);
		}
		v->version = latest;
	}
	json_decref(cur);
}

/* the rules engine's step: due events decided, then the jobs due of its campaigns */
static void rules_step(sched *s, smsr_core *x, rules_view *v, long long campaign)
{
	rules_reload(x->st, v);
	rules_opts ro = { .dry_run = false, .campaign = campaign, .validity = 86400 };
	json_t *ev;
	int acted = 0, n = 0;
	char why[700];
	while (v->have && n++ < 500 && !*s->stop && (ev = store_event_due(x->st, store_now())) != NULL) {
		int rc = rules_decide(x, &v->rs, ev, &ro, &acted, why, sizeof(why));
		json_decref(ev);
		if (rc) {
			fprintf(stderr, "serve: rules: %s\n", why);
			break;
		}
	}
	json_t *ids = store_decided_campaigns(x->st), *id;
	json_array_insert_new(ids, 0, json_integer(campaign));
	size_t i;
	smsr_run_opts o;
	run_opts(s, &o, true);
	json_array_foreach(ids, i, id)
	{
		long long cid = (long long)json_integer_value(id);
		if (*s->stop || !store_campaign_waiting(x->st, cid))
			continue;
		if (smsr_campaign_run(&s->proto, cid, &o, why, sizeof(why)))
			fprintf(stderr, "serve: rules campaign %lld: %s\n", cid, why);
	}
	json_decref(ids);
}

static pthread_t sched_thread, api_thread;

/* an API worker with nothing to do waits for the next poke (a job stored), or 200 ms at most (a retry
 * coming due) */
static void api_idle(void *ctx)
{
	sched *s = ctx;
	struct timespec t;
	deadline_in(&t, 200);
	pthread_mutex_lock(&s->lock);
	long long g = s->gen;
	while (g == s->gen && !*s->stop)
		if (pthread_cond_timedwait(&s->cond, &s->lock, &t) == ETIMEDOUT)
			break;
	pthread_mutex_unlock(&s->lock);
}

/* the API's jobs: one run of their campaign that stays open, its workers woken as each job is stored */
static void *api_main(void *arg)
{
	sched *s = arg;
	smsr_run_opts o;
	run_opts(s, &o, false);
	o.idle = api_idle;
	o.ctx = s;
	char why[700];
	while (!*s->stop) {
		if (smsr_campaign_run(&s->proto, s->api_campaign, &o, why, sizeof(why))) {
			fprintf(stderr, "serve: API jobs: %s\n", why);
			sleep(1);
		}
	}
	return NULL;
}

static void *sched_main(void *arg)
{
	sched *s = arg;
	smsr_core x;
	memset(&x, 0, sizeof(x));
	x.db_path = s->proto.db_path;
	x.pki_dir = s->proto.pki_dir;
	x.kek_path = s->proto.kek_path;
	char why[700];
	if (smsr_core_open(&x, why, sizeof(why))) {
		fprintf(stderr, "serve: %s\n", why);
		return NULL;
	}
	json_t *tail = store_events_of(x.st, NULL, 1);
	long long last = (long long)json_integer_value(json_object_get(json_array_get(tail, 0), "seq"));
	json_decref(tail);
	rules_view v = { .have = false };
	long long rules_campaign = s->rules ? store_rules_campaign(x.st, s->concurrency, 2, 86400) : 0;
	while (!*s->stop) {
		if (s->rules && rules_campaign > 0)
			rules_step(s, &x, &v, rules_campaign);
		feed_events(s, x.st, &last);
		start_ready(s, x.st, rules_campaign);
		wait_poke(s, 500);
	}
	if (v.have)
		rules_free(&v.rs);
	smsr_core_close(&x);
	return NULL;
}

int sched_start(sched *s, char *why, size_t why_len)
{
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->running = json_object();
	/* the rules engine runs here unless `smsr rules run` runs it already */
	char lp[4200], def[1024];
	snprintf(lp, sizeof(lp), "%s.rules.lock",
		 s->proto.db_path ? s->proto.db_path : store_default_path(def, sizeof(def)));
	s->rules_lock = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	s->rules = s->rules_lock >= 0 && !flock(s->rules_lock, LOCK_EX | LOCK_NB);
	if (!s->rules)
		fprintf(stderr, "serve: another process runs the rules engine on this store (%s): not run here\n", lp);
	if (pthread_create(&sched_thread, NULL, sched_main, s) || pthread_create(&api_thread, NULL, api_main, s)) {
		snprintf(why, why_len, "cannot start the scheduler: %s", strerror(errno));
		return -1;
	}
	return 0;
}

void sched_stop(sched *s)
{
	sched_poke(s);
	pthread_join(sched_thread, NULL);
	pthread_join(api_thread, NULL);
	pthread_mutex_lock(&s->lock);
	while (s->runners > 0)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
	json_decref(s->running);
	if (s->rules_lock >= 0)
		close(s->rules_lock);
}
