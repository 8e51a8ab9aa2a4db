/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * OTA requests from MQTT turned into io.zotad.Radio calls, and the
 * replies turned into zigbee2mqtt's responses and device states. Each
 * request is a job of its own: a bad one is answered with an error and
 * leaves every other request alone.
 */

#include <sys/mman.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "mqttd.h"

#define MQOTA_ERR_NO_IMAGE_SUFFIX	".NoImageAvailable"

#define MQOTA_LOG	"bridge/log"	/* where the legacy API answers */
#define MQOTA_COORDINATOR "Coordinator"	/* zigbee2mqtt's name for it */

#define MQOTA_ERR_MAX	1024
#define MQOTA_SLACK	65536	/* bytes of a request besides its image */

struct mqota_job {
	struct mqttd	*d;
	struct mqreq	 req;
	uint64_t	 ieee;
	char		*name;		/* friendly name when asked */
	/* An update whose zotad-radio went away while it ran. */
	TAILQ_ENTRY(mqota_job) entry;
	int		 detached;	/* on d->detached */
	int		 attaching;	/* an Attach call is out */
	struct event	*timer;		/* to give up on the radio */
};

static void	mqota_on_reply(struct ipc_conn *, struct ipc_reply *,
		    void *);

static void
mqota_answer(struct mqttd *d, const struct mqreq *req, int ok_topic,
    char *payload)
{
	char	 suffix[128];

	snprintf(suffix, sizeof(suffix),
	    "bridge/response/device/ota_update/%s%s",
	    mqreq_verb_name(req->verb), ok_topic && req->abort ?
	    "/abort" : "");
	mqttd_publish(d, suffix, payload, 0, 0);
	free(payload);
}

/*
 * zigbee2mqtt 1.x's legacy API: {"type": "ota_update", "message": MSG,
 * "meta": {"status": STATUS, "device": DEVICE, ...}} on bridge/log.
 * META holds any further fields and is taken; it may be NULL.
 */
static void
mqota_legacy_log(struct mqttd *d, const char *device, const char *status,
    const char *msg, cJSON *meta)
{
	cJSON	*o;
	char	*s;

	if ((o = cJSON_CreateObject()) == NULL || (meta == NULL &&
	    (meta = cJSON_CreateObject()) == NULL))
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "type", "ota_update");
	cJSON_AddStringToObject(o, "message", msg);
	cJSON_AddStringToObject(meta, "status", status);
	cJSON_AddStringToObject(meta, "device", device);
	cJSON_AddItemToObject(o, "meta", meta);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	mqttd_publish(d, MQOTA_LOG, s, 0, 0);
	free(s);
	cJSON_Delete(o);
}

/*
 * A request refused or failed. NAME is the device's friendly name when
 * it is known; STATUS the legacy status when not the verb's failure.
 */
static void
mqota_fail_as(struct mqttd *d, const struct mqreq *req, const char *name,
    const char *status, const char *msg)
{
	const char	*dev = name != NULL ? name : req->id;

	log_debug("%s request for '%s': %s", mqreq_verb_name(req->verb),
	    dev != NULL ? dev : "?", msg);
	if (!req->legacy) {
		mqota_answer(d, req, 0, mqresp_error(msg, req->transaction));
		return;
	}
	if (status == NULL)
		status = req->verb == MQREQ_CHECK ? "check_failed" :
		    "update_failed";
	mqota_legacy_log(d, dev != NULL ? dev : "", status, msg, NULL);
}

static void
mqota_fail(struct mqttd *d, const struct mqreq *req, const char *msg)
{
	mqota_fail_as(d, req, NULL, NULL, msg);
}

static void
mqota_job_free(struct mqota_job *job)
{
	if (job->detached) {
		TAILQ_REMOVE(&job->d->detached, job, entry);
		/* At exit the radio client is gone before the jobs. */
		if (job->d->radio != NULL)
			mqradio_eager(job->d->radio,
			    !TAILQ_EMPTY(&job->d->detached));
	}
	if (job->timer != NULL)
		event_free(job->timer);
	mqreq_clear(&job->req);
	free(job->name);
	free(job);
}

