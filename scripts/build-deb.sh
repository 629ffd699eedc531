#!/usr/bin/env bash
# Builds the Debian package (cargo-deb; metadata in bgpd/Cargo.toml, unit
# and maintainer scripts in debian/) from the static binaries the image
# is made of (scripts/build-static.sh):
#
#   scripts/build-deb.sh        -> target/debian/rbgpd_<version>-1_<arch>.deb
#
# The same script runs in CI (scripts/test.sh --ci) and in the release
# workflow (.github/workflows/release.yml).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! cargo deb --version >/dev/null 2>&1; then
    echo "build-deb.sh: cargo-deb is not installed (cargo install cargo-deb --locked)" >&2
    exit 1
fi
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
bin=$(./scripts/build-static.sh)
target=$(basename "$(dirname "$bin")")
rm -f "$CARGO_TARGET_DIR"/debian/rbgpd_*.deb
cargo deb -p bgpd --no-build --strip --target "$target" --output "$CARGO_TARGET_DIR/debian/"
ls -l "$CARGO_TARGET_DIR"/debian/rbgpd_*.deb
