/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "sim.h"

#define ZDO_SUCCESS		0x00
#define ZDO_DEVICE_NOT_FOUND	0x81
#define ZDO_NOT_ACTIVE		0x83
#define ZDO_NOT_SUPPORTED	0x84

#define ZDO_BROADCAST_MIN	0xFFF8

/* A reply on its way back from a device (or the coordinator itself). */
struct zdo_reply {
	struct sim	*sim;
	uint16_t	 src;
	uint16_t	 cluster;
	uint8_t		 seq;
	struct sim_wr	 body;
};

/* The standard response body turned into the MT callback layout. */
static void
zdo_emit_mt(struct sim *sim, uint16_t src, uint16_t cluster,
    const struct sim_wr *body)
{
	struct sim_wr	 w;

	wr_init(&w);
	if (cluster == 0x8000 || cluster == 0x8001) {
		/* No source prefix; startIndex comes before numAssoc. */
		if (body->len < 11 || body->buf[0] != ZDO_SUCCESS)
			return;
		wr_bytes(&w, body->buf, 11);
		if (body->len >= 13) {
			wr_u8(&w, body->buf[12]);
			wr_u8(&w, body->buf[11]);
			wr_bytes(&w, body->buf + 13, body->len - 13);
		} else {
			wr_u8(&w, 0);
			wr_u8(&w, 0);
		}
	} else {
		wr_u16(&w, src);
		wr_bytes(&w, body->buf, body->len);
	}
	link_send_areq(sim, MT_SUBSYS_ZDO, (uint8_t)(0x80 | (cluster & 0xFF)),
	    &w);
}

/* What a registered ZDO_MSG_CB_REGISTER listener gets for any ZDO frame. */
static void
zdo_emit_cb(struct sim *sim, uint16_t src, uint16_t cluster, uint8_t seq,
    const struct sim_wr *body, int broadcast)
{
	struct sim_wr	 w;

	if (!sim->zdo_cb_registered)
		return;
	wr_init(&w);
	wr_u16(&w, src);
	wr_u8(&w, broadcast ? 1 : 0);
	wr_u16(&w, cluster);
	wr_u8(&w, 0);			/* security use */
	wr_u8(&w, seq);
	wr_u16(&w, broadcast ? 0xFFFF : 0x0000);
	wr_bytes(&w, body->buf, body->len);
	link_send_areq(sim, MT_SUBSYS_ZDO, 0xFF, &w);
}

static void
zdo_reply_fire(void *arg)
{
	struct zdo_reply	*z = arg;

	zdo_emit_mt(z->sim, z->src, z->cluster, &z->body);
	zdo_emit_cb(z->sim, z->src, z->cluster, z->seq, &z->body, 0);
	free(z);
}

static void
zdo_reply(struct sim *sim, uint16_t src, uint16_t cluster, uint8_t seq,
    const struct sim_wr *body, uint32_t delay_ms)
{
	struct zdo_reply	*z;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		fatal("%s", __func__);
	z->sim = sim;
	z->src = src;
	z->cluster = cluster;
	z->seq = seq;
	z->body = *body;
	if (delay_ms == 0)
		zdo_reply_fire(z);
	else
		sim_later_owned(sim, delay_ms, zdo_reply_fire, z);
}

static void
coord_node_desc(struct sim_wr *w)
{
	wr_u8(w, 0x00);			/* coordinator */
	wr_u8(w, 0x40);			/* 2.4 GHz */
	wr_u8(w, 0x8F);
	wr_u16(w, 0x0000);		/* Texas Instruments */
	wr_u8(w, 80);
	wr_u16(w, 160);
	wr_u16(w, 0x2C01);
	wr_u16(w, 160);
	wr_u8(w, 0);
}

/* The endpoints of the node at NWK: the coordinator's or a device's. */
static int
zdo_node_eps(struct sim *sim, uint16_t nwk, const struct sim_ep **eps)
{
	struct sim_device	*d;

	if (nwk == 0x0000) {
		*eps = sim->eps;
		return (sim->neps);
	}
	if ((d = dev_by_nwk(sim, nwk)) == NULL || !d->joined)
		return (-1);
	*eps = d->eps;
	return (d->neps);
}

static void
zdo_active_ep(struct sim *sim, uint16_t nwk, struct sim_wr *w)
{
	const struct sim_ep	*eps;
	int			 i, n = zdo_node_eps(sim, nwk, &eps);

	wr_u8(w, n < 0 ? ZDO_DEVICE_NOT_FOUND : ZDO_SUCCESS);
	wr_u16(w, nwk);
	wr_u8(w, n < 0 ? 0 : (uint8_t)n);
	for (i = 0; i < n; i++)
		wr_u8(w, eps[i].id);
}

