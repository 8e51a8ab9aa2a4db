/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * IKEA's feed as zotad-fetch reads it: converted to index entries, which
 * are then parsed as an index, as the daemon does with every download.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "fetch.h"
#include "otaindex.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct provider	*p;
	struct otaindex_opts	 o;
	struct otaindex		*idx;
	cJSON			*arr;
	char			 err[256], *text;

	p = provider_find("ikea");
	if (p->convert((const char *)data, size, &arr, err, sizeof(err)) == -1)
		return (0);
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (text == NULL)
		return (0);
	memset(&o, 0, sizeof(o));
	o.source = OTAINDEX_SRC_MAIN;
	o.name = "ikea";
	if ((idx = otaindex_parse(text, strlen(text), &o, err,
	    sizeof(err))) != NULL)
		otaindex_free(idx);
	free(text);
	return (0);
}
