//! Export groups: whatever peers come and go, announce, withdraw, refresh
//! or block, a member of a group ends every round holding what it would
//! hold on its own. Two RIBs take the same operations, one with groups
//! (new sessions join theirs at once, the others regroup before every
//! round) and one without; after every round each peer holds the same
//! routes with the same attributes from both, which is its Adj-RIB-Out,
//! and its counters agree. No drain sends a prefix twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use bgp_proto::types::Family;
use bgp_proto::types::Nlri;
use common::*;
use proptest::prelude::*;
use rib::{ExportBatch, PeerInfo, Rib, RouteAttrs};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

const PEERS: u32 = 7;

/// Peers 1-2 share AS 65001, 3 and 4 are in their own ASes (1-4 with the
/// sender-side loop check: one group whose members are left out of routes
/// through their AS), 5 is iBGP, 6 an iBGP route reflector client, 7 is
/// eBGP with another local address: several groups, members that are
/// sources, routes refused by kind.
fn info(id: u32) -> PeerInfo {
    let mut p = match id {
        1 | 2 => peer(id, 65001),
        3 => peer(id, 65003),
        4 => peer(id, 65004),
        5 | 6 => peer(id, LOCAL_AS),
        _ => peer(id, 65007),
    };
    p.sender_as_loop_check = id <= 4;
    p.route_reflector_client = id == 6;
    if id == 7 {
        p.local_v4 = Some(Ipv4Addr::new(172, 18, 0, 99));
    }
    p
}

#[derive(Debug, Clone)]
enum Op {
    Up(u32),
    Down(u32, bool),
    Remove(u32),
    Announce(u32, usize, u32),
    Withdraw(u32, usize),
    Refresh(u32),
    Block(u32),
    Unblock(u32),
    Round,
}

fn op() -> impl Strategy<Value = Op> {
    let id = 1..=PEERS;
    prop_oneof![
        2 => id.clone().prop_map(Op::Up),
        1 => (id.clone(), any::<bool>()).prop_map(|(i, g)| Op::Down(i, g)),
        1 => id.clone().prop_map(Op::Remove),
        6 => (id.clone(), 0usize..10, 0u32..3).prop_map(|(i, p, v)| Op::Announce(i, p, v)),
        2 => (id.clone(), 0usize..10).prop_map(|(i, p)| Op::Withdraw(i, p)),
        1 => id.clone().prop_map(Op::Refresh),
        1 => id.clone().prop_map(Op::Block),
        1 => id.prop_map(Op::Unblock),
        4 => Just(Op::Round),
    ]
}

/// Members going down and up again among announcements, as in a rolling
/// restart: most sessions join a group that exists.
fn churn_op() -> impl Strategy<Value = Op> {
    let id = 1..=PEERS;
    prop_oneof![
        3 => id.clone().prop_map(Op::Up),
        3 => (id.clone(), any::<bool>()).prop_map(|(i, g)| Op::Down(i, g)),
        6 => (id.clone(), 0usize..10, 0u32..3).prop_map(|(i, p, v)| Op::Announce(i, p, v)),
        2 => (id, 0usize..10).prop_map(|(i, p)| Op::Withdraw(i, p)),
        2 => Just(Op::Round),
    ]
}

/// What a drain's batches say about each prefix: its outgoing attributes
/// or withdrawn; a prefix in two batches of one drain fails.
fn routes(batches: &[ExportBatch]) -> BTreeMap<Nlri, Option<Arc<RouteAttrs>>> {
    let mut m = BTreeMap::new();
    for b in batches {
        let route = match b {
            ExportBatch::Announce { route, .. } => Some(route.clone()),
            ExportBatch::Withdraw { .. } => None,
        };
        for n in b.nlri() {
            assert!(
                m.insert(*n, route.clone()).is_none(),
                "{n:?} twice in {batches:?}"
            );
        }
    }
    m
}

