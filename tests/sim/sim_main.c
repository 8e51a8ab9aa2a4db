/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "log.h"
#include "sim.h"

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: zotad-sim --scenario FILE "
	    "(--pty LINK_PATH | --tcp HOST:PORT)\n"
	    "\t[--events FILE] [--control SOCKET] [--seed N] [-v]\n");
	exit(2);
}

static void
sim_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct sim	*sim = arg;

	(void)what;
	log_info("signal %d, stopping", (int)sig);
	event_base_loopbreak(sim->base);
}

static void
sim_start_event(struct sim *sim, const char *transport)
{
	cJSON	*o = cJSON_CreateObject();
	char	 ieee[19];

	ieee_format(sim->adapter.ieee, ieee);
	cJSON_AddStringToObject(o, "transport", transport);
	cJSON_AddNumberToObject(o, "seed", (double)sim->seed);
	cJSON_AddStringToObject(o, "ieee", ieee);
	cJSON_AddBoolToObject(o, "formed", sim->adapter.formed);
	cJSON_AddNumberToObject(o, "devices", sim->ndevs);
	sim_event(sim, "start", o);
}

/* The adapter as it is when the simulator starts: NV, state, devices. */
static void
sim_power_on(struct sim *sim)
{
	int	 i;

	rng_seed(&sim->rng, sim->seed, 0);
	if (sim->adapter.formed) {
		nv_load_formed(sim);
		/* A formed stick has been running while its host restarts. */
		sim->dev_state = 9;
	} else {
		nv_load_blank(sim);
		sim->dev_state = 0;
	}
	for (i = 0; i < sim->ndevs; i++)
		dev_start(sim->devs[i]);
}

static void
sim_cleanup(struct sim *sim)
{
	int	 i;

	link_close(sim);
	ctl_close(sim);
	sim_timers_free(sim);
	for (i = 0; i < sim->ndevs; i++)
		dev_free(sim->devs[i]);
	znp_stored_clear(sim);
	nv_free(&sim->nv);
	if (sim->rate != NULL)
		ev_token_bucket_cfg_free(sim->rate);
	free(sim->pty_link);
	sim_event(sim, "stop", NULL);
	sim_event_close(sim);
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "scenario", required_argument, NULL, 's' },
		{ "pty", required_argument, NULL, 'p' },
		{ "tcp", required_argument, NULL, 't' },
		{ "events", required_argument, NULL, 'e' },
		{ "control", required_argument, NULL, 'c' },
		{ "seed", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 }
	};
	struct sim	 sim;
	struct event	*sigint, *sigterm;
	const char	*scenario = NULL, *pty = NULL, *tcp = NULL;
	const char	*events = NULL, *control = NULL;
	char		*end;
	int		 ch, verbose = 0, rv;

	memset(&sim, 0, sizeof(sim));
	sim.pty_master = sim.pty_slave = sim.ctl_fd = -1;
	sim.seed = 1;
	while ((ch = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			scenario = optarg;
			break;
		case 'p':
			pty = optarg;
			break;
		case 't':
			tcp = optarg;
			break;
		case 'e':
			events = optarg;
			break;
		case 'c':
			control = optarg;
			break;
		case 'S':
			sim.seed = strtoull(optarg, &end, 0);
			if (*optarg == '\0' || *end != '\0')
				usage();
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || scenario == NULL ||
	    (pty == NULL) == (tcp == NULL))
		usage();
	log_init("zotad-sim", 1, verbose);
	signal(SIGPIPE, SIG_IGN);

	sim.start_ms = 0;
	sim.start_ms = sim_now_ms(&sim);
	nv_init(&sim.nv);
	TAILQ_INIT(&sim.timers);
	mt_decoder_init(&sim.dec);
	if ((sim.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	if (scenario_load(&sim, scenario) == -1)
		exit(1);
	if (events != NULL && sim_event_open(&sim, events) == -1)
		exit(1);
	sim_start_event(&sim, pty != NULL ? "pty" : "tcp");
	sim_power_on(&sim);
	rv = pty != NULL ? link_open_pty(&sim, pty) : link_open_tcp(&sim, tcp);
	if (rv == -1 || (control != NULL && ctl_open(&sim, control) == -1)) {
		sim_cleanup(&sim);
		exit(1);
	}

	sigint = evsignal_new(sim.base, SIGINT, sim_on_signal, &sim);
	sigterm = evsignal_new(sim.base, SIGTERM, sim_on_signal, &sim);
	if (sigint == NULL || sigterm == NULL ||
	    evsignal_add(sigint, NULL) == -1 ||
	    evsignal_add(sigterm, NULL) == -1)
		fatalx("signal events");
	log_info("simulating %d device%s, seed %llu", sim.ndevs,
	    sim.ndevs == 1 ? "" : "s", (unsigned long long)sim.seed);
	event_base_dispatch(sim.base);

	event_free(sigint);
	event_free(sigterm);
	sim_cleanup(&sim);
	event_base_free(sim.base);
	return (0);
}