static void
zdo_simple_desc(struct sim *sim, uint16_t nwk, uint8_t ep, struct sim_wr *w)
{
	const struct sim_ep	*eps;
	struct sim_wr		 desc;
	int			 i, n = zdo_node_eps(sim, nwk, &eps);

	for (i = 0; i < n; i++)
		if (eps[i].id == ep)
			break;
	if (n < 0 || i == n) {
		wr_u8(w, n < 0 ? ZDO_DEVICE_NOT_FOUND : ZDO_NOT_ACTIVE);
		wr_u16(w, nwk);
		wr_u8(w, 0);
		return;
	}
	wr_init(&desc);
	ep_write_simple_desc(&desc, &eps[i]);
	wr_u8(w, ZDO_SUCCESS);
	wr_u16(w, nwk);
	wr_u8(w, (uint8_t)desc.len);
	wr_bytes(w, desc.buf, desc.len);
}

/* Endpoints of one node that serve or use any cluster asked for. */
static void
zdo_match_desc(struct sim *sim, uint16_t nwk, struct sim_rd *r,
    struct sim_wr *w)
{
	const struct sim_ep	*eps;
	uint16_t		 profile, in[SIM_MAX_CLUSTERS];
	uint16_t		 out[SIM_MAX_CLUSTERS];
	uint8_t			 nin, nout, found[SIM_MAX_EPS];
	int			 i, j, n, match, nfound = 0;

	profile = rd_u16(r);
	nin = rd_u8(r);
	for (i = 0; i < nin && i < SIM_MAX_CLUSTERS; i++)
		in[i] = rd_u16(r);
	nout = rd_u8(r);
	for (i = 0; i < nout && i < SIM_MAX_CLUSTERS; i++)
		out[i] = rd_u16(r);
	if (nin > SIM_MAX_CLUSTERS || nout > SIM_MAX_CLUSTERS)
		r->err = 1;
	n = r->err ? -1 : zdo_node_eps(sim, nwk, &eps);
	for (i = 0; i < n; i++) {
		if (profile != 0xFFFF && eps[i].profile != profile)
			continue;
		match = 0;
		for (j = 0; j < nin; j++)
			match |= ep_has_in(&eps[i], in[j]);
		for (j = 0; j < nout; j++)
			match |= ep_has_out(&eps[i], out[j]);
		if (match)
			found[nfound++] = eps[i].id;
	}
	wr_u8(w, n < 0 ? ZDO_DEVICE_NOT_FOUND : ZDO_SUCCESS);
	wr_u16(w, nwk);
	wr_u8(w, (uint8_t)nfound);
	wr_bytes(w, found, (size_t)nfound);
}

static void
zdo_addr_rsp(struct sim *sim, uint16_t nwk, const uint8_t *ieee,
    uint8_t req_type, struct sim_wr *w)
{
	wr_u8(w, ZDO_SUCCESS);
	wr_bytes(w, ieee, 8);
	wr_u16(w, nwk);
	if (req_type == 1) {
		wr_u8(w, 0);		/* numAssoc */
		wr_u8(w, 0);		/* startIndex */
	}
	(void)sim;
}

static void
zdo_permit_join(struct sim *sim, uint8_t duration)
{
	struct sim_wr	 w;
	uint8_t		 before = sim->permit_join;

	sim->permit_join = duration;
	if ((before != 0) == (duration != 0))
		return;
	wr_init(&w);
	wr_u8(&w, duration);
	link_send_areq(sim, MT_SUBSYS_ZDO, 0xCB, &w);
}

/*
 * Mgmt_Permit_Joining_req to the coordinator, to every router, or to
 * one router alone; an end device has nobody to let in. Each node that
 * opens (or closes) joining is recorded, so a test can tell which.
 */
static uint16_t
zdo_mgmt_permit(struct sim *sim, uint16_t dst, uint8_t duration,
    struct sim_wr *w, uint16_t *src)
{
	struct sim_device	*d = NULL;
	cJSON			*o;

