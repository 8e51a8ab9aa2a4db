/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-mqtt's request, response and state payloads, without a broker:
 * every payload form zigbee2mqtt accepts and every way to get one wrong.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "mqttd.h"

#define T_MAX_IMAGE	64

static int
parse(const char *topic, const char *payload, struct mqreq *req, char *err,
    size_t errlen)
{
	memset(req, 0, sizeof(*req));
	err[0] = '\0';
	assert_int_equal(mqreq_topic(topic, req), 0);
	return (mqreq_parse(req, payload, strlen(payload), T_MAX_IMAGE, err,
	    errlen));
}

static void
t_topics(void **state)
{
	struct mqreq	 r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("check", &r), 0);
	assert_int_equal(r.verb, MQREQ_CHECK);
	assert_false(r.downgrade);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("Update/Downgrade", &r), 0);
	assert_int_equal(r.verb, MQREQ_UPDATE);
	assert_true(r.downgrade);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("update/abort", &r), 0);
	assert_true(r.abort);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("schedule/downgrade", &r), 0);
	assert_int_equal(r.verb, MQREQ_SCHEDULE);
	assert_true(r.downgrade);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("unschedule", &r), 0);
	assert_int_equal(r.verb, MQREQ_UNSCHEDULE);
	/* A known verb with a suffix that does not apply: answer there. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("check/abort", &r), -2);
	assert_int_equal(r.verb, MQREQ_CHECK);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("unschedule/downgrade", &r), -2);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("checks", &r), -1);
	assert_int_equal(mqreq_topic("", &r), -1);
	assert_int_equal(mqreq_topic("install", &r), -1);
}

static void
t_bare(void **state)
{
	struct mqreq	 r;
	char		 err[256];

	(void)state;
	assert_int_equal(parse("check", "living room/lamp one", &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.id, "living room/lamp one");
	assert_true(r.bare);
	assert_null(r.transaction);
	mqreq_clear(&r);

	/* A trailing newline from "mosquitto_pub -l" or echo is not kept. */
	assert_int_equal(parse("update", "  0x00124B0012345678\n", &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.id, "0x00124B0012345678");
	mqreq_clear(&r);

	/* A JSON string is a bare id too, as zigbee2mqtt parses it. */
	assert_int_equal(parse("check", "\"kitchen\"", &r, err, sizeof(err)),
	    0);
	assert_string_equal(r.id, "kitchen");
	mqreq_clear(&r);
}

