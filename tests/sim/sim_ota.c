/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The OTA Upgrade cluster client of a simulated device: it queries the
 * server, downloads with block or page requests (retrying, honouring
 * WAIT_FOR_DATA), verifies what it received, ends the upgrade, waits
 * for the upgrade time and reboots into the new version.
 */

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "otafile.h"
#include "util.h"
#include "sim.h"

#define OTA_CLUSTER		0x0019
#define OTA_MAX_IMAGE		(16U * 1024 * 1024)
#define OTA_END_FAST_RETRIES	2
#define OTA_MAX_WAIT_S		3600	/* cap on any delay a server asks */

#define ZCL_SUCCESS		0x00
#define ZCL_MALFORMED		0x80
#define ZCL_ABORT		0x95
#define ZCL_INVALID_IMAGE	0x96
#define ZCL_WAIT_FOR_DATA	0x97
#define ZCL_NO_IMAGE		0x98

#define CMD_IMAGE_NOTIFY	0x00
#define CMD_QUERY_NEXT		0x01
#define CMD_QUERY_NEXT_RSP	0x02
#define CMD_BLOCK_REQ		0x03
#define CMD_PAGE_REQ		0x04
#define CMD_BLOCK_RSP		0x05
#define CMD_END_REQ		0x06
#define CMD_END_RSP		0x07

static void	ota_request_next(struct sim_device *);
static void	ota_arm(struct sim_device *, uint32_t ms);

const char *
ota_state_name(enum sim_ota_state s)
{
	switch (s) {
	case OTA_IDLE:
		return ("idle");
	case OTA_QUERYING:
		return ("querying");
	case OTA_DOWNLOAD:
		return ("download");
	case OTA_VERIFY:
		return ("verify");
	case OTA_WAIT_UPGRADE:
		return ("wait_upgrade");
	case OTA_COUNTDOWN:
		return ("countdown");
	case OTA_REBOOTING:
		return ("rebooting");
	case OTA_SILENT:
		return ("silent");
	}
	return ("?");
}

static void
ota_set_state(struct sim_device *d, enum sim_ota_state s)
{
	cJSON	*o;

	if (d->ota.state == s)
		return;
	o = sim_event_dev(d);
	cJSON_AddStringToObject(o, "from", ota_state_name(d->ota.state));
	cJSON_AddStringToObject(o, "to", ota_state_name(s));
	sim_event(d->sim, "ota_state", o);
	log_debug("%s: OTA %s -> %s", d->name, ota_state_name(d->ota.state),
	    ota_state_name(s));
	d->ota.state = s;
}

static void
ota_inject_event(struct sim_device *d, const char *what, int64_t offset)
{
	cJSON	*o = sim_event_dev(d);

	cJSON_AddStringToObject(o, "what", what);
	if (offset >= 0)
		cJSON_AddNumberToObject(o, "offset", (double)offset);
	sim_event(d->sim, "inject", o);
}

static void
ota_result_event(struct sim_device *d, const char *result)
{
	cJSON	*o = sim_event_dev(d);

	cJSON_AddStringToObject(o, "result", result);
	cJSON_AddNumberToObject(o, "received", d->ota.received);
	cJSON_AddNumberToObject(o, "image_size", d->ota.image_size);
	sim_event(d->sim, "ota_result", o);
	log_info("%s: upgrade %s", d->name, result);
}

static void
ota_free_image(struct sim_device *d)
{
	free(d->ota.image);
	free(d->ota.have);
	d->ota.image = d->ota.have = NULL;
	d->ota.received = 0;
}

/* Back to normal operation, with the periodic query if it has one. */
static void
ota_idle(struct sim_device *d)
{
	struct timeval	 tv;
	uint32_t	 ms = d->ota_cfg.query_interval_ms;

	if (d->ota.timer != NULL)
		evtimer_del(d->ota.timer);
	ota_free_image(d);
	ota_set_state(d, OTA_IDLE);
	if (ms == 0 || d->ota.query_timer == NULL)
		return;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->ota.query_timer, &tv);
}

/* Send a client->server OTA command after the device's reply latency. */
static uint8_t
ota_send(struct sim_device *d, uint8_t cmd, const struct sim_wr *payload,
    uint32_t delay_ms)
{
	struct sim_wr	 w;
	uint8_t		 tsn = dev_next_tsn(d);

	wr_init(&w);
	wr_u8(&w, 0x01);	/* cluster specific, client to server */
	wr_u8(&w, tsn);
	wr_u8(&w, cmd);
	wr_bytes(&w, payload->buf, payload->len);
	dev_send_zcl(d, d->ota_cfg.endpoint, d->ota.server_ep, OTA_CLUSTER,
	    &w, delay_ms);
	return (tsn);
}

