/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Hostile MQTT clients against the real suite: a mosquitto broker on a
 * loopback port, zotad-mqtt, zotad-radio (on the adapter simulator)
 * and zotad-fetch, all confined as they run. Anyone on the broker may
 * publish to the request topics, so the test sends what no well-behaved
 * client would: oversized payloads, NUL bytes and broken UTF-8, deep
 * nesting, absurd numbers, wildcards and topic levels in names. Every
 * request must get exactly one answer, a valid JSON error that does not
 * hand back anything it should not, and the daemons must carry on.
 */

#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "suite.h"

#define HM_MAX_IMAGE	65536	/* so that "oversized" stays small */
#define HM_BULB		"0x00124b00beef0001"
#define HM_REQ		"zt/bridge/request/device/ota_update/"
#define HM_RSP		"zt/bridge/response/device/ota_update/"

static const char hm_scenario[] =
    "{\"devices\": [{\"name\": \"bulb\", \"ieee\": \"" HM_BULB "\","
    " \"nwk\": 4097, \"type\": \"router\", \"manufacturer_code\": 4107,"
    " \"basic\": {\"power_source\": 1},"
    " \"endpoints\": [{\"id\": 11, \"in\": [0], \"out\": [25]}],"
    " \"ota\": {\"image_type\": 256, \"file_version\": 100}}]}\n";

static const char hm_database[] =
    "{\"id\":2,\"type\":\"Router\",\"ieeeAddr\":\"" HM_BULB "\","
    "\"nwkAddr\":4097,\"manufId\":4107,\"endpoints\":{\"11\":"
    "{\"profId\":260,\"inClusterList\":[0],\"outClusterList\":[25]}},"
    "\"interviewCompleted\":true}\n";

/* Wait until zotad-mqtt's log says TEXT. */
static void
hm_wait_mqtt(const char *text)
{
	char	 log[PATH_MAX];

	suite_log_path(SUITE_MQTT, log, sizeof(log));
	if (!suite_wait_file(log, text, 1, suite.pid[SUITE_MQTT]))
		fail_msg("zotad-mqtt never said \"%s\"", text);
}

/* The suite, once for all the tests; the client hears only answers. */
static int
hm_setup(void **state)
{
	static char	 zotad[64];

	(void)state;
	suite_prepare("hostile-mqtt");
	snprintf(zotad, sizeof(zotad), "  max_image_size: %d\n",
	    HM_MAX_IMAGE);
	suite.conf_zotad = zotad;
	suite.subscribe = "zt/bridge/response/#";
	suite_write_text("scenario.json", hm_scenario);
	suite_write_text("database.db", hm_database);
	suite_start_all();
	hm_wait_mqtt("connected to broker");
	hm_wait_mqtt("connected to zotad-radio, 1 devices");
	suite_connect("hostile");
	return (0);
}

/*
 * Send PAYLOAD (LEN bytes) to request VERB; the one answer must be on
 * the matching response topic, valid JSON, an error holding WANT.
 */
