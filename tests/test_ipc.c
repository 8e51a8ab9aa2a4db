/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "util.h"

#define T_ECHO		"io.zotad.Test.Echo"
#define T_LATER		"io.zotad.Test.Later"
#define T_COUNT		"io.zotad.Test.Count"
#define T_PIPE		"io.zotad.Test.Pipe"
#define T_MEMFD		"io.zotad.Test.Memfd"
#define T_TYPED		"io.zotad.Test.Typed"
#define T_PEER		"io.zotad.Test.Peer"
#define T_HOLD		"io.zotad.Test.Hold"
#define T_IMAGE		"io.zotad.Test.Image"
#define T_BIG		"io.zotad.Test.Big"

#define T_MAXHELD	256
#define T_TIMEOUT_MS	5000

/*
 * What the test handlers saw, shared with the test bodies. Calls that
 * handlers keep for later are answered by the test (or at teardown).
 */
static struct {
	struct ipc_call	*held[T_MAXHELD];
	int		 nheld;
	int		 maxheld;
	int		 cancelled;
	int		 ndispatched;
} hs;

/* The fixture every test starts from: a server and a client on a pair. */
struct fx {
	struct event_base	*base;
	struct ipc_server	*srv;
	struct ipc_conn		*cli;
};

static cJSON *
json(const char *text)
{
	cJSON	*j = cJSON_Parse(text);

	assert_non_null(j);
	return (j);
}

static cJSON *
obj_int(const char *key, double v)
{
	cJSON	*j = cJSON_CreateObject();

	assert_non_null(cJSON_AddNumberToObject(j, key, v));
	return (j);
}

/*
 * Handlers.
 */

static void
h_echo(struct ipc_call *call, const cJSON *params, void *arg)
{
	(void)arg;
	hs.ndispatched++;
	ipc_call_reply(call, params);
}

static void
h_later(struct ipc_call *call, const cJSON *params, void *arg)
{
	(void)params;
	(void)arg;
	hs.ndispatched++;
	assert_true(hs.nheld < T_MAXHELD);
	hs.held[hs.nheld++] = call;
	if (hs.nheld > hs.maxheld)
		hs.maxheld = hs.nheld;
}

static void
h_count(struct ipc_call *call, const cJSON *params, void *arg)
{
	int64_t	 i, n = ipc_param_int(params, "n", -1);
	cJSON	*r;

	(void)arg;
	if (!(ipc_call_flags(call) & IPC_CALL_MORE)) {
		ipc_call_error(call, IPC_ERR_EXPECTED_MORE, NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		r = obj_int("i", i);
		assert_int_equal(ipc_call_reply_more(call, r), 0);
		cJSON_Delete(r);
	}
	r = json("{\"done\": true}");
	ipc_call_reply(call, r);
	cJSON_Delete(r);
}

static void
h_pipe(struct ipc_call *call, const cJSON *params, void *arg)
{
	struct ipc_param_error	 err = { "fd", "missing" };
	char			 buf[256];
	ssize_t			 n;
	cJSON			*r;
	int			 fd;

	(void)params;
	(void)arg;
	if ((fd = ipc_call_take_fd(call, 0)) == -1) {
		ipc_call_invalid(call, &err);
		return;
	}
	/* The writer filled the pipe and closed it before calling. */
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "data", buf);
	ipc_call_reply(call, r);
	cJSON_Delete(r);
}

static void
h_memfd(struct ipc_call *call, const cJSON *params, void *arg)
{
	int	 fd;

	(void)params;
	(void)arg;
	fd = memfd_create("zotad-test", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "image bytes", 11), 11);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(ipc_call_reply_fds(call, NULL, &fd, 1), 0);
	close(fd);
}

static void
h_typed(struct ipc_call *call, const cJSON *params, void *arg)
{
	cJSON	*r = cJSON_CreateObject();

	(void)arg;
	cJSON_AddStringToObject(r, "name",
	    ipc_param_string(params, "name", "?"));
	cJSON_AddNumberToObject(r, "level",
	    (double)ipc_param_int(params, "level", -1));
	cJSON_AddBoolToObject(r, "enabled",
	    ipc_param_bool(params, "enabled", 0));
	ipc_call_reply(call, r);
	cJSON_Delete(r);
}

static void
h_peer(struct ipc_call *call, const cJSON *params, void *arg)
{
	const struct ipc_peer	*p = ipc_call_peer(call);
	cJSON			*r = cJSON_CreateObject();

	(void)params;
	(void)arg;
	cJSON_AddNumberToObject(r, "pid", p->pid);
	cJSON_AddNumberToObject(r, "uid", p->uid);
	cJSON_AddNumberToObject(r, "gid", p->gid);
	ipc_call_reply(call, r);
	cJSON_Delete(r);
}

static void
h_hold_cancel(struct ipc_call *call, void *arg)
{
	(void)call;
	(void)arg;
	hs.cancelled++;
}

static void
h_hold(struct ipc_call *call, const cJSON *params, void *arg)
{
	h_later(call, params, arg);
	ipc_call_set_cancel(call, h_hold_cancel, NULL);
}

