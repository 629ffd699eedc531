//! Route input, decision, multipath, FIB output and graceful restart.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bgp_proto::msg::attributes::{AsPath, MpNextHop, MpReach, MpUnreach, UpdateMessage};
use bgp_proto::msg::SessionContext;
use bgp_proto::types::Family;
use bgp_proto::wire::update::{encode_body, Update};
use common::*;
use rib::{Applied, FibChange, Reason, RibError, WithdrawReason};
use std::net::Ipv4Addr;

#[test]
fn lab_lb_ip_from_three_nodes_is_one_ecmp_group() {
    let mut rib = rib();
    for id in [2, 3, 4] {
        rib.add_peer(peer(id, 65100)).unwrap();
    }
    for id in [4, 2, 3] {
        announce(&mut rib, id, "10.11.192.248/32", &[65100]);
    }
    let changes = rib.drain_fib_changes();
    assert_eq!(
        changes.last().unwrap(),
        &FibChange {
            prefix: p("10.11.192.248/32"),
            next_hops: vec![ip("172.18.0.2"), ip("172.18.0.3"), ip("172.18.0.4")],
            table: 0,
        }
    );
    let r = rib.route(p("10.11.192.248/32")).unwrap();
    assert_eq!(r.paths.len(), 3);
    assert!(r.paths[0].best && r.paths[0].multipath);
    assert_eq!(r.paths[0].peer, 2, "lowest router id wins");
    assert!(r.paths.iter().all(|x| x.multipath));
    assert_eq!(r.paths[1].reason, Some(Reason::RouterId));
}

#[test]
fn max_paths_caps_the_group() {
    let mut rib = rib::Rib::new(rib::RibConfig {
        max_paths: 2,
        ..config()
    })
    .unwrap();
    for id in [2, 3, 4] {
        rib.add_peer(peer(id, 65100)).unwrap();
        announce(&mut rib, id, "10.11.0.0/16", &[65100]);
    }
    let last = rib.drain_fib_changes().pop().unwrap();
    assert_eq!(last.next_hops, vec![ip("172.18.0.2"), ip("172.18.0.3")]);
}

#[test]
fn better_path_takes_over_and_withdraw_falls_back() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    announce(&mut rib, 2, "10.0.0.0/8", &[65100, 65101]);
    announce(&mut rib, 3, "10.0.0.0/8", &[65200]);
    let fib = rib.drain_fib_changes();
    assert_eq!(fib.len(), 2);
    assert_eq!(fib[1].next_hops, vec![ip("172.18.0.3")]);
    // Different neighbor AS and longer path: not multipath.
    let r = rib.route(p("10.0.0.0/8")).unwrap();
    assert_eq!(r.paths[1].reason, Some(Reason::AsPathLen));
    assert!(!r.paths[1].multipath);
    rib.withdraw(3, [n("10.0.0.0/8")]).unwrap();
    assert_eq!(rib.drain_fib_changes()[0].next_hops, vec![ip("172.18.0.2")]);
    rib.withdraw(2, [n("10.0.0.0/8")]).unwrap();
    assert_eq!(
        rib.drain_fib_changes(),
        vec![FibChange {
            prefix: p("10.0.0.0/8"),
            next_hops: vec![],
            table: 0,
        }]
    );
    assert!(rib.route(p("10.0.0.0/8")).is_none());
    assert_eq!(rib.stats().prefixes_v4, 0);
    assert_eq!(rib.stats().attr_sets, 0, "attribute sets are freed");
}

#[test]
fn identical_reannouncement_changes_nothing() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    assert_eq!(rib.drain_fib_changes().len(), 1);
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    assert!(rib.drain_fib_changes().is_empty());
    assert_eq!(rib.stats().attr_sets, 1);
}

#[test]
fn routes_with_local_as_are_rejected_and_counted() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.12.0.0/16", &[65100, LOCAL_AS, 65200]);
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    assert_eq!(rib.drain_fib_changes().len(), 1);
    assert!(rib.route(p("10.12.0.0/16")).is_none());
    let counts = rib.peer_counts(2).unwrap();
    assert_eq!(counts[0].0, Family::IPV4_UNICAST);
    assert_eq!((counts[0].1.received, counts[0].1.accepted), (2, 1));
    // A withdraw of the looped route lowers "received".
    rib.withdraw(2, [n("10.12.0.0/16")]).unwrap();
    assert_eq!(rib.peer_counts(2).unwrap()[0].1.received, 1);
}

