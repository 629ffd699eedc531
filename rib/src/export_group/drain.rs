//! Draining an export group: its view updated once, the shared batches,
//! and the batches of members left out of some changed route.

use super::{loop_as, path_ases, ExportGroup, GroupExport, MemberBatch, NO_SOURCE};
use crate::attrs::RouteAttrs;
use crate::export::{Batcher, ExportBatch};
use crate::rib::{fam_idx, Core, Rib};
use crate::table::{FamilyTable, Key, BEST};
use hashbrown::HashMap;
use std::sync::Arc;

/// One route whose export changed in a group's drain: outgoing attribute
/// id and source slot before and after.
struct Change<K> {
    key: K,
    old: Option<(u32, u16)>,
    new: Option<(u32, u16)>,
    route: Option<Arc<RouteAttrs>>,
    /// With the loop check: the distinct ASes of the old and new AS_PATH.
    old_ases: Option<Arc<[u32]>>,
    new_ases: Option<Arc<[u32]>>,
}

impl<K> Change<K> {
    fn old_ases(&self) -> &[u32] {
        self.old_ases.as_deref().unwrap_or_default()
    }

    fn new_ases(&self) -> &[u32] {
        self.new_ases.as_deref().unwrap_or_default()
    }
}

/// An export result: outgoing attribute id and, from the memo, the
/// attributes.
type Exported = (u32, Option<Arc<RouteAttrs>>);

/// Where a drain's changes went among the shared batches.
struct SharedIndex {
    /// Per change, its batch.
    batch_of: Vec<Option<usize>>,
    /// The first of these batches in the drain's shared list.
    base: usize,
    /// Per batch (from `base`), the changes in it, in order.
    changes_of: Vec<Vec<u32>>,
    /// The batch of each announced attribute id.
    by_attr: HashMap<u32, usize>,
    /// The withdrawals' batch.
    withdraw: Option<usize>,
}

/// A member, and what it is not sent: routes from it and, with the loop
/// check, routes with its AS in their AS_PATH.
#[derive(Clone, Copy)]
struct Viewer {
    slot: u16,
    loop_as: Option<u32>,
}

impl Viewer {
    fn excludes(&self, x: Option<(u32, u16)>, ases: &[u32]) -> bool {
        x.is_some_and(|(_, src)| {
            src == self.slot || self.loop_as.is_some_and(|a| ases.binary_search(&a).is_ok())
        })
    }
}

/// Appends the shared batches `run`, unless it is empty.
fn push_run(out: &mut Vec<MemberBatch>, run: std::ops::Range<usize>) {
    if !run.is_empty() {
        out.push(MemberBatch::Shared(run));
    }
}

impl Core {
    /// Whether `slot` was sent route `id` (and not withdrawn): through its
    /// group's view for a member.
    pub(crate) fn sent<K: Key>(&self, t: &FamilyTable<K>, slot: u16, id: u32) -> bool {
        match self.groups.view(self, slot, K::FAMILY) {
            Some(v) => t
                .adj_get(usize::from(v.leader), id)
                .is_some_and(|a| v.sees(self, id, a)),
            None => t.adj_get(usize::from(slot), id).is_some(),
        }
    }

    /// Routes `slot` was sent and holds, of one family.
    pub(crate) fn advertised<K: Key>(&self, t: &FamilyTable<K>, slot: u16) -> usize {
        match self.groups.view(self, slot, K::FAMILY) {
            Some(v) => t
                .adj_len(usize::from(v.leader))
                .saturating_sub(v.left_out()),
            None => t.adj_len(usize::from(slot)),
        }
    }

    /// The routes of member `slot`'s view of one family, as batches.
    pub(super) fn view_batches<K: Key>(
        &mut self,
        t: &FamilyTable<K>,
        slot: u16,
        out: &mut Vec<ExportBatch>,
    ) {
        let Some(v) = self.groups.view(self, slot, K::FAMILY) else {
            return;
        };
        let cells = v.split(self, t.adj_ids(usize::from(v.leader)), true);
        let mut batcher = Batcher::new(self);
        for (id, a) in cells {
            if let Some(key) = t.key(id) {
                batcher.announce(key, a, || None);
            }
        }
        batcher.finish(self, out);
    }

