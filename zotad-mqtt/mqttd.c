/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The daemon's wiring: broker messages to OTA requests, radio events to
 * device states, bridge/devices and discovery; and everything we publish
 * again whenever the broker connection comes back.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "mqttd.h"

#define MQTTD_ONLINE	"{\"state\":\"online\"}"
#define MQTTD_OFFLINE	"{\"state\":\"offline\"}"
#define MQTTD_OTA	"bridge/request/device/ota_update/"
#define MQTTD_PERMIT	"bridge/request/permit_join"
#define MQTTD_LEGACY	"bridge/ota_update/"	/* 1.x, with legacy_api */

static char *
mqttd_topic(const struct mqttd *d, const char *suffix)
{
	char	*t;

	if (asprintf(&t, "%s/%s", d->conf->mqtt.base_topic, suffix) == -1)
		fatalx("%s: out of memory", __func__);
	return (t);
}

int
mqttd_publish(struct mqttd *d, const char *suffix, const char *payload,
    int qos, int retain)
{
	char	*t = mqttd_topic(d, suffix);
	int	 r;

	r = mqc_publish(d->mqc, t, payload, qos, retain);
	log_debug("publish %s: %s", t, r == 0 ? "ok" : "failed");
	free(t);
	return (r);
}

static void
mqttd_publish_state(struct mqttd *d, struct mqdev *dev)
{
	char	*s;

	s = mqdevs_state_payload(dev, d->conf->advanced.legacy_api);
	mqttd_publish(d, dev->friendly_name, s, dev->qos, dev->retain);
	free(s);
	/* Legacy users follow a transfer on bridge/log, as throttled. */
	if (d->conf->advanced.legacy_api && dev->up.state == MQDEV_UPDATING &&
	    dev->up.progress >= 0)
		mqota_legacy_progress(d, dev);
	dev->last_progress = time(NULL);
	dev->dirty = 0;
}

static void
mqttd_on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct mqttd	*d = arg;
	struct mqdev	*dev;
	size_t		 i;

	(void)fd;
	(void)what;
	for (i = 0; i < mqdevs_count(d->devs); i++)
		if ((dev = mqdevs_at(d->devs, i))->dirty)
			mqttd_publish_state(d, dev);
}

/*
 * Progress during a transfer goes out at most every few seconds; any
 * other change at once.
 */
void
mqttd_device_changed(struct mqttd *d, struct mqdev *dev)
{
	struct timeval	 tv = { MQDEV_PROGRESS_EVERY, 0 };

	if (dev->up.state == MQDEV_UPDATING && dev->up.progress > 0 &&
	    dev->up.progress < 100 &&
	    time(NULL) - dev->last_progress < MQDEV_PROGRESS_EVERY) {
		dev->dirty = 1;
		if (!evtimer_pending(d->flush_ev, NULL))
			evtimer_add(d->flush_ev, &tv);
		return;
	}
	mqttd_publish_state(d, dev);
}

static void
mqttd_discovery(struct mqttd *d, struct mqdev *dev, int remove)
{
	char	 topic[512], *s;

	if (!d->conf->homeassistant.enabled ||
	    mqha_topic(d->conf, dev, topic, sizeof(topic)) == -1)
		return;
	if (remove || !dev->supports_ota) {
		mqc_publish(d->mqc, topic, "", 1, 1);
		return;
	}
	s = mqha_payload(d->conf, dev);
	mqc_publish(d->mqc, topic, s, 1, 1);
	free(s);
}

void
mqttd_devices_changed(struct mqttd *d, struct mqdev *dev)
{
	char	*s;

	s = mqbridge_devices(d->devs);
	mqttd_publish(d, "bridge/devices", s, 1, 1);
	free(s);
	if (dev != NULL)
		mqttd_discovery(d, dev, 0);
}

/* Everything a fresh subscriber should see, after each (re)connect. */
static void
mqttd_publish_all(struct mqttd *d)
{
	struct mqdev	*dev;
	size_t		 i;

	mqttd_devices_changed(d, NULL);
	for (i = 0; i < mqdevs_count(d->devs); i++) {
		dev = mqdevs_at(d->devs, i);
		mqttd_discovery(d, dev, 0);
		mqttd_publish_state(d, dev);
	}
}

