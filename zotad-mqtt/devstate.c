/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The devices zotad-radio knows, named as configuration.yaml names them,
 * with the update state published on <base>/<friendly_name>. The radio
 * is a sibling process, but its objects are still checked field by
 * field: a bad entry is refused with a message, never half taken.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mqttd.h"

struct mqdevs {
	const struct config	*conf;
	struct mqdev		**devs;
	size_t			 n;
	size_t			 cap;
};

static const char *const mqdev_state_names[] = {
	"idle", "available", "scheduled", "updating", "queued", "waiting"
};

const char *
mqdevs_state_name(enum mqdev_state st)
{
	if ((size_t)st >= sizeof(mqdev_state_names) /
	    sizeof(mqdev_state_names[0]))
		return ("idle");
	return (mqdev_state_names[st]);
}

static int
mqdevs_state_parse(const char *s, enum mqdev_state *st)
{
	size_t	 i;

	/* zotad-radio's words for a transfer waiting on a sleepy device. */
	if (strcmp(s, "waiting for device") == 0) {
		*st = MQDEV_WAITING;
		return (0);
	}
	for (i = 0; i < sizeof(mqdev_state_names) /
	    sizeof(mqdev_state_names[0]); i++)
		if (strcmp(s, mqdev_state_names[i]) == 0) {
			*st = (enum mqdev_state)i;
			return (0);
		}
	return (-1);
}

int
mqdevs_parse_ieee(const char *s, uint64_t *ieee)
{
	uint64_t	 v = 0;
	size_t		 i;
	int		 c;

	if (strlen(s) != 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return (-1);
	for (i = 2; i < 18; i++) {
		c = (unsigned char)s[i];
		if (c >= '0' && c <= '9')
			c -= '0';
		else if (c >= 'a' && c <= 'f')
			c -= 'a' - 10;
		else if (c >= 'A' && c <= 'F')
			c -= 'A' - 10;
		else
			return (-1);
		v = v << 4 | (uint64_t)c;
	}
	*ieee = v;
	return (0);
}

struct mqdevs *
mqdevs_new(const struct config *conf)
{
	struct mqdevs	*t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return (NULL);
	t->conf = conf;
	return (t);
}

static void
mqdev_free(struct mqdev *d)
{
	free(d->friendly_name);
	free(d->up.source);
	free(d->up.notes);
	free(d);
}

void
mqdevs_clear(struct mqdevs *t)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		mqdev_free(t->devs[i]);
	t->n = 0;
}

void
mqdevs_free(struct mqdevs *t)
{
	if (t == NULL)
		return;
	mqdevs_clear(t);
	free(t->devs);
	free(t);
}

size_t
mqdevs_count(const struct mqdevs *t)
{
	return (t->n);
}

struct mqdev *
mqdevs_at(struct mqdevs *t, size_t i)
{
	return (i < t->n ? t->devs[i] : NULL);
}

struct mqdev *
mqdevs_find(struct mqdevs *t, uint64_t ieee)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->devs[i]->ieee == ieee)
			return (t->devs[i]);
	return (NULL);
}

void
mqdevs_remove(struct mqdevs *t, uint64_t ieee)
{
	size_t	 i;

	for (i = 0; i < t->n; i++)
		if (t->devs[i]->ieee == ieee) {
			mqdev_free(t->devs[i]);
			t->devs[i] = t->devs[--t->n];
			return;
		}
}

struct mqdev *
mqdevs_resolve(struct mqdevs *t, const char *id)
{
	const struct config_device	*cd;
	uint64_t			 ieee;

	if ((cd = config_device_by_name(t->conf, id)) != NULL)
		return (mqdevs_find(t, cd->ieee_addr));
	if (mqdevs_parse_ieee(id, &ieee) == 0)
		return (mqdevs_find(t, ieee));
	return (NULL);
}

/* Copy an optional string field of at most MAX - 1 bytes. */
static int
mqdevs_str(const cJSON *o, const char *name, char *out, size_t max)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	out[0] = '\0';
	if (v == NULL || cJSON_IsNull(v))
		return (0);
	if (!cJSON_IsString(v) || strlen(v->valuestring) >= max)
		return (-1);
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return (0);
}

static const char *
mqdevs_type(const char *radio_type)
{
	if (strcmp(radio_type, "router") == 0)
		return ("Router");
	if (strcmp(radio_type, "end_device") == 0)
		return ("EndDevice");
	return ("Unknown");
}

