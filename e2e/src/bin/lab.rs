//! `lab`: bring the two-cluster lab up (and leave it running), show it,
//! tear it down; and `lab rogue`, the rogue peer that check 7 runs inside
//! a namespace.
//!
//! ```text
//! lab up [--router rbgpd|bird|docker|docker-networks] [--image TAG] [--gr] [--merge-paths] [--connect-retry S] [--dir D]
//!   (docker-networks: the rbgpd container on the Docker networks kind
//!   and kind2, as the write-up ran its router)
//! lab status [--dir D]
//! lab down [--dir D]
//! lab rogue --target IP[:PORT] --as N --id IP --scenario bad-open|bad-update|garbage
//! ```

use anyhow::{anyhow, bail, Context, Result};
use e2e::http;
use e2e::ipv6::{LB6_1, LB6_2};
use e2e::router::{find_rbgpd, RouterKind};
use e2e::topology::{BridgeKind, Lab, LabOptions, DOCKER_ROUTER, LB1, LB2, ROUTER_NS};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = args.split_first().ok_or_else(|| anyhow!(usage()))?;
    let flags = Flags::parse(rest)?;
    match cmd.as_str() {
        "up" => up(&flags),
        "status" => status(&flags.dir),
        "down" => down(&flags.dir),
        "rogue" => rogue(&flags),
        "-h" | "--help" | "help" => {
            println!("{}", usage());
            Ok(())
        }
        other => bail!("unknown command {other}\n{}", usage()),
    }
}

fn usage() -> &'static str {
    "usage:\n  lab up [--router rbgpd|bird|docker|docker-networks] [--image TAG] [--gr] [--merge-paths] [--connect-retry S] [--dir D]\n  \
     lab status [--dir D]\n  lab down [--dir D]\n  \
     lab rogue --target IP[:PORT] --as N --id IP --scenario bad-open|bad-update|garbage"
}

struct Flags {
    router: RouterKind,
    gr: bool,
    merge_paths: bool,
    connect_retry: u16,
    dir: PathBuf,
    target: Option<String>,
    asn: u32,
    id: Option<String>,
    scenario: Option<String>,
    image: String,
    bridges: BridgeKind,
}

impl Flags {
    fn parse(args: &[String]) -> Result<Flags> {
        let mut f = Flags {
            router: RouterKind::Rbgpd,
            gr: false,
            merge_paths: false,
            connect_retry: 120,
            dir: PathBuf::from("/tmp/rb-lab"),
            target: None,
            asn: 65100,
            id: None,
            scenario: None,
            image: "rbgpd:latest".into(),
            bridges: BridgeKind::Switch,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| anyhow!("{a} needs a value"))
            };
            match a.as_str() {
                "--router" => match val()?.as_str() {
                    "docker-networks" => {
                        f.router = RouterKind::Docker;
                        f.bridges = BridgeKind::Docker;
                    }
                    other => f.router = other.parse()?,
                },
                "--gr" => f.gr = true,
                "--merge-paths" => f.merge_paths = true,
                "--connect-retry" => f.connect_retry = val()?.parse()?,
                "--dir" => f.dir = PathBuf::from(val()?),
                "--target" => f.target = Some(val()?),
                "--as" => f.asn = val()?.parse()?,
                "--id" => f.id = Some(val()?),
                "--scenario" => f.scenario = Some(val()?),
                "--image" => f.image = val()?,
                other => bail!("unknown flag {other}\n{}", usage()),
            }
        }
        Ok(f)
    }
}

/// The commands to look at the running lab's router, for the mode it
/// runs in (in its namespace, or in its container).
fn explore(lab: &Lab) -> String {
    let r = lab.router();
    let sock = r.socket().to_string_lossy().into_owned();
    let mut s = String::from("== look at the router ==\n");
    let ctl = |args: &str| match r.kind() {
        RouterKind::Docker if r.container() == DOCKER_ROUTER => {
            format!("docker exec {} rbgpctl {args}", r.container())
        }
        RouterKind::Docker => format!(
            "docker exec {} rbgpctl --socket {} {args}",
            r.container(),
            r.container_socket()
        ),
        RouterKind::Rbgpd => {
            let bin = find_rbgpd().map_or_else(
                |_| "rbgpctl".to_string(),
                |b| b.rbgpctl.to_string_lossy().into_owned(),
            );
            format!("ip netns exec {ROUTER_NS} {bin} --socket {sock} {args}")
        }
        RouterKind::Bird => format!("ip netns exec {ROUTER_NS} birdc -s {sock} {args}"),
    };
    let explain = format!("explain {LB1}");
    let (peers, routes, why) = match r.kind() {
        RouterKind::Bird => (
            "show protocols",
            "show route",
            format!("show route for {LB1} all"),
        ),
        _ => ("show peers", "show routes", explain),
    };
    for c in [ctl(peers), ctl(routes), ctl(&why)] {
        s.push_str(&format!("  {c}\n"));
    }
    s.push_str(&format!("  ip netns exec {ROUTER_NS} ip route\n"));
    s
}

