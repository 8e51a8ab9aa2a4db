/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Index matching cost: parse the real zigbee-OTA index, then match 1,000
 * device descriptions derived from its entries (and some that match
 * nothing), and print parse time, time per match and peak memory.
 */

#include <sys/resource.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "otaindex.h"
#include "util.h"

#define BENCH_DEFAULT_FIXTURES	"../shared/fixtures/zigbee-ota"
#define BENCH_DEVICES		1000
#define BENCH_PARSES		5
#define BENCH_MISS_EVERY	8	/* one device in 8 has no entry */

static double
bench_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec * 1e9 + (double)ts.tv_nsec);
}

static int
bench_cmp_double(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return (x < y ? -1 : x > y);
}

/* Device I: near entry number I * a prime, or (every few) nobody's. */
static void
bench_device(const struct otaindex *idx, size_t i, struct otaindex_device *d)
{
	const struct otaindex_entry	*e;

	e = &idx->entries[(i * 7919) % idx->nentries];
	memset(d, 0, sizeof(*d));
	d->manufacturer_code = e->manufacturer_code;
	d->image_type = e->image_type;
	d->file_version = e->file_version - (uint32_t)(i % 3);
	d->has_hardware_version = i % 2;
	d->hardware_version = e->hw_min;
	d->model_id = e->model_id;
	if (e->nmanufacturer_names > 0)
		d->manufacturer_name = e->manufacturer_names[i %
		    e->nmanufacturer_names];
	if (i % BENCH_MISS_EVERY == 0) {
		d->manufacturer_code = 0xfffe;
		d->image_type = (uint16_t)i;
	}
}

static struct otaindex *
bench_parse(const char *buf, size_t len, double *ms)
{
	struct otaindex_opts	 opts;
	struct otaindex		*idx = NULL;
	double			 t[BENCH_PARSES], t0;
	char			 err[256];
	int			 i;

	memset(&opts, 0, sizeof(opts));
	opts.source = OTAINDEX_SRC_MAIN;
	opts.name = "index.json";
	for (i = 0; i < BENCH_PARSES; i++) {
		otaindex_free(idx);
		t0 = bench_now_ns();
		idx = otaindex_parse(buf, len, &opts, err, sizeof(err));
		t[i] = bench_now_ns() - t0;
		if (idx == NULL) {
			fprintf(stderr, "bench_match: %s\n", err);
			exit(1);
		}
	}
	qsort(t, BENCH_PARSES, sizeof(t[0]), bench_cmp_double);
	*ms = t[BENCH_PARSES / 2] / 1e6;
	return (idx);
}

static void
bench_matches(const struct otaindex *idx, double *median, double *p90,
    size_t *found)
{
	const struct otaindex	*list[1] = { idx };
	struct otaindex_device	 d;
	struct otaindex_result	 res;
	static double		 t[BENCH_DEVICES];
	double			 t0;
	size_t			 i;

	*found = 0;
	for (i = 0; i < BENCH_DEVICES; i++) {
		bench_device(idx, i, &d);
		t0 = bench_now_ns();
		if (otaindex_match(list, 1, &d, OTAINDEX_UPGRADE, &res) == -1) {
			fprintf(stderr, "bench_match: out of memory\n");
			exit(1);
		}
		t[i] = bench_now_ns() - t0;
		if (res.chosen != NULL)
			(*found)++;
		otaindex_result_free(&res);
	}
	qsort(t, BENCH_DEVICES, sizeof(t[0]), bench_cmp_double);
	*median = t[BENCH_DEVICES / 2] / 1e3;
	*p90 = t[BENCH_DEVICES * 9 / 10] / 1e3;
}

int
main(void)
{
	struct rusage	 ru;
	struct otaindex	*idx;
	const char	*dir = getenv("ZOTAD_FIXTURES");
	char		 path[PATH_MAX];
	uint8_t		*buf;
	size_t		 len, found;
	double		 parse_ms, median, p90;

	log_init("bench_match", 1, 0);
	snprintf(path, sizeof(path), "%s/index.json",
	    dir != NULL && *dir != '\0' ? dir : BENCH_DEFAULT_FIXTURES);
	if (util_read_file(path, OTAINDEX_MAX_BYTES, &buf, &len) == -1) {
		printf("bench_match: skipped, %s not found "
		    "(set ZOTAD_FIXTURES)\n", path);
		return (0);
	}
	idx = bench_parse((const char *)buf, len, &parse_ms);
	bench_matches(idx, &median, &p90, &found);
	getrusage(RUSAGE_SELF, &ru);

	printf("%-40s %14s\n", "bench_match", "value");
	printf("%-40s %11.2f ms\n", "parse index.json (median of 5)",
	    parse_ms);
	printf("%-40s %14zu\n", "entries parsed", idx->nentries);
	printf("%-40s %11.2f us\n", "match, median of 1000 devices", median);
	printf("%-40s %11.2f us\n", "match, 90th percentile", p90);
	printf("%-40s %9zu/%zu\n", "devices offered an image", found,
	    (size_t)BENCH_DEVICES);
	printf("%-40s %10ld KiB\n", "peak memory (ru_maxrss)", ru.ru_maxrss);
	otaindex_free(idx);
	free(buf);
	return (0);
}
