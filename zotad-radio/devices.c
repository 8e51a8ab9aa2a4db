/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "devices.h"
#include "log.h"
#include "util.h"
#include "zcl.h"

#define DEV_Z2M_DB		"database.db"
#define DEV_Z2M_DB_MAX		(64 * 1024 * 1024)

struct registry {
	char		*path;
	struct device	*devs;
	size_t		 ndevs;
	size_t		 cap;
};

static const char *const dev_type_names[] = { "unknown", "router",
    "end_device" };
static const char *const dev_iv_names[] = { "none", "running", "done",
    "failed" };

struct registry *
reg_new(const char *state_dir)
{
	struct registry	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	if (asprintf(&r->path, "%s/%s", state_dir, DEV_FILE) == -1) {
		free(r);
		return (NULL);
	}
	return (r);
}

void
reg_free(struct registry *r)
{
	if (r == NULL)
		return;
	free(r->devs);
	free(r->path);
	free(r);
}

size_t
reg_count(const struct registry *r)
{
	return (r->ndevs);
}

struct device *
reg_at(struct registry *r, size_t i)
{
	return (i < r->ndevs ? &r->devs[i] : NULL);
}

struct device *
reg_find(struct registry *r, uint64_t ieee)
{
	size_t	 i;

	for (i = 0; i < r->ndevs; i++)
		if (r->devs[i].ieee == ieee)
			return (&r->devs[i]);
	return (NULL);
}

struct device *
reg_find_nwk(struct registry *r, uint16_t nwk)
{
	size_t	 i;

	for (i = 0; i < r->ndevs; i++)
		if (r->devs[i].nwk == nwk)
			return (&r->devs[i]);
	return (NULL);
}

struct device *
reg_add(struct registry *r, uint64_t ieee, uint16_t nwk)
{
	struct device	*d;
	size_t		 ncap;

	if ((d = reg_find(r, ieee)) != NULL) {
		d->nwk = nwk;
		return (d);
	}
	if (r->ndevs >= DEV_MAX)
		return (NULL);
	if (r->ndevs == r->cap) {
		ncap = r->cap ? r->cap * 2 : 16;
		if ((d = reallocarray(r->devs, ncap, sizeof(*d))) == NULL)
			return (NULL);
		r->devs = d;
		r->cap = ncap;
	}
	d = &r->devs[r->ndevs++];
	memset(d, 0, sizeof(*d));
	d->ieee = ieee;
	d->nwk = nwk;
	d->power_source = DEV_POWER_UNKNOWN;
	d->hw_version = -1;
	d->rx_on_idle = 1;
	return (d);
}

void
reg_remove(struct registry *r, uint64_t ieee)
{
	struct device	*d;
	size_t		 i;

	if ((d = reg_find(r, ieee)) == NULL)
		return;
	i = (size_t)(d - r->devs);
	memmove(d, d + 1, (r->ndevs - i - 1) * sizeof(*d));
	r->ndevs--;
}

uint8_t
dev_ota_ep(const struct device *d)
{
	int	 i, k;

	for (i = 0; i < d->neps; i++)
		for (k = 0; k < d->eps[i].nout; k++)
			if (d->eps[i].out[k] == ZCL_CLUSTER_OTA)
				return (d->eps[i].id);
	return (0);
}

uint8_t
dev_ep_with_in(const struct device *d, uint16_t cluster)
{
	int	 i, k;

	for (i = 0; i < d->neps; i++)
		for (k = 0; k < d->eps[i].nin; k++)
			if (d->eps[i].in[k] == cluster)
				return (d->eps[i].id);
	return (0);
}

int
dev_on_battery(const struct device *d)
{
	/* Basic's powerSource, bit 7 aside (a backup battery). */
	if (d->power_source != DEV_POWER_UNKNOWN)
		return ((d->power_source & 0x7F) == DEV_POWER_BATTERY);
	return (!d->rx_on_idle);
}

