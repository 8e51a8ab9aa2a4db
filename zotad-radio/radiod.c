/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <signal.h>
#include <stdlib.h>

#include <event2/event.h>

#include "adapter.h"
#include "config.h"
#include "log.h"
#include "radiod.h"
#include "zstack.h"

struct radiod {
	struct event_base	*base;
	const struct config	*conf;
	struct adapter		*ad;
};

static void
radiod_state_cb(enum adapter_state st, void *arg)
{
	(void)arg;
	log_info("adapter %s", st == ADAPTER_UP ? "up" : "down");
}

static void
radiod_signal_cb(evutil_socket_t sig, short ev, void *arg)
{
	struct radiod	*rd = arg;

	(void)ev;
	log_info("signal %d: stopping", (int)sig);
	event_base_loopbreak(rd->base);
}

int
radiod_main(const struct config *conf)
{
	struct radiod		 rd = { 0 };
	struct adapter_cbs	 cbs = { 0 };
	struct event		*sigterm, *sigint;

	signal(SIGPIPE, SIG_IGN);
	if ((rd.base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	rd.conf = conf;
	cbs.state = radiod_state_cb;
	if ((rd.ad = zstack_new(rd.base, conf, &cbs, &rd)) == NULL)
		fatalx("out of memory");
	sigterm = evsignal_new(rd.base, SIGTERM, radiod_signal_cb, &rd);
	sigint = evsignal_new(rd.base, SIGINT, radiod_signal_cb, &rd);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	adapter_start(rd.ad);
	event_base_dispatch(rd.base);
	adapter_free(rd.ad);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(rd.base);
	return (0);
}
