/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "log.h"
#include "otafile.h"
#include "otaindex.h"
#include "util.h"

#define DEFAULT_FIXTURES	"../shared/fixtures/zigbee-ota"

static char	 errbuf[512];

/* The fixture directory, or NULL (and the test skipped) when absent. */
static const char *
fixtures(void)
{
	static char	 dir[PATH_MAX / 2];
	const char	*env = getenv("ZOTAD_FIXTURES");
	char		 probe[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s",
	    env != NULL && *env != '\0' ? env : DEFAULT_FIXTURES);
	snprintf(probe, sizeof(probe), "%s/index.json", dir);
	if (access(probe, R_OK) != 0)
		return (NULL);
	return (dir);
}

#define NEED_FIXTURES(d) do {						\
	if (((d) = fixtures()) == NULL) {				\
		print_message("fixtures not found (set ZOTAD_FIXTURES)\n"); \
		skip();							\
	}								\
} while (0)

static struct otaindex *
load_fixture(const char *dir, const char *file, enum otaindex_source src)
{
	struct otaindex_opts	 opts;
	struct otaindex		*idx;
	char			 path[PATH_MAX];

	memset(&opts, 0, sizeof(opts));
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	opts.source = src;
	opts.name = file;
	idx = otaindex_load(path, &opts, errbuf, sizeof(errbuf));
	if (idx == NULL)
		fail_msg("%s", errbuf);
	return (idx);
}

static struct otaindex *
parse_str(const char *json, enum otaindex_source src)
{
	struct otaindex_opts	 opts;

	memset(&opts, 0, sizeof(opts));
	opts.source = src;
	opts.name = "test.json";
	return (otaindex_parse(json, strlen(json), &opts, errbuf,
	    sizeof(errbuf)));
}

static const struct otaindex_entry *
find_name(const struct otaindex *idx, const char *name)
{
	size_t	 i;

	for (i = 0; i < idx->nentries; i++)
		if (idx->entries[i].file_name != NULL &&
		    strcmp(idx->entries[i].file_name, name) == 0)
			return (&idx->entries[i]);
	fail_msg("no entry %s", name);
	return (NULL);
}

static size_t
count_has(const struct otaindex *idx, unsigned int bit)
{
	size_t	 i, n = 0;

	for (i = 0; i < idx->nentries; i++)
		if (idx->entries[i].has & bit)
			n++;
	return (n);
}

static size_t
count_str(const struct otaindex *idx, size_t off)
{
	size_t	 i, n = 0;

	for (i = 0; i < idx->nentries; i++)
		if (*(char *const *)((const char *)&idx->entries[i] + off) !=
		    NULL)
			n++;
	return (n);
}

static void
test_parse_main_index(void **state)
{
	const struct otaindex_entry	*e;
	struct otaindex			*idx;
	const char			*dir;
	size_t				 i;

	(void)state;
	NEED_FIXTURES(dir);
	idx = load_fixture(dir, "index.json", OTAINDEX_SRC_MAIN);
	assert_int_equal(idx->total, 897);
	assert_int_equal(idx->nentries, 897);
	assert_int_equal(idx->nskips, 0);
	for (i = 0; i < idx->nentries; i++) {
		assert_int_equal(idx->entries[i].position, i);
		assert_int_equal(idx->entries[i].source, OTAINDEX_SRC_MAIN);
		assert_non_null(idx->entries[i].ota_header_string);
	}
	/* The optional field counts the fixture README documents. */
	assert_int_equal(count_str(idx, offsetof(struct otaindex_entry,
	    original_url)), 402);
	assert_int_equal(count_str(idx, offsetof(struct otaindex_entry,
	    model_id)), 225);
	assert_int_equal(count_str(idx, offsetof(struct otaindex_entry,
	    release_notes)), 200);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_HW_MIN), 46);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_HW_MAX), 46);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_MIN_FILE_VERSION), 33);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_MAX_FILE_VERSION), 32);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_FORCE), 0);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_SHA512), 897);

	e = &idx->entries[0];
	assert_string_equal(e->file_name,
	    "MainsPowerOutlet_JN5169_PCB_ARC_OTA_0x1409_v22.ota");
	assert_int_equal(e->file_version, 22);
	assert_int_equal(e->file_size, 173726);
	assert_int_equal(e->image_type, 5129);
	assert_int_equal(e->manufacturer_code, 4636);
	assert_string_equal(e->ota_header_string,
	    "DoubleSocket50AU--UNENC000JN5169");
	assert_memory_equal(e->sha512, "7b1c6733fbf0f081", 16);
	assert_non_null(strstr(e->url, "/images/Aurora/"));

	e = find_name(idx, "10F2-7B2A-0000-0005-02010230-m7b-r0.ota.zigbee");
	assert_true(e->has & OTAINDEX_HAS_HW_MIN);
	assert_int_equal(e->hw_min, 0);
	assert_int_equal(e->hw_max, 5);
	e = find_name(idx,
	    "1662693814-oem_mg21_zg_nh_win_cover_relay_OTA_1.0.7.bin");
	assert_int_equal(e->nmanufacturer_names, 1);
	assert_string_equal(e->manufacturer_names[0], "_TZ3000_1dd0d5yi");
	e = find_name(idx,
	    "100B-0114-01002A00-ConfLightBLE-Lamps-EFR32MG21.zigbee");
	assert_int_equal(e->min_file_version, 16786690);
	assert_false(e->has & OTAINDEX_HAS_MAX_FILE_VERSION);
	e = find_name(idx, "ModuLum-ATmega_010B_5.130.1.30000_0012.sbl-ota");
	assert_int_equal(e->max_file_version, 1107326255);
	e = find_name(idx, "GL-B-007P_V17_OTAV7_20210305_100%.ota");
	assert_string_equal(e->model_id, "GL-B-007P");
	assert_non_null(strstr(e->url, "100%25.ota"));
	otaindex_free(idx);
}

