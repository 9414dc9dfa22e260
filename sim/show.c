/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What a card shows about itself: the EIS an SM-SR imports, and the summary of `euicc-sim show`. */
#include <stdlib.h>
#include <string.h>

#include "apdu/hex.h"
#include "euicc_int.h"

/* hex as a JSON string; the text is wiped (it may hold keys) */
json_t *euicc_hexj(const uint8_t *p, size_t len)
{
	char *s = hex_encode_alloc(p, len);
	json_t *j = json_string(s ? s : "");
	if (s) {
		crypto_wipe(s, strlen(s));
		free(s);
	}
	return j;
}

/* SAIP header ICCID: plain BCD, 'F' padded */
static json_t *iccid_json(const nvm_profile *p)
{
	if (!p->has_iccid)
		return json_null();
	char d[21];
	size_t n = 0;
	for (size_t i = 0; i < 20; i++) {
		uint8_t nib = (i % 2 == 0) ? (p->iccid[i / 2] >> 4) : (p->iccid[i / 2] & 0x0f);
		if (nib > 9)
			break;
		d[n++] = (char)('0' + nib);
	}
	d[n] = '\0';
	return json_string(d);
}

json_t *euicc_notifs_json(const euicc_nvm *n)
{
	json_t *ns = json_array();
	for (int i = 0; i < EUICC_MAX_NOTIFS; i++) {
		const nvm_notif *t = &n->notifs[i];
		if (t->used)
			json_array_append_new(ns,
					      json_pack("{s:i,s:i,s:o}", "seq", t->seq, "type", t->type, "aid",
							euicc_hexj(t->aid, 16)));
	}
	return ns;
}

static json_t *keysets_json(const euicc_nvm *n, bool secrets)
{
	json_t *a = json_array();
	for (int i = 0; i < EUICC_MAX_KEYSETS; i++) {
		const nvm_keyset *k = &n->keysets[i];
		if (!k->used)
			continue;
		json_t *j = json_pack(
			"{s:i,s:o,s:o,s:o}", "kvn", k->kvn, "kic", json_pack("{s:i}", "algorithm", k->kic_alg), "kid",
			json_pack("{s:i}", "algorithm", k->kid_alg), "counter", euicc_hexj(k->counter, 5));
		if (secrets) {
			json_object_set_new(json_object_get(j, "kic"), "key", euicc_hexj(k->kic, k->key_len));
			json_object_set_new(json_object_get(j, "kid"), "key", euicc_hexj(k->kid, k->key_len));
		}
		json_array_append_new(a, j);
	}
	return a;
}

json_t *euicc_eis(const euicc_card *c)
{
	const euicc_nvm *n = &c->nvm;
	json_t *o = json_object();
	char tar[7];
	snprintf(tar, sizeof(tar), "%06x", PROTO_TAR_ISDR);
	json_object_set_new(o, "format", json_string("euicc-bench-eis"));
	json_object_set_new(o, "version", json_integer(1));
	json_object_set_new(o, "eid", euicc_hexj(n->eid, 16));
	json_object_set_new(o, "isd_r", json_pack("{s:s,s:s}", "aid", "a0000005591010ffffffff8900000100", "tar", tar));
	json_object_set_new(o, "ecasd",
			    json_pack("{s:s,s:o,s:o,s:i}", "aid", "a0000005591010ffffffff8900000200", "certificate",
				      euicc_hexj(n->ecasd_cert, n->ecasd_cert_len), "eum_certificate",
				      euicc_hexj(n->eum_cert, n->eum_cert_len), "curve", n->curve));
	json_object_set_new(o, "ota_keysets", keysets_json(n, true));
	json_object_set_new(o, "mo_counter", euicc_hexj(n->mo_counter, 5));
	json_object_set_new(o, "smsr_msisdn", json_string(n->smsr.digits));
	json_object_set_new(o, "max_profiles", json_integer(EUICC_MAX_PROFILES));
	return o;
}

json_t *euicc_show(const euicc_card *c, bool secrets)
{
	const euicc_nvm *n = &c->nvm;
	json_t *o = json_object();
	json_object_set_new(o, "eid", euicc_hexj(n->eid, 16));
	json_t *ps = json_array();
	int used = 0;
	for (int i = 0; i < EUICC_MAX_PROFILES; i++) {
		const nvm_profile *p = &n->profiles[i];
		if (!p->used)
			continue;
		used++;
		json_t *j = json_pack("{s:o,s:o,s:s,s:b,s:b,s:i,s:i}", "aid", euicc_hexj(p->aid, 16), "iccid",
				      iccid_json(p), "state", proto_isdp_state_name(p->state), "fallback", p->fallback,
				      "emergency", p->emergency, "pol1", p->pol1, "package_bytes", (int)p->package_len);
		json_object_set_new(j, "keys", json_boolean(p->has_keys));
		if (secrets && p->has_keys)
			json_object_set_new(j, "scp03_key", euicc_hexj(p->scp03_key, 16));
		json_array_append_new(ps, j);
	}
	json_object_set_new(o, "profiles", ps);
	json_object_set_new(o, "free_slots", json_integer(EUICC_MAX_PROFILES - used));
	json_object_set_new(o, "notifications", euicc_notifs_json(n));
	json_object_set_new(o, "keysets", keysets_json(n, secrets));
	json_object_set_new(o, "mo_counter", euicc_hexj(n->mo_counter, 5));
	json_object_set_new(o, "smsr_msisdn", json_string(n->smsr.digits));
	json_object_set_new(o, "fallback_threshold", json_integer(n->fallback_threshold));
	if (secrets)
		json_object_set_new(o, "ecasd_sk", euicc_hexj(n->ecasd_sk, 32));
	return o;
}
