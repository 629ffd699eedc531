//! Joining and leaving export groups, and founding them.

use super::{
    loop_as, path_ases, ExportGroup, GroupFamily, GroupJoin, GroupKey, MemberView, FOUNDERS,
};
use crate::export::ExportBatch;
use crate::rib::{Core, PeerState, Rib, RibError};
use crate::table::{FamilyTable, Key, BEST};
use hashbrown::HashMap;

/// Whether peer `slot` may share its exports: up, sent only best paths
/// (no ADD-PATH), no default route of ours instead of the table's, not
/// the originated routes' pseudo-peer.
fn shareable(core: &Core, slot: u16, p: &PeerState) -> bool {
    p.up && !p.info.default_originate
        && !crate::peers::adds_paths(&p.info)
        && Some(slot) != core.local_slot
}

impl Core {
    /// Fills the view of a new group led by the caught-up solo `slot`:
    /// the source of every route it holds, and the routes it is not sent
    /// (its own, and with the loop check those with its AS).
    fn found_group_family<K: Key>(
        &mut self,
        t: &mut FamilyTable<K>,
        slot: u16,
        loop_check: bool,
        fam: &mut GroupFamily,
    ) {
        let s = usize::from(slot);
        if t.cursors.get(s).copied().flatten().is_none() {
            return;
        }
        let memo = self
            .peer(slot)
            .is_some_and(|p| !self.policies.prefix_dependent(p.export));
        for id in 0..t.slot_count() {
            let Some(best) = t
                .paths(id)
                .and_then(|l| l.as_slice().first())
                .filter(|e| e.has(BEST))
                .copied()
            else {
                continue;
            };
            let attr = match t.adj_get(s, id) {
                Some(a) => a,
                None => {
                    let Some(key) = t.key(id) else { continue };
                    let Some((d, _)) = self.export_id(Some(best), slot, key, memo, true) else {
                        continue;
                    };
                    t.adj_set(s, id, Some(d));
                    d
                }
            };
            fam.set_source(id, Some(best.peer));
            if loop_check {
                let ases = path_ases(self, attr);
                let own = self
                    .peer(best.peer)
                    .is_some_and(|p| ases.binary_search(&p.info.remote_as).is_ok());
                fam.count_path(id, best.peer, &ases, own, true);
            }
        }
    }

    /// Removes from a lone leader's view the routes it is not sent.
    fn strip_own<K: Key>(&mut self, t: &mut FamilyTable<K>, view: &MemberView) {
        let s = usize::from(view.slot);
        let own: Vec<u32> = view
            .split(self, t.adj_ids(s), false)
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        for id in own {
            if let Some(c) = t.adj_set(s, id, None) {
                self.attrs.release(c);
            }
        }
    }

    /// Gives the non-leader `slot` its own copy of its view of the group
    /// led by `leader`, and the leader's cursor.
    fn copy_view<K: Key>(&mut self, t: &mut FamilyTable<K>, view: &MemberView) {
        let (l, s) = (usize::from(view.leader), usize::from(view.slot));
        let cells = view.split(self, t.adj_ids(l), true);
        for (id, attr) in cells {
            self.attrs.acquire(attr);
            if let Some(c) = t.adj_set(s, id, Some(attr)) {
                self.attrs.release(c);
            }
        }
        let cursor = t.cursors.get(l).copied().flatten();
        t.set_cursor(s, cursor);
    }
}

impl Rib {
    /// Puts `peer`, whose session was just established (after
    /// [`Rib::add_peer`]), straight into the export group of its kind if
    /// there is one: its initial table is then its view of the group's
    /// ([`Rib::group_view`]), and the group's changes not yet drained come
    /// with the group's next drain, not a table computed for it alone.
    /// `None` when it has no group yet or cannot share (then
    /// [`Rib::full_export`] as usual).
    pub fn join_established(&mut self, peer: u32, encoding: u64) -> Option<GroupJoin> {
        let slot = self.core.slot_of(peer).ok()?;
        let p = self.core.peer(slot)?;
        let shareable = shareable(&self.core, slot, p);
        let s = usize::from(slot);
        if !shareable
            || self.core.groups.of(slot).is_some()
            || self.v4.adj_len(s) > 0
            || self.v6.adj_len(s) > 0
        {
            return None;
        }
        let key = GroupKey::of(&self.core, p, encoding);
        let g = self.core.groups.index.get(&key).copied()?;
        let grp = self.core.groups.get(g)?;
        let founded = grp.founded;
        let l = usize::from(grp.leader);
        let caught_up = self.v4.caught_up(l) && self.v6.caught_up(l);
        self.enlist(slot, g);
        Some(GroupJoin {
            group: g,
            founded,
            caught_up,
        })
    }

