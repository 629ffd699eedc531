//! Router Advertisements on the wire (RFC 4861 §4.1, §4.2), for unnumbered
//! neighbors: the pure codec ([`encode_advert`], [`parse_icmp`]) and the
//! raw ICMPv6 socket that sends and receives them ([`AdvertSocket`]). What
//! to send when, and what a received one means, is
//! [`super::link_discovery`].
//!
//! Our adverts carry nothing but, when known, our MAC (source link-layer
//! address option), and a router lifetime of 0: hosts on the link never
//! take us as their default router. FRR's zebra does not look at the
//! lifetime: on a link where it sends RAs itself (its bgpd asks for that
//! for `neighbor IF interface`), it takes the source of any RA with hop
//! limit 255, at least 16 octets and a link-local source as the link's
//! one neighbor (zebra/rtadv.c `rtadv_process_packet`,
//! `rtadv_process_advert`). It ignores our MAC option there: it derives
//! our MAC from the link-local address as if EUI-64 (zebra/interface.c
//! `ipv6_ll_address_to_mac`) for its IPv4-over-IPv6 next hop.
//!
//! Invariants: received packets count only with hop limit 255 (RFC 4861
//! §6.1: no router forwarded them, so they come from the link itself) and
//! well-formed options; the parser never panics, whatever the bytes.
//! Needs `CAP_NET_RAW`.

use crate::sockmsg::{pktinfo_control, recv_msg, setsockopt};
use socket2::{Domain, MsgHdr, Protocol, SockAddr, Socket, Type};
use std::io::{self, IoSlice};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsFd;
use tokio::io::unix::AsyncFd;

/// ICMPv6 type of a Router Solicitation.
pub const ROUTER_SOLICIT: u8 = 133;
/// ICMPv6 type of a Router Advertisement.
pub const ROUTER_ADVERT: u8 = 134;
/// The only hop limit neighbor discovery accepts, and sends with.
pub const ND_HOP_LIMIT: u8 = 255;

/// Fixed part of a Router Solicitation (type .. reserved).
const SOLICIT_LEN: usize = 8;
/// Fixed part of a Router Advertisement (type .. retrans timer).
const ADVERT_LEN: usize = 16;
/// Source link-layer address option (RFC 4861 §4.6.1).
const OPT_SOURCE_LINK_ADDR: u8 = 1;
/// `ICMP6_FILTER` (linux/icmpv6.h).
const ICMP6_FILTER: libc::c_int = 1;
/// Largest packet read whole; longer ones (many options on a jumbo
/// link) are judged on their fixed part only.
const RECV_BUF: usize = 2048;

const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// A neighbor discovery message we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IcmpKind {
    /// Router Advertisement: its source is the router on the link.
    Advert,
    /// Router Solicitation: answer with an advert.
    Solicit,
}

/// A Router Advertisement from us, checksum left 0 (the kernel fills it
/// in for raw ICMPv6 sockets):
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  Type = 134   |   Code = 0    |          Checksum             |
/// | Cur Hop Limit |M|O|  Reserved |       Router Lifetime         |
/// |                         Reachable Time                        |
/// |                          Retrans Timer                        |
/// |  Type = 1     |  Length = 1   |    Link-Layer Address (6) ... |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
///
/// Hop limit, reachable time and retrans timer 0 are "unspecified":
/// zebra warns about any other value that differs from its own.
pub fn encode_advert(mac: Option<[u8; 6]>) -> Vec<u8> {
    let mut p = Vec::with_capacity(ADVERT_LEN + 8);
    p.extend_from_slice(&[ROUTER_ADVERT, 0, 0, 0]);
    // Cur hop limit, flags, router lifetime 0 (not a default router).
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(&[0; 8]); // reachable time, retrans timer
    if let Some(mac) = mac {
        p.extend_from_slice(&[OPT_SOURCE_LINK_ADDR, 1]);
        p.extend_from_slice(&mac);
    }
    p
}

/// What an ICMPv6 message (from its type on) is, if it is a valid Router
/// Solicitation or Advertisement (RFC 4861 §6.1.1, §6.1.2: code 0, long
/// enough, every option of non-zero length and within the message). The
/// hop limit and source are the socket's to check.
#[cfg(test)]
pub fn parse_icmp(buf: &[u8]) -> Option<IcmpKind> {
    parse(buf, true)
}

fn parse(buf: &[u8], check_options: bool) -> Option<IcmpKind> {
    let (kind, fixed) = match *buf.first()? {
        ROUTER_SOLICIT => (IcmpKind::Solicit, SOLICIT_LEN),
        ROUTER_ADVERT => (IcmpKind::Advert, ADVERT_LEN),
        _ => return None,
    };
    if *buf.get(1)? != 0 {
        return None;
    }
    let options = buf.get(fixed..)?;
    (!check_options || options_valid(options)).then_some(kind)
}

