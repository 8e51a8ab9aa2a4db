/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <termios.h>

#include "config.h"
#include "confine.h"
#include "log.h"
#include "priv.h"
#include "sandbox.h"

#define CONFINE_MAX_FDS		512
#define CONFINE_MAX_FILE	(256 * 1024 * 1024)	/* bytes */

static const char *const confine_syscalls[] = {
	/* descriptors and polling: libevent and the IPC layer */
	"dup", "dup3", "pipe2", "eventfd2", "poll", "ppoll",
	/* radio.sock clients and the connection to fetch.sock */
	"accept4", "connect", "getsockopt", "setsockopt", "getsockname",
	"getpeername", "sendmsg", "recvmsg", "sendto", "recvfrom",
	"shutdown",
	/* reopening the serial port after it went away; libserialport
	 * reads sysfs for real ports */
	"openat", "statx", "readlink", "readlinkat", "faccessat",
	"faccessat2", "getdents64", "pread64",
	/* atomic state files: temporary file, sync, rename, clean-up */
	"fsync", "fdatasync", "fchmod", "rename", "renameat", "renameat2",
	"unlink", "unlinkat",
	/* libevent restores signal handlers when it stops */
	"rt_sigaction",
	/* the peer check and log lines */
	"getuid", "geteuid", "getgid", "getegid", "uname",
	NULL
};

/* termios and modem lines, for the serial port only. */
static const unsigned long confine_ioctls[] = {
	TCGETS, TCSETS, TCSETSW, TCSETSF, TCFLSH, TIOCMGET, TIOCMSET,
	TIOCMBIS, TIOCMBIC, TIOCEXCL, TIOCNXCL, FIONREAD, TIOCOUTQ
};

int
radio_confine_filter(void)
{
	struct sandbox	*sb;
	size_t		 i;
	int		 rv = -1;

	if ((sb = sandbox_new()) == NULL)
		return (-1);
	if (sandbox_allow_base(sb) == -1 ||
	    sandbox_allow(sb, confine_syscalls) == -1 ||
	    sandbox_allow_socket(sb, AF_UNIX) == -1)
		goto out;
	for (i = 0; i < sizeof(confine_ioctls) / sizeof(confine_ioctls[0]);
	    i++)
		if (sandbox_allow_ioctl(sb, confine_ioctls[i]) == -1)
			goto out;
	rv = sandbox_load(sb);
out:
	sandbox_free(sb);
	return (rv);
}

int
radio_confine(const struct config *conf)
{
	static const char *const extra[] = { "dialout", NULL };

	if (priv_drop(conf->zotad.user_radio, NULL, extra) == -1 ||
	    priv_no_new_privs() == -1)
		return (-1);
	if (sandbox_limit_nproc() == -1 ||
	    sandbox_limit_fsize(CONFINE_MAX_FILE) == -1 ||
	    sandbox_limit_nofile(CONFINE_MAX_FDS) == -1)
		return (-1);
	if (radio_confine_filter() == -1)
		return (-1);
	log_debug("confined: user %s, seccomp filter loaded",
	    conf->zotad.user_radio);
	return (0);
}
