/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotadctl's device commands: calls to io.zotad.Radio on zotad-radio's
 * radio.sock. The socket is named with --socket, or found from the
 * configuration (-f, else the default file) as zotad.run_dir/radio.sock.
 * A device is named by its IEEE address or by a friendly name of the
 * configuration. Errors the service answers are printed with its name
 * for them and exit 1; a wrong command line, an unreadable configuration
 * or no daemon to talk to exit 2.
 */

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <event2/event.h>

#include "config.h"
#include "daemon.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "zotadctl.h"

#define DEV_CALL_TIMEOUT	30000	/* ms, for calls answered at once */
#define DEV_BAR_WIDTH		30
#define DEV_DEFAULT_SOCKET	"/run/zotad/radio.sock"
#define DEV_WAIT_DEFAULT	150000	/* ms, block timeout default */

/* What the command line said. */
struct dev_opts {
	const char	*config;
	const char	*socket;
	const char	*url;
	const char	*image;
	const char	*device;	/* permit-join through it */
	int		 downgrade;
	int		 json;
};

/* Where to talk to and what the configuration calls the devices. */
struct dev_ctx {
	struct config	*conf;
	char		 socket[512];
	struct event_base *base;
	struct ipc_conn	*conn;
};

/* An update under way, as zotadctl follows it. */
struct dev_watch {
	struct dev_ctx	*c;
	const char	*name;
	char		 ieee[19];
	int		 tty;
	int		 done;
	int		 status;
	int		 drawn;
	double		 last_pct;	/* at the last progress event */
	struct timespec	 last_at;
	double		 rate;		/* bytes a second, 0 unknown */
	struct ipc_conn	*sub;
	cJSON		*result;
	struct event	*retry;		/* reconnect every second */
	int		 waited;	/* seconds since it went away */
	int		 wait_max;	/* seconds to wait for it */
};

static const struct option dev_longopts[] = {
	{ "config", required_argument, NULL, 'f' },
	{ "socket", required_argument, NULL, 's' },
	{ "url", required_argument, NULL, 'u' },
	{ "image", required_argument, NULL, 'i' },
	{ "device", required_argument, NULL, 'd' },
	{ "downgrade", no_argument, NULL, 'D' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

static void
dev_usage(const char *cmd)
{
	fprintf(stderr, "usage:\tzotadctl %s [-f CONFIG | --socket PATH] ",
	    cmd);
	if (strcmp(cmd, "devices") == 0)
		fprintf(stderr, "[--json]\n");
	else if (strcmp(cmd, "permit-join") == 0)
		fprintf(stderr, "[--device DEVICE | --device coordinator] "
		    "SECONDS\n");
	else if (strcmp(cmd, "check") == 0)
		fprintf(stderr, "[--downgrade] [--url URL] [--json] DEVICE\n");
	else if (strcmp(cmd, "update") == 0)
		fprintf(stderr, "[--downgrade] [--url URL | --image FILE] "
		    "DEVICE\n");
	else if (strcmp(cmd, "schedule") == 0)
		fprintf(stderr, "[--downgrade] [--url URL | --image FILE] "
		    "DEVICE\n");
	else
		fprintf(stderr, "DEVICE\n");
	fprintf(stderr, "DEVICE is an IEEE address (0x and 16 hex digits) "
	    "or a friendly name of the configuration\n");
}

/* Parse the options of CMD; returns the index of the first operand. */
static int
dev_getopt(const char *cmd, int argc, char *argv[], struct dev_opts *o,
    int nargs)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:h", dev_longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'f':
			o->config = optarg;
			break;
		case 's':
			o->socket = optarg;
			break;
		case 'u':
			o->url = optarg;
			break;
		case 'i':
			o->image = optarg;
			break;
		case 'd':
			o->device = optarg;
			break;
		case 'D':
			o->downgrade = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		default:
			dev_usage(cmd);
			return (-1);
		}
	}
	if (argc - optind != nargs) {
		dev_usage(cmd);
		return (-1);
	}
	return (optind);
}

