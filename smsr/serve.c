/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `smsr serve`: libmicrohttpd carries each request to api_handle (api.c) over a pooled store
 * connection; it serves the portal and /openapi.json from the files built in (embed.h), the live feed
 * at /stream (Server-Sent Events) and ?wait=SECONDS by suspending the connection until the job ends,
 * so no thread blocks for a slow client or a long wait. SIGTERM/SIGINT: no new requests, the jobs under
 * way finish (or are left settle-able, as for `campaign run`), then the process ends. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "embed.h"
#include "serve.h"

typedef struct sse_client {
	struct sse_client *next;
	struct MHD_Connection *conn;
	struct server *srv;
	long long next_msg;
	double last;
	bool suspended;
} sse_client;

typedef struct req {
	struct req *next; /* in the waiters' list */
	struct MHD_Connection *conn;
	abuf body;
	bool too_large, waiting, resumed;
	long long job;
	double deadline, t0;
	char who[64]; /* the token's name, for the log line of a waited answer */
} req;

typedef struct server {
	sched s;
	struct MHD_Daemon *d;
	pthread_mutex_t plock;
	smsr_store *pool[32];
	int npool;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	req *waiters;
	sse_client *clients;
	bool quitting, log;
	bool dirty; /* the feed has news or a job ended: the ticker looks now */
	const embedded_file *openapi;
} server;

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
	(void)sig;
	g_stop = 1;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static smsr_store *take_store(server *srv, char *why, size_t why_len)
{
	pthread_mutex_lock(&srv->plock);
	smsr_store *st = srv->npool ? srv->pool[--srv->npool] : NULL;
	pthread_mutex_unlock(&srv->plock);
	if (!st) {
		char def[1024];
		const char *p = srv->s.proto.db_path ? srv->s.proto.db_path : store_default_path(def, sizeof(def));
		if (store_open(p, &st, why, why_len))
			return NULL;
	}
	return st;
}

static void give_store(server *srv, smsr_store *st)
{
	pthread_mutex_lock(&srv->plock);
	if (srv->npool < (int)(sizeof(srv->pool) / sizeof(srv->pool[0]))) {
		srv->pool[srv->npool++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&srv->plock);
	if (st)
		store_close(st);
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *ctype, const void *data,
				 size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)data, mode);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", ctype);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"smsr\"");
	enum MHD_Result rc = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result send_answer(server *srv, struct MHD_Connection *c, const char *method, const char *url,
				   api_response *a, req *r)
{
	enum MHD_Result rc;
	if (a->text) {
		rc = send_text(c, (unsigned)a->status, a->ctype ? a->ctype : "text/plain", a->text, a->text_len,
			       MHD_RESPMEM_MUST_FREE);
		a->text = NULL;
	} else {
		char *js = json_dumps(a->json ? a->json : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		size_t n = js ? strlen(js) : 0;
		rc = js ? send_text(c, (unsigned)a->status, "application/json", js, n, MHD_RESPMEM_MUST_FREE) : MHD_NO;
	}
	if (srv->log)
		fprintf(stderr, "serve: %s %s %d%s%s %.1f ms\n", method, url, a->status, a->who[0] ? " by " : "",
			a->who, (now_s() - r->t0) * 1000);
	api_response_free(a);
	return rc;
}

static enum MHD_Result query_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	(void)kind;
	if (key && !json_object_get(cls, key))
		json_object_set_new(cls, key, json_string(value ? value : ""));
	return MHD_YES;
}

/* the live feed: what came since this client's last message, else the connection waits (suspended)
 * until the ticker resumes it */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	sse_client *k = cls;
	server *srv = k->srv;
	if (srv->quitting)
		return MHD_CONTENT_READER_END_OF_STREAM;
	feed *f = &srv->s.feed;
	size_t n = 0;
	pthread_mutex_lock(&f->lock);
	if (k->next_msg < f->next - FEED_KEEP + 1)
		k->next_msg = f->next - FEED_KEEP + 1; /* a client too slow for the feed loses the oldest */
	if (k->next_msg <= 0)
		k->next_msg = f->next;
	while (k->next_msg < f->next) {
		const char *m = f->msg[k->next_msg % FEED_KEEP];
		size_t l = m ? strlen(m) : 0;
		if (n + l > max)
			break;
		memcpy(buf + n, m, l);
		n += l;
		k->next_msg++;
	}
	pthread_mutex_unlock(&f->lock);
	double t = now_s();
	if (!n && t - k->last > 10) {
		static const char ka[] = ": keep-alive\n\n";
		n = sizeof(ka) - 1 < max ? sizeof(ka) - 1 : 0;
		memcpy(buf, ka, n);
	}
	if (n) {
		k->last = t;
		return (ssize_t)n;
	}
	pthread_mutex_lock(&srv->wlock);
	k->suspended = true;
	MHD_suspend_connection(k->conn);
	pthread_mutex_unlock(&srv->wlock);
	return 0;
}

