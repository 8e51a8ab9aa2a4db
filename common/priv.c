/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"

/* Bits for the /proc/PID/status fields priv_status_read needs. */
#define PRIV_F_UID	0x01
#define PRIV_F_GID	0x02
#define PRIV_F_NNP	0x04
#define PRIV_F_SECCOMP	0x08
#define PRIV_F_CAPEFF	0x10
#define PRIV_F_ALL	0x1f

/* getpwnam and getgrnam report "no such entry" with any of these. */
static int
priv_not_found(int err)
{
	return (err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	    err == EPERM);
}

static int
priv_group_id(const char *name, gid_t *gid)
{
	struct group	*gr;

	errno = 0;
	if ((gr = getgrnam(name)) == NULL) {
		if (priv_not_found(errno))
			log_warnx("group \"%s\" does not exist", name);
		else
			log_warn("cannot look up group \"%s\"", name);
		return (-1);
	}
	if (gr->gr_gid == 0) {
		log_warnx("refusing group \"%s\": it has gid 0", name);
		return (-1);
	}
	*gid = gr->gr_gid;
	return (0);
}

static int
priv_add_group(struct priv_ids *ids, gid_t gid)
{
	size_t	 i;

	for (i = 0; i < ids->ngroups; i++)
		if (ids->groups[i] == gid)
			return (0);
	if (ids->ngroups == PRIV_MAX_GROUPS) {
		log_warnx("more than %d groups for user \"%s\"",
		    PRIV_MAX_GROUPS, ids->user);
		return (-1);
	}
	ids->groups[ids->ngroups++] = gid;
	return (0);
}

static int
priv_lookup_user(struct priv_ids *ids, const char *user)
{
	struct passwd	*pw;

	if (user == NULL || *user == '\0') {
		log_warnx("no user given to drop privileges to");
		return (-1);
	}
	if (strlen(user) >= sizeof(ids->user)) {
		log_warnx("user name \"%.16s...\" is too long", user);
		return (-1);
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		if (priv_not_found(errno))
			log_warnx("user \"%s\" does not exist", user);
		else
			log_warn("cannot look up user \"%s\"", user);
		return (-1);
	}
	if (pw->pw_uid == 0) {
		log_warnx("refusing to run as user \"%s\": it has uid 0", user);
		return (-1);
	}
	snprintf(ids->user, sizeof(ids->user), "%s", user);
	ids->uid = pw->pw_uid;
	ids->gid = pw->pw_gid;
	return (0);
}

int
priv_lookup(struct priv_ids *ids, const char *user, const char *group,
    const char *const *extra)
{
	gid_t	 gid;

	memset(ids, 0, sizeof(*ids));
	if (priv_lookup_user(ids, user) == -1)
		return (-1);
	if (group != NULL && priv_group_id(group, &ids->gid) == -1)
		return (-1);
	if (ids->gid == 0) {
		log_warnx("refusing primary group 0 for user \"%s\"", user);
		return (-1);
	}
	ids->groups[ids->ngroups++] = ids->gid;

	for (; extra != NULL && *extra != NULL; extra++) {
		if (priv_group_id(*extra, &gid) == -1 ||
		    priv_add_group(ids, gid) == -1)
			return (-1);
	}
	return (0);
}

int
priv_is_root(void)
{
	uid_t	 r, e, s;

	if (getresuid(&r, &e, &s) == -1)
		fatal("getresuid");
	return (r == 0 || e == 0 || s == 0);
}

static int
priv_has_group(const struct priv_ids *ids, gid_t gid)
{
	size_t	 i;

	for (i = 0; i < ids->ngroups; i++)
		if (ids->groups[i] == gid)
			return (1);
	return (0);
}

/* The kernel may reorder the list; it must hold the same set, no more. */
static int
priv_verify_groups(const struct priv_ids *ids)
{
	gid_t	 list[PRIV_MAX_GROUPS];
	int	 n, i;

	if ((n = getgroups(PRIV_MAX_GROUPS, list)) == -1) {
		log_warn("getgroups after dropping to \"%s\"", ids->user);
		return (-1);
	}
	for (i = 0; i < n; i++)
		if (!priv_has_group(ids, list[i]))
			break;
	if (i < n || (size_t)n != ids->ngroups) {
		log_warnx("group list is not what was set for \"%s\"",
		    ids->user);
		return (-1);
	}
	return (0);
}

static int
priv_verify(const struct priv_ids *ids)
{
	uid_t	 ru, eu, su;
	gid_t	 rg, eg, sg;

	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1) {
		log_warn("reading back ids of \"%s\"", ids->user);
		return (-1);
	}
	if (ru != ids->uid || eu != ids->uid || su != ids->uid ||
	    rg != ids->gid || eg != ids->gid || sg != ids->gid) {
		log_warnx("ids are not those of \"%s\" after the drop",
		    ids->user);
		return (-1);
	}
	if (priv_verify_groups(ids) == -1)
		return (-1);

	/* The point of it all: there must be no way back. */
	if (setuid(0) != -1 || setgid(0) != -1) {
		log_warnx("could regain root after dropping to \"%s\"",
		    ids->user);
		return (-1);
	}
	return (0);
}

