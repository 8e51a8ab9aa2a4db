/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/queue.h>
#include <sys/random.h>

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "mtreq.h"
#include "serial.h"
#include "zcl.h"
#include "zstack.h"

#define ZS_PING_TIMEOUT_MS	1000
#define ZS_PING_TRIES		4	/* then keep trying, quietly */
#define ZS_START_TIMEOUT_MS	60000	/* to state "coordinator started" */
#define ZS_FORM_TIMEOUT_MS	100000
#define ZS_RETRY_MS		5000	/* a failed start, from scratch */
#define ZS_CONFIRM_TIMEOUT_MS	10000	/* AF_DATA_CONFIRM */
#define ZS_ZDO_TIMEOUT_MS	15000
#define ZS_APS_PAYLOAD		82	/* unfragmented, see protocol notes */
#define ZS_RADIUS		30
#define ZS_SEND_TRIES		3	/* more sends through congestion */
#define ZS_SEND_RETRY_MS	200
#define ZS_EXT_TRAILER		3	/* MAC source, radius: after the data */
#define ZS_RETRIEVE_CHUNK	240	/* bytes per AF_DATA_RETRIEVE */
#define ZS_INCOMING_MAX		1024	/* far above any frame we read */
#define ZS_STORED_MAX		4	/* large messages fetched at once */
#define ZS_ADDR_NWK		2	/* a source named by its NWK address */

/* AF_DATA_CONFIRM statuses of a congested network. */
#define ZS_BUFFER_FULL			0x11
#define ZS_NO_RESOURCES			0x1A
#define ZS_CHANNEL_ACCESS_FAILURE	0xE1

#define ZS_STATE_COORD		9

/* MT commands by subsystem. */
#define SYS_RESET_REQ		0x00
#define SYS_PING		0x01
#define SYS_VERSION		0x02
#define SYS_GET_EXT_ADDR	0x04
#define SYS_NV_ITEM_INIT	0x07
#define SYS_NV_WRITE		0x09
#define SYS_NV_READ_EXT		0x1C
#define SYS_RESET_IND		0x80
#define UTIL_GET_DEVICE_INFO	0x00
#define ZDO_PERMIT_JOIN_REQ	0x36
#define ZDO_STARTUP_FROM_APP	0x40
#define ZDO_STATE_CHANGE_IND	0xC0
#define ZDO_END_DEVICE_ANNCE	0xC1
#define ZDO_LEAVE_IND		0xC9
#define ZDO_TC_DEV_IND		0xCA
#define AF_REGISTER		0x00
#define AF_DATA_REQUEST		0x01
#define AF_DATA_CONFIRM		0x80
#define AF_INCOMING_MSG		0x81
#define AF_INCOMING_MSG_EXT	0x82
#define AF_DATA_RETRIEVE	0x12
#define BDB_START_COMMISSION	0x05
#define BDB_SET_CHANNEL		0x08

/* NV items written when forming a network. */
#define NV_NIB			0x0021
#define NV_EXTENDED_PAN_ID	0x002D
#define NV_APS_USE_EXT_PANID	0x0047
#define NV_HAS_CONFIGURED	0x0060
#define NV_PRECFGKEY		0x0062
#define NV_PRECFGKEYS_ENABLE	0x0063
#define NV_PANID		0x0083
#define NV_CHANLIST		0x0084
#define NV_LOGICAL_TYPE		0x0087
#define NV_ZDO_DIRECT_CB	0x008F

enum zs_step {
	ZS_IDLE,
	ZS_PING,
	ZS_VERSION,
	ZS_EXT_ADDR,
	ZS_READ_NIB,
	ZS_DEVICE_INFO,
	ZS_STARTUP,
	ZS_NV_WRITE,
	ZS_CHANNEL_PRIMARY,
	ZS_CHANNEL_SECONDARY,
	ZS_COMMISSION,
	ZS_MARK_CONFIGURED,
	ZS_ACTIVE_EP,
	ZS_REGISTER,
	ZS_RUNNING
};

/* Our endpoints: id, profile, input clusters. */
static const struct {
	uint8_t		 id;
	uint16_t	 profile;
	uint16_t	 in[2];
	uint8_t		 nin;
} zs_endpoints[] = {
	{ 1, ZCL_PROFILE_HA, { 0 }, 0 },
	{ ADAPTER_OTA_EP, ZCL_PROFILE_HA, { ZCL_CLUSTER_OTA }, 1 },
	{ 47, ZCL_PROFILE_HA, { 0 }, 0 },
};
#define ZS_NENDPOINTS	(sizeof(zs_endpoints) / sizeof(zs_endpoints[0]))

struct zs_nv {
	uint16_t	 id;
	uint8_t		 len;
	uint8_t		 data[16];
};

struct zstack {
	struct adapter		 a;
	struct event_base	*base;
	const struct config	*conf;
	struct serial		*ser;
	struct mtr		*mtr;

	enum zs_step		 step;
	int			 attempts;
	int			 pending;	/* SRSP and AREQ of a step */
	int			 quiet;		/* "no answer" was logged */
	struct event		*timer;
	struct mtr_waiter	*waiter;

	uint64_t		 ieee;
	uint8_t			 product;
	uint32_t		 revision;
	int			 resumed;
	uint16_t		 pan;
	uint8_t			 channel;
	uint8_t			 dev_state;
	uint8_t			 present[32];	/* endpoints already there */
	size_t			 npresent;
	size_t			 idx;		/* of the NV item or endpoint */
	int			 nv_created;
	struct zs_nv		 nv[8];
	size_t			 nnv;
	uint8_t			 trans_id;
	size_t			 max_payload;
	TAILQ_HEAD(, zs_stored)	 stored;	/* large messages, fetching */
	size_t			 nstored;
	TAILQ_HEAD(, zs_send)	 sends;		/* ZCL sends not done yet */
	TAILQ_HEAD(, zs_zdo)	 zdos;		/* ZDO requests not done yet */
};

static void	zs_run(struct zstack *);
static void	zs_nv_add(struct zstack *, uint16_t, const void *, uint8_t);

static void
zs_goto(struct zstack *zs, enum zs_step step)
{
	zs->step = step;
	zs->pending = 0;
	zs->idx = 0;
	zs->nv_created = 0;
	if (step == ZS_MARK_CONFIGURED) {
		/* zigbee2mqtt's mark of an adapter it configured. */
		zs->nnv = 0;
		zs_nv_add(zs, NV_HAS_CONFIGURED, "\x55", 1);
	}
	zs_run(zs);
}