fn options_valid(mut options: &[u8]) -> bool {
    while !options.is_empty() {
        let Some(&units) = options.get(1) else {
            return false;
        };
        if units == 0 {
            return false;
        }
        match options.get(usize::from(units) * 8..) {
            Some(rest) => options = rest,
            None => return false,
        }
    }
    true
}

/// A raw ICMPv6 socket taking only Router Solicitations and
/// Advertisements, sending with hop limit 255.
#[derive(Debug)]
pub struct AdvertSocket {
    fd: AsyncFd<Socket>,
}

impl AdvertSocket {
    /// Opens the socket in the current thread's network namespace. Must be
    /// called inside a tokio runtime.
    pub fn open() -> io::Result<Self> {
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
        s.set_nonblocking(true)?;
        set_icmp6_filter(&s, &[ROUTER_SOLICIT, ROUTER_ADVERT])?;
        s.set_multicast_hops_v6(u32::from(ND_HOP_LIMIT))?;
        s.set_unicast_hops_v6(u32::from(ND_HOP_LIMIT))?;
        s.set_multicast_loop_v6(false)?;
        s.set_recv_hoplimit_v6(true)?;
        // The arrival interface, also for sources without a scope
        // (a solicit from `::`).
        let on: libc::c_int = 1;
        setsockopt(&s, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &on)?;
        // SAFETY: `Socket` owns its fd, which stays open and the same until
        // the socket is dropped together with the `AsyncFd`.
        let fd = unsafe { AsyncFd::register(s) }.map_err(|e| e.into_parts().1)?;
        Ok(AdvertSocket { fd })
    }

    /// Joins all-routers (`ff02::2`) on link `ifindex`, so that Router
    /// Solicitations on it reach us. Joining twice is no error.
    pub fn join_all_routers(&self, ifindex: u32) -> io::Result<()> {
        match self.fd.get_ref().join_multicast_v6(&ALL_ROUTERS, ifindex) {
            Err(e) if e.raw_os_error() == Some(libc::EADDRINUSE) => Ok(()),
            r => r,
        }
    }

    /// Leaves all-routers on link `ifindex` (a vanished link left it
    /// already).
    pub fn leave_all_routers(&self, ifindex: u32) -> io::Result<()> {
        self.fd.get_ref().leave_multicast_v6(&ALL_ROUTERS, ifindex)
    }

    /// The next valid solicit or advert: arrival interface, source,
    /// kind. Invalid packets (hop limit not 255, malformed) are skipped.
    pub async fn recv(&self) -> io::Result<(u32, Ipv6Addr, IcmpKind)> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|s| recv_one(s.get_ref())) {
                Ok(Ok(Some(got))) => return Ok(got),
                Ok(Ok(None)) => {}
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
    }

    /// Sends an advert to all nodes (`ff02::1`) on link `ifindex` from
    /// `source`, which must be a non-tentative address of that link (the
    /// kernel refuses others). A full send buffer is `WouldBlock`: the
    /// next advert makes up for it.
    pub fn send_advert(
        &self,
        ifindex: u32,
        source: Ipv6Addr,
        mac: Option<[u8; 6]>,
    ) -> io::Result<()> {
        let packet = encode_advert(mac);
        let to = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, ifindex));
        let control = pktinfo_control(source, ifindex);
        let bufs = [IoSlice::new(&packet)];
        let msg = MsgHdr::new()
            .with_addr(&to)
            .with_buffers(&bufs)
            .with_control(&control);
        self.fd.get_ref().sendmsg(&msg, 0)?;
        Ok(())
    }
}

/// Reads one packet; `None` if it does not count.
fn recv_one(sock: &Socket) -> io::Result<Option<(u32, Ipv6Addr, IcmpKind)>> {
    let mut buf = [0u8; RECV_BUF];
    let got = recv_msg(sock, &mut buf)?;
    let Some(SocketAddr::V6(src)) = got.from else {
        return Ok(None);
    };
    if got.info.hop_limit != Some(ND_HOP_LIMIT) {
        tracing::debug!(from = %src, hop_limit = ?got.info.hop_limit, "neighbor discovery packet dropped: hop limit");
        return Ok(None);
    }
    let ifindex = got.info.ifindex.unwrap_or(src.scope_id());
    let data = buf.get(..got.len.min(RECV_BUF)).unwrap_or(&[]);
    let Some(kind) = parse(data, !got.truncated) else {
        tracing::debug!(from = %src, ifindex, "malformed neighbor discovery packet dropped");
        return Ok(None);
    };
    Ok(Some((ifindex, *src.ip(), kind)))
}

