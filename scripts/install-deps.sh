#!/usr/bin/env bash
# Install every Debian 12 package that rekey's build, tests and lab need.
# Idempotent and quick when everything is present: it asks dpkg first and runs apt-get only for
# what is missing. Must run as root (the README's commands do).
set -euo pipefail

packages=(
	build-essential cmake pkg-config clang libclang-rt-14-dev valgrind
	libssl-dev libssh2-1-dev libpq-dev libmariadb-dev libarchive-dev libyaml-dev
	libcmocka-dev libjansson-dev
	openssh-server openssh-client postgresql-15 postgresql-client-15
	mariadb-server mariadb-client openssl sudo procps iproute2 python3 python3-yaml diffutils patch
	shellcheck
	# The man pages are rendered and parsed by the tests (tests/doc/man.sh).
	groff-base man-db
	# The .deb: cpack's Depends come from dpkg-shlibdeps (tests/install/deb.sh).
	dpkg-dev
	# examples/ is judged by systemd-analyze verify (systemd: not in Debian's container images)
	# and promtool (prometheus; its server is never started here, see policy-rc.d below).
	systemd prometheus
	# The incident report is rendered by a real browser in the tests (headless).
	chromium
)

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (apt-get installs packages)" >&2
	exit 2
fi

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing+=("$p") ;;
	esac
done

if [ ${#missing[@]} -gt 0 ]; then
	# Packages must never start their own servers on the default ports: the harness starts
	# private instances. policy-rc.d (exit 101) makes invoke-rc.d refuse every start.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
	fi
	echo "install-deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# sshd refuses to start without its privilege separation folder.
mkdir -p /run/sshd
