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

#define OTA_MAX_TAGS		64	/* more than any real file carries */

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
};

/*
 * Parse the OTA file in BUF (LEN bytes, maybe behind a vendor prefix and
 * followed by trailing bytes) into IMG. Returns 0, or -1 with a
 * precise reason in ERR (ERRLEN bytes). Never reads outside BUF.
 */
int	ota_parse(const uint8_t *buf, size_t len, struct ota_image *img,
	    char *err, size_t errlen);

#endif
