/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "atomicfile.h"
#include "child.h"
#include "log.h"
#include "priv.h"
#include "suite.h"
#include "util.h"

#define CHILD_SKIP	77	/* exit code: the case cannot run here */

struct fixture {
	char	 dir[64];
	char	 path[128];	/* dir/state.json */
};

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof(*fx));

	if (fx == NULL || suite_scratch_dir(fx->dir, sizeof(fx->dir),
	    "test_atomicfile") == -1)
		return (-1);
	snprintf(fx->path, sizeof(fx->path), "%s/state.json", fx->dir);
	*state = fx;
	return (0);
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	chmod(fx->dir, 0700);
	suite_remove_tree(fx->dir);
	free(fx);
	return (0);
}

/* Names in DIR other than "." and "..", written space-separated. */
static int
dir_entries(const char *dir, char *names, size_t size)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	names[0] = '\0';
	if ((d = opendir(dir)) == NULL)
		return (-1);
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n++ > 0)
			strncat(names, " ", size - strlen(names) - 1);
		strncat(names, de->d_name, size - strlen(names) - 1);
	}
	closedir(d);
	return (n);
}

static void
assert_file_is(const char *path, const void *want, size_t wantlen)
{
	uint8_t	*buf;
	size_t	 len;

	assert_int_equal(util_read_file(path, 1 << 24, &buf, &len), 0);
	assert_int_equal(len, wantlen);
	assert_memory_equal(buf, want, wantlen);
	free(buf);
}

static void
assert_only_target(const struct fixture *fx)
{
	char	 names[512];

	assert_int_equal(dir_entries(fx->dir, names, sizeof(names)), 1);
	assert_string_equal(names, "state.json");
}

/* Log lines the code under test writes to stderr, caught in a file. */
static int	 capture_saved = -1;
static FILE	*capture_fp;

static void
capture_begin(void)
{
	assert_non_null(capture_fp = tmpfile());
	fflush(stderr);
	assert_true((capture_saved = dup(STDERR_FILENO)) != -1);
	assert_int_equal(dup2(fileno(capture_fp), STDERR_FILENO),
	    STDERR_FILENO);
}

static const char *
capture_end(void)
{
	static char	 out[4096];
	size_t		 n;

	fflush(stderr);
	dup2(capture_saved, STDERR_FILENO);
	close(capture_saved);
	rewind(capture_fp);
	n = fread(out, 1, sizeof(out) - 1, capture_fp);
	out[n] = '\0';
	fclose(capture_fp);
	return (out);
}

static void
test_write_read_back(void **state)
{
	struct fixture	*fx = *state;
	struct stat	 st;

	assert_int_equal(atomic_write(fx->path, "first version\n", 14, 0640),
	    0);
	assert_file_is(fx->path, "first version\n", 14);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);

	/* Shorter content leaves no tail of the old one. */
	assert_int_equal(atomic_write(fx->path, "v2", 2, 0600), 0);
	assert_file_is(fx->path, "v2", 2);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(atomic_write(fx->path, "", 0, 0600), 0);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_size, 0);
	assert_only_target(fx);
}

static void
test_write_relative_path(void **state)
{
	struct fixture	*fx = *state;
	int		 cwd;

	assert_true((cwd = open(".", O_RDONLY | O_DIRECTORY)) != -1);
	assert_int_equal(chdir(fx->dir), 0);
	assert_int_equal(atomic_write("state.json", "here", 4, 0600), 0);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	assert_file_is(fx->path, "here", 4);
	assert_only_target(fx);
}