static void
test_parse_downgrade_index(void **state)
{
	struct otaindex	*idx;
	const char	*dir;

	(void)state;
	NEED_FIXTURES(dir);
	idx = load_fixture(dir, "index1.json", OTAINDEX_SRC_DOWNGRADE);
	assert_int_equal(idx->nentries, 339);
	assert_int_equal(idx->nskips, 0);
	assert_int_equal(idx->entries[338].position, 338);
	assert_int_equal(idx->entries[0].source, OTAINDEX_SRC_DOWNGRADE);
	assert_int_equal(count_str(idx, offsetof(struct otaindex_entry,
	    original_url)), 154);
	assert_int_equal(count_str(idx, offsetof(struct otaindex_entry,
	    model_id)), 69);
	assert_int_equal(count_str(idx, offsetof(struct otaindex_entry,
	    release_notes)), 78);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_HW_MIN), 33);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_MIN_FILE_VERSION), 18);
	assert_int_equal(count_has(idx, OTAINDEX_HAS_MAX_FILE_VERSION), 1);
	assert_int_equal(find_name(idx,
	    "100B-0114-01002800-ConfLightBLE-Lamps-EFR32MG21.zigbee")->
	    file_version, 16787456);
	otaindex_free(idx);
}

/* Every entry printed back equals the entry in the file, field by field. */
static void
test_entry_json_round_trip(void **state)
{
	struct otaindex	*idx;
	const char	*dir;
	char		 path[PATH_MAX];
	uint8_t		*buf;
	size_t		 len, i;
	cJSON		*root, *orig, *mine;

	(void)state;
	NEED_FIXTURES(dir);
	idx = load_fixture(dir, "index.json", OTAINDEX_SRC_MAIN);
	snprintf(path, sizeof(path), "%s/index.json", dir);
	assert_int_equal(util_read_file(path, OTAINDEX_MAX_BYTES, &buf,
	    &len), 0);
	root = otaindex_json_parse((char *)buf, len, errbuf, sizeof(errbuf));
	assert_non_null(root);
	for (i = 0; i < idx->nentries; i++) {
		orig = cJSON_GetArrayItem(root, (int)i);
		mine = otaindex_entry_to_json(&idx->entries[i]);
		assert_non_null(mine);
		if (!cJSON_Compare(orig, mine, 1))
			fail_msg("entry %zu differs", i);
		cJSON_Delete(mine);
	}
	cJSON_Delete(root);
	free(buf);
	otaindex_free(idx);
}

#define GOOD(v)	"{\"url\":\"https://h/a.ota\",\"fileVersion\":" #v \
	",\"imageType\":1,\"manufacturerCode\":2}"

static void
test_bad_entries_skipped(void **state)
{
	static const struct {
		const char	*entry;
		const char	*reason;
	} bad[] = {
		{ "42", "not a JSON object" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":\"1\","
		  "\"imageType\":1,\"manufacturerCode\":2}",
		  "fileVersion: not a number" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":-1,"
		  "\"imageType\":1,\"manufacturerCode\":2}",
		  "fileVersion: -1 is not an integer" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1.5,"
		  "\"imageType\":1,\"manufacturerCode\":2}",
		  "fileVersion: 1.5 is not an integer" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":4294967296,"
		  "\"imageType\":1,\"manufacturerCode\":2}",
		  "from 0 to 4294967295" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,"
		  "\"imageType\":65536,\"manufacturerCode\":2}",
		  "imageType: 65536 is not an integer from 0 to 65535" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,"
		  "\"imageType\":1}", "manufacturerCode is missing" },
		{ "{\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2}", "url is missing" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,"
		  "\"fileVersion\":2,\"imageType\":1,\"manufacturerCode\":2}",
		  "fileVersion appears twice" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"sha512\":\"abc\"}",
		  "sha512: 3 characters, not 128" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"manufacturerName\":\"_TZ3000\"}",
		  "manufacturerName: not an array" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"manufacturerName\":[\"a\",7]}",
		  "manufacturerName: element 1: not a string" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"hardwareVersionMin\":5,"
		  "\"hardwareVersionMax\":4}",
		  "hardwareVersionMin 5 is above" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"minFileVersion\":9,"
		  "\"maxFileVersion\":8}", "minFileVersion 9 is above" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"modelId\":\"a\\u0001b\"}",
		  "modelId: control character 0x01" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"modelId\":\"\xc3\x28\"}",
		  "modelId: invalid UTF-8 at byte 0" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"force\":1}",
		  "force: not true or false" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"fileName\":\"../x\"}",
		  "fileName: \"../x\" is not a file name" },
		{ "{\"url\":\"https://h/a\",\"fileVersion\":1,\"imageType\":1,"
		  "\"manufacturerCode\":2,\"fileSize\":10}",
		  "fileSize: 10 is smaller than an OTA header" },
	};
	const size_t	 nbad = sizeof(bad) / sizeof(bad[0]);
	struct otaindex	*idx;
	char		*json, *w;
	size_t		 i, cap = 64;

	(void)state;
	for (i = 0; i < nbad; i++)
		cap += strlen(bad[i].entry) + 1;
	cap += 2 * strlen(GOOD(1));
	assert_non_null(json = malloc(cap));
	w = json + sprintf(json, "[" GOOD(1));
	for (i = 0; i < nbad; i++)
		w += sprintf(w, ",%s", bad[i].entry);
	sprintf(w, "," GOOD(2) "]");

	idx = parse_str(json, OTAINDEX_SRC_MAIN);
	assert_non_null(idx);
	assert_int_equal(idx->total, nbad + 2);
	assert_int_equal(idx->nentries, 2);
	assert_int_equal(idx->nskips, nbad);
	assert_int_equal(idx->entries[0].position, 0);
	assert_int_equal(idx->entries[1].position, nbad + 1);
	assert_int_equal(idx->entries[1].file_version, 2);
	for (i = 0; i < nbad; i++) {
		assert_int_equal(idx->skips[i].position, i + 1);
		if (strstr(idx->skips[i].reason, bad[i].reason) == NULL)
			fail_msg("entry %zu: \"%s\" lacks \"%s\"", i + 1,
			    idx->skips[i].reason, bad[i].reason);
	}
	otaindex_free(idx);
	free(json);
}

