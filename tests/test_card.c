/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The card in-process: dispatcher, channels, ECASD, contact-interface refusals, and the ISD-R over the
 * air through the test host (real SCP80 keys, SMS-PP ENVELOPEs, FETCH/TERMINAL RESPONSE). */
#include "testutil.h"
#include "cardutil.h"
#include "apdu/milenage.h"
#include "host/profile.h"

static cu_fixture F;

static void setup(void)
{
	ck_assert_int_eq(cu_setup(&F, 42), 0);
}

static void teardown(void)
{
	cu_teardown(&F);
}

static uint16_t apdu(const char *hex, abuf *out)
{
	return dev_apdu(&F.host, hex, out);
}

START_TEST(atr_and_select)
{
	uint8_t atr[EUICC_ATR_MAX];
	size_t n = euicc_atr(F.card, atr);
	ck_assert_uint_ge(n, 4);
	ck_assert_uint_eq(atr[0], 0x3B);
	uint8_t tck = 0;
	for (size_t i = 1; i < n; i++)
		tck ^= atr[i];
	ck_assert_uint_eq(tck, 0); /* TCK makes the XOR of T0..TCK zero */
	abuf r = ABUF_INIT;
	ck_assert_uint_eq(apdu("00A4040010A0000005591010FFFFFFFF8900000100 00", &r), 0x9000);
	tlv fci;
	ck_assert_int_eq(tlv_parse_one(r.p, r.len, &fci), APDU_OK);
	ck_assert_uint_eq(fci.tag, 0x6F);
	/* case 3 (no Le): the FCI waits for GET RESPONSE (61xx handled by the host) */
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("00A4040010A0000005591010FFFFFFFF8900000100", &r), 0x9000);
	ck_assert_uint_gt(r.len, 18);
	/* no FCI with P2 0C */
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("00A4040C10A0000005591010FFFFFFFF8900000100", &r), 0x9000);
	ck_assert_uint_eq(r.len, 0);
	ck_assert_uint_eq(apdu("00A4040010A0000005591010FFFFFFFF8900009900", NULL), 0x6A82);
	ck_assert_uint_eq(apdu("00A4040010A0000005591010FFFFFFFF89000010", NULL), 0x6700); /* Lc 16, 15 bytes */
	ck_assert_uint_eq(apdu("FFA4040000", NULL), 0x6E00);
	ck_assert_uint_eq(apdu("00A4", NULL), 0x6700);
	abuf_free(&r);
}
END_TEST

START_TEST(ecasd_eid_and_certificate)
{
	abuf r = ABUF_INIT;
	ck_assert_uint_eq(apdu("00A4040C10A0000005591010FFFFFFFF8900000200", NULL), 0x9000);
	ck_assert_uint_eq(apdu("80CA005A00", &r), 0x9000);
	ck_assert_uint_eq(r.len, 18);
	ck_assert_uint_eq(r.p[0], 0x5A);
	ck_assert_uint_eq(r.p[1], 0x10);
	char eid[33];
	hex_encode(r.p + 2, 16, eid);
	ck_assert_int_eq(eid_check(eid), APDU_OK);
	ck_assert_str_eq(eid, json_string_value(json_object_get(F.eis, "eid")));
	/* the certificate verifies against the EUM, and certifies the ECASD key */
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("80CA7F2100", &r), 0x9000);
	gpcert c;
	ck_assert_int_eq(gpcert_parse(r.p, r.len, &c), APDU_OK);
	ck_assert_int_eq(gpcert_verify(&c, F.pki.eum), APDU_OK);
	ck_assert_uint_eq(c.role, GPCERT_ROLE_ECASD);
	/* the private key never leaves: nothing in the EIS or the show output holds it */
	char *eis = json_dumps(F.eis, 0);
	json_t *show = euicc_show(F.card, false);
	char *sh = json_dumps(show, 0);
	ck_assert_ptr_null(strstr(eis, "ecasd_sk"));
	ck_assert_ptr_null(strstr(sh, "ecasd_sk"));
	ck_assert_ptr_null(strstr(sh, "\"key\""));
	free(eis);
	free(sh);
	json_decref(show);
	abuf_free(&r);
}
END_TEST