static void
test_write_errors(void **state)
{
	struct fixture	*fx = *state;
	char		 path[256];

	snprintf(path, sizeof(path), "%s/missing/state.json", fx->dir);
	errno = 0;
	assert_int_equal(atomic_write(path, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);

	/* A directory in the target's place stays, with no temp beside. */
	assert_int_equal(mkdir(fx->path, 0700), 0);
	errno = 0;
	assert_int_equal(atomic_write(fx->path, "x", 1, 0600), -1);
	assert_true(errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST);
	assert_only_target(fx);

	snprintf(path, sizeof(path), "%s/", fx->dir);
	errno = 0;
	assert_int_equal(atomic_write(path, "x", 1, 0600), -1);
	assert_int_equal(errno, EISDIR);
}

static void
test_json_round_trip(void **state)
{
	struct fixture	*fx = *state;
	cJSON		*obj, *dev, *back;
	uint8_t		*text;
	size_t		 len;

	assert_non_null(obj = cJSON_CreateObject());
	assert_non_null(dev = cJSON_AddObjectToObject(obj,
	    "0x00124b0012345678"));
	assert_non_null(cJSON_AddNumberToObject(dev, "offset", 49152));
	assert_non_null(cJSON_AddStringToObject(dev, "state", "updating"));
	assert_non_null(cJSON_AddNumberToObject(obj, "version", 1));

	assert_int_equal(atomic_write_json(fx->path, obj, 0600), 0);
	assert_non_null(back = atomic_read_json(fx->path, 4096));
	assert_true(cJSON_Compare(obj, back, 1));

	/* Pretty-printed for people who look at it, one object per line. */
	assert_int_equal(util_read_file(fx->path, 4096, &text, &len), 0);
	assert_true(len > 2);
	assert_memory_equal(text + len - 2, "}\n", 2);
	assert_non_null(strstr((char *)text, "\n\t\"version\":"));
	free(text);
	cJSON_Delete(back);
	cJSON_Delete(obj);
}

static void
test_json_write_needs_object(void **state)
{
	struct fixture	*fx = *state;
	cJSON		*arr = cJSON_CreateArray();

	assert_non_null(arr);
	errno = 0;
	assert_int_equal(atomic_write_json(fx->path, arr, 0600), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(access(fx->path, F_OK), -1);
	cJSON_Delete(arr);
}

static void
test_read_missing(void **state)
{
	struct fixture	*fx = *state;
	const char	*out;

	capture_begin();
	errno = 0;
	assert_null(atomic_read_json(fx->path, 4096));
	assert_int_equal(errno, ENOENT);
	out = capture_end();
	/* A first start is normal: nothing to complain about. */
	assert_string_equal(out, "");
}

struct hostile {
	const char	*what;
	const char	*content;
	size_t		 len;
	size_t		 max;
	int		 err;
	const char	*message;
};

static const struct hostile hostile_files[] = {
	{ "empty", "", 0, 4096, EINVAL, "state.json: empty file" },
	{ "torn", "{\"devices\": {\"0x1\": [1, 2", 25, 4096, EINVAL,
	    "state.json: not valid JSON" },
	{ "array", "[1, 2, 3]\n", 10, 4096, EINVAL,
	    "state.json: top level is an array, expected an object" },
	{ "string", "\"text\"", 6, 4096, EINVAL,
	    "state.json: top level is a string, expected an object" },
	{ "null", "null", 4, 4096, EINVAL,
	    "state.json: top level is null, expected an object" },
	{ "trailing", "{\"a\": 1} {\"b\": 2}", 17, 4096, EINVAL,
	    "state.json: trailing data after the JSON value at byte 8" },
	{ "nul", "{\"a\": \"x\0y\"}", 12, 4096, EINVAL,
	    "state.json: contains a NUL byte" },
	{ "binary", "\xff\xfe\x01\x02garbage", 11, 4096, EINVAL,
	    "state.json: not valid JSON" },
	{ "too large", "{\"padding\": \"0123456789012345678901234567\"}",
	    42, 32, EFBIG, "state.json: larger than 32 bytes" },
};

static void
check_hostile(const struct fixture *fx, const struct hostile *h)
{
	const char	*out;
	cJSON		*root;
	int		 err;

	assert_int_equal(atomic_write(fx->path, h->content, h->len, 0600), 0);
	capture_begin();
	errno = 0;
	root = atomic_read_json(fx->path, h->max);
	err = errno;
	out = capture_end();
	if (root != NULL || err != h->err || strstr(out, h->message) == NULL)
		print_message("case %s: errno %d, logged \"%s\"\n", h->what,
		    err, out);
	assert_null(root);
	assert_int_equal(err, h->err);
	assert_non_null(strstr(out, h->message));
}

static void
test_read_hostile(void **state)
{
	struct fixture	*fx = *state;
	size_t		 i;

	for (i = 0; i < sizeof(hostile_files) / sizeof(hostile_files[0]); i++)
		check_hostile(fx, &hostile_files[i]);
}

static void
test_parse_reason(void **state)
{
	char	 why[128];
	cJSON	*root;

	(void)state;
	assert_non_null(root = atomic_parse_json("{} \n", 4, why,
	    sizeof(why)));
	assert_true(cJSON_IsObject(root));
	cJSON_Delete(root);

	errno = 0;
	assert_null(atomic_parse_json("{\"a\": tru", 9, why, sizeof(why)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(why,
	    "not valid JSON (error near byte 6 of 9), torn or damaged");

	/* A short buffer for the reason truncates it, still terminated. */
	assert_null(atomic_parse_json("42", 2, why, 8));
	assert_string_equal(why, "top lev");
}

static void
test_read_deep_nesting(void **state)
{
	struct fixture	*fx = *state;
	char		*buf;
	size_t		 depth = 100000, i;

	/* Far past any sane nesting: refused, not a stack overflow. */
	assert_non_null(buf = malloc(2 * depth + 2));
	buf[0] = '{';
	buf[1] = '"';
	for (i = 0; i < depth; i++)
		buf[2 + i] = '[';
	for (i = 0; i < depth; i++)
		buf[2 + depth + i] = ']';
	assert_int_equal(atomic_write(fx->path, buf, 2 * depth + 2, 0600), 0);
	free(buf);

	capture_begin();
	errno = 0;
	assert_null(atomic_read_json(fx->path, 1 << 20));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(capture_end(), "not valid JSON"));
}

static void
test_read_not_regular(void **state)
{
	struct fixture	*fx = *state;
	const char	*out;

	/* A FIFO would block a plain open; it must be refused at once. */
	assert_int_equal(mkfifo(fx->path, 0600), 0);
	capture_begin();
	errno = 0;
	assert_null(atomic_read_json(fx->path, 4096));
	assert_int_equal(errno, EINVAL);
	out = capture_end();
	assert_non_null(strstr(out, "state.json: not a regular file"));
}

static void
test_cleanup_stale_temps(void **state)
{
	struct fixture	*fx = *state;
	const char	*stale[] = { ".state.json.tmp-Ab12Cd",
	    ".x.tmp-ZZZZZZ" };
	const char	*keep[] = { "state.json", ".hidden",
	    "notes.tmp-abcdef", ".state.json.tmp-abc", ".y.tmp-abc_ef" };
	char		 path[256], names[512];
	size_t		 i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, stale[i]);
		assert_int_equal(atomic_write(path, "torn", 4, 0600), 0);
	}
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "%s/%s", fx->dir, keep[i]);
		assert_int_equal(atomic_write(path, "keep", 4, 0600), 0);
	}
	/* Not a regular file, so not ours to remove. */
	snprintf(path, sizeof(path), "%s/.d.tmp-AAAAAA", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);

	capture_begin();
	assert_int_equal(atomic_cleanup(fx->dir), 2);
	assert_non_null(strstr(capture_end(), ".x.tmp-ZZZZZZ"));
	assert_int_equal(dir_entries(fx->dir, names, sizeof(names)), 6);
	for (i = 0; i < 2; i++)
		assert_null(strstr(names, stale[i]));
	assert_int_equal(atomic_cleanup(fx->dir), 0);

	snprintf(path, sizeof(path), "%s/missing", fx->dir);
	assert_int_equal(atomic_cleanup(path), -1);
}

