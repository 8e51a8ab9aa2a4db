/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "sim.h"

#define ZNP_CAPABILITIES	0x0659	/* what CC2652 coordinator builds say */
#define ZNP_TRANSPORT_REV	2
#define ZNP_PRODUCT		1	/* Z-Stack 3.x.0 */
#define ZNP_MAJOR		2
#define ZNP_MINOR		7
#define ZNP_MAINT		1
#define ZNP_NV_CHUNK		240	/* data bytes per NV read reply */
#define ZNP_ASSOC_LEN		28	/* packed struct, like the NIB */
#define ZNP_INCOMING_HDR	17	/* AF_INCOMING_MSG before its data */
#define ZNP_INCOMING_TRAILER	3	/* and the MAC source and radius */
#define ZNP_RETRIEVE_MAX	(MT_MAX_PAYLOAD - 2)	/* status, len */
#define ZNP_STATE_HOLD		0
#define ZNP_STATE_STARTING	8
#define ZNP_STATE_COORD		9

#define ST_SUCCESS		0x00
#define ST_FAILURE		0x01
#define ST_INVALID_PARAMETER	0x02
#define ST_NV_ITEM_UNINIT	0x09
#define ST_NV_OPER_FAILED	0x0A
#define ST_NV_BAD_ITEM_LEN	0x0C
#define ST_APS_DUPLICATE	0xB8
#define ST_NWK_INVALID_REQUEST	0xC2

struct znp_cmd {
	uint8_t		 subsys;
	uint8_t		 cmd;
	/* Fill the SRSP payload; return -1 for a malformed request. */
	int		(*fn)(struct sim *, struct sim_rd *, struct sim_wr *);
};

static void
znp_srsp(struct sim *sim, const struct mt_frame *req, const struct sim_wr *w)
{
	struct mt_frame	 f;

	if (mt_frame_set(&f, MT_TYPE_SRSP, req->subsys, req->cmd, w->buf,
	    w->len) == -1)
		fatalx("%s: reply too large", __func__);
	link_send(sim, &f);
}

static void
znp_state_change(struct sim *sim, uint8_t state)
{
	struct sim_wr	 w;
	cJSON		*o;

	sim->dev_state = state;
	wr_init(&w);
	wr_u8(&w, state);
	link_send_areq(sim, MT_SUBSYS_ZDO, 0xC0, &w);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "state", state);
	sim_event(sim, "coordinator_state", o);
}

static void
znp_state_starting(void *arg)
{
	znp_state_change(arg, ZNP_STATE_STARTING);
}

static void
znp_state_started(void *arg)
{
	struct sim	*sim = arg;

	znp_state_change(sim, ZNP_STATE_COORD);
	log_info("network up");
}

/* Start the coordinator from NV, forming the network when needed. */
static int
znp_start_network(struct sim *sim)
{
	int	 restored = nv_network_formed(sim);

	if (!restored)
		nv_form_network(sim);
	sim_later(sim, 20, znp_state_starting, sim);
	sim_later(sim, 60, znp_state_started, sim);
	return (restored);
}

static void
znp_send_reset_ind(struct sim *sim, uint8_t reason)
{
	struct sim_wr	 w;
	cJSON		*o;

	wr_init(&w);
	wr_u8(&w, reason);
	wr_u8(&w, ZNP_TRANSPORT_REV);
	wr_u8(&w, ZNP_PRODUCT);
	wr_u8(&w, ZNP_MAJOR);
	wr_u8(&w, ZNP_MINOR);
	wr_u8(&w, ZNP_MAINT);
	link_send_areq(sim, MT_SUBSYS_SYS, 0x80, &w);
	o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "reason", reason);
	sim_event(sim, "reset_ind", o);
}

void
znp_power_up(struct sim *sim, uint8_t reason, int send_ind)
{
	/* RAM state is lost; NV survives. */
	nv_reset_apply(sim);
	znp_stored_clear(sim);
	sim->neps = 0;
	sim->ngroups = 0;
	sim->zdo_cb_registered = 0;
	sim->permit_join = 0;
	sim->dev_state = ZNP_STATE_HOLD;
	if (send_ind)
		znp_send_reset_ind(sim, reason);
}

static void
znp_soft_reset(void *arg)
{
	znp_power_up(arg, 0, 1);
}

/* ---- SYS ---- */

static int
sys_ping(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	(void)sim;
	(void)r;
	wr_u16(w, ZNP_CAPABILITIES);
	return (0);
}

static int
sys_version(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	(void)r;
	wr_u8(w, ZNP_TRANSPORT_REV);
	wr_u8(w, ZNP_PRODUCT);
	wr_u8(w, ZNP_MAJOR);
	wr_u8(w, ZNP_MINOR);
	wr_u8(w, ZNP_MAINT);
	wr_u32(w, sim->adapter.revision);
	return (0);
}

