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
#include <unistd.h>

#include <cjson/cJSON.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "log.h"
#include "sim.h"

#define CTL_LINE_MAX	65536

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
