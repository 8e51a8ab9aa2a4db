/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_OTAINDEX_H
#define ZOTAD_OTAINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct cJSON;

/*
 * The OTA index model: the zigbee-OTA upgrade index (index.json), its
 * downgrade index (index1.json) and a user's override index, all JSON
 * arrays of entries of the same shape, and the matcher that picks the
 * image to offer a device.
 *
 * Every index is hostile input. A buffer that is not a JSON array, is
 * larger than OTAINDEX_MAX_BYTES or nests deeper than OTAINDEX_MAX_DEPTH
 * is rejected as a whole; a single bad entry is skipped, logged with
 * log_warnx and recorded in the index's skip list, and the rest is kept.
 */

#define OTAINDEX_MAX_BYTES	(32 * 1024 * 1024)	/* max_index_size top */
#define OTAINDEX_MAX_DEPTH	8	/* a real index needs 3 */
#define OTAINDEX_MAX_ITEMS	262144	/* JSON values; real: about 20000 */
#define OTAINDEX_MAX_ENTRIES	65536
#define OTAINDEX_MAX_SKIPS	64	/* reasons kept; the rest counted */
#define OTAINDEX_MAX_IMAGE	(32 * 1024 * 1024)	/* local image files */
#define OTAINDEX_REASON_LEN	160

enum otaindex_source {
	OTAINDEX_SRC_MAIN,		/* the upgrade index */
	OTAINDEX_SRC_DOWNGRADE,		/* the downgrade index */
	OTAINDEX_SRC_OVERRIDE		/* the user's override index */
};

enum otaindex_mode {
	OTAINDEX_UPGRADE,
	OTAINDEX_DOWNGRADE
};

/* Which optional fields an entry carries (otaindex_entry.has). */
#define OTAINDEX_HAS_FILE_SIZE		0x0001
#define OTAINDEX_HAS_SHA512		0x0002
#define OTAINDEX_HAS_HW_MIN		0x0004
#define OTAINDEX_HAS_HW_MAX		0x0008
#define OTAINDEX_HAS_MIN_FILE_VERSION	0x0010
#define OTAINDEX_HAS_MAX_FILE_VERSION	0x0020
#define OTAINDEX_HAS_FORCE		0x0040

struct otaindex_entry {
	/* From the image header (or completed from a local file). */
	uint32_t	 file_version;
	uint32_t	 file_size;		/* header total image size */
	uint16_t	 image_type;
	uint16_t	 manufacturer_code;
	char		*ota_header_string;	/* NULL when absent */

	/* From the file. */
	char		*file_name;		/* NULL when absent */
	char		*url;			/* as the index says */
	char		 sha512[SHA512_HEX_LEN + 1];	/* lower-case */

	/* Restrictions; each applies only when its OTAINDEX_HAS_ bit is set
	 * or, for strings, when it is not NULL. */
	unsigned int	 has;
	uint16_t	 hw_min;
	uint16_t	 hw_max;
	uint32_t	 min_file_version;
	uint32_t	 max_file_version;
	int		 force;
	char		*model_id;
	char		**manufacturer_names;
	size_t		 nmanufacturer_names;

	/* For the record only. */
	char		*original_url;
	char		*release_notes;

	/* Where the entry came from. */
	enum otaindex_source source;
	size_t		 position;		/* 0-based, in its array */
	char		*local_path;		/* resolved, for local files */
};

struct otaindex_skip {
	size_t		 position;
	char		 reason[OTAINDEX_REASON_LEN];
};

struct otaindex {
	char			*name;		/* path or URL, for messages */
	enum otaindex_source	 source;
	struct otaindex_entry	*entries;
	size_t			 nentries;
	size_t			 total;		/* array length, with skips */
	struct otaindex_skip	*skips;		/* up to OTAINDEX_MAX_SKIPS */
	size_t			 nskips;	/* every skipped entry */
	/* The entries sorted by (manufacturer code, image type, position),
	 * so that a match looks at its own entries only. */
	struct otaindex_entry	**bykey;
};

struct otaindex_opts {
	enum otaindex_source	 source;
	const char		*name;		/* for messages; required */
	/*
	 * Set only for an override index read from a local file: its
	 * entries may then name local image files (a plain path or a
	 * file: URL). Relative paths resolve against DATA_DIR; the resolved
	 * file must lie inside DATA_DIR or one of LOCAL_DIRS. Such an entry
	 * is completed from the file: what it leaves out is taken from the
	 * header (and the SHA-512 computed), what it gives must agree.
	 * Every other index may only point to http:// and https:// URLs.
	 */
	int			 allow_local_files;
	const char		*data_dir;
	const char *const	*local_dirs;
	size_t			 nlocal_dirs;
};

/*
 * Parse the index in BUF (LEN bytes, need not be NUL-terminated) as
 * OPTS says. Returns the index, or NULL with the reason in ERR (ERRLEN
 * bytes) when the buffer as a whole is unusable. Bad entries are skipped
 * and recorded; an index whose every entry was skipped is still returned.
 */
struct otaindex	*otaindex_parse(const char *buf, size_t len,
		    const struct otaindex_opts *opts, char *err,
		    size_t errlen);

/*
 * Read the index file LOCATION (an absolute path, or a path relative to
 * OPTS->data_dir, the way a configured override location is given, or to
 * the working directory when there is no data dir) and parse it. URLs
 * are refused: zotad-fetch downloads those and calls otaindex_parse.
 * Returns NULL with the reason in ERR.
 */