/* Find the socket and read the configuration; CTL_USAGE on failure. */
static int
dev_open(const struct dev_opts *o, struct dev_ctx *c)
{
	const char	*path = o->config;
	char		 err[512];
	int		 n;

	memset(c, 0, sizeof(*c));
	if (path == NULL && o->socket == NULL &&
	    access(daemon_config_default, R_OK) == 0)
		path = daemon_config_default;
	if (path != NULL &&
	    (c->conf = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "zotadctl: %s\n", err);
		return (CTL_USAGE);
	}
	if (o->socket != NULL)
		n = snprintf(c->socket, sizeof(c->socket), "%s", o->socket);
	else if (c->conf != NULL)
		n = snprintf(c->socket, sizeof(c->socket), "%s/radio.sock",
		    c->conf->zotad.run_dir);
	else
		n = snprintf(c->socket, sizeof(c->socket), "%s",
		    DEV_DEFAULT_SOCKET);
	if (n < 0 || (size_t)n >= sizeof(c->socket)) {
		fprintf(stderr, "zotadctl: socket path too long\n");
		return (CTL_USAGE);
	}
	if ((c->base = event_base_new()) == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		return (CTL_USAGE);
	}
	if ((c->conn = ipc_connect(c->base, c->socket)) == NULL) {
		fprintf(stderr, "zotadctl: cannot reach zotad-radio at %s: "
		    "%s\n", c->socket, strerror(errno));
		return (CTL_USAGE);
	}
	return (CTL_OK);
}

static void
dev_close(struct dev_ctx *c)
{
	if (c->conn != NULL)
		ipc_conn_free(c->conn);
	if (c->base != NULL)
		event_base_free(c->base);
	config_free(c->conf);
}

static int
dev_is_ieee(const char *s)
{
	size_t	 i;

	if (strlen(s) != 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return (0);
	for (i = 2; i < 18; i++)
		if (!isxdigit((unsigned char)s[i]))
			return (0);
	return (1);
}

/* The IEEE address of NAME into OUT; -1 with a message if unknown. */
static int
dev_resolve(const struct dev_ctx *c, const char *name, char out[19])
{
	const struct config_device	*d;
	size_t				 i;

	if (c->conf != NULL &&
	    (d = config_device_by_name(c->conf, name)) != NULL) {
		memcpy(out, d->ieee, sizeof(d->ieee));
		return (0);
	}
	if (!dev_is_ieee(name)) {
		fprintf(stderr, "zotadctl: no device called '%s'%s\n", name,
		    c->conf == NULL ? " (friendly names need -f CONFIG)" :
		    " in the configuration");
		return (-1);
	}
	out[0] = '0';
	out[1] = 'x';
	for (i = 2; i < 18; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[18] = '\0';
	return (0);
}

/* The friendly name of IEEE, or IEEE itself. */
static const char *
dev_name(const struct dev_ctx *c, const char *ieee)
{
	const struct config_device	*d;
	uint64_t			 addr;

	if (c->conf == NULL || !dev_is_ieee(ieee))
		return (ieee);
	addr = strtoull(ieee + 2, NULL, 16);
	if ((d = config_device_by_addr(c->conf, addr)) == NULL ||
	    d->friendly_name == NULL)
		return (ieee);
	return (d->friendly_name);
}

/* Print a service error; CTL_NEGATIVE. */
static int
dev_error(const char *error, const cJSON *params)
{
	const cJSON	*m = cJSON_GetObjectItemCaseSensitive(params,
			    "message");
	const cJSON	*p = cJSON_GetObjectItemCaseSensitive(params,
			    "parameter");

	if (cJSON_IsString(m))
		fprintf(stderr, "zotadctl: %s: %s\n", error, m->valuestring);
	else if (cJSON_IsString(p))
		fprintf(stderr, "zotadctl: %s: %s\n", error, p->valuestring);
	else
		fprintf(stderr, "zotadctl: %s\n", error);
	return (CTL_NEGATIVE);
}

/* A blocking call; CTL_OK with RES filled, else the status to exit. */
static int
dev_call(struct dev_ctx *c, const char *method, const cJSON *params,
    int timeout_ms, struct ipc_result *res)
{
	memset(res, 0, sizeof(*res));
	if (ipc_conn_call_sync(c->conn, method, params, NULL, 0, timeout_ms,
	    res) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", method,
		    errno == ETIMEDOUT ? "no answer from zotad-radio" :
		    strerror(errno));
		return (CTL_USAGE);
	}
	if (res->error != NULL) {
		dev_error(res->error, res->parameters);
		ipc_result_clear(res);
		return (CTL_NEGATIVE);
	}
	return (CTL_OK);
}

static void
dev_print_json(const cJSON *j)
{
	char	*s = cJSON_Print(j);

	if (s != NULL)
		printf("%s\n", s);
	free(s);
}

static const char *
dev_str(const cJSON *o, const char *key, const char *def)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	return (cJSON_IsString(v) && v->valuestring[0] != '\0' ?
	    v->valuestring : def);
}