#[test]
fn originator_id_loop_is_rejected() {
    let mut rib = rib();
    rib.add_peer(peer(2, LOCAL_AS)).unwrap();
    let mut a = attrs(&[]);
    a.originator_id = Some(Ipv4Addr::new(172, 18, 0, 5));
    rib.update(2, [n("10.1.0.0/16")], ip("172.18.0.2"), a)
        .unwrap();
    assert!(rib.route(p("10.1.0.0/16")).is_none());
}

#[test]
fn unknown_peer_is_an_error() {
    let mut rib = rib();
    assert_eq!(
        rib.withdraw(9, [n("10.0.0.0/8")]),
        Err(RibError::UnknownPeer(9))
    );
    rib.add_peer(peer(2, 65100)).unwrap();
    assert_eq!(rib.add_peer(peer(2, 65100)), Err(RibError::PeerExists(2)));
}

#[test]
fn unreachable_next_hop_is_not_eligible() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65100)).unwrap();
    announce(&mut rib, 2, "10.0.0.0/8", &[65100]);
    announce(&mut rib, 3, "10.0.0.0/8", &[65100, 65100]);
    rib.drain_fib_changes();
    rib.set_next_hop_reachable(ip("172.18.0.2"), false);
    assert_eq!(rib.drain_fib_changes()[0].next_hops, vec![ip("172.18.0.3")]);
    let r = rib.route(p("10.0.0.0/8")).unwrap();
    assert_eq!(r.paths[1].reason, Some(Reason::Unreachable));
    rib.set_next_hop_reachable(ip("172.18.0.2"), true);
    assert_eq!(rib.drain_fib_changes()[0].next_hops, vec![ip("172.18.0.2")]);
}

#[test]
fn ebgp_local_pref_is_ignored_ibgp_local_pref_counts() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, LOCAL_AS)).unwrap();
    let mut a = attrs(&[65100]);
    a.local_pref = Some(500);
    rib.update(2, [n("10.0.0.0/8")], ip("172.18.0.2"), a)
        .unwrap();
    let mut b = attrs(&[65100, 65101]);
    b.local_pref = Some(200);
    rib.update(3, [n("10.0.0.0/8")], ip("172.18.0.3"), b)
        .unwrap();
    let r = rib.route(p("10.0.0.0/8")).unwrap();
    assert_eq!(
        r.paths[0].peer, 3,
        "iBGP LOCAL_PREF 200 beats eBGP default 100"
    );
    assert_eq!(r.paths[1].route.attrs.local_pref, None);
    assert_eq!(r.paths[1].reason, Some(Reason::LocalPref));
}

#[test]
fn apply_handles_body_and_mp_nlri() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    let mut a = attrs(&[65100]);
    a.next_hop = Some(Ipv4Addr::new(172, 18, 0, 2));
    let msg = UpdateMessage {
        attributes: a.clone(),
        nlri: vec![n("10.241.0.0/24")],
        mp_reach: Some(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: MpNextHop {
                global: ip("::ffff:172.18.0.2"),
                link_local: None,
            },
            nlri: vec![n("fd00:10:241::/64")],
        }),
        ..UpdateMessage::default()
    };
    assert_eq!(
        rib.apply(2, &view(&msg)).unwrap(),
        Applied::Routes { ignored: None }
    );
    let fib = rib.drain_fib_changes();
    assert_eq!(fib.len(), 2);
    // The IPv4-mapped next hop is given to the FIB as IPv4 ("via inet").
    assert_eq!(fib[1].prefix, p("fd00:10:241::/64"));
    assert_eq!(fib[1].next_hops, vec![ip("172.18.0.2")]);
    let counts = rib.peer_counts(2).unwrap();
    assert_eq!(counts[1].1.accepted, 1);
    let w = UpdateMessage {
        withdrawn: vec![n("10.241.0.0/24")],
        mp_unreach: Some(MpUnreach {
            family: Family::IPV6_UNICAST,
            withdrawn: vec![n("fd00:10:241::/64")],
        }),
        ..UpdateMessage::default()
    };
    assert_eq!(
        rib.apply(2, &view(&w)).unwrap(),
        Applied::Routes { ignored: None }
    );
    let fib = rib.drain_fib_changes();
    assert_eq!(fib.len(), 2);
    assert!(fib.iter().all(|c| c.next_hops.is_empty()));
}

