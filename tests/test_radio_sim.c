/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-radio against the adapter simulator: the real daemon, under its
 * real sandbox, on the simulator's pseudo terminal. The tests wait on
 * the simulator's event file and the daemon's log, never on the clock.
 * Started as root, the simulator runs as nobody, so that the daemon,
 * once it has dropped to nobody, can reopen the pty after a replug.
 */

#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
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

#include "ipc.h"
#include "ipc_catalogue.h"
#include "priv.h"
#include "suite.h"
#include "util.h"

#define NOBODY		65534
#define WAIT_MS		20000	/* generous: CI machines are slow */
#define BULB		"0x0017880100000001"
#define REMOTE		"0x000d6f0000000002"
#define PLUG		"0x0017880100000003"

struct fx {
	char		 dir[64];
	char		 events[128];
	char		 log[128];
	char		 ctl[128];
	char		 sock[128];
	char		 conf[128];
	char		 tty[128];
	char		 scenario[128];
	pid_t		 sim;
	pid_t		 radio;
	pid_t		 fetch;
	long		 ev_off;
	long		 log_off;
	struct event_base *base;
	struct ipc_conn	*conn;
};

static struct fx	 fx;
static char		 sim_bin[128];	/* $BUILD/bin/zotad-sim */
static char		 radio_bin[128];
static char		 fetch_bin[128];

static void
fx_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", fx.dir, name);
}

static void
write_file(const char *path, const void *buf, size_t len)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/*
 * Wait until a line of PATH after *OFF holds NEEDLE (and NEEDLE2 when
 * set); *OFF moves past it. Woken by inotify on the directory.
 */
static int
wait_line(const char *path, long *off, const char *needle,
    const char *needle2, int timeout_ms, char *out, size_t outlen)
{
	struct timespec	 t0, now;
	struct pollfd	 pfd;
	char		 line[8192], evbuf[4096];
	FILE		*f;
	int		 fd, left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	assert_true(fd >= 0);
	assert_true(inotify_add_watch(fd, fx.dir, IN_MODIFY | IN_CREATE) >=
	    0);
	for (;;) {
		if ((f = fopen(path, "r")) != NULL) {
			fseek(f, *off, SEEK_SET);
			while (fgets(line, sizeof(line), f) != NULL) {
				if (line[strlen(line) - 1] != '\n')
					break;	/* half written: read again */
				*off = ftell(f);
				if (strstr(line, needle) != NULL &&
				    (needle2 == NULL ||
				    strstr(line, needle2) != NULL)) {
					if (out != NULL)
						snprintf(out, outlen, "%s",
						    line);
					fclose(f);
					close(fd);
					return (1);
				}
			}
			fclose(f);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = timeout_ms - (int)((now.tv_sec - t0.tv_sec) * 1000 +
		    (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, left) > 0)
			while (read(fd, evbuf, sizeof(evbuf)) > 0)
				;
	}
	close(fd);
	return (0);
}

static int
wait_ev(const char *needle, const char *needle2)
{
	return (wait_line(fx.events, &fx.ev_off, needle, needle2, WAIT_MS,
	    NULL, 0));
}

/* Whether the daemon's log holds NEEDLE anywhere. */
static int
log_has(const char *needle)
{
	long	 off = 0;

	return (wait_line(fx.log, &off, needle, NULL, 0, NULL, 0));
}

static int
wait_log(const char *needle)
{
	return (wait_line(fx.log, &fx.log_off, needle, NULL, WAIT_MS, NULL,
	    0));
}

/* Count lines of the event file holding both needles. */
static int
count_ev(const char *needle, const char *needle2)
{
	char	 line[8192];
	FILE	*f = fopen(fx.events, "r");
	int	 n = 0;

	if (f == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL && (needle2 == NULL ||
		    strstr(line, needle2) != NULL))
			n++;
	fclose(f);
	return (n);
}

static void
drop_to_nobody(void)
{
	if (getuid() != 0)
		return;
	if (setgroups(0, NULL) == -1 || setgid(NOBODY) == -1 ||
	    setuid(NOBODY) == -1)
		_exit(126);
}

static pid_t
spawn(char *const argv[], const char *errfile, int as_nobody)
{
	pid_t	 pid;
	int	 fd;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if ((fd = open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0666)) !=
		    -1) {
			dup2(fd, 2);
			close(fd);
		}
		if (as_nobody)
			drop_to_nobody();
		execv(argv[0], argv);
		_exit(127);
	}
	return (pid);
}

static void
sim_start(void)
{
	char	*argv[] = { sim_bin, "--scenario", fx.scenario,
	    "--pty", fx.tty, "--events", fx.events, "--control", fx.ctl,
	    NULL };
	char	 simlog[128];

	fx_path(simlog, sizeof(simlog), "sim.log");
	fx.sim = spawn(argv, simlog, 1);
	assert_true(wait_ev("\"ev\":\"start\"", NULL));
}

static void
radio_start(void)
{
	char	*argv[] = { radio_bin, "-d", "-v", "-f", fx.conf,
	    NULL };

	fx.radio = spawn(argv, fx.log, 0);
	assert_true(wait_log("adapter up"));
}

static void
radio_kill(int sig)
{
	int	 st;

	if (fx.conn != NULL)
		ipc_conn_free(fx.conn);
	fx.conn = NULL;
	if (fx.radio <= 0)
		return;
	kill(fx.radio, sig);
	waitpid(fx.radio, &st, 0);
	fx.radio = 0;
}

/* A fresh directory for one test. */
static void
fx_init(void)
{
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/zotad-radio-test.XXXXXX");
	assert_non_null(mkdtemp(fx.dir));
	/* Both the simulator (as nobody) and the daemon write here. */
	assert_int_equal(chmod(fx.dir, 0777), 0);
	fx_path(fx.events, sizeof(fx.events), "events.jsonl");
	fx_path(fx.log, sizeof(fx.log), "radio.log");
	fx_path(fx.ctl, sizeof(fx.ctl), "ctl.sock");
	fx_path(fx.sock, sizeof(fx.sock), "run/radio.sock");
	fx_path(fx.conf, sizeof(fx.conf), "configuration.yaml");
	fx_path(fx.tty, sizeof(fx.tty), "tty");
	fx_path(fx.scenario, sizeof(fx.scenario), "scenario.json");
}

