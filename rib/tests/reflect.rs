//! iBGP route reflection (RFC 4456): who gets a route from an iBGP peer,
//! ORIGINATOR_ID and CLUSTER_LIST, and the loop checks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use rib::{ExportBatch, PeerInfo, RibConfig};
use std::net::Ipv4Addr;

fn client(id: u32) -> PeerInfo {
    PeerInfo {
        route_reflector_client: true,
        ..peer(id, LOCAL_AS)
    }
}

fn announce_route(batches: &[ExportBatch]) -> Option<rib::RouteAttrs> {
    batches.iter().find_map(|b| match b {
        ExportBatch::Announce { route, .. } => Some((**route).clone()),
        ExportBatch::Withdraw { .. } => None,
    })
}

/// Peers 2 and 3 are clients, 4 a non-client, 5 another non-client, 6 eBGP.
fn reflector() -> rib::Rib {
    let mut rib = rib::Rib::new(RibConfig {
        cluster_id: Some(Ipv4Addr::new(10, 255, 0, 1)),
        ..config()
    })
    .unwrap();
    for p in [client(2), client(3), peer(4, LOCAL_AS), peer(5, LOCAL_AS)] {
        rib.add_peer(p).unwrap();
    }
    rib.add_peer(peer(6, 65100)).unwrap();
    rib
}

#[test]
fn a_clients_route_goes_to_every_peer_with_originator_and_cluster_list() {
    let mut rib = reflector();
    announce(&mut rib, 2, "10.244.1.0/24", &[]);
    assert!(rib.drain_exports(2).unwrap().is_empty(), "never back");
    for id in [3, 4, 5] {
        let r = announce_route(&rib.drain_exports(id).unwrap()).expect("reflected");
        assert_eq!(r.attrs.originator_id, Some(Ipv4Addr::new(172, 18, 0, 2)));
        assert_eq!(r.attrs.cluster_list, vec![Ipv4Addr::new(10, 255, 0, 1)]);
        assert_eq!(r.next_hop, ip("172.18.0.2"), "next hop unchanged");
        assert_eq!(r.attrs.local_pref, Some(100));
    }
    let e = announce_route(&rib.drain_exports(6).unwrap()).expect("to eBGP");
    assert_eq!(e.attrs.originator_id, None);
    assert!(e.attrs.cluster_list.is_empty());
    assert_eq!(e.attrs.as_path.to_string(), "65000");
}

#[test]
fn a_non_clients_route_goes_to_clients_only() {
    let mut rib = reflector();
    let mut a = attrs(&[]);
    a.local_pref = Some(150);
    rib.update(4, [n("10.244.4.0/24")], ip("172.18.0.4"), a)
        .unwrap();
    for id in [2, 3] {
        let r = announce_route(&rib.drain_exports(id).unwrap()).expect("to a client");
        assert_eq!(r.attrs.local_pref, Some(150), "LOCAL_PREF kept");
        assert_eq!(r.attrs.originator_id, Some(Ipv4Addr::new(172, 18, 0, 4)));
    }
    assert!(
        rib.drain_exports(5).unwrap().is_empty(),
        "non-client to non-client"
    );
    assert!(announce_route(&rib.drain_exports(6).unwrap()).is_some());
}

#[test]
fn an_existing_originator_is_kept_and_the_cluster_list_grows_at_the_front() {
    let mut rib = reflector();
    let mut a = attrs(&[]);
    a.originator_id = Some(Ipv4Addr::new(10, 0, 0, 9));
    a.cluster_list = vec![Ipv4Addr::new(10, 255, 0, 2)];
    rib.update(2, [n("10.244.9.0/24")], ip("172.18.0.9"), a)
        .unwrap();
    let r = announce_route(&rib.drain_exports(4).unwrap()).unwrap();
    assert_eq!(r.attrs.originator_id, Some(Ipv4Addr::new(10, 0, 0, 9)));
    assert_eq!(
        r.attrs.cluster_list,
        vec![Ipv4Addr::new(10, 255, 0, 1), Ipv4Addr::new(10, 255, 0, 2)]
    );
}

#[test]
fn our_cluster_id_or_router_id_in_a_route_is_a_loop() {
    let mut rib = reflector();
    let mut in_cluster = attrs(&[]);
    in_cluster.cluster_list = vec![Ipv4Addr::new(10, 255, 0, 1)];
    rib.update(2, [n("10.1.0.0/16")], ip("172.18.0.2"), in_cluster)
        .unwrap();
    let mut ours = attrs(&[]);
    ours.originator_id = Some(Ipv4Addr::new(172, 18, 0, 5));
    rib.update(2, [n("10.2.0.0/16")], ip("172.18.0.2"), ours)
        .unwrap();
    assert!(rib.route(p("10.1.0.0/16")).is_none());
    assert!(rib.route(p("10.2.0.0/16")).is_none());
    assert!(rib.drain_exports(4).unwrap().is_empty());
}

#[test]
fn without_clients_ibgp_routes_stay_with_ibgp_and_ecmp_spans_ibgp_paths() {
    let mut rib = rib();
    rib.add_peer(peer(2, LOCAL_AS)).unwrap();
    rib.add_peer(peer(3, LOCAL_AS)).unwrap();
    rib.add_peer(peer(4, LOCAL_AS)).unwrap();
    announce(&mut rib, 2, "10.11.0.1/32", &[]);
    announce(&mut rib, 3, "10.11.0.1/32", &[]);
    assert!(rib.drain_exports(4).unwrap().is_empty());
    let last = rib.drain_fib_changes().pop().unwrap();
    assert_eq!(last.next_hops, vec![ip("172.18.0.2"), ip("172.18.0.3")]);
}

#[test]
fn originator_and_cluster_list_from_an_external_peer_are_discarded() {
    let mut rib = reflector();
    let mut forged = attrs(&[65100]);
    forged.originator_id = Some(Ipv4Addr::new(172, 18, 0, 5)); // our router id
    forged.cluster_list = vec![Ipv4Addr::new(10, 255, 0, 1)]; // our cluster id
    rib.update(6, [n("10.66.0.0/16")], ip("172.18.0.6"), forged)
        .unwrap();
    let view = rib.route(p("10.66.0.0/16")).expect("not a loop: discarded");
    assert_eq!(view.paths[0].route.attrs.originator_id, None);
    assert!(view.paths[0].route.attrs.cluster_list.is_empty());
    // Passed on to iBGP without them (not reflected: learned over eBGP).
    let r = announce_route(&rib.drain_exports(4).unwrap()).unwrap();
    assert_eq!(r.attrs.originator_id, None);
    assert!(r.attrs.cluster_list.is_empty());
}

#[test]
fn our_own_routes_go_to_clients_without_reflection_attributes() {
    let mut rib = reflector();
    rib.originate(
        rib::LocalSource::Static,
        p("10.0.0.0/8"),
        None,
        attrs(&[]),
        &rib::policy::PolicyRef::All,
    )
    .unwrap();
    for id in [2, 4] {
        let r = announce_route(&rib.drain_exports(id).unwrap()).unwrap();
        assert_eq!(r.attrs.originator_id, None);
        assert!(r.attrs.cluster_list.is_empty());
        assert_eq!(r.next_hop, ip("172.18.0.5"));
    }
}
