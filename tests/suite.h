/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_SUITE_H
#define ZOTAD_SUITE_H

/*
 * The harness of the tests that run the real programs together: a
 * scratch directory, a private mosquitto on a free loopback port, an
 * HTTP server holding an index and one image, zotad-sim on a scenario
 * the test writes, a configuration.yaml tying them together, and the
 * three daemons, confined as they run; an MQTT client that records what
 * the broker carries; and waiting, with a timeout, for a log line, a
 * simulator event or a message. Test code only, for cmocka: a failure
 * fails the running test, and something that does not start is shown
 * (its log) and everything is stopped before the test fails, since
 * cmocka runs no teardown after a failed setup.
 *
 * One harness a program, in the global suite: a test calls
 * suite_prepare, sets what it wants in suite, writes its scenario.json
 * and database.db, starts what it needs and ends with suite_teardown.
 * ZOTAD_KEEP_TEST_DIR in the environment keeps the scratch directory.
 *
 * A free port, an OTA image, a scratch directory of one's own and the
 * removal of a tree need no harness: other tests link this file for
 * them alone.
 */

#include <sys/types.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "httpd/testhttpd.h"

/* The image suite_make_image makes, as the HTTP server's index lists it. */
#define SUITE_MANUF	4107
#define SUITE_TYPE	256
#define SUITE_NEW	200

enum suite_daemon { SUITE_RADIO, SUITE_FETCH, SUITE_MQTT, SUITE_NDAEMONS };

/* A message the client received. */
struct suite_msg {
	char	*topic;
	char	*payload;	/* NUL-terminated */
	int	 len;
};

struct suite {
	/* Chosen by the test after suite_prepare; zero is the default. */
	int		 wait_ms;	/* the longest wait for anything */
	const char	*conf_top;	/* sections before zotad: */
	const char	*conf_zotad;	/* lines at the end of zotad: */
	const char	*subscribe;	/* what the client records: zt/# */
	int		 verbose;	/* daemons log debug lines (-v) */
	enum thttpd_fault image_fault;	/* how the image is served */
	int		 wrong_sha;	/* the index has another image's hash */

	char		 dir[64];
	char		 conf[PATH_MAX];	/* dir/configuration.yaml */
	char		 events[PATH_MAX];	/* the simulator's events */
	char		 ctl[PATH_MAX];		/* its control socket */
	char		 tty[PATH_MAX];		/* its pty */
	int		 mqtt_port;
	uint16_t	 http_port;
	pid_t		 broker, http, sim, pid[SUITE_NDAEMONS];
	uint8_t		*image;
	size_t		 image_len;
	const char	*tmpfs;		/* mounted by suite_small_disk */
	struct mosquitto *mosq;
	int		 subscribed;
	struct suite_msg *msgs;
	int		 nmsgs;
	int		 msgs_size;
};

extern struct suite		 suite;
extern const char *const	 suite_names[SUITE_NDAEMONS];

/*
 * A fresh scratch directory /tmp/zotad-NAME.XXXXXX, open to all, with
 * cache/ and state/ in it; stops first what a failed setup left running.
 */
void	suite_prepare(const char *name);
/* Stop everything, remove the directory; a cmocka teardown, or NULL. */
int	suite_teardown(void **);

/* dir/NAME into OUT; fails the test if it does not fit. */
void	suite_path(char *out, size_t len, const char *name);
/* $BUILD/bin/NAME (build/bin when BUILD is not set) into OUT. */
void	suite_bin(char *out, size_t len, const char *name);
/* Write dir/NAME. */
void	suite_write(const char *name, const void *p, size_t len);
void	suite_write_text(const char *name, const char *text);
/* Lines of PATH holding NEEDLE; 0 when PATH cannot be read. */
int	suite_file_count(const char *path, const char *needle);
/* The log of daemon D: dir/zotad-NAME.log. */
void	suite_log_path(enum suite_daemon d, char *out, size_t len);

