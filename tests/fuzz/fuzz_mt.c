/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The codec lives with zotad-radio, whose modules the target links. */
#include "mt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The re-decoded copy must equal the frame that was encoded. */
static void
fuzz_mt_same(const struct mt_frame *f, void *arg)
{
	const struct mt_frame	*orig = arg;

	if (f->type != orig->type || f->subsys != orig->subsys ||
	    f->cmd != orig->cmd || f->len != orig->len ||
	    memcmp(f->data, orig->data, f->len) != 0)
		abort();
}

/* Every frame delivered must encode back to the same frame. */
static void
fuzz_mt_check(const struct mt_frame *f, void *arg)
{
	struct mt_decoder	*again = arg;
	uint8_t			 out[MT_FRAME_MAX];
	size_t			 n;
	uint64_t		 before = again->frames;

	if (f->len > MT_MAX_PAYLOAD)
		abort();
	n = mt_encode(f, out, sizeof(out));
	if (n != (size_t)f->len + MT_OVERHEAD)
		abort();
	mt_decoder_reset(again);
	mt_decoder_feed(again, out, n, fuzz_mt_same, (void *)(uintptr_t)f);
	if (again->frames != before + 1)
		abort();
}

static void
fuzz_mt_count(const struct mt_frame *f, void *arg)
{
	size_t	*count = arg;

	(void)f;
	(*count)++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_decoder	 d, again, split;
	size_t			 i, whole = 0, pieces = 0;

	mt_decoder_init(&d);
	mt_decoder_init(&again);
	mt_decoder_feed(&d, data, size, fuzz_mt_check, &again);

	/* Feeding byte by byte must find exactly the same frames. */
	mt_decoder_init(&d);
	mt_decoder_feed(&d, data, size, fuzz_mt_count, &whole);
	mt_decoder_init(&split);
	for (i = 0; i < size; i++)
		mt_decoder_feed(&split, data + i, 1, fuzz_mt_count, &pieces);
	if (whole != pieces)
		abort();
	return (0);
}
