/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotadctl index: build index entries from OTA files and explain which
 * entry a device would be offered. Results are JSON on stdout, errors go
 * to stderr; the exit status says whether a file or index was invalid or
 * no image is available (1), or the command itself failed (2).
 */

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "atomicfile.h"
#include "otaindex.h"
#include "util.h"
#include "zotadctl.h"

/* The fields an entry takes from its file; the rest were written by hand
 * and survive when the file is added again. */
static const char *const index_file_fields[] = {
	"fileName", "fileVersion", "fileSize", "url", "imageType",
	"manufacturerCode", "sha512", "otaHeaderString"
};
#define INDEX_NFILE_FIELDS \
	(sizeof(index_file_fields) / sizeof(index_file_fields[0]))

struct index_match_opts {
	struct otaindex_device	 dev;
	enum otaindex_mode	 mode;
	const char		*override;
	const char		*data_dir;
	const char		*index;
	int			 have_mfr, have_type, have_version;
};

static void
index_usage(void)
{
	fprintf(stderr, "usage:\tzotadctl index add [--base-url URL] "
	    "[--append INDEX.json] FILE...\n"
	    "\tzotadctl index match [--override FILE [--data-dir DIR]] "
	    "[--downgrade]\n"
	    "\t    --manufacturer-code N --image-type N --file-version N\n"
	    "\t    [--hardware-version N] [--model-id S] "
	    "[--manufacturer-name S]\n"
	    "\t    INDEX.json\n"
	    "numbers are decimal or 0x hex\n");
}

static const char *
index_basename(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return (slash != NULL && slash[1] != '\0' ? slash + 1 : path);
}

/* Print OBJ to stdout, followed by a newline; consumes OBJ. */
static int
index_print(cJSON *obj)
{
	char	*s;

	s = cJSON_Print(obj);
	cJSON_Delete(obj);
	if (s == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		return (CTL_USAGE);
	}
	printf("%s\n", s);
	free(s);
	return (fflush(stdout) == 0 ? CTL_OK : CTL_USAGE);
}

/* The url of FILE: BASE plus its encoded name, or its absolute path. */
static char *
index_file_url(const char *file, const char *base)
{
	char	*enc, *url;
	size_t	 n;

	if (base == NULL)
		return (realpath(file, NULL));
	if ((enc = otaindex_uri_encode(index_basename(file))) == NULL)
		return (NULL);
	n = strlen(base);
	if (asprintf(&url, "%s%s%s", base, n > 0 && base[n - 1] == '/' ?
	    "" : "/", enc) == -1)
		url = NULL;
	free(enc);
	return (url);
}

/* One FILE as a new entry object, or NULL with *RC saying why. */
static cJSON *
index_entry_for(const char *file, const char *base, int *rc)
{
	struct otaindex_entry	 e;
	uint8_t			*buf;
	size_t			 len;
	char			*url, err[256];
	cJSON			*obj;

	if (util_read_file(file, OTAINDEX_MAX_IMAGE, &buf, &len) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", file, errno == EFBIG ?
		    "larger than an OTA file may be" : strerror(errno));
		*rc = CTL_USAGE;
		return (NULL);
	}
	url = index_file_url(file, base);
	if (url == NULL || otaindex_entry_from_image(buf, len,
	    index_basename(file), url, &e, err, sizeof(err)) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", file, url == NULL ?
		    strerror(errno) : err);
		*rc = url == NULL ? CTL_USAGE : CTL_NEGATIVE;
		free(url);
		free(buf);
		return (NULL);
	}
	free(url);
	free(buf);
	obj = otaindex_entry_to_json(&e);
	otaindex_entry_clear(&e);
	if (obj == NULL)
		*rc = CTL_USAGE;
	return (obj);
}

/* Refresh OLD's file fields from NEW, keeping everything else. */
static int
index_refresh(cJSON *old, const cJSON *new)
{
	const cJSON	*v;
	cJSON		*copy;
	size_t		 i;

	for (i = 0; i < INDEX_NFILE_FIELDS; i++) {
		v = cJSON_GetObjectItemCaseSensitive(new, index_file_fields[i]);
		if (v == NULL)
			continue;
		if ((copy = cJSON_Duplicate(v, 1)) == NULL)
			return (-1);
		if (cJSON_HasObjectItem(old, index_file_fields[i]))
			cJSON_ReplaceItemInObjectCaseSensitive(old,
			    index_file_fields[i], copy);
		else
			cJSON_AddItemToObject(old, index_file_fields[i], copy);
	}
	return (0);
}

