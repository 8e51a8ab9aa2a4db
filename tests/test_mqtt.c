/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-mqtt end to end against a real broker: the test starts
 * mosquitto on a free loopback port with a configuration of its own,
 * serves a scripted stand-in for io.zotad.Radio on radio.sock, runs the
 * real zotad-mqtt binary (under its real sandbox) and talks to it over
 * MQTT the way zigbee2mqtt's users do.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "mqttd.h"
#include "suite.h"
#include "util.h"

#define T_TIMEOUT	5000	/* ms to wait for one message */
#define T_BURST		1000
#define T_MAX_SUBS	4	/* daemons subscribed at once */
#define T_LAMP		"0x00124b0012345678"
#define T_LAMP_NAME	"living room/lamp one"
#define T_SWITCH	"0x00124b00aaaaaaaa"
#define T_SWITCH_NAME	"Kitchen Switch"
#define T_PLUG		"0x00124b00bbbbbbbb"	/* no name, no OTA */
#define T_NEW		"0x00124b00cccccccc"
#define T_OTA		"bridge/request/device/ota_update/"
#define T_RESP		"zt/bridge/response/device/ota_update/"
#define T_FIXTURE	"mmwave_module_fw_V3_14_3.ota"

/* The stand-in's methods; each has a scripted answer. */
enum t_method {
	M_LIST, M_GET, M_CHECK, M_UPDATE, M_SCHEDULE, M_UNSCHEDULE, M_ABORT,
	M_PERMIT, M_ATTACH, M_SUBSCRIBE, M_COUNT
};

static const char *const t_method_names[M_COUNT] = {
	IPC_RADIO_LIST_DEVICES, IPC_RADIO_GET_DEVICE, IPC_RADIO_CHECK,
	IPC_RADIO_UPDATE, IPC_RADIO_SCHEDULE, IPC_RADIO_UNSCHEDULE,
	IPC_RADIO_ABORT, IPC_RADIO_PERMIT_JOIN, IPC_RADIO_ATTACH,
	IPC_RADIO_SUBSCRIBE
};

/*
 * The parameters zotad-radio's service takes, so that the stand-in
 * refuses (as the real one does) any field the daemon should not send.
 */
static const struct ipc_param_spec t_none_spec[] = {
	{ NULL, 0, 0, 0, 0, NULL }
};
static const struct ipc_param_spec t_ieee_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
static const struct ipc_param_spec t_check_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, 2048, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
static const struct ipc_param_spec t_update_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, 2048, NULL },
	{ "image_fd", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "image_block_response_delay", IPC_P_INT, 0, 0, 60000, NULL },
	{ "default_maximum_data_size", IPC_P_INT, 0, 10, 100, NULL },
	{ "image_block_request_timeout", IPC_P_INT, 0, 1000, 2147483647,
	  NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
static const struct ipc_param_spec t_schedule_spec[] = {
	{ "ieee", IPC_P_STRING, IPC_P_REQUIRED, 18, 18, NULL },
	{ "downgrade", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "url", IPC_P_STRING, IPC_P_NULLABLE, 1, 2048, NULL },
	{ "image_fd", IPC_P_BOOL, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
static const struct ipc_param_spec t_permit_spec[] = {
	{ "time", IPC_P_INT, IPC_P_REQUIRED, 0, 254, NULL },
	{ "ieee", IPC_P_STRING, IPC_P_NULLABLE, 18, 18, NULL },
	{ "coordinator", IPC_P_BOOL, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};
static const struct ipc_param_spec *const t_specs[M_COUNT] = {
	t_none_spec, t_ieee_spec, t_check_spec, t_update_spec,
	t_schedule_spec, t_ieee_spec, t_ieee_spec, t_permit_spec,
	t_ieee_spec, t_none_spec
};

struct t_msg {
	TAILQ_ENTRY(t_msg)	 entry;
	char			*topic;
	char			*payload;
	size_t			 len;
	int			 retained;
};

static struct {
	struct event_base	*base;
	char			 dir[64];
	char			 sock[128];
	char			 conf[128];
	char			 broker_conf[128];
	int			 port;
	int			 tls_port;	/* 0: no openssl for certs */
	int			 auth_port;	/* users with passwords only */
	pid_t			 broker;
	pid_t			 daemon;
	struct ipc_server	*srv;
	struct ipc_call		*subs[T_MAX_SUBS];	/* held Subscribes */
	size_t			 nsubs;
	struct mqc		*cli;
	struct config_mqtt	 cm;
	TAILQ_HEAD(, t_msg)	 msgs;
	size_t			 nmsgs;

	/* the script: error (NULL for success) and reply parameters */
	const char		*error[M_COUNT];
	char			*reply[M_COUNT];
	int			 hold[M_COUNT];	/* leave unanswered */
	struct ipc_call		*held;
	/* what the stand-in saw */
	int			 calls[M_COUNT];
	cJSON			*params[M_COUNT];
	uint8_t			*image;
	size_t			 image_len;
} T;

static const char t_devices[] = "{\"devices\": ["
    "{\"ieee\": \"" T_LAMP "\", \"type\": \"router\", \"model_id\": "
    "\"LED1545G12\", \"manufacturer_name\": \"IKEA of Sweden\", "
    "\"sw_build_id\": \"2.3.087\", \"date_code\": \"20200101\", "
    "\"interview\": \"done\", \"ota_endpoint\": 1, \"ota\": "
    "{\"manufacturer_code\": 4476, \"image_type\": 4545, "
    "\"file_version\": 16909060}},"
    "{\"ieee\": \"" T_SWITCH "\", \"type\": \"end_device\", \"model_id\": "
    "\"E1743\", \"manufacturer_name\": \"IKEA of Sweden\", "
    "\"interview\": \"done\", \"ota_endpoint\": 1},"
    "{\"ieee\": \"" T_PLUG "\", \"type\": \"router\", \"model_id\": "
    "\"plug\", \"manufacturer_name\": \"ACME\", \"interview\": \"done\", "
    "\"ota_endpoint\": 0}]}";

/*
 * The stand-in for io.zotad.Radio.
 */

static enum t_method
t_method_of(const char *name)
{
	int	 i;

	for (i = 0; i < M_COUNT; i++)
		if (strcmp(name, t_method_names[i]) == 0)
			return ((enum t_method)i);
	fail_msg("unexpected method %s", name);
	return (M_COUNT);
}

static void
t_take_image(struct ipc_call *call)
{
	struct stat	 st;
	int		 fd;

	free(T.image);
	T.image = NULL;
	T.image_len = 0;
	if (ipc_call_nfds(call) == 0)
		return;
	assert_int_not_equal(fd = ipc_call_take_fd(call, 0), -1);
	assert_int_equal(fstat(fd, &st), 0);
	T.image_len = (size_t)st.st_size;
	assert_non_null(T.image = malloc(T.image_len + 1));
	assert_int_equal(pread(fd, T.image, T.image_len, 0),
	    (ssize_t)T.image_len);
	close(fd);
}

/* A subscriber went away: release its stream. */
static void
t_unsubscribe(struct ipc_call *call, void *arg)
{
	size_t	 i;

	(void)arg;
	for (i = 0; i < T.nsubs; i++)
		if (T.subs[i] == call) {
			T.subs[i] = T.subs[--T.nsubs];
			break;
		}
	ipc_call_reply(call, NULL);
}

static void
t_radio(struct ipc_call *call, const cJSON *params, void *arg)
{
	enum t_method	 m = t_method_of(ipc_call_method(call));
	cJSON		*rep = NULL;

	(void)arg;
	T.calls[m]++;
	cJSON_Delete(T.params[m]);
	T.params[m] = cJSON_Duplicate(params, 1);
	t_take_image(call);
	if (m == M_SUBSCRIBE) {
		assert_true(T.nsubs < T_MAX_SUBS);
		T.subs[T.nsubs++] = call;
		ipc_call_set_cancel(call, t_unsubscribe, NULL);
		assert_non_null(rep = cJSON_Parse("{\"subscribed\": true}"));
		assert_int_equal(ipc_call_reply_more(call, rep), 0);
		cJSON_Delete(rep);
		return;
	}
	if (T.hold[m]) {
		assert_null(T.held);
		T.held = call;
		return;
	}
	if (T.reply[m] != NULL)
		assert_non_null(rep = cJSON_Parse(T.reply[m]));
	if (T.error[m] != NULL)
		ipc_call_error(call, T.error[m], rep);
	else
		ipc_call_reply(call, rep);
	cJSON_Delete(rep);
}

static void
t_script(enum t_method m, const char *error, const char *reply)
{
	T.error[m] = error;
	free(T.reply[m]);
	T.reply[m] = reply != NULL ? strdup(reply) : NULL;
}

static void
t_radio_start(void)
{
	static struct ipc_method methods[M_COUNT + 1];
	int		 i;

	for (i = 0; i < M_COUNT; i++) {
		methods[i].name = t_method_names[i];
		methods[i].handler = t_radio;
		methods[i].params = t_specs[i];
	}
	assert_non_null(T.srv = ipc_server_new(T.base, methods, NULL));
	assert_int_equal(ipc_server_listen(T.srv, NULL, T.sock, 0666), 0);
}

static void
t_radio_stop(void)
{
	ipc_server_free(T.srv);
	T.srv = NULL;
	/* The held calls are ours to release. */
	while (T.nsubs > 0)
		ipc_call_reply(T.subs[--T.nsubs], NULL);
	if (T.held != NULL)
		ipc_call_reply(T.held, NULL);
	T.held = NULL;
}

/* Send one event on the daemon's subscription. */
static void
t_event(const char *text)
{
	cJSON	*p, *ev;
	size_t	 i;

	assert_true(T.nsubs > 0);
	assert_non_null(ev = cJSON_Parse(text));
	assert_non_null(p = cJSON_CreateObject());
	cJSON_AddItemToObject(p, "event", ev);
	for (i = 0; i < T.nsubs; i++)
		assert_int_equal(ipc_call_reply_more(T.subs[i], p), 0);
	cJSON_Delete(p);
}

/*
 * The test's MQTT client and the loop.
 */

static void
t_on_message(const char *topic, const char *payload, size_t len,
    int retained, void *arg)
{
	struct t_msg	*m;

	(void)arg;
	assert_non_null(m = calloc(1, sizeof(*m)));
	assert_non_null(m->topic = strdup(topic));
	assert_non_null(m->payload = malloc(len + 1));
	memcpy(m->payload, payload, len + 1);
	m->len = len;
	m->retained = retained;
	TAILQ_INSERT_TAIL(&T.msgs, m, entry);
	T.nmsgs++;
}

static void
t_on_connected(void *arg)
{
	(void)arg;
	mqc_subscribe(T.cli, "zt/#", 1);
	mqc_subscribe(T.cli, "homeassistant/#", 1);
}

static void
t_msg_free(struct t_msg *m)
{
	free(m->topic);
	free(m->payload);
	free(m);
}

static void
t_drain(void)
{
	struct t_msg	*m;

	while ((m = TAILQ_FIRST(&T.msgs)) != NULL) {
		TAILQ_REMOVE(&T.msgs, m, entry);
		t_msg_free(m);
	}
	T.nmsgs = 0;
}

static void
t_expired(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(int *)arg = 1;
}

/* Run the loop until PRED holds or MS milliseconds have passed. */
static int
t_run_until(int (*pred)(void *), void *arg, int ms)
{
	struct timeval	 tv = { ms / 1000, (ms % 1000) * 1000 };
	struct event	*to;
	int		 expired = 0, ok;

	assert_non_null(to = evtimer_new(T.base, t_expired, &expired));
	evtimer_add(to, &tv);
	while (!(ok = pred(arg)) && !expired)
		event_base_loop(T.base, EVLOOP_ONCE);
	event_free(to);
	return (ok);
}

struct t_want {
	const char	*topic;
	struct t_msg	*found;
};

static int
t_have(void *arg)
{
	struct t_want	*w = arg;
	struct t_msg	*m;

	TAILQ_FOREACH(m, &T.msgs, entry)
		if (strcmp(m->topic, w->topic) == 0) {
			TAILQ_REMOVE(&T.msgs, m, entry);
			T.nmsgs--;
			w->found = m;
			return (1);
		}
	return (0);
}

/* The next message on TOPIC, or NULL after MS milliseconds. */
static struct t_msg *
t_wait_ms(const char *topic, int ms)
{
	struct t_want	 w = { topic, NULL };

	t_run_until(t_have, &w, ms);
	return (w.found);
}

static struct t_msg *
t_wait(const char *topic)
{
	struct t_msg	*m;

	if ((m = t_wait_ms(topic, T_TIMEOUT)) == NULL) {
		TAILQ_FOREACH(m, &T.msgs, entry)
			print_message("# queued on %s: %.200s\n", m->topic,
			    m->payload);
		fail_msg("no message on %s", topic);
	}
	return (m);
}

/* The next message on TOPIC as JSON. */
static cJSON *
t_wait_json(const char *topic)
{
	struct t_msg	*m = t_wait(topic);
	cJSON		*j;

	if ((j = cJSON_Parse(m->payload)) == NULL)
		fail_msg("%s: not JSON: %s", topic, m->payload);
	t_msg_free(m);
	return (j);
}

/* The next message on TOPIC as JSON, waiting up to MS milliseconds. */
static cJSON *
t_wait_json_ms(const char *topic, int ms)
{
	struct t_msg	*m;
	cJSON		*j;

	if ((m = t_wait_ms(topic, ms)) == NULL)
		fail_msg("no message on %s", topic);
	if ((j = cJSON_Parse(m->payload)) == NULL)
		fail_msg("%s: not JSON: %s", topic, m->payload);
	t_msg_free(m);
	return (j);
}

/*
 * The device's next state that is WANT. Earlier states are skipped:
 * a case may start while the previous one's last state is on its way.
 */
static cJSON *
t_wait_state(const char *topic, const char *want)
{
	const cJSON	*st;
	cJSON		*j;
	int		 i;

	for (i = 0; i < 10; i++) {
		j = t_wait_json(topic);
		st = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "update"),
		    "state");
		if (cJSON_IsString(st) && strcmp(st->valuestring, want) == 0)
			return (j);
		cJSON_Delete(j);
	}
	fail_msg("%s never reached state %s", topic, want);
	return (NULL);
}

static void
t_publish_to(const char *topic, const char *payload)
{
	assert_int_equal(mqc_publish(T.cli, topic, payload, 1, 0), 0);
}

static void
t_publish(const char *suffix, const char *payload)
{
	char	 topic[256];

	snprintf(topic, sizeof(topic), "zt/%s", suffix);
	t_publish_to(topic, payload);
}

/* Publish an OTA request and return the response on RESP_VERB. */
static cJSON *
t_request(const char *verb, const char *payload, const char *resp_verb)
{
	char	 suffix[128], topic[128];

	snprintf(suffix, sizeof(suffix), T_OTA "%s", verb);
	snprintf(topic, sizeof(topic), T_RESP "%s", resp_verb);
	t_publish(suffix, payload);
	return (t_wait_json(topic));
}

static const char *
t_str(const cJSON *o, const char *path)
{
	const cJSON	*v = o;
	char		 key[64];
	const char	*p = path, *dot;

	while (v != NULL && *p != '\0') {
		dot = strchr(p, '.');
		snprintf(key, sizeof(key), "%.*s", dot != NULL ?
		    (int)(dot - p) : (int)strlen(p), p);
		v = cJSON_GetObjectItemCaseSensitive(v, key);
		p = dot != NULL ? dot + 1 : p + strlen(p);
	}
	if (!cJSON_IsString(v))
		fail_msg("%s is not a string", path);
	return (v->valuestring);
}

static double
t_num(const cJSON *o, const char *path)
{
	const cJSON	*v = o;
	char		 key[64];
	const char	*p = path, *dot;

	while (v != NULL && *p != '\0') {
		dot = strchr(p, '.');
		snprintf(key, sizeof(key), "%.*s", dot != NULL ?
		    (int)(dot - p) : (int)strlen(p), p);
		v = cJSON_GetObjectItemCaseSensitive(v, key);
		p = dot != NULL ? dot + 1 : p + strlen(p);
	}
	if (!cJSON_IsNumber(v))
		fail_msg("%s is not a number", path);
	return (v->valuedouble);
}

static int
t_bool(const cJSON *o, const char *name)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsBool(v))
		fail_msg("%s is not a boolean", name);
	return (cJSON_IsTrue(v));
}