START_TEST(contact_management_refused)
{
	char before[4096];
	json_t *s0 = euicc_show(F.card, true);
	char *t0 = json_dumps(s0, JSON_SORT_KEYS);
	snprintf(before, sizeof(before), "%s", t0);
	ck_assert_uint_eq(apdu("00A4040C10A0000005591010FFFFFFFF8900000100", NULL), 0x9000);
	/* INSTALL, STORE DATA, DELETE, GET STATUS on the contact interface: 6982, nothing changes */
	ck_assert_uint_eq(apdu("80E60C003F10a0000005591010ffffffff8900000d0010a0000005591010ffffffff8900000e0010"
			       "a0000005591010ffffffff89000010000380C00006C9048102037000",
			       NULL),
			  0x6982);
	ck_assert_uint_eq(apdu("80E28800153A03124F10A0000005591010FFFFFFFF8900001000", NULL), 0x6982);
	ck_assert_uint_eq(apdu("80E40000124F10A0000005591010FFFFFFFF8900001000", NULL), 0x6982);
	ck_assert_uint_eq(apdu("80F24002024F0000", NULL), 0x6982);
	/* the EID stays readable */
	ck_assert_uint_eq(apdu("80CA005A00", NULL), 0x9000);
	json_t *s1 = euicc_show(F.card, true);
	char *t1 = json_dumps(s1, JSON_SORT_KEYS);
	ck_assert_str_eq(before, t1);
	free(t0);
	free(t1);
	json_decref(s0);
	json_decref(s1);
}
END_TEST

START_TEST(logical_channels)
{
	abuf r = ABUF_INIT;
	ck_assert_uint_eq(apdu("0070000001", &r), 0x9000);
	ck_assert_uint_eq(r.len, 1);
	uint8_t ch = r.p[0];
	ck_assert_uint_ge(ch, 1);
	char sel[80];
	snprintf(sel, sizeof(sel), "0%uA4040C10A0000005591010FFFFFFFF8900000200", ch);
	ck_assert_uint_eq(apdu(sel, NULL), 0x9000);
	char gd[20];
	snprintf(gd, sizeof(gd), "8%uCA005A00", ch);
	ck_assert_uint_eq(apdu(gd, NULL), 0x9000);
	/* channel 0 still has nothing selected: GET DATA is not for it */
	ck_assert_uint_ne(apdu("80CA005A00", NULL), 0x9000);
	/* open all, then one too many */
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("0070000001", &r), 0x9000);
	ck_assert_uint_eq(apdu("0070000001", NULL), 0x9000);
	ck_assert_uint_eq(apdu("0070000001", NULL), 0x6881);
	char cl[20];
	snprintf(cl, sizeof(cl), "007080%02x", ch);
	ck_assert_uint_eq(apdu(cl, NULL), 0x9000);
	ck_assert_uint_eq(apdu(gd, NULL), 0x6881); /* closed */
	ck_assert_uint_eq(apdu("0070800000", NULL), 0x6881);
	ck_assert_uint_eq(apdu("40A4040C00", NULL), 0x6881); /* further interindustry channels */
	/* a reset drops the channels */
	uint8_t atr[EUICC_ATR_MAX];
	euicc_reset(F.card, atr);
	ck_assert_uint_eq(apdu("0170800100", NULL), 0x6881);
	abuf_free(&r);
}
END_TEST

