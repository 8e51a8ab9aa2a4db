/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Vendor feeds. Each provider turns its vendor's feed into zigbee-OTA
 * index entries, so that parsing, matching and image checks are the same
 * for every source; a new vendor is one more convert function and one
 * more table entry.
 */

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fetch.h"
#include "log.h"

static int	provider_ikea_convert(const char *, size_t, cJSON **, char *,
		    size_t);

static const struct provider provider_table[] = {
	{ "ikea", PROVIDER_IKEA_MANUFACTURER, provider_ikea_convert },
	{ NULL, 0, NULL }
};

const struct provider *
provider_find(const char *name)
{
	const struct provider	*p;

	for (p = provider_table; p->name != NULL; p++)
		if (strcmp(p->name, name) == 0)
			return (p);
	return (NULL);
}

/* A number member within [0, MAX], or -1. */
static int64_t
provider_number(const cJSON *obj, const char *name, int64_t max)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(obj, name);
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 ||
	    v->valuedouble > (double)max ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return (-1);
	return ((int64_t)v->valuedouble);
}

/*
 * One IKEA feed item: {fw_type, fw_image_type, fw_manufacturer_id,
 * fw_file_version_MSB, fw_file_version_LSB, fw_filesize, fw_binary_url}.
 * Gateway firmware (fw_type 0) is not for Zigbee devices. Returns the
 * entry, or NULL with WHY when the item is skipped.
 */
static cJSON *
provider_ikea_item(const cJSON *it, const char **why)
{
	int64_t		 type, image, mfr, msb, lsb, size;
	const char	*url, *base;
	cJSON		*e;

	*why = "not a device firmware with every field in range";
	type = provider_number(it, "fw_type", 255);
	image = provider_number(it, "fw_image_type", 0xffff);
	mfr = provider_number(it, "fw_manufacturer_id", 0xffff);
	msb = provider_number(it, "fw_file_version_MSB", 0xffff);
	lsb = provider_number(it, "fw_file_version_LSB", 0xffff);
	size = provider_number(it, "fw_filesize", 0xffffffffLL);
	url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it,
	    "fw_binary_url"));
	if (type != 2 || image < 0 || mfr < 0 || msb < 0 || lsb < 0 ||
	    url == NULL)
		return (NULL);
	if ((base = strrchr(url, '/')) == NULL || base[1] == '\0')
		base = url;
	else
		base++;
	if ((e = cJSON_CreateObject()) == NULL)
		return (NULL);
	cJSON_AddStringToObject(e, "fileName", base);
	cJSON_AddNumberToObject(e, "fileVersion",
	    (double)(((uint32_t)msb << 16) | (uint32_t)lsb));
	if (size >= 0)
		cJSON_AddNumberToObject(e, "fileSize", (double)size);
	cJSON_AddStringToObject(e, "url", url);
	cJSON_AddNumberToObject(e, "imageType", (double)image);
	cJSON_AddNumberToObject(e, "manufacturerCode", (double)mfr);
	return (e);
}

static int
provider_ikea_convert(const char *buf, size_t len, cJSON **out, char *err,
    size_t errlen)
{
	const cJSON	*it;
	const char	*why;
	cJSON		*feed, *arr, *e;
	size_t		 pos = 0;

	if ((feed = otaindex_json_parse(buf, len, err, errlen)) == NULL)
		return (-1);
	if ((arr = cJSON_CreateArray()) == NULL) {
		snprintf(err, errlen, "out of memory");
		cJSON_Delete(feed);
		return (-1);
	}
	cJSON_ArrayForEach(it, feed) {
		if ((e = provider_ikea_item(it, &why)) != NULL)
			cJSON_AddItemToArray(arr, e);
		else
			log_debug("IKEA feed item %zu skipped: %s", pos, why);
		pos++;
	}
	cJSON_Delete(feed);
	*out = arr;
	return (0);
}
