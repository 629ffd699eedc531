//! The control protocol between rbgpctl and rbgpd: JSON lines over a Unix
//! socket. Each request is one JSON object on one line, each answer too:
//!
//! ```text
//! -> {"v":1,"cmd":"show_peers"}
//! <- {"v":1,"type":"peers","peers":[{"address":"172.18.0.2",...}]}
//! ```
//!
//! A connection may carry several requests, answered in order. `watch`
//! turns the connection into a stream of `{"type":"event",...}` lines
//! until the client closes it.
//!
//! Field names are part of the protocol: add fields (with serde defaults so
//! older peers still parse), never rename or remove them; a change that
//! breaks that bumps [`PROTOCOL_VERSION`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Version carried in every line as `"v"`.
pub const PROTOCOL_VERSION: u32 = 1;

fn v1() -> u32 {
    PROTOCOL_VERSION
}

/// A request as sent on the wire: the version plus the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLine {
    /// Protocol version (`1`; absent means 1).
    #[serde(default = "v1")]
    pub v: u32,
    /// The command.
    #[serde(flatten)]
    pub request: Request,
}

/// A response as sent on the wire: the version plus the answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseLine {
    /// Protocol version (`1`).
    #[serde(default = "v1")]
    pub v: u32,
    /// The answer.
    #[serde(flatten)]
    pub response: Response,
}

/// What rbgpctl asks; `"cmd"` names the variant in snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    /// All peers, one [`PeerSummary`] each. Answer: [`Response::Peers`].
    ShowPeers,
    /// One peer in detail. Answer: [`Response::Peer`].
    ShowPeer {
        /// Peer address.
        address: IpAddr,
    },
    /// Loc-RIB routes. Answer: [`Response::Routes`].
    ShowRoutes(RouteQuery),
    /// Kernel FIB state. Answer: [`Response::Fib`].
    ShowFib,
    /// BFD sessions. Answer: [`Response::Bfd`].
    ShowBfd,
    /// Router summary. Answer: [`Response::Summary`].
    ShowSummary,
    /// Re-read the config file and apply it. Answer: [`Response::Reload`].
    Reload,
    /// Close the session (Cease/Administrative Reset) and let it come back.
    /// Answer: [`Response::PeerAction`].
    PeerReset {
        /// Peer address.
        address: IpAddr,
        /// Shutdown communication text (RFC 9003), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Close the session (Cease/Administrative Shutdown) and keep it down.
    /// Answer: [`Response::PeerAction`].
    PeerShutdown {
        /// Peer address.
        address: IpAddr,
        /// Shutdown communication text (RFC 9003), if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
    /// Undo a shutdown. Answer: [`Response::PeerAction`].
    PeerEnable {
        /// Peer address.
        address: IpAddr,
    },
    /// Stream [`Event`]s until the client disconnects. Answered by the
    /// server itself, not by the core.
    Watch,
    /// Every cluster: nodes, End-of-RIB, graceful restarts, service
    /// addresses. Answer: [`Response::Clusters`].
    ShowClusters,
    /// Why a prefix (or the longest match of an address) is routed as it
    /// is. Answer: [`Response::Explain`].
    Explain {
        /// `"10.11.0.0/16"` or `"10.11.192.248"`, as [`RouteQuery::prefix`].
        target: String,
    },
}

/// Which routes `show_routes` wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteQuery {
    /// `"10.11.0.0/16"`: that exact prefix; `"10.11.192.248"` (no length):
    /// the longest prefix containing that address; absent: all routes.
    /// See [`RouteQuery::target`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Only paths from this peer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<IpAddr>,
    /// Only this family: `"ipv4-unicast"` or `"ipv6-unicast"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Only the best path and the other members of its ECMP (multipath) group.
    #[serde(default)]
    pub best_only: bool,
    /// Only the routes of this kernel table: those whose best path comes
    /// from a neighbor writing there (`table`, else `[fib] table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
}

/// What [`RouteQuery::prefix`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteTarget {
    /// Exactly this prefix.
    Prefix(bgp_proto::types::Prefix),
    /// The longest prefix holding this address.
    LongestMatch(IpAddr),
}

impl RouteQuery {
    /// Parses [`RouteQuery::prefix`]; `Ok(None)` when absent.
    pub fn target(&self) -> Result<Option<RouteTarget>, String> {
        let Some(p) = &self.prefix else {
            return Ok(None);
        };
        if p.contains('/') {
            p.parse()
                .map(|p| Some(RouteTarget::Prefix(p)))
                .map_err(|e: bgp_proto::types::PrefixParseError| e.to_string())
        } else {
            p.parse().map(|a| Some(RouteTarget::LongestMatch(a))).map_err(|_| {
                format!("invalid prefix or address {p:?}: expected e.g. 10.11.0.0/16 or 10.11.192.248")
            })
        }
    }
}

