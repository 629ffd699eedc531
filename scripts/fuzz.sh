#!/usr/bin/env bash
# Runs each fuzz target for a bounded time and fails on a crash.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
# SECONDS defaults to 30 per target; TARGETs default to all of them:
#   bgp-proto/fuzz: decode_frame, decode_open, decode_update (the codec),
#                   fsm_events (the session FSM);
#   bgpd/fuzz:      core_events (the routing core), ctl_request (the
#                   control socket's request parser and answers),
#                   netlink_parse (the FIB's parsers of kernel messages);
#   bfd/fuzz:       bfd_packet (the BFD packet decoder and the session
#                   it feeds).
# Needs cargo-fuzz and a nightly toolchain (`cargo +nightly fuzz`). The
# corpus of each decode target is seeded with the captured messages in
# bgp-proto/tests/data/*.hex. A crash leaves its input in
# CRATE/fuzz/artifacts/TARGET/; turn it into a regression test.
set -euo pipefail

secs="${1:-30}"
[ $# -gt 0 ] && shift
targets=("$@")
all=(decode_frame decode_open decode_update fsm_events core_events ctl_request netlink_parse bfd_packet)
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")

case "$secs" in
  ''|*[!0-9]*) echo "fuzz.sh: SECONDS must be a number, got '$secs'" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
data_dir="$here/../bgp-proto/tests/data"

# The crate whose fuzz folder holds a target.
fuzz_dir_of() {
  case "$1" in
    core_events | ctl_request | netlink_parse) echo "$here/../bgpd/fuzz" ;;
    decode_frame | decode_open | decode_update | fsm_events) echo "$here/../bgp-proto/fuzz" ;;
    bfd_packet) echo "$here/../bfd/fuzz" ;;
    *) echo "fuzz.sh: unknown target '$1' (known: ${all[*]})" >&2; exit 2 ;;
  esac
}

# Seeds from the captured messages in tests/data/*.hex (hex text, '#'
# comments, messages back to back over any number of lines): the whole
# stream for decode_frame, each OPEN body for decode_open, and each UPDATE
# body behind a context octet of 0 for decode_update.
seed() {
  local t="$1" f
  mkdir -p "corpus/$t"
  for f in "$data_dir"/*.hex; do
    [ -e "$f" ] || continue
    perl -e '
      my ($mode, $out) = @ARGV[0, 1];
      local $/; my $t = <STDIN>;
      $t =~ s/#[^\n]*//g; $t =~ s/[^0-9a-fA-F]//g;
      my $b = pack("H*", $t); my $n = 0;
      sub put { open(my $fh, ">", "$out-$n") or die; binmode $fh; print $fh $_[0]; close $fh; }
      if ($mode eq "decode_frame") { put($b); exit; }
      while (length($b) >= 19) {
        my $len = unpack("n", substr($b, 16, 2)); my $type = ord(substr($b, 18, 1));
        last if $len < 19 || $len > length($b);
        my $body = substr($b, 19, $len - 19); $b = substr($b, $len); $n++;
        put($body) if $mode eq "decode_open" && $type == 1;
        put("\0" . $body) if $mode eq "decode_update" && $type == 2;
      }' "$t" "corpus/$t/seed-$(basename "$f" .hex)" < "$f"
  done
}

# Seeds for netlink_parse: this host's route, link and address dumps as
# the kernel sends them (read with Python's netlink socket; none if that
# fails, the fuzzer then starts from nothing).
seed_netlink() {
  mkdir -p corpus/netlink_parse
  python3 - corpus/netlink_parse <<'PY' || true
import os, socket, struct, sys
out = sys.argv[1]
for name, kind, fam in (("route4", 26, 2), ("route6", 26, 10), ("link", 18, 0), ("addr", 22, 0)):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
    body = struct.pack("B3xI", fam, 0) if kind == 18 else struct.pack("BBBBI", fam, 0, 0, 0, 0) + bytes(8 if kind == 26 else 0)
    s.send(struct.pack("=IHHII", 16 + len(body), kind, 0x301, 1, 0) + body)
    data = b""
    while True:
        chunk = s.recv(65536)
        data += chunk
        if len(chunk) < 16 or struct.unpack_from("=H", chunk, 4)[0] in (2, 3) or len(data) > 1 << 20:
            break
        # the last message of a multipart reply is NLMSG_DONE (3)
        off = 0
        done = False
        while off + 16 <= len(chunk):
            ln, ty = struct.unpack_from("=IH", chunk, off)
            if ty == 3 or ln < 16:
                done = True
                break
            off += (ln + 3) & ~3
        if done:
            break
    open(os.path.join(out, "seed-" + name), "wb").write(data)
PY
}

failed=()
for t in "${targets[@]}"; do
  fuzz_dir="$(fuzz_dir_of "$t")"
  cd "$fuzz_dir"
  case "$t" in decode_*) seed "$t" ;; netlink_parse) seed_netlink ;; esac
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
