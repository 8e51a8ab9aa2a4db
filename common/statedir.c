/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"
#include "statedir.h"

#define STATEDIR_MODE		0755	/* the shared state dir */
#define STATEDIR_OWN_MODE	0700	/* a daemon's own directory */
#define STATEDIR_TMP_INFIX	".tmp-"	/* atomicfile's ".NAME.tmp-XXXXXX" */

struct statedir {
	const char		*dir;		/* zotad.state_dir */
	const char		*sub;		/* the daemon's, inside it */
	const char *const	*names;		/* an earlier version's files */
	int			 root;
	struct priv_ids		 ids;		/* the daemon's user, as root */
	int			 dfd;		/* DIR */
	int			 sfd;		/* DIR/SUB */
	int			 moved;
};

/* The state dir, made if missing; as root, given to root. */
static int
statedir_open_dir(struct statedir *sd)
{
	struct stat	 st;
	int		 made;

	made = mkdir(sd->dir, STATEDIR_MODE) == 0;
	if ((!made && errno != EEXIST) || (sd->dfd = open(sd->dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(sd->dfd, &st) == -1)
		goto fail;
	if (!made && (!sd->root || st.st_uid == 0))
		return (0);
	/* Set whatever the umask: every daemon's user must pass. */
	if ((sd->root && fchown(sd->dfd, 0, 0) == -1) ||
	    fchmod(sd->dfd, STATEDIR_MODE) == -1)
		goto fail;
	if (!made)
		log_info("%s now belongs to root: each daemon keeps its state "
		    "in a directory of its own there", sd->dir);
	return (0);
 fail:
	log_warn("state dir %s", sd->dir);
	return (-1);
}

/* The daemon's own directory, for its user alone. */
static int
statedir_open_sub(struct statedir *sd)
{
	struct stat	 st;
	int		 made;

	made = mkdirat(sd->dfd, sd->sub, STATEDIR_OWN_MODE) == 0;
	if (!made && errno != EEXIST)
		goto fail;
	/* Never through a link: as root we are about to give it away. */
	if ((sd->sfd = openat(sd->dfd, sd->sub, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1 || fstat(sd->sfd, &st) == -1 ||
	    (made && fchmod(sd->sfd, STATEDIR_OWN_MODE) == -1))
		goto fail;
	if (sd->root && (st.st_uid != sd->ids.uid ||
	    st.st_gid != sd->ids.gid) &&
	    fchown(sd->sfd, sd->ids.uid, sd->ids.gid) == -1)
		goto fail;
	return (0);
 fail:
	log_warn("state dir %s/%s", sd->dir, sd->sub);
	return (-1);
}

static int
statedir_match(const struct statedir *sd, const char *name)
{
	size_t	 i;

	for (i = 0; sd->names[i] != NULL; i++)
		if (fnmatch(sd->names[i], name, FNM_PERIOD) == 0)
			return (1);
	return (0);
}

/* A temporary file of one of those names that a crash left behind. */
static int
statedir_is_tmp(const struct statedir *sd, const char *name)
{
	char		 base[NAME_MAX + 1];
	const char	*infix;
	size_t		 len;

	if (name[0] != '.' ||
	    (infix = strstr(name + 1, STATEDIR_TMP_INFIX)) == NULL)
		return (0);
	len = (size_t)(infix - (name + 1));
	if (len == 0 || len >= sizeof(base))
		return (0);
	memcpy(base, name + 1, len);
	base[len] = '\0';
	return (statedir_match(sd, base));
}

/* As root: a moved file to the daemon's user, unless it is linked. */
static int
statedir_give(const struct statedir *sd, const char *name)
{
	struct stat	 st;
	int		 fd, rv = -1;

	if ((fd = openat(sd->sfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1 || fstat(fd, &st) == -1)
		goto out;
	/* A file with another link may be someone else's. */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1) {
		log_warnx("%s/%s/%s has other links: not given to %s",
		    sd->dir, sd->sub, name, sd->ids.user);
		rv = 0;
		goto out;
	}
	rv = fchownat(fd, "", sd->ids.uid, sd->ids.gid, AT_EMPTY_PATH);
 out:
	if (rv == -1)
		log_warn("chown %s/%s/%s", sd->dir, sd->sub, name);
	if (fd != -1)
		close(fd);
	return (rv);
}

/* One file of an earlier version into the daemon's directory. */
static int
statedir_move(struct statedir *sd, const char *name)
{
	struct stat	 st;

	if (fstatat(sd->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		log_warn("%s/%s", sd->dir, name);
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("%s/%s: not a regular file, left where it is",
		    sd->dir, name);
		return (0);
	}
	if (fstatat(sd->sfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		log_warnx("%s/%s: an earlier version's file, left where it "
		    "is: %s/%s/%s is the current one", sd->dir, name, sd->dir,
		    sd->sub, name);
		return (0);
	}
	if (errno != ENOENT || renameat(sd->dfd, name, sd->sfd, name) == -1) {
		log_warn("cannot move %s/%s into %s/%s", sd->dir, name,
		    sd->dir, sd->sub);
		return (-1);
	}
	sd->moved++;
	log_debug("moved %s/%s into %s/%s", sd->dir, name, sd->dir, sd->sub);
	return (sd->root ? statedir_give(sd, name) : 0);
}

/* Everything of ours that an earlier version kept in the state dir. */
static int
statedir_migrate(struct statedir *sd)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, rv = 0;

	if ((fd = openat(sd->dfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(fd)) == NULL) {
		log_warn("state dir %s", sd->dir);
		if (fd != -1)
			close(fd);
		return (-1);
	}
	while (rv == 0 && (de = readdir(d)) != NULL) {
		if (statedir_match(sd, de->d_name))
			rv = statedir_move(sd, de->d_name);
		else if (statedir_is_tmp(sd, de->d_name) &&
		    unlinkat(sd->dfd, de->d_name, 0) == -1)
			log_warn("%s/%s", sd->dir, de->d_name);
	}
	closedir(d);
	if (sd->moved > 0)
		log_info("moved %d %s of an earlier version from %s to %s/%s",
		    sd->moved, sd->moved == 1 ? "file" : "files", sd->dir,
		    sd->dir, sd->sub);
	return (rv);
}

int
statedir_prepare(const char *state_dir, const char *sub, const char *user,
    const char *const *names, char *path, size_t size)
{
	struct statedir	 sd;
	int		 n, rv = -1;

	memset(&sd, 0, sizeof(sd));
	sd.dir = state_dir;
	sd.sub = sub;
	sd.names = names;
	sd.root = priv_is_root();
	sd.dfd = sd.sfd = -1;
	n = snprintf(path, size, "%s/%s", state_dir, sub);
	if (n < 0 || (size_t)n >= size) {
		log_warnx("state dir %s: the path is too long", state_dir);
		return (-1);
	}
	if ((sd.root && priv_lookup(&sd.ids, user, NULL, NULL) == -1) ||
	    statedir_open_dir(&sd) == -1 || statedir_open_sub(&sd) == -1 ||
	    statedir_migrate(&sd) == -1)
		goto out;
	rv = 0;
 out:
	if (sd.sfd != -1)
		close(sd.sfd);
	if (sd.dfd != -1)
		close(sd.dfd);
	return (rv);
}

int
statedir_check(const char *path)
{
	/* faccessat rather than access: the sandboxes allow only it. */
	if (faccessat(AT_FDCWD, path, R_OK | W_OK | X_OK, 0) == -1) {
		log_warn("state dir %s", path);
		return (-1);
	}
	return (0);
}