/* Start the simulator and the daemon, with CONF_EXTRA under ota:. */
static void
fx_run(const char *conf_extra)
{
	char	 buf[4096];
	int	 n;

	/*
	 * zotad-fetch, when a test runs it, uses the override index
	 * alone: the upgrade index is on a loopback port nobody serves.
	 */
	n = snprintf(buf, sizeof(buf), "serial:\n  port: %s\n"
	    "ota:\n  zigbee_ota_override_index_location: override.json\n"
	    "%s"
	    "zotad:\n  state_dir: %s/state\n  run_dir: %s/run\n"
	    "  cache_dir: %s/cache\n"
	    "  index_url: http://127.0.0.1:9/index.json\n"
	    "  downgrade_index_url: http://127.0.0.1:9/index1.json\n"
	    "  user_radio: nobody\n  user_fetch: nobody\n", fx.tty,
	    conf_extra != NULL ? conf_extra : "", fx.dir, fx.dir, fx.dir);
	write_file(fx.conf, buf, (size_t)n);
	fx.base = event_base_new();
	assert_non_null(fx.base);
	sim_start();
	radio_start();
}

static int
fx_teardown(void **state)
{
	char	 cmd[128];
	int	 st;

	(void)state;
	if (fx.conn != NULL)
		ipc_conn_free(fx.conn);
	fx.conn = NULL;
	radio_kill(SIGTERM);
	if (fx.fetch > 0) {
		kill(fx.fetch, SIGTERM);
		waitpid(fx.fetch, &st, 0);
	}
	if (fx.sim > 0) {
		kill(fx.sim, SIGTERM);
		waitpid(fx.sim, &st, 0);
	}
	if (fx.base != NULL)
		event_base_free(fx.base);
	if (getenv("ZOTAD_KEEP_TEST_DIR") == NULL && fx.dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", fx.dir);
	}
	return (0);
}

/* Talk to the control socket; exits 0 when the simulator said ok. */
static void
sim_ctl_child(const char *cmd)
{
	struct sockaddr_un	 sun;
	char			 buf[512];
	ssize_t			 n;
	int			 fd;

	/* The simulator serves only its own user. */
	drop_to_nobody();
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		_exit(2);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(fx.ctl) >= sizeof(sun.sun_path))
		_exit(2);
	memcpy(sun.sun_path, fx.ctl, strlen(fx.ctl) + 1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		_exit(3);
	snprintf(buf, sizeof(buf), "%s\n", cmd);
	if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf))
		_exit(4);
	n = read(fd, buf, sizeof(buf) - 1);
	_exit(n >= 2 && strncmp(buf, "ok", 2) == 0 ? 0 : 5);
}