static int
mqdevs_fill(struct mqdev *d, const cJSON *o)
{
	char		 type[16], iv[16];
	const cJSON	*ep, *ota, *fv;

	if (mqdevs_str(o, "type", type, sizeof(type)) == -1 ||
	    mqdevs_str(o, "interview", iv, sizeof(iv)) == -1 ||
	    mqdevs_str(o, "model_id", d->model, sizeof(d->model)) == -1 ||
	    mqdevs_str(o, "manufacturer_name", d->manufacturer,
	    sizeof(d->manufacturer)) == -1 ||
	    mqdevs_str(o, "sw_build_id", d->sw_build_id,
	    sizeof(d->sw_build_id)) == -1 ||
	    mqdevs_str(o, "date_code", d->date_code,
	    sizeof(d->date_code)) == -1)
		return (-1);
	snprintf(d->type, sizeof(d->type), "%s", mqdevs_type(type));
	d->interviewed = strcmp(iv, "done") == 0;
	ep = cJSON_GetObjectItemCaseSensitive(o, "ota_endpoint");
	if (ep != NULL && !cJSON_IsNumber(ep))
		return (-1);
	d->supports_ota = ep != NULL && ep->valuedouble >= 1 &&
	    ep->valuedouble <= 240;
	ota = cJSON_GetObjectItemCaseSensitive(o, "ota");
	if (ota != NULL && !cJSON_IsObject(ota))
		return (-1);
	fv = cJSON_GetObjectItemCaseSensitive(ota, "file_version");
	if (fv != NULL) {
		if (!cJSON_IsNumber(fv) || fv->valuedouble < 0 ||
		    fv->valuedouble > 4294967295.0)
			return (-1);
		d->up.installed = (int64_t)fv->valuedouble;
	}
	return (0);
}

static void
mqdevs_name(struct mqdevs *t, struct mqdev *d)
{
	const struct config_device	*cd;

	cd = config_device_by_addr(t->conf, d->ieee);
	free(d->friendly_name);
	d->friendly_name = strdup(cd != NULL && cd->friendly_name != NULL ?
	    cd->friendly_name : d->ieee_str);
	if (d->friendly_name == NULL)
		fatalx("%s: out of memory", __func__);
	d->retain = cd != NULL ? cd->retain : 0;
	d->qos = cd != NULL ? cd->qos : 0;
}