struct otaindex	*otaindex_load(const char *location,
		    const struct otaindex_opts *opts, char *err,
		    size_t errlen);

void		 otaindex_free(struct otaindex *);

/*
 * Parse BUF as a JSON array under the same size and nesting limits, for
 * tools that edit an index and must keep fields they do not know.
 * Returns NULL with the reason in ERR.
 */
struct cJSON	*otaindex_json_parse(const char *buf, size_t len, char *err,
		    size_t errlen);

/*
 * E as an index entry object, fields in the zigbee-OTA order, optional
 * ones only when present. Returns NULL when out of memory.
 */
struct cJSON	*otaindex_entry_to_json(const struct otaindex_entry *e);

/* Nonzero when LOCATION is an http:// or https:// URL. */
int		 otaindex_is_http_url(const char *location);

/*
 * Fill E from the OTA image BUF (LEN bytes, the whole file) the way the
 * zigbee-OTA tooling does: version, size (the header's total image size),
 * image type, manufacturer code, header string (NULs removed, invalid
 * UTF-8 replaced), file name FILE_NAME, URL URL and the SHA-512 of the
 * whole file. Returns 0, or -1 with the reason in ERR. Release E with
 * otaindex_entry_clear.
 */
int		 otaindex_entry_from_image(const uint8_t *buf, size_t len,
		    const char *file_name, const char *url,
		    struct otaindex_entry *e, char *err, size_t errlen);
void		 otaindex_entry_clear(struct otaindex_entry *);

/*
 * Encode S as JavaScript's encodeURIComponent does (the zigbee-OTA URLs
 * are built that way). Returns a new string, or NULL when out of memory.
 */
char		*otaindex_uri_encode(const char *s);

/* The source's name as printed: "main", "downgrade" or "override". */
const char	*otaindex_source_name(enum otaindex_source);

/*
 * A device as it asks for an image: from its Query Next Image Request
 * and its Basic cluster. Unknown strings are NULL.
 */
struct otaindex_device {
	uint16_t	 manufacturer_code;
	uint16_t	 image_type;
	uint32_t	 file_version;
	int		 has_hardware_version;
	uint16_t	 hardware_version;
	const char	*model_id;
	const char	*manufacturer_name;
	/* Set only when the device's definition pins a header string. */
	const char	*ota_header_string;
};

/* Why an entry for the device's manufacturer code and image type was not
 * chosen (bits of otaindex_candidate.excluded). */
#define OTAINDEX_X_MIN_FILE_VERSION	0x0001
#define OTAINDEX_X_MAX_FILE_VERSION	0x0002
#define OTAINDEX_X_MODEL_ID		0x0004
#define OTAINDEX_X_MANUFACTURER_NAME	0x0008
#define OTAINDEX_X_HEADER_STRING	0x0010
#define OTAINDEX_X_HW_UNKNOWN		0x0020
#define OTAINDEX_X_HW_MIN		0x0040
#define OTAINDEX_X_HW_MAX		0x0080
#define OTAINDEX_X_NOT_NEWER		0x0100	/* upgrade, not forced */
#define OTAINDEX_X_NOT_OLDER		0x0200	/* downgrade, not forced */
#define OTAINDEX_X_OUTRANKED		0x0400	/* applicable, another won */
#define OTAINDEX_X_COUNT		11

struct otaindex_candidate {
	const struct otaindex_entry *entry;
	unsigned int	 excluded;	/* 0 for the chosen entry */
};

struct otaindex_result {
	const struct otaindex_entry *chosen;	/* NULL: no image available */
	/* Every entry with the device's manufacturer code and image type,
	 * in precedence order (index order, then position). */
	struct otaindex_candidate *candidates;
	size_t		 ncandidates;
};

/*
 * Choose the image for DEV from INDEXES (NINDEXES of them, in precedence
 * order: the override index first, then the upgrade or the downgrade
 * index). The rules are zigbee2mqtt's: same manufacturer code and image
 * type (0xFFFF is no wildcard, as there); every restriction an entry
 * carries must hold (a hardware range excludes a device that sent no
 * hardware version; model id and manufacturer name must be known and
 * equal, the latter one of the entry's list); the entry is available when
 * forced, or when its version is newer than the device's (older, for MODE
 * downgrade).
 *
 * Unlike zigbee2mqtt, which takes the first applicable entry in file
 * order, the best applicable entry of the first index that has any wins:
 * a forced entry before an unforced one, then the highest file version,
 * then file order. For a downgrade the highest version is the newest
 * image still older than the device's, the smallest step back: it is
 * the image the device most likely ran before, while an older one may
 * predate a boot loader or format change that a staged upgrade chain
 * was built to cross. Returns 0, or -1 when out of memory. Release RES
 * with otaindex_result_free.
 */
int		 otaindex_match(const struct otaindex *const *indexes,
		    size_t nindexes, const struct otaindex_device *dev,
		    enum otaindex_mode mode, struct otaindex_result *res);
void		 otaindex_result_free(struct otaindex_result *);

/* The index field behind one OTAINDEX_X_ bit, e.g. "minFileVersion". */
const char	*otaindex_excluded_name(unsigned int bit);

/*
 * Explain in one sentence into BUF (LEN bytes) why candidate C was not
 * chosen for DEV, naming its first reason; all of them are bits of
 * C->excluded.
 */
void		 otaindex_explain(const struct otaindex_candidate *c,
		    const struct otaindex_device *dev, char *buf, size_t len);

#endif
