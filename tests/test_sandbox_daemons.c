/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The three daemons as they really run: started as root against the
 * simulator, each must show a seccomp filter, no_new_privs, no
 * capabilities and its unprivileged user in /proc/PID/status. Then the
 * test makes each running daemon attempt what it must never do, by
 * stopping it with ptrace and having it execute one system call of the
 * test's choosing, and checks that the call fails or kills the daemon:
 * zotad-fetch opening the serial device or executing a program,
 * zotad-radio opening a TCP socket, zotad-mqtt writing a file or
 * executing a program. A harmless call made the same way succeeds and
 * leaves the daemon running, so the method itself is checked too.
 */

#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/user.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "priv.h"
#include "suite.h"

#define SBD_WAIT_MS	15000
#define SBD_NOBODY	"nobody"

/* What an injected system call came to. */
struct sbd_outcome {
	int	 killed;	/* the daemon died; SIG is the signal */
	int	 sig;
	long	 ret;		/* otherwise the call's result (-errno) */
};

/*
 * The simulator with no device and the three daemons; a broker nobody
 * runs, so that zotad-mqtt keeps trying, confined.
 */
static int
sbd_setup(void **state)
{
	(void)state;
	suite_prepare("sbd");
	suite.wait_ms = SBD_WAIT_MS;
	suite_write_text("scenario.json", "{ \"devices\": [] }\n");
	suite_start_daemons();
	return (0);
}

/*
 * System call injection (x86-64): stop the daemon where it waits in a
 * system call, point it back at that call's instruction with our
 * number and arguments, let it run to the call's end, then restore it.
 */

#if defined(__x86_64__)

#define SBD_SYSCALL_INSN	0x050f	/* "syscall", little-endian */

/* Stop PID inside a system call; its registers go to REGS. */
static void
sbd_ptrace_stop(pid_t pid, struct user_regs_struct *regs)
{
	long	 insn;
	int	 st, i;

	if (ptrace(PTRACE_SEIZE, pid, NULL, NULL) == -1) {
		/* A container without CAP_SYS_PTRACE, or Yama's setting. */
		assert_int_equal(errno, EPERM);
		print_message("# ptrace is not permitted here\n");
		skip();
	}
	for (i = 0; i < 100; i++) {
		assert_int_equal(ptrace(PTRACE_INTERRUPT, pid, NULL, NULL), 0);
		assert_int_equal(waitpid(pid, &st, __WALL), pid);
		assert_true(WIFSTOPPED(st));
		assert_int_equal(ptrace(PTRACE_GETREGS, pid, NULL, regs), 0);
		errno = 0;
		insn = ptrace(PTRACE_PEEKTEXT, pid, (void *)(regs->rip - 2),
		    NULL);
		/* Idle daemons sit in epoll_wait; rarely they are busy. */
		if ((long long)regs->orig_rax >= 0 && errno == 0 &&
		    (insn & 0xffff) == SBD_SYSCALL_INSN)
			return;
		assert_int_equal(ptrace(PTRACE_CONT, pid, NULL, NULL), 0);
		suite_nap(20);
	}
	fail_msg("%d never stopped inside a system call", (int)pid);
}

/* Copy LEN bytes to ADDR in PID (LEN rounded up to words). */
static void
sbd_poke(pid_t pid, unsigned long long addr, const void *p, size_t len)
{
	long	 word;
	size_t	 off;

	for (off = 0; off < len; off += sizeof(word)) {
		word = 0;
		memcpy(&word, (const char *)p + off, len - off < sizeof(word) ?
		    len - off : sizeof(word));
		assert_int_equal(ptrace(PTRACE_POKEDATA, pid,
		    (void *)(addr + off), (void *)word), 0);
	}
}

/* Let PID run to the next ptrace stop or its death. */
static int
sbd_step(pid_t pid, struct sbd_outcome *out)
{
	int	 st, sig = 0;

	for (;;) {
		assert_int_equal(ptrace(PTRACE_SYSCALL, pid, NULL,
		    (void *)(long)sig), 0);
		assert_int_equal(waitpid(pid, &st, __WALL), pid);
		if (WIFSIGNALED(st) || WIFEXITED(st)) {
			out->killed = 1;
			out->sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
			return (-1);
		}
		if (WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP)
			return (0);
		/* A signal on its way (SIGSYS when the filter traps). */
		sig = WIFSTOPPED(st) ? WSTOPSIG(st) : 0;
	}
}

/*
 * Make daemon PID call system call NR with ARGS; a string STR, when
 * given, is copied below its stack pointer and replaces every argument
 * equal to SBD_STR.
 */
