/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Secrets the inputs may refer to, so that path is fuzzed as well. */
static const char fuzz_secrets[] =
    "mqtt_user: zotad\n"
    "mqtt_password: s3cr3t\n"
    "network_key: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n"
    "section: {server: 'mqtt://localhost', keepalive: 10}\n"
    "number: 42\n";

/* The device file an input may name, written from the input itself. */
#define FUZZ_DEVICES	"devices.yaml"

static char	 fuzz_dir[] = "/tmp/zotad-fuzz-config-XXXXXX";

static void
fuzz_cleanup(void)
{
	char	 path[sizeof(fuzz_dir) + 32];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, CONFIG_SECRET_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, FUZZ_DEVICES);
	unlink(path);
	rmdir(fuzz_dir);
}

static const char *
fuzz_data_dir(void)
{
	static int	 ready;
	char		 path[sizeof(fuzz_dir) + 32];
	FILE		*f;

	if (ready)
		return (fuzz_dir);
	if (mkdtemp(fuzz_dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, CONFIG_SECRET_FILE);
	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(fuzz_secrets, 1, sizeof(fuzz_secrets) - 1, f) !=
	    sizeof(fuzz_secrets) - 1 || fclose(f) != 0)
		abort();
	atexit(fuzz_cleanup);
	ready = 1;
	return (fuzz_dir);
}

/*
 * An input is the configuration text, then optionally a NUL byte and
 * the text of devices.yaml in the data dir, so that "devices:
 * devices.yaml" reaches a device file the fuzzer writes. Without a NUL
 * the file is missing. Returns the length of the configuration.
 */
static size_t
fuzz_device_file(const char *dir, const uint8_t *data, size_t size)
{
	const uint8_t	*nul = memchr(data, '\0', size);
	char		 path[sizeof(fuzz_dir) + 32];
	size_t		 len;
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, FUZZ_DEVICES);
	if (nul == NULL) {
		unlink(path);
		return (size);
	}
	len = size - (size_t)(nul - data) - 1;
	if ((f = fopen(path, "w")) == NULL ||
	    (len > 0 && fwrite(nul + 1, 1, len, f) != len) || fclose(f) != 0)
		abort();
	return ((size_t)(nul - data));
}

/* What the loader promises about a configuration it accepts. */
static void
fuzz_config_check(const struct config *cfg, int secret_in_input)
{
	size_t	 i;

	if (cfg->mqtt.base_topic == NULL || cfg->mqtt.host == NULL ||
	    cfg->mqtt.port < 1 || cfg->mqtt.port > 65535 ||
	    cfg->zotad.state_dir[0] != '/' ||
	    cfg->advanced.channel < 11 || cfg->advanced.channel > 26 ||
	    cfg->nwarnings > CONFIG_MAX_WARNINGS + 1)
		abort();
	for (i = 0; i < cfg->ndevices; i++) {
		if (strlen(cfg->devices[i].ieee) != CONFIG_IEEE_LEN ||
		    cfg->devices[i].friendly_name == NULL ||
		    cfg->devices[i].qos < 0 || cfg->devices[i].qos > 2)
			abort();
		/* One entry per device and per name, across all files. */
		if (config_device_by_addr(cfg, cfg->devices[i].ieee_addr) !=
		    &cfg->devices[i] ||
		    config_device_by_name(cfg, cfg->devices[i].friendly_name) !=
		    &cfg->devices[i])
			abort();
	}
	for (i = 0; i < cfg->nwarnings && !secret_in_input; i++)
		if (strstr(cfg->warnings[i], "s3cr3t") != NULL)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	*cfg;
	const char	*dir = fuzz_data_dir();
	char		 err[512];
	size_t		 len;
	int		 secret_in_input;

	/* The secret text written into the input itself may be shown. */
	secret_in_input = memmem(data, size, "s3cr3t", 6) != NULL;
	len = fuzz_device_file(dir, data, size);
	cfg = config_load_buffer((const char *)data, len, "fuzz.yaml", dir,
	    err, sizeof(err));
	if (cfg == NULL) {
		/* A secret must never reach a message. */
		if (err[0] == '\0' ||
		    (!secret_in_input && strstr(err, "s3cr3t") != NULL))
			abort();
		return (0);
	}
	fuzz_config_check(cfg, secret_in_input);
	config_free(cfg);
	return (0);
}