static void
ota_send_end(struct sim_device *d, uint8_t status, uint32_t delay_ms)
{
	struct sim_wr	 w;

	wr_init(&w);
	wr_u8(&w, status);
	wr_u16(&w, d->ota_cfg.manufacturer);
	wr_u16(&w, d->ota_cfg.image_type);
	wr_u32(&w, d->ota.new_version);
	ota_send(d, CMD_END_REQ, &w, delay_ms);
}

void
ota_query_now(struct sim_device *d)
{
	const struct sim_ep	*ep;
	struct sim_wr		 w;

	if (!d->ota_cfg.enabled || !d->joined ||
	    (d->ota.state != OTA_IDLE && d->ota.state != OTA_SILENT))
		return;
	/* Server discovery: the coordinator endpoint serving OTA. */
	if ((ep = znp_ota_server_ep(d->sim)) == NULL) {
		sim_event(d->sim, "ota_no_server", sim_event_dev(d));
		return;
	}
	ota_free_image(d);
	d->ota.server_ep = ep->id;
	wr_init(&w);
	wr_u8(&w, d->ota_cfg.has_hw_version ? 0x01 : 0x00);
	wr_u16(&w, d->ota_cfg.manufacturer);
	wr_u16(&w, d->ota_cfg.image_type);
	wr_u32(&w, d->ota_cfg.file_version);
	if (d->ota_cfg.has_hw_version)
		wr_u16(&w, d->ota_cfg.hw_version);
	ota_set_state(d, OTA_QUERYING);
	d->ota.req_tsn = ota_send(d, CMD_QUERY_NEXT, &w,
	    d->ota_cfg.reply_latency_ms);
	d->ota.tries = 0;
	ota_arm(d, d->ota_cfg.reply_latency_ms + d->ota_cfg.block_timeout_ms);
}

/* The device runs the new image: new version, new Basic values. */
static void
ota_rebooted(struct sim_device *d)
{
	cJSON	*ev;

	d->ota_cfg.file_version = d->ota.new_version;
	if (d->ota_cfg.after_set)
		d->basic = d->ota_cfg.after;
	ev = sim_event_dev(d);
	cJSON_AddNumberToObject(ev, "file_version", d->ota.new_version);
	cJSON_AddStringToObject(ev, "sw_build_id", d->basic.sw_build_id);
	cJSON_AddBoolToObject(ev, "announce",
	    !d->ota_cfg.inject.reboot_no_announce);
	sim_event(d->sim, "reboot", ev);
	log_info("%s: rebooted into file version 0x%08x", d->name,
	    d->ota.new_version);
	if (d->ota_cfg.inject.reboot_no_announce)
		ota_inject_event(d, "reboot_without_announce", -1);
	else
		zdo_announce(d->sim, d);
	ota_idle(d);
}

/* The one OTA timer: what it means depends on the state. */
static void
ota_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_device	*d = arg;
	struct sim_ota		*o = &d->ota;

	(void)fd;
	(void)what;
	switch (o->state) {
	case OTA_QUERYING:
		sim_event(d->sim, "ota_query_timeout", sim_event_dev(d));
		ota_idle(d);
		break;
	case OTA_DOWNLOAD:
		ota_request_next(d);
		break;
	case OTA_WAIT_UPGRADE:
		if (o->end_tries++ < OTA_END_FAST_RETRIES) {
			ota_send_end(d, ZCL_SUCCESS, 0);
			ota_arm(d, d->ota_cfg.block_timeout_ms);
		} else {
			/* Timeout policy 0: apply without the server's word. */
			ota_set_state(d, OTA_COUNTDOWN);
			ota_arm(d, 0);
		}
		break;
	case OTA_COUNTDOWN:
		ota_set_state(d, OTA_REBOOTING);
		ota_arm(d, d->ota_cfg.reboot_ms);
		break;
	case OTA_REBOOTING:
		ota_rebooted(d);
		break;
	case OTA_IDLE:
	case OTA_VERIFY:
	case OTA_SILENT:
		break;
	}
}

static void
ota_arm(struct sim_device *d, uint32_t ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->ota.timer, &tv);
}