/* One command to the simulator's control socket; 0 when it said ok. */
static int
sim_ctl(const char *cmd)
{
	pid_t	 pid;
	int	 st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		sim_ctl_child(cmd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return (WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1);
}

static struct ipc_conn *
radio_conn(void)
{
	if (fx.conn == NULL || !ipc_conn_alive(fx.conn))
		fx.conn = ipc_connect(fx.base, fx.sock);
	assert_non_null(fx.conn);
	return (fx.conn);
}

/* A blocking call; PARAMS is consumed. */
static void
call(const char *method, cJSON *params, struct ipc_result *res)
{
	memset(res, 0, sizeof(*res));
	assert_int_equal(ipc_conn_call_sync(radio_conn(), method, params,
	    NULL, 0, 60000, res), 0);
	cJSON_Delete(params);
}

static const char *
res_message(const struct ipc_result *res)
{
	const cJSON	*m = cJSON_GetObjectItemCaseSensitive(res->parameters,
			    "message");

	return (cJSON_IsString(m) ? m->valuestring : "");
}

static cJSON *
ieee_params(const char *ieee)
{
	cJSON	*p = cJSON_CreateObject();

	cJSON_AddStringToObject(p, "ieee", ieee);
	return (p);
}

/* Write a synthetic image of SIZE bytes as NAME; returns it as hex. */
static char *
make_image(const char *name, uint16_t manuf, uint16_t type, uint32_t version,
    uint32_t size)
{
	uint8_t	*buf;
	size_t	 len;
	char	 path[128], *hex;

	buf = suite_ota_image(manuf, type, version, size, version, &len);
	fx_path(path, sizeof(path), name);
	write_file(path, buf, len);
	hex = malloc(2 * len + 1);
	assert_non_null(hex);
	util_hex(buf, len, hex);
	free(buf);
	return (hex);
}

static cJSON *
update_params(const char *ieee, const char *hex)
{
	cJSON	*p = ieee_params(ieee);

	cJSON_AddStringToObject(p, "hex", hex);
	return (p);
}

/*
 * The simulator's network: a bulb (router) and a battery remote
 * (sleepy), both OTA clients, already joined, plus a plug that joins
 * when told. BULB_OTA and REMOTE_OTA add to their "ota" objects.
 */
static void
write_scenario(int formed, const char *bulb_ota, const char *remote_ota,
    int battery)
{
	char	*s;

	if (asprintf(&s,
	    "{\"adapter\": {\"formed\": %s, \"channel\": 15, \"pan_id\": 4660},"
	    " \"devices\": ["
	    "{\"name\": \"bulb\", \"ieee\": \"" BULB "\", \"nwk\": 4097,"
	    " \"type\": \"router\", \"manufacturer_code\": 4107,"
	    " \"basic\": {\"manufacturer_name\": \"Signify\","
	    "  \"model_id\": \"LCT001\", \"power_source\": 1,"
	    "  \"sw_build_id\": \"1.0\", \"date_code\": \"20200101\"},"
	    " \"endpoints\": [{\"id\": 11, \"profile\": 260,"
	    "  \"device_id\": 256, \"in\": [0, 6], \"out\": [25]}],"
	    " \"ota\": {\"image_type\": 256, \"file_version\": 100,"
	    "  \"after\": {\"sw_build_id\": \"2.0\","
	    "  \"date_code\": \"20260101\"}%s}},"
	    "{\"name\": \"remote\", \"ieee\": \"" REMOTE "\", \"nwk\": 8194,"
	    " \"type\": \"sleepy_end_device\", \"manufacturer_code\": 4151,"
	    " \"poll_ms\": 300, \"battery\": %d,"
	    " \"basic\": {\"manufacturer_name\": \"IKEA of Sweden\","
	    "  \"model_id\": \"TRADFRI remote\", \"power_source\": 3},"
	    " \"endpoints\": [{\"id\": 1, \"profile\": 260,"
	    "  \"device_id\": 2096, \"in\": [0, 1], \"out\": [25]}],"
	    " \"ota\": {\"image_type\": 8704, \"file_version\": 500%s}},"
	    "{\"name\": \"plug\", \"ieee\": \"" PLUG "\", \"nwk\": 12291,"
	    " \"type\": \"router\", \"manufacturer_code\": 4107,"
	    " \"joined\": false,"
	    " \"basic\": {\"manufacturer_name\": \"Signify\","
	    "  \"model_id\": \"LOM001\", \"power_source\": 1,"
	    "  \"sw_build_id\": \"3.1\", \"date_code\": \"20230303\"},"
	    " \"endpoints\": [{\"id\": 11, \"profile\": 260,"
	    "  \"device_id\": 266, \"in\": [0, 6], \"out\": [25]}],"
	    " \"ota\": {\"image_type\": 259, \"file_version\": 300}}"
	    "]}", formed ? "true" : "false", bulb_ota, battery,
	    remote_ota) == -1)
		fail();
	write_file(fx.scenario, s, strlen(s));
	free(s);
}

/*
 * What zigbee2mqtt knew about the bulb and the remote: the registry is
 * empty at first start, so the daemon imports it.
 */
static const char z2m_database[] =
    "{\"id\":1,\"type\":\"Coordinator\",\"ieeeAddr\":\"0x00124b0000000000\","
    "\"nwkAddr\":0}\n"
    "{\"id\":2,\"type\":\"Router\",\"ieeeAddr\":\"" BULB "\","
    "\"nwkAddr\":4097,\"manufId\":4107,\"manufName\":\"Signify\","
    "\"powerSource\":\"Mains (single phase)\",\"modelId\":\"LCT001\","
    "\"epList\":[11],\"endpoints\":{\"11\":{\"profId\":260,\"epId\":11,"
    "\"devId\":256,\"inClusterList\":[0,6],\"outClusterList\":[25]}},"
    "\"swBuildId\":\"1.0\",\"dateCode\":\"20200101\","
    "\"interviewCompleted\":true}\n"
    "not json at all\n"
    "{\"id\":3,\"type\":\"EndDevice\",\"ieeeAddr\":\"" REMOTE "\","
    "\"nwkAddr\":8194,\"manufId\":4151,\"manufName\":\"IKEA of Sweden\","
    "\"powerSource\":\"Battery\",\"modelId\":\"TRADFRI remote\","
    "\"endpoints\":{\"1\":{\"profId\":260,\"devId\":2096,"
    "\"inClusterList\":[0,1],\"outClusterList\":[25]}},"
    "\"interviewCompleted\":true}\n";

/* The standard network and the zigbee2mqtt database, not started. */
static void
net_prepare(int formed, const char *bulb_ota, const char *remote_ota,
    int battery)
{
	char	 path[128];

	fx_init();
	write_scenario(formed, bulb_ota, remote_ota, battery);
	fx_path(path, sizeof(path), "database.db");
	write_file(path, z2m_database, sizeof(z2m_database) - 1);
}

/* Start zotad-fetch beside the daemon, on the override index. */
static void
fetch_start(void)
{
	char	*argv[] = { fetch_bin, "-d", "-v", "-f", fx.conf, NULL };
	char	 path[128];
	long	 off = 0;

	fx_path(path, sizeof(path), "cache");
	assert_int_equal(mkdir(path, 0700), 0);
	if (getuid() == 0)
		assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	fx_path(path, sizeof(path), "fetch.log");
	fx.fetch = spawn(argv, path, 0);
	assert_true(wait_line(path, &off, "ready", NULL, WAIT_MS, NULL, 0));
}

/* How many lines of zotad-fetch's log hold NEEDLE. */
static int
fetch_log_count(const char *needle)
{
	char	 path[128], line[4096];
	FILE	*f;
	int	 n = 0;

	fx_path(path, sizeof(path), "fetch.log");
	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return (n);
}

/* The override index: one entry per image made with make_image. */
static void
write_override(const char *const *names, const uint32_t *sizes,
    const uint16_t *manufs, const uint16_t *types, const uint32_t *versions,
    size_t n)
{
	cJSON	*a = cJSON_CreateArray(), *e;
	char	 path[128], *text;
	size_t	 i;

	for (i = 0; i < n; i++) {
		e = cJSON_CreateObject();
		fx_path(path, sizeof(path), names[i]);
		cJSON_AddStringToObject(e, "fileName", names[i]);
		cJSON_AddNumberToObject(e, "fileVersion", versions[i]);
		cJSON_AddNumberToObject(e, "fileSize", sizes[i]);
		cJSON_AddStringToObject(e, "url", path);
		cJSON_AddNumberToObject(e, "imageType", types[i]);
		cJSON_AddNumberToObject(e, "manufacturerCode", manufs[i]);
		cJSON_AddItemToArray(a, e);
	}
	text = cJSON_Print(a);
	fx_path(path, sizeof(path), "override.json");
	write_file(path, text, strlen(text));
	free(text);
	cJSON_Delete(a);
}

static const cJSON *
jget(const cJSON *o, const char *path)
{
	char	 buf[128], *p, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, ".", &save); p != NULL && o != NULL;
	    p = strtok_r(NULL, ".", &save))
		o = cJSON_GetObjectItemCaseSensitive(o, p);
	return (o);
}

static const char *
jstr(const cJSON *o, const char *path)
{
	const cJSON	*v = jget(o, path);

	return (cJSON_IsString(v) ? v->valuestring : "(none)");
}

static double
jnum(const cJSON *o, const char *path)
{
	const cJSON	*v = jget(o, path);

	return (cJSON_IsNumber(v) ? v->valuedouble : -1);
}

/* The device record, from GetDevice. */
static void
get_device(const char *ieee, struct ipc_result *res)
{
	call(IPC_RADIO_GET_DEVICE, ieee_params(ieee), res);
}

/*
 * Start-up.
 */

static void
test_startup_formed(void **state)
{
	struct priv_status	 st;

	(void)state;
	net_prepare(1, "", "", 87);
	fx_run(NULL);
	assert_true(log_has("network resumed"));
	/* Never commissioned: the adapter keeps the user's network. */
	assert_int_equal(count_ev("\"subsys\":\"APP_CNF\",\"cmd\":5", NULL), 0);
	/* The OTA server cluster is on endpoint 13 (HA profile). */
	assert_int_equal(count_ev("\"dir\":\"in\"",
	    "\"subsys\":\"AF\",\"cmd\":0,\"data\":\"0d040105000000011900"), 1);
	/* The daemon runs confined: filter, no_new_privs, its own user. */
	assert_int_equal(priv_status_read(fx.radio, &st), 0);
	assert_int_equal(st.seccomp, 2);
	assert_int_equal(st.no_new_privs, 1);
	if (getuid() == 0) {
		assert_int_equal(st.uid[0], NOBODY);
		assert_int_equal(st.uid[1], NOBODY);
		assert_int_equal(st.cap_eff, 0);
	}
}

