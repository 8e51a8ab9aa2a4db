/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "ipc.h"
#include "ipc_catalogue.h"
#include "log.h"

#define IPC_READ_CHUNK	65536
#define IPC_IOV_MAX	16
#define IPC_NAME_MAX	255	/* longest method or error name */
#define IPC_FDGROUPS	4	/* see ipc_conn_attach_fds */
#define IPC_INT_EXACT	9007199254740992.0	/* 2^53 */

/* A message waiting to be written, with the descriptors it carries. */
struct ipc_out {
	TAILQ_ENTRY(ipc_out)	 entry;
	char			*buf;
	size_t			 len;
	size_t			 off;
	int			 fds[IPC_MAX_FDS];
	size_t			 nfds;
};
TAILQ_HEAD(ipc_outq, ipc_out);

/* Descriptors received for the message starting at stream offset START. */
struct ipc_fdgroup {
	uint64_t	 start;
	int		 fds[IPC_MAX_FDS];
	size_t		 nfds;
};

/* Client side: a call still waiting for (more) replies. */
struct ipc_pending {
	TAILQ_ENTRY(ipc_pending)	 entry;
	ipc_reply_cb			*cb;
	void				*arg;
	int				 more;
};
TAILQ_HEAD(ipc_pendingq, ipc_pending);

struct ipc_call {
	TAILQ_ENTRY(ipc_call)	 order;	/* owed a reply, in call order */
	TAILQ_ENTRY(ipc_call)	 live;	/* not yet finally replied */
	struct ipc_conn		*conn;
	int			 refs;
	cJSON			*msg;
	struct ipc_callhdr	 hdr;
	size_t			 size;	/* of the message, for the cap */
	int			 fds[IPC_MAX_FDS];
	size_t			 nfds;
	struct ipc_outq		 held;	/* replies behind earlier calls */
	int			 inorder;
	int			 islive;
	int			 finished;
	void			(*cancel)(struct ipc_call *, void *);
	void			*cancelarg;
};
TAILQ_HEAD(ipc_callq, ipc_call);

struct ipc_conn {
	TAILQ_ENTRY(ipc_conn)	 entry;
	struct event_base	*base;
	struct ipc_server	*srv;		/* NULL for a client */
	int			 fd;
	int			 refs;
	int			 dead;
	int			 eof;
	int			 reading;
	struct event		*ev_read;
	struct event		*ev_write;
	struct ipc_peer		 peer;
	char			 peername[64];
	size_t			 max;

	char			*in;		/* unparsed: [inoff, inlen) */
	size_t			 inoff;
	size_t			 inlen;
	size_t			 incap;
	uint64_t		 instream;	/* stream offset of in[0] */
	struct ipc_fdgroup	 groups[IPC_FDGROUPS];
	size_t			 ngroups;

	struct ipc_outq		 out;
	size_t			 outbytes;
	struct ipc_pendingq	 pending;
	struct ipc_callq	 calls;
	struct ipc_callq	 livecalls;
	size_t			 nlive;
	size_t			 livebytes;

	ipc_close_cb		*closecb;
	void			*closearg;
};
TAILQ_HEAD(ipc_connq, ipc_conn);

struct ipc_server {
	struct event_base	*base;
	const struct ipc_method	*methods;
	void			*arg;
	ipc_allow_fn		*allow;
	void			*allowarg;
	size_t			 max;
	int			 lfd;
	char			*path;		/* socket we created */
	struct event		*ev_accept;
	struct event		*ev_resume;
	struct ipc_connq	 conns;
	size_t			 nconns;
};

/* Stands in for absent parameters: an object with no members. */
static const cJSON	 ipc_empty = { .type = cJSON_Object };

static void	ipc_conn_kill(struct ipc_conn *);
static void	ipc_conn_update(struct ipc_conn *);
static void	ipc_call_unref(struct ipc_call *);

/*
 * Names, text and JSON checks.
 */

static int
ipc_name_char(char c)
{
	return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-');
}

/*
 * A varlink member name: dot-separated interface components, then a
 * member starting with a capital letter. Checking it keeps whatever a
 * peer sends as a name safe to log and to echo back.
 */
static int
ipc_name_valid(const char *name)
{
	const char	*last, *p;
	size_t		 len = strlen(name), dots = 0;

	if (len < 5 || len > IPC_NAME_MAX || name[0] == '.' ||
	    name[len - 1] == '.')
		return (0);
	for (p = name; *p != '\0'; p++) {
		if (*p == '.') {
			if (p[1] == '.')
				return (0);
			dots++;
		} else if (!ipc_name_char(*p))
			return (0);
	}
	last = strrchr(name, '.') + 1;
	if (dots < 2 || *last < 'A' || *last > 'Z')
		return (0);
	return (strchr(last, '-') == NULL);
}

/* Whether a JSON text holds a \u0000 escape, which C strings would cut. */
static int
ipc_json_nul_escape(const char *s, size_t n)
{
	size_t	 i;
	int	 instr = 0;

	for (i = 0; i < n; i++) {
		if (!instr) {
			instr = s[i] == '"';
			continue;
		}
		if (s[i] == '"')
			instr = 0;
		else if (s[i] == '\\') {
			if (i + 5 < n && s[i + 1] == 'u' &&
			    memcmp(s + i + 2, "0000", 4) == 0)
				return (1);
			i++;
		}
	}
	return (0);
}