static int
sys_ext_addr(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	(void)r;
	wr_bytes(w, sim->adapter.ieee, 8);
	return (0);
}

static int
sys_nv_item_init(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint16_t		 id, len;
	uint8_t			 ilen, init[MT_MAX_PAYLOAD];

	id = rd_u16(r);
	len = rd_u16(r);
	ilen = rd_u8(r);
	rd_bytes(r, init, ilen);
	if (r->err || ilen > len)
		return (-1);
	if (nv_find(&sim->nv, 0, id, 0) != NULL) {
		wr_u8(w, ST_SUCCESS);
		return (0);
	}
	if (!nv_room(&sim->nv, len)) {
		wr_u8(w, ST_NV_OPER_FAILED);
		return (0);
	}
	it = nv_set(&sim->nv, 0, id, 0, NULL, len);
	memcpy(it->data, init, ilen);
	wr_u8(w, ST_NV_ITEM_UNINIT);	/* "created", which hosts expect */
	return (0);
}

/* Append STATUS, LEN and up to MAX bytes of item IT from OFF. */
static void
sys_nv_read_reply(struct sim_wr *w, struct sim_nv_item *it, size_t off,
    size_t max)
{
	size_t	 n;

	if (it == NULL || off > it->len) {
		wr_u8(w, ST_INVALID_PARAMETER);
		wr_u8(w, 0);
		return;
	}
	n = it->len - off;
	if (n > max)
		n = max;
	wr_u8(w, ST_SUCCESS);
	wr_u8(w, (uint8_t)n);
	wr_bytes(w, it->data + off, n);
}

static int
sys_nv_read(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint16_t	 id = rd_u16(r);
	uint8_t		 off = rd_u8(r);

	if (r->err)
		return (-1);
	sys_nv_read_reply(w, nv_find(&sim->nv, 0, id, 0), off, ZNP_NV_CHUNK);
	return (0);
}

static int
sys_nv_read_ext(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint16_t	 id = rd_u16(r);
	uint16_t	 off = rd_u16(r);

	if (r->err)
		return (-1);
	sys_nv_read_reply(w, nv_find(&sim->nv, 0, id, 0), off, ZNP_NV_CHUNK);
	return (0);
}

/* Write into an existing item; the status a real stack gives. */
static uint8_t
sys_nv_write_at(struct sim_nv_item *it, size_t off, const uint8_t *data,
    size_t len)
{
	if (it == NULL)
		return (ST_NV_OPER_FAILED);
	if (off + len > it->len)
		return (ST_NV_BAD_ITEM_LEN);
	memcpy(it->data + off, data, len);
	return (ST_SUCCESS);
}

static int
sys_nv_write(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t		 data[MT_MAX_PAYLOAD], off, len;
	uint16_t	 id;

	id = rd_u16(r);
	off = rd_u8(r);
	len = rd_u8(r);
	rd_bytes(r, data, len);
	if (r->err)
		return (-1);
	wr_u8(w, sys_nv_write_at(nv_find(&sim->nv, 0, id, 0), off, data,
	    len));
	return (0);
}

static int
sys_nv_write_ext(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t		 data[MT_MAX_PAYLOAD];
	uint16_t	 id, off, len;

	id = rd_u16(r);
	off = rd_u16(r);
	len = rd_u16(r);
	if (len > sizeof(data))
		return (-1);
	rd_bytes(r, data, len);
	if (r->err)
		return (-1);
	wr_u8(w, sys_nv_write_at(nv_find(&sim->nv, 0, id, 0), off, data,
	    len));
	return (0);
}

static int
sys_nv_delete(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint16_t		 id = rd_u16(r);
	uint16_t		 len = rd_u16(r);

	if (r->err)
		return (-1);
	if ((it = nv_find(&sim->nv, 0, id, 0)) == NULL)
		wr_u8(w, ST_NV_ITEM_UNINIT);
	else if (it->len != len)
		wr_u8(w, ST_NV_OPER_FAILED);
	else {
		nv_delete(&sim->nv, it);
		wr_u8(w, ST_SUCCESS);
	}
	return (0);
}

static int
sys_nv_length(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint16_t		 id = rd_u16(r);

	if (r->err)
		return (-1);
	it = nv_find(&sim->nv, 0, id, 0);
	wr_u16(w, it == NULL ? 0 : it->len);
	return (0);
}

/* The (sysid, item, sub) key of the extended NV commands. */
static struct sim_nv_item *
sys_ext_key(struct sim *sim, struct sim_rd *r, uint8_t *sysid,
    uint16_t *item, uint16_t *sub)
{
	*sysid = rd_u8(r);
	*item = rd_u16(r);
	*sub = rd_u16(r);
	/* OSAL items live under sysid 0; keep the two spaces apart. */
	if (r->err || *sysid == 0)
		return (NULL);
	return (nv_find(&sim->nv, *sysid, *item, *sub));
}

