#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# zotadctl index add and match, run as a user would: JSON on stdout,
# errors on stderr, exit 0 (done, image available), 1 (invalid file or
# index, no image available), 2 (usage, unreadable). Prints TAP. The
# real zigbee-OTA index is used when the fixture folder is present.

fixtures=${ZOTAD_FIXTURES:-../shared/fixtures/zigbee-ota}
data=tests/data/index
. "$(dirname "$0")/zotadctl.sh"

make_image() {
	zotadctl image make --manufacturer-code 0x1234 --image-type 0x42 \
	    --file-version "$2" --size 1000 --header-string widget \
	    "$1" >/dev/null 2>"$tmp/err"
}

sha512() {
	sha512sum "$1" | cut -d' ' -f1
}

# Usage errors.
run index; check_status "index without subcommand is a usage error" $? 2
run index frobnicate; check_status "unknown subcommand is a usage error" $? 2
run index add; check_status "add without files is a usage error" $? 2
run index add --base-url ftp://example.org/ x.ota
check_status "add with a base url that is not http(s) is a usage error" $? 2
run index match "$data/index.json" --image-type 1 --file-version 1
check_status "match without --manufacturer-code is a usage error" $? 2
run index match "$data/index.json" --manufacturer-code 1x \
    --image-type 1 --file-version 1
check_status "match with a bad number is a usage error" $? 2
run index match "$data/index.json" --manufacturer-code 0x10000 \
    --image-type 1 --file-version 1
check_status "match with a manufacturer code over 0xffff is a usage error" $? 2

# index add.
mkdir "$tmp/ota"
make_image "$tmp/ota/widget 100%.ota" 5 || not_ok "image make"
run index add --base-url https://ota.example.org/fw "$tmp/ota/widget 100%.ota"
check_status "add one file" $? 0
check_json "add prints the entry the zigbee-OTA tooling would" '
e, = d
assert e["fileName"] == "widget 100%.ota", e
assert e["url"] == "https://ota.example.org/fw/widget%20100%25.ota", e
assert e["fileVersion"] == 5 and e["fileSize"] == 1000, e
assert e["imageType"] == 0x42 and e["manufacturerCode"] == 0x1234, e
assert e["otaHeaderString"] == "widget", e
assert e["sha512"] == sys.argv[2], e
assert list(e) == ["fileName", "fileVersion", "fileSize", "url",
    "imageType", "manufacturerCode", "sha512", "otaHeaderString"], list(e)
' "$(sha512 "$tmp/ota/widget 100%.ota")"

run index add "$tmp/ota/widget 100%.ota"
check_status "add without a base url" $? 0
check_json "without a base url the url is the absolute path" '
assert d[0]["url"] == sys.argv[2], d[0]["url"]
' "$(cd "$tmp/ota" && pwd -P)/widget 100%.ota"

printf 'not an OTA file at all, just text\n' >"$tmp/ota/junk.ota"
run index add "$tmp/ota/widget 100%.ota" "$tmp/ota/junk.ota"
check_status "add of a file that is not an OTA image exits 1" $? 1
if grep -q "junk.ota" "$tmp/err" && [ ! -s "$tmp/out" ]; then
	ok "the invalid file is named on stderr, nothing on stdout"
else
	not_ok "the invalid file is named on stderr, nothing on stdout"
fi
run index add "$tmp/ota/missing.ota"
check_status "add of a missing file exits 2" $? 2

