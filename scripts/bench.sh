#!/usr/bin/env bash
# Side-by-side benchmark: rbgpd against BIRD 2, GoBGP and FRR (and the
# harness's own null sink), each in its own network namespace.
#
#   scripts/bench.sh                 scenario A, all daemons, 3 runs
#   scripts/bench.sh A B C           several scenarios
#   scripts/bench.sh --fib A B       FIB mode (the daemons write the kernel table)
#   RUNS=5 DAEMONS=rbgpd,bird scripts/bench.sh E
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
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) scenarios+=("$a") ;;
    esac
done
((${#scenarios[@]})) || scenarios=(A)
list=$(IFS=,; echo "${scenarios[*]}")

cargo build --release -p bgpd -p bench
target="${CARGO_TARGET_DIR:-target}"
exec "$target/release/bench" \
    --scenario "$list" \
    --daemons "${DAEMONS:-null,rbgpd,bird,gobgp,frr}" \
    --runs "${RUNS:-3}" \
    --rbgpd "$target/release/rbgpd" \
    "${fib[@]}"
