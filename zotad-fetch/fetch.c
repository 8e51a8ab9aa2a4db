/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "log.h"

int
main(int argc, char *argv[])
{
	struct daemon_opts	 opts;
	struct config		*conf;

	daemon_getopt(argc, argv, "zotad-fetch", &opts);
	conf = daemon_config(&opts);

	/*
	 * XXX The index, image and privacy service is not written yet; until it is, this
	 * program only checks its configuration (-n).
	 */
	log_warnx("the index, image and privacy service is not part of this build yet");
	config_free(conf);
	return (1);
}
