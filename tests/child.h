/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_CHILD_H
#define ZOTAD_CHILD_H

/*
 * Test code run in a child process, for what the test program itself
 * must not undergo: a privilege drop, a seccomp filter, a fatal exit.
 * The parent judges how the child ended and what it wrote on stderr.
 * For cmocka tests; CHILD_CHECK alone needs nothing but this header.
 */

#include <sys/types.h>

#include <stdio.h>
#include <unistd.h>

/* In a child: report the failed condition on stderr and exit 1. */
#define CHILD_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "%s:%d: failed: %s\n", __FILE__,	\
		    __LINE__, #c);					\
		_exit(1);						\
	}								\
} while (0)

/* What the last child wrote on stderr, NUL-terminated. */
extern char	 child_out[8192];

/* What every child runs before the test's function; NULL for nothing. */
extern void	(*child_prologue)(void);

/*
 * Run FN in a child whose stderr goes to child_out; the child exits 0
 * when FN returns. The child's wait status.
 */
int	child_run(void (*fn)(void));

/* Run FN so; fail, showing what it wrote, unless it exits 0. */
void	child_assert_ok(void (*fn)(void));

/*
 * A child that runs FN and then waits, so that the test can look at it
 * (in /proc); child_release lets it go and fails unless it exits 0.
 */
struct child_held {
	pid_t	 pid;
	int	 go;
};

void	child_hold(struct child_held *, void (*fn)(void));
void	child_release(struct child_held *);

#endif