/*
 * Merge ADDED into the array INDEX. Every entry with the same fileName
 * is refreshed in place, so its position (which decides between equal
 * candidates) and its hand-written restrictions stay; a new file goes
 * at the end.
 */
static int
index_merge(cJSON *index, const cJSON *added)
{
	const cJSON	*n, *name;
	cJSON		*o, *copy;
	int		 found;

	cJSON_ArrayForEach(n, added) {
		name = cJSON_GetObjectItemCaseSensitive(n, "fileName");
		found = 0;
		cJSON_ArrayForEach(o, index) {
			if (!cJSON_IsObject(o) || !cJSON_IsString(
			    cJSON_GetObjectItemCaseSensitive(o, "fileName")) ||
			    strcmp(cJSON_GetObjectItemCaseSensitive(o,
			    "fileName")->valuestring, name->valuestring) != 0)
				continue;
			if (index_refresh(o, n) == -1)
				return (-1);
			found = 1;
		}
		if (found)
			continue;
		if ((copy = cJSON_Duplicate(n, 1)) == NULL ||
		    !cJSON_AddItemToArray(index, copy))
			return (-1);
	}
	return (0);
}

/* Read the index to append to; a missing file is an empty index. */
static cJSON *
index_read_for_append(const char *path, mode_t *mode, int *rc)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 len;
	char		 err[256];
	cJSON		*root;

	*mode = 0644;
	if (util_read_file(path, OTAINDEX_MAX_BYTES, &buf, &len) == -1) {
		if (errno == ENOENT)
			return (cJSON_CreateArray());
		fprintf(stderr, "zotadctl: %s: %s\n", path, errno == EFBIG ?
		    "larger than an index may be" : strerror(errno));
		*rc = CTL_USAGE;
		return (NULL);
	}
	if (stat(path, &st) == 0)
		*mode = st.st_mode & 07777;
	root = otaindex_json_parse((const char *)buf, len, err, sizeof(err));
	free(buf);
	if (root == NULL) {
		fprintf(stderr, "zotadctl: %s: %s\n", path, err);
		*rc = CTL_NEGATIVE;
	}
	return (root);
}

static int
index_append(const char *path, const cJSON *added)
{
	cJSON	*root;
	char	*text;
	mode_t	 mode;
	int	 rc = CTL_USAGE;

	if ((root = index_read_for_append(path, &mode, &rc)) == NULL)
		return (rc);
	if (index_merge(root, added) == -1 ||
	    (text = cJSON_Print(root)) == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		cJSON_Delete(root);
		return (CTL_USAGE);
	}
	cJSON_Delete(root);
	/* The text ends in a newline, as a file edited by hand would. */
	text = realloc(text, strlen(text) + 2);
	if (text == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		return (CTL_USAGE);
	}
	strcat(text, "\n");
	rc = CTL_OK;
	/* A crash while writing leaves the old index or the new one. */
	if (atomic_write(path, text, strlen(text), mode) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", path, strerror(errno));
		rc = CTL_USAGE;
	}
	free(text);
	return (rc);
}

/* Options of index add; -1 when the command is to end with *RC. */
static int
index_add_args(int argc, char *argv[], const char **base,
    const char **append, int *rc)
{
	static const struct option longopts[] = {
		{ "base-url",	required_argument,	NULL, 'b' },
		{ "append",	required_argument,	NULL, 'a' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	int	 ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "a:b:h", longopts, NULL)) != -1) {
		if (ch == 'a')
			*append = optarg;
		else if (ch == 'b')
			*base = optarg;
		else {
			index_usage();
			*rc = ch == 'h' ? CTL_OK : CTL_USAGE;
			return (-1);
		}
	}
	*rc = CTL_USAGE;
	if (optind >= argc) {
		index_usage();
		return (-1);
	}
	if (*base != NULL && !otaindex_is_http_url(*base)) {
		fprintf(stderr, "zotadctl: --base-url %s: not an http:// or "
		    "https:// URL\n", *base);
		return (-1);
	}
	return (0);
}

