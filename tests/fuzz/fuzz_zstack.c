/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-radio's Z-Stack adapter (zstack.c) against a hostile adapter,
 * through its own link layer. The serial link is replaced by the stubs
 * below (the real serial.c is then never linked): the input becomes
 * the adapter's bytes, and what zstack.c writes is decoded and either
 * answered by a well-behaved adapter or dropped. An input is a list of
 * operations, each a byte (taken modulo 10) and its arguments:
 *
 *	0-3	an MT frame: CMD0, CMD1, LEN, then LEN bytes (fewer when
 *		the input ends), written with a good FCS
 *	4	N, then N % 64 raw bytes
 *	5	N: a good adapter answers the next N requests (0: up to 64)
 *	6	time passes until the next timer fires
 *	7	NWK, LEN: the daemon sends a ZCL frame of LEN bytes
 *	8	WHAT, NWK: the daemon asks a device a ZDO question
 *	9	WHAT: permit joining, the link goes down or comes back,
 *		the good adapter's answers change, or the daemon stops
 *		(see fz_misc)
 *
 * So a seed that lets the good adapter answer everything reaches the
 * running network, and one that stops it part way leaves zstack.c in
 * that start-up step, before the hostile frames come.
 *
 * What must hold: no memory error or leak; every callback carries the
 * values of the frame that caused it and only bytes from inside it;
 * every send and ZDO question gets exactly one answer, or none when the
 * daemon stops first, which frees all it held for them; and once the
 * link is down the adapter goes quiet instead of talking to nobody.
 */

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "adapter.h"
#include "config.h"
#include "log.h"
#include "mt.h"
#include "serial.h"
#include "zstack.h"

#define FZ_AUTO_MAX	64	/* requests one operation answers */
#define FZ_DRAIN_MAX	16	/* timers after link loss, besides one
				   per answer still owed */
#define FZ_RETRIEVED	0x5A	/* the bytes a stored message holds */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The serial link as zstack.c sees it. */
struct serial {
	struct serial_cbs	 cbs;
	void			*arg;
	int			 up;
};

/* How the good adapter answers; the 9 operation changes it. */
struct fz_adapter {
	int		 blank;		/* no network in NV */
	int		 holding;	/* device state not yet coordinator */
	int		 eps_present;	/* our endpoints survived a reset */
	uint8_t		 confirm;	/* AF_DATA_CONFIRM status */
	uint8_t		 zdo_status;
};

/* What a send or ZDO question lent its callback. */
struct fz_lent {
	TAILQ_ENTRY(fz_lent)	 entry;
	int			 done;
};

struct fz {
	struct event_base	*base;
	struct adapter		*ad;
	struct serial		*ser;
	struct mt_decoder	 out;		/* what zstack.c wrote */
	struct mt_frame		 req;		/* its last SREQ */
	int			 req_open;	/* not answered yet */
	const struct mt_frame	*cur;		/* the frame being fed */
	int			 raw;		/* bytes, not one frame */
	int			 partial;	/* raw bytes may be buffered */
	struct fz_adapter	 good;
	int			 sends;		/* answers still owed */
	int			 zdos;
	TAILQ_HEAD(, fz_lent)	 lent;		/* of both, unanswered */
	int			 stopping;	/* no callback may come */
	int			 up;		/* as the state callback says */
};

static struct fz	 fz;
static struct config	*fz_conf;

/*
 * The serial stubs.
 */

static void
fz_out_frame(const struct mt_frame *f, void *arg)
{
	(void)arg;
	if (f->type != MT_TYPE_SREQ)
		return;
	fz.req = *f;
	fz.req_open = 1;
}

struct serial *
serial_new(struct event_base *base, const char *path, int baud, int rtscts,
    const struct serial_cbs *cbs, void *arg)
{
	struct serial	*s;

	(void)base;
	(void)path;
	(void)baud;
	(void)rtscts;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	s->cbs = *cbs;
	s->arg = arg;
	fz.ser = s;
	return (s);
}

int
serial_start(struct serial *s)
{
	if (!s->up) {
		s->up = 1;
		fz.partial = 0;		/* the decoder starts afresh */
		s->cbs.up(s->arg);
	}
	return (0);
}

