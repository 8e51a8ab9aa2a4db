/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_LOG_H
#define ZOTAD_LOG_H

#include <stdarg.h>

/*
 * Start logging as process NAME: to stderr when FOREGROUND is set,
 * otherwise to syslog (opened at once, before any sandbox). VERBOSE
 * counts -v flags: 0 info and up, 1 or more adds debug.
 */
void	log_init(const char *name, int foreground, int verbose);

/* Change the verbosity after start-up, as -v or log_level ask. */
void	log_setverbose(int verbose);
int	log_getverbose(void);

/*
 * The least severe messages still written, as zigbee2mqtt's log_level
 * says: LOG_LEVEL_ERROR leaves only fatal messages, LOG_LEVEL_WARNING
 * adds warnings, LOG_LEVEL_INFO (the default) information, and
 * LOG_LEVEL_DEBUG everything, as -v does.
 */
#define LOG_LEVEL_ERROR		0
#define LOG_LEVEL_WARNING	1
#define LOG_LEVEL_INFO		2
#define LOG_LEVEL_DEBUG		3
void	log_setlevel(int level);

/* A step failed and we carry on; log_warn appends strerror(errno). */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));

/* A state change an operator cares about. */
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Per-message detail, only when verbose. */
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

/* An invariant broke or a privilege step failed: log and exit(1). */
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* The process name given to log_init, for messages built elsewhere. */
const char *log_procname(void);

#endif