static void
dev_print_row(const struct dev_ctx *c, const cJSON *d)
{
	const cJSON	*ota = cJSON_GetObjectItemCaseSensitive(d, "ota");
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(ota,
			    "file_version");
	const cJSON	*up = cJSON_GetObjectItemCaseSensitive(d, "update");
	const char	*ieee = dev_str(d, "ieee", "?");
	char		 ver[16] = "-";

	/* The file version is known once the device has asked. */
	if (cJSON_IsNumber(v))
		snprintf(ver, sizeof(ver), "0x%08llx",
		    (unsigned long long)v->valuedouble);
	else
		snprintf(ver, sizeof(ver), "%s", dev_str(d, "sw_build_id",
		    "-"));
	printf("%-18s  %-20s  %-16s  %-10s  %s\n", ieee, dev_name(c, ieee),
	    dev_str(d, "model_id", "-"), ver, dev_str(up, "state", "-"));
}

static int
dev_list(struct dev_ctx *c, const struct dev_opts *o)
{
	struct ipc_result	 res;
	const cJSON		*a, *d;
	int			 rv;

	if ((rv = dev_call(c, IPC_RADIO_LIST_DEVICES, NULL,
	    DEV_CALL_TIMEOUT, &res)) != CTL_OK)
		return (rv);
	a = cJSON_GetObjectItemCaseSensitive(res.parameters, "devices");
	if (o->json)
		dev_print_json(a);
	else {
		printf("%-18s  %-20s  %-16s  %-10s  %s\n", "IEEE", "NAME",
		    "MODEL", "VERSION", "UPDATE");
		cJSON_ArrayForEach(d, a)
			dev_print_row(c, d);
	}
	ipc_result_clear(&res);
	return (CTL_OK);
}

static cJSON *
dev_params(const char *ieee, const struct dev_opts *o)
{
	cJSON	*p;

	if ((p = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(p, "ieee", ieee) == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		exit(CTL_USAGE);
	}
	if (o->downgrade)
		cJSON_AddBoolToObject(p, "downgrade", 1);
	if (o->url != NULL)
		cJSON_AddStringToObject(p, "url", o->url);
	return (p);
}

static int
dev_check(struct dev_ctx *c, const struct dev_opts *o, const char *name,
    const char *ieee)
{
	struct ipc_result	 res;
	cJSON			*p = dev_params(ieee, o);
	const cJSON		*e, *v;
	int			 rv, avail;

	rv = dev_call(c, IPC_RADIO_CHECK, p, -1, &res);
	cJSON_Delete(p);
	if (rv != CTL_OK)
		return (rv);
	avail = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res.parameters,
	    "update_available"));
	e = cJSON_GetObjectItemCaseSensitive(res.parameters, "entry");
	v = cJSON_GetObjectItemCaseSensitive(e, "fileVersion");
	if (o->json)
		dev_print_json(res.parameters);
	else if (avail && cJSON_IsNumber(v))
		printf("%s: %s available: file version 0x%08llx from %s\n",
		    name, o->downgrade ? "downgrade" : "update",
		    (unsigned long long)v->valuedouble,
		    dev_str(e, "url", "the index"));
	else
		printf("%s: no %s available\n", name,
		    o->downgrade ? "downgrade" : "update");
	ipc_result_clear(&res);
	return (avail ? CTL_OK : CTL_NEGATIVE);
}

/*
 * Following an update: events from a Subscribe stream, the final answer
 * from the Update call.
 */

static void
dev_fmt_rate(double bps, char *buf, size_t len)
{
	if (bps >= 1024)
		snprintf(buf, len, "%.1f KiB/s", bps / 1024);
	else
		snprintf(buf, len, "%.0f B/s", bps);
}

