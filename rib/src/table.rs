//! Compact per-prefix storage. Per family, prefixes live in a slab under
//! dense route ids (32 bytes per IPv4 prefix with its first path), found by
//! an index of ids with their hash bits (8 bytes per bucket, see
//! `slot_index.rs`); a [`PathList`] keeps the common case of one path
//! inline. The route ids let the Adj-RIB-Outs be plain vectors (2 or 4
//! bytes per prefix and peer) and the
//! export log a list of ids, so exporting does no hashing.
//!
//! A path is 16 bytes ([`PathEntry`]): peer slot, flags, ADD-PATH id,
//! interned attribute id and insertion tick. Flags mark rejected (kept in
//! Adj-RIB-In for the counters, never a candidate), stale (GR helper), best
//! and multipath. Invariant: after every change of a list the decision
//! process has run on it, so the flags are current, and the best path (when
//! there is one) is first.

use bgp_proto::types::{Family, Ipv4Prefix, Ipv6Prefix, Prefix};
use hashbrown::DefaultHashBuilder;

use crate::slot_index::{index_hash, narrow, IdIndex};
use std::hash::{BuildHasher, Hash};
use std::net::IpAddr;
use std::num::NonZeroU8;

/// Path flag: rejected by import policy or loop detection.
pub(crate) const REJECTED: u8 = 1;
/// Path flag: stale (peer restarting, RFC 4724).
pub(crate) const STALE: u8 = 2;
/// Path flag: the best path.
pub(crate) const BEST: u8 = 4;
/// Path flag: in the multipath (ECMP) group; the best path has it too.
pub(crate) const MULTIPATH: u8 = 8;

/// One path of a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathEntry {
    /// Peer slot (index into the RIB's peer table).
    pub peer: u16,
    /// Flags (`REJECTED`, `STALE`, `BEST`, `MULTIPATH`).
    pub flags: Flags,
    /// ADD-PATH path identifier as received.
    pub path_id: u32,
    /// Interned attributes.
    pub attr: u32,
    /// Insertion tick (the RIB's clock when the attributes last changed).
    pub tick: u32,
}

/// Path flags in a byte whose top bit is always set, so the byte is never
/// zero and `PathList` can keep its variant tag in it (16 bytes, not 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Flags(NonZeroU8);

const FLAGS_BASE: NonZeroU8 = NonZeroU8::MIN.saturating_add(0x7f);

impl Flags {
    /// Flags with `bits` set (bits of `REJECTED | STALE | BEST | MULTIPATH`).
    pub fn new(bits: u8) -> Self {
        Flags(FLAGS_BASE | (bits & 0x7f))
    }
}

impl PathEntry {
    /// Whether any of `flag` is set.
    pub fn has(&self, flag: u8) -> bool {
        self.flags.0.get() & flag != 0
    }
    /// Sets `flag`.
    pub fn set(&mut self, flag: u8) {
        self.flags = Flags(self.flags.0 | (flag & 0x7f));
    }
    /// Clears `flag`.
    pub fn clear(&mut self, flag: u8) {
        self.flags = Flags::new(self.bits() & !flag);
    }
    /// The flag bits.
    pub fn bits(&self) -> u8 {
        self.flags.0.get() & 0x7f
    }
}

/// The paths of one prefix; one path is stored inline.
#[derive(Debug, Clone)]
pub(crate) enum PathList {
    /// Exactly one path.
    One(PathEntry),
    /// Two or more paths (boxed `Vec`: a thin pointer keeps the list at 16
    /// bytes; most prefixes have one path).
    #[allow(clippy::box_collection)] // deliberate, see above
    Many(Box<Vec<PathEntry>>),
}

