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

static uint32_t
fuzz_otafile_le32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* Parameters taken from the input must make a file that reads back. */
static void
fuzz_otafile_make(const uint8_t *data, size_t size)
{
	static struct ota_image	 img;
	struct ota_make_params	 p;
	uint8_t			*buf;
	size_t			 len;
	char			 err[256];

	if (size < 16)
		return;
	memset(&p, 0, sizeof(p));
	p.manufacturer_code = data[0] | data[1] << 8;
	p.image_type = data[2] | data[3] << 8;
	p.file_version = fuzz_otafile_le32(data + 4);
	p.seed = fuzz_otafile_le32(data + 8);
	p.has_hw_versions = data[12] & 1;
	p.min_hw_version = data[13];
	p.max_hw_version = data[13] + data[14];
	p.total_size = ota_make_min_size(&p) + (data[15] & 0x7f);
	if (ota_make(&p, &buf, &len) == -1)
		abort();
	if (ota_parse(buf, len, &img, err, sizeof(err)) == -1 ||
	    img.hdr.manufacturer_code != p.manufacturer_code ||
	    img.hdr.image_type != p.image_type ||
	    img.hdr.file_version != p.file_version ||
	    img.hdr.has_hw_versions != p.has_hw_versions ||
	    img.ntags != 1 || img.served_len != p.total_size)
		abort();
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ota_image	 img;
	char			 err[256];
	char			 text[OTA_HEADER_TEXT_MAX];
	cJSON			*json;
	char			*s;

	fuzz_otafile_make(data, size);
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