#define SBD_STR	(~0UL)

static void
sbd_inject(pid_t pid, long nr, const unsigned long args[6], const char *str,
    struct sbd_outcome *out)
{
	struct user_regs_struct	 saved, regs;
	unsigned long long	 a[6], straddr;
	int			 i;

	memset(out, 0, sizeof(*out));
	sbd_ptrace_stop(pid, &saved);
	regs = saved;
	/* Well below the red zone of the code that made the call. */
	straddr = (saved.rsp - 4096) & ~15ULL;
	if (str != NULL)
		sbd_poke(pid, straddr, str, strlen(str) + 1);
	for (i = 0; i < 6; i++)
		a[i] = args[i] == SBD_STR ? straddr : args[i];
	regs.rdi = a[0];
	regs.rsi = a[1];
	regs.rdx = a[2];
	regs.r10 = a[3];
	regs.r8 = a[4];
	regs.r9 = a[5];
	regs.rax = (unsigned long long)nr;
	/* No restart of the interrupted call: run ours instead. */
	regs.orig_rax = ~0ULL;
	regs.rip = saved.rip - 2;
	assert_int_equal(ptrace(PTRACE_SETREGS, pid, NULL, &regs), 0);
	if (sbd_step(pid, out) == -1 || sbd_step(pid, out) == -1)
		return;
	assert_int_equal(ptrace(PTRACE_GETREGS, pid, NULL, &regs), 0);
	out->ret = (long)regs.rax;
	/* The interrupted call, if it asked for a restart, runs again. */
	if ((long long)saved.rax >= -516 && (long long)saved.rax <= -512) {
		saved.rax = saved.orig_rax;
		saved.rip -= 2;
	}
	saved.orig_rax = ~0ULL;
	assert_int_equal(ptrace(PTRACE_SETREGS, pid, NULL, &saved), 0);
	/*
	 * A filter that kills skips the call, leaves its number in rax
	 * and forces SIGSYS, delivered on the way back: before the next
	 * system call stop, which is where the daemon is let go.
	 */
	if (sbd_step(pid, out) == -1)
		return;
	assert_int_equal(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
}

#define SBD_SKIP_UNLESS_INJECTABLE()	do { } while (0)

#else

static void
sbd_inject(pid_t pid, long nr, const unsigned long args[6], const char *str,
    struct sbd_outcome *out)
{
	(void)pid;
	(void)nr;
	(void)args;
	(void)str;
	memset(out, 0, sizeof(*out));
}

#define SBD_STR	(~0UL)
#define SBD_SKIP_UNLESS_INJECTABLE()	do {				\
	print_message("# system call injection is written for x86-64\n"); \
	skip();								\
} while (0)

#endif

/* The daemon was stopped by its filter (or the call failed). */
static void
sbd_assert_refused(enum suite_daemon d, const struct sbd_outcome *o,
    const char *what)
{
	if (o->killed) {
		if (o->sig != SIGSYS)
			fail_msg("%s died of signal %d, not SIGSYS, on %s",
			    suite_names[d], o->sig, what);
		/* Reaped by the injection's wait. */
		suite.pid[d] = 0;
		return;
	}
	if (o->ret >= 0)
		fail_msg("%s managed to %s (result %ld)", suite_names[d], what,
		    o->ret);
	if (o->ret != -EACCES && o->ret != -EPERM)
		fail_msg("%s: %s failed with errno %ld, not EACCES or EPERM",
		    suite_names[d], what, -o->ret);
}

static void
t_status(void **state)
{
	struct priv_status	 st;
	struct passwd		*pw = getpwnam(SBD_NOBODY);
	int			 d, i;

	(void)state;
	assert_non_null(pw);
	for (d = 0; d < SUITE_NDAEMONS; d++) {
		assert_int_equal(priv_status_read(suite.pid[d], &st), 0);
		if (st.seccomp != 2 || st.no_new_privs != 1)
			fail_msg("%s: Seccomp %d, NoNewPrivs %d",
			    suite_names[d], st.seccomp, st.no_new_privs);
		if (getuid() != 0)
			continue;
		for (i = 0; i < 4; i++)
			if (st.uid[i] != pw->pw_uid || st.gid[i] == 0)
				fail_msg("%s: uid %d gid %d after the drop",
				    suite_names[d], (int)st.uid[i],
				    (int)st.gid[i]);
		assert_int_equal(st.cap_eff, 0);
	}
}

