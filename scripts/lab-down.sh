#!/usr/bin/env bash
# Tears the lab down: the router container (docker variant) is removed,
# every process inside a namespace named rb-* is
# stopped (by PID: TERM, then KILL), every rb-* namespace is deleted (which
# removes its veths and bridges), and the lab directory /tmp/rb-lab goes.
set -euo pipefail

dir=/tmp/rb-lab
[[ "${1:-}" == "--dir" && -n "${2:-}" ]] && dir=$2

# The router container of `--router docker`, if any (by its name).
if command -v docker >/dev/null 2>&1; then
    if docker inspect rb-router-ctr >/dev/null 2>&1; then
        docker rm -f rb-router-ctr >/dev/null && echo "lab-down: removed container rb-router-ctr"
    fi
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