void
dev_ieee_str(uint64_t ieee, char out[19])
{
	snprintf(out, 19, "0x%016llx", (unsigned long long)ieee);
}

int
dev_ieee_parse(const char *s, uint64_t *ieee)
{
	char	*end;

	if (s == NULL || strlen(s) != 18 || s[0] != '0' ||
	    (s[1] != 'x' && s[1] != 'X'))
		return (-1);
	if (strspn(s + 2, "0123456789abcdefABCDEF") != 16)
		return (-1);
	errno = 0;
	*ieee = strtoull(s + 2, &end, 16);
	return (errno != 0 || *end != '\0' ? -1 : 0);
}

static cJSON *
dev_clusters_json(const uint16_t *c, int n)
{
	cJSON	*a = cJSON_CreateArray();
	int	 i;

	for (i = 0; a != NULL && i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateNumber(c[i]));
	return (a);
}

static cJSON *
dev_eps_json(const struct device *d)
{
	cJSON	*a = cJSON_CreateArray(), *e;
	int	 i;

	for (i = 0; a != NULL && i < d->neps; i++) {
		if ((e = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddNumberToObject(e, "id", d->eps[i].id);
		cJSON_AddNumberToObject(e, "profile", d->eps[i].profile);
		cJSON_AddNumberToObject(e, "device_id", d->eps[i].device_id);
		cJSON_AddItemToObject(e, "in",
		    dev_clusters_json(d->eps[i].in, d->eps[i].nin));
		cJSON_AddItemToObject(e, "out",
		    dev_clusters_json(d->eps[i].out, d->eps[i].nout));
		cJSON_AddItemToArray(a, e);
	}
	return (a);
}

cJSON *
dev_json(const struct device *d)
{
	cJSON	*o, *ota;
	char	 ieee[19];

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	dev_ieee_str(d->ieee, ieee);
	cJSON_AddStringToObject(o, "ieee", ieee);
	cJSON_AddNumberToObject(o, "nwk", d->nwk);
	cJSON_AddStringToObject(o, "type", dev_type_names[d->type]);
	cJSON_AddNumberToObject(o, "manufacturer_code", d->manuf_code);
	cJSON_AddBoolToObject(o, "rx_on_idle", d->rx_on_idle);
	cJSON_AddStringToObject(o, "manufacturer_name", d->manufacturer);
	cJSON_AddStringToObject(o, "model_id", d->model);
	cJSON_AddStringToObject(o, "sw_build_id", d->sw_build_id);
	cJSON_AddStringToObject(o, "date_code", d->date_code);
	cJSON_AddNumberToObject(o, "power_source", d->power_source);
	cJSON_AddNumberToObject(o, "hw_version", d->hw_version);
	cJSON_AddItemToObject(o, "endpoints", dev_eps_json(d));
	cJSON_AddStringToObject(o, "interview", dev_iv_names[d->interview]);
	cJSON_AddNumberToObject(o, "ota_endpoint", dev_ota_ep(d));
	if (d->has_ota_info && (ota = cJSON_AddObjectToObject(o, "ota")) !=
	    NULL) {
		cJSON_AddNumberToObject(ota, "manufacturer_code",
		    d->ota_manuf);
		cJSON_AddNumberToObject(ota, "image_type", d->ota_image_type);
		cJSON_AddNumberToObject(ota, "file_version",
		    d->file_version);
	}
	cJSON_AddNumberToObject(o, "last_seen", (double)d->last_seen);
	cJSON_AddBoolToObject(o, "scheduled", d->scheduled);
	cJSON_AddBoolToObject(o, "schedule_downgrade", d->schedule_downgrade);
	if (d->schedule_url[0] != '\0')
		cJSON_AddStringToObject(o, "schedule_url", d->schedule_url);
	if (d->schedule_image)
		cJSON_AddBoolToObject(o, "schedule_image", 1);
	return (o);
}

/* An integer member KEY of O within [MIN, MAX]; absent leaves *OUT. */
static int
dev_j_int(const cJSON *o, const char *key, double min, double max,
    double *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return (0);
	if (!cJSON_IsNumber(v) || v->valuedouble < min ||
	    v->valuedouble > max || v->valuedouble != (double)(long long)
	    v->valuedouble)
		return (-1);
	*out = v->valuedouble;
	return (0);
}

static int
dev_j_str(const cJSON *o, const char *key, char *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t		 i, k = 0;

	if (v == NULL || cJSON_IsNull(v))
		return (0);
	if (!cJSON_IsString(v))
		return (-1);
	for (i = 0; v->valuestring[i] != '\0' && k < DEV_STR_MAX; i++)
		if ((unsigned char)v->valuestring[i] >= 0x20 &&
		    (unsigned char)v->valuestring[i] < 0x7F)
			out[k++] = v->valuestring[i];
	out[k] = '\0';
	return (0);
}

/*
 * A schedule's url, kept as it was given: refused rather than changed
 * when it is too long or holds control characters.
 */
static int
dev_j_url(const cJSON *o, const char *key, char *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);
	size_t		 i, len;

	if (v == NULL || cJSON_IsNull(v))
		return (0);
	if (!cJSON_IsString(v) || (len = strlen(v->valuestring)) >
	    DEV_URL_MAX)
		return (-1);
	for (i = 0; i < len; i++)
		if ((unsigned char)v->valuestring[i] < 0x20 ||
		    v->valuestring[i] == 0x7F)
			return (-1);
	memcpy(out, v->valuestring, len + 1);
	return (0);
}

static int
dev_j_bool(const cJSON *o, const char *key, int *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (v == NULL)
		return (0);
	if (!cJSON_IsBool(v))
		return (-1);
	*out = cJSON_IsTrue(v);
	return (0);
}

static int
dev_j_clusters(const cJSON *a, uint16_t *out, uint8_t *n)
{
	const cJSON	*v;

	*n = 0;
	if (a == NULL)
		return (0);
	if (!cJSON_IsArray(a))
		return (-1);
	cJSON_ArrayForEach(v, a) {
		if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
		    v->valuedouble > 0xFFFF)
			return (-1);
		if (*n < DEV_MAX_CLUSTERS)
			out[(*n)++] = (uint16_t)v->valuedouble;
	}
	return (0);
}

