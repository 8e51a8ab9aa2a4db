#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# zotadctl image inspect and make, run as a user would: JSON on stdout,
# errors on stderr, exit 0 (fine), 1 (invalid image), 2 (usage, I/O).
# Prints TAP. Real images come from the fixture folder, when present.

fixtures=${ZOTAD_FIXTURES:-../shared/fixtures/zigbee-ota}
images="$fixtures/images"
. "$(dirname "$0")/zotadctl.sh"

# Usage errors.
run image; check_status "image without subcommand is a usage error" $? 2
run image frobnicate; check_status "unknown subcommand is a usage error" $? 2
run image inspect; check_status "inspect without files is a usage error" $? 2
run image inspect "$tmp/missing"
check_status "unreadable file exits 2" $? 2
if grep -q "missing" "$tmp/err" && [ ! -s "$tmp/out" ]; then
	ok "unreadable file is named on stderr, nothing on stdout"
else
	not_ok "unreadable file is named on stderr, nothing on stdout"
fi

# make and inspect a synthetic image.
run image make --manufacturer-code 0x117C --image-type 4114 \
    --file-version 0x01020304 --size 5000 --header-string "zotad synthetic" \
    --hw-min 1 --hw-max 0x0A00 --seed 3 "$tmp/a.ota"
check_status "make writes an image" $? 0
check_json "make reports the image it wrote" "
assert d['valid'] is True and d['fileName'] == 'a.ota'
assert d['fileSize'] == 5000 and d['fileLength'] == 5000"
if [ "$(wc -c <"$tmp/a.ota")" -eq 5000 ]; then
	ok "made file has --size bytes"
else
	not_ok "made file has --size bytes"
fi
run image inspect "$tmp/a.ota"; check_status "inspect a made image" $? 0
check_json "inspect reads back every option" "
assert d['manufacturerCode'] == 0x117C and d['imageType'] == 4114
assert d['fileVersion'] == 0x01020304 and d['fileSize'] == 5000
assert d['otaHeaderString'] == 'zotad synthetic'
assert d['fieldControl'] == 4 and d['headerLength'] == 60
assert d['hardwareVersionMin'] == 1 and d['hardwareVersionMax'] == 0xA00
assert d['stackVersion'] == 2 and d['valid'] is True
assert [(t['tagId'], t['length'], t['offset']) for t in d['tags']] == \
    [(0, 5000 - 66, 60)]
