//! Hash indexes over slabs (prefixes, attribute sets). An entry is a slab
//! id and 32 bits of its key's hash, so an index grows (rehashes) from what
//! it stores, without reading and hashing every key again.
//!
//! [`IdIndex`] is the prefix tables' index: open addressing with linear
//! probing over those 8-byte entries, no separate control bytes. A lookup
//! reads one cache line (two at most, nearly always), the same line an
//! insert then writes, so warming a batch of lookups ahead (see
//! `Rib::warm`) leaves the inserts nothing to wait for. (hashbrown reads a
//! control group, then writes a bucket elsewhere: two lines, the second
//! one a store miss.)

/// An index entry: a slab id and the 32 hash bits the index uses.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Indexed {
    /// The slab id.
    pub id: u32,
    /// The hash bits ([`narrow`] of the index hash).
    pub hash: u32,
}

/// The index's 64-bit hash of 32 hash bits: the low half places an entry,
/// the top seven bits tag it, both from the same 32 bits, so an entry
/// rehashes from what it stores.
pub(crate) fn spread(h: u32) -> u64 {
    (u64::from(h) << 32) | u64::from(h)
}

/// The 32 bits [`spread`] was made of (the high half of a full hash, the
/// best mixed bits of foldhash).
pub(crate) fn narrow(hash: u64) -> u32 {
    (hash >> 32) as u32
}

/// A full 64-bit hash reduced to the index's form.
pub(crate) fn index_hash(full: u64) -> u64 {
    spread(narrow(full))
}

/// The id marking an empty bucket (slab ids stay below it).
const EMPTY: u32 = u32::MAX;

/// An empty bucket.
const VACANT: Indexed = Indexed { id: EMPTY, hash: 0 };

/// Slab ids by 32-bit hash ([`narrow`]): open addressing, linear probing,
/// at most three quarters full. The caller compares keys (through the ids)
/// and never inserts one twice.
#[derive(Debug, Default)]
pub(crate) struct IdIndex {
    /// A power of two of buckets, or none.
    buckets: Vec<Indexed>,
    len: usize,
}

impl IdIndex {
    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Buckets allocated.
    pub fn capacity(&self) -> usize {
        self.buckets.len()
    }

    fn mask(&self) -> usize {
        self.buckets.len().wrapping_sub(1)
    }

    /// The id with hash bits `h` for which `is_key` holds.
    pub fn find(&self, h: u32, mut is_key: impl FnMut(u32) -> bool) -> Option<u32> {
        let i = self.probe(h, |b| b.hash == h && is_key(b.id))?;
        self.buckets.get(i).map(|b| b.id)
    }

    /// The position of the first entry of `h`'s probe run for which `hit`
    /// holds; the run ends at an empty bucket.
    #[inline(always)]
    fn probe(&self, h: u32, mut hit: impl FnMut(&Indexed) -> bool) -> Option<usize> {
        let mask = self.mask();
        let mut i = h as usize & mask;
        // Never more probes than buckets (the table is never full; this
        // only bounds the loop for the compiler's and the reader's sake).
        for _ in 0..self.buckets.len() {
            let b = self.buckets.get(i)?;
            if b.id == EMPTY {
                return None;
            }
            if hit(b) {
                return Some(i);
            }
            i = (i + 1) & mask;
        }
        None
    }

    /// Adds `id` under hash bits `h` (`id` must not be in the index).
    pub fn insert(&mut self, h: u32, id: u32) {
        if (self.len + 1) * 4 > self.buckets.len() * 3 {
            self.grow();
        }
        if Self::place(&mut self.buckets, Indexed { id, hash: h }) {
            self.len += 1;
        }
    }

    /// Puts `e` in the first empty bucket from its home; `false` when
    /// there is none (cannot happen below full load).
    fn place(buckets: &mut [Indexed], e: Indexed) -> bool {
        let mask = buckets.len().wrapping_sub(1);
        let mut i = e.hash as usize & mask;
        for _ in 0..buckets.len() {
            match buckets.get_mut(i) {
                Some(b) if b.id == EMPTY => {
                    *b = e;
                    return true;
                }
                Some(_) => i = (i + 1) & mask,
                None => return false,
            }
        }
        false
    }