static int
dev_j_ep(const cJSON *e, struct dev_ep *ep)
{
	double	 id = -1, profile = 0, devid = 0;

	if (!cJSON_IsObject(e) ||
	    dev_j_int(e, "id", 1, 240, &id) == -1 || id < 0 ||
	    dev_j_int(e, "profile", 0, 0xFFFF, &profile) == -1 ||
	    dev_j_int(e, "device_id", 0, 0xFFFF, &devid) == -1 ||
	    dev_j_clusters(cJSON_GetObjectItemCaseSensitive(e, "in"), ep->in,
	    &ep->nin) == -1 ||
	    dev_j_clusters(cJSON_GetObjectItemCaseSensitive(e, "out"),
	    ep->out, &ep->nout) == -1)
		return (-1);
	ep->id = (uint8_t)id;
	ep->profile = (uint16_t)profile;
	ep->device_id = (uint16_t)devid;
	return (0);
}

static int
dev_j_eps(const cJSON *a, struct device *d)
{
	const cJSON	*e;

	d->neps = 0;
	if (a == NULL)
		return (0);
	if (!cJSON_IsArray(a))
		return (-1);
	cJSON_ArrayForEach(e, a) {
		if (d->neps >= DEV_MAX_EPS)
			break;
		if (dev_j_ep(e, &d->eps[d->neps]) == -1)
			return (-1);
		d->neps++;
	}
	return (0);
}

static int
dev_j_enum(const cJSON *o, const char *key, const char *const *names,
    int n, int *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);
	int		 i;

	if (v == NULL)
		return (0);
	for (i = 0; cJSON_IsString(v) && i < n; i++)
		if (strcmp(v->valuestring, names[i]) == 0) {
			*out = i;
			return (0);
		}
	return (-1);
}