static int
sys_ex_create(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint8_t			 sysid;
	uint16_t		 item, sub;
	uint32_t		 len;

	it = sys_ext_key(sim, r, &sysid, &item, &sub);
	len = rd_u32(r);
	if (r->err || sysid == 0)
		return (-1);
	if (it != NULL)
		wr_u8(w, ST_SUCCESS);
	else if (!nv_room(&sim->nv, len))
		wr_u8(w, ST_NV_OPER_FAILED);
	else {
		nv_set(&sim->nv, sysid, item, sub, NULL, len);
		wr_u8(w, ST_NV_ITEM_UNINIT);
	}
	return (0);
}

static int
sys_ex_delete(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint8_t			 sysid;
	uint16_t		 item, sub;

	it = sys_ext_key(sim, r, &sysid, &item, &sub);
	if (r->err || sysid == 0)
		return (-1);
	if (it == NULL)
		wr_u8(w, ST_NV_ITEM_UNINIT);
	else {
		nv_delete(&sim->nv, it);
		wr_u8(w, ST_SUCCESS);
	}
	return (0);
}

static int
sys_ex_length(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint8_t			 sysid;
	uint16_t		 item, sub;

	it = sys_ext_key(sim, r, &sysid, &item, &sub);
	if (r->err)
		return (-1);
	/* Missing rows read as length 0, which ends a host's table walk. */
	wr_u32(w, it == NULL ? 0 : it->len);
	return (0);
}

static int
sys_ex_read(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint8_t			 sysid, len;
	uint16_t		 item, sub, off;

	it = sys_ext_key(sim, r, &sysid, &item, &sub);
	off = rd_u16(r);
	len = rd_u8(r);
	if (r->err)
		return (-1);
	sys_nv_read_reply(w, it, off, len < ZNP_NV_CHUNK ? len : ZNP_NV_CHUNK);
	return (0);
}

static int
sys_ex_write(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_nv_item	*it;
	uint8_t			 sysid, len, data[MT_MAX_PAYLOAD];
	uint16_t		 item, sub, off;

	it = sys_ext_key(sim, r, &sysid, &item, &sub);
	off = rd_u16(r);
	len = rd_u8(r);
	rd_bytes(r, data, len);
	if (r->err)
		return (-1);
	wr_u8(w, sys_nv_write_at(it, off, data, len));
	return (0);
}

static int
sys_stack_tune(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	(void)sim;
	rd_u8(r);
	wr_u8(w, rd_u8(r));
	return (r->err ? -1 : 0);
}

static int
sys_set_tx_power(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	(void)sim;
	wr_u8(w, rd_u8(r));
	return (r->err ? -1 : 0);
}

/* ---- UTIL ---- */

static int
util_device_info(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	int	 i, n = 0;

	(void)r;
	wr_u8(w, ST_SUCCESS);
	wr_bytes(w, sim->adapter.ieee, 8);
	wr_u16(w, 0x0000);
	wr_u8(w, 0x07);
	wr_u8(w, (uint8_t)sim->dev_state);
	for (i = 0; i < sim->ndevs; i++)
		if (sim->devs[i]->joined && sim->devs[i]->kind != DEV_ROUTER)
			n++;
	wr_u8(w, (uint8_t)n);
	for (i = 0; i < sim->ndevs; i++)
		if (sim->devs[i]->joined && sim->devs[i]->kind != DEV_ROUTER)
			wr_u16(w, sim->devs[i]->nwk);
	return (0);
}

static int
util_ok(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	(void)sim;
	(void)r;
	wr_u8(w, ST_SUCCESS);
	return (0);
}

/* The associated-device record of D, or an empty one. */
static void
util_assoc_record(struct sim_wr *w, const struct sim_device *d, int idx)
{
	uint8_t	 rec[ZNP_ASSOC_LEN];

	memset(rec, 0, sizeof(rec));
	rec[0] = 0xFE;
	rec[1] = 0xFF;
	if (d != NULL) {
		rec[0] = (uint8_t)d->nwk;
		rec[1] = (uint8_t)(d->nwk >> 8);
		rec[2] = (uint8_t)idx;
		/* 1 sleepy child, 2 child with receiver on, 3 router. */
		rec[4] = d->kind == DEV_SLEEPY ? 1 :
		    d->kind == DEV_END ? 2 : 3;
	}
	wr_bytes(w, rec, sizeof(rec));
}

static int
util_assoc_find(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t	 idx = rd_u8(r);

	if (r->err)
		return (-1);
	util_assoc_record(w, idx < sim->ndevs && sim->devs[idx]->joined ?
	    sim->devs[idx] : NULL, idx);
	return (0);
}

