/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_TESTHTTPD_H
#define ZOTAD_TESTHTTPD_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

/*
 * A small HTTP server for tests, on libevent's evhttp, listening on
 * 127.0.0.1 on a port of the kernel's choosing. Each path serves a body
 * the test gives, with an ETag, or one injected fault, and counts what
 * it was asked.
 */

enum thttpd_fault {
	THTTPD_OK,		/* 200, or 304 when If-None-Match matches */
	THTTPD_404,
	THTTPD_500,
	THTTPD_SLOW,		/* 200, but only after a second */
	THTTPD_STALL,		/* never answers */
	THTTPD_TRUNCATE,	/* promises the body, sends half, hangs up */
	THTTPD_REDIRECT		/* 302 to the location given as body */
};

struct thttpd;

/* Start on BASE; *PORT gets the port. NULL when it cannot listen. */
struct thttpd	*thttpd_new(struct event_base *base, uint16_t *port);
void		 thttpd_free(struct thttpd *);

/* Serve BODY (LEN bytes, copied) at PATH with FAULT; replaces a route. */
int		 thttpd_route(struct thttpd *, const char *path,
		    const void *body, size_t len, enum thttpd_fault fault);

/* Requests for PATH, all of them or only those answered 304. */
unsigned int	 thttpd_hits(const struct thttpd *, const char *path);
unsigned int	 thttpd_not_modified(const struct thttpd *,
		    const char *path);

/* Every request the server got, on any path. */
unsigned int	 thttpd_total(const struct thttpd *);

/* The User-Agent of the last request. */
const char	*thttpd_user_agent(const struct thttpd *);

#endif
