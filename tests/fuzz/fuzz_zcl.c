/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Frames from devices through zotad-radio's ZCL parsers, and registry
 * records through the device loader. The first byte picks the parser;
 * the rest is the hostile input.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "devices.h"
#include "zcl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
fuzz_frame(const uint8_t *p, size_t len)
{
	struct zcl_hdr		 h;
	struct ota_query_req	 q;
	struct ota_block_req	 b;
	struct ota_end_req	 e;
	struct zcl_attr		 a[8];
	size_t			 hl, n;

	if (zcl_hdr_parse(p, len, &h, &hl) == -1)
		return;
	p += hl;
	len -= hl;
	/* Each parser sees the payload whatever the command says. */
	zcl_ota_parse_query(p, len, &q);
	zcl_ota_parse_block(p, len, &b);
	zcl_ota_parse_page(p, len, &b);
	zcl_ota_parse_end(p, len, &e);
	if (zcl_parse_read_rsp(p, len, a, 8, &n) == 0)
		for (hl = 0; hl < n; hl++)
			if (a[hl].is_str && strlen(a[hl].str) > ZCL_STR_MAX)
				abort();
}

static void
fuzz_record(const uint8_t *p, size_t len)
{
	struct device	 d;
	cJSON		*o, *back;

	if ((o = cJSON_ParseWithLength((const char *)p, len)) == NULL)
		return;
	if (dev_from_json(&d, o) == 0) {
		/* What loads must save and load again the same. */
		back = dev_json(&d);
		if (back == NULL || dev_from_json(&d, back) == -1)
			abort();
		cJSON_Delete(back);
	}
	cJSON_Delete(o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 1)
		return (0);
	if (data[0] & 1)
		fuzz_record(data + 1, len - 1);
	else
		fuzz_frame(data + 1, len - 1);
	return (0);
}