fn up(f: &Flags) -> Result<()> {
    let mut opts = LabOptions::new(f.router);
    opts.graceful_restart = f.gr;
    opts.bird_merge_paths = f.merge_paths;
    opts.connect_retry = f.connect_retry;
    opts.dir = f.dir.clone();
    opts.bridges = f.bridges;
    if f.router == RouterKind::Rbgpd {
        opts.bins = Some(find_rbgpd().map_err(|e| anyhow!(e))?);
    }
    if f.router == RouterKind::Docker {
        opts.image = Some(f.image.clone());
    }
    println!(
        "bringing the lab up with {} as router (dir {})",
        f.router.as_str(),
        f.dir.display()
    );
    let mut lab = Lab::up(opts).context("lab up")?;
    let ok = lab.wait_established(Duration::from_secs(60));
    if let Err(e) = &ok {
        eprintln!("sessions: {e}\n{}", lab.logs());
    }
    let routes = lab.wait_routes(Duration::from_secs(30));
    if let Err(e) = &routes {
        eprintln!("routes: {e}");
    }
    print!("{}", lab.report());
    print_curls(&lab);
    lab.keep();
    print!("{}", explore(&lab));
    println!("lab left running; `scripts/lab-down.sh` (or `lab down`) removes it");
    ok.context("sessions")?;
    routes.context("routes")?;
    Ok(())
}

fn print_curls(lab: &Lab) {
    let t = Duration::from_secs(3);
    println!("== HTTP ==");
    for lb in [LB1, LB2] {
        let code = lab.get_from_router(lb, t).unwrap_or(0);
        println!("router    -> http://{lb}/ : {code}");
    }
    for (node, lb) in [("c1-cp", LB2), ("c2-cp", LB1)] {
        let code = lab.get_from_node(node, lb, None, t).unwrap_or(0);
        println!("{node:9} -> http://{lb}/ : {code}");
    }
    if let (Ok(a), Ok(b)) = (lab.node("c1-w1"), lab.node("c2-w1")) {
        let code = lab
            .get_from_node("c1-w1", b.spec.pod_ip, Some(a.spec.pod_ip), t)
            .unwrap_or(0);
        println!(
            "pod {} -> http://{}/ : {code}",
            a.spec.pod_ip, b.spec.pod_ip
        );
    }
    // IPv6, over the same IPv4 sessions (routes via the nodes' link-locals
    // may take a second or two more than the IPv4 ones).
    for lb in [LB6_1, LB6_2] {
        let code = (0..5)
            .map(|_| http::get_any(ROUTER_NS, lb.into(), None, t).unwrap_or(0))
            .find(|c| *c == 200)
            .unwrap_or(0);
        println!("router    -> http://[{lb}]/ : {code}");
    }
    if let (Ok(a), Ok(b)) = (lab.node("c1-w1"), lab.node("c2-w1")) {
        let (src, dst) = (a.spec.pod_ip6(), b.spec.pod_ip6());
        let ns = a.ns().name();
        let code = http::get_any(ns, dst.into(), Some(src.into()), t).unwrap_or(0);
        println!("pod {src} -> http://[{dst}]/ : {code}");
    }
}

fn status(dir: &Path) -> Result<()> {
    let sh = |prog: &str, args: &[&str]| {
        let out = Command::new("ip")
            .args(["netns", "exec", ROUTER_NS, prog])
            .args(args)
            .output();
        match out {
            Ok(o) => format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => e.to_string(),
        }
    };
    let bird = dir.join("bird.ctl");
    let rb = dir.join("rbgpd.sock");
    if bird.exists() {
        let s = bird.to_string_lossy().into_owned();
        println!(
            "== birdc show protocols ==\n{}",
            sh("birdc", &["-s", &s, "show", "protocols"])
        );
        println!(
            "== birdc show route ==\n{}",
            sh("birdc", &["-s", &s, "show", "route"])
        );
    } else if rb.exists() {
        let bins = find_rbgpd().map_err(|e| anyhow!(e))?;
        let ctl = bins.rbgpctl.to_string_lossy().into_owned();
        let s = rb.to_string_lossy().into_owned();
        println!(
            "== rbgpctl show peers ==\n{}",
            sh(&ctl, &["--socket", &s, "show", "peers"])
        );
        println!(
            "== rbgpctl show routes ==\n{}",
            sh(&ctl, &["--socket", &s, "show", "routes"])
        );
    } else {
        println!("no router socket in {}", dir.display());
    }
    println!(
        "== ip route in {ROUTER_NS} ==\n{}",
        sh("ip", &["-4", "route"])
    );
    for lb in [LB1, LB2] {
        let url = format!("http://{lb}/");
        let out = sh(
            "curl",
            &[
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--max-time",
                "3",
                &url,
            ],
        );
        println!("router -> http://{lb}/ : {out}");
    }
    Ok(())
}

fn down(dir: &Path) -> Result<()> {
    let gone = testbed::netns::destroy_matching(e2e::NS_PREFIX)?;
    println!(
        "removed namespaces: {}",
        if gone.is_empty() {
            "none".into()
        } else {
            gone.join(" ")
        }
    );
    let nets = e2e::docker::remove_lab_networks(DOCKER_ROUTER);
    if !nets.is_empty() {
        println!(
            "removed {DOCKER_ROUTER} and Docker networks: {}",
            nets.join(" ")
        );
    }
    if dir.starts_with("/tmp") && dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        println!("removed {}", dir.display());
    }
    Ok(())
}

fn rogue(f: &Flags) -> Result<()> {
    let target = f
        .target
        .as_deref()
        .ok_or_else(|| anyhow!("--target needed"))?;
    let target: SocketAddr = match target.parse() {
        Ok(a) => a,
        Err(_) => SocketAddr::new(target.parse().context("--target")?, 179),
    };
    let id =
        f.id.as_deref()
            .ok_or_else(|| anyhow!("--id needed"))?
            .parse()?;
    let scenario = f
        .scenario
        .as_deref()
        .ok_or_else(|| anyhow!("--scenario needed"))?
        .parse()?;
    let out = e2e::rogue::run(target, f.asn, id, scenario, Duration::from_secs(10))?;
    println!("{}", out.to_json());
    Ok(())
}
