/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "atomicfile.h"
#include "config.h"
#include "daemon.h"
#include "fetch.h"
#include "log.h"
#include "otafile.h"
#include "util.h"

#define SRC_META_MAX	(64 * 1024)
#define SRC_MAX_EXTRA	32	/* URLs from calls kept at once */

struct src_waiter {
	fetch_src_cb			*cb;
	void			*arg;
	struct src_waiter	*next;
};

/* What a GET of a source is waiting for. */
struct src_get {
	struct fetchd	*fd;
	struct src	*src;
};

struct src *
fetch_src_new(const char *location, enum otaindex_source kind)
{
	struct src	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->location = strdup(location)) == NULL) {
		free(s);
		return (NULL);
	}
	s->kind = kind;
	s->local = !otaindex_is_http_url(location);
	return (s);
}

void
fetch_src_free(struct src *s)
{
	struct src_waiter	*w;

	if (s == NULL)
		return;
	while ((w = s->waiters) != NULL) {
		s->waiters = w->next;
		free(w);
	}
	otaindex_free(s->idx);
	free(s->location);
	free(s);
}

struct src *
fetch_src_extra(struct fetchd *fd, const char *location)
{
	struct src	*s, **p;
	size_t		 n = 0;

	for (p = &fd->extra; *p != NULL; p = &(*p)->next, n++)
		if (strcmp((*p)->location, location) == 0)
			return (*p);
	/* Forget the oldest idle one rather than grow without bound. */
	if (n >= SRC_MAX_EXTRA && fd->extra->waiters == NULL) {
		s = fd->extra;
		fd->extra = s->next;
		fetch_src_free(s);
	}
	if ((s = fetch_src_new(location, OTAINDEX_SRC_MAIN)) == NULL)
		return (NULL);
	for (p = &fd->extra; *p != NULL; p = &(*p)->next)
		;
	*p = s;
	return (s);
}

/* Cache files are named by a hash of the URL, never by the URL itself. */
static void
src_cache_path(struct fetchd *fd, const struct src *s, const char *suffix,
    char *path, size_t len)
{
	char	 sha[SHA512_HEX_LEN + 1];

	util_sha512_hex(s->location, strlen(s->location), sha);
	snprintf(path, len, "%s/index-%.32s.%s", fd->conf->zotad.cache_dir,
	    sha, suffix);
}

static void
src_opts(struct fetchd *fd, const struct src *s, struct otaindex_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->source = s->kind;
	o->name = s->location;
	o->data_dir = fd->conf->data_dir;
	/* Only a local override index may name local image files. */
	o->allow_local_files = s->local && s->kind == OTAINDEX_SRC_OVERRIDE;
}

/*
 * A URL given in a call may name an image instead of an index: it then
 * stands for a one-entry index made from the image's own header.
 */
