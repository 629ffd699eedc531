//! A ping of all nodes on a link (ICMPv6 echo request to `ff02::1`), to
//! fill our IPv6 neighbour table: a node that answers and has no entry
//! for us first solicits our address, and its Neighbor Solicitation
//! carries its own link-layer address, which the kernel enters in the
//! table (RFC 4861 §7.2.3). A node that has one probes it a few seconds
//! later (its entry goes stale), with the same effect.
//!
//! Needs a raw ICMPv6 socket (`CAP_NET_RAW`, which root and Docker's
//! default capabilities have). Without one, the stand-ins of nodes whose
//! link-local address is not derived from their MAC (EUI-64) are found
//! only once other traffic brought them into the table; said once in the
//! log.

use std::net::{Ipv6Addr, SocketAddrV6};

use socket2::{Domain, Protocol, Socket, Type};

/// The raw socket, opened on first use.
#[derive(Debug, Default)]
pub(super) struct AllNodesPinger {
    socket: Option<Socket>,
    /// Opening it failed (said once, not retried).
    unavailable: bool,
    seq: u16,
}

impl AllNodesPinger {
    /// Sends one echo request to `ff02::1` on interface `ifindex`.
    pub(super) fn ping(&mut self, ifindex: u32) {
        self.seq = self.seq.wrapping_add(1);
        let [s0, s1] = self.seq.to_be_bytes();
        let Some(socket) = self.socket() else {
            return;
        };
        // Type 128 (echo request), code 0, checksum (the kernel fills it
        // in for ICMPv6 raw sockets), identifier, sequence.
        let echo = [128, 0, 0, 0, 0x72, 0x62, s0, s1];
        let all_nodes =
            SocketAddrV6::new(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1), 0, 0, ifindex);
        let sent = socket
            .set_multicast_if_v6(ifindex)
            .and_then(|()| socket.send_to(&echo, &all_nodes.into()));
        if let Err(e) = sent {
            tracing::debug!(ifindex, error = %e, "ping of all nodes");
        }
    }

    fn socket(&mut self) -> Option<&Socket> {
        if self.socket.is_none() && !self.unavailable {
            match open() {
                Ok(s) => self.socket = Some(s),
                Err(e) => {
                    self.unavailable = true;
                    tracing::info!(error = %e, "no raw ICMPv6 socket: IPv6 neighbours are not pinged (only resolved by their EUI-64 link-local address)");
                }
            }
        }
        self.socket.as_ref()
    }
}

/// A non-blocking raw ICMPv6 socket that receives nothing (every type
/// filtered out), sending with hop limit 1.
fn open() -> std::io::Result<Socket> {
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    s.set_nonblocking(true)?;
    s.set_multicast_hops_v6(1)?;
    s.set_multicast_loop_v6(false)?;
    crate::peer::router_advert::set_icmp6_filter(&s, &[])?;
    Ok(s)
}
