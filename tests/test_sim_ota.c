/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The simulated OTA clients of zotad-sim, driven by a scripted OTA
 * server: the test registers the server endpoint, sends Image Notify,
 * answers Query Next Image and block or page requests from an image made
 * by ota_make (or a real fixture), and checks in the event log what the
 * device did: verification, reboot, each injected fault, sleepy polling,
 * link failures and determinism with a fixed seed.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mt.h"
#include "otafile.h"
#include "suite.h"
#include "util.h"
#include "sim/host/simhost.c"

#define SRV_EP		1
#define SRV_MAX_DEVS	16
#define OTA		0x0019

/* What the scripted server saw from one device. */
struct srv_dev {
	uint16_t	 nwk;
	uint8_t		 ep;
	long long	 notified;	/* when, until it asks for a block */
	uint8_t		 cap;		/* largest block we send it */
	int		 waited;	/* WAIT_FOR_DATA already sent */
	int		 end_status;	/* of its Upgrade End, -1 none */
	int		 malformed;	/* Default Responses MALFORMED */
	int		 blocks;
};

struct srv {
	struct simhost	*h;
	const uint8_t	*img;
	uint32_t	 len;
	uint16_t	 manuf;
	uint16_t	 type;
	uint32_t	 version;
	uint8_t		 cap;
	int		 wait_once;
	int		 renotify;
	uint8_t		 tsn;
	struct srv_dev	 devs[SRV_MAX_DEVS];
	int		 ndevs;
};

static uint16_t
le16(const uint8_t *p)
{
	return ((uint16_t)(p[0] | p[1] << 8));
}

