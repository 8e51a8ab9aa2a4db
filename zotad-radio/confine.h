/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_CONFINE_H
#define ZOTAD_RADIO_CONFINE_H

/*
 * zotad-radio's confinement, once the serial port and the sockets are
 * open: become zotad.user_radio (with the dialout group for the serial
 * port), set no_new_privs, forbid new processes, and load a seccomp
 * allowlist with no network socket but AF_UNIX and no exec.
 */

struct config;

/* Returns 0, or -1 (logged): the daemon must then refuse to run. */
int	radio_confine(const struct config *conf);

/* Only the seccomp part, for tests that cannot drop privileges. */
int	radio_confine_filter(void);

#endif
