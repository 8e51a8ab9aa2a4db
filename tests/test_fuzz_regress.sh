#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Replays, through each fuzz target's own entry point built with the
# ordinary compiler ($BUILD/tests/replay_NAME), every input a fuzzer
# once crashed on (tests/fuzz/regress/NAME/) and every seed
# (tests/fuzz/corpus/NAME/). A target aborts when an invariant breaks
# and the sanitizers stop it on a memory error, so each line below
# fails if a fixed bug comes back.

: "${BUILD:=build}"
. "$(dirname "$0")/tap.sh"

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c | sed 's/^fuzz_//')
	bin="$BUILD/tests/replay_$name"
	if [ ! -x "$bin" ]; then
		not_ok "$name: $bin was not built"
		continue
	fi
	set --
	for f in "tests/fuzz/regress/$name"/* "tests/fuzz/corpus/$name"/*; do
		[ -f "$f" ] && set -- "$@" "$f"
	done
	if [ $# -eq 0 ]; then
		skip "$name: no seed or regression input"
		continue
	fi
	log="$BUILD/tests/replay_$name.log"
	if "$bin" "$@" >"$log" 2>&1; then
		ok "$name: $# inputs replayed"
	else
		not_ok "$name: an input failed, see $log"
		tail -n 20 "$log" | sed 's/^/# /'
	fi
done
tap_end
