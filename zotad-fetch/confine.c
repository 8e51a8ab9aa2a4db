/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-fetch's sandbox, entered after privileges are dropped and
 * no_new_privs is set: Landlock limits the files it may open to its
 * cache and state dirs, the data dir (a local override index) and the
 * resolver's files; seccomp limits the system calls to what the loop,
 * libcurl, OpenSSL and glibc's resolver need. Exec is refused by both.
 */

#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <seccomp.h>

#include "fetch.h"
#include "log.h"
#include "sandbox.h"

#define CONFINE_FS_READ	(LANDLOCK_ACCESS_FS_READ_FILE | \
			 LANDLOCK_ACCESS_FS_READ_DIR)
#define CONFINE_FS_WRITE (CONFINE_FS_READ | \
			 LANDLOCK_ACCESS_FS_WRITE_FILE | \
			 LANDLOCK_ACCESS_FS_REMOVE_FILE | \
			 LANDLOCK_ACCESS_FS_MAKE_REG | \
			 LANDLOCK_ACCESS_FS_MAKE_DIR)
/* Every right of the first Landlock ABI, so each is denied by default. */
#define CONFINE_FS_ALL	((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

/* Rights of later Landlock ABIs, which this system's headers may lack. */
#define CONFINE_FS_TRUNCATE	(1ULL << 14)	/* ABI 3 */
#define CONFINE_NET_BIND_TCP	(1ULL << 0)	/* ABI 4 */
#define CONFINE_FS_IOCTL_DEV	(1ULL << 15)	/* ABI 5 */
#define CONFINE_SCOPE_ABSTRACT	(1ULL << 0)	/* ABI 6: abstract sockets */
#define CONFINE_SCOPE_SIGNAL	(1ULL << 1)	/* ABI 6 */

/* The kernel's ruleset attribute as of ABI 6; older ones read less. */
struct confine_ruleset {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;
	uint64_t	 scoped;
};

static const char *const confine_syscalls[] = {
	/* descriptors: libevent, libcurl and the IPC layer */
	"dup", "dup3", "pipe2", "eventfd2", "poll", "ppoll",
	NULL
};

static const char *const confine_net_syscalls[] = {
	/* libcurl's connections and the resolver's queries */
	"connect", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "shutdown",
	"bind",
	/* fetch.sock clients */
	"accept4",
	NULL
};

static const char *const confine_file_syscalls[] = {
	/* the resolver's files; index, image and state files (Landlock
	 * decides which) */
	"openat", "statx", "getdents64",
	/* realpath, which keeps an override's local images in the data dir */
	"readlink", "readlinkat", "faccessat", "faccessat2",
	/* atomic state files: temporary file, sync, rename, clean-up */
	"fsync", "fdatasync", "fchmod", "rename", "renameat", "renameat2",
	"unlink", "unlinkat", "mkdir", "mkdirat",
	/* the image cache: use times order eviction */
	"utimensat",
	/* the sealed images handed to zotad-radio */
	"memfd_create",
	/* the peer check and log lines */
	"getuid", "geteuid", "getgid", "getegid", "uname",
	NULL
};

