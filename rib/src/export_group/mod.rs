//! Export groups (update groups, as FRR and GoBGP call them): peers that
//! would be sent the same routes with the same attributes share one
//! Adj-RIB-Out, one drain of the change log and one set of export batches.
//! A change then costs one export computation however many peers take it,
//! and the memory grows with the table, not with table × peers.
//!
//! A group's state lives in the slot of one member, its leader: the
//! Adj-RIB-Out of the group's view (every best path exported, those a
//! member sent us included) and the log cursors; the other members hold
//! no cells and no cursor. Beside each cell the group keeps the slot of the
//! path's source, since a route is never sent back to the peer it came
//! from: a member's view is the group's minus the routes it is the source
//! of. When a drain's changes involve a member as a source (before or
//! after), that member gets batches of its own, computed from the same
//! changes by the rule a peer on its own follows; the others get the
//! shared batches. Either way each member is sent exactly what it would
//! be sent on its own.
//!
//! A new session joins at once ([`Rib::join_established`](crate::Rib::join_established)): its initial
//! table is its view of the group's. Others join at [`Rib::regroup`], once
//! they and their group have drained every change (their Adj-RIB-Outs
//! then agree). A member leaves ([`Rib::leave_group`])
//! when it needs exports of its own (its write queue is full, it asked for
//! a route refresh, its policy changed): it gets a copy of its view and
//! drains on its own until it can join again. ADD-PATH and
//! default-originate peers never join.

use crate::export::ExportBatch;
use crate::policy_eval::PolicyId;
use crate::rib::{fam_idx, Core, PeerState};

use bgp_proto::types::Family;
use hashbrown::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

mod drain;
mod membership;
mod view_sets;

pub(crate) use view_sets::TouchedSets;

/// What a peer's exports depend on besides the route: peers with equal
/// keys are sent the same routes with the same attributes, encoded alike.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct GroupKey {
    export: PolicyId,
    ebgp: bool,
    next_hop_unchanged: bool,
    extended_next_hop: bool,
    route_reflector_client: bool,
    sender_as_loop_check: bool,
    /// The peer's AS, only when the export policy looks at it.
    peer_as: Option<u32>,
    local_v4: Option<Ipv4Addr>,
    local_v6: Option<Ipv6Addr>,
    v4: bool,
    v6: bool,
    /// The caller's tag for how the session encodes UPDATEs.
    encoding: u64,
}

impl GroupKey {
    fn of(core: &Core, p: &PeerState, encoding: u64) -> GroupKey {
        // The sender-side loop check is per member (see `Viewer`).
        let as_matters = core.policies.peer_as_dependent(p.export);
        GroupKey {
            export: p.export,
            ebgp: p.ebgp,
            next_hop_unchanged: p.info.next_hop_unchanged,
            extended_next_hop: p.info.extended_next_hop,
            route_reflector_client: p.info.route_reflector_client,
            sender_as_loop_check: p.info.sender_as_loop_check,
            peer_as: as_matters.then_some(p.info.remote_as),
            local_v4: p.info.local_v4,
            local_v6: p.info.local_v6,
            v4: p.info.families.contains(&Family::IPV4_UNICAST),
            v6: p.info.families.contains(&Family::IPV6_UNICAST),
            encoding,
        }
    }
}

/// Peers of a kind that found a group. Two gain little from sharing and
/// pay the group's bookkeeping on every change (a table from one peer to
/// one other: BENCHMARKS.md); a group, once founded, lasts down to two.
const FOUNDERS: usize = 3;

/// A source column entry for no route.
const NO_SOURCE: u16 = u16::MAX;

/// One family of a group: per route id, the slot of the source of the
/// path whose export the leader's cell holds.
#[derive(Debug, Default)]
pub(crate) struct GroupFamily {
    src: Vec<u16>,
    /// Cells per source slot: what a member's view lacks.
    by_source: HashMap<u16, usize>,
    /// With the sender-side loop check, what members' views lack too:
    /// cells per AS in their AS_PATH, and cells whose AS_PATH holds their
    /// own source's AS (counted in both maps above).
    by_as: HashMap<u32, usize>,
    by_source_own_as: HashMap<u16, usize>,
    /// Per route id, whether its cell was counted in `by_source_own_as`.
    own_bits: Vec<u64>,
    /// The outgoing attribute sets whose cells changed since a caller that
    /// keeps the view encoded last asked (`None` until one asks).
    touched: Option<TouchedSets>,
}