static int
index_add(int argc, char *argv[])
{
	const char	*base = NULL, *append = NULL;
	cJSON		*added, *obj;
	int		 i, rc = CTL_OK, one;

	if (index_add_args(argc, argv, &base, &append, &rc) == -1)
		return (rc);
	rc = CTL_OK;
	if ((added = cJSON_CreateArray()) == NULL)
		return (CTL_USAGE);
	/* Every file is checked, and nothing is written unless all pass. */
	for (i = optind; i < argc; i++) {
		one = CTL_OK;
		if ((obj = index_entry_for(argv[i], base, &one)) != NULL)
			cJSON_AddItemToArray(added, obj);
		if (one > rc)
			rc = one;
	}
	if (rc == CTL_OK && append != NULL)
		rc = index_append(append, added);
	if (rc != CTL_OK) {
		cJSON_Delete(added);
		return (rc);
	}
	return (index_print(added));
}

/* A number in decimal or 0x hex, at most MAX; -1 if it is not one. */
static int
index_number(const char *opt, const char *s, unsigned long max,
    unsigned long *out)
{
	char			*end;
	unsigned long long	 v;
	int			 base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	/* strtoull would take a sign or blanks: only digits may start. */
	if (!((*s >= '0' && *s <= '9') || (base == 16 &&
	    ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F'))))) {
		fprintf(stderr, "zotadctl: --%s: not a number\n", opt);
		return (-1);
	}
	errno = 0;
	v = strtoull(s, &end, base);
	if (*end != '\0' || errno != 0 || v > max) {
		fprintf(stderr, "zotadctl: --%s: not a number from 0 to %lu\n",
		    opt, max);
		return (-1);
	}
	*out = (unsigned long)v;
	return (0);
}

static int
index_match_option(struct index_match_opts *o, int ch, const char *name)
{
	unsigned long	 v;

	switch (ch) {
	case 'o':
		o->override = optarg;
		return (0);
	case 'd':
		o->data_dir = optarg;
		return (0);
	case 'g':
		o->mode = OTAINDEX_DOWNGRADE;
		return (0);
	case 'M':
		o->dev.model_id = optarg;
		return (0);
	case 'N':
		o->dev.manufacturer_name = optarg;
		return (0);
	}
	if (index_number(name, optarg, ch == 'f' ? UINT32_MAX : UINT16_MAX,
	    &v) == -1)
		return (-1);
	if (ch == 'm') {
		o->dev.manufacturer_code = (uint16_t)v;
		o->have_mfr = 1;
	} else if (ch == 't') {
		o->dev.image_type = (uint16_t)v;
		o->have_type = 1;
	} else if (ch == 'f') {
		o->dev.file_version = (uint32_t)v;
		o->have_version = 1;
	} else {
		o->dev.hardware_version = (uint16_t)v;
		o->dev.has_hardware_version = 1;
	}
	return (0);
}

static int
index_match_args(int argc, char *argv[], struct index_match_opts *o)
{
	static const struct option longopts[] = {
		{ "override",		required_argument, NULL, 'o' },
		{ "data-dir",		required_argument, NULL, 'd' },
		{ "downgrade",		no_argument,	   NULL, 'g' },
		{ "manufacturer-code",	required_argument, NULL, 'm' },
		{ "image-type",		required_argument, NULL, 't' },
		{ "file-version",	required_argument, NULL, 'f' },
		{ "hardware-version",	required_argument, NULL, 'w' },
		{ "model-id",		required_argument, NULL, 'M' },
		{ "manufacturer-name",	required_argument, NULL, 'N' },
		{ NULL,			0,		   NULL, 0 }
	};
	int	 ch, li;

	memset(o, 0, sizeof(*o));
	o->mode = OTAINDEX_UPGRADE;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		if (ch == '?' || index_match_option(o, ch,
		    longopts[li].name) == -1) {
			index_usage();
			return (-1);
		}
	}
	if (optind != argc - 1 || !o->have_mfr || !o->have_type ||
	    !o->have_version) {
		fprintf(stderr, "zotadctl: index match needs one INDEX.json "
		    "and --manufacturer-code, --image-type, --file-version\n");
		index_usage();
		return (-1);
	}
	o->index = argv[optind];
	return (0);
}

/* Read and parse one index file; *RC says why when NULL is returned. */
static struct otaindex *
index_load(const char *path, const struct otaindex_opts *opts, int *rc)
{
	struct otaindex	*idx;
	uint8_t		*buf;
	size_t		 len;
	char		 err[512];

	if (util_read_file(path, OTAINDEX_MAX_BYTES, &buf, &len) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", path, errno == EFBIG ?
		    "larger than an index may be" : strerror(errno));
		*rc = CTL_USAGE;
		return (NULL);
	}
	idx = otaindex_parse((const char *)buf, len, opts, err, sizeof(err));
	free(buf);
	if (idx == NULL) {
		fprintf(stderr, "zotadctl: %s\n", err);
		*rc = CTL_NEGATIVE;
	}
	return (idx);
}

