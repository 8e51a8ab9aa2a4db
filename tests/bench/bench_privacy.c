/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The privacy gate under a day of traffic: 200 devices each ask for an
 * image every hour, on a simulated clock. Counted are the requests to
 * the index server that zotad-fetch's gate lets through, against the
 * fewest the promise allows (one per interval, since one download
 * answers every device) and against a gate that limits each device but
 * keeps no shared copy (zigbee2mqtt's behaviour). Printed, not asserted.
 */

#include <sys/resource.h>

#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fetch.h"
#include "log.h"

#define BENCH_DEVICES	200
#define BENCH_DAY	(24 * 3600)
#define BENCH_PERIOD	3600		/* each device asks hourly */
#define BENCH_BASE	0x00124b0000000000ULL

struct bench_run {
	long	 zotad;		/* requests our gate let through */
	long	 per_device;	/* requests with a per-device limit only */
	long	 answered;	/* checks answered from the cache */
	long	 refused;	/* checks refused as too soon */
};

/* zigbee2mqtt's way: each device allowed through downloads anew. */
static void
bench_per_device(struct gate *z, uint64_t ieee, time_t now,
    struct bench_run *r)
{
	if (gate_judge(z, ieee, 1, 0, now) == GATE_NETWORK) {
		r->per_device++;
		gate_record(z, ieee, now);
	}
}

static void
bench_check(struct gate *g, uint64_t ieee, time_t now, int *have,
    time_t *fetched, struct bench_run *r)
{
	enum gate_verdict	 v;

	v = gate_judge(g, ieee, 1, 0, now);
	switch (gate_source(g, v, *have, *fetched, now)) {
	case GATE_SOURCE_FETCH:
		r->zotad++;
		*have = 1;
		*fetched = now;
		gate_record(g, ieee, now);
		break;
	case GATE_SOURCE_USE:
		r->answered++;
		break;
	case GATE_SOURCE_NONE:
		r->refused++;
		break;
	}
}

/* One simulated day; devices spread their hourly queries evenly. */
static void
bench_day(struct gate *g, struct gate *z, struct bench_run *r)
{
	time_t	 start = 1790000000, t, now, fetched = 0;
	int	 have = 0, i;

	for (t = 0; t < BENCH_DAY; t += BENCH_PERIOD) {
		for (i = 0; i < BENCH_DEVICES; i++) {
			now = start + t + i * (BENCH_PERIOD / BENCH_DEVICES);
			bench_check(g, BENCH_BASE + (uint64_t)i, now, &have,
			    &fetched, r);
			bench_per_device(z, BENCH_BASE + (uint64_t)i, now, r);
		}
	}
}

static void
bench_interval(int minutes)
{
	struct gate		*g, *z;
	struct bench_run	 r = { 0 };
	long			 minimum;

	if ((g = gate_new(NULL, (time_t)minutes * 60)) == NULL ||
	    (z = gate_new(NULL, (time_t)minutes * 60)) == NULL)
		fatal("gate_new");
	bench_day(g, z, &r);
	minimum = (BENCH_DAY + minutes * 60L - 1) / (minutes * 60L);
	printf("%-10d %8d %8ld %8ld %10ld %8ld %8ld\n", minutes,
	    BENCH_DEVICES * (BENCH_DAY / BENCH_PERIOD), r.zotad, minimum,
	    r.per_device, r.answered, r.refused);
	gate_free(g);
	gate_free(z);
}

/* Heap the gate holds for its devices, from malloc's own accounting. */
static void
bench_gate_memory(void)
{
	struct gate	*g;
	size_t		 before, after;
	int		 i;

	before = mallinfo2().uordblks;
	if ((g = gate_new(NULL, 1440 * 60)) == NULL)
		fatal("gate_new");
	for (i = 0; i < BENCH_DEVICES; i++)
		gate_record(g, BENCH_BASE + (uint64_t)i, 1790000000 + i);
	after = mallinfo2().uordblks;
	printf("gate memory for %d devices: %zu bytes\n", BENCH_DEVICES,
	    after - before);
	gate_free(g);
}

int
main(void)
{
	struct rusage	 ru;

	log_init("bench_privacy", 1, 0);
	printf("privacy gate: %d devices asking hourly for one simulated "
	    "day\n", BENCH_DEVICES);
	printf("%-10s %8s %8s %8s %10s %8s %8s\n", "interval", "checks",
	    "fetches", "minimum", "per-device", "cached", "refused");
	bench_interval(1440);
	bench_interval(360);
	bench_interval(60);
	bench_interval(30);
	bench_gate_memory();
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		printf("peak resident memory: %ld KiB\n", ru.ru_maxrss);
	return (0);
}
