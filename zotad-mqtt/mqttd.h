/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_MQTT_MQTTD_H
#define ZOTAD_MQTT_MQTTD_H

/*
 * zotad-mqtt: zigbee2mqtt's MQTT API for OTA updates in front of
 * zotad-radio. One header for the daemon's modules, grouped by file:
 *
 *	client.c	the broker connection, libmosquitto on libevent
 *	request.c	OTA request topics and payloads, parsed and checked
 *	response.c	response envelopes as zigbee2mqtt builds them
 *	devstate.c	the devices we know and their update state
 *	bridge.c	bridge/devices and bridge/request/permit_join
 *	discovery.c	Home Assistant discovery of the update entities
 *	radioc.c	the io.zotad.Radio client
 *	ota.c		requests turned into Radio calls and answered
 *	mqttd.c		the daemon wiring them together
 *	confine.c	the seccomp sandbox
 */

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

struct config;
struct config_mqtt;
struct ipc_conn;
struct ipc_reply;

/*
 * client.c: one broker connection driven from the libevent loop through
 * libmosquitto's socket and its read, write and housekeeping steps.
 */

struct mqc;

struct mqc_cbs {
	/* A connection was accepted by the broker (every reconnect too). */
	void	(*connected)(void *arg);
	/* A message arrived; PAYLOAD is NUL-terminated one past LEN. */
	void	(*message)(const char *topic, const char *payload,
		    size_t len, int retained, void *arg);
};

#define MQC_BACKOFF_MIN	1	/* seconds before the first reconnect */
#define MQC_BACKOFF_MAX	60	/* and at most this long */

/*
 * A client for the broker in CONF (borrowed; must outlive the client).
 * With WILL_TOPIC the broker publishes WILL_PAYLOAD there, retained, if
 * the connection is lost. The TLS context for mqtts:// is built here, so
 * that CA, certificate and key files are read before any sandbox.
 * Returns NULL with the reason logged.
 */
struct mqc	*mqc_new(struct event_base *base,
		    const struct config_mqtt *conf, const char *will_topic,
		    const char *will_payload, const struct mqc_cbs *cbs,
		    void *arg);

/* Start connecting; failures are retried with back-off. Returns 0. */
int		 mqc_start(struct mqc *c);

/*
 * Publish PAYLOAD (a C string) on TOPIC. Returns 0, or -1 when not
 * connected or the library refused it (logged at debug level).
 */
int		 mqc_publish(struct mqc *c, const char *topic,
		    const char *payload, int qos, int retain);

/* Publish LEN bytes: the same for payloads that may hold NUL bytes. */
int		 mqc_publish_raw(struct mqc *c, const char *topic,
		    const void *payload, size_t len, int qos, int retain);

/* Subscribe to PATTERN (MQTT wildcards allowed) with QOS. */
int		 mqc_subscribe(struct mqc *c, const char *pattern, int qos);

/* Whether the broker has accepted the connection. */
int		 mqc_connected(const struct mqc *c);

/* Disconnect cleanly (the will is not sent) after flushing output. */
void		 mqc_stop(struct mqc *c);

void		 mqc_free(struct mqc *c);

/*
 * request.c: bridge/request/device/ota_update/... requests.
 */

enum mqreq_verb {
	MQREQ_CHECK,
	MQREQ_UPDATE,
	MQREQ_SCHEDULE,
	MQREQ_UNSCHEDULE
};

#define MQREQ_ID_MAX		256	/* bytes of a device id */
#define MQREQ_URL_MAX		2048	/* url bytes, as zotad-radio takes */
#define MQREQ_FILE_NAME_MAX	255

/* Ranges of the per-request timing overrides, as zigbee2mqtt has them. */
#define MQREQ_TIMEOUT_MIN	10000		/* ms */
#define MQREQ_TIMEOUT_MAX	2147483647	/* ms */
#define MQREQ_DELAY_MIN		50		/* ms */
#define MQREQ_DELAY_MAX		60000		/* ms */
#define MQREQ_DATA_SIZE_MIN	10		/* bytes */
#define MQREQ_DATA_SIZE_MAX	100		/* bytes */

