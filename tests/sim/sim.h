/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_SIM_H
#define ZOTAD_SIM_H

/*
 * zotad-sim: a Z-Stack 3.x coordinator on a pseudo terminal or a loopback
 * TCP port, with simulated devices that run the ZCL OTA client. The
 * pieces: sim_link (transport, pacing), sim_znp (MT commands of the
 * coordinator), sim_nv (NV items), sim_zdo (ZDO requests), sim_dev (the
 * devices, their radio link and ZCL), sim_ota (the OTA client state
 * machine), sim_scenario (the JSON scenario), sim_event (the JSON lines
 * event log), sim_ctl (the control socket) and sim_util (byte readers,
 * writers, timers, random numbers).
 */

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>

#include "../../zotad-radio/mt.h"

struct cJSON;
struct sim;
struct sim_device;

#define SIM_MAX_EPS		32
#define SIM_MAX_CLUSTERS	16
#define SIM_MAX_DEVICES		128	/* room for a 100-device load test */
#define SIM_MAX_GROUPS		16
#define SIM_STR_MAX		33	/* ZCL strings we keep, plus a NUL */
#define SIM_FRAME_MAX		2048	/* ZCL bytes a device may send */
#define SIM_MAX_STORED		8	/* large messages kept for the host */

/* ---- sim_util.c: bounded readers and writers, timers, randomness ---- */

struct sim_rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;	/* set once any read ran past the end */
};

struct sim_wr {
	uint8_t		 buf[256];
	size_t		 len;
	int		 err;	/* set once any write did not fit */
};

void	 rd_init(struct sim_rd *, const uint8_t *, size_t);
uint8_t	 rd_u8(struct sim_rd *);
uint16_t rd_u16(struct sim_rd *);
uint32_t rd_u32(struct sim_rd *);
void	 rd_bytes(struct sim_rd *, void *, size_t);
size_t	 rd_left(const struct sim_rd *);

void	 wr_init(struct sim_wr *);
void	 wr_u8(struct sim_wr *, uint8_t);
void	 wr_u16(struct sim_wr *, uint16_t);
void	 wr_u32(struct sim_wr *, uint32_t);
void	 wr_bytes(struct sim_wr *, const void *, size_t);

/* Run FN(ARG) once after MS milliseconds; the timer frees itself. */
void	 sim_later(struct sim *, uint32_t ms, void (*fn)(void *), void *arg);
/* The same for an ARG from malloc that FN frees (freed if never run). */
void	 sim_later_owned(struct sim *, uint32_t ms, void (*fn)(void *),
	    void *arg);
/* Drop every timer that has not fired, at exit. */
void	 sim_timers_free(struct sim *);

/* A deterministic generator per stream, seeded from --seed. */
struct sim_rng {
	uint64_t	 s;
};
void	 rng_seed(struct sim_rng *, uint64_t seed, uint64_t stream);
uint32_t rng_next(struct sim_rng *);
/* True with probability P (0..1). */
int	 rng_chance(struct sim_rng *, double p);
/* Uniform in LO..HI inclusive. */
uint32_t rng_range(struct sim_rng *, uint32_t lo, uint32_t hi);

/* Milliseconds since the simulator started (monotonic). */
uint64_t sim_now_ms(struct sim *);

/* IEEE helpers: wire order is LSB first, text is "0x" + 16 hex digits. */
int	 ieee_parse(const char *, uint8_t ieee[8]);
void	 ieee_format(const uint8_t ieee[8], char out[19]);

/* Hex digits (an even number, at most 2 * MAX) into bytes; 0 or -1. */
int	 hex_parse(const char *, uint8_t *out, size_t max, size_t *len);

/* ---- sim_event.c: the JSON lines event log ---- */

