/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-sim as an adapter: a scripted host runs the start-up sequences
 * of zigbee-herdsman (formed network over TCP and over the pty, blank
 * adapter it commissions) and of zigpy-znp against the real binary,
 * then the device-side ZDO, joins, leaves, resets and unplugging.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "mt.h"
#include "sim/host/simhost.c"

#define SYS	MT_SUBSYS_SYS
#define AF	MT_SUBSYS_AF
#define ZDO	MT_SUBSYS_ZDO
#define UTIL	MT_SUBSYS_UTIL
#define APPCNF	MT_SUBSYS_APP_CNF

static const uint8_t adapter_ieee[8] = {
	0x01, 0x00, 0xfe, 0xca, 0x00, 0x4b, 0x12, 0x00
};
static const uint8_t net_key[16] = {
	1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13
};
/* The extended PAN id 21:32:...:98 as NV and the NIB hold it. */
static const uint8_t epid_le[8] = {
	0x98, 0x87, 0x76, 0x65, 0x54, 0x43, 0x32, 0x21
};

static const char scenario_formed[] =
"{ \"adapter\": { \"ieee\": \"0x00124b00cafe0001\", \"pan_id\": 6754,\n"
"    \"ext_pan_id\": [33, 50, 67, 84, 101, 118, 135, 152],\n"
"    \"channel\": 11, \"formed\": true,\n"
"    \"network_key\": [1,3,5,7,9,11,13,15,0,2,4,6,8,10,12,13] },\n"
"  \"devices\": [\n"
"    { \"name\": \"bulb\", \"ieee\": \"0x00124b00beef0001\", \"nwk\": 4097,\n"
"      \"type\": \"router\", \"manufacturer_code\": 4660,\n"
"      \"basic\": { \"manufacturer_name\": \"SimLight\",\n"
"                 \"model_id\": \"SimBulb\", \"sw_build_id\": \"1.0.0\" },\n"
"      \"endpoints\": [ { \"id\": 1, \"in\": [0, 3, 6], \"out\": [25] } ],\n"
"      \"ota\": { \"image_type\": 257, \"file_version\": 16777216 } },\n"
"    { \"name\": \"spare\", \"ieee\": \"0x00124b00beef0009\", \"nwk\": 4105,\n"
"      \"type\": \"end_device\", \"joined\": false,\n"
"      \"endpoints\": [ { \"id\": 2, \"in\": [0], \"out\": [] } ] }\n"
"  ] }\n";

static const char scenario_blank[] =
"{ \"adapter\": { \"ieee\": \"0x00124b00cafe0001\", \"formed\": false } }\n";

/* ---- small host-side helpers ---- */

static uint16_t
le16(const uint8_t *p)
{
	return ((uint16_t)(p[0] | p[1] << 8));
}

static uint8_t
sreq_status(struct simhost *h, uint8_t subsys, uint8_t cmd, const void *data,
    size_t len)
{
	struct mt_frame	 rsp;

	simhost_sreq(h, subsys, cmd, data, len, &rsp);
	assert_true(rsp.len >= 1);
	return (rsp.data[0]);
}

/* Read an OSAL item the way both hosts do; returns its length. */
static size_t
nv_read(struct simhost *h, uint16_t id, uint8_t *out, size_t max)
{
	struct mt_frame	 rsp;
	uint8_t		 req[4] = { (uint8_t)id, (uint8_t)(id >> 8), 0, 0 };
	size_t		 len, off = 0;

	simhost_sreq(h, SYS, 0x13, req, 2, &rsp);
	assert_int_equal(rsp.len, 2);
	len = le16(rsp.data);
	assert_true(len <= max);
	while (off < len) {
		req[2] = (uint8_t)off;
		req[3] = (uint8_t)(off >> 8);
		simhost_sreq(h, SYS, 0x1C, req, 4, &rsp);
		assert_int_equal(rsp.data[0], 0);
		assert_true(rsp.data[1] > 0 && off + rsp.data[1] <= len);
		memcpy(out + off, rsp.data + 2, rsp.data[1]);
		off += rsp.data[1];
	}
	return (len);
}

