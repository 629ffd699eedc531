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
    FibSummary {
        startup_complete: false,
        installed: 1,
        stale: vec![FibRoute::new(
            pfx(prefix),
            vec![NextHop {
                gateway: ip(gateway),
                ifindex: 0,
            }],
        )],
    }
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
