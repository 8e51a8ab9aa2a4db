/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "log.h"

static const char	*log_name = "zotad";
static int		 log_foreground = 1;
static int		 log_verbose;
static int		 log_level = LOG_LEVEL_INFO;

void
log_init(const char *name, int foreground, int verbose)
{
	log_name = name;
	log_foreground = foreground;
	log_verbose = verbose;

	/* LOG_NDELAY: the socket must exist before the sandbox forbids it. */
	if (!foreground)
		openlog(name, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

void
log_setlevel(int level)
{
	log_level = level;
	if (level >= LOG_LEVEL_DEBUG && log_verbose < 1)
		log_verbose = 1;
}

const char *
log_procname(void)
{
	return (log_name);
}

static void
log_vwrite(int pri, const char *level, const char *fmt, va_list ap,
    const char *suffix)
{
	char	 msg[1024];
	int	 saved_errno = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_foreground) {
		/* One write per line, so lines of several processes interleave
		 * whole when they share a terminal. */
		fprintf(stderr, "%s: %s%s%s%s\n", log_name, level, msg,
		    suffix ? ": " : "", suffix ? suffix : "");
		fflush(stderr);
	} else if (suffix)
		syslog(pri, "%s%s: %s", level, msg, suffix);
	else
		syslog(pri, "%s%s", level, msg);
	errno = saved_errno;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[256];
	int	 saved_errno = errno;

	if (log_level < LOG_LEVEL_WARNING)
		return;
	/* strerror may itself clobber errno; keep the caller's. */
	snprintf(err, sizeof(err), "%s", strerror(saved_errno));
	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, "warning: ", fmt, ap, err);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_WARNING)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, "warning: ", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_INFO, "", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (log_verbose < 1)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, "debug: ", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[256];

	snprintf(err, sizeof(err), "%s", strerror(errno));
	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, "fatal: ", fmt, ap, err);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, "fatal: ", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