static struct mqdev *
mqdevs_add(struct mqdevs *t, uint64_t ieee)
{
	struct mqdev	**nd, *d;
	size_t		 ncap;

	if (t->n == MQDEV_MAX)
		return (NULL);
	if (t->n == t->cap) {
		ncap = t->cap ? t->cap * 2 : 16;
		if ((nd = reallocarray(t->devs, ncap, sizeof(*nd))) == NULL)
			return (NULL);
		t->devs = nd;
		t->cap = ncap;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return (NULL);
	d->ieee = ieee;
	snprintf(d->ieee_str, sizeof(d->ieee_str), "0x%016llx",
	    (unsigned long long)ieee);
	d->up.installed = d->up.latest = d->up.remaining = -1;
	d->up.progress = -1;
	mqdevs_name(t, d);
	t->devs[t->n++] = d;
	return (d);
}

struct mqdev *
mqdevs_upsert(struct mqdevs *t, const cJSON *o, int *added, char *err,
    size_t errlen)
{
	struct mqdev	*d, tmp;
	const cJSON	*ie, *u;
	uint64_t	 ieee;

	*added = 0;
	ie = cJSON_GetObjectItemCaseSensitive(o, "ieee");
	if (!cJSON_IsObject(o) || !cJSON_IsString(ie) ||
	    mqdevs_parse_ieee(ie->valuestring, &ieee) == -1) {
		snprintf(err, errlen, "device without a valid \"ieee\"");
		return (NULL);
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.up.installed = -1;
	if (mqdevs_fill(&tmp, o) == -1) {
		snprintf(err, errlen, "device %s: a field has the wrong type "
		    "or is too long", ie->valuestring);
		return (NULL);
	}
	if ((d = mqdevs_find(t, ieee)) == NULL) {
		if ((d = mqdevs_add(t, ieee)) == NULL) {
			snprintf(err, errlen, "device %s: too many devices",
			    ie->valuestring);
			return (NULL);
		}
		*added = 1;
	}
	memcpy(d->type, tmp.type, sizeof(d->type));
	memcpy(d->model, tmp.model, sizeof(d->model));
	memcpy(d->manufacturer, tmp.manufacturer, sizeof(d->manufacturer));
	memcpy(d->sw_build_id, tmp.sw_build_id, sizeof(d->sw_build_id));
	memcpy(d->date_code, tmp.date_code, sizeof(d->date_code));
	d->supports_ota = tmp.supports_ota;
	d->interviewed = tmp.interviewed;
	if (tmp.up.installed != -1)
		d->up.installed = tmp.up.installed;
	/* The transfer state zotad-radio has for it, if any. */
	u = cJSON_GetObjectItemCaseSensitive(o, "update");
	if (cJSON_IsObject(u) && mqdevs_apply_update(d, u) == -1)
		log_warnx("device %s: malformed update state", d->ieee_str);
	return (d);
}

/* A version: a number within 32 bits, or null for unknown. */
static int
mqdevs_version(const cJSON *u, const char *name, int64_t *out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(u, name);

	if (v == NULL)
		return (0);
	if (cJSON_IsNull(v)) {
		*out = -1;
		return (0);
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > 4294967295.0 ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return (-1);
	*out = (int64_t)v->valuedouble;
	return (0);
}

static int
mqdevs_text(const cJSON *u, const char *name, char **out)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(u, name);
	char		*s = NULL;

	if (v == NULL)
		return (0);
	if (!cJSON_IsNull(v)) {
		if (!cJSON_IsString(v) ||
		    strlen(v->valuestring) > MQDEV_NOTES_MAX)
			return (-1);
		if ((s = strdup(v->valuestring)) == NULL)
			fatalx("%s: out of memory", __func__);
	}
	free(*out);
	*out = s;
	return (0);
}

static int
mqdevs_progress(const cJSON *u, struct mqdev_update *up)
{
	const cJSON	*p, *r;

	p = cJSON_GetObjectItemCaseSensitive(u, "progress");
	r = cJSON_GetObjectItemCaseSensitive(u, "remaining");
	if (p != NULL && !cJSON_IsNull(p)) {
		if (!cJSON_IsNumber(p) || p->valuedouble < 0 ||
		    p->valuedouble > 100)
			return (-1);
		/* Two decimals, as zigbee2mqtt publishes it. */
		up->progress =
		    (double)(int64_t)(p->valuedouble * 100 + 0.5) / 100;
	} else
		up->progress = -1;
	if (r != NULL && !cJSON_IsNull(r)) {
		if (!cJSON_IsNumber(r) || r->valuedouble < 0 ||
		    r->valuedouble > 1e9)
			return (-1);
		up->remaining = (int64_t)(r->valuedouble + 0.5);
	} else
		up->remaining = -1;
	return (0);
}

int
mqdevs_apply_update(struct mqdev *d, const cJSON *u)
{
	struct mqdev_update	 old = d->up;
	const cJSON		*st;
	enum mqdev_state	 s = d->up.state;
	int			 changed;

	st = cJSON_GetObjectItemCaseSensitive(u, "state");
	if (st != NULL && (!cJSON_IsString(st) ||
	    mqdevs_state_parse(st->valuestring, &s) == -1))
		return (-1);
	if (mqdevs_version(u, "installed_version", &d->up.installed) == -1 ||
	    mqdevs_version(u, "latest_version", &d->up.latest) == -1 ||
	    mqdevs_progress(u, &d->up) == -1) {
		d->up = old;
		return (-1);
	}
	/* Strings last: once they are replaced there is no going back. */
	old.source = d->up.source;
	old.notes = d->up.notes;
	if (mqdevs_text(u, "latest_source", &d->up.source) == -1 ||
	    mqdevs_text(u, "latest_release_notes", &d->up.notes) == -1)
		return (-1);
	d->up.state = s;
	if (s != MQDEV_UPDATING)
		d->up.progress = d->up.remaining = -1;
	changed = old.state != s || old.installed != d->up.installed ||
	    old.latest != d->up.latest || old.progress != d->up.progress ||
	    old.remaining != d->up.remaining || old.source != d->up.source ||
	    old.notes != d->up.notes;
	return (changed);
}

void
mqdevs_keep(struct mqdev *d, const struct mqdev *old)
{
	d->up.state = old->up.state;
	d->up.latest = old->up.latest;
	free(d->up.source);
	free(d->up.notes);
	d->up.source = old->up.source != NULL ? strdup(old->up.source) :
	    NULL;
	d->up.notes = old->up.notes != NULL ? strdup(old->up.notes) : NULL;
}

int
mqdevs_set_state(struct mqdev *d, enum mqdev_state st)
{
	if (d->up.state == st)
		return (0);
	d->up.state = st;
	if (st != MQDEV_UPDATING)
		d->up.progress = d->up.remaining = -1;
	return (1);
}

static void
mqdevs_add_version(cJSON *o, const char *name, int64_t v)
{
	if (v < 0)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddNumberToObject(o, name, (double)v);
}

static void
mqdevs_add_text(cJSON *o, const char *name, const char *s)
{
	if (s == NULL)
		cJSON_AddNullToObject(o, name);
	else
		cJSON_AddStringToObject(o, name, s);
}

char *
mqdevs_state_payload(const struct mqdev *d, int legacy)
{
	cJSON	*o, *u;
	char	*s;

	if ((o = cJSON_CreateObject()) == NULL ||
	    (u = cJSON_AddObjectToObject(o, "update")) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(u, "state", mqdevs_state_name(d->up.state));
	mqdevs_add_version(u, "installed_version", d->up.installed);
	mqdevs_add_version(u, "latest_version", d->up.latest);
	mqdevs_add_text(u, "latest_source", d->up.source);
	mqdevs_add_text(u, "latest_release_notes", d->up.notes);
	if (d->up.state == MQDEV_UPDATING && d->up.progress >= 0) {
		cJSON_AddNumberToObject(u, "progress", d->up.progress);
		if (d->up.remaining >= 0)
			cJSON_AddNumberToObject(u, "remaining",
			    (double)d->up.remaining);
	}
	if (legacy)
		cJSON_AddBoolToObject(o, "update_available",
		    d->up.state == MQDEV_AVAILABLE);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	return (s);
}
