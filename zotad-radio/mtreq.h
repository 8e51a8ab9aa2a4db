/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_MTREQ_H
#define ZOTAD_RADIO_MTREQ_H

/*
 * The MT request engine on top of the frame codec. Synchronous requests
 * (SREQ) go out one at a time: the next is written only when the
 * previous one got its SRSP, an RPC error, or timed out. Asynchronous
 * frames (AREQ) from the adapter are routed at any time, also while a
 * request waits: to every one-shot waiter that matches them, then to
 * every subscriber of their subsystem and command. Callers arm a waiter
 * for a request's outcome before they queue the request, so an answer
 * that comes back at once is never missed.
 */

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "mt.h"

#define MTR_DEFAULT_TIMEOUT_MS	6000	/* an SRSP, as herdsman allows */
#define MTR_MAX_QUEUE		256	/* SREQs waiting their turn */
#define MTR_MAX_SUBS		32

struct mtr;
struct mtr_waiter;

/* Send LEN encoded bytes to the adapter; 0, or -1 when the link is down. */
typedef int	mtr_write_fn(const uint8_t *buf, size_t len, void *arg);

/*
 * The answer to an SREQ: the SRSP, the RPC error frame (subsystem
 * MT_SUBSYS_RPC_ERROR) when the adapter did not know the command, or
 * NULL when it timed out or the link was lost.
 */
typedef void	mtr_srsp_cb(const struct mt_frame *rsp, void *arg);

/* An AREQ for a subscriber, or a waiter's match (NULL: timed out). */
typedef void	mtr_areq_cb(const struct mt_frame *f, void *arg);

/* Whether an AREQ is the one a waiter waits for. */
typedef int	mtr_match_fn(const struct mt_frame *f, const void *arg);

struct mtr *mtr_new(struct event_base *base, mtr_write_fn *write,
	    void *write_arg);
void	mtr_free(struct mtr *m);

/*
 * Bytes from the adapter, in pieces of any size. Whatever is not a
 * frame is dropped and summed up in a warning, at most once a second.
 */
void	mtr_feed(struct mtr *m, const uint8_t *buf, size_t len);

/*
 * The link went away (or came back): every queued request and every
 * waiter gets NULL, and the decoder forgets any partial frame.
 */
void	mtr_reset(struct mtr *m);

/*
 * Queue an SREQ with LEN payload bytes; CB gets its answer after at
 * most TIMEOUT_MS (0: MTR_DEFAULT_TIMEOUT_MS). CB may be NULL. Returns
 * 0, or -1 when the payload is too long or the queue is full.
 */
int	mtr_sreq(struct mtr *m, uint8_t subsys, uint8_t cmd, const void *data,
	    size_t len, int timeout_ms, mtr_srsp_cb *cb, void *arg);

/* Write an AREQ at once (SYS_RESET_REQ). Returns 0 or -1. */
int	mtr_areq(struct mtr *m, uint8_t subsys, uint8_t cmd, const void *data,
	    size_t len);

/* Write raw bytes at once (the bootloader skip byte). */
int	mtr_raw(struct mtr *m, const void *data, size_t len);

/*
 * Wait once for an AREQ SUBSYS/CMD for which MATCH (may be NULL)
 * returns true; CB gets it, or NULL after TIMEOUT_MS. The waiter frees
 * itself after the callback; mtr_wait_cancel drops it before that.
 */
struct mtr_waiter *mtr_wait(struct mtr *m, uint8_t subsys, uint8_t cmd,
	    mtr_match_fn *match, const void *match_arg, int timeout_ms,
	    mtr_areq_cb *cb, void *arg);
void	mtr_wait_cancel(struct mtr_waiter *w);

/* Call CB for every AREQ SUBSYS/CMD. Returns 0 or -1. */
int	mtr_subscribe(struct mtr *m, uint8_t subsys, uint8_t cmd,
	    mtr_areq_cb *cb, void *arg);

/* Counters for logs and tests. */
struct mtr_stats {
	uint64_t	 sreqs;		/* written */
	uint64_t	 timeouts;	/* SREQs without an answer */
	uint64_t	 unmatched;	/* SRSPs nobody asked for */
	uint64_t	 areqs;		/* AREQs received */
};
void	mtr_get_stats(const struct mtr *m, struct mtr_stats *st);

/* Whether an SREQ is written and waiting for its answer. */
int	mtr_busy(const struct mtr *m);

#endif
