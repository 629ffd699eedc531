//! # The kernel FIB writer
//!
//! DOC: the RIB hands this module the routes it wants forwarded, as
//! [`FibChange`]s (a prefix and its ECMP next hops; no next hops means
//! "withdraw"). The [`FibManager`] keeps that *desired* table, resolves every
//! next hop against the connected networks (an address on an interface that
//! is up), and pushes the difference between what it wants and what the
//! kernel holds to a [`Fib`] backend as a batch of [`FibOp`]s:
//!
//! - [`MemoryFib`]: an in-memory table for unit tests;
//! - [`NetlinkFib`]: the Linux kernel over a raw rtnetlink socket, routes
//!   tagged `proto bgp` (186), in the configured table and metric; each
//!   distinct next-hop list is one shared kernel nexthop object that routes
//!   name by id, where the kernel has them (`nexthops`).
//!
//! Invariants:
//! - only this module talks netlink;
//! - we only ever write or delete routes carrying our protocol number in our
//!   table, so routes of other protocols are never touched (deletes match on
//!   the protocol; note that the kernel's `NLM_F_REPLACE` would overwrite a
//!   foreign route with the same prefix, table *and metric*, so the metric
//!   should be one no other routing daemon uses, like BIRD's 32);
//! - in the neighbour table we only ask the kernel to resolve the gateways
//!   of stale routes (`neigh`), and the IPv4 gateways of IPv6 routes and
//!   their nodes' IPv6 addresses (`stand_in`): no address or state of ours
//!   is ever set, and entries others configured or manage are never
//!   touched;
//! - an IPv6 route via IPv4 gateways (learned over an IPv4 session), which
//!   Linux cannot route, goes via the IPv6 address of the same node on the
//!   same link: the IPv6 neighbour with the gateway's MAC address
//!   (`stand_in`);
//! - a change of next hops is one `NLM_F_REPLACE` request, so a route is never
//!   briefly absent;
//! - a route whose next hops are all unreachable is *pending*, not installed,
//!   and is installed as soon as a covering address appears;
//! - until [`FibManager::startup_complete`], routes found in the kernel at
//!   start (from a previous run) are kept even if not (yet) wanted, unless
//!   the core removes them one by one ([`FibManager::remove_stale`]): the
//!   manager asks the kernel whether their gateways still answer ARP/ND
//!   ([`Fib::probe_gateways`]) and the summary the core polls says which do
//!   not.
//!
//! The driver task ([`spawn`], [`FibHandle`]) runs the manager, a kernel
//! monitor and a periodic scan that puts back routes deleted or changed
//! behind our back.

mod all_nodes;
mod lists;
mod manager;
mod memory;
mod monitor;
mod neigh;
mod netlink;
mod nexthops;
mod nlmsg;
mod prefix_map;
mod rtnl;
mod stand_in;
mod status;
mod table;
mod tables;
mod task;
pub mod vrf;

use std::fmt;
use std::future::Future;
use std::net::IpAddr;

use bgp_proto::Prefix;
use serde::{Deserialize, Serialize};

pub use lists::ListId;
pub use manager::FibManager;
pub use memory::MemoryFib;
pub use monitor::{FibMonitor, KernelEvent};
pub use netlink::{NetlinkFib, NetlinkOptions};
/// A desired-state change from the RIB: the best paths for a prefix (no
/// next hops: withdraw). The RIB's own type: the FIB takes what the RIB
/// drains, as is.
pub use rib::FibChange;
pub use rtnl::connected_networks;
pub use stand_in::{Mac, Neighbour, Solicit, StandIn};
pub use status::{FibRouteState, FibStatus, FibStatusEntry, FibSummary};
pub use tables::FibTables;
pub use task::{spawn, spawn_netlink, FibHandle, DEFAULT_SCAN_INTERVAL};

/// Protocol number our routes carry in the kernel (`RTPROT_BGP`).
pub const RTPROT_BGP: u8 = 186;

/// One next hop of a kernel route: a gateway and the interface it is
/// reached through (0 lets the kernel pick the interface).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NextHop {
    /// The gateway. An IPv4 gateway of an IPv6 route is written as
    /// `RTA_VIA` (`via inet 172.18.0.2`), and likewise the other way round.
    pub gateway: IpAddr,
    /// Outgoing interface index, 0 for "unspecified".
    pub ifindex: u32,
}

impl fmt::Display for NextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ifindex == 0 {
            write!(f, "via {}", self.gateway)
        } else {
            write!(f, "via {} if {}", self.gateway, self.ifindex)
        }
    }
}

/// A route as written to (or read from) a FIB backend: our protocol, table
/// and metric are implied by the backend's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FibRoute {
    /// The destination.
    pub prefix: Prefix,
    /// Next hops, sorted; more than one makes an ECMP (`RTA_MULTIPATH`) route.
    pub next_hops: Vec<NextHop>,
}

impl FibRoute {
    /// A route with its next hops sorted and deduplicated (the canonical
    /// form the manager compares).
    pub fn new(prefix: Prefix, mut next_hops: Vec<NextHop>) -> Self {
        next_hops.sort();
        next_hops.dedup();
        FibRoute { prefix, next_hops }
    }
}

/// One write to a FIB backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FibOp {
    /// Create the route or replace the one with the same prefix in place.
    /// The [`ListId`] is the manager's id of the route's next hops (`None`
    /// for a route written without a manager): a backend that keeps one
    /// kernel object per list keys the object by it.
    Replace(FibRoute, Option<ListId>),
    /// Delete our route for this prefix; absent is not an error.
    Delete(Prefix),
}

impl FibOp {
    /// The prefix this op writes.
    pub fn prefix(&self) -> Prefix {
        match self {
            FibOp::Replace(r, _) => r.prefix,
            FibOp::Delete(p) => *p,
        }
    }
}

