#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Each daemon's configuration test (-n): OK, an invalid value, an unknown
# key, a missing file, a bad command line.

n=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fail=1
	fi
}

cat >"$tmp/good.yaml" <<'YAML'
mqtt:
  base_topic: zigbee2mqtt
  server: mqtt://localhost:1883
serial:
  port: /dev/ttyACM0
ota:
  update_check_interval: 60
YAML
cat >"$tmp/bad.yaml" <<'YAML'
ota:
  update_check_interval: soon
YAML
cat >"$tmp/unknown.yaml" <<'YAML'
ota:
  update_check_intervall: 60
YAML

for d in zotad-radio zotad-fetch zotad-mqtt; do
	out=$($d -n -f "$tmp/good.yaml" 2>&1)
	check $? "$d -n accepts a valid file"
	[ "$out" = "configuration OK" ]
	check $? "$d -n says configuration OK"

	out=$($d -n -f "$tmp/bad.yaml" 2>&1)
	[ $? = 1 ]
	check $? "$d -n rejects an invalid value"
	case "$out" in
	*ota.update_check_interval*soon*) r=0 ;;
	*) r=1; echo "# got: $out" ;;
	esac
	check $r "$d -n names the key and the value"

	out=$($d -n -f "$tmp/unknown.yaml" 2>&1)
	check $? "$d -n accepts a file with an unknown key"
	case "$out" in
	*update_check_intervall*"configuration OK"*) r=0 ;;
	*) r=1; echo "# got: $out" ;;
	esac
	check $r "$d -n warns about the unknown key"

	$d -n -f "$tmp/absent.yaml" >/dev/null 2>&1
	[ $? = 1 ]
	check $? "$d -n fails on a missing file"

	$d -x >/dev/null 2>&1
	[ $? = 2 ]
	check $? "$d rejects an unknown option with status 2"
done

echo "1..$n"
exit $fail
