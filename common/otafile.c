/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Zigbee OTA upgrade files: find the image inside a vendor container,
 * check its header and sizes, and walk its sub-elements.
 *
 * What makes a file broken and what only makes its tags opaque:
 * the header and the served range are what a device is offered and sent,
 * so every inconsistency there is an error: a missing magic, a header
 * that is short or self-contradicting, a total image size the file does
 * not hold. The tag walk then checks the body. A tag list that walks
 * but does not fit (a tag that overruns the image by a plausible amount,
 * 1 to 5 stray bytes at the end, a tag list longer than the total size,
 * more tags than we keep) is the sign of a damaged or mis-sized file and
 * is an error too. But when the walk meets an element whose length could
 * not fit in the image even as its only tag, those bytes are not a tag
 * header at all: the vendor put data there that is not a tag list. Old
 * Hue .sbl-ota images do this from the first byte, Datek "combined"
 * images append a second firmware without a tag header. Their header is
 * valid, the whole served range is present and zigbee2mqtt serves them
 * to devices as they are, so we serve them opaquely with a warning.
 *
 * Tag 0xF000 is an ordinary manufacturer tag in most files, but the
 * Telink SDK writes 2 info bytes after its tag header that the length
 * does not count. The id cannot tell the two apart; the data can: the
 * Telink reading is used only when the plain one does not end exactly
 * at the total image size and the Telink one does.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "otafile.h"
#include "util.h"

#define OTA_OFF_VERSION		4
#define OTA_OFF_HDRLEN		6
#define OTA_OFF_FC		8
#define OTA_OFF_MFR		10
#define OTA_OFF_TYPE		12
#define OTA_OFF_FILEVER		14
#define OTA_OFF_STACK		18
#define OTA_OFF_STRING		20
#define OTA_OFF_TOTAL		52

#define OTA_NGIS_OFFSET		16	/* u32 offset of the wrapped image */
#define OTA_NGIS_SIZE		20	/* u32 size of the wrapped image */
#define OTA_LEGRAND_PREFIX	4
#define OTA_LEGRAND_SUFFIX	17

enum ota_walk {
	OTA_WALK_EXACT,		/* the tags end exactly at the total size */
	OTA_WALK_OPAQUE,	/* the body stops being a tag list */
	OTA_WALK_BROKEN		/* a tag list that does not fit */
};

static const uint8_t ota_magic_bytes[4] = { 0x1E, 0xF1, 0xEE, 0x0B };

