/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Hostile devices against the real zotad-radio, confined as it runs.
 * The test sits on the serial line between the daemon and the adapter
 * simulator and slips frames of its own between the adapter's: OTA
 * requests with wrong lengths, unknown commands, offsets beyond the
 * image, and block requests for an image the device was never offered,
 * all from devices the daemon knows. What the daemon answers is read
 * back from the simulator's record of every frame the daemon sent. The
 * daemon must answer each as the OTA cluster says (Default Response
 * MALFORMED_COMMAND or UNSUP_CLUSTER_COMMAND, Image Block Response
 * ABORT), never send a byte of an image to a device it did not offer
 * it to, nor past the image's end, and carry on serving.
 */

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <event2/event.h>

#include "ipc.h"
#include "ipc_catalogue.h"
#include "mt.h"
#include "otafile.h"
#include "suite.h"
#include "util.h"
#include "zcl.h"

#define HZ_BULB		"0x00124b00beef0001"
#define HZ_BULB_NWK	0x1001
#define HZ_REMOTE_NWK	0x2001
#define HZ_DEV_EP	11
#define HZ_MANUF	SUITE_MANUF
#define HZ_TYPE		SUITE_TYPE
#define HZ_VERSION	SUITE_NEW
#define HZ_IMAGE_SIZE	4000
#define AF_INCOMING_MSG	0x81
#define AF_DATA_REQUEST	0x01

/* What the test adds to the suite: the line between radio and adapter. */
struct hz {
	pid_t		 updater;
	int		 master;	/* the daemon's side of the line */
	int		 slave;		/* held open across reopenings */
	int		 simfd;		/* the simulator's pty */
	int		 inject[2];	/* frames to slip in, whole */
	int		 stop[2];
	pthread_t	 relay;
	int		 relaying;
	struct event_base *base;
	struct ipc_conn	*conn;
};

/* A frame the daemon sent to a device, as the simulator recorded it. */
struct hz_sent {
	uint16_t	 nwk;
	uint16_t	 cluster;
	uint8_t		 zcl[MT_MAX_PAYLOAD];
	size_t		 len;
};

static struct hz	 hz = { .master = -1, .slave = -1, .simfd = -1 };

/*
 * The relay: the daemon's bytes go to the simulator as they come; the
 * simulator's are cut into frames, so that an injected frame is only
 * ever written between two of them.
 */

static void
hz_to_daemon(const struct mt_frame *f, void *arg)
{
	uint8_t	 out[MT_FRAME_MAX];
	size_t	 n = mt_encode(f, out, sizeof(out));

	(void)arg;
	if (n > 0 && write(hz.master, out, n) != (ssize_t)n)
		return;
}

static void *
hz_relay(void *arg)
{
	struct mt_decoder	 dec;
	struct pollfd		 p[4];
	uint8_t			 buf[512];
	ssize_t			 n;

	(void)arg;
	mt_decoder_init(&dec);
	p[0].fd = hz.master;
	p[1].fd = hz.simfd;
	p[2].fd = hz.inject[0];
	p[3].fd = hz.stop[0];
	for (;;) {
		p[0].events = p[1].events = p[2].events = p[3].events = POLLIN;
		if (poll(p, 4, -1) == -1 && errno != EINTR)
			break;
		if (p[3].revents)
			break;
		if ((p[0].revents & POLLIN) &&
		    (n = read(hz.master, buf, sizeof(buf))) > 0 &&
		    write(hz.simfd, buf, (size_t)n) != n)
			break;
		if ((p[1].revents & POLLIN) &&
		    (n = read(hz.simfd, buf, sizeof(buf))) > 0)
			mt_decoder_feed(&dec, buf, (size_t)n, hz_to_daemon,
			    NULL);
		/* One injected frame per message on the pipe. */
		if ((p[2].revents & POLLIN) &&
		    (n = read(hz.inject[0], buf, sizeof(buf))) > 0 &&
		    write(hz.master, buf, (size_t)n) != n)
			break;
	}
	return (NULL);
}

static void
hz_raw(int fd)
{
	struct termios	 t;

	assert_int_equal(tcgetattr(fd, &t), 0);
	cfmakeraw(&t);
	assert_int_equal(tcsetattr(fd, TCSANOW, &t), 0);
}

