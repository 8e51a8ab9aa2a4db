/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_ZSTACK_H
#define ZOTAD_RADIO_ZSTACK_H

/*
 * The Z-Stack 3.x (TI ZNP, MT over UART) implementation of the adapter
 * interface. On every (re)connection it pings the adapter (with the
 * bootloader skip), reads its version and IEEE address, then resumes
 * the network the adapter holds, or forms one from the advanced:
 * parameters when it holds none, and registers our endpoints: 1, 13
 * with the OTA Upgrade server cluster (where zigbee2mqtt users' devices
 * look for it) and 47 (where some ZLL devices look). The stack itself
 * answers Match Descriptor requests from the registered endpoints.
 * Incoming ZCL comes in AF_INCOMING_MSG, or in AF_INCOMING_MSG_EXT,
 * whose data, when too large for an MT frame, is fetched from the
 * adapter with AF_DATA_RETRIEVE.
 */

#include <event2/event.h>

#include "adapter.h"

struct config;

/*
 * A Z-Stack adapter on the serial port CONF names. The configuration
 * must outlive the adapter. Returns NULL when out of memory.
 */
struct adapter *zstack_new(struct event_base *base, const struct config *conf,
	    const struct adapter_cbs *cbs, void *arg);

/* Whether the last start found a network (1) or formed one (0). */
int	zstack_resumed(const struct adapter *a);

/*
 * The channel and PAN id of the network the adapter runs. Returns 0, or
 * -1 while the network is not up.
 */
int	zstack_network(const struct adapter *a, uint8_t *channel,
	    uint16_t *pan);

#endif
