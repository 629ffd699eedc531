# Records the first BGP message a peer sends to 127.0.0.1:PORT, writes it as hex.
import socket, sys, struct
port, out = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(1); s.settimeout(60)
c, a = s.accept(); c.settimeout(30)
buf = b""
while len(buf) < 19 or len(buf) < struct.unpack("!H", buf[16:18])[0]:
    d = c.recv(4096)
    if not d: break
    buf += d
n = struct.unpack("!H", buf[16:18])[0]
open(out, "w").write(buf[:n].hex() + "\n")
print("captured", n, "octets from", a)
c.close()