int
serial_write(struct serial *s, const void *buf, size_t len)
{
	if (!s->up)
		return (-1);
	mt_decoder_feed(&fz.out, buf, len, fz_out_frame, NULL);
	return (0);
}

int
serial_is_up(const struct serial *s)
{
	return (s->up);
}

const char *
serial_path(const struct serial *s)
{
	(void)s;
	return ("fuzz");
}

int
serial_is_pty(const struct serial *s)
{
	(void)s;
	return (1);
}

int
serial_reset_lines(struct serial *s)
{
	(void)s;
	return (0);
}

void
serial_drop(struct serial *s, const char *why)
{
	(void)why;
	if (!s->up)
		return;
	s->up = 0;
	s->cbs.down(s->arg);
}

void
serial_free(struct serial *s)
{
	if (s == fz.ser)
		fz.ser = NULL;
	free(s);
}

char *
serial_find_adapter(void)
{
	return (NULL);
}

/*
 * Feeding the adapter's bytes.
 */

/*
 * Bytes that end whatever raw bytes left in the decoder: the longest
 * frame they can have begun, then nothing that starts another.
 */
static void
fz_flush(void)
{
	static const uint8_t zeros[MT_FRAME_MAX + 1];

	fz.raw = 1;
	fz.ser->cbs.data(zeros, sizeof(zeros), fz.ser->arg);
	fz.raw = 0;
	fz.partial = 0;
}

static void
fz_feed_frame(const struct mt_frame *f)
{
	uint8_t	 buf[MT_FRAME_MAX];
	size_t	 n;

	if (!fz.ser->up || (n = mt_encode(f, buf, sizeof(buf))) == 0)
		return;
	/* So that the callbacks see this frame, not one raw bytes began. */
	if (fz.partial)
		fz_flush();
	if (!fz.ser->up)
		return;
	fz.cur = f;
	fz.ser->cbs.data(buf, n, fz.ser->arg);
	fz.cur = NULL;
}

static void
fz_feed(uint8_t type, uint8_t subsys, uint8_t cmd, const void *data,
    size_t len)
{
	struct mt_frame	 f;

	if (mt_frame_set(&f, type, subsys, cmd, data, len) == 0)
		fz_feed_frame(&f);
}

/*
 * The good adapter: the answers a Z-Stack 3.x coordinator gives.
 */

static uint8_t	 fz_nib[110];

static void
fz_answer_sys(const struct mt_frame *q)
{
	static const uint8_t version[] = { 2, 1, 2, 7, 1, 0x8e, 0x5a, 0x34,
	    0x01 };
	static const uint8_t ieee[] = { 1, 0, 0xfe, 0xca, 0, 0x4b, 0x12, 0 };
	uint8_t		 b[2 + sizeof(fz_nib)];

	switch (q->cmd) {
	case 0x01:		/* ping */
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, "\x59\x06", 2);
		break;
	case 0x02:
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, version,
		    sizeof(version));
		break;
	case 0x04:
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, ieee, sizeof(ieee));
		break;
	case 0x07:		/* NV item init: created */
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, "\x09", 1);
		break;
	case 0x1C:		/* NV read: the NIB */
		if (fz.good.blank) {
			fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, "\x02\x00", 2);
			break;
		}
		fz_nib[22] = 11;
		fz_nib[33] = 0x62;
		fz_nib[34] = 0x1a;
		b[0] = 0;
		b[1] = sizeof(fz_nib);
		memcpy(b + 2, fz_nib, sizeof(fz_nib));
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, b, sizeof(b));
		break;
	default:		/* NV write and the rest: success */
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, "\x00", 1);
		break;
	}
}

