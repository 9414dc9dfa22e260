/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The device farm's directory (include/host/farm.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <dirent.h>
#include <jansson.h>

#include "host/farm.h"

static int sync_close(FILE *f)
{
	int rc = fflush(f) || fsync(fileno(f)) ? -1 : 0;
	return fclose(f) || rc ? -1 : 0;
}

static FILE *open_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0)
		close(fd);
	return f;
}

/* The card's journal file, made empty beside its state file and its folder synced: the first change then
 * finds it (making a file in a campaign cost an ext4 inode search, a seventh of a swap job's CPU time
 * here), and an empty journal takes an inode but no block. */
static int empty_journal(const char *card, char *why, size_t why_len)
{
	char jp[PATH_MAX + 80];
	snprintf(jp, sizeof(jp), "%s.journal", card);
	int fd = open(jp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || close(fd)) {
		snprintf(why, why_len, "%.300s: %s", jp, strerror(errno));
		return -1;
	}
	char *slash = strrchr(jp, '/');
	*slash = '\0';
	int dfd = open(jp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = dfd < 0 || fsync(dfd) ? -1 : 0;
	if (rc)
		snprintf(why, why_len, "cannot sync %.300s: %s", jp, strerror(errno));
	if (dfd >= 0)
		close(dfd);
	return rc;
}

static bool dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	bool empty = true;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			empty = false;
	closedir(d);
	return empty;
}

static const char *base_name(const char *dir)
{
	const char *b = strrchr(dir, '/');
	return b && b[1] ? b + 1 : dir;
}

