/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#define DATA		"tests/data/config"
#define ERRLEN		512

static const uint8_t default_key[CONFIG_NETWORK_KEY_LEN] = {
	1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13
};

/* The absolute data dir the loader must report for files in DATA. */
static char *
data_dir(void)
{
	static char	 dir[PATH_MAX];

	assert_non_null(realpath(DATA, dir));
	return (dir);
}

static struct config *
load_ok(const char *path)
{
	struct config	*cfg;
	char		 err[ERRLEN] = "";

	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	return (cfg);
}

/* Load the YAML text TEXT as if it were DATA/inline.yaml. */
static struct config *
load_text(const char *text, char *err)
{
	return (config_load_buffer(text, strlen(text), DATA "/inline.yaml",
	    data_dir(), err, ERRLEN));
}

static void
expect_text_error(const char *text, const char *want)
{
	struct config	*cfg;
	char		 err[ERRLEN] = "";

	cfg = load_text(text, err);
	if (cfg != NULL) {
		config_free(cfg);
		fail_msg("accepted: %s", text);
	}
	assert_string_equal(err, want);
}

static void
assert_defaults_except_mqtt_serial(const struct config *cfg)
{
	size_t	 i;

	assert_int_equal(cfg->ota.update_check_interval, 1440);
	assert_int_equal(cfg->ota.disable_automatic_update_check, 0);
	assert_null(cfg->ota.zigbee_ota_override_index_location);
	assert_int_equal(cfg->ota.ikea_ota_use_test_url, 0);
	assert_int_equal(cfg->ota.image_block_response_delay, 250);
	assert_int_equal(cfg->ota.default_maximum_data_size, 50);
	assert_int_equal(cfg->ota.image_block_request_timeout, 150000);

	assert_int_equal(cfg->homeassistant.enabled, 0);
	assert_string_equal(cfg->homeassistant.discovery_topic,
	    "homeassistant");
	assert_string_equal(cfg->homeassistant.status_topic,
	    "homeassistant/status");

	assert_int_equal(cfg->advanced.pan_id_generate, 0);
	assert_int_equal(cfg->advanced.pan_id, 0x1a62);
	assert_int_equal(cfg->advanced.ext_pan_id_generate, 0);
	for (i = 0; i < CONFIG_EXT_PAN_ID_LEN; i++)
		assert_int_equal(cfg->advanced.ext_pan_id[i], 0xdd);
	assert_int_equal(cfg->advanced.channel, 11);
	assert_int_equal(cfg->advanced.network_key_generate, 0);
	assert_memory_equal(cfg->advanced.network_key, default_key,
	    sizeof(default_key));
	assert_int_equal(cfg->advanced.legacy_api, 0);
	assert_int_equal(cfg->advanced.log_level, CONFIG_LOG_INFO);

	assert_string_equal(cfg->zotad.state_dir, "/var/lib/zotad");
	assert_string_equal(cfg->zotad.cache_dir, "/var/cache/zotad");
	assert_string_equal(cfg->zotad.run_dir, "/run/zotad");
	assert_string_equal(cfg->zotad.index_url, "https://raw."
	    "githubusercontent.com/Koenkk/zigbee-OTA/master/index.json");
	assert_string_equal(cfg->zotad.downgrade_index_url, "https://raw."
	    "githubusercontent.com/Koenkk/zigbee-OTA/master/index1.json");
	assert_string_equal(cfg->zotad.ikea_index_url,
	    "http://fw.ota.homesmart.ikea.net/feed/version_info.json");
	assert_string_equal(cfg->zotad.ikea_test_index_url,
	    "http://fw.test.ota.homesmart.ikea.net/feed/version_info.json");
	assert_string_equal(cfg->zotad.user_radio, "zotad-radio");
	assert_string_equal(cfg->zotad.user_fetch, "zotad-fetch");
	assert_string_equal(cfg->zotad.user_mqtt, "zotad-mqtt");
	assert_int_equal(cfg->zotad.max_image_size, 16 * 1024 * 1024);
	assert_int_equal(cfg->zotad.max_index_size, 8 * 1024 * 1024);
	assert_int_equal(cfg->zotad.max_concurrent_updates, 1);
	assert_int_equal(cfg->zotad.fetch_timeout, 120);
	assert_int_equal(cfg->zotad.min_battery, 20);

	assert_int_equal(cfg->ndevices, 0);
	assert_int_equal(cfg->nwarnings, 0);
}

static void
test_empty_file_is_all_defaults(void **state)
{
	struct config	*cfg = load_ok(DATA "/empty.yaml");

	(void)state;
	assert_string_equal(cfg->path, DATA "/empty.yaml");
	assert_string_equal(cfg->data_dir, data_dir());

	assert_string_equal(cfg->mqtt.base_topic, "zigbee2mqtt");
	assert_string_equal(cfg->mqtt.server, "mqtt://localhost:1883");
	assert_string_equal(cfg->mqtt.host, "localhost");
	assert_int_equal(cfg->mqtt.port, 1883);
	assert_int_equal(cfg->mqtt.tls, 0);
	assert_null(cfg->mqtt.user);
	assert_null(cfg->mqtt.password);
	assert_null(cfg->mqtt.client_id);
	assert_int_equal(cfg->mqtt.keepalive, 60);
	assert_int_equal(cfg->mqtt.version, 4);
	assert_null(cfg->mqtt.ca);
	assert_null(cfg->mqtt.cert);
	assert_null(cfg->mqtt.key);
	assert_int_equal(cfg->mqtt.reject_unauthorized, 1);

	assert_null(cfg->serial.port);
	assert_int_equal(cfg->serial.adapter, CONFIG_ADAPTER_AUTO);
	assert_int_equal(cfg->serial.baudrate, 115200);
	assert_int_equal(cfg->serial.rtscts, 0);

	assert_defaults_except_mqtt_serial(cfg);
	config_free(cfg);
}

