/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-fetch as zotad-radio sees it: the real daemon, under its real
 * privilege drop and sandbox, driven over fetch.sock with the IPC client,
 * against a local HTTP server that serves indexes and images and injects
 * faults. Nothing waits on a clock: the daemon's log arrives on a pipe,
 * and every step waits for a reply or a line of it.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
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
#include <unistd.h>

#include <cmocka.h>
#include <cjson/cJSON.h>
#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "fetch.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "otafile.h"
#include "priv.h"
#include "sandbox.h"
#include "suite.h"
#include "httpd/testhttpd.h"
#include "util.h"

#define TF_LOG_MAX	(256 * 1024)
#define TF_WAIT_MS	20000
#define TF_MFR		0x1234
#define TF_MAX_IMAGE	65536
#define DEV_A		"0x00124b0000000001"
#define DEV_B		"0x00124b0000000002"
#define DEV_OFF		"0x00124b0000000009"

static char	 tf_daemon[PATH_MAX];

struct tf {
	char			 dir[64];
	char			 conf[PATH_MAX];
	char			 sock[PATH_MAX];
	struct event_base	*base;
	struct thttpd		*http;
	uint16_t		 port;
	pid_t			 pid;
	int			 logfd;
	struct event		*logev;
	char			*log;
	size_t			 loglen;
	struct ipc_conn		*conn;
	int			 timed_out;
	size_t			 max_image;
	int			 proxy;		/* http_proxy: ourselves */
};

/* Images the index serves, each for its own image type. */
struct tf_image {
	const char	*path;
	uint16_t	 image_type;
	uint32_t	 header_version;	/* in the file */
	uint32_t	 index_version;		/* in the index */
	size_t		 size;
	int		 wrong_sha;
	enum thttpd_fault fault;
	int		 no_sha;		/* the index gives none */
};

static const struct tf_image tf_images[] = {
	{ "/a.ota", 1, 5, 5, 2000, 0, THTTPD_OK, 0 },
	{ "/b.ota", 2, 5, 5, 2000, 1, THTTPD_OK, 0 },	/* wrong SHA-512 */
	{ "/c.ota", 3, 5, 6, 2000, 0, THTTPD_OK, 0 },	/* header says 5 */
	{ "/d.ota", 4, 5, 5, 100000, 0, THTTPD_OK, 0 },	/* over the cap */
	{ "/e.ota", 5, 5, 5, 2000, 0, THTTPD_404, 0 },
	{ "/f.ota", 6, 5, 5, 20000, 0, THTTPD_TRUNCATE, 0 },
	{ "/g.ota", 7, 5, 5, 2000, 0, THTTPD_OK, 1 },
	{ NULL, 0, 0, 0, 0, 0, 0, 0 }
};

static void
tf_log_read(evutil_socket_t fd, short what, void *arg)
{
	struct tf	*t = arg;
	ssize_t		 n;

	(void)what;
	if (t->loglen + 1 >= TF_LOG_MAX)
		t->loglen = 0;	/* a runaway log: keep the latest */
	n = read(fd, t->log + t->loglen, TF_LOG_MAX - 1 - t->loglen);
	if (n <= 0) {
		event_del(t->logev);
		return;
	}
	t->loglen += (size_t)n;
	t->log[t->loglen] = '\0';
}

static void
tf_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tf	*t = arg;

	(void)fd;
	(void)what;
	t->timed_out = 1;
}

/* Run the loop until the log holds TEXT; fail after TF_WAIT_MS. */
static void
tf_wait_log(struct tf *t, const char *text)
{
	struct event	*timer;
	struct timeval	 tv = { TF_WAIT_MS / 1000, 0 };

	t->timed_out = 0;
	timer = evtimer_new(t->base, tf_timeout, t);
	evtimer_add(timer, &tv);
	while (strstr(t->log, text) == NULL && !t->timed_out &&
	    event_pending(t->logev, EV_READ, NULL))
		event_base_loop(t->base, EVLOOP_ONCE);
	event_free(timer);
	if (strstr(t->log, text) == NULL)
		fail_msg("zotad-fetch never logged \"%s\"; log:\n%s", text,
		    t->log);
}

static unsigned int
tf_count_log(const struct tf *t, const char *text)
{
	const char	*p = t->log;
	unsigned int	 n = 0;

	while ((p = strstr(p, text)) != NULL) {
		n++;
		p += strlen(text);
	}
	return (n);
}

