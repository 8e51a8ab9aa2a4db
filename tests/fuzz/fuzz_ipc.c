/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ipc.h"

#define FUZZ_MAX_MESSAGE	1024	/* small, so the cap is reachable */

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const struct ipc_param_spec fuzz_target[] = {
	{ "ieee", IPC_P_HEX, IPC_P_REQUIRED, 16, 16, NULL },
	{ "endpoint", IPC_P_INT, 0, 1, 240, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

static const struct ipc_param_spec fuzz_spec[] = {
	{ "name", IPC_P_STRING, IPC_P_REQUIRED, 1, 32, NULL },
	{ "level", IPC_P_INT, 0, -1000, 1000, NULL },
	{ "enabled", IPC_P_BOOL, IPC_P_NULLABLE, 0, 0, NULL },
	{ "sha512", IPC_P_HEX, 0, 128, 128, NULL },
	{ "tags", IPC_P_ARRAY, 0, 0, 4, NULL },
	{ "target", IPC_P_OBJECT, 0, 0, 0, fuzz_target },
	{ "extra", IPC_P_OBJECT, 0, 0, 0, NULL },
	{ NULL, 0, 0, 0, 0, NULL }
};

/* A failed check names a printable parameter and gives a reason. */
static void
fuzz_check_params(const cJSON *params)
{
	struct ipc_param_error	 err;
	const char		*p;

	if (ipc_params_check(params, fuzz_spec, &err) == 0) {
		if (ipc_param_string(params, "name", NULL) == NULL)
			abort();
		(void)ipc_param_int(params, "level", 0);
		(void)ipc_param_bool(params, "enabled", 0);
		return;
	}
	/* Only an unknown key can be empty: the peer sent "". */
	if (err.reason == NULL || (err.parameter[0] == '\0' &&
	    strcmp(err.reason, "unknown parameter") != 0))
		abort();
	for (p = err.parameter; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
}

static void
fuzz_check_message(const cJSON *msg)
{
	struct ipc_callhdr	 call;
	struct ipc_replyhdr	 reply;
	const char		*why = NULL;

	if (ipc_msg_check_call(msg, &call, &why) == 0) {
		if (call.method == NULL || (call.flags & IPC_CALL_MORE &&
		    call.flags & IPC_CALL_ONEWAY))
			abort();
		fuzz_check_params(call.parameters);
	} else if (why == NULL)
		abort();

	why = NULL;
	if (ipc_msg_check_reply(msg, &reply, &why) == 0) {
		if (reply.error != NULL && reply.continues)
			abort();
		fuzz_check_params(reply.parameters);
	} else if (why == NULL)
		abort();
}

/*
 * A stream from a peer: split it into messages as a connection would,
 * and put every message through the envelope and parameter checks.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*buf = (const char *)data;
	const char	*why;
	cJSON		*msg;
	size_t		 used;
	int		 rc;

	while (size > 0) {
		why = NULL;
		rc = ipc_msg_split(buf, size, FUZZ_MAX_MESSAGE, &msg, &used,
		    &why);
		if (rc == 0) {
			if (size > FUZZ_MAX_MESSAGE ||
			    memchr(buf, '\0', size) != NULL)
				abort();
			break;
		}
		if (rc == -1) {
			if (why == NULL || msg != NULL)
				abort();
			break;
		}
		if (used == 0 || used > size || used > FUZZ_MAX_MESSAGE + 1 ||
		    buf[used - 1] != '\0' || !cJSON_IsObject(msg))
			abort();
		fuzz_check_message(msg);
		cJSON_Delete(msg);
		buf += used;
		size -= used;
	}
	return (0);
}
