/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cJSON.h>

#include "otafile.h"
#include "util.h"

#define TEST_FIXTURES_DEFAULT	"../shared/fixtures/zigbee-ota"
#define TEST_MAX_FILE		(8 * 1024 * 1024)
#define TEST_BUF_MAX		8192

/*
 * What we verified for each real image, from its bytes: the header
 * fields, where the image sits in the file, and how its tags walk.
 */
struct fixture {
	const char	*name;
	uint16_t	 mfr;
	uint16_t	 type;
	uint32_t	 version;
	size_t		 file_size;
	uint32_t	 total;
	size_t		 prefix;
	size_t		 trailing;
	int		 hw;		/* hardware versions present */
	uint16_t	 hw_min, hw_max;
	enum ota_container container;
	size_t		 ntags;
	int		 opaque;
	int		 telink;
	/* Set where the two reference parsers disagree: checked below. */
	int		 disputed;
};

static const struct fixture fixtures[] = {
	{ "10035515-TRADFRI-bulb-cws-2.3.093.ota.ota.signed", 0x117C, 0x2803,
	    0x23093631, 228500, 227500, 488, 512, 0, 0, 0,
	    OTA_CONTAINER_IKEA, 3, 0, 0, 0 },
	{ "100B-0114-01002A00-ConfLightBLE-Lamps-EFR32MG21.zigbee", 0x100B,
	    0x0114, 0x01002A00, 532178, 532178, 0, 0, 0, 0, 0,
	    OTA_CONTAINER_NONE, 175, 0, 0, 1 },
	{ "ModuLum-ATmega_010B_5.130.1.30000_0012.sbl-ota", 0x100B, 0x010B,
	    0x42007530, 256632, 256632, 0, 0, 0, 0, 0,
	    OTA_CONTAINER_NONE, 0, 1, 0, 1 },
	{ "PLUG_UK_T-0x00D5-0x03463712-MF_DIS.OTA", 0x1189, 0x00D5,
	    0x03463712, 239728, 239728, 0, 0, 0, 0, 0,
	    OTA_CONTAINER_NONE, 1, 0, 1, 1 },
	{ "Zigbee3toDALI_100E655B.ota", 0x110C, 0xE01E, 0x100E655B, 200928,
	    200928, 0, 0, 1, 1, 1535, OTA_CONTAINER_NONE, 1, 0, 0, 0 },
	{ "10F2-7B2A-0000-0005-02010230-m7b-r0.ota.zigbee", 0x10F2, 0x7B2A,
	    0x02010230, 114174, 114174, 0, 0, 1, 0, 5,
	    OTA_CONTAINER_NONE, 3, 0, 0, 0 },
	{ "mini-zbdim_v1.0.5.ota", 0x1286, 0x0045, 0x00001005, 236032,
	    236032, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 3, 0, 0, 1 },
	{ "1662693814-oem_mg21_zg_nh_win_cover_relay_OTA_1.0.7.bin", 0x1002,
	    0x1602, 0x00000047, 222762, 222762, 0, 0, 0, 0, 0,
	    OTA_CONTAINER_NONE, 1, 0, 0, 0 },
	{ "20220607175331_OTA_lumi.switch.acn029_0.0.0_211551_20220217_"
	    "08B622.ota", 0x115F, 0x0A0C, 0x00150F33, 322672, 322672, 0, 0,
	    0, 0, 0, OTA_CONTAINER_NONE, 6, 0, 0, 1 },
	{ "20230510105212_OTA_aqara.toilet.acn002_0.0.0_1233_20230505_"
	    "35594D.ota", 0x115F, 0x1309, 0x00000C21, 86722, 86722, 0, 0, 0,
	    0, 0, OTA_CONTAINER_NONE, 1, 0, 0, 0 },
	{ "mmwave_module_fw_V3_14_3.ota", 0x122F, 0x0104, 0x06030E03, 50238,
	    50238, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 1, 0, 0, 0 },
	{ "bl702_plug_gen3_usa_1.00.56.ota", 0x1407, 0xD3BD, 0x00000038,
	    282386, 282386, 0, 0, 1, 0, 0xFFF0, OTA_CONTAINER_NONE, 1, 0, 0,
	    0 },
	{ "1246-0100-01320132.0002_(56CF25B2).ota", 0x1246, 0x0100,
	    0x00000120, 393561, 393561, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 3,
	    0, 0, 0 },
	{ "SWD2_0x11191514_PROD.fw", 0x1209, 0x3007, 0x11191514, 158927,
	    158927, 0, 0, 1, 0, 257, OTA_CONTAINER_NONE, 2, 0, 0, 0 },
	{ "GL-B-007P_V17_OTAV7_20210305_100%.ota", 0x124F, 0x0000,
	    0x00000007, 291702, 291702, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 1,
	    0, 0, 0 },
	{ "1021-000f-004745ff-NLL.zigbee", 0x1021, 0x000F, 0x004745FF,
	    255164, 255143, 4, 17, 0, 0, 0, OTA_CONTAINER_LEGRAND, 1, 0, 0,
	    0 },
	{ "HS1SA_EM-SALUS-0621-V14-190907.ota", 0x120B, 0x2080, 0x00000014,
	    139010, 139006, 0, 4, 0, 0, 0, OTA_CONTAINER_NONE, 1, 0, 0, 0 },
	{ "152F_SBDV-00196_switch1gang_r_6_48fb8e55_06000000.ota.zigbee",
	    0x152F, 0x0196, 0x06000000, 224852, 224844, 0, 8, 0, 0, 0,
	    OTA_CONTAINER_NONE, 3, 0, 0, 0 },
	{ "dimmerpille_v2_0_v_4_combined_OTA.ota", 0x1337, 0x1012,
	    0x00032848, 297862, 297862, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 1,
	    1, 0, 1 },
	{ "jethome_zigbee_release_15_zigbee.ota.zigbee", 0xF123, 0xF001,
	    0x0000000F, 160242, 160242, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 1,
	    0, 0, 0 },
	{ "TICMeter.ota", 0xFFFF, 0x00C8, 0x0003020D, 1140668, 1140668, 0, 0,
	    0, 0, 0, OTA_CONTAINER_NONE, 2, 0, 0, 0 },
	{ "ED - HA - Smoke Sensor Mini-4.0.9.zigbee", 0x1015, 0x0251,
	    0x00040009, 202074, 202074, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 4,
	    0, 0, 1 },
	{ "1135-0100-1000002A-Kobold.zigbee", 0x1135, 0x0100, 0x1000002A,
	    244094, 244094, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 1, 0, 0, 0 },
	{ "007B-0141-010E0101-good_image.zigbee", 0x007B, 0x0141, 0x010E0101,
	    333712, 333712, 0, 0, 0, 0, 0, OTA_CONTAINER_NONE, 3, 0, 0, 0 },
};

