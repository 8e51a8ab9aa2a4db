/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices.h"
#include "fetchc.h"
#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"

struct fetchc {
	struct event_base	*base;
	char			*path;
	size_t			 max_image;
	struct ipc_conn		*conn;
};

struct fetchc_call {
	struct fetchc		*fc;
	int			 image;
	fetchc_cb		*cb;
	void			*arg;
};

struct fetchc *
fetchc_new(struct event_base *base, const char *sock_path, size_t max_image)
{
	struct fetchc	*fc;

	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return (NULL);
	if ((fc->path = strdup(sock_path)) == NULL) {
		free(fc);
		return (NULL);
	}
	fc->base = base;
	fc->max_image = max_image;
	return (fc);
}

void
fetchc_free(struct fetchc *fc)
{
	if (fc == NULL)
		return;
	if (fc->conn != NULL)
		ipc_conn_free(fc->conn);
	free(fc->path);
	free(fc);
}

static void
fetchc_closed_cb(struct ipc_conn *conn, void *arg)
{
	struct fetchc	*fc = arg;

	(void)conn;
	fc->conn = NULL;
}

static struct ipc_conn *
fetchc_conn(struct fetchc *fc)
{
	if (fc->conn != NULL && ipc_conn_alive(fc->conn))
		return (fc->conn);
	if ((fc->conn = ipc_connect(fc->base, fc->path)) == NULL) {
		log_warn("cannot reach zotad-fetch at %s", fc->path);
		return (NULL);
	}
	ipc_conn_set_close_cb(fc->conn, fetchc_closed_cb, fc);
	return (fc->conn);
}

int
fetchc_read_fd(int fd, size_t max, uint8_t **buf, size_t *len)
{
	struct stat	 st;
	ssize_t		 n;
	size_t		 off = 0;

	if (fstat(fd, &st) == -1)
		return (-1);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0) {
		errno = EINVAL;
		return (-1);
	}
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		return (-1);
	}
	if ((*buf = malloc((size_t)st.st_size)) == NULL)
		return (-1);
	while (off < (size_t)st.st_size) {
		n = pread(fd, *buf + off, (size_t)st.st_size - off,
		    (off_t)off);
		if (n <= 0) {
			free(*buf);
			if (n == 0)
				errno = EIO;
			return (-1);
		}
		off += (size_t)n;
	}
	*len = off;
	return (0);
}

static void
fetchc_reply_cb(struct ipc_conn *conn, struct ipc_reply *reply, void *arg)
{
	struct fetchc_call	*c = arg;
	const cJSON		*msg;
	uint8_t			*img = NULL;
	size_t			 len = 0;
	int			 fd;

	(void)conn;
	if (reply->continues)
		return;
	if (reply->error != NULL) {
		msg = cJSON_GetObjectItemCaseSensitive(reply->parameters,
		    "message");
		c->cb(reply->error, cJSON_IsString(msg) ? msg->valuestring :
		    reply->error, reply->parameters, NULL, 0, c->arg);
		free(c);
		return;
	}
	if (c->image) {
		/* The fetcher is a separate process: trust nothing of it. */
		if ((fd = ipc_reply_take_fd(reply, 0)) == -1 ||
		    fetchc_read_fd(fd, c->fc->max_image, &img, &len) == -1) {
			if (fd != -1)
				close(fd);
			c->cb(IPC_FETCH_ERR_IMAGE_INVALID,
			    "zotad-fetch sent no readable image", NULL, NULL,
			    0, c->arg);
			free(c);
			return;
		}
		close(fd);
	}
	c->cb(NULL, NULL, reply->parameters, img, len, c->arg);
	free(c);
}

static cJSON *
fetchc_params(const struct fetchc_dev *dev, int downgrade, const char *url)
{
	cJSON	*p, *d;
	char	 ieee[19];

	if ((p = cJSON_CreateObject()) == NULL)
		return (NULL);
	d = cJSON_AddObjectToObject(p, "device");
	dev_ieee_str(dev->ieee, ieee);
	cJSON_AddStringToObject(d, "ieee", ieee);
	cJSON_AddNumberToObject(d, "manufacturerCode", dev->manuf);
	cJSON_AddNumberToObject(d, "imageType", dev->image_type);
	cJSON_AddNumberToObject(d, "fileVersion", dev->file_version);
	if (dev->hw_version >= 0)
		cJSON_AddNumberToObject(d, "hardwareVersion",
		    dev->hw_version);
	if (dev->model != NULL && dev->model[0] != '\0')
		cJSON_AddStringToObject(d, "modelId", dev->model);
	if (dev->manufacturer != NULL && dev->manufacturer[0] != '\0')
		cJSON_AddStringToObject(d, "manufacturerName",
		    dev->manufacturer);
	if (downgrade)
		cJSON_AddBoolToObject(p, "downgrade", 1);
	if (url != NULL)
		cJSON_AddStringToObject(p, "url", url);
	return (p);
}

static int
fetchc_call(struct fetchc *fc, const char *method, cJSON *p, int image,
    fetchc_cb *cb, void *arg)
{
	struct fetchc_call	*c;
	struct ipc_conn		*conn;
	int			 rv = -1;

	if (p != NULL && (conn = fetchc_conn(fc)) != NULL &&
	    (c = calloc(1, sizeof(*c))) != NULL) {
		c->fc = fc;
		c->image = image;
		c->cb = cb;
		c->arg = arg;
		if ((rv = ipc_conn_call(conn, method, p, 0, NULL, 0,
		    fetchc_reply_cb, c)) == -1)
			free(c);
	}
	cJSON_Delete(p);
	return (rv);
}

int
fetchc_check(struct fetchc *fc, const struct fetchc_dev *dev, int automatic,
    int downgrade, const char *url, fetchc_cb *cb, void *arg)
{
	cJSON	*p = fetchc_params(dev, downgrade, url);

	if (p != NULL && automatic)
		cJSON_AddBoolToObject(p, "automatic", 1);
	return (fetchc_call(fc, IPC_FETCH_CHECK, p, 0, cb, arg));
}

int
fetchc_get_image(struct fetchc *fc, const struct fetchc_dev *dev,
    int downgrade, const char *url, fetchc_cb *cb, void *arg)
{
	return (fetchc_call(fc, IPC_FETCH_GET_IMAGE,
	    fetchc_params(dev, downgrade, url), 1, cb, arg));
}