START_TEST(ota_create_and_audit)
{
	ck_assert_int_eq(dev_attach(&F.host), 0);
	/* the declaration notification arrives at the first attach */
	ck_assert_uint_eq(F.host.n_notifs, 1);
	ck_assert_uint_eq(F.host.notifs[0].type, 0x01);
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(cu_create(&F, i), 0x9000);
	/* a fifth: not enough memory */
	ck_assert_uint_eq(cu_create(&F, 4), 0x6A84);
	/* the same AID twice: conditions not satisfied */
	ck_assert_uint_eq(cu_delete(&F, 3), 0x9000);
	ck_assert_uint_eq(cu_create(&F, 2), 0x6985);
	abuf r = ABUF_INIT;
	ck_assert_uint_eq(dev_isdr(&F.host, "80F24002024F0000", &r), 0x9000);
	/* three E3 entries, all SELECTABLE */
	acur c = acur_make(r.p, r.len);
	int n = 0;
	while (c.len) {
		tlv e3, lc;
		ck_assert_int_eq(tlv_next(&c, &e3), APDU_OK);
		ck_assert_uint_eq(e3.tag, 0xE3);
		ck_assert_int_eq(tlv_find(e3.value, e3.len, 0x9F70, &lc), APDU_OK);
		ck_assert_uint_eq(lc.value[0], 0x07);
		n++;
	}
	ck_assert_int_eq(n, 3);
	/* audit data */
	abuf_reset(&r);
	ck_assert_uint_eq(dev_isdr(&F.host, "80CAFF2100", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0xFF);
	abuf_reset(&r);
	ck_assert_uint_eq(dev_isdr(&F.host, "80CA005A00", &r), 0x9000);
	ck_assert_uint_eq(r.p[1], 0x10);
	/* the counter went up with every packet and is in NVM */
	json_t *s = euicc_show(F.card, false);
	const char *cn = json_string_value(
		json_object_get(json_array_get(json_object_get(s, "keysets"), 0), "counter"));
	ck_assert_str_ne(cn, "0000000000");
	json_decref(s);
	abuf_free(&r);
}
END_TEST

START_TEST(ota_por_statuses)
{
	static const uint8_t tar_isdr[3] = { 0, 0, 1 }, tar_bad[3] = { 0xB0, 0x00, 0x00 };
	const uint8_t get_eid[] = { 0x80, 0xCA, 0x00, 0x5A, 0x00 };
	const uint8_t *items[1] = { get_eid };
	size_t lens[1] = { sizeof(get_eid) };
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x00);
	/* replay: the same counter again */
	F.host.cntr--;
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x02);
	/* unknown TAR */
	ck_assert_int_eq(dev_send(&F.host, tar_bad, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x09);
	/* wrong CC key */
	F.host.ks.kid_key[0] ^= 1;
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x01);
	F.host.ks.kid_key[0] ^= 1;
	/* below the minimum security level: no ciphering */
	F.host.spi = 0x1239;
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x0A);
	/* PoR in the ENVELOPE response instead of SMS-SUBMIT, compact format */
	F.host.spi = 0x1619;
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, false, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x00);
	scp80_response r;
	ck_assert_int_eq(scp80_response_parse(SCP80_FORMAT_COMPACT, F.host.por_data.p, F.host.por_data.len, &r),
			 APDU_OK);
	ck_assert_uint_eq(r.count, 1);
	ck_assert_uint_eq(r.last_sw, 0x9000);
	ck_assert_uint_eq(r.len, 18);
	/* unknown keyset (key version 5): 06, unsecured */
	uint8_t kic = F.host.ks.kic, kid = F.host.ks.kid;
	F.host.spi = 0x1639;
	F.host.ks.kic = 0x52;
	F.host.ks.kid = 0x52;
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x06);
	F.host.ks.kic = kic;
	F.host.ks.kid = kid;
	/* ciphering error: a ciphered body that is not whole blocks */
	{
		abuf pkt = ABUF_INIT;
		uint8_t cn[5] = { 0, 0, 0, 0x10, 0 };
		ck_assert_int_eq(scp80_wrap_command(&F.host.ks, 0x1639, tar_isdr, cn, get_eid, sizeof(get_eid), &pkt),
				 APDU_OK);
		pkt.len -= 3;
		pkt.p[0] = (uint8_t)((pkt.len - 2) >> 8);
		pkt.p[1] = (uint8_t)(pkt.len - 2);
		ck_assert_int_eq(dev_send_packet(&F.host, pkt.p, pkt.len), 0);
		ck_assert_uint_eq(F.host.por.status, 0x05);
		abuf_free(&pkt);
	}
	/* counter exactly one higher mode */
	F.host.spi = 0x1E39;
	F.host.cntr += 5;
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x03);
	/* the highest counter is accepted once; after it the keyset is blocked */
	F.host.spi = 0x1639;
	F.host.cntr = 0xFFFFFFFFFFull;
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x00);
	ck_assert_int_eq(dev_send(&F.host, tar_isdr, true, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x04);
}
END_TEST

