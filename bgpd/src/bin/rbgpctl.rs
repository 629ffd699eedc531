//! rbgpctl: the command line client of rbgpd's control socket.
//!
//! ```text
//! rbgpctl [--socket PATH] [--json] show peers
//! rbgpctl show peer 172.18.0.2
//! rbgpctl show routes [PREFIX|ADDRESS] [--peer ADDR] [--family ipv4|ipv6] [--best]
//! rbgpctl show fib | show summary | reload | watch
//! rbgpctl show clusters [NAME]
//! rbgpctl explain PREFIX|ADDRESS
//! rbgpctl top [--once]
//! rbgpctl peer reset|shutdown|enable ADDR [--message TEXT]
//! ```
//!
//! Exit status: 0 on success, 1 when rbgpd cannot be reached or answers
//! with an error (or a reload is refused), 2 for usage errors.

use anyhow::bail;
use bgpd::config::DEFAULT_SOCKET_PATH;
use bgpd::ctl::client::Client;
use bgpd::ctl::format;
use bgpd::ctl::proto::{Request, Response, RouteQuery};
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Query and control rbgpd, the BGP daemon.
#[derive(Debug, Parser)]
#[command(
    name = "rbgpctl",
    version,
    about = "Query and control rbgpd, the BGP daemon"
)]
struct Cli {
    /// Control socket of rbgpd.
    #[arg(long, env = "RBGPD_SOCKET", default_value = DEFAULT_SOCKET_PATH, global = true)]
    socket: PathBuf,
    /// Print rbgpd's answer as JSON instead of a table.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Why a prefix is routed as it is: every path received for it with
    /// the import verdict (policy term, loop check), the decision step that
    /// ranked each path below the best and what split a path off the ECMP
    /// group, what the kernel holds (state, next hops, nexthop object), and
    /// per peer whether it is sent and the rule that decided.
    Explain {
        /// A prefix (exact match) or an address (the most specific prefix
        /// holding it).
        #[arg(value_parser = explain_target)]
        target: String,
    },
    /// A live view: sessions (state, uptime, prefixes, UPDATE rates), the
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
fn explain_target(s: &str) -> Result<String, String> {
    bgpd::core::explain::parse_target(s).map(|_| s.to_string())
}

#[derive(Debug, Subcommand)]
enum Show {
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
    /// Clusters (a range, or neighbors sharing a `cluster` label): nodes
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FamilyArg {
    /// IPv4 unicast.
    #[value(alias = "ipv4-unicast")]
    Ipv4,
    /// IPv6 unicast.
    #[value(alias = "ipv6-unicast")]
    Ipv6,
}

#[derive(Debug, Subcommand)]
enum PeerCmd {
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
fn peer_address(s: &str) -> Result<IpAddr, String> {
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

fn request(cmd: Command) -> anyhow::Result<Request> {
    Ok(match cmd {
        Command::Show(Show::Peers) => Request::ShowPeers,
        Command::Show(Show::Peer { address }) => Request::ShowPeer { address },
        Command::Show(Show::Routes {
            prefix,
            peer,
            family,
            best,
            table,
        }) => {
            let q = RouteQuery {
                prefix,
                peer,
                family: family.map(|f| {
                    match f {
                        FamilyArg::Ipv4 => "ipv4-unicast",
                        FamilyArg::Ipv6 => "ipv6-unicast",
                    }
                    .to_string()
                }),
                best_only: best,
                table,
            };
            if let Err(e) = q.target() {
                bail!(e);
            }
            Request::ShowRoutes(q)
        }
        Command::Show(Show::Fib { .. }) => Request::ShowFib,
        Command::Show(Show::Bfd) => Request::ShowBfd,
        Command::Show(Show::Clusters { .. }) => Request::ShowClusters,
        Command::Show(Show::Summary) => Request::ShowSummary,
        Command::Reload => Request::Reload,
        Command::Peer(PeerCmd::Reset { address, message }) => {
            Request::PeerReset { address, message }
        }
        Command::Peer(PeerCmd::Shutdown { address, message }) => {
            Request::PeerShutdown { address, message }
        }
        Command::Peer(PeerCmd::Enable { address }) => Request::PeerEnable { address },
        Command::Watch => Request::Watch,
        Command::Explain { target } => Request::Explain { target },
        Command::Top { .. } => bail!("top is not a single request"),
    })
}

/// Whether a response means the command failed.
fn failed(r: &Response) -> bool {
    matches!(
        r,
        Response::Error { .. }
            | Response::Reload {
                result: bgpd::ctl::proto::ReloadResult { applied: false, .. }
            }
    )
}

fn print(r: &Response, json: bool, pretty: bool) -> anyhow::Result<()> {
    let text = if json {
        let mut s = if pretty {
            serde_json::to_string_pretty(r)?
        } else {
            serde_json::to_string(r)?
        };
        s.push('\n');
        s
    } else {
        format::response(r)
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (rbgpctl watch | head) ends quietly.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => bail!("writing to stdout: {e}"),
        Ok(()) => Ok(()),
    }
}

fn expected(req: &Request, r: &Response) -> bool {
    matches!(
        (req, r),
        (_, Response::Error { .. })
            | (Request::ShowPeers, Response::Peers { .. })
            | (Request::ShowPeer { .. }, Response::Peer { .. })
            | (Request::ShowRoutes(_), Response::Routes { .. })
            | (Request::ShowFib, Response::Fib { .. })
            | (Request::ShowBfd, Response::Bfd { .. })
            | (Request::ShowSummary, Response::Summary { .. })
            | (Request::Reload, Response::Reload { .. })
            | (
                Request::PeerReset { .. }
                    | Request::PeerShutdown { .. }
                    | Request::PeerEnable { .. },
                Response::PeerAction { .. }
            )
            | (Request::Watch, Response::Event { .. })
            | (Request::Explain { .. }, Response::Explain { .. })
            | (Request::ShowClusters, Response::Clusters { .. })
    )
}

/// `$NAME` as a number of cells, if set and sane.
fn env_cells(name: &str) -> Option<u16> {
    std::env::var(name).ok()?.parse().ok().filter(|n| *n >= 12)
}

fn run(cli: Cli) -> anyhow::Result<bool> {
    if let Command::Top {
        once,
        interval,
        width,
        height,
    } = cli.command
    {
        if once {
            let w = width
                .or_else(|| env_cells("COLUMNS"))
                .unwrap_or(120)
                .max(40);
            let h = height.or_else(|| env_cells("LINES")).unwrap_or(30);
            print!("{}", bgpd::ctl::top_run::once(&cli.socket, w, h)?);
        } else {
            bgpd::ctl::top_run::run(&cli.socket, std::time::Duration::from_secs(interval))?;
        }
        return Ok(true);
    }
    let fib_table = match &cli.command {
        Command::Show(Show::Fib { table }) => *table,
        _ => None,
    };
    let cluster = match &cli.command {
        Command::Show(Show::Clusters { name }) => name.clone(),
        _ => None,
    };
    let req = request(cli.command)?;
    let mut client = Client::connect(&cli.socket)?;
    if req == Request::Watch {
        client.send(&req)?;
        while let Some(r) = client.next_response()? {
            print(&r, cli.json, false)?;
            if failed(&r) {
                return Ok(false);
            }
        }
        return Ok(true);
    }
    let mut r = client.request(&req)?;
    if let (Response::Fib { routes }, Some(t)) = (&mut r, fib_table) {
        routes.retain(|f| f.table == t);
    }
    if let (Response::Clusters { clusters }, Some(name)) = (&mut r, &cluster) {
        if !clusters.iter().any(|c| &c.name == name) {
            let known: Vec<&str> = clusters.iter().map(|c| c.name.as_str()).collect();
            eprintln!(
                "rbgpctl: unknown cluster {name:?} (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            );
            std::process::exit(2);
        }
        clusters.retain(|c| &c.name == name);
    }
    if !expected(&req, &r) {
        bail!(
            "unexpected answer from rbgpd: {}",
            serde_json::to_string(&r)?
        );
    }
    if let (Response::Error { message }, false) = (&r, cli.json) {
        bail!("rbgpd: {message}");
    }
    print(&r, cli.json, true)?;
    Ok(!failed(&r))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("rbgpctl: {e}");
            ExitCode::FAILURE
        }
    }
}
