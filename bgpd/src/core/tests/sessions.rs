//! Sessions coming up and going down, and what they are sent.

use super::*;
use crate::ctl::proto::{EventKind, PeerState as CtlPeerState};

#[test]
fn a_new_session_gets_end_of_rib_for_each_family() {
    let mut h = H::new();
    let outs = h.up(&Peer::node(2));
    let sent = sent_to(&outs, 2);
    let eors: Vec<_> = sent.iter().filter_map(|s| s.end_of_rib).collect();
    assert_eq!(eors, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert!(announced_to(&outs, 2).is_empty());
}

#[test]
fn a_new_session_gets_the_table_before_its_end_of_rib() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24", "fd00:10:241::/64"], &[65100]);
    h.drain();
    let outs = h.up(&Peer::node2(3));
    let sent = sent_to(&outs, 3);
    assert_eq!(
        announced_to(&outs, 3),
        vec!["10.241.0.0/24", "fd00:10:241::/64"]
    );
    // The table comes first, End-of-RIB last.
    assert!(sent.last().unwrap().end_of_rib.is_some());
    assert!(sent.first().unwrap().end_of_rib.is_none());
}

#[test]
fn a_route_goes_to_the_other_cluster_with_us_as_next_hop_and_our_as_prepended() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let outs = h.drain();
    let sent = sent_to(&outs, 3);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].announced, vec!["10.241.0.0/24"]);
    assert_eq!(sent[0].as_path, "65000 65100");
    assert_eq!(sent[0].next_hop, Some(ip("172.19.0.5")));
}

#[test]
fn a_route_is_not_sent_back_to_the_peer_it_came_from() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let outs = h.drain();
    assert!(announced_to(&outs, 2).is_empty());
}

#[test]
fn a_withdrawal_is_passed_on_and_removes_the_kernel_route() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let outs = h.drain();
    assert_eq!(
        fib_changes(&outs),
        vec![fib("10.241.0.0/24", &["172.18.0.2"])]
    );
    h.withdraw(&a, &["10.241.0.0/24"]);
    let outs = h.drain();
    assert_eq!(withdrawn_from(&outs, 3), vec!["10.241.0.0/24"]);
    assert_eq!(fib_changes(&outs), vec![fib("10.241.0.0/24", &[])]);
}

#[test]
fn ipv6_routes_over_an_ipv4_session_get_the_ipv4_gateway() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["fd00:10:241::/64"], &[65100]);
    let outs = h.drain();
    assert_eq!(
        fib_changes(&outs),
        vec![fib("fd00:10:241::/64", &["172.18.0.2"])]
    );
}

#[test]
fn nodes_of_one_cluster_make_an_ecmp_route() {
    let mut h = H::new();
    let nodes: Vec<Peer> = (2..=4).map(Peer::node).collect();
    for n in &nodes {
        h.up(n);
    }
    for n in &nodes {
        h.announce(n, &["10.11.192.248/32"], &[65100]);
    }
    let outs = h.drain();
    let last = fib_changes(&outs).pop().unwrap();
    assert_eq!(
        last,
        fib(
            "10.11.192.248/32",
            &["172.18.0.2", "172.18.0.3", "172.18.0.4"]
        )
    );
}

#[test]
fn a_session_down_without_graceful_restart_withdraws_its_routes_at_once() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    let outs = h.down(&a, false);
    assert_eq!(withdrawn_from(&outs, 3), vec!["10.241.0.0/24"]);
    assert_eq!(fib_changes(&outs), vec![fib("10.241.0.0/24", &[])]);
    assert!(outs.contains(&Output::PeerState {
        addr: a.addr,
        state: CtlPeerState::Idle
    }));
    assert_eq!(h.core.established(), 1);
}

#[test]
fn the_down_of_a_neighbor_never_established_changes_nothing() {
    let mut h = H::new();
    let outs = h.down(&Peer::node(2), false);
    assert!(outs.is_empty());
}

#[test]
fn an_update_from_a_neighbor_not_established_is_ignored() {
    let mut h = H::new();
    let b = Peer::node2(3);
    h.up(&b);
    h.announce(&Peer::node(2), &["10.241.0.0/24"], &[65100]);
    let outs = h.drain();
    assert!(fib_changes(&outs).is_empty());
    assert!(announced_to(&outs, 3).is_empty());
}

