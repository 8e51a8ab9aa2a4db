/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Response envelopes, in the key order zigbee2mqtt prints them: data,
 * status, then error and transaction when there are any. Scripts match
 * on "status" and on the echoed "transaction".
 */

#include <stdlib.h>

#include "log.h"
#include "mqttd.h"

static char *
mqresp_finish(cJSON *o, const cJSON *transaction)
{
	cJSON	*t;
	char	*s;

	if (transaction != NULL) {
		if ((t = cJSON_Duplicate(transaction, 1)) == NULL)
			fatalx("%s: out of memory", __func__);
		cJSON_AddItemToObject(o, "transaction", t);
	}
	if ((s = cJSON_PrintUnformatted(o)) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_Delete(o);
	return (s);
}

char *
mqresp_ok(cJSON *data, const cJSON *transaction)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL || data == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddItemToObject(o, "data", data);
	cJSON_AddStringToObject(o, "status", "ok");
	return (mqresp_finish(o, transaction));
}

char *
mqresp_error(const char *message, const cJSON *transaction)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL ||
	    cJSON_AddObjectToObject(o, "data") == NULL ||
	    cJSON_AddStringToObject(o, "status", "error") == NULL ||
	    cJSON_AddStringToObject(o, "error", message) == NULL)
		fatalx("%s: out of memory", __func__);
	return (mqresp_finish(o, transaction));
}

/*
 * Both spellings of the result: update_available (2.x) and the older
 * updateAvailable (1.x), so that scripts of either era work.
 */
cJSON *
mqresp_check_data(const char *id, int available, int downgrade,
    const char *source, const char *notes)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		fatalx("%s: out of memory", __func__);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddBoolToObject(o, "update_available", available);
	cJSON_AddBoolToObject(o, "updateAvailable", available);
	cJSON_AddBoolToObject(o, "downgrade", downgrade);
	if (source != NULL)
		cJSON_AddStringToObject(o, "source", source);
	if (notes != NULL)
		cJSON_AddStringToObject(o, "release_notes", notes);
	return (o);
}
