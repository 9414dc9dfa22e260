/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The PINs and PUKs of the enabled profile (TS 102 221 11.1.9 - 11.1.13): VERIFY, CHANGE, DISABLE, ENABLE,
 * UNBLOCK; each try counted in the NVM before the value is compared. The counters live in the profile. */
#include <string.h>

#include "apdu/crypto.h"
#include "euicc_int.h"

/* the enabled profile, whose file system the PINs guard */
static nvm_profile *prof(euicc_card *c)
{
	return &c->nvm.profiles[c->fs.profile];
}

int pin_index(euicc_card *c, uint8_t ref)
{
	nvm_profile *p = prof(c);
	for (int i = 0; i < EUICC_MAX_PINS; i++)
		if (p->pins[i].used && p->pins[i].ref == ref)
			return i;
	return -1;
}

bool pin_satisfied(euicc_card *c, uint8_t ref)
{
	int i = pin_index(c, ref);
	if (i < 0)
		return false;
	return c->fs.pin_verified[i] || !prof(c)->pins[i].enabled;
}

static bool pin_format_ok(const uint8_t *v)
{
	size_t n = 0;
	while (n < 8 && v[n] >= '0' && v[n] <= '9')
		n++;
	for (size_t i = n; i < 8; i++)
		if (v[i] != 0xFF)
			return false;
	return n >= 4;
}

/* One presentation of a PIN or PUK value: 9000, or 63Cx with the counter down by one. As on a real
 * card the try is counted in the NVM before the value is compared: a card whose NVM cannot be written
 * answers 6581 without comparing, so no guess goes uncounted (the counter is never given back by an
 * undo). The right value then restores the counter with the command's own commit. */
static eu_status present(euicc_card *c, nvm_pin *p, const uint8_t *v)
{
	if (!p->left)
		return EU_PIN_BLOCKED;
	p->left--;
	if (euicc_commit_now(c)) {
		p->left++;
		return EU_MEMORY_FAILURE;
	}
	if (!crypto_equal(p->value, v, 8)) {
		c->fs.pin_left = p->left;
		return EU_PIN_WRONG;
	}
	p->left = p->max;
	return EU_OK;
}

eu_status pin_command(euicc_card *c, const capdu *a)
{
	nvm_profile *pr = prof(c);
	bool p1_ok = a->p1 == 0x00 || (a->ins == 0x26 && a->p1 == 0x80);
	if (!p1_ok)
		return EU_WRONG_P1P2;
	int i = pin_index(c, a->p2);
	if (i < 0)
		return EU_NOT_FOUND; /* 6A88: no such key reference */
	nvm_pin *p = &pr->pins[i];
	eu_status st;
	switch (a->ins) {
	case 0x20: /* VERIFY */
		if (a->lc == 0) {
			if (!p->left)
				return EU_PIN_BLOCKED;
			if (c->fs.pin_verified[i] || !p->enabled)
				return EU_OK;
			c->fs.pin_left = p->left;
			return EU_PIN_WRONG;
		}
		if (a->lc != 8)
			return EU_WRONG_LENGTH;
		st = present(c, p, a->data);
		c->fs.pin_verified[i] = st == EU_OK;
		return st;
	case 0x24: /* CHANGE PIN: old ‖ new */
		if (a->lc != 16)
			return EU_WRONG_LENGTH;
		if (!p->enabled)
			return EU_PIN_INVALIDATED;
		if (!pin_format_ok(a->data + 8))
			return EU_WRONG_DATA;
		st = present(c, p, a->data);
		if (st == EU_OK) {
			memcpy(p->value, a->data + 8, 8);
			c->fs.pin_verified[i] = true;
		} else {
			c->fs.pin_verified[i] = false;
		}
		return st;
	case 0x26: /* DISABLE */
	case 0x28: /* ENABLE */
		if (a->lc != 8)
			return EU_WRONG_LENGTH;
		if (a->ins == 0x26 && !(p->attrs & BENCH_SAIP_PIN_ATTR_DISABLE_ALLOWED))
			return EU_CONDITIONS;
		if ((a->ins == 0x26) != p->enabled)
			return EU_CONDITIONS; /* already disabled / enabled */
		st = present(c, p, a->data);
		if (st == EU_OK) {
			p->enabled = a->ins == 0x28;
			c->fs.pin_verified[i] = true;
		}
		return st;
	case 0x2C: { /* UNBLOCK PIN: PUK ‖ new PIN */
		nvm_pin *u = NULL;
		for (int k = 0; k < EUICC_MAX_PUKS; k++)
			if (pr->puks[k].used && p->unblock_ref && pr->puks[k].ref == p->unblock_ref)
				u = &pr->puks[k];
		if (!u)
			return EU_CONDITIONS; /* this PIN has no PUK */
		if (a->lc == 0) {
			if (!u->left)
				return EU_PIN_BLOCKED;
			c->fs.pin_left = u->left;
			return EU_PIN_WRONG;
		}
		if (a->lc != 16)
			return EU_WRONG_LENGTH;
		if (!pin_format_ok(a->data + 8))
			return EU_WRONG_DATA;
		st = present(c, u, a->data);
		if (st == EU_OK) {
			memcpy(p->value, a->data + 8, 8);
			p->left = p->max;
			p->enabled = true;
			c->fs.pin_verified[i] = true;
		}
		return st;
	}
	}
	return EU_INS;
}

const nvm_pin *pin_find(euicc_card *c, uint8_t ref)
{
	int i = pin_index(c, ref);
	return i < 0 ? NULL : &prof(c)->pins[i];
}

eu_status pin_verify(euicc_card *c, uint8_t ref, const uint8_t value[8])
{
	int i = pin_index(c, ref);
	if (i < 0)
		return EU_NOT_FOUND;
	nvm_pin *p = &prof(c)->pins[i];
	if (!p->enabled)
		return EU_PIN_INVALIDATED;
	eu_status st = present(c, p, value);
	c->fs.pin_verified[i] = st == EU_OK;
	return st;
}