static void
tf_write(const char *path, const void *buf, size_t len)
{
	FILE	*fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(buf, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
tf_mkdir(struct tf *t, const char *name, int for_daemon)
{
	struct passwd	*pw;
	char		 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", t->dir, name);
	assert_int_equal(mkdir(path, 0755), 0);
	if (for_daemon && geteuid() == 0) {
		pw = getpwnam("nobody");
		assert_non_null(pw);
		assert_int_equal(chown(path, pw->pw_uid, pw->pw_gid), 0);
	}
}

/*
 * The configuration: OTA lines go under ota:, TAIL at the end. Time
 * limits are the smallest allowed, so a timeout costs five seconds.
 */
static void
tf_config(struct tf *t, const char *ota, const char *tail)
{
	char	 text[4096];
	int	 n;

	n = snprintf(text, sizeof(text),
	    "ota:\n  update_check_interval: 60\n%s"
	    "zotad:\n  state_dir: %s/state\n  cache_dir: %s/cache\n"
	    "  run_dir: %s/run\n"
	    "  index_url: http://127.0.0.1:%u/index.json\n"
	    "  downgrade_index_url: http://127.0.0.1:%u/index1.json\n"
	    "  user_fetch: nobody\n  user_radio: nobody\n"
	    "  fetch_timeout: 5\n  max_image_size: %zu\n"
	    "  max_index_size: 1048576\n%s",
	    ota != NULL ? ota : "", t->dir, t->dir, t->dir, t->port, t->port,
	    t->max_image, tail != NULL ? tail : "");
	assert_true(n > 0 && (size_t)n < sizeof(text));
	tf_write(t->conf, text, (size_t)n);
}

static uint8_t *
tf_make_image(uint16_t type, uint32_t version, size_t size, size_t *len)
{
	return (suite_ota_image(TF_MFR, type, version, (uint32_t)size, type,
	    len));
}

static cJSON *
tf_entry(struct tf *t, const struct tf_image *im, const uint8_t *buf,
    size_t len)
{
	char	 url[128], sha[SHA512_HEX_LEN + 1];
	cJSON	*e;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", t->port, im->path);
	if (im->wrong_sha)
		util_sha512_hex("not this image", 14, sha);
	else
		util_sha512_hex(buf, len, sha);
	e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "fileName", im->path + 1);
	cJSON_AddNumberToObject(e, "fileVersion", im->index_version);
	cJSON_AddNumberToObject(e, "fileSize", (double)len);
	cJSON_AddStringToObject(e, "url", url);
	cJSON_AddNumberToObject(e, "imageType", im->image_type);
	cJSON_AddNumberToObject(e, "manufacturerCode", TF_MFR);
	if (!im->no_sha)
		cJSON_AddStringToObject(e, "sha512", sha);
	return (e);
}

/* Serve every image of tf_images and an index of them. */
static void
tf_serve_index(struct tf *t, enum thttpd_fault index_fault)
{
	const struct tf_image	*im;
	cJSON			*arr;
	uint8_t			*buf;
	size_t			 len;
	char			*text;

	arr = cJSON_CreateArray();
	for (im = tf_images; im->path != NULL; im++) {
		buf = tf_make_image(im->image_type, im->header_version,
		    im->size, &len);
		assert_int_equal(thttpd_route(t->http, im->path, buf, len,
		    im->fault), 0);
		cJSON_AddItemToArray(arr, tf_entry(t, im, buf, len));
		free(buf);
	}
	text = cJSON_Print(arr);
	assert_int_equal(thttpd_route(t->http, "/index.json", text,
	    strlen(text), index_fault), 0);
	assert_int_equal(thttpd_route(t->http, "/index1.json", "[]", 2,
	    THTTPD_OK), 0);
	free(text);
	cJSON_Delete(arr);
}

static int
tf_setup(void **state)
{
	struct tf	*t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->log = calloc(1, TF_LOG_MAX);
	assert_non_null(t->log);
	t->pid = -1;
	t->logfd = -1;
	t->max_image = TF_MAX_IMAGE;
	strcpy(t->dir, "/tmp/test_fetch.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	/* The daemon's user must reach its directories inside. */
	assert_int_equal(chmod(t->dir, 0755), 0);
	tf_mkdir(t, "state", 1);
	tf_mkdir(t, "cache", 1);
	tf_mkdir(t, "run", 0);
	tf_mkdir(t, "data", 0);
	snprintf(t->conf, sizeof(t->conf), "%s/data/configuration.yaml",
	    t->dir);
	snprintf(t->sock, sizeof(t->sock), "%s/run/%s", t->dir,
	    FETCH_SOCKET_NAME);
	t->base = event_base_new();
	assert_non_null(t->base);
	t->http = thttpd_new(t->base, &t->port);
	assert_non_null(t->http);
	tf_serve_index(t, THTTPD_OK);
	tf_config(t, NULL, NULL);
	*state = t;
	return (0);
}

/* A listening socket passed as systemd does, or -1 to let it bind. */
static int	tf_activation_fd = -1;
/* Where the daemon reports readiness as to systemd. */
static char	tf_notify_path[108];

static void
tf_pass_socket(void)
{
	char	 pid[16];

	if (tf_activation_fd == -1)
		return;
	if (dup2(tf_activation_fd, 3) == -1)
		_exit(127);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("NOTIFY_SOCKET", tf_notify_path, 1);
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", FETCH_SOCKET_NAME, 1);
}

static void
tf_exec_daemon(struct tf *t, int out)
{
	if (dup2(out, STDOUT_FILENO) == -1 || dup2(out, STDERR_FILENO) == -1)
		_exit(127);
	/* A sanitizer build's leak check at exit needs ptrace, which the
	 * sandbox rightly forbids. */
	setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
	unsetenv("http_proxy");
	unsetenv("HTTP_PROXY");
	unsetenv("https_proxy");
	unsetenv("HTTPS_PROXY");
	unsetenv("ALL_PROXY");
	unsetenv("all_proxy");
	if (t->proxy) {
		char	 url[64];

		snprintf(url, sizeof(url), "http://127.0.0.1:%u", t->port);
		setenv("http_proxy", url, 1);
	}
	tf_pass_socket();
	execl(tf_daemon, "zotad-fetch", "-d", "-f", t->conf, (char *)NULL);
	_exit(127);
}

static void
tf_start(struct tf *t)
{
	int	 p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	t->pid = fork();
	assert_true(t->pid != -1);
	if (t->pid == 0)
		tf_exec_daemon(t, p[1]);
	close(p[1]);
	t->logfd = p[0];
	t->loglen = 0;
	t->log[0] = '\0';
	t->logev = event_new(t->base, t->logfd, EV_READ | EV_PERSIST,
	    tf_log_read, t);
	event_add(t->logev, NULL);
	tf_wait_log(t, "ready:");
	t->conn = ipc_connect(t->base, t->sock);
	assert_non_null(t->conn);
}

/* Stop the daemon and read its log to the end; its exit status. */
static int
tf_reap(struct tf *t)
{
	int	 status = 0;

	if (t->conn != NULL)
		ipc_conn_free(t->conn);
	t->conn = NULL;
	if (t->pid == -1)
		return (0);
	kill(t->pid, SIGTERM);
	while (event_pending(t->logev, EV_READ, NULL))
		event_base_loop(t->base, EVLOOP_ONCE);
	if (waitpid(t->pid, &status, 0) == -1)
		status = -1;
	t->pid = -1;
	event_free(t->logev);
	close(t->logfd);
	return (status);
}

static void
tf_stop(struct tf *t)
{
	int	 status;

	status = tf_reap(t);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("zotad-fetch ended with status 0x%x; log:\n%s",
		    status, t->log);
}

static void
tf_rm_tree(const char *path)
{
	char		 sub[PATH_MAX];
	struct dirent	*de;
	DIR		*d;

	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			tf_rm_tree(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

static int
tf_teardown(void **state)
{
	struct tf	*t = *state;
	int		 status;

	/* Clean up first: a daemon that died badly still fails the test. */
	status = tf_reap(t);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_error("zotad-fetch ended with status 0x%x; log:\n%s",
		    status, t->log);
	thttpd_free(t->http);
	event_base_free(t->base);
	tf_rm_tree(t->dir);
	free(t->log);
	free(t);
	return (WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1);
}

static char *
tf_device(const char *ieee, uint16_t type, uint32_t version)
{
	char	*s;

	assert_true(asprintf(&s, "{\"ieee\": \"%s\", \"manufacturerCode\": "
	    "%u, \"imageType\": %u, \"fileVersion\": %u}", ieee, TF_MFR, type,
	    version) > 0);
	return (s);
}

/* Call METHOD with parameters {"device": DEV, EXTRA}; wait for a reply. */
static void
tf_call(struct tf *t, const char *method, const char *dev,
    const char *extra, struct ipc_result *res)
{
	char	*text;
	cJSON	*params;

	assert_true(asprintf(&text, "{\"device\": %s%s%s}", dev,
	    extra != NULL ? ", " : "", extra != NULL ? extra : "") > 0);
	params = cJSON_Parse(text);
	assert_non_null(params);
	memset(res, 0, sizeof(*res));
	assert_int_equal(ipc_conn_call_sync(t->conn, method, params, NULL, 0,
	    TF_WAIT_MS, res), 0);
	cJSON_Delete(params);
	free(text);
}

static void
tf_check(struct tf *t, const char *ieee, uint16_t type, const char *extra,
    struct ipc_result *res)
{
	char	*dev = tf_device(ieee, type, 1);

	tf_call(t, IPC_FETCH_CHECK, dev, extra, res);
	free(dev);
}

static void
tf_get_image(struct tf *t, const char *ieee, uint16_t type,
    const char *extra, struct ipc_result *res)
{
	char	*dev = tf_device(ieee, type, 1);

	tf_call(t, IPC_FETCH_GET_IMAGE, dev, extra, res);
	free(dev);
}

static int
tf_bool(const struct ipc_result *res, const char *name)
{
	return (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res->parameters,
	    name)));
}

static const char *
tf_message(const struct ipc_result *res)
{
	const char	*m;

	m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    res->parameters, "message"));
	return (m != NULL ? m : "");
}

