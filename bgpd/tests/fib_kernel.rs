//! Kernel tests of the netlink FIB, each in a fresh network namespace
//! `rbfib-<pid>-<n>` (deleted on drop, also when a test fails). The test
//! thread enters the namespace with setns(2) before it creates the tokio
//! runtime and the netlink sockets, so nothing touches the host's tables.
//! Needs root and `ip netns`; otherwise every test prints why and passes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use bgp_proto::Prefix;
use bgpd::config::FibConfig;
use bgpd::fib::{
    spawn, Fib, FibChange, FibHandle, FibManager, FibMonitor, FibRouteState, NetlinkFib,
    NetlinkOptions,
};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The test's namespace (testbed's), with `ip` taking one string and
/// panicking on failure.
struct Netns(testbed::Netns);

impl Netns {
    /// A fresh namespace with `lo` up, or `None` (skip) without privileges.
    fn new() -> Option<Netns> {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("rbfib-{}-{n}", std::process::id());
        if let Some(why) = testbed::netns_unavailable() {
            testbed::skip(why);
            return None;
        }
        match testbed::Netns::create(&name) {
            Ok(ns) => Some(Netns(ns)),
            Err(e) => {
                testbed::skip(format!("cannot create network namespace {name}: {e}"));
                None
            }
        }
    }

    /// A handle on the namespace `name` that leaves it in place on drop
    /// (for use inside [`Netns::run`]).
    fn open(name: &str) -> Netns {
        Netns(testbed::Netns::open(name))
    }

    fn name(&self) -> &str {
        self.0.name()
    }

    /// Runs `ip -n NS <args>` and returns stdout; panics on failure.
    fn ip(&self, args: &str) -> String {
        let args: Vec<&str> = args.split_whitespace().collect();
        let text = self.0.ip(&args).unwrap();
        if args.contains(&"route") {
            without_nhid(&text)
        } else {
            text
        }
    }

    /// A veth pair `<a>`/`<b>`, both ends in the namespace and up, with
    /// `addrs` (CIDR) on `<a>`.
    fn veth(&self, a: &str, b: &str, addrs: &[&str]) {
        self.0.veth_pair(a, b).unwrap();
        for addr in addrs {
            self.0.add_addr(a, addr).unwrap();
        }
        self.0.link_up(a).unwrap();
        self.0.link_up(b).unwrap();
    }

    /// Runs `f` on a thread inside the namespace, with a tokio runtime.
    fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = T>>> + Send + 'static,
    ) -> T {
        self.0
            .run(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(f())
            })
            .unwrap()
    }

    fn routes(&self, v6: bool) -> String {
        self.ip(if v6 {
            "-6 route show proto bgp"
        } else {
            "route show proto bgp"
        })
    }
}

/// `ip route` text without the `nhid N` of routes naming nexthop objects,
/// so route checks read the same with objects on or off (the tests of the
/// objects themselves look at `ip nexthop` and `ip -d route`).
fn without_nhid(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" nhid ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + " nhid ".len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        rest = &after[digits..];
    }
    out.push_str(rest);
    out
}

fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

fn ann(prefix: &str, nhs: &[&str]) -> FibChange {
    FibChange::announce(
        p(prefix),
        nhs.iter().map(|s| s.parse::<IpAddr>().unwrap()).collect(),
    )
}

fn cfg(table: u32) -> FibConfig {
    FibConfig {
        table,
        metric: 32,
        max_paths: 8,
        persist: true,
        ..FibConfig::default()
    }
}

fn manager(table: u32) -> FibManager<NetlinkFib> {
    manager_with(&cfg(table))
}

fn manager_with(c: &FibConfig) -> FibManager<NetlinkFib> {
    FibManager::new(NetlinkFib::new(NetlinkOptions::from_config(c)).unwrap(), c)
}

/// The FIB task with a kernel monitor on the main table, as the daemon
/// runs it, minus the periodic scan and the startup grace. Call inside the
/// namespace's runtime.
fn spawn_monitored() -> (FibHandle, tokio::task::JoinHandle<()>) {
    let c = cfg(254);
    let opts = NetlinkOptions::from_config(&c);
    let m = FibManager::new(NetlinkFib::new(opts.clone()).unwrap(), &c);
    let monitor = FibMonitor::new(&opts).unwrap();
    spawn(
        m,
        Some(monitor),
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    )
}

