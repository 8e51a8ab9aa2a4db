/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Faults end to end: the whole suite (mosquitto on a loopback port, an
 * HTTP server holding the index and the image, zotad-sim playing the
 * adapter and a bulb, the three daemons confined as they run) is driven
 * over MQTT as a user would, and something breaks in the middle of an
 * update: a daemon killed with SIGKILL and restarted, the adapter
 * unplugged and plugged back, the broker restarted, the HTTP server
 * failing, the cache on a full disk, a state file torn or hostile at
 * start-up. Each test asserts what the user sees over MQTT (a clear
 * error, or the update finishing) and what is on disk afterwards (state
 * files whole, nothing unverified in the cache), and that the daemons
 * that were not hit kept running.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "otafile.h"
#include "suite.h"
#include "util.h"

#define FT_WAIT_MS	60000
#define FT_BULB		"0x00124b00beef0001"
#define FT_IMAGE_SIZE	4096
#define FT_REQ		"zt/bridge/request/device/ota_update/"
#define FT_RSP		"zt/bridge/response/device/ota_update/"
#define FT_UPDATE	"{\"id\": \"bulb\", \"transaction\": \"t1\", " \
			"\"image_block_response_delay\": 50}"

static const char ft_scenario[] =
    "{\"devices\": [{\"name\": \"bulb\", \"ieee\": \"" FT_BULB "\","
    " \"nwk\": 4097, \"type\": \"router\", \"manufacturer_code\": 4107,"
    " \"basic\": {\"manufacturer_name\": \"SimLight\","
    "  \"model_id\": \"SimBulb\", \"power_source\": 1,"
    "  \"sw_build_id\": \"1.0\", \"date_code\": \"20250101\"},"
    " \"endpoints\": [{\"id\": 11, \"profile\": 260, \"device_id\": 256,"
    "  \"in\": [0, 6], \"out\": [25]}],"
    " \"ota\": {\"image_type\": 256, \"file_version\": 100,"
    "  \"reboot_ms\": 200, \"expect_image\": \"expected.ota\","
    "  \"after\": {\"sw_build_id\": \"2.0\"}}}]}\n";

static const char ft_database[] =
    "{\"id\":2,\"type\":\"Router\",\"ieeeAddr\":\"" FT_BULB "\","
    "\"nwkAddr\":4097,\"manufId\":4107,\"manufName\":\"SimLight\","
    "\"modelId\":\"SimBulb\",\"powerSource\":\"Mains (single phase)\","
    "\"swBuildId\":\"1.0\",\"endpoints\":{\"11\":{\"profId\":260,"
    "\"inClusterList\":[0,6],\"outClusterList\":[25]}},"
    "\"interviewCompleted\":true}\n";

/* The bulb by name; no automatic checks to get in the way. */
static const char ft_conf_top[] =
    "devices:\n  '" FT_BULB "':\n    friendly_name: bulb\n"
    "ota:\n  disable_automatic_update_check: true\n";

/* The directories and files every test starts from. */
static int
ft_setup(void **state)
{
	(void)state;
	suite_prepare("faults");
	suite.wait_ms = FT_WAIT_MS;
	suite.conf_top = ft_conf_top;
	suite.conf_zotad = "  fetch_timeout: 5\n";
	suite_make_image(FT_IMAGE_SIZE, 11);
	suite_write_text("scenario.json", ft_scenario);
	suite_write_text("database.db", ft_database);
	return (0);
}

/*
 * Everything up, with the HTTP server as chosen in suite beforehand,
 * until zotad-mqtt publishes a device list holding DEVICES.
 */
static void
ft_run_until(const char *devices)
{
	suite_start_all();
	suite_connect("faults");
	/* zotad-mqtt has published the device list: it is serving. */
	suite_wait_msg(0, "zt/bridge/devices", devices);
}

static void
ft_run(void)
{
	ft_run_until(FT_BULB);
}

/*
 * What the user and the disk must show.
 */

/* Ask for the update; the index of the first message after asking. */
static int
ft_request_update(void)
{
	int	 from = suite.nmsgs;

	suite_publish(FT_REQ "update", FT_UPDATE);
	return (from);
}