/* Length of the UTF-8 sequence at S (up to END), or 0 if invalid. */
static size_t
ipc_utf8_seq(const unsigned char *s, const unsigned char *end)
{
	size_t		 n, i;
	uint32_t	 cp;

	if (s[0] < 0x80)
		return (1);
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return (0);
	if ((size_t)(end - s) < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and code points past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return (0);
	return (n);
}

static int
ipc_utf8_valid(const char *str, size_t len)
{
	const unsigned char	*s = (const unsigned char *)str;
	const unsigned char	*end = s + len;
	size_t			 n;

	while (s < end) {
		if ((n = ipc_utf8_seq(s, end)) == 0)
			return (0);
		s += n;
	}
	return (1);
}

/*
 * Messages.
 */

int
ipc_msg_split(const char *buf, size_t len, size_t max, cJSON **msg,
    size_t *used, const char **why)
{
	const char	*nul, *end;
	size_t		 scan, n;
	cJSON		*m;

	*msg = NULL;
	*used = 0;
	scan = len > max ? max + 1 : len;
	if ((nul = memchr(buf, '\0', scan)) == NULL) {
		if (len <= max)
			return (0);
		*why = "message too big";
		return (-1);
	}

	n = nul - buf;
	if (n == 0) {
		*why = "empty message";
		return (-1);
	}
	if (ipc_json_nul_escape(buf, n)) {
		*why = "string with an embedded NUL";
		return (-1);
	}
	if ((m = cJSON_ParseWithLengthOpts(buf, n + 1, &end, 1)) == NULL) {
		*why = "not valid JSON";
		return (-1);
	}
	if (!cJSON_IsObject(m)) {
		cJSON_Delete(m);
		*why = "not a JSON object";
		return (-1);
	}
	*msg = m;
	*used = n + 1;
	return (1);
}

/*
 * Index of KEY in KEYS (NULL-terminated), or -1. SEEN collects the keys
 * met so far so that a repeated one is caught.
 */
static int
ipc_msg_key(const char *key, const char *const *keys, unsigned *seen,
    const char **why)
{
	int	 i;

	for (i = 0; keys[i] != NULL; i++) {
		if (strcmp(key, keys[i]) != 0)
			continue;
		if (*seen & (1U << i)) {
			*why = "repeated key";
			return (-1);
		}
		*seen |= 1U << i;
		return (i);
	}
	*why = "unknown key";
	return (-1);
}

static int
ipc_msg_flag(const cJSON *item, int *flag, const char **why)
{
	if (!cJSON_IsBool(item)) {
		*why = "flag is not a boolean";
		return (-1);
	}
	*flag = cJSON_IsTrue(item);
	return (0);
}

static int
ipc_msg_params(const cJSON *item, const cJSON **params, const char **why)
{
	if (!cJSON_IsObject(item)) {
		*why = "parameters are not an object";
		return (-1);
	}
	*params = item;
	return (0);
}

static int
ipc_msg_method(const cJSON *item, const char **method, const char **why)
{
	if (!cJSON_IsString(item) || !ipc_name_valid(item->valuestring)) {
		*why = "malformed method name";
		return (-1);
	}
	*method = item->valuestring;
	return (0);
}

int
ipc_msg_check_call(const cJSON *msg, struct ipc_callhdr *hdr,
    const char **why)
{
	static const char *const keys[] = {
		"method", "parameters", "more", "oneway", "upgrade", NULL
	};
	const cJSON	*item;
	unsigned	 seen = 0;
	int		 k, more = 0, oneway = 0, upgrade = 0, rc = 0;

	memset(hdr, 0, sizeof(*hdr));
	cJSON_ArrayForEach(item, msg) {
		if ((k = ipc_msg_key(item->string, keys, &seen, why)) == -1)
			return (-1);
		if (k == 0)
			rc = ipc_msg_method(item, &hdr->method, why);
		else if (k == 1)
			rc = ipc_msg_params(item, &hdr->parameters, why);
		else
			rc = ipc_msg_flag(item, k == 2 ? &more :
			    k == 3 ? &oneway : &upgrade, why);
		if (rc == -1)
			return (-1);
	}

	if (hdr->method == NULL)
		*why = "call without a method";
	else if (upgrade)
		*why = "protocol upgrade is not supported";
	else if (more && oneway)
		*why = "call asks for more replies and for none";
	else {
		hdr->flags = (more ? IPC_CALL_MORE : 0) |
		    (oneway ? IPC_CALL_ONEWAY : 0);
		return (0);
	}
	return (-1);
}

int
ipc_msg_check_reply(const cJSON *msg, struct ipc_replyhdr *hdr,
    const char **why)
{
	static const char *const keys[] = {
		"error", "parameters", "continues", NULL
	};
	const cJSON	*item;
	unsigned	 seen = 0;
	int		 k, rc = 0;

	memset(hdr, 0, sizeof(*hdr));
	cJSON_ArrayForEach(item, msg) {
		if ((k = ipc_msg_key(item->string, keys, &seen, why)) == -1)
			return (-1);
		if (k == 0)
			rc = ipc_msg_method(item, &hdr->error, why);
		else if (k == 1)
			rc = ipc_msg_params(item, &hdr->parameters, why);
		else
			rc = ipc_msg_flag(item, &hdr->continues, why);
		if (rc == -1) {
			if (k == 0)
				*why = "malformed error name";
			return (-1);
		}
	}
	if (hdr->error != NULL && hdr->continues) {
		*why = "error reply marked as continuing";
		return (-1);
	}
	return (0);
}

/*
 * Parameter validation.
 */

/*
 * Record what failed. The name may be a peer's unknown key: keep it
 * printable ASCII, since it goes to logs and back into a reply.
 */
static int
ipc_param_fail(struct ipc_param_error *err, const char *prefix,
    const char *name, const char *reason)
{
	char	*p;

	snprintf(err->parameter, sizeof(err->parameter), "%s%s", prefix,
	    name);
	for (p = err->parameter; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	err->reason = reason;
	return (-1);
}

static const char *
ipc_check_length(size_t len, const struct ipc_param_spec *s)
{
	if (s->min > 0 && len < (uint64_t)s->min)
		return ("too short");
	if (s->max > 0 && len > (uint64_t)s->max)
		return ("too long");
	return (NULL);
}

static const char *
ipc_check_string(const cJSON *v, const struct ipc_param_spec *s)
{
	size_t	 len;

	if (!cJSON_IsString(v))
		return ("not a string");
	len = strlen(v->valuestring);
	if (!ipc_utf8_valid(v->valuestring, len))
		return ("not valid UTF-8");
	return (ipc_check_length(len, s));
}

static const char *
ipc_check_hex(const cJSON *v, const struct ipc_param_spec *s)
{
	const char	*p;

	if (!cJSON_IsString(v))
		return ("not a string");
	for (p = v->valuestring; *p != '\0'; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
		    (*p >= 'A' && *p <= 'F')))
			return ("not a hex string");
	return (ipc_check_length(p - v->valuestring, s));
}

static const char *
ipc_check_int(const cJSON *v, const struct ipc_param_spec *s)
{
	double	 d;

	if (!cJSON_IsNumber(v))
		return ("not a number");
	d = v->valuedouble;
	if (!isfinite(d) || d != trunc(d))
		return ("not an integer");
	/* Beyond 2^53 a double no longer holds every integer exactly. */
	if (d > IPC_INT_EXACT || d < -IPC_INT_EXACT ||
	    (int64_t)d < s->min || (int64_t)d > s->max)
		return ("out of range");
	return (NULL);
}

static const char *
ipc_check_array(const cJSON *v, const struct ipc_param_spec *s)
{
	const cJSON	*e;
	size_t		 n = 0;

	if (!cJSON_IsArray(v))
		return ("not an array");
	cJSON_ArrayForEach(e, v)
		n++;
	if (s->min > 0 && n < (uint64_t)s->min)
		return ("too few elements");
	if (s->max > 0 && n > (uint64_t)s->max)
		return ("too many elements");
	return (NULL);
}

static int	ipc_params_check_at(const cJSON *,
		    const struct ipc_param_spec *, const char *,
		    struct ipc_param_error *);

static int
ipc_check_value(const cJSON *v, const struct ipc_param_spec *s,
    const char *prefix, struct ipc_param_error *err)
{
	const char	*why = NULL;
	char		 sub[sizeof(err->parameter)];

	switch (s->type) {
	case IPC_P_STRING:
		why = ipc_check_string(v, s);
		break;
	case IPC_P_HEX:
		why = ipc_check_hex(v, s);
		break;
	case IPC_P_INT:
		why = ipc_check_int(v, s);
		break;
	case IPC_P_BOOL:
		why = cJSON_IsBool(v) ? NULL : "not a boolean";
		break;
	case IPC_P_ARRAY:
		why = ipc_check_array(v, s);
		break;
	case IPC_P_OBJECT:
		if (!cJSON_IsObject(v))
			why = "not an object";
		else if (s->fields != NULL) {
			snprintf(sub, sizeof(sub), "%s%s.", prefix, s->name);
			return (ipc_params_check_at(v, s->fields, sub, err));
		}
		break;
	default:
		why = "of an unknown type";
		break;
	}
	if (why != NULL)
		return (ipc_param_fail(err, prefix, s->name, why));
	return (0);
}

static const struct ipc_param_spec *
ipc_spec_find(const struct ipc_param_spec *spec, const char *name)
{
	for (; spec->name != NULL; spec++)
		if (strcmp(spec->name, name) == 0)
			return (spec);
	return (NULL);
}

/* Whether a member before ITEM in its object has the same key. */
static int
ipc_key_repeated(const cJSON *obj, const cJSON *item)
{
	const cJSON	*e;

	for (e = obj->child; e != NULL && e != item; e = e->next)
		if (strcmp(e->string, item->string) == 0)
			return (1);
	return (0);
}

static int
ipc_params_check_at(const cJSON *params, const struct ipc_param_spec *spec,
    const char *prefix, struct ipc_param_error *err)
{
	const struct ipc_param_spec	*s;
	const cJSON			*item;

	if (params == NULL)
		params = &ipc_empty;
	cJSON_ArrayForEach(item, params) {
		if ((s = ipc_spec_find(spec, item->string)) == NULL)
			return (ipc_param_fail(err, prefix, item->string,
			    "unknown parameter"));
		/* Known keys met so far are distinct, so this stays short. */
		if (ipc_key_repeated(params, item))
			return (ipc_param_fail(err, prefix, s->name,
			    "given twice"));
		if (cJSON_IsNull(item)) {
			if (s->flags & IPC_P_NULLABLE)
				continue;
			return (ipc_param_fail(err, prefix, s->name,
			    "must not be null"));
		}
		if (ipc_check_value(item, s, prefix, err) == -1)
			return (-1);
	}

	for (s = spec; s->name != NULL; s++) {
		if (!(s->flags & IPC_P_REQUIRED))
			continue;
		item = cJSON_GetObjectItemCaseSensitive(params, s->name);
		if (item == NULL || cJSON_IsNull(item))
			return (ipc_param_fail(err, prefix, s->name,
			    "missing"));
	}
	return (0);
}

int
ipc_params_check(const cJSON *params, const struct ipc_param_spec *spec,
    struct ipc_param_error *err)
{
	memset(err, 0, sizeof(*err));
	if (params != NULL && !cJSON_IsObject(params))
		return (ipc_param_fail(err, "", "parameters",
		    "not an object"));
	return (ipc_params_check_at(params, spec, "", err));
}

const char *
ipc_param_string(const cJSON *params, const char *name, const char *def)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(params, name);
	return (cJSON_IsString(v) ? v->valuestring : def);
}

