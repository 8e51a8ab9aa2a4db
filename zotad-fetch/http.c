/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "config.h"
#include "fetch.h"
#include "log.h"
#include "util.h"

#define HTTP_VALIDATOR_MAX	256	/* bytes of an ETag we keep */

struct http_waiter {
	http_cb			*cb;
	void			*arg;
	struct http_waiter	*next;
};

struct http_xfer {
	CURL			*easy;
	char			*url;
	size_t			 max;
	uint8_t			*buf;
	size_t			 len;
	size_t			 cap;
	int			 too_big;
	struct curl_slist	*headers;
	char			 etag[HTTP_VALIDATOR_MAX];
	char			 lastmod[HTTP_VALIDATOR_MAX];
	char			 errbuf[CURL_ERROR_SIZE];
	struct http_waiter	*waiters;
	struct http_xfer	*next;
};

static struct {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	struct http_xfer	*xfers;
	uint8_t			*ca;
	size_t			 calen;
	long			 timeout;
} http;

static void	http_check_done(void);

static void
http_event_cb(evutil_socket_t fd, short what, void *arg)
{
	int	 running, flags = 0;

	(void)arg;
	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(http.multi, fd, flags, &running);
	http_check_done();
}

static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	int	 running;

	(void)fd;
	(void)what;
	(void)arg;
	curl_multi_socket_action(http.multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_done();
}

/* libcurl says which sockets to watch and for what. */
static int
http_socket_fn(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
	struct event	*ev = socketp;
	short		 events = EV_PERSIST;

	(void)easy;
	(void)userp;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(http.multi, s, NULL);
		return (0);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (ev != NULL)
		event_free(ev);
	if ((ev = event_new(http.base, s, events, http_event_cb, NULL)) ==
	    NULL || event_add(ev, NULL) == -1) {
		log_warnx("cannot watch an HTTP socket");
		if (ev != NULL)
			event_free(ev);
		curl_multi_assign(http.multi, s, NULL);
		return (-1);
	}
	curl_multi_assign(http.multi, s, ev);
	return (0);
}

static int
http_timer_fn(CURLM *multi, long ms, void *userp)
{
	struct timeval	 tv;

	(void)multi;
	(void)userp;
	if (ms < 0) {
		evtimer_del(http.timer);
		return (0);
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return (evtimer_add(http.timer, &tv) == -1 ? -1 : 0);
}

static size_t
http_write_fn(char *data, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;
	size_t			 ncap;
	uint8_t			*nbuf;

	/* size is always 1 for body data; the product cannot overflow. */
	n *= size;
	if (n > x->max - x->len) {
		x->too_big = 1;
		return (0);
	}
	if (x->len + n + 1 > x->cap) {
		ncap = x->cap == 0 ? 65536 : x->cap;
		while (ncap < x->len + n + 1)
			ncap *= 2;
		if ((nbuf = realloc(x->buf, ncap)) == NULL)
			return (0);
		x->buf = nbuf;
		x->cap = ncap;
	}
	memcpy(x->buf + x->len, data, n);
	x->len += n;
	x->buf[x->len] = '\0';
	return (n);
}

/* Copy a header's value, without surrounding blanks, if it is NAME. */
static void
http_header_value(const char *line, size_t len, const char *name,
    char *out, size_t outlen)
{
	size_t	 nlen = strlen(name), end;

	if (len <= nlen || strncasecmp(line, name, nlen) != 0 ||
	    line[nlen] != ':')
		return;
	line += nlen + 1;
	len -= nlen + 1;
	while (len > 0 && (*line == ' ' || *line == '\t')) {
		line++;
		len--;
	}
	end = len;
	while (end > 0 && isspace((unsigned char)line[end - 1]))
		end--;
	/* An overlong or binary validator is dropped, not truncated. */
	if (end >= outlen || memchr(line, '\0', end) != NULL)
		return;
	memcpy(out, line, end);
	out[end] = '\0';
}

static size_t
http_header_fn(char *line, size_t size, size_t n, void *arg)
{
	struct http_xfer	*x = arg;

	n *= size;
	/* Each response of a redirect chain starts with a status line. */
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		x->etag[0] = '\0';
		x->lastmod[0] = '\0';
		return (n);
	}
	http_header_value(line, n, "ETag", x->etag, sizeof(x->etag));
	http_header_value(line, n, "Last-Modified", x->lastmod,
	    sizeof(x->lastmod));
	return (n);
}

static void
http_xfer_free(struct http_xfer *x)
{
	struct http_waiter	*w;

	while ((w = x->waiters) != NULL) {
		x->waiters = w->next;
		free(w);
	}
	if (x->easy != NULL)
		curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	free(x->buf);
	free(x->url);
	free(x);
}

static void
http_unlink(struct http_xfer *x)
{
	struct http_xfer	**p;

	for (p = &http.xfers; *p != NULL; p = &(*p)->next) {
		if (*p == x) {
			*p = x->next;
			return;
		}
	}
}

