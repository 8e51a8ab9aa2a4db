/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/queue.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "config.h"
#include "devices.h"
#include "fetchc.h"
#include "interview.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "otafile.h"
#include "otasrv.h"
#include "util.h"
#include "zcl.h"
#include "zclreq.h"

#define OTAS_MSG_LEN		256
#define OTAS_FRAME_MAX		128
#define OTAS_SHORT_DELAY_MS	1000	/* longer waits use WAIT_FOR_DATA */
#define OTAS_BATTERY_ATTR	0x0021	/* remaining, in half percent */

enum otas_kind {
	OTAS_CHECK,
	OTAS_UPDATE,		/* a caller asked */
	OTAS_SCHEDULED,		/* the device's own query, scheduled */
	OTAS_RESUMED		/* restored after a restart */
};

enum otas_state {
	OTAS_QUEUED,
	OTAS_BATTERY,
	OTAS_NOTIFY,
	OTAS_FETCH,
	OTAS_TRANSFER,
	OTAS_REBOOT
};

static const char *const otas_state_names[] = { "queued", "updating",
    "updating", "updating", "updating", "waiting for device" };

/* A validated image: the served range only. */
struct otas_img {
	uint8_t		*data;
	uint32_t	 len;
	uint16_t	 manuf;
	uint16_t	 image_type;
	uint32_t	 version;
	uint16_t	 min_hw;
	uint16_t	 max_hw;
	int		 has_hw;
};

/* A pending Image Block Response (or a page of them). */
struct otas_pending {
	int		 active;
	uint8_t		 tsn;
	uint8_t		 src_ep;	/* our endpoint the device used */
	uint32_t	 offset;
	uint32_t	 sent_offset;	/* of the last block sent */
	uint32_t	 page_end;	/* 0 for a single block */
	uint8_t		 dev_max;
	uint16_t	 spacing_ms;
};

struct otas_sess {
	TAILQ_ENTRY(otas_sess)	 entry;
	struct otas		*srv;
	uint64_t		 ieee;
	uint64_t		 gen;
	enum otas_kind		 kind;
	enum otas_state		 st;
	struct otas_opts	 opts;
	char			*url;
	struct otas_img		 img;		/* data NULL until known */
	int			 explicit_img;	/* the caller's own image */
	uint8_t			 dev_ep;
	uint8_t			 our_ep;
	int			 have_query;
	struct ota_query_req	 query;
	int			 query_tsn;	/* -1: answered */
	uint32_t		 from_version;
	char			 from_sw[DEV_STR_MAX + 1];
	char			 from_date[DEV_STR_MAX + 1];
	int			 learnt;	/* block size cap, 0 none */
	int			 reading;	/* the new version, once back */
	uint32_t		 to_version;
	int			 paced;
	struct timespec		 started;
	struct timespec		 last_rsp;
	struct timespec		 last_report;
	uint64_t		 sess_bytes;
	uint32_t		 pos;
	struct otas_pending	 pend;
	struct event		*timer;
	struct event		*delay_ev;
	otas_done_cb		*cb;
	void			*arg;
};

/*
 * How an update ended that nobody followed any more (its caller went
 * away, or a restart carried it over), kept until a caller attaches to
 * hear it or a new session for the device starts: so it is always the
 * device's latest update.
 */
struct otas_outcome {
	TAILQ_ENTRY(otas_outcome) entry;
	uint64_t		 ieee;
	char			*error;		/* NULL on success */
	char			*msg;
	cJSON			*result;
};

struct otas {
	struct event_base	*base;
	const struct config	*conf;
	struct adapter		*ad;
	struct zclreq		*z;
	struct registry		*reg;
	struct fetchc		*fc;
	otas_event_cb		*ev;
	void			*ev_arg;
	char			*path;
	TAILQ_HEAD(, otas_sess)	 sessions;
	TAILQ_HEAD(, otas_outcome) outcomes;
	uint64_t		 next_gen;
};

/* Callbacks that may outlive their session find it again by these. */
struct otas_ref {
	struct otas		*srv;
	uint64_t		 ieee;
	uint64_t		 gen;
};

static void	otas_pump(struct otas *);
static void	otas_save(struct otas *);
static void	otas_answer_query(struct otas_sess *);
static void	otas_send_pending(struct otas_sess *);
static struct otas_sess *otas_sess_new(struct otas *, uint64_t,
		    enum otas_kind, const struct otas_opts *, otas_done_cb *,
		    void *);
static void	otas_enqueue(struct otas_sess *);
static int	otas_has_room(struct otas *);

/*
 * Small helpers.
 */

static int64_t
otas_ms_since(const struct timespec *t)
{
	struct timespec	 now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ((int64_t)(now.tv_sec - t->tv_sec) * 1000 +
	    (now.tv_nsec - t->tv_nsec) / 1000000);
}

static void
otas_now(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
}

static void
otas_arm(struct event *ev, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(ev, &tv);
}

static struct otas_sess *
otas_find(struct otas *srv, uint64_t ieee)
{
	struct otas_sess	*s;

	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (s->ieee == ieee)
			return (s);
	return (NULL);
}

static struct otas_sess *
otas_deref(const struct otas_ref *ref)
{
	struct otas_sess	*s = otas_find(ref->srv, ref->ieee);

	return (s != NULL && s->gen == ref->gen ? s : NULL);
}

static struct otas_ref *
otas_ref(struct otas_sess *s)
{
	struct otas_ref	*r;

	if ((r = malloc(sizeof(*r))) == NULL)
		return (NULL);
	r->srv = s->srv;
	r->ieee = s->ieee;
	r->gen = s->gen;
	return (r);
}

static int
otas_opt(int v, int conf)
{
	return (v >= 0 ? v : conf);
}

/*
 * Vendor quirks, as users' devices need them.
 */

size_t
otas_block_size(int conf_max, uint16_t manuf, uint8_t dev_max,
    size_t frame_room, int learnt, uint32_t offset, uint32_t total)
{
	size_t	 n = (size_t)conf_max;

	/* Insta and Dresden Elektronik fail above 40 bytes. */
	if (manuf == 0x117A || manuf == 0x1135)
		n = 40;
	/* Legrand needs exactly what it asks for. */
	else if (manuf == 0x1021)
		n = dev_max;
	if (n > dev_max)
		n = dev_max;
	if (n > frame_room)
		n = frame_room;
	if (learnt > 0 && n > (size_t)learnt)
		n = (size_t)learnt;
	if (offset >= total)
		return (0);
	if (n > total - offset)
		n = total - offset;
	return (n);
}

int
otas_quirk_timeout(uint16_t manuf, uint16_t image_type, int conf_ms)
{
	int	 ms = conf_ms;

	if (manuf == 0x1209)		/* Bosch: slow native downloads */
		ms = 3600 * 1000;
	else if (manuf == 0x1021)	/* Legrand */
		ms = 30 * 60 * 1000;
	else if (image_type == 8199)	/* Sonoff */
		ms = 3600 * 1000;
	return (ms > conf_ms ? ms : conf_ms);
}

/*
 * Events and the end of a session.
 */

static cJSON *
otas_event_base(uint64_t ieee, const char *state)
{
	cJSON	*ev;
	char	 s[19];

	if ((ev = cJSON_CreateObject()) == NULL)
		return (NULL);
	dev_ieee_str(ieee, s);
	cJSON_AddStringToObject(ev, "type", "update");
	cJSON_AddStringToObject(ev, "ieee", s);
	cJSON_AddStringToObject(ev, "state", state);
	return (ev);
}

static void
otas_emit(struct otas *srv, cJSON *ev)
{
	if (ev == NULL)
		return;
	if (srv->ev != NULL)
		srv->ev(ev, srv->ev_arg);
	cJSON_Delete(ev);
}

static void
otas_emit_state(struct otas_sess *s)
{
	cJSON	*ev = otas_event_base(s->ieee, otas_state_names[s->st]);

	if (ev == NULL)
		return;
	if (s->have_query)
		cJSON_AddNumberToObject(ev, "installed_version",
		    s->query.file_version);
	if (s->img.data != NULL)
		cJSON_AddNumberToObject(ev, "latest_version", s->img.version);
	otas_emit(s->srv, ev);
}

static void
otas_emit_progress(struct otas_sess *s)
{
	cJSON	*ev = otas_event_base(s->ieee, "updating");
	double	 rate, progress;
	int64_t	 ms = otas_ms_since(&s->started);

	if (ev == NULL)
		return;
	progress = s->img.len > 0 ? (double)s->pos * 100.0 / s->img.len : 0;
	cJSON_AddNumberToObject(ev, "progress",
	    (double)(int64_t)(progress * 100) / 100);
	/* From bytes delivered in this session, so a resume does not lie. */
	rate = ms > 0 ? (double)s->sess_bytes * 1000.0 / (double)ms : 0;
	if (rate > 0)
		cJSON_AddNumberToObject(ev, "remaining",
		    (double)(int64_t)((s->img.len - s->pos) / rate + 0.5));
	if (s->have_query)
		cJSON_AddNumberToObject(ev, "installed_version",
		    s->query.file_version);
	cJSON_AddNumberToObject(ev, "latest_version", s->img.version);
	/* Lets a client show a transfer rate, not only a percentage. */
	cJSON_AddNumberToObject(ev, "image_size", s->img.len);
	otas_emit(s->srv, ev);
	otas_now(&s->last_report);
}

