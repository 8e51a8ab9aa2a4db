/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_OTASRV_H
#define ZOTAD_RADIO_OTASRV_H

/*
 * The OTA Upgrade cluster server: one session per device, from Image
 * Notify (or the device's own query) through Query Next Image, Image
 * Block and Page requests, to Upgrade End and the device's return with
 * its new version. Transfers wait in a queue so that at most
 * zotad.max_concurrent_updates run at once; schedules (update on the
 * device's next own query) live in the registry, an image sent with one
 * in STATE_DIR; a transfer in progress is written to STATE_DIR so that
 * it resumes after a restart when the device asks for its next block.
 *
 * Every image is checked here before it is offered, whether it came
 * from zotad-fetch or straight from the caller: the header must parse,
 * its manufacturer and image type must be the device's, its version
 * must move the right way, and its size is the header's total size.
 */

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#include "adapter.h"

#define OTAS_QUERY_TIMEOUT_MS	60000	/* for the query after a notify */
#define OTAS_REBOOT_TIMEOUT_MS	120000	/* for the device to come back */
#define OTAS_REPORT_MS		2000	/* progress events at most this often */
#define OTAS_MIN_BLOCK		10	/* bytes: no smaller blocks */
#define OTAS_FILE		"ota.json"

struct otas;
struct config;
struct fetchc;
struct registry;
struct zclreq;

/* Overrides a call may give; -1 (or NULL) means the configuration's. */
struct otas_opts {
	int		 response_delay_ms;
	int		 max_data_size;
	int		 block_timeout_ms;
	int		 query_timeout_ms;
	int		 min_battery;		/* percent */
	int		 downgrade;
	const char	*url;
};

/*
 * The end of a call: ERROR is NULL on success, else a catalogue error
 * name with MESSAGE saying what happened; RESULT is the check's or the
 * update's outcome (borrowed).
 */
typedef void	otas_done_cb(uint64_t ieee, const char *error,
		    const char *message, const cJSON *result, void *arg);

/* An update-state event for subscribers; EV is borrowed. */
typedef void	otas_event_cb(const cJSON *ev, void *arg);

struct otas *otas_new(struct event_base *base, const struct config *conf,
	    struct adapter *ad, struct zclreq *z, struct registry *reg,
	    struct fetchc *fc, otas_event_cb *ev, void *ev_arg);
void	otas_free(struct otas *s);

/* Load the transfers and queue a previous run left. Returns the count. */
int	otas_restore(struct otas *s);

/* An OTA cluster frame from a device. */
void	otas_handle(struct otas *s, const struct adapter_msg *m);

/* The device IEEE announced itself (it may be back from an update). */
void	otas_device_back(struct otas *s, uint64_t ieee);

/*
 * Start a manual check or update of device IEEE. IMAGE (LEN bytes, may
 * be NULL: ask zotad-fetch) is copied. On refusal returns -1 with *ERROR
 * and MSG set and CB is not called; otherwise CB runs once at the end.
 */
int	otas_check(struct otas *s, uint64_t ieee, const struct otas_opts *o,
	    otas_done_cb *cb, void *arg, const char **error, char *msg,
	    size_t msglen);
int	otas_update(struct otas *s, uint64_t ieee, const uint8_t *image,
	    size_t len, const struct otas_opts *o, otas_done_cb *cb,
	    void *arg, const char **error, char *msg, size_t msglen);

/* Stop the session of IEEE now; its next block request gets ABORT. */
int	otas_abort(struct otas *s, uint64_t ieee);

/*
 * Follow the update of IEEE whose caller went away, or that a restart
 * carried over: CB runs once at its end, as for otas_update. Returns 0
 * when attached, 1 when that update had already ended (CB has run with
 * its outcome), or -1 with *ERROR and MSG set: nothing to follow, or
 * another caller follows it.
 */
int	otas_attach(struct otas *s, uint64_t ieee, otas_done_cb *cb,
	    void *arg, const char **error, char *msg, size_t msglen);

/* What a schedule updates from: the indexes (both NULL), a url or an
 * image (LEN bytes, kept in STATE_DIR until the schedule ends). */
struct otas_source {
	const char	*url;
	const uint8_t	*image;
	size_t		 len;
};

/*
 * Update IEEE on its next own query, from SRC. Persisted in the
 * registry. Returns 0, or -1 with *ERROR and MSG set (an unknown
 * device, an image that is no OTA file or cannot be kept).
 */
int	otas_schedule(struct otas *s, uint64_t ieee, int downgrade,
	    const struct otas_source *src, const char **error, char *msg,
	    size_t msglen);
int	otas_unschedule(struct otas *s, uint64_t ieee);

/*
 * Where the schedule of IEEE takes its image from: its url, or the
 * file that keeps the image sent with it (in BUF); NULL for the indexes.
 */
const char *otas_schedule_source(struct otas *s, uint64_t ieee, char *buf,
	    size_t len);

/* The device IEEE left: drop its schedule and a kept image, quietly. */
void	otas_forget(struct otas *s, uint64_t ieee);

/* Forget the callback of every session (the caller went away). */
void	otas_forget_caller(struct otas *s, void *arg);

/* The update state of IEEE for device details (new object). */
cJSON	*otas_state_json(struct otas *s, uint64_t ieee);

/*
 * The block size for a request: the configured size, the device's
 * maximum, the room in one frame, the vendor's quirk and what was
 * learnt from refusals, whichever is smallest; never past the end.
 */
size_t	otas_block_size(int conf_max, uint16_t manuf, uint8_t dev_max,
	    size_t frame_room, int learnt, uint32_t offset, uint32_t total);

/* The block request timeout a vendor needs, or CONF_MS. */
int	otas_quirk_timeout(uint16_t manuf, uint16_t image_type, int conf_ms);

#endif