static int
dev_j_ota(const cJSON *o, struct device *d)
{
	double	 m = 0, t = 0, v = 0;

	if (o == NULL)
		return (0);
	if (!cJSON_IsObject(o) ||
	    dev_j_int(o, "manufacturer_code", 0, 0xFFFF, &m) == -1 ||
	    dev_j_int(o, "image_type", 0, 0xFFFF, &t) == -1 ||
	    dev_j_int(o, "file_version", 0, UINT32_MAX, &v) == -1)
		return (-1);
	d->has_ota_info = 1;
	d->ota_manuf = (uint16_t)m;
	d->ota_image_type = (uint16_t)t;
	d->file_version = (uint32_t)v;
	return (0);
}

int
dev_from_json(struct device *d, const cJSON *o)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, "ieee");
	double		 nwk = 0, mc = 0, ps = -1, hw = -1, seen = 0;
	int		 type = 0, iv = 0;

	memset(d, 0, sizeof(*d));
	d->rx_on_idle = 1;
	if (!cJSON_IsObject(o) || !cJSON_IsString(v) ||
	    dev_ieee_parse(v->valuestring, &d->ieee) == -1 ||
	    dev_j_int(o, "nwk", 0, 0xFFF7, &nwk) == -1 ||
	    dev_j_enum(o, "type", dev_type_names, 3, &type) == -1 ||
	    dev_j_int(o, "manufacturer_code", 0, 0xFFFF, &mc) == -1 ||
	    dev_j_bool(o, "rx_on_idle", &d->rx_on_idle) == -1 ||
	    dev_j_str(o, "manufacturer_name", d->manufacturer) == -1 ||
	    dev_j_str(o, "model_id", d->model) == -1 ||
	    dev_j_str(o, "sw_build_id", d->sw_build_id) == -1 ||
	    dev_j_str(o, "date_code", d->date_code) == -1 ||
	    dev_j_int(o, "power_source", -1, 255, &ps) == -1 ||
	    dev_j_int(o, "hw_version", -1, 255, &hw) == -1 ||
	    dev_j_eps(cJSON_GetObjectItemCaseSensitive(o, "endpoints"), d) ==
	    -1 || dev_j_enum(o, "interview", dev_iv_names, 4, &iv) == -1 ||
	    dev_j_ota(cJSON_GetObjectItemCaseSensitive(o, "ota"), d) == -1 ||
	    dev_j_int(o, "last_seen", 0, 1e12, &seen) == -1 ||
	    dev_j_bool(o, "scheduled", &d->scheduled) == -1 ||
	    dev_j_bool(o, "schedule_downgrade", &d->schedule_downgrade) == -1 ||
	    dev_j_url(o, "schedule_url", d->schedule_url) == -1 ||
	    dev_j_bool(o, "schedule_image", &d->schedule_image) == -1)
		return (-1);
	d->nwk = (uint16_t)nwk;
	d->type = (enum dev_type)type;
	d->manuf_code = (uint16_t)mc;
	d->power_source = (int)ps;
	d->hw_version = (int)hw;
	/* An interview cut by a restart starts again. */
	d->interview = iv == DEV_IV_RUNNING ? DEV_IV_NONE :
	    (enum dev_interview)iv;
	d->last_seen = (time_t)seen;
	/* A source belongs to a schedule; an image wins over a url. */
	if (!d->scheduled)
		d->schedule_image = 0;
	if (!d->scheduled || d->schedule_image)
		d->schedule_url[0] = '\0';
	return (0);
}

int
reg_save(struct registry *r)
{
	cJSON	*o, *a;
	size_t	 i;
	int	 rv;

	if ((o = cJSON_CreateObject()) == NULL ||
	    (a = cJSON_AddArrayToObject(o, "devices")) == NULL) {
		cJSON_Delete(o);
		log_warnx("%s: out of memory", r->path);
		return (-1);
	}
	for (i = 0; i < r->ndevs; i++)
		cJSON_AddItemToArray(a, dev_json(&r->devs[i]));
	if ((rv = atomic_write_json(r->path, o, 0600)) == -1)
		log_warn("%s", r->path);
	cJSON_Delete(o);
	return (rv);
}

