/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared helpers of the unit tests: vector files, hex comparison, suite runner. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include <check.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apdu/buf.h"
#include "apdu/hex.h"

/* Loads vectors/NAME (VECTORS_DIR comes from meson). Fails the test when missing or malformed. */
static inline json_t *tu_vectors(const char *name)
{
	const char *dir = getenv("VECTORS_DIR");
	char path[1024];
	json_error_t err;
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "vectors", name);
	json_t *j = json_load_file(path, 0, &err);
	if (!j) {
		fprintf(stderr, "cannot load %s: %s (line %d)\n", path, err.text, err.line);
		exit(EXIT_FAILURE);
	}
	return j;
}

/* Reads the TS.48 package NAME from ../shared/profiles (PROFILES_DIR comes from meson). When it is
 * missing: fails the test in CI (CI=true), else says so and returns false (the check did not run). */
static inline bool tu_ts48(const char *name, abuf *out)
{
	const char *dir = getenv("PROFILES_DIR");
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "../shared/profiles", name);
	FILE *fp = fopen(path, "rb");
	if (!fp) {
		ck_assert_msg(getenv("CI") == NULL || strcmp(getenv("CI"), "true"), "%s is missing", path);
		fprintf(stderr, "note: %s is missing, the check that needs it did not run\n", path);
		return false;
	}
	uint8_t buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		abuf_put(out, buf, n);
	fclose(fp);
	return true;
}

static inline const char *tu_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (!v || !json_is_string(v)) {
		fprintf(stderr, "vector field '%s' missing\n", key);
		abort();
	}
	return json_string_value(v);
}

/* Hex field to an abuf (reset first). */
static inline void tu_hex(abuf *b, const char *hex)
{
	abuf_reset(b);
	ck_assert_msg(hex_decode(hex, b, NULL) == APDU_OK, "bad hex in vector: %s", hex);
}

static inline void tu_hexfix(uint8_t *out, size_t n, const char *hex)
{
	ck_assert_msg(hex_decode_exact(hex, out, n) == APDU_OK, "bad hex (want %zu bytes): %s", n, hex);
}

/* Asserts that (p, len) equals the hex string, printing both on mismatch. */
#define tu_assert_hex(ptr_, n_, hex_, ...)                                   \
	do {                                                                 \
		char *got_ = hex_encode_alloc((ptr_), (n_));                 \
		abuf want_ = ABUF_INIT;                                      \
		ck_assert_int_eq(hex_decode((hex_), &want_, NULL), APDU_OK); \
		char *wanth_ = hex_encode_alloc(want_.p, want_.len);         \
		int ok_ = strcmp(got_, wanth_) == 0;                         \
		if (!ok_)                                                    \
			fprintf(stderr, "got  %s\nwant %s\n", got_, wanth_); \
		free(got_);                                                  \
		free(wanth_);                                                \
		abuf_free(&want_);                                           \
		ck_assert_msg(ok_, __VA_ARGS__);                             \
	} while (0)

/* memcmp that accepts NULL with a zero length (an empty abuf has no storage) */
static inline int tu_memeq(const void *a, const void *b, size_t n)
{
	return n == 0 || memcmp(a, b, n) == 0;
}

static inline int tu_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
