//! The FIB's start-up phase against a real kernel:
//! after a restart, a route a previous run left via a node that is gone
//! goes at once, while one via a node that still answers waits for
//! End-of-RIB (or the grace time).
//!
//! Two namespaces `rbfg-<pid>-r` (the router: the FIB task and the core
//! run on a thread inside it) and `rbfg-<pid>-n` (a node that answers ARP
//! and ND for 10.99.0.2 and fd99::2), joined by a veth pair; nobody has
//! 10.99.0.9, fd99::9 or 10.99.0.6 (which the router's ARP cache still
//! holds, STALE, as after a restart). The core's decisions are the real core's, fed the
//! FIB's summaries as the daemon feeds them. Needs root and `ip netns`;
//! otherwise the test prints why and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use bgpd::config::FibConfig;
use bgpd::core::{Core, FibCommand, FibReport, Input, Output};
use bgpd::fib::{spawn, FibHandle, FibManager, NetlinkFib, NetlinkOptions};

/// A core with the FIB on and a range of neighbors none of which connects.
const CONFIG: &str = r#"
[router]
asn = 65000
router_id = "10.99.0.1"
listen = []

[[neighbor]]
range = "10.99.0.0/24"
remote_as = 65100
"#;

/// The routes a previous run left: (destination, `ip route` next hops).
const LEFT: &[(&str, &str)] = &[
    ("10.2.0.0/24", "via 10.99.0.2"),
    ("10.9.0.0/24", "via 10.99.0.9"),
    // One gateway answers: the route may still carry traffic.
    ("10.8.0.0/24", "nexthop via 10.99.0.2 nexthop via 10.99.0.9"),
    // A neighbour entry someone configured: never probed, never failed.
    ("10.7.0.0/24", "via 10.99.0.7"),
    // Resolved before the restart (STALE), gone since: confirmed again.
    ("10.6.0.0/24", "via 10.99.0.6"),
    ("fd02::/64", "via fd99::2"),
    ("fd09::/64", "via fd99::9"),
];

fn ip(ns: &testbed::Netns, args: &str) -> String {
    let args: Vec<&str> = args.split_whitespace().collect();
    ns.ip(&args).unwrap()
}

/// Our routes in the current thread's namespace, both families.
fn our_routes() -> String {
    let mut out = String::new();
    for family in ["-4", "-6"] {
        let o = Command::new("ip")
            .args([family, "route", "show", "proto", "bgp"])
            .output()
            .unwrap();
        out.push_str(&String::from_utf8_lossy(&o.stdout));
    }
    out
}

fn has_route(routes: &str, dest: &str) -> bool {
    routes.lines().any(|l| l.starts_with(&format!("{dest} ")))
}

/// The FIB task as the daemon runs it, but with a grace time that never
/// ends within the test.
fn spawn_fib() -> (FibHandle, tokio::task::JoinHandle<()>) {
    let c = FibConfig {
        metric: 32,
        persist: true,
        ..FibConfig::default()
    };
    let m = FibManager::new(
        NetlinkFib::new(NetlinkOptions::from_config(&c)).unwrap(),
        &c,
    );
    spawn(
        m,
        None,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    )
}

/// Plays the driver between `core` and the FIB for one poll: the FIB's
/// summary in, the core's FIB commands carried out. Returns whether the
/// core ended the start-up phase.
async fn poll_once(core: &mut Core, fib: &FibHandle) -> bool {
    let summary = fib.summary().await.unwrap();
    core.handle(
        std::time::Instant::now(),
        Input::Fib(FibReport::Summary(summary)),
    );
    let mut ended = false;
    while let Some(out) = core.poll_output() {
        match out {
            Output::Fib(FibCommand::RemoveStale(prefixes)) => {
                fib.remove_stale(prefixes).await.unwrap();
            }
            Output::Fib(FibCommand::StartupComplete) => ended = true,
            _ => {}
        }
    }
    ended
}

