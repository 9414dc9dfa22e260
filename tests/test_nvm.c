/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card's NVM: the JSON snapshot and its journal. Every state change is one journal record; a
 * reload gives the live card's state; a torn last record is a crash (the state before it), a damaged
 * record followed by good ones is refused; a journal of another snapshot is ignored; a full journal
 * makes a snapshot; a save leaves one file; a write that fails undoes the command; one writer per file. */
#define _GNU_SOURCE /* memmem */
#include <fcntl.h>
#include <sys/stat.h>

#include "testutil.h"
#include "cardutil.h"
#include "euicc_int.h"

static cu_fixture F;
static char snap[400], jrnl[400];

static void setup(void)
{
	ck_assert_int_eq(cu_setup(&F, 42), 0);
	snprintf(snap, sizeof(snap), "%s/card.json", F.dir);
	snprintf(jrnl, sizeof(jrnl), "%s/card.json.journal", F.dir);
	ck_assert_int_eq(dev_attach(&F.host), 0);
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
}

static void teardown(void)
{
	cu_teardown(&F);
}

static abuf slurp(const char *path)
{
	abuf b = ABUF_INIT;
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s missing", path);
	uint8_t buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		abuf_put(&b, buf, n);
	fclose(f);
	return b;
}

static void spit(const char *path, const abuf *b)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b->p, 1, b->len, f), b->len);
	fclose(f);
}

static void patch(const char *path, long off, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, p, n, off), (ssize_t)n);
	close(fd);
}

/* the state a load of the files gives equals want (secrets included); want NULL: the live card */
static void loads_as(json_t *want)
{
	char why[600];
	euicc_card *again = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_msg(again != NULL, "%s", why);
	json_t *a = want ? json_incref(want) : euicc_show(F.card, true), *b = euicc_show(again, true);
	char *da = json_dumps(a, JSON_SORT_KEYS), *db = json_dumps(b, JSON_SORT_KEYS);
	ck_assert_msg(json_equal(a, b), "loaded state differs:\n want %.300s\n  got %.300s", da, db);
	free(da);
	free(db);
	json_decref(a);
	json_decref(b);
	euicc_free(again);
}

static void refused(const char *needle)
{
	char why[600];
	euicc_card *again = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_msg(again == NULL, "a damaged journal loaded");
	ck_assert_msg(strstr(why, needle) != NULL, "message '%s' lacks '%s'", why, needle);
}

START_TEST(changes_go_to_the_journal)
{
	abuf before = slurp(snap);
	uint32_t seq = F.card->jr.seq;
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	ck_assert_uint_eq(F.card->jr.seq, seq + 1);
	ck_assert_int_eq(cu_install(&F, 1, "8949449999999990015"), 0);
	ck_assert_uint_gt(F.card->jr.seq, seq + 2);
	/* the snapshot is as it was; the state is snapshot + journal */
	abuf after = slurp(snap);
	ck_assert_uint_eq(before.len, after.len);
	ck_assert(memcmp(before.p, after.p, before.len) == 0);
	loads_as(NULL);
	/* a record of a command that touched no blob keeps them ("="); the download's record has them */
	abuf j = slurp(jrnl);
	ck_assert_ptr_nonnull(memmem(j.p, j.len, "\"package\":\"=\"", 13));
	bool inline_seen = false;
	for (const uint8_t *q = j.p; (q = memmem(q, j.len - (size_t)(q - j.p), "\"package\":\"", 11)) != NULL; q += 11)
		inline_seen |= q[11] == 'a' || q[11] == 'A';
	ck_assert_msg(inline_seen, "no record holds the downloaded package");
	abuf_free(&j);
	abuf_free(&before);
	abuf_free(&after);
	/* a card loaded from the files would append its next record where the live one does */
	char why[600];
	euicc_card *again = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_ptr_nonnull(again);
	ck_assert_uint_eq(again->jr.seq, F.card->jr.seq);
	ck_assert_uint_eq(again->jr.end, F.card->jr.end);
	euicc_free(again);
}
END_TEST

/* the text the card writes (nvm_render) is jansson's compact dump of the document nvm_to_json builds,
 * byte for byte, with the journal id where a snapshot names it and "=" for kept blobs */