/// Adds one to `key`'s count (`add`) or takes one away.
fn bump<K: std::hash::Hash + Eq>(map: &mut HashMap<K, usize>, key: K, add: bool) {
    if add {
        *map.entry(key).or_default() += 1;
    } else if let Some(n) = map.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            map.remove(&key);
        }
    }
}

impl GroupFamily {
    /// The source of the route `id` in the group's view.
    pub(crate) fn source(&self, id: u32) -> Option<u16> {
        self.src
            .get(id as usize)
            .copied()
            .filter(|&s| s != NO_SOURCE)
    }

    fn set_source(&mut self, id: u32, src: Option<u16>) {
        let i = id as usize;
        if self.src.len() <= i {
            if src.is_none() {
                return;
            }
            self.src.resize(i + 1, NO_SOURCE);
        }
        let Some(cell) = self.src.get_mut(i) else {
            return;
        };
        let old = std::mem::replace(cell, src.unwrap_or(NO_SOURCE));
        if old != NO_SOURCE {
            bump(&mut self.by_source, old, false);
        }
        if let Some(s) = src {
            bump(&mut self.by_source, s, true);
        }
    }

    /// Counts (`add`) or uncounts cell `id`'s AS_PATH for the loop check:
    /// `ases` its distinct ASes, `own` whether they hold its source's AS
    /// (kept per cell: when it is uncounted its source may be gone).
    fn count_path(&mut self, id: u32, src: u16, ases: &[u32], own: bool, add: bool) {
        for &a in ases {
            bump(&mut self.by_as, a, add);
        }
        let (w, bit) = (id as usize / 64, 1u64 << (id % 64));
        let was = self.own_bits.get(w).is_some_and(|b| b & bit != 0);
        if add && own {
            if self.own_bits.len() <= w {
                self.own_bits.resize(w + 1, 0);
            }
            if let Some(b) = self.own_bits.get_mut(w) {
                *b |= bit;
            }
            bump(&mut self.by_source_own_as, src, true);
        } else if !add && was {
            if let Some(b) = self.own_bits.get_mut(w) {
                *b &= !bit;
            }
            bump(&mut self.by_source_own_as, src, false);
        }
    }

    /// Routes of the view with AS `asn` in their path.
    fn with_as(&self, asn: u32) -> usize {
        self.by_as.get(&asn).copied().unwrap_or(0)
    }

    /// Routes of the group's view that member `slot` is not sent: those
    /// it is the source of and, with the loop check (`loop_as`: its AS),
    /// those whose AS_PATH holds its AS.
    pub(crate) fn left_out(&self, slot: u16, loop_as: Option<u32>) -> usize {
        let from = self.by_source.get(&slot).copied().unwrap_or(0);
        match loop_as {
            None => from,
            Some(a) => {
                let with_as = self.with_as(a);
                // Counted with the AS of the routes' source: until the
                // next drain a peer that took a removed one's slot may
                // have another.
                let both = self
                    .by_source_own_as
                    .get(&slot)
                    .copied()
                    .unwrap_or(0)
                    .min(with_as);
                from + with_as - both
            }
        }
    }
}

/// Peers sharing one Adj-RIB-Out.
#[derive(Debug)]
pub(crate) struct ExportGroup {
    key: GroupKey,
    /// The slot holding the group's Adj-RIB-Out and cursors.
    leader: u16,
    /// Member slots, sorted (the leader among them).
    members: Vec<u16>,
    fams: [GroupFamily; 2],
    /// `Groups::founded` when the group was founded: names it apart from
    /// a later group in the same place of the list.
    founded: u64,
}

/// Every export group.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    list: Vec<Option<ExportGroup>>,
    index: HashMap<GroupKey, u32>,
    /// Per peer slot, its group.
    of_slot: Vec<Option<u32>>,
    /// Counts the groups ever founded.
    founded: u64,
}

impl Groups {
    /// The group of a peer slot.
    pub(crate) fn of(&self, slot: u16) -> Option<u32> {
        self.of_slot.get(usize::from(slot)).copied().flatten()
    }

    fn get(&self, g: u32) -> Option<&ExportGroup> {
        self.list.get(g as usize).and_then(Option::as_ref)
    }

    /// For a member: how to read its view of the Adj-RIB-Out of `family`
    /// from its group's.
    pub(crate) fn view<'a>(
        &'a self,
        core: &Core,
        slot: u16,
        family: Family,
    ) -> Option<MemberView<'a>> {
        let g = self.get(self.of(slot)?)?;
        Some(MemberView {
            leader: g.leader,
            slot,
            fam: g.fams.get(fam_idx(family))?,
            loop_as: loop_as(core, g, slot),
        })
    }

    /// The slot whose cursors hold `slot`'s exports: its group's leader.
    pub(crate) fn exporting_slot(&self, slot: u16) -> u16 {
        self.of(slot)
            .and_then(|g| self.get(g))
            .map_or(slot, |g| g.leader)
    }

    fn set_of(&mut self, slot: u16, g: Option<u32>) {
        let s = usize::from(slot);
        if self.of_slot.len() <= s {
            self.of_slot.resize(s + 1, None);
        }
        if let Some(cell) = self.of_slot.get_mut(s) {
            *cell = g;
        }
    }
}

