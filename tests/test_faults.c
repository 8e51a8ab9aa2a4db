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

#include <sys/mount.h>
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

#define FT_WAIT_MS	60000
#define FT_BULB		"0x00124b00beef0001"
#define FT_MANUF	4107
#define FT_TYPE		256
#define FT_OLD		100
#define FT_NEW		200
#define FT_IMAGE_SIZE	4096
#define FT_MAX_MSGS	4096
#define FT_REQ		"zt/bridge/request/device/ota_update/"
#define FT_RSP		"zt/bridge/response/device/ota_update/"
#define FT_UPDATE	"{\"id\": \"bulb\", \"transaction\": \"t1\", " \
			"\"image_block_response_delay\": 50}"

enum ft_daemon { FT_RADIO, FT_FETCH, FT_MQTT, FT_NDAEMONS };

static const char *const ft_names[FT_NDAEMONS] = {
	"zotad-radio", "zotad-fetch", "zotad-mqtt"
};
static const char *const ft_ready[FT_NDAEMONS] = {
	"adapter up", "zotad-fetch: ready", "connected to zotad-radio"
};

struct ft_msg {
	char	*topic;
	char	*payload;
};

struct ft {
	char		 dir[64];
	char		 conf[PATH_MAX];
	char		 events[PATH_MAX];
	char		 ctl[PATH_MAX];
	int		 mqtt_port;
	uint16_t	 http_port;
	pid_t		 broker, http, sim, pid[FT_NDAEMONS];
	const char	*tmpfs;		/* a directory on a small tmpfs */
	uint8_t		*image;
	size_t		 image_len;
	struct mosquitto *mosq;
	int		 connected;
	struct ft_msg	 msgs[FT_MAX_MSGS];
	int		 nmsgs;
	/* What the HTTP server does, chosen before it starts. */
	enum thttpd_fault image_fault;
	int		 wrong_sha;
};

static struct ft	 ft;

static void
ft_path(char *out, size_t len, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", ft.dir, name) >= len)
		fail_msg("path too long: %s/%s", ft.dir, name);
}

static void
ft_write(const char *name, const void *p, size_t len)
{
	char	 path[PATH_MAX];
	FILE	*f;

	ft_path(path, sizeof(path), name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
ft_write_text(const char *name, const char *text)
{
	ft_write(name, text, strlen(text));
}

static int
ft_file_count(const char *path, const char *needle)
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
ft_log_path(enum ft_daemon d, char *out, size_t len)
{
	char	 name[64];

	snprintf(name, sizeof(name), "%s.log", ft_names[d]);
	ft_path(out, len, name);
}

static pid_t
ft_spawn(char *const argv[], const char *errfile, int as_nobody)
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
ft_stop(pid_t *pid, int sig)
{
	int	 st;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, &st, 0);
	*pid = 0;
}

static int
ft_alive(pid_t pid)
{
	int	 st;

	return (pid > 0 && waitpid(pid, &st, WNOHANG) == 0);
}

/*
 * MQTT: one client records everything under the base topic; waiting
 * runs its loop.
 */

static void
ft_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	if (rc == 0 && mosquitto_subscribe(m, NULL, "zt/#", 0) ==
	    MOSQ_ERR_SUCCESS)
		ft.connected = 1;
}

static void
ft_on_message(struct mosquitto *m, void *arg,
    const struct mosquitto_message *msg)
{
	struct ft_msg	*x;

	(void)m;
	(void)arg;
	if (ft.nmsgs == FT_MAX_MSGS)
		return;
	x = &ft.msgs[ft.nmsgs++];
	x->topic = strdup(msg->topic);
	if ((x->payload = malloc((size_t)msg->payloadlen + 1)) != NULL) {
		memcpy(x->payload, msg->payload, (size_t)msg->payloadlen);
		x->payload[msg->payloadlen] = '\0';
	}
}