    /// Drains one family of group `g` (taken out of the list): updates the
    /// group's view and returns the changes.
    fn drain_group_family<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        g: &mut ExportGroup,
    ) -> Vec<Change<K>> {
        let s = usize::from(g.leader);
        let Some(Some(cur)) = t.cursors.get(s).copied() else {
            return Vec::new();
        };
        let ids = t.pending_ids(cur);
        t.set_cursor(s, Some(t.log.len()));
        t.compact_log();
        let memo = self
            .peer(g.leader)
            .is_some_and(|p| !self.policies.prefix_dependent(p.export));
        let loop_check = g.key.ebgp && g.key.sender_as_loop_check;
        let fam = match g.fams.get_mut(fam_idx(K::FAMILY)) {
            Some(f) => f,
            None => return Vec::new(),
        };
        let mut changes = Vec::new();
        // The AS_PATH ASes of each attribute set met (for the loop check).
        let mut paths: HashMap<u32, Arc<[u32]>> = HashMap::new();
        let mut last_path: Option<(u32, Arc<[u32]>)> = None;
        // As in a peer's drain: runs of routes from one UPDATE share a
        // result.
        let mut last: Option<((u32, u16), Option<Exported>)> = None;
        for id in ids {
            let Some(key) = t.key(id) else { continue };
            let best = t
                .paths(id)
                .and_then(|l| l.as_slice().first())
                .filter(|e| e.has(BEST))
                .copied();
            let source = best.map(|e| (e.attr, e.peer));
            let desired = match (&last, source) {
                (Some((from, hit)), Some(src)) if *from == src && memo => {
                    if let Some((d, _)) = hit {
                        self.attrs.acquire(*d);
                    }
                    hit.clone()
                }
                _ => {
                    let r = self.export_id(best, g.leader, key, memo, true);
                    last = source.map(|src| (src, r.clone()));
                    r
                }
            };
            let new = desired.as_ref().zip(best).map(|((d, _), b)| (*d, b.peer));
            let old = t
                .adj_get(s, id)
                .map(|a| (a, fam.source(id).unwrap_or(NO_SOURCE)));
            if old == new {
                if let Some((d, _)) = new {
                    self.attrs.release(d);
                }
                continue;
            }
            let (mut old_ases, mut new_ases) = (None, None);
            if loop_check {
                for (x, ases, add) in [(old, &mut old_ases, false), (new, &mut new_ases, true)] {
                    if let Some((a, src)) = x {
                        let path = match &last_path {
                            Some((at, p)) if *at == a => p.clone(),
                            _ => {
                                let p = paths
                                    .entry(a)
                                    .or_insert_with(|| path_ases(self, a).into())
                                    .clone();
                                last_path = Some((a, p.clone()));
                                p
                            }
                        };
                        let own = self
                            .peer(src)
                            .is_some_and(|p| path.binary_search(&p.info.remote_as).is_ok());
                        fam.count_path(id, src, &path, own, add);
                        *ases = Some(path);
                    }
                }
            }
            if let Some(c) = t.adj_set(s, id, new.map(|(d, _)| d)) {
                // Its id may be freed and given to another set.
                paths.remove(&c);
                if last_path.as_ref().is_some_and(|(at, _)| *at == c) {
                    last_path = None;
                }
                self.attrs.release(c);
            }
            fam.set_source(id, new.map(|(_, src)| src));
            if let Some(touched) = fam.touched.as_mut() {
                let (was, is) = (old.map(|x| x.0), new.map(|x| x.0));
                if was != is {
                    touched.touch(was);
                    touched.touch(is);
                }
            }
            changes.push(Change {
                key,
                old,
                new,
                route: desired.and_then(|(_, r)| r),
                old_ases,
                new_ases,
            });
        }
        changes
    }

    /// The shared batches of `changes` (what a member left out of none
    /// of them is sent), appended to `out`, and where each change went.
    fn shared_batches<K: Key>(
        &mut self,
        changes: &[Change<K>],
        out: &mut Vec<ExportBatch>,
    ) -> SharedIndex {
        let mut batcher = Batcher::new(self);
        // Announcement group, or `usize::MAX` for the withdrawals.
        let mut at = Vec::with_capacity(changes.len());
        for c in changes {
            at.push(match (c.old.map(|x| x.0), c.new.map(|x| x.0)) {
                (a, b) if a == b => None,
                (_, Some(d)) => Some(batcher.announce(c.key, d, || c.route.clone())),
                (Some(_), None) => {
                    batcher.withdraw(c.key);
                    Some(usize::MAX)
                }
                (None, None) => None,
            });
        }
        let base = out.len();
        let withdraw = batcher.withdraws().then_some(base);
        let announce_base = base + usize::from(withdraw.is_some());
        batcher.finish(self, out);
        let batch_of: Vec<Option<usize>> = at
            .into_iter()
            .map(|x| {
                x.map(|g| {
                    if g == usize::MAX {
                        base
                    } else {
                        announce_base + g
                    }
                })
            })
            .collect();
        let mut by_attr = HashMap::new();
        let mut changes_of = vec![Vec::new(); out.len() - base];
        for ((i, c), b) in (0u32..).zip(changes).zip(&batch_of) {
            if let (Some((d, _)), Some(b)) = (c.new, b) {
                by_attr.entry(d).or_insert(*b);
            }
            if let Some(list) = b.and_then(|b| changes_of.get_mut(b - base)) {
                list.push(i);
            }
        }
        SharedIndex {
            batch_of,
            base,
            changes_of,
            by_attr,
            withdraw,
        }
    }

    /// The batches of `viewer`, a member left out of `left_out` (indices
    /// into `changes`, sorted): the shared batches none of those changes
    /// is in, then its own for the rest (what a peer on its own would be
    /// sent). The work is that of the member's changes and the batches
    /// they touch, not of the whole drain: in a drain where a thousand
    /// members each announced a route, each is left out of one.
    fn member_batches<K: Key>(
        &mut self,
        changes: &[Change<K>],
        index: &SharedIndex,
        shared: std::ops::Range<usize>,
        viewer: Viewer,
        left_out: &[u32],
        out: &mut Vec<MemberBatch>,
    ) {
        let batch_of = &index.batch_of;
        let excluded = |c: &Change<K>| {
            viewer.excludes(c.old, c.old_ases()) || viewer.excludes(c.new, c.new_ases())
        };
        let seen = |x: Option<(u32, u16)>, ases: &[u32]| {
            if viewer.excludes(x, ases) {
                None
            } else {
                x.map(|(a, _)| a)
            }
        };
        // The shared batches holding a change the viewer sees otherwise,
        // and those its own changes join (one batch per attribute set).
        let mut affected: Vec<usize> = Vec::new();
        // Runs of changes share a batch: skip repeats before sorting.
        let mut note = |b: usize| {
            if affected.last() != Some(&b) {
                affected.push(b);
            }
        };
        let at = |i: u32| {
            let i = i as usize;
            changes.get(i).zip(batch_of.get(i))
        };
        for (c, b) in left_out.iter().filter_map(|&i| at(i)) {
            if !excluded(c) {
                continue;
            }
            if let Some(b) = *b {
                note(b);
            }
            match (seen(c.old, c.old_ases()), seen(c.new, c.new_ases())) {
                (a, b) if a == b => {}
                (_, Some(d)) => {
                    if let Some(&b) = index.by_attr.get(&d) {
                        note(b);
                    }
                }
                (Some(_), None) => {
                    if let Some(b) = index.withdraw {
                        note(b);
                    }
                }
                (None, None) => {}
            }
        }
        affected.sort_unstable();
        affected.dedup();
        // The changes to redo, in drain order: those of the affected
        // batches, and the member's own that are in no batch.
        let mut redo: Vec<u32> = affected
            .iter()
            .filter_map(|b| index.changes_of.get(b.checked_sub(index.base)?))
            .flatten()
            .copied()
            .collect();
        redo.extend(
            left_out
                .iter()
                .copied()
                .filter(|&i| at(i).is_some_and(|(c, b)| b.is_none() && excluded(c))),
        );
        redo.sort_unstable();
        redo.dedup();
        let mut batcher = Batcher::new(self);
        for c in redo.iter().filter_map(|&i| changes.get(i as usize)) {
            match (seen(c.old, c.old_ases()), seen(c.new, c.new_ases())) {
                (a, b) if a == b => {}
                (_, Some(d)) => {
                    batcher.announce(c.key, d, || c.route.clone());
                }
                (Some(_), None) => batcher.withdraw(c.key),
                (None, None) => {}
            }
        }
        let mut own = Vec::new();
        batcher.finish(self, &mut own);
        let mut own = own.into_iter().peekable();
        // Withdrawals first, as on its own.
        if let Some(w) = own.next_if(|b| matches!(b, ExportBatch::Withdraw { .. })) {
            out.push(MemberBatch::Own(w));
        }
        // The shared batches around the affected ones, as runs.
        let mut start = shared.start;
        for &a in affected.iter().filter(|a| shared.contains(a)) {
            push_run(out, start..a);
            start = a + 1;
        }
        push_run(out, start..shared.end);
        out.extend(own.map(MemberBatch::Own));
    }

    /// The members `changes` leave out of some route (its sources and,
    /// with the loop check, members of an AS in its AS_PATH), each with
    /// the changes it is left out of (indices, sorted).
    fn involved<K: Key>(
        changes: &[Change<K>],
        members: &[u16],
        by_as: &HashMap<u32, Vec<u16>>,
    ) -> HashMap<u16, Vec<u32>> {
        let mut v: HashMap<u16, Vec<u32>> = HashMap::new();
        for (i, c) in (0u32..).zip(changes) {
            let sources = [c.old, c.new].into_iter().flatten().map(|(_, s)| s);
            for s in sources.filter(|s| members.binary_search(s).is_ok()) {
                v.entry(s).or_default().push(i);
            }
            for a in c.old_ases().iter().chain(c.new_ases()) {
                for &m in by_as.get(a).map_or(&[][..], Vec::as_slice) {
                    v.entry(m).or_default().push(i);
                }
            }
        }
        for list in v.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        v
    }
}

