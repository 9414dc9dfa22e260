/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Jobs run and campaigns driven (campaign.h). Every step of a job looks at the store first and skips
 * what is already so; a job that runs again (a retry, a resume after a crash) starts with an audit that
 * settles the store to the card. So a campaign killed at any moment and run again does nothing twice. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "store_int.h"

/* one operation's result folded into the job's: events appended, the rest from the latest */
static int merge(smsr_result *r, smsr_result *sub, int rc)
{
	if (!r->events)
		r->events = json_array();
	if (sub->events)
		json_array_extend(r->events, sub->events);
	if (sub->isdps) {
		json_decref(r->isdps);
		r->isdps = json_incref(sub->isdps);
	}
	if (sub->aid[0])
		memcpy(r->aid, sub->aid, sizeof(r->aid));
	if (sub->iccid[0])
		memcpy(r->iccid, sub->iccid, sizeof(r->iccid));
	r->por = sub->por >= 0 ? sub->por : r->por;
	r->sw = sub->sw ? sub->sw : r->sw;
	r->notifications += sub->notifications;
	r->apdus += sub->apdus;
	r->ms += sub->ms;
	if (rc) {
		r->kind = sub->kind == SMSR_DONE ? SMSR_INTERNAL : sub->kind;
		memcpy(r->msg, sub->msg, sizeof(r->msg));
	}
	smsr_result_free(sub);
	return rc ? -1 : 0;
}

static const char *arg_str(json_t *args, const char *k)
{
	return json_string_value(json_object_get(args, k));
}

/* the ISD-P state of iccid on the card as the store has it ("" when absent) */
static const char *isdp_state(smsr_core *x, const char *iccid, bool *fallback)
{
	static _Thread_local char state[24];
	char aid[33], have[21];
	state[0] = '\0';
	if (fallback)
		*fallback = false;
	if (store_isdp_find(x->st, x->eid, iccid, aid, have) || strcmp(have, iccid))
		return state;
	json_t *l = store_isdps(x->st, x->eid), *p;
	size_t i;
	json_array_foreach(l, i, p) if (!strcmp(json_string_value(json_object_get(p, "aid")), aid))
	{
		snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(p, "state")));
		if (fallback)
			*fallback = json_is_true(json_object_get(p, "fallback"));
	}
	json_decref(l);
	return state;
}

static bool enabled_iccid(smsr_core *x, char out[21])
{
	json_t *e = store_enabled(x->st, x->eid);
	const char *i = json_string_value(json_object_get(e, "iccid"));
	bool found = i != NULL;
	if (found)
		snprintf(out, 21, "%s", i);
	json_decref(e);
	return found;
}

/* the job's target as an ICCID or AID: given, "enabled", "pool:P" (the card's profile from pool P) or
 * "operator:NAME" (the card's profile of that operator, as the SM-DP's inventory knows it);
 * resolved once and kept in the job's step so that a rerun means the same profile */
static int resolve_target(smsr_core *x, json_t *job, json_t *step, char out[40], smsr_result *r)
{
	const char *kept = arg_str(step, "target");
	if (kept) {
		snprintf(out, 40, "%s", kept);
		return 0;
	}
	const char *t = arg_str(json_object_get(job, "args"), "target");
	if (!t)
		return smsr_err(x, SMSR_BAD_INPUT, "job %lld: no target",
				(long long)json_integer_value(json_object_get(job, "id")));
	char iccid[21];
	if (!strcmp(t, "enabled")) {
		if (!enabled_iccid(x, iccid))
			return smsr_err(x, SMSR_NOT_FOUND, "eUICC %s has no enabled profile", x->eid);
		t = iccid;
	} else if (!strncmp(t, "pool:", 5)) {
		if (store_smdp_on_card(x->st, x->eid, t + 5, iccid))
			return smsr_err(x, SMSR_NOT_FOUND, "eUICC %s has no profile from pool %s", x->eid, t + 5);
		t = iccid;
	} else if (!strncmp(t, "operator:", 9)) {
		if (store_smdp_of_operator(x->st, x->eid, t + 9, iccid))
			return smsr_err(x, SMSR_NOT_FOUND, "eUICC %s has no profile of operator %s", x->eid, t + 9);
		t = iccid;
	}
	snprintf(out, 40, "%s", t);
	json_object_set_new(step, "target", json_string(out));
	(void)r;
	return 0;
}

