/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

/* The codec lives with zotad-radio, whose library the test links. */
#include "mt.h"

#define TEST_MAX_FRAMES	16

struct test_sink {
	struct mt_frame	 frames[TEST_MAX_FRAMES];
	size_t		 n;
};

static void
test_collect(const struct mt_frame *f, void *arg)
{
	struct test_sink	*s = arg;

	assert_true(s->n < TEST_MAX_FRAMES);
	s->frames[s->n++] = *f;
}

/* Reference frames: the worked examples of the protocol notes. */
static const uint8_t ping_req[] = { 0xFE, 0x00, 0x21, 0x01, 0x20 };
static const uint8_t ping_rsp[] = { 0xFE, 0x02, 0x61, 0x01, 0x59, 0x06, 0x3D };
static const uint8_t reset_req[] = { 0xFE, 0x01, 0x41, 0x00, 0x01, 0x41 };
static const uint8_t reset_ind[] = {
	0xFE, 0x06, 0x41, 0x80, 0x00, 0x02, 0x01, 0x02, 0x07, 0x01, 0xC0
};
static const uint8_t version_req[] = { 0xFE, 0x00, 0x21, 0x02, 0x23 };
static const uint8_t devinfo_req[] = { 0xFE, 0x00, 0x27, 0x00, 0x27 };
static const uint8_t nvlen_req[] = { 0xFE, 0x02, 0x21, 0x13, 0x60, 0x00, 0x50 };
static const uint8_t rpc_err[] = {
	0xFE, 0x03, 0x60, 0x00, 0x02, 0x21, 0x99, 0xD9
};

static void
test_expect_encoding(uint8_t type, uint8_t subsys, uint8_t cmd,
    const uint8_t *payload, size_t plen, const uint8_t *wire, size_t wlen)
{
	struct mt_frame	 f;
	uint8_t		 out[MT_FRAME_MAX];

	assert_int_equal(mt_frame_set(&f, type, subsys, cmd, payload, plen), 0);
	assert_int_equal(mt_encode(&f, out, sizeof(out)), wlen);
	assert_memory_equal(out, wire, wlen);
}

static void
test_encode_vectors(void **state)
{
	static const uint8_t caps[] = { 0x59, 0x06 };
	static const uint8_t soft[] = { 0x01 };
	static const uint8_t ind[] = { 0x00, 0x02, 0x01, 0x02, 0x07, 0x01 };
	static const uint8_t nvid[] = { 0x60, 0x00 };

	(void)state;
	test_expect_encoding(MT_TYPE_SREQ, MT_SUBSYS_SYS, 0x01, NULL, 0,
	    ping_req, sizeof(ping_req));
	test_expect_encoding(MT_TYPE_SRSP, MT_SUBSYS_SYS, 0x01, caps,
	    sizeof(caps), ping_rsp, sizeof(ping_rsp));
	test_expect_encoding(MT_TYPE_AREQ, MT_SUBSYS_SYS, 0x00, soft,
	    sizeof(soft), reset_req, sizeof(reset_req));
	test_expect_encoding(MT_TYPE_AREQ, MT_SUBSYS_SYS, 0x80, ind,
	    sizeof(ind), reset_ind, sizeof(reset_ind));
	test_expect_encoding(MT_TYPE_SREQ, MT_SUBSYS_SYS, 0x02, NULL, 0,
	    version_req, sizeof(version_req));
	test_expect_encoding(MT_TYPE_SREQ, MT_SUBSYS_UTIL, 0x00, NULL, 0,
	    devinfo_req, sizeof(devinfo_req));
	test_expect_encoding(MT_TYPE_SREQ, MT_SUBSYS_SYS, 0x13, nvid,
	    sizeof(nvid), nvlen_req, sizeof(nvlen_req));
}

static void
test_rpc_error_vector(void **state)
{
	struct mt_frame	 req, rsp;
	uint8_t		 out[MT_FRAME_MAX];

	(void)state;
	assert_int_equal(mt_frame_set(&req, MT_TYPE_SREQ, MT_SUBSYS_SYS, 0x99,
	    NULL, 0), 0);
	mt_rpc_error(&rsp, MT_RPC_ERR_CMD, &req);
	assert_int_equal(mt_encode(&rsp, out, sizeof(out)), sizeof(rpc_err));
	assert_memory_equal(out, rpc_err, sizeof(rpc_err));
}