static void render_matches(const euicc_nvm *n)
{
	json_t *doc = nvm_to_json(n, true);
	char *want = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t len = 0;
	char *got = nvm_render(n, NULL, NULL, &len);
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(len, strlen(got));
	ck_assert_msg(!strcmp(want, got), "render differs:\n want %.400s\n  got %.400s", want, got);
	free(got);
	free(want);
	static const uint8_t id[16] = { 0xA5, 1, 2, 3 };
	got = nvm_render(n, id, NULL, &len);
	json_t *back = json_loadb(got, len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(back);
	ck_assert_str_eq(json_string_value(json_object_get(back, "journal")), "a5010203000000000000000000000000");
	json_object_del(back, "journal");
	ck_assert(json_equal(back, doc));
	json_decref(back);
	free(got);
	bool keep[EUICC_MAX_PROFILES] = { false };
	got = nvm_render(n, NULL, keep, &len);
	back = json_loadb(got, len, JSON_REJECT_DUPLICATES, NULL);
	ck_assert_ptr_nonnull(back);
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(back, "profiles"), i, p)
	{
		ck_assert_str_eq(json_string_value(json_object_get(p, "package")), "=");
		json_t *f = json_object_get(p, "files");
		ck_assert(!f || !strcmp(json_string_value(f), "="));
	}
	size_t used = 0;
	for (int k = 0; k < EUICC_MAX_PROFILES; k++)
		used += n->profiles[k].used;
	ck_assert_uint_eq(json_array_size(json_object_get(back, "profiles")), used);
	json_decref(back);
	free(got);
	json_decref(doc);
}

START_TEST(rendered_text_is_the_document)
{
	render_matches(&F.card->nvm);
	ck_assert_int_eq(cu_install(&F, 0, "8949449999999990015"), 0);
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	render_matches(&F.card->nvm);
	/* files changed since the install, a notification pending, characters jansson escapes */
	euicc_nvm *n = &F.card->nvm;
	n->profiles[0].files_pristine = false;
	n->notifs[3] = (nvm_notif){ .used = true, .seq = 7, .type = 2, .aid = { 0xA0 } };
	snprintf(n->smsr.digits, sizeof(n->smsr.digits), "4\"7\\\n\x01");
	n->rng_counter = 0x7FFFFFFFFFFFFFFFull;
	render_matches(n);
}
END_TEST

START_TEST(torn_last_record_is_a_crash)
{
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	json_t *was = euicc_show(F.card, true);
	uint64_t off = F.card->jr.end;
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	loads_as(NULL);
	/* one byte of the last record's payload flipped: as if the crash came mid-write */
	abuf j = slurp(jrnl);
	uint8_t b = j.p[off + JOURNAL_REC_HDR + 7] ^ 0x20;
	patch(jrnl, (long)off + JOURNAL_REC_HDR + 7, &b, 1);
	loads_as(was);
	/* cut short in the middle of the record: the same */
	spit(jrnl, &j);
	ck_assert_int_eq(truncate(jrnl, (off_t)off + 100), 0);
	loads_as(was);
	/* no journal at all: the snapshot alone (no ISD-P yet) */
	unlink(jrnl);
	char why[600];
	euicc_card *again = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_ptr_nonnull(again);
	ck_assert(!again->nvm.profiles[0].used && !again->nvm.profiles[1].used);
	euicc_free(again);
	abuf_free(&j);
	json_decref(was);
}
END_TEST

START_TEST(damage_before_good_records_refused)
{
	uint64_t first = F.card->jr.end;
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	uint8_t b = 'x';
	patch(jrnl, (long)first + JOURNAL_REC_HDR + 3, &b, 1);
	abuf s0 = slurp(snap), j0 = slurp(jrnl);
	refused("is damaged but record");
	/* the refused load changed neither file */
	abuf s1 = slurp(snap), j1 = slurp(jrnl);
	ck_assert(s0.len == s1.len && !memcmp(s0.p, s1.p, s0.len));
	ck_assert(j0.len == j1.len && !memcmp(j0.p, j1.p, j0.len));
	abuf_free(&s0);
	abuf_free(&j0);
	abuf_free(&s1);
	abuf_free(&j1);
}
END_TEST

