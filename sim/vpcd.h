/* The vpcd link (vsmartcard's virtual reader driver, PROTOCOL.md §9): the card is the TCP client of the
 * reader; frames are a 2-byte big-endian length and a payload. A 1-byte payload is a control code. */
#ifndef EUICC_VPCD_H
#define EUICC_VPCD_H

#include <stddef.h>
#include <stdint.h>

#define VPCD_CTRL_OFF 0x00
#define VPCD_CTRL_ON 0x01
#define VPCD_CTRL_RESET 0x02
#define VPCD_CTRL_ATR 0x04
#define VPCD_DEFAULT_PORT 35963

/* Connects with TCP_NODELAY; -1 with errno on failure. */
int vpcd_connect(const char *host, int port);
/* Reads one frame (blocking); returns its length, 0 on orderly close, -1 on error or oversize. */
long vpcd_read_frame(int fd, uint8_t *buf, size_t cap);
int vpcd_write_frame(int fd, const uint8_t *buf, size_t len);
/* Parses HOST:PORT (or :PORT, or PORT). */
int vpcd_parse_addr(const char *s, char *host, size_t host_len, int *port);

#endif
