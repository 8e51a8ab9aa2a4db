/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_CONFIG_H
#define ZOTAD_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/*
 * zotad reads zigbee2mqtt's configuration.yaml: the zigbee2mqtt keys keep
 * their names and defaults, zotad's own keys live under "zotad:". Every
 * field below has its default applied, so the daemons read them directly.
 */

#define CONFIG_FILE_MAX		(1024 * 1024)	/* bytes, each file read */
#define CONFIG_SECRET_FILE	"secret.yaml"	/* beside the config file */
#define CONFIG_IEEE_LEN		18		/* "0x" and 16 hex digits */
#define CONFIG_EXT_PAN_ID_LEN	8		/* bytes */
#define CONFIG_NETWORK_KEY_LEN	16		/* bytes */
#define CONFIG_MAX_WARNINGS	64		/* then one "and more" line */

/* serial.adapter: zigbee2mqtt's list; zotad-radio drives only zstack. */
enum config_adapter {
	CONFIG_ADAPTER_AUTO = 0,	/* not set: detect from the port */
	CONFIG_ADAPTER_ZSTACK,
	CONFIG_ADAPTER_EMBER,
	CONFIG_ADAPTER_EZSP,
	CONFIG_ADAPTER_DECONZ,
	CONFIG_ADAPTER_ZIGATE,
	CONFIG_ADAPTER_ZBOSS,
	CONFIG_ADAPTER_ZOH
};

/* advanced.log_level; "warn" (zigbee2mqtt 1.x) reads as warning. */
enum config_log_level {
	CONFIG_LOG_ERROR = 0,
	CONFIG_LOG_WARNING,
	CONFIG_LOG_INFO,
	CONFIG_LOG_DEBUG
};

struct config_mqtt {
	char		*base_topic;	/* "zigbee2mqtt" */
	char		*server;	/* "mqtt://localhost:1883" */
	char		*host;		/* from server, IPv6 without [] */
	int		 port;		/* from server; 1883, or 8883 */
	int		 tls;		/* server is mqtts:// */
	char		*user;		/* NULL: anonymous */
	char		*password;	/* NULL; a secret: never log it */
	char		*client_id;	/* NULL: the library makes one */
	int		 keepalive;	/* seconds, 60; 0 disables */
	int		 version;	/* MQTT protocol 3, 4 (default), 5 */
	char		*ca;		/* absolute paths, or NULL */
	char		*cert;
	char		*key;
	int		 reject_unauthorized;	/* verify the broker: 1 */
};

struct config_serial {
	char			*port;		/* NULL: find the adapter */
	enum config_adapter	 adapter;	/* CONFIG_ADAPTER_AUTO */
	int			 baudrate;	/* 115200 */
	int			 rtscts;	/* hardware flow control: 0 */
};

struct config_ota {
	int	 update_check_interval;		/* minutes, 1440 */
	int	 disable_automatic_update_check; /* 0 */
	/* An http(s) URL or an absolute path (relative ones are resolved
	 * against the data dir); NULL when not set. */
	char	*zigbee_ota_override_index_location;
	int	 ikea_ota_use_test_url;		/* 0 */
	int	 image_block_response_delay;	/* ms, 250 */
	int	 default_maximum_data_size;	/* bytes per block, 50 */
	int	 image_block_request_timeout;	/* ms, 150000 */
};

struct config_device {
	char		 ieee[CONFIG_IEEE_LEN + 1];	/* lower case */
	uint64_t	 ieee_addr;		/* the same, as a number */
	char		*friendly_name;		/* the IEEE address if unset */
	int		 retain;		/* 0 */
	int		 qos;			/* 0 to 2; 0 */
	/* Either this or ota.disable_automatic_update_check applies. */
	int		 disable_automatic_update_check;
};

struct config_homeassistant {
	int	 enabled;		/* 0 */
	char	*discovery_topic;	/* "homeassistant" */
	char	*status_topic;		/* "homeassistant/status" */
};

struct config_advanced {
	int			 pan_id_generate;	/* "GENERATE" */
	uint16_t		 pan_id;		/* 0x1a62 */
	int			 ext_pan_id_generate;
	uint8_t			 ext_pan_id[CONFIG_EXT_PAN_ID_LEN];
						/* all 0xdd */
	int			 channel;		/* 11 to 26; 11 */
	int			 network_key_generate;
	uint8_t			 network_key[CONFIG_NETWORK_KEY_LEN];
						/* a secret: never log it */
	int			 legacy_api;		/* 0 */
	enum config_log_level	 log_level;		/* info */
};

struct config_zotad {
	char	*state_dir;		/* "/var/lib/zotad" */
	char	*cache_dir;		/* "/var/cache/zotad" */
	char	*run_dir;		/* "/run/zotad", for the sockets */
	char	*index_url;		/* zigbee-OTA index.json */
	char	*downgrade_index_url;	/* zigbee-OTA index1.json */
	char	*ikea_index_url;	/* IKEA's feed */
	char	*ikea_test_index_url;	/* IKEA's test feed */
	char	*user_radio;		/* "zotad-radio" */
	char	*user_fetch;		/* "zotad-fetch" */
	char	*user_mqtt;		/* "zotad-mqtt" */
	size_t	 max_image_size;	/* bytes, 16 MiB */
	size_t	 max_index_size;	/* bytes, 8 MiB */
	int	 max_concurrent_updates; /* transfers at once, 1 */
	int	 fetch_timeout;		/* seconds per HTTP transfer, 120 */
	int	 min_battery;		/* percent an update needs, 20; 0 off */
};

struct config {
	char			*path;		/* the file, as given */
	char			*data_dir;	/* its directory, absolute */

	struct config_mqtt	 mqtt;
	struct config_serial	 serial;
	struct config_ota	 ota;
	struct config_homeassistant homeassistant;
	struct config_advanced	 advanced;
	struct config_zotad	 zotad;

	/* In the order read: the configuration file's, or each device
	 * file's in turn. */
	struct config_device	*devices;
	size_t			 ndevices;

	/* Unknown keys, "FILE:LINE: unknown key 'a.b'", for the log. */
	char			**warnings;
	size_t			 nwarnings;
};

/*
 * Read and check the configuration file PATH (and its secret.yaml when a
 * value says "!secret NAME", and the device files "devices:" names, which
 * must be in the data dir). An empty file means all defaults. Returns
 * the configuration, or NULL with a one-line message in ERR that names
 * the file, the line, the key, the bad value and what is allowed. Secret
 * values never appear in ERR.
 */
struct config	*config_load(const char *path, char *err, size_t errlen);

/*
 * The same for LEN bytes of BUF, which need not be NUL-terminated. NAME
 * is used in messages; DATA_DIR must be absolute: secrets, device files
 * and relative paths are looked up there.
 */
struct config	*config_load_buffer(const char *buf, size_t len,
		    const char *name, const char *data_dir, char *err,
		    size_t errlen);

/* Free a configuration from config_load; NULL is allowed. */
void		 config_free(struct config *);

/* The device with IEEE address ADDR, or NULL if it has no entry. */
const struct config_device *config_device_by_addr(const struct config *,
		    uint64_t addr);

/* The device called NAME, or NULL. */
const struct config_device *config_device_by_name(const struct config *,
		    const char *name);

/* The adapter's name as written in the file ("auto" when unset). */
const char	*config_adapter_name(enum config_adapter);

#endif
