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

#include "child.h"
#include "log.h"

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
	(void)state;
	child_run(emit_levels);
	assert_string_equal(child_out,
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
	(void)state;
	child_run(emit_debug);
	assert_string_equal(child_out, "zotad-test: debug: shown now\n");
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
	status = child_run(emit_errno_kept);
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

	(void)state;
	status = child_run(emit_fatalx);
	assert_string_equal(child_out,
	    "zotad-radio: fatal: broken invariant\n");
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);

	status = child_run(emit_fatal);
	assert_string_equal(child_out,
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

	(void)state;
	status = child_run(emit_level_warning);
	assert_string_equal(child_out,
	    "t: warning: shown\nt: debug: debug now\n");
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
