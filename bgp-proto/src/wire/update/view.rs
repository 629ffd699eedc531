//! Borrowed, allocation-free access to every path attribute of a decoded
//! UPDATE ([`AttrsView`]), read from the index the validation walk built.
//! Scalars are parsed on access; lists (AS_PATH, communities, ...) are
//! typed iterators over the body's octets. [`AttrsView::to_owned`] builds
//! the owned [`PathAttributes`] (what [`Update::attributes`] returns) with
//! every vector allocated at its exact size.
//!
//! [`Update::attributes`]: super::Update::attributes

#[cfg(test)]
use super::as_path;
use super::attrs::{RawAttr, RawAttrIter};
use super::index::{slot, AttrIndex};
use crate::msg::attributes::{
    flags, type_code as tc, Aggregator, AsPath, AsSegment, AsSegmentType, Community, ExtCommunity,
    LargeCommunity, Origin, PathAttributes, RawAttribute,
};
use std::iter::FusedIterator;
use std::net::Ipv4Addr;

#[inline]
fn be32(v: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(*v.first_chunk::<4>()?))
}

#[inline]
fn aggregator(v: &[u8]) -> Option<Aggregator> {
    match *v {
        [a, b, c, d, e, f, g, h] => Some(Aggregator {
            asn: u32::from_be_bytes([a, b, c, d]),
            addr: Ipv4Addr::new(e, f, g, h),
        }),
        [a, b, e, f, g, h] => Some(Aggregator {
            asn: u32::from(u16::from_be_bytes([a, b])),
            addr: Ipv4Addr::new(e, f, g, h),
        }),
        _ => None,
    }
}

/// Every path attribute of a decoded UPDATE, borrowed from its body
/// (returned by [`Update::attributes_view`](super::Update::attributes_view)).
/// Attributes that RFC 7606 discarded, or that were malformed, read as
/// absent, exactly as in [`PathAttributes`]. On a 2-octet AS session
/// [`as_path`](Self::as_path) is the AS_PATH as received (2-octet ASes,
/// AS_TRANS included) and AS4_PATH/AS4_AGGREGATOR are separate; the merged
/// path is in [`to_owned`](Self::to_owned).
#[derive(Debug, Clone)]
pub struct AttrsView<'a> {
    pub(crate) body: &'a [u8],
    pub(crate) index: &'a AttrIndex,
    pub(crate) raw: RawAttrIter<'a>,
    pub(crate) four_octet_as: bool,
}

