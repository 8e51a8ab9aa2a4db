/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <string.h>

#include "buf.h"

void
brd_init(struct brd *r, const uint8_t *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->err = 0;
}

/* Whether N more bytes are there; marks the reader broken if not. */
static int
brd_need(struct brd *r, size_t n)
{
	if (r->err || r->len - r->off < n) {
		r->err = 1;
		return (0);
	}
	return (1);
}

uint8_t
brd_u8(struct brd *r)
{
	if (!brd_need(r, 1))
		return (0);
	return (r->p[r->off++]);
}

uint16_t
brd_u16(struct brd *r)
{
	uint16_t	 v;

	if (!brd_need(r, 2))
		return (0);
	v = (uint16_t)(r->p[r->off] | r->p[r->off + 1] << 8);
	r->off += 2;
	return (v);
}

uint32_t
brd_u32(struct brd *r)
{
	uint32_t	 lo, hi;

	lo = brd_u16(r);
	hi = brd_u16(r);
	return (lo | hi << 16);
}

uint64_t
brd_u64(struct brd *r)
{
	uint64_t	 lo, hi;

	lo = brd_u32(r);
	hi = brd_u32(r);
	return (lo | hi << 32);
}

void
brd_bytes(struct brd *r, void *out, size_t n)
{
	if (!brd_need(r, n)) {
		if (out != NULL)
			memset(out, 0, n);
		return;
	}
	if (out != NULL)
		memcpy(out, r->p + r->off, n);
	r->off += n;
}

size_t
brd_left(const struct brd *r)
{
	return (r->err ? 0 : r->len - r->off);
}

const uint8_t *
brd_ptr(const struct brd *r)
{
	return (r->p + r->off);
}

void
bwr_init(struct bwr *w, uint8_t *p, size_t cap)
{
	w->p = p;
	w->cap = cap;
	w->len = 0;
	w->err = 0;
}

void
bwr_bytes(struct bwr *w, const void *src, size_t n)
{
	if (w->err || w->cap - w->len < n) {
		w->err = 1;
		return;
	}
	memcpy(w->p + w->len, src, n);
	w->len += n;
}

void
bwr_u8(struct bwr *w, uint8_t v)
{
	bwr_bytes(w, &v, 1);
}

void
bwr_u16(struct bwr *w, uint16_t v)
{
	uint8_t	 b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };

	bwr_bytes(w, b, 2);
}

void
bwr_u32(struct bwr *w, uint32_t v)
{
	bwr_u16(w, (uint16_t)v);
	bwr_u16(w, (uint16_t)(v >> 16));
}

void
bwr_u64(struct bwr *w, uint64_t v)
{
	bwr_u32(w, (uint32_t)v);
	bwr_u32(w, (uint32_t)(v >> 32));
}