static void
test_startup_blank(void **state)
{
	(void)state;
	net_prepare(0, "", "", 87);
	fx_run(NULL);
	assert_true(log_has("network formed"));
	assert_int_equal(count_ev("\"subsys\":\"APP_CNF\",\"cmd\":5",
	    "\"data\":\"04\""), 1);
	/* Once formed, the next start resumes it. */
	radio_kill(SIGTERM);
	radio_start();
	assert_true(log_has("network resumed"));
	assert_int_equal(count_ev("\"subsys\":\"APP_CNF\",\"cmd\":5",
	    "\"data\":\"04\""), 1);
}

static void
test_unplug_replug(void **state)
{
	struct ipc_result	 res;
	cJSON			*p;

	(void)state;
	net_prepare(1, "", "", 87);
	fx_run(NULL);
	assert_int_equal(sim_ctl("unplug"), 0);
	assert_true(wait_log("lost"));
	call(IPC_RADIO_PERMIT_JOIN, cJSON_Parse("{\"time\": 10}"), &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NOT_RUNNING);
	ipc_result_clear(&res);
	assert_int_equal(sim_ctl("replug"), 0);
	assert_true(wait_log("is back"));
	assert_true(wait_log("adapter up"));
	p = cJSON_Parse("{\"time\": 10}");
	call(IPC_RADIO_PERMIT_JOIN, p, &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_true(wait_ev("\"subsys\":\"ZDO\",\"cmd\":54", "\"dir\":\"in\""));
}

/*
 * Devices.
 */

static void
test_import(void **state)
{
	struct ipc_result	 res;
	const cJSON		*a;
	char			 path[128];

	(void)state;
	net_prepare(1, "", "", 87);
	fx_run(NULL);
	call(IPC_RADIO_LIST_DEVICES, NULL, &res);
	assert_null(res.error);
	a = jget(res.parameters, "devices");
	/* The coordinator and the broken line are not devices. */
	assert_int_equal(cJSON_GetArraySize(a), 2);
	ipc_result_clear(&res);
	get_device(BULB, &res);
	assert_string_equal(jstr(res.parameters, "device.model_id"), "LCT001");
	assert_int_equal(jnum(res.parameters, "device.ota_endpoint"), 11);
	assert_string_equal(jstr(res.parameters, "device.interview"), "done");
	ipc_result_clear(&res);
	fx_path(path, sizeof(path), "state/radio/devices.json");
	assert_int_equal(access(path, F_OK), 0);
}

static void
test_join_interview_leave(void **state)
{
	struct ipc_result	 res;

	(void)state;
	net_prepare(1, "", "", 87);
	fx_run(NULL);
	assert_int_equal(sim_ctl("join plug"), 0);
	assert_true(wait_log("interviewed: Signify LOM001"));
	get_device(PLUG, &res);
	assert_null(res.error);
	assert_string_equal(jstr(res.parameters, "device.type"), "router");
	assert_string_equal(jstr(res.parameters, "device.sw_build_id"), "3.1");
	assert_string_equal(jstr(res.parameters, "device.date_code"),
	    "20230303");
	assert_int_equal(jnum(res.parameters, "device.power_source"), 1);
	assert_int_equal(jnum(res.parameters, "device.ota_endpoint"), 11);
	ipc_result_clear(&res);

	/* Known after a restart, from the registry, not the import. */
	radio_kill(SIGTERM);
	radio_start();
	get_device(PLUG, &res);
	assert_null(res.error);
	ipc_result_clear(&res);

	assert_int_equal(sim_ctl("leave plug"), 0);
	assert_true(wait_log("left the network"));
	get_device(PLUG, &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NO_SUCH_DEVICE);
	ipc_result_clear(&res);
}

/*
 * OTA.
 */

static void
update(const char *ieee, const char *hex, const char *extra,
    struct ipc_result *res)
{
	cJSON	*p = update_params(ieee, hex), *x, *it;

	if (extra != NULL) {
		x = cJSON_Parse(extra);
		assert_non_null(x);
		while ((it = x->child) != NULL) {
			cJSON_DetachItemViaPointer(x, it);
			cJSON_AddItemToObject(p, it->string, it);
		}
		cJSON_Delete(x);
	}
	call(IPC_RADIO_UPDATE, p, res);
}

static void
test_ota_success(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, ", \"expect_image\": \"img.ota\"", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 4000);
	fx_run(NULL);
	update(BULB, hex, "{\"image_block_response_delay\": 0}", &res);
	assert_null(res.error);
	assert_int_equal(jnum(res.parameters, "from.file_version"), 100);
	assert_string_equal(jstr(res.parameters, "from.software_build_id"),
	    "1.0");
	assert_int_equal(jnum(res.parameters, "to.file_version"), 200);
	assert_string_equal(jstr(res.parameters, "to.software_build_id"),
	    "2.0");
	assert_string_equal(jstr(res.parameters, "to.date_code"), "20260101");
	ipc_result_clear(&res);
	/* The device checked the whole image against the file. */
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	get_device(BULB, &res);
	assert_int_equal(jnum(res.parameters, "device.ota.file_version"), 200);
	ipc_result_clear(&res);
	free(hex);
}

static void
test_ota_device_aborts(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, ", \"inject\": {\"abort_at_offset\": 1000}", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 4000);
	fx_run(NULL);
	update(BULB, hex, "{\"image_block_response_delay\": 0}", &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_UPDATE_FAILED);
	assert_string_equal(res_message(&res),
	    "Update failed with reason: 'aborted by device'");
	ipc_result_clear(&res);
	free(hex);
}

static void
test_ota_invalid_image(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, ", \"inject\": {\"end_invalid_image\": true}", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 2000);
	fx_run(NULL);
	update(BULB, hex, "{\"image_block_response_delay\": 0}", &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_UPDATE_FAILED);
	assert_non_null(strstr(res_message(&res), "invalid image"));
	ipc_result_clear(&res);
	free(hex);
}

