#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Every manual page is clean under "mandoc -Tlint", the daemons' pages
# show the options the daemons have, and the configuration page every
# key. mandoc only finds the pages an .Xr names among installed manuals,
# so references between zotad's own pages are the one message allowed.
# Prints TAP.

pages="zotad-radio.8 zotad-fetch.8 zotad-mqtt.8 zotadctl.8
zotad-configuration.5"
own='referenced manual not found: Xr '
own="$own(zotad-radio|zotad-fetch|zotad-mqtt|zotadctl|zotad-configuration) [58]"
# Run from the repository root, alone or by make check.
PATH="$PWD/${BUILD:-build}/bin:$PATH"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/tap.sh"

for p in $pages; do
	if [ ! -f "man/$p" ]; then
		not_ok "man/$p exists"
		continue
	fi
	if ! command -v mandoc >/dev/null 2>&1; then
		skip "mandoc not installed (make deps)"
		continue
	fi
	# Messages about the page name it; others concern the system's
	# own manual database.
	mandoc -Tlint "man/$p" 2>&1 | grep "^mandoc: man/$p:" |
	    grep -Ev "$own" >"$tmp/lint"
	if [ -s "$tmp/lint" ]; then
		not_ok "man/$p is clean under mandoc -Tlint"
		sed 's/^/# /' "$tmp/lint"
	else
		ok "man/$p is clean under mandoc -Tlint"
	fi
done

# Each daemon's synopsis is its usage line, and the configuration page
# documents every key the parser's tables know.
for d in zotad-radio zotad-fetch zotad-mqtt; do
	usage=$("$d" -x 2>&1 | sed -n 's/^usage: [^ ]* //p')
	if [ "$usage" = "[-dnv] [-f configuration.yaml]" ] &&
	    grep -q '^\.Op Fl dnv$' "man/$d.8" &&
	    grep -q '^\.Op Fl f Ar configuration.yaml$' "man/$d.8"; then
		ok "man/$d.8 shows the options $d has"
	else
		not_ok "man/$d.8 shows the options $d has"
		echo "# $d says: $usage"
	fi
done

# Every command zotadctl's usage lists has its place in the synopsis,
# with each long option it names.
cmds=$(zotadctl 2>&1 | sed -n 's/^[[:space:]]*zotadctl \([a-z-]*\).*/\1/p')
missing=
for c in $cmds; do
	grep -Eq "^\.Cm $c( |\$)" man/zotadctl.8 || missing="$missing $c"
done
for o in $(zotadctl 2>&1 | grep -o -- '--[a-z-]*' | sort -u); do
	grep -Eq "^\.Op .*Fl -${o#--}( |\$)|^\.Fl -${o#--}( |\$)" \
	    man/zotadctl.8 || missing="$missing $o"
done
if [ -n "$cmds" ] && [ -z "$missing" ]; then
	ok "zotadctl.8 shows every command and option zotadctl has"
else
	not_ok "zotadctl.8 shows every command and option zotadctl has"
	echo "# missing:$missing"
fi

keys=$(sed -n 's/.*\.name = "\([a-z_]*\)".*/\1/p' common/config.c | sort -u)
missing=
for k in $keys; do
	[ "$k" = homeassistant ] && continue	# the section as a boolean
	grep -E '^\.It Ic ' man/zotad-configuration.5 | grep -qw "$k" ||
	    missing="$missing $k"
done
if [ -n "$keys" ] && [ -z "$missing" ]; then
	ok "zotad-configuration.5 documents every configuration key"
else
	not_ok "zotad-configuration.5 documents every configuration key"
	echo "# missing:$missing"
fi

# Every number in a key's allowed values (its range, its list length) is
# in that key's entry, so that a range changed in the parser shows here.
if ! command -v python3 >/dev/null 2>&1; then
	skip "python3 not installed"
elif python3 - common/config.c man/zotad-configuration.5 \
    >"$tmp/ranges" 2>&1 <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
man = open(sys.argv[2]).read()
entries = {}
for item in re.split(r"\n(?=\.It )", man):
	if item.startswith(".It Ic "):
		head = item.split("\n", 1)[0][len(".It Ic "):]
		for k in re.findall(r"[a-z_]+", head):
			entries.setdefault(k, []).append(item)
bad = 0
for m in re.finditer(r'\{\s*\.name = "([a-z_]+)"(.*?)\}', src, re.S):
	name, body = m.group(1), m.group(2)
	a = re.search(r'\.allowed = "([^"]*)"', body)
	if a is None:
		continue
	text = "\n".join(entries.get(name, []))
	for num in re.findall(r"\d+", a.group(1)):
		if not re.search(r"(?<![\d.])" + num + r"(?!\d)", text):
			print("%s: %s (the parser allows: %s)" %
			    (name, num, a.group(1)))
			bad = 1
sys.exit(bad)
EOF
then
	ok "zotad-configuration.5 gives each key the parser's range"
else
	not_ok "zotad-configuration.5 gives each key the parser's range"
	sed 's/^/# /' "$tmp/ranges"
fi

tap_end