START_TEST(well_framed_bad_records_refused)
{
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	uint64_t off = F.card->jr.end;
	uint32_t seq = F.card->jr.seq + 1;
	static const char *const bad[] = {
		"not json",
		/* a blob kept from a profile that never had one */
		"{\"profiles\":[{\"slot\":3,\"package\":\"=\",\"files\":\"=\"}]}",
		/* valid JSON, wrong field: the loader names it */
		"{\"format\":\"euicc-bench-nvm\",\"version\":1,\"eid\":\"12\"}",
	};
	static const char *const why[] = { "not a JSON document", "keeps field 'package'", "'eid'" };
	abuf j = slurp(jrnl);
	for (size_t i = 0; i < 3; i++) {
		spit(jrnl, &j);
		uint8_t rec[512];
		size_t n = journal_frame_record(rec, F.card->jr.id, seq, bad[i], strlen(bad[i]));
		patch(jrnl, (long)off, rec, n);
		refused(why[i]);
	}
	/* a record of this journal where the next one belongs, with a sequence number skipped, is damage
	 * (the writer zeroes the slot after each record: nothing else can be there) */
	spit(jrnl, &j);
	uint8_t rec[512];
	size_t n = journal_frame_record(rec, F.card->jr.id, seq + 1, bad[0], strlen(bad[0]));
	patch(jrnl, (long)off, rec, n);
	refused("damaged (its header does not read)");
	abuf_free(&j);
}
END_TEST

START_TEST(bad_journal_id_refused)
{
	abuf a = slurp(snap);
	const char *f = memmem(a.p, a.len, "\"journal\":\"", 11);
	ck_assert_ptr_nonnull(f);
	patch(snap, (long)((const uint8_t *)f - a.p) + 11, "zz", 2);
	refused("field 'journal'");
	abuf_free(&a);
}
END_TEST

START_TEST(journal_of_another_snapshot_ignored)
{
	/* a copy of the card saved elsewhere now: a snapshot with its own journal id (of the state on disk,
	 * where a confirmation may still wait for the card's next write) */
	char other[400], why[600];
	snprintf(other, sizeof(other), "%s/other.json", F.dir);
	euicc_card *copy = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_ptr_nonnull(copy);
	json_t *was = euicc_show(copy, true);
	ck_assert_int_eq(euicc_save(copy, other, why, sizeof(why)), 0);
	euicc_free(copy);
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	abuf o = slurp(other);
	char idhex[33];
	hex_encode(F.card->jr.id, 16, idhex);
	ck_assert_ptr_nonnull(memmem(o.p, o.len, "\"journal\":\"", 11));
	ck_assert_ptr_null(memmem(o.p, o.len, idhex, 32));
	/* that copy put over the state file: its own state; the records there belong to another snapshot */
	spit(snap, &o);
	loads_as(was);
	abuf_free(&o);
	json_decref(was);
}
END_TEST

START_TEST(full_journal_makes_a_snapshot)
{
	F.card->jr.size = 3 * JOURNAL_PAGE; /* room for two small records */
	abuf s0 = slurp(snap);
	uint8_t id0[16];
	memcpy(id0, F.card->jr.id, 16);
	for (int round = 0; round < 3; round++) {
		ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
		ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
		ck_assert_uint_eq(cu_delete(&F, 0), 0x9000);
		ck_assert_uint_eq(cu_delete(&F, 1), 0x9000);
		loads_as(NULL);
	}
	ck_assert(memcmp(id0, F.card->jr.id, 16) != 0);
	abuf s1 = slurp(snap);
	ck_assert(s0.len != s1.len || memcmp(s0.p, s1.p, s0.len));
	ck_assert_uint_le(F.card->jr.end, F.card->jr.size);
	/* a record larger than the whole journal: a snapshot every time, still loads */
	ck_assert_int_eq(cu_install(&F, 2, "8949449999999990023"), 0);
	loads_as(NULL);
	abuf_free(&s0);
	abuf_free(&s1);
}
END_TEST

/* the journal's blocks are written a chunk ahead of the records: a record past the first chunk writes
 * the next one, and the card loads as it runs at every step */
START_TEST(journal_grows_a_chunk_at_a_time)
{
	char why[600];
	ck_assert_int_eq(euicc_save(F.card, snap, why, sizeof(why)), 0);
	euicc_set_journal_size(F.card, 2 * JOURNAL_CHUNK);
	struct stat st;
	for (int i = 0; i < 12; i++) {
		ck_assert_uint_eq(cu_create(&F, i % 3), 0x9000);
		ck_assert_uint_eq(cu_delete(&F, i % 3), 0x9000);
		ck_assert_int_eq(stat(jrnl, &st), 0);
		bool past = F.card->jr.end + JOURNAL_REC_HDR > JOURNAL_CHUNK;
		ck_assert_uint_eq((uint64_t)st.st_size, past ? 2 * JOURNAL_CHUNK : JOURNAL_CHUNK);
		ck_assert_uint_eq(F.card->jr.fill_from, (uint64_t)st.st_size);
		loads_as(NULL);
	}
	ck_assert_uint_gt(F.card->jr.end, JOURNAL_CHUNK); /* it did cross */
}
END_TEST

