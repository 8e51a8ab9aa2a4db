/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-fetch's image checks, the sealed hand-over and the image cache,
 * without any network.
 */

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fetch.h"
#include "log.h"
#include "otafile.h"
#include "util.h"

#define TV_SIZE		1500
#define TV_MAX		(64 * 1024)

struct tv {
	uint8_t			*buf;
	size_t			 len;
	struct otaindex_entry	 e;
	char			 dir[64];
};

static int
tv_setup(void **state)
{
	struct ota_make_params	 p;
	struct tv		*t;

	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	memset(&p, 0, sizeof(p));
	p.manufacturer_code = 0x117c;
	p.image_type = 0x2101;
	p.file_version = 0x23094631;
	p.stack_version = OTA_STACK_PRO;
	p.total_size = TV_SIZE;
	p.seed = 7;
	assert_int_equal(ota_make(&p, &t->buf, &t->len), 0);
	t->e.manufacturer_code = p.manufacturer_code;
	t->e.image_type = p.image_type;
	t->e.file_version = p.file_version;
	t->e.has = OTAINDEX_HAS_SHA512;
	util_sha512_hex(t->buf, t->len, t->e.sha512);
	strcpy(t->dir, "/tmp/test_fetch_verify.XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	*state = t;
	return (0);
}

static void
tv_rm(const char *dir)
{
	char		 path[PATH_MAX], sub[PATH_MAX + 256];
	struct dirent	*de;
	DIR		*d;

	snprintf(path, sizeof(path), "%s/%s", dir, IMAGE_CACHE_DIR);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			if (de->d_name[0] != '.')
				unlink(sub);
		}
		closedir(d);
		rmdir(path);
	}
	rmdir(dir);
}

static int
tv_teardown(void **state)
{
	struct tv	*t = *state;

	tv_rm(t->dir);
	free(t->buf);
	free(t);
	return (0);
}

static void
tv_expect(const uint8_t *buf, size_t len, const struct otaindex_entry *e,
    size_t max, const char *why_part)
{
	char	 sha[SHA512_HEX_LEN + 1], why[VERIFY_WHY_LEN];

	why[0] = '\0';
	assert_int_equal(fetch_verify_image(buf, len, e, max, sha, why,
	    sizeof(why)), -1);
	if (strstr(why, why_part) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", why_part, why);
}

static void
test_verify_good(void **state)
{
	struct tv	*t = *state;
	char		 sha[SHA512_HEX_LEN + 1], why[VERIFY_WHY_LEN];

	assert_int_equal(fetch_verify_image(t->buf, t->len, &t->e, TV_MAX, sha,
	    why, sizeof(why)), 0);
	assert_string_equal(sha, t->e.sha512);
	/* Without a SHA-512 in the index, the header checks still apply. */
	t->e.has = 0;
	assert_int_equal(fetch_verify_image(t->buf, t->len, &t->e, TV_MAX, sha,
	    why, sizeof(why)), 0);
}

/* Each failing check is the one named. */
static void
test_verify_each_check(void **state)
{
	struct tv		*t = *state;
	struct otaindex_entry	 e;

	tv_expect(t->buf, t->len, &t->e, t->len - 1, "size");
	e = t->e;
	e.sha512[0] = e.sha512[0] == '0' ? '1' : '0';
	tv_expect(t->buf, t->len, &e, TV_MAX, "sha512");
	e = t->e;
	e.has = 0;
	tv_expect(t->buf, 40, &e, TV_MAX, "OTA header");
	e.manufacturer_code++;
	tv_expect(t->buf, t->len, &e, TV_MAX, "manufacturer code");
	e = t->e;
	e.image_type++;
	tv_expect(t->buf, t->len, &e, TV_MAX, "image type");
	e = t->e;
	e.file_version--;
	tv_expect(t->buf, t->len, &e, TV_MAX, "file version");
}

static void
test_memfd_sealed(void **state)
{
	struct tv	*t = *state;
	uint8_t		 back[TV_SIZE + 1];
	struct stat	 st;
	int		 fd, seals;

	fd = fetch_verify_memfd(t->buf, t->len, "test");
	assert_true(fd >= 0);
	seals = fcntl(fd, F_GET_SEALS);
	assert_true(seals & F_SEAL_WRITE);
	assert_true(seals & F_SEAL_SHRINK);
	assert_true(seals & F_SEAL_GROW);
	assert_true(seals & F_SEAL_SEAL);
	assert_int_equal(write(fd, "x", 1), -1);
	assert_int_equal(ftruncate(fd, 1), -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((size_t)st.st_size, t->len);
	assert_int_equal(read(fd, back, sizeof(back)), (ssize_t)t->len);
	assert_memory_equal(back, t->buf, t->len);
	close(fd);
}

static void
tv_sha(int i, char sha[SHA512_HEX_LEN + 1])
{
	util_sha512_hex(&i, sizeof(i), sha);
}

static void
tv_set_used(const char *dir, const char *sha, time_t when)
{
	struct timespec	 ts[2];
	char		 path[PATH_MAX];

	fetch_cache_path(dir, sha, path, sizeof(path));
	ts[0].tv_sec = ts[1].tv_sec = when;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* The least recently used images go first, and only as many as needed. */
static void
test_cache_lru(void **state)
{
	struct tv	*t = *state;
	char		 sha[4][SHA512_HEX_LEN + 1];
	uint8_t		*buf;
	size_t		 len;
	int		 i;

	for (i = 0; i < 4; i++) {
		tv_sha(i, sha[i]);
		assert_int_equal(fetch_cache_store(t->dir, sha[i], t->buf,
		    t->len), 0);
		tv_set_used(t->dir, sha[i], 1000 + i);
	}
	/* Loading image 0 makes it the most recently used. */
	assert_int_equal(fetch_cache_load(t->dir, sha[0], TV_MAX, &buf,
	    &len), 0);
	assert_int_equal(len, t->len);
	free(buf);
	assert_int_equal(fetch_cache_evict(t->dir, 2 * t->len), 0);
	assert_int_equal(fetch_cache_load(t->dir, sha[1], TV_MAX, &buf,
	    &len), -1);
	assert_int_equal(fetch_cache_load(t->dir, sha[2], TV_MAX, &buf,
	    &len), -1);
	assert_int_equal(fetch_cache_load(t->dir, sha[3], TV_MAX, &buf,
	    &len), 0);
	free(buf);
	assert_int_equal(fetch_cache_load(t->dir, sha[0], TV_MAX, &buf,
	    &len), 0);
	free(buf);
}

/* Cache names are hashes only: nothing else reaches the file system. */
static void
test_cache_names(void **state)
{
	struct tv	*t = *state;
	uint8_t		*buf;
	size_t		 len;

	assert_int_equal(fetch_cache_store(t->dir, "../../etc/passwd", t->buf,
	    t->len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fetch_cache_load(t->dir, "../../etc/passwd", TV_MAX,
	    &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(fetch_cache_store(t->dir, "ABCDEF", t->buf, t->len),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_verify_good, tv_setup,
		    tv_teardown),
		cmocka_unit_test_setup_teardown(test_verify_each_check,
		    tv_setup, tv_teardown),
		cmocka_unit_test_setup_teardown(test_memfd_sealed, tv_setup,
		    tv_teardown),
		cmocka_unit_test_setup_teardown(test_cache_lru, tv_setup,
		    tv_teardown),
		cmocka_unit_test_setup_teardown(test_cache_names, tv_setup,
		    tv_teardown),
	};

	log_init("test_fetch_verify", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
