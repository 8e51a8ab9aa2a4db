/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "log.h"
#include "priv.h"

/* Every child logs to its stderr, as a daemon in the foreground does. */
static void
child_log(void)
{
	log_init("test", 1, 0);
}

static int
skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("not root: privilege drop cases need root\n");
		skip();
	}
	return (0);
}

static void
nobody_ids(uid_t *uid, gid_t *gid)
{
	struct passwd	*pw = getpwnam("nobody");
	struct group	*gr = getgrnam("nogroup");

	CHILD_CHECK(pw != NULL && gr != NULL);
	*uid = pw->pw_uid;
	*gid = gr->gr_gid;
}

/* The ids a dropped process must show, by syscall and, if seen, /proc. */
static void
check_ids(uid_t uid, gid_t gid, int have_proc)
{
	struct priv_status	 st;
	uid_t			 ru, eu, su;
	gid_t			 rg, eg, sg;
	int			 i;

	CHILD_CHECK(getresuid(&ru, &eu, &su) == 0);
	CHILD_CHECK(ru == uid && eu == uid && su == uid);
	CHILD_CHECK(getresgid(&rg, &eg, &sg) == 0);
	CHILD_CHECK(rg == gid && eg == gid && sg == gid);

	if (have_proc) {
		CHILD_CHECK(priv_status_read(0, &st) == 0);
		for (i = 0; i < 4; i++) {
			CHILD_CHECK(st.uid[i] == uid);
			CHILD_CHECK(st.gid[i] == gid);
		}
		CHILD_CHECK(st.cap_eff == 0);
	}

	errno = 0;
	CHILD_CHECK(setuid(0) == -1 && errno == EPERM);
	CHILD_CHECK(seteuid(0) == -1);
}

static void
child_drop_nobody(void)
{
	uid_t	 uid;
	gid_t	 gid, groups[4];

	nobody_ids(&uid, &gid);
	CHILD_CHECK(priv_drop("nobody", "nogroup", NULL) == 0);
	check_ids(uid, gid, 1);
	CHILD_CHECK(getgroups(4, groups) == 1 && groups[0] == gid);
	CHILD_CHECK(!priv_is_root());
}

static void
test_drop_to_nobody(void **state)
{
	(void)state;
	skip_unless_root();
	child_assert_ok(child_drop_nobody);
}

static void
child_drop_extra_group(void)
{
	const char	*extra[] = { "dialout", "nogroup", NULL };
	struct passwd	*pw = getpwnam("nobody");
	struct group	*gr = getgrnam("dialout");
	uid_t		 uid;
	gid_t		 gid, dialout, groups[8];
	int		 n, i, seen_primary = 0, seen_dialout = 0;

	/* Keep copies: the lookups below reuse the same static storage. */
	CHILD_CHECK(pw != NULL && gr != NULL);
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	dialout = gr->gr_gid;

	CHILD_CHECK(priv_drop("nobody", NULL, extra) == 0);
	check_ids(uid, gid, 1);

	/* Primary group plus dialout; nogroup twice is one entry. */
	n = getgroups(8, groups);
	for (i = 0; i < n; i++) {
		seen_primary += groups[i] == gid;
		seen_dialout += groups[i] == dialout;
	}
	CHILD_CHECK(seen_primary == 1 && seen_dialout == 1);
	CHILD_CHECK(n == (gid == dialout ? 1 : 2));
}

static void
test_drop_with_extra_group(void **state)
{
	(void)state;
	skip_unless_root();
	child_assert_ok(child_drop_extra_group);
}

static char	 chroot_dir[64];

/* Names are resolved first; the drop itself works without /etc. */
static void
child_lookup_chroot_drop(void)
{
	const char	*extra[] = { "dialout", NULL };
	struct priv_ids	 ids;
	uid_t		 uid;
	gid_t		 gid;

	nobody_ids(&uid, &gid);
	CHILD_CHECK(priv_lookup(&ids, "nobody", "nogroup", extra) == 0);
	CHILD_CHECK(ids.uid == uid && ids.gid == gid && ids.ngroups == 2);
	CHILD_CHECK(chroot(chroot_dir) == 0 && chdir("/") == 0);
	CHILD_CHECK(priv_drop_ids(&ids) == 0);
	/* No /proc inside the empty chroot. */
	check_ids(uid, gid, 0);
}

static void
test_lookup_then_chroot(void **state)
{
	(void)state;
	skip_unless_root();
	snprintf(chroot_dir, sizeof(chroot_dir), "/tmp/test_priv.XXXXXX");
	assert_non_null(mkdtemp(chroot_dir));
	child_assert_ok(child_lookup_chroot_drop);
	assert_int_equal(rmdir(chroot_dir), 0);
}

