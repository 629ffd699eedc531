//! Property tests: the decision order is total and transitive, the best path
//! does not depend on arrival order, and the drained outputs (FIB changes,
//! export batches) always add up to the RIB's state.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bgp_proto::msg::attributes::{AsPath, Origin, PathAttributes};
use common::*;
use proptest::prelude::*;
use rib::decision::{compare, select, select_explained, Candidate, DecisionConfig};
use rib::ExportBatch;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

fn candidate() -> impl Strategy<Value = Candidate> {
    (
        (
            prop_oneof![Just(100u32), Just(200)],
            0u32..3,
            0u8..3,
            0u32..3,
        ),
        (
            prop_oneof![Just(Some(1u32)), Just(Some(2)), Just(None)],
            any::<bool>(),
            any::<bool>(),
        ),
        (0u8..3, 0u32..2, 0u8..3, 0u32..2, 0u32..4),
    )
        .prop_map(
            |((local_pref, path_len, origin, med), (neighbor_as, ebgp, local), t)| Candidate {
                local_pref,
                local,
                path_len,
                origin,
                med,
                neighbor_as,
                ebgp,
                router_id: Ipv4Addr::new(10, 0, 0, t.0),
                cluster_len: t.1,
                peer_addr: IpAddr::V4(Ipv4Addr::new(172, 18, 0, t.2)),
                path_id: t.3,
                peer_id: t.4,
            },
        )
}

fn cfg(always_compare_med: bool) -> DecisionConfig {
    DecisionConfig {
        always_compare_med,
        multipath_relax: false,
        max_paths: 4,
    }
}

