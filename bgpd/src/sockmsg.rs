//! Socket options and control messages (`sendmsg`/`recvmsg` ancillary
//! data) as the kernel lays them out, for the raw and datagram sockets at
//! the edges (router advertisements; BFD): the hop limit or TTL a packet
//! arrived with, its interface, the source to send from.
//!
//! struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
//! then the data at CMSG_ALIGN(sizeof(struct cmsghdr)); the next header
//! at CMSG_ALIGN(cmsg_len). CMSG_ALIGN rounds up to sizeof(size_t).

use socket2::{MaybeUninitSlice, MsgHdrMut, SockAddr, Socket};
use std::io;
use std::mem::{size_of, MaybeUninit};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd};

/// One datagram read by [`recv_msg`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Received {
    /// Octets read into the buffer.
    pub len: usize,
    /// The sender.
    pub from: Option<SocketAddr>,
    /// Hop limit (TTL) and interface, when the socket asked for them.
    pub info: RecvInfo,
    /// The datagram was longer than the buffer.
    pub truncated: bool,
}

/// Reads one datagram into `buf` with its sender and control messages.
pub(crate) fn recv_msg(sock: &Socket, buf: &mut [u8]) -> io::Result<Received> {
    let mut control = [0u8; 128];
    let mut from = SockAddr::from(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0));
    let (len, control_len, truncated) = {
        let mut bufs = [MaybeUninitSlice::new(as_uninit(buf))];
        let mut msg = MsgHdrMut::new()
            .with_addr(&mut from)
            .with_buffers(&mut bufs)
            .with_control(as_uninit(&mut control));
        let len = sock.recvmsg(&mut msg, 0)?;
        (len, msg.control_len(), msg.flags().is_truncated())
    };
    Ok(Received {
        len,
        from: from.as_socket(),
        info: parse_control(control.get(..control_len).unwrap_or(&[])),
        truncated,
    })
}

/// Lets `recvmsg` write into an initialized buffer.
fn as_uninit(buf: &mut [u8]) -> &mut [MaybeUninit<u8>] {
    // SAFETY: `MaybeUninit<u8>` has the layout of `u8`, and the kernel
    // only ever writes initialized bytes, so `buf` stays initialized.
    unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) }
}

/// `setsockopt` with a plain-data value (an integer or an array of them).
pub(crate) fn setsockopt<S: AsFd, T: Copy>(
    sock: &S,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: the fd is a valid open socket borrowed for this call, and
    // `value` points to `len` readable bytes that outlive it.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_fd().as_raw_fd(),
            level,
            name,
            (value as *const T).cast(),
            len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// struct cmsghdr { size_t cmsg_len; int cmsg_level; int cmsg_type; }
// then the data at CMSG_ALIGN(sizeof(struct cmsghdr)); the next header at
// CMSG_ALIGN(cmsg_len). CMSG_ALIGN rounds up to sizeof(size_t).

const fn cmsg_align(n: usize) -> usize {
    (n + size_of::<usize>() - 1) & !(size_of::<usize>() - 1)
}

/// `CMSG_LEN(0)`: where a control message's data starts.
pub(crate) const CMSG_HDR: usize = cmsg_align(size_of::<usize>() + 8);
/// `sizeof(struct in6_pktinfo)`: address, then interface index.
const PKTINFO_LEN: usize = 20;

/// What the kernel told about a received packet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecvInfo {
    /// IPv6 hop limit, or IPv4 TTL.
    pub hop_limit: Option<u8>,
    /// Arrival interface.
    pub ifindex: Option<u32>,
}

/// Reads `IPV6_HOPLIMIT`, `IP_TTL` and `IPV6_PKTINFO` from a control
/// buffer; stops at the first message that does not fit.
pub(crate) fn parse_control(mut control: &[u8]) -> RecvInfo {
    let mut info = RecvInfo::default();
    while let Some(len_bytes) = control.get(..size_of::<usize>()) {
        let Ok(len_bytes) = len_bytes.try_into() else {
            break;
        };
        let len = usize::from_ne_bytes(len_bytes);
        let (Some(head), Some(data)) = (control.get(..CMSG_HDR), control.get(CMSG_HDR..len)) else {
            break;
        };
        let level = ne_i32(head, size_of::<usize>());
        let kind = ne_i32(head, size_of::<usize>() + 4);
        match (level, kind) {
            (Some(libc::IPPROTO_IPV6), Some(libc::IPV6_HOPLIMIT)) => {
                info.hop_limit = ne_i32(data, 0).and_then(|h| u8::try_from(h).ok());
            }
            (Some(libc::IPPROTO_IP), Some(libc::IP_TTL)) => {
                info.hop_limit = ne_i32(data, 0).and_then(|h| u8::try_from(h).ok());
            }
            (Some(libc::IPPROTO_IPV6), Some(libc::IPV6_PKTINFO)) => {
                info.ifindex = ne_i32(data, 16).and_then(|i| u32::try_from(i).ok());
            }
            _ => {}
        }
        match control.get(cmsg_align(len)..) {
            Some(rest) => control = rest,
            None => break,
        }
    }
    info
}