static void
t_assert_error(cJSON *r, const char *want)
{
	assert_string_equal(t_str(r, "status"), "error");
	assert_string_equal(t_str(r, "error"), want);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "data")),
	    0);
}

/*
 * Processes: broker and daemon.
 */

static int
t_port_open(void *arg)
{
	struct sockaddr_in	 sin;
	struct timespec		 ts = { 0, 10 * 1000 * 1000 };
	int			 s, ok;

	(void)arg;
	assert_int_not_equal(s = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)T.port);
	ok = connect(s, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	close(s);
	/* Not ready yet: wait a little before knocking again. */
	if (!ok)
		nanosleep(&ts, NULL);
	return (ok);
}

static pid_t
t_spawn(char *const argv[])
{
	pid_t	 pid;
	int	 null;

	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		/* LeakSanitizer cannot stop the world inside the sandbox. */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		if (getenv("T_VERBOSE") == NULL &&
		    (null = open("/dev/null", O_WRONLY)) != -1) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return (pid);
}

/* Stop a child with SIGTERM; its wait status, or 0 if none ran. */
static int
t_reap(pid_t *pid)
{
	int	 status;

	if (*pid <= 0)
		return (0);
	kill(*pid, SIGTERM);
	waitpid(*pid, &status, 0);
	*pid = 0;
	return (status);
}

/* A daemon told to stop leaves cleanly, its sandbox notwithstanding. */
static void
t_reap_daemon(pid_t *pid)
{
	int	 status = t_reap(pid);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("zotad-mqtt ended with wait status %#x", status);
}

static void
t_broker_start(void)
{
	char	*argv[] = { "mosquitto", "-c", T.broker_conf, NULL };

	T.broker = t_spawn(argv);
	if (!t_run_until(t_port_open, NULL, T_TIMEOUT))
		fail_msg("mosquitto did not start on port %d", T.port);
}

static void
t_write(const char *path, const char *text)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

/* Files the test makes in its directory, removed at the end. */
static const char *const t_files[] = {
	"ca.pem", "ca.key", "ca.srl", "other.pem", "other.key", "srv.pem",
	"srv.key", "srv.csr", "srv.ext", "tls.yaml", "bad.yaml",
	"passwd", "auth.yaml", "noauth.yaml", "secret.yaml", "legacy.yaml",
	NULL
};

static char *
t_file(const char *name)
{
	static char	 path[16][256];	/* enough for one call's arguments */
	static int	 n;

	n = (n + 1) % 16;
	snprintf(path[n], sizeof(path[n]), "%s/%s", T.dir, name);
	return (path[n]);
}

static int
t_run(char *const argv[])
{
	pid_t	 pid = t_spawn(argv);
	int	 status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1);
}