impl Rib {
    /// What group `group`'s members need since its last drain: every
    /// member is sent what it would be sent on its own (the same routes;
    /// a member's own batches may come in another order). The group's view
    /// is updated as if they were sent.
    pub fn drain_group(&mut self, group: u32) -> GroupExport {
        let Some(mut grp) = self
            .core
            .groups
            .list
            .get_mut(group as usize)
            .and_then(Option::take)
        else {
            return GroupExport::default();
        };
        let c4 = self.core.drain_group_family(&mut self.v4, &mut grp);
        let c6 = self.core.drain_group_family(&mut self.v6, &mut grp);
        let mut shared = Vec::new();
        let at4 = self.core.shared_batches(&c4, &mut shared);
        let mid = shared.len();
        let at6 = self.core.shared_batches(&c6, &mut shared);
        let end = shared.len();
        // Members by AS, for the loop check.
        let mut by_as: HashMap<u32, Vec<u16>> = HashMap::new();
        for &m in &grp.members {
            if let Some(a) = loop_as(&self.core, &grp, m) {
                by_as.entry(a).or_default().push(m);
            }
        }
        let in4 = Core::involved(&c4, &grp.members, &by_as);
        let in6 = Core::involved(&c6, &grp.members, &by_as);
        let mut involved: Vec<u16> = in4.keys().chain(in6.keys()).copied().collect();
        involved.sort_unstable();
        involved.dedup();
        let mut own = Vec::with_capacity(involved.len());
        for slot in involved {
            let viewer = Viewer {
                slot,
                loop_as: loop_as(&self.core, &grp, slot),
            };
            let mut b = Vec::new();
            match in4.get(&slot) {
                Some(l) => self
                    .core
                    .member_batches(&c4, &at4, 0..mid, viewer, l, &mut b),
                None => push_run(&mut b, 0..mid),
            }
            match in6.get(&slot) {
                Some(l) => self
                    .core
                    .member_batches(&c6, &at6, mid..end, viewer, l, &mut b),
                None => push_run(&mut b, mid..end),
            }
            if let Some(p) = self.core.peer(slot) {
                own.push((p.info.id, b));
            }
        }
        own.sort_unstable_by_key(|(p, _)| *p);
        let mut members: Vec<u32> = grp
            .members
            .iter()
            .filter_map(|&m| self.core.peer(m).map(|p| p.info.id))
            .collect();
        members.sort_unstable();
        if let Some(cell) = self.core.groups.list.get_mut(group as usize) {
            *cell = Some(grp);
        }
        GroupExport {
            members,
            shared,
            own,
        }
    }
}