static void
zs_later(struct zstack *zs, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };

	evtimer_add(zs->timer, &tv);
}

/* Give up on this start and begin again after a pause. */
static void
zs_fail(struct zstack *zs, const char *what)
{
	log_warnx("adapter start-up failed: %s; retrying", what);
	mtr_wait_cancel(zs->waiter);
	zs->waiter = NULL;
	zs->step = ZS_PING;
	zs->attempts = 0;
	zs_later(zs, ZS_RETRY_MS);
}

static void
zs_timer_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	zs_run(arg);
}

/* Status byte of an SRSP, or -1 when there was none. */
static int
zs_status(const struct mt_frame *f)
{
	if (f == NULL || f->subsys == MT_SUBSYS_RPC_ERROR || f->len < 1)
		return (-1);
	return (f->data[0]);
}

/*
 * Each start-up callback first checks that its step still runs: a link
 * loss or a restart flushes the request of the step it cut short, and
 * that answer (NULL) must not schedule a retry against a link that is
 * gone, nor run a step twice once the link is back.
 */

static void
zs_ping_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;

	if (zs->step != ZS_PING)
		return;
	if (f != NULL) {
		zs->quiet = 0;
		zs_goto(zs, ZS_VERSION);
		return;
	}
	zs->attempts++;
	if (zs->attempts == 1) {
		/* Make a CC253x bootloader jump to the application. */
		log_debug("no answer to ping: bootloader skip");
		mtr_raw(zs->mtr, "\xEF", 1);
	} else if (zs->attempts == 2)
		serial_reset_lines(zs->ser);
	else if (zs->attempts == ZS_PING_TRIES && !zs->quiet) {
		log_warnx("the adapter on %s does not answer; still trying",
		    serial_path(zs->ser));
		zs->quiet = 1;
	}
	zs_later(zs, 1000);
}

static void
zs_version_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	struct brd	 r;

	if (zs->step != ZS_VERSION)
		return;
	if (f == NULL || f->subsys != MT_SUBSYS_SYS) {
		zs_fail(zs, "no answer to SYS_VERSION");
		return;
	}
	brd_init(&r, f->data, f->len);
	brd_u8(&r);
	zs->product = brd_u8(&r);
	brd_bytes(&r, NULL, 3);
	zs->revision = brd_u32(&r);
	log_info("adapter: Z-Stack product %u, revision %u", zs->product,
	    zs->revision);
	zs_goto(zs, ZS_EXT_ADDR);
}

static void
zs_ext_addr_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	struct brd	 r;

	if (zs->step != ZS_EXT_ADDR)
		return;
	if (f == NULL || f->subsys != MT_SUBSYS_SYS || f->len < 8) {
		zs_fail(zs, "no answer to SYS_GET_EXT_ADDR");
		return;
	}
	brd_init(&r, f->data, f->len);
	zs->ieee = brd_u64(&r);
	zs_goto(zs, ZS_READ_NIB);
}

/*
 * Whether the NIB (packed, 110 bytes, or padded, 116) describes a
 * formed network; fills the channel and PAN id.
 */
static int
zs_nib_formed(struct zstack *zs, const uint8_t *nib, size_t len)
{
	size_t	 off_ch, off_pan;

	if (len >= 116) {
		off_ch = 24;
		off_pan = 36;
	} else if (len >= 110) {
		off_ch = 22;
		off_pan = 33;
	} else
		return (0);
	zs->channel = nib[off_ch];
	zs->pan = (uint16_t)(nib[off_pan] | nib[off_pan + 1] << 8);
	return (zs->channel != 0 && zs->pan != 0xFFFF && zs->pan != 0xFFFE);
}

static void	zs_plan_formation(struct zstack *);

static void
zs_nib_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	struct brd	 r;
	uint8_t		 st, n;

	if (zs->step != ZS_READ_NIB)
		return;
	if (f == NULL || f->subsys != MT_SUBSYS_SYS) {
		zs_fail(zs, "no answer to the NIB read");
		return;
	}
	brd_init(&r, f->data, f->len);
	st = brd_u8(&r);
	n = brd_u8(&r);
	if (st == 0 && !r.err && n <= brd_left(&r) &&
	    zs_nib_formed(zs, brd_ptr(&r), n)) {
		zs->resumed = 1;
		log_info("adapter holds a network: channel %u, PAN 0x%04x",
		    zs->channel, zs->pan);
		zs_goto(zs, ZS_DEVICE_INFO);
		return;
	}
	zs->resumed = 0;
	log_info("adapter holds no network: forming one from the "
	    "configuration");
	zs_plan_formation(zs);
	zs_goto(zs, ZS_NV_WRITE);
}

static void
zs_device_info_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;

	if (zs->step != ZS_DEVICE_INFO)
		return;
	if (zs_status(f) != 0 || f->len < 13) {
		zs_fail(zs, "no answer to UTIL_GET_DEVICE_INFO");
		return;
	}
	zs->dev_state = f->data[12];
	zs_goto(zs, zs->dev_state == ZS_STATE_COORD ? ZS_ACTIVE_EP :
	    ZS_STARTUP);
}

/* One half of a two-part step (SRSP and AREQ) is done. */
static void
zs_half_done(struct zstack *zs, enum zs_step next)
{
	if (--zs->pending == 0)
		zs_goto(zs, next);
}

static void
zs_step_srsp_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	int		 st = zs_status(f);
	enum zs_step	 next;

	if (zs->step != ZS_STARTUP && zs->step != ZS_COMMISSION &&
	    zs->step != ZS_ACTIVE_EP)
		return;
	/* ZDO_STARTUP_FROM_APP: 0 restored, 1 new network, 2 failed. */
	if (st != 0 && !(zs->step == ZS_STARTUP && st == 1)) {
		zs_fail(zs, "the adapter refused a start-up request");
		return;
	}
	next = zs->step == ZS_STARTUP ? ZS_ACTIVE_EP :
	    zs->step == ZS_COMMISSION ? ZS_MARK_CONFIGURED : ZS_REGISTER;
	zs_half_done(zs, next);
}

static int
zs_match_started(const struct mt_frame *f, const void *arg)
{
	(void)arg;
	return (f->len >= 1 && f->data[0] == ZS_STATE_COORD);
}