impl PathList {
    pub fn as_slice(&self) -> &[PathEntry] {
        match self {
            PathList::One(e) => std::slice::from_ref(e),
            PathList::Many(v) => v,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [PathEntry] {
        match self {
            PathList::One(e) => std::slice::from_mut(e),
            PathList::Many(v) => v,
        }
    }

    /// Appends a path.
    pub fn push(&mut self, e: PathEntry) {
        match self {
            PathList::One(first) => {
                *self = PathList::Many(Box::new(vec![*first, e]));
            }
            PathList::Many(v) => {
                v.reserve_exact(1);
                v.push(e);
            }
        }
    }

    /// Removes the path at `i`; returns `false` when it was the last one
    /// (the list is then unchanged and must be dropped by the caller).
    pub fn remove(&mut self, i: usize) -> bool {
        let PathList::Many(v) = self else {
            return false;
        };
        if i < v.len() {
            v.remove(i);
        }
        if let [only] = v.as_slice() {
            *self = PathList::One(*only);
        } else {
            v.shrink_to_fit();
        }
        true
    }

    /// Position of the path of `peer` with `path_id`.
    pub fn find(&self, peer: u16, path_id: u32) -> Option<usize> {
        self.as_slice()
            .iter()
            .position(|e| e.peer == peer && e.path_id == path_id)
    }

    /// Heap bytes owned by this list (beyond the map slot).
    pub fn heap_bytes(&self) -> usize {
        match self {
            PathList::One(_) => 0,
            PathList::Many(v) => {
                std::mem::size_of::<Vec<PathEntry>>()
                    + v.capacity() * std::mem::size_of::<PathEntry>()
            }
        }
    }
}

/// A prefix type of one family: the key of a family table.
pub(crate) trait Key: Copy + Eq + Hash + Ord + Into<Prefix> + std::fmt::Debug {
    /// The family.
    const FAMILY: Family;
    /// The longest prefix length.
    const MAX_LEN: u8;
    /// The prefix of length `len` containing `ip`, if `ip` is of this family.
    fn covering(ip: IpAddr, len: u8) -> Option<Self>;
}

impl Key for Ipv4Prefix {
    const FAMILY: Family = Family::IPV4_UNICAST;
    const MAX_LEN: u8 = 32;
    fn covering(ip: IpAddr, len: u8) -> Option<Self> {
        match ip {
            IpAddr::V4(a) => Ipv4Prefix::new(a, len),
            IpAddr::V6(_) => None,
        }
    }
}

impl Key for Ipv6Prefix {
    const FAMILY: Family = Family::IPV6_UNICAST;
    const MAX_LEN: u8 = 128;
    fn covering(ip: IpAddr, len: u8) -> Option<Self> {
        match ip {
            IpAddr::V6(a) => Ipv6Prefix::new(a, len),
            IpAddr::V4(_) => None,
        }
    }
}

/// A prefix's place in its family table: the key, its paths and how many
/// peers' Adj-RIB-Outs hold it. A slot is "dead" when its last path is gone
/// while some peer still has it in its Adj-RIB-Out (the withdrawal is not
/// drained yet); it is freed once no peer holds it.
#[derive(Debug)]
pub(crate) struct Slot<K> {
    pub key: K,
    pub paths: PathList,
    /// Peers whose Adj-RIB-Out holds this prefix.
    holders: u32,
    /// The prefix has paths (`paths` is meaningless otherwise).
    live: bool,
}

/// One peer's Adj-RIB-Out of one family: per route id, the interned
/// outgoing attribute id plus one (0: nothing sent). A dense vector indexed
/// by route id costs 2 or 4 bytes per prefix, where a map costs 8 to 16
/// times that.
#[derive(Debug, Default)]
pub(crate) struct AdjOut {
    cells: Cells,
    len: usize,
}

impl AdjOut {
    /// Prefixes held.
    pub fn len(&self) -> usize {
        self.len
    }
}

/// A vector of `u32` cells kept as `u16` while every value fits: a
/// thousand peers of a cluster share a few thousand attribute sets, so
/// their Adj-RIB-Outs take half the memory; the first larger value widens
/// the vector for good.
#[derive(Debug)]
enum Cells {
    Narrow(Vec<u16>),
    Wide(Vec<u32>),
}

impl Default for Cells {
    fn default() -> Self {
        Cells::Narrow(Vec::new())
    }
}

impl Cells {
    fn len(&self) -> usize {
        match self {
            Cells::Narrow(v) => v.len(),
            Cells::Wide(v) => v.len(),
        }
    }

    fn get(&self, i: usize) -> Option<u32> {
        match self {
            Cells::Narrow(v) => v.get(i).map(|&c| u32::from(c)),
            Cells::Wide(v) => v.get(i).copied(),
        }
    }

    /// Sets cell `i` (which must exist); returns the old value.
    fn set(&mut self, i: usize, value: u32) -> Option<u32> {
        if let Cells::Narrow(v) = self {
            match u16::try_from(value) {
                Ok(narrow) => {
                    let cell = v.get_mut(i)?;
                    return Some(u32::from(std::mem::replace(cell, narrow)));
                }
                Err(_) => {
                    let mut wide = Vec::with_capacity(v.capacity());
                    wide.extend(v.iter().map(|&c| u32::from(c)));
                    *self = Cells::Wide(wide);
                }
            }
        }
        match self {
            Cells::Wide(v) => Some(std::mem::replace(v.get_mut(i)?, value)),
            Cells::Narrow(_) => None,
        }
    }

    /// Grows to `len` zero cells, reserving `room` in all.
    fn grow(&mut self, len: usize, room: usize) {
        match self {
            Cells::Narrow(v) => {
                v.reserve_exact(room.saturating_sub(v.len()));
                v.resize(len, 0);
            }
            Cells::Wide(v) => {
                v.reserve_exact(room.saturating_sub(v.len()));
                v.resize(len, 0);
            }
        }
    }

    fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        let (narrow, wide) = match self {
            Cells::Narrow(v) => (&v[..], &[][..]),
            Cells::Wide(v) => (&[][..], &v[..]),
        };
        narrow
            .iter()
            .map(|&c| u32::from(c))
            .chain(wide.iter().copied())
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Cells::Narrow(v) => v.capacity() * 2,
            Cells::Wide(v) => v.capacity() * 4,
        }
    }
}

