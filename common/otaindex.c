/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "otafile.h"
#include "otaindex.h"
#include "util.h"

#define OTAINDEX_MAX_URL	2048
#define OTAINDEX_MAX_NAME	255	/* file names, model ids, vendors */
#define OTAINDEX_MAX_NOTES	65536
#define OTAINDEX_MAX_HDRSTR	(OTA_HEADER_TEXT_MAX - 1)
#define OTAINDEX_MAX_VENDORS	64

/* What a string field may contain besides valid UTF-8. */
enum otaindex_text {
	OTAINDEX_TEXT_NAME,	/* no control characters at all */
	OTAINDEX_TEXT_NOTES,	/* tabs and line breaks allowed */
	OTAINDEX_TEXT_ANY	/* header strings carry raw bytes */
};

struct otaindex_ctx {
	const struct otaindex_opts *opts;
	char		**dirs;		/* resolved, where local files may be */
	size_t		 ndirs;
};

typedef int (*otaindex_field_fn)(struct otaindex_entry *, const cJSON *,
    char *, size_t);

struct otaindex_field {
	const char		*name;
	otaindex_field_fn	 parse;
};

static int	otaindex_f_file_name(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_file_version(struct otaindex_entry *,
		    const cJSON *, char *, size_t);
static int	otaindex_f_file_size(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_url(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_image_type(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_mfr_code(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_sha512(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_header_string(struct otaindex_entry *,
		    const cJSON *, char *, size_t);
static int	otaindex_f_original_url(struct otaindex_entry *,
		    const cJSON *, char *, size_t);
static int	otaindex_f_model_id(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_release_notes(struct otaindex_entry *,
		    const cJSON *, char *, size_t);
static int	otaindex_f_mfr_name(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_hw_min(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_hw_max(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_min_fv(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_max_fv(struct otaindex_entry *, const cJSON *,
		    char *, size_t);
static int	otaindex_f_force(struct otaindex_entry *, const cJSON *,
		    char *, size_t);

/* Positions in otaindex_fields of the fields checked for presence. */
#define OTAINDEX_F_FILE_VERSION	1
#define OTAINDEX_F_URL		3
#define OTAINDEX_F_IMAGE_TYPE	4
#define OTAINDEX_F_MFR_CODE	5

/* Every field of the format; the order is the one entries are printed in. */
static const struct otaindex_field otaindex_fields[] = {
	{ "fileName",		otaindex_f_file_name },
	{ "fileVersion",	otaindex_f_file_version },
	{ "fileSize",		otaindex_f_file_size },
	{ "url",		otaindex_f_url },
	{ "imageType",		otaindex_f_image_type },
	{ "manufacturerCode",	otaindex_f_mfr_code },
	{ "sha512",		otaindex_f_sha512 },
	{ "otaHeaderString",	otaindex_f_header_string },
	{ "originalUrl",	otaindex_f_original_url },
	{ "modelId",		otaindex_f_model_id },
	{ "releaseNotes",	otaindex_f_release_notes },
	{ "manufacturerName",	otaindex_f_mfr_name },
	{ "hardwareVersionMin",	otaindex_f_hw_min },
	{ "hardwareVersionMax",	otaindex_f_hw_max },
	{ "minFileVersion",	otaindex_f_min_fv },
	{ "maxFileVersion",	otaindex_f_max_fv },
	{ "force",		otaindex_f_force },
};
#define OTAINDEX_NFIELDS (sizeof(otaindex_fields) / sizeof(otaindex_fields[0]))
#define OTAINDEX_SEEN(f)	(1UL << (f))

static const char *const otaindex_excluded_names[OTAINDEX_X_COUNT] = {
	"minFileVersion", "maxFileVersion", "modelId", "manufacturerName",
	"otaHeaderString", "hardwareVersion unknown", "hardwareVersionMin",
	"hardwareVersionMax", "fileVersion not newer",
	"fileVersion not older", "outranked"
};

/* snprintf into a reason buffer; always returns -1 for the caller. */
static int __attribute__((format(printf, 3, 4)))
otaindex_fail(char *why, size_t len, const char *fmt, ...)
{
	va_list	 ap;

	if (len == 0)
		return (-1);
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return (-1);
}

/*
 * Length of the UTF-8 sequence at P (N bytes left). *VALID says whether
 * it is well formed (no overlong forms, surrogates or code points past
 * U+10FFFF); if not, the length is that of the ill-formed part.
 */
static size_t
otaindex_utf8_next(const uint8_t *p, size_t n, int *valid)
{
	uint8_t	 lo = 0x80, hi = 0xbf;
	size_t	 need, i;

	*valid = 0;
	if (p[0] < 0x80) {
		*valid = 1;
		return (1);
	}
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		need = 1;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		need = 2;
		lo = p[0] == 0xe0 ? 0xa0 : 0x80;
		hi = p[0] == 0xed ? 0x9f : 0xbf;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		need = 3;
		lo = p[0] == 0xf0 ? 0x90 : 0x80;
		hi = p[0] == 0xf4 ? 0x8f : 0xbf;
	} else
		return (1);
	for (i = 1; i <= need; i++) {
		if (i >= n || p[i] < lo || p[i] > hi)
			return (i);
		lo = 0x80;
		hi = 0xbf;
	}
	*valid = 1;
	return (need + 1);
}

static int
otaindex_text_ok(const char *s, enum otaindex_text kind, char *why,
    size_t len)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 n = strlen(s), i = 0, step;
	int		 valid;

	while (i < n) {
		step = otaindex_utf8_next(p + i, n - i, &valid);
		if (!valid)
			return (otaindex_fail(why, len,
			    "invalid UTF-8 at byte %zu", i));
		if (kind != OTAINDEX_TEXT_ANY &&
		    (p[i] < 0x20 || p[i] == 0x7f) &&
		    !(kind == OTAINDEX_TEXT_NOTES &&
		    (p[i] == '\t' || p[i] == '\r' || p[i] == '\n')))
			return (otaindex_fail(why, len,
			    "control character 0x%02x at byte %zu", p[i], i));
		i += step;
	}
	return (0);
}

static int
otaindex_get_string(const cJSON *v, size_t max, enum otaindex_text kind,
    char **out, char *why, size_t len)
{
	size_t	 n;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return (otaindex_fail(why, len, "not a string"));
	n = strlen(v->valuestring);
	if (n == 0 && kind == OTAINDEX_TEXT_NAME)
		return (otaindex_fail(why, len, "empty"));
	if (n > max)
		return (otaindex_fail(why, len,
		    "%zu bytes long, at most %zu allowed", n, max));
	if (otaindex_text_ok(v->valuestring, kind, why, len) == -1)
		return (-1);
	free(*out);
	if ((*out = strdup(v->valuestring)) == NULL)
		return (otaindex_fail(why, len, "out of memory"));
	return (0);
}

static int
otaindex_get_uint(const cJSON *v, uint32_t max, uint32_t *out, char *why,
    size_t len)
{
	double	 d;

	if (!cJSON_IsNumber(v))
		return (otaindex_fail(why, len, "not a number"));
	d = v->valuedouble;
	/* The comparisons also fail for NaN and infinities. */
	if (!(d >= 0 && d <= (double)max) || (double)(uint64_t)d != d)
		return (otaindex_fail(why, len,
		    "%.15g is not an integer from 0 to %lu", d,
		    (unsigned long)max));
	*out = (uint32_t)d;
	return (0);
}

static int
otaindex_get_u16(const cJSON *v, uint16_t *out, char *why, size_t len)
{
	uint32_t	 u = 0;

	if (otaindex_get_uint(v, UINT16_MAX, &u, why, len) == -1)
		return (-1);
	*out = (uint16_t)u;
	return (0);
}

static int
otaindex_f_file_name(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	if (otaindex_get_string(v, OTAINDEX_MAX_NAME, OTAINDEX_TEXT_NAME,
	    &e->file_name, why, len) == -1)
		return (-1);
	/* A base name: tools may store the file under it. */
	if (strchr(e->file_name, '/') != NULL ||
	    strcmp(e->file_name, ".") == 0 || strcmp(e->file_name, "..") == 0)
		return (otaindex_fail(why, len, "\"%s\" is not a file name",
		    e->file_name));
	return (0);
}

static int
otaindex_f_file_version(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	return (otaindex_get_uint(v, UINT32_MAX, &e->file_version, why, len));
}

static int
otaindex_f_file_size(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	if (otaindex_get_uint(v, UINT32_MAX, &e->file_size, why, len) == -1)
		return (-1);
	if (e->file_size < OTA_HEADER_MIN)
		return (otaindex_fail(why, len,
		    "%lu is smaller than an OTA header",
		    (unsigned long)e->file_size));
	e->has |= OTAINDEX_HAS_FILE_SIZE;
	return (0);
}

static int
otaindex_f_url(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	/* Whether it may name a local file is decided once all is read. */
	return (otaindex_get_string(v, OTAINDEX_MAX_URL, OTAINDEX_TEXT_NAME,
	    &e->url, why, len));
}

static int
otaindex_f_image_type(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	return (otaindex_get_u16(v, &e->image_type, why, len));
}

static int
otaindex_f_mfr_code(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	return (otaindex_get_u16(v, &e->manufacturer_code, why, len));
}

static int
otaindex_f_sha512(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	const char	*s;
	size_t		 i;

	if (!cJSON_IsString(v) || v->valuestring == NULL)
		return (otaindex_fail(why, len, "not a string"));
	s = v->valuestring;
	if (strlen(s) != SHA512_HEX_LEN)
		return (otaindex_fail(why, len, "%zu characters, not %d",
		    strlen(s), SHA512_HEX_LEN));
	for (i = 0; i < SHA512_HEX_LEN; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return (otaindex_fail(why, len,
			    "not hexadecimal at character %zu", i));
		/* Stored lower-case, as util_sha512_hex writes it. */
		e->sha512[i] = s[i] >= 'A' && s[i] <= 'F' ?
		    (char)(s[i] - 'A' + 'a') : s[i];
	}
	e->sha512[SHA512_HEX_LEN] = '\0';
	e->has |= OTAINDEX_HAS_SHA512;
	return (0);
}

static int
otaindex_f_header_string(struct otaindex_entry *e, const cJSON *v,
    char *why, size_t len)
{
	/* 32 raw bytes as UTF-8: control characters are real data here. */
	return (otaindex_get_string(v, OTAINDEX_MAX_HDRSTR, OTAINDEX_TEXT_ANY,
	    &e->ota_header_string, why, len));
}

static int
otaindex_f_original_url(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	/* For the record only: never fetched, so any text will do. */
	return (otaindex_get_string(v, OTAINDEX_MAX_URL, OTAINDEX_TEXT_NAME,
	    &e->original_url, why, len));
}

static int
otaindex_f_model_id(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	return (otaindex_get_string(v, OTAINDEX_MAX_NAME, OTAINDEX_TEXT_NAME,
	    &e->model_id, why, len));
}

static int
otaindex_f_release_notes(struct otaindex_entry *e, const cJSON *v,
    char *why, size_t len)
{
	return (otaindex_get_string(v, OTAINDEX_MAX_NOTES, OTAINDEX_TEXT_NOTES,
	    &e->release_notes, why, len));
}

static int
otaindex_f_mfr_name(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	const cJSON	*item;
	size_t		 n, i = 0;
	char		 sub[OTAINDEX_REASON_LEN];

	/* An array; a plain string would turn membership into substring
	 * matching in zigbee2mqtt, so it is refused rather than guessed. */
	if (!cJSON_IsArray(v))
		return (otaindex_fail(why, len, "not an array of strings"));
	n = (size_t)cJSON_GetArraySize(v);
	if (n == 0 || n > OTAINDEX_MAX_VENDORS)
		return (otaindex_fail(why, len,
		    "%zu names, from 1 to %d allowed", n,
		    OTAINDEX_MAX_VENDORS));
	if ((e->manufacturer_names = calloc(n, sizeof(char *))) == NULL)
		return (otaindex_fail(why, len, "out of memory"));
	e->nmanufacturer_names = n;
	cJSON_ArrayForEach(item, v) {
		if (otaindex_get_string(item, OTAINDEX_MAX_NAME,
		    OTAINDEX_TEXT_NAME, &e->manufacturer_names[i], sub,
		    sizeof(sub)) == -1)
			return (otaindex_fail(why, len, "element %zu: %s", i,
			    sub));
		i++;
	}
	return (0);
}

static int
otaindex_f_hw_min(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	e->has |= OTAINDEX_HAS_HW_MIN;
	return (otaindex_get_u16(v, &e->hw_min, why, len));
}

static int
otaindex_f_hw_max(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	e->has |= OTAINDEX_HAS_HW_MAX;
	return (otaindex_get_u16(v, &e->hw_max, why, len));
}

static int
otaindex_f_min_fv(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	e->has |= OTAINDEX_HAS_MIN_FILE_VERSION;
	return (otaindex_get_uint(v, UINT32_MAX, &e->min_file_version, why,
	    len));
}

static int
otaindex_f_max_fv(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	e->has |= OTAINDEX_HAS_MAX_FILE_VERSION;
	return (otaindex_get_uint(v, UINT32_MAX, &e->max_file_version, why,
	    len));
}

static int
otaindex_f_force(struct otaindex_entry *e, const cJSON *v, char *why,
    size_t len)
{
	if (!cJSON_IsBool(v))
		return (otaindex_fail(why, len, "not true or false"));
	e->force = cJSON_IsTrue(v);
	e->has |= OTAINDEX_HAS_FORCE;
	return (0);
}

void
otaindex_entry_clear(struct otaindex_entry *e)
{
	size_t	 i;

	free(e->ota_header_string);
	free(e->file_name);
	free(e->url);
	free(e->model_id);
	for (i = 0; i < e->nmanufacturer_names; i++)
		free(e->manufacturer_names[i]);
	free(e->manufacturer_names);
	free(e->original_url);
	free(e->release_notes);
	free(e->local_path);
	memset(e, 0, sizeof(*e));
}

const char *
otaindex_source_name(enum otaindex_source src)
{
	switch (src) {
	case OTAINDEX_SRC_MAIN:
		return ("main");
	case OTAINDEX_SRC_DOWNGRADE:
		return ("downgrade");
	case OTAINDEX_SRC_OVERRIDE:
		return ("override");
	}
	return ("unknown");
}

/*
 * Check the whole buffer before cJSON sees it: no NUL bytes (cJSON's
 * strings would silently end there), bounded nesting (cJSON recurses)
 * and a bounded number of values (each costs cJSON an allocation).
 */
static int
otaindex_scan(const char *buf, size_t len, char *err, size_t errlen)
{
	size_t	 i, depth = 0, items = 1;
	int	 instr = 0;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\0')
			return (otaindex_fail(err, errlen,
			    "NUL byte at offset %zu", i));
		if (instr) {
			if (buf[i] == '"')
				instr = 0;
			else if (buf[i] == '\\' && i + 1 < len) {
				if (buf[i + 1] == 'u' && len - i >= 6 &&
				    memcmp(buf + i + 2, "0000", 4) == 0)
					return (otaindex_fail(err, errlen,
					    "\\u0000 in a string at offset %zu",
					    i));
				/* An escaped NUL is still caught above. */
				if (buf[i + 1] != '\0')
					i++;
			}
			continue;
		}
		switch (buf[i]) {
		case '"':
			instr = 1;
			break;
		case '[':
		case '{':
			if (++depth > OTAINDEX_MAX_DEPTH)
				return (otaindex_fail(err, errlen,
				    "nested deeper than %d levels at offset "
				    "%zu", OTAINDEX_MAX_DEPTH, i));
			/* FALLTHROUGH */
		case ',':
			if (++items > OTAINDEX_MAX_ITEMS)
				return (otaindex_fail(err, errlen,
				    "more than %d JSON values",
				    OTAINDEX_MAX_ITEMS));
			break;
		case ']':
		case '}':
			if (depth > 0)
				depth--;
			break;
		}
	}
	return (0);
}

cJSON *
otaindex_json_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	cJSON		*root;
	const char	*end = NULL;

	if (len > OTAINDEX_MAX_BYTES) {
		otaindex_fail(err, errlen, "%zu bytes, at most %d allowed",
		    len, OTAINDEX_MAX_BYTES);
		return (NULL);
	}
	if (otaindex_scan(buf, len, err, errlen) == -1)
		return (NULL);
	root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	if (root == NULL) {
		otaindex_fail(err, errlen, "not valid JSON (near offset %zu)",
		    end != NULL && end >= buf ? (size_t)(end - buf) : 0);
		return (NULL);
	}
	while (end != NULL && end < buf + len &&
	    (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
		end++;
	if (end != NULL && end < buf + len) {
		otaindex_fail(err, errlen, "data after the JSON value at "
		    "offset %zu", (size_t)(end - buf));
		cJSON_Delete(root);
		return (NULL);
	}
	if (!cJSON_IsArray(root)) {
		otaindex_fail(err, errlen, "not a JSON array of entries");
		cJSON_Delete(root);
		return (NULL);
	}
	return (root);
}

int
otaindex_is_http_url(const char *s)
{
	return (strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0);
}

static int
otaindex_http_url_ok(const char *url, char *why, size_t len)
{
	const char	*host, *p;

	host = strstr(url, "://") + 3;
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return (otaindex_fail(why, len, "url \"%s\" has no host", url));
	/* A URL is ASCII; anything else is percent-encoded. */
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return (otaindex_fail(why, len,
			    "url \"%s\" has a byte 0x%02x that a URL may not "
			    "hold", url, (unsigned char)*p));
	return (0);
}

/* Length of an RFC 3986 scheme and its colon at the start of S, or 0. */
static size_t
otaindex_scheme_len(const char *s)
{
	size_t	 i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return (0);
	for (i = 1; s[i] != '\0'; i++) {
		if (s[i] == ':')
			return (i + 1);
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '+' || s[i] == '-' || s[i] == '.'))
			return (0);
	}
	return (0);
}

static int
otaindex_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Percent-decode S in place; fails on bad escapes and on %00. */
static int
otaindex_percent_decode(char *s)
{
	char	*w = s;
	int	 hi, lo;

	for (; *s != '\0'; s++) {
		if (*s != '%') {
			*w++ = *s;
			continue;
		}
		if ((hi = otaindex_hexval(s[1])) == -1 ||
		    (lo = otaindex_hexval(s[2])) == -1 || (hi == 0 && lo == 0))
			return (-1);
		*w++ = (char)(hi << 4 | lo);
		s += 2;
	}
	*w = '\0';
	return (0);
}

/*
 * Where the path starts in a local url: after "file:" or
 * "file://[localhost]", else at the start of a plain path. NULL, with
 * the reason in WHY, for other hosts and other schemes.
 */
static const char *
otaindex_url_path(const char *url, char *why, size_t len)
{
	const char	*p;
	size_t		 slen;

	if (strncasecmp(url, "file:", 5) != 0) {
		if ((slen = otaindex_scheme_len(url)) == 0)
			return (url);
		otaindex_fail(why, len, "url \"%s\": scheme \"%.*s\" is not "
		    "supported", url, (int)(slen - 1), url);
		return (NULL);
	}
	p = url + 5;
	if (strncmp(p, "//", 2) != 0)
		return (p);
	p += 2;
	if (strncasecmp(p, "localhost", 9) == 0)
		p += 9;
	if (*p == '/')
		return (p);
	otaindex_fail(why, len, "url \"%s\" names a file on another host",
	    url);
	return (NULL);
}

/*
 * The file system path a local url names: a plain path taken as it is,
 * or a file: URL percent-decoded; relative paths are joined to the data
 * dir. Returns a new string, or NULL with the reason in WHY.
 */
static char *
otaindex_local_path(const char *url, const char *data_dir, char *why,
    size_t len)
{
	const char	*p;
	char		*path = NULL, *dec;

	if ((p = otaindex_url_path(url, why, len)) == NULL)
		return (NULL);
	if ((dec = strdup(p)) == NULL) {
		otaindex_fail(why, len, "out of memory");
		return (NULL);
	}
	if (p != url && otaindex_percent_decode(dec) == -1) {
		otaindex_fail(why, len, "url \"%s\" has a bad %% escape", url);
		free(dec);
		return (NULL);
	}
	if (dec[0] == '/')
		return (dec);
	if (dec[0] == '\0')
		otaindex_fail(why, len, "url \"%s\" names no file", url);
	else if (data_dir == NULL)
		otaindex_fail(why, len, "url \"%s\" is a relative path and "
		    "no data directory is set", url);
	else if (asprintf(&path, "%s/%s", data_dir, dec) == -1) {
		otaindex_fail(why, len, "out of memory");
		path = NULL;
	}
	free(dec);
	return (path);
}

static int
otaindex_path_inside(const char *path, const char *dir)
{
	size_t	 n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return (1);
	return (strncmp(path, dir, n) == 0 && path[n] == '/');
}

/*
 * Resolve a local url with realpath, so that neither ".." nor a symbolic
 * link can lead outside the allowed directories, and store the result.
 * A link swapped in after the check needs write access to an allowed
 * directory, which already means control over the images in it.
 */
static int
otaindex_resolve_local(struct otaindex_entry *e,
    const struct otaindex_ctx *ctx, char *why, size_t len)
{
	char	*path, *real;
	size_t	 i;

	if ((path = otaindex_local_path(e->url, ctx->opts->data_dir, why,
	    len)) == NULL)
		return (-1);
	if ((real = realpath(path, NULL)) == NULL) {
		otaindex_fail(why, len, "url \"%s\": %s: %s", e->url, path,
		    strerror(errno));
		free(path);
		return (-1);
	}
	free(path);
	for (i = 0; i < ctx->ndirs; i++)
		if (otaindex_path_inside(real, ctx->dirs[i]))
			break;
	if (i == ctx->ndirs) {
		otaindex_fail(why, len, "url \"%s\" resolves to %s, outside "
		    "the directories allowed for local images", e->url, real);
		free(real);
		return (-1);
	}
	e->local_path = real;
	return (0);
}

int
otaindex_entry_from_image(const uint8_t *buf, size_t len,
    const char *file_name, const char *url, struct otaindex_entry *e,
    char *err, size_t errlen)
{
	struct ota_image	*img;
	char			 why[OTAINDEX_REASON_LEN];
	char			 hdrstr[OTA_HEADER_TEXT_MAX];

	memset(e, 0, sizeof(*e));
	if ((img = calloc(1, sizeof(*img))) == NULL)
		return (otaindex_fail(err, errlen, "out of memory"));
	if (ota_parse(buf, len, img, why, sizeof(why)) == -1) {
		free(img);
		return (otaindex_fail(err, errlen, "not a usable OTA file: %s",
		    why));
	}
	e->file_version = img->hdr.file_version;
	e->file_size = img->hdr.total_image_size;
	e->image_type = img->hdr.image_type;
	e->manufacturer_code = img->hdr.manufacturer_code;
	e->has = OTAINDEX_HAS_FILE_SIZE | OTAINDEX_HAS_SHA512;
	ota_header_text(&img->hdr, hdrstr);
	free(img);
	e->ota_header_string = strdup(hdrstr);
	util_sha512_hex(buf, len, e->sha512);
	e->file_name = strdup(file_name);
	e->url = strdup(url);
	if (e->ota_header_string == NULL || e->file_name == NULL ||
	    e->url == NULL || e->sha512[0] == '\0') {
		otaindex_entry_clear(e);
		return (otaindex_fail(err, errlen, "out of memory"));
	}
	return (0);
}

/* A field the index gave must agree with the file it names. */
static int
otaindex_agree(const char *field, int given, uint32_t index_value,
    uint32_t file_value, char *why, size_t len)
{
	if (given && index_value != file_value)
		return (otaindex_fail(why, len, "%s is %lu in the index but "
		    "%lu in the file", field, (unsigned long)index_value,
		    (unsigned long)file_value));
	return (0);
}

static int
otaindex_complete_fields(struct otaindex_entry *e,
    const struct otaindex_entry *f, unsigned long seen, char *why,
    size_t len)
{
	if (otaindex_agree("fileVersion",
	    seen & OTAINDEX_SEEN(OTAINDEX_F_FILE_VERSION), e->file_version,
	    f->file_version, why, len) == -1 ||
	    otaindex_agree("imageType",
	    seen & OTAINDEX_SEEN(OTAINDEX_F_IMAGE_TYPE), e->image_type,
	    f->image_type, why, len) == -1 ||
	    otaindex_agree("manufacturerCode",
	    seen & OTAINDEX_SEEN(OTAINDEX_F_MFR_CODE), e->manufacturer_code,
	    f->manufacturer_code, why, len) == -1 ||
	    otaindex_agree("fileSize", e->has & OTAINDEX_HAS_FILE_SIZE,
	    e->file_size, f->file_size, why, len) == -1)
		return (-1);
	if ((e->has & OTAINDEX_HAS_SHA512) &&
	    strcmp(e->sha512, f->sha512) != 0)
		return (otaindex_fail(why, len, "sha512 in the index does not "
		    "match the file"));
	e->file_version = f->file_version;
	e->image_type = f->image_type;
	e->manufacturer_code = f->manufacturer_code;
	e->file_size = f->file_size;
	memcpy(e->sha512, f->sha512, sizeof(e->sha512));
	e->has |= OTAINDEX_HAS_FILE_SIZE | OTAINDEX_HAS_SHA512;
	return (0);
}

/*
 * A local image: read it, parse its header and complete the entry from
 * it (fields the index left out) or check the entry against it (fields
 * it gave), with the file's own SHA-512 for zotad-fetch to verify later.
 */
static int
otaindex_complete_local(struct otaindex_entry *e, unsigned long seen,
    char *why, size_t len)
{
	struct otaindex_entry	 f;
	uint8_t			*buf;
	size_t			 blen;
	const char		*base;
	char			 sub[OTAINDEX_REASON_LEN];
	int			 rc;

	if (util_read_file(e->local_path, OTAINDEX_MAX_IMAGE, &buf,
	    &blen) == -1)
		return (otaindex_fail(why, len, "%s: %s", e->local_path,
		    strerror(errno)));
	base = strrchr(e->local_path, '/') + 1;
	rc = otaindex_entry_from_image(buf, blen, base, e->url, &f, sub,
	    sizeof(sub));
	free(buf);
	if (rc == -1)
		return (otaindex_fail(why, len, "%s: %s", e->local_path,
		    sub));
	rc = otaindex_complete_fields(e, &f, seen, why, len);
	if (rc == 0 && e->ota_header_string == NULL) {
		e->ota_header_string = f.ota_header_string;
		f.ota_header_string = NULL;
	}
	if (rc == 0 && e->file_name == NULL) {
		e->file_name = f.file_name;
		f.file_name = NULL;
	}
	otaindex_entry_clear(&f);
	return (rc);
}

static int
otaindex_check_url(struct otaindex_entry *e, const struct otaindex_ctx *ctx,
    unsigned long seen, char *why, size_t len)
{
	if (otaindex_is_http_url(e->url))
		return (otaindex_http_url_ok(e->url, why, len));
	if (!ctx->opts->allow_local_files ||
	    ctx->opts->source != OTAINDEX_SRC_OVERRIDE)
		return (otaindex_fail(why, len, "url \"%s\" is not http:// "
		    "or https://, and only a local override index may name "
		    "local files", e->url));
	if (otaindex_resolve_local(e, ctx, why, len) == -1)
		return (-1);
	return (otaindex_complete_local(e, seen, why, len));
}

static int
otaindex_check_required(const struct otaindex_entry *e, unsigned long seen,
    char *why, size_t len)
{
	static const int	 req[] = { OTAINDEX_F_FILE_VERSION,
	    OTAINDEX_F_IMAGE_TYPE, OTAINDEX_F_MFR_CODE };
	size_t			 i;

	/* Local images supply these themselves. */
	if (e->local_path != NULL)
		return (0);
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++)
		if (!(seen & OTAINDEX_SEEN(req[i])))
			return (otaindex_fail(why, len, "%s is missing",
			    otaindex_fields[req[i]].name));
	return (0);
}

static int
otaindex_check_ranges(const struct otaindex_entry *e, char *why, size_t len)
{
	if ((e->has & OTAINDEX_HAS_HW_MIN) && (e->has & OTAINDEX_HAS_HW_MAX) &&
	    e->hw_min > e->hw_max)
		return (otaindex_fail(why, len, "hardwareVersionMin %u is "
		    "above hardwareVersionMax %u", e->hw_min, e->hw_max));
	if ((e->has & OTAINDEX_HAS_MIN_FILE_VERSION) &&
	    (e->has & OTAINDEX_HAS_MAX_FILE_VERSION) &&
	    e->min_file_version > e->max_file_version)
		return (otaindex_fail(why, len, "minFileVersion %lu is above "
		    "maxFileVersion %lu", (unsigned long)e->min_file_version,
		    (unsigned long)e->max_file_version));
	return (0);
}

/* One object member: find its field, refuse repeats, parse the value. */
static int
otaindex_member(struct otaindex_entry *e, const cJSON *m,
    unsigned long *seen, char *why, size_t len)
{
	char	 sub[OTAINDEX_REASON_LEN];
	size_t	 f;

	for (f = 0; f < OTAINDEX_NFIELDS; f++)
		if (strcmp(m->string, otaindex_fields[f].name) == 0)
			break;
	/* Fields we do not know are for newer tools; they restrict nothing
	 * that zigbee2mqtt would enforce, so they are ignored. */
	if (f == OTAINDEX_NFIELDS)
		return (0);
	if (*seen & OTAINDEX_SEEN(f))
		return (otaindex_fail(why, len, "%s appears twice",
		    otaindex_fields[f].name));
	*seen |= OTAINDEX_SEEN(f);
	if (otaindex_fields[f].parse(e, m, sub, sizeof(sub)) == -1)
		return (otaindex_fail(why, len, "%s: %s",
		    otaindex_fields[f].name, sub));
	return (0);
}

static int
otaindex_entry_parse(struct otaindex_entry *e, const cJSON *obj,
    const struct otaindex_ctx *ctx, char *why, size_t len)
{
	const cJSON	*m;
	unsigned long	 seen = 0;

	if (!cJSON_IsObject(obj))
		return (otaindex_fail(why, len, "not a JSON object"));
	cJSON_ArrayForEach(m, obj)
		if (otaindex_member(e, m, &seen, why, len) == -1)
			return (-1);
	if (!(seen & OTAINDEX_SEEN(OTAINDEX_F_URL)))
		return (otaindex_fail(why, len, "url is missing"));
	if (otaindex_check_url(e, ctx, seen, why, len) == -1 ||
	    otaindex_check_required(e, seen, why, len) == -1 ||
	    otaindex_check_ranges(e, why, len) == -1)
		return (-1);
	return (0);
}

static void
otaindex_skip(struct otaindex *idx, size_t pos, const char *why)
{
	struct otaindex_skip	*s;

	if (idx->nskips < OTAINDEX_MAX_SKIPS) {
		log_warnx("%s[%zu] skipped: %s", idx->name, pos, why);
		s = &idx->skips[idx->nskips];
		s->position = pos;
		snprintf(s->reason, sizeof(s->reason), "%s", why);
	}
	idx->nskips++;
}

static int
otaindex_key_cmp(const void *a, const void *b)
{
	const struct otaindex_entry	*x = *(struct otaindex_entry *const *)a;
	const struct otaindex_entry	*y = *(struct otaindex_entry *const *)b;
	uint32_t			 kx, ky;

	kx = (uint32_t)x->manufacturer_code << 16 | x->image_type;
	ky = (uint32_t)y->manufacturer_code << 16 | y->image_type;
	if (kx != ky)
		return (kx < ky ? -1 : 1);
	return (x->position < y->position ? -1 : x->position > y->position);
}

static int
otaindex_build_keys(struct otaindex *idx)
{
	size_t	 i;

	if ((idx->bykey = calloc(idx->nentries + 1,
	    sizeof(*idx->bykey))) == NULL)
		return (-1);
	for (i = 0; i < idx->nentries; i++)
		idx->bykey[i] = &idx->entries[i];
	qsort(idx->bykey, idx->nentries, sizeof(*idx->bykey),
	    otaindex_key_cmp);
	return (0);
}

static void
otaindex_ctx_free(struct otaindex_ctx *ctx)
{
	size_t	 i;

	for (i = 0; i < ctx->ndirs; i++)
		free(ctx->dirs[i]);
	free(ctx->dirs);
}

/* Resolve the allowed directories once; ones that do not exist allow
 * nothing and are left out. */
static int
otaindex_ctx_init(struct otaindex_ctx *ctx, const struct otaindex_opts *opts)
{
	size_t	 i;
	char	*r;

	memset(ctx, 0, sizeof(*ctx));
	ctx->opts = opts;
	if (!opts->allow_local_files)
		return (0);
	if ((ctx->dirs = calloc(opts->nlocal_dirs + 1,
	    sizeof(char *))) == NULL)
		return (-1);
	for (i = 0; i <= opts->nlocal_dirs; i++) {
		r = realpath(i == 0 ? (opts->data_dir != NULL ?
		    opts->data_dir : "") : opts->local_dirs[i - 1], NULL);
		if (r != NULL)
			ctx->dirs[ctx->ndirs++] = r;
	}
	return (0);
}

static int
otaindex_parse_entries(struct otaindex *idx, const cJSON *root,
    const struct otaindex_ctx *ctx, char *err, size_t errlen)
{
	const cJSON		*item;
	struct otaindex_entry	*e;
	char			 why[OTAINDEX_REASON_LEN];
	size_t			 pos = 0;

	idx->total = (size_t)cJSON_GetArraySize(root);
	if (idx->total > OTAINDEX_MAX_ENTRIES)
		return (otaindex_fail(err, errlen, "%zu entries, at most %d "
		    "allowed", idx->total, OTAINDEX_MAX_ENTRIES));
	idx->entries = calloc(idx->total + 1, sizeof(*idx->entries));
	idx->skips = calloc(OTAINDEX_MAX_SKIPS, sizeof(*idx->skips));
	if (idx->entries == NULL || idx->skips == NULL)
		return (otaindex_fail(err, errlen, "out of memory"));
	cJSON_ArrayForEach(item, root) {
		e = &idx->entries[idx->nentries];
		e->source = idx->source;
		e->position = pos;
		if (otaindex_entry_parse(e, item, ctx, why, sizeof(why)) == 0)
			idx->nentries++;
		else {
			otaindex_entry_clear(e);
			otaindex_skip(idx, pos, why);
		}
		pos++;
	}
	if (idx->nskips > OTAINDEX_MAX_SKIPS)
		log_warnx("%s: %zu more entries skipped", idx->name,
		    idx->nskips - OTAINDEX_MAX_SKIPS);
	if (otaindex_build_keys(idx) == -1)
		return (otaindex_fail(err, errlen, "out of memory"));
	return (0);
}

struct otaindex *
otaindex_parse(const char *buf, size_t len, const struct otaindex_opts *opts,
    char *err, size_t errlen)
{
	struct otaindex		*idx;
	struct otaindex_ctx	 ctx;
	cJSON			*root;
	char			 sub[OTAINDEX_REASON_LEN];
	int			 rc;

	if ((root = otaindex_json_parse(buf, len, sub, sizeof(sub))) == NULL) {
		otaindex_fail(err, errlen, "%s: %s", opts->name, sub);
		return (NULL);
	}
	idx = calloc(1, sizeof(*idx));
	if (idx == NULL || (idx->name = strdup(opts->name)) == NULL ||
	    otaindex_ctx_init(&ctx, opts) == -1) {
		otaindex_fail(err, errlen, "%s: out of memory", opts->name);
		cJSON_Delete(root);
		otaindex_free(idx);
		return (NULL);
	}
	idx->source = opts->source;
	rc = otaindex_parse_entries(idx, root, &ctx, sub, sizeof(sub));
	otaindex_ctx_free(&ctx);
	cJSON_Delete(root);
	if (rc == -1) {
		otaindex_fail(err, errlen, "%s: %s", opts->name, sub);
		otaindex_free(idx);
		return (NULL);
	}
	return (idx);
}

struct otaindex *
otaindex_load(const char *location, const struct otaindex_opts *opts,
    char *err, size_t errlen)
{
	struct otaindex	*idx;
	uint8_t		*buf;
	size_t		 len;
	char		*path = NULL;

	if (otaindex_is_http_url(location)) {
		otaindex_fail(err, errlen, "%s: a URL, to be downloaded "
		    "first", location);
		return (NULL);
	}
	if (location[0] != '/' && opts->data_dir != NULL &&
	    asprintf(&path, "%s/%s", opts->data_dir, location) == -1) {
		otaindex_fail(err, errlen, "%s: out of memory", location);
		return (NULL);
	}
	if (util_read_file(path != NULL ? path : location, OTAINDEX_MAX_BYTES,
	    &buf, &len) == -1) {
		otaindex_fail(err, errlen, "%s: %s",
		    path != NULL ? path : location, errno == EFBIG ?
		    "larger than an index may be" : strerror(errno));
		free(path);
		return (NULL);
	}
	free(path);
	idx = otaindex_parse((const char *)buf, len, opts, err, errlen);
	free(buf);
	return (idx);
}

void
otaindex_free(struct otaindex *idx)
{
	size_t	 i;

	if (idx == NULL)
		return;
	for (i = 0; i < idx->nentries; i++)
		otaindex_entry_clear(&idx->entries[i]);
	free(idx->entries);
	free(idx->skips);
	free(idx->bykey);
	free(idx->name);
	free(idx);
}

char *
otaindex_uri_encode(const char *s)
{
	static const char	 keep[] = "-_.!~*'()";
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*p = (const unsigned char *)s;
	char			*out, *w;

	if ((out = malloc(3 * strlen(s) + 1)) == NULL)
		return (NULL);
	for (w = out; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr(keep, *p) != NULL)
			*w++ = (char)*p;
		else {
			*w++ = '%';
			*w++ = hex[*p >> 4];
			*w++ = hex[*p & 0xf];
		}
	}
	*w = '\0';
	return (out);
}

static int
otaindex_json_add_strings(cJSON *o, const struct otaindex_entry *e)
{
	cJSON	*arr;

	if ((e->original_url != NULL && cJSON_AddStringToObject(o,
	    "originalUrl", e->original_url) == NULL) ||
	    (e->model_id != NULL && cJSON_AddStringToObject(o, "modelId",
	    e->model_id) == NULL) ||
	    (e->release_notes != NULL && cJSON_AddStringToObject(o,
	    "releaseNotes", e->release_notes) == NULL))
		return (-1);
	if (e->nmanufacturer_names == 0)
		return (0);
	arr = cJSON_CreateStringArray((const char *const *)
	    e->manufacturer_names, (int)e->nmanufacturer_names);
	if (arr == NULL)
		return (-1);
	cJSON_AddItemToObject(o, "manufacturerName", arr);
	return (0);
}

static int
otaindex_json_add_limits(cJSON *o, const struct otaindex_entry *e)
{
	if (((e->has & OTAINDEX_HAS_HW_MIN) && cJSON_AddNumberToObject(o,
	    "hardwareVersionMin", e->hw_min) == NULL) ||
	    ((e->has & OTAINDEX_HAS_HW_MAX) && cJSON_AddNumberToObject(o,
	    "hardwareVersionMax", e->hw_max) == NULL) ||
	    ((e->has & OTAINDEX_HAS_MIN_FILE_VERSION) &&
	    cJSON_AddNumberToObject(o, "minFileVersion",
	    e->min_file_version) == NULL) ||
	    ((e->has & OTAINDEX_HAS_MAX_FILE_VERSION) &&
	    cJSON_AddNumberToObject(o, "maxFileVersion",
	    e->max_file_version) == NULL) ||
	    ((e->has & OTAINDEX_HAS_FORCE) && cJSON_AddBoolToObject(o,
	    "force", e->force) == NULL))
		return (-1);
	return (0);
}

cJSON *
otaindex_entry_to_json(const struct otaindex_entry *e)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	if ((e->file_name != NULL && cJSON_AddStringToObject(o, "fileName",
	    e->file_name) == NULL) ||
	    cJSON_AddNumberToObject(o, "fileVersion",
	    e->file_version) == NULL ||
	    ((e->has & OTAINDEX_HAS_FILE_SIZE) && cJSON_AddNumberToObject(o,
	    "fileSize", e->file_size) == NULL) ||
	    cJSON_AddStringToObject(o, "url", e->url) == NULL ||
	    cJSON_AddNumberToObject(o, "imageType", e->image_type) == NULL ||
	    cJSON_AddNumberToObject(o, "manufacturerCode",
	    e->manufacturer_code) == NULL ||
	    ((e->has & OTAINDEX_HAS_SHA512) && cJSON_AddStringToObject(o,
	    "sha512", e->sha512) == NULL) ||
	    (e->ota_header_string != NULL && cJSON_AddStringToObject(o,
	    "otaHeaderString", e->ota_header_string) == NULL) ||
	    otaindex_json_add_strings(o, e) == -1 ||
	    otaindex_json_add_limits(o, e) == -1) {
		cJSON_Delete(o);
		return (NULL);
	}
	return (o);
}

static unsigned int
otaindex_check_identity(const struct otaindex_entry *e,
    const struct otaindex_device *dev)
{
	unsigned int	 x = 0;
	size_t		 i;

	if (e->model_id != NULL && (dev->model_id == NULL ||
	    strcmp(e->model_id, dev->model_id) != 0))
		x |= OTAINDEX_X_MODEL_ID;
	if (e->nmanufacturer_names > 0) {
		for (i = 0; dev->manufacturer_name != NULL &&
		    i < e->nmanufacturer_names; i++)
			if (strcmp(e->manufacturer_names[i],
			    dev->manufacturer_name) == 0)
				break;
		if (dev->manufacturer_name == NULL ||
		    i == e->nmanufacturer_names)
			x |= OTAINDEX_X_MANUFACTURER_NAME;
	}
	if (dev->ota_header_string != NULL &&
	    (e->ota_header_string == NULL ||
	    strcmp(e->ota_header_string, dev->ota_header_string) != 0))
		x |= OTAINDEX_X_HEADER_STRING;
	return (x);
}

static unsigned int
otaindex_check_hardware(const struct otaindex_entry *e,
    const struct otaindex_device *dev)
{
	unsigned int	 x = 0;

	if (!(e->has & (OTAINDEX_HAS_HW_MIN | OTAINDEX_HAS_HW_MAX)))
		return (0);
	/* A bounded entry is never offered to a device of unknown
	 * hardware: flashing the wrong board can brick it. */
	if (!dev->has_hardware_version)
		return (OTAINDEX_X_HW_UNKNOWN);
	if ((e->has & OTAINDEX_HAS_HW_MIN) && dev->hardware_version < e->hw_min)
		x |= OTAINDEX_X_HW_MIN;
	if ((e->has & OTAINDEX_HAS_HW_MAX) && dev->hardware_version > e->hw_max)
		x |= OTAINDEX_X_HW_MAX;
	return (x);
}

/* Every restriction of E that DEV fails in MODE, as OTAINDEX_X_ bits. */
static unsigned int
otaindex_check(const struct otaindex_entry *e,
    const struct otaindex_device *dev, enum otaindex_mode mode)
{
	unsigned int	 x;

	x = otaindex_check_identity(e, dev) | otaindex_check_hardware(e, dev);
	if ((e->has & OTAINDEX_HAS_MIN_FILE_VERSION) &&
	    dev->file_version < e->min_file_version)
		x |= OTAINDEX_X_MIN_FILE_VERSION;
	if ((e->has & OTAINDEX_HAS_MAX_FILE_VERSION) &&
	    dev->file_version > e->max_file_version)
		x |= OTAINDEX_X_MAX_FILE_VERSION;
	if (!e->force && mode == OTAINDEX_UPGRADE &&
	    e->file_version <= dev->file_version)
		x |= OTAINDEX_X_NOT_NEWER;
	if (!e->force && mode == OTAINDEX_DOWNGRADE &&
	    e->file_version >= dev->file_version)
		x |= OTAINDEX_X_NOT_OLDER;
	return (x);
}

/* Nonzero when A is preferred to B, both applicable and in one index. */
static int
otaindex_better(const struct otaindex_entry *a, const struct otaindex_entry *b)
{
	if (b == NULL)
		return (1);
	if (a->force != b->force)
		return (a->force);
	return (a->file_version > b->file_version);
}

/* First entry of IDX with the device's key, by binary search. */
static size_t
otaindex_lower_bound(const struct otaindex *idx, uint32_t key)
{
	size_t		 lo = 0, hi = idx->nentries, mid;
	uint32_t	 k;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		k = (uint32_t)idx->bykey[mid]->manufacturer_code << 16 |
		    idx->bykey[mid]->image_type;
		if (k < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

static int
otaindex_same_key(const struct otaindex_entry *e, uint32_t key)
{
	return (((uint32_t)e->manufacturer_code << 16 | e->image_type) == key);
}

static size_t
otaindex_count(const struct otaindex *const *indexes, size_t nindexes,
    uint32_t key)
{
	size_t	 i, j, n = 0;

	for (i = 0; i < nindexes; i++)
		for (j = otaindex_lower_bound(indexes[i], key);
		    j < indexes[i]->nentries &&
		    otaindex_same_key(indexes[i]->bykey[j], key); j++)
			n++;
	return (n);
}

int
otaindex_match(const struct otaindex *const *indexes, size_t nindexes,
    const struct otaindex_device *dev, enum otaindex_mode mode,
    struct otaindex_result *res)
{
	const struct otaindex_entry	*e, *best;
	struct otaindex_candidate	*c;
	uint32_t			 key;
	size_t				 i, j, n;

	memset(res, 0, sizeof(*res));
	key = (uint32_t)dev->manufacturer_code << 16 | dev->image_type;
	if ((n = otaindex_count(indexes, nindexes, key)) == 0)
		return (0);
	if ((res->candidates = calloc(n, sizeof(*c))) == NULL)
		return (-1);
	for (i = 0; i < nindexes; i++) {
		best = NULL;
		for (j = otaindex_lower_bound(indexes[i], key);
		    j < indexes[i]->nentries &&
		    otaindex_same_key(e = indexes[i]->bykey[j], key); j++) {
			c = &res->candidates[res->ncandidates++];
			c->entry = e;
			c->excluded = otaindex_check(e, dev, mode);
			if (c->excluded == 0 && otaindex_better(e, best))
				best = e;
		}
		if (res->chosen == NULL)
			res->chosen = best;
	}
	for (i = 0; i < res->ncandidates; i++)
		if (res->candidates[i].excluded == 0 &&
		    res->candidates[i].entry != res->chosen)
			res->candidates[i].excluded = OTAINDEX_X_OUTRANKED;
	return (0);
}

void
otaindex_result_free(struct otaindex_result *res)
{
	free(res->candidates);
	memset(res, 0, sizeof(*res));
}

const char *
otaindex_excluded_name(unsigned int bit)
{
	unsigned int	 i;

	for (i = 0; i < OTAINDEX_X_COUNT; i++)
		if (bit == 1U << i)
			return (otaindex_excluded_names[i]);
	return ("unknown");
}

static void
otaindex_explain_identity(const struct otaindex_entry *e, unsigned int bit,
    const struct otaindex_device *dev, char *buf, size_t len)
{
	if (bit == OTAINDEX_X_MODEL_ID && dev->model_id == NULL)
		snprintf(buf, len, "modelId is \"%s\" and the device's model "
		    "id is unknown", e->model_id);
	else if (bit == OTAINDEX_X_MODEL_ID)
		snprintf(buf, len, "modelId is \"%s\", the device's is \"%s\"",
		    e->model_id, dev->model_id);
	else if (bit == OTAINDEX_X_MANUFACTURER_NAME &&
	    dev->manufacturer_name == NULL)
		snprintf(buf, len, "manufacturerName lists %zu name(s) "
		    "starting with \"%s\" and the device's manufacturer name "
		    "is unknown", e->nmanufacturer_names,
		    e->manufacturer_names[0]);
	else if (bit == OTAINDEX_X_MANUFACTURER_NAME)
		snprintf(buf, len, "the device's manufacturer name \"%s\" is "
		    "not among the %zu in manufacturerName (first \"%s\")",
		    dev->manufacturer_name, e->nmanufacturer_names,
		    e->manufacturer_names[0]);
	else
		snprintf(buf, len, "otaHeaderString \"%s\" is not the "
		    "required \"%s\"", e->ota_header_string != NULL ?
		    e->ota_header_string : "", dev->ota_header_string);
}

static void
otaindex_explain_version(const struct otaindex_entry *e, unsigned int bit,
    const struct otaindex_device *dev, char *buf, size_t len)
{
	unsigned long	 cur = dev->file_version, fv = e->file_version;

	if (bit == OTAINDEX_X_MIN_FILE_VERSION)
		snprintf(buf, len, "the device's file version 0x%08lx is "
		    "below minFileVersion 0x%08lx", cur,
		    (unsigned long)e->min_file_version);
	else if (bit == OTAINDEX_X_MAX_FILE_VERSION)
		snprintf(buf, len, "the device's file version 0x%08lx is "
		    "above maxFileVersion 0x%08lx", cur,
		    (unsigned long)e->max_file_version);
	else if (bit == OTAINDEX_X_NOT_NEWER)
		snprintf(buf, len, "file version 0x%08lx is not newer than "
		    "the device's 0x%08lx", fv, cur);
	else
		snprintf(buf, len, "file version 0x%08lx is not older than "
		    "the device's 0x%08lx", fv, cur);
}

static void
otaindex_explain_hardware(const struct otaindex_entry *e, unsigned int bit,
    const struct otaindex_device *dev, char *buf, size_t len)
{
	if (bit == OTAINDEX_X_HW_UNKNOWN)
		snprintf(buf, len, "the entry is limited to hardware versions "
		    "and the device sent none");
	else if (bit == OTAINDEX_X_HW_MIN)
		snprintf(buf, len, "hardware version %u is below "
		    "hardwareVersionMin %u", dev->hardware_version, e->hw_min);
	else
		snprintf(buf, len, "hardware version %u is above "
		    "hardwareVersionMax %u", dev->hardware_version, e->hw_max);
}

void
otaindex_explain(const struct otaindex_candidate *c,
    const struct otaindex_device *dev, char *buf, size_t len)
{
	unsigned int	 bit;

	if (len == 0)
		return;
	bit = c->excluded & -c->excluded;
	switch (bit) {
	case 0:
		snprintf(buf, len, "applicable, and chosen");
		break;
	case OTAINDEX_X_MODEL_ID:
	case OTAINDEX_X_MANUFACTURER_NAME:
	case OTAINDEX_X_HEADER_STRING:
		otaindex_explain_identity(c->entry, bit, dev, buf, len);
		break;
	case OTAINDEX_X_HW_UNKNOWN:
	case OTAINDEX_X_HW_MIN:
	case OTAINDEX_X_HW_MAX:
		otaindex_explain_hardware(c->entry, bit, dev, buf, len);
		break;
	case OTAINDEX_X_OUTRANKED:
		snprintf(buf, len, "applicable, but another entry won "
		    "(override index first, then forced, then the highest "
		    "file version)");
		break;
	default:
		otaindex_explain_version(c->entry, bit, dev, buf, len);
		break;
	}
}
