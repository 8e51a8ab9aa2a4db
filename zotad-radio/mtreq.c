/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mtreq.h"

/* Noise from the adapter is summed up in at most one line a second. */
#define MTR_NOISE_LOG_MS	1000

struct mtr_req {
	TAILQ_ENTRY(mtr_req)	 entry;
	struct mt_frame		 f;
	int			 timeout_ms;
	mtr_srsp_cb		*cb;
	void			*arg;
};

struct mtr_waiter {
	TAILQ_ENTRY(mtr_waiter)	 entry;
	struct mtr		*m;
	uint64_t		 seq;
	uint8_t			 subsys;
	uint8_t			 cmd;
	mtr_match_fn		*match;
	const void		*match_arg;
	mtr_areq_cb		*cb;
	void			*arg;
	struct event		*timer;
};

struct mtr_sub {
	uint8_t			 subsys;
	uint8_t			 cmd;
	mtr_areq_cb		*cb;
	void			*arg;
};

struct mtr {
	struct event_base	*base;
	mtr_write_fn		*write;
	void			*write_arg;
	struct mt_decoder	 dec;
	TAILQ_HEAD(, mtr_req)	 queue;
	size_t			 nqueued;
	int			 inflight;	/* the head is written */
	struct event		*timer;
	TAILQ_HEAD(, mtr_waiter) waiters;
	uint64_t		 next_seq;
	struct mtr_sub		 subs[MTR_MAX_SUBS];
	size_t			 nsubs;
	struct mtr_stats	 st;
	struct event		*noise_ev;
	uint64_t		 logged_skipped;	/* decoder counters, */
	uint64_t		 logged_fcs;		/* as last logged */
	uint64_t		 logged_len;
};

static void	mtr_kick(struct mtr *);
static void	mtr_noise_cb(evutil_socket_t, short, void *);

static void
mtr_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct mtr	*m = arg;
	struct mtr_req	*r;

	(void)fd;
	(void)ev;
	if (!m->inflight || (r = TAILQ_FIRST(&m->queue)) == NULL)
		return;
	log_debug("SREQ %s 0x%02x: no answer", mt_subsys_name(r->f.subsys),
	    r->f.cmd);
	m->st.timeouts++;
	m->inflight = 0;
	TAILQ_REMOVE(&m->queue, r, entry);
	m->nqueued--;
	if (r->cb != NULL)
		r->cb(NULL, r->arg);
	free(r);
	mtr_kick(m);
}

/* Append ", WHAT: N" to BUF when N is not zero. */
static void
mtr_noise_part(char *buf, size_t len, uint64_t n, const char *what)
{
	size_t	 used = strlen(buf);

	if (n == 0 || used >= len)
		return;
	snprintf(buf + used, len - used, "%s%s: %llu", used > 0 ? ", " : "",
	    what, (unsigned long long)n);
}

/*
 * What the decoder dropped since the last line, if anything: bytes
 * outside any frame, frames whose FCS is wrong, and SOFs followed by a
 * length no frame can have. Then quiet for a while, so that a noisy
 * serial line cannot flood the log.
 */
static void
mtr_noise_log(struct mtr *m)
{
	struct timeval	 tv = { MTR_NOISE_LOG_MS / 1000,
			    (MTR_NOISE_LOG_MS % 1000) * 1000 };
	char		 buf[160];

	buf[0] = '\0';
	mtr_noise_part(buf, sizeof(buf), m->dec.skipped - m->logged_skipped,
	    "stray bytes");
	mtr_noise_part(buf, sizeof(buf), m->dec.bad_fcs - m->logged_fcs,
	    "frames with a bad FCS");
	mtr_noise_part(buf, sizeof(buf), m->dec.bad_len - m->logged_len,
	    "headers claiming over 250 bytes");
	if (buf[0] == '\0')
		return;
	log_warnx("adapter: dropped what is not an MT frame: %s", buf);
	m->logged_skipped = m->dec.skipped;
	m->logged_fcs = m->dec.bad_fcs;
	m->logged_len = m->dec.bad_len;
	evtimer_add(m->noise_ev, &tv);
}

static void
mtr_noise_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	mtr_noise_log(arg);
}

struct mtr *
mtr_new(struct event_base *base, mtr_write_fn *write, void *write_arg)
{
	struct mtr	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	m->base = base;
	m->write = write;
	m->write_arg = write_arg;
	mt_decoder_init(&m->dec);
	TAILQ_INIT(&m->queue);
	TAILQ_INIT(&m->waiters);
	if ((m->timer = evtimer_new(base, mtr_timeout_cb, m)) == NULL ||
	    (m->noise_ev = evtimer_new(base, mtr_noise_cb, m)) == NULL) {
		if (m->timer != NULL)
			event_free(m->timer);
		free(m);
		return (NULL);
	}
	return (m);
}

