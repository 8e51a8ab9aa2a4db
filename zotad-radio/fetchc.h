/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_RADIO_FETCHC_H
#define ZOTAD_RADIO_FETCHC_H

/*
 * The io.zotad.Fetch client: zotad-radio asks zotad-fetch whether an
 * image is offered for a device (Check) and for the image itself
 * (GetImage), which arrives as a memfd. The connection to fetch.sock is
 * made on first use and again after it was lost.
 */

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

struct fetchc;

/* What zotad-fetch matches on. */
struct fetchc_dev {
	uint64_t	 ieee;
	uint16_t	 manuf;
	uint16_t	 image_type;
	uint32_t	 file_version;
	int		 hw_version;	/* -1 unknown */
	const char	*model;		/* NULL or "" unknown */
	const char	*manufacturer;
};

/*
 * The outcome of a call: ERROR is NULL on success, else the error name
 * with MESSAGE saying why. RESULT is the reply's parameters (borrowed).
 * For GetImage, IMAGE holds the whole file (LEN bytes, owned by the
 * callback: free it) read from the memfd.
 */
typedef void	fetchc_cb(const char *error, const char *message,
		    const cJSON *result, uint8_t *image, size_t len, void *arg);

struct fetchc *fetchc_new(struct event_base *base, const char *sock_path,
	    size_t max_image);
void	fetchc_free(struct fetchc *fc);

/* Check: AUTOMATIC for a device-initiated one (rate-limited there). */
int	fetchc_check(struct fetchc *fc, const struct fetchc_dev *dev,
	    int automatic, int downgrade, const char *url, fetchc_cb *cb,
	    void *arg);

int	fetchc_get_image(struct fetchc *fc, const struct fetchc_dev *dev,
	    int downgrade, const char *url, fetchc_cb *cb, void *arg);

/*
 * Read the file behind FD (a memfd, or any regular file) into a new
 * buffer, at most MAX bytes. Returns 0, or -1 with errno set.
 */
int	fetchc_read_fd(int fd, size_t max, uint8_t **buf, size_t *len);

#endif