/* Create (ItemInit must say "created") or overwrite an OSAL item. */
static void
nv_write(struct simhost *h, uint16_t id, const void *data, uint8_t len)
{
	uint8_t	 req[64];
	uint8_t	 cur[256];

	if (nv_read(h, id, cur, sizeof(cur)) == 0) {
		req[0] = (uint8_t)id;
		req[1] = (uint8_t)(id >> 8);
		req[2] = len;
		req[3] = 0;
		req[4] = 0;
		assert_int_equal(sreq_status(h, SYS, 0x07, req, 5), 0x09);
	}
	req[0] = (uint8_t)id;
	req[1] = (uint8_t)(id >> 8);
	req[2] = req[3] = 0;
	req[4] = len;
	req[5] = 0;
	memcpy(req + 6, data, len);
	assert_int_equal(sreq_status(h, SYS, 0x1D, req, 6 + (size_t)len), 0);
}

static void
expect_ping_version(struct simhost *h)
{
	struct mt_frame	 rsp;

	simhost_sreq(h, SYS, 0x01, NULL, 0, &rsp);
	assert_int_equal(rsp.len, 2);
	assert_int_equal(le16(rsp.data), 0x0659);
	simhost_sreq(h, SYS, 0x02, NULL, 0, &rsp);
	assert_true(rsp.len >= 9);
	assert_int_equal(rsp.data[1], 1);	/* product: Z-Stack 3.x.0 */
	assert_true((rsp.data[5] | rsp.data[6] << 8 | rsp.data[7] << 16 |
	    (uint32_t)rsp.data[8] << 24) >= 20211029);
}

/* The endpoints zigbee-herdsman registers, OTA server on 13. */
static void
register_herdsman_endpoints(struct simhost *h)
{
	static const uint8_t eps[] = {
		1, 2, 3, 4, 5, 6, 8, 10, 11, 110, 12, 13, 47, 239, 242
	};
	uint8_t		 req[16];
	size_t		 i, n;

	for (i = 0; i < sizeof(eps); i++) {
		n = 0;
		req[n++] = eps[i];
		req[n++] = eps[i] == 242 ? 0xE0 : 0x04;
		req[n++] = eps[i] == 242 ? 0xA1 : 0x01;
		req[n++] = 0x05;
		req[n++] = 0x00;
		req[n++] = 0;
		req[n++] = 0;
		if (eps[i] == 13) {
			req[n++] = 1;
			req[n++] = 0x19;
			req[n++] = 0x00;
		} else
			req[n++] = 0;
		req[n++] = 0;
		assert_int_equal(sreq_status(h, AF, 0x00, req, n), 0);
	}
	/* A second registration of the same endpoint is refused. */
	req[0] = 13;
	assert_int_not_equal(sreq_status(h, AF, 0x00, req, 9), 0);
}

static int
active_eps(struct simhost *h, uint16_t nwk, uint8_t *out)
{
	struct mt_frame	 f;
	uint8_t		 req[4] = { (uint8_t)nwk, (uint8_t)(nwk >> 8),
			    (uint8_t)nwk, (uint8_t)(nwk >> 8) };

	assert_int_equal(sreq_status(h, ZDO, 0x05, req, 4), 0);
	assert_int_equal(simhost_wait(h, MT_TYPE_AREQ, ZDO, 0x85, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), nwk);
	assert_int_equal(f.data[2], 0);
	assert_int_equal(le16(f.data + 3), nwk);
	memcpy(out, f.data + 6, f.data[5]);
	return (f.data[5]);
}