static int
util_assoc_get(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_device	*d;
	uint8_t			 ieee[8];
	uint16_t		 nwk;

	rd_bytes(r, ieee, 8);
	nwk = rd_u16(r);
	if (r->err)
		return (-1);
	if ((d = dev_by_ieee(sim, ieee)) == NULL)
		d = dev_by_nwk(sim, nwk);
	if (d != NULL && !d->joined)
		d = NULL;
	util_assoc_record(w, d, d == NULL ? 0 : d->index);
	return (0);
}

/* ---- ZDO control commands (descriptor requests are in sim_zdo.c) ---- */

static int
zdo_startup_from_app(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	rd_u16(r);
	if (r->err)
		return (-1);
	wr_u8(w, znp_start_network(sim) ? 0 : 1);
	return (0);
}

static int
zdo_msg_cb_register(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	rd_u16(r);
	if (r->err)
		return (-1);
	sim->zdo_cb_registered = 1;
	wr_u8(w, ST_SUCCESS);
	return (0);
}

static int
zdo_find_group_index(struct sim *sim, uint8_t ep, uint16_t id)
{
	int	 i;

	for (i = 0; i < sim->ngroups; i++)
		if (sim->groups[i].ep == ep && sim->groups[i].id == id)
			return (i);
	return (-1);
}

static int
zdo_ext_find_group(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t		 ep = rd_u8(r);
	uint16_t	 id = rd_u16(r);

	if (r->err)
		return (-1);
	wr_u8(w, zdo_find_group_index(sim, ep, id) == -1 ? ST_FAILURE :
	    ST_SUCCESS);
	wr_u16(w, id);
	wr_u8(w, 0);
	return (0);
}

static int
zdo_ext_add_group(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t		 ep = rd_u8(r);
	uint16_t	 id = rd_u16(r);

	if (r->err)
		return (-1);
	if (zdo_find_group_index(sim, ep, id) != -1 ||
	    sim->ngroups == SIM_MAX_GROUPS) {
		wr_u8(w, ST_FAILURE);
		return (0);
	}
	sim->groups[sim->ngroups].ep = ep;
	sim->groups[sim->ngroups].id = id;
	sim->ngroups++;
	wr_u8(w, ST_SUCCESS);
	return (0);
}

static int
zdo_ext_nwk_info(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint16_t	 pan = 0xFFFF;
	uint8_t		 epid[8], zero[8], channel = 0;

	(void)r;
	memset(epid, 0, sizeof(epid));
	memset(zero, 0, sizeof(zero));
	if (sim->dev_state != ZNP_STATE_COORD ||
	    nv_network(sim, &pan, epid, &channel) == -1) {
		pan = 0xFFFF;
		channel = 0;
	}
	wr_u16(w, 0x0000);
	wr_u8(w, (uint8_t)sim->dev_state);
	wr_u16(w, pan);
	wr_u16(w, 0x0000);
	wr_bytes(w, epid, 8);
	wr_bytes(w, zero, 8);
	wr_u8(w, channel);
	return (0);
}

/* ---- AF ---- */

static int
af_register(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_ep	 ep;
	int		 i;

	memset(&ep, 0, sizeof(ep));
	ep.id = rd_u8(r);
	ep.profile = rd_u16(r);
	ep.device_id = rd_u16(r);
	ep.version = rd_u8(r);
	rd_u8(r);			/* latency */
	ep.nin = rd_u8(r);
	if (ep.nin > SIM_MAX_CLUSTERS)
		return (-1);
	for (i = 0; i < ep.nin; i++)
		ep.in[i] = rd_u16(r);
	ep.nout = rd_u8(r);
	if (ep.nout > SIM_MAX_CLUSTERS)
		return (-1);
	for (i = 0; i < ep.nout; i++)
		ep.out[i] = rd_u16(r);
	if (r->err || ep.id == 0 || ep.id == 0xFF)
		return (-1);
	for (i = 0; i < sim->neps; i++)
		if (sim->eps[i].id == ep.id) {
			wr_u8(w, ST_APS_DUPLICATE);
			return (0);
		}
	if (sim->neps == SIM_MAX_EPS) {
		wr_u8(w, ST_FAILURE);
		return (0);
	}
	sim->eps[sim->neps++] = ep;
	wr_u8(w, ST_SUCCESS);
	return (0);
}

static uint8_t
af_unicast(struct sim *sim, uint16_t dst, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, uint8_t trans_id, const uint8_t *data, size_t len)
{
	if (sim->dev_state != ZNP_STATE_COORD)
		return (ST_NWK_INVALID_REQUEST);
	return (dev_af_request(sim, dst, dst_ep, src_ep, cluster, trans_id,
	    data, len));
}

