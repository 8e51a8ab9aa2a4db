/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "fetch.h"
#include "log.h"

#define DEV_A		0x00124b0012345678ULL
#define DEV_B		0x00158d0000aabbccULL
#define INTERVAL	(1440 * 60)
#define T0		1790000000

struct gate_fixture {
	char	 dir[64];
	char	 path[128];
};

static int
setup(void **state)
{
	struct gate_fixture	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_fetch_gate.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/%s", f->dir, GATE_STATE_FILE);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	struct gate_fixture	*f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return (0);
}

/* A device never checked may reach the network; then not for a day. */
static void
test_automatic_once_per_interval(void **state)
{
	struct gate_fixture	*f = *state;
	struct gate		*g;

	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_judge(g, DEV_A, 1, 0, T0), GATE_NETWORK);
	assert_int_equal(gate_record(g, DEV_A, T0), 0);
	assert_int_equal(gate_judge(g, DEV_A, 1, 0, T0 + 1), GATE_CACHE_ONLY);
	assert_int_equal(gate_judge(g, DEV_A, 1, 0, T0 + INTERVAL - 1),
	    GATE_CACHE_ONLY);
	assert_int_equal(gate_judge(g, DEV_A, 1, 0, T0 + INTERVAL),
	    GATE_NETWORK);
	/* The limit is per device: another one is not held back. */
	assert_int_equal(gate_judge(g, DEV_B, 1, 0, T0 + 1), GATE_NETWORK);
	gate_free(g);
}

static void
test_manual_and_disabled(void **state)
{
	struct gate_fixture	*f = *state;
	struct gate		*g;

	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_judge(g, DEV_A, 1, 1, T0), GATE_DISABLED);
	assert_int_equal(gate_record(g, DEV_A, T0), 0);
	assert_int_equal(gate_judge(g, DEV_A, 0, 0, T0 + 1), GATE_NETWORK);
	assert_int_equal(gate_judge(g, DEV_A, 0, 1, T0 + 1), GATE_NETWORK);
	assert_int_equal(gate_judge(g, DEV_A, 1, 1, T0 + 1), GATE_DISABLED);
	gate_free(g);
}

/* The last-check times come back after a restart. */
static void
test_persists(void **state)
{
	struct gate_fixture	*f = *state;
	struct gate		*g;
	struct stat		 st;

	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_record(g, DEV_A, T0), 0);
	assert_int_equal(gate_record(g, DEV_B, T0 + 60), 0);
	gate_free(g);

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_ndevices(g), 2);
	assert_int_equal(gate_last(g, DEV_A), T0);
	assert_int_equal(gate_last(g, DEV_B), T0 + 60);
	assert_int_equal(gate_judge(g, DEV_A, 1, 0, T0 + 10), GATE_CACHE_ONLY);
	gate_free(g);
}

static void
write_state(const char *path, const char *text)
{
	FILE	*fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

/* A damaged or hostile state file costs at most one early check. */
static void
test_bad_state(void **state)
{
	struct gate_fixture	*f = *state;
	struct gate		*g;

	write_state(f->path, "{\"devices\": {\"0x00124b0012345678\": ");
	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_ndevices(g), 0);
	gate_free(g);

	write_state(f->path, "{\"devices\": {\"0x00124b0012345678\": 5,"
	    " \"bogus\": 7, \"0x00158d0000aabbcc\": \"soon\","
	    " \"0x00158d0000aabbcd\": -4}}");
	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_ndevices(g), 1);
	assert_int_equal(gate_last(g, DEV_A), 5);
	gate_free(g);
}

/* Times that no longer restrict anything are not kept. */
static void
test_prune(void **state)
{
	struct gate_fixture	*f = *state;
	struct gate		*g;

	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_record(g, DEV_A, T0), 0);
	assert_int_equal(gate_record(g, DEV_B, T0 + INTERVAL), 0);
	assert_int_equal(gate_ndevices(g), 1);
	assert_int_equal(gate_last(g, DEV_A), -1);
	gate_free(g);
	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_ndevices(g), 1);
	assert_int_equal(gate_last(g, DEV_B), T0 + INTERVAL);
	gate_free(g);
}

/* A clock set far back must not lock a device out for good. */
static void
test_clock_back(void **state)
{
	struct gate_fixture	*f = *state;
	struct gate		*g;

	g = gate_new(f->path, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_record(g, DEV_A, T0), 0);
	assert_int_equal(gate_judge(g, DEV_A, 1, 0, T0 - 60), GATE_CACHE_ONLY);
	assert_int_equal(gate_judge(g, DEV_A, 1, 0, T0 - 2 * INTERVAL),
	    GATE_NETWORK);
	gate_free(g);
}

/* A fresh index is reused even when the network is allowed. */
static void
test_source(void **state)
{
	struct gate	*g;

	(void)state;
	g = gate_new(NULL, INTERVAL);
	assert_non_null(g);
	assert_int_equal(gate_source(g, GATE_NETWORK, 0, 0, T0),
	    GATE_SOURCE_FETCH);
	assert_int_equal(gate_source(g, GATE_NETWORK, 1, T0 - 5, T0),
	    GATE_SOURCE_USE);
	assert_int_equal(gate_source(g, GATE_NETWORK, 1, T0 - INTERVAL, T0),
	    GATE_SOURCE_FETCH);
	assert_int_equal(gate_source(g, GATE_CACHE_ONLY, 1, T0 - 9 * INTERVAL,
	    T0), GATE_SOURCE_USE);
	assert_int_equal(gate_source(g, GATE_CACHE_ONLY, 0, 0, T0),
	    GATE_SOURCE_NONE);
	gate_free(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_automatic_once_per_interval, setup, teardown),
		cmocka_unit_test_setup_teardown(test_manual_and_disabled,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_persists, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_clock_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_prune, setup, teardown),
		cmocka_unit_test(test_source),
	};

	log_init("test_fetch_gate", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
