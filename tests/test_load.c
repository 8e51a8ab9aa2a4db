/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Load: the whole suite (mosquitto, an HTTP server with the index and
 * the image, zotad-sim with 100 devices, the three daemons confined as
 * they run) takes 10 updates at once, with the concurrency limit raised
 * so that all ten transfer together, then 1,000 MQTT check
 * requests in one burst, twice. Every request must be answered, every
 * transfer must complete with the right image, and the daemons' memory
 * must stay flat from one burst to the next. Times are printed, never
 * asserted.
 */

#include <sys/types.h>

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

#define LD_WAIT_MS	120000
#define LD_DEVICES	100
#define LD_UPDATES	10
#define LD_CONCURRENT	10	/* the queue limit raised: all at once */
#define LD_BURST	1000
#define LD_IEEE_FMT	"0x00124b00beef%04x"
#define LD_IMAGE_SIZE	2048
#define LD_REQ		"zt/bridge/request/device/ota_update/"
#define LD_RSP		"zt/bridge/response/device/ota_update/"

/* The IEEE address of device I. */
static void
ld_ieee(int i, char *out, size_t len)
{
	snprintf(out, len, LD_IEEE_FMT, 0x1000 + i);
}

/* 100 mains routers with OTA clients, and zigbee2mqtt's record of them. */
static void
ld_write_network(void)
{
	char	 path[PATH_MAX], ieee[32];
	FILE	*scen, *db;
	int	 i;

	suite_path(path, sizeof(path), "scenario.json");
	assert_non_null(scen = fopen(path, "w"));
	suite_path(path, sizeof(path), "database.db");
	assert_non_null(db = fopen(path, "w"));
	fprintf(scen, "{\"devices\": [");
	for (i = 0; i < LD_DEVICES; i++) {
		ld_ieee(i, ieee, sizeof(ieee));
		fprintf(scen, "%s{\"name\": \"d%d\", \"ieee\": \"%s\", "
		    "\"nwk\": %d, \"type\": \"router\", "
		    "\"manufacturer_code\": %d, \"basic\": "
		    "{\"power_source\": 1, \"sw_build_id\": \"1.0\"}, "
		    "\"endpoints\": [{\"id\": 11, \"in\": [0, 6], "
		    "\"out\": [25]}], \"ota\": {\"image_type\": %d, "
		    "\"file_version\": 100, \"reboot_ms\": 200, "
		    "\"expect_image\": \"expected.ota\", "
		    "\"after\": {\"sw_build_id\": \"2.0\"}}}",
		    i > 0 ? ", " : "", i, ieee, 0x1000 + i, SUITE_MANUF,
		    SUITE_TYPE);
		fprintf(db, "{\"id\":%d,\"type\":\"Router\",\"ieeeAddr\":"
		    "\"%s\",\"nwkAddr\":%d,\"manufId\":%d,\"powerSource\":"
		    "\"Mains (single phase)\",\"swBuildId\":\"1.0\","
		    "\"endpoints\":{\"11\":{\"profId\":260,\"inClusterList\":"
		    "[0,6],\"outClusterList\":[25]}},\"interviewCompleted\":"
		    "true}\n", i + 2, ieee, 0x1000 + i, SUITE_MANUF);
	}
	fprintf(scen, "]}\n");
	assert_int_equal(fclose(scen), 0);
	assert_int_equal(fclose(db), 0);
}

/* The directories and files every test starts from. */
static int
ld_setup(void **state)
{
	static char	 zotad[128];

	(void)state;
	suite_prepare("load");
	suite.wait_ms = LD_WAIT_MS;
	suite.conf_top = "ota:\n  disable_automatic_update_check: true\n";
	snprintf(zotad, sizeof(zotad), "  fetch_timeout: 30\n"
	    "  max_concurrent_updates: %d\n", LD_CONCURRENT);
	suite.conf_zotad = zotad;
	suite_make_image(LD_IMAGE_SIZE, 11);
	ld_write_network();
	return (0);
}

/* Everything up until zotad-mqtt lists the last device. */
static void
ld_run(void)
{
	char	 last[32];

	ld_ieee(LD_DEVICES - 1, last, sizeof(last));
	suite_start_all();
	suite_connect("load");
	suite_wait_msg(0, "zt/bridge/devices", last);
}

/*
 * Measuring.
 */

static void
ld_rss_all(long kb[SUITE_NDAEMONS], const char *when)
{
	int	 d;

	for (d = 0; d < SUITE_NDAEMONS; d++) {
		kb[d] = suite_rss(suite.pid[d]);
		print_message("# %-12s RSS %6ld KiB %s\n", suite_names[d],
		    kb[d], when);
	}
}

/* Run the client until N messages on TOPIC arrived after FROM. */
static void
ld_wait_count(int from, const char *topic, int n)
{
	if (!suite_wait_count(from, topic, n))
		fail_msg("%d of %d answers on %s", suite_count(from, topic), n,
		    topic);
}