/* A CA, a broker certificate it signed, and an unrelated CA. */
static int
t_make_certs(void)
{
	char	*ca[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
	    "-subj", "/CN=zotad test CA", "-keyout", t_file("ca.key"),
	    "-out", t_file("ca.pem"), NULL };
	char	*other[] = { "openssl", "req", "-x509", "-newkey", "ec",
	    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
	    "-subj", "/CN=someone else", "-keyout", t_file("other.key"),
	    "-out", t_file("other.pem"), NULL };
	char	*csr[] = { "openssl", "req", "-newkey", "ec", "-pkeyopt",
	    "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=localhost",
	    "-keyout", t_file("srv.key"), "-out", t_file("srv.csr"), NULL };
	char	*sign[] = { "openssl", "x509", "-req", "-in",
	    t_file("srv.csr"), "-CA", t_file("ca.pem"), "-CAkey",
	    t_file("ca.key"), "-CAcreateserial", "-days", "2", "-extfile",
	    t_file("srv.ext"), "-out", t_file("srv.pem"), NULL };

	t_write(t_file("srv.ext"), "subjectAltName=DNS:localhost\n");
	if (t_run(ca) == -1 || t_run(other) == -1 || t_run(csr) == -1 ||
	    t_run(sign) == -1)
		return (-1);
	/* The broker may drop to its own user before reading its key. */
	return (chmod(t_file("srv.key"), 0644));
}

static void
t_write_daemon_conf(const char *path, const char *base, const char *ca)
{
	char	 text[2048];

	snprintf(text, sizeof(text),
	    "mqtt:\n  base_topic: %s\n  server: mqtts://localhost:%d\n"
	    "  ca: %s\n  client_id: zotad-mqtt-%s\n  version: 5\n"
	    "advanced:\n  legacy_api: true\n"
	    "zotad:\n  run_dir: %s/run\n  user_mqtt: nobody\n"
	    "devices:\n"
	    "  '" T_LAMP "':\n    friendly_name: '" T_LAMP_NAME "'\n",
	    base, T.tls_port, ca, base, T.dir);
	t_write(path, text);
}

/* A daemon that logs in as USER with the password of secret KEY. */
static void
t_write_auth_conf(const char *path, const char *base, const char *key)
{
	char	 text[1024];

	snprintf(text, sizeof(text),
	    "mqtt:\n  base_topic: %s\n  server: mqtt://127.0.0.1:%d\n"
	    "  user: zotad\n  password: '!secret %s'\n"
	    "zotad:\n  run_dir: %s/run\n  user_mqtt: nobody\n",
	    base, T.auth_port, key, T.dir);
	t_write(path, text);
}

/* A daemon on base topic ztleg with zigbee2mqtt 1.x's legacy API. */
static void
t_write_legacy_conf(void)
{
	char	 text[1024];

	snprintf(text, sizeof(text),
	    "mqtt:\n  base_topic: ztleg\n  server: mqtt://127.0.0.1:%d\n"
	    "  client_id: zotad-mqtt-legacy\n"
	    "advanced:\n  legacy_api: true\n"
	    "zotad:\n  run_dir: %s/run\n  user_mqtt: nobody\n"
	    "devices:\n"
	    "  '" T_LAMP "':\n    friendly_name: '" T_LAMP_NAME "'\n",
	    T.port, T.dir);
	t_write(t_file("legacy.yaml"), text);
}

static void
t_write_auth(void)
{
	char	*argv[] = { "mosquitto_passwd", "-b", "-c", t_file("passwd"),
	    "zotad", "s3cret pass", NULL };

	t_write(t_file("passwd"), "");
	if (t_run(argv) == -1)
		fail_msg("mosquitto_passwd failed");
	/* The broker may drop to its own user before reading it. */
	assert_int_equal(chmod(t_file("passwd"), 0644), 0);
	t_write(t_file("secret.yaml"), "good: 's3cret pass'\n"
	    "wrong: 'guessed'\n");
	t_write_auth_conf(t_file("auth.yaml"), "ztauth", "good");
	t_write_auth_conf(t_file("noauth.yaml"), "ztnoauth", "wrong");
}

static void
t_write_configs(void)
{
	char	 text[2048];
	int	 n;

	t_write_auth();
	t_write_legacy_conf();
	n = snprintf(text, sizeof(text), "per_listener_settings true\n"
	    "persistence false\n"
	    "listener %d 127.0.0.1\nallow_anonymous true\n"
	    "listener %d 127.0.0.1\nallow_anonymous false\n"
	    "password_file %s\n", T.port, T.auth_port, t_file("passwd"));
	if (T.tls_port != 0) {
		snprintf(text + n, sizeof(text) - (size_t)n,
		    "listener %d 127.0.0.1\nallow_anonymous true\n"
		    "cafile %s\ncertfile %s\nkeyfile %s\n", T.tls_port,
		    t_file("ca.pem"), t_file("srv.pem"), t_file("srv.key"));
		t_write_daemon_conf(t_file("tls.yaml"), "zts",
		    t_file("ca.pem"));
		t_write_daemon_conf(t_file("bad.yaml"), "ztbad",
		    t_file("other.pem"));
	}
	t_write(T.broker_conf, text);
	snprintf(text, sizeof(text),
	    "mqtt:\n  base_topic: zt\n  server: mqtt://127.0.0.1:%d\n"
	    "  client_id: zotad-mqtt-test\n"
	    "homeassistant:\n  enabled: true\n"
	    "zotad:\n  run_dir: %s/run\n  user_mqtt: nobody\n"
	    "devices:\n"
	    "  '" T_LAMP "':\n    friendly_name: '" T_LAMP_NAME "'\n"
	    "    retain: true\n"
	    "  '" T_SWITCH "':\n    friendly_name: '" T_SWITCH_NAME "'\n"
	    "    qos: 1\n", T.port, T.dir);
	t_write(T.conf, text);
}

static const char *
t_daemon_path(void)
{
	static char	 path[256];
	const char	*b;

	if ((b = getenv("BUILD")) == NULL)
		b = "build";
	snprintf(path, sizeof(path), "%s/bin/zotad-mqtt", b);
	return (path);
}

/* Whether bridge/devices (on topic ARG, zt's when NULL) lists all three. */
static int
t_bridge_devices(void *arg)
{
	struct t_want	 w = { arg != NULL ? arg : "zt/bridge/devices", NULL };
	cJSON		*j;
	int		 n;

	while (t_have(&w)) {
		j = cJSON_Parse(w.found->payload);
		n = cJSON_GetArraySize(j);
		cJSON_Delete(j);
		t_msg_free(w.found);
		w.found = NULL;
		if (n == 3)
			return (1);
	}
	return (0);
}

static int
t_cli_connected(void *arg)
{
	(void)arg;
	return (mqc_connected(T.cli));
}

static int
t_setup(void **state)
{
	char	*argv[] = { NULL, "-d", "-v", "-f", T.conf, NULL };
	static const struct mqc_cbs cbs = { t_on_connected, t_on_message };

	(void)state;
	memset(&T, 0, sizeof(T));
	TAILQ_INIT(&T.msgs);
	signal(SIGPIPE, SIG_IGN);
	log_init("test_mqtt", 1, getenv("T_VERBOSE") != NULL);
	if (access(t_daemon_path(), X_OK) == -1) {
		fprintf(stderr, "# %s not built\n", t_daemon_path());
		return (-1);
	}
	assert_non_null(T.base = event_base_new());
	snprintf(T.dir, sizeof(T.dir), "/tmp/test_mqtt.XXXXXX");
	assert_non_null(mkdtemp(T.dir));
	/* The daemon may run as nobody: it must reach radio.sock. */
	assert_int_equal(chmod(T.dir, 0755), 0);
	snprintf(T.sock, sizeof(T.sock), "%s/run", T.dir);
	assert_int_equal(mkdir(T.sock, 0755), 0);
	snprintf(T.sock, sizeof(T.sock), "%s/run/radio.sock", T.dir);
	snprintf(T.conf, sizeof(T.conf), "%s/configuration.yaml", T.dir);
	snprintf(T.broker_conf, sizeof(T.broker_conf), "%s/mosquitto.conf",
	    T.dir);
	T.port = suite_free_port();
	T.auth_port = suite_free_port();
	if (t_make_certs() == 0)
		T.tls_port = suite_free_port();
	else
		fprintf(stderr, "# no openssl to make certificates: the TLS "
		    "case will be skipped\n");
	t_write_configs();
	t_broker_start();

	t_script(M_LIST, NULL, t_devices);
	t_radio_start();

	T.cm.server = "mqtt://127.0.0.1";
	T.cm.host = "127.0.0.1";
	T.cm.port = T.port;
	T.cm.keepalive = 60;
	T.cm.version = 4;
	assert_non_null(T.cli = mqc_new(T.base, &T.cm, NULL, NULL, &cbs,
	    NULL));
	mqc_start(T.cli);
	assert_true(t_run_until(t_cli_connected, NULL, T_TIMEOUT));

	argv[0] = (char *)(uintptr_t)t_daemon_path();
	T.daemon = t_spawn(argv);
	if (!t_run_until(t_bridge_devices, NULL, T_TIMEOUT))
		fail_msg("zotad-mqtt did not publish its three devices");
	assert_int_equal(T.nsubs, 1);
	return (0);
}

static int
t_teardown(void **state)
{
	int	 i, status, rv = 0;

	(void)state;
	status = t_reap(&T.daemon);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		print_message("# zotad-mqtt ended with wait status %#x\n",
		    status);
		rv = -1;
	}
	if (T.cli != NULL) {
		mqc_stop(T.cli);
		mqc_free(T.cli);
	}
	t_reap(&T.broker);
	if (T.srv != NULL)
		t_radio_stop();
	t_drain();
	for (i = 0; i < M_COUNT; i++) {
		free(T.reply[i]);
		cJSON_Delete(T.params[i]);
	}
	free(T.image);
	unlink(T.sock);
	for (i = 0; t_files[i] != NULL; i++)
		unlink(t_file(t_files[i]));
	unlink(T.conf);
	unlink(T.broker_conf);
	snprintf(T.sock, sizeof(T.sock), "%s/run", T.dir);
	rmdir(T.sock);
	rmdir(T.dir);
	if (T.base != NULL)
		event_base_free(T.base);
	return (rv);
}

/* Each case starts from an empty queue and a neutral script. */
static int
t_case(void **state)
{
	int	 i;

	(void)state;
	t_drain();
	for (i = M_CHECK; i < M_SUBSCRIBE; i++) {
		t_script((enum t_method)i, NULL, "{}");
		T.hold[i] = 0;
	}
	return (0);
}