/// Polls `cond` for up to 5 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn add_replace_delete_v4_and_v6() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24", "fd99::1/64"]);
    let out = ns.run(|| {
        Box::pin(async {
            let mut m = manager(254);
            m.start().await.unwrap();
            m.update(&[
                ann("10.1.0.0/24", &["10.99.0.2"]),
                ann("fd01::/64", &["fd99::2"]),
                ann("fd02::/64", &["::ffff:10.99.0.2"]),
                ann("10.3.0.0/24", &["fd99::2"]),
            ])
            .await
            .unwrap();
            let dump = m.fib_mut().dump().await.unwrap();
            assert_eq!(
                m.resync().await.unwrap(),
                0,
                "dump must match what we wrote: {dump:?}"
            );
            let st = m.status();
            assert_eq!((st.installed, st.pending), (3, 1));
            m
        })
    });
    let v4 = ns.routes(false);
    assert!(
        v4.contains("10.1.0.0/24 via 10.99.0.2 dev rbfa0 metric 32"),
        "{v4}"
    );
    let v6 = ns.routes(true);
    assert!(
        v6.contains("fd01::/64 via fd99::2 dev rbfa0 metric 32"),
        "{v6}"
    );
    assert!(
        !v6.contains("fd02::/64"),
        "Linux has no IPv6 routes via IPv4: {v6}"
    );
    assert!(
        v4.contains("10.3.0.0/24 via inet6 fd99::2 dev rbfa0 metric 32"),
        "{v4}"
    );
    drop(out);

    ns.run(|| {
        Box::pin(async {
            let mut m = manager(254);
            m.start().await.unwrap();
            m.update(&[
                ann("10.1.0.0/24", &["10.99.0.3"]),
                ann("fd01::/64", &["fd99::3"]),
            ])
            .await
            .unwrap();
        })
    });
    let v4 = ns.routes(false);
    assert!(v4.contains("10.1.0.0/24 via 10.99.0.3 dev rbfa0"), "{v4}");
    assert!(!v4.contains("10.99.0.2"), "{v4}");
    assert!(ns.routes(true).contains("fd01::/64 via fd99::3"));

    ns.run(|| {
        Box::pin(async {
            let mut m = manager(254);
            m.start().await.unwrap();
            m.startup_complete().await.unwrap();
            // Deleting twice is fine (ESRCH ignored).
            m.update(&[FibChange::withdraw(p("10.1.0.0/24"))])
                .await
                .unwrap();
            m.update(&[ann("10.1.0.0/24", &["10.99.0.3"])])
                .await
                .unwrap();
            m.update(&[FibChange::withdraw(p("10.1.0.0/24"))])
                .await
                .unwrap();
        })
    });
    assert_eq!(ns.routes(false).trim(), "");
    assert_eq!(
        ns.routes(true).trim(),
        "",
        "stale v6 routes removed after startup"
    );
}

#[test]
fn ecmp_group_grows_and_shrinks() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24", "fd99::1/64"]);
    let run = |changes: Vec<FibChange>| {
        ns.run(move || {
            Box::pin(async move {
                let mut m = manager(254);
                m.start().await.unwrap();
                m.update(&changes).await.unwrap();
                assert_eq!(m.resync().await.unwrap(), 0);
            })
        })
    };
    run(vec![
        ann("10.11.192.248/32", &["10.99.0.2"]),
        ann("fd11::/64", &["fd99::2"]),
    ]);
    run(vec![
        ann("10.11.192.248/32", &["10.99.0.2", "10.99.0.3", "10.99.0.4"]),
        ann("fd11::/64", &["fd99::2", "fd99::3", "fd99::4"]),
    ]);
    let v4 = ns.routes(false);
    assert!(v4.contains("10.11.192.248 metric 32"), "{v4}");
    assert_eq!(v4.matches("nexthop via").count(), 3, "{v4}");
    let v6 = ns.routes(true);
    assert_eq!(v6.matches("nexthop via").count(), 3, "{v6}");
    run(vec![
        ann("10.11.192.248/32", &["10.99.0.2", "10.99.0.4"]),
        ann("fd11::/64", &["fd99::3", "fd99::4"]),
    ]);
    let v4 = ns.routes(false);
    assert_eq!(v4.matches("nexthop via").count(), 2, "{v4}");
    assert!(!v4.contains("10.99.0.3"), "{v4}");
    let v6 = ns.routes(true);
    assert_eq!(v6.matches("nexthop via").count(), 2, "{v6}");
    assert!(!v6.contains("fd99::2 "), "{v6}");
    run(vec![
        ann("10.11.192.248/32", &["10.99.0.4"]),
        ann("fd11::/64", &["fd99::4"]),
    ]);
    assert!(ns
        .routes(false)
        .contains("10.11.192.248 via 10.99.0.4 dev rbfa0"));
    assert!(ns.routes(true).contains("fd11::/64 via fd99::4 dev rbfa0"));
}

