/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTADCTL_H
#define ZOTADCTL_H

/*
 * Exit status of every subcommand: 0 done, 1 the thing asked about is
 * invalid or unavailable (a broken image, no matching entry), 2 the
 * command itself was wrong (usage, unreadable file).
 */
#define CTL_OK		0
#define CTL_NEGATIVE	1
#define CTL_USAGE	2

/* device.c: devices, check, update, schedule, unschedule, abort,
 * permit-join; argv[0] is the command. */
int	ctl_device(int argc, char *argv[]);

/* image.c */
int	ctl_image(int argc, char *argv[]);

/* index.c */
int	ctl_index(int argc, char *argv[]);

#endif