/*
 * The cases.
 */

/* bridge/state and bridge/devices are retained, with what users pick by. */
static void
t_bridge(void **state)
{
	struct t_msg	*m;
	cJSON		*j, *d;

	(void)state;
	assert_int_equal(mqc_subscribe(T.cli, "zt/bridge/+", 1), 0);
	m = t_wait("zt/bridge/state");
	assert_true(m->retained);
	assert_string_equal(m->payload, "{\"state\":\"online\"}");
	t_msg_free(m);
	m = t_wait("zt/bridge/devices");
	assert_true(m->retained);
	assert_non_null(j = cJSON_Parse(m->payload));
	t_msg_free(m);
	assert_int_equal(cJSON_GetArraySize(j), 3);
	cJSON_ArrayForEach(d, j) {
		if (strcmp(t_str(d, "ieee_address"), T_LAMP) == 0) {
			assert_string_equal(t_str(d, "friendly_name"),
			    T_LAMP_NAME);
			assert_string_equal(t_str(d, "type"), "Router");
			assert_string_equal(t_str(d, "model_id"),
			    "LED1545G12");
			assert_string_equal(t_str(d, "manufacturer"),
			    "IKEA of Sweden");
			assert_string_equal(t_str(d, "software_build_id"),
			    "2.3.087");
			assert_int_equal(t_num(d, "installed_version"),
			    16909060);
			assert_true(t_bool(cJSON_GetObjectItem(d,
			    "definition"), "supports_ota"));
		} else if (strcmp(t_str(d, "ieee_address"), T_PLUG) == 0) {
			/* No name in the configuration: the address. */
			assert_string_equal(t_str(d, "friendly_name"),
			    T_PLUG);
			assert_false(t_bool(cJSON_GetObjectItem(d,
			    "definition"), "supports_ota"));
		} else
			assert_string_equal(t_str(d, "friendly_name"),
			    T_SWITCH_NAME);
	}
	cJSON_Delete(j);
	assert_int_equal(mqc_subscribe(T.cli, "zt/bridge/#", 1), 0);
}

/* One update entity per OTA-capable device, checked field by field. */
static void
t_discovery(void **state)
{
	struct t_msg	*m;
	cJSON		*j, *a, *dev;

	(void)state;
	assert_int_equal(mqc_subscribe(T.cli, "homeassistant/update/+/+/+",
	    1), 0);
	j = t_wait_json("homeassistant/update/" T_LAMP "/update/config");
	assert_string_equal(t_str(j, "device_class"), "firmware");
	assert_string_equal(t_str(j, "entity_category"), "config");
	assert_string_equal(t_str(j, "unique_id"), T_LAMP "_update_zotad");
	assert_string_equal(t_str(j, "state_topic"), "zt/" T_LAMP_NAME);
	assert_string_equal(t_str(j, "command_topic"),
	    "zt/bridge/request/device/ota_update/update");
	assert_string_equal(t_str(j, "payload_install"),
	    "{\"id\":\"" T_LAMP "\"}");
	assert_string_equal(t_str(j, "title"), "LED1545G12");
	assert_non_null(strstr(t_str(j, "value_template"),
	    "'installed_version'"));
	assert_non_null(strstr(t_str(j, "value_template"),
	    "'latest_version'"));
	assert_non_null(strstr(t_str(j, "value_template"),
	    "'in_progress': u['state'] == 'updating'"));
	assert_non_null(strstr(t_str(j, "value_template"),
	    "'update_percentage': u.get('progress')"));
	assert_non_null(strstr(t_str(j, "value_template"),
	    "'release_summary': (n[:255]"));
	assert_non_null(strstr(t_str(j, "value_template"), "'release_url'"));
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "availability"), 0);
	assert_string_equal(t_str(a, "topic"), "zt/bridge/state");
	assert_string_equal(t_str(a, "value_template"),
	    "{{ value_json.state }}");
	dev = cJSON_GetObjectItem(j, "device");
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev,
	    "identifiers"), 0)->valuestring, T_LAMP);
	assert_string_equal(t_str(dev, "name"), T_LAMP_NAME);
	assert_string_equal(t_str(dev, "manufacturer"), "IKEA of Sweden");
	assert_string_equal(t_str(dev, "model"), "LED1545G12");
	assert_string_equal(t_str(dev, "sw_version"), "2.3.087");
	assert_string_equal(t_str(j, "origin.name"), "zotad");
	cJSON_Delete(j);

	/* Home Assistant coming back online gets everything again. */
	t_drain();
	t_publish_to("homeassistant/status", "online");
	j = t_wait_json("homeassistant/update/" T_LAMP "/update/config");
	assert_string_equal(t_str(j, "state_topic"), "zt/" T_LAMP_NAME);
	cJSON_Delete(j);

	/* A device without an OTA client has no entity. */
	m = t_wait_ms("homeassistant/update/" T_PLUG "/update/config", 300);
	assert_true(m == NULL || m->len == 0);
	if (m != NULL)
		t_msg_free(m);
}

static void
t_check_bare(void **state)
{
	cJSON	*r, *s;

	(void)state;
	t_script(M_CHECK, NULL, "{\"update_available\": true, \"entry\": "
	    "{\"fileVersion\": 16909061, \"url\": "
	    "\"https://example.org/lamp.ota\", \"releaseNotes\": "
	    "\"Fixes flicker\", \"source\": \"main\"}}");
	r = t_request("check", T_LAMP_NAME, "check");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_null(cJSON_GetObjectItem(r, "transaction"));
	s = cJSON_GetObjectItem(r, "data");
	assert_string_equal(t_str(s, "id"), T_LAMP_NAME);
	assert_true(t_bool(s, "update_available"));
	assert_true(t_bool(s, "updateAvailable"));
	assert_false(t_bool(s, "downgrade"));
	assert_string_equal(t_str(s, "source"),
	    "https://example.org/lamp.ota");
	assert_string_equal(t_str(s, "release_notes"), "Fixes flicker");
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_CHECK], "ieee"), T_LAMP);
	assert_false(t_bool(T.params[M_CHECK], "downgrade"));

	s = t_wait_state("zt/" T_LAMP_NAME, "available");
	assert_int_equal(t_num(s, "update.installed_version"), 16909060);
	assert_int_equal(t_num(s, "update.latest_version"), 16909061);
	assert_string_equal(t_str(s, "update.latest_source"),
	    "https://example.org/lamp.ota");
	assert_string_equal(t_str(s, "update.latest_release_notes"),
	    "Fixes flicker");
	assert_null(cJSON_GetObjectItem(s, "update_available"));
	cJSON_Delete(s);
}

/* JSON payloads: every kind of transaction comes back as sent. */
static void
t_check_json(void **state)
{
	static const char *const trs[] = {
		"1", "\"abc\"", "{\"n\":[1,2]}", "null", "false"
	};
	char		 payload[256], *want;
	cJSON		*r;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(trs) / sizeof(trs[0]); i++) {
		snprintf(payload, sizeof(payload), "{\"id\": \"%s\", "
		    "\"transaction\": %s}", T_SWITCH_NAME, trs[i]);
		r = t_request("check", payload, "check");
		assert_string_equal(t_str(r, "status"), "ok");
		assert_non_null(want = cJSON_PrintUnformatted(
		    cJSON_GetObjectItem(r, "transaction")));
		assert_string_equal(want, trs[i]);
		free(want);
		assert_false(t_bool(cJSON_GetObjectItem(r, "data"),
		    "update_available"));
		cJSON_Delete(r);
	}
	/* By IEEE address in capitals, downgrade, with a url. */
	r = t_request("check/downgrade", "{\"id\": \"0x00124B00AAAAAAAA\", "
	    "\"url\": \"https://example.org/index1.json\"}", "check");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_true(t_bool(cJSON_GetObjectItem(r, "data"), "downgrade"));
	assert_string_equal(t_str(r, "data.id"), "0x00124B00AAAAAAAA");
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_CHECK], "ieee"), T_SWITCH);
	assert_true(t_bool(T.params[M_CHECK], "downgrade"));
	assert_string_equal(t_str(T.params[M_CHECK], "url"),
	    "https://example.org/index1.json");
	/* Its state goes out at the device's QoS, not retained. */
	r = t_wait_state("zt/" T_SWITCH_NAME, "idle");
	cJSON_Delete(r);
}

/* Bad requests get an error and never reach the radio. */
static void
t_request_errors(void **state)
{
	static const struct {
		const char	*verb;
		const char	*payload;
		const char	*resp;
		const char	*error;
	} cases[] = {
		{ "check", "{\"id\": \"x\"", "check",
		    "Invalid payload: not valid JSON" },
		{ "update", "{\"transaction\": 5}", "update",
		    "Invalid payload: 'id' is missing" },
		{ "check", "{\"id\": 7, \"transaction\": 5}", "check",
		    "Invalid payload: 'id' must be a string, the friendly "
		    "name or IEEE address" },
		{ "check", "{\"id\": \"nobody here\", \"transaction\": 5}",
		    "check", "Device 'nobody here' does not exist" },
		{ "schedule", "0x00124b00deadbeef", "schedule",
		    "Device '0x00124b00deadbeef' does not exist" },
		{ "update", "{\"id\": \"" T_PLUG "\", \"transaction\": 5}",
		    "update", "Device '" T_PLUG "' does not support OTA "
		    "updates" },
		{ "update", "{\"id\": \"" T_LAMP_NAME "\", \"url\": 3, "
		    "\"transaction\": 5}", "update",
		    "Invalid payload: 'url' must be a string" },
		{ "update", "{\"id\": \"" T_LAMP_NAME "\", "
		    "\"default_maximum_data_size\": 5000, \"transaction\": 5}",
		    "update", "Invalid payload: 'default_maximum_data_size' "
		    "must be a whole number from 10 to 100" },
		{ "check/abort", "{\"id\": \"" T_LAMP_NAME "\", "
		    "\"transaction\": 5}", "check", "Invalid topic: "
		    "'.../ota_update/check/abort' is not a request" },
		{ "unschedule", "", "unschedule", "Invalid payload: empty, "
		    "expected a device name, an IEEE address or "
		    "{\"id\": ...}" },
	};
	cJSON	*r;
	size_t	 i;
	int	 before[M_COUNT];

	(void)state;
	memcpy(before, T.calls, sizeof(before));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = t_request(cases[i].verb, cases[i].payload,
		    cases[i].resp);
		t_assert_error(r, cases[i].error);
		if (strstr(cases[i].payload, "transaction") != NULL)
			assert_int_equal(t_num(r, "transaction"), 5);
		cJSON_Delete(r);
	}
	assert_memory_equal(before, T.calls, sizeof(before));

	/* The daemon carries on: a good request still works. */
	r = t_request("check", T_LAMP, "check");
	assert_string_equal(t_str(r, "status"), "ok");
	cJSON_Delete(r);
}