static int
confine_landlock_rule(int ruleset, const char *path, uint64_t access)
{
	struct landlock_path_beneath_attr	 pb;
	int					 r, saved;

	if (path == NULL)
		return (0);
	memset(&pb, 0, sizeof(pb));
	if ((pb.parent_fd = open(path, O_PATH | O_CLOEXEC)) == -1) {
		/* A resolver file some systems lack is no reason to stop. */
		log_debug("landlock: %s: %s", path, strerror(errno));
		return (0);
	}
	pb.allowed_access = access;
	r = (int)syscall(SYS_landlock_add_rule, ruleset,
	    LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
	saved = errno;
	close(pb.parent_fd);
	if (r == -1) {
		errno = saved;
		log_warn("landlock rule for %s", path);
	}
	return (r);
}

/* Files the directories hold get file rights only, not directory ones. */
static uint64_t
confine_file_access(uint64_t access)
{
	return (access & (LANDLOCK_ACCESS_FS_READ_FILE |
	    LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_EXECUTE));
}

static int
confine_landlock_rules(int ruleset, const struct fetch_confine_paths *p,
    uint64_t extra_write)
{
	static const char *const resolver[] = {
		"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
		"/etc/host.conf", "/etc/gai.conf", "/etc/services",
		NULL
	};
	size_t	 i;

	if (confine_landlock_rule(ruleset, p->cache_dir,
	    CONFINE_FS_WRITE | extra_write) == -1 ||
	    confine_landlock_rule(ruleset, p->state_dir,
	    CONFINE_FS_WRITE | extra_write) == -1 ||
	    confine_landlock_rule(ruleset, p->data_dir, CONFINE_FS_READ) == -1)
		return (-1);
	for (i = 0; resolver[i] != NULL; i++)
		if (confine_landlock_rule(ruleset, resolver[i],
		    confine_file_access(CONFINE_FS_READ)) == -1)
			return (-1);
	return (0);
}

/*
 * Whether systemd's notification socket is an abstract one, as some
 * container managers give: the abstract scope below would then refuse
 * every sd_notify (READY=1 among them), and systemd would end the
 * start. A socket in the file system, systemd's own, is not affected.
 */
static int
confine_notify_abstract(void)
{
	const char	*e = getenv("NOTIFY_SOCKET");

	return (e != NULL && e[0] == '@');
}

/*
 * Handle every right the kernel knows, so that what is not granted is
 * denied: no binding of TCP ports, no device ioctls, no connecting to
 * abstract Unix sockets (but systemd's) or signalling processes outside
 * the sandbox.
 */
static size_t
confine_ruleset(int abi, struct confine_ruleset *attr)
{
	memset(attr, 0, sizeof(*attr));
	attr->handled_access_fs = CONFINE_FS_ALL;
	if (abi >= 2)
		attr->handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		attr->handled_access_fs |= CONFINE_FS_TRUNCATE;
	if (abi >= 5)
		attr->handled_access_fs |= CONFINE_FS_IOCTL_DEV;
	if (abi >= 4)
		attr->handled_access_net = CONFINE_NET_BIND_TCP;
	if (abi >= 6)
		attr->scoped = CONFINE_SCOPE_SIGNAL |
		    (confine_notify_abstract() ? 0 : CONFINE_SCOPE_ABSTRACT);
	if (abi >= 6)
		return (sizeof(*attr));
	if (abi >= 4)
		return (offsetof(struct confine_ruleset, scoped));
	return (offsetof(struct confine_ruleset, handled_access_net));
}

static int
confine_landlock(const struct fetch_confine_paths *p)
{
	struct confine_ruleset	 attr;
	size_t			 size;
	int			 abi, fd;

	abi = (int)syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1) {
		log_warnx("Landlock is not available: file access is limited "
		    "by the user and seccomp only");
		return (0);
	}
	size = confine_ruleset(abi, &attr);
	if ((fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size,
	    0)) == -1) {
		log_warn("landlock_create_ruleset");
		return (-1);
	}
	if (confine_landlock_rules(fd, p, abi >= 3 ? CONFINE_FS_TRUNCATE :
	    0) == -1 ||
	    syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		log_warn("landlock_restrict_self");
		close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

static int
confine_seccomp_extra(struct sandbox *sb)
{
	scmp_filter_ctx	 ctx = sandbox_ctx(sb);

	/* libcurl's resolver thread wakes the loop through a socket pair. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socketpair), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0)) < 0) {
		log_warnx("seccomp rule for socketpair");
		return (-1);
	}
	/* Non-blocking sockets, and how much a socket holds. */
	if (sandbox_allow_ioctl(sb, FIONBIO) == -1 ||
	    sandbox_allow_ioctl(sb, FIONREAD) == -1)
		return (-1);
	return (0);
}

static int
confine_seccomp(void)
{
	struct sandbox	*sb;
	int		 r = -1;

	if ((sb = sandbox_new()) == NULL)
		return (-1);
	if (sandbox_allow_base(sb) == -1 ||
	    sandbox_allow(sb, confine_syscalls) == -1)
		goto out;
	if (sandbox_allow(sb, confine_net_syscalls) == -1 ||
	    sandbox_allow(sb, confine_file_syscalls) == -1 ||
	    sandbox_allow_threads(sb) == -1 ||
	    sandbox_allow_socket(sb, AF_INET) == -1 ||
	    sandbox_allow_socket(sb, AF_INET6) == -1 ||
	    sandbox_allow_socket(sb, AF_UNIX) == -1 ||
	    sandbox_allow_socket(sb, AF_NETLINK) == -1 ||
	    confine_seccomp_extra(sb) == -1)
		goto out;
	r = sandbox_load(sb);
 out:
	sandbox_free(sb);
	return (r);
}

int
fetch_confine(const struct fetch_confine_paths *p)
{
	/* An image, an index or a memfd: none larger than its cap. */
	if ((p->max_file > 0 && sandbox_limit_fsize(p->max_file) == -1) ||
	    sandbox_limit_nofile(FETCH_MAX_FILES) == -1)
		return (-1);
	if (confine_landlock(p) == -1)
		return (-1);
	return (confine_seccomp());
}