/// One BFD session (`show bfd`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdSession {
    /// The neighbor's address.
    pub address: IpAddr,
    /// Up, Down, Init or AdminDown.
    pub state: String,
    /// Our discriminator.
    pub local_discriminator: u32,
    /// The peer's (0 until it is known).
    pub remote_discriminator: u32,
    /// Negotiated transmit interval, milliseconds.
    pub tx_interval_ms: u64,
    /// Detection time, milliseconds (once the peer has spoken).
    #[serde(default)]
    pub detection_ms: Option<u64>,
    /// Seconds since the session came up.
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// Our diagnostic for the last change.
    pub last_diag: String,
    /// The peer's C bit: its BFD survives a control-plane restart.
    pub remote_control_plane_independent: bool,
    /// Packets taken.
    pub packets_in: u64,
    /// Packets sent.
    pub packets_out: u64,
    /// Packets its session refused.
    pub packets_discarded: u64,
}

/// rbgpd's answers; `"type"` names the variant in snake_case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Response {
    /// Answer to `show_peers`.
    Peers {
        /// Every peer (configured and dynamic), sorted by address.
        peers: Vec<PeerSummary>,
    },
    /// Answer to `show_peer`.
    Peer {
        /// The peer.
        peer: Box<PeerDetail>,
    },
    /// Answer to `show_routes`.
    Routes {
        /// Matching prefixes, sorted.
        routes: Vec<RouteEntry>,
    },
    /// Answer to `show_fib`.
    Fib {
        /// Every route rbgpd owns in the kernel (or wants to).
        routes: Vec<FibEntry>,
    },
    /// Answer to `show_bfd`.
    Bfd {
        /// Every BFD session, sorted by address.
        sessions: Vec<BfdSession>,
    },
    /// Answer to `show_summary`.
    Summary {
        /// The summary.
        summary: Summary,
    },
    /// Answer to `reload`.
    Reload {
        /// What changed.
        result: ReloadResult,
    },
    /// Answer to `peer_reset`, `peer_shutdown`, `peer_enable`.
    PeerAction {
        /// What was done.
        result: PeerActionResult,
    },
    /// Answer to `show_clusters`.
    Clusters {
        /// Every cluster, in config order.
        clusters: Vec<crate::ctl::clusters::ClusterView>,
    },
    /// Answer to `explain`.
    Explain {
        /// The explanation.
        explain: Box<crate::ctl::explain::Explain>,
    },
    /// One streamed event after `watch`.
    Event {
        /// The event.
        event: Event,
    },
    /// The request failed (unknown peer, bad prefix, bad JSON, ...).
    Error {
        /// What went wrong, for a person.
        message: String,
    },
}

/// BGP FSM state (RFC 4271 section 8.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeerState {
    /// Idle.
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
}

impl PeerState {
    /// Every state, in FSM order.
    pub const ALL: [PeerState; 6] = [
        PeerState::Idle,
        PeerState::Connect,
        PeerState::Active,
        PeerState::OpenSent,
        PeerState::OpenConfirm,
        PeerState::Established,
    ];

    /// Lower-case name as shown by rbgpctl and used in metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerState::Idle => "idle",
            PeerState::Connect => "connect",
            PeerState::Active => "active",
            PeerState::OpenSent => "opensent",
            PeerState::OpenConfirm => "openconfirm",
            PeerState::Established => "established",
        }
    }
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Prefix counters of one family of one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyCounters {
    /// `"ipv4-unicast"` or `"ipv6-unicast"`.
    pub family: String,
    /// Prefixes received (Adj-RIB-In).
    pub received: u64,
    /// Prefixes accepted by import policy.
    pub accepted: u64,
    /// Prefixes advertised (Adj-RIB-Out).
    pub advertised: u64,
    /// RFC 8950 extended next hop negotiated for this family: its routes
    /// may carry IPv6 next hops (`"ipv6"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<String>,
}

/// One line of `show peers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerSummary {
    /// Peer address.
    pub address: IpAddr,
    /// Configured description.
    #[serde(default)]
    pub description: Option<String>,
    /// Peer AS: the session's (the last one's when down), else the one
    /// its config allows; 0 when not known yet (`remote_as = "external"`
    /// or a list, before the first session).
    pub remote_as: u32,
    /// Our AS on this session.
    pub local_as: u32,
    /// FSM state.
    pub state: PeerState,
    /// Administratively shut down (`peer shutdown` or `shutdown = true`).
    #[serde(default)]
    pub admin_down: bool,
    /// Seconds since Established (when established).
    #[serde(default)]
    pub uptime_secs: Option<u64>,
    /// Seconds since the session went down (when not established and it
    /// was up before).
    #[serde(default)]
    pub down_secs: Option<u64>,
    /// Negotiated (or configured, when down) families with counters.
    #[serde(default)]
    pub families: Vec<FamilyCounters>,
    /// Accepted through a neighbor range (or found on an interface).
    #[serde(default)]
    pub dynamic: bool,
    /// The link of an unnumbered neighbor (its address is link-local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// The neighbor's BFD session, when it has one: "up" or "down".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<String>,
    /// UPDATE messages received on its sessions.
    #[serde(default)]
    pub updates_received: u64,
    /// UPDATE messages sent on its sessions.
    #[serde(default)]
    pub updates_sent: u64,
}

