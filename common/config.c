/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * The configuration loader. libyaml's event parser builds a small tree
 * (no aliases, bounded depth and size), which is then walked against
 * tables of known keys, one table per section.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "util.h"

#define CFG_MAX_DEPTH	32	/* nesting; real files use 3 or 4 levels */
#define CFG_MAX_NODES	100000	/* a few thousand devices, and then some */
#define CFG_SHOW_MAX	40	/* characters of a bad value in messages */
#define CFG_SHOW_BUF	64
#define CFG_PATH_MAX	128	/* dotted key paths */
#define CFG_MSG_MAX	384
#define CFG_NAME_MAX	255	/* friendly names and topics */
#define CFG_MAX_FILES	16	/* device files in one list */
#define CFG_MAX_DEVICES	(CFG_MAX_NODES / 2)	/* in all files together */

#define CFG_HIDE	0x01	/* a secret: never shown */

#define CFG_DEFAULT_SERVER	"mqtt://localhost:1883"
#define CFG_INDEX_URL \
	"https://raw.githubusercontent.com/Koenkk/zigbee-OTA/master/index.json"
#define CFG_DOWNGRADE_INDEX_URL \
	"https://raw.githubusercontent.com/Koenkk/zigbee-OTA/master/index1.json"
#define CFG_IKEA_INDEX_URL \
	"http://fw.ota.homesmart.ikea.net/feed/version_info.json"
#define CFG_IKEA_TEST_INDEX_URL \
	"http://fw.test.ota.homesmart.ikea.net/feed/version_info.json"

enum cfg_kind {
	CFG_SCALAR,
	CFG_SEQ,
	CFG_MAP
};

struct cfg_node {
	enum cfg_kind	 kind;
	char		*text;		/* scalars: the value, no NUL inside */
	int		 plain;		/* written without quotes */
	int		 secret_ref;	/* tagged !secret */
	int		 hidden;	/* from the secret file: never shown */
	int		 line;
	struct cfg_node	*child;		/* maps: key, value, key, value... */
	struct cfg_node	*last;
	struct cfg_node	*next;
	struct cfg_node	*chain;		/* every node of a tree, for freeing */
};

struct cfg_tree {
	struct cfg_node	*root;		/* NULL for an empty file */
	struct cfg_node	*chain;
	size_t		 nnodes;
	struct cfg_node	*stack[CFG_MAX_DEPTH];
	size_t		 depth;
	int		 ndocs;
};

/* A device file: its name in messages, and the file it resolved to. */
struct cfg_devfile {
	char		*shown;
	char		*real;
};

/* Where a device was read, for messages about two of them. */
struct cfg_origin {
	const char	*file;
	int		 line;
};

struct cfg_ctx {
	const char	*file;		/* the file being read, for messages */
	const char	*name;		/* the configuration file */
	const char	*data_dir;
	const char	*shown_dir;	/* the data dir as the user wrote it */
	char		*real_dir;	/* the data dir, links resolved */
	struct cfg_devfile files[CFG_MAX_FILES];
	size_t		 nfiles;
	struct cfg_origin *origins;	/* one per device */
	char		*secret_path;
	struct cfg_tree	 secrets;
	int		 secrets_read;
	struct config	*cfg;
	char		*err;
	size_t		 errlen;
};

struct cfg_key;
typedef int cfg_parse_fn(struct cfg_ctx *, const struct cfg_key *,
    struct cfg_node *, const char *, void *);

struct cfg_enum {
	const char	*name;
	int		 value;
};

struct cfg_key {
	const char		*name;
	cfg_parse_fn		*parse;
	size_t			 off;	/* of the field in the base struct */
	long long		 min;
	long long		 max;
	const char		*allowed;	/* said in messages */
	int			(*check)(const char *);
	const struct cfg_enum	*enums;
	int			 flags;
};

struct cfg_section {
	const char		*name;
	const struct cfg_key	*keys;
	const char *const	*ignored;
	int			(*walk)(struct cfg_ctx *, struct cfg_node *,
				    const char *);
};

struct cfg_named {
	char		*name;
	const char	*file;		/* for messages */
	int		 line;
	size_t		 seq;		/* the order read */
};

/* Messages. */

static int
cfg_error(struct cfg_ctx *ctx, int line, const char *path, const char *fmt,
    ...)
{
	char	 msg[CFG_MSG_MAX];
	char	 where[CFG_PATH_MAX + 16];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	else
		where[0] = '\0';
	if (path != NULL && *path != '\0')
		snprintf(ctx->err, ctx->errlen, "%s%s: %s: %s", ctx->file,
		    where, path, msg);
	else
		snprintf(ctx->err, ctx->errlen, "%s%s: %s", ctx->file, where,
		    msg);
	return (-1);
}

/* Quote S for a message: printable, short, cut on a character boundary. */
static void
cfg_quote(const char *s, char *out, size_t size)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 o = 0;

	out[o++] = '\'';
	for (; *p != '\0'; p++) {
		/* Past the limit, only finish the character begun. */
		if (o >= CFG_SHOW_MAX &&
		    ((*p & 0xc0) != 0x80 || o >= CFG_SHOW_MAX + 3))
			break;
		if (*p < 0x20 || *p == 0x7f || *p == '\'' || *p == '\\')
			o += snprintf(out + o, size - o, "\\x%02x", *p);
		else
			out[o++] = (char)*p;
	}
	if (*p != '\0') {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '\'';
	out[o] = '\0';
}

static void
cfg_show(const struct cfg_node *n, int hide, char *out, size_t size)
{
	if (hide || n->hidden)
		snprintf(out, size, "'<hidden>'");
	else if (n->kind != CFG_SCALAR)
		snprintf(out, size, "%s", n->kind == CFG_MAP ? "a map" :
		    "a list");
	else
		cfg_quote(n->text, out, size);
}

/* "VALUE WHAT (ALLOWED)", with the value hidden for secrets. */
static int
cfg_bad(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_node *n, const char *path, const char *what)
{
	char	 shown[CFG_SHOW_BUF];

	cfg_show(n, key != NULL && (key->flags & CFG_HIDE), shown,
	    sizeof(shown));
	if (key != NULL && key->allowed != NULL)
		return (cfg_error(ctx, n->line, path, "%s %s (%s)", shown,
		    what, key->allowed));
	return (cfg_error(ctx, n->line, path, "%s %s", shown, what));
}

static const char *
cfg_kind_name(enum cfg_kind kind)
{
	switch (kind) {
	case CFG_MAP:
		return ("a map");
	case CFG_SEQ:
		return ("a list");
	default:
		return ("a value");
	}
}

static int
cfg_type_error(struct cfg_ctx *ctx, const struct cfg_node *n,
    const char *path, const char *expected)
{
	return (cfg_error(ctx, n->line, path, "expected %s, found %s",
	    expected, cfg_kind_name(n->kind)));
}