proptest! {
    #[test]
    fn explained_selection_is_the_selection_and_notes_match_it(
        cands in proptest::collection::vec(candidate(), 0..7),
        acm in any::<bool>(),
        relax in any::<bool>(),
        max_paths in 1usize..4,
    ) {
        let cfg = DecisionConfig { always_compare_med: acm, multipath_relax: relax, max_paths };
        let (sel, notes) = select_explained(&cands, &cfg);
        prop_assert_eq!(&sel, &select(&cands, &cfg));
        prop_assert_eq!(notes.len(), cands.len());
        for (i, n) in notes.iter().enumerate() {
            prop_assert_eq!(n.lost_at.is_none(), sel.best == Some(i), "{:?}", n);
            prop_assert_eq!(n.ecmp.is_none(), sel.multipath.contains(&i), "{:?}", n);
        }
    }

    #[test]
    fn compare_is_a_total_order_with_always_compare_med(
        a in candidate(), mut b in candidate(), c in candidate()
    ) {
        let cmp = |x: &Candidate, y: &Candidate| compare(x, y, true).0;
        prop_assert_eq!(cmp(&a, &b), cmp(&b, &a).reverse());
        prop_assert_eq!(cmp(&a, &a), Ordering::Equal);
        if cmp(&a, &b) != Ordering::Greater && cmp(&b, &c) != Ordering::Greater {
            prop_assert_ne!(cmp(&a, &c), Ordering::Greater);
        }
        // The last tie-breakers are the path's identity: two candidates
        // are equal only when they are one path (the neighbor AS, not a
        // step with always-compare-med, may then differ only here).
        if cmp(&a, &b) == Ordering::Equal {
            prop_assert_eq!((a.peer_id, a.path_id), (b.peer_id, b.path_id));
            b.neighbor_as = a.neighbor_as;
            prop_assert_eq!(a, b, "only identical candidates are equal");
        }
    }

    #[test]
    fn compare_is_transitive_within_one_neighbor_as(
        a in candidate(), b in candidate(), c in candidate()
    ) {
        let (mut a, mut b, mut c) = (a, b, c);
        a.neighbor_as = Some(1);
        b.neighbor_as = Some(1);
        c.neighbor_as = Some(1);
        let cmp = |x: &Candidate, y: &Candidate| compare(x, y, false).0;
        if cmp(&a, &b) == Ordering::Less && cmp(&b, &c) == Ordering::Less {
            prop_assert_eq!(cmp(&a, &c), Ordering::Less);
        }
    }

    #[test]
    fn select_agrees_with_compare_when_med_is_always_compared(
        cands in prop::collection::vec(candidate(), 1..6)
    ) {
        let best = select(&cands, &cfg(true)).best.unwrap();
        for c in &cands {
            prop_assert_ne!(compare(&cands[best], c, true).0, Ordering::Greater);
        }
    }

    #[test]
    fn two_candidate_fast_path_matches_the_general_elimination(
        a in candidate(), b in candidate(), acm in any::<bool>(), relax in any::<bool>(),
        max_paths in 1usize..4,
    ) {
        // A third candidate that loses at the first step sends `select`
        // down the general path without changing the answer.
        let mut loser = a;
        loser.local_pref = 0;
        let cfg = DecisionConfig { always_compare_med: acm, multipath_relax: relax, max_paths };
        let two = select(&[a, b], &cfg);
        let three = select(&[a, b, loser], &cfg);
        prop_assert_eq!(two, three);
    }

    #[test]
    fn selection_does_not_depend_on_order(
        cands in prop::collection::vec(candidate(), 1..6),
        seed in any::<u64>(),
        acm in any::<bool>(),
    ) {
        // One path per (peer, path id), as in a RIB: two paths of the same
        // identity that differ elsewhere (say, in neighbor AS with MED not
        // compared across ASes) have no order between them.
        let mut cands = cands;
        for (i, c) in cands.iter_mut().enumerate() {
            c.peer_id = u32::try_from(i).unwrap();
        }
        let mut shuffled = cands.clone();
        // A deterministic shuffle from the seed.
        let mut s = seed | 1;
        for i in (1..shuffled.len()).rev() {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            shuffled.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let a = select(&cands, &cfg(acm));
        let b = select(&shuffled, &cfg(acm));
        let pick = |c: &[Candidate], i: Option<usize>| i.map(|i| c[i]);
        prop_assert_eq!(pick(&cands, a.best), pick(&shuffled, b.best));
        let group = |c: &[Candidate], g: &[usize]| g.iter().map(|&i| c[i]).collect::<Vec<_>>();
        prop_assert_eq!(group(&cands, &a.multipath), group(&shuffled, &b.multipath));
    }
}

/// One route input: (peer 2..=4, prefix index, attributes choice or withdraw).
#[derive(Debug, Clone)]
struct Op {
    peer: u32,
    prefix: u8,
    route: Option<(u8, u8, u32)>,
}

fn op() -> impl Strategy<Value = Op> {
    (
        2u32..5,
        0u8..4,
        prop::option::weighted(0.75, (0u8..3, 0u8..2, 0u32..3)),
    )
        .prop_map(|(peer, prefix, route)| Op {
            peer,
            prefix,
            route,
        })
}

fn op_attrs(path_len: u8, origin: u8, med: u32, peer: u32) -> PathAttributes {
    let asn = if peer == 4 { 65200 } else { 65100 };
    PathAttributes {
        origin: Some(if origin == 0 {
            Origin::Igp
        } else {
            Origin::Incomplete
        }),
        as_path: AsPath::from_sequence(vec![asn; usize::from(path_len) + 1]),
        med: Some(med),
        ..PathAttributes::default()
    }
}

fn prefix_of(i: u8) -> String {
    format!("10.{i}.0.0/16")
}

fn apply(rib: &mut rib::Rib, o: &Op) {
    let nlri = n(&prefix_of(o.prefix));
    match o.route {
        Some((len, origin, med)) => {
            let nh = IpAddr::V4(Ipv4Addr::new(172, 18, 0, u8::try_from(o.peer).unwrap()));
            rib.update(o.peer, [nlri], nh, op_attrs(len, origin, med, o.peer))
                .unwrap();
        }
        None => rib.withdraw(o.peer, [nlri]).unwrap(),
    }
}

fn setup() -> rib::Rib {
    let mut rib = rib();
    for (id, asn) in [(2, 65100), (3, 65100), (4, 65200), (9, 65300)] {
        rib.add_peer(peer(id, asn)).unwrap();
    }
    rib
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn outputs_add_up_to_the_rib_state(ops in prop::collection::vec(op(), 1..40)) {
        let mut rib = setup();
        let mut fib: BTreeMap<String, Vec<IpAddr>> = BTreeMap::new();
        let mut sent: BTreeMap<String, std::sync::Arc<rib::RouteAttrs>> = BTreeMap::new();
        for (i, o) in ops.iter().enumerate() {
            apply(&mut rib, o);
            if i % 3 == 0 {
                for c in rib.drain_fib_changes() {
                    if c.next_hops.is_empty() {
                        fib.remove(&c.prefix.to_string());
                    } else {
                        fib.insert(c.prefix.to_string(), c.next_hops);
                    }
                }
                for b in rib.drain_exports(9).unwrap() {
                    match b {
                        ExportBatch::Announce { route, nlri, .. } => {
                            for n in nlri {
                                sent.insert(n.prefix.to_string(), route.clone());
                            }
                        }
                        ExportBatch::Withdraw { nlri, .. } => {
                            for n in nlri {
                                prop_assert!(sent.remove(&n.prefix.to_string()).is_some());
                            }
                        }
                    }
                }
            }
        }
        for c in rib.drain_fib_changes() {
            if c.next_hops.is_empty() {
                fib.remove(&c.prefix.to_string());
            } else {
                fib.insert(c.prefix.to_string(), c.next_hops);
            }
        }
        for b in rib.drain_exports(9).unwrap() {
            match b {
                ExportBatch::Announce { route, nlri, .. } => {
                    for n in nlri {
                        sent.insert(n.prefix.to_string(), route.clone());
                    }
                }
                ExportBatch::Withdraw { nlri, .. } => {
                    for n in nlri {
                        sent.remove(&n.prefix.to_string());
                    }
                }
            }
        }
        // The FIB built from the changes equals the Loc-RIB's ECMP groups.
        let expect: BTreeMap<String, Vec<IpAddr>> = rib
            .routes(None)
            .into_iter()
            .filter_map(|r| {
                let mut nh: Vec<IpAddr> =
                    r.paths.iter().filter(|p| p.multipath).map(|p| p.route.next_hop).collect();
                nh.sort();
                nh.dedup();
                (!nh.is_empty()).then(|| (r.prefix.to_string(), nh))
            })
            .collect();
        prop_assert_eq!(&fib, &expect);
        // What peer 9 was sent equals its Adj-RIB-Out and covers every best path.
        let adj: BTreeMap<String, _> = rib
            .adj_rib_out(9)
            .unwrap()
            .into_iter()
            .map(|(p, r)| (p.to_string(), r))
            .collect();
        prop_assert_eq!(&sent, &adj);
        let keys: BTreeSet<&String> = sent.keys().collect();
        let best: BTreeSet<&String> = expect.keys().collect();
        prop_assert_eq!(keys, best.clone());
        // After a session reset, the initial table is every best path.
        rib.peer_down(9, false).unwrap();
        rib.add_peer(peer(9, 65300)).unwrap();
        let mut full = BTreeSet::new();
        for b in rib.full_export(9).unwrap() {
            match b {
                ExportBatch::Announce { nlri, .. } => {
                    full.extend(nlri.iter().map(|n| n.prefix.to_string()));
                }
                ExportBatch::Withdraw { nlri, .. } => {
                    prop_assert!(false, "withdrawal {nlri:?} in a fresh table");
                }
            }
        }
        prop_assert_eq!(full.iter().collect::<BTreeSet<_>>(), best);
        // Everything freed when the peers go.
        for id in [2, 3, 4, 9] {
            rib.remove_peer(id).unwrap();
        }
        prop_assert_eq!(rib.stats().attr_sets, 0);
        prop_assert_eq!(rib.stats().paths, 0);
        prop_assert_eq!(rib.stats().prefixes_v4, 0);
    }

    #[test]
    fn best_path_does_not_depend_on_arrival_order(
        routes in prop::collection::vec((2u32..5, 0u8..3, 0u8..2, 0u32..3), 1..4),
        acm in any::<bool>(),
    ) {
        // One route per peer (dedup by peer), announced in both orders.
        let mut by_peer = BTreeMap::new();
        for (peer, len, origin, med) in routes {
            by_peer.insert(peer, (len, origin, med));
        }
        let ops: Vec<Op> = by_peer
            .into_iter()
            .map(|(peer, r)| Op { peer, prefix: 0, route: Some(r) })
            .collect();
        let run = |ops: &mut dyn Iterator<Item = &Op>| {
            let mut rib = rib::Rib::new(rib::RibConfig { always_compare_med: acm, ..config() })
                .unwrap();
            for (id, asn) in [(2, 65100), (3, 65100), (4, 65200)] {
                rib.add_peer(peer(id, asn)).unwrap();
            }
            for o in ops {
                apply(&mut rib, o);
            }
            let r = rib.route(p(&prefix_of(0))).unwrap();
            let flags: Vec<(u32, bool, bool)> =
                r.paths.iter().map(|x| (x.peer, x.best, x.multipath)).collect();
            let mut sorted = flags.clone();
            sorted.sort();
            (flags[0], sorted)
        };
        let forward = run(&mut ops.iter());
        let backward = run(&mut ops.iter().rev());
        prop_assert_eq!(forward, backward);
    }
}