int	 sim_event_open(struct sim *, const char *path);
void	 sim_event_close(struct sim *);
/* Take ownership of OBJ, add "t" and "ev", write it as one line. */
void	 sim_event(struct sim *, const char *ev, struct cJSON *obj);
/* A fresh object with the device's name and IEEE, for device events. */
struct cJSON *sim_event_dev(const struct sim_device *);

/* ---- sim_nv.c: OSAL and extended NV items ---- */

struct sim_nv_item {
	TAILQ_ENTRY(sim_nv_item) entry;
	uint8_t		 sysid;		/* 0 for OSAL items */
	uint16_t	 id;
	uint16_t	 sub;
	uint16_t	 len;
	uint8_t		*data;
};
TAILQ_HEAD(sim_nv, sim_nv_item);

#define NV_EXTADDR		0x0001
#define NV_STARTUP_OPTION	0x0003
#define NV_NIB			0x0021
#define NV_EXTENDED_PAN_ID	0x002D
#define NV_ACTIVE_KEY_INFO	0x003A
#define NV_ALTERN_KEY_INFO	0x003B
#define NV_APS_USE_EXT_PANID	0x0047
#define NV_BDBNODEISONANETWORK	0x0055
#define NV_HAS_CONFIGURED	0x0060
#define NV_PRECFGKEY		0x0062
#define NV_PRECFGKEYS_ENABLE	0x0063
#define NV_NWKKEY		0x0082
#define NV_PANID		0x0083
#define NV_CHANLIST		0x0084
#define NV_LOGICAL_TYPE		0x0087
#define NV_ZDO_DIRECT_CB	0x008F
#define NV_TCLK_SEED		0x0101

#define NV_ITEM_MAX		2048	/* bytes in one item a host creates */
#define NV_ITEMS_MAX		1024	/* items in all, like a flash page */
#define NIB_LEN			110	/* packed, as a 21-byte NWKKEY says */

void	 nv_init(struct sim_nv *);
void	 nv_free(struct sim_nv *);
struct sim_nv_item *nv_find(struct sim_nv *, uint8_t sysid, uint16_t id,
	    uint16_t sub);
/* Create or replace an item with LEN bytes of DATA (NULL: zeros). */
struct sim_nv_item *nv_set(struct sim_nv *, uint8_t sysid, uint16_t id,
	    uint16_t sub, const void *data, size_t len);
void	 nv_delete(struct sim_nv *, struct sim_nv_item *);
/* True when a host may create one more item of LEN bytes. */
int	 nv_room(struct sim_nv *, size_t len);
/* Fill NV like an adapter that holds the scenario's formed network. */
void	 nv_load_formed(struct sim *);
/* Fill NV like a blank adapter fresh from flashing. */
void	 nv_load_blank(struct sim *);
/* Form the network from the commissioning items a host wrote. */
void	 nv_form_network(struct sim *);
/* True when the NIB says a network is formed. */
int	 nv_network_formed(struct sim *);
/* The PAN id, EPID (LE) and channel of the NIB; -1 when not formed. */
int	 nv_network(struct sim *, uint16_t *pan, uint8_t epid[8],
	    uint8_t *channel);
/* Apply STARTUP_OPTION at a reset. */
void	 nv_reset_apply(struct sim *);

/* ---- sim_link.c: the host side transport ---- */

int	 link_open_pty(struct sim *, const char *link_path);
int	 link_open_tcp(struct sim *, const char *hostport);
void	 link_close(struct sim *);
/* Queue a frame to the host, paced at the configured baud rate. */
void	 link_send(struct sim *, const struct mt_frame *);
/* Queue bytes as they are (malformed frames); -1 without a host. */
int	 link_send_raw(struct sim *, const uint8_t *, size_t);
void	 link_send_areq(struct sim *, uint8_t subsys, uint8_t cmd,
	    const struct sim_wr *);
/* Drop the connection as if the adapter were unplugged; replug later. */
void	 link_unplug(struct sim *);
int	 link_replug(struct sim *);

/* ---- sim_znp.c: the coordinator ---- */

