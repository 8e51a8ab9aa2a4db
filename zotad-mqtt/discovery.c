/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Home Assistant MQTT discovery: one update entity per device that can
 * take OTA updates. Its state comes from the device topic through a
 * template, which also hands Home Assistant the release notes (cut to
 * the 255 characters it shows) and the image's address.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "mqttd.h"

/*
 * value_json['update'] and not value_json.update: the latter would find
 * the dict's own update() method in Home Assistant's templates.
 */
static const char mqha_template[] =
    "{% set u = value_json['update'] %}"
    "{% set n = u['latest_release_notes'] or '' %}"
    "{{ {'installed_version': u['installed_version'] "
    "if u['installed_version'] is not none else -1, "
    "'latest_version': u['latest_version'] "
    "if u['latest_version'] is not none else "
    "(u['installed_version'] if u['installed_version'] is not none "
    "else -1), "
    "'in_progress': u['state'] == 'updating', "
    "'update_percentage': u.get('progress'), "
    "'release_summary': (n[:255] if n else none), "
    "'release_url': (n if n.startswith('http') else "
    "u['latest_source'])} | to_json }}";

int
mqha_topic(const struct config *conf, const struct mqdev *d, char *buf,
    size_t len)
{
	int	 n;

	n = snprintf(buf, len, "%s/update/%s/update/config",
	    conf->homeassistant.discovery_topic, d->ieee_str);
	return (n < 0 || (size_t)n >= len ? -1 : 0);
}

static char *
mqha_join(const char *a, const char *b)
{
	char	*s;

	if (asprintf(&s, "%s/%s", a, b) == -1)
		fatalx("%s: out of memory", __func__);
	return (s);
}

static void
mqha_device(cJSON *o, const struct mqdev *d)
{
	cJSON	*dev, *ids;

	if ((dev = cJSON_AddObjectToObject(o, "device")) == NULL ||
	    (ids = cJSON_AddArrayToObject(dev, "identifiers")) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToArray(ids, cJSON_CreateString(d->ieee_str));
	cJSON_AddStringToObject(dev, "name", d->friendly_name);
	if (d->model[0] != '\0')
		cJSON_AddStringToObject(dev, "model", d->model);
	if (d->manufacturer[0] != '\0')
		cJSON_AddStringToObject(dev, "manufacturer",
		    d->manufacturer);
	if (d->sw_build_id[0] != '\0')
		cJSON_AddStringToObject(dev, "sw_version", d->sw_build_id);
}

static void
mqha_availability(cJSON *o, const char *base)
{
	cJSON	*a, *e;
	char	*topic;

	topic = mqha_join(base, "bridge/state");
	if ((a = cJSON_AddArrayToObject(o, "availability")) == NULL ||
	    (e = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(e, "topic", topic);
	cJSON_AddStringToObject(e, "value_template", "{{ value_json.state }}");
	cJSON_AddItemToArray(a, e);
	free(topic);
}

char *
mqha_payload(const struct config *conf, const struct mqdev *d)
{
	const char	*base = conf->mqtt.base_topic;
	cJSON		*o, *org;
	char		*s, *install, *uid;

	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	if (asprintf(&install, "{\"id\":\"%s\"}", d->ieee_str) == -1 ||
	    asprintf(&uid, "%s_update_zotad", d->ieee_str) == -1)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "name", "Firmware");
	cJSON_AddStringToObject(o, "unique_id", uid);
	cJSON_AddStringToObject(o, "device_class", "firmware");
	cJSON_AddStringToObject(o, "entity_category", "config");
	s = mqha_join(base, d->friendly_name);
	cJSON_AddStringToObject(o, "state_topic", s);
	free(s);
	cJSON_AddStringToObject(o, "value_template", mqha_template);
	s = mqha_join(base, "bridge/request/device/ota_update/update");
	cJSON_AddStringToObject(o, "command_topic", s);
	free(s);
	cJSON_AddStringToObject(o, "payload_install", install);
	cJSON_AddStringToObject(o, "title", d->model[0] != '\0' ? d->model :
	    d->friendly_name);
	mqha_availability(o, base);
	mqha_device(o, d);
	if ((org = cJSON_AddObjectToObject(o, "origin")) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(org, "name", "zotad");
	free(install);
	free(uid);
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	return (s);
}