/*
 * Run ARGV (searched in PATH) with stdout and stderr appended to
 * LOGFILE, as nobody when AS_NOBODY and root; its pid.
 */
pid_t	suite_spawn(char *const argv[], const char *logfile, int as_nobody);
/* Send SIG to *PID and reap it; *PID becomes 0. */
void	suite_stop(pid_t *pid, int sig);
/* Whether the child PID still runs (a dead one is reaped). */
int	suite_alive(pid_t pid);
/* Fail unless every daemon but KILLED (-1: none) still runs. */
void	suite_assert_alive_but(int killed);
/* Monotonic seconds. */
double	suite_now(void);
void	suite_nap(int ms);
/* A loopback TCP port nobody listens on now. */
int	suite_free_port(void);
/*
 * A fresh directory NAME.XXXXXX in $TMPDIR, or in /tmp when TMPDIR is
 * not set or too long for DIR (LEN bytes); 0, or -1 with errno set.
 */
int	suite_scratch_dir(char *dir, size_t len, const char *name);
/* Remove DIR and everything in it, following no symbolic link. */
void	suite_remove_tree(const char *dir);

/*
 * Wait until PATH holds NEEDLE on COUNT lines (exists, for a NULL
 * NEEDLE), running the MQTT client meanwhile; 0 when the wait ran out
 * or PID (when > 0) died.
 */
int	suite_wait_file(const char *path, const char *needle, int count,
	    pid_t pid);

/*
 * An OTA image of SIZE bytes with these header fields, made by ota_make
 * from SEED; free it with free().
 */
uint8_t	*suite_ota_image(uint16_t manuf, uint16_t type, uint32_t version,
	    uint32_t size, uint32_t seed, size_t *len);
/* An OTA image of SIZE bytes from SEED, kept in suite and expected.ota. */
void	suite_make_image(size_t size, int seed);
/* The HTTP server: index.json lists the image, index1.json nothing. */
void	suite_start_http(void);
/* mosquitto on a free port; again on the same port after a stop. */
void	suite_start_broker(void);
/*
 * configuration.yaml: the broker (a closed port without one), the pty
 * at dir/tty, the dirs, the HTTP server's indexes (a closed port
 * without it), nobody for all three daemons, and the test's own lines.
 */
void	suite_write_config(void);
/* zotad-sim, as nobody, on dir/scenario.json with its pty at dir/TTY. */
void	suite_start_sim(const char *tty);
/* Daemon D, waiting until it says it is ready. */
void	suite_start_daemon(enum suite_daemon d);
/* The configuration, zotad-sim on dir/tty and the three daemons. */
void	suite_start_daemons(void);
/* The HTTP server when there is an image, the broker, and the above. */
void	suite_start_all(void);

/* Connect the client as ID and wait until it is subscribed. */
void	suite_connect(const char *id);
/* Run the client for up to MS milliseconds. */
void	suite_pump(int ms);
/*
 * The first message from index FROM on TOPIC holding TEXT (NULL for
 * any topic, any payload), or -1.
 */
int	suite_find(int from, const char *topic, const char *text);
/* Wait for such a message and return its index; fail if none came. */
int	suite_wait_msg(int from, const char *topic, const char *text);
/* Messages on TOPIC (NULL: any) from index FROM. */
int	suite_count(int from, const char *topic);
/* Wait until N such messages came; 0 if they did not. */
int	suite_wait_count(int from, const char *topic, int n);
/* Forget every message received so far. */
void	suite_forget(void);
/* Publish TEXT with QoS 1. */
void	suite_publish(const char *topic, const char *text);
/* Publish LEN bytes as they are, with QoS 0, as any client may. */
void	suite_publish_raw(const char *topic, const void *p, int len);

/* One command to the simulator's control socket; 0 when it said ok. */
int	suite_sim_ctl(const char *cmd);
/* Mount a tmpfs of SIZE on dir/NAME, or skip the test if denied. */
void	suite_small_disk(const char *name, const char *size);
/* Resident memory of PID in KiB, from /proc. */
long	suite_rss(pid_t pid);

#endif
