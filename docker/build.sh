#!/usr/bin/env bash
# Builds the rbgpd image offline, from binaries built on this host (no
# registry is needed: nothing is pulled):
#
#   docker/build.sh [TAG]        (default tag: rbgpd:latest)
#
# 1. docker/stage-rootfs.sh lays out the root filesystem (static binaries,
#    file capabilities, user rbgpd, config) in a scratch directory.
# 2. It goes into the build context as rootfs.tar, with its extended
#    attributes: ADD keeps file capabilities where COPY drops them.
# 3. docker build --target prebuilt: the `prebuilt` stage of
#    docker/Dockerfile (the same image as its default target, which builds
#    the binaries in a Rust image instead).
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-rbgpd:latest}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)

ctx=$(mktemp -d /tmp/rb-docker.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
./docker/stage-rootfs.sh "$ctx/rootfs"
tar --xattrs --xattrs-include=security.capability --numeric-owner \
    -C "$ctx/rootfs" -cf "$ctx/rootfs.tar" .
rm -rf "$ctx/rootfs"

docker build --target prebuilt --build-arg "VERSION=$version" \
    --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
    -t "$tag" -f docker/Dockerfile "$ctx"
docker image inspect "$tag" --format 'build.sh: image {{.RepoTags}} {{.Size}} bytes, user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}'
