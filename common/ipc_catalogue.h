/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_IPC_CATALOGUE_H
#define ZOTAD_IPC_CATALOGUE_H

/*
 * Every method and error name spoken on the zotad sockets, in one place.
 * Names follow varlink: reverse-domain interface, then a capitalised
 * member. Add new ones here, next to their interface.
 */

/* Standard varlink errors, answered by the IPC layer or by handlers. */
#define IPC_ERR_INTERFACE_NOT_FOUND \
	"org.varlink.service.InterfaceNotFound"
#define IPC_ERR_METHOD_NOT_FOUND \
	"org.varlink.service.MethodNotFound"	/* {"method": name} */
#define IPC_ERR_METHOD_NOT_IMPLEMENTED \
	"org.varlink.service.MethodNotImplemented"
#define IPC_ERR_INVALID_PARAMETER \
	"org.varlink.service.InvalidParameter"	/* {"parameter": name} */
#define IPC_ERR_PERMISSION_DENIED \
	"org.varlink.service.PermissionDenied"
#define IPC_ERR_EXPECTED_MORE \
	"org.varlink.service.ExpectedMore"

/*
 * Sent by the IPC layer in place of a reply the server could not send
 * (too big for the cap, say), so that replies still pair with calls.
 */
#define IPC_ERR_INTERNAL	"io.zotad.Ipc.InternalError"

/*
 * Made up locally for a client's own callbacks, never sent: the
 * connection closed.
 */
#define IPC_ERR_DISCONNECTED	"io.zotad.Ipc.Disconnected"

/* io.zotad.Radio: served by zotad-radio on radio.sock. */
#define IPC_RADIO_LIST_DEVICES	"io.zotad.Radio.ListDevices"
#define IPC_RADIO_CHECK		"io.zotad.Radio.Check"
#define IPC_RADIO_UPDATE	"io.zotad.Radio.Update"
#define IPC_RADIO_SCHEDULE	"io.zotad.Radio.Schedule"
#define IPC_RADIO_ABORT		"io.zotad.Radio.Abort"
#define IPC_RADIO_PERMIT_JOIN	"io.zotad.Radio.PermitJoin"
#define IPC_RADIO_SUBSCRIBE	"io.zotad.Radio.Subscribe"
#define IPC_RADIO_GET_DEVICE	"io.zotad.Radio.GetDevice"
#define IPC_RADIO_UNSCHEDULE	"io.zotad.Radio.Unschedule"
#define IPC_RADIO_ATTACH	"io.zotad.Radio.Attach"

#define IPC_RADIO_ERR_NO_SUCH_DEVICE	"io.zotad.Radio.NoSuchDevice"
#define IPC_RADIO_ERR_DEVICE_BUSY	"io.zotad.Radio.DeviceBusy"
#define IPC_RADIO_ERR_NOT_SUPPORTED	"io.zotad.Radio.NotSupported"
#define IPC_RADIO_ERR_NOT_RUNNING	"io.zotad.Radio.NetworkNotRunning"
#define IPC_RADIO_ERR_NO_RESPONSE	"io.zotad.Radio.NoResponse"
#define IPC_RADIO_ERR_NO_IMAGE		"io.zotad.Radio.NoImageAvailable"
#define IPC_RADIO_ERR_IMAGE_INVALID	"io.zotad.Radio.ImageInvalid"
#define IPC_RADIO_ERR_BATTERY_LOW	"io.zotad.Radio.BatteryLow"
#define IPC_RADIO_ERR_UPDATE_FAILED	"io.zotad.Radio.UpdateFailed"
#define IPC_RADIO_ERR_ABORTED		"io.zotad.Radio.Aborted"
#define IPC_RADIO_ERR_FETCH_UNAVAILABLE	"io.zotad.Radio.FetchUnavailable"
#define IPC_RADIO_ERR_NOT_IN_PROGRESS	"io.zotad.Radio.NotInProgress"

/* io.zotad.Fetch: served by zotad-fetch on fetch.sock. */
#define IPC_FETCH_CHECK		"io.zotad.Fetch.Check"
#define IPC_FETCH_GET_IMAGE	"io.zotad.Fetch.GetImage"

#define IPC_FETCH_ERR_NO_IMAGE_AVAILABLE \
	"io.zotad.Fetch.NoImageAvailable"
#define IPC_FETCH_ERR_CHECK_TOO_SOON	"io.zotad.Fetch.CheckTooSoon"
#define IPC_FETCH_ERR_DOWNLOAD_FAILED	"io.zotad.Fetch.DownloadFailed"
#define IPC_FETCH_ERR_IMAGE_INVALID	"io.zotad.Fetch.ImageInvalid"
#define IPC_FETCH_ERR_AUTOMATIC_DISABLED \
	"io.zotad.Fetch.AutomaticCheckDisabled"
#define IPC_FETCH_ERR_INDEX_UNAVAILABLE	"io.zotad.Fetch.IndexUnavailable"

#endif
