/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "apdu/sms.h"
#include "apdu/tlv.h"

static const char sms_bcd_digits[] = "0123456789*#abc";

static int bcd_value(char c)
{
	for (int i = 0; i < 15; i++)
		if (sms_bcd_digits[i] == c || (c >= 'A' && c <= 'C' && sms_bcd_digits[i] == c + 32))
			return i;
	return -1;
}

/* TS 23.040 9.1.2.5: address length in digits, type of address, semi-octets (F-padded). */
apdu_err sms_addr_put(abuf *b, const sms_addr *a)
{
	size_t n = strnlen(a->digits, sizeof(a->digits));
	uint8_t tmp[2 + SMS_MAX_ADDR_DIGITS / 2];
	if (n > SMS_MAX_ADDR_DIGITS)
		return APDU_E_BAD_LENGTH;
	tmp[0] = (uint8_t)n;
	tmp[1] = a->toa;
	for (size_t i = 0; i < (n + 1) / 2; i++) {
		int lo = bcd_value(a->digits[2 * i]);
		int hi = 2 * i + 1 < n ? bcd_value(a->digits[2 * i + 1]) : 0x0f;
		if (lo < 0 || hi < 0)
			return APDU_E_HEX_DIGIT;
		tmp[2 + i] = (uint8_t)((hi << 4) | lo);
	}
	return abuf_put(b, tmp, 2 + (n + 1) / 2);
}

apdu_err sms_addr_read(acur *c, sms_addr *out)
{
	acur w = *c;
	uint8_t n, toa;
	const uint8_t *p;
	sms_addr a;
	apdu_err e;
	if ((e = acur_u8(&w, &n)) || (e = acur_u8(&w, &toa)))
		return APDU_E_TRUNC_HEADER;
	if (n > SMS_MAX_ADDR_DIGITS)
		return APDU_E_BAD_LENGTH;
	if ((e = acur_take(&w, ((size_t)n + 1) / 2, &p)))
		return e;
	if ((toa & 0x70) == 0x50)
		return APDU_E_UNSUPPORTED; /* alphanumeric (GSM 7-bit) addresses */
	a.toa = toa;
	for (size_t i = 0; i < n; i++) {
		uint8_t d = (i % 2 == 0) ? (p[i / 2] & 0x0f) : (p[i / 2] >> 4);
		if (d == 0x0f)
			return APDU_E_HEX_DIGIT;
		a.digits[i] = sms_bcd_digits[d];
	}
	a.digits[n] = '\0';
	if (n % 2 && (p[n / 2] >> 4) != 0x0f)
		return APDU_E_HEX_DIGIT;
	*out = a;
	*c = w;
	return APDU_OK;
}

/* TS 23.038 4: 8-bit data in the general coding group (00xx with b3..b2 = 01) or the data coding /
 * message class group (1111, b3 = 1). */
static bool dcs_is_8bit(uint8_t dcs)
{
	if ((dcs & 0xf0) == 0xf0)
		return (dcs & 0x04) != 0;
	if ((dcs & 0xc0) == 0x00)
		return (dcs & 0x20) == 0 && (dcs & 0x0c) == 0x04;
	return false;
}

apdu_err sms_deliver_build(const sms_deliver *d, abuf *out)
{
	if ((d->first_octet & 0x03) != 0x00)
		return APDU_E_INVAL;
	if (d->ud_len > SMS_MAX_UD)
		return APDU_E_BAD_LENGTH;
	if (!dcs_is_8bit(d->dcs))
		return APDU_E_UNSUPPORTED;
	abuf t = ABUF_INIT;
	abuf_put_u8(&t, d->first_octet);
	sms_addr_put(&t, &d->oa);
	abuf_put_u8(&t, d->pid);
	abuf_put_u8(&t, d->dcs);
	abuf_put(&t, d->scts, 7);
	abuf_put_u8(&t, (uint8_t)d->ud_len);
	abuf_put(&t, d->ud, d->ud_len);
	apdu_err e = t.err ? t.err : abuf_put(out, t.p, t.len);
	abuf_free(&t);
	return e;
}