#define TRUNCATED_NAME	"tcl-1-zb-s_hw1.x_fw0.6.1_ota20.ota"
#define NFIXTURES	(sizeof(fixtures) / sizeof(fixtures[0]))

struct expect_tag {
	uint16_t	 id;
	uint32_t	 length;
};

static struct ota_image	 img;	/* too big for a comfortable stack */
static char		 err[256];

/* The fixture folder, or NULL (after saying why) when it is absent. */
static const char *
fixture_dir(void)
{
	const char	*dir = getenv("ZOTAD_FIXTURES");
	struct stat	 st;

	if (dir == NULL || *dir == '\0')
		dir = TEST_FIXTURES_DEFAULT;
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		print_message("# fixtures not found at %s "
		    "(set ZOTAD_FIXTURES); skipping\n", dir);
		return (NULL);
	}
	return (dir);
}

static uint8_t *
fixture_read(const char *dir, const char *sub, const char *name,
    size_t *len)
{
	char	 path[PATH_MAX];
	uint8_t	*buf;

	snprintf(path, sizeof(path), "%s/%s%s", dir, sub, name);
	if (util_read_file(path, TEST_MAX_FILE, &buf, len) == -1)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	return (buf);
}

static cJSON *
fixture_json(const char *dir, const char *name)
{
	uint8_t	*buf;
	size_t	 len;
	cJSON	*json;

	buf = fixture_read(dir, "", name, &len);
	json = cJSON_ParseWithLength((const char *)buf, len);
	free(buf);
	if (json == NULL)
		fail_msg("%s is not valid JSON", name);
	return (json);
}

static const cJSON *
index_entry(const cJSON *index, const char *name)
{
	const cJSON	*e, *fn;

	cJSON_ArrayForEach(e, index) {
		fn = cJSON_GetObjectItemCaseSensitive(e, "fileName");
		if (cJSON_IsString(fn) && strcmp(fn->valuestring, name) == 0)
			return (e);
	}
	fail_msg("%s has no index.json entry", name);
	return (NULL);
}

static double
json_number(const cJSON *o, const char *key)
{
	const cJSON	*v = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(v))
		fail_msg("no number %s", key);
	return (v->valuedouble);
}

static void
assert_tags(const struct ota_image *im, const struct expect_tag *t,
    size_t n)
{
	size_t	 i;

	assert_int_equal(im->ntags, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(im->tags[i].id, t[i].id);
		assert_int_equal(im->tags[i].length, t[i].length);
	}
}

/* The tags must tile the body: each starts where the one before ended. */
static void
assert_tags_contiguous(const struct ota_image *im)
{
	size_t	 i, off = im->hdr.header_length;

	for (i = 0; i < im->ntags; i++) {
		assert_int_equal(im->tags[i].offset, off);
		assert_int_equal(im->tags[i].size, OTA_TAG_HEADER_LEN +
		    im->tags[i].length + (im->tags[i].telink ? 2 : 0));
		off += im->tags[i].size;
	}
	if (!im->tags_opaque)
		assert_int_equal(off, im->hdr.total_image_size);
}

/* Compare our tags with one reference parser's list ("0xf000" ids). */
static void
assert_tags_json(const struct ota_image *im, const cJSON *tags)
{
	const cJSON	*t;
	size_t		 i = 0;

	assert_int_equal(cJSON_GetArraySize(tags), im->ntags);
	cJSON_ArrayForEach(t, tags) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(t, "tagId");

		assert_true(cJSON_IsString(id));
		assert_int_equal(strtoul(id->valuestring, NULL, 16),
		    im->tags[i].id);
		assert_int_equal(json_number(t, "length"),
		    im->tags[i].length);
		i++;
	}
}

