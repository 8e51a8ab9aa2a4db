/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_ATOMICFILE_H
#define ZOTAD_ATOMICFILE_H

#include <sys/types.h>

#include <stddef.h>

#include <cjson/cJSON.h>

/*
 * State files are replaced whole, so that a crash or kill -9 at any
 * moment leaves either the old content or the new, never a torn file.
 * The new content goes to a temporary file in the same directory named
 * ".NAME.tmp-XXXXXX", which is synced and then renamed over NAME; the
 * directory is synced last so that the rename itself survives a power
 * cut. Temporary files left by a crash are removed by atomic_cleanup.
 */

/*
 * Replace PATH with the LEN bytes of BUF, with permissions MODE (not
 * masked by the umask). Returns 0, or -1 with errno set; the temporary
 * file is then gone and PATH untouched, except when only the final sync
 * of the directory failed: PATH then holds the new content but it may
 * not be on disk yet.
 */
int	atomic_write(const char *path, const void *buf, size_t len,
	    mode_t mode);

/*
 * Replace PATH with OBJ, a JSON object, pretty-printed and ending in a
 * newline. Returns 0, or -1 with errno set (EINVAL if OBJ is not an
 * object), as atomic_write.
 */
int	atomic_write_json(const char *path, const cJSON *obj, mode_t mode);

/*
 * Load the JSON state file PATH, at most MAX bytes. Returns the object,
 * to be freed with cJSON_Delete, or NULL with errno set: ENOENT when
 * there is no file yet (not logged: a first start), EFBIG when it is too
 * large, EINVAL when it is not a regular file or not a JSON object (a
 * torn or hostile file). Every failure but ENOENT is logged with the path
 * and what is wrong.
 */
cJSON	*atomic_read_json(const char *path, size_t max);

/*
 * Parse the LEN bytes of BUF as a state file: one JSON object, only white
 * space after it, no NUL byte. Returns the object, or NULL with errno
 * EINVAL and the reason written to WHY (WHYSIZE bytes); logs nothing.
 */
cJSON	*atomic_parse_json(const char *buf, size_t len, char *why,
	    size_t whysize);

/*
 * Remove the temporary files a crashed writer left in DIR. Call it at
 * start, before anything writes there. Returns how many were removed,
 * or -1 with errno set if DIR cannot be read.
 */
int	atomic_cleanup(const char *dir);

#endif