static int keep_step(smsr_core *x, long long id, json_t *step)
{
	/* committed before the next packet: a rerun knows what this run decided */
	if (store_job_update(x->st, id, "running", 0, step, NULL))
		return smsr_err(x, SMSR_INTERNAL, "cannot record the job's step in the store");
	return 0;
}

static int target_job(smsr_core *x, const char *op, json_t *job, json_t *step, smsr_result *r)
{
	char t[40];
	long long id = (long long)json_integer_value(json_object_get(job, "id"));
	if (resolve_target(x, job, step, t, r) || keep_step(x, id, step))
		return -1;
	const char *eid = json_string_value(json_object_get(job, "eid"));
	bool fb = false;
	const char *now = isdp_state(x, t, &fb);
	/* already so: nothing is sent */
	if ((!strcmp(op, "enable") && !strcmp(now, "enabled")) ||
	    (!strcmp(op, "disable") && !strcmp(now, "disabled")) ||
	    (!strcmp(op, "delete") && !*now && json_integer_value(json_object_get(job, "attempts")) > 1) ||
	    (!strcmp(op, "set-fallback") && fb)) {
		smsr_note(x, "%s %s: already so", op, t);
		return 0;
	}
	smsr_result sub;
	int pol1 = (int)json_integer_value(json_object_get(json_object_get(job, "args"), "pol1"));
	int rc = smsr_profile_op(x, op, eid, t, pol1, &sub);
	x->r = r;
	if (!rc && !strcmp(op, "delete"))
		store_smdp_set(x->st, t, "deleted", x->eid); /* a no-op when the profile is not the SM-DP's */
	return merge(r, &sub, rc);
}

/* download from the inventory for this job: the profile it reserved, or a new reservation */
static int download_job(smsr_core *x, json_t *job, char got[21], smsr_result *r)
{
	long long id = (long long)json_integer_value(json_object_get(job, "id"));
	json_t *args = json_object_get(job, "args");
	const char *eid = json_string_value(json_object_get(job, "eid"));
	if (!store_smdp_of_job(x->st, id, got)) {
		if (*isdp_state(x, got, NULL)) {
			store_smdp_set(x->st, got, "installed", x->eid);
			smsr_note(x, "download %s: already on the card", got);
			return 0;
		}
		/* reserved by this job in an earlier attempt: the same profile again, never another */
		smsr_result sub;
		int rc = smsr_download_from_inventory(x, eid, got, NULL, id, &sub);
		x->r = r;
		return merge(r, &sub, rc);
	}
	const char *iccid = arg_str(args, "iccid"), *pool = arg_str(args, "pool");
	smsr_result sub;
	int rc = smsr_download_from_inventory(x, eid, iccid, iccid ? NULL : pool, id, &sub);
	x->r = r;
	snprintf(got, 21, "%s", sub.iccid);
	return merge(r, &sub, rc);
}

static int swap_job(smsr_core *x, json_t *job, json_t *step, smsr_result *r)
{
	long long id = (long long)json_integer_value(json_object_get(job, "id"));
	json_t *args = json_object_get(job, "args");
	const char *eid = json_string_value(json_object_get(job, "eid"));
	if (!json_object_get(step, "old")) {
		char old[21];
		json_object_set_new(step, "old", enabled_iccid(x, old) ? json_string(old) : json_null());
		if (keep_step(x, id, step))
			return -1;
	}
	char got[21];
	if (download_job(x, job, got, r))
		return -1;
	smsr_result sub;
	if (strcmp(isdp_state(x, got, NULL), "enabled")) {
		int rc = smsr_enable_profile(x, eid, got, &sub);
		x->r = r;
		if (merge(r, &sub, rc))
			return -1;
	}
	const char *old = arg_str(step, "old"), *keep = arg_str(args, "old");
	if (old && strcmp(old, got)) {
		bool fb = false;
		const char *st = isdp_state(x, old, &fb);
		int rc = 0;
		smsr_result_init(&sub);
		if (keep && !strcmp(keep, "delete") && *st) {
			rc = smsr_delete_profile(x, eid, old, &sub);
			if (!rc)
				store_smdp_set(x->st, old, "deleted", x->eid);
		} else if ((!keep || strcmp(keep, "delete")) && *st && !fb) {
			rc = smsr_set_fallback_attribute(x, eid, old, &sub);
		}
		x->r = r;
		if (merge(r, &sub, rc))
			return -1;
	}
	snprintf(r->op, sizeof(r->op), "swap");
	snprintf(r->iccid, sizeof(r->iccid), "%s", got);
	r->kind = SMSR_DONE;
	return 0;
}