static void
http_finish(struct http_xfer *x, CURLcode rc)
{
	struct http_result	 res;
	struct http_waiter	*w;
	char			 why[CURL_ERROR_SIZE + 64];
	long			 status = 0;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	memset(&res, 0, sizeof(res));
	res.status = status;
	res.body = x->buf != NULL ? x->buf : (const uint8_t *)"";
	res.len = x->len;
	res.etag = x->etag;
	res.last_modified = x->lastmod;
	if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		snprintf(why, sizeof(why), "larger than the limit of %zu "
		    "bytes", x->max);
	else if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%s", x->errbuf[0] != '\0' ?
		    x->errbuf : curl_easy_strerror(rc));
	else if (status == 304)
		res.ok = res.not_modified = 1;
	else if (status == 200)
		res.ok = 1;
	else
		snprintf(why, sizeof(why), "HTTP status %ld", status);
	res.error = res.ok ? NULL : why;
	if (!res.ok)
		log_info("GET %s failed: %s", x->url, why);

	http_unlink(x);
	curl_multi_remove_handle(http.multi, x->easy);
	while ((w = x->waiters) != NULL) {
		x->waiters = w->next;
		w->cb(&res, w->arg);
		free(w);
	}
	http_xfer_free(x);
}

static void
http_check_done(void)
{
	CURLMsg			*msg;
	struct http_xfer	*x;
	int			 left;

	while ((msg = curl_multi_info_read(http.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		x = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&x);
		if (x != NULL)
			http_finish(x, msg->data.result);
	}
}

static int
http_load_ca(void)
{
	if (util_read_file(HTTP_CA_BUNDLE, HTTP_CA_MAX, &http.ca,
	    &http.calen) == -1) {
		/* libcurl's built-in default then applies, before the jail. */
		log_warn("%s, using libcurl's default CA store",
		    HTTP_CA_BUNDLE);
		return (-1);
	}
	return (0);
}

int
http_init(struct event_base *base, const struct config *conf)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("curl_global_init failed");
		return (-1);
	}
	http.base = base;
	http.timeout = conf->zotad.fetch_timeout;
	if ((http.multi = curl_multi_init()) == NULL ||
	    (http.timer = evtimer_new(base, http_timer_cb, NULL)) == NULL) {
		log_warnx("cannot set up HTTP transfers");
		return (-1);
	}
	curl_multi_setopt(http.multi, CURLMOPT_SOCKETFUNCTION, http_socket_fn);
	curl_multi_setopt(http.multi, CURLMOPT_TIMERFUNCTION, http_timer_fn);
	http_load_ca();
	return (0);
}

void
http_shutdown(void)
{
	struct http_xfer	*x;

	while ((x = http.xfers) != NULL) {
		http.xfers = x->next;
		curl_multi_remove_handle(http.multi, x->easy);
		http_xfer_free(x);
	}
	if (http.timer != NULL)
		event_free(http.timer);
	if (http.multi != NULL)
		curl_multi_cleanup(http.multi);
	free(http.ca);
	memset(&http, 0, sizeof(http));
	curl_global_cleanup();
}

static int
http_conditional(struct http_xfer *x, const char *etag, const char *lastmod)
{
	char			 line[HTTP_VALIDATOR_MAX + 32];
	struct curl_slist	*l;

	if (etag != NULL && *etag != '\0') {
		snprintf(line, sizeof(line), "If-None-Match: %s", etag);
		if ((l = curl_slist_append(x->headers, line)) == NULL)
			return (-1);
		x->headers = l;
	}
	if (lastmod != NULL && *lastmod != '\0') {
		snprintf(line, sizeof(line), "If-Modified-Since: %s", lastmod);
		if ((l = curl_slist_append(x->headers, line)) == NULL)
			return (-1);
		x->headers = l;
	}
	return (0);
}

/* Everything that keeps a transfer safe: see the comment in fetch.h. */
static int
http_setopts(struct http_xfer *x)
{
	struct curl_blob	 blob;
	CURL			*e = x->easy;
	int			 bad = 0;

	bad |= curl_easy_setopt(e, CURLOPT_URL, x->url);
	bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)x);
	bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRS);
	bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
	    (long)HTTP_CONNECT_TIMEOUT);
	bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT, http.timeout);
	bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
	    (curl_off_t)x->max);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_write_fn);
	bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_header_fn);
	bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
	if (http.ca != NULL) {
		blob.data = http.ca;
		blob.len = http.calen;
		blob.flags = CURL_BLOB_NOCOPY;
		bad |= curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	}
	return (bad != 0 ? -1 : 0);
}

static int
http_wait(struct http_xfer *x, http_cb *cb, void *arg)
{
	struct http_waiter	*w, **p;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (-1);
	w->cb = cb;
	w->arg = arg;
	for (p = &x->waiters; *p != NULL; p = &(*p)->next)
		;
	*p = w;
	return (0);
}

int
http_get(const char *url, size_t max, const char *etag, const char *lastmod,
    const char *reason, http_cb *cb, void *arg)
{
	struct http_xfer	*x;

	for (x = http.xfers; x != NULL; x = x->next)
		if (strcmp(x->url, url) == 0)
			return (http_wait(x, cb, arg));

	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->url = strdup(url)) == NULL ||
	    (x->easy = curl_easy_init()) == NULL)
		goto fail;
	x->max = max;
	if (http_conditional(x, etag, lastmod) == -1 ||
	    http_setopts(x) == -1 || http_wait(x, cb, arg) == -1)
		goto fail;
	if (curl_multi_add_handle(http.multi, x->easy) != CURLM_OK)
		goto fail;
	x->next = http.xfers;
	http.xfers = x;
	log_info("GET %s (%s)", url, reason);
	return (0);
 fail:
	log_warnx("cannot start a transfer of %s", url);
	if (x != NULL)
		http_xfer_free(x);
	return (-1);
}