    /// Every route of `peer`'s view of its group's Adj-RIB-Out (its
    /// initial table after [`Rib::join_established`]), computed whole: what
    /// the sets of [`Rib::group_view_sets`] and [`Rib::member_view_sets`]
    /// add up to for a caller that keeps the view encoded.
    pub fn group_view(&mut self, peer: u32) -> Result<Vec<ExportBatch>, RibError> {
        let slot = self.core.slot_of(peer)?;
        let mut out = Vec::new();
        self.core.view_batches(&self.v4, slot, &mut out);
        self.core.view_batches(&self.v6, slot, &mut out);
        Ok(out)
    }

    /// Puts every solo peer that `ready` gives an encoding tag for (its
    /// exports may be shared) into the export group of its kind, once it
    /// and the group have drained every change; three such peers of a
    /// kind with no group yet found one. Call after an export round, when the
    /// peers that could drain have.
    pub fn regroup(&mut self, ready: impl Fn(u32) -> Option<u64>) {
        // Peers of a kind with no group yet: three found one.
        let mut founders: HashMap<GroupKey, Vec<u16>> = HashMap::new();
        for slot in 0..self.core.peers.len() {
            let Ok(slot) = u16::try_from(slot) else { break };
            if self.core.groups.of(slot).is_some() {
                continue;
            }
            let Some(p) = self.core.peer(slot) else {
                continue;
            };
            let shareable = shareable(&self.core, slot, p);
            if !shareable {
                continue;
            }
            let Some(encoding) = ready(p.info.id) else {
                continue;
            };
            let key = GroupKey::of(&self.core, p, encoding);
            let s = usize::from(slot);
            match self.core.groups.index.get(&key).copied() {
                Some(g) => self.join(slot, g),
                None if self.v4.caught_up(s) && self.v6.caught_up(s) => {
                    founders.entry(key).or_default().push(slot);
                }
                None => {}
            }
        }
        for (key, slots) in founders {
            let [first, rest @ ..] = slots.as_slice() else {
                continue;
            };
            if slots.len() < FOUNDERS {
                continue;
            }
            if let Some(g) = self.found(*first, key) {
                for &slot in rest {
                    self.join(slot, g);
                }
            }
        }
    }

    /// Adds the solo `slot` to group `g` if both have drained every
    /// change: their views then agree, so the peer's own Adj-RIB-Out goes.
    /// (Not merely the same point of the log: a peer that left because its
    /// queue filled would rejoin between two fillings, and copy its view
    /// out again at the next.)
    fn join(&mut self, slot: u16, g: u32) {
        let Some(leader) = self.core.groups.get(g).map(|g| g.leader) else {
            return;
        };
        let (l, s) = (usize::from(leader), usize::from(slot));
        if !(self.v4.caught_up(l)
            && self.v6.caught_up(l)
            && self.v4.caught_up(s)
            && self.v6.caught_up(s))
        {
            return;
        }
        self.enlist(slot, g);
    }

    /// Makes `slot` a member of group `g`: its own Adj-RIB-Out (which
    /// agrees with its view of the group's) and cursors go.
    fn enlist(&mut self, slot: u16, g: u32) {
        let s = usize::from(slot);
        for id in self.v4.adj_clear(s) {
            self.core.attrs.release(id);
        }
        for id in self.v6.adj_clear(s) {
            self.core.attrs.release(id);
        }
        self.v4.set_cursor(s, None);
        self.v6.set_cursor(s, None);
        self.v4.compact_log();
        self.v6.compact_log();
        if let Some(Some(grp)) = self.core.groups.list.get_mut(g as usize) {
            if let Err(at) = grp.members.binary_search(&slot) {
                grp.members.insert(at, slot);
            }
        }
        self.core.groups.set_of(slot, Some(g));
    }

