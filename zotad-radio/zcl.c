/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <string.h>

#include "buf.h"
#include "zcl.h"

int
zcl_hdr_parse(const uint8_t *buf, size_t len, struct zcl_hdr *h,
    size_t *hdrlen)
{
	struct brd	 r;

	brd_init(&r, buf, len);
	h->fc = brd_u8(&r);
	h->manuf = (h->fc & ZCL_FC_MANUF) ? brd_u16(&r) : 0;
	h->tsn = brd_u8(&r);
	h->cmd = brd_u8(&r);
	if (r.err || (h->fc & 0x03) > 1)
		return (-1);
	*hdrlen = r.off;
	return (0);
}

const char *
zcl_status_name(uint8_t status)
{
	switch (status) {
	case ZCL_SUCCESS:		return ("success");
	case ZCL_FAILURE:		return ("failure");
	case ZCL_MALFORMED:		return ("malformed command");
	case ZCL_UNSUP_CLUSTER_CMD:	return ("unsupported command");
	case ZCL_ABORT:			return ("aborted by device");
	case ZCL_INVALID_IMAGE:		return ("invalid image");
	case ZCL_WAIT_FOR_DATA:		return ("wait for data");
	case ZCL_NO_IMAGE:		return ("no image available");
	case ZCL_REQUIRE_MORE_IMAGE:	return ("require more image");
	default:			return ("unknown status");
	}
}

int
zcl_ota_parse_query(const uint8_t *p, size_t len, struct ota_query_req *q)
{
	struct brd	 r;

	memset(q, 0, sizeof(*q));
	brd_init(&r, p, len);
	q->fc = brd_u8(&r);
	q->manuf = brd_u16(&r);
	q->image_type = brd_u16(&r);
	q->file_version = brd_u32(&r);
	if (q->fc & 0x01) {
		q->has_hw = 1;
		q->hw_version = brd_u16(&r);
	}
	return (r.err ? -1 : 0);
}

static void
zcl_ota_block_common(struct brd *r, struct ota_block_req *b)
{
	b->fc = brd_u8(r);
	b->manuf = brd_u16(r);
	b->image_type = brd_u16(r);
	b->file_version = brd_u32(r);
	b->offset = brd_u32(r);
	b->max_size = brd_u8(r);
}

int
zcl_ota_parse_block(const uint8_t *p, size_t len, struct ota_block_req *b)
{
	struct brd	 r;

	memset(b, 0, sizeof(*b));
	brd_init(&r, p, len);
	zcl_ota_block_common(&r, b);
	if (b->fc & 0x01) {
		b->has_ieee = 1;
		b->ieee = brd_u64(&r);
	}
	/* Some devices set the flag without the field. */
	if ((b->fc & 0x02) && brd_left(&r) >= 2) {
		b->has_period = 1;
		b->min_period = brd_u16(&r);
	}
	return (r.err ? -1 : 0);
}

int
zcl_ota_parse_page(const uint8_t *p, size_t len, struct ota_block_req *b)
{
	struct brd	 r;

	memset(b, 0, sizeof(*b));
	brd_init(&r, p, len);
	zcl_ota_block_common(&r, b);
	b->page = 1;
	b->page_size = brd_u16(&r);
	b->spacing = brd_u16(&r);
	if (b->fc & 0x01) {
		b->has_ieee = 1;
		b->ieee = brd_u64(&r);
	}
	return (r.err ? -1 : 0);
}

int
zcl_ota_parse_end(const uint8_t *p, size_t len, struct ota_end_req *e)
{
	struct brd	 r;

	memset(e, 0, sizeof(*e));
	brd_init(&r, p, len);
	e->status = brd_u8(&r);
	/* A non-success end may come alone; the rest is then unknown. */
	if (e->status != ZCL_SUCCESS && brd_left(&r) == 0)
		return (0);
	e->manuf = brd_u16(&r);
	e->image_type = brd_u16(&r);
	e->file_version = brd_u32(&r);
	return (r.err ? -1 : 0);
}

/* Start a server-to-client cluster command. */
static void
zcl_ota_hdr(struct bwr *w, uint8_t tsn, uint8_t cmd, int ddr)
{
	bwr_u8(w, ZCL_FC_CLUSTER | ZCL_FC_TO_CLIENT | (ddr ? ZCL_FC_DDR : 0));
	bwr_u8(w, tsn);
	bwr_u8(w, cmd);
}

size_t
zcl_ota_image_notify(uint8_t *out, size_t cap, uint8_t tsn)
{
	struct bwr	 w;

	bwr_init(&w, out, cap);
	zcl_ota_hdr(&w, tsn, OTA_IMAGE_NOTIFY, 1);
	bwr_u8(&w, 0);		/* payload type: jitter only */
	bwr_u8(&w, 100);	/* every device that hears it asks */
	return (w.err ? 0 : w.len);
}

size_t
zcl_ota_query_rsp(uint8_t *out, size_t cap, uint8_t tsn, uint8_t status,
    uint16_t manuf, uint16_t image_type, uint32_t version, uint32_t size)
{
	struct bwr	 w;

	bwr_init(&w, out, cap);
	zcl_ota_hdr(&w, tsn, OTA_QUERY_NEXT_RSP, 1);
	bwr_u8(&w, status);
	if (status == ZCL_SUCCESS) {
		bwr_u16(&w, manuf);
		bwr_u16(&w, image_type);
		bwr_u32(&w, version);
		bwr_u32(&w, size);
	}
	return (w.err ? 0 : w.len);
}