static int
cfg_warn(struct cfg_ctx *ctx, int line, const char *fmt, ...)
{
	struct config	*cfg = ctx->cfg;
	char		 msg[CFG_MSG_MAX], full[CFG_MSG_MAX + CFG_PATH_MAX];
	char		**w;
	va_list		 ap;

	if (cfg->nwarnings > CONFIG_MAX_WARNINGS)
		return (0);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cfg->nwarnings == CONFIG_MAX_WARNINGS)
		snprintf(full, sizeof(full),
		    "%s: more unknown keys, not listed", ctx->file);
	else
		snprintf(full, sizeof(full), "%s:%d: %s", ctx->file, line, msg);

	w = reallocarray(cfg->warnings, cfg->nwarnings + 1, sizeof(*w));
	if (w == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	cfg->warnings = w;
	if ((w[cfg->nwarnings] = strdup(full)) == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	cfg->nwarnings++;
	return (0);
}

static void
cfg_path(char *out, size_t size, const char *parent, const char *key)
{
	if (parent == NULL || *parent == '\0')
		snprintf(out, size, "%s", key);
	else
		snprintf(out, size, "%s.%s", parent, key);
}

static int
cfg_strdup(struct cfg_ctx *ctx, char **dst, const char *s)
{
	free(*dst);
	if ((*dst = strdup(s)) == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	return (0);
}

/* The YAML tree. */

static void
cfg_tree_free(struct cfg_tree *t)
{
	struct cfg_node	*n, *next;

	for (n = t->chain; n != NULL; n = next) {
		next = n->chain;
		if (n->text != NULL) {
			/* Secret values should not linger in freed memory. */
			explicit_bzero(n->text, strlen(n->text));
			free(n->text);
		}
		free(n);
	}
	memset(t, 0, sizeof(*t));
}

static int
cfg_yaml_error(struct cfg_ctx *ctx, const yaml_parser_t *p)
{
	const char	*problem = p->problem ? p->problem : "unknown error";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	case YAML_READER_ERROR:
		return (cfg_error(ctx, 0, NULL,
		    "not valid text at byte %zu: %s", p->problem_offset,
		    problem));
	default:
		break;
	}
	if (p->context != NULL)
		return (cfg_error(ctx, (int)p->problem_mark.line + 1, NULL,
		    "YAML syntax error: %s (%s at line %d)", problem,
		    p->context, (int)p->context_mark.line + 1));
	return (cfg_error(ctx, (int)p->problem_mark.line + 1, NULL,
	    "YAML syntax error: %s", problem));
}

static struct cfg_node *
cfg_node_add(struct cfg_ctx *ctx, struct cfg_tree *t, enum cfg_kind kind,
    int line)
{
	struct cfg_node	*n, *parent;

	if (t->nnodes >= CFG_MAX_NODES) {
		cfg_error(ctx, line, NULL, "more than %d YAML nodes",
		    CFG_MAX_NODES);
		return (NULL);
	}
	if ((n = calloc(1, sizeof(*n))) == NULL) {
		cfg_error(ctx, 0, NULL, "out of memory");
		return (NULL);
	}
	n->kind = kind;
	n->line = line;
	n->chain = t->chain;
	t->chain = n;
	t->nnodes++;

	if (t->depth == 0) {
		t->root = n;
		return (n);
	}
	parent = t->stack[t->depth - 1];
	if (parent->last != NULL)
		parent->last->next = n;
	else
		parent->child = n;
	parent->last = n;
	return (n);
}

/* Standard tags change nothing for us; !secret is the only local one. */
static int
cfg_tag(struct cfg_ctx *ctx, int line, const yaml_char_t *utag,
    struct cfg_node *n)
{
	const char	*tag = (const char *)utag;
	char		 shown[CFG_SHOW_BUF];

	if (tag == NULL || strcmp(tag, "!") == 0 ||
	    strncmp(tag, "tag:yaml.org,2002:", 18) == 0)
		return (0);
	if (strcmp(tag, "!secret") == 0 && n->kind == CFG_SCALAR) {
		n->secret_ref = 1;
		return (0);
	}
	cfg_quote(tag, shown, sizeof(shown));
	return (cfg_error(ctx, line, NULL, "unsupported YAML tag %s", shown));
}

static int
cfg_tree_scalar(struct cfg_ctx *ctx, struct cfg_tree *t,
    const yaml_event_t *ev, int line)
{
	const char	*value = (const char *)ev->data.scalar.value;
	size_t		 len = ev->data.scalar.length;
	struct cfg_node	*n;

	if (memchr(value, '\0', len) != NULL)
		return (cfg_error(ctx, line, NULL,
		    "NUL characters are not allowed"));
	if ((n = cfg_node_add(ctx, t, CFG_SCALAR, line)) == NULL)
		return (-1);
	if ((n->text = malloc(len + 1)) == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	memcpy(n->text, value, len);
	n->text[len] = '\0';
	n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	return (cfg_tag(ctx, line, ev->data.scalar.tag, n));
}

static int
cfg_tree_open(struct cfg_ctx *ctx, struct cfg_tree *t, enum cfg_kind kind,
    const yaml_char_t *tag, int line)
{
	struct cfg_node	*n;

	if (t->depth == CFG_MAX_DEPTH)
		return (cfg_error(ctx, line, NULL,
		    "nested deeper than %d levels", CFG_MAX_DEPTH));
	if ((n = cfg_node_add(ctx, t, kind, line)) == NULL)
		return (-1);
	t->stack[t->depth++] = n;
	return (cfg_tag(ctx, line, tag, n));
}

static int
cfg_tree_event(struct cfg_ctx *ctx, struct cfg_tree *t,
    const yaml_event_t *ev)
{
	int	 line = (int)ev->start_mark.line + 1;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++t->ndocs > 1)
			return (cfg_error(ctx, line, NULL,
			    "only one YAML document is allowed"));
		return (0);
	case YAML_ALIAS_EVENT:
		/* Aliases are how YAML bombs expand; nobody needs them. */
		return (cfg_error(ctx, line, NULL,
		    "YAML aliases (*name) are not supported"));
	case YAML_SCALAR_EVENT:
		return (cfg_tree_scalar(ctx, t, ev, line));
	case YAML_SEQUENCE_START_EVENT:
		return (cfg_tree_open(ctx, t, CFG_SEQ,
		    ev->data.sequence_start.tag, line));
	case YAML_MAPPING_START_EVENT:
		return (cfg_tree_open(ctx, t, CFG_MAP,
		    ev->data.mapping_start.tag, line));
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		t->depth--;
		return (0);
	default:
		return (0);
	}
}

static int
cfg_tree_parse(struct cfg_ctx *ctx, const char *buf, size_t len,
    struct cfg_tree *t)
{
	yaml_parser_t	 parser;
	yaml_event_t	 ev;
	int		 done = 0, rc = 0;

	if (!yaml_parser_initialize(&parser))
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	yaml_parser_set_input_string(&parser,
	    (const unsigned char *)(buf != NULL ? buf : ""), len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = cfg_yaml_error(ctx, &parser);
			break;
		}
		rc = cfg_tree_event(ctx, t, &ev);
		done = ev.type == YAML_STREAM_END_EVENT;
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return (rc);
}

/* Walking the tree. */

static int
cfg_is_null(const struct cfg_node *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL",
	    NULL };
	size_t	 i;

	if (n->kind != CFG_SCALAR || !n->plain || n->secret_ref)
		return (0);
	for (i = 0; nulls[i] != NULL; i++)
		if (strcmp(n->text, nulls[i]) == 0)
			return (1);
	return (0);
}

static int
cfg_named_cmp(const void *a, const void *b)
{
	const struct cfg_named	*x = a, *y = b;
	int			 c;

	if ((c = strcmp(x->name, y->name)) != 0)
		return (c);
	return (x->seq < y->seq ? -1 : x->seq > y->seq);
}

/* DUP, seen before at FIRST: said at DUP's place, in DUP's file. */
static int
cfg_named_error(struct cfg_ctx *ctx, const struct cfg_named *dup,
    const struct cfg_named *first, const char *path, const char *what)
{
	const char	*saved = ctx->file;
	char		 shown[CFG_SHOW_BUF], full[CFG_PATH_MAX];
	char		 at[PATH_MAX + 32];

	if (strcmp(first->file, dup->file) == 0)
		snprintf(at, sizeof(at), "line %d", first->line);
	else
		snprintf(at, sizeof(at), "%s:%d", first->file, first->line);
	ctx->file = dup->file;
	if (strcmp(what, "key") == 0) {
		cfg_path(full, sizeof(full), path, dup->name);
		cfg_quote(full, shown, sizeof(shown));
		cfg_error(ctx, dup->line, NULL, "duplicate key %s (first at "
		    "%s)", shown, at);
	} else {
		cfg_quote(dup->name, shown, sizeof(shown));
		cfg_error(ctx, dup->line, path, "duplicate %s %s (first at "
		    "%s)", what, shown, at);
	}
	ctx->file = saved;
	return (-1);
}

/*
 * Find the first repeated name in NAMES (sorted here) and report it at
 * its second place; sorting keeps big hostile maps from costing n^2.
 */
static int
cfg_check_named(struct cfg_ctx *ctx, struct cfg_named *names, size_t n,
    const char *path, const char *what)
{
	const struct cfg_named	*dup = NULL, *first = NULL;
	size_t			 i;

	if (n < 2)
		return (0);
	qsort(names, n, sizeof(*names), cfg_named_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(names[i - 1].name, names[i].name) != 0)
			continue;
		if (dup == NULL || names[i].seq < dup->seq) {
			dup = &names[i];
			first = &names[i - 1];
		}
	}
	if (dup == NULL)
		return (0);
	return (cfg_named_error(ctx, dup, first, path, what));
}

