/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/mman.h>
#include <sys/resource.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <ucontext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

/* gcc and clang announce AddressSanitizer differently. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN	1
#endif
#endif

struct sandbox {
	scmp_filter_ctx		 ctx;
	enum sandbox_mode	 mode;
};

/* Names for the SIGSYS handler, resolved before it can ever run. */
#define SANDBOX_NAMES	512
static char	*sandbox_names[SANDBOX_NAMES];

/* Every daemon, after start-up; mmap and mprotect are added apart. */
static const char *const sandbox_base_syscalls[] = {
	/* leaving: exit ends a thread, exit_group the process */
	"exit", "exit_group",
	/* returning from signal handlers; masks around critical code */
	"rt_sigreturn", "rt_sigprocmask",
	/* malloc and free */
	"brk", "munmap", "mremap", "madvise",
	/* locks, in libc and between threads */
	"futex",
	/* time, where the vDSO does not answer; log time stamps */
	"clock_gettime", "gettimeofday", "clock_nanosleep", "nanosleep",
	/* plain descriptor I/O, including logging to stderr */
	"read", "write", "readv", "writev", "close", "fcntl", "lseek",
	"fstat", "newfstatat",
	/* the libevent loop */
	"epoll_wait", "epoll_pwait", "epoll_ctl",
	/* ids in log lines */
	"getpid", "gettid",
	/* OpenSSL and libevent's random numbers */
	"getrandom",
	/* a sleep interrupted by a signal resumes through this */
	"restart_syscall",
#ifdef SANDBOX_ASAN
	/* AddressSanitizer: its signal stack at exit, CPU set per thread */
	"sigaltstack", "sched_getaffinity",
#endif
	NULL
};

/* Calls the SIGSYS handler itself needs to report and return. */
static const char *const sandbox_trap_syscalls[] = {
	"write", "rt_sigreturn",
	NULL
};

/* What glibc's pthread_create and a thread's exit need besides clone. */
static const char *const sandbox_thread_syscalls[] = {
	/* a new thread registers itself with the kernel */
	"set_robust_list", "rseq",
	/* the first pthread_create installs glibc's internal handlers */
	"rt_sigaction", "rt_sigprocmask",
	/* a thread's stack is freed and the thread leaves */
	"madvise", "munmap", "futex", "exit",
	NULL
};

/* Async-signal-safe: format N in decimal into BUF, return its length. */
static size_t
sandbox_utoa(unsigned long n, char *buf, size_t size)
{
	char	 tmp[24];
	size_t	 len = 0, i;

	do {
		tmp[len++] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0 && len < sizeof(tmp));
	if (len > size)
		len = size;
	for (i = 0; i < len; i++)
		buf[i] = tmp[len - 1 - i];
	return (len);
}

static size_t
sandbox_append(char *buf, size_t len, size_t size, const char *s)
{
	while (*s != '\0' && len < size)
		buf[len++] = *s++;
	return (len);
}

/*
 * The kernel rolls the registers back to the call before it sends
 * SIGSYS, so the call's result is whatever the handler leaves there.
 */
static void
sandbox_set_enosys(void *uctx)
{
	ucontext_t	*uc = uctx;

#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -ENOSYS;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (unsigned long)-ENOSYS;
#else
	(void)uc;
#endif
}

/* Trap mode: name the forbidden call and make it fail with ENOSYS. */
static void
sandbox_sigsys(int sig, siginfo_t *info, void *uctx)
{
	char		 line[160];
	size_t		 len = 0;
	int		 nr = info->si_syscall, saved = errno;
	const char	*name;

	(void)sig;
	name = nr >= 0 && nr < SANDBOX_NAMES && sandbox_names[nr] != NULL ?
	    sandbox_names[nr] : "unknown";
	len = sandbox_append(line, len, sizeof(line), log_procname());
	len = sandbox_append(line, len, sizeof(line),
	    ": sandbox: forbidden system call ");
	len = sandbox_append(line, len, sizeof(line), name);
	len = sandbox_append(line, len, sizeof(line), " (");
	len += sandbox_utoa((unsigned long)nr, line + len,
	    sizeof(line) - len);
	len = sandbox_append(line, len, sizeof(line), ")\n");
	(void)!write(STDERR_FILENO, line, len);
	sandbox_set_enosys(uctx);
	errno = saved;
}

