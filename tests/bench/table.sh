#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# make bench: runs each benchmark program given (and bench_suite.sh),
# shows what each prints, then gathers the figures into one table.
#
#   table.sh BENCH_PROGRAM...

: "${BUILD:=build}"
out=$(mktemp -d /tmp/zotad-bench.XXXXXX)
trap 'rm -rf "$out"' EXIT
status=0

for b in "$@" tests/bench/bench_suite.sh; do
	name=$(basename "$b" .sh)
	echo "== $name"
	case "$b" in
	*.sh)	BENCH_KEYS="$out/suite.keys" sh "$b" ;;
	*)	"$b" ;;
	esac >"$out/$name.out" 2>&1
	rc=$?
	cat "$out/$name.out"
	if [ $rc -ne 0 ]; then
		echo "$name failed with status $rc"
		status=1
	fi
	echo
done

# field PROGRAM LABEL: the value after LABEL in PROGRAM's output.
field() {
	[ -r "$out/$1.out" ] || return
	awk -v l="$2" 'index($0, l) == 1 {
		s = substr($0, length(l) + 1); sub(/^ +/, "", s); print s; exit
	}' "$out/$1.out"
}

# key NAME: a value bench_suite.sh recorded.
key() {
	[ -r "$out/suite.keys" ] &&
	    awk -v k="$1" '$1 == k { print $2 }' "$out/suite.keys"
}

# privacy MINUTES: third-party fetches a day at that interval.
privacy() {
	[ -r "$out/bench_privacy.out" ] &&
	    awk -v m="$1" '$1 == m && NF == 7 { print $3 }' \
	    "$out/bench_privacy.out"
}

# three FORMAT-KEY UNIT: radio / fetch / mqtt.
three() {
	r=$(key "$1.radio")
	f=$(key "$1.fetch")
	q=$(key "$1.mqtt")
	[ -n "$r" ] && echo "$r / $f / $q $2"
}

row() {
	printf '%-54s %s\n' "$1" "${2:-not measured}"
}

kib=$(field bench_radio "image, one device")
echo "== zotad benchmarks"
row "measure" "value"
row "OTA transfer time, ${kib:-256 KiB} to one device" \
    "$(field bench_radio "transfer time")"
row "  link-and-device bound (measured)" \
    "$(field bench_radio "link-and-device time (measured)")"
row "  nominal bound (configured latencies)" \
    "$(field bench_radio "nominal bound (configured latencies)")"
row "  share of the transfer at the bound" \
    "$(field bench_radio "transfer at the link-and-device bound")"
row "block-response latency p50, 20 transfers in flight" \
    "$(field bench_radio "block-response latency p50")"
row "block-response latency p99, 20 transfers in flight" \
    "$(field bench_radio "block-response latency p99")"
row "CPU time per block, radio / fetch / mqtt" \
    "$(three suite.cpu_per_block_us us)"
row "PSS idle, radio / fetch / mqtt" "$(three suite.pss_idle KiB)"
row "PSS during a transfer, radio / fetch / mqtt" \
    "$(three suite.pss_transfer KiB)"
m50=$(field bench_match "match, median of 1000 devices")
m90=$(field bench_match "match, 90th percentile")
row "index match time, median / p90 (zigbee-OTA index)" \
    "${m50:+$m50 / $m90}"
p1440=$(privacy 1440)
row "third-party requests a day, 200 devices hourly" \
    "${p1440:+$p1440 (interval 1440 min), $(privacy 60) (60 min)}"
echo
echo "Twenty devices ask at once, all twenty transfers in flight"
echo "(zotad.max_concurrent_updates: 20). CPU and PSS"
echo "come from the three daemons running together under their sandboxes."
exit $status