static char *
cfg_lower(const char *s)
{
	char	*l, *c;

	if ((l = strdup(s)) == NULL)
		return (NULL);
	for (c = l; *c != '\0'; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	return (l);
}

/* Keys must be plain values and appear once; NOCASE for IEEE keys. */
static int
cfg_check_keys(struct cfg_ctx *ctx, const struct cfg_node *map,
    const char *path, int nocase)
{
	struct cfg_named	*names;
	struct cfg_node		*k;
	size_t			 n = 0, i;
	int			 rc;

	for (k = map->child; k != NULL; k = k->next->next) {
		if (k->kind != CFG_SCALAR)
			return (cfg_error(ctx, k->line, path,
			    "a key must be a plain value, not %s",
			    cfg_kind_name(k->kind)));
		n++;
	}
	if ((names = calloc(n ? n : 1, sizeof(*names))) == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	rc = 0;
	for (i = 0, k = map->child; k != NULL; k = k->next->next, i++) {
		names[i].name = k->text;
		names[i].file = ctx->file;
		names[i].line = k->line;
		names[i].seq = i;
		if (nocase && (names[i].name = cfg_lower(k->text)) == NULL)
			rc = cfg_error(ctx, 0, NULL, "out of memory");
	}
	if (rc == 0)
		rc = cfg_check_named(ctx, names, n, path, "key");
	if (nocase)
		for (i = 0; i < n; i++)
			free(names[i].name);
	free(names);
	return (rc);
}

static struct cfg_node *
cfg_map_get(const struct cfg_node *map, const char *key)
{
	struct cfg_node	*k;

	if (map == NULL || map->kind != CFG_MAP)
		return (NULL);
	for (k = map->child; k != NULL; k = k->next->next)
		if (k->kind == CFG_SCALAR && strcmp(k->text, key) == 0)
			return (k->next);
	return (NULL);
}

/* Secrets. */

static void
cfg_tree_hide(struct cfg_tree *t)
{
	struct cfg_node	*n;

	for (n = t->chain; n != NULL; n = n->chain)
		n->hidden = 1;
}

static int
cfg_secrets_parse(struct cfg_ctx *ctx, const char *buf, size_t len)
{
	const char	*saved = ctx->file;
	struct cfg_node	*root;
	int		 rc = 0;

	ctx->file = ctx->secret_path;
	if (cfg_tree_parse(ctx, buf, len, &ctx->secrets) == -1)
		rc = -1;
	else if ((root = ctx->secrets.root) != NULL && !cfg_is_null(root)) {
		if (root->kind != CFG_MAP)
			rc = cfg_type_error(ctx, root, NULL,
			    "a map of secrets");
		else
			rc = cfg_check_keys(ctx, root, NULL, 0);
	}
	ctx->file = saved;
	cfg_tree_hide(&ctx->secrets);
	return (rc);
}

static int
cfg_secrets_read(struct cfg_ctx *ctx, const struct cfg_node *ref,
    const char *path, const char *shown)
{
	uint8_t	*buf;
	size_t	 len;
	int	 rc;

	if (ctx->secrets_read)
		return (0);
	if (util_read_file(ctx->secret_path, CONFIG_FILE_MAX, &buf, &len) ==
	    -1) {
		if (errno == EFBIG)
			return (cfg_error(ctx, ref->line, path, "secret %s: %s "
			    "is larger than %d bytes", shown, ctx->secret_path,
			    CONFIG_FILE_MAX));
		return (cfg_error(ctx, ref->line, path, "secret %s: cannot "
		    "read %s: %s", shown, ctx->secret_path, strerror(errno)));
	}
	ctx->secrets_read = 1;
	rc = cfg_secrets_parse(ctx, (const char *)buf, len);
	explicit_bzero(buf, len);
	free(buf);
	return (rc);
}

/*
 * zigbee2mqtt writes '!secret NAME' as a quoted string; a YAML tag
 * (!secret NAME, unquoted) means the same. Returns the node to use: N
 * itself, or COPY filled from secret.yaml, hidden and at N's line.
 */
static struct cfg_node *
cfg_resolve(struct cfg_ctx *ctx, struct cfg_node *n, const char *path,
    struct cfg_node *copy)
{
	const char	*name;
	struct cfg_node	*s;
	char		 shown[CFG_SHOW_BUF];

	if (n->kind != CFG_SCALAR)
		return (n);
	if (n->secret_ref)
		name = n->text;
	else if (strncmp(n->text, "!secret ", 8) == 0)
		name = n->text + 8;
	else
		return (n);
	name += strspn(name, " ");
	cfg_quote(name, shown, sizeof(shown));
	if (*name == '\0') {
		cfg_error(ctx, n->line, path, "!secret needs a name");
		return (NULL);
	}
	if (cfg_secrets_read(ctx, n, path, shown) == -1)
		return (NULL);
	if ((s = cfg_map_get(ctx->secrets.root, name)) == NULL) {
		cfg_error(ctx, n->line, path, "secret %s is not in %s", shown,
		    ctx->secret_path);
		return (NULL);
	}
	*copy = *s;
	copy->line = n->line;
	copy->hidden = 1;
	copy->next = NULL;
	return (copy);
}

/* Values. */

static int
cfg_scalar(struct cfg_ctx *ctx, const struct cfg_node *n, const char *path,
    const char *expected)
{
	if (n->kind == CFG_SCALAR)
		return (0);
	return (cfg_type_error(ctx, n, path, expected));
}

/* YAML 1.2 core integers: decimal, 0x hex or 0o octal. */
static int
cfg_parse_ll(const char *s, long long *v)
{
	unsigned long long	 acc = 0, limit = LLONG_MAX;
	unsigned int		 base = 10, d;
	int			 neg = 0, digits = 0;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
		base = s[1] == 'x' ? 16 : 8;
		s += 2;
	}
	for (; *s != '\0'; s++, digits++) {
		if (*s >= '0' && *s <= '9')
			d = (unsigned int)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned int)(*s - 'a' + 10);
		else if (*s >= 'A' && *s <= 'F')
			d = (unsigned int)(*s - 'A' + 10);
		else
			return (-1);
		if (d >= base)
			return (-1);
		if (acc > (limit - d) / base)
			return (-2);
		acc = acc * base + d;
	}
	if (digits == 0)
		return (-1);
	*v = neg ? -(long long)acc : (long long)acc;
	return (0);
}

static int
cfg_int_value(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_node *n, const char *path, long long *v)
{
	int	 r;

	if (cfg_scalar(ctx, n, path, "an integer") == -1)
		return (-1);
	if ((r = cfg_parse_ll(n->text, v)) == -1)
		return (cfg_bad(ctx, key, n, path, "is not an integer"));
	if (r == -2 || *v < key->min || *v > key->max)
		return (cfg_bad(ctx, key, n, path, "is out of range"));
	return (0);
}

static int
cfg_p_int(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	long long	 v;

	if (cfg_is_null(n))
		return (0);
	if (cfg_int_value(ctx, key, n, path, &v) == -1)
		return (-1);
	*(int *)dst = (int)v;
	return (0);
}

static int
cfg_p_size(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	long long	 v;

	if (cfg_is_null(n))
		return (0);
	if (cfg_int_value(ctx, key, n, path, &v) == -1)
		return (-1);
	*(size_t *)dst = (size_t)v;
	return (0);
}

/* MQTT keep-alive: libmosquitto refuses 1 to 4 seconds. */
static int
cfg_p_keepalive(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	if (cfg_p_int(ctx, key, n, path, dst) == -1)
		return (-1);
	if (*(int *)dst > 0 && *(int *)dst < 5)
		return (cfg_bad(ctx, key, n, path, "is out of range"));
	return (0);
}

static int
cfg_bool_value(struct cfg_ctx *ctx, const struct cfg_key *key,
    const struct cfg_node *n, const char *path, int *v)
{
	static const char *const yes[] = { "true", "True", "TRUE", NULL };
	static const char *const no[] = { "false", "False", "FALSE", NULL };
	size_t	 i;

	if (cfg_scalar(ctx, n, path, "true or false") == -1)
		return (-1);
	for (i = 0; yes[i] != NULL; i++) {
		if (strcmp(n->text, yes[i]) == 0) {
			*v = 1;
			return (0);
		}
		if (strcmp(n->text, no[i]) == 0) {
			*v = 0;
			return (0);
		}
	}
	return (cfg_bad(ctx, key, n, path, "is not a boolean"));
}

static int
cfg_p_bool(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	if (cfg_is_null(n))
		return (0);
	return (cfg_bool_value(ctx, key, n, path, dst));
}

static int
cfg_p_enum(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	const struct cfg_enum	*e;

	if (cfg_is_null(n))
		return (0);
	if (cfg_scalar(ctx, n, path, "a name") == -1)
		return (-1);
	for (e = key->enums; e->name != NULL; e++) {
		if (strcmp(n->text, e->name) == 0) {
			*(int *)dst = e->value;
			return (0);
		}
	}
	return (cfg_bad(ctx, key, n, path, "is not a known value"));
}

/* A string; an empty one means unset, unless a check says otherwise. */
static int
cfg_p_str(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	if (cfg_is_null(n))
		return (0);
	if (cfg_scalar(ctx, n, path, "a string") == -1)
		return (-1);
	if (key->check != NULL && key->check(n->text) == -1)
		return (cfg_bad(ctx, key, n, path, "is not allowed"));
	if (n->text[0] == '\0')
		return (0);
	return (cfg_strdup(ctx, dst, n->text));
}

static int
cfg_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (1);
	return (0);
}

/* An MQTT topic prefix: wildcards would subscribe to far too much. */
static int
cfg_check_topic(const char *s)
{
	size_t	 len = strlen(s);

	if (len == 0 || len > CFG_NAME_MAX || s[len - 1] == '/' ||
	    cfg_has_ctl(s) || strpbrk(s, "+#") != NULL)
		return (-1);
	return (0);
}

