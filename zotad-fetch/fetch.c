/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotad-fetch: the only zotad process that talks to third parties. It
 * serves io.zotad.Fetch to zotad-radio, loads the OTA indexes, downloads
 * and verifies images, and holds automatic checks to the privacy limit.
 * Start-up follows the common order: configuration, acquire (socket, CA
 * data, resolver), drop privileges, no_new_privs, sandbox, loop.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "atomicfile.h"
#include "config.h"
#include "daemon.h"
#include "fetch.h"
#include "ipc.h"
#include "log.h"
#include "priv.h"
#include "statedir.h"

/* Files an earlier version kept in the state dir itself. */
static const char *const fetch_old_files[] = { GATE_STATE_FILE, NULL };

static void
fetch_signal(evutil_socket_t sig, short what, void *arg)
{
	struct event_base	*base = arg;

	(void)what;
	log_info("signal %d, leaving", (int)sig);
	daemon_stopping();
	event_base_loopbreak(base);
}

/* The one client we serve besides root: zotad-radio's user. */
static void
fetch_radio_user(struct fetchd *fd)
{
	struct passwd	*pw;

	if ((pw = getpwnam(fd->conf->zotad.user_radio)) == NULL) {
		log_debug("no user %s: only root may connect",
		    fd->conf->zotad.user_radio);
		return;
	}
	fd->radio_uid = pw->pw_uid;
	fd->have_radio_uid = 1;
}

/*
 * glibc loads its name service modules on the first lookup; do it now,
 * while the libraries may still be opened and mapped executable.
 */
static void
fetch_warm_resolver(void)
{
	struct addrinfo	 hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo("localhost", "http", &hints, &res) == 0)
		freeaddrinfo(res);
}

static void
fetch_check_dir(const char *dir, const char *what)
{
	struct stat	 st;

	if (stat(dir, &st) == -1)
		fatal("%s %s", what, dir);
	if (!S_ISDIR(st.st_mode))
		fatalx("%s %s: not a directory", what, dir);
}

static void
fetch_drop(const struct config *conf)
{
	struct priv_ids	 ids;

	if (priv_is_root() && (priv_lookup(&ids, conf->zotad.user_fetch,
	    NULL, NULL) == -1 || priv_drop_ids(&ids) == -1))
		fatalx("cannot drop privileges to %s", conf->zotad.user_fetch);
	if (priv_no_new_privs() == -1)
		fatalx("cannot set no_new_privs");
}

static void
fetch_sources(struct fetchd *fd)
{
	const struct config	*conf = fd->conf;
	const char		*ov;

	fd->main = fetch_src_new(conf->zotad.index_url, OTAINDEX_SRC_MAIN);
	fd->downgrade = fetch_src_new(conf->zotad.downgrade_index_url,
	    OTAINDEX_SRC_DOWNGRADE);
	fd->vendor = fetch_src_new(conf->ota.ikea_ota_use_test_url ?
	    conf->zotad.ikea_test_index_url : conf->zotad.ikea_index_url,
	    OTAINDEX_SRC_MAIN);
	if (fd->main == NULL || fd->downgrade == NULL || fd->vendor == NULL)
		fatal("index sources");
	fd->vendor->provider = provider_find("ikea");
	if ((ov = conf->ota.zigbee_ota_override_index_location) != NULL &&
	    (fd->override = fetch_src_new(ov, OTAINDEX_SRC_OVERRIDE)) == NULL)
		fatal("override index");
}

