/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The scenario file: one JSON object with "adapter", "link" and
 * "devices". Every key is checked: an unknown key or a value out of
 * range stops start-up with a message that names it.
 */

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "otafile.h"
#include "util.h"
#include "sim.h"

#define SC_MAX_FILE	(1024 * 1024)
#define SC_MAX_IMAGE	(16 * 1024 * 1024)

struct sc {
	char		*err;
	size_t		 errlen;
	const char	*dir;		/* of the scenario: relative paths */
	int		 failed;
};

static int
sc_fail(struct sc *sc, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
sc_fail(struct sc *sc, const char *fmt, ...)
{
	va_list	 ap;

	if (!sc->failed) {
		va_start(ap, fmt);
		vsnprintf(sc->err, sc->errlen, fmt, ap);
		va_end(ap);
	}
	sc->failed = 1;
	return (-1);
}

/* Refuse keys that are not in ALLOWED (NULL terminated). */
static int
sc_keys(struct sc *sc, const cJSON *obj, const char *where,
    const char *const *allowed)
{
	const cJSON	*it;
	int		 i;

	if (!cJSON_IsObject(obj))
		return (sc_fail(sc, "%s: expected an object", where));
	cJSON_ArrayForEach(it, obj) {
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(it->string, allowed[i]) == 0)
				break;
		if (allowed[i] == NULL)
			return (sc_fail(sc, "%s: unknown key \"%s\"", where,
			    it->string));
	}
	return (0);
}

/* An unsigned number, as a JSON number or a "0x" hex string. */
static int
sc_uint(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    uint64_t max, uint64_t *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char		*end;
	double		 d;

	if (v == NULL)
		return (0);
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
		if (d < 0 || d > (double)max || d != (double)(uint64_t)d)
			return (sc_fail(sc, "%s.%s: %g is not an integer in "
			    "0..%llu", where, key, d, (unsigned long long)max));
		*out = (uint64_t)d;
		return (0);
	}
	if (cJSON_IsString(v) && strncmp(v->valuestring, "0x", 2) == 0 &&
	    v->valuestring[2] != '\0') {
		errno = 0;
		*out = strtoull(v->valuestring + 2, &end, 16);
		if (*end == '\0' && errno == 0 && *out <= max &&
		    v->valuestring[2] != '-' && v->valuestring[2] != '+')
			return (0);
	}
	return (sc_fail(sc, "%s.%s: expected an integer in 0..%llu", where, key,
	    (unsigned long long)max));
}

static int
sc_u32(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    uint32_t max, uint32_t *out)
{
	uint64_t	 v = *out;

	if (sc_uint(sc, obj, where, key, max, &v) == -1)
		return (-1);
	*out = (uint32_t)v;
	return (0);
}

static int
sc_u16(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    uint16_t *out)
{
	uint64_t	 v = *out;

	if (sc_uint(sc, obj, where, key, 0xFFFF, &v) == -1)
		return (-1);
	*out = (uint16_t)v;
	return (0);
}

static int
sc_u8(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    uint8_t *out)
{
	uint64_t	 v = *out;

	if (sc_uint(sc, obj, where, key, 0xFF, &v) == -1)
		return (-1);
	*out = (uint8_t)v;
	return (0);
}

static int
sc_bool(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    int *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v == NULL)
		return (0);
	if (!cJSON_IsBool(v))
		return (sc_fail(sc, "%s.%s: expected true or false", where,
		    key));
	*out = cJSON_IsTrue(v);
	return (0);
}

static int
sc_rate(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    double *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v == NULL)
		return (0);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1)
		return (sc_fail(sc, "%s.%s: expected a number in 0..1", where,
		    key));
	*out = v->valuedouble;
	return (0);
}

static int
sc_str(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    char *out, size_t outlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v == NULL)
		return (0);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= outlen)
		return (sc_fail(sc, "%s.%s: expected a string of at most %zu "
		    "bytes", where, key, outlen - 1));
	snprintf(out, outlen, "%s", v->valuestring);
	return (0);
}