/* zigbee2mqtt 1.x's words for the statuses a device may end with. */
static const char *
mqota_status_words(const char *status, char *buf, size_t len)
{
	size_t	 i;

	if (strcmp(status, "ABORT") == 0)
		return ("aborted by device");
	snprintf(buf, len, "%s", status);
	for (i = 0; buf[i] != '\0'; i++)
		buf[i] = buf[i] == '_' ? ' ' : (char)(buf[i] >= 'A' &&
		    buf[i] <= 'Z' ? buf[i] - 'A' + 'a' : buf[i]);
	return (buf);
}

static int
mqota_is_no_image(const char *error)
{
	size_t	 n = strlen(error), m = strlen(MQOTA_ERR_NO_IMAGE_SUFFIX);

	return (n > m && strcmp(error + n - m, MQOTA_ERR_NO_IMAGE_SUFFIX) ==
	    0);
}

/* The reason inside the message, as zigbee-herdsman words it. */
static const char *
mqota_inner(const struct ipc_reply *rep, char *buf, size_t len)
{
	const cJSON	*msg, *st;
	char		 words[64];

	msg = cJSON_GetObjectItemCaseSensitive(rep->parameters, "message");
	if (strcmp(rep->error, IPC_RADIO_ERR_NO_RESPONSE) == 0)
		return ("Device didn't respond to OTA request");
	/* zotad-radio words a device's own refusal as zigbee2mqtt 1.x did. */
	if (strcmp(rep->error, IPC_RADIO_ERR_UPDATE_FAILED) == 0 &&
	    !cJSON_IsString(msg)) {
		st = cJSON_GetObjectItemCaseSensitive(rep->parameters,
		    "status");
		snprintf(buf, len, "Update failed with reason: '%s'",
		    cJSON_IsString(st) ? mqota_status_words(st->valuestring,
		    words, sizeof(words)) : "unknown");
		return (buf);
	}
	if (strcmp(rep->error, IPC_ERR_DISCONNECTED) == 0)
		return ("lost the connection to zotad-radio");
	if (strcmp(rep->error, IPC_RADIO_ERR_NOT_IN_PROGRESS) == 0)
		return ("the update was interrupted: zotad-radio restarted "
		    "and did not carry it over");
	if (strcmp(rep->error, MQRADIO_ERR_UNREACHABLE) == 0)
		return ("zotad-radio is not available");
	if (strcmp(rep->error, IPC_RADIO_ERR_NOT_RUNNING) == 0)
		return ("the Zigbee network is not running");
	if (cJSON_IsString(msg) && msg->valuestring[0] != '\0')
		return (msg->valuestring);
	return (rep->error);
}

/* Errors zigbee2mqtt reports in words of their own, not wrapped. */
static int
mqota_plain_error(const struct mqota_job *job, const struct ipc_reply *rep,
    char *buf, size_t len)
{
	const char	*e = rep->error, *n = job->name;

	if (strcmp(e, IPC_RADIO_ERR_NO_SUCH_DEVICE) == 0)
		snprintf(buf, len, "Device '%s' does not exist", job->req.id);
	else if (strcmp(e, IPC_RADIO_ERR_NOT_SUPPORTED) == 0 &&
	    job->req.abort)
		snprintf(buf, len, "No OTA in progress to abort for device "
		    "'%s'", n);
	else if (strcmp(e, IPC_RADIO_ERR_NOT_SUPPORTED) == 0)
		snprintf(buf, len, "Device '%s' does not support OTA updates",
		    n);
	else if (strcmp(e, IPC_RADIO_ERR_DEVICE_BUSY) == 0)
		snprintf(buf, len, "OTA update or check for update already in "
		    "progress for '%s'", n);
	else if (mqota_is_no_image(e) && job->req.verb == MQREQ_UPDATE)
		snprintf(buf, len, "Update of '%s' failed (No image currently "
		    "available)", n);
	else if (mqota_is_no_image(e))
		snprintf(buf, len, "No image available for '%s'", n);
	else
		return (0);
	return (1);
}