/*
 * Wait until the bulb has received a quarter of the image, as the
 * simulator records it (zotad-mqtt reports progress only now and then).
 */
static void
ft_wait_quarter(void)
{
	char	 needle[64];

	snprintf(needle, sizeof(needle), "\"received\":%d}",
	    FT_IMAGE_SIZE / 4 / 50 * 50);
	if (!suite_wait_file(suite.events, needle, 1, suite.sim))
		fail_msg("the bulb never got a quarter of the image");
}

/* The answer to the update request made at FROM: its error, or NULL. */
static char *
ft_update_answer(int from)
{
	const cJSON	*st, *err;
	cJSON		*o;
	char		*why = NULL;
	int		 i;

	i = suite_wait_msg(from, FT_RSP "update", "\"t1\"");
	assert_non_null(o = cJSON_Parse(suite.msgs[i].payload));
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	err = cJSON_GetObjectItemCaseSensitive(o, "error");
	assert_true(cJSON_IsString(st));
	if (strcmp(st->valuestring, "ok") != 0) {
		assert_string_equal(st->valuestring, "error");
		assert_true(cJSON_IsString(err) && err->valuestring[0] != '\0');
		why = strdup(err->valuestring);
	}
	cJSON_Delete(o);
	return (why);
}

/* The bulb runs the new image, and the user is told so. */
static void
ft_assert_updated(int from)
{
	if (!suite_wait_file(suite.events, "\"ok\":true", 1, 0) ||
	    !suite_wait_file(suite.events, "\"ev\":\"reboot\"", 1, 0))
		fail_msg("the bulb never verified and ran the new image");
	suite_wait_msg(from, "zt/bulb", "\"installed_version\":200");
}

/* A daemon's directory in the state dir, made before it starts. */
static void
ft_mkdir(const char *name)
{
	char	 path[PATH_MAX];

	suite_path(path, sizeof(path), name);
	assert_int_equal(mkdir(path, 0700), 0);
}

/* Every JSON file in NAME parses; no temporary file remains. */
static void
ft_assert_dir_whole(const char *name)
{
	char		 dir[PATH_MAX], path[2 * PATH_MAX];
	struct dirent	*de;
	uint8_t		*buf;
	size_t		 len, nl;
	cJSON		*o;
	DIR		*d;

	suite_path(dir, sizeof(dir), name);
	if ((d = opendir(dir)) == NULL)
		fail_msg("%s: %s", dir, strerror(errno));
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (de->d_name[0] == '.' && (nl == 1 || (nl == 2 &&
		    de->d_name[1] == '.')))
			continue;
		if (strstr(de->d_name, "tmp") != NULL)
			fail_msg("a temporary file was left: %s/%s", name,
			    de->d_name);
		if (nl < 5 || strcmp(de->d_name + nl - 5, ".json") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		assert_int_equal(util_read_file(path, 1 << 24, &buf, &len), 0);
		if ((o = cJSON_ParseWithLength((char *)buf, len)) == NULL)
			fail_msg("%s is torn", path);
		cJSON_Delete(o);
		free(buf);
	}
	closedir(d);
}

/* The same for the state dir and each daemon's directory in it. */
static void
ft_assert_state_whole(void)
{
	ft_assert_dir_whole("state");
	ft_assert_dir_whole("state/radio");
	ft_assert_dir_whole("state/fetch");
}

/* What the walk over the cache found. */
static int	 ft_walk_same;		/* a file equal to the real image */
static char	 ft_walk_bad[PATH_MAX];	/* an image that is not it */

static int
ft_walk_cb(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	struct ota_image img;
	uint8_t		*buf;
	size_t		 len;
	char		 err[128];

	(void)st;
	(void)ftw;
	if (flag != FTW_F || util_read_file(path, 1 << 24, &buf, &len) == -1)
		return (0);
	if (len == suite.image_len && memcmp(buf, suite.image, len) == 0)
		ft_walk_same = 1;
	else if (ota_parse(buf, len, &img, err, sizeof(err)) == 0)
		snprintf(ft_walk_bad, sizeof(ft_walk_bad), "%s", path);
	free(buf);
	return (0);
}