static uint32_t
le32(const uint8_t *p)
{
	return ((uint32_t)le16(p) | (uint32_t)le16(p + 2) << 16);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static struct srv_dev *
srv_dev(struct srv *s, uint16_t nwk)
{
	int	 i;

	for (i = 0; i < s->ndevs; i++)
		if (s->devs[i].nwk == nwk)
			return (&s->devs[i]);
	assert_true(s->ndevs < SRV_MAX_DEVS);
	s->devs[s->ndevs].nwk = nwk;
	s->devs[s->ndevs].cap = s->cap;
	s->devs[s->ndevs].end_status = -1;
	return (&s->devs[s->ndevs++]);
}

/* Send a ZCL frame to a device; the SRSP must accept it. */
static void
srv_send(struct srv *s, uint16_t nwk, uint8_t ep, uint16_t cluster,
    const uint8_t *zcl, size_t len)
{
	struct mt_frame	 rsp;
	uint8_t		 req[MT_MAX_PAYLOAD];

	put16(req, nwk);
	req[2] = ep;
	req[3] = SRV_EP;
	put16(req + 4, cluster);
	req[6] = ++s->h->trans_id;
	req[7] = 0;
	req[8] = 30;
	req[9] = (uint8_t)len;
	memcpy(req + 10, zcl, len);
	simhost_sreq(s->h, MT_SUBSYS_AF, 0x01, req, 10 + len, &rsp);
	assert_int_equal(rsp.data[0], 0);
}

/* A server-to-client OTA command, with the given TSN. */
static void
srv_ota(struct srv *s, uint16_t nwk, uint8_t ep, uint8_t tsn, uint8_t cmd,
    const uint8_t *payload, size_t len)
{
	uint8_t	 zcl[128];

	zcl[0] = 0x19;		/* cluster specific, to client, no DR */
	zcl[1] = tsn;
	zcl[2] = cmd;
	memcpy(zcl + 3, payload, len);
	srv_send(s, nwk, ep, OTA, zcl, 3 + len);
}

static void
srv_notify(struct srv *s, uint16_t nwk, uint8_t ep)
{
	const uint8_t	 p[2] = { 0x00, 100 };
	struct srv_dev	*d = srv_dev(s, nwk);

	d->ep = ep;
	d->notified = simhost_now_ms();
	srv_ota(s, nwk, ep, ++s->tsn, 0x00, p, sizeof(p));
}

/* Notify again who did not start within a second (a frame was lost). */
static void
srv_renotify(struct srv *s)
{
	int	 i;

	for (i = 0; i < s->ndevs; i++)
		if (s->devs[i].notified != 0 &&
		    simhost_now_ms() - s->devs[i].notified > 1000)
			srv_notify(s, s->devs[i].nwk, s->devs[i].ep);
}

static void
srv_query(struct srv *s, uint16_t nwk, uint8_t ep, uint8_t tsn,
    const uint8_t *q, size_t len)
{
	uint8_t	 p[13];

	if (len < 9 || le16(q + 1) != s->manuf || le16(q + 3) != s->type ||
	    le32(q + 5) >= s->version) {
		p[0] = 0x98;
		srv_ota(s, nwk, ep, tsn, 0x02, p, 1);
		return;
	}
	p[0] = 0;
	put16(p + 1, s->manuf);
	put16(p + 3, s->type);
	put32(p + 5, s->version);
	put32(p + 9, s->len);
	srv_ota(s, nwk, ep, tsn, 0x02, p, sizeof(p));
}

static void
srv_block(struct srv *s, uint16_t nwk, uint8_t ep, uint8_t tsn,
    uint32_t off, uint8_t max)
{
	struct srv_dev	*d = srv_dev(s, nwk);
	uint8_t		 p[14 + 255];
	uint32_t	 n = max < d->cap ? max : d->cap;

	assert_true(off < s->len);
	if (n > s->len - off)
		n = s->len - off;
	p[0] = 0;
	put16(p + 1, s->manuf);
	put16(p + 3, s->type);
	put32(p + 5, s->version);
	put32(p + 9, off);
	p[13] = (uint8_t)n;
	memcpy(p + 14, s->img + off, n);
	d->blocks++;
	srv_ota(s, nwk, ep, tsn, 0x05, p, 14 + n);
}

static void
srv_block_req(struct srv *s, uint16_t nwk, uint8_t ep, uint8_t tsn,
    const uint8_t *q, size_t len)
{
	struct srv_dev	*d = srv_dev(s, nwk);
	uint8_t		 p[11];

	assert_true(len >= 14);
	if (s->wait_once && !d->waited) {
		/* Come back in one second, and keep 10 ms between blocks. */
		d->waited = 1;
		p[0] = 0x97;
		put32(p + 1, 0);
		put32(p + 5, 1);
		put16(p + 9, 10);
		srv_ota(s, nwk, ep, tsn, 0x05, p, sizeof(p));
		return;
	}
	srv_block(s, nwk, ep, tsn, le32(q + 9), q[13]);
}

/* A page: consecutive block responses covering pageSize bytes. */
static void
srv_page_req(struct srv *s, uint16_t nwk, uint8_t ep, uint8_t tsn,
    const uint8_t *q, size_t len)
{
	uint32_t	 off, end;
	uint8_t		 max;

	assert_true(len >= 18);
	off = le32(q + 9);
	max = q[13];
	end = off + le16(q + 14);
	if (end > s->len)
		end = s->len;
	while (off < end) {
		srv_block(s, nwk, ep, tsn, off, max);
		off += max < s->cap ? max : s->cap;
	}
}

static void
srv_end_req(struct srv *s, uint16_t nwk, uint8_t ep, uint8_t tsn,
    const uint8_t *q, size_t len)
{
	uint8_t	 p[16];

	assert_true(len >= 9);
	srv_dev(s, nwk)->end_status = q[0];
	if (q[0] != 0) {
		/* A failed end gets a Default Response, never an End Rsp. */
		const uint8_t	 dr[5] = { 0x18, tsn, 0x0B, 0x06, 0x00 };

		srv_send(s, nwk, ep, OTA, dr, sizeof(dr));
		return;
	}
	put16(p, s->manuf);
	put16(p + 2, s->type);
	put32(p + 4, s->version);
	put32(p + 8, 0);
	put32(p + 12, 0);	/* relative: upgrade now */
	srv_ota(s, nwk, ep, tsn, 0x07, p, sizeof(p));
}

/* Handle one AF_INCOMING_MSG from a device. */
static void
srv_incoming(struct srv *s, const struct mt_frame *f)
{
	const uint8_t	*zcl;
	uint16_t	 cluster, nwk;
	uint8_t		 ep, len, tsn, cmd;

	assert_true(f->len >= 17);
	cluster = le16(f->data + 2);
	nwk = le16(f->data + 4);
	ep = f->data[6];
	len = f->data[16];
	assert_true(17 + (size_t)len <= f->len);
	zcl = f->data + 17;
	if (cluster != OTA || len < 3)
		return;
	tsn = zcl[1];
	cmd = zcl[2];
	if ((zcl[0] & 0x03) == 0) {
		if (cmd == 0x0B && len >= 5 && zcl[3] == 0x05 &&
		    zcl[4] == 0x80) {
			/* The block was too big for it: send smaller ones. */
			srv_dev(s, nwk)->malformed++;
			srv_dev(s, nwk)->cap /= 2;
		}
		return;
	}
	/* Its download started: no need to notify it again. */
	if (cmd == 0x03 || cmd == 0x04)
		srv_dev(s, nwk)->notified = 0;
	if (cmd == 0x01)
		srv_query(s, nwk, ep, tsn, zcl + 3, len - 3);
	else if (cmd == 0x03)
		srv_block_req(s, nwk, ep, tsn, zcl + 3, len - 3);
	else if (cmd == 0x04)
		srv_page_req(s, nwk, ep, tsn, zcl + 3, len - 3);
	else if (cmd == 0x06)
		srv_end_req(s, nwk, ep, tsn, zcl + 3, len - 3);
}

/* Serve for up to MS milliseconds, or until N devices have ended. */
static void
srv_run(struct srv *s, int ms, int n)
{
	struct mt_frame	 f;
	long long	 end = simhost_now_ms() + ms;
	int		 i, ended;

	while (simhost_now_ms() < end) {
		for (i = ended = 0; i < s->ndevs; i++)
			ended += s->devs[i].end_status != -1;
		if (n > 0 && ended >= n)
			return;
		if (simhost_wait(s->h, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81,
		    100, &f) == 0)
			srv_incoming(s, &f);
		if (s->renotify)
			srv_renotify(s);
		/* Confirms and other callbacks are not needed here. */
		if (s->h->qn > SIMHOST_QUEUE / 2)
			simhost_flush(s->h);
	}
}

static void
srv_init(struct srv *s, struct simhost *h, const uint8_t *img, uint32_t len)
{
	static const uint8_t reg[] = {
		SRV_EP, 0x04, 0x01, 0x05, 0x00, 0, 0, 1, 0x19, 0x00, 0
	};
	struct mt_frame	 rsp;

	memset(s, 0, sizeof(*s));
	s->h = h;
	s->img = img;
	s->len = len;
	s->cap = 50;
	simhost_sreq(h, MT_SUBSYS_AF, 0x00, reg, sizeof(reg), &rsp);
	assert_int_equal(rsp.data[0], 0);
}

/* An image whose content follows its version and size. */
static uint8_t *
make_image(uint16_t manuf, uint16_t type, uint32_t version, uint32_t size,
    size_t *len)
{
	return (suite_ota_image(manuf, type, version, size, version ^ size,
	    len));
}

/* The verification event of DEV must be ok with the image's SHA-512. */
static void
expect_verified(struct simhost *h, const char *dev, const uint8_t *img,
    size_t len)
{
	char	 sha[SHA512_HEX_LEN + 1], needle[SHA512_HEX_LEN + 16];
	char	 name[64];

	util_sha512_hex(img, len, sha);
	snprintf(needle, sizeof(needle), "\"sha512\":\"%s\"", sha);
	snprintf(name, sizeof(name), "\"dev\":\"%s\"", dev);
	assert_int_equal(simhost_events(h, "\"ev\":\"ota_verify\"", name,
	    "\"ok\":true", needle, NULL), 1);
}

#define DEVICE(name, nwk, extra)					\
	"{ \"name\": \"" name "\", \"ieee\": \"0x00124b00beef" nwk "\","\
	" \"nwk\": \"0x" nwk "\", \"type\": \"router\","		\
	" \"manufacturer_code\": 4660,"					\
	" \"basic\": { \"sw_build_id\": \"1.0.0\" },"			\
	" \"endpoints\": [ { \"id\": 1, \"in\": [0], \"out\": [25] } ],"\
	" \"ota\": { \"image_type\": 257, \"file_version\": 1,"		\
	" \"reply_latency_ms\": 3, \"block_timeout_ms\": 300,"		\
	" \"reboot_ms\": 50,"						\
	" \"after\": { \"sw_build_id\": \"2.0.0\" }" extra " } }"

#define SCENARIO(link, devices)						\
	"{ \"link\": { \"baud\": 0, \"air_latency_ms\": 1,"		\
	" \"confirm_delay_ms\": 2" link " }, \"devices\": [ " devices " ] }"

static void
test_ota_update(void **state)
{
	struct simhost	 h;
	struct srv	 s;
	struct mt_frame	 f;
	uint8_t		*img;
	size_t		 len;
	char		 reply[512];
	const uint8_t	 read_build[] = { 0x00, 0x42, 0x00, 0x00, 0x40 };

	(void)state;
	img = make_image(4660, 257, 2, 1500, &len);
	simhost_start(&h, SCENARIO("", DEVICE("bulb", "0001", "")), 0, 1);
	srv_init(&s, &h, img, (uint32_t)len);
	s.manuf = 4660;
	s.type = 257;
	s.version = 2;
	s.wait_once = 1;
	srv_notify(&s, 0x0001, 1);
	srv_run(&s, 10000, 1);
	assert_int_equal(s.devs[0].end_status, 0);
	/* WAIT_FOR_DATA was honoured: the same offset asked again later. */
	assert_int_equal(simhost_events(&h, "\"ev\":\"ota_wait_for_data\"",
	    "\"block_period\":10", NULL), 1);
	assert_int_equal(s.devs[0].blocks, (1500 + 49) / 50);
	expect_verified(&h, "bulb", img, len);
	/* It reboots, announces itself, and runs the new version. */
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC1,
	    3000, &f), 0);
	assert_int_equal(le16(f.data + 2), 0x0001);
	assert_int_equal(simhost_events(&h, "\"ev\":\"reboot\"",
	    "\"file_version\":2", "\"sw_build_id\":\"2.0.0\"", NULL), 1);
	simhost_ctl(&h, "show bulb", reply, sizeof(reply));
	assert_non_null(strstr(reply, "\"file_version\":2"));
	assert_non_null(strstr(reply, "\"ota_state\":\"idle\""));
	/* The Basic cluster reports the new build. */
	srv_send(&s, 0x0001, 1, 0x0000, read_build, sizeof(read_build));
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81,
	    2000, &f), 0);
	assert_int_equal(f.data[17 + 2], 0x01);		/* read response */
	assert_memory_equal(f.data + 17 + 3, "\x00\x40\x00\x42\x05" "2.0.0",
	    10);
	/* Asked again, it has the version and gets no image. */
	simhost_ctl(&h, "query bulb", reply, sizeof(reply));
	assert_string_equal(reply, "ok");
	srv_run(&s, 500, 0);
	assert_int_equal(simhost_events(&h, "\"ev\":\"ota_result\"",
	    "\"result\":\"no_image\"", NULL), 1);
	simhost_stop(&h);
	free(img);
}

