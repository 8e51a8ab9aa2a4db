/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The control socket: a Unix stream socket taking one command per line
 * and answering "ok" or "error: why" (or one JSON line for "show").
 *
 *	query DEVICE		send a Query Next Image Request now
 *	join DEVICE		join a device declared with "joined": false
 *	join {JSON}		join a new device described as in a scenario
 *	leave DEVICE		the device leaves the network
 *	unplug, replug		the adapter disappears, then comes back
 *	reset [REASON]		the adapter resets and says so
 *	show DEVICE		the device's OTA state and versions
 *	send DEVICE CLUSTER HEX	the device sends this ZCL frame now
 *	inject raw HEX		these bytes to the host, as they are
 *	inject KIND TYPE SUBSYS CMD [HEX]
 *				an MT frame to the host: well made (KIND
 *				frame), with a wrong FCS (bad-fcs), or with
 *				LEN instead of its length (bad-len LEN ...)
 *
 * DEVICE is a device name or its IEEE address.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "sim.h"

#define CTL_LINE_MAX	65536
#define CTL_RAW_MAX	1024	/* bytes of one raw injection */

static void
ctl_reply(struct bufferevent *bev, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
ctl_reply(struct bufferevent *bev, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	evbuffer_add_vprintf(bufferevent_get_output(bev), fmt, ap);
	va_end(ap);
	evbuffer_add(bufferevent_get_output(bev), "\n", 1);
}

static struct sim_device *
ctl_device(struct sim *sim, struct bufferevent *bev, const char *arg)
{
	struct sim_device	*d;

	if ((d = dev_by_name(sim, arg)) == NULL)
		ctl_reply(bev, "error: no device %s", arg);
	return (d);
}

static void
ctl_join(struct sim *sim, struct bufferevent *bev, const char *arg)
{
	struct sim_device	*d;
	cJSON			*o;
	char			 err[256];

	if (arg[0] != '{') {
		if ((d = ctl_device(sim, bev, arg)) == NULL)
			return;
	} else {
		if ((o = cJSON_Parse(arg)) == NULL) {
			ctl_reply(bev, "error: join: not valid JSON");
			return;
		}
		d = scenario_device(sim, o, err, sizeof(err));
		cJSON_Delete(o);
		if (d == NULL) {
			ctl_reply(bev, "error: join: %s", err);
			return;
		}
		d->joined = 0;
		if (dev_add(sim, d) == -1) {
			free(d);
			ctl_reply(bev, "error: join: address in use");
			return;
		}
	}
	if (d->joined) {
		ctl_reply(bev, "error: %s is already joined", d->name);
		return;
	}
	dev_join(d);
	ctl_reply(bev, "ok");
}

static void
ctl_show(struct sim *sim, struct bufferevent *bev, const char *arg)
{
	struct sim_device	*d;
	cJSON			*o;
	char			*text;

	if ((d = ctl_device(sim, bev, arg)) == NULL)
		return;
	o = sim_event_dev(d);
	cJSON_AddBoolToObject(o, "joined", d->joined);
	cJSON_AddStringToObject(o, "ota_state", ota_state_name(d->ota.state));
	cJSON_AddNumberToObject(o, "file_version", d->ota_cfg.file_version);
	cJSON_AddStringToObject(o, "sw_build_id", d->basic.sw_build_id);
	if ((text = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	ctl_reply(bev, "%s", text);
	free(text);
	cJSON_Delete(o);
}

static void
ctl_reset(struct sim *sim, struct bufferevent *bev, const char *arg)
{
	unsigned long	 reason = 0;
	char		*end;

	if (*arg != '\0') {
		reason = strtoul(arg, &end, 0);
		if (*end != '\0' || reason > 0xFF || *arg == '-') {
			ctl_reply(bev, "error: reset: reason must be 0..255");
			return;
		}
	}
	znp_power_up(sim, (uint8_t)reason, 1);
	ctl_reply(bev, "ok");
}

/* A number from 0 to MAX, decimal or 0x hex; -1 when it is not one. */
static long
ctl_number(const char *s, long max)
{
	char	*end;
	long	 v;

	if (s == NULL || *s == '\0' || *s == '-')
		return (-1);
	v = strtol(s, &end, 0);
	if (*end != '\0' || v > max)
		return (-1);
	return (v);
}

/* A frame type by name (POLL, SREQ, AREQ, SRSP) or number. */
static int
ctl_type(const char *s)
{
	uint8_t	 t;

	for (t = 0; t < 4; t++)
		if (s != NULL && strcasecmp(s, mt_type_name(t)) == 0)
			return (t);
	return ((int)ctl_number(s, 7));
}

/* A subsystem by name (SYS, AF, ZDO, ...) or number. */
static int
ctl_subsys(const char *s)
{
	uint8_t	 i;

	for (i = 0; i < 32; i++)
		if (s != NULL && strcasecmp(s, mt_subsys_name(i)) == 0)
			return (i);
	return ((int)ctl_number(s, 31));
}

static void
ctl_send(struct sim *sim, struct bufferevent *bev, char *arg)
{
	struct sim_device	*d;
	uint8_t			 zcl[SIM_FRAME_MAX];
	char			*save = NULL, *name, *hex;
	long			 cluster;
	size_t			 len;

	name = strtok_r(arg, " ", &save);
	cluster = ctl_number(strtok_r(NULL, " ", &save), 0xFFFF);
	hex = strtok_r(NULL, " ", &save);
	if (name == NULL || cluster == -1 || hex == NULL ||
	    hex_parse(hex, zcl, sizeof(zcl), &len) == -1 || len == 0) {
		ctl_reply(bev, "error: send: expected DEVICE CLUSTER HEX, with "
		    "1 to %d bytes", SIM_FRAME_MAX);
		return;
	}
	if ((d = ctl_device(sim, bev, name)) == NULL)
		return;
	if (dev_send_frame(d, (uint16_t)cluster, zcl, len) == -1)
		ctl_reply(bev, "error: %s is not joined", d->name);
	else
		ctl_reply(bev, "ok");
}

/*
 * inject KIND TYPE SUBSYS CMD [HEX]: SOF, LEN, CMD0, CMD1, the payload
 * and the FCS, with one thing wrong as KIND says.
 */
static int
ctl_inject_frame(const char *kind, char *args, uint8_t *out, size_t *outlen)
{
	uint8_t		 data[MT_MAX_PAYLOAD];
	char		*save = NULL, *hex;
	long		 lenbyte = -1;
	int		 type, subsys;
	long		 cmd;
	size_t		 len = 0;

	if (strcmp(kind, "bad-len") == 0 &&
	    (lenbyte = ctl_number(strtok_r(args, " ", &save), 0xFF)) == -1)
		return (-1);
	type = ctl_type(strtok_r(lenbyte == -1 ? args : NULL, " ", &save));
	subsys = ctl_subsys(strtok_r(NULL, " ", &save));
	cmd = ctl_number(strtok_r(NULL, " ", &save), 0xFF);
	if (type == -1 || subsys == -1 || cmd == -1 ||
	    ((hex = strtok_r(NULL, " ", &save)) != NULL &&
	    hex_parse(hex, data, sizeof(data), &len) == -1))
		return (-1);
	out[0] = MT_SOF;
	out[1] = (uint8_t)(lenbyte == -1 ? (long)len : lenbyte);
	out[2] = mt_cmd0((uint8_t)type, (uint8_t)subsys);
	out[3] = (uint8_t)cmd;
	memcpy(out + 4, data, len);
	out[4 + len] = mt_fcs(out + 1, 3 + len);
	if (strcmp(kind, "bad-fcs") == 0)
		out[4 + len] ^= 0xFF;
	*outlen = len + MT_OVERHEAD;
	return (0);
}

static void
ctl_inject(struct sim *sim, struct bufferevent *bev, char *arg)
{
	uint8_t		 buf[CTL_RAW_MAX];
	char		*kind, *rest;
	size_t		 len;
	int		 rv;

	kind = arg;
	if ((rest = strchr(arg, ' ')) != NULL)
		*rest++ = '\0';
	if (strcmp(kind, "raw") == 0)
		rv = rest != NULL && hex_parse(rest, buf, sizeof(buf), &len) ==
		    0 && len > 0 ? 0 : -1;
	else if (strcmp(kind, "frame") == 0 || strcmp(kind, "bad-fcs") == 0 ||
	    strcmp(kind, "bad-len") == 0)
		rv = rest != NULL ? ctl_inject_frame(kind, rest, buf, &len) :
		    -1;
	else {
		ctl_reply(bev, "error: inject: unknown kind \"%s\" (raw, "
		    "frame, bad-fcs, bad-len)", kind);
		return;
	}
	if (rv == -1)
		ctl_reply(bev, "error: inject %s: expected %s", kind,
		    strcmp(kind, "raw") == 0 ? "HEX" :
		    strcmp(kind, "bad-len") == 0 ? "LEN TYPE SUBSYS CMD [HEX]" :
		    "TYPE SUBSYS CMD [HEX]");
	else if (link_send_raw(sim, buf, len) == -1)
		ctl_reply(bev, "error: inject: no host is connected");
	else
		ctl_reply(bev, "ok");
}

static void
ctl_command(struct sim *sim, struct bufferevent *bev, char *line)
{
	struct sim_device	*d;
	char			*arg;
	cJSON			*o;

	if ((arg = strchr(line, ' ')) != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "command", line);
	cJSON_AddStringToObject(o, "arg", arg);
	sim_event(sim, "control", o);
	if (strcmp(line, "query") == 0) {
		if ((d = ctl_device(sim, bev, arg)) != NULL) {
			ota_query_now(d);
			ctl_reply(bev, "ok");
		}
	} else if (strcmp(line, "join") == 0)
		ctl_join(sim, bev, arg);
	else if (strcmp(line, "leave") == 0) {
		if ((d = ctl_device(sim, bev, arg)) != NULL) {
			dev_leave(d);
			ctl_reply(bev, "ok");
		}
	} else if (strcmp(line, "unplug") == 0) {
		link_unplug(sim);
		ctl_reply(bev, "ok");
	} else if (strcmp(line, "replug") == 0) {
		if (link_replug(sim) == -1)
			ctl_reply(bev, "error: replug failed");
		else
			ctl_reply(bev, "ok");
	} else if (strcmp(line, "reset") == 0)
		ctl_reset(sim, bev, arg);
	else if (strcmp(line, "show") == 0)
		ctl_show(sim, bev, arg);
	else if (strcmp(line, "send") == 0)
		ctl_send(sim, bev, arg);
	else if (strcmp(line, "inject") == 0)
		ctl_inject(sim, bev, arg);
	else
		ctl_reply(bev, "error: unknown command \"%s\"", line);
}

static void
ctl_read_cb(struct bufferevent *bev, void *arg)
{
	struct sim	*sim = arg;
	struct evbuffer	*in = bufferevent_get_input(bev);
	char		*line;
	size_t		 n;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		ctl_command(sim, bev, line);
		free(line);
	}
	if (evbuffer_get_length(in) > CTL_LINE_MAX) {
		log_warnx("control: line too long, dropping the client");
		bufferevent_free(bev);
	}
}

static void
ctl_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)arg;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		bufferevent_free(bev);
}

