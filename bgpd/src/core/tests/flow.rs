//! Flow control: a neighbor whose write queue is full gets nothing until
//! it drains, then what changed, once per prefix.

use super::*;

fn congested(h: &mut H, p: &Peer, on: bool) -> Vec<Output> {
    h.peer_event(PeerEvent::Congested {
        peer: p.id,
        congested: on,
    });
    h.drain()
}

fn refresh(h: &mut H, p: &Peer, family: Family) {
    h.peer_event(PeerEvent::RouteRefresh { peer: p.id, family });
}

#[test]
fn a_congested_neighbor_gets_nothing_until_it_drains_then_each_change_once() {
    let (mut h, a, b) = H::two_nodes();
    assert!(congested(&mut h, &b, true).is_empty());
    for i in 0..20 {
        h.announce(&a, &["10.241.0.0/24"], &[65100, 64000 + i]);
        h.announce(&a, &["10.241.1.0/24"], &[65100]);
        let outs = h.drain();
        assert!(commands_to(&outs, b.id).is_empty(), "held while congested");
    }
    let outs = congested(&mut h, &b, false);
    let sent = sent_to(&outs, b.id);
    assert_eq!(
        announced_to(&outs, b.id),
        vec!["10.241.0.0/24", "10.241.1.0/24"]
    );
    let last = sent
        .iter()
        .find(|s| s.announced.contains(&"10.241.0.0/24".to_string()))
        .unwrap();
    assert_eq!(last.as_path, "65000 65100 64019", "the latest route");
}

#[test]
fn a_long_blocked_neighbor_stops_costing_a_log_and_catches_up_by_comparison() {
    let (mut h, a, b) = H::two_nodes();
    h.announce(&a, &["10.241.9.0/24"], &[65100]);
    h.drain();
    congested(&mut h, &b, true);
    // Far more changes than routes: the RIB stops logging them for b.
    for i in 0..5000u32 {
        h.announce(&a, &["10.241.0.0/24"], &[65100, 64000 + i % 3]);
        assert!(commands_to(&h.drain(), b.id).is_empty());
    }
    h.withdraw(&a, &["10.241.9.0/24"]);
    h.drain();
    let rib_id = h.core.sessions[&b.id].rib_id;
    assert_eq!(
        h.core.rib.export_backlog(rib_id).0,
        0,
        "nothing logged for b"
    );
    assert!(h.core.sessions[&b.id].suspended);
    let outs = congested(&mut h, &b, false);
    assert_eq!(announced_to(&outs, b.id), vec!["10.241.0.0/24"]);
    assert_eq!(withdrawn_from(&outs, b.id), vec!["10.241.9.0/24"]);
    // Then changes flow as before.
    h.announce(&a, &["10.241.2.0/24"], &[65100]);
    assert_eq!(announced_to(&h.drain(), b.id), vec!["10.241.2.0/24"]);
}

#[test]
fn a_refresh_storm_while_congested_costs_one_answer_when_it_drains() {
    let (mut h, a, b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    congested(&mut h, &b, true);
    for _ in 0..10_000 {
        refresh(&mut h, &b, Family::IPV4_UNICAST);
    }
    h.advance(Duration::from_secs(30));
    h.feed(Input::Tick);
    assert!(commands_to(&h.drain(), b.id).is_empty());
    let outs = congested(&mut h, &b, false);
    let sends = commands_to(&outs, b.id);
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(announced_to(&outs, b.id), vec!["10.241.0.0/24"]);
}

#[test]
fn a_refresh_of_one_family_keeps_the_other_familys_pending_change() {
    let (mut h, a, b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    // The IPv6 change is pending for b when the IPv4 refresh is answered
    // in the same batch.
    h.announce(&a, &["fd00:10:241::/64"], &[65100]);
    refresh(&mut h, &b, Family::IPV4_UNICAST);
    let outs = h.drain();
    assert_eq!(
        announced_to(&outs, b.id),
        vec!["10.241.0.0/24", "fd00:10:241::/64"]
    );
}

#[test]
fn congestion_of_a_neighbor_that_went_down_is_ignored() {
    let (mut h, _a, b) = H::two_nodes();
    h.down(&b, false);
    assert!(congested(&mut h, &b, true).is_empty());
    assert!(congested(&mut h, &b, false).is_empty());
}

#[test]
fn a_refresh_answered_at_the_drain_counts_for_the_rate_limit() {
    let (mut h, a, b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    congested(&mut h, &b, true);
    refresh(&mut h, &b, Family::IPV4_UNICAST);
    assert_eq!(commands_to(&congested(&mut h, &b, false), b.id).len(), 1);
    // Another request right away waits for the interval, as after any
    // answer.
    refresh(&mut h, &b, Family::IPV4_UNICAST);
    assert!(commands_to(&h.drain(), b.id).is_empty());
    h.advance(Duration::from_secs(5));
    h.feed(Input::Tick);
    assert_eq!(announced_to(&h.drain(), b.id), vec!["10.241.0.0/24"]);
}
