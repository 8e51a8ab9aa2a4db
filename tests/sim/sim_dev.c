/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "sim.h"

#define DEV_APS_MTU		82	/* unfragmented APS payload */
#define DEV_QUEUE_MAX		4	/* a parent's queue per child */

#define ST_SUCCESS		0x00
#define ST_INVALID_PARAMETER	0x02
#define ST_NWK_NO_ROUTE		0xCD
#define ST_MAC_NO_ACK		0xE9
#define ST_MAC_TRANS_EXPIRED	0xF0
#define ST_MAC_TRANS_OVERFLOW	0xF1

#define ZCL_FC_CLUSTER		0x01
#define ZCL_FC_MANUF		0x04
#define ZCL_FC_TO_CLIENT	0x08
#define ZCL_FC_DDR		0x10

#define ZCL_UNSUP_CLUSTER_CMD	0x81
#define ZCL_UNSUP_GENERAL_CMD	0x82
#define ZCL_UNSUPPORTED_ATTR	0x86

/* A frame from the host on its way to a device. */
struct dev_tx {
	struct sim_device *dev;
	uint8_t		 status;
	int		 deliver;
	uint8_t		 src_ep;
	uint8_t		 dst_ep;
	uint8_t		 trans_id;
	uint16_t	 cluster;
	size_t		 len;
	uint8_t		 data[256];
};

/* A frame from a device on its way to the coordinator. */
struct dev_rx {
	struct sim_device *dev;
	uint8_t		 src_ep;
	uint8_t		 dst_ep;
	uint16_t	 cluster;
	struct sim_wr	 w;
};

static void	dev_receive(struct sim_device *, uint8_t src_ep, uint8_t dst_ep,
		    uint16_t cluster, const uint8_t *, size_t, int broadcast);
static void	dev_poll_arm(struct sim_device *);
static void	dev_confirm(struct sim *, uint8_t, uint8_t, uint8_t);
static void	dev_expire(void *);

struct sim_device *
dev_by_nwk(struct sim *sim, uint16_t nwk)
{
	int	 i;

	for (i = 0; i < sim->ndevs; i++)
		if (sim->devs[i]->nwk == nwk)
			return (sim->devs[i]);
	return (NULL);
}

struct sim_device *
dev_by_ieee(struct sim *sim, const uint8_t ieee[8])
{
	int	 i;

	for (i = 0; i < sim->ndevs; i++)
		if (memcmp(sim->devs[i]->ieee, ieee, 8) == 0)
			return (sim->devs[i]);
	return (NULL);
}

struct sim_device *
dev_by_name(struct sim *sim, const char *name)
{
	uint8_t	 ieee[8];
	int	 i;

	for (i = 0; i < sim->ndevs; i++)
		if (strcmp(sim->devs[i]->name, name) == 0)
			return (sim->devs[i]);
	if (ieee_parse(name, ieee) == 0)
		return (dev_by_ieee(sim, ieee));
	return (NULL);
}

int
dev_add(struct sim *sim, struct sim_device *d)
{
	if (sim->ndevs == SIM_MAX_DEVICES)
		return (-1);
	if (dev_by_ieee(sim, d->ieee) != NULL ||
	    dev_by_nwk(sim, d->nwk) != NULL)
		return (-1);
	d->sim = sim;
	d->index = sim->ndevs;
	rng_seed(&d->rng, sim->seed, (uint64_t)d->index + 1);
	TAILQ_INIT(&d->pending);
	sim->devs[sim->ndevs++] = d;
	return (0);
}

void
dev_start(struct sim_device *d)
{
	if (!d->joined)
		return;
	ota_start(d);
	if (d->kind == DEV_SLEEPY)
		dev_poll_arm(d);
}

void
dev_join(struct sim_device *d)
{
	if (d->joined)
		return;
	d->joined = 1;
	sim_event(d->sim, "join", sim_event_dev(d));
	zdo_device_joined(d->sim, d, 1);
	dev_start(d);
}

