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

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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
#include <event2/event.h>
#include <mosquitto.h>

#include "httpd/testhttpd.h"
#include "otafile.h"
#include "util.h"

#define LD_WAIT_MS	120000
#define LD_DEVICES	100
#define LD_UPDATES	10
#define LD_CONCURRENT	10	/* the queue limit raised: all at once */
#define LD_BURST	1000
#define LD_IEEE_FMT	"0x00124b00beef%04x"
#define LD_MANUF	4107
#define LD_TYPE		256
#define LD_NEW		200
#define LD_IMAGE_SIZE	2048
#define LD_MAX_MSGS	20000
#define LD_REQ		"zt/bridge/request/device/ota_update/"
#define LD_RSP		"zt/bridge/response/device/ota_update/"

enum ld_daemon { LD_RADIO, LD_FETCH, LD_MQTT, LD_NDAEMONS };

static const char *const ld_names[LD_NDAEMONS] = {
	"zotad-radio", "zotad-fetch", "zotad-mqtt"
};
static const char *const ld_ready[LD_NDAEMONS] = {
	"adapter up", "zotad-fetch: ready", "connected to zotad-radio"
};

struct ld_msg {
	char	*topic;
	char	*payload;
};

struct ld {
	char		 dir[64];
	char		 conf[PATH_MAX];
	char		 events[PATH_MAX];
	char		 ctl[PATH_MAX];
	int		 mqtt_port;
	uint16_t	 http_port;
	pid_t		 broker, http, sim, pid[LD_NDAEMONS];
	uint8_t		*image;
	size_t		 image_len;
	struct mosquitto *mosq;
	int		 connected;
	struct ld_msg	 msgs[LD_MAX_MSGS];
	int		 nmsgs;
};

static struct ld	 ld;

static void
ld_path(char *out, size_t len, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", ld.dir, name) >= len)
		fail_msg("path too long: %s/%s", ld.dir, name);
}

static void
ld_write(const char *name, const void *p, size_t len)
{
	char	 path[PATH_MAX];
	FILE	*f;

	ld_path(path, sizeof(path), name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
ld_write_text(const char *name, const char *text)
{
	ld_write(name, text, strlen(text));
}

static int
ld_file_count(const char *path, const char *needle)
{
	char	 line[8192];
	FILE	*f;
	int	 n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return (n);
}

static void
ld_log_path(enum ld_daemon d, char *out, size_t len)
{
	char	 name[64];

	snprintf(name, sizeof(name), "%s.log", ld_names[d]);
	ld_path(out, len, name);
}

static pid_t
ld_spawn(char *const argv[], const char *errfile, int as_nobody)
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

static void
ld_stop(pid_t *pid, int sig)
{
	int	 st;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, &st, 0);
	*pid = 0;
}

static int
ld_alive(pid_t pid)
{
	int	 st;

	return (pid > 0 && waitpid(pid, &st, WNOHANG) == 0);
}

/*
 * MQTT: one client records everything under the base topic; waiting
 * runs its loop.
 */

static void
ld_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	if (rc == 0 && mosquitto_subscribe(m, NULL, "zt/#", 0) ==
	    MOSQ_ERR_SUCCESS)
		ld.connected = 1;
}

static void
ld_on_message(struct mosquitto *m, void *arg,
    const struct mosquitto_message *msg)
{
	struct ld_msg	*x;

	(void)m;
	(void)arg;
	if (ld.nmsgs == LD_MAX_MSGS)
		return;
	x = &ld.msgs[ld.nmsgs++];
	x->topic = strdup(msg->topic);
	if ((x->payload = malloc((size_t)msg->payloadlen + 1)) != NULL) {
		memcpy(x->payload, msg->payload, (size_t)msg->payloadlen);
		x->payload[msg->payloadlen] = '\0';
	}
}

static void
ld_pump(int ms)
{
	if (mosquitto_loop(ld.mosq, ms, 1) != MOSQ_ERR_SUCCESS) {
		struct timespec	 ts = { 0, (long)ms * 1000 * 1000 };

		/* The broker is away: try again, without spinning. */
		nanosleep(&ts, NULL);
		ld.connected = 0;
		mosquitto_reconnect(ld.mosq);
	}
}

