/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_DAEMON_H
#define ZOTAD_DAEMON_H

struct config;

/*
 * The configuration file read when no -f names one (and by zotadctl when
 * it is readable): SYSCONFDIR/zotad/configuration.yaml, for the
 * SYSCONFDIR the build was made with (make SYSCONFDIR=..., /etc unless
 * told otherwise).
 */
extern const char	daemon_config_default[];

/* What every daemon's command line says. */
struct daemon_opts {
	const char	*config_path;	/* -f FILE */
	int		 foreground;	/* -d: stay attached, log to stderr */
	int		 verbose;	/* -v, repeatable */
	int		 config_test;	/* -n: check the configuration, exit */
};

/*
 * Parse the options common to the three daemons; prints usage and exits
 * with status 2 on a bad command line. NAME is the program name.
 */
void	daemon_getopt(int argc, char *argv[], const char *name,
	    struct daemon_opts *opts);

/*
 * Load the configuration the options name, logging each warning. With -n
 * it prints "configuration OK" (or the error) and exits. An invalid
 * configuration is fatal: the daemon must not start on a guess.
 */
struct config *daemon_config(const struct daemon_opts *opts);

/*
 * What the daemon tells systemd's service manager, for units of
 * Type=notify. Each is a no-op without NOTIFY_SOCKET in the environment,
 * so a daemon started by hand or by another supervisor is unaffected.
 * Each message is one datagram on a socket made for it (socket(AF_UNIX),
 * setsockopt, sendmsg, close), which every daemon's sandbox allows.
 * The status text is printf-like, at most DAEMON_STATUS_MAX bytes; it
 * is what "systemctl status" shows, so keep it short.
 */
#define DAEMON_STATUS_MAX	160

/* Ready to serve: READY=1, then the first status line. */
void	daemon_ready(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/*
 * A new status line. The line last sent is remembered and not sent
 * again, so a caller may report whenever its state may have changed.
 */
void	daemon_status(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

/* Leaving on a signal: STOPPING=1. */
void	daemon_stopping(void);

#endif
