//! `failover`: how long a node that goes silent keeps its routes in the
//! router, with BFD (300 ms × 3 on every session) and without (the hold
//! timer: Cilium's 90 s), in the lab with rbgpd as router. A node of
//! cluster 1 is cut without closing anything (nftables drops all its
//! packets); the time is from the cut until the router's kernel has
//! neither its pod route nor it among the LoadBalancer /32's next hops,
//! after which requests to the LoadBalancer are counted: all must be
//! served by the nodes left.
//!
//! ```text
//! failover [--no-baseline]
//! ```
//! Needs root, `ip netns`, gobgpd, BIRD (the nodes' BFD speakers), nft,
//! and the release binaries (`cargo build --release -p bgpd -p e2e`).

use anyhow::{anyhow, bail, Context, Result};
use e2e::router::{find_rbgpd, RouterKind};
use e2e::topology::{Lab, LabOptions, LB1};
use e2e::{bfd_node, kernel};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Requests sent to the LoadBalancer after the failover.
const REQUESTS: usize = 20;

struct Outcome {
    /// Cut to routes gone from the router's kernel.
    took: Duration,
    /// Requests to the LoadBalancer answered, of [`REQUESTS`].
    served: usize,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let baseline = match args.as_slice() {
        [] => true,
        [a] if a == "--no-baseline" => false,
        [a] if a == "-h" || a == "--help" => {
            println!("usage: failover [--no-baseline]");
            return Ok(());
        }
        other => bail!("unknown arguments {other:?}\nusage: failover [--no-baseline]"),
    };
    if let Some(why) =
        e2e::lab_unavailable_reason().or_else(|| testbed::missing(&["bird", "birdc", "nft"]))
    {
        bail!("cannot build the lab: {why}");
    }
    let bins = find_rbgpd().map_err(|e| anyhow!(e))?;
    let with = measure(true, &bins).context("with BFD")?;
    report("BFD 300 ms x 3", &with);
    if baseline {
        let without = measure(false, &bins).context("without BFD")?;
        report("no BFD (hold time 90 s)", &without);
    }
    Ok(())
}

fn report(what: &str, o: &Outcome) {
    println!(
        "{what}: routes of the silent node out of the router's kernel {:.3} s after the cut; \
         then {}/{REQUESTS} requests to the LoadBalancer served by the nodes left",
        o.took.as_secs_f64(),
        o.served
    );
}

fn measure(bfd: bool, bins: &e2e::router::RbgpdBins) -> Result<Outcome> {
    let mut opts = LabOptions::new(RouterKind::Rbgpd);
    opts.bins = Some(bins.clone());
    opts.bfd = bfd;
    opts.dir = PathBuf::from(format!(
        "/tmp/rb-failover-{}",
        if bfd { "bfd" } else { "hold" }
    ));
    let mut lab = Lab::up(opts).context("lab up")?;
    let mut speakers = Vec::new();
    if bfd {
        for node in lab.nodes() {
            speakers.push(bfd_node::start(node.ns(), &node.spec, lab.dir())?);
        }
    }
    lab.wait_established(Duration::from_secs(90))
        .with_context(|| lab.logs())?;
    lab.wait_routes(Duration::from_secs(60))?;
    let victim = lab
        .nodes()
        .iter()
        .filter(|n| n.spec.cluster == 1)
        .nth(1)
        .ok_or_else(|| anyhow!("cluster 1 has one node"))?;
    let (ip, pods) = (victim.spec.ip, victim.spec.pod_cidr.clone());
    println!("cutting {} ({ip}, {pods})", victim.spec.name);
    let cut = Instant::now();
    victim.ns().drop_all_packets()?;
    let lb = format!("{LB1}/32");
    loop {
        let routes = lab.router_routes()?;
        let pod_gone = kernel::find(&routes, &pods).is_none_or(|r| !r.gateways.contains(&ip));
        let lb_off = kernel::find(&routes, &lb).is_some_and(|r| !r.gateways.contains(&ip));
        if pod_gone && lb_off {
            break;
        }
        if cut.elapsed() > Duration::from_secs(200) {
            bail!("the silent node's routes stayed 200 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = cut.elapsed();
    let served = (0..REQUESTS)
        .filter(|_| {
            lab.get_from_router(LB1, Duration::from_secs(2))
                .is_ok_and(|c| c == 200)
        })
        .count();
    drop(speakers);
    Ok(Outcome { took, served })
}
