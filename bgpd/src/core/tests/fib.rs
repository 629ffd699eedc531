//! The FIB side: its start-up phase, failures, and a daemon without a FIB.

use super::*;
use crate::core::{FibCommand, FibReport};
use crate::ctl::proto::EventKind;
use crate::fib::{FibRoute, FibSummary, NextHop};

const NO_FIB: &str = r#"
[router]
asn = 65000
router_id = "172.18.0.5"
listen = []

[fib]
enabled = false

[[neighbor]]
range = "172.18.0.0/16"
remote_as = 65100
"#;

/// A summary of a FIB whose previous run left `prefix` via `gateway`.
fn left_behind(prefix: &str, gateway: &str) -> FibSummary {
    left(&[(prefix, &[gateway])], &[])
}

fn hop(gateway: &str) -> NextHop {
    NextHop {
        gateway: ip(gateway),
        ifindex: 0,
    }
}

/// A summary of a FIB whose previous run left `routes` (prefix, gateways),
/// the kernel having failed to resolve the gateways `gone`.
fn left(routes: &[(&str, &[&str])], gone: &[&str]) -> FibSummary {
    FibSummary {
        startup_complete: false,
        installed: routes.len(),
        stale: routes
            .iter()
            .map(|(p, gws)| FibRoute::new(pfx(p), gws.iter().map(|g| hop(g)).collect()))
            .collect(),
        unreachable: gone.iter().map(|g| hop(g)).collect(),
        ..FibSummary::default()
    }
}

