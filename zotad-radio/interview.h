/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_INTERVIEW_H
#define ZOTAD_RADIO_INTERVIEW_H

/*
 * The interview of a device that joined: node descriptor (type, power,
 * manufacturer code), active endpoints, the simple descriptor of each
 * (which endpoint has the OTA client cluster), then the Basic attributes
 * manufacturerName, modelIdentifier, powerSource, swBuildId, dateCode
 * and hwVersion. Results go into the registry entry as they come; the
 * device is looked up by IEEE address at every step, never kept by
 * pointer, since the registry may move its entries.
 */

#include <stdint.h>

struct adapter;
struct registry;
struct zclreq;

/* OK is 1 when every step answered. */
typedef void	iv_done_cb(uint64_t ieee, int ok, void *arg);

/*
 * Interview the device IEEE, which must be in R. Returns 0, or -1 when
 * it could not start (CB is then not called).
 */
int	iv_start(struct adapter *ad, struct zclreq *z, struct registry *r,
	    uint64_t ieee, iv_done_cb *cb, void *arg);

/* Read the Basic version attributes again (after an update). */
int	iv_read_basic(struct adapter *ad, struct zclreq *z,
	    struct registry *r, uint64_t ieee, iv_done_cb *cb, void *arg);

#endif