static int
otas_is_transfer(const struct otas_sess *s)
{
	return (s->kind != OTAS_CHECK);
}

/* Free S; DROP_IMG also removes its saved image, which ends resuming. */
static void
otas_free_sess(struct otas_sess *s, int drop_img)
{
	char	 path[PATH_MAX];

	if (drop_img && s->img.data != NULL && otas_is_transfer(s)) {
		snprintf(path, sizeof(path), "%s/ota-%016" PRIx64 ".img",
		    s->srv->conf->zotad.state_dir, s->ieee);
		unlink(path);
	}
	if (s->timer != NULL)
		event_free(s->timer);
	if (s->delay_ev != NULL)
		event_free(s->delay_ev);
	free(s->img.data);
	free(s->url);
	free(s);
}

static struct otas_outcome *
otas_outcome_find(struct otas *srv, uint64_t ieee)
{
	struct otas_outcome	*o;

	TAILQ_FOREACH(o, &srv->outcomes, entry)
		if (o->ieee == ieee)
			return (o);
	return (NULL);
}

static void
otas_outcome_drop(struct otas *srv, uint64_t ieee)
{
	struct otas_outcome	*o;

	if ((o = otas_outcome_find(srv, ieee)) == NULL)
		return;
	TAILQ_REMOVE(&srv->outcomes, o, entry);
	free(o->error);
	free(o->msg);
	cJSON_Delete(o->result);
	free(o);
}

/* An update ended with nobody to tell: keep the outcome. */
static void
otas_outcome_keep(struct otas *srv, uint64_t ieee, const char *error,
    const char *msg, const cJSON *result)
{
	struct otas_outcome	*o;

	otas_outcome_drop(srv, ieee);
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (error != NULL && (o->error = strdup(error)) == NULL) ||
	    (msg != NULL && (o->msg = strdup(msg)) == NULL) ||
	    (result != NULL && (o->result = cJSON_Duplicate(result, 1)) ==
	    NULL))
		fatalx("%s: out of memory", __func__);
	o->ieee = ieee;
	TAILQ_INSERT_TAIL(&srv->outcomes, o, entry);
}

/* End S: tell the caller, emit the final state, start the next. */
static void
otas_end(struct otas_sess *s, const char *error, const char *msg,
    const cJSON *result)
{
	struct otas	*srv = s->srv;
	const cJSON	*v;
	char		 ieee[19];
	cJSON		*ev;

	TAILQ_REMOVE(&srv->sessions, s, entry);
	dev_ieee_str(s->ieee, ieee);
	if (error != NULL && s->kind != OTAS_CHECK)
		log_warnx("update of %s failed: %s", ieee, msg);
	if (s->kind != OTAS_CHECK) {
		ev = otas_event_base(s->ieee, "idle");
		if (ev != NULL && error != NULL)
			cJSON_AddStringToObject(ev, "error", msg);
		/*
		 * The version the device now runs: a scheduled update has
		 * no caller to hear it from the result.
		 */
		v = cJSON_GetObjectItemCaseSensitive(result, "to");
		v = cJSON_GetObjectItemCaseSensitive(v, "file_version");
		if (ev != NULL && error == NULL && cJSON_IsNumber(v))
			cJSON_AddNumberToObject(ev, "installed_version",
			    v->valuedouble);
		otas_emit(srv, ev);
	}
	if (s->cb != NULL)
		s->cb(s->ieee, error, msg, result, s->arg);
	else if (s->kind == OTAS_UPDATE || s->kind == OTAS_RESUMED)
		otas_outcome_keep(srv, s->ieee, error, msg, result);
	otas_free_sess(s, 1);
	otas_save(srv);
	otas_pump(srv);
}

static void
otas_fail(struct otas_sess *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
otas_fail(struct otas_sess *s, const char *fmt, ...)
{
	char	 msg[OTAS_MSG_LEN];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	otas_end(s, IPC_RADIO_ERR_UPDATE_FAILED, msg, NULL);
}

/*
 * Images.
 */

/* Parse and keep the served range of BUF. Returns 0 or -1 with ERR. */
static int
otas_img_load(struct otas_img *img, const uint8_t *buf, size_t len,
    char *err, size_t errlen)
{
	struct ota_image	*oi;

	memset(img, 0, sizeof(*img));
	if ((oi = malloc(sizeof(*oi))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	if (ota_parse(buf, len, oi, err, errlen) == -1) {
		free(oi);
		return (-1);
	}
	if ((img->data = malloc(oi->served_len)) == NULL) {
		free(oi);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	memcpy(img->data, buf + oi->served_offset, oi->served_len);
	img->len = (uint32_t)oi->served_len;
	img->manuf = oi->hdr.manufacturer_code;
	img->image_type = oi->hdr.image_type;
	img->version = oi->hdr.file_version;
	img->has_hw = oi->hdr.has_hw_versions;
	img->min_hw = oi->hdr.min_hw_version;
	img->max_hw = oi->hdr.max_hw_version;
	free(oi);
	return (0);
}

/* Whether S's image may be offered for its query; else why not. */
static int
otas_img_fits(const struct otas_sess *s, char *why, size_t whylen)
{
	const struct otas_img		*i = &s->img;
	const struct ota_query_req	*q = &s->query;

	if (i->manuf != 0xFFFF && i->manuf != q->manuf)
		snprintf(why, whylen, "image is for manufacturer 0x%04x, "
		    "device is 0x%04x", i->manuf, q->manuf);
	else if (i->image_type != 0xFFFF && i->image_type != q->image_type)
		snprintf(why, whylen, "image type 0x%04x, device has 0x%04x",
		    i->image_type, q->image_type);
	else if (i->has_hw && q->has_hw && (q->hw_version < i->min_hw ||
	    q->hw_version > i->max_hw))
		snprintf(why, whylen, "hardware version %u outside the "
		    "image's %u..%u", q->hw_version, i->min_hw, i->max_hw);
	else if (s->opts.downgrade && i->version >= q->file_version)
		snprintf(why, whylen, "image version %u is not older than "
		    "the installed %u", i->version, q->file_version);
	else if (!s->opts.downgrade && !s->explicit_img &&
	    i->version <= q->file_version)
		snprintf(why, whylen, "image version %u is not newer than "
		    "the installed %u", i->version, q->file_version);
	else if (i->version == q->file_version)
		snprintf(why, whylen, "version %u is already installed",
		    i->version);
	else
		return (1);
	return (0);
}

static void
otas_img_persist(struct otas_sess *s)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/ota-%016" PRIx64 ".img",
	    s->srv->conf->zotad.state_dir, s->ieee);
	if (atomic_write(path, s->img.data, s->img.len, 0600) == -1)
		log_warn("%s: the transfer cannot resume after a restart",
		    path);
}

/* The file that keeps the image sent with a schedule of IEEE. */
static void
otas_sched_path(const struct otas *srv, uint64_t ieee, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/schedule-%016" PRIx64 ".ota",
	    srv->conf->zotad.state_dir, ieee);
}

/* Forget D's schedule and its source; the caller saves the registry. */
static void
otas_sched_clear(struct otas *srv, struct device *d)
{
	char	 path[PATH_MAX];

	if (d->schedule_image) {
		otas_sched_path(srv, d->ieee, path, sizeof(path));
		if (unlink(path) == -1 && errno != ENOENT)
			log_warn("%s", path);
	}
	d->scheduled = 0;
	d->schedule_downgrade = 0;
	d->schedule_url[0] = '\0';
	d->schedule_image = 0;
}

/*
 * Frames to the device.
 */

static uint16_t
otas_nwk(struct otas_sess *s)
{
	struct device	*d = reg_find(s->srv->reg, s->ieee);

	return (d != NULL ? d->nwk : 0xFFFE);
}

static int
otas_send(struct otas_sess *s, const uint8_t *f, size_t len,
    adapter_sent_cb *cb, void *arg)
{
	return (adapter_send(s->srv->ad, otas_nwk(s), s->dev_ep, s->our_ep,
	    ZCL_CLUSTER_OTA, f, len, cb, arg));
}

/* Send a frame without caring for its outcome: the device re-asks. */
static void
otas_send_simple(struct otas *srv, uint16_t nwk, uint8_t dst_ep,
    uint8_t src_ep, const uint8_t *f, size_t len)
{
	if (len == 0 || adapter_send(srv->ad, nwk, dst_ep, src_ep,
	    ZCL_CLUSTER_OTA, f, len, NULL, NULL) == -1)
		log_debug("OTA frame to 0x%04x not sent", nwk);
}

/*
 * Start of a session: battery, then notify (or fetch for a query that
 * is already there).
 */

static void
otas_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct otas_sess	*s = arg;
	char			 ieee[19];

	(void)fd;
	(void)what;
	dev_ieee_str(s->ieee, ieee);
	switch (s->st) {
	case OTAS_NOTIFY:
		otas_end(s, IPC_RADIO_ERR_NO_RESPONSE,
		    "Device didn't respond to OTA request", NULL);
		break;
	case OTAS_TRANSFER:
		otas_fail(s, "device %s did not request the next image block "
		    "in time", ieee);
		break;
	case OTAS_REBOOT:
		/* Done either way; the version stays what we sent. */
		otas_device_back(s->srv, s->ieee);
		break;
	default:
		otas_fail(s, "timed out");
		break;
	}
}