int64_t
ipc_param_int(const cJSON *params, const char *name, int64_t def)
{
	const cJSON	*v;
	double		 d;

	v = cJSON_GetObjectItemCaseSensitive(params, name);
	if (!cJSON_IsNumber(v))
		return (def);
	d = v->valuedouble;
	if (!isfinite(d) || d > IPC_INT_EXACT || d < -IPC_INT_EXACT)
		return (def);
	return ((int64_t)d);
}

int
ipc_param_bool(const cJSON *params, const char *name, int def)
{
	const cJSON	*v;

	v = cJSON_GetObjectItemCaseSensitive(params, name);
	return (cJSON_IsBool(v) ? cJSON_IsTrue(v) : def);
}

/*
 * Building outgoing messages. Names are checked against the varlink
 * syntax first, so they need no JSON escaping.
 */

static char *
ipc_params_text(const cJSON *params)
{
	if (params == NULL)
		return (strdup("{}"));
	if (!cJSON_IsObject(params)) {
		errno = EINVAL;
		return (NULL);
	}
	return (cJSON_PrintUnformatted(params));
}

/* "{KEY:"NAME","parameters":{...}TAIL}", or NULL with errno set. */
static char *
ipc_msg_build(const char *key, const char *name, const cJSON *params,
    const char *tail)
{
	char	*ptext, *msg;
	int	 rc;

	if (name != NULL && !ipc_name_valid(name)) {
		errno = EINVAL;
		return (NULL);
	}
	if ((ptext = ipc_params_text(params)) == NULL) {
		if (errno != EINVAL)
			errno = ENOMEM;
		return (NULL);
	}
	if (name != NULL)
		rc = asprintf(&msg, "{\"%s\":\"%s\",\"parameters\":%s%s}",
		    key, name, ptext, tail);
	else
		rc = asprintf(&msg, "{\"parameters\":%s%s}", ptext, tail);
	free(ptext);
	if (rc == -1) {
		errno = ENOMEM;
		return (NULL);
	}
	return (msg);
}

/*
 * Connections: life cycle.
 */

static void
ipc_close_fds(int *fds, size_t *nfds)
{
	size_t	 i;

	for (i = 0; i < *nfds; i++)
		if (fds[i] != -1)
			close(fds[i]);
	*nfds = 0;
}

static void
ipc_out_free(struct ipc_out *o)
{
	ipc_close_fds(o->fds, &o->nfds);
	free(o->buf);
	free(o);
}

static void
ipc_outq_clear(struct ipc_outq *q)
{
	struct ipc_out	*o;

	while ((o = TAILQ_FIRST(q)) != NULL) {
		TAILQ_REMOVE(q, o, entry);
		ipc_out_free(o);
	}
}

static void
ipc_conn_ref(struct ipc_conn *conn)
{
	conn->refs++;
}

static void
ipc_conn_unref(struct ipc_conn *conn)
{
	if (--conn->refs > 0)
		return;
	free(conn->in);
	free(conn);
}

static void	ipc_conn_readcb(evutil_socket_t, short, void *);
static void	ipc_conn_writecb(evutil_socket_t, short, void *);

static int
ipc_conn_getpeer(struct ipc_conn *conn)
{
	struct ucred	 uc;
	socklen_t	 len = sizeof(uc);

	if (getsockopt(conn->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		log_warn("ipc: SO_PEERCRED");
		return (-1);
	}
	conn->peer.pid = uc.pid;
	conn->peer.uid = uc.uid;
	conn->peer.gid = uc.gid;
	snprintf(conn->peername, sizeof(conn->peername), "pid %ld uid %lu",
	    (long)uc.pid, (unsigned long)uc.uid);
	return (0);
}

/* A connection on FD (owned from now on); NULL if it cannot be served. */
static struct ipc_conn *
ipc_conn_create(struct event_base *base, int fd, struct ipc_server *srv)
{
	struct ipc_conn	*conn;

	if ((conn = calloc(1, sizeof(*conn))) == NULL)
		fatal("%s", __func__);
	conn->base = base;
	conn->srv = srv;
	conn->fd = fd;
	conn->refs = 1;		/* dropped when the connection dies */
	conn->max = srv != NULL ? srv->max : IPC_MAX_MESSAGE;
	TAILQ_INIT(&conn->out);
	TAILQ_INIT(&conn->pending);
	TAILQ_INIT(&conn->calls);
	TAILQ_INIT(&conn->livecalls);

	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1 ||
	    ipc_conn_getpeer(conn) == -1)
		goto fail;
	conn->ev_read = event_new(base, fd, EV_READ | EV_PERSIST,
	    ipc_conn_readcb, conn);
	conn->ev_write = event_new(base, fd, EV_WRITE | EV_PERSIST,
	    ipc_conn_writecb, conn);
	if (conn->ev_read == NULL || conn->ev_write == NULL)
		fatalx("%s: event_new failed", __func__);
	ipc_conn_update(conn);
	return (conn);

 fail:
	close(fd);
	free(conn);
	return (NULL);
}

static void
ipc_conn_cancel_calls(struct ipc_conn *conn)
{
	struct ipc_call	*call;

	/* Finished calls only waited for their turn: drop their output. */
	while ((call = TAILQ_FIRST(&conn->calls)) != NULL) {
		TAILQ_REMOVE(&conn->calls, call, order);
		call->inorder = 0;
		ipc_outq_clear(&call->held);
		ipc_call_unref(call);
	}
	while ((call = TAILQ_FIRST(&conn->livecalls)) != NULL) {
		TAILQ_REMOVE(&conn->livecalls, call, live);
		call->islive = 0;
		conn->nlive--;
		conn->livebytes -= call->size;
		if (call->cancel != NULL)
			call->cancel(call, call->cancelarg);
	}
}

static void
ipc_reply_disconnected(struct ipc_conn *conn, struct ipc_pending *p)
{
	struct ipc_reply	 r;

	memset(&r, 0, sizeof(r));
	r.error = IPC_ERR_DISCONNECTED;
	r.parameters = &ipc_empty;
	if (p->cb != NULL)
		p->cb(conn, &r, p->arg);
}