/* The header fields both reference parsers agree on. */
static void
assert_header_json(const struct ota_header *h, const cJSON *ref)
{
	assert_int_equal(json_number(ref, "headerVersion"), h->header_version);
	assert_int_equal(json_number(ref, "headerLength"), h->header_length);
	assert_int_equal(json_number(ref, "fieldControl"), h->field_control);
	assert_int_equal(json_number(ref, "manufacturerCode"),
	    h->manufacturer_code);
	assert_int_equal(json_number(ref, "imageType"), h->image_type);
	assert_int_equal(json_number(ref, "fileVersion"), h->file_version);
	assert_int_equal(json_number(ref, "stackVersion"), h->stack_version);
	assert_int_equal(json_number(ref, "totalImageSize"),
	    h->total_image_size);
	if (h->has_hw_versions) {
		assert_int_equal(json_number(ref, "minimumHardwareVersion"),
		    h->min_hw_version);
		assert_int_equal(json_number(ref, "maximumHardwareVersion"),
		    h->max_hw_version);
	}
}

/* What the index says about the file: fields, size and whole-file hash. */
static void
assert_index(const struct ota_image *im, const cJSON *e,
    const uint8_t *buf, size_t len)
{
	char		 text[OTA_HEADER_TEXT_MAX];
	char		 hex[SHA512_HEX_LEN + 1];
	const cJSON	*s;

	assert_int_equal(json_number(e, "manufacturerCode"),
	    im->hdr.manufacturer_code);
	assert_int_equal(json_number(e, "imageType"), im->hdr.image_type);
	assert_int_equal(json_number(e, "fileVersion"), im->hdr.file_version);
	assert_int_equal(json_number(e, "fileSize"), im->served_len);
	ota_header_text(&im->hdr, text);
	s = cJSON_GetObjectItemCaseSensitive(e, "otaHeaderString");
	assert_true(cJSON_IsString(s));
	assert_string_equal(text, s->valuestring);
	util_sha512_hex(buf, len, hex);
	s = cJSON_GetObjectItemCaseSensitive(e, "sha512");
	assert_true(cJSON_IsString(s));
	assert_string_equal(hex, s->valuestring);
}

static void
assert_fixture_fields(const struct fixture *f, const struct ota_image *im,
    size_t len)
{
	assert_int_equal(len, f->file_size);
	assert_int_equal(im->hdr.manufacturer_code, f->mfr);
	assert_int_equal(im->hdr.image_type, f->type);
	assert_int_equal(im->hdr.file_version, f->version);
	assert_int_equal(im->hdr.total_image_size, f->total);
	assert_int_equal(im->hdr.header_version, OTA_HEADER_VERSION);
	assert_int_equal(im->hdr.stack_version, OTA_STACK_PRO);
	assert_int_equal(im->hdr.header_length, f->hw ? 60 : 56);
	assert_int_equal(im->hdr.field_control,
	    f->hw ? OTA_FC_HW_VERSIONS : 0);
	assert_int_equal(im->hdr.has_hw_versions, f->hw);
	assert_int_equal(im->hdr.min_hw_version, f->hw_min);
	assert_int_equal(im->hdr.max_hw_version, f->hw_max);
	assert_false(im->hdr.has_security_credential);
	assert_false(im->hdr.has_destination);
	assert_int_equal(im->prefix_len, f->prefix);
	assert_int_equal(im->served_offset, f->prefix);
	assert_int_equal(im->served_len, f->total);
	assert_int_equal(im->trailing_len, f->trailing);
	assert_int_equal(im->container, f->container);
	assert_int_equal(im->ntags, f->ntags);
	assert_int_equal(im->tags_opaque, f->opaque);
	assert_int_equal(im->telink_tags, f->telink);
}

/*
 * Where a plain walk (6-byte tag headers, no special case) stops: the
 * total size when it tiles the image, else the offset it could not pass.
 * Written here again so the verdicts below do not rest on ota_parse.
 */
static size_t
plain_walk_end(const uint8_t *image, size_t hdrlen, size_t total)
{
	size_t		 off = hdrlen;
	uint32_t	 length;

	while (total - off >= 6) {
		length = image[off + 2] | image[off + 3] << 8 |
		    image[off + 4] << 16 | (uint32_t)image[off + 5] << 24;
		if (length > total - off - 6)
			break;
		off += 6 + length;
	}
	return (off);
}

/*
 * The files the two references read differently. Each verdict comes
 * from walking the bytes: the reading we keep is the one whose tags end
 * exactly at the total image size with sensible lengths.
 */
