/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Transports to a card: PC/SC (any reader, vpcd or USB) and in-process (links libeuicc). */
#ifndef SMSR_LINK_H
#define SMSR_LINK_H

#include "host/adapter.h"
#include "host/capture.h"

typedef struct smsr_link smsr_link;

/* reader: a name substring or an index ("0", "1", ...) */
int link_open_pcsc(const char *reader, smsr_link **out, char *why, size_t why_len);
int link_open_inproc(const char *state_file, smsr_link **out, char *why, size_t why_len);
/* An endpoint as the fleet stores it: pcsc:READER, inproc:STATE_FILE, farm:DIR#INDEX (host/farm.h) */
int link_open_uri(const char *uri, smsr_link **out, char *why, size_t why_len);
/* Whether uri is an endpoint link_open_uri understands (its card is not opened); -1 with why */
int link_check_uri(const char *uri, char *why, size_t why_len);
dev_transport link_transport(smsr_link *l);
const char *link_name(const smsr_link *l);
/* the protocol the reader and card agreed: 0 T=0, 1 T=1, -1 in-process (no T=0 rules) */
int link_protocol(const smsr_link *l);
/* the card's ATR as it is now (its length; 0 when none can be read) */
size_t link_atr(smsr_link *l, uint8_t *out, size_t cap);
/* the link's transport recorded into c as card (its ATR now and after each reset) through tap, which
 * lives as long as the transport; c NULL: the transport itself */
dev_transport link_captured(smsr_link *l, capture *c, unsigned card, capture_tap *tap);
void link_close(smsr_link *l);

#endif
