/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The harness of the tests that run the real programs together; see
 * suite.h.
 */

#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <mosquitto.h>

#include "otafile.h"
#include "util.h"

#include "suite.h"

#define SUITE_WAIT_MS	20000	/* unless the test says otherwise */
#define SUITE_POLL_MS	50
#define SUITE_CLOSED	9	/* the discard port: nobody listens */

struct suite	 suite;

const char *const suite_names[SUITE_NDAEMONS] = {
	"zotad-radio", "zotad-fetch", "zotad-mqtt"
};

/* What each daemon logs once it runs confined. */
static const char *const suite_ready[SUITE_NDAEMONS] = {
	"adapter up", "zotad-fetch: ready", "connected to zotad-radio"
};

/*
 * Files and processes.
 */

void
suite_path(char *out, size_t len, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", suite.dir, name) >= len)
		fail_msg("path too long: %s/%s", suite.dir, name);
}

void
suite_bin(char *out, size_t len, const char *name)
{
	const char	*b = getenv("BUILD");

	snprintf(out, len, "%s/bin/%s", b != NULL ? b : "build", name);
}

void
suite_write(const char *name, const void *p, size_t len)
{
	char	 path[PATH_MAX];
	FILE	*f;

	suite_path(path, sizeof(path), name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

void
suite_write_text(const char *name, const char *text)
{
	suite_write(name, text, strlen(text));
}

int
suite_file_count(const char *path, const char *needle)
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

void
suite_log_path(enum suite_daemon d, char *out, size_t len)
{
	char	 name[64];

	snprintf(name, sizeof(name), "%s.log", suite_names[d]);
	suite_path(out, len, name);
}

/* Something did not start: show its log, stop everything, fail. */
static void
suite_abandon(const char *who, const char *log)
{
	char	 line[1024];
	FILE	*f;

	if ((f = fopen(log, "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL)
			print_message("# %s", line);
		fclose(f);
	}
	suite_teardown(NULL);
	fail_msg("%s did not start", who);
}

pid_t
suite_spawn(char *const argv[], const char *logfile, int as_nobody)
{
	struct passwd	*pw = getpwnam("nobody");
	pid_t		 pid;
	int		 fd;

	assert_non_null(pw);
	assert_true((pid = fork()) >= 0);
	if (pid != 0)
		return (pid);
	if ((fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
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

void
suite_stop(pid_t *pid, int sig)
{
	int	 st;

	if (*pid <= 0)
		return;
	kill(*pid, sig);
	waitpid(*pid, &st, 0);
	*pid = 0;
}

int
suite_alive(pid_t pid)
{
	int	 st;

	return (pid > 0 && waitpid(pid, &st, WNOHANG) == 0);
}

void
suite_assert_alive_but(int killed)
{
	int	 d, st = 0;

	for (d = 0; d < SUITE_NDAEMONS; d++)
		if (d != killed && (suite.pid[d] <= 0 ||
		    waitpid(suite.pid[d], &st, WNOHANG) != 0))
			fail_msg("%s died (wait status %#x)", suite_names[d],
			    st);
}

double
suite_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

void
suite_nap(int ms)
{
	struct timespec	 ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

int
suite_free_port(void)
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

int
suite_scratch_dir(char *dir, size_t len, const char *name)
{
	const char	*tmp = getenv("TMPDIR");
	int		 n = -1;

	if (tmp != NULL && *tmp != '\0')
		n = snprintf(dir, len, "%s/%s.XXXXXX", tmp, name);
	if (n < 0 || (size_t)n >= len)
		n = snprintf(dir, len, "/tmp/%s.XXXXXX", name);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (mkdtemp(dir) == NULL ? -1 : 0);
}

static int
suite_remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return (remove(path));
}

void
suite_remove_tree(const char *dir)
{
	/* Depth first, so that each directory is empty when its turn comes. */
	nftw(dir, suite_remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Wait for a while: with the client running, so that nothing is missed. */
static void
suite_idle(void)
{
	if (suite.mosq != NULL)
		suite_pump(SUITE_POLL_MS);
	else
		suite_nap(SUITE_POLL_MS);
}

int
suite_wait_file(const char *path, const char *needle, int count, pid_t pid)
{
	double	 end = suite_now() + suite.wait_ms / 1000.0;

	for (;;) {
		if (needle == NULL ? access(path, F_OK) == 0 :
		    suite_file_count(path, needle) >= count)
			return (1);
		if ((pid > 0 && !suite_alive(pid)) || suite_now() > end)
			return (0);
		suite_idle();
	}
}

/*
 * The scratch directory.
 */

static void
suite_mkdir(const char *name)
{
	char	 path[PATH_MAX];

	suite_path(path, sizeof(path), name);
	assert_int_equal(mkdir(path, 0777), 0);
	/* The daemons, as nobody, write in it; the umask would not let them. */
	assert_int_equal(chmod(path, 0777), 0);
}

void
suite_prepare(const char *name)
{
	if (suite.dir[0] != '\0')
		suite_teardown(NULL);
	memset(&suite, 0, sizeof(suite));
	suite.wait_ms = SUITE_WAIT_MS;
	suite.subscribe = "zt/#";
	snprintf(suite.dir, sizeof(suite.dir), "/tmp/zotad-%s.XXXXXX", name);
	assert_non_null(mkdtemp(suite.dir));
	assert_int_equal(chmod(suite.dir, 0777), 0);
	suite_mkdir("cache");
	suite_mkdir("state");
	suite_path(suite.conf, sizeof(suite.conf), "configuration.yaml");
	suite_path(suite.events, sizeof(suite.events), "events.jsonl");
	suite_path(suite.ctl, sizeof(suite.ctl), "ctl.sock");
	suite_path(suite.tty, sizeof(suite.tty), "tty");
}

static void
suite_remove_dir(void)
{
	char	 cmd[PATH_MAX];

	if (getenv("ZOTAD_KEEP_TEST_DIR") != NULL) {
		print_message("# kept %s\n", suite.dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", suite.dir);
	if (system(cmd) != 0)
		print_message("# could not remove %s\n", suite.dir);
}

int
suite_teardown(void **state)
{
	char	 path[PATH_MAX];
	int	 i;

	(void)state;
	if (suite.dir[0] == '\0')
		return (0);
	if (suite.mosq != NULL) {
		mosquitto_disconnect(suite.mosq);
		mosquitto_destroy(suite.mosq);
		mosquitto_lib_cleanup();
		suite.mosq = NULL;
	}
	for (i = SUITE_NDAEMONS - 1; i >= 0; i--)
		suite_stop(&suite.pid[i], SIGTERM);
	suite_stop(&suite.sim, SIGTERM);
	suite_stop(&suite.broker, SIGTERM);
	suite_stop(&suite.http, SIGTERM);
	suite_forget();
	free(suite.msgs);
	suite.msgs = NULL;
	/* Once nothing has a file open on it any more. */
	if (suite.tmpfs != NULL) {
		suite_path(path, sizeof(path), suite.tmpfs);
		umount(path);
	}
	free(suite.image);
	suite.image = NULL;
	suite_remove_dir();
	suite.dir[0] = '\0';
	return (0);
}

/*
 * What runs: the HTTP server, the broker, the simulator, the daemons.
 */

uint8_t *
suite_ota_image(uint16_t manuf, uint16_t type, uint32_t version,
    uint32_t size, uint32_t seed, size_t *len)
{
	struct ota_make_params	 p;
	uint8_t			*buf;

	memset(&p, 0, sizeof(p));
	p.manufacturer_code = manuf;
	p.image_type = type;
	p.file_version = version;
	p.stack_version = OTA_STACK_PRO;
	p.total_size = size;
	p.seed = seed;
	assert_int_equal(ota_make(&p, &buf, len), 0);
	assert_int_equal(*len, size);
	return (buf);
}

void
suite_make_image(size_t size, int seed)
{
	suite.image = suite_ota_image(SUITE_MANUF, SUITE_TYPE, SUITE_NEW,
	    (uint32_t)size, (uint32_t)seed, &suite.image_len);
	suite_write("expected.ota", suite.image, suite.image_len);
}

/* The index the HTTP server serves: the image, as chosen in suite. */
static char *
suite_index(void)
{
	cJSON	*arr, *e;
	char	 url[128], sha[SHA512_HEX_LEN + 1], *text;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/bulb.ota",
	    suite.http_port);
	if (suite.wrong_sha)
		util_sha512_hex("another image", 13, sha);
	else
		util_sha512_hex(suite.image, suite.image_len, sha);
	arr = cJSON_CreateArray();
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "fileName", "bulb.ota");
	cJSON_AddNumberToObject(e, "fileVersion", SUITE_NEW);
	cJSON_AddNumberToObject(e, "fileSize", (double)suite.image_len);
	cJSON_AddStringToObject(e, "url", url);
	cJSON_AddNumberToObject(e, "imageType", SUITE_TYPE);
	cJSON_AddNumberToObject(e, "manufacturerCode", SUITE_MANUF);
	cJSON_AddStringToObject(e, "sha512", sha);
	cJSON_AddItemToArray(arr, e);
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	return (text);
}

/* The HTTP server, in a child of its own with its own event loop. */
static void
suite_http_child(int fd)
{
	struct event_base	*base;
	struct thttpd		*h;
	char			*text;

	if ((base = event_base_new()) == NULL ||
	    (h = thttpd_new(base, &suite.http_port)) == NULL ||
	    (text = suite_index()) == NULL)
		_exit(1);
	if (thttpd_route(h, "/index.json", text, strlen(text), THTTPD_OK) ||
	    thttpd_route(h, "/index1.json", "[]", 2, THTTPD_OK) ||
	    thttpd_route(h, "/bulb.ota", suite.image, suite.image_len,
	    suite.image_fault))
		_exit(1);
	if (write(fd, &suite.http_port, sizeof(suite.http_port)) !=
	    (ssize_t)sizeof(suite.http_port))
		_exit(1);
	close(fd);
	event_base_dispatch(base);
	_exit(0);
}

void
suite_start_http(void)
{
	int	 p[2];

	assert_int_equal(pipe(p), 0);
	assert_true((suite.http = fork()) >= 0);
	if (suite.http == 0) {
		close(p[0]);
		suite_http_child(p[1]);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &suite.http_port,
	    sizeof(suite.http_port)), (ssize_t)sizeof(suite.http_port));
	close(p[0]);
}

void
suite_start_broker(void)
{
	char	 conf[PATH_MAX], log[PATH_MAX], text[256];
	char	*argv[] = { "mosquitto", "-c", conf, NULL };
	int	 before;

	suite_path(conf, sizeof(conf), "mosquitto.conf");
	suite_path(log, sizeof(log), "mosquitto.log");
	if (suite.mqtt_port == 0) {
		suite.mqtt_port = suite_free_port();
		snprintf(text, sizeof(text), "listener %d 127.0.0.1\n"
		    "allow_anonymous true\npersistence false\n",
		    suite.mqtt_port);
		suite_write_text("mosquitto.conf", text);
	}
	before = suite_file_count(log, "running");
	suite.broker = suite_spawn(argv, log, 0);
	if (!suite_wait_file(log, "running", before + 1, suite.broker))
		suite_abandon("mosquitto", log);
}

void
suite_write_config(void)
{
	char	 text[8192];
	int	 mqtt, http, n;

	mqtt = suite.mqtt_port != 0 ? suite.mqtt_port : SUITE_CLOSED;
	http = suite.http_port != 0 ? suite.http_port : SUITE_CLOSED;
	n = snprintf(text, sizeof(text), "mqtt:\n  base_topic: zt\n"
	    "  server: mqtt://127.0.0.1:%d\n"
	    "serial:\n  port: %s/tty\n%s"
	    "zotad:\n  state_dir: %s/state\n  run_dir: %s/run\n"
	    "  cache_dir: %s/cache\n"
	    "  index_url: http://127.0.0.1:%d/index.json\n"
	    "  downgrade_index_url: http://127.0.0.1:%d/index1.json\n"
	    "  user_radio: nobody\n  user_fetch: nobody\n"
	    "  user_mqtt: nobody\n%s", mqtt, suite.dir,
	    suite.conf_top != NULL ? suite.conf_top : "", suite.dir,
	    suite.dir, suite.dir, http, http,
	    suite.conf_zotad != NULL ? suite.conf_zotad : "");
	assert_true(n > 0 && (size_t)n < sizeof(text));
	suite_write_text("configuration.yaml", text);
}

void
suite_start_sim(const char *tty)
{
	char	 bin[PATH_MAX], scen[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { bin, "--scenario", scen, "--pty", suite.tty,
	    "--events", suite.events, "--control", suite.ctl, NULL };

	suite_bin(bin, sizeof(bin), "zotad-sim");
	suite_path(scen, sizeof(scen), "scenario.json");
	suite_path(suite.tty, sizeof(suite.tty), tty);
	suite_path(log, sizeof(log), "sim.log");
	/* As nobody, so that a daemon that dropped to it can reopen it. */
	suite.sim = suite_spawn(argv, log, 1);
	/* The control socket comes last, once the pty is there. */
	if (!suite_wait_file(suite.ctl, NULL, 1, suite.sim))
		suite_abandon("zotad-sim", log);
}

void
suite_start_daemon(enum suite_daemon d)
{
	char	 bin[PATH_MAX], log[PATH_MAX];
	char	*argv[] = { bin, suite.verbose ? "-dv" : "-d", "-f",
	    suite.conf, NULL };
	int	 before;

	suite_bin(bin, sizeof(bin), suite_names[d]);
	suite_log_path(d, log, sizeof(log));
	/* The log may hold an earlier run's words. */
	before = suite_file_count(log, suite_ready[d]);
	suite.pid[d] = suite_spawn(argv, log, 0);
	if (!suite_wait_file(log, suite_ready[d], before + 1, suite.pid[d]))
		suite_abandon(suite_names[d], log);
}

void
suite_start_daemons(void)
{
	suite_write_config();
	suite_start_sim("tty");
	/* zotad-radio makes the run dir that all sockets go in. */
	suite_start_daemon(SUITE_RADIO);
	suite_start_daemon(SUITE_FETCH);
	suite_start_daemon(SUITE_MQTT);
}

void
suite_start_all(void)
{
	if (suite.image != NULL)
		suite_start_http();
	suite_start_broker();
	suite_start_daemons();
}

/*
 * MQTT: one client records what it subscribed to; waiting runs its loop.
 */

static void
suite_on_connect(struct mosquitto *m, void *arg, int rc)
{
	(void)arg;
	if (rc == 0)
		mosquitto_subscribe(m, NULL, suite.subscribe, 0);
}

static void
suite_on_subscribe(struct mosquitto *m, void *arg, int mid, int n,
    const int *qos)
{
	(void)m;
	(void)arg;
	(void)mid;
	(void)n;
	(void)qos;
	suite.subscribed = 1;
}

static void
suite_on_message(struct mosquitto *m, void *arg,
    const struct mosquitto_message *msg)
{
	struct suite_msg	*x;
	int			 size;

	(void)m;
	(void)arg;
	if (suite.nmsgs == suite.msgs_size) {
		size = suite.msgs_size > 0 ? 2 * suite.msgs_size : 256;
		if ((x = reallocarray(suite.msgs, (size_t)size,
		    sizeof(*x))) == NULL)
			return;
		suite.msgs = x;
		suite.msgs_size = size;
	}
	x = &suite.msgs[suite.nmsgs++];
	x->topic = strdup(msg->topic);
	x->len = msg->payloadlen;
	if ((x->payload = malloc((size_t)msg->payloadlen + 1)) != NULL) {
		memcpy(x->payload, msg->payload, (size_t)msg->payloadlen);
		x->payload[msg->payloadlen] = '\0';
	}
}

void
suite_connect(const char *id)
{
	double	 end = suite_now() + suite.wait_ms / 1000.0;

	mosquitto_lib_init();
	assert_non_null(suite.mosq = mosquitto_new(id, 1, NULL));
	mosquitto_connect_callback_set(suite.mosq, suite_on_connect);
	mosquitto_subscribe_callback_set(suite.mosq, suite_on_subscribe);
	mosquitto_message_callback_set(suite.mosq, suite_on_message);
	assert_int_equal(mosquitto_connect(suite.mosq, "127.0.0.1",
	    suite.mqtt_port, 30), MOSQ_ERR_SUCCESS);
	while (!suite.subscribed && suite_now() < end)
		suite_pump(SUITE_POLL_MS);
	if (!suite.subscribed)
		fail_msg("the test's MQTT client could not subscribe to %s",
		    suite.subscribe);
}

void
suite_pump(int ms)
{
	if (mosquitto_loop(suite.mosq, ms, 1) != MOSQ_ERR_SUCCESS) {
		/* The broker is away: try again, without spinning. */
		suite_nap(ms);
		suite.subscribed = 0;
		mosquitto_reconnect(suite.mosq);
	}
}

int
suite_find(int from, const char *topic, const char *text)
{
	int	 i;

	for (i = from; i < suite.nmsgs; i++)
		if ((topic == NULL || (suite.msgs[i].topic != NULL &&
		    strcmp(suite.msgs[i].topic, topic) == 0)) &&
		    suite.msgs[i].payload != NULL && (text == NULL ||
		    strstr(suite.msgs[i].payload, text) != NULL))
			return (i);
	return (-1);
}

int
suite_wait_msg(int from, const char *topic, const char *text)
{
	double	 end = suite_now() + suite.wait_ms / 1000.0;
	int	 i;

	while ((i = suite_find(from, topic, text)) == -1) {
		if (suite_now() > end)
			fail_msg("nothing on %s holding \"%s\" within %d ms",
			    topic != NULL ? topic : "any topic",
			    text != NULL ? text : "", suite.wait_ms);
		suite_pump(SUITE_POLL_MS);
	}
	return (i);
}

int
suite_count(int from, const char *topic)
{
	int	 i, n = 0;

	for (i = from; i < suite.nmsgs; i++)
		n += topic == NULL || (suite.msgs[i].topic != NULL &&
		    strcmp(suite.msgs[i].topic, topic) == 0);
	return (n);
}

int
suite_wait_count(int from, const char *topic, int n)
{
	double	 end = suite_now() + suite.wait_ms / 1000.0;

	while (suite_count(from, topic) < n) {
		if (suite_now() > end)
			return (0);
		suite_pump(SUITE_POLL_MS);
	}
	return (1);
}

void
suite_forget(void)
{
	int	 i;

	for (i = 0; i < suite.nmsgs; i++) {
		free(suite.msgs[i].topic);
		free(suite.msgs[i].payload);
	}
	suite.nmsgs = 0;
}

void
suite_publish(const char *topic, const char *text)
{
	assert_int_equal(mosquitto_publish(suite.mosq, NULL, topic,
	    (int)strlen(text), text, 1, 0), MOSQ_ERR_SUCCESS);
}

void
suite_publish_raw(const char *topic, const void *p, int len)
{
	assert_int_equal(mosquitto_publish(suite.mosq, NULL, topic, len, p,
	    0, 0), MOSQ_ERR_SUCCESS);
}

/*
 * The simulator's control socket, the disk, /proc.
 */

/* In a child: connect as nobody (the simulator answers only its own user). */
static void
suite_sim_ctl_child(const char *cmd, const struct passwd *pw)
{
	struct sockaddr_un	 sun;
	char			 buf[256];
	ssize_t			 n;
	int			 fd;

	if (getuid() == 0 && (setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1))
		_exit(2);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s",
	    suite.ctl) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		_exit(3);
	snprintf(buf, sizeof(buf), "%s\n", cmd);
	if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf))
		_exit(4);
	n = read(fd, buf, sizeof(buf) - 1);
	_exit(n >= 2 && strncmp(buf, "ok", 2) == 0 ? 0 : 5);
}

int
suite_sim_ctl(const char *cmd)
{
	struct passwd	*pw = getpwnam("nobody");
	pid_t		 pid;
	int		 st;

	assert_non_null(pw);
	assert_true((pid = fork()) >= 0);
	if (pid == 0)
		suite_sim_ctl_child(cmd, pw);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1);
}

void
suite_small_disk(const char *name, const char *size)
{
	char	 path[PATH_MAX], opts[64];

	suite_path(path, sizeof(path), name);
	snprintf(opts, sizeof(opts), "size=%s,mode=0777", size);
	if (mount("tmpfs", path, "tmpfs", 0, opts) == -1) {
		print_message("# cannot mount a small tmpfs here (%s): "
		    "no full disk to test on\n", strerror(errno));
		skip();
	}
	suite.tmpfs = name;
}

long
suite_rss(pid_t pid)
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