/* The method works: an allowed call returns, the daemon carries on. */
static void
t_harmless_call(void **state)
{
	const unsigned long	 none[6] = { 0 };
	struct sbd_outcome	 o;
	int			 d, st;

	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	for (d = 0; d < SUITE_NDAEMONS; d++) {
		sbd_inject(suite.pid[d], SYS_getpid, none, NULL, &o);
		if (o.killed)
			fail_msg("%s died of signal %d on getpid",
			    suite_names[d], o.sig);
		assert_int_equal(o.ret, suite.pid[d]);
		assert_int_equal(waitpid(suite.pid[d], &st, WNOHANG), 0);
	}
	/* zotad-radio, poked, still serves radio.sock. */
	suite_stop(&suite.pid[SUITE_MQTT], SIGTERM);
	suite_start_daemon(SUITE_MQTT);
}

static void
t_fetch_no_serial(void **state)
{
	char			 dev[PATH_MAX];
	unsigned long		 args[6] = { (unsigned long)AT_FDCWD, SBD_STR,
	    O_RDWR | O_NOCTTY, 0, 0, 0 };
	struct sbd_outcome	 o;
	pid_t			 pid;
	int			 st;

	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	assert_non_null(realpath(suite.tty, dev));
	/* Any user may open it: only the sandbox can stand in the way. */
	assert_int_equal(chmod(dev, 0666), 0);
	if ((pid = fork()) == 0) {
		struct passwd	*pw = getpwnam(SBD_NOBODY);

		if (pw == NULL || (getuid() == 0 && setuid(pw->pw_uid) == -1))
			_exit(2);
		_exit(open(dev, O_RDWR | O_NOCTTY) == -1);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	sbd_inject(suite.pid[SUITE_FETCH], SYS_openat, args, dev, &o);
	sbd_assert_refused(SUITE_FETCH, &o, "open the serial device");
}

static void
sbd_no_exec(enum suite_daemon d)
{
	unsigned long		 args[6] = { SBD_STR, 0, 0, 0, 0, 0 };
	struct sbd_outcome	 o;

	sbd_inject(suite.pid[d], SYS_execve, args, "/bin/true", &o);
	/* execve only returns when it failed; /bin/true would exit 0. */
	if (o.killed && o.sig == 0)
		fail_msg("%s executed /bin/true", suite_names[d]);
	sbd_assert_refused(d, &o, "execute /bin/true");
}

static void
t_fetch_no_exec(void **state)
{
	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	sbd_no_exec(SUITE_FETCH);
}

static void
t_radio_no_tcp(void **state)
{
	const unsigned long	 tcp[6] = { 2 /* AF_INET */,
	    1 /* SOCK_STREAM */, 0, 0, 0, 0 };
	const unsigned long	 tcp6[6] = { 10 /* AF_INET6 */,
	    1 /* SOCK_STREAM */, 0, 0, 0, 0 };
	struct sbd_outcome	 o;

	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	sbd_inject(suite.pid[SUITE_RADIO], SYS_socket, tcp, NULL, &o);
	sbd_assert_refused(SUITE_RADIO, &o, "open a TCP socket");
	if (suite.pid[SUITE_RADIO] == 0)
		suite_start_daemon(SUITE_RADIO);
	sbd_inject(suite.pid[SUITE_RADIO], SYS_socket, tcp6, NULL, &o);
	sbd_assert_refused(SUITE_RADIO, &o, "open a TCP/IPv6 socket");
}

static void
t_mqtt_no_write(void **state)
{
	char			 path[PATH_MAX];
	unsigned long		 args[6] = { (unsigned long)AT_FDCWD, SBD_STR,
	    O_WRONLY | O_CREAT | O_TRUNC, 0666, 0, 0 };
	struct sbd_outcome	 o;

	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	/* The directory is open to everyone: only the sandbox refuses. */
	suite_path(path, sizeof(path), "written-by-mqtt");
	sbd_inject(suite.pid[SUITE_MQTT], SYS_openat, args, path, &o);
	sbd_assert_refused(SUITE_MQTT, &o, "create a file");
	assert_int_equal(access(path, F_OK), -1);
}

static void
t_mqtt_no_exec(void **state)
{
	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	sbd_no_exec(SUITE_MQTT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_status, sbd_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_harmless_call, sbd_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_fetch_no_serial, sbd_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_fetch_no_exec, sbd_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_radio_no_tcp, sbd_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_mqtt_no_write, sbd_setup,
		    suite_teardown),
		cmocka_unit_test_setup_teardown(t_mqtt_no_exec, sbd_setup,
		    suite_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
