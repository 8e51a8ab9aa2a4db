/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_ZCL_H
#define ZOTAD_RADIO_ZCL_H

/*
 * ZCL frames: the header, the foundation commands the daemon uses (Read
 * Attributes and its response, Default Response) and every command of
 * the OTA Upgrade cluster. Pure code: parsers take bytes from devices,
 * which may be anything, and never read past them.
 */

#include <stddef.h>
#include <stdint.h>

#define ZCL_FC_CLUSTER		0x01	/* frame type: cluster-specific */
#define ZCL_FC_MANUF		0x04
#define ZCL_FC_TO_CLIENT	0x08	/* direction server to client */
#define ZCL_FC_DDR		0x10	/* disable default response */

#define ZCL_CMD_READ_ATTR	0x00
#define ZCL_CMD_READ_ATTR_RSP	0x01
#define ZCL_CMD_DEFAULT_RSP	0x0B

#define ZCL_CLUSTER_BASIC	0x0000
#define ZCL_CLUSTER_POWER	0x0001
#define ZCL_CLUSTER_OTA		0x0019

#define ZCL_PROFILE_HA		0x0104

/* Status codes. */
#define ZCL_SUCCESS		0x00
#define ZCL_FAILURE		0x01
#define ZCL_MALFORMED		0x80
#define ZCL_UNSUP_CLUSTER_CMD	0x81
#define ZCL_UNSUPPORTED_ATTR	0x86
#define ZCL_ABORT		0x95
#define ZCL_INVALID_IMAGE	0x96
#define ZCL_WAIT_FOR_DATA	0x97
#define ZCL_NO_IMAGE		0x98
#define ZCL_REQUIRE_MORE_IMAGE	0x99

/* OTA cluster commands. */
#define OTA_IMAGE_NOTIFY	0x00
#define OTA_QUERY_NEXT_REQ	0x01
#define OTA_QUERY_NEXT_RSP	0x02
#define OTA_BLOCK_REQ		0x03
#define OTA_PAGE_REQ		0x04
#define OTA_BLOCK_RSP		0x05
#define OTA_UPGRADE_END_REQ	0x06
#define OTA_UPGRADE_END_RSP	0x07

/* Fixed fields of an Image Block Response before the data. */
#define OTA_BLOCK_RSP_FIXED	14

/* Data types of attribute values. */
#define ZCL_TYPE_BOOL		0x10
#define ZCL_TYPE_BITMAP8	0x18
#define ZCL_TYPE_UINT8		0x20
#define ZCL_TYPE_UINT16		0x21
#define ZCL_TYPE_UINT32		0x23
#define ZCL_TYPE_ENUM8		0x30
#define ZCL_TYPE_STRING		0x42

struct zcl_hdr {
	uint8_t		 fc;
	uint16_t	 manuf;		/* when fc has ZCL_FC_MANUF */
	uint8_t		 tsn;
	uint8_t		 cmd;
};

/*
 * Parse the header at BUF; *HDRLEN gets its size. Returns 0, or -1 when
 * the frame is too short or its frame type is reserved.
 */
int	zcl_hdr_parse(const uint8_t *buf, size_t len, struct zcl_hdr *h,
	    size_t *hdrlen);

/* A status's name, for error messages ("aborted by device" for ABORT). */
const char *zcl_status_name(uint8_t status);

struct ota_query_req {
	uint8_t		 fc;
	uint16_t	 manuf;
	uint16_t	 image_type;
	uint32_t	 file_version;
	int		 has_hw;
	uint16_t	 hw_version;
};

struct ota_block_req {
	uint8_t		 fc;
	uint16_t	 manuf;
	uint16_t	 image_type;
	uint32_t	 file_version;
	uint32_t	 offset;
	uint8_t		 max_size;
	int		 has_ieee;
	uint64_t	 ieee;
	int		 has_period;
	uint16_t	 min_period;	/* ms */
	/* Page requests only. */
	int		 page;
	uint16_t	 page_size;
	uint16_t	 spacing;	/* ms */
};

struct ota_end_req {
	uint8_t		 status;
	uint16_t	 manuf;
	uint16_t	 image_type;
	uint32_t	 file_version;
};

/*
 * Parsers for the payload after the header. Each returns 0, or -1 when
 * the payload is too short. Fields a flag announces but the frame does
 * not carry are treated as absent only where real devices are known to
 * do that (the block period of an Image Block Request).
 */
int	zcl_ota_parse_query(const uint8_t *, size_t, struct ota_query_req *);
int	zcl_ota_parse_block(const uint8_t *, size_t, struct ota_block_req *);
int	zcl_ota_parse_page(const uint8_t *, size_t, struct ota_block_req *);
int	zcl_ota_parse_end(const uint8_t *, size_t, struct ota_end_req *);

/*
 * Builders. Each writes a whole frame, header included, into OUT (CAP
 * bytes) and returns its length, or 0 when it does not fit. Responses
 * from the server carry DDR and the TSN of the request.
 */
size_t	zcl_ota_image_notify(uint8_t *out, size_t cap, uint8_t tsn);
size_t	zcl_ota_query_rsp(uint8_t *out, size_t cap, uint8_t tsn,
	    uint8_t status, uint16_t manuf, uint16_t image_type,
	    uint32_t version, uint32_t size);
size_t	zcl_ota_block_rsp(uint8_t *out, size_t cap, uint8_t tsn,
	    uint16_t manuf, uint16_t image_type, uint32_t version,
	    uint32_t offset, const uint8_t *data, uint8_t len);
size_t	zcl_ota_block_wait(uint8_t *out, size_t cap, uint8_t tsn,
	    uint32_t delay_s, uint16_t min_period);
size_t	zcl_ota_block_abort(uint8_t *out, size_t cap, uint8_t tsn);
size_t	zcl_ota_end_rsp(uint8_t *out, size_t cap, uint8_t tsn,
	    uint16_t manuf, uint16_t image_type, uint32_t version,
	    uint32_t upgrade_in_s);
/* A Default Response for command CMD of a cluster-specific frame. */
size_t	zcl_default_rsp(uint8_t *out, size_t cap, uint8_t tsn, int to_client,
	    uint8_t cmd, uint8_t status);
/* Read Attributes of NATTR ids from a client to a server cluster. */
size_t	zcl_read_attrs(uint8_t *out, size_t cap, uint8_t tsn,
	    const uint16_t *attrs, size_t nattr);

/* One record of a Read Attributes Response or attribute report. */
#define ZCL_STR_MAX	64
struct zcl_attr {
	uint16_t	 id;
	uint8_t		 status;
	uint8_t		 type;
	uint32_t	 num;		/* integer types */
	char		 str[ZCL_STR_MAX + 1];	/* strings, printable only */
	int		 is_str;
};

/*
 * Parse the records of a Read Attributes Response payload into OUT (at
 * most MAX); *N gets the count. Records of a type the daemon does not
 * decode end the parse (their length is unknown). Returns 0, or -1 when
 * a record is cut short.
 */
int	zcl_parse_read_rsp(const uint8_t *, size_t, struct zcl_attr *out,
	    size_t max, size_t *n);

#endif