static void
test_bad_files_rejected(void **state)
{
	static const struct {
		const char	*json;
		const char	*reason;
	} bad[] = {
		{ "{\"url\":\"https://h/a\"}", "not a JSON array" },
		{ "[{\"url\":", "not valid JSON" },
		{ "", "not valid JSON" },
		{ "[] x", "data after the JSON value" },
		{ "[[[[[[[[[[1]]]]]]]]]]", "nested deeper than 8 levels" },
		{ "[{\"url\":\"a\\u0000b\"}]", "\\u0000" },
	};
	struct otaindex_opts	 opts;
	struct otaindex		*idx;
	char			*big;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_str(bad[i].json, OTAINDEX_SRC_MAIN) != NULL)
			fail_msg("accepted %s", bad[i].json);
		assert_non_null(strstr(errbuf, "test.json: "));
		if (strstr(errbuf, bad[i].reason) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].json, errbuf,
			    bad[i].reason);
	}

	memset(&opts, 0, sizeof(opts));
	opts.name = "nul.json";
	assert_null(otaindex_parse("[\0]", 3, &opts, errbuf, sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "NUL byte at offset 1"));
	assert_null(otaindex_parse("[\"\\\0\"]", 5, &opts, errbuf,
	    sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "NUL byte at offset 3"));

	/* One byte over the limit, though valid JSON. */
	assert_non_null(big = malloc(OTAINDEX_MAX_BYTES + 1));
	memset(big, ' ', OTAINDEX_MAX_BYTES + 1);
	big[0] = '[';
	big[OTAINDEX_MAX_BYTES] = ']';
	assert_null(otaindex_parse(big, OTAINDEX_MAX_BYTES + 1, &opts, errbuf,
	    sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "at most"));
	/* Exactly at the limit it is an empty index. */
	big[OTAINDEX_MAX_BYTES - 1] = ']';
	idx = otaindex_parse(big, OTAINDEX_MAX_BYTES, &opts, errbuf,
	    sizeof(errbuf));
	assert_non_null(idx);
	assert_int_equal(idx->total, 0);
	otaindex_free(idx);
	free(big);
}

/* Limits that bound what a hostile index can cost. */
static void
test_limits(void **state)
{
	struct otaindex	*idx;
	char		*json, *w;
	size_t		 i, n;

	(void)state;
	n = OTAINDEX_MAX_ITEMS + 1;
	assert_non_null(json = malloc(3 * n + 3));
	w = json;
	*w++ = '[';
	for (i = 0; i < OTAINDEX_MAX_ENTRIES + 1; i++)
		w += sprintf(w, "%s{}", i ? "," : "");
	strcpy(w, "]");
	assert_null(parse_str(json, OTAINDEX_SRC_MAIN));
	assert_non_null(strstr(errbuf, "65537 entries, at most 65536"));

	w = json;
	*w++ = '[';
	for (i = 0; i < n; i++)
		w += sprintf(w, "%s1", i ? "," : "");
	strcpy(w, "]");
	assert_null(parse_str(json, OTAINDEX_SRC_MAIN));
	assert_non_null(strstr(errbuf, "more than 262144 JSON values"));

	/* Many bad entries: all counted, the first reasons kept. */
	w = json;
	*w++ = '[';
	for (i = 0; i < 2 * OTAINDEX_MAX_SKIPS; i++)
		w += sprintf(w, "%s%zu", i ? "," : "", i);
	strcpy(w, "," GOOD(3) "]");
	idx = parse_str(json, OTAINDEX_SRC_MAIN);
	assert_non_null(idx);
	assert_int_equal(idx->nentries, 1);
	assert_int_equal(idx->entries[0].position, 2 * OTAINDEX_MAX_SKIPS);
	assert_int_equal(idx->nskips, 2 * OTAINDEX_MAX_SKIPS);
	assert_int_equal(idx->skips[OTAINDEX_MAX_SKIPS - 1].position,
	    OTAINDEX_MAX_SKIPS - 1);
	otaindex_free(idx);
	free(json);
}

/* Fields this version does not know are left alone, not fatal. */
static void
test_unknown_fields_ignored(void **state)
{
	struct otaindex	*idx;

	(void)state;
	idx = parse_str("[{\"url\":\"https://h/a.ota\",\"fileVersion\":1,"
	    "\"imageType\":1,\"manufacturerCode\":2,\"stack\":{\"x\":[1]},"
	    "\"zigbeeStackVersion\":\"ZigbeePro\"}]", OTAINDEX_SRC_MAIN);
	assert_non_null(idx);
	assert_int_equal(idx->nentries, 1);
	assert_int_equal(idx->nskips, 0);
	otaindex_free(idx);
}

static void
test_remote_urls(void **state)
{
	static const char *const bad[] = {
		"file:///etc/passwd", "/srv/ota/a.ota", "a.ota", "../a.ota",
		"ftp://h/a.ota", "https:///a.ota", "https://h/a b.ota",
	};
	struct otaindex	*idx;
	char		 json[256];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "[{\"url\":\"%s\","
		    "\"fileVersion\":1,\"imageType\":1,"
		    "\"manufacturerCode\":2}]", bad[i]);
		/* Not even an override index read from the network. */
		idx = parse_str(json, i % 2 ? OTAINDEX_SRC_OVERRIDE :
		    OTAINDEX_SRC_MAIN);
		assert_non_null(idx);
		assert_int_equal(idx->nentries, 0);
		assert_int_equal(idx->nskips, 1);
		assert_non_null(strstr(idx->skips[0].reason, "url \""));
		otaindex_free(idx);
	}
	idx = parse_str("[{\"url\":\"HTTPS://h/a%20b.ota\",\"fileVersion\":1,"
	    "\"imageType\":1,\"manufacturerCode\":2}]", OTAINDEX_SRC_MAIN);
	assert_int_equal(idx->nentries, 1);
	otaindex_free(idx);

	/* Hosted override entries must carry their identity. */
	idx = parse_str("[{\"url\":\"https://h/a.ota\",\"fileVersion\":1}]",
	    OTAINDEX_SRC_OVERRIDE);
	assert_int_equal(idx->nskips, 1);
	assert_non_null(strstr(idx->skips[0].reason, "imageType is missing"));
	otaindex_free(idx);
}

/* A scratch tree: DATA (the data dir), EXTRA (another allowed dir) and
 * OUTSIDE, with a synthetic image in each. */
struct tree {
	char		 root[PATH_MAX / 2];
	char		 data[PATH_MAX];
	char		 extra[PATH_MAX];
	char		 outside[PATH_MAX];
	uint8_t		*img;
	size_t		 imglen;
	struct ota_make_params p;
};

