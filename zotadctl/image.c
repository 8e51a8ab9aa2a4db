/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * zotadctl image: inspect OTA files and make synthetic ones. Results are
 * JSON on stdout, errors go to stderr, and the exit status says whether
 * an image was invalid (1) or the command itself failed (2).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cJSON.h>

#include "otafile.h"
#include "util.h"
#include "zotadctl.h"

/* Larger than any real OTA file (the largest known is about 2 MiB). */
#define IMAGE_FILE_MAX		(64 * 1024 * 1024)

struct image_make_opts {
	struct ota_make_params	 p;
	int			 have_mfr, have_type, have_version;
	int			 have_size, have_hw_min, have_hw_max;
};

static int	image_inspect(int, char *[]);
static int	image_make(int, char *[]);

static void
image_usage(void)
{
	fprintf(stderr, "usage:\tzotadctl image inspect FILE...\n"
	    "\tzotadctl image make --manufacturer-code N --image-type N\n"
	    "\t    --file-version N --size BYTES [--header-string S]\n"
	    "\t    [--hw-min N --hw-max N] [--stack-version N] [--seed N] "
	    "OUT\n"
	    "numbers are decimal or 0x hex\n");
}

static const char *
image_basename(const char *path)
{
	const char	*slash = strrchr(path, '/');

	return (slash != NULL && slash[1] != '\0' ? slash + 1 : path);
}

/* Warnings an operator should see about an image that is still valid. */
static int
image_add_warnings(cJSON *o, const struct ota_image *img)
{
	cJSON	*w;
	char	 msg[128];

	if ((w = cJSON_AddArrayToObject(o, "warnings")) == NULL)
		return (-1);
	if (img->trailing_len > 0) {
		snprintf(msg, sizeof(msg), "%zu bytes after the total image "
		    "size are not served", img->trailing_len);
		cJSON_AddItemToArray(w, cJSON_CreateString(msg));
	}
	if (img->tags_opaque)
		cJSON_AddItemToArray(w, cJSON_CreateString(img->tag_warning));
	return (0);
}

/* Put KEY: VALUE first in O, so each report starts with the file name. */
static int
image_add_first(cJSON *o, const char *key, const char *value)
{
	cJSON	*tmp, *item;

	if ((tmp = cJSON_CreateObject()) == NULL)
		return (-1);
	if (!cJSON_AddStringToObject(tmp, key, value)) {
		cJSON_Delete(tmp);
		return (-1);
	}
	item = cJSON_DetachItemFromObjectCaseSensitive(tmp, key);
	cJSON_Delete(tmp);
	if (!cJSON_InsertItemInArray(o, 0, item)) {
		cJSON_Delete(item);
		return (-1);
	}
	return (0);
}

/* The JSON report of one file: NULL only when out of memory. */
static cJSON *
image_report(const char *path, const uint8_t *buf, size_t len,
    const struct ota_image *img, const char *err)
{
	cJSON	*o;
	char	 hex[SHA512_HEX_LEN + 1];

	o = err == NULL ? ota_image_json(img) : cJSON_CreateObject();
	if (o == NULL)
		return (NULL);
	util_sha512_hex(buf, len, hex);
	if (image_add_first(o, "fileName", image_basename(path)) == -1 ||
	    !cJSON_AddNumberToObject(o, "fileLength", len) ||
	    !cJSON_AddStringToObject(o, "sha512", hex) ||
	    !cJSON_AddBoolToObject(o, "valid", err == NULL) ||
	    (err != NULL && !cJSON_AddStringToObject(o, "error", err)) ||
	    (err == NULL && image_add_warnings(o, img) == -1)) {
		cJSON_Delete(o);
		return (NULL);
	}
	return (o);
}

/*
 * Inspect PATH into *OUT. Returns CTL_OK, CTL_NEGATIVE for an invalid
 * image (reported in *OUT too), or CTL_USAGE when it cannot be read.
 */
static int
image_inspect_one(const char *path, cJSON **out)
{
	static struct ota_image	 img;
	uint8_t			*buf;
	size_t			 len;
	char			 err[256];
	int			 bad;

	*out = NULL;
	if (util_read_file(path, IMAGE_FILE_MAX, &buf, &len) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", path, errno == EFBIG ?
		    "larger than any OTA file (64 MiB)" : strerror(errno));
		return (CTL_USAGE);
	}
	bad = ota_parse(buf, len, &img, err, sizeof(err)) == -1;
	if (bad)
		fprintf(stderr, "zotadctl: %s: invalid OTA file: %s\n", path,
		    err);
	*out = image_report(path, buf, len, &img, bad ? err : NULL);
	free(buf);
	if (*out == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		return (CTL_USAGE);
	}
	return (bad ? CTL_NEGATIVE : CTL_OK);
}