static int
zs_match_from_coord(const struct mt_frame *f, const void *arg)
{
	(void)arg;
	return (f->len >= 2 && f->data[0] == 0 && f->data[1] == 0);
}

static void
zs_started_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;

	zs->waiter = NULL;
	if (f == NULL) {
		zs_fail(zs, "the network did not come up in time");
		return;
	}
	zs_half_done(zs, zs->step == ZS_STARTUP ? ZS_ACTIVE_EP :
	    ZS_MARK_CONFIGURED);
}

static void
zs_active_ep_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	struct brd	 r;
	uint8_t		 n;

	zs->waiter = NULL;
	if (f == NULL) {
		zs_fail(zs, "no active endpoint list from the adapter");
		return;
	}
	/* srcAddr, status, nwkAddr, count, endpoints */
	brd_init(&r, f->data, f->len);
	brd_bytes(&r, NULL, 5);
	n = brd_u8(&r);
	if (n > sizeof(zs->present))
		n = sizeof(zs->present);
	brd_bytes(&r, zs->present, n);
	zs->npresent = r.err ? 0 : n;
	zs_half_done(zs, ZS_REGISTER);
}

static int
zs_ep_present(const struct zstack *zs, uint8_t ep)
{
	size_t	 i;

	for (i = 0; i < zs->npresent; i++)
		if (zs->present[i] == ep)
			return (1);
	return (0);
}

static void
zs_nv_add(struct zstack *zs, uint16_t id, const void *data, uint8_t len)
{
	struct zs_nv	*nv;

	if (zs->nnv >= sizeof(zs->nv) / sizeof(zs->nv[0]) ||
	    len > sizeof(nv->data))
		fatalx("%s: NV plan too large", __func__);
	nv = &zs->nv[zs->nnv++];

	nv->id = id;
	nv->len = len;
	memcpy(nv->data, data, len);
}

/* The items that make Z-Stack form the configured network. */
static void
zs_plan_formation(struct zstack *zs)
{
	const struct config_advanced *adv = &zs->conf->advanced;
	uint8_t		 epid[8], key[16], zero = 0, one = 1, b[4];
	uint16_t	 pan = adv->pan_id;
	uint32_t	 mask = 1U << adv->channel;
	static const uint8_t placeholder[8] = { 0xdd, 0xdd, 0xdd, 0xdd,
	    0xdd, 0xdd, 0xdd, 0xdd };
	size_t		 i;

	memcpy(epid, adv->ext_pan_id, 8);
	memcpy(key, adv->network_key, 16);
	if (adv->pan_id_generate && getrandom(&pan, 2, 0) == 2)
		pan &= 0x3FFF;
	if (adv->ext_pan_id_generate) {
		if (getrandom(epid, 8, 0) != 8)
			fatalx("no randomness for an extended PAN id");
	} else if (memcmp(epid, placeholder, 8) == 0)
		for (i = 0; i < 8; i++)	/* as zigbee2mqtt: our IEEE */
			epid[i] = (uint8_t)(zs->ieee >> (8 * i));
	if (adv->network_key_generate && getrandom(key, 16, 0) != 16)
		fatalx("no randomness for a network key");
	/* The network formed from these, as zstack_network reports it. */
	zs->channel = (uint8_t)adv->channel;
	zs->pan = pan;
	zs->nnv = 0;
	zs_nv_add(zs, NV_LOGICAL_TYPE, &zero, 1);
	zs_nv_add(zs, NV_ZDO_DIRECT_CB, &one, 1);
	b[0] = (uint8_t)mask;
	b[1] = (uint8_t)(mask >> 8);
	b[2] = (uint8_t)(mask >> 16);
	b[3] = (uint8_t)(mask >> 24);
	zs_nv_add(zs, NV_CHANLIST, b, 4);
	b[0] = (uint8_t)pan;
	b[1] = (uint8_t)(pan >> 8);
	zs_nv_add(zs, NV_PANID, b, 2);
	zs_nv_add(zs, NV_EXTENDED_PAN_ID, epid, 8);
	zs_nv_add(zs, NV_APS_USE_EXT_PANID, epid, 8);
	zs_nv_add(zs, NV_PRECFGKEYS_ENABLE, &zero, 1);
	zs_nv_add(zs, NV_PRECFGKEY, key, 16);
	explicit_bzero(key, sizeof(key));
}

static void
zs_nv_write_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	int		 st = zs_status(f);

	if (zs->step != ZS_NV_WRITE && zs->step != ZS_MARK_CONFIGURED)
		return;
	if (zs->nv_created == 0) {
		/* ITEM_INIT: 9 created with our value, 0 already there. */
		if (st == 0x09)
			zs->idx++;
		else if (st == 0)
			zs->nv_created = 1;
		else {
			zs_fail(zs, "cannot create an NV item");
			return;
		}
	} else {
		if (st != 0) {
			zs_fail(zs, "cannot write an NV item");
			return;
		}
		zs->nv_created = 0;
		zs->idx++;
	}
	zs_run(zs);
}

static void
zs_nv_step(struct zstack *zs)
{
	const struct zs_nv	*nv;
	uint8_t			 buf[32];
	struct bwr		 w;
	enum zs_step		 after = zs->step == ZS_NV_WRITE ?
				    ZS_CHANNEL_PRIMARY : ZS_ACTIVE_EP;

	if (zs->idx >= zs->nnv) {
		zs_goto(zs, after);
		return;
	}
	nv = &zs->nv[zs->idx];
	bwr_init(&w, buf, sizeof(buf));
	bwr_u16(&w, nv->id);
	if (zs->nv_created == 0) {
		bwr_u16(&w, nv->len);
		bwr_u8(&w, nv->len);
		bwr_bytes(&w, nv->data, nv->len);
		mtr_sreq(zs->mtr, MT_SUBSYS_SYS, SYS_NV_ITEM_INIT, buf, w.len,
		    0, zs_nv_write_cb, zs);
	} else {
		bwr_u8(&w, 0);
		bwr_u8(&w, nv->len);
		bwr_bytes(&w, nv->data, nv->len);
		mtr_sreq(zs->mtr, MT_SUBSYS_SYS, SYS_NV_WRITE, buf, w.len, 0,
		    zs_nv_write_cb, zs);
	}
}

static void
zs_simple_srsp_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;

	if (zs->step != ZS_CHANNEL_PRIMARY && zs->step != ZS_CHANNEL_SECONDARY)
		return;
	if (zs_status(f) != 0) {
		zs_fail(zs, "the adapter refused a channel setting");
		return;
	}
	zs_goto(zs, zs->step + 1);
}