static void
ipc_conn_fail_pending(struct ipc_conn *conn)
{
	struct ipc_pending	*p;

	while ((p = TAILQ_FIRST(&conn->pending)) != NULL) {
		TAILQ_REMOVE(&conn->pending, p, entry);
		ipc_reply_disconnected(conn, p);
		free(p);
	}
}

static void
ipc_conn_release_io(struct ipc_conn *conn)
{
	size_t	 i;

	event_free(conn->ev_read);
	event_free(conn->ev_write);
	conn->ev_read = conn->ev_write = NULL;
	close(conn->fd);
	conn->fd = -1;
	ipc_outq_clear(&conn->out);
	conn->outbytes = 0;
	for (i = 0; i < conn->ngroups; i++)
		ipc_close_fds(conn->groups[i].fds, &conn->groups[i].nfds);
	conn->ngroups = 0;
	free(conn->in);
	conn->in = NULL;
	conn->inoff = conn->inlen = conn->incap = 0;
}

/*
 * Close the connection: release the socket and everything queued, tell
 * everyone waiting on it, then drop the reference the open socket held.
 */
static void
ipc_conn_kill(struct ipc_conn *conn)
{
	if (conn->dead)
		return;
	conn->dead = 1;
	ipc_conn_ref(conn);
	ipc_conn_release_io(conn);
	if (conn->srv != NULL) {
		TAILQ_REMOVE(&conn->srv->conns, conn, entry);
		conn->srv->nconns--;
		conn->srv = NULL;
	}
	ipc_conn_cancel_calls(conn);
	ipc_conn_fail_pending(conn);
	if (conn->closecb != NULL)
		conn->closecb(conn, conn->closearg);
	/* Drop the open socket's reference, then ours. */
	conn->refs--;
	ipc_conn_unref(conn);
}

/* An I/O error: a peer that simply went away is no news. */
static void
ipc_conn_lost(struct ipc_conn *conn, const char *what)
{
	if (errno == EPIPE || errno == ECONNRESET)
		log_debug("ipc: %s peer %s: %s", what, conn->peername,
		    strerror(errno));
	else
		log_warn("ipc: %s peer %s", what, conn->peername);
	ipc_conn_kill(conn);
}

static void
ipc_conn_protocol_error(struct ipc_conn *conn, const char *why)
{
	log_warnx("ipc: peer %s: %s; dropping the connection",
	    conn->peername, why);
	ipc_conn_kill(conn);
}

static int
ipc_sockaddr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(sun->sun_path, path, strlen(path));
	return (0);
}

struct ipc_conn *
ipc_conn_new(struct event_base *base, int fd)
{
	struct ipc_conn	*conn;

	if ((conn = ipc_conn_create(base, fd, NULL)) != NULL)
		conn->refs++;	/* the caller's, until ipc_conn_free */
	return (conn);
}

struct ipc_conn *
ipc_connect(struct event_base *base, const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd, saved;

	if (ipc_sockaddr(&sun, path) == -1)
		return (NULL);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (NULL);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (NULL);
	}
	return (ipc_conn_new(base, fd));
}

void
ipc_conn_free(struct ipc_conn *conn)
{
	if (conn == NULL)
		return;
	ipc_conn_kill(conn);
	ipc_conn_unref(conn);
}

void
ipc_conn_set_close_cb(struct ipc_conn *conn, ipc_close_cb *cb, void *arg)
{
	conn->closecb = cb;
	conn->closearg = arg;
}

void
ipc_conn_set_max_message(struct ipc_conn *conn, size_t max)
{
	conn->max = max;
}

const struct ipc_peer *
ipc_conn_peer(const struct ipc_conn *conn)
{
	return (&conn->peer);
}

int
ipc_conn_alive(const struct ipc_conn *conn)
{
	return (!conn->dead);
}

/*
 * Connections: writing.
 */

/* Queued output a peer may leave unread before we stop serving it. */
static size_t
ipc_conn_highwater(const struct ipc_conn *conn)
{
	return (conn->max + 1 + IPC_READ_CHUNK);
}

static size_t
ipc_conn_hardlimit(const struct ipc_conn *conn)
{
	return (4 * ipc_conn_highwater(conn));
}

/*
 * Whether to take more input: a server stops taking calls from a peer
 * that has too many running, or too many bytes of them, or does not
 * read its replies.
 */
static int
ipc_conn_taking(const struct ipc_conn *conn)
{
	if (conn->dead)
		return (0);
	return (conn->srv == NULL || (conn->nlive < IPC_MAX_INFLIGHT &&
	    conn->livebytes < ipc_conn_highwater(conn) &&
	    conn->outbytes < ipc_conn_highwater(conn)));
}

/* Want writing while output is queued, reading while taking input. */
static void
ipc_conn_update(struct ipc_conn *conn)
{
	int	 want;

	if (conn->dead)
		return;
	if (!TAILQ_EMPTY(&conn->out))
		event_add(conn->ev_write, NULL);
	else
		event_del(conn->ev_write);

	want = ipc_conn_taking(conn);
	if (want == conn->reading)
		return;
	conn->reading = want;
	if (!want) {
		event_del(conn->ev_read);
		return;
	}
	event_add(conn->ev_read, NULL);
	/* Calls may already wait in the buffer; take them next turn. */
	if (conn->inoff < conn->inlen)
		event_active(conn->ev_read, EV_READ, 1);
}

/* Append a message to Q, with duplicates of FDS. */
static int
ipc_queue(struct ipc_conn *conn, struct ipc_outq *q, char *text,
    const int *fds, size_t nfds)
{
	struct ipc_out	*o;
	size_t		 len = strlen(text);

	if (len > conn->max || nfds > IPC_MAX_FDS) {
		free(text);
		errno = EMSGSIZE;
		return (-1);
	}
	if ((o = calloc(1, sizeof(*o))) == NULL)
		fatal("%s", __func__);
	o->buf = text;
	o->len = len + 1;	/* the NUL terminates the message */
	for (o->nfds = 0; o->nfds < nfds; o->nfds++) {
		o->fds[o->nfds] = fcntl(fds[o->nfds], F_DUPFD_CLOEXEC, 0);
		if (o->fds[o->nfds] == -1) {
			ipc_out_free(o);
			return (-1);
		}
	}
	TAILQ_INSERT_TAIL(q, o, entry);
	return (0);
}

static void
ipc_outq_append(struct ipc_conn *conn, struct ipc_outq *from)
{
	struct ipc_out	*o;

	while ((o = TAILQ_FIRST(from)) != NULL) {
		TAILQ_REMOVE(from, o, entry);
		TAILQ_INSERT_TAIL(&conn->out, o, entry);
		conn->outbytes += o->len;
	}
}

/*
 * Gather what the next sendmsg carries. A message with descriptors goes
 * alone, from its first byte: the receiver gives the descriptors to the
 * message that ends the read they arrive with (see ipc_conn_attach_fds).
 */
static int
ipc_conn_gather(struct ipc_conn *conn, struct iovec *iov, struct msghdr *mh,
    char *cbuf, size_t cbuflen)
{
	struct ipc_out	*o = TAILQ_FIRST(&conn->out);
	struct cmsghdr	*cm;
	int		 n = 0;

	memset(mh, 0, sizeof(*mh));
	mh->msg_iov = iov;
	if (o->nfds > 0) {
		memset(cbuf, 0, cbuflen);
		mh->msg_control = cbuf;
		mh->msg_controllen = CMSG_SPACE(o->nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(o->nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), o->fds, o->nfds * sizeof(int));
		iov[0].iov_base = o->buf;
		iov[0].iov_len = o->len;
		mh->msg_iovlen = 1;
		return (1);
	}
	for (; o != NULL && o->nfds == 0 && n < IPC_IOV_MAX;
	    o = TAILQ_NEXT(o, entry), n++) {
		iov[n].iov_base = o->buf + o->off;
		iov[n].iov_len = o->len - o->off;
	}
	mh->msg_iovlen = n;
	return (n);
}