static void
otas_notify(struct otas_sess *s)
{
	uint8_t	 f[OTAS_FRAME_MAX];
	size_t	 n;

	s->st = OTAS_NOTIFY;
	n = zcl_ota_image_notify(f, sizeof(f), zclreq_tsn(s->srv->z));
	/* A sleepy device may miss it; the query timeout tells. */
	if (otas_send(s, f, n, NULL, NULL) == -1) {
		otas_end(s, IPC_RADIO_ERR_NOT_RUNNING,
		    "the network is not running", NULL);
		return;
	}
	otas_arm(s->timer, otas_opt(s->opts.query_timeout_ms,
	    OTAS_QUERY_TIMEOUT_MS));
}

static void	otas_fetch(struct otas_sess *);

/* The step after the battery check. */
static void
otas_after_battery(struct otas_sess *s)
{
	if (s->query_tsn >= 0)
		otas_fetch(s);
	else
		otas_notify(s);
}

static void
otas_battery_cb(uint8_t cmd, const uint8_t *p, size_t len, void *arg)
{
	struct otas_ref		*ref = arg;
	struct otas_sess	*s = otas_deref(ref);
	struct zcl_attr		 a;
	size_t			 n;
	int			 min;

	free(ref);
	if (s == NULL || s->st != OTAS_BATTERY)
		return;
	min = otas_opt(s->opts.min_battery, s->srv->conf->zotad.min_battery);
	if (p == NULL || cmd != ZCL_CMD_READ_ATTR_RSP ||
	    zcl_parse_read_rsp(p, len, &a, 1, &n) == -1 || n != 1 ||
	    a.status != ZCL_SUCCESS || a.is_str) {
		otas_end(s, IPC_RADIO_ERR_BATTERY_LOW, "the battery level "
		    "could not be read; the device may be asleep", NULL);
		return;
	}
	if (a.num != 0xFF && (int)(a.num / 2) < min) {
		char	 msg[OTAS_MSG_LEN];

		snprintf(msg, sizeof(msg), "battery at %u %%, below the %d %% "
		    "an update needs", (unsigned)(a.num / 2), min);
		otas_end(s, IPC_RADIO_ERR_BATTERY_LOW, msg, NULL);
		return;
	}
	otas_after_battery(s);
}

static void
otas_begin(struct otas_sess *s)
{
	struct device	*d = reg_find(s->srv->reg, s->ieee);
	static const uint16_t attr = OTAS_BATTERY_ATTR;
	struct otas_ref	*ref;
	uint8_t		 ep;

	otas_now(&s->started);
	if (d == NULL || !dev_on_battery(d) || s->kind == OTAS_CHECK ||
	    otas_opt(s->opts.min_battery,
	    s->srv->conf->zotad.min_battery) == 0) {
		otas_after_battery(s);
		return;
	}
	s->st = OTAS_BATTERY;
	otas_emit_state(s);
	if ((ep = dev_ep_with_in(d, ZCL_CLUSTER_POWER)) == 0)
		ep = s->dev_ep;
	if ((ref = otas_ref(s)) == NULL || zclreq_read(s->srv->z, d->nwk, ep,
	    ZCL_CLUSTER_POWER, &attr, 1, 10000, otas_battery_cb, ref) == -1) {
		free(ref);
		otas_end(s, IPC_RADIO_ERR_NOT_RUNNING,
		    "the network is not running", NULL);
	}
}

/* Whether another transfer may start now. */
static int
otas_has_room(struct otas *srv)
{
	struct otas_sess	*s;
	int			 active = 0, max;

	max = srv->conf->zotad.max_concurrent_updates;
	if (max < 1)
		max = 1;
	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (otas_is_transfer(s) && s->st != OTAS_QUEUED)
			active++;
	return (active < max);
}

/* Start queued sessions, oldest first, while there is room. */
static void
otas_pump(struct otas *srv)
{
	struct otas_sess	*s;

	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (s->st != OTAS_QUEUED ||
		    (otas_is_transfer(s) && !otas_has_room(srv)))
			continue;
		otas_begin(s);
		/* otas_begin may end S and change the list: start over. */
		otas_pump(srv);
		return;
	}
}

/*
 * Queries and images.
 */

static void
otas_record_query(struct otas *srv, uint64_t ieee,
    const struct ota_query_req *q)
{
	struct device	*d = reg_find(srv->reg, ieee);

	if (d == NULL || (d->has_ota_info && d->ota_manuf == q->manuf &&
	    d->ota_image_type == q->image_type &&
	    d->file_version == q->file_version))
		return;
	d->has_ota_info = 1;
	d->ota_manuf = q->manuf;
	d->ota_image_type = q->image_type;
	d->file_version = q->file_version;
	reg_save(srv->reg);
}

static void
otas_fetch_dev(struct otas *srv, uint64_t ieee,
    const struct ota_query_req *q, struct fetchc_dev *fd)
{
	struct device	*d = reg_find(srv->reg, ieee);

	memset(fd, 0, sizeof(*fd));
	fd->ieee = ieee;
	fd->manuf = q->manuf;
	fd->image_type = q->image_type;
	fd->file_version = q->file_version;
	fd->hw_version = q->has_hw ? q->hw_version : -1;
	if (d != NULL) {
		fd->model = d->model;
		fd->manufacturer = d->manufacturer;
	}
}

static void
otas_image_cb(const char *error, const char *message, const cJSON *result,
    uint8_t *image, size_t len, void *arg)
{
	struct otas_ref		*ref = arg;
	struct otas_sess	*s = otas_deref(ref);
	char			 err[OTAS_MSG_LEN];

	(void)result;
	free(ref);
	if (s == NULL || s->st != OTAS_FETCH) {
		free(image);
		return;
	}
	if (error != NULL) {
		if (strcmp(error, IPC_FETCH_ERR_NO_IMAGE_AVAILABLE) == 0)
			error = IPC_RADIO_ERR_NO_IMAGE;
		else
			error = IPC_RADIO_ERR_UPDATE_FAILED;
		s->img.data = NULL;
		otas_answer_query(s);
		otas_end(s, error, strcmp(error, IPC_RADIO_ERR_NO_IMAGE) == 0 ?
		    "No image currently available" : message, NULL);
		return;
	}
	if (otas_img_load(&s->img, image, len, err, sizeof(err)) == -1) {
		free(image);
		otas_answer_query(s);
		otas_fail(s, "image from zotad-fetch refused: %s", err);
		return;
	}
	free(image);
	otas_answer_query(s);
}

static void
otas_fetch(struct otas_sess *s)
{
	struct fetchc_dev	 fd;
	struct otas_ref		*ref;

	s->st = OTAS_FETCH;
	if (s->img.data != NULL) {
		otas_answer_query(s);
		return;
	}
	otas_fetch_dev(s->srv, s->ieee, &s->query, &fd);
	if ((ref = otas_ref(s)) == NULL || fetchc_get_image(s->srv->fc, &fd,
	    s->opts.downgrade, s->url, otas_image_cb, ref) == -1) {
		free(ref);
		otas_answer_query(s);
		otas_end(s, IPC_RADIO_ERR_FETCH_UNAVAILABLE,
		    "zotad-fetch cannot be reached", NULL);
	}
}

static void
otas_start_transfer(struct otas_sess *s)
{
	struct device	*d = reg_find(s->srv->reg, s->ieee);

	s->st = OTAS_TRANSFER;
	s->from_version = s->query.file_version;
	if (d != NULL) {
		snprintf(s->from_sw, sizeof(s->from_sw), "%s",
		    d->sw_build_id);
		snprintf(s->from_date, sizeof(s->from_date), "%s",
		    d->date_code);
	}
	otas_now(&s->started);
	s->sess_bytes = 0;
	s->pos = 0;
	otas_img_persist(s);
	otas_save(s->srv);
	otas_emit_progress(s);
	otas_arm(s->timer, otas_quirk_timeout(s->img.manuf,
	    s->img.image_type, otas_opt(s->opts.block_timeout_ms,
	    s->srv->conf->ota.image_block_request_timeout)));
}

/*
 * Answer the device's pending query: SUCCESS with the image when it
 * fits, NO_IMAGE_AVAILABLE otherwise. An unfit image ends the session.
 */