/// One family's Loc-RIB (with the Adj-RIB-In paths), Adj-RIB-Outs and the
/// export change log.
///
/// Prefixes live in a slab (`slots`) under dense route ids, found by key
/// through a hash index of ids; the Adj-RIB-Outs and the log use the ids,
/// so the export path does no hashing.
#[derive(Debug)]
pub(crate) struct FamilyTable<K: Key> {
    /// Route ids by prefix, each with 32 bits of its key's hash so the
    /// index grows (rehashes) without reading the slab.
    index: IdIndex,
    hasher: DefaultHashBuilder,
    /// Prefixes by route id.
    slots: Vec<Slot<K>>,
    /// Route ids free for reuse.
    free: Vec<u32>,
    /// Slots with paths.
    live: usize,
    /// Adj-RIB-Out per peer slot.
    pub adj_out: Vec<AdjOut>,
    /// Per peer slot with ADD-PATH send: every path sent per route id
    /// (`add_path.rs`); empty for the others.
    adj_paths: Vec<crate::add_path::AdjPaths>,
    /// Route ids whose best path changed, in order; peers read it from
    /// their cursor in `cursors`.
    pub log: Vec<u32>,
    /// Per peer slot: position in `log` up to which exports were drained
    /// (`None`: the peer is not exporting). Start or stop one with
    /// [`FamilyTable::set_cursor`].
    pub cursors: Vec<Option<usize>>,
    /// Peers with a cursor (exporting).
    exporting: usize,
    /// Scratch bitmap over route ids for [`FamilyTable::pending_ids`]
    /// (all clear between calls).
    seen: Vec<u64>,
}

impl<K: Key> Default for FamilyTable<K> {
    fn default() -> Self {
        FamilyTable {
            index: IdIndex::default(),
            hasher: DefaultHashBuilder::default(),
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            adj_out: Vec::new(),
            adj_paths: Vec::new(),
            log: Vec::new(),
            cursors: Vec::new(),
            exporting: 0,
            seen: Vec::new(),
        }
    }
}

fn idx(id: u32) -> usize {
    id as usize
}

impl<K: Key> FamilyTable<K> {
    /// The hash of `key` in the index.
    pub fn hash(&self, key: K) -> u64 {
        index_hash(self.hasher.hash_one(key))
    }

    /// The route id of `key`, live or dead.
    pub fn find(&self, key: K) -> Option<u32> {
        self.find_hashed(self.hash(key), key)
    }