static void
sandbox_resolve_names(void)
{
	int	 nr;

	for (nr = 0; nr < SANDBOX_NAMES; nr++)
		if (sandbox_names[nr] == NULL)
			sandbox_names[nr] = seccomp_syscall_resolve_num_arch(
			    SCMP_ARCH_NATIVE, nr);
}

static enum sandbox_mode
sandbox_debug_mode(void)
{
	const char		*env = getenv(SANDBOX_DEBUG_ENV);
	enum sandbox_mode	 mode = SANDBOX_KILL;

#ifdef ZOTAD_SANDBOX_DEBUG
	mode = SANDBOX_TRAP;
#endif
	if (env == NULL || *env == '\0')
		return (mode);
	if (strcmp(env, "trap") == 0)
		return (SANDBOX_TRAP);
#ifdef ZOTAD_SANDBOX_DEBUG
	/* Log mode lets everything through: only in a debug build. */
	if (strcmp(env, "log") == 0)
		return (SANDBOX_LOG);
#endif
	log_warnx("%s=%s is not understood, forbidden calls will kill",
	    SANDBOX_DEBUG_ENV, env);
	return (mode);
}

struct sandbox *
sandbox_new(void)
{
	struct sandbox	*sb;
	uint32_t	 action = SCMP_ACT_KILL_PROCESS;

	if ((sb = calloc(1, sizeof(*sb))) == NULL) {
		log_warn("%s", __func__);
		return (NULL);
	}
	sb->mode = sandbox_debug_mode();
	if (sb->mode == SANDBOX_TRAP)
		action = SCMP_ACT_TRAP;
	else if (sb->mode == SANDBOX_LOG)
		action = SCMP_ACT_LOG;

	if ((sb->ctx = seccomp_init(action)) == NULL) {
		log_warnx("cannot create a seccomp filter");
		free(sb);
		return (NULL);
	}
	if (sb->mode == SANDBOX_TRAP) {
		log_warnx("sandbox in trap mode: forbidden calls are reported"
		    " on stderr and fail with ENOSYS");
		sandbox_resolve_names();
		if (sandbox_allow(sb, sandbox_trap_syscalls) == -1) {
			sandbox_free(sb);
			return (NULL);
		}
	} else if (sb->mode == SANDBOX_LOG)
		log_warnx("sandbox in log mode: forbidden calls are allowed"
		    " and only logged by the kernel");
	return (sb);
}

enum sandbox_mode
sandbox_mode(const struct sandbox *sb)
{
	return (sb->mode);
}

scmp_filter_ctx
sandbox_ctx(struct sandbox *sb)
{
	return (sb->ctx);
}

void
sandbox_free(struct sandbox *sb)
{
	if (sb == NULL)
		return;
	seccomp_release(sb->ctx);
	free(sb);
}

static int
sandbox_syscall(const char *name)
{
	int	 nr;

	if ((nr = seccomp_syscall_resolve_name(name)) == __NR_SCMP_ERROR)
		log_warnx("sandbox: unknown system call \"%s\"", name);
	return (nr);
}

/* Add ACTION for each name in NAMES, with no argument conditions. */
static int
sandbox_add(struct sandbox *sb, const char *const *names, uint32_t action)
{
	int	 nr, rc;

	for (; *names != NULL; names++) {
		if ((nr = sandbox_syscall(*names)) == __NR_SCMP_ERROR)
			return (-1);
		if ((rc = seccomp_rule_add(sb->ctx, action, nr, 0)) < 0) {
			log_warnx("sandbox: rule for %s: %s", *names,
			    strerror(-rc));
			return (-1);
		}
	}
	return (0);
}

int
sandbox_allow(struct sandbox *sb, const char *const *names)
{
	return (sandbox_add(sb, names, SCMP_ACT_ALLOW));
}