/* Non-root: take write permission away from the directory itself. */
static void
check_unwritable_dir(const struct fixture *fx)
{
	errno = 0;
	assert_int_equal(atomic_write(fx->path, "new", 3, 0644), -1);
	assert_int_equal(errno, EACCES);
}

static void
child_unwritable_dir(const struct fixture *fx)
{
	CHILD_CHECK(priv_drop("nobody", "nogroup", NULL) == 0);
	errno = 0;
	CHILD_CHECK(atomic_write(fx->path, "new", 3, 0644) == -1);
	CHILD_CHECK(errno == EACCES);
	_exit(0);
}

static void
test_unwritable_dir(void **state)
{
	struct fixture	*fx = *state;
	pid_t		 pid;
	int		 status;

	assert_int_equal(atomic_write(fx->path, "old", 3, 0644), 0);
	assert_int_equal(chmod(fx->dir, 0555), 0);
	if (geteuid() != 0)
		check_unwritable_dir(fx);
	else {
		/* Root writes anywhere; the check runs as nobody. */
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			child_unwritable_dir(fx);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(chmod(fx->dir, 0700), 0);
	assert_file_is(fx->path, "old", 3);
	assert_only_target(fx);
}

/*
 * A private mount namespace with a small tmpfs on the test directory:
 * it vanishes with the child, whatever happens. Exits CHILD_SKIP where
 * mounting is not allowed.
 */
static void
child_tmpfs(const struct fixture *fx, const char *size)
{
	char	 opts[32];

	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1)
		_exit(CHILD_SKIP);
	snprintf(opts, sizeof(opts), "size=%s,mode=0700", size);
	if (mount("tmpfs", fx->dir, "tmpfs", 0, opts) == -1)
		_exit(CHILD_SKIP);
	CHILD_CHECK(atomic_write(fx->path, "old", 3, 0600) == 0);
}