static int	ota_error(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static int
ota_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

static uint16_t
ota_le16(const uint8_t *p)
{
	return ((uint16_t)(p[0] | p[1] << 8));
}

static uint32_t
ota_le32(const uint8_t *p)
{
	return ((uint32_t)p[0] | (uint32_t)p[1] << 8 |
	    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static void
ota_put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
ota_put32(uint8_t *p, uint32_t v)
{
	p[0] = v & 0xff;
	p[1] = (v >> 8) & 0xff;
	p[2] = (v >> 16) & 0xff;
	p[3] = v >> 24;
}

/* Offset of the first magic in BUF, or LEN when there is none. */
static size_t
ota_find_magic(const uint8_t *buf, size_t len)
{
	const uint8_t	*p;

	if (len < sizeof(ota_magic_bytes))
		return (len);
	p = memmem(buf, len, ota_magic_bytes, sizeof(ota_magic_bytes));
	return (p == NULL ? len : (size_t)(p - buf));
}

/* Bytes of optional fields that field control FC announces. */
static size_t
ota_optional_len(uint16_t fc)
{
	size_t	 n = 0;

	if (fc & OTA_FC_SECURITY_CRED)
		n += 1;
	if (fc & OTA_FC_DESTINATION)
		n += 8;
	if (fc & OTA_FC_HW_VERSIONS)
		n += 4;
	return (n);
}

static void
ota_read_fixed(const uint8_t *p, struct ota_header *h)
{
	h->header_version = ota_le16(p + OTA_OFF_VERSION);
	h->header_length = ota_le16(p + OTA_OFF_HDRLEN);
	h->field_control = ota_le16(p + OTA_OFF_FC);
	h->manufacturer_code = ota_le16(p + OTA_OFF_MFR);
	h->image_type = ota_le16(p + OTA_OFF_TYPE);
	h->file_version = ota_le32(p + OTA_OFF_FILEVER);
	h->stack_version = ota_le16(p + OTA_OFF_STACK);
	memcpy(h->header_string, p + OTA_OFF_STRING, OTA_HEADER_STRING_LEN);
	h->header_string[OTA_HEADER_STRING_LEN] = '\0';
	h->total_image_size = ota_le32(p + OTA_OFF_TOTAL);
}

/* Read the optional fields; the caller checked they lie in the header. */
static void
ota_read_optional(const uint8_t *p, struct ota_header *h)
{
	p += OTA_HEADER_MIN;
	if (h->field_control & OTA_FC_SECURITY_CRED) {
		h->has_security_credential = 1;
		h->security_credential_version = *p;
		p += 1;
	}
	if (h->field_control & OTA_FC_DESTINATION) {
		h->has_destination = 1;
		memcpy(h->destination, p, sizeof(h->destination));
		p += sizeof(h->destination);
	}
	if (h->field_control & OTA_FC_HW_VERSIONS) {
		h->has_hw_versions = 1;
		h->min_hw_version = ota_le16(p);
		h->max_hw_version = ota_le16(p + 2);
	}
}

/*
 * Check and read the header at P, with AVAIL bytes from the magic to the
 * end of the file and the magic at offset AT.
 */
static int
ota_parse_header(const uint8_t *p, size_t avail, size_t at,
    struct ota_header *h, char *err, size_t errlen)
{
	size_t	 need;

	if (avail < OTA_HEADER_MIN)
		return (ota_error(err, errlen, "truncated header: %zu bytes "
		    "after the magic at offset %zu, a header needs %d",
		    avail, at, OTA_HEADER_MIN));
	ota_read_fixed(p, h);
	if (h->header_version != OTA_HEADER_VERSION)
		return (ota_error(err, errlen, "unsupported header version "
		    "0x%04X (expected 0x%04X)", h->header_version,
		    OTA_HEADER_VERSION));
	if (h->header_length < OTA_HEADER_MIN)
		return (ota_error(err, errlen, "header length %u is below "
		    "the minimum of %d bytes", h->header_length,
		    OTA_HEADER_MIN));
	need = OTA_HEADER_MIN + ota_optional_len(h->field_control);
	if (h->header_length < need)
		return (ota_error(err, errlen, "optional fields run past the "
		    "header: field control 0x%04X needs a %zu-byte header, "
		    "header length is %u", h->field_control, need,
		    h->header_length));
	if (h->header_length > avail)
		return (ota_error(err, errlen, "header length %u runs past "
		    "the end of the file (%zu bytes from the magic)",
		    h->header_length, avail));
	if (h->total_image_size < h->header_length)
		return (ota_error(err, errlen, "total image size %u is "
		    "smaller than the header length %u",
		    h->total_image_size, h->header_length));
	if (h->total_image_size > avail)
		return (ota_error(err, errlen, "file truncated: total image "
		    "size is %u bytes but only %zu follow the magic at "
		    "offset %zu", h->total_image_size, avail, at));
	ota_read_optional(p, h);
	return (0);
}

/* Element size of the tag at P: 6 + length, or 8 + length Telink style. */
static uint64_t
ota_element_size(uint16_t id, uint32_t length, int telink)
{
	uint64_t	 size = (uint64_t)OTA_TAG_HEADER_LEN + length;

	if (telink && id == OTA_TAG_TELINK)
		size += OTA_TELINK_EXTRA;
	return (size);
}

/*
 * An element running past the end of the image: opaque data when its
 * length could not fit even as the only tag, else a damaged tag list.
 */
static enum ota_walk
ota_walk_overrun(const struct ota_tag *t, uint64_t size, size_t total,
    size_t hdrlen, size_t filelen, char *msg, size_t msglen)
{
	uint64_t	 end = t->offset + size;

	if (t->length > total - hdrlen - OTA_TAG_HEADER_LEN) {
		snprintf(msg, msglen, "data at offset %zu is not a tag "
		    "(id 0x%04X, length %u exceeds the image); served opaquely",
		    t->offset, t->id, t->length);
		return (OTA_WALK_OPAQUE);
	}
	if (end <= filelen)
		snprintf(msg, msglen, "tags end %llu bytes after the total "
		    "image size %zu: tag 0x%04X at offset %zu has length %u",
		    (unsigned long long)(end - total), total, t->id,
		    t->offset, t->length);
	else
		snprintf(msg, msglen, "tag 0x%04X at offset %zu: length %u "
		    "runs past the end of the file", t->id, t->offset,
		    t->length);
	return (OTA_WALK_BROKEN);
}

/*
 * Walk the tags of the image at IMG (TOTAL bytes, FILELEN of them in the
 * file) from HDRLEN into OUT, reading 0xF000 Telink style when TELINK.
 * On anything but OTA_WALK_EXACT, MSG says what went wrong.
 */
static enum ota_walk
ota_walk_tags(const uint8_t *img, size_t total, size_t hdrlen,
    size_t filelen, int telink, struct ota_image *out, char *msg,
    size_t msglen)
{
	struct ota_tag	*t;
	size_t		 off = hdrlen;
	uint64_t	 size;
	enum ota_walk	 res;

	out->ntags = 0;
	while (off < total) {
		if (total - off < OTA_TAG_HEADER_LEN) {
			snprintf(msg, msglen, "tags end %zu bytes before the "
			    "total image size %zu", total - off, total);
			return (OTA_WALK_BROKEN);
		}
		if (out->ntags == OTA_MAX_TAGS) {
			snprintf(msg, msglen, "too many tags: more than %d",
			    OTA_MAX_TAGS);
			return (OTA_WALK_BROKEN);
		}
		t = &out->tags[out->ntags++];
		t->offset = off;
		t->id = ota_le16(img + off);
		t->length = ota_le32(img + off + 2);
		size = ota_element_size(t->id, t->length, telink);
		t->telink = (size != (uint64_t)OTA_TAG_HEADER_LEN + t->length);
		t->size = size > total ? total : (size_t)size;
		if (size > total - off) {
			out->ntags--;
			res = ota_walk_overrun(t, size, total, hdrlen,
			    filelen, msg, msglen);
			memset(t, 0, sizeof(*t));
			return (res);
		}
		off += t->size;
	}
	return (OTA_WALK_EXACT);
}

/* Whether any tag read so far is 0xF000, so a Telink reading could differ. */
static int
ota_has_telink_tag(const struct ota_image *img)
{
	size_t	 i;

	for (i = 0; i < img->ntags; i++)
		if (img->tags[i].id == OTA_TAG_TELINK)
			return (1);
	return (0);
}

/*
 * Walk the tags the plain way, and the Telink way if that one fails and
 * met a 0xF000 tag; keep whichever ends exactly at the total size. The
 * Telink walk reuses IMG, so a failed one is undone by walking again.
 */
static int
ota_walk(const uint8_t *p, size_t avail, struct ota_image *img, char *err,
    size_t errlen)
{
	size_t		 total = img->hdr.total_image_size;
	size_t		 hdrlen = img->hdr.header_length;
	enum ota_walk	 res;
	char		 msg[sizeof(img->tag_warning)];
	char		 unused[sizeof(img->tag_warning)];

	res = ota_walk_tags(p, total, hdrlen, avail, 0, img, msg,
	    sizeof(msg));
	if (res == OTA_WALK_EXACT)
		return (0);
	if (ota_has_telink_tag(img)) {
		if (ota_walk_tags(p, total, hdrlen, avail, 1, img, unused,
		    sizeof(unused)) == OTA_WALK_EXACT) {
			img->telink_tags = 1;
			return (0);
		}
		ota_walk_tags(p, total, hdrlen, avail, 0, img, unused,
		    sizeof(unused));
	}
	if (res == OTA_WALK_OPAQUE) {
		img->tags_opaque = 1;
		snprintf(img->tag_warning, sizeof(img->tag_warning), "%s",
		    msg);
		return (0);
	}
	return (ota_error(err, errlen, "%s", msg));
}

/* Name the container around an image at offset AT, if we know it. */
static enum ota_container
ota_container_kind(const uint8_t *buf, size_t len, size_t at,
    uint32_t total)
{
	if (at == 0)
		return (OTA_CONTAINER_NONE);
	if (at >= OTA_NGIS_SIZE + 4 && memcmp(buf, "NGIS", 4) == 0 &&
	    ota_le32(buf + OTA_NGIS_OFFSET) == at &&
	    ota_le32(buf + OTA_NGIS_SIZE) == total)
		return (OTA_CONTAINER_IKEA);
	if (at == OTA_LEGRAND_PREFIX && ota_le32(buf) == total &&
	    len - at - total == OTA_LEGRAND_SUFFIX)
		return (OTA_CONTAINER_LEGRAND);
	return (OTA_CONTAINER_UNKNOWN);
}

int
ota_parse(const uint8_t *buf, size_t len, struct ota_image *img,
    char *err, size_t errlen)
{
	const uint8_t	*p;
	size_t		 at, avail;

	memset(img, 0, sizeof(*img));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (len == 0)
		return (ota_error(err, errlen, "empty file"));
	at = ota_find_magic(buf, len);
	if (at == len)
		return (ota_error(err, errlen, "no OTA upgrade file identifier "
		    "(magic 0x%08X) in %zu bytes", OTA_MAGIC, len));
	p = buf + at;
	avail = len - at;
	if (ota_parse_header(p, avail, at, &img->hdr, err, errlen) == -1)
		return (-1);

	img->prefix_len = at;
	img->served_offset = at;
	img->served_len = img->hdr.total_image_size;
	img->trailing_len = avail - img->served_len;
	img->container = ota_container_kind(buf, len, at,
	    img->hdr.total_image_size);
	return (ota_walk(p, avail, img, err, errlen));
}

size_t
ota_make_min_size(const struct ota_make_params *p)
{
	return (OTA_HEADER_MIN + (p->has_hw_versions ? 4 : 0) +
	    OTA_TAG_HEADER_LEN);
}

/* Deterministic filler (xorshift32); SEED 0 would stay 0, so shift it. */
static void
ota_fill(uint8_t *p, size_t len, uint32_t seed)
{
	uint32_t	 x = seed ? seed : 0x2545F491U;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x >> 24;
	}
}

int
ota_make(const struct ota_make_params *p, uint8_t **buf, size_t *len)
{
	uint8_t		*b;
	size_t		 hdrlen, slen;

	slen = p->header_string ? strlen(p->header_string) : 0;
	if (p->total_size < ota_make_min_size(p) ||
	    slen > OTA_HEADER_STRING_LEN || (p->has_hw_versions &&
	    p->min_hw_version > p->max_hw_version)) {
		errno = EINVAL;
		return (-1);
	}
	if ((b = calloc(1, p->total_size)) == NULL)
		return (-1);
	hdrlen = ota_make_min_size(p) - OTA_TAG_HEADER_LEN;

	memcpy(b, ota_magic_bytes, sizeof(ota_magic_bytes));
	ota_put16(b + OTA_OFF_VERSION, OTA_HEADER_VERSION);
	ota_put16(b + OTA_OFF_HDRLEN, hdrlen);
	ota_put16(b + OTA_OFF_FC, p->has_hw_versions ? OTA_FC_HW_VERSIONS : 0);
	ota_put16(b + OTA_OFF_MFR, p->manufacturer_code);
	ota_put16(b + OTA_OFF_TYPE, p->image_type);
	ota_put32(b + OTA_OFF_FILEVER, p->file_version);
	ota_put16(b + OTA_OFF_STACK, p->stack_version);
	if (slen > 0)
		memcpy(b + OTA_OFF_STRING, p->header_string, slen);
	ota_put32(b + OTA_OFF_TOTAL, p->total_size);
	if (p->has_hw_versions) {
		ota_put16(b + OTA_HEADER_MIN, p->min_hw_version);
		ota_put16(b + OTA_HEADER_MIN + 2, p->max_hw_version);
	}

	ota_put16(b + hdrlen, OTA_TAG_UPGRADE_IMAGE);
	ota_put32(b + hdrlen + 2, p->total_size - hdrlen - OTA_TAG_HEADER_LEN);
	ota_fill(b + hdrlen + OTA_TAG_HEADER_LEN,
	    p->total_size - hdrlen - OTA_TAG_HEADER_LEN, p->seed);
	*buf = b;
	*len = p->total_size;
	return (0);
}

static size_t
ota_put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = cp;
		return (1);
	}
	if (cp < 0x800) {
		out[0] = 0xC0 | cp >> 6;
		out[1] = 0x80 | (cp & 0x3F);
		return (2);
	}
	if (cp < 0x10000) {
		out[0] = 0xE0 | cp >> 12;
		out[1] = 0x80 | ((cp >> 6) & 0x3F);
		out[2] = 0x80 | (cp & 0x3F);
		return (3);
	}
	out[0] = 0xF0 | cp >> 18;
	out[1] = 0x80 | ((cp >> 12) & 0x3F);
	out[2] = 0x80 | ((cp >> 6) & 0x3F);
	out[3] = 0x80 | (cp & 0x3F);
	return (4);
}

