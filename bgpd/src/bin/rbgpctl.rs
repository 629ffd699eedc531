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
use bgpd::ctl::cli::{Cli, Command, FamilyArg, PeerCmd, Show};
use bgpd::ctl::client::Client;
use bgpd::ctl::format;
use bgpd::ctl::proto::{Request, Response, RouteQuery};
use clap::Parser;
use std::io::Write as _;
use std::process::ExitCode;

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