struct mqreq {
	enum mqreq_verb	 verb;
	int		 downgrade;
	int		 abort;		/* update/abort */
	int		 bare;		/* the payload was a bare id */
	int		 legacy;	/* 1.x API: answer on bridge/log */
	char		*id;		/* friendly name or IEEE address */
	cJSON		*transaction;	/* echoed in the response, or NULL */
	char		*url;		/* index or image; NULL for default */
	uint8_t		*image;		/* decoded "hex" data, or NULL */
	size_t		 image_len;
	char		*file_name;	/* "hex" file_name, or NULL */
	/* Per-request overrides; 0 means "as configured". */
	int64_t		 block_request_timeout;
	int64_t		 block_response_delay;
	int64_t		 max_data_size;
};

/*
 * Read the topic SUFFIX after ".../ota_update/" into REQ's verb and
 * flags ("check", "update/downgrade", "update/abort", ...; case does not
 * matter). Returns 0; -1 when no verb is recognised (nowhere to answer);
 * -2 when the verb is known but the rest is not, with REQ->verb set so
 * that an error can be answered there.
 */
int		 mqreq_topic(const char *suffix, struct mqreq *req);

/*
 * Parse PAYLOAD (LEN bytes) for REQ, whose verb mqreq_topic has set.
 * MAX_IMAGE caps decoded "hex" images. Returns 0, or -1 with a message
 * for the user in ERR; REQ->transaction is set whenever the payload
 * carried one, even on error, so that the error can echo it.
 */
int		 mqreq_parse(struct mqreq *req, const char *payload,
		    size_t len, size_t max_image, char *err, size_t errlen);

/* Free what REQ holds and zero it. */
void		 mqreq_clear(struct mqreq *req);

/* "check", "update", "schedule" or "unschedule". */
const char	*mqreq_verb_name(enum mqreq_verb verb);

/*
 * response.c: {"data": {...}, "status": "ok"} and
 * {"data": {}, "status": "error", "error": "..."}, each with the
 * request's "transaction" when it had one. They return a new string.
 */

/* DATA is taken (freed here); TRANSACTION borrowed, may be NULL. */
char		*mqresp_ok(cJSON *data, const cJSON *transaction);
char		*mqresp_error(const char *message, const cJSON *transaction);

/* The data of a successful check, as zigbee2mqtt 1.x and 2.x name it. */
cJSON		*mqresp_check_data(const char *id, int available,
		    int downgrade, const char *source, const char *notes);

/*
 * devstate.c: every device zotad-radio reported, with its friendly
 * name from the configuration and the update state we publish.
 */

enum mqdev_state {
	MQDEV_IDLE,
	MQDEV_AVAILABLE,
	MQDEV_SCHEDULED,
	MQDEV_UPDATING,
	MQDEV_QUEUED,		/* zotad: waiting for a free transfer slot */
	MQDEV_WAITING		/* zotad: waiting for the device to ask */
};

#define MQDEV_STR_MAX		64
#define MQDEV_NOTES_MAX		4096
#define MQDEV_PROGRESS_EVERY	5	/* seconds between progress updates */
#define MQDEV_MAX		1024	/* devices we keep */

struct mqdev_update {
	enum mqdev_state state;
	int64_t		 installed;	/* -1 unknown */
	int64_t		 latest;	/* -1 unknown */
	char		*source;	/* NULL unknown */
	char		*notes;
	double		 progress;	/* -1 when not updating */
	int64_t		 remaining;	/* seconds, -1 unknown */
};

struct mqdev {
	uint64_t	 ieee;
	char		 ieee_str[19];
	char		*friendly_name;
	int		 retain;
	int		 qos;
	char		 type[16];	/* "Router", "EndDevice", "Unknown" */
	char		 model[MQDEV_STR_MAX];
	char		 manufacturer[MQDEV_STR_MAX];
	char		 sw_build_id[MQDEV_STR_MAX];
	char		 date_code[MQDEV_STR_MAX];
	int		 supports_ota;
	int		 interviewed;
	struct mqdev_update up;
	time_t		 last_progress;	/* when progress was last published */
	int		 dirty;		/* a change waits for publishing */
};

