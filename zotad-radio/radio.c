/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "radiod.h"

int
main(int argc, char *argv[])
{
	struct daemon_opts	 opts;
	struct config		*conf;
	int			 rv;

	daemon_getopt(argc, argv, "zotad-radio", &opts);
	conf = daemon_config(&opts);
	rv = radiod_main(conf);
	config_free(conf);
	return (rv);
}
