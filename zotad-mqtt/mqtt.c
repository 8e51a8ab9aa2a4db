/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-mqtt: zigbee2mqtt's MQTT API for OTA updates and Home Assistant
 * discovery, in front of zotad-radio. Start-up follows the common
 * order: configuration, acquire (log, TLS context, resolver), drop
 * privileges, no_new_privs, sandbox, loop.
 */

#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <mosquitto.h>

#include "config.h"
#include "daemon.h"
#include "log.h"
#include "mqttd.h"
#include "priv.h"

static void
mqtt_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base	*base = arg;

	(void)what;
	log_info("signal %d, leaving", (int)sig);
	daemon_stopping();
	event_base_loopbreak(base);
}

/*
 * glibc loads its name service modules on the first lookup; do it now,
 * while libraries may still be mapped executable.
 */
static void
mqtt_warm_resolver(const char *host)
{
	struct addrinfo	 hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) == 0)
		freeaddrinfo(res);
}

static void
mqtt_drop(const struct config *conf)
{
	struct priv_ids	 ids;

	if (priv_is_root() && (priv_lookup(&ids, conf->zotad.user_mqtt,
	    NULL, NULL) == -1 || priv_drop_ids(&ids) == -1))
		fatalx("cannot drop privileges to %s", conf->zotad.user_mqtt);
	if (priv_no_new_privs() == -1)
		fatalx("cannot set no_new_privs");
}

int
main(int argc, char *argv[])
{
	struct daemon_opts	 opts;
	struct config		*conf;
	struct event_base	*base;
	struct event		*sigterm, *sigint;
	struct mqttd		*d;
	char			*radio;

	daemon_getopt(argc, argv, "zotad-mqtt", &opts);
	conf = daemon_config(&opts);
	if (!opts.foreground && daemon(0, 0) == -1)
		fatal("daemon");
	signal(SIGPIPE, SIG_IGN);

	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new");
	sigterm = evsignal_new(base, SIGTERM, mqtt_signal, base);
	sigint = evsignal_new(base, SIGINT, mqtt_signal, base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm,
	    NULL) == -1 || evsignal_add(sigint, NULL) == -1)
		fatalx("signal events");
	if (asprintf(&radio, "%s/%s", conf->zotad.run_dir,
	    MQRADIO_SOCKET) == -1)
		fatalx("out of memory");
	if ((d = mqttd_new(base, conf, radio)) == NULL)
		fatalx("cannot set up the MQTT client");
	mqtt_warm_resolver(conf->mqtt.host);

	mqtt_drop(conf);
	if (mqconfine_enter() == -1)
		fatalx("cannot enter the sandbox");

	/*
	 * Ready once set up and confined, before the first connect: the
	 * broker may be down or far away, we keep trying on our own, and
	 * nothing waits for us. Waiting for it would only have systemd
	 * fail the start and restart us meanwhile. The status line follows
	 * the broker connection from here.
	 */
	daemon_ready("connecting to broker %s", conf->mqtt.server);
	log_info("ready: broker %s, base topic %s", conf->mqtt.server,
	    conf->mqtt.base_topic);
	mqttd_start(d);
	event_base_dispatch(base);

	mqttd_stop(d);
	mqttd_free(d);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	free(radio);
	mosquitto_lib_cleanup();
	config_free(conf);
	return (0);
}