static int
sc_ieee(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    uint8_t ieee[8], int required)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v == NULL && !required)
		return (0);
	if (!cJSON_IsString(v) || ieee_parse(v->valuestring, ieee) == -1)
		return (sc_fail(sc, "%s.%s: expected \"0x\" and 16 hex digits",
		    where, key));
	return (0);
}

/* N bytes as an array of numbers or as a hex string (colons allowed). */
static int
sc_bytes(struct sc *sc, const cJSON *obj, const char *where, const char *key,
    uint8_t *out, int n)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(obj, key), *it;
	const char	*s;
	unsigned int	 b;
	int		 i = 0;

	if (v == NULL)
		return (0);
	if (cJSON_IsArray(v) && cJSON_GetArraySize(v) == n) {
		cJSON_ArrayForEach(it, v) {
			if (!cJSON_IsNumber(it) || it->valueint < 0 ||
			    it->valueint > 255)
				break;
			out[i++] = (uint8_t)it->valueint;
		}
		if (i == n)
			return (0);
	} else if (cJSON_IsString(v)) {
		s = v->valuestring;
		if (strncmp(s, "0x", 2) == 0)
			s += 2;
		for (i = 0; i < n && *s != '\0'; i++) {
			if (sscanf(s, "%2x", &b) != 1 || strspn(s,
			    "0123456789abcdefABCDEF") < 2)
				break;
			out[i] = (uint8_t)b;
			s += 2;
			if (*s == ':')
				s++;
		}
		if (i == n && *s == '\0')
			return (0);
	}
	return (sc_fail(sc, "%s.%s: expected %d bytes (array or hex)", where,
	    key, n));
}

static int
sc_adapter(struct sc *sc, struct sim *sim, const cJSON *a)
{
	static const char *const keys[] = { "ieee", "pan_id", "ext_pan_id",
	    "channel", "network_key", "formed", "baud", "revision", NULL };
	struct sim_adapter	*ad = &sim->adapter;
	uint8_t			 epid[8];
	int			 i;

	if (a == NULL)
		return (0);
	memcpy(epid, ad->epid, 8);
	if (sc_keys(sc, a, "adapter", keys) == -1 ||
	    sc_ieee(sc, a, "adapter", "ieee", ad->ieee, 0) == -1 ||
	    sc_u16(sc, a, "adapter", "pan_id", &ad->pan_id) == -1 ||
	    sc_bytes(sc, a, "adapter", "ext_pan_id", epid, 8) == -1 ||
	    sc_u8(sc, a, "adapter", "channel", &ad->channel) == -1 ||
	    sc_bytes(sc, a, "adapter", "network_key", ad->key, 16) == -1 ||
	    sc_bool(sc, a, "adapter", "formed", &ad->formed) == -1 ||
	    sc_u32(sc, a, "adapter", "baud", 4000000, &sim->link.baud) ==
	    -1 || sc_u32(sc, a, "adapter", "revision", UINT32_MAX,
	    &ad->revision) == -1)
		return (-1);
	/* Written as zigbee2mqtt's configuration shows it; NV holds LE. */
	if (cJSON_GetObjectItemCaseSensitive(a, "ext_pan_id") != NULL)
		for (i = 0; i < 8; i++)
			ad->epid[i] = epid[7 - i];
	if (ad->channel < 11 || ad->channel > 26)
		return (sc_fail(sc, "adapter.channel: %u is not in 11..26",
		    ad->channel));
	if (ad->pan_id == 0xFFFF || ad->pan_id == 0xFFFE)
		return (sc_fail(sc, "adapter.pan_id: 0x%04x is reserved",
		    ad->pan_id));
	return (0);
}

