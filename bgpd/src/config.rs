//! The TOML configuration: what the file says, with defaults that make a
//! minimal file work. `deny_unknown_fields` everywhere: a typo is an error.
//!
//! [`load`] and [`parse`] read a file and validate it; every mistake is
//! reported with file, line, column, key path and what was expected
//! ([`ConfigError`], [`Diagnostic`]). `docs/config.md` describes every
//! option. These types are the contract other modules build on.

mod add_path;
mod collect;
mod diag;
mod diff;
mod origination;
mod remote_as;
mod validate;

pub use add_path::AddPathSend;
pub use origination::{StaticRoute, REDISTRIBUTE_NAMES};
pub use remote_as::RemoteAs;

pub use diag::{ConfigError, Diagnostic};
pub use diff::{diff, ConfigDiff, NeighborKey};

use ipnetwork::IpNetwork;
use rib::policy::{Policy, PolicyRef, PrefixList};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// Reads and validates the config file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, &path.display().to_string())
}

/// Parses and validates config text; `file_name` is used in messages.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
    let loc = diag::Locator::new(text, file_name);
    let mut diagnostics = match collect::parse(text, &loc) {
        Ok(cfg) => return Ok(cfg),
        Err(d) => d,
    };
    diagnostics.sort_by_key(|d| (d.line, d.column));
    Err(ConfigError::Invalid {
        file: file_name.to_string(),
        diagnostics,
    })
}

/// The address families rbgpd knows, by config name.
pub const FAMILY_NAMES: [&str; 2] = ["ipv4-unicast", "ipv6-unicast"];

/// The family a config name (`"ipv4-unicast"`, `"ipv6-unicast"`) stands for.
pub fn parse_family(name: &str) -> Option<bgp_proto::types::Family> {
    use bgp_proto::types::Family;
    match name {
        "ipv4-unicast" => Some(Family::IPV4_UNICAST),
        "ipv6-unicast" => Some(Family::IPV6_UNICAST),
        _ => None,
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// This router: AS, router id, listening sockets.
    pub router: RouterConfig,
    /// Neighbors, explicit (`address`) or dynamic (`range`).
    #[serde(default, rename = "neighbor")]
    pub neighbors: Vec<NeighborConfig>,
    /// Kernel FIB writer.
    #[serde(default)]
    pub fib: FibConfig,
    /// Control socket for rbgpctl.
    #[serde(default)]
    pub control: ControlConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// Prometheus endpoint; absent means off.
    #[serde(default)]
    pub metrics: Option<MetricsConfig>,
    /// Named policies.
    #[serde(default, rename = "policy")]
    pub policies: Vec<Policy>,
    /// Named prefix lists.
    #[serde(default, rename = "prefix_list")]
    pub prefix_lists: Vec<PrefixList>,
    /// Routes this router originates (`[[route]]`).
    #[serde(default, rename = "route", skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<StaticRoute>,
}

/// `[router]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// Local AS number.
    pub asn: u32,
    /// BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Addresses to listen on for BGP (default `0.0.0.0:179` and `[::]:179`);
    /// an empty list disables listening.
    #[serde(default = "default_listen")]
    pub listen: Vec<SocketAddr>,
    /// Max paths in an ECMP group given to the FIB and counted as multipath
    /// (1 turns multipath off).
    #[serde(default = "default_max_paths")]
    pub max_paths: usize,
    /// Allow multipath across different neighbor ASes (the lab needs this
    /// off: every node of one cluster has the same AS).
    #[serde(default)]
    pub multipath_relax: bool,
    /// Compare MED between paths from different neighbor ASes.
    #[serde(default)]
    pub always_compare_med: bool,
    /// Announce graceful restart (helper mode is always on) and the
    /// restart time we announce, in seconds.
    #[serde(default = "default_true")]
    pub graceful_restart: bool,
    /// Restart time announced in the GR capability, seconds.
    #[serde(default = "default_restart_time")]
    pub restart_time: u16,
    /// Least hold time accepted from a peer, seconds (3 or more; 0 also
    /// accepts a peer's hold time of 0, which turns keepalives off).
    #[serde(default = "default_min_hold_time")]
    pub min_hold_time: u16,
    /// Longest a peer's routes are kept as stale when it restarts (GR
    /// helper), whatever restart time it announces; seconds.
    #[serde(default = "default_restart_time")]
    pub max_restart_time: u16,
    /// Route reflection cluster id (RFC 4456); default the router id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<Ipv4Addr>,
    /// Networks originated besides `[[route]]`: `"connected"` (those of
    /// the router's interfaces that are up).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redistribute: Vec<String>,
    /// Policy each redistributed network passes (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redistribute_policy: Option<PolicyRef>,
}

