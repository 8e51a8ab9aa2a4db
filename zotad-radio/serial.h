/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_SERIAL_H
#define ZOTAD_RADIO_SERIAL_H

/*
 * The serial link to the adapter, non-blocking in the libevent loop.
 * Real serial ports are opened with libserialport; pseudo terminals
 * (the simulator, socat or ser2net bridges), which libserialport cannot
 * open, with termios. When the adapter goes away (USB unplugged, pty
 * closed) the link says so once and reopens the port with back-off
 * until it is back.
 */

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#define SERIAL_BACKOFF_MIN_MS	250
#define SERIAL_BACKOFF_MAX_MS	10000
#define SERIAL_OUT_MAX		(64 * 1024)	/* bytes queued for writing */

struct serial;

struct serial_cbs {
	void	(*data)(const uint8_t *buf, size_t len, void *arg);
	void	(*up)(void *arg);	/* the port is open */
	void	(*down)(void *arg);	/* the port went away */
};

/*
 * A link on BASE to PATH (NULL: look for a known adapter among the USB
 * serial ports) at BAUD with hardware flow control when RTSCTS is set.
 * Nothing is opened until serial_start.
 */
struct serial *serial_new(struct event_base *base, const char *path,
	    int baud, int rtscts, const struct serial_cbs *cbs, void *arg);

/*
 * Open the port now; on failure log it once and keep retrying with
 * back-off. Returns 0 when the port is open, -1 when a retry is pending.
 */
int	serial_start(struct serial *s);

/* Queue LEN bytes. Returns 0, or -1 when the link is down or full. */
int	serial_write(struct serial *s, const void *buf, size_t len);

/* Whether the port is open. */
int	serial_is_up(const struct serial *s);

/* The port's path, as configured or found. */
const char *serial_path(const struct serial *s);

/* Whether the port is a pseudo terminal rather than a real port. */
int	serial_is_pty(const struct serial *s);

/*
 * Pulse RTS with DTR low, which resets CC2652-style sticks out of their
 * bootloader; nothing for pseudo terminals. Returns 0 or -1.
 */
int	serial_reset_lines(struct serial *s);

/* Treat the port as gone: close it and start the reopen back-off. */
void	serial_drop(struct serial *s, const char *why);

void	serial_free(struct serial *s);

/*
 * Look for a known Zigbee adapter among the serial ports by USB vendor
 * and product id. Returns a new string, or NULL when none is found.
 */
char	*serial_find_adapter(void);

#endif
