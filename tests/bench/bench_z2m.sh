#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# zigbee2mqtt against zotad on the same simulated adapter and device: the
# same image, the same MQTT request
# (zigbee2mqtt/bridge/request/device/ota_update/update with an image in
# the data dir), run first through zigbee2mqtt and then through the three
# zotad daemons, at zigbee2mqtt's default pacing (250 ms between block
# responses, 50-byte blocks) and at equal pacing (both 50 ms, the
# smallest delay zotad allows). One table at the end: update time, CPU
# seconds per block (utime + stime of /proc/PID/stat, the node process
# against the sum of the three daemons) and peak RSS and PSS.
#
# usage: bench_z2m.sh BUILD_DIR
# Environment: INTEROP_DIR (zigbee2mqtt's install folder, shared with
# interop.sh, default $TMPDIR/zotad-interop), Z2M_VERSION (2.14.1),
# BENCH_Z2M_KIB (image size, 16), BENCH_Z2M_FAST_MS (equal pacing, 50).

set -eu

build=${1:-build}
bin="$PWD/$build/bin"
z2m_version=${Z2M_VERSION:-2.14.1}
scratch=${INTEROP_DIR:-${TMPDIR:-/tmp}/zotad-interop}
kib=${BENCH_Z2M_KIB:-16}
fast=${BENCH_Z2M_FAST_MS:-50}
tmp=$(mktemp -d /tmp/zotad-bench-z2m.XXXXXX)
pids=""
PATH="$PATH:/usr/sbin"
me=bench_z2m
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/../sim/z2m.sh"

# Stop what is still running; a failed run leaves its logs for reading.
cleanup() {
	rc=$?
	stop_pids
	if [ "$rc" = 0 ]; then
		rm -rf "$tmp"
	else
		say "logs kept in $tmp"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

need node npm mosquitto mosquitto_pub mosquitto_sub python3
built zotad-radio zotad-fetch zotad-mqtt zotad-sim zotadctl

# CPU clock ticks (utime + stime) of PID; the name in field 2 may hold
# spaces, so count fields from after it.
ticks() {
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# KiB of proportional set size and of peak resident set of PID.
pss() {
	awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"
}
hwm() {
	awk '/^VmHWM/ { print $2 }' "/proc/$1/status"
}

# Sum of ticks, PSS or peak RSS over the PIDs in $2...
sum() {
	f=$1
	shift
	t=0
	for p in "$@"; do
		t=$((t + $($f "$p")))
	done
	echo "$t"
}

z2m_install

# ---- the broker, the image ----

chmod 755 "$tmp"
mqtt_port=$(free_port)
mosquitto_conf "$tmp/mosquitto.conf" "$mqtt_port"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
pids="$pids $!"

"$bin/zotadctl" image make --manufacturer-code 0x1234 --image-type 0x0101 \
    --file-version 0x02000000 --size $((kib * 1024)) \
    --header-string "zotad bench image" "$tmp/fw2.ota" >/dev/null ||
	die "cannot make the image"

# make_data DIR SERIAL DELAY ZOTAD: the data dir both read, paced at
# DELAY ms a block, with ZOTAD as zotad's own section.
make_data() {
	z2m_data "$1" "$2" "$tmp/fw2.ota" "$mqtt_port" "ota:
  image_block_response_delay: $3
  default_maximum_data_size: 50
  disable_automatic_update_check: true
$4"
}

# start_z2m DIR: zigbee2mqtt on the simulator; sets measured.
start_z2m() {
	make_data "$1/data" "$serial" "$2" ""
	z2m_start "$1"
	measured=$z2m_pid
}

# start_zotad DIR DELAY: the three daemons on the simulator.
start_zotad() {
	mkdir -p "$1/state" "$1/cache" "$1/run"
	users=$(zotad_users "$1/state" "$1/cache" "$1/run") ||
		die "cannot give the daemons their dirs"
	make_data "$1/data" "$serial" "$2" "zotad:
  state_dir: $1/state
  cache_dir: $1/cache
  run_dir: $1/run
  index_url: http://127.0.0.1:9/index.json
  downgrade_index_url: http://127.0.0.1:9/index1.json
$users"
	chmod -R a+rX "$1"
	measured=""
	for d in fetch radio mqtt; do
		"$bin/zotad-$d" -d -f "$1/data/configuration.yaml" \
		    >"$1/$d.log" 2>&1 &
		measured="$measured $!"
		pids="$pids $!"
		case $d in
		fetch|radio) until_ok 10 test -S "$1/run/$d.sock" ||
		    die "zotad-$d did not start" ;;
		mqtt) until_ok 10 grep -q "connected to broker" \
		    "$1/mqtt.log" || die "zotad-mqtt did not connect" ;;
		esac
	done
}

