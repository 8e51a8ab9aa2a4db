/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/mman.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomicfile.h"
#include "fetch.h"
#include "log.h"
#include "otafile.h"
#include "util.h"

#define CACHE_MAX_FILES	4096	/* images looked at per eviction */

static int
verify_identity(const struct ota_header *h, const struct otaindex_entry *e,
    char *why, size_t whylen)
{
	if (h->manufacturer_code != e->manufacturer_code) {
		snprintf(why, whylen, "manufacturer code: the header says "
		    "0x%04x, the index 0x%04x", h->manufacturer_code,
		    e->manufacturer_code);
		return (-1);
	}
	if (h->image_type != e->image_type) {
		snprintf(why, whylen, "image type: the header says 0x%04x, "
		    "the index 0x%04x", h->image_type, e->image_type);
		return (-1);
	}
	if (h->file_version != e->file_version) {
		snprintf(why, whylen, "file version: the header says "
		    "0x%08x, the index 0x%08x", h->file_version,
		    e->file_version);
		return (-1);
	}
	return (0);
}

int
fetch_verify_image(const uint8_t *buf, size_t len,
    const struct otaindex_entry *e, size_t max, char sha[SHA512_HEX_LEN + 1],
    char *why, size_t whylen)
{
	struct ota_image	*img;
	char			 err[192];
	int			 r;

	if (len > max) {
		snprintf(why, whylen, "size: %zu bytes, more than the limit "
		    "of %zu", len, max);
		return (-1);
	}
	util_sha512_hex(buf, len, sha);
	if ((e->has & OTAINDEX_HAS_SHA512) && strcmp(sha, e->sha512) != 0) {
		snprintf(why, whylen, "sha512: the file's %.16s... differs "
		    "from the index's %.16s...", sha, e->sha512);
		return (-1);
	}
	/* The tag table makes the parsed image large: keep it off the stack. */
	if ((img = malloc(sizeof(*img))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return (-1);
	}
	if (ota_parse(buf, len, img, err, sizeof(err)) == -1) {
		snprintf(why, whylen, "OTA header: %s", err);
		r = -1;
	} else
		r = verify_identity(&img->hdr, e, why, whylen);
	free(img);
	return (r);
}

int
fetch_verify_memfd(const uint8_t *buf, size_t len, const char *name)
{
	size_t	 off = 0;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1)
		return (-1);
	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) == -1 || lseek(fd, 0, SEEK_SET) == -1)
		goto fail;
	return (fd);
 fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

/* A name is only ever a SHA-512 in hex, so it cannot leave the dir. */
static int
cache_valid_sha(const char *sha)
{
	return (strlen(sha) == SHA512_HEX_LEN &&
	    strspn(sha, "0123456789abcdef") == SHA512_HEX_LEN);
}

void
fetch_cache_path(const char *dir, const char *sha, char *path, size_t len)
{
	snprintf(path, len, "%s/%s/%s", dir, IMAGE_CACHE_DIR, sha);
}

int
fetch_cache_load(const char *dir, const char *sha, size_t max,
    uint8_t **buf, size_t *len)
{
	char	 path[PATH_MAX];

	if (!cache_valid_sha(sha)) {
		errno = EINVAL;
		return (-1);
	}
	fetch_cache_path(dir, sha, path, sizeof(path));
	if (util_read_file(path, max, buf, len) == -1)
		return (-1);
	/* The modification time orders the cache by last use. */
	if (utimensat(AT_FDCWD, path, NULL, 0) == -1)
		log_warn("%s", path);
	return (0);
}

int
fetch_cache_store(const char *dir, const char *sha, const uint8_t *buf,
    size_t len)
{
	char	 path[PATH_MAX];

	if (!cache_valid_sha(sha)) {
		errno = EINVAL;
		return (-1);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, IMAGE_CACHE_DIR);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return (-1);
	fetch_cache_path(dir, sha, path, sizeof(path));
	return (atomic_write(path, buf, len, 0600));
}

void
fetch_cache_drop(const char *dir, const char *sha)
{
	char	 path[PATH_MAX];

	if (!cache_valid_sha(sha))
		return;
	fetch_cache_path(dir, sha, path, sizeof(path));
	if (unlink(path) == -1 && errno != ENOENT)
		log_warn("%s", path);
}

struct cache_file {
	char		 sha[SHA512_HEX_LEN + 1];
	struct timespec	 used;
	off_t		 size;
};

static int
cache_cmp_used(const void *a, const void *b)
{
	const struct cache_file	*x = a, *y = b;

	if (x->used.tv_sec != y->used.tv_sec)
		return (x->used.tv_sec < y->used.tv_sec ? -1 : 1);
	if (x->used.tv_nsec != y->used.tv_nsec)
		return (x->used.tv_nsec < y->used.tv_nsec ? -1 : 1);
	return (strcmp(x->sha, y->sha));
}

static size_t
cache_scan(DIR *d, struct cache_file *files, uint64_t *total)
{
	struct dirent	*de;
	struct stat	 st;
	size_t		 n = 0;

	*total = 0;
	while (n < CACHE_MAX_FILES && (de = readdir(d)) != NULL) {
		if (!cache_valid_sha(de->d_name) ||
		    fstatat(dirfd(d), de->d_name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(st.st_mode))
			continue;
		memcpy(files[n].sha, de->d_name, SHA512_HEX_LEN + 1);
		files[n].used = st.st_mtim;
		files[n].size = st.st_size;
		*total += (uint64_t)st.st_size;
		n++;
	}
	return (n);
}

int
fetch_cache_evict(const char *dir, uint64_t cap)
{
	struct cache_file	*files;
	char			 path[PATH_MAX];
	DIR			*d;
	uint64_t		 total;
	size_t			 n, i;

	snprintf(path, sizeof(path), "%s/%s", dir, IMAGE_CACHE_DIR);
	if ((d = opendir(path)) == NULL)
		return (errno == ENOENT ? 0 : -1);
	if ((files = calloc(CACHE_MAX_FILES, sizeof(*files))) == NULL) {
		closedir(d);
		return (-1);
	}
	n = cache_scan(d, files, &total);
	closedir(d);
	qsort(files, n, sizeof(*files), cache_cmp_used);
	for (i = 0; i < n && total > cap; i++) {
		log_info("image cache over %llu bytes: evicting %.16s...",
		    (unsigned long long)cap, files[i].sha);
		fetch_cache_drop(dir, files[i].sha);
		total -= (uint64_t)files[i].size;
	}
	free(files);
	return (0);
}