/// The zero-copy view of `msg` as a 4-octet AS session receives it.
fn view(msg: &UpdateMessage) -> Update {
    let ctx = SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    };
    let mut body = bytes::BytesMut::new();
    encode_body(msg, &ctx, &mut body).unwrap();
    Update::decode(body.freeze(), &ctx).unwrap()
}

#[test]
fn apply_reports_end_of_rib_and_treat_as_withdraw() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    rib.drain_fib_changes();
    assert_eq!(
        rib.apply(2, &view(&UpdateMessage::default())).unwrap(),
        Applied::EndOfRib(Family::IPV4_UNICAST)
    );
    // An ORIGIN of the wrong length is RFC 7606 treat-as-withdraw.
    let ctx = SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    };
    let body: &[u8] = &[
        0, 0, // no withdrawn routes
        0, 15, // attributes
        0x40, 1, 2, 0, 0, // ORIGIN, 2 octets: malformed
        0x40, 2, 0, // empty AS_PATH
        0x40, 3, 4, 172, 18, 0, 2, // NEXT_HOP
        24, 10, 241, 0, // 10.241.0.0/24
    ];
    let u = Update::decode(bytes::Bytes::from_static(body), &ctx).unwrap();
    assert!(u.is_treat_as_withdraw());
    assert_eq!(
        rib.apply(2, &u).unwrap(),
        Applied::Withdrawn(WithdrawReason::Malformed)
    );
    let fib = rib.drain_fib_changes();
    assert_eq!(fib.len(), 1);
    assert!(fib[0].next_hops.is_empty());
}

#[test]
fn lookup_is_longest_prefix_match() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.0.0.0/8", &[65100]);
    announce(&mut rib, 2, "10.241.0.0/16", &[65100]);
    announce(&mut rib, 2, "10.241.1.0/24", &[65100]);
    assert_eq!(
        rib.lookup(ip("10.241.1.7")).unwrap().prefix,
        p("10.241.1.0/24")
    );
    assert_eq!(
        rib.lookup(ip("10.241.2.7")).unwrap().prefix,
        p("10.241.0.0/16")
    );
    assert_eq!(rib.lookup(ip("10.1.2.3")).unwrap().prefix, p("10.0.0.0/8"));
    assert!(rib.lookup(ip("11.0.0.1")).is_none());
    assert!(rib.lookup(ip("2001:db8::1")).is_none());
    let all = rib.routes(None);
    let prefixes: Vec<_> = all.iter().map(|r| r.prefix.to_string()).collect();
    assert_eq!(prefixes, ["10.0.0.0/8", "10.241.0.0/16", "10.241.1.0/24"]);
}

#[test]
fn peer_down_without_gr_removes_paths() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65100)).unwrap();
    announce(&mut rib, 2, "10.11.192.248/32", &[65100]);
    announce(&mut rib, 3, "10.11.192.248/32", &[65100]);
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    rib.drain_fib_changes();
    rib.peer_down(2, false).unwrap();
    let mut fib = rib.drain_fib_changes();
    fib.sort_by_key(|c| c.prefix);
    assert_eq!(
        fib,
        vec![
            FibChange {
                prefix: p("10.11.192.248/32"),
                next_hops: vec![ip("172.18.0.3")],
                table: 0,
            },
            FibChange {
                prefix: p("10.241.0.0/24"),
                next_hops: vec![],
                table: 0,
            },
        ]
    );
    assert_eq!(rib.peer_counts(2).unwrap()[0].1.received, 0);
    // Back up again: a fresh session.
    rib.add_peer(peer(2, 65100)).unwrap();
    assert!(rib.peer_up(2));
}