static void
zs_register_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;

	if (zs->step != ZS_REGISTER)
		return;
	if (zs_status(f) != 0) {
		log_warnx("adapter: endpoint %u not registered (status %d)",
		    zs_endpoints[zs->idx].id, zs_status(f));
		zs_fail(zs, "endpoint registration");
		return;
	}
	zs->idx++;
	zs_run(zs);
}

static void
zs_register_step(struct zstack *zs)
{
	uint8_t		 buf[32];
	struct bwr	 w;
	size_t		 i;

	while (zs->idx < ZS_NENDPOINTS &&
	    zs_ep_present(zs, zs_endpoints[zs->idx].id))
		zs->idx++;
	if (zs->idx >= ZS_NENDPOINTS) {
		zs->step = ZS_RUNNING;
		log_info("network %s; OTA server on endpoint %u",
		    zs->resumed ? "resumed" : "formed", ADAPTER_OTA_EP);
		adapter_set_state(&zs->a, ADAPTER_UP);
		return;
	}
	bwr_init(&w, buf, sizeof(buf));
	bwr_u8(&w, zs_endpoints[zs->idx].id);
	bwr_u16(&w, zs_endpoints[zs->idx].profile);
	bwr_u16(&w, 0x0005);	/* device id: configuration tool */
	bwr_u8(&w, 0);
	bwr_u8(&w, 0);		/* latency */
	bwr_u8(&w, zs_endpoints[zs->idx].nin);
	for (i = 0; i < zs_endpoints[zs->idx].nin; i++)
		bwr_u16(&w, zs_endpoints[zs->idx].in[i]);
	bwr_u8(&w, 0);
	mtr_sreq(zs->mtr, MT_SUBSYS_AF, AF_REGISTER, buf, w.len, 0,
	    zs_register_cb, zs);
}

/* A step answered by an SRSP and then a ZDO_STATE_CHANGE_IND(9). */
static void
zs_start_network(struct zstack *zs, uint8_t subsys, uint8_t cmd,
    const void *data, size_t len, int timeout_ms)
{
	zs->pending = 2;
	zs->waiter = mtr_wait(zs->mtr, MT_SUBSYS_ZDO, ZDO_STATE_CHANGE_IND,
	    zs_match_started, NULL, timeout_ms, zs_started_cb, zs);
	mtr_sreq(zs->mtr, subsys, cmd, data, len, 0, zs_step_srsp_cb, zs);
}

static void
zs_run(struct zstack *zs)
{
	uint8_t		 buf[16];
	uint32_t	 mask;

	switch (zs->step) {
	case ZS_IDLE:
	case ZS_RUNNING:
		break;
	case ZS_PING:
		mtr_sreq(zs->mtr, MT_SUBSYS_SYS, SYS_PING, NULL, 0,
		    ZS_PING_TIMEOUT_MS, zs_ping_cb, zs);
		break;
	case ZS_VERSION:
		mtr_sreq(zs->mtr, MT_SUBSYS_SYS, SYS_VERSION, NULL, 0, 0,
		    zs_version_cb, zs);
		break;
	case ZS_EXT_ADDR:
		mtr_sreq(zs->mtr, MT_SUBSYS_SYS, SYS_GET_EXT_ADDR, NULL, 0, 0,
		    zs_ext_addr_cb, zs);
		break;
	case ZS_READ_NIB:
		memcpy(buf, "\x21\x00\x00\x00", 4);
		mtr_sreq(zs->mtr, MT_SUBSYS_SYS, SYS_NV_READ_EXT, buf, 4, 0,
		    zs_nib_cb, zs);
		break;
	case ZS_DEVICE_INFO:
		mtr_sreq(zs->mtr, MT_SUBSYS_UTIL, UTIL_GET_DEVICE_INFO, NULL,
		    0, 0, zs_device_info_cb, zs);
		break;
	case ZS_STARTUP:
		zs_start_network(zs, MT_SUBSYS_ZDO, ZDO_STARTUP_FROM_APP,
		    "\x64\x00", 2, ZS_START_TIMEOUT_MS);
		break;
	case ZS_NV_WRITE:
	case ZS_MARK_CONFIGURED:
		zs_nv_step(zs);
		break;
	case ZS_CHANNEL_PRIMARY:
	case ZS_CHANNEL_SECONDARY:
		mask = zs->step == ZS_CHANNEL_PRIMARY ?
		    1U << zs->conf->advanced.channel : 0;
		buf[0] = zs->step == ZS_CHANNEL_PRIMARY;
		memcpy(buf + 1, &mask, 4);	/* x86 and ARM: little-endian */
		mtr_sreq(zs->mtr, MT_SUBSYS_APP_CNF, BDB_SET_CHANNEL, buf, 5,
		    0, zs_simple_srsp_cb, zs);
		break;
	case ZS_COMMISSION:
		zs_start_network(zs, MT_SUBSYS_APP_CNF, BDB_START_COMMISSION,
		    "\x04", 1, ZS_FORM_TIMEOUT_MS);
		break;
	case ZS_ACTIVE_EP:
		zs->pending = 2;
		zs->waiter = mtr_wait(zs->mtr, MT_SUBSYS_ZDO, 0x85,
		    zs_match_from_coord, NULL, ZS_ZDO_TIMEOUT_MS,
		    zs_active_ep_cb, zs);
		mtr_sreq(zs->mtr, MT_SUBSYS_ZDO, 0x05, "\0\0\0\0", 4, 0,
		    zs_step_srsp_cb, zs);
		break;
	case ZS_REGISTER:
		zs_register_step(zs);
		break;
	}
}

/*
 * Callbacks from the adapter.
 */

static void
zs_incoming_cb(const struct mt_frame *f, void *arg)
{
	struct zstack		*zs = arg;
	struct adapter_msg	 m;
	struct brd		 r;
	uint8_t			 n;

	brd_init(&r, f->data, f->len);
	brd_u16(&r);			/* group */
	m.cluster = brd_u16(&r);
	m.nwk = brd_u16(&r);
	m.src_ep = brd_u8(&r);
	m.dst_ep = brd_u8(&r);
	m.broadcast = brd_u8(&r);
	m.lqi = brd_u8(&r);
	brd_bytes(&r, NULL, 6);		/* security, timestamp, transSeq */
	n = brd_u8(&r);
	if (r.err || n > brd_left(&r)) {
		log_warnx("adapter: AF_INCOMING_MSG cut short (%u bytes), "
		    "dropped", f->len);
		return;
	}
	m.data = brd_ptr(&r);
	m.len = n;
	if (zs->a.cbs.zcl != NULL)
		zs->a.cbs.zcl(&m, zs->a.arg);
}

