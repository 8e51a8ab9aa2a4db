/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <libserialport.h>

#include "log.h"
#include "serial.h"

struct serial {
	struct event_base	*base;
	char			*path;
	int			 baud;
	int			 rtscts;
	struct serial_cbs	 cbs;
	void			*arg;

	int			 fd;
	struct sp_port		*port;	/* NULL for a pseudo terminal */
	struct event		*rd_ev;
	struct event		*wr_ev;
	struct event		*retry_ev;
	struct evbuffer		*out;
	int			 backoff_ms;
	int			 failing;	/* a failure was logged */
};

/* USB ids of Z-Stack sticks users plug in. */
static const struct {
	int	 vid;
	int	 pid;
} serial_known[] = {
	{ 0x0451, 0x16a8 },	/* TI CC2531 */
	{ 0x10c4, 0xea60 },	/* Silicon Labs CP210x (Sonoff P, slae.sh) */
	{ 0x1a86, 0x55d4 },	/* WCH CH9102 */
	{ 0x1a86, 0x7523 },	/* WCH CH340 */
	{ 0x0403, 0x6015 },	/* FTDI FT231X (zzh) */
};

static void	serial_read_cb(evutil_socket_t, short, void *);
static void	serial_write_cb(evutil_socket_t, short, void *);
static void	serial_retry_cb(evutil_socket_t, short, void *);

struct serial *
serial_new(struct event_base *base, const char *path, int baud, int rtscts,
    const struct serial_cbs *cbs, void *arg)
{
	struct serial	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->base = base;
	s->baud = baud;
	s->rtscts = rtscts;
	s->cbs = *cbs;
	s->arg = arg;
	s->fd = -1;
	s->backoff_ms = SERIAL_BACKOFF_MIN_MS;
	s->out = evbuffer_new();
	s->retry_ev = evtimer_new(base, serial_retry_cb, s);
	if (path != NULL)
		s->path = strdup(path);
	if (s->out == NULL || s->retry_ev == NULL ||
	    (path != NULL && s->path == NULL)) {
		serial_free(s);
		return (NULL);
	}
	return (s);
}

static speed_t
serial_speed(int baud)
{
	switch (baud) {
	case 9600:	return (B9600);
	case 19200:	return (B19200);
	case 38400:	return (B38400);
	case 57600:	return (B57600);
	case 230400:	return (B230400);
	case 460800:	return (B460800);
	case 921600:	return (B921600);
	default:	return (B115200);
	}
}

/* A pseudo terminal, or any tty libserialport will not take. */
static int
serial_open_termios(struct serial *s)
{
	struct termios	 t;
	int		 fd;

	if ((fd = open(s->path, O_RDWR | O_NOCTTY | O_NONBLOCK |
	    O_CLOEXEC)) == -1)
		return (-1);
	if (tcgetattr(fd, &t) == -1) {
		close(fd);
		return (-1);
	}
	cfmakeraw(&t);
	cfsetispeed(&t, serial_speed(s->baud));
	cfsetospeed(&t, serial_speed(s->baud));
	t.c_cflag |= CLOCAL | CREAD;
	if (s->rtscts)
		t.c_cflag |= CRTSCTS;
	else
		t.c_cflag &= ~CRTSCTS;
	if (tcsetattr(fd, TCSANOW, &t) == -1) {
		close(fd);
		return (-1);
	}
	s->fd = fd;
	return (0);
}

static int
serial_open_sp(struct serial *s)
{
	struct sp_port	*p;
	int		 fd;

	if (sp_get_port_by_name(s->path, &p) != SP_OK)
		return (-1);
	if (sp_open(p, SP_MODE_READ_WRITE) != SP_OK ||
	    sp_set_baudrate(p, s->baud) != SP_OK ||
	    sp_set_bits(p, 8) != SP_OK ||
	    sp_set_parity(p, SP_PARITY_NONE) != SP_OK ||
	    sp_set_stopbits(p, 1) != SP_OK ||
	    sp_set_flowcontrol(p, s->rtscts ? SP_FLOWCONTROL_RTSCTS :
	    SP_FLOWCONTROL_NONE) != SP_OK ||
	    sp_get_port_handle(p, &fd) != SP_OK) {
		sp_close(p);
		sp_free_port(p);
		errno = EIO;
		return (-1);
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == -1) {
		sp_close(p);
		sp_free_port(p);
		return (-1);
	}
	s->port = p;
	s->fd = fd;
	return (0);
}

static int
serial_open(struct serial *s)
{
	char	*found;

	if (s->path == NULL) {
		if ((found = serial_find_adapter()) == NULL) {
			errno = ENODEV;
			return (-1);
		}
		s->path = found;
		log_info("found an adapter at %s", s->path);
	}
	/* libserialport looks ports up in sysfs, where ptys are absent. */
	if (serial_open_sp(s) == -1 && serial_open_termios(s) == -1)
		return (-1);
	s->rd_ev = event_new(s->base, s->fd, EV_READ | EV_PERSIST,
	    serial_read_cb, s);
	s->wr_ev = event_new(s->base, s->fd, EV_WRITE, serial_write_cb, s);
	if (s->rd_ev == NULL || s->wr_ev == NULL ||
	    event_add(s->rd_ev, NULL) == -1) {
		serial_drop(s, "out of memory");
		errno = ENOMEM;
		return (-1);
	}
	return (0);
}