impl RouterConfig {
    /// Whether the router's connected networks are originated.
    pub fn redistributes_connected(&self) -> bool {
        self.redistribute.iter().any(|r| r == "connected")
    }
}

/// One `[[neighbor]]`: `address` (one peer), `range` (dynamic neighbors:
/// any address inside it may connect) or `interface` (unnumbered: the
/// router on each matching link).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeighborConfig {
    /// Peer address (explicit neighbor).
    pub address: Option<IpAddr>,
    /// Prefix whose addresses may connect (dynamic neighbors).
    pub range: Option<IpNetwork>,
    /// Interface name, or a pattern with `*` (`"veth*"`): unnumbered
    /// peering over IPv6 link-local with the router on each matching link
    /// (one per link), found from its router advertisements or its
    /// connection, as FRR's `neighbor eth1 interface`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
    /// Most sessions a range accepts at once.
    #[serde(default = "default_range_limit")]
    pub limit: usize,
    /// How long a range remembers a dynamic neighbor whose session ended
    /// (its id, counters and last error, for `show peers` and for when it
    /// comes back), seconds; 0 forgets it at once. A range remembers at
    /// most `limit` such neighbors, the oldest forgotten first.
    #[serde(default = "default_remember_time")]
    pub remember_time: u32,
    /// Peer AS: a number, `"external"`, `"internal"` or a list.
    pub remote_as: RemoteAs,
    /// Free text shown by rbgpctl.
    #[serde(default)]
    pub description: Option<String>,
    /// Source address for outgoing connections.
    #[serde(default)]
    pub local_address: Option<IpAddr>,
    /// Never dial out; wait for the peer. Ranges are always passive.
    #[serde(default)]
    pub passive: bool,
    /// Remote TCP port to dial.
    #[serde(default = "default_port")]
    pub port: u16,
    /// Hold time proposed, seconds (0, or 3 and more).
    #[serde(default = "default_hold_time")]
    pub hold_time: u16,
    /// Keepalive interval, seconds (default: a third of the negotiated hold).
    #[serde(default)]
    pub keepalive: Option<u16>,
    /// Connect retry interval, seconds.
    #[serde(default = "default_connect_retry")]
    pub connect_retry: u16,
    /// eBGP multihop: TTL for packets sent (default 1 for eBGP).
    #[serde(default)]
    pub multihop: Option<u8>,
    /// GTSM (RFC 5082): send TTL 255 and require at least 255 - hops + 1.
    #[serde(default)]
    pub ttl_security: Option<u8>,
    /// TCP-MD5 password (RFC 2385).
    #[serde(default)]
    pub password: Option<String>,
    /// Families offered ("ipv4-unicast", "ipv6-unicast"); default both.
    #[serde(default = "default_families")]
    pub families: Vec<String>,
    /// Import policy: "all", "none" or a policy name.
    #[serde(default)]
    pub import: PolicyRef,
    /// Export policy: "all", "none" or a policy name.
    #[serde(default)]
    pub export: PolicyRef,
    /// Keep the next hop unchanged on export instead of setting ourselves.
    #[serde(default)]
    pub next_hop_unchanged: bool,
    /// From an external peer, treat as withdrawn the routes whose AS_PATH
    /// does not start with the peer's AS (RFC 4271 6.3); turn off for a
    /// route server that does not prepend its AS.
    #[serde(default = "default_true")]
    pub enforce_first_as: bool,
    /// Max prefixes accepted from the peer.
    #[serde(default)]
    pub max_prefixes: Option<MaxPrefixConfig>,
    /// Offer ADD-PATH receive for the families.
    #[serde(default)]
    pub add_path_receive: bool,
    /// Offer ADD-PATH send (RFC 7911): this many paths per prefix, or
    /// `"all"` (the best and the rest of its multipath group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_path_send: Option<AddPathSend>,
    /// Offer the Extended Next Hop Encoding capability (RFC 8950) for IPv4
    /// unicast with IPv6 next hops; unset: on for an IPv6 `address` or
    /// `range` and for `interface`, off otherwise (see
    /// [`NeighborConfig::extended_next_hop`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_next_hop: Option<bool>,
    /// BFD (RFC 5880) on the session: `true`, or the timers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bfd: Option<BfdSetting>,
    /// Start administratively down.
    #[serde(default)]
    pub shutdown: bool,
    /// A route reflector client (RFC 4456; iBGP only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub route_reflector_client: bool,
    /// Send a default route of each negotiated family whether or not one is
    /// in the RIB (FRR's `default-originate`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub default_originate: bool,
    /// The kernel table the routes whose best path comes from this
    /// neighbor are written to (default `[fib] table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<u32>,
    /// A VRF device whose table those routes are written to instead (its
    /// table is read from the kernel at start and at each reload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vrf: Option<String>,
    /// Do not send routes whose AS_PATH holds the neighbor's AS to an
    /// external neighbor: it would drop them as loops (FRR's
    /// `sender-as-path-loop-detection`). On by default.
    #[serde(default = "default_true")]
    pub sender_as_path_loop_detection: bool,
    /// The cluster its neighbors belong to (`rbgpctl show clusters`,
    /// `rbgpd_cluster_nodes`); a range without one is a cluster of its own,
    /// named by its description or its prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