static void
otas_answer_query(struct otas_sess *s)
{
	uint8_t		 f[OTAS_FRAME_MAX];
	size_t		 n;
	char		 why[OTAS_MSG_LEN];
	int		 fits;

	if (s->query_tsn < 0)
		return;
	fits = s->img.data != NULL && otas_img_fits(s, why, sizeof(why));
	if (fits)
		n = zcl_ota_query_rsp(f, sizeof(f), (uint8_t)s->query_tsn,
		    ZCL_SUCCESS, s->img.manuf, s->img.image_type,
		    s->img.version, s->img.len);
	else
		n = zcl_ota_query_rsp(f, sizeof(f), (uint8_t)s->query_tsn,
		    ZCL_NO_IMAGE, 0, 0, 0, 0);
	s->query_tsn = -1;
	otas_send_simple(s->srv, otas_nwk(s), s->dev_ep, s->our_ep, f, n);
	if (fits)
		otas_start_transfer(s);
	else if (s->img.data != NULL)
		otas_end(s, IPC_RADIO_ERR_NO_IMAGE, why, NULL);
}

static void
otas_check_cb(const char *error, const char *message, const cJSON *result,
    uint8_t *image, size_t len, void *arg)
{
	struct otas_ref		*ref = arg;
	struct otas_sess	*s = otas_deref(ref);

	(void)image;
	(void)len;
	free(ref);
	if (s == NULL)
		return;
	if (error != NULL)
		otas_end(s, strcmp(error, IPC_ERR_DISCONNECTED) == 0 ?
		    IPC_RADIO_ERR_FETCH_UNAVAILABLE : error, message, NULL);
	else
		otas_end(s, NULL, NULL, result);
}

/* A manual check: release the device at once, then ask zotad-fetch. */
static void
otas_check_query(struct otas_sess *s)
{
	struct fetchc_dev	 fd;
	struct otas_ref		*ref;

	otas_answer_query(s);
	otas_fetch_dev(s->srv, s->ieee, &s->query, &fd);
	if ((ref = otas_ref(s)) == NULL || fetchc_check(s->srv->fc, &fd, 0,
	    s->opts.downgrade, s->url, otas_check_cb, ref) == -1) {
		free(ref);
		otas_end(s, IPC_RADIO_ERR_FETCH_UNAVAILABLE,
		    "zotad-fetch cannot be reached", NULL);
	}
}

static void
otas_auto_check_cb(const char *error, const char *message,
    const cJSON *result, uint8_t *image, size_t len, void *arg)
{
	struct otas_ref	*ref = arg;
	const cJSON	*avail, *entry, *v;
	struct device	*d;
	cJSON		*ev;
	char		 ieee[19];

	(void)image;
	(void)len;
	dev_ieee_str(ref->ieee, ieee);
	if (error == NULL) {
		avail = cJSON_GetObjectItemCaseSensitive(result, "available");
		log_debug("automatic check for %s: %s", ieee,
		    cJSON_IsTrue(avail) ? "update available" : "up to date");
		ev = otas_event_base(ref->ieee, cJSON_IsTrue(avail) ?
		    "available" : "idle");
		/* Both versions, as after a manual check. */
		d = reg_find(ref->srv->reg, ref->ieee);
		if (ev != NULL && d != NULL && d->has_ota_info)
			cJSON_AddNumberToObject(ev, "installed_version",
			    d->file_version);
		entry = cJSON_GetObjectItemCaseSensitive(result, "entry");
		v = cJSON_GetObjectItemCaseSensitive(entry, "fileVersion");
		if (ev != NULL && cJSON_IsTrue(avail) && cJSON_IsNumber(v))
			cJSON_AddNumberToObject(ev, "latest_version",
			    v->valuedouble);
		v = cJSON_GetObjectItemCaseSensitive(entry, "url");
		if (ev != NULL && cJSON_IsTrue(avail) && cJSON_IsString(v))
			cJSON_AddStringToObject(ev, "latest_source",
			    v->valuestring);
		otas_emit(ref->srv, ev);
	} else
		log_debug("automatic check for %s: %s", ieee, message);
	free(ref);
}

static int
otas_auto_enabled(struct otas *srv, uint64_t ieee)
{
	const struct config_device	*cd;

	if (srv->conf->ota.disable_automatic_update_check)
		return (0);
	cd = config_device_by_addr(srv->conf, ieee);
	return (cd == NULL || !cd->disable_automatic_update_check);
}

/*
 * The image a schedule keeps, for its session. A schedule whose image
 * is gone or spoilt can never run: it is dropped, and the user told.
 */
static int
otas_sched_load(struct otas_sess *s, struct device *d)
{
	char		 path[PATH_MAX], err[OTAS_MSG_LEN];
	uint8_t		*buf;
	size_t		 len;
	cJSON		*ev;

	otas_sched_path(s->srv, s->ieee, path, sizeof(path));
	if (util_read_file(path, s->srv->conf->zotad.max_image_size, &buf,
	    &len) == -1)
		snprintf(err, sizeof(err), "%s", strerror(errno));
	else if (otas_img_load(&s->img, buf, len, err, sizeof(err)) == 0) {
		free(buf);
		s->explicit_img = 1;
		return (0);
	} else
		free(buf);
	log_warnx("%s: %s; the schedule is dropped", path, err);
	otas_sched_clear(s->srv, d);
	reg_save(s->srv->reg);
	if ((ev = otas_event_base(s->ieee, "idle")) != NULL) {
		cJSON_AddStringToObject(ev, "error", "the image sent with "
		    "the schedule is gone or damaged; schedule it again");
		otas_emit(s->srv, ev);
	}
	return (-1);
}

/* A scheduled update, started by the device's own query. */
static struct otas_sess *
otas_sched_start(struct otas *srv, struct device *d,
    const struct adapter_msg *m, uint8_t tsn, const struct ota_query_req *q)
{
	struct otas_sess	*s;
	struct otas_opts	 o = { -1, -1, -1, -1, -1, 0, NULL };

	o.downgrade = d->schedule_downgrade;
	/* A url goes to zotad-fetch, which fetches and verifies it. */
	if (d->schedule_url[0] != '\0')
		o.url = d->schedule_url;
	if ((s = otas_sess_new(srv, d->ieee, OTAS_SCHEDULED, &o, NULL,
	    NULL)) == NULL)
		return (NULL);
	if (d->schedule_image && otas_sched_load(s, d) == -1) {
		otas_free_sess(s, 0);
		return (NULL);
	}
	s->query = *q;
	s->have_query = 1;
	s->query_tsn = tsn;
	s->dev_ep = m->src_ep;
	s->our_ep = m->dst_ep;
	return (s);
}

/*
 * A query outside any session: a schedule, or an automatic check that
 * is answered NO_IMAGE_AVAILABLE at once, whatever zotad-fetch says,
 * so that the device stops asking.
 */
static void
otas_query_idle(struct otas *srv, struct device *d,
    const struct adapter_msg *m, uint8_t tsn, const struct ota_query_req *q)
{
	struct otas_sess	*s;
	struct fetchc_dev	 fd;
	struct otas_ref		*ref;
	uint8_t			 f[OTAS_FRAME_MAX];
	uint64_t		 ieee = d->ieee;

	if (d->scheduled && otas_has_room(srv) &&
	    (s = otas_sched_start(srv, d, m, tsn, q)) != NULL) {
		otas_enqueue(s);
		return;
	}
	otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
	    zcl_ota_query_rsp(f, sizeof(f), tsn, ZCL_NO_IMAGE, 0, 0, 0, 0));
	if (!otas_auto_enabled(srv, ieee) ||
	    (ref = calloc(1, sizeof(*ref))) == NULL)
		return;
	ref->srv = srv;
	ref->ieee = ieee;
	otas_fetch_dev(srv, ieee, q, &fd);
	if (fetchc_check(srv->fc, &fd, 1, 0, NULL, otas_auto_check_cb,
	    ref) == -1)
		free(ref);
}

static void
otas_query(struct otas *srv, struct device *d, const struct adapter_msg *m,
    uint8_t tsn, const uint8_t *p, size_t len)
{
	struct ota_query_req	 q;
	struct otas_sess	*s;
	uint8_t			 f[OTAS_FRAME_MAX];

	if (zcl_ota_parse_query(p, len, &q) == -1) {
		log_warnx("device 0x%04x: malformed Query Next Image Request "
		    "(%zu bytes)", m->nwk, len);
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_default_rsp(f, sizeof(f), tsn, 1, OTA_QUERY_NEXT_REQ,
		    ZCL_MALFORMED));
		return;
	}
	otas_record_query(srv, d->ieee, &q);
	if ((s = otas_find(srv, d->ieee)) == NULL) {
		otas_query_idle(srv, d, m, tsn, &q);
		return;
	}
	s->query = q;
	s->have_query = 1;
	s->query_tsn = tsn;
	s->dev_ep = m->src_ep;
	s->our_ep = m->dst_ep;
	switch (s->st) {
	case OTAS_NOTIFY:
		evtimer_del(s->timer);
		if (s->kind == OTAS_CHECK)
			otas_check_query(s);
		else
			otas_fetch(s);
		break;
	case OTAS_TRANSFER:
		/* The device started over: offer the image again. */
		otas_answer_query(s);
		break;
	case OTAS_REBOOT:
		/* Back with its new image: it wants nothing more from us. */
		s->query_tsn = -1;
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_ota_query_rsp(f, sizeof(f), tsn, ZCL_NO_IMAGE, 0, 0, 0,
		    0));
		otas_device_back(srv, d->ieee);
		break;
	default:
		/* Still busy with the battery or zotad-fetch: answer then. */
		break;
	}
}