static void
ota_query_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_device	*d = arg;

	(void)fd;
	(void)what;
	if (d->ota.state == OTA_IDLE)
		ota_query_now(d);
}

void
ota_start(struct sim_device *d)
{
	struct sim_ota	*o = &d->ota;

	if (!d->ota_cfg.enabled)
		return;
	if (o->timer == NULL &&
	    (o->timer = evtimer_new(d->sim->base, ota_timer_cb, d)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	if (o->query_timer == NULL && (o->query_timer = evtimer_new(
	    d->sim->base, ota_query_timer_cb, d)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	o->state = OTA_IDLE;
	ota_idle(d);
}

void
ota_stop(struct sim_device *d)
{
	if (d->ota.timer != NULL)
		evtimer_del(d->ota.timer);
	if (d->ota.query_timer != NULL)
		evtimer_del(d->ota.query_timer);
	ota_free_image(d);
	d->ota.state = OTA_IDLE;
}

/* ---- download ---- */

static int
ota_have(const struct sim_ota *o, uint32_t off)
{
	return (o->have[off >> 3] & (1U << (off & 7)));
}

/* The first byte not yet received at or after FROM, or image_size. */
static uint32_t
ota_first_missing(const struct sim_ota *o, uint32_t from)
{
	while (from < o->image_size && ota_have(o, from))
		from++;
	return (from);
}

/* Pick the offset of the next request, bending the order if asked. */
static uint32_t
ota_pick_offset(struct sim_device *d)
{
	struct sim_ota		*o = &d->ota;
	uint32_t		 first = ota_first_missing(o, 0);
	uint32_t		 step = d->ota_cfg.max_data_size, ahead;

	if (o->repeats_left > 0) {
		/* Ask again for the block just received. */
		o->repeats_left--;
		ota_inject_event(d, "repeat_offset", o->req_offset);
		return (o->req_offset);
	}
	if (d->ota_cfg.inject.out_of_order && o->blocks % 4 == 1) {
		ahead = first + 2 * step;
		if (ahead < o->image_size && !ota_have(o, ahead)) {
			ota_inject_event(d, "out_of_order", ahead);
			return (ahead);
		}
	}
	return (first);
}

static void
ota_send_block_request(struct sim_device *d)
{
	struct sim_ota		*o = &d->ota;
	struct sim_ota_cfg	*c = &d->ota_cfg;
	struct sim_wr		 w;

	wr_init(&w);
	wr_u8(&w, !c->page_mode && c->min_block_period > 0 ? 0x02 : 0x00);
	wr_u16(&w, c->manufacturer);
	wr_u16(&w, c->image_type);
	wr_u32(&w, o->new_version);
	wr_u32(&w, o->req_offset);
	wr_u8(&w, c->max_data_size);
	if (c->page_mode) {
		wr_u16(&w, c->page_size);
		wr_u16(&w, c->page_spacing);
	} else if (c->min_block_period > 0)
		wr_u16(&w, c->min_block_period);
	o->req_tsn = ota_send(d, c->page_mode ? CMD_PAGE_REQ : CMD_BLOCK_REQ,
	    &w, 0);
}

static void
ota_fail(struct sim_device *d, const char *why)
{
	ota_result_event(d, why);
	ota_send_end(d, ZCL_ABORT, d->ota_cfg.reply_latency_ms);
	ota_idle(d);
}

static void	ota_verify(struct sim_device *);

/* Send the next request, or a retry when the last one went unanswered. */
static void
ota_request_next(struct sim_device *d)
{
	struct sim_ota		*o = &d->ota;
	struct sim_inject	*inj = &d->ota_cfg.inject;
	uint32_t		 off;

	if (o->received >= o->image_size) {
		ota_verify(d);
		return;
	}
	off = ota_pick_offset(d);
	if (off == o->req_offset && o->tries > 0 &&
	    o->tries > d->ota_cfg.block_retries) {
		ota_fail(d, "block_timeout");
		return;
	}
	if (inj->silent_at >= 0 && off >= inj->silent_at) {
		ota_inject_event(d, "silent", off);
		ota_set_state(d, OTA_SILENT);
		return;
	}
	if (inj->abort_at >= 0 && off >= inj->abort_at) {
		ota_inject_event(d, "abort", off);
		ota_fail(d, "aborted_by_device");
		return;
	}
	if (off != o->req_offset)
		o->tries = 0;
	o->tries++;
	o->req_offset = off;
	ota_send_block_request(d);
	ota_arm(d, d->ota_cfg.block_timeout_ms);
}

/* Schedule the next request after the pacing the client must keep. */
static void
ota_pace(struct sim_device *d)
{
	uint32_t	 ms = d->ota.block_period;

	if (ms < d->ota_cfg.reply_latency_ms)
		ms = d->ota_cfg.reply_latency_ms;
	d->ota.tries = 0;
	ota_arm(d, ms);
}

static void
ota_begin_download(struct sim_device *d, uint32_t version, uint32_t size)
{
	struct sim_ota	*o = &d->ota;
	cJSON		*ev;

	if ((o->image = calloc(1, size)) == NULL ||
	    (o->have = calloc(1, size / 8 + 1)) == NULL)
		fatal("%s", __func__);
	o->image_size = size;
	o->new_version = version;
	o->received = 0;
	o->blocks = 0;
	o->tries = 0;
	o->req_offset = 0;
	o->repeats_left = 0;
	o->end_tries = 0;
	o->block_period = d->ota_cfg.min_block_period;
	ev = sim_event_dev(d);
	cJSON_AddNumberToObject(ev, "file_version", version);
	cJSON_AddNumberToObject(ev, "image_size", size);
	sim_event(d->sim, "ota_download", ev);
	ota_set_state(d, OTA_DOWNLOAD);
	ota_pace(d);
}

static void
ota_query_rsp(struct sim_device *d, uint8_t tsn, struct sim_rd *r)
{
	uint8_t		 status = rd_u8(r);
	uint16_t	 manuf, type;
	uint32_t	 version, size;

	if (d->ota.state != OTA_QUERYING || tsn != d->ota.req_tsn)
		return;
	if (status != ZCL_SUCCESS) {
		ota_result_event(d, status == ZCL_NO_IMAGE ? "no_image" :
		    "query_refused");
		ota_idle(d);
		return;
	}
	manuf = rd_u16(r);
	type = rd_u16(r);
	version = rd_u32(r);
	size = rd_u32(r);
	if (r->err || manuf != d->ota_cfg.manufacturer ||
	    type != d->ota_cfg.image_type || size < OTA_HEADER_MIN ||
	    size > OTA_MAX_IMAGE) {
		log_warnx("%s: unusable Query Next Image Response", d->name);
		ota_result_event(d, "bad_query_response");
		ota_idle(d);
		return;
	}
	ota_begin_download(d, version, size);
}

static void
ota_store(struct sim_device *d, uint32_t off, const uint8_t *data,
    uint8_t n)
{
	struct sim_ota	*o = &d->ota;
	uint32_t	 i, fresh = 0;
	cJSON		*ev;

	for (i = 0; i < n; i++) {
		if (!ota_have(o, off + i)) {
			o->have[(off + i) >> 3] |= 1U << ((off + i) & 7);
			fresh++;
		}
		o->image[off + i] = data[i];
	}
	o->received += fresh;
	o->blocks++;
	ev = sim_event_dev(d);
	cJSON_AddNumberToObject(ev, "offset", off);
	cJSON_AddNumberToObject(ev, "size", n);
	cJSON_AddNumberToObject(ev, "received", o->received);
	sim_event(d->sim, "block", ev);
}

/* An Image Block Response with data; returns -1 when it is refused. */
static int
ota_block_data(struct sim_device *d, struct sim_rd *r)
{
	struct sim_ota		*o = &d->ota;
	struct sim_ota_cfg	*c = &d->ota_cfg;
	uint8_t			 data[256], n;
	uint16_t		 manuf, type;
	uint32_t		 version, off;

	manuf = rd_u16(r);
	type = rd_u16(r);
	version = rd_u32(r);
	off = rd_u32(r);
	n = rd_u8(r);
	rd_bytes(r, data, n);
	if (r->err || manuf != c->manufacturer || type != c->image_type ||
	    version != o->new_version || n == 0 ||
	    off > o->image_size || n > o->image_size - off) {
		log_warnx("%s: malformed Image Block Response", d->name);
		return (-1);
	}
	if (c->inject.reject_block_over > 0 &&
	    n > c->inject.reject_block_over) {
		ota_inject_event(d, "reject_block", off);
		return (-1);
	}
	if (n > c->max_data_size)
		return (-1);
	/* Page responses may come in any order inside the page. */
	if (!c->page_mode && off != o->req_offset)
		return (0);
	ota_store(d, off, data, n);
	if (c->inject.repeat_offsets && o->blocks % 4 == 2 &&
	    o->received < o->image_size)
		o->repeats_left = 1;
	return (1);
}

static void
ota_wait_for_data(struct sim_device *d, struct sim_rd *r)
{
	uint32_t	 now = rd_u32(r), at = rd_u32(r);
	uint16_t	 period = rd_u16(r);
	uint32_t	 secs;
	cJSON		*ev;

	if (r->err)
		return;
	secs = now == 0 ? at : at > now ? at - now : 0;
	if (secs > OTA_MAX_WAIT_S)
		secs = OTA_MAX_WAIT_S;
	d->ota.block_period = period;
	ev = sim_event_dev(d);
	cJSON_AddNumberToObject(ev, "delay_ms", secs * 1000.0);
	cJSON_AddNumberToObject(ev, "block_period", period);
	sim_event(d->sim, "ota_wait_for_data", ev);
	d->ota.tries = 0;
	ota_arm(d, secs * 1000 + 1);
}

static void
ota_block_rsp(struct sim_device *d, uint8_t src_ep, uint8_t fc, uint8_t tsn,
    struct sim_rd *r)
{
	uint8_t	 status = rd_u8(r);
	int	 rv;

	if (d->ota.state != OTA_DOWNLOAD || r->err)
		return;
	switch (status) {
	case ZCL_SUCCESS:
		if ((rv = ota_block_data(d, r)) == -1) {
			struct sim_wr	 w;

			/* Tell the server; the request will be retried. */
			wr_init(&w);
			wr_u8(&w, (fc & 0x08) ? 0x10 : 0x18);
			wr_u8(&w, tsn);
			wr_u8(&w, 0x0B);
			wr_u8(&w, CMD_BLOCK_RSP);
			wr_u8(&w, ZCL_MALFORMED);
			dev_send_zcl(d, d->ota_cfg.endpoint, src_ep,
			    OTA_CLUSTER, &w, d->ota_cfg.reply_latency_ms);
		} else if (rv == 1) {
			if (!d->ota_cfg.page_mode ||
			    d->ota.received >= d->ota.image_size ||
			    ota_first_missing(&d->ota, d->ota.req_offset) >=
			    d->ota.req_offset + d->ota_cfg.page_size)
				ota_pace(d);
			else	/* the page is still coming: wait on */
				ota_arm(d, d->ota_cfg.block_timeout_ms);
		}
		break;
	case ZCL_WAIT_FOR_DATA:
		ota_wait_for_data(d, r);
		break;
	default:
		ota_result_event(d, "aborted_by_server");
		ota_idle(d);
		break;
	}
}

/* ---- verification and the end of the upgrade ---- */

/* Why the received image is not acceptable, or NULL when it is. */
static const char *
ota_check_image(struct sim_device *d, const char *sha)
{
	struct sim_ota		*o = &d->ota;
	struct ota_image	*img;
	const char		*why = NULL;
	char			 err[160];

	if (o->received != o->image_size)
		return ("size");
	if ((img = calloc(1, sizeof(*img))) == NULL)
		fatal("%s", __func__);
	if (ota_parse(o->image, o->image_size, img, err, sizeof(err)) == -1) {
		log_warnx("%s: received image: %s", d->name, err);
		why = "header";
	} else if (img->prefix_len != 0 || img->served_len != o->image_size ||
	    img->hdr.manufacturer_code != d->ota_cfg.manufacturer ||
	    img->hdr.image_type != d->ota_cfg.image_type ||
	    img->hdr.file_version != o->new_version)
		why = "header_identity";
	else if (d->ota_cfg.has_expect_sha512 &&
	    strcmp(sha, d->ota_cfg.expect_sha512) != 0)
		why = "sha512";
	free(img);
	return (why);
}

static void
ota_verify(struct sim_device *d)
{
	struct sim_ota	*o = &d->ota;
	char		 sha[SHA512_HEX_LEN + 1];
	const char	*why;
	cJSON		*ev;

	ota_set_state(d, OTA_VERIFY);
	util_sha512_hex(o->image, o->image_size, sha);
	why = ota_check_image(d, sha);
	if (why == NULL && d->ota_cfg.inject.end_invalid_image) {
		ota_inject_event(d, "end_invalid_image", -1);
		why = "injected";
	}
	ev = sim_event_dev(d);
	cJSON_AddBoolToObject(ev, "ok", why == NULL);
	if (why != NULL)
		cJSON_AddStringToObject(ev, "reason", why);
	cJSON_AddNumberToObject(ev, "size", o->received);
	cJSON_AddStringToObject(ev, "sha512", sha);
	sim_event(d->sim, "ota_verify", ev);
	if (why != NULL) {
		ota_send_end(d, ZCL_INVALID_IMAGE, d->ota_cfg.reply_latency_ms);
		ota_result_event(d, "invalid_image");
		ota_idle(d);
		return;
	}
	ota_send_end(d, ZCL_SUCCESS, d->ota_cfg.reply_latency_ms);
	ota_free_image(d);
	o->received = o->image_size;
	o->end_tries = 0;
	ota_set_state(d, OTA_WAIT_UPGRADE);
	/* Like a block, the end request is retried after the response wait. */
	ota_arm(d, d->ota_cfg.reply_latency_ms + d->ota_cfg.block_timeout_ms);
}

static void
ota_end_rsp(struct sim_device *d, struct sim_rd *r)
{
	uint32_t	 now, at, secs;
	cJSON		*ev;

	rd_u16(r);
	rd_u16(r);
	rd_u32(r);
	now = rd_u32(r);
	at = rd_u32(r);
	if (r->err || (d->ota.state != OTA_WAIT_UPGRADE &&
	    d->ota.state != OTA_COUNTDOWN))
		return;
	ev = sim_event_dev(d);
	cJSON_AddNumberToObject(ev, "current_time", now);
	cJSON_AddNumberToObject(ev, "upgrade_time", at);
	sim_event(d->sim, "ota_end_response", ev);
	if (at == 0xFFFFFFFFU) {
		/* Wait for a later answer; ask again now and then. */
		ota_set_state(d, OTA_WAIT_UPGRADE);
		d->ota.end_tries = OTA_END_FAST_RETRIES;
		ota_arm(d, d->ota_cfg.end_retry_ms);
		return;
	}
	secs = now == 0 ? at : at > now ? at - now : 0;
	if (secs > OTA_MAX_WAIT_S)
		secs = OTA_MAX_WAIT_S;
	ota_result_event(d, "success");
	ota_set_state(d, OTA_COUNTDOWN);
	ota_arm(d, secs * 1000);
}

static void
ota_notify(struct sim_device *d, struct sim_rd *r)
{
	uint8_t		 type = rd_u8(r), jitter = rd_u8(r);
	uint16_t	 manuf = type >= 1 ? rd_u16(r) : 0xFFFF;
	uint16_t	 itype = type >= 2 ? rd_u16(r) : 0xFFFF;
	uint32_t	 version = type >= 3 ? rd_u32(r) : 0xFFFFFFFFU;
	uint32_t	 draw;

	if (r->err || type > 3)
		return;
	if (d->ota_cfg.inject.ignore_image_notify) {
		ota_inject_event(d, "ignore_image_notify", -1);
		return;
	}
	if ((manuf != 0xFFFF && manuf != d->ota_cfg.manufacturer) ||
	    (itype != 0xFFFF && itype != d->ota_cfg.image_type) ||
	    (version != 0xFFFFFFFFU && version == d->ota_cfg.file_version))
		return;
	draw = rng_range(&d->rng, 1, 100);
	if (draw > jitter) {
		sim_event(d->sim, "ota_notify_jitter_skip", sim_event_dev(d));
		return;
	}
	ota_query_now(d);
}

void
ota_zcl(struct sim_device *d, uint8_t src_ep, uint8_t dst_ep, uint8_t fc,
    uint8_t tsn, uint8_t cmd, const uint8_t *data, size_t len)
{
	struct sim_rd	 r;

	(void)dst_ep;
	rd_init(&r, data, len);
	if (!(fc & 0x08))
		return;		/* client to server: not for a client */
	if (d->ota.state == OTA_SILENT && cmd != CMD_IMAGE_NOTIFY)
		return;
	switch (cmd) {
	case CMD_IMAGE_NOTIFY:
		if (d->ota.state == OTA_SILENT)
			return;
		ota_notify(d, &r);
		break;
	case CMD_QUERY_NEXT_RSP:
		ota_query_rsp(d, tsn, &r);
		break;
	case CMD_BLOCK_RSP:
		ota_block_rsp(d, src_ep, fc, tsn, &r);
		break;
	case CMD_END_RSP:
		ota_end_rsp(d, &r);
		break;
	default:
		log_debug("%s: OTA command 0x%02x ignored", d->name, cmd);
		break;
	}
}