/*
 * The answers on TOPIC after FROM: each must be an answer to one of the
 * N requests (transaction PREFIX and its number), each request exactly
 * once, with status ok when MUST_BE_OK.
 */
static void
ld_assert_answers(int from, const char *topic, const char *prefix, int n,
    int must_be_ok)
{
	const cJSON	*tr, *st;
	cJSON		*o;
	char		*seen;
	size_t		 pl = strlen(prefix);
	int		 i, k;

	assert_non_null(seen = calloc((size_t)n, 1));
	for (i = from; i < suite.nmsgs; i++) {
		if (strcmp(suite.msgs[i].topic, topic) != 0)
			continue;
		assert_non_null(o = cJSON_Parse(suite.msgs[i].payload));
		tr = cJSON_GetObjectItemCaseSensitive(o, "transaction");
		st = cJSON_GetObjectItemCaseSensitive(o, "status");
		assert_true(cJSON_IsString(tr) && cJSON_IsString(st));
		assert_memory_equal(tr->valuestring, prefix, pl);
		k = atoi(tr->valuestring + pl);
		assert_true(k >= 0 && k < n);
		if (seen[k]++)
			fail_msg("request %s answered twice", tr->valuestring);
		if (must_be_ok && strcmp(st->valuestring, "ok") != 0)
			fail_msg("request %s: %s", tr->valuestring,
			    suite.msgs[i].payload);
		cJSON_Delete(o);
	}
	for (k = 0; k < n; k++)
		if (!seen[k])
			fail_msg("request %s%d was never answered", prefix, k);
	free(seen);
}

/* 1,000 checks of all the devices in turn, published at once. */
static void
ld_burst(const char *prefix)
{
	char	 payload[128], ieee[32];
	double	 t0;
	int	 from = suite.nmsgs, i;

	t0 = suite_now();
	for (i = 0; i < LD_BURST; i++) {
		ld_ieee(i % LD_DEVICES, ieee, sizeof(ieee));
		snprintf(payload, sizeof(payload), "{\"id\": \"%s\", "
		    "\"transaction\": \"%s%d\"}", ieee, prefix, i);
		suite_publish(LD_REQ "check", payload);
	}
	ld_wait_count(from, LD_RSP "check", LD_BURST);
	print_message("# %d checks answered in %.2f s\n", LD_BURST,
	    suite_now() - t0);
	ld_assert_answers(from, LD_RSP "check", prefix, LD_BURST, 1);
}

/* Ten updates transferring at once; all complete. */
static void
ld_updates(void)
{
	char	 payload[256], ieee[32];
	double	 t0;
	int	 from = suite.nmsgs, i;

	t0 = suite_now();
	for (i = 0; i < LD_UPDATES; i++) {
		ld_ieee(i, ieee, sizeof(ieee));
		snprintf(payload, sizeof(payload), "{\"id\": \"%s\", "
		    "\"transaction\": \"u%d\", "
		    "\"image_block_response_delay\": 50}", ieee, i);
		suite_publish(LD_REQ "update", payload);
	}
	ld_wait_count(from, LD_RSP "update", LD_UPDATES);
	print_message("# %d updates of %d bytes done in %.2f s\n",
	    LD_UPDATES, LD_IMAGE_SIZE, suite_now() - t0);
	ld_assert_answers(from, LD_RSP "update", "u", LD_UPDATES, 1);
	/* Each device checked what it got against the image. */
	assert_int_equal(suite_file_count(suite.events, "\"ok\":true"),
	    LD_UPDATES);
	assert_int_equal(suite_file_count(suite.events, "\"ok\":false"), 0);
}

/* Whether the daemons run with AddressSanitizer, whose heap only grows. */
static int
ld_sanitized(void)
{
	const char	*b = getenv("BUILD");
	size_t		 n = b != NULL ? strlen(b) : 0;

	return (n >= 4 && strcmp(b + n - 4, "-san") == 0);
}

static void
t_load(void **state)
{
	long	 base[SUITE_NDAEMONS], first[SUITE_NDAEMONS];
	long	 second[SUITE_NDAEMONS], slack;
	int	 d;

	(void)state;
	ld_run();
	ld_rss_all(base, "at start");
	ld_updates();
	ld_burst("a");
	ld_rss_all(first, "after a burst");
	ld_burst("b");
	ld_rss_all(second, "after another");
	if (ld_sanitized()) {
		print_message("# memory not judged: the sanitizers keep "
		    "freed memory in quarantine\n");
		return;
	}
	/* The second burst must find everything it needs already there. */
	for (d = 0; d < SUITE_NDAEMONS; d++) {
		slack = first[d] / 10 > 1024 ? first[d] / 10 : 1024;
		if (second[d] > first[d] + slack)
			fail_msg("%s grew from %ld to %ld KiB over %d more "
			    "requests", suite_names[d], first[d], second[d],
			    LD_BURST);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_load, ld_setup,
		    suite_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
