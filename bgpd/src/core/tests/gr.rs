//! Graceful restart helper: stale routes, the restart timer, End-of-RIB.

use super::*;

/// A GR node of cluster 1 with a route, a cluster-2 node to watch exports.
fn restarting() -> (H, Peer, Peer) {
    let mut h = H::new();
    let (a, b) = (Peer::node(2).gr(120), Peer::node2(3));
    h.up(&a);
    h.up(&b);
    h.announce(&a, &["10.241.0.0/24", "10.241.1.0/24"], &[65100]);
    h.drain();
    (h, a, b)
}

#[test]
fn a_graceful_down_keeps_the_routes_in_the_kernel_and_at_the_peers() {
    let (mut h, a, _) = restarting();
    let outs = h.down(&a, true);
    assert!(fib_changes(&outs).is_empty());
    assert!(withdrawn_from(&outs, 3).is_empty());
}

#[test]
fn a_down_the_peer_ended_for_good_is_not_graceful_even_with_gr() {
    let (mut h, a, _) = restarting();
    let outs = h.down(&a, false);
    assert_eq!(
        withdrawn_from(&outs, 3),
        vec!["10.241.0.0/24", "10.241.1.0/24"]
    );
    assert_eq!(h.core.poll_timeout(), None);
}

#[test]
fn the_restart_timer_is_the_peers_restart_time() {
    let (mut h, a, _) = restarting();
    h.down(&a, true);
    assert_eq!(
        h.core.poll_timeout(),
        Some(h.now + Duration::from_secs(120))
    );
}

#[test]
fn stale_routes_go_when_the_restart_timer_expires() {
    let (mut h, a, _) = restarting();
    h.down(&a, true);
    h.advance(Duration::from_secs(119));
    h.feed(Input::Tick);
    assert!(fib_changes(&h.drain()).is_empty(), "not yet");
    h.advance(Duration::from_secs(1));
    h.feed(Input::Tick);
    let outs = h.drain();
    assert_eq!(
        fib_changes(&outs),
        vec![fib("10.241.0.0/24", &[]), fib("10.241.1.0/24", &[])]
    );
    assert_eq!(
        withdrawn_from(&outs, 3),
        vec!["10.241.0.0/24", "10.241.1.0/24"]
    );
    assert_eq!(h.core.poll_timeout(), None);
}

#[test]
fn end_of_rib_after_the_restart_sweeps_only_what_was_not_announced_again() {
    let (mut h, a, _) = restarting();
    h.down(&a, true);
    h.advance(Duration::from_secs(5));
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let outs = h.drain();
    assert!(withdrawn_from(&outs, 3).is_empty());
    h.end_of_rib(&a);
    let outs = h.drain();
    assert_eq!(withdrawn_from(&outs, 3), vec!["10.241.1.0/24"]);
    assert_eq!(fib_changes(&outs), vec![fib("10.241.1.0/24", &[])]);
}

#[test]
fn a_route_announced_again_after_the_restart_is_not_withdrawn() {
    let (mut h, a, _) = restarting();
    h.down(&a, true);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24", "10.241.1.0/24"], &[65100]);
    h.end_of_rib(&a);
    let outs = h.drain();
    assert!(withdrawn_from(&outs, 3).is_empty());
    assert!(fib_changes(&outs).is_empty());
}

#[test]
fn a_restart_time_of_zero_still_waits_a_second() {
    let mut h = H::new();
    let a = Peer::node(2).gr(0);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.down(&a, true);
    assert_eq!(h.core.poll_timeout(), Some(h.now + Duration::from_secs(1)));
}

#[test]
fn end_of_rib_changes_nothing_without_stale_routes() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.end_of_rib(&a);
    let outs = h.drain();
    assert!(fib_changes(&outs).is_empty());
    assert!(outs.iter().all(|o| !matches!(o, Output::Peer { .. })));
}

#[test]
fn a_peers_restart_time_is_capped_by_max_restart_time() {
    let mut h = H::new();
    let a = Peer::node(2).gr(4000);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.down(&a, true);
    assert_eq!(
        h.core.poll_timeout(),
        Some(h.now + Duration::from_secs(120)),
        "the default max_restart_time"
    );
}

#[test]
fn only_the_families_of_the_gr_capability_are_kept() {
    let mut h = H::new();
    let a = Peer {
        gr_families: vec![Family::IPV4_UNICAST],
        ..Peer::node(2).gr(120)
    };
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24", "fd00:10:241::/64"], &[65100]);
    h.drain();
    let outs = h.down(&a, true);
    assert_eq!(fib_changes(&outs), vec![fib("fd00:10:241::/64", &[])]);
}

#[test]
fn a_peer_back_without_graceful_restart_loses_its_stale_routes_at_once() {
    let (mut h, a, _) = restarting();
    h.down(&a, true);
    let plain = Peer { gr: None, ..a };
    let outs = h.up(&plain);
    assert_eq!(
        withdrawn_from(&outs, 3),
        vec!["10.241.0.0/24", "10.241.1.0/24"]
    );
    assert_eq!(
        fib_changes(&outs),
        vec![fib("10.241.0.0/24", &[]), fib("10.241.1.0/24", &[])]
    );
    assert_eq!(h.core.poll_timeout(), None);
}
