/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/* The ZCL codec: OTA commands both ways, attributes, hostile frames. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otasrv.h"
#include "zcl.h"

static void
test_header(void **state)
{
	static const uint8_t plain[] = { 0x01, 0x22, 0x03 };
	static const uint8_t manuf[] = { 0x05, 0x7C, 0x11, 0x22, 0x03 };
	static const uint8_t reserved[] = { 0x02, 0x22, 0x03 };
	struct zcl_hdr	 h;
	size_t		 hl;

	(void)state;
	assert_int_equal(zcl_hdr_parse(plain, sizeof(plain), &h, &hl), 0);
	assert_int_equal(hl, 3);
	assert_int_equal(h.tsn, 0x22);
	assert_int_equal(h.cmd, 0x03);
	assert_int_equal(zcl_hdr_parse(manuf, sizeof(manuf), &h, &hl), 0);
	assert_int_equal(hl, 5);
	assert_int_equal(h.manuf, 0x117C);
	/* Cut short, or a reserved frame type. */
	assert_int_equal(zcl_hdr_parse(manuf, 4, &h, &hl), -1);
	assert_int_equal(zcl_hdr_parse(plain, 0, &h, &hl), -1);
	assert_int_equal(zcl_hdr_parse(reserved, 3, &h, &hl), -1);
}

static void
test_query(void **state)
{
	static const uint8_t q[] = { 0x01, 0x0B, 0x10, 0x00, 0x01,
	    0x64, 0x00, 0x00, 0x00, 0x02, 0x01 };
	struct ota_query_req	 r;
	size_t			 i;

	(void)state;
	assert_int_equal(zcl_ota_parse_query(q, sizeof(q), &r), 0);
	assert_int_equal(r.manuf, 0x100B);
	assert_int_equal(r.image_type, 0x0100);
	assert_int_equal(r.file_version, 100);
	assert_true(r.has_hw);
	assert_int_equal(r.hw_version, 0x0102);
	/* Every shorter prefix is refused, never read past. */
	for (i = 0; i < sizeof(q); i++)
		assert_int_equal(zcl_ota_parse_query(q, i, &r), -1);
}

static void
test_block_request(void **state)
{
	uint8_t			 b[32] = { 0x02, 0x0B, 0x10, 0x00, 0x01,
				    0xC8, 0, 0, 0, 0x10, 0x27, 0, 0, 48,
				    0xF4, 0x01 };
	struct ota_block_req	 r;

	(void)state;
	assert_int_equal(zcl_ota_parse_block(b, 16, &r), 0);
	assert_int_equal(r.offset, 10000);
	assert_int_equal(r.max_size, 48);
	assert_true(r.has_period);
	assert_int_equal(r.min_period, 500);
	/* The period flag without the field, as some devices send it. */
	assert_int_equal(zcl_ota_parse_block(b, 14, &r), 0);
	assert_false(r.has_period);
	assert_int_equal(zcl_ota_parse_block(b, 13, &r), -1);
	/* The node address announced but missing. */
	b[0] = 0x01;
	assert_int_equal(zcl_ota_parse_block(b, 14, &r), -1);
}

static void
test_page_and_end(void **state)
{
	static const uint8_t p[] = { 0x00, 0x0B, 0x10, 0x00, 0x01, 0xC8, 0,
	    0, 0, 0, 0, 0, 0, 64, 0x00, 0x04, 0x32, 0x00 };
	static const uint8_t abort_only[] = { 0x95 };
	static const uint8_t end[] = { 0x00, 0x0B, 0x10, 0x00, 0x01, 0xC8,
	    0, 0, 0 };
	struct ota_block_req	 r;
	struct ota_end_req	 e;

	(void)state;
	assert_int_equal(zcl_ota_parse_page(p, sizeof(p), &r), 0);
	assert_true(r.page);
	assert_int_equal(r.page_size, 1024);
	assert_int_equal(r.spacing, 50);
	assert_int_equal(zcl_ota_parse_page(p, sizeof(p) - 1, &r), -1);
	assert_int_equal(zcl_ota_parse_end(abort_only, 1, &e), 0);
	assert_int_equal(e.status, ZCL_ABORT);
	assert_int_equal(zcl_ota_parse_end(end, sizeof(end), &e), 0);
	assert_int_equal(e.file_version, 200);
	/* A success must name the image. */
	assert_int_equal(zcl_ota_parse_end(end, 5, &e), -1);
	assert_int_equal(zcl_ota_parse_end(end, 0, &e), -1);
	assert_string_equal(zcl_status_name(ZCL_ABORT), "aborted by device");
}