/* Hand over a file as a sealed memfd, the way images are handed over. */
static void
h_image(struct ipc_call *call, const cJSON *params, void *arg)
{
	char	 hex[SHA512_HEX_LEN + 1];
	uint8_t	*buf;
	size_t	 len;
	cJSON	*r;
	int	 fd;

	(void)arg;
	assert_int_equal(util_read_file(ipc_param_string(params, "path", ""),
	    64 * 1024 * 1024, &buf, &len), 0);
	fd = memfd_create("zotad-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE | F_SEAL_SEAL), 0);
	util_sha512_hex(buf, len, hex);
	free(buf);

	r = cJSON_CreateObject();
	cJSON_AddNumberToObject(r, "size", (double)len);
	cJSON_AddStringToObject(r, "sha512", hex);
	assert_int_equal(ipc_call_reply_fds(call, r, &fd, 1), 0);
	cJSON_Delete(r);
	close(fd);
}

/* Reply with a string of the size asked for. */
static void
h_big(struct ipc_call *call, const cJSON *params, void *arg)
{
	size_t	 len = (size_t)ipc_param_int(params, "size", 0);
	char	*pad = malloc(len + 1);
	cJSON	*r = cJSON_CreateObject();

	(void)arg;
	memset(pad, 'b', len);
	pad[len] = '\0';
	cJSON_AddStringToObject(r, "pad", pad);
	ipc_call_reply(call, r);
	cJSON_Delete(r);
	free(pad);
}

static const struct ipc_param_spec spec_big[] = {
	{ "size", IPC_P_INT, IPC_P_REQUIRED, 0, 2 * IPC_MAX_MESSAGE, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec spec_image[] = {
	{ "path", IPC_P_STRING, IPC_P_REQUIRED, 1, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec spec_count[] = {
	{ "n", IPC_P_INT, IPC_P_REQUIRED, 0, 100, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec spec_target[] = {
	{ "ieee", IPC_P_HEX, IPC_P_REQUIRED, 16, 16, NULL },
	{ "endpoint", IPC_P_INT, 0, 1, 240, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec spec_typed[] = {
	{ "name", IPC_P_STRING, IPC_P_REQUIRED, 1, 32, NULL },
	{ "level", IPC_P_INT, 0, 0, 254, NULL },
	{ "enabled", IPC_P_BOOL, 0, 0, 0, NULL },
	{ "sha512", IPC_P_HEX, IPC_P_NULLABLE, 128, 128, NULL },
	{ "tags", IPC_P_ARRAY, 0, 0, 4, NULL },
	{ "target", IPC_P_OBJECT, 0, 0, 0, spec_target },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_method methods[] = {
	{ T_ECHO, h_echo, NULL },
	{ T_LATER, h_later, NULL },
	{ T_COUNT, h_count, spec_count },
	{ T_PIPE, h_pipe, NULL },
	{ T_MEMFD, h_memfd, NULL },
	{ T_TYPED, h_typed, spec_typed },
	{ T_PEER, h_peer, NULL },
	{ T_HOLD, h_hold, NULL },
	{ T_IMAGE, h_image, spec_image },
	{ T_BIG, h_big, spec_big },
	{ NULL, NULL, NULL }
};

/*
 * Running the loop: until a counter reaches a target, with a guard timer
 * so that a broken build fails instead of hanging.
 */

static int	guard_fired;

static void
guard_cb(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	guard_fired = 1;
}

static void
run_until(struct event_base *base, const int *counter, int target)
{
	struct event	*guard = evtimer_new(base, guard_cb, NULL);
	struct timeval	 tv = { 10, 0 };

	guard_fired = 0;
	evtimer_add(guard, &tv);
	while (*counter < target && !guard_fired)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(guard);
	assert_int_equal(*counter, target);
}

/* Run the loop until nothing is left to do right now. */
static void
run_idle(struct event_base *base)
{
	int	 i;

	for (i = 0; i < 64; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
}

/*
 * A raw peer: a plain socket whose input the test collects, for speaking
 * the wire format by hand.
 */
struct raw {
	int		 fd;
	struct event	*ev;
	char		 buf[65536];
	size_t		 len;
	int		 nmsgs;
	int		 eof;
};

static void
raw_readcb(evutil_socket_t fd, short ev, void *arg)
{
	struct raw	*r = arg;
	ssize_t		 n, i;

	(void)ev;
	n = recv(fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len,
	    MSG_DONTWAIT);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		r->eof = 1;
		event_del(r->ev);
		return;
	}
	for (i = 0; i < n; i++)
		if (r->buf[r->len + i] == '\0')
			r->nmsgs++;
	r->len += n;
}

/* Connect a raw peer to the fixture's server. */
static struct raw *
raw_new(struct fx *f)
{
	struct raw	*r = calloc(1, sizeof(*r));
	int		 sv[2];

	assert_non_null(r);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(ipc_server_add_fd(f->srv, sv[0]), 0);
	r->fd = sv[1];
	r->ev = event_new(f->base, r->fd, EV_READ | EV_PERSIST, raw_readcb,
	    r);
	event_add(r->ev, NULL);
	return (r);
}

static void
raw_send(struct raw *r, const char *buf, size_t len)
{
	assert_int_equal(send(r->fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Send BUF with descriptors attached, in one sendmsg. */
static void
raw_sendfds(struct raw *r, const char *buf, size_t len, const int *fds,
    size_t nfds)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(16 * sizeof(int))];
	}		 cm;

	assert_true(nfds > 0 && nfds <= 16);
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
	CMSG_FIRSTHDR(&mh)->cmsg_level = SOL_SOCKET;
	CMSG_FIRSTHDR(&mh)->cmsg_type = SCM_RIGHTS;
	CMSG_FIRSTHDR(&mh)->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(CMSG_FIRSTHDR(&mh)), fds, nfds * sizeof(int));
	assert_int_equal(sendmsg(r->fd, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/*
 * Send more than the socket holds, running the loop while it drains.
 * Stops early if the server hangs up, as it may do on purpose.
 */
static void
raw_push(struct event_base *base, struct raw *r, const char *buf,
    size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = send(r->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EAGAIN) {
			event_base_loop(base, EVLOOP_ONCE);
			continue;
		}
		if (n == -1)
			return;
		buf += n;
		len -= n;
	}
}

/* The Nth message (from 0) the raw peer received. */
static const char *
raw_msg(const struct raw *r, int nth)
{
	const char	*p = r->buf;

	assert_true(nth < r->nmsgs);
	while (nth-- > 0)
		p += strlen(p) + 1;
	return (p);
}

static void
raw_free(struct raw *r)
{
	event_free(r->ev);
	if (r->fd != -1)
		close(r->fd);
	free(r);
}

/*
 * Capturing our own log, to check what a dropped peer leaves behind.
 */

static int	capture_saved = -1;
static char	capture_path[64];

static void
capture_start(void)
{
	int	 fd;

	strcpy(capture_path, "/tmp/zotad-test-ipc-log.XXXXXX");
	fd = mkstemp(capture_path);
	assert_true(fd >= 0);
	fflush(stderr);
	capture_saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

/* Stop capturing; return what was logged (static buffer). */
static const char *
capture_stop(void)
{
	static char	 text[8192];
	ssize_t		 n;
	int		 fd;

	fflush(stderr);
	dup2(capture_saved, 2);
	close(capture_saved);
	fd = open(capture_path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	text[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(capture_path);
	return (text);
}

/* Run the loop until the captured log shows TEXT; return the log. */
static const char *
run_until_logged(struct event_base *base, const char *text)
{
	static char	 buf[8192];
	ssize_t		 n;
	int		 fd, i;

	for (i = 0; i < 1000; i++) {
		fflush(stderr);
		fd = open(capture_path, O_RDONLY);
		assert_true(fd >= 0);
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		buf[n > 0 ? n : 0] = '\0';
		if (strstr(buf, text) != NULL)
			return (buf);
		event_base_loop(base, EVLOOP_ONCE);
	}
	fail_msg("never logged: %s", text);
	return (NULL);
}

/* Whether the log names us, the peer, by pid and uid. */
static int
log_names_peer(const char *text)
{
	char	 want[64];

	snprintf(want, sizeof(want), "peer pid %ld uid %lu", (long)getpid(),
	    (unsigned long)getuid());
	return (strstr(text, want) != NULL);
}

/*
 * Fixture.
 */

static int
fx_setup(void **state)
{
	struct fx	*f = calloc(1, sizeof(*f));
	int		 sv[2];

	memset(&hs, 0, sizeof(hs));
	assert_non_null(f);
	assert_non_null(f->base = event_base_new());
	assert_non_null(f->srv = ipc_server_new(f->base, methods, NULL));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	assert_int_equal(ipc_server_add_fd(f->srv, sv[0]), 0);
	assert_non_null(f->cli = ipc_conn_new(f->base, sv[1]));
	*state = f;
	return (0);
}

static void
release_held(void)
{
	int	 i;

	for (i = 0; i < hs.nheld; i++)
		ipc_call_reply(hs.held[i], NULL);
	hs.nheld = 0;
}

static int
fx_teardown(void **state)
{
	struct fx	*f = *state;

	ipc_conn_free(f->cli);
	ipc_server_free(f->srv);
	release_held();
	event_base_free(f->base);
	free(f);
	return (0);
}

/* A blocking call that must get an answer; returns its parameters. */
static void
call_ok(struct fx *f, const char *method, const char *params,
    struct ipc_result *res)
{
	cJSON	*p = params != NULL ? json(params) : NULL;

	assert_int_equal(ipc_conn_call_sync(f->cli, method, p, NULL, 0,
	    T_TIMEOUT_MS, res), 0);
	cJSON_Delete(p);
	assert_non_null(res->parameters);
}

/*
 * Tests: calls and replies.
 */

static void
test_round_trip(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;

	call_ok(f, T_ECHO, "{\"text\": \"hello\", \"n\": 5, \"l\": [1, 2]}",
	    &res);
	assert_null(res.error);
	assert_string_equal(ipc_param_string(res.parameters, "text", ""),
	    "hello");
	assert_int_equal(ipc_param_int(res.parameters, "n", 0), 5);
	assert_int_equal(cJSON_GetArraySize(
	    cJSON_GetObjectItem(res.parameters, "l")), 2);
	ipc_result_clear(&res);

	/* No parameters at all reads as an empty object on both sides. */
	call_ok(f, T_ECHO, NULL, &res);
	assert_null(res.error);
	assert_true(cJSON_IsObject(res.parameters));
	assert_null(res.parameters->child);
	ipc_result_clear(&res);
}

/* Replies received by order_cb, in arrival order. */
static struct {
	int	 ids[256];
	char	 error[4][64];
	int64_t	 size[4];
	int	 n;
	int	 errors;
} got;

/* Note the error and the "size" of each of the first few replies. */
static void
got_cb(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	(void)conn;
	(void)arg;
	if (got.n < 4) {
		snprintf(got.error[got.n], sizeof(got.error[0]), "%s",
		    r->error != NULL ? r->error : "");
		got.size[got.n] = ipc_param_int(r->parameters, "size", -1);
	}
	got.n++;
}

static void
order_cb(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	(void)conn;
	if (r->error != NULL)
		got.errors++;
	got.ids[got.n++] = (int)(intptr_t)arg;
}

static void
test_calls_in_flight_answered_in_order(void **state)
{
	struct fx	*f = *state;
	int		 i;

	memset(&got, 0, sizeof(got));
	for (i = 0; i < 5; i++)
		assert_int_equal(ipc_conn_call(f->cli, T_LATER, NULL, 0, NULL,
		    0, order_cb, (void *)(intptr_t)i), 0);
	run_until(f->base, &hs.nheld, 5);

	/* The handlers answer back to front; the client still sees 0..4. */
	for (i = 4; i >= 0; i--)
		ipc_call_reply(hs.held[i], NULL);
	hs.nheld = 0;
	run_until(f->base, &got.n, 5);
	for (i = 0; i < 5; i++)
		assert_int_equal(got.ids[i], i);
	assert_int_equal(got.errors, 0);
}

static void
test_too_many_calls_wait_their_turn(void **state)
{
	struct fx	*f = *state;
	int		 i, total = 3 * IPC_MAX_INFLIGHT / 2;

	memset(&got, 0, sizeof(got));
	for (i = 0; i < total; i++)
		assert_int_equal(ipc_conn_call(f->cli, T_LATER, NULL, 0, NULL,
		    0, order_cb, (void *)(intptr_t)i), 0);
	run_until(f->base, &hs.nheld, IPC_MAX_INFLIGHT);
	run_idle(f->base);
	assert_int_equal(hs.maxheld, IPC_MAX_INFLIGHT);
	assert_int_equal(got.n, 0);

	/* Answering frees the slots, and the rest are taken up. */
	release_held();
	run_until(f->base, &hs.nheld, total - IPC_MAX_INFLIGHT);
	release_held();
	run_until(f->base, &got.n, total);
	for (i = 0; i < total; i++)
		assert_int_equal(got.ids[i], i);
	assert_true(hs.maxheld <= IPC_MAX_INFLIGHT);
}

static void
test_big_calls_wait_their_turn(void **state)
{
	struct fx	*f = *state;
	cJSON		*p = cJSON_CreateObject();
	char		*pad = malloc(300 * 1024 + 1);
	int		 i;

	/* Four of these pass the server's budget for calls held at once. */
	memset(pad, 'p', 300 * 1024);
	pad[300 * 1024] = '\0';
	cJSON_AddStringToObject(p, "pad", pad);
	memset(&got, 0, sizeof(got));
	for (i = 0; i < 10; i++)
		assert_int_equal(ipc_conn_call(f->cli, T_LATER, p, 0, NULL, 0,
		    order_cb, (void *)(intptr_t)i), 0);
	run_until(f->base, &hs.nheld, 4);
	run_idle(f->base);
	assert_int_equal(hs.maxheld, 4);

	for (i = 0; i < 10000 && got.n < 10; i++) {
		release_held();
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	assert_int_equal(got.n, 10);
	for (i = 0; i < 10; i++)
		assert_int_equal(got.ids[i], i);
	assert_int_equal(hs.ndispatched, 10);
	cJSON_Delete(p);
	free(pad);
}

static struct {
	int	 seen[16];
	int	 n;
	int	 final;
	char	 error[128];
} stream;

static void
stream_cb(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	(void)conn;
	(void)arg;
	if (r->error != NULL) {
		snprintf(stream.error, sizeof(stream.error), "%s", r->error);
		stream.final++;
		return;
	}
	if (!r->continues) {
		assert_true(ipc_param_bool(r->parameters, "done", 0));
		stream.final++;
		return;
	}
	stream.seen[stream.n++] = (int)ipc_param_int(r->parameters, "i", -1);
}

static void
test_streamed_replies(void **state)
{
	struct fx	*f = *state;
	cJSON		*p = obj_int("n", 3);

	memset(&stream, 0, sizeof(stream));
	assert_int_equal(ipc_conn_call(f->cli, T_COUNT, p, IPC_CALL_MORE,
	    NULL, 0, stream_cb, NULL), 0);
	run_until(f->base, &stream.final, 1);
	assert_int_equal(stream.n, 3);
	assert_int_equal(stream.seen[0], 0);
	assert_int_equal(stream.seen[2], 2);
	assert_string_equal(stream.error, "");

	/* Without "more" the method refuses to stream. */
	memset(&stream, 0, sizeof(stream));
	assert_int_equal(ipc_conn_call(f->cli, T_COUNT, p, 0, NULL, 0,
	    stream_cb, NULL), 0);
	run_until(f->base, &stream.final, 1);
	assert_string_equal(stream.error, IPC_ERR_EXPECTED_MORE);
	assert_int_equal(stream.n, 0);
	cJSON_Delete(p);
}

static void
test_oneway_gets_no_reply(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;

	assert_int_equal(ipc_conn_call(f->cli, T_ECHO, NULL, IPC_CALL_ONEWAY,
	    NULL, 0, NULL, NULL), 0);
	/* A reply to it would be taken as the answer to this call. */
	call_ok(f, T_TYPED, "{\"name\": \"after\"}", &res);
	assert_string_equal(ipc_param_string(res.parameters, "name", ""),
	    "after");
	assert_int_equal(hs.ndispatched, 1);
	ipc_result_clear(&res);
}

static void
test_unknown_method(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;

	call_ok(f, "io.zotad.Test.Nope", "{}", &res);
	assert_non_null(res.error);
	assert_string_equal(res.error, IPC_ERR_METHOD_NOT_FOUND);
	assert_string_equal(ipc_param_string(res.parameters, "method", ""),
	    "io.zotad.Test.Nope");
	ipc_result_clear(&res);
}

static void
test_large_reply(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	cJSON			*p = cJSON_CreateObject();
	char			*big = malloc(512 * 1024 + 1);

	/* Far more than a socket buffer: written in pieces as it drains. */
	memset(big, 'x', 512 * 1024);
	big[512 * 1024] = '\0';
	cJSON_AddStringToObject(p, "big", big);
	assert_int_equal(ipc_conn_call_sync(f->cli, T_ECHO, p, NULL, 0,
	    T_TIMEOUT_MS, &res), 0);
	assert_string_equal(ipc_param_string(res.parameters, "big", ""), big);
	ipc_result_clear(&res);
	cJSON_Delete(p);
	free(big);
}

static void
test_too_big_to_send(void **state)
{
	struct fx	*f = *state;
	cJSON		*p = cJSON_CreateObject();
	char		*big = malloc(IPC_MAX_MESSAGE + 1);

	memset(big, 'x', IPC_MAX_MESSAGE);
	big[IPC_MAX_MESSAGE] = '\0';
	cJSON_AddStringToObject(p, "big", big);
	assert_int_equal(ipc_conn_call(f->cli, T_ECHO, p, 0, NULL, 0,
	    order_cb, NULL), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(ipc_conn_call(f->cli, "no dots", NULL, 0, NULL, 0,
	    order_cb, NULL), -1);
	assert_int_equal(errno, EINVAL);
	cJSON_Delete(p);
	free(big);
}

static void
test_reply_too_big(void **state)
{
	struct fx	*f = *state;
	cJSON		*p = obj_int("size", IPC_MAX_MESSAGE);

	/* The reply cannot go; an error takes its place, in its turn. */
	memset(&got, 0, sizeof(got));
	capture_start();
	assert_int_equal(ipc_conn_call(f->cli, T_BIG, p, 0, NULL, 0,
	    got_cb, NULL), 0);
	assert_int_equal(ipc_conn_call(f->cli, T_ECHO, p, 0, NULL, 0,
	    got_cb, NULL), 0);
	run_until(f->base, &got.n, 2);
	assert_non_null(strstr(capture_stop(), T_BIG));
	assert_string_equal(got.error[0], IPC_ERR_INTERNAL);
	assert_string_equal(got.error[1], "");
	assert_int_equal(got.size[1], IPC_MAX_MESSAGE);
	cJSON_Delete(p);
}

/*
 * Tests: the byte stream.
 */

#define ECHO_CALL	"{\"method\":\"" T_ECHO "\",\"parameters\":{\"k\":%d}}"

static void
test_split_byte_by_byte(void **state)
{
	struct fx	*f = *state;
	struct raw	*r = raw_new(f);
	char		 msg[256];
	size_t		 i, len;

	len = snprintf(msg, sizeof(msg), ECHO_CALL, 7) + 1;
	len += snprintf(msg + len, sizeof(msg) - len, ECHO_CALL, 8) + 1;
	for (i = 0; i < len; i++) {
		raw_send(r, msg + i, 1);
		event_base_loop(f->base, EVLOOP_NONBLOCK);
	}
	run_until(f->base, &r->nmsgs, 2);
	assert_string_equal(raw_msg(r, 0), "{\"parameters\":{\"k\":7}}");
	assert_string_equal(raw_msg(r, 1), "{\"parameters\":{\"k\":8}}");
	raw_free(r);
}

static void
test_many_in_one_write(void **state)
{
	struct fx	*f = *state;
	struct raw	*r = raw_new(f);
	char		 msg[8192], want[64];
	size_t		 len = 0;
	int		 i;

	for (i = 0; i < 50; i++)
		len += snprintf(msg + len, sizeof(msg) - len, ECHO_CALL, i) + 1;
	raw_send(r, msg, len);
	run_until(f->base, &r->nmsgs, 50);
	for (i = 0; i < 50; i++) {
		snprintf(want, sizeof(want), "{\"parameters\":{\"k\":%d}}", i);
		assert_string_equal(raw_msg(r, i), want);
	}
	raw_free(r);
}

/*
 * Tests: file descriptors.
 */

static void
test_fd_to_server(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	int			 p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "through the pipe", 16), 16);
	close(p[1]);
	assert_int_equal(ipc_conn_call_sync(f->cli, T_PIPE, NULL, &p[0], 1,
	    T_TIMEOUT_MS, &res), 0);
	assert_null(res.error);
	assert_string_equal(ipc_param_string(res.parameters, "data", ""),
	    "through the pipe");
	ipc_result_clear(&res);

	/* The descriptor was copied: ours is still open and ours to close. */
	assert_int_not_equal(fcntl(p[0], F_GETFD), -1);
	close(p[0]);

	/* No descriptor, and the handler says which parameter it wanted. */
	call_ok(f, T_PIPE, NULL, &res);
	assert_string_equal(res.error, IPC_ERR_INVALID_PARAMETER);
	assert_string_equal(ipc_param_string(res.parameters, "parameter", ""),
	    "fd");
	ipc_result_clear(&res);
}

static void
test_fd_to_client(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	char			 buf[32];
	ssize_t			 n;

	call_ok(f, T_MEMFD, NULL, &res);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	n = read(res.fds[0], buf, sizeof(buf) - 1);
	assert_int_equal(n, 11);
	buf[n] = '\0';
	assert_string_equal(buf, "image bytes");
	/* Received descriptors do not leak into programs we might run. */
	assert_true(fcntl(res.fds[0], F_GETFD) & FD_CLOEXEC);
	ipc_result_clear(&res);
}

/* The largest image among the fixtures, or skip when there are none. */
static void
fixture_image(char *path, size_t size)
{
	const char	*dir = getenv("ZOTAD_FIXTURES");
	char		 images[512], file[1024];
	struct dirent	*de;
	struct stat	 st;
	off_t		 best = -1;
	DIR		*d;

	if (dir == NULL)
		dir = "../shared/fixtures/zigbee-ota";
	snprintf(images, sizeof(images), "%s/images", dir);
	if ((d = opendir(images)) == NULL) {
		printf("# no OTA fixtures in %s: skipped\n", images);
		skip();
	}
	while ((de = readdir(d)) != NULL) {
		snprintf(file, sizeof(file), "%s/%s", images, de->d_name);
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size > best) {
			best = st.st_size;
			snprintf(path, size, "%s", file);
		}
	}
	closedir(d);
	if (best < 0) {
		printf("# no OTA images in %s: skipped\n", images);
		skip();
	}
}

static void
test_image_handover(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	char			 path[1024], hex[SHA512_HEX_LEN + 1];
	cJSON			*params;
	uint8_t			*buf;
	size_t			 len, got_len = 0;
	ssize_t			 n;
	int			 fd;

	/* A real image, as a sealed memfd: the receiver hashes what it got. */
	fixture_image(path, sizeof(path));
	params = cJSON_CreateObject();
	cJSON_AddStringToObject(params, "path", path);
	assert_int_equal(ipc_conn_call_sync(f->cli, T_IMAGE, params, NULL, 0,
	    T_TIMEOUT_MS, &res), 0);
	cJSON_Delete(params);
	assert_null(res.error);
	assert_int_equal(res.nfds, 1);
	fd = res.fds[0];
	assert_true(fcntl(fd, F_GET_SEALS) & F_SEAL_WRITE);

	len = (size_t)ipc_param_int(res.parameters, "size", 0);
	assert_true(len > 0);
	assert_non_null(buf = malloc(len + 1));
	/* By position: the sender's file offset is shared, not ours. */
	while ((n = pread(fd, buf + got_len, len + 1 - got_len,
	    got_len)) > 0)
		got_len += n;
	assert_int_equal(got_len, len);
	util_sha512_hex(buf, len, hex);
	assert_string_equal(hex, ipc_param_string(res.parameters, "sha512",
	    ""));
	free(buf);

	/* And it is the file's own hash, not just a consistent one. */
	assert_int_equal(util_read_file(path, 64 * 1024 * 1024, &buf, &len),
	    0);
	util_sha512_hex(buf, len, hex);
	free(buf);
	assert_string_equal(hex, ipc_param_string(res.parameters, "sha512",
	    ""));
	ipc_result_clear(&res);
}

static void
test_unclaimed_fds_are_closed(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	int			 p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(ipc_conn_call_sync(f->cli, T_ECHO, NULL, &p[0], 1,
	    T_TIMEOUT_MS, &res), 0);
	ipc_result_clear(&res);
	close(p[0]);
	/* Echo ignored the read end; had the server kept it, this writes. */
	assert_int_equal(write(p[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
}

static void
test_fds_on_pipelined_calls(void **state)
{
	struct fx	*f = *state;
	struct raw	*r;
	int		 p[2][2], i;
	char		 want[64];

	/* Calls with and without descriptors, all written before any read. */
	memset(&got, 0, sizeof(got));
	for (i = 0; i < 2; i++) {
		assert_int_equal(pipe(p[i]), 0);
		snprintf(want, sizeof(want), "pipe %d", i);
		assert_int_equal(write(p[i][1], want, strlen(want)),
		    (ssize_t)strlen(want));
		close(p[i][1]);
	}
	assert_int_equal(ipc_conn_call(f->cli, T_ECHO, NULL, 0, NULL, 0,
	    order_cb, NULL), 0);
	for (i = 0; i < 2; i++) {
		assert_int_equal(ipc_conn_call(f->cli, T_PIPE, NULL, 0, p[i],
		    1, order_cb, NULL), 0);
		assert_int_equal(ipc_conn_call(f->cli, T_ECHO, NULL, 0, NULL,
		    0, order_cb, NULL), 0);
		close(p[i][0]);
	}
	run_until(f->base, &got.n, 5);
	assert_int_equal(got.errors, 0);

	/* The same over the raw peer, to see which call got which pipe. */
	r = raw_new(f);
	for (i = 0; i < 2; i++) {
		assert_int_equal(pipe(p[i]), 0);
		snprintf(want, sizeof(want), "raw %d", i);
		assert_int_equal(write(p[i][1], want, strlen(want)),
		    (ssize_t)strlen(want));
		close(p[i][1]);
	}
	snprintf(want, sizeof(want), "{\"method\":\"%s\"}", T_ECHO);
	raw_send(r, want, strlen(want) + 1);
	snprintf(want, sizeof(want), "{\"method\":\"%s\"}", T_PIPE);
	for (i = 0; i < 2; i++) {
		raw_sendfds(r, want, strlen(want) + 1, &p[i][0], 1);
		close(p[i][0]);
	}
	run_until(f->base, &r->nmsgs, 3);
	assert_string_equal(raw_msg(r, 1),
	    "{\"parameters\":{\"data\":\"raw 0\"}}");
	assert_string_equal(raw_msg(r, 2),
	    "{\"parameters\":{\"data\":\"raw 1\"}}");
	raw_free(r);
}

/*
 * Tests: misbehaving peers.
 */

/* Send BUF from a raw peer; the server must hang up and say why. */
static void
expect_dropped(struct fx *f, const char *buf, size_t len, const char *why)
{
	struct ipc_result	 res;
	struct raw		*r = raw_new(f);
	const char		*logged;

	capture_start();
	raw_push(f->base, r, buf, len);
	run_until(f->base, &r->eof, 1);
	logged = capture_stop();
	assert_int_equal(r->nmsgs, 0);
	assert_true(log_names_peer(logged));
	assert_non_null(strstr(logged, why));
	raw_free(r);

	/* The server lives on for everyone else. */
	call_ok(f, T_ECHO, "{\"still\": true}", &res);
	assert_true(ipc_param_bool(res.parameters, "still", 0));
	ipc_result_clear(&res);
}

static void
test_oversize_message_dropped(void **state)
{
	struct fx	*f = *state;
	char		*big = malloc(IPC_MAX_MESSAGE + 64);

	/* Well past the cap with no end in sight. */
	memset(big, ' ', IPC_MAX_MESSAGE + 64);
	big[0] = '{';
	expect_dropped(f, big, IPC_MAX_MESSAGE + 64, "message too big");

	/* Just past the cap, although complete and valid. */
	memset(big, ' ', IPC_MAX_MESSAGE + 2);
	big[0] = '{';
	big[IPC_MAX_MESSAGE] = '}';
	big[IPC_MAX_MESSAGE + 1] = '\0';
	expect_dropped(f, big, IPC_MAX_MESSAGE + 2, "message too big");
	free(big);
}

static void
test_smaller_cap(void **state)
{
	struct fx	*f = *state;
	char		 msg[300];

	ipc_server_set_max_message(f->srv, 100);
	snprintf(msg, sizeof(msg), "{\"method\":\"%s\",\"parameters\":"
	    "{\"pad\":\"%0150d\"}}", T_ECHO, 0);
	expect_dropped(f, msg, strlen(msg) + 1, "message too big");
}

#define S(lit)	lit, sizeof(lit)

static void
test_malformed_dropped(void **state)
{
	struct fx	*f = *state;

	expect_dropped(f, S("{not json}"), "not valid JSON");
	expect_dropped(f, S("[1, 2]"), "not a JSON object");
	expect_dropped(f, S("{\"parameters\": {}}"), "without a method");
	expect_dropped(f, S("{\"method\": 5}"), "malformed method");
	expect_dropped(f, S("{\"method\": \"Echo\"}"), "malformed method");
	expect_dropped(f, S("{\"method\": \"" T_ECHO "\", \"x\": 1}"),
	    "unknown key");
	expect_dropped(f, S("{\"method\": \"" T_ECHO "\", \"method\": "
	    "\"" T_ECHO "\"}"), "repeated key");
	expect_dropped(f, S("{\"method\": \"" T_ECHO "\", \"more\": true, "
	    "\"oneway\": true}"), "more replies and for none");
	expect_dropped(f, S("{\"method\": \"" T_ECHO "\", \"parameters\": "
	    "[]}"), "not an object");
	expect_dropped(f, S("{\"method\": \"" T_ECHO "\", \"parameters\": "
	    "{\"a\": \"x\\u0000y\"}}"), "embedded NUL");
	expect_dropped(f, "", 1, "empty message");
}

static void
test_unterminated_at_eof(void **state)
{
	struct fx	*f = *state;
	struct raw	*r = raw_new(f);
	const char	*logged;
	const char	 half[] = "{\"method\":\"io.zotad.Te";
	int		 p[2];

	/* Half a message, carrying a descriptor, then the peer is gone. */
	assert_int_equal(pipe(p), 0);
	capture_start();
	raw_sendfds(r, half, strlen(half), &p[0], 1);
	close(p[0]);
	event_del(r->ev);
	close(r->fd);
	r->fd = -1;
	run_until_logged(f->base, "unterminated message");
	logged = capture_stop();
	assert_true(log_names_peer(logged));

	/* The server closed the descriptor that came with the fragment. */
	assert_int_equal(write(p[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
	raw_free(r);
}

/* Send FDS with BUF from a raw peer; expect a drop and the fds closed. */
static void
expect_fds_refused(struct fx *f, struct raw *r, const char *buf,
    size_t len, size_t nfds, const char *why)
{
	int	 p[2], fds[16];
	size_t	 i;

	assert_int_equal(pipe(p), 0);
	for (i = 0; i < nfds; i++)
		fds[i] = p[0];
	capture_start();
	raw_sendfds(r, buf, len, fds, nfds);
	close(p[0]);
	run_until(f->base, &r->eof, 1);
	assert_non_null(strstr(capture_stop(), why));
	assert_int_equal(write(p[1], "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	close(p[1]);
}

static void
test_fd_misuse_dropped(void **state)
{
	struct fx	*f = *state;
	struct raw	*r = raw_new(f);
	char		 msg[64];

	snprintf(msg, sizeof(msg), "{\"method\":\"%s\"}", T_PIPE);
	expect_fds_refused(f, r, msg, strlen(msg) + 1, IPC_MAX_FDS + 1,
	    "too many file descriptors");
	raw_free(r);

	/* Descriptors must come with the first byte of their message. */
	r = raw_new(f);
	raw_send(r, msg, 5);
	run_idle(f->base);
	expect_fds_refused(f, r, msg + 5, strlen(msg) + 1 - 5, 1,
	    "inside a message");
	raw_free(r);
}

static void
test_peer_gone_with_calls_held(void **state)
{
	struct fx	*f = *state;
	cJSON		*p = obj_int("n", 1);

	memset(&got, 0, sizeof(got));
	assert_int_equal(ipc_conn_call(f->cli, T_HOLD, NULL, 0, NULL, 0,
	    order_cb, NULL), 0);
	assert_int_equal(ipc_conn_call(f->cli, T_HOLD, NULL, 0, NULL, 0,
	    order_cb, NULL), 0);
	run_until(f->base, &hs.nheld, 2);

	/* The client goes: its callbacks learn, the handlers are told. */
	ipc_conn_free(f->cli);
	f->cli = NULL;
	assert_int_equal(got.n, 2);
	assert_int_equal(got.errors, 2);
	run_until(f->base, &hs.cancelled, 2);

	/* Replying now is harmless and releases the calls. */
	assert_int_equal(ipc_call_reply(hs.held[0], p), -1);
	assert_int_equal(ipc_call_error(hs.held[1], IPC_ERR_PERMISSION_DENIED,
	    NULL), -1);
	hs.nheld = 0;
	cJSON_Delete(p);
}

static int	closed;

static void
close_cb(struct ipc_conn *conn, void *arg)
{
	(void)conn;
	(void)arg;
	closed++;
}

static void
test_client_drops_bad_server(void **state)
{
	struct fx		*f = *state;
	struct ipc_conn		*c;
	const char		*logged;
	int			 sv[2];
	char			 junk[] = "{\"parameters\":{}}";

	/* A reply nobody asked for. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_non_null(c = ipc_conn_new(f->base, sv[0]));
	closed = 0;
	ipc_conn_set_close_cb(c, close_cb, NULL);
	capture_start();
	assert_int_equal(write(sv[1], junk, sizeof(junk)),
	    (ssize_t)sizeof(junk));
	run_until(f->base, &closed, 1);
	logged = capture_stop();
	assert_non_null(strstr(logged, "reply to no call"));
	assert_false(ipc_conn_alive(c));
	assert_int_equal(ipc_conn_call(c, T_ECHO, NULL, 0, NULL, 0, order_cb,
	    NULL), -1);
	assert_int_equal(errno, ENOTCONN);
	ipc_conn_free(c);
	close(sv[1]);
}

static void
test_sync_timeout(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;

	assert_int_equal(ipc_conn_call_sync(f->cli, T_HOLD, NULL, NULL, 0,
	    50, &res), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(hs.nheld, 1);

	/* The late answer is dropped; the next call gets its own. */
	release_held();
	call_ok(f, T_ECHO, "{\"after\": 1}", &res);
	assert_int_equal(ipc_param_int(res.parameters, "after", 0), 1);
	ipc_result_clear(&res);
}

static int	nested_rc, nested_errno, nested_done;

static void
nested_cb(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	struct ipc_result	 res;

	(void)r;
	(void)arg;
	nested_rc = ipc_conn_call_sync(conn, T_ECHO, NULL, NULL, 0,
	    T_TIMEOUT_MS, &res);
	nested_errno = errno;
	nested_done++;
}

static void
test_sync_inside_callback(void **state)
{
	struct fx	*f = *state;

	/* A blocking call cannot wait from inside the loop: it says so. */
	nested_done = 0;
	assert_int_equal(ipc_conn_call(f->cli, T_ECHO, NULL, 0, NULL, 0,
	    nested_cb, NULL), 0);
	run_until(f->base, &nested_done, 1);
	assert_int_equal(nested_rc, -1);
	assert_int_equal(nested_errno, EDEADLK);
}

/*
 * Tests: parameters.
 */

static const struct {
	const char	*params;
	const char	*parameter;
} bad_params[] = {
	{ "{}", "name" },
	{ "{\"name\": null}", "name" },
	{ "{\"name\": 5}", "name" },
	{ "{\"name\": \"\"}", "name" },
	{ "{\"name\": \"0123456789012345678901234567890123\"}", "name" },
	{ "{\"name\": \"\xc3\x28\"}", "name" },
	{ "{\"name\": \"a\", \"name\": \"b\"}", "name" },
	{ "{\"name\": \"a\", \"level\": 255}", "level" },
	{ "{\"name\": \"a\", \"level\": -1}", "level" },
	{ "{\"name\": \"a\", \"level\": 1.5}", "level" },
	{ "{\"name\": \"a\", \"level\": \"3\"}", "level" },
	{ "{\"name\": \"a\", \"level\": 1e300}", "level" },
	{ "{\"name\": \"a\", \"enabled\": \"yes\"}", "enabled" },
	{ "{\"name\": \"a\", \"enabled\": null}", "enabled" },
	{ "{\"name\": \"a\", \"sha512\": \"abc\"}", "sha512" },
	{ "{\"name\": \"a\", \"tags\": [1, 2, 3, 4, 5]}", "tags" },
	{ "{\"name\": \"a\", \"tags\": {}}", "tags" },
	{ "{\"name\": \"a\", \"target\": []}", "target" },
	{ "{\"name\": \"a\", \"target\": {}}", "target.ieee" },
	{ "{\"name\": \"a\", \"target\": {\"ieee\": \"00124b00\"}}",
	    "target.ieee" },
	{ "{\"name\": \"a\", \"target\": {\"ieee\": \"00124b000102030g\"}}",
	    "target.ieee" },
	{ "{\"name\": \"a\", \"target\": {\"ieee\": \"00124b0001020304\", "
	    "\"endpoint\": 0}}", "target.endpoint" },
	{ "{\"name\": \"a\", \"bogus\": 1}", "bogus" },
	{ "{\"name\": \"a\", \"target\": {\"ieee\": \"00124b0001020304\", "
	    "\"x\": 1}}", "target.x" },
};

static void
test_invalid_parameters(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	size_t			 i;

	for (i = 0; i < sizeof(bad_params) / sizeof(bad_params[0]); i++) {
		call_ok(f, T_TYPED, bad_params[i].params, &res);
		if (res.error == NULL)
			fail_msg("accepted %s", bad_params[i].params);
		assert_string_equal(res.error, IPC_ERR_INVALID_PARAMETER);
		assert_string_equal(ipc_param_string(res.parameters,
		    "parameter", ""), bad_params[i].parameter);
		ipc_result_clear(&res);
	}
	assert_int_equal(hs.ndispatched, 0);
}

static void
test_valid_parameters(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	char			 params[512];

	snprintf(params, sizeof(params), "{\"name\": \"lamp\", \"level\": "
	    "254, \"enabled\": true, \"sha512\": \"%0128d\", \"tags\": "
	    "[\"a\"], \"target\": {\"ieee\": \"00124B0001020304\", "
	    "\"endpoint\": 1}}", 0);
	call_ok(f, T_TYPED, params, &res);
	assert_null(res.error);
	assert_string_equal(ipc_param_string(res.parameters, "name", ""),
	    "lamp");
	assert_int_equal(ipc_param_int(res.parameters, "level", 0), 254);
	assert_true(ipc_param_bool(res.parameters, "enabled", 0));
	ipc_result_clear(&res);

	/* Optional ones may be left out, and nullable ones be null. */
	call_ok(f, T_TYPED, "{\"name\": \"x\", \"sha512\": null}", &res);
	assert_null(res.error);
	assert_int_equal(ipc_param_int(res.parameters, "level", 0), -1);
	ipc_result_clear(&res);
}

static void
test_check_reasons(void **state)
{
	struct ipc_param_error	 err;
	cJSON			*p;

	(void)state;
	p = json("{\"name\": \"a\", \"level\": 300}");
	assert_int_equal(ipc_params_check(p, spec_typed, &err), -1);
	assert_string_equal(err.parameter, "level");
	assert_string_equal(err.reason, "out of range");
	cJSON_Delete(p);

	p = json("{\"name\": \"a\", \"n\\u0001ame\": 1}");
	assert_int_equal(ipc_params_check(p, spec_typed, &err), -1);
	assert_string_equal(err.parameter, "n?ame");
	assert_string_equal(err.reason, "unknown parameter");
	cJSON_Delete(p);

	assert_int_equal(ipc_params_check(NULL, spec_typed, &err), -1);
	assert_string_equal(err.reason, "missing");
	assert_int_equal(ipc_params_check(NULL, spec_target + 2, &err), 0);
}

/*
 * Tests: the pure message reader.
 */

static void
test_msg_split(void **state)
{
	const char	 two[] = "{\"a\":1}\0{\"b\":2}";
	cJSON		*m;
	const char	*why;
	size_t		 used;

	(void)state;
	assert_int_equal(ipc_msg_split(two, sizeof(two), 64, &m, &used, &why),
	    1);
	assert_int_equal(used, 8);
	assert_int_equal(cJSON_GetObjectItem(m, "a")->valueint, 1);
	cJSON_Delete(m);
	assert_int_equal(ipc_msg_split(two + used, sizeof(two) - used, 64, &m,
	    &used, &why), 1);
	cJSON_Delete(m);

	/* Not yet complete, but may still be: wait for more. */
	assert_int_equal(ipc_msg_split("{\"a\":", 5, 64, &m, &used, &why), 0);
	assert_int_equal(ipc_msg_split("{\"a\":", 5, 5, &m, &used, &why), 0);
	assert_int_equal(ipc_msg_split("{\"a\":", 5, 4, &m, &used, &why), -1);
	assert_string_equal(why, "message too big");

	/* Whitespace around the object is fine, trailing garbage is not. */
	assert_int_equal(ipc_msg_split(" {} ", 5, 64, &m, &used, &why), 1);
	cJSON_Delete(m);
	assert_int_equal(ipc_msg_split("{}x", 4, 64, &m, &used, &why), -1);
	assert_int_equal(ipc_msg_split("{}{}", 5, 64, &m, &used, &why), -1);
	/* An escaped backslash before u0000 is no NUL. */
	assert_int_equal(ipc_msg_split("{\"a\":\"\\\\u0000\"}", 16, 64, &m,
	    &used, &why), 1);
	cJSON_Delete(m);
}

static void
test_msg_check(void **state)
{
	struct ipc_callhdr	 c;
	struct ipc_replyhdr	 r;
	const char		*why;
	cJSON			*m;

	(void)state;
	m = json("{\"method\":\"a.b.Call\",\"more\":true}");
	assert_int_equal(ipc_msg_check_call(m, &c, &why), 0);
	assert_string_equal(c.method, "a.b.Call");
	assert_int_equal(c.flags, IPC_CALL_MORE);
	assert_null(c.parameters);
	assert_int_equal(ipc_msg_check_reply(m, &r, &why), -1);
	cJSON_Delete(m);

	m = json("{\"method\":\"a.b.Call\",\"upgrade\":true}");
	assert_int_equal(ipc_msg_check_call(m, &c, &why), -1);
	cJSON_Delete(m);
	m = json("{\"method\":\"a..b.Call\"}");
	assert_int_equal(ipc_msg_check_call(m, &c, &why), -1);
	cJSON_Delete(m);
	m = json("{\"method\":\"a.b.call\"}");
	assert_int_equal(ipc_msg_check_call(m, &c, &why), -1);
	cJSON_Delete(m);

	m = json("{\"error\":\"a.b.Failed\",\"parameters\":{\"x\":1}}");
	assert_int_equal(ipc_msg_check_reply(m, &r, &why), 0);
	assert_string_equal(r.error, "a.b.Failed");
	cJSON_Delete(m);
	m = json("{\"error\":\"a.b.Failed\",\"continues\":true}");
	assert_int_equal(ipc_msg_check_reply(m, &r, &why), -1);
	cJSON_Delete(m);
	m = json("{\"parameters\":{},\"continues\":1}");
	assert_int_equal(ipc_msg_check_reply(m, &r, &why), -1);
	cJSON_Delete(m);
}

/*
 * Tests: peers and sockets.
 */

static void
test_peer_credentials(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;

	call_ok(f, T_PEER, NULL, &res);
	assert_int_equal(ipc_param_int(res.parameters, "pid", -1), getpid());
	assert_int_equal(ipc_param_int(res.parameters, "uid", -1), getuid());
	assert_int_equal(ipc_param_int(res.parameters, "gid", -1), getgid());
	ipc_result_clear(&res);
	assert_int_equal(ipc_conn_peer(f->cli)->pid, getpid());
	assert_int_equal(ipc_conn_peer(f->cli)->uid, getuid());
}

static int
allow_nobody(const struct ipc_peer *peer, void *arg)
{
	(void)arg;
	return (peer->uid != getuid());
}

static void
test_allow_check(void **state)
{
	struct fx		*f = *state;
	struct ipc_result	 res;
	struct ipc_conn		*c;
	const char		*logged;
	int			 sv[2];

	ipc_server_set_allow(f->srv, allow_nobody, NULL);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	capture_start();
	assert_int_equal(ipc_server_add_fd(f->srv, sv[0]), -1);
	logged = capture_stop();
	assert_true(log_names_peer(logged));
	assert_non_null(c = ipc_conn_new(f->base, sv[1]));
	assert_int_equal(ipc_conn_call_sync(c, T_ECHO, NULL, NULL, 0,
	    T_TIMEOUT_MS, &res), -1);
	assert_int_equal(errno, ECONNRESET);
	ipc_conn_free(c);
}

static void
test_connections_per_user(void **state)
{
	struct fx	*f = *state;
	int		 sv[2], added = 0;

	/* The fixture's client is the first from this user. */
	capture_start();
	for (;;) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		close(sv[1]);
		if (ipc_server_add_fd(f->srv, sv[0]) == -1)
			break;
		added++;
	}
	assert_non_null(strstr(capture_stop(), "too many connections from "
	    "this user"));
	assert_int_equal(added, IPC_MAX_CONNS_PER_UID - 1);
}

static char	tmpdir[64];

static void
make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/zotad-test-ipc.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
}

/* A socket at PATH that nobody listens on any more. */
static void
make_stale_socket(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_true((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd);
}

static void
test_listen_by_path(void **state)
{
	struct fx		*f = *state;
	struct ipc_server	*srv, *other;
	struct ipc_conn		*c;
	struct ipc_result	 res;
	struct stat		 st;
	char			 path[100], file[100];
	int			 fd;

	make_tmpdir();
	snprintf(path, sizeof(path), "%s/test.sock", tmpdir);
	make_stale_socket(path);
	assert_null(ipc_connect(f->base, path));

	/* The stale socket is replaced, with the mode asked for. */
	srv = ipc_server_new(f->base, methods, NULL);
	assert_int_equal(ipc_server_listen(srv, NULL, path, 0660), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_non_null(c = ipc_connect(f->base, path));
	assert_int_equal(ipc_conn_call_sync(c, T_ECHO, NULL, NULL, 0,
	    T_TIMEOUT_MS, &res), 0);
	assert_null(res.error);
	ipc_result_clear(&res);

	/* A socket a live server listens on is left alone. */
	other = ipc_server_new(f->base, methods, NULL);
	capture_start();
	assert_int_equal(ipc_server_listen(other, NULL, path, 0660), -1);
	assert_non_null(strstr(capture_stop(), "another process"));

	/* So is a file that is not a socket. */
	snprintf(file, sizeof(file), "%s/plain", tmpdir);
	assert_true((fd = open(file, O_CREAT | O_WRONLY, 0600)) >= 0);
	close(fd);
	capture_start();
	assert_int_equal(ipc_server_listen(other, NULL, file, 0660), -1);
	assert_non_null(strstr(capture_stop(), "not a socket"));
	assert_int_equal(stat(file, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	ipc_server_free(other);

	/* The server removes its socket when it goes. */
	ipc_conn_free(c);
	ipc_server_free(srv);
	assert_int_equal(stat(path, &st), -1);
	unlink(file);
	rmdir(tmpdir);
}

/*
 * In a child: pose as a socket-activated service with two sockets and
 * check that the one named ours is served. Returns an exit status.
 */
static int
systemd_child(const char *path)
{
	struct event_base	*base;
	struct ipc_server	*srv;
	struct sockaddr_un	 sun;
	struct ipc_conn		*c;
	struct ipc_result	 res;
	char			 pid[32];
	int			 fd, dummy;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	/* Out of the way first, as the sockets may get 3 or 4 themselves. */
	fd = fcntl(socket(AF_UNIX, SOCK_STREAM, 0), F_DUPFD, 100);
	dummy = fcntl(socket(AF_UNIX, SOCK_STREAM, 0), F_DUPFD, 100);
	if (fd == -1 || dummy == -1 || bind(fd, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1 || listen(fd, 4) == -1)
		return (10);
	if (dup2(dummy, 3) == -1 || dup2(fd, 4) == -1)
		return (11);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "2", 1);
	setenv("LISTEN_FDNAMES", "other:zotad-test", 1);

	/* Only now: the loop's own descriptor must not land on 3 or 4. */
	base = event_base_new();
	srv = ipc_server_new(base, methods, NULL);
	if (ipc_server_listen(srv, "zotad-test", NULL, 0) == -1)
		return (12);
	if ((c = ipc_connect(base, path)) == NULL)
		return (13);
	if (ipc_conn_call_sync(c, T_PEER, NULL, NULL, 0, T_TIMEOUT_MS,
	    &res) == -1 || res.error != NULL)
		return (14);
	ipc_result_clear(&res);
	ipc_conn_free(c);
	ipc_server_free(srv);

	/* systemd's socket is not ours to remove. */
	if (access(path, F_OK) == -1)
		return (15);
	srv = ipc_server_new(base, methods, NULL);
	if (ipc_server_listen(srv, "absent", NULL, 0) != -1)
		return (16);
	ipc_server_free(srv);
	event_base_free(base);
	return (0);
}

static void
test_listen_from_systemd(void **state)
{
	char	 path[100];
	pid_t	 pid;
	int	 status;

	(void)state;
	make_tmpdir();
	snprintf(path, sizeof(path), "%s/activated.sock", tmpdir);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(systemd_child(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(path);
	rmdir(tmpdir);
}

#define FX(t)	cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		FX(test_round_trip),
		FX(test_calls_in_flight_answered_in_order),
		FX(test_too_many_calls_wait_their_turn),
		FX(test_big_calls_wait_their_turn),
		FX(test_streamed_replies),
		FX(test_oneway_gets_no_reply),
		FX(test_unknown_method),
		FX(test_large_reply),
		FX(test_too_big_to_send),
		FX(test_reply_too_big),
		FX(test_split_byte_by_byte),
		FX(test_many_in_one_write),
		FX(test_fd_to_server),
		FX(test_fd_to_client),
		FX(test_image_handover),
		FX(test_unclaimed_fds_are_closed),
		FX(test_fds_on_pipelined_calls),
		FX(test_oversize_message_dropped),
		FX(test_smaller_cap),
		FX(test_malformed_dropped),
		FX(test_unterminated_at_eof),
		FX(test_fd_misuse_dropped),
		FX(test_peer_gone_with_calls_held),
		FX(test_client_drops_bad_server),
		FX(test_sync_timeout),
		FX(test_sync_inside_callback),
		FX(test_invalid_parameters),
		FX(test_valid_parameters),
		cmocka_unit_test(test_check_reasons),
		cmocka_unit_test(test_msg_split),
		cmocka_unit_test(test_msg_check),
		FX(test_peer_credentials),
		FX(test_allow_check),
		FX(test_connections_per_user),
		FX(test_listen_by_path),
		cmocka_unit_test(test_listen_from_systemd),
	};

	log_init("test_ipc", 1, 0);
	signal(SIGPIPE, SIG_IGN);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
