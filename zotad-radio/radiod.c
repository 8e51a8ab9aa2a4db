/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "adapter.h"
#include "atomicfile.h"
#include "config.h"
#include "confine.h"
#include "daemon.h"
#include "devices.h"
#include "fetchc.h"
#include "interview.h"
#include "log.h"
#include "otasrv.h"
#include "priv.h"
#include "radiod.h"
#include "service.h"
#include "statedir.h"
#include "zcl.h"
#include "zclreq.h"
#include "zstack.h"

#define RADIOD_FETCH_SOCK	"fetch.sock"
#define RADIOD_RADIO_SOCK	"radio.sock"

struct radiod {
	struct event_base	*base;
	const struct config	*conf;
	struct adapter		*ad;
	struct registry		*reg;
	struct zclreq		*z;
	struct fetchc		*fc;
	struct otas		*ota;
	struct service		*sv;
	int			 was_up;	/* the adapter has been up */
	uint64_t		*updating;	/* devices with an update on */
	size_t			 nupdating;
	size_t			 updating_cap;
};

static const char *
radiod_plural(size_t n)
{
	return (n == 1 ? "" : "s");
}

/*
 * The status line "systemctl status" shows: the adapter's state, and
 * the updates under way.
 */
static void
radiod_status_line(const struct radiod *rd, char *buf, size_t len)
{
	const char	*port = rd->conf->serial.port;
	char		 upd[48] = "";
	size_t		 n = reg_count(rd->reg);
	uint16_t	 pan;
	uint8_t		 ch;

	if (rd->nupdating > 0)
		snprintf(upd, sizeof(upd), "; %zu update%s in progress",
		    rd->nupdating, radiod_plural(rd->nupdating));
	if (zstack_network(rd->ad, &ch, &pan) == 0)
		snprintf(buf, len, "adapter up: channel %u, PAN 0x%04x, %zu "
		    "device%s%s", ch, pan, n, radiod_plural(n), upd);
	else if (rd->was_up)
		snprintf(buf, len, "adapter lost, starting it again%s", upd);
	else if (port != NULL)
		snprintf(buf, len, "adapter starting on %s%s", port, upd);
	else
		snprintf(buf, len, "adapter starting, searching the USB "
		    "serial ports%s", upd);
}

/*
 * Called whenever the status may have changed (never per block):
 * daemon_status sends only a line that differs from the last.
 */
static void
radiod_report(const struct radiod *rd)
{
	char	 line[DAEMON_STATUS_MAX];

	radiod_status_line(rd, line, sizeof(line));
	daemon_status("%s", line);
}

/* Where device IEEE is among those with an update on, or -1. */
static ssize_t
radiod_updating_index(const struct radiod *rd, uint64_t ieee)
{
	size_t	 i;

	for (i = 0; i < rd->nupdating; i++)
		if (rd->updating[i] == ieee)
			return ((ssize_t)i);
	return (-1);
}

/* Device IEEE has an update on (ON) or not; the status follows. */
static void
radiod_set_updating(struct radiod *rd, uint64_t ieee, int on)
{
	ssize_t		 i = radiod_updating_index(rd, ieee);
	uint64_t	*p;
	size_t		 cap;

	if (on && i == -1) {
		if (rd->nupdating == rd->updating_cap) {
			cap = rd->updating_cap == 0 ? 8 : rd->updating_cap * 2;
			if ((p = reallocarray(rd->updating, cap,
			    sizeof(*p))) == NULL) {
				log_warn("%s", __func__);
				return;
			}
			rd->updating = p;
			rd->updating_cap = cap;
		}
		rd->updating[rd->nupdating++] = ieee;
	} else if (!on && i != -1)
		rd->updating[i] = rd->updating[--rd->nupdating];
	else
		return;
	radiod_report(rd);
}

/*
 * An update event: queued, under way or waiting for the device to come
 * back counts as an update in progress; any other state ends it.
 */
static void
radiod_track_update(struct radiod *rd, const cJSON *ev)
{
	const cJSON	*type, *ieee, *state;
	const char	*st;
	uint64_t	 addr;

	type = cJSON_GetObjectItemCaseSensitive(ev, "type");
	ieee = cJSON_GetObjectItemCaseSensitive(ev, "ieee");
	state = cJSON_GetObjectItemCaseSensitive(ev, "state");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "update") != 0 ||
	    !cJSON_IsString(ieee) || !cJSON_IsString(state) ||
	    dev_ieee_parse(ieee->valuestring, &addr) == -1)
		return;
	st = state->valuestring;
	radiod_set_updating(rd, addr, strcmp(st, "queued") == 0 ||
	    strcmp(st, "updating") == 0 ||
	    strcmp(st, "waiting for device") == 0);
}