/* The override: local image paths resolve against, and must stay
 * inside, --data-dir or else the directory the override file is in. */
static struct otaindex *
index_load_override(const struct index_match_opts *o, int *rc)
{
	struct otaindex_opts	 opts;
	struct otaindex		*idx;
	char			*dir = NULL, *slash;

	memset(&opts, 0, sizeof(opts));
	opts.source = OTAINDEX_SRC_OVERRIDE;
	opts.name = o->override;
	opts.allow_local_files = 1;
	opts.data_dir = o->data_dir;
	if (opts.data_dir == NULL) {
		if ((dir = realpath(o->override, NULL)) == NULL) {
			fprintf(stderr, "zotadctl: %s: %s\n", o->override,
			    strerror(errno));
			*rc = CTL_USAGE;
			return (NULL);
		}
		slash = strrchr(dir, '/');
		slash[slash == dir ? 1 : 0] = '\0';
		opts.data_dir = dir;
	}
	idx = index_load(o->override, &opts, rc);
	free(dir);
	return (idx);
}

static cJSON *
index_device_json(const struct otaindex_device *d, enum otaindex_mode mode)
{
	cJSON	*o;

	if ((o = cJSON_CreateObject()) == NULL)
		return (NULL);
	cJSON_AddNumberToObject(o, "manufacturerCode", d->manufacturer_code);
	cJSON_AddNumberToObject(o, "imageType", d->image_type);
	cJSON_AddNumberToObject(o, "fileVersion", d->file_version);
	if (d->has_hardware_version)
		cJSON_AddNumberToObject(o, "hardwareVersion",
		    d->hardware_version);
	if (d->model_id != NULL)
		cJSON_AddStringToObject(o, "modelId", d->model_id);
	if (d->manufacturer_name != NULL)
		cJSON_AddStringToObject(o, "manufacturerName",
		    d->manufacturer_name);
	cJSON_AddStringToObject(o, "mode", mode == OTAINDEX_UPGRADE ?
	    "upgrade" : "downgrade");
	return (o);
}

static cJSON *
index_candidate_json(const struct otaindex_candidate *c,
    const struct otaindex_device *dev)
{
	cJSON		*o, *why;
	unsigned int	 bit;
	char		 buf[512];

	o = cJSON_CreateObject();
	why = cJSON_CreateArray();
	if (o == NULL || why == NULL) {
		cJSON_Delete(o);
		cJSON_Delete(why);
		return (NULL);
	}
	cJSON_AddStringToObject(o, "source",
	    otaindex_source_name(c->entry->source));
	cJSON_AddNumberToObject(o, "position", (double)c->entry->position);
	if (c->entry->file_name != NULL)
		cJSON_AddStringToObject(o, "fileName", c->entry->file_name);
	cJSON_AddNumberToObject(o, "fileVersion", c->entry->file_version);
	for (bit = 1; bit < 1U << OTAINDEX_X_COUNT; bit <<= 1)
		if (c->excluded & bit)
			cJSON_AddItemToArray(why, cJSON_CreateString(
			    otaindex_excluded_name(bit)));
	cJSON_AddItemToObject(o, "excludedBy", why);
	otaindex_explain(c, dev, buf, sizeof(buf));
	cJSON_AddStringToObject(o, "reason", buf);
	return (o);
}