/* Account for N bytes written; descriptors went with the first byte. */
static void
ipc_conn_written(struct ipc_conn *conn, size_t n)
{
	struct ipc_out	*o;
	size_t		 take;

	while (n > 0 && (o = TAILQ_FIRST(&conn->out)) != NULL) {
		ipc_close_fds(o->fds, &o->nfds);
		take = o->len - o->off < n ? o->len - o->off : n;
		o->off += take;
		conn->outbytes -= take;
		n -= take;
		if (o->off == o->len) {
			TAILQ_REMOVE(&conn->out, o, entry);
			ipc_out_free(o);
		}
	}
}

static void
ipc_conn_writecb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_conn	*conn = arg;
	struct iovec	 iov[IPC_IOV_MAX];
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
	}		 cmsg;
	ssize_t		 n;

	(void)ev;
	while (!TAILQ_EMPTY(&conn->out)) {
		ipc_conn_gather(conn, iov, &mh, cmsg.buf, sizeof(cmsg.buf));
		n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1) {
			ipc_conn_lost(conn, "send to");
			return;
		}
		ipc_conn_written(conn, n);
	}
	ipc_conn_update(conn);
}

/*
 * Connections: reading.
 */

static void
ipc_conn_reserve(struct ipc_conn *conn)
{
	size_t	 want;
	char	*p;

	if (conn->inoff > 0) {
		memmove(conn->in, conn->in + conn->inoff,
		    conn->inlen - conn->inoff);
		conn->instream += conn->inoff;
		conn->inlen -= conn->inoff;
		conn->inoff = 0;
	}
	/* Give back what one big message made us take. */
	if (conn->inlen == 0 && conn->incap > 4 * IPC_READ_CHUNK) {
		free(conn->in);
		conn->in = NULL;
		conn->incap = 0;
	}
	if (conn->incap - conn->inlen >= IPC_READ_CHUNK / 4)
		return;
	want = conn->inlen + IPC_READ_CHUNK;
	if ((p = realloc(conn->in, want)) == NULL)
		fatal("%s", __func__);
	conn->in = p;
	conn->incap = want;
}

/* Collect the descriptors in a received control buffer. */
static int
ipc_conn_cmsg_fds(struct msghdr *mh, int *fds, size_t *nfds)
{
	struct cmsghdr	*cm;
	size_t		 i, n;
	int		 fd, bad = 0;

	*nfds = 0;
	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET ||
		    cm->cmsg_type != SCM_RIGHTS) {
			bad = 1;
			continue;
		}
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < n; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int),
			    sizeof(int));
			if (*nfds < IPC_MAX_FDS)
				fds[(*nfds)++] = fd;
			else {
				close(fd);
				bad = 1;
			}
		}
	}
	return (bad ? -1 : 0);
}

/*
 * Give descriptors that arrived with the read ending at buffer offset
 * END (having started at BEGIN) to their message. The kernel hands them
 * over together with the bytes sent with them, and ends the read right
 * after those bytes; since the sender writes a message with descriptors
 * alone, starting at its first byte, they belong to the message holding
 * the last byte of this read, and that message starts within the read.
 */
static int
ipc_conn_attach_fds(struct ipc_conn *conn, size_t begin, size_t end,
    int *fds, size_t nfds)
{
	struct ipc_fdgroup	*g;
	size_t			 start = end - 1;
	uint64_t		 abs;

	while (start > conn->inoff && conn->in[start - 1] != '\0')
		start--;
	if (start < begin) {
		ipc_close_fds(fds, &nfds);
		return (-1);
	}
	abs = conn->instream + start;
	g = conn->ngroups > 0 ? &conn->groups[conn->ngroups - 1] : NULL;
	if (g == NULL || g->start != abs) {
		if (conn->ngroups == IPC_FDGROUPS) {
			ipc_close_fds(fds, &nfds);
			return (-1);
		}
		g = &conn->groups[conn->ngroups++];
		g->start = abs;
		g->nfds = 0;
	}
	if (g->nfds + nfds > IPC_MAX_FDS) {
		ipc_close_fds(fds, &nfds);
		return (-1);
	}
	memcpy(g->fds + g->nfds, fds, nfds * sizeof(int));
	g->nfds += nfds;
	return (0);
}

/* Read once. Returns 0, or -1 when the connection was closed. */
static int
ipc_conn_read(struct ipc_conn *conn)
{
	struct iovec	 iov;
	struct msghdr	 mh;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
	}		 cmsg;
	int		 fds[IPC_MAX_FDS];
	size_t		 nfds, begin;
	ssize_t		 n;

	ipc_conn_reserve(conn);
	begin = conn->inlen;
	iov.iov_base = conn->in + begin;
	iov.iov_len = conn->incap - begin;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cmsg.buf;
	mh.msg_controllen = sizeof(cmsg.buf);

	n = recvmsg(conn->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return (0);
	if (n == -1) {
		ipc_conn_lost(conn, "receive from");
		return (-1);
	}
	if (ipc_conn_cmsg_fds(&mh, fds, &nfds) == -1 ||
	    (mh.msg_flags & MSG_CTRUNC)) {
		ipc_close_fds(fds, &nfds);
		ipc_conn_protocol_error(conn, "too many file descriptors");
		return (-1);
	}
	if (n == 0) {
		ipc_close_fds(fds, &nfds);
		conn->eof = 1;
		return (0);
	}
	conn->inlen += n;
	if (nfds > 0 && ipc_conn_attach_fds(conn, begin, conn->inlen, fds,
	    nfds) == -1) {
		ipc_conn_protocol_error(conn,
		    "file descriptors sent inside a message");
		return (-1);
	}
	return (0);
}

/* Move the descriptors received for the message at START into FDS. */
static size_t
ipc_conn_take_fds(struct ipc_conn *conn, uint64_t start, int *fds)
{
	struct ipc_fdgroup	*g;
	size_t			 n = 0;

	while (conn->ngroups > 0 && conn->groups[0].start <= start) {
		g = &conn->groups[0];
		if (g->start == start) {
			memcpy(fds, g->fds, g->nfds * sizeof(int));
			n = g->nfds;
		} else
			ipc_close_fds(g->fds, &g->nfds);
		conn->ngroups--;
		memmove(&conn->groups[0], &conn->groups[1],
		    conn->ngroups * sizeof(conn->groups[0]));
	}
	return (n);
}

static void	ipc_conn_dispatch_call(struct ipc_conn *, cJSON *, size_t,
		    int *, size_t);
static void	ipc_conn_dispatch_reply(struct ipc_conn *, cJSON *, int *,
		    size_t);

static void
ipc_conn_process(struct ipc_conn *conn)
{
	cJSON		*msg;
	const char	*why;
	size_t		 used, nfds;
	uint64_t	 start;
	int		 fds[IPC_MAX_FDS], rc;

	while (ipc_conn_taking(conn) && conn->inoff < conn->inlen) {
		rc = ipc_msg_split(conn->in + conn->inoff,
		    conn->inlen - conn->inoff, conn->max, &msg, &used, &why);
		if (rc == 0)
			break;
		if (rc == -1) {
			ipc_conn_protocol_error(conn, why);
			return;
		}
		start = conn->instream + conn->inoff;
		conn->inoff += used;
		nfds = ipc_conn_take_fds(conn, start, fds);
		if (conn->srv != NULL)
			ipc_conn_dispatch_call(conn, msg, used, fds, nfds);
		else
			ipc_conn_dispatch_reply(conn, msg, fds, nfds);
	}
}