static void
write_file(const char *path, const uint8_t *buf, size_t len)
{
	FILE	*f;

	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int
tree_setup(void **state)
{
	struct tree	*t;
	const char	*tmp = getenv("TMPDIR");
	char		 path[PATH_MAX + 32];

	assert_non_null(t = calloc(1, sizeof(*t)));
	snprintf(t->root, sizeof(t->root), "%s/otaindex-XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->data, sizeof(t->data), "%s/data", t->root);
	snprintf(t->extra, sizeof(t->extra), "%s/extra", t->root);
	snprintf(t->outside, sizeof(t->outside), "%s/outside", t->root);
	assert_int_equal(mkdir(t->data, 0700), 0);
	assert_int_equal(mkdir(t->extra, 0700), 0);
	assert_int_equal(mkdir(t->outside, 0700), 0);

	t->p.manufacturer_code = 0x1234;
	t->p.image_type = 0x0042;
	t->p.file_version = 0x01020304;
	t->p.stack_version = OTA_STACK_PRO;
	t->p.header_string = "zotad test image";
	t->p.seed = 7;
	t->p.total_size = (uint32_t)ota_make_min_size(&t->p) + 300;
	assert_int_equal(ota_make(&t->p, &t->img, &t->imglen), 0);

	snprintf(path, sizeof(path), "%s/my image.ota", t->data);
	write_file(path, t->img, t->imglen);
	snprintf(path, sizeof(path), "%s/b.ota", t->extra);
	write_file(path, t->img, t->imglen);
	snprintf(path, sizeof(path), "%s/secret.ota", t->outside);
	write_file(path, t->img, t->imglen);
	snprintf(path, sizeof(path), "%s/escape.ota", t->data);
	assert_int_equal(symlink("../outside/secret.ota", path), 0);
	snprintf(path, sizeof(path), "%s/alias.ota", t->data);
	assert_int_equal(symlink("my image.ota", path), 0);
	*state = t;
	return (0);
}

static int
tree_teardown(void **state)
{
	static const char *const files[] = { "data/my image.ota",
	    "data/escape.ota", "data/alias.ota", "extra/b.ota",
	    "outside/secret.ota", "data", "extra", "outside", "" };
	struct tree	*t = *state;
	char		 path[PATH_MAX + 32];
	size_t		 i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", t->root, files[i]);
		if (unlink(path) == -1)
			rmdir(path);
	}
	free(t->img);
	free(t);
	return (0);
}

static struct otaindex *
parse_local(const struct tree *t, const char *json, int allow)
{
	struct otaindex_opts	 opts;
	const char		*dirs[1];

	memset(&opts, 0, sizeof(opts));
	dirs[0] = t->extra;
	opts.source = OTAINDEX_SRC_OVERRIDE;
	opts.name = "override.json";
	opts.allow_local_files = allow;
	opts.data_dir = t->data;
	opts.local_dirs = dirs;
	opts.nlocal_dirs = 1;
	return (otaindex_parse(json, strlen(json), &opts, errbuf,
	    sizeof(errbuf)));
}

static void
test_local_entry_completed(void **state)
{
	struct tree			*t = *state;
	const struct otaindex_entry	*e;
	struct otaindex			*idx;
	char				 sha[SHA512_HEX_LEN + 1];
	char				 json[PATH_MAX * 2];

	snprintf(json, sizeof(json), "[{\"url\":\"my image.ota\"},"
	    "{\"url\":\"file://%s/b.ota\",\"force\":true},"
	    "{\"url\":\"alias.ota\",\"fileVersion\":16909060,"
	    "\"modelId\":\"M\"}]", t->extra);
	idx = parse_local(t, json, 1);
	assert_non_null(idx);
	assert_int_equal(idx->nskips, 0);
	assert_int_equal(idx->nentries, 3);
	util_sha512_hex(t->img, t->imglen, sha);

	e = &idx->entries[0];
	assert_int_equal(e->file_version, t->p.file_version);
	assert_int_equal(e->image_type, t->p.image_type);
	assert_int_equal(e->manufacturer_code, t->p.manufacturer_code);
	assert_int_equal(e->file_size, t->p.total_size);
	assert_true(e->has & OTAINDEX_HAS_FILE_SIZE);
	assert_string_equal(e->sha512, sha);
	assert_string_equal(e->ota_header_string, t->p.header_string);
	assert_string_equal(e->file_name, "my image.ota");
	assert_string_equal(e->url, "my image.ota");
	assert_non_null(strstr(e->local_path, "/data/my image.ota"));

	assert_true(idx->entries[1].force);
	assert_non_null(strstr(idx->entries[1].local_path, "/extra/b.ota"));
	/* A symbolic link inside the allowed tree is fine. */
	assert_string_equal(idx->entries[2].local_path, e->local_path);
	assert_string_equal(idx->entries[2].model_id, "M");
	otaindex_free(idx);
}

static void
test_local_entry_rejected(void **state)
{
	static const struct {
		const char	*entry;
		const char	*reason;
	} bad[] = {
		{ "{\"url\":\"../outside/secret.ota\"}", "outside the" },
		{ "{\"url\":\"escape.ota\"}", "outside the" },
		{ "{\"url\":\"nosuch.ota\"}", "No such file" },
		{ "{\"url\":\"file://elsewhere/x.ota\"}", "another host" },
		{ "{\"url\":\"file:my%2\"}", "bad % escape" },
		{ "{\"url\":\"gopher:x\"}", "scheme \"gopher\"" },
		{ "{\"url\":\"my image.ota\",\"fileVersion\":5}",
		  "fileVersion is 5 in the index but 16909060 in the file" },
		{ "{\"url\":\"my image.ota\",\"imageType\":1}",
		  "imageType is 1 in the index but 66" },
		{ "{\"url\":\"my image.ota\",\"sha512\":\"" "0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef\"}", "sha512 in the index does not match" },
	};
	struct tree	*t = *state;
	struct otaindex	*idx;
	char		 json[1024];
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "[%s]", bad[i].entry);
		idx = parse_local(t, json, 1);
		assert_non_null(idx);
		assert_int_equal(idx->nentries, 0);
		assert_int_equal(idx->nskips, 1);
		if (strstr(idx->skips[0].reason, bad[i].reason) == NULL)
			fail_msg("%s: \"%s\" lacks \"%s\"", bad[i].entry,
			    idx->skips[0].reason, bad[i].reason);
		otaindex_free(idx);
	}

	/* The same good entry, from an index that may not name files. */
	idx = parse_local(t, "[{\"url\":\"my image.ota\"}]", 0);
	assert_int_equal(idx->nskips, 1);
	assert_non_null(strstr(idx->skips[0].reason,
	    "only a local override index"));
	otaindex_free(idx);
}