/*
 * Serving blocks and pages.
 */

static void	otas_block_sent_cb(int status, void *arg);

/* Room for data in one frame to the device. */
static size_t
otas_frame_room(struct otas_sess *s)
{
	size_t	 max = adapter_max_payload(s->srv->ad);

	return (max > 3 + OTA_BLOCK_RSP_FIXED ? max - 3 - OTA_BLOCK_RSP_FIXED :
	    OTAS_MIN_BLOCK);
}

static size_t
otas_pending_size(struct otas_sess *s)
{
	struct otas_pending	*p = &s->pend;
	uint32_t		 end = s->img.len;
	size_t			 n;

	if (p->page_end != 0 && p->page_end < end)
		end = p->page_end;
	n = otas_block_size(otas_opt(s->opts.max_data_size,
	    s->srv->conf->ota.default_maximum_data_size), s->img.manuf,
	    p->dev_max, otas_frame_room(s), s->learnt, p->offset, end);
	return (n);
}

static void
otas_send_pending(struct otas_sess *s)
{
	struct otas_pending	*p = &s->pend;
	uint8_t			 f[OTAS_FRAME_MAX + 32];
	size_t			 n, len;
	struct otas_ref		*ref;

	if (!p->active)
		return;
	if ((n = otas_pending_size(s)) == 0) {
		p->active = 0;
		return;
	}
	len = zcl_ota_block_rsp(f, sizeof(f), p->tsn, s->img.manuf,
	    s->img.image_type, s->img.version, p->offset,
	    s->img.data + p->offset, (uint8_t)n);
	p->sent_offset = p->offset;
	otas_now(&s->last_rsp);
	if ((ref = otas_ref(s)) == NULL || len == 0 ||
	    adapter_send(s->srv->ad, otas_nwk(s), s->dev_ep, p->src_ep,
	    ZCL_CLUSTER_OTA, f, len, otas_block_sent_cb, ref) == -1) {
		free(ref);
		p->active = 0;	/* the device asks again */
	}
}

static void
otas_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	otas_send_pending(arg);
}

/* The pause owed before the next response, in ms. */
static int
otas_owed_ms(struct otas_sess *s)
{
	int	 delay = otas_opt(s->opts.response_delay_ms,
		    s->srv->conf->ota.image_block_response_delay);
	int64_t	 since = otas_ms_since(&s->last_rsp);

	if (delay <= 0 || since >= delay)
		return (0);
	return ((int)(delay - since));
}

static void
otas_block_sent_cb(int status, void *arg)
{
	struct otas_ref		*ref = arg;
	struct otas_sess	*s = otas_deref(ref);
	struct otas_pending	*p;
	size_t			 n;
	int			 owed;

	free(ref);
	if (s == NULL || s->st != OTAS_TRANSFER || !s->pend.active)
		return;
	p = &s->pend;
	n = otas_pending_size(s);
	if (status == ADAPTER_TOO_BIG && n > OTAS_MIN_BLOCK) {
		/* Route or security overhead left less room than we hoped. */
		s->learnt = (int)(n * 3 / 4 > OTAS_MIN_BLOCK ? n * 3 / 4 :
		    OTAS_MIN_BLOCK);
		log_info("frame too big for the adapter: blocks of %d bytes "
		    "from now on", s->learnt);
		otas_send_pending(s);
		return;
	}
	if (status != ADAPTER_SENT) {
		log_debug("block at %u not delivered (0x%02x); the device "
		    "asks again", p->offset, status & 0xFF);
		p->active = 0;
		return;
	}
	p->offset += (uint32_t)n;
	s->sess_bytes += n;
	if (p->offset > s->pos)
		s->pos = p->offset;
	if (otas_ms_since(&s->last_report) >= OTAS_REPORT_MS)
		otas_emit_progress(s);
	if (p->page_end == 0 || p->offset >= p->page_end ||
	    p->offset >= s->img.len) {
		p->active = 0;
		return;
	}
	owed = otas_owed_ms(s);
	if (owed < p->spacing_ms)
		owed = p->spacing_ms;
	otas_arm(s->delay_ev, owed);
}

static int
otas_block_matches(const struct otas_sess *s, const struct ota_block_req *b)
{
	return (b->manuf == s->img.manuf && b->image_type ==
	    s->img.image_type && b->file_version == s->img.version);
}

/*
 * Pace with WAIT_FOR_DATA: the first request learns the configured
 * period, and a long wait is asked of the device rather than held here,
 * where it would look like a lost frame.
 */
static int
otas_pace(struct otas_sess *s, const struct adapter_msg *m, uint8_t tsn,
    const struct ota_block_req *b)
{
	uint8_t	 f[OTAS_FRAME_MAX];
	int	 delay = otas_opt(s->opts.response_delay_ms,
		    s->srv->conf->ota.image_block_response_delay);
	int	 owed = otas_owed_ms(s);
	size_t	 n;

	if (delay > 0 && !s->paced && !b->page &&
	    (!b->has_period || b->min_period < delay)) {
		s->paced = 1;
		n = zcl_ota_block_wait(f, sizeof(f), tsn, 0, (uint16_t)delay);
	} else if (owed > OTAS_SHORT_DELAY_MS)
		n = zcl_ota_block_wait(f, sizeof(f), tsn,
		    (uint32_t)(owed + 999) / 1000, (uint16_t)delay);
	else
		return (0);
	otas_send_simple(s->srv, m->nwk, m->src_ep, m->dst_ep, f, n);
	return (1);
}

static void
otas_block(struct otas *srv, struct device *d, const struct adapter_msg *m,
    uint8_t tsn, const uint8_t *p, size_t len, int page)
{
	struct otas_sess	*s = otas_find(srv, d->ieee);
	struct ota_block_req	 b;
	uint8_t			 f[OTAS_FRAME_MAX];
	int			 owed;

	if ((page ? zcl_ota_parse_page(p, len, &b) :
	    zcl_ota_parse_block(p, len, &b)) == -1) {
		log_warnx("device 0x%04x: malformed Image %s Request (%zu "
		    "bytes)", m->nwk, page ? "Page" : "Block", len);
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_default_rsp(f, sizeof(f), tsn, 1,
		    page ? OTA_PAGE_REQ : OTA_BLOCK_REQ, ZCL_MALFORMED));
		return;
	}
	/* Nothing to serve (aborted, or never offered): stop the device. */
	if (s == NULL || s->st != OTAS_TRANSFER || !otas_block_matches(s, &b)) {
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_ota_block_abort(f, sizeof(f), tsn));
		return;
	}
	if (b.offset >= s->img.len) {
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_default_rsp(f, sizeof(f), tsn, 1,
		    page ? OTA_PAGE_REQ : OTA_BLOCK_REQ, ZCL_MALFORMED));
		return;
	}
	s->dev_ep = m->src_ep;
	otas_arm(s->timer, otas_quirk_timeout(s->img.manuf, s->img.image_type,
	    otas_opt(s->opts.block_timeout_ms,
	    srv->conf->ota.image_block_request_timeout)));
	if (otas_pace(s, m, tsn, &b))
		return;
	evtimer_del(s->delay_ev);
	s->pend.active = 1;
	s->pend.tsn = tsn;
	s->pend.src_ep = m->dst_ep;
	s->pend.offset = b.offset;
	s->pend.dev_max = b.max_size;
	s->pend.page_end = page ? b.offset + (b.page_size ? b.page_size : 1) :
	    0;
	s->pend.spacing_ms = page ? b.spacing : 0;
	if ((owed = otas_owed_ms(s)) > 0)
		otas_arm(s->delay_ev, owed);
	else
		otas_send_pending(s);
}

/*
 * The end of a transfer.
 */

static cJSON *
otas_version_json(uint32_t v, const char *sw, const char *date)
{
	cJSON	*o = cJSON_CreateObject();

	if (o == NULL)
		return (NULL);
	cJSON_AddNumberToObject(o, "file_version", v);
	cJSON_AddStringToObject(o, "software_build_id", sw);
	cJSON_AddStringToObject(o, "date_code", date);
	return (o);
}