int smsr_run_job(smsr_core *x, json_t *job, smsr_result *r)
{
	const char *op = json_string_value(json_object_get(job, "op"));
	const char *eid = json_string_value(json_object_get(job, "eid"));
	json_t *args = json_object_get(job, "args");
	json_t *step = json_object_get(job, "step");
	step = json_is_object(step) ? json_deep_copy(step) : json_object();
	smsr_result_init(r);
	snprintf(r->op, sizeof(r->op), "%s", op);
	snprintf(r->eid, sizeof(r->eid), "%s", eid);
	smsr_result sub;
	int rc = 0;
	/* a job that runs again first settles the store to the card: its last attempt's outcome is unknown */
	if (json_integer_value(json_object_get(job, "attempts")) > 1) {
		rc = smsr_audit_eis(x, eid, &sub);
		rc = merge(r, &sub, rc);
	}
	x->r = r;
	if (rc) {
		/* the audit said why */
	} else if (smsr_connect(x, eid)) {
		rc = -1;
	} else if (!strcmp(op, "swap")) {
		rc = swap_job(x, job, step, r);
	} else if (!strcmp(op, "download")) {
		char got[21];
		rc = download_job(x, job, got, r);
	} else if (smsr_profile_op_known(op)) {
		rc = target_job(x, op, job, step, r);
	} else if (!strcmp(op, "update-connectivity")) {
		const char *smsc = arg_str(args, "smsc");
		rc = smsr_update_connectivity_parameters(x, eid, smsc ? smsc : "", &sub);
		rc = merge(r, &sub, rc);
	} else if (!strcmp(op, "audit")) {
		if (json_integer_value(json_object_get(job, "attempts")) <= 1) {
			rc = smsr_audit_eis(x, eid, &sub);
			rc = merge(r, &sub, rc);
		}
	} else {
		rc = smsr_err(x, SMSR_BAD_INPUT, "unknown operation '%s'", op);
	}
	x->r = NULL;
	json_decref(step);
	if (rc && r->kind == SMSR_DONE)
		r->kind = SMSR_INTERNAL;
	if (!rc)
		r->kind = SMSR_DONE;
	snprintf(r->op, sizeof(r->op), "%s", op);
	return rc ? -1 : 0;
}

bool smsr_job_op_known(const char *op)
{
	static const char *const ops[] = { "swap", "download", "update-connectivity", "audit", NULL };
	for (size_t i = 0; ops[i]; i++)
		if (!strcmp(op, ops[i]))
			return true;
	return smsr_profile_op_known(op);
}