static uint64_t be40(const uint8_t c[5])
{
	uint64_t v = 0;
	for (int i = 0; i < 5; i++)
		v = v << 8 | c[i];
	return v;
}

/* after a save (as after a load) the generator's and the OTA counters' marks sit on what was used: the
 * session's first record carries the next block of each, the packets and draws after it write none */
START_TEST(first_record_carries_counter_blocks)
{
	char why[600];
	ck_assert_int_eq(euicc_save(F.card, snap, why, sizeof(why)), 0);
	euicc_card *c = F.card;
	ck_assert_uint_eq(c->nvm.rng_counter, c->rng_pos);
	ck_assert_uint_eq(be40(c->nvm.keysets[0].counter), be40(c->ota.accepted[0]));
	/* a record for something else (in a campaign: the MO notification at attach) */
	bool touched[EUICC_MAX_PROFILES] = { false };
	ck_assert_int_eq(nvm_commit(c, touched, why, sizeof(why)), 0);
	ck_assert_uint_eq(c->jr.seq, 1);
	ck_assert_uint_gt(c->nvm.rng_counter, c->rng_pos);
	ck_assert_uint_gt(be40(c->nvm.keysets[0].counter), be40(c->ota.accepted[0]));
	loads_as(NULL); /* the blocks are in the record */
	/* the session's first packet, on a command that changes nothing else (GET STATUS): no record */
	uint16_t sw = dev_isdr(&F.host, "80F24002024F0000", NULL); /* no ISD-P yet: 6A88, answered */
	ck_assert_msg(sw == 0x9000 || sw == 0x6A88, "GET STATUS: %04x", sw);
	ck_assert_uint_eq(c->jr.seq, 1);
}
END_TEST

START_TEST(save_leaves_one_file)
{
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	struct stat st;
	ck_assert_int_eq(stat(jrnl, &st), 0);
	ck_assert_uint_eq((uint64_t)st.st_size, JOURNAL_CHUNK); /* blocks written a chunk ahead */
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	char why[600];
	ck_assert_int_eq(euicc_save(F.card, snap, why, sizeof(why)), 0);
	ck_assert_int_ne(stat(jrnl, &st), 0);
	loads_as(NULL);
	/* and the card goes on journaling after the save */
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	ck_assert_int_eq(stat(jrnl, &st), 0);
	ck_assert_uint_eq(F.card->jr.seq, 1);
	loads_as(NULL);
}
END_TEST

START_TEST(confirmation_waits_for_the_next_write)
{
	ck_assert_int_eq(cu_install(&F, 0, "8949449999999990015"), 0);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000); /* enable: its notification arrives */
	ck_assert_uint_eq(F.host.n_notifs, 1);
	uint32_t seq = F.card->jr.seq;
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
	/* the confirmation alone wrote nothing: a load still has the notification (sent again) */
	ck_assert_uint_eq(F.card->jr.seq, seq);
	char why[600];
	euicc_card *again = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_ptr_nonnull(again);
	int pending = 0;
	for (int i = 0; i < EUICC_MAX_NOTIFS; i++)
		pending += again->nvm.notifs[i].used;
	ck_assert_int_ge(pending, 1);
	euicc_free(again);
	/* the next change carries it */
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	ck_assert_uint_eq(F.card->jr.seq, seq + 1);
	loads_as(NULL);
}
END_TEST