static void
hz_line_open(void)
{
	char	 link[PATH_MAX];
	char	*pts;

	assert_true((hz.master = posix_openpt(O_RDWR | O_NOCTTY)) != -1);
	assert_int_equal(grantpt(hz.master), 0);
	assert_int_equal(unlockpt(hz.master), 0);
	assert_non_null(pts = ptsname(hz.master));
	/* The daemon opens it as nobody, as it does the simulator's. */
	assert_int_equal(chmod(pts, 0666), 0);
	assert_true((hz.slave = open(pts, O_RDWR | O_NOCTTY)) != -1);
	hz_raw(hz.slave);
	suite_path(link, sizeof(link), "tty");
	assert_int_equal(symlink(pts, link), 0);
	assert_true((hz.simfd = open(suite.tty, O_RDWR | O_NOCTTY)) != -1);
	hz_raw(hz.simfd);
	assert_int_equal(pipe(hz.inject), 0);
	assert_int_equal(pipe(hz.stop), 0);
	assert_int_equal(pthread_create(&hz.relay, NULL, hz_relay, NULL), 0);
	hz.relaying = 1;
}

/* AF_INCOMING_MSG from device NWK: ZCL bytes ZCL, and LEN as claimed. */
static void
hz_inject_claimed(uint16_t nwk, const uint8_t *zcl, size_t len,
    size_t claimed)
{
	struct mt_frame	 f;
	uint8_t		 d[MT_MAX_PAYLOAD], out[MT_FRAME_MAX];
	size_t		 n;

	assert_true(len + 17 <= sizeof(d));
	memset(d, 0, 17);
	d[2] = ZCL_CLUSTER_OTA & 0xff;
	d[3] = ZCL_CLUSTER_OTA >> 8;
	d[4] = nwk & 0xff;
	d[5] = nwk >> 8;
	d[6] = HZ_DEV_EP;
	d[7] = 13;			/* the daemon's OTA endpoint */
	d[9] = 200;			/* link quality */
	d[16] = (uint8_t)claimed;
	memcpy(d + 17, zcl, len);
	assert_int_equal(mt_frame_set(&f, MT_TYPE_AREQ, MT_SUBSYS_AF,
	    AF_INCOMING_MSG, d, len + 17), 0);
	assert_true((n = mt_encode(&f, out, sizeof(out))) > 0);
	assert_int_equal(write(hz.inject[1], out, n), (ssize_t)n);
}

static void
hz_inject(uint16_t nwk, const uint8_t *zcl, size_t len)
{
	hz_inject_claimed(nwk, zcl, len, len);
}

/* An OTA request header (client to server), command CMD, TSN. */
static size_t
hz_req(uint8_t *out, uint8_t tsn, uint8_t cmd)
{
	out[0] = ZCL_FC_CLUSTER;
	out[1] = tsn;
	out[2] = cmd;
	return (3);
}

static size_t
hz_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
	return (2);
}

static size_t
hz_put32(uint8_t *p, uint32_t v)
{
	hz_put16(p, v & 0xffff);
	hz_put16(p + 2, v >> 16);
	return (4);
}

/* An Image Block Request: the device asks for MAX bytes at OFFSET. */
static size_t
hz_block_req(uint8_t *out, uint8_t tsn, uint32_t version, uint32_t offset,
    uint8_t max)
{
	size_t	 n = hz_req(out, tsn, OTA_BLOCK_REQ);

	out[n++] = 0;			/* field control */
	n += hz_put16(out + n, HZ_MANUF);
	n += hz_put16(out + n, HZ_TYPE);
	n += hz_put32(out + n, version);
	n += hz_put32(out + n, offset);
	out[n++] = max;
	return (n);
}

/* The ZCL frame of an AF_DATA_REQUEST the simulator recorded. */
static int
hz_sent_parse(const char *hex, struct hz_sent *s)
{
	uint8_t	 b[MT_MAX_PAYLOAD];
	size_t	 i, n = strlen(hex) / 2;
	unsigned int v;

	if (n < 10 || n > sizeof(b))
		return (-1);
	for (i = 0; i < n; i++) {
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return (-1);
		b[i] = (uint8_t)v;
	}
	s->nwk = (uint16_t)(b[0] | b[1] << 8);
	s->cluster = (uint16_t)(b[4] | b[5] << 8);
	s->len = b[9];
	if (s->len + 10 > n)
		return (-1);
	memcpy(s->zcl, b + 10, s->len);
	return (0);
}