static void
mqota_error_text(const struct mqota_job *job, const struct ipc_reply *rep,
    char *buf, size_t len)
{
	char		 inner[512];
	const char	*in, *n = job->name;

	if (mqota_plain_error(job, rep, buf, len))
		return;
	in = mqota_inner(rep, inner, sizeof(inner));
	if (job->req.abort)
		snprintf(buf, len, "Failed to abort OTA of '%s' (%s)", n, in);
	else if (job->req.verb == MQREQ_CHECK)
		snprintf(buf, len, "Failed to check if update available for "
		    "'%s' (%s)", n, in);
	else if (job->req.verb == MQREQ_UPDATE)
		snprintf(buf, len, "OTA update of '%s' failed (%s)", n, in);
	else if (job->req.verb == MQREQ_SCHEDULE)
		snprintf(buf, len, "Failed to schedule OTA for '%s' (%s)", n,
		    in);
	else
		snprintf(buf, len, "Failed to unschedule OTA for '%s' (%s)",
		    n, in);
}

static const char *
mqota_opt_str(const cJSON *p, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(p, name);

	return (cJSON_IsString(v) ? v->valuestring : NULL);
}

/* The job's device if it is still there, to update its state. */
static struct mqdev *
mqota_dev(struct mqota_job *job)
{
	return (mqdevs_find(job->d->devs, job->ieee));
}

static void
mqota_state(struct mqota_job *job, enum mqdev_state st)
{
	struct mqdev	*dev;

	if ((dev = mqota_dev(job)) != NULL && mqdevs_set_state(dev, st))
		mqttd_device_changed(job->d, dev);
}