/// The prefixes of the outputs' stale removals.
fn removed(outs: &[Output]) -> Vec<Prefix> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Fib(FibCommand::RemoveStale(p)) => Some(p.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

fn asks_for_summary(outs: &[Output]) -> bool {
    outs.contains(&Output::Fib(FibCommand::Summary))
}

fn ends_startup(outs: &[Output]) -> bool {
    outs.contains(&Output::Fib(FibCommand::StartupComplete))
}

#[test]
fn the_fib_is_asked_every_two_seconds_while_its_start_up_lasts() {
    let mut h = H::starting(super::LAB);
    assert_eq!(h.core.poll_timeout(), Some(h.t0 + Duration::from_secs(2)));
    h.advance(Duration::from_secs(2));
    h.feed(Input::Tick);
    assert!(asks_for_summary(&h.drain()));
    assert_eq!(h.core.poll_timeout(), Some(h.now + Duration::from_secs(2)));
}

#[test]
fn start_up_ends_when_the_peer_behind_a_left_route_has_sent_end_of_rib() {
    let mut h = H::starting(super::LAB);
    let a = Peer::node(2);
    h.up(&a);
    h.feed(Input::Fib(FibReport::Summary(left_behind(
        "10.241.0.0/24",
        "172.18.0.2",
    ))));
    assert!(!ends_startup(&h.drain()), "no End-of-RIB yet");
    h.end_of_rib(&a);
    h.feed(Input::Fib(FibReport::Summary(left_behind(
        "10.241.0.0/24",
        "172.18.0.2",
    ))));
    assert!(ends_startup(&h.drain()));
    assert_eq!(h.core.poll_timeout(), None, "no more polling");
}

#[test]
fn start_up_waits_for_the_peer_a_left_route_points_at() {
    let mut h = H::starting(super::LAB);
    let a = Peer::node(2);
    h.up(&a);
    h.end_of_rib(&a);
    h.feed(Input::Fib(FibReport::Summary(left_behind(
        "10.241.1.0/24",
        "172.18.0.3",
    ))));
    assert!(!ends_startup(&h.drain()));
}

#[test]
fn start_up_waits_for_every_explicit_neighbor() {
    let mut h = H::starting(
        r#"
[router]
asn = 65000
router_id = "172.18.0.5"
listen = []

[[neighbor]]
address = "172.18.0.2"
remote_as = 65100

[[neighbor]]
address = "172.18.0.3"
remote_as = 65100
"#,
    );
    let a = Peer::node(2);
    h.up(&a);
    h.end_of_rib(&a);
    h.feed(Input::Fib(FibReport::Summary(FibSummary::default())));
    assert!(!ends_startup(&h.drain()), "172.18.0.3 is not back");
    let b = Peer::node(3);
    h.up(&b);
    h.end_of_rib(&b);
    h.feed(Input::Fib(FibReport::Summary(FibSummary::default())));
    assert!(ends_startup(&h.drain()));
}

#[test]
fn a_fib_that_ended_start_up_itself_is_not_asked_again() {
    let mut h = H::starting(super::LAB);
    h.feed(Input::Fib(FibReport::Summary(FibSummary {
        startup_complete: true,
        ..FibSummary::default()
    })));
    let outs = h.drain();
    assert!(!ends_startup(&outs));
    assert_eq!(h.core.poll_timeout(), None);
}

#[test]
fn a_failed_hand_over_is_counted_and_shown_to_a_watcher() {
    let mut h = H::starting(super::LAB);
    h.feed(Input::Watching(true));
    h.feed(Input::Fib(FibReport::Failed("FIB task stopped".into())));
    let outs = h.drain();
    assert_eq!(h.core.fib_failures(), 1);
    assert!(outs.contains(&Output::Event(EventKind::Fib {
        prefix: "*".into(),
        op: "update".into(),
        error: Some("FIB task stopped".into()),
    })));
}

#[test]
fn without_a_fib_nothing_is_sent_to_it_and_nothing_is_polled() {
    let mut h = H::starting(NO_FIB);
    assert_eq!(h.core.poll_timeout(), None);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let outs = h.drain();
    assert!(!outs.iter().any(|o| matches!(o, Output::Fib(_))));
}

#[test]
fn without_a_fib_a_watcher_still_sees_best_path_changes() {
    let mut h = H::starting(NO_FIB);
    h.feed(Input::Watching(true));
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let outs = h.drain();
    assert!(outs.contains(&Output::Event(EventKind::Best {
        prefix: "10.241.0.0/24".into(),
        next_hops: vec!["172.18.0.2".into()],
    })));
    assert!(!outs.iter().any(|o| matches!(o, Output::Fib(_))));
}

#[test]
fn fib_changes_of_one_batch_come_in_one_command() {
    let mut h = H::starting(super::LAB);
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.announce(&a, &["10.241.1.0/24"], &[65100]);
    let outs = h.drain();
    let updates = outs
        .iter()
        .filter(|o| matches!(o, Output::Fib(FibCommand::Update(_))))
        .count();
    assert_eq!(updates, 1);
    assert_eq!(fib_changes(&outs).len(), 2);
}

// ===== routes whose node is gone =====

#[test]
fn a_route_whose_gateway_does_not_answer_goes_at_once() {
    let mut h = H::starting(super::LAB);
    h.feed(Input::Fib(FibReport::Summary(left(
        &[
            ("10.241.0.0/24", &["172.18.0.2"]),
            ("10.241.9.0/24", &["172.18.0.9"]),
        ],
        &["172.18.0.9"],
    ))));
    let outs = h.drain();
    assert_eq!(removed(&outs), vec![pfx("10.241.9.0/24")]);
    assert!(!ends_startup(&outs), "172.18.0.2 may still come back");
    assert!(h.core.poll_timeout().is_some(), "the phase goes on");
}

#[test]
fn an_ecmp_route_stays_while_one_of_its_gateways_may_answer() {
    let mut h = H::starting(super::LAB);
    let ecmp: (&str, &[&str]) = ("10.241.9.0/24", &["172.18.0.8", "172.18.0.9"]);
    let other: (&str, &[&str]) = ("10.241.0.0/24", &["172.18.0.2"]);
    h.feed(Input::Fib(FibReport::Summary(left(
        &[other, ecmp],
        &["172.18.0.9"],
    ))));
    let outs = h.drain();
    assert!(removed(&outs).is_empty());
    assert!(!ends_startup(&outs));
    h.feed(Input::Fib(FibReport::Summary(left(
        &[other, ecmp],
        &["172.18.0.8", "172.18.0.9"],
    ))));
    assert_eq!(removed(&h.drain()), vec![pfx("10.241.9.0/24")]);
}

#[test]
fn routes_via_gone_gateways_do_not_hold_the_end_of_start_up() {
    let mut h = H::starting(super::LAB);
    let a = Peer::node(2);
    h.up(&a);
    h.end_of_rib(&a);
    h.feed(Input::Fib(FibReport::Summary(left(
        &[
            ("10.241.0.0/24", &["172.18.0.2"]),
            ("10.241.9.0/24", &["172.18.0.9"]),
        ],
        &["172.18.0.9"],
    ))));
    let outs = h.drain();
    assert!(ends_startup(&outs));
    assert!(removed(&outs).is_empty(), "the end of the phase removes it");
}

#[test]
fn start_up_ends_a_settle_time_after_the_neighbors_back_sent_end_of_rib() {
    let mut h = H::starting(super::LAB);
    let a = Peer::node(2);
    h.up(&a);
    h.end_of_rib(&a);
    // 172.18.0.3 is not back, and nothing says it is gone.
    let stale = || left_behind("10.241.1.0/24", "172.18.0.3");
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(!ends_startup(&h.drain()));
    h.advance(Duration::from_secs(4));
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(!ends_startup(&h.drain()), "settling");
    h.advance(Duration::from_secs(1));
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(ends_startup(&h.drain()));
    assert_eq!(h.core.poll_timeout(), None, "no more polling");
}

#[test]
fn the_settle_time_waits_for_every_neighbor_back_to_send_end_of_rib() {
    let mut h = H::starting(super::LAB);
    let (a, b) = (Peer::node(2), Peer::node2(3));
    h.up(&a);
    h.end_of_rib(&a);
    h.up(&b);
    let stale = || left_behind("10.241.1.0/24", "172.18.0.3");
    h.advance(Duration::from_secs(30));
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(!ends_startup(&h.drain()), "{} has no End-of-RIB", b.addr);
    h.end_of_rib(&b);
    h.advance(Duration::from_secs(4));
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(!ends_startup(&h.drain()), "settling from b's End-of-RIB");
    h.advance(Duration::from_secs(1));
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(ends_startup(&h.drain()));
}

#[test]
fn a_neighbor_between_open_and_established_holds_the_settle_time() {
    let mut h = H::starting(super::LAB);
    let (a, b) = (Peer::node(2), Peer::node2(3));
    h.up(&a);
    h.end_of_rib(&a);
    h.peer_event(PeerEvent::State {
        peer: b.id,
        addr: b.addr,
        state: State::OpenSent,
    });
    h.drain();
    let stale = || left_behind("10.241.1.0/24", "172.18.0.3");
    h.advance(Duration::from_secs(10));
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(!ends_startup(&h.drain()), "b is coming back");
    // Its connection failed: back to connecting, nothing to wait for.
    h.peer_event(PeerEvent::State {
        peer: b.id,
        addr: b.addr,
        state: State::Active,
    });
    h.drain();
    h.feed(Input::Fib(FibReport::Summary(stale())));
    assert!(ends_startup(&h.drain()));
}

#[test]
fn without_a_neighbor_back_the_fib_grace_time_decides() {
    let mut h = H::starting(super::LAB);
    for _ in 0..30 {
        h.advance(Duration::from_secs(2));
        h.feed(Input::Fib(FibReport::Summary(left_behind(
            "10.241.1.0/24",
            "172.18.0.3",
        ))));
        assert!(!ends_startup(&h.drain()));
    }
}

#[test]
fn the_settle_time_also_ends_the_wait_for_explicit_neighbors_not_back() {
    let mut h = H::starting(
        r#"
[router]
asn = 65000
router_id = "172.18.0.5"
listen = []

[[neighbor]]
address = "172.18.0.2"
remote_as = 65100

[[neighbor]]
address = "172.18.0.3"
remote_as = 65100
"#,
    );
    let a = Peer::node(2);
    h.up(&a);
    h.end_of_rib(&a);
    h.feed(Input::Fib(FibReport::Summary(FibSummary::default())));
    assert!(!ends_startup(&h.drain()), "172.18.0.3 is not back yet");
    h.advance(Duration::from_secs(5));
    h.feed(Input::Fib(FibReport::Summary(FibSummary::default())));
    assert!(ends_startup(&h.drain()), "nor will it be, it seems");
}