static void
ft_pump(int ms)
{
	if (mosquitto_loop(ft.mosq, ms, 1) != MOSQ_ERR_SUCCESS) {
		struct timespec	 ts = { 0, (long)ms * 1000 * 1000 };

		/* The broker is away: try again, without spinning. */
		nanosleep(&ts, NULL);
		ft.connected = 0;
		mosquitto_reconnect(ft.mosq);
	}
}

/* The first message from index FROM on TOPIC holding TEXT, or -1. */
static int
ft_find(int from, const char *topic, const char *text)
{
	int	 i;

	for (i = from; i < ft.nmsgs; i++)
		if (strcmp(ft.msgs[i].topic, topic) == 0 &&
		    ft.msgs[i].payload != NULL && (text == NULL ||
		    strstr(ft.msgs[i].payload, text) != NULL))
			return (i);
	return (-1);
}

/* Wait for such a message; its index. */
static int
ft_wait_msg(int from, const char *topic, const char *text, int ms)
{
	struct timespec	 t0, t1;
	int		 i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if ((i = ft_find(from, topic, text)) != -1)
			return (i);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if ((t1.tv_sec - t0.tv_sec) * 1000 +
		    (t1.tv_nsec - t0.tv_nsec) / 1000000 > ms)
			break;
		ft_pump(50);
	}
	fail_msg("nothing on %s holding \"%s\" within %d ms", topic,
	    text != NULL ? text : "", ms);
	return (-1);
}

static void
ft_publish(const char *topic, const char *payload)
{
	assert_int_equal(mosquitto_publish(ft.mosq, NULL, topic,
	    (int)strlen(payload), payload, 1, 0), MOSQ_ERR_SUCCESS);
}

