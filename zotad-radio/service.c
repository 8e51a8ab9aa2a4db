/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adapter.h"
#include "devices.h"
#include "fetchc.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "otasrv.h"
#include "service.h"

#define SERVICE_MAX_SUBS	64
#define SERVICE_MSG_LEN		256

struct service {
	struct event_base	*base;
	struct registry		*reg;
	struct otas		*ota;
	struct adapter		*ad;
	size_t			 max_image;
	struct ipc_server	*srv;
	uid_t			 allowed[4];
	size_t			 nallowed;
	struct ipc_call		*subs[SERVICE_MAX_SUBS];
	size_t			 nsubs;
};

static const struct ipc_param_spec sv_ieee_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec sv_none_spec[] = {
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec sv_check_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, 2048, NULL },
	{ "query_timeout", IPC_P_INT, 0, 1000, 3600000, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec sv_update_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, 2048, NULL },
	{ "hex", IPC_P_HEX, IPC_P_NULLABLE, 2, 0, NULL },
	{ "image_fd", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "image_block_response_delay", IPC_P_INT, 0, 0, 60000, NULL },
	{ "default_maximum_data_size", IPC_P_INT, 0, 10, 100, NULL },
	{ "image_block_request_timeout", IPC_P_INT, 0, 1000, 2147483647,
	  NULL },
	{ "query_timeout", IPC_P_INT, 0, 1000, 3600000, NULL },
	{ "min_battery", IPC_P_INT, 0, 0, 100, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec sv_schedule_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, DEV_URL_MAX, NULL },
	{ "hex", IPC_P_HEX, IPC_P_NULLABLE, 2, 0, NULL },
	{ "image_fd", IPC_P_BOOL, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec sv_permit_spec[] = {
	{ "time", IPC_P_INT, IPC_P_REQUIRED, 0, 254, NULL },
	{ "ieee", IPC_P_STRING, IPC_P_NULLABLE, 18, 18, NULL },
	{ "coordinator", IPC_P_BOOL, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* What an Update or a Schedule names: the device, and its own image. */
struct sv_target {
	uint64_t	 ieee;
	uint8_t		*img;	/* NULL when the call gave none */
	size_t		 len;
};

/* A PermitJoin through one device, waiting for the device's answer. */
struct sv_permit {
	struct ipc_call	*call;	/* NULL once the caller left */
	int		 time;
	char		 who[32];
};

static void
sv_error(struct ipc_call *call, const char *error, const char *msg)
{
	cJSON	*p = cJSON_CreateObject();

	if (p != NULL)
		cJSON_AddStringToObject(p, "message", msg);
	ipc_call_error(call, error, p);
	cJSON_Delete(p);
}

/* The IEEE parameter; replies NoSuchDevice and returns -1 if unknown. */
static int
sv_device(struct service *sv, struct ipc_call *call, const cJSON *params,
    uint64_t *ieee)
{
	const char	*s = ipc_param_string(params, "ieee", NULL);
	char		 msg[SERVICE_MSG_LEN];
	struct ipc_param_error err = { "ieee", "is not 0x and 16 hex digits" };

	if (dev_ieee_parse(s, ieee) == -1) {
		ipc_call_invalid(call, &err);
		return (-1);
	}
	if (reg_find(sv->reg, *ieee) == NULL) {
		snprintf(msg, sizeof(msg), "no device %s", s);
		sv_error(call, IPC_RADIO_ERR_NO_SUCH_DEVICE, msg);
		return (-1);
	}
	return (0);
}

static cJSON *
sv_device_json(struct service *sv, const struct device *d)
{
	cJSON	*o = dev_json(d);

	if (o != NULL)
		cJSON_AddItemToObject(o, "update", otas_state_json(sv->ota,
		    d->ieee));
	return (o);
}

static void
sv_list(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service	*sv = arg;
	cJSON		*p, *a;
	size_t		 i;

	(void)params;
	if ((p = cJSON_CreateObject()) == NULL ||
	    (a = cJSON_AddArrayToObject(p, "devices")) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < reg_count(sv->reg); i++)
		cJSON_AddItemToArray(a, sv_device_json(sv, reg_at(sv->reg, i)));
	ipc_call_reply(call, p);
	cJSON_Delete(p);
}

static void
sv_get(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service	*sv = arg;
	uint64_t	 ieee;
	cJSON		*p;

	if (sv_device(sv, call, params, &ieee) == -1)
		return;
	if ((p = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToObject(p, "device", sv_device_json(sv,
	    reg_find(sv->reg, ieee)));
	ipc_call_reply(call, p);
	cJSON_Delete(p);
}

/* A Check or Update finished: answer the call that started it. */
static void
sv_done_cb(uint64_t ieee, const char *error, const char *message,
    const cJSON *result, void *arg)
{
	struct ipc_call	*call = arg;
	const cJSON	*avail, *entry;
	cJSON		*p;

	(void)ieee;
	if (error != NULL) {
		sv_error(call, error, message);
		return;
	}
	if (strcmp(ipc_call_method(call), IPC_RADIO_CHECK) != 0) {
		ipc_call_reply(call, result);
		return;
	}
	if ((p = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	avail = cJSON_GetObjectItemCaseSensitive(result, "available");
	cJSON_AddBoolToObject(p, "update_available", cJSON_IsTrue(avail));
	entry = cJSON_GetObjectItemCaseSensitive(result, "entry");
	if (entry != NULL)
		cJSON_AddItemToObject(p, "entry", cJSON_Duplicate(entry, 1));
	ipc_call_reply(call, p);
	cJSON_Delete(p);
}

static void
sv_cancel_cb(struct ipc_call *call, void *arg)
{
	struct service	*sv = arg;

	/* The work goes on; only its caller is gone. */
	otas_forget_caller(sv->ota, call);
	ipc_call_error(call, IPC_ERR_DISCONNECTED, NULL);
}

static void
sv_opts(const cJSON *params, struct otas_opts *o)
{
	o->response_delay_ms = (int)ipc_param_int(params,
	    "image_block_response_delay", -1);
	o->max_data_size = (int)ipc_param_int(params,
	    "default_maximum_data_size", -1);
	o->block_timeout_ms = (int)ipc_param_int(params,
	    "image_block_request_timeout", -1);
	o->query_timeout_ms = (int)ipc_param_int(params, "query_timeout", -1);
	o->min_battery = (int)ipc_param_int(params, "min_battery", -1);
	o->downgrade = ipc_param_bool(params, "downgrade", 0);
	o->url = ipc_param_string(params, "url", NULL);
}

static void
sv_check(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service		*sv = arg;
	struct otas_opts	 o;
	uint64_t		 ieee;
	const char		*error;
	char			 msg[SERVICE_MSG_LEN];

	if (sv_device(sv, call, params, &ieee) == -1)
		return;
	sv_opts(params, &o);
	if (otas_check(sv->ota, ieee, &o, sv_done_cb, call, &error, msg,
	    sizeof(msg)) == -1) {
		sv_error(call, error, msg);
		return;
	}
	ipc_call_set_cancel(call, sv_cancel_cb, sv);
}

/* Decode LEN hex digits; NULL when out of memory. */
static uint8_t *
sv_unhex(const char *hex, size_t *len)
{
	size_t	 n = strlen(hex) / 2, i;
	uint8_t	*buf;
	int	 hi, lo;

	if ((buf = malloc(n > 0 ? n : 1)) == NULL)
		return (NULL);
	for (i = 0; i < n; i++) {
		hi = hex[2 * i] <= '9' ? hex[2 * i] - '0' :
		    (hex[2 * i] | 0x20) - 'a' + 10;
		lo = hex[2 * i + 1] <= '9' ? hex[2 * i + 1] - '0' :
		    (hex[2 * i + 1] | 0x20) - 'a' + 10;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
	*len = n;
	return (buf);
}

/* The caller's own image, as hex or as a descriptor; -1 replied. */
static int
sv_image(struct service *sv, struct ipc_call *call, const cJSON *params,
    uint8_t **img, size_t *len)
{
	const char	*hex = ipc_param_string(params, "hex", NULL);
	struct ipc_param_error odd = { "hex", "has an odd number of digits" };
	struct ipc_param_error nofd = { "image_fd",
			    "no descriptor came with the call" };
	int		 fd;

	*img = NULL;
	*len = 0;
	if (hex != NULL) {
		if (strlen(hex) % 2 != 0) {
			ipc_call_invalid(call, &odd);
			return (-1);
		}
		if ((*img = sv_unhex(hex, len)) == NULL)
			fatalx("%s: out of memory", __func__);
		return (0);
	}
	if (!ipc_param_bool(params, "image_fd", 0))
		return (0);
	if ((fd = ipc_call_take_fd(call, 0)) == -1) {
		ipc_call_invalid(call, &nofd);
		return (-1);
	}
	if (fetchc_read_fd(fd, sv->max_image, img, len) == -1) {
		close(fd);
		sv_error(call, IPC_RADIO_ERR_IMAGE_INVALID,
		    errno == EFBIG ? "image_fd: larger than "
		    "zotad.max_image_size" : "image_fd: not a readable file");
		return (-1);
	}
	close(fd);
	return (0);
}

/* The device and the caller's own image; -1 replied. */
static int
sv_target(struct service *sv, struct ipc_call *call, const cJSON *params,
    struct sv_target *t)
{
	if (sv_device(sv, call, params, &t->ieee) == -1)
		return (-1);
	return (sv_image(sv, call, params, &t->img, &t->len));
}

static void
sv_update(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service		*sv = arg;
	struct otas_opts	 o;
	struct sv_target	 t;
	const char		*error;
	char			 msg[SERVICE_MSG_LEN];
	int			 rv;

	if (sv_target(sv, call, params, &t) == -1)
		return;
	sv_opts(params, &o);
	rv = otas_update(sv->ota, t.ieee, t.img, t.len, &o, sv_done_cb, call,
	    &error, msg, sizeof(msg));
	free(t.img);
	if (rv == -1) {
		sv_error(call, error, msg);
		return;
	}
	ipc_call_set_cancel(call, sv_cancel_cb, sv);
}

/* {"url": the schedule's own source} or {} for the indexes. */
static void
sv_schedule_reply(struct service *sv, struct ipc_call *call, uint64_t ieee)
{
	char		 buf[4096];
	const char	*src;
	cJSON		*p;

	if ((p = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	if ((src = otas_schedule_source(sv->ota, ieee, buf, sizeof(buf))) !=
	    NULL)
		cJSON_AddStringToObject(p, "url", src);
	ipc_call_reply(call, p);
	cJSON_Delete(p);
}

static void
sv_schedule(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service		*sv = arg;
	struct otas_source	 src;
	struct ipc_param_error	 both = { "url",
				    "cannot be given with an image" };
	struct sv_target	 t;
	const char		*error;
	char			 msg[SERVICE_MSG_LEN];
	int			 rv;

	if (sv_target(sv, call, params, &t) == -1)
		return;
	src.url = ipc_param_string(params, "url", NULL);
	src.image = t.img;
	src.len = t.len;
	if (src.url != NULL && t.img != NULL) {
		free(t.img);
		ipc_call_invalid(call, &both);
		return;
	}
	rv = otas_schedule(sv->ota, t.ieee, ipc_param_bool(params,
	    "downgrade", 0), &src, &error, msg, sizeof(msg));
	free(t.img);
	if (rv == -1)
		sv_error(call, error, msg);
	else
		sv_schedule_reply(sv, call, t.ieee);
}

static void
sv_unschedule(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service	*sv = arg;
	uint64_t	 ieee;

	if (sv_device(sv, call, params, &ieee) == -1)
		return;
	if (otas_unschedule(sv->ota, ieee) == -1)
		sv_error(call, IPC_RADIO_ERR_NO_SUCH_DEVICE, "no such device");
	else
		ipc_call_reply(call, NULL);
}

static void
sv_attach(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service	*sv = arg;
	uint64_t	 ieee;
	const char	*error;
	char		 msg[SERVICE_MSG_LEN];
	int		 rv;

	if (sv_device(sv, call, params, &ieee) == -1)
		return;
	rv = otas_attach(sv->ota, ieee, sv_done_cb, call, &error, msg,
	    sizeof(msg));
	if (rv == -1)
		sv_error(call, error, msg);
	else if (rv == 0)
		ipc_call_set_cancel(call, sv_cancel_cb, sv);
}

static void
sv_abort(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service	*sv = arg;
	uint64_t	 ieee;

	if (sv_device(sv, call, params, &ieee) == -1)
		return;
	if (otas_abort(sv->ota, ieee) == -1)
		sv_error(call, IPC_RADIO_ERR_NOT_SUPPORTED,
		    "no update in progress for this device");
	else
		ipc_call_reply(call, NULL);
}

/* The node's Mgmt_Permit_Joining_rsp, status first; NULL if none. */
static void
sv_permit_answer(struct sv_permit *pj, const uint8_t *rsp, size_t len)
{
	char	 msg[SERVICE_MSG_LEN];

	if (rsp == NULL) {
		snprintf(msg, sizeof(msg), "%s did not answer", pj->who);
		sv_error(pj->call, IPC_RADIO_ERR_NO_RESPONSE, msg);
	} else if (len < 1 || rsp[0] != 0) {
		snprintf(msg, sizeof(msg), "%s refused to permit joining "
		    "(ZDO status 0x%02x%s)", pj->who, len < 1 ? 0xFF : rsp[0],
		    len >= 1 && rsp[0] == 0x84 ? ", NOT_SUPPORTED" : "");
		sv_error(pj->call, IPC_RADIO_ERR_NOT_SUPPORTED, msg);
	} else {
		log_info("joining %s through %s", pj->time > 0 ? "permitted" :
		    "closed", pj->who);
		ipc_call_reply(pj->call, NULL);
	}
}

static void
sv_permit_cb(const uint8_t *rsp, size_t len, void *arg)
{
	struct sv_permit	*pj = arg;

	if (pj->call != NULL)
		sv_permit_answer(pj, rsp, len);
	free(pj);
}

static void
sv_permit_cancel(struct ipc_call *call, void *arg)
{
	struct sv_permit	*pj = arg;

	/* The device's answer, when it comes, has nobody to go to. */
	pj->call = NULL;
	ipc_call_error(call, IPC_ERR_DISCONNECTED, NULL);
}

/* The node a PermitJoin names: a router, or the coordinator itself. */
static int
sv_permit_node(struct service *sv, struct ipc_call *call,
    const cJSON *params, uint16_t *nwk, char *who, size_t wholen)
{
	const char	*s = ipc_param_string(params, "ieee", NULL);
	struct ipc_param_error err = { "ieee", "is not 0x and 16 hex digits" };
	struct device	*d;
	uint64_t	 ieee;
	char		 msg[SERVICE_MSG_LEN];

	if (ipc_param_bool(params, "coordinator", 0) || (s != NULL &&
	    dev_ieee_parse(s, &ieee) == 0 && ieee == adapter_ieee(sv->ad))) {
		*nwk = 0x0000;
		snprintf(who, wholen, "the coordinator");
		return (0);
	}
	if (dev_ieee_parse(s, &ieee) == -1) {
		ipc_call_invalid(call, &err);
		return (-1);
	}
	if ((d = reg_find(sv->reg, ieee)) == NULL) {
		snprintf(msg, sizeof(msg), "no device %s", s);
		sv_error(call, IPC_RADIO_ERR_NO_SUCH_DEVICE, msg);
		return (-1);
	}
	/* End devices have no children: only routers let devices in. */
	if (d->type == DEV_END_DEVICE) {
		snprintf(msg, sizeof(msg), "%s is an end device; only routers "
		    "and the coordinator let devices join", s);
		sv_error(call, IPC_RADIO_ERR_NOT_SUPPORTED, msg);
		return (-1);
	}
	*nwk = d->nwk;
	snprintf(who, wholen, "%s", s);
	return (0);
}

static void
sv_permit_at(struct service *sv, struct ipc_call *call, const cJSON *params,
    int t)
{
	struct sv_permit	*pj;
	uint16_t		 nwk;

	if ((pj = calloc(1, sizeof(*pj))) == NULL)
		fatalx("%s: out of memory", __func__);
	if (sv_permit_node(sv, call, params, &nwk, pj->who,
	    sizeof(pj->who)) == -1) {
		free(pj);
		return;
	}
	pj->call = call;
	pj->time = t;
	if (adapter_permit_join_at(sv->ad, nwk, (uint8_t)t, sv_permit_cb,
	    pj) == -1) {
		free(pj);
		sv_error(call, IPC_RADIO_ERR_NOT_RUNNING,
		    "the network is not running");
		return;
	}
	ipc_call_set_cancel(call, sv_permit_cancel, pj);
}

static void
sv_permit(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service	*sv = arg;
	int		 t = (int)ipc_param_int(params, "time", 0);

	if (ipc_param_string(params, "ieee", NULL) != NULL ||
	    ipc_param_bool(params, "coordinator", 0)) {
		sv_permit_at(sv, call, params, t);
		return;
	}
	if (adapter_permit_join(sv->ad, (uint8_t)t) == -1) {
		sv_error(call, IPC_RADIO_ERR_NOT_RUNNING,
		    "the network is not running");
		return;
	}
	log_info("joining %s", t > 0 ? "permitted" : "closed");
	ipc_call_reply(call, NULL);
}

static void
sv_unsubscribe_cb(struct ipc_call *call, void *arg)
{
	struct service	*sv = arg;
	size_t		 i;

	for (i = 0; i < sv->nsubs; i++)
		if (sv->subs[i] == call) {
			sv->subs[i] = sv->subs[--sv->nsubs];
			break;
		}
	ipc_call_reply(call, NULL);
}

static void
sv_subscribe(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct service	*sv = arg;
	cJSON		*p;

	(void)params;
	if (!(ipc_call_flags(call) & IPC_CALL_MORE)) {
		ipc_call_error(call, IPC_ERR_EXPECTED_MORE, NULL);
		return;
	}
	if (sv->nsubs >= SERVICE_MAX_SUBS) {
		sv_error(call, IPC_RADIO_ERR_DEVICE_BUSY,
		    "too many subscribers");
		return;
	}
	sv->subs[sv->nsubs++] = call;
	ipc_call_set_cancel(call, sv_unsubscribe_cb, sv);
	/* A first reply tells the subscriber it is in. */
	if ((p = cJSON_CreateObject()) != NULL) {
		cJSON_AddBoolToObject(p, "subscribed", 1);
		ipc_call_reply_more(call, p);
		cJSON_Delete(p);
	}
}

void
service_event(struct service *sv, const cJSON *ev)
{
	cJSON	*p;
	size_t	 i;

	if (sv->nsubs == 0 || (p = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddItemToObject(p, "event", cJSON_Duplicate(ev, 1));
	for (i = 0; i < sv->nsubs; i++)
		ipc_call_reply_more(sv->subs[i], p);
	cJSON_Delete(p);
}

static const struct ipc_method sv_methods[] = {
	{ IPC_RADIO_LIST_DEVICES, sv_list, sv_none_spec },
	{ IPC_RADIO_GET_DEVICE, sv_get, sv_ieee_spec },
	{ IPC_RADIO_CHECK, sv_check, sv_check_spec },
	{ IPC_RADIO_UPDATE, sv_update, sv_update_spec },
	{ IPC_RADIO_SCHEDULE, sv_schedule, sv_schedule_spec },
	{ IPC_RADIO_UNSCHEDULE, sv_unschedule, sv_ieee_spec },
	{ IPC_RADIO_ATTACH, sv_attach, sv_ieee_spec },
	{ IPC_RADIO_ABORT, sv_abort, sv_ieee_spec },
	{ IPC_RADIO_PERMIT_JOIN, sv_permit, sv_permit_spec },
	{ IPC_RADIO_SUBSCRIBE, sv_subscribe, sv_none_spec },
	{ NULL, NULL, NULL }
};

static int
sv_allow(const struct ipc_peer *peer, void *arg)
{
	struct service	*sv = arg;
	size_t		 i;

	if (peer->uid == 0 || peer->uid == geteuid())
		return (1);
	for (i = 0; i < sv->nallowed; i++)
		if (sv->allowed[i] == peer->uid)
			return (1);
	return (0);
}

struct service *
service_new(struct event_base *base, struct registry *reg, struct otas *ota,
    struct adapter *ad, size_t max_image)
{
	struct service	*sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL)
		return (NULL);
	sv->base = base;
	sv->reg = reg;
	sv->ota = ota;
	sv->ad = ad;
	sv->max_image = max_image;
	if ((sv->srv = ipc_server_new(base, sv_methods, sv)) == NULL) {
		free(sv);
		return (NULL);
	}
	ipc_server_set_allow(sv->srv, sv_allow, sv);
	/* Room for a hex image of the largest size we accept. */
	ipc_server_set_max_message(sv->srv, 2 * max_image + 4096);
	return (sv);
}

int
service_listen(struct service *sv, const char *path)
{
	return (ipc_server_listen(sv->srv, "radio.sock", path, 0660));
}

void
service_allow_uid(struct service *sv, uid_t uid)
{
	if (sv->nallowed < sizeof(sv->allowed) / sizeof(sv->allowed[0]))
		sv->allowed[sv->nallowed++] = uid;
}

void
service_free(struct service *sv)
{
	if (sv == NULL)
		return;
	ipc_server_free(sv->srv);
	free(sv);
}
