/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_RADIOD_H
#define ZOTAD_RADIO_RADIOD_H

/*
 * The zotad-radio daemon as a whole: acquire the serial port and the
 * sockets, drop privileges, load the sandbox, then run the adapter, the
 * device registry, the OTA server and the io.zotad.Radio service on one
 * libevent loop until SIGTERM or SIGINT.
 */

struct config;

/* Run the daemon on CONF. Returns the exit status. */
int	radiod_main(const struct config *conf);

#endif