/* Wait (running the client) until PATH holds NEEDLE COUNT times. */
static int
ft_wait_file(const char *path, const char *needle, int count, pid_t pid)
{
	int	 i;

	for (i = 0; i < FT_WAIT_MS / 50; i++) {
		if (ft_file_count(path, needle) >= count)
			return (1);
		if (pid > 0 && !ft_alive(pid))
			return (0);
		if (ft.mosq != NULL)
			ft_pump(50);
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
ft_start(enum ft_daemon d)
{
	char	 bin[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { bin, "-d", "-f", ft.conf, NULL };
	const char *b = getenv("BUILD");
	int	 before;

	snprintf(bin, sizeof(bin), "%s/bin/%s", b != NULL ? b : "build",
	    ft_names[d]);
	ft_log_path(d, log, sizeof(log));
	before = ft_file_count(log, ft_ready[d]);
	ft.pid[d] = ft_spawn(argv, log, 0);
	if (!ft_wait_file(log, ft_ready[d], before + 1, ft.pid[d]))
		fail_msg("%s did not start (see %s)", ft_names[d], log);
}

static void
ft_start_broker(void)
{
	char	 conf[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { "mosquitto", "-c", conf, NULL };

	ft_path(conf, sizeof(conf), "mosquitto.conf");
	ft_path(log, sizeof(log), "mosquitto.log");
	ft.broker = ft_spawn(argv, log, 0);
	if (!ft_wait_file(log, "running", 1, ft.broker))
		fail_msg("mosquitto did not start");
}

/* The HTTP server, in a child of its own with its own event loop. */
static void
ft_http_child(int fd)
{
	struct event_base	*base;
	struct thttpd		*h;
	cJSON			*arr, *e;
	char			 url[128], sha[SHA512_HEX_LEN + 1], *text;

	if ((base = event_base_new()) == NULL ||
	    (h = thttpd_new(base, &ft.http_port)) == NULL)
		_exit(1);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/bulb.ota",
	    ft.http_port);
	if (ft.wrong_sha)
		util_sha512_hex("another image", 13, sha);
	else
		util_sha512_hex(ft.image, ft.image_len, sha);
	arr = cJSON_CreateArray();
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "fileName", "bulb.ota");
	cJSON_AddNumberToObject(e, "fileVersion", FT_NEW);
	cJSON_AddNumberToObject(e, "fileSize", (double)ft.image_len);
	cJSON_AddStringToObject(e, "url", url);
	cJSON_AddNumberToObject(e, "imageType", FT_TYPE);
	cJSON_AddNumberToObject(e, "manufacturerCode", FT_MANUF);
	cJSON_AddStringToObject(e, "sha512", sha);
	cJSON_AddItemToArray(arr, e);
	text = cJSON_PrintUnformatted(arr);
	if (thttpd_route(h, "/index.json", text, strlen(text), THTTPD_OK) ||
	    thttpd_route(h, "/index1.json", "[]", 2, THTTPD_OK) ||
	    thttpd_route(h, "/bulb.ota", ft.image, ft.image_len,
	    ft.image_fault))
		_exit(1);
	if (write(fd, &ft.http_port, sizeof(ft.http_port)) !=
	    (ssize_t)sizeof(ft.http_port))
		_exit(1);
	close(fd);
	event_base_dispatch(base);
	_exit(0);
}

static void
ft_start_http(void)
{
	int	 p[2];

	assert_int_equal(pipe(p), 0);
	assert_true((ft.http = fork()) >= 0);
	if (ft.http == 0) {
		close(p[0]);
		ft_http_child(p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &ft.http_port, sizeof(ft.http_port)),
	    (ssize_t)sizeof(ft.http_port));
	close(p[0]);
}

static void
ft_start_sim(void)
{
	char	 bin[PATH_MAX], scen[PATH_MAX], tty[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { bin, "--scenario", scen, "--pty", tty,
	    "--events", ft.events, "--control", ft.ctl, NULL };
	const char *b = getenv("BUILD");

	snprintf(bin, sizeof(bin), "%s/bin/zotad-sim", b != NULL ? b :
	    "build");
	ft_path(scen, sizeof(scen), "scenario.json");
	ft_path(tty, sizeof(tty), "tty");
	ft_path(log, sizeof(log), "sim.log");
	ft.sim = ft_spawn(argv, log, 1);
	if (!ft_wait_file(ft.events, "\"ev\":\"start\"", 1, ft.sim))
		fail_msg("zotad-sim did not start");
}

static void
ft_make_image(void)
{
	struct ota_make_params	 p;

	memset(&p, 0, sizeof(p));
	p.manufacturer_code = FT_MANUF;
	p.image_type = FT_TYPE;
	p.file_version = FT_NEW;
	p.stack_version = OTA_STACK_PRO;
	p.total_size = FT_IMAGE_SIZE;
	p.seed = 11;
	assert_int_equal(ota_make(&p, &ft.image, &ft.image_len), 0);
	ft_write("expected.ota", ft.image, ft.image_len);
}

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

/* The directories and files every test starts from. */
static void
ft_prepare(void)
{
	char	 path[PATH_MAX];

	memset(&ft, 0, sizeof(ft));
	snprintf(ft.dir, sizeof(ft.dir), "/tmp/zotad-faults.XXXXXX");
	assert_non_null(mkdtemp(ft.dir));
	assert_int_equal(chmod(ft.dir, 0777), 0);
	/* zotad-fetch, as nobody, writes in both. */
	ft_path(path, sizeof(path), "cache");
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	ft_path(path, sizeof(path), "state");
	assert_int_equal(mkdir(path, 0777), 0);
	assert_int_equal(chmod(path, 0777), 0);
	ft_path(ft.conf, sizeof(ft.conf), "configuration.yaml");
	ft_path(ft.events, sizeof(ft.events), "events.jsonl");
	ft_path(ft.ctl, sizeof(ft.ctl), "ctl.sock");
	ft_make_image();
	ft_write_text("scenario.json", ft_scenario);
	ft_write_text("database.db", ft_database);
	ft.mqtt_port = 0;
}

static int
ft_free_port(void)
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
ft_write_configs(void)
{
	char	 text[4 * PATH_MAX];

	ft.mqtt_port = ft_free_port();
	snprintf(text, sizeof(text), "listener %d 127.0.0.1\n"
	    "allow_anonymous true\npersistence false\n", ft.mqtt_port);
	ft_write_text("mosquitto.conf", text);
	snprintf(text, sizeof(text), "mqtt:\n  base_topic: zt\n"
	    "  server: mqtt://127.0.0.1:%d\n"
	    "serial:\n  port: %s/tty\n"
	    "devices:\n  '" FT_BULB "':\n    friendly_name: bulb\n"
	    "ota:\n  disable_automatic_update_check: true\n"
	    "zotad:\n  state_dir: %s/state\n  run_dir: %s/run\n"
	    "  cache_dir: %s/cache\n"
	    "  index_url: http://127.0.0.1:%u/index.json\n"
	    "  downgrade_index_url: http://127.0.0.1:%u/index1.json\n"
	    "  fetch_timeout: 5\n"
	    "  user_radio: nobody\n  user_fetch: nobody\n"
	    "  user_mqtt: nobody\n", ft.mqtt_port, ft.dir, ft.dir, ft.dir,
	    ft.dir, ft.http_port, ft.http_port);
	ft_write_text("configuration.yaml", text);
}

static void
ft_connect_client(void)
{
	int	 i;

	mosquitto_lib_init();
	assert_non_null(ft.mosq = mosquitto_new("faults", 1, NULL));
	mosquitto_connect_callback_set(ft.mosq, ft_on_connect);
	mosquitto_message_callback_set(ft.mosq, ft_on_message);
	assert_int_equal(mosquitto_connect(ft.mosq, "127.0.0.1",
	    ft.mqtt_port, 30), MOSQ_ERR_SUCCESS);
	for (i = 0; i < FT_WAIT_MS / 50 && !ft.connected; i++)
		ft_pump(50);
	assert_true(ft.connected);
}

/*
 * Everything up, with the HTTP server as chosen in ft beforehand, until
 * zotad-mqtt publishes a device list holding DEVICES.
 */
static void
ft_run_until(const char *devices)
{
	ft_start_http();
	ft_write_configs();
	ft_start_broker();
	ft_start_sim();
	ft_start(FT_RADIO);
	ft_start(FT_FETCH);
	ft_start(FT_MQTT);
	ft_connect_client();
	/* zotad-mqtt has published the device list: it is serving. */
	ft_wait_msg(0, "zt/bridge/devices", devices, FT_WAIT_MS);
}

static void
ft_run(void)
{
	ft_run_until(FT_BULB);
}

static int
ft_setup(void **state)
{
	(void)state;
	ft_prepare();
	ft.image_fault = THTTPD_OK;
	return (0);
}

static int
ft_teardown(void **state)
{
	char	 cmd[PATH_MAX], path[PATH_MAX];
	int	 i;

	(void)state;
	if (ft.mosq != NULL) {
		mosquitto_destroy(ft.mosq);
		mosquitto_lib_cleanup();
	}
	for (i = FT_NDAEMONS - 1; i >= 0; i--)
		ft_stop(&ft.pid[i], SIGTERM);
	ft_stop(&ft.sim, SIGTERM);
	ft_stop(&ft.broker, SIGTERM);
	ft_stop(&ft.http, SIGTERM);
	for (i = 0; i < ft.nmsgs; i++) {
		free(ft.msgs[i].topic);
		free(ft.msgs[i].payload);
	}
	if (ft.tmpfs != NULL) {
		ft_path(path, sizeof(path), ft.tmpfs);
		umount(path);
	}
	free(ft.image);
	if (getenv("ZOTAD_KEEP_TEST_DIR") != NULL)
		print_message("# kept %s\n", ft.dir);
	else {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", ft.dir);
		if (system(cmd) != 0)
			print_message("# could not remove %s\n", ft.dir);
	}
	return (0);
}

/*
 * What the user and the disk must show.
 */

/* Ask for the update; the index of the first message after asking. */
static int
ft_request_update(void)
{
	int	 from = ft.nmsgs;

	ft_publish(FT_REQ "update", FT_UPDATE);
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
	if (!ft_wait_file(ft.events, needle, 1, ft.sim))
		fail_msg("the bulb never got a quarter of the image");
}

/* The answer to the update request made at FROM: its error, or NULL. */
static char *
ft_update_answer(int from, int ms)
{
	const cJSON	*st, *err;
	cJSON		*o;
	char		*why = NULL;
	int		 i;

	i = ft_wait_msg(from, FT_RSP "update", "\"t1\"", ms);
	assert_non_null(o = cJSON_Parse(ft.msgs[i].payload));
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
	if (!ft_wait_file(ft.events, "\"ok\":true", 1, 0) ||
	    !ft_wait_file(ft.events, "\"ev\":\"reboot\"", 1, 0))
		fail_msg("the bulb never verified and ran the new image");
	ft_wait_msg(from, "zt/bulb", "\"installed_version\":200",
	    FT_WAIT_MS);
}

/* Every JSON file in the state dir parses; no temporary file remains. */
static void
ft_assert_state_whole(void)
{
	char		 dir[PATH_MAX], path[2 * PATH_MAX];
	struct dirent	*de;
	uint8_t		*buf;
	size_t		 len, nl;
	cJSON		*o;
	DIR		*d;

	ft_path(dir, sizeof(dir), "state");
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (de->d_name[0] == '.' && (nl == 1 || (nl == 2 &&
		    de->d_name[1] == '.')))
			continue;
		if (strstr(de->d_name, "tmp") != NULL)
			fail_msg("a temporary file was left: %s", de->d_name);
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
	if (len == ft.image_len && memcmp(buf, ft.image, len) == 0)
		ft_walk_same = 1;
	else if (ota_parse(buf, len, &img, err, sizeof(err)) == 0)
		snprintf(ft_walk_bad, sizeof(ft_walk_bad), "%s", path);
	free(buf);
	return (0);
}

static void
ft_walk_cache(void)
{
	char		 dir[PATH_MAX];

	struct timespec	 ts = { 0, 100 * 1000 * 1000 };
	int		 i;

	ft_path(dir, sizeof(dir), "cache");
	/* zotad-fetch may be removing a temporary file as we look. */
	for (i = 0; i < 10; i++) {
		ft_walk_same = 0;
		ft_walk_bad[0] = '\0';
		if (nftw(dir, ft_walk_cb, 8, FTW_PHYS) == 0)
			return;
		nanosleep(&ts, NULL);
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

static void
ft_assert_alive_but(int killed)
{
	int	 d;

	for (d = 0; d < FT_NDAEMONS; d++)
		if (d != killed && !ft_alive(ft.pid[d]))
			fail_msg("%s died", ft_names[d]);
}

/* One command to the simulator's control socket; 0 when it said ok. */
static int
ft_sim_ctl(const char *cmd)
{
	struct passwd		*pw = getpwnam("nobody");
	struct sockaddr_un	 sun;
	char			 buf[256];
	pid_t			 pid;
	ssize_t			 n;
	int			 fd, st;

	assert_non_null(pw);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		/* The simulator answers only its own user. */
		if (getuid() == 0 && (setgid(pw->pw_gid) == -1 ||
		    setuid(pw->pw_uid) == -1))
			_exit(2);
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
		    ft.ctl) >= sizeof(sun.sun_path) ||
		    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
		    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
			_exit(3);
		snprintf(buf, sizeof(buf), "%s\n", cmd);
		if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf))
			_exit(4);
		n = read(fd, buf, sizeof(buf) - 1);
		_exit(n >= 2 && strncmp(buf, "ok", 2) == 0 ? 0 : 5);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1);
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
	assert_null(ft_update_answer(from, FT_WAIT_MS));
	ft_assert_updated(from);
	ft_assert_state_whole();
	ft_assert_cached();
	ft_assert_cache_verified();
}

/* SIGKILL DAEMON at a quarter of the transfer, then start it again. */
static char *
ft_kill_mid_update(enum ft_daemon d, int *from)
{
	*from = ft_request_update();
	ft_wait_quarter();
	ft_stop(&ft.pid[d], SIGKILL);
	ft_assert_alive_but(d);
	ft_start(d);
	return (NULL);
}

static void
t_kill_radio(void **state)
{
	char	*why;
	int	 from;

	(void)state;
	ft_run();
	ft_kill_mid_update(FT_RADIO, &from);
	/* The request was cut: the user is told, clearly. */
	why = ft_update_answer(from, FT_WAIT_MS);
	assert_non_null(why);
	print_message("# update answer after zotad-radio died: %s\n", why);
	free(why);
	/* The transfer was saved; the device asks again and is served. */
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
	if (!ft_wait_file(ft.events, "\"ev\":\"ota_end_response\"", 1,
	    ft.sim))
		fail_msg("the bulb never got its Upgrade End Response");
	ft_stop(&ft.pid[FT_RADIO], SIGKILL);
	ft_assert_alive_but(FT_RADIO);
	ft_start(FT_RADIO);
	why = ft_update_answer(from, FT_WAIT_MS);
	free(why);
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
	ft_kill_mid_update(FT_FETCH, &from);
	/* zotad-radio holds the image: the update is not disturbed. */
	why = ft_update_answer(from, FT_WAIT_MS);
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
	ft_kill_mid_update(FT_MQTT, &from);
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
	ft_log_path(FT_RADIO, log, sizeof(log));
	ups = ft_file_count(log, "adapter up");
	from = ft_request_update();
	ft_wait_quarter();
	assert_int_equal(ft_sim_ctl("unplug"), 0);
	if (!ft_wait_file(ft.events, "\"ev\":\"unplug\"", 1, ft.sim))
		fail_msg("the simulator did not unplug");
	assert_int_equal(ft_sim_ctl("replug"), 0);
	if (!ft_wait_file(log, "adapter up", ups + 1, ft.pid[FT_RADIO]))
		fail_msg("zotad-radio never got the adapter back");
	why = ft_update_answer(from, FT_WAIT_MS);
	if (why != NULL)
		fail_msg("the update failed across the replug: %s", why);
	ft_assert_updated(from);
	ft_assert_alive_but(-1);
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
	ft_log_path(FT_MQTT, log, sizeof(log));
	conns = ft_file_count(log, "connected to broker");
	from = ft_request_update();
	ft_wait_quarter();
	ft_stop(&ft.broker, SIGTERM);
	ft_start_broker();
	if (!ft_wait_file(log, "connected to broker", conns + 1,
	    ft.pid[FT_MQTT]))
		fail_msg("zotad-mqtt never came back to the broker");
	/* The transfer went on meanwhile; its answer and state arrive. */
	why = ft_update_answer(from, FT_WAIT_MS);
	if (why != NULL)
		fail_msg("the update failed: %s", why);
	ft_assert_updated(from);
	ft_assert_alive_but(-1);
	ft_assert_state_whole();
}

/* The image download fails as FAULT: the user is told, nothing kept. */
static void
ft_http_fault(enum thttpd_fault fault, int wrong_sha, const char *says)
{
	char	*why;
	int	 from;

	ft.image_fault = fault;
	ft.wrong_sha = wrong_sha;
	ft_run();
	from = ft_request_update();
	why = ft_update_answer(from, FT_WAIT_MS);
	if (why == NULL)
		fail_msg("an update from a failing server succeeded");
	if (strstr(why, "OTA update of 'bulb' failed") == NULL ||
	    strstr(why, says) == NULL)
		fail_msg("the user sees \"%s\", which does not say \"%s\"",
		    why, says);
	free(why);
	assert_int_equal(ft_file_count(ft.events, "\"ev\":\"block\""), 0);
	ft_assert_cache_verified();
	ft_walk_cache();
	assert_false(ft_walk_same && (fault != THTTPD_OK || wrong_sha));
	ft_assert_alive_but(-1);
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

/* Mount a tmpfs of SIZE bytes on NAME; 0, or -1 (and skip) if denied. */
static void
ft_small_disk(const char *name, const char *size)
{
	char	 path[PATH_MAX], opts[64];

	ft_path(path, sizeof(path), name);
	snprintf(opts, sizeof(opts), "size=%s,mode=0777", size);
	if (mount("tmpfs", path, "tmpfs", 0, opts) == -1) {
		print_message("# cannot mount a small tmpfs here (%s): "
		    "no full disk to test on\n", strerror(errno));
		skip();
	}
	ft.tmpfs = name;
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
	ft_small_disk("cache", "8k");
	ft_run();
	from = ft_request_update();
	why = ft_update_answer(from, FT_WAIT_MS);
	if (why != NULL)
		print_message("# with a full cache the user sees: %s\n", why);
	else
		ft_assert_updated(from);
	free(why);
	ft_assert_cache_verified();
	ft_assert_alive_but(-1);
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
	ft_small_disk("state", "8k");
	ft_run();
	from = ft_request_update();
	why = ft_update_answer(from, FT_WAIT_MS);
	if (why != NULL)
		print_message("# with a full state dir the user sees: %s\n",
		    why);
	else
		ft_assert_updated(from);
	free(why);
	ft_log_path(FT_RADIO, log, sizeof(log));
	if (ft_file_count(log, "No space left on device") == 0)
		fail_msg("zotad-radio never said the state dir is full");
	ft_assert_alive_but(-1);
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
	ft_write("state/devices.json", torn, sizeof(torn) - 1);
	ft_run_until(NULL);
	ft_log_path(FT_RADIO, log, sizeof(log));
	if (ft_file_count(log, "devices.json") == 0)
		fail_msg("zotad-radio did not name the torn file");
	from = ft_request_update();
	why = ft_update_answer(from, FT_WAIT_MS);
	assert_non_null(why);
	if (strstr(why, "bulb") == NULL)
		fail_msg("the answer \"%s\" does not name the device", why);
	free(why);
	ft_path(path, sizeof(path), "state/devices.json");
	assert_int_equal(util_read_file(path, 4096, &buf, &len), 0);
	assert_int_equal(len, sizeof(torn) - 1);
	assert_memory_equal(buf, torn, len);
	free(buf);
	ft_assert_alive_but(-1);
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
	ft_write_text("state/ota.json", ota);
	free(ota);
	ft_write_text("state/ota-00124b00beef0001.img", "not an image");
	ft_write_text("state/fetch-lastcheck.json", "{\"devices\": {\""
	    FT_BULB "\": -1e308, \"0x1\": 5, \"x\": \"y\"}, "
	    "\"devices\": 7}");
	ft_run();
	from = ft_request_update();
	assert_null(ft_update_answer(from, FT_WAIT_MS));
	ft_assert_updated(from);
	ft_assert_alive_but(-1);
	ft_assert_state_whole();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_no_fault, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_kill_radio, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_kill_radio_at_end, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_kill_fetch, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_kill_mqtt, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_unplug_replug, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_broker_restart, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_http_404, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_http_500, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_http_truncated, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_http_stalled, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_http_wrong_sha, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_cache_full, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_state_full, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_state_torn, ft_setup,
		    ft_teardown),
		cmocka_unit_test_setup_teardown(t_state_hostile, ft_setup,
		    ft_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	/* One test alone, by name, when looking into a failure. */
	if (getenv("ZOTAD_TEST_ONLY") != NULL)
		cmocka_set_test_filter(getenv("ZOTAD_TEST_ONLY"));
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