static void
otas_basic_read_cb(uint64_t ieee, int ok, void *arg)
{
	struct otas		*srv = arg;
	struct otas_sess	*s = otas_find(srv, ieee);
	struct device		*d = reg_find(srv->reg, ieee);
	cJSON			*res;

	(void)ok;
	if (s == NULL || s->st != OTAS_REBOOT ||
	    (res = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddItemToObject(res, "from", otas_version_json(s->from_version,
	    s->from_sw, s->from_date));
	cJSON_AddItemToObject(res, "to", otas_version_json(s->to_version,
	    d != NULL ? d->sw_build_id : "", d != NULL ? d->date_code : ""));
	if (d != NULL) {
		/* Done: a schedule, whatever it was, is fulfilled. */
		otas_sched_clear(srv, d);
		d->file_version = s->to_version;
		reg_save(srv->reg);
	}
	if (s->to_version != s->img.version)
		log_warnx("device 0x%016" PRIx64 " runs version %u, not the "
		    "%u it was sent", ieee, s->to_version, s->img.version);
	else
		log_info("device 0x%016" PRIx64 " updated to version %u",
		    ieee, s->to_version);
	otas_end(s, NULL, NULL, res);
	cJSON_Delete(res);
}

/* The running version, from the device's OTA client; then Basic. */
static void
otas_version_cb(uint8_t cmd, const uint8_t *p, size_t len, void *arg)
{
	struct otas_ref		*ref = arg;
	struct otas_sess	*s = otas_deref(ref);
	struct otas		*srv = ref->srv;
	struct zcl_attr		 a;
	size_t			 n;
	uint64_t		 ieee = ref->ieee;

	free(ref);
	if (s == NULL || s->st != OTAS_REBOOT)
		return;
	if (p != NULL && cmd == ZCL_CMD_READ_ATTR_RSP &&
	    zcl_parse_read_rsp(p, len, &a, 1, &n) == 0 && n == 1 &&
	    a.status == ZCL_SUCCESS && !a.is_str)
		s->to_version = a.num;
	if (iv_read_basic(srv->ad, srv->z, srv->reg, ieee, otas_basic_read_cb,
	    srv) == -1)
		otas_basic_read_cb(ieee, 0, srv);
}

void
otas_device_back(struct otas *srv, uint64_t ieee)
{
	struct otas_sess	*s = otas_find(srv, ieee);
	static const uint16_t	 attr = 0x0002;	/* CurrentFileVersion */
	struct otas_ref		*ref;

	if (s == NULL || s->st != OTAS_REBOOT || s->reading)
		return;
	evtimer_del(s->timer);
	s->reading = 1;
	s->to_version = s->img.version;
	if ((ref = otas_ref(s)) == NULL || zclreq_read(srv->z, otas_nwk(s),
	    s->dev_ep, ZCL_CLUSTER_OTA, &attr, 1, 10000, otas_version_cb,
	    ref) == -1) {
		free(ref);
		if (iv_read_basic(srv->ad, srv->z, srv->reg, ieee,
		    otas_basic_read_cb, srv) == -1)
			otas_basic_read_cb(ieee, 0, srv);
	}
}

static void
otas_upgrade_end(struct otas *srv, struct device *d,
    const struct adapter_msg *m, uint8_t tsn, const uint8_t *p, size_t len)
{
	struct otas_sess	*s = otas_find(srv, d->ieee);
	struct ota_end_req	 e;
	uint8_t			 f[OTAS_FRAME_MAX];

	if (zcl_ota_parse_end(p, len, &e) == -1) {
		log_warnx("device 0x%04x: malformed Upgrade End Request",
		    m->nwk);
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_default_rsp(f, sizeof(f), tsn, 1, OTA_UPGRADE_END_REQ,
		    ZCL_MALFORMED));
		return;
	}
	if (e.status != ZCL_SUCCESS) {
		/* No Upgrade End Response then: the device starts over. */
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_default_rsp(f, sizeof(f), tsn, 1, OTA_UPGRADE_END_REQ,
		    ZCL_SUCCESS));
		if (s != NULL && s->st == OTAS_TRANSFER)
			otas_fail(s, "Update failed with reason: '%s'",
			    zcl_status_name(e.status));
		return;
	}
	if (s == NULL || s->st != OTAS_TRANSFER || e.manuf != s->img.manuf ||
	    e.image_type != s->img.image_type ||
	    e.file_version != s->img.version) {
		otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
		    zcl_default_rsp(f, sizeof(f), tsn, 1, OTA_UPGRADE_END_REQ,
		    ZCL_ABORT));
		return;
	}
	/* Current time 0: apply one second from now. */
	otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
	    zcl_ota_end_rsp(f, sizeof(f), tsn, s->img.manuf,
	    s->img.image_type, s->img.version, 1));
	s->pos = s->img.len;
	otas_emit_progress(s);
	s->st = OTAS_REBOOT;
	otas_emit_state(s);
	otas_save(srv);
	otas_arm(s->timer, OTAS_REBOOT_TIMEOUT_MS);
}

static void
otas_default_rsp(struct otas *srv, struct device *d, const uint8_t *p,
    size_t len)
{
	struct otas_sess	*s = otas_find(srv, d->ieee);

	/* A block we sent was refused as too big: send smaller ones. */
	if (len >= 2 && p[0] == OTA_BLOCK_RSP && p[1] == ZCL_MALFORMED &&
	    s != NULL && s->st == OTAS_TRANSFER) {
		s->learnt = s->learnt > 0 ? s->learnt * 3 / 4 :
		    (int)otas_frame_room(s) * 3 / 4;
		if (s->learnt < OTAS_MIN_BLOCK)
			s->learnt = OTAS_MIN_BLOCK;
		log_info("device 0x%016" PRIx64 " refused a block: blocks of "
		    "at most %d bytes from now on", d->ieee, s->learnt);
		/* It still waits for an answer: send the block smaller. */
		evtimer_del(s->delay_ev);
		s->pend.active = 1;
		s->pend.offset = s->pend.sent_offset;
		s->pend.page_end = 0;
		otas_send_pending(s);
	}
}

void
otas_handle(struct otas *srv, const struct adapter_msg *m)
{
	struct device	*d = reg_find_nwk(srv->reg, m->nwk);
	struct zcl_hdr	 h;
	size_t		 hl;
	const uint8_t	*p;
	size_t		 len;
	uint8_t		 f[OTAS_FRAME_MAX];

	if (zcl_hdr_parse(m->data, m->len, &h, &hl) == -1) {
		log_warnx("device 0x%04x: OTA frame too short (%zu bytes)",
		    m->nwk, m->len);
		return;
	}
	if (d == NULL) {
		log_debug("OTA frame from unknown device 0x%04x", m->nwk);
		return;
	}
	p = m->data + hl;
	len = m->len - hl;
	if ((h.fc & 0x03) == 0) {
		if (h.cmd == ZCL_CMD_DEFAULT_RSP)
			otas_default_rsp(srv, d, p, len);
		return;
	}
	if (h.fc & ZCL_FC_TO_CLIENT)
		return;
	switch (h.cmd) {
	case OTA_QUERY_NEXT_REQ:
		otas_query(srv, d, m, h.tsn, p, len);
		break;
	case OTA_BLOCK_REQ:
	case OTA_PAGE_REQ:
		otas_block(srv, d, m, h.tsn, p, len, h.cmd == OTA_PAGE_REQ);
		break;
	case OTA_UPGRADE_END_REQ:
		otas_upgrade_end(srv, d, m, h.tsn, p, len);
		break;
	default:
		/* Query Device Specific File and the like: say so. */
		log_debug("device 0x%04x: OTA command 0x%02x not handled",
		    m->nwk, h.cmd);
		if (!m->broadcast)
			otas_send_simple(srv, m->nwk, m->src_ep, m->dst_ep, f,
			    zcl_default_rsp(f, sizeof(f), h.tsn, 1, h.cmd,
			    ZCL_UNSUP_CLUSTER_CMD));
		break;
	}
}

/*
 * Sessions and the public calls.
 */

static struct otas_sess *
otas_sess_new(struct otas *srv, uint64_t ieee, enum otas_kind kind,
    const struct otas_opts *o, otas_done_cb *cb, void *arg)
{
	struct otas_sess	*s;
	struct device		*d = reg_find(srv->reg, ieee);

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	/* A new session: what the last one ended with is old news. */
	otas_outcome_drop(srv, ieee);
	s->srv = srv;
	s->ieee = ieee;
	s->gen = ++srv->next_gen;
	s->kind = kind;
	s->opts = *o;
	s->opts.url = NULL;
	s->query_tsn = -1;
	s->st = OTAS_QUEUED;
	s->our_ep = ADAPTER_OTA_EP;
	s->dev_ep = d != NULL && dev_ota_ep(d) != 0 ? dev_ota_ep(d) : 1;
	s->cb = cb;
	s->arg = arg;
	s->timer = evtimer_new(srv->base, otas_timeout_cb, s);
	s->delay_ev = evtimer_new(srv->base, otas_delay_cb, s);
	if (s->timer == NULL || s->delay_ev == NULL || (o->url != NULL &&
	    (s->url = strdup(o->url)) == NULL)) {
		otas_free_sess(s, 0);
		return (NULL);
	}
	return (s);
}