static void
tf_expect_error(const struct ipc_result *res, const char *error,
    const char *text)
{
	if (res->error == NULL || strcmp(res->error, error) != 0)
		fail_msg("expected %s, got %s (%s)", error,
		    res->error != NULL ? res->error : "success",
		    tf_message(res));
	if (text != NULL && strstr(tf_message(res), text) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", text, tf_message(res));
}

static void
tf_expect_available(const struct ipc_result *res, int available)
{
	if (res->error != NULL)
		fail_msg("unexpected %s: %s", res->error, tf_message(res));
	assert_int_equal(tf_bool(res, "available"), available);
}

static void
tf_url(const struct tf *t, const char *path, char *out, size_t len)
{
	snprintf(out, len, "\"url\": \"http://127.0.0.1:%u%s\"", t->port, path);
}

/* An automatic check fetches the index once; the image is sealed. */
static void
test_check_and_image(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	char			 sha[SHA512_HEX_LEN + 1];
	const char		*want;
	uint8_t			 buf[4096];
	ssize_t			 n;
	int			 seals;

	tf_start(t);
	tf_check(t, DEV_A, 1, "\"automatic\": true", &res);
	tf_expect_available(&res, 1);
	assert_false(tf_bool(&res, "fromCache"));
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 1);
	assert_non_null(strstr(thttpd_user_agent(t->http), "zotad"));
	ipc_result_clear(&res);

	tf_get_image(t, DEV_A, 1, NULL, &res);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	seals = fcntl(res.fds[0], F_GET_SEALS);
	assert_int_equal(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW),
	    F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW);
	n = read(res.fds[0], buf, sizeof(buf));
	assert_int_equal(n, 2000);
	assert_int_equal(write(res.fds[0], "x", 1), -1);
	util_sha512_hex(buf, (size_t)n, sha);
	want = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    res.parameters, "sha512"));
	assert_string_equal(sha, want);
	ipc_result_clear(&res);

	/* The second time comes from the cache: nothing is downloaded. */
	tf_get_image(t, DEV_A, 1, NULL, &res);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_hits(t->http, "/a.ota"), 1);
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 1);
	/* Every contact is in the log, with its reason. */
	assert_int_equal(tf_count_log(t, "GET http://"), 2);
	assert_int_equal(tf_count_log(t, "(automatic check for " DEV_A ")"),
	    1);
}

static void
tf_expect_image_error(struct tf *t, uint16_t type, const char *error,
    const char *text)
{
	struct ipc_result	 res;

	tf_get_image(t, DEV_A, type, NULL, &res);
	tf_expect_error(&res, error, text);
	assert_int_equal(res.nfds, 0);
	ipc_result_clear(&res);
}

static unsigned int
tf_cached_images(const struct tf *t)
{
	char		 path[PATH_MAX];
	struct dirent	*de;
	DIR		*d;
	unsigned int	 n = 0;

	snprintf(path, sizeof(path), "%s/cache/%s", t->dir, IMAGE_CACHE_DIR);
	if ((d = opendir(path)) == NULL)
		return (0);
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return (n);
}

/* Without a SHA-512 in the index, the cache still finds the image. */
static void
test_image_without_sha(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	int			 i;

	tf_start(t);
	for (i = 0; i < 2; i++) {
		tf_get_image(t, DEV_A, 7, NULL, &res);
		assert_null(res.error);
		assert_int_equal(res.nfds, 1);
		ipc_result_clear(&res);
	}
	assert_int_equal(thttpd_hits(t->http, "/g.ota"), 1);
	assert_int_equal(tf_cached_images(t), 1 + 1);	/* image, note */
}

