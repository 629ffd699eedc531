//! Counting the routes a daemon wrote into its namespace's kernel table,
//! with a netlink route dump (no `ip` process per poll).
//!
//! Counted: unicast routes of the main table (254) whose protocol is a
//! routing daemon's (above RTPROT_STATIC = 4: BIRD writes 12, FRR's zebra
//! and rbgpd 186), so the veth's connected routes are not; IPv4 and IPv6
//! are dumped apart (a dual-stack run waits for both).

use crate::{Error, Result};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use testbed::Netns;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const RT_TABLE_MAIN: u8 = 254;
const RTN_UNICAST: u8 = 1;
const RTPROT_STATIC: u8 = 4;

/// A NETLINK_ROUTE socket opened inside a namespace, and that namespace's
/// `/proc/net/fib_triestat` and `/proc/net/rt6_stats`.
#[derive(Debug)]
pub struct RouteCounter {
    fd: OwnedFd,
    seq: std::sync::atomic::AtomicU32,
    trie: Option<std::fs::File>,
    /// Prefixes in the trie when the counter was opened.
    baseline: usize,
    rt6: Option<std::fs::File>,
    /// IPv6 routes when the counter was opened.
    baseline6: usize,
}

impl RouteCounter {
    /// Opens the socket from a short-lived thread that entered `ns` (a
    /// socket stays in the namespace it was made in).
    pub fn open_in(ns: &Netns) -> Result<RouteCounter> {
        ns.run(RouteCounter::open_here)?
    }

    /// Opens the socket in the caller's namespace.
    pub fn open_here() -> Result<RouteCounter> {
        // SAFETY: plain socket(2); the fd is owned right away.
        let raw = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if raw < 0 {
            return Err(Error::io("netlink socket", std::io::Error::last_os_error()));
        }
        // SAFETY: raw is a fresh descriptor nobody else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // Opened here, the file keeps showing this namespace's tables.
        let trie = std::fs::File::open("/proc/thread-self/net/fib_triestat").ok();
        let baseline = trie.as_ref().and_then(trie_prefixes).unwrap_or(0);
        let rt6 = std::fs::File::open("/proc/thread-self/net/rt6_stats").ok();
        let baseline6 = rt6.as_ref().and_then(rt6_entries).unwrap_or(0);
        Ok(RouteCounter {
            fd,
            seq: std::sync::atomic::AtomicU32::new(1),
            trie,
            baseline,
            rt6,
            baseline6,
        })
    }

    /// Routes added to the IPv4 tables since the counter was opened, from
    /// the kernel's trie statistics: a walk inside the kernel, far cheaper
    /// than a dump of a million routes, so it can be polled often. `None`
    /// where the statistics are not available. Counts every route, not
    /// only the daemon's: confirm with [`RouteCounter::count`].
    pub fn quick_count(&self) -> Option<usize> {
        let n = trie_prefixes(self.trie.as_ref()?)?;
        Some(n.saturating_sub(self.baseline))
    }

    /// IPv6 routes added since the counter was opened, from the kernel's
    /// counter of IPv6 FIB entries (`rt6_stats`; every table, so confirm
    /// with [`RouteCounter::count6`]). `None` where it is not available.
    pub fn quick_count6(&self) -> Option<usize> {
        let n = rt6_entries(self.rt6.as_ref()?)?;
        Some(n.saturating_sub(self.baseline6))
    }

    /// Dumps the IPv4 routes and counts the daemon-written ones.
    pub fn count(&self) -> Result<usize> {
        self.count_family(libc::AF_INET as u8)
    }

    /// Dumps the IPv6 routes and counts the daemon-written ones.
    pub fn count6(&self) -> Result<usize> {
        self.count_family(libc::AF_INET6 as u8)
    }

    /// Dumps the routes of one address family and counts the
    /// daemon-written ones.
    fn count_family(&self, family: u8) -> Result<usize> {
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut req = Vec::with_capacity(28);
        req.extend_from_slice(&28u32.to_ne_bytes());
        req.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
        req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
        req.extend_from_slice(&seq.to_ne_bytes());
        req.extend_from_slice(&0u32.to_ne_bytes());
        req.push(family);
        req.extend_from_slice(&[0u8; 11]);
        // SAFETY: sending a buffer we own on our socket (the kernel is the
        // default destination of an unbound netlink socket).
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), req.as_ptr().cast(), req.len(), 0) };
        if sent < 0 {
            return Err(Error::io("netlink send", std::io::Error::last_os_error()));
        }
        let mut buf = vec![0u8; 1 << 20];
        let mut count = 0usize;
        loop {
            // SAFETY: receiving into a buffer we own, within its length.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                return Err(Error::io("netlink recv", std::io::Error::last_os_error()));
            }
            let n = usize::try_from(n).unwrap_or(0);
            match scan(buf.get(..n).unwrap_or_default(), seq)? {
                Scan::More(c) => count += c,
                Scan::Done(c) => return Ok(count + c),
            }
        }
    }
}

/// The `Prefixes:` figure of the `Main:` table in `fib_triestat` (where
/// no policy rules are set, the local table shares that trie).
fn trie_prefixes(mut file: &std::fs::File) -> Option<usize> {
    use std::io::{Read, Seek};
    file.rewind().ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    parse_trie_prefixes(&text)
}

