/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * io.zotad.Fetch on fetch.sock, for zotad-radio.
 *
 * Check {device, automatic?, downgrade?, url?} answers
 *	{available, fromCache, entry?}, where entry is the chosen index
 *	entry with its "source"; or CheckTooSoon, AutomaticCheckDisabled,
 *	IndexUnavailable, each with a "message".
 * GetImage {device, downgrade?, url?} matches the same way as a manual
 *	check and answers {entry, size, sha512} with the image as a sealed
 *	memfd; or NoImageAvailable, DownloadFailed, ImageInvalid.
 *
 * device is {ieee, manufacturerCode, imageType, fileVersion,
 * hardwareVersion?, modelId?, manufacturerName?, otaHeaderString?}.
 */

#include <errno.h>
#include <limits.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "fetch.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"

#define CHECK_MESSAGE_LEN	384

static const struct ipc_param_spec service_device_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ "manufacturerCode", IPC_P_INT, IPC_P_REQUIRED, 0, 0xffff, NULL },
	{ "imageType", IPC_P_INT, IPC_P_REQUIRED, 0, 0xffff, NULL },
	{ "fileVersion", IPC_P_INT, IPC_P_REQUIRED, 0, 0xffffffffLL, NULL },
	{ "hardwareVersion", IPC_P_INT, IPC_P_NULLABLE, 0, 0xffff, NULL },
	{ "modelId", IPC_P_STRING, IPC_P_NULLABLE, 0, 256, NULL },
	{ "manufacturerName", IPC_P_STRING, IPC_P_NULLABLE, 0, 256, NULL },
	{ "otaHeaderString", IPC_P_STRING, IPC_P_NULLABLE, 0, 128, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec service_check_spec[] = {
	{ "device", IPC_P_OBJECT, IPC_P_REQUIRED, 0, 0, service_device_spec },
	{ "automatic", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, 2048, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec service_image_spec[] = {
	{ "device", IPC_P_OBJECT, IPC_P_REQUIRED, 0, 0, service_device_spec },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, 2048, NULL },
	/* An image the user uploaded, checked here like any other. */
	{ "hex", IPC_P_HEX, IPC_P_NULLABLE, 2, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* One Check or GetImage call on its way through the sources. */
struct check {
	struct fetchd		*fd;
	struct ipc_call		*call;
	int			 getimage;
	uint64_t		 ieee;
	const char		*ieee_s;	/* in the call's parameters */
	struct otaindex_device	 dev;
	int			 automatic;
	int			 downgrade;
	enum gate_verdict	 verdict;
	struct src		*primary;
	struct src		*override;
	struct src		*vendor;	/* for its own devices */
	int			 pending;
	int			 contacted;
	time_t			 now;
	cJSON			*entry;		/* for GetImage's reply */
};

static void
service_error(struct ipc_call *call, const char *error, const char *msg)
{
	cJSON	*p;

	if ((p = cJSON_CreateObject()) != NULL)
		cJSON_AddStringToObject(p, "message", msg);
	ipc_call_error(call, error, p);
	cJSON_Delete(p);
}

static int
service_parse_ieee(const char *s, uint64_t *ieee)
{
	char	*end;

	if (s[0] != '0' || s[1] != 'x' ||
	    strspn(s + 2, "0123456789abcdefABCDEF") != 16)
		return (-1);
	*ieee = strtoull(s + 2, &end, 16);
	return (*end == '\0' ? 0 : -1);
}

static void
service_bad_ieee(struct ipc_call *call)
{
	struct ipc_param_error	 err;

	memset(&err, 0, sizeof(err));
	snprintf(err.parameter, sizeof(err.parameter), "device.ieee");
	err.reason = "not 0x and 16 hex digits";
	ipc_call_invalid(call, &err);
}

static void
service_device(struct check *c, const cJSON *d)
{
	c->dev.manufacturer_code = (uint16_t)ipc_param_int(d,
	    "manufacturerCode", 0);
	c->dev.image_type = (uint16_t)ipc_param_int(d, "imageType", 0);
	c->dev.file_version = (uint32_t)ipc_param_int(d, "fileVersion", 0);
	if (ipc_param_int(d, "hardwareVersion", -1) >= 0) {
		c->dev.has_hardware_version = 1;
		c->dev.hardware_version = (uint16_t)ipc_param_int(d,
		    "hardwareVersion", 0);
	}
	c->dev.model_id = ipc_param_string(d, "modelId", NULL);
	c->dev.manufacturer_name = ipc_param_string(d, "manufacturerName",
	    NULL);
	c->dev.ota_header_string = ipc_param_string(d, "otaHeaderString",
	    NULL);
}

static int
service_disabled(const struct fetchd *fd, uint64_t ieee)
{
	const struct config_device	*cd;

	if (fd->conf->ota.disable_automatic_update_check)
		return (1);
	cd = config_device_by_addr(fd->conf, ieee);
	return (cd != NULL && cd->disable_automatic_update_check);
}

static void
check_free(struct check *c)
{
	cJSON_Delete(c->entry);
	free(c);
}

static int
check_entry_in(const struct src *s, const struct otaindex_entry *e)
{
	return (s != NULL && s->idx != NULL && e >= s->idx->entries &&
	    e < s->idx->entries + s->idx->nentries);
}

/* Where the chosen entry came from, as the caller names sources. */
static const char *
check_entry_source(const struct check *c, const struct otaindex_entry *e)
{
	if (check_entry_in(c->override, e))
		return ("override");
	if (check_entry_in(c->vendor, e))
		return (c->vendor->provider->name);
	if (c->primary == c->fd->main || c->primary == c->fd->downgrade)
		return (otaindex_source_name(e->source));
	return ("url");
}

static cJSON *
check_entry_json(const struct check *c, const struct otaindex_entry *e)
{
	cJSON	*j;

	if ((j = otaindex_entry_to_json(e)) == NULL)
		return (NULL);
	cJSON_AddStringToObject(j, "source", check_entry_source(c, e));
	return (j);
}

static void
check_image_done(struct fetchd *fd, int memfd, const char *sha, size_t len,
    const char *error, const char *why, void *arg)
{
	struct check	*c = arg;
	cJSON		*p;

	(void)fd;
	if (memfd == -1) {
		service_error(c->call, error, why);
		check_free(c);
		return;
	}
	if ((p = cJSON_CreateObject()) != NULL) {
		cJSON_AddItemToObject(p, "entry", c->entry);
		c->entry = NULL;
		cJSON_AddNumberToObject(p, "size", (double)len);
		cJSON_AddStringToObject(p, "sha512", sha);
	}
	ipc_call_reply_fds(c->call, p, &memfd, 1);
	cJSON_Delete(p);
	close(memfd);
	check_free(c);
}

static void
check_answer(struct check *c, const struct otaindex_entry *chosen)
{
	cJSON	*p;

	if ((p = cJSON_CreateObject()) == NULL) {
		ipc_call_reply(c->call, NULL);
		return;
	}
	cJSON_AddBoolToObject(p, "available", chosen != NULL);
	cJSON_AddBoolToObject(p, "fromCache", !c->contacted);
	if (chosen != NULL)
		cJSON_AddItemToObject(p, "entry", check_entry_json(c, chosen));
	ipc_call_reply(c->call, p);
	cJSON_Delete(p);
}

static void
check_image(struct check *c, const struct otaindex_entry *chosen)
{
	char	 msg[CHECK_MESSAGE_LEN];

	if (chosen == NULL) {
		snprintf(msg, sizeof(msg), "No image available for %s",
		    c->ieee_s);
		service_error(c->call, IPC_FETCH_ERR_NO_IMAGE_AVAILABLE, msg);
		check_free(c);
		return;
	}
	c->entry = check_entry_json(c, chosen);
	snprintf(msg, sizeof(msg), "image for %s", c->ieee_s);
	fetch_image_get(c->fd, chosen, msg, check_image_done, c);
}

/* The primary index is missing: fall back, or say why not. */
static int
check_no_primary(struct check *c)
{
	char	 msg[CHECK_MESSAGE_LEN];

	/* A URL the caller named is not replaced by another index. */
	if (c->override != NULL && c->override->idx != NULL &&
	    (c->primary == c->fd->main || c->primary == c->fd->downgrade)) {
		if (!c->primary->fallback_logged)
			log_warnx("%s unavailable (%s): only the override "
			    "index is used", c->primary->location,
			    c->primary->error);
		c->primary->fallback_logged = 1;
		return (0);
	}
	if (c->verdict == GATE_CACHE_ONLY) {
		snprintf(msg, sizeof(msg), "%s was checked less than %d "
		    "minutes ago and nothing is cached", c->ieee_s,
		    c->fd->conf->ota.update_check_interval);
		service_error(c->call, IPC_FETCH_ERR_CHECK_TOO_SOON, msg);
	} else {
		snprintf(msg, sizeof(msg), "%s: %s", c->primary->location,
		    c->primary->error);
		service_error(c->call, IPC_FETCH_ERR_INDEX_UNAVAILABLE, msg);
	}
	return (-1);
}

static void
check_finish(struct check *c)
{
	const struct otaindex	*idx[3];
	struct otaindex_result	 res;
	size_t			 n = 0;

	if (c->primary->idx == NULL && check_no_primary(c) == -1) {
		check_free(c);
		return;
	}
	if (c->primary->idx != NULL)
		c->primary->fallback_logged = 0;
	if (c->override != NULL && c->override->idx != NULL)
		idx[n++] = c->override->idx;
	if (c->primary->idx != NULL)
		idx[n++] = c->primary->idx;
	if (c->vendor != NULL && c->vendor->idx != NULL)
		idx[n++] = c->vendor->idx;
	if (otaindex_match(idx, n, &c->dev, c->downgrade ?
	    OTAINDEX_DOWNGRADE : OTAINDEX_UPGRADE, &res) == -1) {
		service_error(c->call, IPC_FETCH_ERR_INDEX_UNAVAILABLE,
		    "out of memory");
		check_free(c);
		return;
	}
	if (c->getimage)
		check_image(c, res.chosen);
	else {
		check_answer(c, res.chosen);
		check_free(c);
	}
	otaindex_result_free(&res);
}

static void
check_src_done(struct fetchd *fd, struct src *s, void *arg)
{
	struct check	*c = arg;

	(void)fd;
	(void)s;
	if (--c->pending == 0)
		check_finish(c);
}

static void
check_run(struct check *c)
{
	char	 reason[96];

	snprintf(reason, sizeof(reason), "%s %s for %s", c->automatic ?
	    "automatic" : "manual", c->getimage ? "update" : "check",
	    c->ieee_s);
	/* One extra count keeps callbacks made at once from finishing. */
	c->pending = 2 + (c->override != NULL) + (c->vendor != NULL);
	if (c->override != NULL)
		c->contacted |= fetch_src_update(c->fd, c->override, c->verdict,
		    c->now, reason, check_src_done, c);
	c->contacted |= fetch_src_update(c->fd, c->primary, c->verdict, c->now,
	    reason, check_src_done, c);
	if (c->vendor != NULL)
		c->contacted |= fetch_src_update(c->fd, c->vendor, c->verdict,
		    c->now, reason, check_src_done, c);
	/* Recorded before any answer, so a second call waits its turn. */
	if (c->contacted && c->verdict == GATE_NETWORK)
		gate_record(c->fd->gate, c->ieee, c->now);
	if (--c->pending == 0)
		check_finish(c);
}

static struct check *
check_new(struct fetchd *fd, struct ipc_call *call, const cJSON *params,
    int getimage)
{
	struct check	*c;
	const cJSON	*dev;
	const char	*url;

	dev = cJSON_GetObjectItemCaseSensitive(params, "device");
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		service_error(call, IPC_FETCH_ERR_INDEX_UNAVAILABLE,
		    "out of memory");
		return (NULL);
	}
	c->fd = fd;
	c->call = call;
	c->getimage = getimage;
	c->now = time(NULL);
	c->ieee_s = ipc_param_string(dev, "ieee", "");
	if (service_parse_ieee(c->ieee_s, &c->ieee) == -1) {
		service_bad_ieee(call);
		free(c);
		return (NULL);
	}
	service_device(c, dev);
	c->automatic = !getimage && ipc_param_bool(params, "automatic", 0);
	c->downgrade = ipc_param_bool(params, "downgrade", 0);
	c->override = fd->override;
	url = ipc_param_string(params, "url", NULL);
	c->primary = url != NULL ? fetch_src_extra(fd, url) : c->downgrade ?
	    fd->downgrade : fd->main;
	/* A vendor's feed is asked about that vendor's devices only. */
	if (url == NULL && !c->downgrade && fd->vendor != NULL &&
	    c->dev.manufacturer_code ==
	    fd->vendor->provider->manufacturer_code)
		c->vendor = fd->vendor;
	return (c);
}

static int
service_check_url(struct ipc_call *call, const cJSON *params)
{
	const char		*url;
	struct ipc_param_error	 err;

	/* Files are fine (in the data dir); other schemes are not. */
	url = ipc_param_string(params, "url", NULL);
	if (url == NULL || otaindex_is_http_url(url) ||
	    strstr(url, "://") == NULL)
		return (0);
	memset(&err, 0, sizeof(err));
	snprintf(err.parameter, sizeof(err.parameter), "url");
	err.reason = "only http:// and https:// URLs, or files, are accepted";
	ipc_call_invalid(call, &err);
	return (-1);
}

static void
service_start_check(struct ipc_call *call, const cJSON *params, void *arg,
    int getimage)
{
	struct fetchd	*fd = arg;
	struct check	*c;

	if (service_check_url(call, params) == -1 ||
	    (c = check_new(fd, call, params, getimage)) == NULL)
		return;
	if (c->primary == NULL) {
		service_error(call, IPC_FETCH_ERR_INDEX_UNAVAILABLE,
		    "out of memory");
		free(c);
		return;
	}
	c->verdict = gate_judge(fd->gate, c->ieee, c->automatic,
	    c->automatic && service_disabled(fd, c->ieee), c->now);
	if (c->verdict == GATE_DISABLED) {
		service_error(call, IPC_FETCH_ERR_AUTOMATIC_DISABLED,
		    "automatic update checks are disabled for this device");
		free(c);
		return;
	}
	check_run(c);
}

static void
service_check(struct ipc_call *call, const cJSON *params, void *arg)
{
	service_start_check(call, params, arg, 0);
}

static void
service_hex_decode(const char *hex, uint8_t *buf, size_t len)
{
	size_t	 i;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		hi = hex[2 * i];
		lo = hex[2 * i + 1];
		hi = hi <= '9' ? hi - '0' : (hi | 0x20) - 'a' + 10;
		lo = lo <= '9' ? lo - '0' : (lo | 0x20) - 'a' + 10;
		buf[i] = (uint8_t)(hi << 4 | lo);
	}
}

/* The entry an uploaded image stands for: its own header's identity. */
static int
service_upload_entry(const uint8_t *buf, size_t len,
    const struct otaindex_device *dev, struct otaindex_entry *e,
    char *why, size_t whylen)
{
	if (otaindex_entry_from_image(buf, len, "upload.ota", "upload", e,
	    why, whylen) == -1)
		return (-1);
	if (e->manufacturer_code != dev->manufacturer_code ||
	    e->image_type != dev->image_type) {
		snprintf(why, whylen, "the image is for manufacturer 0x%04x "
		    "image type 0x%04x, not this device's 0x%04x 0x%04x",
		    e->manufacturer_code, e->image_type,
		    dev->manufacturer_code, dev->image_type);
		return (-1);
	}
	return (0);
}

static void
service_upload(struct check *c, const char *hex)
{
	struct otaindex_entry	 e;
	char			 sha[SHA512_HEX_LEN + 1], why[VERIFY_WHY_LEN];
	size_t			 len = strlen(hex) / 2;
	uint8_t			*buf;
	int			 memfd = -1;

	memset(&e, 0, sizeof(e));
	if (len > c->fd->conf->zotad.max_image_size) {
		snprintf(why, sizeof(why), "size: %zu bytes, more than the "
		    "limit of %zu", len, c->fd->conf->zotad.max_image_size);
		service_error(c->call, IPC_FETCH_ERR_IMAGE_INVALID, why);
		return;
	}
	if ((buf = malloc(len + 1)) == NULL) {
		service_error(c->call, IPC_FETCH_ERR_IMAGE_INVALID,
		    "out of memory");
		return;
	}
	service_hex_decode(hex, buf, len);
	if (service_upload_entry(buf, len, &c->dev, &e, why,
	    sizeof(why)) == -1 || fetch_verify_image(buf, len, &e,
	    c->fd->conf->zotad.max_image_size, sha, why, sizeof(why)) == -1)
		service_error(c->call, IPC_FETCH_ERR_IMAGE_INVALID, why);
	else if ((memfd = fetch_verify_memfd(buf, len,
	    "zotad-ota-upload")) == -1)
		service_error(c->call, IPC_FETCH_ERR_DOWNLOAD_FAILED,
		    "cannot hand the image over");
	else {
		c->entry = otaindex_entry_to_json(&e);
		if (c->entry != NULL)
			cJSON_AddStringToObject(c->entry, "source", "upload");
		check_image_done(c->fd, memfd, sha, len, NULL, NULL, c);
		c = NULL;
	}
	otaindex_entry_clear(&e);
	free(buf);
	if (c != NULL)
		check_free(c);
}

static void
service_get_image(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct check	*c;
	const char	*hex;

	if ((hex = ipc_param_string(params, "hex", NULL)) == NULL) {
		service_start_check(call, params, arg, 1);
		return;
	}
	if (strlen(hex) % 2 != 0) {
		service_error(call, IPC_FETCH_ERR_IMAGE_INVALID,
		    "hex: an odd number of digits");
		return;
	}
	if ((c = check_new(arg, call, params, 1)) != NULL)
		service_upload(c, hex);
}

static const struct ipc_method service_methods[] = {
	{ IPC_FETCH_CHECK, service_check, service_check_spec },
	{ IPC_FETCH_GET_IMAGE, service_get_image, service_image_spec },
	{ NULL, NULL, NULL }
};

/* Only zotad-radio (and root, and our own user) may ask. */
static int
service_allow(const struct ipc_peer *peer, void *arg)
{
	const struct fetchd	*fd = arg;

	return (peer->uid == 0 || peer->uid == getuid() ||
	    (fd->have_radio_uid && peer->uid == fd->radio_uid));
}

int
fetch_service_start(struct fetchd *fd)
{
	char	 path[PATH_MAX];

	if ((fd->srv = ipc_server_new(fd->base, service_methods, fd)) ==
	    NULL)
		return (-1);
	ipc_server_set_allow(fd->srv, service_allow, fd);
	/* Room for an uploaded image in hex, from our one trusted peer. */
	ipc_server_set_max_message(fd->srv,
	    2 * fd->conf->zotad.max_image_size + IPC_MAX_MESSAGE);
	snprintf(path, sizeof(path), "%s/%s", fd->conf->zotad.run_dir,
	    FETCH_SOCKET_NAME);
	return (ipc_server_listen(fd->srv, FETCH_SOCKET_NAME, path, 0666));
}