static void
test_load_relative_to_data_dir(void **state)
{
	struct tree		*t = *state;
	struct otaindex_opts	 opts;
	struct otaindex		*idx;
	char			 path[PATH_MAX + 32];
	static const char	 json[] = "[{\"url\":\"my image.ota\"}]";

	snprintf(path, sizeof(path), "%s/override.json", t->data);
	write_file(path, (const uint8_t *)json, strlen(json));
	memset(&opts, 0, sizeof(opts));
	opts.source = OTAINDEX_SRC_OVERRIDE;
	opts.name = "override.json";
	opts.allow_local_files = 1;
	opts.data_dir = t->data;
	idx = otaindex_load("override.json", &opts, errbuf, sizeof(errbuf));
	unlink(path);
	assert_non_null(idx);
	assert_int_equal(idx->nentries, 1);
	assert_int_equal(idx->entries[0].file_version, t->p.file_version);
	otaindex_free(idx);

	assert_null(otaindex_load("https://h/index.json", &opts, errbuf,
	    sizeof(errbuf)));
	assert_null(otaindex_load("missing.json", &opts, errbuf,
	    sizeof(errbuf)));
	assert_non_null(strstr(errbuf, "No such file"));
}

/* Match DEV against the index in JSON (main) and an optional override. */
static const struct otaindex_entry *
match_json(const char *override, const char *json,
    const struct otaindex_device *dev, enum otaindex_mode mode,
    struct otaindex_result *res, struct otaindex **keep)
{
	const struct otaindex	*list[2];
	size_t			 n = 0;

	keep[0] = keep[1] = NULL;
	if (override != NULL) {
		assert_non_null(keep[1] = parse_str(override,
		    OTAINDEX_SRC_OVERRIDE));
		list[n++] = keep[1];
	}
	assert_non_null(keep[0] = parse_str(json, mode == OTAINDEX_UPGRADE ?
	    OTAINDEX_SRC_MAIN : OTAINDEX_SRC_DOWNGRADE));
	list[n++] = keep[0];
	assert_int_equal(otaindex_match(list, n, dev, mode, res), 0);
	return (res->chosen);
}

static void
done(struct otaindex_result *res, struct otaindex **keep)
{
	otaindex_result_free(res);
	otaindex_free(keep[0]);
	otaindex_free(keep[1]);
}

#define E(ver, extra) "{\"url\":\"https://h/" #ver ".ota\",\"fileVersion\":" \
	#ver ",\"imageType\":66,\"manufacturerCode\":4660" extra "}"

static void
dev_init(struct otaindex_device *d, uint32_t version)
{
	memset(d, 0, sizeof(*d));
	d->manufacturer_code = 4660;
	d->image_type = 66;
	d->file_version = version;
}

/* One entry with EXTRA, device D: the excluded bits, or 0 if chosen. */
static unsigned int
verdict(const char *extra_entry, const struct otaindex_device *d,
    enum otaindex_mode mode)
{
	struct otaindex_result	 res;
	struct otaindex		*keep[2];
	unsigned int		 x;
	char			 json[512];

	snprintf(json, sizeof(json), "[%s]", extra_entry);
	match_json(NULL, json, d, mode, &res, keep);
	assert_int_equal(res.ncandidates, 1);
	x = res.candidates[0].excluded;
	assert_true((x == 0) == (res.chosen != NULL));
	done(&res, keep);
	return (x);
}

static void
test_match_versions(void **state)
{
	struct otaindex_device	 d;

	(void)state;
	dev_init(&d, 5);
	assert_int_equal(verdict(E(6, ""), &d, OTAINDEX_UPGRADE), 0);
	assert_int_equal(verdict(E(5, ""), &d, OTAINDEX_UPGRADE),
	    OTAINDEX_X_NOT_NEWER);
	assert_int_equal(verdict(E(4, ""), &d, OTAINDEX_UPGRADE),
	    OTAINDEX_X_NOT_NEWER);
	assert_int_equal(verdict(E(4, ""), &d, OTAINDEX_DOWNGRADE), 0);
	assert_int_equal(verdict(E(5, ""), &d, OTAINDEX_DOWNGRADE),
	    OTAINDEX_X_NOT_OLDER);
	assert_int_equal(verdict(E(6, ""), &d, OTAINDEX_DOWNGRADE),
	    OTAINDEX_X_NOT_OLDER);
	/* force offers the image whatever its version, either way. */
	assert_int_equal(verdict(E(5, ",\"force\":true"), &d,
	    OTAINDEX_UPGRADE), 0);
	assert_int_equal(verdict(E(3, ",\"force\":true"), &d,
	    OTAINDEX_UPGRADE), 0);
	assert_int_equal(verdict(E(9, ",\"force\":true"), &d,
	    OTAINDEX_DOWNGRADE), 0);
	assert_int_equal(verdict(E(3, ",\"force\":false"), &d,
	    OTAINDEX_UPGRADE), OTAINDEX_X_NOT_NEWER);
	/* ...but not past the other restrictions. */
	assert_int_equal(verdict(E(9, ",\"force\":true,\"modelId\":\"x\""),
	    &d, OTAINDEX_UPGRADE), OTAINDEX_X_MODEL_ID);
}

static void
test_match_file_version_bounds(void **state)
{
	struct otaindex_device	 d;

	(void)state;
	dev_init(&d, 5);
	assert_int_equal(verdict(E(9, ",\"minFileVersion\":5"), &d,
	    OTAINDEX_UPGRADE), 0);
	assert_int_equal(verdict(E(9, ",\"minFileVersion\":6"), &d,
	    OTAINDEX_UPGRADE), OTAINDEX_X_MIN_FILE_VERSION);
	assert_int_equal(verdict(E(9, ",\"maxFileVersion\":5"), &d,
	    OTAINDEX_UPGRADE), 0);
	assert_int_equal(verdict(E(9, ",\"maxFileVersion\":4"), &d,
	    OTAINDEX_UPGRADE), OTAINDEX_X_MAX_FILE_VERSION);
	/* Every failed restriction is reported, not just the first. */
	assert_int_equal(verdict(E(2, ",\"maxFileVersion\":4"), &d,
	    OTAINDEX_UPGRADE),
	    OTAINDEX_X_MAX_FILE_VERSION | OTAINDEX_X_NOT_NEWER);
}

