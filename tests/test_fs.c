/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The enabled profile's file system in-process: the TS.48 packages installed whole, PINs with their
 * counters in NVM, access rules, UPDATE BINARY/RECORD, record modes, SEARCH RECORD, SFIs, STATUS, a
 * cyclic EF, updates that survive a reload and stay with their profile. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"
#include "cardutil.h"
#include "apdu/milenage.h"
#include "apdu/tlv.h"
#include "host/profile.h"
#include "euicc_int.h"

static cu_fixture F;

static void setup(void)
{
	ck_assert_int_eq(cu_setup(&F, 7), 0);
	F.host.auto_resync = true; /* after a reload the card keeps its counter mark, ahead of ours */
	ck_assert_int_eq(dev_attach(&F.host), 0);
}

static void teardown(void)
{
	cu_teardown(&F);
}

static uint16_t apdu(const char *hex, abuf *out)
{
	if (out)
		abuf_reset(out);
	return dev_apdu(&F.host, hex, out);
}

/* the card as the next power-on finds it: loaded again from its NVM file */
static void reload(void)
{
	char path[300], why[512];
	snprintf(path, sizeof(path), "%s/card.json", F.dir);
	euicc_free(F.card);
	F.card = euicc_load(path, why, sizeof(why));
	ck_assert_msg(F.card != NULL, "%s", why);
	uint8_t atr[EUICC_ATR_MAX];
	euicc_power_on(F.card, atr);
	ck_assert_int_eq(dev_attach(&F.host), 0);
}

/* a generated profile in ISD-P n, enabled; K and OPc 11.. / 22.. unless given */
static void install_keys(int n, const char *iccid, const char *imsi, bool pin_enabled, bool enable, const uint8_t *k,
			 const uint8_t *opc)
{
	profile_params pp;
	memset(&pp, 0, sizeof(pp));
	pp.iccid = iccid;
	pp.imsi = imsi;
	pp.pin = "1234";
	pp.puk = "12345678";
	pp.pin_enabled = pin_enabled;
	memset(pp.k, 0x11, 16);
	memset(pp.opc, 0x22, 16);
	if (k)
		memcpy(pp.k, k, 16);
	if (opc)
		memcpy(pp.opc, opc, 16);
	abuf pkg = ABUF_INIT;
	char why[256];
	ck_assert_int_eq(profile_build(&pp, &pkg, why, sizeof(why)), 0);
	ck_assert_uint_eq(cu_create(&F, n), 0x9000);
	uint8_t aid[16];
	cu_isdp_aid(aid, n);
	ck_assert_int_eq(smdp_download(&F.host, &F.pki, F.eis, aid, pkg.p, pkg.len, 512), 0);
	if (enable)
		ck_assert_uint_eq(cu_store(&F, 0x3A03, n), 0x9000);
	abuf_free(&pkg);
}

/* a package into ISD-P n, enabled */
static void install_pkg(int n, const abuf *pkg)
{
	ck_assert_uint_eq(cu_create(&F, n), 0x9000);
	uint8_t aid[16];
	cu_isdp_aid(aid, n);
	ck_assert_int_eq(smdp_download(&F.host, &F.pki, F.eis, aid, pkg->p, pkg->len, 512), 0);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, n), 0x9000);
}

static void install(int n, const char *iccid, const char *imsi, bool pin_enabled, bool enable)
{
	install_keys(n, iccid, imsi, pin_enabled, enable, NULL, NULL);
}

