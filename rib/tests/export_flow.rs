//! Exports to a peer whose output is blocked: the backlog, suspending it
//! and catching up by comparing with the Adj-RIB-Out; a route refresh of
//! one family.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bgp_proto::types::{Family, Prefix};
use common::*;
use rib::{ExportBatch, Rib};
use std::collections::BTreeSet;

fn prefixes(batches: &[ExportBatch], announce: bool) -> BTreeSet<Prefix> {
    batches
        .iter()
        .filter(|b| matches!(b, ExportBatch::Announce { .. }) == announce)
        .flat_map(|b| b.nlri().iter().map(|n| n.prefix))
        .collect()
}

/// Peer 2 feeds, peer 12 (another AS) receives and has drained its table.
fn two_peers() -> Rib {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(12, 65200)).unwrap();
    rib.full_export(12).unwrap();
    rib
}

#[test]
fn a_suspended_peer_catches_up_with_each_changed_prefix_once() {
    let mut rib = two_peers();
    announce(&mut rib, 2, "10.0.0.0/24", &[65100]);
    announce(&mut rib, 2, "10.0.1.0/24", &[65100]);
    assert_eq!(prefixes(&rib.drain_exports(12).unwrap(), true).len(), 2);

    rib.suspend_exports(12).unwrap();
    // While suspended, nothing is logged for it, however often routes flap.
    for i in 0..100u32 {
        let path = [65100, 65000 + i];
        announce(&mut rib, 2, "10.0.0.0/24", &path);
        announce(&mut rib, 2, "10.0.2.0/24", &path);
    }
    rib.withdraw(2, [n("10.0.1.0/24")]).unwrap();
    assert_eq!(rib.export_backlog(12), (0, false));
    assert!(!rib.exports_pending(12));

    let caught_up = rib.resume_exports(12).unwrap();
    let announced = prefixes(&caught_up, true);
    let expected: BTreeSet<Prefix> = [p("10.0.0.0/24"), p("10.0.2.0/24")].into();
    assert_eq!(announced, expected, "the changed prefixes, once each");
    assert_eq!(prefixes(&caught_up, false), [p("10.0.1.0/24")].into());
    // The unchanged prefixes stay unsent; later changes are logged again.
    assert!(rib.drain_exports(12).unwrap().is_empty());
    announce(&mut rib, 2, "10.0.3.0/24", &[65100]);
    assert_eq!(
        prefixes(&rib.drain_exports(12).unwrap(), true),
        [p("10.0.3.0/24")].into()
    );
}

#[test]
fn resuming_a_peer_that_missed_nothing_sends_nothing() {
    let mut rib = two_peers();
    announce(&mut rib, 2, "10.0.0.0/24", &[65100]);
    rib.drain_exports(12).unwrap();
    rib.suspend_exports(12).unwrap();
    assert!(rib.resume_exports(12).unwrap().is_empty());
}

#[test]
fn the_backlog_is_big_once_it_outnumbers_the_table() {
    let mut rib = two_peers();
    // A small table: the backlog is kept up to the minimum.
    for i in 0..2000u32 {
        announce(&mut rib, 2, "10.0.0.0/24", &[65100, 65000 + (i % 7)]);
    }
    let (n, big) = rib.export_backlog(12);
    assert!(n > 1000, "{n}");
    assert!(!big);
    for i in 0..5000u32 {
        announce(&mut rib, 2, "10.0.0.0/24", &[65100, 65000 + (i % 7)]);
    }
    assert!(
        rib.export_backlog(12).1,
        "a backlog over the minimum and the table is big"
    );
    // Another peer that drains has none.
    rib.drain_exports(2).unwrap();
    assert_eq!(rib.export_backlog(2).0, 0);
}

#[test]
fn a_route_refresh_of_one_family_leaves_the_others_changes_pending() {
    let mut rib = two_peers();
    announce(&mut rib, 2, "10.0.0.0/24", &[65100]);
    rib.update(
        2,
        [n("2001:db8::/64")],
        ip("2001:db8:ffff::2"),
        attrs(&[65100]),
    )
    .unwrap();
    let v4 = rib.full_export_family(12, Family::IPV4_UNICAST).unwrap();
    assert!(v4.iter().all(|b| b.family() == Family::IPV4_UNICAST));
    assert_eq!(prefixes(&v4, true), [p("10.0.0.0/24")].into());
    // The IPv6 change was not consumed by the IPv4 refresh.
    let rest = rib.drain_exports(12).unwrap();
    assert_eq!(prefixes(&rest, true), [p("2001:db8::/64")].into());
}
