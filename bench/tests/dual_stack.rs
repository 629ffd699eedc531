#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Scenario F's shape, small (2,000 IPv4 + 500 IPv6 prefixes over two
//! dual-stack feeders), against rbgpd and, where installed, BIRD, in FIB
//! mode: the run converges only once the monitor holds every prefix of
//! both families and the daemon's kernel table holds every route of both.
//! Checks the daemons' dual-stack configs, the IPv6 next hops on the bench
//! link and the harness's IPv6 counting (monitor and `ip -6 route` dumps).
//!
//! Needs root (network namespaces) and the rbgpd binary next to the test
//! binary (`cargo build -p bgpd`, or a workspace test run, puts it there;
//! `BENCH_RBGPD` names another); otherwise it says SKIP and passes.

use bench::daemons::Daemon;
use bench::scenario::{run_daemon, Options, Scenario};
use std::path::PathBuf;
use std::time::Duration;

fn rbgpd_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BENCH_RBGPD") {
        return Some(PathBuf::from(p));
    }
    // target/<profile>/deps/<this test> -> target/<profile>/rbgpd
    let exe = std::env::current_exe().ok()?;
    let bin = exe.parent()?.parent()?.join("rbgpd");
    bin.is_file().then_some(bin)
}

#[test]
fn small_f_converges_with_both_families_in_kernel_and_at_monitor() {
    if let Some(why) = testbed::prereq::netns_unavailable() {
        return testbed::prereq::skip(why);
    }
    let Some(rbgpd) = rbgpd_binary() else {
        return testbed::prereq::skip("rbgpd not built (cargo build -p bgpd)");
    };
    let mut sc = Scenario::by_name("F", true).unwrap();
    sc.scale_prefixes(2_000);
    let wl = sc.workload(1).unwrap();
    let work = tempdir();
    let opts = Options {
        timeout: Duration::from_secs(120),
        rbgpd,
        work_dir: work.clone(),
        perf: None,
    };
    let mut daemons = vec![Daemon::Rbgpd];
    if testbed::prereq::have("bird") {
        daemons.push(Daemon::Bird);
    } else {
        println!("bird not installed: rbgpd only");
    }
    for d in daemons {
        let r = run_daemon(d, &sc, &wl, &opts, 0).unwrap_or_else(|e| panic!("{}: {e}", d.name()));
        println!("{}: {r:?}", d.name());
        assert_eq!(r.at_monitor, (2_000, 500), "{}: {r:?}", d.name());
        let (k4, k6) = r.in_kernel.expect("FIB mode counts the kernel");
        assert!(k4 >= 2_000 && k6 >= 500, "{}: {r:?}", d.name());
        assert!(r.fib.is_some() && r.converged >= r.established, "{r:?}");
    }
    let _ = std::fs::remove_dir_all(&work);
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("rbbench-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