static void
t_object(void **state)
{
	struct mqreq	 r;
	char		 err[256];

	(void)state;
	assert_int_equal(parse("update", "{\"id\": \"a/b c\", \"transaction\":"
	    " {\"n\": [1, 2]}, \"url\": \"https://example.org/x.ota\", "
	    "\"image_block_request_timeout\": 20000, "
	    "\"image_block_response_delay\": 100, "
	    "\"default_maximum_data_size\": 64, \"unknown\": true}", &r, err,
	    sizeof(err)), 0);
	assert_string_equal(r.id, "a/b c");
	assert_false(r.bare);
	assert_non_null(r.transaction);
	assert_true(cJSON_IsObject(r.transaction));
	assert_string_equal(r.url, "https://example.org/x.ota");
	assert_int_equal(r.block_request_timeout, 20000);
	assert_int_equal(r.block_response_delay, 100);
	assert_int_equal(r.max_data_size, 64);
	mqreq_clear(&r);

	/* Falsy overrides mean "as configured". */
	assert_int_equal(parse("update", "{\"id\": \"x\", "
	    "\"image_block_response_delay\": 0, "
	    "\"default_maximum_data_size\": null}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.block_response_delay, 0);
	assert_int_equal(r.max_data_size, 0);
	mqreq_clear(&r);

	/* Schedule takes no timing overrides: they are ignored. */
	assert_int_equal(parse("schedule", "{\"id\": \"x\", "
	    "\"image_block_response_delay\": 1}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.block_response_delay, 0);
	mqreq_clear(&r);

	/* It takes a source of its own, as an update does. */
	assert_int_equal(parse("schedule/downgrade", "{\"id\": \"x\", "
	    "\"url\": \"https://example.org/old.ota\"}", &r, err,
	    sizeof(err)), 0);
	assert_true(r.downgrade);
	assert_string_equal(r.url, "https://example.org/old.ota");
	mqreq_clear(&r);
	assert_int_equal(parse("schedule", "{\"id\": \"x\", \"hex\": "
	    "{\"data\": \"1ef1\"}}", &r, err, sizeof(err)), 0);
	assert_int_equal(r.image_len, 2);
	assert_memory_equal(r.image, "\x1e\xf1", 2);
	mqreq_clear(&r);
	assert_int_equal(parse("schedule", "{\"id\": \"x\", \"hex\": "
	    "{\"data\": \"1ef1\"}, \"url\": \"y.ota\"}", &r, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "Invalid payload: 'url' and 'hex' cannot be "
	    "used together");
	mqreq_clear(&r);
	/* Unschedule has no source: one is not even looked at. */
	assert_int_equal(parse("unschedule", "{\"id\": \"x\", \"url\": 7}",
	    &r, err, sizeof(err)), 0);
	assert_null(r.url);
	mqreq_clear(&r);
}

static void
t_hex(void **state)
{
	struct mqreq	 r;
	char		 err[256];

	(void)state;
	assert_int_equal(parse("update", "{\"id\": \"x\", \"hex\": {\"data\":"
	    " \"1EF1ee0B\", \"file_name\": \"fw.ota\"}}", &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.image_len, 4);
	assert_memory_equal(r.image, "\x1e\xf1\xee\x0b", 4);
	assert_string_equal(r.file_name, "fw.ota");
	mqreq_clear(&r);

	assert_int_equal(parse("update", "{\"id\": \"x\", \"hex\": {\"data\":"
	    " \"1EF\"}}", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'hex.data'"));
	mqreq_clear(&r);
	assert_int_equal(parse("update", "{\"id\": \"x\", \"hex\": {\"data\":"
	    " \"1g\"}}", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "offset 1"));
	mqreq_clear(&r);
	assert_int_equal(parse("update", "{\"id\": \"x\", \"hex\": {\"data\":"
	    " \"00\", \"file_name\": \"../etc/passwd\"}}", &r, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'hex.file_name'"));
	mqreq_clear(&r);
	assert_int_equal(parse("update", "{\"id\": \"x\", \"hex\": \"00\"}",
	    &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'hex' must be an object"));
	mqreq_clear(&r);
	assert_int_equal(parse("check", "{\"id\": \"x\", \"hex\": {\"data\": "
	    "\"00\"}}", &r, err, sizeof(err)), -1);
	mqreq_clear(&r);
	assert_int_equal(parse("update", "{\"id\": \"x\", \"url\": \"u\", "
	    "\"hex\": {\"data\": \"00\"}}", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot be used together"));
	mqreq_clear(&r);
}

static void
t_hex_too_big(void **state)
{
	struct mqreq	 r;
	char		 err[256], payload[512];
	int		 n, i;

	(void)state;
	n = snprintf(payload, sizeof(payload), "{\"id\": \"x\", \"hex\": "
	    "{\"data\": \"");
	for (i = 0; i < 2 * (T_MAX_IMAGE + 1); i++)
		payload[n++] = 'a';
	snprintf(payload + n, sizeof(payload) - (size_t)n, "\"}}");
	assert_int_equal(parse("update", payload, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "65 bytes, more than the 64 allowed"));
	mqreq_clear(&r);
}

/* Each bad payload gets a message naming what was wrong. */
static void
t_errors(void **state)
{
	static const struct {
		const char	*topic;
		const char	*payload;
		const char	*want;
	} cases[] = {
		{ "check", "", "empty" },
		{ "check", "   ", "empty" },
		{ "check", "{\"id\": ", "not valid JSON" },
		{ "check", "[1, 2]", "expected a device name" },
		{ "check", "{}", "'id' is missing" },
		{ "check", "{\"id\": null}", "'id' is missing" },
		{ "check", "{\"id\": 12}", "'id' must be a string" },
		{ "check", "{\"id\": \"\"}", "empty" },
		{ "check", "{\"id\": \"a\\u0001b\"}", "control characters" },
		{ "check", "{\"id\": \"x\", \"url\": 5}", "'url' must be" },
		{ "check", "{\"id\": \"x\", \"url\": \"\"}", "'url' must be" },
		{ "update", "{\"id\": \"x\", \"image_block_response_delay\": "
		    "\"fast\"}", "'image_block_response_delay' must be a num" },
		{ "update", "{\"id\": \"x\", \"image_block_response_delay\": "
		    "10}", "from 50 to" },
		{ "update", "{\"id\": \"x\", \"default_maximum_data_size\": "
		    "101}", "from 10 to 100" },
		{ "update", "{\"id\": \"x\", \"image_block_request_timeout\": "
		    "1.5}", "whole number" },
	};
	struct mqreq	 r;
	char		 err[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(parse(cases[i].topic, cases[i].payload, &r,
		    err, sizeof(err)), -1);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("payload %s: got \"%s\", want \"%s\"",
			    cases[i].payload, err, cases[i].want);
		mqreq_clear(&r);
	}
}

/* The transaction is kept even when the rest is wrong, to echo it. */
static void
t_transaction_on_error(void **state)
{
	struct mqreq	 r;
	char		 err[256];

	(void)state;
	assert_int_equal(parse("check", "{\"transaction\": \"t-1\"}", &r, err,
	    sizeof(err)), -1);
	assert_non_null(r.transaction);
	assert_string_equal(r.transaction->valuestring, "t-1");
	mqreq_clear(&r);
}

static void
t_invalid_utf8(void **state)
{
	struct mqreq	 r;
	char		 err[256];

	(void)state;
	assert_int_equal(parse("check", "lamp\xc3", &r, err, sizeof(err)),
	    -1);
	mqreq_clear(&r);
	assert_int_equal(parse("check", "lamp\xe2\x82", &r, err, sizeof(err)),
	    -1);
	mqreq_clear(&r);
	assert_int_equal(parse("check", "l\xc3\xa4mpe \xe2\x82\xac", &r, err,
	    sizeof(err)), 0);
	mqreq_clear(&r);
	memset(&r, 0, sizeof(r));
	assert_int_equal(mqreq_topic("check", &r), 0);
	assert_int_equal(mqreq_parse(&r, "ab\0cd", 5, T_MAX_IMAGE, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	mqreq_clear(&r);
}

static void
t_responses(void **state)
{
	cJSON	*tr;
	char	*s;

	(void)state;
	s = mqresp_ok(mqresp_check_data("lamp", 1, 0, "https://x/y.ota",
	    NULL), NULL);
	assert_string_equal(s, "{\"data\":{\"id\":\"lamp\",\"update_available"
	    "\":true,\"updateAvailable\":true,\"downgrade\":false,\"source\":"
	    "\"https://x/y.ota\"},\"status\":\"ok\"}");
	free(s);
	tr = cJSON_CreateNumber(42);
	s = mqresp_error("Device 'x' does not exist", tr);
	assert_string_equal(s, "{\"data\":{},\"status\":\"error\",\"error\":"
	    "\"Device 'x' does not exist\",\"transaction\":42}");
	free(s);
	cJSON_Delete(tr);
}

static int
permit(const char *payload, struct mqbridge_permit *p, char *err,
    size_t errlen)
{
	return (mqbridge_permit_parse(payload, strlen(payload), p, err,
	    errlen));
}

static void
t_permit(void **state)
{
	struct mqbridge_permit	 p;
	char			 err[256];

	(void)state;
	assert_int_equal(permit("{\"time\": 60, \"device\": "
	    "\"router\", \"transaction\": 3}", &p, err, sizeof(err)), 0);
	assert_int_equal(p.time, 60);
	assert_string_equal(p.device, "router");
	assert_non_null(p.transaction);
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("{\"value\": false}", &p,
	    err, sizeof(err)), 0);
	assert_int_equal(p.time, 0);
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("true", &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.time, MQBRIDGE_PERMIT_MAX);
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("300", &p, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "'time'"));
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("{\"time\": \"x\", "
	    "\"transaction\": 1}", &p, err, sizeof(err)), -1);
	assert_non_null(p.transaction);
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("open", &p, err,
	    sizeof(err)), -1);
	mqbridge_permit_clear(&p);

	/* The device to open joining through must name one. */
	assert_int_equal(permit("{\"time\": 5, \"device\": 7}", &p, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "Invalid payload: 'device' must be a "
	    "device's name or IEEE address");
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("{\"time\": 5, \"device\": \"\"}", &p, err,
	    sizeof(err)), -1);
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("{\"time\": 5, \"device\": null}", &p, err,
	    sizeof(err)), 0);
	assert_null(p.device);
	mqbridge_permit_clear(&p);
	assert_int_equal(permit("{\"value\": true, \"device\": "
	    "\"Coordinator\"}", &p, err, sizeof(err)), 0);
	assert_int_equal(p.time, MQBRIDGE_PERMIT_MAX);
	assert_string_equal(p.device, "Coordinator");
	mqbridge_permit_clear(&p);
}

static struct config *
load_config(const char *text)
{
	struct config	*c;
	char		 err[256];

	c = config_load_buffer(text, strlen(text), "test.yaml", "/tmp", err,
	    sizeof(err));
	if (c == NULL)
		fail_msg("%s", err);
	return (c);
}

static cJSON *
json(const char *text)
{
	cJSON	*j = cJSON_Parse(text);

	assert_non_null(j);
	return (j);
}

static void
t_devices(void **state)
{
	struct config	*c;
	struct mqdevs	*t;
	struct mqdev	*d;
	cJSON		*o;
	char		 err[256], *s;
	int		 added;

	(void)state;
	c = load_config("devices:\n  '0x00124b0012345678':\n"
	    "    friendly_name: 'hall/lamp 1'\n    retain: true\n");
	assert_non_null(t = mqdevs_new(c));
	o = json("{\"ieee\": \"0x00124b0012345678\", \"type\": \"router\", "
	    "\"model_id\": \"TRADFRI bulb\", \"manufacturer_name\": \"IKEA\","
	    " \"interview\": \"done\", \"ota_endpoint\": 1, "
	    "\"ota\": {\"file_version\": 16909060}}");
	assert_non_null(d = mqdevs_upsert(t, o, &added, err, sizeof(err)));
	assert_true(added);
	cJSON_Delete(o);
	assert_string_equal(d->friendly_name, "hall/lamp 1");
	assert_true(d->retain);
	assert_true(d->supports_ota);
	assert_string_equal(d->type, "Router");
	assert_ptr_equal(mqdevs_resolve(t, "hall/lamp 1"), d);
	assert_ptr_equal(mqdevs_resolve(t, "0x00124B0012345678"), d);
	assert_null(mqdevs_resolve(t, "hall/lamp"));
	assert_null(mqdevs_resolve(t, "0x00124b001234567"));

	s = mqdevs_state_payload(d, 1);
	assert_string_equal(s, "{\"update\":{\"state\":\"idle\","
	    "\"installed_version\":16909060,\"latest_version\":null,"
	    "\"latest_source\":null,\"latest_release_notes\":null},"
	    "\"update_available\":false}");
	free(s);

	o = json("{\"state\": \"updating\", \"progress\": 12.3456, "
	    "\"remaining\": 30.4, \"latest_version\": 16909061}");
	assert_int_equal(mqdevs_apply_update(d, o), 1);
	assert_int_equal(mqdevs_apply_update(d, o), 0);
	cJSON_Delete(o);
	s = mqdevs_state_payload(d, 0);
	assert_string_equal(s, "{\"update\":{\"state\":\"updating\","
	    "\"installed_version\":16909060,\"latest_version\":16909061,"
	    "\"latest_source\":null,\"latest_release_notes\":null,"
	    "\"progress\":12.35,\"remaining\":30}}");
	free(s);

	/* A malformed state changes nothing. */
	o = json("{\"state\": \"exploded\"}");
	assert_int_equal(mqdevs_apply_update(d, o), -1);
	cJSON_Delete(o);
	o = json("{\"progress\": 101}");
	assert_int_equal(mqdevs_apply_update(d, o), -1);
	cJSON_Delete(o);
	assert_int_equal(d->up.state, MQDEV_UPDATING);

	o = json("{\"ieee\": \"0x1\"}");
	assert_null(mqdevs_upsert(t, o, &added, err, sizeof(err)));
	cJSON_Delete(o);
	o = json("{\"ieee\": \"0x00124b0012345679\", \"model_id\": 7}");
	assert_null(mqdevs_upsert(t, o, &added, err, sizeof(err)));
	assert_non_null(strstr(err, "0x00124b0012345679"));
	cJSON_Delete(o);
	assert_int_equal(mqdevs_count(t), 1);
	mqdevs_free(t);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_topics),
		cmocka_unit_test(t_bare),
		cmocka_unit_test(t_object),
		cmocka_unit_test(t_hex),
		cmocka_unit_test(t_hex_too_big),
		cmocka_unit_test(t_errors),
		cmocka_unit_test(t_transaction_on_error),
		cmocka_unit_test(t_invalid_utf8),
		cmocka_unit_test(t_responses),
		cmocka_unit_test(t_permit),
		cmocka_unit_test(t_devices),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
