#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Runs each test program (cmocka binaries and shell scripts, all speaking
# TAP), prints one line per program and the totals, and fails if any test
# failed or any program exited non-zero.

: "${BUILD:=build}"
PATH="$PWD/$BUILD/bin:$PATH"
CMOCKA_MESSAGE_OUTPUT=TAP
export PATH BUILD CMOCKA_MESSAGE_OUTPUT

logdir="$BUILD/test-logs"
mkdir -p "$logdir"
pass=0 fail=0 skip=0 bad=0

for t in "$@"; do
	name=$(basename "$t")
	log="$logdir/$name.log"
	case "$t" in
	*.sh)	sh "$t" >"$log" 2>&1 ;;
	*)	"$t" >"$log" 2>&1 ;;
	esac
	rc=$?
	# cmocka reports a skipped case as "not ok N # SKIP".
	s=$(grep -Eci '^(not )?ok .*# skip' "$log")
	p=$(grep -Evi '# skip' "$log" | grep -c '^ok ')
	f=$(grep -Evi '# skip' "$log" | grep -c '^not ok ')
	status=ok
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		status=FAILED
		[ "$f" -eq 0 ] && f=1	# it died before reporting
		bad=$((bad + 1))
		sed 's/^/    /' "$log"
	fi
	printf '%-28s %-6s %3d passed, %d failed, %d skipped\n' \
	    "$name" "$status" "$p" "$f" "$s"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
done

echo "logs in $logdir"
echo "$pass passed, $fail failed, $skip skipped"
[ "$bad" -eq 0 ]
