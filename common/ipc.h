/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_IPC_H
#define ZOTAD_IPC_H

/*
 * IPC between the zotad processes and zotadctl, in the varlink style:
 * every message is one JSON object followed by a NUL byte, carried over
 * a Unix stream socket. A call names a method and carries parameters;
 * the server answers with one reply, or with a stream of replies marked
 * "continues" when the call asked for "more". File descriptors travel
 * with SCM_RIGHTS on the message they belong to.
 *
 * Everything runs on the caller's libevent event_base. Method and error
 * names live in ipc_catalogue.h.
 *
 * A peer that breaks the protocol (oversized, unterminated or non-JSON
 * message, missing method, unexpected reply, too many descriptors) is a
 * misbehaving process: the event is logged with its pid and uid and the
 * connection is dropped. The server itself carries on.
 *
 * A server in outline:
 *
 *	static const struct ipc_param_spec check_params[] = {
 *		{ "ieee", IPC_P_HEX, IPC_P_REQUIRED, 16, 16, NULL },
 *		{ NULL, 0, 0, 0, 0, NULL }
 *	};
 *	static const struct ipc_method methods[] = {
 *		{ IPC_FETCH_CHECK, fetch_check, check_params },
 *		{ NULL, NULL, NULL }
 *	};
 *
 *	srv = ipc_server_new(base, methods, ctx);
 *	if (ipc_server_listen(srv, "fetch", path, 0660) == -1)
 *		fatalx("cannot listen");
 *
 * and a client: ipc_connect, then ipc_conn_call with a callback, or
 * ipc_conn_call_sync where blocking is fine.
 */

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>
#include <event2/event.h>

#define IPC_MAX_MESSAGE		(1024 * 1024)	/* default cap */
#define IPC_MAX_FDS		8	/* descriptors on one message */
#define IPC_MAX_INFLIGHT	64	/* running calls per connection */
#define IPC_MAX_CONNS		128	/* connections per server */
#define IPC_MAX_CONNS_PER_UID	32	/* of them from one user */

struct ipc_conn;
struct ipc_server;
struct ipc_call;

/* The process at the other end, from SO_PEERCRED. */
struct ipc_peer {
	pid_t	pid;
	uid_t	uid;
	gid_t	gid;
};

/*
 * Messages: the pure part, usable without sockets.
 */

/*
 * Take the first message off BUF (LEN bytes). Returns 1 with *MSG set to
 * the parsed object (free with cJSON_Delete) and *USED to the bytes it
 * took, terminating NUL included; 0 when no NUL has arrived yet and LEN
 * is still within MAX; -1 on a protocol error, with *WHY saying what.
 * A message is at most MAX bytes without its NUL.
 */
int	ipc_msg_split(const char *buf, size_t len, size_t max, cJSON **msg,
	    size_t *used, const char **why);

#define IPC_CALL_MORE	0x01	/* ask for a stream of replies */
#define IPC_CALL_ONEWAY	0x02	/* ask for no reply at all */

/* The envelope of a call, pointing into the parsed message. */
struct ipc_callhdr {
	const char	*method;
	const cJSON	*parameters;	/* NULL if the call had none */
	int		 flags;		/* IPC_CALL_* */
};

/* The envelope of a reply, pointing into the parsed message. */
struct ipc_replyhdr {
	const char	*error;		/* NULL for success */
	const cJSON	*parameters;	/* NULL if the reply had none */
	int		 continues;
};

/*
 * Check that MSG is a well-formed call (or reply) and fill in HDR.
 * Returns 0, or -1 with *WHY naming what was wrong; unknown and
 * duplicated keys are errors, as are malformed method or error names.
 */
int	ipc_msg_check_call(const cJSON *msg, struct ipc_callhdr *hdr,
	    const char **why);
int	ipc_msg_check_reply(const cJSON *msg, struct ipc_replyhdr *hdr,
	    const char **why);

/*
 * Parameter validation, driven by a table. Each entry names a field, its
 * type and whether it is required; the table ends with a NULL name.
 *
 *	IPC_P_STRING	UTF-8 string, length in bytes within [min, max]
 *	IPC_P_INT	integral number within [min, max]
 *	IPC_P_BOOL	true or false
 *	IPC_P_OBJECT	object; checked against FIELDS when that is set
 *	IPC_P_ARRAY	array, element count within [min, max]
 *	IPC_P_HEX	string of hex digits, length within [min, max]
 *
 * A max of 0 means no upper bound for strings, hex and arrays. A field
 * may be null only with IPC_P_NULLABLE, and counts as absent then.
 */
enum ipc_ptype {
	IPC_P_STRING,
	IPC_P_INT,
	IPC_P_BOOL,
	IPC_P_OBJECT,
	IPC_P_ARRAY,
	IPC_P_HEX
};