#[test]
fn unreachable_next_hop_installed_when_interface_appears() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24"]);
    let name = ns.name().to_string();
    ns.run(move || {
        Box::pin(async move {
            let (h, task) = spawn_monitored();
            h.update(vec![
                ann("10.242.0.0/24", &["172.19.0.4"]),
                ann("10.1.0.0/24", &["10.99.0.2"]),
            ])
            .await
            .unwrap();
            let st = h.status().await.unwrap();
            let pending = st
                .routes
                .iter()
                .find(|r| r.prefix == p("10.242.0.0/24"))
                .unwrap();
            assert_eq!(pending.state, FibRouteState::Pending);
            assert_eq!(st.installed, 1);
            // `docker network connect kind2`: eth1 appears with 172.19.0.5/16.
            let ns = Netns::open(&name);
            ns.veth("rbfeth1", "rbfpeer1", &["172.19.0.5/16"]);
            let mut installed = false;
            for _ in 0..100 {
                if ns
                    .routes(false)
                    .contains("10.242.0.0/24 via 172.19.0.4 dev rbfeth1")
                {
                    installed = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(installed, "route not installed after the address appeared");
            let st = h.status().await.unwrap();
            assert_eq!((st.installed, st.pending), (2, 0));
            h.shutdown().await.unwrap();
            task.await.unwrap();
        })
    });
}

#[test]
fn restart_keeps_routes_then_removes_only_stale_and_leaves_foreign() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24"]);
    ns.ip("route add 10.50.0.0/24 via 10.99.0.9 proto static");
    ns.ip("route add 10.1.0.0/24 via 10.99.0.9 proto static metric 100 table 1000");
    ns.run(|| {
        Box::pin(async {
            let mut m = manager(1000);
            m.start().await.unwrap();
            m.update(&[
                ann("10.1.0.0/24", &["10.99.0.2"]),
                ann("10.2.0.0/24", &["10.99.0.2"]),
            ])
            .await
            .unwrap();
            m.shutdown().await.unwrap(); // persist = true
        })
    });
    let t = ns.ip("route show table 1000 proto bgp");
    assert!(
        t.contains("10.1.0.0/24") && t.contains("10.2.0.0/24"),
        "{t}"
    );
    let main_before = ns.ip("route show");
    // The restarted daemon only learns 10.1 again.
    ns.run(|| {
        Box::pin(async {
            let mut m = manager(1000);
            m.start().await.unwrap();
            assert_eq!(m.status().stale, 2);
            m.update(&[ann("10.1.0.0/24", &["10.99.0.3"])])
                .await
                .unwrap();
            let v4 = Command::new("ip")
                .args(["route", "show", "table", "1000"])
                .output()
                .unwrap();
            let v4 = without_nhid(&String::from_utf8_lossy(&v4.stdout));
            assert!(
                v4.contains("10.2.0.0/24 via 10.99.0.2"),
                "kept during startup: {v4}"
            );
            m.startup_complete().await.unwrap();
            assert_eq!(m.status().stale, 0);
        })
    });
    let t = ns.ip("route show table 1000");
    assert!(!t.contains("10.2.0.0/24"), "{t}");
    assert!(
        t.contains("10.1.0.0/24 via 10.99.0.3 dev rbfa0 proto bgp metric 32"),
        "{t}"
    );
    assert!(
        t.contains("10.1.0.0/24 via 10.99.0.9 dev rbfa0 proto static metric 100"),
        "{t}"
    );
    assert_eq!(ns.ip("route show"), main_before, "main table untouched");
    assert!(main_before.contains("10.50.0.0/24 via 10.99.0.9 dev rbfa0 proto static"));
    // Without persist, exit removes only our routes.
    ns.run(|| {
        Box::pin(async {
            let c = FibConfig {
                persist: false,
                ..cfg(1000)
            };
            let mut m = manager_with(&c);
            m.start().await.unwrap();
            m.shutdown().await.unwrap();
        })
    });
    let t = ns.ip("route show table 1000");
    assert_eq!(
        t.trim(),
        "10.1.0.0/24 via 10.99.0.9 dev rbfa0 proto static metric 100",
        "{t}"
    );
}

