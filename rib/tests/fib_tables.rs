//! A kernel table per neighbor: FIB changes carry the table of the peer
//! whose path is best, and a prefix whose best path moves to another
//! table leaves the old one first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use rib::{FibChange, PeerInfo};

fn change(prefix: &str, hops: &[&str], table: u32) -> FibChange {
    FibChange {
        prefix: p(prefix),
        next_hops: hops.iter().map(|h| ip(h)).collect(),
        table,
    }
}

#[test]
fn routes_follow_the_table_of_their_best_path() {
    let mut rib = rib();
    // Cluster 1 (AS 65100) writes into table 100, cluster 2 into the FIB's.
    rib.add_peer(PeerInfo {
        fib_table: 100,
        ..peer(2, 65100)
    })
    .unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    announce(&mut rib, 3, "10.242.0.0/24", &[65200]);
    assert_eq!(
        rib.drain_fib_changes(),
        [
            change("10.241.0.0/24", &["172.18.0.2"], 100),
            change("10.242.0.0/24", &["172.18.0.3"], 0),
        ]
    );
    // Cluster 2 announces cluster 1's prefix with a shorter path: it moves.
    announce(&mut rib, 3, "10.9.0.0/16", &[65200]);
    announce(&mut rib, 2, "10.9.0.0/16", &[65100, 65100]);
    rib.drain_fib_changes();
    announce(&mut rib, 2, "10.9.0.0/16", &[65100]);
    let mut longer = attrs(&[65200, 65200, 65200]);
    longer.med = None;
    rib.update(3, [n("10.9.0.0/16")], ip("172.18.0.3"), longer)
        .unwrap();
    assert_eq!(
        rib.drain_fib_changes(),
        [
            change("10.9.0.0/16", &[], 0),
            change("10.9.0.0/16", &["172.18.0.2"], 100),
        ]
    );
    // Withdrawn: deleted from the table it was in.
    rib.withdraw(2, [n("10.9.0.0/16")]).unwrap();
    assert_eq!(
        rib.drain_fib_changes(),
        [
            change("10.9.0.0/16", &[], 100),
            change("10.9.0.0/16", &["172.18.0.3"], 0),
        ]
    );
    // The session of table 100 going away deletes its routes there.
    rib.peer_down(2, false).unwrap();
    assert_eq!(rib.drain_fib_changes(), [change("10.241.0.0/24", &[], 100)]);
}

#[test]
fn a_peer_back_from_graceful_restart_with_another_table_leaves_the_old_one() {
    let mut rib = rib();
    rib.add_peer(PeerInfo {
        fib_table: 100,
        ..peer(2, 65100)
    })
    .unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    rib.drain_fib_changes();
    rib.peer_down(2, true).unwrap();
    assert!(rib.drain_fib_changes().is_empty(), "stale paths stay");
    // Reconfigured to table 200 meanwhile.
    rib.add_peer(PeerInfo {
        fib_table: 200,
        ..peer(2, 65100)
    })
    .unwrap();
    assert_eq!(rib.drain_fib_changes(), [change("10.241.0.0/24", &[], 100)]);
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    assert_eq!(
        rib.drain_fib_changes(),
        [change("10.241.0.0/24", &["172.18.0.2"], 200)]
    );
}
