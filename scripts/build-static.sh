#!/usr/bin/env bash
# Builds static rbgpd and rbgpctl for this machine's architecture, for the
# image and the Debian package (one build serves both):
#
#   scripts/build-static.sh      -> prints the directory of the binaries
#
# With the musl target when it is installed, else glibc with crt-static.
# Fails when a binary is not static or does not run.
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(rustc -vV | sed -n 's/^host: //p')
arch=${host%%-*}
if rustup target list --installed 2>/dev/null | grep -qx "$arch-unknown-linux-musl"; then
    target=$arch-unknown-linux-musl
    flags=""
else
    target=$host
    flags="-C target-feature=+crt-static"
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
echo "build-static.sh: building rbgpd, rbgpctl for $target ${flags:+($flags)}" >&2
RUSTFLAGS="${RUSTFLAGS:-} $flags" cargo build --release --locked -p bgpd --bins --target "$target" >&2
bin="$CARGO_TARGET_DIR/$target/release"

for b in rbgpd rbgpctl; do
    info=$(file -L "$bin/$b")
    echo "build-static.sh: $info" >&2
    if ! grep -qE 'statically linked|static-pie linked' <<<"$info"; then
        echo "build-static.sh: $b is not static" >&2
        exit 1
    fi
done
"$bin/rbgpctl" --version >/dev/null
echo "$bin"
