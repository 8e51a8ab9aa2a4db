/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * State files as the daemons load them at start-up, after a crash, a
 * full disk or a hand edit: zotad-fetch's per-device check times,
 * zotad-radio's device registry and a zigbee2mqtt database.db it
 * imports. The first byte picks the file; the rest is its content.
 * Whatever loads must save and load again the same.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "devices.h"
#include "fetch.h"

#define FUZZ_GATE_IEEE	0x00124b00aabbccddULL
#define FUZZ_NOW	((time_t)1700000000)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char	 fuzz_dir[] = "/tmp/zotad-fuzz-state-XXXXXX";

static void
fuzz_state_cleanup(void)
{
	char	 path[sizeof(fuzz_dir) + 32];

	snprintf(path, sizeof(path), "%s/%s", fuzz_dir, DEV_FILE);
	unlink(path);
	snprintf(path, sizeof(path), "%s/gate.json", fuzz_dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/database.db", fuzz_dir);
	unlink(path);
	rmdir(fuzz_dir);
}

/* The scratch directory, made once per process; its file NAME. */
static void
fuzz_state_path(const char *name, char *out, size_t outlen)
{
	static int	 ready;

	if (!ready) {
		if (mkdtemp(fuzz_dir) == NULL)
			abort();
		atexit(fuzz_state_cleanup);
		ready = 1;
	}
	snprintf(out, outlen, "%s/%s", fuzz_dir, name);
}

static void
fuzz_state_write(const char *path, const uint8_t *p, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL ||
	    fwrite(p, 1, len, f) != len || fclose(f) != 0)
		abort();
}

/* The check-time gate: a recorded contact survives a reload. */
static void
fuzz_state_gate(const uint8_t *p, size_t len)
{
	struct gate	*g;
	char		 path[sizeof(fuzz_dir) + 32];

	fuzz_state_path("gate.json", path, sizeof(path));
	fuzz_state_write(path, p, len);
	if ((g = gate_new(path, 3600)) == NULL)
		abort();
	if (gate_record(g, FUZZ_GATE_IEEE, FUZZ_NOW) == -1)
		abort();
	gate_free(g);
	if ((g = gate_new(path, 3600)) == NULL)
		abort();
	if (gate_last(g, FUZZ_GATE_IEEE) != FUZZ_NOW)
		abort();
	gate_free(g);
}

/* Every device of R must be in a registry loaded from R's file. */
static void
fuzz_state_reload(struct registry *r)
{
	struct registry	*back;
	size_t		 i;

	if (reg_count(r) == 0)
		return;
	if (reg_save(r) == -1)
		abort();
	if ((back = reg_new(fuzz_dir)) == NULL)
		abort();
	if (reg_load(back, NULL) != (int)reg_count(r))
		abort();
	for (i = 0; i < reg_count(r); i++)
		if (reg_find(back, reg_at(r, i)->ieee) == NULL)
			abort();
	reg_free(back);
}

static void
fuzz_state_registry(const uint8_t *p, size_t len)
{
	struct registry	*r;
	char		 path[sizeof(fuzz_dir) + 32];
	int		 n;

	fuzz_state_path(DEV_FILE, path, sizeof(path));
	fuzz_state_write(path, p, len);
	if ((r = reg_new(fuzz_dir)) == NULL)
		abort();
	n = reg_load(r, NULL);
	if (n > 0 && (size_t)n != reg_count(r))
		abort();
	if (n > 0)
		fuzz_state_reload(r);
	reg_free(r);
	unlink(path);
}

static void
fuzz_state_z2m(const uint8_t *p, size_t len)
{
	struct registry	*r;
	char		 path[sizeof(fuzz_dir) + 32];
	int		 n;

	fuzz_state_path("database.db", path, sizeof(path));
	fuzz_state_write(path, p, len);
	if ((r = reg_new(fuzz_dir)) == NULL)
		abort();
	n = reg_import_z2m(r, path);
	/* A device listed twice is one device. */
	if (n < 0 || reg_count(r) > (size_t)n || reg_count(r) > DEV_MAX)
		abort();
	fuzz_state_reload(r);
	reg_free(r);
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (len < 1)
		return (0);
	switch (data[0] % 3) {
	case 0:
		fuzz_state_gate(data + 1, len - 1);
		break;
	case 1:
		fuzz_state_registry(data + 1, len - 1);
		break;
	default:
		fuzz_state_z2m(data + 1, len - 1);
		break;
	}
	return (0);
}