static void
child_check_old(const struct fixture *fx)
{
	uint8_t	*buf;
	size_t	 len;
	char	 names[512];

	CHILD_CHECK(util_read_file(fx->path, 64, &buf, &len) == 0);
	CHILD_CHECK(len == 3 && memcmp(buf, "old", 3) == 0);
	free(buf);
	CHILD_CHECK(dir_entries(fx->dir, names, sizeof(names)) == 1);
	CHILD_CHECK(strcmp(names, "state.json") == 0);
}

static void
child_enospc(const struct fixture *fx)
{
	size_t	 len = 1 << 20;
	char	*big;

	child_tmpfs(fx, "64k");
	CHILD_CHECK((big = malloc(len)) != NULL);
	memset(big, 'x', len);
	errno = 0;
	CHILD_CHECK(atomic_write(fx->path, big, len, 0600) == -1);
	CHILD_CHECK(errno == ENOSPC);
	child_check_old(fx);
	_exit(0);
}

static void
child_rofs(const struct fixture *fx)
{
	child_tmpfs(fx, "64k");
	CHILD_CHECK(mount(NULL, fx->dir, NULL, MS_REMOUNT | MS_RDONLY,
	    NULL) == 0);
	errno = 0;
	CHILD_CHECK(atomic_write(fx->path, "new", 3, 0600) == -1);
	CHILD_CHECK(errno == EROFS);
	child_check_old(fx);
	_exit(0);
}