static int
sc_link(struct sc *sc, struct sim *sim, const cJSON *l)
{
	static const char *const keys[] = { "baud", "air_latency_ms",
	    "loss_rate", "confirm_delay_ms", "confirm_status",
	    "confirm_fail_rate", "confirm_fail_status", NULL };
	struct sim_link_cfg	*c = &sim->link;

	if (l == NULL)
		return (0);
	if (sc_keys(sc, l, "link", keys) == -1 ||
	    sc_u32(sc, l, "link", "baud", 4000000, &c->baud) == -1 ||
	    sc_u32(sc, l, "link", "air_latency_ms", 60000,
	    &c->air_latency_ms) == -1 ||
	    sc_rate(sc, l, "link", "loss_rate", &c->loss_rate) == -1 ||
	    sc_u32(sc, l, "link", "confirm_delay_ms", 60000,
	    &c->confirm_delay_ms) == -1 ||
	    sc_u8(sc, l, "link", "confirm_status", &c->confirm_status) == -1 ||
	    sc_rate(sc, l, "link", "confirm_fail_rate",
	    &c->confirm_fail_rate) == -1 ||
	    sc_u8(sc, l, "link", "confirm_fail_status",
	    &c->confirm_fail_status) == -1)
		return (-1);
	return (0);
}

static int
sc_basic(struct sc *sc, const cJSON *b, const char *where,
    struct sim_basic *out)
{
	static const char *const keys[] = { "manufacturer_name", "model_id",
	    "power_source", "sw_build_id", "date_code", "hw_version",
	    "app_version", "stack_version", "zcl_version", NULL };

	if (b == NULL)
		return (0);
	if (sc_keys(sc, b, where, keys) == -1 ||
	    sc_str(sc, b, where, "manufacturer_name", out->manufacturer,
	    sizeof(out->manufacturer)) == -1 ||
	    sc_str(sc, b, where, "model_id", out->model,
	    sizeof(out->model)) == -1 ||
	    sc_u8(sc, b, where, "power_source", &out->power_source) == -1 ||
	    sc_str(sc, b, where, "sw_build_id", out->sw_build_id,
	    sizeof(out->sw_build_id)) == -1 ||
	    sc_str(sc, b, where, "date_code", out->date_code,
	    sizeof(out->date_code)) == -1 ||
	    sc_u8(sc, b, where, "hw_version", &out->hw_version) == -1 ||
	    sc_u8(sc, b, where, "app_version", &out->app_version) == -1 ||
	    sc_u8(sc, b, where, "stack_version", &out->stack_version) == -1 ||
	    sc_u8(sc, b, where, "zcl_version", &out->zcl_version) == -1)
		return (-1);
	return (0);
}

static int
sc_clusters(struct sc *sc, const cJSON *ep, const char *where,
    const char *key, uint16_t *out, uint8_t *n)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(ep, key), *it;

	*n = 0;
	if (v == NULL)
		return (0);
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > SIM_MAX_CLUSTERS)
		return (sc_fail(sc, "%s.%s: expected at most %d cluster ids",
		    where, key, SIM_MAX_CLUSTERS));
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsNumber(it) || it->valuedouble < 0 ||
		    it->valuedouble > 0xFFFF)
			return (sc_fail(sc, "%s.%s: bad cluster id", where,
			    key));
		out[(*n)++] = (uint16_t)it->valueint;
	}
	return (0);
}

static int
sc_endpoints(struct sc *sc, const cJSON *eps, const char *where,
    struct sim_device *d)
{
	static const char *const keys[] = { "id", "profile", "device_id",
	    "version", "in", "out", NULL };
	const cJSON	*e;
	struct sim_ep	*ep;
	char		 at[96];

