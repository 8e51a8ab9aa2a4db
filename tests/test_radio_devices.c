/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/* The device registry: persistence, hostile state files, z2m import. */

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "devices.h"
#include "zcl.h"

static char	 dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/zotad-devices-test.XXXXXX");
	return (mkdtemp(dir) == NULL);
}

static int
teardown(void **state)
{
	char	 cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return (system(cmd) != 0);
}

static void
put(const char *name, const char *text)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static void
test_ieee(void **state)
{
	uint64_t	 v;
	char		 s[19];

	(void)state;
	assert_int_equal(dev_ieee_parse("0x0017880100000001", &v), 0);
	assert_true(v == 0x0017880100000001ULL);
	dev_ieee_str(v, s);
	assert_string_equal(s, "0x0017880100000001");
	assert_int_equal(dev_ieee_parse("0X00178801000000AB", &v), 0);
	assert_int_equal(dev_ieee_parse("0x001788010000001", &v), -1);
	assert_int_equal(dev_ieee_parse("0x00178801000000011", &v), -1);
	assert_int_equal(dev_ieee_parse("0x-017880100000001", &v), -1);
	assert_int_equal(dev_ieee_parse("0x00178801 0000001", &v), -1);
	assert_int_equal(dev_ieee_parse(NULL, &v), -1);
}

/* What goes in comes back after a restart. */
static void
test_round_trip(void **state)
{
	struct registry	*r;
	struct device	*d;

	(void)state;
	r = reg_new(dir);
	assert_non_null(r);
	d = reg_add(r, 0x1122334455667788ULL, 0x1234);
	assert_non_null(d);
	snprintf(d->model, sizeof(d->model), "LCT001");
	d->type = DEV_ROUTER;
	d->neps = 1;
	d->eps[0].id = 11;
	d->eps[0].profile = 260;
	d->eps[0].nout = 1;
	d->eps[0].out[0] = ZCL_CLUSTER_OTA;
	d->has_ota_info = 1;
	d->file_version = 0xFFFFFFFFU;
	d->scheduled = 1;
	snprintf(d->schedule_url, sizeof(d->schedule_url),
	    "https://example.org/fw \u00e9.ota");
	d->interview = DEV_IV_RUNNING;
	assert_non_null(d = reg_add(r, 2, 0x2222));
	d->scheduled = 1;
	d->schedule_image = 1;
	assert_int_equal(reg_save(r), 0);
	reg_free(r);

	r = reg_new(dir);
	assert_int_equal(reg_load(r, NULL), 2);
	d = reg_find(r, 0x1122334455667788ULL);
	assert_non_null(d);
	assert_int_equal(d->nwk, 0x1234);
	assert_string_equal(d->model, "LCT001");
	assert_int_equal(dev_ota_ep(d), 11);
	assert_true(d->file_version == 0xFFFFFFFFU);
	assert_true(d->scheduled);
	/* A schedule's url is kept exactly, UTF-8 and all. */
	assert_string_equal(d->schedule_url,
	    "https://example.org/fw \u00e9.ota");
	assert_false(d->schedule_image);
	assert_true(reg_find(r, 2)->schedule_image);
	assert_string_equal(reg_find(r, 2)->schedule_url, "");
	/* An interview a restart cut off is done again. */
	assert_int_equal(d->interview, DEV_IV_NONE);
	assert_ptr_equal(reg_find_nwk(r, 0x2222), reg_find(r, 2));
	reg_remove(r, 2);
	assert_null(reg_find(r, 2));
	assert_int_equal(reg_count(r), 1);
	reg_free(r);
}

