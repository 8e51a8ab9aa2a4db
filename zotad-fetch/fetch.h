/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_FETCH_H
#define ZOTAD_FETCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/*
 * The privacy gate: it decides, before anything is sent, whether a check
 * for a device may contact a third party. An automatic (device-initiated)
 * check may do so at most once per update_check_interval for each device;
 * within the interval it is answered from what is cached, or refused as
 * too soon when nothing is. The last-check time of every device is kept
 * in a state file written atomically, so a restart does not reset it.
 *
 * Time is always passed in by the caller, so that the daemon uses the
 * wall clock and the benchmark a simulated one.
 */

#define GATE_STATE_FILE		"fetch-lastcheck.json"
#define GATE_STATE_MAX		(4 * 1024 * 1024)	/* bytes */
#define GATE_MAX_DEVICES	65536

enum gate_verdict {
	GATE_DISABLED,		/* automatic checks are switched off */
	GATE_CACHE_ONLY,	/* too soon: answer from the cache, if any */
	GATE_NETWORK		/* a third party may be contacted */
};

/* What to do about one index for a check the gate has judged. */
enum gate_source_action {
	GATE_SOURCE_USE,	/* the cached copy */
	GATE_SOURCE_FETCH,	/* download (conditionally) */
	GATE_SOURCE_NONE	/* nothing cached and no contact allowed */
};

struct gate;

/*
 * A gate allowing one automatic contact per INTERVAL seconds per device,
 * persisting to STATE_PATH (NULL: memory only, for the benchmark).
 * Existing state is loaded; a damaged file is logged and ignored, since
 * the worst it can cause is one early check per device. NULL on ENOMEM.
 */
struct gate	*gate_new(const char *state_path, time_t interval);
void		 gate_free(struct gate *);

/*
 * Judge a check for device IEEE at NOW: AUTOMATIC when the device asked,
 * DISABLED when automatic checks are off for it (globally or per device).
 * Manual checks are always GATE_NETWORK.
 */
enum gate_verdict gate_judge(const struct gate *, uint64_t ieee,
		    int automatic, int disabled, time_t now);

/*
 * For a check judged VERDICT, what to do with an index that is cached
 * (HAVE) and was fetched at FETCHED: a copy younger than the interval is
 * reused even when the network is allowed, so one download serves every
 * device for an interval.
 */
enum gate_source_action gate_source(const struct gate *,
		    enum gate_verdict verdict, int have, time_t fetched,
		    time_t now);

/*
 * Record that a check for IEEE contacted a third party at NOW, and save
 * the state. Returns 0, or -1 when the state could not be saved (logged;
 * the time is still kept in memory).
 */
int		 gate_record(struct gate *, uint64_t ieee, time_t now);

/* The last recorded contact for IEEE, or -1 when there was none. */
time_t		 gate_last(const struct gate *, uint64_t ieee);

/* How many devices the gate remembers. */
size_t		 gate_ndevices(const struct gate *);

/* The interval, in seconds. */
time_t		 gate_interval(const struct gate *);

#endif