#[test]
fn graceful_restart_keeps_stale_paths_until_end_of_rib() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    announce(&mut rib, 2, "10.11.192.248/32", &[65100]);
    announce(&mut rib, 2, "fd00::/64", &[65100]);
    rib.drain_fib_changes();
    rib.peer_down(2, true).unwrap();
    assert!(rib.drain_fib_changes().is_empty(), "forwarding continues");
    assert!(!rib.peer_up(2));
    let r = rib.route(p("10.241.0.0/24")).unwrap();
    assert!(r.paths[0].stale && r.paths[0].best);
    assert_eq!(rib.peer_counts(2).unwrap()[0].1.stale, 2);
    // The peer comes back and re-announces one route, then End-of-RIB.
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    assert!(!rib.route(p("10.241.0.0/24")).unwrap().paths[0].stale);
    assert_eq!(rib.peer_counts(2).unwrap()[0].1.stale, 1);
    rib.end_of_rib(2, Family::IPV4_UNICAST).unwrap();
    assert_eq!(
        rib.drain_fib_changes(),
        vec![FibChange {
            prefix: p("10.11.192.248/32"),
            next_hops: vec![],
            table: 0,
        }]
    );
    assert!(rib.route(p("10.241.0.0/24")).is_some());
    // IPv6 is still stale until its own End-of-RIB or the timer.
    assert!(rib.route(p("fd00::/64")).unwrap().paths[0].stale);
    rib.sweep_stale(2).unwrap();
    assert!(rib.route(p("fd00::/64")).is_none());
    assert_eq!(rib.peer_counts(2).unwrap()[1].1.received, 0);
}

#[test]
fn stale_path_replaced_by_new_attributes() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    rib.peer_down(2, true).unwrap();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100, 65101]);
    rib.end_of_rib(2, Family::IPV4_UNICAST).unwrap();
    let r = rib.route(p("10.241.0.0/24")).unwrap();
    assert_eq!(r.paths.len(), 1);
    assert!(!r.paths[0].stale);
    assert_eq!(
        r.paths[0].route.attrs.as_path,
        AsPath::from_sequence(vec![65100, 65101])
    );
}

#[test]
fn remove_peer_frees_everything() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    rib.full_export(3).unwrap();
    rib.remove_peer(2).unwrap();
    assert_eq!(rib.peer_counts(2), Err(RibError::UnknownPeer(2)));
    let batches = rib.drain_exports(3).unwrap();
    assert_eq!(batches.len(), 1, "withdrawal to the other peer");
    assert_eq!(rib.stats().attr_sets, 0);
    assert_eq!(rib.stats().paths, 0);
}

#[test]
fn path_age_uses_the_clock_given() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.set_clock(42);
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    assert_eq!(rib.route(p("10.241.0.0/24")).unwrap().paths[0].since, 42);
}

#[test]
fn add_path_ids_are_separate_paths() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    let mut a = n("10.0.0.0/8");
    a.path_id = 1;
    let mut b = a;
    b.path_id = 2;
    rib.update(2, [a], ip("172.18.0.7"), attrs(&[65100]))
        .unwrap();
    rib.update(2, [b], ip("172.18.0.8"), attrs(&[65100]))
        .unwrap();
    let last = rib.drain_fib_changes().pop().unwrap();
    assert_eq!(last.next_hops, vec![ip("172.18.0.7"), ip("172.18.0.8")]);
    rib.withdraw(2, [a]).unwrap();
    assert_eq!(rib.drain_fib_changes()[0].next_hops, vec![ip("172.18.0.8")]);
}

#[test]
fn fib_output_can_be_switched_off_without_touching_the_loc_rib() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.set_fib_output(false);
    announce(&mut rib, 2, "10.11.0.0/16", &[65100]);
    assert!(rib.drain_fib_changes().is_empty());
    assert!(rib.route(p("10.11.0.0/16")).unwrap().paths[0].best);
    rib.set_fib_output(true);
    announce(&mut rib, 2, "10.12.0.0/16", &[65100]);
    let changes = rib.drain_fib_changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].prefix, p("10.12.0.0/16"));
}

/// Dynamic neighbors come and go from ever new addresses: with each removed
/// when it is forgotten, its slot is used again, so more than 65,536 peers
/// over time never run into `TooManyPeers` (slots are `u16`).
#[test]
fn removed_peers_free_their_slots_for_good() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    announce(&mut rib, 2, "10.0.0.0/8", &[65100]);
    for id in 1_000..71_000u32 {
        let mut info = peer(3, 65200);
        info.id = id;
        rib.add_peer(info).unwrap();
        rib.update(id, [n("10.1.0.0/16")], ip("172.18.0.3"), attrs(&[65200]))
            .unwrap();
        rib.peer_down(id, false).unwrap();
        rib.remove_peer(id).unwrap();
        assert_eq!(rib.peer_count(), 1);
    }
    assert_eq!(rib.peer_slots(), 2);
    assert!(rib.route(p("10.1.0.0/16")).is_none());
    assert_eq!(rib.route(p("10.0.0.0/8")).unwrap().paths.len(), 1);
}