static void
ft_walk_cache(void)
{
	char	 dir[PATH_MAX];
	int	 i;

	suite_path(dir, sizeof(dir), "cache");
	/* zotad-fetch may be removing a temporary file as we look. */
	for (i = 0; i < 10; i++) {
		ft_walk_same = 0;
		ft_walk_bad[0] = '\0';
		if (nftw(dir, ft_walk_cb, 8, FTW_PHYS) == 0)
			return;
		suite_nap(100);
	}
	fail_msg("cannot walk %s", dir);
}

/* The real image is in the cache. */
static void
ft_assert_cached(void)
{
	ft_walk_cache();
	assert_true(ft_walk_same);
}

/* No file in the cache is an OTA image other than the real one. */
static void
ft_assert_cache_verified(void)
{
	ft_walk_cache();
	if (ft_walk_bad[0] != '\0')
		fail_msg("%s is an image nobody verified", ft_walk_bad);
}

/*
 * The tests.
 */

/* The baseline: without a fault the update runs through. */
static void
t_no_fault(void **state)
{
	int	 from;

	(void)state;
	ft_run();
	from = ft_request_update();
	assert_null(ft_update_answer(from));
	ft_assert_updated(from);
	ft_assert_state_whole();
	ft_assert_cached();
	ft_assert_cache_verified();
}

/* SIGKILL DAEMON at a quarter of the transfer, then start it again. */
static char *
ft_kill_mid_update(enum suite_daemon d, int *from)
{
	*from = ft_request_update();
	ft_wait_quarter();
	suite_stop(&suite.pid[d], SIGKILL);
	suite_assert_alive_but(d);
	suite_start_daemon(d);
	return (NULL);
}

static void
t_kill_radio(void **state)
{
	char	*why;
	int	 from;

	(void)state;
	ft_run();
	ft_kill_mid_update(SUITE_RADIO, &from);
	/*
	 * The transfer was saved and the device asks again; the request
	 * waits for the restarted daemon, and its first answer is the
	 * update's success, not the crash.
	 */
	if ((why = ft_update_answer(from)) != NULL)
		fail_msg("the update was answered with an error: %s", why);
	ft_assert_updated(from);
	ft_assert_state_whole();
}

/*
 * SIGKILL zotad-radio just after it told the bulb to switch to the new
 * image: the restarted daemon must still learn, and say, what the bulb
 * runs once it is back.
 */
static void
t_kill_radio_at_end(void **state)
{
	char	*why;
	int	 from;

	(void)state;
	ft_run();
	from = ft_request_update();
	if (!suite_wait_file(suite.events, "\"ev\":\"ota_end_response\"", 1,
	    suite.sim))
		fail_msg("the bulb never got its Upgrade End Response");
	suite_stop(&suite.pid[SUITE_RADIO], SIGKILL);
	suite_assert_alive_but(SUITE_RADIO);
	suite_start_daemon(SUITE_RADIO);
	/* The restarted daemon's outcome reaches the waiting request. */
	if ((why = ft_update_answer(from)) != NULL)
		fail_msg("the update was answered with an error: %s", why);
	ft_assert_updated(from);
	ft_assert_state_whole();
}

static void
t_kill_fetch(void **state)
{
	char	*why;
	int	 from;

	(void)state;
	ft_run();
	ft_kill_mid_update(SUITE_FETCH, &from);
	/* zotad-radio holds the image: the update is not disturbed. */
	why = ft_update_answer(from);
	if (why != NULL)
		fail_msg("the update failed: %s", why);
	ft_assert_updated(from);
	ft_assert_state_whole();
	ft_assert_cache_verified();
}

static void
t_kill_mqtt(void **state)
{
	int	 from;

	(void)state;
	ft_run();
	ft_kill_mid_update(SUITE_MQTT, &from);
	/* The new zotad-mqtt shows the transfer and its end. */
	ft_assert_updated(from);
	ft_assert_state_whole();
}

