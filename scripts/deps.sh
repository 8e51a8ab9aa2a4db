#!/bin/sh
# Copyright (c) 2026 The zotad authors. ISC licence, see LICENSE.
#
# Installs the Debian 12 packages that zotad's build, tests and demo need,
# only those missing.

PKGS="build-essential pkg-config clang
libevent-dev libmosquitto-dev libcjson-dev libcurl4-openssl-dev
libserialport-dev libseccomp-dev libyaml-dev libssl-dev libsystemd-dev
libcmocka-dev mosquitto mosquitto-clients python3 procps mandoc
systemd"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)
	case "$st" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing:$missing" >&2
	echo "deps: run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q || exit 1
apt-get install -y -q --no-install-recommends $missing || exit 1