struct sim_ep {
	uint8_t		 id;
	uint16_t	 profile;
	uint16_t	 device_id;
	uint8_t		 version;
	uint8_t		 nin;
	uint8_t		 nout;
	uint16_t	 in[SIM_MAX_CLUSTERS];
	uint16_t	 out[SIM_MAX_CLUSTERS];
};

/* Handle one frame from the host. */
void	 znp_frame(struct sim *, const struct mt_frame *);
/* The adapter powered up (start) or was reset: clear RAM state. */
void	 znp_power_up(struct sim *, uint8_t reason, int send_ind);
/* Forget the messages kept for the host (at a reset, or the end). */
void	 znp_stored_clear(struct sim *);
/* The coordinator endpoint with OTA (0x0019) as input, or NULL. */
const struct sim_ep *znp_ota_server_ep(struct sim *);
int	 ep_has_in(const struct sim_ep *, uint16_t cluster);
int	 ep_has_out(const struct sim_ep *, uint16_t cluster);
int	 ep_write_simple_desc(struct sim_wr *, const struct sim_ep *);
/*
 * Send a frame from a device to the coordinator: AF_INCOMING_MSG, or
 * for one too large for an MT frame AF_INCOMING_MSG_EXT without its
 * data, which the host fetches with AF_DATA_RETRIEVE.
 */
void	 znp_incoming(struct sim *, struct sim_device *, uint8_t src_ep,
	    uint8_t dst_ep, uint16_t cluster, const uint8_t *, size_t);

/* ---- sim_zdo.c: ZDO requests ---- */

/* An MT ZDO SREQ; fills the SRSP status. Returns 0 if handled. */
int	 zdo_mt_request(struct sim *, const struct mt_frame *, uint8_t *status);
/* A ZDO request sent over AF to endpoint 0 (zigpy-znp's path). */
void	 zdo_af_request(struct sim *, uint16_t dst, uint16_t cluster,
	    const uint8_t *, size_t);
/* A device tells the network it (re)joined: TC_DEV_IND and announce. */
void	 zdo_device_joined(struct sim *, struct sim_device *, int tc_ind);
void	 zdo_announce(struct sim *, struct sim_device *);
void	 zdo_device_left(struct sim *, struct sim_device *);

/* ---- sim_dev.c: devices ---- */

enum sim_dev_kind {
	DEV_ROUTER,
	DEV_END,
	DEV_SLEEPY,
};

/* Basic cluster values and battery, as the device reports them. */
struct sim_basic {
	char		 manufacturer[SIM_STR_MAX];
	char		 model[SIM_STR_MAX];
	char		 sw_build_id[17];
	char		 date_code[17];
	uint8_t		 power_source;
	uint8_t		 hw_version;
	uint8_t		 app_version;
	uint8_t		 stack_version;
	uint8_t		 zcl_version;
	int		 battery;	/* percent, -1 when not reported */
};

/* Behaviours a scenario can inject into an OTA client. */
struct sim_inject {
	int		 ignore_image_notify;
	int64_t		 silent_at;	/* offset, -1 off */
	int64_t		 abort_at;	/* offset, -1 off */
	int		 end_invalid_image;
	int		 reject_block_over;	/* bytes, 0 off */
	int		 reboot_no_announce;
	int		 out_of_order;
	int		 repeat_offsets;
};

struct sim_ota_cfg {
	int		 enabled;
	uint8_t		 endpoint;
	uint16_t	 manufacturer;
	uint16_t	 image_type;
	uint32_t	 file_version;
	int		 has_hw_version;
	uint16_t	 hw_version;
	uint8_t		 max_data_size;
	uint16_t	 min_block_period;	/* ms */
	int		 page_mode;
	uint16_t	 page_size;
	uint16_t	 page_spacing;		/* ms */
	uint32_t	 query_interval_ms;	/* 0: never on its own */
	uint32_t	 block_timeout_ms;
	uint32_t	 block_retries;
	uint32_t	 reply_latency_ms;
	uint32_t	 reboot_ms;
	uint32_t	 end_retry_ms;
	int		 has_expect_sha512;
	char		 expect_sha512[129];	/* of the served range */
	struct sim_basic after;			/* Basic values once upgraded */
	int		 after_set;
	struct sim_inject inject;
};

