/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The io.zotad.Radio client: one connection to radio.sock, re-made with
 * back-off whenever zotad-radio goes away. On each connection we ask for
 * the device list, then subscribe to the event stream.
 *
 * What we speak is zotad-radio's service (zotad-radio/service.h), with
 * the names of ipc_catalogue.h:
 *
 *	ListDevices {} -> {"devices": [DEVICE...]}, DEVICE being the
 *	    registry's record ("ieee", "type", "manufacturer_name",
 *	    "model_id", "sw_build_id", "date_code", "interview",
 *	    "ota_endpoint", "ota": {"file_version"}) plus "update":
 *	    {"state", "progress"?}
 *	GetDevice {"ieee"} -> {"device": DEVICE}
 *	Check {"ieee", "downgrade", "url"?} -> {"update_available",
 *	    "entry"?: the matched index entry ("fileVersion", "url", ...)}
 *	Update {"ieee", "downgrade", "url"?, "image_fd"? (true: the image
 *	    travels as a descriptor), "image_block_request_timeout"?,
 *	    "image_block_response_delay"?, "default_maximum_data_size"?}
 *	    -> when finished: {"from": VERSION, "to": VERSION}, VERSION being
 *	    {"file_version", "software_build_id", "date_code"}
 *	Attach {"ieee"} -> as Update: follows an update whose connection
 *	    was lost (NotInProgress when the radio did not carry it over)
 *	Schedule {"ieee", "downgrade", "url"?, "image_fd"?} -> {"url"?}:
 *	    the schedule's own source, for an image the file keeping it
 *	Unschedule {"ieee"} -> {}
 *	Abort {"ieee"} -> {}
 *	PermitJoin {"time", "ieee"? or "coordinator"?} -> {}: through one
 *	    router or the coordinator alone, answered once it agreed
 *	Subscribe {} with more -> {"subscribed": true}, then
 *	    {"event": EVENT}: {"type": "update", "ieee", "state",
 *	    "progress"?, "remaining"?, "installed_version"?,
 *	    "latest_version"?, "error"?} or {"type": "device", "ieee",
 *	    "event": "joined" | "interviewed" | "left"}.
 *
 * Errors carry {"message"} with words for the user.
 *
 * Replies on one connection come in the order of the calls, and an
 * update holds its call until the transfer ends, so the event stream has
 * a connection of its own and every other call is made on a connection
 * of its own too, at most MQRADIO_MAX_CALLS at once; calls beyond that
 * wait here, in order.
 *
 * Errors: those of the catalogue, plus NoResponse (the device did not
 * answer the notify), UpdateFailed {"status"} (the device ended the
 * transfer with a ZCL status), NotInProgress (nothing to attach to),
 * NotScheduled, and io.zotad.Fetch.NoImageAvailable passed through.
 * Any error may carry {"message"} with detail for the user.
 */

#include <sys/queue.h>

#include <errno.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "mqttd.h"

#define MQRADIO_BACKOFF_MAX	30	/* seconds */
#define MQRADIO_MAX_CALLS	24	/* connections for calls at once */

struct mqradio_job {
	TAILQ_ENTRY(mqradio_job) entry;
	struct mqradio		*r;
	struct ipc_conn		*conn;
	char			*method;
	cJSON			*params;
	int			 fd;		/* -1 for none */
	void			(*cb)(struct ipc_conn *, struct ipc_reply *,
				    void *);
	void			*arg;
};

TAILQ_HEAD(mqradio_jobs, mqradio_job);

struct mqradio {
	struct event_base	*base;
	char			*path;
	struct mqradio_cbs	 cbs;
	void			*arg;
	struct ipc_conn		*conn;		/* device list and events */
	struct event		*ev_retry;
	struct event		*ev_next;	/* start waiting calls */
	struct mqradio_jobs	 waiting;
	struct mqradio_jobs	 active;
	size_t			 running;
	int			 backoff;
	int			 eager;	/* retry every second */
	int			 ready;
	int			 warned;
};

static void	mqradio_retry(struct mqradio *r);

static void
mqradio_on_close(struct ipc_conn *conn, void *arg)
{
	struct mqradio	*r = arg;
	int		 was = r->ready;

	(void)conn;
	r->conn = NULL;
	r->ready = 0;
	if (was)
		log_warnx("lost zotad-radio");
	if (r->cbs.lost != NULL)
		r->cbs.lost(r->arg);
	mqradio_retry(r);
}