/// `bfd = true` or `bfd = { interval_ms = 300, multiplier = 3, strict =
/// true }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum BfdSetting {
    /// On with the defaults, or off.
    Switch(bool),
    /// On with these settings.
    Table(BfdTable),
}

/// The table form of `bfd`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BfdTable {
    /// Desired minimum transmit and required minimum receive interval,
    /// milliseconds.
    #[serde(default = "default_bfd_interval")]
    pub interval_ms: u32,
    /// Detection multiplier.
    #[serde(default = "default_bfd_multiplier")]
    pub multiplier: u8,
    /// The BGP session waits for BFD Up before it is established (our
    /// OPEN is held); `false` lets BGP come up without BFD.
    #[serde(default = "default_true")]
    pub strict: bool,
}

/// BFD timers: what we send at and ask to receive at, and how many
/// missed packets bring the session down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BfdTimers {
    /// Desired minimum transmit and required minimum receive interval,
    /// milliseconds.
    #[serde(default = "default_bfd_interval")]
    pub interval_ms: u32,
    /// Detection multiplier.
    #[serde(default = "default_bfd_multiplier")]
    pub multiplier: u8,
}

impl Default for BfdTimers {
    fn default() -> Self {
        BfdTimers {
            interval_ms: default_bfd_interval(),
            multiplier: default_bfd_multiplier(),
        }
    }
}