/* Bad entries are skipped one by one; the good ones stay. */
static void
test_hostile_state(void **state)
{
	struct registry	*r;

	(void)state;
	put(DEV_FILE, "{\"devices\": ["
	    "{\"ieee\": \"0x0000000000000001\", \"nwk\": 1},"
	    "{\"ieee\": \"nonsense\"},"
	    "{\"ieee\": \"0x0000000000000003\", \"nwk\": 70000},"
	    "{\"ieee\": \"0x0000000000000004\", \"endpoints\": [{\"id\": 0}]},"
	    "{\"ieee\": \"0x0000000000000005\", \"model_id\": 5},"
	    "{\"ieee\": \"0x0000000000000006\", \"interview\": \"maybe\"},"
	    "{\"ieee\": \"0x0000000000000007\","
	    " \"ota\": {\"file_version\": -1}},"
	    "{\"ieee\": \"0x0000000000000009\", \"scheduled\": true,"
	    " \"schedule_url\": \"a\\nb\"},"
	    "{\"ieee\": \"0x000000000000000a\", \"scheduled\": true,"
	    " \"schedule_url\": 5},"
	    "{\"ieee\": \"0x000000000000000b\", \"schedule_image\": true,"
	    " \"schedule_url\": \"x.ota\"},"
	    "17,"
	    "{\"ieee\": \"0x0000000000000008\", \"nwk\": 8, \"endpoints\":"
	    " [{\"id\": 1, \"in\": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"
	    " 13, 14, 15, 16, 17, 18]}]}"
	    "]}");
	r = reg_new(dir);
	assert_int_equal(reg_load(r, NULL), 3);
	assert_non_null(reg_find(r, 1));
	/* A source without a schedule is no schedule's source. */
	assert_false(reg_find(r, 0xb)->schedule_image);
	assert_string_equal(reg_find(r, 0xb)->schedule_url, "");
	/* Too many clusters: the first ones are kept. */
	assert_int_equal(reg_find(r, 8)->eps[0].nin, DEV_MAX_CLUSTERS);
	reg_free(r);

	put(DEV_FILE, "[1, 2, 3]");
	r = reg_new(dir);
	assert_int_equal(reg_load(r, NULL), -1);
	assert_int_equal(reg_count(r), 0);
	reg_free(r);
}

static const char z2m_db[] =
    "{\"id\":1,\"type\":\"Coordinator\",\"ieeeAddr\":\"0x00124b0000000000\","
    "\"nwkAddr\":0}\n"
    "\n"
    "{\"id\":2,\"type\":\"Router\",\"ieeeAddr\":\"0x0017880100000001\","
    "\"nwkAddr\":4097,\"manufId\":4107,\"manufName\":\"Sig\\u0001nify\","
    "\"powerSource\":\"Mains (single phase)\",\"modelId\":"
    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
    "\"endpoints\":{\"11\":{\"profId\":260,\"inClusterList\":[0],"
    "\"outClusterList\":[25]},\"999\":{}},\"interviewCompleted\":true}\n"
    "{\"id\":3,\"type\":\"EndDevice\",\"ieeeAddr\":\"0x000d6f0000000002\","
    "\"nwkAddr\":8194,\"powerSource\":\"Battery\"}\n"
    "{\"id\":4,\"type\":\"EndDevice\",\"ieeeAddr\":\"0xZZ\",\"nwkAddr\":1}\n"
    "{\"id\":5,\"type\":\"Router\",\"ieeeAddr\":\"0x0000000000000005\","
    "\"nwkAddr\":\"high\"}\n"
    "{\"id\":6,\"type\":\"Router\",\"ieeeAddr\":\"0x0000000000000006\","
    "\"nwkAddr\":6}";	/* no final newline */

static void
test_import(void **state)
{
	struct registry	*r;
	struct device	*d;
	char		 path[128];

	(void)state;
	put("database.db", z2m_db);
	r = reg_new(dir);
	assert_int_equal(reg_load(r, dir), 3);
	d = reg_find(r, 0x0017880100000001ULL);
	assert_non_null(d);
	assert_string_equal(d->manufacturer, "Signify");
	assert_int_equal(strlen(d->model), DEV_STR_MAX);
	assert_int_equal(d->neps, 1);
	assert_int_equal(dev_ota_ep(d), 11);
	assert_int_equal(d->interview, DEV_IV_DONE);
	assert_false(dev_on_battery(d));
	d = reg_find(r, 0x000d6f0000000002ULL);
	assert_true(dev_on_battery(d));
	assert_false(d->rx_on_idle);
	assert_int_equal(d->interview, DEV_IV_NONE);
	assert_non_null(reg_find(r, 6));
	/* The import was written as our own registry. */
	snprintf(path, sizeof(path), "%s/%s", dir, DEV_FILE);
	assert_int_equal(access(path, F_OK), 0);
	reg_free(r);

	/* Once the registry holds devices the database is not read again. */
	put("database.db", "");
	r = reg_new(dir);
	assert_int_equal(reg_load(r, dir), 3);
	reg_free(r);

	/* An empty registry takes the database's devices. */
	put(DEV_FILE, "{\"devices\": []}");
	put("database.db", z2m_db);
	r = reg_new(dir);
	assert_int_equal(reg_load(r, dir), 3);
	reg_free(r);
}

static void
test_no_database(void **state)
{
	struct registry	*r;

	(void)state;
	r = reg_new(dir);
	assert_int_equal(reg_load(r, dir), 0);
	assert_int_equal(reg_count(r), 0);
	reg_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ieee),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_hostile_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_database, setup,
		    teardown),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
