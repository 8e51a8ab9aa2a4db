/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

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