static void
test_cmd0_helpers(void **state)
{
	(void)state;
	assert_int_equal(mt_cmd0(MT_TYPE_SRSP, MT_SUBSYS_APP_CNF), 0x6F);
	assert_int_equal(mt_cmd0_type(0x45), MT_TYPE_AREQ);
	assert_int_equal(mt_cmd0_subsys(0x45), MT_SUBSYS_ZDO);
	assert_int_equal(mt_cmd0_subsys(0x35), MT_SUBSYS_GP);
	assert_string_equal(mt_type_name(MT_TYPE_SREQ), "SREQ");
	assert_string_equal(mt_subsys_name(MT_SUBSYS_APP_CNF), "APP_CNF");
	assert_string_equal(mt_subsys_name(0x1F), "?");
	assert_string_equal(mt_type_name(7), "?");
}

static void
test_encode_limits(void **state)
{
	struct mt_frame	 f;
	uint8_t		 big[MT_MAX_PAYLOAD + 1], out[MT_FRAME_MAX];

	(void)state;
	memset(big, 0xAB, sizeof(big));
	assert_int_equal(mt_frame_set(&f, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81,
	    big, sizeof(big)), -1);
	assert_int_equal(mt_frame_set(&f, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81,
	    big, MT_MAX_PAYLOAD), 0);
	assert_int_equal(mt_encode(&f, out, sizeof(out)), MT_FRAME_MAX);
	assert_int_equal(mt_encode(&f, out, sizeof(out) - 1), 0);
	assert_int_equal(out[1], MT_MAX_PAYLOAD);
}

static void
test_decode_vectors(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };

	(void)state;
	mt_decoder_init(&d);
	mt_decoder_feed(&d, ping_rsp, sizeof(ping_rsp), test_collect, &s);
	mt_decoder_feed(&d, reset_ind, sizeof(reset_ind), test_collect, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.frames[0].type, MT_TYPE_SRSP);
	assert_int_equal(s.frames[0].subsys, MT_SUBSYS_SYS);
	assert_int_equal(s.frames[0].cmd, 0x01);
	assert_int_equal(s.frames[0].len, 2);
	assert_int_equal(s.frames[0].data[0] | s.frames[0].data[1] << 8,
	    0x0659);
	assert_int_equal(s.frames[1].type, MT_TYPE_AREQ);
	assert_int_equal(s.frames[1].cmd, 0x80);
	assert_int_equal(s.frames[1].len, 6);
	assert_int_equal(s.frames[1].data[4], 0x07);
	assert_int_equal(d.frames, 2);
	assert_int_equal(d.skipped, 0);
}

static void
test_resync_single_ef(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	const uint8_t		 ef = 0xEF;

	(void)state;
	mt_decoder_init(&d);
	mt_decoder_feed(&d, &ef, 1, test_collect, &s);
	mt_decoder_feed(&d, ping_req, sizeof(ping_req), test_collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.frames[0].subsys, MT_SUBSYS_SYS);
	assert_int_equal(s.frames[0].cmd, 0x01);
	assert_int_equal(d.skipped, 1);
}

static void
test_resync_256_ef(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	uint8_t			 buf[256 + sizeof(version_req)];

	(void)state;
	memset(buf, 0xEF, 256);
	memcpy(buf + 256, version_req, sizeof(version_req));
	mt_decoder_init(&d);
	mt_decoder_feed(&d, buf, sizeof(buf), test_collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.frames[0].cmd, 0x02);
	assert_int_equal(d.skipped, 256);
	assert_int_equal(d.bad_fcs, 0);
}

static void
test_bad_fcs_skipped(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	uint8_t			 bad[sizeof(nvlen_req)];

	(void)state;
	memcpy(bad, nvlen_req, sizeof(bad));
	bad[sizeof(bad) - 1] ^= 0x01;
	mt_decoder_init(&d);
	mt_decoder_feed(&d, bad, sizeof(bad), test_collect, &s);
	mt_decoder_feed(&d, devinfo_req, sizeof(devinfo_req), test_collect,
	    &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.frames[0].subsys, MT_SUBSYS_UTIL);
	assert_int_equal(d.bad_fcs, 1);
}