/*
 * AF_INCOMING_MSG_EXT is Z-Stack's form for a message from a 64-bit
 * source (inter-PAN) and for one too large for an MT frame (reassembled
 * from APS fragments). The large one comes without its data, which
 * waits in the adapter under the message's timestamp: we fetch it with
 * AF_DATA_RETRIEVE, then free the adapter's copy with a zero length.
 */

struct zs_stored {
	TAILQ_ENTRY(zs_stored)	 entry;
	struct zstack		*zs;
	struct adapter_msg	 m;		/* DATA is BUF */
	uint32_t		 stamp;
	uint8_t			*buf;
	size_t			 have;
	uint8_t			 asked;
};

static void	zs_stored_next(struct zs_stored *);

/* Let the adapter free its copy. */
static void
zs_stored_release(struct zstack *zs, uint32_t stamp)
{
	uint8_t		 buf[7];
	struct bwr	 w;

	bwr_init(&w, buf, sizeof(buf));
	bwr_u32(&w, stamp);
	bwr_u16(&w, 0);
	bwr_u8(&w, 0);
	mtr_sreq(zs->mtr, MT_SUBSYS_AF, AF_DATA_RETRIEVE, buf, w.len, 0,
	    NULL, NULL);
}

static void
zs_stored_free(struct zs_stored *st)
{
	TAILQ_REMOVE(&st->zs->stored, st, entry);
	st->zs->nstored--;
	free(st->buf);
	free(st);
}

static void
zs_stored_cb(const struct mt_frame *f, void *arg)
{
	struct zs_stored	*st = arg;
	struct zstack		*zs = st->zs;
	uint8_t			 n;

	/* The link went or the adapter reset: its copy went with it. */
	if (zs->step != ZS_RUNNING) {
		zs_stored_free(st);
		return;
	}
	/* Status, length, then at most the bytes we asked for. */
	n = f != NULL && f->len >= 2 ? f->data[1] : 0;
	if (zs_status(f) != 0 || n == 0 || n > st->asked ||
	    n > f->len - 2u) {
		log_warnx("adapter: a %zu-byte message from 0x%04x could not "
		    "be fetched (status %d, %u bytes), dropped", st->m.len,
		    st->m.nwk, zs_status(f), n);
		zs_stored_release(zs, st->stamp);
		zs_stored_free(st);
		return;
	}
	memcpy(st->buf + st->have, f->data + 2, n);
	st->have += n;
	zs_stored_next(st);
}

static void
zs_stored_next(struct zs_stored *st)
{
	struct zstack	*zs = st->zs;
	size_t		 left = st->m.len - st->have;
	uint8_t		 buf[7];
	struct bwr	 w;

	if (left == 0) {
		zs_stored_release(zs, st->stamp);
		if (zs->a.cbs.zcl != NULL)
			zs->a.cbs.zcl(&st->m, zs->a.arg);
		zs_stored_free(st);
		return;
	}
	st->asked = left < ZS_RETRIEVE_CHUNK ? left : ZS_RETRIEVE_CHUNK;
	bwr_init(&w, buf, sizeof(buf));
	bwr_u32(&w, st->stamp);
	bwr_u16(&w, (uint16_t)st->have);
	bwr_u8(&w, st->asked);
	if (mtr_sreq(zs->mtr, MT_SUBSYS_AF, AF_DATA_RETRIEVE, buf, w.len, 0,
	    zs_stored_cb, st) == -1) {
		log_warnx("adapter: too many requests queued to fetch a "
		    "%zu-byte message from 0x%04x, dropped", st->m.len,
		    st->m.nwk);
		zs_stored_free(st);
	}
}

static void
zs_stored_start(struct zstack *zs, const struct adapter_msg *m,
    uint32_t stamp, size_t len)
{
	struct zs_stored	*st;

	if (len > ZS_INCOMING_MAX || zs->nstored >= ZS_STORED_MAX ||
	    zs->step != ZS_RUNNING) {
		log_warnx("adapter: a %zu-byte message from 0x%04x dropped: "
		    "%s", len, m->nwk, len > ZS_INCOMING_MAX ? "too large" :
		    zs->step != ZS_RUNNING ? "the network is not up" :
		    "too many being fetched");
		zs_stored_release(zs, stamp);
		return;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->buf = malloc(len)) == NULL) {
		log_warn("adapter: a %zu-byte message dropped", len);
		free(st);
		zs_stored_release(zs, stamp);
		return;
	}
	st->zs = zs;
	st->m = *m;
	st->m.data = st->buf;
	st->m.len = len;
	st->stamp = stamp;
	TAILQ_INSERT_TAIL(&zs->stored, st, entry);
	zs->nstored++;
	zs_stored_next(st);
}

static void
zs_incoming_ext_cb(const struct mt_frame *f, void *arg)
{
	struct zstack		*zs = arg;
	struct adapter_msg	 m;
	struct brd		 r;
	uint8_t			 mode, addr[8];
	uint32_t		 stamp;
	size_t			 n;

	brd_init(&r, f->data, f->len);
	brd_u16(&r);			/* group */
	m.cluster = brd_u16(&r);
	mode = brd_u8(&r);
	brd_bytes(&r, addr, sizeof(addr));
	m.src_ep = brd_u8(&r);
	brd_u16(&r);			/* source PAN */
	m.dst_ep = brd_u8(&r);
	m.broadcast = brd_u8(&r);
	m.lqi = brd_u8(&r);
	brd_u8(&r);			/* security */
	stamp = brd_u32(&r);
	brd_u8(&r);			/* transSeq */
	n = brd_u16(&r);
	if (r.err) {
		log_warnx("adapter: AF_INCOMING_MSG_EXT cut short (%u bytes), "
		    "dropped", f->len);
		return;
	}
	m.nwk = (uint16_t)(addr[0] | addr[1] << 8);
	/* Its data is in the frame, or only a trailer is left. */
	if (n > brd_left(&r) && brd_left(&r) > ZS_EXT_TRAILER) {
		log_warnx("adapter: AF_INCOMING_MSG_EXT cut short (%zu of "
		    "%zu data bytes), dropped", brd_left(&r), n);
		return;
	}
	if (mode != ZS_ADDR_NWK) {
		/* Inter-PAN (touchlink): nothing for an OTA server. */
		log_debug("adapter: frame from outside the network "
		    "(address mode %u) ignored", mode);
		if (n > brd_left(&r))
			zs_stored_release(zs, stamp);
		return;
	}
	if (n > brd_left(&r)) {
		zs_stored_start(zs, &m, stamp, n);
		return;
	}
	m.data = brd_ptr(&r);
	m.len = n;
	if (zs->a.cbs.zcl != NULL)
		zs->a.cbs.zcl(&m, zs->a.arg);
}

