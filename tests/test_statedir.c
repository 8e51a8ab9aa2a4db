/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"
#include "statedir.h"
#include "suite.h"
#include "util.h"

/* What an earlier version of zotad-radio kept in the state dir itself. */
static const char *const old_names[] = {
	"devices.json", "ota.json", "ota-*.img", NULL
};

struct fixture {
	char	 top[64];		/* removed afterwards */
	char	 state[96];		/* top/state, not made yet */
	char	 own[128];		/* what statedir_prepare says */
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof(*fx));

	if (fx == NULL || suite_scratch_dir(fx->top, sizeof(fx->top),
	    "test_statedir") == -1 || chmod(fx->top, 0755) == -1)
		return (-1);
	snprintf(fx->state, sizeof(fx->state), "%s/state", fx->top);
	*state = fx;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	suite_remove_tree(fx->top);
	free(fx);
	return (0);
}

static void
put(const char *dir, const char *name, const char *text)
{
	char	 path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* The content of DIR/NAME, or NULL when there is no such file. */
static char *
get(const char *dir, const char *name)
{
	char	 path[PATH_MAX];
	uint8_t	*buf;
	size_t	 len;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (util_read_file(path, 1 << 20, &buf, &len) == -1) {
		assert_int_equal(errno, ENOENT);
		return (NULL);
	}
	return ((char *)buf);
}

static void
assert_content(const char *dir, const char *name, const char *want)
{
	char	*got = get(dir, name);

	if (got == NULL)
		fail_msg("%s/%s is missing", dir, name);
	assert_string_equal(got, want);
	free(got);
}

static void
assert_absent(const char *dir, const char *name)
{
	char	*got = get(dir, name);

	if (got != NULL)
		fail_msg("%s/%s is still there", dir, name);
}

static void
assert_mode(const char *path, mode_t mode)
{
	struct stat	 st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, mode);
}

static int
prepare(struct fixture *fx, const char *user)
{
	return (statedir_prepare(fx->state, STATEDIR_RADIO, user, old_names,
	    fx->own, sizeof(fx->own)));
}

/*
 * A first start makes the state dir and the daemon's own directory in it,
 * whatever the umask: the other daemon's user must pass through one, and
 * nobody else may look into the other.
 */
static void
test_fresh(void **state)
{
	struct fixture	*fx = *state;
	char		 want[128];
	mode_t		 old = umask(077);

	assert_int_equal(prepare(fx, "nobody"), 0);
	umask(old);
	snprintf(want, sizeof(want), "%s/radio", fx->state);
	assert_string_equal(fx->own, want);
	assert_mode(fx->state, 0755);
	assert_mode(fx->own, 0700);
	assert_int_equal(statedir_check(fx->own), 0);
}

/*
 * The files of an earlier version move into the new directory with their
 * content, once; other daemons' files stay, and half-written temporary
 * files of ours are removed.
 */
static void
test_migrate(void **state)
{
	struct fixture	*fx = *state;

	assert_int_equal(mkdir(fx->state, 0755), 0);
	put(fx->state, "devices.json", "{\"devices\": []}\n");
	put(fx->state, "ota.json", "{\"sessions\": []}\n");
	put(fx->state, "ota-00124b0000000001.img", "image bytes");
	put(fx->state, "fetch-lastcheck.json", "{\"devices\": {}}\n");
	put(fx->state, ".devices.json.tmp-AbC123", "{\"dev");
	put(fx->state, ".fetch-lastcheck.json.tmp-AbC123", "{");
	put(fx->state, "notes.txt", "the operator's");

	assert_int_equal(prepare(fx, "nobody"), 0);
	assert_content(fx->own, "devices.json", "{\"devices\": []}\n");
	assert_content(fx->own, "ota.json", "{\"sessions\": []}\n");
	assert_content(fx->own, "ota-00124b0000000001.img", "image bytes");
	assert_absent(fx->state, "devices.json");
	assert_absent(fx->state, "ota.json");
	assert_absent(fx->state, "ota-00124b0000000001.img");
	assert_absent(fx->state, ".devices.json.tmp-AbC123");
	/* Not ours: zotad-fetch moves its own. */
	assert_content(fx->state, "fetch-lastcheck.json",
	    "{\"devices\": {}}\n");
	assert_content(fx->state, ".fetch-lastcheck.json.tmp-AbC123", "{");
	assert_content(fx->state, "notes.txt", "the operator's");
	assert_absent(fx->own, "fetch-lastcheck.json");

	/* Once: the next start finds nothing to move and changes nothing. */
	put(fx->own, "devices.json", "{\"devices\": [1]}\n");
	assert_int_equal(prepare(fx, "nobody"), 0);
	assert_content(fx->own, "devices.json", "{\"devices\": [1]}\n");
	assert_content(fx->own, "ota.json", "{\"sessions\": []}\n");
}

