/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_BUF_H
#define ZOTAD_RADIO_BUF_H

/*
 * Bounded little-endian readers and writers for frames from the adapter
 * and from devices. A read past the end, or a write past the room, sets
 * the error flag and yields zeros; callers check the flag once at the
 * end instead of after every field.
 */

#include <stddef.h>
#include <stdint.h>

struct brd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

struct bwr {
	uint8_t		*p;
	size_t		 cap;
	size_t		 len;
	int		 err;
};

void	 brd_init(struct brd *, const uint8_t *, size_t);
uint8_t	 brd_u8(struct brd *);
uint16_t brd_u16(struct brd *);
uint32_t brd_u32(struct brd *);
uint64_t brd_u64(struct brd *);
/* Copy N bytes to OUT (which may be NULL to skip them). */
void	 brd_bytes(struct brd *, void *out, size_t n);
size_t	 brd_left(const struct brd *);
/* A pointer to the unread bytes. */
const uint8_t *brd_ptr(const struct brd *);

void	 bwr_init(struct bwr *, uint8_t *, size_t);
void	 bwr_u8(struct bwr *, uint8_t);
void	 bwr_u16(struct bwr *, uint16_t);
void	 bwr_u32(struct bwr *, uint32_t);
void	 bwr_u64(struct bwr *, uint64_t);
void	 bwr_bytes(struct bwr *, const void *, size_t);

#endif