static void
zs_tc_dev_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	struct brd	 r;
	uint16_t	 nwk;
	uint64_t	 ieee;

	brd_init(&r, f->data, f->len);
	nwk = brd_u16(&r);
	ieee = brd_u64(&r);
	if (r.err) {
		log_warnx("adapter: ZDO_TC_DEV_IND cut short, dropped");
		return;
	}
	if (zs->a.cbs.joined != NULL)
		zs->a.cbs.joined(nwk, ieee, zs->a.arg);
}

static void
zs_announce_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	struct brd	 r;
	uint16_t	 nwk;
	uint64_t	 ieee;
	uint8_t		 caps;

	brd_init(&r, f->data, f->len);
	brd_u16(&r);
	nwk = brd_u16(&r);
	ieee = brd_u64(&r);
	caps = brd_u8(&r);
	if (r.err) {
		log_warnx("adapter: device announce cut short, dropped");
		return;
	}
	if (zs->a.cbs.announce != NULL)
		zs->a.cbs.announce(nwk, ieee, caps, zs->a.arg);
}

static void
zs_leave_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;
	struct brd	 r;
	uint16_t	 nwk;
	uint64_t	 ieee;
	uint8_t		 rejoin;

	brd_init(&r, f->data, f->len);
	nwk = brd_u16(&r);
	ieee = brd_u64(&r);
	brd_u8(&r);
	brd_u8(&r);
	rejoin = brd_u8(&r);
	if (r.err) {
		log_warnx("adapter: ZDO_LEAVE_IND cut short, dropped");
		return;
	}
	/* A device that leaves to rejoin stays ours. */
	if (!rejoin && zs->a.cbs.left != NULL)
		zs->a.cbs.left(nwk, ieee, zs->a.arg);
}

/* Start from scratch: a new link, or an adapter that reset itself. */
static void
zs_restart(struct zstack *zs)
{
	evtimer_del(zs->timer);
	mtr_wait_cancel(zs->waiter);
	zs->waiter = NULL;
	adapter_set_state(&zs->a, ADAPTER_DOWN);
	zs->step = ZS_IDLE;
	mtr_reset(zs->mtr);
	zs->attempts = 0;
	zs_goto(zs, ZS_PING);
}

static void
zs_reset_ind_cb(const struct mt_frame *f, void *arg)
{
	struct zstack	*zs = arg;

	(void)f;
	/* Endpoint registrations are lost on a reset. */
	if (zs->step == ZS_RUNNING) {
		log_warnx("adapter reset itself; starting again");
		zs_restart(zs);
	}
}

static void
zs_link_data(const uint8_t *buf, size_t len, void *arg)
{
	struct zstack	*zs = arg;

	mtr_feed(zs->mtr, buf, len);
}

static void
zs_link_up(void *arg)
{
	zs_restart(arg);
}

static void
zs_link_down(void *arg)
{
	struct zstack	*zs = arg;

	evtimer_del(zs->timer);
	mtr_wait_cancel(zs->waiter);
	zs->waiter = NULL;
	zs->step = ZS_IDLE;
	adapter_set_state(&zs->a, ADAPTER_DOWN);
	mtr_reset(zs->mtr);
}

static int
zs_link_write(const uint8_t *buf, size_t len, void *arg)
{
	struct zstack	*zs = arg;

	return (serial_write(zs->ser, buf, len));
}

/*
 * Sending ZCL: AF_DATA_REQUEST, its SRSP, then AF_DATA_CONFIRM.
 */

struct zs_send {
	TAILQ_ENTRY(zs_send)	 entry;
	struct zstack		*zs;
	uint8_t			 trans_id;
	struct mtr_waiter	*waiter;
	int			 srsp_done;
	int			 confirm;	/* -2 until it came */
	int			 tries;		/* sends that met congestion */
	struct event		*retry;
	uint8_t			 buf[MT_MAX_PAYLOAD];
	size_t			 len;
	adapter_sent_cb		*cb;
	void			*arg;
};

static int	zs_send_issue(struct zs_send *);

/* Statuses of a busy network, not of a lost route or device. */
static int
zs_transient(int status)
{
	return (status == ZS_BUFFER_FULL || status == ZS_NO_RESOURCES ||
	    status == ZS_CHANNEL_ACCESS_FAILURE);
}

static void
zs_send_free(struct zs_send *s, int status)
{
	TAILQ_REMOVE(&s->zs->sends, s, entry);
	if (s->cb != NULL)
		s->cb(status, s->arg);
	event_free(s->retry);
	free(s);
}

static void
zs_send_done(struct zs_send *s, int status)
{
	struct timeval	 tv = { 0, ZS_SEND_RETRY_MS * 1000 };

	if (s->waiter != NULL)
		mtr_wait_cancel(s->waiter);
	s->waiter = NULL;
	/* Congestion passes: send again after a pause, a few times. */
	if (zs_transient(status) && s->tries++ < ZS_SEND_TRIES &&
	    s->zs->step == ZS_RUNNING) {
		evtimer_add(s->retry, &tv);
		return;
	}
	zs_send_free(s, status);
}

static void
zs_send_retry_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct zs_send	*s = arg;

	(void)fd;
	(void)ev;
	if (s->zs->step != ZS_RUNNING || zs_send_issue(s) == -1)
		zs_send_free(s, ADAPTER_NO_ANSWER);
}

static int
zs_match_confirm(const struct mt_frame *f, const void *arg)
{
	const struct zs_send	*s = arg;

	return (f->len >= 3 && f->data[2] == s->trans_id);
}

