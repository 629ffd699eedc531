//! The attribute index the validation walk fills: for every attribute
//! type the codec knows, its expected Optional/Transitive bits (one table
//! look-up per attribute instead of a chain of matches) and, once
//! validated, where its value is, so that reading attributes afterwards
//! ([`super::AttrsView`], [`super::Update::attributes`]) needs no re-scan.

use crate::msg::attributes::{flags, type_code as tc};

/// Number of attribute types [`AttrIndex`] records (MP_REACH_NLRI and
/// MP_UNREACH_NLRI have their own slots in the UPDATE).
const INDEXED: usize = 14;

/// Slot of a known attribute type: 0..14 are indexed, 14 and 15 are
/// MP_REACH_NLRI and MP_UNREACH_NLRI.
#[inline]
pub(crate) const fn slot(t: u8) -> Option<usize> {
    Some(match t {
        tc::ORIGIN => 0,
        tc::AS_PATH => 1,
        tc::NEXT_HOP => 2,
        tc::MULTI_EXIT_DISC => 3,
        tc::LOCAL_PREF => 4,
        tc::ATOMIC_AGGREGATE => 5,
        tc::AGGREGATOR => 6,
        tc::COMMUNITIES => 7,
        tc::ORIGINATOR_ID => 8,
        tc::CLUSTER_LIST => 9,
        tc::EXTENDED_COMMUNITIES => 10,
        tc::AS4_PATH => 11,
        tc::AS4_AGGREGATOR => 12,
        tc::LARGE_COMMUNITIES => 13,
        tc::MP_REACH_NLRI => 14,
        tc::MP_UNREACH_NLRI => 15,
        _ => return None,
    })
}

/// Expected Optional and Transitive bits of the attributes we know
/// (RFC 4271 5, RFC 4456, RFC 4360, RFC 4760, RFC 6793, RFC 8092).
const fn expected_flags(t: u8) -> Option<u8> {
    const WELL_KNOWN: u8 = flags::TRANSITIVE;
    const OPT_TRANS: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    const OPT: u8 = flags::OPTIONAL;
    match t {
        tc::ORIGIN | tc::AS_PATH | tc::NEXT_HOP | tc::LOCAL_PREF | tc::ATOMIC_AGGREGATE => {
            Some(WELL_KNOWN)
        }
        tc::AGGREGATOR
        | tc::COMMUNITIES
        | tc::EXTENDED_COMMUNITIES
        | tc::AS4_PATH
        | tc::AS4_AGGREGATOR
        | tc::LARGE_COMMUNITIES => Some(OPT_TRANS),
        tc::MULTI_EXIT_DISC
        | tc::ORIGINATOR_ID
        | tc::CLUSTER_LIST
        | tc::MP_REACH_NLRI
        | tc::MP_UNREACH_NLRI => Some(OPT),
        _ => None,
    }
}

const KNOWN: u8 = 0x80;

/// Per type code: 0 when unrecognised, else `KNOWN | expected >> 2 | slot`.
// Built at compile time: an out-of-range index would be a build error.
#[allow(clippy::indexing_slicing)]
static INFO: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut t = 0usize;
    while t < 256 {
        if let (Some(s), Some(e)) = (slot(t as u8), expected_flags(t as u8)) {
            table[t] = KNOWN | (e >> 2) | s as u8;
        }
        t += 1;
    }
    table
};

/// A known attribute type: its slot and expected Optional/Transitive bits.
#[inline]
pub(crate) fn lookup(t: u8) -> Option<(usize, u8)> {
    let i = INFO.get(usize::from(t)).copied().unwrap_or(0);
    if i & KNOWN == 0 {
        return None;
    }
    Some((
        usize::from(i & 0x0f),
        (i << 2) & (flags::OPTIONAL | flags::TRANSITIVE),
    ))
}

/// Value positions of the known attributes that passed validation (first
/// occurrences only; discarded or malformed ones are left out, as
/// [`super::RawAttrIter`] skips them). Offsets are relative to the start
/// of the attributes field, which is at most 65 535 octets long.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AttrIndex {
    base: u32,
    /// (value start - base, value length); start 0 means absent (a value
    /// follows a header of at least 3 octets).
    spans: [[u16; 2]; INDEXED],
    /// Whether an unrecognised optional attribute was seen.
    pub(crate) unknown: bool,
}

impl AttrIndex {
    /// An empty index for an attributes field starting at `base`.
    #[inline]
    pub(crate) fn new(base: usize) -> Self {
        AttrIndex {
            base: u32::try_from(base).unwrap_or(u32::MAX),
            ..AttrIndex::default()
        }
    }

    /// Records the value at `body[start..start + len]` for `slot`.
    #[inline]
    pub(crate) fn put(&mut self, slot: usize, start: usize, len: usize) {
        let rel = start.wrapping_sub(self.base as usize);
        if let (Some(s), Ok(rel), Ok(len)) = (
            self.spans.get_mut(slot),
            u16::try_from(rel),
            u16::try_from(len),
        ) {
            *s = [rel, len];
        }
    }

    /// The value of attribute `t` in `body`, when present and valid.
    #[inline]
    pub(crate) fn get<'a>(&self, body: &'a [u8], t: u8) -> Option<&'a [u8]> {
        let [rel, len] = *self.spans.get(slot(t)?)?;
        if rel == 0 {
            return None;
        }
        let start = self.base as usize + usize::from(rel);
        body.get(start..start + usize::from(len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_matches() {
        for t in 0..=255u8 {
            let want = slot(t).zip(expected_flags(t));
            assert_eq!(lookup(t), want, "type {t}");
        }
        assert_eq!(lookup(tc::COMMUNITIES), Some((7, 0xc0)));
        assert_eq!(lookup(tc::ORIGIN), Some((0, 0x40)));
        assert_eq!(lookup(tc::MP_UNREACH_NLRI), Some((15, 0x80)));
    }

    #[test]
    fn index_round_trip() {
        let body = [0u8, 0, 0, 9, 0x40, 1, 1, 2, 0x40, 6, 0];
        let mut i = AttrIndex::new(4);
        i.put(0, 7, 1);
        i.put(5, 11, 0);
        assert_eq!(i.get(&body, tc::ORIGIN), Some(&[2u8][..]));
        assert_eq!(i.get(&body, tc::ATOMIC_AGGREGATE), Some(&[][..]));
        assert_eq!(i.get(&body, tc::AS_PATH), None);
        assert_eq!(i.get(&body, 99), None);
    }
}