static void
child_unknown_user(void)
{
	struct priv_ids	 ids;
	int		 was_root = priv_is_root();

	CHILD_CHECK(priv_lookup(&ids, "zotad-no-such-user", NULL, NULL) == -1);
	if (was_root) {
		CHILD_CHECK(priv_drop("zotad-no-such-user", NULL, NULL) == -1);
		CHILD_CHECK(priv_is_root());
	}
}

static void
test_unknown_user(void **state)
{
	(void)state;
	child_assert_ok(child_unknown_user);
	assert_non_null(strstr(child_out,
	    "user \"zotad-no-such-user\" does not exist"));
}

static void
child_unknown_group(void)
{
	const char	*extra[] = { "zotad-no-such-group", NULL };
	struct priv_ids	 ids;

	CHILD_CHECK(priv_lookup(&ids, "nobody", "zotad-no-such-group",
	    NULL) == -1);
	CHILD_CHECK(priv_lookup(&ids, "nobody", NULL, extra) == -1);
}

static void
test_unknown_group(void **state)
{
	(void)state;
	child_assert_ok(child_unknown_group);
	assert_non_null(strstr(child_out,
	    "group \"zotad-no-such-group\" does not exist"));
}

static void
child_refuse_root(void)
{
	const char	*extra[] = { "root", NULL };
	struct priv_ids	 ids;

	CHILD_CHECK(priv_lookup(&ids, "root", NULL, NULL) == -1);
	CHILD_CHECK(priv_lookup(&ids, "nobody", "root", NULL) == -1);
	CHILD_CHECK(priv_lookup(&ids, "nobody", NULL, extra) == -1);
	CHILD_CHECK(priv_lookup(&ids, NULL, NULL, NULL) == -1);
	CHILD_CHECK(priv_lookup(&ids, "", NULL, NULL) == -1);
}

static void
test_refuse_root_target(void **state)
{
	(void)state;
	child_assert_ok(child_refuse_root);
	assert_non_null(strstr(child_out,
	    "refusing to run as user \"root\": it has uid 0"));
	assert_non_null(strstr(child_out,
	    "refusing group \"root\": it has gid 0"));
}

/* Whoever is not root keeps its ids, even for a user that is unknown. */
static void
child_not_root(void)
{
	uid_t	 before, after;
	gid_t	 g;

	if (priv_is_root()) {
		nobody_ids(&before, &g);
		CHILD_CHECK(setgroups(1, &g) == 0);
		CHILD_CHECK(setresgid(g, g, g) == 0);
		CHILD_CHECK(setresuid(before, before, before) == 0);
	}
	before = getuid();
	CHILD_CHECK(priv_drop("zotad-no-such-user", NULL, NULL) == 0);
	after = getuid();
	CHILD_CHECK(before == after);
}

static void
test_not_root_skips_drop(void **state)
{
	(void)state;
	child_assert_ok(child_not_root);
}

/* The child sets no_new_privs, then waits while the parent looks. */
static void
nnp_child(void)
{
	CHILD_CHECK(priv_no_new_privs() != -1);
}

static void
test_no_new_privs_shows(void **state)
{
	struct priv_status	 st;
	struct child_held	 c;

	(void)state;
	child_hold(&c, nnp_child);
	assert_int_equal(priv_status_read(c.pid, &st), 0);
	assert_int_equal(st.no_new_privs, 1);
	child_release(&c);
}

static void
test_status_self(void **state)
{
	struct priv_status	 st;
	uid_t			 ru, eu, su;
	gid_t			 rg, eg, sg;

	(void)state;
	assert_int_equal(priv_status_read(0, &st), 0);
	assert_int_equal(getresuid(&ru, &eu, &su), 0);
	assert_int_equal(getresgid(&rg, &eg, &sg), 0);
	assert_int_equal(st.uid[0], ru);
	assert_int_equal(st.uid[1], eu);
	assert_int_equal(st.uid[2], su);
	assert_int_equal(st.gid[0], rg);
	assert_int_equal(st.gid[1], eg);
	assert_int_equal(st.no_new_privs,
	    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
	assert_int_equal(st.seccomp, prctl(PR_GET_SECCOMP, 0, 0, 0, 0));

	assert_int_equal(priv_status_read(getpid(), &st), 0);
	assert_int_equal(st.uid[1], eu);
}

static void
test_status_no_such_pid(void **state)
{
	struct priv_status	 st;

	(void)state;
	/* Above the kernel's largest pid_max, no process can exist. */
	errno = 0;
	assert_int_equal(priv_status_read(INT_MAX, &st), -1);
	assert_int_equal(errno, ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop_to_nobody),
		cmocka_unit_test(test_drop_with_extra_group),
		cmocka_unit_test(test_lookup_then_chroot),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_unknown_group),
		cmocka_unit_test(test_refuse_root_target),
		cmocka_unit_test(test_not_root_skips_drop),
		cmocka_unit_test(test_no_new_privs_shows),
		cmocka_unit_test(test_status_self),
		cmocka_unit_test(test_status_no_such_pid),
	};

	child_prologue = child_log;
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
