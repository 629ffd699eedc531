#!/usr/bin/env bash
# Builds the rbgpd image FROM scratch.
#
#   docker/build.sh [TAG]        (default tag: rbgpd:latest)
#
# 1. Builds static rbgpd and rbgpctl on the host: with the musl target if
#    it is installed, else glibc with crt-static.
# 2. Checks they are static and run (rbgpctl --help).
# 3. Stages a build context (binaries, config.example.toml as
#    /etc/rbgpd/rbgpd.toml, an empty /run/rbgpd and /tmp) and runs
#    docker build with docker/Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-rbgpd:latest}

if rustup target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl; then
    target=x86_64-unknown-linux-musl
    flags=""
else
    target=x86_64-unknown-linux-gnu
    flags="-C target-feature=+crt-static"
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
echo "build.sh: building rbgpd, rbgpctl for $target ${flags:+($flags)}"
RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --release -p bgpd --bins --target "$target"
bin="$CARGO_TARGET_DIR/$target/release"

for b in rbgpd rbgpctl; do
    info=$(file -L "$bin/$b")
    echo "build.sh: $info"
    if ! grep -qE 'statically linked|static-pie linked' <<<"$info"; then
        echo "build.sh: $b is not static" >&2
        exit 1
    fi
done
"$bin/rbgpctl" --help >/dev/null 2>&1 || "$bin/rbgpctl" >/dev/null 2>&1 || {
    rc=$?
    # A CLI that prints usage and exits 2 still ran; only a crash counts.
    ((rc < 128)) || { echo "build.sh: rbgpctl crashed ($rc)" >&2; exit 1; }
}

ctx=$(mktemp -d /tmp/rb-docker.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp "$bin/rbgpd" "$bin/rbgpctl" "$ctx/"
# The image needs no debug info (the host build keeps it).
command -v strip >/dev/null && strip --strip-debug "$ctx/rbgpd" "$ctx/rbgpctl"
cp config.example.toml "$ctx/rbgpd.toml"
mkdir -p "$ctx/rootfs/run/rbgpd" "$ctx/rootfs/tmp" "$ctx/rootfs/etc/rbgpd"
chmod 1777 "$ctx/rootfs/tmp"

docker build -t "$tag" -f docker/Dockerfile "$ctx"
docker image inspect "$tag" --format 'build.sh: image {{.RepoTags}} {{.Size}} bytes, entrypoint {{.Config.Entrypoint}}'