#[test]
fn a_second_established_for_a_session_already_up_is_reset() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    // The same address under another neighbor id (a second task): the RIB
    // refuses the peer, and that session is reset.
    let again = Peer { id: 9, ..a.clone() };
    let outs = h.up(&again);
    assert_eq!(commands_to(&outs, 9), vec![PeerCommand::Reset]);
    assert_eq!(h.core.established(), 1);
}

#[test]
fn state_changes_are_reported_and_watched_only_while_watching() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.peer_event(PeerEvent::State {
        peer: 2,
        addr: a.addr,
        state: State::Connect,
    });
    let outs = h.drain();
    assert_eq!(
        outs,
        vec![Output::PeerState {
            addr: a.addr,
            state: CtlPeerState::Connect
        }]
    );
    h.feed(Input::Watching(true));
    h.peer_event(PeerEvent::State {
        peer: 2,
        addr: a.addr,
        state: State::OpenSent,
    });
    let outs = h.drain();
    assert!(outs.contains(&Output::Event(EventKind::PeerState {
        peer: a.addr,
        from: CtlPeerState::Connect,
        to: CtlPeerState::OpenSent,
        reason: None,
    })));
}

#[test]
fn route_and_best_path_events_are_made_only_for_a_watcher() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let quiet = h.drain();
    assert!(!quiet.iter().any(|o| matches!(o, Output::Event(_))));
    h.feed(Input::Watching(true));
    h.announce(&a, &["10.241.1.0/24"], &[65100]);
    let outs = h.drain();
    let kinds: Vec<&EventKind> = outs
        .iter()
        .filter_map(|o| match o {
            Output::Event(k) => Some(k),
            _ => None,
        })
        .collect();
    assert!(kinds.iter().any(|k| matches!(k, EventKind::Route { prefix, withdrawn: false, .. } if prefix == "10.241.1.0/24")));
    assert!(kinds
        .iter()
        .any(|k| matches!(k, EventKind::Best { prefix, .. } if prefix == "10.241.1.0/24")));
}

#[test]
fn three_sessions_of_one_class_get_identical_messages() {
    let mut h = H::new();
    let a = Peer::node(2);
    let others: Vec<Peer> = (3..=5).map(Peer::node2).collect();
    h.up(&a);
    for p in &others {
        h.up(p);
    }
    h.announce(&a, &["10.241.0.0/24", "10.241.1.0/24"], &[65100]);
    let outs = h.drain();
    let msgs: Vec<Vec<PeerCommand>> = others.iter().map(|p| commands_to(&outs, p.id)).collect();
    assert_eq!(msgs[0].len(), 1);
    assert_eq!(msgs[0], msgs[1]);
    assert_eq!(msgs[1], msgs[2]);
}

#[test]
fn removed_neighbors_are_forgotten() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.peer_event(PeerEvent::State {
        peer: 2,
        addr: a.addr,
        state: State::Active,
    });
    h.peer_event(PeerEvent::Removed { peer: 2 });
    h.drain();
    assert!(h.core.tracks.is_empty());
}

#[test]
fn sessions_coming_up_in_one_batch_each_get_the_table_once() {
    let mut h = H::new();
    let a = Peer::node(2);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    // Two sessions come up in one batch: each gets the table once.
    for p in [Peer::node2(7), Peer::node2(6)] {
        h.peer_event(PeerEvent::Established {
            peer: p.id,
            info: Box::new(h.session_info(&p)),
        });
    }
    let outs = h.drain();
    assert_eq!(announced_to(&outs, 6), vec!["10.241.0.0/24"]);
    assert_eq!(announced_to(&outs, 7), vec!["10.241.0.0/24"]);
}