/* STATE is our own directory in the state dir. */
static void
fetch_state(struct fetchd *fd, const char *state)
{
	const struct config	*conf = fd->conf;
	char			 path[PATH_MAX];
	int			 n;

	if (atomic_cleanup(state) == -1)
		log_warn("%s", state);
	if (atomic_cleanup(conf->zotad.cache_dir) == -1)
		log_warn("%s", conf->zotad.cache_dir);
	snprintf(path, sizeof(path), "%s/%s", conf->zotad.cache_dir,
	    IMAGE_CACHE_DIR);
	if (atomic_cleanup(path) == -1 && errno != ENOENT)
		log_warn("%s", path);
	n = snprintf(path, sizeof(path), "%s/%s", state, GATE_STATE_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		fatalx("%s: the path is too long", state);
	fd->gate = gate_new(path,
	    (time_t)conf->ota.update_check_interval * 60);
	if (fd->gate == NULL)
		fatal("privacy gate");
}

static void
fetch_free(struct fetchd *fd)
{
	struct src	*s;

	if (fd->srv != NULL)
		ipc_server_free(fd->srv);
	http_shutdown();
	while ((s = fd->extra) != NULL) {
		fd->extra = s->next;
		fetch_src_free(s);
	}
	fetch_src_free(fd->main);
	fetch_src_free(fd->downgrade);
	fetch_src_free(fd->override);
	fetch_src_free(fd->vendor);
	gate_free(fd->gate);
	event_base_free(fd->base);
}

int
main(int argc, char *argv[])
{
	struct daemon_opts	 opts;
	struct fetch_confine_paths	 paths;
	struct config		*conf;
	struct fetchd		 fd;
	struct event		*sigterm, *sigint;
	char			 state[PATH_MAX];

	daemon_getopt(argc, argv, "zotad-fetch", &opts);
	conf = daemon_config(&opts);
	fetch_check_dir(conf->zotad.cache_dir, "cache dir");
	if (statedir_prepare(conf->zotad.state_dir, STATEDIR_FETCH,
	    conf->zotad.user_fetch, fetch_old_files, state,
	    sizeof(state)) == -1)
		fatalx("cannot set up the state dir %s",
		    conf->zotad.state_dir);
	if (!opts.foreground && daemon(0, 0) == -1)
		fatal("daemon");
	signal(SIGPIPE, SIG_IGN);
	/* A write past the file size limit fails instead of killing us. */
	signal(SIGXFSZ, SIG_IGN);

	memset(&fd, 0, sizeof(fd));
	fd.conf = conf;
	fd.cache_cap = (uint64_t)conf->zotad.max_image_size *
	    FETCH_CACHE_IMAGES;
	fetch_radio_user(&fd);
	if ((fd.base = event_base_new()) == NULL)
		fatalx("event_base_new");
	sigterm = evsignal_new(fd.base, SIGTERM, fetch_signal, fd.base);
	sigint = evsignal_new(fd.base, SIGINT, fetch_signal, fd.base);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm,
	    NULL) == -1 || evsignal_add(sigint, NULL) == -1)
		fatalx("signal events");
	if (fetch_service_start(&fd) == -1)
		fatalx("cannot serve %s", FETCH_SOCKET_NAME);
	if (http_init(fd.base, conf) == -1)
		fatalx("cannot set up HTTP");
	fetch_warm_resolver();

	fetch_drop(conf);
	if (statedir_check(state) == -1)
		fatalx("%s cannot keep its state", conf->zotad.user_fetch);
	fetch_state(&fd, state);
	fetch_sources(&fd);
	paths.state_dir = state;
	paths.cache_dir = conf->zotad.cache_dir;
	paths.data_dir = conf->data_dir;
	paths.max_file = conf->zotad.max_image_size >
	    conf->zotad.max_index_size ? conf->zotad.max_image_size :
	    conf->zotad.max_index_size;
	if (fetch_confine(&paths) == -1)
		fatalx("cannot enter the sandbox");

	/*
	 * Under systemd with Type=notify, calls may come from now on: the
	 * socket listens and the sandbox is in place. Indexes are fetched
	 * on demand, so there is nothing else to wait for.
	 */
	daemon_ready("ready; no index fetched yet");
	log_info("ready: automatic checks contact a third party at most once "
	    "per %d minutes per device", conf->ota.update_check_interval);
	event_base_dispatch(fd.base);

	event_free(sigterm);
	event_free(sigint);
	fetch_free(&fd);
	config_free(conf);
	return (0);
}
