#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Smoke test for CI: the harness against itself (null sink, loopback, no
//! root), 1,000 prefixes over 2 feeders, with churn.

use bench::scenario::{run_null, Scenario};
use std::time::Duration;

#[test]
fn null_sink_counts_every_prefix_and_the_churn() {
    let sc = Scenario {
        name: "smoke".into(),
        prefixes: 1_000,
        prefixes6: 0,
        feeders: 2,
        churn: true,
        fib: false,
        spread: Duration::ZERO,
        stalled: None,
        linger: Duration::ZERO,
        bfd: false,
        hold: Duration::ZERO,
        flap: None,
    };
    let wl = sc.workload(3).unwrap();
    assert_eq!(wl.prefix_count(), 1_000);
    let r = run_null(&sc, &wl, Duration::from_secs(30)).unwrap();
    assert!(r.converged >= r.established, "{r:?}");
    assert!(r.converged < Duration::from_secs(30), "{r:?}");
    assert!(r.withdraw.is_some() && r.reannounce.is_some(), "{r:?}");
    assert!(r.fib.is_none() && r.cpu_secs.is_none(), "{r:?}");
}

#[test]
fn spread_connects_start_one_by_one() {
    let sc = Scenario {
        name: "spread".into(),
        prefixes: 40,
        prefixes6: 0,
        feeders: 10,
        churn: false,
        fib: false,
        spread: Duration::from_millis(200),
        stalled: None,
        linger: Duration::ZERO,
        bfd: false,
        hold: Duration::ZERO,
        flap: None,
    };
    let wl = sc.workload(3).unwrap();
    let r = run_null(&sc, &wl, Duration::from_secs(30)).unwrap();
    // The last of 10 feeders starts connecting 9/10 of the spread in.
    assert!(r.established >= Duration::from_millis(180), "{r:?}");
    assert!(r.converged >= r.established, "{r:?}");
    assert!(sc.label().contains("connects over 0.2 s"), "{}", sc.label());
}

#[test]
fn null_sink_counts_both_families_of_a_small_f() {
    // F's shape at 2,000 + 500 prefixes: two dual-stack feeders.
    let mut sc = Scenario::by_name("F", false).unwrap();
    sc.scale_prefixes(2_000);
    assert_eq!((sc.prefixes, sc.prefixes6, sc.feeders), (2_000, 500, 2));
    sc.churn = true;
    let wl = sc.workload(3).unwrap();
    assert!(wl.dual_stack());
    assert_eq!(wl.describe(), "2000 IPv4 + 500 IPv6 prefixes");
    let r = run_null(&sc, &wl, Duration::from_secs(30)).unwrap();
    assert_eq!(r.at_monitor, (2_000, 500), "{r:?}");
    assert!(r.converged >= r.established, "{r:?}");
    // The churn withdraws and re-announces a tenth of both families.
    assert!(r.withdraw.is_some() && r.reannounce.is_some(), "{r:?}");
}

/// A rolling restart against the null sink: every feeder's session drops
/// and comes back, and the sink ends up holding every prefix from the
/// second sessions (marked), counted once.
#[test]
fn a_rolling_restart_ends_with_every_prefix_from_the_second_sessions() {
    let mut sc = Scenario::by_name("D", false).unwrap();
    sc.feeders = 20;
    sc.prefixes = 200;
    sc.flap = Some(Duration::from_millis(200));
    let wl = sc.workload(3).unwrap();
    let r = run_null(&sc, &wl, Duration::from_secs(30)).unwrap();
    let flap = r.flap.expect("a flap was measured");
    assert!(flap.consistent >= flap.established, "{r:?}");
    // The last feeder drops 19/20 of the spread in.
    assert!(flap.established >= Duration::from_millis(190), "{r:?}");
    assert_eq!(r.at_monitor, (200, 0), "{r:?}");
    assert!(
        sc.label().contains("rolling restart over 0.2 s"),
        "{}",
        sc.label()
    );
}