/* Steps 15 onwards of a formed start: the network must be ours. */
static void
expect_running_network(struct simhost *h)
{
	struct mt_frame	 rsp;
	uint8_t		 req[4], eps[32];

	simhost_sreq(h, UTIL, 0x00, NULL, 0, &rsp);
	assert_int_equal(rsp.data[0], 0);
	assert_memory_equal(rsp.data + 1, adapter_ieee, 8);
	assert_int_equal(rsp.data[11], 0x07);
	assert_int_equal(rsp.data[12], 9);	/* coordinator started */
	assert_int_equal(active_eps(h, 0, eps), 0);
	register_herdsman_endpoints(h);
	req[0] = 242;
	req[1] = 0x84;
	req[2] = 0x0B;
	req[3] = 0;
	assert_int_equal(sreq_status(h, ZDO, 0x4A, req, 3), 1);
	assert_int_equal(sreq_status(h, ZDO, 0x4B, req, 4), 0);
	assert_int_equal(sreq_status(h, ZDO, 0x4A, req, 3), 0);
	simhost_sreq(h, ZDO, 0x50, NULL, 0, &rsp);
	assert_int_equal(rsp.len, 24);
	assert_int_equal(rsp.data[2], 9);
	assert_int_equal(le16(rsp.data + 3), 0x1A62);
	assert_memory_equal(rsp.data + 7, epid_le, 8);
	assert_int_equal(rsp.data[23], 11);
	assert_int_equal(active_eps(h, 0, eps), 15);
}

/* zigbee-herdsman's checks before it decides to resume the network. */
static void
expect_formed_nv(struct simhost *h)
{
	uint8_t	 buf[256];

	assert_int_equal(nv_read(h, 0x0082, buf, sizeof(buf)), 21);
	assert_int_equal(nv_read(h, 0x0060, buf, sizeof(buf)), 1);
	assert_int_equal(buf[0], 0x55);
	assert_int_equal(nv_read(h, 0x0021, buf, sizeof(buf)), 110);
	assert_int_equal(buf[22], 11);				/* channel */
	assert_int_equal(le16(buf + 33), 0x1A62);		/* PAN */
	assert_memory_equal(buf + 53, epid_le, 8);
	assert_int_equal(buf[61], 1);				/* key loaded */
	assert_int_equal(nv_read(h, 0x0062, buf, sizeof(buf)), 16);
	assert_memory_equal(buf, net_key, 16);
	assert_int_equal(nv_read(h, 0x003A, buf, sizeof(buf)), 17);
	assert_memory_equal(buf + 1, net_key, 16);
	assert_int_equal(nv_read(h, 0x003B, buf, sizeof(buf)), 17);
	assert_memory_equal(buf + 1, net_key, 16);
}

/* The backup reads: extended tables are empty, length 0 as a u32. */
static void
expect_backup_reads(struct simhost *h)
{
	static const uint8_t items[] = { 1, 6, 4, 7 };
	struct mt_frame	 rsp;
	uint8_t		 req[5] = { 1, 0, 0, 0, 0 }, buf[64];
	size_t		 i;

	for (i = 0; i < sizeof(items); i++) {
		req[1] = items[i];
		simhost_sreq(h, SYS, 0x32, req, 5, &rsp);
		assert_int_equal(rsp.len, 4);
		assert_int_equal(rsp.data[0] | rsp.data[1] | rsp.data[2] |
		    rsp.data[3], 0);
	}
	assert_int_equal(nv_read(h, 0x0101, buf, sizeof(buf)), 16);
	assert_int_equal(nv_read(h, 0x004C, buf, sizeof(buf)), 0);
	simhost_sreq(h, SYS, 0x04, NULL, 0, &rsp);
	assert_memory_equal(rsp.data, adapter_ieee, 8);
}

static void
herdsman_formed_start(struct simhost *h)
{
	expect_ping_version(h);
	expect_formed_nv(h);
	expect_running_network(h);
	expect_backup_reads(h);
}

