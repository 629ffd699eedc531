//! Socket options of BGP sessions: TTL / GTSM (RFC 5082) and TCP-MD5
//! signatures (RFC 2385) through Linux `TCP_MD5SIG` / `TCP_MD5SIG_EXT`.
//!
//! The only `unsafe` of the peer module is here, around `setsockopt`.

use super::spec::TtlPolicy;
use socket2::SockRef;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, AsRawFd};

/// `TCP_MD5SIG_MAXKEYLEN` (linux/tcp.h).
pub const MD5_MAX_KEY_LEN: usize = 80;
/// `TCP_MD5SIG_FLAG_PREFIX` (linux/tcp.h).
const TCP_MD5SIG_FLAG_PREFIX: u8 = 1;

/// `struct tcp_md5sig` (linux/tcp.h).
#[repr(C)]
struct TcpMd5Sig {
    addr: libc::sockaddr_storage,
    flags: u8,
    prefixlen: u8,
    keylen: u16,
    ifindex: libc::c_int,
    key: [u8; MD5_MAX_KEY_LEN],
}

/// Applies the TTL policy to a socket of family `v6` (hop limit and
/// minimum hop count for IPv6).
pub fn apply_ttl<S: AsFd>(sock: &S, v6: bool, policy: TtlPolicy) -> io::Result<()> {
    let s = SockRef::from(sock);
    if let Some(ttl) = policy.ttl {
        if v6 {
            s.set_unicast_hops_v6(u32::from(ttl))?;
        } else {
            s.set_ttl_v4(u32::from(ttl))?;
        }
    }
    if let Some(min) = policy.min_ttl {
        let (level, name) = if v6 {
            (libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT)
        } else {
            (libc::IPPROTO_IP, libc::IP_MINTTL)
        };
        setsockopt_int(sock, level, name, libc::c_int::from(min))?;
    }
    Ok(())
}

fn setsockopt_int<S: AsFd>(
    sock: &S,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    let fd = sock.as_fd().as_raw_fd();
    // SAFETY: `fd` is a valid open socket borrowed for this call, and the
    // option value points to a live c_int of the given length.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Writes `addr` (port 0) into a `sockaddr_storage` as the socket family
/// expects: an IPv4 peer on an IPv6 socket is given as IPv4-mapped.
fn storage_for(addr: IpAddr, socket_v6: bool) -> libc::sockaddr_storage {
    let addr = match (addr, socket_v6) {
        (IpAddr::V4(v4), true) => IpAddr::V6(v4.to_ipv6_mapped()),
        (a, _) => a,
    };
    let sa = socket2::SockAddr::from(std::net::SocketAddr::new(addr, 0));
    let mut storage = zeroed_storage();
    let len = (sa.len() as usize).min(std::mem::size_of::<libc::sockaddr_storage>());
    // SAFETY: both pointers are valid for `len` bytes (len is capped at the
    // size of the destination) and do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            sa.as_ptr().cast::<u8>(),
            (&mut storage as *mut libc::sockaddr_storage).cast::<u8>(),
            len,
        );
    }
    storage
}

fn zeroed_storage() -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all-zero is valid.
    unsafe { std::mem::zeroed() }
}

/// Sets (or, with an empty key, removes) the TCP-MD5 key for connections
/// from/to `addr`, or from any address of `addr/prefix_len` when a prefix
/// is given (`TCP_MD5SIG_EXT`, Linux 4.13 and later). Works on listening
/// and on not-yet-connected sockets.
pub fn set_md5<S: AsFd>(
    sock: &S,
    socket_v6: bool,
    addr: IpAddr,
    prefix_len: Option<u8>,
    key: &[u8],
) -> io::Result<()> {
    if key.len() > MD5_MAX_KEY_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("TCP-MD5 key longer than {MD5_MAX_KEY_LEN} octets"),
        ));
    }
    let mut sig = TcpMd5Sig {
        addr: storage_for(addr, socket_v6),
        flags: 0,
        prefixlen: 0,
        keylen: key.len() as u16,
        ifindex: 0,
        key: [0; MD5_MAX_KEY_LEN],
    };
    if let Some(dst) = sig.key.get_mut(..key.len()) {
        dst.copy_from_slice(key);
    }
    let name = match prefix_len {
        Some(len) => {
            sig.flags = TCP_MD5SIG_FLAG_PREFIX;
            // An IPv4 prefix on an IPv6 socket is matched as IPv4-mapped.
            sig.prefixlen = if addr.is_ipv4() && socket_v6 {
                len.saturating_add(96)
            } else {
                len
            };
            libc::TCP_MD5SIG_EXT
        }
        None => libc::TCP_MD5SIG,
    };
    let fd = sock.as_fd().as_raw_fd();
    // SAFETY: `fd` is a valid socket; `sig` is a live, correctly laid out
    // `struct tcp_md5sig` and the length passed is its size.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            name,
            (&sig as *const TcpMd5Sig).cast(),
            std::mem::size_of::<TcpMd5Sig>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_struct_matches_the_kernel_layout() {
        // linux/tcp.h: 128 + 1 + 1 + 2 + 4 + 80.
        assert_eq!(std::mem::size_of::<TcpMd5Sig>(), 216);
    }

    #[test]
    fn md5_and_ttl_options_apply_to_sockets() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        set_md5(&l, false, "127.0.0.2".parse().unwrap(), None, b"secret").unwrap();
        set_md5(&l, false, "127.0.3.0".parse().unwrap(), Some(24), b"secret").unwrap();
        // Removing a key that exists works.
        set_md5(&l, false, "127.0.0.2".parse().unwrap(), None, b"").unwrap();
        assert!(set_md5(&l, false, "127.0.0.2".parse().unwrap(), None, &[b'x'; 81]).is_err());

        let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        apply_ttl(
            &s,
            false,
            TtlPolicy {
                ttl: Some(255),
                min_ttl: Some(254),
            },
        )
        .unwrap();
        assert_eq!(s.ttl_v4().unwrap(), 255);
        let s6 = socket2::Socket::new(socket2::Domain::IPV6, socket2::Type::STREAM, None).unwrap();
        apply_ttl(
            &s6,
            true,
            TtlPolicy {
                ttl: Some(1),
                min_ttl: None,
            },
        )
        .unwrap();
        assert_eq!(s6.unicast_hops_v6().unwrap(), 1);
    }
}