static int
af_data_request(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t		 dst_ep, src_ep, trans_id, len, data[MT_MAX_PAYLOAD];
	uint16_t	 dst, cluster;

	dst = rd_u16(r);
	dst_ep = rd_u8(r);
	src_ep = rd_u8(r);
	cluster = rd_u16(r);
	trans_id = rd_u8(r);
	rd_u8(r);			/* options */
	rd_u8(r);			/* radius */
	len = rd_u8(r);
	rd_bytes(r, data, len);
	if (r->err)
		return (-1);
	wr_u8(w, af_unicast(sim, dst, dst_ep, src_ep, cluster, trans_id,
	    data, len));
	return (0);
}

static struct sim_stored *
znp_stored_find(struct sim *sim, uint32_t stamp)
{
	int	 i;

	for (i = 0; i < SIM_MAX_STORED; i++)
		if (sim->stored[i].data != NULL &&
		    sim->stored[i].stamp == stamp)
			return (&sim->stored[i]);
	return (NULL);
}

static void
znp_stored_free(struct sim_stored *st)
{
	free(st->data);
	memset(st, 0, sizeof(*st));
}

void
znp_stored_clear(struct sim *sim)
{
	int	 i;

	for (i = 0; i < SIM_MAX_STORED; i++)
		znp_stored_free(&sim->stored[i]);
}

static void
znp_retrieve_event(struct sim *sim, uint32_t stamp, uint16_t index,
    size_t len, uint8_t status)
{
	cJSON	*o = cJSON_CreateObject();

	cJSON_AddNumberToObject(o, "stamp", stamp);
	cJSON_AddNumberToObject(o, "index", index);
	cJSON_AddNumberToObject(o, "len", (double)len);
	cJSON_AddNumberToObject(o, "status", status);
	sim_event(sim, "retrieve", o);
}

/*
 * AF_DATA_RETRIEVE: LEN bytes from INDEX of the message kept under
 * STAMP, or with LEN 0 its release.
 */
static int
af_data_retrieve(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_stored	*st;
	uint32_t		 stamp = rd_u32(r);
	uint16_t		 index = rd_u16(r);
	uint8_t			 len = rd_u8(r), status = ST_SUCCESS;
	size_t			 n = 0;

	if (r->err)
		return (-1);
	if ((st = znp_stored_find(sim, stamp)) == NULL)
		status = ST_FAILURE;
	else if (index > st->len)
		status = ST_INVALID_PARAMETER;
	else if (len == 0)
		znp_stored_free(st);
	else {
		n = st->len - index;
		if (n > len)
			n = len;
		if (n > ZNP_RETRIEVE_MAX)
			n = ZNP_RETRIEVE_MAX;
	}
	wr_u8(w, status);
	wr_u8(w, (uint8_t)n);
	if (n > 0)
		wr_bytes(w, st->data + index, n);
	znp_retrieve_event(sim, stamp, index, n, status);
	return (0);
}

/* Broadcasts and groups: every joined device may hear it. */
static uint8_t
af_broadcast(struct sim *sim, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, uint8_t trans_id, const uint8_t *data, size_t len)
{
	struct sim_wr	 w;
	int		 i;

	for (i = 0; i < sim->ndevs; i++)
		if (sim->devs[i]->joined)
			dev_af_broadcast(sim->devs[i], dst_ep, src_ep, cluster,
			    data, len);
	/* The stack confirms a broadcast once it has gone out. */
	wr_init(&w);
	wr_u8(&w, ST_SUCCESS);
	wr_u8(&w, src_ep);
	wr_u8(&w, trans_id);
	link_send_areq(sim, MT_SUBSYS_AF, 0x80, &w);
	return (ST_SUCCESS);
}

static int
af_data_request_ext(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	struct sim_device	*d;
	uint8_t			 mode, addr[8], dst_ep, src_ep, trans_id;
	uint8_t			 data[MT_MAX_PAYLOAD];
	uint16_t		 cluster, len, dst;

	mode = rd_u8(r);
	rd_bytes(r, addr, 8);
	dst_ep = rd_u8(r);
	rd_u16(r);			/* PAN id */
	src_ep = rd_u8(r);
	cluster = rd_u16(r);
	trans_id = rd_u8(r);
	rd_u8(r);			/* options */
	rd_u8(r);			/* radius */
	len = rd_u16(r);
	if (len > sizeof(data))
		return (-1);
	rd_bytes(r, data, len);
	if (r->err)
		return (-1);
	dst = (uint16_t)(addr[0] | addr[1] << 8);
	if (mode == 3) {
		d = dev_by_ieee(sim, addr);
		dst = d == NULL ? 0xFFFE : d->nwk;
	}
	if ((mode == 2 || mode == 3) && dst_ep == 0) {
		/* ZDO over AF (zigpy-znp's way): answered, not confirmed. */
		wr_u8(w, ST_SUCCESS);
		zdo_af_request(sim, dst, cluster, data, len);
		return (0);
	}
	if (mode == 2 || mode == 3)
		wr_u8(w, af_unicast(sim, dst, dst_ep, src_ep, cluster,
		    trans_id, data, len));
	else
		wr_u8(w, af_broadcast(sim, dst_ep, src_ep, cluster, trans_id,
		    data, len));
	return (0);
}