static void
otas_enqueue(struct otas_sess *s)
{
	TAILQ_INSERT_TAIL(&s->srv->sessions, s, entry);
	if (otas_is_transfer(s) && !otas_has_room(s->srv)) {
		otas_emit_state(s);
		otas_save(s->srv);
	}
	otas_pump(s->srv);
}

/* The refusals common to every call; 0 when the call may go on. */
static int
otas_refuse(struct otas *srv, uint64_t ieee, const char **error, char *msg,
    size_t msglen)
{
	struct device	*d = reg_find(srv->reg, ieee);

	if (d == NULL) {
		*error = IPC_RADIO_ERR_NO_SUCH_DEVICE;
		snprintf(msg, msglen, "no device 0x%016" PRIx64, ieee);
	} else if (otas_find(srv, ieee) != NULL) {
		*error = IPC_RADIO_ERR_DEVICE_BUSY;
		snprintf(msg, msglen, "Update or check for update already in "
		    "progress");
	} else if (!adapter_is_up(srv->ad)) {
		*error = IPC_RADIO_ERR_NOT_RUNNING;
		snprintf(msg, msglen, "the network is not running");
	} else if (d->interview == DEV_IV_DONE && dev_ota_ep(d) == 0) {
		*error = IPC_RADIO_ERR_NOT_SUPPORTED;
		snprintf(msg, msglen, "the device has no OTA client cluster");
	} else
		return (0);
	return (-1);
}

int
otas_check(struct otas *srv, uint64_t ieee, const struct otas_opts *o,
    otas_done_cb *cb, void *arg, const char **error, char *msg,
    size_t msglen)
{
	struct otas_sess	*s;

	if (otas_refuse(srv, ieee, error, msg, msglen) == -1)
		return (-1);
	if ((s = otas_sess_new(srv, ieee, OTAS_CHECK, o, cb, arg)) == NULL) {
		*error = IPC_RADIO_ERR_UPDATE_FAILED;
		snprintf(msg, msglen, "out of memory");
		return (-1);
	}
	otas_enqueue(s);
	return (0);
}

int
otas_update(struct otas *srv, uint64_t ieee, const uint8_t *image,
    size_t len, const struct otas_opts *o, otas_done_cb *cb, void *arg,
    const char **error, char *msg, size_t msglen)
{
	struct otas_sess	*s;
	char			 err[OTAS_MSG_LEN];

	if (otas_refuse(srv, ieee, error, msg, msglen) == -1)
		return (-1);
	if ((s = otas_sess_new(srv, ieee, OTAS_UPDATE, o, cb, arg)) == NULL) {
		*error = IPC_RADIO_ERR_UPDATE_FAILED;
		snprintf(msg, msglen, "out of memory");
		return (-1);
	}
	if (image != NULL) {
		if (otas_img_load(&s->img, image, len, err, sizeof(err)) ==
		    -1) {
			*error = IPC_RADIO_ERR_IMAGE_INVALID;
			snprintf(msg, msglen, "image refused: %s", err);
			otas_free_sess(s, 0);
			return (-1);
		}
		s->explicit_img = 1;
	}
	otas_enqueue(s);
	return (0);
}

int
otas_abort(struct otas *srv, uint64_t ieee)
{
	struct otas_sess	*s = otas_find(srv, ieee);

	if (s == NULL || s->kind == OTAS_CHECK)
		return (-1);
	/* Gone from here at once; the device's next request gets ABORT. */
	otas_end(s, IPC_RADIO_ERR_ABORTED, "Update aborted", NULL);
	return (0);
}

/* Check and keep the image of a schedule. Returns 0 or -1 with MSG. */
static int
otas_sched_keep(struct otas *srv, uint64_t ieee, const uint8_t *image,
    size_t len, const char **error, char *msg, size_t msglen)
{
	struct otas_img	 img;
	char		 path[PATH_MAX], err[OTAS_MSG_LEN];

	*error = IPC_RADIO_ERR_IMAGE_INVALID;
	if (len > srv->conf->zotad.max_image_size) {
		snprintf(msg, msglen, "image refused: %zu bytes, more than "
		    "zotad.max_image_size", len);
		return (-1);
	}
	/* Refused now rather than when the device asks, maybe days on. */
	if (otas_img_load(&img, image, len, err, sizeof(err)) == -1) {
		snprintf(msg, msglen, "image refused: %s", err);
		return (-1);
	}
	free(img.data);
	otas_sched_path(srv, ieee, path, sizeof(path));
	if (atomic_write(path, image, len, 0600) == -1) {
		*error = IPC_RADIO_ERR_UPDATE_FAILED;
		snprintf(msg, msglen, "cannot keep the image in %s: %s", path,
		    strerror(errno));
		log_warn("%s", path);
		return (-1);
	}
	return (0);
}

int
otas_schedule(struct otas *srv, uint64_t ieee, int downgrade,
    const struct otas_source *src, const char **error, char *msg,
    size_t msglen)
{
	struct device	*d = reg_find(srv->reg, ieee);
	cJSON		*ev;

	if (d == NULL) {
		*error = IPC_RADIO_ERR_NO_SUCH_DEVICE;
		snprintf(msg, msglen, "no device 0x%016" PRIx64, ieee);
		return (-1);
	}
	if (src->image != NULL && otas_sched_keep(srv, ieee, src->image,
	    src->len, error, msg, msglen) == -1)
		return (-1);
	/* A new schedule replaces the old one, and its image. */
	if (d->schedule_image && src->image == NULL)
		otas_sched_clear(srv, d);
	d->scheduled = 1;
	d->schedule_downgrade = downgrade;
	snprintf(d->schedule_url, sizeof(d->schedule_url), "%s",
	    src->url != NULL ? src->url : "");
	d->schedule_image = src->image != NULL;
	reg_save(srv->reg);
	if ((ev = otas_event_base(ieee, "scheduled")) != NULL)
		otas_emit(srv, ev);
	return (0);
}

int
otas_unschedule(struct otas *srv, uint64_t ieee)
{
	struct device	*d = reg_find(srv->reg, ieee);

	if (d == NULL)
		return (-1);
	otas_sched_clear(srv, d);
	reg_save(srv->reg);
	otas_emit(srv, otas_event_base(ieee, "idle"));
	return (0);
}

const char *
otas_schedule_source(struct otas *srv, uint64_t ieee, char *buf,
    size_t len)
{
	struct device	*d = reg_find(srv->reg, ieee);

	if (d == NULL || !d->scheduled)
		return (NULL);
	if (d->schedule_image) {
		otas_sched_path(srv, ieee, buf, len);
		return (buf);
	}
	return (d->schedule_url[0] != '\0' ? d->schedule_url : NULL);
}

void
otas_forget(struct otas *srv, uint64_t ieee)
{
	struct device	*d = reg_find(srv->reg, ieee);

	if (d != NULL && d->scheduled)
		otas_sched_clear(srv, d);
	otas_outcome_drop(srv, ieee);
}

int
otas_attach(struct otas *srv, uint64_t ieee, otas_done_cb *cb, void *arg,
    const char **error, char *msg, size_t msglen)
{
	struct otas_sess	*s = otas_find(srv, ieee);
	struct otas_outcome	*o;

	if (s != NULL && (s->kind == OTAS_UPDATE ||
	    s->kind == OTAS_RESUMED)) {
		if (s->cb != NULL) {
			*error = IPC_RADIO_ERR_DEVICE_BUSY;
			snprintf(msg, msglen, "another caller follows this "
			    "update");
			return (-1);
		}
		s->cb = cb;
		s->arg = arg;
		return (0);
	}
	if ((o = otas_outcome_find(srv, ieee)) != NULL) {
		cb(ieee, o->error, o->msg, o->result, arg);
		otas_outcome_drop(srv, ieee);
		return (1);
	}
	*error = IPC_RADIO_ERR_NOT_IN_PROGRESS;
	snprintf(msg, msglen, "no update of 0x%016" PRIx64 " is in progress "
	    "or ended unheard", ieee);
	return (-1);
}

void
otas_forget_caller(struct otas *srv, void *arg)
{
	struct otas_sess	*s;

	TAILQ_FOREACH(s, &srv->sessions, entry)
		if (s->arg == arg) {
			s->cb = NULL;
			s->arg = NULL;
		}
}

cJSON *
otas_state_json(struct otas *srv, uint64_t ieee)
{
	struct otas_sess	*s = otas_find(srv, ieee);
	struct device		*d = reg_find(srv->reg, ieee);
	cJSON			*o;

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	if (s != NULL && s->kind != OTAS_CHECK) {
		cJSON_AddStringToObject(o, "state", otas_state_names[s->st]);
		if (s->st == OTAS_TRANSFER && s->img.len > 0)
			cJSON_AddNumberToObject(o, "progress",
			    (double)s->pos * 100.0 / s->img.len);
	} else
		cJSON_AddStringToObject(o, "state", d != NULL && d->scheduled ?
		    "scheduled" : "idle");
	return (o);
}

