/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/* Vendor feeds turned into index entries: IKEA's version_info.json. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "fetch.h"
#include "log.h"
#include "otaindex.h"

static const char ikea_feed[] =
    "[{\"fw_type\": 0, \"fw_hotfix_version\": 0, \"fw_major_version\": 1,"
    "  \"fw_binary_url\": \"http://fw.example/gw.bin\"},"
    " {\"fw_type\": 2, \"fw_image_type\": 8449, \"fw_manufacturer_id\": 4476,"
    "  \"fw_file_version_MSB\": 8967, \"fw_file_version_LSB\": 29554,"
    "  \"fw_filesize\": 208354,"
    "  \"fw_binary_url\": \"http://fw.example/dir/10005778.ota.signed\"},"
    " {\"fw_type\": 2, \"fw_image_type\": 8450,"
    "  \"fw_binary_url\": \"http://fw.example/no-version.ota\"},"
    " {\"fw_type\": 2, \"fw_image_type\": 70000, \"fw_manufacturer_id\": 1,"
    "  \"fw_file_version_MSB\": 1, \"fw_file_version_LSB\": 1,"
    "  \"fw_binary_url\": \"http://fw.example/too-big-type.ota\"},"
    " {\"fw_type\": 2, \"fw_image_type\": 8451, \"fw_manufacturer_id\": 4476,"
    "  \"fw_file_version_MSB\": 1, \"fw_file_version_LSB\": 2,"
    "  \"fw_binary_url\": \"file:///etc/passwd\"},"
    " \"not an object\"]";

static struct otaindex *
tp_index(const char *feed, char *err, size_t errlen)
{
	const struct provider	*p;
	struct otaindex_opts	 o;
	struct otaindex		*idx;
	cJSON			*arr;
	char			*text;

	p = provider_find("ikea");
	assert_non_null(p);
	assert_int_equal(p->manufacturer_code, 0x117c);
	if (p->convert(feed, strlen(feed), &arr, err, errlen) == -1)
		return (NULL);
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	memset(&o, 0, sizeof(o));
	o.source = OTAINDEX_SRC_MAIN;
	o.name = "ikea";
	idx = otaindex_parse(text, strlen(text), &o, err, errlen);
	free(text);
	return (idx);
}

/* Device firmware only, version from its two halves, http(s) only. */
static void
test_ikea_feed(void **state)
{
	struct otaindex	*idx;
	char		 err[256];

	(void)state;
	idx = tp_index(ikea_feed, err, sizeof(err));
	assert_non_null(idx);
	/* The file: URL reaches the parser, which refuses it. */
	assert_int_equal(idx->nentries, 1);
	assert_int_equal(idx->entries[0].manufacturer_code, 4476);
	assert_int_equal(idx->entries[0].image_type, 8449);
	assert_int_equal(idx->entries[0].file_version,
	    (8967U << 16) | 29554U);
	assert_int_equal(idx->entries[0].file_size, 208354);
	assert_string_equal(idx->entries[0].file_name, "10005778.ota.signed");
	assert_false(idx->entries[0].has & OTAINDEX_HAS_SHA512);
	otaindex_free(idx);
}

static void
test_ikea_bad_feed(void **state)
{
	char	 err[256];

	(void)state;
	assert_null(tp_index("{\"fw_type\": 2}", err, sizeof(err)));
	assert_null(tp_index("[{\"fw_type\": 2", err, sizeof(err)));
	assert_null(provider_find("nobody"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ikea_feed),
		cmocka_unit_test(test_ikea_bad_feed),
	};

	log_init("test_fetch_providers", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