/* With ADF.USIM current: READ BINARY by SFI sfi gives the same bytes as SELECT fid + READ BINARY */
static void sfi_is(uint8_t sfi, uint16_t fid, const char *pkg)
{
	abuf a = ABUF_INIT, b = ABUF_INIT;
	char cmd[40];
	snprintf(cmd, sizeof(cmd), "00B0%02X0000", 0x80 | sfi);
	uint16_t sw = apdu(cmd, &a);
	ck_assert_msg(sw == 0x9000, "%s: READ BINARY SFI %02X answered %04X", pkg, sfi, sw);
	snprintf(cmd, sizeof(cmd), "00A4000C02%04X", fid);
	ck_assert_uint_eq(apdu(cmd, NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000000", &b), 0x9000);
	ck_assert_msg(a.len == b.len && !memcmp(a.p, b.p, a.len), "%s: SFI %02X is not EF %04X", pkg, sfi, fid);
	abuf_free(&a);
	abuf_free(&b);
}

/* Every TS.48 package installs whole: the USIM, ISIM and CSIM through EF.DIR, DF.TELECOM, DF.5GS, the
 * files genericFileManagement adds, EF.ARR rules, PINs and PUKs. */
START_TEST(ts48_file_systems)
{
	static const char *names[] = { "TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der", "TS48V2-SAIP2-3-BERTLV-UNIQUE.der",
				       "TS48V3-SAIP2-3-NOBERTLV-UNIQUE.der", "TS48V4-SAIP2-1A-NOBERTLV-UNIQUE.der",
				       "TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der" };
	abuf r = ABUF_INIT;
	/* a generated profile in ISD-P 0 to come back to; each TS.48 package goes to ISD-P 1 */
	install(0, "8988211000000467285", "001010000000001", false, true);
	for (size_t i = 0; i < 5; i++) {
		abuf pkg = ABUF_INIT;
		if (!tu_ts48(names[i], &pkg))
			continue;
		ck_assert_uint_eq(cu_create(&F, 1), 0x9000);
		uint8_t aid[16];
		cu_isdp_aid(aid, 1);
		ck_assert_msg(smdp_download(&F.host, &F.pki, F.eis, aid, pkg.p, pkg.len, 512) == 0,
			      "%s does not install", names[i]);
		ck_assert_uint_eq(cu_store(&F, 0x3A03, 1), 0x9000);
		/* EF.DIR record 1 names the USIM; SELECT by that AID; EF.IMSI and EF.UST */
		ck_assert_uint_eq(apdu("00A4080C022F00", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00B2010400", &r), 0x9000);
		ck_assert_uint_eq(r.p[0], 0x61);
		ck_assert_uint_eq(r.p[2], 0x4F);
		char sel[80], ah[40];
		hex_encode(r.p + 4, r.p[3], ah);
		snprintf(sel, sizeof(sel), "00A4040C%02X%s", r.p[3], ah);
		ck_assert_uint_eq(apdu(sel, NULL), 0x9000);
		ck_assert_uint_eq(apdu("00A4000C026F07", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00B0000009", &r), 0x9000);
		tu_assert_hex(r.p, r.len, "080910101032540636", "%s", names[i]);
		/* EF.IMSI is written by ADM1 only (EF.ARR record 10 of the USIM) */
		ck_assert_uint_eq(apdu("00D6000001 08", NULL), 0x6982);
		/* SFIs as the SAIP templates give them (the packages leave '88' out): each transparent EF read
		 * by SFI is the EF its FID selects (the FID's low five bits would give AD for 0D, LOCI for 1E) */
		sfi_is(0x03, 0x6FAD, names[i]);
		sfi_is(0x04, 0x6F38, names[i]);
		sfi_is(0x07, 0x6F07, names[i]);
		sfi_is(0x0B, 0x6F7E, names[i]);
		sfi_is(0x0D, 0x6F7B, names[i]);
		sfi_is(0x1E, 0x6FE3, names[i]);
		/* EF.SPN has no SFI in the template: its FID's low bits (06) are EF.ACC's */
		sfi_is(0x06, 0x6F78, names[i]);
		/* EF.DIR at the MF by SFI 1E (the MF current): record 1 names the USIM */
		ck_assert_uint_eq(apdu("00A4000C023F00", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00B201F400", &r), 0x9000);
		ck_assert_uint_eq(r.p[0], 0x61);
		ck_assert_uint_eq(apdu(sel, NULL), 0x9000);
		/* DF.TELECOM and, in it, a file genericFileManagement created (EF.ICE_graphics 5F50/4F21 ...) */
		ck_assert_uint_eq(apdu("00A4080C027F10", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00A4080C047F106F44", NULL), 0x9000);
		/* the ISIM (EF.DIR record 2) and the CSIM (record 3) by partial AID */
		ck_assert_uint_eq(apdu("00A4040C07A0000000871004", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00A4040C07A0000003431002", NULL), 0x9000);
		/* PINs: PIN1 disabled in TS.48 (VERIFY without data: 9000), ADM1 counts 10, PIN2 3 */
		ck_assert_uint_eq(apdu("0020000100", NULL), 0x9000);
		ck_assert_uint_eq(apdu("0020000A00", NULL), 0x63CA);
		ck_assert_uint_eq(apdu("0020008100", NULL), 0x63C3);
		ck_assert_uint_eq(apdu("0020000A08 3535353535353535", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00A4000C026F07", NULL), 0x9000);
		ck_assert_uint_eq(apdu("00D6000001 08", NULL), 0x9000); /* with ADM1 */
		/* back to the generated profile, and the TS.48 one deleted */
		ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000);
		ck_assert_uint_eq(cu_delete(&F, 1), 0x9000);
		abuf_free(&pkg);
	}
	abuf_free(&r);
}
END_TEST

/* PIN1 enabled: reads need it; wrong tries count down and survive a reload; 3 wrong block it; the PUK
 * unblocks it and blocks after 10 wrong tries; CHANGE, DISABLE, ENABLE. */
START_TEST(pins_and_access)
{
	abuf r = ABUF_INIT;
	install(0, "8988211000000467285", "001010000000001", true, true);
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C026F07", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000009", NULL), 0x6982); /* PIN1 not verified */
	ck_assert_uint_eq(apdu("0088008011 10 00112233445566778899aabbccddeeff 00", NULL), 0x6982);
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x63C3);
	ck_assert_uint_eq(apdu("0020000108 31313131FFFFFFFF", NULL), 0x63C2); /* wrong */
	reload();							      /* the count is in NVM */
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x63C2);
	ck_assert_uint_eq(apdu("0020000108 31323334FFFFFFFF", NULL), 0x9000);
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x9000); /* verified, counter back to 3 */
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C026F07", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000009", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "080910100000000010", "EF.IMSI after VERIFY");
	ck_assert_uint_eq(apdu("00D6000001 08", NULL), 0x6982); /* ADM1 writes EF.IMSI */
	ck_assert_uint_eq(apdu("0020000A08 3535353535353536", NULL), 0x63C2);
	ck_assert_uint_eq(apdu("0020000A08 3535353535353535", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00D6000001 09", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000001", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0x09);
	/* bad requests */
	ck_assert_uint_eq(apdu("0020000208 31323334FFFFFFFF", NULL), 0x6A88); /* no such key */
	ck_assert_uint_eq(apdu("0020000104 31323334", NULL), 0x6700);
	ck_assert_uint_eq(apdu("0020010108 31323334FFFFFFFF", NULL), 0x6A86);
	ck_assert_uint_eq(apdu("0024000110 31323334FFFFFFFF 3132FFFFFFFFFFFF", NULL), 0x6A80); /* new PIN of 2 digits */
	/* CHANGE PIN */
	ck_assert_uint_eq(apdu("0024000110 39393939FFFFFFFF 35363738FFFFFFFF", NULL), 0x63C2);
	ck_assert_uint_eq(apdu("0024000110 31323334FFFFFFFF 35363738FFFFFFFF", NULL), 0x9000);
	ck_assert_uint_eq(apdu("0020000108 31323334FFFFFFFF", NULL), 0x63C2); /* the old one no more */
	/* block it: two more wrong tries, then even the right PIN gets 6983 */
	ck_assert_uint_eq(apdu("0020000108 31323334FFFFFFFF", NULL), 0x63C1);
	ck_assert_uint_eq(apdu("0020000108 31323334FFFFFFFF", NULL), 0x63C0);
	ck_assert_uint_eq(apdu("0020000108 35363738FFFFFFFF", NULL), 0x6983);
	ck_assert_uint_eq(apdu("00B0000009", NULL), 0x6982);
	reload();
	ck_assert_uint_eq(apdu("0020000108 35363738FFFFFFFF", NULL), 0x6983); /* still blocked */
	/* UNBLOCK with PUK1 */
	ck_assert_uint_eq(apdu("002C000100", NULL), 0x63CA);
	ck_assert_uint_eq(apdu("002C000110 3131313131313131 39393939FFFFFFFF", NULL), 0x63C9);
	ck_assert_uint_eq(apdu("002C000110 3132333435363738 39393939FFFFFFFF", NULL), 0x9000);
	ck_assert_uint_eq(apdu("002C000100", NULL), 0x63CA); /* PUK counter back to 10 */
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x9000); /* unblocked and verified */
	reload();
	ck_assert_uint_eq(apdu("0020000108 39393939FFFFFFFF", NULL), 0x9000);
	/* DISABLE (PIN1 may be disabled), then reads need nothing; ADM1 may not be disabled */
	ck_assert_uint_eq(apdu("0026000108 39393939FFFFFFFF", NULL), 0x9000);
	ck_assert_uint_eq(apdu("0026000108 39393939FFFFFFFF", NULL), 0x6985);
	ck_assert_uint_eq(apdu("0024000110 39393939FFFFFFFF 31313131FFFFFFFF", NULL), 0x6984);
	ck_assert_uint_eq(apdu("0026000A08 3535353535353535", NULL), 0x6985);
	reload();
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C026F07", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000009", NULL), 0x9000);
	ck_assert_uint_eq(apdu("0028000108 39393939FFFFFFFF", NULL), 0x9000);
	ck_assert_uint_eq(apdu("0028000108 39393939FFFFFFFF", NULL), 0x6985);
	/* the PUK blocks after 10 wrong tries: PIN1 blocked first */
	for (int i = 0; i < 3; i++)
		apdu("0020000108 30303030FFFFFFFF", NULL);
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x6983);
	for (int i = 9; i >= 0; i--) {
		uint16_t sw = apdu("002C000110 3030303030303030 39393939FFFFFFFF", NULL);
		ck_assert_uint_eq(sw, 0x63C0 | (unsigned)i);
	}
	ck_assert_uint_eq(apdu("002C000110 3132333435363738 39393939FFFFFFFF", NULL), 0x6983);
	reload();
	ck_assert_uint_eq(apdu("002C000100", NULL), 0x6983);
	abuf_free(&r);
}
END_TEST

/* UPDATE BINARY, record modes, SEARCH RECORD, UPDATE RECORD, STATUS on a generated profile */
/* The NVM cannot be written (the journal's name means a full device): a PIN try is counted in the NVM
 * before the value is compared, so every presentation is refused with 6581 and none is counted or
 * answered; back on a writable NVM the counter is where it was. */
START_TEST(no_pin_guesses_without_nvm)
{
	install(0, "8988211000000467285", "001010000000001", true, true);
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x63C3); /* counter full: a right PIN would change nothing */
	char jrnl[320], real[330];
	snprintf(jrnl, sizeof(jrnl), "%s/card.json.journal", F.dir);
	snprintf(real, sizeof(real), "%s.real", jrnl);
	ck_assert_int_ge(F.card->jr.fd, 0);
	ck_assert_int_eq(rename(jrnl, real), 0);
	ck_assert_int_eq(symlink("/dev/full", jrnl), 0);
	int keep = F.card->jr.fd;
	F.card->jr.fd = open(jrnl, O_RDWR);
	ck_assert_int_ge(F.card->jr.fd, 0);
	for (int i = 0; i < 10; i++)
		ck_assert_uint_eq(apdu("0020000108 30303030FFFFFFFF", NULL), 0x6581);
	ck_assert_uint_eq(apdu("0020000108 31323334FFFFFFFF", NULL), 0x6581); /* the right one: not compared */
	ck_assert_uint_eq(apdu("002C000110 3132333435363738 39393939FFFFFFFF", NULL), 0x6581); /* PUK */
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x63C3); /* nothing counted, nothing verified */
	close(F.card->jr.fd);
	F.card->jr.fd = keep;
	ck_assert_int_eq(unlink(jrnl), 0);
	ck_assert_int_eq(rename(real, jrnl), 0);
	ck_assert_uint_eq(apdu("0020000108 31313131FFFFFFFF", NULL), 0x63C2); /* writable again: counted */
	reload();
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x63C2);
	ck_assert_uint_eq(apdu("0020000108 31323334FFFFFFFF", NULL), 0x9000);
	reload();
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x63C3); /* the right PIN restored the counter, durably */
}
END_TEST

