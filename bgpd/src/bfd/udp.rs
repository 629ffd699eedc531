//! BFD's UDP sockets: control packets arrive on port 3784 (single hop,
//! RFC 5881) and 4784 (multihop, RFC 5883) of every address, IPv4 and
//! IPv6, with the TTL or hop limit they came with (single hop takes only
//! 255, RFC 5881 §5: no router forwarded them); ours leave from a source
//! port in 49152-65535 with TTL 255: one socket per family, and for
//! multihop one bound to each local address sessions send from (the peer
//! demultiplexes on the address pair).

use crate::sockmsg::{recv_msg, setsockopt, RecvInfo};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Poll;
use tokio::io::unix::AsyncFd;
use tracing::warn;

use ::bfd::{SINGLE_HOP_TTL as BFD_TTL, SOURCE_PORTS};

/// Destination port of single-hop control packets.
pub const SINGLE_HOP_PORT: u16 = ::bfd::CONTROL_PORT;
/// Destination port of multihop control packets.
pub const MULTIHOP_PORT: u16 = ::bfd::MULTIHOP_CONTROL_PORT;
/// A control packet is 24 octets without authentication; longer ones
/// (authentication, which we do not take) are read far enough to count.
const RECV_BUF: usize = 64;
/// Receive buffer of each socket, octets: a thousand sessions coming up
/// together send in bursts that overflow the usual 208 KiB (about 1,000
/// packets of kernel overhead) before the task reads them.
const SOCKET_RCVBUF: libc::c_int = 4 << 20;

/// One datagram: sender, TTL or hop limit, octets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    /// Sender (with its link as scope for a link-local one).
    pub from: SocketAddr,
    /// TTL or hop limit it arrived with.
    pub ttl: Option<u8>,
    /// It came to the multihop port.
    pub multihop: bool,
    /// The packet.
    pub bytes: Vec<u8>,
}

/// The receiving and sending sockets of both families; a family whose
/// sockets cannot be had (no IPv6 in a container) is left out.
pub struct BfdSockets {
    /// Receiving sockets, each with whether it is on the multihop port.
    rx: Vec<(AsyncFd<Socket>, bool)>,
    /// Which receiving socket is polled first next time: in turn, so a
    /// flood on one cannot keep the others from being read.
    first: AtomicUsize,
    tx4: Option<Socket>,
    tx6: Option<Socket>,
    /// Multihop senders by source address (as many as the local
    /// addresses of multihop neighbors).
    bound: HashMap<IpAddr, Socket>,
}

impl BfdSockets {
    /// Opens the sockets on `single_hop` and `multihop` (3784 and 4784;
    /// others for tests). Must be called inside a tokio runtime. Fails
    /// only when no family works.
    pub fn open(single_hop: u16, multihop: u16) -> io::Result<BfdSockets> {
        let mut rx = Vec::new();
        let mut last = None;
        for (port, is_multihop) in [(single_hop, false), (multihop, true)] {
            for any in [
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            ] {
                let addr = SocketAddr::new(any, port);
                match receiver(addr) {
                    Ok(s) => rx.push((s, is_multihop)),
                    Err(e) => {
                        warn!("BFD: cannot receive on {addr}: {e}; its sessions stay down");
                        last = Some(e);
                    }
                }
            }
        }
        if rx.is_empty() {
            return Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::Unsupported)));
        }
        Ok(BfdSockets {
            rx,
            first: AtomicUsize::new(0),
            tx4: sender(IpAddr::V4(Ipv4Addr::UNSPECIFIED)).ok(),
            tx6: sender(IpAddr::V6(Ipv6Addr::UNSPECIFIED)).ok(),
            bound: HashMap::new(),
        })
    }

    /// A datagram already waiting on a receiving socket, if any (without
    /// waiting): the task drains these before it runs expired timers, so
    /// a packet that arrived in time is never late.
    pub fn try_recv(&self) -> Option<Datagram> {
        let mut buf = [0u8; RECV_BUF];
        let n = self.rx.len();
        let first = self.first.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            let Some((s, multihop)) = self.rx.get((first + i) % n) else {
                continue;
            };
            while let Ok(got) = recv_msg(s.get_ref(), &mut buf) {
                let Some(from) = got.from else { continue };
                let len = got.len.min(RECV_BUF);
                return Some(Datagram {
                    from: canonical(from),
                    ttl: got.info.hop_limit,
                    multihop: *multihop,
                    bytes: buf.get(..len).unwrap_or(&[]).to_vec(),
                });
            }
        }
        None
    }

    /// The next datagram on any receiving socket.
    pub async fn recv(&self) -> io::Result<Datagram> {
        let mut buf = [0u8; RECV_BUF];
        loop {
            let first = self.first.fetch_add(1, Ordering::Relaxed);
            let (mut guard, multihop) = poll_fn(|cx| {
                let n = self.rx.len();
                for i in 0..n {
                    let Some((s, multihop)) = self.rx.get((first + i) % n) else {
                        continue;
                    };
                    if let Poll::Ready(r) = s.poll_read_ready(cx) {
                        return Poll::Ready(r.map(|g| (g, *multihop)));
                    }
                }
                Poll::Pending
            })
            .await?;
            match guard.try_io(|s| recv_msg(s.get_ref(), &mut buf)) {
                Ok(Ok(got)) => {
                    let Some(from) = got.from else { continue };
                    let RecvInfo { hop_limit, .. } = got.info;
                    let len = got.len.min(RECV_BUF);
                    return Ok(Datagram {
                        from: canonical(from),
                        ttl: hop_limit,
                        multihop,
                        bytes: buf.get(..len).unwrap_or(&[]).to_vec(),
                    });
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }

    /// Sends `bytes` to `to`, from the address `from` if given (a
    /// multihop session's). A full buffer or an unreachable peer is an
    /// error the caller counts: BFD's next packet makes up for a lost one.
    pub fn send(&mut self, to: SocketAddr, from: Option<IpAddr>, bytes: &[u8]) -> io::Result<()> {
        let sock = match (from, to) {
            (Some(from), _) => Some(self.bound_sender(from)?),
            (None, SocketAddr::V4(_)) => self.tx4.as_ref(),
            (None, SocketAddr::V6(_)) => self.tx6.as_ref(),
        }
        .ok_or_else(|| io::Error::from(io::ErrorKind::Unsupported))?;
        sock.send_to(bytes, &SockAddr::from(to))?;
        Ok(())
    }

    /// The sender bound to `from`, opened on first use.
    fn bound_sender(&mut self, from: IpAddr) -> io::Result<&Socket> {
        match self.bound.entry(from) {
            std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
            std::collections::hash_map::Entry::Vacant(e) => Ok(e.insert(sender(from)?)),
        }
    }
}

/// An IPv4 sender seen through an IPv6 socket is an IPv4 sender.
fn canonical(a: SocketAddr) -> SocketAddr {
    match a {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), v6.port()),
            None => a,
        },
        v4 => v4,
    }
}

