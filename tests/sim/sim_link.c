/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "log.h"
#include "util.h"
#include "sim.h"

#define LINK_PTY	1
#define LINK_TCP	2
#define LINK_TICK_MS	10

static void
link_frame_event(struct sim *sim, const char *dir, const struct mt_frame *f)
{
	cJSON	*o;
	char	 hex[2 * MT_MAX_PAYLOAD + 1];

	if (sim->events == NULL)
		return;
	o = cJSON_CreateObject();
	util_hex(f->data, f->len, hex);
	cJSON_AddStringToObject(o, "dir", dir);
	cJSON_AddStringToObject(o, "type", mt_type_name(f->type));
	cJSON_AddStringToObject(o, "subsys", mt_subsys_name(f->subsys));
	cJSON_AddNumberToObject(o, "cmd", f->cmd);
	cJSON_AddStringToObject(o, "data", hex);
	sim_event(sim, "frame", o);
}

static void
link_on_frame(const struct mt_frame *f, void *arg)
{
	struct sim	*sim = arg;

	link_frame_event(sim, "in", f);
	log_debug("host -> %s %s 0x%02x, %u bytes", mt_type_name(f->type),
	    mt_subsys_name(f->subsys), f->cmd, f->len);
	znp_frame(sim, f);
}

/* Report skipped bytes and bad frames since the last read. */
static void
link_report_noise(struct sim *sim, uint64_t skipped, uint64_t bad)
{
	cJSON	*o;

	if (sim->dec.skipped == skipped &&
	    sim->dec.bad_fcs + sim->dec.bad_len == bad)
		return;
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "skipped",
	    (double)(sim->dec.skipped - skipped));
	cJSON_AddNumberToObject(o, "bad_frames",
	    (double)(sim->dec.bad_fcs + sim->dec.bad_len - bad));
	sim_event(sim, "noise", o);
}

static void
link_read_cb(struct bufferevent *bev, void *arg)
{
	struct sim	*sim = arg;
	uint8_t		 buf[512];
	uint64_t	 skipped, bad;
	size_t		 n;

	while (sim->bev == bev &&
	    (n = bufferevent_read(bev, buf, sizeof(buf))) > 0) {
		skipped = sim->dec.skipped;
		bad = sim->dec.bad_fcs + sim->dec.bad_len;
		mt_decoder_feed(&sim->dec, buf, n, link_on_frame, sim);
		link_report_noise(sim, skipped, bad);
	}
}

static void
link_drop_host(struct sim *sim, const char *why)
{
	cJSON	*o;

	if (sim->bev == NULL)
		return;
	bufferevent_free(sim->bev);
	sim->bev = NULL;
	mt_decoder_reset(&sim->dec);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "reason", why);
	sim_event(sim, "host_disconnected", o);
	log_info("host disconnected: %s", why);
}

static void
link_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct sim	*sim = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF)
		link_drop_host(sim, "end of file");
	else if (what & BEV_EVENT_ERROR)
		link_drop_host(sim, evutil_socket_error_to_string(
		    EVUTIL_SOCKET_ERROR()));
}

/* Serial pacing: the configured baud rate, 10 bits a byte, both ways. */
static void
link_set_pacing(struct sim *sim)
{
	struct timeval	 tick = { 0, LINK_TICK_MS * 1000 };
	size_t		 per_tick;

	if (sim->link.baud == 0)
		return;
	if (sim->rate == NULL) {
		per_tick = sim->link.baud / 10 * LINK_TICK_MS / 1000;
		if (per_tick == 0)
			per_tick = 1;
		sim->rate = ev_token_bucket_cfg_new(per_tick, per_tick,
		    per_tick, per_tick, &tick);
		if (sim->rate == NULL)
			fatalx("%s: ev_token_bucket_cfg_new", __func__);
	}
	if (bufferevent_set_rate_limit(sim->bev, sim->rate) == -1)
		fatalx("%s: bufferevent_set_rate_limit", __func__);
}