#define IPC_P_REQUIRED	0x01
#define IPC_P_NULLABLE	0x02

struct ipc_param_spec {
	const char			*name;
	enum ipc_ptype			 type;
	int				 flags;
	int64_t				 min;
	int64_t				 max;
	const struct ipc_param_spec	*fields;
};

/* What was wrong with a set of parameters. */
struct ipc_param_error {
	char		 parameter[128];	/* "a", or "a.b" if nested */
	const char	*reason;
};

/*
 * Check PARAMS (an object, or NULL for none) against SPEC. Returns 0, or
 * -1 with ERR naming the first offending parameter and why.
 */
int	ipc_params_check(const cJSON *params,
	    const struct ipc_param_spec *spec, struct ipc_param_error *err);

/*
 * Read a parameter after it has been checked: the value of NAME in
 * PARAMS, or DEF when it is absent or null.
 */
const char *ipc_param_string(const cJSON *params, const char *name,
	    const char *def);
int64_t	ipc_param_int(const cJSON *params, const char *name,
	    int64_t def);
int	ipc_param_bool(const cJSON *params, const char *name, int def);

/*
 * Connections.
 */

/*
 * A reply as a client sees it. PARAMETERS is never NULL (an empty
 * object stands in when the reply had none). FDS are owned by the
 * callback while it runs: take them with ipc_reply_take_fd; the rest
 * are closed when it returns.
 */
struct ipc_reply {
	const char	*error;
	const cJSON	*parameters;
	int		 continues;
	int		 fds[IPC_MAX_FDS];
	size_t		 nfds;
};

/*
 * Called for each reply to a call; with CONTINUES set more follow. When
 * the connection is lost first, the callback gets a reply whose error is
 * IPC_ERR_DISCONNECTED, without parameters from the peer.
 */
typedef void	ipc_reply_cb(struct ipc_conn *, struct ipc_reply *, void *);

/* Called once when a connection closes, whatever the reason. */
typedef void	ipc_close_cb(struct ipc_conn *, void *);

/* Take descriptor I of a reply; -1 if there is none or it was taken. */
int	ipc_reply_take_fd(struct ipc_reply *reply, size_t i);

/*
 * Wrap FD, a connected Unix stream socket, as a client connection on
 * BASE. The connection owns FD from then on, even on failure.
 */
struct ipc_conn *ipc_conn_new(struct event_base *base, int fd);

/* Connect to the socket at PATH. Returns NULL with errno set. */
struct ipc_conn *ipc_connect(struct event_base *base, const char *path);

/*
 * Close the connection at once. Outstanding calls get their callbacks
 * with IPC_ERR_DISCONNECTED; the close callback runs. Safe to call from
 * inside any callback of this connection.
 */
void	ipc_conn_free(struct ipc_conn *conn);

/* Run CB when the connection closes (peer gone, error, or freed). */
void	ipc_conn_set_close_cb(struct ipc_conn *conn, ipc_close_cb *cb,
	    void *arg);

/* Change the size cap for messages both ways (default IPC_MAX_MESSAGE). */
void	ipc_conn_set_max_message(struct ipc_conn *conn, size_t max);

/* The peer's credentials, read when the connection was made. */
const struct ipc_peer *ipc_conn_peer(const struct ipc_conn *conn);

/* Whether the connection is still open. */
int	ipc_conn_alive(const struct ipc_conn *conn);

/*
 * Send a call to METHOD with PARAMS (borrowed; NULL for none) and FLAGS
 * (IPC_CALL_*). NFDS descriptors from FDS go with it; they are
 * duplicated, so the caller keeps its own. CB (not used for oneway
 * calls) gets the replies. Returns 0, or -1 with errno set: ENOTCONN
 * when closed, EMSGSIZE when too big, EINVAL for bad arguments, ENOBUFS
 * when the peer is not reading.
 *
 * The server runs calls side by side but answers them in the order they
 * were made, so a stream that goes on for long (a subscription) holds
 * back the replies to later calls: give it a connection of its own.
 */
int	ipc_conn_call(struct ipc_conn *conn, const char *method,
	    const cJSON *params, int flags, const int *fds, size_t nfds,
	    ipc_reply_cb *cb, void *arg);

/* The outcome of a blocking call; clear it with ipc_result_clear. */
struct ipc_result {
	char	*error;		/* NULL on success */
	cJSON	*parameters;	/* never NULL after a reply */
	int	 fds[IPC_MAX_FDS];
	size_t	 nfds;
};

/*
 * Make a call and wait up to TIMEOUT_MS milliseconds for its reply,
 * running the connection's event_base meanwhile (a negative timeout
 * waits for ever): for zotadctl and set-up code, never from inside a
 * callback. Returns 0 with RES filled
 * (an error reply is a success here: see RES->error), or -1 with errno
 * ETIMEDOUT, ECONNRESET (connection lost), EDEADLK (the loop could not
 * run, as from inside a callback) or as ipc_conn_call.
 */