START_TEST(download_enable_refresh_notify)
{
	ck_assert_int_eq(dev_attach(&F.host), 0);
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
	ck_assert_msg(cu_install(&F, 0, "8949449999999990015") == 0, "%s", (char *)F.host.log.p);
	ck_assert_msg(cu_install(&F, 1, "8988211000000467285") == 0, "%s", (char *)F.host.log.p);
	json_t *s = euicc_show(F.card, false);
	json_t *p0 = json_array_get(json_object_get(s, "profiles"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p0, "state")), "disabled");
	ck_assert_str_eq(json_string_value(json_object_get(p0, "iccid")), "8949449999999990015");
	json_decref(s);
	/* enable 0: PoR, then REFRESH, reset, attach, notification type 02 */
	unsigned refreshes = F.host.refreshes;
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000);
	ck_assert_uint_eq(F.host.refreshes, refreshes + 1);
	ck_assert_uint_eq(F.host.n_notifs, 1);
	ck_assert_uint_eq(F.host.notifs[0].type, 0x02);
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
	/* enabling the enabled one: 6985; enable 1 switches atomically */
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x6985);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 1), 0x9000);
	s = euicc_show(F.card, false);
	int enabled = 0;
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(s, "profiles"), i, p)
		enabled += !strcmp(json_string_value(json_object_get(p, "state")), "enabled");
	ck_assert_int_eq(enabled, 1);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(s, "profiles"), 1), "state")),
			 "enabled");
	json_decref(s);
	/* a confirmed notification is not sent again at the next attach */
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
	uint8_t atr[EUICC_ATR_MAX];
	euicc_reset(F.card, atr);
	ck_assert_int_eq(dev_attach(&F.host), 0);
	ck_assert_uint_eq(F.host.n_notifs, 0);
	/* the terminal cannot refresh: the switch is rolled back, notification type 03 */
	F.host.refresh_unsupported = true;
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000);
	F.host.refresh_unsupported = false;
	ck_assert_uint_eq(F.host.n_notifs, 1);
	ck_assert_uint_eq(F.host.notifs[0].type, 0x03);
	s = euicc_show(F.card, false);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(s, "profiles"), 1), "state")),
			 "enabled");
	json_decref(s);
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
	/* delete: not the enabled one */
	ck_assert_uint_eq(cu_delete(&F, 1), 0x6985);
	ck_assert_uint_eq(cu_delete(&F, 0), 0x9000);
	ck_assert_uint_eq(cu_delete(&F, 0), 0x6A88);
}
END_TEST