static void
dev_fmt_time(double secs, char *buf, size_t len)
{
	long	 s = secs < 0 ? 0 : (long)(secs + 0.5);

	if (s >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60,
		    s % 60);
	else
		snprintf(buf, len, "%ld:%02ld", s / 60, s % 60);
}

static void
dev_show_progress(struct dev_watch *w, const cJSON *ev)
{
	const cJSON	*pv = cJSON_GetObjectItemCaseSensitive(ev, "progress");
	const cJSON	*rv = cJSON_GetObjectItemCaseSensitive(ev, "remaining");
	const cJSON	*sv = cJSON_GetObjectItemCaseSensitive(ev,
			    "image_size");
	double		 pct = pv->valuedouble, left = -1, dt;
	char		 bar[DEV_BAR_WIDTH + 1], rs[32] = "", ts[32] = "";
	struct timespec	 now;
	int		 i, fill;

	if (cJSON_IsNumber(rv))
		left = rv->valuedouble;
	/* The rate from the bytes sent since the last event. */
	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - w->last_at.tv_sec) +
	    (double)(now.tv_nsec - w->last_at.tv_nsec) / 1e9;
	if (w->last_at.tv_sec != 0 && dt > 0.2 && pct > w->last_pct &&
	    cJSON_IsNumber(sv))
		w->rate = sv->valuedouble * (pct - w->last_pct) / 100 / dt;
	w->last_pct = pct;
	w->last_at = now;
	if (w->rate > 0)
		dev_fmt_rate(w->rate, rs, sizeof(rs));
	if (left >= 0)
		dev_fmt_time(left, ts, sizeof(ts));
	if (!w->tty) {
		printf("%s: updating %.2f%%%s%s%s%s\n", w->name, pct,
		    rs[0] ? ", " : "", rs, ts[0] ? ", left " : "", ts);
		fflush(stdout);
		return;
	}
	fill = (int)(pct * DEV_BAR_WIDTH / 100);
	for (i = 0; i < DEV_BAR_WIDTH; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[DEV_BAR_WIDTH] = '\0';
	printf("\r%s [%s] %6.2f%%  %-11s %s left ", w->name, bar, pct,
	    rs[0] ? rs : "-", ts[0] ? ts : "-:--");
	fflush(stdout);
	w->drawn = 1;
}

static void
dev_end_line(struct dev_watch *w)
{
	if (w->drawn)
		printf("\n");
	w->drawn = 0;
}

static void
dev_event_cb(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	struct dev_watch	*w = arg;
	const cJSON		*ev, *st;

	(void)conn;
	if (r->error != NULL)
		return;
	ev = cJSON_GetObjectItemCaseSensitive(r->parameters, "event");
	if (strcmp(dev_str(ev, "type", ""), "update") != 0 ||
	    strcmp(dev_str(ev, "ieee", ""), w->ieee) != 0)
		return;
	st = cJSON_GetObjectItemCaseSensitive(ev, "state");
	if (!cJSON_IsString(st))
		return;
	if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(ev, "progress"))) {
		dev_show_progress(w, ev);
		return;
	}
	if (strcmp(st->valuestring, "idle") == 0)
		return;
	dev_end_line(w);
	printf("%s: %s\n", w->name, st->valuestring);
	fflush(stdout);
}

/*
 * zotad-radio went away during the update. A restarted one carries the
 * transfer on, so wait for it, reconnecting every second, then attach
 * to the update and follow it to its real end. After the block request
 * timeout the device itself has given up, so waiting longer is useless.
 */

static void
dev_detach(struct dev_watch *w)
{
	struct timeval	 tv = { 1, 0 };

	fprintf(stderr, "zotadctl: zotad-radio went away; waiting for it\n");
	w->waited = 0;
	evtimer_add(w->retry, &tv);
}

static void	dev_update_cb(struct ipc_conn *, struct ipc_reply *, void *);