#[test]
fn route_deleted_or_changed_behind_our_back_comes_back() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24"]);
    let name = ns.name().to_string();
    ns.run(move || {
        Box::pin(async move {
            let (h, task) = spawn_monitored();
            h.update(vec![
                ann("10.1.0.0/24", &["10.99.0.2"]),
                ann("10.2.0.0/24", &["10.99.0.2"]),
            ])
            .await
            .unwrap();
            let ns = Netns::open(&name);
            let show = |ns: &Netns| ns.routes(false);
            // Queued commands are answered between writes: wait for the
            // kernel, not for the task.
            eventually("routes installed", || {
                show(&ns).contains("10.1.0.0/24 via 10.99.0.2")
                    && show(&ns).contains("10.2.0.0/24 via 10.99.0.2")
            })
            .await;
            // Deleted: the monitor notices and puts it back.
            ns.ip("route del 10.1.0.0/24 proto bgp");
            eventually("deleted route restored", || {
                show(&ns).contains("10.1.0.0/24 via 10.99.0.2")
            })
            .await;
            // Changed: the next scan (here forced) repairs it.
            ns.ip("route replace 10.2.0.0/24 via 10.99.0.7 proto bgp metric 32");
            assert_eq!(h.resync().await.unwrap(), 1);
            assert!(
                show(&ns).contains("10.2.0.0/24 via 10.99.0.2"),
                "{}",
                show(&ns)
            );
            h.shutdown().await.unwrap();
            task.await.unwrap();
        })
    });
}

#[test]
fn refused_ops_are_reported_by_index_and_overflow_is_desync() {
    use bgpd::fib::{FibError, FibOp, FibRoute, NextHop};
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24"]);
    ns.run(|| {
        Box::pin(async {
            let opts = NetlinkOptions::from_config(&cfg(254));
            let mut fib = NetlinkFib::new(opts.clone()).unwrap();
            let route = |i: u32, gw: &str| {
                let prefix = Prefix::new(IpAddr::V4((0x1400_0000 + (i << 8)).into()), 24).unwrap();
                let gateway = gw.parse().unwrap();
                FibOp::Replace(
                    FibRoute::new(
                        prefix,
                        vec![NextHop {
                            gateway,
                            ifindex: 0,
                        }],
                    ),
                    None,
                )
            };
            // Every third op has an unreachable gateway; 5,000 ops span
            // several chunks.
            let batch: Vec<FibOp> = (0..5000)
                .map(|i| route(i, if i % 3 == 0 { "192.0.2.1" } else { "10.99.0.2" }))
                .collect();
            let failures = fib.apply(&batch).await.unwrap();
            let idx: Vec<usize> = failures.iter().map(|f| f.index).collect();
            let want: Vec<usize> = (0..5000).filter(|i| i % 3 == 0).collect();
            assert_eq!(idx, want);
            assert!(
                failures[0].error.contains("unreachable"),
                "{}",
                failures[0].error
            );
            assert_eq!(fib.dump().await.unwrap().len(), 5000 - want.len());
            // Deleting absent routes is not an error.
            let dels: Vec<FibOp> = batch.iter().map(|op| FibOp::Delete(op.prefix())).collect();
            assert!(fib.apply(&dels).await.unwrap().is_empty());
            assert!(fib.dump().await.unwrap().is_empty());

            // A tiny receive buffer cannot hold thousands of error replies:
            // the kernel drops them and we must say the state is unknown.
            let small = NetlinkOptions {
                socket_buffer: 4096,
                ..opts
            };
            let mut fib = NetlinkFib::new(small).unwrap();
            let bad: Vec<FibOp> = (0..5000).map(|i| route(i, "192.0.2.1")).collect();
            match fib.apply(&bad).await {
                Err(FibError::Desync(_)) => {}
                other => panic!("expected Desync, got {other:?}"),
            }
        })
    });
}

