/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdlib.h>
#include <string.h>

#include "adapter.h"
#include "buf.h"
#include "devices.h"
#include "interview.h"
#include "log.h"
#include "zcl.h"
#include "zclreq.h"

#define IV_TIMEOUT_MS	15000
#define IV_MAX_ATTRS	8

#define ZDO_NODE_DESC	0x02
#define ZDO_SIMPLE_DESC	0x04
#define ZDO_ACTIVE_EP	0x05

struct iv {
	struct adapter	*ad;
	struct zclreq	*z;
	struct registry	*r;
	uint64_t	 ieee;
	uint16_t	 nwk;
	uint8_t		 eps[DEV_MAX_EPS];
	int		 neps;
	int		 idx;
	int		 basic_only;	/* a version re-read */
	iv_done_cb	*cb;
	void		*arg;
};

static const uint16_t iv_basic_attrs[] = { 0x0004, 0x0005, 0x0007, 0x4000,
    0x0006, 0x0003 };

static void	iv_next_simple(struct iv *);
static void	iv_active_cb(const uint8_t *, size_t, void *);
static void	iv_basic(struct iv *);

static void
iv_end(struct iv *iv, int ok)
{
	struct device	*d = reg_find(iv->r, iv->ieee);
	char		 ieee[19];

	dev_ieee_str(iv->ieee, ieee);
	if (d != NULL && d->interview == DEV_IV_RUNNING)
		d->interview = ok ? DEV_IV_DONE : DEV_IV_FAILED;
	if (iv->basic_only)
		log_debug("device %s: Basic attributes read: %s", ieee,
		    ok ? "ok" : "no answer");
	else if (ok)
		log_info("device %s interviewed: %s %s", ieee,
		    d != NULL ? d->manufacturer : "?",
		    d != NULL ? d->model : "?");
	else
		log_warnx("device %s: interview failed; it is retried when "
		    "the device announces itself again", ieee);
	reg_save(iv->r);
	if (iv->cb != NULL)
		iv->cb(iv->ieee, ok, iv->arg);
	free(iv);
}

static void
iv_node_cb(const uint8_t *rsp, size_t len, void *arg)
{
	struct iv	*iv = arg;
	struct device	*d = reg_find(iv->r, iv->ieee);
	struct brd	 r;
	uint8_t		 st, type, caps, body[2];
	uint16_t	 manuf;

	brd_init(&r, rsp, len);
	st = brd_u8(&r);
	brd_u16(&r);
	type = brd_u8(&r) & 0x07;
	brd_u8(&r);
	caps = brd_u8(&r);
	manuf = brd_u16(&r);
	if (rsp == NULL || r.err || st != 0 || d == NULL) {
		iv_end(iv, 0);
		return;
	}
	d->type = type == 1 ? DEV_ROUTER : type == 2 ? DEV_END_DEVICE :
	    DEV_UNKNOWN;
	d->rx_on_idle = (caps & 0x08) != 0;
	d->manuf_code = manuf;
	body[0] = (uint8_t)iv->nwk;
	body[1] = (uint8_t)(iv->nwk >> 8);
	if (adapter_zdo(iv->ad, iv->nwk, ZDO_ACTIVE_EP, body, 2, iv_active_cb,
	    iv) == -1)
		iv_end(iv, 0);
}

static void
iv_active_cb(const uint8_t *rsp, size_t len, void *arg)
{
	struct iv	*iv = arg;
	struct brd	 r;
	uint8_t		 st, n;

	brd_init(&r, rsp, len);
	st = brd_u8(&r);
	brd_u16(&r);
	n = brd_u8(&r);
	if (n > DEV_MAX_EPS)
		n = DEV_MAX_EPS;
	brd_bytes(&r, iv->eps, n);
	if (rsp == NULL || r.err || st != 0) {
		iv_end(iv, 0);
		return;
	}
	iv->neps = n;
	iv->idx = 0;
	iv_next_simple(iv);
}

static int
iv_parse_simple(struct brd *r, struct dev_ep *ep)
{
	uint8_t	 i, n;

	ep->id = brd_u8(r);
	ep->profile = brd_u16(r);
	ep->device_id = brd_u16(r);
	brd_u8(r);
	n = brd_u8(r);
	for (i = 0; i < n; i++) {
		if (i < DEV_MAX_CLUSTERS)
			ep->in[i] = brd_u16(r);
		else
			brd_u16(r);
	}
	ep->nin = n < DEV_MAX_CLUSTERS ? n : DEV_MAX_CLUSTERS;
	n = brd_u8(r);
	for (i = 0; i < n; i++) {
		if (i < DEV_MAX_CLUSTERS)
			ep->out[i] = brd_u16(r);
		else
			brd_u16(r);
	}
	ep->nout = n < DEV_MAX_CLUSTERS ? n : DEV_MAX_CLUSTERS;
	return (r->err ? -1 : 0);
}