/* Confirm and drop every frame still waiting for a sleepy device. */
static void
dev_flush_pending(struct sim_device *d, uint8_t status)
{
	struct sim_pending	*p;
	struct sim_wr		 w;

	while ((p = TAILQ_FIRST(&d->pending)) != NULL) {
		TAILQ_REMOVE(&d->pending, p, entry);
		d->npending--;
		wr_init(&w);
		wr_u8(&w, status);
		wr_u8(&w, p->src_ep);
		wr_u8(&w, p->trans_id);
		link_send_areq(d->sim, MT_SUBSYS_AF, 0x80, &w);
		free(p);
	}
}

void
dev_leave(struct sim_device *d)
{
	if (!d->joined)
		return;
	d->joined = 0;
	ota_stop(d);
	if (d->poll_ev != NULL)
		evtimer_del(d->poll_ev);
	dev_flush_pending(d, ST_MAC_TRANS_EXPIRED);
	zdo_device_left(d->sim, d);
	sim_event(d->sim, "leave", sim_event_dev(d));
}

void
dev_free(struct sim_device *d)
{
	struct sim_pending	*p;

	ota_stop(d);
	while ((p = TAILQ_FIRST(&d->pending)) != NULL) {
		TAILQ_REMOVE(&d->pending, p, entry);
		free(p);
	}
	if (d->poll_ev != NULL)
		event_free(d->poll_ev);
	if (d->ota.timer != NULL)
		event_free(d->ota.timer);
	if (d->ota.query_timer != NULL)
		event_free(d->ota.query_timer);
	free(d);
}

uint8_t
dev_next_tsn(struct sim_device *d)
{
	return (d->tsn++);
}

uint8_t
dev_capabilities(const struct sim_device *d)
{
	switch (d->kind) {
	case DEV_ROUTER:
		return (0x8E);		/* FFD, mains, receiver on */
	case DEV_END:
		return (0x8C);		/* mains, receiver on */
	case DEV_SLEEPY:
		break;
	}
	return (0x80);
}

void
dev_node_desc(const struct sim_device *d, struct sim_wr *w)
{
	wr_u8(w, d->kind == DEV_ROUTER ? 0x01 : 0x02);
	wr_u8(w, 0x40);
	wr_u8(w, dev_capabilities(d));
	wr_u16(w, d->manufacturer_code);
	wr_u8(w, DEV_APS_MTU);
	wr_u16(w, DEV_APS_MTU);
	wr_u16(w, 0x0000);
	wr_u16(w, DEV_APS_MTU);
	wr_u8(w, 0);
}

/* One ZCL frame seen on the air, for the event log. */
static void
dev_zcl_event(struct sim_device *d, const char *dir, uint16_t cluster,
    const uint8_t *data, size_t len)
{
	cJSON	*o;
	size_t	 hdr;

	if (d->sim->events == NULL || len < 3)
		return;
	hdr = (data[0] & ZCL_FC_MANUF) ? 5 : 3;
	if (len < hdr)
		return;
	o = sim_event_dev(d);
	cJSON_AddStringToObject(o, "dir", dir);
	cJSON_AddNumberToObject(o, "cluster", cluster);
	cJSON_AddStringToObject(o, "kind",
	    (data[0] & ZCL_FC_CLUSTER) ? "cluster" : "global");
	cJSON_AddNumberToObject(o, "cmd", data[hdr - 1]);
	cJSON_AddNumberToObject(o, "tsn", data[hdr - 2]);
	cJSON_AddNumberToObject(o, "len", (double)len);
	sim_event(d->sim, "zcl", o);
}

static void
dev_confirm(struct sim *sim, uint8_t status, uint8_t src_ep, uint8_t trans_id)
{
	struct sim_wr	 w;

	wr_init(&w);
	wr_u8(&w, status);
	wr_u8(&w, src_ep);
	wr_u8(&w, trans_id);
	link_send_areq(sim, MT_SUBSYS_AF, 0x80, &w);
}