/* Every failed check names itself, and nothing bad enters the cache. */
static void
test_image_faults(void **state)
{
	struct tf	*t = *state;

	tf_start(t);
	tf_expect_image_error(t, 2, IPC_FETCH_ERR_IMAGE_INVALID, "sha512");
	tf_expect_image_error(t, 3, IPC_FETCH_ERR_IMAGE_INVALID,
	    "file version");
	tf_expect_image_error(t, 4, IPC_FETCH_ERR_DOWNLOAD_FAILED,
	    "larger than the limit");
	tf_expect_image_error(t, 5, IPC_FETCH_ERR_DOWNLOAD_FAILED,
	    "HTTP status 404");
	tf_expect_image_error(t, 6, IPC_FETCH_ERR_DOWNLOAD_FAILED, NULL);
	tf_expect_image_error(t, 77, IPC_FETCH_ERR_NO_IMAGE_AVAILABLE,
	    "No image available for " DEV_A);
	assert_int_equal(tf_cached_images(t), 0);
}

static void
tf_expect_index_error(struct tf *t, const char *path, const char *text)
{
	struct ipc_result	 res;
	char			 url[128];

	tf_url(t, path, url, sizeof(url));
	tf_check(t, DEV_A, 1, url, &res);
	tf_expect_error(&res, IPC_FETCH_ERR_INDEX_UNAVAILABLE, text);
	ipc_result_clear(&res);
}

/* Indexes given by URL: errors, slow and stalled servers, redirects. */
static void
test_index_faults(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	char			 url[128], loc[128];
	const char		*idx = "[]";

	thttpd_route(t->http, "/404.json", idx, 2, THTTPD_404);
	thttpd_route(t->http, "/500.json", idx, 2, THTTPD_500);
	thttpd_route(t->http, "/cut.json", "[                        ]", 26,
	    THTTPD_TRUNCATE);
	thttpd_route(t->http, "/stall.json", idx, 2, THTTPD_STALL);
	thttpd_route(t->http, "/slow.json", idx, 2, THTTPD_SLOW);
	thttpd_route(t->http, "/to-file", "file:///etc/passwd", 18,
	    THTTPD_REDIRECT);
	thttpd_route(t->http, "/to-ftp", "ftp://127.0.0.1/index.json", 26,
	    THTTPD_REDIRECT);
	snprintf(loc, sizeof(loc), "http://127.0.0.1:%u/index.json", t->port);
	thttpd_route(t->http, "/to-http", loc, strlen(loc), THTTPD_REDIRECT);
	thttpd_route(t->http, "/junk.json", "{\"not\": \"an index\"}", 19,
	    THTTPD_OK);
	snprintf(loc, sizeof(loc), "http://127.0.0.1:%u/loop", t->port);
	thttpd_route(t->http, "/loop", loc, strlen(loc), THTTPD_REDIRECT);
	tf_start(t);

	tf_expect_index_error(t, "/404.json", "HTTP status 404");
	tf_expect_index_error(t, "/500.json", "HTTP status 500");
	tf_expect_index_error(t, "/cut.json", NULL);
	tf_expect_index_error(t, "/stall.json", "imed out");
	tf_expect_index_error(t, "/to-file", NULL);
	tf_expect_index_error(t, "/to-ftp", NULL);
	tf_expect_index_error(t, "/junk.json", "unusable");
	tf_expect_index_error(t, "/loop", "edirect");
	/* The first request and at most five redirects, then it stops. */
	assert_int_equal(thttpd_hits(t->http, "/loop"), 6);
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 0);

	tf_url(t, "/slow.json", url, sizeof(url));
	tf_check(t, DEV_A, 1, url, &res);
	tf_expect_available(&res, 0);
	ipc_result_clear(&res);

	tf_url(t, "/to-http", url, sizeof(url));
	tf_check(t, DEV_A, 1, url, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 1);

	/* Only http and https are accepted at all. */
	tf_check(t, DEV_A, 1, "\"url\": \"file:///etc/passwd\"", &res);
	tf_expect_error(&res, IPC_ERR_INVALID_PARAMETER, NULL);
	ipc_result_clear(&res);
}

static void
tf_cache_path(const struct tf *t, const char *suffix, char *path, size_t len)
{
	char		 dir[256];
	struct dirent	*de;
	DIR		*d;
	size_t		 sl = strlen(suffix), nl;

	path[0] = '\0';
	snprintf(dir, sizeof(dir), "%s/cache", t->dir);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL) {
		nl = strlen(de->d_name);
		if (strncmp(de->d_name, "index-", 6) == 0 && nl > sl &&
		    strcmp(de->d_name + nl - sl, suffix) == 0)
			snprintf(path, len, "%s/%s", dir, de->d_name);
	}
	closedir(d);
	assert_true(path[0] != '\0');
}

