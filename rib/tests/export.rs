//! Export rules and the Adj-RIB-Out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bgp_proto::msg::attributes::{AsPath, Community, MpNextHop};
use bgp_proto::types::{Family, Prefix};
use common::*;
use rib::policy::{Action, Match, Policy, PolicyRef, PrefixList, PrefixListEntry, Term, Verdict};
use rib::{ExportBatch, Rib};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Prefixes announced (minus withdrawn) over all batches.
fn announced(batches: &[ExportBatch]) -> BTreeSet<Prefix> {
    let mut set = BTreeSet::new();
    for b in batches {
        match b {
            ExportBatch::Announce { nlri, .. } => set.extend(nlri.iter().map(|n| n.prefix)),
            ExportBatch::Withdraw { nlri, .. } => {
                for n in nlri {
                    set.remove(&n.prefix);
                }
            }
        }
    }
    set
}

fn withdrawn(batches: &[ExportBatch]) -> Vec<Prefix> {
    batches
        .iter()
        .filter_map(|b| match b {
            ExportBatch::Withdraw { nlri, .. } => Some(nlri.iter().map(|n| n.prefix)),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Two clusters of three nodes, as in the lab (cluster 2 at 172.18.0.1x
/// here to keep one helper): each node sends its pod /24 and the LB /32.
fn lab() -> Rib {
    let mut rib = rib();
    for (id, asn) in [
        (2, 65100),
        (3, 65100),
        (4, 65100),
        (12, 65200),
        (13, 65200),
        (14, 65200),
    ] {
        rib.add_peer(peer(id, asn)).unwrap();
        assert!(announced(&rib.full_export(id).unwrap()).is_empty());
    }
    for (id, pod) in [
        (2, "10.241.0.0/24"),
        (3, "10.241.1.0/24"),
        (4, "10.241.2.0/24"),
    ] {
        announce(&mut rib, id, pod, &[65100]);
        announce(&mut rib, id, "10.11.192.248/32", &[65100]);
    }
    for (id, pod) in [
        (12, "10.242.0.0/24"),
        (13, "10.242.1.0/24"),
        (14, "10.242.2.0/24"),
    ] {
        announce(&mut rib, id, pod, &[65200]);
        announce(&mut rib, id, "10.12.225.247/32", &[65200]);
    }
    rib
}

#[test]
fn lab_every_node_gets_everything_but_its_own_best_routes() {
    let mut rib = lab();
    // Node 2 holds the best path of the cluster-1 LB IP: it gets 6 routes.
    let to2 = announced(&rib.drain_exports(2).unwrap());
    assert_eq!(to2.len(), 6);
    assert!(!to2.contains(&p("10.241.0.0/24")));
    assert!(!to2.contains(&p("10.11.192.248/32")));
    assert!(
        to2.contains(&p("10.241.1.0/24")),
        "same-AS nodes get it too, as from BIRD"
    );
    let to3 = announced(&rib.drain_exports(3).unwrap());
    assert_eq!(to3.len(), 7);
    assert!(to3.contains(&p("10.11.192.248/32")));
    assert_eq!(rib.peer_counts(3).unwrap()[0].1.advertised, 7);
    // Nothing more until something changes.
    assert!(rib.drain_exports(3).unwrap().is_empty());
    assert!(!rib.exports_pending(3));
}

#[test]
fn ebgp_export_prepends_sets_next_hop_self_and_strips_lp_and_med() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    let mut a = attrs(&[65100]);
    a.med = Some(50);
    a.local_pref = Some(300);
    a.communities = vec![Community(65100 << 16 | 1)];
    rib.update(2, [n("10.241.0.0/24")], ip("172.18.0.2"), a)
        .unwrap();
    let batches = rib.drain_exports(3).unwrap();
    let [ExportBatch::Announce {
        family,
        route,
        nlri,
    }] = batches.as_slice()
    else {
        panic!("{batches:?}");
    };
    assert_eq!(*family, Family::IPV4_UNICAST);
    assert_eq!(nlri, &[n("10.241.0.0/24")]);
    assert_eq!(
        route.attrs.as_path,
        AsPath::from_sequence(vec![LOCAL_AS, 65100])
    );
    assert_eq!(route.next_hop, ip("172.18.0.5"));
    assert_eq!(route.attrs.med, None, "RFC 4271 5.1.4");
    assert_eq!(route.attrs.local_pref, None);
    assert_eq!(route.attrs.communities, vec![Community(65100 << 16 | 1)]);
    let upd = batches[0].to_updates(100);
    assert_eq!(upd.len(), 1);
    assert_eq!(
        upd[0].attributes.next_hop,
        Some(Ipv4Addr::new(172, 18, 0, 5))
    );
    assert_eq!(upd[0].nlri, vec![n("10.241.0.0/24")]);
    // Never back to the source.
    assert!(rib.drain_exports(2).unwrap().is_empty());
}

#[test]
fn next_hop_unchanged_keeps_the_route_next_hop() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(rib::PeerInfo {
        next_hop_unchanged: true,
        ..peer(3, 65200)
    })
    .unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    let batches = rib.drain_exports(3).unwrap();
    let ExportBatch::Announce { route, .. } = &batches[0] else {
        panic!()
    };
    assert_eq!(route.next_hop, ip("172.18.0.2"));
}

#[test]
fn a_link_local_next_hop_is_never_passed_on_unchanged() {
    let mut rib = rib();
    let v6 = |last: u8| rib::PeerInfo {
        local_v6: Some(std::net::Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 5)),
        ..peer(u32::from(last), 65000)
    };
    rib.add_peer(peer(2, 65100)).unwrap();
    // An iBGP peer, and an eBGP one with next_hop_unchanged.
    rib.add_peer(v6(3)).unwrap();
    rib.add_peer(rib::PeerInfo {
        next_hop_unchanged: true,
        remote_as: 65400,
        ..v6(4)
    })
    .unwrap();
    rib.update(2, [n("fd00:10:241::/64")], ip("fe80::2"), attrs(&[65100]))
        .unwrap();
    for id in [3, 4] {
        let batches = rib.drain_exports(id).unwrap();
        let ExportBatch::Announce { route, .. } = &batches[0] else {
            panic!("{batches:?}")
        };
        assert_eq!(route.next_hop, ip("fd00::5"), "peer {id}: ours instead");
    }
}

#[test]
fn ipv6_over_ipv4_session_uses_mapped_next_hop() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    rib.update(
        2,
        [n("fd00:10:241::/64")],
        ip("::ffff:172.18.0.2"),
        attrs(&[65100]),
    )
    .unwrap();
    let batches = rib.drain_exports(3).unwrap();
    assert_eq!(batches[0].family(), Family::IPV6_UNICAST);
    let upd = batches[0].to_updates(100);
    let reach = upd[0].mp_reach.as_ref().unwrap();
    assert_eq!(
        reach.next_hop,
        MpNextHop {
            global: ip("::ffff:172.18.0.5"),
            link_local: None
        }
    );
    assert_eq!(upd[0].attributes.next_hop, None);
    // With an IPv6 local address, that one.
    let v6: Ipv6Addr = "fd00::5".parse().unwrap();
    rib.add_peer(rib::PeerInfo {
        local_v6: Some(v6),
        ..peer(4, 65300)
    })
    .unwrap();
    let b = rib.full_export(4).unwrap();
    let v6_batch = b
        .iter()
        .find(|b| b.family() == Family::IPV6_UNICAST)
        .unwrap();
    let ExportBatch::Announce { route, .. } = v6_batch else {
        panic!()
    };
    assert_eq!(route.next_hop, IpAddr::V6(v6));
}

