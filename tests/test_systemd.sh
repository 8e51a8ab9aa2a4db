#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# The systemd integration: the units pass "systemd-analyze verify", each
# service scores 2.0 or lower in "systemd-analyze security", zotad-fetch
# serves a real io.zotad.Fetch call on the socket systemd-socket-activate
# hands it by name, zotad-radio likewise, and "make install DESTDIR=..."
# puts every file where systemd and man look for it. Each daemon, under
# its real sandbox, tells a notification socket that it is ready, how it
# is doing and that it is stopping, as its Type=notify unit expects.
# Prints TAP.

units="zotad-radio.service zotad-fetch.service zotad-mqtt.service
zotad-radio.socket zotad-fetch.socket zotad.target"
services="zotad-radio zotad-fetch zotad-mqtt"
: "${BUILD:=build}"
# Run from the repository root, alone or by make check.
PATH="$PWD/$BUILD/bin:$PATH"
tmp=$(mktemp -d)
fetch_pid=
radio_pid=
notify_pid=
sim_pid=
mosq_pid=
mqtt_pid=
cleanup() {
	for p in $notify_pid $fetch_pid $radio_pid $sim_pid $mosq_pid \
	    $mqtt_pid; do
		kill "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/tap.sh"
# What the command a test ran said; emptied by each success.
tap_why="$tmp/err"
tap_fresh=1

have() {
	command -v "$1" >/dev/null 2>&1
}

# --- make install ---------------------------------------------------

root="$tmp/root"
prefix=/usr/local
san=
[ "$BUILD" = build-san ] && san=SANITIZE=1
if env -u MAKEFLAGS -u MAKELEVEL make -s install DESTDIR="$root" \
    PREFIX="$prefix" $san >"$tmp/err" 2>&1; then
	ok "make install DESTDIR=... succeeds"
	installed=1
else
	not_ok "make install DESTDIR=... succeeds"
	installed=0
fi

# installed PATH MODE: PATH exists under DESTDIR with permissions MODE.
installed() {
	if [ "$installed" = 1 ] && [ -f "$root$1" ] &&
	    [ "$(stat -c %a "$root$1")" = "$2" ]; then
		ok "installed $1, mode $2"
	else
		not_ok "installed $1, mode $2"
	fi
}

unitdir=$prefix/lib/systemd/system
for u in $units; do
	installed "$unitdir/$u" 644
done
installed "$prefix/lib/sysusers.d/zotad.conf" 644
installed "$prefix/lib/tmpfiles.d/zotad.conf" 644
for m in zotad-radio.8 zotad-fetch.8 zotad-mqtt.8 zotadctl.8; do
	installed "$prefix/share/man/man8/$m" 644
done
installed "$prefix/share/man/man5/zotad-configuration.5" 644
for d in $services; do
	installed "$prefix/sbin/$d" 755
done

# The units must start the daemons where make install put them.
if [ "$installed" = 1 ] && grep -q "^ExecStart=$prefix/sbin/zotad-fetch " \
    "$root$unitdir/zotad-fetch.service"; then
	ok "installed unit names the installed daemon"
else
	not_ok "installed unit names the installed daemon"
fi
# The installed daemons read /etc/zotad/configuration.yaml without -f.
if [ -e /etc/zotad/configuration.yaml ]; then
	skip "this machine has an /etc/zotad/configuration.yaml"
elif [ "$installed" = 1 ] &&
    "$root$prefix/sbin/zotad-radio" -n 2>&1 | grep -q \
    "^/etc/zotad/configuration.yaml: cannot read"; then
	ok "by default the daemons read /etc/zotad/configuration.yaml"
else
	not_ok "by default the daemons read /etc/zotad/configuration.yaml"
fi
installed /etc/zotad/configuration.example.yaml 644

# Builds for another SYSCONFDIR go to a copy of the build directory, so
# that the programs the other tests run keep theirs.
own_build="$tmp/build"
cp -a "$BUILD" "$own_build"
ownmake() {
	env -u MAKEFLAGS -u MAKELEVEL make -s install BUILD="$own_build" \
	    $san "$@" >"$tmp/err" 2>&1
}

# Installed elsewhere, with no DESTDIR, the units name real files, which
# systemd-analyze verify checks below.
alt="$tmp/alt"
altunits="$alt/units"
if ownmake PREFIX="$alt" SYSCONFDIR="$alt/etc" \
    SYSTEMDUNITDIR="$altunits" &&
    grep -q "^ExecStart=$alt/sbin/zotad-radio " \
    "$altunits/zotad-radio.service"; then
	ok "PREFIX and SYSTEMDUNITDIR move the units and their commands"
	altok=1
else
	not_ok "PREFIX and SYSTEMDUNITDIR move the units and their commands"
	altok=0
fi

# Built and installed for another SYSCONFDIR: the daemons and zotadctl
# read the configuration there when no -f names one, and the units,
# tmpfiles.d and manual pages say so.
etc="$tmp/etc"
dest="$tmp/dest"
if ownmake DESTDIR="$dest" PREFIX=/opt/zotad SYSCONFDIR="$etc" &&
    [ -f "$dest$etc/zotad/configuration.example.yaml" ]; then
	ok "make install PREFIX=... SYSCONFDIR=... DESTDIR=... succeeds"
else
	not_ok "make install PREFIX=... SYSCONFDIR=... DESTDIR=... succeeds"
fi
for d in $services; do
	"$dest/opt/zotad/sbin/$d" -n >"$tmp/out" 2>&1
	if grep -q "^$etc/zotad/configuration.yaml: cannot read" "$tmp/out"
	then
		ok "$d -n without -f names SYSCONFDIR's configuration file"
	else
		cp "$tmp/out" "$tmp/err"
		not_ok "$d -n without -f names SYSCONFDIR's configuration file"
	fi
done
mkdir -p "$etc/zotad"
printf 'zotad:\n  run_dir: %s/etc-run\n' "$tmp" \
    >"$etc/zotad/configuration.yaml"
for d in $services; do
	if [ "$("$dest/opt/zotad/sbin/$d" -n 2>&1)" = "configuration OK" ]
	then
		ok "$d -n without -f checks SYSCONFDIR's configuration file"
	else
		not_ok "$d -n without -f checks SYSCONFDIR's configuration file"
	fi
done
# zotadctl finds zotad-radio's socket through that file's run_dir.
"$dest/opt/zotad/bin/zotadctl" devices >/dev/null 2>"$tmp/out"
if grep -q "cannot reach zotad-radio at $tmp/etc-run/radio.sock" \
    "$tmp/out"; then
	ok "zotadctl reads SYSCONFDIR's configuration file without -f"
else
	cp "$tmp/out" "$tmp/err"
	not_ok "zotadctl reads SYSCONFDIR's configuration file without -f"
fi
if grep -q "^ExecStart=/opt/zotad/sbin/zotad-mqtt -d -f $etc/zotad/" \
    "$dest/opt/zotad/lib/systemd/system/zotad-mqtt.service" &&
    grep -q "^d	$etc/zotad	" "$dest/opt/zotad/lib/tmpfiles.d/zotad.conf" &&
    grep -q "^\.Pa $etc/zotad/configuration.yaml" \
    "$dest/opt/zotad/share/man/man8/zotad-radio.8" &&
    [ -z "$(grep -rh /etc/zotad "$dest/opt/zotad/lib" \
    "$dest/opt/zotad/share" | grep -v "$etc/zotad")" ]
then
	ok "units, tmpfiles.d and manual pages name SYSCONFDIR"
else
	not_ok "units, tmpfiles.d and manual pages name SYSCONFDIR"
fi

# sysusers.d and tmpfiles.d, applied to an empty root.
if ! have systemd-sysusers || ! have systemd-tmpfiles; then
	for i in 1 2 3 4 5; do
		skip "systemd-sysusers or systemd-tmpfiles not installed"
	done
else
	mkdir -p "$tmp/sys/etc"
	grep '^dialout:' /etc/group >"$tmp/sys/etc/group"
	systemd-sysusers --root="$tmp/sys" \
	    "$PWD/config/systemd/sysusers.d/zotad.conf" >"$tmp/err" 2>&1
	if grep -q '^zotad-radio:' "$tmp/sys/etc/passwd" &&
	    grep -q '^zotad-fetch:' "$tmp/sys/etc/passwd" &&
	    grep -q '^zotad-mqtt:' "$tmp/sys/etc/passwd" &&
	    grep -q '^dialout:.*zotad-radio' "$tmp/sys/etc/group" &&
	    grep -Eq '^zotad:x:[0-9]+:.*zotad-fetch' "$tmp/sys/etc/group"; then
		ok "sysusers.d makes the three users, dialout and zotad groups"
	else
		not_ok "sysusers.d makes the three users, dialout and zotad groups"
	fi
	systemd-tmpfiles --root="$tmp/sys" --create \
	    "$PWD/config/systemd/tmpfiles.d/zotad.conf" >"$tmp/err" 2>&1
	if [ "$(stat -c %a "$tmp/sys/var/lib/zotad")" = 755 ] &&
	    [ "$(stat -c %a "$tmp/sys/var/cache/zotad")" = 700 ] &&
	    [ -d "$tmp/sys/run/zotad" ] && [ -d "$tmp/sys/etc/zotad" ]; then
		ok "tmpfiles.d makes the state, cache, run and config dirs"
	else
		not_ok "tmpfiles.d makes the state, cache, run and config dirs"
	fi
	# Each daemon's state dir is its user's alone: uid, gid and mode.
	# Only root can give files away, so others see their own uid.
	for d in radio fetch; do
		if [ "$(id -u)" != 0 ]; then
			skip "zotad-$d's state dir owner: needs root"
			continue
		fi
		want=$(awk -F: -v u="zotad-$d" '$1 == u { print $3 ":" $4 }' \
		    "$tmp/sys/etc/passwd")
		got=$(stat -c %u:%g "$tmp/sys/var/lib/zotad/$d")
		if [ -n "$want" ] && [ "$got" = "$want" ] &&
		    [ "$(stat -c %a "$tmp/sys/var/lib/zotad/$d")" = 700 ]; then
			ok "tmpfiles.d makes zotad-$d's state dir, mode 700"
		else
			echo "$d/ is $got, zotad-$d is $want" >"$tmp/err"
			not_ok "tmpfiles.d makes zotad-$d's state dir, mode 700"
		fi
	done
	# An earlier version's shared state dir stays writable for the group
	# until the daemons have moved their files out of it.
	chmod 1770 "$tmp/sys/var/lib/zotad"
	systemd-tmpfiles --root="$tmp/sys" --create \
	    "$PWD/config/systemd/tmpfiles.d/zotad.conf" >"$tmp/err" 2>&1
	if [ "$(stat -c %a "$tmp/sys/var/lib/zotad")" = 1770 ]; then
		ok "tmpfiles.d leaves an earlier version's state dir alone"
	else
		not_ok "tmpfiles.d leaves an earlier version's state dir alone"
	fi
fi

# --- systemd-analyze ------------------------------------------------

if ! have systemd-analyze; then
	skip "systemd-analyze not installed"
elif [ "$altok" != 1 ]; then
	not_ok "systemd-analyze verify (nothing installed)"
else
	(cd "$altunits" && systemd-analyze verify --man=no $units) \
	    >"$tmp/err" 2>&1
	if [ $? = 0 ] && [ ! -s "$tmp/err" ]; then
		ok "systemd-analyze verify finds nothing in the units"
	elif grep -qi 'sysinit.target not found\|not been booted' \
	    "$tmp/err"; then
		skip "systemd-analyze verify needs systemd's own units here"
	else
		not_ok "systemd-analyze verify finds nothing in the units"
	fi
fi

for d in $services; do
	if ! have systemd-analyze; then
		skip "systemd-analyze not installed"
		continue
	fi
	systemd-analyze security --offline=true \
	    "config/systemd/$d.service" >"$tmp/out" 2>"$tmp/err"
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
	    "$tmp/out")
	if [ -z "$score" ]; then
		not_ok "$d.service has a security score"
	elif awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
		ok "$d.service scores $score, 2.0 or lower"
	else
		not_ok "$d.service scores $score, more than 2.0"
	fi