/*
 * An old file beside the current one (an earlier version started again
 * meanwhile): the current one wins, the old one is left for the operator,
 * and the rest still moves.
 */
static void
test_conflict(void **state)
{
	struct fixture	*fx = *state;
	char		 sub[128];

	assert_int_equal(mkdir(fx->state, 0755), 0);
	snprintf(sub, sizeof(sub), "%s/radio", fx->state);
	assert_int_equal(mkdir(sub, 0700), 0);
	put(sub, "devices.json", "current");
	put(fx->state, "devices.json", "old");
	put(fx->state, "ota.json", "sessions");

	assert_int_equal(prepare(fx, "nobody"), 0);
	assert_content(fx->own, "devices.json", "current");
	assert_content(fx->state, "devices.json", "old");
	assert_content(fx->own, "ota.json", "sessions");
	assert_absent(fx->state, "ota.json");
}

/* Only regular files move: a link or a directory of that name stays. */
static void
test_not_regular(void **state)
{
	struct fixture	*fx = *state;
	char		 path[PATH_MAX];
	struct stat	 st;

	assert_int_equal(mkdir(fx->state, 0755), 0);
	snprintf(path, sizeof(path), "%s/devices.json", fx->state);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	snprintf(path, sizeof(path), "%s/ota.json", fx->state);
	assert_int_equal(mkdir(path, 0700), 0);

	assert_int_equal(prepare(fx, "nobody"), 0);
	snprintf(path, sizeof(path), "%s/devices.json", fx->state);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	snprintf(path, sizeof(path), "%s/devices.json", fx->own);
	assert_int_equal(lstat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/ota.json", fx->own);
	assert_int_equal(lstat(path, &st), -1);
}

/*
 * What cannot be used refuses the start: a state dir that is a file, or
 * a daemon directory that is a link to somewhere else.
 */
static void
test_refused(void **state)
{
	struct fixture	*fx = *state;
	char		 path[PATH_MAX];

	put(fx->top, "state", "not a directory");
	assert_int_equal(prepare(fx, "nobody"), -1);
	assert_int_equal(unlink(fx->state), 0);

	assert_int_equal(mkdir(fx->state, 0755), 0);
	snprintf(path, sizeof(path), "%s/radio", fx->state);
	assert_int_equal(symlink(fx->top, path), 0);
	assert_int_equal(prepare(fx, "nobody"), -1);
}

/*
 * Started as root: the state dir an earlier version gave to zotad-radio's
 * user goes back to root, mode 0755, the daemon's directory and the files
 * moved into it to the daemon's user; a moved file with a second link is
 * not given away.
 */
static void
test_root_owners(void **state)
{
	struct fixture	*fx = *state;
	struct passwd	*pw;
	struct stat	 st;
	char		 path[PATH_MAX], other[PATH_MAX];

	if (!priv_is_root() || (pw = getpwnam("daemon")) == NULL) {
		print_message("# needs root and a user \"daemon\"\n");
		skip();
	}
	assert_int_equal(mkdir(fx->state, 0750), 0);
	assert_int_equal(chown(fx->state, 65534, 65534), 0);
	put(fx->state, "devices.json", "registry");
	put(fx->state, "ota.json", "sessions");
	snprintf(path, sizeof(path), "%s/ota.json", fx->state);
	snprintf(other, sizeof(other), "%s/elsewhere", fx->top);
	assert_int_equal(link(path, other), 0);

	assert_int_equal(prepare(fx, "daemon"), 0);
	assert_int_equal(stat(fx->state, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_int_equal(st.st_gid, 0);
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_int_equal(stat(fx->own, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	assert_int_equal(st.st_gid, pw->pw_gid);
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/devices.json", fx->own);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, pw->pw_uid);
	snprintf(path, sizeof(path), "%s/ota.json", fx->own);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_uid, 0);
	assert_content(fx->own, "ota.json", "sessions");

	/* A state dir root already owns is left as it is. */
	assert_int_equal(chmod(fx->state, 01770), 0);
	assert_int_equal(prepare(fx, "daemon"), 0);
	assert_int_equal(stat(fx->state, &st), 0);
	assert_int_equal(st.st_mode & 07777, 01770);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_conflict, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_root_owners, setup,
		    teardown),
	};

	log_init("test", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