/* The rate limit holds across restarts of the real process. */
static void
test_rate_limit_restart(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	char			 path[PATH_MAX];
	unsigned int		 total;

	tf_start(t);
	tf_check(t, DEV_A, 1, "\"automatic\": true", &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	tf_stop(t);
	total = thttpd_total(t->http);

	tf_start(t);
	tf_check(t, DEV_A, 1, "\"automatic\": true", &res);
	tf_expect_available(&res, 1);
	assert_true(tf_bool(&res, "fromCache"));
	ipc_result_clear(&res);
	tf_stop(t);
	assert_int_equal(thttpd_total(t->http), total);

	/* Without a cached index the answer is "too soon", not a GET. */
	tf_cache_path(t, ".meta", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	tf_cache_path(t, ".body", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	tf_start(t);
	tf_check(t, DEV_A, 1, "\"automatic\": true", &res);
	tf_expect_error(&res, IPC_FETCH_ERR_CHECK_TOO_SOON, DEV_A);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_total(t->http), total);

	/* Another device has its own allowance; a manual check may go. */
	tf_check(t, DEV_B, 1, "\"automatic\": true", &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_total(t->http), total + 1);
	assert_int_equal(tf_count_log(t, "GET http://"), 1);
}

static void
tf_age_index(const struct tf *t)
{
	char	 path[PATH_MAX], *text;
	uint8_t	*buf;
	size_t	 len;
	cJSON	*meta;

	tf_cache_path(t, ".meta", path, sizeof(path));
	assert_int_equal(util_read_file(path, 65536, &buf, &len), 0);
	meta = cJSON_Parse((char *)buf);
	assert_non_null(meta);
	cJSON_ReplaceItemInObject(meta, "fetched", cJSON_CreateNumber(1));
	text = cJSON_Print(meta);
	tf_write(path, text, strlen(text));
	free(text);
	cJSON_Delete(meta);
	free(buf);
}

/* A stale index is asked for again with its ETag, and a 304 reuses it. */
static void
test_conditional_get(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;

	tf_start(t);
	tf_check(t, DEV_A, 1, NULL, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	/* Fresh: a second manual check does not download it again. */
	tf_check(t, DEV_A, 1, NULL, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 1);
	tf_stop(t);

	tf_age_index(t);
	tf_start(t);
	tf_check(t, DEV_A, 1, NULL, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 2);
	assert_int_equal(thttpd_not_modified(t->http, "/index.json"), 1);
}

struct tf_pending {
	int			 done;
	char			*error;
	int			 available;
};

static void
tf_reply(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	struct tf_pending	*p = arg;

	(void)conn;
	p->done = 1;
	p->error = r->error != NULL ? strdup(r->error) : NULL;
	p->available = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    r->parameters, "available"));
}

/* Two checks at once for one device share one download. */
static void
test_two_at_once(void **state)
{
	struct tf		*t = *state;
	struct tf_pending	 p[2];
	cJSON			*params;
	char			*text, *dev;
	int			 i;

	tf_serve_index(t, THTTPD_SLOW);
	tf_start(t);
	dev = tf_device(DEV_A, 1, 1);
	assert_true(asprintf(&text, "{\"device\": %s, \"automatic\": true}",
	    dev) > 0);
	params = cJSON_Parse(text);
	memset(p, 0, sizeof(p));
	for (i = 0; i < 2; i++)
		assert_int_equal(ipc_conn_call(t->conn, IPC_FETCH_CHECK,
		    params, 0, NULL, 0, tf_reply, &p[i]), 0);
	while (!p[0].done || !p[1].done)
		event_base_loop(t->base, EVLOOP_ONCE);
	for (i = 0; i < 2; i++) {
		assert_null(p[i].error);
		assert_true(p[i].available);
	}
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 1);
	cJSON_Delete(params);
	free(text);
	free(dev);
}

static void
tf_write_override(struct tf *t, const char *json)
{
	char	 path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/data/override.json", t->dir);
	tf_write(path, json, strlen(json));
}

static void
tf_write_image_file(const char *path, uint16_t type, uint32_t version)
{
	uint8_t	*buf;
	size_t	 len;

	buf = tf_make_image(type, version, 3000, &len);
	tf_write(path, buf, len);
	free(buf);
}

/* The main index is down: the override serves, the error is told once. */
static void
test_offline_fallback(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	char			 path[PATH_MAX], url[128];
	uint8_t			 buf[4096];

	snprintf(path, sizeof(path), "%s/data/local.ota", t->dir);
	tf_write_image_file(path, 9, 7);
	tf_write_override(t, "[{\"url\": \"local.ota\"}]");
	tf_serve_index(t, THTTPD_500);
	tf_config(t, "  zigbee_ota_override_index_location: override.json\n",
	    NULL);
	tf_start(t);

	tf_check(t, DEV_A, 9, "\"automatic\": true", &res);
	tf_expect_available(&res, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(res.parameters, "entry"), "source")),
	    "override");
	ipc_result_clear(&res);
	tf_check(t, DEV_B, 9, "\"automatic\": true", &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	tf_check(t, DEV_B, 1, NULL, &res);
	tf_expect_available(&res, 0);
	ipc_result_clear(&res);
	assert_int_equal(tf_count_log(t, "only the override index is used"),
	    1);
	/* An index the caller names by URL is not replaced, though. */
	tf_url(t, "/gone.json", url, sizeof(url));
	tf_check(t, DEV_A, 9, url, &res);
	tf_expect_error(&res, IPC_FETCH_ERR_INDEX_UNAVAILABLE, "404");
	ipc_result_clear(&res);
	assert_int_equal(tf_count_log(t, "index.json: HTTP status 500"), 1);

	/* The local image is read from the data dir, not downloaded. */
	tf_get_image(t, DEV_A, 9, NULL, &res);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	assert_int_equal(read(res.fds[0], buf, sizeof(buf)), 3000);
	ipc_result_clear(&res);
}

