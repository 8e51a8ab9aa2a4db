/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "atomicfile.h"
#include "log.h"
#include "util.h"

#define ATOMIC_TMP_SUFFIX	".tmp-"
#define ATOMIC_TMP_RANDOM	6	/* the XXXXXX of mkostemp */

/* Split PATH into its directory and the temporary file's path. */
static int
atomic_paths(const char *path, char *dir, size_t dirsize, char *tmp,
    size_t tmpsize)
{
	const char	*slash = strrchr(path, '/'), *base;
	size_t		 dirlen;
	int		 n;

	base = slash == NULL ? path : slash + 1;
	if (*base == '\0') {
		errno = EISDIR;
		return (-1);
	}
	if (slash == NULL)
		n = snprintf(dir, dirsize, ".");
	else {
		dirlen = slash == path ? 1 : (size_t)(slash - path);
		n = snprintf(dir, dirsize, "%.*s", (int)dirlen, path);
	}
	if (n < 0 || (size_t)n >= dirsize)
		goto toolong;
	n = snprintf(tmp, tmpsize, "%s/.%s%sXXXXXX", dir, base,
	    ATOMIC_TMP_SUFFIX);
	if (n < 0 || (size_t)n >= tmpsize)
		goto toolong;
	return (0);

toolong:
	errno = ENAMETOOLONG;
	return (-1);
}

static int
atomic_write_all(int fd, const uint8_t *buf, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

static int
atomic_sync_dir(const char *dir)
{
	int	 fd, saved;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return (-1);
	if (fsync(fd) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (close(fd));
}

int
atomic_write(const char *path, const void *buf, size_t len, mode_t mode)
{
	char	 dir[PATH_MAX], tmp[PATH_MAX];
	int	 fd, saved;

	if (atomic_paths(path, dir, sizeof(dir), tmp, sizeof(tmp)) == -1)
		return (-1);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1)
		return (-1);

	/* The data must be on disk before the name points at it. */
	if (fchmod(fd, mode & 07777) == -1 ||
	    atomic_write_all(fd, buf, len) == -1 || fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;

	return (atomic_sync_dir(dir));

fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	errno = saved;
	return (-1);
}

int
atomic_write_json(const char *path, const cJSON *obj, mode_t mode)
{
	char	*text, *buf;
	size_t	 len;
	int	 r, saved;

	if (!cJSON_IsObject(obj)) {
		errno = EINVAL;
		return (-1);
	}
	if ((text = cJSON_Print(obj)) == NULL) {
		errno = ENOMEM;
		return (-1);
	}
	len = strlen(text);
	if ((buf = malloc(len + 1)) == NULL) {
		cJSON_free(text);
		return (-1);
	}
	memcpy(buf, text, len);
	buf[len] = '\n';
	cJSON_free(text);

	r = atomic_write(path, buf, len + 1, mode);
	saved = errno;
	free(buf);
	errno = saved;
	return (r);
}

static const char *
atomic_json_kind(const cJSON *item)
{
	if (cJSON_IsArray(item))
		return ("an array");
	if (cJSON_IsString(item))
		return ("a string");
	if (cJSON_IsNumber(item))
		return ("a number");
	if (cJSON_IsBool(item))
		return ("a boolean");
	if (cJSON_IsNull(item))
		return ("null");
	return ("not an object");
}

static int
atomic_only_space(const char *p, const char *end)
{
	for (; p < end; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
			return (0);
	return (1);
}

/* The caller returns NULL with EINVAL; WHY already says why. */
static cJSON *
atomic_refuse(cJSON *root)
{
	cJSON_Delete(root);
	errno = EINVAL;
	return (NULL);
}

cJSON *
atomic_parse_json(const char *buf, size_t len, char *why, size_t whysize)
{
	const char	*end = NULL;
	cJSON		*root;

	if (len == 0) {
		snprintf(why, whysize, "empty file");
		return (atomic_refuse(NULL));
	}
	if (memchr(buf, '\0', len) != NULL) {
		snprintf(why, whysize, "contains a NUL byte");
		return (atomic_refuse(NULL));
	}

	if ((root = cJSON_ParseWithLengthOpts(buf, len, &end, 0)) == NULL) {
		snprintf(why, whysize, "not valid JSON (error near byte %zu "
		    "of %zu), torn or damaged", end != NULL && end >= buf &&
		    end <= buf + len ? (size_t)(end - buf) : (size_t)0, len);
		return (atomic_refuse(NULL));
	}
	if (end == NULL || end < buf || end > buf + len ||
	    !atomic_only_space(end, buf + len)) {
		snprintf(why, whysize, "trailing data after the JSON value "
		    "at byte %zu", end != NULL && end >= buf &&
		    end <= buf + len ? (size_t)(end - buf) : (size_t)0);
		return (atomic_refuse(root));
	}
	if (!cJSON_IsObject(root)) {
		snprintf(why, whysize, "top level is %s, expected an object",
		    atomic_json_kind(root));
		return (atomic_refuse(root));
	}
	return (root);
}

cJSON *
atomic_read_json(const char *path, size_t max)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 len;
	cJSON		*root;
	char		 why[128];
	int		 saved;

	/* Checked first so that a FIFO in its place cannot block us. */
	if (stat(path, &st) == -1) {
		if (errno != ENOENT)
			log_warn("%s", path);
		return (NULL);
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s: not a regular file", path);
		errno = EINVAL;
		return (NULL);
	}
	if (util_read_file(path, max, &buf, &len) == -1) {
		if (errno == EFBIG)
			log_warnx("%s: larger than %zu bytes", path, max);
		else if (errno != ENOENT)
			log_warn("%s", path);
		return (NULL);
	}

	root = atomic_parse_json((const char *)buf, len, why, sizeof(why));
	saved = errno;
	free(buf);
	if (root == NULL)
		log_warnx("%s: %s", path, why);
	errno = saved;
	return (root);
}

/* Whether NAME is one of our temporary files: ".X.tmp-" and 6 more. */
static int
atomic_is_temp(const char *name)
{
	size_t	 len = strlen(name), suffix = strlen(ATOMIC_TMP_SUFFIX);
	size_t	 i;

	if (name[0] != '.' || len < 2 + suffix + ATOMIC_TMP_RANDOM)
		return (0);
	name += len - ATOMIC_TMP_RANDOM - suffix;
	if (strncmp(name, ATOMIC_TMP_SUFFIX, suffix) != 0)
		return (0);
	for (i = suffix; i < suffix + ATOMIC_TMP_RANDOM; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9')))
			return (0);
	return (1);
}

static int
atomic_remove_stale(int dfd, const char *dir, const char *name)
{
	struct stat	 st;

	if (!atomic_is_temp(name))
		return (0);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    !S_ISREG(st.st_mode))
		return (0);
	if (unlinkat(dfd, name, 0) == -1) {
		log_warn("removing stale %s/%s", dir, name);
		return (0);
	}
	log_info("removed %s/%s, left by an interrupted write", dir, name);
	return (1);
}

int
atomic_cleanup(const char *dir)
{
	DIR		*d;
	struct dirent	*de;
	int		 removed = 0;

	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL)
		removed += atomic_remove_stale(dirfd(d), dir, de->d_name);
	closedir(d);
	return (removed);
}