static void
link_attach(struct sim *sim, int fd)
{
	sim->bev = bufferevent_socket_new(sim->base, fd,
	    sim->link_kind == LINK_TCP ? BEV_OPT_CLOSE_ON_FREE : 0);
	if (sim->bev == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);
	bufferevent_setcb(sim->bev, link_read_cb, NULL, link_event_cb, sim);
	link_set_pacing(sim);
	if (bufferevent_enable(sim->bev, EV_READ | EV_WRITE) == -1)
		fatalx("%s: bufferevent_enable", __func__);
	mt_decoder_reset(&sim->dec);
}

/* Make the slave side a raw 8N1 line at the configured speed. */
static int
link_raw_tty(int fd, uint32_t baud)
{
	struct termios	 t;

	if (tcgetattr(fd, &t) == -1)
		return (-1);
	cfmakeraw(&t);
	t.c_cflag |= CLOCAL | CREAD;
	cfsetspeed(&t, baud == 0 || baud == 115200 ? B115200 : B38400);
	return (tcsetattr(fd, TCSANOW, &t));
}

static int
link_pty_create(struct sim *sim)
{
	const char	*slave;
	struct stat	 st;

	if ((sim->pty_master = posix_openpt(O_RDWR | O_NOCTTY)) == -1 ||
	    grantpt(sim->pty_master) == -1 ||
	    unlockpt(sim->pty_master) == -1 ||
	    (slave = ptsname(sim->pty_master)) == NULL) {
		log_warn("pseudo terminal");
		return (-1);
	}
	/* Holding the slave open keeps the master readable between hosts. */
	if ((sim->pty_slave = open(slave, O_RDWR | O_NOCTTY | O_CLOEXEC)) ==
	    -1 || link_raw_tty(sim->pty_slave, sim->link.baud) == -1) {
		log_warn("%s", slave);
		return (-1);
	}
	if (lstat(sim->pty_link, &st) == 0) {
		if (!S_ISLNK(st.st_mode)) {
			log_warnx("%s exists and is not a symbolic link",
			    sim->pty_link);
			return (-1);
		}
		unlink(sim->pty_link);
	}
	if (symlink(slave, sim->pty_link) == -1) {
		log_warn("symlink %s", sim->pty_link);
		return (-1);
	}
	evutil_make_socket_nonblocking(sim->pty_master);
	evutil_make_socket_closeonexec(sim->pty_master);
	link_attach(sim, sim->pty_master);
	log_info("adapter on %s -> %s", sim->pty_link, slave);
	return (0);
}

int
link_open_pty(struct sim *sim, const char *link_path)
{
	sim->link_kind = LINK_PTY;
	if ((sim->pty_link = strdup(link_path)) == NULL)
		fatal("%s", __func__);
	return (link_pty_create(sim));
}

static void
link_accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct sim	*sim = arg;
	int		 one = 1;

	(void)l;
	(void)sa;
	(void)salen;
	if (sim->bev != NULL) {
		/* One host at a time, as with a serial port. */
		log_warnx("refusing a second host connection");
		evutil_closesocket(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	/* A serial line does not batch bytes; Nagle would add 40 ms. */
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
		log_warn("TCP_NODELAY");
	link_attach(sim, fd);
	sim_event(sim, "host_connected", NULL);
	log_info("host connected");
}

static int
link_is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6	*sin6 = (const struct sockaddr_in6 *)ss;

	if (ss->ss_family == AF_INET)
		return ((ntohl(sin->sin_addr.s_addr) >> 24) == 127);
	if (ss->ss_family == AF_INET6)
		return (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	return (0);
}

static struct sockaddr_storage	link_tcp_addr;
static int			link_tcp_addrlen;

static int
link_tcp_listen(struct sim *sim)
{
	sim->listener = evconnlistener_new_bind(sim->base, link_accept_cb,
	    sim, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_EXEC, 4, (struct sockaddr *)&link_tcp_addr,
	    link_tcp_addrlen);
	if (sim->listener == NULL) {
		log_warn("listen");
		return (-1);
	}
	return (0);
}

int
link_open_tcp(struct sim *sim, const char *hostport)
{
	char	 buf[128];

	sim->link_kind = LINK_TCP;
	/* "localhost" is the one name accepted; no resolver is involved. */
	if (strncmp(hostport, "localhost:", 10) == 0) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", hostport + 10);
		hostport = buf;
	}
	link_tcp_addrlen = sizeof(link_tcp_addr);
	if (evutil_parse_sockaddr_port(hostport,
	    (struct sockaddr *)&link_tcp_addr, &link_tcp_addrlen) == -1) {
		log_warnx("--tcp %s: expected HOST:PORT with a numeric "
		    "loopback address", hostport);
		return (-1);
	}
	if (!link_is_loopback(&link_tcp_addr)) {
		log_warnx("--tcp %s: only loopback addresses are allowed",
		    hostport);
		return (-1);
	}
	if (link_tcp_listen(sim) == -1)
		return (-1);
	log_info("adapter listening on tcp %s", hostport);
	return (0);
}

