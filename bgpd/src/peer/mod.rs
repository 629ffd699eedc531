//! Neighbor sessions: one tokio task per neighbor drives the sans-IO
//! [`bgp_proto::fsm::Fsm`] over its TCP connection(s); one listener task
//! per listen address hands accepted connections to the right neighbor,
//! or creates a dynamic neighbor when the source falls in a configured
//! `range`, and closes anything else before a single BGP octet.
//!
//! The daemon core talks to neighbors only through [`PeerManager`]
//! ([`PeerCommand`] in) and the [`PeerEvent`] channel (out).
//!
//! ```text
//!   listener tasks ──accepted TcpStream──►┐
//!   PeerManager::send ──PeerCommand──────►├─► neighbor task ──► PeerEvent ──► core
//!                                          │     (Fsm, sockets, timers)
//!                                          └─ writer task per connection
//! ```
//!
//! Invariants: UPDATEs are never sent before Established (the task drops
//! them, counting nothing); every state change and NOTIFICATION is logged
//! with the peer address and AS.

mod burst;
mod conn;
mod dial;
mod link_discovery;
mod links;
mod listener;
mod mailbox;
mod manager;
mod registry;
pub(crate) mod router_advert;
mod setup_log;
mod shared;
pub mod sockopt;
pub mod spec;
mod task;

pub use burst::UpdateBurst;
pub use manager::PeerManager;
pub use registry::Counts as RegistryCounts;
pub use spec::{parse_family, LocalSettings, NeighborSpec, TtlPolicy};

use crate::config::NeighborConfig;
use bgp_proto::fsm::{Negotiated, State};
use bgp_proto::{Family, Notification};
use serde::{Deserialize, Serialize, Serializer};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// Identifies one neighbor for the lifetime of the process. A dynamic
/// neighbor keeps its id while its range remembers it (down for less than
/// the range's `remember_time`, or shut down); one that comes back after
/// that gets a new id.
pub type PeerId = u32;

/// Everything the core needs to know about a session that came up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionInfo {
    /// Peer address.
    pub addr: IpAddr,
    /// Remote socket address of the connection.
    pub remote: SocketAddr,
    /// Local socket address of the connection (our next hop towards it).
    pub local: SocketAddr,
    /// Peer AS.
    pub remote_as: u32,
    /// Our AS.
    pub local_as: u32,
    /// External session.
    pub ebgp: bool,
    /// What was negotiated.
    pub negotiated: Negotiated,
    /// Description from the config.
    pub description: Option<String>,
    /// Created from a `range`.
    pub dynamic: bool,
    /// The neighbor's config entry (for a dynamic neighbor, its range's).
    pub config: NeighborConfig,
}

/// Most UPDATEs in one [`PeerEvent::Update`]; the core's queue holds
/// [`EVENT_QUEUE`] events, so at most their product is in flight.
pub const UPDATE_BURST: usize = 16;

/// Capacity of the core's event queue (events, not UPDATEs).
pub const EVENT_QUEUE: usize = 16 * 1024;

/// What neighbor tasks tell the core. Events serialise, so that a
/// recorded run replays (`rbgpd --record`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)] // one per session event
pub enum PeerEvent {
    /// The session is up.
    Established {
        /// Neighbor.
        peer: PeerId,
        /// Session details (boxed: every event in the core's queue is as
        /// large as the largest kind, and UPDATEs are the many).
        info: Box<SessionInfo>,
    },
    /// UPDATEs arrived on an Established session, in order (RFC 7606
    /// handling is the core's). Those one read brought are sent together
    /// (at most [`UPDATE_BURST`]): one hand-over to the core per read, not
    /// per message.
    Update {
        /// Neighbor.
        peer: PeerId,
        /// The UPDATEs, zero-copy, with their codec context.
        updates: UpdateBurst,
    },
    /// The peer asked for a route refresh of a family it negotiated.
    RouteRefresh {
        /// Neighbor.
        peer: PeerId,
        /// Family to refresh.
        family: Family,
    },
    /// An Established session went down.
    Down {
        /// Neighbor.
        peer: PeerId,
        /// Why, for logs and the CLI.
        reason: String,
        /// The NOTIFICATION sent or received, if any.
        notification: Option<Notification>,
        /// The GR helper should keep the peer's routes as stale (GR
        /// negotiated and RFC 4724 / RFC 8538 say the end was graceful).
        graceful: bool,
    },
    /// The connection's write queue passed its high-water mark
    /// (`congested`) or drained below its low-water mark again: the core
    /// holds the neighbor's exports meanwhile, so a peer that reads slowly
    /// or not at all cannot make the queue grow without bound.
    Congested {
        /// Neighbor.
        peer: PeerId,
        /// Blocked (true) or writable again (false).
        congested: bool,
    },
    /// The neighbor is gone: de-configured, or a dynamic neighbor its range
    /// forgot (down longer than `remember_time`, pushed out by newer ones,
    /// or its range reloaded away). Its id is not used again.
    Removed {
        /// Neighbor.
        peer: PeerId,
    },
    /// A connection to a neighbor with BFD is up (sent before its OPEN,
    /// so that the core starts the BFD session the BGP session may wait
    /// for).
    Connected {
        /// Neighbor.
        peer: PeerId,
        /// Remote socket address of the connection.
        remote: SocketAddr,
        /// Local socket address of the connection.
        local: SocketAddr,
        /// The neighbor's BFD timers.
        bfd: crate::config::BfdTimers,
        /// A multihop session (RFC 5883).
        multihop: bool,
    },
    /// The FSM state changed.
    State {
        /// Neighbor.
        peer: PeerId,
        /// Its address.
        addr: IpAddr,
        /// New state.
        state: State,
    },
}