void
mtr_free(struct mtr *m)
{
	struct mtr_req		*r;
	struct mtr_waiter	*w;

	if (m == NULL)
		return;
	while ((r = TAILQ_FIRST(&m->queue)) != NULL) {
		TAILQ_REMOVE(&m->queue, r, entry);
		free(r);
	}
	while ((w = TAILQ_FIRST(&m->waiters)) != NULL)
		mtr_wait_cancel(w);
	event_free(m->timer);
	event_free(m->noise_ev);
	free(m);
}

static int
mtr_write_frame(struct mtr *m, const struct mt_frame *f)
{
	uint8_t	 buf[MT_FRAME_MAX];
	size_t	 n;

	if ((n = mt_encode(f, buf, sizeof(buf))) == 0)
		return (-1);
	return (m->write(buf, n, m->write_arg));
}

/* Write the head of the queue unless a request is already out. */
static void
mtr_kick(struct mtr *m)
{
	struct mtr_req	*r;
	struct timeval	 tv;

	if (m->inflight || (r = TAILQ_FIRST(&m->queue)) == NULL)
		return;
	m->inflight = 1;
	tv.tv_sec = r->timeout_ms / 1000;
	tv.tv_usec = (r->timeout_ms % 1000) * 1000;
	if (mtr_write_frame(m, &r->f) == -1) {
		/* Fail it from the loop, not from inside the caller. */
		event_active(m->timer, EV_TIMEOUT, 0);
		return;
	}
	m->st.sreqs++;
	evtimer_add(m->timer, &tv);
}

int
mtr_sreq(struct mtr *m, uint8_t subsys, uint8_t cmd, const void *data,
    size_t len, int timeout_ms, mtr_srsp_cb *cb, void *arg)
{
	struct mtr_req	*r;

	if (m->nqueued >= MTR_MAX_QUEUE || (r = calloc(1, sizeof(*r))) ==
	    NULL)
		return (-1);
	if (mt_frame_set(&r->f, MT_TYPE_SREQ, subsys, cmd, data, len) == -1) {
		free(r);
		return (-1);
	}
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : MTR_DEFAULT_TIMEOUT_MS;
	r->cb = cb;
	r->arg = arg;
	TAILQ_INSERT_TAIL(&m->queue, r, entry);
	m->nqueued++;
	mtr_kick(m);
	return (0);
}

int
mtr_areq(struct mtr *m, uint8_t subsys, uint8_t cmd, const void *data,
    size_t len)
{
	struct mt_frame	 f;

	if (mt_frame_set(&f, MT_TYPE_AREQ, subsys, cmd, data, len) == -1)
		return (-1);
	return (mtr_write_frame(m, &f));
}

int
mtr_raw(struct mtr *m, const void *data, size_t len)
{
	return (m->write(data, len, m->write_arg));
}

/* Whether F answers the request R: its SRSP, or an RPC error naming it. */
static int
mtr_answers(const struct mt_frame *f, const struct mtr_req *r)
{
	if (f->subsys == MT_SUBSYS_RPC_ERROR && f->cmd == 0 && f->len >= 3)
		return (f->data[1] == mt_cmd0(MT_TYPE_SREQ, r->f.subsys) &&
		    f->data[2] == r->f.cmd);
	return (f->subsys == r->f.subsys && f->cmd == r->f.cmd);
}

static void
mtr_srsp(struct mtr *m, const struct mt_frame *f)
{
	struct mtr_req	*r = TAILQ_FIRST(&m->queue);

	if (!m->inflight || r == NULL || !mtr_answers(f, r)) {
		log_debug("SRSP %s 0x%02x nobody waits for",
		    mt_subsys_name(f->subsys), f->cmd);
		m->st.unmatched++;
		return;
	}
	evtimer_del(m->timer);
	m->inflight = 0;
	TAILQ_REMOVE(&m->queue, r, entry);
	m->nqueued--;
	if (r->cb != NULL)
		r->cb(f, r->arg);
	free(r);
	mtr_kick(m);
}