    /// Doubles the buckets (16 at first) and re-places every entry.
    fn grow(&mut self) {
        let n = (self.buckets.len() * 2).max(16);
        let old = std::mem::replace(&mut self.buckets, vec![VACANT; n]);
        for e in old.into_iter().filter(|e| e.id != EMPTY) {
            Self::place(&mut self.buckets, e);
        }
    }

    /// Removes `id`, stored under hash bits `h`; returns whether it was
    /// there. Later entries of the probe run shift back into the hole, so
    /// no tombstones are left.
    pub fn remove(&mut self, h: u32, id: u32) -> bool {
        let mask = self.mask();
        let Some(mut hole) = self.position(h, id) else {
            return false;
        };
        let mut j = hole;
        for _ in 0..self.buckets.len() {
            j = (j + 1) & mask;
            let Some(&e) = self.buckets.get(j) else {
                break;
            };
            if e.id == EMPTY {
                break;
            }
            // An entry stays when its home lies cyclically in (hole, j]:
            // moving it before its home would hide it from lookups.
            let home = e.hash as usize & mask;
            let stays = if hole <= j {
                hole < home && home <= j
            } else {
                hole < home || home <= j
            };
            if !stays {
                if let Some(b) = self.buckets.get_mut(hole) {
                    *b = e;
                }
                hole = j;
            }
        }
        if let Some(b) = self.buckets.get_mut(hole) {
            *b = VACANT;
        }
        self.len -= 1;
        true
    }

    fn position(&self, h: u32, id: u32) -> Option<usize> {
        self.probe(h, |b| b.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    proptest! {
        /// The index agrees with a map under any mix of inserts and
        /// removals, with hashes from a small range so that probe runs
        /// collide, wrap around the end and shift back on removal.
        #[test]
        fn id_index_matches_a_map(ops in proptest::collection::vec((any::<bool>(), 0u32..64, 0u32..24), 1..400)) {
            let mut index = IdIndex::default();
            let mut model: HashMap<u32, u32> = HashMap::new();
            for (insert, key, h) in ops {
                let h = h.wrapping_mul(0x9e37_79b9) >> 8 | h;
                match (insert, model.get(&key).copied()) {
                    (true, None) => {
                        index.insert(h, key);
                        model.insert(key, h);
                    }
                    (false, Some(hk)) => {
                        prop_assert!(index.remove(hk, key));
                        model.remove(&key);
                    }
                    (false, None) => prop_assert!(!index.remove(h, key)),
                    (true, Some(_)) => {}
                }
                prop_assert_eq!(index.len(), model.len());
                for (&k, &hk) in &model {
                    prop_assert_eq!(index.find(hk, |id| id == k), Some(k));
                }
                prop_assert_eq!(index.find(h, |id| id == 1000), None);
            }
        }
    }

    #[test]
    fn id_index_grows_and_keeps_entries() {
        let mut index = IdIndex::default();
        assert_eq!(index.find(7, |_| true), None);
        for id in 0..10_000u32 {
            index.insert(
                narrow(index_hash(
                    u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                )),
                id,
            );
        }
        assert_eq!(index.len(), 10_000);
        assert!(index.capacity() >= 10_000 * 4 / 3);
        assert!(index.capacity().is_power_of_two());
        for id in (0..10_000u32).step_by(2) {
            let h = narrow(index_hash(
                u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ));
            assert!(index.remove(h, id));
        }
        for id in 0..10_000u32 {
            let h = narrow(index_hash(
                u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15),
            ));
            let want = (id % 2 == 1).then_some(id);
            assert_eq!(index.find(h, |x| x == id), want);
        }
    }

    #[test]
    fn spread_keeps_the_bits_it_was_made_of() {
        for h in [0u32, 1, 0x8000_0001, u32::MAX, 0x1234_5678] {
            assert_eq!(narrow(spread(h)), h);
            // The placing half and the tagging top bits come from h.
            assert_eq!(spread(h) as u32, h);
            assert_eq!((spread(h) >> 57) as u32, h >> 25);
        }
        assert_eq!(index_hash(0xdead_beef_0000_0000), spread(0xdead_beef));
    }
}