	*src = dst >= ZDO_BROADCAST_MIN ? 0x0000 : dst;
	if (dst != 0x0000 && dst < ZDO_BROADCAST_MIN &&
	    ((d = dev_by_nwk(sim, dst)) == NULL || !d->joined))
		return (0);
	if (d != NULL && d->kind != DEV_ROUTER) {
		wr_u8(w, ZDO_NOT_SUPPORTED);
		return (0x8036);
	}
	if (d == NULL)
		zdo_permit_join(sim, duration);
	o = d != NULL ? sim_event_dev(d) : cJSON_CreateObject();
	if (o == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "via", d != NULL ? "router" :
	    dst == 0x0000 ? "coordinator" : "all");
	cJSON_AddNumberToObject(o, "duration", duration);
	sim_event(sim, "permit_join", o);
	wr_u8(w, ZDO_SUCCESS);
	return (0x8036);
}

static void
zdo_energy_scan(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint32_t	 mask = rd_u32(r);
	uint8_t		 duration = rd_u8(r);
	int		 ch, n = 0;

	wr_u8(w, ZDO_SUCCESS);
	wr_u32(w, mask);
	wr_u16(w, 0);
	wr_u16(w, 0);
	for (ch = 11; ch <= 26; ch++)
		if (mask & (1U << ch))
			n++;
	wr_u8(w, (uint8_t)n);
	for (ch = 11; ch <= 26; ch++)
		if (mask & (1U << ch))
			wr_u8(w, (uint8_t)rng_range(&sim->rng, 0x10, 0x60));
	(void)duration;
}

/*
 * Answer the standard ZDO request CLUSTER with body R, addressed to node
 * DST, as the node that owns the answer. Returns the response cluster,
 * 0 when nobody answers; *SRC is the node that answers.
 */
static uint16_t
zdo_answer(struct sim *sim, uint16_t dst, uint16_t cluster, struct sim_rd *r,
    struct sim_wr *w, uint16_t *src)
{
	struct sim_device	*d;
	uint8_t			 ieee[8], type, duration;
	uint16_t		 nwk;

	*src = dst;
	switch (cluster) {
	case 0x0000:
		rd_bytes(r, ieee, 8);
		type = rd_u8(r);
		if (memcmp(ieee, sim->adapter.ieee, 8) == 0)
			*src = 0x0000;
		else if ((d = dev_by_ieee(sim, ieee)) != NULL && d->joined)
			*src = d->nwk;
		else
			return (0);
		zdo_addr_rsp(sim, *src, ieee, type, w);
		return (0x8000);
	case 0x0001:
		nwk = rd_u16(r);
		type = rd_u8(r);
		*src = nwk;
		if (nwk == 0x0000)
			zdo_addr_rsp(sim, nwk, sim->adapter.ieee, type, w);
		else if ((d = dev_by_nwk(sim, nwk)) != NULL && d->joined)
			zdo_addr_rsp(sim, nwk, d->ieee, type, w);
		else
			return (0);
		return (0x8001);
	case 0x0002:
		nwk = rd_u16(r);
		d = dev_by_nwk(sim, nwk);
		wr_u8(w, nwk == 0 || (d != NULL && d->joined) ? ZDO_SUCCESS :
		    ZDO_DEVICE_NOT_FOUND);
		wr_u16(w, nwk);
		if (nwk == 0)
			coord_node_desc(w);
		else if (d != NULL && d->joined)
			dev_node_desc(d, w);
		return (0x8002);
	case 0x0004:
		nwk = rd_u16(r);
		zdo_simple_desc(sim, nwk, rd_u8(r), w);
		return (0x8004);
	case 0x0005:
		zdo_active_ep(sim, rd_u16(r), w);
		return (0x8005);
	case 0x0006:
		nwk = rd_u16(r);
		zdo_match_desc(sim, nwk, r, w);
		return (0x8006);
	case 0x0021:
	case 0x0022:
	case 0x0034:
		wr_u8(w, ZDO_SUCCESS);
		return (cluster | 0x8000);
	case 0x0031:
		wr_u8(w, ZDO_SUCCESS);
		wr_u8(w, 0);
		wr_u8(w, rd_u8(r));
		wr_u8(w, 0);
		return (0x8031);
	case 0x0036:
		duration = rd_u8(r);
		return (r->err ? 0 : zdo_mgmt_permit(sim, dst, duration, w,
		    src));
	case 0x0038:
		if (r->len - r->off >= 5 && r->p[r->off + 4] <= 5) {
			zdo_energy_scan(sim, r, w);
			return (0x8038);
		}
		return (0);
	}
	return (0);
}