static apdu_err read_ud(acur *c, uint8_t dcs, const uint8_t **ud, size_t *ud_len)
{
	uint8_t udl;
	if (!dcs_is_8bit(dcs))
		return APDU_E_UNSUPPORTED;
	if (acur_u8(c, &udl))
		return APDU_E_TRUNC_HEADER;
	if (udl > SMS_MAX_UD)
		return APDU_E_BAD_LENGTH;
	if (udl > c->len)
		return APDU_E_TRUNC_VALUE;
	if (udl < c->len)
		return APDU_E_TRAILING;
	*ud = c->p;
	*ud_len = udl;
	c->p += udl;
	c->len -= udl;
	return APDU_OK;
}

apdu_err sms_deliver_parse(const uint8_t *in, size_t len, sms_deliver *out)
{
	acur c = acur_make(in, len);
	sms_deliver d;
	apdu_err e;
	memset(&d, 0, sizeof(d));
	if (acur_u8(&c, &d.first_octet))
		return APDU_E_TRUNC_HEADER;
	if ((d.first_octet & 0x03) != 0x00)
		return APDU_E_BAD_TAG; /* not an SMS-DELIVER */
	if ((e = sms_addr_read(&c, &d.oa)))
		return e;
	if (acur_u8(&c, &d.pid) || acur_u8(&c, &d.dcs) || acur_copy(&c, d.scts, 7))
		return APDU_E_TRUNC_HEADER;
	if ((e = read_ud(&c, d.dcs, &d.ud, &d.ud_len)))
		return e;
	*out = d;
	return APDU_OK;
}

apdu_err sms_submit_build(const sms_submit *s, abuf *out)
{
	if ((s->first_octet & 0x03) != 0x01 || (s->first_octet & 0x18))
		return APDU_E_INVAL;
	if (s->ud_len > SMS_MAX_UD)
		return APDU_E_BAD_LENGTH;
	if (!dcs_is_8bit(s->dcs))
		return APDU_E_UNSUPPORTED;
	abuf t = ABUF_INIT;
	abuf_put_u8(&t, s->first_octet);
	abuf_put_u8(&t, s->mr);
	sms_addr_put(&t, &s->da);
	abuf_put_u8(&t, s->pid);
	abuf_put_u8(&t, s->dcs);
	abuf_put_u8(&t, (uint8_t)s->ud_len);
	abuf_put(&t, s->ud, s->ud_len);
	apdu_err e = t.err ? t.err : abuf_put(out, t.p, t.len);
	abuf_free(&t);
	return e;
}

apdu_err sms_submit_parse(const uint8_t *in, size_t len, sms_submit *out)
{
	acur c = acur_make(in, len);
	sms_submit s;
	apdu_err e;
	memset(&s, 0, sizeof(s));
	if (acur_u8(&c, &s.first_octet) || acur_u8(&c, &s.mr))
		return APDU_E_TRUNC_HEADER;
	if ((s.first_octet & 0x03) != 0x01)
		return APDU_E_BAD_TAG;
	if ((e = sms_addr_read(&c, &s.da)))
		return e;
	if (acur_u8(&c, &s.pid) || acur_u8(&c, &s.dcs))
		return APDU_E_TRUNC_HEADER;
	/* TS 23.040 9.2.3.3: VPF 10 relative (1 octet), 01 enhanced / 11 absolute (7 octets) */
	size_t vp = 0;
	switch ((s.first_octet >> 3) & 3) {
	case 2: vp = 1; break;
	case 1:
	case 3: vp = 7; break;
	}
	const uint8_t *skip;
	if (acur_take(&c, vp, &skip))
		return APDU_E_TRUNC_HEADER;
	if ((e = read_ud(&c, s.dcs, &s.ud, &s.ud_len)))
		return e;
	*out = s;
	return APDU_OK;
}

apdu_err sms_udh_parse(const uint8_t *ud, size_t len, sms_udh *out)
{
	sms_udh u;
	memset(&u, 0, sizeof(u));
	if (len < 1)
		return APDU_E_TRUNC_HEADER;
	size_t udhl = ud[0];
	if (1 + udhl > len)
		return APDU_E_TRUNC_VALUE;
	acur c = acur_make(ud + 1, udhl);
	while (c.len) {
		uint8_t iei, l;
		const uint8_t *v;
		if (acur_u8(&c, &iei) || acur_u8(&c, &l))
			return APDU_E_TRUNC_HEADER;
		if (acur_take(&c, l, &v))
			return APDU_E_TRUNC_VALUE;
		if (u.n >= SMS_UDH_MAX_IES)
			return APDU_E_NOMEM;
		u.ie[u.n].iei = iei;
		u.ie[u.n].value = v;
		u.ie[u.n].len = l;
		u.n++;
	}
	u.payload = ud + 1 + udhl;
	u.payload_len = len - 1 - udhl;
	*out = u;
	return APDU_OK;
}

