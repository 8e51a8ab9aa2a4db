/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "priv.h"
#include "sandbox.h"

/*
 * A filter cannot be removed once loaded, so every case builds and loads
 * its filter in a forked child and the parent judges how the child ended.
 */

/* What every child does first. */
static void
child_start(void)
{
	struct rlimit	 nocore = { 0, 0 };

	/* A killed child must not leave a core file behind. */
	CHILD_CHECK(setrlimit(RLIMIT_CORE, &nocore) == 0);
	log_init("test", 1, 0);
}

static void
assert_child_killed(void (*fn)(void))
{
	int	 status = child_run(fn);

	if (!WIFSIGNALED(status))
		print_message("child said: %s", child_out);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

/* Calls these tests make beyond the base set. */
static const char *const test_syscalls[] = {
	/* the child's own checks */
	"getppid", "pipe2",
	NULL
};

/* A base filter plus EXTRA (may be NULL); the caller loads it. */
static struct sandbox *
child_filter(const char *const *extra)
{
	struct sandbox	*sb;

	CHILD_CHECK((sb = sandbox_new()) != NULL);
	CHILD_CHECK(sandbox_allow_base(sb) == 0);
	CHILD_CHECK(sandbox_allow(sb, test_syscalls) == 0);
	if (extra != NULL)
		CHILD_CHECK(sandbox_allow(sb, extra) == 0);
	return (sb);
}

static void
child_load(struct sandbox *sb)
{
	CHILD_CHECK(sandbox_mode(sb) == SANDBOX_KILL);
	CHILD_CHECK(sandbox_load(sb) == 0);
	sandbox_free(sb);
}

static void
child_socket_forbidden(void)
{
	child_load(child_filter(NULL));
	socket(AF_INET, SOCK_STREAM, 0);
	_exit(0);
}

static void
test_forbidden_socket_kills(void **state)
{
	(void)state;
	assert_child_killed(child_socket_forbidden);
}

static void
child_execve_forbidden(void)
{
	char	*argv[] = { "true", NULL }, *envp[] = { NULL };

	child_load(child_filter(NULL));
	execve("/bin/true", argv, envp);
	_exit(0);
}

static void
test_forbidden_execve_kills(void **state)
{
	(void)state;
	assert_child_killed(child_execve_forbidden);
}

static void
child_allowed_calls(void)
{
	int	 fds[2];
	char	 buf[6], *big;
	pid_t	 ppid = getppid();

	child_load(child_filter(NULL));

	CHILD_CHECK(getppid() == ppid);
	CHILD_CHECK(pipe(fds) == 0);
	CHILD_CHECK(write(fds[1], "hello", 6) == 6);
	CHILD_CHECK(read(fds[0], buf, sizeof(buf)) == 6);
	CHILD_CHECK(strcmp(buf, "hello") == 0);
	CHILD_CHECK(close(fds[0]) == 0 && close(fds[1]) == 0);

	/* Large enough for malloc to use mmap, then munmap. */
	CHILD_CHECK((big = malloc(4 << 20)) != NULL);
	memset(big, 'x', 4 << 20);
	free(big);
}

static void
test_allowed_calls_work(void **state)
{
	(void)state;
	child_assert_ok(child_allowed_calls);
}

static void
child_errno_probe(void)
{
	const char *const	 probes[] = { "open", "openat", NULL };
	struct sandbox		*sb = child_filter(NULL);

	CHILD_CHECK(sandbox_errno(sb, probes, EACCES) == 0);
	child_load(sb);
	errno = 0;
	CHILD_CHECK(open("/dev/null", O_RDONLY) == -1);
	CHILD_CHECK(errno == EACCES);
}

static void
test_probe_gets_errno(void **state)
{
	(void)state;
	child_assert_ok(child_errno_probe);
}

static void *
thread_main(void *arg)
{
	*(int *)arg = 42;
	return (arg);
}

static void
child_threads(void)
{
	struct sandbox	*sb = child_filter(NULL);
	pthread_t	 t;
	void		*ret;
	int		 value = 0;

	CHILD_CHECK(sandbox_allow_threads(sb) == 0);
	child_load(sb);

	errno = 0;
	CHILD_CHECK(syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	CHILD_CHECK(pthread_create(&t, NULL, thread_main, &value) == 0);
	CHILD_CHECK(pthread_join(t, &ret) == 0);
	CHILD_CHECK(ret == &value && value == 42);
}

static void
test_threads_with_clone3_enosys(void **state)
{
	(void)state;
	child_assert_ok(child_threads);
}

static void
child_fork_forbidden(void)
{
	struct sandbox	*sb = child_filter(NULL);

	CHILD_CHECK(sandbox_allow_threads(sb) == 0);
	child_load(sb);
	/* Not a thread's clone flags: the filter must not let it by. */
	if (fork() == 0)
		_exit(0);
	_exit(0);
}

static void
test_fork_still_kills(void **state)
{
	(void)state;
	assert_child_killed(child_fork_forbidden);
}

static void
child_socket_family(void)
{
	struct sandbox	*sb = child_filter(NULL);
	int		 fd;

	CHILD_CHECK(sandbox_allow_socket(sb, AF_UNIX) == 0);
	child_load(sb);
	CHILD_CHECK((fd = socket(AF_UNIX, SOCK_STREAM, 0)) != -1);
	close(fd);
	socket(AF_INET6, SOCK_STREAM, 0);
	_exit(0);
}

static void
test_socket_family_rule(void **state)
{
	int	 status;

	(void)state;
	/* AF_UNIX must succeed (else exit 1), AF_INET6 must kill. */
	status = child_run(child_socket_family);
	if (!WIFSIGNALED(status))
		print_message("child said: %s", child_out);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void
child_ioctl_request(void)
{
	struct sandbox	*sb = child_filter(NULL);
	int		 fds[2], avail = -1, on = 1;

	CHILD_CHECK(sandbox_allow_ioctl(sb, FIONREAD) == 0);
	child_load(sb);
	CHILD_CHECK(pipe(fds) == 0 && write(fds[1], "abc", 3) == 3);
	CHILD_CHECK(ioctl(fds[0], FIONREAD, &avail) == 0 && avail == 3);
	ioctl(fds[0], FIONBIO, &on);
	_exit(0);
}

static void
test_ioctl_request_rule(void **state)
{
	(void)state;
	assert_child_killed(child_ioctl_request);
}

static void
child_exec_mapping(void)
{
	void	*p;

	child_load(child_filter(NULL));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE |
	    MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(p != MAP_FAILED);
	CHILD_CHECK(mprotect(p, 4096, PROT_READ) == 0);
	mprotect(p, 4096, PROT_READ | PROT_EXEC);
	_exit(0);
}

static void
test_no_executable_memory(void **state)
{
	(void)state;
	assert_child_killed(child_exec_mapping);
}

/* The child loads a filter, then waits while the parent looks. */
static void
status_child(void)
{
	child_load(child_filter(NULL));
}

static void
test_status_shows_filter(void **state)
{
	struct priv_status	 st;
	struct child_held	 c;

	(void)state;
	child_hold(&c, status_child);
	assert_int_equal(priv_status_read(c.pid, &st), 0);
	assert_int_equal(st.seccomp, 2);
	/* libseccomp sets no_new_privs when it loads a filter. */
	assert_int_equal(st.no_new_privs, 1);
	child_release(&c);
}

static void
child_trap_mode(void)
{
	struct sandbox	*sb;

	CHILD_CHECK(setenv(SANDBOX_DEBUG_ENV, "trap", 1) == 0);
	CHILD_CHECK((sb = sandbox_new()) != NULL);
	CHILD_CHECK(sandbox_mode(sb) == SANDBOX_TRAP);
	CHILD_CHECK(sandbox_allow_base(sb) == 0);
	CHILD_CHECK(sandbox_load(sb) == 0);
	sandbox_free(sb);

	/* Reported, refused with ENOSYS, and the process lives on. */
	errno = 0;
	CHILD_CHECK(socket(AF_INET, SOCK_STREAM, 0) == -1 && errno == ENOSYS);
	/* Through syscall(2): glibc's getppid() never sets errno. */
	errno = 0;
	CHILD_CHECK(syscall(SYS_getppid) == -1 && errno == ENOSYS);
}

static void
test_trap_mode_names_call(void **state)
{
	(void)state;
	child_assert_ok(child_trap_mode);
	assert_non_null(strstr(child_out,
	    "test: sandbox: forbidden system call socket ("));
	assert_non_null(strstr(child_out,
	    "test: sandbox: forbidden system call getppid ("));
}

static void
child_bad_debug_value(void)
{
	struct sandbox	*sb;

	CHILD_CHECK(setenv(SANDBOX_DEBUG_ENV, "maybe", 1) == 0);
	CHILD_CHECK((sb = sandbox_new()) != NULL);
	CHILD_CHECK(sandbox_allow_base(sb) == 0);
	child_load(sb);
	getppid();
	_exit(0);
}

static void
test_bad_debug_value_still_kills(void **state)
{
	(void)state;
	assert_child_killed(child_bad_debug_value);
	assert_non_null(strstr(child_out,
	    "ZOTAD_SANDBOX_DEBUG=maybe is not understood"));
}

static void
child_unknown_name(void)
{
	const char *const	 bad[] = { "read", "frobnicate", NULL };
	struct sandbox		*sb;

	CHILD_CHECK((sb = sandbox_new()) != NULL);
	CHILD_CHECK(sandbox_allow(sb, bad) == -1);
	sandbox_free(sb);
}

static void
test_unknown_syscall_name(void **state)
{
	(void)state;
	child_assert_ok(child_unknown_name);
	assert_non_null(strstr(child_out,
	    "unknown system call \"frobnicate\""));
}

static void
child_limit_nofile(void)
{
	int	 fd;

	/* Every descriptor below the lowest free one is in use. */
	CHILD_CHECK((fd = dup(0)) != -1 && close(fd) == 0);
	CHILD_CHECK(sandbox_limit_nofile((rlim_t)fd) == 0);
	errno = 0;
	CHILD_CHECK(open("/dev/null", O_RDONLY) == -1 && errno == EMFILE);
}

static void
test_limit_nofile(void **state)
{
	(void)state;
	child_assert_ok(child_limit_nofile);
}

static void
child_limit_fsize(void)
{
	char	 path[] = "/tmp/test_sandbox.XXXXXX", buf[64];
	int	 fd;

	memset(buf, 'x', sizeof(buf));
	CHILD_CHECK(signal(SIGXFSZ, SIG_IGN) != SIG_ERR);
	CHILD_CHECK((fd = mkstemp(path)) != -1);
	CHILD_CHECK(unlink(path) == 0);
	CHILD_CHECK(sandbox_limit_fsize(16) == 0);
	CHILD_CHECK(write(fd, buf, 16) == 16);
	errno = 0;
	CHILD_CHECK(write(fd, buf, sizeof(buf)) == -1 && errno == EFBIG);
}

static void
test_limit_fsize(void **state)
{
	(void)state;
	child_assert_ok(child_limit_fsize);
}

static void
child_limit_nproc(void)
{
	pid_t	 pid;

	/* Root is exempt from RLIMIT_NPROC; become nobody first. */
	if (priv_is_root())
		CHILD_CHECK(priv_drop("nobody", "nogroup", NULL) == 0);
	CHILD_CHECK(sandbox_limit_nproc() == 0);
	errno = 0;
	pid = fork();
	if (pid == 0)
		_exit(0);
	CHILD_CHECK(pid == -1 && errno == EAGAIN);
}

static void
test_limit_nproc(void **state)
{
	(void)state;
	child_assert_ok(child_limit_nproc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_forbidden_socket_kills),
		cmocka_unit_test(test_forbidden_execve_kills),
		cmocka_unit_test(test_allowed_calls_work),
		cmocka_unit_test(test_probe_gets_errno),
		cmocka_unit_test(test_threads_with_clone3_enosys),
		cmocka_unit_test(test_fork_still_kills),
		cmocka_unit_test(test_socket_family_rule),
		cmocka_unit_test(test_ioctl_request_rule),
		cmocka_unit_test(test_no_executable_memory),
		cmocka_unit_test(test_status_shows_filter),
		cmocka_unit_test(test_trap_mode_names_call),
		cmocka_unit_test(test_bad_debug_value_still_kills),
		cmocka_unit_test(test_unknown_syscall_name),
		cmocka_unit_test(test_limit_nofile),
		cmocka_unit_test(test_limit_fsize),
		cmocka_unit_test(test_limit_nproc),
	};

	child_prologue = child_start;
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