void
link_close(struct sim *sim)
{
	if (sim->bev != NULL)
		bufferevent_free(sim->bev);
	sim->bev = NULL;
	if (sim->listener != NULL)
		evconnlistener_free(sim->listener);
	sim->listener = NULL;
	if (sim->pty_master != -1)
		close(sim->pty_master);
	if (sim->pty_slave != -1)
		close(sim->pty_slave);
	sim->pty_master = sim->pty_slave = -1;
	if (sim->pty_link != NULL)
		unlink(sim->pty_link);
}

void
link_unplug(struct sim *sim)
{
	if (sim->unplugged)
		return;
	link_drop_host(sim, "adapter unplugged");
	link_close(sim);
	sim->unplugged = 1;
	sim_event(sim, "unplug", NULL);
	log_info("adapter unplugged");
}

int
link_replug(struct sim *sim)
{
	int	 rv;

	if (!sim->unplugged)
		return (0);
	if (sim->link_kind == LINK_PTY)
		rv = link_pty_create(sim);
	else
		rv = link_tcp_listen(sim);
	if (rv == -1)
		return (-1);
	sim->unplugged = 0;
	sim_event(sim, "replug", NULL);
	log_info("adapter plugged in again");
	znp_power_up(sim, 0, 1);
	return (0);
}

void
link_send(struct sim *sim, const struct mt_frame *f)
{
	uint8_t	 buf[MT_FRAME_MAX];
	size_t	 n;

	if ((n = mt_encode(f, buf, sizeof(buf))) == 0)
		fatalx("%s: frame of %u bytes", __func__, f->len);
	link_frame_event(sim, sim->bev != NULL ? "out" : "lost", f);
	if (sim->bev == NULL)
		return;
	if (bufferevent_write(sim->bev, buf, n) == -1)
		log_warnx("%s: bufferevent_write failed", __func__);
}

int
link_send_raw(struct sim *sim, const uint8_t *buf, size_t len)
{
	cJSON	*o;
	char	*hex;

	if (sim->bev == NULL)
		return (-1);
	if (sim->events != NULL) {
		if ((hex = malloc(2 * len + 1)) == NULL)
			fatal("%s", __func__);
		util_hex(buf, len, hex);
		o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "dir", "out");
		cJSON_AddStringToObject(o, "data", hex);
		sim_event(sim, "raw", o);
		free(hex);
	}
	if (bufferevent_write(sim->bev, buf, len) == -1)
		log_warnx("%s: bufferevent_write failed", __func__);
	return (0);
}

void
link_send_areq(struct sim *sim, uint8_t subsys, uint8_t cmd,
    const struct sim_wr *w)
{
	struct mt_frame	 f;

	if (w->err || mt_frame_set(&f, MT_TYPE_AREQ, subsys, cmd, w->buf,
	    w->len) == -1) {
		log_warnx("%s: %s 0x%02x too large, not sent", __func__,
		    mt_subsys_name(subsys), cmd);
		return;
	}
	link_send(sim, &f);
}
