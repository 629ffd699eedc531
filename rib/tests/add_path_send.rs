//! ADD-PATH send (RFC 7911): the best path and the rest of its multipath
//! group go to a peer that negotiated it, each under a stable identifier.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use bgp_proto::types::Family;
use common::*;
use rib::{ExportBatch, PeerInfo};
use std::net::IpAddr;

/// Peer 5 (AS 65300) with ADD-PATH send for IPv4, up to `max` paths,
/// next hops passed on unchanged so that the paths differ.
fn collector(max: usize) -> PeerInfo {
    PeerInfo {
        add_path_send: vec![Family::IPV4_UNICAST],
        add_path_max: max,
        next_hop_unchanged: true,
        ..peer(5, 65300)
    }
}

/// (path id, next hop) of every announced path, and the withdrawn path ids.
fn paths(batches: &[ExportBatch]) -> (Vec<(u32, IpAddr)>, Vec<u32>) {
    let mut ann = Vec::new();
    let mut wd = Vec::new();
    for b in batches {
        match b {
            ExportBatch::Announce { route, nlri, .. } => {
                ann.extend(nlri.iter().map(|n| (n.path_id, route.next_hop)))
            }
            ExportBatch::Withdraw { nlri, .. } => wd.extend(nlri.iter().map(|n| n.path_id)),
        }
    }
    ann.sort_by_key(|(_, nh)| *nh);
    (ann, wd)
}

fn three_nodes(rib: &mut rib::Rib) {
    for id in [2, 3, 4] {
        rib.add_peer(peer(id, 65100)).unwrap();
        announce(rib, id, "10.11.192.248/32", &[65100]);
    }
}

#[test]
fn every_ecmp_path_goes_out_under_its_own_stable_id() {
    let mut rib = rib();
    three_nodes(&mut rib);
    rib.add_peer(collector(8)).unwrap();
    rib.add_peer(peer(6, 65400)).unwrap();
    let (ann, wd) = paths(&rib.full_export(5).unwrap());
    assert!(wd.is_empty());
    let hops: Vec<IpAddr> = ann.iter().map(|(_, nh)| *nh).collect();
    assert_eq!(hops, [ip("172.18.0.2"), ip("172.18.0.3"), ip("172.18.0.4")]);
    let mut ids: Vec<u32> = ann.iter().map(|(id, _)| *id).collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "distinct ids: {ann:?}");
    assert!(ids.iter().all(|&id| id != 0));
    // A peer without ADD-PATH still gets one path.
    let (plain, _) = paths(&rib.full_export(6).unwrap());
    assert_eq!(plain.len(), 1);
    assert_eq!(plain[0].0, 0);

    // Node 3 withdraws: exactly its path goes, the others stay put.
    let id_of_3 = ann[1].0;
    rib.withdraw(3, [n("10.11.192.248/32")]).unwrap();
    let (ann2, wd2) = paths(&rib.drain_exports(5).unwrap());
    assert!(
        ann2.is_empty(),
        "unchanged paths are not sent again: {ann2:?}"
    );
    assert_eq!(wd2, [id_of_3]);
    // It comes back under the same id.
    announce(&mut rib, 3, "10.11.192.248/32", &[65100]);
    let (ann3, _) = paths(&rib.drain_exports(5).unwrap());
    assert_eq!(ann3, [(id_of_3, ip("172.18.0.3"))]);
    assert_eq!(rib.peer_counts(5).unwrap()[0].1.advertised, 1);
}

#[test]
fn the_limit_caps_the_paths_and_a_path_never_goes_back_to_its_source() {
    let mut rib = rib();
    three_nodes(&mut rib);
    rib.add_peer(collector(2)).unwrap();
    let (ann, _) = paths(&rib.full_export(5).unwrap());
    assert_eq!(ann.len(), 2);
    // The collector itself announces the prefix too (in its own AS): its
    // path is not a multipath member (another AS) and is never sent back.
    announce(&mut rib, 5, "10.11.192.248/32", &[65300]);
    let (again, _) = paths(&rib.full_export(5).unwrap());
    assert!(again.iter().all(|(_, nh)| *nh != ip("172.18.0.5")));
}

#[test]
fn a_session_going_down_releases_what_it_was_sent() {
    let mut rib = rib();
    three_nodes(&mut rib);
    rib.add_peer(collector(8)).unwrap();
    let before = rib.stats().attr_sets;
    rib.full_export(5).unwrap();
    rib.peer_down(5, false).unwrap();
    rib.remove_peer(5).unwrap();
    assert_eq!(rib.stats().attr_sets, before, "outgoing sets released");
    // Routes withdrawn while nobody holds them free their slots.
    for id in [2, 3, 4] {
        rib.withdraw(id, [n("10.11.192.248/32")]).unwrap();
    }
    assert!(rib.route(p("10.11.192.248/32")).is_none());
}

#[test]
fn paths_the_peer_may_not_have_do_not_count_against_the_limit() {
    use rib::policy::{Action, Match, Policy, PolicyRef, Term, Verdict};
    // The collector's export policy refuses paths via node 3.
    let not_3 = Policy {
        name: "not-3".into(),
        terms: vec![Term {
            matches: Match {
                next_hop: Some(vec!["172.18.0.3/32".into()]),
                ..Match::default()
            },
            action: Action {
                result: Some(Verdict::Reject),
                ..Action::default()
            },
        }],
        default: Verdict::Accept,
    };
    let mut rib = rib_with(vec![not_3], vec![]);
    three_nodes(&mut rib);
    rib.add_peer(PeerInfo {
        export: PolicyRef::Named("not-3".into()),
        ..collector(2)
    })
    .unwrap();
    let (ann, _) = paths(&rib.full_export(5).unwrap());
    let hops: Vec<IpAddr> = ann.iter().map(|(_, nh)| *nh).collect();
    assert_eq!(hops, [ip("172.18.0.2"), ip("172.18.0.4")]);
}