static void
test_startup_formed_tcp(void **state)
{
	struct simhost	 h;
	const uint8_t	 ef = 0xEF;

	(void)state;
	simhost_start(&h, scenario_formed, 0, 1);
	/* herdsman writes one raw 0xEF on TCP before its first ping. */
	simhost_raw(&h, &ef, 1);
	herdsman_formed_start(&h);
	simhost_stop(&h);
}

static void
test_startup_formed_pty(void **state)
{
	struct simhost	 h;
	uint8_t		 junk[256 + 5];

	(void)state;
	simhost_start(&h, scenario_formed, 1, 1);
	/* zigpy-znp's 256 x 0xEF, then a frame with a broken checksum. */
	memset(junk, 0xEF, 256);
	memcpy(junk + 256, "\xFE\x00\x21\x01\x21", 5);
	simhost_raw(&h, junk, sizeof(junk));
	herdsman_formed_start(&h);
	simhost_stop(&h);
}

static void
test_rpc_error_for_unknown(void **state)
{
	struct simhost	 h;
	struct mt_frame	 rsp;

	(void)state;
	simhost_start(&h, scenario_formed, 0, 1);
	simhost_send(&h, MT_TYPE_SREQ, SYS, 0x99, NULL, 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_SRSP, MT_SUBSYS_RPC_ERROR,
	    0x00, 2000, &rsp), 0);
	assert_int_equal(rsp.len, 3);
	assert_int_equal(rsp.data[0], MT_RPC_ERR_CMD);
	assert_int_equal(rsp.data[1], 0x21);
	assert_int_equal(rsp.data[2], 0x99);
	/* NV is bounded like flash: a huge item cannot be created. */
	assert_int_equal(sreq_status(&h, SYS, 0x07, "\x00\x0F\x00\xF0\x00",
	    5), 0x0A);
	/* A truncated request is refused, not read past its end. */
	simhost_send(&h, MT_TYPE_SREQ, SYS, 0x1C, "\x21", 1);
	assert_int_equal(simhost_wait(&h, MT_TYPE_SRSP, MT_SUBSYS_RPC_ERROR,
	    0x00, 2000, &rsp), 0);
	assert_int_equal(rsp.data[0], MT_RPC_ERR_PARAM);
	simhost_stop(&h);
}

static void
wait_state(struct simhost *h, uint8_t state)
{
	struct mt_frame	 f;

	for (;;) {
		assert_int_equal(simhost_wait(h, MT_TYPE_AREQ, ZDO, 0xC0, 3000,
		    &f), 0);
		if (f.data[0] == state)
			return;
	}
}

/* zigbee-herdsman commissioning a blank adapter (its "reset" path). */
static void
test_startup_blank_commissioned(void **state)
{
	static const uint8_t chan11[4] = { 0x00, 0x08, 0x00, 0x00 };
	static const uint8_t pan[2] = { 0x62, 0x1A };
	struct simhost	 h;
	struct mt_frame	 f;
	uint8_t		 buf[256], u8, mask[5];

	(void)state;
	simhost_start(&h, scenario_blank, 0, 1);
	expect_ping_version(&h);
	assert_int_equal(nv_read(&h, 0x0082, buf, sizeof(buf)), 21);
	assert_int_equal(nv_read(&h, 0x0060, buf, sizeof(buf)), 0);
	assert_int_equal(nv_read(&h, 0x0021, buf, sizeof(buf)), 0);

	u8 = 0x03;
	nv_write(&h, 0x0003, &u8, 1);
	simhost_send(&h, MT_TYPE_AREQ, SYS, 0x00, "\x01", 1);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, SYS, 0x80, 3000, &f),
	    0);
	assert_int_equal(f.len, 6);
	assert_int_equal(f.data[2], 1);
	u8 = 0x00;
	nv_write(&h, 0x0003, &u8, 1);
	nv_write(&h, 0x0087, &u8, 1);
	u8 = 0x01;
	nv_write(&h, 0x008F, &u8, 1);
	nv_write(&h, 0x0084, chan11, 4);
	nv_write(&h, 0x0083, pan, 2);
	nv_write(&h, 0x002D, epid_le, 8);
	nv_write(&h, 0x0047, epid_le, 8);
	u8 = 0x00;
	nv_write(&h, 0x0063, &u8, 1);
	nv_write(&h, 0x0062, net_key, 16);

	mask[0] = 1;
	memcpy(mask + 1, chan11, 4);
	assert_int_equal(sreq_status(&h, APPCNF, 0x08, mask, 5), 0);
	memset(mask, 0, sizeof(mask));
	assert_int_equal(sreq_status(&h, APPCNF, 0x08, mask, 5), 0);
	assert_int_equal(sreq_status(&h, APPCNF, 0x05, "\x04", 1), 0);
	wait_state(&h, 9);

	/* The NIB now holds what the host configured. */
	assert_int_equal(nv_read(&h, 0x0021, buf, sizeof(buf)), 110);
	assert_int_equal(le16(buf + 33), 0x1A62);
	assert_int_equal(buf[22], 11);
	assert_int_equal(nv_read(&h, 0x003A, buf, sizeof(buf)), 17);
	assert_memory_equal(buf + 1, net_key, 16);
	simhost_sreq(&h, ZDO, 0x50, NULL, 0, &f);
	assert_int_equal(le16(f.data + 3), 0x1A62);
	u8 = 0x55;
	nv_write(&h, 0x0060, &u8, 1);

	/* And a later start finds a formed, matching network. */
	expect_formed_nv(&h);
	expect_running_network(&h);
	simhost_stop(&h);
}