static void
dev_tx_fire(void *arg)
{
	struct dev_tx	*tx = arg;
	cJSON		*o;

	if (tx->status != ST_SUCCESS) {
		o = sim_event_dev(tx->dev);
		cJSON_AddNumberToObject(o, "status", tx->status);
		cJSON_AddNumberToObject(o, "trans_id", tx->trans_id);
		sim_event(tx->dev->sim, "confirm_failure", o);
	}
	dev_confirm(tx->dev->sim, tx->status, tx->src_ep, tx->trans_id);
	if (tx->deliver && tx->dev->joined)
		dev_receive(tx->dev, tx->src_ep, tx->dst_ep, tx->cluster,
		    tx->data, tx->len, 0);
	free(tx);
}

/* The outcome the radio link gives one frame to a device. */
static uint8_t
dev_link_status(struct sim_device *d, int *deliver)
{
	struct sim_link_cfg	*l = &d->sim->link;

	*deliver = 0;
	if (l->confirm_status != ST_SUCCESS)
		return (l->confirm_status);
	if (rng_chance(&d->rng, l->confirm_fail_rate))
		return (l->confirm_fail_status);
	if (rng_chance(&d->rng, l->loss_rate)) {
		sim_event(d->sim, "lost_to_device", sim_event_dev(d));
		return (ST_MAC_NO_ACK);
	}
	*deliver = 1;
	return (ST_SUCCESS);
}

static void
dev_queue(struct sim_device *d, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, uint8_t trans_id, const uint8_t *data, size_t len)
{
	struct sim_pending	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		fatal("%s", __func__);
	p->queued_ms = sim_now_ms(d->sim);
	p->src_ep = src_ep;
	p->dst_ep = dst_ep;
	p->trans_id = trans_id;
	p->cluster = cluster;
	p->len = len;
	memcpy(p->data, data, len);
	TAILQ_INSERT_TAIL(&d->pending, p, entry);
	d->npending++;
	/* A parent drops what is not polled within its persistence time. */
	sim_later(d->sim, d->expire_ms + 1, dev_expire, d);
}

uint8_t
dev_af_request(struct sim *sim, uint16_t nwk, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, uint8_t trans_id, const uint8_t *data, size_t len)
{
	struct sim_device	*d = dev_by_nwk(sim, nwk);
	struct dev_tx		*tx;

	if (len > DEV_APS_MTU)
		return (ST_INVALID_PARAMETER);
	if (d != NULL && d->joined && d->kind == DEV_SLEEPY &&
	    sim->link.confirm_status == ST_SUCCESS) {
		if (d->npending >= DEV_QUEUE_MAX) {
			dev_confirm(sim, ST_MAC_TRANS_OVERFLOW, src_ep,
			    trans_id);
			return (ST_SUCCESS);
		}
		dev_queue(d, dst_ep, src_ep, cluster, trans_id, data, len);
		return (ST_SUCCESS);
	}
	if ((tx = calloc(1, sizeof(*tx))) == NULL)
		fatal("%s", __func__);
	tx->src_ep = src_ep;
	tx->dst_ep = dst_ep;
	tx->trans_id = trans_id;
	tx->cluster = cluster;
	tx->len = len;
	memcpy(tx->data, data, len);
	if (d == NULL || !d->joined) {
		/* Nobody there: the route search fails after a while. */
		if ((tx->dev = d) == NULL) {
			free(tx);
			dev_confirm(sim, ST_NWK_NO_ROUTE, src_ep, trans_id);
			return (ST_SUCCESS);
		}
		tx->status = ST_NWK_NO_ROUTE;
	} else {
		tx->dev = d;
		tx->status = dev_link_status(d, &tx->deliver);
	}
	sim_later_owned(sim, sim->link.confirm_delay_ms +
	    sim->link.air_latency_ms, dev_tx_fire, tx);
	return (ST_SUCCESS);
}

void
dev_af_broadcast(struct sim_device *d, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, const uint8_t *data, size_t len)
{
	if (d->kind == DEV_SLEEPY)
		return;		/* broadcasts are not buffered for sleepers */
	dev_receive(d, src_ep, dst_ep, cluster, data, len, 1);
}

