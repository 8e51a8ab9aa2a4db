/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Test code run in a child process; see child.h.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>

#include "child.h"

char	 child_out[8192];
void	(*child_prologue)(void);

int
child_run(void (*fn)(void))
{
	int	 fds[2], status;
	pid_t	 pid;
	ssize_t	 n;
	size_t	 len = 0;

	assert_int_equal(pipe(fds), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		close(fds[1]);
		if (child_prologue != NULL)
			child_prologue();
		fn();
		_exit(0);
	}
	close(fds[1]);
	while ((n = read(fds[0], child_out + len,
	    sizeof(child_out) - 1 - len)) > 0)
		len += (size_t)n;
	child_out[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return (status);
}

void
child_assert_ok(void (*fn)(void))
{
	int	 status = child_run(fn);

	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		print_message("child said: %s", child_out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

void
child_hold(struct child_held *c, void (*fn)(void))
{
	int	 ready[2], go[2];
	char	 x = 'x';

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	assert_true((c->pid = fork()) >= 0);
	if (c->pid == 0) {
		close(ready[0]);
		close(go[1]);
		if (child_prologue != NULL)
			child_prologue();
		fn();
		CHILD_CHECK(write(ready[1], &x, 1) == 1);
		/* Until the parent closes its end. */
		while (read(go[0], &x, 1) > 0)
			;
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	/* Nothing to read: the child ended before it was ready. */
	assert_int_equal(read(ready[0], &x, 1), 1);
	close(ready[0]);
	c->go = go[1];
}

void
child_release(struct child_held *c)
{
	int	 status;

	close(c->go);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}