/* An override naming files outside the data dir gets none of them. */
static void
test_override_outside(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	char			 path[256], json[1024];

	snprintf(path, sizeof(path), "%s/outside.ota", t->dir);
	tf_write_image_file(path, 9, 7);
	snprintf(json, sizeof(json), "[{\"url\": \"../outside.ota\"}, "
	    "{\"url\": \"%s\"}, {\"url\": \"file://%s\"}, "
	    "{\"url\": \"/etc/passwd\"}]", path, path);
	tf_write_override(t, json);
	tf_config(t, "  zigbee_ota_override_index_location: override.json\n",
	    NULL);
	tf_start(t);
	tf_check(t, DEV_A, 9, NULL, &res);
	tf_expect_available(&res, 0);
	ipc_result_clear(&res);
	tf_get_image(t, DEV_A, 9, NULL, &res);
	tf_expect_error(&res, IPC_FETCH_ERR_NO_IMAGE_AVAILABLE, NULL);
	ipc_result_clear(&res);
	assert_true(tf_count_log(t, "outside the directories allowed") >= 3);
	/* The main index still answers for everything else. */
	tf_check(t, DEV_A, 1, NULL, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
}

/* Socket activation: the daemon serves the socket it is given. */
static void
test_socket_activation(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	struct sockaddr_un	 sun;
	struct stat		 st;
	char			 msg[64];
	ssize_t			 n;
	int			 notify;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/notify", t->dir);
	snprintf(tf_notify_path, sizeof(tf_notify_path), "%s", sun.sun_path);
	notify = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(notify != -1);
	assert_int_equal(bind(notify, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	/* The daemon's user must be able to send to it. */
	assert_int_equal(chmod(sun.sun_path, 0666), 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/activated",
	    t->dir);
	tf_activation_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(tf_activation_fd != -1);
	assert_int_equal(bind(tf_activation_fd, (struct sockaddr *)&sun,
	    sizeof(sun)), 0);
	assert_int_equal(listen(tf_activation_fd, 4), 0);
	snprintf(t->sock, sizeof(t->sock), "%s", sun.sun_path);
	tf_start(t);
	close(tf_activation_fd);
	tf_activation_fd = -1;
	/* Readiness was told before the log said so. */
	n = recv(notify, msg, sizeof(msg) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	msg[n] = '\0';
	assert_string_equal(msg, "READY=1");
	close(notify);

	tf_check(t, DEV_A, 1, NULL, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	/* It made no socket of its own. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/run/%s", t->dir,
	    FETCH_SOCKET_NAME);
	assert_int_equal(stat(sun.sun_path, &st), -1);
}

/* Files named in a call are read in the data dir, and only there. */
static void
test_call_files(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	char			 path[PATH_MAX], json[256];
	uint8_t			 buf[4096];

	snprintf(path, sizeof(path), "%s/data/mine.ota", t->dir);
	tf_write_image_file(path, 9, 7);
	snprintf(path, sizeof(path), "%s/outside.ota", t->dir);
	tf_write_image_file(path, 9, 7);
	snprintf(path, sizeof(path), "%s/data/idx.json", t->dir);
	snprintf(json, sizeof(json), "[{\"url\": \"http://127.0.0.1:%u/a.ota\","
	    " \"imageType\": 1, \"manufacturerCode\": %u, "
	    "\"fileVersion\": 5}]", t->port, TF_MFR);
	tf_write(path, json, strlen(json));
	tf_start(t);

	tf_check(t, DEV_A, 9, "\"url\": \"mine.ota\"", &res);
	tf_expect_available(&res, 1);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetObjectItem(res.parameters, "entry"), "source")), "url");
	ipc_result_clear(&res);
	tf_get_image(t, DEV_A, 9, "\"url\": \"mine.ota\"", &res);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	assert_int_equal(read(res.fds[0], buf, sizeof(buf)), 3000);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_total(t->http), 0);

	tf_check(t, DEV_A, 1, "\"url\": \"idx.json\"", &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);

	tf_check(t, DEV_A, 9, "\"url\": \"../outside.ota\"", &res);
	tf_expect_error(&res, IPC_FETCH_ERR_INDEX_UNAVAILABLE,
	    "outside the data dir");
	ipc_result_clear(&res);
	tf_check(t, DEV_A, 9, "\"url\": \"/etc/passwd\"", &res);
	tf_expect_error(&res, IPC_FETCH_ERR_INDEX_UNAVAILABLE,
	    "outside the data dir");
	ipc_result_clear(&res);
}

/* Disabled automatic checks are refused without contact; manual go. */
static void
test_disabled(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;

	tf_config(t, NULL, "devices:\n  '" DEV_OFF "':\n"
	    "    friendly_name: quiet\n"
	    "    disable_automatic_update_check: true\n");
	tf_start(t);
	tf_check(t, DEV_OFF, 1, "\"automatic\": true", &res);
	tf_expect_error(&res, IPC_FETCH_ERR_AUTOMATIC_DISABLED, NULL);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_total(t->http), 0);
	tf_check(t, DEV_OFF, 1, NULL, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	tf_stop(t);

	tf_config(t, "  disable_automatic_update_check: true\n", NULL);
	tf_start(t);
	tf_check(t, DEV_A, 1, "\"automatic\": true", &res);
	tf_expect_error(&res, IPC_FETCH_ERR_AUTOMATIC_DISABLED, NULL);
	ipc_result_clear(&res);
}

/* Malformed calls are refused and name the parameter. */
static void
test_bad_calls(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;

	tf_start(t);
	tf_call(t, IPC_FETCH_CHECK, "{\"ieee\": \"0x00124b000000000g\", "
	    "\"manufacturerCode\": 1, \"imageType\": 1, \"fileVersion\": 1}",
	    NULL, &res);
	tf_expect_error(&res, IPC_ERR_INVALID_PARAMETER, NULL);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
	    res.parameters, "parameter")), "device.ieee");
	ipc_result_clear(&res);
	tf_call(t, IPC_FETCH_CHECK, "{\"ieee\": \"" DEV_A "\", "
	    "\"manufacturerCode\": 70000, \"imageType\": 1, "
	    "\"fileVersion\": 1}", NULL, &res);
	tf_expect_error(&res, IPC_ERR_INVALID_PARAMETER, NULL);
	ipc_result_clear(&res);
	tf_check(t, DEV_A, 1, "\"surprise\": 1", &res);
	tf_expect_error(&res, IPC_ERR_INVALID_PARAMETER, NULL);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_total(t->http), 0);
}

static char *
tf_hex_param(const uint8_t *buf, size_t len)
{
	char	*s;

	s = malloc(2 * len + 16);
	assert_non_null(s);
	strcpy(s, "\"hex\": \"");
	util_hex(buf, len, s + strlen(s));
	strcat(s, "\"");
	return (s);
}

