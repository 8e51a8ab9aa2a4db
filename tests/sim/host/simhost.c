/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Included by the simulator test programs after cmocka.h and mt.c; see
 * simhost.h. They link tests/suite.o, whose free port it takes.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../../suite.h"
#include "simhost.h"

/* The simulator of the running test, for simhost_reap. */
static struct simhost	*simhost_current;

static long long
simhost_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static const char *
simhost_binary(void)
{
	static char	 path[512];
	const char	*build;

	if (getenv("ZOTAD_SIM") != NULL)
		return (getenv("ZOTAD_SIM"));
	if ((build = getenv("BUILD")) == NULL)
		build = "build";
	snprintf(path, sizeof(path), "%s/bin/zotad-sim", build);
	return (path);
}

const char *
simhost_fixtures(void)
{
	static const char	*dflt = "../shared/fixtures/zigbee-ota";
	const char		*dir = getenv("ZOTAD_FIXTURES");
	struct stat		 st;

	if (dir == NULL)
		dir = dflt;
	return (stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? dir : NULL);
}

static int
simhost_try_connect(struct simhost *h)
{
	struct sockaddr_in	 sin;
	struct termios		 t;
	int			 fd, one = 1;

	if (h->pty) {
		if ((fd = open(h->link, O_RDWR | O_NOCTTY)) == -1)
			return (-1);
		tcgetattr(fd, &t);
		cfmakeraw(&t);
		tcsetattr(fd, TCSANOW, &t);
		h->fd = fd;
		return (0);
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)h->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
		close(fd);
		return (-1);
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	h->fd = fd;
	return (0);
}

int
simhost_connect(struct simhost *h)
{
	long long	 end = simhost_now_ms() + 5000;

	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
	h->qn = 0;
	mt_decoder_reset(&h->dec);
	while (simhost_now_ms() < end) {
		if (simhost_try_connect(h) == 0)
			return (0);
		usleep(20000);
	}
	return (-1);
}

static void
simhost_write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