/* zigpy-znp: alignment probe, 3.30 detection, reset, BDB, ZDO over AF. */
static void
test_startup_zigpy_style(void **state)
{
	static const uint8_t reg[] = {
		1, 0x04, 0x01, 0x01, 0x04, 0, 0, 2, 0x00, 0x00, 0x19, 0x00, 0
	};
	static const uint8_t zdo_af[] = {
		2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x00, 7, 0, 0,
		3, 0, 0x2A, 0x00, 0x00
	};
	struct simhost	 h;
	struct mt_frame	 f;
	uint8_t		 nd_af[sizeof(zdo_af)];
	int		 saw_restored = 0;

	(void)state;
	simhost_start(&h, scenario_formed, 1, 1);
	simhost_sreq(&h, SYS, 0x01, NULL, 0, &f);
	simhost_sreq(&h, UTIL, 0x49, "\x00", 1, &f);
	assert_int_equal(f.len, 28);
	simhost_sreq(&h, SYS, 0x32, "\x01\x04\x00\x00\x00", 5, &f);
	assert_int_equal(f.type, MT_TYPE_SRSP);
	assert_int_equal(f.len, 4);
	simhost_send(&h, MT_TYPE_AREQ, SYS, 0x00, "\x01", 1);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, SYS, 0x80, 3000, &f),
	    0);
	assert_int_equal(sreq_status(&h, APPCNF, 0x05, "\x04", 1), 0);
	for (;;) {
		assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, APPCNF, 0x80,
		    3000, &f), 0);
		assert_int_equal(f.len, 3);
		saw_restored |= f.data[0] == 0x0D;
		if (f.data[2] == 0)
			break;
	}
	assert_true(saw_restored);
	assert_int_equal(f.data[0], 0x08);
	wait_state(&h, 9);
	assert_int_equal(sreq_status(&h, AF, 0x00, reg, sizeof(reg)), 0);
	assert_int_equal(sreq_status(&h, ZDO, 0x3E, "\xFF\xFF", 2), 0);
	/* Active_EP_req to ourselves as AF to endpoint 0, seq 0x2A. */
	assert_int_equal(sreq_status(&h, AF, 0x02, zdo_af, sizeof(zdo_af)),
	    0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xFF, 2000, &f),
	    0);
	assert_int_equal(le16(f.data + 3), 0x8005);
	assert_int_equal(f.data[6], 0x2A);
	assert_int_equal(f.data[9], 0);			/* status */
	assert_int_equal(f.data[12], 1);		/* one endpoint */
	assert_int_equal(f.data[13], 1);
	/* The same way to a device: its node descriptor, from it. */
	memcpy(nd_af, zdo_af, sizeof(zdo_af));
	nd_af[1] = 0x01;
	nd_af[2] = 0x10;
	nd_af[13] = 0x02;
	nd_af[21] = 0x01;
	nd_af[22] = 0x10;
	assert_int_equal(sreq_status(&h, AF, 0x02, nd_af, sizeof(nd_af)), 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xFF, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), 0x1001);
	assert_int_equal(le16(f.data + 3), 0x8002);
	assert_int_equal(f.data[9], 0);
	assert_int_equal(f.data[12] & 0x07, 1);		/* a router */
	simhost_stop(&h);
}