/* One sentence on the outcome, for people reading the output. */
static void
index_summary(const struct otaindex_result *r,
    const struct otaindex_device *d, char *buf, size_t len)
{
	size_t	 i, rivals = 0;
	int	 n;

	if (r->ncandidates == 0) {
		snprintf(buf, len, "no entry for manufacturer code 0x%04x "
		    "and image type 0x%04x", d->manufacturer_code,
		    d->image_type);
		return;
	}
	if (r->chosen == NULL) {
		snprintf(buf, len, "none of the %zu entries for manufacturer "
		    "code 0x%04x and image type 0x%04x applies",
		    r->ncandidates, d->manufacturer_code, d->image_type);
		return;
	}
	for (i = 0; i < r->ncandidates; i++)
		if (r->candidates[i].excluded == OTAINDEX_X_OUTRANKED)
			rivals++;
	n = snprintf(buf, len, "%s entry [%zu] ",
	    otaindex_source_name(r->chosen->source), r->chosen->position);
	if (n < 0 || (size_t)n >= len)
		return;
	if (rivals == 0)
		snprintf(buf + n, len - n, "is the only applicable entry");
	else
		snprintf(buf + n, len - n, "wins over %zu other applicable "
		    "entr%s: %s", rivals, rivals == 1 ? "y" : "ies",
		    r->chosen->force ? "it is forced" :
		    "override first, then the highest version");
}

static int
index_report(const struct otaindex_result *r, const struct index_match_opts *o)
{
	cJSON	*out, *list, *c;
	char	 buf[512];
	size_t	 i;

	out = cJSON_CreateObject();
	list = cJSON_CreateArray();
	if (out == NULL || list == NULL) {
		cJSON_Delete(out);
		cJSON_Delete(list);
		return (CTL_USAGE);
	}
	cJSON_AddBoolToObject(out, "available", r->chosen != NULL);
	cJSON_AddItemToObject(out, "device", index_device_json(&o->dev,
	    o->mode));
	if (r->chosen != NULL && (c = otaindex_entry_to_json(r->chosen)) !=
	    NULL) {
		cJSON_AddStringToObject(c, "source",
		    otaindex_source_name(r->chosen->source));
		cJSON_AddNumberToObject(c, "position",
		    (double)r->chosen->position);
		cJSON_AddItemToObject(out, "chosen", c);
	}
	index_summary(r, &o->dev, buf, sizeof(buf));
	cJSON_AddStringToObject(out, "reason", buf);
	for (i = 0; i < r->ncandidates; i++)
		cJSON_AddItemToArray(list, index_candidate_json(
		    &r->candidates[i], &o->dev));
	cJSON_AddItemToObject(out, "candidates", list);
	if (index_print(out) != CTL_OK)
		return (CTL_USAGE);
	return (r->chosen != NULL ? CTL_OK : CTL_NEGATIVE);
}

static int
index_match(int argc, char *argv[])
{
	struct index_match_opts	 o;
	struct otaindex_opts	 mopts;
	struct otaindex		*list[2] = { NULL, NULL };
	struct otaindex_result	 res;
	size_t			 n = 0;
	int			 rc = CTL_USAGE;

	if (index_match_args(argc, argv, &o) == -1)
		return (CTL_USAGE);
	if (o.override != NULL &&
	    (list[n++] = index_load_override(&o, &rc)) == NULL)
		return (rc);
	memset(&mopts, 0, sizeof(mopts));
	mopts.source = o.mode == OTAINDEX_UPGRADE ? OTAINDEX_SRC_MAIN :
	    OTAINDEX_SRC_DOWNGRADE;
	mopts.name = o.index;
	if ((list[n++] = index_load(o.index, &mopts, &rc)) == NULL) {
		otaindex_free(list[0]);
		return (rc);
	}
	if (otaindex_match((const struct otaindex *const *)list, n, &o.dev,
	    o.mode, &res) == -1) {
		fprintf(stderr, "zotadctl: out of memory\n");
		rc = CTL_USAGE;
	} else {
		rc = index_report(&res, &o);
		otaindex_result_free(&res);
	}
	otaindex_free(list[0]);
	otaindex_free(list[1]);
	return (rc);
}

int
ctl_index(int argc, char *argv[])
{
	if (argc < 2) {
		index_usage();
		return (CTL_USAGE);
	}
	if (strcmp(argv[1], "add") == 0)
		return (index_add(argc - 1, argv + 1));
	if (strcmp(argv[1], "match") == 0)
		return (index_match(argc - 1, argv + 1));
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		index_usage();
		return (CTL_OK);
	}
	fprintf(stderr, "zotadctl: index: unknown subcommand '%s'\n",
	    argv[1]);
	index_usage();
	return (CTL_USAGE);
}