/* A ZDO answer: the SRSP, then the device's (or our own) response. */
static void
fz_answer_zdo(const struct mt_frame *q)
{
	uint8_t	 b[32];
	size_t	 n = 5;

	fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, "\x00", 1);
	if (q->cmd == 0x40) {		/* startup from app */
		fz_feed(MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC0, "\x09", 1);
		return;
	}
	if (q->cmd != 0x02 && q->cmd != 0x04 && q->cmd != 0x05)
		return;
	memset(b, 0, sizeof(b));
	b[0] = q->len > 0 ? q->data[0] : 0;	/* srcAddr, status, nwk */
	b[1] = q->len > 1 ? q->data[1] : 0;
	b[2] = fz.good.zdo_status;
	b[3] = b[0];
	b[4] = b[1];
	if (q->cmd == 0x05) {
		if (fz.good.eps_present) {
			memcpy(b + 5, "\x03\x01\x0d\x2f", 4);
			n += 4;
		} else
			b[n++] = 0;
	} else if (q->cmd == 0x04) {
		memcpy(b + 5, "\x0a\x0b\x04\x01\x00\x01\x00\x01\x00\x00\x01"
		    "\x19\x00", 13);
		n += 13;
	} else
		n += 13;		/* a node descriptor of zeros */
	fz_feed(MT_TYPE_AREQ, MT_SUBSYS_ZDO, (uint8_t)(q->cmd | 0x80), b, n);
}

static void
fz_answer_af(const struct mt_frame *q)
{
	uint8_t	 b[2 + 240];
	size_t	 n;

	if (q->cmd == 0x12 && q->len >= 7) {	/* data retrieve */
		n = q->data[6] < 240 ? q->data[6] : 240;
		b[0] = 0;
		b[1] = (uint8_t)n;
		memset(b + 2, FZ_RETRIEVED, n);
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, b, n + 2);
		return;
	}
	fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, "\x00", 1);
	if (q->cmd == 0x01 && q->len >= 7) {	/* data request */
		b[0] = fz.good.confirm;
		b[1] = q->data[3];
		b[2] = q->data[6];
		fz_feed(MT_TYPE_AREQ, MT_SUBSYS_AF, 0x80, b, 3);
	}
}

static void
fz_answer(const struct mt_frame *q)
{
	struct mt_frame	 rpc;

	switch (q->subsys) {
	case MT_SUBSYS_SYS:
		fz_answer_sys(q);
		break;
	case MT_SUBSYS_UTIL:		/* device info */
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, fz.good.holding ?
		    "\0\1\0\xfe\xca\0\x4b\x12\0\0\0\7\0\0" :
		    "\0\1\0\xfe\xca\0\x4b\x12\0\0\0\7\x09\0", 14);
		break;
	case MT_SUBSYS_ZDO:
		fz_answer_zdo(q);
		break;
	case MT_SUBSYS_AF:
		fz_answer_af(q);
		break;
	case MT_SUBSYS_APP_CNF:
		fz_feed(MT_TYPE_SRSP, q->subsys, q->cmd, "\x00", 1);
		if (q->cmd == 0x05)	/* commissioning: the network is up */
			fz_feed(MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC0, "\x09", 1);
		break;
	default:
		mt_rpc_error(&rpc, MT_RPC_ERR_SUBSYS, q);
		fz_feed_frame(&rpc);
		break;
	}
}

/* Answer up to N requests, each as soon as it is written. */
static void
fz_auto(unsigned int n)
{
	struct mt_frame	 q;

	if (n == 0)
		n = FZ_AUTO_MAX;
	while (n-- > 0 && fz.req_open && fz.ser->up) {
		fz.req_open = 0;
		q = fz.req;
		fz_answer(&q);
	}
}

/*
 * Time: libevent cannot be told that time passed, so the timer due
 * first is made to fire now.
 */

struct fz_due {
	struct event	*ev;
	struct timeval	 tv;
};

static int
fz_due_cb(const struct event_base *base, const struct event *ev, void *arg)
{
	struct fz_due	*d = arg;
	struct timeval	 tv;

	(void)base;
	if (!event_pending(ev, EV_TIMEOUT, &tv))
		return (0);
	if (d->ev == NULL || evutil_timercmp(&tv, &d->tv, <)) {
		d->ev = (struct event *)(uintptr_t)ev;
		d->tv = tv;
	}
	return (0);
}

