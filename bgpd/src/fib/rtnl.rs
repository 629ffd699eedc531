//! Reading the links and addresses that make the connected networks, with
//! the `rtnetlink` crate (whose connection `neigh.rs` shares for the
//! neighbour table).
//!
//! These are small dumps (at start, with every scan, after each link or
//! address change), where the crate's request API (one stream of decoded
//! messages per request) costs nothing we would notice and saves a
//! hand-rolled request and reply loop. Our routes stay on the raw socket
//! of `netlink.rs`: writes share one `sendmsg` and one ACK among hundreds
//! of hand-encoded requests, and a full route dump through the crate, where
//! every decoded route passes through its connection task and an unbounded
//! channel, raised the FIB bench's peak RSS from 136 to 164 MiB at 210,000
//! routes for the same speed (every scan dumps the whole table). Nexthop
//! objects stay raw too (`nexthops.rs`): `netlink-packet-route` does not
//! model them.

use std::collections::HashSet;

use futures::TryStreamExt;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkFlags, LinkMessage};

use bgp_proto::Prefix;

use super::{Connected, FibError};

/// A connection for link and address dumps, with its task on the tokio
/// runtime.
#[derive(Debug)]
pub(super) struct Rtnl {
    handle: rtnetlink::Handle,
}

impl Rtnl {
    /// Opens the socket in the current thread's network namespace (it keeps
    /// it for life) and spawns its connection task on the current tokio
    /// runtime. The task ends when this is dropped.
    pub(super) fn open() -> Result<Self, FibError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| FibError::Worker(format!("rtnetlink needs a tokio runtime: {e}")))?;
        let (connection, handle, unsolicited) =
            rtnetlink::new_connection().map_err(|source| FibError::Io {
                op: "rtnetlink socket",
                source,
            })?;
        // Nothing is subscribed; without a receiver the task stops once
        // `handle` is dropped.
        drop(unsolicited);
        runtime.spawn(connection);
        Ok(Rtnl { handle })
    }

    /// The crate's handle, for the neighbour requests of `neigh.rs`.
    pub(super) fn handle(&self) -> &rtnetlink::Handle {
        &self.handle
    }

    /// The connected networks: the addresses on links that are up.
    pub(super) async fn connected(&self) -> Result<Vec<Connected>, FibError> {
        connected_networks(&self.handle, false).await
    }
}

/// The connected networks read over `handle`: the addresses on links that
/// are up (and, with `carrier`, that have a carrier: a network whose cable
/// is out is not worth announcing).
pub async fn connected_networks(
    handle: &rtnetlink::Handle,
    carrier: bool,
) -> Result<Vec<Connected>, FibError> {
    let mut up = HashSet::new();
    let mut links = handle.link().get().execute();
    while let Some(link) = links.try_next().await.map_err(failed("link dump"))? {
        let (index, is_up) = link_up(&link);
        if is_up && (!carrier || link.header.flags.contains(LinkFlags::LowerUp)) {
            up.insert(index);
        }
    }
    let mut out = Vec::new();
    let mut addrs = handle.address().get().execute();
    while let Some(addr) = addrs.try_next().await.map_err(failed("address dump"))? {
        out.extend(to_connected(&addr).filter(|c| up.contains(&c.ifindex)));
    }
    Ok(out)
}

/// Maps an rtnetlink error of `op`: the kernel's errno, or a decode error.
pub(super) fn failed(op: &'static str) -> impl Fn(rtnetlink::Error) -> FibError {
    move |e| match e {
        rtnetlink::Error::NetlinkError(msg) => FibError::Io {
            op,
            source: msg.to_io(),
        },
        other => FibError::Decode(format!("{op}: {other}")),
    }
}

/// Link index and whether it is administratively up.
fn link_up(m: &LinkMessage) -> (u32, bool) {
    (m.header.index, m.header.flags.contains(LinkFlags::Up))
}

/// The connected network of an address message.
fn to_connected(m: &AddressMessage) -> Option<Connected> {
    let pick = |want_local: bool| {
        m.attributes.iter().find_map(|a| match (a, want_local) {
            (AddressAttribute::Local(ip), true) | (AddressAttribute::Address(ip), false) => {
                Some(*ip)
            }
            _ => None,
        })
    };
    let local = pick(true).or_else(|| pick(false))?;
    // With a peer address (point-to-point) IFA_ADDRESS is the peer's side.
    let net = pick(false).unwrap_or(local);
    let prefix = Prefix::new(net, m.header.prefix_len)?;
    Some(Connected {
        prefix,
        local,
        ifindex: m.header.index,
    })
}