static void
serial_close(struct serial *s)
{
	if (s->rd_ev != NULL)
		event_free(s->rd_ev);
	if (s->wr_ev != NULL)
		event_free(s->wr_ev);
	s->rd_ev = s->wr_ev = NULL;
	if (s->port != NULL) {
		sp_close(s->port);
		sp_free_port(s->port);
		s->port = NULL;
	} else if (s->fd != -1)
		close(s->fd);
	s->fd = -1;
	evbuffer_drain(s->out, evbuffer_get_length(s->out));
}

static void
serial_schedule_retry(struct serial *s)
{
	struct timeval	 tv;

	tv.tv_sec = s->backoff_ms / 1000;
	tv.tv_usec = (s->backoff_ms % 1000) * 1000;
	evtimer_add(s->retry_ev, &tv);
	s->backoff_ms *= 2;
	if (s->backoff_ms > SERIAL_BACKOFF_MAX_MS)
		s->backoff_ms = SERIAL_BACKOFF_MAX_MS;
}

int
serial_start(struct serial *s)
{
	if (s->fd != -1)
		return (0);
	if (serial_open(s) == -1) {
		/* Once per outage, not once per attempt. */
		if (!s->failing)
			log_warn("serial port %s", s->path != NULL ? s->path :
			    "(none found)");
		s->failing = 1;
		serial_schedule_retry(s);
		return (-1);
	}
	if (s->failing)
		log_info("serial port %s is back", s->path);
	else
		log_info("serial port %s open at %d baud", s->path, s->baud);
	s->failing = 0;
	s->backoff_ms = SERIAL_BACKOFF_MIN_MS;
	if (s->cbs.up != NULL)
		s->cbs.up(s->arg);
	return (0);
}

static void
serial_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	serial_start(arg);
}

void
serial_drop(struct serial *s, const char *why)
{
	int	 was_up = s->fd != -1;

	serial_close(s);
	if (!was_up)
		return;
	log_warnx("serial port %s lost: %s; reopening", s->path, why);
	s->failing = 1;
	serial_schedule_retry(s);
	if (s->cbs.down != NULL)
		s->cbs.down(s->arg);
}

static void
serial_read_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct serial	*s = arg;
	uint8_t		 buf[4096];
	ssize_t		 n;

	(void)ev;
	n = read(fd, buf, sizeof(buf));
	if (n > 0) {
		s->cbs.data(buf, (size_t)n, s->arg);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	serial_drop(s, n == 0 ? "end of file" : strerror(errno));
}

static void
serial_write_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct serial	*s = arg;

	(void)ev;
	if (evbuffer_write(s->out, fd) == -1 && errno != EAGAIN &&
	    errno != EINTR) {
		serial_drop(s, strerror(errno));
		return;
	}
	if (evbuffer_get_length(s->out) > 0)
		event_add(s->wr_ev, NULL);
}

int
serial_write(struct serial *s, const void *buf, size_t len)
{
	if (s->fd == -1) {
		errno = ENOTCONN;
		return (-1);
	}
	if (evbuffer_get_length(s->out) + len > SERIAL_OUT_MAX) {
		errno = ENOBUFS;
		return (-1);
	}
	if (evbuffer_add(s->out, buf, len) == -1)
		return (-1);
	return (event_add(s->wr_ev, NULL));
}

int
serial_is_up(const struct serial *s)
{
	return (s->fd != -1);
}

const char *
serial_path(const struct serial *s)
{
	return (s->path != NULL ? s->path : "(auto)");
}

int
serial_is_pty(const struct serial *s)
{
	return (s->fd != -1 && s->port == NULL);
}

int
serial_reset_lines(struct serial *s)
{
	struct timespec	 ts = { 0, 150 * 1000 * 1000 };

	if (s->port == NULL)
		return (0);
	/* DTR low holds the bootloader pin; an RTS pulse resets the chip. */
	if (sp_set_dtr(s->port, SP_DTR_OFF) != SP_OK ||
	    sp_set_rts(s->port, SP_RTS_OFF) != SP_OK)
		return (-1);
	nanosleep(&ts, NULL);
	if (sp_set_rts(s->port, SP_RTS_ON) != SP_OK)
		return (-1);
	nanosleep(&ts, NULL);
	if (sp_set_rts(s->port, SP_RTS_OFF) != SP_OK)
		return (-1);
	return (0);
}

void
serial_free(struct serial *s)
{
	if (s == NULL)
		return;
	serial_close(s);
	if (s->retry_ev != NULL)
		event_free(s->retry_ev);
	if (s->out != NULL)
		evbuffer_free(s->out);
	free(s->path);
	free(s);
}

char *
serial_find_adapter(void)
{
	struct sp_port	**ports;
	char		 *found = NULL;
	int		  i, vid, pid;
	size_t		  k;

	if (sp_list_ports(&ports) != SP_OK)
		return (NULL);
	for (i = 0; ports[i] != NULL && found == NULL; i++) {
		if (sp_get_port_transport(ports[i]) != SP_TRANSPORT_USB ||
		    sp_get_port_usb_vid_pid(ports[i], &vid, &pid) != SP_OK)
			continue;
		for (k = 0; k < sizeof(serial_known) /
		    sizeof(serial_known[0]); k++)
			if (serial_known[k].vid == vid &&
			    serial_known[k].pid == pid) {
				found = strdup(sp_get_port_name(ports[i]));
				break;
			}
	}
	sp_free_port_list(ports);
	return (found);
}