/// The IPv6 FIB entries of `rt6_stats` (its fourth field, hexadecimal:
/// fib_nodes, fib_route_nodes, fib_rt_alloc, fib_rt_entries, ...).
fn rt6_entries(mut file: &std::fs::File) -> Option<usize> {
    use std::io::{Read, Seek};
    file.rewind().ok()?;
    let mut text = String::new();
    file.read_to_string(&mut text).ok()?;
    parse_rt6_entries(&text)
}

fn parse_rt6_entries(text: &str) -> Option<usize> {
    usize::from_str_radix(text.split_whitespace().nth(3)?, 16).ok()
}

fn parse_trie_prefixes(text: &str) -> Option<usize> {
    let main = text.split("Main:").nth(1)?;
    let line = main
        .lines()
        .find(|l| l.trim_start().starts_with("Prefixes:"))?;
    line.split(':').nth(1)?.trim().parse().ok()
}

enum Scan {
    More(usize),
    Done(usize),
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Counts the matching routes in one datagram of the dump.
fn scan(mut b: &[u8], seq: u32) -> Result<Scan> {
    let mut count = 0;
    while b.len() >= 16 {
        let len = u32_at(b, 0)
            .and_then(|l| usize::try_from(l).ok())
            .unwrap_or(0);
        let ty = u16_at(b, 4).unwrap_or(0);
        if len < 16 || len > b.len() {
            break;
        }
        if u32_at(b, 8) == Some(seq) {
            match ty {
                NLMSG_DONE => return Ok(Scan::Done(count)),
                NLMSG_ERROR => {
                    let errno = u32_at(b, 16).map_or(0, |e| e as i32);
                    if errno != 0 {
                        return Err(Error::io(
                            "netlink dump",
                            std::io::Error::from_raw_os_error(-errno),
                        ));
                    }
                }
                RTM_NEWROUTE => {
                    // struct rtmsg after the 16-octet header: family,
                    // dst_len, src_len, tos, table, protocol, scope, type.
                    let table = b.get(20).copied().unwrap_or(0);
                    let proto = b.get(21).copied().unwrap_or(0);
                    let rtype = b.get(23).copied().unwrap_or(0);
                    if table == RT_TABLE_MAIN && proto > RTPROT_STATIC && rtype == RTN_UNICAST {
                        count += 1;
                    }
                }
                _ => {}
            }
        }
        let step = len.div_ceil(4) * 4;
        b = b.get(step..).unwrap_or_default();
    }
    Ok(Scan::More(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_daemon_routes_only() {
        let msg = |proto: u8, table: u8| {
            let mut m = Vec::new();
            m.extend_from_slice(&28u32.to_ne_bytes());
            m.extend_from_slice(&RTM_NEWROUTE.to_ne_bytes());
            m.extend_from_slice(&2u16.to_ne_bytes());
            m.extend_from_slice(&7u32.to_ne_bytes());
            m.extend_from_slice(&0u32.to_ne_bytes());
            m.extend_from_slice(&[2, 24, 0, 0, table, proto, 0, RTN_UNICAST]);
            m.extend_from_slice(&[0; 4]);
            m
        };
        let mut d = Vec::new();
        d.extend(msg(186, 254));
        d.extend(msg(12, 254));
        d.extend(msg(2, 254)); // connected
        d.extend(msg(186, 255)); // local table
        assert!(matches!(scan(&d, 7).unwrap(), Scan::More(2)));
        let mut done = Vec::new();
        done.extend_from_slice(&20u32.to_ne_bytes());
        done.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
        done.extend_from_slice(&2u16.to_ne_bytes());
        done.extend_from_slice(&7u32.to_ne_bytes());
        done.extend_from_slice(&[0; 8]);
        d.extend(done);
        assert!(matches!(scan(&d, 7).unwrap(), Scan::Done(2)));
    }

    #[test]
    fn reads_the_main_tables_prefixes() {
        let text = "Basic info: size of leaf: 48 bytes, size of tnode: 40 bytes.\nMain:\n\tAver depth:     2.40\n\tMax depth:      3\n\tLeaves:         5\n\tPrefixes:       6\n\tInternal nodes: 4\nLocal:\n\tPrefixes:       9\n";
        assert_eq!(parse_trie_prefixes(text), Some(6));
        assert_eq!(parse_trie_prefixes("Local:\n\tPrefixes: 3\n"), None);
        // Here, if the statistics exist, nothing was added since opening.
        let c = RouteCounter::open_here().unwrap();
        if let Some(n) = c.quick_count() {
            assert_eq!(n, 0);
        }
    }

    #[test]
    fn reads_the_ipv6_entries() {
        assert_eq!(
            parse_rt6_entries("000b 0007 0018 000a 0000 0000 0008\n"),
            Some(10)
        );
        // Wider than four digits past 65,535 routes.
        assert_eq!(
            parse_rt6_entries("3d0a1 3d090 3d0a8 3d0a0 0 0 8\n"),
            Some(250_016)
        );
        assert_eq!(parse_rt6_entries("000b 0007\n"), None);
        let c = RouteCounter::open_here().unwrap();
        if let Some(n) = c.quick_count6() {
            assert!(n < 1_000, "{n} IPv6 routes added since opening");
        }
    }

    #[test]
    fn dumps_the_current_namespace() {
        // Whatever the host holds, the dumps must complete.
        let c = RouteCounter::open_here().unwrap();
        c.count().unwrap();
        c.count6().unwrap();
    }
}