static void
radiod_device_event(struct radiod *rd, uint64_t ieee, const char *what)
{
	cJSON	*ev;
	char	 s[19];

	if ((ev = cJSON_CreateObject()) == NULL)
		return;
	dev_ieee_str(ieee, s);
	cJSON_AddStringToObject(ev, "type", "device");
	cJSON_AddStringToObject(ev, "ieee", s);
	cJSON_AddStringToObject(ev, "event", what);
	service_event(rd->sv, ev);
	cJSON_Delete(ev);
}

static void
radiod_ota_event(const cJSON *ev, void *arg)
{
	struct radiod	*rd = arg;

	service_event(rd->sv, ev);
	radiod_track_update(rd, ev);
}

static void
radiod_state_cb(enum adapter_state st, void *arg)
{
	struct radiod	*rd = arg;

	log_info("adapter %s", st == ADAPTER_UP ? "up" : "down");
	if (st == ADAPTER_UP)
		rd->was_up = 1;
	radiod_report(rd);
}

static void
radiod_interviewed(uint64_t ieee, int ok, void *arg)
{
	struct radiod	*rd = arg;

	radiod_device_event(rd, ieee, ok ? "interviewed" :
	    "interview_failed");
}

/* A device we heard of: record it and interview it if need be. */
static void
radiod_seen(struct radiod *rd, uint16_t nwk, uint64_t ieee, int announce)
{
	struct device	*d = reg_find(rd->reg, ieee);
	int		 is_new = d == NULL;
	char		 s[19];

	if ((d = reg_add(rd->reg, ieee, nwk)) == NULL) {
		log_warnx("device registry full: device ignored");
		return;
	}
	d->last_seen = time(NULL);
	dev_ieee_str(ieee, s);
	if (is_new) {
		log_info("device %s joined (0x%04x)", s, nwk);
		radiod_device_event(rd, ieee, "joined");
		radiod_report(rd);
	}
	reg_save(rd->reg);
	if (announce)
		otas_device_back(rd->ota, ieee);
	if (d->interview == DEV_IV_NONE || (announce &&
	    d->interview == DEV_IV_FAILED))
		iv_start(rd->ad, rd->z, rd->reg, ieee, radiod_interviewed, rd);
}

static void
radiod_joined_cb(uint16_t nwk, uint64_t ieee, void *arg)
{
	radiod_seen(arg, nwk, ieee, 0);
}

static void
radiod_announce_cb(uint16_t nwk, uint64_t ieee, uint8_t caps, void *arg)
{
	struct radiod	*rd = arg;
	struct device	*d;

	radiod_seen(rd, nwk, ieee, 1);
	if ((d = reg_find(rd->reg, ieee)) != NULL)
		d->rx_on_idle = (caps & 0x08) != 0;
}

static void
radiod_left_cb(uint16_t nwk, uint64_t ieee, void *arg)
{
	struct radiod	*rd = arg;
	char		 s[19];

	if (reg_find(rd->reg, ieee) == NULL)
		return;
	dev_ieee_str(ieee, s);
	log_info("device %s (0x%04x) left the network", s, nwk);
	otas_abort(rd->ota, ieee);
	otas_forget(rd->ota, ieee);
	reg_remove(rd->reg, ieee);
	reg_save(rd->reg);
	radiod_device_event(rd, ieee, "left");
	radiod_set_updating(rd, ieee, 0);
	radiod_report(rd);
}

static void
radiod_zcl_cb(const struct adapter_msg *m, void *arg)
{
	struct radiod	*rd = arg;
	struct device	*d = reg_find_nwk(rd->reg, m->nwk);

	if (d != NULL)
		d->last_seen = time(NULL);
	if (zclreq_dispatch(rd->z, m))
		return;
	if (m->cluster == ZCL_CLUSTER_OTA)
		otas_handle(rd->ota, m);
	else
		log_debug("ZCL from 0x%04x, cluster 0x%04x: not for us",
		    m->nwk, m->cluster);
}

static void
radiod_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct radiod	*rd = arg;

	(void)ev;
	log_info("signal %d: stopping", (int)sig);
	daemon_stopping();
	event_base_loopbreak(rd->base);
}

/* Files an earlier version kept in the state dir itself. */
static const char *const radiod_old_files[] = {
	DEV_FILE, OTAS_FILE, "ota-*.img", NULL
};

/*
 * Our own directory in the state dir, and the run dir, owned by the user
 * we become; STATE gets the former's path.
 */
static void
radiod_dirs(const struct config *conf, char *state, size_t size)
{
	const char	*run = conf->zotad.run_dir;
	struct priv_ids	 ids;
	int		 root = priv_is_root();

	if (statedir_prepare(conf->zotad.state_dir, STATEDIR_RADIO,
	    conf->zotad.user_radio, radiod_old_files, state, size) == -1)
		fatalx("cannot set up the state dir %s",
		    conf->zotad.state_dir);
	if (root && priv_lookup(&ids, conf->zotad.user_radio, NULL, NULL) ==
	    -1)
		fatalx("cannot run as user %s", conf->zotad.user_radio);
	if (mkdir(run, 0750) == -1 && errno != EEXIST)
		fatal("%s", run);
	if (root && chown(run, ids.uid, ids.gid) == -1)
		fatal("chown %s", run);
	if (atomic_cleanup(state) > 0)
		log_info("removed temporary files a crash left in %s", state);
}