	if (!cJSON_IsArray(eps) || cJSON_GetArraySize(eps) < 1 ||
	    cJSON_GetArraySize(eps) > (int)(sizeof(d->eps) / sizeof(d->eps[0])))
		return (sc_fail(sc, "%s.endpoints: expected 1 to %zu endpoints",
		    where, sizeof(d->eps) / sizeof(d->eps[0])));
	cJSON_ArrayForEach(e, eps) {
		ep = &d->eps[d->neps];
		snprintf(at, sizeof(at), "%s.endpoints[%d]", where, d->neps);
		ep->profile = 0x0104;
		ep->device_id = 0x0100;
		if (sc_keys(sc, e, at, keys) == -1 ||
		    sc_u8(sc, e, at, "id", &ep->id) == -1 ||
		    sc_u16(sc, e, at, "profile", &ep->profile) == -1 ||
		    sc_u16(sc, e, at, "device_id", &ep->device_id) == -1 ||
		    sc_u8(sc, e, at, "version", &ep->version) == -1 ||
		    sc_clusters(sc, e, at, "in", ep->in, &ep->nin) == -1 ||
		    sc_clusters(sc, e, at, "out", ep->out, &ep->nout) == -1)
			return (-1);
		if (ep->id == 0 || ep->id > 240)
			return (sc_fail(sc, "%s.id: endpoint must be 1..240",
			    at));
		d->neps++;
	}
	return (0);
}

static int
sc_inject(struct sc *sc, const cJSON *j, const char *where,
    struct sim_inject *in)
{
	static const char *const keys[] = { "ignore_image_notify",
	    "silent_at_offset", "abort_at_offset", "end_invalid_image",
	    "reject_block_over", "reboot_without_announce", "out_of_order",
	    "repeat_offsets", NULL };
	uint64_t	 silent = UINT64_MAX, abort_at = UINT64_MAX, over = 0;

	if (j == NULL)
		return (0);
	if (sc_keys(sc, j, where, keys) == -1 ||
	    sc_bool(sc, j, where, "ignore_image_notify",
	    &in->ignore_image_notify) == -1 ||
	    sc_uint(sc, j, where, "silent_at_offset", SC_MAX_IMAGE,
	    &silent) == -1 ||
	    sc_uint(sc, j, where, "abort_at_offset", SC_MAX_IMAGE,
	    &abort_at) == -1 ||
	    sc_bool(sc, j, where, "end_invalid_image",
	    &in->end_invalid_image) == -1 ||
	    sc_uint(sc, j, where, "reject_block_over", 255, &over) == -1 ||
	    sc_bool(sc, j, where, "reboot_without_announce",
	    &in->reboot_no_announce) == -1 ||
	    sc_bool(sc, j, where, "out_of_order", &in->out_of_order) == -1 ||
	    sc_bool(sc, j, where, "repeat_offsets", &in->repeat_offsets) == -1)
		return (-1);
	in->silent_at = silent == UINT64_MAX ? -1 : (int64_t)silent;
	in->abort_at = abort_at == UINT64_MAX ? -1 : (int64_t)abort_at;
	in->reject_block_over = (int)over;
	return (0);
}

/* The SHA-512 of the served range of the image a client must get. */
static int
sc_expect_image(struct sc *sc, const cJSON *o, const char *where,
    struct sim_ota_cfg *c)
{
	const cJSON		*v;
	struct ota_image	*img;
	uint8_t			*buf;
	size_t			 len;
	char			 path[PATH_MAX], err[160];
	int			 rv = -1;

	v = cJSON_GetObjectItemCaseSensitive(o, "expect_image");
	if (v == NULL)
		return (0);
	if (!cJSON_IsString(v))
		return (sc_fail(sc, "%s.expect_image: expected a path", where));
	if (v->valuestring[0] == '/')
		snprintf(path, sizeof(path), "%s", v->valuestring);
	else
		snprintf(path, sizeof(path), "%s/%s", sc->dir, v->valuestring);
	if (util_read_file(path, SC_MAX_IMAGE, &buf, &len) == -1)
		return (sc_fail(sc, "%s.expect_image: %s: %s", where, path,
		    strerror(errno)));
	if ((img = calloc(1, sizeof(*img))) == NULL)
		fatal("%s", __func__);
	if (ota_parse(buf, len, img, err, sizeof(err)) == -1)
		sc_fail(sc, "%s.expect_image: %s: %s", where, path, err);
	else {
		util_sha512_hex(buf + img->served_offset, img->served_len,
		    c->expect_sha512);
		c->has_expect_sha512 = 1;
		rv = 0;
	}
	free(img);
	free(buf);
	return (rv);
}

