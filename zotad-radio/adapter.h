/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_ADAPTER_H
#define ZOTAD_RADIO_ADAPTER_H

/*
 * What the rest of zotad-radio needs from a Zigbee adapter, whatever its
 * serial protocol: start or resume the network, register our endpoints,
 * send a ZCL frame to a device, ask a device a ZDO question, permit
 * joining, and tell us about incoming ZCL and devices that join,
 * announce themselves or leave. Z-Stack (zstack.c) implements it; other
 * stacks can follow behind the same operations.
 */

#include <stddef.h>
#include <stdint.h>

enum adapter_state {
	ADAPTER_DOWN,		/* no link, or the link is starting */
	ADAPTER_UP		/* the network runs, endpoints registered */
};

/* Send outcomes besides the stack's own status codes. */
#define ADAPTER_SENT		0	/* the next hop took it */
#define ADAPTER_TOO_BIG		0x02	/* payload above the stack's MTU */
#define ADAPTER_NO_ANSWER	(-1)	/* timed out, or the link was lost */

/* Our OTA server endpoint, as zigbee2mqtt's adapter registers it. */
#define ADAPTER_OTA_EP		13

/* A ZCL frame from a device. DATA is only valid during the callback. */
struct adapter_msg {
	uint16_t	 nwk;
	uint8_t		 src_ep;
	uint8_t		 dst_ep;
	uint16_t	 cluster;
	uint8_t		 lqi;
	int		 broadcast;
	const uint8_t	*data;
	size_t		 len;
};

struct adapter_cbs {
	void	(*state)(enum adapter_state st, void *arg);
	void	(*zcl)(const struct adapter_msg *m, void *arg);
	/* A device joined (trust centre) or announced itself. */
	void	(*joined)(uint16_t nwk, uint64_t ieee, void *arg);
	void	(*announce)(uint16_t nwk, uint64_t ieee, uint8_t caps,
		    void *arg);
	void	(*left)(uint16_t nwk, uint64_t ieee, void *arg);
};

/*
 * The outcome of a send: ADAPTER_SENT, a stack status, or NO_ANSWER.
 * Implementations send again by themselves through congestion, so a
 * failure here is final.
 */
typedef void	adapter_sent_cb(int status, void *arg);

/*
 * A ZDO answer: its body after the source address (status first), or
 * RSP NULL when the device did not answer in time.
 */
typedef void	adapter_zdo_cb(const uint8_t *rsp, size_t len, void *arg);

struct adapter;

struct adapter_ops {
	const char	*name;
	/* Open the link and start; the state callback reports progress. */
	int	(*start)(struct adapter *);
	int	(*send)(struct adapter *, uint16_t nwk, uint8_t dst_ep,
		    uint8_t src_ep, uint16_t cluster, const uint8_t *data,
		    size_t len, adapter_sent_cb *cb, void *arg);
	/* ZDO request CMD (0x02 node, 0x04 simple, 0x05 active endpoints)
	 * with BODY after the destination address. */
	int	(*zdo)(struct adapter *, uint16_t nwk, uint8_t cmd,
		    const uint8_t *body, size_t len, adapter_zdo_cb *cb,
		    void *arg);
	int	(*permit_join)(struct adapter *, uint8_t seconds);
	/* Permit joining through the router or coordinator at NWK only;
	 * CB gets its Mgmt_Permit_Joining_rsp (status first). Optional. */
	int	(*permit_join_at)(struct adapter *, uint16_t nwk,
		    uint8_t seconds, adapter_zdo_cb *cb, void *arg);
	/* Largest ZCL frame the stack sends unfragmented. */
	size_t	(*max_payload)(const struct adapter *);
	uint64_t (*ieee)(const struct adapter *);
	/* Sends and ZDO requests still out are dropped without calling
	 * back: their callers are freed before the adapter. */
	void	(*free)(struct adapter *);
};

/* Every implementation's handle starts with this. */
struct adapter {
	const struct adapter_ops *ops;
	struct adapter_cbs	 cbs;
	void			*arg;
	enum adapter_state	 state;
};

int	adapter_start(struct adapter *);
int	adapter_send(struct adapter *, uint16_t nwk, uint8_t dst_ep,
	    uint8_t src_ep, uint16_t cluster, const uint8_t *data, size_t len,
	    adapter_sent_cb *cb, void *arg);
int	adapter_zdo(struct adapter *, uint16_t nwk, uint8_t cmd,
	    const uint8_t *body, size_t len, adapter_zdo_cb *cb, void *arg);
int	adapter_permit_join(struct adapter *, uint8_t seconds);
int	adapter_permit_join_at(struct adapter *, uint16_t nwk,
	    uint8_t seconds, adapter_zdo_cb *cb, void *arg);
size_t	adapter_max_payload(const struct adapter *);
uint64_t adapter_ieee(const struct adapter *);
int	adapter_is_up(const struct adapter *);
void	adapter_free(struct adapter *);

/* Report a state change to the owner (for implementations). */
void	adapter_set_state(struct adapter *, enum adapter_state);

#endif
