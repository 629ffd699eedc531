//! The run's two network namespaces and the veth link between them (made
//! with `testbed`, removed on drop), and the harness's process setup.
//!
//! Layout of one run: namespace `rbbench-<pid>-dut` holds the daemon and
//! veth end `rbb0` (10.99.0.1/16); `rbbench-<pid>-peers` holds `rbb1`
//! with the monitor's address (10.99.0.2) and one address per feeder. The
//! /16 leaves room for the 1,000 sessions of scenario D.

use crate::Result;
use std::net::Ipv4Addr;
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
    /// speakers' veth end.
    pub fn create(tag: &str, peer_addrs: &[Ipv4Addr]) -> Result<Topology> {
        let me = std::process::id();
        let dut = Netns::create(&format!("{NS_PREFIX}{me}-{tag}-dut"))?;
        let peers = Netns::create(&format!("{NS_PREFIX}{me}-{tag}-peers"))?;
        veth(&dut, "rbb0", &peers, "rbb1")?;
        dut.ip_batch(&format!(
            "addr add {DUT_ADDR}/16 dev rbb0\nlink set rbb0 up\n"
        ))?;
        let mut lines = format!("addr add {MONITOR_ADDR}/16 dev rbb1\n");
        for a in peer_addrs {
            lines.push_str(&format!("addr add {a}/16 dev rbb1\n"));
        }
        lines.push_str("link set rbb1 up\n");
        peers.ip_batch(&lines)?;
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
