#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# The three daemons together, as make run starts them: mosquitto,
# zotad-sim with the demo scenario, a local override index, and
# zotad-fetch, zotad-radio and zotad-mqtt under their sandboxes. One bulb
# is updated with zotadctl. Measured:
#
#   - the proportional set size (PSS, from /proc/PID/smaps_rollup) of
#     each daemon idle, and its highest sample during the transfer;
#   - the CPU time each daemon spent during the transfer, per image
#     block the device received.
#
# Prints "key value" lines after a readable table; BENCH_SUITE_KIB sets
# the image size (32).

: "${BUILD:=build}"
: "${BENCH_SUITE_KIB:=32}"
bin="$PWD/$BUILD/bin"
tmp=$(mktemp -d /tmp/zotad-bench-suite.XXXXXX)
pids=""
daemons="fetch radio mqtt"
me=bench_suite
. "$(dirname "$0")/../../scripts/lib.sh"

cleanup() {
	stop_pids
	rm -rf "$tmp"
}
trap cleanup EXIT

spawn() {
	name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	eval "pid_$name=\$!"
	pids="$! $pids"
}

# pss PID: KiB of proportional set size.
pss() {
	awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"
}

# cpu PID: nanoseconds on a CPU, from the scheduler's own count (the
# clock ticks of /proc/PID/stat are too coarse for a short transfer).
cpu() {
	if [ -r "/proc/$1/schedstat" ]; then
		awk '{ print $1 }' "/proc/$1/schedstat"
	else
		sed 's/.*) //' "/proc/$1/stat" |
		    awk -v t="$tck" '{ printf "%.0f\n", ($12 + $13) * 1e9 / t }'
	fi
}

blocks() {
	grep -c '"ev":"block".*"dev":"bulb-old"' "$tmp/events.jsonl"
}

built zotad-radio zotad-fetch zotad-mqtt zotad-sim zotadctl
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] ||
	die "mosquitto is not installed (make deps)"
PATH="$PATH:/usr/sbin"
[ -r /proc/self/smaps_rollup ] || die "no /proc/PID/smaps_rollup"

chmod 755 "$tmp"
mkdir -p "$tmp/data" "$tmp/state" "$tmp/cache" "$tmp/run"
users=$(zotad_users "$tmp/state" "$tmp/cache" "$tmp/run") ||
	die "cannot give the daemons their dirs"
port=$(free_port)
mosquitto_conf "$tmp/mosquitto.conf" "$port"
"$bin/zotadctl" image make --manufacturer-code 0x1234 --image-type 0x0101 \
    --file-version 0x02000000 --size $((BENCH_SUITE_KIB * 1024)) \
    "$tmp/data/bulb.ota" >/dev/null &&
"$bin/zotadctl" index add --append "$tmp/data/override.json" \
    "$tmp/data/bulb.ota" >/dev/null || die "cannot make the image"
# make run's configuration, with the bulb's image alone in the index.
conf="$tmp/data/configuration.yaml"
demo_conf "$conf" "$tmp" "$port" "$users"

spawn mosquitto mosquitto -c "$tmp/mosquitto.conf"
spawn sim "$bin/zotad-sim" --scenario config/demo/scenario.json \
    --pty "$tmp/tty" --events "$tmp/events.jsonl" --control "$tmp/sim.ctl"
until_ok 10 port_open "$port" && until_ok 10 test -S "$tmp/sim.ctl" ||
	die "mosquitto or zotad-sim did not start"
spawn fetch "$bin/zotad-fetch" -d -f "$conf"
until_ok 10 test -S "$tmp/run/fetch.sock" || die "zotad-fetch did not start"
spawn radio "$bin/zotad-radio" -d -f "$conf"
until_ok 10 test -S "$tmp/run/radio.sock" || die "zotad-radio did not start"
spawn mqtt "$bin/zotad-mqtt" -d -f "$conf"
until_ok 10 grep -q 'connected to broker' "$tmp/mqtt.log" ||
	die "zotad-mqtt did not connect"
sim_ctl "$tmp/sim.ctl" "join bulb-old" || die "the bulb did not join"
until_ok 20 grep -q 'interviewed' "$tmp/radio.log" ||
	die "the bulb was not interviewed"

tck=$(getconf CLK_TCK)
for d in $daemons; do
	eval "idle_$d=\$(pss \$pid_$d) peak_$d=0 cpu0_$d=\$(cpu \$pid_$d)"
done
"$bin/zotadctl" update -f "$conf" bulb-old >"$tmp/update.out" 2>&1 &
upd=$!
until_ok 20 grep -q '"ev":"block"' "$tmp/events.jsonl" ||
	die "the transfer did not start"
# Sample while the transfer runs; the loop is the measurement.
while kill -0 $upd 2>/dev/null; do
	for d in $daemons; do
		eval "p=\$pid_$d; peak=\$peak_$d"
		v=$(pss "$p")
		[ -n "$v" ] && [ "$v" -gt "$peak" ] && eval "peak_$d=$v"
	done
	sleep 0.2
done
wait $upd || die "the update failed: $(cat "$tmp/update.out")"
nblocks=$(blocks)

printf '%-44s %12s\n' "zotad suite, $BENCH_SUITE_KIB KiB update" "value"
for d in $daemons; do
	eval "p=\$pid_$d; c0=\$cpu0_$d; i=\$idle_$d; k=\$peak_$d"
	c=$(cpu "$p")
	us=$(awk -v a="$c0" -v b="$c" -v n="$nblocks" \
	    'BEGIN { printf "%.1f", (b - a) / 1000 / n }')
	printf '%-44s %8s KiB\n' "zotad-$d PSS idle" "$i"
	printf '%-44s %8s KiB\n' "zotad-$d PSS during a transfer" "$k"
	printf '%-44s %9s us\n' "zotad-$d CPU per block ($nblocks blocks)" \
	    "$us"
	echo "suite.pss_idle.$d $i" >>"$tmp/keys"
	echo "suite.pss_transfer.$d $k" >>"$tmp/keys"
	echo "suite.cpu_per_block_us.$d $us" >>"$tmp/keys"
done
echo "suite.blocks $nblocks" >>"$tmp/keys"
[ -n "$BENCH_KEYS" ] && cp "$tmp/keys" "$BENCH_KEYS"
exit 0