static void
mqttd_on_connected(void *arg)
{
	struct mqttd	*d = arg;
	char		*t;

	mqttd_publish(d, "bridge/state", MQTTD_ONLINE, 1, 1);
	t = mqttd_topic(d, MQTTD_OTA "#");
	mqc_subscribe(d->mqc, t, 1);
	free(t);
	t = mqttd_topic(d, MQTTD_PERMIT);
	mqc_subscribe(d->mqc, t, 1);
	free(t);
	if (d->conf->advanced.legacy_api) {
		t = mqttd_topic(d, MQTTD_LEGACY "check");
		mqc_subscribe(d->mqc, t, 1);
		free(t);
		t = mqttd_topic(d, MQTTD_LEGACY "update");
		mqc_subscribe(d->mqc, t, 1);
		free(t);
	}
	if (d->conf->homeassistant.enabled)
		mqc_subscribe(d->mqc, d->conf->homeassistant.status_topic, 1);
	mqttd_publish_all(d);
}

static void
mqttd_on_message(const char *topic, const char *payload, size_t len,
    int retained, void *arg)
{
	struct mqttd	*d = arg;
	const char	*base = d->conf->mqtt.base_topic, *rest;
	size_t		 blen = strlen(base);

	if (d->conf->homeassistant.enabled &&
	    strcmp(topic, d->conf->homeassistant.status_topic) == 0) {
		if (len == 6 && memcmp(payload, "online", 6) == 0)
			mqttd_publish_all(d);
		return;
	}
	if (strncmp(topic, base, blen) != 0 || topic[blen] != '/')
		return;
	rest = topic + blen + 1;
	/* A retained request would run again at every reconnect. */
	if (retained) {
		log_warnx("ignoring a retained request on %s", topic);
		return;
	}
	if (strncmp(rest, MQTTD_OTA, strlen(MQTTD_OTA)) == 0)
		mqota_request(d, rest + strlen(MQTTD_OTA), payload, len, 0);
	else if (d->conf->advanced.legacy_api &&
	    (strcmp(rest, MQTTD_LEGACY "check") == 0 ||
	    strcmp(rest, MQTTD_LEGACY "update") == 0))
		mqota_request(d, rest + strlen(MQTTD_LEGACY), payload, len, 1);
	else if (strcmp(rest, MQTTD_PERMIT) == 0)
		mqota_permit_join(d, payload, len);
}

/* Remove what we published for a device that is gone. */
static void
mqttd_forget(struct mqttd *d, struct mqdev *dev)
{
	mqttd_discovery(d, dev, 1);
	if (dev->retain)
		mqttd_publish(d, dev->friendly_name, "", dev->qos, 1);
}

