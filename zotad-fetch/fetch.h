/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_FETCH_H
#define ZOTAD_FETCH_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "otaindex.h"
#include "util.h"

struct config;
struct event_base;
struct ipc_server;

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


/*
 * HTTP, for indexes and images, on libcurl's multi interface driven by
 * the daemon's libevent loop. Only http and https, also for redirects;
 * TLS peers are verified; the proxy comes from the usual environment
 * variables. Every transfer started is logged at info level with the
 * reason its caller gave: that log is the record of third-party contact.
 */

#define HTTP_MAX_REDIRS		5
#define HTTP_CONNECT_TIMEOUT	30	/* seconds */
#define HTTP_USER_AGENT		"zotad-fetch/0.1 (zotad Zigbee OTA updater)"
#define HTTP_CA_BUNDLE		"/etc/ssl/certs/ca-certificates.crt"
#define HTTP_CA_MAX		(4 * 1024 * 1024)

struct http_result {
	int		 ok;		/* the body (or a 304) arrived whole */
	int		 not_modified;	/* 304: the cached copy is current */
	long		 status;	/* HTTP status, 0 if none came */
	const uint8_t	*body;		/* LEN bytes, NUL after them */
	size_t		 len;
	const char	*etag;		/* "" when the server sent none */
	const char	*last_modified;
	const char	*error;		/* why it failed, when !ok */
};

typedef void	http_cb(const struct http_result *, void *);

/*
 * Set up on BASE with CONF's timeout; reads the CA bundle into memory, so
 * call it before the sandbox. Returns 0, or -1 with a message logged.
 */
int	http_init(struct event_base *base, const struct config *conf);
void	http_shutdown(void);

/*
 * GET URL, at most MAX bytes, conditionally when ETAG or LASTMOD is not
 * NULL. REASON says why, for the log. A GET of a URL already in flight
 * joins that transfer instead of starting another. CB runs once, later,
 * from the loop. Returns 0, or -1 when the transfer could not start.
 */
int	http_get(const char *url, size_t max, const char *etag,
	    const char *lastmod, const char *reason, http_cb *cb, void *arg);

/*
 * Image verification, the image cache and the hand-over, without any
 * network (verify.c).
 */

#define VERIFY_WHY_LEN		256
#define IMAGE_CACHE_DIR		"images"

/*
 * Check the LEN bytes of BUF against entry E before anything uses them:
 * within MAX bytes, the SHA-512 when E gives one, an OTA header that
 * parses, and a manufacturer code, image type and file version equal to
 * E's. Writes the file's SHA-512 to SHA. Returns 0, or -1 with WHY
 * naming the check that failed.
 */
int	fetch_verify_image(const uint8_t *buf, size_t len,
	    const struct otaindex_entry *e, size_t max,
	    char sha[SHA512_HEX_LEN + 1], char *why, size_t whylen);

/*
 * A memfd holding BUF, sealed against writing, shrinking and growing, so
 * the receiver can trust it does not change. Returns the descriptor, or
 * -1 with errno set.
 */
int	fetch_verify_memfd(const uint8_t *buf, size_t len, const char *name);

/*
 * The image cache under DIR: files named by their SHA-512, evicted least
 * recently used first once they hold more than a cap.
 */
void	fetch_cache_path(const char *dir, const char *sha, char *path,
	    size_t len);
int	fetch_cache_load(const char *dir, const char *sha, size_t max,
	    uint8_t **buf, size_t *len);
int	fetch_cache_store(const char *dir, const char *sha,
	    const uint8_t *buf, size_t len);
void	fetch_cache_drop(const char *dir, const char *sha);
/* Remove the least recently used images until at most CAP bytes stay. */
int	fetch_cache_evict(const char *dir, uint64_t cap);

/*
 * Vendor feeds (providers.c), turned into zigbee-OTA index entries and
 * consulted, after the override and the upgrade index, for devices of
 * their own manufacturer only. IKEA's feed URLs are configuration keys.
 */

#define PROVIDER_IKEA_MANUFACTURER	0x117c

struct cJSON;

