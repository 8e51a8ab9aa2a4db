/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

/* The Makefile passes the build's SYSCONFDIR; other builds get /etc. */
#ifndef ZOTAD_SYSCONFDIR
#define ZOTAD_SYSCONFDIR	"/etc"
#endif

const char	daemon_config_default[] =
    ZOTAD_SYSCONFDIR "/zotad/configuration.yaml";

static void
daemon_usage(const char *name)
{
	fprintf(stderr, "usage: %s [-dnv] [-f configuration.yaml]\n", name);
	exit(2);
}

void
daemon_getopt(int argc, char *argv[], const char *name,
    struct daemon_opts *opts)
{
	int	 ch;

	opts->config_path = daemon_config_default;
	opts->foreground = 0;
	opts->verbose = 0;
	opts->config_test = 0;
	while ((ch = getopt(argc, argv, "df:nv")) != -1) {
		switch (ch) {
		case 'd':
			opts->foreground = 1;
			break;
		case 'f':
			opts->config_path = optarg;
			break;
		case 'n':
			opts->config_test = 1;
			break;
		case 'v':
			opts->verbose++;
			break;
		default:
			daemon_usage(name);
		}
	}
	if (optind != argc)
		daemon_usage(name);

	/* A configuration test always reports on the terminal. */
	log_init(name, opts->foreground || opts->config_test, opts->verbose);
}

static int
daemon_log_level(enum config_log_level level)
{
	switch (level) {
	case CONFIG_LOG_ERROR:
		return (LOG_LEVEL_ERROR);
	case CONFIG_LOG_WARNING:
		return (LOG_LEVEL_WARNING);
	case CONFIG_LOG_DEBUG:
		return (LOG_LEVEL_DEBUG);
	default:
		return (LOG_LEVEL_INFO);
	}
}

struct config *
daemon_config(const struct daemon_opts *opts)
{
	struct config	*conf;
	char		 err[512];
	size_t		 i;

	if ((conf = config_load(opts->config_path, err, sizeof(err))) == NULL) {
		if (opts->config_test) {
			fprintf(stderr, "%s\n", err);
			exit(1);
		}
		fatalx("%s", err);
	}
	for (i = 0; i < conf->nwarnings; i++)
		log_warnx("%s", conf->warnings[i]);
	/* The configuration's log level, unless -v asked for more; set
	 * after the warnings about the file itself, which always show. */
	if (opts->verbose == 0)
		log_setlevel(daemon_log_level(conf->advanced.log_level));
	if (opts->config_test) {
		printf("configuration OK\n");
		exit(0);
	}
	return (conf);
}

/* The status line systemd has, so that an unchanged one is not resent. */
static char	daemon_status_sent[DAEMON_STATUS_MAX];
static int	daemon_notify_failed;

/*
 * Printable ASCII only, anything else becoming '?': systemd reads one
 * assignment per line, so a newline in a name from the configuration or
 * in a server's error must not start an assignment of its own, and it
 * ignores a status that is not valid UTF-8, which a cut could make.
 */
static void
daemon_status_format(char *buf, size_t len, const char *fmt, va_list ap)
{
	unsigned char	*p;

	if (vsnprintf(buf, len, fmt, ap) < 0)
		buf[0] = '\0';
	for (p = (unsigned char *)buf; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
}

static void
daemon_notify(const char *msg)
{
	int	 r;

	/* Warned once: the service manager is unlikely to come back. */
	if ((r = sd_notify(0, msg)) < 0 && !daemon_notify_failed) {
		errno = -r;
		log_warn("cannot report to systemd (%.*s)",
		    (int)strcspn(msg, "\n"), msg);
		daemon_notify_failed = 1;
	}
}

void
daemon_ready(const char *fmt, ...)
{
	char	 status[DAEMON_STATUS_MAX];
	va_list	 ap;

	va_start(ap, fmt);
	daemon_status_format(status, sizeof(status), fmt, ap);
	va_end(ap);
	/* READY=1 alone first: the one message a supervisor must get. */
	daemon_notify("READY=1");
	daemon_status("%s", status);
}

void
daemon_status(const char *fmt, ...)
{
	char	 status[DAEMON_STATUS_MAX];
	char	 msg[DAEMON_STATUS_MAX + 16];
	va_list	 ap;

	va_start(ap, fmt);
	daemon_status_format(status, sizeof(status), fmt, ap);
	va_end(ap);
	if (strcmp(status, daemon_status_sent) == 0)
		return;
	snprintf(msg, sizeof(msg), "STATUS=%s", status);
	daemon_notify(msg);
	memcpy(daemon_status_sent, status, sizeof(status));
}

void
daemon_stopping(void)
{
	daemon_notify("STOPPING=1\nSTATUS=stopping");
	snprintf(daemon_status_sent, sizeof(daemon_status_sent), "stopping");
}
