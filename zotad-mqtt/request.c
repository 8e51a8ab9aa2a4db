/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * OTA requests as zigbee2mqtt takes them: the topic names the verb, the
 * payload is a bare device id or a JSON object with "id" and extras.
 * Everything here comes from anyone who may publish on the broker, so
 * each field is checked for type and range, and every refusal says
 * which field was wrong. Unknown fields are ignored, as zigbee2mqtt
 * does, so that payloads written for it keep working.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mqttd.h"

static const char *const mqreq_verbs[] = {
	"check", "update", "schedule", "unschedule"
};

const char *
mqreq_verb_name(enum mqreq_verb verb)
{
	if ((size_t)verb >= sizeof(mqreq_verbs) / sizeof(mqreq_verbs[0]))
		return ("unknown");
	return (mqreq_verbs[verb]);
}

int
mqreq_topic(const char *suffix, struct mqreq *req)
{
	const char	*rest;
	size_t		 i, n;

	for (i = 0; i < sizeof(mqreq_verbs) / sizeof(mqreq_verbs[0]); i++) {
		n = strlen(mqreq_verbs[i]);
		if (strncasecmp(suffix, mqreq_verbs[i], n) == 0 &&
		    (suffix[n] == '\0' || suffix[n] == '/'))
			break;
	}
	if (i == sizeof(mqreq_verbs) / sizeof(mqreq_verbs[0]))
		return (-1);
	req->verb = (enum mqreq_verb)i;
	rest = suffix + n;
	if (*rest == '\0')
		return (0);
	rest++;
	if (strcasecmp(rest, "downgrade") == 0 &&
	    req->verb != MQREQ_UNSCHEDULE) {
		req->downgrade = 1;
		return (0);
	}
	if (strcasecmp(rest, "abort") == 0 && req->verb == MQREQ_UPDATE) {
		req->abort = 1;
		return (0);
	}
	return (-2);
}

/* The length of the UTF-8 sequence that starts with byte C, or 0. */
static size_t
mqreq_utf8_len(unsigned char c)
{
	if (c < 0x80)
		return (1);
	if (c >= 0xc2 && c <= 0xdf)
		return (2);
	if ((c & 0xf0) == 0xe0)
		return (3);
	if (c >= 0xf0 && c <= 0xf4)
		return (4);
	return (0);
}

/* Text a user may send: UTF-8 without control characters. */
static int
mqreq_text_ok(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, k, n;

	for (i = 0; i < len; i += n) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return (0);
		if ((n = mqreq_utf8_len(p[i])) == 0 || n > len - i)
			return (0);
		for (k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return (0);
	}
	return (1);
}

static int
mqreq_set_id(struct mqreq *req, const char *s, size_t len, char *err,
    size_t errlen)
{
	if (len == 0) {
		snprintf(err, errlen, "Invalid payload: the device id is "
		    "empty");
		return (-1);
	}
	if (len > MQREQ_ID_MAX || !mqreq_text_ok(s, len)) {
		snprintf(err, errlen, "Invalid payload: the device id must "
		    "be text of at most %d bytes without control characters",
		    MQREQ_ID_MAX);
		return (-1);
	}
	if ((req->id = strndup(s, len)) == NULL) {
		snprintf(err, errlen, "Out of memory");
		return (-1);
	}
	return (0);
}

