#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Runs the whole suite in the foreground until Ctrl-C.
#
#   run.sh [--demo] [CONFIG]
#
# With CONFIG (a zigbee2mqtt configuration.yaml naming a real adapter and
# broker) the three daemons run against it unchanged. Without one, an
# embedded default is made in a temporary directory: a private mosquitto
# on a free loopback port, zotad-sim playing an adapter with three
# devices (a bulb with an update waiting, a bulb that is up to date, a
# sleepy remote), a local override index of synthetic images made by
# zotadctl, and a configuration tying them together. --demo then checks
# and updates the bulb, showing progress, and stops everything.
#
# Every daemon's log lines are prefixed with its name. BUILD names the
# build directory (build).

: "${BUILD:=build}"
bin="$PWD/$BUILD/bin"
# Debian puts mosquitto in /usr/sbin, off a normal user's PATH.
PATH="$PATH:/usr/sbin"
me=run
demo=0
conf=""
tmp=""
pids=""
. "$(dirname "$0")/lib.sh"

case "$1" in
--demo)	demo=1; shift ;;
esac
[ $# -gt 0 ] && [ -n "$1" ] && conf=$1

# Stop every process we started, newest first, then remove the default's
# directory.
stop_all() {
	trap - INT TERM EXIT
	stop_pids
	[ -n "$tmp" ] && rm -rf "$tmp"
}

interrupted() {
	echo >&2
	say "stopping"
	stop_all
	exit 0
}

# start NAME COMMAND...: run COMMAND in the background, its output
# prefixed with NAME; its pid goes first in the list to stop.
start() {
	name=$1
	shift
	fifo="$logdir/$name.fifo"
	rm -f "$fifo"
	mkfifo "$fifo" || die "cannot make $fifo"
	# The prefixer outlives Ctrl-C, to pass on the daemons' last words.
	(trap '' INT; exec sed -u "s/^/$(printf '%-12s' "$name")| /" \
	    <"$fifo" >&2) &
	"$@" >"$fifo" 2>&1 &
	pids="$! $pids"
	eval "pid_$(echo "$name" | tr -c 'a-z0-9\n' '_')=$!"
}

# wait_for WHAT TEST...: run TEST until it succeeds, for at most 15 s.
wait_for() {
	what=$1
	shift
	until_ok 15 "$@" || die "$what did not come up"
}

# conf_value SECTION KEY: a plain "  key: value" of the configuration.
conf_value() {
	sed -n "/^$1:/,/^[^ #]/s/^  $2: *\\([^ #]*\\).*/\\1/p" "$conf" |
	    head -n 1 | tr -d "'\""
}

built zotad-radio zotad-fetch zotad-mqtt zotadctl zotad-sim

# The embedded default: everything in one temporary directory.
make_default() {
	tmp=$(mktemp -d /tmp/zotad-run.XXXXXX) || die "no temporary directory"
	chmod 755 "$tmp"
	data="$tmp/data"
	mkdir -p "$data/images" "$tmp/state" "$tmp/cache" "$tmp/run" \
	    "$tmp/logs"
	logdir="$tmp/logs"
	port=$(free_port) || die "no free port"
	# As root the daemons drop to nobody, who must own their dirs.
	users=$(zotad_users "$tmp/state" "$tmp/cache" "$tmp/run") ||
		die "cannot give the daemons their dirs"
	mosquitto_conf "$tmp/mosquitto.conf" "$port"
	ctl="$bin/zotadctl"
	"$ctl" image make --manufacturer-code 0x1234 --image-type 0x0101 \
	    --file-version 0x02000000 --size 16384 \
	    "$data/images/bulb-a60-2.0.0.ota" >/dev/null &&
	"$ctl" image make --manufacturer-code 0x1234 --image-type 0x0102 \
	    --file-version 0x02000000 --size 16384 \
	    "$data/images/bulb-gu10-2.0.0.ota" >/dev/null &&
	"$ctl" image make --manufacturer-code 0x1234 --image-type 0x0201 \
	    --file-version 0x00100000 --size 8192 \
	    "$data/images/remote-1.0.0.ota" >/dev/null &&
	"$ctl" index add --append "$data/override.json" \
	    "$data"/images/*.ota >/dev/null ||
		die "cannot make the demo images"
	cp config/demo/scenario.json "$tmp/scenario.json"
	conf="$data/configuration.yaml"
	demo_conf "$conf" "$tmp" "$port" "$users"
	start mosquitto mosquitto -c "$tmp/mosquitto.conf"
	wait_for "mosquitto on port $port" port_open "$port"
	start zotad-sim "$bin/zotad-sim" --scenario "$tmp/scenario.json" \
	    --pty "$tmp/tty" --control "$tmp/sim.ctl"
	wait_for zotad-sim test -e "$tmp/tty"
}

trap interrupted INT TERM
trap stop_all EXIT

if [ -z "$conf" ]; then
	make_default
else
	[ -r "$conf" ] || die "cannot read $conf"
	logdir=$(mktemp -d /tmp/zotad-logs.XXXXXX) || die "no log dir"
	tmp=$logdir
	"$bin/zotad-radio" -n -f "$conf" >/dev/null ||
		die "$conf: fix the configuration first"
fi
conf=$(cd "$(dirname "$conf")" && pwd)/$(basename "$conf")
rundir=$(conf_value zotad run_dir)
[ -n "$rundir" ] || rundir=/run/zotad

start zotad-fetch "$bin/zotad-fetch" -d -f "$conf"
wait_for zotad-fetch test -S "$rundir/fetch.sock"
start zotad-radio "$bin/zotad-radio" -d -f "$conf"
wait_for zotad-radio test -S "$rundir/radio.sock"
start zotad-mqtt "$bin/zotad-mqtt" -d -f "$conf"
if [ -n "$port" ]; then
	# The simulated devices join the network now, as if just paired.
	for d in bulb-old bulb-current remote; do
		sim_ctl "$tmp/sim.ctl" "join $d" || say "$d could not join"
	done
fi

ctl="$bin/zotadctl"
if [ $demo -eq 1 ]; then
	# Let the radio interview the devices before asking about them.
	wait_for "the device list" sh -c "'$ctl' devices -f '$conf' |
	    grep -q SimBulb-A60"
	echo "==> zotadctl devices"
	"$ctl" devices -f "$conf"
	echo "==> zotadctl check bulb-old"
	"$ctl" check -f "$conf" bulb-old
	echo "==> zotadctl update bulb-old"
	"$ctl" update -f "$conf" bulb-old
	rv=$?
	echo "==> zotadctl devices"
	"$ctl" devices -f "$conf"
	stop_all
	exit $rv
fi

base=$(conf_value mqtt base_topic)
[ -n "$base" ] || base=zigbee2mqtt
server=$(conf_value mqtt server)
[ -n "$server" ] || server=mqtt://localhost:1883
dev=bulb-old
[ -n "$port" ] || dev=DEVICE
cat <<EOF

zotad is running (configuration: $conf). Try:

    $ctl devices -f $conf
    $ctl update -f $conf $dev

or the same over MQTT, as zigbee2mqtt users do:

    mosquitto_sub -L '$server/$base/bridge/response/#' -v &
    mosquitto_pub -L '$server/$base/bridge/request/device/ota_update/update' \\
        -m $dev

Ctrl-C stops everything.

EOF
# Until Ctrl-C, or until a daemon stops on its own.
while :; do
	for p in $pid_zotad_fetch $pid_zotad_radio $pid_zotad_mqtt; do
		kill -0 "$p" 2>/dev/null && continue
		# Ctrl-C reaches the daemons too, and they leave with 0.
		wait "$p"
		rc=$?
		[ $rc -ne 0 ] && say "a daemon (pid $p) failed with status" \
		    "$rc: stopping everything"
		stop_all
		exit $rc
	done
	sleep 1
done
