#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Each daemon's configuration test (-n): OK, an invalid value, an unknown
# key, a missing file, a bad command line.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/tap.sh"
tap_why="$tmp/why"

# says PATTERN: whether what the daemon said, $out, matches PATTERN.
says() {
	case "$out" in
	$1) return 0 ;;
	esac
	echo "got: $out"
	return 1
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
	check "$d -n accepts a valid file" test $? -eq 0
	check "$d -n says configuration OK" test "$out" = "configuration OK"

	out=$($d -n -f "$tmp/bad.yaml" 2>&1)
	check "$d -n rejects an invalid value" test $? -eq 1
	check "$d -n names the key and the value" \
	    says '*ota.update_check_interval*soon*'

	out=$($d -n -f "$tmp/unknown.yaml" 2>&1)
	check "$d -n accepts a file with an unknown key" test $? -eq 0
	check "$d -n warns about the unknown key" \
	    says '*update_check_intervall*configuration OK*'

	$d -n -f "$tmp/absent.yaml" >/dev/null 2>&1
	check "$d -n fails on a missing file" test $? -eq 1

	$d -x >/dev/null 2>&1
	check "$d rejects an unknown option with status 2" test $? -eq 2
done

tap_end