/*
 * Length of the UTF-8 sequence starting at S (N bytes left), or 0 if it
 * is invalid; *BAD is then the bytes that make one U+FFFD (the maximal
 * valid prefix, at least 1), as the WHATWG decoder counts them.
 */
static size_t
ota_utf8_seq(const uint8_t *s, size_t n, uint32_t *cp, size_t *bad)
{
	uint8_t	 lo = 0x80, hi = 0xBF;
	size_t	 need, i;

	*bad = 1;
	if (s[0] < 0x80) {
		*cp = s[0];
		return (1);
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		need = 1;
		*cp = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		need = 2;
		*cp = s[0] & 0x0F;
		lo = s[0] == 0xE0 ? 0xA0 : lo;
		hi = s[0] == 0xED ? 0x9F : hi;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		need = 3;
		*cp = s[0] & 0x07;
		lo = s[0] == 0xF0 ? 0x90 : lo;
		hi = s[0] == 0xF4 ? 0x8F : hi;
	} else
		return (0);
	for (i = 1; i <= need; i++) {
		if (i >= n || s[i] < lo || s[i] > hi) {
			*bad = i;
			return (0);
		}
		*cp = *cp << 6 | (s[i] & 0x3F);
		lo = 0x80;
		hi = 0xBF;
	}
	return (need + 1);
}

