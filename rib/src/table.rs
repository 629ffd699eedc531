//! Compact per-prefix storage: one hash map per family from prefix to a
//! [`PathList`], where the common case of one path per prefix is stored
//! inline (no heap allocation beyond the map's own table).
//!
//! A path is 16 bytes ([`PathEntry`]): peer slot, flags, ADD-PATH id,
//! interned attribute id and insertion tick. Flags mark rejected (kept in
//! Adj-RIB-In for the counters, never a candidate), stale (GR helper), best
//! and multipath. Invariant: after every change of a list the decision
//! process has run on it, so the flags are current, and the best path (when
//! there is one) is first.

use bgp_proto::types::{Family, Ipv4Prefix, Ipv6Prefix, Prefix};
use hashbrown::HashMap;
use std::hash::Hash;
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

/// One family's Loc-RIB (with the Adj-RIB-In paths), Adj-RIB-Outs and the
/// export change log.
#[derive(Debug)]
pub(crate) struct FamilyTable<K: Key> {
    /// Paths per prefix (Adj-RIB-In of every peer, and Loc-RIB flags).
    pub routes: HashMap<K, PathList>,
    /// Adj-RIB-Out per peer slot: prefix to interned outgoing attributes.
    pub adj_out: Vec<HashMap<K, u32>>,
    /// Prefixes whose best path changed, in order; peers read it from
    /// their cursor in `cursors`.
    pub log: Vec<K>,
    /// Per peer slot: position in `log` up to which exports were drained
    /// (`None`: the peer is not exporting).
    pub cursors: Vec<Option<usize>>,
}

impl<K: Key> Default for FamilyTable<K> {
    fn default() -> Self {
        FamilyTable {
            routes: HashMap::new(),
            adj_out: Vec::new(),
            log: Vec::new(),
            cursors: Vec::new(),
        }
    }
}

impl<K: Key> FamilyTable<K> {
    /// Records that the exported route of `key` may have changed.
    pub fn log_change(&mut self, key: K) {
        if self.cursors.iter().any(Option::is_some) {
            self.log.push(key);
        }
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
            self.adj_out.resize_with(slot + 1, HashMap::new);
        }
        if self.cursors.len() <= slot {
            self.cursors.resize(slot + 1, None);
        }
    }

    /// Heap bytes held by the route map (estimate from capacity).
    pub fn heap_bytes(&self) -> usize {
        let slot = std::mem::size_of::<(K, PathList)>() + 1;
        let table = self.routes.capacity() * slot;
        let lists: usize = self.routes.values().map(PathList::heap_bytes).sum();
        table + lists
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
}