static void
test_ota_page_mode(void **state)
{
	struct simhost	 h;
	struct srv	 s;
	uint8_t		*img;
	size_t		 len;

	(void)state;
	img = make_image(4660, 257, 5, 2000, &len);
	simhost_start(&h, SCENARIO("", DEVICE("pager", "0002",
	    ", \"mode\": \"page\", \"page_size\": 512, \"max_data_size\": 40")),
	    0, 1);
	srv_init(&s, &h, img, (uint32_t)len);
	s.manuf = 4660;
	s.type = 257;
	s.version = 5;
	srv_notify(&s, 0x0002, 1);
	srv_run(&s, 10000, 1);
	assert_int_equal(s.devs[0].end_status, 0);
	assert_int_equal(simhost_events(&h, "\"ev\":\"zcl\"", "\"cmd\":4",
	    "\"from_dev\"", NULL), 4);
	expect_verified(&h, "pager", img, len);
	simhost_stop(&h);
	free(img);
}

#define INJECT(x)	", \"inject\": { " x " }"

static const char scenario_faults[] = SCENARIO("",
    DEVICE("deaf", "0010", INJECT("\"ignore_image_notify\": true")) ","
    DEVICE("mute", "0011", INJECT("\"silent_at_offset\": 300")) ","
    DEVICE("quitter", "0012", INJECT("\"abort_at_offset\": 300")) ","
    DEVICE("picky", "0013", INJECT("\"end_invalid_image\": true")) ","
    DEVICE("small", "0014", INJECT("\"reject_block_over\": 32")) ","
    DEVICE("shy", "0015", INJECT("\"reboot_without_announce\": true")) ","
    DEVICE("jumpy", "0016", INJECT("\"out_of_order\": true")) ","
    DEVICE("stutter", "0017", INJECT("\"repeat_offsets\": true")));

