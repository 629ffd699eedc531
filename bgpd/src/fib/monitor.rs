//! Kernel change notifications: links, addresses and routes.
//!
//! Changes of our routes by others (not deletions) are left to the periodic
//! scan. The monitor only says *what kind* of thing changed; the driver task
//! answers with a targeted action (re-read connected networks, or a
//! dump-and-diff of our routes), so it never has to trust the details of a
//! notification (IPv6 ECMP routes are notified per next hop on some kernels).

use bgp_proto::Prefix;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::Socket;
use tokio::io::unix::AsyncFd;

use super::netlink::{open_socket, NetlinkOptions};
use super::nexthops::{self, NH_PROTOCOL_OFFSET, RTM_DELNEXTHOP};
use super::nlmsg::{self, Reply, RouteParams};
use super::FibError;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
/// `rtm_protocol` in a route message: after `nlmsghdr` and 5 bytes of `rtmsg`.
const RTM_PROTOCOL_OFFSET: usize = nlmsg::NLMSG_HDRLEN + 5;

const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
const RTNLGRP_NEXTHOP: u32 = 32;

/// Attaches a classic BPF filter that drops `RTM_NEWROUTE` notifications
/// before they are queued. The monitor acts only on deletions, while every
/// route we install echoes one `RTM_NEWROUTE`: at a full table that is a
/// million wake-ups and reads, and a receive buffer that overflows into a
/// needless full resync.
fn drop_new_routes(sock: &Socket) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    // `ldh` loads in network byte order; nlmsg_type is in host order.
    let new_route = u32::from(u16::from_be_bytes(nlmsg::RTM_NEWROUTE.to_ne_bytes()));
    let code = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let program = [
        // A = nlmsg_type (offset 4 of the one message of a notification)
        code(libc::BPF_LD | libc::BPF_H | libc::BPF_ABS, 4, 0, 0),
        // if A == RTM_NEWROUTE goto drop else goto accept
        code(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, new_route, 1, 0),
        code(libc::BPF_RET | libc::BPF_K, u32::MAX, 0, 0),
        code(libc::BPF_RET | libc::BPF_K, 0, 0, 0),
    ];
    let prog = libc::sock_fprog {
        len: program.len() as u16,
        filter: program.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `program`, both live across the call; the
    // kernel copies the program.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            std::ptr::addr_of!(prog).cast(),
            std::mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// A `u32` field of a link message's `struct ifinfomsg { u8 family, pad;
/// u16 type; i32 index; u32 flags; u32 change; }` at `offset`.
fn ifinfo_u32(msg: &[u8], offset: usize) -> Option<u32> {
    let at = nlmsg::NLMSG_HDRLEN + offset;
    msg.get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_ne_bytes)
}

/// The interface index of a link message.
fn link_index(msg: &[u8]) -> Option<u32> {
    ifinfo_u32(msg, 4)
}

/// Whether an `RTM_NEWLINK` says the link is up and running.
fn link_running(msg: &[u8]) -> bool {
    const IFF_UP: u32 = 0x1;
    const IFF_RUNNING: u32 = 0x40;
    ifinfo_u32(msg, 8).is_some_and(|f| f & (IFF_UP | IFF_RUNNING) == IFF_UP | IFF_RUNNING)
}

/// Something changed in the kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KernelEvent {
    /// A link or address changed: connected networks may differ.
    Connected,
    /// One of our routes (protocol, table, metric) was deleted.
    RouteDeleted(Prefix),
    /// The link with this index is down or gone: the kernel flushed the
    /// routes (and nexthop objects) through it without a word, and the
    /// connected networks changed, perhaps only for a moment.
    LinkDown(u32),
    /// A nexthop object carrying our protocol was deleted (the kernel
    /// deleted the routes naming it, without telling).
    NexthopDeleted(u32),
    /// Notifications were dropped (`ENOBUFS`): anything may have changed.
    Overrun,
}

/// A netlink socket subscribed to link, address and route notifications.
#[derive(Debug)]
pub struct FibMonitor {
    fd: AsyncFd<Socket>,
    params: RouteParams,
    rx: Vec<u8>,
}

