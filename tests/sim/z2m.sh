# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# The real zigbee2mqtt on zotad-sim, for interop.sh and
# tests/bench/bench_z2m.sh. Sourced after scripts/lib.sh, with scratch
# (the folder zigbee2mqtt is installed in, outside the repository) and
# z2m_version set, bin naming where the programs are. The simulated
# network is scenarios/z2m.json: one router, sim1, that must receive
# exactly the image fw2.ota.

# z2m_install: zigbee2mqtt $z2m_version in $scratch/npm, once; sets z2m
# to its folder.
z2m_install() {
	case "$scratch" in
	"$PWD"/*) die "$scratch: zigbee2mqtt goes outside the repository" ;;
	esac
	mkdir -p "$scratch/npm"
	z2m="$scratch/npm/node_modules/zigbee2mqtt"
	grep -q "\"version\": \"$z2m_version\"" "$z2m/package.json" \
	    2>/dev/null && return 0
	say "installing zigbee2mqtt $z2m_version into $scratch/npm"
	t0=$(date +%s)
	(cd "$scratch/npm" && npm install --no-audit --no-fund \
	    --loglevel=error "zigbee2mqtt@$z2m_version") >"$scratch/npm.log" \
	    2>&1 || { tail -20 "$scratch/npm.log"; die "npm install failed"; }
	say "installed in $(($(date +%s) - t0)) s"
}

# z2m_sim DIR IMAGE [tcp]: zotad-sim on scenarios/z2m.json, copied
# into DIR with IMAGE as the image sim1 expects, on a pty (DIR/tty) or
# with tcp on a free port; sets sim_pid and serial, the serial.port
# that reaches it.
z2m_sim() {
	cp tests/sim/scenarios/z2m.json "$1/scenario.json"
	cp "$2" "$1/fw2.ota"
	if [ "${3:-pty}" = tcp ]; then
		serial="tcp://127.0.0.1:$(free_port)"
		set -- "$1" --tcp "${serial#tcp://}" "listening"
	else
		serial="$1/tty"
		set -- "$1" --pty "$serial" "adapter on"
	fi
	"$bin/zotad-sim" --scenario "$1/scenario.json" "$2" "$3" \
	    --events "$1/events.jsonl" 2>"$1/sim.log" &
	sim_pid=$!
	pids="$pids $sim_pid"
	until_ok 10 grep -q "$4" "$1/sim.log" || die "zotad-sim did not start"
}

# z2m_data DIR SERIAL IMAGE PORT [YAML]: a data dir for zigbee2mqtt (and
# zotad, which reads the same) on the adapter at SERIAL and the broker
# on PORT, with YAML added to the configuration, sim1 seeded in
# database.db as zigbee2mqtt records it, and IMAGE as ota/fw2.ota.
z2m_data() {
	mkdir -p "$1/ota"
	cp "$3" "$1/ota/fw2.ota"
	cat >"$1/configuration.yaml" <<EOF
version: 5
homeassistant:
  enabled: false
frontend:
  enabled: false
mqtt:
  base_topic: zigbee2mqtt
  server: mqtt://127.0.0.1:$4
serial:
  port: $2
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
${5:-}
EOF
	cat >"$1/database.db" <<'EOF'
{"id":1,"type":"Router","ieeeAddr":"0x00124b00beef0001","nwkAddr":4097,"manufId":4660,"manufName":"SimLight","modelId":"SimOTA1","powerSource":"Mains (single phase)","endpoints":{"1":{"profId":260,"epId":1,"devId":256,"inClusterList":[0,3,6],"outClusterList":[25],"clusters":{},"binds":[],"configuredReportings":[],"meta":{}}},"interviewCompleted":true,"interviewState":"SUCCESSFUL","meta":{"configured":1}}
EOF
}

# z2m_start DIR: zigbee2mqtt on the data dir DIR/data, its output in
# DIR/z2m.log, until it has started; sets z2m_pid.
z2m_start() {
	# Outside any git work tree, or zigbee2mqtt tries to rebuild itself.
	(cd "$scratch" && GIT_DIR=/dev/null Z2M_ONBOARD_NO_SERVER=1 \
	    ZIGBEE2MQTT_DATA="$1/data" exec node "$z2m/index.js") \
	    >"$1/z2m.log" 2>&1 &
	z2m_pid=$!
	pids="$pids $z2m_pid"
	if ! until_ok 90 grep -q "Zigbee2MQTT started" "$1/z2m.log"; then
		tail -30 "$1/z2m.log" >&2
		die "zigbee2mqtt did not start, see $1/z2m.log"
	fi
}