static int
af_data_request_srcrtg(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t		 dst_ep, src_ep, trans_id, relays, len;
	uint8_t		 data[MT_MAX_PAYLOAD];
	uint16_t	 dst, cluster;
	int		 i;

	dst = rd_u16(r);
	dst_ep = rd_u8(r);
	src_ep = rd_u8(r);
	cluster = rd_u16(r);
	trans_id = rd_u8(r);
	rd_u8(r);			/* options */
	rd_u8(r);			/* radius */
	relays = rd_u8(r);
	for (i = 0; i < relays; i++)
		rd_u16(r);
	len = rd_u8(r);
	rd_bytes(r, data, len);
	if (r->err)
		return (-1);
	wr_u8(w, af_unicast(sim, dst, dst_ep, src_ep, cluster, trans_id,
	    data, len));
	return (0);
}

/* ---- APP_CNF ---- */

struct znp_bdb {
	struct sim	*sim;
	uint8_t		 status;
	uint8_t		 mode;
	uint8_t		 remaining;
};

static void
znp_bdb_notify(void *arg)
{
	struct znp_bdb	*n = arg;
	struct sim_wr	 w;

	wr_init(&w);
	wr_u8(&w, n->status);
	wr_u8(&w, n->mode);
	wr_u8(&w, n->remaining);
	link_send_areq(n->sim, MT_SUBSYS_APP_CNF, 0x80, &w);
	free(n);
}

static void
znp_bdb_later(struct sim *sim, uint32_t ms, uint8_t status, uint8_t mode,
    uint8_t remaining)
{
	struct znp_bdb	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		fatal("%s", __func__);
	n->sim = sim;
	n->status = status;
	n->mode = mode;
	n->remaining = remaining;
	sim_later_owned(sim, ms, znp_bdb_notify, n);
}

static int
bdb_start_commissioning(struct sim *sim, struct sim_rd *r, struct sim_wr *w)
{
	uint8_t	 mode = rd_u8(r);

	if (r->err)
		return (-1);
	wr_u8(w, ST_SUCCESS);
	if ((mode & 0x04) == 0) {
		znp_bdb_later(sim, 10, 0, mode, 0);
		return (0);
	}
	if (znp_start_network(sim)) {
		/* What an already formed stack reports: restored, then 8. */
		znp_bdb_later(sim, 80, 0x0D, 0x00, 0x04);
		znp_bdb_later(sim, 90, 0x08, 0x04, 0x00);
	} else
		znp_bdb_later(sim, 80, 0x00, 0x04, 0x00);
	return (0);
}

static const struct znp_cmd znp_cmds[] = {
	{ MT_SUBSYS_SYS, 0x01, sys_ping },
	{ MT_SUBSYS_SYS, 0x02, sys_version },
	{ MT_SUBSYS_SYS, 0x04, sys_ext_addr },
	{ MT_SUBSYS_SYS, 0x07, sys_nv_item_init },
	{ MT_SUBSYS_SYS, 0x08, sys_nv_read },
	{ MT_SUBSYS_SYS, 0x09, sys_nv_write },
	{ MT_SUBSYS_SYS, 0x0F, sys_stack_tune },
	{ MT_SUBSYS_SYS, 0x12, sys_nv_delete },
	{ MT_SUBSYS_SYS, 0x13, sys_nv_length },
	{ MT_SUBSYS_SYS, 0x14, sys_set_tx_power },
	{ MT_SUBSYS_SYS, 0x1C, sys_nv_read_ext },
	{ MT_SUBSYS_SYS, 0x1D, sys_nv_write_ext },
	{ MT_SUBSYS_SYS, 0x30, sys_ex_create },
	{ MT_SUBSYS_SYS, 0x31, sys_ex_delete },
	{ MT_SUBSYS_SYS, 0x32, sys_ex_length },
	{ MT_SUBSYS_SYS, 0x33, sys_ex_read },
	{ MT_SUBSYS_SYS, 0x34, sys_ex_write },
	{ MT_SUBSYS_UTIL, 0x00, util_device_info },
	{ MT_SUBSYS_UTIL, 0x0A, util_ok },
	{ MT_SUBSYS_UTIL, 0x49, util_assoc_find },
	{ MT_SUBSYS_UTIL, 0x4A, util_assoc_get },
	{ MT_SUBSYS_UTIL, 0x63, util_ok },
	{ MT_SUBSYS_UTIL, 0x64, util_ok },
	{ MT_SUBSYS_ZDO, 0x3E, zdo_msg_cb_register },
	{ MT_SUBSYS_ZDO, 0x3F, util_ok },
	{ MT_SUBSYS_ZDO, 0x40, zdo_startup_from_app },
	{ MT_SUBSYS_ZDO, 0x45, util_ok },
	{ MT_SUBSYS_ZDO, 0x46, util_ok },
	{ MT_SUBSYS_ZDO, 0x4A, zdo_ext_find_group },
	{ MT_SUBSYS_ZDO, 0x4B, zdo_ext_add_group },
	{ MT_SUBSYS_ZDO, 0x50, zdo_ext_nwk_info },
	{ MT_SUBSYS_AF, 0x00, af_register },
	{ MT_SUBSYS_AF, 0x01, af_data_request },
	{ MT_SUBSYS_AF, 0x02, af_data_request_ext },
	{ MT_SUBSYS_AF, 0x03, af_data_request_srcrtg },
	{ MT_SUBSYS_AF, 0x12, af_data_retrieve },
	{ MT_SUBSYS_APP_CNF, 0x05, bdb_start_commissioning },
	{ MT_SUBSYS_APP_CNF, 0x08, util_ok },
	{ MT_SUBSYS_APP_CNF, 0x09, util_ok },
};

