/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_SERVICE_H
#define ZOTAD_RADIO_SERVICE_H

/*
 * io.zotad.Radio on radio.sock, for zotad-mqtt and zotadctl.
 *
 *	ListDevices {}				{devices: [device]}
 *	GetDevice {ieee}			{device}
 *	Check {ieee, downgrade?, url?}		{update_available,
 *						 downgrade, entry?}
 *	Update {ieee, downgrade?, url?, hex?, image_fd?,
 *	    image_block_response_delay?, default_maximum_data_size?,
 *	    image_block_request_timeout?, query_timeout?, min_battery?}
 *						{from, to}
 *	Attach {ieee}				{from, to}, as Update
 *	Schedule {ieee, downgrade?, url? or hex? or image_fd?}
 *						{url?}
 *	Unschedule {ieee}			{}
 *	Abort {ieee}				{}
 *	PermitJoin {time, ieee? or coordinator?}
 *						{}
 *	Subscribe {} with more			a stream of {event}
 *
 * Attach follows an update whose caller went away or that a restart
 * carried over, and answers as Update would at its end (at once if it
 * has ended since with nobody to tell); NotInProgress when there is
 * none. Schedule keeps its url, or the image in the state dir, and
 * answers with that url or the image's path. PermitJoin with ieee (a
 * router, or the coordinator's own address) or coordinator opens
 * joining through that node alone and answers once the node agreed.
 *
 * device is the registry's record plus "update": {state, progress?}.
 * Events are {"type": "update", ieee, state, progress?, remaining?,
 * installed_version?, latest_version?, latest_source?, error?} and
 * {"type": "device", ieee, event: "joined" | "interviewed" |
 * "interview_failed" | "left"}. Errors are the io.zotad.Radio names of
 * ipc_catalogue.h with {"message": text}.
 */

#include <sys/types.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

struct adapter;
struct otas;
struct registry;
struct service;

struct service *service_new(struct event_base *base, struct registry *reg,
	    struct otas *ota, struct adapter *ad, size_t max_image);
void	service_free(struct service *sv);

/* Serve on PATH (or the socket systemd passed). Returns 0 or -1. */
int	service_listen(struct service *sv, const char *path);

/* Also accept peers running as UID (the zotad-mqtt user). */
void	service_allow_uid(struct service *sv, uid_t uid);

/* Send EV (borrowed) to every subscriber. */
void	service_event(struct service *sv, const cJSON *ev);

#endif