const sms_udh_ie *sms_udh_find(const sms_udh *u, uint8_t iei)
{
	for (size_t i = 0; i < u->n; i++)
		if (u->ie[i].iei == iei)
			return &u->ie[i];
	return NULL;
}

apdu_err sms_split_command_packet(const uint8_t *pkt, size_t len, uint8_t ref, abuf parts[SMS_MAX_PARTS],
				  size_t *n_parts)
{
	return sms_split_packet(SMS_IEI_CMD_PACKET, pkt, len, ref, parts, n_parts);
}

apdu_err sms_split_packet(uint8_t iei, const uint8_t *pkt, size_t len, uint8_t ref, abuf parts[SMS_MAX_PARTS],
			  size_t *n_parts)
{
	const uint8_t single_udh[] = { 0x02, iei, 0x00 };
	if (len + sizeof(single_udh) <= SMS_MAX_UD) {
		abuf_reset(&parts[0]);
		abuf_put(&parts[0], single_udh, sizeof(single_udh));
		abuf_put(&parts[0], pkt, len);
		if (parts[0].err)
			return parts[0].err;
		*n_parts = 1;
		return APDU_OK;
	}
	const size_t first_room = SMS_MAX_UD - 8, other_room = SMS_MAX_UD - 6;
	size_t n = 1 + (len > first_room ? (len - first_room + other_room - 1) / other_room : 0);
	if (n > SMS_MAX_PARTS || n > 255)
		return APDU_E_NOMEM;
	size_t off = 0;
	for (size_t i = 0; i < n; i++) {
		abuf *p = &parts[i];
		abuf_reset(p);
		size_t room = i == 0 ? first_room : other_room;
		size_t take = len - off < room ? len - off : room;
		if (i == 0) {
			uint8_t h[8] = { 0x07, iei, 0x00, 0x00, 0x03, ref, (uint8_t)n, 1 };
			abuf_put(p, h, sizeof(h));
		} else {
			uint8_t h[6] = { 0x05, 0x00, 0x03, ref, (uint8_t)n, (uint8_t)(i + 1) };
			abuf_put(p, h, sizeof(h));
		}
		abuf_put(p, pkt + off, take);
		if (p->err)
			return p->err;
		off += take;
	}
	*n_parts = n;
	return APDU_OK;
}

void sms_reassembly_init(sms_reassembly *r)
{
	memset(r, 0, sizeof(*r));
}

void sms_reassembly_free(sms_reassembly *r)
{
	for (size_t i = 0; i < SMS_MAX_PARTS; i++)
		abuf_free(&r->part[i]);
	sms_reassembly_init(r);
}

apdu_err sms_reassembly_feed(sms_reassembly *r, const uint8_t *ud, size_t len, bool *complete, abuf *out)
{
	sms_udh u;
	*complete = false;
	apdu_err e = sms_udh_parse(ud, len, &u);
	if (e)
		return e;
	const sms_udh_ie *c8 = sms_udh_find(&u, SMS_IEI_CONCAT8), *c16 = sms_udh_find(&u, SMS_IEI_CONCAT16);
	bool cpi = sms_udh_find(&u, SMS_IEI_CMD_PACKET) != NULL;
	uint16_t ref;
	uint8_t total, seq;
	if (c8) {
		if (c8->len != 3)
			return APDU_E_BAD_LENGTH;
		ref = c8->value[0];
		total = c8->value[1];
		seq = c8->value[2];
	} else if (c16) {
		if (c16->len != 4)
			return APDU_E_BAD_LENGTH;
		ref = (uint16_t)((c16->value[0] << 8) | c16->value[1]);
		total = c16->value[2];
		seq = c16->value[3];
	} else {
		/* a single SMS */
		e = abuf_put(out, u.payload, u.payload_len);
		if (!e)
			*complete = true;
		return e;
	}
	if (total == 0 || total > SMS_MAX_PARTS || seq == 0 || seq > total)
		return APDU_E_BAD_LENGTH;
	if (r->active && (r->ref != ref || r->total != total)) {
		/* a new message replaces an unfinished one: the old one can never complete */
		sms_reassembly_free(r);
	}
	if (!r->active) {
		r->active = true;
		r->ref = ref;
		r->total = total;
		r->have = 0;
		r->has_cpi = false;
	}
	uint32_t bit = 1u << (seq - 1);
	if (r->have & bit)
		return APDU_E_INVAL; /* duplicate part */
	abuf_reset(&r->part[seq - 1]);
	if ((e = abuf_put(&r->part[seq - 1], u.payload, u.payload_len)))
		return e;
	r->have |= bit;
	if (seq == 1)
		r->has_cpi = cpi;
	uint32_t all = total == 32 ? 0xffffffffu : ((1u << total) - 1);
	if (r->have != all)
		return APDU_OK;
	abuf whole = ABUF_INIT;
	for (size_t i = 0; i < total; i++)
		abuf_put(&whole, r->part[i].p, r->part[i].len);
	e = whole.err ? whole.err : abuf_put(out, whole.p, whole.len);
	abuf_free(&whole);
	if (!e) {
		*complete = true;
		bool had_cpi = r->has_cpi;
		sms_reassembly_free(r);
		r->has_cpi = had_cpi;
	}
	return e;
}