/* Connect again, follow the events and attach; -1 when not possible. */
static int
dev_reattach(struct dev_watch *w)
{
	struct dev_ctx	*c = w->c;
	struct ipc_conn	*conn, *sub;
	cJSON		*p;
	int		 r;

	if ((conn = ipc_connect(c->base, c->socket)) == NULL)
		return (-1);
	if ((sub = ipc_connect(c->base, c->socket)) == NULL) {
		ipc_conn_free(conn);
		return (-1);
	}
	if ((p = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(p, "ieee", w->ieee) == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		exit(CTL_USAGE);
	}
	/* Subscribe first: dropping an Attach call would count as a loss. */
	r = ipc_conn_call(sub, IPC_RADIO_SUBSCRIBE, NULL, IPC_CALL_MORE,
	    NULL, 0, dev_event_cb, w) == -1 || ipc_conn_call(conn,
	    IPC_RADIO_ATTACH, p, 0, NULL, 0, dev_update_cb, w) == -1;
	cJSON_Delete(p);
	if (r) {
		ipc_conn_free(sub);
		ipc_conn_free(conn);
		return (-1);
	}
	/* The old connections are closed: nothing waits on them. */
	ipc_conn_free(w->sub);
	w->sub = sub;
	ipc_conn_free(c->conn);
	c->conn = conn;
	return (0);
}

static void
dev_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dev_watch	*w = arg;
	struct timeval		 tv = { 1, 0 };

	(void)fd;
	(void)what;
	if (dev_reattach(w) == 0)
		return;
	if (++w->waited >= w->wait_max) {
		fprintf(stderr, "zotadctl: the update was interrupted: "
		    "zotad-radio did not come back within %d s\n",
		    w->wait_max);
		w->status = CTL_NEGATIVE;
		w->done = 1;
		return;
	}
	evtimer_add(w->retry, &tv);
}

static void
dev_update_cb(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	struct dev_watch	*w = arg;

	(void)conn;
	dev_end_line(w);
	if (r->error != NULL &&
	    strcmp(r->error, IPC_ERR_DISCONNECTED) == 0) {
		dev_detach(w);
		return;
	}
	if (r->error != NULL &&
	    strcmp(r->error, IPC_RADIO_ERR_NOT_IN_PROGRESS) == 0) {
		fprintf(stderr, "zotadctl: the update was interrupted: "
		    "zotad-radio restarted and did not carry it over\n");
		w->status = CTL_NEGATIVE;
	} else if (r->error != NULL)
		w->status = dev_error(r->error, r->parameters);
	else {
		w->status = CTL_OK;
		w->result = cJSON_Duplicate(r->parameters, 1);
	}
	w->done = 1;
}

static void
dev_print_version(const char *what, const cJSON *v)
{
	const cJSON	*fv = cJSON_GetObjectItemCaseSensitive(v,
			    "file_version");

	if (!cJSON_IsNumber(fv))
		return;
	printf("  %s 0x%08llx (software build %s, date code %s)\n", what,
	    (unsigned long long)fv->valuedouble,
	    dev_str(v, "software_build_id", "-"), dev_str(v, "date_code", "-"));
}