/* Confirm as expired the frames a sleepy device left too long. */
static void
dev_expire(void *arg)
{
	struct sim_device	*d = arg;
	struct sim_pending	*p, *next;
	uint64_t		 now = sim_now_ms(d->sim);
	cJSON			*o;

	for (p = TAILQ_FIRST(&d->pending); p != NULL; p = next) {
		next = TAILQ_NEXT(p, entry);
		if (now - p->queued_ms < d->expire_ms)
			continue;
		TAILQ_REMOVE(&d->pending, p, entry);
		d->npending--;
		o = sim_event_dev(d);
		cJSON_AddNumberToObject(o, "trans_id", p->trans_id);
		sim_event(d->sim, "expired", o);
		dev_confirm(d->sim, ST_MAC_TRANS_EXPIRED, p->src_ep,
		    p->trans_id);
		free(p);
	}
}

/* A sleepy device polls: its parent hands over what it kept. */
static void
dev_poll(evutil_socket_t fd, short what, void *arg)
{
	struct sim_device	*d = arg;
	struct sim_pending	*p;
	uint8_t			 status;
	int			 deliver;

	(void)fd;
	(void)what;
	dev_expire(d);
	while (d->joined && (p = TAILQ_FIRST(&d->pending)) != NULL) {
		TAILQ_REMOVE(&d->pending, p, entry);
		d->npending--;
		status = dev_link_status(d, &deliver);
		dev_confirm(d->sim, status, p->src_ep, p->trans_id);
		if (deliver)
			dev_receive(d, p->src_ep, p->dst_ep, p->cluster,
			    p->data, p->len, 0);
		free(p);
	}
	if (d->joined)
		dev_poll_arm(d);
}

static void
dev_poll_arm(struct sim_device *d)
{
	struct timeval	 tv;
	uint32_t	 ms = d->poll_ms;

	/* While an upgrade runs, a sleepy client polls fast. */
	if (d->ota.state != OTA_IDLE && d->ota.state != OTA_SILENT &&
	    d->fast_poll_ms > 0)
		ms = d->fast_poll_ms;
	if (d->poll_ev == NULL &&
	    (d->poll_ev = evtimer_new(d->sim->base, dev_poll, d)) == NULL)
		fatalx("%s: evtimer_new", __func__);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(d->poll_ev, &tv);
}

static void
dev_rx_fire(void *arg)
{
	struct dev_rx	*rx = arg;
	struct sim_device *d = rx->dev;

	if (d->joined) {
		if (rng_chance(&d->rng, d->sim->link.loss_rate))
			sim_event(d->sim, "lost_from_device",
			    sim_event_dev(d));
		else {
			dev_zcl_event(d, "from_dev", rx->cluster, rx->w.buf,
			    rx->w.len);
			znp_incoming(d->sim, d, rx->src_ep, rx->dst_ep,
			    rx->cluster, rx->w.buf, rx->w.len);
		}
	}
	free(rx);
}

void
dev_send_zcl(struct sim_device *d, uint8_t src_ep, uint8_t dst_ep,
    uint16_t cluster, const struct sim_wr *w, uint32_t delay_ms)
{
	struct dev_rx	*rx;

	if (w->err) {
		log_warnx("%s: frame from %s too large", __func__, d->name);
		return;
	}
	if ((rx = calloc(1, sizeof(*rx))) == NULL)
		fatal("%s", __func__);
	rx->dev = d;
	rx->src_ep = src_ep;
	rx->dst_ep = dst_ep;
	rx->cluster = cluster;
	rx->w = *w;
	sim_later_owned(d->sim, delay_ms + d->sim->link.air_latency_ms,
	    dev_rx_fire, rx);
}

/* The device's first endpoint with CLUSTER on either side. */
static uint8_t
dev_ep_for(const struct sim_device *d, uint16_t cluster)
{
	int	 i;

	for (i = 0; i < d->neps; i++)
		if (ep_has_in(&d->eps[i], cluster) ||
		    ep_has_out(&d->eps[i], cluster))
			return (d->eps[i].id);
	return (d->eps[0].id);
}