impl<'a> AttrsView<'a> {
    #[inline]
    fn get(&self, t: u8) -> Option<&'a [u8]> {
        self.index.get(self.body, t)
    }

    /// ORIGIN.
    #[inline]
    pub fn origin(&self) -> Option<Origin> {
        self.get(tc::ORIGIN)?
            .first()
            .copied()
            .and_then(Origin::from_code)
    }

    /// AS_PATH as received (ASes of the session's width; empty when absent).
    #[inline]
    pub fn as_path(&self) -> AsPathView<'a> {
        AsPathView {
            raw: self.get(tc::AS_PATH).unwrap_or_default(),
            four: self.four_octet_as,
        }
    }

    /// AS4_PATH (only ever present on 2-octet AS sessions, RFC 6793).
    #[inline]
    pub fn as4_path(&self) -> Option<AsPathView<'a>> {
        Some(AsPathView {
            raw: self.get(tc::AS4_PATH)?,
            four: true,
        })
    }

    /// NEXT_HOP.
    #[inline]
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        self.get(tc::NEXT_HOP).and_then(be32).map(Ipv4Addr::from)
    }

    /// MULTI_EXIT_DISC.
    #[inline]
    pub fn med(&self) -> Option<u32> {
        self.get(tc::MULTI_EXIT_DISC).and_then(be32)
    }

    /// LOCAL_PREF.
    #[inline]
    pub fn local_pref(&self) -> Option<u32> {
        self.get(tc::LOCAL_PREF).and_then(be32)
    }

    /// ATOMIC_AGGREGATE.
    #[inline]
    pub fn atomic_aggregate(&self) -> bool {
        self.get(tc::ATOMIC_AGGREGATE).is_some()
    }

    /// AGGREGATOR as received (a 2-octet AS on 2-octet sessions).
    #[inline]
    pub fn aggregator(&self) -> Option<Aggregator> {
        self.get(tc::AGGREGATOR).and_then(aggregator)
    }

    /// AS4_AGGREGATOR (2-octet AS sessions only).
    #[inline]
    pub fn as4_aggregator(&self) -> Option<Aggregator> {
        self.get(tc::AS4_AGGREGATOR).and_then(aggregator)
    }

    /// ORIGINATOR_ID.
    #[inline]
    pub fn originator_id(&self) -> Option<Ipv4Addr> {
        self.get(tc::ORIGINATOR_ID)
            .and_then(be32)
            .map(Ipv4Addr::from)
    }

    /// COMMUNITIES (empty when absent).
    #[inline]
    pub fn communities(&self) -> FixedList<'a, 4, Community> {
        FixedList::new(self.get(tc::COMMUNITIES), |c| {
            Community(u32::from_be_bytes(*c))
        })
    }

    /// CLUSTER_LIST (empty when absent).
    #[inline]
    pub fn cluster_list(&self) -> FixedList<'a, 4, Ipv4Addr> {
        FixedList::new(self.get(tc::CLUSTER_LIST), |c| Ipv4Addr::from(*c))
    }

    /// EXTENDED_COMMUNITIES (empty when absent).
    #[inline]
    pub fn ext_communities(&self) -> FixedList<'a, 8, ExtCommunity> {
        FixedList::new(self.get(tc::EXTENDED_COMMUNITIES), |c| ExtCommunity(*c))
    }

    /// LARGE_COMMUNITIES (empty when absent).
    #[inline]
    pub fn large_communities(&self) -> FixedList<'a, 12, LargeCommunity> {
        FixedList::new(self.get(tc::LARGE_COMMUNITIES), |c| {
            let [a, b, c, d, e, f, g, h, i, j, k, l] = *c;
            LargeCommunity {
                global: u32::from_be_bytes([a, b, c, d]),
                local1: u32::from_be_bytes([e, f, g, h]),
                local2: u32::from_be_bytes([i, j, k, l]),
            }
        })
    }

    /// Unrecognised optional attributes, in order, as on the wire.
    pub fn unknown(&self) -> impl Iterator<Item = RawAttr<'a>> + 'a {
        let any = self.index.unknown;
        self.raw
            .clone()
            .filter(move |a| any && slot(a.type_code).is_none())
    }

    /// The owned attribute set, with AS4_PATH and AS4_AGGREGATOR merged on
    /// 2-octet AS sessions (RFC 6793 4.2.3); vectors are sized exactly.
    pub fn to_owned(&self) -> PathAttributes {
        let mut pa = PathAttributes {
            origin: self.origin(),
            as_path: self.as_path().to_owned(),
            next_hop: self.next_hop(),
            med: self.med(),
            local_pref: self.local_pref(),
            atomic_aggregate: self.atomic_aggregate(),
            aggregator: self.aggregator(),
            communities: self.communities().to_vec(),
            originator_id: self.originator_id(),
            cluster_list: self.cluster_list().to_vec(),
            ext_communities: self.ext_communities().to_vec(),
            large_communities: self.large_communities().to_vec(),
            unknown: Vec::new(),
        };
        if self.index.unknown {
            pa.unknown = self
                .unknown()
                .map(|a| RawAttribute {
                    flags: a.flags & !flags::EXTENDED_LENGTH,
                    type_code: a.type_code,
                    value: a.value.to_vec(),
                })
                .collect();
        }
        if !self.four_octet_as {
            let as4_path = self.as4_path().map(|p| p.to_owned());
            super::path_attrs::merge_as4(&mut pa, as4_path, self.as4_aggregator());
        }
        pa
    }
}

/// Iterator over a list attribute of fixed-size entries (communities,
/// cluster list, ...), decoding each entry on the fly. Exact-size, so
/// `collect` allocates once.
#[derive(Debug, Clone)]
pub struct FixedList<'a, const N: usize, T> {
    raw: &'a [u8],
    f: fn(&[u8; N]) -> T,
}

impl<'a, const N: usize, T> FixedList<'a, N, T> {
    #[inline]
    fn new(v: Option<&'a [u8]>, f: fn(&[u8; N]) -> T) -> Self {
        FixedList {
            raw: v.unwrap_or_default(),
            f,
        }
    }

    /// The octets not yet iterated (validated: a multiple of `N`).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// The remaining entries, in a vector of exactly their number (no
    /// allocation when there are none).
    #[inline]
    pub fn to_vec(self) -> Vec<T> {
        if self.raw.is_empty() {
            return Vec::new();
        }
        self.collect()
    }
}

impl<const N: usize, T> Iterator for FixedList<'_, N, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let (c, rest) = self.raw.split_first_chunk::<N>()?;
        self.raw = rest;
        Some((self.f)(c))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.raw.len() / N;
        (n, Some(n))
    }
}