START_TEST(failed_write_undoes_the_command)
{
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	json_t *was = euicc_show(F.card, true);
	/* the journal's name means a full device for a while (the card checks that the name is still its
	 * journal: a symbolic link to the device it writes passes) */
	char real[420];
	snprintf(real, sizeof(real), "%s.real", jrnl);
	ck_assert_int_eq(rename(jrnl, real), 0);
	ck_assert_int_eq(symlink("/dev/full", jrnl), 0);
	int keep = F.card->jr.fd;
	F.card->jr.fd = open(jrnl, O_RDWR);
	ck_assert_int_ge(F.card->jr.fd, 0);
	ck_assert_uint_ne(cu_create(&F, 1), 0x9000);
	ck_assert_ptr_nonnull(strstr(euicc_last_error(F.card), "cannot write the journal"));
	json_t *now = euicc_show(F.card, true);
	ck_assert(json_equal(was, now));
	json_decref(now);
	close(F.card->jr.fd);
	F.card->jr.fd = keep;
	ck_assert_int_eq(unlink(jrnl), 0);
	ck_assert_int_eq(rename(real, jrnl), 0);
	loads_as(was);
	/* the disk back: the same command goes through */
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	loads_as(NULL);
	json_decref(was);
}
END_TEST

START_TEST(installed_files_are_rebuilt_not_saved)
{
	ck_assert_int_eq(cu_install(&F, 0, "8949449999999990015"), 0);
	char why[600];
	ck_assert_int_eq(euicc_save(F.card, snap, why, sizeof(why)), 0);
	/* the profile as installed: its package is saved, its files are not (loading installs them) */
	json_t *doc = json_load_file(snap, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	json_t *p = json_array_get(json_object_get(doc, "profiles"), 0);
	ck_assert_ptr_nonnull(json_object_get(p, "package"));
	ck_assert_ptr_null(json_object_get(p, "files"));
	json_decref(doc);
	loads_as(NULL);
	ck_assert(F.card->nvm.profiles[0].files_pristine);
	/* PIN states kept for rebuilt files must be the package's PINs */
	doc = json_load_file(snap, 0, NULL);
	p = json_array_get(json_object_get(doc, "profiles"), 0);
	json_array_append_new(json_object_get(p, "pins"),
			      json_pack("{s:i,s:i,s:i,s:i,s:i,s:b,s:s}", "ref", 1, "max", 3, "left", 3, "unblock_ref",
					1, "attrs", 1, "enabled", 1, "value", "31323334ffffffff"));
	ck_assert_int_eq(json_dump_file(doc, snap, 0), 0);
	json_decref(doc);
	refused("does not match the package's PINs");
}
END_TEST

START_TEST(version_1_file_loads_and_moves_on)
{
	/* a file of the previous format: no journal, version 1 */
	json_t *doc = json_load_file(snap, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	json_object_del(doc, "journal");
	json_object_set_new(doc, "version", json_integer(1));
	ck_assert_int_eq(json_dump_file(doc, snap, 0), 0);
	json_decref(doc);
	unlink(jrnl);
	char why[600];
	euicc_free(F.card);
	F.card = euicc_load(snap, why, sizeof(why));
	ck_assert_msg(F.card != NULL, "%s", why);
	ck_assert(!F.card->jr.have_id);
	uint8_t atr[EUICC_ATR_MAX];
	euicc_power_on(F.card, atr);
	ck_assert_int_eq(dev_attach(&F.host), 0);
	/* its first change writes a snapshot of the current version, then the journal goes on */
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	doc = json_load_file(snap, 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "version")), 2);
	ck_assert_ptr_nonnull(json_object_get(doc, "journal"));
	json_decref(doc);
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	ck_assert_uint_ge(F.card->jr.seq, 1);
	loads_as(NULL);
}
END_TEST

/* a second writer (euicc_load locks before it reads) is refused while the card holds the file */
static bool lock_taken_by_other(void)
{
	char why[600];
	euicc_card *other = euicc_load(snap, why, sizeof(why));
	if (!other)
		ck_assert_msg(strstr(why, "in use by another process") != NULL, "%s", why);
	euicc_free(other);
	return other == NULL;
}

START_TEST(one_writer_per_state_file)
{
	char why[600];
	ck_assert_int_eq(euicc_lock(F.card, why, sizeof(why)), 0);
	ck_assert(lock_taken_by_other());
	/* the lock follows the card to every new snapshot: a full journal, a save */
	F.card->jr.size = 2 * JOURNAL_PAGE;
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	ck_assert(lock_taken_by_other());
	ck_assert_int_eq(euicc_save(F.card, snap, why, sizeof(why)), 0);
	ck_assert(lock_taken_by_other());
	loads_as(NULL);
	/* freed, the card lets go */
	euicc_free(F.card);
	F.card = NULL;
	ck_assert(!lock_taken_by_other());
}
END_TEST