/* Deliver the answer, and act on a leave request after it. */
static void
zdo_dispatch(struct sim *sim, uint16_t dst, uint16_t cluster,
    const uint8_t *body, size_t len, uint8_t seq)
{
	struct sim_device	*d;
	struct sim_rd		 r;
	struct sim_wr		 w;
	uint16_t		 rsp, src;
	uint32_t		 delay = 1;

	rd_init(&r, body, len);
	wr_init(&w);
	rsp = zdo_answer(sim, dst, cluster, &r, &w, &src);
	if (rsp == 0 || r.err || w.err) {
		log_debug("ZDO 0x%04x to 0x%04x: no answer", cluster, dst);
		return;
	}
	if (src != 0x0000) {
		if ((d = dev_by_nwk(sim, src)) == NULL || !d->joined)
			return;
		delay = sim->link.air_latency_ms * 2 + 1;
		if (d->kind == DEV_SLEEPY)
			delay += d->poll_ms / 2;
		if (cluster == 0x0034)
			dev_leave(d);
	}
	/* Even the coordinator's own answer comes after the SRSP. */
	zdo_reply(sim, src, rsp, seq, &w, delay);
}

int
zdo_mt_request(struct sim *sim, const struct mt_frame *f, uint8_t *status)
{
	struct mt_frame	 srsp;
	uint16_t	 dst;
	size_t		 skip = 2;
	const uint8_t	*p = f->data;

	switch (f->cmd) {
	case 0x00:
		dst = 0xFFFD;
		skip = 0;
		break;
	case 0x01:
		if (f->len < 2)
			return (-1);
		dst = (uint16_t)(p[0] | p[1] << 8);
		skip = 0;
		break;
	case 0x02: case 0x04: case 0x05: case 0x06: case 0x21: case 0x22:
	case 0x31: case 0x34: case 0x37:
		if (f->len < 2)
			return (-1);
		dst = (uint16_t)(p[0] | p[1] << 8);
		if (f->cmd == 0x37)
			skip = 3;	/* and the address mode */
		break;
	case 0x36:
		if (f->len < 3)
			return (-1);
		dst = (uint16_t)(p[1] | p[2] << 8);
		skip = 3;
		break;
	default:
		return (-1);
	}
	if (f->len < skip)
		return (-1);
	*status = sim->dev_state == 9 ? ZDO_SUCCESS : 0xC2;
	mt_frame_set(&srsp, MT_TYPE_SRSP, f->subsys, f->cmd, status, 1);
	link_send(sim, &srsp);
	if (*status == ZDO_SUCCESS)
		zdo_dispatch(sim, dst, f->cmd, p + skip, f->len - skip,
		    sim->zdo_seq++);
	return (0);
}

void
zdo_af_request(struct sim *sim, uint16_t dst, uint16_t cluster,
    const uint8_t *data, size_t len)
{
	if (len < 1)
		return;
	zdo_dispatch(sim, dst, cluster, data + 1, len - 1, data[0]);
}

void
zdo_announce(struct sim *sim, struct sim_device *d)
{
	struct sim_wr	 w, body;

	wr_init(&w);
	wr_u16(&w, d->nwk);
	wr_u16(&w, d->nwk);
	wr_bytes(&w, d->ieee, 8);
	wr_u8(&w, dev_capabilities(d));
	link_send_areq(sim, MT_SUBSYS_ZDO, 0xC1, &w);
	wr_init(&body);
	wr_u16(&body, d->nwk);
	wr_bytes(&body, d->ieee, 8);
	wr_u8(&body, dev_capabilities(d));
	zdo_emit_cb(sim, d->nwk, 0x0013, sim->zdo_seq++, &body, 1);
	sim_event(sim, "announce", sim_event_dev(d));
}

void
zdo_device_joined(struct sim *sim, struct sim_device *d, int tc_ind)
{
	struct sim_wr	 w;

	if (tc_ind) {
		wr_init(&w);
		wr_u16(&w, d->nwk);
		wr_bytes(&w, d->ieee, 8);
		wr_u16(&w, 0x0000);
		link_send_areq(sim, MT_SUBSYS_ZDO, 0xCA, &w);
	}
	zdo_announce(sim, d);
}

void
zdo_device_left(struct sim *sim, struct sim_device *d)
{
	struct sim_wr	 w;

	wr_init(&w);
	wr_u16(&w, d->nwk);
	wr_bytes(&w, d->ieee, 8);
	wr_u8(&w, 0);
	wr_u8(&w, 0);
	wr_u8(&w, 0);
	link_send_areq(sim, MT_SUBSYS_ZDO, 0xC9, &w);
}