static void
hm_expect_error(const char *verb, const void *payload, int len,
    const char *want)
{
	char		 topic[256];
	cJSON		*o;
	const cJSON	*st, *err;

	suite_forget();
	snprintf(topic, sizeof(topic), HM_REQ "%s", verb);
	suite_publish_raw(topic, payload, len);
	if (!suite_wait_count(0, NULL, 1))
		fail_msg("no answer to a hostile %s request", verb);
	snprintf(topic, sizeof(topic), HM_RSP "%s", verb);
	assert_string_equal(suite.msgs[0].topic, topic);
	assert_non_null(suite.msgs[0].payload);
	if ((o = cJSON_Parse(suite.msgs[0].payload)) == NULL)
		fail_msg("the answer is not JSON: %.200s",
		    suite.msgs[0].payload);
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	err = cJSON_GetObjectItemCaseSensitive(o, "error");
	assert_true(cJSON_IsString(st) && strcmp(st->valuestring, "error") ==
	    0);
	assert_true(cJSON_IsString(err));
	if (strstr(err->valuestring, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err->valuestring,
		    want);
	/* An answer never carries more than a short message. */
	assert_true(suite.msgs[0].len < 4096);
	cJSON_Delete(o);
}

static void
t_oversized(void **state)
{
	size_t	 n = 3 * HM_MAX_IMAGE + 65536 + 1;
	char	*big;

	(void)state;
	assert_non_null(big = malloc(n));
	/* Looks like the start of a valid request, then goes on and on. */
	memset(big, 'a', n);
	memcpy(big, "{\"id\": \"" HM_BULB "\", \"hex\": \"", 33);
	hm_expect_error("update", big, (int)n, "more than a request may hold");
	/* Just within the cap, but the image is still too large. */
	n = 2 * HM_MAX_IMAGE + 200;
	memset(big + 33, 'a', n - 33);
	memcpy(big + n - 2, "\"}", 2);
	hm_expect_error("update", big, (int)n, "Invalid payload");
	free(big);
	suite_assert_alive_but(-1);
}

static void
t_binary(void **state)
{
	static const char nul[] = "\x00\x01\xff\xfe{\"id\": 1}";
	static const char utf8[] = "{\"id\": \"\xc3\x28\xed\xa0\x80\xff\"}";
	static const char bare[] = "bulb\x00 and more";

	(void)state;
	hm_expect_error("check", nul, (int)sizeof(nul) - 1, "");
	hm_expect_error("check", utf8, (int)sizeof(utf8) - 1, "");
	hm_expect_error("check", bare, (int)sizeof(bare) - 1, "");
	hm_expect_error("update", "", 0, "Invalid payload");
	suite_assert_alive_but(-1);
}

static void
t_nesting_numbers(void **state)
{
	size_t	 depth = 100000, i;
	char	*deep;

	(void)state;
	assert_non_null(deep = malloc(2 * depth + 16));
	for (i = 0; i < depth; i++)
		deep[i] = '[';
	for (i = 0; i < depth; i++)
		deep[depth + i] = ']';
	hm_expect_error("check", deep, (int)(2 * depth), "Invalid payload");
	/* An object nested deep inside a valid request. */
	memcpy(deep, "{\"id\": \"bulb\", \"x\": ", 20);
	for (i = 20; i < depth; i++)
		deep[i] = '[';
	hm_expect_error("check", deep, (int)(2 * depth), "Invalid payload");
	free(deep);
	hm_expect_error("update", "{\"id\": \"bulb\", "
	    "\"image_block_request_timeout\": 1e400}", 53, "Invalid payload");
	hm_expect_error("update", "{\"id\": \"bulb\", "
	    "\"default_maximum_data_size\": -1e300}", 51, "Invalid payload");
	hm_expect_error("check", "{\"id\": [\"bulb\"]}", 16,
	    "Invalid payload");
	suite_assert_alive_but(-1);
}

static void
t_names(void **state)
{
	char	 longname[6000];
	cJSON	*o;
	int	 i;

	(void)state;
	hm_expect_error("check", "zt/+/#", 6, "does not exist");
	hm_expect_error("check", "{\"id\": \"../../bulb\"}", 20,
	    "does not exist");
	hm_expect_error("check", "{\"id\": \"\\u0000bulb\"}", 20, "");
	memset(longname, 'x', sizeof(longname));
	hm_expect_error("check", longname, (int)sizeof(longname), "");
	/*
	 * Topics that are not requests: an error on the verb's response
	 * topic or nothing, and the next request is still answered.
	 */
	suite_forget();
	suite_publish_raw(HM_REQ "check/../update", "bulb", 4);
	suite_publish_raw(HM_REQ "check/x/y/z", "bulb", 4);
	suite_publish_raw("zt/bridge/request/device/ota_update", "bulb", 4);
	suite_publish_raw(HM_REQ "check", "nobody", 6);
	for (i = 0; suite_find(0, NULL, "Device 'nobody' does not exist") ==
	    -1; i++)
		if (i == 3 || !suite_wait_count(0, NULL, suite.nmsgs + 1))
			fail_msg("the request after bad topics was lost");
	for (i = 0; i < suite.nmsgs; i++) {
		assert_non_null(o = cJSON_Parse(suite.msgs[i].payload));
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
		    "status")->valuestring, "error");
		cJSON_Delete(o);
	}
	suite_assert_alive_but(-1);
}

static void
t_permit_join(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"time\": 1e400}", "{\"time\": -5}",
		"{\"time\": 60, \"device\": [1]}", "\xff\xfe",
	};
	cJSON	*o;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		suite_forget();
		suite_publish_raw("zt/bridge/request/permit_join", bad[i],
		    (int)strlen(bad[i]));
		if (!suite_wait_count(0, NULL, 1))
			fail_msg("no answer to permit_join \"%s\"", bad[i]);
		assert_string_equal(suite.msgs[0].topic,
		    "zt/bridge/response/permit_join");
		assert_non_null(o = cJSON_Parse(suite.msgs[0].payload));
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
		    "status")->valuestring, "error");
		cJSON_Delete(o);
	}
	suite_assert_alive_but(-1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_oversized),
		cmocka_unit_test(t_binary),
		cmocka_unit_test(t_nesting_numbers),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_permit_join),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, hm_setup, suite_teardown));
}