/* As zigbee2mqtt: "name/3" would read as endpoint 3 of "name". */
static int
cfg_check_friendly_name(const char *s)
{
	size_t	 len = strlen(s), i;

	if (cfg_check_topic(s) == -1 || s[0] == '/')
		return (-1);
	for (i = len; i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'; i--)
		;
	if (i < len && i > 0 && s[i - 1] == '/')
		return (-1);
	return (0);
}

/* A device path or a tcp://HOST:PORT address; the radio opens it. */
static int
cfg_check_port(const char *s)
{
	if (strlen(s) >= PATH_MAX || cfg_has_ctl(s))
		return (-1);
	return (0);
}

static int
cfg_check_abspath(const char *s)
{
	if (s[0] != '/' || strlen(s) >= PATH_MAX || cfg_has_ctl(s))
		return (-1);
	return (0);
}

static int
cfg_check_user(const char *s)
{
	size_t	 i;

	if (!((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return (-1);
	for (i = 1; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '_' || s[i] == '-'))
			return (-1);
	}
	return (i > 32 ? -1 : 0);
}

static int
cfg_host_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_');
}

/*
 * Split "HOST[:PORT]REST" (HOST may be [IPv6]); *REST points after the
 * port. Returns the host length, or -1.
 */
static int
cfg_split_host(const char *s, const char **host, int *port,
    const char **rest)
{
	const char	*h = s, *e;
	long long	 v;
	char		 digits[8];
	size_t		 n;

	if (*s == '[') {
		h = s + 1;
		e = h + strspn(h, "0123456789abcdefABCDEF:.");
		if (*e != ']' || e == h)
			return (-1);
		s = e + 1;
	} else {
		for (e = s; cfg_host_char(*e); e++)
			;
		if (e == s)
			return (-1);
		s = e;
	}
	*host = h;
	if (*s == ':') {
		n = strspn(s + 1, "0123456789");
		if (n == 0 || n >= sizeof(digits))
			return (-1);
		memcpy(digits, s + 1, n);
		digits[n] = '\0';
		if (cfg_parse_ll(digits, &v) != 0 || v < 1 || v > 65535)
			return (-1);
		*port = (int)v;
		s += 1 + n;
	}
	*rest = s;
	return ((int)(e - h));
}

static int
cfg_check_http_url(const char *s)
{
	const char	*host, *rest;
	int		 port = 0;

	if (strncmp(s, "https://", 8) == 0)
		s += 8;
	else if (strncmp(s, "http://", 7) == 0)
		s += 7;
	else
		return (-1);
	if (cfg_split_host(s, &host, &port, &rest) == -1)
		return (-1);
	if (*rest != '\0' && *rest != '/' && *rest != '?')
		return (-1);
	for (; *rest != '\0'; rest++)
		if ((unsigned char)*rest <= 0x20 || *rest == 0x7f)
			return (-1);
	return (0);
}

/* mqtt://HOST[:PORT] or mqtts://HOST[:PORT], with an optional "/". */
static int
cfg_set_server(struct cfg_ctx *ctx, const char *url)
{
	struct config_mqtt	*m = &ctx->cfg->mqtt;
	const char		*s = url, *host, *rest;
	int			 port, tls, hostlen;

	if (strncmp(s, "mqtts://", 8) == 0) {
		tls = 1;
		port = 8883;
		s += 8;
	} else if (strncmp(s, "mqtt://", 7) == 0) {
		tls = 0;
		port = 1883;
		s += 7;
	} else
		return (-1);
	hostlen = cfg_split_host(s, &host, &port, &rest);
	if (hostlen == -1 || (*rest != '\0' && strcmp(rest, "/") != 0))
		return (-1);

	free(m->host);
	if ((m->host = strndup(host, (size_t)hostlen)) == NULL ||
	    cfg_strdup(ctx, &m->server, url) == -1)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	m->port = port;
	m->tls = tls;
	return (0);
}

static int
cfg_p_server(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	(void)dst;
	if (cfg_is_null(n))
		return (0);
	if (cfg_scalar(ctx, n, path, "a URL") == -1)
		return (-1);
	/* User and password in the URL would end up in messages. */
	if (strchr(n->text, '@') != NULL)
		return (cfg_error(ctx, n->line, path, "'<hidden>' holds "
		    "credentials; set mqtt.user and mqtt.password instead"));
	if (cfg_set_server(ctx, n->text) == -1)
		return (cfg_bad(ctx, key, n, path, "is not an MQTT URL"));
	return (0);
}

/* A file path; relative ones are taken from the data dir. */
static int
cfg_set_file(struct cfg_ctx *ctx, char **dst, const char *s)
{
	char	*p;

	if (s[0] == '/')
		return (cfg_strdup(ctx, dst, s));
	if (asprintf(&p, "%s/%s", ctx->data_dir, s) == -1)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	free(*dst);
	*dst = p;
	return (0);
}

static int
cfg_p_file(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	if (cfg_is_null(n))
		return (0);
	if (cfg_scalar(ctx, n, path, "a file name") == -1)
		return (-1);
	if (n->text[0] == '\0' || strlen(n->text) >= PATH_MAX ||
	    cfg_has_ctl(n->text))
		return (cfg_bad(ctx, key, n, path, "is not a file name"));
	return (cfg_set_file(ctx, dst, n->text));
}

/* An http(s) URL as is, or a file (relative to the data dir). */
static int
cfg_p_location(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	if (cfg_is_null(n))
		return (0);
	if (cfg_scalar(ctx, n, path, "a URL or a file name") == -1)
		return (-1);
	if (strstr(n->text, "://") == NULL)
		return (cfg_p_file(ctx, key, n, path, dst));
	if (cfg_check_http_url(n->text) == -1)
		return (cfg_bad(ctx, key, n, path, "is not allowed"));
	return (cfg_strdup(ctx, dst, n->text));
}

static int
cfg_p_pan_id(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	struct config_advanced	*a = &ctx->cfg->advanced;
	long long		 v;

	(void)dst;
	if (cfg_is_null(n))
		return (0);
	if (n->kind == CFG_SCALAR && strcmp(n->text, "GENERATE") == 0) {
		a->pan_id_generate = 1;
		return (0);
	}
	if (cfg_int_value(ctx, key, n, path, &v) == -1)
		return (-1);
	a->pan_id = (uint16_t)v;
	return (0);
}

/* A list of LEN bytes, or GENERATE. */
static int
cfg_bytes(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, uint8_t *out, size_t len,
    int *generate)
{
	struct cfg_node	*item;
	struct cfg_key	 byte = *key;
	char		 sub[CFG_PATH_MAX];
	size_t		 i = 0;
	long long	 v;

	if (cfg_is_null(n))
		return (0);
	if (n->kind == CFG_SCALAR && strcmp(n->text, "GENERATE") == 0) {
		*generate = 1;
		return (0);
	}
	if (n->kind != CFG_SEQ)
		return (cfg_bad(ctx, key, n, path, "is not allowed"));
	for (item = n->child; item != NULL; item = item->next)
		i++;
	if (i != len)
		return (cfg_error(ctx, n->line, path, "expected %zu bytes, "
		    "found %zu", len, i));

	byte.min = 0;
	byte.max = 255;
	byte.allowed = "0 to 255";
	for (i = 0, item = n->child; item != NULL; item = item->next, i++) {
		snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
		if (n->hidden)
			item->line = n->line;
		if (cfg_int_value(ctx, &byte, item, sub, &v) == -1)
			return (-1);
		out[i] = (uint8_t)v;
	}
	return (0);
}

static int
cfg_p_ext_pan_id(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	struct config_advanced	*a = &ctx->cfg->advanced;

	(void)dst;
	return (cfg_bytes(ctx, key, n, path, a->ext_pan_id,
	    sizeof(a->ext_pan_id), &a->ext_pan_id_generate));
}

static int
cfg_p_network_key(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *n, const char *path, void *dst)
{
	struct config_advanced	*a = &ctx->cfg->advanced;

	(void)dst;
	return (cfg_bytes(ctx, key, n, path, a->network_key,
	    sizeof(a->network_key), &a->network_key_generate));
}

/* Key tables. */

#define CFG_OFF(f)	offsetof(struct config, f)
#define CFG_DEV(f)	offsetof(struct config_device, f)
#define CFG_BOOLS	"true or false"
#define CFG_TOPIC	"an MQTT topic: no +, #, control characters " \
			"or trailing /"

static const char *const cfg_ignore_all[] = { "*", NULL };

static const struct cfg_enum cfg_adapters[] = {
	{ "zstack", CONFIG_ADAPTER_ZSTACK },
	{ "ember", CONFIG_ADAPTER_EMBER },
	{ "ezsp", CONFIG_ADAPTER_EZSP },
	{ "deconz", CONFIG_ADAPTER_DECONZ },
	{ "zigate", CONFIG_ADAPTER_ZIGATE },
	{ "zboss", CONFIG_ADAPTER_ZBOSS },
	{ "zoh", CONFIG_ADAPTER_ZOH },
	{ NULL, 0 }
};

static const struct cfg_enum cfg_log_levels[] = {
	{ "error", CONFIG_LOG_ERROR },
	{ "warning", CONFIG_LOG_WARNING },
	{ "warn", CONFIG_LOG_WARNING },
	{ "info", CONFIG_LOG_INFO },
	{ "debug", CONFIG_LOG_DEBUG },
	{ NULL, 0 }
};

static const struct cfg_key cfg_mqtt_keys[] = {
	{ .name = "base_topic", .parse = cfg_p_str,
	  .off = CFG_OFF(mqtt.base_topic), .allowed = CFG_TOPIC,
	  .check = cfg_check_topic },
	{ .name = "server", .parse = cfg_p_server,
	  .allowed = "mqtt://HOST[:PORT] or mqtts://HOST[:PORT]" },
	{ .name = "user", .parse = cfg_p_str, .off = CFG_OFF(mqtt.user) },
	{ .name = "password", .parse = cfg_p_str,
	  .off = CFG_OFF(mqtt.password), .flags = CFG_HIDE },
	{ .name = "client_id", .parse = cfg_p_str,
	  .off = CFG_OFF(mqtt.client_id) },
	{ .name = "keepalive", .parse = cfg_p_keepalive,
	  .off = CFG_OFF(mqtt.keepalive), .min = 0, .max = 65535,
	  .allowed = "seconds, 0 or 5 to 65535" },
	{ .name = "version", .parse = cfg_p_int,
	  .off = CFG_OFF(mqtt.version), .min = 3, .max = 5,
	  .allowed = "3, 4 or 5" },
	{ .name = "ca", .parse = cfg_p_file, .off = CFG_OFF(mqtt.ca) },
	{ .name = "cert", .parse = cfg_p_file, .off = CFG_OFF(mqtt.cert) },
	{ .name = "key", .parse = cfg_p_file, .off = CFG_OFF(mqtt.key) },
	{ .name = "reject_unauthorized", .parse = cfg_p_bool,
	  .off = CFG_OFF(mqtt.reject_unauthorized), .allowed = CFG_BOOLS },
	{ .name = NULL }
};

static const char *const cfg_mqtt_ignored[] = {
	"include_device_information", "force_disable_retain",
	"maximum_packet_size", NULL
};

static const struct cfg_key cfg_serial_keys[] = {
	{ .name = "port", .parse = cfg_p_str, .off = CFG_OFF(serial.port),
	  .check = cfg_check_port,
	  .allowed = "a device path, without control characters" },
	{ .name = "adapter", .parse = cfg_p_enum,
	  .off = CFG_OFF(serial.adapter), .enums = cfg_adapters,
	  .allowed = "zstack, ember, ezsp, deconz, zigate, zboss or zoh" },
	{ .name = "baudrate", .parse = cfg_p_int,
	  .off = CFG_OFF(serial.baudrate), .min = 9600, .max = 4000000,
	  .allowed = "9600 to 4000000" },
	{ .name = "rtscts", .parse = cfg_p_bool,
	  .off = CFG_OFF(serial.rtscts), .allowed = CFG_BOOLS },
	{ .name = NULL }
};

static const char *const cfg_serial_ignored[] = { "disable_led", NULL };

static const struct cfg_key cfg_ota_keys[] = {
	{ .name = "update_check_interval", .parse = cfg_p_int,
	  .off = CFG_OFF(ota.update_check_interval), .min = 1,
	  .max = INT_MAX, .allowed = "minutes, 1 or more" },
	{ .name = "disable_automatic_update_check", .parse = cfg_p_bool,
	  .off = CFG_OFF(ota.disable_automatic_update_check),
	  .allowed = CFG_BOOLS },
	{ .name = "zigbee_ota_override_index_location",
	  .parse = cfg_p_location,
	  .off = CFG_OFF(ota.zigbee_ota_override_index_location),
	  .allowed = "an http(s) URL or a file name" },
	{ .name = "ikea_ota_use_test_url", .parse = cfg_p_bool,
	  .off = CFG_OFF(ota.ikea_ota_use_test_url), .allowed = CFG_BOOLS },
	{ .name = "image_block_response_delay", .parse = cfg_p_int,
	  .off = CFG_OFF(ota.image_block_response_delay), .min = 50,
	  .max = INT_MAX, .allowed = "milliseconds, 50 or more" },
	{ .name = "default_maximum_data_size", .parse = cfg_p_int,
	  .off = CFG_OFF(ota.default_maximum_data_size), .min = 10,
	  .max = 100, .allowed = "bytes, 10 to 100" },
	{ .name = "image_block_request_timeout", .parse = cfg_p_int,
	  .off = CFG_OFF(ota.image_block_request_timeout), .min = 10000,
	  .max = INT_MAX, .allowed = "milliseconds, 10000 or more" },
	{ .name = NULL }
};

static const struct cfg_key cfg_ha_keys[] = {
	{ .name = "enabled", .parse = cfg_p_bool,
	  .off = CFG_OFF(homeassistant.enabled), .allowed = CFG_BOOLS },
	{ .name = "discovery_topic", .parse = cfg_p_str,
	  .off = CFG_OFF(homeassistant.discovery_topic), .allowed = CFG_TOPIC,
	  .check = cfg_check_topic },
	{ .name = "status_topic", .parse = cfg_p_str,
	  .off = CFG_OFF(homeassistant.status_topic), .allowed = CFG_TOPIC,
	  .check = cfg_check_topic },
	{ .name = NULL }
};

static const char *const cfg_ha_ignored[] = {
	"legacy_action_sensor", "experimental_event_entities",
	"legacy_entity_attributes", "legacy_triggers", NULL
};

static const struct cfg_key cfg_ha_bool = {
	.name = "homeassistant", .parse = cfg_p_bool,
	.off = CFG_OFF(homeassistant.enabled),
	.allowed = "true, false or a map"
};

static const struct cfg_key cfg_advanced_keys[] = {
	{ .name = "pan_id", .parse = cfg_p_pan_id, .min = 0, .max = 0xfffe,
	  .allowed = "0 to 65534, or GENERATE" },
	{ .name = "ext_pan_id", .parse = cfg_p_ext_pan_id,
	  .allowed = "a list of 8 bytes, or GENERATE" },
	{ .name = "channel", .parse = cfg_p_int,
	  .off = CFG_OFF(advanced.channel), .min = 11, .max = 26,
	  .allowed = "11 to 26" },
	{ .name = "network_key", .parse = cfg_p_network_key,
	  .allowed = "a list of 16 bytes, or GENERATE", .flags = CFG_HIDE },
	{ .name = "legacy_api", .parse = cfg_p_bool,
	  .off = CFG_OFF(advanced.legacy_api), .allowed = CFG_BOOLS },
	{ .name = "log_level", .parse = cfg_p_enum,
	  .off = CFG_OFF(advanced.log_level), .enums = cfg_log_levels,
	  .allowed = "error, warning, info or debug" },
	{ .name = NULL }
};

/* zigbee2mqtt's other advanced keys, 1.x and 2.x; zotad needs none. */
static const char *const cfg_advanced_ignored[] = {
	"adapter_concurrent", "adapter_delay", "availability_blacklist",
	"availability_blocklist", "availability_passlist",
	"availability_timeout", "availability_whitelist", "baudrate",
	"cache_state", "cache_state_persistent", "cache_state_send_on_startup",
	"elapsed", "homeassistant_discovery_topic",
	"homeassistant_legacy_entity_attributes",
	"homeassistant_legacy_triggers", "homeassistant_status_topic",
	"ikea_ota_use_test_url", "last_seen", "legacy_availability_payload",
	"log_console_json_format", "log_debug_namespace_ignore",
	"log_debug_to_mqtt_frontend", "log_directory", "log_file",
	"log_max_files", "log_namespaced_levels", "log_output",
	"log_rotation", "log_symlink_current", "log_syslog", "output",
	"report", "rtscts", "soft_reset_timeout", "timestamp_format",
	"transmit_power", NULL
};

static const struct cfg_key cfg_zotad_keys[] = {
	{ .name = "state_dir", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.state_dir), .check = cfg_check_abspath,
	  .allowed = "an absolute path" },
	{ .name = "cache_dir", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.cache_dir), .check = cfg_check_abspath,
	  .allowed = "an absolute path" },
	{ .name = "run_dir", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.run_dir), .check = cfg_check_abspath,
	  .allowed = "an absolute path" },
	{ .name = "index_url", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.index_url), .check = cfg_check_http_url,
	  .allowed = "an http(s) URL" },
	{ .name = "downgrade_index_url", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.downgrade_index_url),
	  .check = cfg_check_http_url, .allowed = "an http(s) URL" },
	{ .name = "ikea_index_url", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.ikea_index_url),
	  .check = cfg_check_http_url, .allowed = "an http(s) URL" },
	{ .name = "ikea_test_index_url", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.ikea_test_index_url),
	  .check = cfg_check_http_url, .allowed = "an http(s) URL" },
	{ .name = "user_radio", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.user_radio), .check = cfg_check_user,
	  .allowed = "a user name" },
	{ .name = "user_fetch", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.user_fetch), .check = cfg_check_user,
	  .allowed = "a user name" },
	{ .name = "user_mqtt", .parse = cfg_p_str,
	  .off = CFG_OFF(zotad.user_mqtt), .check = cfg_check_user,
	  .allowed = "a user name" },
	{ .name = "max_image_size", .parse = cfg_p_size,
	  .off = CFG_OFF(zotad.max_image_size), .min = 1024,
	  .max = 1LL << 30, .allowed = "bytes, 1024 to 1073741824" },
	{ .name = "max_index_size", .parse = cfg_p_size,
	  .off = CFG_OFF(zotad.max_index_size), .min = 1024,
	  .max = 1LL << 25, .allowed = "bytes, 1024 to 33554432" },
	{ .name = "max_concurrent_updates", .parse = cfg_p_int,
	  .off = CFG_OFF(zotad.max_concurrent_updates), .min = 1, .max = 32,
	  .allowed = "1 to 32" },
	{ .name = "min_battery", .parse = cfg_p_int,
	  .off = CFG_OFF(zotad.min_battery), .min = 0, .max = 100,
	  .allowed = "percent, 0 to 100; 0 skips the check" },
	{ .name = "fetch_timeout", .parse = cfg_p_int,
	  .off = CFG_OFF(zotad.fetch_timeout), .min = 5, .max = 3600,
	  .allowed = "seconds, 5 to 3600" },
	{ .name = NULL }
};