static void
test_device_zdo(void **state)
{
	struct simhost	 h;
	struct mt_frame	 f;
	uint8_t		 eps[8], req[12];
	const uint8_t	 ieee[8] = { 1, 0, 0xef, 0xbe, 0, 0x4b, 0x12, 0 };

	(void)state;
	simhost_start(&h, scenario_formed, 0, 1);
	assert_int_equal(active_eps(&h, 0x1001, eps), 1);
	assert_int_equal(eps[0], 1);
	/* Simple descriptor of the bulb: OTA as its output cluster. */
	memcpy(req, "\x01\x10\x01\x10\x01", 5);
	assert_int_equal(sreq_status(&h, ZDO, 0x04, req, 5), 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0x84, 2000, &f),
	    0);
	assert_int_equal(f.data[2], 0);
	assert_int_equal(f.data[6], 1);
	assert_int_equal(f.data[12], 3);			/* 3 in */
	assert_int_equal(f.data[19], 1);			/* 1 out */
	assert_int_equal(le16(f.data + 20), 0x0019);
	/* Node descriptor: a router with its manufacturer code. */
	assert_int_equal(sreq_status(&h, ZDO, 0x02, "\x01\x10\x01\x10", 4),
	    0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0x82, 2000, &f),
	    0);
	assert_int_equal(f.data[5] & 0x07, 1);
	assert_int_equal(le16(f.data + 8), 4660);
	/* NWK_addr_req: no source prefix, startIndex before numAssoc. */
	memcpy(req, ieee, 8);
	req[8] = 0;
	req[9] = 0;
	assert_int_equal(sreq_status(&h, ZDO, 0x00, req, 10), 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0x80, 2000, &f),
	    0);
	assert_int_equal(f.len, 13);
	assert_memory_equal(f.data + 1, ieee, 8);
	assert_int_equal(le16(f.data + 9), 0x1001);
	/* Permit join broadcast: answered by the coordinator itself. */
	assert_int_equal(sreq_status(&h, ZDO, 0x36, "\x0F\xFC\xFF\x3C\x01",
	    5), 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xB6, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), 0x0000);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xCB, 2000, &f),
	    0);
	assert_int_equal(f.data[0], 0x3C);
	/* Unknown address: nothing answers. */
	assert_int_equal(sreq_status(&h, ZDO, 0x05, "\x77\x77\x77\x77", 4),
	    0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0x85, 300, &f),
	    -1);
	simhost_stop(&h);
}

/*
 * Mgmt_Permit_Joining_req to one node: a router opens joining itself and
 * answers from its own address; the coordinator does too, and reports
 * the change; an end device has no children to admit and says so.
 */
