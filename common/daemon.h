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

#endif
