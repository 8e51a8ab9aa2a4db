/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_SIMHOST_H
#define ZOTAD_SIMHOST_H

/*
 * A scripted host for the simulator tests: it starts zotad-sim on a
 * scenario, talks MT to it over TCP or the pty, drives its control
 * socket and reads its event log. Test code only; failures abort the
 * current cmocka test.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "../../../zotad-radio/mt.h"

#define SIMHOST_QUEUE	1024
#define SIMHOST_ANY	(-1)

struct simhost {
	pid_t		 pid;
	int		 fd;
	int		 pty;
	char		 dir[256];
	char		 scenario[300];
	char		 events[300];
	char		 ctl[300];
	char		 link[300];
	int		 port;
	struct mt_decoder dec;
	struct mt_frame	 q[SIMHOST_QUEUE];
	size_t		 qn;
	uint8_t		 trans_id;
};

/* Start zotad-sim on SCENARIO (JSON text) and connect to it. */
void	simhost_start(struct simhost *, const char *scenario, int pty,
	    unsigned long long seed);
/* Stop the simulator and remove the scratch directory. */
void	simhost_stop(struct simhost *);
/* The same, returning the whole event log without its "t" fields. */
char	*simhost_stop_events(struct simhost *);
/*
 * A cmocka teardown: stop a simulator a failed test left running, so one
 * failure does not leave processes behind.
 */
int	simhost_reap(void **);
/* Connect again (after an unplug); returns 0 or -1. */
int	simhost_connect(struct simhost *);

void	simhost_raw(struct simhost *, const void *, size_t);
void	simhost_send(struct simhost *, uint8_t type, uint8_t subsys,
	    uint8_t cmd, const void *, size_t);
/*
 * Wait up to MS milliseconds for a frame of TYPE, SUBSYS and CMD
 * (SIMHOST_ANY matches all), taking it out of the queue; 0 or -1.
 */
int	simhost_wait(struct simhost *, int type, int subsys, int cmd, int ms,
	    struct mt_frame *);
/* Send an SREQ and return its SRSP, which must come within 2 s. */
void	simhost_sreq(struct simhost *, uint8_t subsys, uint8_t cmd,
	    const void *, size_t, struct mt_frame *rsp);
/* Read what is available for up to MS milliseconds into the queue. */
void	simhost_pump(struct simhost *, int ms);
/* Drop every queued frame. */
void	simhost_flush(struct simhost *);

/* One control command; the reply line goes to REPLY. */
void	simhost_ctl(struct simhost *, const char *cmd, char *reply, size_t);

/* Number of event lines holding every one of the NULL-ended needles. */
int	simhost_events(struct simhost *, ...);

/* Where the fixtures are, or NULL. */
const char *simhost_fixtures(void);

#endif