/// The AS of member `slot` when its group's members are eBGP peers with
/// the sender-side loop check.
fn loop_as(core: &Core, g: &ExportGroup, slot: u16) -> Option<u32> {
    if !(g.key.ebgp && g.key.sender_as_loop_check) {
        return None;
    }
    core.peer(slot).map(|p| p.info.remote_as)
}

/// The distinct ASes of an outgoing attribute set's AS_PATH.
fn path_ases(core: &Core, attr: u32) -> Vec<u32> {
    let mut v = core.attrs.as_path_asns(attr);
    v.sort_unstable();
    v.dedup();
    v
}

/// A member's view of its group's Adj-RIB-Out of one family.
pub(crate) struct MemberView<'a> {
    /// The slot holding the group's cells.
    pub leader: u16,
    slot: u16,
    fam: &'a GroupFamily,
    loop_as: Option<u32>,
}

impl MemberView<'_> {
    /// Whether the member is sent the group's cell `id` holding `attr`.
    pub(crate) fn sees(&self, core: &Core, id: u32, attr: u32) -> bool {
        self.fam.source(id) != Some(self.slot)
            && self
                .loop_as
                .is_none_or(|a| path_ases(core, attr).binary_search(&a).is_err())
    }

    /// The cells of `cells` the member is sent (`sent`) or not: each
    /// attribute set's AS_PATH is read once, not once per cell.
    pub(crate) fn split(
        &self,
        core: &Core,
        cells: impl Iterator<Item = (u32, u32)>,
        sent: bool,
    ) -> Vec<(u32, u32)> {
        let mut by_attr: HashMap<u32, bool> = HashMap::new();
        cells
            .filter(|&(id, a)| {
                let sees = self.fam.source(id) != Some(self.slot)
                    && self.loop_as.is_none_or(|asn| {
                        *by_attr
                            .entry(a)
                            .or_insert_with(|| path_ases(core, a).binary_search(&asn).is_err())
                    });
                sees == sent
            })
            .collect()
    }

    /// Cells of the group's view the member is not sent.
    pub(crate) fn left_out(&self) -> usize {
        self.fam.left_out(self.slot, self.loop_as)
    }
}

/// What one drain of an export group gives its members.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GroupExport {
    /// The members' peer ids, sorted.
    pub members: Vec<u32>,
    /// The batches of every member not in `own`.
    pub shared: Vec<ExportBatch>,
    /// Members left out of some changed route (its source, or of an AS
    /// in its path): what they get instead, by peer id.
    pub own: Vec<(u32, Vec<MemberBatch>)>,
}

/// How a just-established peer joined its group
/// ([`Rib::join_established`](crate::Rib::join_established)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupJoin {
    /// The group.
    pub group: u32,
    /// Tells the group apart from an earlier or later one of the same
    /// number ([`Rib::group_founded`](crate::Rib::group_founded)).
    pub founded: u64,
    /// The group had drained every change: the view is the table's. If
    /// not, the rest comes with the group's next drain (send End-of-RIB
    /// after that).
    pub caught_up: bool,
}

/// One batch of a member's own export: one of the shared batches, or one
/// of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberBatch {
    /// `shared[r]`: a run of consecutive shared batches (a member is left
    /// out of few, so its list stays short however many there are).
    Shared(std::ops::Range<usize>),
    /// A batch for this member only.
    Own(ExportBatch),
}

impl GroupExport {
    /// The batches for member `peer`, as owned values (for tests and
    /// callers that do not share encodings).
    pub fn batches_for(&self, peer: u32) -> Vec<ExportBatch> {
        match self.own.binary_search_by_key(&peer, |(p, _)| *p) {
            Ok(i) => self.own.get(i).map_or_else(Vec::new, |(_, b)| {
                b.iter()
                    .flat_map(|m| match m {
                        MemberBatch::Shared(r) => {
                            self.shared.get(r.clone()).unwrap_or_default().to_vec()
                        }
                        MemberBatch::Own(b) => vec![b.clone()],
                    })
                    .collect()
            }),
            Err(_) => self.shared.clone(),
        }
    }
}
