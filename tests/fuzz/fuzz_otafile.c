/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "otafile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What every accepted file promises the server that will serve it. */
static void
fuzz_otafile_check(const struct ota_image *img, size_t len)
{
	size_t	 i, end = img->hdr.header_length;

	if (img->served_offset != img->prefix_len ||
	    img->served_len != img->hdr.total_image_size ||
	    img->served_offset + img->served_len + img->trailing_len != len ||
	    img->hdr.header_length < OTA_HEADER_MIN ||
	    img->hdr.header_length > img->served_len ||
	    img->ntags > OTA_MAX_TAGS)
		abort();
	for (i = 0; i < img->ntags; i++) {
		if (img->tags[i].offset != end ||
		    img->tags[i].size > img->served_len - end)
			abort();
		end += img->tags[i].size;
	}
	if (!img->tags_opaque && end != img->served_len)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ota_image	 img;
	char			 err[256];
	char			 text[OTA_HEADER_TEXT_MAX];
	cJSON			*json;
	char			*s;

	if (ota_parse(data, size, &img, err, sizeof(err)) == -1) {
		if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		return (0);
	}
	fuzz_otafile_check(&img, size);
	if (ota_header_text(&img.hdr, text) >= OTA_HEADER_TEXT_MAX)
		abort();
	if ((json = ota_image_json(&img)) != NULL) {
		/* The rendering must be valid JSON that reads back. */
		s = cJSON_PrintUnformatted(json);
		cJSON_Delete(json);
		if (s != NULL) {
			json = cJSON_Parse(s);
			if (json == NULL)
				abort();
			cJSON_Delete(json);
			free(s);
		}
	}
	return (0);
}