static int
dev_events(struct simhost *h, const char *dev, const char *a, const char *b)
{
	char	 name[64];

	snprintf(name, sizeof(name), "\"dev\":\"%s\"", dev);
	return (simhost_events(h, name, a, b, NULL));
}

static void
test_ota_injected_faults(void **state)
{
	struct simhost	 h;
	struct srv	 s;
	struct mt_frame	 f;
	uint8_t		*img;
	size_t		 len;
	uint16_t	 nwk;

	(void)state;
	img = make_image(4660, 257, 2, 1000, &len);
	simhost_start(&h, scenario_faults, 0, 3);
	srv_init(&s, &h, img, (uint32_t)len);
	s.manuf = 4660;
	s.type = 257;
	s.version = 2;
	for (nwk = 0x0010; nwk <= 0x0017; nwk++)
		srv_notify(&s, nwk, 1);
	/* Six devices end; "deaf" never starts and "mute" goes quiet. */
	srv_run(&s, 15000, 6);
	simhost_pump(&h, 300);

	assert_int_equal(dev_events(&h, "deaf", "\"ev\":\"inject\"",
	    "\"ignore_image_notify\""), 1);
	assert_int_equal(dev_events(&h, "deaf", "\"ev\":\"ota_state\"", ""),
	    0);
	assert_int_equal(srv_dev(&s, 0x0010)->blocks, 0);

	assert_int_equal(dev_events(&h, "mute", "\"what\":\"silent\"",
	    "\"offset\":300"), 1);
	assert_int_equal(srv_dev(&s, 0x0011)->end_status, -1);
	assert_int_equal(srv_dev(&s, 0x0011)->blocks, 6);

	assert_int_equal(dev_events(&h, "quitter", "\"what\":\"abort\"", ""),
	    1);
	assert_int_equal(srv_dev(&s, 0x0012)->end_status, 0x95);
	assert_int_equal(dev_events(&h, "quitter",
	    "\"result\":\"aborted_by_device\"", ""), 1);

	assert_int_equal(srv_dev(&s, 0x0013)->end_status, 0x96);
	assert_int_equal(dev_events(&h, "picky", "\"ok\":false",
	    "\"reason\":\"injected\""), 1);

	assert_true(dev_events(&h, "small", "\"what\":\"reject_block\"", "")
	    >= 1);
	assert_true(srv_dev(&s, 0x0014)->malformed >= 1);
	assert_int_equal(srv_dev(&s, 0x0014)->end_status, 0);
	expect_verified(&h, "small", img, len);

	assert_int_equal(srv_dev(&s, 0x0015)->end_status, 0);
	assert_int_equal(dev_events(&h, "shy", "\"ev\":\"reboot\"",
	    "\"announce\":false"), 1);
	assert_int_equal(dev_events(&h, "shy", "\"ev\":\"announce\"", ""), 0);

	assert_true(dev_events(&h, "jumpy", "\"what\":\"out_of_order\"", "")
	    >= 1);
	expect_verified(&h, "jumpy", img, len);
	assert_true(dev_events(&h, "stutter", "\"what\":\"repeat_offset\"",
	    "") >= 1);
	expect_verified(&h, "stutter", img, len);
	assert_true(srv_dev(&s, 0x0017)->blocks > 20);

	/* The well-behaved ones announced their reboot. */
	assert_int_equal(dev_events(&h, "jumpy", "\"ev\":\"announce\"", ""),
	    1);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC1,
	    1000, &f), 0);
	simhost_stop(&h);
	free(img);
}

