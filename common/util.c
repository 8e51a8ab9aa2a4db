/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

int
util_read_file(const char *path, size_t max, uint8_t **bufp, size_t *lenp)
{
	struct stat	 st;
	uint8_t		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (-1);
	if (fstat(fd, &st) == -1)
		goto fail;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		goto fail;
	}
	if ((uintmax_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}

	/* The size may change under us; read what is there, up to MAX. */
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (len < (size_t)st.st_size &&
	    (n = read(fd, buf + len, (size_t)st.st_size - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			free(buf);
			errno = saved;
			goto fail;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(fd);
	*bufp = buf;
	*lenp = len;
	return (0);

fail:
	saved = errno;
	close(fd);
	errno = saved;
	return (-1);
}

void
util_hex(const void *buf, size_t len, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	const uint8_t		*p = buf;
	size_t			 i;

	for (i = 0; i < len; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * len] = '\0';
}

void
util_sha512_hex(const void *buf, size_t len, char out[SHA512_HEX_LEN + 1])
{
	uint8_t		 md[64];
	unsigned int	 mdlen = sizeof(md);

	/* EVP_Digest fails only when out of memory: an empty digest says so. */
	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha512(), NULL) != 1) {
		out[0] = '\0';
		return;
	}
	util_hex(md, mdlen, out);
}
