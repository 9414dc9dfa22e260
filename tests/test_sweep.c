/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A random-APDU sweep: at least 100,000 APDUs (random headers, lengths, data; envelopes with random
 * SMS-PP and event data; toolkit commands) against a card with profiles. Nothing may crash, and the saved
 * NVM may not change: no profile, keyset, counter or notification moves without the keys. */
#include "testutil.h"
#include "cardutil.h"
#include "apdu/sms.h"
#include "host/profile.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 16);
}

static char *file_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = calloc(1, (size_t)n + 1);
	if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
		free(s);
		s = NULL;
	}
	fclose(f);
	return s;
}

/* The NVM without the fields that legitimately move on unauthenticated input: the card's own MO
 * counter and its random generator position (notifications re-sent at every TERMINAL PROFILE). */
static json_t *stable_view(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	json_object_del(j, "mo_counter");
	json_object_del(j, "rng_counter");
	return j;
}

START_TEST(random_apdus)
{
	cu_fixture f;
	ck_assert_int_eq(cu_setup(&f, 7), 0);
	ck_assert_int_eq(dev_attach(&f.host), 0);
	/* two generated profiles with files, so that the sweep reaches the file system and AUTHENTICATE */
	for (int k = 0; k < 2; k++) {
		profile_params pp;
		memset(&pp, 0, sizeof(pp));
		pp.iccid = k ? "8988211000000467285" : "8949449999999990015";
		pp.imsi = "001010123456063";
		pp.spn = "Sweep";
		memset(pp.k, 0x11 * (k + 1), 16);
		memset(pp.opc, 0x22, 16);
		abuf pkg = ABUF_INIT;
		char why[200];
		uint8_t aid[16];
		ck_assert_int_eq(profile_build(&pp, &pkg, why, sizeof(why)), 0);
		ck_assert_uint_eq(cu_create(&f, k), 0x9000);
		cu_isdp_aid(aid, k);
		ck_assert_int_eq(smdp_download(&f.host, &f.pki, f.eis, aid, pkg.p, pkg.len, 512), 0);
		abuf_free(&pkg);
	}
	ck_assert_uint_eq(cu_store(&f, 0x3A03, 0), 0x9000);
	ck_assert_int_eq(dev_confirm_notifications(&f.host), 0);
	char path[300];
	snprintf(path, sizeof(path), "%s/card.json", f.dir);
	char *before = file_text(path);
	ck_assert_ptr_nonnull(before);
	json_t *vb = stable_view(before);
	static const uint8_t ins[] = { 0xA4, 0xC0, 0xCA, 0xCB, 0xE2, 0xE4, 0xE6, 0xF2, 0x70, 0x10, 0x12, 0x14,
				       0xC2, 0x50, 0x82, 0xB0, 0xB2, 0xD6, 0x88, 0x20, 0xA4, 0xB0, 0xB2, 0x88 };
	static const uint8_t cla[] = { 0x00, 0x80, 0x84, 0x01, 0x81, 0x03, 0x40, 0xA0, 0xFF, 0x0C };
	uint8_t a[300], r[EUICC_RAPDU_MAX];
	unsigned sent = 0;
	for (unsigned i = 0; i < 120000; i++) {
		size_t len;
		unsigned kind = rnd() % 8;
		if (kind == 3) {
			/* select something so the commands reach an application */
			static const char *const sel[] = { "00A4040010A0000005591010FFFFFFFF8900000100",
							   "00A4040010A0000005591010FFFFFFFF8900000200",
							   "00A4040010A0000005591010FFFFFFFF8900001000",
							   "00A4040C07A0000000871002",
							   "00A4080C022FE2",
							   "00A4000C026F07",
							   "00A4080C022F00" };
			abuf b = ABUF_INIT;
			ck_assert_int_eq(hex_decode(sel[rnd() % 7], &b, NULL), APDU_OK);
			memcpy(a, b.p, b.len);
			len = b.len;
			abuf_free(&b);
		} else if (kind == 4) {
			/* a well-formed SMS-PP ENVELOPE around a plausible but forged command packet */
			uint8_t pkt[120];
			size_t plen = 16 + rnd() % 100;
			for (size_t k = 0; k < plen; k++)
				pkt[k] = (uint8_t)rnd();
			pkt[0] = (uint8_t)((plen - 2) >> 8);
			pkt[1] = (uint8_t)(plen - 2);
			pkt[2] = 0x15;
			static const uint16_t spis[] = { 0x1639, 0x1621, 0x0619, 0x1239, 0x0000, 0x1E39 };
			uint16_t spi = spis[rnd() % 6];
			pkt[3] = (uint8_t)(spi >> 8);
			pkt[4] = (uint8_t)spi;
			pkt[5] = pkt[6] = (rnd() & 1) ? 0x12 : 0x25;
			pkt[7] = 0x00;
			pkt[8] = (rnd() & 1) ? 0x00 : 0x10;
			pkt[9] = (rnd() & 1) ? 0x01 : 0x00;
			uint8_t ud[140];
			ud[0] = 0x02;
			ud[1] = 0x70;
			ud[2] = 0x00;
			memcpy(ud + 3, pkt, plen);
			sms_deliver d;
			memset(&d, 0, sizeof(d));
			d.first_octet = 0x44;
			d.oa.toa = 0x91;
			strcpy(d.oa.digits, "4477001");
			d.pid = 0x7F;
			d.dcs = 0xF6;
			d.ud = ud;
			d.ud_len = plen + 3;
			abuf tp = ABUF_INIT, env = ABUF_INIT;
			ck_assert_int_eq(sms_deliver_build(&d, &tp), APDU_OK);
			ck_assert_int_eq(sms_pp_envelope_build(NULL, 0, tp.p, tp.len, &env), APDU_OK);
			memcpy(a, env.p, env.len);
			len = env.len;
			abuf_free(&tp);
			abuf_free(&env);
		} else if (kind == 0) {
			/* pure noise, any length 0..260 */
			len = rnd() % 261;
			for (size_t k = 0; k < len; k++)
				a[k] = (uint8_t)rnd();
		} else {
			a[0] = cla[rnd() % sizeof(cla)];
			a[1] = ins[rnd() % sizeof(ins)];
			a[2] = (uint8_t)rnd();
			a[3] = (uint8_t)rnd();
			size_t lc = rnd() % 200;
			a[4] = (uint8_t)lc;
			for (size_t k = 0; k < lc; k++)
				a[5 + k] = (uint8_t)rnd();
			if (kind == 1 && lc > 4) {
				/* an envelope that looks like SMS-PP download or an event */
				a[0] = 0x80;
				a[1] = 0xC2;
				a[5] = (rnd() & 1) ? 0xD1 : 0xD6;
				a[6] = (uint8_t)(lc - 2);
			}
			if (kind == 2 && lc > 6) {
				/* a STORE DATA with an ES5 DGI */
				a[1] = 0xE2;
				a[5] = 0x3A;
				a[6] = (uint8_t)(rnd() % 10);
			}
			len = 5 + lc + (rnd() & 1);
			if (len > 5 + lc)
				a[5 + lc] = (uint8_t)rnd();
		}
		if (rnd() % 500 == 0) {
			uint8_t atr[EUICC_ATR_MAX];
			euicc_reset(f.card, atr);
		}
		size_t n = euicc_transmit(f.card, a, len, r);
		ck_assert_uint_ge(n, 2);
		sent++;
	}
	ck_assert_uint_ge(sent, 100000);
	char *after = file_text(path);
	ck_assert_ptr_nonnull(after);
	json_t *va = stable_view(after);
	if (!json_equal(va, vb)) {
		char *x = json_dumps(vb, JSON_SORT_KEYS), *y = json_dumps(va, JSON_SORT_KEYS);
		fprintf(stderr, "before: %.2000s\nafter:  %.2000s\n", x, y);
		free(x);
		free(y);
	}
	ck_assert(json_equal(va, vb));
	/* and the card still works */
	if (getenv("EUICC_TRACE"))
		euicc_set_trace(f.card, cu_trace, NULL);
	ck_assert_uint_eq(cu_store(&f, 0x3A03, 1), 0x9000);
	json_decref(va);
	json_decref(vb);
	free(before);
	free(after);
	cu_teardown(&f);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sweep");
	TCase *tc = tcase_create("sweep");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, random_apdus);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