json_t *smsr_campaign_targets(smsr_store *s, const char *target, char *why, size_t why_len)
{
	store_filter f;
	memset(&f, 0, sizeof(f));
	json_t *list = NULL;
	if (!strcmp(target, "all")) {
		list = store_fleet(s, NULL, false);
	} else if (!strncmp(target, "tag:", 4)) {
		f.tags = json_object();
		if (!store_parse_tags(target + 4, f.tags, why, why_len))
			list = store_fleet(s, &f, false);
		json_decref(f.tags);
	} else if (!strncmp(target, "operator:", 9) && target[9]) {
		f.operator_ = target + 9;
		list = store_fleet(s, &f, false);
	} else if (!strncmp(target, "eids:", 5) || !strncmp(target, "csv:", 4)) {
		f.eids = json_object();
		char *text = NULL;
		if (target[0] == 'e') {
			text = strdup(target + 5);
			for (char *p = text; *p; p++)
				if (*p == ',')
					*p = '\n';
		} else {
			FILE *fp = fopen(target + 4, "r");
			if (!fp) {
				snprintf(why, why_len, "--target %s: %s", target, strerror(errno));
				json_decref(f.eids);
				return NULL;
			}
			size_t cap = 0;
			FILE *mem = open_memstream(&text, &cap);
			char buf[4096];
			size_t n;
			while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
				fwrite(buf, 1, n, mem);
			fclose(fp);
			fclose(mem);
		}
		size_t lineno = 0;
		bool bad = false;
		for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && !bad; l = strtok_r(NULL, "\n", &save)) {
			lineno++;
			l[strcspn(l, ",\r")] = '\0';
			if (!*l || (lineno == 1 && !strcmp(l, "eid")))
				continue;
			if (strlen(l) != 32 || strspn(l, "0123456789") != 32) {
				snprintf(why, why_len, "--target %.100s: line %zu: '%.40s' is not an EID", target,
					 lineno, l);
				bad = true;
			}
			json_object_set_new(f.eids, l, json_true());
		}
		free(text);
		if (!bad) {
			list = store_fleet(s, &f, false);
			if (json_array_size(list) != json_object_size(f.eids)) {
				snprintf(why, why_len, "--target %.100s: %zu of its %zu EIDs are not registered",
					 target, json_object_size(f.eids) - json_array_size(list),
					 json_object_size(f.eids));
				json_decref(list);
				list = NULL;
			}
		}
		json_decref(f.eids);
	} else {
		snprintf(why, why_len, "--target '%s': expected all, tag:K=V, eids:EID,..., csv:FILE or operator:NAME",
			 target);
	}
	if (!list)
		return NULL;
	json_t *eids = json_array(), *e;
	size_t i;
	json_array_foreach(list, i, e) json_array_append(eids, json_object_get(e, "eid"));
	json_decref(list);
	return eids;
}

typedef struct {
	const smsr_core *proto;
	long long id;
	const smsr_run_opts *o;
	json_t *campaign;
	pthread_mutex_t lock;
	double next_slot;	    /* rate limit: the earliest start of the next job */
	volatile bool ended;	    /* paused, cancelled, failure limit, or nothing left */
	long long failed, finished; /* the campaign's jobs that ended, kept here: counting them in the
				       store after each job made a run quadratic in its size */
	int active;		    /* workers still running */
	int errors;
	char why[512];
} runner;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void pace(runner *R)
{
	double rate = json_real_value(json_object_get(R->campaign, "rate"));
	if (rate <= 0)
		return;
	pthread_mutex_lock(&R->lock);
	double t = now_s(), at = R->next_slot > t ? R->next_slot : t;
	R->next_slot = at + 1.0 / rate;
	pthread_mutex_unlock(&R->lock);
	if (at > t) {
		struct timespec d = { (time_t)(at - t), (long)((at - t - (double)(time_t)(at - t)) * 1e9) };
		nanosleep(&d, NULL);
	}
}

/* after a job: the outcome recorded (retry, expiry), the failure limit checked */
static void settle_job(runner *R, smsr_core *x, json_t *job, smsr_result *r, int rc)
{
	long long id = (long long)json_integer_value(json_object_get(job, "id"));
	long long now = store_now(), deadline = (long long)json_integer_value(json_object_get(job, "deadline"));
	int attempts = (int)json_integer_value(json_object_get(job, "attempts"));
	int retries = (int)json_integer_value(json_object_get(R->campaign, "retries"));
	json_t *res = smsr_result_json(r);
	const char *state = "done";
	long long next = 0;
	if (rc) {
		/* only a transport failure is tried again: a card's refusal stays a refusal */
		bool retry = r->kind == SMSR_TRANSPORT && attempts <= retries;
		long long backoff = 1LL << (attempts < 6 ? attempts : 6);
		if (retry && now + backoff <= deadline) {
			state = "new";
			next = now + backoff;
		} else {
			/* out of attempts or of validity: an endpoint that never answered expires the job */
			state = r->kind == SMSR_TRANSPORT || r->kind == SMSR_TIMEOUT ? "expired" : "failed";
		}
	}
	store_job_update(x->st, id, state, next, NULL, res);
	pthread_mutex_lock(&R->lock);
	if (R->o && R->o->on_job) {
		json_object_set_new(res, "job", json_integer(id));
		json_object_set_new(res, "state", json_string(state));
		json_object_set_new(res, "attempt", json_integer(attempts));
		R->o->on_job(R->o->ctx, res);
	}
	bool bad = !strcmp(state, "failed") || !strcmp(state, "expired");
	R->failed += bad;
	R->finished += bad || !strcmp(state, "done");
	double failed = (double)R->failed, fin = (double)R->finished;
	double limit = json_real_value(json_object_get(R->campaign, "max_failures"));
	if (limit < 100 && fin >= 10 && failed * 100.0 / fin > limit && !R->ended) {
		store_campaign_move(x->st, R->id, "running", "paused");
		snprintf(R->why, sizeof(R->why), "paused: %.0f of %.0f finished jobs failed (more than %.0f%%)", failed,
			 fin, limit);
		R->ended = true;
	}
	pthread_mutex_unlock(&R->lock);
	json_decref(res);
}