void
simhost_start(struct simhost *h, const char *scenario, int pty,
    unsigned long long seed)
{
	char	 where[64], seedstr[32];
	char	*tmp = getenv("TMPDIR");

	memset(h, 0, sizeof(*h));
	h->fd = -1;
	h->pty = pty;
	mt_decoder_init(&h->dec);
	snprintf(h->dir, sizeof(h->dir), "%s/zotad-sim-test.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(h->dir));
	snprintf(h->scenario, sizeof(h->scenario), "%s/scenario.json", h->dir);
	snprintf(h->events, sizeof(h->events), "%s/events.jsonl", h->dir);
	snprintf(h->ctl, sizeof(h->ctl), "%s/control.sock", h->dir);
	snprintf(h->link, sizeof(h->link), "%s/ttyZNP", h->dir);
	simhost_write_file(h->scenario, scenario);
	h->port = suite_free_port();
	snprintf(where, sizeof(where), "127.0.0.1:%d", h->port);
	snprintf(seedstr, sizeof(seedstr), "%llu", seed);

	h->pid = fork();
	assert_true(h->pid >= 0);
	if (h->pid == 0) {
		execl(simhost_binary(), "zotad-sim", "--scenario", h->scenario,
		    pty ? "--pty" : "--tcp", pty ? h->link : where,
		    "--events", h->events, "--control", h->ctl,
		    "--seed", seedstr, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", simhost_binary(),
		    strerror(errno));
		_exit(127);
	}
	simhost_current = h;
	assert_int_equal(simhost_connect(h), 0);
}

int
simhost_reap(void **state)
{
	struct simhost	*h = simhost_current;
	char		 cmd[400];

	(void)state;
	simhost_current = NULL;
	if (h == NULL || h->pid <= 0)
		return (0);
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	h->pid = 0;
	if (getenv("SIMHOST_KEEP") != NULL) {
		fprintf(stderr, "# kept %s\n", h->dir);
		return (0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	return (system(cmd) == 0 ? 0 : -1);
}

static char	*simhost_events_untimed(struct simhost *);

/* Stop the simulator; with EVENTS, return its untimed event log. */
static void
simhost_halt(struct simhost *h, char **events)
{
	int	 status;
	char	 cmd[400];

	if (h->fd != -1)
		close(h->fd);
	h->fd = -1;
	if (h->pid > 0) {
		kill(h->pid, SIGTERM);
		waitpid(h->pid, &status, 0);
		h->pid = 0;
		simhost_current = NULL;
		/* It must stop cleanly: a crash or sanitizer report fails. */
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	if (events != NULL)
		*events = simhost_events_untimed(h);
	/* SIMHOST_KEEP keeps the scenario and event log for a post-mortem. */
	if (getenv("SIMHOST_KEEP") != NULL) {
		fprintf(stderr, "# kept %s\n", h->dir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	assert_int_equal(system(cmd), 0);
}

void
simhost_stop(struct simhost *h)
{
	simhost_halt(h, NULL);
}

char *
simhost_stop_events(struct simhost *h)
{
	char	*events;

	simhost_halt(h, &events);
	return (events);
}

void
simhost_raw(struct simhost *h, const void *buf, size_t len)
{
	const uint8_t	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		n = write(h->fd, p, len);
		if (n == -1 && errno == EINTR)
			continue;
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

void
simhost_send(struct simhost *h, uint8_t type, uint8_t subsys, uint8_t cmd,
    const void *data, size_t len)
{
	struct mt_frame	 f;
	uint8_t		 buf[MT_FRAME_MAX];
	size_t		 n;

	assert_int_equal(mt_frame_set(&f, type, subsys, cmd, data, len), 0);
	n = mt_encode(&f, buf, sizeof(buf));
	assert_int_not_equal(n, 0);
	simhost_raw(h, buf, n);
}

static void
simhost_queue(const struct mt_frame *f, void *arg)
{
	struct simhost	*h = arg;

	if (h->qn == SIMHOST_QUEUE) {
		memmove(h->q, h->q + 1, sizeof(h->q[0]) * (SIMHOST_QUEUE - 1));
		h->qn--;
	}
	h->q[h->qn++] = *f;
}

/* Read once, waiting up to MS; returns bytes read or 0. */
static ssize_t
simhost_read(struct simhost *h, int ms)
{
	struct pollfd	 pfd = { h->fd, POLLIN, 0 };
	uint8_t		 buf[4096];
	ssize_t		 n;

	if (poll(&pfd, 1, ms < 0 ? 0 : ms) <= 0)
		return (0);
	n = read(h->fd, buf, sizeof(buf));
	if (n <= 0)
		return (0);
	mt_decoder_feed(&h->dec, buf, (size_t)n, simhost_queue, h);
	return (n);
}

void
simhost_pump(struct simhost *h, int ms)
{
	long long	 end = simhost_now_ms() + ms;

	while (simhost_now_ms() < end)
		simhost_read(h, (int)(end - simhost_now_ms()));
}

void
simhost_flush(struct simhost *h)
{
	h->qn = 0;
}

static int
simhost_take(struct simhost *h, int type, int subsys, int cmd,
    struct mt_frame *out)
{
	size_t	 i;

	for (i = 0; i < h->qn; i++) {
		if ((type != SIMHOST_ANY && h->q[i].type != type) ||
		    (subsys != SIMHOST_ANY && h->q[i].subsys != subsys) ||
		    (cmd != SIMHOST_ANY && h->q[i].cmd != cmd))
			continue;
		if (out != NULL)
			*out = h->q[i];
		memmove(h->q + i, h->q + i + 1,
		    sizeof(h->q[0]) * (h->qn - i - 1));
		h->qn--;
		return (0);
	}
	return (-1);
}

int
simhost_wait(struct simhost *h, int type, int subsys, int cmd, int ms,
    struct mt_frame *out)
{
	long long	 end = simhost_now_ms() + ms;

	for (;;) {
		if (simhost_take(h, type, subsys, cmd, out) == 0)
			return (0);
		if (simhost_now_ms() >= end)
			return (-1);
		simhost_read(h, (int)(end - simhost_now_ms()));
	}
}

void
simhost_sreq(struct simhost *h, uint8_t subsys, uint8_t cmd, const void *data,
    size_t len, struct mt_frame *rsp)
{
	struct mt_frame	 f;

	simhost_send(h, MT_TYPE_SREQ, subsys, cmd, data, len);
	if (simhost_wait(h, MT_TYPE_SRSP, subsys, cmd, 2000, &f) == -1)
		fail_msg("no SRSP for %s 0x%02x", mt_subsys_name(subsys), cmd);
	if (rsp != NULL)
		*rsp = f;
}

void
simhost_ctl(struct simhost *h, const char *cmd, char *reply, size_t len)
{
	struct sockaddr_un	 sun;
	size_t			 got = 0;
	ssize_t			 n;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(h->ctl) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, h->ctl, strlen(h->ctl));
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(write(fd, cmd, strlen(cmd)), (ssize_t)strlen(cmd));
	assert_int_equal(write(fd, "\n", 1), 1);
	while (got + 1 < len && (n = read(fd, reply + got, 1)) == 1 &&
	    reply[got] != '\n')
		got++;
	reply[got] = '\0';
	close(fd);
}

static char *
simhost_slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf;
	long	 len;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	return (buf);
}

int
simhost_events(struct simhost *h, ...)
{
	va_list		 ap;
	const char	*needle;
	char		*buf = simhost_slurp(h->events), *line, *save = NULL;
	int		 count = 0, ok;

	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ok = 1;
		va_start(ap, h);
		while ((needle = va_arg(ap, const char *)) != NULL)
			if (strstr(line, needle) == NULL)
				ok = 0;
		va_end(ap);
		count += ok;
	}
	free(buf);
	return (count);
}

static char *
simhost_events_untimed(struct simhost *h)
{
	char	*buf = simhost_slurp(h->events), *p, *end;

	/* Every line starts {"t":N, and that is all that may differ. */
	while ((p = strstr(buf, "{\"t\":")) != NULL) {
		end = strchr(p, ',');
		assert_non_null(end);
		memmove(p, end + 1, strlen(end + 1) + 1);
	}
	return (buf);
}