/// What the kernel's neighbour table (ARP, ND) says of a gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// It answered (or is configured): the entry holds a link-layer
    /// address.
    Reachable,
    /// The kernel tried to resolve it after we asked, and nobody answered.
    Failed,
    /// No answer yet (resolution in progress, no interface, no backend
    /// that can tell).
    Unknown,
}

/// A network directly reachable through an interface that is up: the
/// prefix of an address configured on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Connected {
    /// The on-link network.
    pub prefix: Prefix,
    /// The local address that makes it connected.
    pub local: IpAddr,
    /// The interface index.
    pub ifindex: u32,
}

/// An op of a batch the backend refused; the rest of the batch went through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpFailure {
    /// Index of the op in the batch.
    pub index: usize,
    /// Why (e.g. the kernel's errno text).
    pub error: String,
}

/// Errors of the FIB layer.
#[derive(Debug, thiserror::Error)]
pub enum FibError {
    /// A netlink socket call failed.
    #[error("netlink {op}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel dropped messages (ENOBUFS) or an ACK never came: the
    /// kernel state is unknown and must be re-read with a dump.
    #[error("netlink lost messages ({0}); kernel table must be resynced")]
    Desync(String),
    /// The kernel sent something we could not decode.
    #[error("netlink decode: {0}")]
    Decode(String),
    /// A blocking worker died.
    #[error("FIB worker failed: {0}")]
    Worker(String),
    /// The FIB task is gone.
    #[error("FIB task stopped")]
    Stopped,
}

/// A FIB backend: writes batches of ops and reads back our routes.
///
/// All methods may be called from a tokio runtime; implementations that do
/// blocking I/O move it off the async threads.
pub trait Fib: Send + 'static {
    /// Applies `batch` in order. `Ok` carries the ops the backend refused
    /// (the rest succeeded); `Err` means the outcome of the batch is unknown
    /// and the caller must resync with [`Fib::dump`]. An empty batch lets
    /// the backend finish its housekeeping (see [`Fib::release_next_hops`]).
    fn apply(
        &mut self,
        batch: &[FibOp],
    ) -> impl Future<Output = Result<Vec<OpFailure>, FibError>> + Send;

    /// Our routes (our protocol, table and metric) as the backend holds them.
    fn dump(&mut self) -> impl Future<Output = Result<Vec<FibRoute>, FibError>> + Send;

    /// The connected networks next hops are resolved against.
    fn connected(&mut self) -> impl Future<Output = Result<Vec<Connected>, FibError>> + Send;

    /// The manager's next-hop lists that no route of ours uses any more
    /// (every op that moved a route off them has been applied), with their
    /// next hops: a backend that keeps a shared kernel object per list may
    /// delete those objects. An id is not reused before this call.
    fn release_next_hops(&mut self, _lists: &[(ListId, Box<[NextHop]>)]) {}

    /// Where the kernel stands on reaching each of `gateways` (in order),
    /// having asked it to resolve those it has no fresh answer for: a
    /// gateway nothing is sent through is never resolved otherwise. Called
    /// in the start-up phase for the gateways of routes a previous run
    /// left; a backend without a neighbour table knows nothing.
    fn probe_gateways(
        &mut self,
        gateways: &[NextHop],
    ) -> impl Future<Output = Result<Vec<Reach>, FibError>> + Send {
        let unknown = vec![Reach::Unknown; gateways.len()];
        async { Ok(unknown) }
    }

    /// The entries of the kernel's neighbour tables (both families), for
    /// finding the IPv6 stand-ins of IPv4 gateways; a backend without a
    /// neighbour table has none.
    fn neighbours(&mut self) -> impl Future<Output = Result<Vec<Neighbour>, FibError>> + Send {
        async { Ok(Vec::new()) }
    }

    /// Asks the kernel for neighbour entries it lacks (see [`Solicit`]).
    /// Best effort: what fails is retried on the next round.
    fn solicit(&mut self, _asks: &[Solicit]) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The kernel nexthop object the routes on `list` name, if any.
    fn object_of(&self, _list: ListId) -> Option<u32> {
        None
    }

    /// Whether the backend holds the kernel nexthop object `id`, so its
    /// deletion behind our back took routes with it.
    fn holds_object(&self, _id: u32) -> bool {
        false
    }

    /// At exit, after our routes were deleted: removes whatever else the
    /// backend created in the kernel (nexthop objects).
    fn cleanup(&mut self) -> impl Future<Output = Result<(), FibError>> + Send {
        async { Ok(()) }
    }
}

/// Runs every parser of kernel (netlink) messages over `data` as a receive
/// buffer: the monitor's notifications, route and nexthop dump replies.
/// For the fuzz target `netlink_parse`; returns how many items were read
/// so that nothing is optimised away.
#[doc(hidden)]
pub fn fuzz_netlink(data: &[u8]) -> usize {
    use netlink_packet_route::RouteNetlinkMessage;
    let params = nlmsg::RouteParams {
        table: data.first().copied().map_or(254, u32::from),
        metric: 20,
        protocol: data.get(1).copied().unwrap_or(186),
    };
    let mut n = monitor::decode_events(data, &params).len();
    for msg in nlmsg::split(data) {
        n += usize::from(nexthops::parse(msg).is_some());
        if let Ok(nlmsg::Reply::Msg(m)) = nlmsg::decode(msg) {
            if let RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) = *m {
                n += usize::from(nlmsg::is_ours(&r, &params));
                n += nlmsg::to_fib_route(&r).map_or(0, |f| f.next_hops.len());
                n += usize::from(nlmsg::route_nh_id(&r).is_some());
            }
        }
    }
    n
}
