#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# The whole suite end to end, driven over MQTT as a zigbee2mqtt user
# would: mosquitto on a free loopback port, zotad-sim playing the adapter
# and its devices, a local HTTP server holding the index and the images,
# and the three daemons under their own sandboxes (as root they drop to
# nobody). Requests go out with mosquitto_pub; one mosquitto_sub records
# everything the broker carries, and each step waits, with a timeout,
# for the message, simulator event or socket it needs. Prints TAP.

: "${BUILD:=build}"
bin="$PWD/$BUILD/bin"
tmp=$(mktemp -d /tmp/zotad-e2e.XXXXXX)
pids=""
T=zt		# base topic
OTA=$T/bridge/request/device/ota_update
RSP=$T/bridge/response/device/ota_update
LAMP=0x00124b00e2e00001
CURRENT=0x00124b00e2e00002

. "$(dirname "$0")/tap.sh"
. "$(dirname "$0")/../scripts/lib.sh"
# What the command a test ran said; emptied by each success.
tap_why="$tmp/why"
tap_fresh=1

cleanup() {
	stop_pids
	if [ -n "$ZOTAD_KEEP_TEST_DIR" ]; then
		echo "# kept $tmp"
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

for p in zotad-radio zotad-fetch zotad-mqtt zotad-sim zotadctl; do
	if [ ! -x "$bin/$p" ]; then
		echo "1..0 # SKIP $bin/$p is not built"
		exit 0
	fi
done
for p in mosquitto mosquitto_pub mosquitto_sub python3; do
	if ! command -v $p >/dev/null 2>&1 && [ ! -x /usr/sbin/$p ]; then
		echo "1..0 # SKIP $p is not installed (make deps)"
		exit 0
	fi
done
PATH="$PATH:/usr/sbin"

# Helpers in Python, for JSON: wait for a message, list messages.
cat >"$tmp/mq.py" <<'EOF'
import json, os, sys, time

def lines(log, start):
    with open(log, encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i < start:
                continue
            try:
                m = json.loads(line)
            except ValueError:
                continue
            try:
                m["j"] = json.loads(m["payload"])
            except (TypeError, ValueError):
                m["j"] = None
            yield m

def match(m, topic, expr):
    if m["topic"] != topic:
        return False
    try:
        return bool(eval("(" + expr + ")", {"json": json},
                         {"j": m["j"], "p": m["payload"]}))
    except Exception:
        return False

cmd, log, start = sys.argv[1], sys.argv[2], int(sys.argv[3])
if cmd == "wait":
    timeout, topic, expr = float(sys.argv[4]), sys.argv[5], sys.argv[6]
    end = time.monotonic() + timeout
    while True:
        for m in lines(log, start):
            if match(m, topic, expr):
                print(m["payload"])
                sys.exit(0)
        if time.monotonic() > end:
            break
        time.sleep(0.05)
    print("no message on %s with %s within %gs; there were:" %
          (topic, expr, timeout))
    for m in lines(log, start):
        if m["topic"] == topic:
            print("  %s" % m["payload"])
    sys.exit(1)
elif cmd == "list":
    topic = sys.argv[4]
    print(json.dumps([m["j"] for m in lines(log, start)
                      if m["topic"] == topic]))
EOF

# Waiting on the simulator's events file and its control socket.
cat >"$tmp/sim.py" <<'EOF'
import json, socket, sys, time

cmd = sys.argv[1]
if cmd == "ctl":
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[2])
    s.sendall(sys.argv[3].encode() + b"\n")
    r = s.makefile().readline().strip()
    print(r)
    sys.exit(0 if r == "ok" or r.startswith("{") else 1)
elif cmd == "wait":
    path, start, timeout = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    want = json.loads(sys.argv[5])
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i < start:
                    continue
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if all(e.get(k) == v for k, v in want.items()):
                    print(line.strip())
                    sys.exit(0)
        time.sleep(0.05)
    print("no simulator event %s within %gs" % (sys.argv[5], timeout))
    sys.exit(1)
EOF

# spawn NAME COMMAND...: a background process, its output in NAME.log.
spawn() {
	name=$1
	shift
	"$@" >"$tmp/$name.log" 2>&1 &
	eval "pid_$(echo "$name" | tr -c 'a-z0-9\n' '_')=$!"
	pids="$! $pids"
}

# stop NAME: SIGTERM and wait; fails unless it left with status 0.
stop() {
	eval "p=\$pid_$(echo "$1" | tr -c 'a-z0-9\n' '_')"
	kill -TERM "$p" && wait "$p"
}

# A (re)started zotad-fetch serves once it says so: the socket a stopped
# one left may still be there until then.
fetch_ready() {
	until_ok 20 grep -q 'zotad-fetch: ready' "$tmp/fetch.log"
}

# Likewise a restarted zotad-radio, once its adapter is up.
radio_ready() {
	until_ok 30 grep -q 'zotad-radio: adapter up' "$tmp/radio.log"
}

mark() {
	wc -l <"$tmp/mqtt.jsonl" | tr -d ' '
}

evmark() {
	wc -l <"$tmp/events.jsonl" | tr -d ' '
}

pub() {
	mosquitto_pub -h 127.0.0.1 -p "$mport" -q 1 -t "$1" -m "$2"
}

# wait_msg FROM SECONDS TOPIC EXPR: the payload of the first message
# on TOPIC since line FROM for which the Python EXPR (j: the payload as
# JSON) holds.
wait_msg() {
	python3 "$tmp/mq.py" wait "$tmp/mqtt.jsonl" "$1" "$2" "$3" "$4"
}

list_msgs() {
	python3 "$tmp/mq.py" list "$tmp/mqtt.jsonl" "$1" "$2"
}

# sim_ctl COMMAND: one line to zotad-sim's control socket, its answer
# printed; unlike lib.sh's, an answer in JSON (show) is a success too.
sim_ctl() {
	python3 "$tmp/sim.py" ctl "$tmp/sim.ctl" "$1"
}

# wait_ev FROM SECONDS JSON: an event with all of JSON's fields.
wait_ev() {
	python3 "$tmp/sim.py" wait "$tmp/events.jsonl" "$1" "$2" "$3"
}

# The fields of JSON text on stdin: py EXPR, true when EXPR holds.
py() {
	python3 -c 'import json, sys
j = json.load(sys.stdin)
ok = eval("(" + sys.argv[1] + ")")
print(json.dumps(j)) if not ok else None
sys.exit(0 if ok else 1)' "$1"
}

# request VERB PAYLOAD RESPONSE_EXPR [SECONDS]: publish a request and
# wait for the response that satisfies the expression.
request() {
	m=$(mark)
	pub "$OTA/$1" "$2" || return 1
	wait_msg "$m" "${4:-30}" "$RSP/${1%/downgrade}" "$3"
}

mkdir -p "$tmp/data" "$tmp/www" "$tmp/state" "$tmp/cache" "$tmp/run"
chmod 755 "$tmp"
users=$(zotad_users "$tmp/state" "$tmp/cache" "$tmp/run") || {
	echo "not ok 1 - the state, cache and run dirs are not nobody's"
	echo "1..1"
	exit 1
}
mport=$(free_port)
hport=$(free_port)
while [ "$hport" = "$mport" ]; do hport=$(free_port); done
url="http://127.0.0.1:$hport"

# Images: made by zotadctl, listed by zotadctl in the indexes.
mkimg() {
	# IMAGE-TYPE VERSION FILE [SIZE [MANUFACTURER]]
	"$bin/zotadctl" image make --manufacturer-code "${5:-0x1234}" \
	    --image-type "$1" --file-version "$2" --size "${4:-1024}" "$3" \
	    >/dev/null
}
w="$tmp/www"
mkdir -p "$w/ikea" "$w/ikea-test"
mkimg 0x0101 0x02000000 "$w/lamp-2.ota" &&
mkimg 0x0101 0x01000000 "$w/lamp-1.ota" &&
mkimg 0x0201 0x00100000 "$w/remote-1.ota" &&
mkimg 0x0301 0x02000000 "$w/silent-2.ota" 2048 &&
mkimg 0x0302 0x02000000 "$w/quitter-2.ota" 2048 &&
mkimg 0x0401 0x02000000 "$w/pair-2.ota" 2048 &&
mkimg 0x0501 0x02000000 "$w/slow-2.ota" 4096 &&
mkimg 0x0601 0x02000000 "$w/byurl-2.ota" &&
mkimg 0x0801 0x02000000 "$w/viactl-2.ota" 4096 &&
mkimg 0x0a01 0x02000000 "$w/schedurl-2.ota" &&
mkimg 0x0a02 0x02000000 "$tmp/schedhex-2.ota" &&
mkimg 0x0a03 0x02000000 "$w/crashy-2.ota" 4096 &&
mkimg 0x0a04 0x02000000 "$w/cutoff-2.ota" 4096 &&
mkimg 0x0a05 0x02000000 "$w/ctlcrash-2.ota" 4096 &&
mkimg 0x0602 0x02000000 "$tmp/byhex-2.ota" &&
mkimg 0x0701 0x02000000 "$tmp/data/local-2.ota" &&
mkimg 0x0702 0x01000000 "$tmp/data/forced-1.ota" &&
mkimg 0x0901 0x01000000 "$w/ikea/ikea-1.ota" 1024 0x117c &&
mkimg 0x0901 0x02000000 "$w/ikea-test/ikea-2.ota" 1024 0x117c || {
	echo "not ok 1 - zotadctl image make failed"; echo "1..1"
	exit 1
}
for f in lamp-2 remote-1 silent-2 quitter-2 pair-2 slow-2 viactl-2; do
	echo "$w/$f.ota"
done | xargs "$bin/zotadctl" index add --base-url "$url/" >"$w/index.json"
"$bin/zotadctl" index add --base-url "$url/" "$w/lamp-1.ota" \
    >"$w/index1.json"
# IKEA's two feeds, in IKEA's own format: the release feed has only the
# version the device runs (and gateway firmware, which is not for
# devices), the test feed a newer one.
ikea_item() {
	# TYPE VERSION-MSB URL
	echo "{ \"fw_type\": $1, \"fw_image_type\": 2305,
	  \"fw_manufacturer_id\": 4476, \"fw_file_version_MSB\": $2,
	  \"fw_file_version_LSB\": 0, \"fw_filesize\": 1024,
	  \"fw_binary_url\": \"$3\" }"
}
{
	echo "[ $(ikea_item 0 768 "$url/ikea/gateway.bin"),"
	echo "  $(ikea_item 2 256 "$url/ikea/ikea-1.ota") ]"
} >"$w/ikea/version_info.json"
echo "[ $(ikea_item 2 512 "$url/ikea-test/ikea-2.ota") ]" \
    >"$w/ikea-test/version_info.json"
# The override index, written by hand: a local file named only by url,
# and an entry forced although it is not newer.
cat >"$tmp/data/override.json" <<EOF
[
	{ "url": "local-2.ota" },
	{ "url": "forced-1.ota", "force": true }
]
EOF

# The devices: one per case, on a quick link, joining once all runs.
dev() {
	# NAME IEEE-SUFFIX NWK TYPE IMAGE-TYPE VERSION [OTA-EXTRA [MFR]]
	cat <<EOF
	{ "name": "$1", "ieee": "0x00124b00e2e000$2", "nwk": "$3",
	  "type": "$4", "joined": false,
	  "manufacturer_code": "${8:-0x1234}",
	  $( [ "$4" = sleepy_end_device ] && echo '"poll_ms": 400,
	  "fast_poll_ms": 100, "expire_ms": 3000, "battery": 90,' )
	  "basic": { "manufacturer_name": "E2E", "model_id": "E2E-$1",
		     "power_source": $( [ "$4" = router ] && echo 1 || echo 3 ),
		     "sw_build_id": "1.0", "date_code": "20250101" },
	  "endpoints": [ { "id": 1, "in": [0, 3, 6], "out": [25] } ],
	  "ota": { "image_type": "$5", "file_version": "$6",
		   "hw_version": null, "reply_latency_ms": 5,
		   "reboot_ms": 200, "block_timeout_ms": 3000,
		   "block_retries": 2,
		   "after": { "sw_build_id": "2.0", "date_code": "20260101" }
		   $7 } }
EOF
}
{
	echo '{ "adapter": { "baud": 0 }, "link": { "air_latency_ms": 1,'
	echo '  "confirm_delay_ms": 2 }, "devices": ['
	dev lamp 01 0x1001 router 0x0101 0x01000000; echo ,
	dev current 02 0x1002 router 0x0101 0x02000000; echo ,
	dev remote 03 0x2003 sleepy_end_device 0x0201 0x00090000; echo ,
	dev silent 04 0x1004 router 0x0301 0x01000000 \
	    ', "inject": { "silent_at_offset": 512 }'; echo ,
	dev quitter 05 0x1005 router 0x0302 0x01000000 \
	    ', "inject": { "abort_at_offset": 512 }'; echo ,
	dev first 06 0x1006 router 0x0401 0x01000000; echo ,
	dev second 07 0x1007 router 0x0401 0x01000000; echo ,
	dev slow 08 0x1008 router 0x0501 0x01000000; echo ,
	dev byurl 09 0x1009 router 0x0601 0x01000000; echo ,
	dev byhex 0a 0x100a router 0x0602 0x01000000; echo ,
	dev local 0b 0x100b router 0x0701 0x01000000; echo ,
	dev forced 0c 0x100c router 0x0702 0x01000000; echo ,
	dev viactl 0d 0x100d router 0x0801 0x01000000; echo ,
	dev ikea 0e 0x100e router 0x0901 0x01000000 '' 0x117c; echo ,
	dev schedurl 0f 0x100f router 0x0a01 0x01000000; echo ,
	dev schedhex 10 0x1010 router 0x0a02 0x01000000; echo ,
	dev crashy 11 0x1011 router 0x0a03 0x01000000; echo ,
	dev cutoff 12 0x1012 router 0x0a04 0x01000000; echo ,
	dev ctlcrash 13 0x1013 router 0x0a05 0x01000000
	echo '] }'
} >"$tmp/scenario.json"
names="lamp current remote silent quitter first second slow byurl byhex
local forced viactl ikea schedurl schedhex crashy cutoff ctlcrash"

cat >"$tmp/data/configuration.yaml" <<EOF
mqtt:
  base_topic: $T
  server: mqtt://127.0.0.1:$mport
serial:
  port: $tmp/tty
ota:
  update_check_interval: 60
  zigbee_ota_override_index_location: override.json
  image_block_response_delay: 50
  default_maximum_data_size: 64
  image_block_request_timeout: 10000
homeassistant:
  enabled: true
devices:
  '$LAMP':
    friendly_name: living room/lamp
  '0x00124b00e2e00003':
    friendly_name: remote
  '0x00124b00e2e00004':
    friendly_name: silent
  '0x00124b00e2e00005':
    friendly_name: quitter
  '0x00124b00e2e00006':
    friendly_name: first
  '0x00124b00e2e00007':
    friendly_name: second
  '0x00124b00e2e00008':
    friendly_name: slow
  '0x00124b00e2e00009':
    friendly_name: byurl
  '0x00124b00e2e0000a':
    friendly_name: byhex
  '0x00124b00e2e0000b':
    friendly_name: local
  '0x00124b00e2e0000c':
    friendly_name: forced
  '0x00124b00e2e0000d':
    friendly_name: via zotadctl
  '0x00124b00e2e0000e':
    friendly_name: ikea
  '0x00124b00e2e0000f':
    friendly_name: schedurl
  '0x00124b00e2e00010':
    friendly_name: schedhex
  '0x00124b00e2e00011':
    friendly_name: crashy
  '0x00124b00e2e00012':
    friendly_name: cutoff
zotad:
  state_dir: $tmp/state
  cache_dir: $tmp/cache
  run_dir: $tmp/run
  index_url: $url/index.json
  downgrade_index_url: $url/index1.json
  ikea_index_url: $url/ikea/version_info.json
  ikea_test_index_url: $url/ikea-test/version_info.json
  max_concurrent_updates: 1
$users
EOF
conf="$tmp/data/configuration.yaml"

mosquitto_conf "$tmp/mosquitto.conf" "$mport"

# Start everything, each waited for.
spawn mosquitto mosquitto -c "$tmp/mosquitto.conf"
spawn httpd python3 -m http.server -b 127.0.0.1 -d "$w" "$hport"
spawn sim "$bin/zotad-sim" --scenario "$tmp/scenario.json" \
    --pty "$tmp/tty" --events "$tmp/events.jsonl" --control "$tmp/sim.ctl"
until_ok 10 port_open "$mport" && until_ok 10 port_open "$hport" &&
    until_ok 10 test -S "$tmp/sim.ctl" || {
	not_ok "mosquitto, the HTTP server or zotad-sim did not start"
	tap_end
	exit 1
}
# The recorder, once the broker listens; it is in once it sees its probe.
mosquitto_sub -h 127.0.0.1 -p "$mport" -t '#' -F '%j' -q 1 \
    >"$tmp/mqtt.jsonl" 2>"$tmp/sub.log" &
pids="$! $pids"
until_ok 10 sh -c "mosquitto_pub -h 127.0.0.1 -p $mport -t e2e/probe \
    -m x && grep -q e2e/probe '$tmp/mqtt.jsonl'" || {
	not_ok "mosquitto_sub records: $(cat "$tmp/sub.log")"
	tap_end
	exit 1
}
export ASAN_OPTIONS=detect_leaks=0
spawn fetch "$bin/zotad-fetch" -d -v -f "$conf"
fetch_ready
spawn radio "$bin/zotad-radio" -d -v -f "$conf"
until_ok 10 test -S "$tmp/run/radio.sock"
spawn mqtt "$bin/zotad-mqtt" -d -v -f "$conf"
check "the three daemons start and zotad-mqtt is online" \
    wait_msg 0 10 "$T/bridge/state" 'j["state"] == "online"'

m=$(mark)
for d in $names; do
	sim_ctl "join $d" >/dev/null || echo "# join $d failed"
done
check "nineteen devices join and are interviewed" wait_msg "$m" 30 \
    "$T/bridge/devices" \
    'len([d for d in j if d["model_id"].startswith("E2E")]) == 19'

check "Home Assistant discovery: an update entity for the lamp" \
    wait_msg 0 10 "homeassistant/update/$LAMP/update/config" \
    'j["state_topic"] == "zt/living room/lamp" and
     j["device"]["identifiers"] == ["'$LAMP'"] and
     j["command_topic"] == "'$OTA/update'" and
     json.loads(j["payload_install"]) == {"id": "'$LAMP'"} and
     j["availability"][0]["topic"] == "zt/bridge/state"'
check "the discovery message is retained for Home Assistant" sh -c \
    "mosquitto_sub -h 127.0.0.1 -p $mport -C 1 -W 5 --retained-only \
    -t homeassistant/update/$LAMP/update/config | grep -q state_topic"

# Automatic check: the lamp asks by itself; zotad asks the index once.
hits() {
	grep -c 'GET /index.json' "$tmp/httpd.log"
}
m=$(mark)
h0=$(hits)
sim_ctl "query lamp" >/dev/null
check "automatic check on the lamp's own query: update available" \
    wait_msg "$m" 20 "$T/living room/lamp" \
    'j["update"]["state"] == "available" and
     j["update"]["latest_version"] == 0x02000000'
h1=$(hits)
check "the automatic check asked the index server" test "$h1" -gt "$h0"

# The privacy interval holds across a restart of zotad-fetch.
stop fetch
spawn fetch "$bin/zotad-fetch" -d -v -f "$conf"
fetch_ready
e=$(evmark)
sim_ctl "query lamp" >/dev/null
check "a second query is answered" wait_ev "$e" 20 \
    '{"ev": "ota_result", "dev": "lamp", "result": "no_image"}'
check "no index request within update_check_interval, after a restart" \
    test "$(hits)" -eq "$h1"

# Manual checks: bare id and JSON, friendly name and IEEE.
check "check by friendly name, bare payload" request check \
    "living room/lamp" \
    'j["status"] == "ok" and j["data"]["update_available"] is True and
     j["data"]["id"] == "living room/lamp"'
check "check by IEEE in JSON, with the transaction" request check \
    "{\"id\": \"$CURRENT\", \"transaction\": 17}" \
    'j["status"] == "ok" and j["data"]["update_available"] is False and
     j["transaction"] == 17'
check "check by IEEE, bare payload" request check "$LAMP" \
    'j["status"] == "ok" and j["data"]["update_available"] is True'
check "check by friendly name in JSON" request check \
    '{"id": "living room/lamp"}' \
    'j["status"] == "ok" and j["data"]["update_available"] is True and
     j["data"]["source"].endswith("/lamp-2.ota")'
check "check of an unknown device names it" request check \
    '{"id": "nobody here"}' \
    'j["status"] == "error" and "nobody here" in j["error"]'

# An update to the end, its progress in order, the from/to response.
m=$(mark)
check "update of the lamp: from and to in the response" request update \
    '{"id": "living room/lamp"}' \
    'j["status"] == "ok" and
     j["data"]["from"]["file_version"] == 0x01000000 and
     j["data"]["to"]["file_version"] == 0x02000000 and
     j["data"]["to"]["software_build_id"] == "2.0"' 60
states_in_order() {
	list_msgs "$1" "$T/$2" | py '[s for i, s in enumerate(
	    [x["update"]["state"] for x in j]) if i == 0 or s !=
	    [x["update"]["state"] for x in j][i - 1]] == '"$3"
}
check "progress states in order: updating, waiting for the device, idle" \
    states_in_order "$m" "living room/lamp" \
    '["updating", "waiting", "idle"]'