static void
test_minimal(void **state)
{
	struct config	*cfg = load_ok(DATA "/minimal.yaml");

	(void)state;
	assert_string_equal(cfg->mqtt.base_topic, "zigbee2mqtt");
	assert_string_equal(cfg->mqtt.server, "mqtt://192.168.1.10");
	assert_string_equal(cfg->mqtt.host, "192.168.1.10");
	assert_int_equal(cfg->mqtt.port, 1883);
	assert_int_equal(cfg->mqtt.tls, 0);
	assert_null(cfg->mqtt.user);
	assert_null(cfg->mqtt.password);
	assert_int_equal(cfg->mqtt.keepalive, 60);
	assert_int_equal(cfg->mqtt.version, 4);
	assert_int_equal(cfg->mqtt.reject_unauthorized, 1);

	assert_string_equal(cfg->serial.port, "/dev/ttyUSB0");
	assert_int_equal(cfg->serial.adapter, CONFIG_ADAPTER_AUTO);
	assert_int_equal(cfg->serial.baudrate, 115200);
	assert_int_equal(cfg->serial.rtscts, 0);

	assert_defaults_except_mqtt_serial(cfg);
	config_free(cfg);
}

static void
assert_full_mqtt_serial_ota(const struct config *cfg)
{
	char	 path[PATH_MAX + 32];

	assert_string_equal(cfg->mqtt.base_topic, "z2m");
	assert_string_equal(cfg->mqtt.server,
	    "mqtts://broker.example.net:8884");
	assert_string_equal(cfg->mqtt.host, "broker.example.net");
	assert_int_equal(cfg->mqtt.port, 8884);
	assert_int_equal(cfg->mqtt.tls, 1);
	assert_string_equal(cfg->mqtt.user, "zotad");
	assert_string_equal(cfg->mqtt.password, "s3cr3t-Passw0rd");
	assert_string_equal(cfg->mqtt.client_id, "zotad-test");
	assert_int_equal(cfg->mqtt.keepalive, 30);
	assert_int_equal(cfg->mqtt.version, 5);
	snprintf(path, sizeof(path), "%s/certs/ca.pem", data_dir());
	assert_string_equal(cfg->mqtt.ca, path);
	assert_string_equal(cfg->mqtt.cert, "/etc/zotad/client.pem");
	assert_string_equal(cfg->mqtt.key, "/etc/zotad/client.key");
	assert_int_equal(cfg->mqtt.reject_unauthorized, 0);

	assert_string_equal(cfg->serial.port,
	    "/dev/serial/by-id/usb-Texas_Instruments_CC2652R1-if00");
	assert_int_equal(cfg->serial.adapter, CONFIG_ADAPTER_ZSTACK);
	assert_int_equal(cfg->serial.baudrate, 230400);
	assert_int_equal(cfg->serial.rtscts, 1);

	assert_int_equal(cfg->ota.update_check_interval, 720);
	assert_int_equal(cfg->ota.disable_automatic_update_check, 1);
	snprintf(path, sizeof(path), "%s/my_index.json", data_dir());
	assert_string_equal(cfg->ota.zigbee_ota_override_index_location,
	    path);
	assert_int_equal(cfg->ota.ikea_ota_use_test_url, 1);
	assert_int_equal(cfg->ota.image_block_response_delay, 100);
	assert_int_equal(cfg->ota.default_maximum_data_size, 64);
	assert_int_equal(cfg->ota.image_block_request_timeout, 300000);
}

static void
assert_full_devices(const struct config *cfg)
{
	const struct config_device	*d = cfg->devices;

	assert_int_equal(cfg->ndevices, 3);
	assert_string_equal(d[0].ieee, "0x00124b00beef0001");
	assert_true(d[0].ieee_addr == 0x00124b00beef0001ULL);
	assert_string_equal(d[0].friendly_name, "kitchen/ceiling light");
	assert_int_equal(d[0].retain, 1);
	assert_int_equal(d[0].qos, 2);
	assert_int_equal(d[0].disable_automatic_update_check, 1);

	assert_string_equal(d[1].ieee, "0x00158d0001a2b3c4");
	assert_true(d[1].ieee_addr == 0x00158d0001a2b3c4ULL);
	assert_string_equal(d[1].friendly_name, "hall sensor");
	assert_int_equal(d[1].retain, 0);
	assert_int_equal(d[1].qos, 1);
	assert_int_equal(d[1].disable_automatic_update_check, 0);

	/* Without a friendly name a device is known by its address. */
	assert_string_equal(d[2].ieee, "0xa4c138aabbccddee");
	assert_true(d[2].ieee_addr == 0xa4c138aabbccddeeULL);
	assert_string_equal(d[2].friendly_name, "0xa4c138aabbccddee");
	assert_int_equal(d[2].retain, 0);
	assert_int_equal(d[2].qos, 0);
	assert_int_equal(d[2].disable_automatic_update_check, 0);

	assert_ptr_equal(config_device_by_addr(cfg, 0x00158d0001a2b3c4ULL),
	    &d[1]);
	assert_null(config_device_by_addr(cfg, 0x00158d0001a2b3c5ULL));
	assert_ptr_equal(config_device_by_name(cfg, "kitchen/ceiling light"),
	    &d[0]);
	assert_null(config_device_by_name(cfg, "kitchen"));
}