static void
mqttd_on_devices(const cJSON *devs, void *arg)
{
	struct mqttd	*d = arg;
	struct mqdevs	*old = d->devs;
	struct mqdev	*dev, *now;
	const cJSON	*o;
	char		 err[256];
	size_t		 i;
	int		 added;

	if ((d->devs = mqdevs_new(d->conf)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_ArrayForEach(o, devs) {
		if (mqdevs_upsert(d->devs, o, &added, err, sizeof(err)) ==
		    NULL) {
			log_warnx("zotad-radio: %s", err);
			continue;
		}
	}
	/*
	 * zotad-radio does not remember check results: keep what we knew
	 * of an idle device. Drop what has left meanwhile.
	 */
	for (i = 0; i < mqdevs_count(old); i++) {
		dev = mqdevs_at(old, i);
		if ((now = mqdevs_find(d->devs, dev->ieee)) == NULL)
			mqttd_forget(d, dev);
		else if (now->up.state == MQDEV_IDLE)
			mqdevs_keep(now, dev);
	}
	mqdevs_free(old);
	mqttd_publish_all(d);
	mqota_radio_back(d);
}

static struct mqdev *
mqttd_event_dev(struct mqttd *d, const cJSON *ev, uint64_t *ieee)
{
	const cJSON	*ie = cJSON_GetObjectItemCaseSensitive(ev, "ieee");

	*ieee = 0;
	if (!cJSON_IsString(ie) || mqdevs_parse_ieee(ie->valuestring,
	    ieee) == -1) {
		log_warnx("zotad-radio: event without a valid ieee");
		return (NULL);
	}
	return (mqdevs_find(d->devs, *ieee));
}

/* An update event carries the state's fields at its top level. */
static void
mqttd_event_update(struct mqttd *d, const cJSON *ev)
{
	struct mqdev	*dev;
	uint64_t	 ieee;
	int		 r;

	if ((dev = mqttd_event_dev(d, ev, &ieee)) == NULL)
		return;
	if ((r = mqdevs_apply_update(dev, ev)) == -1)
		log_warnx("zotad-radio: malformed update event for %s",
		    dev->ieee_str);
	else if (r == 1)
		mqttd_device_changed(d, dev);
}

static void
mqttd_device_left(struct mqttd *d, struct mqdev *dev)
{
	uint64_t	 ieee = dev->ieee;

	log_info("device %s (%s) left", dev->friendly_name, dev->ieee_str);
	mqttd_forget(d, dev);
	mqdevs_remove(d->devs, ieee);
	mqttd_devices_changed(d, NULL);
}

static void
mqttd_on_device(struct ipc_conn *conn, struct ipc_reply *rep, void *arg)
{
	struct mqttd	*d = arg;
	struct mqdev	*dev;
	char		 err[256];
	int		 added;

	(void)conn;
	if (rep->error != NULL) {
		log_debug("zotad-radio: GetDevice: %s", rep->error);
		return;
	}
	dev = mqdevs_upsert(d->devs, cJSON_GetObjectItemCaseSensitive(
	    rep->parameters, "device"), &added, err, sizeof(err));
	if (dev == NULL) {
		log_warnx("zotad-radio: %s", err);
		return;
	}
	if (added)
		log_info("device %s (%s) joined", dev->friendly_name,
		    dev->ieee_str);
	mqttd_devices_changed(d, dev);
	mqttd_publish_state(d, dev);
}

/* A device joined, was interviewed or left. */
static void
mqttd_event_device(struct mqttd *d, const cJSON *ev)
{
	const cJSON	*what = cJSON_GetObjectItemCaseSensitive(ev, "event");
	struct mqdev	*dev;
	cJSON		*p;
	uint64_t	 ieee;

	dev = mqttd_event_dev(d, ev, &ieee);
	if (cJSON_IsString(what) && strcmp(what->valuestring, "left") == 0) {
		if (dev != NULL)
			mqttd_device_left(d, dev);
		return;
	}
	if ((p = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToObject(p, "ieee", cJSON_Duplicate(
	    cJSON_GetObjectItemCaseSensitive(ev, "ieee"), 1));
	if (ieee != 0 && mqradio_call(d->radio, IPC_RADIO_GET_DEVICE, p, NULL,
	    0, mqttd_on_device, d) == -1)
		log_debug("zotad-radio: GetDevice not sent");
	cJSON_Delete(p);
}

static void
mqttd_on_event(const cJSON *ev, void *arg)
{
	struct mqttd	*d = arg;
	const cJSON	*type = cJSON_GetObjectItemCaseSensitive(ev, "type");

	if (!cJSON_IsString(type))
		log_warnx("zotad-radio: event without a type");
	else if (strcmp(type->valuestring, "update") == 0)
		mqttd_event_update(d, ev);
	else if (strcmp(type->valuestring, "device") == 0)
		mqttd_event_device(d, ev);
	else
		log_debug("zotad-radio: event %s ignored", type->valuestring);
}

struct mqttd *
mqttd_new(struct event_base *base, const struct config *conf,
    const char *radio_path)
{
	static const struct mqc_cbs	 mcbs = {
		mqttd_on_connected, mqttd_on_message
	};
	static const struct mqradio_cbs	 rcbs = {
		mqttd_on_devices, mqttd_on_event, NULL
	};
	struct mqttd			*d;
	char				*will;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (NULL);
	d->base = base;
	d->conf = conf;
	TAILQ_INIT(&d->detached);
	will = mqttd_topic(d, "bridge/state");
	d->mqc = mqc_new(base, &conf->mqtt, will, MQTTD_OFFLINE, &mcbs, d);
	free(will);
	d->devs = mqdevs_new(conf);
	d->radio = mqradio_new(base, radio_path, &rcbs, d);
	d->flush_ev = evtimer_new(base, mqttd_on_flush, d);
	if (d->mqc == NULL || d->devs == NULL || d->radio == NULL ||
	    d->flush_ev == NULL) {
		mqttd_free(d);
		return (NULL);
	}
	return (d);
}

void
mqttd_start(struct mqttd *d)
{
	mqradio_start(d->radio);
	mqc_start(d->mqc);
}

void
mqttd_stop(struct mqttd *d)
{
	if (mqc_connected(d->mqc))
		mqttd_publish(d, "bridge/state", MQTTD_OFFLINE, 1, 1);
	mqc_stop(d->mqc);
}

void
mqttd_free(struct mqttd *d)
{
	if (d == NULL)
		return;
	/* Calls cut by this may wait for the radio: drop them after. */
	mqradio_free(d->radio);
	d->radio = NULL;
	mqota_drop_detached(d);
	mqc_free(d->mqc);
	mqdevs_free(d->devs);
	if (d->flush_ev != NULL)
		event_free(d->flush_ev);
	free(d);
}
