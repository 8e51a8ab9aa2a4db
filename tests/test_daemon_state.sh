#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# zotad-radio and zotad-fetch keep their state in directories of their
# own inside zotad.state_dir. Started by hand, as root with two different
# users where the test may, each daemon gets its own directory and
# zotad-fetch saves its check times; the files an earlier version kept in
# the state dir itself move to the new places at the first start, once,
# and the daemons go on from them: the registry, the saved transfers and
# the privacy limit's check times. Prints TAP.

: "${BUILD:=build}"
# Run from the repository root, alone or by make check.
PATH="$PWD/$BUILD/bin:$PATH"
# A sanitizer build's leak check at exit is forbidden by the sandbox.
ASAN_OPTIONS=detect_leaks=0
export ASAN_OPTIONS
tmp=$(mktemp -d)
radio_pid=
fetch_pid=
cleanup() {
	[ -n "$fetch_pid" ] && kill "$fetch_pid" 2>/dev/null
	[ -n "$radio_pid" ] && kill "$radio_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/tap.sh"
# What the command a test ran said; emptied by each success.
tap_why="$tmp/err"
tap_fresh=1

if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP python3 not installed"
	exit 0
fi

root=0
radio_user=
fetch_user=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 &&
    id daemon >/dev/null 2>&1; then
	root=1
	radio_user=nobody
	fetch_user=daemon
fi

state="$tmp/state"
old="$tmp/old"
data="$tmp/data"
dev1=0x00124b0000000001
dev2=0x00124b0000000002
mkdir -p "$data" "$state" "$old" "$tmp/cache" "$tmp/run"
chmod 755 "$tmp"
cat >"$data/configuration.yaml" <<EOF
serial:
  port: $tmp/no-such-tty
ota:
  update_check_interval: 60
zotad:
  state_dir: $state
  cache_dir: $tmp/cache
  run_dir: $tmp/run
  index_url: http://127.0.0.1:1/index.json
  downgrade_index_url: http://127.0.0.1:1/index1.json
EOF
if [ "$root" = 1 ]; then
	printf '  user_radio: %s\n  user_fetch: %s\n' "$radio_user" \
	    "$fetch_user" >>"$data/configuration.yaml"
	chown "$fetch_user" "$tmp/cache"
fi

# The state dir as an earlier version left it, started by hand as root:
# everything in the state dir itself, which belonged to zotad-radio's
# user, and a temporary file a crash left behind. Copies in $old.
cat >"$old/devices.json" <<EOF
{"devices": [{"ieee": "$dev1", "nwk": 4097, "type": "router",
  "model_id": "Migrated", "interview": "done"}]}
EOF
echo '{"sessions": []}' >"$old/ota.json"
printf 'the image of a transfer in progress' >"$old/ota-00124b0000000001.img"
echo "{\"devices\": {\"$dev1\": $(date +%s)}}" >"$old/fetch-lastcheck.json"
cp "$old"/* "$state"/
printf '{"dev' >"$state/.devices.json.tmp-Ab12Cd"
chmod 600 "$state"/* "$state"/.devices*
chmod 750 "$state"
if [ "$root" = 1 ]; then
	chown -R "$radio_user" "$state"
fi

# The varlink client: one NUL-terminated call on socket $1, the reply
# printed as JSON.
ipc_call() {
	python3 "$(dirname "$0")/ipc_call.py" "$1" "$2"
}

# An automatic check of device $1 on fetch.sock.
check_call() {
	ipc_call "$tmp/run/fetch.sock" "{\"method\": \"io.zotad.Fetch.Check\",
	    \"parameters\": {\"automatic\": true, \"device\": {\"ieee\": \"$1\",
	    \"manufacturerCode\": 4660, \"imageType\": 7,
	    \"fileVersion\": 65536}}}"
}

# Start both daemons, logging to $tmp/radio.$1 and $tmp/fetch.$1, and
# wait for their sockets to answer.
start() {
	rm -f "$tmp/run/radio.sock" "$tmp/run/fetch.sock"
	zotad-fetch -d -v -f "$data/configuration.yaml" 2>"$tmp/fetch.$1" &
	fetch_pid=$!
	zotad-radio -d -v -f "$data/configuration.yaml" 2>"$tmp/radio.$1" &
	radio_pid=$!
	ipc_call "$tmp/run/radio.sock" \
	    '{"method": "io.zotad.Radio.ListDevices"}' >"$tmp/devices.$1" \
	    2>>"$tmp/err" &&
	    ipc_call "$tmp/run/fetch.sock" '{"method": "io.zotad.Fetch.None"}' \
	    >/dev/null 2>>"$tmp/err"
}

stop() {
	kill "$fetch_pid" "$radio_pid" 2>/dev/null
	wait "$fetch_pid"
	fetch_rc=$?
	wait "$radio_pid"
	radio_rc=$?
	fetch_pid=
	radio_pid=
	[ "$fetch_rc" = 0 ] && [ "$radio_rc" = 0 ]
}

# owned PATH USER MODE: PATH belongs to USER (and its group) with MODE.
owned() {
	want="$2:$(id -gn "$2") $3"
	got=$(stat -c '%U:%G %a' "$1")
	[ "$got" = "$want" ] || { echo "$1 is $got, not $want"; return 1; }
}

# moved NAME DIR: the old NAME is in $state/DIR, unchanged, and gone
# from the state dir itself.
moved() {
	cmp "$old/$1" "$state/$2/$1" && [ ! -e "$state/$1" ]
}

# wait_for FILE TEXT: until FILE holds TEXT, for at most 20 seconds.
wait_for() {
	i=0
	until grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -ge 200 ] && { echo "$1 never held $2"; return 1; }
		sleep 0.1
	done
}

# --- the first start, on an earlier version's layout -----------------

if start 1; then
	ok "both daemons start on an earlier version's state dir"
else
	sed 's/^/# radio: /' "$tmp/radio.1" >>"$tmp/err"
	sed 's/^/# fetch: /' "$tmp/fetch.1" >>"$tmp/err"
	not_ok "both daemons start on an earlier version's state dir"
fi
check "the registry moved to radio/, unchanged" moved devices.json radio
check "the saved transfers moved to radio/" moved ota.json radio
check "a transfer's image moved to radio/" \
    moved ota-00124b0000000001.img radio
check "the check times moved to fetch/, unchanged" \
    moved fetch-lastcheck.json fetch
check "the temporary file a crash left is gone" \
    test ! -e "$state/.devices.json.tmp-Ab12Cd"
check "zotad-radio says what it moved" \
    grep -q "moved 3 files of an earlier version" "$tmp/radio.1"
check "zotad-fetch says so too" \
    grep -q "moved 1 file of an earlier version" "$tmp/fetch.1"
check "zotad-radio knows the device of the moved registry" \
    grep -q "\"$dev1\"" "$tmp/devices.1"

if [ "$root" = 1 ]; then
	check "the state dir now belongs to root, mode 755" \
	    owned "$state" root 755
	check "radio/ belongs to zotad.user_radio ($radio_user), mode 700" \
	    owned "$state/radio" "$radio_user" 700
	check "fetch/ belongs to zotad.user_fetch ($fetch_user), mode 700" \
	    owned "$state/fetch" "$fetch_user" 700
	check "the moved check times belong to $fetch_user" \
	    test "$(stat -c %U "$state/fetch/fetch-lastcheck.json")" = \
	    "$fetch_user"
else
	skip "not root: the daemons cannot run as two users"
fi

# The moved check time holds: within the interval, no contact.
check_call "$dev1" >"$tmp/out" 2>>"$tmp/err"
check "a device checked just before the move is refused as too soon" \
    grep -q '"error": "io.zotad.Fetch.CheckTooSoon"' "$tmp/out"
check "and no request went out for it" \
    sh -c "! grep -q 'automatic check for $dev1' '$tmp/fetch.1'"

# A new device: zotad-fetch, as its own user, records and saves it.
check_call "$dev2" >"$tmp/out" 2>>"$tmp/err"
check "an automatic check goes out for a device never checked" \
    grep -q "GET .*(automatic check for $dev2)" "$tmp/fetch.1"
check "zotad-fetch saves its check time in fetch/" \
    wait_for "$state/fetch/fetch-lastcheck.json" "\"$dev2\""
check "and keeps the moved one" \
    grep -q "\"$dev1\"" "$state/fetch/fetch-lastcheck.json"
check "zotad-fetch never failed to save its check times" \
    sh -c "! grep -qi 'warning.*lastcheck' '$tmp/fetch.1'"
check "both daemons stop cleanly" stop

# --- the second start: nothing more to move ---------------------------

cp "$state/fetch/fetch-lastcheck.json" "$tmp/lastcheck"
if start 2; then
	ok "both daemons start again on the new layout"
else
	sed 's/^/# radio: /' "$tmp/radio.2" >>"$tmp/err"
	sed 's/^/# fetch: /' "$tmp/fetch.2" >>"$tmp/err"
	not_ok "both daemons start again on the new layout"
fi
check "the second start moves nothing" \
    sh -c "! grep -q 'earlier version' '$tmp/radio.2' '$tmp/fetch.2'"
check "zotad-radio still knows the device" \
    grep -q "\"$dev1\"" "$tmp/devices.2"
check_call "$dev2" >"$tmp/out" 2>>"$tmp/err"
check "the check time saved before the restart still holds" \
    grep -q '"error": "io.zotad.Fetch.CheckTooSoon"' "$tmp/out"
check "the saved check times are as they were" \
    cmp "$tmp/lastcheck" "$state/fetch/fetch-lastcheck.json"
check "the state dir holds only the daemons' directories" \
    test "$(ls -A "$state" | tr '\n' ' ')" = "fetch radio "
check "both daemons stop cleanly again" stop

tap_end
