#!/usr/bin/env bash
# Brings the two-cluster lab up in network namespaces and leaves it
# running: six gobgpd nodes configured like Cilium, and the router (rbgpd
# by default, `--router bird` for the write-up's BIRD 2, `--router docker`
# for the rbgpd image). Prints the
# router's sessions and routes, its kernel table and the HTTP results.
#
#   scripts/lab-up.sh [--router rbgpd|bird|docker] [--gr] [--merge-paths] [--connect-retry S]
#
# `--router docker` builds the FROM-scratch image (docker/build.sh) and
# runs it as the router, its container's namespace wired into the lab.
#
# Then, e.g.:
#   ip netns exec rb-router ip route
#   ip netns exec rb-router target/release/rbgpctl --socket /tmp/rb-lab/rbgpd.sock show peers
#   ip netns exec rb-router birdc -s /tmp/rb-lab/bird.ctl show protocols
#   ip netns exec rb-c1-cp gobgp neighbor
#   ip netns exec rb-c1-cp curl http://10.12.225.247/
# and scripts/lab-down.sh to remove it all.
set -euo pipefail
cd "$(dirname "$0")/.."

router=rbgpd
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    [[ "${args[i]}" == "--router" ]] && router=${args[i + 1]:-rbgpd}
done

./scripts/install-deps.sh
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
case "$router" in
    rbgpd) cargo build --release -p bgpd ;;
    docker | docker-networks) ./docker/build.sh rbgpd:latest ;;
esac
cargo build --release -p e2e --bin lab
exec "$CARGO_TARGET_DIR/release/lab" up "$@"