# index add --append.
idx="$tmp/ota/override.json"
run index add --append "$idx" "$tmp/ota/widget 100%.ota"
check_status "append creates a missing index" $? 0
make_image "$tmp/ota/second.ota" 7
run index add --append "$idx" "$tmp/ota/second.ota"
check_status "append a second file" $? 0
cp "$idx" "$tmp/out"
check_json "the index holds both files in order" '
assert [e["fileName"] for e in d] == ["widget 100%.ota", "second.ota"], d
'
# A hand-written restriction, then the first file rebuilt under its name.
python3 -c "import json, sys
d = json.load(open(sys.argv[1]))
d[0]['modelId'] = 'W-1'
d[0]['releaseNotes'] = 'by hand'
json.dump(d, open(sys.argv[1], 'w'))" "$idx"
chmod 640 "$idx"
make_image "$tmp/ota/widget 100%.ota" 6
run index add --append "$idx" "$tmp/ota/widget 100%.ota"
check_status "append a file already in the index" $? 0
cp "$idx" "$tmp/out"
check_json "the entry is refreshed in place, hand-written fields kept" '
assert len(d) == 2, d
e = d[0]
assert e["fileName"] == "widget 100%.ota" and e["fileVersion"] == 6, e
assert e["sha512"] == sys.argv[2], e
assert e["modelId"] == "W-1" and e["releaseNotes"] == "by hand", e
assert d[1]["fileName"] == "second.ota", d
' "$(sha512 "$tmp/ota/widget 100%.ota")"
if [ "$(stat -c %a "$idx")" = 640 ]; then
	ok "append keeps the index file's permissions"
else
	not_ok "append keeps the index file's permissions"
fi
if [ "$(ls -A "$tmp/ota" | grep -c tmp)" -eq 0 ]; then
	ok "append leaves no temporary file behind"
else
	not_ok "append leaves no temporary file behind"
fi

printf '{"not": "an array"}' >"$tmp/bad.json"
run index add --append "$tmp/bad.json" "$tmp/ota/second.ota"
check_status "append to a file that is not an index exits 1" $? 1
if grep -q "not a JSON array" "$tmp/err" &&
    [ "$(cat "$tmp/bad.json")" = '{"not": "an array"}' ]; then
	ok "the bad index is named and left untouched"
else
	not_ok "the bad index is named and left untouched"
fi

# index match against the small index in the repository.
run index match "$data/index.json" --manufacturer-code 0x1234 \
    --image-type 0x42 --file-version 6
check_status "match finds an image" $? 0
check_json "the highest applicable version is chosen and the others explained" '
assert d["available"] is True, d
assert d["chosen"]["fileName"] == "widget-9.ota", d["chosen"]
assert d["chosen"]["source"] == "main" and d["chosen"]["position"] == 1
why = {c["fileName"]: c["excludedBy"] for c in d["candidates"]}
assert why["widget-5.ota"] == ["fileVersion not newer"], why
assert why["widget-hw2.ota"] == ["hardwareVersion unknown"], why
assert "gadget.ota" not in why and "broken.ota" not in why, why
'
if grep -q 'index.json\[4\] skipped: fileVersion: not a number' "$tmp/err" &&
    grep -q 'index.json\[5\] skipped: url "file:///etc/passwd"' "$tmp/err"
then
	ok "bad entries are skipped with a warning naming index and position"
else
	not_ok "bad entries are skipped with a warning naming index and position"
fi

run index match "$data/index.json" --manufacturer-code 0x1234 \
    --image-type 0x42 --file-version 6 --hardware-version 2
check_status "match with a hardware version" $? 0
check_json "the hardware-bound entry applies to its hardware" '
assert d["chosen"]["fileName"] == "widget-hw2.ota", d["chosen"]
assert d["device"]["hardwareVersion"] == 2, d["device"]
'

run index match "$data/index.json" --manufacturer-code 0x1234 \
    --image-type 0x42 --file-version 4
check_status "match under minFileVersion still finds the first step" $? 0
check_json "the staged entry is excluded by minFileVersion" '
assert d["chosen"]["fileName"] == "widget-5.ota", d["chosen"]
c = [c for c in d["candidates"] if c["fileName"] == "widget-9.ota"][0]
assert c["excludedBy"] == ["minFileVersion"], c
assert "below minFileVersion" in c["reason"], c
'

run index match "$data/index.json" --manufacturer-code 0x1234 \
    --image-type 0x43 --file-version 1 --model-id GADGET-2
check_status "match with another model id finds no image" $? 1
check_json "no image, and the model id is named as the reason" '
assert d["available"] is False and "chosen" not in d, d
c, = d["candidates"]
assert c["excludedBy"] == ["modelId"], c
assert "GADGET-1" in c["reason"] and "GADGET-2" in c["reason"], c
'

