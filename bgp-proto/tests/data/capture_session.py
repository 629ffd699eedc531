# A tiny scripted BGP speaker: accepts one connection on 127.0.0.1:PORT,
# answers the peer's OPEN with ours and a KEEPALIVE, then runs the given
# steps and appends every message the peer sends as "hex" lines to OUT.
# Steps: "wait:SECS" read for SECS; "send:HEX" send a message;
# "run:CMD" run a shell command (e.g. to make the peer act).
import socket, struct, subprocess, sys, time
port, out, steps = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
OPEN = bytes.fromhex(
    "ffffffffffffffffffffffffffffffff" "0041" "01" "04" "fde8" "005a" "ac120005" "24"
    "0222" "0104 00010001" "0104 00020001" "0200" "4600" "4104 0000fde8"
    "400a 4078 00010100 00020100".replace(" ", ""))
assert len(OPEN) == int.from_bytes(OPEN[16:18], "big"), len(OPEN)
KA = b"\xff" * 16 + b"\x00\x13\x04"
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(1); s.settimeout(60)
c, _ = s.accept()
buf = b""
log = open(out, "w")
def read_for(secs):
    global buf
    end = time.time() + secs
    while time.time() < end:
        c.settimeout(max(0.05, end - time.time()))
        try:
            d = c.recv(65536)
        except socket.timeout:
            break
        if not d:
            print("peer closed"); break
        buf += d
        while len(buf) >= 19 and len(buf) >= int.from_bytes(buf[16:18], "big"):
            n = int.from_bytes(buf[16:18], "big")
            m, buf = buf[:n], buf[n:]
            print("got type", m[18], "len", n); log.write(m.hex() + "\n"); log.flush()
read_for(2)
c.sendall(OPEN + KA)
for st in steps:
    kind, _, arg = st.partition(":")
    if kind == "wait": read_for(float(arg))
    elif kind == "send": c.sendall(bytes.fromhex(arg))
    elif kind == "run": subprocess.run(arg, shell=True)
    elif kind == "ka": c.sendall(KA)
read_for(1)
