#!/usr/bin/env bash
# Runs each bgp-proto fuzz target for a bounded time and fails on a crash.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 30 per target; TARGETs default to all of
# decode_frame, decode_open and decode_update. Needs cargo-fuzz and a
# nightly toolchain (`cargo +nightly fuzz`). The corpus of each target is
# seeded with the captured messages in bgp-proto/tests/data/*.hex. A crash
# leaves its input in bgp-proto/fuzz/artifacts/TARGET/; turn it into a
# regression test in bgp-proto/tests/.
set -euo pipefail

secs="${1:-30}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(decode_frame decode_open decode_update)

case "$secs" in
  ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, got '$secs'" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
fuzz_dir="$here/../bgp-proto/fuzz"
data_dir="$here/../bgp-proto/tests/data"
cd "$fuzz_dir"

# Seeds: whole messages for decode_frame, message bodies for decode_open,
# and an UPDATE body (End-of-RIB) behind a context octet for decode_update.
unhex() { perl -ne 's/\s+//g; print pack("H*", $_)'; }

seed() {
  local t="$1"
  mkdir -p "corpus/$t"
  for f in "$data_dir"/*.hex; do
    [ -e "$f" ] || continue
    local name; name="$(basename "$f" .hex)"
    case "$t" in
      decode_frame) unhex < "$f" > "corpus/$t/seed-$name" ;;
      decode_open) unhex < "$f" | tail -c +20 > "corpus/$t/seed-$name" ;;
    esac
  done
  if [ "$t" = decode_update ]; then
    printf '\x00\x00\x00\x00\x00' > "corpus/$t/seed-eor-v4"
  fi
}

failed=()
for t in "${targets[@]}"; do
  seed "$t"
  echo "== fuzzing $t for ${secs}s"
  if ! cargo +nightly fuzz run "$t" -- -max_total_time="$secs" -print_final_stats=1; then
    echo "== $t: CRASH (see $fuzz_dir/artifacts/$t/)" >&2
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crash in ${targets[*]} (${secs}s each)"