static void
t_unplug_replug(void **state)
{
	char	 log[PATH_MAX];
	char	*why;
	int	 from, ups;

	(void)state;
	ft_run();
	suite_log_path(SUITE_RADIO, log, sizeof(log));
	ups = suite_file_count(log, "adapter up");
	from = ft_request_update();
	ft_wait_quarter();
	assert_int_equal(suite_sim_ctl("unplug"), 0);
	if (!suite_wait_file(suite.events, "\"ev\":\"unplug\"", 1, suite.sim))
		fail_msg("the simulator did not unplug");
	assert_int_equal(suite_sim_ctl("replug"), 0);
	if (!suite_wait_file(log, "adapter up", ups + 1,
	    suite.pid[SUITE_RADIO]))
		fail_msg("zotad-radio never got the adapter back");
	why = ft_update_answer(from);
	if (why != NULL)
		fail_msg("the update failed across the replug: %s", why);
	ft_assert_updated(from);
	suite_assert_alive_but(-1);
	ft_assert_state_whole();
}

static void
t_broker_restart(void **state)
{
	char	 log[PATH_MAX];
	char	*why;
	int	 from, conns;

	(void)state;
	ft_run();
	suite_log_path(SUITE_MQTT, log, sizeof(log));
	conns = suite_file_count(log, "connected to broker");
	from = ft_request_update();
	ft_wait_quarter();
	suite_stop(&suite.broker, SIGTERM);
	suite_start_broker();
	if (!suite_wait_file(log, "connected to broker", conns + 1,
	    suite.pid[SUITE_MQTT]))
		fail_msg("zotad-mqtt never came back to the broker");
	/* The transfer went on meanwhile; its answer and state arrive. */
	why = ft_update_answer(from);
	if (why != NULL)
		fail_msg("the update failed: %s", why);
	ft_assert_updated(from);
	suite_assert_alive_but(-1);
	ft_assert_state_whole();
}

/* The image download fails as FAULT: the user is told, nothing kept. */
static void
ft_http_fault(enum thttpd_fault fault, int wrong_sha, const char *says)
{
	char	*why;
	int	 from;

	suite.image_fault = fault;
	suite.wrong_sha = wrong_sha;
	ft_run();
	from = ft_request_update();
	why = ft_update_answer(from);
	if (why == NULL)
		fail_msg("an update from a failing server succeeded");
	if (strstr(why, "OTA update of 'bulb' failed") == NULL ||
	    strstr(why, says) == NULL)
		fail_msg("the user sees \"%s\", which does not say \"%s\"",
		    why, says);
	free(why);
	assert_int_equal(suite_file_count(suite.events, "\"ev\":\"block\""),
	    0);
	ft_assert_cache_verified();
	ft_walk_cache();
	assert_false(ft_walk_same && (fault != THTTPD_OK || wrong_sha));
	suite_assert_alive_but(-1);
	ft_assert_state_whole();
}

static void
t_http_404(void **state)
{
	(void)state;
	ft_http_fault(THTTPD_404, 0, "HTTP status 404");
}

static void
t_http_500(void **state)
{
	(void)state;
	ft_http_fault(THTTPD_500, 0, "HTTP status 500");
}

static void
t_http_truncated(void **state)
{
	(void)state;
	ft_http_fault(THTTPD_TRUNCATE, 0, "bulb.ota");
}

static void
t_http_stalled(void **state)
{
	(void)state;
	ft_http_fault(THTTPD_STALL, 0, "timed out");
}

static void
t_http_wrong_sha(void **state)
{
	(void)state;
	ft_http_fault(THTTPD_OK, 1, "sha512");
}

/*
 * The cache has room for the index but not the image: the image is
 * still verified and served from memory, and no partial file stays.
 */
static void
t_cache_full(void **state)
{
	char	*why;
	int	 from;

	(void)state;
	suite_small_disk("cache", "8k");
	ft_run();
	from = ft_request_update();
	why = ft_update_answer(from);
	if (why != NULL)
		print_message("# with a full cache the user sees: %s\n", why);
	else
		ft_assert_updated(from);
	free(why);
	ft_assert_cache_verified();
	suite_assert_alive_but(-1);
	ft_assert_state_whole();
}

/*
 * The state dir fills up as zotad-radio saves the transfer: the save
 * fails and says so, the update goes on, and every state file is still
 * either the old one or the new one, with no temporary file left.
 */
