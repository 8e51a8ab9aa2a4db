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

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <mosquitto.h>

#define HM_WAIT_MS	20000
#define HM_MAX_IMAGE	65536	/* so that "oversized" stays small */
#define HM_MAX_MSGS	256
#define HM_BULB		"0x00124b00beef0001"
#define HM_REQ		"zt/bridge/request/device/ota_update/"
#define HM_RSP		"zt/bridge/response/device/ota_update/"

struct hm_msg {
	char	*topic;
	char	*payload;
	int	 len;
};

struct hm {
	char		 dir[64];
	char		 conf[PATH_MAX];
	int		 port;
	pid_t		 broker, sim, pid[3];
	struct mosquitto *mosq;
	int		 connected;
	struct hm_msg	 msgs[HM_MAX_MSGS];
	int		 nmsgs;
};

static const char *const hm_names[3] = {
	"zotad-radio", "zotad-fetch", "zotad-mqtt"
};
static const char *const hm_ready[3] = {
	"adapter up", "zotad-fetch: ready", "connected to broker"
};

static struct hm	 hm;

static void
hm_path(char *out, size_t len, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", hm.dir, name) >= len)
		fail_msg("path too long: %s/%s", hm.dir, name);
}

static void
hm_write(const char *name, const char *text)
{
	char	 path[PATH_MAX];
	FILE	*f;

	hm_path(path, sizeof(path), name);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void
hm_nap(void)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static int
hm_file_has(const char *path, const char *needle)
{
	char	 line[8192];
	FILE	*f;
	int	 found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return (found);
}

static pid_t
hm_spawn(char *const argv[], const char *errfile, int as_nobody)
{
	struct passwd	*pw = getpwnam("nobody");
	pid_t		 pid;
	int		 fd;

	assert_non_null(pw);
	assert_true((pid = fork()) >= 0);
	if (pid != 0)
		return (pid);
	if ((fd = open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	/* LeakSanitizer cannot stop the world inside a sandbox. */
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	if (as_nobody && getuid() == 0 && (setgroups(0, NULL) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1))
		_exit(126);
	execvp(argv[0], argv);
	_exit(127);
}

static int
hm_wait_log(const char *name, const char *needle, pid_t pid)
{
	char	 path[PATH_MAX], log[64];
	int	 i, st;

	snprintf(log, sizeof(log), "%s.log", name);
	hm_path(path, sizeof(path), log);
	for (i = 0; i < HM_WAIT_MS / 20; i++) {
		if (needle == NULL ? access(path, F_OK) == 0 :
		    hm_file_has(path, needle))
			return (1);
		if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
			return (0);
		hm_nap();
	}
	return (0);
}

static int
hm_free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 s, port;

	assert_true((s = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(s);
	return (port);
}

static void
hm_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	if (rc == 0 && mosquitto_subscribe(m, NULL, "zt/bridge/response/#",
	    0) == MOSQ_ERR_SUCCESS)
		hm.connected = 1;
}

static void
hm_on_message(struct mosquitto *m, void *arg,
    const struct mosquitto_message *msg)
{
	struct hm_msg	*x;

	(void)m;
	(void)arg;
	if (hm.nmsgs == HM_MAX_MSGS)
		return;
	x = &hm.msgs[hm.nmsgs++];
	x->topic = strdup(msg->topic);
	x->len = msg->payloadlen;
	if ((x->payload = malloc((size_t)msg->payloadlen + 1)) != NULL) {
		memcpy(x->payload, msg->payload, (size_t)msg->payloadlen);
		x->payload[msg->payloadlen] = '\0';
	}
}

static void
hm_forget(void)
{
	int	 i;

	for (i = 0; i < hm.nmsgs; i++) {
		free(hm.msgs[i].topic);
		free(hm.msgs[i].payload);
	}
	hm.nmsgs = 0;
}

/* Run the client until N messages arrived; 1 if they did. */
static int
hm_wait_msgs(int n)
{
	int	 i;

	for (i = 0; i < HM_WAIT_MS / 50 && hm.nmsgs < n; i++)
		if (mosquitto_loop(hm.mosq, 50, 1) != MOSQ_ERR_SUCCESS)
			mosquitto_reconnect(hm.mosq);
	return (hm.nmsgs >= n);
}

static void
hm_publish(const char *topic, const void *p, int len)
{
	assert_int_equal(mosquitto_publish(hm.mosq, NULL, topic, len, p, 0,
	    0), MOSQ_ERR_SUCCESS);
}

static void
hm_start_daemons(void)
{
	char	 bin[PATH_MAX], log[64], path[PATH_MAX];
	char	*argv[] = { bin, "-d", "-f", hm.conf, NULL };
	const char *b = getenv("BUILD");
	int	 i;

	for (i = 0; i < 3; i++) {
		snprintf(bin, sizeof(bin), "%s/bin/%s", b != NULL ? b : "build",
		    hm_names[i]);
		snprintf(log, sizeof(log), "%s.log", hm_names[i]);
		hm_path(path, sizeof(path), log);
		hm.pid[i] = hm_spawn(argv, path, 0);
		if (!hm_wait_log(hm_names[i], hm_ready[i], hm.pid[i]))
			fail_msg("%s did not start", hm_names[i]);
	}
	if (!hm_wait_log("zotad-mqtt", "connected to zotad-radio, 1 devices",
	    hm.pid[2]))
		fail_msg("zotad-mqtt never learnt the bulb from zotad-radio");
}

static void
hm_start_sim(void)
{
	char	 bin[PATH_MAX], scen[PATH_MAX], tty[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { bin, "--scenario", scen, "--pty", tty, NULL };
	const char *b = getenv("BUILD");
	int	 i;

	snprintf(bin, sizeof(bin), "%s/bin/zotad-sim", b != NULL ? b :
	    "build");
	hm_path(scen, sizeof(scen), "scenario.json");
	hm_path(tty, sizeof(tty), "tty");
	hm_path(log, sizeof(log), "sim.log");
	hm_write("scenario.json", "{\"devices\": [{\"name\": \"bulb\", "
	    "\"ieee\": \"" HM_BULB "\", \"nwk\": 4097, \"type\": \"router\", "
	    "\"manufacturer_code\": 4107, \"basic\": {\"power_source\": 1}, "
	    "\"endpoints\": [{\"id\": 11, \"in\": [0], \"out\": [25]}], "
	    "\"ota\": {\"image_type\": 256, \"file_version\": 100}}]}\n");
	hm.sim = hm_spawn(argv, log, 1);
	for (i = 0; i < HM_WAIT_MS / 20 && access(tty, F_OK) == -1; i++)
		hm_nap();
}

static int
hm_setup(void **state)
{
	char	 text[2 * PATH_MAX], path[PATH_MAX], blog[PATH_MAX];
	char	*argv[] = { "mosquitto", "-c", path, NULL };
	int	 i;

	(void)state;
	memset(&hm, 0, sizeof(hm));
	snprintf(hm.dir, sizeof(hm.dir), "/tmp/zotad-hostile-mqtt.XXXXXX");
	assert_non_null(mkdtemp(hm.dir));
	assert_int_equal(chmod(hm.dir, 0777), 0);
	hm_path(path, sizeof(path), "cache");
	assert_int_equal(mkdir(path, 0777), 0);
	hm_path(hm.conf, sizeof(hm.conf), "configuration.yaml");
	hm.port = hm_free_port();
	snprintf(text, sizeof(text), "listener %d 127.0.0.1\n"
	    "allow_anonymous true\npersistence false\n", hm.port);
	hm_write("mosquitto.conf", text);
	snprintf(text, sizeof(text), "mqtt:\n  base_topic: zt\n"
	    "  server: mqtt://127.0.0.1:%d\n"
	    "serial:\n  port: %s/tty\n"
	    "zotad:\n  state_dir: %s/state\n  run_dir: %s/run\n"
	    "  cache_dir: %s/cache\n  max_image_size: %d\n"
	    "  index_url: http://127.0.0.1:9/index.json\n"
	    "  downgrade_index_url: http://127.0.0.1:9/index1.json\n"
	    "  user_radio: nobody\n  user_fetch: nobody\n"
	    "  user_mqtt: nobody\n", hm.port, hm.dir, hm.dir, hm.dir,
	    hm.dir, HM_MAX_IMAGE);
	hm_write("configuration.yaml", text);
	hm_write("database.db", "{\"id\":2,\"type\":\"Router\","
	    "\"ieeeAddr\":\"" HM_BULB "\",\"nwkAddr\":4097,\"manufId\":4107,"
	    "\"endpoints\":{\"11\":{\"profId\":260,\"inClusterList\":[0],"
	    "\"outClusterList\":[25]}},\"interviewCompleted\":true}\n");
	hm_path(path, sizeof(path), "mosquitto.conf");
	hm_path(blog, sizeof(blog), "mosquitto.log");
	hm.broker = hm_spawn(argv, blog, 0);
	hm_start_sim();
	hm_start_daemons();

	mosquitto_lib_init();
	assert_non_null(hm.mosq = mosquitto_new("hostile", 1, NULL));
	mosquitto_connect_callback_set(hm.mosq, hm_on_connect);
	mosquitto_message_callback_set(hm.mosq, hm_on_message);
	assert_int_equal(mosquitto_connect(hm.mosq, "127.0.0.1", hm.port, 30),
	    MOSQ_ERR_SUCCESS);
	while (!hm.connected)
		if (mosquitto_loop(hm.mosq, 100, 1) != MOSQ_ERR_SUCCESS)
			fail_msg("lost the broker");
	/* Let the subscription settle before the first request. */
	for (i = 0; i < 5; i++)
		mosquitto_loop(hm.mosq, 20, 1);
	return (0);
}

static void
hm_stop(pid_t *pid)
{
	int	 st;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, &st, 0);
	*pid = 0;
}

static int
hm_teardown(void **state)
{
	char	 cmd[PATH_MAX];
	int	 i;

	(void)state;
	hm_forget();
	if (hm.mosq != NULL) {
		mosquitto_disconnect(hm.mosq);
		mosquitto_destroy(hm.mosq);
		mosquitto_lib_cleanup();
	}
	for (i = 2; i >= 0; i--)
		hm_stop(&hm.pid[i]);
	hm_stop(&hm.sim);
	hm_stop(&hm.broker);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", hm.dir);
	if (system(cmd) != 0)
		print_message("# could not remove %s\n", hm.dir);
	return (0);
}

/* Every daemon still runs. */
static void
hm_assert_alive(void)
{
	int	 i, st;

	for (i = 0; i < 3; i++)
		if (waitpid(hm.pid[i], &st, WNOHANG) != 0)
			fail_msg("%s died (wait status %#x)", hm_names[i], st);
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

	hm_forget();
	snprintf(topic, sizeof(topic), HM_REQ "%s", verb);
	hm_publish(topic, payload, len);
	if (!hm_wait_msgs(1))
		fail_msg("no answer to a hostile %s request", verb);
	snprintf(topic, sizeof(topic), HM_RSP "%s", verb);
	assert_string_equal(hm.msgs[0].topic, topic);
	assert_non_null(hm.msgs[0].payload);
	if ((o = cJSON_Parse(hm.msgs[0].payload)) == NULL)
		fail_msg("the answer is not JSON: %.200s", hm.msgs[0].payload);
	st = cJSON_GetObjectItemCaseSensitive(o, "status");
	err = cJSON_GetObjectItemCaseSensitive(o, "error");
	assert_true(cJSON_IsString(st) && strcmp(st->valuestring, "error") ==
	    0);
	assert_true(cJSON_IsString(err));
	if (strstr(err->valuestring, want) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err->valuestring,
		    want);
	/* An answer never carries more than a short message. */
	assert_true(hm.msgs[0].len < 4096);
	cJSON_Delete(o);
}

/* Whether an answer so far holds TEXT. */
static int
hm_answered(const char *text)
{
	int	 i;

	for (i = 0; i < hm.nmsgs; i++)
		if (hm.msgs[i].payload != NULL &&
		    strstr(hm.msgs[i].payload, text) != NULL)
			return (1);
	return (0);
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
	hm_assert_alive();
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
	hm_assert_alive();
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
	hm_assert_alive();
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
	hm_forget();
	hm_publish(HM_REQ "check/../update", "bulb", 4);
	hm_publish(HM_REQ "check/x/y/z", "bulb", 4);
	hm_publish("zt/bridge/request/device/ota_update", "bulb", 4);
	hm_publish(HM_REQ "check", "nobody", 6);
	for (i = 0; !hm_answered("Device 'nobody' does not exist"); i++)
		if (i == 3 || !hm_wait_msgs(hm.nmsgs + 1))
			fail_msg("the request after bad topics was lost");
	for (i = 0; i < hm.nmsgs; i++) {
		assert_non_null(o = cJSON_Parse(hm.msgs[i].payload));
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
		    "status")->valuestring, "error");
		cJSON_Delete(o);
	}
	hm_assert_alive();
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
		hm_forget();
		hm_publish("zt/bridge/request/permit_join", bad[i],
		    (int)strlen(bad[i]));
		if (!hm_wait_msgs(1))
			fail_msg("no answer to permit_join \"%s\"", bad[i]);
		assert_string_equal(hm.msgs[0].topic,
		    "zt/bridge/response/permit_join");
		assert_non_null(o = cJSON_Parse(hm.msgs[0].payload));
		assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
		    "status")->valuestring, "error");
		cJSON_Delete(o);
	}
	hm_assert_alive();
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
	return (cmocka_run_group_tests(tests, hm_setup, hm_teardown));
}
