/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-radio's seccomp filter: what the daemon does keeps working, a
 * network socket or a program run kills the process. Each case forks,
 * since a filter cannot be removed from a running process.
 */

#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "confine.h"

/* Run FN in a confined child; its wait status. */
static int
confined(int (*fn)(void))
{
	pid_t	 pid;
	int	 st;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* The production mode, whatever the environment says. */
		unsetenv("ZOTAD_SANDBOX_DEBUG");
		if (radio_confine_filter() == -1)
			_exit(100);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return (st);
}

/* An abstract socket the confined child connects to, as to fetch.sock. */
static struct sockaddr_un	 unix_addr;

static int
do_unix(void)
{
	int	 fd;

	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return (1);
	if (connect(fd, (struct sockaddr *)&unix_addr, sizeof(unix_addr)) ==
	    -1 || write(fd, "x", 1) != 1)
		return (2);
	return (0);
}

static int
do_tcp(void)
{
	return (socket(AF_INET, SOCK_STREAM, 0) >= 0 ? 0 : 3);
}

static int
do_udp6(void)
{
	return (socket(AF_INET6, SOCK_DGRAM, 0) >= 0 ? 0 : 3);
}

static int
do_exec(void)
{
	char	*argv[] = { "/bin/true", NULL };

	execv(argv[0], argv);
	return (4);
}

static int
do_fork(void)
{
	return (fork() >= 0 ? 0 : 5);
}

static void
test_unix_sockets_work(void **state)
{
	int	 st, lfd;

	(void)state;
	unix_addr.sun_family = AF_UNIX;
	snprintf(unix_addr.sun_path + 1, sizeof(unix_addr.sun_path) - 1,
	    "zotad-confine-test-%d", (int)getpid());
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&unix_addr,
	    sizeof(unix_addr)), 0);
	assert_int_equal(listen(lfd, 1), 0);
	st = confined(do_unix);
	close(lfd);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

static void
assert_killed(int st)
{
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

static void
test_network_socket_kills(void **state)
{
	(void)state;
	assert_killed(confined(do_tcp));
	assert_killed(confined(do_udp6));
}

static void
test_exec_kills(void **state)
{
	(void)state;
	assert_killed(confined(do_exec));
}

static void
test_fork_kills(void **state)
{
	(void)state;
	assert_killed(confined(do_fork));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unix_sockets_work),
		cmocka_unit_test(test_network_socket_kills),
		cmocka_unit_test(test_exec_kills),
		cmocka_unit_test(test_fork_kills),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
