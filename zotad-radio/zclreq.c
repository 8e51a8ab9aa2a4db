/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/queue.h>

#include <stdlib.h>

#include "log.h"
#include "zcl.h"
#include "zclreq.h"

struct zclreq_wait {
	TAILQ_ENTRY(zclreq_wait) entry;
	struct zclreq		*z;
	uint16_t		 nwk;
	uint16_t		 cluster;
	uint8_t			 tsn;
	struct event		*timer;
	zclreq_cb		*cb;
	void			*arg;
};

struct zclreq {
	struct event_base	*base;
	struct adapter		*ad;
	uint8_t			 tsn;
	TAILQ_HEAD(, zclreq_wait) waits;
};

struct zclreq *
zclreq_new(struct event_base *base, struct adapter *ad)
{
	struct zclreq	*z;

	if ((z = calloc(1, sizeof(*z))) == NULL)
		return (NULL);
	z->base = base;
	z->ad = ad;
	TAILQ_INIT(&z->waits);
	return (z);
}

static void
zclreq_finish(struct zclreq_wait *w, uint8_t cmd, const uint8_t *p,
    size_t len)
{
	TAILQ_REMOVE(&w->z->waits, w, entry);
	event_free(w->timer);
	w->cb(cmd, p, len, w->arg);
	free(w);
}

void
zclreq_free(struct zclreq *z)
{
	struct zclreq_wait	*w;

	if (z == NULL)
		return;
	while ((w = TAILQ_FIRST(&z->waits)) != NULL)
		zclreq_finish(w, 0, NULL, 0);
	free(z);
}

uint8_t
zclreq_tsn(struct zclreq *z)
{
	return (++z->tsn);
}

static void
zclreq_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	zclreq_finish(arg, 0, NULL, 0);
}

int
zclreq_send(struct zclreq *z, uint16_t nwk, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, const uint8_t *frame, size_t len, int timeout_ms,
    zclreq_cb *cb, void *arg)
{
	struct zclreq_wait	*w;
	struct zcl_hdr		 h;
	size_t			 hl;
	struct timeval		 tv;

	if (zcl_hdr_parse(frame, len, &h, &hl) == -1 ||
	    (w = calloc(1, sizeof(*w))) == NULL)
		return (-1);
	w->z = z;
	w->nwk = nwk;
	w->cluster = cluster;
	w->tsn = h.tsn;
	w->cb = cb;
	w->arg = arg;
	if ((w->timer = evtimer_new(z->base, zclreq_timeout_cb, w)) == NULL) {
		free(w);
		return (-1);
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(w->timer, &tv);
	TAILQ_INSERT_TAIL(&z->waits, w, entry);
	/* Only the answer or the timer ends W: a lost send just times out. */
	if (adapter_send(z->ad, nwk, dst_ep, src_ep, cluster, frame, len,
	    NULL, NULL) == -1) {
		TAILQ_REMOVE(&z->waits, w, entry);
		event_free(w->timer);
		free(w);
		return (-1);
	}
	return (0);
}

int
zclreq_dispatch(struct zclreq *z, const struct adapter_msg *m)
{
	struct zclreq_wait	*w;
	struct zcl_hdr		 h;
	size_t			 hl;

	if (zcl_hdr_parse(m->data, m->len, &h, &hl) == -1)
		return (0);
	TAILQ_FOREACH(w, &z->waits, entry)
		if (w->nwk == m->nwk && w->cluster == m->cluster &&
		    w->tsn == h.tsn) {
			zclreq_finish(w, h.cmd, m->data + hl, m->len - hl);
			return (1);
		}
	return (0);
}

int
zclreq_read(struct zclreq *z, uint16_t nwk, uint8_t ep, uint16_t cluster,
    const uint16_t *attrs, size_t nattr, int timeout_ms, zclreq_cb *cb,
    void *arg)
{
	uint8_t	 buf[64];
	size_t	 n;

	if ((n = zcl_read_attrs(buf, sizeof(buf), zclreq_tsn(z), attrs,
	    nattr)) == 0)
		return (-1);
	return (zclreq_send(z, nwk, ep, 1, cluster, buf, n, timeout_ms, cb,
	    arg));
}