static void
sc_ota_defaults(struct sim_ota_cfg *c, const struct sim_device *d)
{
	int	 i;

	c->enabled = 1;
	for (i = 0; i < d->neps && c->endpoint == 0; i++)
		if (ep_has_out(&d->eps[i], 0x0019))
			c->endpoint = d->eps[i].id;
	c->manufacturer = d->manufacturer_code;
	c->max_data_size = 64;
	c->page_size = 1024;
	c->page_spacing = 50;
	c->block_timeout_ms = 5000;
	c->block_retries = 10;
	c->reply_latency_ms = 20;
	c->reboot_ms = 2000;
	c->end_retry_ms = 600000;
	c->inject.silent_at = -1;
	c->inject.abort_at = -1;
	c->after = d->basic;
}

static int
sc_ota_mode(struct sc *sc, const cJSON *o, const char *where,
    struct sim_ota_cfg *c)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, "mode");

	if (v == NULL)
		return (0);
	if (cJSON_IsString(v) && strcmp(v->valuestring, "block") == 0)
		c->page_mode = 0;
	else if (cJSON_IsString(v) && strcmp(v->valuestring, "page") == 0)
		c->page_mode = 1;
	else
		return (sc_fail(sc, "%s.mode: expected \"block\" or \"page\"",
		    where));
	return (0);
}

static int
sc_ota(struct sc *sc, const cJSON *o, const char *where, struct sim_device *d)
{
	static const char *const keys[] = { "endpoint", "manufacturer_code",
	    "image_type", "file_version", "hw_version", "max_data_size",
	    "min_block_period_ms", "mode", "page_size", "page_spacing_ms",
	    "query_interval_s", "block_timeout_ms", "block_retries",
	    "reply_latency_ms", "reboot_ms", "end_retry_ms", "expect_image",
	    "after", "inject", NULL };
	struct sim_ota_cfg	*c = &d->ota_cfg;
	const cJSON		*hw;
	uint32_t		 query_s = 0;
	char			 at[128];

	if (o == NULL)
		return (0);
	sc_ota_defaults(c, d);
	if (sc_keys(sc, o, where, keys) == -1 ||
	    sc_u8(sc, o, where, "endpoint", &c->endpoint) == -1 ||
	    sc_u16(sc, o, where, "manufacturer_code", &c->manufacturer) ==
	    -1 || sc_u16(sc, o, where, "image_type", &c->image_type) == -1 ||
	    sc_u32(sc, o, where, "file_version", UINT32_MAX,
	    &c->file_version) == -1 ||
	    sc_u8(sc, o, where, "max_data_size", &c->max_data_size) == -1 ||
	    sc_u16(sc, o, where, "min_block_period_ms",
	    &c->min_block_period) == -1 ||
	    sc_ota_mode(sc, o, where, c) == -1 ||
	    sc_u16(sc, o, where, "page_size", &c->page_size) == -1 ||
	    sc_u16(sc, o, where, "page_spacing_ms", &c->page_spacing) == -1 ||
	    sc_u32(sc, o, where, "query_interval_s", 86400 * 7, &query_s) ==
	    -1 || sc_u32(sc, o, where, "block_timeout_ms", 600000,
	    &c->block_timeout_ms) == -1 ||
	    sc_u32(sc, o, where, "block_retries", 1000, &c->block_retries) ==
	    -1 || sc_u32(sc, o, where, "reply_latency_ms", 60000,
	    &c->reply_latency_ms) == -1 ||
	    sc_u32(sc, o, where, "reboot_ms", 600000, &c->reboot_ms) == -1 ||
	    sc_u32(sc, o, where, "end_retry_ms", 86400000, &c->end_retry_ms) ==
	    -1 || sc_expect_image(sc, o, where, c) == -1)
		return (-1);
	hw = cJSON_GetObjectItemCaseSensitive(o, "hw_version");
	if (hw != NULL && !cJSON_IsNull(hw)) {
		if (sc_u16(sc, o, where, "hw_version", &c->hw_version) == -1)
			return (-1);
		c->has_hw_version = 1;
	}
	c->query_interval_ms = query_s * 1000;
	snprintf(at, sizeof(at), "%s.after", where);
	if (sc_basic(sc, cJSON_GetObjectItemCaseSensitive(o, "after"), at,
	    &c->after) == -1)
		return (-1);
	c->after_set = cJSON_GetObjectItemCaseSensitive(o, "after") != NULL;
	snprintf(at, sizeof(at), "%s.inject", where);
	if (sc_inject(sc, cJSON_GetObjectItemCaseSensitive(o, "inject"), at,
	    &c->inject) == -1)
		return (-1);
	if (c->endpoint == 0 || c->max_data_size == 0 || c->page_size == 0)
		return (sc_fail(sc, "%s: needs an endpoint with OTA (25) as "
		    "an output cluster and non-zero sizes", where));
	return (0);
}