size_t
zcl_ota_block_rsp(uint8_t *out, size_t cap, uint8_t tsn, uint16_t manuf,
    uint16_t image_type, uint32_t version, uint32_t offset,
    const uint8_t *data, uint8_t len)
{
	struct bwr	 w;

	bwr_init(&w, out, cap);
	zcl_ota_hdr(&w, tsn, OTA_BLOCK_RSP, 1);
	bwr_u8(&w, ZCL_SUCCESS);
	bwr_u16(&w, manuf);
	bwr_u16(&w, image_type);
	bwr_u32(&w, version);
	bwr_u32(&w, offset);
	bwr_u8(&w, len);
	bwr_bytes(&w, data, len);
	return (w.err ? 0 : w.len);
}

size_t
zcl_ota_block_wait(uint8_t *out, size_t cap, uint8_t tsn, uint32_t delay_s,
    uint16_t min_period)
{
	struct bwr	 w;

	bwr_init(&w, out, cap);
	zcl_ota_hdr(&w, tsn, OTA_BLOCK_RSP, 1);
	bwr_u8(&w, ZCL_WAIT_FOR_DATA);
	bwr_u32(&w, 0);		/* current time 0: request time is relative */
	bwr_u32(&w, delay_s);
	bwr_u16(&w, min_period);
	return (w.err ? 0 : w.len);
}

size_t
zcl_ota_block_abort(uint8_t *out, size_t cap, uint8_t tsn)
{
	struct bwr	 w;

	bwr_init(&w, out, cap);
	zcl_ota_hdr(&w, tsn, OTA_BLOCK_RSP, 1);
	bwr_u8(&w, ZCL_ABORT);
	return (w.err ? 0 : w.len);
}

size_t
zcl_ota_end_rsp(uint8_t *out, size_t cap, uint8_t tsn, uint16_t manuf,
    uint16_t image_type, uint32_t version, uint32_t upgrade_in_s)
{
	struct bwr	 w;

	bwr_init(&w, out, cap);
	zcl_ota_hdr(&w, tsn, OTA_UPGRADE_END_RSP, 1);
	bwr_u16(&w, manuf);
	bwr_u16(&w, image_type);
	bwr_u32(&w, version);
	bwr_u32(&w, 0);		/* current time 0: upgrade time is relative */
	bwr_u32(&w, upgrade_in_s);
	return (w.err ? 0 : w.len);
}

size_t
zcl_default_rsp(uint8_t *out, size_t cap, uint8_t tsn, int to_client,
    uint8_t cmd, uint8_t status)
{
	struct bwr	 w;

	bwr_init(&w, out, cap);
	bwr_u8(&w, (to_client ? ZCL_FC_TO_CLIENT : 0) | ZCL_FC_DDR);
	bwr_u8(&w, tsn);
	bwr_u8(&w, ZCL_CMD_DEFAULT_RSP);
	bwr_u8(&w, cmd);
	bwr_u8(&w, status);
	return (w.err ? 0 : w.len);
}

size_t
zcl_read_attrs(uint8_t *out, size_t cap, uint8_t tsn, const uint16_t *attrs,
    size_t nattr)
{
	struct bwr	 w;
	size_t		 i;

	bwr_init(&w, out, cap);
	bwr_u8(&w, 0);		/* global, client to server, answer wanted */
	bwr_u8(&w, tsn);
	bwr_u8(&w, ZCL_CMD_READ_ATTR);
	for (i = 0; i < nattr; i++)
		bwr_u16(&w, attrs[i]);
	return (w.err ? 0 : w.len);
}

/* Keep printable ASCII only: the value ends up in JSON and logs. */
static void
zcl_copy_string(struct brd *r, struct zcl_attr *a)
{
	uint8_t		 n = brd_u8(r);
	size_t		 i, k = 0;
	uint8_t		 c;

	a->is_str = 1;
	if (n == 0xFF)		/* "invalid" string: no bytes follow */
		return;
	for (i = 0; i < n && !r->err; i++) {
		c = brd_u8(r);
		if (k < ZCL_STR_MAX && c >= 0x20 && c < 0x7F)
			a->str[k++] = (char)c;
	}
	a->str[k] = '\0';
}

/* Read one value of type A->type; -1 when its size is unknown. */
static int
zcl_read_value(struct brd *r, struct zcl_attr *a)
{
	switch (a->type) {
	case ZCL_TYPE_BOOL:
	case ZCL_TYPE_BITMAP8:
	case ZCL_TYPE_UINT8:
	case ZCL_TYPE_ENUM8:
		a->num = brd_u8(r);
		return (0);
	case ZCL_TYPE_UINT16:
	case 0x19:		/* bitmap16 */
	case 0x31:		/* enum16 */
		a->num = brd_u16(r);
		return (0);
	case ZCL_TYPE_UINT32:
	case 0x1B:		/* bitmap32 */
	case 0xE2:		/* UTC time */
		a->num = brd_u32(r);
		return (0);
	case ZCL_TYPE_STRING:
	case 0x41:		/* octet string */
		zcl_copy_string(r, a);
		return (0);
	default:
		return (-1);
	}
}

int
zcl_parse_read_rsp(const uint8_t *p, size_t len, struct zcl_attr *out,
    size_t max, size_t *n)
{
	struct brd	 r;
	struct zcl_attr	*a;

	*n = 0;
	brd_init(&r, p, len);
	while (brd_left(&r) > 0 && *n < max) {
		a = &out[*n];
		memset(a, 0, sizeof(*a));
		a->id = brd_u16(&r);
		a->status = brd_u8(&r);
		if (!r.err && a->status == ZCL_SUCCESS) {
			a->type = brd_u8(&r);
			if (!r.err && zcl_read_value(&r, a) == -1)
				return (0);	/* keep what came before */
		}
		if (r.err)
			return (-1);
		(*n)++;
	}
	return (0);
}
