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
#include <grp.h>
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "priv.h"

#define SBD_WAIT_MS	15000
#define SBD_NOBODY	"nobody"

enum sbd_daemon { SBD_FETCH, SBD_RADIO, SBD_MQTT, SBD_NDAEMONS };

static const char *const sbd_names[SBD_NDAEMONS] = {
	"zotad-fetch", "zotad-radio", "zotad-mqtt"
};

/* What each daemon logs once it runs confined. */
static const char *const sbd_ready[SBD_NDAEMONS] = {
	"zotad-fetch: ready", "adapter up", "connected to zotad-radio"
};

struct sbd {
	char	 dir[64];
	char	 conf[PATH_MAX];
	char	 tty[PATH_MAX];
	char	 log[SBD_NDAEMONS][PATH_MAX];
	pid_t	 sim;
	pid_t	 pid[SBD_NDAEMONS];
};

/* What an injected system call came to. */
struct sbd_outcome {
	int	 killed;	/* the daemon died; SIG is the signal */
	int	 sig;
	long	 ret;		/* otherwise the call's result (-errno) */
};

static struct sbd	 sbd;

static int	sbd_teardown(void **);

/* Setup failed: show the daemon's log, stop what runs, say why. */
static void
sbd_abandon(const char *who)
{
	char	 line[1024];
	FILE	*f;
	int	 d;

	for (d = 0; d < SBD_NDAEMONS; d++) {
		if (strcmp(who, sbd_names[d]) != 0 ||
		    (f = fopen(sbd.log[d], "r")) == NULL)
			continue;
		while (fgets(line, sizeof(line), f) != NULL)
			print_message("# %s", line);
		fclose(f);
	}
	/* cmocka runs no teardown after a failed setup. */
	sbd_teardown(NULL);
	fail_msg("%s did not start", who);
}

static void
sbd_path(char *out, size_t len, const char *name)
{
	if ((size_t)snprintf(out, len, "%s/%s", sbd.dir, name) >= len)
		fail_msg("path too long: %s/%s", sbd.dir, name);
}

static void
sbd_bin(char *out, size_t len, const char *name)
{
	const char	*b = getenv("BUILD");

	snprintf(out, len, "%s/bin/%s", b != NULL ? b : "build", name);
}

static void
sbd_write(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
sbd_file_has(const char *path, const char *needle)
{
	char	 line[4096];
	FILE	*f;
	int	 found = 0;

	if ((f = fopen(path, "r")) == NULL)
		return (0);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return (found);
}

static void
sbd_nap(void)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Wait until PATH names NEEDLE (or exists, for NULL) while PID lives. */
static int
sbd_wait_for(const char *path, const char *needle, pid_t pid)
{
	int	 i, st;

	for (i = 0; i < SBD_WAIT_MS / 20; i++) {
		if (needle == NULL ? access(path, F_OK) == 0 :
		    sbd_file_has(path, needle))
			return (1);
		if (waitpid(pid, &st, WNOHANG) == pid)
			return (0);
		sbd_nap();
	}
	return (0);
}

static pid_t
sbd_spawn(char *const argv[], const char *errfile, int as_nobody)
{
	struct passwd	*pw = getpwnam(SBD_NOBODY);
	pid_t		 pid;
	int		 fd;

	assert_non_null(pw);
	pid = fork();
	assert_true(pid >= 0);
	if (pid != 0)
		return (pid);
	if ((fd = open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0644)) != -1) {
		dup2(fd, 2);
		close(fd);
	}
	if (as_nobody && getuid() == 0 && (setgroups(0, NULL) == -1 ||
	    setgid(pw->pw_gid) == -1 || setuid(pw->pw_uid) == -1))
		_exit(126);
	execv(argv[0], argv);
	_exit(127);
}

static void
sbd_start_sim(void)
{
	char	 bin[PATH_MAX], log[PATH_MAX], scen[PATH_MAX];
	char	*argv[] = { bin, "--scenario", scen, "--pty", sbd.tty, NULL };

	sbd_bin(bin, sizeof(bin), "zotad-sim");
	sbd_path(log, sizeof(log), "sim.log");
	sbd_path(scen, sizeof(scen), "scenario.json");
	sbd_write(scen, "{ \"devices\": [] }\n");
	/* As nobody, so that the dropped daemon can reopen its pty. */
	sbd.sim = sbd_spawn(argv, log, 1);
	if (!sbd_wait_for(sbd.tty, NULL, sbd.sim))
		sbd_abandon("zotad-sim never made its pty");
}