/// Sets `ICMP6_FILTER` on a raw ICMPv6 socket so that it takes only the
/// ICMPv6 types in `pass` (none if empty).
pub(crate) fn set_icmp6_filter<S: AsFd>(sock: &S, pass: &[u8]) -> io::Result<()> {
    setsockopt(
        sock,
        libc::IPPROTO_ICMPV6,
        ICMP6_FILTER,
        &icmp6_filter(pass),
    )
}

/// `struct icmp6_filter`: 256 bits, a set bit blocks its type.
fn icmp6_filter(pass: &[u8]) -> [u32; 8] {
    let mut filter = [u32::MAX; 8];
    for &t in pass {
        if let Some(word) = filter.get_mut(usize::from(t >> 5)) {
            *word &= !(1u32 << (t & 31));
        }
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Duration;

    const MAC: [u8; 6] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];

    #[test]
    fn advert_bytes() {
        let mut want = vec![134, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(encode_advert(None), want);
        want.extend_from_slice(&[1, 1, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02]);
        assert_eq!(encode_advert(Some(MAC)), want);
        assert_eq!(parse_icmp(&encode_advert(None)), Some(IcmpKind::Advert));
        assert_eq!(
            parse_icmp(&encode_advert(Some(MAC))),
            Some(IcmpKind::Advert)
        );
    }

    /// An advert as FRR's zebra builds one for an unnumbered neighbor
    /// (`rtadv_send_packet`): hop limit 64, lifetime 30 s, source
    /// link-layer address and MTU options; checksum as received.
    #[test]
    fn parses_frr_style_advert() {
        let ra = [
            134, 0, 0x5c, 0x1d, 64, 0, 0x00, 0x1e, 0, 0, 0, 0, 0, 0, 0, 0, // header
            1, 1, 0x02, 0x42, 0xac, 0x11, 0x00, 0x03, // source link-layer address
            5, 1, 0, 0, 0x00, 0x00, 0x05, 0xdc, // MTU 1500
        ];
        assert_eq!(parse_icmp(&ra), Some(IcmpKind::Advert));
    }

    /// Router Solicitations as a Linux host sends them, with and without
    /// its link-layer address.
    #[test]
    fn parses_solicits() {
        let bare = [133, 0, 0x7b, 0x3a, 0, 0, 0, 0];
        assert_eq!(parse_icmp(&bare), Some(IcmpKind::Solicit));
        let with_mac = [133, 0, 0x12, 0x34, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1];
        assert_eq!(parse_icmp(&with_mac), Some(IcmpKind::Solicit));
    }

    #[test]
    fn rejects_invalid() {
        let ra = encode_advert(Some(MAC));
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("type only", vec![134]),
            ("short advert", ra[..15].to_vec()),
            ("short solicit", vec![133, 0, 0, 0, 0, 0, 0]),
            ("code 1", [&[134, 1], &ra[2..]].concat()),
            ("echo request", vec![128, 0, 0, 0, 0, 0, 0, 0]),
            ("neighbor solicit", vec![135, 0, 0, 0, 0, 0, 0, 0]),
            (
                "zero-length option",
                [&ra[..16], &[1, 0, 0, 0, 0, 0, 0, 0]].concat(),
            ),
            (
                "option past the end",
                [&ra[..16], &[1, 2, 0, 0, 0, 0, 0, 0]].concat(),
            ),
            ("option cut short", ra[..ra.len() - 1].to_vec()),
            ("lone option byte", [&ra[..16], &[1]].concat()),
        ];
        for (what, bytes) in cases {
            assert_eq!(parse_icmp(&bytes), None, "{what}");
        }
        // A cut-off read is judged on its fixed part.
        assert_eq!(parse(&ra[..17], false), Some(IcmpKind::Advert));
    }

    #[test]
    fn parse_never_panics() {
        let ra = encode_advert(Some(MAC));
        for n in 0..=ra.len() {
            let _ = parse_icmp(&ra[..n]);
        }
        // xorshift: arbitrary bytes, many shaped like our messages.
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 64) as usize;
            let mut buf: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
            if let Some(b) = buf.first_mut() {
                *b = [133, 134, (x >> 3) as u8][(x % 3) as usize];
            }
            let _ = parse_icmp(&buf);
        }
    }

    #[test]
    fn filter_passes_only_router_messages() {
        let f = icmp6_filter(&[ROUTER_SOLICIT, ROUTER_ADVERT]);
        for t in 0..=255u8 {
            let blocked = f[usize::from(t >> 5)] & (1 << (t & 31)) != 0;
            assert_eq!(blocked, t != 133 && t != 134, "type {t}");
        }
        assert_eq!(icmp6_filter(&[]), [u32::MAX; 8]);
    }

    /// Sends and receives on a veth pair in a network namespace of its
    /// own; skipped without the privileges for one or without `ip`.
    #[test]
    fn socket_on_veth_pair() {
        // Own thread: the namespace is per thread, and goes with it.
        std::thread::spawn(veth_pair_test).join().unwrap();
    }

    fn veth_pair_test() {
        // SAFETY: only this thread's network namespace changes.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            println!("skipped: {}", io::Error::last_os_error());
            return;
        }
        let ip = |args: &str| {
            Command::new("ip")
                .args(args.split_whitespace())
                .output()
                .map(|o| o.status.success())
        };
        match ip("link add ra0 type veth peer name ra1") {
            Ok(true) => {}
            Ok(false) => return println!("skipped: no veth"),
            Err(e) => return println!("skipped: ip: {e}"),
        }
        for cmd in [
            "link set ra0 addrgenmode none",
            "link set ra1 addrgenmode none",
            "link set ra0 up",
            "link set ra1 up",
            "addr add fe80::a/64 dev ra0 nodad",
            "addr add fe80::d/64 dev ra0 nodad",
            "addr add fe80::b/64 dev ra1 nodad",
            "addr add fe80::c/64 dev ra1 nodad",
        ] {
            assert!(ip(cmd).unwrap(), "ip {cmd}");
        }
        let (ra0, ra1) = (ifindex("ra0"), ifindex("ra1"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let sock = AdvertSocket::open().unwrap();
            let ll = |last| Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, last);

            // The source is the one asked for, not the kernel's pick.
            for src in [ll(0xa), ll(0xd)] {
                let want = (ra1, src, IcmpKind::Advert);
                wait_for(&sock, want, || sock.send_advert(ra0, src, Some(MAC))).await;
            }

            // Hop limit 254 (forwarded, or forged off-link) is dropped;
            // the same packet with 255 is taken.
            let other = raw_sender(ll(0xc), ra1);
            other.set_multicast_hops_v6(254).unwrap();
            let to = SockAddr::from(SocketAddrV6::new(ALL_NODES, 0, 0, ra1));
            other.send_to(&encode_advert(None), &to).unwrap();
            other.set_multicast_hops_v6(255).unwrap();
            let want = (ra0, ll(0xc), IcmpKind::Advert);
            let seen = wait_for(&sock, want, || {
                other.send_to(&encode_advert(None), &to).map(drop)
            })
            .await;
            assert_eq!(seen.iter().filter(|p| **p == want).count(), 1, "{seen:?}");

            // Solicits to all-routers arrive once joined.
            sock.join_all_routers(ra0).unwrap();
            sock.join_all_routers(ra0).unwrap();
            let rs = raw_sender(ll(0xb), ra1);
            rs.set_multicast_hops_v6(255).unwrap();
            let to = SockAddr::from(SocketAddrV6::new(ALL_ROUTERS, 0, 0, ra1));
            let want = (ra0, ll(0xb), IcmpKind::Solicit);
            wait_for(&sock, want, || {
                rs.send_to(&[133, 0, 0, 0, 0, 0, 0, 0], &to).map(drop)
            })
            .await;
            sock.leave_all_routers(ra0).unwrap();
        });
    }

    /// Sends until `want` arrives; returns what arrived, `want` last.
    async fn wait_for(
        sock: &AdvertSocket,
        want: (u32, Ipv6Addr, IcmpKind),
        send: impl Fn() -> io::Result<()>,
    ) -> Vec<(u32, Ipv6Addr, IcmpKind)> {
        let mut seen = Vec::new();
        for _ in 0..30 {
            // A fresh link may not take packets at once.
            if let Err(e) = send() {
                println!("send: {e}");
            }
            while let Ok(got) = tokio::time::timeout(Duration::from_millis(200), sock.recv()).await
            {
                let got = got.unwrap();
                seen.push(got);
                if got == want {
                    return seen;
                }
            }
        }
        panic!("{want:?} never arrived; saw {seen:?}");
    }

    fn raw_sender(source: Ipv6Addr, ifindex: u32) -> Socket {
        let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6)).unwrap();
        s.bind(&SocketAddrV6::new(source, 0, 0, ifindex).into())
            .unwrap();
        s.set_multicast_loop_v6(false).unwrap();
        s
    }

    fn ifindex(name: &str) -> u32 {
        let out = Command::new("ip")
            .args(["-o", "link", "show", name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.split(':').next().unwrap().trim().parse().unwrap()
    }
}