impl PeerSummary {
    /// The address as shown: `fe80::1%eth1` for an unnumbered neighbor.
    pub fn shown_address(&self) -> String {
        match &self.interface {
            Some(i) => format!("{}%{i}", self.address),
            None => self.address.to_string(),
        }
    }
}

/// Message counters of one direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCounts {
    /// OPEN messages.
    pub open: u64,
    /// UPDATE messages.
    pub update: u64,
    /// NOTIFICATION messages.
    pub notification: u64,
    /// KEEPALIVE messages.
    pub keepalive: u64,
    /// ROUTE-REFRESH messages.
    pub route_refresh: u64,
}

impl MessageCounts {
    /// Sum over all types.
    pub fn total(&self) -> u64 {
        self.open + self.update + self.notification + self.keepalive + self.route_refresh
    }
}

/// `show peer ADDR`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerDetail {
    /// The summary line's data.
    pub summary: PeerSummary,
    /// Peer's BGP identifier (once an OPEN was received).
    #[serde(default)]
    pub remote_router_id: Option<Ipv4Addr>,
    /// Local end of the TCP connection.
    #[serde(default)]
    pub local_addr: Option<SocketAddr>,
    /// Remote end of the TCP connection.
    #[serde(default)]
    pub remote_addr: Option<SocketAddr>,
    /// Hold time we propose, seconds.
    pub configured_hold_time: u16,
    /// Negotiated hold time, seconds.
    #[serde(default)]
    pub hold_time: Option<u16>,
    /// Keepalive interval in use, seconds.
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// Negotiated capabilities, as text ("4-octet AS", "graceful restart
    /// (restart time 120 s)", ...).
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Messages sent.
    #[serde(default)]
    pub messages_sent: MessageCounts,
    /// Messages received.
    #[serde(default)]
    pub messages_received: MessageCounts,
    /// Times the session reached Established.
    #[serde(default)]
    pub established_count: u64,
    /// Why the session last went down.
    #[serde(default)]
    pub last_error: Option<String>,
    /// Last NOTIFICATION we sent, as text.
    #[serde(default)]
    pub last_notification_sent: Option<String>,
    /// Last NOTIFICATION we received, as text.
    #[serde(default)]
    pub last_notification_received: Option<String>,
}

/// One prefix and its paths.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// The prefix, e.g. "10.241.0.0/24".
    pub prefix: String,
    /// Its paths, best first.
    pub paths: Vec<RoutePath>,
}

/// One path of a prefix.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePath {
    /// The peer it came from (`None`: originated locally).
    #[serde(default)]
    pub peer: Option<IpAddr>,
    /// Next hop.
    pub next_hop: String,
    /// AS_PATH as text, e.g. "65100 65101" (sets as "{1 2}"); in JSON an
    /// array, `[65100, 65101]` (see [`crate::ctl::as_path_json`]).
    #[serde(with = "crate::ctl::as_path_json")]
    pub as_path: String,
    /// "igp", "egp" or "incomplete".
    pub origin: String,
    /// MULTI_EXIT_DISC.
    #[serde(default)]
    pub med: Option<u32>,
    /// LOCAL_PREF.
    #[serde(default)]
    pub local_pref: Option<u32>,
    /// Standard communities, "65000:1".
    #[serde(default)]
    pub communities: Vec<String>,
    /// Large communities, "65000:1:2".
    #[serde(default)]
    pub large_communities: Vec<String>,
    /// Selected as best.
    #[serde(default)]
    pub best: bool,
    /// Part of the multipath (ECMP) set.
    #[serde(default)]
    pub multipath: bool,
    /// Kept as stale by graceful restart.
    #[serde(default)]
    pub stale: bool,
    /// Seconds since received.
    #[serde(default)]
    pub age_secs: u64,
}

/// One route rbgpd wants in the kernel.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FibEntry {
    /// The prefix.
    pub prefix: String,
    /// Next hops (several for ECMP).
    pub next_hops: Vec<String>,
    /// Written to the kernel successfully.
    pub installed: bool,
    /// The kernel's route equals what we wrote (last check).
    pub matches_kernel: bool,
    /// Error or remark, e.g. the netlink error.
    #[serde(default)]
    pub note: Option<String>,
    /// The kernel table.
    #[serde(default)]
    pub table: u32,
}

