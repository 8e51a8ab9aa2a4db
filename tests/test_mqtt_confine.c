/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-mqtt's seccomp filter: what the daemon needs still works, and
 * running a program, writing or creating a file, or starting a process
 * kills it. Each case runs in a child, since a filter cannot be removed.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mqttd.h"
#include "priv.h"
#include "sandbox.h"

static char	 t_path[64];

static void
t_enter(void)
{
	unsetenv(SANDBOX_DEBUG_ENV);
	if (priv_no_new_privs() == -1 || mqconfine_enter() == -1)
		_exit(3);
}

/* Run FN under the filter in a child; return its wait status. */
static int
t_child(void (*fn)(void))
{
	int	 status;
	pid_t	 pid;

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		t_enter();
		fn();
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return (status);
}

static void
t_assert_killed(void (*fn)(void))
{
	int	 status = t_child(fn);

	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static void
t_workload(void)
{
	char	 buf[16];
	int	 fd;

	/* The resolver's files, read-only. */
	if ((fd = open("/etc/hosts", O_RDONLY | O_CLOEXEC)) == -1)
		_exit(10);
	if (read(fd, buf, sizeof(buf)) < 0)
		_exit(11);
	close(fd);
	/* Sockets for the broker and for radio.sock. */
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		_exit(12);
	close(fd);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		_exit(13);
	close(fd);
	/* An uploaded image on its way to zotad-radio. */
	if ((fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING)) == -1 ||
	    write(fd, "x", 1) != 1 || dup(fd) == -1)
		_exit(14);
}

static void
t_exec(void)
{
	char *const	 argv[] = { "true", NULL };

	execv("/bin/true", argv);
	_exit(20);
}

static void
t_write_file(void)
{
	int	 fd;

	fd = open(t_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	_exit(fd == -1 ? 21 : 22);
}

static void
t_append_file(void)
{
	int	 fd;

	fd = open("/etc/hosts", O_RDWR | O_APPEND);
	_exit(fd == -1 ? 23 : 24);
}

static void
t_fork(void)
{
	pid_t	 pid = fork();

	if (pid == 0)
		_exit(0);
	_exit(25);
}

static void
t_allowed(void **state)
{
	int	 status;

	(void)state;
	status = t_child(t_workload);
	if (WIFSIGNALED(status))
		fail_msg("killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
t_no_exec(void **state)
{
	(void)state;
	t_assert_killed(t_exec);
}

static void
t_no_file_writes(void **state)
{
	(void)state;
	snprintf(t_path, sizeof(t_path), "/tmp/test_mqtt_confine.%ld",
	    (long)getpid());
	t_assert_killed(t_write_file);
	assert_int_equal(access(t_path, F_OK), -1);
	t_assert_killed(t_append_file);
}

static void
t_no_processes(void **state)
{
	(void)state;
	t_assert_killed(t_fork);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_allowed),
		cmocka_unit_test(t_no_exec),
		cmocka_unit_test(t_no_file_writes),
		cmocka_unit_test(t_no_processes),
	};

	log_init("test_mqtt_confine", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