static void
test_ota_silent_device(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, ", \"inject\": {\"silent_at_offset\": 1000}", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 4000);
	fx_run(NULL);
	update(BULB, hex, "{\"image_block_request_timeout\": 1500,"
	    " \"image_block_response_delay\": 0}", &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_UPDATE_FAILED);
	assert_non_null(strstr(res_message(&res),
	    "did not request the next image block"));
	ipc_result_clear(&res);
	/* The device is free for the next attempt. */
	get_device(BULB, &res);
	assert_string_equal(jstr(res.parameters, "device.update.state"),
	    "idle");
	ipc_result_clear(&res);
	free(hex);
}

static void
test_ota_refused_images(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, "", "", 87);
	hex = make_image("other.ota", 4151, 256, 200, 2000);
	fx_run(NULL);
	/* Not an OTA file at all: refused before the device is bothered. */
	update(BULB, "00112233445566778899", NULL, &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_IMAGE_INVALID);
	ipc_result_clear(&res);
	update(BULB, "001", NULL, &res);
	assert_string_equal(res.error, IPC_ERR_INVALID_PARAMETER);
	assert_string_equal(jstr(res.parameters, "parameter"), "hex");
	ipc_result_clear(&res);
	/* Another manufacturer's image: the device is told there is none. */
	update(BULB, hex, NULL, &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NO_IMAGE);
	assert_non_null(strstr(res_message(&res), "manufacturer"));
	ipc_result_clear(&res);
	assert_true(wait_ev("\"ev\":\"ota_result\"", "\"no_image\""));
	free(hex);
}

static void
test_ota_sleepy_no_response(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, "", ", \"inject\": {\"ignore_image_notify\": true}",
	    87);
	hex = make_image("r.ota", 4151, 8704, 600, 2000);
	fx_run(NULL);
	update(REMOTE, hex, "{\"query_timeout\": 1500}", &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NO_RESPONSE);
	assert_string_equal(res_message(&res),
	    "Device didn't respond to OTA request");
	ipc_result_clear(&res);
	/* A schedule waits for the device's own query instead. */
	call(IPC_RADIO_SCHEDULE, ieee_params(REMOTE), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	get_device(REMOTE, &res);
	assert_true(cJSON_IsTrue(jget(res.parameters, "device.scheduled")));
	assert_string_equal(jstr(res.parameters, "device.update.state"),
	    "scheduled");
	ipc_result_clear(&res);
	call(IPC_RADIO_UNSCHEDULE, ieee_params(REMOTE), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	get_device(REMOTE, &res);
	assert_false(cJSON_IsTrue(jget(res.parameters, "device.scheduled")));
	ipc_result_clear(&res);
	free(hex);
}

static void
test_ota_battery_low(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, "", "", 10);
	hex = make_image("r.ota", 4151, 8704, 600, 2000);
	fx_run(NULL);
	update(REMOTE, hex, NULL, &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_BATTERY_LOW);
	assert_non_null(strstr(res_message(&res), "battery at 10 %"));
	ipc_result_clear(&res);
	free(hex);
}

static void
test_ota_pages(void **state)
{
	struct ipc_result	 res;
	char			*hex, path[128];
	cJSON			*p;
	int			 fd;

	(void)state;
	net_prepare(1, ", \"mode\": \"page\", \"page_size\": 512,"
	    " \"expect_image\": \"img.ota\"", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 1500);
	fx_run(NULL);
	/* This time the image comes as a descriptor, as zotadctl sends it. */
	fx_path(path, sizeof(path), "img.ota");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	p = cJSON_Parse("{\"ieee\": \"" BULB "\", \"image_fd\": true,"
	    " \"image_block_response_delay\": 0}");
	memset(&res, 0, sizeof(res));
	assert_int_equal(ipc_conn_call_sync(radio_conn(), IPC_RADIO_UPDATE, p,
	    &fd, 1, 60000, &res), 0);
	cJSON_Delete(p);
	close(fd);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	assert_true(count_ev("\"subsys\":\"AF\",\"cmd\":129", "\"data\":") >
	    0);
	free(hex);
}

static void
test_ota_block_shrinks(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, ", \"inject\": {\"reject_block_over\": 30},"
	    " \"expect_image\": \"img.ota\"", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 1500);
	fx_run(NULL);
	update(BULB, hex, "{\"image_block_response_delay\": 0}", &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	assert_true(wait_log("refused a block"));
	free(hex);
}