static void
assert_disputed(const struct fixture *f, const struct ota_image *im,
    const uint8_t *image, const cJSON *ref)
{
	/* zigpy's plain reading tiles the file exactly; zigbee-herdsman's
	 * Telink rule for 0xF000 skips 2 bytes and derails (Lumi after the
	 * third tag, Sonoff into a bogus 0x052A, Hue into 0xE158). */
	static const struct expect_tag lumi[] = { { 0x0000, 285504 },
	    { 0xF007, 128 }, { 0xF000, 18232 }, { 0xF006, 128 },
	    { 0xF001, 18460 }, { 0xF006, 128 } };
	static const struct expect_tag sonoff[] = { { 0x0000, 211028 },
	    { 0xF000, 23608 }, { 0xF001, 1322 } };
	static const struct expect_tag develco[] = { { 0xF000, 18 },
	    { 0x0000, 201942 }, { 0xF001, 18 }, { 0x0003, 16 } };
	static const struct expect_tag hue[] = { { 0xF000, 6720 },
	    { 0x0000, 385368 } };
	/* Telink SDK: the plain reading leaves 2 stray bytes, the 8-byte
	 * tag header ends exactly at the total (zigbee-herdsman is right). */
	static const struct expect_tag telink[] = { { 0xF000, 239664 } };
	/* Datek: a plain 0x0000 tag, then 32768 bytes without a tag header
	 * (read as one they claim 2483814528 bytes): served opaquely. */
	static const struct expect_tag datek[] = { { 0x0000, 265032 } };
	const cJSON	*zigpy = cJSON_GetObjectItemCaseSensitive(ref, "zigpy");
	size_t		 i, end, total = im->hdr.total_image_size;

	end = plain_walk_end(image, im->hdr.header_length, total);
	/* Only the Telink image and the two non-tag bodies fail to tile. */
	if (f->telink)
		assert_int_equal(end, total - 2);
	else if (f->opaque)
		assert_true(end < total);
	else
		assert_int_equal(end, total);

	if (strncmp(f->name, "20220607", 8) == 0)
		assert_tags(im, lumi, 6);
	else if (strncmp(f->name, "mini-zbdim", 10) == 0)
		assert_tags(im, sonoff, 3);
	else if (strncmp(f->name, "ED - HA", 7) == 0)
		assert_tags(im, develco, 4);
	else if (strncmp(f->name, "PLUG_UK_T", 9) == 0) {
		assert_tags(im, telink, 1);
		assert_true(im->tags[0].telink);
		assert_int_equal(im->tags[0].size, 239672);
	} else if (strncmp(f->name, "dimmerpille", 11) == 0) {
		assert_tags(im, datek, 1);
		assert_string_equal(im->tag_warning, "data at offset 265094 "
		    "is not a tag (id 0x940C, length 2483814528 exceeds the "
		    "image); served opaquely");
	} else if (strncmp(f->name, "ModuLum", 7) == 0) {
		/* Old Hue .sbl-ota: no tag list at all. */
		assert_string_equal(im->tag_warning, "data at offset 56 is "
		    "not a tag (id 0x002A, length 1711278849 exceeds the "
		    "image); served opaquely");
	} else if (strncmp(f->name, "100B-0114", 9) == 0) {
		for (i = 0; i < 2; i++) {
			assert_int_equal(im->tags[i].id, hue[i].id);
			assert_int_equal(im->tags[i].length, hue[i].length);
		}
		for (i = 2; i < im->ntags; i++)
			assert_int_equal(im->tags[i].id, 0xF100 + i - 2);
		assert_tags_json(im, cJSON_GetObjectItemCaseSensitive(zigpy,
		    "tags"));
	} else
		fail_msg("%s: no verdict", f->name);
}

static void
check_fixture(const char *dir, const struct fixture *f, const cJSON *index,
    const cJSON *refs)
{
	const cJSON	*ref, *zhc;
	uint8_t		*buf;
	size_t		 len;

	print_message("# %s\n", f->name);
	buf = fixture_read(dir, "images/", f->name, &len);
	if (ota_parse(buf, len, &img, err, sizeof(err)) == -1)
		fail_msg("%s: %s", f->name, err);
	assert_fixture_fields(f, &img, len);
	assert_tags_contiguous(&img);
	assert_index(&img, index_entry(index, f->name), buf, len);

	ref = cJSON_GetObjectItemCaseSensitive(refs, f->name);
	assert_non_null(ref);
	assert_int_equal(json_number(ref, "magicOffset"), img.prefix_len);
	assert_header_json(&img.hdr, cJSON_GetObjectItemCaseSensitive(ref,
	    "header"));
	zhc = cJSON_GetObjectItemCaseSensitive(ref, "zhc");
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(ref, "agree"))) {
		assert_false(f->disputed);
		assert_tags_json(&img, cJSON_GetObjectItemCaseSensitive(zhc,
		    "tags"));
		assert_int_equal(json_number(zhc, "bytesAfterTotalImageSize"),
		    img.trailing_len);
	} else {
		assert_true(f->disputed);
		assert_disputed(f, &img, buf + img.prefix_len, ref);
	}
	free(buf);
}

static void
test_fixtures(void **state)
{
	const char	*dir = fixture_dir();
	cJSON		*index, *refs;
	size_t		 i;

	(void)state;
	if (dir == NULL)
		skip();
	index = fixture_json(dir, "index.json");
	refs = fixture_json(dir, "reference-parsers.json");
	for (i = 0; i < NFIXTURES; i++)
		check_fixture(dir, &fixtures[i], index, refs);
	cJSON_Delete(index);
	cJSON_Delete(refs);
}

/* Published truncated: the checksum matches, the parse must fail. */
static void
test_fixture_truncated(void **state)
{
	const char	*dir = fixture_dir();
	cJSON		*index;
	uint8_t		*buf;
	size_t		 len;
	char		 hex[SHA512_HEX_LEN + 1];
	const cJSON	*e;

	(void)state;
	if (dir == NULL)
		skip();
	buf = fixture_read(dir, "images/", TRUNCATED_NAME, &len);
	index = fixture_json(dir, "index.json");
	e = index_entry(index, TRUNCATED_NAME);
	util_sha512_hex(buf, len, hex);
	assert_string_equal(hex,
	    cJSON_GetObjectItemCaseSensitive(e, "sha512")->valuestring);
	assert_int_equal(ota_parse(buf, len, &img, err, sizeof(err)), -1);
	assert_string_equal(err, "file truncated: total image size is "
	    "278830 bytes but only 92222 follow the magic at offset 0");
	cJSON_Delete(index);
	free(buf);
}