/// RFC 8950: IPv4 routes to a session over IPv6 (no IPv4 address of ours)
/// go with our IPv6 address as next hop when the extended next hop
/// capability was negotiated, and not at all otherwise; an IPv4 route with
/// an IPv6 next hop keeps it (next hop unchanged) only towards such a peer.
#[test]
fn extended_next_hop_sends_ipv4_routes_with_ipv6_next_hops() {
    let mut rib = rib();
    let v6: Ipv6Addr = "2001:db8::5".parse().unwrap();
    let over_v6 = |id: u32, enh: bool, unchanged: bool| rib::PeerInfo {
        addr: format!("2001:db8::{id}").parse().unwrap(),
        local_v4: None,
        local_v6: Some(v6),
        extended_next_hop: enh,
        next_hop_unchanged: unchanged,
        ..peer(id, 65300 + id)
    };
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(over_v6(3, true, false)).unwrap();
    rib.add_peer(over_v6(4, false, false)).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    let b = rib.drain_exports(3).unwrap();
    let ExportBatch::Announce { family, route, .. } = &b[0] else {
        panic!("{b:?}")
    };
    assert_eq!(*family, Family::IPV4_UNICAST);
    assert_eq!(route.next_hop, IpAddr::V6(v6));
    // Owned form: MP_REACH_NLRI for IPv4 unicast, no NEXT_HOP.
    let upd = b[0].to_updates(100);
    let reach = upd[0].mp_reach.as_ref().unwrap();
    assert_eq!(
        (reach.family, reach.next_hop.global),
        (Family::IPV4_UNICAST, IpAddr::V6(v6))
    );
    assert_eq!(upd[0].attributes.next_hop, None);
    assert!(rib.drain_exports(4).unwrap().is_empty());

    // A route learned with an IPv6 next hop, passed on unchanged.
    rib.add_peer(over_v6(5, true, true)).unwrap();
    rib.add_peer(over_v6(6, false, true)).unwrap();
    rib.add_peer(rib::PeerInfo {
        next_hop_unchanged: true,
        ..peer(7, 65400)
    })
    .unwrap();
    for id in [5, 6, 7] {
        rib.full_export(id).unwrap();
    }
    rib.update(3, [n("10.99.0.0/24")], ip("2001:db8::3"), attrs(&[65303]))
        .unwrap();
    let b = rib.drain_exports(5).unwrap();
    let ExportBatch::Announce { route, .. } = &b[0] else {
        panic!("{b:?}")
    };
    assert_eq!(route.next_hop, ip("2001:db8::3"));
    assert!(announced(&rib.drain_exports(6).unwrap()).is_empty());
    assert!(announced(&rib.drain_exports(7).unwrap()).is_empty());
    // Next hop self towards the IPv4 session.
    let b = rib.drain_exports(2).unwrap();
    let ExportBatch::Announce { route, .. } = &b[0] else {
        panic!("{b:?}")
    };
    assert_eq!(route.next_hop, ip("172.18.0.5"));
}

