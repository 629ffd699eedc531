//! rbgpctl's command line, in the library so that its man page and shell
//! completions come from these definitions (`tests/man_pages.rs`).

use crate::config::DEFAULT_SOCKET_PATH;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;

/// Query and control rbgpd, the BGP daemon.
#[derive(Debug, Parser)]
#[command(
    name = "rbgpctl",
    version,
    about = "Query and control rbgpd, the BGP daemon"
)]
pub struct Cli {
    /// Control socket of rbgpd.
    #[arg(long, env = "RBGPD_SOCKET", default_value = DEFAULT_SOCKET_PATH, global = true)]
    pub socket: PathBuf,
    /// Print rbgpd's answer as JSON instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// rbgpctl's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show peers, routes, the FIB or a summary.
    #[command(subcommand)]
    Show(Show),
    /// Re-read the config file and apply it.
    Reload,
    /// Reset, shut down or enable a peer.
    #[command(subcommand)]
    Peer(PeerCmd),
    /// Stream events (peer state changes, route changes, FIB writes).
    Watch,
    /// Why a prefix is routed as it is.
    ///
    /// Every path received for it with the import verdict (policy term, loop check), the decision step that
    /// ranked each path below the best and what split a path off the ECMP
    /// group, what the kernel holds (state, next hops, nexthop object), and
    /// per peer whether it is sent and the rule that decided.
    Explain {
        /// A prefix (exact match) or an address (the most specific prefix
        /// holding it).
        #[arg(value_parser = explain_target)]
        target: String,
    },
    /// A live view of the router.
    ///
    /// Sessions (state, uptime, prefixes, UPDATE rates), the
    /// FIB's queue and write rate, the core's event rate and memory, the
    /// event stream. Keys: s sort, / filter, Tab routes (Enter explains
    /// the selected one), Esc back, q quit. Works over `docker exec -it`.
    Top {
        /// Print one frame of the sessions view as text and exit (for
        /// scripts; no terminal needed).
        #[arg(long)]
        once: bool,
        /// Seconds between samples.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=3600))]
        interval: u64,
        /// Width of the `--once` frame (default: $COLUMNS, else 120).
        #[arg(long, value_parser = clap::value_parser!(u16).range(40..=1000))]
        width: Option<u16>,
        /// Height of the `--once` frame (default: $LINES, else 30).
        #[arg(long, value_parser = clap::value_parser!(u16).range(12..=1000))]
        height: Option<u16>,
    },
}

/// Checks an `explain` target before asking rbgpd (a usage error, exit 2).
pub fn explain_target(s: &str) -> Result<String, String> {
    crate::core::explain::parse_target(s).map(|_| s.to_string())
}

/// `rbgpctl show ...`.
#[derive(Debug, Subcommand)]
pub enum Show {
    /// All peers with prefix counters per family.
    #[command(visible_alias = "neighbors")]
    Peers,
    /// One peer in detail.
    #[command(visible_alias = "neighbor")]
    Peer {
        /// Peer address (`fe80::1%eth1` as `show peers` lists an unnumbered
        /// peer, or without the `%eth1`).
        #[arg(value_parser = peer_address)]
        address: IpAddr,
    },
    /// Loc-RIB routes.
    #[command(visible_alias = "route")]
    Routes {
        /// A prefix (exact match) or an address (longest match).
        prefix: Option<String>,
        /// Only paths from this peer.
        #[arg(long, value_parser = peer_address)]
        peer: Option<IpAddr>,
        /// Only this address family.
        #[arg(long, value_enum)]
        family: Option<FamilyArg>,
        /// Only the best path and the other members of its ECMP (multipath)
        /// group (the paths in the kernel).
        #[arg(long)]
        best: bool,
        /// Only the routes written to this kernel table (a neighbor's
        /// `table`, else `[fib] table`).
        #[arg(long)]
        table: Option<u32>,
    },
    /// Routes rbgpd installs in the kernel.
    Fib {
        /// Only the routes of this kernel table (`[fib] table`, or a
        /// neighbor's `table`).
        #[arg(long)]
        table: Option<u32>,
    },
    /// BFD sessions: state, discriminators, intervals, counters.
    Bfd,
    /// Clusters: nodes, End-of-RIB, restarts, service ECMP widths.
    ///
    /// A cluster is a range, or neighbors sharing a `cluster` label: nodes
    /// Established of those known, End-of-RIB per family, nodes in a
    /// graceful restart, and each service address with its ECMP width
    /// against the nodes announcing it.
    Clusters {
        /// Only this cluster.
        name: Option<String>,
    },
    /// Router summary.
    Summary,
}

/// An address family on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FamilyArg {
    /// IPv4 unicast.
    #[value(alias = "ipv4-unicast")]
    Ipv4,
    /// IPv6 unicast.
    #[value(alias = "ipv6-unicast")]
    Ipv6,
}

/// `rbgpctl peer ...`.
#[derive(Debug, Subcommand)]
pub enum PeerCmd {
    /// Close the session (Cease, Administrative Reset); it comes back. A
    /// dynamic peer keeps its entry and history while it reconnects.
    Reset {
        /// Peer address (`fe80::1%eth1` as `show peers` lists an unnumbered
        /// peer, or without the `%eth1`).
        #[arg(value_parser = peer_address)]
        address: IpAddr,
        /// Text sent to the peer (RFC 9003 shutdown communication).
        #[arg(long)]
        message: Option<String>,
    },
    /// Close the session (Cease, Administrative Shutdown) and keep it down.
    /// A dynamic peer stays listed and its reconnects are refused until
    /// `peer enable`.
    Shutdown {
        /// Peer address (`fe80::1%eth1` as `show peers` lists an unnumbered
        /// peer, or without the `%eth1`).
        #[arg(value_parser = peer_address)]
        address: IpAddr,
        /// Text sent to the peer (RFC 9003 shutdown communication).
        #[arg(long)]
        message: Option<String>,
    },
    /// Allow a shut down session again (a dynamic peer may reconnect).
    Enable {
        /// Peer address (`fe80::1%eth1` as `show peers` lists an unnumbered
        /// peer, or without the `%eth1`).
        #[arg(value_parser = peer_address)]
        address: IpAddr,
    },
}

/// A peer address as `show peers` lists it: an address, or a link-local
/// one with its interface (`fe80::1%eth1`; the address alone names the
/// peer, as link-locals of unnumbered peers are unique).
pub fn peer_address(s: &str) -> Result<IpAddr, String> {
    let (addr, zone) = match s.split_once('%') {
        Some((a, z)) => (a, Some(z)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().map_err(|_| {
        format!("{s:?} is not an IP address (as 172.18.0.2, fd00::7 or fe80::1%eth1)")
    })?;
    match (zone, ip) {
        (Some(""), _) => Err(format!("{s:?} has an empty interface after '%'")),
        (Some(_), IpAddr::V6(v6)) if v6.is_unicast_link_local() => Ok(ip),
        (Some(_), _) => Err(format!(
            "{s:?}: only a link-local address takes an interface ('%')"
        )),
        (None, _) => Ok(ip),
    }
}
