/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#ifndef ZOTAD_UTIL_H
#define ZOTAD_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define SHA512_HEX_LEN	128	/* lower-case hex digits, without the NUL */

/*
 * Read the whole of PATH into a new buffer (NUL-terminated one past LEN,
 * so text can be parsed in place). Files larger than MAX bytes are refused
 * with EFBIG. Returns 0, or -1 with errno set.
 */
int	util_read_file(const char *path, size_t max, uint8_t **buf,
	    size_t *len);

/* Write the lower-case hex SHA-512 of BUF into OUT (SHA512_HEX_LEN + 1). */
void	util_sha512_hex(const void *buf, size_t len,
	    char out[SHA512_HEX_LEN + 1]);

/* Format LEN bytes of BUF as lower-case hex into OUT (2 * LEN + 1). */
void	util_hex(const void *buf, size_t len, char *out);

#endif