static void
ctl_accept(evutil_socket_t fd, short what, void *arg)
{
	struct sim		*sim = arg;
	struct bufferevent	*bev;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	int			 c;

	(void)what;
	if ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) ==
	    -1) {
		log_warn("control: accept");
		return;
	}
	/* Only our own user may steer the simulator. */
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1 ||
	    cred.uid != getuid()) {
		log_warnx("control: refusing a client of another user");
		close(c);
		return;
	}
	if ((bev = bufferevent_socket_new(sim->base, c,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("%s: bufferevent_socket_new", __func__);
	bufferevent_setcb(bev, ctl_read_cb, NULL, ctl_event_cb, sim);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

int
ctl_open(struct sim *sim, const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("--control %s: path too long", path);
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		fatal("socket");
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0600) == -1 || listen(fd, 4) == -1) {
		log_warn("--control %s", path);
		close(fd);
		return (-1);
	}
	if ((sim->ctl_path = strdup(path)) == NULL)
		fatal("%s", __func__);
	sim->ctl_fd = fd;
	sim->ctl_ev = event_new(sim->base, fd, EV_READ | EV_PERSIST,
	    ctl_accept, sim);
	if (sim->ctl_ev == NULL || event_add(sim->ctl_ev, NULL) == -1)
		fatalx("%s: event_new", __func__);
	return (0);
}

void
ctl_close(struct sim *sim)
{
	if (sim->ctl_ev != NULL)
		event_free(sim->ctl_ev);
	if (sim->ctl_fd != -1)
		close(sim->ctl_fd);
	if (sim->ctl_path != NULL) {
		unlink(sim->ctl_path);
		free(sim->ctl_path);
	}
	sim->ctl_ev = NULL;
	sim->ctl_fd = -1;
	sim->ctl_path = NULL;
}