size_t
ota_header_text(const struct ota_header *h, char out[OTA_HEADER_TEXT_MAX])
{
	const uint8_t	*s = (const uint8_t *)h->header_string;
	size_t		 i = 0, o = 0, n, bad;
	uint32_t	 cp;

	while (i < OTA_HEADER_STRING_LEN) {
		n = ota_utf8_seq(s + i, OTA_HEADER_STRING_LEN - i, &cp, &bad);
		if (n == 0) {
			o += ota_put_utf8(out + o, 0xFFFD);
			i += bad;
			continue;
		}
		if (cp != 0)
			o += ota_put_utf8(out + o, cp);
		i += n;
	}
	out[o] = '\0';
	return (o);
}

const char *
ota_container_name(enum ota_container c)
{
	switch (c) {
	case OTA_CONTAINER_NONE:
		return ("none");
	case OTA_CONTAINER_IKEA:
		return ("ikea");
	case OTA_CONTAINER_LEGRAND:
		return ("legrand");
	default:
		return ("unknown");
	}
}

static int
ota_json_header(cJSON *o, const struct ota_header *h)
{
	char	 text[OTA_HEADER_TEXT_MAX];
	char	 hex[OTA_HEADER_STRING_LEN * 2 + 1];

	ota_header_text(h, text);
	util_hex(h->header_string, OTA_HEADER_STRING_LEN, hex);
	if (!cJSON_AddNumberToObject(o, "manufacturerCode",
	    h->manufacturer_code) ||
	    !cJSON_AddNumberToObject(o, "imageType", h->image_type) ||
	    !cJSON_AddNumberToObject(o, "fileVersion", h->file_version) ||
	    !cJSON_AddStringToObject(o, "otaHeaderString", text) ||
	    !cJSON_AddStringToObject(o, "headerStringHex", hex) ||
	    !cJSON_AddNumberToObject(o, "fileSize", h->total_image_size) ||
	    !cJSON_AddNumberToObject(o, "headerVersion", h->header_version) ||
	    !cJSON_AddNumberToObject(o, "headerLength", h->header_length) ||
	    !cJSON_AddNumberToObject(o, "fieldControl", h->field_control) ||
	    !cJSON_AddNumberToObject(o, "stackVersion", h->stack_version))
		return (-1);
	return (0);
}