#[test]
fn peer_without_ipv6_family_gets_no_ipv6() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(rib::PeerInfo {
        families: vec![Family::IPV4_UNICAST],
        ..peer(3, 65200)
    })
    .unwrap();
    rib.update(2, [n("fd00::/64")], ip("fd00::2"), attrs(&[65100]))
        .unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    let b = rib.drain_exports(3).unwrap();
    assert_eq!(announced(&b), BTreeSet::from([p("10.241.0.0/24")]));
}

#[test]
fn ibgp_learned_routes_are_not_reflected_and_ibgp_gets_local_pref() {
    let mut rib = rib();
    rib.add_peer(peer(2, LOCAL_AS)).unwrap();
    rib.add_peer(peer(3, LOCAL_AS)).unwrap();
    rib.add_peer(peer(4, 65100)).unwrap();
    rib.update(2, [n("10.1.0.0/16")], ip("10.9.9.9"), attrs(&[]))
        .unwrap();
    assert!(rib.drain_exports(3).unwrap().is_empty(), "no iBGP to iBGP");
    let to4 = rib.drain_exports(4).unwrap();
    assert_eq!(announced(&to4).len(), 1);
    announce(&mut rib, 4, "10.4.0.0/16", &[65100]);
    let to3 = rib.drain_exports(3).unwrap();
    let ExportBatch::Announce { route, .. } = &to3[0] else {
        panic!()
    };
    assert_eq!(route.attrs.local_pref, Some(100));
    assert_eq!(
        route.attrs.as_path,
        AsPath::from_sequence(vec![65100]),
        "no prepend to iBGP"
    );
    assert_eq!(
        route.next_hop,
        ip("172.18.0.4"),
        "next hop unchanged to iBGP"
    );
}