/* A BER-TLV EF (EF.URSP 4F0B in DF.5GS of a TS.48 package): an EF, not a DF; READ BINARY 6981;
 * SET DATA (ADM1) stores an object, in one block or several, RETRIEVE DATA gives it back whole (62F1
 * while more blocks follow), 5C lists the tags, a tag alone deletes; it survives a reload */
START_TEST(bertlv_ef)
{
	abuf pkg = ABUF_INIT, r = ABUF_INIT;
	if (!tu_ts48("TS48V5-SAIP2-3-BERTLV-SUCI-UNIQUE.der", &pkg))
		return;
	install_pkg(0, &pkg);
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C025FC0", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A40004024F0B", &r), 0x9000);
	tlv fcp, d;
	ck_assert_int_eq(tlv_parse_one(r.p, r.len, &fcp), APDU_OK);
	ck_assert_int_eq(tlv_find(fcp.value, fcp.len, 0x82, &d), APDU_OK);
	ck_assert_uint_eq(d.value[0] & 0x3F, 0x39); /* a BER-TLV EF */
	ck_assert_uint_eq(apdu("00B0000000", NULL), 0x6981);
	ck_assert_uint_eq(apdu("80CB0080015C", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "5c00", "no object yet");
	ck_assert_uint_eq(apdu("80DB008005 8003010203", NULL), 0x6982); /* UPDATE is ADM1's */
	ck_assert_uint_eq(apdu("0020000A08 3535353535353535", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C024F0B", NULL), 0x9000);
	ck_assert_uint_eq(apdu("80DB008005 8003010203", NULL), 0x9000);
	/* a 300-byte object in two blocks */
	char big[700] = "80DB0080FF 8182012C";
	for (int i = 0; i < 251; i++)
		strcat(big, "AB");
	ck_assert_uint_eq(apdu(big, NULL), 0x9000);
	char rest[200] = "80DB000031 ";
	for (int i = 0; i < 49; i++)
		strcat(rest, "AB");
	ck_assert_uint_eq(apdu(rest, NULL), 0x9000);
	ck_assert_uint_eq(apdu("80CB00800180", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "8003010203", "object 80");
	ck_assert_uint_eq(apdu("80CB00800181", &r), 0x62F1);
	ck_assert_uint_eq(r.len, 256);
	ck_assert_uint_eq(r.p[0], 0x81);
	ck_assert_uint_eq(apdu("80CB000000", &r), 0x9000);
	ck_assert_uint_eq(r.len, 304 - 256);
	ck_assert_uint_eq(apdu("80CB0080015C", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "5c028081", "two tags");
	reload();
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C025FC0", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000C024F0B", NULL), 0x9000);
	ck_assert_uint_eq(apdu("80CB00800180", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "8003010203", "object 80 after a reload");
	ck_assert_uint_eq(apdu("0020000A08 3535353535353535", NULL), 0x9000);
	ck_assert_uint_eq(apdu("80DB00800180", NULL), 0x9000); /* the tag alone: deleted */
	ck_assert_uint_eq(apdu("80CB00800180", NULL), 0x6A88);
	ck_assert_uint_eq(apdu("80CB0080015C", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "5c0181", "one tag left");
	/* objects until the file is full (1024 bytes): the one that does not fit is refused (6A84) and the
	 * others stay */
	for (int tag = 0x82; tag <= 0x84; tag++) {
		char obj[600];
		snprintf(obj, sizeof(obj), "80DB0080FD %02X81FA", tag);
		for (int i = 0; i < 250; i++)
			strcat(obj, "CD");
		ck_assert_uint_eq(apdu(obj, NULL), tag < 0x84 ? 0x9000 : 0x6A84);
	}
	ck_assert_uint_eq(apdu("80CB0080015C", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "5c03818283", "what fits stays");
	abuf_free(&pkg);
	abuf_free(&r);
}
END_TEST

/* The GSM class with PIN1 (CHV1) in force: EF.IMSI needs it (9804), VERIFY CHV counts tries (the DF's
 * response shows them), the right value opens the file, three wrong ones block it (9840), and the UICC
 * view sees the same counter */
START_TEST(gsm_chv1)
{
	abuf r = ABUF_INIT;
	install(0, "8988211000000467285", "001010000000001", true, true);
	ck_assert_uint_eq(apdu("A0A40000027F20", NULL), 0x9000); /* 9F17 and GET RESPONSE */
	ck_assert_uint_eq(apdu("A0A40000026F07", NULL), 0x9000);
	ck_assert_uint_eq(apdu("A0B0000009", NULL), 0x9804);
	ck_assert_uint_eq(apdu("A020000108 31313131FFFFFFFF", NULL), 0x9804);
	ck_assert_uint_eq(apdu("A0F2000017", &r), 0x9000);
	ck_assert_uint_eq(r.len, 23);
	ck_assert_uint_eq(r.p[18], 0x82); /* CHV1: initialised, 2 tries left */
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x63C2);
	ck_assert_uint_eq(apdu("A020000108 31323334FFFFFFFF", NULL), 0x9000);
	ck_assert_uint_eq(apdu("A0B0000009", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "080910100000000010", "EF.IMSI through DF.GSM");
	ck_assert_uint_eq(apdu("A020000208 31323334FFFFFFFF", NULL), 0x9404); /* no CHV2 in this profile */
	for (int i = 0; i < 2; i++)
		ck_assert_uint_eq(apdu("A020000108 30303030FFFFFFFF", NULL), 0x9804);
	ck_assert_uint_eq(apdu("A020000108 30303030FFFFFFFF", NULL), 0x9840);
	ck_assert_uint_eq(apdu("A020000108 31323334FFFFFFFF", NULL), 0x9840);
	ck_assert_uint_eq(apdu("0020000100", NULL), 0x6983);
	abuf_free(&r);
}
END_TEST

/* A generated profile is consistent as pySim-shell's ust_service_check sees it (a file of a service is
 * there exactly when EF.UST offers the service) and a modem's USIM initialisation finds every mandatory
 * EF (TS 31.102 4.2) with its size, by FID and by SFI */
static bool selectable(const char *path_hex)
{
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "00A4040C07A0000000871002");
	ck_assert_uint_eq(apdu(cmd, NULL), 0x9000);
	snprintf(cmd, sizeof(cmd), "00A4090C%02zX%s", strlen(path_hex) / 2, path_hex);
	return apdu(cmd, NULL) == 0x9000;
}

static void generated_check(bool spn)
{
	profile_params pp;
	memset(&pp, 0, sizeof(pp));
	pp.iccid = "8988211000000467285";
	pp.imsi = "001010000000003";
	pp.spn = spn ? "Bench" : NULL;
	memset(pp.k, 0x11, 16);
	memset(pp.opc, 0x22, 16);
	abuf pkg = ABUF_INIT, r = ABUF_INIT;
	char why[256];
	ck_assert_int_eq(profile_build(&pp, &pkg, why, sizeof(why)), 0);
	install_pkg(0, &pkg);
	/* the modem: EF.ICCID, EF.DIR, the USIM by its AID */
	ck_assert_uint_eq(apdu("00A4080C022FE2", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B000000A", &r), 0x9000);
	ck_assert_uint_eq(apdu("00A4080C022F00", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B2010400", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0x61);
	ck_assert_uint_eq(apdu("00A4040C07A0000000871002", NULL), 0x9000);
	static const struct {
		uint16_t fid;
		uint8_t sfi;
		size_t size;
	} mandatory[] = {
		{ 0x6F38, 0x04, 8 },  { 0x6F78, 0x06, 2 },  { 0x6FAD, 0x03, 4 },  { 0x6F07, 0x07, 9 },
		{ 0x6F7E, 0x0B, 11 }, { 0x6F73, 0x0C, 14 }, { 0x6F08, 0x08, 33 }, { 0x6F09, 0x09, 33 },
		{ 0x6F5B, 0x0F, 6 },  { 0x6F5C, 0x10, 3 },  { 0x6F31, 0x12, 1 },  { 0x6F7B, 0x0D, 12 },
		{ 0x6F05, 0x02, 2 },  { 0x6FC4, 0x00, 16 },
	};
	for (size_t i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		char cmd[40];
		snprintf(cmd, sizeof(cmd), "00A4000C02%04X", mandatory[i].fid);
		ck_assert_msg(apdu(cmd, NULL) == 0x9000, "EF %04X missing", mandatory[i].fid);
		ck_assert_uint_eq(apdu("00B0000000", &r), 0x9000);
		ck_assert_msg(r.len == mandatory[i].size, "EF %04X: %zu bytes", mandatory[i].fid, r.len);
		if (mandatory[i].sfi) {
			abuf s2 = ABUF_INIT;
			snprintf(cmd, sizeof(cmd), "00B0%02X0000", 0x80 | mandatory[i].sfi);
			ck_assert_uint_eq(apdu(cmd, &s2), 0x9000);
			ck_assert(s2.len == r.len && !memcmp(s2.p, r.p, r.len));
			abuf_free(&s2);
		}
	}
	ck_assert_uint_eq(apdu("00A4000C026FB7", NULL), 0x9000); /* EF.ECC: 112 */
	ck_assert_uint_eq(apdu("00B2010404", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "11f2ff00", "EF.ECC record 1");
	/* services and their files, both ways */
	ck_assert_uint_eq(apdu("00A4000C026F38", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000000", &r), 0x9000);
	uint8_t ust[8];
	memcpy(ust, r.p, 8);
	static const struct {
		unsigned service;
		const char *path;
	} files[] = {
		{ 2, "6F3B" },	{ 10, "6F3C" }, { 10, "6F43" },	    { 12, "6F42" },	 { 19, "6F46" }, { 20, "6F60" },
		{ 21, "6F40" }, { 27, "5F3B" }, { 27, "5F3B4F20" }, { 27, "5F3B4F52" },	 { 45, "6FC5" }, { 46, "6FC6" },
		{ 71, "6FD9" }, { 85, "6FE3" }, { 85, "6FE4" },	    { 122, "5FC04F01" },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		unsigned n = files[i].service - 1;
		bool on = n / 8 < sizeof(ust) && (ust[n / 8] >> (n % 8) & 1);
		ck_assert_msg(selectable(files[i].path) == on, "service %u is %s but %s is %s", files[i].service,
			      on ? "on" : "off", files[i].path, on ? "missing" : "there");
	}
	ck_assert(((ust[2] >> 2) & 1) == spn); /* service 19 with EF.SPN */
	abuf_free(&pkg);
	abuf_free(&r);
}

START_TEST(generated_profile_consistent)
{
	generated_check(false);
}
END_TEST

START_TEST(generated_profile_with_spn_consistent)
{
	generated_check(true);
}
END_TEST

START_TEST(records_and_updates)
{
	abuf r = ABUF_INIT;
	install(0, "8988211000000467285", "001010000000001", false, true);
	/* EF.ARR (2F06): 3 records of 32 bytes */
	ck_assert_uint_eq(apdu("00A4080402 2F06 00", &r), 0x9000);
	tlv d;
	ck_assert_int_eq(tlv_find(r.p + 2, r.len - 2, 0x82, &d), 0);
	tu_assert_hex(d.value, d.len, "4221002003", "EF.ARR descriptor: linear fixed, 3 records of 32");
	ck_assert_uint_eq(apdu("00B2000400", NULL), 0x6A83); /* no current record yet */
	ck_assert_uint_eq(apdu("00B2000200", &r), 0x9000);   /* next: record 1 */
	ck_assert_uint_eq(r.len, 32);
	ck_assert_uint_eq(r.p[7], 0x1A);
	ck_assert_uint_eq(apdu("00B2000200", &r), 0x9000); /* record 2 */
	ck_assert_uint_eq(r.p[2], 0x01);
	ck_assert_uint_eq(apdu("00B2000400", &r), 0x9000); /* current: still 2 */
	ck_assert_uint_eq(r.p[2], 0x01);
	ck_assert_uint_eq(apdu("00B2000200", &r), 0x9000); /* 3 */
	ck_assert_uint_eq(r.p[2], 0x03);
	ck_assert_uint_eq(apdu("00B2000200", NULL), 0x6A83); /* no record 4 */
	ck_assert_uint_eq(apdu("00B2000300", &r), 0x9000);   /* previous: 2 */
	ck_assert_uint_eq(r.p[2], 0x01);
	ck_assert_uint_eq(apdu("00B2040400", NULL), 0x6A83);
	ck_assert_uint_eq(apdu("00B2010500", NULL), 0x6A86);
	/* SEARCH RECORD: simple forward from 1 finds 80 01 03 in record 3; enhanced from offset 0 */
	ck_assert_uint_eq(apdu("00A2010403 800103", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "03", "simple search");
	ck_assert_uint_eq(apdu("00A2010403 80011A", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "0102", "two records hold 80 01 1A");
	ck_assert_uint_eq(apdu("00A2030503 80011A", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "0201", "backward from 3");
	ck_assert_uint_eq(apdu("00A2010605 0400 800101", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "0102", "enhanced, from offset 0 of each record");
	ck_assert_uint_eq(apdu("00A2010402 CAFE", NULL), 0x6A83);
	/* EF.ARR is written by ADM1 only */
	ck_assert_uint_eq(apdu("00DC010420 800101900080011AA40683010A950108FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", NULL),
			  0x6982);
	ck_assert_uint_eq(apdu("0020000A08 3535353535353535", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00DC010410 800101900080011AA40683010A950108", NULL), 0x6700); /* not a whole record */
	ck_assert_uint_eq(apdu("00DC010420 800101900080011AA40683010A950108EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEE", NULL),
			  0x9000);
	ck_assert_uint_eq(apdu("00B2010400", &r), 0x9000);
	ck_assert_uint_eq(r.p[31], 0xEE);
	/* by SFI: EF.ARR has SFI 06 (its FID's low bits); READ RECORD with SFI in P2 */
	ck_assert_uint_eq(apdu("00A4000C023F00", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B2013400", &r), 0x9000);
	ck_assert_uint_eq(r.p[31], 0xEE);
	/* a transparent EF by SFI: EF.ICCID (SFI 02) */
	ck_assert_uint_eq(apdu("00B082000A", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "988812010000407682f5", "EF.ICCID by SFI");
	ck_assert_uint_eq(apdu("00B09F0001", NULL), 0x6A82); /* no file with SFI 1F here */
	ck_assert_uint_eq(apdu("00B2011400", NULL), 0x6981); /* EF.ICCID has no records */
	/* EF.LOCI: written with PIN1 (disabled here), offsets checked */
	ck_assert_uint_eq(apdu("00A4080C047FFF6F7E", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00D6000004 01020304", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00D6000A02 0102", NULL), 0x6700); /* past the end */
	ck_assert_uint_eq(apdu("00D6000B01 01", NULL), 0x6B00);	  /* offset outside */
	ck_assert_uint_eq(apdu("00B0000000", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "0102030400f110fffeff01", "EF.LOCI updated");
	/* STATUS: the current DF's FCP, the application's name */
	ck_assert_uint_eq(apdu("80F2000000", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0x62);
	tlv aid;
	ck_assert_int_eq(tlv_find(r.p + 2, r.len - 2, 0x84, &aid), 0);
	ck_assert_uint_eq(apdu("80F2000100", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0x84);
	ck_assert_uint_eq(apdu("80F2000C00", &r), 0x9000);
	ck_assert_uint_eq(r.len, 0);
	/* no EF selected */
	ck_assert_uint_eq(apdu("00A4000C023F00", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000001", NULL), 0x6986);
	/* everything written is there after a power cycle */
	reload();
	ck_assert_uint_eq(apdu("00A4080C047FFF6F7E", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B000000B", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "0102030400f110fffeff01", "EF.LOCI after a reload");
	abuf_free(&r);
}
END_TEST

/* A cyclic EF (TS.48 EF.ICI, 6F80): UPDATE RECORD previous writes the oldest, which becomes record 1. */
START_TEST(cyclic_file)
{
	abuf pkg = ABUF_INIT, r = ABUF_INIT;
	if (!tu_ts48("TS48V2-SAIP2-3-NOBERTLV-UNIQUE.der", &pkg))
		return;
	install_pkg(0, &pkg);
	ck_assert_uint_eq(apdu("00A4080402 7FFF 00", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00A4000402 6F80 00", &r), 0x9000);
	tlv d;
	ck_assert_int_eq(tlv_find(r.p + 2, r.len - 2, 0x82, &d), 0);
	ck_assert_uint_eq(d.value[0], 0x46);
	size_t rl = ((size_t)d.value[2] << 8) | d.value[3];
	uint8_t nrec = d.value[4];
	ck_assert_uint_ge(nrec, 2);
	char cmd[600], h[300];
	uint8_t rec[128];
	memset(rec, 0xA1, rl);
	hex_encode(rec, rl, h);
	snprintf(cmd, sizeof(cmd), "00DC0003%02zX%s", rl, h);
	ck_assert_uint_eq(apdu(cmd, NULL), 0x9000);
	memset(rec, 0xB2, rl);
	hex_encode(rec, rl, h);
	snprintf(cmd, sizeof(cmd), "00DC0003%02zX%s", rl, h);
	ck_assert_uint_eq(apdu(cmd, NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B2010400", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0xB2);
	ck_assert_uint_eq(apdu("00B2020400", &r), 0x9000);
	ck_assert_uint_eq(r.p[0], 0xA1);
	snprintf(cmd, sizeof(cmd), "00DC0104%02zX%s", rl, h);
	ck_assert_uint_eq(apdu(cmd, NULL), 0x6A86); /* absolute: not on a cyclic EF */
	/* next from record nrec wraps to 1 */
	snprintf(cmd, sizeof(cmd), "00B2%02X0400", nrec);
	ck_assert_uint_eq(apdu(cmd, NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B2000300", &r), 0x9000); /* previous of none: the last */
	abuf_free(&r);
	abuf_free(&pkg);
}
END_TEST

/* Updates stay with their profile: EF.LOCI of A is untouched by B, and both survive a reload. */
START_TEST(profile_isolation)
{
	abuf r = ABUF_INIT;
	install(0, "8988211000000467285", "001010000000001", false, true);
	install(1, "8988211000000467293", "001010000000002", false, false);
	ck_assert_uint_eq(apdu("00A4080C047FFF6F7E", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00D600000B AAAAAAAA00f110fffeff00", NULL), 0x9000);
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 1), 0x9000); /* swap to B */
	ck_assert_uint_eq(apdu("00A4080C047FFF6F07", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000009", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "080910100000000020", "B's IMSI");
	ck_assert_uint_eq(apdu("00A4080C047FFF6F7E", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B000000B", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "ffffffff00f110fffeff01", "B's EF.LOCI as installed");
	ck_assert_uint_eq(apdu("00D6000004 BBBBBBBB", NULL), 0x9000);
	reload();
	uint16_t sw = cu_store(&F, 0x3A03, 0); /* back to A */
	ck_assert_msg(sw == 0x9000, "enable A after the reload: %04X %s", sw, F.host.log.p ? (char *)F.host.log.p : "");
	ck_assert_uint_eq(apdu("00A4080C047FFF6F7E", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B000000B", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "aaaaaaaa00f110fffeff00", "A's EF.LOCI kept");
	ck_assert_uint_eq(cu_store(&F, 0x3A03, 1), 0x9000);
	ck_assert_uint_eq(apdu("00A4080C047FFF6F7E", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B0000004", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "bbbbbbbb", "B's EF.LOCI kept");
	/* a disabled profile's files are out of reach: B enabled, A's ICCID nowhere */
	ck_assert_uint_eq(apdu("00A4080C022FE2", NULL), 0x9000);
	ck_assert_uint_eq(apdu("00B000000A", &r), 0x9000);
	tu_assert_hex(r.p, r.len, "988812010000407692f3", "B's ICCID");
	abuf_free(&r);
}
END_TEST

/* AUTHENTICATE against every full 3GPP TS 35.208 set, each loaded through a generated profile: RES, CK,
 * IK byte exact (and Kc = c3(CK, IK), EF.UST service 27 being on); the same SQN again gives an AUTS
 * whose SQNms, unmasked with the set's AK*, is that SQN, with a MAC-S that verifies. */
START_TEST(milenage_sets_through_profiles)
{
	json_t *V = tu_vectors("milenage-ts35208.json"), *v;
	size_t i, done = 0;
	abuf r = ABUF_INIT;
	install(0, "8988211000000467285", "001010000000001", false, true);
	json_array_foreach(json_object_get(V, "sets"), i, v)
	{
		if (!json_object_get(v, "res") || !json_object_get(v, "ck") || !json_object_get(v, "ik"))
			continue; /* set 6 lists f1, f4 and f5* only */
		uint8_t k[16], opc[16], rnd[16], sqn[6], amf[2], mac_a[8], ak[6], akstar[6], ck[16], ik[16];
		tu_hexfix(k, 16, json_string_value(json_object_get(v, "k")));
		tu_hexfix(opc, 16, json_string_value(json_object_get(v, "opc")));
		tu_hexfix(rnd, 16, json_string_value(json_object_get(v, "rand")));
		tu_hexfix(sqn, 6, json_string_value(json_object_get(v, "sqn")));
		tu_hexfix(amf, 2, json_string_value(json_object_get(v, "amf")));
		tu_hexfix(mac_a, 8, json_string_value(json_object_get(v, "mac_a")));
		tu_hexfix(ak, 6, json_string_value(json_object_get(v, "ak")));
		tu_hexfix(akstar, 6, json_string_value(json_object_get(v, "ak_star")));
		tu_hexfix(ck, 16, json_string_value(json_object_get(v, "ck")));
		tu_hexfix(ik, 16, json_string_value(json_object_get(v, "ik")));
		install_keys(1, "8988211000000467293", "001010000000002", false, true, k, opc);
		uint8_t autn[16];
		for (int b = 0; b < 6; b++)
			autn[b] = sqn[b] ^ ak[b];
		memcpy(autn + 6, amf, 2);
		memcpy(autn + 8, mac_a, 8);
		char cmd[160], rh[33], ah[33], want[200], kch[17];
		uint8_t kc[8];
		for (int b = 0; b < 8; b++)
			kc[b] = (uint8_t)(ck[b] ^ ck[b + 8] ^ ik[b] ^ ik[b + 8]);
		hex_encode(rnd, 16, rh);
		hex_encode(autn, 16, ah);
		hex_encode(kc, 8, kch);
		snprintf(cmd, sizeof(cmd), "00A4040C07A0000000871002");
		ck_assert_uint_eq(apdu(cmd, NULL), 0x9000);
		snprintf(cmd, sizeof(cmd), "0088008122 10%s 10%s 00", rh, ah);
		ck_assert_uint_eq(apdu(cmd, &r), 0x9000);
		snprintf(want, sizeof(want), "db08%s10%s10%s08%s", json_string_value(json_object_get(v, "res")),
			 json_string_value(json_object_get(v, "ck")), json_string_value(json_object_get(v, "ik")), kch);
		tu_assert_hex(r.p, r.len, want, "set %d", (int)json_integer_value(json_object_get(v, "set")));
		ck_assert_uint_eq(apdu(cmd, &r), 0x9000);
		ck_assert_uint_eq(r.len, 16);
		ck_assert_uint_eq(r.p[0], 0xDC);
		uint8_t sqnms[6], ma[8], ms[8];
		for (int b = 0; b < 6; b++)
			sqnms[b] = r.p[2 + b] ^ akstar[b];
		ck_assert_int_eq(memcmp(sqnms, sqn, 6), 0);
		ck_assert_int_eq(milenage_f1(k, opc, rnd, sqnms, (const uint8_t *)"\0\0", ma, ms), APDU_OK);
		ck_assert_int_eq(memcmp(r.p + 8, ms, 8), 0);
		ck_assert_uint_eq(cu_store(&F, 0x3A03, 0), 0x9000);
		ck_assert_uint_eq(cu_delete(&F, 1), 0x9000);
		done++;
	}
	ck_assert_uint_eq(done, 5);
	json_decref(V);
	abuf_free(&r);
}
END_TEST

/* A package whose file system does not install is refused whole: nothing of it stays on the card. */
START_TEST(bad_file_system_refused)
{
	profile_params pp;
	memset(&pp, 0, sizeof(pp));
	pp.iccid = "8988211000000467285";
	pp.imsi = "001010000000001";
	abuf pkg = ABUF_INIT;
	char why[256];
	ck_assert_int_eq(profile_build(&pp, &pkg, why, sizeof(why)), 0);
	/* EF.ICCID's FID '2FE2' becomes a 3-byte FID: bad values */
	size_t at = 0;
	for (size_t i = 0; i + 4 < pkg.len; i++)
		if (!memcmp(pkg.p + i, "\x83\x02\x2F\xE2", 4))
			at = i;
	ck_assert_uint_gt(at, 0);
	pkg.p[at + 1] = 0x01; /* 83 01 2F, then E2 read as the next tag */
	ck_assert_uint_eq(cu_create(&F, 0), 0x9000);
	uint8_t aid[16];
	cu_isdp_aid(aid, 0);
	ck_assert_int_ne(smdp_download(&F.host, &F.pki, F.eis, aid, pkg.p, pkg.len, 512), 0);
	/* the card's answer names the element (1, the mf) and its status (3, bad values) */
	ck_assert_str_eq((char *)F.host.log.p, "profile element 1 refused: bad values");
	json_t *s = euicc_show(F.card, false);
	json_t *p = json_array_get(json_object_get(s, "profiles"), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(p, "package_bytes")), 0);
	ck_assert_str_ne(json_string_value(json_object_get(p, "state")), "disabled");
	json_decref(s);
	abuf_free(&pkg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("fs");
	TCase *tc = tcase_create("fs");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, ts48_file_systems);
	tcase_add_test(tc, pins_and_access);
	tcase_add_test(tc, no_pin_guesses_without_nvm);
	tcase_add_test(tc, bertlv_ef);
	tcase_add_test(tc, gsm_chv1);
	tcase_add_test(tc, generated_profile_consistent);
	tcase_add_test(tc, generated_profile_with_spn_consistent);
	tcase_add_test(tc, records_and_updates);
	tcase_add_test(tc, cyclic_file);
	tcase_add_test(tc, profile_isolation);
	tcase_add_test(tc, bad_file_system_refused);
	tcase_add_test(tc, milenage_sets_through_profiles);
	suite_add_tcase(s, tc);
	return tu_run(s);
}
