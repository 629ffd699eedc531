//! The run's two network namespaces and the veth link between them (made
//! with `testbed`, removed on drop), and the harness's process setup.
//!
//! Layout of one run: namespace `rbbench-<pid>-dut` holds the daemon and
//! veth end `rbb0` (10.99.0.1/16); `rbbench-<pid>-peers` holds `rbb1`
//! with the monitor's address (10.99.0.2) and one address per feeder. The
//! /16 leaves room for the 1,000 sessions of scenario D.
//!
//! A dual-stack run (scenario F) also puts fd99::/64 on the link: fd99::1
//! on `rbb0` and each feeder's IPv6 address (fd99::1:1, fd99::1:2, ...,
//! like its IPv4 one) on `rbb1`, the next hops of the IPv6 routes; the
//! sessions themselves stay on IPv4. Without duplicate address detection,
//! so the addresses are usable at once (BIRD ignores tentative ones).

use crate::Result;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use testbed::netns::{destroy, list, veth};
use testbed::Netns;

/// Every namespace the harness makes starts with this.
pub const NS_PREFIX: &str = "rbbench-";
/// The daemon's address.
pub const DUT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
/// The monitor's address.
pub const MONITOR_ADDR: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);
/// The stalled peer's address (`--stalled`).
pub const STALLED_ADDR: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 3);
/// The daemon's IPv6 address on the link (dual stack): its next hop for
/// the IPv6 routes it passes on, where a daemon needs one (BIRD).
pub const DUT_ADDR6: Ipv6Addr = Ipv6Addr::new(0xfd99, 0, 0, 0, 0, 0, 0, 1);
/// The link's IPv6 prefix length (fd99::/64, unique-local).
pub const LINK6_PREFIX: u8 = 64;

/// The IPv6 address matching a bench IPv4 address 10.99.c.d: fd99::c:d
/// (the feeders' IPv6 next hops).
pub fn addr6_of(v4: Ipv4Addr) -> Ipv6Addr {
    let [_, _, c, d] = v4.octets();
    Ipv6Addr::new(0xfd99, 0, 0, 0, 0, 0, u16::from(c), u16::from(d))
}

/// Blocks SIGINT and SIGTERM in this thread (call it before any other
/// thread exists, so that all inherit the mask) and starts a thread that
/// waits for them, removes this process's namespaces (killing the daemons
/// inside) and exits. Without it, Ctrl-C would leave namespaces behind.
pub fn cleanup_on_signal() {
    // SAFETY: sigset manipulation on a local set, then pthread_sigmask on
    // the calling thread; sigwait in the helper thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        std::thread::spawn(move || {
            let mut sig = 0;
            libc::sigwait(&set, &mut sig);
            let mine = format!("{NS_PREFIX}{}-", std::process::id());
            let _ = testbed::netns::destroy_matching(&mine);
            eprintln!("bench: stopped by signal {sig}; namespaces removed");
            std::process::exit(130);
        });
    }
}

/// Removes `rbbench-<pid>-*` namespaces whose harness process is gone.
pub fn remove_stale() {
    for name in list().unwrap_or_default() {
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            destroy(&name);
        }
    }
}

/// The two namespaces of a run and the veth pair between them.
#[derive(Debug)]
pub struct Topology {
    /// The daemon's namespace.
    pub dut: Netns,
    /// The speakers' namespace.
    pub peers: Netns,
}

impl Topology {
    /// Builds the topology; `peer_addrs` (besides the monitor's) go on the
    /// speakers' veth end, and so do `peer_addrs6`; when there are any,
    /// the daemon's end gets [`DUT_ADDR6`] too (dual stack).
    pub fn create(
        tag: &str,
        peer_addrs: &[Ipv4Addr],
        peer_addrs6: &[Ipv6Addr],
    ) -> Result<Topology> {
        let me = std::process::id();
        let dut = Netns::create(&format!("{NS_PREFIX}{me}-{tag}-dut"))?;
        let peers = Netns::create(&format!("{NS_PREFIX}{me}-{tag}-peers"))?;
        veth(&dut, "rbb0", &peers, "rbb1")?;
        let mut lines = format!("addr add {DUT_ADDR}/16 dev rbb0\n");
        if !peer_addrs6.is_empty() {
            lines.push_str(&format!(
                "addr add {DUT_ADDR6}/{LINK6_PREFIX} dev rbb0 nodad\n"
            ));
        }
        lines.push_str("link set rbb0 up\n");
        dut.ip_batch(&lines)?;
        let mut lines = format!("addr add {MONITOR_ADDR}/16 dev rbb1\n");
        for a in peer_addrs {
            lines.push_str(&format!("addr add {a}/16 dev rbb1\n"));
        }
        for a in peer_addrs6 {
            lines.push_str(&format!("addr add {a}/{LINK6_PREFIX} dev rbb1 nodad\n"));
        }
        lines.push_str("link set rbb1 up\n");
        peers.ip_batch(&lines)?;
        // Every speaker is a neighbour of the daemon on the one link, past
        // the kernel's 1,024 learned entries (gc_thresh3, not settable
        // inside a namespace) for a 10,000-session run: permanent entries
        // do not count against it.
        let mac = peers.exec("cat", &["/sys/class/net/rbb1/address"])?;
        let mac = mac.trim();
        let mut lines = String::new();
        for a in std::iter::once(&MONITOR_ADDR).chain(peer_addrs) {
            lines.push_str(&format!(
                "neigh replace {a} lladdr {mac} dev rbb0 nud permanent\n"
            ));
        }
        for a in peer_addrs6 {
            lines.push_str(&format!(
                "neigh replace {a} lladdr {mac} dev rbb0 nud permanent\n"
            ));
        }
        dut.ip_batch(&lines)?;
        Ok(Topology { dut, peers })
    }
}

/// Raises the open-file limit to the hard limit (1,000 sessions need
/// more than the usual 1,024 descriptors, on both sides).
pub fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_mirror_the_ipv4_ones() {
        assert_eq!(
            addr6_of(Ipv4Addr::new(10, 99, 1, 1)).to_string(),
            "fd99::1:1"
        );
        assert_eq!(
            addr6_of(Ipv4Addr::new(10, 99, 4, 250)).to_string(),
            "fd99::4:fa"
        );
        assert_eq!(addr6_of(DUT_ADDR), DUT_ADDR6);
    }
}