fn ne_i32(buf: &[u8], at: usize) -> Option<i32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(i32::from_ne_bytes(bytes.try_into().ok()?))
}

/// One `IPV6_PKTINFO` control message: send from `source` on `ifindex`.
pub(crate) fn pktinfo_control(source: Ipv6Addr, ifindex: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(CMSG_HDR + cmsg_align(PKTINFO_LEN));
    let data = [source.octets().as_slice(), &ifindex.to_ne_bytes()].concat();
    push_cmsg(&mut out, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &data);
    out
}

fn push_cmsg(out: &mut Vec<u8>, level: libc::c_int, kind: libc::c_int, data: &[u8]) {
    let start = out.len();
    out.extend_from_slice(&(CMSG_HDR + data.len()).to_ne_bytes());
    out.extend_from_slice(&level.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.resize(start + CMSG_HDR, 0);
    out.extend_from_slice(data);
    out.resize(start + CMSG_HDR + cmsg_align(data.len()), 0);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn control_layout_matches_libc() {
        // SAFETY: CMSG_LEN and CMSG_SPACE only compute sizes.
        let (len, space) = unsafe { (libc::CMSG_LEN(20), libc::CMSG_SPACE(20)) };
        assert_eq!(CMSG_HDR + PKTINFO_LEN, len as usize);
        let ctl = pktinfo_control(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1), 7);
        assert_eq!(ctl.len(), space as usize);
        assert_eq!(parse_control(&ctl).ifindex, Some(7));
    }

    #[test]
    fn control_hop_limit_and_ifindex() {
        let mut ctl = Vec::new();
        let pktinfo = [[0xff; 16].as_slice(), &9i32.to_ne_bytes()].concat();
        push_cmsg(&mut ctl, libc::IPPROTO_IPV6, libc::IPV6_PKTINFO, &pktinfo);
        push_cmsg(
            &mut ctl,
            libc::SOL_SOCKET,
            libc::IPV6_HOPLIMIT,
            &64i32.to_ne_bytes(),
        );
        push_cmsg(
            &mut ctl,
            libc::IPPROTO_IPV6,
            libc::IPV6_HOPLIMIT,
            &255i32.to_ne_bytes(),
        );
        let want = RecvInfo {
            hop_limit: Some(255),
            ifindex: Some(9),
        };
        assert_eq!(parse_control(&ctl), want);
        // Out-of-range values and broken lengths read as nothing.
        let mut bad = Vec::new();
        push_cmsg(
            &mut bad,
            libc::IPPROTO_IPV6,
            libc::IPV6_HOPLIMIT,
            &256i32.to_ne_bytes(),
        );
        assert_eq!(parse_control(&bad), RecvInfo::default());
        for len in [0usize, 3, usize::MAX] {
            let mut broken = ctl.clone();
            broken[..size_of::<usize>()].copy_from_slice(&len.to_ne_bytes());
            assert_eq!(
                parse_control(&broken),
                RecvInfo::default(),
                "cmsg_len {len}"
            );
        }
    }

    #[test]
    fn ipv4_ttl_is_read() {
        let mut ctl = Vec::new();
        push_cmsg(
            &mut ctl,
            libc::IPPROTO_IP,
            libc::IP_TTL,
            &254i32.to_ne_bytes(),
        );
        assert_eq!(parse_control(&ctl).hop_limit, Some(254));
    }

    #[test]
    fn parse_never_panics() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 96) as usize;
            let buf: Vec<u8> = (0..len).map(|i| (x >> (i % 8 * 8)) as u8).collect();
            let _ = parse_control(&buf);
        }
    }
}