static const struct cfg_key cfg_device_keys[] = {
	{ .name = "friendly_name", .parse = cfg_p_str,
	  .off = CFG_DEV(friendly_name), .check = cfg_check_friendly_name,
	  .allowed = "not empty; no +, #, control characters, "
	  "leading or trailing /, or /NUMBER at the end" },
	{ .name = "retain", .parse = cfg_p_bool, .off = CFG_DEV(retain),
	  .allowed = CFG_BOOLS },
	{ .name = "qos", .parse = cfg_p_int, .off = CFG_DEV(qos), .min = 0,
	  .max = 2, .allowed = "0, 1 or 2" },
	{ .name = "disable_automatic_update_check", .parse = cfg_p_bool,
	  .off = CFG_DEV(disable_automatic_update_check),
	  .allowed = CFG_BOOLS },
	{ .name = NULL }
};

/* zigbee2mqtt sections zotad has no use for. */
static const char *const cfg_top_ignored[] = {
	"availability", "ban", "blocklist", "device_options", "experimental",
	"external_converters", "frontend", "groups", "health", "map_options",
	"onboarding", "passlist", "permit_join", "version", "whitelist", NULL
};

/* Maps. */

static const struct cfg_key *
cfg_key_find(const struct cfg_key *keys, const char *name)
{
	for (; keys->name != NULL; keys++)
		if (strcmp(keys->name, name) == 0)
			return (keys);
	return (NULL);
}