static int
sc_kind(struct sc *sc, const cJSON *o, const char *where,
    struct sim_device *d)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, "type");

	if (!cJSON_IsString(v))
		return (sc_fail(sc, "%s.type: required", where));
	if (strcmp(v->valuestring, "router") == 0)
		d->kind = DEV_ROUTER;
	else if (strcmp(v->valuestring, "end_device") == 0)
		d->kind = DEV_END;
	else if (strcmp(v->valuestring, "sleepy_end_device") == 0)
		d->kind = DEV_SLEEPY;
	else
		return (sc_fail(sc, "%s.type: expected router, end_device or "
		    "sleepy_end_device", where));
	return (0);
}

static int
sc_device(struct sc *sc, const cJSON *o, const char *where,
    struct sim_device *d)
{
	static const char *const keys[] = { "name", "ieee", "nwk", "type",
	    "poll_ms", "fast_poll_ms", "expire_ms", "joined",
	    "manufacturer_code", "basic", "battery", "endpoints", "ota", NULL };
	uint64_t	 battery = UINT64_MAX;
	char		 at[96];

	d->joined = 1;
	d->poll_ms = 7000;
	d->fast_poll_ms = 250;
	d->expire_ms = 7680;
	d->basic.battery = -1;
	d->basic.zcl_version = 8;
	d->basic.power_source = 1;
	if (sc_keys(sc, o, where, keys) == -1 ||
	    sc_str(sc, o, where, "name", d->name, sizeof(d->name)) == -1 ||
	    sc_ieee(sc, o, where, "ieee", d->ieee, 1) == -1 ||
	    sc_u16(sc, o, where, "nwk", &d->nwk) == -1 ||
	    sc_kind(sc, o, where, d) == -1 ||
	    sc_u32(sc, o, where, "poll_ms", 3600000, &d->poll_ms) == -1 ||
	    sc_u32(sc, o, where, "fast_poll_ms", 3600000, &d->fast_poll_ms) ==
	    -1 || sc_u32(sc, o, where, "expire_ms", 3600000, &d->expire_ms) ==
	    -1 || sc_bool(sc, o, where, "joined", &d->joined) == -1 ||
	    sc_u16(sc, o, where, "manufacturer_code", &d->manufacturer_code) ==
	    -1 || sc_uint(sc, o, where, "battery", 100, &battery) == -1)
		return (-1);
	if (d->nwk == 0 || d->nwk >= 0xFFF8)
		return (sc_fail(sc, "%s.nwk: 0x%04x cannot be a device address",
		    where, d->nwk));
	if (d->poll_ms == 0)
		return (sc_fail(sc, "%s.poll_ms: must be positive", where));
	if (d->name[0] == '\0')
		ieee_format(d->ieee, d->name);
	d->basic.battery = battery == UINT64_MAX ? -1 : (int)battery;
	snprintf(at, sizeof(at), "%s.basic", where);
	if (sc_basic(sc, cJSON_GetObjectItemCaseSensitive(o, "basic"), at,
	    &d->basic) == -1 ||
	    sc_endpoints(sc, cJSON_GetObjectItemCaseSensitive(o, "endpoints"),
	    where, d) == -1)
		return (-1);
	snprintf(at, sizeof(at), "%s.ota", where);
	return (sc_ota(sc, cJSON_GetObjectItemCaseSensitive(o, "ota"), at, d));
}