impl<'de> Deserialize<'de> for BfdSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = BfdSetting;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(
                    "true, false or a table { interval_ms = 300, multiplier = 3, strict = true }",
                )
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<BfdSetting, E> {
                Ok(BfdSetting::Switch(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<BfdSetting, A::Error> {
                let de = serde::de::value::MapAccessDeserializer::new(map);
                BfdTable::deserialize(de).map(BfdSetting::Table)
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl NeighborConfig {
    /// Whether our OPEN offers the Extended Next Hop Encoding capability
    /// (RFC 8950) for IPv4 unicast: as configured, else when the
    /// neighbor's `address` (or `range`) is IPv6, link-local included, or
    /// it is an `interface` neighbor (its sessions run over link-local).
    pub fn extended_next_hop(&self) -> bool {
        self.extended_next_hop
            .unwrap_or(match (self.address, self.range) {
                (Some(a), _) => a.is_ipv6(),
                (None, Some(r)) => r.is_ipv6(),
                (None, None) => self.interface.is_some(),
            })
    }

    /// The BFD timers of the session, if BFD is on.
    pub fn bfd(&self) -> Option<BfdTimers> {
        match self.bfd? {
            BfdSetting::Switch(true) => Some(BfdTimers::default()),
            BfdSetting::Switch(false) => None,
            BfdSetting::Table(t) => Some(BfdTimers {
                interval_ms: t.interval_ms,
                multiplier: t.multiplier,
            }),
        }
    }

    /// Whether `other` differs from this entry only in its BFD settings,
    /// BFD on in both: such a change applies to the running session (new
    /// timers through a poll sequence) instead of restarting it.
    pub fn same_but_bfd(&self, other: &NeighborConfig) -> bool {
        if self.bfd().is_none() || other.bfd().is_none() {
            return false;
        }
        let mut o = other.clone();
        o.bfd = self.bfd;
        o == *self
    }

    /// A multihop session (`multihop` above 1): its BFD is RFC 5883's.
    pub fn is_multihop(&self) -> bool {
        self.multihop.is_some_and(|ttl| ttl > 1)
    }

    /// Whether the BGP session waits for BFD Up (BFD on, `strict` unless
    /// turned off).
    pub fn bfd_strict(&self) -> bool {
        match self.bfd {
            Some(BfdSetting::Switch(on)) => on,
            Some(BfdSetting::Table(t)) => t.strict,
            None => false,
        }
    }

    /// Whether the link `name` is one of this `interface` neighbor's.
    pub fn matches_link(&self, name: &str) -> bool {
        self.interface
            .as_deref()
            .is_some_and(|pattern| link_pattern_matches(pattern, name))
    }
}

/// Whether interface `name` matches `pattern`, where each `*` stands for
/// any run of characters (interface names hold no other wildcard).
pub fn link_pattern_matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        return rest.is_empty();
    };
    for part in parts {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `max_prefixes = { limit = 1000, action = "stop", restart_after = 60 }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaxPrefixConfig {
    /// Most prefixes accepted.
    pub limit: usize,
    /// "warn" (log only) or "stop" (Cease/1 and close).
    #[serde(default)]
    pub action: MaxPrefixAction,
    /// Seconds before a stopped session may come back (0: never by itself).
    #[serde(default)]
    pub restart_after: u32,
}

/// What to do when max-prefix is exceeded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaxPrefixAction {
    /// Log a warning.
    Warn,
    /// Send Cease/1 and close.
    #[default]
    Stop,
}

/// `[fib]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FibConfig {
    /// Write best paths into the kernel.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Kernel routing table (254 = main).
    #[serde(default = "default_table")]
    pub table: u32,
    /// Route metric (priority).
    #[serde(default = "default_metric")]
    pub metric: u32,
    /// Most next hops in one ECMP route.
    #[serde(default = "default_max_paths")]
    pub max_paths: usize,
    /// Keep our routes in the kernel when rbgpd exits (as BIRD's `persist`).
    #[serde(default = "default_true")]
    pub persist: bool,
    /// Seconds to wait at start for peers' End-of-RIB before removing
    /// stale routes left by a previous run.
    #[serde(default = "default_fib_grace")]
    pub startup_grace: u32,
    /// Name next hops as shared kernel nexthop objects (`ip nexthop`,
    /// Linux >= 5.3) instead of a gateway in every route: faster to write.
    /// Falls back to plain routes where the kernel has no such objects.
    #[serde(default = "default_true")]
    pub nexthop_objects: bool,
}

/// `[control]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlConfig {
    /// Unix socket path.
    #[serde(default = "default_socket")]
    pub socket: PathBuf,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// tracing filter, e.g. "info" or "bgpd=debug" (RUST_LOG overrides).
    #[serde(default = "default_log_level")]
    pub level: String,
    /// "text" or "json".
    #[serde(default)]
    pub format: LogFormat,
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable text.
    #[default]
    Text,
    /// JSON lines.
    Json,
}

/// `[metrics]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Address of the Prometheus endpoint.
    pub listen: SocketAddr,
    /// Most host routes (/32, /128: service addresses) with an
    /// `rbgpd_prefix_ecmp_width` series, the first by prefix; 0 for none.
    #[serde(default = "default_ecmp_width_max")]
    pub ecmp_width_max: usize,
}

/// Default path of the config file.
pub const DEFAULT_CONFIG_PATH: &str = "/etc/rbgpd/rbgpd.toml";
/// Default path of the control socket.
pub const DEFAULT_SOCKET_PATH: &str = "/run/rbgpd/rbgpd.sock";

fn default_listen() -> Vec<SocketAddr> {
    vec![
        SocketAddr::from(([0, 0, 0, 0], 179)),
        SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 179)),
    ]
}
fn default_true() -> bool {
    true
}
fn default_ecmp_width_max() -> usize {
    256
}
fn default_max_paths() -> usize {
    8
}
fn default_min_hold_time() -> u16 {
    3
}

fn default_restart_time() -> u16 {
    120
}
fn default_range_limit() -> usize {
    1024
}
fn default_remember_time() -> u32 {
    300
}
fn default_port() -> u16 {
    179
}
fn default_hold_time() -> u16 {
    90
}
fn default_bfd_interval() -> u32 {
    300
}
fn default_bfd_multiplier() -> u8 {
    3
}
fn default_connect_retry() -> u16 {
    5
}
fn default_families() -> Vec<String> {
    vec!["ipv4-unicast".into(), "ipv6-unicast".into()]
}
fn default_table() -> u32 {
    254
}
fn default_metric() -> u32 {
    32
}
fn default_fib_grace() -> u32 {
    120
}
fn default_socket() -> PathBuf {
    PathBuf::from(DEFAULT_SOCKET_PATH)
}
fn default_log_level() -> String {
    "info".into()
}

impl Default for FibConfig {
    fn default() -> Self {
        FibConfig {
            enabled: true,
            table: default_table(),
            metric: default_metric(),
            max_paths: default_max_paths(),
            persist: true,
            startup_grace: default_fib_grace(),
            nexthop_objects: true,
        }
    }
}

impl Default for ControlConfig {
    fn default() -> Self {
        ControlConfig {
            socket: default_socket(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: default_log_level(),
            format: LogFormat::Text,
        }
    }
}