int
priv_drop_ids(const struct priv_ids *ids)
{
	if (!priv_is_root()) {
		log_debug("not started as root, no privileges to drop");
		return (0);
	}

	if (setgroups(ids->ngroups, ids->groups) == -1) {
		log_warn("setgroups for \"%s\"", ids->user);
		return (-1);
	}
	if (setresgid(ids->gid, ids->gid, ids->gid) == -1) {
		log_warn("setresgid %u", (unsigned int)ids->gid);
		return (-1);
	}
	if (setresuid(ids->uid, ids->uid, ids->uid) == -1) {
		log_warn("setresuid %u", (unsigned int)ids->uid);
		return (-1);
	}

	if (priv_verify(ids) == -1)
		return (-1);
	log_debug("dropped privileges to %s (uid %u, gid %u)", ids->user,
	    (unsigned int)ids->uid, (unsigned int)ids->gid);
	return (0);
}

int
priv_drop(const char *user, const char *group, const char *const *extra)
{
	struct priv_ids	 ids;

	if (!priv_is_root()) {
		log_debug("not started as root, keeping uid %u",
		    (unsigned int)getuid());
		return (0);
	}
	if (priv_lookup(&ids, user, group, extra) == -1)
		return (-1);
	return (priv_drop_ids(&ids));
}

int
priv_no_new_privs(void)
{
	int	 r;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1) {
		log_warn("prctl PR_SET_NO_NEW_PRIVS");
		return (-1);
	}
	if ((r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)) != 1) {
		if (r == -1)
			log_warn("prctl PR_GET_NO_NEW_PRIVS");
		else
			log_warnx("no_new_privs is not set after setting it");
		return (-1);
	}
	return (0);
}

/* Parse N unsigned decimal numbers separated by blanks, nothing else. */
static int
priv_parse_ids(const char *s, unsigned int *out, int n)
{
	unsigned long long	 v;
	char			*end;
	int			 i;

	for (i = 0; i < n; i++) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s < '0' || *s > '9')
			return (-1);
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || v > UINT_MAX)
			return (-1);
		out[i] = (unsigned int)v;
		s = end;
	}
	while (*s == ' ' || *s == '\t')
		s++;
	return (*s == '\n' || *s == '\0' ? 0 : -1);
}

static int
priv_parse_hex(const char *s, uint64_t *out)
{
	unsigned long long	 v;
	char			*end;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
		return (-1);
	errno = 0;
	v = strtoull(s, &end, 16);
	if (errno != 0 || (*end != '\n' && *end != '\0'))
		return (-1);
	*out = v;
	return (0);
}

/* One line of /proc/PID/status; returns the PRIV_F_ bit it filled. */
static int
priv_status_line(const char *line, struct priv_status *st)
{
	unsigned int	 v[4];
	int		 i;

	if (strncmp(line, "Uid:", 4) == 0) {
		if (priv_parse_ids(line + 4, v, 4) == -1)
			return (-1);
		for (i = 0; i < 4; i++)
			st->uid[i] = v[i];
		return (PRIV_F_UID);
	}
	if (strncmp(line, "Gid:", 4) == 0) {
		if (priv_parse_ids(line + 4, v, 4) == -1)
			return (-1);
		for (i = 0; i < 4; i++)
			st->gid[i] = v[i];
		return (PRIV_F_GID);
	}
	if (strncmp(line, "NoNewPrivs:", 11) == 0) {
		if (priv_parse_ids(line + 11, v, 1) == -1 || v[0] > 1)
			return (-1);
		st->no_new_privs = (int)v[0];
		return (PRIV_F_NNP);
	}
	if (strncmp(line, "Seccomp:", 8) == 0) {
		if (priv_parse_ids(line + 8, v, 1) == -1 || v[0] > 2)
			return (-1);
		st->seccomp = (int)v[0];
		return (PRIV_F_SECCOMP);
	}
	if (strncmp(line, "CapEff:", 7) == 0)
		return (priv_parse_hex(line + 7, &st->cap_eff) == -1 ?
		    -1 : PRIV_F_CAPEFF);
	return (0);
}

/* Lines too long for LINE (a long Groups: list) are skipped whole. */
static int
priv_status_parse(FILE *fp, struct priv_status *st)
{
	char	 line[256];
	int	 found = 0, bit, skipping = 0;
	size_t	 len;

	while (fgets(line, sizeof(line), fp) != NULL) {
		len = strlen(line);
		if (skipping || len == 0 || line[len - 1] != '\n') {
			skipping = (len == 0 || line[len - 1] != '\n');
			continue;
		}
		if ((bit = priv_status_line(line, st)) == -1)
			return (-1);
		found |= bit;
	}
	return (found == PRIV_F_ALL ? 0 : -1);
}

int
priv_status_read(pid_t pid, struct priv_status *st)
{
	char	 path[64];
	FILE	*fp;
	int	 r, saved;

	memset(st, 0, sizeof(*st));
	if (pid == 0)
		snprintf(path, sizeof(path), "/proc/self/status");
	else
		snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);

	if ((fp = fopen(path, "re")) == NULL)
		return (-1);
	r = priv_status_parse(fp, st);
	saved = ferror(fp) ? EIO : EPROTO;
	fclose(fp);
	if (r == -1)
		errno = saved;
	return (r);
}
