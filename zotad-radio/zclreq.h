/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_ZCLREQ_H
#define ZOTAD_RADIO_ZCLREQ_H

/*
 * ZCL requests to devices and their answers. A request is matched to its
 * answer by the device's network address, the cluster and the ZCL
 * transaction sequence number; the wait is armed before the frame goes
 * out. Frames nobody waits for are left to the caller's other handlers.
 */

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "adapter.h"

struct zclreq;

/*
 * The answer's payload after the ZCL header and its command id, or
 * PAYLOAD NULL when the device did not answer in time or the frame
 * could not be sent.
 */
typedef void	zclreq_cb(uint8_t cmd, const uint8_t *payload, size_t len,
		    void *arg);

struct zclreq *zclreq_new(struct event_base *base, struct adapter *ad);
void	zclreq_free(struct zclreq *z);

/* The next transaction sequence number for a frame of ours. */
uint8_t	zclreq_tsn(struct zclreq *z);

/*
 * Send FRAME (built with TSN from zclreq_tsn) to NWK/DST_EP on CLUSTER
 * from our SRC_EP and give CB the answer. Returns 0, or -1 when it could
 * not even be queued (CB is then not called).
 */
int	zclreq_send(struct zclreq *z, uint16_t nwk, uint8_t dst_ep,
	    uint8_t src_ep, uint16_t cluster, const uint8_t *frame,
	    size_t len, int timeout_ms, zclreq_cb *cb, void *arg);

/*
 * Offer an incoming frame to the waiting requests. Returns 1 when one
 * took it, 0 when it is for someone else.
 */
int	zclreq_dispatch(struct zclreq *z, const struct adapter_msg *m);

/* Read NATTR attributes of CLUSTER; CB gets the Read Attributes Response. */
int	zclreq_read(struct zclreq *z, uint16_t nwk, uint8_t ep,
	    uint16_t cluster, const uint16_t *attrs, size_t nattr,
	    int timeout_ms, zclreq_cb *cb, void *arg);

#endif