START_TEST(damaged_header_refused)
{
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	abuf j = slurp(jrnl);
	/* one bit of the header's id: neither this snapshot's journal nor any other's */
	uint8_t b = j.p[14] ^ 0x01;
	patch(jrnl, 14, &b, 1);
	refused("journal's header is damaged");
	/* garbage where the journal is */
	static const char junk[] = "this is not a journal at all, but it is where one should be";
	spit(jrnl, &j);
	patch(jrnl, 0, junk, sizeof(junk));
	refused("journal's header is damaged");
	/* a journal of another snapshot (good header, other id) and a zeroed one are not this state's */
	spit(jrnl, &j);
	uint8_t h[JOURNAL_HDR], other[16];
	memset(other, 0x5A, sizeof(other));
	journal_frame_header(h, other);
	patch(jrnl, 0, h, sizeof(h));
	json_t *snapshot_only = NULL;
	{
		char why[600];
		euicc_card *c = euicc_load_readonly(snap, why, sizeof(why));
		ck_assert_msg(c != NULL, "%s", why);
		ck_assert(!c->nvm.profiles[0].used);
		snapshot_only = euicc_show(c, true);
		euicc_free(c);
	}
	memset(h, 0, sizeof(h));
	patch(jrnl, 0, h, sizeof(h));
	loads_as(snapshot_only);
	json_decref(snapshot_only);
	abuf_free(&j);
}
END_TEST

START_TEST(bad_record_before_good_ones_refused)
{
	/* record seq is well framed (its MAC holds) but a field is wrong; good records follow it */
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	uint64_t off = F.card->jr.end;
	uint32_t seq = F.card->jr.seq + 1;
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	ck_assert_uint_eq(cu_create(&F, 2), 0x9000);
	loads_as(NULL);
	abuf j = slurp(jrnl);
	const uint8_t *p = j.p + off + JOURNAL_REC_HDR;
	uint32_t len = (uint32_t)j.p[off + 24] << 24 | (uint32_t)j.p[off + 25] << 16 | (uint32_t)j.p[off + 26] << 8 |
		j.p[off + 27];
	char *doc = strndup((const char *)p, len);
	char *f = strstr(doc, "\"fallback_threshold\":");
	ck_assert_ptr_nonnull(f);
	/* the threshold becomes 99x: out of range (1-255) */
	doc = realloc(doc, len + 3);
	f = strstr(doc, "\"fallback_threshold\":");
	memmove(f + 23, f + 21, strlen(f + 21) + 1);
	f[21] = f[22] = '9';
	uint8_t rec[8192];
	ck_assert_uint_lt(strlen(doc) + JOURNAL_REC_HDR + JOURNAL_MAC, sizeof(rec));
	size_t n = journal_frame_record(rec, F.card->jr.id, seq, doc, strlen(doc));
	ck_assert_uint_le(off + n, off + JOURNAL_PAGE); /* still within its own page */
	patch(jrnl, (long)off, rec, n);
	char want[64];
	snprintf(want, sizeof(want), "journal record %u: ", seq);
	refused(want);
	refused("fallback_threshold");
	free(doc);
	abuf_free(&j);
}
END_TEST

START_TEST(torn_tail_is_noted)
{
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	uint64_t off = F.card->jr.end;
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	abuf j = slurp(jrnl);
	uint8_t b = j.p[off + JOURNAL_REC_HDR + 40] ^ 0x04;
	patch(jrnl, (long)off + JOURNAL_REC_HDR + 40, &b, 1);
	char why[600];
	euicc_card *c = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_msg(c != NULL, "%s", why);
	ck_assert_ptr_nonnull(euicc_load_note(c));
	ck_assert_ptr_nonnull(strstr(euicc_load_note(c), "is torn"));
	euicc_free(c);
	/* a clean journal says nothing */
	spit(jrnl, &j);
	c = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_null(euicc_load_note(c));
	euicc_free(c);
	abuf_free(&j);
}
END_TEST

/* the card's files removed or replaced while it runs: it stops acknowledging, and does not write its
 * state back over what took the name */
/* the fixture's card saved and opened again as a writer (locked, as euicc-sim run opens it) */
static void reopen_locked(void)
{
	char why[600];
	ck_assert_int_eq(euicc_save(F.card, snap, why, sizeof(why)), 0);
	euicc_free(F.card);
	F.card = euicc_load(snap, why, sizeof(why));
	ck_assert_msg(F.card != NULL, "%s", why);
	uint8_t atr[EUICC_ATR_MAX];
	euicc_power_on(F.card, atr);
	ck_assert_int_eq(dev_attach(&F.host), 0);
}