static void
ipc_conn_readcb(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_conn	*conn = arg;

	(void)fd;
	(void)ev;
	ipc_conn_ref(conn);
	if (ipc_conn_read(conn) == 0)
		ipc_conn_process(conn);
	if (!conn->dead && conn->eof) {
		if (conn->inoff < conn->inlen && ipc_conn_taking(conn))
			ipc_conn_protocol_error(conn,
			    "unterminated message at end of stream");
		else {
			log_debug("ipc: peer %s closed the connection",
			    conn->peername);
			ipc_conn_kill(conn);
		}
	}
	ipc_conn_update(conn);
	ipc_conn_unref(conn);
}

/*
 * Client side.
 */

int
ipc_reply_take_fd(struct ipc_reply *reply, size_t i)
{
	int	 fd;

	if (i >= reply->nfds)
		return (-1);
	fd = reply->fds[i];
	reply->fds[i] = -1;
	return (fd);
}

static void
ipc_conn_deliver(struct ipc_conn *conn, struct ipc_pending *p,
    const struct ipc_replyhdr *hdr, int *fds, size_t nfds)
{
	struct ipc_reply	 r;

	memset(&r, 0, sizeof(r));
	r.error = hdr->error;
	r.parameters = hdr->parameters != NULL ? hdr->parameters :
	    &ipc_empty;
	r.continues = hdr->continues;
	memcpy(r.fds, fds, nfds * sizeof(int));
	r.nfds = nfds;
	if (p->cb != NULL)
		p->cb(conn, &r, p->arg);
	ipc_close_fds(r.fds, &r.nfds);
}

static void
ipc_conn_dispatch_reply(struct ipc_conn *conn, cJSON *msg, int *fds,
    size_t nfds)
{
	struct ipc_replyhdr	 hdr;
	struct ipc_pending	*p;
	const char		*why;

	p = TAILQ_FIRST(&conn->pending);
	if (ipc_msg_check_reply(msg, &hdr, &why) == 0) {
		if (p == NULL)
			why = "reply to no call";
		else if (hdr.continues && !p->more)
			why = "continuing reply to a single call";
		else
			why = NULL;
	}
	if (why != NULL) {
		ipc_close_fds(fds, &nfds);
		cJSON_Delete(msg);
		ipc_conn_protocol_error(conn, why);
		return;
	}

	/* Off the queue while the callback runs, which may add calls. */
	TAILQ_REMOVE(&conn->pending, p, entry);
	ipc_conn_deliver(conn, p, &hdr, fds, nfds);
	cJSON_Delete(msg);
	if (hdr.continues && !conn->dead)
		TAILQ_INSERT_HEAD(&conn->pending, p, entry);
	else {
		if (hdr.continues)
			ipc_reply_disconnected(conn, p);
		free(p);
	}
}

/* Queue a call; *PP is where its replies will be awaited (NULL: oneway). */
static int
ipc_conn_send_call(struct ipc_conn *conn, const char *method,
    const cJSON *params, int flags, const int *fds, size_t nfds,
    struct ipc_pending **pp)
{
	const char	*tail;
	char		*text;

	*pp = NULL;
	if (conn->dead) {
		errno = ENOTCONN;
		return (-1);
	}
	if ((flags & ~(IPC_CALL_MORE | IPC_CALL_ONEWAY)) != 0 ||
	    flags == (IPC_CALL_MORE | IPC_CALL_ONEWAY)) {
		errno = EINVAL;
		return (-1);
	}
	if (conn->outbytes > ipc_conn_hardlimit(conn)) {
		errno = ENOBUFS;
		return (-1);
	}
	tail = flags & IPC_CALL_MORE ? ",\"more\":true" :
	    flags & IPC_CALL_ONEWAY ? ",\"oneway\":true" : "";
	if ((text = ipc_msg_build("method", method, params, tail)) == NULL ||
	    ipc_queue(conn, &conn->out, text, fds, nfds) == -1)
		return (-1);
	conn->outbytes += TAILQ_LAST(&conn->out, ipc_outq)->len;

	if (!(flags & IPC_CALL_ONEWAY)) {
		if ((*pp = calloc(1, sizeof(**pp))) == NULL)
			fatal("%s", __func__);
		(*pp)->more = (flags & IPC_CALL_MORE) != 0;
		TAILQ_INSERT_TAIL(&conn->pending, *pp, entry);
	}
	ipc_conn_update(conn);
	return (0);
}

int
ipc_conn_call(struct ipc_conn *conn, const char *method,
    const cJSON *params, int flags, const int *fds, size_t nfds,
    ipc_reply_cb *cb, void *arg)
{
	struct ipc_pending	*p;

	if (ipc_conn_send_call(conn, method, params, flags, fds, nfds,
	    &p) == -1)
		return (-1);
	if (p != NULL) {
		p->cb = cb;
		p->arg = arg;
	}
	return (0);
}

struct ipc_sync {
	struct ipc_result	*res;
	int			 done;
	int			 timedout;
};

static void
ipc_sync_reply(struct ipc_conn *conn, struct ipc_reply *r, void *arg)
{
	struct ipc_sync		*s = arg;
	struct ipc_result	*res = s->res;
	size_t			 i;

	(void)conn;
	s->done = 1;
	if (r->error != NULL && (res->error = strdup(r->error)) == NULL)
		fatal("%s", __func__);
	if ((res->parameters = cJSON_Duplicate(r->parameters, 1)) == NULL)
		fatalx("%s: cannot copy the reply", __func__);
	for (i = 0; i < r->nfds; i++)
		res->fds[res->nfds++] = ipc_reply_take_fd(r, i);
}

static void
ipc_sync_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_sync	*s = arg;

	(void)fd;
	(void)ev;
	s->timedout = 1;
}

static int
ipc_sync_outcome(struct ipc_result *res)
{
	if (res->error == NULL ||
	    strcmp(res->error, IPC_ERR_DISCONNECTED) != 0)
		return (0);
	ipc_result_clear(res);
	errno = ECONNRESET;
	return (-1);
}

int
ipc_conn_call_sync(struct ipc_conn *conn, const char *method,
    const cJSON *params, const int *fds, size_t nfds, int timeout_ms,
    struct ipc_result *res)
{
	struct ipc_sync		 s;
	struct ipc_pending	*p;
	struct event		*timer;
	struct timeval		 tv;

	memset(res, 0, sizeof(*res));
	memset(&s, 0, sizeof(s));
	s.res = res;
	if (ipc_conn_send_call(conn, method, params, 0, fds, nfds, &p) == -1)
		return (-1);
	p->cb = ipc_sync_reply;
	p->arg = &s;

	if ((timer = evtimer_new(conn->base, ipc_sync_timeout, &s)) == NULL)
		fatalx("%s: evtimer_new failed", __func__);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	if (timeout_ms >= 0)
		evtimer_add(timer, &tv);
	/* Inside a callback the loop refuses to run again: give up. */
	while (!s.done && !s.timedout)
		if (event_base_loop(conn->base, EVLOOP_ONCE) != 0)
			break;
	event_free(timer);

	if (!s.done) {
		/* The reply may still come: let it fall on the floor. */
		p->cb = NULL;
		errno = s.timedout ? ETIMEDOUT : EDEADLK;
		return (-1);
	}
	return (ipc_sync_outcome(res));
}

void
ipc_result_clear(struct ipc_result *res)
{
	free(res->error);
	cJSON_Delete(res->parameters);
	ipc_close_fds(res->fds, &res->nfds);
	memset(res, 0, sizeof(*res));
}

/*
 * Server side: calls.
 */