static void
assert_full_rest(const struct config *cfg)
{
	static const uint8_t ext[] = { 1, 2, 3, 4, 5, 6, 7, 0xff };
	static const uint8_t key[] = { 17, 34, 51, 68, 85, 102, 119, 136,
	    153, 170, 187, 204, 221, 238, 255, 0 };

	assert_int_equal(cfg->homeassistant.enabled, 1);
	assert_string_equal(cfg->homeassistant.discovery_topic,
	    "ha-discovery");
	assert_string_equal(cfg->homeassistant.status_topic,
	    "ha-discovery/status");

	assert_int_equal(cfg->advanced.pan_id_generate, 0);
	assert_int_equal(cfg->advanced.pan_id, 0x1a2b);
	assert_int_equal(cfg->advanced.ext_pan_id_generate, 0);
	assert_memory_equal(cfg->advanced.ext_pan_id, ext, sizeof(ext));
	assert_int_equal(cfg->advanced.channel, 25);
	assert_int_equal(cfg->advanced.network_key_generate, 0);
	assert_memory_equal(cfg->advanced.network_key, key, sizeof(key));
	assert_int_equal(cfg->advanced.legacy_api, 1);
	assert_int_equal(cfg->advanced.log_level, CONFIG_LOG_DEBUG);

	assert_string_equal(cfg->zotad.state_dir, "/srv/zotad/state");
	assert_string_equal(cfg->zotad.cache_dir, "/srv/zotad/cache");
	assert_string_equal(cfg->zotad.run_dir, "/run/zotad-test");
	assert_string_equal(cfg->zotad.index_url,
	    "https://ota.example.net/index.json");
	assert_string_equal(cfg->zotad.downgrade_index_url,
	    "http://127.0.0.1:8080/index1.json");
	assert_string_equal(cfg->zotad.ikea_index_url,
	    "https://ota.example.net/ikea.json");
	assert_string_equal(cfg->zotad.ikea_test_index_url,
	    "http://127.0.0.1:8080/ikea-test.json");
	assert_string_equal(cfg->zotad.user_radio, "zradio");
	assert_string_equal(cfg->zotad.user_fetch, "zfetch");
	assert_string_equal(cfg->zotad.user_mqtt, "zmqtt");
	assert_int_equal(cfg->zotad.max_image_size, 4194304);
	assert_int_equal(cfg->zotad.max_index_size, 1048576);
	assert_int_equal(cfg->zotad.max_concurrent_updates, 2);
	assert_int_equal(cfg->zotad.fetch_timeout, 30);
	assert_int_equal(cfg->zotad.min_battery, 35);
}

static void
test_full(void **state)
{
	struct config	*cfg = load_ok(DATA "/full.yaml");

	(void)state;
	assert_string_equal(cfg->path, DATA "/full.yaml");
	assert_string_equal(cfg->data_dir, data_dir());
	assert_full_mqtt_serial_ota(cfg);
	assert_full_devices(cfg);
	assert_full_rest(cfg);
	/* Other zigbee2mqtt keys (frontend, groups, ...) pass silently. */
	assert_int_equal(cfg->nwarnings, 0);
	config_free(cfg);
}

/* The example users copy must load cleanly and show the defaults. */
static void
test_example(void **state)
{
	struct config	*cfg = load_ok("config/configuration.example.yaml");

	(void)state;
	assert_string_equal(cfg->mqtt.server, "mqtt://localhost:1883");
	assert_null(cfg->mqtt.user);
	assert_null(cfg->mqtt.password);
	assert_null(cfg->mqtt.ca);
	assert_int_equal(cfg->mqtt.keepalive, 60);
	assert_int_equal(cfg->mqtt.version, 4);
	assert_int_equal(cfg->mqtt.reject_unauthorized, 1);
	assert_string_equal(cfg->serial.port, "/dev/ttyUSB0");
	assert_int_equal(cfg->serial.adapter, CONFIG_ADAPTER_ZSTACK);
	assert_int_equal(cfg->serial.baudrate, 115200);
	assert_int_equal(cfg->serial.rtscts, 0);
	assert_int_equal(cfg->ndevices, 1);
	assert_string_equal(cfg->devices[0].friendly_name,
	    "living room/lamp");

	/* Everything else is written out at its default value. */
	cfg->ndevices = 0;
	assert_defaults_except_mqtt_serial(cfg);
	cfg->ndevices = 1;
	config_free(cfg);
}

static void
test_unknown_keys_warn(void **state)
{
	struct config	*cfg = load_ok(DATA "/unknown-keys.yaml");
	const char	*f = DATA "/unknown-keys.yaml";
	char		 want[256];

	(void)state;
	assert_int_equal(cfg->nwarnings, 5);
	snprintf(want, sizeof(want), "%s:9: unknown key 'mqtt.sever'", f);
	assert_string_equal(cfg->warnings[0], want);
	snprintf(want, sizeof(want), "%s:18: unknown key 'advanced.log_lvl'",
	    f);
	assert_string_equal(cfg->warnings[1], want);
	snprintf(want, sizeof(want),
	    "%s:22: unknown key 'homeassistant.discovry_topic'", f);
	assert_string_equal(cfg->warnings[2], want);
	snprintf(want, sizeof(want), "%s:24: unknown key 'zotad.max_images'",
	    f);
	assert_string_equal(cfg->warnings[3], want);
	snprintf(want, sizeof(want), "%s:25: unknown key 'colour'", f);
	assert_string_equal(cfg->warnings[4], want);

	/* The known keys beside them still count. */
	assert_string_equal(cfg->mqtt.server, "mqtt://localhost");
	assert_int_equal(cfg->ndevices, 1);
	assert_string_equal(cfg->devices[0].friendly_name, "lamp");
	config_free(cfg);
}

