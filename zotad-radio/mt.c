/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <string.h>

#include "mt.h"

uint8_t
mt_cmd0(uint8_t type, uint8_t subsys)
{
	return ((uint8_t)(((type & 0x07) << 5) | (subsys & 0x1f)));
}

uint8_t
mt_cmd0_type(uint8_t cmd0)
{
	return (cmd0 >> 5);
}

uint8_t
mt_cmd0_subsys(uint8_t cmd0)
{
	return (cmd0 & 0x1f);
}

const char *
mt_type_name(uint8_t type)
{
	static const char *const names[] = { "POLL", "SREQ", "AREQ", "SRSP" };

	if (type < sizeof(names) / sizeof(names[0]))
		return (names[type]);
	return ("?");
}

const char *
mt_subsys_name(uint8_t subsys)
{
	switch (subsys) {
	case MT_SUBSYS_RPC_ERROR:
		return ("RPC_ERROR");
	case MT_SUBSYS_SYS:
		return ("SYS");
	case MT_SUBSYS_MAC:
		return ("MAC");
	case MT_SUBSYS_NWK:
		return ("NWK");
	case MT_SUBSYS_AF:
		return ("AF");
	case MT_SUBSYS_ZDO:
		return ("ZDO");
	case MT_SUBSYS_SAPI:
		return ("SAPI");
	case MT_SUBSYS_UTIL:
		return ("UTIL");
	case MT_SUBSYS_DEBUG:
		return ("DEBUG");
	case MT_SUBSYS_APP:
		return ("APP");
	case MT_SUBSYS_OTA:
		return ("OTA");
	case MT_SUBSYS_ZNP:
		return ("ZNP");
	case MT_SUBSYS_UBL:
		return ("UBL");
	case MT_SUBSYS_APP_CNF:
		return ("APP_CNF");
	case MT_SUBSYS_GP:
		return ("GP");
	}
	return ("?");
}

uint8_t
mt_fcs(const uint8_t *buf, size_t len)
{
	uint8_t	 x = 0;
	size_t	 i;

	for (i = 0; i < len; i++)
		x ^= buf[i];
	return (x);
}

int
mt_frame_set(struct mt_frame *f, uint8_t type, uint8_t subsys, uint8_t cmd,
    const void *data, size_t len)
{
	if (len > MT_MAX_PAYLOAD)
		return (-1);
	f->type = type;
	f->subsys = subsys;
	f->cmd = cmd;
	f->len = (uint8_t)len;
	if (len > 0)
		memcpy(f->data, data, len);
	return (0);
}

size_t
mt_encode(const struct mt_frame *f, uint8_t *out, size_t outlen)
{
	size_t	 n = (size_t)f->len + MT_OVERHEAD;

	if (f->len > MT_MAX_PAYLOAD || outlen < n)
		return (0);
	out[0] = MT_SOF;
	out[1] = f->len;
	out[2] = mt_cmd0(f->type, f->subsys);
	out[3] = f->cmd;
	memcpy(out + 4, f->data, f->len);
	out[n - 1] = mt_fcs(out + 1, n - 2);
	return (n);
}

void
mt_rpc_error(struct mt_frame *f, uint8_t err, const struct mt_frame *req)
{
	f->type = MT_TYPE_SRSP;
	f->subsys = MT_SUBSYS_RPC_ERROR;
	f->cmd = 0;
	f->len = 3;
	f->data[0] = err;
	f->data[1] = mt_cmd0(req->type, req->subsys);
	f->data[2] = req->cmd;
}

void
mt_decoder_init(struct mt_decoder *d)
{
	memset(d, 0, sizeof(*d));
}

void
mt_decoder_reset(struct mt_decoder *d)
{
	d->have = 0;
}

/* Drop the first N buffered bytes. */
static void
mt_decoder_shift(struct mt_decoder *d, size_t n)
{
	memmove(d->buf, d->buf + n, d->have - n);
	d->have -= n;
}

/* Skip to the next SOF; returns 0 when no SOF is buffered. */
static int
mt_decoder_sync(struct mt_decoder *d)
{
	size_t	 i = 0;

	while (i < d->have && d->buf[i] != MT_SOF)
		i++;
	if (i > 0) {
		d->skipped += i;
		mt_decoder_shift(d, i);
	}
	return (d->have > 0);
}

/* Deliver every complete frame in the buffer; stop when more is needed. */
static void
mt_decoder_scan(struct mt_decoder *d, mt_frame_cb cb, void *arg)
{
	struct mt_frame	 f;
	size_t		 need;

	while (mt_decoder_sync(d) && d->have >= 2) {
		if (d->buf[1] > MT_MAX_PAYLOAD) {
			/* Not a real header: the SOF was payload noise. */
			d->bad_len++;
			mt_decoder_shift(d, 1);
			continue;
		}
		need = (size_t)d->buf[1] + MT_OVERHEAD;
		if (d->have < need)
			return;
		if (mt_fcs(d->buf + 1, need - 2) != d->buf[need - 1]) {
			/* Resynchronise inside the bad frame, not after it. */
			d->bad_fcs++;
			mt_decoder_shift(d, 1);
			continue;
		}
		f.len = d->buf[1];
		f.type = mt_cmd0_type(d->buf[2]);
		f.subsys = mt_cmd0_subsys(d->buf[2]);
		f.cmd = d->buf[3];
		memcpy(f.data, d->buf + 4, f.len);
		mt_decoder_shift(d, need);
		d->frames++;
		cb(&f, arg);
	}
}

void
mt_decoder_feed(struct mt_decoder *d, const uint8_t *in, size_t len,
    mt_frame_cb cb, void *arg)
{
	size_t	 room, n;

	while (len > 0) {
		/* The scan always leaves room: a full buffer is a frame. */
		room = sizeof(d->buf) - d->have;
		n = len < room ? len : room;
		memcpy(d->buf + d->have, in, n);
		d->have += n;
		in += n;
		len -= n;
		mt_decoder_scan(d, cb, arg);
	}
}