/* The coordinator's endpoint serving CLUSTER, else endpoint 1. */
static uint8_t
dev_coord_ep_for(const struct sim *sim, uint16_t cluster)
{
	int	 i;

	for (i = 0; i < sim->neps; i++)
		if (ep_has_in(&sim->eps[i], cluster))
			return (sim->eps[i].id);
	return (1);
}

int
dev_send_frame(struct sim_device *d, uint16_t cluster, const uint8_t *data,
    size_t len)
{
	uint8_t	 src_ep, dst_ep;

	if (!d->joined)
		return (-1);
	src_ep = dev_ep_for(d, cluster);
	dst_ep = dev_coord_ep_for(d->sim, cluster);
	dev_zcl_event(d, "from_dev", cluster, data, len);
	znp_incoming(d->sim, d, src_ep, dst_ep, cluster, data, len);
	return (0);
}

static uint32_t
dev_latency(struct sim_device *d)
{
	return (d->ota_cfg.enabled ? d->ota_cfg.reply_latency_ms : 20);
}

static void
dev_default_rsp(struct sim_device *d, uint8_t src_ep, uint8_t dst_ep,
    uint16_t cluster, uint8_t fc, uint8_t tsn, uint8_t cmd, uint8_t status)
{
	struct sim_wr	 w;

	wr_init(&w);
	/* Same direction bit as a reply; global; no default response. */
	wr_u8(&w, (uint8_t)(((fc & ZCL_FC_TO_CLIENT) ^ ZCL_FC_TO_CLIENT) |
	    ZCL_FC_DDR));
	wr_u8(&w, tsn);
	wr_u8(&w, 0x0B);
	wr_u8(&w, cmd);
	wr_u8(&w, status);
	dev_send_zcl(d, src_ep, dst_ep, cluster, &w, dev_latency(d));
}

static void
wr_zcl_string(struct sim_wr *w, const char *s)
{
	size_t	 n = strlen(s);

	wr_u8(w, 0x42);
	wr_u8(w, (uint8_t)n);
	wr_bytes(w, s, n);
}

/* One Read Attributes record; unknown attributes are reported as such. */
static void
dev_read_attr(struct sim_device *d, uint16_t cluster, uint16_t id,
    struct sim_wr *w)
{
	const struct sim_basic	*b = &d->basic;
	const struct sim_ota	*o = &d->ota;

	wr_u16(w, id);
	switch ((uint32_t)cluster << 16 | id) {
	case 0x00000000: case 0x00000001: case 0x00000002: case 0x00000003:
		wr_u8(w, 0);
		wr_u8(w, 0x20);
		wr_u8(w, id == 0 ? b->zcl_version : id == 1 ? b->app_version :
		    id == 2 ? b->stack_version : b->hw_version);
		return;
	case 0x00000004:
	case 0x00000005:
	case 0x00000006:
	case 0x00004000:
		wr_u8(w, 0);
		wr_zcl_string(w, id == 4 ? b->manufacturer : id == 5 ?
		    b->model : id == 6 ? b->date_code : b->sw_build_id);
		return;
	case 0x00000007:
		wr_u8(w, 0);
		wr_u8(w, 0x30);
		wr_u8(w, b->power_source);
		return;
	case 0x00010021:
		if (b->battery < 0)
			break;
		wr_u8(w, 0);
		wr_u8(w, 0x20);
		wr_u8(w, (uint8_t)(b->battery * 2));
		return;
	case 0x00190002:
		if (!d->ota_cfg.enabled)
			break;
		wr_u8(w, 0);
		wr_u8(w, 0x23);
		wr_u32(w, d->ota_cfg.file_version);
		return;
	case 0x00190001:
		if (!d->ota_cfg.enabled)
			break;
		wr_u8(w, 0);
		wr_u8(w, 0x23);
		wr_u32(w, o->state == OTA_DOWNLOAD ? o->req_offset : 0);
		return;
	case 0x00190006:
		if (!d->ota_cfg.enabled)
			break;
		wr_u8(w, 0);
		wr_u8(w, 0x30);
		wr_u8(w, o->state == OTA_DOWNLOAD ? 1 :
		    o->state == OTA_VERIFY ? 2 :
		    o->state == OTA_WAIT_UPGRADE ? 3 :
		    o->state == OTA_COUNTDOWN ? 4 : 0);
		return;
	}
	wr_u8(w, ZCL_UNSUPPORTED_ATTR);
}