static void
t_state_full(void **state)
{
	char	 log[PATH_MAX];
	char	*why;
	int	 from;

	(void)state;
	/* Room for the registry and the check times, not for more. */
	suite_small_disk("state", "8k");
	ft_run();
	from = ft_request_update();
	why = ft_update_answer(from);
	if (why != NULL)
		print_message("# with a full state dir the user sees: %s\n",
		    why);
	else
		ft_assert_updated(from);
	free(why);
	suite_log_path(SUITE_RADIO, log, sizeof(log));
	if (suite_file_count(log, "No space left on device") == 0)
		fail_msg("zotad-radio never said the state dir is full");
	suite_assert_alive_but(-1);
	ft_assert_state_whole();
}

/*
 * A registry torn by something outside zotad: the daemon starts
 * without it, says which file is unusable, leaves it for the operator,
 * and the user gets a clear answer.
 */
static void
t_state_torn(void **state)
{
	static const char torn[] = "{\"devices\": [{\"ieee\": \""
	    FT_BULB "\", \"nwk\": 4097, \"type\": \"rou";
	char		 path[PATH_MAX], log[PATH_MAX];
	uint8_t		*buf;
	size_t		 len;
	char		*why;
	int		 from;

	(void)state;
	ft_mkdir("state/radio");
	suite_write("state/radio/devices.json", torn, sizeof(torn) - 1);
	ft_run_until(NULL);
	suite_log_path(SUITE_RADIO, log, sizeof(log));
	if (suite_file_count(log, "devices.json") == 0)
		fail_msg("zotad-radio did not name the torn file");
	from = ft_request_update();
	why = ft_update_answer(from);
	assert_non_null(why);
	if (strstr(why, "bulb") == NULL)
		fail_msg("the answer \"%s\" does not name the device", why);
	free(why);
	suite_path(path, sizeof(path), "state/radio/devices.json");
	assert_int_equal(util_read_file(path, 4096, &buf, &len), 0);
	assert_int_equal(len, sizeof(torn) - 1);
	assert_memory_equal(buf, torn, len);
	free(buf);
	suite_assert_alive_but(-1);
}

/*
 * Saved sessions and check times written by an attacker: nonsense
 * numbers, names that are not addresses, a saved image that is not
 * one. The daemons start, drop what is wrong and update as usual.
 */
static void
t_state_hostile(void **state)
{
	char	 long_text[8192], *ota;
	int	 from;

	(void)state;
	memset(long_text, 'A', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	assert_true(asprintf(&ota, "{\"sessions\": [{\"ieee\": \"" FT_BULB
	    "\", \"state\": \"transfer\", \"max_data_size\": 1e300, "
	    "\"block_timeout\": -5, \"from_version\": 1e99, "
	    "\"from_sw_build_id\": \"%s\"}, {\"ieee\": \"../../etc\"}, "
	    "5, null, {\"ieee\": \"" FT_BULB "\"}]}", long_text) != -1);
	ft_mkdir("state/radio");
	ft_mkdir("state/fetch");
	suite_write_text("state/radio/ota.json", ota);
	free(ota);
	suite_write_text("state/radio/ota-00124b00beef0001.img",
	    "not an image");
	suite_write_text("state/fetch/fetch-lastcheck.json", "{\"devices\": {\""
	    FT_BULB "\": -1e308, \"0x1\": 5, \"x\": \"y\"}, "
	    "\"devices\": 7}");
	ft_run();
	from = ft_request_update();
	assert_null(ft_update_answer(from));
	ft_assert_updated(from);
	suite_assert_alive_but(-1);
	ft_assert_state_whole();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_no_fault, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_kill_radio, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_kill_radio_at_end, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_kill_fetch, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_kill_mqtt, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_unplug_replug, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_broker_restart, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_http_404, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_http_500, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_http_truncated, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_http_stalled, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_http_wrong_sha, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_cache_full, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_state_full, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_state_torn, ft_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_state_hostile, ft_setup,
		    suite_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	/* One test alone, by name, when looking into a failure. */
	if (getenv("ZOTAD_TEST_ONLY") != NULL)
		cmocka_set_test_filter(getenv("ZOTAD_TEST_ONLY"));
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
