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

die() {
	echo "bench_z2m: $*" >&2
	exit 1
}

# Stop what is still running; a failed run leaves its logs for reading.
cleanup() {
	rc=$?
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	if [ "$rc" = 0 ]; then
		rm -rf "$tmp"
	else
		echo "bench_z2m: logs kept in $tmp" >&2
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for tool in node npm mosquitto mosquitto_pub mosquitto_sub python3; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done
for p in zotad-radio zotad-fetch zotad-mqtt zotad-sim zotadctl; do
	[ -x "$bin/$p" ] || die "$bin/$p is not built"
done
case "$scratch" in
"$PWD"/*) die "the install folder must be outside the repository" ;;
esac

free_port() {
	python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Wait up to $2 seconds for file $1 to contain $3.
wait_for() {
	i=0
	while ! grep -q "$3" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $(($2 * 10)) ] || return 1
		sleep 0.1
	done
}

now_ms() {
	python3 -c 'import time; print(int(time.monotonic() * 1000))'
}

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

# ---- zigbee2mqtt, installed once, as interop.sh does ----

mkdir -p "$scratch/npm"
z2m="$scratch/npm/node_modules/zigbee2mqtt"
if ! grep -q "\"version\": \"$z2m_version\"" "$z2m/package.json" 2>/dev/null
then
	echo "bench_z2m: installing zigbee2mqtt $z2m_version into $scratch/npm"
	(cd "$scratch/npm" && npm install --no-audit --no-fund \
	    --loglevel=error "zigbee2mqtt@$z2m_version") >"$scratch/npm.log" \
	    2>&1 || { tail -20 "$scratch/npm.log"; die "npm install failed"; }
fi

# ---- the broker, the image, the device ----

chmod 755 "$tmp"
mqtt_port=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' \
    "$mqtt_port" >"$tmp/mosquitto.conf"
mosquitto -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
pids="$pids $!"

"$bin/zotadctl" image make --manufacturer-code 0x1234 --image-type 0x0101 \
    --file-version 0x02000000 --size $((kib * 1024)) \
    --header-string "zotad bench image" "$tmp/fw2.ota" >/dev/null ||
	die "cannot make the image"

cat >"$tmp/scenario.json" <<EOF
{
	"adapter": {
		"ieee": "0x00124b00cafe0001",
		"pan_id": "0x1a62",
		"ext_pan_id": "21:32:43:54:65:76:87:98",
		"channel": 11,
		"network_key": "01030507090b0d0f00020406080a0c0d",
		"formed": true
	},
	"devices": [ {
		"name": "sim1", "ieee": "0x00124b00beef0001", "nwk": 4097,
		"type": "router", "manufacturer_code": "0x1234",
		"basic": {
			"manufacturer_name": "SimLight",
			"model_id": "SimOTA1", "power_source": 1,
			"sw_build_id": "1.0.0", "date_code": "20250101"
		},
		"endpoints": [ { "id": 1, "profile": 260, "device_id": 256,
		    "in": [0, 3, 6], "out": [25] } ],
		"ota": {
			"image_type": "0x0101", "file_version": "0x01000000",
			"max_data_size": 64, "reply_latency_ms": 20,
			"reboot_ms": 1000, "expect_image": "fw2.ota",
			"after": { "sw_build_id": "2.0.0",
			    "date_code": "20260101" }
		}
	} ]
}
EOF

# make_data DIR SERIAL DELAY EXTRA: the configuration both read (EXTRA
# is zotad's own section), the device as zigbee2mqtt's database holds
# it (zotad-radio imports it), and the image.
make_data() {
	mkdir -p "$1/ota"
	cp "$tmp/fw2.ota" "$1/ota/fw2.ota"
	cat >"$1/configuration.yaml" <<EOF
version: 5
homeassistant:
  enabled: false
frontend:
  enabled: false
mqtt:
  base_topic: zigbee2mqtt
  server: mqtt://127.0.0.1:$mqtt_port
serial:
  port: $2
  adapter: zstack
advanced:
  log_level: info
  channel: 11
  pan_id: 6754
  ext_pan_id: [33, 50, 67, 84, 101, 118, 135, 152]
  network_key: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13]
ota:
  image_block_response_delay: $3
  default_maximum_data_size: 50
  disable_automatic_update_check: true
devices:
  '0x00124b00beef0001':
    friendly_name: sim1
$4
EOF
	cat >"$1/database.db" <<'EOF'
{"id":1,"type":"Router","ieeeAddr":"0x00124b00beef0001","nwkAddr":4097,"manufId":4660,"manufName":"SimLight","modelId":"SimOTA1","powerSource":"Mains (single phase)","endpoints":{"1":{"profId":260,"epId":1,"devId":256,"inClusterList":[0,3,6],"outClusterList":[25],"clusters":{},"binds":[],"configuredReportings":[],"meta":{}}},"interviewCompleted":true,"interviewState":"SUCCESSFUL","meta":{"configured":1}}
EOF
}

start_sim() {
	"$bin/zotad-sim" --scenario "$1/scenario.json" --pty "$1/tty" \
	    --events "$1/events.jsonl" 2>"$1/sim.log" &
	sim_pid=$!
	pids="$pids $sim_pid"
	wait_for "$1/sim.log" 10 "adapter on" || die "zotad-sim did not start"
}

# start_z2m DIR: zigbee2mqtt on the simulator; sets measured.
start_z2m() {
	make_data "$1/data" "$1/tty" "$2" ""
	# Outside any git work tree, or zigbee2mqtt tries to rebuild itself.
	(cd "$scratch" && GIT_DIR=/dev/null Z2M_ONBOARD_NO_SERVER=1 \
	    ZIGBEE2MQTT_DATA="$1/data" exec node "$z2m/index.js") \
	    >"$1/z2m.log" 2>&1 &
	measured=$!
	pids="$pids $measured"
	wait_for "$1/z2m.log" 90 "Zigbee2MQTT started" ||
		die "zigbee2mqtt did not start, see $1/z2m.log"
}

# start_zotad DIR DELAY: the three daemons on the simulator.
start_zotad() {
	mkdir -p "$1/state" "$1/cache" "$1/run"
	users=""
	if [ "$(id -u)" = 0 ]; then
		chown nobody "$1/state" "$1/cache" "$1/run"
		users="  user_radio: nobody
  user_fetch: nobody
  user_mqtt: nobody"
	fi
	make_data "$1/data" "$1/tty" "$2" "zotad:
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
		fetch|radio)
			i=0
			while [ ! -S "$1/run/$d.sock" ]; do
				i=$((i + 1))
				[ "$i" -le 100 ] || die "zotad-$d did not start"
				sleep 0.1
			done ;;
		mqtt) wait_for "$1/mqtt.log" 10 "connected to broker" ||
		    die "zotad-mqtt did not connect" ;;
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
	cp "$tmp/scenario.json" "$tmp/fw2.ota" "$dir/"
	start_sim "$dir"
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