/* Fire the next timer; 0 when none is pending. */
static int
fz_tick(void)
{
	struct fz_due	 d;

	event_base_loop(fz.base, EVLOOP_NONBLOCK);
	memset(&d, 0, sizeof(d));
	event_base_foreach_event(fz.base, fz_due_cb, &d);
	if (d.ev == NULL)
		return (0);
	event_active(d.ev, EV_TIMEOUT, 1);
	event_base_loop(fz.base, EVLOOP_NONBLOCK);
	return (1);
}

/*
 * The owner's callbacks, checked against the frame that caused them.
 */

static uint16_t
fz_u16(const uint8_t *p)
{
	return ((uint16_t)(p[0] | p[1] << 8));
}

static uint64_t
fz_u64(const uint8_t *p)
{
	uint64_t	 v = 0;
	int		 i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return (v);
}

static int
fz_cur_is(uint8_t type, uint8_t subsys, uint8_t cmd, size_t min)
{
	return (fz.cur != NULL && fz.cur->type == type &&
	    fz.cur->subsys == subsys && fz.cur->cmd == cmd &&
	    fz.cur->len >= min);
}

static void
fz_state_cb(enum adapter_state st, void *arg)
{
	(void)arg;
	if ((st == ADAPTER_UP) == fz.up)
		abort();
	fz.up = st == ADAPTER_UP;
}

static struct fz_lent *
fz_lend(void)
{
	struct fz_lent	*l;

	if ((l = calloc(1, sizeof(*l))) != NULL)
		TAILQ_INSERT_TAIL(&fz.lent, l, entry);
	return (l);
}

static void
fz_give_back(struct fz_lent *l)
{
	TAILQ_REMOVE(&fz.lent, l, entry);
	free(l);
}

static void
fz_sent_cb(int status, void *arg)
{
	struct fz_lent	*l = arg;

	if (l->done || fz.stopping || status < ADAPTER_NO_ANSWER ||
	    status > 0xFF)
		abort();
	l->done = 1;
	fz_give_back(l);
	fz.sends--;
}

static void
fz_reply(const struct adapter_msg *m)
{
	struct fz_lent	*l;

	if ((l = fz_lend()) == NULL)
		return;
	/* As the OTA server does: answer from inside the callback. */
	if (adapter_send(fz.ad, m->nwk, m->src_ep, m->dst_ep, m->cluster,
	    m->data, m->len < 40 ? m->len : 40, fz_sent_cb, l) == 0)
		fz.sends++;
	else
		fz_give_back(l);
}

/* The ZCL bytes of AF_INCOMING_MSG (17) or its _EXT form (27). */
static void
fz_check_inline(const struct adapter_msg *m, size_t hdr, size_t lenoff,
    size_t addroff)
{
	const uint8_t	*d = fz.cur->data;
	size_t		 n;

	if (fz.cur->len < hdr)
		abort();
	n = hdr == 17 ? d[lenoff] : fz_u16(d + lenoff);
	if (n > fz.cur->len - hdr || m->len != n ||
	    memcmp(m->data, d + hdr, n) != 0 ||
	    m->nwk != fz_u16(d + addroff) || m->cluster != fz_u16(d + 2))
		abort();
}

/* A ZCL frame: from the AREQ being fed, or a stored one just fetched. */
static void
fz_check_zcl(const struct adapter_msg *m)
{
	size_t	 n;

	if (fz_cur_is(MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81, 0))
		fz_check_inline(m, 17, 16, 4);
	else if (fz_cur_is(MT_TYPE_AREQ, MT_SUBSYS_AF, 0x82, 0))
		fz_check_inline(m, 27, 25, 5);
	else if (fz_cur_is(MT_TYPE_SRSP, MT_SUBSYS_AF, 0x12, 2)) {
		/* A stored message ends with the chunk just fetched. */
		n = fz.cur->data[1];
		if (n == 0 || n > fz.cur->len - 2u || m->len < n ||
		    memcmp(m->data + m->len - n, fz.cur->data + 2, n) != 0)
			abort();
	} else
		abort();
}

static void
fz_zcl_cb(const struct adapter_msg *m, void *arg)
{
	(void)arg;
	if (!fz.raw)
		fz_check_zcl(m);
	fz_reply(m);
}

