/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_PRIV_H
#define ZOTAD_PRIV_H

#include <sys/types.h>

#include <stdint.h>

#define PRIV_MAX_GROUPS	16	/* primary group plus extra ones */
#define PRIV_NAME_MAX	64

/* The identity a daemon drops to, resolved while /etc is still visible. */
struct priv_ids {
	char	 user[PRIV_NAME_MAX];
	uid_t	 uid;
	gid_t	 gid;
	gid_t	 groups[PRIV_MAX_GROUPS];
	size_t	 ngroups;
};

/* Process credentials as the kernel reports them in /proc/PID/status. */
struct priv_status {
	uid_t	 uid[4];	/* real, effective, saved, filesystem */
	gid_t	 gid[4];
	int	 no_new_privs;	/* 0 or 1 */
	int	 seccomp;	/* 0 off, 1 strict, 2 filter */
	uint64_t cap_eff;	/* effective capability mask */
};

/*
 * Resolve USER, GROUP (NULL for the user's primary group) and the
 * NULL-terminated list EXTRA of supplementary group names (NULL for none,
 * e.g. "dialout" for the serial port) into IDS. Call it before any chroot,
 * since it reads the passwd and group databases. Refuses a user or group
 * with id 0. Returns 0, or -1 with a message logged that names the culprit.
 */
int	priv_lookup(struct priv_ids *ids, const char *user,
	    const char *group, const char *const *extra);

/*
 * Become IDS for good: setgroups, setresgid, setresuid, then check that
 * every real, effective and saved id is the target, that the group list
 * is exactly IDS's, and that setuid(0) now fails. A process that holds no
 * root id has nothing to drop and returns 0 at once. Returns 0, or -1 with
 * a message logged; the caller must then refuse to run.
 */
int	priv_drop_ids(const struct priv_ids *ids);

/*
 * priv_lookup and priv_drop_ids in one step, for a daemon that does not
 * chroot. Started as non-root it changes nothing (and does not need the
 * user to exist) and returns 0; started as root it drops or returns -1.
 */
int	priv_drop(const char *user, const char *group,
	    const char *const *extra);

/* Whether any of the real, effective or saved user ids is root. */
int	priv_is_root(void);

/*
 * Set no_new_privs, so that no later execve can gain privileges, and read
 * it back. Returns 0, or -1 with a message logged.
 */
int	priv_no_new_privs(void);

/*
 * Read the credentials of process PID (0 for this process) from
 * /proc/PID/status into ST. Returns 0, or -1 with errno set: the kernel's
 * error for open and read, EPROTO when a field is missing or malformed.
 */
int	priv_status_read(pid_t pid, struct priv_status *st);

#endif