static void
test_permit_join_unicast(void **state)
{
	struct simhost	 h;
	struct mt_frame	 f;
	char		 reply[64];

	(void)state;
	simhost_start(&h, scenario_formed, 0, 1);
	simhost_ctl(&h, "join spare", reply, sizeof(reply));
	assert_string_equal(reply, "ok");
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xC1, 2000, &f),
	    0);
	/* Address mode 2, the bulb, 60 s. */
	assert_int_equal(sreq_status(&h, ZDO, 0x36, "\x02\x01\x10\x3C\x01",
	    5), 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xB6, 2000, &f),
	    0);
	assert_int_equal(f.len, 3);
	assert_int_equal(le16(f.data), 0x1001);
	assert_int_equal(f.data[2], 0);
	/* The coordinator's own permit-join did not change. */
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xCB, 300, &f),
	    -1);
	assert_int_equal(simhost_events(&h, "\"ev\":\"permit_join\"",
	    "\"dev\":\"bulb\"", "\"via\":\"router\"", "\"duration\":60",
	    NULL), 1);
	/* The coordinator alone. */
	assert_int_equal(sreq_status(&h, ZDO, 0x36, "\x02\x00\x00\x1E\x01",
	    5), 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xB6, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), 0x0000);
	assert_int_equal(f.data[2], 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xCB, 2000, &f),
	    0);
	assert_int_equal(f.data[0], 0x1E);
	assert_int_equal(simhost_events(&h, "\"ev\":\"permit_join\"",
	    "\"via\":\"coordinator\"", "\"duration\":30", NULL), 1);
	/* An end device: NOT_SUPPORTED, and nothing opened. */
	assert_int_equal(sreq_status(&h, ZDO, 0x36, "\x02\x09\x10\x3C\x01",
	    5), 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xB6, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), 0x1009);
	assert_int_equal(f.data[2], 0x84);
	assert_int_equal(simhost_events(&h, "\"ev\":\"permit_join\"",
	    "\"spare\"", NULL), 0);
	simhost_stop(&h);
}

static void
test_join_and_leave(void **state)
{
	struct simhost	 h;
	struct mt_frame	 f;
	char		 reply[512];

	(void)state;
	simhost_start(&h, scenario_formed, 0, 1);
	simhost_ctl(&h, "join spare", reply, sizeof(reply));
	assert_string_equal(reply, "ok");
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xCA, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), 0x1009);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xC1, 2000, &f),
	    0);
	assert_int_equal(f.len, 13);
	assert_int_equal(f.data[12], 0x8C);
	simhost_ctl(&h, "join {\"ieee\": \"0x00124b00beef00aa\", \"nwk\": 8888,"
	    " \"type\": \"router\", \"endpoints\": [{\"id\": 1}]}", reply,
	    sizeof(reply));
	assert_string_equal(reply, "ok");
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xC1, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), 8888);
	simhost_ctl(&h, "join {\"nwk\": 1}", reply, sizeof(reply));
	assert_non_null(strstr(reply, "error: join: device.ieee"));
	simhost_ctl(&h, "leave bulb", reply, sizeof(reply));
	assert_string_equal(reply, "ok");
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, ZDO, 0xC9, 2000, &f),
	    0);
	assert_int_equal(le16(f.data), 0x1001);
	simhost_ctl(&h, "leave nobody", reply, sizeof(reply));
	assert_string_equal(reply, "error: no device nobody");
	assert_int_equal(simhost_events(&h, "\"ev\":\"leave\"", "\"bulb\"",
	    NULL), 1);
	simhost_stop(&h);
}