static int
cfg_ignored(const char *const *list, const char *name)
{
	if (list == cfg_ignore_all)
		return (1);
	for (; list != NULL && *list != NULL; list++)
		if (strcmp(*list, name) == 0)
			return (1);
	return (0);
}

static int
cfg_warn_unknown(struct cfg_ctx *ctx, const struct cfg_node *k,
    const char *path)
{
	char	 shown[CFG_SHOW_BUF];

	cfg_quote(path, shown, sizeof(shown));
	return (cfg_warn(ctx, k->line, "unknown key %s", shown));
}

static int
cfg_parse_value(struct cfg_ctx *ctx, const struct cfg_key *key,
    struct cfg_node *v, const char *path, void *base)
{
	struct cfg_node	 copy;

	if ((v = cfg_resolve(ctx, v, path, &copy)) == NULL)
		return (-1);
	return (key->parse(ctx, key, v, path, (char *)base + key->off));
}

static int
cfg_walk_map(struct cfg_ctx *ctx, struct cfg_node *map, const char *path,
    const struct cfg_key *keys, const char *const *ignored, void *base)
{
	const struct cfg_key	*key;
	struct cfg_node		*k, *v;
	char			 sub[CFG_PATH_MAX];

	if (cfg_is_null(map))
		return (0);
	if (map->kind != CFG_MAP)
		return (cfg_type_error(ctx, map, path, "a map"));
	if (cfg_check_keys(ctx, map, path, 0) == -1)
		return (-1);

	for (k = map->child; k != NULL; k = v->next) {
		v = k->next;
		cfg_path(sub, sizeof(sub), path, k->text);
		if ((key = cfg_key_find(keys, k->text)) != NULL) {
			if (cfg_parse_value(ctx, key, v, sub, base) == -1)
				return (-1);
		} else if (!cfg_ignored(ignored, k->text) &&
		    cfg_warn_unknown(ctx, k, sub) == -1)
			return (-1);
	}
	return (0);
}

static int
cfg_walk_homeassistant(struct cfg_ctx *ctx, struct cfg_node *n,
    const char *path)
{
	if (n->kind == CFG_SCALAR && !cfg_is_null(n))
		return (cfg_bool_value(ctx, &cfg_ha_bool, n, path,
		    &ctx->cfg->homeassistant.enabled));
	return (cfg_walk_map(ctx, n, path, cfg_ha_keys, cfg_ha_ignored,
	    ctx->cfg));
}

/* Devices. */

