# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# TAP for the shell tests; a test sources it first:
#
#   . "$(dirname "$0")/tap.sh"
#
# and then reports each test with ok, not_ok, skip, check, check_status
# or check_json, and ends with tap_end, which prints the plan and makes
# the script fail when a test did. n counts the tests, failed those that
# failed. What the test may set:
#
#   tap_why     a file whose lines not_ok shows as comments: what the
#               failing command said (check fills it);
#   tap_label   words put before each of those lines ("stderr: ");
#   tap_fresh   when not empty, ok empties tap_why, so that a later
#               failure shows only what was said after this success;
#   tap_json    the file of JSON check_json reads.

n=0
failed=0
tap_why=
tap_label=
tap_fresh=
tap_json=

# ok WHAT: a test passed.
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
	if [ -n "$tap_fresh" ] && [ -n "$tap_why" ]; then
		: >"$tap_why"
	fi
}

# not_ok WHAT: a test failed; what tap_why holds follows it.
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	if [ -n "$tap_why" ] && [ -s "$tap_why" ]; then
		awk -v p="# $tap_label" '{ print p $0 }' "$tap_why"
	fi
}

# skip WHY: a test that cannot run here.
skip() {
	n=$((n + 1))
	echo "ok $n # SKIP $1"
}

# check WHAT COMMAND...: a test that passes when COMMAND succeeds; its
# output goes to tap_why when set.
check() {
	what=$1
	shift
	[ -n "$tap_why" ] && : >"$tap_why"
	if "$@" >>"${tap_why:-/dev/null}" 2>&1; then
		ok "$what"
	else
		not_ok "$what"
	fi
}

# check_status WHAT STATUS WANTED: a test that passes when a command's
# exit status, STATUS, was WANTED.
check_status() {
	if [ "$2" -eq "$3" ]; then ok "$1"; else not_ok "$1 (exit $2)"; fi
}

# check_json WHAT PYTHON [ARG...]: a test that passes when PYTHON, run
# with the JSON of the file tap_json as d (and the ARGs as
# sys.argv[2:]), raises nothing; what it raised follows a failure.
check_json() {
	what=$1
	code=$2
	shift 2
	if err=$(python3 -c "import json, sys
d = json.load(open(sys.argv[1], encoding='utf-8'))
$code" "$tap_json" "$@" 2>&1 >/dev/null); then
		ok "$what"
	else
		not_ok "$what"
		printf '%s\n' "$err" | sed 's/^/# /'
	fi
}

# tap_end: the plan; fails when a test failed.
tap_end() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