struct mqdevs;

struct mqdevs	*mqdevs_new(const struct config *conf);
void		 mqdevs_free(struct mqdevs *t);
size_t		 mqdevs_count(const struct mqdevs *t);
struct mqdev	*mqdevs_at(struct mqdevs *t, size_t i);
struct mqdev	*mqdevs_find(struct mqdevs *t, uint64_t ieee);

/* Forget every device (before a fresh list from zotad-radio). */
void		 mqdevs_clear(struct mqdevs *t);

/*
 * Add or refresh the device described by DEV (an object as zotad-radio
 * sends it). Returns the device, or NULL with ERR saying what was wrong.
 * *ADDED tells whether it is new.
 */
struct mqdev	*mqdevs_upsert(struct mqdevs *t, const cJSON *dev,
		    int *added, char *err, size_t errlen);

/* Remove the device; the pointer is invalid afterwards. */
void		 mqdevs_remove(struct mqdevs *t, uint64_t ieee);

/*
 * The device a request's ID names: a friendly name from the
 * configuration, or an IEEE address ("0x" and 16 hex digits, any case).
 */
struct mqdev	*mqdevs_resolve(struct mqdevs *t, const char *id);

/*
 * Apply an update state object U (as zotad-radio sends it, or as we
 * build it from a reply). Returns 1 when something visible changed.
 */
int		 mqdevs_apply_update(struct mqdev *d, const cJSON *u);

/* Take OLD's update state, latest version, source and notes. */
void		 mqdevs_keep(struct mqdev *d, const struct mqdev *old);

/* Set only the state, keeping versions, source and notes. */
int		 mqdevs_set_state(struct mqdev *d, enum mqdev_state st);

/* The payload for <base>/<friendly_name>; LEGACY adds update_available. */
char		*mqdevs_state_payload(const struct mqdev *d, int legacy);

const char	*mqdevs_state_name(enum mqdev_state st);

/* Parse "0x" and 16 hex digits (either case). Returns 0 or -1. */
int		 mqdevs_parse_ieee(const char *s, uint64_t *ieee);

/*
 * bridge.c
 */

/* The retained bridge/devices payload for the devices in T. */
char		*mqbridge_devices(struct mqdevs *t);

/* What a permit_join request asks for. */
struct mqbridge_permit {
	int		 time;		/* seconds, 0 closes */
	char		*device;	/* a router's id, or NULL for all */
	cJSON		*transaction;
};

#define MQBRIDGE_PERMIT_MAX	254	/* seconds, as zigbee2mqtt */

/*
 * Parse a permit_join payload: {"time": N, "device"?: id} (2.x),
 * {"value": bool, "time"?: N} (1.x), or a bare number, true or false.
 * Returns 0, or -1 with ERR for the user; P->transaction is set when
 * the payload had one.
 */
int		 mqbridge_permit_parse(const char *payload, size_t len,
		    struct mqbridge_permit *p, char *err, size_t errlen);
void		 mqbridge_permit_clear(struct mqbridge_permit *p);

/*
 * discovery.c: Home Assistant MQTT discovery.
 */

/* The discovery topic of D's update entity, in BUF. */
int		 mqha_topic(const struct config *conf, const struct mqdev *d,
		    char *buf, size_t len);

/* Its configuration payload (a new string). */
char		*mqha_payload(const struct config *conf,
		    const struct mqdev *d);

/*
 * radioc.c: the io.zotad.Radio client; see the comment there for the
 * methods and parameters spoken.
 */

struct mqradio;

struct mqradio_cbs {
	/* The service answered ListDevices (on every reconnect). */
	void	(*devices)(const cJSON *devices, void *arg);
	/* One event of the Subscribe stream. */
	void	(*event)(const cJSON *event, void *arg);
	/* The connection went away. */
	void	(*lost)(void *arg);
};

