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
sim="$PWD/$build/bin/zotad-sim"
ctl="$PWD/$build/bin/zotadctl"
z2m_version=${Z2M_VERSION:-2.14.1}
scratch=${INTEROP_DIR:-${TMPDIR:-/tmp}/zotad-interop}
pids=""

die() {
	echo "interop: $*" >&2
	exit 1
}

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT INT TERM

for tool in node npm mosquitto mosquitto_pub mosquitto_sub; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done
[ -x "$sim" ] || die "$sim is missing; run make first"
[ -x "$ctl" ] || die "$ctl is missing; run make first"
case "$scratch" in
"$PWD"/*) die "the scratch folder must be outside the repository" ;;
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

# ---- zigbee2mqtt, installed once ----

mkdir -p "$scratch/npm"
z2m="$scratch/npm/node_modules/zigbee2mqtt"
if ! grep -q "\"version\": \"$z2m_version\"" "$z2m/package.json" 2>/dev/null
then
	echo "interop: installing zigbee2mqtt $z2m_version into $scratch/npm"
	t0=$(date +%s)
	(cd "$scratch/npm" && npm install --no-audit --no-fund \
	    --loglevel=error "zigbee2mqtt@$z2m_version") >"$scratch/npm.log" \
	    2>&1 || { tail -20 "$scratch/npm.log"; die "npm install failed"; }
	echo "interop: installed in $(($(date +%s) - t0)) s"
fi

# ---- mosquitto ----

mqtt_port=$(free_port)
cat >"$scratch/mosquitto.conf" <<EOF
listener $mqtt_port 127.0.0.1
allow_anonymous true
persistence false
EOF
mosquitto -c "$scratch/mosquitto.conf" >"$scratch/mosquitto.log" 2>&1 &
pids="$pids $!"

# ---- the image and the scenario ----

"$ctl" image make --manufacturer-code 0x1234 --image-type 0x0101 \
    --file-version 0x02000000 --size 4096 \
    --header-string "zotad interop image" "$scratch/fw2.ota" >/dev/null

cat >"$scratch/scenario.json" <<EOF
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

# A fresh data dir for one run: configuration, the seeded device, image.
make_data() {
	data=$1
	port=$2
	rm -rf "$data"
	mkdir -p "$data/ota"
	cp "$scratch/fw2.ota" "$data/ota/fw2.ota"
	cat >"$data/configuration.yaml" <<EOF
version: 5
homeassistant:
  enabled: false
frontend:
  enabled: false
mqtt:
  base_topic: zigbee2mqtt
  server: mqtt://127.0.0.1:$mqtt_port
serial:
  port: $port
  adapter: zstack
advanced:
  log_level: info
  channel: 11
  pan_id: 6754
  ext_pan_id: [33, 50, 67, 84, 101, 118, 135, 152]
  network_key: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13]
devices:
  '0x00124b00beef0001':
    friendly_name: sim1
EOF
	cat >"$data/database.db" <<'EOF'
{"id":1,"type":"Router","ieeeAddr":"0x00124b00beef0001","nwkAddr":4097,"manufId":4660,"manufName":"SimLight","modelId":"SimOTA1","powerSource":"Mains (single phase)","endpoints":{"1":{"profId":260,"epId":1,"devId":256,"inClusterList":[0,3,6],"outClusterList":[25],"clusters":{},"binds":[],"configuredReportings":[],"meta":{}}},"interviewCompleted":true,"interviewState":"SUCCESSFUL","meta":{"configured":1}}
EOF
}

# /proc figures of PID: resident and peak memory in MB, CPU seconds.
proc_stats() {
	rss=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status")
	hwm=$(awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status")
	tck=$(getconf CLK_TCK)
	cpu=$(awk -v t="$tck" '{ printf "%.2f", ($14 + $15) / t }' \
	    "/proc/$1/stat")
	echo "rss ${rss} MB, peak ${hwm} MB, cpu ${cpu} s"
}

now_ms() {
	python3 -c 'import time; print(int(time.monotonic() * 1000))'
}

# One run: $1 = tcp or pty.
run() {
	mode=$1
	dir="$scratch/run-$mode"
	rm -rf "$dir"
	mkdir -p "$dir"
	cp "$scratch/scenario.json" "$scratch/fw2.ota" "$dir/"
	if [ "$mode" = tcp ]; then
		sim_port=$(free_port)
		"$sim" --scenario "$dir/scenario.json" \
		    --tcp "127.0.0.1:$sim_port" --events "$dir/events.jsonl" \
		    2>"$dir/sim.log" &
		sim_pid=$!
		serial="tcp://127.0.0.1:$sim_port"
		wait_for "$dir/sim.log" 10 "listening" || die "sim did not start"
	else
		"$sim" --scenario "$dir/scenario.json" --pty "$dir/ttyZNP" \
		    --events "$dir/events.jsonl" 2>"$dir/sim.log" &
		sim_pid=$!
		serial="$dir/ttyZNP"
		wait_for "$dir/sim.log" 10 "adapter on" || die "sim did not start"
	fi
	pids="$pids $sim_pid"
	make_data "$dir/data" "$serial"

	t0=$(now_ms)
	# Outside any git work tree, or zigbee2mqtt tries to rebuild itself.
	(cd "$scratch" && GIT_DIR=/dev/null Z2M_ONBOARD_NO_SERVER=1 \
	    ZIGBEE2MQTT_DATA="$dir/data" exec node "$z2m/index.js") \
	    >"$dir/z2m.log" 2>&1 &
	z2m_pid=$!
	pids="$pids $z2m_pid"
	if ! wait_for "$dir/z2m.log" 90 "Zigbee2MQTT started"; then
		tail -30 "$dir/z2m.log"
		die "$mode: zigbee2mqtt did not start"
	fi
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