static int
ota_json_optional(cJSON *o, const struct ota_header *h)
{
	char	 dest[sizeof(h->destination) * 2 + 1];
	size_t	 i;

	if (h->has_security_credential && !cJSON_AddNumberToObject(o,
	    "securityCredentialVersion", h->security_credential_version))
		return (-1);
	if (h->has_destination) {
		/* Most significant byte first, as IEEE addresses are shown. */
		for (i = 0; i < sizeof(h->destination); i++)
			snprintf(dest + 2 * i, 3, "%02x",
			    h->destination[sizeof(h->destination) - 1 - i]);
		if (!cJSON_AddStringToObject(o, "destination", dest))
			return (-1);
	}
	if (h->has_hw_versions && (!cJSON_AddNumberToObject(o,
	    "hardwareVersionMin", h->min_hw_version) ||
	    !cJSON_AddNumberToObject(o, "hardwareVersionMax",
	    h->max_hw_version)))
		return (-1);
	return (0);
}

static int
ota_json_tags(cJSON *o, const struct ota_image *img)
{
	cJSON	*arr, *t;
	size_t	 i;

	if ((arr = cJSON_AddArrayToObject(o, "tags")) == NULL)
		return (-1);
	for (i = 0; i < img->ntags; i++) {
		if ((t = cJSON_CreateObject()) == NULL)
			return (-1);
		cJSON_AddItemToArray(arr, t);
		if (!cJSON_AddNumberToObject(t, "tagId", img->tags[i].id) ||
		    !cJSON_AddNumberToObject(t, "length",
		    img->tags[i].length) ||
		    !cJSON_AddNumberToObject(t, "offset",
		    img->tags[i].offset) ||
		    !cJSON_AddNumberToObject(t, "size", img->tags[i].size) ||
		    !cJSON_AddBoolToObject(t, "telink", img->tags[i].telink))
			return (-1);
	}
	return (0);
}

static int
ota_json_layout(cJSON *o, const struct ota_image *img)
{
	if (!cJSON_AddStringToObject(o, "container",
	    ota_container_name(img->container)) ||
	    !cJSON_AddNumberToObject(o, "prefixBytes", img->prefix_len) ||
	    !cJSON_AddNumberToObject(o, "trailingBytes", img->trailing_len) ||
	    !cJSON_AddNumberToObject(o, "servedOffset", img->served_offset) ||
	    !cJSON_AddNumberToObject(o, "servedLength", img->served_len) ||
	    !cJSON_AddBoolToObject(o, "telinkTags", img->telink_tags) ||
	    !cJSON_AddBoolToObject(o, "tagsOpaque", img->tags_opaque))
		return (-1);
	if (img->tags_opaque && !cJSON_AddStringToObject(o, "tagWarning",
	    img->tag_warning))
		return (-1);
	return (0);
}

cJSON *
ota_image_json(const struct ota_image *img)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	if (ota_json_header(o, &img->hdr) == -1 ||
	    ota_json_optional(o, &img->hdr) == -1 ||
	    ota_json_layout(o, img) == -1 || ota_json_tags(o, img) == -1) {
		cJSON_Delete(o);
		return (NULL);
	}
	return (o);
}
