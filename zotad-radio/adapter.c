/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include "adapter.h"

int
adapter_start(struct adapter *a)
{
	return (a->ops->start(a));
}

int
adapter_send(struct adapter *a, uint16_t nwk, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, const uint8_t *data, size_t len, adapter_sent_cb *cb,
    void *arg)
{
	return (a->ops->send(a, nwk, dst_ep, src_ep, cluster, data, len, cb,
	    arg));
}

int
adapter_zdo(struct adapter *a, uint16_t nwk, uint8_t cmd, const uint8_t *body,
    size_t len, adapter_zdo_cb *cb, void *arg)
{
	return (a->ops->zdo(a, nwk, cmd, body, len, cb, arg));
}

int
adapter_permit_join(struct adapter *a, uint8_t seconds)
{
	return (a->ops->permit_join(a, seconds));
}

int
adapter_permit_join_at(struct adapter *a, uint16_t nwk, uint8_t seconds,
    adapter_zdo_cb *cb, void *arg)
{
	/* Not every stack can address one node. */
	if (a->ops->permit_join_at == NULL)
		return (-1);
	return (a->ops->permit_join_at(a, nwk, seconds, cb, arg));
}

size_t
adapter_max_payload(const struct adapter *a)
{
	return (a->ops->max_payload(a));
}

uint64_t
adapter_ieee(const struct adapter *a)
{
	return (a->ops->ieee(a));
}

int
adapter_is_up(const struct adapter *a)
{
	return (a->state == ADAPTER_UP);
}

void
adapter_free(struct adapter *a)
{
	if (a != NULL)
		a->ops->free(a);
}

void
adapter_set_state(struct adapter *a, enum adapter_state st)
{
	if (a->state == st)
		return;
	a->state = st;
	if (a->cbs.state != NULL)
		a->cbs.state(st, a->arg);
}
