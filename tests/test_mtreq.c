/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/* The MT request engine: ordering, routing, waiters, timeouts, resync. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <event2/event.h>

#include "mt.h"
#include "mtreq.h"

struct fx {
	struct event_base	*base;
	struct mtr		*m;
	struct mt_frame		 written[16];
	int			 nwritten;
	int			 link_down;
	/* Fed back to the engine from inside the write, as a fast adapter. */
	uint8_t			 echo[64];
	size_t			 echolen;
	const struct mt_frame	*last_rsp;
	int			 nrsp;
	int			 nnull;
	uint8_t			 rsp_cmd[8];
	int			 nareq;
	int			 nwaited;
	int			 order[8];
	int			 norder;
};

static void
fx_decode_cb(const struct mt_frame *f, void *arg)
{
	struct fx	*fx = arg;

	if (fx->nwritten < 16)
		fx->written[fx->nwritten++] = *f;
}

static int
fx_write(const uint8_t *buf, size_t len, void *arg)
{
	struct fx		*fx = arg;
	struct mt_decoder	 d;
	uint8_t			 echo[64];
	size_t			 n;

	if (fx->link_down)
		return (-1);
	mt_decoder_init(&d);
	mt_decoder_feed(&d, buf, len, fx_decode_cb, fx);
	if (fx->echolen > 0) {
		n = fx->echolen;
		memcpy(echo, fx->echo, n);
		fx->echolen = 0;
		mtr_feed(fx->m, echo, n);
	}
	return (0);
}

static int
setup(void **state)
{
	static struct fx	 fx;

	memset(&fx, 0, sizeof(fx));
	fx.base = event_base_new();
	fx.m = mtr_new(fx.base, fx_write, &fx);
	*state = &fx;
	return (fx.base == NULL || fx.m == NULL);
}

static int
teardown(void **state)
{
	struct fx	*fx = *state;

	mtr_free(fx->m);
	event_base_free(fx->base);
	return (0);
}

static size_t
enc(uint8_t *out, uint8_t type, uint8_t subsys, uint8_t cmd, const void *d,
    size_t len)
{
	struct mt_frame	 f;

	assert_int_equal(mt_frame_set(&f, type, subsys, cmd, d, len), 0);
	return (mt_encode(&f, out, MT_FRAME_MAX));
}

static void
feed(struct fx *fx, uint8_t type, uint8_t subsys, uint8_t cmd, const void *d,
    size_t len)
{
	uint8_t	 buf[MT_FRAME_MAX];

	mtr_feed(fx->m, buf, enc(buf, type, subsys, cmd, d, len));
}

static void
srsp_cb(const struct mt_frame *f, void *arg)
{
	struct fx	*fx = arg;

	if (f == NULL) {
		fx->nnull++;
		fx->order[fx->norder++] = -1;
		return;
	}
	fx->rsp_cmd[fx->nrsp++] = f->cmd;
	fx->order[fx->norder++] = f->subsys == MT_SUBSYS_RPC_ERROR ? 100 :
	    f->cmd;
}

static void
areq_cb(const struct mt_frame *f, void *arg)
{
	struct fx	*fx = arg;

	(void)f;
	fx->nareq++;
	fx->order[fx->norder++] = 200;
}

static void
wait_cb(const struct mt_frame *f, void *arg)
{
	struct fx	*fx = arg;

	fx->nwaited += f != NULL ? 1 : 100;
}

static int
match_byte(const struct mt_frame *f, const void *arg)
{
	return (f->len > 0 && f->data[0] == *(const uint8_t *)arg);
}

/* A second request waits until the first is answered. */
static void
test_one_outstanding(void **state)
{
	struct fx	*fx = *state;

	assert_int_equal(mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x01, NULL, 0, 1000,
	    srsp_cb, fx), 0);
	assert_int_equal(mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x02, NULL, 0, 1000,
	    srsp_cb, fx), 0);
	assert_int_equal(fx->nwritten, 1);
	assert_int_equal(fx->written[0].cmd, 0x01);
	assert_true(mtr_busy(fx->m));

	/* An SRSP for a command nobody asked for changes nothing. */
	feed(fx, MT_TYPE_SRSP, MT_SUBSYS_SYS, 0x02, "\x00", 1);
	assert_int_equal(fx->nrsp, 0);
	assert_int_equal(fx->nwritten, 1);

	feed(fx, MT_TYPE_SRSP, MT_SUBSYS_SYS, 0x01, "\x59\x06", 2);
	assert_int_equal(fx->nrsp, 1);
	assert_int_equal(fx->nwritten, 2);
	assert_int_equal(fx->written[1].cmd, 0x02);
	feed(fx, MT_TYPE_SRSP, MT_SUBSYS_SYS, 0x02, "\x02\x01", 2);
	assert_int_equal(fx->nrsp, 2);
	assert_false(mtr_busy(fx->m));
}