check "progress grows and ends at the new version" sh -c "
    python3 '$tmp/mq.py' list '$tmp/mqtt.jsonl' $m '$T/living room/lamp' |
    python3 -c 'import json, sys
s = [x[\"update\"] for x in json.load(sys.stdin)]
p = [u[\"progress\"] for u in s if \"progress\" in u]
assert p and p == sorted(p), p
assert s[-1][\"installed_version\"] == 0x02000000, s[-1]'"
check "the device runs the new version" sh -c \
    "python3 '$tmp/sim.py' ctl '$tmp/sim.ctl' 'show lamp' |
    grep -q '\"file_version\":33554432'"

# Downgrade from the downgrade index.
check "update/downgrade takes the lamp back" request update/downgrade \
    '{"id": "living room/lamp"}' \
    'j["status"] == "ok" and j["data"]["to"]["file_version"] ==
     0x01000000' 60

# scheduled FROM NAME: a message since FROM says NAME is scheduled.
scheduled() {
	wait_msg "$1" 20 "$T/$2" 'j["update"]["state"] == "scheduled"'
}

# installs_on_query FROM NAME VERSION: NAME's own query starts its
# scheduled update, which ends, since FROM, with VERSION installed.
installs_on_query() {
	sim_ctl "query $2" >/dev/null
	wait_msg "$1" 60 "$T/$2" 'j["update"]["state"] == "idle" and
	    j["update"]["installed_version"] == '"$3"
}

# Schedule, then the sleepy remote's own query.
m=$(mark)
check "schedule the remote" request schedule remote 'j["status"] == "ok"'
check "the remote is scheduled" scheduled "$m" remote
check "its own query starts the update, which ends on the new version" \
    installs_on_query "$m" remote 0x00100000

# A silent device and a device that aborts.
check "a device that goes silent fails the update" request update silent \
    'j["status"] == "error" and "silent" in j["error"]' 40
check "a device that aborts: the reason is named" request update quitter \
    'j["status"] == "error" and "aborted by device" in j["error"]' 30

# The queue: two updates asked at once, one transfer at a time.
m=$(mark)
pub "$OTA/update" first
pub "$OTA/update" second
check "the second waits in the queue while the first runs" \
    wait_msg "$m" 10 "$T/second" 'j["update"]["state"] == "queued"'
check "both updates succeed, in order" sh -c "
    python3 '$tmp/mq.py' wait '$tmp/mqtt.jsonl' $m 60 '$RSP/update' \
    'j[\"data\"].get(\"id\") == \"second\" and j[\"status\"] == \"ok\"' &&
    python3 '$tmp/mq.py' list '$tmp/mqtt.jsonl' $m '$RSP/update' |
    python3 -c 'import json, sys
r = [x[\"data\"][\"id\"] for x in json.load(sys.stdin)]
assert r == [\"first\", \"second\"], r'"
check "second: queued, updating, waiting, idle" \
    states_in_order "$m" second '["queued", "updating", "waiting", "idle"]'

# Abort while updating.
m=$(mark)
pub "$OTA/update" '{"id": "slow", "image_block_response_delay": 500}'
wait_msg "$m" 20 "$T/slow" 'j["update"]["state"] == "updating"' >/dev/null
check "update/abort answers ok" request update/abort slow \
    'j["status"] == "ok"'
check "the aborted update answers with an error" wait_msg "$m" 20 \
    "$RSP/update" 'j["status"] == "error" and j["data"] == {} and
    "slow" in j["error"]'

# Images by url and as hex.
check "update with an image url" request update \
    "{\"id\": \"byurl\", \"url\": \"$url/byurl-2.ota\"}" \
    'j["status"] == "ok" and j["data"]["to"]["file_version"] ==
     0x02000000' 60
hex=$(od -An -v -tx1 "$tmp/byhex-2.ota" | tr -d ' \n')
check "update with the image as hex" request update \
    "{\"id\": \"byhex\", \"hex\": {\"data\": \"$hex\",
    \"file_name\": \"byhex-2.ota\"}}" \
    'j["status"] == "ok" and j["data"]["to"]["file_version"] ==
     0x02000000' 60

# The override index: a local file given by url alone, and force.
check "override index: a local file named only by url" request check \
    local 'j["status"] == "ok" and j["data"]["update_available"] is True'
check "override index: force offers a version that is not newer" \
    request check forced \
    'j["status"] == "ok" and j["data"]["update_available"] is True'
check "override index: the local file installs" request update local \
    'j["status"] == "ok" and j["data"]["to"]["file_version"] ==
     0x02000000' 60

# IKEA devices: the release feed, then ikea_ota_use_test_url switches
# zotad-fetch to the test feed, which it reads at start.
feed_hits() {
	grep -c "GET /$1/version_info.json" "$tmp/httpd.log"
}
check "IKEA release feed: the device runs its latest version" \
    request check ikea \
    'j["status"] == "ok" and j["data"]["update_available"] is False'
r=$(feed_hits ikea)
t=$(feed_hits ikea-test)
check "the release feed was asked, the test feed not ($r, $t requests)" \
    test "$r" -gt 0 -a "$t" -eq 0
stop fetch
sed 's/^ota:$/&\
  ikea_ota_use_test_url: true/' "$conf" >"$tmp/data/test-url.yaml"
spawn fetch "$bin/zotad-fetch" -d -v -f "$tmp/data/test-url.yaml"
fetch_ready
h=$(feed_hits ikea)
check "ikea_ota_use_test_url: the test feed offers a newer version" \
    request check ikea \
    'j["status"] == "ok" and j["data"]["update_available"] is True and
     j["data"]["source"].endswith("/ikea-test/ikea-2.ota")'
r=$(feed_hits ikea)
t=$(feed_hits ikea-test)
check "the test feed was asked, the release feed not again ($r, $t)" \
    test "$t" -gt 0 -a "$r" -eq "$h"
check "the image from IKEA's test feed installs" request update ikea \
    'j["status"] == "ok" and j["data"]["to"]["file_version"] ==
     0x02000000' 60

# Schedules with a source of their own, as zigbee2mqtt takes them: an
# image url (in no index), used when the device next asks by itself.
m=$(mark)
check "schedule with a url: the response names the url" request schedule \
    "{\"id\": \"schedurl\", \"url\": \"$url/schedurl-2.ota\",
    \"transaction\": 3}" \
    'j["status"] == "ok" and j["transaction"] == 3 and
     j["data"] == {"id": "schedurl", "url": "'"$url"'/schedurl-2.ota"}'
check "the device is scheduled" scheduled "$m" schedurl
check "its own query installs the image from that url" \
    installs_on_query "$m" schedurl 0x02000000
check "zotad-fetch downloaded it" grep -q 'GET /schedurl-2.ota' \
    "$tmp/httpd.log"

# An image sent as hex with the schedule: kept by zotad-radio, through a
# crash, until the device asks.
hex=$(od -An -v -tx1 "$tmp/schedhex-2.ota" | tr -d ' \n')
m=$(mark)
check "schedule with hex: the response names the file that keeps it" \
    request schedule "{\"id\": \"schedhex\", \"hex\": {\"data\": \"$hex\",
    \"file_name\": \"schedhex-2.ota\"}}" \
    'j["status"] == "ok" and j["data"]["id"] == "schedhex" and
     j["data"]["url"].endswith("/schedule-00124b00e2e00010.ota")'
kept=$(list_msgs "$m" "$RSP/schedule" | python3 -c 'import json, sys
print([x["data"]["url"] for x in json.load(sys.stdin)][-1])')
check "the image is kept in zotad-radio's state dir" sh -c "
    case '$kept' in '$tmp/state/'*) cmp '$kept' '$tmp/schedhex-2.ota';;
    *) echo 'not in the state dir: $kept'; false;; esac"

# zotad-radio killed in the middle of an update: the request waits for
# the restarted daemon, which carries the transfer on, and is answered
# with how the update really ended, once.
m=$(mark)
e=$(evmark)
pub "$OTA/update" "{\"id\": \"crashy\", \"url\": \"$url/crashy-2.ota\",
    \"image_block_response_delay\": 100}"
check "crashy's transfer is under way" wait_ev "$e" 30 \
    '{"ev": "block", "dev": "crashy", "offset": 1024}'
kill -KILL "$pid_radio"
wait "$pid_radio" 2>/dev/null
spawn radio "$bin/zotad-radio" -d -v -f "$conf"
check "after the crash, the update is answered" \
    wait_msg "$m" 60 "$RSP/update" \
    'j["data"].get("id") == "crashy" or "crashy" in j.get("error", "")'
check "once, with its success: no failure before it" sh -c "
    python3 '$tmp/mq.py' list '$tmp/mqtt.jsonl' $m '$RSP/update' |
    python3 -c 'import json, sys
r = json.load(sys.stdin)
assert [x[\"status\"] for x in r] == [\"ok\"], r
assert r[0][\"data\"][\"to\"][\"file_version\"] == 0x02000000, r'"
check "the restarted zotad-radio still has the schedule with its image" \
    scheduled "$m" schedhex
m=$(mark)
check "the device's own query installs the kept image" \
    installs_on_query "$m" schedhex 0x02000000
check "the kept image is removed once the schedule is done" \
    test ! -e "$kept"

# permit_join through one device, as zigbee2mqtt 2.x takes it.
e=$(evmark)
m=$(mark)
pub "$T/bridge/request/permit_join" \
    '{"time": 30, "device": "living room/lamp", "transaction": "pj"}'
check "permit_join through a router answers with its name" \
    wait_msg "$m" 20 "$T/bridge/response/permit_join" \
    'j["status"] == "ok" and j["transaction"] == "pj" and
     j["data"] == {"time": 30, "device": "living room/lamp"}'
check "the lamp alone opened joining" wait_ev "$e" 10 \
    '{"ev": "permit_join", "dev": "lamp", "via": "router", "duration": 30}'
check "no broadcast opened the whole network" sh -c "
    tail -n +$((e + 1)) '$tmp/events.jsonl' | grep '\"permit_join\"' |
    grep -v '\"dev\":\"lamp\"' | grep . && exit 1 || exit 0"
e=$(evmark)
m=$(mark)
pub "$T/bridge/request/permit_join" '{"time": 0, "device": "Coordinator"}'
check "permit_join through the coordinator" \
    wait_msg "$m" 20 "$T/bridge/response/permit_join" \
    'j["status"] == "ok" and j["data"]["device"] == "Coordinator"'
check "the coordinator itself was asked" wait_ev "$e" 10 \
    '{"ev": "permit_join", "via": "coordinator", "duration": 0}'
m=$(mark)
pub "$T/bridge/request/permit_join" '{"time": 30, "device": "no such one"}'
check "permit_join through an unknown device names it" \
    wait_msg "$m" 20 "$T/bridge/response/permit_join" \
    'j["status"] == "error" and
     j["error"] == "Device \x27no such one\x27 does not exist"'
m=$(mark)
pub "$T/bridge/request/permit_join" '{"time": 30, "device": "remote"}'
check "permit_join through an end device is refused, saying why" \
    wait_msg "$m" 20 "$T/bridge/response/permit_join" \
    'j["status"] == "error" and "end device" in j["error"]'

# zotadctl's device commands, on the same daemons.
ctl() {
	# zotadctl has no sandbox: leak checks work for it.
	ASAN_OPTIONS=detect_leaks=1 "$bin/zotadctl" "$@" >"$tmp/out" \
	    2>"$tmp/err"
	echo $? >"$tmp/rc"
}
# expect STATUS PATTERN: the last ctl exited STATUS, output has PATTERN.
expect() {
	rc=$(cat "$tmp/rc")
	cat "$tmp/out" "$tmp/err"
	[ "$rc" -eq "$1" ] && grep -q -e "$2" "$tmp/out" "$tmp/err"
}
ctl devices -f "$conf"
check "zotadctl devices lists every device by name" expect 0 \
    "^$LAMP  living room/lamp .*E2E-lamp"
ctl devices --socket "$tmp/run/radio.sock" --json
check "zotadctl devices --json over --socket" expect 0 '"ieee":'
ctl check -f "$conf" "via zotadctl"
check "zotadctl check by friendly name finds the update" expect 0 \
    "via zotadctl: update available: file version 0x02000000"
ctl check -f "$conf" "$CURRENT"
check "zotadctl check by IEEE: up to date exits 1" expect 1 \
    "no update available"
ctl update -f "$conf" "via zotadctl"
check "zotadctl update: progress lines, then from and to" sh -c "
    cat '$tmp/out'; [ \$(cat '$tmp/rc') -eq 0 ] &&
    grep -q '^via zotadctl: updating [0-9.]*%' '$tmp/out' &&
    grep -q 'to 0x02000000 (software build 2.0' '$tmp/out'"
ctl abort -f "$conf" "via zotadctl"
check "zotadctl abort with nothing running: the service's error, exit 1" \
    expect 1 "io.zotad.Radio.NotSupported: no update in progress"
ctl check --socket "$tmp/run/radio.sock" 0x00124b00e2e000ff
check "zotadctl check of an unknown IEEE: NoSuchDevice, exit 1" \
    expect 1 "io.zotad.Radio.NoSuchDevice"
ctl check -f "$conf" "no such name"
check "zotadctl check of an unknown name: exit 2" expect 2 \
    "no device called 'no such name'"
ctl schedule -f "$conf" "via zotadctl"
check "zotadctl schedule" expect 0 "scheduled"
ctl unschedule -f "$conf" "via zotadctl"
check "zotadctl unschedule" expect 0 "unscheduled"
ctl permit-join -f "$conf" 60
check "zotadctl permit-join 60" expect 0 "joining permitted for 60 s"
ctl permit-join -f "$conf" 0
check "zotadctl permit-join 0 closes joining" expect 0 "joining closed"
ctl permit-join -f "$conf" 300
check "zotadctl permit-join 300 is refused: exit 2" expect 2 "0 to 254"
e=$(evmark)
ctl permit-join -f "$conf" --device "living room/lamp" 20
check "zotadctl permit-join --device through the lamp" expect 0 \
    "joining permitted for 20 s through living room/lamp"
check "the lamp opened joining for zotadctl" wait_ev "$e" 10 \
    '{"ev": "permit_join", "dev": "lamp", "duration": 20}'
ctl schedule -f "$conf" --url "$url/viactl-2.ota" "via zotadctl"
check "zotadctl schedule --url names the source" expect 0 \
    "scheduled: the update starts at its next query, from $url/viactl-2.ota"
ctl unschedule -f "$conf" "via zotadctl"
check "zotadctl unschedule after it" expect 0 "unscheduled"

# zotad-radio killed while zotadctl follows an update: zotadctl waits for
# the restarted daemon, attaches to the transfer it carried on and ends
# with its real outcome.
e=$(evmark)
rm -f "$tmp/rc"
ctl update -f "$conf" --url "$url/ctlcrash-2.ota" 0x00124b00e2e00013 &
pids="$! $pids"
check "ctlcrash's transfer is under way" wait_ev "$e" 30 \
    '{"ev": "block", "dev": "ctlcrash", "offset": 1024}'
kill -KILL "$pid_radio"
wait "$pid_radio" 2>/dev/null
spawn radio "$bin/zotad-radio" -d -v -f "$conf"
until_ok 60 test -s "$tmp/rc"
check "zotadctl update through a crash of zotad-radio: the new version" \
    expect 0 "to 0x02000000 (software build 2.0"
check "zotadctl said it waited for zotad-radio, and nothing failed" sh -c "
    cat '$tmp/err'; grep -q 'zotad-radio went away; waiting for it' \
    '$tmp/err' && ! grep -q interrupted '$tmp/err'"
check "ctlcrash itself installed the image" wait_ev "$e" 30 \
    '{"ev": "ota_result", "dev": "ctlcrash", "result": "success"}'
radio_ready

# zotad-radio killed and kept away longer than the request's block
# request timeout: the request ends, saying the update was interrupted.
m=$(mark)
e=$(evmark)
pub "$OTA/update" "{\"id\": \"cutoff\", \"url\": \"$url/cutoff-2.ota\",
    \"image_block_response_delay\": 100,
    \"image_block_request_timeout\": 10000}"
check "cutoff's transfer is under way" wait_ev "$e" 30 \
    '{"ev": "block", "dev": "cutoff", "offset": 1024}'
kill -KILL "$pid_radio"
wait "$pid_radio" 2>/dev/null
check "a zotad-radio that stays away: the update was interrupted" \
    wait_msg "$m" 40 "$RSP/update" \
    'j["status"] == "error" and "cutoff" in j["error"] and
     "interrupted" in j["error"]'
spawn radio "$bin/zotad-radio" -d -v -f "$conf"
radio_ready
ctl devices --socket "$tmp/nothing.sock"
check "zotadctl without a daemon: exit 2" expect 2 "cannot reach zotad-radio"

# Everything leaves cleanly.
check "zotad-mqtt stops cleanly" stop mqtt
check "zotad-radio stops cleanly" stop radio
check "zotad-fetch stops cleanly" stop fetch
pids=$(echo "$pids" | tr ' ' '\n' | grep -v -e "^$pid_mqtt\$" \
    -e "^$pid_radio\$" -e "^$pid_fetch\$" | tr '\n' ' ')

if [ $failed -ne 0 ]; then
	for l in radio fetch mqtt sim; do
		echo "# --- $l.log (end)"
		tail -n 30 "$tmp/$l.log" | sed 's/^/# /'
	done
fi
tap_end