typedef struct {
	runner *R;
	smsr_core *x;
} worker_trace;

static void trace_step(void *ctx, const char *line)
{
	worker_trace *t = ctx;
	t->R->o->on_trace(t->R->o->ctx, t->x->eid, line);
}

static void *worker(void *arg)
{
	runner *R = arg;
	smsr_core x;
	memset(&x, 0, sizeof(x));
	x.db_path = R->proto->db_path;
	x.pki_dir = R->proto->pki_dir;
	x.kek_path = R->proto->kek_path;
	x.cap = R->proto->cap;
	worker_trace wt = { R, &x };
	if (R->o && R->o->on_trace) {
		x.trace = trace_step;
		x.trace_ctx = &wt;
	}
	char why[1300];
	if (smsr_core_open(&x, why, sizeof(why))) {
		pthread_mutex_lock(&R->lock);
		R->errors++;
		snprintf(R->why, sizeof(R->why), "%.500s", why);
		pthread_mutex_unlock(&R->lock);
		return NULL;
	}
	for (;;) {
		if ((R->o && R->o->stop && *R->o->stop) || R->ended)
			break;
		char st[16];
		if (store_campaign_state(x.st, R->id, st, sizeof(st)) || strcmp(st, "running")) {
			R->ended = true;
			break;
		}
		pace(R);
		json_t *job = store_job_claim(x.st, R->id, store_now());
		if (!job && R->o && R->o->idle) {
			R->o->idle(R->o->ctx); /* a run that stays open: wait for work */
			continue;
		}
		if (!job) {
			if (!store_campaign_waiting(x.st, R->id) || (R->o && R->o->due_only))
				break;				      /* nothing left for this worker */
			struct timespec d = { 0, 100 * 1000 * 1000 }; /* a retry not yet due, or its eUICC busy */
			nanosleep(&d, NULL);
			continue;
		}
		smsr_result r;
		int rc;
		if (store_now() > (long long)json_integer_value(json_object_get(job, "deadline"))) {
			smsr_result_init(&r);
			snprintf(r.op, sizeof(r.op), "%s", json_string_value(json_object_get(job, "op")));
			snprintf(r.eid, sizeof(r.eid), "%s", json_string_value(json_object_get(job, "eid")));
			r.kind = SMSR_TIMEOUT;
			snprintf(r.msg, sizeof(r.msg), "the job's validity ran out before it could run");
			rc = -1;
		} else {
			rc = smsr_run_job(&x, job, &r);
		}
		smsr_disconnect(&x);
		settle_job(R, &x, job, &r, rc);
		smsr_result_free(&r);
		json_decref(job);
	}
	smsr_core_close(&x);
	pthread_mutex_lock(&R->lock);
	R->active--;
	pthread_mutex_unlock(&R->lock);
	return NULL;
}