static void
zs_confirm_cb(const struct mt_frame *f, void *arg)
{
	struct zs_send	*s = arg;

	s->waiter = NULL;
	s->confirm = f != NULL ? f->data[0] : ADAPTER_NO_ANSWER;
	if (s->srsp_done)
		zs_send_done(s, s->confirm);
}

static void
zs_send_srsp_cb(const struct mt_frame *f, void *arg)
{
	struct zs_send	*s = arg;
	int		 st = zs_status(f);

	if (st != 0) {
		zs_send_done(s, st == -1 ? ADAPTER_NO_ANSWER : st);
		return;
	}
	s->srsp_done = 1;
	if (s->confirm != -2)
		zs_send_done(s, s->confirm);
}

/* Write the request, with a new transaction id, and wait for it. */
static int
zs_send_issue(struct zs_send *s)
{
	struct zstack	*zs = s->zs;

	if (++zs->trans_id == 0)
		zs->trans_id = 1;
	s->trans_id = zs->trans_id;
	s->buf[6] = s->trans_id;
	s->srsp_done = 0;
	s->confirm = -2;
	/* Armed first: the confirm may beat the SRSP on a busy link. */
	s->waiter = mtr_wait(zs->mtr, MT_SUBSYS_AF, AF_DATA_CONFIRM,
	    zs_match_confirm, s, ZS_CONFIRM_TIMEOUT_MS, zs_confirm_cb, s);
	if (s->waiter == NULL || mtr_sreq(zs->mtr, MT_SUBSYS_AF,
	    AF_DATA_REQUEST, s->buf, s->len, 0, zs_send_srsp_cb, s) == -1) {
		mtr_wait_cancel(s->waiter);
		s->waiter = NULL;
		return (-1);
	}
	return (0);
}

static int
zs_send(struct adapter *a, uint16_t nwk, uint8_t dst_ep, uint8_t src_ep,
    uint16_t cluster, const uint8_t *data, size_t len, adapter_sent_cb *cb,
    void *arg)
{
	struct zstack	*zs = (struct zstack *)a;
	struct zs_send	*s;
	struct bwr	 w;

	if (zs->step != ZS_RUNNING || len > MT_MAX_PAYLOAD - 10 ||
	    (s = calloc(1, sizeof(*s))) == NULL)
		return (-1);
	if ((s->retry = evtimer_new(zs->base, zs_send_retry_cb, s)) == NULL) {
		free(s);
		return (-1);
	}
	s->zs = zs;
	s->cb = cb;
	s->arg = arg;
	bwr_init(&w, s->buf, sizeof(s->buf));
	bwr_u16(&w, nwk);
	bwr_u8(&w, dst_ep);
	bwr_u8(&w, src_ep);
	bwr_u16(&w, cluster);
	bwr_u8(&w, 0);			/* transaction id, set per send */
	bwr_u8(&w, 0);			/* options: as zigbee2mqtt */
	bwr_u8(&w, ZS_RADIUS);
	bwr_u8(&w, (uint8_t)len);
	bwr_bytes(&w, data, len);
	s->len = w.len;
	if (zs_send_issue(s) == -1) {
		event_free(s->retry);
		free(s);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&zs->sends, s, entry);
	return (0);
}

/*
 * ZDO requests: the SRSP only says the request was queued; the answer
 * comes as an AREQ numbered 0x80 above the request, from the device.
 */

struct zs_zdo {
	TAILQ_ENTRY(zs_zdo)	 entry;
	struct zstack		*zs;
	uint16_t		 nwk;
	struct mtr_waiter	*waiter;
	int			 srsp_done;
	int			 answered;	/* CB has been called */
	adapter_zdo_cb		*cb;
	void			*arg;
};

static void
zs_zdo_free(struct zs_zdo *z)
{
	TAILQ_REMOVE(&z->zs->zdos, z, entry);
	free(z);
}

static int
zs_match_zdo(const struct mt_frame *f, const void *arg)
{
	const struct zs_zdo	*z = arg;

	return (f->len >= 2 && (f->data[0] | f->data[1] << 8) == z->nwk);
}

static void
zs_zdo_rsp_cb(const struct mt_frame *f, void *arg)
{
	struct zs_zdo	*z = arg;

	z->waiter = NULL;
	if (f == NULL)
		z->cb(NULL, 0, z->arg);
	else
		z->cb(f->data + 2, f->len - 2u, z->arg);
	z->answered = 1;
	/* The answer beat its SRSP (one lost, or late): wait for that. */
	if (z->srsp_done)
		zs_zdo_free(z);
}

static void
zs_zdo_srsp_cb(const struct mt_frame *f, void *arg)
{
	struct zs_zdo	*z = arg;

	z->srsp_done = 1;
	if (z->answered) {
		zs_zdo_free(z);
		return;
	}
	if (zs_status(f) == 0)
		return;
	mtr_wait_cancel(z->waiter);
	z->cb(NULL, 0, z->arg);
	zs_zdo_free(z);
}

/*
 * The ZDO request CMD, REQ being its whole body, whose answer node NWK
 * sends as the AREQ CMD | 0x80 with its address first; CB gets it, or
 * NULL when it does not come.
 */
static int
zs_zdo_request(struct zstack *zs, uint16_t nwk, uint8_t cmd,
    const uint8_t *req, size_t len, adapter_zdo_cb *cb, void *arg)
{
	struct zs_zdo	*z;

	if (zs->step != ZS_RUNNING || (z = calloc(1, sizeof(*z))) == NULL)
		return (-1);
	z->zs = zs;
	z->nwk = nwk;
	z->cb = cb;
	z->arg = arg;
	z->waiter = mtr_wait(zs->mtr, MT_SUBSYS_ZDO, cmd | 0x80, zs_match_zdo,
	    z, ZS_ZDO_TIMEOUT_MS, zs_zdo_rsp_cb, z);
	if (z->waiter == NULL || mtr_sreq(zs->mtr, MT_SUBSYS_ZDO, cmd, req,
	    len, 0, zs_zdo_srsp_cb, z) == -1) {
		mtr_wait_cancel(z->waiter);
		free(z);
		return (-1);
	}
	TAILQ_INSERT_TAIL(&zs->zdos, z, entry);
	return (0);
}

static int
zs_zdo(struct adapter *a, uint16_t nwk, uint8_t cmd, const uint8_t *body,
    size_t len, adapter_zdo_cb *cb, void *arg)
{
	uint8_t		 buf[64];
	struct bwr	 w;

	bwr_init(&w, buf, sizeof(buf));
	bwr_u16(&w, nwk);
	bwr_bytes(&w, body, len);
	if (w.err)
		return (-1);
	return (zs_zdo_request((struct zstack *)a, nwk, cmd, buf, w.len, cb,
	    arg));
}

