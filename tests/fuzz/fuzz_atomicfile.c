/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "atomicfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/*
 * A state file read back after a crash or edited by hand: whatever the
 * bytes, the loader returns an object or a reason, never anything else.
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON	*root;
	char	 why[128];

	why[0] = '\0';
	errno = 0;
	root = atomic_parse_json((const char *)data, size, why, sizeof(why));
	if (root == NULL) {
		if (errno != EINVAL || why[0] == '\0' ||
		    memchr(why, '\0', sizeof(why)) == NULL)
			abort();
		return (0);
	}
	if (!cJSON_IsObject(root) || memchr(data, '\0', size) != NULL)
		abort();
	cJSON_Delete(root);
	return (0);
}