enum sim_ota_state {
	OTA_IDLE,
	OTA_QUERYING,
	OTA_DOWNLOAD,
	OTA_VERIFY,
	OTA_WAIT_UPGRADE,
	OTA_COUNTDOWN,
	OTA_REBOOTING,
	OTA_SILENT,
};

struct sim_ota {
	enum sim_ota_state state;
	uint8_t		 server_ep;
	uint32_t	 image_size;
	uint32_t	 new_version;
	uint8_t		*image;		/* image_size bytes being received */
	uint8_t		*have;		/* one bit per byte received */
	uint32_t	 received;	/* distinct bytes received */
	uint32_t	 req_offset;	/* offset of the outstanding request */
	uint8_t		 req_tsn;
	uint32_t	 tries;		/* of the outstanding request */
	uint32_t	 end_tries;
	uint16_t	 block_period;	/* current pacing, ms */
	uint32_t	 blocks;
	uint32_t	 repeats_left;
	struct event	*timer;
	struct event	*query_timer;
};

/* A frame for a device waiting in its parent's indirect queue. */
struct sim_pending {
	TAILQ_ENTRY(sim_pending) entry;
	uint64_t	 queued_ms;
	uint8_t		 src_ep;
	uint8_t		 dst_ep;
	uint8_t		 trans_id;
	uint16_t	 cluster;
	size_t		 len;
	uint8_t		 data[256];
};
TAILQ_HEAD(sim_pendq, sim_pending);

struct sim_device {
	struct sim	*sim;
	int		 index;
	char		 name[SIM_STR_MAX];
	uint8_t		 ieee[8];
	uint16_t	 nwk;
	uint16_t	 manufacturer_code;	/* node descriptor */
	enum sim_dev_kind kind;
	uint32_t	 poll_ms;
	uint32_t	 fast_poll_ms;
	uint32_t	 expire_ms;
	int		 joined;
	struct sim_basic basic;
	struct sim_ep	 eps[8];
	int		 neps;
	struct sim_ota_cfg ota_cfg;
	struct sim_ota	 ota;
	struct sim_rng	 rng;
	uint8_t		 tsn;
	struct sim_pendq pending;
	int		 npending;
	struct event	*poll_ev;
};

struct sim_device *dev_by_nwk(struct sim *, uint16_t nwk);
struct sim_device *dev_by_ieee(struct sim *, const uint8_t ieee[8]);
struct sim_device *dev_by_name(struct sim *, const char *);
/* Add a device built by the scenario parser; the sim takes ownership. */
int	 dev_add(struct sim *, struct sim_device *);
void	 dev_start(struct sim_device *);
void	 dev_join(struct sim_device *);
void	 dev_leave(struct sim_device *);
void	 dev_free(struct sim_device *);
/* An AF data request to NWK from the host; returns the SRSP status. */
uint8_t	 dev_af_request(struct sim *, uint16_t nwk, uint8_t dst_ep,
	    uint8_t src_ep, uint16_t cluster, uint8_t trans_id,
	    const uint8_t *, size_t);
/* A broadcast or group frame the device hears; nothing is confirmed. */
void	 dev_af_broadcast(struct sim_device *, uint8_t dst_ep, uint8_t src_ep,
	    uint16_t cluster, const uint8_t *, size_t);
/* Send a ZCL frame from the device after its reply latency. */
void	 dev_send_zcl(struct sim_device *, uint8_t src_ep, uint8_t dst_ep,
	    uint16_t cluster, const struct sim_wr *, uint32_t delay_ms);
