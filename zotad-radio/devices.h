/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_DEVICES_H
#define ZOTAD_RADIO_DEVICES_H

/*
 * The device registry: every device on the network with what its
 * interview found, kept in STATE_DIR/devices.json, replaced atomically
 * on every change. While the registry is empty (no file yet, or no
 * device in it), the devices of a zigbee2mqtt database.db in the data
 * dir are imported, so that users moving over keep their devices
 * without pairing them again.
 */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#define DEV_STR_MAX		32
#define DEV_MAX_EPS		8
#define DEV_MAX_CLUSTERS	16
#define DEV_MAX			1024	/* devices in one registry */
#define DEV_FILE		"devices.json"
#define DEV_FILE_MAX		(8 * 1024 * 1024)
#define DEV_URL_MAX		2048	/* bytes of a schedule's url */

enum dev_type {
	DEV_UNKNOWN,
	DEV_ROUTER,
	DEV_END_DEVICE
};

enum dev_interview {
	DEV_IV_NONE,
	DEV_IV_RUNNING,
	DEV_IV_DONE,
	DEV_IV_FAILED
};

/* Basic cluster powerSource values that matter here. */
#define DEV_POWER_UNKNOWN	-1
#define DEV_POWER_BATTERY	3

struct dev_ep {
	uint8_t		 id;
	uint16_t	 profile;
	uint16_t	 device_id;
	uint8_t		 nin;
	uint8_t		 nout;
	uint16_t	 in[DEV_MAX_CLUSTERS];
	uint16_t	 out[DEV_MAX_CLUSTERS];
};

struct device {
	uint64_t	 ieee;
	uint16_t	 nwk;
	enum dev_type	 type;
	uint16_t	 manuf_code;	/* node descriptor */
	int		 rx_on_idle;	/* 0 for sleepy end devices */
	char		 manufacturer[DEV_STR_MAX + 1];
	char		 model[DEV_STR_MAX + 1];
	char		 sw_build_id[DEV_STR_MAX + 1];
	char		 date_code[DEV_STR_MAX + 1];
	int		 power_source;	/* DEV_POWER_UNKNOWN or Basic's */
	int		 hw_version;	/* -1 unknown */
	struct dev_ep	 eps[DEV_MAX_EPS];
	int		 neps;
	enum dev_interview interview;
	/* What the device last said in a Query Next Image Request. */
	int		 has_ota_info;
	uint16_t	 ota_manuf;
	uint16_t	 ota_image_type;
	uint32_t	 file_version;
	time_t		 last_seen;
	/* Update on the device's next own query; persisted here. */
	int		 scheduled;
	int		 schedule_downgrade;
	/* The schedule's own source: a url ("" for none), or an image
	 * the caller sent, kept in the state dir (otasrv.c). */
	char		 schedule_url[DEV_URL_MAX + 1];
	int		 schedule_image;
};

struct registry;

/* A registry kept in STATE_DIR. Returns NULL when out of memory. */
struct registry *reg_new(const char *state_dir);
void	reg_free(struct registry *r);

/*
 * Load the registry file. When it holds no device (or there is none),
 * import DATA_DIR's database.db if it exists. Returns the number of
 * devices, or -1 when the file exists but cannot be used (logged; the
 * registry is then empty and the bad file is left for the operator).
 */
int	reg_load(struct registry *r, const char *data_dir);

/*
 * Read a zigbee2mqtt database.db (JSON lines) at PATH into R, skipping
 * the coordinator and every line that is not a usable device (logged).
 * Returns the number imported, or -1 when the file cannot be read.
 */
int	reg_import_z2m(struct registry *r, const char *path);

/* Write the registry now. Returns 0, or -1 (logged). */
int	reg_save(struct registry *r);

size_t	reg_count(const struct registry *r);
struct device *reg_at(struct registry *r, size_t i);
struct device *reg_find(struct registry *r, uint64_t ieee);
struct device *reg_find_nwk(struct registry *r, uint16_t nwk);

/* The device IEEE, added with NWK when it is new (NULL when full). */
struct device *reg_add(struct registry *r, uint64_t ieee, uint16_t nwk);

/* Forget the device IEEE. */
void	reg_remove(struct registry *r, uint64_t ieee);

/* The endpoint of D with the OTA client cluster (output 0x0019), or 0. */
uint8_t	dev_ota_ep(const struct device *d);

/* The first endpoint of D with cluster CLUSTER as input, or 0. */
uint8_t	dev_ep_with_in(const struct device *d, uint16_t cluster);

/* Whether D runs on batteries. */
int	dev_on_battery(const struct device *d);

/* "0x" and 16 lower-case hex digits. */
void	dev_ieee_str(uint64_t ieee, char out[19]);
/* Parse that form (upper case allowed). Returns 0 or -1. */
int	dev_ieee_parse(const char *s, uint64_t *ieee);

/* D as a JSON object for the service and the state file. */
cJSON	*dev_json(const struct device *d);

/* Fill D from an object made by dev_json. Returns 0 or -1. */
int	dev_from_json(struct device *d, const cJSON *o);

#endif