assert d['prefixBytes'] == 0 and d['trailingBytes'] == 0
assert d['servedOffset'] == 0 and d['servedLength'] == 5000
assert len(d['sha512']) == 128 and d['warnings'] == []"
sum=$(python3 -c "import hashlib, sys
print(hashlib.sha512(open(sys.argv[1], 'rb').read()).hexdigest())" \
    "$tmp/a.ota")
check_json "sha512 is that of the whole file" "assert d['sha512'] == '$sum'"

run image make --manufacturer-code 0x117C --image-type 4114 \
    --file-version 0x01020304 --size 5000 --header-string "zotad synthetic" \
    --hw-min 1 --hw-max 0x0A00 --seed 3 "$tmp/b.ota"
if cmp -s "$tmp/a.ota" "$tmp/b.ota"; then
	ok "the same options make the same file"
else
	not_ok "the same options make the same file"
fi
run image make --manufacturer-code 0x117C --image-type 4114 \
    --file-version 0x01020304 --size 5000 --header-string "zotad synthetic" \
    --hw-min 1 --hw-max 0x0A00 --seed 4 "$tmp/c.ota"
if ! cmp -s "$tmp/a.ota" "$tmp/c.ota"; then
	ok "another seed makes other filler"
else
	not_ok "another seed makes other filler"
fi

# make: each bad option is refused, named, and nothing is written.
bad_make() {
	what=$1 opt=$2
	shift 2
	run image make "$@" "$tmp/bad.ota"
	st=$?
	if [ "$st" -eq 2 ] && grep -q -e "$opt" "$tmp/err" &&
	    [ ! -e "$tmp/bad.ota" ]; then
		ok "make refuses $what"
	else
		not_ok "make refuses $what (exit $st)"
	fi
}
base="--image-type 1 --file-version 1 --size 100"
bad_make "a manufacturer code above 0xFFFF" --manufacturer-code \
    --manufacturer-code 0x10000 $base
bad_make "a negative number" --manufacturer-code \
    --manufacturer-code -1 $base
bad_make "a number with junk after it" --file-version \
    --manufacturer-code 1 --image-type 1 --file-version 12z --size 100
bad_make "a file version above 32 bits" --file-version \
    --manufacturer-code 1 --image-type 1 --file-version 0x100000000 \
    --size 100
bad_make "a size too small for header and tag" --size \
    --manufacturer-code 1 --image-type 1 --file-version 1 --size 61
bad_make "a header string over 32 bytes" --header-string \
    --manufacturer-code 1 $base \
    --header-string 0123456789abcdef0123456789abcdefX
bad_make "--hw-min without --hw-max" --hw-min \
    --manufacturer-code 1 $base --hw-min 1
bad_make "reversed hardware bounds" --hw-min \
    --manufacturer-code 1 $base --hw-min 5 --hw-max 4
bad_make "a missing required option" --manufacturer-code $base
bad_make "an unknown option" --colour --colour red \
    --manufacturer-code 1 $base
run image make --manufacturer-code 1 $base
check_status "make without an output file is a usage error" $? 2

# Broken synthetic files: exit 1, the reason in JSON and on stderr.
head -c 4000 "$tmp/a.ota" >"$tmp/cut.ota"
run image inspect "$tmp/cut.ota"; check_status "a cut file is invalid" $? 1
check_json "a cut file says it is truncated" "
assert d['valid'] is False and d['fileLength'] == 4000
assert d['error'] == 'file truncated: total image size is 5000 bytes ' \
    'but only 4000 follow the magic at offset 0', d['error']"
if grep -q "truncated" "$tmp/err"; then
	ok "the reason is on stderr too"
else
	not_ok "the reason is on stderr too"
fi
printf 'not an OTA file at all\n' >"$tmp/text.ota"
run image inspect "$tmp/text.ota"; check_status "a text file is invalid" $? 1
check_json "a text file has no magic" "
assert d['error'].startswith('no OTA upgrade file identifier')"

# Several files give an array; the worst status wins.
run image inspect "$tmp/a.ota" "$tmp/cut.ota"
check_status "one invalid file among several exits 1" $? 1
check_json "several files give an array in order" "
assert [x['fileName'] for x in d] == ['a.ota', 'cut.ota']
assert [x['valid'] for x in d] == [True, False]"
run image inspect "$tmp/a.ota" "$tmp/missing" "$tmp/cut.ota"
check_status "an unreadable file among several exits 2" $? 2
check_json "the readable files are still reported" "
assert [x['fileName'] for x in d] == ['a.ota', 'cut.ota']"

# The real images, checked against the zigbee-OTA index.
if [ ! -d "$images" ]; then
	# As many skips as the checks below, so the plan stays the same.
	for i in 1 2 3 4 5 6 7; do
		skip "fixtures not found at $fixtures (set ZOTAD_FIXTURES)"
	done
	echo "1..$n"
	exit 0
fi

run image inspect "$images"/*
check_status "inspecting every image exits 1 for the truncated one" $? 1
check_json "every image matches its index.json entry" "
idx = {e['fileName']: e for e in json.load(open(sys.argv[2]))}
assert len(d) == 25
for x in d:
    e = idx[x['fileName']]
    assert x['sha512'] == e['sha512'], x['fileName']
    if x['fileName'].startswith('tcl-1-zb-s'):
        assert x['valid'] is False and 'truncated' in x['error']
        continue
    assert x['valid'] is True, x['fileName']
    for k in ('manufacturerCode', 'imageType', 'fileVersion', 'fileSize',
        'otaHeaderString'):
        assert x[k] == e[k], (x['fileName'], k, x[k], e[k])
    assert x['prefixBytes'] + x['servedLength'] + x['trailingBytes'] \
        == x['fileLength']" "$fixtures/index.json"

run image inspect "$images/10035515-TRADFRI-bulb-cws-2.3.093.ota.ota.signed"
check_json "IKEA container: prefix, trailer and served range" "
assert d['container'] == 'ikea'
assert d['prefixBytes'] == 488 and d['trailingBytes'] == 512
assert d['servedOffset'] == 488 and d['servedLength'] == 227500
assert [t['tagId'] for t in d['tags']] == [0, 0xFFBF, 0xFFBE]
assert any('512 bytes' in w for w in d['warnings'])"

run image inspect "$images/PLUG_UK_T-0x00D5-0x03463712-MF_DIS.OTA"
check_json "Telink tag occupies 8 + length bytes" "
assert d['telinkTags'] is True
assert [(t['tagId'], t['length'], t['size']) for t in d['tags']] == \
    [(0xF000, 239664, 239672)]"

run image inspect "$images/ModuLum-ATmega_010B_5.130.1.30000_0012.sbl-ota"
check_status "Hue SBL image is valid" $? 0
check_json "Hue SBL image is served opaquely with a warning" "
assert d['valid'] is True and d['tagsOpaque'] is True
assert d['tags'] == [] and d['servedLength'] == 256632
assert 'not a tag' in d['tagWarning'] and d['warnings']"

run image inspect "$images/tcl-1-zb-s_hw1.x_fw0.6.1_ota20.ota"
check_status "truncated image exits 1" $? 1

tap_end