int
sandbox_errno(struct sandbox *sb, const char *const *names, int err)
{
	return (sandbox_add(sb, names, SCMP_ACT_ERRNO((uint32_t)err)));
}

static int
sandbox_rule_failed(const char *what, int rc)
{
	log_warnx("sandbox: rule for %s: %s", what, strerror(-rc));
	return (-1);
}

/* mmap and mprotect, but never to make memory executable. */
static int
sandbox_allow_noexec(struct sandbox *sb)
{
	int	 rc;

	rc = seccomp_rule_add(sb->ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc < 0)
		return (sandbox_rule_failed("mmap", rc));
	rc = seccomp_rule_add(sb->ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	if (rc < 0)
		return (sandbox_rule_failed("mprotect", rc));
	return (0);
}

int
sandbox_allow_base(struct sandbox *sb)
{
	if (sandbox_allow(sb, sandbox_base_syscalls) == -1)
		return (-1);
	return (sandbox_allow_noexec(sb));
}

int
sandbox_allow_threads(struct sandbox *sb)
{
	const scmp_datum_t	 thread = CLONE_VM | CLONE_FS | CLONE_FILES |
	    CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
	int			 rc;

	/* glibc 2.36 tries clone3 first and falls back only on ENOSYS. */
	rc = seccomp_rule_add(sb->ctx, SCMP_ACT_ERRNO(ENOSYS),
	    SCMP_SYS(clone3), 0);
	if (rc < 0)
		return (sandbox_rule_failed("clone3", rc));
	rc = seccomp_rule_add(sb->ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, thread, thread));
	if (rc < 0)
		return (sandbox_rule_failed("clone", rc));
	return (sandbox_allow(sb, sandbox_thread_syscalls));
}

int
sandbox_allow_socket(struct sandbox *sb, int family)
{
	int	 rc;

	/* The unused second datum is spelt out for -Wextra under clang. */
	rc = seccomp_rule_add(sb->ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)family, 0));
	if (rc < 0)
		return (sandbox_rule_failed("socket", rc));
	return (0);
}

int
sandbox_allow_ioctl(struct sandbox *sb, unsigned long request)
{
	int	 rc;

	/* The kernel reads the request as 32 bits; so does the rule. */
	rc = seccomp_rule_add(sb->ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, request & 0xffffffffUL));
	if (rc < 0)
		return (sandbox_rule_failed("ioctl", rc));
	return (0);
}

static int
sandbox_trap_handler(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1) {
		log_warn("sigaction SIGSYS");
		return (-1);
	}
	return (0);
}

int
sandbox_load(struct sandbox *sb)
{
	int	 rc;

	if (sb->mode == SANDBOX_TRAP && sandbox_trap_handler() == -1)
		return (-1);
	if ((rc = seccomp_load(sb->ctx)) < 0) {
		log_warnx("sandbox: loading the seccomp filter: %s",
		    strerror(-rc));
		return (-1);
	}
	return (0);
}

static int
sandbox_setrlimit(int resource, const char *name, rlim_t max)
{
	struct rlimit	 rl;

	if (getrlimit(resource, &rl) == -1) {
		log_warn("getrlimit %s", name);
		return (-1);
	}
	/* Only ever lower: an unprivileged process cannot raise anyway. */
	if (rl.rlim_max != RLIM_INFINITY && max > rl.rlim_max)
		max = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = max;
	if (setrlimit(resource, &rl) == -1) {
		log_warn("setrlimit %s", name);
		return (-1);
	}
	return (0);
}

int
sandbox_limit_nproc(void)
{
	return (sandbox_setrlimit(RLIMIT_NPROC, "RLIMIT_NPROC", 0));
}

int
sandbox_limit_fsize(rlim_t max_bytes)
{
	return (sandbox_setrlimit(RLIMIT_FSIZE, "RLIMIT_FSIZE", max_bytes));
}

int
sandbox_limit_nofile(rlim_t max_fds)
{
	return (sandbox_setrlimit(RLIMIT_NOFILE, "RLIMIT_NOFILE", max_fds));
}
