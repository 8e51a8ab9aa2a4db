/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "testhttpd.h"
#include "util.h"

#define THTTPD_MAX_ROUTES	64

struct thttpd_route {
	char			*path;
	uint8_t			*body;
	size_t			 len;
	enum thttpd_fault	 fault;
	char			 etag[24];
	unsigned int		 hits;
	unsigned int		 not_modified;
};

struct thttpd {
	struct event_base	*base;
	struct evhttp		*http;
	struct thttpd_route	 routes[THTTPD_MAX_ROUTES];
	size_t			 nroutes;
	unsigned int		 total;
	char			 agent[128];
};

/* A reply held back for a while: the request and its route. */
struct thttpd_delay {
	struct evhttp_request	*req;
	struct thttpd_route	*route;
	struct event		*ev;
};

static struct thttpd_route *
thttpd_find(struct thttpd *h, const char *path)
{
	size_t	 i;

	for (i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i].path, path) == 0)
			return (&h->routes[i]);
	return (NULL);
}

static const struct thttpd_route *
thttpd_lookup(const struct thttpd *h, const char *path)
{
	size_t	 i;

	for (i = 0; i < h->nroutes; i++)
		if (strcmp(h->routes[i].path, path) == 0)
			return (&h->routes[i]);
	return (NULL);
}

static void
thttpd_send_body(struct evhttp_request *req, const struct thttpd_route *r)
{
	struct evbuffer	*b = evbuffer_new();

	evhttp_add_header(evhttp_request_get_output_headers(req), "ETag",
	    r->etag);
	evbuffer_add(b, r->body, r->len);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void
thttpd_delayed(evutil_socket_t fd, short what, void *arg)
{
	struct thttpd_delay	*d = arg;

	(void)fd;
	(void)what;
	thttpd_send_body(d->req, d->route);
	event_free(d->ev);
	free(d);
}

static void
thttpd_slow(struct thttpd *h, struct evhttp_request *req,
    struct thttpd_route *r)
{
	struct thttpd_delay	*d;
	struct timeval		 tv = { 1, 0 };

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return;
	d->req = req;
	d->route = r;
	d->ev = evtimer_new(h->base, thttpd_delayed, d);
	evtimer_add(d->ev, &tv);
}

static void
thttpd_hang_up(struct evhttp_connection *conn, void *arg)
{
	(void)arg;
	evhttp_connection_free(conn);
}

/* Announce the whole length, send half, then drop the connection. */
static void
thttpd_truncate(struct evhttp_request *req, const struct thttpd_route *r)
{
	struct evbuffer	*b = evbuffer_new();
	char		 len[32];

	snprintf(len, sizeof(len), "%zu", r->len);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Length", len);
	evhttp_send_reply_start(req, 200, "OK");
	evbuffer_add(b, r->body, r->len / 2);
	evhttp_send_reply_chunk_with_cb(req, b, thttpd_hang_up, NULL);
	evbuffer_free(b);
}

static void
thttpd_serve(struct thttpd *h, struct evhttp_request *req,
    struct thttpd_route *r)
{
	const char	*inm;

	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	switch (r->fault) {
	case THTTPD_OK:
		if (inm != NULL && strcmp(inm, r->etag) == 0) {
			r->not_modified++;
			evhttp_send_reply(req, 304, "Not Modified", NULL);
		} else
			thttpd_send_body(req, r);
		break;
	case THTTPD_404:
		evhttp_send_error(req, 404, NULL);
		break;
	case THTTPD_500:
		evhttp_send_error(req, 500, NULL);
		break;
	case THTTPD_SLOW:
		thttpd_slow(h, req, r);
		break;
	case THTTPD_STALL:
		break;
	case THTTPD_TRUNCATE:
		thttpd_truncate(req, r);
		break;
	case THTTPD_REDIRECT:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Location", (const char *)r->body);
		evhttp_send_reply(req, 302, "Found", NULL);
		break;
	}
}

static void
thttpd_request(struct evhttp_request *req, void *arg)
{
	struct thttpd		*h = arg;
	struct thttpd_route	*r;
	const char		*path, *ua;

	h->total++;
	ua = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "User-Agent");
	snprintf(h->agent, sizeof(h->agent), "%s", ua != NULL ? ua : "");
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || (r = thttpd_find(h, path)) == NULL) {
		evhttp_send_error(req, 404, NULL);
		return;
	}
	r->hits++;
	thttpd_serve(h, req, r);
}

struct thttpd *
thttpd_new(struct event_base *base, uint16_t *port)
{
	struct thttpd			*h;
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	ev_socklen_t			 sl = sizeof(ss);

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return (NULL);
	h->base = base;
	if ((h->http = evhttp_new(base)) == NULL ||
	    (bs = evhttp_bind_socket_with_handle(h->http, "127.0.0.1",
	    0)) == NULL ||
	    getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&ss, &sl) == -1) {
		thttpd_free(h);
		return (NULL);
	}
	*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	evhttp_set_gencb(h->http, thttpd_request, h);
	return (h);
}

void
thttpd_free(struct thttpd *h)
{
	size_t	 i;

	if (h == NULL)
		return;
	if (h->http != NULL)
		evhttp_free(h->http);
	for (i = 0; i < h->nroutes; i++) {
		free(h->routes[i].path);
		free(h->routes[i].body);
	}
	free(h);
}

int
thttpd_route(struct thttpd *h, const char *path, const void *body,
    size_t len, enum thttpd_fault fault)
{
	struct thttpd_route	*r;
	char			 sha[SHA512_HEX_LEN + 1];

	if ((r = thttpd_find(h, path)) == NULL) {
		if (h->nroutes == THTTPD_MAX_ROUTES)
			return (-1);
		r = &h->routes[h->nroutes++];
		if ((r->path = strdup(path)) == NULL)
			return (-1);
	}
	free(r->body);
	/* One spare NUL, so a redirect's location can be read as text. */
	if ((r->body = calloc(1, len + 1)) == NULL)
		return (-1);
	memcpy(r->body, body, len);
	r->len = len;
	r->fault = fault;
	util_sha512_hex(body, len, sha);
	snprintf(r->etag, sizeof(r->etag), "\"%.16s\"", sha);
	return (0);
}

unsigned int
thttpd_hits(const struct thttpd *h, const char *path)
{
	const struct thttpd_route	*r;

	return ((r = thttpd_lookup(h, path)) != NULL ? r->hits : 0);
}

unsigned int
thttpd_not_modified(const struct thttpd *h, const char *path)
{
	const struct thttpd_route	*r;

	return ((r = thttpd_lookup(h, path)) != NULL ? r->not_modified : 0);
}

unsigned int
thttpd_total(const struct thttpd *h)
{
	return (h->total);
}

const char *
thttpd_user_agent(const struct thttpd *h)
{
	return (h->agent);
}