#define MQRADIO_SOCKET		"radio.sock"	/* in the run dir */
/* Made up locally for a call that could not be made; never sent. */
#define MQRADIO_ERR_UNREACHABLE	"io.zotad.Mqtt.RadioUnreachable"

struct mqradio	*mqradio_new(struct event_base *base, const char *path,
		    const struct mqradio_cbs *cbs, void *arg);
void		 mqradio_free(struct mqradio *r);

/* Connect now and again with back-off whenever the link is lost. */
void		 mqradio_start(struct mqradio *r);

/* Whether the service is connected and has sent its device list. */
int		 mqradio_ready(const struct mqradio *r);

/*
 * ON: something waits for zotad-radio to come back, so reconnect every
 * second rather than with the usual back-off.
 */
void		 mqradio_eager(struct mqradio *r, int on);

/*
 * Call METHOD with PARAMS (borrowed) and at most one descriptor (which
 * is duplicated); CB gets the single reply, or MQRADIO_ERR_UNREACHABLE
 * when no connection could be made for the call. Returns 0, or -1 when
 * zotad-radio is not connected.
 */
int		 mqradio_call(struct mqradio *r, const char *method,
		    const cJSON *params, const int *fds, size_t nfds,
		    void (*cb)(struct ipc_conn *, struct ipc_reply *, void *),
		    void *arg);

/*
 * ota.c and mqttd.c: the daemon.
 */

struct mqota_job;
TAILQ_HEAD(mqota_jobs, mqota_job);

struct mqttd {
	struct event_base	*base;
	const struct config	*conf;
	struct mqc		*mqc;
	struct mqradio		*radio;
	struct mqdevs		*devs;
	struct event		*flush_ev;	/* deferred state publishing */
	struct mqota_jobs	 detached;	/* cut off from the radio */
};

/* Set up the daemon on BASE: broker client (with TLS) and radio client. */
struct mqttd	*mqttd_new(struct event_base *base, const struct config *conf,
		    const char *radio_path);

/* Start connecting to the broker and to zotad-radio. */
void		 mqttd_start(struct mqttd *d);

/* Publish offline and disconnect cleanly. */
void		 mqttd_stop(struct mqttd *d);
void		 mqttd_free(struct mqttd *d);

/* Publish on <base>/SUFFIX. */
int		 mqttd_publish(struct mqttd *d, const char *suffix,
		    const char *payload, int qos, int retain);

/* Publish D's state on <base>/<friendly_name> now or soon (throttled). */
void		 mqttd_device_changed(struct mqttd *d, struct mqdev *dev);

/* Publish bridge/devices again, and discovery for D when not NULL. */
void		 mqttd_devices_changed(struct mqttd *d, struct mqdev *dev);

/*
 * An OTA request arrived on ".../ota_update/SUFFIX". LEGACY: it came on
 * zigbee2mqtt 1.x's bridge/ota_update/(check|update), so it is answered
 * with "ota_update" messages on bridge/log instead of a response topic.
 */
void		 mqota_request(struct mqttd *d, const char *suffix,
		    const char *payload, size_t len, int legacy);

/* With legacy_api, D's transfer progress as a bridge/log message. */
void		 mqota_legacy_progress(struct mqttd *d,
		    const struct mqdev *dev);

/* A permit_join request arrived. */
void		 mqota_permit_join(struct mqttd *d, const char *payload,
		    size_t len);

/*
 * zotad-radio is (back) up: updates whose connection to it was lost
 * attach to the update there again, to answer with its real outcome.
 */
void		 mqota_radio_back(struct mqttd *d);

/* Free the updates still waiting for zotad-radio (at exit). */
void		 mqota_drop_detached(struct mqttd *d);

/*
 * confine.c: no_new_privs is set by the caller; this loads the seccomp
 * filter that allows the broker connection, radio.sock and nothing else:
 * no exec, no file writes. Returns 0, or -1 (logged).
 */
int		 mqconfine_enter(void);

#endif
