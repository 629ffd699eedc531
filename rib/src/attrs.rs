//! Interned attribute sets: every distinct (path attributes, next hop) pair
//! is stored once, in a compact byte form (`compact.rs`) beside the fields
//! the decision process reads, and referred to by a `u32` id with a
//! reference count. A 1M-prefix table from one peer usually has a handful
//! of distinct sets, so a path costs 4 bytes of attribute reference.
//!
//! Invariant: an id handed out by [`AttrTable::intern`] stays valid (and
//! refers to the same value) until as many [`AttrTable::release`] calls as
//! `intern` + [`AttrTable::acquire`] calls were made for it.

use crate::compact;
use crate::slot_index::{index_hash, narrow, spread, Indexed};
use bgp_proto::msg::attributes::{Origin, PathAttributes};
use hashbrown::{DefaultHashBuilder, HashTable};
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr};

/// What the RIB stores per distinct attribute set: the path attributes
/// (with `next_hop` cleared: the next hop lives beside them, for every
/// family alike) and the next hop. An IPv4-mapped IPv6 next hop is kept as
/// the IPv4 address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RouteAttrs {
    /// Path attributes; `next_hop` is always `None` here.
    pub attrs: PathAttributes,
    /// The next hop.
    pub next_hop: IpAddr,
}

/// The decision-process fields of an attribute set, computed once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AttrMeta {
    /// LOCAL_PREF, 100 when absent.
    pub local_pref: u32,
    /// AS_PATH length as RFC 4271 9.1.2.2 a) counts it.
    pub path_len: u32,
    /// ORIGIN code (IGP 0 < EGP 1 < INCOMPLETE 2); missing counts as 2.
    pub origin: u8,
    /// MED, 0 when absent.
    pub med: u32,
    /// First AS of the path, if any.
    pub neighbor_as: Option<u32>,
    /// ORIGINATOR_ID, if present.
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST length.
    pub cluster_len: u32,
}

/// LOCAL_PREF assumed when the attribute is absent.
pub const DEFAULT_LOCAL_PREF: u32 = 100;

impl AttrMeta {
    fn of(a: &PathAttributes) -> Self {
        AttrMeta {
            local_pref: a.local_pref.unwrap_or(DEFAULT_LOCAL_PREF),
            path_len: u32::try_from(a.as_path.path_len()).unwrap_or(u32::MAX),
            origin: a.origin.unwrap_or(Origin::Incomplete).code(),
            med: a.med.unwrap_or(0),
            neighbor_as: a.as_path.neighbor_as(),
            originator_id: a.originator_id,
            cluster_len: u32::try_from(a.cluster_list.len()).unwrap_or(u32::MAX),
        }
    }
}

/// One interned set: its bytes, decision fields, next hop and references.
#[derive(Debug)]
struct Slot {
    /// [`compact`] form; empty for a free slot.
    bytes: Box<[u8]>,
    meta: AttrMeta,
    next_hop: IpAddr,
    refs: u32,
}

/// The interning arena: slots indexed by id, and a hash index over the
/// slots' bytes (ids only: the bytes are stored once).
#[derive(Debug, Default)]
pub(crate) struct AttrTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    /// Ids by bytes, with their hash bits (the index grows without
    /// rehashing every set's bytes).
    index: HashTable<Indexed>,
    hasher: DefaultHashBuilder,
}

const EMPTY_META: AttrMeta = AttrMeta {
    local_pref: DEFAULT_LOCAL_PREF,
    path_len: 0,
    origin: 2,
    med: 0,
    neighbor_as: None,
    originator_id: None,
    cluster_len: 0,
};