/* Callbacks arrive while a request waits and are routed by type. */
static void
test_areq_while_waiting(void **state)
{
	struct fx	*fx = *state;

	assert_int_equal(mtr_subscribe(fx->m, MT_SUBSYS_ZDO, 0xC1, areq_cb,
	    fx), 0);
	mtr_sreq(fx->m, MT_SUBSYS_AF, 0x01, "x", 1, 1000, srsp_cb, fx);
	feed(fx, MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC1, "abc", 3);
	feed(fx, MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC0, "\x09", 1);
	assert_int_equal(fx->nareq, 1);
	assert_int_equal(fx->nrsp, 0);
	feed(fx, MT_TYPE_SRSP, MT_SUBSYS_AF, 0x01, "\x00", 1);
	assert_int_equal(fx->norder, 2);
	assert_int_equal(fx->order[0], 200);
	assert_int_equal(fx->order[1], 0x01);
}

/* A waiter armed before the request sees an answer written at once. */
static void
test_waiter_armed_first(void **state)
{
	struct fx	*fx = *state;
	uint8_t		 want = 7, other = 8;

	assert_non_null(mtr_wait(fx->m, MT_SUBSYS_AF, 0x80, match_byte,
	    &want, 1000, wait_cb, fx));
	/* The confirm comes back inside the very write of the request. */
	fx->echolen = enc(fx->echo, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x80,
	    &other, 1);
	fx->echolen += enc(fx->echo + fx->echolen, MT_TYPE_AREQ,
	    MT_SUBSYS_AF, 0x80, &want, 1);
	fx->echolen += enc(fx->echo + fx->echolen, MT_TYPE_SRSP,
	    MT_SUBSYS_AF, 0x01, "\x00", 1);
	mtr_sreq(fx->m, MT_SUBSYS_AF, 0x01, "x", 1, 1000, srsp_cb, fx);
	assert_int_equal(fx->nwaited, 1);
	assert_int_equal(fx->nrsp, 1);
}

static void
test_timeout(void **state)
{
	struct fx	*fx = *state;

	mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x01, NULL, 0, 30, srsp_cb, fx);
	mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x02, NULL, 0, 30, srsp_cb, fx);
	assert_non_null(mtr_wait(fx->m, MT_SUBSYS_ZDO, 0xC0, NULL, NULL, 20,
	    wait_cb, fx));
	event_base_dispatch(fx->base);
	assert_int_equal(fx->nnull, 2);
	assert_int_equal(fx->nwritten, 2);
	assert_int_equal(fx->nwaited, 100);
}

/* A request the link cannot take fails without hanging the queue. */
static void
test_link_down(void **state)
{
	struct fx	*fx = *state;

	fx->link_down = 1;
	mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x01, NULL, 0, 60000, srsp_cb, fx);
	event_base_loop(fx->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	assert_int_equal(fx->nnull, 1);
	assert_false(mtr_busy(fx->m));
}

static void
test_rpc_error(void **state)
{
	struct fx	*fx = *state;
	uint8_t		 err[3] = { MT_RPC_ERR_CMD, 0x21, 0x99 };
	uint8_t		 other[3] = { MT_RPC_ERR_CMD, 0x21, 0x98 };

	mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x99, NULL, 0, 1000, srsp_cb, fx);
	feed(fx, MT_TYPE_SRSP, MT_SUBSYS_RPC_ERROR, 0, other, 3);
	assert_int_equal(fx->nrsp, 0);
	feed(fx, MT_TYPE_SRSP, MT_SUBSYS_RPC_ERROR, 0, err, 3);
	assert_int_equal(fx->nrsp, 1);
	assert_int_equal(fx->order[0], 100);
}

/* Garbage, a bad checksum and split writes cost no good frame. */
static void
test_resync(void **state)
{
	struct fx	*fx = *state;
	uint8_t		 buf[256];
	size_t		 n = 0, i;
	struct mtr_stats st;

	mtr_subscribe(fx->m, MT_SUBSYS_ZDO, 0xC1, areq_cb, fx);
	memcpy(buf, "\x00\xEF\xEF\xFE\x03", 5);
	n = 5;
	n += enc(buf + n, MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC1, "abc", 3);
	buf[n - 1] ^= 0xFF;		/* bad FCS */
	n += enc(buf + n, MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC1, "\xFE\xFE", 2);
	for (i = 0; i < n; i++)
		mtr_feed(fx->m, buf + i, 1);
	assert_int_equal(fx->nareq, 1);
	mtr_get_stats(fx->m, &st);
	assert_int_equal(st.areqs, 1);
}

static void
test_reset(void **state)
{
	struct fx	*fx = *state;

	mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x01, NULL, 0, 1000, srsp_cb, fx);
	mtr_sreq(fx->m, MT_SUBSYS_SYS, 0x02, NULL, 0, 1000, srsp_cb, fx);
	mtr_wait(fx->m, MT_SUBSYS_ZDO, 0xC0, NULL, NULL, 1000, wait_cb, fx);
	mtr_reset(fx->m);
	assert_int_equal(fx->nnull, 2);
	assert_int_equal(fx->nwaited, 100);
	assert_false(mtr_busy(fx->m));
	/* Only the first was ever written. */
	assert_int_equal(fx->nwritten, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_outstanding, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_areq_while_waiting, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiter_armed_first, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_down, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rpc_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_resync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