#[test]
fn only_differences_are_sent_and_withdrawals_follow() {
    let mut rib = lab();
    for id in [2, 3, 4, 12, 13, 14] {
        rib.drain_exports(id).unwrap();
    }
    // Node 2 withdraws its LB path: best moves to node 3.
    rib.withdraw(2, [n("10.11.192.248/32")]).unwrap();
    // Node 2 now needs it; node 3 (new source) gets a withdrawal; node 4
    // and cluster 2 see identical outgoing attributes: nothing.
    assert_eq!(
        announced(&rib.drain_exports(2).unwrap()),
        BTreeSet::from([p("10.11.192.248/32")])
    );
    assert_eq!(
        withdrawn(&rib.drain_exports(3).unwrap()),
        vec![p("10.11.192.248/32")]
    );
    assert!(rib.drain_exports(4).unwrap().is_empty());
    assert!(rib.drain_exports(12).unwrap().is_empty());
    // The pod route of node 3 goes away: everyone else gets a withdrawal.
    rib.withdraw(3, [n("10.241.1.0/24")]).unwrap();
    for id in [2, 4, 12, 13, 14] {
        assert_eq!(
            withdrawn(&rib.drain_exports(id).unwrap()),
            vec![p("10.241.1.0/24")]
        );
    }
    assert!(rib.drain_exports(3).unwrap().is_empty());
}

#[test]
fn announcements_are_grouped_by_attributes() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    let prefixes: Vec<_> = (0..50u8).map(|i| n(&format!("10.241.{i}.0/24"))).collect();
    rib.update(2, prefixes.clone(), ip("172.18.0.2"), attrs(&[65100]))
        .unwrap();
    rib.update(
        2,
        [n("10.9.0.0/16")],
        ip("172.18.0.2"),
        attrs(&[65100, 65101]),
    )
    .unwrap();
    let b = rib.drain_exports(3).unwrap();
    assert_eq!(b.len(), 2);
    let sizes: BTreeSet<usize> = b.iter().map(|b| b.nlri().len()).collect();
    assert_eq!(sizes, BTreeSet::from([1, 50]));
    let big = b.iter().find(|b| b.nlri().len() == 50).unwrap();
    assert_eq!(big.to_updates(20).len(), 3);
}

#[test]
fn full_export_resends_everything() {
    let mut rib = lab();
    let first = announced(&rib.drain_exports(3).unwrap());
    let refresh = announced(&rib.full_export(3).unwrap());
    assert_eq!(first, refresh);
}

#[test]
fn no_export_and_no_advertise_communities() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    rib.add_peer(peer(4, LOCAL_AS)).unwrap();
    let mut a = attrs(&[65100]);
    a.communities = vec![Community::NO_EXPORT];
    rib.update(2, [n("10.1.0.0/16")], ip("172.18.0.2"), a.clone())
        .unwrap();
    a.communities = vec![Community::NO_ADVERTISE];
    rib.update(2, [n("10.2.0.0/16")], ip("172.18.0.2"), a)
        .unwrap();
    assert!(rib.drain_exports(3).unwrap().is_empty());
    assert_eq!(
        announced(&rib.drain_exports(4).unwrap()),
        BTreeSet::from([p("10.1.0.0/16")])
    );
}