static void sse_free(void *cls)
{
	sse_client *k = cls;
	server *srv = k->srv;
	pthread_mutex_lock(&srv->wlock);
	for (sse_client **pp = &srv->clients; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	pthread_mutex_unlock(&srv->wlock);
	pthread_mutex_lock(&srv->s.feed.lock);
	srv->s.feed.listeners--;
	pthread_mutex_unlock(&srv->s.feed.lock);
	free(k);
}

static enum MHD_Result stream(server *srv, struct MHD_Connection *c, const char *last_id)
{
	sse_client *k = calloc(1, sizeof(*k));
	if (!k)
		return MHD_NO;
	k->conn = c;
	k->srv = srv;
	k->last = 0; /* a first keep-alive at once: the client sees the stream open */
	pthread_mutex_lock(&srv->s.feed.lock);
	k->next_msg = srv->s.feed.next;
	if (last_id) {
		long long l = strtoll(last_id, NULL, 10);
		if (l > 0 && l < k->next_msg)
			k->next_msg = l + 1;
	}
	srv->s.feed.listeners++;
	pthread_mutex_unlock(&srv->s.feed.lock);
	struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, k, sse_free);
	if (!resp) {
		sse_free(k);
		return MHD_NO;
	}
	pthread_mutex_lock(&srv->wlock);
	k->next = srv->clients;
	srv->clients = k;
	pthread_mutex_unlock(&srv->wlock);
	MHD_add_response_header(resp, "Content-Type", "text/event-stream");
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	enum MHD_Result rc = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

static const embedded_file *static_file(const char *url)
{
	if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
		url = "/index.html";
	for (const embedded_file *f = embedded_files; f->url; f++)
		if (!strcmp(f->url, url) && strcmp(url, "/openapi.json"))
			return f;
	return NULL;
}

static enum MHD_Result send_static(struct MHD_Connection *c, const embedded_file *f)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(f->len, (void *)f->data, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", f->ctype);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy",
				"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
	enum MHD_Result rc = MHD_queue_response(c, 200, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* the request, whole: to the API (or the portal, the feed), answered now or after its wait */
static enum MHD_Result dispatch(server *srv, struct MHD_Connection *c, const char *url, const char *method, req *r)
{
	char why[600];
	api_response a;
	memset(&a, 0, sizeof(a));
	const embedded_file *f = !strcmp(method, "GET") ? static_file(url) : NULL;
	if (f)
		return send_static(c, f);
	smsr_store *st = take_store(srv, why, sizeof(why));
	if (!st) {
		api_error(&a, 503, "store_unavailable", NULL, "the store cannot be opened: %s", why);
		return send_answer(srv, c, method, url, &a, r);
	}
	api_env env = { .st = st,
			.proto = &srv->s.proto,
			.api_campaign = srv->s.api_campaign,
			.openapi = srv->openapi ? (const char *)srv->openapi->data : NULL,
			.openapi_len = srv->openapi ? srv->openapi->len : 0 };
	if (r->waiting) {
		api_job_answer(&env, r->job, &a);
		snprintf(a.who, sizeof(a.who), "%s", r->who);
		give_store(srv, st);
		return send_answer(srv, c, method, url, &a, r);
	}
	json_t *query = json_object();
	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_arg, query);
	api_request q = { .method = method,
			  .path = url,
			  .query = query,
			  .body = (const char *)r->body.p,
			  .body_len = r->too_large ? (size_t)API_MAX_BODY + 1 : r->body.len,
			  .auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization") };
	if (!strcmp(url, "/stream") && !strcmp(method, "GET")) {
		int rc = api_auth(&env, &q, &a);
		json_decref(query);
		give_store(srv, st);
		if (rc)
			return send_answer(srv, c, method, url, &a, r);
		return stream(srv, c, MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID"));
	}
	api_handle(&env, &q, &a);
	json_decref(query);
	give_store(srv, st);
	if (a.changed)
		sched_poke(&srv->s);
	if (a.wait_job > 0 && !srv->quitting) {
		r->waiting = true;
		r->job = a.wait_job;
		r->deadline = now_s() + a.wait_s;
		snprintf(r->who, sizeof(r->who), "%s", a.who);
		api_response_free(&a);
		pthread_mutex_lock(&srv->wlock);
		r->next = srv->waiters;
		srv->waiters = r;
		MHD_suspend_connection(c);
		srv->dirty = true; /* the job may have ended already */
		pthread_cond_broadcast(&srv->wcond);
		pthread_mutex_unlock(&srv->wlock);
		return MHD_YES;
	}
	return send_answer(srv, c, method, url, &a, r);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			       const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	(void)version;
	server *srv = cls;
	req *r = *con_cls;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->conn = c;
		r->t0 = now_s();
		*con_cls = r;
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > API_MAX_BODY) {
			api_response a;
			memset(&a, 0, sizeof(a));
			api_error(&a, 413, "too_large", NULL, "the body has %s bytes; at most %d are taken", cl,
				  API_MAX_BODY);
			return send_answer(srv, c, method, url, &a, r);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (r->body.len + *upload_size > API_MAX_BODY)
			r->too_large = true;
		else
			abuf_put(&r->body, (const uint8_t *)upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	return dispatch(srv, c, url, method, r);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode t)
{
	(void)c;
	(void)t;
	server *srv = cls;
	req *r = *con_cls;
	if (!r)
		return;
	pthread_mutex_lock(&srv->wlock);
	for (req **pp = &srv->waiters; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	pthread_mutex_unlock(&srv->wlock);
	abuf_free(&r->body);
	free(r);
	*con_cls = NULL;
}

static void wake_clients(void *ctx)
{
	server *srv = ctx;
	pthread_mutex_lock(&srv->wlock);
	srv->dirty = true;
	pthread_cond_broadcast(&srv->wcond);
	pthread_mutex_unlock(&srv->wlock);
}

/* resumes what waits: a job's waiter when the job ends or its time is up, an SSE client when the feed
 * has news (or a keep-alive is due); everything when the server stops */
static void tick(server *srv, smsr_store *st)
{
	double t = now_s();
	pthread_mutex_lock(&srv->wlock);
	for (req **pp = &srv->waiters; *pp;) {
		req *r = *pp;
		json_t *j = st ? store_job(st, r->job) : NULL;
		bool over = srv->quitting || t >= r->deadline || !j ||
			api_job_final(json_string_value(json_object_get(j, "state")));
		json_decref(j);
		if (over) {
			*pp = r->next;
			r->next = NULL;
			MHD_resume_connection(r->conn);
		} else {
			pp = &r->next;
		}
	}
	pthread_mutex_lock(&srv->s.feed.lock);
	long long next = srv->s.feed.next;
	pthread_mutex_unlock(&srv->s.feed.lock);
	for (sse_client *k = srv->clients; k; k = k->next)
		if (k->suspended && (srv->quitting || k->next_msg < next || t - k->last > 10)) {
			k->suspended = false;
			MHD_resume_connection(k->conn);
		}
	struct timespec ts;
	deadline_in(&ts, 50);
	while (!srv->quitting && !srv->dirty)
		if (pthread_cond_timedwait(&srv->wcond, &srv->wlock, &ts) == ETIMEDOUT)
			break;
	srv->dirty = false;
	pthread_mutex_unlock(&srv->wlock);
}

typedef struct {
	const char *listen, *cert, *key, *secret;
	json_t *hooks;
	unsigned max_conn, timeout, threads;
	int concurrency;
	bool quiet;
} serve_args;

static const char serve_usage[] =
	"usage: smsr serve [--listen HOST:PORT] [--tls-cert FILE --tls-key FILE] [--webhook URL]...\n"
	"         [--webhook-secret FILE] [--max-connections N] [--timeout SECONDS] [--threads N]\n"
	"         [--concurrency N] [--quiet]\n"
	"  the API (/openapi.json), the portal (/), the live feed (/stream), the job workers and the rules\n"
	"  engine in one process; tokens: smsr token create --role operator|viewer";

static int serve_options(smsr_ctx *x, int argc, char **argv, serve_args *a)
{
	*a = (serve_args){ .listen = "127.0.0.1:8080", .max_conn = 4096, .timeout = 30, .threads = 4, .concurrency = 4 };
	a->hooks = json_array();
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(o, "--quiet")) {
			a->quiet = true;
			continue;
		}
		if (!strcmp(o, "--help"))
			return smsr_fail(x, CLI_USAGE, "%s", serve_usage);
		if (!v)
			return smsr_fail(x, CLI_USAGE, "serve: %s needs a value\n%s", o, serve_usage);
		char *end;
		long n = strtol(v, &end, 10);
		bool num = !*end && end != v;
		i++;
		if (!strcmp(o, "--listen"))
			a->listen = v;
		else if (!strcmp(o, "--tls-cert"))
			a->cert = v;
		else if (!strcmp(o, "--tls-key"))
			a->key = v;
		else if (!strcmp(o, "--webhook-secret"))
			a->secret = v;
		else if (!strcmp(o, "--webhook")) {
			if (strncmp(v, "http://", 7) && strncmp(v, "https://", 8))
				return smsr_fail(x, CLI_USAGE, "serve: --webhook '%s': an http:// or https:// URL", v);
			json_array_append_new(a->hooks, json_string(v));
		} else if (!strcmp(o, "--max-connections") && num && n >= 1 && n <= 100000)
			a->max_conn = (unsigned)n;
		else if (!strcmp(o, "--timeout") && num && n >= 1 && n <= 3600)
			a->timeout = (unsigned)n;
		else if (!strcmp(o, "--threads") && num && n >= 1 && n <= 64)
			a->threads = (unsigned)n;
		else if (!strcmp(o, "--concurrency") && num && n >= 1 && n <= 64)
			a->concurrency = (int)n;
		else
			return smsr_fail(x, CLI_USAGE, "serve: '%s %s': unknown option or a value out of range\n%s", o,
					 v, serve_usage);
	}
	if (!a->cert != !a->key)
		return smsr_fail(x, CLI_USAGE, "serve: --tls-cert and --tls-key go together");
	return 0;
}

static int parse_listen(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	char *end;
	long port = strtol(colon + 1, &end, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
		return -1;
	return 0;
}

static char *slurp(const char *path)
{
	abuf b = ABUF_INIT;
	char why[300];
	if (smsr_read_file(path, &b, why, sizeof(why)))
		return NULL;
	abuf_put_u8(&b, 0);
	return (char *)b.p;
}

static struct MHD_Daemon *start_daemon(server *srv, const serve_args *a, struct sockaddr_in *sa, char **cert,
				       char **key)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	if (a->cert) {
		flags |= MHD_USE_TLS;
		*cert = slurp(a->cert);
		*key = slurp(a->key);
		if (!*cert || !*key)
			return NULL;
		return MHD_start_daemon(
			flags, 0, NULL, NULL, handler, srv, MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT,
			a->max_conn, MHD_OPTION_CONNECTION_TIMEOUT, a->timeout, MHD_OPTION_THREAD_POOL_SIZE, a->threads,
			MHD_OPTION_NOTIFY_COMPLETED, completed, srv, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
			MHD_OPTION_HTTPS_MEM_CERT, *cert, MHD_OPTION_HTTPS_MEM_KEY, *key, MHD_OPTION_END);
	}
	return MHD_start_daemon(flags, 0, NULL, NULL, handler, srv, MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, a->max_conn, MHD_OPTION_CONNECTION_TIMEOUT, a->timeout,
				MHD_OPTION_THREAD_POOL_SIZE, a->threads, MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_END);
}

/* as many descriptors as the system lets this process have: one per connection */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void announce(smsr_ctx *x, server *srv, const serve_args *a)
{
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(srv->d, MHD_DAEMON_INFO_BIND_PORT);
	unsigned port = di ? di->port : 0;
	char host[64];
	snprintf(host, sizeof(host), "%.*s", (int)(strrchr(a->listen, ':') - a->listen), a->listen);
	char url[128];
	snprintf(url, sizeof(url), "%s://%s:%u/", a->cert ? "https" : "http", host[0] ? host : "0.0.0.0", port);
	if (x->json) {
		json_t *o = json_pack("{s:s,s:i,s:b,s:I}", "url", url, "port", (int)port, "rules", srv->s.rules,
				      "api_campaign", (json_int_t)srv->s.api_campaign);
		char *js = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		printf("%s\n", js ? js : "{}");
		free(js);
	} else {
		printf("smsr serve: listening on %s (portal /, API /openapi.json, feed /stream)%s\n", url,
		       srv->s.rules ? "; rules engine on" : "");
	}
	fflush(stdout);
}

static int serve_run(smsr_ctx *x, const serve_args *a)
{
	struct sockaddr_in sa;
	if (parse_listen(a->listen, &sa))
		return smsr_fail(x, CLI_USAGE, "serve: --listen '%s': expected IPv4-ADDRESS:PORT", a->listen);
	if (a->cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return smsr_fail(x, 1, "serve: this libmicrohttpd has no TLS");
	if (smsr_open_store(x))
		return 1;
	static server srv;
	memset(&srv, 0, sizeof(srv));
	srv.log = !a->quiet;
	srv.s.proto = x->c;
	srv.s.proto.st = NULL;
	srv.s.stop = &g_stop;
	srv.s.concurrency = a->concurrency;
	srv.s.api_campaign = api_campaign_of(x->c.st);
	srv.openapi = NULL;
	for (const embedded_file *f = embedded_files; f->url; f++)
		if (!strcmp(f->url, "/openapi.json"))
			srv.openapi = f;
	char why[800], spath[4200], def[1024];
	snprintf(spath, sizeof(spath), "%s.webhook.key",
		 x->c.db_path ? x->c.db_path : store_default_path(def, sizeof(def)));
	srv.s.hooks = webhooks_start(a->hooks, a->secret ? a->secret : spath, why, sizeof(why));
	if (json_array_size(a->hooks) && !srv.s.hooks)
		return smsr_fail(x, 1, "serve: %s", why);
	if (srv.s.api_campaign < 0)
		return smsr_fail(x, 1, "serve: the store cannot keep the API's campaign");
	feed_init(&srv.s.feed);
	srv.s.feed.wake = wake_clients;
	srv.s.feed.wake_ctx = &srv;
	pthread_mutex_init(&srv.plock, NULL);
	pthread_mutex_init(&srv.wlock, NULL);
	pthread_cond_init(&srv.wcond, NULL);
	raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	char *cert = NULL, *key = NULL;
	srv.d = start_daemon(&srv, a, &sa, &cert, &key);
	if (!srv.d) {
		free(cert);
		free(key);
		return smsr_fail(x, 1, "serve: cannot listen on %s%s", a->listen,
				 a->cert && (!cert || !key) ? " (the TLS certificate or key cannot be read)"
							    : ": the address is in use or not this machine's");
	}
	if (sched_start(&srv.s, why, sizeof(why)))
		return smsr_fail(x, 1, "serve: %s", why);
	announce(x, &srv, a);
	smsr_store *tick_st = take_store(&srv, why, sizeof(why));
	while (!g_stop)
		tick(&srv, tick_st);
	fprintf(stderr, "serve: stopping: the jobs under way finish first\n");
	MHD_quiesce_daemon(srv.d);
	sched_stop(&srv.s);
	/* every suspended connection resumed and answered before the daemon goes */
	srv.quitting = true;
	for (int i = 0; i < 40; i++) {
		tick(&srv, tick_st);
		pthread_mutex_lock(&srv.wlock);
		bool idle = !srv.waiters && !srv.clients;
		pthread_mutex_unlock(&srv.wlock);
		if (idle)
			break;
		struct timespec d = { 0, 50 * 1000 * 1000 };
		nanosleep(&d, NULL);
	}
	MHD_stop_daemon(srv.d);
	if (tick_st)
		store_close(tick_st);
	while (srv.npool)
		store_close(srv.pool[--srv.npool]);
	webhooks_stop(srv.s.hooks);
	feed_free(&srv.s.feed);
	free(cert);
	free(key);
	fprintf(stderr, "serve: stopped\n");
	return 0;
}

int smsr_cmd_serve(void *ctx, int argc, char **argv)
{
	smsr_ctx *x = ctx;
	serve_args a;
	int rc = serve_options(x, argc, argv, &a);
	if (!rc)
		rc = serve_run(x, &a);
	json_decref(a.hooks);
	return rc;
}