/* A frame hidden inside a corrupted one must still be found. */
static void
test_frame_inside_bad_frame(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	uint8_t			 buf[3 + sizeof(ping_req)];

	(void)state;
	/* A SOF claiming 3 payload bytes, then a real frame inside it. */
	buf[0] = MT_SOF;
	buf[1] = 0x03;
	buf[2] = 0x00;
	memcpy(buf + 3, ping_req, sizeof(ping_req));
	mt_decoder_init(&d);
	mt_decoder_feed(&d, buf, sizeof(buf), test_collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.frames[0].cmd, 0x01);
	assert_int_equal(d.bad_fcs, 1);
}

static void
test_impossible_length(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	const uint8_t		 junk[] = { MT_SOF, 0xFB, MT_SOF, 0xFF };

	(void)state;
	mt_decoder_init(&d);
	mt_decoder_feed(&d, junk, sizeof(junk), test_collect, &s);
	mt_decoder_feed(&d, ping_req, sizeof(ping_req), test_collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(d.bad_len, 2);
}

static void
test_split_input(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	uint8_t			 stream[sizeof(reset_ind) + sizeof(ping_rsp)];
	size_t			 i;

	(void)state;
	memcpy(stream, reset_ind, sizeof(reset_ind));
	memcpy(stream + sizeof(reset_ind), ping_rsp, sizeof(ping_rsp));
	mt_decoder_init(&d);
	for (i = 0; i < sizeof(stream); i++) {
		mt_decoder_feed(&d, stream + i, 1, test_collect, &s);
		/* Nothing is delivered before the last byte of a frame. */
		if (i + 1 < sizeof(reset_ind))
			assert_int_equal(s.n, 0);
	}
	assert_int_equal(s.n, 2);
	assert_int_equal(s.frames[0].cmd, 0x80);
	assert_int_equal(s.frames[1].cmd, 0x01);
}

/* A SOF byte inside a payload is data, not a new frame. */
static void
test_sof_in_payload(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	struct mt_frame		 f;
	uint8_t			 payload[] = { 0xFE, 0xFE, 0x01, 0xFE };
	uint8_t			 out[MT_FRAME_MAX];
	size_t			 n;

	(void)state;
	assert_int_equal(mt_frame_set(&f, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81,
	    payload, sizeof(payload)), 0);
	n = mt_encode(&f, out, sizeof(out));
	assert_int_not_equal(n, 0);
	mt_decoder_init(&d);
	mt_decoder_feed(&d, out, n, test_collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.frames[0].len, sizeof(payload));
	assert_memory_equal(s.frames[0].data, payload, sizeof(payload));
}

static void
test_max_payload_roundtrip(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };
	struct mt_frame		 f;
	uint8_t			 payload[MT_MAX_PAYLOAD], out[MT_FRAME_MAX];
	size_t			 i, n;

	(void)state;
	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7);
	assert_int_equal(mt_frame_set(&f, MT_TYPE_SRSP, MT_SUBSYS_SYS, 0x1C,
	    payload, sizeof(payload)), 0);
	n = mt_encode(&f, out, sizeof(out));
	assert_int_equal(n, MT_FRAME_MAX);
	mt_decoder_init(&d);
	mt_decoder_feed(&d, out, 100, test_collect, &s);
	assert_int_equal(s.n, 0);
	mt_decoder_feed(&d, out + 100, n - 100, test_collect, &s);
	assert_int_equal(s.n, 1);
	assert_memory_equal(s.frames[0].data, payload, sizeof(payload));
}

static void
test_reset_drops_partial(void **state)
{
	struct mt_decoder	 d;
	struct test_sink	 s = { .n = 0 };

	(void)state;
	mt_decoder_init(&d);
	mt_decoder_feed(&d, reset_ind, 4, test_collect, &s);
	mt_decoder_reset(&d);
	mt_decoder_feed(&d, ping_req, sizeof(ping_req), test_collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.frames[0].cmd, 0x01);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_vectors),
		cmocka_unit_test(test_rpc_error_vector),
		cmocka_unit_test(test_cmd0_helpers),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_decode_vectors),
		cmocka_unit_test(test_resync_single_ef),
		cmocka_unit_test(test_resync_256_ef),
		cmocka_unit_test(test_bad_fcs_skipped),
		cmocka_unit_test(test_frame_inside_bad_frame),
		cmocka_unit_test(test_impossible_length),
		cmocka_unit_test(test_split_input),
		cmocka_unit_test(test_sof_in_payload),
		cmocka_unit_test(test_max_payload_roundtrip),
		cmocka_unit_test(test_reset_drops_partial),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