static const char scenario_sleepy[] = SCENARIO("",
    "{ \"name\": \"remote\", \"ieee\": \"0x00124b00beef0020\","
    " \"nwk\": 32, \"type\": \"sleepy_end_device\", \"poll_ms\": 400,"
    " \"fast_poll_ms\": 20, \"battery\": 87,"
    " \"endpoints\": [ { \"id\": 1, \"in\": [0, 1], \"out\": [25] } ],"
    " \"ota\": { \"manufacturer_code\": 4660, \"image_type\": 513,"
    " \"file_version\": 1, \"reply_latency_ms\": 3, \"reboot_ms\": 50 } },"
    "{ \"name\": \"sleeper\", \"ieee\": \"0x00124b00beef0021\","
    " \"nwk\": 33, \"type\": \"sleepy_end_device\", \"poll_ms\": 600000,"
    " \"expire_ms\": 300,"
    " \"endpoints\": [ { \"id\": 1, \"in\": [0, 1] } ] }");

static void
test_ota_sleepy(void **state)
{
	struct simhost	 h;
	struct srv	 s;
	struct mt_frame	 f;
	uint8_t		*img;
	size_t		 len;
	long long	 t0;
	const uint8_t	 read_batt[] = { 0x00, 0x07, 0x00, 0x21, 0x00 };

	(void)state;
	img = make_image(4660, 513, 2, 600, &len);
	simhost_start(&h, scenario_sleepy, 0, 1);
	srv_init(&s, &h, img, (uint32_t)len);
	s.manuf = 4660;
	s.type = 513;
	s.version = 2;

	/* A frame for a sleeper waits for its poll before it is confirmed. */
	t0 = simhost_now_ms();
	srv_send(&s, 32, 1, 0x0001, read_batt, sizeof(read_batt));
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81,
	    2000, &f), 0);
	assert_true(simhost_now_ms() - t0 >= 300);
	assert_memory_equal(f.data + 17 + 3, "\x21\x00\x00\x20\xAE", 5);

	/* Polling fast during the download, it completes. */
	srv_notify(&s, 32, 1);
	srv_run(&s, 10000, 1);
	assert_int_equal(s.devs[0].end_status, 0);
	expect_verified(&h, "remote", img, len);

	/* Polling less often than its parent keeps frames: they expire. */
	simhost_flush(&h);
	srv_send(&s, 33, 1, 0x0001, read_batt, sizeof(read_batt));
	for (;;) {
		assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, MT_SUBSYS_AF,
		    0x80, 3000, &f), 0);
		if (f.data[2] == h.trans_id)
			break;
	}
	assert_int_equal(f.data[0], 0xF0);
	assert_int_equal(simhost_events(&h, "\"ev\":\"expired\"",
	    "\"sleeper\"", NULL), 1);
	simhost_stop(&h);
	free(img);
}

