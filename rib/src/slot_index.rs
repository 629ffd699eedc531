//! Entries of the hash indexes over slabs (prefixes, attribute sets): an
//! id and 32 bits of its key's hash, so an index grows (rehashes) from
//! what it stores, without reading and hashing every key again.

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

#[cfg(test)]
mod tests {
    use super::*;

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