/*
 * Every OTA frame the daemon sent to device NWK so far; CB sees each
 * and counts what it likes.
 */
static int
hz_sent_each(uint16_t nwk, int (*cb)(const struct hz_sent *, void *),
    void *arg)
{
	char		 line[8192];
	FILE		*f;
	cJSON		*o;
	const cJSON	*ev, *dir, *sub, *cmd, *data;
	struct hz_sent	 s;
	int		 n = 0;

	if ((f = fopen(suite.events, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL) {
		if ((o = cJSON_Parse(line)) == NULL)
			continue;
		ev = cJSON_GetObjectItemCaseSensitive(o, "ev");
		dir = cJSON_GetObjectItemCaseSensitive(o, "dir");
		sub = cJSON_GetObjectItemCaseSensitive(o, "subsys");
		cmd = cJSON_GetObjectItemCaseSensitive(o, "cmd");
		data = cJSON_GetObjectItemCaseSensitive(o, "data");
		if (cJSON_IsString(ev) &&
		    strcmp(ev->valuestring, "frame") == 0 &&
		    cJSON_IsString(dir) &&
		    strcmp(dir->valuestring, "in") == 0 &&
		    cJSON_IsString(sub) &&
		    strcmp(sub->valuestring, "AF") == 0 &&
		    cJSON_IsNumber(cmd) && cmd->valueint ==
		    AF_DATA_REQUEST && cJSON_IsString(data) &&
		    hz_sent_parse(data->valuestring, &s) == 0 &&
		    s.nwk == nwk && s.cluster == ZCL_CLUSTER_OTA && s.len >= 3)
			n += cb(&s, arg);
		cJSON_Delete(o);
	}
	fclose(f);
	return (n);
}

struct hz_match {
	uint8_t	 tsn;
	uint8_t	 cmd;		/* OTA_BLOCK_RSP or ZCL_CMD_DEFAULT_RSP */
	uint8_t	 status;
	size_t	 data;		/* for a block: its data length */
	uint32_t offset;
};

static int
hz_match_cb(const struct hz_sent *s, void *arg)
{
	struct hz_match	*m = arg;
	size_t		 hl = (s->zcl[0] & ZCL_FC_MANUF) ? 5 : 3;

	if (s->len < hl + 1 || s->zcl[hl - 2] != m->tsn ||
	    s->zcl[hl - 1] != m->cmd)
		return (0);
	/* A Default Response names the command, then its status. */
	if (m->cmd == ZCL_CMD_DEFAULT_RSP) {
		if (s->len < hl + 2)
			return (0);
		m->status = s->zcl[hl + 1];
		return (1);
	}
	m->status = s->zcl[hl];
	/* A block: status, manuf, type, version, offset, size, data. */
	if (m->cmd == OTA_BLOCK_RSP && m->status == ZCL_SUCCESS &&
	    s->len >= hl + OTA_BLOCK_RSP_FIXED) {
		m->offset = (uint32_t)s->zcl[hl + 9] |
		    (uint32_t)s->zcl[hl + 10] << 8 |
		    (uint32_t)s->zcl[hl + 11] << 16 |
		    (uint32_t)s->zcl[hl + 12] << 24;
		m->data = s->zcl[hl + 13];
		if (hl + OTA_BLOCK_RSP_FIXED + m->data != s->len)
			fail_msg("a block response's data size is not its "
			    "length");
	}
	return (1);
}

/* Wait for the daemon's answer to TSN with command CMD; its status. */
static int
hz_answer(uint16_t nwk, uint8_t tsn, uint8_t cmd, struct hz_match *m)
{
	int	 i;

	memset(m, 0, sizeof(*m));
	m->tsn = tsn;
	m->cmd = cmd;
	for (i = 0; i < suite.wait_ms / 20; i++) {
		if (hz_sent_each(nwk, hz_match_cb, m) > 0)
			return (m->status);
		suite_nap(20);
	}
	fail_msg("no answer (command 0x%02x) to tsn 0x%02x", cmd, tsn);
	return (-1);
}

/* Image blocks with SUCCESS the daemon ever sent to NWK. */
static int
hz_blocks_cb(const struct hz_sent *s, void *arg)
{
	size_t	 hl = (s->zcl[0] & ZCL_FC_MANUF) ? 5 : 3;

	(void)arg;
	return (s->zcl[hl - 1] == OTA_BLOCK_RSP && s->len > hl &&
	    s->zcl[hl] == ZCL_SUCCESS);
}

/* The daemon still runs and answers on radio.sock. */
static void
hz_assert_serving(void)
{
	struct ipc_result	 res;
	cJSON			*p = cJSON_CreateObject();
	char			 sock[PATH_MAX], log[PATH_MAX];

	assert_true(suite_alive(suite.pid[SUITE_RADIO]));
	if (hz.conn == NULL) {
		suite_path(sock, sizeof(sock), "run/radio.sock");
		assert_non_null(hz.conn = ipc_connect(hz.base, sock));
	}
	cJSON_AddStringToObject(p, "ieee", HZ_BULB);
	assert_int_equal(ipc_conn_call_sync(hz.conn, IPC_RADIO_GET_DEVICE, p,
	    NULL, 0, suite.wait_ms, &res), 0);
	cJSON_Delete(p);
	assert_null(res.error);
	ipc_result_clear(&res);
	suite_log_path(SUITE_RADIO, log, sizeof(log));
	assert_int_equal(suite_file_count(log, "fatal"), 0);
}

/*
 * The fixture: a bulb that goes silent part way through a download,
 * so that its transfer stays open for the test's own requests, and a
 * battery remote; both known from a zigbee2mqtt database.
 */

static const char hz_scenario[] =
    "{\"devices\": ["
    "{\"name\": \"bulb\", \"ieee\": \"" HZ_BULB "\", \"nwk\": 4097,"
    " \"type\": \"router\", \"manufacturer_code\": 4107,"
    " \"basic\": {\"power_source\": 1, \"sw_build_id\": \"1.0\"},"
    " \"endpoints\": [{\"id\": 11, \"in\": [0, 6], \"out\": [25]}],"
    " \"ota\": {\"image_type\": 256, \"file_version\": 100,"
    "  \"inject\": {\"silent_at_offset\": 1024}}},"
    "{\"name\": \"remote\", \"ieee\": \"0x00124b00beef0003\","
    " \"nwk\": 8193, \"type\": \"end_device\","
    " \"manufacturer_code\": 4107,"
    " \"basic\": {\"power_source\": 1},"
    " \"endpoints\": [{\"id\": 11, \"in\": [0], \"out\": [25]}],"
    " \"ota\": {\"image_type\": 256, \"file_version\": 100}}"
    "]}\n";

static const char hz_database[] =
    "{\"id\":2,\"type\":\"Router\",\"ieeeAddr\":\"" HZ_BULB "\","
    "\"nwkAddr\":4097,\"manufId\":4107,\"powerSource\":\"Mains (single "
    "phase)\",\"endpoints\":{\"11\":{\"profId\":260,\"inClusterList\":"
    "[0,6],\"outClusterList\":[25]}},\"interviewCompleted\":true}\n"
    "{\"id\":3,\"type\":\"EndDevice\",\"ieeeAddr\":\"0x00124b00beef0003\","
    "\"nwkAddr\":8193,\"manufId\":4107,\"powerSource\":\"Mains (single "
    "phase)\",\"endpoints\":{\"11\":{\"profId\":260,\"inClusterList\":[0],"
    "\"outClusterList\":[25]}},\"interviewCompleted\":true}\n";

/* Stop what the test added to the suite, and forget it. */
static void
hz_close(void)
{
	if (hz.conn != NULL)
		ipc_conn_free(hz.conn);
	suite_stop(&hz.updater, SIGTERM);
	suite_stop(&suite.pid[SUITE_RADIO], SIGTERM);
	if (hz.relaying) {
		assert_int_equal(write(hz.stop[1], "x", 1), 1);
		pthread_join(hz.relay, NULL);
		close(hz.inject[0]);
		close(hz.inject[1]);
		close(hz.stop[0]);
		close(hz.stop[1]);
	}
	if (hz.base != NULL)
		event_base_free(hz.base);
	if (hz.master != -1)
		close(hz.master);
	if (hz.slave != -1)
		close(hz.slave);
	if (hz.simfd != -1)
		close(hz.simfd);
	memset(&hz, 0, sizeof(hz));
	hz.master = hz.slave = hz.simfd = -1;
}

/* zotad-radio alone, on the relayed line; the test plays the rest. */
static int
hz_setup(void **state)
{
	(void)state;
	/* What a setup that failed half way left. */
	hz_close();
	suite_prepare("hostile");
	/* Debug lines: what the daemon made of each frame. */
	suite.verbose = 1;
	suite_write_text("scenario.json", hz_scenario);
	suite_write_text("database.db", hz_database);
	suite_write_config();
	assert_non_null(hz.base = event_base_new());
	suite_start_sim("sim-tty");
	hz_line_open();
	suite_start_daemon(SUITE_RADIO);
	return (0);
}

static int
hz_teardown(void **state)
{
	hz_close();
	return (suite_teardown(state));
}

/*
 * Start updating the bulb in a child process (the call returns only
 * when the update ends) and wait until the bulb has gone silent with
 * the transfer open.
 */
static void
hz_start_update(void)
{
	struct ipc_result	 res;
	struct event_base	*base;
	struct ipc_conn		*c;
	char			*hex, sock[PATH_MAX];
	cJSON			*params;

	suite_make_image(HZ_IMAGE_SIZE, 7);
	assert_non_null(hex = malloc(2 * suite.image_len + 1));
	util_hex(suite.image, suite.image_len, hex);
	suite_path(sock, sizeof(sock), "run/radio.sock");
	assert_true((hz.updater = fork()) >= 0);
	if (hz.updater == 0) {
		if ((base = event_base_new()) == NULL ||
		    (c = ipc_connect(base, sock)) == NULL ||
		    (params = cJSON_CreateObject()) == NULL)
			_exit(2);
		cJSON_AddStringToObject(params, "ieee", HZ_BULB);
		cJSON_AddStringToObject(params, "hex", hex);
		cJSON_AddNumberToObject(params, "image_block_response_delay",
		    0);
		ipc_conn_call_sync(c, IPC_RADIO_UPDATE, params, NULL, 0,
		    600000, &res);
		_exit(0);
	}
	free(hex);
	if (!suite_wait_file(suite.events, "\"ev\":\"inject\"", 1,
	    suite.sim))
		fail_msg("the bulb never went silent mid-transfer");
}

/* Frames cut short, lying about their length, or unknown commands. */
static void
t_malformed(void **state)
{
	struct hz_match	 m;
	uint8_t		 z[64];
	size_t		 n;

	(void)state;
	/* A Block Request missing its offset: MALFORMED_COMMAND. */
	n = hz_block_req(z, 0xa1, HZ_VERSION, 0, 64);
	hz_inject(HZ_BULB_NWK, z, n - 5);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xa1, ZCL_CMD_DEFAULT_RSP,
	    &m), ZCL_MALFORMED);
	/* A Page Request with nothing after the header. */
	n = hz_req(z, 0xa2, OTA_PAGE_REQ);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xa2, ZCL_CMD_DEFAULT_RSP,
	    &m), ZCL_MALFORMED);
	/* An Upgrade End Request cut short. */
	n = hz_req(z, 0xa5, OTA_UPGRADE_END_REQ);
	hz_inject(HZ_BULB_NWK, z, n + 1);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xa5, ZCL_CMD_DEFAULT_RSP,
	    &m), ZCL_MALFORMED);
	/* A Query Next Image Request promising a field it lacks. */
	n = hz_req(z, 0xa6, OTA_QUERY_NEXT_REQ);
	z[n++] = 0x01;			/* says a hardware version follows */
	n += hz_put16(z + n, HZ_MANUF);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xa6, ZCL_CMD_DEFAULT_RSP,
	    &m), ZCL_MALFORMED);
	/* A command the OTA cluster does not have. */
	n = hz_req(z, 0xa4, 0x7f);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xa4, ZCL_CMD_DEFAULT_RSP,
	    &m), ZCL_UNSUP_CLUSTER_CMD);
	/* Dropped without an answer; they must not hurt. */
	hz_inject(HZ_BULB_NWK, z, 1);			/* no ZCL header */
	hz_inject(HZ_BULB_NWK, z, 0);
	n = hz_block_req(z, 0xa3, HZ_VERSION, 0, 64);
	hz_inject_claimed(HZ_BULB_NWK, z, n, 200);	/* claims more */
	n = hz_block_req(z, 0xa7, HZ_VERSION, 0, 64);
	hz_inject(0x7777, z, n);			/* an unknown device */
	/* The last of them is answered only if the others did no harm. */
	n = hz_block_req(z, 0xa8, HZ_VERSION, 0, 64);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xa8, OTA_BLOCK_RSP, &m),
	    ZCL_ABORT);
	hz_assert_serving();
	assert_int_equal(hz_sent_each(HZ_BULB_NWK, hz_blocks_cb, NULL), 0);
}