static int
image_print(cJSON *json)
{
	char	*s;

	if ((s = cJSON_Print(json)) == NULL) {
		fprintf(stderr, "zotadctl: out of memory\n");
		return (-1);
	}
	printf("%s\n", s);
	free(s);
	return (0);
}

static int
image_inspect(int argc, char *argv[])
{
	cJSON	*arr, *o;
	int	 i, rc, worst = CTL_OK;

	if (argc < 2) {
		image_usage();
		return (CTL_USAGE);
	}
	if ((arr = cJSON_CreateArray()) == NULL)
		return (CTL_USAGE);
	for (i = 1; i < argc; i++) {
		rc = image_inspect_one(argv[i], &o);
		if (rc > worst)
			worst = rc;
		if (o != NULL)
			cJSON_AddItemToArray(arr, o);
	}

	/* One file gives one object, several an array. */
	o = argc == 2 ? cJSON_DetachItemFromArray(arr, 0) : NULL;
	if (argc > 2 || o != NULL)
		if (image_print(argc == 2 ? o : arr) == -1)
			worst = CTL_USAGE;
	cJSON_Delete(o);
	cJSON_Delete(arr);
	return (worst);
}

/*
 * Parse S, decimal or 0x hex, as a number up to MAX for option NAME.
 * Prints why and returns -1 when it is not one.
 */
static int
image_number(const char *name, const char *s, uint64_t min, uint64_t max,
    uint64_t *out)
{
	const char		*digits = s, *why = NULL;
	char			*end;
	unsigned long long	 v = 0;
	int			 base = 10;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		digits = s + 2;
		base = 16;
	}

	/* strtoull would take a sign or blanks: only digits may start. */
	if (*digits == '\0' || strchr("0123456789abcdefABCDEF",
	    *digits) == NULL)
		why = "not a number";
	else {
		errno = 0;
		v = strtoull(digits, &end, base);
		if (*end != '\0')
			why = "not a number";
		else if (errno == ERANGE || v < min || v > max)
			why = "out of range";
	}
	if (why != NULL) {
		fprintf(stderr, "zotadctl: --%s: '%s' is %s: expected a "
		    "number from %llu to %llu (decimal or 0x hex)\n", name, s,
		    why, (unsigned long long)min, (unsigned long long)max);
		return (-1);
	}
	*out = v;
	return (0);
}

enum image_opt {
	IMAGE_OPT_MFR = 1, IMAGE_OPT_TYPE, IMAGE_OPT_VERSION, IMAGE_OPT_SIZE,
	IMAGE_OPT_STRING, IMAGE_OPT_HW_MIN, IMAGE_OPT_HW_MAX,
	IMAGE_OPT_STACK, IMAGE_OPT_SEED
};

static const struct option image_make_longopts[] = {
	{ "manufacturer-code",	required_argument, NULL, IMAGE_OPT_MFR },
	{ "image-type",		required_argument, NULL, IMAGE_OPT_TYPE },
	{ "file-version",	required_argument, NULL, IMAGE_OPT_VERSION },
	{ "size",		required_argument, NULL, IMAGE_OPT_SIZE },
	{ "header-string",	required_argument, NULL, IMAGE_OPT_STRING },
	{ "hw-min",		required_argument, NULL, IMAGE_OPT_HW_MIN },
	{ "hw-max",		required_argument, NULL, IMAGE_OPT_HW_MAX },
	{ "stack-version",	required_argument, NULL, IMAGE_OPT_STACK },
	{ "seed",		required_argument, NULL, IMAGE_OPT_SEED },
	{ NULL, 0, NULL, 0 }
};

/* Apply one numeric option; -1 after printing why it is wrong. */
static int
image_make_number(struct image_make_opts *o, int opt, const char *arg)
{
	const char	*name = image_make_longopts[opt - 1].name;
	uint64_t	 v, max = opt == IMAGE_OPT_VERSION ||
			    opt == IMAGE_OPT_SEED ? UINT32_MAX : UINT16_MAX;

	if (opt == IMAGE_OPT_SIZE)
		max = IMAGE_FILE_MAX;
	if (image_number(name, arg, 0, max, &v) == -1)
		return (-1);
	switch (opt) {
	case IMAGE_OPT_MFR:
		o->p.manufacturer_code = v;
		o->have_mfr = 1;
		break;
	case IMAGE_OPT_TYPE:
		o->p.image_type = v;
		o->have_type = 1;
		break;
	case IMAGE_OPT_VERSION:
		o->p.file_version = v;
		o->have_version = 1;
		break;
	case IMAGE_OPT_SIZE:
		o->p.total_size = v;
		o->have_size = 1;
		break;
	case IMAGE_OPT_HW_MIN:
		o->p.min_hw_version = v;
		o->have_hw_min = 1;
		break;
	case IMAGE_OPT_HW_MAX:
		o->p.max_hw_version = v;
		o->have_hw_max = 1;
		break;
	case IMAGE_OPT_STACK:
		o->p.stack_version = v;
		break;
	case IMAGE_OPT_SEED:
		o->p.seed = v;
		break;
	}
	return (0);
}