/// `show summary`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// rbgpd version.
    #[serde(default)]
    pub version: String,
    /// BGP identifier.
    pub router_id: Option<Ipv4Addr>,
    /// Local AS.
    pub asn: u32,
    /// Seconds since rbgpd started.
    #[serde(default)]
    pub uptime_secs: u64,
    /// Peers in Established.
    pub peers_established: u64,
    /// All peers.
    pub peers_total: u64,
    /// IPv4 prefixes in the Loc-RIB.
    pub rib_prefixes_v4: u64,
    /// IPv6 prefixes in the Loc-RIB.
    pub rib_prefixes_v6: u64,
    /// Paths in the Loc-RIB.
    pub rib_paths: u64,
    /// Routes installed in the kernel.
    pub fib_routes: u64,
    /// Why the FIB is off though the config enables it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fib_off: Option<String>,
    /// Resident memory, bytes.
    #[serde(default)]
    pub memory_rss_bytes: Option<u64>,
    /// Prefixes whose kernel route waits to be written.
    #[serde(default)]
    pub fib_queued: u64,
    /// Kernel route writes since the start.
    #[serde(default)]
    pub fib_writes: u64,
    /// Inputs the core has handled since the start (messages, timers,
    /// requests): its event rate, as a counter.
    #[serde(default)]
    pub core_inputs: u64,
}

/// What a reload did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    /// The new config is in force (false: the old one stays, see `errors`).
    pub applied: bool,
    /// Neighbors (address or range) added.
    #[serde(default)]
    pub added: Vec<String>,
    /// Neighbors removed.
    #[serde(default)]
    pub removed: Vec<String>,
    /// Neighbors whose settings changed (session reset when needed).
    #[serde(default)]
    pub changed: Vec<String>,
    /// Config errors, one per line, when not applied.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// What a `peer reset|shutdown|enable` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerActionResult {
    /// Peer address.
    pub address: IpAddr,
    /// "reset", "shutdown" or "enable".
    pub action: String,
    /// Anything to tell the user ("session was not up", ...).
    #[serde(default)]
    pub message: Option<String>,
}

/// Something that happened, streamed by `watch`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The kinds of [`Event`]; `"event"` names the variant in snake_case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A peer changed FSM state.
    PeerState {
        /// Peer address.
        peer: IpAddr,
        /// Old state.
        from: PeerState,
        /// New state.
        to: PeerState,
        /// Why (notification text, error), if known.
        #[serde(default)]
        reason: Option<String>,
    },
    /// A peer announced or withdrew a prefix.
    Route {
        /// Peer address.
        peer: IpAddr,
        /// The prefix.
        prefix: String,
        /// True for a withdrawal.
        withdrawn: bool,
        /// Next hop of an announcement.
        #[serde(default)]
        next_hop: Option<String>,
        /// AS_PATH of an announcement (JSON: an array).
        #[serde(default, with = "crate::ctl::as_path_json::option")]
        as_path: Option<String>,
    },
    /// The best path(s) of a prefix changed.
    Best {
        /// The prefix.
        prefix: String,
        /// Next hops now (empty: no route any more).
        next_hops: Vec<String>,
    },
    /// A kernel route was written or removed.
    Fib {
        /// The prefix.
        prefix: String,
        /// "add", "replace" or "delete".
        op: String,
        /// Error text when it failed.
        #[serde(default)]
        error: Option<String>,
    },
    /// The config was reloaded.
    Reload {
        /// Whether it was applied.
        applied: bool,
        /// Summary.
        message: String,
    },
    /// This watcher fell behind and missed events (sent by the server).
    Lagged {
        /// Events missed.
        missed: u64,
    },
}

/// Milliseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Event {
    /// An event stamped with the current time.
    pub fn now(kind: EventKind) -> Event {
        Event {
            unix_ms: now_ms(),
            kind,
        }
    }
}

impl ReloadResult {
    /// A reload refused because the new file has mistakes; the running
    /// config stays. One entry per mistake.
    pub fn refused(err: &crate::config::ConfigError) -> ReloadResult {
        let errors = match err.diagnostics() {
            [] => vec![err.to_string()],
            d => d.iter().map(ToString::to_string).collect(),
        };
        ReloadResult {
            applied: false,
            errors,
            ..ReloadResult::default()
        }
    }

    /// A reload applied with these neighbor changes.
    pub fn applied(diff: &crate::config::ConfigDiff) -> ReloadResult {
        let keys = |v: &[crate::config::NeighborKey]| v.iter().map(ToString::to_string).collect();
        ReloadResult {
            applied: true,
            added: keys(&diff.added),
            removed: keys(&diff.removed),
            changed: keys(&diff.changed),
            errors: Vec::new(),
        }
    }
}