START_TEST(fallback_and_pol1)
{
	ck_assert_int_eq(dev_attach(&F.host), 0);
	ck_assert_int_eq(cu_install(&F, 0, "8949449999999990015"), 0);
	ck_assert_int_eq(cu_install(&F, 1, "8988211000000467285"), 0);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000);
	ck_assert_uint_eq(cu_store(&F, 0x3A05, 0), 0x9000); /* fall-back on the enabled profile 0 */
	ck_assert_uint_eq(cu_store(&F, 0x3A06, 0), 0x6985); /* emergency never on the fall-back profile */
	ck_assert_uint_eq(cu_store(&F, 0x3A06, 1), 0x9000);
	ck_assert_uint_eq(cu_store(&F, 0x3A04, 0), 0x6985); /* the fall-back profile cannot be disabled */
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 1), 0x9000);
	ck_assert_int_eq(dev_confirm_notifications(&F.host), 0);
	/* POL1 'disable not allowed' on profile 1: enabling 0 is refused with 69E1 */
	char hex[200];
	snprintf(hex, sizeof(hex), "80E28800 18 3A09 15 4F10A0000005591010FFFFFFFF8900001100 800101");
	ck_assert_uint_eq(dev_isdr(&F.host, hex, NULL), 0x9000);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x69E1);
	ck_assert_uint_eq(cu_store(&F, 0x3A04, 1), 0x69E1);
	/* connectivity loss: N-1 'no service' events change nothing, the N-th switches (POL1 ignored) */
	unsigned refreshes = F.host.refreshes;
	ck_assert_uint_eq(dev_location(&F.host, 0x02), 0x9000);
	ck_assert_uint_eq(dev_location(&F.host, 0x02), 0x9000);
	ck_assert_uint_eq(F.host.refreshes, refreshes);
	dev_location(&F.host, 0x02);
	ck_assert_uint_eq(F.host.refreshes, refreshes + 1);
	ck_assert_uint_ge(F.host.n_notifs, 1);
	ck_assert_uint_eq(F.host.notifs[F.host.n_notifs - 1].type, 0x05);
	json_t *s = euicc_show(F.card, false);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(s, "profiles"), 0), "state")),
			 "enabled");
	json_decref(s);
	/* normal service resets the count */
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 1), 0x9000);
	dev_location(&F.host, 0x02);
	dev_location(&F.host, 0x00);
	dev_location(&F.host, 0x02);
	dev_location(&F.host, 0x02);
	s = euicc_show(F.card, false);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(s, "profiles"), 1), "state")),
			 "enabled");
	json_decref(s);
}
END_TEST

/* The SM-DP's side going wrong: a signature by the wrong key, a corrupted segment. The card refuses,
 * keeps no profile, and the ISD-P stays without one. */
START_TEST(es8_refusals)
{
	ck_assert_int_eq(dev_attach(&F.host), 0);
	uint8_t aid[16];
	cu_isdp_aid(aid, 0);
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	abuf pkg = ABUF_INIT;
	cu_package(&pkg, "8949449999999990015");
	/* a 3A02 signed with another key than the one CERT.DP.ECDSA certifies */
	bench_pki wrong = F.pki;
	wrong.smdp = F.pki.smsr;
	ck_assert_int_ne(smdp_download(&F.host, &wrong, F.eis, aid, pkg.p, pkg.len, 512), 0);
	ck_assert_str_eq((char *)F.host.log.p, "3A02 refused");
	/* a segment whose MAC was corrupted in transit */
	abuf big = ABUF_INIT;
	size_t m;
	tlv_begin(&big, 0xA9, &m); /* nonStandard: stored, not interpreted */
	abuf_fill(&big, 0x11, 1500);
	tlv_end(&big, m);
	abuf full = ABUF_INIT;
	cu_package(&full, "8949449999999990015");
	abuf_insert(&full, full.len - 6, big.p, big.len); /* a large element before the 6-byte end element */
	smdp_faults bad_mac = { .corrupt_segment = 2 };
	ck_assert_int_ne(smdp_download_faults(&F.host, &F.pki, F.eis, aid, full.p, full.len, 512, &bad_mac), 0);
	ck_assert_str_eq((char *)F.host.log.p, "segment refused");
	json_t *s = euicc_show(F.card, false);
	json_t *p = json_array_get(json_object_get(s, "profiles"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "state")), "personalized");
	ck_assert_int_eq(json_integer_value(json_object_get(p, "package_bytes")), 0);
	json_decref(s);
	/* and the same download, uncorrupted, installs */
	ck_assert_int_eq(smdp_download(&F.host, &F.pki, F.eis, aid, full.p, full.len, 512), 0);
	s = euicc_show(F.card, false);
	p = json_array_get(json_object_get(s, "profiles"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(p, "state")), "disabled");
	json_decref(s);
	abuf_free(&pkg);
	abuf_free(&big);
	abuf_free(&full);
}
END_TEST

