//! A group's view by outgoing attribute set, for a caller that keeps the
//! view encoded from one join to the next: which sets changed since it
//! last asked, the routes of given sets, and the sets a joining member is
//! not sent in full. A member that joins then costs the sets that changed
//! since the last join, not the whole table.

use super::{path_ases, MemberView};
use crate::export::{Batcher, ExportBatch};
use crate::rib::{Core, Rib};
use crate::table::{FamilyTable, Key};
use bgp_proto::types::Family;
use hashbrown::{HashMap, HashSet};

/// The most changed sets a group lists for its caller; past it the caller
/// is told to start over (which costs what one full table costs).
const TOUCHED_MAX: usize = 1 << 16;

/// Outgoing attribute sets of a group's view whose routes changed.
#[derive(Debug, Default)]
pub(crate) struct TouchedSets {
    sets: HashSet<u32>,
    overflow: bool,
}

impl TouchedSets {
    /// Notes that the routes of set `attr` changed.
    pub(crate) fn touch(&mut self, attr: Option<u32>) {
        let Some(a) = attr else { return };
        if self.overflow {
            return;
        }
        if self.sets.len() >= TOUCHED_MAX {
            self.sets = HashSet::new();
            self.overflow = true;
            return;
        }
        self.sets.insert(a);
    }

    /// The sets, sorted; `None` after an overflow.
    fn into_sorted(self) -> Option<Vec<u32>> {
        if self.overflow {
            return None;
        }
        let mut v: Vec<u32> = self.sets.into_iter().collect();
        v.sort_unstable();
        Some(v)
    }
}

impl Core {
    /// The cells of the group view at `leader` in `sets` (sorted; `None`:
    /// every set), as one batch per set.
    fn set_batches<K: Key>(
        &mut self,
        t: &FamilyTable<K>,
        leader: u16,
        sets: Option<&[u32]>,
    ) -> Vec<(u32, ExportBatch)> {
        let cells: Vec<(u32, u32)> = t
            .adj_ids(usize::from(leader))
            .filter(|&(_, a)| sets.is_none_or(|s| s.binary_search(&a).is_ok()))
            .collect();
        self.batch_cells(t, cells)
    }

    /// The cells of `sets` (sorted) that member `slot` is sent, as one
    /// batch per set.
    fn member_set_batches<K: Key>(
        &mut self,
        t: &FamilyTable<K>,
        slot: u16,
        sets: &[u32],
    ) -> Vec<(u32, ExportBatch)> {
        let Some(v) = self.groups.view(self, slot, K::FAMILY) else {
            return Vec::new();
        };
        let cells = t
            .adj_ids(usize::from(v.leader))
            .filter(|&(_, a)| sets.binary_search(&a).is_ok());
        let cells = v.split(self, cells, true);
        self.batch_cells(t, cells)
    }

    /// Cells (route id, outgoing attribute id) as one batch per set.
    fn batch_cells<K: Key>(
        &mut self,
        t: &FamilyTable<K>,
        cells: Vec<(u32, u32)>,
    ) -> Vec<(u32, ExportBatch)> {
        let mut batcher = Batcher::new(self);
        for (id, a) in cells {
            if let Some(key) = t.key(id) {
                batcher.announce(key, a, || None);
            }
        }
        batcher.finish_by_set(self)
    }

