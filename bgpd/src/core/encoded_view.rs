//! An export group's view kept encoded from one join to the next, one
//! attribute set at a time: a session that joins its group takes its
//! initial table as slices of these buffers, and only the sets whose
//! routes changed since the last join are encoded again (a rolling
//! restart of a thousand nodes then encodes the table once, not a
//! thousand times).

use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::ops::Range;

/// One attribute set of one family: (family index, outgoing attribute id).
pub(super) type SetKey = (u8, u32);

/// Segments past this, or this many dead sets, and the view is copied
/// into one buffer: every dead set or segment splits a joiner's slices.
const SPLITS_MAX: usize = 32;

/// The encoded sets of one group's view.
pub(super) struct EncodedView {
    /// Names the group ([`rib::GroupJoin::founded`]).
    pub founded: u64,
    segments: Vec<Segment>,
    /// Where each live set is: segment and entry.
    at: HashMap<SetKey, (usize, usize)>,
    dead: usize,
    dead_octets: usize,
    live_octets: usize,
}

/// One buffer of encoded sets, one after the other.
struct Segment {
    bytes: Bytes,
    sets: Vec<Entry>,
    /// The entries no longer live.
    dead: Vec<usize>,
    /// Announcements of the live sets that had to go out as withdrawals.
    withdrawn: usize,
}

/// One set's UPDATEs in its segment.
struct Entry {
    key: SetKey,
    octets: Range<usize>,
    /// Announcements of the set that had to go out as withdrawals.
    withdrawn: usize,
    live: bool,
}

/// One set's UPDATEs, as encoded.
pub(super) struct EncodedSet {
    pub key: SetKey,
    pub msgs: Vec<Bytes>,
    pub withdrawn: usize,
}

impl EncodedView {
    /// An empty view of the group founded as `founded`.
    pub fn new(founded: u64) -> EncodedView {
        EncodedView {
            founded,
            segments: Vec::new(),
            at: HashMap::new(),
            dead: 0,
            dead_octets: 0,
            live_octets: 0,
        }
    }

    /// Forgets set `key` (its routes changed).
    pub fn invalidate(&mut self, key: SetKey) {
        let Some((s, e)) = self.at.remove(&key) else {
            return;
        };
        let Some(seg) = self.segments.get_mut(s) else {
            return;
        };
        if let Some(entry) = seg.sets.get_mut(e).filter(|e| e.live) {
            entry.live = false;
            seg.dead.push(e);
            seg.withdrawn -= entry.withdrawn;
            self.dead += 1;
            self.dead_octets += entry.octets.len();
            self.live_octets -= entry.octets.len();
        }
    }

    /// Forgets every set of family `fam`.
    pub fn invalidate_family(&mut self, fam: u8) {
        let keys: Vec<SetKey> = self.at.keys().filter(|k| k.0 == fam).copied().collect();
        for k in keys {
            self.invalidate(k);
        }
    }

    /// Adds sets (none of them live) as one new segment.
    pub fn add(&mut self, sets: Vec<EncodedSet>) {
        if sets.is_empty() {
            return;
        }
        let mut buf = BytesMut::new();
        let mut entries = Vec::with_capacity(sets.len());
        for set in sets {
            self.invalidate(set.key);
            let start = buf.len();
            for m in &set.msgs {
                buf.extend_from_slice(m);
            }
            entries.push(Entry {
                key: set.key,
                octets: start..buf.len(),
                withdrawn: set.withdrawn,
                live: true,
            });
        }
        self.push_segment(buf.freeze(), entries);
    }

    /// Copies the live sets into one buffer when the dead ones or the
    /// segments would split a joiner's slices too much, or hold more
    /// than the live ones.
    pub fn tidy(&mut self) {
        if self.segments.len() + self.dead > SPLITS_MAX || self.dead_octets > self.live_octets {
            self.compact();
        }
    }

    fn push_segment(&mut self, bytes: Bytes, sets: Vec<Entry>) {
        let s = self.segments.len();
        let mut withdrawn = 0;
        for (e, entry) in sets.iter().enumerate() {
            self.at.insert(entry.key, (s, e));
            self.live_octets += entry.octets.len();
            withdrawn += entry.withdrawn;
        }
        self.segments.push(Segment {
            bytes,
            sets,
            dead: Vec::new(),
            withdrawn,
        });
    }

