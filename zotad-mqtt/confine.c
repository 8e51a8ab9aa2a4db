/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-mqtt's seccomp filter, loaded once the TLS context is built,
 * the log is open and privileges are dropped. What is left to do is
 * talk to the broker (and resolve its name) and to radio.sock: files
 * may be opened for reading only (the resolver's), never written or
 * created, and no program may be run.
 */

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>

#include <seccomp.h>

#include "log.h"
#include "mqttd.h"
#include "sandbox.h"

static const char *const mqconfine_syscalls[] = {
	/* the broker connection, radio.sock and the resolver's queries */
	"connect", "getsockopt", "setsockopt", "getsockname", "getpeername",
	"sendto", "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "shutdown",
	"bind",
	/* libmosquitto's one-pass loop while a connect completes; the
	 * resolver's waits */
	"pselect6", "select", "poll", "ppoll",
	/* an uploaded image handed to zotad-radio as a sealed memfd; the
	 * IPC layer keeps its own copies of descriptors it sends */
	"memfd_create", "dup", "dup3",
	/* the resolver's files, opened read-only (see the openat rule) */
	"statx", "faccessat", "faccessat2", "uname",
	/* libevent re-arms its signal handlers */
	"rt_sigaction",
	/* log lines and peer checks */
	"getuid", "geteuid", "getgid", "getegid",
	NULL
};

/* openat only without write access, creation or truncation. */
static int
mqconfine_openat(struct sandbox *sb)
{
	const scmp_datum_t	 writing = O_ACCMODE | O_CREAT | O_TRUNC |
	    O_APPEND | __O_TMPFILE;
	int			 rc;

	rc = seccomp_rule_add(sandbox_ctx(sb), SCMP_ACT_ALLOW,
	    SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ, writing,
	    O_RDONLY));
	if (rc < 0) {
		log_warnx("seccomp rule for openat: %d", rc);
		return (-1);
	}
	return (0);
}

int
mqconfine_enter(void)
{
	struct sandbox	*sb;
	int		 r = -1;

	if (sandbox_limit_nproc() == -1)
		return (-1);
	if ((sb = sandbox_new()) == NULL)
		return (-1);
	if (sandbox_allow_base(sb) == -1 ||
	    sandbox_allow(sb, mqconfine_syscalls) == -1 ||
	    sandbox_allow_socket(sb, AF_INET) == -1 ||
	    sandbox_allow_socket(sb, AF_INET6) == -1 ||
	    sandbox_allow_socket(sb, AF_UNIX) == -1 ||
	    sandbox_allow_socket(sb, AF_NETLINK) == -1 ||
	    mqconfine_openat(sb) == -1)
		goto out;
	r = sandbox_load(sb);
 out:
	sandbox_free(sb);
	return (r);
}