impl<const N: usize, T> ExactSizeIterator for FixedList<'_, N, T> {}
impl<const N: usize, T> FusedIterator for FixedList<'_, N, T> {}

/// An AS_PATH (or AS4_PATH) as received, validated at decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsPathView<'a> {
    raw: &'a [u8],
    four: bool,
}

impl<'a> AsPathView<'a> {
    /// The attribute value.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    /// Whether ASes are 4 octets wide.
    pub fn four_octet(&self) -> bool {
        self.four
    }

    /// Whether the path has no segment.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The segments in order.
    #[inline]
    pub fn segments(&self) -> SegmentIter<'a> {
        SegmentIter {
            rest: self.raw,
            four: self.four,
        }
    }

    /// Every AS of every segment, in order.
    #[inline]
    pub fn asns(&self) -> impl Iterator<Item = u32> + 'a {
        self.segments().flat_map(|(_, a)| a)
    }

    /// Path length for the decision process (AS_SET counts 1,
    /// confederation segments 0), as [`AsPath::path_len`].
    pub fn path_len(&self) -> usize {
        self.segments()
            .map(|(k, a)| match k {
                AsSegmentType::Sequence => a.len(),
                AsSegmentType::Set => 1,
                AsSegmentType::ConfedSequence | AsSegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// The owned path, each vector allocated at its exact size.
    pub fn to_owned(&self) -> AsPath {
        if self.raw.is_empty() {
            return AsPath::default();
        }
        let mut it = self.segments();
        let Some((kind, a)) = it.next() else {
            return AsPath::default();
        };
        let first = AsSegment {
            kind,
            asns: a.collect(),
        };
        // Most paths are one AS_SEQUENCE: size for the rest only if any.
        let mut segments = Vec::with_capacity(1 + it.clone().count());
        segments.push(first);
        segments.extend(it.map(|(kind, a)| AsSegment {
            kind,
            asns: a.collect(),
        }));
        AsPath { segments }
    }
}

/// Iterator over AS_PATH segments: (type, ASes).
// Slice code, not nom, like `NlriIter`: it walks a path validated at
// decode once per segment, and as a nom parser it cost `attributes()`
// about 8 instructions per prefix more (BENCHMARKS.md, UPDATE codec).
#[derive(Debug, Clone)]
pub struct SegmentIter<'a> {
    rest: &'a [u8],
    four: bool,
}

impl<'a> Iterator for SegmentIter<'a> {
    type Item = (AsSegmentType, Asns<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let [kind, count, rest @ ..] = self.rest else {
            return None;
        };
        let kind = AsSegmentType::from_code(*kind)?;
        let width = if self.four { 4 } else { 2 };
        let (asns, rest) = rest.split_at_checked(usize::from(*count) * width)?;
        self.rest = rest;
        Some((
            kind,
            Asns {
                raw: asns,
                four: self.four,
            },
        ))
    }
}

impl FusedIterator for SegmentIter<'_> {}

/// The ASes of one segment (always reported as 4-octet numbers).
#[derive(Debug, Clone)]
pub struct Asns<'a> {
    raw: &'a [u8],
    four: bool,
}

impl Asns<'_> {
    /// Number of ASes left.
    #[inline]
    pub fn len(&self) -> usize {
        self.raw.len() / if self.four { 4 } else { 2 }
    }

    /// Whether no AS is left.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

impl Iterator for Asns<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.four {
            let (a, rest) = self.raw.split_first_chunk::<4>()?;
            self.raw = rest;
            Some(u32::from_be_bytes(*a))
        } else {
            let (a, rest) = self.raw.split_first_chunk::<2>()?;
            self.raw = rest;
            Some(u32::from(u16::from_be_bytes(*a)))
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.len();
        (n, Some(n))
    }
}

impl ExactSizeIterator for Asns<'_> {}
impl FusedIterator for Asns<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_path_view_matches_parse() {
        let v = [2u8, 2, 0, 0, 0xfd, 0xe8, 0, 1, 0, 0, 1, 1, 0, 0, 0, 9];
        let view = AsPathView {
            raw: &v,
            four: true,
        };
        assert_eq!(view.to_owned(), as_path::parse(&v, true));
        assert_eq!(view.path_len(), 3);
        assert_eq!(view.asns().collect::<Vec<_>>(), vec![65000, 65536, 9]);
        let v2 = [2u8, 3, 0xfd, 0xe8, 0, 1, 0, 2];
        let view = AsPathView {
            raw: &v2,
            four: false,
        };
        assert_eq!(view.to_owned(), as_path::parse(&v2, false));
        assert_eq!(view.path_len(), 3);
    }
}
