/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_SANDBOX_H
#define ZOTAD_SANDBOX_H

#include <sys/resource.h>

#include <seccomp.h>

/*
 * A seccomp filter under construction. Each daemon builds one after it
 * has dropped privileges: sandbox_new, then its allowlist tables and
 * argument rules, then sandbox_load, then sandbox_free. Filters stack and
 * only ever narrow, so a second, tighter one may follow after set-up.
 *
 * Allowlists are NULL-terminated tables of system call names, one line
 * per group of calls with a comment above it saying which code needs
 * them and why, for example
 *
 *	static const char *const radio_syscalls[] = {
 *		"read", "write", "ioctl",	(the serial port)
 *		"accept4", "sendmsg", "recvmsg",	(radio.sock clients)
 *		NULL
 *	};
 *
 * What is not allowed kills the whole process (SCMP_ACT_KILL_PROCESS).
 * For debugging, the environment variable ZOTAD_SANDBOX_DEBUG=trap makes
 * a forbidden call fail with ENOSYS instead and prints its name on
 * stderr, so one run shows every missing call. Building with
 * -DZOTAD_SANDBOX_DEBUG makes trap the default and also accepts
 * ZOTAD_SANDBOX_DEBUG=log, which lets every call through and leaves the
 * forbidden ones in the kernel's audit log.
 */
struct sandbox;

enum sandbox_mode {
	SANDBOX_KILL,		/* production: kill the process */
	SANDBOX_TRAP,		/* report on stderr, fail with ENOSYS */
	SANDBOX_LOG		/* let it through, the kernel logs it */
};

#define SANDBOX_DEBUG_ENV	"ZOTAD_SANDBOX_DEBUG"

/*
 * Calls every daemon of ours makes after start-up: exit, signal return,
 * malloc, futexes, time, plain descriptor I/O, the epoll loop, getrandom.
 * Memory may be mapped or protected only without PROT_EXEC.
 */
int	sandbox_allow_base(struct sandbox *sb);

/* A new filter with the mode chosen as above; NULL with a message. */
struct sandbox *sandbox_new(void);

/* The mode the filter was built in. */
enum sandbox_mode sandbox_mode(const struct sandbox *sb);

/*
 * Allow every call named in the NULL-terminated table NAMES. An unknown
 * name is an error that names it. Returns 0, or -1 with a message logged.
 */
int	sandbox_allow(struct sandbox *sb, const char *const *names);

/*
 * Answer the calls in NAMES with -1 and errno ERR instead of killing:
 * for harmless probes a library makes (EACCES for a file it looks for).
 */
int	sandbox_errno(struct sandbox *sb, const char *const *names, int err);

/*
 * Let the process create threads, as libcurl's threaded resolver does:
 * clone3 fails with ENOSYS so that glibc falls back to clone, and clone
 * is allowed only with the flags of a thread (shared memory, files,
 * signal handlers, thread group), so fork and vfork stay forbidden.
 */
int	sandbox_allow_threads(struct sandbox *sb);

/* Allow socket(2) for address family FAMILY (AF_UNIX, AF_INET, ...). */
int	sandbox_allow_socket(struct sandbox *sb, int family);

/* Allow ioctl(2) with request REQUEST on any descriptor. */
int	sandbox_allow_ioctl(struct sandbox *sb, unsigned long request);

/* For rules the helpers above do not cover. */
scmp_filter_ctx sandbox_ctx(struct sandbox *sb);

/*
 * Load the filter into this process (and the threads it creates from now
 * on). In trap mode this first installs the SIGSYS handler. Returns 0,
 * or -1 with a message logged; the caller must then refuse to run.
 */
int	sandbox_load(struct sandbox *sb);

void	sandbox_free(struct sandbox *sb);

/*
 * Resource limits set before the filter, soft and hard, never raised.
 * sandbox_limit_nproc forbids new processes; for a process that is not
 * root it forbids new threads as well, so a daemon that needs threads
 * must not call it. Each returns 0, or -1 with a message logged.
 */
int	sandbox_limit_nproc(void);
int	sandbox_limit_fsize(rlim_t max_bytes);
int	sandbox_limit_nofile(rlim_t max_fds);

#endif