static void
znp_areq(struct sim *sim, const struct mt_frame *f)
{
	if (f->subsys == MT_SUBSYS_SYS && f->cmd == 0x00) {
		log_info("host asked for a %s reset",
		    f->len > 0 && f->data[0] == 0 ? "hard" : "soft");
		sim_later(sim, 50, znp_soft_reset, sim);
		return;
	}
	log_debug("ignoring AREQ %s 0x%02x from the host",
	    mt_subsys_name(f->subsys), f->cmd);
}

static void
znp_rpc_error(struct sim *sim, const struct mt_frame *f, uint8_t err)
{
	struct mt_frame	 rsp;

	mt_rpc_error(&rsp, err, f);
	link_send(sim, &rsp);
}

void
znp_frame(struct sim *sim, const struct mt_frame *f)
{
	struct sim_rd	 r;
	struct sim_wr	 w;
	uint8_t		 status;
	size_t		 i;

	if (f->type == MT_TYPE_AREQ) {
		znp_areq(sim, f);
		return;
	}
	if (f->type != MT_TYPE_SREQ)
		return;
	rd_init(&r, f->data, f->len);
	wr_init(&w);
	for (i = 0; i < sizeof(znp_cmds) / sizeof(znp_cmds[0]); i++) {
		if (znp_cmds[i].subsys != f->subsys ||
		    znp_cmds[i].cmd != f->cmd)
			continue;
		if (znp_cmds[i].fn(sim, &r, &w) == -1) {
			log_warnx("malformed %s 0x%02x from the host",
			    mt_subsys_name(f->subsys), f->cmd);
			znp_rpc_error(sim, f, MT_RPC_ERR_PARAM);
		} else
			znp_srsp(sim, f, &w);
		return;
	}
	if (f->subsys == MT_SUBSYS_ZDO && zdo_mt_request(sim, f, &status) == 0)
		return;
	log_debug("unknown SREQ %s 0x%02x", mt_subsys_name(f->subsys), f->cmd);
	znp_rpc_error(sim, f, MT_RPC_ERR_CMD);
}

/* ---- endpoints ---- */

int
ep_has_in(const struct sim_ep *ep, uint16_t cluster)
{
	int	 i;

	for (i = 0; i < ep->nin; i++)
		if (ep->in[i] == cluster)
			return (1);
	return (0);
}

int
ep_has_out(const struct sim_ep *ep, uint16_t cluster)
{
	int	 i;

	for (i = 0; i < ep->nout; i++)
		if (ep->out[i] == cluster)
			return (1);
	return (0);
}

int
ep_write_simple_desc(struct sim_wr *w, const struct sim_ep *ep)
{
	int	 i;

	wr_u8(w, ep->id);
	wr_u16(w, ep->profile);
	wr_u16(w, ep->device_id);
	wr_u8(w, ep->version);
	wr_u8(w, ep->nin);
	for (i = 0; i < ep->nin; i++)
		wr_u16(w, ep->in[i]);
	wr_u8(w, ep->nout);
	for (i = 0; i < ep->nout; i++)
		wr_u16(w, ep->out[i]);
	return (w->err ? -1 : 0);
}

const struct sim_ep *
znp_ota_server_ep(struct sim *sim)
{
	int	 i;

	for (i = 0; i < sim->neps; i++)
		if (ep_has_in(&sim->eps[i], 0x0019))
			return (&sim->eps[i]);
	return (NULL);
}

