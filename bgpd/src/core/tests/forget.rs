//! Neighbors forgotten for good (de-configured, or dynamic neighbors their
//! range forgot): the core frees what it held of them (RIB peer and id,
//! tracks, shutdown and max-prefix state) and tells the driver to drop
//! their metric series, so that address churn cannot grow it.

use super::*;
use crate::core::PeerStateSizes;

fn removed(h: &mut H, p: &Peer) -> Vec<Output> {
    h.peer_event(PeerEvent::Removed { peer: p.id });
    h.drain()
}

fn forgotten(outs: &[Output]) -> Vec<IpAddr> {
    outs.iter()
        .filter_map(|o| match o {
            Output::PeerForgotten { addr } => Some(*addr),
            _ => None,
        })
        .collect()
}

#[test]
fn a_forgotten_neighbor_frees_its_rib_peer_and_metric_series() {
    let (mut h, a, _b) = H::two_nodes();
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.down(&a, false);
    // Down but remembered: everything stays.
    assert_eq!(h.core.peer_state_sizes().rib_peers, 2);
    let outs = removed(&mut h, &a);
    assert_eq!(forgotten(&outs), vec![a.addr]);
    assert_eq!(
        h.core.peer_state_sizes(),
        PeerStateSizes {
            rib_ids: 1,
            rib_peers: 1,
            rib_slots: 2,
            tracks: 1
        }
    );
    assert!(h.core.peer_counts(a.addr).is_empty());
    // Back from the same address under a new id: a RIB peer again, in the
    // slot that was freed.
    let a2 = Peer { id: 9, ..a.clone() };
    let outs = h.up(&a2);
    assert!(!commands_to(&outs, 9).contains(&PeerCommand::Reset));
    h.announce(&a2, &["10.241.0.0/24"], &[65100]);
    assert_eq!(h.core.peer_counts(a.addr)[0].1.received, 1);
    assert_eq!(h.core.peer_state_sizes().rib_slots, 2);
}

#[test]
fn shutdown_and_max_prefix_state_go_with_the_neighbor() {
    let (mut h, a, _b) = H::two_nodes();
    h.core.admin_down.insert(a.id);
    h.core.max_prefix_restarts.insert(a.id, None);
    h.down(&a, false);
    removed(&mut h, &a);
    assert!(!h.core.admin_down.contains(&a.id));
    assert!(!h.core.max_prefix_restarts.contains_key(&a.id));
}

#[test]
fn an_old_id_removed_while_its_address_is_up_again_keeps_the_rib_peer() {
    let (mut h, a, _b) = H::two_nodes();
    h.down(&a, false);
    let a2 = Peer { id: 9, ..a.clone() };
    h.up(&a2);
    h.announce(&a2, &["10.241.0.0/24"], &[65100]);
    h.drain();
    let outs = removed(&mut h, &a);
    assert!(forgotten(&outs).is_empty());
    assert_eq!(h.core.peer_counts(a.addr)[0].1.received, 1);
    assert!(h.core.rib.route(pfx("10.241.0.0/24")).is_some());
}

#[test]
fn stale_routes_of_a_forgotten_neighbor_stay_until_the_restart_timer() {
    let mut h = H::new();
    let a = Peer::node(2).gr(120);
    h.up(&a);
    h.announce(&a, &["10.241.0.0/24"], &[65100]);
    h.drain();
    h.down(&a, true);
    let outs = removed(&mut h, &a);
    assert_eq!(forgotten(&outs), vec![a.addr]);
    assert!(h.core.rib.route(pfx("10.241.0.0/24")).is_some());
    assert_eq!(h.core.peer_state_sizes().rib_peers, 1);
    h.advance(Duration::from_secs(120));
    h.feed(Input::Tick);
    let outs = h.drain();
    assert_eq!(fib_changes(&outs), vec![fib("10.241.0.0/24", &[])]);
    assert_eq!(h.core.peer_state_sizes().rib_peers, 0);
    assert_eq!(h.core.peer_state_sizes().rib_ids, 0);
}

/// More distinct dynamic-neighbor addresses over time than the RIB has
/// slots (65,536): each comes up, goes down and is forgotten. The RIB never
/// refuses one (it did with `TooManyPeers` once every address had held a
/// slot), and the core's per-neighbor state stays at the one neighbor up.
#[test]
fn seventy_thousand_addresses_over_time_stay_bounded() {
    let mut h = H::with(&LAB.replace("172.18.0.0/16", "10.0.0.0/8"));
    let b = Peer::node2(3);
    h.up(&b);
    h.announce(&b, &["10.242.0.0/24"], &[65200]);
    h.drain();
    for i in 0..70_000u32 {
        let p = Peer {
            id: 100 + i,
            addr: IpAddr::V4(Ipv4Addr::from(0x0a00_0001 + i)),
            ..Peer::node(2)
        };
        let outs = h.up(&p);
        assert!(
            !commands_to(&outs, p.id).contains(&PeerCommand::Reset),
            "the RIB refused neighbor {i}"
        );
        h.down(&p, false);
        assert_eq!(forgotten(&removed(&mut h, &p)), vec![p.addr]);
    }
    assert_eq!(
        h.core.peer_state_sizes(),
        PeerStateSizes {
            rib_ids: 1,
            rib_peers: 1,
            rib_slots: 2,
            tracks: 1
        }
    );
}