/* The confirm for our last request, whatever came before it. */
static uint8_t
confirm_status(struct simhost *h)
{
	struct mt_frame	 f;

	for (;;) {
		assert_int_equal(simhost_wait(h, MT_TYPE_AREQ, MT_SUBSYS_AF,
		    0x80, 2000, &f), 0);
		if (f.data[2] == h->trans_id)
			return (f.data[0]);
	}
}

static void
test_link_failures(void **state)
{
	struct simhost	 h;
	struct srv	 s;
	struct mt_frame	 f;
	const uint8_t	 read_model[] = { 0x00, 0x01, 0x00, 0x05, 0x00 };

	(void)state;
	simhost_start(&h, SCENARIO(", \"confirm_fail_rate\": 1,"
	    " \"confirm_fail_status\": 225", DEVICE("far", "0030", "")),
	    0, 1);
	srv_init(&s, &h, NULL, 0);
	srv_send(&s, 0x0030, 1, 0x0000, read_model, sizeof(read_model));
	assert_int_equal(confirm_status(&h), 0xE1);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, MT_SUBSYS_AF, 0x81,
	    300, &f), -1);
	assert_int_equal(simhost_events(&h, "\"ev\":\"confirm_failure\"",
	    "\"status\":225", NULL), 1);
	simhost_stop(&h);

	simhost_start(&h, SCENARIO(", \"loss_rate\": 1",
	    DEVICE("gone", "0031", "")), 0, 1);
	srv_init(&s, &h, NULL, 0);
	srv_send(&s, 0x0031, 1, 0x0000, read_model, sizeof(read_model));
	assert_int_equal(confirm_status(&h), 0xE9);
	assert_int_equal(simhost_events(&h, "\"ev\":\"lost_to_device\"", NULL),
	    1);
	/* A device that is not there: the route cannot be found. */
	srv_send(&s, 0x4444, 1, 0x0000, read_model, sizeof(read_model));
	assert_int_equal(confirm_status(&h), 0xCD);
	simhost_stop(&h);
}