impl AttrTable {
    /// Returns the id of `ra`, storing it if new; takes one reference.
    pub fn intern(&mut self, ra: &RouteAttrs) -> u32 {
        let bytes = compact::encode(ra);
        let hash = index_hash(self.hasher.hash_one(&*bytes));
        let h = narrow(hash);
        let slots = &self.slots;
        let found = self
            .index
            .find(hash, |e| {
                e.hash == h && slots.get(e.id as usize).is_some_and(|s| s.bytes == bytes)
            })
            .map(|e| e.id);
        if let Some(id) = found {
            self.acquire(id);
            return id;
        }
        let slot = Slot {
            bytes,
            meta: AttrMeta::of(&ra.attrs),
            next_hop: ra.next_hop,
            refs: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                if let Some(s) = self.slots.get_mut(id as usize) {
                    *s = slot;
                }
                id
            }
            None => {
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.index
            .insert_unique(hash, Indexed { id, hash: h }, |e| spread(e.hash));
        id
    }

    /// Takes one more reference on `id`.
    pub fn acquire(&mut self, id: u32) {
        if let Some(s) = self.slots.get_mut(id as usize) {
            s.refs = s.refs.saturating_add(1);
        }
    }

    /// Drops one reference on `id`, freeing it at zero.
    pub fn release(&mut self, id: u32) {
        let Some(s) = self.slots.get_mut(id as usize) else {
            return;
        };
        s.refs = s.refs.saturating_sub(1);
        if s.refs > 0 || s.bytes.is_empty() {
            return;
        }
        let bytes = std::mem::take(&mut s.bytes);
        let hash = index_hash(self.hasher.hash_one(&*bytes));
        if let Ok(entry) = self.index.find_entry(hash, |e| e.id == id) {
            entry.remove();
        }
        self.free.push(id);
    }

    /// The value of `id` (decoded: an allocation; not for hot paths).
    pub fn get(&self, id: u32) -> Option<RouteAttrs> {
        self.slots
            .get(id as usize)
            .filter(|s| !s.bytes.is_empty())
            .and_then(|s| compact::decode(&s.bytes))
    }

    /// The ASes of `id`'s AS_PATH, every segment's in order (none for a
    /// freed id), read without decoding the rest of the set.
    pub fn as_path_asns(&self, id: u32) -> Vec<u32> {
        self.slots
            .get(id as usize)
            .and_then(|s| compact::as_path_asns(&s.bytes))
            .unwrap_or_default()
    }

    /// The next hop of `id` (unspecified v4 address for a freed id).
    pub fn next_hop(&self, id: u32) -> IpAddr {
        self.slots
            .get(id as usize)
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |s| s.next_hop)
    }

    /// The decision fields of `id`.
    pub fn meta(&self, id: u32) -> &AttrMeta {
        self.slots.get(id as usize).map_or(&EMPTY_META, |s| &s.meta)
    }

    /// Number of distinct attribute sets stored.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Reference count of `id` (0 when free): for tests.
    #[cfg(test)]
    pub fn refs(&self, id: u32) -> u32 {
        self.slots.get(id as usize).map_or(0, |s| s.refs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::msg::attributes::AsPath;

    fn ra(asn: u32) -> RouteAttrs {
        RouteAttrs {
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: AsPath::from_sequence(vec![asn]),
                ..PathAttributes::default()
            },
            next_hop: "192.0.2.1".parse().unwrap(),
        }
    }

    #[test]
    fn identical_sets_share_one_slot_and_free_at_zero() {
        let mut t = AttrTable::default();
        let a = t.intern(&ra(1));
        let b = t.intern(&ra(1));
        let c = t.intern(&ra(2));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(t.len(), 2);
        assert_eq!(t.refs(a), 2);
        assert_eq!(t.meta(a).neighbor_as, Some(1));
        t.release(a);
        assert_eq!(t.len(), 2);
        t.release(a);
        assert_eq!(t.len(), 1);
        assert!(t.get(a).is_none());
        // The freed slot is reused.
        let d = t.intern(&ra(3));
        assert_eq!(d, a);
        assert_eq!(
            t.get(d).unwrap().attrs.as_path,
            AsPath::from_sequence(vec![3])
        );
    }
}