#[test]
fn export_policy_filters_sets_med_and_prepends() {
    let policy = Policy {
        name: "out".into(),
        terms: vec![
            Term {
                matches: Match {
                    prefix_list: Some("pods".into()),
                    ..Match::default()
                },
                action: Action {
                    set_med: Some(7),
                    prepend: Some(2),
                    result: Some(Verdict::Accept),
                    ..Action::default()
                },
            },
            Term {
                matches: Match::default(),
                action: Action::default(),
            },
        ],
        default: Verdict::Reject,
    };
    let list = PrefixList {
        name: "pods".into(),
        entries: vec![PrefixListEntry {
            prefix: "10.241.0.0/16".into(),
            ge: Some(24),
            le: None,
        }],
    };
    let mut rib = rib_with(vec![policy], vec![list]);
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(rib::PeerInfo {
        export: PolicyRef::Named("out".into()),
        ..peer(3, 65200)
    })
    .unwrap();
    announce(&mut rib, 2, "10.241.1.0/24", &[65100]);
    announce(&mut rib, 2, "10.11.0.0/16", &[65100]);
    let b = rib.drain_exports(3).unwrap();
    assert_eq!(announced(&b), BTreeSet::from([p("10.241.1.0/24")]));
    let ExportBatch::Announce { route, .. } = &b[0] else {
        panic!()
    };
    assert_eq!(
        route.attrs.med,
        Some(7),
        "a MED set by export policy is sent"
    );
    assert_eq!(
        route.attrs.as_path,
        AsPath::from_sequence(
            vec![LOCAL_AS; 3]
                .into_iter()
                .chain([65100])
                .collect::<Vec<_>>()
        )
    );
    // Export "none" sends nothing.
    rib.add_peer(rib::PeerInfo {
        export: PolicyRef::None,
        ..peer(4, 65300)
    })
    .unwrap();
    assert!(rib.full_export(4).unwrap().is_empty());
}

#[test]
fn peer_down_drops_its_adj_rib_out() {
    let mut rib = lab();
    rib.drain_exports(3).unwrap();
    rib.peer_down(3, false).unwrap();
    rib.add_peer(peer(3, 65100)).unwrap();
    assert_eq!(rib.peer_counts(3).unwrap()[0].1.advertised, 0);
    // Its own pod route went with the session: 2 pods + 2 LB IPs + 3 pods.
    assert_eq!(announced(&rib.full_export(3).unwrap()).len(), 7);
}

#[test]
fn policy_changes_at_run_time_re_export() {
    let mut rib = lab();
    rib.drain_exports(2).unwrap();
    let full = announced(&rib.drain_exports(13).unwrap());
    assert_eq!(full.len(), 7);
    // Neighbor 13's export becomes "none": everything is withdrawn.
    rib.set_peer_policies(13, PolicyRef::All, PolicyRef::None)
        .unwrap();
    let b = rib.drain_exports(13).unwrap();
    assert_eq!(withdrawn(&b).into_iter().collect::<BTreeSet<_>>(), full);
    assert_eq!(rib.peer_counts(13).unwrap()[0].1.advertised, 0);
    // New definitions: a named policy that only lets the pods through.
    let only_pods = Policy {
        name: "pods".into(),
        terms: vec![Term {
            matches: Match {
                prefix_list: Some("pods".into()),
                ..Match::default()
            },
            action: Action {
                result: Some(Verdict::Accept),
                ..Action::default()
            },
        }],
        default: Verdict::Reject,
    };
    let list = PrefixList {
        name: "pods".into(),
        entries: vec![PrefixListEntry {
            prefix: "10.240.0.0/12".into(),
            ge: Some(24),
            le: None,
        }],
    };
    rib.set_policies(&[only_pods], &[list]).unwrap();
    rib.set_peer_policies(13, PolicyRef::All, PolicyRef::Named("pods".into()))
        .unwrap();
    let pods = announced(&rib.drain_exports(13).unwrap());
    assert_eq!(pods.len(), 5, "3 + 3 pods minus its own");
    // Other peers see no change from a re-evaluation.
    assert!(rib
        .drain_exports(2)
        .unwrap()
        .iter()
        .all(|b| b.nlri().is_empty()));
    // Definitions that leave a neighbor's reference dangling are refused.
    assert!(rib.set_policies(&[], &[]).is_err());
    assert!(rib
        .set_peer_policies(13, PolicyRef::Named("gone".into()), PolicyRef::All)
        .is_err());
}

/// The route each batch announces `prefix` with, over all batches.
fn route_of(batches: &[ExportBatch], prefix: &str) -> Option<std::sync::Arc<rib::RouteAttrs>> {
    batches.iter().rev().find_map(|b| match b {
        ExportBatch::Announce { route, nlri, .. } if nlri.iter().any(|n| n.prefix == p(prefix)) => {
            Some(route.clone())
        }
        _ => None,
    })
}