/// Commands from the core to one neighbor.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PeerCommand {
    /// Send these pre-encoded UPDATE messages (dropped unless Established);
    /// a buffer may hold several whole messages (one shared by a group of
    /// sessions: [`messages`] splits them).
    Send(#[serde(serialize_with = "hex_messages")] Vec<bytes::Bytes>),
    /// Close the session (Cease / Administrative Reset) and start again.
    Reset,
    /// Close the session with this NOTIFICATION (Cease / BFD Down) and
    /// start again.
    ResetWith(Notification),
    /// Close the session with this NOTIFICATION (default Cease /
    /// Administrative Shutdown) and stay down until [`PeerCommand::Enable`].
    Shutdown(Option<Notification>),
    /// Start a shut-down neighbor.
    Enable,
    /// Send a ROUTE-REFRESH for a family (ignored unless route refresh was
    /// negotiated).
    RequestRefresh(Family),
    /// The neighbor's BFD session came up or went down (in strict mode,
    /// OPENs wait for up).
    Bfd {
        /// Up.
        up: bool,
    },
}

/// Message counters of one neighbor, over its lifetime.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// OPENs received.
    pub opens_in: u64,
    /// OPENs sent.
    pub opens_out: u64,
    /// UPDATEs received.
    pub updates_in: u64,
    /// UPDATEs sent.
    pub updates_out: u64,
    /// KEEPALIVEs received.
    pub keepalives_in: u64,
    /// KEEPALIVEs sent.
    pub keepalives_out: u64,
    /// NOTIFICATIONs received.
    pub notifications_in: u64,
    /// NOTIFICATIONs sent.
    pub notifications_out: u64,
    /// ROUTE-REFRESHes received.
    pub route_refresh_in: u64,
    /// ROUTE-REFRESHes sent.
    pub route_refresh_out: u64,
    /// Times the session reached Established.
    pub established: u64,
}

/// The state of one neighbor, for `show peers`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Neighbor id.
    pub id: PeerId,
    /// Peer address.
    pub addr: IpAddr,
    /// Peer AS: the last session's, else the one the config allows (0
    /// for an `external` or list neighbor not yet up).
    pub remote_as: u32,
    /// Description from the config.
    pub description: Option<String>,
    /// Created from a `range` (or an `interface`).
    pub dynamic: bool,
    /// The link of an unnumbered neighbor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// FSM state.
    pub state: State,
    /// Time since the session reached Established (filled by
    /// [`PeerManager::peers`]).
    pub uptime: Option<Duration>,
    /// When the session reached Established.
    #[serde(skip)]
    pub established_at: Option<Instant>,
    /// Message counters.
    pub counters: Counters,
    /// Last error (why the session last went down or failed to come up).
    pub last_error: Option<String>,
    /// Last NOTIFICATION sent or received, described.
    pub last_notification: Option<String>,
    /// Remote socket address of the current connection.
    pub remote: Option<SocketAddr>,
    /// Local socket address of the current connection.
    pub local: Option<SocketAddr>,
    /// What was negotiated, while Established.
    pub negotiated: Option<Negotiated>,
}

impl PeerStatus {
    fn new(id: PeerId, spec: &NeighborSpec) -> Self {
        PeerStatus {
            id,
            addr: spec.addr,
            remote_as: spec.config.remote_as.exact(spec.local.asn).unwrap_or(0),
            description: spec.config.description.clone(),
            dynamic: spec.dynamic,
            interface: spec.link.as_ref().map(|l| l.name.clone()),
            state: State::Idle,
            uptime: None,
            established_at: None,
            counters: Counters::default(),
            last_error: None,
            last_notification: None,
            remote: None,
            local: None,
            negotiated: None,
        }
    }
}

/// The whole BGP messages in `buf`, each a slice of it (a trailing
/// partial message, which the core never produces, is left out).
pub fn messages(buf: &bytes::Bytes) -> impl Iterator<Item = bytes::Bytes> + '_ {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let len = buf.get(at + 16..at + 18)?;
        let len = usize::from(u16::from_be_bytes([*len.first()?, *len.get(1)?]));
        if len < 19 || at + len > buf.len() {
            return None;
        }
        let m = buf.slice(at..at + len);
        at += len;
        Some(m)
    })
}

/// Messages as hex strings (recorded outputs), each on its own however
/// they were buffered: a recording does not depend on how the core shared
/// its buffers.
fn hex_messages<S: Serializer>(msgs: &[bytes::Bytes], s: S) -> Result<S::Ok, S::Error> {
    use std::fmt::Write;
    s.collect_seq(msgs.iter().flat_map(messages).map(|m| {
        let mut h = String::with_capacity(m.len() * 2);
        for b in m.iter() {
            let _ = write!(h, "{b:02x}");
        }
        h
    }))
}
