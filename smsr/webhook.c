/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Notifications out: each --webhook URL gets every notification as a JSON POST (libcurl: HTTP and HTTPS
 * done right is not this project's heart), signed with HMAC-SHA256 over the body under a secret kept
 * 0600 beside the store, and tried again with backoff (1, 2, 4 ... 32 s, 7 attempts) until it answers
 * 2xx. Deliveries wait in memory: a server stopped with deliveries pending names how many it drops. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/hmac.h>

#include "apdu/crypto.h"
#include "serve.h"

#define HOOK_ATTEMPTS 7

typedef struct delivery {
	struct delivery *next;
	char *url, *body, type[48];
	long long id;
	int attempts;
	double due;
} delivery;

struct webhooks {
	json_t *urls;
	char secret[65];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	delivery *q;
	long long next_id, pending;
	bool stop;
	pthread_t th;
};

void deadline_in(struct timespec *t, long ms)
{
	clock_gettime(CLOCK_REALTIME, t);
	t->tv_nsec += (ms % 1000) * 1000000;
	t->tv_sec += ms / 1000 + t->tv_nsec / 1000000000;
	t->tv_nsec %= 1000000000;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int load_secret(const char *path, char out[65], char *why, size_t why_len)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		uint8_t raw[32];
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0 || crypto_random(raw, sizeof(raw)) != APDU_OK) {
			snprintf(why, why_len, "webhook secret %s: %s", path,
				 fd < 0 ? strerror(errno) : "no random bytes");
			if (fd >= 0)
				close(fd);
			return -1;
		}
		for (size_t i = 0; i < sizeof(raw); i++)
			snprintf(out + 2 * i, 3, "%02x", raw[i]);
		ssize_t w = write(fd, out, 64);
		close(fd);
		if (w != 64) {
			snprintf(why, why_len, "webhook secret %s: cannot write it", path);
			return -1;
		}
		return 0;
	}
	size_t n = fread(out, 1, 64, f);
	fclose(f);
	out[n] = '\0';
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r'))
		out[--n] = '\0';
	if (n < 16) {
		snprintf(why, why_len, "webhook secret %s: fewer than 16 characters", path);
		return -1;
	}
	return 0;
}

static size_t discard(char *p, size_t size, size_t n, void *ctx)
{
	(void)p;
	(void)ctx;
	return size * n;
}

/* one attempt: the HTTP status, or 0 when no answer came */
static long post(struct webhooks *w, const delivery *d)
{
	unsigned char mac[32];
	unsigned int maclen = 0;
	HMAC(EVP_sha256(), w->secret, (int)strlen(w->secret), (const unsigned char *)d->body, strlen(d->body), mac,
	     &maclen);
	char sig[100] = "X-Smsr-Signature: sha256=", hdr_id[64], hdr_type[80];
	for (unsigned i = 0; i < maclen; i++)
		snprintf(sig + 25 + 2 * i, 3, "%02x", mac[i]);
	snprintf(hdr_id, sizeof(hdr_id), "X-Smsr-Delivery: %lld", d->id);
	snprintf(hdr_type, sizeof(hdr_type), "X-Smsr-Event: %s", d->type);
	CURL *c = curl_easy_init();
	if (!c)
		return 0;
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, sig);
	h = curl_slist_append(h, hdr_id);
	h = curl_slist_append(h, hdr_type);
	curl_easy_setopt(c, CURLOPT_URL, d->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	long code = 0;
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

static void free_delivery(delivery *d)
{
	free(d->url);
	free(d->body);
	free(d);
}

static void *deliverer(void *arg)
{
	struct webhooks *w = arg;
	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		delivery **pp = &w->q, *d = NULL;
		double t = now_s(), soonest = t + 1;
		for (; *pp; pp = &(*pp)->next)
			if ((*pp)->due <= t) {
				d = *pp;
				*pp = d->next;
				break;
			} else if ((*pp)->due < soonest) {
				soonest = (*pp)->due;
			}
		if (!d) {
			struct timespec ts;
			deadline_in(&ts, (long)((soonest - t) * 1e3) + 1);
			pthread_cond_timedwait(&w->cond, &w->lock, &ts);
			continue;
		}
		pthread_mutex_unlock(&w->lock);
		long code = post(w, d);
		d->attempts++;
		pthread_mutex_lock(&w->lock);
		if ((code >= 200 && code < 300) || d->attempts >= HOOK_ATTEMPTS) {
			if (code < 200 || code >= 300)
				fprintf(stderr,
					"serve: webhook %s: delivery %lld (%s) dropped after %d attempts (last: "
					"%s%ld)\n",
					d->url, d->id, d->type, d->attempts, code ? "HTTP " : "no answer", code);
			w->pending--;
			free_delivery(d);
		} else {
			d->due = now_s() + (double)(1 << (d->attempts - 1));
			d->next = w->q;
			w->q = d;
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

webhooks *webhooks_start(json_t *urls, const char *secret_path, char *why, size_t why_len)
{
	if (!json_array_size(urls))
		return NULL;
	struct webhooks *w = calloc(1, sizeof(*w));
	if (!w || load_secret(secret_path, w->secret, why, why_len)) {
		free(w);
		return NULL;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	w->urls = json_incref(urls);
	w->next_id = 1;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if (pthread_create(&w->th, NULL, deliverer, w)) {
		snprintf(why, why_len, "cannot start the webhook thread");
		json_decref(w->urls);
		free(w);
		return NULL;
	}
	return w;
}

void webhooks_send(webhooks *w, const char *type, json_t *data)
{
	if (!w)
		return;
	char ts[32];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	pthread_mutex_lock(&w->lock);
	size_t i;
	json_t *u;
	json_array_foreach(w->urls, i, u)
	{
		delivery *d = calloc(1, sizeof(*d));
		long long id = w->next_id++;
		json_t *o = json_pack("{s:I,s:s,s:s,s:O}", "delivery", (json_int_t)id, "type", type, "time", ts, "data",
				      data);
		char *body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(o);
		if (!d || !body) {
			free(d);
			free(body);
			continue;
		}
		d->id = id;
		d->url = strdup(json_string_value(u));
		d->body = body;
		snprintf(d->type, sizeof(d->type), "%s", type);
		d->due = 0;
		delivery **tail = &w->q; /* in order: the first stored is the first sent */
		while (*tail)
			tail = &(*tail)->next;
		*tail = d;
		w->pending++;
	}
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

long long webhooks_pending(webhooks *w)
{
	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	long long n = w->pending;
	pthread_mutex_unlock(&w->lock);
	return n;
}

void webhooks_stop(webhooks *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->th, NULL);
	if (w->pending)
		fprintf(stderr, "serve: %lld webhook deliveries not made (the server stopped)\n", w->pending);
	while (w->q) {
		delivery *d = w->q;
		w->q = d->next;
		free_delivery(d);
	}
	json_decref(w->urls);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	curl_global_cleanup();
	free(w);
}