static void
test_builders(void **state)
{
	uint8_t	 f[128], data[50];
	size_t	 n;

	(void)state;
	memset(data, 0xAB, sizeof(data));
	n = zcl_ota_block_rsp(f, sizeof(f), 7, 0x100B, 0x0100, 200, 1000,
	    data, 50);
	assert_int_equal(n, 3 + OTA_BLOCK_RSP_FIXED + 50);
	/* Server to client, cluster-specific, no default response. */
	assert_int_equal(f[0], 0x19);
	assert_int_equal(f[1], 7);
	assert_int_equal(f[2], OTA_BLOCK_RSP);
	assert_int_equal(f[3], ZCL_SUCCESS);
	assert_int_equal(f[12] | f[13] << 8, 1000);
	assert_int_equal(f[16], 50);
	assert_memory_equal(f + 17, data, 50);
	/* Too little room: nothing written. */
	assert_int_equal(zcl_ota_block_rsp(f, 60, 7, 0, 0, 0, 0, data, 50),
	    0);
	n = zcl_ota_block_wait(f, sizeof(f), 9, 2, 300);
	assert_int_equal(n, 3 + 11);
	assert_int_equal(f[3], ZCL_WAIT_FOR_DATA);
	assert_int_equal(f[4] | f[5] | f[6] | f[7], 0);
	assert_int_equal(f[8], 2);
	assert_int_equal(f[12] | f[13] << 8, 300);
	assert_int_equal(zcl_ota_block_abort(f, sizeof(f), 1), 4);
	assert_int_equal(f[3], ZCL_ABORT);
	n = zcl_ota_query_rsp(f, sizeof(f), 3, ZCL_NO_IMAGE, 1, 2, 3, 4);
	assert_int_equal(n, 4);
	n = zcl_ota_query_rsp(f, sizeof(f), 3, ZCL_SUCCESS, 1, 2, 3, 4);
	assert_int_equal(n, 4 + 12);
	n = zcl_ota_end_rsp(f, sizeof(f), 3, 1, 2, 3, 1);
	assert_int_equal(n, 3 + 16);
	assert_int_equal(f[11] | f[12] | f[13] | f[14], 0);
	assert_int_equal(f[15], 1);
}

static void
test_read_attrs(void **state)
{
	static const uint8_t rsp[] = {
	    0x04, 0x00, 0x00, 0x42, 0x07, 'S', 'i', 'g', 'n', 'i', 0x01, 'y',
	    0x07, 0x00, 0x00, 0x30, 0x03,
	    0x00, 0x40, 0x86,
	    0x21, 0x00, 0x00, 0x20, 0xAF,
	    0x05, 0x00, 0x00, 0x42, 0xFF };
	static const uint8_t cut[] = { 0x04, 0x00, 0x00, 0x42, 0x09, 'a' };
	static const uint8_t odd[] = { 0x04, 0x00, 0x00, 0x20, 0x01,
	    0x10, 0x00, 0x00, 0x48, 0x00 };
	struct zcl_attr	 a[8];
	size_t		 n;

	(void)state;
	assert_int_equal(zcl_parse_read_rsp(rsp, sizeof(rsp), a, 8, &n), 0);
	assert_int_equal(n, 5);
	/* Control characters are dropped from strings. */
	assert_string_equal(a[0].str, "Signiy");
	assert_int_equal(a[1].num, 3);
	assert_int_equal(a[2].status, ZCL_UNSUPPORTED_ATTR);
	assert_int_equal(a[3].num, 0xAF);
	assert_true(a[4].is_str);
	assert_string_equal(a[4].str, "");
	/* A string longer than the frame. */
	assert_int_equal(zcl_parse_read_rsp(cut, sizeof(cut), a, 8, &n), -1);
	/* A type we do not decode ends the parse, keeping what came. */
	assert_int_equal(zcl_parse_read_rsp(odd, sizeof(odd), a, 8, &n), 0);
	assert_int_equal(n, 1);
	/* No more records than room. */
	assert_int_equal(zcl_parse_read_rsp(rsp, sizeof(rsp), a, 2, &n), 0);
	assert_int_equal(n, 2);
}

/* Block sizes: configuration, device, frame room, quirks, the end. */
static void
test_block_size(void **state)
{
	(void)state;
	assert_int_equal(otas_block_size(50, 0x100B, 64, 65, 0, 0, 10000), 50);
	assert_int_equal(otas_block_size(100, 0x100B, 64, 65, 0, 0, 10000),
	    64);
	assert_int_equal(otas_block_size(100, 0x100B, 255, 65, 0, 0, 10000),
	    65);
	assert_int_equal(otas_block_size(50, 0x100B, 64, 65, 37, 0, 10000),
	    37);
	/* Insta and Dresden Elektronik: 40; Legrand: what it asks. */
	assert_int_equal(otas_block_size(50, 0x117A, 64, 65, 0, 0, 10000),
	    40);
	assert_int_equal(otas_block_size(50, 0x1135, 64, 65, 0, 0, 10000),
	    40);
	assert_int_equal(otas_block_size(50, 0x1021, 64, 65, 0, 0, 10000),
	    64);
	/* Clipped at the end of the image, nothing past it. */
	assert_int_equal(otas_block_size(50, 0x100B, 64, 65, 0, 9990, 10000),
	    10);
	assert_int_equal(otas_block_size(50, 0x100B, 64, 65, 0, 10000, 10000),
	    0);
	assert_int_equal(otas_quirk_timeout(0x1209, 1, 150000), 3600000);
	assert_int_equal(otas_quirk_timeout(0x1021, 1, 150000), 1800000);
	assert_int_equal(otas_quirk_timeout(0x1286, 8199, 150000), 3600000);
	assert_int_equal(otas_quirk_timeout(0x100B, 1, 150000), 150000);
	/* A longer configured timeout is never shortened. */
	assert_int_equal(otas_quirk_timeout(0x1021, 1, 7200000), 7200000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header),
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_block_request),
		cmocka_unit_test(test_page_and_end),
		cmocka_unit_test(test_builders),
		cmocka_unit_test(test_read_attrs),
		cmocka_unit_test(test_block_size),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