static void
t_update(void **state)
{
	cJSON	*r, *p;

	(void)state;
	t_script(M_UPDATE, NULL, "{\"from\": {\"file_version\": 16909060, "
	    "\"software_build_id\": \"2.3.087\", \"date_code\": \"20200101\"}, "
	    "\"to\": {\"file_version\": 16909061, \"software_build_id\": "
	    "\"2.3.091\", \"date_code\": \"20210101\"}}");
	r = t_request("update", "{\"id\": \"" T_LAMP_NAME "\", "
	    "\"transaction\": \"u1\", \"image_block_request_timeout\": 20000, "
	    "\"image_block_response_delay\": 100, "
	    "\"default_maximum_data_size\": 64}", "update");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_string_equal(t_str(r, "transaction"), "u1");
	assert_string_equal(t_str(r, "data.id"), T_LAMP_NAME);
	assert_int_equal(t_num(r, "data.from.file_version"), 16909060);
	assert_string_equal(t_str(r, "data.from.software_build_id"),
	    "2.3.087");
	assert_string_equal(t_str(r, "data.from.date_code"), "20200101");
	assert_int_equal(t_num(r, "data.to.file_version"), 16909061);
	assert_string_equal(t_str(r, "data.to.software_build_id"),
	    "2.3.091");
	assert_string_equal(t_str(r, "data.to.date_code"), "20210101");
	cJSON_Delete(r);

	p = T.params[M_UPDATE];
	assert_string_equal(t_str(p, "ieee"), T_LAMP);
	assert_false(t_bool(p, "downgrade"));
	assert_int_equal(t_num(p, "image_block_request_timeout"), 20000);
	assert_int_equal(t_num(p, "image_block_response_delay"), 100);
	assert_int_equal(t_num(p, "default_maximum_data_size"), 64);

	r = t_wait_state("zt/" T_LAMP_NAME, "idle");
	assert_int_equal(t_num(r, "update.installed_version"), 16909061);
	assert_int_equal(t_num(r, "update.latest_version"), 16909061);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(r,
	    "update"), "latest_source")));
	cJSON_Delete(r);

	r = t_request("update/downgrade", T_SWITCH_NAME, "update");
	assert_string_equal(t_str(r, "status"), "ok");
	cJSON_Delete(r);
	assert_true(t_bool(T.params[M_UPDATE], "downgrade"));
	assert_null(cJSON_GetObjectItem(T.params[M_UPDATE],
	    "image_block_response_delay"));
}

/* What the radio says went wrong, in the words users search for. */
static void
t_radio_errors(void **state)
{
	static const struct {
		enum t_method	 m;
		const char	*verb;
		const char	*resp;
		const char	*error;
		const char	*params;
		const char	*want;
	} cases[] = {
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_NO_RESPONSE,
		    "{\"message\": \"Device didn't respond to OTA request\"}",
		    "OTA update of '" T_LAMP_NAME "' failed (Device "
		    "didn't respond to OTA request)" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_UPDATE_FAILED,
		    "{\"message\": \"Update failed with reason: 'aborted by "
		    "device'\"}", "OTA update of '" T_LAMP_NAME "' failed "
		    "(Update failed with reason: 'aborted by device')" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_UPDATE_FAILED,
		    "{\"status\": \"INVALID_IMAGE\"}", "OTA update of '"
		    T_LAMP_NAME "' failed (Update failed with reason: "
		    "'invalid image')" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_NO_IMAGE,
		    "{\"message\": \"no image\"}", "Update of '" T_LAMP_NAME
		    "' failed (No image currently available)" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_DEVICE_BUSY,
		    NULL, "OTA update or check for update already in "
		    "progress for '" T_LAMP_NAME "'" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_NO_SUCH_DEVICE,
		    "{\"message\": \"no device\"}", "Device '" T_LAMP_NAME
		    "' does not exist" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_BATTERY_LOW,
		    "{\"message\": \"the battery level is 5%\"}",
		    "OTA update of '" T_LAMP_NAME "' failed (the battery "
		    "level is 5%)" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_ABORTED,
		    "{\"message\": \"Update aborted\"}", "OTA update of '"
		    T_LAMP_NAME "' failed (Update aborted)" },
		{ M_UPDATE, "update", "update", IPC_RADIO_ERR_NOT_RUNNING,
		    NULL, "OTA update of '" T_LAMP_NAME "' failed (the Zigbee "
		    "network is not running)" },
		{ M_CHECK, "check", "check", IPC_RADIO_ERR_NO_RESPONSE,
		    NULL, "Failed to check if update available for '"
		    T_LAMP_NAME "' (Device didn't respond to OTA request)" },
		{ M_CHECK, "check", "check", IPC_RADIO_ERR_FETCH_UNAVAILABLE,
		    "{\"message\": \"zotad-fetch is not running\"}",
		    "Failed to check if update available for '" T_LAMP_NAME
		    "' (zotad-fetch is not running)" },
		{ M_SCHEDULE, "schedule", "schedule",
		    IPC_RADIO_ERR_NO_IMAGE, NULL,
		    "No image available for '" T_LAMP_NAME "'" },
		{ M_ABORT, "update/abort", "update",
		    IPC_RADIO_ERR_NOT_SUPPORTED, "{\"message\": \"no update in "
		    "progress for this device\"}",
		    "No OTA in progress to abort for device '" T_LAMP_NAME
		    "'" },
	};
	cJSON	*r;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t_script(cases[i].m, cases[i].error, cases[i].params);
		r = t_request(cases[i].verb, "{\"id\": \"" T_LAMP_NAME "\", "
		    "\"transaction\": 9}", cases[i].resp);
		t_assert_error(r, cases[i].want);
		assert_int_equal(t_num(r, "transaction"), 9);
		cJSON_Delete(r);
		t_script(cases[i].m, NULL, "{}");
	}
	/* A failed update leaves the device with an update available. */
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": \"idle\"}");
	r = t_wait_state("zt/" T_LAMP_NAME, "idle");
	cJSON_Delete(r);
	t_script(M_UPDATE, IPC_RADIO_ERR_NO_RESPONSE, NULL);
	cJSON_Delete(t_request("update", T_LAMP_NAME, "update"));
	r = t_wait_state("zt/" T_LAMP_NAME, "available");
	cJSON_Delete(r);
}

static void
t_schedule_abort(void **state)
{
	cJSON	*r;
	int	 before;

	(void)state;
	r = t_request("schedule/downgrade", "{\"id\": \"" T_LAMP_NAME "\"}",
	    "schedule");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_string_equal(t_str(r, "data.id"), T_LAMP_NAME);
	cJSON_Delete(r);
	assert_true(t_bool(T.params[M_SCHEDULE], "downgrade"));
	r = t_wait_state("zt/" T_LAMP_NAME, "scheduled");
	cJSON_Delete(r);

	/* A source of its own goes with the schedule and comes back. */
	t_script(M_SCHEDULE, NULL,
	    "{\"url\": \"https://example.org/old.ota\"}");
	r = t_request("schedule", "{\"id\": \"" T_LAMP_NAME "\", "
	    "\"url\": \"https://example.org/old.ota\", \"transaction\": 4}",
	    "schedule");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_string_equal(t_str(r, "data.url"),
	    "https://example.org/old.ota");
	assert_int_equal(t_num(r, "transaction"), 4);
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_SCHEDULE], "url"),
	    "https://example.org/old.ota");
	assert_null(cJSON_GetObjectItem(T.params[M_SCHEDULE], "image_fd"));
	/* An uploaded image travels whole; the answer names its file. */
	t_script(M_SCHEDULE, NULL, "{\"url\": \"/var/lib/zotad/radio/"
	    "schedule-00124b0012345678.ota\"}");
	r = t_request("schedule", "{\"id\": \"" T_LAMP_NAME "\", \"hex\": "
	    "{\"data\": \"1ef1ee0bFF00\"}}", "schedule");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_string_equal(t_str(r, "data.url"), "/var/lib/zotad/radio/"
	    "schedule-00124b0012345678.ota");
	cJSON_Delete(r);
	assert_true(t_bool(T.params[M_SCHEDULE], "image_fd"));
	assert_null(cJSON_GetObjectItem(T.params[M_SCHEDULE], "url"));
	assert_int_equal(T.image_len, 6);
	assert_memory_equal(T.image, "\x1e\xf1\xee\x0b\xff\x00", 6);
	/* Both at once is not a request. */
	before = T.calls[M_SCHEDULE];
	r = t_request("schedule", "{\"id\": \"" T_LAMP_NAME "\", \"hex\": "
	    "{\"data\": \"1ef1\"}, \"url\": \"x.ota\"}", "schedule");
	t_assert_error(r, "Invalid payload: 'url' and 'hex' cannot be used "
	    "together");
	cJSON_Delete(r);
	assert_int_equal(T.calls[M_SCHEDULE], before);

	r = t_request("unschedule", "{\"id\": \"" T_LAMP_NAME "\", "
	    "\"transaction\": 2}", "unschedule");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_int_equal(t_num(r, "transaction"), 2);
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_UNSCHEDULE], "ieee"), T_LAMP);
	r = t_wait_state("zt/" T_LAMP_NAME, "idle");
	cJSON_Delete(r);

	/* An abort that works answers on update/abort. */
	r = t_request("update/abort", T_LAMP_NAME, "update/abort");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_string_equal(t_str(r, "data.id"), T_LAMP_NAME);
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_ABORT], "ieee"), T_LAMP);
	r = t_wait_state("zt/" T_LAMP_NAME, "available");
	cJSON_Delete(r);
}