/* The oldest waiter older than GEN that wants F, or NULL. */
static struct mtr_waiter *
mtr_find_waiter(struct mtr *m, const struct mt_frame *f, uint64_t gen)
{
	struct mtr_waiter	*w;

	TAILQ_FOREACH(w, &m->waiters, entry)
		if (w->seq < gen && w->subsys == f->subsys &&
		    w->cmd == f->cmd &&
		    (w->match == NULL || w->match(f, w->match_arg)))
			return (w);
	return (NULL);
}

static void
mtr_fire(struct mtr_waiter *w, const struct mt_frame *f)
{
	struct mtr	*m = w->m;

	TAILQ_REMOVE(&m->waiters, w, entry);
	event_free(w->timer);
	w->cb(f, w->arg);
	free(w);
}

static void
mtr_areq_in(struct mtr *m, const struct mt_frame *f)
{
	struct mtr_waiter	*w;
	uint64_t		 gen = m->next_seq;
	size_t			 i, n;
	int			 handled = 0;

	m->st.areqs++;
	/* Callbacks may add or cancel waiters: search afresh each time. */
	while ((w = mtr_find_waiter(m, f, gen)) != NULL) {
		mtr_fire(w, f);
		handled = 1;
	}
	n = m->nsubs;
	for (i = 0; i < n; i++)
		if (m->subs[i].subsys == f->subsys &&
		    m->subs[i].cmd == f->cmd) {
			m->subs[i].cb(f, m->subs[i].arg);
			handled = 1;
		}
	if (!handled)
		log_debug("AREQ %s 0x%02x from the adapter: nothing handles "
		    "it", mt_subsys_name(f->subsys), f->cmd);
}

static void
mtr_frame_cb(const struct mt_frame *f, void *arg)
{
	struct mtr	*m = arg;

	if (f->type == MT_TYPE_SRSP)
		mtr_srsp(m, f);
	else if (f->type == MT_TYPE_AREQ)
		mtr_areq_in(m, f);
	else
		log_debug("ignoring a %s frame from the adapter",
		    mt_type_name(f->type));
}

void
mtr_feed(struct mtr *m, const uint8_t *buf, size_t len)
{
	mt_decoder_feed(&m->dec, buf, len, mtr_frame_cb, m);
	if (!evtimer_pending(m->noise_ev, NULL))
		mtr_noise_log(m);
}

void
mtr_reset(struct mtr *m)
{
	struct mtr_req		*r;
	struct mtr_waiter	*w;

	mt_decoder_reset(&m->dec);
	evtimer_del(m->timer);
	m->inflight = 0;
	while ((r = TAILQ_FIRST(&m->queue)) != NULL) {
		TAILQ_REMOVE(&m->queue, r, entry);
		m->nqueued--;
		if (r->cb != NULL)
			r->cb(NULL, r->arg);
		free(r);
	}
	while ((w = TAILQ_FIRST(&m->waiters)) != NULL)
		mtr_fire(w, NULL);
}

static void
mtr_waiter_timeout_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	mtr_fire(arg, NULL);
}

struct mtr_waiter *
mtr_wait(struct mtr *m, uint8_t subsys, uint8_t cmd, mtr_match_fn *match,
    const void *match_arg, int timeout_ms, mtr_areq_cb *cb, void *arg)
{
	struct mtr_waiter	*w;
	struct timeval		 tv;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	if ((w->timer = evtimer_new(m->base, mtr_waiter_timeout_cb, w)) ==
	    NULL) {
		free(w);
		return (NULL);
	}
	w->m = m;
	w->seq = m->next_seq++;
	w->subsys = subsys;
	w->cmd = cmd;
	w->match = match;
	w->match_arg = match_arg;
	w->cb = cb;
	w->arg = arg;
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(w->timer, &tv);
	TAILQ_INSERT_TAIL(&m->waiters, w, entry);
	return (w);
}

void
mtr_wait_cancel(struct mtr_waiter *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&w->m->waiters, w, entry);
	event_free(w->timer);
	free(w);
}

int
mtr_subscribe(struct mtr *m, uint8_t subsys, uint8_t cmd, mtr_areq_cb *cb,
    void *arg)
{
	if (m->nsubs >= MTR_MAX_SUBS)
		return (-1);
	m->subs[m->nsubs].subsys = subsys;
	m->subs[m->nsubs].cmd = cmd;
	m->subs[m->nsubs].cb = cb;
	m->subs[m->nsubs].arg = arg;
	m->nsubs++;
	return (0);
}

void
mtr_get_stats(const struct mtr *m, struct mtr_stats *st)
{
	*st = m->st;
}

int
mtr_busy(const struct mtr *m)
{
	return (m->inflight);
}
