/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_OTAFILE_H
#define ZOTAD_OTAFILE_H

#include <stddef.h>
#include <stdint.h>

#define OTA_MAGIC		0x0BEEF11EU
#define OTA_HEADER_MIN		56	/* header without optional fields */
#define OTA_HEADER_STRING_LEN	32

/* Header field control bits. */
#define OTA_FC_SECURITY_CRED	0x0001
#define OTA_FC_DESTINATION	0x0002
#define OTA_FC_HW_VERSIONS	0x0004

/*
 * Real Hue images carry 175 sub-elements; the limit only bounds the
 * work and memory a hostile file can cost.
 */
#define OTA_MAX_TAGS		512

#define OTA_HEADER_VERSION	0x0100
#define OTA_STACK_PRO		2	/* Zigbee PRO, in every real file */
#define OTA_TAG_UPGRADE_IMAGE	0x0000
#define OTA_TAG_TELINK		0xF000	/* may carry 2 uncounted bytes */
#define OTA_TAG_HEADER_LEN	6	/* id u16 + length u32 */
#define OTA_TELINK_EXTRA	2	/* uncounted bytes after a Telink tag */

/* The header string as UTF-8 text: 3 bytes per U+FFFD at most, and NUL. */
#define OTA_HEADER_TEXT_MAX	(OTA_HEADER_STRING_LEN * 3 + 1)

struct ota_header {
	uint16_t	 header_version;
	uint16_t	 header_length;
	uint16_t	 field_control;
	uint16_t	 manufacturer_code;
	uint16_t	 image_type;
	uint32_t	 file_version;
	uint16_t	 stack_version;
	/* The raw 32 bytes, plus a NUL so it can be printed. */
	char		 header_string[OTA_HEADER_STRING_LEN + 1];
	uint32_t	 total_image_size;
	int		 has_security_credential;
	uint8_t		 security_credential_version;
	int		 has_destination;
	uint8_t		 destination[8];	/* little-endian IEEE */
	int		 has_hw_versions;
	uint16_t	 min_hw_version;
	uint16_t	 max_hw_version;
};

struct ota_tag {
	uint16_t	 id;
	uint32_t	 length;	/* as the tag's length field says */
	size_t		 offset;	/* of the tag id, from the magic */
	size_t		 size;		/* bytes the element occupies */
	int		 telink;	/* 2 info bytes follow the header */
};

/* Vendor containers recognised around the OTA image. */
enum ota_container {
	OTA_CONTAINER_NONE,		/* the magic is at offset 0 */
	OTA_CONTAINER_UNKNOWN,		/* some prefix we do not know */
	OTA_CONTAINER_IKEA,		/* "NGIS" signed container */
	OTA_CONTAINER_LEGRAND		/* u32 size prefix, 17-byte suffix */
};

struct ota_image {
	struct ota_header hdr;
	size_t		 prefix_len;	/* bytes before the magic */
	size_t		 trailing_len;	/* bytes after the served range */
	size_t		 served_offset;	/* == prefix_len */
	size_t		 served_len;	/* == hdr.total_image_size */
	size_t		 ntags;
	struct ota_tag	 tags[OTA_MAX_TAGS];
	/* Set when the header is valid but the data does not walk as tags
	 * (Hue SBL images): served opaquely, tags[] holds what did parse. */
	int		 tags_opaque;
	char		 tag_warning[128];
	enum ota_container container;
	/* Set when tags 0xF000 were read Telink style to make the walk fit. */
	int		 telink_tags;
};

/*
 * Parse the OTA file in BUF (LEN bytes, maybe behind a vendor prefix and
 * followed by trailing bytes) into IMG. Returns 0, or -1 with a
 * precise reason in ERR (ERRLEN bytes). Never reads outside BUF.
 *
 * The image starts at the first magic; what comes before it is the
 * prefix. A file is refused when its header is inconsistent, when it
 * holds fewer than total_image_size bytes from the magic, or when its
 * sub-elements form a tag list that does not end exactly at the total
 * size. A body that stops being a tag list at all (an element longer
 * than the whole image, as in Hue .sbl-ota files) is accepted with
 * tags_opaque set and the reason in tag_warning. Tags 0xF000 are read
 * Telink style only when that alone makes the walk end at the total size.
 * On error, the contents of IMG are unspecified.
 */
int	ota_parse(const uint8_t *buf, size_t len, struct ota_image *img,
	    char *err, size_t errlen);

/*
 * Parameters of a synthetic OTA file: one upgrade-image tag filled with
 * bytes that depend only on SEED. TOTAL_SIZE is the whole file, which
 * must hold the header and a tag header (see ota_make_min_size).
 * HEADER_STRING may be NULL; at most 32 bytes of it are used.
 */
struct ota_make_params {
	uint16_t	 manufacturer_code;
	uint16_t	 image_type;
	uint32_t	 file_version;
	uint16_t	 stack_version;		/* normally OTA_STACK_PRO */
	uint32_t	 total_size;
	const char	*header_string;
	int		 has_hw_versions;
	uint16_t	 min_hw_version;
	uint16_t	 max_hw_version;
	uint32_t	 seed;
};

/*
 * Build the file P describes into a new buffer (*BUF, *LEN; free it with
 * free()). Returns 0, or -1 with errno EINVAL (size too small, header
 * string too long, hardware bounds reversed) or ENOMEM.
 */
int	ota_make(const struct ota_make_params *p, uint8_t **buf, size_t *len);

/* The smallest total_size ota_make accepts for P. */
size_t	ota_make_min_size(const struct ota_make_params *p);

/*
 * Write the header string of H into OUT (OTA_HEADER_TEXT_MAX bytes) the
 * way the zigbee-OTA index spells otaHeaderString: decoded as UTF-8 with
 * each invalid sequence replaced by U+FFFD, then every NUL removed.
 * Returns the length written, without the terminating NUL.
 */
size_t	ota_header_text(const struct ota_header *h,
	    char out[OTA_HEADER_TEXT_MAX]);

/* A short name for a container, for logs and JSON ("none", "ikea"...). */
const char *ota_container_name(enum ota_container c);

/*
 * Render IMG (as filled by a successful ota_parse) as a new cJSON object
 * with the index names (manufacturerCode, imageType, fileVersion,
 * otaHeaderString, fileSize) and the rest of the header, the tag list,
 * prefix, trailing bytes and served range. Returns NULL if out of memory.
 */
struct cJSON;
struct cJSON *ota_image_json(const struct ota_image *img);

#endif
