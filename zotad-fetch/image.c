/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "config.h"
#include "fetch.h"
#include "ipc_catalogue.h"
#include "log.h"
#include "util.h"

/* One image being fetched: a copy of what the entry said about it. */
struct image_job {
	struct fetchd		*fd;
	struct otaindex_entry	 e;
	fetch_image_cb		*cb;
	void			*arg;
};

static void
image_job_free(struct image_job *j)
{
	free(j->e.url);
	free(j->e.local_path);
	free(j);
}

static struct image_job *
image_job_new(struct fetchd *fd, const struct otaindex_entry *e,
    fetch_image_cb *cb, void *arg)
{
	struct image_job	*j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return (NULL);
	j->fd = fd;
	j->cb = cb;
	j->arg = arg;
	j->e.manufacturer_code = e->manufacturer_code;
	j->e.image_type = e->image_type;
	j->e.file_version = e->file_version;
	j->e.has = e->has & OTAINDEX_HAS_SHA512;
	memcpy(j->e.sha512, e->sha512, sizeof(j->e.sha512));
	if ((e->url != NULL && (j->e.url = strdup(e->url)) == NULL) ||
	    (e->local_path != NULL &&
	    (j->e.local_path = strdup(e->local_path)) == NULL)) {
		image_job_free(j);
		return (NULL);
	}
	return (j);
}

/*
 * An entry without a SHA-512 (a vendor feed, a hosted override) finds
 * its cached image through a note, named by a hash of the URL, holding
 * the hash of the image last verified for it.
 */
static void
image_note_path(const struct image_job *j, char *path, size_t len)
{
	char	 h[SHA512_HEX_LEN + 1];

	util_sha512_hex(j->e.url, strlen(j->e.url), h);
	snprintf(path, len, "%s/%s/url-%.32s", j->fd->conf->zotad.cache_dir,
	    IMAGE_CACHE_DIR, h);
}

static int
image_note_read(const struct image_job *j, char sha[SHA512_HEX_LEN + 1])
{
	char	 path[PATH_MAX];
	uint8_t	*buf;
	size_t	 len;
	int	 r = -1;

	if (j->e.url == NULL)
		return (-1);
	image_note_path(j, path, sizeof(path));
	if (util_read_file(path, SHA512_HEX_LEN, &buf, &len) == -1)
		return (-1);
	if (len == SHA512_HEX_LEN &&
	    strspn((char *)buf, "0123456789abcdef") == SHA512_HEX_LEN) {
		memcpy(sha, buf, SHA512_HEX_LEN + 1);
		r = 0;
	}
	free(buf);
	return (r);
}

static void
image_note_write(const struct image_job *j, const char *sha)
{
	char	 path[PATH_MAX];

	if (j->e.url == NULL || (j->e.has & OTAINDEX_HAS_SHA512))
		return;
	image_note_path(j, path, sizeof(path));
	if (atomic_write(path, sha, SHA512_HEX_LEN, 0600) == -1)
		log_warn("%s", path);
}

/* Verify BUF and hand it over; store it when it came from the web. */
static void
image_deliver(struct image_job *j, const uint8_t *buf, size_t len,
    int store)
{
	const struct config	*conf = j->fd->conf;
	char			 sha[SHA512_HEX_LEN + 1], why[VERIFY_WHY_LEN];
	char			 name[64];
	int			 fd;

	if (fetch_verify_image(buf, len, &j->e, conf->zotad.max_image_size, sha,
	    why, sizeof(why)) == -1) {
		log_warnx("image %s rejected: %s", j->e.url, why);
		j->cb(j->fd, -1, NULL, 0, IPC_FETCH_ERR_IMAGE_INVALID, why,
		    j->arg);
		return;
	}
	if (store) {
		if (fetch_cache_store(conf->zotad.cache_dir, sha, buf,
		    len) == -1)
			log_warn("caching image %.16s...", sha);
		else
			image_note_write(j, sha);
		fetch_cache_evict(conf->zotad.cache_dir, j->fd->cache_cap);
	}
	snprintf(name, sizeof(name), "zotad-ota-%.16s", sha);
	if ((fd = fetch_verify_memfd(buf, len, name)) == -1) {
		log_warn("memfd for image %.16s...", sha);
		j->cb(j->fd, -1, NULL, 0, IPC_FETCH_ERR_DOWNLOAD_FAILED,
		    "cannot hand the image over", j->arg);
		return;
	}
	j->cb(j->fd, fd, sha, len, NULL, NULL, j->arg);
}