done

# --- socket activation of zotad-fetch -------------------------------

# A configuration whose dirs are all in the temporary directory, whose
# indexes are on a closed loopback port, and whose override index names
# one local image: a Check is answered without any network.
data="$tmp/data"
mkdir -p "$data" "$tmp/state" "$tmp/cache" "$tmp/run"
user=
if [ "$(id -u)" = 0 ]; then
	# Started as root the daemon drops to zotad.user_fetch.
	user="  user_fetch: nobody"
	chown nobody "$tmp/state" "$tmp/cache"
	chmod 755 "$tmp"
fi
cat >"$data/configuration.yaml" <<EOF
ota:
  zigbee_ota_override_index_location: override.json
zotad:
  state_dir: $tmp/state
  cache_dir: $tmp/cache
  run_dir: $tmp/run
  index_url: http://127.0.0.1:1/index.json
  downgrade_index_url: http://127.0.0.1:1/index1.json
$user
EOF

# What systemd's notification socket would hear, as Type=notify needs:
# notify_listen NAME records each assignment the daemon sends, one a
# line, in $tmp/NAME.said, until STOPPING=1 (or a minute went by).
notify_listen() {
	rm -f "$tmp/$1.notify" "$tmp/$1.said"
	python3 - "$tmp/$1.notify" >"$tmp/$1.said" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
os.chmod(sys.argv[1], 0o666)	# the daemon may have dropped to nobody
s.settimeout(60)
try:
	while True:
		m = s.recv(4096).decode(errors="replace").split("\n")
		print("\n".join(m), flush=True)
		if "STOPPING=1" in m:
			break
except socket.timeout:
	print("nothing more within 60 seconds")
EOF
	notify_pid=$!
	i=0
	while [ ! -S "$tmp/$1.notify" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# until_said NAME LINE [FROM]: wait, at most 30 seconds, until the
# daemon has sent LINE (a grep -x extended pattern) to NAME's
# notification socket, after the first FROM lines it sent (0).
until_said() {
	i=0
	while ! tail -n +"$((${3:-0} + 1))" "$tmp/$1.said" 2>/dev/null |
	    grep -Eqx "$2"; do
		[ $i -ge 300 ] && return 1
		sleep 0.1
		i=$((i + 1))
	done
}

# said WHAT NAME LINE [FROM]: a test that passes once NAME's daemon
# sent LINE (after its first FROM lines).
said() {
	if until_said "$2" "$3" "$4"; then
		ok "$1"
	else
		sed 's/^/notify: /' "$tmp/$2.said" >"$tmp/err"
		not_ok "$1"
	fi
}

# notify_done: the daemon has left, and the tests have waited for what
# it said; the listener goes too.
notify_done() {
	kill "$notify_pid" 2>/dev/null
	wait "$notify_pid" 2>/dev/null
	notify_pid=
}

# unit_notify NAME: the unit waits for READY=1 from the main process.
unit_notify() {
	grep -qx "Type=notify" "config/systemd/$1.service" &&
	    grep -qx "NotifyAccess=main" "config/systemd/$1.service"
}

# stopped WHAT PID LOG: a test that passes when PID leaves with status 0
# on SIGTERM; LOG is its standard error.
stopped() {
	kill "$2" 2>/dev/null
	wait "$2"
	rc=$?
	if [ "$rc" = 0 ]; then
		ok "$1"
	else
		sed 's/^/log: /' "$3" >"$tmp/err"
		not_ok "$1 (status $rc)"
	fi
}

activate() {
	if ! have systemd-socket-activate; then
		skip "systemd-socket-activate not installed"
		return 1
	fi
	if ! have python3; then
		skip "python3 not installed"
		return 1
	fi
	if ! zotadctl image make --manufacturer-code 0x1234 --image-type 7 \
	    --file-version 0x00020000 --size 3000 "$data/new.ota" \
	    >/dev/null 2>"$tmp/err" ||
	    ! zotadctl index add "$data/new.ota" >"$data/override.json" \
	    2>"$tmp/err"; then
		not_ok "zotadctl makes an image and an override index"
		return 1
	fi
	notify_listen fetch
	# The daemon gets no environment but what -E passes: a sanitizer
	# build's leak check at exit is forbidden by the sandbox.
	systemd-socket-activate -l "$tmp/run/fetch.sock" \
	    -E ASAN_OPTIONS=detect_leaks=0 \
	    -E NOTIFY_SOCKET="$tmp/fetch.notify" \
	    --fdname=fetch.sock zotad-fetch -d -v \
	    -f "$data/configuration.yaml" 2>"$tmp/fetch.log" &
	fetch_pid=$!
	return 0
}

# The varlink client: one NUL-terminated call on socket $1, the reply
# printed as JSON.
ipc_call() {
	python3 "$(dirname "$0")/ipc_call.py" "$1" "$2"
}

device='{"ieee": "0x00124b0000000001", "manufacturerCode": 4660,
    "imageType": 7, "fileVersion": 65536}'
if activate; then
	ipc_call "$tmp/run/fetch.sock" "{\"method\": \"io.zotad.Fetch.Check\",
	    \"parameters\": {\"device\": $device}}" >"$tmp/out" 2>"$tmp/err"
	if python3 -c "import json, sys
r = json.load(open(sys.argv[1]))
p = r['parameters']
assert 'error' not in r, r
assert p['available'] is True, r
assert p['entry']['fileVersion'] == 0x00020000, r" "$tmp/out" \
	    2>>"$tmp/err"; then
		ok "socket-activated zotad-fetch answers io.zotad.Fetch.Check"
	else
		sed 's/^/# fetch: /' "$tmp/fetch.log" >>"$tmp/err"
		not_ok "socket-activated zotad-fetch answers io.zotad.Fetch.Check"
	fi
	if grep -q "using socket fetch.sock from systemd" "$tmp/fetch.log"
	then
		ok "zotad-fetch serves the socket passed as fetch.sock"
	else
		sed 's/^/# fetch: /' "$tmp/fetch.log" >"$tmp/err"
		not_ok "zotad-fetch serves the socket passed as fetch.sock"
	fi
	ipc_call "$tmp/run/fetch.sock" \
	    '{"method": "io.zotad.Fetch.Nonesuch"}' >"$tmp/out" \
	    2>"$tmp/err"
	if grep -q '"error": "org.varlink.service.MethodNotFound"' "$tmp/out"; then
		ok "and answers an unknown method with MethodNotFound"
	else
		cat "$tmp/out" >>"$tmp/err"
		not_ok "and answers an unknown method with MethodNotFound"
	fi
	if unit_notify zotad-fetch; then
		name="zotad-fetch tells systemd it is ready, as its unit wants"
		said "$name" fetch "READY=1"
	else
		not_ok "zotad-fetch.service is Type=notify, NotifyAccess=main"
	fi
	# The upgrade index is on a closed port: the status says so.
	said "zotad-fetch's status names the upgrade index it cannot fetch" \
	    fetch "STATUS=upgrade index unavailable: .*127\.0\.0\.1.*"
	stopped "zotad-fetch leaves cleanly on SIGTERM" "$fetch_pid" \
	    "$tmp/fetch.log"
	fetch_pid=
	said "zotad-fetch tells systemd it is stopping" fetch "STOPPING=1"
	notify_done
fi

# --- socket activation of zotad-radio -------------------------------

# radio_activate NAME CONFIGURATION: zotad-radio under
# systemd-socket-activate, reporting to the listener NAME, started by a
# first call: ListDevices, whose answer is left in $tmp/out.
radio_activate() {
	notify_listen "$1"
	systemd-socket-activate -l "$tmp/run/radio.sock" \
	    -E ASAN_OPTIONS=detect_leaks=0 \
	    -E NOTIFY_SOCKET="$tmp/$1.notify" \
	    --fdname=radio.sock zotad-radio -d -v -f "$2" \
	    2>"$tmp/$1.log" &
	radio_pid=$!
	ipc_call "$tmp/run/radio.sock" \
	    '{"method": "io.zotad.Radio.ListDevices"}' >"$tmp/out" 2>"$tmp/err"
}

# No adapter: zotad-radio keeps looking for its port, serves radio.sock
# all the same, and is ready for systemd without it.
radio_conf="$tmp/radio.yaml"
sed 's/user_fetch:/user_radio:/' "$data/configuration.yaml" >"$radio_conf"
printf 'serial:\n  port: %s/no-such-tty\n' "$tmp" >>"$radio_conf"
if have systemd-socket-activate && have python3; then
	radio_activate radio "$radio_conf"
	if grep -q '"devices": \[\]' "$tmp/out" &&
	    grep -q "using socket radio.sock from systemd" "$tmp/radio.log"
	then
		ok "socket-activated zotad-radio serves radio.sock by name"
	else
		cat "$tmp/out" >>"$tmp/err"
		sed 's/^/# radio: /' "$tmp/radio.log" >>"$tmp/err"
		not_ok "socket-activated zotad-radio serves radio.sock by name"
	fi
	if unit_notify zotad-radio; then
		said "zotad-radio is ready for systemd without its adapter" \
		    radio "READY=1"
	else
		not_ok "zotad-radio.service is Type=notify, NotifyAccess=main"
	fi
	said "zotad-radio's status says the adapter is starting, and where" \
	    radio "STATUS=adapter starting on $tmp/no-such-tty"
	stopped "zotad-radio leaves cleanly on SIGTERM" "$radio_pid" \
	    "$tmp/radio.log"
	radio_pid=
	said "zotad-radio tells systemd it is stopping" radio "STOPPING=1"
	notify_done
else
	skip "systemd-socket-activate or python3 not installed"
fi

# With zotad-sim as the adapter, started first so that a zotad-radio
# started as root opens the pseudo terminal before it drops. A blank
# adapter: zotad-radio forms the configured network, and the status
# says so with its channel and PAN, counts the device that joins,
# shows an update while it runs (once, not with every block), and says
# the adapter is lost when the simulator goes.
sim_conf="$tmp/sim.yaml"
sed 's/user_fetch:/user_radio:/' "$data/configuration.yaml" >"$sim_conf"
printf 'serial:\n  port: %s/tty\nadvanced:\n  channel: 15\n' "$tmp" \
    >>"$sim_conf"
printf '  pan_id: 0x2b3c\n' >>"$sim_conf"
plug=0x00124b00beef0101
up="adapter up: channel 15, PAN 0x2b3c"

# sim_ctl COMMAND: one command on the simulator's control socket.
sim_ctl() {
	python3 - "$tmp/sim.ctl" "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
r = s.makefile().readline().strip()
sys.exit(0 if r == "ok" else r)
EOF
}

if ! have systemd-socket-activate || ! have python3 || ! have zotad-sim
then
	skip "systemd-socket-activate, python3 or zotad-sim missing"
else
	zotad-sim --scenario tests/sim/scenarios/blank.json --pty "$tmp/tty" \
	    --control "$tmp/sim.ctl" >"$tmp/sim.log" 2>&1 &
	sim_pid=$!
	i=0
	while [ ! -S "$tmp/sim.ctl" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	radio_activate radio-sim "$sim_conf"
	said "zotad-radio's status: adapter up, with its channel and PAN" \
	    radio-sim "STATUS=$up, 0 devices"
	sim_ctl "join plug" 2>"$tmp/err"
	said "zotad-radio's status counts the device that joined" \
	    radio-sim "STATUS=$up, 1 device"
	zotadctl image make --manufacturer-code 0x1234 --image-type 0x0301 \
	    --file-version 0x03020000 --size 2048 "$tmp/plug.ota" >/dev/null
	from=$(wc -l <"$tmp/radio-sim.said")
	zotadctl update --socket "$tmp/run/radio.sock" --image \
	    "$tmp/plug.ota" "$plug" >"$tmp/err" 2>&1
	said "zotad-radio's status shows the update while it runs" \
	    radio-sim "STATUS=$up, 1 device; 1 update in progress" "$from"
	said "and no update once it is done" \
	    radio-sim "STATUS=$up, 1 device" "$from"
	changes=$(tail -n +"$((from + 1))" "$tmp/radio-sim.said" |
	    grep -c STATUS=)
	if [ "$changes" = 2 ]; then
		ok "the status changed twice for the update, not at each block"
	else
		sed 's/^/notify: /' "$tmp/radio-sim.said" >"$tmp/err"
		not_ok "the status changed twice for the update, not $changes"
	fi
	kill "$sim_pid"
	wait "$sim_pid" 2>/dev/null
	sim_pid=
	said "zotad-radio's status: adapter lost when the simulator goes" \
	    radio-sim "STATUS=adapter lost, starting it again"
	stopped "zotad-radio with an adapter leaves cleanly on SIGTERM" \
	    "$radio_pid" "$tmp/radio-sim.log"
	radio_pid=
	said "and tells systemd it is stopping" radio-sim "STOPPING=1"
	notify_done
fi

# --- zotad-mqtt -----------------------------------------------------

# zotad-mqtt has no socket of its own: started as systemd would start
# it, against a private mosquitto on a free loopback port. The status
# follows the broker: connected, then reconnecting once it is gone.
mosquitto=$(command -v mosquitto || command -v /usr/sbin/mosquitto)
if [ -z "$mosquitto" ] || ! have python3; then
	skip "mosquitto or python3 not installed"
else
	mport=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$mport" \
	    >"$tmp/mosquitto.conf"
	printf 'persistence false\n' >>"$tmp/mosquitto.conf"
	"$mosquitto" -c "$tmp/mosquitto.conf" >"$tmp/mosquitto.log" 2>&1 &
	mosq_pid=$!
	broker="mqtt://127.0.0.1:$mport"
	mqtt_conf="$tmp/mqtt.yaml"
	sed 's/user_fetch:/user_mqtt:/' "$data/configuration.yaml" \
	    >"$mqtt_conf"
	printf 'mqtt:\n  server: %s\n' "$broker" >>"$mqtt_conf"
	notify_listen mqtt
	env ASAN_OPTIONS=detect_leaks=0 NOTIFY_SOCKET="$tmp/mqtt.notify" \
	    zotad-mqtt -d -v -f "$mqtt_conf" 2>"$tmp/mqtt.log" &
	mqtt_pid=$!
	if unit_notify zotad-mqtt; then
		name="zotad-mqtt tells systemd it is ready, as its unit wants"
		said "$name" mqtt "READY=1"
	else
		not_ok "zotad-mqtt.service is Type=notify, NotifyAccess=main"
	fi
	said "zotad-mqtt's status: connected to the broker" \
	    mqtt "STATUS=connected to broker $broker"
	kill "$mosq_pid"
	wait "$mosq_pid" 2>/dev/null
	mosq_pid=
	said "zotad-mqtt's status: reconnecting once the broker is gone" \
	    mqtt "STATUS=reconnecting to broker $broker"
	stopped "zotad-mqtt leaves cleanly on SIGTERM" "$mqtt_pid" \
	    "$tmp/mqtt.log"
	mqtt_pid=
	said "zotad-mqtt tells systemd it is stopping" mqtt "STOPPING=1"
	notify_done
fi

tap_end