/* TS 102 223 8.7 device identities, 8.1 address, 8.13 SMS TPDU; CR set as TS 31.111 7.1.1.2 shows */
#define CTLV_DEVICE_IDENTITIES 0x02
#define CTLV_ADDRESS	       0x06
#define CTLV_SMS_TPDU	       0x0B
#define BER_SMS_PP_DOWNLOAD    0xD1
#define DEV_NETWORK	       0x83
#define DEV_UICC	       0x81

apdu_err sms_pp_envelope_build(const uint8_t *address, size_t address_len, const uint8_t *tpdu, size_t tpdu_len,
			       abuf *out)
{
	static const uint8_t ids[2] = { DEV_NETWORK, DEV_UICC };
	abuf body = ABUF_INIT, d1 = ABUF_INIT;
	ctlv_put(&body, CTLV_DEVICE_IDENTITIES, true, ids, 2);
	if (address && address_len)
		ctlv_put(&body, CTLV_ADDRESS, true, address, address_len);
	ctlv_put(&body, CTLV_SMS_TPDU, true, tpdu, tpdu_len);
	tlv_put(&d1, BER_SMS_PP_DOWNLOAD, body.p, body.len);
	apdu_err e = body.err ? body.err : d1.err;
	if (!e && d1.len > 255)
		e = APDU_E_BAD_LENGTH;
	if (!e && !(e = abuf_reserve(out, 5 + d1.len))) {
		uint8_t hdr[5] = { 0x80, 0xC2, 0x00, 0x00, (uint8_t)d1.len };
		abuf_put(out, hdr, 5);
		abuf_put(out, d1.p, d1.len);
	}
	abuf_free(&body);
	abuf_free(&d1);
	return e;
}

apdu_err sms_pp_envelope_parse(const uint8_t *data, size_t len, sms_pp_envelope *out)
{
	tlv t;
	apdu_err e = tlv_parse_one(data, len, &t);
	if (e)
		return e;
	if (t.tag != BER_SMS_PP_DOWNLOAD)
		return APDU_E_BAD_TAG;
	sms_pp_envelope env;
	memset(&env, 0, sizeof(env));
	bool have_ids = false, have_tpdu = false;
	acur c = acur_make(t.value, t.len);
	while (c.len) {
		ctlv item;
		if ((e = ctlv_next(&c, &item)))
			return e;
		switch (item.tag) {
		case CTLV_DEVICE_IDENTITIES:
			if (item.len != 2)
				return APDU_E_BAD_LENGTH;
			env.src = item.value[0];
			env.dst = item.value[1];
			have_ids = true;
			break;
		case CTLV_ADDRESS:
			env.address = item.value;
			env.address_len = item.len;
			break;
		case CTLV_SMS_TPDU:
			env.tpdu = item.value;
			env.tpdu_len = item.len;
			have_tpdu = true;
			break;
		default:
			/* TS 102 223 6.6: unknown data objects with CR set make the command fail */
			if (item.cr)
				return APDU_E_BAD_TAG;
		}
	}
	if (!have_ids || !have_tpdu)
		return APDU_E_BAD_TAG;
	*out = env;
	return APDU_OK;
}