/* One lossy transfer with seed SEED; returns its untimed event log. */
static char *
lossy_run(unsigned long long seed, const uint8_t *img, size_t len)
{
	struct simhost	 h;
	struct srv	 s;

	simhost_start(&h, SCENARIO(", \"loss_rate\": 0.1",
	    DEVICE("lossy", "0040", "")), 0, seed);
	srv_init(&s, &h, img, (uint32_t)len);
	s.manuf = 4660;
	s.type = 257;
	s.version = 2;
	s.renotify = 1;
	srv_notify(&s, 0x0040, 1);
	srv_run(&s, 20000, 1);
	assert_int_equal(s.devs[0].end_status, 0);
	assert_int_equal(simhost_wait(&h, MT_TYPE_AREQ, MT_SUBSYS_ZDO, 0xC1,
	    3000, NULL), 0);
	assert_true(simhost_events(&h, "\"ev\":\"lost_", NULL) > 0);
	expect_verified(&h, "lossy", img, len);
	return (simhost_stop_events(&h));
}

static void
test_determinism(void **state)
{
	uint8_t		*img;
	size_t		 len;
	char		*a, *b;

	(void)state;
	img = make_image(4660, 257, 2, 1200, &len);
	a = lossy_run(7, img, len);
	b = lossy_run(7, img, len);
	assert_string_equal(a, b);
	free(a);
	free(b);
	free(img);
}

/* A real image behind a vendor prefix: the device gets the served range. */
static void
test_ota_fixture_image(void **state)
{
	static const char name[] = "mmwave_module_fw_V3_14_3.ota";
	struct ota_image	*oi;
	struct simhost		 h;
	struct srv		 s;
	uint8_t			*buf;
	size_t			 len;
	char			 path[512], abspath[PATH_MAX], err[160];
	char			*scenario;
	const char		*dir;

	(void)state;
	if ((dir = simhost_fixtures()) == NULL) {
		print_message("fixtures not found; set ZOTAD_FIXTURES\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/images/%s", dir, name);
	if (util_read_file(path, 1 << 24, &buf, &len) == -1) {
		print_message("%s not found\n", path);
		skip();
	}
	assert_non_null(oi = calloc(1, sizeof(*oi)));
	assert_int_equal(ota_parse(buf, len, oi, err, sizeof(err)), 0);
	/* The scenario lives elsewhere: give it an absolute path. */
	assert_non_null(realpath(path, abspath));
	assert_true(asprintf(&scenario, SCENARIO("", "{ \"name\": \"radar\","
	    " \"ieee\": \"0x00124b00beef0050\", \"nwk\": 80,"
	    " \"type\": \"router\", \"endpoints\": [ { \"id\": 1,"
	    " \"out\": [25] } ], \"ota\": { \"manufacturer_code\": %u,"
	    " \"image_type\": %u, \"file_version\": %u,"
	    " \"max_data_size\": 64, \"reply_latency_ms\": 1,"
	    " \"reboot_ms\": 10, \"expect_image\": \"%s\" } }"),
	    oi->hdr.manufacturer_code, oi->hdr.image_type,
	    oi->hdr.file_version - 1, abspath) > 0);
	simhost_start(&h, scenario, 0, 1);
	srv_init(&s, &h, buf + oi->served_offset, (uint32_t)oi->served_len);
	s.manuf = oi->hdr.manufacturer_code;
	s.type = oi->hdr.image_type;
	s.version = oi->hdr.file_version;
	s.cap = 64;
	srv_notify(&s, 80, 1);
	srv_run(&s, 30000, 1);
	assert_int_equal(s.devs[0].end_status, 0);
	expect_verified(&h, "radar", buf + oi->served_offset, oi->served_len);
	simhost_stop(&h);
	free(scenario);
	free(oi);
	free(buf);
}

#define SIM_TEST(fn)	cmocka_unit_test_teardown(fn, simhost_reap)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SIM_TEST(test_ota_update),
		SIM_TEST(test_ota_page_mode),
		SIM_TEST(test_ota_injected_faults),
		SIM_TEST(test_ota_sleepy),
		SIM_TEST(test_link_failures),
		SIM_TEST(test_determinism),
		SIM_TEST(test_ota_fixture_image),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