static void
radiod_allow_mqtt(struct radiod *rd, const char *path)
{
	struct passwd	*pw, *me;

	/* Looked up now: /etc/passwd is one of the files we stop using. */
	if ((pw = getpwnam(rd->conf->zotad.user_mqtt)) == NULL)
		return;
	service_allow_uid(rd->sv, pw->pw_uid);
	/*
	 * Started by root, we made the socket as root; give it to the user
	 * we become and to zotad-mqtt's group, as the socket unit does, or
	 * zotad-mqtt could not connect at all.
	 */
	if (priv_is_root() &&
	    (me = getpwnam(rd->conf->zotad.user_radio)) != NULL &&
	    chown(path, me->pw_uid, pw->pw_gid) == -1 && errno != ENOENT)
		log_warn("chown %s", path);
}

static void
radiod_build(struct radiod *rd)
{
	struct adapter_cbs	 cbs = { radiod_state_cb, radiod_zcl_cb,
				    radiod_joined_cb, radiod_announce_cb,
				    radiod_left_cb };
	char			 path[4096];

	if ((rd->reg = reg_new(rd->conf->zotad.state_dir)) == NULL ||
	    (rd->ad = zstack_new(rd->base, rd->conf, &cbs, rd)) == NULL ||
	    (rd->z = zclreq_new(rd->base, rd->ad)) == NULL)
		fatalx("out of memory");
	snprintf(path, sizeof(path), "%s/%s", rd->conf->zotad.run_dir,
	    RADIOD_FETCH_SOCK);
	if ((rd->fc = fetchc_new(rd->base, path,
	    rd->conf->zotad.max_image_size)) == NULL ||
	    (rd->ota = otas_new(rd->base, rd->conf, rd->ad, rd->z, rd->reg,
	    rd->fc, radiod_ota_event, rd)) == NULL ||
	    (rd->sv = service_new(rd->base, rd->reg, rd->ota, rd->ad,
	    rd->conf->zotad.max_image_size)) == NULL)
		fatalx("out of memory");
	snprintf(path, sizeof(path), "%s/%s", rd->conf->zotad.run_dir,
	    RADIOD_RADIO_SOCK);
	if (service_listen(rd->sv, path) == -1)
		fatalx("cannot serve %s", path);
	radiod_allow_mqtt(rd, path);
}

int
radiod_main(const struct config *conf)
{
	struct radiod	 rd = { 0 };
	struct config	 own;
	struct event	*sigterm, *sigint;
	char		 state[PATH_MAX], line[DAEMON_STATUS_MAX];
	int		 n;

	signal(SIGPIPE, SIG_IGN);
	if ((rd.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	radiod_dirs(conf, state, sizeof(state));
	/* Our modules keep their files in zotad.state_dir: make it ours. */
	own = *conf;
	own.zotad.state_dir = state;
	rd.conf = &own;
	radiod_build(&rd);
	if ((n = reg_load(rd.reg, conf->data_dir)) >= 0)
		log_info("%d devices known", n);
	sigterm = evsignal_new(rd.base, SIGTERM, radiod_signal_cb, &rd);
	sigint = evsignal_new(rd.base, SIGINT, radiod_signal_cb, &rd);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ==
	    -1 || evsignal_add(sigint, NULL) == -1)
		fatalx("cannot handle signals");
	/* Acquire, then lock: the port is opened before the drop. */
	adapter_start(rd.ad);
	if (radio_confine(conf) == -1)
		fatalx("refusing to run without the sandbox");
	if (statedir_check(state) == -1)
		fatalx("%s cannot keep its state", conf->zotad.user_radio);
	otas_restore(rd.ota);
	/*
	 * Ready once radio.sock listens and the sandbox is in place: calls
	 * are served from here on, adapter or not. Waiting for the adapter
	 * would have systemd fail the start after its timeout, and restart
	 * us over and over, while the adapter is unplugged, although we
	 * keep looking for it on our own; the status line says how that
	 * goes.
	 */
	radiod_status_line(&rd, line, sizeof(line));
	daemon_ready("%s", line);
	event_base_dispatch(rd.base);
	/* Pending requests call back into the OTA server: free them first. */
	zclreq_free(rd.z);
	fetchc_free(rd.fc);
	service_free(rd.sv);
	otas_free(rd.ota);
	adapter_free(rd.ad);
	reg_free(rd.reg);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(rd.base);
	free(rd.updating);
	return (0);
}