static void
mqradio_on_event(struct ipc_conn *conn, struct ipc_reply *rep, void *arg)
{
	struct mqradio	*r = arg;
	const cJSON	*ev;

	if (rep->error != NULL) {
		if (strcmp(rep->error, IPC_ERR_DISCONNECTED) != 0) {
			log_warnx("zotad-radio ended the event stream: %s",
			    rep->error);
			ipc_conn_free(conn);
		}
		return;
	}
	ev = cJSON_GetObjectItemCaseSensitive(rep->parameters, "event");
	if (cJSON_IsObject(ev) && r->cbs.event != NULL)
		r->cbs.event(ev, r->arg);
	else if (ev != NULL)
		log_warnx("zotad-radio: an event that is not an object");
	if (!rep->continues) {
		log_warnx("zotad-radio ended the event stream");
		ipc_conn_free(conn);
	}
}

static void
mqradio_on_devices(struct ipc_conn *conn, struct ipc_reply *rep, void *arg)
{
	struct mqradio	*r = arg;
	const cJSON	*devs;

	if (rep->error != NULL) {
		if (strcmp(rep->error, IPC_ERR_DISCONNECTED) != 0) {
			log_warnx("zotad-radio: ListDevices: %s", rep->error);
			ipc_conn_free(conn);
		}
		return;
	}
	devs = cJSON_GetObjectItemCaseSensitive(rep->parameters, "devices");
	if (!cJSON_IsArray(devs)) {
		/* A sibling that breaks the protocol: drop it. */
		log_warnx("zotad-radio: ListDevices without a device list");
		ipc_conn_free(conn);
		return;
	}
	r->ready = 1;
	r->backoff = 1;
	log_info("connected to zotad-radio, %d devices",
	    cJSON_GetArraySize(devs));
	if (r->cbs.devices != NULL)
		r->cbs.devices(devs, r->arg);
}

static void
mqradio_connect(struct mqradio *r)
{
	if ((r->conn = ipc_connect(r->base, r->path)) == NULL) {
		if (!r->warned)
			log_warn("zotad-radio at %s", r->path);
		r->warned = 1;
		mqradio_retry(r);
		return;
	}
	r->warned = 0;
	ipc_conn_set_close_cb(r->conn, mqradio_on_close, r);
	if (ipc_conn_call(r->conn, IPC_RADIO_LIST_DEVICES, NULL, 0, NULL, 0,
	    mqradio_on_devices, r) == -1 ||
	    ipc_conn_call(r->conn, IPC_RADIO_SUBSCRIBE, NULL, IPC_CALL_MORE,
	    NULL, 0, mqradio_on_event, r) == -1) {
		log_warn("zotad-radio: first calls");
		ipc_conn_free(r->conn);
	}
}

static void
mqradio_on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mqradio_connect(arg);
}

static void
mqradio_retry(struct mqradio *r)
{
	struct timeval	 tv;

	if (r->ev_retry == NULL || evtimer_pending(r->ev_retry, NULL))
		return;
	tv.tv_sec = r->eager ? 1 : r->backoff;
	tv.tv_usec = 0;
	evtimer_add(r->ev_retry, &tv);
	r->backoff = r->backoff * 2 > MQRADIO_BACKOFF_MAX ?
	    MQRADIO_BACKOFF_MAX : r->backoff * 2;
}

static void
mqradio_job_free(struct mqradio_job *job)
{
	if (job->fd != -1)
		close(job->fd);
	cJSON_Delete(job->params);
	free(job->method);
	free(job);
}