/* A self-signed certificate for 127.0.0.1, made for this test alone. */
static SSL_CTX *
tf_tls_ctx(void)
{
	SSL_CTX		*ctx;
	EVP_PKEY	*key;
	X509		*crt;
	X509_NAME	*name;

	key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	crt = X509_new();
	ctx = SSL_CTX_new(TLS_server_method());
	if (key == NULL || crt == NULL || ctx == NULL)
		return (NULL);
	ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
	X509_gmtime_adj(X509_getm_notBefore(crt), -60);
	X509_gmtime_adj(X509_getm_notAfter(crt), 3600);
	X509_set_pubkey(crt, key);
	name = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"127.0.0.1", -1, -1, 0);
	X509_set_issuer_name(crt, name);
	if (X509_sign(crt, key, EVP_sha256()) == 0 ||
	    SSL_CTX_use_certificate(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		return (NULL);
	X509_free(crt);
	EVP_PKEY_free(key);
	return (ctx);
}

/* Serve TLS handshakes on LS in a child until killed; its pid. */
static pid_t
tf_tls_server(int ls)
{
	SSL_CTX	*ctx;
	SSL	*ssl;
	pid_t	 pid;
	int	 s;

	if ((pid = fork()) != 0)
		return (pid);
	if ((ctx = tf_tls_ctx()) == NULL)
		_exit(1);
	for (;;) {
		if ((s = accept(ls, NULL, NULL)) == -1)
			_exit(1);
		if ((ssl = SSL_new(ctx)) != NULL && SSL_set_fd(ssl, s) == 1 &&
		    SSL_accept(ssl) == 1)
			SSL_write(ssl, "HTTP/1.0 200 OK\r\n\r\n[]", 23);
		SSL_free(ssl);
		close(s);
	}
}

/* TLS peers are verified: a certificate nobody vouches for is refused. */
static void
test_tls_verified(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	char			 url[128];
	pid_t			 pid;
	int			 ls, status;

	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls != -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(ls, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sin, &len), 0);
	pid = tf_tls_server(ls);
	assert_true(pid != -1);
	close(ls);
	tf_start(t);
	snprintf(url, sizeof(url), "\"url\": \"https://127.0.0.1:%u/i.json\"",
	    ntohs(sin.sin_port));
	tf_check(t, DEV_A, 1, url, &res);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	tf_expect_error(&res, IPC_FETCH_ERR_INDEX_UNAVAILABLE, "certificate");
	ipc_result_clear(&res);
}

/* The proxy comes from the environment: the name is never looked up. */
static void
test_proxy(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;

	t->proxy = 1;
	tf_start(t);
	tf_check(t, DEV_A, 1,
	    "\"url\": \"http://ota.zotad.invalid/index.json\"", &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	assert_int_equal(thttpd_hits(t->http, "/index.json"), 1);
}

/* As another user: the call must not be answered. */
static int
tf_stranger_call(const char *sock)
{
	struct event_base	*base;
	struct ipc_conn		*conn;
	struct ipc_result	 res;
	struct passwd		*pw;
	int			 r;

	if ((pw = getpwnam("daemon")) == NULL || pw->pw_uid == 0 ||
	    setgroups(0, NULL) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		return (2);
	if ((base = event_base_new()) == NULL ||
	    (conn = ipc_connect(base, sock)) == NULL)
		return (3);
	memset(&res, 0, sizeof(res));
	r = ipc_conn_call_sync(conn, IPC_FETCH_CHECK, NULL, NULL, 0,
	    TF_WAIT_MS, &res);
	if (r == 0 && res.error != NULL &&
	    strcmp(res.error, IPC_ERR_DISCONNECTED) == 0)
		r = -1;
	return (r == -1 && errno != ETIMEDOUT ? 0 : 1);
}

/* Only root, our own user and zotad-radio's may call (SO_PEERCRED). */
static void
test_peer_refused(void **state)
{
	struct tf	*t = *state;
	pid_t		 pid;
	int		 status;

	if (geteuid() != 0) {
		print_message("# needs root to call as another user\n");
		skip();
	}
	tf_start(t);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(tf_stranger_call(t->sock));
	/* The daemon logs the refusal while we wait for the child. */
	tf_wait_log(t, "refusing peer");
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(thttpd_total(t->http), 0);
}

/* An uploaded image is checked and handed back without any contact. */
static void
test_upload(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	uint8_t			*buf, back[2048];
	size_t			 len;
	char			*hex;

	tf_start(t);
	buf = tf_make_image(1, 9, 1800, &len);
	hex = tf_hex_param(buf, len);
	tf_get_image(t, DEV_A, 1, hex, &res);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	assert_int_equal(read(res.fds[0], back, sizeof(back)), (ssize_t)len);
	assert_memory_equal(back, buf, len);
	ipc_result_clear(&res);

	/* For another image type than the device's: refused. */
	tf_get_image(t, DEV_A, 2, hex, &res);
	tf_expect_error(&res, IPC_FETCH_ERR_IMAGE_INVALID, "image type");
	ipc_result_clear(&res);
	/* Not an OTA file at all. */
	tf_get_image(t, DEV_A, 1, "\"hex\": \"00112233\"", &res);
	tf_expect_error(&res, IPC_FETCH_ERR_IMAGE_INVALID, NULL);
	ipc_result_clear(&res);
	tf_get_image(t, DEV_A, 1, "\"hex\": \"001\"", &res);
	tf_expect_error(&res, IPC_FETCH_ERR_IMAGE_INVALID, "odd");
	ipc_result_clear(&res);
	assert_int_equal(thttpd_total(t->http), 0);
	free(hex);
	free(buf);
}

/* A real image from the fixtures, given by URL, arrives intact. */
static void
test_fixture_image(void **state)
{
	struct tf		*t = *state;
	struct ipc_result	 res;
	struct ota_image	*img;
	const char		*dir, *name = "TICMeter.ota";
	char			 path[PATH_MAX], url[256], err[128], *dev;
	char			 sha[SHA512_HEX_LEN + 1];
	uint8_t			*buf;
	size_t			 len;
	int			 fd;
	struct stat		 st;

	if ((dir = getenv("ZOTAD_FIXTURES")) == NULL)
		dir = "../shared/fixtures/zigbee-ota";
	snprintf(path, sizeof(path), "%s/images/%s", dir, name);
	if (util_read_file(path, 32 * 1024 * 1024, &buf, &len) == -1) {
		print_message("# fixtures not found at %s\n", dir);
		skip();
	}
	img = malloc(sizeof(*img));
	assert_int_equal(ota_parse(buf, len, img, err, sizeof(err)), 0);
	util_sha512_hex(buf, len, sha);
	thttpd_route(t->http, "/real.ota", buf, len, THTTPD_OK);
	t->max_image = 16 * 1024 * 1024;
	tf_config(t, NULL, NULL);
	tf_start(t);
	snprintf(url, sizeof(url), "\"url\": \"http://127.0.0.1:%u/real.ota\"",
	    t->port);
	assert_true(asprintf(&dev, "{\"ieee\": \"" DEV_A "\", "
	    "\"manufacturerCode\": %u, \"imageType\": %u, \"fileVersion\": 0}",
	    img->hdr.manufacturer_code, img->hdr.image_type) > 0);
	tf_call(t, IPC_FETCH_CHECK, dev, url, &res);
	tf_expect_available(&res, 1);
	ipc_result_clear(&res);
	tf_call(t, IPC_FETCH_GET_IMAGE, dev, url, &res);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	fd = res.fds[0];
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, len);
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(
	    res.parameters, "sha512")), sha);
	ipc_result_clear(&res);
	/* Checked once and kept: the image itself was fetched once. */
	assert_int_equal(thttpd_hits(t->http, "/real.ota"), 1);
	free(dev);
	free(img);
	free(buf);
}