static void
ipc_call_unref(struct ipc_call *call)
{
	if (--call->refs > 0)
		return;
	ipc_close_fds(call->fds, &call->nfds);
	ipc_outq_clear(&call->held);
	cJSON_Delete(call->msg);
	ipc_conn_unref(call->conn);
	free(call);
}

/* The head call replied for good: let the next ones' replies out. */
static void
ipc_conn_advance(struct ipc_conn *conn)
{
	struct ipc_call	*call;

	while ((call = TAILQ_FIRST(&conn->calls)) != NULL &&
	    call->finished) {
		TAILQ_REMOVE(&conn->calls, call, order);
		call->inorder = 0;
		ipc_call_unref(call);
		if ((call = TAILQ_FIRST(&conn->calls)) != NULL)
			ipc_outq_append(conn, &call->held);
	}
}

/* The final reply: the handler lets go of the call. */
static void
ipc_call_finish(struct ipc_call *call)
{
	struct ipc_conn	*conn = call->conn;

	if (call->finished)
		fatalx("ipc: %s answered twice", call->hdr.method);
	call->finished = 1;
	if (call->islive) {
		TAILQ_REMOVE(&conn->livecalls, call, live);
		call->islive = 0;
		conn->nlive--;
		conn->livebytes -= call->size;
	}
	if (call->inorder && TAILQ_FIRST(&conn->calls) == call)
		ipc_conn_advance(conn);
	ipc_conn_update(conn);
	ipc_call_unref(call);
}

static int
ipc_call_send(struct ipc_call *call, char *text, const int *fds,
    size_t nfds)
{
	struct ipc_conn	*conn = call->conn;
	struct ipc_outq	*q;
	int		 head;

	if (text == NULL) {
		log_warn("ipc: reply to %s", call->hdr.method);
		return (-1);
	}
	if (conn->dead || !call->inorder) {
		free(text);
		return (conn->dead ? -1 : 0);
	}
	head = TAILQ_FIRST(&conn->calls) == call;
	q = head ? &conn->out : &call->held;
	if (ipc_queue(conn, q, text, fds, nfds) == -1) {
		log_warn("ipc: reply to %s", call->hdr.method);
		return (-1);
	}
	if (head)
		conn->outbytes += TAILQ_LAST(q, ipc_outq)->len;
	ipc_conn_update(conn);
	return (0);
}

const struct ipc_peer *
ipc_call_peer(const struct ipc_call *call)
{
	return (&call->conn->peer);
}

const char *
ipc_call_method(const struct ipc_call *call)
{
	return (call->hdr.method);
}

int
ipc_call_flags(const struct ipc_call *call)
{
	return (call->hdr.flags);
}

size_t
ipc_call_nfds(const struct ipc_call *call)
{
	return (call->nfds);
}

int
ipc_call_take_fd(struct ipc_call *call, size_t i)
{
	int	 fd;

	if (i >= call->nfds)
		return (-1);
	fd = call->fds[i];
	call->fds[i] = -1;
	return (fd);
}

void
ipc_call_set_cancel(struct ipc_call *call,
    void (*cb)(struct ipc_call *, void *), void *arg)
{
	call->cancel = cb;
	call->cancelarg = arg;
}

/*
 * Send the final reply TEXT and release the call. The peer pairs replies
 * with calls by order, so a reply that cannot go (too big, say) is
 * replaced by an error rather than left out.
 */
static int
ipc_call_final(struct ipc_call *call, char *text, const int *fds,
    size_t nfds)
{
	int	 rc;

	rc = ipc_call_send(call, text, fds, nfds);
	if (rc == -1 && !call->conn->dead && call->inorder &&
	    ipc_call_send(call, ipc_msg_build("error", IPC_ERR_INTERNAL, NULL,
	    ""), NULL, 0) == -1)
		fatalx("ipc: cannot reply to %s", call->hdr.method);
	ipc_call_finish(call);
	return (rc);
}

int
ipc_call_reply_fds(struct ipc_call *call, const cJSON *params,
    const int *fds, size_t nfds)
{
	return (ipc_call_final(call, ipc_msg_build(NULL, NULL, params, ""),
	    fds, nfds));
}

int
ipc_call_reply(struct ipc_call *call, const cJSON *params)
{
	return (ipc_call_reply_fds(call, params, NULL, 0));
}

int
ipc_call_reply_more(struct ipc_call *call, const cJSON *params)
{
	if (call->finished || !(call->hdr.flags & IPC_CALL_MORE))
		fatalx("ipc: %s: continuing reply to a single call",
		    call->hdr.method);
	if (call->conn->outbytes > ipc_conn_hardlimit(call->conn)) {
		errno = ENOBUFS;
		return (-1);
	}
	return (ipc_call_send(call, ipc_msg_build(NULL, NULL, params,
	    ",\"continues\":true"), NULL, 0));
}

int
ipc_call_error(struct ipc_call *call, const char *error,
    const cJSON *params)
{
	return (ipc_call_final(call, ipc_msg_build("error", error, params,
	    ""), NULL, 0));
}

