/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * bridge/devices, the list a user picks devices from, and the payloads
 * of bridge/request/permit_join in both zigbee2mqtt generations.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mqttd.h"

static cJSON *
mqbridge_device(const struct mqdev *d)
{
	cJSON	*o, *def;

	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "ieee_address", d->ieee_str);
	cJSON_AddStringToObject(o, "friendly_name", d->friendly_name);
	cJSON_AddStringToObject(o, "type", d->type);
	cJSON_AddBoolToObject(o, "supported", d->interviewed);
	cJSON_AddBoolToObject(o, "interview_completed", d->interviewed);
	cJSON_AddStringToObject(o, "manufacturer", d->manufacturer);
	cJSON_AddStringToObject(o, "model_id", d->model);
	cJSON_AddStringToObject(o, "software_build_id", d->sw_build_id);
	cJSON_AddStringToObject(o, "date_code", d->date_code);
	if (d->up.installed >= 0)
		cJSON_AddNumberToObject(o, "installed_version",
		    (double)d->up.installed);
	else
		cJSON_AddNullToObject(o, "installed_version");
	if ((def = cJSON_AddObjectToObject(o, "definition")) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(def, "model", d->model);
	cJSON_AddStringToObject(def, "vendor", d->manufacturer);
	cJSON_AddStringToObject(def, "description", "");
	cJSON_AddBoolToObject(def, "supports_ota", d->supports_ota);
	return (o);
}

char *
mqbridge_devices(struct mqdevs *t)
{
	cJSON	*a;
	char	*s;
	size_t	 i;

	if ((a = cJSON_CreateArray()) == NULL)
		fatalx("%s: out of memory", __func__);
	for (i = 0; i < mqdevs_count(t); i++)
		cJSON_AddItemToArray(a, mqbridge_device(mqdevs_at(t, i)));
	if ((s = cJSON_PrintUnformatted(a)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(a);
	return (s);
}

static int
mqbridge_time(const cJSON *v, int *time, char *err, size_t errlen)
{
	if (!cJSON_IsNumber(v) || v->valuedouble != (double)(int)v->valuedouble
	    || v->valuedouble < 0 || v->valuedouble > MQBRIDGE_PERMIT_MAX) {
		snprintf(err, errlen, "Invalid payload: 'time' must be a whole "
		    "number of seconds from 0 to %d", MQBRIDGE_PERMIT_MAX);
		return (-1);
	}
	*time = (int)v->valuedouble;
	return (0);
}

static int
mqbridge_permit_object(const cJSON *o, struct mqbridge_permit *p,
    char *err, size_t errlen)
{
	const cJSON	*t, *v, *dev;

	t = cJSON_GetObjectItemCaseSensitive(o, "time");
	v = cJSON_GetObjectItemCaseSensitive(o, "value");
	dev = cJSON_GetObjectItemCaseSensitive(o, "device");
	if (v != NULL && !cJSON_IsBool(v)) {
		snprintf(err, errlen, "Invalid payload: 'value' must be true "
		    "or false");
		return (-1);
	}
	if (t == NULL && v == NULL) {
		snprintf(err, errlen, "Invalid payload: 'time' is missing");
		return (-1);
	}
	if (v != NULL && cJSON_IsFalse(v))
		p->time = 0;
	else if (t == NULL)
		p->time = MQBRIDGE_PERMIT_MAX;
	else if (mqbridge_time(t, &p->time, err, errlen) == -1)
		return (-1);
	if (dev != NULL && !cJSON_IsNull(dev)) {
		if (!cJSON_IsString(dev) || dev->valuestring[0] == '\0' ||
		    strlen(dev->valuestring) > MQREQ_ID_MAX) {
			snprintf(err, errlen, "Invalid payload: 'device' must "
			    "be a device's name or IEEE address");
			return (-1);
		}
		if ((p->device = strdup(dev->valuestring)) == NULL)
			fatalx("%s: out of memory", __func__);
	}
	return (0);
}

int
mqbridge_permit_parse(const char *payload, size_t len,
    struct mqbridge_permit *p, char *err, size_t errlen)
{
	cJSON	*j, *tr;
	int	 r = -1;

	memset(p, 0, sizeof(*p));
	if ((j = cJSON_ParseWithLength(payload, len)) == NULL) {
		snprintf(err, errlen, "Invalid payload: expected {\"time\": "
		    "SECONDS}, true, false or a number of seconds");
		return (-1);
	}
	if (cJSON_IsObject(j)) {
		tr = cJSON_GetObjectItemCaseSensitive(j, "transaction");
		if (tr != NULL && (p->transaction = cJSON_Duplicate(tr, 1)) ==
		    NULL)
			fatalx("%s: out of memory", __func__);
		r = mqbridge_permit_object(j, p, err, errlen);
	} else if (cJSON_IsBool(j)) {
		p->time = cJSON_IsTrue(j) ? MQBRIDGE_PERMIT_MAX : 0;
		r = 0;
	} else if (cJSON_IsNumber(j))
		r = mqbridge_time(j, &p->time, err, errlen);
	else
		snprintf(err, errlen, "Invalid payload: expected {\"time\": "
		    "SECONDS}, true, false or a number of seconds");
	cJSON_Delete(j);
	return (r);
}

void
mqbridge_permit_clear(struct mqbridge_permit *p)
{
	free(p->device);
	cJSON_Delete(p->transaction);
	memset(p, 0, sizeof(*p));
}