static void
fz_joined_cb(uint16_t nwk, uint64_t ieee, void *arg)
{
	(void)arg;
	if (!fz.raw && (!fz_cur_is(MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xCA, 10) ||
	    nwk != fz_u16(fz.cur->data) || ieee != fz_u64(fz.cur->data + 2)))
		abort();
}

static void
fz_announce_cb(uint16_t nwk, uint64_t ieee, uint8_t caps, void *arg)
{
	(void)arg;
	if (!fz.raw && (!fz_cur_is(MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC1, 13) ||
	    nwk != fz_u16(fz.cur->data + 2) ||
	    ieee != fz_u64(fz.cur->data + 4) || caps != fz.cur->data[12]))
		abort();
}

static void
fz_left_cb(uint16_t nwk, uint64_t ieee, void *arg)
{
	(void)arg;
	if (!fz.raw && (!fz_cur_is(MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC9, 13) ||
	    nwk != fz_u16(fz.cur->data) || ieee != fz_u64(fz.cur->data + 2) ||
	    fz.cur->data[12] != 0))
		abort();
}

static void
fz_zdo_cb(const uint8_t *rsp, size_t len, void *arg)
{
	struct fz_lent	*l = arg;

	if (l->done || fz.stopping)
		abort();
	/* The body after the source address, from the device's answer. */
	if (rsp != NULL && !fz.raw && (fz.cur == NULL ||
	    fz.cur->type != MT_TYPE_AREQ ||
	    fz.cur->subsys != MT_SUBSYS_ZDO || fz.cur->len < 2 ||
	    len != fz.cur->len - 2u || memcmp(rsp, fz.cur->data + 2, len) != 0))
		abort();
	l->done = 1;
	fz_give_back(l);
	fz.zdos--;
}

/*
 * The operations.
 */

struct fz_in {
	const uint8_t	*p;
	size_t		 left;
};

static uint8_t
fz_byte(struct fz_in *in)
{
	if (in->left == 0)
		return (0);
	in->left--;
	return (*in->p++);
}

static void
fz_op_frame(struct fz_in *in)
{
	struct mt_frame	 f;
	uint8_t		 cmd0 = fz_byte(in);
	size_t		 n;

	f.type = mt_cmd0_type(cmd0);
	f.subsys = mt_cmd0_subsys(cmd0);
	f.cmd = fz_byte(in);
	n = fz_byte(in);
	if (n > MT_MAX_PAYLOAD)
		n = MT_MAX_PAYLOAD;
	if (n > in->left)
		n = in->left;
	f.len = (uint8_t)n;
	memcpy(f.data, in->p, n);
	in->p += n;
	in->left -= n;
	fz_feed_frame(&f);
}

static void
fz_op_raw(struct fz_in *in)
{
	size_t	 n = fz_byte(in) % 64;

	if (n > in->left)
		n = in->left;
	/* Frames made of these bytes are not checked against the input. */
	fz.raw = 1;
	if (fz.ser->up) {
		fz.ser->cbs.data(in->p, n, fz.ser->arg);
		fz.partial = 1;
	}
	fz.raw = 0;
	in->p += n;
	in->left -= n;
}

static void
fz_op_send(struct fz_in *in)
{
	static const uint8_t zcl[256];
	uint16_t	 nwk = (uint16_t)(0x1000 + fz_byte(in));
	size_t		 len = fz_byte(in);
	struct fz_lent	*l;

	if ((l = fz_lend()) == NULL)
		return;
	if (adapter_send(fz.ad, nwk, 11, ADAPTER_OTA_EP, 0x0019, zcl, len,
	    fz_sent_cb, l) == 0)
		fz.sends++;
	else
		fz_give_back(l);
}