static void
run_mount_child(const struct fixture *fx,
    void (*fn)(const struct fixture *))
{
	pid_t	 pid;
	int	 status;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		fn(fx);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == CHILD_SKIP) {
		print_message("cannot mount a tmpfs here (needs root and a "
		    "private mount namespace)\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_disk_full(void **state)
{
	run_mount_child(*state, child_enospc);
}

static void
test_read_only_fs(void **state)
{
	run_mount_child(*state, child_rofs);
}

/*
 * The crash test. A child rewrites the file without pause, alternating
 * two complete contents; the parent kills it with SIGKILL after a random
 * delay, at whatever step it happens to be, and checks that the file is
 * one of the two, whole. The delays come from a seeded generator so that
 * a failure can be replayed with ZOTAD_TEST_SEED.
 */
#define CRASH_BODY	(64 * 1024)
#define CRASH_LEN	(CRASH_BODY + SHA512_HEX_LEN)
#define CRASH_ROUNDS	250
#define CRASH_MAX_USEC	20000

/* FILL repeated, then the SHA-512 of that body in hex. */
static void
crash_content(uint8_t *buf, char fill)
{
	char	 hex[SHA512_HEX_LEN + 1];

	memset(buf, fill, CRASH_BODY);
	util_sha512_hex(buf, CRASH_BODY, hex);
	memcpy(buf + CRASH_BODY, hex, SHA512_HEX_LEN);
}

static void
crash_writer(const char *path, const uint8_t *a, const uint8_t *b,
    int ready)
{
	unsigned long	 n;

	if (write(ready, "r", 1) != 1)
		_exit(2);
	for (n = 0;; n++)
		if (atomic_write(path, n % 2 ? b : a, CRASH_LEN, 0600) == -1)
			_exit(1);
}

/* The file must be exactly A or B and agree with its own checksum. */
static void
crash_check(const char *path, const uint8_t *a, const uint8_t *b,
    unsigned int round)
{
	char	 hex[SHA512_HEX_LEN + 1];
	uint8_t	*buf;
	size_t	 len;

	if (util_read_file(path, 2 * CRASH_LEN, &buf, &len) == -1)
		fail_msg("round %u: cannot read the file: %s", round,
		    strerror(errno));
	if (len != CRASH_LEN)
		fail_msg("round %u: file is %zu bytes, not %d", round, len,
		    CRASH_LEN);
	util_sha512_hex(buf, CRASH_BODY, hex);
	if (memcmp(buf + CRASH_BODY, hex, SHA512_HEX_LEN) != 0 ||
	    (memcmp(buf, a, CRASH_LEN) != 0 && memcmp(buf, b, CRASH_LEN) != 0))
		fail_msg("round %u: file is torn", round);
	free(buf);
}

static void
crash_round(const struct fixture *fx, const uint8_t *a, const uint8_t *b,
    unsigned int *seed, unsigned int round)
{
	struct timespec	 delay;
	int		 ready[2], status;
	pid_t		 pid;
	char		 c;
	long		 usec;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(ready[0]);
		crash_writer(fx->path, a, b, ready[1]);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);

	/* The random kill point is the test, not a wait for anything. */
	usec = rand_r(seed) % CRASH_MAX_USEC;
	delay.tv_sec = 0;
	delay.tv_nsec = usec * 1000;
	nanosleep(&delay, NULL);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
		fail_msg("round %u: the writer stopped by itself (status "
		    "%#x)", round, status);
	crash_check(fx->path, a, b, round);
}

static void
test_crash_never_torn(void **state)
{
	struct fixture	*fx = *state;
	uint8_t		*a, *b;
	const char	*env = getenv("ZOTAD_TEST_SEED");
	unsigned int	 seed, round;
	int		 stale;

	seed = env != NULL ? (unsigned int)strtoul(env, NULL, 10) : 20260301;
	print_message("crash test seed %u (set ZOTAD_TEST_SEED to replay)\n",
	    seed);
	assert_non_null(a = malloc(CRASH_LEN));
	assert_non_null(b = malloc(CRASH_LEN));
	crash_content(a, 'A');
	crash_content(b, 'B');
	assert_int_equal(atomic_write(fx->path, a, CRASH_LEN, 0600), 0);

	for (round = 0; round < CRASH_ROUNDS; round++)
		crash_round(fx, a, b, &seed, round);

	/* Whatever the kills left behind, start-up clears it. */
	capture_begin();
	stale = atomic_cleanup(fx->dir);
	capture_end();
	assert_true(stale >= 0);
	print_message("%d of %d kills left a temporary file\n", stale,
	    CRASH_ROUNDS);
	assert_only_target(fx);
	crash_check(fx->path, a, b, round);
	free(a);
	free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_write_read_back,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_relative_path,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_errors,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_round_trip,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_write_needs_object,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_missing,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_hostile,
		    setup, teardown),
		cmocka_unit_test(test_parse_reason),
		cmocka_unit_test_setup_teardown(test_read_deep_nesting,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_not_regular,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_cleanup_stale_temps,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unwritable_dir,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_only_fs,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_never_torn,
		    setup, teardown),
	};

	log_init("test", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