/* Tell the caller its call could not be made. */
static void
mqradio_job_fail(struct mqradio_job *job)
{
	struct ipc_reply	 rep;
	cJSON			*none;

	if ((none = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	memset(&rep, 0, sizeof(rep));
	rep.error = MQRADIO_ERR_UNREACHABLE;
	rep.parameters = none;
	job->cb(NULL, &rep, job->arg);
	cJSON_Delete(none);
}

static void
mqradio_on_reply(struct ipc_conn *conn, struct ipc_reply *rep, void *arg)
{
	struct mqradio_job	*job = arg;
	struct mqradio		*r = job->r;

	job->cb(conn, rep, job->arg);
	if (rep->continues)
		return;
	/* The close callback accounts for the connection. */
	TAILQ_REMOVE(&r->active, job, entry);
	job->conn = NULL;
	mqradio_job_free(job);
	ipc_conn_free(conn);
}

static void
mqradio_on_call_close(struct ipc_conn *conn, void *arg)
{
	struct mqradio	*r = arg;

	(void)conn;
	r->running--;
	if (!TAILQ_EMPTY(&r->waiting))
		event_active(r->ev_next, EV_TIMEOUT, 0);
}

static void
mqradio_job_start(struct mqradio *r, struct mqradio_job *job)
{
	if ((job->conn = ipc_connect(r->base, r->path)) == NULL) {
		log_debug("zotad-radio at %s: %s", r->path, strerror(errno));
		mqradio_job_fail(job);
		mqradio_job_free(job);
		return;
	}
	r->running++;
	ipc_conn_set_close_cb(job->conn, mqradio_on_call_close, r);
	if (ipc_conn_call(job->conn, job->method, job->params, 0,
	    job->fd != -1 ? &job->fd : NULL, job->fd != -1 ? 1 : 0,
	    mqradio_on_reply, job) == -1) {
		log_warn("zotad-radio: %s", job->method);
		ipc_conn_free(job->conn);
		mqradio_job_fail(job);
		mqradio_job_free(job);
		return;
	}
	TAILQ_INSERT_TAIL(&r->active, job, entry);
}

static void
mqradio_on_next(evutil_socket_t fd, short what, void *arg)
{
	struct mqradio		*r = arg;
	struct mqradio_job	*job;

	(void)fd;
	(void)what;
	while (r->running < MQRADIO_MAX_CALLS &&
	    (job = TAILQ_FIRST(&r->waiting)) != NULL) {
		TAILQ_REMOVE(&r->waiting, job, entry);
		mqradio_job_start(r, job);
	}
}

struct mqradio *
mqradio_new(struct event_base *base, const char *path,
    const struct mqradio_cbs *cbs, void *arg)
{
	struct mqradio	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	TAILQ_INIT(&r->waiting);
	TAILQ_INIT(&r->active);
	if ((r->path = strdup(path)) == NULL ||
	    (r->ev_retry = evtimer_new(base, mqradio_on_retry, r)) == NULL ||
	    (r->ev_next = event_new(base, -1, 0, mqradio_on_next, r)) ==
	    NULL) {
		log_warn("%s", __func__);
		mqradio_free(r);
		return (NULL);
	}
	r->base = base;
	r->cbs = *cbs;
	r->arg = arg;
	r->backoff = 1;
	return (r);
}

void
mqradio_start(struct mqradio *r)
{
	mqradio_connect(r);
}

void
mqradio_free(struct mqradio *r)
{
	struct mqradio_job	*job;
	struct event		*ev;

	if (r == NULL)
		return;
	/* No reconnect from the close callback while we go. */
	ev = r->ev_retry;
	r->ev_retry = NULL;
	r->cbs.lost = NULL;
	r->ready = 0;
	if (r->conn != NULL)
		ipc_conn_free(r->conn);
	while ((job = TAILQ_FIRST(&r->waiting)) != NULL) {
		TAILQ_REMOVE(&r->waiting, job, entry);
		mqradio_job_free(job);
	}
	/* Each reply callback, told of the disconnect, frees its job. */
	while ((job = TAILQ_FIRST(&r->active)) != NULL)
		ipc_conn_free(job->conn);
	if (ev != NULL)
		event_free(ev);
	if (r->ev_next != NULL)
		event_free(r->ev_next);
	free(r->path);
	free(r);
}

void
mqradio_eager(struct mqradio *r, int on)
{
	if (r->eager == on)
		return;
	r->eager = on;
	/* A retry far off comes sooner. */
	if (on && r->ev_retry != NULL && evtimer_pending(r->ev_retry,
	    NULL)) {
		evtimer_del(r->ev_retry);
		mqradio_retry(r);
	}
}

int
mqradio_ready(const struct mqradio *r)
{
	return (r->ready);
}

int
mqradio_call(struct mqradio *r, const char *method, const cJSON *params,
    const int *fds, size_t nfds,
    void (*cb)(struct ipc_conn *, struct ipc_reply *, void *), void *arg)
{
	struct mqradio_job	*job;

	if (!r->ready || nfds > 1) {
		errno = ENOTCONN;
		return (-1);
	}
	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->method = strdup(method)) == NULL ||
	    (params != NULL && (job->params = cJSON_Duplicate(params, 1)) ==
	    NULL))
		fatalx("%s: out of memory", __func__);
	job->fd = -1;
	if (nfds == 1 && (job->fd = dup(fds[0])) == -1) {
		mqradio_job_free(job);
		return (-1);
	}
	job->r = r;
	job->cb = cb;
	job->arg = arg;
	TAILQ_INSERT_TAIL(&r->waiting, job, entry);
	event_active(r->ev_next, EV_TIMEOUT, 0);
	return (0);
}