static struct otaindex *
src_parse_image(struct fetchd *fd, struct src *s, const uint8_t *buf,
    size_t len, char *err, size_t errlen)
{
	struct otaindex_entry	 e;
	struct otaindex_opts	 o;
	struct otaindex		*idx = NULL;
	cJSON			*arr = NULL, *obj;
	char			*text = NULL;
	const char		*base;

	if ((base = strrchr(s->location, '/')) == NULL || base[1] == '\0')
		base = "image.ota";
	else
		base++;
	memset(&e, 0, sizeof(e));
	if (otaindex_entry_from_image(buf, len, base, s->location, &e, err,
	    errlen) == -1)
		return (NULL);
	if ((arr = cJSON_CreateArray()) == NULL ||
	    (obj = otaindex_entry_to_json(&e)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	cJSON_AddItemToArray(arr, obj);
	if ((text = cJSON_PrintUnformatted(arr)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	src_opts(fd, s, &o);
	/* A file in the data dir stays one: the update reads it there. */
	if (s->local) {
		o.source = OTAINDEX_SRC_OVERRIDE;
		o.allow_local_files = 1;
	}
	idx = otaindex_parse(text, strlen(text), &o, err, errlen);
	/* The image is at hand: keep it for the update that may follow. */
	if (idx != NULL && len <= fd->conf->zotad.max_image_size &&
	    fetch_cache_store(fd->conf->zotad.cache_dir, e.sha512, buf,
	    len) == -1)
		log_warn("caching the image from %s", s->location);
 out:
	free(text);
	cJSON_Delete(arr);
	otaindex_entry_clear(&e);
	return (idx);
}

static int
src_is_image(const uint8_t *buf, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' &&
		    buf[i] != '\n')
			return (buf[i] != '[');
	return (0);
}

/* A vendor feed, as zigbee-OTA entries. */
static struct otaindex *
src_parse_vendor(struct fetchd *fd, struct src *s, const uint8_t *buf,
    size_t len, char *err, size_t errlen)
{
	struct otaindex_opts	 o;
	struct otaindex		*idx;
	cJSON			*arr;
	char			*text;

	if (s->provider->convert((const char *)buf, len, &arr, err,
	    errlen) == -1)
		return (NULL);
	text = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory");
		return (NULL);
	}
	src_opts(fd, s, &o);
	idx = otaindex_parse(text, strlen(text), &o, err, errlen);
	free(text);
	return (idx);
}

static struct otaindex *
src_parse(struct fetchd *fd, struct src *s, const uint8_t *buf, size_t len,
    char *err, size_t errlen)
{
	struct otaindex_opts	 o;

	if (s->provider != NULL)
		return (src_parse_vendor(fd, s, buf, len, err, errlen));
	if (s->kind == OTAINDEX_SRC_MAIN && s != fd->main && src_is_image(buf,
	    len))
		return (src_parse_image(fd, s, buf, len, err, errlen));
	src_opts(fd, s, &o);
	return (otaindex_parse((const char *)buf, len, &o, err, errlen));
}

static void
src_save_meta(struct fetchd *fd, const struct src *s)
{
	cJSON	*meta;
	char	 path[PATH_MAX];

	src_cache_path(fd, s, "meta", path, sizeof(path));
	if ((meta = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(meta, "url", s->location) == NULL ||
	    cJSON_AddStringToObject(meta, "etag", s->etag) == NULL ||
	    cJSON_AddStringToObject(meta, "lastModified", s->lastmod) == NULL ||
	    cJSON_AddNumberToObject(meta, "fetched", (double)s->fetched) ==
	    NULL || atomic_write_json(path, meta, 0600) == -1)
		log_warn("%s", path);
	cJSON_Delete(meta);
}

static void
src_copy_str(const cJSON *meta, const char *key, char *out, size_t len)
{
	const char	*v;

	v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(meta, key));
	if (v != NULL && strlen(v) < len)
		strcpy(out, v);
}

static int
src_read_meta(struct fetchd *fd, struct src *s)
{
	const cJSON	*url, *fetched;
	cJSON		*meta;
	char		 path[PATH_MAX];

	src_cache_path(fd, s, "meta", path, sizeof(path));
	if ((meta = atomic_read_json(path, SRC_META_MAX)) == NULL)
		return (-1);
	url = cJSON_GetObjectItemCaseSensitive(meta, "url");
	fetched = cJSON_GetObjectItemCaseSensitive(meta, "fetched");
	if (!cJSON_IsString(url) ||
	    strcmp(url->valuestring, s->location) != 0 ||
	    !cJSON_IsNumber(fetched) || fetched->valuedouble < 0 ||
	    fetched->valuedouble > 1e15) {
		log_warnx("%s: not the cache of %s, ignored", path,
		    s->location);
		cJSON_Delete(meta);
		return (-1);
	}
	s->fetched = (time_t)fetched->valuedouble;
	src_copy_str(meta, "etag", s->etag, sizeof(s->etag));
	src_copy_str(meta, "lastModified", s->lastmod, sizeof(s->lastmod));
	cJSON_Delete(meta);
	return (0);
}

/* After a restart, answer from the copy the last run downloaded. */
static void
src_load_disk(struct fetchd *fd, struct src *s)
{
	char	 path[PATH_MAX], err[OTAINDEX_REASON_LEN];
	uint8_t	*buf;
	size_t	 len;

	s->disk_tried = 1;
	if (src_read_meta(fd, s) == -1)
		return;
	src_cache_path(fd, s, "body", path, sizeof(path));
	if (util_read_file(path, fd->conf->zotad.max_index_size, &buf,
	    &len) == -1) {
		log_warn("%s", path);
		s->etag[0] = s->lastmod[0] = '\0';
		return;
	}
	if ((s->idx = src_parse(fd, s, buf, len, err, sizeof(err))) == NULL) {
		log_warnx("%s: cached copy of %s unusable: %s", path,
		    s->location, err);
		s->etag[0] = s->lastmod[0] = '\0';
	} else
		log_debug("%s: loaded from the cache", s->location);
	free(buf);
}

static void
src_settle(struct fetchd *fd, struct src *s)
{
	struct src_waiter	*w;

	while ((w = s->waiters) != NULL) {
		s->waiters = w->next;
		w->cb(fd, s, w->arg);
		free(w);
	}
}

static void
src_fail(struct src *s, const char *fmt, const char *why)
{
	snprintf(s->error, sizeof(s->error), fmt, why);
	if (!s->error_logged)
		log_warnx("%s: %s", s->location, s->error);
	s->error_logged = 1;
}

static void
src_store(struct fetchd *fd, struct src *s, const struct http_result *r)
{
	struct otaindex	*idx;
	char		 path[PATH_MAX], err[OTAINDEX_REASON_LEN];

	if ((idx = src_parse(fd, s, r->body, r->len, err, sizeof(err))) ==
	    NULL) {
		src_fail(s, "unusable: %s", err);
		return;
	}
	otaindex_free(s->idx);
	s->idx = idx;
	s->fetched = time(NULL);
	snprintf(s->etag, sizeof(s->etag), "%s", r->etag);
	snprintf(s->lastmod, sizeof(s->lastmod), "%s", r->last_modified);
	s->error[0] = '\0';
	s->error_logged = 0;
	src_cache_path(fd, s, "body", path, sizeof(path));
	if (atomic_write(path, r->body, r->len, 0600) == -1)
		log_warn("%s", path);
	else
		src_save_meta(fd, s);
	log_info("%s: %zu entries", s->location, idx->nentries);
}

/*
 * The upgrade index's last fetch, for "systemctl status": whether it
 * came, and when, or why not. Once per transfer, never per check.
 */
static void
src_report(const struct src *s)
{
	struct tm	 tm;

	if (s->error[0] != '\0')
		daemon_status("upgrade index unavailable: %s", s->error);
	else if (s->idx != NULL && gmtime_r(&s->fetched, &tm) != NULL)
		daemon_status("upgrade index fetched at %02d:%02d UTC: %zu "
		    "entries", tm.tm_hour, tm.tm_min, s->idx->nentries);
}

static void
src_got(const struct http_result *r, void *arg)
{
	struct src_get	*g = arg;
	struct src	*s = g->src;

	if (!r->ok)
		src_fail(s, "%s", r->error);
	else if (r->not_modified && s->idx != NULL) {
		s->fetched = time(NULL);
		s->error[0] = '\0';
		s->error_logged = 0;
		src_save_meta(g->fd, s);
		log_info("%s: not modified", s->location);
	} else if (r->not_modified)
		src_fail(s, "%s", "304 Not Modified for a copy we do not have");
	else
		src_store(g->fd, s, r);
	if (s == g->fd->main)
		src_report(s);
	src_settle(g->fd, s);
	free(g);
}

static int
src_wait(struct src *s, fetch_src_cb *cb, void *arg)
{
	struct src_waiter	*w, **p;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (-1);
	w->cb = cb;
	w->arg = arg;
	for (p = &s->waiters; *p != NULL; p = &(*p)->next)
		;
	*p = w;
	return (0);
}

/*
 * A file named in a call, an index or an image, the way zigbee2mqtt
 * takes one: relative to the data dir, and here never outside it.
 */
static uint8_t *
src_read_call_file(struct fetchd *fd, struct src *s, size_t *len,
    char *err, size_t errlen)
{
	const struct config	*conf = fd->conf;
	char			*path = NULL, *real = NULL, *dir = NULL;
	uint8_t			*buf = NULL;
	size_t			 max, dlen;

	max = conf->zotad.max_image_size > conf->zotad.max_index_size ?
	    conf->zotad.max_image_size : conf->zotad.max_index_size;
	if (s->location[0] == '/')
		path = strdup(s->location);
	else if (asprintf(&path, "%s/%s", conf->data_dir, s->location) == -1)
		path = NULL;
	if (path == NULL || (dir = realpath(conf->data_dir, NULL)) == NULL ||
	    (real = realpath(path, NULL)) == NULL) {
		snprintf(err, errlen, "%s: %s", path != NULL ? path :
		    s->location, strerror(errno));
		goto out;
	}
	dlen = strlen(dir);
	if (strncmp(real, dir, dlen) != 0 || real[dlen] != '/') {
		snprintf(err, errlen, "%s is outside the data dir %s", real,
		    dir);
		goto out;
	}
	if (util_read_file(real, max, &buf, len) == -1)
		snprintf(err, errlen, "%s: %s", real, errno == EFBIG ?
		    "too large" : strerror(errno));
 out:
	free(path);
	free(real);
	free(dir);
	return (buf);
}

static void
src_read_local(struct fetchd *fd, struct src *s)
{
	struct otaindex_opts	 o;
	struct otaindex		*idx;
	char			 err[OTAINDEX_REASON_LEN];
	uint8_t			*buf;
	size_t			 len;

	src_opts(fd, s, &o);
	if (s->kind != OTAINDEX_SRC_OVERRIDE) {
		if ((buf = src_read_call_file(fd, s, &len, err,
		    sizeof(err))) != NULL) {
			idx = src_parse(fd, s, buf, len, err, sizeof(err));
			free(buf);
		} else
			idx = NULL;
	} else
		idx = otaindex_load(s->location, &o, err, sizeof(err));
	if (idx == NULL) {
		src_fail(s, "%s", err);
		otaindex_free(s->idx);
		s->idx = NULL;
		return;
	}
	otaindex_free(s->idx);
	s->idx = idx;
	s->error[0] = '\0';
	s->error_logged = 0;
}

static int
src_start(struct fetchd *fd, struct src *s, const char *reason)
{
	struct src_get	*g;
	size_t		 max = fd->conf->zotad.max_index_size;
	int		 cond = s->idx != NULL;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return (-1);
	g->fd = fd;
	g->src = s;
	/* A URL given in a call may name an image rather than an index. */
	if (s != fd->main && s->kind == OTAINDEX_SRC_MAIN &&
	    fd->conf->zotad.max_image_size > max)
		max = fd->conf->zotad.max_image_size;
	if (http_get(s->location, max, cond ? s->etag : NULL,
	    cond ? s->lastmod : NULL, reason, src_got, g) == -1) {
		free(g);
		return (-1);
	}
	return (0);
}

int
fetch_src_update(struct fetchd *fd, struct src *s, enum gate_verdict verdict,
    time_t now, const char *reason, fetch_src_cb *cb, void *arg)
{
	enum gate_source_action	 act;

	if (s->local) {
		/* A file of the user's own: no third party, always current. */
		src_read_local(fd, s);
		cb(fd, s, arg);
		return (0);
	}
	if (!s->disk_tried)
		src_load_disk(fd, s);
	if (s->waiters != NULL) {
		if (src_wait(s, cb, arg) == -1)
			goto settle;
		return (1);
	}
	act = gate_source(fd->gate, verdict, s->idx != NULL, s->fetched, now);
	if (act != GATE_SOURCE_FETCH) {
		if (act == GATE_SOURCE_NONE)
			snprintf(s->error, sizeof(s->error), "nothing cached "
			    "and no contact allowed yet");
		goto settle;
	}
	if (src_wait(s, cb, arg) == -1)
		goto settle;
	if (src_start(fd, s, reason) == -1) {
		snprintf(s->error, sizeof(s->error), "cannot start a transfer");
		src_settle(fd, s);
	}
	return (1);
 settle:
	cb(fd, s, arg);
	return (0);
}