int	ipc_conn_call_sync(struct ipc_conn *conn, const char *method,
	    const cJSON *params, const int *fds, size_t nfds, int timeout_ms,
	    struct ipc_result *res);

/* Free what a result holds and close descriptors nobody took. */
void	ipc_result_clear(struct ipc_result *res);

/*
 * Servers.
 */

/*
 * A method handler. PARAMS is the call's parameters (never NULL, and
 * already checked when the table entry has a spec); it stays valid
 * until the final reply. The handler must end every call with exactly
 * one final reply, now or later (ipc_call_reply, ipc_call_error, ...),
 * which releases the call; for oneway calls nothing is sent.
 */
typedef void	ipc_handler_fn(struct ipc_call *call, const cJSON *params,
	    void *arg);

struct ipc_method {
	const char			*name;
	ipc_handler_fn			*handler;
	const struct ipc_param_spec	*params;	/* or NULL */
};

/* Accept (1) or refuse (0) a peer; refused peers are logged and closed. */
typedef int	ipc_allow_fn(const struct ipc_peer *peer, void *arg);

/*
 * A server dispatching to METHODS, a table ended by a NULL name; ARG is
 * given to every handler. The table must outlive the server.
 */
struct ipc_server *ipc_server_new(struct event_base *base,
	    const struct ipc_method *methods, void *arg);

/*
 * Start listening. If systemd passed a listening socket named NAME
 * (LISTEN_FDS, LISTEN_FDNAMES; the unit's FileDescriptorName=, which
 * defaults to the socket unit's name) adopt it; otherwise create it at
 * PATH with MODE, replacing a stale socket left by a dead process but
 * refusing to touch one a live process listens on, or a file that is
 * not a socket. Either NAME or PATH may be NULL. Returns 0, or -1 with
 * errno set and the reason logged.
 */
int	ipc_server_listen(struct ipc_server *srv, const char *name,
	    const char *path, mode_t mode);

/*
 * Serve a connected socket FD directly, as if accepted (for channels
 * made with socketpair). The server owns FD from then on, and closes it
 * when the peer goes away. Returns 0, or -1 when the peer was refused.
 */
int	ipc_server_add_fd(struct ipc_server *srv, int fd);

/* Check each new peer with FN before serving it. */
void	ipc_server_set_allow(struct ipc_server *srv, ipc_allow_fn *fn,
	    void *arg);

/* Size cap for messages on connections accepted from now on. */
void	ipc_server_set_max_message(struct ipc_server *srv, size_t max);

/*
 * Stop listening (removing a socket we created) and close every
 * connection; calls still held by handlers stay valid until replied.
 */
void	ipc_server_free(struct ipc_server *srv);

/*
 * Calls, on the server side.
 */

/* Who made the call. */
const struct ipc_peer *ipc_call_peer(const struct ipc_call *call);
const char *ipc_call_method(const struct ipc_call *call);
int	ipc_call_flags(const struct ipc_call *call);

/*
 * Descriptors that came with the call: take them with ipc_call_take_fd
 * while the handler runs; the rest are closed when it returns.
 */
size_t	ipc_call_nfds(const struct ipc_call *call);
int	ipc_call_take_fd(struct ipc_call *call, size_t i);

/*
 * Run CB if the connection goes away before the final reply, so the
 * work can stop early. The handler must still reply to release the call.
 */
void	ipc_call_set_cancel(struct ipc_call *call,
	    void (*cb)(struct ipc_call *, void *), void *arg);

/*
 * Final reply with PARAMS (borrowed, may be NULL) and descriptors
 * (duplicated). Releases the call. Returns 0, or -1 when the connection
 * is gone or the reply could not be sent (too big, say: logged, and the
 * peer gets IPC_ERR_INTERNAL instead).
 */
int	ipc_call_reply(struct ipc_call *call, const cJSON *params);
int	ipc_call_reply_fds(struct ipc_call *call, const cJSON *params,
	    const int *fds, size_t nfds);

/*
 * One reply of a stream, with "continues"; only for calls that asked
 * for more. Returns 0, or -1 when the connection is gone.
 */
int	ipc_call_reply_more(struct ipc_call *call, const cJSON *params);

/* Final error reply ERROR (a catalogue name) with PARAMS. */
int	ipc_call_error(struct ipc_call *call, const char *error,
	    const cJSON *params);

/* Final InvalidParameter reply naming the parameter in ERR. */
int	ipc_call_invalid(struct ipc_call *call,
	    const struct ipc_param_error *err);

/*
 * Check the call's parameters against SPEC; on failure reply
 * InvalidParameter (releasing the call) and return -1.
 */
int	ipc_call_check(struct ipc_call *call,
	    const struct ipc_param_spec *spec);

#endif