static void
dev_read_attrs(struct sim_device *d, uint8_t src_ep, uint8_t dst_ep,
    uint16_t cluster, uint8_t fc, uint8_t tsn, struct sim_rd *r)
{
	struct sim_wr	 w;

	wr_init(&w);
	wr_u8(&w, (uint8_t)(ZCL_FC_TO_CLIENT | ZCL_FC_DDR |
	    (fc & ZCL_FC_MANUF)));
	if (fc & ZCL_FC_MANUF)
		wr_u16(&w, d->manufacturer_code);
	wr_u8(&w, tsn);
	wr_u8(&w, 0x01);
	while (rd_left(r) >= 2)
		dev_read_attr(d, cluster, rd_u16(r), &w);
	dev_send_zcl(d, dst_ep, src_ep, cluster, &w, dev_latency(d));
}

/* Reports are never sent, but accepting the setup keeps hosts quiet. */
static void
dev_configure_reporting(struct sim_device *d, uint8_t src_ep, uint8_t dst_ep,
    uint16_t cluster, uint8_t fc, uint8_t tsn)
{
	struct sim_wr	 w;

	wr_init(&w);
	wr_u8(&w, (uint8_t)(ZCL_FC_TO_CLIENT | ZCL_FC_DDR |
	    (fc & ZCL_FC_MANUF)));
	if (fc & ZCL_FC_MANUF)
		wr_u16(&w, d->manufacturer_code);
	wr_u8(&w, tsn);
	wr_u8(&w, 0x07);
	wr_u8(&w, 0x00);		/* every record accepted */
	dev_send_zcl(d, dst_ep, src_ep, cluster, &w, dev_latency(d));
}

static int
dev_has_ep(struct sim_device *d, uint8_t ep)
{
	int	 i;

	for (i = 0; i < d->neps; i++)
		if (d->eps[i].id == ep)
			return (1);
	return (0);
}

static void
dev_receive(struct sim_device *d, uint8_t src_ep, uint8_t dst_ep,
    uint16_t cluster, const uint8_t *data, size_t len, int broadcast)
{
	struct sim_rd	 r;
	uint8_t		 fc, tsn, cmd;

	if (dst_ep == 0xFF && d->neps > 0)
		dst_ep = d->eps[0].id;
	if (!dev_has_ep(d, dst_ep))
		return;
	dev_zcl_event(d, "to_dev", cluster, data, len);
	rd_init(&r, data, len);
	fc = rd_u8(&r);
	if (fc & ZCL_FC_MANUF)
		rd_u16(&r);
	tsn = rd_u8(&r);
	cmd = rd_u8(&r);
	if (r.err) {
		log_debug("%s: short ZCL frame ignored", d->name);
		return;
	}
	if ((fc & ZCL_FC_CLUSTER) && cluster == 0x0019 && d->ota_cfg.enabled) {
		ota_zcl(d, src_ep, dst_ep, fc, tsn, cmd, data + r.off,
		    len - r.off);
		return;
	}
	if (broadcast)
		return;
	if (!(fc & ZCL_FC_CLUSTER) && cmd == 0x00)
		dev_read_attrs(d, src_ep, dst_ep, cluster, fc, tsn, &r);
	else if (!(fc & ZCL_FC_CLUSTER) && cmd == 0x06)
		dev_configure_reporting(d, src_ep, dst_ep, cluster, fc, tsn);
	else if (!(fc & ZCL_FC_CLUSTER) && cmd == 0x0B)
		return;
	else
		dev_default_rsp(d, dst_ep, src_ep, cluster, fc, tsn, cmd,
		    (fc & ZCL_FC_CLUSTER) ? ZCL_UNSUP_CLUSTER_CMD :
		    ZCL_UNSUP_GENERAL_CMD);
}