    /// Copies the live sets into one buffer.
    fn compact(&mut self) {
        let mut buf = BytesMut::with_capacity(self.live_octets);
        let mut entries = Vec::with_capacity(self.at.len());
        for seg in &self.segments {
            for e in seg.sets.iter().filter(|e| e.live) {
                let start = buf.len();
                if let Some(b) = seg.bytes.get(e.octets.clone()) {
                    buf.extend_from_slice(b);
                }
                entries.push(Entry {
                    key: e.key,
                    octets: start..buf.len(),
                    withdrawn: e.withdrawn,
                    live: true,
                });
            }
        }
        self.segments.clear();
        self.at.clear();
        self.dead = 0;
        self.dead_octets = 0;
        self.live_octets = 0;
        self.push_segment(buf.freeze(), entries);
    }

    /// The UPDATEs of every live set but those of `hidden`, as slices of
    /// the buffers (each segment cut only at its dead sets and the hidden
    /// ones: the work is theirs, not the table's), and how many
    /// announcements in them had to go out as withdrawals.
    pub fn slices(&self, hidden: &[SetKey]) -> (Vec<Bytes>, usize) {
        let mut cuts: Vec<(usize, usize)> = hidden
            .iter()
            .filter_map(|k| self.at.get(k))
            .copied()
            .collect();
        cuts.sort_unstable();
        let mut out = Vec::new();
        let mut withdrawn = 0;
        for (s, seg) in self.segments.iter().enumerate() {
            let from = cuts.partition_point(|&(cs, _)| cs < s);
            let to = cuts.partition_point(|&(cs, _)| cs <= s);
            let mut at: Vec<usize> = seg.dead.clone();
            at.extend(
                cuts.get(from..to)
                    .unwrap_or_default()
                    .iter()
                    .map(|&(_, e)| e),
            );
            at.sort_unstable();
            let mut w = seg.withdrawn;
            let mut start = 0;
            for e in at.iter().filter_map(|&i| seg.sets.get(i)) {
                if e.octets.start > start {
                    out.push(seg.bytes.slice(start..e.octets.start));
                }
                start = start.max(e.octets.end);
                if e.live {
                    w -= e.withdrawn;
                }
            }
            if start < seg.bytes.len() {
                out.push(seg.bytes.slice(start..));
            }
            withdrawn += w;
        }
        (out, withdrawn)
    }

    /// Octets of the live sets.
    #[cfg(test)]
    fn live_octets(&self) -> usize {
        self.live_octets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(fam: u8, attr: u32, body: &[u8]) -> EncodedSet {
        EncodedSet {
            key: (fam, attr),
            msgs: vec![Bytes::copy_from_slice(body)],
            withdrawn: usize::from(body.first() == Some(&b'w')),
        }
    }

    fn joined(v: &EncodedView, hidden: &[SetKey]) -> (Vec<u8>, usize, usize) {
        let (s, w) = v.slices(hidden);
        (s.concat(), s.len(), w)
    }

    #[test]
    fn a_joiner_gets_every_live_set_but_its_own_in_few_slices() {
        let mut v = EncodedView::new(1);
        v.add(vec![
            set(0, 1, b"aa"),
            set(0, 2, b"bb"),
            set(0, 3, b"cc"),
            set(1, 1, b"dd"),
        ]);
        assert_eq!(joined(&v, &[]), (b"aabbccdd".to_vec(), 1, 0));
        // Its own set is left out; the rest comes as two slices.
        assert_eq!(joined(&v, &[(0, 2)]), (b"aaccdd".to_vec(), 2, 0));
        // A changed set is dropped until encoded again, then comes from
        // its own segment.
        v.invalidate((0, 3));
        assert_eq!(joined(&v, &[]).0, b"aabbdd".to_vec());
        v.add(vec![set(0, 3, b"CC")]);
        // aabb, dd (around the dead set), CC.
        assert_eq!(joined(&v, &[]), (b"aabbddCC".to_vec(), 3, 0));
        assert_eq!(v.live_octets(), 8);
        v.invalidate_family(0);
        assert_eq!(joined(&v, &[]).0, b"dd".to_vec());
        assert_eq!(v.live_octets(), 2);
    }

    #[test]
    fn many_changes_are_compacted_into_one_buffer() {
        let mut v = EncodedView::new(1);
        let all: Vec<EncodedSet> = (0..100).map(|a| set(0, a, b"xy")).collect();
        v.add(all);
        for a in 0..100 {
            v.invalidate((0, a));
            v.add(vec![set(0, a, if a % 2 == 0 { b"wz" } else { b"xz" })]);
            v.tidy();
        }
        let (bytes, slices, withdrawn) = joined(&v, &[]);
        assert_eq!(bytes.len(), 200);
        assert_eq!(withdrawn, 50);
        // Bounded by the compaction: never one slice per change.
        assert!(slices <= SPLITS_MAX + 1, "{slices} slices");
        assert!(v.segments.len() <= SPLITS_MAX + 1);
        assert!(v.dead <= SPLITS_MAX + 1);
    }
}