/* A bare payload: the friendly name or IEEE address, spaces trimmed. */
static int
mqreq_bare(struct mqreq *req, const char *p, size_t len, char *err,
    size_t errlen)
{
	while (len > 0 && isspace((unsigned char)*p)) {
		p++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		len--;
	req->bare = 1;
	return (mqreq_set_id(req, p, len, err, errlen));
}

static int
mqreq_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

static int
mqreq_hex_data(struct mqreq *req, const char *hex, size_t max_image,
    char *err, size_t errlen)
{
	size_t	 len = strlen(hex), i;
	int	 hi, lo;

	if (len == 0 || len % 2 != 0) {
		snprintf(err, errlen, "Invalid payload: 'hex.data' must be an "
		    "even, non-zero number of hex digits");
		return (-1);
	}
	if (len / 2 > max_image) {
		snprintf(err, errlen, "Invalid payload: 'hex.data' holds %zu "
		    "bytes, more than the %zu allowed", len / 2, max_image);
		return (-1);
	}
	if ((req->image = malloc(len / 2)) == NULL) {
		snprintf(err, errlen, "Out of memory");
		return (-1);
	}
	for (i = 0; i < len; i += 2) {
		hi = mqreq_hexval((unsigned char)hex[i]);
		lo = mqreq_hexval((unsigned char)hex[i + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "Invalid payload: 'hex.data' "
			    "has a non-hex character at offset %zu",
			    hi < 0 ? i : i + 1);
			return (-1);
		}
		req->image[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	req->image_len = len / 2;
	return (0);
}

/* A file name, never a path: it names the image in logs and state. */
static int
mqreq_file_name(struct mqreq *req, const cJSON *fn, char *err,
    size_t errlen)
{
	const char	*s;
	size_t		 len;

	if (fn == NULL || cJSON_IsNull(fn))
		return (0);
	if (!cJSON_IsString(fn)) {
		snprintf(err, errlen, "Invalid payload: 'hex.file_name' must "
		    "be a string");
		return (-1);
	}
	s = fn->valuestring;
	len = strlen(s);
	if (len == 0 || len > MQREQ_FILE_NAME_MAX || !mqreq_text_ok(s, len) ||
	    strchr(s, '/') != NULL || strcmp(s, ".") == 0 ||
	    strcmp(s, "..") == 0) {
		snprintf(err, errlen, "Invalid payload: 'hex.file_name' must "
		    "be a file name of 1 to %d bytes without '/'",
		    MQREQ_FILE_NAME_MAX);
		return (-1);
	}
	if ((req->file_name = strdup(s)) == NULL) {
		snprintf(err, errlen, "Out of memory");
		return (-1);
	}
	return (0);
}

static int
mqreq_hex(struct mqreq *req, const cJSON *hex, size_t max_image, char *err,
    size_t errlen)
{
	const cJSON	*data;

	if (!cJSON_IsObject(hex)) {
		snprintf(err, errlen, "Invalid payload: 'hex' must be an "
		    "object with 'data' and optional 'file_name'");
		return (-1);
	}
	data = cJSON_GetObjectItemCaseSensitive(hex, "data");
	if (!cJSON_IsString(data)) {
		snprintf(err, errlen, "Invalid payload: 'hex.data' must be a "
		    "string of hex digits");
		return (-1);
	}
	if (mqreq_hex_data(req, data->valuestring, max_image, err,
	    errlen) == -1)
		return (-1);
	return (mqreq_file_name(req, cJSON_GetObjectItemCaseSensitive(hex,
	    "file_name"), err, errlen));
}

static int
mqreq_url(struct mqreq *req, const cJSON *url, char *err, size_t errlen)
{
	size_t	 len;

	if (!cJSON_IsString(url)) {
		snprintf(err, errlen, "Invalid payload: 'url' must be a "
		    "string");
		return (-1);
	}
	len = strlen(url->valuestring);
	if (len == 0 || len > MQREQ_URL_MAX ||
	    !mqreq_text_ok(url->valuestring, len)) {
		snprintf(err, errlen, "Invalid payload: 'url' must be 1 to %d "
		    "bytes without control characters", MQREQ_URL_MAX);
		return (-1);
	}
	if ((req->url = strdup(url->valuestring)) == NULL) {
		snprintf(err, errlen, "Out of memory");
		return (-1);
	}
	return (0);
}

/* A timing override: absent, null, false or 0 mean "as configured". */
static int
mqreq_override(const cJSON *o, const char *name, int64_t min, int64_t max,
    int64_t *out, char *err, size_t errlen)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, name);
	double		 d;

	*out = 0;
	if (v == NULL || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return (0);
	if (!cJSON_IsNumber(v)) {
		snprintf(err, errlen, "Invalid payload: '%s' must be a "
		    "number", name);
		return (-1);
	}
	d = v->valuedouble;
	if (d == 0)
		return (0);
	if (d != (double)(int64_t)d || d < (double)min || d > (double)max) {
		snprintf(err, errlen, "Invalid payload: '%s' must be a whole "
		    "number from %lld to %lld", name, (long long)min,
		    (long long)max);
		return (-1);
	}
	*out = (int64_t)d;
	return (0);
}

static int
mqreq_overrides(struct mqreq *req, const cJSON *o, char *err,
    size_t errlen)
{
	if (mqreq_override(o, "image_block_request_timeout",
	    MQREQ_TIMEOUT_MIN, MQREQ_TIMEOUT_MAX,
	    &req->block_request_timeout, err, errlen) == -1 ||
	    mqreq_override(o, "image_block_response_delay", MQREQ_DELAY_MIN,
	    MQREQ_DELAY_MAX, &req->block_response_delay, err, errlen) == -1 ||
	    mqreq_override(o, "default_maximum_data_size",
	    MQREQ_DATA_SIZE_MIN, MQREQ_DATA_SIZE_MAX, &req->max_data_size,
	    err, errlen) == -1)
		return (-1);
	return (0);
}

/* The extras each verb takes, as zigbee2mqtt 2.x defines them. */
static int
mqreq_extras(struct mqreq *req, const cJSON *o, size_t max_image,
    char *err, size_t errlen)
{
	const cJSON	*url, *hex;
	int		 source;

	source = !req->abort && req->verb != MQREQ_UNSCHEDULE;
	url = cJSON_GetObjectItemCaseSensitive(o, "url");
	hex = cJSON_GetObjectItemCaseSensitive(o, "hex");
	if (url != NULL && cJSON_IsNull(url))
		url = NULL;
	if (hex != NULL && cJSON_IsNull(hex))
		hex = NULL;
	if (!source)
		return (0);
	if (url != NULL && hex != NULL) {
		snprintf(err, errlen, "Invalid payload: 'url' and 'hex' "
		    "cannot be used together");
		return (-1);
	}
	if (url != NULL && mqreq_url(req, url, err, errlen) == -1)
		return (-1);
	if (hex != NULL && req->verb == MQREQ_CHECK) {
		snprintf(err, errlen, "Invalid payload: 'hex' applies to "
		    "update and schedule, not to check");
		return (-1);
	}
	if (hex != NULL && mqreq_hex(req, hex, max_image, err, errlen) == -1)
		return (-1);
	if (req->verb == MQREQ_UPDATE)
		return (mqreq_overrides(req, o, err, errlen));
	return (0);
}

static int
mqreq_object(struct mqreq *req, const cJSON *o, size_t max_image,
    char *err, size_t errlen)
{
	const cJSON	*id, *tr;

	if ((tr = cJSON_GetObjectItemCaseSensitive(o, "transaction")) !=
	    NULL && (req->transaction = cJSON_Duplicate(tr, 1)) == NULL) {
		snprintf(err, errlen, "Out of memory");
		return (-1);
	}
	id = cJSON_GetObjectItemCaseSensitive(o, "id");
	if (id == NULL || cJSON_IsNull(id)) {
		snprintf(err, errlen, "Invalid payload: 'id' is missing");
		return (-1);
	}
	if (!cJSON_IsString(id)) {
		snprintf(err, errlen, "Invalid payload: 'id' must be a "
		    "string, the friendly name or IEEE address");
		return (-1);
	}
	if (mqreq_set_id(req, id->valuestring, strlen(id->valuestring), err,
	    errlen) == -1)
		return (-1);
	return (mqreq_extras(req, o, max_image, err, errlen));
}

int
mqreq_parse(struct mqreq *req, const char *payload, size_t len,
    size_t max_image, char *err, size_t errlen)
{
	cJSON		*j;
	const char	*p = payload;
	size_t		 n = len;
	int		 r;

	while (n > 0 && isspace((unsigned char)*p)) {
		p++;
		n--;
	}
	if (n == 0) {
		snprintf(err, errlen, "Invalid payload: empty, expected a "
		    "device name, an IEEE address or {\"id\": ...}");
		return (-1);
	}
	if (memchr(payload, '\0', len) != NULL) {
		snprintf(err, errlen, "Invalid payload: it holds a NUL byte");
		return (-1);
	}
	/* Whatever is not an object or a quoted string is a bare id. */
	if (*p != '{' && *p != '"' && *p != '[')
		return (mqreq_bare(req, p, n, err, errlen));
	if ((j = cJSON_ParseWithLength(p, n)) == NULL) {
		snprintf(err, errlen, "Invalid payload: not valid JSON");
		return (-1);
	}
	if (cJSON_IsString(j))
		r = mqreq_bare(req, j->valuestring, strlen(j->valuestring),
		    err, errlen);
	else if (cJSON_IsObject(j))
		r = mqreq_object(req, j, max_image, err, errlen);
	else {
		snprintf(err, errlen, "Invalid payload: expected a device "
		    "name, an IEEE address or {\"id\": ...}");
		r = -1;
	}
	cJSON_Delete(j);
	return (r);
}

void
mqreq_clear(struct mqreq *req)
{
	free(req->id);
	cJSON_Delete(req->transaction);
	free(req->url);
	free(req->image);
	free(req->file_name);
	memset(req, 0, sizeof(*req));
}