/* The check result as the device's update state. */
static void
mqota_check_state(struct mqota_job *job, const cJSON *entry, int available)
{
	struct mqdev	*dev;
	cJSON		*u;
	const cJSON	*v;

	if ((dev = mqota_dev(job)) == NULL)
		return;
	if ((u = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(u, "state", available ? "available" : "idle");
	v = cJSON_GetObjectItemCaseSensitive(entry, "fileVersion");
	if (cJSON_IsNumber(v))
		cJSON_AddNumberToObject(u, "latest_version", v->valuedouble);
	else if (dev->up.installed >= 0)
		cJSON_AddNumberToObject(u, "latest_version",
		    (double)dev->up.installed);
	cJSON_AddItemToObject(u, "latest_source",
	    mqota_opt_str(entry, "url") != NULL ?
	    cJSON_CreateString(mqota_opt_str(entry, "url")) :
	    cJSON_CreateNull());
	cJSON_AddItemToObject(u, "latest_release_notes",
	    mqota_opt_str(entry, "releaseNotes") != NULL ?
	    cJSON_CreateString(mqota_opt_str(entry, "releaseNotes")) :
	    cJSON_CreateNull());
	if (mqdevs_apply_update(dev, u) == -1)
		log_warnx("zotad-radio: Check for %s: malformed entry",
		    dev->ieee_str);
	mqttd_device_changed(job->d, dev);
	cJSON_Delete(u);
}

static cJSON *
mqota_check_ok(struct mqota_job *job, const cJSON *p)
{
	const cJSON	*av, *entry;
	int		 available;

	av = cJSON_GetObjectItemCaseSensitive(p, "update_available");
	entry = cJSON_GetObjectItemCaseSensitive(p, "entry");
	if (!cJSON_IsObject(entry))
		entry = NULL;
	available = cJSON_IsTrue(av);
	mqota_check_state(job, entry, available);
	return (mqresp_check_data(job->req.id, available, job->req.downgrade,
	    mqota_opt_str(entry, "url"), mqota_opt_str(entry,
	    "releaseNotes")));
}

/* One side of an update: file_version, software_build_id, date_code. */
static cJSON *
mqota_version(const cJSON *v)
{
	cJSON		*o;
	const cJSON	*f;
	static const char *const keys[] = {
		"file_version", "software_build_id", "date_code"
	};
	size_t		 i;

	if (!cJSON_IsObject(v))
		return (cJSON_CreateNull());
	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((f = cJSON_GetObjectItemCaseSensitive(v, keys[i])) !=
		    NULL && (cJSON_IsNumber(f) || cJSON_IsString(f)))
			cJSON_AddItemToObject(o, keys[i],
			    cJSON_Duplicate(f, 1));
	return (o);
}

static cJSON *
mqota_update_ok(struct mqota_job *job, const cJSON *p)
{
	cJSON		*data, *u;
	const cJSON	*to, *fv;
	struct mqdev	*dev;

	to = cJSON_GetObjectItemCaseSensitive(p, "to");
	fv = cJSON_GetObjectItemCaseSensitive(to, "file_version");
	if ((dev = mqota_dev(job)) != NULL && cJSON_IsNumber(fv)) {
		u = cJSON_Parse("{\"state\":\"idle\",\"latest_source\":null,"
		    "\"latest_release_notes\":null}");
		if (u == NULL)
			fatalx("%s: out of memory", __func__);
		cJSON_AddNumberToObject(u, "installed_version",
		    fv->valuedouble);
		cJSON_AddNumberToObject(u, "latest_version", fv->valuedouble);
		if (mqdevs_apply_update(dev, u) >= 0)
			mqttd_device_changed(job->d, dev);
		cJSON_Delete(u);
	} else
		mqota_state(job, MQDEV_IDLE);
	if ((data = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(data, "id", job->req.id);
	cJSON_AddItemToObject(data, "from",
	    mqota_version(cJSON_GetObjectItemCaseSensitive(p, "from")));
	cJSON_AddItemToObject(data, "to", mqota_version(to));
	return (data);
}

static cJSON *
mqota_ok_data(struct mqota_job *job, const cJSON *p)
{
	cJSON		*data;

	if (job->req.verb == MQREQ_CHECK)
		return (mqota_check_ok(job, p));
	if (job->req.verb == MQREQ_UPDATE && !job->req.abort)
		return (mqota_update_ok(job, p));
	if ((data = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(data, "id", job->req.id);
	if (job->req.abort)
		mqota_state(job, MQDEV_AVAILABLE);
	else if (job->req.verb == MQREQ_SCHEDULE) {
		/* The schedule's own source: the url, or the kept image. */
		if (mqota_opt_str(p, "url") != NULL)
			cJSON_AddStringToObject(data, "url",
			    mqota_opt_str(p, "url"));
		mqota_state(job, MQDEV_SCHEDULED);
	} else
		mqota_state(job, MQDEV_IDLE);
	return (data);
}

/* A legacy request's success, on bridge/log. */
static void
mqota_legacy_ok(struct mqota_job *job, const cJSON *p)
{
	char		 msg[MQOTA_ERR_MAX];
	cJSON		*meta;
	int		 available;

	if (job->req.verb == MQREQ_CHECK) {
		available = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p,
		    "update_available"));
		snprintf(msg, sizeof(msg), "%s for '%s'", available ?
		    "Update available" : "No update available", job->name);
		mqota_legacy_log(job->d, job->name, available ? "available" :
		    "not_available", msg, NULL);
		return;
	}
	if ((meta = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToObject(meta, "from",
	    mqota_version(cJSON_GetObjectItemCaseSensitive(p, "from")));
	cJSON_AddItemToObject(meta, "to",
	    mqota_version(cJSON_GetObjectItemCaseSensitive(p, "to")));
	snprintf(msg, sizeof(msg), "Finished update of '%s'", job->name);
	mqota_legacy_log(job->d, job->name, "update_succeeded", msg, meta);
}

/* The state zigbee2mqtt leaves a device in when a request fails. */
static void
mqota_failed_state(struct mqota_job *job, const struct ipc_reply *rep)
{
	if (job->req.verb != MQREQ_UPDATE || job->req.abort ||
	    strcmp(rep->error, IPC_RADIO_ERR_DEVICE_BUSY) == 0)
		return;
	mqota_state(job, mqota_is_no_image(rep->error) ? MQDEV_IDLE :
	    MQDEV_AVAILABLE);
}

/*
 * Updates cut off from zotad-radio. The transfer lives on in zotad-radio
 * (a restarted one carries it over), so the request waits for the radio
 * to come back, attaches to the update there and answers with how it
 * really ended; only a radio that stays away longer than the request's
 * block request timeout makes it an error.
 */

static void
mqota_detached_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mqota_job	*job = arg;
	struct mqttd		*d = job->d;
	char			 msg[MQOTA_ERR_MAX];

	(void)fd;
	(void)what;
	snprintf(msg, sizeof(msg), "OTA update of '%s' failed (the update "
	    "was interrupted: zotad-radio did not come back in time)",
	    job->name);
	log_warnx("%s", msg);
	mqota_state(job, MQDEV_AVAILABLE);
	mqota_fail_as(d, &job->req, job->name, NULL, msg);
	mqota_job_free(job);
}

/* Give up on the radio after the request's block request timeout. */
static void
mqota_detached_arm(struct mqota_job *job)
{
	int64_t		 ms = job->req.block_request_timeout;
	struct timeval	 tv;

	if (ms <= 0)
		ms = job->d->conf->ota.image_block_request_timeout;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(job->timer, &tv);
}

/* Follow the update in zotad-radio again; 0 when the call went out. */
static int
mqota_attach(struct mqota_job *job)
{
	struct mqdev	*dev;
	cJSON		*p;
	char		 s[19];
	int		 r;

	if ((p = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	dev = mqota_dev(job);
	if (dev != NULL)
		snprintf(s, sizeof(s), "%s", dev->ieee_str);
	else
		snprintf(s, sizeof(s), "0x%016llx",
		    (unsigned long long)job->ieee);
	cJSON_AddStringToObject(p, "ieee", s);
	r = mqradio_call(job->d->radio, IPC_RADIO_ATTACH, p, NULL, 0,
	    mqota_on_reply, job);
	cJSON_Delete(p);
	if (r == -1)
		return (-1);
	/* The radio is back: its own timeouts govern the update now. */
	job->attaching = 1;
	evtimer_del(job->timer);
	return (0);
}

/*
 * An update's connection to zotad-radio is gone: keep the request and
 * wait for the radio. Returns 1 when REP was such a loss.
 */
static int
mqota_detach(struct mqota_job *job, const struct ipc_reply *rep)
{
	struct mqttd	*d = job->d;

	if (job->req.verb != MQREQ_UPDATE || job->req.abort ||
	    (strcmp(rep->error, IPC_ERR_DISCONNECTED) != 0 &&
	    (!job->attaching ||
	    strcmp(rep->error, MQRADIO_ERR_UNREACHABLE) != 0)))
		return (0);
	job->attaching = 0;
	if (!job->detached) {
		if ((job->timer = evtimer_new(d->base, mqota_detached_cb,
		    job)) == NULL)
			fatalx("%s: out of memory", __func__);
		TAILQ_INSERT_TAIL(&d->detached, job, entry);
		job->detached = 1;
		mqradio_eager(d->radio, 1);
		log_warnx("lost zotad-radio during the update of %s; waiting "
		    "for it to come back", job->name);
		mqota_detached_arm(job);
		/* Only this connection may have gone: ask at once. */
		if (mqradio_ready(d->radio))
			mqota_attach(job);
		return (1);
	}
	mqota_detached_arm(job);
	return (1);
}

void
mqota_radio_back(struct mqttd *d)
{
	struct mqota_job	*job;

	TAILQ_FOREACH(job, &d->detached, entry)
		if (!job->attaching && mqota_attach(job) == -1)
			log_debug("Attach for %s not sent", job->name);
}

void
mqota_drop_detached(struct mqttd *d)
{
	while (!TAILQ_EMPTY(&d->detached))
		mqota_job_free(TAILQ_FIRST(&d->detached));
}

static void
mqota_on_reply(struct ipc_conn *conn, struct ipc_reply *rep, void *arg)
{
	struct mqota_job	*job = arg;
	struct mqttd		*d = job->d;
	cJSON			*data;
	char			 msg[MQOTA_ERR_MAX];

	(void)conn;
	if (rep->error != NULL && mqota_detach(job, rep))
		return;
	if (rep->error == NULL || (job->req.verb == MQREQ_CHECK &&
	    mqota_is_no_image(rep->error))) {
		data = mqota_ok_data(job, rep->parameters);
		if (job->req.legacy) {
			mqota_legacy_ok(job, rep->parameters);
			cJSON_Delete(data);
		} else
			mqota_answer(d, &job->req, 1, mqresp_ok(data,
			    job->req.transaction));
	} else {
		mqota_error_text(job, rep, msg, sizeof(msg));
		mqota_failed_state(job, rep);
		mqota_fail_as(d, &job->req, job->name, strcmp(rep->error,
		    IPC_RADIO_ERR_NOT_SUPPORTED) == 0 ? "not_supported" :
		    NULL, msg);
	}
	mqota_job_free(job);
}

static const char *
mqota_method(const struct mqreq *req)
{
	if (req->abort)
		return (IPC_RADIO_ABORT);
	switch (req->verb) {
	case MQREQ_CHECK:
		return (IPC_RADIO_CHECK);
	case MQREQ_UPDATE:
		return (IPC_RADIO_UPDATE);
	case MQREQ_SCHEDULE:
		return (IPC_RADIO_SCHEDULE);
	default:
		return (IPC_RADIO_UNSCHEDULE);
	}
}

static void
mqota_add_int(cJSON *p, const char *name, int64_t v)
{
	if (v != 0)
		cJSON_AddNumberToObject(p, name, (double)v);
}

static cJSON *
mqota_params(const struct mqreq *req, const struct mqdev *dev)
{
	cJSON	*p;

	if ((p = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(p, "ieee", dev->ieee_str);
	if (req->abort || req->verb == MQREQ_UNSCHEDULE)
		return (p);
	cJSON_AddBoolToObject(p, "downgrade", req->downgrade);
	if (req->url != NULL)
		cJSON_AddStringToObject(p, "url", req->url);
	if (req->image != NULL)
		cJSON_AddBoolToObject(p, "image_fd", 1);
	if (req->verb == MQREQ_SCHEDULE)
		return (p);
	mqota_add_int(p, "image_block_request_timeout",
	    req->block_request_timeout);
	mqota_add_int(p, "image_block_response_delay",
	    req->block_response_delay);
	mqota_add_int(p, "default_maximum_data_size", req->max_data_size);
	return (p);
}

/* An uploaded image travels to zotad-radio as a sealed memfd. */
static int
mqota_image_fd(const struct mqreq *req)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd;

	if ((fd = memfd_create("zotad-hex-image", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1)
		return (-1);
	while (off < req->image_len) {
		if ((n = write(fd, req->image + off, req->image_len - off)) ==
		    -1) {
			close(fd);
			return (-1);
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static void
mqota_send(struct mqttd *d, struct mqota_job *job, const struct mqdev *dev)
{
	cJSON	*params;
	int	 fd = -1, r;

	if (job->req.image != NULL && (fd = mqota_image_fd(&job->req)) ==
	    -1) {
		log_warn("image for %s", dev->ieee_str);
		mqota_fail(d, &job->req, "Cannot pass the uploaded image on");
		mqota_job_free(job);
		return;
	}
	params = mqota_params(&job->req, dev);
	r = mqradio_call(d->radio, mqota_method(&job->req), params,
	    fd != -1 ? &fd : NULL, fd != -1 ? 1 : 0, mqota_on_reply, job);
	cJSON_Delete(params);
	if (fd != -1)
		close(fd);
	if (r == -1) {
		mqota_fail(d, &job->req, "zotad-radio is not available, the "
		    "request was not sent");
		mqota_job_free(job);
	}
}

/* Answer what can be answered without the radio; 1 when done. */
static int
mqota_refuse(struct mqttd *d, struct mqreq *req, struct mqdev **devp)
{
	char		 msg[MQOTA_ERR_MAX];
	struct mqdev	*dev;

	if (!mqradio_ready(d->radio)) {
		mqota_fail(d, req, "zotad-radio is not available, the request "
		    "was not sent");
		return (1);
	}
	if ((dev = mqdevs_resolve(d->devs, req->id)) == NULL) {
		snprintf(msg, sizeof(msg), "Device '%s' does not exist",
		    req->id);
		mqota_fail(d, req, msg);
		return (1);
	}
	if (!dev->supports_ota && req->url == NULL && req->image == NULL &&
	    !req->abort && req->verb != MQREQ_UNSCHEDULE) {
		snprintf(msg, sizeof(msg), "Device '%s' does not support OTA "
		    "updates", dev->friendly_name);
		mqota_fail_as(d, req, dev->friendly_name, "not_supported",
		    msg);
		return (1);
	}
	*devp = dev;
	return (0);
}

/* The legacy API says when it starts; the 2.x one only answers. */
static void
mqota_legacy_start(struct mqttd *d, const struct mqreq *req,
    const char *name)
{
	char	 msg[MQOTA_ERR_MAX];

	if (req->verb == MQREQ_CHECK) {
		snprintf(msg, sizeof(msg), "Checking if update available for "
		    "'%s'", name);
		mqota_legacy_log(d, name, "checking_if_available", msg, NULL);
	} else {
		snprintf(msg, sizeof(msg), "Updating '%s' to latest firmware",
		    name);
		mqota_legacy_log(d, name, "update_in_progress", msg, NULL);
	}
}

void
mqota_legacy_progress(struct mqttd *d, const struct mqdev *dev)
{
	char	 msg[MQOTA_ERR_MAX];
	cJSON	*meta;

	if (dev->up.remaining >= 0)
		snprintf(msg, sizeof(msg), "Update of '%s' at %.2f%%, "
		    "\u2248 %lld minutes remaining", dev->friendly_name,
		    dev->up.progress, (long long)(dev->up.remaining + 30) /
		    60);
	else
		snprintf(msg, sizeof(msg), "Update of '%s' at %.2f%%",
		    dev->friendly_name, dev->up.progress);
	if ((meta = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddNumberToObject(meta, "progress", dev->up.progress);
	mqota_legacy_log(d, dev->friendly_name, "update_progress", msg, meta);
}

void
mqota_request(struct mqttd *d, const char *suffix, const char *payload,
    size_t len, int legacy)
{
	struct mqota_job	*job;
	struct mqdev		*dev;
	char			 err[MQOTA_ERR_MAX];
	int			 t;

	if ((job = calloc(1, sizeof(*job))) == NULL) {
		log_warn("%s", __func__);
		return;
	}
	job->d = d;
	job->req.legacy = legacy;
	if ((t = mqreq_topic(suffix, &job->req)) == -1) {
		log_warnx("OTA request on an unknown topic "
		    ".../ota_update/%.64s", suffix);
		goto done;
	}
	/* Hex doubles an image; anything much larger is not a request. */
	if (len > 2 * d->conf->zotad.max_image_size + MQOTA_SLACK) {
		snprintf(err, sizeof(err), "Invalid payload: %zu bytes, more "
		    "than a request may hold", len);
		mqota_fail(d, &job->req, err);
		goto done;
	}
	if (mqreq_parse(&job->req, payload, len,
	    d->conf->zotad.max_image_size, err, sizeof(err)) == -1) {
		mqota_fail(d, &job->req, err);
		goto done;
	}
	if (t == -2) {
		snprintf(err, sizeof(err), "Invalid topic: '.../ota_update/"
		    "%.64s' is not a request", suffix);
		mqota_fail(d, &job->req, err);
		goto done;
	}
	if (mqota_refuse(d, &job->req, &dev))
		goto done;
	job->ieee = dev->ieee;
	if ((job->name = strdup(dev->friendly_name)) == NULL)
		fatalx("%s: out of memory", __func__);
	if (legacy)
		mqota_legacy_start(d, &job->req, job->name);
	mqota_send(d, job, dev);
	return;
 done:
	mqota_job_free(job);
}

struct mqota_permit {
	struct mqttd	*d;
	cJSON		*transaction;
	char		*device;	/* as the request named it */
	int		 time;
};

static void
mqota_permit_answer(struct mqttd *d, char *payload)
{
	mqttd_publish(d, "bridge/response/permit_join", payload, 0, 0);
	free(payload);
}

static void
mqota_permit_free(struct mqota_permit *pj)
{
	cJSON_Delete(pj->transaction);
	free(pj->device);
	free(pj);
}

static void
mqota_on_permit(struct ipc_conn *conn, struct ipc_reply *rep, void *arg)
{
	struct mqota_permit	*pj = arg;
	cJSON			*data;
	char			 msg[MQOTA_ERR_MAX];
	const cJSON		*m;

	(void)conn;
	if (rep->error == NULL) {
		if ((data = cJSON_CreateObject()) == NULL)
			fatalx("%s: out of memory", __func__);
		cJSON_AddNumberToObject(data, "time", pj->time);
		if (pj->device != NULL)
			cJSON_AddStringToObject(data, "device", pj->device);
		mqota_permit_answer(pj->d, mqresp_ok(data, pj->transaction));
		mqota_permit_free(pj);
		return;
	}
	m = cJSON_GetObjectItemCaseSensitive(rep->parameters, "message");
	if (pj->device != NULL &&
	    strcmp(rep->error, IPC_RADIO_ERR_NO_SUCH_DEVICE) == 0)
		snprintf(msg, sizeof(msg), "Device '%s' does not exist",
		    pj->device);
	else
		snprintf(msg, sizeof(msg), "Failed to permit join (%s)",
		    cJSON_IsString(m) ? m->valuestring : rep->error);
	mqota_permit_answer(pj->d, mqresp_error(msg, pj->transaction));
	mqota_permit_free(pj);
}

/*
 * The one node a permit_join names, as PermitJoin takes it: a device we
 * know, the coordinator by zigbee2mqtt's name for it, or an address the
 * radio may know as its own. Returns 0, or -1 when nothing matches.
 */
static int
mqota_permit_node(struct mqttd *d, const char *id, cJSON *params)
{
	struct mqdev	*dev;
	uint64_t	 ieee;
	char		 s[19];

	if (strcmp(id, MQOTA_COORDINATOR) == 0)
		cJSON_AddBoolToObject(params, "coordinator", 1);
	else if ((dev = mqdevs_resolve(d->devs, id)) != NULL)
		cJSON_AddStringToObject(params, "ieee", dev->ieee_str);
	else if (mqdevs_parse_ieee(id, &ieee) == 0) {
		snprintf(s, sizeof(s), "0x%016llx", (unsigned long long)ieee);
		cJSON_AddStringToObject(params, "ieee", s);
	} else
		return (-1);
	return (0);
}

/* Ask the radio; on success P's transaction moves into the job. */
static const char *
mqota_permit_send(struct mqttd *d, struct mqbridge_permit *p, char *err,
    size_t errlen)
{
	struct mqota_permit	*pj;
	cJSON			*params;
	int			 r;

	if ((params = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddNumberToObject(params, "time", p->time);
	if (p->device != NULL && mqota_permit_node(d, p->device, params) ==
	    -1) {
		cJSON_Delete(params);
		snprintf(err, errlen, "Device '%s' does not exist", p->device);
		return (err);
	}
	if ((pj = calloc(1, sizeof(*pj))) == NULL)
		fatalx("%s: out of memory", __func__);
	pj->d = d;
	pj->time = p->time;
	r = mqradio_call(d->radio, IPC_RADIO_PERMIT_JOIN, params, NULL, 0,
	    mqota_on_permit, pj);
	cJSON_Delete(params);
	if (r == -1) {
		free(pj);
		return ("zotad-radio is not available, the request was not "
		    "sent");
	}
	pj->transaction = p->transaction;
	p->transaction = NULL;
	pj->device = p->device;
	p->device = NULL;
	return (NULL);
}

void
mqota_permit_join(struct mqttd *d, const char *payload, size_t len)
{
	struct mqbridge_permit	 p;
	char			 err[MQOTA_ERR_MAX];
	const char		*why;

	if (mqbridge_permit_parse(payload, len, &p, err, sizeof(err)) == -1)
		mqota_permit_answer(d, mqresp_error(err, p.transaction));
	else if ((why = mqota_permit_send(d, &p, err, sizeof(err))) != NULL)
		mqota_permit_answer(d, mqresp_error(why, p.transaction));
	mqbridge_permit_clear(&p);
}
