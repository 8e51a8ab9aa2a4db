# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# What the zotadctl tests share, sourced first: TAP (tap.sh), a scratch
# directory $tmp removed at exit, and run, which runs zotadctl as a user
# would. A failed test shows what zotadctl said on stderr; check_json
# reads what it printed.

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/tap.sh"
tap_why="$tmp/err"
tap_label="stderr: "
tap_json="$tmp/out"

# run ARGS...: zotadctl ARGS, its output in $tmp/out and $tmp/err.
run() {
	zotadctl "$@" >"$tmp/out" 2>"$tmp/err"
}