    /// Makes the caught-up solo `slot` the leader of a new group.
    fn found(&mut self, slot: u16, key: GroupKey) -> Option<u32> {
        let mut fams = [GroupFamily::default(), GroupFamily::default()];
        let [f4, f6] = &mut fams;
        let loop_check = key.ebgp && key.sender_as_loop_check;
        self.core
            .found_group_family(&mut self.v4, slot, loop_check, f4);
        self.core
            .found_group_family(&mut self.v6, slot, loop_check, f6);
        let groups = &mut self.core.groups;
        let g = match groups.list.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                groups.list.push(None);
                groups.list.len() - 1
            }
        };
        let g32 = u32::try_from(g).ok()?;
        if let Some(cell) = groups.list.get_mut(g) {
            groups.founded += 1;
            *cell = Some(ExportGroup {
                key: key.clone(),
                leader: slot,
                members: vec![slot],
                fams,
                founded: groups.founded,
            });
        }
        groups.index.insert(key, g32);
        groups.set_of(slot, Some(g32));
        Some(g32)
    }

    /// Takes `peer` out of its export group, if it is in one, with its
    /// own copy of what it was sent; it drains on its own from then on
    /// (until [`Rib::regroup`] puts it back).
    pub fn leave_group(&mut self, peer: u32) -> Result<(), RibError> {
        let slot = self.core.slot_of(peer)?;
        self.leave(slot, true);
        Ok(())
    }

    /// Takes `slot` out of its group; with `keep`, it keeps its view
    /// (else it is going down and its Adj-RIB-Out goes anyway).
    pub(crate) fn leave(&mut self, slot: u16, keep: bool) {
        let Some(g) = self.core.groups.of(slot) else {
            return;
        };
        self.core.groups.set_of(slot, None);
        let Some(mut grp) = self
            .core
            .groups
            .list
            .get_mut(g as usize)
            .and_then(Option::take)
        else {
            return;
        };
        grp.members.retain(|&m| m != slot);
        if let Some(&heir) = grp.members.first() {
            if grp.leader == slot {
                // The group's state moves to another member.
                let (a, b) = (usize::from(slot), usize::from(heir));
                self.v4.adj_swap(a, b);
                self.v6.adj_swap(a, b);
                grp.leader = heir;
            }
            if keep {
                self.view_out(&grp, slot, false);
            }
        } else if keep {
            self.view_out(&grp, slot, true);
        }
        if grp.members.len() > 1 {
            if let Some(cell) = self.core.groups.list.get_mut(g as usize) {
                *cell = Some(grp);
            }
            return;
        }
        // One member left, or none: the group goes. A lone member would
        // keep up a view for nobody else (and the peers a table comes from
        // are members that are sent none of it).
        if let Some(&last) = grp.members.first() {
            self.core.groups.set_of(last, None);
            self.view_out(&grp, last, true);
        }
        if self.core.groups.index.get(&grp.key) == Some(&g) {
            self.core.groups.index.remove(&grp.key);
        }
    }

    /// Gives member `slot` of `grp` its view as its own Adj-RIB-Out: the
    /// leader's cells minus what it is not sent (`lone`: it is the leader
    /// and keeps them), else a copy.
    fn view_out(&mut self, grp: &ExportGroup, slot: u16, lone: bool) {
        let loop_as = loop_as(&self.core, grp, slot);
        let [f4, f6] = &grp.fams;
        for (fam, v4) in [(f4, true), (f6, false)] {
            let view = MemberView {
                leader: grp.leader,
                slot,
                fam,
                loop_as,
            };
            match (lone, v4) {
                (true, true) => self.core.strip_own(&mut self.v4, &view),
                (true, false) => self.core.strip_own(&mut self.v6, &view),
                (false, true) => self.core.copy_view(&mut self.v4, &view),
                (false, false) => self.core.copy_view(&mut self.v6, &view),
            }
        }
    }

    /// The export group of `peer`, if it is in one.
    pub fn export_group(&self, peer: u32) -> Option<u32> {
        self.core.groups.of(self.core.slot_of(peer).ok()?)
    }

    /// Export groups with more than one member, and the peers in them.
    pub fn shared_exports(&self) -> (usize, usize) {
        self.core
            .groups
            .list
            .iter()
            .flatten()
            .filter(|g| g.members.len() > 1)
            .fold((0, 0), |(n, m), g| (n + 1, m + g.members.len()))
    }

    /// After a policy change: members whose kind changed leave their
    /// group, and a group whose leader's kind changed is filed again.
    pub(crate) fn recheck_groups(&mut self) {
        let mut leaving = Vec::new();
        for g in 0..self.core.groups.list.len() {
            let Some(Some(grp)) = self.core.groups.list.get(g) else {
                continue;
            };
            let Some(leader) = self.core.peer(grp.leader) else {
                continue;
            };
            let key = GroupKey::of(&self.core, leader, grp.key.encoding);
            for &m in &grp.members {
                let same = self
                    .core
                    .peer(m)
                    .is_some_and(|p| GroupKey::of(&self.core, p, grp.key.encoding) == key);
                if !same {
                    leaving.push(m);
                }
            }
            if key != grp.key {
                let old = grp.key.clone();
                let g32 = u32::try_from(g).unwrap_or(u32::MAX);
                let groups = &mut self.core.groups;
                if groups.index.get(&old) == Some(&g32) {
                    groups.index.remove(&old);
                }
                groups.index.entry(key.clone()).or_insert(g32);
                if let Some(Some(grp)) = groups.list.get_mut(g) {
                    grp.key = key;
                }
            }
        }
        for m in leaving {
            self.leave(m, true);
        }
    }
}