static int lock_campaign(const smsr_core *proto, long long id, char *why, size_t why_len)
{
	char path[4200], def[1024];
	snprintf(path, sizeof(path), "%s.campaign-%lld.lock",
		 proto->db_path ? proto->db_path : store_default_path(def, sizeof(def)), id);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB)) {
		snprintf(why, why_len, "campaign %lld is being run by another process (%s)", id,
			 fd < 0 ? strerror(errno) : "its lock is held");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* the run's main thread, until the workers are done: progress, and the end of a run */
static void watch(runner *R, smsr_core *x, long long id, const smsr_run_opts *o)
{
	double t0 = now_s();
	for (;;) {
		/* the rules engine's short runs look more often, and only at their workers */
		struct timespec d = { 0, (o && o->due_only ? 5 : 200) * 1000 * 1000 };
		nanosleep(&d, NULL);
		if (o && o->due_only) {
			pthread_mutex_lock(&R->lock);
			bool done = R->active == 0;
			pthread_mutex_unlock(&R->lock);
			if (done || (o->stop && *o->stop) || R->ended)
				break;
			continue;
		}
		json_t *c = store_campaign(x->st, id);
		json_t *cnt = json_object_get(c, "jobs");
		long long left = json_integer_value(json_object_get(cnt, "new")) +
			json_integer_value(json_object_get(cnt, "running"));
		if (o && o->on_progress) {
			pthread_mutex_lock(&R->lock);
			o->on_progress(o->ctx, cnt, now_s() - t0);
			pthread_mutex_unlock(&R->lock);
		}
		const char *cs = json_string_value(json_object_get(c, "state"));
		bool over = (!left && !(o && o->idle)) || (cs && strcmp(cs, "running")) || (o && o->stop && *o->stop) ||
			R->ended;
		json_decref(c);
		if (over)
			break;
	}
}

int smsr_campaign_run(const smsr_core *proto, long long id, const smsr_run_opts *o, char *why, size_t why_len)
{
	smsr_core x;
	memset(&x, 0, sizeof(x));
	x.db_path = proto->db_path;
	if (smsr_core_open(&x, why, why_len))
		return -1;
	runner R;
	memset(&R, 0, sizeof(R));
	R.proto = proto;
	R.id = id;
	R.o = o;
	R.campaign = store_campaign(x.st, id);
	json_t *n0 = json_object_get(R.campaign, "jobs");
	R.failed = json_integer_value(json_object_get(n0, "failed")) +
		json_integer_value(json_object_get(n0, "expired"));
	R.finished = R.failed + json_integer_value(json_object_get(n0, "done"));
	int rc = -1, lock = -1;
	const char *st = json_string_value(json_object_get(R.campaign, "state"));
	if (!R.campaign) {
		snprintf(why, why_len, "no campaign %lld (see smsr jobs)", id);
		goto out;
	}
	if (!strcmp(st, "cancelled") || !strcmp(st, "done")) {
		snprintf(why, why_len, "it was %s already: nothing run", st);
		rc = 0;
		goto out;
	}
	if ((lock = lock_campaign(proto, id, why, why_len)) < 0)
		goto out;
	/* jobs left running by a run that died: their outcome is unknown; claimed again, they start with an
	 * audit (their attempt count says so) */
	json_t *stale = store_jobs(x.st, id, "running"), *j;
	size_t i;
	json_array_foreach(stale, i, j)
		store_job_update(x.st, (long long)json_integer_value(json_object_get(j, "id")), "new", 0, NULL, NULL);
	json_decref(stale);
	/* running unless it was cancelled or finished meanwhile (by another process, the API) */
	int moved = store_campaign_move(x.st, id, "ready,running,paused", "running");
	if (moved <= 0) {
		snprintf(why, why_len, moved ? "the store is busy" : "it was cancelled or finished: nothing run");
		rc = moved ? -1 : 0;
		goto out;
	}
	int n = (int)json_integer_value(json_object_get(R.campaign, "concurrency"));
	n = n < 1 ? 1 : n > 64 ? 64 : n;
	pthread_t th[64];
	pthread_mutex_init(&R.lock, NULL);
	int started = 0;
	R.active = n;
	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, worker, &R))
			break;
	pthread_mutex_lock(&R.lock);
	R.active -= n - started;
	pthread_mutex_unlock(&R.lock);
	watch(&R, &x, id, o);
	R.ended = true;
	for (int k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	pthread_mutex_destroy(&R.lock);
	json_t *c = store_campaign(x.st, id);
	json_t *cnt = json_object_get(c, "jobs");
	long long left = json_integer_value(json_object_get(cnt, "new")) +
		json_integer_value(json_object_get(cnt, "running"));
	const char *cs = json_string_value(json_object_get(c, "state"));
	if (cs && !strcmp(cs, "running"))
		store_campaign_move(x.st, id, "running",
				    o && (o->due_only || o->idle) ? "ready"
					    : left		  ? "paused"
								  : "done");
	json_decref(c);
	if (R.errors) {
		snprintf(why, why_len, "%s", R.why);
		goto out;
	}
	if (R.why[0])
		snprintf(why, why_len, "%s", R.why);
	else
		why[0] = '\0';
	rc = 0;
out:
	if (lock >= 0)
		close(lock);
	json_decref(R.campaign);
	smsr_core_close(&x);
	return rc;
}