/* A "hex" upload reaches the radio as the very bytes sent. */
static void
t_hex_upload(void **state)
{
	cJSON	*r;

	(void)state;
	r = t_request("update", "{\"id\": \"" T_LAMP_NAME "\", \"hex\": "
	    "{\"data\": \"1ef1ee0bFF00\", \"file_name\": \"mine.ota\"}}",
	    "update");
	assert_string_equal(t_str(r, "status"), "ok");
	cJSON_Delete(r);
	assert_int_equal(T.image_len, 6);
	assert_memory_equal(T.image, "\x1e\xf1\xee\x0b\xff\x00", 6);
	assert_true(t_bool(T.params[M_UPDATE], "image_fd"));
}

static void
t_hex_fixture(void **state)
{
	char		 path[512], sha[SHA512_HEX_LEN + 1];
	char		 got[SHA512_HEX_LEN + 1], *payload;
	const char	*dir;
	uint8_t		*buf;
	size_t		 len, n;
	cJSON		*r;

	(void)state;
	if ((dir = getenv("ZOTAD_FIXTURES")) == NULL)
		dir = "../shared/fixtures/zigbee-ota";
	snprintf(path, sizeof(path), "%s/images/%s", dir, T_FIXTURE);
	if (util_read_file(path, 32 * 1024 * 1024, &buf, &len) == -1) {
		print_message("# fixtures not found at %s\n", dir);
		skip();
	}
	util_sha512_hex(buf, len, sha);
	assert_non_null(payload = malloc(2 * len + 64));
	n = (size_t)snprintf(payload, 64, "{\"id\":\"%s\",\"hex\":{\"data\":\"",
	    T_LAMP);
	util_hex(buf, len, payload + n);
	strcat(payload, "\"}}");
	free(buf);
	r = t_request("update", payload, "update");
	free(payload);
	assert_string_equal(t_str(r, "status"), "ok");
	cJSON_Delete(r);
	assert_int_equal(T.image_len, len);
	util_sha512_hex(T.image, T.image_len, got);
	assert_string_equal(got, sha);
}

/* Progress goes out at once when it starts, then at most every 5 s. */
static void
t_progress(void **state)
{
	char		 ev[256];
	cJSON		*s;
	struct t_msg	*m;
	int		 i, seen;

	(void)state;
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": \"updating\", \"progress\": 0, \"remaining\": "
	    "600, \"installed_version\": 16909061, \"latest_version\": "
	    "16909062}");
	s = t_wait_state("zt/" T_LAMP_NAME, "updating");
	assert_int_equal(t_num(s, "update.progress"), 0);
	assert_int_equal(t_num(s, "update.remaining"), 600);
	cJSON_Delete(s);
	for (i = 1; i <= 10; i++) {
		snprintf(ev, sizeof(ev), "{\"type\": \"update\", \"ieee\": "
		    "\"" T_LAMP "\", \"state\": \"updating\", "
		    "\"progress\": %d.126, \"remaining\": %d}", i, 600 - i);
		t_event(ev);
	}
	/* The last value arrives, and not one message per event. */
	for (seen = 0; seen < 10; seen++) {
		m = t_wait_ms("zt/" T_LAMP_NAME, 2 * 1000 *
		    MQDEV_PROGRESS_EVERY);
		assert_non_null(m);
		assert_non_null(s = cJSON_Parse(m->payload));
		t_msg_free(m);
		i = t_num(s, "update.progress") == 10.13;
		cJSON_Delete(s);
		if (i)
			break;
	}
	assert_true(seen < 3);

	/* The end of a transfer is not held back. */
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": \"idle\", \"installed_version\": 16909062, "
	    "\"latest_version\": 16909062}");
	s = t_wait_state("zt/" T_LAMP_NAME, "idle");
	assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(s, "update"),
	    "progress"));
	assert_int_equal(t_num(s, "update.installed_version"), 16909062);
	cJSON_Delete(s);
}

/* The lamp's state is retained (its "retain" option), the switch's not. */
static void
t_retained(void **state)
{
	struct t_msg	*m;

	(void)state;
	assert_int_equal(mqc_subscribe(T.cli, "zt/" T_LAMP_NAME, 1), 0);
	m = t_wait("zt/" T_LAMP_NAME);
	assert_true(m->retained);
	assert_non_null(strstr(m->payload, "\"update\":{\"state\":"));
	t_msg_free(m);
	assert_int_equal(mqc_subscribe(T.cli, "zt/" T_SWITCH_NAME, 1), 0);
	assert_int_equal(mqc_subscribe(T.cli, "zt/bridge/state", 1), 0);
	m = t_wait("zt/bridge/state");
	t_msg_free(m);
	assert_null(t_wait_ms("zt/" T_SWITCH_NAME, 200));
}

static void
t_join_leave(void **state)
{
	struct t_msg	*m;
	cJSON		*j;

	(void)state;
	t_script(M_GET, NULL, "{\"device\": {\"ieee\": \"" T_NEW "\", "
	    "\"type\": \"router\", \"model_id\": \"bulb\", "
	    "\"manufacturer_name\": \"ACME\", \"interview\": \"done\", "
	    "\"ota_endpoint\": 1, \"update\": {\"state\": "
	    "\"waiting for device\"}}}");
	t_event("{\"type\": \"device\", \"ieee\": \"" T_NEW "\", "
	    "\"event\": \"interviewed\"}");
	j = t_wait_json("homeassistant/update/" T_NEW "/update/config");
	assert_string_equal(t_str(j, "state_topic"), "zt/" T_NEW);
	cJSON_Delete(j);
	j = t_wait_json("zt/bridge/devices");
	assert_int_equal(cJSON_GetArraySize(j), 4);
	cJSON_Delete(j);
	j = t_wait_json("zt/" T_NEW);
	assert_string_equal(t_str(j, "update.state"), "waiting");
	cJSON_Delete(j);
	assert_string_equal(t_str(T.params[M_GET], "ieee"), T_NEW);

	/* Requests reach a device that joined meanwhile. */
	j = t_request("check", T_NEW, "check");
	assert_string_equal(t_str(j, "status"), "ok");
	cJSON_Delete(j);

	t_event("{\"type\": \"device\", \"ieee\": \"" T_NEW "\", "
	    "\"event\": \"left\"}");
	m = t_wait("homeassistant/update/" T_NEW "/update/config");
	assert_int_equal(m->len, 0);
	assert_true(m->len == 0);
	t_msg_free(m);
	j = t_wait_json("zt/bridge/devices");
	assert_int_equal(cJSON_GetArraySize(j), 3);
	cJSON_Delete(j);
	j = t_request("check", T_NEW, "check");
	t_assert_error(j, "Device '" T_NEW "' does not exist");
	cJSON_Delete(j);

	/* A malformed event is refused and changes nothing. */
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": 5}");
	t_event("{\"type\": \"device\", \"ieee\": 5}");
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": \"updating\", \"progress\": \"half\"}");
	j = t_request("check", T_LAMP_NAME, "check");
	assert_string_equal(t_str(j, "status"), "ok");
	cJSON_Delete(j);
}

static void
t_permit_join(void **state)
{
	cJSON	*r;
	int	 before;

	(void)state;
	t_publish("bridge/request/permit_join", "{\"time\": 60, "
	    "\"transaction\": 7}");
	r = t_wait_json("zt/bridge/response/permit_join");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_int_equal(t_num(r, "data.time"), 60);
	assert_int_equal(t_num(r, "transaction"), 7);
	cJSON_Delete(r);
	assert_int_equal(t_num(T.params[M_PERMIT], "time"), 60);

	assert_null(cJSON_GetObjectItem(T.params[M_PERMIT], "ieee"));

	/* Through one router: the radio gets its address. */
	t_publish("bridge/request/permit_join", "{\"time\": 30, "
	    "\"device\": \"" T_LAMP_NAME "\", \"transaction\": 8}");
	r = t_wait_json("zt/bridge/response/permit_join");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_int_equal(t_num(r, "data.time"), 30);
	assert_string_equal(t_str(r, "data.device"), T_LAMP_NAME);
	assert_int_equal(t_num(r, "transaction"), 8);
	cJSON_Delete(r);
	assert_int_equal(t_num(T.params[M_PERMIT], "time"), 30);
	assert_string_equal(t_str(T.params[M_PERMIT], "ieee"), T_LAMP);
	/* Through the coordinator, by zigbee2mqtt's name for it. */
	t_publish("bridge/request/permit_join", "{\"time\": 10, "
	    "\"device\": \"Coordinator\"}");
	r = t_wait_json("zt/bridge/response/permit_join");
	assert_string_equal(t_str(r, "data.device"), "Coordinator");
	cJSON_Delete(r);
	assert_true(t_bool(T.params[M_PERMIT], "coordinator"));
	/* Unknown here, or unknown to the radio: the device is named. */
	before = T.calls[M_PERMIT];
	t_publish("bridge/request/permit_join", "{\"time\": 30, "
	    "\"device\": \"attic\"}");
	r = t_wait_json("zt/bridge/response/permit_join");
	t_assert_error(r, "Device 'attic' does not exist");
	cJSON_Delete(r);
	assert_int_equal(T.calls[M_PERMIT], before);
	t_script(M_PERMIT, IPC_RADIO_ERR_NO_SUCH_DEVICE, "{\"message\": "
	    "\"no device\"}");
	t_publish("bridge/request/permit_join", "{\"time\": 30, "
	    "\"device\": \"0x00124B00DDDDDDDD\"}");
	r = t_wait_json("zt/bridge/response/permit_join");
	t_assert_error(r, "Device '0x00124B00DDDDDDDD' does not exist");
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_PERMIT], "ieee"),
	    "0x00124b00dddddddd");
	t_script(M_PERMIT, IPC_RADIO_ERR_NOT_SUPPORTED, "{\"message\": "
	    "\"" T_SWITCH " is an end device\"}");
	t_publish("bridge/request/permit_join", "{\"time\": 30, "
	    "\"device\": \"" T_SWITCH_NAME "\"}");
	r = t_wait_json("zt/bridge/response/permit_join");
	t_assert_error(r, "Failed to permit join (" T_SWITCH " is an end "
	    "device)");
	cJSON_Delete(r);
	t_script(M_PERMIT, NULL, "{}");

	t_publish("bridge/request/permit_join", "false");
	r = t_wait_json("zt/bridge/response/permit_join");
	assert_int_equal(t_num(r, "data.time"), 0);
	cJSON_Delete(r);

	t_publish("bridge/request/permit_join", "{\"time\": 999, "
	    "\"transaction\": \"p\"}");
	r = t_wait_json("zt/bridge/response/permit_join");
	t_assert_error(r, "Invalid payload: 'time' must be a whole number "
	    "of seconds from 0 to 254");
	assert_string_equal(t_str(r, "transaction"), "p");
	cJSON_Delete(r);
}

