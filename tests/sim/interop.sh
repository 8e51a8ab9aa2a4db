#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Interop check with the real zigbee2mqtt: install zigbee2mqtt 2.14.1 with
# npm into a scratch folder outside the repository, start mosquitto and
# zotad-sim, let zigbee2mqtt start against the simulator (over TCP, then
# over the pty), and run one complete OTA update through zigbee2mqtt's
# MQTT API against a simulated device seeded in database.db. Each run
# must end with the device on the new version. Prints the time taken and
# zigbee2mqtt's memory and CPU, as a performance reference.
#
# usage: interop.sh BUILD_DIR
# Environment: INTEROP_DIR (scratch folder, default $TMPDIR/zotad-interop,
# kept between runs so npm installs once), Z2M_VERSION (2.14.1).

set -eu

build=${1:-build}
bin="$PWD/$build/bin"
ctl="$bin/zotadctl"
z2m_version=${Z2M_VERSION:-2.14.1}
scratch=${INTEROP_DIR:-${TMPDIR:-/tmp}/zotad-interop}
pids=""
me=interop
. "$(dirname "$0")/../../scripts/lib.sh"
. "$(dirname "$0")/z2m.sh"
trap stop_pids EXIT INT TERM

need node npm mosquitto mosquitto_pub mosquitto_sub
built zotad-sim zotadctl
z2m_install

# ---- mosquitto ----

mqtt_port=$(free_port)
mosquitto_conf "$scratch/mosquitto.conf" "$mqtt_port"
mosquitto -c "$scratch/mosquitto.conf" >"$scratch/mosquitto.log" 2>&1 &
pids="$pids $!"

# ---- the image ----

"$ctl" image make --manufacturer-code 0x1234 --image-type 0x0101 \
    --file-version 0x02000000 --size 4096 \
    --header-string "zotad interop image" "$scratch/fw2.ota" >/dev/null

# /proc figures of PID: resident and peak memory in MB, CPU seconds.
proc_stats() {
	rss=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status")
	hwm=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status")
	tck=$(getconf CLK_TCK)
	cpu=$(awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' \
	    "/proc/$1/stat")
	echo "rss ${rss} MB, peak ${hwm} MB, cpu ${cpu} s"
}

# One run: $1 = tcp or pty.
run() {
	mode=$1
	dir="$scratch/run-$mode"
	rm -rf "$dir"
	mkdir -p "$dir"
	z2m_sim "$dir" "$scratch/fw2.ota" "$mode"
	z2m_data "$dir/data" "$serial" "$scratch/fw2.ota" "$mqtt_port"

	t0=$(now_ms)
	z2m_start "$dir"
	t1=$(now_ms)
	grep -q "zigbee-herdsman started (resumed)" "$dir/z2m.log" ||
	    die "$mode: the network was not resumed"
	echo "interop: $mode: zigbee2mqtt started in $((t1 - t0)) ms;" \
	    "$(proc_stats "$z2m_pid")"

	mosquitto_sub -h 127.0.0.1 -p "$mqtt_port" -C 1 -W 300 \
	    -t zigbee2mqtt/bridge/response/device/ota_update/update \
	    >"$dir/response.json" &
	sub_pid=$!
	pids="$pids $sub_pid"
	sleep 0.5
	t2=$(now_ms)
	mosquitto_pub -h 127.0.0.1 -p "$mqtt_port" \
	    -t zigbee2mqtt/bridge/request/device/ota_update/update \
	    -m '{"id":"sim1","url":"ota/fw2.ota"}'
	wait "$sub_pid" || die "$mode: no OTA response from zigbee2mqtt"
	t3=$(now_ms)
	echo "interop: $mode: response $(cat "$dir/response.json")"
	grep -q '"status":"ok"' "$dir/response.json" ||
	    die "$mode: the update failed"
	grep -q '"ev":"ota_verify".*"ok":true' "$dir/events.jsonl" ||
	    die "$mode: the device did not verify the image"
	grep -q '"ev":"reboot".*"file_version":33554432' \
	    "$dir/events.jsonl" || die "$mode: the device did not reboot"
	blocks=$(grep -c '"ev":"block"' "$dir/events.jsonl")
	echo "interop: $mode: OTA of 4096 bytes in $blocks blocks took" \
	    "$((t3 - t2)) ms; zigbee2mqtt $(proc_stats "$z2m_pid")"
	echo "interop: $mode: the device runs file version 0x02000000"

	kill "$z2m_pid"
	wait "$z2m_pid" 2>/dev/null || true
	kill "$sim_pid"
	wait "$sim_pid" || die "$mode: zotad-sim did not exit cleanly"
}

echo "interop: zigbee2mqtt $z2m_version, node $(node --version)," \
    "mosquitto on port $mqtt_port, scratch $scratch"
run tcp
run pty
echo "interop: ok"