static void
sbd_start(enum sbd_daemon d)
{
	char	 bin[PATH_MAX];
	char	*argv[] = { bin, "-d", "-f", sbd.conf, NULL };

	sbd_bin(bin, sizeof(bin), sbd_names[d]);
	/* A fresh log, so that a restart is seen by its own words. */
	unlink(sbd.log[d]);
	sbd.pid[d] = sbd_spawn(argv, sbd.log[d], 0);
	if (!sbd_wait_for(sbd.log[d], sbd_ready[d], sbd.pid[d])) {
		sbd.pid[d] = 0;
		sbd_abandon(sbd_names[d]);
	}
}

static int
sbd_setup(void **state)
{
	char	 conf[2 * PATH_MAX], sub[PATH_MAX];
	int	 d;

	(void)state;
	memset(&sbd, 0, sizeof(sbd));
	snprintf(sbd.dir, sizeof(sbd.dir), "/tmp/zotad-sbd.XXXXXX");
	assert_non_null(mkdtemp(sbd.dir));
	/* The simulator and the daemons, as nobody, write here. */
	assert_int_equal(chmod(sbd.dir, 0777), 0);
	sbd_path(sub, sizeof(sub), "cache");
	assert_int_equal(mkdir(sub, 0777), 0);
	sbd_path(sub, sizeof(sub), "state");
	assert_int_equal(mkdir(sub, 0777), 0);
	sbd_path(sbd.tty, sizeof(sbd.tty), "tty");
	sbd_path(sbd.conf, sizeof(sbd.conf), "configuration.yaml");
	for (d = 0; d < SBD_NDAEMONS; d++) {
		snprintf(sub, sizeof(sub), "%s.log", sbd_names[d]);
		sbd_path(sbd.log[d], sizeof(sbd.log[d]), sub);
	}
	/* A broker nobody runs: zotad-mqtt keeps trying, confined. */
	snprintf(conf, sizeof(conf),
	    "mqtt:\n  server: mqtt://127.0.0.1:9\n"
	    "serial:\n  port: %s\n"
	    "zotad:\n  state_dir: %s/state\n  cache_dir: %s/cache\n"
	    "  run_dir: %s/run\n"
	    "  index_url: http://127.0.0.1:9/index.json\n"
	    "  downgrade_index_url: http://127.0.0.1:9/index1.json\n"
	    "  user_radio: nobody\n  user_fetch: nobody\n"
	    "  user_mqtt: nobody\n", sbd.tty, sbd.dir, sbd.dir, sbd.dir);
	sbd_write(sbd.conf, conf);
	sbd_start_sim();
	/* zotad-radio makes the run dir that all sockets go in. */
	sbd_start(SBD_RADIO);
	sbd_start(SBD_FETCH);
	sbd_start(SBD_MQTT);
	return (0);
}

static void
sbd_stop(pid_t *pid)
{
	int	 st;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	waitpid(*pid, &st, 0);
	*pid = 0;
}

static int
sbd_teardown(void **state)
{
	char	 cmd[PATH_MAX + 16];
	int	 d;

	(void)state;
	for (d = SBD_NDAEMONS - 1; d >= 0; d--)
		sbd_stop(&sbd.pid[d]);
	sbd_stop(&sbd.sim);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sbd.dir);
	if (system(cmd) != 0)
		print_message("# could not remove %s\n", sbd.dir);
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
		sbd_nap();
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
sbd_assert_refused(enum sbd_daemon d, const struct sbd_outcome *o,
    const char *what)
{
	if (o->killed) {
		if (o->sig != SIGSYS)
			fail_msg("%s died of signal %d, not SIGSYS, on %s",
			    sbd_names[d], o->sig, what);
		/* Reaped by the injection's wait. */
		sbd.pid[d] = 0;
		return;
	}
	if (o->ret >= 0)
		fail_msg("%s managed to %s (result %ld)", sbd_names[d], what,
		    o->ret);
	if (o->ret != -EACCES && o->ret != -EPERM)
		fail_msg("%s: %s failed with errno %ld, not EACCES or EPERM",
		    sbd_names[d], what, -o->ret);
}