/* The first message from index FROM on TOPIC holding TEXT, or -1. */
static int
ld_find(int from, const char *topic, const char *text)
{
	int	 i;

	for (i = from; i < ld.nmsgs; i++)
		if (strcmp(ld.msgs[i].topic, topic) == 0 &&
		    ld.msgs[i].payload != NULL && (text == NULL ||
		    strstr(ld.msgs[i].payload, text) != NULL))
			return (i);
	return (-1);
}

/* Wait for such a message; its index. */
static int
ld_wait_msg(int from, const char *topic, const char *text, int ms)
{
	struct timespec	 t0, t1;
	int		 i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if ((i = ld_find(from, topic, text)) != -1)
			return (i);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
		ld_pump(50);
	}
	fail_msg("nothing on %s holding \"%s\" within %d ms", topic,
	    text != NULL ? text : "", ms);
	return (-1);
}

static void
ld_publish(const char *topic, const char *payload)
{
	assert_int_equal(mosquitto_publish(ld.mosq, NULL, topic,
	    (int)strlen(payload), payload, 1, 0), MOSQ_ERR_SUCCESS);
}

/* Wait (running the client) until PATH holds NEEDLE COUNT times. */
static int
ld_wait_file(const char *path, const char *needle, int count, pid_t pid)
{
	int	 i;

	for (i = 0; i < LD_WAIT_MS / 50; i++) {
		if (ld_file_count(path, needle) >= count)
			return (1);
		if (pid > 0 && !ld_alive(pid))
			return (0);
		if (ld.mosq != NULL)
			ld_pump(50);
		else {
			struct timespec	 ts = { 0, 50 * 1000 * 1000 };

			nanosleep(&ts, NULL);
		}
	}
	return (0);
}

/*
 * The processes.
 */