#[test]
fn what_an_input_decided_comes_out_before_the_flush() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    // Pending: nothing yet (the export waits for the flush).
    assert_eq!(h.core.poll_pending(), None);
    let c = Peer::node2(4);
    h.peer_event(PeerEvent::Established {
        peer: c.id,
        info: Box::new(h.session_info(&c)),
    });
    // The new session's table is decided by its event: out at once.
    let pending: Vec<Output> = std::iter::from_fn(|| h.core.poll_pending()).collect();
    assert_eq!(announced_to(&pending, 4), vec!["10.241.0.0/24"]);
    assert!(announced_to(&pending, 3).is_empty());
    // The flush then brings the batch's export to the other session.
    let rest = h.drain();
    assert_eq!(announced_to(&rest, 3), vec!["10.241.0.0/24"]);
}

/// The lab's core with node `a` of cluster 1 and nodes `b`, `c`, `e` of
/// cluster 2 up: those three, of one kind, form an export group once all
/// have drained everything.
fn with_group() -> (H, Peer, Peer, Peer, Peer) {
    let (mut h, a, b) = H::two_nodes();
    let (c, e) = (Peer::node2(4), Peer::node2(6));
    h.up(&c);
    h.up(&e);
    h.end_of_rib(&b);
    h.drain();
    (h, a, b, c, e)
}

#[test]
fn a_session_joining_a_group_that_has_yet_to_drain_gets_end_of_rib_after_the_flush() {
    let (mut h, a, b, c, e) = with_group();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    let d = Peer::node2(5);
    h.peer_event(PeerEvent::Established {
        peer: d.id,
        info: Box::new(h.session_info(&d)),
    });
    // d joins the group at once: its table is the group's, which has yet
    // to drain the batch, so no End-of-RIB yet.
    let pending: Vec<Output> = std::iter::from_fn(|| h.core.poll_pending()).collect();
    assert!(announced_to(&pending, d.id).is_empty());
    assert!(sent_to(&pending, d.id)
        .iter()
        .all(|s| s.end_of_rib.is_none()));
    // The flush brings the route to the whole group, and then End-of-RIB
    // to d.
    let rest = h.drain();
    assert_eq!(announced_to(&rest, b.id), vec!["10.241.0.0/24"]);
    assert_eq!(announced_to(&rest, c.id), vec!["10.241.0.0/24"]);
    assert_eq!(announced_to(&rest, e.id), vec!["10.241.0.0/24"]);
    let to_d = sent_to(&rest, d.id);
    let route = to_d.iter().position(|s| s.announced == ["10.241.0.0/24"]);
    let eor = to_d.iter().position(|s| s.end_of_rib.is_some());
    assert!(route.is_some() && eor.is_some() && route < eor, "{to_d:?}");
}

#[test]
fn sessions_that_come_back_one_by_one_get_the_group_table_as_it_is_then() {
    let (mut h, a, _b, c, _e) = with_group();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    // A route of a member: its own AS keeps it from the group's members.
    h.announce(&c, &["10.242.0.0/24"], &[65200]);
    h.drain();
    let d = Peer::node2(5);
    let outs = h.up(&d);
    assert_eq!(announced_to(&outs, d.id), vec!["10.241.0.0/24"]);
    // The table changes between two sessions that come back: a set
    // replaced, one added to.
    h.withdraw(&a, &["10.241.0.0/24"]);
    h.announce(&a, &["10.241.1.0/24", "2001:db8:1::/48"], &[65100, 65101]);
    h.drain();
    h.down(&d, false);
    let f = Peer::node2(7);
    let outs = h.up(&f);
    assert_eq!(
        announced_to(&outs, f.id),
        vec!["10.241.1.0/24", "2001:db8:1::/48"]
    );
    h.announce(&a, &["10.241.2.0/24"], &[65100, 65101]);
    h.drain();
    let outs = h.up(&d);
    assert_eq!(
        announced_to(&outs, d.id),
        vec!["10.241.1.0/24", "10.241.2.0/24", "2001:db8:1::/48"]
    );
    // Sent once each, then End-of-RIB for both families.
    let sent = sent_to(&outs, d.id);
    let prefixes: usize = sent.iter().map(|s| s.announced.len()).sum();
    assert_eq!(prefixes, 3);
    assert_eq!(sent.iter().filter(|s| s.end_of_rib.is_some()).count(), 2);
    assert!(h
        .core
        .rib
        .export_group(h.core.sessions[&d.id].rib_id)
        .is_some());
}