static int
cfg_parse_ieee(const char *s, struct config_device *d)
{
	size_t	 i;
	char	 c;

	if (strlen(s) != CONFIG_IEEE_LEN || s[0] != '0' ||
	    (s[1] != 'x' && s[1] != 'X'))
		return (-1);
	d->ieee[0] = '0';
	d->ieee[1] = 'x';
	for (i = 2; i < CONFIG_IEEE_LEN; i++) {
		c = s[i];
		if (c >= 'A' && c <= 'F')
			c += 'a' - 'A';
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return (-1);
		d->ieee[i] = c;
		d->ieee_addr = d->ieee_addr << 4 |
		    (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	d->ieee[CONFIG_IEEE_LEN] = '\0';
	return (0);
}

static int
cfg_device(struct cfg_ctx *ctx, struct cfg_node *k, struct cfg_node *v,
    struct config_device *d)
{
	char	 path[CFG_PATH_MAX];

	if (cfg_parse_ieee(k->text, d) == -1)
		return (cfg_bad(ctx, NULL, k, "devices", "is not an IEEE "
		    "address (0x and 16 hex digits)"));
	cfg_path(path, sizeof(path), "devices", d->ieee);
	if (cfg_walk_map(ctx, v, path, cfg_device_keys, cfg_ignore_all,
	    d) == -1)
		return (-1);
	if (d->friendly_name == NULL)
		return (cfg_strdup(ctx, &d->friendly_name, d->ieee));
	return (0);
}

/* Room for N more devices, and for where each was read. */
static int
cfg_devices_grow(struct cfg_ctx *ctx, const struct cfg_node *map, size_t n)
{
	struct config		*cfg = ctx->cfg;
	struct config_device	*d;
	struct cfg_origin	*o;
	size_t			 total = cfg->ndevices + n;

	if (total > CFG_MAX_DEVICES)
		return (cfg_error(ctx, map->line, "devices", "more than %d "
		    "devices in all", CFG_MAX_DEVICES));
	if ((d = reallocarray(cfg->devices, total + 1, sizeof(*d))) == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	cfg->devices = d;
	memset(d + cfg->ndevices, 0, (n + 1) * sizeof(*d));
	if ((o = reallocarray(ctx->origins, total + 1, sizeof(*o))) == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	ctx->origins = o;
	return (0);
}

/* The devices of MAP, keyed by IEEE address, after those read before. */
static int
cfg_devices_map(struct cfg_ctx *ctx, struct cfg_node *map, const char *path)
{
	struct config	*cfg = ctx->cfg;
	struct cfg_node	*k;
	size_t		 n = 0;

	if (cfg_is_null(map))
		return (0);
	if (map->kind != CFG_MAP)
		return (cfg_error(ctx, map->line, path, "expected a map keyed "
		    "by IEEE address, found %s", cfg_kind_name(map->kind)));
	if (cfg_check_keys(ctx, map, path, 1) == -1)
		return (-1);

	for (k = map->child; k != NULL; k = k->next->next)
		n++;
	if (cfg_devices_grow(ctx, map, n) == -1)
		return (-1);
	for (k = map->child; k != NULL; k = k->next->next) {
		ctx->origins[cfg->ndevices].file = ctx->file;
		ctx->origins[cfg->ndevices].line = k->line;
		if (cfg_device(ctx, k, k->next,
		    &cfg->devices[cfg->ndevices++]) == -1)
			return (-1);
	}
	return (0);
}

static void
cfg_devices_named(const struct cfg_ctx *ctx, struct cfg_named *names,
    int by_name)
{
	struct config	*cfg = ctx->cfg;
	size_t		 i;

	for (i = 0; i < cfg->ndevices; i++) {
		names[i].name = by_name ? cfg->devices[i].friendly_name :
		    cfg->devices[i].ieee;
		names[i].file = ctx->origins[i].file;
		names[i].line = ctx->origins[i].line;
		names[i].seq = i;
	}
}

/*
 * A device listed in two files is a mistake zigbee2mqtt would hide by
 * merging them. Friendly names are how MQTT requests name devices: one
 * each, across all files.
 */
static int
cfg_devices_check(struct cfg_ctx *ctx)
{
	struct config		*cfg = ctx->cfg;
	struct cfg_named	*names;
	int			 rc;

	if ((names = calloc(cfg->ndevices + 1, sizeof(*names))) == NULL)
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	cfg_devices_named(ctx, names, 0);
	rc = cfg_check_named(ctx, names, cfg->ndevices, "devices", "device");
	if (rc == 0) {
		cfg_devices_named(ctx, names, 1);
		rc = cfg_check_named(ctx, names, cfg->ndevices, "devices",
		    "friendly_name");
	}
	free(names);
	return (rc);
}

/* Device files. */

/* Only for messages: a device file is not a key of its own. */
static const struct cfg_key cfg_devfile_key = {
	.allowed = "a file in the data dir"
};

static int
cfg_devfile_name(struct cfg_ctx *ctx, const struct cfg_node *n,
    const char *path)
{
	if (n->kind != CFG_SCALAR)
		return (cfg_type_error(ctx, n, path, "a file name"));
	if (n->secret_ref || strncmp(n->text, "!secret ", 8) == 0)
		return (cfg_error(ctx, n->line, path, "!secret names a value, "
		    "not a file"));
	if (cfg_is_null(n) || n->text[0] == '\0' ||
	    strlen(n->text) >= PATH_MAX || cfg_has_ctl(n->text))
		return (cfg_bad(ctx, &cfg_devfile_key, n, path,
		    "is not a file name"));
	return (0);
}

/* NAME, relative to DIR unless absolute. */
static char *
cfg_join(const char *dir, const char *name)
{
	char	*p;

	if (name[0] == '/')
		return (strdup(name));
	if (asprintf(&p, "%s/%s", dir, name) == -1)
		return (NULL);
	return (p);
}

static int
cfg_in_dir(const char *dir, const char *path)
{
	size_t	 len = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return (1);
	return (strncmp(path, dir, len) == 0 &&
	    (path[len] == '/' || path[len] == '\0'));
}

/*
 * A daemon started as root reads device files before it drops its
 * privileges, so they must be in the data dir, also once links and ".."
 * are resolved.
 */
static int
cfg_devfile_resolve(struct cfg_ctx *ctx, const struct cfg_node *ref,
    const char *path, struct cfg_devfile *f)
{
	char	*full;
	size_t	 i;

	if ((full = cfg_join(ctx->data_dir, ref->text)) == NULL ||
	    (f->shown = cfg_join(ctx->shown_dir, ref->text)) == NULL) {
		free(full);
		return (cfg_error(ctx, 0, NULL, "out of memory"));
	}
	f->real = realpath(full, NULL);
	free(full);
	if (f->real == NULL)
		return (cfg_error(ctx, ref->line, path, "cannot read %s: %s",
		    f->shown, strerror(errno)));
	if (ctx->real_dir == NULL &&
	    (ctx->real_dir = realpath(ctx->data_dir, NULL)) == NULL)
		return (cfg_error(ctx, ref->line, path, "cannot resolve the "
		    "data dir %s: %s", ctx->data_dir, strerror(errno)));
	if (!cfg_in_dir(ctx->real_dir, f->real))
		return (cfg_bad(ctx, &cfg_devfile_key, ref, path,
		    "leads outside the data dir"));
	for (i = 0; &ctx->files[i] != f; i++)
		if (strcmp(ctx->files[i].real, f->real) == 0)
			return (cfg_error(ctx, ref->line, path, "%s is listed "
			    "twice", f->shown));
	return (0);
}

static int
cfg_read_fd(int fd, size_t size, uint8_t **bufp, size_t *lenp)
{
	uint8_t	*buf;
	size_t	 len = 0;
	ssize_t	 n;
	int	 saved;

	if ((buf = malloc(size + 1)) == NULL)
		return (-1);
	while (len < size && (n = read(fd, buf + len, size - len)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			free(buf);
			errno = saved;
			return (-1);
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*bufp = buf;
	*lenp = len;
	return (0);
}

/*
 * Opened without following a link swapped in since the check, and
 * without waiting on a FIFO; only a regular file within the size limit
 * of the configuration file is read.
 */
static int
cfg_devfile_read(struct cfg_ctx *ctx, const struct cfg_node *ref,
    const char *path, const struct cfg_devfile *f, uint8_t **bufp,
    size_t *lenp)
{
	struct stat	 st;
	int		 fd, rc = -1;

	if ((fd = open(f->real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
		return (cfg_error(ctx, ref->line, path, "cannot read %s: %s",
		    f->shown, strerror(errno)));
	if (fstat(fd, &st) == -1)
		cfg_error(ctx, ref->line, path, "cannot read %s: %s",
		    f->shown, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfg_error(ctx, ref->line, path, "cannot read %s: not a "
		    "regular file", f->shown);
	else if (st.st_size > CONFIG_FILE_MAX)
		cfg_error(ctx, ref->line, path, "%s is larger than %d bytes",
		    f->shown, CONFIG_FILE_MAX);
	else if (cfg_read_fd(fd, (size_t)st.st_size, bufp, lenp) == -1)
		cfg_error(ctx, ref->line, path, "cannot read %s: %s",
		    f->shown, strerror(errno));
	else
		rc = 0;
	close(fd);
	return (rc);
}

/* The device file REF names, parsed as the configuration file is. */
static int
cfg_devices_file(struct cfg_ctx *ctx, const struct cfg_node *ref,
    const char *path)
{
	const char		*saved = ctx->file;
	struct cfg_devfile	*f;
	struct cfg_tree		 tree;
	uint8_t			*buf = NULL;
	size_t			 len = 0;
	int			 rc;

	if (cfg_devfile_name(ctx, ref, path) == -1)
		return (-1);
	if (ctx->nfiles == CFG_MAX_FILES)
		return (cfg_error(ctx, ref->line, path, "more than %d device "
		    "files", CFG_MAX_FILES));
	f = &ctx->files[ctx->nfiles++];
	if (cfg_devfile_resolve(ctx, ref, path, f) == -1 ||
	    cfg_devfile_read(ctx, ref, path, f, &buf, &len) == -1)
		return (-1);

	memset(&tree, 0, sizeof(tree));
	ctx->file = f->shown;
	rc = cfg_tree_parse(ctx, (const char *)buf, len, &tree);
	if (rc == 0 && tree.root != NULL)
		rc = cfg_devices_map(ctx, tree.root, "devices");
	ctx->file = saved;
	cfg_tree_free(&tree);
	free(buf);
	return (rc);
}

/*
 * As zigbee2mqtt: the devices themselves, or a device file, or a list
 * of them, relative to the data dir. Unlike zigbee2mqtt, a missing file
 * is an error, not an empty one, and a device may be in one file only.
 */
static int
cfg_walk_devices(struct cfg_ctx *ctx, struct cfg_node *n, const char *path)
{
	struct cfg_node	*item;
	char		 sub[CFG_PATH_MAX];
	size_t		 i = 0;
	int		 rc = 0;

	if (cfg_is_null(n))
		return (0);
	if (n->kind == CFG_MAP)
		rc = cfg_devices_map(ctx, n, path);
	else if (n->kind == CFG_SCALAR)
		rc = cfg_devices_file(ctx, n, path);
	else {
		for (item = n->child; rc == 0 && item != NULL;
		    item = item->next) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i++);
			rc = cfg_devices_file(ctx, item, sub);
		}
	}
	if (rc == 0)
		rc = cfg_devices_check(ctx);
	return (rc);
}

/* The top level. */

static const struct cfg_section cfg_sections[] = {
	{ "mqtt", cfg_mqtt_keys, cfg_mqtt_ignored, NULL },
	{ "serial", cfg_serial_keys, cfg_serial_ignored, NULL },
	{ "ota", cfg_ota_keys, NULL, NULL },
	{ "devices", NULL, NULL, cfg_walk_devices },
	{ "homeassistant", NULL, NULL, cfg_walk_homeassistant },
	{ "advanced", cfg_advanced_keys, cfg_advanced_ignored, NULL },
	{ "zotad", cfg_zotad_keys, NULL, NULL },
	{ NULL, NULL, NULL, NULL }
};

/* Secrets are values; a whole section never comes from secret.yaml. */
static int
cfg_walk_section(struct cfg_ctx *ctx, const struct cfg_section *sec,
    struct cfg_node *v)
{
	if (sec->walk != NULL)
		return (sec->walk(ctx, v, sec->name));
	return (cfg_walk_map(ctx, v, sec->name, sec->keys, sec->ignored,
	    ctx->cfg));
}

static int
cfg_walk_root(struct cfg_ctx *ctx, struct cfg_node *root)
{
	const struct cfg_section	*sec;
	struct cfg_node			*k;

	if (root == NULL || cfg_is_null(root))
		return (0);
	if (root->kind != CFG_MAP)
		return (cfg_type_error(ctx, root, NULL,
		    "a map of sections at the top"));
	if (cfg_check_keys(ctx, root, NULL, 0) == -1)
		return (-1);

	for (k = root->child; k != NULL; k = k->next->next) {
		for (sec = cfg_sections; sec->name != NULL; sec++)
			if (strcmp(sec->name, k->text) == 0)
				break;
		if (sec->name != NULL) {
			if (cfg_walk_section(ctx, sec, k->next) == -1)
				return (-1);
		} else if (!cfg_ignored(cfg_top_ignored, k->text) &&
		    cfg_warn_unknown(ctx, k, k->text) == -1)
			return (-1);
	}
	return (0);
}

/* Defaults and the finished configuration. */

static const struct {
	size_t		 off;
	const char	*def;		/* NULL: stays unset */
} cfg_strings[] = {
	{ CFG_OFF(path), NULL },
	{ CFG_OFF(data_dir), NULL },
	{ CFG_OFF(mqtt.base_topic), "zigbee2mqtt" },
	{ CFG_OFF(mqtt.server), NULL },
	{ CFG_OFF(mqtt.host), NULL },
	{ CFG_OFF(mqtt.user), NULL },
	{ CFG_OFF(mqtt.password), NULL },
	{ CFG_OFF(mqtt.client_id), NULL },
	{ CFG_OFF(mqtt.ca), NULL },
	{ CFG_OFF(mqtt.cert), NULL },
	{ CFG_OFF(mqtt.key), NULL },
	{ CFG_OFF(serial.port), NULL },
	{ CFG_OFF(ota.zigbee_ota_override_index_location), NULL },
	{ CFG_OFF(homeassistant.discovery_topic), "homeassistant" },
	{ CFG_OFF(homeassistant.status_topic), "homeassistant/status" },
	{ CFG_OFF(zotad.state_dir), "/var/lib/zotad" },
	{ CFG_OFF(zotad.cache_dir), "/var/cache/zotad" },
	{ CFG_OFF(zotad.run_dir), "/run/zotad" },
	{ CFG_OFF(zotad.index_url), CFG_INDEX_URL },
	{ CFG_OFF(zotad.downgrade_index_url), CFG_DOWNGRADE_INDEX_URL },
	{ CFG_OFF(zotad.ikea_index_url), CFG_IKEA_INDEX_URL },
	{ CFG_OFF(zotad.ikea_test_index_url), CFG_IKEA_TEST_INDEX_URL },
	{ CFG_OFF(zotad.user_radio), "zotad-radio" },
	{ CFG_OFF(zotad.user_fetch), "zotad-fetch" },
	{ CFG_OFF(zotad.user_mqtt), "zotad-mqtt" },
};

#define CFG_NSTRINGS	(sizeof(cfg_strings) / sizeof(cfg_strings[0]))

static char **
cfg_string_at(struct config *cfg, size_t i)
{
	return ((char **)(void *)((char *)cfg + cfg_strings[i].off));
}

static void
cfg_defaults(struct config *cfg)
{
	static const uint8_t key[CONFIG_NETWORK_KEY_LEN] = {
		1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13
	};

	cfg->mqtt.keepalive = 60;
	cfg->mqtt.version = 4;
	cfg->mqtt.reject_unauthorized = 1;
	cfg->serial.adapter = CONFIG_ADAPTER_AUTO;
	cfg->serial.baudrate = 115200;
	cfg->ota.update_check_interval = 1440;
	cfg->ota.image_block_response_delay = 250;
	cfg->ota.default_maximum_data_size = 50;
	cfg->ota.image_block_request_timeout = 150000;
	cfg->advanced.pan_id = 0x1a62;
	memset(cfg->advanced.ext_pan_id, 0xdd, CONFIG_EXT_PAN_ID_LEN);
	cfg->advanced.channel = 11;
	memcpy(cfg->advanced.network_key, key, sizeof(key));
	cfg->advanced.log_level = CONFIG_LOG_INFO;
	cfg->zotad.max_image_size = 16 * 1024 * 1024;
	cfg->zotad.max_index_size = 8 * 1024 * 1024;
	cfg->zotad.max_concurrent_updates = 1;
	cfg->zotad.fetch_timeout = 120;
	cfg->zotad.min_battery = 20;
}

static int
cfg_finish(struct cfg_ctx *ctx)
{
	struct config	*cfg = ctx->cfg;
	char		**sp;
	size_t		 i;

	for (i = 0; i < CFG_NSTRINGS; i++) {
		sp = cfg_string_at(cfg, i);
		if (*sp == NULL && cfg_strings[i].def != NULL &&
		    cfg_strdup(ctx, sp, cfg_strings[i].def) == -1)
			return (-1);
	}
	if (cfg->mqtt.server == NULL &&
	    cfg_set_server(ctx, CFG_DEFAULT_SERVER) == -1)
		return (-1);
	if ((cfg->mqtt.cert == NULL) != (cfg->mqtt.key == NULL))
		return (cfg_error(ctx, 0, "mqtt", "cert and key go together: "
		    "set both or neither"));
	return (0);
}

static struct config *
cfg_new(struct cfg_ctx *ctx, const char *name, const char *data_dir)
{
	struct config	*cfg;

	if ((cfg = calloc(1, sizeof(*cfg))) == NULL ||
	    (cfg->path = strdup(name)) == NULL ||
	    (cfg->data_dir = strdup(data_dir)) == NULL) {
		config_free(cfg);
		cfg_error(ctx, 0, NULL, "out of memory");
		return (NULL);
	}
	cfg_defaults(cfg);
	return (cfg);
}

static void
cfg_ctx_free(struct cfg_ctx *ctx)
{
	size_t	 i;

	for (i = 0; i < ctx->nfiles; i++) {
		free(ctx->files[i].shown);
		free(ctx->files[i].real);
	}
	free(ctx->origins);
	free(ctx->real_dir);
}

/* SHOWN_DIR is the data dir as the user wrote it, for messages. */
static struct config *
cfg_load(const char *buf, size_t len, const char *name,
    const char *data_dir, const char *shown_dir, char *err, size_t errlen)
{
	struct cfg_ctx	 ctx;
	struct cfg_tree	 tree;
	struct config	*cfg;
	int		 rc;

	memset(&ctx, 0, sizeof(ctx));
	memset(&tree, 0, sizeof(tree));
	ctx.file = ctx.name = name;
	ctx.data_dir = data_dir;
	ctx.shown_dir = shown_dir;
	ctx.err = err;
	ctx.errlen = err != NULL ? errlen : 0;
	if (len > CONFIG_FILE_MAX) {
		cfg_error(&ctx, 0, NULL, "the file is larger than %d bytes",
		    CONFIG_FILE_MAX);
		return (NULL);
	}
	if (asprintf(&ctx.secret_path, "%s/%s", shown_dir,
	    CONFIG_SECRET_FILE) == -1) {
		cfg_error(&ctx, 0, NULL, "out of memory");
		return (NULL);
	}
	if ((cfg = ctx.cfg = cfg_new(&ctx, name, data_dir)) != NULL) {
		rc = cfg_tree_parse(&ctx, buf, len, &tree);
		if (rc == 0)
			rc = cfg_walk_root(&ctx, tree.root);
		if (rc == 0)
			rc = cfg_finish(&ctx);
		if (rc == -1) {
			config_free(cfg);
			cfg = NULL;
		}
	}
	cfg_tree_free(&tree);
	cfg_tree_free(&ctx.secrets);
	free(ctx.secret_path);
	cfg_ctx_free(&ctx);
	return (cfg);
}

/* Public interface. */

struct config *
config_load_buffer(const char *buf, size_t len, const char *name,
    const char *data_dir, char *err, size_t errlen)
{
	if (buf == NULL)
		len = 0;
	if (data_dir == NULL || data_dir[0] != '/') {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: the data dir must be an "
			    "absolute path", name);
		return (NULL);
	}
	return (cfg_load(buf, len, name, data_dir, data_dir, err, errlen));
}

static char *
cfg_dirname(const char *path)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL)
		return (strdup("."));
	if (slash == path)
		return (strdup("/"));
	return (strndup(path, (size_t)(slash - path)));
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config	*cfg = NULL;
	uint8_t		*buf;
	size_t		 len;
	char		*dir, *absdir = NULL;

	if (err == NULL)
		errlen = 0;
	if (util_read_file(path, CONFIG_FILE_MAX, &buf, &len) == -1) {
		if (errno == EFBIG)
			snprintf(err, errlen, "%s: the file is larger than %d "
			    "bytes", path, CONFIG_FILE_MAX);
		else
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    errno == EINVAL ? "not a regular file" :
			    strerror(errno));
		return (NULL);
	}
	if ((dir = cfg_dirname(path)) == NULL ||
	    (absdir = realpath(dir, NULL)) == NULL)
		snprintf(err, errlen, "%s: cannot find its directory: %s",
		    path, strerror(errno));
	else
		cfg = cfg_load((const char *)buf, len, path, absdir, dir, err,
		    errlen);
	/* The file may hold the MQTT password. */
	explicit_bzero(buf, len);
	free(buf);
	free(dir);
	free(absdir);
	return (cfg);
}

void
config_free(struct config *cfg)
{
	char	**sp;
	size_t	 i;

	if (cfg == NULL)
		return;
	if (cfg->mqtt.password != NULL)
		explicit_bzero(cfg->mqtt.password, strlen(cfg->mqtt.password));
	explicit_bzero(cfg->advanced.network_key,
	    sizeof(cfg->advanced.network_key));
	for (i = 0; i < CFG_NSTRINGS; i++) {
		sp = cfg_string_at(cfg, i);
		free(*sp);
	}
	for (i = 0; i < cfg->ndevices; i++)
		free(cfg->devices[i].friendly_name);
	free(cfg->devices);
	for (i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg);
}

const struct config_device *
config_device_by_addr(const struct config *cfg, uint64_t addr)
{
	size_t	 i;

	for (i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].ieee_addr == addr)
			return (&cfg->devices[i]);
	return (NULL);
}

const struct config_device *
config_device_by_name(const struct config *cfg, const char *name)
{
	size_t	 i;

	for (i = 0; i < cfg->ndevices; i++)
		if (strcmp(cfg->devices[i].friendly_name, name) == 0)
			return (&cfg->devices[i]);
	return (NULL);
}

const char *
config_adapter_name(enum config_adapter adapter)
{
	const struct cfg_enum	*e;

	for (e = cfg_adapters; e->name != NULL; e++)
		if (e->value == (int)adapter)
			return (e->name);
	return ("auto");
}
