/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `smsr serve`: the API and the portal over HTTP (libmicrohttpd), the job workers, the rules engine,
 * the live feed (Server-Sent Events) and the webhooks, in one process (docs/api.md). */
#ifndef SMSR_SERVE_H
#define SMSR_SERVE_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "smsr.h"

/* the live feed: the last messages, numbered; each SSE client reads on from its own number */
#define FEED_KEEP 2048
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long long next;		 /* the number the next message gets */
	char *msg[FEED_KEEP];	 /* message n at n % FEED_KEEP: "id: n\nevent: T\ndata: JSON\n\n" */
	void (*wake)(void *ctx); /* new messages: the server resumes its SSE clients */
	void *wake_ctx;
	int listeners; /* SSE clients now (the trace is published only when someone listens) */
} feed;

void feed_init(feed *f);
void feed_free(feed *f);
/* publishes a message of type (job, campaign, event, trace, notification) with data (stolen) */
void feed_publish(feed *f, const char *type, json_t *data);

/* webhook.c: each --webhook URL gets every notification, signed, retried with backoff */
typedef struct webhooks webhooks;
webhooks *webhooks_start(json_t *urls, const char *secret_path, char *why, size_t why_len);
void webhooks_send(webhooks *w, const char *type, json_t *data); /* data borrowed */
void webhooks_stop(webhooks *w);
long long webhooks_pending(webhooks *w);
/* the CLOCK_REALTIME time ms from now, for pthread_cond_timedwait (the server's threads share it) */
void deadline_in(struct timespec *t, long ms);

typedef struct {
	smsr_core proto; /* the store path, PKI and KEK that every connection and worker opens */
	feed feed;
	webhooks *hooks;
	volatile sig_atomic_t *stop;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled when a request stored work */
	bool poke;
	long long gen; /* counts the pokes: the API's idle workers wake on a new one */
	bool rules;    /* this process runs the rules engine (it holds DB.rules.lock) */
	int rules_lock;
	long long api_campaign;
	int concurrency; /* of the API's and the rules' jobs */
	json_t *running; /* campaign ids being run by this process: object id -> true */
	int runners;	 /* campaign runner threads alive */
	bool json;
} sched;

/* serve_sched.c */
int sched_start(sched *s, char *why, size_t why_len);
void sched_poke(sched *s);
void sched_stop(sched *s); /* waits for the runs under way to end (they stop between jobs) */

int smsr_cmd_serve(void *ctx, int argc, char **argv);
int smsr_cmd_token(void *ctx, int argc, char **argv);

#endif