static void
test_reset_and_unplug(void **state)
{
	struct simhost	 h;
	struct mt_frame	 f;
	char		 reply[128];

	(void)state;
	simhost_start(&h, scenario_formed, 0, 1);
	simhost_ctl(&h, "reset 300", reply, sizeof(reply));
	assert_string_equal(reply, "error: reset: reason must be 0..255");
	simhost_ctl(&h, "reset 2", reply, sizeof(reply));
	assert_string_equal(reply, "ok");
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, SYS, 0x80, 2000, &f),
	    0);
	assert_int_equal(f.data[0], 2);
	/* After a reset the stack holds until it is started again. */
	simhost_sreq(&h, UTIL, 0x00, NULL, 0, &f);
	assert_int_equal(f.data[12], 0);
	assert_int_equal(sreq_status(&h, ZDO, 0x40, "\x64\x00", 2), 0);
	wait_state(&h, 9);

	simhost_ctl(&h, "unplug", reply, sizeof(reply));
	assert_string_equal(reply, "ok");
	simhost_pump(&h, 100);
	assert_int_equal(read(h.fd, reply, 1), 0);	/* the host sees EOF */
	simhost_ctl(&h, "replug", reply, sizeof(reply));
	assert_string_equal(reply, "ok");
	assert_int_equal(simhost_connect(&h), 0);
	simhost_sreq(&h, SYS, 0x01, NULL, 0, &f);
	assert_int_equal(f.len, 2);
	assert_int_equal(simhost_events(&h, "\"ev\":\"unplug\"", NULL), 1);
	assert_int_equal(simhost_events(&h, "\"ev\":\"replug\"", NULL), 1);
	simhost_stop(&h);
}

static void
test_bad_scenario_refused(void **state)
{
	struct simhost	 h;
	char		 path[320], cmd[800];
	FILE		*f;
	int		 rc;

	(void)state;
	memset(&h, 0, sizeof(h));
	snprintf(h.dir, sizeof(h.dir), "%s/zotad-sim-bad.XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(h.dir));
	snprintf(path, sizeof(path), "%s/bad.json", h.dir);
	assert_non_null(f = fopen(path, "w"));
	fputs("{ \"devices\": [ { \"ieee\": \"0x0000000000000001\", "
	    "\"nwk\": 5, \"type\": \"router\", \"colour\": 1 } ] }", f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "%s --scenario %s --tcp 127.0.0.1:1 "
	    "2>%s/err", simhost_binary(), path, h.dir);
	rc = system(cmd);
	assert_true(WIFEXITED(rc) && WEXITSTATUS(rc) == 1);
	snprintf(path, sizeof(path), "%s/err", h.dir);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(cmd, sizeof(cmd), f));
	fclose(f);
	assert_non_null(strstr(cmd, "devices[0]: unknown key \"colour\""));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h.dir);
	assert_int_equal(system(cmd), 0);
}

/* The shipped example scenarios load and run. */
static void
test_example_scenarios(void **state)
{
	static const char *const names[][2] = {
		{ "demo", "remote" }, { "blank", "plug" }, { "faults", "mute" }
	};
	struct simhost	 h;
	struct mt_frame	 f;
	char		 path[128], reply[512], *text;
	FILE		*fp;
	long		 len;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "tests/sim/scenarios/%s.json",
		    names[i][0]);
		assert_non_null(fp = fopen(path, "r"));
		fseek(fp, 0, SEEK_END);
		len = ftell(fp);
		rewind(fp);
		assert_non_null(text = calloc(1, (size_t)len + 1));
		assert_int_equal(fread(text, 1, (size_t)len, fp), (size_t)len);
		fclose(fp);
		simhost_start(&h, text, 0, 1);
		free(text);
		simhost_sreq(&h, SYS, 0x01, NULL, 0, &f);
		snprintf(path, sizeof(path), "show %s", names[i][1]);
		simhost_ctl(&h, path, reply, sizeof(reply));
		assert_non_null(strstr(reply, "\"ota_state\":\"idle\""));
		simhost_stop(&h);
	}
}

#define SIM_TEST(fn)	cmocka_unit_test_teardown(fn, simhost_reap)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_startup_formed_tcp),
		SIM_TEST(test_startup_formed_pty),
		SIM_TEST(test_rpc_error_for_unknown),
		SIM_TEST(test_startup_blank_commissioned),
		SIM_TEST(test_startup_zigpy_style),
		SIM_TEST(test_device_zdo),
		SIM_TEST(test_permit_join_unicast),
		SIM_TEST(test_join_and_leave),
		SIM_TEST(test_reset_and_unplug),
		SIM_TEST(test_bad_scenario_refused),
		SIM_TEST(test_example_scenarios),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