static void
ld_start(enum ld_daemon d)
{
	char	 bin[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { bin, "-d", "-f", ld.conf, NULL };
	const char *b = getenv("BUILD");
	int	 before;

	snprintf(bin, sizeof(bin), "%s/bin/%s", b != NULL ? b : "build",
	    ld_names[d]);
	ld_log_path(d, log, sizeof(log));
	before = ld_file_count(log, ld_ready[d]);
	ld.pid[d] = ld_spawn(argv, log, 0);
	if (!ld_wait_file(log, ld_ready[d], before + 1, ld.pid[d]))
		fail_msg("%s did not start (see %s)", ld_names[d], log);
}

static void
ld_start_broker(void)
{
	char	 conf[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { "mosquitto", "-c", conf, NULL };

	ld_path(conf, sizeof(conf), "mosquitto.conf");
	ld_path(log, sizeof(log), "mosquitto.log");
	ld.broker = ld_spawn(argv, log, 0);
	if (!ld_wait_file(log, "running", 1, ld.broker))
		fail_msg("mosquitto did not start");
}

/* The HTTP server, in a child of its own with its own event loop. */
static void
ld_http_child(int fd)
{
	struct event_base	*base;
	struct thttpd		*h;
	cJSON			*arr, *e;
	char			 url[128], sha[SHA512_HEX_LEN + 1], *text;

	if ((base = event_base_new()) == NULL ||
	    (h = thttpd_new(base, &ld.http_port)) == NULL)
		_exit(1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/bulb.ota",
	    ld.http_port);
	util_sha512_hex(ld.image, ld.image_len, sha);
	arr = cJSON_CreateArray();
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "fileName", "bulb.ota");
	cJSON_AddNumberToObject(e, "fileVersion", LD_NEW);
	cJSON_AddNumberToObject(e, "fileSize", (double)ld.image_len);
	cJSON_AddStringToObject(e, "url", url);
	cJSON_AddNumberToObject(e, "imageType", LD_TYPE);
	cJSON_AddNumberToObject(e, "manufacturerCode", LD_MANUF);
	cJSON_AddStringToObject(e, "sha512", sha);
	cJSON_AddItemToArray(arr, e);
	text = cJSON_PrintUnformatted(arr);
	if (thttpd_route(h, "/index.json", text, strlen(text), THTTPD_OK) ||
	    thttpd_route(h, "/index1.json", "[]", 2, THTTPD_OK) ||
	    thttpd_route(h, "/bulb.ota", ld.image, ld.image_len, THTTPD_OK))
		_exit(1);
	if (write(fd, &ld.http_port, sizeof(ld.http_port)) !=
	    (ssize_t)sizeof(ld.http_port))
		_exit(1);
	close(fd);
	event_base_dispatch(base);
	_exit(0);
}

static void
ld_start_http(void)
{
	int	 p[2];

	assert_int_equal(pipe(p), 0);
	assert_true((ld.http = fork()) >= 0);
	if (ld.http == 0) {
		close(p[0]);
		ld_http_child(p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &ld.http_port, sizeof(ld.http_port)),
	    (ssize_t)sizeof(ld.http_port));
	close(p[0]);
}

static void
ld_start_sim(void)
{
	char	 bin[PATH_MAX], scen[PATH_MAX], tty[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { bin, "--scenario", scen, "--pty", tty,
	    "--events", ld.events, "--control", ld.ctl, NULL };
	const char *b = getenv("BUILD");

	snprintf(bin, sizeof(bin), "%s/bin/zotad-sim", b != NULL ? b :
	    "build");
	ld_path(scen, sizeof(scen), "scenario.json");
	ld_path(tty, sizeof(tty), "tty");
	ld_path(log, sizeof(log), "sim.log");
	ld.sim = ld_spawn(argv, log, 1);
	if (!ld_wait_file(ld.events, "\"ev\":\"start\"", 1, ld.sim))
		fail_msg("zotad-sim did not start");
}

static void
ld_make_image(void)
{
	struct ota_make_params	 p;

	memset(&p, 0, sizeof(p));
	p.manufacturer_code = LD_MANUF;
	p.image_type = LD_TYPE;
	p.file_version = LD_NEW;
	p.stack_version = OTA_STACK_PRO;
	p.total_size = LD_IMAGE_SIZE;
	p.seed = 11;
	assert_int_equal(ota_make(&p, &ld.image, &ld.image_len), 0);
	ld_write("expected.ota", ld.image, ld.image_len);
}

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

	ld_path(path, sizeof(path), "scenario.json");
	assert_non_null(scen = fopen(path, "w"));
	ld_path(path, sizeof(path), "database.db");
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
		    i > 0 ? ", " : "", i, ieee, 0x1000 + i, LD_MANUF, LD_TYPE);
		fprintf(db, "{\"id\":%d,\"type\":\"Router\",\"ieeeAddr\":"
		    "\"%s\",\"nwkAddr\":%d,\"manufId\":%d,\"powerSource\":"
		    "\"Mains (single phase)\",\"swBuildId\":\"1.0\","
		    "\"endpoints\":{\"11\":{\"profId\":260,\"inClusterList\":"
		    "[0,6],\"outClusterList\":[25]}},\"interviewCompleted\":"
		    "true}\n", i + 2, ieee, 0x1000 + i, LD_MANUF);
	}
	fprintf(scen, "]}\n");
	assert_int_equal(fclose(scen), 0);
	assert_int_equal(fclose(db), 0);
}

/* The directories and files every test starts from. */
static void
ld_prepare(void)
{
	char	 path[PATH_MAX];

	memset(&ld, 0, sizeof(ld));
	snprintf(ld.dir, sizeof(ld.dir), "/tmp/zotad-load.XXXXXX");
	assert_non_null(mkdtemp(ld.dir));
	assert_int_equal(chmod(ld.dir, 0777), 0);
	/* zotad-fetch, as nobody, writes in both. */
	ld_path(path, sizeof(path), "cache");
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	ld_path(path, sizeof(path), "state");
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	ld_path(ld.conf, sizeof(ld.conf), "configuration.yaml");
	ld_path(ld.events, sizeof(ld.events), "events.jsonl");
	ld_path(ld.ctl, sizeof(ld.ctl), "ctl.sock");
	ld_make_image();
	ld_write_network();
	ld.mqtt_port = 0;
}