/* Send LEN bytes of ZCL on CLUSTER now, as given (control socket). */
int	 dev_send_frame(struct sim_device *, uint16_t cluster,
	    const uint8_t *, size_t);
uint8_t	 dev_next_tsn(struct sim_device *);
/* The device's node descriptor (13 bytes). */
void	 dev_node_desc(const struct sim_device *, struct sim_wr *);
/* MAC capability byte for announces. */
uint8_t	 dev_capabilities(const struct sim_device *);

/* ---- sim_ota.c: OTA client ---- */

void	 ota_start(struct sim_device *);
void	 ota_stop(struct sim_device *);
/* A cluster 0x0019 frame from the server. */
void	 ota_zcl(struct sim_device *, uint8_t src_ep, uint8_t dst_ep,
	    uint8_t fc, uint8_t tsn, uint8_t cmd, const uint8_t *, size_t);
/* Send a Query Next Image Request now (control socket). */
void	 ota_query_now(struct sim_device *);
const char *ota_state_name(enum sim_ota_state);

/* ---- sim_scenario.c ---- */

int	 scenario_load(struct sim *, const char *path);
/* Build a device from its JSON description (also used by "join"). */
struct sim_device *scenario_device(struct sim *, const struct cJSON *,
	    char *err, size_t errlen);

/* ---- sim_ctl.c: the control socket ---- */

int	 ctl_open(struct sim *, const char *path);
void	 ctl_close(struct sim *);

/* ---- the simulator as a whole ---- */

struct sim_link_cfg {
	uint32_t	 baud;		/* 0: no pacing */
	uint32_t	 air_latency_ms;
	double		 loss_rate;
	uint32_t	 confirm_delay_ms;
	uint8_t		 confirm_status;	/* forced status, 0 normal */
	double		 confirm_fail_rate;
	uint8_t		 confirm_fail_status;
};

struct sim_adapter {
	uint8_t		 ieee[8];
	uint16_t	 pan_id;
	uint8_t		 epid[8];	/* LE, as stored in NV */
	uint8_t		 channel;
	uint8_t		 key[16];
	int		 formed;
	uint32_t	 revision;
};

struct sim_timer;
TAILQ_HEAD(sim_timerq, sim_timer);

/* A message too large for an MT frame, kept until the host frees it. */
struct sim_stored {
	uint32_t	 stamp;
	size_t		 len;
	uint8_t		*data;		/* NULL: the slot is free */
};

struct sim {
	struct event_base *base;
	struct sim_timerq timers;
	uint64_t	 seed;
	uint64_t	 start_ms;

	/* Transport. */
	int		 link_kind;	/* 0 none, 1 pty, 2 tcp */
	char		*pty_link;
	int		 pty_master;
	int		 pty_slave;
	struct evconnlistener *listener;
	struct bufferevent *bev;	/* the host, when connected */
	struct ev_token_bucket_cfg *rate;
	struct mt_decoder dec;
	int		 unplugged;

	/* Coordinator. */
	struct sim_adapter adapter;
	struct sim_link_cfg link;
	struct sim_nv	 nv;
	int		 dev_state;
	struct sim_ep	 eps[SIM_MAX_EPS];
	int		 neps;
	struct {
		uint8_t	 ep;
		uint16_t id;
	}		 groups[SIM_MAX_GROUPS];
	int		 ngroups;
	int		 zdo_cb_registered;
	uint8_t		 permit_join;
	uint8_t		 zdo_seq;
	uint32_t	 rx_stamp;
	struct sim_stored stored[SIM_MAX_STORED];
	struct sim_rng	 rng;

	/* Devices. */
	struct sim_device *devs[SIM_MAX_DEVICES];
	int		 ndevs;

	/* Observability. */
	FILE		*events;
	int		 ctl_fd;
	char		*ctl_path;
	struct event	*ctl_ev;
};

#endif