fn prefix(i: usize) -> &'static str {
    [
        "10.0.0.0/24",
        "10.0.1.0/24",
        "10.0.2.0/24",
        "10.1.0.0/16",
        "10.2.0.0/16",
        "0.0.0.0/0",
        "192.0.2.0/24",
        "198.51.100.0/24",
        "2001:db8::/48",
        "2001:db8:1::/48",
    ][i % 10]
}

/// What a peer holds from what it was sent.
type Held = BTreeMap<Nlri, Arc<RouteAttrs>>;

fn receive(held: &mut Held, batches: &[ExportBatch]) {
    for b in batches {
        for n in b.nlri() {
            match b {
                ExportBatch::Announce { route, .. } => held.insert(*n, route.clone()),
                ExportBatch::Withdraw { .. } => held.remove(n),
            };
        }
    }
}

/// A caller's copy of each group's view, one batch per outgoing attribute
/// set (family index, set), kept up to date from the changes the RIB
/// lists, with the founding count of the group it is of.
type SetCopies = BTreeMap<u32, (u64, BTreeMap<(usize, u32), ExportBatch>)>;

const FAMILIES: [Family; 2] = [Family::IPV4_UNICAST, Family::IPV6_UNICAST];

/// Both RIBs, which peers are up and blocked (suspended), what each
/// peer of each RIB holds, and the copies of the grouped RIB's views.
struct Pair {
    plain: Rib,
    grouped: Rib,
    up: BTreeMap<u32, bool>,
    held: BTreeMap<u32, (Held, Held)>,
    views: SetCopies,
}

/// A new member's initial table as a caller that keeps its group's view
/// by set makes it: the copy brought up to date with the sets changed
/// since the last join, without the sets the member is not sent in full,
/// and the member's part of those. The copy must equal the group's view,
/// and the table the member's view of it.
fn initial_from_copy(
    rib: &mut Rib,
    views: &mut SetCopies,
    id: u32,
    join: rib::GroupJoin,
) -> Vec<ExportBatch> {
    let (founded, copy) = views
        .entry(join.group)
        .or_insert((join.founded, BTreeMap::new()));
    if *founded != join.founded {
        *founded = join.founded;
        copy.clear();
    }
    let changes = rib.take_view_changes(join.group);
    for ((fi, family), changed) in FAMILIES.into_iter().enumerate().zip(changes) {
        let sets = match changed {
            None => {
                copy.retain(|k, _| k.0 != fi);
                rib.group_view_sets(join.group, family, None)
            }
            Some(list) => {
                for a in &list {
                    copy.remove(&(fi, *a));
                }
                rib.group_view_sets(join.group, family, Some(&list))
            }
        };
        copy.extend(sets.into_iter().map(|(a, b)| ((fi, a), b)));
        let whole: BTreeMap<(usize, u32), ExportBatch> = rib
            .group_view_sets(join.group, family, None)
            .into_iter()
            .map(|(a, b)| ((fi, a), b))
            .collect();
        let kept: BTreeMap<(usize, u32), ExportBatch> = copy
            .iter()
            .filter(|(k, _)| k.0 == fi)
            .map(|(k, b)| (*k, b.clone()))
            .collect();
        assert_eq!(kept, whole, "the copy of group {}'s view", join.group);
    }
    let excluded = rib.member_excluded_sets(id);
    let mut out: Vec<ExportBatch> = copy
        .iter()
        .filter(|((fi, a), _)| excluded[*fi].binary_search(a).is_err())
        .map(|(_, b)| b.clone())
        .collect();
    for ((fi, family), sets) in FAMILIES.into_iter().enumerate().zip(&excluded) {
        for (a, b) in rib.member_view_sets(id, family, sets) {
            assert!(
                sets.binary_search(&a).is_ok(),
                "set {a} of family {fi} not asked for"
            );
            out.push(b);
        }
    }
    assert_eq!(
        routes(&out),
        routes(&rib.group_view(id).unwrap()),
        "peer {id}'s initial table"
    );
    out
}