/* Every image is listed in the table: none left untested. */
static void
test_fixture_table_complete(void **state)
{
	const char	*dir = fixture_dir();
	cJSON		*refs;
	const cJSON	*r;
	size_t		 i, n = 0;

	(void)state;
	if (dir == NULL)
		skip();
	refs = fixture_json(dir, "reference-parsers.json");
	cJSON_ArrayForEach(r, refs) {
		if (r->string[0] == '_' ||
		    strcmp(r->string, TRUNCATED_NAME) == 0)
			continue;
		for (i = 0; i < NFIXTURES; i++)
			if (strcmp(fixtures[i].name, r->string) == 0)
				break;
		if (i == NFIXTURES)
			fail_msg("%s is not in the test table", r->string);
		n++;
	}
	assert_int_equal(n, NFIXTURES);
	cJSON_Delete(refs);
}

/* Hand-built files. */

struct tbuf {
	uint8_t		 b[TEST_BUF_MAX];
	size_t		 len;
};

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void
put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

/* A header at the end of T with HDRLEN bytes (zeros past 56). */
static uint8_t *
tb_header(struct tbuf *t, uint16_t fc, uint16_t hdrlen, uint32_t total)
{
	uint8_t	*h = t->b + t->len;

	memset(h, 0, hdrlen);
	put32(h, OTA_MAGIC);
	put16(h + 4, OTA_HEADER_VERSION);
	put16(h + 6, hdrlen);
	put16(h + 8, fc);
	put16(h + 10, 0x1234);
	put16(h + 12, 0x5678);
	put32(h + 14, 0x01020304);
	put16(h + 18, OTA_STACK_PRO);
	memcpy(h + 20, "synthetic", 9);
	put32(h + 52, total);
	t->len += hdrlen < OTA_HEADER_MIN ? OTA_HEADER_MIN : hdrlen;
	return (h);
}

static void
tb_tag(struct tbuf *t, uint16_t id, uint32_t length, size_t data)
{
	put16(t->b + t->len, id);
	put32(t->b + t->len + 2, length);
	memset(t->b + t->len + 6, 0xA5, data);
	t->len += 6 + data;
}

static void
tb_bytes(struct tbuf *t, uint8_t c, size_t n)
{
	memset(t->b + t->len, c, n);
	t->len += n;
}

static void
assert_rejected(const struct tbuf *t, const char *why)
{
	assert_int_equal(ota_parse(t->b, t->len, &img, err, sizeof(err)), -1);
	assert_string_equal(err, why);
}

static void
assert_accepted(const struct tbuf *t)
{
	if (ota_parse(t->b, t->len, &img, err, sizeof(err)) == -1)
		fail_msg("rejected: %s", err);
}

