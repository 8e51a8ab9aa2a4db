/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_STATEDIR_H
#define ZOTAD_STATEDIR_H

#include <stddef.h>

/*
 * zotad-radio and zotad-fetch run as different users and share
 * zotad.state_dir, so each keeps its files in a directory of its own
 * inside it, owned by its user with mode 0700: neither can read, replace
 * or remove the other's state. The state dir itself holds nothing else.
 * Started as root, a daemon gives it to root with mode 0755 (an earlier
 * version gave it to zotad-radio's user) so that no daemon can rename
 * another's directory away; otherwise it is left as it is.
 */

#define STATEDIR_RADIO		"radio"
#define STATEDIR_FETCH		"fetch"

/*
 * Make STATE_DIR (mode 0755) if it is missing, then its subdirectory SUB
 * (mode 0700) for the daemon that runs as USER, and write the latter's
 * path to PATH (SIZE bytes). Started as root, the state dir is given to
 * root and SUB to USER.
 *
 * Then move into SUB the files an earlier version kept in STATE_DIR
 * itself: the regular files whose names match one of the fnmatch(3)
 * patterns in NAMES (NULL-terminated), given to USER when root. This
 * happens once, since the files are gone from STATE_DIR afterwards. A
 * file that SUB already holds is newer and is kept; the old one is left
 * where it is, with a warning. Temporary files that an earlier version's
 * crash left for those names are removed.
 *
 * Returns 0, or -1 with the reason logged (a path that is not a
 * directory, a file that cannot be moved); the daemon must then not
 * start, or it would begin again with empty state.
 */
int	statedir_prepare(const char *state_dir, const char *sub,
	    const char *user, const char *const *names, char *path,
	    size_t size);

/*
 * Check, as the user the daemon has become, that it may read, write and
 * search its directory PATH. Returns 0, or -1 with the reason logged.
 */
int	statedir_check(const char *path);

#endif