/* Checks across options, once all are read. */
static int
image_make_check(struct image_make_opts *o)
{
	const char	*missing = NULL;
	size_t		 min;

	if (!o->have_size)
		missing = "size";
	if (!o->have_version)
		missing = "file-version";
	if (!o->have_type)
		missing = "image-type";
	if (!o->have_mfr)
		missing = "manufacturer-code";
	if (missing != NULL) {
		fprintf(stderr, "zotadctl: --%s is required\n", missing);
		return (-1);
	}
	if (o->have_hw_min != o->have_hw_max) {
		fprintf(stderr, "zotadctl: --hw-min and --hw-max go "
		    "together\n");
		return (-1);
	}
	o->p.has_hw_versions = o->have_hw_min;
	if (o->p.has_hw_versions && o->p.min_hw_version > o->p.max_hw_version) {
		fprintf(stderr, "zotadctl: --hw-min %u is above --hw-max %u\n",
		    o->p.min_hw_version, o->p.max_hw_version);
		return (-1);
	}
	min = ota_make_min_size(&o->p);
	if (o->p.total_size < min) {
		fprintf(stderr, "zotadctl: --size: %u bytes cannot hold the "
		    "header and a tag; at least %zu needed\n",
		    o->p.total_size, min);
		return (-1);
	}
	return (0);
}

static int
image_make_options(int argc, char *argv[], struct image_make_opts *o)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->p.stack_version = OTA_STACK_PRO;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", image_make_longopts,
	    NULL)) != -1) {
		if (ch == IMAGE_OPT_STRING) {
			if (strlen(optarg) > OTA_HEADER_STRING_LEN) {
				fprintf(stderr, "zotadctl: --header-string: "
				    "%zu bytes, at most %d fit\n",
				    strlen(optarg), OTA_HEADER_STRING_LEN);
				return (-1);
			}
			o->p.header_string = optarg;
		} else if (ch > 0 && ch <= IMAGE_OPT_SEED) {
			if (image_make_number(o, ch, optarg) == -1)
				return (-1);
		} else {
			fprintf(stderr, "zotadctl: %s: unknown option or "
			    "missing value\n", argv[optind - 1]);
			return (-1);
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "zotadctl: image make needs exactly one "
		    "output file\n");
		return (-1);
	}
	return (image_make_check(o));
}

static int
image_write(const char *path, const uint8_t *buf, size_t len)
{
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) == -1)
		return (-1);
	while (off < len) {
		if ((n = write(fd, buf + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return (-1);
		}
		off += n;
	}
	return (close(fd));
}

static int
image_make(int argc, char *argv[])
{
	static struct ota_image	 img;
	struct image_make_opts	 o;
	uint8_t			*buf;
	size_t			 len;
	const char		*out;
	char			 err[256];
	cJSON			*json;
	int			 rc = CTL_OK;

	if (image_make_options(argc, argv, &o) == -1) {
		image_usage();
		return (CTL_USAGE);
	}
	out = argv[optind];
	if (ota_make(&o.p, &buf, &len) == -1) {
		fprintf(stderr, "zotadctl: cannot make image: %s\n",
		    strerror(errno));
		return (CTL_USAGE);
	}
	if (image_write(out, buf, len) == -1) {
		fprintf(stderr, "zotadctl: %s: %s\n", out, strerror(errno));
		free(buf);
		return (CTL_USAGE);
	}

	/* Report what a later inspect will read from the new file. */
	if (ota_parse(buf, len, &img, err, sizeof(err)) == -1 ||
	    (json = image_report(out, buf, len, &img, NULL)) == NULL) {
		fprintf(stderr, "zotadctl: %s: cannot report image\n", out);
		free(buf);
		return (CTL_USAGE);
	}
	if (image_print(json) == -1)
		rc = CTL_USAGE;
	cJSON_Delete(json);
	free(buf);
	return (rc);
}

int
ctl_image(int argc, char *argv[])
{
	if (argc < 2) {
		image_usage();
		return (CTL_USAGE);
	}
	if (strcmp(argv[1], "inspect") == 0)
		return (image_inspect(argc - 1, argv + 1));
	if (strcmp(argv[1], "make") == 0)
		return (image_make(argc - 1, argv + 1));
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		image_usage();
		return (CTL_OK);
	}
	fprintf(stderr, "zotadctl: image: unknown subcommand '%s'\n", argv[1]);
	image_usage();
	return (CTL_USAGE);
}