static void
test_no_magic(void **state)
{
	struct tbuf	 t = { .len = 0 };
	const uint8_t	 partial[] = { 0, 0, 0x1E, 0xF1, 0xEE };

	(void)state;
	assert_rejected(&t, "empty file");
	tb_bytes(&t, 0x0B, 100);
	assert_rejected(&t, "no OTA upgrade file identifier "
	    "(magic 0x0BEEF11E) in 100 bytes");
	/* The magic cut short at the end of the file is no magic. */
	assert_int_equal(ota_parse(partial, sizeof(partial), &img, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "no OTA upgrade file identifier "
	    "(magic 0x0BEEF11E) in 5 bytes");
}

static void
test_truncated_header(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	tb_bytes(&t, 'x', 7);
	tb_header(&t, 0, 56, 62);
	t.len = 7 + 30;
	assert_rejected(&t, "truncated header: 30 bytes after the magic at "
	    "offset 7, a header needs 56");
}

static void
test_bad_header_version(void **state)
{
	struct tbuf	 t = { .len = 0 };
	uint8_t		*h;

	(void)state;
	h = tb_header(&t, 0, 56, 62);
	tb_tag(&t, 0, 0, 0);
	put16(h + 4, 0x0200);
	assert_rejected(&t, "unsupported header version 0x0200 "
	    "(expected 0x0100)");
}

static void
test_header_length_range(void **state)
{
	struct tbuf	 t = { .len = 0 };
	uint8_t		*h;

	(void)state;
	h = tb_header(&t, 0, 56, 62);
	tb_tag(&t, 0, 0, 0);
	put16(h + 6, 55);
	assert_rejected(&t, "header length 55 is below the minimum of "
	    "56 bytes");
	put16(h + 6, 300);
	put32(h + 52, 300);
	assert_rejected(&t, "header length 300 runs past the end of the "
	    "file (62 bytes from the magic)");
	put16(h + 6, 62);
	put32(h + 52, 61);
	assert_rejected(&t, "total image size 61 is smaller than the header "
	    "length 62");
}

static void
test_optional_past_header(void **state)
{
	struct tbuf	 t = { .len = 0 };
	uint8_t		*h;

	(void)state;
	h = tb_header(&t, OTA_FC_HW_VERSIONS, 56, 62);
	tb_tag(&t, 0, 0, 0);
	assert_rejected(&t, "optional fields run past the header: field "
	    "control 0x0004 needs a 60-byte header, header length is 56");
	put16(h + 8, OTA_FC_SECURITY_CRED | OTA_FC_DESTINATION |
	    OTA_FC_HW_VERSIONS);
	put16(h + 6, 68);
	assert_rejected(&t, "optional fields run past the header: field "
	    "control 0x0007 needs a 69-byte header, header length is 68");
}

static void
test_file_shorter_than_total(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	tb_bytes(&t, 0, 3);
	tb_header(&t, 0, 56, 100);
	tb_tag(&t, 0, 38, 20);
	assert_rejected(&t, "file truncated: total image size is 100 bytes "
	    "but only 82 follow the magic at offset 3");
}

static void
test_tag_past_end(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	tb_header(&t, 0, 56, 100);
	tb_tag(&t, 0x0000, 10, 10);
	tb_tag(&t, 0xF001, 30, 22);
	assert_int_equal(t.len, 100);
	assert_rejected(&t, "tag 0xF001 at offset 72: length 30 runs past "
	    "the end of the file");

	/* Trailing bytes that would hold it: the total size is wrong. */
	tb_bytes(&t, 0, 8);
	assert_rejected(&t, "tags end 8 bytes after the total image size "
	    "100: tag 0xF001 at offset 72 has length 30");
}

static void
test_tags_end_before_total(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	tb_header(&t, 0, 56, 100);
	tb_tag(&t, 0x0000, 34, 34);
	tb_bytes(&t, 0, 4);
	assert_rejected(&t, "tags end 4 bytes before the total image "
	    "size 100");
}

static void
test_too_many_tags(void **state)
{
	struct tbuf	 t = { .len = 0 };
	uint8_t		*h;
	size_t		 i;

	(void)state;
	h = tb_header(&t, 0, 56, 56 + 6 * OTA_MAX_TAGS);
	for (i = 0; i < OTA_MAX_TAGS; i++)
		tb_tag(&t, i, 0, 0);
	assert_accepted(&t);
	assert_int_equal(img.ntags, OTA_MAX_TAGS);
	assert_int_equal(img.tags[OTA_MAX_TAGS - 1].id, OTA_MAX_TAGS - 1);

	tb_tag(&t, 0, 0, 0);
	put32(h + 52, t.len);
	assert_rejected(&t, "too many tags: more than 512");
}

/* A body that is not a tag list from its first byte, as Hue SBL. */
static void
test_opaque_body(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	tb_header(&t, 0, 56, 200);
	tb_tag(&t, 0x002A, 0x66000001, 138);
	assert_accepted(&t);
	assert_true(img.tags_opaque);
	assert_int_equal(img.ntags, 0);
	assert_int_equal(img.served_len, 200);
	assert_string_equal(img.tag_warning, "data at offset 56 is not a "
	    "tag (id 0x002A, length 1711276033 exceeds the image); served "
	    "opaquely");

	/* The smallest length that could not fit as the only tag. */
	t.len = 0;
	tb_header(&t, 0, 56, 200);
	tb_tag(&t, 0x0000, 139, 138);
	assert_accepted(&t);
	assert_true(img.tags_opaque);
	t.len = 0;
	tb_header(&t, 0, 56, 200);
	tb_tag(&t, 0x0000, 138, 138);
	assert_accepted(&t);
	assert_false(img.tags_opaque);
}

static void
test_telink_tag(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	/* 2 info bytes after the tag header, not counted in its length. */
	tb_header(&t, 0, 56, 56 + 8 + 40);
	tb_tag(&t, OTA_TAG_TELINK, 40, 42);
	assert_accepted(&t);
	assert_true(img.telink_tags);
	assert_int_equal(img.ntags, 1);
	assert_true(img.tags[0].telink);
	assert_int_equal(img.tags[0].size, 48);

	/* The same id used as a plain manufacturer tag, then another. */
	t.len = 0;
	tb_header(&t, 0, 56, 56 + 6 + 40 + 6 + 2);
	tb_tag(&t, OTA_TAG_TELINK, 40, 40);
	tb_tag(&t, 0xF001, 2, 2);
	assert_accepted(&t);
	assert_false(img.telink_tags);
	assert_int_equal(img.ntags, 2);
	assert_false(img.tags[0].telink);
	assert_int_equal(img.tags[1].id, 0xF001);

	/* Neither reading fits: the plain reading's error is reported. */
	t.len = 0;
	tb_header(&t, 0, 56, 56 + 6 + 40 + 1);
	tb_tag(&t, OTA_TAG_TELINK, 40, 41);
	assert_rejected(&t, "tags end 1 bytes before the total image "
	    "size 103");
}

static void
test_optional_fields(void **state)
{
	static const uint8_t dest[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct tbuf	 t = { .len = 0 };
	uint8_t		*h;

	(void)state;
	h = tb_header(&t, OTA_FC_SECURITY_CRED | OTA_FC_DESTINATION |
	    OTA_FC_HW_VERSIONS, 69, 69 + 6);
	h[56] = 3;
	memcpy(h + 57, dest, 8);
	put16(h + 65, 0x0102);
	put16(h + 67, 0x0304);
	tb_tag(&t, 0, 0, 0);
	assert_accepted(&t);
	assert_true(img.hdr.has_security_credential);
	assert_int_equal(img.hdr.security_credential_version, 3);
	assert_true(img.hdr.has_destination);
	assert_memory_equal(img.hdr.destination, dest, 8);
	assert_true(img.hdr.has_hw_versions);
	assert_int_equal(img.hdr.min_hw_version, 0x0102);
	assert_int_equal(img.hdr.max_hw_version, 0x0304);
	assert_int_equal(img.tags[0].offset, 69);
}

/* Sub-elements start at the header length, even past known fields. */
static void
test_long_header(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	tb_header(&t, 0, 64, 64 + 6 + 3);
	tb_tag(&t, 0x0003, 3, 3);
	assert_accepted(&t);
	assert_int_equal(img.ntags, 1);
	assert_int_equal(img.tags[0].offset, 64);
	assert_int_equal(img.tags[0].id, 0x0003);

	/* A header alone is an image without sub-elements. */
	t.len = 0;
	tb_header(&t, 0, 56, 56);
	assert_accepted(&t);
	assert_int_equal(img.ntags, 0);
	assert_false(img.tags_opaque);
}

static void
test_containers(void **state)
{
	struct tbuf	 t = { .len = 0 };

	(void)state;
	/* Only the first magic counts, after any prefix. */
	tb_bytes(&t, 'p', 10);
	tb_header(&t, 0, 56, 56 + 6 + 4);
	tb_tag(&t, 0, 4, 4);
	tb_bytes(&t, 't', 5);
	assert_accepted(&t);
	assert_int_equal(img.prefix_len, 10);
	assert_int_equal(img.served_offset, 10);
	assert_int_equal(img.served_len, 66);
	assert_int_equal(img.trailing_len, 5);
	assert_int_equal(img.container, OTA_CONTAINER_UNKNOWN);

	/* IKEA: "NGIS", then the image's offset and size at 16 and 20. */
	t.len = 0;
	tb_bytes(&t, 0, 32);
	memcpy(t.b, "NGIS", 4);
	put32(t.b + 16, 32);
	put32(t.b + 20, 66);
	tb_header(&t, 0, 56, 66);
	tb_tag(&t, 0, 4, 4);
	tb_bytes(&t, 0, 16);
	assert_accepted(&t);
	assert_int_equal(img.container, OTA_CONTAINER_IKEA);
	assert_string_equal(ota_container_name(img.container), "ikea");
	put32(t.b + 16, 31);
	assert_accepted(&t);
	assert_int_equal(img.container, OTA_CONTAINER_UNKNOWN);

	/* Legrand: u32 image size before, 17 bytes after. */
	t.len = 0;
	put32(t.b, 66);
	t.len = 4;
	tb_header(&t, 0, 56, 66);
	tb_tag(&t, 0, 4, 4);
	tb_bytes(&t, 0, 17);
	assert_accepted(&t);
	assert_int_equal(img.container, OTA_CONTAINER_LEGRAND);
	assert_int_equal(img.trailing_len, 17);
}

/* Every cut of a valid file short of its total size is refused. */
static void
test_every_truncation(void **state)
{
	struct ota_make_params	 p = { .manufacturer_code = 1,
	    .total_size = 300, .has_hw_versions = 1, .max_hw_version = 9 };
	uint8_t			*buf, *cut;
	size_t			 len, n;

	(void)state;
	assert_int_equal(ota_make(&p, &buf, &len), 0);
	for (n = 0; n < len; n++) {
		/* A copy of exactly N bytes, so ASan sees any overread. */
		cut = malloc(n ? n : 1);
		assert_non_null(cut);
		memcpy(cut, buf, n);
		assert_int_equal(ota_parse(cut, n, &img, err, sizeof(err)),
		    -1);
		assert_true(err[0] != '\0');
		free(cut);
	}
	assert_int_equal(ota_parse(buf, len, &img, err, sizeof(err)), 0);
	free(buf);
}

static void
test_make_roundtrip(void **state)
{
	struct ota_make_params	 p = { .manufacturer_code = 0x117C,
	    .image_type = 0xFFC0, .file_version = 0xDEADBEEF,
	    .stack_version = OTA_STACK_PRO, .total_size = 4096,
	    .header_string = "zotad test image", .has_hw_versions = 1,
	    .min_hw_version = 1, .max_hw_version = 0x0A0B, .seed = 7 };
	uint8_t			*a, *b;
	size_t			 alen, blen;
	char			 text[OTA_HEADER_TEXT_MAX];

	(void)state;
	assert_int_equal(ota_make(&p, &a, &alen), 0);
	assert_int_equal(alen, 4096);
	assert_int_equal(ota_parse(a, alen, &img, err, sizeof(err)), 0);
	assert_int_equal(img.hdr.manufacturer_code, 0x117C);
	assert_int_equal(img.hdr.image_type, 0xFFC0);
	assert_int_equal(img.hdr.file_version, 0xDEADBEEF);
	assert_int_equal(img.hdr.stack_version, OTA_STACK_PRO);
	assert_int_equal(img.hdr.total_image_size, 4096);
	assert_int_equal(img.hdr.header_length, 60);
	assert_true(img.hdr.has_hw_versions);
	assert_int_equal(img.hdr.min_hw_version, 1);
	assert_int_equal(img.hdr.max_hw_version, 0x0A0B);
	ota_header_text(&img.hdr, text);
	assert_string_equal(text, "zotad test image");
	assert_int_equal(img.ntags, 1);
	assert_int_equal(img.tags[0].id, OTA_TAG_UPGRADE_IMAGE);
	assert_int_equal(img.tags[0].length, 4096 - 60 - 6);
	assert_int_equal(img.prefix_len + img.trailing_len, 0);

	/* The filler depends on the seed alone. */
	assert_int_equal(ota_make(&p, &b, &blen), 0);
	assert_memory_equal(a, b, alen);
	free(b);
	p.seed = 8;
	assert_int_equal(ota_make(&p, &b, &blen), 0);
	assert_memory_not_equal(a + 66, b + 66, alen - 66);
	free(b);
	free(a);
}

static void
test_make_limits(void **state)
{
	struct ota_make_params	 p = { .total_size = 62 };
	uint8_t			*buf = NULL;
	size_t			 len;

	(void)state;
	assert_int_equal(ota_make_min_size(&p), 62);
	assert_int_equal(ota_make(&p, &buf, &len), 0);
	assert_int_equal(ota_parse(buf, len, &img, err, sizeof(err)), 0);
	assert_int_equal(img.tags[0].length, 0);
	free(buf);

	/* A 32-byte string fills the field with no NUL. */
	p.header_string = "0123456789abcdef0123456789ABCDEF";
	assert_int_equal(ota_make(&p, &buf, &len), 0);
	assert_int_equal(ota_parse(buf, len, &img, err, sizeof(err)), 0);
	assert_string_equal(img.hdr.header_string, p.header_string);
	free(buf);

	p.total_size = 61;
	errno = 0;
	assert_int_equal(ota_make(&p, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
	p.total_size = 100;
	p.header_string = "0123456789abcdef0123456789ABCDEF!";
	assert_int_equal(ota_make(&p, &buf, &len), -1);
	p.header_string = NULL;
	p.has_hw_versions = 1;
	assert_int_equal(ota_make_min_size(&p), 66);
	p.min_hw_version = 2;
	p.max_hw_version = 1;
	assert_int_equal(ota_make(&p, &buf, &len), -1);
	assert_int_equal(errno, EINVAL);
}

static void
test_header_text(void **state)
{
	struct ota_header	 h;
	char			 text[OTA_HEADER_TEXT_MAX];

	(void)state;
	/* NULs anywhere are dropped; what follows them is kept. */
	memset(&h, 0, sizeof(h));
	memcpy(h.header_string, "ab\0cd\n", 6);
	assert_int_equal(ota_header_text(&h, text), 5);
	assert_string_equal(text, "abcd\n");

	/* Valid UTF-8 passes; each invalid sequence becomes one U+FFFD. */
	memset(&h, 0, sizeof(h));
	memcpy(h.header_string, "\xc3\xa9\xdd.\xb4\xe2\x82\xf0\x9f\x98\x80"
	    "\xff", 13);
	ota_header_text(&h, text);
	assert_string_equal(text, "\xc3\xa9\xef\xbf\xbd.\xef\xbf\xbd"
	    "\xef\xbf\xbd\xf0\x9f\x98\x80\xef\xbf\xbd");

	/* Decoding comes first: a NUL inside a sequence breaks it. */
	memset(&h, 0, sizeof(h));
	memcpy(h.header_string, "\xc3\0\xa9", 3);
	ota_header_text(&h, text);
	assert_string_equal(text, "\xef\xbf\xbd\xef\xbf\xbd");

	/* 32 bytes of junk fit the output buffer. */
	memset(h.header_string, 0xff, OTA_HEADER_STRING_LEN);
	assert_int_equal(ota_header_text(&h, text),
	    OTA_HEADER_TEXT_MAX - 1);
}

static void
test_image_json(void **state)
{
	struct ota_make_params	 p = { .manufacturer_code = 0x1021,
	    .image_type = 0x000F, .file_version = 70, .total_size = 200,
	    .header_string = "hi", .has_hw_versions = 1, .max_hw_version = 3,
	    .stack_version = OTA_STACK_PRO };
	uint8_t			*buf;
	size_t			 len;
	cJSON			*o;
	const cJSON		*tags, *t;

	(void)state;
	assert_int_equal(ota_make(&p, &buf, &len), 0);
	assert_int_equal(ota_parse(buf, len, &img, err, sizeof(err)), 0);
	o = ota_image_json(&img);
	assert_non_null(o);
	assert_int_equal(json_number(o, "manufacturerCode"), 0x1021);
	assert_int_equal(json_number(o, "imageType"), 0x000F);
	assert_int_equal(json_number(o, "fileVersion"), 70);
	assert_int_equal(json_number(o, "fileSize"), 200);
	assert_int_equal(json_number(o, "headerLength"), 60);
	assert_int_equal(json_number(o, "fieldControl"), 4);
	assert_int_equal(json_number(o, "hardwareVersionMin"), 0);
	assert_int_equal(json_number(o, "hardwareVersionMax"), 3);
	assert_int_equal(json_number(o, "servedLength"), 200);
	assert_int_equal(json_number(o, "prefixBytes"), 0);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(o,
	    "otaHeaderString")->valuestring, "hi");
	assert_null(cJSON_GetObjectItemCaseSensitive(o, "destination"));
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o,
	    "tagsOpaque")));
	tags = cJSON_GetObjectItemCaseSensitive(o, "tags");
	assert_int_equal(cJSON_GetArraySize(tags), 1);
	t = cJSON_GetArrayItem(tags, 0);
	assert_int_equal(json_number(t, "tagId"), 0);
	assert_int_equal(json_number(t, "length"), 200 - 66);
	assert_int_equal(json_number(t, "offset"), 60);
	cJSON_Delete(o);
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_truncated),
		cmocka_unit_test(test_fixture_table_complete),
		cmocka_unit_test(test_no_magic),
		cmocka_unit_test(test_truncated_header),
		cmocka_unit_test(test_bad_header_version),
		cmocka_unit_test(test_header_length_range),
		cmocka_unit_test(test_optional_past_header),
		cmocka_unit_test(test_file_shorter_than_total),
		cmocka_unit_test(test_tag_past_end),
		cmocka_unit_test(test_tags_end_before_total),
		cmocka_unit_test(test_too_many_tags),
		cmocka_unit_test(test_opaque_body),
		cmocka_unit_test(test_telink_tag),
		cmocka_unit_test(test_optional_fields),
		cmocka_unit_test(test_long_header),
		cmocka_unit_test(test_containers),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_make_roundtrip),
		cmocka_unit_test(test_make_limits),
		cmocka_unit_test(test_header_text),
		cmocka_unit_test(test_image_json),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