static void
test_warnings_are_capped(void **state)
{
	struct config	*cfg;
	char		 text[4096], err[ERRLEN];
	size_t		 len = 0;
	int		 i;

	(void)state;
	for (i = 0; i < 100; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "typo%d: 1\n", i);
	cfg = load_text(text, err);
	assert_non_null(cfg);
	assert_int_equal(cfg->nwarnings, CONFIG_MAX_WARNINGS + 1);
	assert_string_equal(cfg->warnings[0],
	    DATA "/inline.yaml:1: unknown key 'typo0'");
	assert_string_equal(cfg->warnings[CONFIG_MAX_WARNINGS],
	    DATA "/inline.yaml: more unknown keys, not listed");
	config_free(cfg);
}

/* One file per kind of mistake, with the exact message. */
struct error_case {
	const char	*file;
	const char	*message;
};

static struct error_case error_cases[] = {
	{ "bad-int.yaml", "3: ota.update_check_interval: 'abc' is not an "
	  "integer (minutes, 1 or more)" },
	{ "bad-range.yaml", "2: ota.default_maximum_data_size: '200' is out "
	  "of range (bytes, 10 to 100)" },
	{ "bad-bool.yaml", "3: serial.rtscts: 'yes' is not a boolean (true "
	  "or false)" },
	{ "bad-enum.yaml", "2: serial.adapter: 'cc2531' is not a known value "
	  "(zstack, ember, ezsp, deconz, zigate, zboss or zoh)" },
	{ "bad-ieee.yaml", "4: devices: '0x00124b00beefzz02' is not an IEEE "
	  "address (0x and 16 hex digits)" },
	{ "bad-url-scheme.yaml", "2: mqtt.server: "
	  "'http://broker.example.net:1883' is not an MQTT URL "
	  "(mqtt://HOST[:PORT] or mqtts://HOST[:PORT])" },
	{ "wrong-type.yaml", "3: mqtt: expected a map, found a list" },
	{ "missing-secret.yaml", "3: mqtt.password: secret 'mqtt_pasword' "
	  "is not in " DATA "/secret.yaml" },
	{ "nosecret/configuration.yaml", "3: mqtt.password: secret "
	  "'mqtt_password': cannot read " DATA "/nosecret/secret.yaml: "
	  "No such file or directory" },
	{ "duplicate.yaml", "6: duplicate key 'ota.update_check_interval' "
	  "(first at line 4)" },
	{ "syntax.yaml", "3: YAML syntax error: did not find expected key "
	  "(while parsing a block mapping at line 1)" },
	{ "secret-hidden.yaml", "3: mqtt.keepalive: '<hidden>' is not an "
	  "integer (seconds, 0 or 5 to 65535)" },
	{ "network-key-hidden.yaml", "2: advanced.network_key[15]: "
	  "'<hidden>' is out of range (0 to 255)" },
	{ "alias.yaml", "3: YAML aliases (*name) are not supported" },
	{ "files-missing.yaml", "4: devices[1]: cannot read " DATA
	  "/no-such-devices.yaml: No such file or directory" },
};

static void
test_error_file(void **state)
{
	const struct error_case	*c = *state;
	struct config		*cfg;
	char			 path[256], want[ERRLEN], err[ERRLEN] = "";

	snprintf(path, sizeof(path), "%s/%s", DATA, c->file);
	snprintf(want, sizeof(want), "%s:%s", path, c->message);
	cfg = config_load(path, err, sizeof(err));
	if (cfg != NULL) {
		config_free(cfg);
		fail_msg("%s was accepted", path);
	}
	assert_string_equal(err, want);
}

static void
test_secret_never_in_messages(void **state)
{
	char		 err[ERRLEN];
	struct config	*cfg;

	(void)state;
	/* A secret bound for a number, an MQTT URL with a password. */
	cfg = load_text("ota:\n  update_check_interval: "
	    "!secret mqtt_password\n", err);
	assert_null(cfg);
	assert_null(strstr(err, "s3cr3t"));
	assert_non_null(strstr(err, "'<hidden>'"));

	cfg = load_text("mqtt:\n  server: mqtt://me:hunter2@broker\n", err);
	assert_null(cfg);
	assert_null(strstr(err, "hunter2"));
	assert_string_equal(err, DATA "/inline.yaml:2: mqtt.server: "
	    "'<hidden>' holds credentials; set mqtt.user and mqtt.password "
	    "instead");

	/* A secret is a value, never a whole section. */
	cfg = load_text("mqtt: '!secret mqtt_password'\n", err);
	assert_null(cfg);
	assert_string_equal(err, DATA "/inline.yaml:1: mqtt: expected a map, "
	    "found a value");

	cfg = load_text("mqtt:\n  password: [1, 2]\n", err);
	assert_null(cfg);
	assert_string_equal(err, DATA "/inline.yaml:2: mqtt.password: "
	    "expected a string, found a list");
}