/// `ip nexthop` of the namespace, one object per line.
fn nexthops(ns: &Netns) -> Vec<String> {
    ns.ip("nexthop show")
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Our objects (`proto bgp`) of `ip nexthop`.
fn our_nexthops(ns: &Netns) -> Vec<String> {
    nexthops(ns)
        .into_iter()
        .filter(|l| l.contains("proto bgp"))
        .collect()
}

/// The raw `ip route` text, `nhid` included.
fn raw_routes(ns: &Netns) -> String {
    ns.0.ip(&["route", "show", "proto", "bgp"]).unwrap()
}

#[test]
fn routes_share_nexthop_objects_that_go_with_their_last_route() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24", "fd99::1/64"]);
    // Someone else's object holds id 1: never taken, never touched.
    ns.ip("nexthop add id 1 via 10.99.0.9 dev rbfa0");
    ns.run(|| {
        Box::pin(async {
            let mut m = manager(254);
            m.start().await.unwrap();
            m.startup_complete().await.unwrap();
            m.update(&[
                ann("10.1.0.0/24", &["10.99.0.2"]),
                ann("10.2.0.0/24", &["10.99.0.2"]),
                ann("10.3.0.0/24", &["10.99.0.2"]),
                ann("10.4.0.0/24", &["10.99.0.3", "10.99.0.2"]),
                ann("fd01::/64", &["fd99::2"]),
                // RFC 8950: IPv4 routes via IPv6 gateways name IPv6
                // objects (the IPv6 route's), ECMP a group of them.
                ann("10.5.0.0/24", &["fd99::2"]),
                ann("10.6.0.0/24", &["fd99::2", "fd99::3"]),
            ])
            .await
            .unwrap();
            assert_eq!(m.resync().await.unwrap(), 0, "the dump reads back");
            // 10.99.0.2, 10.99.0.3, their group, fd99::2, fd99::3, theirs.
            assert_eq!(m.fib().nexthop_objects(), Some(6));
        })
    });
    let ours = our_nexthops(&ns);
    assert_eq!(ours.len(), 6, "{ours:?}");
    assert!(
        ours.iter().all(|l| !l.starts_with("id 1 ")),
        "id 1 is someone else's: {ours:?}"
    );
    assert_eq!(ours.iter().filter(|l| l.contains("group")).count(), 2);
    let raw = raw_routes(&ns);
    assert_eq!(raw.matches("nhid").count(), 6, "{raw}");
    assert!(
        raw.lines()
            .any(|l| l.starts_with("10.5.0.0/24 nhid") && l.contains("via inet6 fd99::2")),
        "{raw}"
    );
    assert!(raw.contains("nexthop via inet6 fd99::3 dev rbfa0"), "{raw}");
    // The ECMP routes read as two next hops each, as before.
    let v4 = ns.routes(false);
    assert!(v4.contains("10.4.0.0/24 metric 32"), "{v4}");
    assert_eq!(v4.matches("nexthop via").count(), 4, "{v4}");

    // Moving routes off a list frees its object once the last one moved;
    // exit without persist removes the rest, and only ours.
    ns.run(|| {
        Box::pin(async {
            let c = FibConfig {
                persist: false,
                ..cfg(254)
            };
            let mut m = manager_with(&c);
            m.start().await.unwrap();
            // Adopted: the previous run's objects, none created.
            assert_eq!(m.fib().nexthop_objects(), Some(6));
            m.update(&[
                ann("10.1.0.0/24", &["10.99.0.2"]),
                ann("10.2.0.0/24", &["10.99.0.2"]),
                ann("10.3.0.0/24", &["10.99.0.2"]),
                ann("10.4.0.0/24", &["10.99.0.2"]),
                ann("fd01::/64", &["fd99::2"]),
                ann("10.5.0.0/24", &["fd99::2"]),
                ann("10.6.0.0/24", &["fd99::2"]),
            ])
            .await
            .unwrap();
            // The groups, 10.99.0.3 and fd99::3 went with the ECMP
            // routes, from the kernel too (this thread is in the
            // namespace).
            assert_eq!(m.fib().nexthop_objects(), Some(2));
            let listed = Command::new("ip")
                .args(["nexthop", "show"])
                .output()
                .unwrap();
            let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
            assert_eq!(listed.matches("proto bgp").count(), 2, "{listed}");
            m.shutdown().await.unwrap();
        })
    });
    assert_eq!(our_nexthops(&ns), Vec::<String>::new());
    assert_eq!(ns.routes(false).trim(), "");
    let all = nexthops(&ns);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(all[0].starts_with("id 1 via 10.99.0.9"), "{all:?}");
}

