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
n=0
status=0

for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c | sed 's/^fuzz_//')
	bin="$BUILD/tests/replay_$name"
	n=$((n + 1))
	if [ ! -x "$bin" ]; then
		echo "not ok $n - $name: $bin was not built"
		status=1
		continue
	fi
	set --
	for f in "tests/fuzz/regress/$name"/* "tests/fuzz/corpus/$name"/*; do
		[ -f "$f" ] && set -- "$@" "$f"
	done
	if [ $# -eq 0 ]; then
		echo "ok $n # SKIP $name: no seed or regression input"
		continue
	fi
	if "$bin" "$@" >"$BUILD/tests/replay_$name.log" 2>&1; then
		echo "ok $n - $name: $# inputs replayed"
	else
		echo "not ok $n - $name: an input failed," \
		    "see $BUILD/tests/replay_$name.log"
		tail -n 20 "$BUILD/tests/replay_$name.log" | sed 's/^/# /'
		status=1
	fi
done
echo "1..$n"
exit $status