static void
t_status(void **state)
{
	struct priv_status	 st;
	struct passwd		*pw = getpwnam(SBD_NOBODY);
	int			 d, i;

	(void)state;
	assert_non_null(pw);
	for (d = 0; d < SBD_NDAEMONS; d++) {
		assert_int_equal(priv_status_read(sbd.pid[d], &st), 0);
		if (st.seccomp != 2 || st.no_new_privs != 1)
			fail_msg("%s: Seccomp %d, NoNewPrivs %d", sbd_names[d],
			    st.seccomp, st.no_new_privs);
		if (getuid() != 0)
			continue;
		for (i = 0; i < 4; i++)
			if (st.uid[i] != pw->pw_uid || st.gid[i] == 0)
				fail_msg("%s: uid %d gid %d after the drop",
				    sbd_names[d], (int)st.uid[i],
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
	for (d = 0; d < SBD_NDAEMONS; d++) {
		sbd_inject(sbd.pid[d], SYS_getpid, none, NULL, &o);
		if (o.killed)
			fail_msg("%s died of signal %d on getpid",
			    sbd_names[d], o.sig);
		assert_int_equal(o.ret, sbd.pid[d]);
		assert_int_equal(waitpid(sbd.pid[d], &st, WNOHANG), 0);
	}
	/* zotad-radio, poked, still serves radio.sock. */
	sbd_stop(&sbd.pid[SBD_MQTT]);
	sbd_start(SBD_MQTT);
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
	assert_non_null(realpath(sbd.tty, dev));
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

	sbd_inject(sbd.pid[SBD_FETCH], SYS_openat, args, dev, &o);
	sbd_assert_refused(SBD_FETCH, &o, "open the serial device");
}

static void
sbd_no_exec(enum sbd_daemon d)
{
	unsigned long		 args[6] = { SBD_STR, 0, 0, 0, 0, 0 };
	struct sbd_outcome	 o;

	sbd_inject(sbd.pid[d], SYS_execve, args, "/bin/true", &o);
	/* execve only returns when it failed; /bin/true would exit 0. */
	if (o.killed && o.sig == 0)
		fail_msg("%s executed /bin/true", sbd_names[d]);
	sbd_assert_refused(d, &o, "execute /bin/true");
}

static void
t_fetch_no_exec(void **state)
{
	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	sbd_no_exec(SBD_FETCH);
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
	sbd_inject(sbd.pid[SBD_RADIO], SYS_socket, tcp, NULL, &o);
	sbd_assert_refused(SBD_RADIO, &o, "open a TCP socket");
	if (sbd.pid[SBD_RADIO] == 0)
		sbd_start(SBD_RADIO);
	sbd_inject(sbd.pid[SBD_RADIO], SYS_socket, tcp6, NULL, &o);
	sbd_assert_refused(SBD_RADIO, &o, "open a TCP/IPv6 socket");
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
	sbd_path(path, sizeof(path), "written-by-mqtt");
	sbd_inject(sbd.pid[SBD_MQTT], SYS_openat, args, path, &o);
	sbd_assert_refused(SBD_MQTT, &o, "create a file");
	assert_int_equal(access(path, F_OK), -1);
}

static void
t_mqtt_no_exec(void **state)
{
	(void)state;
	SBD_SKIP_UNLESS_INJECTABLE();
	sbd_no_exec(SBD_MQTT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_status, sbd_setup,
		    sbd_teardown),
		cmocka_unit_test_setup_teardown(t_harmless_call, sbd_setup,
		    sbd_teardown),
		cmocka_unit_test_setup_teardown(t_fetch_no_serial, sbd_setup,
		    sbd_teardown),
		cmocka_unit_test_setup_teardown(t_fetch_no_exec, sbd_setup,
		    sbd_teardown),
		cmocka_unit_test_setup_teardown(t_radio_no_tcp, sbd_setup,
		    sbd_teardown),
		cmocka_unit_test_setup_teardown(t_mqtt_no_write, sbd_setup,
		    sbd_teardown),
		cmocka_unit_test_setup_teardown(t_mqtt_no_exec, sbd_setup,
		    sbd_teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