# blocks_ms DIR: milliseconds from the device's first block to its last.
blocks_ms() {
	sed -n 's/^{"t":\([0-9]*\),"ev":"block".*/\1/p' "$1/events.jsonl" |
	    awk 'NR == 1 { a = $1 } { b = $1 } END { print b - a }'
}

# run LABEL KIND DELAY: one update; adds a table row to $tmp/rows.
run() {
	who=$1
	delay=$3
	dir="$tmp/$2-$3"
	mkdir -p "$dir"
	z2m_sim "$dir" "$tmp/fw2.ota"
	"start_$2" "$dir" "$3"
	# The measured PIDs, one word each.
	# shellcheck disable=SC2086
	set -- $measured
	mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -C 1 -W 900 \
	    -t zigbee2mqtt/bridge/response/device/ota_update/update \
	    >"$dir/response.json" &
	sub=$!
	pids="$pids $sub"
	sleep 0.5
	c0=$(sum ticks "$@")
	peak=0
	t0=$(now_ms)
	mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" \
	    -t zigbee2mqtt/bridge/request/device/ota_update/update \
	    -m '{"id":"sim1","url":"ota/fw2.ota"}'
	# Sample memory while the update runs; the loop is the measurement.
	while kill -0 "$sub" 2>/dev/null; do
		v=$(sum pss "$@")
		[ "$v" -gt "$peak" ] && peak=$v
		sleep 0.2
	done
	wait "$sub" || die "$dir: no OTA response"
	t1=$(now_ms)
	c1=$(sum ticks "$@")
	grep -q '"status":"ok"' "$dir/response.json" ||
		die "$dir: the update failed: $(cat "$dir/response.json")"
	grep -q '"ev":"ota_verify".*"ok":true' "$dir/events.jsonl" ||
		die "$dir: the device did not verify the image"
	n=$(grep -c '"ev":"block"' "$dir/events.jsonl")
	hw=$(sum hwm "$@")
	bt=$(blocks_ms "$dir")
	for p in "$@"; do
		kill "$p"
		wait "$p" 2>/dev/null || true
	done
	kill "$sim_pid"
	wait "$sim_pid" 2>/dev/null || true
	awk -v w="$who" -v d="$delay" -v ms=$((t1 - t0)) -v n="$n" -v bt="$bt" \
	    -v c=$((c1 - c0)) -v tck="$(getconf CLK_TCK)" -v r="$hw" \
	    -v p="$peak" 'BEGIN {
		printf "%-12s %4d ms %6d %8.1f s %8.1f s %8.3f ms %8.1f %8.1f\n",
		    w, d, n, ms / 1000, bt / 1000, c / tck / n * 1000,
		    r / 1024, p / 1024 }' >>"$tmp/rows"
	echo "bench_z2m: $who at $delay ms: $((t1 - t0)) ms, $n blocks" >&2
}

echo "bench_z2m: zigbee2mqtt $z2m_version, node $(node --version)," \
    "$kib KiB image" >&2
for delay in 250 "$fast"; do
	run zigbee2mqtt z2m "$delay"
	run zotad zotad "$delay"
done

printf '\nOTA of a %d KiB image, 50-byte blocks, same device and request\n' \
    "$kib"
printf '%-12s %7s %6s %10s %10s %11s %8s %8s\n' "" "delay" "blocks" \
    "update" "blocks" "CPU/block" "peak RSS" "peak PSS"
printf '%-12s %7s %6s %10s %10s %11s %8s %8s\n' "" "" "" "" "" "" \
    "MiB" "MiB"
cat "$tmp/rows"
echo "update: request to response; blocks: the device's first block to its"
echo "last. CPU/block: utime+stime of /proc/PID/stat over the update, node"
echo "against the three zotad daemons together; memory summed likewise."