static int
znp_has_ep(struct sim *sim, uint8_t id)
{
	int	 i;

	for (i = 0; i < sim->neps; i++)
		if (sim->eps[i].id == id)
			return (1);
	return (0);
}

/* Keep a copy under a new stamp, in place of the oldest when full. */
static uint32_t
znp_store(struct sim *sim, struct sim_device *d, const uint8_t *data,
    size_t len)
{
	struct sim_stored	*st = &sim->stored[0];
	cJSON			*o;
	int			 i;

	for (i = 1; i < SIM_MAX_STORED && st->data != NULL; i++)
		if (sim->stored[i].data == NULL ||
		    sim->stored[i].stamp < st->stamp)
			st = &sim->stored[i];
	znp_stored_free(st);
	if ((st->data = malloc(len)) == NULL)
		fatal("%s", __func__);
	memcpy(st->data, data, len);
	st->len = len;
	st->stamp = ++sim->rx_stamp;
	o = sim_event_dev(d);
	cJSON_AddNumberToObject(o, "stamp", st->stamp);
	cJSON_AddNumberToObject(o, "len", (double)len);
	sim_event(sim, "stored", o);
	return (st->stamp);
}

/*
 * AF_INCOMING_MSG_EXT for a message that does not fit in an MT frame:
 * the header, no data, and the trailer; the host fetches the data.
 */
static void
znp_incoming_ext(struct sim *sim, struct sim_device *d, uint8_t src_ep,
    uint8_t dst_ep, uint16_t cluster, const uint8_t *data, size_t len)
{
	struct sim_wr	 w;
	uint8_t		 addr[8];

	memset(addr, 0, sizeof(addr));
	addr[0] = (uint8_t)d->nwk;
	addr[1] = (uint8_t)(d->nwk >> 8);
	wr_init(&w);
	wr_u16(&w, 0);			/* group */
	wr_u16(&w, cluster);
	wr_u8(&w, 2);			/* source address mode: NWK */
	wr_bytes(&w, addr, sizeof(addr));
	wr_u8(&w, src_ep);
	wr_u16(&w, sim->adapter.pan_id);
	wr_u8(&w, dst_ep);
	wr_u8(&w, 0);			/* not broadcast */
	wr_u8(&w, (uint8_t)rng_range(&d->rng, 90, 200));	/* LQI */
	wr_u8(&w, 0);			/* security use */
	wr_u32(&w, znp_store(sim, d, data, len));
	wr_u8(&w, 0);			/* transSeq */
	wr_u16(&w, (uint16_t)len);
	wr_u16(&w, d->nwk);		/* MAC source */
	wr_u8(&w, 0x1E);		/* radius */
	link_send_areq(sim, MT_SUBSYS_AF, 0x82, &w);
}

void
znp_incoming(struct sim *sim, struct sim_device *d, uint8_t src_ep,
    uint8_t dst_ep, uint16_t cluster, const uint8_t *data, size_t len)
{
	struct sim_wr	 w;
	cJSON		*o;

	if (sim->dev_state != ZNP_STATE_COORD || !znp_has_ep(sim, dst_ep)) {
		/* The stack drops frames for endpoints nobody registered. */
		o = sim_event_dev(d);
		cJSON_AddNumberToObject(o, "dst_ep", dst_ep);
		cJSON_AddNumberToObject(o, "cluster", cluster);
		sim_event(sim, "dropped_at_coordinator", o);
		return;
	}
	if (ZNP_INCOMING_HDR + len + ZNP_INCOMING_TRAILER > MT_MAX_PAYLOAD) {
		znp_incoming_ext(sim, d, src_ep, dst_ep, cluster, data, len);
		return;
	}
	wr_init(&w);
	wr_u16(&w, 0);			/* group */
	wr_u16(&w, cluster);
	wr_u16(&w, d->nwk);
	wr_u8(&w, src_ep);
	wr_u8(&w, dst_ep);
	wr_u8(&w, 0);			/* not broadcast */
	wr_u8(&w, (uint8_t)rng_range(&d->rng, 90, 200));	/* LQI */
	wr_u8(&w, 0);			/* security use */
	/* A counter, not the clock, so runs with one seed are equal. */
	wr_u32(&w, ++sim->rx_stamp);
	wr_u8(&w, 0);			/* transSeq, always 0 on Z-Stack 3 */
	wr_u8(&w, (uint8_t)len);
	wr_bytes(&w, data, len);
	wr_u16(&w, d->nwk);		/* MAC source: a direct neighbour */
	wr_u8(&w, 0x1E);		/* radius */
	link_send_areq(sim, MT_SUBSYS_AF, 0x81, &w);
}