#[test]
fn plain_routes_when_nexthop_objects_are_off() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24"]);
    ns.run(|| {
        Box::pin(async {
            let c = FibConfig {
                nexthop_objects: false,
                ..cfg(254)
            };
            let mut m = manager_with(&c);
            m.start().await.unwrap();
            m.update(&[
                ann("10.1.0.0/24", &["10.99.0.2"]),
                ann("10.4.0.0/24", &["10.99.0.3", "10.99.0.2"]),
            ])
            .await
            .unwrap();
            assert_eq!(m.fib().nexthop_objects(), None);
            assert_eq!(m.resync().await.unwrap(), 0);
        })
    });
    let raw = raw_routes(&ns);
    assert!(
        raw.contains("10.1.0.0/24 via 10.99.0.2 dev rbfa0 metric 32"),
        "{raw}"
    );
    assert!(!raw.contains("nhid"), "{raw}");
    assert!(nexthops(&ns).is_empty());
}

#[test]
fn routes_come_back_after_their_object_is_deleted_or_their_link_flaps() {
    let Some(ns) = Netns::new() else { return };
    ns.veth("rbfa0", "rbfb0", &["10.99.0.1/24"]);
    let name = ns.name().to_string();
    ns.run(move || {
        Box::pin(async move {
            let (h, task) = spawn_monitored();
            h.update(vec![
                ann("10.1.0.0/24", &["10.99.0.2"]),
                ann("10.2.0.0/24", &["10.99.0.2"]),
                ann("10.3.0.0/24", &["10.99.0.2", "10.99.0.3"]),
            ])
            .await
            .unwrap();
            let ns = Netns::open(&name);
            let all_there = |ns: &Netns| {
                let v4 = ns.routes(false);
                v4.contains("10.1.0.0/24 via 10.99.0.2")
                    && v4.contains("10.2.0.0/24 via 10.99.0.2")
                    && v4.matches("nexthop via").count() == 2
            };
            // Queued commands are answered between writes: wait for the
            // kernel, not for the task.
            eventually("routes installed", || all_there(&ns)).await;
            // Deleting an object deletes its routes, and the group shrinks,
            // without a route notification: the object's is enough.
            let single = our_nexthops(&ns)
                .into_iter()
                .find(|l| l.contains("via 10.99.0.2 "))
                .unwrap();
            let id = single.split_whitespace().nth(1).unwrap().to_string();
            ns.ip(&format!("nexthop del id {id}"));
            assert!(!ns.routes(false).contains("10.1.0.0/24"));
            eventually("routes of a deleted object restored", || all_there(&ns)).await;
            // A link going down takes its objects and routes (silently);
            // they come back with the link.
            ns.ip("link set rbfa0 down");
            eventually("routes gone with the link", || {
                ns.routes(false).trim().is_empty()
            })
            .await;
            ns.ip("link set rbfa0 up");
            eventually("routes back with the link", || all_there(&ns)).await;
            let st = h.status().await.unwrap();
            assert_eq!((st.installed, st.errors), (3, 0));
            h.shutdown().await.unwrap();
            task.await.unwrap();
        })
    });
}