#[test]
fn a_left_route_via_a_gone_node_goes_before_the_grace_time_the_others_stay() {
    if let Some(why) = testbed::netns_unavailable() {
        testbed::skip(why);
        return;
    }
    let pid = std::process::id();
    let (r, n) = match (
        testbed::Netns::create(&format!("rbfg-{pid}-r")),
        testbed::Netns::create(&format!("rbfg-{pid}-n")),
    ) {
        (Ok(r), Ok(n)) => (r, n),
        (Err(e), _) | (_, Err(e)) => {
            testbed::skip(format!("cannot create network namespaces: {e}"));
            return;
        }
    };
    testbed::netns::veth(&r, "rbga0", &n, "rbgb0").unwrap();
    for (ns, dev, addrs) in [
        (&r, "rbga0", ["10.99.0.1/24", "fd99::1/64"]),
        (&n, "rbgb0", ["10.99.0.2/24", "fd99::2/64"]),
    ] {
        for a in addrs {
            ns.add_addr(dev, a).unwrap();
        }
        ns.link_up(dev).unwrap();
    }
    ip(
        &r,
        "neigh add 10.99.0.7 dev rbga0 lladdr 02:00:00:00:00:07 nud permanent",
    );
    ip(
        &r,
        "neigh add 10.99.0.6 dev rbga0 lladdr 02:00:00:00:00:06 nud stale",
    );
    for (dest, via) in LEFT {
        let family = if dest.contains(':') { "-6" } else { "-4" };
        ip(
            &r,
            &format!("{family} route add {dest} proto bgp metric 32 {via}"),
        );
    }
    let (removed_at, left) = r
        .run(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let started = Instant::now();
                let (fib, task) = spawn_fib();
                let config = bgpd::config::parse(CONFIG, "test.toml").unwrap();
                let mut core = Core::new(config, std::time::Instant::now()).unwrap();
                // Generous: the kernel gives up after 3 probes 1 s apart.
                let deadline = started + Duration::from_secs(60);
                let removed_at = loop {
                    assert!(!poll_once(&mut core, &fib).await, "no neighbor came back");
                    let routes = our_routes();
                    let gone = ["10.9.0.0/24", "10.6.0.0/24", "fd09::/64"];
                    if gone.iter().all(|d| !has_route(&routes, d)) {
                        break started.elapsed();
                    }
                    assert!(
                        Instant::now() < deadline,
                        "still there after 60 s:\n{routes}"
                    );
                    tokio::time::sleep(Duration::from_millis(250)).await;
                };
                let left = our_routes();
                let status = fib.status().await.unwrap();
                assert!(!status.startup_complete);
                assert_eq!(status.stale, 4, "{status:?}");
                // The grace time (or the core, on End-of-RIB) ends the
                // phase: what is still not wanted goes then.
                fib.startup_complete().await.unwrap();
                // Answered after the command before it was carried out.
                assert!(fib.status().await.unwrap().startup_complete);
                assert_eq!(our_routes(), "", "gone after the phase");
                fib.shutdown().await.unwrap();
                task.await.unwrap();
                (removed_at, left)
            })
        })
        .unwrap();
    println!("routes via the gone node removed after {removed_at:?}");
    for dest in ["10.2.0.0/24", "10.8.0.0/24", "10.7.0.0/24", "fd02::/64"] {
        assert!(has_route(&left, dest), "{dest} kept:\n{left}");
    }
    let neigh = ip(&r, "neigh show dev rbga0");
    assert!(
        neigh.contains("10.99.0.7 lladdr 02:00:00:00:00:07 PERMANENT"),
        "a configured entry is left alone:\n{neigh}"
    );
    for gw in ["10.99.0.9", "10.99.0.6"] {
        assert!(
            neigh.contains(&format!("{gw} FAILED")),
            "the kernel tried and failed:\n{neigh}"
        );
    }
    let neigh6 = ip(&r, "-6 neigh show dev rbga0");
    assert!(neigh6.contains("fd99::9 FAILED"), "{neigh6}");
    assert!(!neigh6.contains("PERMANENT"), "{neigh6}");
}