/*
 * The sandbox itself, in a child that enters it as the daemon does:
 * a serial-like device (a pseudo terminal) cannot be opened, nor a file
 * outside the allowed dirs, and exec kills the process.
 */
enum tf_probe {
	TF_PROBE_FILES,		/* the device and a file outside */
	TF_PROBE_EXEC,
	TF_PROBE_ABSTRACT	/* an abstract Unix socket outside */
};

/* The test's abstract socket, named by the parent before any fork. */
static struct sockaddr_un	 tf_sun;
static socklen_t		 tf_sunlen;

static void
tf_abstract_addr(struct sockaddr_un *sun, socklen_t *len)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    (size_t)snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1,
	    "zotad-test-fetch-%d", (int)getpid()));
}

static int
tf_probe_abstract(const struct sockaddr_un *sun, socklen_t len)
{
	int	 s;

	if ((s = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return (5);
	if (connect(s, (const struct sockaddr *)sun, len) != -1)
		return (6);
	return (errno == EPERM ? 0 : 7);
}

static int
tf_confined_child(const char *dir, const char *tty, enum tf_probe probe)
{
	struct fetch_confine_paths	 p;
	char			 state[PATH_MAX], cache[PATH_MAX];

	snprintf(state, sizeof(state), "%s/state", dir);
	snprintf(cache, sizeof(cache), "%s/cache", dir);
	p.state_dir = state;
	p.cache_dir = cache;
	p.data_dir = NULL;
	p.max_file = 0;
	if (priv_drop("nobody", NULL, NULL) == -1 ||
	    priv_no_new_privs() == -1 || fetch_confine(&p) == -1)
		return (3);
	if (probe == TF_PROBE_EXEC) {
		execl("/bin/true", "true", (char *)NULL);
		return (4);
	}
	if (probe == TF_PROBE_ABSTRACT)
		return (tf_probe_abstract(&tf_sun, tf_sunlen));
	if (open(tty, O_RDWR | O_NOCTTY) != -1)
		return (1);
	if (open("/etc/passwd", O_RDONLY) != -1)
		return (2);
	return (0);
}

static int
tf_run_confined(const char *dir, const char *tty, enum tf_probe probe)
{
	pid_t	 pid;
	int	 status;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(tf_confined_child(dir, tty, probe));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return (status);
}

static void
test_sandbox(void **state)
{
	struct tf	*t = *state;
	int		 master, status;
	const char	*tty;

	if (getenv(SANDBOX_DEBUG_ENV) != NULL)
		skip();
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master != -1);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	tty = ptsname(master);
	assert_non_null(tty);
	/* Outside the sandbox the device opens: the test can tell. */
	close(open(tty, O_RDWR | O_NOCTTY));

	status = tf_run_confined(t->dir, tty, TF_PROBE_FILES);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	status = tf_run_confined(t->dir, tty, TF_PROBE_EXEC);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
	close(master);
}

/* Landlock 6 and later: no connecting to others' abstract sockets. */
static void
test_sandbox_abstract(void **state)
{
	struct tf	*t = *state;
	int		 s, status;

	if (getenv(SANDBOX_DEBUG_ENV) != NULL || syscall(
	    SYS_landlock_create_ruleset, NULL, 0, 1U) < 6) {
		print_message("# the kernel's Landlock has no socket scopes\n");
		skip();
	}
	tf_abstract_addr(&tf_sun, &tf_sunlen);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s != -1);
	assert_int_equal(bind(s, (struct sockaddr *)&tf_sun, tf_sunlen), 0);
	assert_int_equal(listen(s, 1), 0);
	/* Unconfined, the connection is accepted into the backlog. */
	assert_int_equal(tf_probe_abstract(&tf_sun, tf_sunlen), 6);
	status = tf_run_confined(t->dir, "/dev/null", TF_PROBE_ABSTRACT);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(s);
}

static void
tf_find_daemon(const char *argv0)
{
	char	 copy[PATH_MAX];

	/* build/tests/test_fetch runs build/bin/zotad-fetch. */
	snprintf(copy, sizeof(copy), "%s", argv0);
	snprintf(tf_daemon, sizeof(tf_daemon), "%s/../bin/zotad-fetch",
	    dirname(copy));
}

int
main(int argc, char *argv[])
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_and_image,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_image_without_sha,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_image_faults,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_index_faults,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_rate_limit_restart,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_conditional_get,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_two_at_once,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_offline_fallback,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_override_outside,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_socket_activation,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_call_files,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_disabled,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_bad_calls,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_peer_refused,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_tls_verified,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_proxy,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_upload,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_fixture_image,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox,
		    tf_setup, tf_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox_abstract,
		    tf_setup, tf_teardown),
	};

	(void)argc;
	tf_find_daemon(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	log_init("test_fetch", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