static void
test_match_identity(void **state)
{
	struct otaindex_device	 d;
	const char		*names = ",\"manufacturerName\":[\"A\",\"B\"]";

	(void)state;
	dev_init(&d, 1);
	assert_int_equal(verdict(E(2, ",\"modelId\":\"M1\""), &d,
	    OTAINDEX_UPGRADE), OTAINDEX_X_MODEL_ID);
	assert_int_equal(verdict(E(2, ""), &d, OTAINDEX_UPGRADE), 0);
	d.model_id = "M2";
	assert_int_equal(verdict(E(2, ",\"modelId\":\"M1\""), &d,
	    OTAINDEX_UPGRADE), OTAINDEX_X_MODEL_ID);
	d.model_id = "M1";
	assert_int_equal(verdict(E(2, ",\"modelId\":\"M1\""), &d,
	    OTAINDEX_UPGRADE), 0);

	{
		char	 entry[256];

		snprintf(entry, sizeof(entry), E(2, "%s"), names);
		assert_int_equal(verdict(entry, &d, OTAINDEX_UPGRADE),
		    OTAINDEX_X_MANUFACTURER_NAME);
		d.manufacturer_name = "C";
		assert_int_equal(verdict(entry, &d, OTAINDEX_UPGRADE),
		    OTAINDEX_X_MANUFACTURER_NAME);
		/* Membership, not substring. */
		d.manufacturer_name = "AB";
		assert_int_equal(verdict(entry, &d, OTAINDEX_UPGRADE),
		    OTAINDEX_X_MANUFACTURER_NAME);
		d.manufacturer_name = "B";
		assert_int_equal(verdict(entry, &d, OTAINDEX_UPGRADE), 0);
	}

	d.ota_header_string = "hdr";
	assert_int_equal(verdict(E(2, ""), &d, OTAINDEX_UPGRADE),
	    OTAINDEX_X_HEADER_STRING);
	assert_int_equal(verdict(E(2, ",\"otaHeaderString\":\"hdr\""), &d,
	    OTAINDEX_UPGRADE), 0);
}

static void
test_match_hardware(void **state)
{
	struct otaindex_device	 d;
	const char		*both = E(2, ",\"hardwareVersionMin\":2,"
	    "\"hardwareVersionMax\":4");

	(void)state;
	dev_init(&d, 1);
	/* No hardware version sent: any bounded entry is out. */
	assert_int_equal(verdict(both, &d, OTAINDEX_UPGRADE),
	    OTAINDEX_X_HW_UNKNOWN);
	assert_int_equal(verdict(E(2, ",\"hardwareVersionMax\":9"), &d,
	    OTAINDEX_UPGRADE), OTAINDEX_X_HW_UNKNOWN);
	assert_int_equal(verdict(E(2, ""), &d, OTAINDEX_UPGRADE), 0);
	d.has_hardware_version = 1;
	d.hardware_version = 1;
	assert_int_equal(verdict(both, &d, OTAINDEX_UPGRADE),
	    OTAINDEX_X_HW_MIN);
	d.hardware_version = 2;
	assert_int_equal(verdict(both, &d, OTAINDEX_UPGRADE), 0);
	d.hardware_version = 4;
	assert_int_equal(verdict(both, &d, OTAINDEX_UPGRADE), 0);
	d.hardware_version = 5;
	assert_int_equal(verdict(both, &d, OTAINDEX_UPGRADE),
	    OTAINDEX_X_HW_MAX);
	d.hardware_version = 0;
	assert_int_equal(verdict(E(2, ",\"hardwareVersionMax\":0"), &d,
	    OTAINDEX_UPGRADE), 0);
}

static void
test_match_highest_wins(void **state)
{
	struct otaindex_device	 d;
	struct otaindex_result	 res;
	struct otaindex		*keep[2];
	const char		*json = "[" E(6, "") "," E(9, "") ","
	    E(7, "") "," E(4, "") "]";

	(void)state;
	dev_init(&d, 5);
	assert_non_null(match_json(NULL, json, &d, OTAINDEX_UPGRADE, &res,
	    keep));
	assert_int_equal(res.chosen->file_version, 9);
	assert_int_equal(res.chosen->position, 1);
	assert_int_equal(res.ncandidates, 4);
	assert_int_equal(res.candidates[0].excluded, OTAINDEX_X_OUTRANKED);
	assert_int_equal(res.candidates[1].excluded, 0);
	assert_int_equal(res.candidates[2].excluded, OTAINDEX_X_OUTRANKED);
	assert_int_equal(res.candidates[3].excluded, OTAINDEX_X_NOT_NEWER);
	done(&res, keep);

	/* A downgrade takes the smallest step back. */
	assert_non_null(match_json(NULL, json, &d, OTAINDEX_DOWNGRADE, &res,
	    keep));
	assert_int_equal(res.chosen->file_version, 4);
	done(&res, keep);
	dev_init(&d, 8);
	assert_non_null(match_json(NULL, json, &d, OTAINDEX_DOWNGRADE, &res,
	    keep));
	assert_int_equal(res.chosen->file_version, 7);
	done(&res, keep);

	/* Equal versions: the first in file order. */
	dev_init(&d, 1);
	assert_non_null(match_json(NULL, "[" E(3, ",\"modelId\":\"x\"") ","
	    E(3, ",\"releaseNotes\":\"first\"") "," E(3, "") "]", &d,
	    OTAINDEX_UPGRADE, &res, keep));
	assert_int_equal(res.chosen->position, 1);
	done(&res, keep);

	/* A forced entry is the index author's explicit choice. */
	assert_non_null(match_json(NULL, "[" E(9, "") ","
	    E(2, ",\"force\":true") "]", &d, OTAINDEX_UPGRADE, &res, keep));
	assert_int_equal(res.chosen->file_version, 2);
	done(&res, keep);
}

