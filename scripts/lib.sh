# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Shell functions for the scripts that start zotad with a private broker
# and zotad-sim: make run (scripts/run.sh), the benchmarks in
# tests/bench/, the zigbee2mqtt interop check and tests/test_e2e.sh.
# Sourced, after setting me (the name messages start with) and bin
# (where the programs are); pids lists the processes started, for
# stop_pids. Run from the repository root.

# say WORDS: a message on stderr, with the script's name.
say() {
	printf '%s\n' "$me: $*" >&2
}

# die WORDS: say so and exit 1.
die() {
	say "$*"
	exit 1
}

# built PROGRAM...: each must be in $bin.
built() {
	for p in "$@"; do
		[ -x "$bin/$p" ] || die "$bin/$p is not built: run make first"
	done
}

# need COMMAND...: each must be installed.
need() {
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || die "$c is needed"
	done
}

# free_port: a TCP port on 127.0.0.1 that nobody listens on now.
free_port() {
	python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# port_open PORT: whether something listens on 127.0.0.1:PORT.
port_open() {
	python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1"
}

# until_ok SECONDS COMMAND...: run COMMAND until it succeeds; fails when
# it did not within SECONDS.
until_ok() {
	t=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		t=$((t - 1))
		[ $t -le 0 ] && return 1
		sleep 0.1
	done
	return 0
}

# now_ms: a monotonic clock in milliseconds.
now_ms() {
	python3 -c 'import time; print(int(time.monotonic() * 1000))'
}

# stop_pids: SIGTERM to every process in $pids, then wait for each.
stop_pids() {
	for p in $pids; do
		kill -TERM "$p" 2>/dev/null || :
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || :
	done
	pids=""
}

# mosquitto_conf FILE PORT: a broker for anyone on 127.0.0.1:PORT only.
mosquitto_conf() {
	printf 'listener %s 127.0.0.1\nallow_anonymous true\n%s\n' "$2" \
	    'persistence false' >"$1"
}

# sim_ctl SOCKET COMMAND: one line to zotad-sim's control socket; fails,
# saying the answer, unless it is ok.
sim_ctl() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
r = s.makefile().readline().strip()
sys.exit(0 if r == "ok" else r)' "$1" "$2"
}

# zotad_users DIR...: started as root the daemons drop to nobody, who
# must own DIR...; prints the zotad: lines that say so, or nothing.
zotad_users() {
	[ "$(id -u)" = 0 ] || return 0
	chown nobody "$@" || return 1
	printf '  user_radio: nobody\n  user_fetch: nobody\n'
	printf '  user_mqtt: nobody\n'
}

# demo_conf FILE DIR PORT USERS: the configuration make run makes for the
# demo scenario (config/demo/scenario.json) with its pty at DIR/tty, its
# dirs in DIR, the broker on PORT and the override index beside FILE;
# USERS are zotad_users' lines.
demo_conf() {
	cat >"$1" <<EOF
# zotad against zotad-sim and a private broker.
mqtt:
  base_topic: zigbee2mqtt
  server: mqtt://127.0.0.1:$3
serial:
  port: $2/tty
ota:
  zigbee_ota_override_index_location: override.json
  image_block_response_delay: 50
  default_maximum_data_size: 64
devices:
  '0x00124b00beef0001':
    friendly_name: bulb-old
  '0x00124b00beef0002':
    friendly_name: bulb-current
  '0x00124b00beef0003':
    friendly_name: remote
homeassistant:
  enabled: true
zotad:
  state_dir: $2/state
  cache_dir: $2/cache
  run_dir: $2/run
  # Nothing leaves this machine: the public index is not asked.
  index_url: http://127.0.0.1:9/index.json
  downgrade_index_url: http://127.0.0.1:9/index1.json
$4
EOF
}
