/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Run FN in a child whose stderr is a pipe; return what it wrote. */
static char *
capture(void (*fn)(void), int *status)
{
	static char	 buf[4096];
	int		 fds[2];
	pid_t		 pid;
	ssize_t		 n;
	size_t		 len = 0;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, status, 0), pid);
	return (buf);
}

static void
emit_levels(void)
{
	log_init("zotad-test", 1, 0);
	log_info("hello %d", 42);
	log_debug("hidden");
	errno = ENOENT;
	log_warn("open %s", "/x");
	log_warnx("plain");
}

static void
test_levels_and_name(void **state)
{
	int	 status;
	char	*out = capture(emit_levels, &status);

	(void)state;
	assert_string_equal(out,
	    "zotad-test: hello 42\n"
	    "zotad-test: warning: open /x: No such file or directory\n"
	    "zotad-test: warning: plain\n");
}

static void
emit_debug(void)
{
	log_init("zotad-test", 1, 1);
	log_debug("shown %s", "now");
	log_setverbose(0);
	log_debug("not shown");
}

static void
test_verbose(void **state)
{
	int	 status;
	char	*out = capture(emit_debug, &status);

	(void)state;
	assert_string_equal(out, "zotad-test: debug: shown now\n");
}

static void
emit_errno_kept(void)
{
	log_init("t", 1, 0);
	errno = EACCES;
	log_info("x");
	log_warnx("y");
	if (errno != EACCES)
		_exit(3);
}

static void
test_errno_preserved(void **state)
{
	int	 status;

	(void)state;
	capture(emit_errno_kept, &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
emit_fatalx(void)
{
	log_init("zotad-radio", 1, 0);
	fatalx("broken %s", "invariant");
}

static void
emit_fatal(void)
{
	log_init("zotad-radio", 1, 0);
	errno = EPERM;
	fatal("setresuid");
}

static void
test_fatal_exits(void **state)
{
	int	 status;
	char	*out;

	(void)state;
	out = capture(emit_fatalx, &status);
	assert_string_equal(out, "zotad-radio: fatal: broken invariant\n");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);

	out = capture(emit_fatal, &status);
	assert_string_equal(out,
	    "zotad-radio: fatal: setresuid: Operation not permitted\n");
	assert_int_equal(WEXITSTATUS(status), 1);
}

static void
emit_level_warning(void)
{
	log_init("t", 1, 0);
	log_setlevel(LOG_LEVEL_WARNING);
	log_info("quiet");
	log_debug("quieter");
	log_warnx("shown");
	log_setlevel(LOG_LEVEL_ERROR);
	log_warnx("hidden too");
	errno = ENOENT;
	log_warn("hidden as well");
	if (errno != ENOENT)
		_exit(3);
	log_setlevel(LOG_LEVEL_DEBUG);
	log_debug("debug now");
}

static void
test_levels(void **state)
{
	int	 status;
	char	*out = capture(emit_level_warning, &status);

	(void)state;
	assert_string_equal(out, "t: warning: shown\nt: debug: debug now\n");
	assert_int_equal(WEXITSTATUS(status), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels_and_name),
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_errno_preserved),
		cmocka_unit_test(test_fatal_exits),
		cmocka_unit_test(test_levels),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
