/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card's NVM journal (STATE.journal). A state change is one record written in place into a file
 * whose blocks already exist, then one fdatasync: no new file, no block allocation, no rename, so the
 * file system commits no metadata (the record that first needs a block writes the next 64 KiB of zeros
 * with it and syncs them with the file's size: one sync). The JSON snapshot (STATE) stays the whole
 * state at rest; a checkpoint writes it anew (with a new journal id) and the journal starts over.
 *
 * Layout, integers big-endian:
 *   page 0     header  "EUICCJNL" | format u32 | id[16] | SHA-256 of the 28 bytes before, first 16
 *   page k>=1  records, each on a page boundary (a record never shares a page with an earlier one):
 *              "JREC" | id[16] | seq u32 | len u32 | payload[len] | SHA-256 of all before, first 16
 * The id ties the journal to the snapshot that names it. Records count 1, 2, ...; the walk stops at the
 * first one that is absent or torn (a crash while appending it: it was never acknowledged). A damaged
 * record followed by good ones is corruption, not a crash, and the card refuses to load.
 *
 * A record's payload is the NVM document (as in the snapshot) where a profile's blob ("package",
 * "files") that the command did not touch is "=": the value of the record (or snapshot) before. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apdu/crypto.h"
#include "euicc_int.h"

static const uint8_t hdr_magic[8] = { 'E', 'U', 'I', 'C', 'C', 'J', 'N', 'L' };
static const uint8_t rec_magic[4] = { 'J', 'R', 'E', 'C' };

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* false when SHA-256 failed (OpenSSL out of memory): nothing is written with such a MAC, and a check
 * against it refuses */
static bool mac16(const uint8_t *p, size_t len, uint8_t out[JOURNAL_MAC])
{
	uint8_t h[32];
	if (crypto_sha256(p, len, h))
		return false;
	memcpy(out, h, JOURNAL_MAC);
	return true;
}

void journal_init(nvm_journal *j)
{
	memset(j, 0, sizeof(*j));
	j->fd = -1;
	j->size = JOURNAL_BYTES;
	j->end = JOURNAL_PAGE;
}

void journal_close(nvm_journal *j)
{
	if (j->fd >= 0)
		close(j->fd);
	j->fd = -1;
}

void journal_restart(nvm_journal *j, const uint8_t id[16])
{
	memcpy(j->id, id, 16);
	j->have_id = true;
	j->seq = 0;
	j->end = JOURNAL_PAGE;
	j->header_ok = false;
}

int journal_frame_header(uint8_t out[JOURNAL_HDR], const uint8_t id[16])
{
	memcpy(out, hdr_magic, 8);
	put32(out + 8, JOURNAL_FORMAT);
	memcpy(out + 12, id, 16);
	return mac16(out, 28, out + 28) ? 0 : -1;
}

size_t journal_frame_record(uint8_t *out, const uint8_t id[16], uint32_t seq, const void *payload, size_t len)
{
	memcpy(out, rec_magic, 4);
	memcpy(out + 4, id, 16);
	put32(out + 20, seq);
	put32(out + 24, (uint32_t)len);
	memcpy(out + JOURNAL_REC_HDR, payload, len);
	if (!mac16(out, JOURNAL_REC_HDR + len, out + JOURNAL_REC_HDR + len))
		return 0;
	return JOURNAL_REC_HDR + len + JOURNAL_MAC;
}

static uint64_t page_up(uint64_t x)
{
	return (x + JOURNAL_PAGE - 1) / JOURNAL_PAGE * JOURNAL_PAGE;
}

/* a whole, untorn record of journal id with sequence seq at off; its payload and length */
static bool record_at(const uint8_t *buf, size_t len, uint64_t off, const uint8_t id[16], uint32_t seq,
		      const uint8_t **payload, size_t *plen)
{
	if (off > len || len - off < JOURNAL_REC_HDR + JOURNAL_MAC)
		return false;
	const uint8_t *r = buf + off;
	if (memcmp(r, rec_magic, 4) || memcmp(r + 4, id, 16) || (seq && get32(r + 20) != seq))
		return false;
	uint32_t n = get32(r + 24);
	if (n > len - off - JOURNAL_REC_HDR - JOURNAL_MAC)
		return false;
	uint8_t m[JOURNAL_MAC];
	if (!mac16(r, JOURNAL_REC_HDR + n, m) || memcmp(m, r + JOURNAL_REC_HDR + n, JOURNAL_MAC))
		return false;
	*payload = r + JOURNAL_REC_HDR;
	*plen = n;
	return true;
}

/* the profile object of slot in a document's "profiles", or NULL */
static json_t *profile_of(json_t *doc, json_int_t slot)
{
	json_t *ps = json_object_get(doc, "profiles"), *p;
	size_t i;
	json_array_foreach(ps, i, p)
	{
		json_t *s = json_object_get(p, "slot");
		if (json_is_integer(s) && json_integer_value(s) == slot)
			return p;
	}
	return NULL;
}

/* "=" blobs of doc take their value from prev */
static int resolve(json_t *doc, json_t *prev, uint32_t seq, char *why, size_t why_len)
{
	static const char *const keys[] = { "package", "files" };
	json_t *ps = json_object_get(doc, "profiles"), *p;
	size_t i;
	json_array_foreach(ps, i, p)
	{
		for (size_t k = 0; k < 2; k++) {
			const char *v = json_string_value(json_object_get(p, keys[k]));
			if (!v || strcmp(v, "="))
				continue;
			json_t *slot = json_object_get(p, "slot");
			json_t *q = json_is_integer(slot) ? profile_of(prev, json_integer_value(slot)) : NULL;
			json_t *was = q ? json_object_get(q, keys[k]) : NULL;
			if (!json_is_string(was) || !strcmp(json_string_value(was), "=")) {
				snprintf(why, why_len, "journal record %u keeps field '%s' of a profile that had none",
					 seq, keys[k]);
				return -1;
			}
			json_object_set(p, keys[k], was);
		}
	}
	return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* the journal's header: 2 ours (format in *format), 1 of another snapshot or none yet (all zero), 0
 * damaged */
static int header_kind(const uint8_t *buf, size_t len, const uint8_t id[16], uint32_t *format)
{
	if (len < JOURNAL_HDR)
		return all_zero(buf, len) ? 1 : 0;
	if (all_zero(buf, JOURNAL_HDR))
		return 1; /* preallocated, no record written yet */
	uint8_t m[JOURNAL_MAC];
	bool have_mac = mac16(buf, 28, m);
	uint32_t f = get32(buf + 8);
	if (!have_mac || memcmp(buf, hdr_magic, 8) || f < 1 || f > JOURNAL_FORMAT || memcmp(m, buf + 28, JOURNAL_MAC))
		return 0;
	*format = f;
	return memcmp(buf + 12, id, 16) ? 1 : 2;
}

int journal_replay(const uint8_t *buf, size_t len, const uint8_t id[16], json_t **root, nvm_journal *j, char *note,
		   size_t note_len, journal_check_fn check, void *check_ctx, char *why, size_t why_len)
{
	j->seq = 0;
	j->end = JOURNAL_PAGE;
	j->header_ok = false;
	uint32_t format = 0;
	int kind = header_kind(buf, len, id, &format);
	if (kind == 0) {
		snprintf(why, why_len, "the journal's header is damaged (not a journal of this card's format)");
		return -1;
	}
	if (kind == 1)
		return 0; /* no journal for this snapshot (none yet, or one of an earlier snapshot) */
	j->header_ok = true;
	uint64_t off = JOURNAL_PAGE;
	const uint8_t *p;
	size_t n;
	while (record_at(buf, len, off, id, j->seq + 1, &p, &n)) {
		json_error_t err;
		json_t *doc = json_loadb((const char *)p, n, JSON_REJECT_DUPLICATES, &err);
		if (!doc) {
			snprintf(why, why_len, "journal record %u is not a JSON document (%s)", j->seq + 1, err.text);
			return -1;
		}
		char inner[300];
		if (resolve(doc, *root, j->seq + 1, why, why_len)) {
			json_decref(doc);
			return -1;
		}
		/* every record is a whole card: one whose fields do not load is damage, even when a later
		 * record would replace it */
		if (check && check(check_ctx, doc, inner, sizeof(inner))) {
			snprintf(why, why_len, "journal record %u: %s", j->seq + 1, inner);
			json_decref(doc);
			return -1;
		}
		json_decref(*root);
		*root = doc;
		j->seq++;
		off = page_up(off + JOURNAL_REC_HDR + n + JOURNAL_MAC);
	}
	j->end = off;
	/* the walk stopped: a good record further on is damage, not a crash */
	for (uint64_t o = off + JOURNAL_PAGE; o < len; o += JOURNAL_PAGE)
		if (record_at(buf, len, o, id, 0, &p, &n) && get32(buf + o + 20) > j->seq + 1) {
			snprintf(why, why_len, "journal record %u is damaged but record %u follows it", j->seq + 1,
				 get32(buf + o + 20));
			return -1;
		}
	/* What the walk stopped at. A format-2 writer zeroes the head of the slot after each record in the
	 * same write, so that slot holds zeros, a record of an earlier journal (another id), or the next
	 * record as far as a crash let it be written (its head intact, the rest torn). Anything else is
	 * damage. (Format 1 made no such promise: there the walk's end is taken as it is.) */
	if (off + JOURNAL_REC_HDR > len)
		return 0;
	const uint8_t *r = buf + off;
	if (all_zero(r, JOURNAL_REC_HDR) || (!memcmp(r, rec_magic, 4) && memcmp(r + 4, id, 16)))
		return 0;
	if (!memcmp(r, rec_magic, 4) && get32(r + 20) == j->seq + 1) {
		if (note && note_len)
			snprintf(note, note_len,
				 "journal record %u is torn (the card stopped while writing it; it was never "
				 "acknowledged): ignored",
				 j->seq + 1);
		return 0;
	}
	if (format < 2)
		return 0;
	snprintf(why, why_len, "journal record %u is damaged (its header does not read)", j->seq + 1);
	return -1;
}

char *journal_path(const char *path)
{
	size_t n = strlen(path) + sizeof(".journal");
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s.journal", path);
	return p;
}

int journal_read(const char *path, const uint8_t id[16], json_t **root, nvm_journal *j, char *note, size_t note_len,
		 journal_check_fn check, void *check_ctx, char *why, size_t why_len)
{
	char *jp = journal_path(path);
	if (!jp) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	int fd = open(jp, O_RDONLY | O_CLOEXEC);
	int rc = 0;
	if (fd < 0) {
		if (errno != ENOENT) {
			snprintf(why, why_len, "cannot read %s: %s", jp, strerror(errno));
			rc = -1;
		}
		free(jp);
		return rc; /* no journal: the snapshot is the state */
	}
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	if (fstat(fd, &st) != 0) {
		snprintf(why, why_len, "cannot read %s: %s", jp, strerror(errno));
		close(fd);
		free(jp);
		return -1;
	}
	if (st.st_size > 0 && (uint64_t)st.st_size <= 64u * JOURNAL_BYTES) {
		buf = malloc((size_t)st.st_size);
		while (buf && len < (size_t)st.st_size) {
			ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
			if (r <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				break;
			}
			len += (size_t)r;
		}
	} else if (st.st_size > 0) {
		snprintf(why, why_len, "%s is larger than any journal this card writes", jp);
		rc = -1;
	}
	close(fd);
	if (!rc && st.st_size > 0 && (!buf || len != (size_t)st.st_size)) {
		snprintf(why, why_len, "cannot read %s", jp);
		rc = -1;
	}
	if (!rc && buf) {
		char inner[300];
		if (journal_replay(buf, len, id, root, j, note, note_len, check, check_ctx, inner, sizeof(inner))) {
			snprintf(why, why_len, "%s: %s", jp, inner);
			rc = -1;
		}
	}
	if (buf)
		crypto_wipe(buf, len); /* records hold the card's keys */
	free(buf);
	free(jp);
	return rc;
}

int sync_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup(".");
	if (!dir)
		return -1;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (fd < 0)
		return -1;
	int rc = fsync(fd);
	close(fd);
	return rc;
}

static int pwrite_all(int fd, const void *p, size_t len, off_t off)
{
	const uint8_t *b = p;
	while (len) {
		ssize_t w = pwrite(fd, b, len, off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		b += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

/* the journal file open, with how much of it is written (fill_from, whole pages) and
 * whether it was made here (its directory entry not synced yet). A farm makes its cards' journals empty
 * (host/farm.c): those are opened as they are, no new inode. */
static int journal_open(nvm_journal *j, const char *path, char *why, size_t why_len)
{
	if (j->fd >= 0)
		return 0;
	char *jp = journal_path(path);
	if (!jp) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	int fd = open(jp, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		fd = open(jp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		j->dir_unsynced = fd >= 0;
	}
	struct stat st;
	if (fd < 0 || fstat(fd, &st)) {
		snprintf(why, why_len, "cannot open %s: %s", jp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(jp);
		return -1;
	}
	free(jp);
	j->fill_from = (uint64_t)st.st_size / JOURNAL_PAGE * JOURNAL_PAGE;
	j->fd = fd;
	return 0;
}

/* The journal's blocks are written (zeros) ahead of the records, JOURNAL_CHUNK at a time up to j->size,
 * in the write of the record that first needs them, and the one fsync that follows covers both: an
 * append within what is written never grows the file, so its fdatasync commits no metadata. A crash
 * before that fsync leaves zeros, a torn record or the record whole, each of which loads (the record
 * was never acknowledged). A file made here has its directory entry synced too; one found (the farm's)
 * has its entry on disk already. Returns the new written length (unchanged: nothing to write), or 0. */
static uint64_t journal_fill(nvm_journal *j, uint64_t need)
{
	uint64_t from = j->fill_from;
	if (need <= from)
		return from;
	uint64_t to = (need + JOURNAL_CHUNK - 1) / JOURNAL_CHUNK * JOURNAL_CHUNK;
	if (to > j->size)
		to = j->size;
	uint8_t *zero = calloc(1, (size_t)(to - from));
	if (!zero)
		return 0;
	int rc = pwrite_all(j->fd, zero, (size_t)(to - from), (off_t)from);
	free(zero);
	return rc ? 0 : to;
}

int journal_append(nvm_journal *j, const char *path, const char *payload, size_t len, char *why, size_t why_len)
{
	size_t framed = JOURNAL_REC_HDR + len + JOURNAL_MAC;
	if (!j->have_id || j->end + framed > j->size)
		return 1; /* no room (or no journal yet): the caller writes a snapshot */
	if (journal_open(j, path, why, why_len))
		return -1;
	/* the record, zeros to the next page and the head of the next slot zeroed, in one write: the slot
	 * after the last record never holds what an earlier journal left there (see journal_replay) */
	uint64_t next = page_up(j->end + framed);
	size_t wlen = next + JOURNAL_REC_HDR <= j->size ? (size_t)(next - j->end) + JOURNAL_REC_HDR : framed;
	uint8_t *rec = calloc(1, wlen);
	if (!rec) {
		snprintf(why, why_len, "out of memory");
		return -1;
	}
	uint8_t h[JOURNAL_HDR];
	if (!journal_frame_record(rec, j->id, j->seq + 1, payload, len) ||
	    (!j->header_ok && journal_frame_header(h, j->id))) {
		free(rec);
		snprintf(why, why_len, "cannot compute the journal's MAC (out of memory)");
		return -1;
	}
	uint64_t filled = journal_fill(j, j->end + wlen);
	int rc = filled ? 0 : -1;
	if (!rc && !j->header_ok) {
		/* the header and the first record go to disk in the same sync: a record whose header did not
		 * make it is ignored, and it was never acknowledged */
		rc = pwrite_all(j->fd, h, sizeof(h), 0);
	}
	if (!rc)
		rc = pwrite_all(j->fd, rec, wlen, (off_t)j->end);
	if (!rc)
		rc = filled > j->fill_from ? fsync(j->fd) : fdatasync(j->fd);
	if (!rc && j->dir_unsynced)
		rc = sync_dir_of(path);
	if (rc) {
		snprintf(why, why_len, "cannot write the journal of %s: %s", path, strerror(errno));
		/* best effort: the record must not count at the next load, since the command is undone */
		static const uint8_t zero[JOURNAL_REC_HDR];
		if (!pwrite_all(j->fd, zero, sizeof(zero), (off_t)j->end))
			(void)fdatasync(j->fd);
	} else {
		j->fill_from = filled;
		j->dir_unsynced = false;
		j->header_ok = true;
		j->seq++;
		j->end = page_up(j->end + framed);
	}
	crypto_wipe(rec, wlen);
	free(rec);
	return rc ? -1 : 0;
}