/* Read the image for --image; the service takes it as hex. */
static int
dev_image_hex(const char *path, cJSON *p, size_t max)
{
	uint8_t		*buf = NULL;
	char		*hex;
	size_t		 len, i;
	FILE		*f;
	long		 sz;

	if ((f = fopen(path, "rb")) == NULL || fseek(f, 0, SEEK_END) == -1 ||
	    (sz = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return (-1);
	}
	len = (size_t)sz;
	if (len == 0 || len > max) {
		fprintf(stderr, "zotadctl: %s: %zu bytes, not between 1 and "
		    "%zu\n", path, len, max);
		fclose(f);
		return (-1);
	}
	if ((buf = malloc(len)) == NULL || (hex = malloc(2 * len + 1)) ==
	    NULL || fread(buf, 1, len, f) != len) {
		fprintf(stderr, "zotadctl: %s: cannot read\n", path);
		free(buf);
		fclose(f);
		return (-1);
	}
	fclose(f);
	for (i = 0; i < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", buf[i]);
	free(buf);
	cJSON_AddStringToObject(p, "hex", hex);
	free(hex);
	return (0);
}

static int
dev_update(struct dev_ctx *c, const struct dev_opts *o, const char *name,
    const char *ieee)
{
	struct dev_watch	 w;
	cJSON			*p;
	size_t			 max;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.name = name;
	memcpy(w.ieee, ieee, sizeof(w.ieee));
	w.tty = isatty(STDOUT_FILENO);
	w.wait_max = ((c->conf != NULL ?
	    c->conf->ota.image_block_request_timeout : DEV_WAIT_DEFAULT) +
	    999) / 1000;
	p = dev_params(ieee, o);
	max = c->conf != NULL ? c->conf->zotad.max_image_size :
	    16 * 1024 * 1024;
	if (o->image != NULL && dev_image_hex(o->image, p, max) == -1) {
		cJSON_Delete(p);
		return (CTL_USAGE);
	}
	/* Events need a connection of their own: the stream never ends. */
	if ((w.sub = ipc_connect(c->base, c->socket)) == NULL ||
	    ipc_conn_call(w.sub, IPC_RADIO_SUBSCRIBE, NULL, IPC_CALL_MORE,
	    NULL, 0, dev_event_cb, &w) == -1) {
		fprintf(stderr, "zotadctl: cannot follow the update: %s\n",
		    strerror(errno));
		cJSON_Delete(p);
		if (w.sub != NULL)
			ipc_conn_free(w.sub);
		return (CTL_USAGE);
	}
	ipc_conn_set_max_message(c->conn, 2 * max + 4096);
	if (ipc_conn_call(c->conn, IPC_RADIO_UPDATE, p, 0, NULL, 0,
	    dev_update_cb, &w) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", IPC_RADIO_UPDATE,
		    strerror(errno));
		cJSON_Delete(p);
		ipc_conn_free(w.sub);
		return (CTL_USAGE);
	}
	cJSON_Delete(p);
	if ((w.retry = evtimer_new(c->base, dev_retry_cb, &w)) == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		exit(CTL_USAGE);
	}
	printf("%s: update requested\n", name);
	fflush(stdout);
	while (!w.done)
		if (event_base_loop(c->base, EVLOOP_ONCE) == -1)
			break;
	event_free(w.retry);
	ipc_conn_free(w.sub);
	if (!w.done) {
		fprintf(stderr, "zotadctl: the event loop failed\n");
		return (CTL_USAGE);
	}
	if (w.status == CTL_OK) {
		printf("%s: updated\n", name);
		dev_print_version("from",
		    cJSON_GetObjectItemCaseSensitive(w.result, "from"));
		dev_print_version("to",
		    cJSON_GetObjectItemCaseSensitive(w.result, "to"));
	}
	cJSON_Delete(w.result);
	return (w.status);
}

/* A schedule, from the indexes or from its own url or image. */
static int
dev_schedule(struct dev_ctx *c, const struct dev_opts *o, const char *name,
    const char *ieee)
{
	struct ipc_result	 res;
	cJSON			*p = dev_params(ieee, o);
	const char		*src;
	size_t			 max;
	int			 rv;

	max = c->conf != NULL ? c->conf->zotad.max_image_size :
	    16 * 1024 * 1024;
	if (o->image != NULL && dev_image_hex(o->image, p, max) == -1) {
		cJSON_Delete(p);
		return (CTL_USAGE);
	}
	ipc_conn_set_max_message(c->conn, 2 * max + 4096);
	rv = dev_call(c, IPC_RADIO_SCHEDULE, p, DEV_CALL_TIMEOUT, &res);
	cJSON_Delete(p);
	if (rv != CTL_OK)
		return (rv);
	src = dev_str(res.parameters, "url", NULL);
	printf("%s: scheduled: the update starts at its next query%s%s\n",
	    name, src != NULL ? ", from " : "", src != NULL ? src : "");
	ipc_result_clear(&res);
	return (CTL_OK);
}

/* Schedule, Unschedule, Abort: one call, one line. */
static int
dev_simple(struct dev_ctx *c, const struct dev_opts *o, const char *method,
    const char *name, const char *ieee, const char *done)
{
	struct ipc_result	 res;
	cJSON			*p = dev_params(ieee, o);
	int			 rv;

	rv = dev_call(c, method, p, DEV_CALL_TIMEOUT, &res);
	cJSON_Delete(p);
	if (rv != CTL_OK)
		return (rv);
	printf("%s: %s\n", name, done);
	ipc_result_clear(&res);
	return (CTL_OK);
}

/* The one node to open joining through: a device, or the coordinator. */
static int
dev_permit_node(const struct dev_ctx *c, const char *name, cJSON *p)
{
	char	 ieee[19];

	if (strcasecmp(name, "coordinator") == 0) {
		cJSON_AddBoolToObject(p, "coordinator", 1);
		return (0);
	}
	if (dev_resolve(c, name, ieee) == -1)
		return (-1);
	cJSON_AddStringToObject(p, "ieee", ieee);
	return (0);
}

static int
dev_permit(struct dev_ctx *c, const struct dev_opts *o, const char *arg)
{
	struct ipc_result	 res;
	cJSON			*p;
	const char		*via = o->device != NULL ? " through " : "";
	char			*end;
	long			 t;
	int			 rv;

	errno = 0;
	t = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || t < 0 || t > 254) {
		fprintf(stderr, "zotadctl: permit-join: '%s' is not a number "
		    "of seconds from 0 to 254\n", arg);
		return (CTL_USAGE);
	}
	if ((p = cJSON_CreateObject()) == NULL ||
	    cJSON_AddNumberToObject(p, "time", (double)t) == NULL ||
	    (o->device != NULL && dev_permit_node(c, o->device, p) == -1)) {
		cJSON_Delete(p);
		return (CTL_USAGE);
	}
	rv = dev_call(c, IPC_RADIO_PERMIT_JOIN, p, DEV_CALL_TIMEOUT, &res);
	cJSON_Delete(p);
	if (rv != CTL_OK)
		return (rv);
	if (t > 0)
		printf("joining permitted for %ld s%s%s\n", t, via,
		    o->device != NULL ? o->device : "");
	else
		printf("joining closed%s%s\n", via,
		    o->device != NULL ? o->device : "");
	ipc_result_clear(&res);
	return (CTL_OK);
}