/*
 * Persistence: transfers under way and the queue, so that a restart
 * resumes them.
 */

static void
otas_save(struct otas *srv)
{
	struct otas_sess	*s;
	cJSON			*o, *a, *e;
	char			 ieee[19];

	if ((o = cJSON_CreateObject()) == NULL ||
	    (a = cJSON_AddArrayToObject(o, "sessions")) == NULL) {
		cJSON_Delete(o);
		return;
	}
	TAILQ_FOREACH(s, &srv->sessions, entry) {
		if (!otas_is_transfer(s) || (s->st != OTAS_TRANSFER &&
		    s->st != OTAS_QUEUED && s->st != OTAS_REBOOT) ||
		    (e = cJSON_CreateObject()) == NULL)
			continue;
		dev_ieee_str(s->ieee, ieee);
		cJSON_AddStringToObject(e, "ieee", ieee);
		cJSON_AddStringToObject(e, "state", s->st == OTAS_TRANSFER ?
		    "transfer" : s->st == OTAS_REBOOT ? "reboot" : "queued");
		/* Told to switch: keep what it was sent, to check later. */
		if (s->st == OTAS_REBOOT) {
			cJSON_AddNumberToObject(e, "to_version",
			    s->img.version);
			cJSON_AddNumberToObject(e, "endpoint", s->dev_ep);
		}
		cJSON_AddBoolToObject(e, "downgrade", s->opts.downgrade);
		cJSON_AddNumberToObject(e, "response_delay",
		    s->opts.response_delay_ms);
		cJSON_AddNumberToObject(e, "max_data_size",
		    s->opts.max_data_size);
		cJSON_AddNumberToObject(e, "block_timeout",
		    s->opts.block_timeout_ms);
		cJSON_AddNumberToObject(e, "from_version", s->from_version);
		cJSON_AddStringToObject(e, "from_sw_build_id", s->from_sw);
		cJSON_AddStringToObject(e, "from_date_code", s->from_date);
		cJSON_AddItemToArray(a, e);
	}
	if (atomic_write_json(srv->path, o, 0600) == -1)
		log_warn("%s", srv->path);
	cJSON_Delete(o);
}

/* A transfer cut by a restart: serve the saved image when asked. */
static int
otas_restore_transfer(struct otas_sess *s)
{
	char		 path[PATH_MAX], err[OTAS_MSG_LEN];
	uint8_t		*buf;
	size_t		 len;
	int		 rv;

	snprintf(path, sizeof(path), "%s/ota-%016" PRIx64 ".img",
	    s->srv->conf->zotad.state_dir, s->ieee);
	if (util_read_file(path, s->srv->conf->zotad.max_image_size, &buf,
	    &len) == -1) {
		log_warn("%s: transfer not resumed", path);
		return (-1);
	}
	/* Our own file, but a state dir is outside input all the same. */
	rv = otas_img_load(&s->img, buf, len, err, sizeof(err));
	free(buf);
	if (rv == -1) {
		log_warnx("%s: %s; transfer not resumed", path, err);
		return (-1);
	}
	s->st = OTAS_TRANSFER;
	otas_now(&s->started);
	otas_arm(s->timer, otas_quirk_timeout(s->img.manuf, s->img.image_type,
	    s->srv->conf->ota.image_block_request_timeout));
	return (0);
}

/*
 * A device told to switch images just before a restart: wait for it to
 * come back, then read what it runs, as if there had been no restart.
 */
static int
otas_restore_reboot(struct otas_sess *s, const cJSON *e)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e, "to_version");
	const cJSON	*ep = cJSON_GetObjectItemCaseSensitive(e, "endpoint");

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > UINT32_MAX) {
		log_warnx("%s: a rebooting session without its version, "
		    "dropped", s->srv->path);
		return (-1);
	}
	s->img.version = (uint32_t)v->valuedouble;
	if (cJSON_IsNumber(ep) && ep->valuedouble >= 1 &&
	    ep->valuedouble <= 240)
		s->dev_ep = (uint8_t)ep->valuedouble;
	s->st = OTAS_REBOOT;
	otas_arm(s->timer, OTAS_REBOOT_TIMEOUT_MS);
	return (0);
}

/* A saved override: -1 (the configuration's) unless within 0..MAX. */
static int
otas_json_opt(const cJSON *e, const char *key, double max)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(e, key);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > max)
		return (-1);
	return ((int)v->valuedouble);
}

/* Restore one saved session; 1 when it was, 0 when it was dropped. */
static int
otas_restore_one(struct otas *srv, const cJSON *e)
{
	const cJSON		*v;
	struct otas_opts	 o = { -1, -1, -1, -1, -1, 0, NULL };
	struct otas_sess	*s;
	uint64_t		 ieee;
	int			 transfer, reboot;

	v = cJSON_GetObjectItemCaseSensitive(e, "ieee");
	if (!cJSON_IsString(v) || dev_ieee_parse(v->valuestring, &ieee) ==
	    -1 || reg_find(srv->reg, ieee) == NULL ||
	    otas_find(srv, ieee) != NULL) {
		log_warnx("%s: a session names no known device, dropped",
		    srv->path);
		return (0);
	}
	v = cJSON_GetObjectItemCaseSensitive(e, "state");
	transfer = cJSON_IsString(v) && strcmp(v->valuestring, "transfer") ==
	    0;
	reboot = cJSON_IsString(v) && strcmp(v->valuestring, "reboot") == 0;
	o.downgrade = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e,
	    "downgrade"));
	o.response_delay_ms = otas_json_opt(e, "response_delay", 60000);
	o.max_data_size = otas_json_opt(e, "max_data_size", 255);
	o.block_timeout_ms = otas_json_opt(e, "block_timeout", INT32_MAX);
	if ((s = otas_sess_new(srv, ieee, transfer || reboot ? OTAS_RESUMED :
	    OTAS_UPDATE, &o, NULL, NULL)) == NULL)
		return (0);
	v = cJSON_GetObjectItemCaseSensitive(e, "from_version");
	if (cJSON_IsNumber(v) && v->valuedouble >= 0 &&
	    v->valuedouble <= UINT32_MAX)
		s->from_version = (uint32_t)v->valuedouble;
	v = cJSON_GetObjectItemCaseSensitive(e, "from_sw_build_id");
	if (cJSON_IsString(v))
		snprintf(s->from_sw, sizeof(s->from_sw), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(e, "from_date_code");
	if (cJSON_IsString(v))
		snprintf(s->from_date, sizeof(s->from_date), "%s",
		    v->valuestring);
	if ((transfer && otas_restore_transfer(s) == -1) ||
	    (reboot && otas_restore_reboot(s, e) == -1)) {
		otas_free_sess(s, 0);
		return (0);
	}
	TAILQ_INSERT_TAIL(&srv->sessions, s, entry);
	return (1);
}

int
otas_restore(struct otas *srv)
{
	cJSON		*o;
	const cJSON	*a, *e;
	int		 n = 0;

	if ((o = atomic_read_json(srv->path, 1024 * 1024)) == NULL)
		return (0);
	a = cJSON_GetObjectItemCaseSensitive(o, "sessions");
	cJSON_ArrayForEach(e, a)
		n += otas_restore_one(srv, e);
	cJSON_Delete(o);
	if (n > 0)
		log_info("%d OTA sessions carried over from the last run", n);
	otas_pump(srv);
	return (n);
}

struct otas *
otas_new(struct event_base *base, const struct config *conf,
    struct adapter *ad, struct zclreq *z, struct registry *reg,
    struct fetchc *fc, otas_event_cb *ev, void *ev_arg)
{
	struct otas	*srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return (NULL);
	if (asprintf(&srv->path, "%s/%s", conf->zotad.state_dir, OTAS_FILE) ==
	    -1) {
		free(srv);
		return (NULL);
	}
	srv->base = base;
	srv->conf = conf;
	srv->ad = ad;
	srv->z = z;
	srv->reg = reg;
	srv->fc = fc;
	srv->ev = ev;
	srv->ev_arg = ev_arg;
	TAILQ_INIT(&srv->sessions);
	TAILQ_INIT(&srv->outcomes);
	return (srv);
}

void
otas_free(struct otas *srv)
{
	struct otas_sess	*s;

	if (srv == NULL)
		return;
	/* Sessions stay on disk for the next run; only memory goes. */
	while ((s = TAILQ_FIRST(&srv->sessions)) != NULL) {
		TAILQ_REMOVE(&srv->sessions, s, entry);
		otas_free_sess(s, 0);
	}
	while (!TAILQ_EMPTY(&srv->outcomes))
		otas_outcome_drop(srv, TAILQ_FIRST(&srv->outcomes)->ieee);
	free(srv->path);
	free(srv);
}