static int
reg_load_file(struct registry *r, cJSON *o)
{
	const cJSON	*a, *e;
	struct device	 d;
	int		 n = 0;

	a = cJSON_GetObjectItemCaseSensitive(o, "devices");
	if (!cJSON_IsArray(a)) {
		log_warnx("%s: no \"devices\" array", r->path);
		return (-1);
	}
	cJSON_ArrayForEach(e, a) {
		n++;
		if (dev_from_json(&d, e) == -1) {
			log_warnx("%s: device %d is malformed, skipped",
			    r->path, n);
			continue;
		}
		if (reg_find(r, d.ieee) == NULL && reg_add(r, d.ieee, d.nwk) !=
		    NULL)
			*reg_find(r, d.ieee) = d;
	}
	return ((int)r->ndevs);
}

int
reg_load(struct registry *r, const char *data_dir)
{
	cJSON	*o;
	char	*db;
	int	 n;

	if ((o = atomic_read_json(r->path, DEV_FILE_MAX)) != NULL) {
		n = reg_load_file(r, o);
		cJSON_Delete(o);
		if (n != 0)
			return (n);
	} else if (errno != ENOENT)
		return (-1);
	/* An empty registry: a zigbee2mqtt user's devices come over. */
	if (data_dir == NULL || asprintf(&db, "%s/%s", data_dir,
	    DEV_Z2M_DB) == -1)
		return (0);
	n = reg_import_z2m(r, db);
	if (n > 0) {
		log_info("imported %d devices from %s", n, db);
		reg_save(r);
	}
	free(db);
	return (n < 0 ? 0 : n);
}

/*
 * zigbee2mqtt's database.db: one JSON object per line, with the names
 * zigbee-herdsman gives the fields.
 */

static void
reg_z2m_str(const cJSON *o, const char *key, char *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);
	cJSON		*tmp;

	if (!cJSON_IsString(v))
		return;
	/* Reuse the strict copy, which keeps printable ASCII only. */
	if ((tmp = cJSON_CreateObject()) == NULL)
		return;
	cJSON_AddStringToObject(tmp, "s", v->valuestring);
	dev_j_str(tmp, "s", out);
	cJSON_Delete(tmp);
}

static int
reg_z2m_power(const char *s)
{
	if (s == NULL)
		return (DEV_POWER_UNKNOWN);
	if (strcmp(s, "Battery") == 0)
		return (DEV_POWER_BATTERY);
	if (strncmp(s, "Mains", 5) == 0)
		return (1);
	if (strcmp(s, "DC Source") == 0)
		return (4);
	return (DEV_POWER_UNKNOWN);
}

static void
reg_z2m_eps(const cJSON *eps, struct device *d)
{
	const cJSON	*e;
	struct dev_ep	*ep;
	double		 v;
	char		*end;
	long		 id;

	/* Keyed by endpoint number; an array has no keys to read. */
	if (!cJSON_IsObject(eps))
		return;
	cJSON_ArrayForEach(e, eps) {
		if (d->neps >= DEV_MAX_EPS || !cJSON_IsObject(e))
			break;
		if (e->string == NULL)
			continue;
		id = strtol(e->string, &end, 10);
		if (*end != '\0' || id < 1 || id > 240)
			continue;
		ep = &d->eps[d->neps];
		memset(ep, 0, sizeof(*ep));
		ep->id = (uint8_t)id;
		v = 0;
		if (dev_j_int(e, "profId", 0, 0xFFFF, &v) == 0)
			ep->profile = (uint16_t)v;
		v = 0;
		if (dev_j_int(e, "devId", 0, 0xFFFF, &v) == 0)
			ep->device_id = (uint16_t)v;
		if (dev_j_clusters(cJSON_GetObjectItemCaseSensitive(e,
		    "inClusterList"), ep->in, &ep->nin) == -1 ||
		    dev_j_clusters(cJSON_GetObjectItemCaseSensitive(e,
		    "outClusterList"), ep->out, &ep->nout) == -1)
			continue;
		d->neps++;
	}
}