/* The enabled profile's files and MILENAGE: a generated profile with the TS 35.208 set 1 keys. */
START_TEST(files_and_authenticate)
{
	ck_assert_int_eq(dev_attach(&F.host), 0);
	profile_params pp;
	memset(&pp, 0, sizeof(pp));
	pp.iccid = "8988211000000467285";
	pp.imsi = "001010123456063";
	tu_hexfix(pp.k, 16, "465b5ce8b199b49faa5f0a2ee238a6bc");
	tu_hexfix(pp.opc, 16, "cd63cb71954a9f4e48a5994e37a02baf");
	abuf pkg = ABUF_INIT;
	char why[256];
	ck_assert_int_eq(profile_build(&pp, &pkg, why, sizeof(why)), 0);
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	uint8_t aid[16];
	cu_isdp_aid(aid, 0);
	ck_assert_int_eq(smdp_download(&F.host, &F.pki, F.eis, aid, pkg.p, pkg.len, 512), 0);
	/* nothing enabled yet: no files */
	ck_assert_uint_eq(apdu("00A40004023F00", NULL), 0x6A82);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000);
	abuf r = ABUF_INIT;
	ck_assert_uint_eq(apdu("00A40004023F00", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0x62);
	ck_assert_uint_eq(apdu("00A4000C022FE2", NULL), 0x9000);
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("00B000000A", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "988812010000407682f5", "EF.ICCID");
	/* ADF.USIM by a partial AID, EF.IMSI */
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C026F07", NULL), 0x9000);
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("00B0000009", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "080910101032540636", "EF.IMSI");
	ck_assert_uint_eq(apdu("00B0000A01", NULL), 0x6B00); /* beyond the file */
	ck_assert_uint_eq(apdu("00A4000C026F99", NULL), 0x6A82);
	/* by path from the MF */
	ck_assert_uint_eq(apdu("00A4080C022FE2", NULL), 0x9000);
	/* AUTHENTICATE: AUTN = SQN xor AK ‖ AMF ‖ MAC-A of set 1 */
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	uint8_t sqn[6], ak[6], autn[16];
	tu_hexfix(sqn, 6, "ff9bb4d0b607");
	tu_hexfix(ak, 6, "aa689c648370");
	for (int i = 0; i < 6; i++)
		autn[i] = sqn[i] ^ ak[i];
	tu_hexfix(autn + 6, 2, "b9b9");
	tu_hexfix(autn + 8, 8, "4a9ffac354dfafb3");
	char cmd[128], ah[33];
	hex_encode(autn, 16, ah);
	snprintf(cmd, sizeof(cmd), "008800812210 23553cbe9637a89d218ae64dae47bf35 10%s 00", ah);
	abuf_reset(&r);
	ck_assert_uint_eq(apdu(cmd, &r), 0x9000);
	tu_assert_hex(r.p, r.len,
		      "db08 a54211d5e3ba50bf 10 b40ba9a3c58b2a05bbf0d987b21bf8cb 10 f769bcd751044604127672711c6d3441"
		      "08 eae4be823af9a08b",
		      "RES, CK, IK of TS 35.208 set 1, and Kc = c3(CK, IK) as EF.UST service 27 is on");
	/* GSM context (EF.UST service 38): SRES = c2(RES), Kc = c3(CK, IK) of the same RAND */
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("0088008011 10 23553cbe9637a89d218ae64dae47bf35 00", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "04 46f8416a 08 eae4be823af9a08b", "SRES and Kc of set 1");
	ck_assert_uint_eq(apdu("0088008012 10 23553cbe9637a89d218ae64dae47bf35 00 00", NULL), 0x6700);
	/* the same SQN again: synchronisation failure, AUTS = SQNms xor AK* ‖ MAC-S(SQNms, AMF 0000) */
	abuf_reset(&r);
	ck_assert_uint_eq(apdu(cmd, &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0xDC);
	ck_assert_uint_eq(r.p[1], 14);
	uint8_t akstar[6], sqnms[6], k[16], opc[16], rnd[16], mac_a[8], mac_s[8];
	tu_hexfix(akstar, 6, "451e8beca43b");
	for (int i = 0; i < 6; i++)
		sqnms[i] = r.p[2 + i] ^ akstar[i];
	ck_assert_int_eq(memcmp(sqnms, sqn, 6), 0);
	tu_hexfix(k, 16, "465b5ce8b199b49faa5f0a2ee238a6bc");
	tu_hexfix(opc, 16, "cd63cb71954a9f4e48a5994e37a02baf");
	tu_hexfix(rnd, 16, "23553cbe9637a89d218ae64dae47bf35");
	ck_assert_int_eq(milenage_f1(k, opc, rnd, sqnms, (const uint8_t *)"\0\0", mac_a, mac_s), APDU_OK);
	ck_assert_int_eq(memcmp(r.p + 8, mac_s, 8), 0);
	/* a wrong MAC */
	autn[15] ^= 1;
	hex_encode(autn, 16, ah);
	snprintf(cmd, sizeof(cmd), "008800812210 23553cbe9637a89d218ae64dae47bf35 10%s 00", ah);
	ck_assert_uint_eq(apdu(cmd, NULL), 0x9862);
	/* the SQN survives a reload of the NVM */
	char path[300];
	snprintf(path, sizeof(path), "%s/card.json", F.dir);
	euicc_card *again = euicc_load(path, why, sizeof(why));
	ck_assert_ptr_nonnull(again);
	json_t *s = euicc_show(again, false);
	json_decref(s);
	euicc_free(again);
	abuf_free(&r);
	abuf_free(&pkg);
}
END_TEST

/* A TS.48 package: after enabling it, EF.IMSI reads 080910101032540636 (when ../shared/profiles exists). */
START_TEST(ts48_imsi)
{
	abuf pkg = ABUF_INIT;
	if (!tu_ts48("TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der", &pkg))
		return;
	ck_assert_int_eq(dev_attach(&F.host), 0);
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	uint8_t aid[16];
	cu_isdp_aid(aid, 0);
	ck_assert_int_eq(smdp_download(&F.host, &F.pki, F.eis, aid, pkg.p, pkg.len, 512), 0);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000);
	abuf r = ABUF_INIT;
	ck_assert_uint_eq(apdu("00A4040C0CA0000000871002FF49FF0589", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C026F07", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000009", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "080910101032540636", "TS.48 EF.IMSI");
	ck_assert_uint_eq(apdu("00A4080C022FE2", NULL), 0x9000);
	abuf_reset(&r);
	ck_assert_uint_eq(apdu("00B000000A", &r), 0x9000);
	ck_assert_uint_eq(r.len, 10);
	ck_assert_uint_eq(r.p[0], 0x98); /* swapped BCD of 89... */
	abuf_free(&r);
	abuf_free(&pkg);
}
END_TEST

START_TEST(nvm_reload_and_corruption)
{
	ck_assert_int_eq(dev_attach(&F.host), 0);
	ck_assert_int_eq(cu_install(&F, 0, "8949449999999990015"), 0);
	char path[300], why[512];
	snprintf(path, sizeof(path), "%s/card.json", F.dir);
	euicc_card *again = euicc_load(path, why, sizeof(why));
	ck_assert_msg(again != NULL, "%s", why);
	json_t *a = euicc_show(F.card, true), *b = euicc_show(again, true);
	ck_assert(json_equal(a, b));
	json_decref(a);
	json_decref(b);
	euicc_free(again);
	/* truncated file: refused with a clear message, the file left as it was */
	FILE *f = fopen(path, "r");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	ck_assert_int_eq(truncate(path, size / 2), 0);
	ck_assert_ptr_null(euicc_load(path, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "corrupt or truncated"));
	/* a consistent-looking but wrong file names the field */
	f = fopen(path, "w");
	fputs("{\"format\":\"euicc-bench-nvm\",\"version\":1,\"eid\":\"1234\"}", f);
	fclose(f);
	ck_assert_ptr_null(euicc_load(path, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "'eid'"));
	f = fopen(path, "w");
	fputs("{\"format\":\"euicc-bench-nvm\",\"version\":99}", f);
	fclose(f);
	ck_assert_ptr_null(euicc_load(path, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "version 99"));
	ck_assert_ptr_null(euicc_load("/nonexistent/card.json", why, sizeof(why)));
}
END_TEST

START_TEST(seed_reproducible)
{
	char why[256];
	euicc_new_opts o;
	memset(&o, 0, sizeof(o));
	o.has_seed = true;
	o.seed = 42;
	o.issuer = pki_issuer(&F.pki);
	euicc_card *c2 = euicc_create(&o, why, sizeof(why));
	ck_assert_ptr_nonnull(c2);
	json_t *a = euicc_eis(F.card), *b = euicc_eis(c2);
	ck_assert_str_eq(json_string_value(json_object_get(a, "eid")), json_string_value(json_object_get(b, "eid")));
	ck_assert(json_equal(json_object_get(a, "ota_keysets"), json_object_get(b, "ota_keysets")));
	json_decref(a);
	json_decref(b);
	euicc_free(c2);
	o.eid = "89049032123451234512345678901234";
	ck_assert_ptr_null(euicc_create(&o, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "check digits"));
}
END_TEST

/* One ICCID, one profile: the package of an installed profile is refused in a second ISD-P at its
 * header (PE status bad values), and that ISD-P keeps nothing of it */
START_TEST(same_iccid_twice_refused)
{
	ck_assert_int_eq(cu_install(&F, 0, "8949449999999990015"), 0);
	ck_assert_int_ne(cu_install(&F, 1, "8949449999999990015"), 0);
	json_t *s = euicc_show(F.card, false), *p;
	size_t i;
	int with_iccid = 0;
	json_array_foreach(json_object_get(s, "profiles"), i, p)
		with_iccid += json_is_string(json_object_get(p, "iccid")) &&
		!strcmp(json_string_value(json_object_get(p, "iccid")), "8949449999999990015");
	ck_assert_int_eq(with_iccid, 1);
	json_decref(s);
	/* another ICCID still goes in */
	ck_assert_int_eq(cu_install(&F, 2, "8949449999999990023"), 0);
}
END_TEST

/* A compact script whose last command is cut short: that command is the one that failed (counted, SW
 * 6A80, no data), not an error beside the previous command's answer */
START_TEST(compact_script_trailing_byte)
{
	ck_assert_int_eq(dev_attach(&F.host), 0);
	static const uint8_t tar[3] = { 0, 0, 1 };
	static const uint8_t getdata[] = { 0x80, 0xCA, 0x00, 0x5A, 0x00 }, stray[] = { 0x80 };
	const uint8_t *items[2] = { getdata, stray };
	size_t lens[2] = { sizeof(getdata), sizeof(stray) };
	ck_assert_int_eq(dev_send(&F.host, tar, false, items, lens, 2, false), 0);
	ck_assert_uint_eq(F.host.por.status, 0x00);
	tu_assert_hex(F.host.por_data.p, F.host.por_data.len, "026a80", "count 2, SW 6A80, no data");
	/* the whole command alone: count 1, its data and 9000 */
	ck_assert_int_eq(dev_send(&F.host, tar, false, items, lens, 1, false), 0);
	ck_assert_uint_eq(F.host.por_data.p[0], 1);
	ck_assert_uint_eq((unsigned)(F.host.por_data.p[1] << 8 | F.host.por_data.p[2]), 0x9000);
	ck_assert_uint_eq(F.host.por_data.len, 3 + 18);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("card");
	TCase *tc = tcase_create("card");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, atr_and_select);
	tcase_add_test(tc, ecasd_eid_and_certificate);
	tcase_add_test(tc, contact_management_refused);
	tcase_add_test(tc, logical_channels);
	tcase_add_test(tc, ota_create_and_audit);
	tcase_add_test(tc, ota_por_statuses);
	tcase_add_test(tc, download_enable_refresh_notify);
	tcase_add_test(tc, fallback_and_pol1);
	tcase_add_test(tc, es8_refusals);
	tcase_add_test(tc, files_and_authenticate);
	tcase_add_test(tc, ts48_imsi);
	tcase_add_test(tc, nvm_reload_and_corruption);
	tcase_add_test(tc, seed_reproducible);
	tcase_add_test(tc, same_iccid_twice_refused);
	tcase_add_test(tc, compact_script_trailing_byte);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