static void
test_match_override_first(void **state)
{
	struct otaindex_device	 d;
	struct otaindex_result	 res;
	struct otaindex		*keep[2];
	const char		*mainidx = "[" E(9, "") "]";

	(void)state;
	dev_init(&d, 5);
	assert_non_null(match_json("[" E(6, "") "," E(7, "") "]", mainidx, &d,
	    OTAINDEX_UPGRADE, &res, keep));
	assert_int_equal(res.chosen->source, OTAINDEX_SRC_OVERRIDE);
	assert_int_equal(res.chosen->file_version, 7);
	assert_int_equal(res.ncandidates, 3);
	/* Candidates come in precedence order. */
	assert_int_equal(res.candidates[0].entry->source,
	    OTAINDEX_SRC_OVERRIDE);
	assert_int_equal(res.candidates[2].entry->source, OTAINDEX_SRC_MAIN);
	assert_int_equal(res.candidates[2].excluded, OTAINDEX_X_OUTRANKED);
	done(&res, keep);

	/* Nothing applicable in the override: the main index decides. */
	assert_non_null(match_json("[" E(4, "") "," E(8, ",\"modelId\":\"m\"")
	    "]", mainidx, &d, OTAINDEX_UPGRADE, &res, keep));
	assert_int_equal(res.chosen->source, OTAINDEX_SRC_MAIN);
	assert_int_equal(res.candidates[0].excluded, OTAINDEX_X_NOT_NEWER);
	assert_int_equal(res.candidates[1].excluded, OTAINDEX_X_MODEL_ID);
	done(&res, keep);

	/* Other devices' entries are not candidates at all. */
	d.image_type = 67;
	assert_null(match_json(NULL, mainidx, &d, OTAINDEX_UPGRADE, &res,
	    keep));
	assert_int_equal(res.ncandidates, 0);
	done(&res, keep);
}

static void
test_explain(void **state)
{
	struct otaindex_device	 d;
	struct otaindex_result	 res;
	struct otaindex		*keep[2];
	char			 buf[256];

	(void)state;
	dev_init(&d, 5);
	d.model_id = "M2";
	match_json(NULL, "[" E(9, ",\"minFileVersion\":6") ","
	    E(9, ",\"modelId\":\"M1\"") "," E(9, ",\"hardwareVersionMin\":1")
	    "," E(3, "") "]", &d, OTAINDEX_UPGRADE, &res, keep);
	assert_null(res.chosen);
	otaindex_explain(&res.candidates[0], &d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "below minFileVersion 0x00000006"));
	otaindex_explain(&res.candidates[1], &d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "\"M1\", the device's is \"M2\""));
	otaindex_explain(&res.candidates[2], &d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "device sent none"));
	otaindex_explain(&res.candidates[3], &d, buf, sizeof(buf));
	assert_non_null(strstr(buf, "0x00000003 is not newer"));
	assert_string_equal(otaindex_excluded_name(OTAINDEX_X_MODEL_ID),
	    "modelId");
	done(&res, keep);
}

static const struct otaindex_entry *
match_real(const struct otaindex *idx, const struct otaindex_device *d,
    enum otaindex_mode mode, struct otaindex_result *res)
{
	const struct otaindex	*list[1];

	list[0] = idx;
	assert_int_equal(otaindex_match(list, 1, d, mode, res), 0);
	return (res->chosen);
}

/* Hue's staged chains: each step only accepts the version before it. */
static void
test_real_hue_chain(void **state)
{
	static const char *const chain[] = {
		"100B-0114-01001200-ConfLightBLE-Lamps-EFR32MG21.zigbee",
		"100B-0114-01001300-ConfLightBLE-Lamps-EFR32MG21.zigbee",
		"100B-0114-01001304-ConfLightBLE-Lamps-EFR32MG21.zigbee",
		"100B-0114-01002502-ConfLightBLE-Lamps-EFR32MG21.zigbee",
		"100B-0114-01002A00-ConfLightBLE-Lamps-EFR32MG21.zigbee",
	};
	struct otaindex_device		 d;
	struct otaindex_result		 res;
	struct otaindex			*idx;
	const struct otaindex_entry	*e;
	const char			*dir;
	size_t				 step, i;

	(void)state;
	NEED_FIXTURES(dir);
	idx = load_fixture(dir, "index.json", OTAINDEX_SRC_MAIN);
	memset(&d, 0, sizeof(d));
	d.manufacturer_code = 0x100b;
	d.image_type = 0x0114;
	d.file_version = 0x01000000;
	for (step = 0; step < sizeof(chain) / sizeof(chain[0]); step++) {
		assert_non_null(e = match_real(idx, &d, OTAINDEX_UPGRADE,
		    &res));
		assert_string_equal(e->file_name, chain[step]);
		/* Each step is the only applicable entry: the chain's
		 * ranges leave no choice to "highest version wins". */
		for (i = 0; i < res.ncandidates; i++)
			assert_int_not_equal(res.candidates[i].excluded,
			    OTAINDEX_X_OUTRANKED);
		d.file_version = e->file_version;
		otaindex_result_free(&res);
	}
	assert_null(match_real(idx, &d, OTAINDEX_UPGRADE, &res));
	assert_int_equal(res.ncandidates, 5);
	otaindex_result_free(&res);
	otaindex_free(idx);
}

static void
test_real_restrictions(void **state)
{
	struct otaindex_device		 d;
	struct otaindex_result		 res;
	struct otaindex			*idx;
	const char			*dir;

	(void)state;
	NEED_FIXTURES(dir);
	idx = load_fixture(dir, "index.json", OTAINDEX_SRC_MAIN);

	/* Ubisys: hardware bounds, and no hardware version means no image. */
	memset(&d, 0, sizeof(d));
	d.manufacturer_code = 0x10f2;
	d.image_type = 0x7b2a;
	d.file_version = 1;
	assert_null(match_real(idx, &d, OTAINDEX_UPGRADE, &res));
	assert_int_equal(res.candidates[0].excluded, OTAINDEX_X_HW_UNKNOWN);
	otaindex_result_free(&res);
	d.has_hardware_version = 1;
	d.hardware_version = 5;
	assert_non_null(match_real(idx, &d, OTAINDEX_UPGRADE, &res));
	otaindex_result_free(&res);
	d.hardware_version = 6;
	assert_null(match_real(idx, &d, OTAINDEX_UPGRADE, &res));
	assert_int_equal(res.candidates[0].excluded, OTAINDEX_X_HW_MAX);
	otaindex_result_free(&res);

	/* Two Ubisys images of one version split by hardware range. */
	d.image_type = 0x7b32;
	d.hardware_version = 2;
	assert_string_equal(match_real(idx, &d, OTAINDEX_UPGRADE,
	    &res)->file_name,
	    "10F2-7B32-0002-0007-02600460-spo-fms.ota.zigbee");
	otaindex_result_free(&res);

	/* Gledopto shares image type 0 and tells devices apart by model. */
	memset(&d, 0, sizeof(d));
	d.manufacturer_code = 0x124f;
	d.file_version = 1;
	assert_null(match_real(idx, &d, OTAINDEX_UPGRADE, &res));
	assert_true(res.ncandidates > 1);
	otaindex_result_free(&res);
	d.model_id = "GL-D-005P";
	assert_int_equal(match_real(idx, &d, OTAINDEX_UPGRADE,
	    &res)->file_version, 18);
	otaindex_result_free(&res);

	/* Tuya reuses image types and tells vendors apart by name. */
	memset(&d, 0, sizeof(d));
	d.manufacturer_code = 0x1002;
	d.image_type = 0x1602;
	d.manufacturer_name = "_TZE200_cwnjrr72";
	assert_int_equal(match_real(idx, &d, OTAINDEX_UPGRADE,
	    &res)->file_version, 87);
	otaindex_result_free(&res);
	d.manufacturer_name = "_TZ3000_1dd0d5yi";
	assert_int_equal(match_real(idx, &d, OTAINDEX_UPGRADE,
	    &res)->file_version, 71);
	otaindex_result_free(&res);
	otaindex_free(idx);
}

