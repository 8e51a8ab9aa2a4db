/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "otaindex.h"

#define FUZZ_DEVICES	8

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Devices close to entry E, so that restrictions are really exercised. */
static void
fuzz_device(const struct otaindex_entry *e, size_t k,
    struct otaindex_device *d)
{
	static const char *const names[] = { NULL, "", "_TZ3000_x", "M" };

	memset(d, 0, sizeof(*d));
	d->manufacturer_code = e->manufacturer_code;
	d->image_type = e->image_type;
	d->file_version = e->file_version + (uint32_t)k - 1;
	d->has_hardware_version = k & 1;
	d->hardware_version = (uint16_t)(e->hw_min + k / 2);
	d->model_id = k & 2 ? e->model_id : names[k % 4];
	d->manufacturer_name = e->nmanufacturer_names > 0 && (k & 4) ?
	    e->manufacturer_names[0] : names[(k + 1) % 4];
}

static void
fuzz_match(const struct otaindex *const *list, size_t n,
    const struct otaindex_device *d)
{
	struct otaindex_result	 res;
	char			 why[256];
	size_t			 i;
	cJSON			*j;

	if (otaindex_match(list, n, d, d->file_version & 1 ?
	    OTAINDEX_DOWNGRADE : OTAINDEX_UPGRADE, &res) == -1)
		return;
	for (i = 0; i < res.ncandidates; i++) {
		/* Every candidate is the device's, and only one is chosen. */
		if (res.candidates[i].entry->manufacturer_code !=
		    d->manufacturer_code || (res.candidates[i].excluded == 0) !=
		    (res.candidates[i].entry == res.chosen))
			abort();
		otaindex_explain(&res.candidates[i], d, why, sizeof(why));
		if (memchr(why, '\0', sizeof(why)) == NULL)
			abort();
	}
	if (res.chosen != NULL && (j = otaindex_entry_to_json(
	    res.chosen)) != NULL)
		cJSON_Delete(j);
	otaindex_result_free(&res);
}

/* An encoded name is URL-safe whatever it was made from. */
static void
fuzz_encode(const char *s)
{
	char	*enc;
	size_t	 i;

	if ((enc = otaindex_uri_encode(s)) == NULL)
		return;
	for (i = 0; enc[i] != '\0'; i++)
		if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "abcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()%",
		    enc[i]) == NULL)
			abort();
	free(enc);
}

/*
 * Hostile index text: parsed as a remote main index and as a local
 * override whose allowed directory does not exist, then matched with
 * devices derived from what was parsed.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct otaindex_opts	 opts;
	struct otaindex		*list[2];
	struct otaindex_device	 d;
	char			 err[256];
	size_t			 i, k;

	memset(&opts, 0, sizeof(opts));
	opts.source = OTAINDEX_SRC_OVERRIDE;
	opts.name = "override";
	opts.allow_local_files = 1;
	opts.data_dir = "/nonexistent/zotad-fuzz";
	list[0] = otaindex_parse((const char *)data, size, &opts, err,
	    sizeof(err));
	opts.source = OTAINDEX_SRC_MAIN;
	opts.name = "main";
	opts.allow_local_files = 0;
	list[1] = otaindex_parse((const char *)data, size, &opts, err,
	    sizeof(err));
	if ((list[0] == NULL) != (list[1] == NULL))
		abort();
	if (list[1] == NULL)
		return (0);
	/* No local file exists, so the override keeps no local entry. */
	for (i = 0; i < list[0]->nentries; i++)
		if (list[0]->entries[i].local_path != NULL)
			abort();
	for (i = 0; i < list[1]->nentries; i++)
		fuzz_encode(list[1]->entries[i].url);
	for (i = 0; i < list[1]->nentries && i < FUZZ_DEVICES; i++)
		for (k = 0; k < 8; k++) {
			fuzz_device(&list[1]->entries[i], k, &d);
			fuzz_match((const struct otaindex *const *)list, 2, &d);
		}
	otaindex_free(list[0]);
	otaindex_free(list[1]);
	return (0);
}