fn receiver(addr: SocketAddr) -> io::Result<AsyncFd<Socket>> {
    let v6 = addr.is_ipv6();
    let s = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    s.set_reuse_address(true)?;
    // Past the system's cap when we may (CAP_NET_ADMIN), else up to it.
    if setsockopt(&s, libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, &SOCKET_RCVBUF).is_err() {
        let _ = setsockopt(&s, libc::SOL_SOCKET, libc::SO_RCVBUF, &SOCKET_RCVBUF);
    }
    let on: libc::c_int = 1;
    if v6 {
        s.set_only_v6(true)?;
        setsockopt(&s, libc::IPPROTO_IPV6, libc::IPV6_RECVHOPLIMIT, &on)?;
    } else {
        setsockopt(&s, libc::IPPROTO_IP, libc::IP_RECVTTL, &on)?;
    }
    s.bind(&SockAddr::from(addr))?;
    // SAFETY: `Socket` owns its fd, which stays open and the same until
    // the socket is dropped together with the `AsyncFd`.
    unsafe { AsyncFd::register(s) }.map_err(|e| e.into_parts().1)
}

/// A sending socket with TTL 255 bound to `local` (unspecified: the
/// kernel picks the source) on the first free port of 49152-65535 (from
/// a start that differs per process, so two daemons on one host rarely
/// race for the same one).
fn sender(local: IpAddr) -> io::Result<Socket> {
    let v6 = local.is_ipv6();
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let s = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_nonblocking(true)?;
    if v6 {
        s.set_only_v6(true)?;
        s.set_unicast_hops_v6(u32::from(BFD_TTL))?;
    } else {
        s.set_ttl_v4(u32::from(BFD_TTL))?;
    }
    let span = u32::from(SOURCE_PORTS.end() - SOURCE_PORTS.start()) + 1;
    let start = std::process::id() % span;
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for i in 0..span {
        let port = SOURCE_PORTS.start() + ((start + i) % span) as u16;
        match s.bind(&SockAddr::from(SocketAddr::new(local, port))) {
            Ok(()) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Loopback both ways: the sender's source port is in range, the TTL
    /// arrives as 255, an IPv4 packet reads as IPv4.
    #[tokio::test]
    async fn a_packet_crosses_loopback_with_ttl_255() {
        // An unprivileged port: the test may run as any user.
        let port = 40000 + (std::process::id() % 20000) as u16;
        let Ok(mut s) = BfdSockets::open(port, port + 1) else {
            println!("skipped: cannot open UDP sockets");
            return;
        };
        let to = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        s.send(to, None, &[1, 2, 3]).unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(2), s.recv())
            .await
            .expect("no datagram")
            .unwrap();
        assert_eq!(got.bytes, [1, 2, 3]);
        assert_eq!(got.ttl, Some(BFD_TTL));
        assert!(got.from.is_ipv4() && !got.multihop);
        assert!(SOURCE_PORTS.contains(&got.from.port()), "{}", got.from);
        // Multihop: to the other port, from the address asked for.
        let from = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
        let to = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port + 1);
        s.send(to, Some(from), &[4]).unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(2), s.recv())
            .await
            .expect("no multihop datagram")
            .unwrap();
        assert_eq!(
            (got.bytes, got.multihop, got.from.ip()),
            (vec![4], true, from)
        );
    }

    /// What is already waiting is taken without waiting, then nothing.
    #[tokio::test]
    async fn try_recv_takes_what_waits() {
        let port = 30000 + (std::process::id() % 9000) as u16;
        let Ok(mut s) = BfdSockets::open(port, port + 1) else {
            println!("skipped: cannot open UDP sockets");
            return;
        };
        let to = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        for b in [7u8, 8] {
            s.send(to, None, &[b]).unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| s.try_recv().map(|d| d.bytes)).collect();
        assert_eq!(got, [vec![7], vec![8]]);
    }

    #[test]
    fn mapped_senders_read_as_ipv4() {
        let mapped: SocketAddr = "[::ffff:10.0.0.1]:50000".parse().unwrap();
        assert_eq!(canonical(mapped), "10.0.0.1:50000".parse().unwrap());
        let v6: SocketAddr = "[fe80::1%3]:50000".parse().unwrap();
        assert_eq!(canonical(v6), v6);
    }
}