/* One line; 1 imported, 0 skipped (the coordinator), -1 unusable. */
static int
reg_z2m_line(struct registry *r, const cJSON *o)
{
	const cJSON	*type = cJSON_GetObjectItemCaseSensitive(o, "type");
	const cJSON	*ieee = cJSON_GetObjectItemCaseSensitive(o, "ieeeAddr");
	const cJSON	*iv;
	struct device	 d, *nd;
	double		 nwk = 0, mc = 0, hw = -1;

	if (!cJSON_IsObject(o) || !cJSON_IsString(type))
		return (-1);
	if (strcmp(type->valuestring, "Coordinator") == 0)
		return (0);
	memset(&d, 0, sizeof(d));
	if (!cJSON_IsString(ieee) || dev_ieee_parse(ieee->valuestring,
	    &d.ieee) == -1 || dev_j_int(o, "nwkAddr", 0, 0xFFF7, &nwk) == -1 ||
	    dev_j_int(o, "manufId", 0, 0xFFFF, &mc) == -1)
		return (-1);
	dev_j_int(o, "hwVersion", 0, 255, &hw);
	d.nwk = (uint16_t)nwk;
	d.manuf_code = (uint16_t)mc;
	d.hw_version = (int)hw;
	d.type = strcmp(type->valuestring, "Router") == 0 ? DEV_ROUTER :
	    strcmp(type->valuestring, "EndDevice") == 0 ? DEV_END_DEVICE :
	    DEV_UNKNOWN;
	reg_z2m_str(o, "manufName", d.manufacturer);
	reg_z2m_str(o, "modelId", d.model);
	reg_z2m_str(o, "swBuildId", d.sw_build_id);
	reg_z2m_str(o, "dateCode", d.date_code);
	type = cJSON_GetObjectItemCaseSensitive(o, "powerSource");
	d.power_source = reg_z2m_power(cJSON_IsString(type) ?
	    type->valuestring : NULL);
	d.rx_on_idle = !(d.type == DEV_END_DEVICE &&
	    d.power_source == DEV_POWER_BATTERY);
	reg_z2m_eps(cJSON_GetObjectItemCaseSensitive(o, "endpoints"), &d);
	iv = cJSON_GetObjectItemCaseSensitive(o, "interviewCompleted");
	d.interview = cJSON_IsTrue(iv) ? DEV_IV_DONE : DEV_IV_NONE;
	if ((nd = reg_add(r, d.ieee, d.nwk)) == NULL)
		return (-1);
	*nd = d;
	return (1);
}

int
reg_import_z2m(struct registry *r, const char *path)
{
	uint8_t		*buf;
	size_t		 len, off = 0, n;
	char		*line, *nl;
	cJSON		*o;
	int		 count = 0, lineno = 0, rv;

	if (util_read_file(path, DEV_Z2M_DB_MAX, &buf, &len) == -1) {
		if (errno != ENOENT)
			log_warn("%s", path);
		return (-1);
	}
	while (off < len) {
		line = (char *)buf + off;
		nl = memchr(line, '\n', len - off);
		n = nl != NULL ? (size_t)(nl - line) : len - off;
		off += n + 1;
		lineno++;
		if (n == 0)
			continue;
		o = cJSON_ParseWithLength(line, n);
		rv = o != NULL ? reg_z2m_line(r, o) : -1;
		cJSON_Delete(o);
		if (rv == -1)
			log_warnx("%s:%d: not a device zotad can use, skipped",
			    path, lineno);
		else
			count += rv;
	}
	free(buf);
	return (count);
}