#[test]
fn peers_in_one_drain_round_get_their_own_next_hop_and_rules() {
    // One source route drained for several targets in a row: results
    // shared between peers must still differ where the session does.
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    let mut other_side = peer(3, 65200);
    other_side.local_v4 = Some(Ipv4Addr::new(192, 0, 2, 5));
    rib.add_peer(other_side).unwrap();
    rib.add_peer(peer(4, 65300)).unwrap();
    rib.add_peer(peer(6, LOCAL_AS)).unwrap();
    let mut unchanged = peer(7, 65400);
    unchanged.next_hop_unchanged = true;
    rib.add_peer(unchanged).unwrap();
    announce(&mut rib, 2, "10.241.0.0/24", &[65100]);
    let drained: Vec<(u32, Vec<ExportBatch>)> = [3, 4, 6, 7, 2]
        .into_iter()
        .map(|id| (id, rib.drain_exports(id).unwrap()))
        .collect();
    let nh = |id: u32| {
        let b = &drained.iter().find(|(i, _)| *i == id).unwrap().1;
        route_of(b, "10.241.0.0/24").map(|r| (r.next_hop, r.attrs.as_path.path_len()))
    };
    assert_eq!(
        nh(3),
        Some((ip("192.0.2.5"), 2)),
        "next hop self, our AS prepended"
    );
    assert_eq!(nh(4), Some((ip("172.18.0.5"), 2)));
    assert_eq!(
        nh(6),
        Some((ip("172.18.0.2"), 1)),
        "iBGP: next hop and path kept"
    );
    assert_eq!(nh(7), Some((ip("172.18.0.2"), 2)), "next_hop_unchanged");
    assert_eq!(nh(2), None, "never back to the source");
    // Ending the round keeps the Adj-RIB-Outs: nothing is sent again.
    rib.end_export_round();
    assert!(rib.drain_exports(4).unwrap().is_empty());
    assert_eq!(rib.adj_rib_out(4).unwrap().len(), 1);
    // A later change is seen by the next round.
    announce(&mut rib, 2, "10.241.0.0/24", &[65100, 65101]);
    let b = rib.drain_exports(4).unwrap();
    let r = route_of(&b, "10.241.0.0/24").unwrap();
    assert_eq!(r.attrs.as_path.path_len(), 3);
}

#[test]
fn routes_with_equal_outgoing_attributes_share_a_batch_however_they_interleave() {
    let mut rib = rib();
    rib.add_peer(peer(2, 65100)).unwrap();
    rib.add_peer(peer(3, 65200)).unwrap();
    // Two attribute sets, changed in the order X Y X Y X: two batches in
    // the order each set first came, each with its prefixes sorted.
    for (prefix, path) in [
        ("10.0.3.0/24", &[65100, 1][..]),
        ("10.0.9.0/24", &[65100, 2]),
        ("10.0.1.0/24", &[65100, 1]),
        ("10.0.8.0/24", &[65100, 2]),
        ("10.0.2.0/24", &[65100, 1]),
    ] {
        announce(&mut rib, 2, prefix, path);
    }
    let batches = rib.drain_exports(3).unwrap();
    let got: Vec<(Vec<u32>, Vec<Prefix>)> = batches
        .iter()
        .map(|b| match b {
            ExportBatch::Announce { route, nlri, .. } => (
                route
                    .attrs
                    .as_path
                    .segments
                    .iter()
                    .flat_map(|s| s.asns.clone())
                    .collect(),
                nlri.iter().map(|n| n.prefix).collect(),
            ),
            ExportBatch::Withdraw { .. } => panic!("nothing was withdrawn"),
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                vec![65000, 65100, 1],
                vec![p("10.0.1.0/24"), p("10.0.2.0/24"), p("10.0.3.0/24")]
            ),
            (
                vec![65000, 65100, 2],
                vec![p("10.0.8.0/24"), p("10.0.9.0/24")]
            ),
        ]
    );
    // A second drain after more changes starts from clean groups.
    announce(&mut rib, 2, "10.0.4.0/24", &[65100, 2]);
    let again = rib.drain_exports(3).unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        announced(&again).into_iter().collect::<Vec<_>>(),
        vec![p("10.0.4.0/24")]
    );
}
