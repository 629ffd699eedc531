#!/usr/bin/env bash
# Tears the lab down: the router container (docker variants) and the lab's
# Docker networks are removed,
# every process inside a namespace named rb-* is
# stopped (by PID: TERM, then KILL), every rb-* namespace is deleted (which
# removes its veths and bridges), and the lab directory /tmp/rb-lab goes.
set -euo pipefail

dir=/tmp/rb-lab
[[ "${1:-}" == "--dir" && -n "${2:-}" ]] && dir=$2

# The router containers of `--router docker` and `--router docker-networks`
# (by their names), and the Docker networks kind and kind2 when the lab made
# them (labelled org.rbgpd.e2e=lab; a network of someone else's is kept).
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    for ctr in rb-router-ctr rb-bgp-router; do
        if docker inspect "$ctr" >/dev/null 2>&1; then
            docker rm -f "$ctr" >/dev/null && echo "lab-down: removed container $ctr"
        fi
    done
    for net in kind kind2; do
        label=$(docker network inspect "$net" -f '{{index .Labels "org.rbgpd.e2e"}}' 2>/dev/null || true)
        if [[ "$label" == "lab" ]]; then
            docker network rm "$net" >/dev/null && echo "lab-down: removed Docker network $net"
        fi
    done
fi

mapfile -t spaces < <(ip netns list 2>/dev/null | awk '{print $1}' | grep '^rb-' || true)
for ns in "${spaces[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n "$pids" ]]; then
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
    fi
done
if ((${#spaces[@]})); then
    for _ in $(seq 30); do
        left=""
        for ns in "${spaces[@]}"; do left+=$(ip netns pids "$ns" 2>/dev/null || true); done
        [[ -z "$left" ]] && break
        sleep 0.1
    done
fi
for ns in "${spaces[@]}"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    if [[ -n "$pids" ]]; then
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
    fi
    ip netns del "$ns" 2>/dev/null || true
done
echo "lab-down: removed namespaces: ${spaces[*]:-none}"
case "$dir" in
    /tmp/rb-*) rm -rf "$dir" ;;
esac
