/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "zotadctl.h"

struct ctl_command {
	const char	*name;
	int		(*run)(int, char *[]);
	const char	*usage;
};

static const struct ctl_command ctl_commands[] = {
	{ "image", ctl_image,
	    "image inspect FILE... | image make OPTIONS OUT" },
	{ "index", ctl_index,
	    "index add [--base-url URL] [--append INDEX] FILE... |\n"
	    "\t\tindex match [--override FILE] [--downgrade] OPTIONS INDEX" },
	{ "devices", ctl_device,
	    "devices [-f CONFIG | --socket PATH] [--json]" },
	{ "check", ctl_device, "check [-f CONFIG | --socket PATH] "
	    "[--downgrade] [--url URL] DEVICE" },
	{ "update", ctl_device, "update [-f CONFIG | --socket PATH] "
	    "[--downgrade] [--url URL | --image FILE] DEVICE" },
	{ "schedule", ctl_device, "schedule [-f CONFIG | --socket PATH] "
	    "[--downgrade] [--url URL | --image FILE] DEVICE" },
	{ "unschedule", ctl_device,
	    "unschedule [-f CONFIG | --socket PATH] DEVICE" },
	{ "abort", ctl_device, "abort [-f CONFIG | --socket PATH] DEVICE" },
	{ "permit-join", ctl_device, "permit-join [-f CONFIG | --socket PATH] "
	    "[--device DEVICE] SECONDS" },
};

static void
usage(void)
{
	size_t	 i;

	fprintf(stderr, "usage:\n");
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		fprintf(stderr, "\tzotadctl %s\n", ctl_commands[i].usage);
}

int
main(int argc, char *argv[])
{
	size_t	 i;

	log_init("zotadctl", 1, 0);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		usage();
		return (argc < 2 ? CTL_USAGE : CTL_OK);
	}
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		if (strcmp(argv[1], ctl_commands[i].name) == 0)
			return (ctl_commands[i].run(argc - 1, argv + 1));
	fprintf(stderr, "zotadctl: unknown command '%s'\n", argv[1]);
	usage();
	return (CTL_USAGE);
}