static void
test_real_downgrade(void **state)
{
	struct otaindex_device		 d;
	struct otaindex_result		 res;
	struct otaindex			*up, *down;
	const struct otaindex_entry	*cur;
	const char			*dir;

	(void)state;
	NEED_FIXTURES(dir);
	up = load_fixture(dir, "index.json", OTAINDEX_SRC_MAIN);
	down = load_fixture(dir, "index1.json", OTAINDEX_SRC_DOWNGRADE);
	cur = find_name(up,
	    "100B-0114-01002A00-ConfLightBLE-Lamps-EFR32MG21.zigbee");
	memset(&d, 0, sizeof(d));
	d.manufacturer_code = cur->manufacturer_code;
	d.image_type = cur->image_type;
	d.file_version = cur->file_version;
	assert_string_equal(match_real(down, &d, OTAINDEX_DOWNGRADE,
	    &res)->file_name,
	    "100B-0114-01002800-ConfLightBLE-Lamps-EFR32MG21.zigbee");
	assert_int_equal(res.chosen->source, OTAINDEX_SRC_DOWNGRADE);
	otaindex_result_free(&res);
	/* The downgrade image is not an upgrade. */
	assert_null(match_real(down, &d, OTAINDEX_UPGRADE, &res));
	otaindex_result_free(&res);

	cur = find_name(up, "10F2-7B2A-0000-0005-02010230-m7b-r0.ota.zigbee");
	d.manufacturer_code = cur->manufacturer_code;
	d.image_type = cur->image_type;
	d.file_version = cur->file_version;
	d.has_hardware_version = 1;
	d.hardware_version = 3;
	assert_int_equal(match_real(down, &d, OTAINDEX_DOWNGRADE,
	    &res)->file_version, 33554992);
	otaindex_result_free(&res);
	otaindex_free(up);
	otaindex_free(down);
}

/* Entries built from the real images equal their index.json entries. */
static void
test_real_images_to_entries(void **state)
{
	struct otaindex_entry		 e;
	const struct otaindex_entry	*ref;
	struct otaindex			*idx;
	struct dirent			*de;
	DIR				*dp;
	const char			*dir;
	char				 path[PATH_MAX * 2], *enc;
	uint8_t				*buf;
	size_t				 len, same = 0, failed = 0;

	(void)state;
	NEED_FIXTURES(dir);
	idx = load_fixture(dir, "index.json", OTAINDEX_SRC_MAIN);
	snprintf(path, sizeof(path), "%s/images", dir);
	assert_non_null(dp = opendir(path));
	while ((de = readdir(dp)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/images/%s", dir, de->d_name);
		assert_int_equal(util_read_file(path, OTAINDEX_MAX_IMAGE, &buf,
		    &len), 0);
		ref = find_name(idx, de->d_name);
		assert_non_null(enc = otaindex_uri_encode(de->d_name));
		if (otaindex_entry_from_image(buf, len, de->d_name, enc, &e,
		    errbuf, sizeof(errbuf)) == -1) {
			/* Only the file truncated as published may fail. */
			assert_non_null(strstr(de->d_name, "tcl-1-zb-s"));
			failed++;
		} else {
			assert_int_equal(e.file_version, ref->file_version);
			assert_int_equal(e.file_size, ref->file_size);
			assert_int_equal(e.image_type, ref->image_type);
			assert_int_equal(e.manufacturer_code,
			    ref->manufacturer_code);
			assert_string_equal(e.sha512, ref->sha512);
			assert_string_equal(e.ota_header_string,
			    ref->ota_header_string);
			assert_string_equal(strrchr(ref->url, '/') + 1, enc);
			otaindex_entry_clear(&e);
			same++;
		}
		free(enc);
		free(buf);
	}
	closedir(dp);
	assert_int_equal(failed, 1);
	assert_int_equal(same, 24);
	otaindex_free(idx);
}

static void
test_uri_encode(void **state)
{
	char	*s;

	(void)state;
	s = otaindex_uri_encode("ED - HA - a(1)_100%.ota~*'!\xc3\xa9/?#&=+");
	assert_string_equal(s,
	    "ED%20-%20HA%20-%20a(1)_100%25.ota~*'!%C3%A9%2F%3F%23%26%3D%2B");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_main_index),
		cmocka_unit_test(test_parse_downgrade_index),
		cmocka_unit_test(test_entry_json_round_trip),
		cmocka_unit_test(test_bad_entries_skipped),
		cmocka_unit_test(test_bad_files_rejected),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_unknown_fields_ignored),
		cmocka_unit_test(test_remote_urls),
		cmocka_unit_test_setup_teardown(test_local_entry_completed,
		    tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_local_entry_rejected,
		    tree_setup, tree_teardown),
		cmocka_unit_test_setup_teardown(test_load_relative_to_data_dir,
		    tree_setup, tree_teardown),
		cmocka_unit_test(test_match_versions),
		cmocka_unit_test(test_match_file_version_bounds),
		cmocka_unit_test(test_match_identity),
		cmocka_unit_test(test_match_hardware),
		cmocka_unit_test(test_match_highest_wins),
		cmocka_unit_test(test_match_override_first),
		cmocka_unit_test(test_explain),
		cmocka_unit_test(test_real_hue_chain),
		cmocka_unit_test(test_real_restrictions),
		cmocka_unit_test(test_real_downgrade),
		cmocka_unit_test(test_real_images_to_entries),
		cmocka_unit_test(test_uri_encode),
	};

	log_init("test_otaindex", 1, 0);
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