struct sim_device *
scenario_device(struct sim *sim, const cJSON *o, char *err, size_t errlen)
{
	struct sc		 sc = { err, errlen, ".", 0 };
	struct sim_device	*d;
	char			 where[32];

	(void)sim;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatal("%s", __func__);
	snprintf(where, sizeof(where), "device");
	if (sc_device(&sc, o, where, d) == -1) {
		free(d);
		return (NULL);
	}
	return (d);
}

static void
sc_defaults(struct sim *sim)
{
	static const uint8_t ieee[8] = {
		0x01, 0x00, 0xfe, 0xca, 0x00, 0x4b, 0x12, 0x00
	};
	static const uint8_t epid[8] = {
		0x98, 0x87, 0x76, 0x65, 0x54, 0x43, 0x32, 0x21
	};
	static const uint8_t key[16] = {
		1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13
	};

	memcpy(sim->adapter.ieee, ieee, 8);
	memcpy(sim->adapter.epid, epid, 8);
	memcpy(sim->adapter.key, key, 16);
	sim->adapter.pan_id = 0x1A62;
	sim->adapter.channel = 11;
	sim->adapter.formed = 1;
	sim->adapter.revision = 20240710;
	sim->link.baud = 115200;
	sim->link.air_latency_ms = 2;
	sim->link.confirm_delay_ms = 5;
	sim->link.confirm_fail_status = 0xE9;
}

static int
sc_devices(struct sc *sc, struct sim *sim, const cJSON *devs)
{
	const cJSON		*o;
	struct sim_device	*d;
	char			 where[32];
	int			 i = 0;

	if (devs == NULL)
		return (0);
	if (!cJSON_IsArray(devs))
		return (sc_fail(sc, "devices: expected an array"));
	cJSON_ArrayForEach(o, devs) {
		snprintf(where, sizeof(where), "devices[%d]", i++);
		if ((d = calloc(1, sizeof(*d))) == NULL)
			fatal("%s", __func__);
		if (sc_device(sc, o, where, d) == -1) {
			free(d);
			return (-1);
		}
		if (dev_add(sim, d) == -1) {
			free(d);
			return (sc_fail(sc, "%s: duplicate address, or more "
			    "than %d devices", where, SIM_MAX_DEVICES));
		}
	}
	return (0);
}

int
scenario_load(struct sim *sim, const char *path)
{
	static const char *const keys[] = { "adapter", "link", "devices",
	    "description", NULL };
	struct sc	 sc;
	cJSON		*root;
	uint8_t		*buf;
	size_t		 len;
	char		 err[256], dirbuf[PATH_MAX];

	sc_defaults(sim);
	if (util_read_file(path, SC_MAX_FILE, &buf, &len) == -1) {
		log_warn("scenario %s", path);
		return (-1);
	}
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	sc.err = err;
	sc.errlen = sizeof(err);
	sc.dir = dirname(dirbuf);
	sc.failed = 0;
	if ((root = cJSON_ParseWithLength((const char *)buf, len)) == NULL)
		sc_fail(&sc, "not valid JSON near byte %zu",
		    (size_t)(cJSON_GetErrorPtr() - (const char *)buf));
	else if (sc_keys(&sc, root, "scenario", keys) == 0 &&
	    sc_adapter(&sc, sim, cJSON_GetObjectItemCaseSensitive(root,
	    "adapter")) == 0 &&
	    sc_link(&sc, sim, cJSON_GetObjectItemCaseSensitive(root,
	    "link")) == 0)
		sc_devices(&sc, sim, cJSON_GetObjectItemCaseSensitive(root,
		    "devices"));
	cJSON_Delete(root);
	free(buf);
	if (sc.failed) {
		log_warnx("scenario %s: %s", path, err);
		return (-1);
	}
	return (0);
}