static int write_info(const char *dir, unsigned count, const euicc_new_opts *opts, char *why, size_t why_len)
{
	char ts[32], path[4200], tmp[4300];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_t *o = json_pack("{s:i,s:i,s:s}", "format", FARM_FORMAT, "count", (json_int_t)count, "created", ts);
	if (opts->has_seed)
		json_object_set_new(o, "seed", json_integer((json_int_t)opts->seed));
	snprintf(path, sizeof(path), "%s/farm.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	FILE *f = open_private(tmp);
	int rc = !f || json_dumpf(o, f, JSON_INDENT(2)) || fputc('\n', f) == EOF;
	if (f && sync_close(f))
		rc = 1;
	json_decref(o);
	if (rc || rename(tmp, path)) {
		snprintf(why, why_len, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int farm_create(const char *dir, unsigned count, const euicc_new_opts *opts, farm_progress_fn progress, void *ctx,
		char *why, size_t why_len)
{
	if (count < 1 || count > FARM_MAX_CARDS) {
		snprintf(why, why_len, "--count %u: a farm holds 1 to %u cards", count, FARM_MAX_CARDS);
		return -1;
	}
	if (mkdir(dir, 0700) && !(errno == EEXIST && dir_empty(dir))) {
		snprintf(why, why_len, "%s: %s", dir,
			 errno == EEXIST ? "exists and is not empty (a farm is made in a new directory)"
					 : strerror(errno));
		return -1;
	}
	char abs[PATH_MAX], path[PATH_MAX + 64];
	if (!realpath(dir, abs)) {
		snprintf(why, why_len, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/cards", abs);
	if (mkdir(path, 0700)) {
		snprintf(why, why_len, "%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/eis.jsonl", abs);
	FILE *eis = open_private(path);
	snprintf(path, sizeof(path), "%s/fleet.csv", abs);
	FILE *csv = open_private(path);
	int rc = -1;
	if (!eis || !csv) {
		snprintf(why, why_len, "cannot write in %s: %s", abs, strerror(errno));
		goto out;
	}
	fprintf(csv, "eis,endpoint,tags\n");
	for (unsigned i = 0; i < count; i++) {
		euicc_new_opts o = *opts;
		o.seed = opts->seed + i;
		char inner[512], eid[33];
		euicc_card *c = euicc_create(&o, inner, sizeof(inner));
		if (!c) {
			snprintf(why, why_len, "card %u: %s", i, inner);
			goto out;
		}
		/* a folder per card: loading a card scans its folder for temporary files a killed writer left */
		snprintf(path, sizeof(path), "%s/cards/%06u", abs, i);
		if (mkdir(path, 0700)) {
			snprintf(why, why_len, "card %u: %s: %s", i, path, strerror(errno));
			euicc_free(c);
			goto out;
		}
		snprintf(path, sizeof(path), "%s/cards/%06u/card.nvm", abs, i);
		json_t *e = euicc_eis(c);
		int w = euicc_save(c, path, inner, sizeof(inner)) || empty_journal(path, inner, sizeof(inner));
		euicc_eid(c, eid);
		euicc_free(c);
		if (w || !e || json_dumpf(e, eis, JSON_COMPACT | JSON_SORT_KEYS) || fputc('\n', eis) == EOF) {
			json_decref(e);
			snprintf(why, why_len, "card %u: %s", i, w ? inner : "cannot write eis.jsonl");
			goto out;
		}
		json_decref(e);
		fprintf(csv, "eis.jsonl#%u,farm:%s#%u,farm=%s;slot=%u\n", i, abs, i, base_name(abs), i);
		if (progress)
			progress(ctx, i + 1, count);
	}
	FILE *a = eis, *b = csv;
	eis = csv = NULL;
	if (sync_close(a) | sync_close(b)) {
		snprintf(why, why_len, "cannot write in %s: %s", abs, strerror(errno));
		goto out;
	}
	rc = write_info(abs, count, opts, why, why_len);
out:
	if (eis)
		fclose(eis);
	if (csv)
		fclose(csv);
	return rc;
}

int farm_open(const char *dir, farm_info *f, char *why, size_t why_len)
{
	memset(f, 0, sizeof(*f));
	char path[PATH_MAX + 16];
	if (!realpath(dir, f->dir)) {
		snprintf(why, why_len, "farm %s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof(path), "%s/farm.json", f->dir);
	json_error_t je;
	json_t *o = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (!o) {
		snprintf(why, why_len, "%s: not a finished farm (%s)", dir, je.text);
		return -1;
	}
	json_t *fmt = json_object_get(o, "format"), *n = json_object_get(o, "count"), *s = json_object_get(o, "seed");
	int rc = 0;
	if (!json_is_integer(fmt) || json_integer_value(fmt) != FARM_FORMAT) {
		snprintf(why, why_len, "%s: field 'format': this build reads farm format %d", path, FARM_FORMAT);
		rc = -1;
	} else if (!json_is_integer(n) || json_integer_value(n) < 1 || json_integer_value(n) > FARM_MAX_CARDS) {
		snprintf(why, why_len, "%s: field 'count' must be 1 to %u", path, FARM_MAX_CARDS);
		rc = -1;
	} else {
		f->count = (unsigned)json_integer_value(n);
		f->has_seed = json_is_integer(s);
		f->seed = (uint64_t)json_integer_value(s);
		snprintf(f->created, sizeof(f->created), "%s",
			 json_is_string(json_object_get(o, "created"))
				 ? json_string_value(json_object_get(o, "created"))
				 : "");
	}
	json_decref(o);
	return rc;
}

int farm_card_path(const farm_info *f, unsigned index, char *out, size_t len)
{
	if (index >= f->count)
		return -1;
	int n = snprintf(out, len, "%s/cards/%06u/card.nvm", f->dir, index);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

int farm_parse_endpoint(const char *rest, char *dir, size_t dir_len, unsigned *index, char *why, size_t why_len)
{
	const char *h = strrchr(rest, '#');
	char *end;
	errno = 0;
	unsigned long i = h ? strtoul(h + 1, &end, 10) : 0;
	if (!h || h == rest || !h[1] || *end || errno || i >= FARM_MAX_CARDS || (size_t)(h - rest) >= dir_len) {
		snprintf(why, why_len, "endpoint farm:%s: expected farm:DIR#INDEX", rest);
		return -1;
	}
	memcpy(dir, rest, (size_t)(h - rest));
	dir[h - rest] = '\0';
	*index = (unsigned)i;
	return 0;
}