static int
ld_free_port(void)
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
ld_write_configs(void)
{
	char	 text[4 * PATH_MAX];

	ld.mqtt_port = ld_free_port();
	snprintf(text, sizeof(text), "listener %d 127.0.0.1\n"
	    "allow_anonymous true\npersistence false\n", ld.mqtt_port);
	ld_write_text("mosquitto.conf", text);
	snprintf(text, sizeof(text), "mqtt:\n  base_topic: zt\n"
	    "  server: mqtt://127.0.0.1:%d\n"
	    "serial:\n  port: %s/tty\n"
	    "ota:\n  disable_automatic_update_check: true\n"
	    "zotad:\n  state_dir: %s/state\n  run_dir: %s/run\n"
	    "  cache_dir: %s/cache\n"
	    "  index_url: http://127.0.0.1:%u/index.json\n"
	    "  downgrade_index_url: http://127.0.0.1:%u/index1.json\n"
	    "  fetch_timeout: 30\n  max_concurrent_updates: %d\n"
	    "  user_radio: nobody\n  user_fetch: nobody\n"
	    "  user_mqtt: nobody\n", ld.mqtt_port, ld.dir, ld.dir, ld.dir,
	    ld.dir, ld.http_port, ld.http_port, LD_CONCURRENT);
	ld_write_text("configuration.yaml", text);
}

static void
ld_connect_client(void)
{
	int	 i;

	mosquitto_lib_init();
	assert_non_null(ld.mosq = mosquitto_new("load", 1, NULL));
	mosquitto_connect_callback_set(ld.mosq, ld_on_connect);
	mosquitto_message_callback_set(ld.mosq, ld_on_message);
	assert_int_equal(mosquitto_connect(ld.mosq, "127.0.0.1",
	    ld.mqtt_port, 30), MOSQ_ERR_SUCCESS);
	for (i = 0; i < LD_WAIT_MS / 50 && !ld.connected; i++)
		ld_pump(50);
	assert_true(ld.connected);
}

/*
 * Everything up, with the HTTP server as chosen beforehand, until
 * zotad-mqtt publishes a device list holding DEVICES.
 */
static void
ld_run_until(const char *devices)
{
	ld_start_http();
	ld_write_configs();
	ld_start_broker();
	ld_start_sim();
	ld_start(LD_RADIO);
	ld_start(LD_FETCH);
	ld_start(LD_MQTT);
	ld_connect_client();
	/* zotad-mqtt has published the device list: it is serving. */
	ld_wait_msg(0, "zt/bridge/devices", devices, LD_WAIT_MS);
}

static void
ld_run(void)
{
	char	 last[32];

	ld_ieee(LD_DEVICES - 1, last, sizeof(last));
	ld_run_until(last);
}

static int
ld_setup(void **state)
{
	(void)state;
	ld_prepare();
	return (0);
}

static int
ld_teardown(void **state)
{
	char	 cmd[PATH_MAX];
	int	 i;

	(void)state;
	if (ld.mosq != NULL) {
		mosquitto_destroy(ld.mosq);
		mosquitto_lib_cleanup();
	}
	for (i = LD_NDAEMONS - 1; i >= 0; i--)
		ld_stop(&ld.pid[i], SIGTERM);
	ld_stop(&ld.sim, SIGTERM);
	ld_stop(&ld.broker, SIGTERM);
	ld_stop(&ld.http, SIGTERM);
	for (i = 0; i < ld.nmsgs; i++) {
		free(ld.msgs[i].topic);
		free(ld.msgs[i].payload);
	}
	free(ld.image);
	if (getenv("ZOTAD_KEEP_TEST_DIR") != NULL)
		print_message("# kept %s\n", ld.dir);
	else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ld.dir);
		if (system(cmd) != 0)
			print_message("# could not remove %s\n", ld.dir);
	}
	return (0);
}