    /// [`FamilyTable::find`] with the hash of `key` known.
    pub fn find_hashed(&self, hash: u64, key: K) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(narrow(hash), |id| {
            slots.get(idx(id)).is_some_and(|s| s.key == key)
        })
    }

    /// The paths of `key`, if it has any.
    pub fn get(&self, key: K) -> Option<&PathList> {
        self.find(key).and_then(|id| self.paths(id))
    }

    /// The key and paths of route `id`, if it is live.
    pub fn paths(&self, id: u32) -> Option<&PathList> {
        self.slots.get(idx(id)).filter(|s| s.live).map(|s| &s.paths)
    }

    /// The paths of route `id`, if it is live.
    pub fn paths_mut(&mut self, id: u32) -> Option<&mut PathList> {
        self.slots
            .get_mut(idx(id))
            .filter(|s| s.live)
            .map(|s| &mut s.paths)
    }

    /// The key of route `id` (live, dead or free).
    pub fn key(&self, id: u32) -> Option<K> {
        self.slots.get(idx(id)).map(|s| s.key)
    }

    /// Number of slots (route ids in use or free).
    pub fn slot_count(&self) -> u32 {
        u32::try_from(self.slots.len()).unwrap_or(u32::MAX)
    }

    /// Live routes: id, key and paths.
    pub fn iter(&self) -> impl Iterator<Item = (u32, K, &PathList)> {
        (0u32..)
            .zip(&self.slots)
            .filter(|(_, s)| s.live)
            .map(|(id, s)| (id, s.key, &s.paths))
    }

    /// Prefixes with paths.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Gives `key` the path list `paths` (the key must have none); returns
    /// its route id. A dead slot of the key is revived, so that peers'
    /// Adj-RIB-Outs keep referring to it.
    #[cfg(test)]
    pub fn insert(&mut self, key: K, paths: PathList) -> u32 {
        let hash = self.hash(key);
        match self.find_hashed(hash, key) {
            Some(id) => {
                self.revive(id, paths);
                id
            }
            None => self.insert_new(hash, key, paths),
        }
    }

    /// Gives dead route `id` the path list `paths`.
    pub fn revive(&mut self, id: u32, paths: PathList) {
        if let Some(s) = self.slots.get_mut(idx(id)) {
            if !s.live {
                self.live += 1;
            }
            s.paths = paths;
            s.live = true;
        }
    }

    /// Adds `key` (with hash `hash`), which must not be in the table.
    pub fn insert_new(&mut self, hash: u64, key: K, paths: PathList) -> u32 {
        self.live += 1;
        let slot = Slot {
            key,
            paths,
            holders: 0,
            live: true,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(idx(id)) {
                    *s = slot;
                }
                id
            }
            None => {
                self.slots.push(slot);
                self.slot_count() - 1
            }
        };
        self.index.insert(narrow(hash), id);
        id
    }

    /// Route `id` lost its last path: it becomes dead, or free when no
    /// Adj-RIB-Out holds it.
    pub fn kill(&mut self, id: u32) {
        let Some(s) = self.slots.get_mut(idx(id)) else {
            return;
        };
        if !s.live {
            return;
        }
        s.live = false;
        self.live -= 1;
        if s.holders == 0 {
            self.release(id);
        }
    }

    /// Frees dead route `id` (no paths, no holders).
    fn release(&mut self, id: u32) {
        let Some(key) = self.key(id) else {
            return;
        };
        // A dead slot's list is inline: the last path left it `One`.
        if self.index.remove(narrow(self.hash(key)), id) {
            self.free.push(id);
        }
    }

    /// The outgoing attribute id `peer` holds for route `id`.
    pub fn adj_get(&self, peer: usize, id: u32) -> Option<u32> {
        let v = self.adj_out.get(peer)?.cells.get(idx(id))?;
        v.checked_sub(1)
    }

    /// Sets (or with `None` clears) what `peer` holds for route `id`;
    /// returns what it held. A dead route no peer holds any more is freed.
    pub fn adj_set(&mut self, peer: usize, id: u32, attr: Option<u32>) -> Option<u32> {
        let n = self.slots.len();
        let adj = self.adj_out.get_mut(peer)?;
        let i = idx(id);
        if adj.cells.len() <= i {
            // Nothing is held beyond the vector: clearing is a no-op.
            attr?;
            // Grow to the whole slab, with room up to the slab's capacity:
            // the vector is reallocated (copied) only as often as the slab
            // doubles, and the room is never written, so it costs address
            // space, not memory.
            let want = n.max(i + 1);
            let room = self.slots.capacity().max(want);
            adj.cells.grow(want, room);
        }
        let old = adj
            .cells
            .set(i, attr.map_or(0, |a| a.saturating_add(1)))?
            .checked_sub(1);
        let delta = i64::from(attr.is_some()) - i64::from(old.is_some());
        if delta != 0 {
            let slot = self.slots.get_mut(i)?;
            if delta > 0 {
                adj.len += 1;
                slot.holders += 1;
            } else {
                adj.len -= 1;
                slot.holders -= 1;
                if slot.holders == 0 && !slot.live {
                    self.release(id);
                }
            }
        }
        old
    }

    /// Empties `peer`'s Adj-RIB-Out; returns the attribute ids it held.
    pub fn adj_clear(&mut self, peer: usize) -> Vec<u32> {
        let Some(adj) = self.adj_out.get_mut(peer) else {
            return Vec::new();
        };
        let cells = std::mem::take(&mut adj.cells);
        adj.len = 0;
        let mut attrs = Vec::new();
        for (id, v) in (0u32..).zip(cells.iter()) {
            let Some(a) = v.checked_sub(1) else {
                continue;
            };
            attrs.push(a);
            if let Some(slot) = self.slots.get_mut(idx(id)) {
                slot.holders -= 1;
                if slot.holders == 0 && !slot.live {
                    self.release(id);
                }
            }
        }
        attrs
    }

    /// Route ids `peer` holds in its Adj-RIB-Out.
    pub fn adj_ids(&self, peer: usize) -> impl Iterator<Item = (u32, u32)> + '_ {
        let cells = self.adj_out.get(peer).map(|a| a.cells.iter());
        (0u32..)
            .zip(cells.into_iter().flatten())
            .filter_map(|(id, v)| Some((id, v.checked_sub(1)?)))
    }

    /// Routes held in `peer`'s Adj-RIB-Out.
    pub fn adj_len(&self, peer: usize) -> usize {
        self.adj_out.get(peer).map_or(0, AdjOut::len)
    }

    /// Swaps the Adj-RIB-Outs and export cursors of two peer slots (an
    /// export group's state moving to another member).
    pub fn adj_swap(&mut self, a: usize, b: usize) {
        self.ensure_slot(a.max(b));
        self.adj_out.swap(a, b);
        self.cursors.swap(a, b);
    }

    /// Whether `slot` has drained every logged change (or exports nothing).
    pub fn caught_up(&self, slot: usize) -> bool {
        self.cursors
            .get(slot)
            .copied()
            .flatten()
            .is_none_or(|c| c >= self.log.len())
    }

    /// The paths an ADD-PATH peer was sent, per route id.
    pub fn adj_paths_mut(&mut self, peer: usize) -> &mut crate::add_path::AdjPaths {
        if self.adj_paths.len() <= peer {
            self.adj_paths.resize_with(peer + 1, Default::default);
        }
        &mut self.adj_paths[peer]
    }

    /// Records that the exported route of `id` may have changed.
    pub fn log_change(&mut self, id: u32) {
        if self.exporting > 0 {
            self.log.push(id);
        }
    }

    /// Starts (`Some(position)`) or stops (`None`) `slot`'s export cursor.
    pub fn set_cursor(&mut self, slot: usize, cursor: Option<usize>) {
        self.ensure_slot(slot);
        if let Some(c) = self.cursors.get_mut(slot) {
            let was = c.is_some();
            *c = cursor;
            match (was, cursor.is_some()) {
                (false, true) => self.exporting += 1,
                (true, false) => self.exporting -= 1,
                _ => {}
            }
        }
    }

    /// The route ids logged from position `from` on, each once, in log
    /// order (deduplicated with a bitmap over the ids: no sort).
    pub fn pending_ids(&mut self, from: usize) -> Vec<u32> {
        let log = self.log.get(from..).unwrap_or_default();
        let words = self.slots.len().div_ceil(64);
        if self.seen.len() < words {
            self.seen.resize(words, 0);
        }
        let mut ids = Vec::with_capacity(log.len());
        for &id in log {
            let (w, bit) = (idx(id) / 64, 1u64 << (id % 64));
            if let Some(word) = self.seen.get_mut(w) {
                if *word & bit == 0 {
                    *word |= bit;
                    ids.push(id);
                }
            }
        }
        // Leave the bitmap clear for the next call.
        for &id in &ids {
            if let Some(word) = self.seen.get_mut(idx(id) / 64) {
                *word = 0;
            }
        }
        ids
    }

    /// Drops the log prefix every exporting peer has read.
    pub fn compact_log(&mut self) {
        let min = self.cursors.iter().flatten().copied().min();
        let done = min.unwrap_or(self.log.len()).min(self.log.len());
        if done == 0 {
            return;
        }
        self.log.drain(..done);
        for c in self.cursors.iter_mut().flatten() {
            *c -= done;
        }
        if self.log.is_empty() && self.log.capacity() > 4096 {
            self.log.shrink_to(4096);
        }
    }

    /// Makes sure per-slot vectors reach `slot`.
    pub fn ensure_slot(&mut self, slot: usize) {
        if self.adj_out.len() <= slot {
            self.adj_out.resize_with(slot + 1, AdjOut::default);
        }
        if self.cursors.len() <= slot {
            self.cursors.resize(slot + 1, None);
        }
    }

    /// Heap bytes held by the prefix table (estimate from capacities):
    /// index, slab, boxed path lists and Adj-RIB-Outs.
    pub fn heap_bytes(&self) -> usize {
        let index = self.index.capacity() * 8;
        let slab = self.slots.capacity() * std::mem::size_of::<Slot<K>>();
        let lists: usize = self.iter().map(|(_, _, l)| l.heap_bytes()).sum();
        let adj: usize = self.adj_out.iter().map(|a| a.cells.heap_bytes()).sum();
        index + slab + lists + adj + self.free.capacity() * 4 + self.log.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(peer: u16) -> PathEntry {
        PathEntry {
            peer,
            flags: Flags::new(0),
            path_id: 0,
            attr: 0,
            tick: 0,
        }
    }

    #[test]
    fn cells_stay_narrow_until_a_value_needs_more() {
        let mut c = Cells::default();
        c.grow(4, 8);
        assert_eq!(c.set(1, 7), Some(0));
        assert_eq!(c.set(2, u32::from(u16::MAX)), Some(0));
        assert!(matches!(c, Cells::Narrow(_)));
        assert_eq!(c.heap_bytes(), 16);
        // One larger value widens the vector and keeps every other one.
        assert_eq!(c.set(3, 70_000), Some(0));
        assert!(matches!(c, Cells::Wide(_)));
        assert_eq!(c.iter().collect::<Vec<_>>(), vec![0, 7, 65_535, 70_000]);
        assert_eq!(c.set(1, 3), Some(7));
        assert_eq!(c.get(1), Some(3));
        assert_eq!(c.get(4), None);
        assert_eq!(c.set(4, 1), None, "no cell beyond the length");
        assert_eq!(c.heap_bytes(), 32);
    }

    #[test]
    fn sizes_are_compact() {
        assert_eq!(std::mem::size_of::<PathEntry>(), 16);
        assert_eq!(std::mem::size_of::<PathList>(), 16);
        let mut f = e(1);
        f.set(BEST | STALE);
        assert!(f.has(BEST) && f.has(STALE) && !f.has(REJECTED));
        f.clear(BEST);
        assert_eq!(f.bits(), STALE);
    }

    #[test]
    fn path_list_push_remove() {
        let mut l = PathList::One(e(1));
        l.push(e(2));
        l.push(e(3));
        assert_eq!(l.as_slice().len(), 3);
        assert_eq!(l.find(2, 0), Some(1));
        assert!(l.remove(0));
        assert!(l.remove(0));
        assert!(matches!(l, PathList::One(p) if p.peer == 3));
        assert!(!l.remove(0));
    }

    fn p4(i: u8) -> Ipv4Prefix {
        Ipv4Prefix::new(std::net::Ipv4Addr::new(10, i, 0, 0), 16).unwrap()
    }

    #[test]
    fn dead_slot_lives_until_no_adj_rib_out_holds_it() {
        let mut t: FamilyTable<Ipv4Prefix> = FamilyTable::default();
        t.ensure_slot(1);
        let a = t.insert(p4(1), PathList::One(e(0)));
        let b = t.insert(p4(2), PathList::One(e(0)));
        assert_ne!(a, b);
        assert_eq!(
            (t.find(p4(1)), t.find(p4(2)), t.len()),
            (Some(a), Some(b), 2)
        );
        // Peer 1 holds route a; a loses its last path: dead, still found.
        assert_eq!(t.adj_set(1, a, Some(7)), None);
        assert_eq!(t.adj_get(1, a), Some(7));
        t.kill(a);
        assert_eq!(
            (t.find(p4(1)), t.get(p4(1)).is_some(), t.len()),
            (Some(a), false, 1)
        );
        // Revived under the same id while held.
        assert_eq!(t.insert(p4(1), PathList::One(e(0))), a);
        t.kill(a);
        // The withdrawal is drained: the slot is freed and reused.
        assert_eq!(t.adj_set(1, a, None), Some(7));
        assert_eq!((t.find(p4(1)), t.adj_out[1].len()), (None, 0));
        assert_eq!(t.insert(p4(3), PathList::One(e(0))), a);
        assert_eq!(t.find(p4(3)), Some(a));
        // Killing a route nobody holds frees it at once; clearing a peer's
        // Adj-RIB-Out frees the dead routes it held.
        t.kill(b);
        assert_eq!(t.find(p4(2)), None);
        t.adj_set(0, a, Some(3));
        t.kill(a);
        assert_eq!(t.adj_clear(0), vec![3]);
        assert_eq!((t.find(p4(3)), t.len(), t.iter().count()), (None, 0, 0));
    }
}