static void
fz_op_zdo(struct fz_in *in)
{
	static const uint8_t cmds[] = { 0x02, 0x04, 0x05 };
	uint8_t		 cmd = cmds[fz_byte(in) % 3], body[3];
	uint16_t	 nwk = (uint16_t)(0x1000 + fz_byte(in));
	struct fz_lent	*l;

	if ((l = fz_lend()) == NULL)
		return;
	body[0] = (uint8_t)nwk;
	body[1] = (uint8_t)(nwk >> 8);
	body[2] = 11;
	if (adapter_zdo(fz.ad, nwk, cmd, body, cmd == 0x04 ? 3 : 2,
	    fz_zdo_cb, l) == 0)
		fz.zdos++;
	else
		fz_give_back(l);
}

/*
 * The daemon stops: the adapter is freed with what is still out, and
 * must call nobody back, while the owners free what they lent.
 */
static void
fz_stop(void)
{
	fz.stopping = 1;
	adapter_free(fz.ad);
	fz.ad = NULL;
	while (!TAILQ_EMPTY(&fz.lent))
		fz_give_back(TAILQ_FIRST(&fz.lent));
}

/*
 * WHAT % 4: 0 permit joining (WHAT 252: the daemon stops instead, and
 * the input ends there), 1 the link goes down, 2 it comes back, 3 the
 * good adapter answers differently from now on (bits of WHAT >> 2:
 * blank, holding, endpoints present, failed confirms and ZDO).
 */
static void
fz_misc(struct fz_in *in)
{
	uint8_t	 what = fz_byte(in);

	switch (what % 4) {
	case 0:
		if (what == 252)
			fz_stop();
		else
			adapter_permit_join(fz.ad, what);
		break;
	case 1:
		serial_drop(fz.ser, "fuzz");
		break;
	case 2:
		serial_start(fz.ser);
		break;
	default:
		what >>= 2;
		fz.good.blank = what & 1;
		fz.good.holding = (what & 2) != 0;
		fz.good.eps_present = (what & 4) != 0;
		fz.good.confirm = (what & 8) ? 0x11 : (what & 16) ? 0xE9 : 0;
		fz.good.zdo_status = (what & 32) ? 0x80 : 0;
		break;
	}
}

static void
fz_op(struct fz_in *in)
{
	uint8_t	 op = fz_byte(in) % 10;

	switch (op) {
	case 4:
		fz_op_raw(in);
		break;
	case 5:
		fz_auto(fz_byte(in));
		break;
	case 6:
		fz_tick();
		break;
	case 7:
		fz_op_send(in);
		break;
	case 8:
		fz_op_zdo(in);
		break;
	case 9:
		fz_misc(in);
		break;
	default:
		fz_op_frame(in);
		break;
	}
	event_base_loop(fz.base, EVLOOP_NONBLOCK);
}

static void
fz_init_once(void)
{
	char	 err[256];

	if (fz_conf != NULL)
		return;
	log_init("fuzz_zstack", 1, 0);
	log_setlevel(LOG_LEVEL_ERROR);
	if ((fz_conf = config_load_buffer("", 0, "fuzz", "/", err,
	    sizeof(err))) == NULL)
		abort();
}

/* Link down, then every timer left: all answers given, then quiet. */
static void
fz_finish(void)
{
	int	 i, limit;

	serial_drop(fz.ser, "end of input");
	limit = FZ_DRAIN_MAX + fz.sends + fz.zdos;
	for (i = 0; i < limit && fz_tick(); i++)
		;
	if (i == limit || fz.sends != 0 || fz.zdos != 0 || fz.up)
		abort();
	adapter_free(fz.ad);
	event_base_free(fz.base);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct adapter_cbs	 cbs = { fz_state_cb, fz_zcl_cb, fz_joined_cb,
				    fz_announce_cb, fz_left_cb };
	struct fz_in		 in = { data, size };

	fz_init_once();
	memset(&fz, 0, sizeof(fz));
	TAILQ_INIT(&fz.lent);
	mt_decoder_init(&fz.out);
	if ((fz.base = event_base_new()) == NULL ||
	    (fz.ad = zstack_new(fz.base, fz_conf, &cbs, NULL)) == NULL)
		abort();
	adapter_start(fz.ad);
	while (in.left > 0 && fz.ad != NULL)
		fz_op(&in);
	if (fz.ad != NULL)
		fz_finish();
	else
		event_base_free(fz.base);
	return (0);
}