struct t_burst {
	char	 seen[T_BURST];
	int	 n;
	int	 bad;
};

static int
t_burst_done(void *arg)
{
	struct t_burst	*b = arg;
	struct t_msg	*m, *next;
	cJSON		*j, *t;

	for (m = TAILQ_FIRST(&T.msgs); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (strcmp(m->topic, T_RESP "check") != 0)
			continue;
		TAILQ_REMOVE(&T.msgs, m, entry);
		T.nmsgs--;
		j = cJSON_Parse(m->payload);
		t = cJSON_GetObjectItem(j, "transaction");
		if (!cJSON_IsNumber(t) || t->valueint < 0 ||
		    t->valueint >= T_BURST || T.calls[M_CHECK] < 0 ||
		    strcmp(t_str(j, "status"), "ok") != 0 ||
		    b->seen[t->valueint]++)
			b->bad++;
		b->n++;
		cJSON_Delete(j);
		t_msg_free(m);
	}
	return (b->n >= T_BURST);
}

/* A thousand requests at once: each answered once, none mixed up. */
static void
t_burst(void **state)
{
	struct t_burst	*b;
	char		 payload[128];
	int		 i, before = T.calls[M_CHECK];

	(void)state;
	assert_non_null(b = calloc(1, sizeof(*b)));
	for (i = 0; i < T_BURST; i++) {
		snprintf(payload, sizeof(payload), "{\"id\": \"%s\", "
		    "\"transaction\": %d}", i % 2 ? T_LAMP_NAME : T_SWITCH, i);
		t_publish(T_OTA "check", payload);
	}
	assert_true(t_run_until(t_burst_done, b, 30 * 1000));
	assert_int_equal(b->bad, 0);
	assert_int_equal(b->n, T_BURST);
	assert_int_equal(T.calls[M_CHECK] - before, T_BURST);
	free(b);
}

static int
t_both_connected(void *arg)
{
	struct t_want	 w = { "zt/bridge/state", NULL };
	int		*online = arg;

	while (t_have(&w)) {
		if (strcmp(w.found->payload, "{\"state\":\"online\"}") == 0)
			*online = 1;
		t_msg_free(w.found);
		w.found = NULL;
	}
	return (*online && mqc_connected(T.cli));
}

/* The broker goes away and comes back: everything is published again. */
static void
t_broker_restart(void **state)
{
	cJSON	*r;
	int	 online = 0;

	(void)state;
	t_reap(&T.broker);
	t_broker_start();
	assert_true(t_run_until(t_both_connected, &online, 20 * 1000));
	r = t_wait_json("zt/bridge/devices");
	assert_int_equal(cJSON_GetArraySize(r), 3);
	cJSON_Delete(r);
	r = t_request("check", "{\"id\": \"" T_LAMP_NAME "\", "
	    "\"transaction\": \"after\"}", "check");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_string_equal(t_str(r, "transaction"), "after");
	cJSON_Delete(r);
}

static int
t_listed_again(void *arg)
{
	return (T.calls[M_LIST] > *(int *)arg && T.nsubs > 0);
}

/* Without zotad-radio requests fail clearly; it is found again later. */
static void
t_radio_restart(void **state)
{
	cJSON	*r;
	int	 lists = T.calls[M_LIST], i, plain = 0;

	(void)state;
	t_radio_stop();
	unlink(T.sock);
	/*
	 * A request racing the daemon's noticing fails on its own connect;
	 * once the loss is noticed, requests are refused before that.
	 */
	for (i = 0; i < 5; i++) {
		r = t_request("check", T_LAMP_NAME, "check");
		assert_string_equal(t_str(r, "status"), "error");
		assert_non_null(strstr(t_str(r, "error"),
		    "zotad-radio is not available"));
		plain = strcmp(t_str(r, "error"), "zotad-radio is not "
		    "available, the request was not sent") == 0;
		cJSON_Delete(r);
		if (plain)
			break;
	}
	assert_true(plain);

	t_drain();
	t_radio_start();
	assert_true(t_run_until(t_listed_again, &lists, 20 * 1000));
	/* Ready once the new list is taken in and published. */
	assert_true(t_run_until(t_bridge_devices, NULL, T_TIMEOUT));
	r = t_request("check", T_LAMP_NAME, "check");
	assert_string_equal(t_str(r, "status"), "ok");
	cJSON_Delete(r);
}

static int
t_held(void *arg)
{
	(void)arg;
	return (T.held != NULL);
}

/* Start an update the stand-in holds, then take the stand-in away. */
static int
t_cut_update(const char *payload)
{
	int	 lists;

	T.hold[M_UPDATE] = 1;
	t_publish(T_OTA "update", payload);
	assert_true(t_run_until(t_held, NULL, T_TIMEOUT));
	lists = T.calls[M_LIST];
	t_radio_stop();
	return (lists);
}

/*
 * zotad-radio goes away during an update: the request waits for it,
 * attaches to the update in the radio that comes back and answers once,
 * with how the update ended there.
 */
static void
t_radio_reattach(void **state)
{
	cJSON	*r;
	int	 lists;

	(void)state;
	lists = t_cut_update("{\"id\": \"" T_LAMP_NAME "\", "
	    "\"transaction\": 5}");
	t_script(M_ATTACH, NULL, "{\"from\": {\"file_version\": 16909060}, "
	    "\"to\": {\"file_version\": 16909061, "
	    "\"software_build_id\": \"2.3.091\"}}");
	t_radio_start();
	assert_true(t_run_until(t_listed_again, &lists, 20 * 1000));
	/* The first answer is the real one: no failure came before it. */
	r = t_wait_json_ms(T_RESP "update", 20 * 1000);
	assert_string_equal(t_str(r, "status"), "ok");
	assert_int_equal(t_num(r, "transaction"), 5);
	assert_int_equal(t_num(r, "data.to.file_version"), 16909061);
	assert_string_equal(t_str(r, "data.to.software_build_id"),
	    "2.3.091");
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_ATTACH], "ieee"), T_LAMP);

	/* A radio that did not carry the update over: it was cut. */
	lists = t_cut_update(T_SWITCH_NAME);
	t_script(M_ATTACH, IPC_RADIO_ERR_NOT_IN_PROGRESS,
	    "{\"message\": \"no update of " T_SWITCH " is in progress\"}");
	t_radio_start();
	assert_true(t_run_until(t_listed_again, &lists, 20 * 1000));
	r = t_wait_json_ms(T_RESP "update", 20 * 1000);
	t_assert_error(r, "OTA update of '" T_SWITCH_NAME "' failed (the "
	    "update was interrupted: zotad-radio restarted and did not carry "
	    "it over)");
	cJSON_Delete(r);
	assert_string_equal(t_str(T.params[M_ATTACH], "ieee"), T_SWITCH);

	/*
	 * Still waiting for the radio when the daemon stops, last of all:
	 * it must go cleanly, which the teardown checks.
	 */
	(void)t_cut_update(T_LAMP_NAME);
}

static pid_t
t_daemon(const char *conf)
{
	char	*argv[] = { NULL, "-d", "-f", NULL, NULL };

	argv[0] = (char *)(uintptr_t)t_daemon_path();
	argv[3] = (char *)(uintptr_t)conf;
	return (t_spawn(argv));
}

/*
 * mqtts:// with the broker's CA and MQTT 5: requests work, and
 * legacy_api adds update_available. With another CA the daemon never
 * gets in.
 */
static void
t_tls_legacy(void **state)
{
	pid_t	 good, bad;
	cJSON	*r;

	(void)state;
	if (T.tls_port == 0)
		skip();
	assert_int_equal(mqc_subscribe(T.cli, "zts/#", 1), 0);
	assert_int_equal(mqc_subscribe(T.cli, "ztbad/#", 1), 0);
	good = t_daemon(t_file("tls.yaml"));
	bad = t_daemon(t_file("bad.yaml"));
	r = t_wait_json("zts/bridge/state");
	assert_string_equal(t_str(r, "state"), "online");
	cJSON_Delete(r);

	t_script(M_CHECK, NULL, "{\"update_available\": true, \"entry\": "
	    "{\"fileVersion\": 16909070, \"url\": \"https://x/y.ota\"}}");
	t_publish_to("zts/" T_OTA "check", "{\"id\": \"" T_LAMP_NAME "\", "
	    "\"transaction\": \"tls\"}");
	r = t_wait_json("zts/bridge/response/device/ota_update/check");
	assert_string_equal(t_str(r, "status"), "ok");
	assert_string_equal(t_str(r, "transaction"), "tls");
	cJSON_Delete(r);
	r = t_wait_state("zts/" T_LAMP_NAME, "available");
	assert_true(t_bool(r, "update_available"));
	cJSON_Delete(r);

	assert_null(t_wait_ms("ztbad/bridge/state", 1000));
	t_reap_daemon(&good);
	t_reap_daemon(&bad);
	/* The will is not sent for a clean stop; offline is. */
	r = t_wait_json("zts/bridge/state");
	assert_string_equal(t_str(r, "state"), "offline");
	cJSON_Delete(r);
}

