#!/usr/bin/env bash
# Side-by-side benchmark: rbgpd against BIRD 2, GoBGP and FRR (and the
# harness's own null sink), each in its own network namespace.
#
#   scripts/bench.sh                 scenario A, all daemons, 3 runs
#   scripts/bench.sh A B C           several scenarios
#   scripts/bench.sh --fib A B       FIB mode (the daemons write the kernel table),
#                                    with `ip -batch` as the yardstick
#   RUNS=5 DAEMONS=rbgpd,bird scripts/bench.sh E
#   SPREAD=10 scripts/bench.sh D     connects spread over 10 s
#
# Needs root (namespaces) and the daemons installed (scripts/install-deps.sh
# installs bird2, gobgpd and frr). Builds rbgpd and the harness in release
# mode first. Output: a Markdown table per scenario on stdout, progress on
# stderr. Every namespace (rbbench-*) and process is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

fib=()
scenarios=()
for a in "$@"; do
    case "$a" in
        --fib) fib=(--fib) ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) scenarios+=("$a") ;;
    esac
done
((${#scenarios[@]})) || scenarios=(A)
list=$(IFS=,; echo "${scenarios[*]}")

default=null,rbgpd,bird,gobgp,frr
((${#fib[@]})) && default=ip-batch,rbgpd,bird,frr

cargo build --release -p bgpd -p bench
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/bench" \
    --scenario "$list" \
    --daemons "${DAEMONS:-$default}" \
    --runs "${RUNS:-3}" \
    --spread "${SPREAD:-0}" \
    --rbgpd "$target/release/rbgpd" \
    "${fib[@]}"
