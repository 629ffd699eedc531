#!/usr/bin/env bash
# Lays out the image's root filesystem in DIR, from static rbgpd and
# rbgpctl built for this machine's architecture (scripts/build-static.sh):
#
#   docker/stage-rootfs.sh DIR
#
# - /usr/local/bin/rbgpd with CAP_NET_ADMIN, CAP_NET_BIND_SERVICE and
#   CAP_NET_RAW as permitted file capabilities (not effective: rbgpd raises
#   them itself, so a container without --cap-add=NET_ADMIN still starts,
#   with the FIB off), and /usr/local/bin/rbgpctl;
# - the user and group rbgpd (65532) in /etc/passwd and /etc/group;
# - /etc/rbgpd/rbgpd.toml (config.example.toml), /run/rbgpd owned by
#   rbgpd for the control socket, /tmp.
#
# Used by docker/build.sh (offline, on the host) and by the builder stage
# of docker/Dockerfile: one recipe for both images.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: docker/stage-rootfs.sh DIR}
uid=65532

bin=$(./scripts/build-static.sh)

mkdir -p "$out/usr/local/bin" "$out/etc/rbgpd" "$out/run/rbgpd" "$out/tmp"
cp "$bin/rbgpd" "$bin/rbgpctl" "$out/usr/local/bin/"
# The image needs no debug info (the host build keeps it).
strip --strip-debug "$out/usr/local/bin/rbgpd" "$out/usr/local/bin/rbgpctl"
setcap cap_net_admin,cap_net_bind_service,cap_net_raw+p "$out/usr/local/bin/rbgpd"
cp config.example.toml "$out/etc/rbgpd/rbgpd.toml"
printf 'root:x:0:0:root:/root:/sbin/nologin\nrbgpd:x:%s:%s:rbgpd:/nonexistent:/sbin/nologin\n' \
    "$uid" "$uid" >"$out/etc/passwd"
printf 'root:x:0:\nrbgpd:x:%s:\n' "$uid" >"$out/etc/group"
chown "$uid:$uid" "$out/run/rbgpd"
chmod 0755 "$out/run/rbgpd"
chmod 1777 "$out/tmp"
echo "stage-rootfs.sh: root filesystem in $out" >&2