int
ipc_call_invalid(struct ipc_call *call, const struct ipc_param_error *err)
{
	cJSON	*p;
	int	 rc;

	log_debug("ipc: peer %s: %s: parameter %s %s", call->conn->peername,
	    call->hdr.method, err->parameter, err->reason);
	if ((p = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(p, "parameter", err->parameter) == NULL)
		fatalx("%s: out of memory", __func__);
	rc = ipc_call_error(call, IPC_ERR_INVALID_PARAMETER, p);
	cJSON_Delete(p);
	return (rc);
}

int
ipc_call_check(struct ipc_call *call, const struct ipc_param_spec *spec)
{
	struct ipc_param_error	 err;

	if (ipc_params_check(call->hdr.parameters, spec, &err) == 0)
		return (0);
	ipc_call_invalid(call, &err);
	return (-1);
}

/*
 * Server side: dispatch.
 */

static const struct ipc_method *
ipc_server_method(const struct ipc_server *srv, const char *name)
{
	const struct ipc_method	*m;

	for (m = srv->methods; m->name != NULL; m++)
		if (strcmp(m->name, name) == 0)
			return (m);
	return (NULL);
}

static struct ipc_call *
ipc_call_new(struct ipc_conn *conn, cJSON *msg, size_t size,
    const struct ipc_callhdr *hdr, int *fds, size_t nfds)
{
	struct ipc_call	*call;

	if ((call = calloc(1, sizeof(*call))) == NULL)
		fatal("%s", __func__);
	call->conn = conn;
	ipc_conn_ref(conn);
	call->msg = msg;
	call->size = size;
	call->hdr = *hdr;
	memcpy(call->fds, fds, nfds * sizeof(int));
	call->nfds = nfds;
	TAILQ_INIT(&call->held);
	call->refs = 2;		/* the handler's and the dispatcher's */
	TAILQ_INSERT_TAIL(&conn->livecalls, call, live);
	call->islive = 1;
	conn->nlive++;
	conn->livebytes += size;
	if (!(hdr->flags & IPC_CALL_ONEWAY)) {
		TAILQ_INSERT_TAIL(&conn->calls, call, order);
		call->inorder = 1;
		call->refs++;
	}
	return (call);
}

static void
ipc_call_not_found(struct ipc_call *call)
{
	cJSON	*p;

	if ((p = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(p, "method", call->hdr.method) == NULL)
		fatalx("%s: out of memory", __func__);
	ipc_call_error(call, IPC_ERR_METHOD_NOT_FOUND, p);
	cJSON_Delete(p);
}

static void
ipc_conn_dispatch_call(struct ipc_conn *conn, cJSON *msg, size_t size,
    int *fds, size_t nfds)
{
	const struct ipc_method	*m;
	struct ipc_callhdr	 hdr;
	struct ipc_call		*call;
	const char		*why;

	if (ipc_msg_check_call(msg, &hdr, &why) == -1) {
		ipc_close_fds(fds, &nfds);
		cJSON_Delete(msg);
		ipc_conn_protocol_error(conn, why);
		return;
	}
	call = ipc_call_new(conn, msg, size, &hdr, fds, nfds);
	log_debug("ipc: peer %s calls %s", conn->peername, hdr.method);

	m = ipc_server_method(conn->srv, hdr.method);
	if (m == NULL)
		ipc_call_not_found(call);
	else if (m->params == NULL || ipc_call_check(call, m->params) == 0)
		m->handler(call, hdr.parameters != NULL ? hdr.parameters :
		    &ipc_empty, conn->srv->arg);

	/* Descriptors the handler did not take are not kept around. */
	ipc_close_fds(call->fds, &call->nfds);
	ipc_call_unref(call);
}

/*
 * Server side: sockets.
 */

/* Why a new peer may not be served, or NULL if it may. */
static const char *
ipc_server_refuse(struct ipc_server *srv, const struct ipc_peer *peer)
{
	struct ipc_conn	*c;
	size_t		 n = 0;

	if (srv->allow != NULL && !srv->allow(peer, srv->allowarg))
		return ("not allowed");
	if (srv->nconns >= IPC_MAX_CONNS)
		return ("too many connections");
	TAILQ_FOREACH(c, &srv->conns, entry)
		if (c->peer.uid == peer->uid)
			n++;
	if (n >= IPC_MAX_CONNS_PER_UID)
		return ("too many connections from this user");
	return (NULL);
}

int
ipc_server_add_fd(struct ipc_server *srv, int fd)
{
	struct ipc_conn	*conn;
	const char	*why;

	if ((conn = ipc_conn_create(srv->base, fd, srv)) == NULL)
		return (-1);
	if ((why = ipc_server_refuse(srv, &conn->peer)) != NULL) {
		log_warnx("ipc: refusing peer %s: %s", conn->peername, why);
		conn->srv = NULL;
		ipc_conn_kill(conn);
		errno = EPERM;
		return (-1);
	}
	TAILQ_INSERT_TAIL(&srv->conns, conn, entry);
	srv->nconns++;
	log_debug("ipc: peer %s connected", conn->peername);
	return (0);
}

static void
ipc_server_resume(evutil_socket_t fd, short ev, void *arg)
{
	struct ipc_server	*srv = arg;

	(void)fd;
	(void)ev;
	event_add(srv->ev_accept, NULL);
}

static void
ipc_server_acceptcb(evutil_socket_t lfd, short ev, void *arg)
{
	struct ipc_server	*srv = arg;
	struct timeval		 tv = { 1, 0 };
	int			 fd;

	(void)ev;
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd != -1) {
		ipc_server_add_fd(srv, fd);
		return;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
	    errno == ECONNABORTED)
		return;
	log_warn("ipc: accept");
	/* Out of descriptors, most likely: let some close first. */
	event_del(srv->ev_accept);
	evtimer_add(srv->ev_resume, &tv);
}

struct ipc_server *
ipc_server_new(struct event_base *base, const struct ipc_method *methods,
    void *arg)
{
	struct ipc_server	*srv;

	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		fatal("%s", __func__);
	srv->base = base;
	srv->methods = methods;
	srv->arg = arg;
	srv->max = IPC_MAX_MESSAGE;
	srv->lfd = -1;
	TAILQ_INIT(&srv->conns);
	return (srv);
}

void
ipc_server_set_allow(struct ipc_server *srv, ipc_allow_fn *fn, void *arg)
{
	srv->allow = fn;
	srv->allowarg = arg;
}

void
ipc_server_set_max_message(struct ipc_server *srv, size_t max)
{
	srv->max = max;
}

/* The listening socket systemd passed under NAME, 0 if none, or -1. */
static int
ipc_listen_systemd(const char *name)
{
	char	**names = NULL;
	int	  i, n, fd = 0;

	if ((n = sd_listen_fds_with_names(0, &names)) <= 0)
		return (0);
	for (i = 0; i < n; i++) {
		if (fd == 0 && names[i] != NULL && strcmp(names[i], name) == 0)
			fd = SD_LISTEN_FDS_START + i;
		free(names[i]);
	}
	free(names);
	if (fd == 0)
		return (0);
	if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0) {
		log_warnx("ipc: socket %s from systemd is not a listening "
		    "Unix stream socket", name);
		errno = ENOTSOCK;
		return (-1);
	}
	log_debug("ipc: using socket %s from systemd", name);
	return (fd);
}

/*
 * Make way for a new socket at PATH: a socket nobody listens on is left
 * over from a dead process and goes; anything else stays.
 */
static int
ipc_listen_clear(const struct sockaddr_un *sun)
{
	struct stat	 st;
	int		 fd, rc;

	if (lstat(sun->sun_path, &st) == -1)
		return (errno == ENOENT ? 0 : -1);
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx("ipc: %s exists and is not a socket",
		    sun->sun_path);
		errno = EEXIST;
		return (-1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	if (rc == 0) {
		log_warnx("ipc: %s: another process is listening there",
		    sun->sun_path);
		errno = EADDRINUSE;
		return (-1);
	}
	if (errno != ECONNREFUSED)
		return (-1);
	log_debug("ipc: removing stale socket %s", sun->sun_path);
	return (unlink(sun->sun_path));
}

static int
ipc_listen_path(const char *path, mode_t mode)
{
	struct sockaddr_un	 sun;
	mode_t			 old;
	int			 fd, rc, saved;

	if (ipc_sockaddr(&sun, path) == -1)
		return (-1);
	if (ipc_listen_clear(&sun) == -1)
		return (-1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return (-1);

	/* The socket must not exist with wider permissions, even briefly. */
	old = umask(~mode & 0777);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc == -1 || listen(fd, SOMAXCONN) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

int
ipc_server_listen(struct ipc_server *srv, const char *name,
    const char *path, mode_t mode)
{
	int	 fd = 0;

	if (srv->lfd != -1) {
		errno = EBUSY;
		return (-1);
	}
	if (name != NULL && (fd = ipc_listen_systemd(name)) == -1)
		return (-1);
	if (fd == 0 && path == NULL) {
		log_warnx("ipc: no socket %s from systemd and no path",
		    name != NULL ? name : "(unnamed)");
		errno = ENOENT;
		return (-1);
	}
	if (fd == 0) {
		if ((fd = ipc_listen_path(path, mode)) == -1) {
			log_warn("ipc: listen on %s", path);
			return (-1);
		}
		if ((srv->path = strdup(path)) == NULL)
			fatal("%s", __func__);
	} else if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1)
		return (-1);

	srv->lfd = fd;
	srv->ev_accept = event_new(srv->base, fd, EV_READ | EV_PERSIST,
	    ipc_server_acceptcb, srv);
	srv->ev_resume = evtimer_new(srv->base, ipc_server_resume, srv);
	if (srv->ev_accept == NULL || srv->ev_resume == NULL)
		fatalx("%s: event_new failed", __func__);
	event_add(srv->ev_accept, NULL);
	return (0);
}

void
ipc_server_free(struct ipc_server *srv)
{
	struct ipc_conn	*conn;

	if (srv == NULL)
		return;
	if (srv->lfd != -1) {
		event_free(srv->ev_accept);
		event_free(srv->ev_resume);
		close(srv->lfd);
		if (srv->path != NULL)
			unlink(srv->path);
	}
	while ((conn = TAILQ_FIRST(&srv->conns)) != NULL)
		ipc_conn_kill(conn);
	free(srv->path);
	free(srv);
}