/*
 * Measuring.
 */

static double
ld_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

/* Resident memory of PID in KiB, from /proc. */
static long
ld_rss(pid_t pid)
{
	char	 path[64], line[256];
	FILE	*f;
	long	 kb = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	assert_non_null(f = fopen(path, "r"));
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	assert_true(kb > 0);
	return (kb);
}

static void
ld_rss_all(long kb[LD_NDAEMONS], const char *when)
{
	int	 d;

	for (d = 0; d < LD_NDAEMONS; d++) {
		kb[d] = ld_rss(ld.pid[d]);
		print_message("# %-12s RSS %6ld KiB %s\n", ld_names[d], kb[d],
		    when);
	}
}

/* Messages on TOPIC from index FROM. */
static int
ld_count(int from, const char *topic)
{
	int	 i, n = 0;

	for (i = from; i < ld.nmsgs; i++)
		n += strcmp(ld.msgs[i].topic, topic) == 0;
	return (n);
}

/* Run the client until N messages on TOPIC arrived after FROM. */
static void
ld_wait_count(int from, const char *topic, int n)
{
	double	 t0 = ld_now();

	while (ld_count(from, topic) < n) {
		if (ld_now() - t0 > LD_WAIT_MS / 1000)
			fail_msg("%d of %d answers on %s", ld_count(from,
			    topic), n, topic);
		ld_pump(50);
	}
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
	for (i = from; i < ld.nmsgs; i++) {
		if (strcmp(ld.msgs[i].topic, topic) != 0)
			continue;
		assert_non_null(o = cJSON_Parse(ld.msgs[i].payload));
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
			    ld.msgs[i].payload);
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
	int	 from = ld.nmsgs, i;

	t0 = ld_now();
	for (i = 0; i < LD_BURST; i++) {
		ld_ieee(i % LD_DEVICES, ieee, sizeof(ieee));
		snprintf(payload, sizeof(payload), "{\"id\": \"%s\", "
		    "\"transaction\": \"%s%d\"}", ieee, prefix, i);
		ld_publish(LD_REQ "check", payload);
	}
	ld_wait_count(from, LD_RSP "check", LD_BURST);
	print_message("# %d checks answered in %.2f s\n", LD_BURST,
	    ld_now() - t0);
	ld_assert_answers(from, LD_RSP "check", prefix, LD_BURST, 1);
}

/* Ten updates transferring at once; all complete. */
static void
ld_updates(void)
{
	char	 payload[256], ieee[32];
	double	 t0;
	int	 from = ld.nmsgs, i;

	t0 = ld_now();
	for (i = 0; i < LD_UPDATES; i++) {
		ld_ieee(i, ieee, sizeof(ieee));
		snprintf(payload, sizeof(payload), "{\"id\": \"%s\", "
		    "\"transaction\": \"u%d\", "
		    "\"image_block_response_delay\": 50}", ieee, i);
		ld_publish(LD_REQ "update", payload);
	}
	ld_wait_count(from, LD_RSP "update", LD_UPDATES);
	print_message("# %d updates of %d bytes done in %.2f s\n",
	    LD_UPDATES, LD_IMAGE_SIZE, ld_now() - t0);
	ld_assert_answers(from, LD_RSP "update", "u", LD_UPDATES, 1);
	/* Each device checked what it got against the image. */
	assert_int_equal(ld_file_count(ld.events, "\"ok\":true"),
	    LD_UPDATES);
	assert_int_equal(ld_file_count(ld.events, "\"ok\":false"), 0);
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
	long	 base[LD_NDAEMONS], first[LD_NDAEMONS], second[LD_NDAEMONS];
	long	 slack;
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
	for (d = 0; d < LD_NDAEMONS; d++) {
		slack = first[d] / 10 > 1024 ? first[d] / 10 : 1024;
		if (second[d] > first[d] + slack)
			fail_msg("%s grew from %ld to %ld KiB over %d more "
			    "requests", ld_names[d], first[d], second[d],
			    LD_BURST);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_load, ld_setup,
		    ld_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
