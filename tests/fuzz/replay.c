/*
 * Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
 */

/*
 * Runs a fuzz target's entry point on the files named on the command
 * line, built with the ordinary compiler (and the sanitizers under
 * SANITIZE=1), so that every input a fuzzer once crashed on, and every
 * seed, is replayed by make check without clang or libFuzzer. A
 * target that finds its invariant broken aborts, which fails the run.
 */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define REPLAY_MAX	(16 * 1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
main(int argc, char *argv[])
{
	uint8_t	*buf, *exact;
	size_t	 len;
	int	 i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s input ...\n", argv[0]);
		return (2);
	}
	for (i = 1; i < argc; i++) {
		if (util_read_file(argv[i], REPLAY_MAX, &buf, &len) == -1) {
			perror(argv[i]);
			return (2);
		}
		/*
		 * An exact copy, as libFuzzer passes it: the NUL the reader
		 * adds would hide a read one byte past the input.
		 */
		if ((exact = malloc(len > 0 ? len : 1)) == NULL) {
			perror("malloc");
			return (2);
		}
		memcpy(exact, buf, len);
		free(buf);
		LLVMFuzzerTestOneInput(exact, len);
		free(exact);
	}
	return (0);
}