/* No update was ever started: no device gets a byte of any image. */
static void
t_never_offered(void **state)
{
	struct hz_match	 m;
	uint8_t		 z[64];
	size_t		 n;

	(void)state;
	n = hz_block_req(z, 0xb1, HZ_VERSION, 0, 64);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xb1, OTA_BLOCK_RSP, &m),
	    ZCL_ABORT);
	n = hz_block_req(z, 0xb2, 0xffffffff, 0xffffff00, 255);
	hz_inject(HZ_REMOTE_NWK, z, n);
	assert_int_equal(hz_answer(HZ_REMOTE_NWK, 0xb2, OTA_BLOCK_RSP, &m),
	    ZCL_ABORT);
	hz_assert_serving();
	assert_int_equal(hz_sent_each(HZ_BULB_NWK, hz_blocks_cb, NULL), 0);
	assert_int_equal(hz_sent_each(HZ_REMOTE_NWK, hz_blocks_cb, NULL), 0);
}

/*
 * With the bulb's transfer open: another device asking for the bulb's
 * image gets nothing, the bulb asking for another version gets
 * nothing, and offsets at or past the end are refused, while a block
 * near the end stops at the end.
 */
static void
t_transfer_open(void **state)
{
	struct hz_match	 m;
	uint8_t		 z[64];
	size_t		 n;
	int		 before;

	(void)state;
	hz_start_update();
	before = hz_sent_each(HZ_BULB_NWK, hz_blocks_cb, NULL);
	assert_true(before > 0);

	n = hz_block_req(z, 0xc1, HZ_VERSION, 0, 64);
	hz_inject(HZ_REMOTE_NWK, z, n);
	assert_int_equal(hz_answer(HZ_REMOTE_NWK, 0xc1, OTA_BLOCK_RSP, &m),
	    ZCL_ABORT);
	assert_int_equal(hz_sent_each(HZ_REMOTE_NWK, hz_blocks_cb, NULL), 0);

	n = hz_block_req(z, 0xc2, HZ_VERSION + 1, 0, 64);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xc2, OTA_BLOCK_RSP, &m),
	    ZCL_ABORT);

	n = hz_block_req(z, 0xc3, HZ_VERSION, HZ_IMAGE_SIZE, 64);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xc3, ZCL_CMD_DEFAULT_RSP,
	    &m), ZCL_MALFORMED);
	n = hz_block_req(z, 0xc4, HZ_VERSION, 0xffffffff, 255);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xc4, ZCL_CMD_DEFAULT_RSP,
	    &m), ZCL_MALFORMED);

	n = hz_block_req(z, 0xc5, HZ_VERSION, HZ_IMAGE_SIZE - 10, 64);
	hz_inject(HZ_BULB_NWK, z, n);
	assert_int_equal(hz_answer(HZ_BULB_NWK, 0xc5, OTA_BLOCK_RSP, &m),
	    ZCL_SUCCESS);
	assert_int_equal(m.offset, HZ_IMAGE_SIZE - 10);
	assert_int_equal(m.data, 10);
	hz_assert_serving();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_malformed, hz_setup,
		    hz_teardown),
		cmocka_unit_test_setup_teardown(t_never_offered, hz_setup,
		    hz_teardown),
		cmocka_unit_test_setup_teardown(t_transfer_open, hz_setup,
		    hz_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