static void
iv_simple_cb(const uint8_t *rsp, size_t len, void *arg)
{
	struct iv	*iv = arg;
	struct device	*d = reg_find(iv->r, iv->ieee);
	struct dev_ep	 ep;
	struct brd	 r;
	uint8_t		 st;

	brd_init(&r, rsp, len);
	st = brd_u8(&r);
	brd_u16(&r);
	brd_u8(&r);		/* descriptor length */
	memset(&ep, 0, sizeof(ep));
	if (rsp == NULL || st != 0 || iv_parse_simple(&r, &ep) == -1 ||
	    d == NULL) {
		iv_end(iv, 0);
		return;
	}
	if (iv->idx == 0)
		d->neps = 0;
	if (d->neps < DEV_MAX_EPS)
		d->eps[d->neps++] = ep;
	iv->idx++;
	iv_next_simple(iv);
}

static void
iv_next_simple(struct iv *iv)
{
	uint8_t	 body[3];

	if (iv->idx >= iv->neps) {
		iv_basic(iv);
		return;
	}
	body[0] = (uint8_t)iv->nwk;
	body[1] = (uint8_t)(iv->nwk >> 8);
	body[2] = iv->eps[iv->idx];
	if (adapter_zdo(iv->ad, iv->nwk, ZDO_SIMPLE_DESC, body, 3,
	    iv_simple_cb, iv) == -1)
		iv_end(iv, 0);
}

static void
iv_store_attr(struct device *d, const struct zcl_attr *a)
{
	if (a->status != ZCL_SUCCESS)
		return;
	switch (a->id) {
	case 0x0004:
		if (a->is_str)
			snprintf(d->manufacturer, sizeof(d->manufacturer),
			    "%s", a->str);
		break;
	case 0x0005:
		if (a->is_str)
			snprintf(d->model, sizeof(d->model), "%s", a->str);
		break;
	case 0x4000:
		if (a->is_str)
			snprintf(d->sw_build_id, sizeof(d->sw_build_id),
			    "%s", a->str);
		break;
	case 0x0006:
		if (a->is_str)
			snprintf(d->date_code, sizeof(d->date_code), "%s",
			    a->str);
		break;
	case 0x0007:
		if (!a->is_str)
			d->power_source = (int)(a->num & 0xFF);
		break;
	case 0x0003:
		if (!a->is_str)
			d->hw_version = (int)(a->num & 0xFF);
		break;
	}
}

static void
iv_basic_cb(uint8_t cmd, const uint8_t *p, size_t len, void *arg)
{
	struct iv	*iv = arg;
	struct device	*d = reg_find(iv->r, iv->ieee);
	struct zcl_attr	 attrs[IV_MAX_ATTRS];
	size_t		 n, i;

	if (p == NULL || cmd != ZCL_CMD_READ_ATTR_RSP || d == NULL ||
	    zcl_parse_read_rsp(p, len, attrs, IV_MAX_ATTRS, &n) == -1) {
		iv_end(iv, 0);
		return;
	}
	for (i = 0; i < n; i++)
		iv_store_attr(d, &attrs[i]);
	iv_end(iv, 1);
}

static void
iv_basic(struct iv *iv)
{
	struct device	*d = reg_find(iv->r, iv->ieee);
	uint8_t		 ep;

	if (d == NULL) {
		iv_end(iv, 0);
		return;
	}
	if ((ep = dev_ep_with_in(d, ZCL_CLUSTER_BASIC)) == 0)
		ep = d->neps > 0 ? d->eps[0].id : 1;
	if (zclreq_read(iv->z, iv->nwk, ep, ZCL_CLUSTER_BASIC,
	    iv_basic_attrs, sizeof(iv_basic_attrs) /
	    sizeof(iv_basic_attrs[0]), IV_TIMEOUT_MS, iv_basic_cb, iv) == -1)
		iv_end(iv, 0);
}

static struct iv *
iv_new(struct adapter *ad, struct zclreq *z, struct registry *r,
    uint64_t ieee, iv_done_cb *cb, void *arg)
{
	struct device	*d = reg_find(r, ieee);
	struct iv	*iv;

	if (d == NULL || (iv = calloc(1, sizeof(*iv))) == NULL)
		return (NULL);
	iv->ad = ad;
	iv->z = z;
	iv->r = r;
	iv->ieee = ieee;
	iv->nwk = d->nwk;
	iv->cb = cb;
	iv->arg = arg;
	return (iv);
}

int
iv_start(struct adapter *ad, struct zclreq *z, struct registry *r,
    uint64_t ieee, iv_done_cb *cb, void *arg)
{
	struct iv	*iv;
	uint8_t		 body[2];

	if ((iv = iv_new(ad, z, r, ieee, cb, arg)) == NULL)
		return (-1);
	reg_find(r, ieee)->interview = DEV_IV_RUNNING;
	body[0] = (uint8_t)iv->nwk;
	body[1] = (uint8_t)(iv->nwk >> 8);
	if (adapter_zdo(ad, iv->nwk, ZDO_NODE_DESC, body, 2, iv_node_cb,
	    iv) == -1) {
		reg_find(r, ieee)->interview = DEV_IV_FAILED;
		free(iv);
		return (-1);
	}
	return (0);
}

int
iv_read_basic(struct adapter *ad, struct zclreq *z, struct registry *r,
    uint64_t ieee, iv_done_cb *cb, void *arg)
{
	struct iv	*iv;

	if ((iv = iv_new(ad, z, r, ieee, cb, arg)) == NULL)
		return (-1);
	iv->basic_only = 1;
	iv_basic(iv);
	return (0);
}