impl Pair {
    fn both<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, f: impl Fn(&mut Rib) -> T) {
        let a = f(&mut self.plain);
        let b = f(&mut self.grouped);
        assert_eq!(a, b, "{what}");
    }

    /// Sends peer `id` what `f` gives in each RIB.
    fn each(&mut self, id: u32, f: impl Fn(&mut Rib) -> Vec<ExportBatch>) {
        let want = f(&mut self.plain);
        let got = f(&mut self.grouped);
        let (p, g) = self.held.entry(id).or_default();
        receive(p, &want);
        receive(g, &got);
    }

    /// One export round: the plain RIB drains every peer; the grouped one
    /// regroups, then drains each group once and the solo peers.
    fn round(&mut self) {
        let ready: Vec<u32> = self
            .up
            .iter()
            .filter(|(_, blocked)| !**blocked)
            .map(|(&id, _)| id)
            .collect();
        self.grouped.regroup(|id| ready.contains(&id).then_some(0));
        let mut groups: BTreeMap<u32, rib::GroupExport> = BTreeMap::new();
        for &id in &ready {
            let want = self.plain.drain_exports(id).unwrap();
            let got: Vec<ExportBatch> = match self.grouped.export_group(id) {
                Some(g) => groups
                    .entry(g)
                    .or_insert_with(|| self.grouped.drain_group(g))
                    .batches_for(id),
                None => self.grouped.drain_exports(id).unwrap(),
            };
            routes(&got);
            routes(&want);
            let (p, g) = self.held.entry(id).or_default();
            receive(p, &want);
            receive(g, &got);
        }
        self.plain.end_export_round();
        self.grouped.end_export_round();
        let up: Vec<u32> = self.up.keys().copied().collect();
        for id in up {
            // What each peer drained holds is what its Adj-RIB-Out says,
            // in both (a blocked one may lag by what it joined without).
            let (p, g) = self.held.get(&id).cloned().unwrap_or_default();
            if self.up.get(&id) == Some(&false) {
                self.both("adj-rib-out", |r| r.adj_rib_out(id).unwrap());
                self.both("counters", |r| r.peer_counts(id).unwrap());
                assert_eq!(p, g, "held by peer {id}");
                let adj: Held = self
                    .plain
                    .adj_rib_out(id)
                    .unwrap()
                    .into_iter()
                    .map(|(p, r)| (Nlri::new(p), r))
                    .collect();
                assert_eq!(p, adj, "peer {id}'s Adj-RIB-Out");
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Up(id) if !self.up.contains_key(&id) => {
                self.both("add", |r| r.add_peer(info(id)).unwrap());
                let want = self.plain.full_export(id).unwrap();
                // Into its group at once, with the group's view, if the
                // group exists; its changes since come with the next round.
                let got = match self.grouped.join_established(id, 0) {
                    Some(join) => initial_from_copy(&mut self.grouped, &mut self.views, id, join),
                    None => self.grouped.full_export(id).unwrap(),
                };
                let (p, g) = self.held.entry(id).or_default();
                receive(p, &want);
                receive(g, &got);
                self.up.insert(id, false);
            }
            Op::Down(id, graceful) if self.up.remove(&id).is_some() => {
                self.both("down", |r| r.peer_down(id, graceful).unwrap());
                self.held.remove(&id);
            }
            // Gone for good (its stale paths too); its slot goes to the next.
            Op::Remove(id) if self.plain.peer_count() > 0 => {
                self.up.remove(&id);
                self.held.remove(&id);
                self.both("remove", |r| r.remove_peer(id).is_ok());
            }
            Op::Announce(id, p, variant) if self.up.contains_key(&id) => {
                let asn = info(id).remote_as;
                let path: Vec<u32> = match (asn == LOCAL_AS, variant) {
                    (true, 0) => vec![],
                    (true, _) => vec![64999 + variant],
                    (false, 0) => vec![asn],
                    (false, 1) => vec![asn, 64991],
                    // Through member 3's AS.
                    (false, _) => vec![asn, 65003],
                };
                let pfx = prefix(p);
                let nh = if pfx.contains(':') {
                    IpAddr::V6(
                        Ipv4Addr::new(172, 18, 0, u8::try_from(id).unwrap()).to_ipv6_mapped(),
                    )
                } else {
                    IpAddr::V4(Ipv4Addr::new(172, 18, 0, u8::try_from(id).unwrap()))
                };
                self.both("announce", |r| {
                    r.update(id, [n(pfx)], nh, attrs(&path)).unwrap()
                });
            }
            Op::Withdraw(id, p) if self.up.contains_key(&id) => {
                self.both("withdraw", |r| r.withdraw(id, [n(prefix(p))]).unwrap());
            }
            Op::Refresh(id) if self.up.get(&id) == Some(&false) => {
                self.each(id, |r| {
                    r.full_export_family(id, Family::IPV4_UNICAST).unwrap()
                });
            }
            Op::Block(id) if self.up.get(&id) == Some(&false) => {
                self.both("suspend", |r| r.suspend_exports(id).unwrap());
                self.up.insert(id, true);
            }
            Op::Unblock(id) if self.up.get(&id) == Some(&true) => {
                self.each(id, |r| r.resume_exports(id).unwrap());
                self.up.insert(id, false);
            }
            Op::Round => self.round(),
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_member_is_sent_what_it_would_be_sent_on_its_own(ops in prop::collection::vec(op(), 1..80)) {
        let mut pair = Pair { plain: rib(), grouped: rib(), up: BTreeMap::new(), held: BTreeMap::new(), views: BTreeMap::new() };
        for op in &ops {
            pair.apply(op);
        }
        pair.apply(&Op::Round);
        pair.apply(&Op::Round);
    }

    #[test]
    fn members_that_come_back_take_their_table_from_the_kept_view(ops in prop::collection::vec(churn_op(), 1..120)) {
        let mut pair = Pair { plain: rib(), grouped: rib(), up: BTreeMap::new(), held: BTreeMap::new(), views: BTreeMap::new() };
        // Every peer up and grouped first.
        for id in 1..=PEERS {
            pair.apply(&Op::Up(id));
            pair.apply(&Op::Announce(id, id as usize, id % 3));
        }
        pair.apply(&Op::Round);
        for op in &ops {
            pair.apply(op);
        }
        pair.apply(&Op::Round);
        pair.apply(&Op::Round);
    }
}

#[test]
fn peers_of_one_kind_share_one_group_and_their_sources_are_left_out() {
    let mut pair = Pair {
        plain: rib(),
        grouped: rib(),
        up: BTreeMap::new(),
        held: BTreeMap::new(),
        views: BTreeMap::new(),
    };
    for id in [1, 2, 3, 7] {
        pair.apply(&Op::Up(id));
    }
    pair.apply(&Op::Round);
    // 1, 2 and 3 share a group (the loop check is per member); 7 has
    // another local address.
    let g = pair.grouped.export_group(1).unwrap();
    assert_eq!(pair.grouped.export_group(2), Some(g));
    assert_eq!(pair.grouped.export_group(3), Some(g));
    assert_ne!(pair.grouped.export_group(7), Some(g));
    assert_eq!(pair.grouped.shared_exports(), (1, 3));
    // A route from 3 goes to 1 and 2 through the shared batches, and 3
    // (its source) gets nothing; one from 1 through 3's AS goes to
    // neither 1 (its source), 2 (its AS) nor 3 (in the path).
    pair.apply(&Op::Announce(3, 0, 0));
    pair.apply(&Op::Announce(1, 1, 2));
    pair.grouped.regroup(|_| Some(0));
    let out = pair.grouped.drain_group(g);
    assert_eq!(out.members, vec![1, 2, 3]);
    assert_eq!(out.shared.len(), 2);
    assert_eq!(out.batches_for(1).len(), 1);
    assert_eq!(out.batches_for(2).len(), 1);
    assert!(out.batches_for(3).is_empty());
    assert_eq!(out.batches_for(1), out.batches_for(2));
    // 1 and 2 take the shared batch of 3's route, not copies (1's own
    // route is in the other shared batch, which 1 is not sent).
    let own: Vec<_> = out.own.iter().map(|(p, _)| *p).collect();
    assert_eq!(own, vec![1, 2, 3]);
    for (_, b) in out.own.iter().take(2) {
        assert!(
            matches!(b.as_slice(), [rib::MemberBatch::Shared(_)]),
            "{b:?}"
        );
    }
    for id in [1, 2, 3] {
        let want = pair.plain.drain_exports(id).unwrap();
        let (p, g) = pair.held.entry(id).or_default();
        receive(p, &want);
        receive(g, &out.batches_for(id));
    }
    pair.each(7, |r| r.drain_exports(7).unwrap());
    pair.apply(&Op::Round);
    // A blocked member leaves with its own copy, and comes back once it
    // has caught up.
    pair.apply(&Op::Block(2));
    assert_eq!(pair.grouped.export_group(2), None);
    pair.apply(&Op::Announce(1, 1, 0));
    pair.apply(&Op::Round);
    pair.apply(&Op::Unblock(2));
    pair.apply(&Op::Round);
    pair.apply(&Op::Round);
    assert_eq!(pair.grouped.export_group(2), Some(g));
}

#[test]
fn a_removed_source_leaves_no_count_behind_for_the_next_peer_in_its_slot() {
    let mut pair = Pair {
        plain: rib(),
        grouped: rib(),
        up: BTreeMap::new(),
        held: BTreeMap::new(),
        views: BTreeMap::new(),
    };
    for id in [1, 2, 3, 4] {
        pair.apply(&Op::Up(id));
    }
    pair.apply(&Op::Round);
    assert!(pair.grouped.export_group(3).is_some());
    // 3's routes carry its own AS: counted as left out of its view twice
    // over (source and AS), once they are in the group's view.
    pair.apply(&Op::Announce(3, 0, 0));
    pair.apply(&Op::Announce(3, 1, 0));
    pair.apply(&Op::Round);
    // Removed: its routes leave the group's view after it is gone.
    pair.apply(&Op::Remove(3));
    pair.apply(&Op::Round);
    // The next peer in its slot is sent (and counts) everything.
    pair.apply(&Op::Up(3));
    pair.apply(&Op::Announce(1, 2, 0));
    pair.apply(&Op::Round);
    pair.apply(&Op::Round);
    assert_eq!(pair.grouped.export_group(3), pair.grouped.export_group(1));
}

/// As in a cluster whose nodes all announce at once: each member of a
/// group of 40 announces one route in the same round. Each is left out
/// of its own route only, so it gets the shared batches as at most two
/// runs (around its own), not one entry per batch, and holds what it
/// would hold on its own.
#[test]
fn members_that_each_announce_get_the_shared_batches_as_runs() {
    const K: u32 = 40;
    let (mut plain, mut grouped) = (rib(), rib());
    for r in [&mut plain, &mut grouped] {
        for id in 1..=K {
            r.add_peer(peer(id, 65_100 + id)).unwrap();
        }
    }
    for id in 1..=K {
        plain.full_export(id).unwrap();
        grouped.full_export(id).unwrap();
    }
    grouped.regroup(|_| Some(0));
    let g = grouped.export_group(1).unwrap();
    for id in 1..=K {
        assert_eq!(grouped.export_group(id), Some(g));
        let pfx = format!("10.{id}.0.0/16");
        for r in [&mut plain, &mut grouped] {
            announce(r, id, &pfx, &[65_100 + id]);
        }
    }
    let out = grouped.drain_group(g);
    assert_eq!(out.shared.len(), K as usize);
    assert_eq!(out.own.len(), K as usize);
    for (id, list) in &out.own {
        assert!(list.len() <= 2, "peer {id}: {list:?}");
        let want = plain.drain_exports(*id).unwrap();
        let got = out.batches_for(*id);
        assert_eq!(routes(&got), routes(&want), "peer {id}");
        assert_eq!(routes(&got).len(), K as usize - 1);
    }
}