run index match "$data/index.json" --manufacturer-code 0x1234 \
    --image-type 0x42 --file-version 20 --hardware-version 2
check_status "match at the newest version finds no image" $? 1

run index match "$data/index.json" --manufacturer-code 0x1234 \
    --image-type 0x42 --file-version 9 --downgrade
check_status "match --downgrade finds an older image" $? 0
check_json "a downgrade takes the smallest step back" '
assert d["chosen"]["fileName"] == "widget-5.ota", d["chosen"]
assert d["device"]["mode"] == "downgrade", d
'

run index match "$data/index.json" --manufacturer-code 0x5678 \
    --image-type 1 --file-version 1
check_status "match of an unknown device finds no image" $? 1
check_json "the reason says no entry exists for it" '
assert d["candidates"] == [] and "no entry" in d["reason"], d
'

run index match "$tmp/bad.json" --manufacturer-code 1 --image-type 1 \
    --file-version 1
check_status "match against a file that is not an index exits 1" $? 1
run index match "$tmp/missing.json" --manufacturer-code 1 --image-type 1 \
    --file-version 1
check_status "match against a missing index exits 2" $? 2

# The override index built above names local files.
run index match --override "$idx" "$data/index.json" \
    --manufacturer-code 0x1234 --image-type 0x42 --file-version 6
check_status "match with an override" $? 0
check_json "the override entry wins over a newer main entry" '
assert d["chosen"]["source"] == "override", d["chosen"]
assert d["chosen"]["fileName"] == "second.ota", d["chosen"]
m = [c for c in d["candidates"] if c["source"] == "main"]
assert [c["excludedBy"] for c in m if c["fileName"] == "widget-9.ota"] \
    == [["outranked"]], m
'

mkdir "$tmp/elsewhere"
mv "$tmp/ota/second.ota" "$tmp/elsewhere/second.ota"
ln -s ../elsewhere/second.ota "$tmp/ota/second.ota"
printf '[{"url": "../elsewhere/second.ota"}, {"url": "second.ota"}]' \
    >"$tmp/ota/escape.json"
run index match --override "$tmp/ota/escape.json" "$data/index.json" \
    --manufacturer-code 0x1234 --image-type 0x42 --file-version 6
check_status "match with an override that escapes its directory" $? 0
if [ "$(grep -c 'outside the directories allowed' "$tmp/err")" -eq 2 ]
then
	ok "both the .. and the symbolic link escape are refused"
else
	not_ok "both the .. and the symbolic link escape are refused"
fi
check_json "the main index decides when no override entry is left" '
assert d["chosen"]["source"] == "main", d["chosen"]
'

# The real zigbee-OTA index: a Hue staged upgrade chain.
if [ -r "$fixtures/index.json" ]; then
	run index match "$fixtures/index.json" --manufacturer-code 0x100b \
	    --image-type 0x0114 --file-version 0x01001300
	check_status "match against the real index" $? 0
	check_json "the Hue chain offers the next step only" '
assert d["chosen"]["fileName"] == \
    "100B-0114-01001304-ConfLightBLE-Lamps-EFR32MG21.zigbee", d["chosen"]
assert len(d["candidates"]) == 5, d["candidates"]
'
	run index match "$fixtures/index1.json" --downgrade \
	    --manufacturer-code 0x100b --image-type 0x0114 \
	    --file-version 0x01002a00
	check_status "downgrade against the real downgrade index" $? 0
	check_json "the previous Hue image is offered" '
assert d["chosen"]["fileVersion"] == 0x01002800, d["chosen"]
'
else
	skip "fixtures not found at $fixtures (set ZOTAD_FIXTURES)"
	skip "fixtures not found at $fixtures (set ZOTAD_FIXTURES)"
	skip "fixtures not found at $fixtures (set ZOTAD_FIXTURES)"
	skip "fixtures not found at $fixtures (set ZOTAD_FIXTURES)"
fi

tap_end