static void lost_state_case(bool journal, bool replace)
{
	char why[600];
	reopen_locked();
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000); /* the journal is open now */
	const char *victim = journal ? jrnl : snap;
	if (replace) {
		char tmp[420];
		snprintf(tmp, sizeof(tmp), "%s.other", victim);
		abuf b = slurp(victim);
		spit(tmp, &b);
		ck_assert_int_eq(rename(tmp, victim), 0);
		abuf_free(&b);
	} else {
		ck_assert_int_eq(unlink(victim), 0);
	}
	ck_assert_uint_ne(cu_create(&F, 1), 0x9000);
	ck_assert_ptr_nonnull(euicc_last_error(F.card));
	ck_assert_msg(strstr(euicc_last_error(F.card), "removed or replaced") != NULL, "%s", euicc_last_error(F.card));
	ck_assert(!F.card->nvm.profiles[1].used);
	/* and it stays so: no later change is acknowledged, the exit's save is refused */
	ck_assert_uint_ne(cu_create(&F, 2), 0x9000);
	ck_assert_int_ne(euicc_save(F.card, snap, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "removed or replaced"));
}

START_TEST(state_file_removed_while_running)
{
	lost_state_case(false, false);
}
END_TEST

START_TEST(state_file_replaced_while_running)
{
	lost_state_case(false, true);
}
END_TEST

START_TEST(journal_removed_while_running)
{
	lost_state_case(true, false);
}
END_TEST

START_TEST(journal_replaced_while_running)
{
	lost_state_case(true, true);
}
END_TEST

START_TEST(refused_second_writer_touches_nothing)
{
	char why[600];
	reopen_locked();
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	abuf s0 = slurp(snap), j0 = slurp(jrnl);
	/* a second writer is refused before it reads; a new card cannot be claimed over the file either */
	ck_assert_ptr_null(euicc_load(snap, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "in use by another process"));
	euicc_card *fresh = euicc_load_readonly(snap, why, sizeof(why));
	ck_assert_ptr_nonnull(fresh);
	ck_assert_int_ne(euicc_claim(fresh, snap, why, sizeof(why)), 0);
	ck_assert_ptr_nonnull(strstr(why, "in use by another process"));
	euicc_free(fresh);
	abuf s1 = slurp(snap), j1 = slurp(jrnl);
	ck_assert(s0.len == s1.len && !memcmp(s0.p, s1.p, s0.len));
	ck_assert(j0.len == j1.len && !memcmp(j0.p, j1.p, j0.len));
	/* the first writer goes on */
	ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
	loads_as(NULL);
	abuf_free(&s0);
	abuf_free(&j0);
	abuf_free(&s1);
	abuf_free(&j1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("nvm");
	TCase *tc = tcase_create("nvm");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, changes_go_to_the_journal);
	tcase_add_test(tc, rendered_text_is_the_document);
	tcase_add_test(tc, torn_last_record_is_a_crash);
	tcase_add_test(tc, damage_before_good_records_refused);
	tcase_add_test(tc, well_framed_bad_records_refused);
	tcase_add_test(tc, bad_journal_id_refused);
	tcase_add_test(tc, journal_of_another_snapshot_ignored);
	tcase_add_test(tc, full_journal_makes_a_snapshot);
	tcase_add_test(tc, save_leaves_one_file);
	tcase_add_test(tc, first_record_carries_counter_blocks);
	tcase_add_test(tc, journal_grows_a_chunk_at_a_time);
	tcase_add_test(tc, confirmation_waits_for_the_next_write);
	tcase_add_test(tc, failed_write_undoes_the_command);
	tcase_add_test(tc, one_writer_per_state_file);
	tcase_add_test(tc, installed_files_are_rebuilt_not_saved);
	tcase_add_test(tc, version_1_file_loads_and_moves_on);
	tcase_add_test(tc, damaged_header_refused);
	tcase_add_test(tc, bad_record_before_good_ones_refused);
	tcase_add_test(tc, torn_tail_is_noted);
	tcase_add_test(tc, state_file_removed_while_running);
	tcase_add_test(tc, state_file_replaced_while_running);
	tcase_add_test(tc, journal_removed_while_running);
	tcase_add_test(tc, journal_replaced_while_running);
	tcase_add_test(tc, refused_second_writer_touches_nothing);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