impl FibMonitor {
    /// Subscribes in the current thread's network namespace. Must be called
    /// inside a tokio runtime.
    pub fn new(opts: &NetlinkOptions) -> Result<Self, FibError> {
        let groups = [
            RTNLGRP_LINK,
            RTNLGRP_IPV4_IFADDR,
            RTNLGRP_IPV4_ROUTE,
            RTNLGRP_IPV6_IFADDR,
            RTNLGRP_IPV6_ROUTE,
        ];
        let sock = open_socket(opts.socket_buffer, &groups)?;
        // Kernels without nexthop objects have no such group.
        if let Err(e) = sock.add_membership(RTNLGRP_NEXTHOP) {
            tracing::debug!(error = %e, "no nexthop notifications");
        }
        if let Err(e) = drop_new_routes(&sock) {
            // Still correct, only slower under a big load.
            tracing::debug!(error = %e, "no socket filter on the FIB monitor");
        }
        sock.set_non_blocking(true).map_err(|source| FibError::Io {
            op: "nonblock",
            source,
        })?;
        // SAFETY: `Socket` owns its fd, which stays open and the same until
        // the socket is dropped together with the `AsyncFd`.
        let fd = unsafe { AsyncFd::register(sock) }.map_err(|e| FibError::Io {
            op: "asyncfd",
            source: e.into_parts().1,
        })?;
        Ok(FibMonitor {
            fd,
            params: opts.params(),
            rx: Vec::with_capacity(64 * 1024),
        })
    }

    /// Waits for the next notifications (at least one event).
    pub async fn next(&mut self) -> Result<Vec<KernelEvent>, FibError> {
        loop {
            let mut guard = self
                .fd
                .readable()
                .await
                .map_err(|source| FibError::Io { op: "poll", source })?;
            self.rx.clear();
            let rx = &mut self.rx;
            match guard.try_io(|s| s.get_ref().recv(rx, 0)) {
                Ok(Ok(_)) => {
                    let events = self.decode();
                    if !events.is_empty() {
                        return Ok(events);
                    }
                }
                Ok(Err(e)) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Ok(vec![KernelEvent::Overrun])
                }
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Ok(Err(source)) => {
                    return Err(FibError::Io {
                        op: "monitor recv",
                        source,
                    })
                }
                Err(_would_block) => {}
            }
        }
    }

    fn decode(&self) -> Vec<KernelEvent> {
        decode_events(&self.rx, &self.params)
    }
}

/// The events in a buffer of notifications (consecutive duplicates
/// merged). Never fails: what cannot be read is skipped.
pub(super) fn decode_events(buf: &[u8], params: &RouteParams) -> Vec<KernelEvent> {
    let mut out = Vec::new();
    for msg in nlmsg::split(buf) {
        let Some((kind, _)) = nlmsg::header(msg) else {
            continue;
        };
        let ev = match kind {
            RTM_DELLINK => link_index(msg).map(KernelEvent::LinkDown),
            RTM_NEWLINK if !link_running(msg) => link_index(msg).map(KernelEvent::LinkDown),
            RTM_NEWLINK | RTM_NEWADDR | RTM_DELADDR => Some(KernelEvent::Connected),
            // Only parse deletions carrying our protocol number: a big
            // load echoes one notification per route we write.
            nlmsg::RTM_DELROUTE if msg.get(RTM_PROTOCOL_OFFSET) == Some(&params.protocol) => {
                match nlmsg::decode(msg) {
                    Ok(Reply::Msg(m)) => match *m {
                        RouteNetlinkMessage::DelRoute(r) if nlmsg::is_ours(&r, params) => {
                            nlmsg::route_prefix(&r).map(KernelEvent::RouteDeleted)
                        }
                        _ => None,
                    },
                    _ => None,
                }
            }
            RTM_DELNEXTHOP if msg.get(NH_PROTOCOL_OFFSET) == Some(&params.protocol) => {
                nexthops::parse(msg).map(|n| KernelEvent::NexthopDeleted(n.id))
            }
            _ => None,
        };
        if let Some(ev) = ev {
            if out.last() != Some(&ev) {
                out.push(ev);
            }
        }
    }
    out
}