static void
test_ota_wait_for_data(void **state)
{
	struct ipc_result	 res;
	char			*hex;

	(void)state;
	net_prepare(1, ", \"expect_image\": \"img.ota\"", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 600);
	fx_run(NULL);
	update(BULB, hex, "{\"image_block_response_delay\": 300}", &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	/* The pacing is the device's to keep, not a silent delay. */
	assert_true(wait_ev("\"ev\":\"ota_wait_for_data\"",
	    "\"block_period\":300"));
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	free(hex);
}

/* A congested network: some frames fail with channel access failure. */
static void
test_ota_congestion(void **state)
{
	struct ipc_result	 res;
	char			*hex, *text, *at;
	char			 path[128];
	uint8_t			*buf;
	size_t			 len;

	(void)state;
	net_prepare(1, ", \"expect_image\": \"img.ota\"", "", 87);
	/* The standard network, with a lossy link section added. */
	assert_int_equal(util_read_file(fx.scenario, 1 << 20, &buf, &len), 0);
	text = (char *)buf;
	at = strstr(text, "\"devices\"");
	assert_non_null(at);
	fx_path(path, sizeof(path), "lossy.json");
	{
		FILE	*f = fopen(path, "w");

		assert_non_null(f);
		fprintf(f, "%.*s\"link\": {\"confirm_fail_rate\": 0.2, "
		    "\"confirm_fail_status\": 225}, %s", (int)(at - text), text,
		    at);
		assert_int_equal(fclose(f), 0);
	}
	free(buf);
	assert_int_equal(rename(path, fx.scenario), 0);
	hex = make_image("img.ota", 4107, 256, 200, 2000);
	fx_run(NULL);
	update(BULB, hex, "{\"image_block_response_delay\": 0}", &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	/*
	 * Sends failed, and the blocks were sent again at once: the device
	 * asked for each of its 40 blocks once, never again after a wait.
	 */
	assert_true(count_ev("\"ev\":\"confirm_failure\"", NULL) > 0);
	assert_int_equal(count_ev("\"dir\":\"from_dev\"", "\"cmd\":3,"), 40);
	free(hex);
}

struct async {
	int	 done;
	char	 error[128];
	char	 message[256];
};

static void
async_cb(struct ipc_conn *conn, struct ipc_reply *reply, void *arg)
{
	struct async	*a = arg;
	const cJSON	*m;

	(void)conn;
	if (reply->continues)
		return;
	a->done = 1;
	snprintf(a->error, sizeof(a->error), "%s",
	    reply->error != NULL ? reply->error : "");
	m = cJSON_GetObjectItemCaseSensitive(reply->parameters, "message");
	snprintf(a->message, sizeof(a->message), "%s",
	    cJSON_IsString(m) ? m->valuestring : "");
}

static void
update_async(const char *ieee, const char *hex, const char *extra,
    struct async *a)
{
	cJSON	*p = update_params(ieee, hex);

	if (extra != NULL)
		cJSON_AddNumberToObject(p, "image_block_response_delay",
		    atoi(extra));
	memset(a, 0, sizeof(*a));
	assert_int_equal(ipc_conn_call(radio_conn(), IPC_RADIO_UPDATE, p, 0,
	    NULL, 0, async_cb, a), 0);
	cJSON_Delete(p);
	/* Let the loop write the call out. */
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
	event_base_loop(fx.base, EVLOOP_NONBLOCK);
}

/* Run the client loop until A is answered. */
static void
async_wait(struct async *a)
{
	struct timeval	 tv = { 0, 100000 };
	int		 i;

	for (i = 0; i < 600 && !a->done; i++) {
		event_base_loopexit(fx.base, &tv);
		event_base_dispatch(fx.base);
	}
	assert_true(a->done);
}

static void
test_ota_abort(void **state)
{
	struct ipc_result	 res;
	struct async		 a;
	char			*hex;

	(void)state;
	net_prepare(1, "", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 60000);
	fx_run(NULL);
	update_async(BULB, hex, "100", &a);
	assert_true(wait_ev("\"ev\":\"block\"", "\"offset\":100"));
	call(IPC_RADIO_ABORT, ieee_params(BULB), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	async_wait(&a);
	assert_string_equal(a.error, IPC_RADIO_ERR_ABORTED);
	/* The device's next request got ABORT. */
	assert_true(wait_ev("\"ev\":\"ota_result\"", "aborted_by_server"));
	/* And nothing is left running. */
	get_device(BULB, &res);
	assert_string_equal(jstr(res.parameters, "device.update.state"),
	    "idle");
	ipc_result_clear(&res);
	free(hex);
}

/* The line number of the first event line holding both needles. */
static int
ev_line(const char *needle, const char *needle2)
{
	char	 line[8192];
	FILE	*f = fopen(fx.events, "r");
	int	 n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		if (strstr(line, needle) != NULL && strstr(line, needle2) !=
		    NULL) {
			fclose(f);
			return (n);
		}
	}
	fclose(f);
	return (-1);
}

static void
test_ota_queue_order(void **state)
{
	struct ipc_result	 res;
	struct async		 a, b;
	char			*hb, *hr;

	(void)state;
	net_prepare(1, "", "", 87);
	hb = make_image("b.ota", 4107, 256, 200, 1500);
	hr = make_image("r.ota", 4151, 8704, 600, 300);
	fx_run(NULL);
	update_async(BULB, hb, "0", &a);
	update_async(REMOTE, hr, "0", &b);
	assert_true(wait_ev("\"ev\":\"block\"", "bulb"));
	/* One transfer at a time: the remote waits its turn. */
	get_device(REMOTE, &res);
	assert_string_equal(jstr(res.parameters, "device.update.state"),
	    "queued");
	ipc_result_clear(&res);
	async_wait(&a);
	async_wait(&b);
	assert_string_equal(a.error, "");
	assert_string_equal(b.error, "");
	assert_true(ev_line("\"ev\":\"ota_result\"", "\"dev\":\"bulb\"") <
	    ev_line("\"ev\":\"ota_download\"", "\"dev\":\"remote\""));
	free(hb);
	free(hr);
}

static void
test_ota_resume_after_restart(void **state)
{
	struct ipc_result res;
	struct async	 a;
	char		*hex;

	(void)state;
	net_prepare(1, ", \"expect_image\": \"img.ota\"", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 5000);
	fx_run(NULL);
	update_async(BULB, hex, "0", &a);
	assert_true(wait_ev("\"ev\":\"block\"", "\"offset\":1000"));
	/* A crash in the middle of the transfer. */
	radio_kill(SIGKILL);
	radio_start();
	assert_true(log_has("carried over"));
	/*
	 * A caller cut off by the crash attaches to the carried-over
	 * update and hears how it ended, whether it still runs or not.
	 */
	call(IPC_RADIO_ATTACH, ieee_params(BULB), &res);
	assert_null(res.error);
	assert_int_equal(jnum(res.parameters, "from.file_version"), 100);
	assert_int_equal(jnum(res.parameters, "to.file_version"), 200);
	ipc_result_clear(&res);
	/* The device asked for its next block and got it. */
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	assert_true(wait_ev("\"ev\":\"ota_result\"", "success"));
	/* The outcome is told once; nothing runs for the remote at all. */
	call(IPC_RADIO_ATTACH, ieee_params(BULB), &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NOT_IN_PROGRESS);
	ipc_result_clear(&res);
	call(IPC_RADIO_ATTACH, ieee_params(REMOTE), &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NOT_IN_PROGRESS);
	ipc_result_clear(&res);
	free(hex);
}

/* The path of the file a schedule keeps its image in, from the reply. */
static void
schedule_hex(const char *ieee, const char *hex, char *path, size_t len,
    struct ipc_result *res)
{
	cJSON	*p = ieee_params(ieee);

	cJSON_AddStringToObject(p, "hex", hex);
	call(IPC_RADIO_SCHEDULE, p, res);
	if (path != NULL)
		snprintf(path, len, "%s", jstr(res->parameters, "url"));
}

/*
 * A schedule with the caller's own image: checked when scheduled, kept
 * in the state dir through a restart, served on the device's own query,
 * and removed once the device runs it.
 */
static void
test_schedule_image(void **state)
{
	struct ipc_result	 res;
	char			*hex, path[512], want[128];
	cJSON			*p;
	uint8_t			*kept, *img;
	size_t			 klen, ilen;

	(void)state;
	net_prepare(1, ", \"expect_image\": \"img.ota\"", "", 87);
	hex = make_image("img.ota", 4107, 256, 200, 1500);
	fx_run(NULL);
	/* Not an OTA file, or an image and a url at once: refused. */
	schedule_hex(BULB, "00112233445566778899", NULL, 0, &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_IMAGE_INVALID);
	ipc_result_clear(&res);
	p = ieee_params(BULB);
	cJSON_AddStringToObject(p, "hex", hex);
	cJSON_AddStringToObject(p, "url", "https://example.org/x.ota");
	call(IPC_RADIO_SCHEDULE, p, &res);
	assert_string_equal(res.error, IPC_ERR_INVALID_PARAMETER);
	assert_string_equal(jstr(res.parameters, "parameter"), "url");
	ipc_result_clear(&res);
	get_device(BULB, &res);
	assert_false(cJSON_IsTrue(jget(res.parameters, "device.scheduled")));
	ipc_result_clear(&res);

	schedule_hex(BULB, hex, path, sizeof(path), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	snprintf(want, sizeof(want), "%s/state/", fx.dir);
	assert_memory_equal(path, want, strlen(want));
	assert_non_null(strstr(path, "/schedule-0017880100000001.ota"));
	fx_path(want, sizeof(want), "img.ota");
	assert_int_equal(util_read_file(path, 1 << 20, &kept, &klen), 0);
	assert_int_equal(util_read_file(want, 1 << 20, &img, &ilen), 0);
	assert_int_equal(klen, ilen);
	assert_memory_equal(kept, img, ilen);
	free(kept);
	free(img);

	/* Through a restart, the schedule and its image stay. */
	radio_kill(SIGKILL);
	radio_start();
	get_device(BULB, &res);
	assert_true(cJSON_IsTrue(jget(res.parameters, "device.scheduled")));
	assert_true(cJSON_IsTrue(jget(res.parameters,
	    "device.schedule_image")));
	assert_string_equal(jstr(res.parameters, "device.update.state"),
	    "scheduled");
	ipc_result_clear(&res);
	assert_int_equal(sim_ctl("query bulb"), 0);
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	assert_true(wait_log("updated to version 200"));
	get_device(BULB, &res);
	assert_false(cJSON_IsTrue(jget(res.parameters, "device.scheduled")));
	ipc_result_clear(&res);
	assert_int_equal(access(path, F_OK), -1);

	/* Unscheduled, the image goes too. */
	schedule_hex(REMOTE, hex, path, sizeof(path), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_int_equal(access(path, F_OK), 0);
	call(IPC_RADIO_UNSCHEDULE, ieee_params(REMOTE), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_int_equal(access(path, F_OK), -1);
	free(hex);
}

/* PermitJoin through one router, or through the coordinator alone. */
static void
test_permit_join_node(void **state)
{
	struct ipc_result	 res;

	(void)state;
	net_prepare(1, "", "", 87);
	fx_run(NULL);
	call(IPC_RADIO_PERMIT_JOIN, cJSON_Parse("{\"time\": 20, \"ieee\": \""
	    BULB "\"}"), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_true(wait_ev("\"ev\":\"permit_join\"",
	    "\"dev\":\"bulb\",\"ieee\":\"" BULB "\",\"via\":\"router\","
	    "\"duration\":20"));
	/* Nothing was broadcast: the rest of the network stays shut. */
	assert_int_equal(count_ev("\"ev\":\"permit_join\"",
	    "\"via\":\"all\""), 0);
	call(IPC_RADIO_PERMIT_JOIN, cJSON_Parse("{\"time\": 0, "
	    "\"coordinator\": true}"), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_true(wait_ev("\"ev\":\"permit_join\"",
	    "\"via\":\"coordinator\",\"duration\":0"));
	/* The coordinator by its own address. */
	call(IPC_RADIO_PERMIT_JOIN, cJSON_Parse("{\"time\": 5, \"ieee\": "
	    "\"0x00124b00cafe0001\"}"), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_true(wait_ev("\"ev\":\"permit_join\"",
	    "\"via\":\"coordinator\",\"duration\":5"));
	/* An end device lets nobody in; an unknown one is named. */
	call(IPC_RADIO_PERMIT_JOIN, cJSON_Parse("{\"time\": 20, \"ieee\": \""
	    REMOTE "\"}"), &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NOT_SUPPORTED);
	assert_non_null(strstr(res_message(&res), "end device"));
	ipc_result_clear(&res);
	call(IPC_RADIO_PERMIT_JOIN, cJSON_Parse("{\"time\": 20, \"ieee\": \""
	    PLUG "\"}"), &res);
	assert_string_equal(res.error, IPC_RADIO_ERR_NO_SUCH_DEVICE);
	assert_non_null(strstr(res_message(&res), PLUG));
	ipc_result_clear(&res);
}

/*
 * With zotad-fetch: manual checks, updates from the index, schedules
 * and the device's own queries.
 */

static const char *const img_names[] = { "bulb.ota", "remote.ota" };
static const uint32_t img_sizes[] = { 1500, 300 };
static const uint16_t img_manufs[] = { 4107, 4151 };
static const uint16_t img_types[] = { 256, 8704 };
static const uint32_t img_versions[] = { 200, 600 };

static void
fetch_net(const char *remote_ota)
{
	size_t	 i;

	if (access(fetch_bin, X_OK) == -1)
		skip();
	net_prepare(1, "", remote_ota, 87);
	for (i = 0; i < 2; i++)
		free(make_image(img_names[i], img_manufs[i], img_types[i],
		    img_versions[i], img_sizes[i]));
	write_override(img_names, img_sizes, img_manufs, img_types,
	    img_versions, 2);
	fx_run("  image_block_response_delay: 50\n");
	fetch_start();
}

static void
test_fetch_check_update(void **state)
{
	struct ipc_result	 res;

	(void)state;
	fetch_net("");
	call(IPC_RADIO_CHECK, ieee_params(BULB), &res);
	assert_null(res.error);
	assert_true(cJSON_IsTrue(jget(res.parameters, "update_available")));
	assert_int_equal(jnum(res.parameters, "entry.fileVersion"), 200);
	assert_string_equal(jstr(res.parameters, "entry.source"), "override");
	ipc_result_clear(&res);
	/* The check released the device at once. */
	assert_true(wait_ev("\"ev\":\"ota_result\"", "\"no_image\""));
	call(IPC_RADIO_UPDATE, ieee_params(BULB), &res);
	assert_null(res.error);
	assert_int_equal(jnum(res.parameters, "to.file_version"), 200);
	ipc_result_clear(&res);
	/* Nothing newer now. */
	call(IPC_RADIO_CHECK, ieee_params(BULB), &res);
	assert_null(res.error);
	assert_false(cJSON_IsTrue(jget(res.parameters, "update_available")));
	ipc_result_clear(&res);
}

static void
test_fetch_schedule(void **state)
{
	struct ipc_result	 res;

	(void)state;
	/* A sleepy remote that misses notifies: only its own query works. */
	fetch_net(", \"inject\": {\"ignore_image_notify\": true}");
	call(IPC_RADIO_SCHEDULE, ieee_params(REMOTE), &res);
	assert_null(res.error);
	ipc_result_clear(&res);
	assert_int_equal(sim_ctl("query remote"), 0);
	assert_true(wait_ev("\"ev\":\"ota_result\"", "success"));
	assert_true(wait_log("updated to version 600"));
	get_device(REMOTE, &res);
	assert_false(cJSON_IsTrue(jget(res.parameters, "device.scheduled")));
	assert_int_equal(jnum(res.parameters, "device.ota.file_version"), 600);
	ipc_result_clear(&res);
}

/* A schedule with its own url: zotad-fetch fetches it at the query. */
static void
test_fetch_schedule_url(void **state)
{
	struct ipc_result	 res;
	char			 path[128];
	cJSON			*p;

	(void)state;
	if (access(fetch_bin, X_OK) == -1)
		skip();
	/* The override index has the remote's image alone. */
	net_prepare(1, ", \"expect_image\": \"own.ota\"", "", 87);
	free(make_image(img_names[1], img_manufs[1], img_types[1],
	    img_versions[1], img_sizes[1]));
	write_override(img_names + 1, img_sizes + 1, img_manufs + 1,
	    img_types + 1, img_versions + 1, 1);
	free(make_image("own.ota", 4107, 256, 300, 1200));
	fx_run("  image_block_response_delay: 50\n");
	fetch_start();
	fx_path(path, sizeof(path), "own.ota");
	p = ieee_params(BULB);
	cJSON_AddStringToObject(p, "url", path);
	call(IPC_RADIO_SCHEDULE, p, &res);
	assert_null(res.error);
	assert_string_equal(jstr(res.parameters, "url"), path);
	ipc_result_clear(&res);
	get_device(BULB, &res);
	assert_string_equal(jstr(res.parameters, "device.schedule_url"),
	    path);
	ipc_result_clear(&res);
	assert_int_equal(sim_ctl("query bulb"), 0);
	assert_true(wait_ev("\"ev\":\"ota_verify\"", "\"ok\":true"));
	assert_true(wait_log("updated to version 300"));
	get_device(BULB, &res);
	assert_false(cJSON_IsTrue(jget(res.parameters, "device.scheduled")));
	assert_string_equal(jstr(res.parameters, "device.schedule_url"),
	    "(none)");
	ipc_result_clear(&res);
}

static void
test_fetch_automatic_check(void **state)
{
	(void)state;
	fetch_net("");
	/* The device's own query: answered at once, checked once. */
	assert_int_equal(sim_ctl("query bulb"), 0);
	assert_true(wait_ev("\"ev\":\"ota_result\"", "\"no_image\""));
	assert_int_equal(sim_ctl("query bulb"), 0);
	assert_true(wait_ev("\"ev\":\"ota_result\"", "\"no_image\""));
	/* Both queries were checked with zotad-fetch... */
	assert_true(wait_log("automatic check for " BULB));
	assert_true(wait_log("automatic check for " BULB));
	/* ...and within the interval the second contacted nobody. */
	assert_int_equal(fetch_log_count("GET http://127.0.0.1:9/index.json "
	    "(automatic check"), 1);
	/* Every query was answered, none left hanging. */
	assert_int_equal(count_ev("\"ev\":\"ota_result\"", "no_image"), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_startup_formed, fx_teardown),
		cmocka_unit_test_teardown(test_startup_blank, fx_teardown),
		cmocka_unit_test_teardown(test_unplug_replug, fx_teardown),
		cmocka_unit_test_teardown(test_import, fx_teardown),
		cmocka_unit_test_teardown(test_join_interview_leave,
		    fx_teardown),
		cmocka_unit_test_teardown(test_ota_success, fx_teardown),
		cmocka_unit_test_teardown(test_ota_device_aborts, fx_teardown),
		cmocka_unit_test_teardown(test_ota_invalid_image, fx_teardown),
		cmocka_unit_test_teardown(test_ota_silent_device, fx_teardown),
		cmocka_unit_test_teardown(test_ota_refused_images,
		    fx_teardown),
		cmocka_unit_test_teardown(test_ota_sleepy_no_response,
		    fx_teardown),
		cmocka_unit_test_teardown(test_ota_battery_low, fx_teardown),
		cmocka_unit_test_teardown(test_ota_pages, fx_teardown),
		cmocka_unit_test_teardown(test_ota_block_shrinks, fx_teardown),
		cmocka_unit_test_teardown(test_ota_wait_for_data, fx_teardown),
		cmocka_unit_test_teardown(test_ota_congestion, fx_teardown),
		cmocka_unit_test_teardown(test_ota_abort, fx_teardown),
		cmocka_unit_test_teardown(test_ota_queue_order, fx_teardown),
		cmocka_unit_test_teardown(test_ota_resume_after_restart,
		    fx_teardown),
		cmocka_unit_test_teardown(test_schedule_image, fx_teardown),
		cmocka_unit_test_teardown(test_permit_join_node, fx_teardown),
		cmocka_unit_test_teardown(test_fetch_check_update,
		    fx_teardown),
		cmocka_unit_test_teardown(test_fetch_schedule, fx_teardown),
		cmocka_unit_test_teardown(test_fetch_schedule_url,
		    fx_teardown),
		cmocka_unit_test_teardown(test_fetch_automatic_check,
		    fx_teardown),
	};

	/* The programs of this build: make sets BUILD for sanitizers. */
	snprintf(sim_bin, sizeof(sim_bin), "%s/bin/zotad-sim",
	    getenv("BUILD") != NULL ? getenv("BUILD") : "build");
	snprintf(radio_bin, sizeof(radio_bin), "%s/bin/zotad-radio",
	    getenv("BUILD") != NULL ? getenv("BUILD") : "build");
	snprintf(fetch_bin, sizeof(fetch_bin), "%s/bin/zotad-fetch",
	    getenv("BUILD") != NULL ? getenv("BUILD") : "build");
	if (access(sim_bin, X_OK) == -1 || access(radio_bin, X_OK) == -1) {
		printf("1..0 # SKIP %s and %s must be built first\n", sim_bin,
		    radio_bin);
		return (0);
	}
	/* ZOTAD_TEST_FILTER=test_ota_* runs some of them. */
	if (getenv("ZOTAD_TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("ZOTAD_TEST_FILTER"));
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
