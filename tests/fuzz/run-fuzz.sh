#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Runs each libFuzzer target for SECONDS, starting from its seed corpus in
# tests/fuzz/corpus/NAME (copied, so the repository is never written), and
# prints executions and coverage per target. A crash stops the run; its
# input is kept in build-fuzz/crashes/ to become a regression test.

secs=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p build-fuzz/crashes
status=0

printf '%-22s %10s %8s %8s %s\n' target execs exec/s cov result
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^fuzz_//')
	corpus="$work/$name"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$name" ] && cp -r "tests/fuzz/corpus/$name/." "$corpus/"
	log="build-fuzz/$name.log"
	"$bin" -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="build-fuzz/crashes/$name-" "$corpus" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
	result=ok
	if [ "$rc" -ne 0 ]; then
		result="CRASH (see $log)"
		status=1
	fi
	printf '%-22s %10s %8s %8s %s\n' "$name" "${execs:-?}" "${rate:-?}" \
	    "${cov:-?}" "$result"
done
exit $status