static void
image_got(const struct http_result *r, void *arg)
{
	struct image_job	*j = arg;
	char			 why[VERIFY_WHY_LEN];

	if (!r->ok || r->not_modified) {
		snprintf(why, sizeof(why), "%s: %s", j->e.url,
		    r->ok ? "unexpected 304" : r->error);
		j->cb(j->fd, -1, NULL, 0, IPC_FETCH_ERR_DOWNLOAD_FAILED, why,
		    j->arg);
	} else
		image_deliver(j, r->body, r->len, 1);
	image_job_free(j);
}

/* An image named by its hash may already be in the cache. */
static int
image_from_cache(struct image_job *j)
{
	const struct config	*conf = j->fd->conf;
	char			 sha[SHA512_HEX_LEN + 1], why[VERIFY_WHY_LEN];
	char			 want[SHA512_HEX_LEN + 1];
	const char		*bad = NULL;
	uint8_t			*buf;
	size_t			 len;

	if (j->e.has & OTAINDEX_HAS_SHA512)
		memcpy(want, j->e.sha512, sizeof(want));
	else if (image_note_read(j, want) == -1)
		return (0);
	if (fetch_cache_load(conf->zotad.cache_dir, want,
	    conf->zotad.max_image_size, &buf, &len) == -1)
		return (0);
	/* Without an index hash, the file must still be the noted one. */
	if (fetch_verify_image(buf, len, &j->e, conf->zotad.max_image_size, sha,
	    why, sizeof(why)) == -1)
		bad = why;
	else if (strcmp(sha, want) != 0)
		bad = "sha512 differs from the one noted";
	if (bad != NULL) {
		log_warnx("cached image %.16s... dropped: %s", want, bad);
		fetch_cache_drop(conf->zotad.cache_dir, want);
		free(buf);
		return (0);
	}
	log_debug("image %.16s... from the cache", sha);
	image_deliver(j, buf, len, 0);
	free(buf);
	return (1);
}

static void
image_local(struct image_job *j)
{
	char		 why[VERIFY_WHY_LEN];
	uint8_t		*buf;
	size_t		 len;

	if (util_read_file(j->e.local_path, j->fd->conf->zotad.max_image_size,
	    &buf, &len) == -1) {
		snprintf(why, sizeof(why), "%s: %s", j->e.local_path,
		    errno == EFBIG ? "larger than the image size limit" :
		    strerror(errno));
		j->cb(j->fd, -1, NULL, 0, IPC_FETCH_ERR_DOWNLOAD_FAILED, why,
		    j->arg);
		return;
	}
	image_deliver(j, buf, len, 0);
	free(buf);
}

void
fetch_image_get(struct fetchd *fd, const struct otaindex_entry *e,
    const char *reason, fetch_image_cb *cb, void *arg)
{
	struct image_job	*j;

	if ((j = image_job_new(fd, e, cb, arg)) == NULL) {
		cb(fd, -1, NULL, 0, IPC_FETCH_ERR_DOWNLOAD_FAILED,
		    "out of memory", arg);
		return;
	}
	if (j->e.local_path != NULL) {
		image_local(j);
		image_job_free(j);
		return;
	}
	if (image_from_cache(j)) {
		image_job_free(j);
		return;
	}
	if (j->e.url == NULL || !otaindex_is_http_url(j->e.url)) {
		cb(fd, -1, NULL, 0, IPC_FETCH_ERR_DOWNLOAD_FAILED,
		    "the entry names no http(s) URL", arg);
		image_job_free(j);
		return;
	}
	if (http_get(j->e.url, fd->conf->zotad.max_image_size, NULL, NULL,
	    reason, image_got, j) == -1) {
		cb(fd, -1, NULL, 0, IPC_FETCH_ERR_DOWNLOAD_FAILED,
		    "cannot start the download", arg);
		image_job_free(j);
	}
}