struct provider {
	const char	*name;
	uint16_t	 manufacturer_code;	/* the devices it serves */
	/*
	 * Turn the feed in BUF (LEN bytes) into a new JSON array of index
	 * entries in *OUT. Returns 0, or -1 with ERR when the feed as a
	 * whole is unusable; bad items are skipped.
	 */
	int		(*convert)(const char *buf, size_t len,
			    struct cJSON **out, char *err, size_t errlen);
};

/* The provider called NAME ("ikea"), or NULL. */
const struct provider *provider_find(const char *name);

/*
 * The daemon's state, shared by its modules.
 */

#define FETCH_SOCKET_NAME	"fetch.sock"	/* in the run dir */
#define FETCH_CACHE_IMAGES	8	/* the image cache holds this many
					 * images of the maximum size */

struct src;

struct fetchd {
	const struct config	*conf;
	struct event_base	*base;
	struct gate		*gate;
	struct ipc_server	*srv;
	struct src		*main;		/* the upgrade index */
	struct src		*downgrade;	/* the downgrade index */
	struct src		*override;	/* NULL when not configured */
	struct src		*vendor;	/* IKEA's feed */
	struct src		*extra;		/* URLs given in calls */
	uid_t			 radio_uid;	/* the one client, with root */
	int			 have_radio_uid;
	uint64_t		 cache_cap;	/* bytes of cached images */
};

/*
 * Index sources (indexes.c): each index location, with its parsed copy,
 * when it was fetched, and its ETag and Last-Modified, all kept in the
 * cache dir so that a restart can answer from them.
 */

#define SRC_ERROR_LEN	256

struct src {
	char			*location;	/* URL or absolute path */
	enum otaindex_source	 kind;
	int			 local;		/* a file, read each time */
	const struct provider	*provider;	/* NULL: zigbee-OTA format */
	struct otaindex		*idx;		/* NULL: none yet */
	time_t			 fetched;
	char			 etag[256];
	char			 lastmod[256];
	char			 error[SRC_ERROR_LEN];	/* last failure */
	int			 error_logged;
	int			 fallback_logged;
	int			 disk_tried;
	struct src_waiter	*waiters;	/* while a GET runs */
	struct src		*next;
};

/* Called when a source has settled: S->idx may still be NULL. */
typedef void	fetch_src_cb(struct fetchd *, struct src *, void *);

struct src	*fetch_src_new(const char *location, enum otaindex_source kind);
void		 fetch_src_free(struct src *);

/* The source for LOCATION given in a call, made on first use. */
struct src	*fetch_src_extra(struct fetchd *, const char *location);

/*
 * Bring S up to date for a check that the gate judged VERDICT, at NOW:
 * reuse a fresh copy, download (conditionally) when allowed, or settle
 * on what is cached. CB runs once, maybe before this returns. Returns 1
 * when the check made the source contact a third party, else 0.
 */
int		 fetch_src_update(struct fetchd *, struct src *,
		    enum gate_verdict verdict, time_t now, const char *reason,
		    fetch_src_cb *cb, void *arg);

/*
 * Images (image.c): find E's image in the cache, on disk or on the web,
 * verify it and hand it over.
 */

/* FD is a sealed memfd, or -1 with ERROR an io.zotad.Fetch error. */
typedef void	fetch_image_cb(struct fetchd *, int fd, const char *sha,
		    size_t len, const char *error, const char *why, void *);

void		 fetch_image_get(struct fetchd *,
		    const struct otaindex_entry *e, const char *reason,
		    fetch_image_cb *cb, void *arg);

/* The io.zotad.Fetch service (service.c). */
int		 fetch_service_start(struct fetchd *);

/* The sandbox (confine.c), entered once everything is acquired. */
#define FETCH_MAX_FILES	1024	/* descriptors: clients, transfers, files */

struct fetch_confine_paths {
	const char	*state_dir;
	const char	*cache_dir;
	const char	*data_dir;
	size_t		 max_file;	/* largest file it writes; 0: no cap */
};
int		 fetch_confine(const struct fetch_confine_paths *);

#endif