static void
test_oversized_file(void **state)
{
	char		 path[] = "/tmp/zotad-config-XXXXXX", err[ERRLEN];
	char		 want[ERRLEN], line[64];
	struct config	*cfg;
	FILE		*f;
	int		 fd;
	size_t		 i;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	/* Exactly at the cap: comments only, so all defaults. */
	memset(line, '#', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\n';
	for (i = 0; i < CONFIG_FILE_MAX / sizeof(line); i++)
		assert_int_equal(fwrite(line, sizeof(line), 1, f), 1);
	assert_int_equal(fflush(f), 0);
	cfg = config_load(path, err, sizeof(err));
	assert_non_null(cfg);
	assert_int_equal(cfg->mqtt.port, 1883);
	config_free(cfg);

	/* One byte more is refused. */
	assert_int_equal(fputc('\n', f), '\n');
	assert_int_equal(fclose(f), 0);
	cfg = config_load(path, err, sizeof(err));
	unlink(path);
	assert_null(cfg);
	snprintf(want, sizeof(want), "%s: the file is larger than 1048576 "
	    "bytes", path);
	assert_string_equal(err, want);
}

static void
test_unreadable(void **state)
{
	char	 err[ERRLEN];

	(void)state;
	assert_null(config_load(DATA "/no-such.yaml", err, sizeof(err)));
	assert_string_equal(err, DATA "/no-such.yaml: cannot read: No such "
	    "file or directory");
	assert_null(config_load(DATA, err, sizeof(err)));
	assert_string_equal(err, DATA ": cannot read: not a regular file");
	assert_null(config_load_buffer("", 0, "x.yaml", "relative", err,
	    sizeof(err)));
	assert_string_equal(err, "x.yaml: the data dir must be an absolute "
	    "path");
}

static void
test_yaml_abuse(void **state)
{
	char	 deep[200];
	size_t	 i;

	(void)state;
	expect_text_error("mqtt:\n  base_topic: a\n---\nota: {}\n",
	    DATA "/inline.yaml:3: only one YAML document is allowed");
	expect_text_error("mqtt:\n  base_topic: \"a\\0b\"\n",
	    DATA "/inline.yaml:2: NUL characters are not allowed");
	expect_text_error("mqtt:\n  base_topic: !include x.yaml\n",
	    DATA "/inline.yaml:2: unsupported YAML tag '!include'");
	expect_text_error("? [a, b]\n: 1\n",
	    DATA "/inline.yaml:1: a key must be a plain value, not a list");
	expect_text_error("- mqtt\n",
	    DATA "/inline.yaml:1: expected a map of sections at the top, "
	    "found a list");

	for (i = 0; i < 40; i++)
		deep[i] = '[';
	deep[i] = '\0';
	expect_text_error(deep, DATA "/inline.yaml:1: nested deeper than 32 "
	    "levels");
}

static void
test_devices(void **state)
{
	(void)state;
	/* IEEE keys are compared after normalising to lower case. */
	expect_text_error("devices:\n  '0x00124b00BEEF0001': {}\n"
	    "  '0x00124b00beef0001': {}\n",
	    DATA "/inline.yaml:3: duplicate key "
	    "'devices.0x00124b00beef0001' (first at line 2)");
	expect_text_error("devices:\n  '0x0000000000000001':\n"
	    "    friendly_name: lamp\n  '0x0000000000000002':\n"
	    "    friendly_name: lamp\n",
	    DATA "/inline.yaml:4: devices: duplicate friendly_name 'lamp' "
	    "(first at line 2)");
	expect_text_error("devices:\n  '0x0000000000000001':\n"
	    "    friendly_name: lamp/+\n",
	    DATA "/inline.yaml:3: devices.0x0000000000000001.friendly_name: "
	    "'lamp/+' is not allowed (not empty; no +, #, control characters,"
	    " leading or trailing /, or /NUMBER at the end)");
	expect_text_error("devices:\n  '0x0000000000000001':\n"
	    "    friendly_name: lamp/2\n",
	    DATA "/inline.yaml:3: devices.0x0000000000000001.friendly_name: "
	    "'lamp/2' is not allowed (not empty; no +, #, control characters,"
	    " leading or trailing /, or /NUMBER at the end)");
	expect_text_error("devices:\n  '0x0000000000000001':\n    qos: 3\n",
	    DATA "/inline.yaml:3: devices.0x0000000000000001.qos: '3' is out "
	    "of range (0, 1 or 2)");
	expect_text_error("devices:\n  '0x0000000000000001': lamp\n",
	    DATA "/inline.yaml:2: devices.0x0000000000000001: expected a map,"
	    " found a value");
	expect_text_error("devices:\n  '0x00000000000001': {}\n",
	    DATA "/inline.yaml:2: devices: '0x00000000000001' is not an IEEE "
	    "address (0x and 16 hex digits)");
}

/* As expect_text_error, with each '@' in WANT standing for the data dir. */
static void
expect_text_error_at(const char *text, const char *want)
{
	char	 full[ERRLEN];
	size_t	 o = 0;

	for (; *want != '\0' && o + 1 < sizeof(full); want++) {
		if (*want != '@') {
			full[o++] = *want;
			continue;
		}
		o += (size_t)snprintf(full + o, sizeof(full) - o, "%s",
		    data_dir());
		if (o >= sizeof(full))
			fail_msg("expected message too long");
	}
	full[o] = '\0';
	expect_text_error(text, full);
}

/* zigbee2mqtt's "devices: [a.yaml, b.yaml]": the files, merged in order. */
static void
test_device_files(void **state)
{
	struct config			*cfg = load_ok(DATA "/files.yaml");
	const struct config_device	*d = cfg->devices;

	(void)state;
	assert_int_equal(cfg->ndevices, 3);
	assert_string_equal(d[0].ieee, "0x00124b00beef0001");
	assert_string_equal(d[0].friendly_name, "kitchen/ceiling light");
	assert_int_equal(d[0].retain, 1);
	assert_int_equal(d[0].qos, 2);
	/* !secret works in device files as in the configuration. */
	assert_string_equal(d[1].ieee, "0x00158d0001a2b3c4");
	assert_string_equal(d[1].friendly_name, "hall sensor");
	assert_int_equal(d[1].disable_automatic_update_check, 1);
	assert_string_equal(d[2].ieee, "0xa4c138aabbccddee");
	assert_string_equal(d[2].friendly_name, "0xa4c138aabbccddee");
	assert_int_equal(d[2].qos, 1);
	assert_ptr_equal(config_device_by_name(cfg, "hall sensor"), &d[1]);
	/* groups.yaml does not exist: group files are not read. */
	assert_int_equal(cfg->nwarnings, 0);
	config_free(cfg);
}

static void
expect_devices(const char *text, size_t n)
{
	struct config	*cfg;
	char		 err[ERRLEN] = "";

	if ((cfg = load_text(text, err)) == NULL)
		fail_msg("%s: %s", text, err);
	assert_int_equal(cfg->ndevices, n);
	assert_int_equal(cfg->nwarnings, 0);
	config_free(cfg);
}

static void
test_device_file_forms(void **state)
{
	char	 text[PATH_MAX + 64];

	(void)state;
	expect_devices("devices: devices-two.yaml\n", 1);
	expect_devices("devices: [devices-empty.yaml, devices-two.yaml]\n",
	    1);
	expect_devices("devices: []\n", 0);
	expect_devices("devices: nosecret/../devices-one.yaml\n", 2);
	/* An absolute name is fine when it is in the data dir. */
	snprintf(text, sizeof(text), "devices: %s/devices-two.yaml\n",
	    data_dir());
	expect_devices(text, 1);
	/* Groups are zigbee2mqtt's; whatever form they take is left. */
	expect_devices("groups: [no-such-groups.yaml, /etc/passwd]\n", 0);
	expect_devices("groups: no-such-groups.yaml\n", 0);
}

/* Mistakes inside a device file are reported in that file. */
static void
test_device_file_contents(void **state)
{
	(void)state;
	expect_text_error_at("devices: devices-notmap.yaml\n",
	    "@/devices-notmap.yaml:2: devices: expected a map keyed by IEEE "
	    "address, found a list");
	expect_text_error_at("devices: devices-bad.yaml\n",
	    "@/devices-bad.yaml:3: devices.0x0000000000000001.qos: '3' is out "
	    "of range (0, 1 or 2)");
	expect_text_error_at("devices: devices-deep.yaml\n",
	    "@/devices-deep.yaml:2: nested deeper than 32 levels");
	expect_text_error_at("devices: [devices-one.yaml, devices-dup.yaml]\n",
	    "@/devices-dup.yaml:3: devices: duplicate device "
	    "'0x00158d0001a2b3c4' (first at @/devices-one.yaml:7)");
	expect_text_error_at("devices:\n  - devices-one.yaml\n"
	    "  - devices-dupname.yaml\n",
	    "@/devices-dupname.yaml:2: devices: duplicate friendly_name "
	    "'kitchen/ceiling light' (first at @/devices-one.yaml:2)");
	expect_text_error_at("devices: [devices-two.yaml, syntax.yaml]\n",
	    "@/syntax.yaml:3: YAML syntax error: did not find expected key "
	    "(while parsing a block mapping at line 1)");
}

/* Wrong names, and names that lead outside the data dir. */
static void
test_device_file_names(void **state)
{
	(void)state;
	expect_text_error_at("devices: [devices-two.yaml, no-such.yaml]\n",
	    DATA "/inline.yaml:1: devices[1]: cannot read @/no-such.yaml: No "
	    "such file or directory");
	expect_text_error_at("devices: nosecret\n",
	    DATA "/inline.yaml:1: devices: cannot read @/nosecret: not a "
	    "regular file");
	expect_text_error_at("devices: [devices-two.yaml, ./devices-two.yaml]"
	    "\n", DATA "/inline.yaml:1: devices[1]: @/./devices-two.yaml is "
	    "listed twice");
	expect_text_error("devices: ../../test_config.c\n",
	    DATA "/inline.yaml:1: devices: '../../test_config.c' leads "
	    "outside the data dir (a file in the data dir)");
	expect_text_error("devices:\n  - /etc/passwd\n",
	    DATA "/inline.yaml:2: devices[0]: '/etc/passwd' leads outside the "
	    "data dir (a file in the data dir)");
	expect_text_error("devices: !secret mqtt_user\n",
	    DATA "/inline.yaml:1: devices: !secret names a value, not a file");
	expect_text_error("devices: [{a: 1}]\n",
	    DATA "/inline.yaml:1: devices[0]: expected a file name, found a "
	    "map");
	expect_text_error("devices: ['']\n",
	    DATA "/inline.yaml:1: devices[0]: '' is not a file name (a file "
	    "in the data dir)");
}

/* A scratch data dir, with a file outside it, for what git cannot hold. */
struct scratch {
	char	 top[32];
	char	 data[64];
	char	 conf[96];
};

static void
scratch_file(const struct scratch *s, const char *name, const char *text)
{
	char	 path[128];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", s->data, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* Load "devices: DEVICES" from the scratch dir; expect error WANT. */
static void
scratch_expect(const struct scratch *s, const char *devices,
    const char *want)
{
	struct config	*cfg;
	char		 text[256], full[ERRLEN], err[ERRLEN] = "";

	snprintf(text, sizeof(text), "devices: %s\n", devices);
	scratch_file(s, "configuration.yaml", text);
	snprintf(full, sizeof(full), "%s:1: %s", s->conf, want);
	cfg = config_load(s->conf, err, sizeof(err));
	if (cfg != NULL) {
		config_free(cfg);
		fail_msg("accepted: %s", text);
	}
	assert_string_equal(err, full);
}

static void
scratch_huge(const struct scratch *s)
{
	char	 path[128], want[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/huge.yaml", s->data);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fseek(f, CONFIG_FILE_MAX, SEEK_SET), 0);
	assert_int_equal(fputc('\n', f), '\n');
	assert_int_equal(fclose(f), 0);
	snprintf(want, sizeof(want), "devices: %s is larger than 1048576 "
	    "bytes", path);
	scratch_expect(s, "huge.yaml", want);
	unlink(path);
}

static void
scratch_links(const struct scratch *s)
{
	char	 path[128], want[256];

	snprintf(path, sizeof(path), "%s/loop.yaml", s->data);
	assert_int_equal(symlink("loop.yaml", path), 0);
	snprintf(want, sizeof(want), "devices: cannot read %s: Too many "
	    "levels of symbolic links", path);
	scratch_expect(s, "loop.yaml", want);
	unlink(path);

	snprintf(path, sizeof(path), "%s/link.yaml", s->data);
	assert_int_equal(symlink("../outside.yaml", path), 0);
	scratch_expect(s, "link.yaml", "devices: 'link.yaml' leads outside "
	    "the data dir (a file in the data dir)");
	unlink(path);
}

/* Opening a FIFO for reading would wait for a writer, for ever. */
static void
scratch_fifo(const struct scratch *s)
{
	char	 path[128], want[256];

	snprintf(path, sizeof(path), "%s/fifo.yaml", s->data);
	assert_int_equal(mkfifo(path, 0600), 0);
	snprintf(want, sizeof(want), "devices: cannot read %s: not a "
	    "regular file", path);
	alarm(30);
	scratch_expect(s, "fifo.yaml", want);
	alarm(0);
	unlink(path);
}

static void
scratch_many(const struct scratch *s)
{
	char	 list[256], name[16], path[128];
	size_t	 o, i;

	o = (size_t)snprintf(list, sizeof(list), "[");
	for (i = 0; i < 17; i++) {
		snprintf(name, sizeof(name), "d%zu.yaml", i);
		scratch_file(s, name, "{}\n");
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		    i > 0 ? ", " : "", name);
	}
	snprintf(list + o, sizeof(list) - o, "]");
	scratch_expect(s, list, "devices[16]: more than 16 device files");
	for (i = 0; i < 17; i++) {
		snprintf(path, sizeof(path), "%s/d%zu.yaml", s->data, i);
		unlink(path);
	}
}

static void
test_device_files_hostile(void **state)
{
	struct scratch	 s;
	char		 path[128];

	(void)state;
	snprintf(s.top, sizeof(s.top), "/tmp/zotad-config-XXXXXX");
	assert_non_null(mkdtemp(s.top));
	snprintf(s.data, sizeof(s.data), "%s/data", s.top);
	snprintf(s.conf, sizeof(s.conf), "%s/configuration.yaml", s.data);
	assert_int_equal(mkdir(s.data, 0700), 0);
	scratch_file(&s, "../outside.yaml", "{}\n");
	snprintf(path, sizeof(path), "%s/outside.yaml", s.top);

	scratch_huge(&s);
	scratch_links(&s);
	scratch_fifo(&s);
	scratch_many(&s);
	scratch_expect(&s, "../outside.yaml", "devices: '../outside.yaml' "
	    "leads outside the data dir (a file in the data dir)");

	unlink(s.conf);
	unlink(path);
	assert_int_equal(rmdir(s.data), 0);
	assert_int_equal(rmdir(s.top), 0);
}

static void
test_network_values(void **state)
{
	struct config	*cfg;
	char		 err[ERRLEN];

	(void)state;
	cfg = load_text("advanced:\n  pan_id: GENERATE\n"
	    "  ext_pan_id: GENERATE\n  network_key: GENERATE\n"
	    "  log_level: warn\n", err);
	assert_non_null(cfg);
	assert_int_equal(cfg->advanced.pan_id_generate, 1);
	assert_int_equal(cfg->advanced.ext_pan_id_generate, 1);
	assert_int_equal(cfg->advanced.network_key_generate, 1);
	assert_int_equal(cfg->advanced.log_level, CONFIG_LOG_WARNING);
	config_free(cfg);

	expect_text_error("advanced:\n  channel: 27\n",
	    DATA "/inline.yaml:2: advanced.channel: '27' is out of range "
	    "(11 to 26)");
	expect_text_error("advanced:\n  pan_id: 0xffff\n",
	    DATA "/inline.yaml:2: advanced.pan_id: '0xffff' is out of range "
	    "(0 to 65534, or GENERATE)");
	expect_text_error("advanced:\n  ext_pan_id: [1, 2, 3]\n",
	    DATA "/inline.yaml:2: advanced.ext_pan_id: expected 8 bytes, "
	    "found 3");
	expect_text_error("advanced:\n  network_key: secret\n",
	    DATA "/inline.yaml:2: advanced.network_key: '<hidden>' is not "
	    "allowed (a list of 16 bytes, or GENERATE)");
	expect_text_error("advanced:\n  log_level: verbose\n",
	    DATA "/inline.yaml:2: advanced.log_level: 'verbose' is not a "
	    "known value (error, warning, info or debug)");
}

static void
test_mqtt_values(void **state)
{
	struct config	*cfg;
	char		 err[ERRLEN];

	(void)state;
	cfg = load_text("mqtt:\n  server: 'mqtts://[::1]/'\n"
	    "  keepalive: 0\n  user: '!secret mqtt_user'\n", err);
	assert_non_null(cfg);
	assert_string_equal(cfg->mqtt.host, "::1");
	assert_int_equal(cfg->mqtt.port, 8883);
	assert_int_equal(cfg->mqtt.tls, 1);
	assert_int_equal(cfg->mqtt.keepalive, 0);
	assert_string_equal(cfg->mqtt.user, "zotad");
	config_free(cfg);

	expect_text_error("mqtt:\n  server: mqtt://host:70000\n",
	    DATA "/inline.yaml:2: mqtt.server: 'mqtt://host:70000' is not an "
	    "MQTT URL (mqtt://HOST[:PORT] or mqtts://HOST[:PORT])");
	expect_text_error("mqtt:\n  keepalive: 3\n",
	    DATA "/inline.yaml:2: mqtt.keepalive: '3' is out of range "
	    "(seconds, 0 or 5 to 65535)");
	expect_text_error("mqtt:\n  version: 6\n",
	    DATA "/inline.yaml:2: mqtt.version: '6' is out of range "
	    "(3, 4 or 5)");
	expect_text_error("mqtt:\n  base_topic: 'zigbee/#'\n",
	    DATA "/inline.yaml:2: mqtt.base_topic: 'zigbee/#' is not allowed "
	    "(an MQTT topic: no +, #, control characters or trailing /)");
	expect_text_error("mqtt:\n  cert: client.pem\n",
	    DATA "/inline.yaml: mqtt: cert and key go together: set both or "
	    "neither");
	expect_text_error("mqtt:\n  user: !secret\n",
	    DATA "/inline.yaml:2: mqtt.user: !secret needs a name");
}

static void
test_other_sections(void **state)
{
	struct config	*cfg;
	char		 err[ERRLEN];

	(void)state;
	/* zigbee2mqtt 1.x wrote homeassistant as a plain boolean. */
	cfg = load_text("homeassistant: true\nota:\n"
	    "  zigbee_ota_override_index_location: "
	    "https://example.net/o.json\nzotad:\n  max_image_size: 0x100000\n",
	    err);
	assert_non_null(cfg);
	assert_int_equal(cfg->homeassistant.enabled, 1);
	assert_string_equal(cfg->ota.zigbee_ota_override_index_location,
	    "https://example.net/o.json");
	assert_int_equal(cfg->zotad.max_image_size, 0x100000);
	config_free(cfg);

	expect_text_error("homeassistant: maybe\n",
	    DATA "/inline.yaml:1: homeassistant: 'maybe' is not a boolean "
	    "(true, false or a map)");
	expect_text_error("ota:\n  image_block_response_delay: 10\n",
	    DATA "/inline.yaml:2: ota.image_block_response_delay: '10' is out "
	    "of range (milliseconds, 50 or more)");
	expect_text_error("ota:\n  image_block_request_timeout: "
	    "99999999999999999999\n",
	    DATA "/inline.yaml:2: ota.image_block_request_timeout: "
	    "'99999999999999999999' is out of range (milliseconds, 10000 or "
	    "more)");
	expect_text_error("ota:\n  zigbee_ota_override_index_location: "
	    "ftp://x/i.json\n",
	    DATA "/inline.yaml:2: ota.zigbee_ota_override_index_location: "
	    "'ftp://x/i.json' is not allowed (an http(s) URL or a file name)");
	expect_text_error("zotad:\n  state_dir: var/lib/zotad\n",
	    DATA "/inline.yaml:2: zotad.state_dir: 'var/lib/zotad' is not "
	    "allowed (an absolute path)");
	expect_text_error("zotad:\n  user_fetch: Root Admin\n",
	    DATA "/inline.yaml:2: zotad.user_fetch: 'Root Admin' is not "
	    "allowed (a user name)");
	expect_text_error("zotad:\n  max_concurrent_updates: 33\n",
	    DATA "/inline.yaml:2: zotad.max_concurrent_updates: '33' is out of "
	    "range (1 to 32)");
	expect_text_error("serial:\n  port: \"/dev/tty\\tUSB0\"\n",
	    DATA "/inline.yaml:2: serial.port: '/dev/tty\\x09USB0' is not "
	    "allowed (a device path, without control characters)");
	expect_text_error("serial:\n  baudrate: 115200.5\n",
	    DATA "/inline.yaml:2: serial.baudrate: '115200.5' is not an "
	    "integer (9600 to 4000000)");
}

static void
test_adapter_names(void **state)
{
	(void)state;
	assert_string_equal(config_adapter_name(CONFIG_ADAPTER_AUTO), "auto");
	assert_string_equal(config_adapter_name(CONFIG_ADAPTER_ZSTACK),
	    "zstack");
	assert_string_equal(config_adapter_name(CONFIG_ADAPTER_EMBER),
	    "ember");
	config_free(NULL);
}

/* Each file is a test of its own, named after it. */
#define ERROR_CASE(i) \
	{ error_cases[i].file, test_error_file, NULL, NULL, &error_cases[i] }
#define NERROR_CASES	(sizeof(error_cases) / sizeof(error_cases[0]))

_Static_assert(NERROR_CASES == 15, "list every error case in main()");

int
main(void)
{
	struct CMUnitTest	 tests[] = {
		cmocka_unit_test(test_empty_file_is_all_defaults),
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_unknown_keys_warn),
		cmocka_unit_test(test_warnings_are_capped),
		ERROR_CASE(0), ERROR_CASE(1), ERROR_CASE(2), ERROR_CASE(3),
		ERROR_CASE(4), ERROR_CASE(5), ERROR_CASE(6), ERROR_CASE(7),
		ERROR_CASE(8), ERROR_CASE(9), ERROR_CASE(10), ERROR_CASE(11),
		ERROR_CASE(12), ERROR_CASE(13), ERROR_CASE(14),
		cmocka_unit_test(test_secret_never_in_messages),
		cmocka_unit_test(test_oversized_file),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_yaml_abuse),
		cmocka_unit_test(test_devices),
		cmocka_unit_test(test_device_files),
		cmocka_unit_test(test_device_file_forms),
		cmocka_unit_test(test_device_file_contents),
		cmocka_unit_test(test_device_file_names),
		cmocka_unit_test(test_device_files_hostile),
		cmocka_unit_test(test_network_values),
		cmocka_unit_test(test_mqtt_values),
		cmocka_unit_test(test_other_sections),
		cmocka_unit_test(test_adapter_names),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