/* A user and password (from secret.yaml) that the broker checks. */
static void
t_password(void **state)
{
	pid_t	 good, bad;
	cJSON	*r;

	(void)state;
	assert_int_equal(mqc_subscribe(T.cli, "ztauth/#", 1), 0);
	assert_int_equal(mqc_subscribe(T.cli, "ztnoauth/#", 1), 0);
	good = t_daemon(t_file("auth.yaml"));
	bad = t_daemon(t_file("noauth.yaml"));
	r = t_wait_json("ztauth/bridge/state");
	assert_string_equal(t_str(r, "state"), "online");
	cJSON_Delete(r);
	assert_null(t_wait_ms("ztnoauth/bridge/state", 1000));
	t_reap_daemon(&good);
	t_reap_daemon(&bad);
}

/* The next legacy message on ztleg/bridge/log: STATUS about DEVICE. */
static cJSON *
t_legacy_log(const char *status, const char *device, const char *message)
{
	cJSON	*j;

	j = t_wait_json_ms("ztleg/bridge/log", 2 * 1000 *
	    MQDEV_PROGRESS_EVERY);
	assert_string_equal(t_str(j, "type"), "ota_update");
	assert_string_equal(t_str(j, "meta.status"), status);
	assert_string_equal(t_str(j, "meta.device"), device);
	assert_string_equal(t_str(j, "message"), message);
	return (j);
}

static void
t_legacy_request(const char *verb, const char *payload)
{
	char	 topic[128];

	snprintf(topic, sizeof(topic), "ztleg/bridge/ota_update/%s", verb);
	t_publish_to(topic, payload);
}

/*
 * advanced.legacy_api: bridge/ota_update/check and .../update take a
 * bare device name, and every step is told on bridge/log, in order,
 * with no response topic.
 */
static void
t_legacy(void **state)
{
	pid_t		 pid;
	cJSON		*j;
	struct t_msg	*m;

	(void)state;
	assert_int_equal(mqc_subscribe(T.cli, "ztleg/#", 1), 0);
	pid = t_daemon(t_file("legacy.yaml"));
	if (!t_run_until(t_bridge_devices, "ztleg/bridge/devices", T_TIMEOUT))
		fail_msg("the legacy daemon did not publish its devices");

	t_script(M_CHECK, NULL, "{\"update_available\": true, \"entry\": "
	    "{\"fileVersion\": 16909061, \"url\": \"https://x/y.ota\"}}");
	t_legacy_request("check", T_LAMP_NAME);
	cJSON_Delete(t_legacy_log("checking_if_available", T_LAMP_NAME,
	    "Checking if update available for '" T_LAMP_NAME "'"));
	cJSON_Delete(t_legacy_log("available", T_LAMP_NAME,
	    "Update available for '" T_LAMP_NAME "'"));
	assert_string_equal(t_str(T.params[M_CHECK], "ieee"), T_LAMP);
	j = t_wait_state("ztleg/" T_LAMP_NAME, "available");
	assert_true(t_bool(j, "update_available"));
	cJSON_Delete(j);

	/* By IEEE address; the device's name is what the log says. */
	t_script(M_CHECK, NULL, "{\"update_available\": false}");
	t_legacy_request("check", T_LAMP);
	cJSON_Delete(t_legacy_log("checking_if_available", T_LAMP_NAME,
	    "Checking if update available for '" T_LAMP_NAME "'"));
	cJSON_Delete(t_legacy_log("not_available", T_LAMP_NAME,
	    "No update available for '" T_LAMP_NAME "'"));

	t_script(M_CHECK, IPC_RADIO_ERR_NO_RESPONSE, "{\"message\": "
	    "\"Device didn't respond to OTA request\"}");
	t_legacy_request("check", T_LAMP_NAME);
	cJSON_Delete(t_legacy_log("checking_if_available", T_LAMP_NAME,
	    "Checking if update available for '" T_LAMP_NAME "'"));
	cJSON_Delete(t_legacy_log("check_failed", T_LAMP_NAME,
	    "Failed to check if update available for '" T_LAMP_NAME "' "
	    "(Device didn't respond to OTA request)"));

	t_legacy_request("update", T_PLUG);
	cJSON_Delete(t_legacy_log("not_supported", T_PLUG,
	    "Device '" T_PLUG "' does not support OTA updates"));

	t_script(M_UPDATE, NULL, "{\"from\": {\"file_version\": 16909060, "
	    "\"software_build_id\": \"2.3.087\"}, \"to\": "
	    "{\"file_version\": 16909061, \"software_build_id\": "
	    "\"2.3.088\"}}");
	t_legacy_request("update", T_LAMP_NAME);
	cJSON_Delete(t_legacy_log("update_in_progress", T_LAMP_NAME,
	    "Updating '" T_LAMP_NAME "' to latest firmware"));
	j = t_legacy_log("update_succeeded", T_LAMP_NAME,
	    "Finished update of '" T_LAMP_NAME "'");
	assert_string_equal(t_str(j, "meta.from.software_build_id"),
	    "2.3.087");
	assert_int_equal(t_num(j, "meta.to.file_version"), 16909061);
	cJSON_Delete(j);
	assert_false(t_bool(T.params[M_UPDATE], "downgrade"));

	/* A transfer's progress, as its state is published. */
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": \"updating\", \"progress\": 0, \"remaining\": "
	    "600}");
	j = t_legacy_log("update_progress", T_LAMP_NAME, "Update of '"
	    T_LAMP_NAME "' at 0.00%, \u2248 10 minutes remaining");
	assert_int_equal(t_num(j, "meta.progress"), 0);
	cJSON_Delete(j);
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": \"updating\", \"progress\": 42.5, "
	    "\"remaining\": 290}");
	j = t_legacy_log("update_progress", T_LAMP_NAME, "Update of '"
	    T_LAMP_NAME "' at 42.50%, \u2248 5 minutes remaining");
	assert_true(t_num(j, "meta.progress") == 42.5);
	cJSON_Delete(j);
	t_event("{\"type\": \"update\", \"ieee\": \"" T_LAMP "\", "
	    "\"state\": \"idle\", \"installed_version\": 16909061, "
	    "\"latest_version\": 16909061}");
	cJSON_Delete(t_wait_state("ztleg/" T_LAMP_NAME, "idle"));

	t_script(M_UPDATE, IPC_RADIO_ERR_UPDATE_FAILED,
	    "{\"status\": \"INVALID_IMAGE\"}");
	t_legacy_request("update", T_LAMP_NAME);
	cJSON_Delete(t_legacy_log("update_in_progress", T_LAMP_NAME,
	    "Updating '" T_LAMP_NAME "' to latest firmware"));
	cJSON_Delete(t_legacy_log("update_failed", T_LAMP_NAME,
	    "OTA update of '" T_LAMP_NAME "' failed (Update failed with "
	    "reason: 'invalid image')"));

	/* The responses would have come before the log messages. */
	m = t_wait_ms("ztleg/bridge/response/device/ota_update/check", 0);
	assert_null(m);
	m = t_wait_ms("ztleg/bridge/response/device/ota_update/update", 0);
	assert_null(m);
	t_reap_daemon(&pid);
}

/* Without legacy_api the 1.x topics are not even subscribed to. */
static void
t_legacy_off(void **state)
{
	int	 calls = T.calls[M_CHECK];
	cJSON	*r;

	(void)state;
	t_publish("bridge/ota_update/check", T_LAMP_NAME);
	/* Handled in order: the legacy one would have reached it first. */
	r = t_request("check", T_LAMP_NAME, "check");
	assert_string_equal(t_str(r, "status"), "ok");
	cJSON_Delete(r);
	assert_int_equal(T.calls[M_CHECK], calls + 1);
	assert_null(t_wait_ms("zt/bridge/log", 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(t_bridge, t_case),
		cmocka_unit_test_setup(t_discovery, t_case),
		cmocka_unit_test_setup(t_check_bare, t_case),
		cmocka_unit_test_setup(t_check_json, t_case),
		cmocka_unit_test_setup(t_request_errors, t_case),
		cmocka_unit_test_setup(t_update, t_case),
		cmocka_unit_test_setup(t_radio_errors, t_case),
		cmocka_unit_test_setup(t_schedule_abort, t_case),
		cmocka_unit_test_setup(t_hex_upload, t_case),
		cmocka_unit_test_setup(t_hex_fixture, t_case),
		cmocka_unit_test_setup(t_progress, t_case),
		cmocka_unit_test_setup(t_retained, t_case),
		cmocka_unit_test_setup(t_join_leave, t_case),
		cmocka_unit_test_setup(t_permit_join, t_case),
		cmocka_unit_test_setup(t_burst, t_case),
		cmocka_unit_test_setup(t_tls_legacy, t_case),
		cmocka_unit_test_setup(t_legacy, t_case),
		cmocka_unit_test_setup(t_legacy_off, t_case),
		cmocka_unit_test_setup(t_password, t_case),
		cmocka_unit_test_setup(t_broker_restart, t_case),
		cmocka_unit_test_setup(t_radio_restart, t_case),
		cmocka_unit_test_setup(t_radio_reattach, t_case),
	};

	return (cmocka_run_group_tests(tests, t_setup, t_teardown));
}