static void
zs_permit_cb(const struct mt_frame *f, void *arg)
{
	(void)arg;
	if (zs_status(f) != 0)
		log_warnx("adapter refused to permit joining");
}

static int
zs_permit_join(struct adapter *a, uint8_t seconds)
{
	struct zstack	*zs = (struct zstack *)a;
	uint8_t		 buf[5] = { 0x0F, 0xFC, 0xFF, seconds, 1 };

	if (zs->step != ZS_RUNNING)
		return (-1);
	return (mtr_sreq(zs->mtr, MT_SUBSYS_ZDO, ZDO_PERMIT_JOIN_REQ, buf,
	    sizeof(buf), 0, zs_permit_cb, zs));
}

/*
 * Mgmt_Permit_Joining_req to one node (address mode 2): the node, even
 * the coordinator itself, answers with Mgmt_Permit_Joining_rsp, which
 * comes as the AREQ 0xB6 with its address first, as other ZDO answers.
 */
static int
zs_permit_join_at(struct adapter *a, uint16_t nwk, uint8_t seconds,
    adapter_zdo_cb *cb, void *arg)
{
	uint8_t		 buf[5] = { 0x02, nwk & 0xFF, nwk >> 8, seconds,
			    1 };

	return (zs_zdo_request((struct zstack *)a, nwk, ZDO_PERMIT_JOIN_REQ,
	    buf, sizeof(buf), cb, arg));
}

static size_t
zs_max_payload(const struct adapter *a)
{
	return (((const struct zstack *)a)->max_payload);
}

static uint64_t
zs_ieee(const struct adapter *a)
{
	return (((const struct zstack *)a)->ieee);
}

/*
 * Sends and ZDO requests still out when the adapter goes (the daemon
 * stops) are dropped without their callbacks, which would reach the OTA
 * server and the service, freed before the adapter. mtr_free has
 * already dropped their waiters and requests.
 */
static void
zs_drop_requests(struct zstack *zs)
{
	struct zs_send	*s;
	struct zs_zdo	*z;

	while ((s = TAILQ_FIRST(&zs->sends)) != NULL) {
		s->cb = NULL;
		zs_send_free(s, ADAPTER_NO_ANSWER);
	}
	while ((z = TAILQ_FIRST(&zs->zdos)) != NULL)
		zs_zdo_free(z);
}

static void
zs_free(struct adapter *a)
{
	struct zstack		*zs = (struct zstack *)a;
	struct zs_stored	*st;

	mtr_wait_cancel(zs->waiter);
	zs->waiter = NULL;
	mtr_free(zs->mtr);
	zs_drop_requests(zs);
	while ((st = TAILQ_FIRST(&zs->stored)) != NULL)
		zs_stored_free(st);
	serial_free(zs->ser);
	if (zs->timer != NULL)
		event_free(zs->timer);
	free(zs);
}

static int
zs_start(struct adapter *a)
{
	struct zstack	*zs = (struct zstack *)a;

	return (serial_start(zs->ser));
}

static const struct adapter_ops zs_ops = {
	.name = "zstack",
	.start = zs_start,
	.send = zs_send,
	.zdo = zs_zdo,
	.permit_join = zs_permit_join,
	.permit_join_at = zs_permit_join_at,
	.max_payload = zs_max_payload,
	.ieee = zs_ieee,
	.free = zs_free,
};

static int
zs_subscribe_all(struct zstack *zs)
{
	return (mtr_subscribe(zs->mtr, MT_SUBSYS_AF, AF_INCOMING_MSG,
	    zs_incoming_cb, zs) == -1 ||
	    mtr_subscribe(zs->mtr, MT_SUBSYS_AF, AF_INCOMING_MSG_EXT,
	    zs_incoming_ext_cb, zs) == -1 ||
	    mtr_subscribe(zs->mtr, MT_SUBSYS_ZDO, ZDO_TC_DEV_IND,
	    zs_tc_dev_cb, zs) == -1 ||
	    mtr_subscribe(zs->mtr, MT_SUBSYS_ZDO, ZDO_END_DEVICE_ANNCE,
	    zs_announce_cb, zs) == -1 ||
	    mtr_subscribe(zs->mtr, MT_SUBSYS_ZDO, ZDO_LEAVE_IND,
	    zs_leave_cb, zs) == -1 ||
	    mtr_subscribe(zs->mtr, MT_SUBSYS_SYS, SYS_RESET_IND,
	    zs_reset_ind_cb, zs) == -1 ? -1 : 0);
}

struct adapter *
zstack_new(struct event_base *base, const struct config *conf,
    const struct adapter_cbs *cbs, void *arg)
{
	struct zstack		*zs;
	struct serial_cbs	 scbs = { zs_link_data, zs_link_up,
				    zs_link_down };

	if ((zs = calloc(1, sizeof(*zs))) == NULL)
		return (NULL);
	TAILQ_INIT(&zs->stored);
	TAILQ_INIT(&zs->sends);
	TAILQ_INIT(&zs->zdos);
	zs->a.ops = &zs_ops;
	zs->a.cbs = *cbs;
	zs->a.arg = arg;
	zs->a.state = ADAPTER_DOWN;
	zs->base = base;
	zs->conf = conf;
	zs->max_payload = ZS_APS_PAYLOAD;
	zs->ser = serial_new(base, conf->serial.port, conf->serial.baudrate,
	    conf->serial.rtscts, &scbs, zs);
	zs->mtr = mtr_new(base, zs_link_write, zs);
	zs->timer = evtimer_new(base, zs_timer_cb, zs);
	if (zs->ser == NULL || zs->mtr == NULL || zs->timer == NULL ||
	    zs_subscribe_all(zs) == -1) {
		zs_free(&zs->a);
		return (NULL);
	}
	return (&zs->a);
}

int
zstack_resumed(const struct adapter *a)
{
	return (((const struct zstack *)a)->resumed);
}

int
zstack_network(const struct adapter *a, uint8_t *channel, uint16_t *pan)
{
	const struct zstack	*zs = (const struct zstack *)a;

	if (!adapter_is_up(a))
		return (-1);
	*channel = zs->channel;
	*pan = zs->pan;
	return (0);
}