/* Run the device command argv[0]. */
static int
dev_run(int argc, char *argv[])
{
	const char	*cmd = argv[0];
	struct dev_opts	 o;
	struct dev_ctx	 c;
	const char	*name = NULL;
	char		 ieee[19];
	int		 i, rv, nargs;

	nargs = strcmp(cmd, "devices") == 0 ? 0 : 1;
	if ((i = dev_getopt(cmd, argc, argv, &o, nargs)) == -1)
		return (CTL_USAGE);
	if ((o.url != NULL || o.downgrade) && nargs == 1 &&
	    strcmp(cmd, "check") != 0 && strcmp(cmd, "update") != 0 &&
	    strcmp(cmd, "schedule") != 0) {
		dev_usage(cmd);
		return (CTL_USAGE);
	}
	if ((o.image != NULL && ((strcmp(cmd, "update") != 0 &&
	    strcmp(cmd, "schedule") != 0) || o.url)) ||
	    (o.device != NULL && strcmp(cmd, "permit-join") != 0)) {
		dev_usage(cmd);
		return (CTL_USAGE);
	}
	if ((rv = dev_open(&o, &c)) != CTL_OK) {
		dev_close(&c);
		return (rv);
	}
	if (nargs == 1 && strcmp(cmd, "permit-join") != 0) {
		name = argv[i];
		if (dev_resolve(&c, name, ieee) == -1) {
			dev_close(&c);
			return (CTL_USAGE);
		}
	}
	if (strcmp(cmd, "devices") == 0)
		rv = dev_list(&c, &o);
	else if (strcmp(cmd, "permit-join") == 0)
		rv = dev_permit(&c, &o, argv[i]);
	else if (strcmp(cmd, "check") == 0)
		rv = dev_check(&c, &o, name, ieee);
	else if (strcmp(cmd, "update") == 0)
		rv = dev_update(&c, &o, name, ieee);
	else if (strcmp(cmd, "schedule") == 0)
		rv = dev_schedule(&c, &o, name, ieee);
	else if (strcmp(cmd, "unschedule") == 0)
		rv = dev_simple(&c, &o, IPC_RADIO_UNSCHEDULE, name, ieee,
		    "unscheduled");
	else
		rv = dev_simple(&c, &o, IPC_RADIO_ABORT, name, ieee,
		    "update aborted");
	dev_close(&c);
	return (rv);
}

int
ctl_device(int argc, char *argv[])
{
	return (dev_run(argc, argv));
}