    /// The sets of `view` the member is not sent in full, sorted: those of
    /// its own routes, found by source and, with the loop check, those
    /// whose path holds its AS. When the routes with its AS are all its
    /// own (a node that comes back before its old routes are withdrawn),
    /// the paths of its own sets say so and the view is not read.
    fn excluded_sets<K: Key>(&self, t: &FamilyTable<K>, view: &MemberView) -> Vec<u32> {
        let leader = usize::from(view.leader);
        let own: Vec<(u32, u32)> = if view.fam.by_source.contains_key(&view.slot) {
            (0u32..)
                .zip(&view.fam.src)
                .filter(|&(_, &s)| s == view.slot)
                .filter_map(|(id, _)| Some((id, t.adj_get(leader, id)?)))
                .collect()
        } else {
            Vec::new()
        };
        let others_hidden = view.loop_as.is_some_and(|asn| {
            let with_as = view.fam.with_as(asn);
            if with_as == 0 {
                return false;
            }
            let mut holds: HashMap<u32, bool> = HashMap::new();
            let own_with_as = own
                .iter()
                .filter(|&&(_, a)| {
                    *holds
                        .entry(a)
                        .or_insert_with(|| path_ases(self, a).binary_search(&asn).is_ok())
                })
                .count();
            own_with_as < with_as
        });
        let mut sets: Vec<u32> = if others_hidden {
            view.split(self, t.adj_ids(leader), false)
                .into_iter()
                .map(|(_, a)| a)
                .collect()
        } else {
            own.into_iter().map(|(_, a)| a).collect()
        };
        sets.sort_unstable();
        sets.dedup();
        sets
    }
}

impl Rib {
    /// The founding count of group `group` while it lives
    /// ([`GroupJoin::founded`](crate::GroupJoin::founded)).
    pub fn group_founded(&self, group: u32) -> Option<u64> {
        self.core.groups.get(group).map(|g| g.founded)
    }

    /// For a caller that keeps group `group`'s view encoded: per family
    /// (IPv4, IPv6), the outgoing attribute sets whose routes changed
    /// since its last call, sorted. `None` for a family on the first call
    /// and after more changes than are listed: encode its whole view
    /// again ([`Rib::group_view_sets`] with `None`).
    pub fn take_view_changes(&mut self, group: u32) -> [Option<Vec<u32>>; 2] {
        let Some(Some(g)) = self.core.groups.list.get_mut(group as usize) else {
            return [None, None];
        };
        g.fams
            .each_mut()
            .map(|f| f.touched.replace(TouchedSets::default())?.into_sorted())
    }

    /// Group `group`'s view of `family` (every route of its Adj-RIB-Out,
    /// those its members sent included) as one batch per outgoing
    /// attribute set: the sets of `sets` (sorted), or every set.
    pub fn group_view_sets(
        &mut self,
        group: u32,
        family: Family,
        sets: Option<&[u32]>,
    ) -> Vec<(u32, ExportBatch)> {
        let Some(leader) = self.core.groups.get(group).map(|g| g.leader) else {
            return Vec::new();
        };
        match family {
            Family::IPV4_UNICAST => self.core.set_batches(&self.v4, leader, sets),
            Family::IPV6_UNICAST => self.core.set_batches(&self.v6, leader, sets),
            _ => Vec::new(),
        }
    }

    /// Per family (IPv4, IPv6), the outgoing attribute sets of member
    /// `peer`'s group view that it is not sent in full (routes it is the
    /// source of, and with the loop check routes with its AS in their
    /// path), sorted.
    pub fn member_excluded_sets(&self, peer: u32) -> [Vec<u32>; 2] {
        let Ok(slot) = self.core.slot_of(peer) else {
            return [Vec::new(), Vec::new()];
        };
        let view = |f| self.core.groups.view(&self.core, slot, f);
        [
            view(Family::IPV4_UNICAST).map(|v| self.core.excluded_sets(&self.v4, &v)),
            view(Family::IPV6_UNICAST).map(|v| self.core.excluded_sets(&self.v6, &v)),
        ]
        .map(Option::unwrap_or_default)
    }

    /// What member `peer` is sent of the sets `sets` (sorted) of its group
    /// view of `family`, one batch per set it is sent a route of.
    pub fn member_view_sets(
        &mut self,
        peer: u32,
        family: Family,
        sets: &[u32],
    ) -> Vec<(u32, ExportBatch)> {
        let Ok(slot) = self.core.slot_of(peer) else {
            return Vec::new();
        };
        match family {
            Family::IPV4_UNICAST => self.core.member_set_batches(&self.v4, slot, sets),
            Family::IPV6_UNICAST => self.core.member_set_batches(&self.v6, slot, sets),
            _ => Vec::new(),
        }
    }
}
