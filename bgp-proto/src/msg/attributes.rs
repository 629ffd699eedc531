//! Path attributes as owned values (RFC 4271 5), the form the RIB interns
//! and the encoder writes. AS numbers are always 4-octet here: the codec
//! merges AS4_PATH/AS4_AGGREGATOR on decode and splits them on encode.

use crate::types::Nlri;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Attribute type codes.
pub mod type_code {
    /// 1
    pub const ORIGIN: u8 = 1;
    /// 2
    pub const AS_PATH: u8 = 2;
    /// 3
    pub const NEXT_HOP: u8 = 3;
    /// 4
    pub const MULTI_EXIT_DISC: u8 = 4;
    /// 5
    pub const LOCAL_PREF: u8 = 5;
    /// 6
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// 7
    pub const AGGREGATOR: u8 = 7;
    /// 8
    pub const COMMUNITIES: u8 = 8;
    /// 9
    pub const ORIGINATOR_ID: u8 = 9;
    /// 10
    pub const CLUSTER_LIST: u8 = 10;
    /// 14
    pub const MP_REACH_NLRI: u8 = 14;
    /// 15
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// 16
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// 17
    pub const AS4_PATH: u8 = 17;
    /// 18
    pub const AS4_AGGREGATOR: u8 = 18;
    /// 32
    pub const LARGE_COMMUNITIES: u8 = 32;
}

/// Attribute flag bits.
pub mod flags {
    /// Optional.
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial.
    pub const PARTIAL: u8 = 0x20;
    /// Extended length (2-octet length field).
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// ORIGIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Origin {
    /// 0: IGP.
    Igp,
    /// 1: EGP.
    Egp,
    /// 2: INCOMPLETE.
    Incomplete,
}

impl Origin {
    /// Code point.
    pub fn code(self) -> u8 {
        match self {
            Origin::Igp => 0,
            Origin::Egp => 1,
            Origin::Incomplete => 2,
        }
    }
    /// Parses a code point.
    pub fn from_code(v: u8) -> Option<Self> {
        match v {
            0 => Some(Origin::Igp),
            1 => Some(Origin::Egp),
            2 => Some(Origin::Incomplete),
            _ => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Igp => "igp",
            Origin::Egp => "egp",
            Origin::Incomplete => "incomplete",
        })
    }
}

/// AS_PATH segment types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AsSegmentType {
    /// 1: AS_SET.
    Set,
    /// 2: AS_SEQUENCE.
    Sequence,
    /// 3: AS_CONFED_SEQUENCE (RFC 5065).
    ConfedSequence,
    /// 4: AS_CONFED_SET (RFC 5065).
    ConfedSet,
}

impl AsSegmentType {
    /// Code point.
    pub fn code(self) -> u8 {
        match self {
            AsSegmentType::Set => 1,
            AsSegmentType::Sequence => 2,
            AsSegmentType::ConfedSequence => 3,
            AsSegmentType::ConfedSet => 4,
        }
    }
    /// Parses a code point.
    pub fn from_code(v: u8) -> Option<Self> {
        match v {
            1 => Some(AsSegmentType::Set),
            2 => Some(AsSegmentType::Sequence),
            3 => Some(AsSegmentType::ConfedSequence),
            4 => Some(AsSegmentType::ConfedSet),
            _ => None,
        }
    }
}

/// One AS_PATH segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AsSegment {
    /// Segment type.
    pub kind: AsSegmentType,
    /// AS numbers (4-octet).
    pub asns: Vec<u32>,
}

/// AS_PATH, 4-octet AS numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AsPath {
    /// Segments in order.
    pub segments: Vec<AsSegment>,
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn from_sequence(asns: impl Into<Vec<u32>>) -> Self {
        let asns = asns.into();
        if asns.is_empty() {
            return AsPath::default();
        }
        AsPath {
            segments: vec![AsSegment {
                kind: AsSegmentType::Sequence,
                asns,
            }],
        }
    }

    /// Path length for the decision process (RFC 4271 9.1.2.2 a): an
    /// AS_SET counts 1, confederation segments count 0 (RFC 5065).
    pub fn path_len(&self) -> usize {
        self.segments
            .iter()
            .map(|s| match s.kind {
                AsSegmentType::Sequence => s.asns.len(),
                AsSegmentType::Set => 1,
                AsSegmentType::ConfedSequence | AsSegmentType::ConfedSet => 0,
            })
            .sum()
    }

    /// Whether `asn` appears anywhere in the path.
    pub fn contains(&self, asn: u32) -> bool {
        self.segments.iter().any(|s| s.asns.contains(&asn))
    }

    /// The neighbor AS: the first AS of the first AS_SEQUENCE (RFC 4271
    /// 9.1.2.2 c), skipping confederation segments.
    pub fn neighbor_as(&self) -> Option<u32> {
        self.segments
            .iter()
            .find(|s| {
                !matches!(
                    s.kind,
                    AsSegmentType::ConfedSequence | AsSegmentType::ConfedSet
                )
            })
            .and_then(|s| match s.kind {
                AsSegmentType::Sequence => s.asns.first().copied(),
                _ => None,
            })
    }

    /// The origin AS: the last AS of the last AS_SEQUENCE.
    pub fn origin_as(&self) -> Option<u32> {
        match self.segments.last() {
            Some(s) if s.kind == AsSegmentType::Sequence => s.asns.last().copied(),
            _ => None,
        }
    }

    /// Prepends `asn` `count` times, as an eBGP speaker does on export.
    pub fn prepend(&mut self, asn: u32, count: usize) {
        if count == 0 {
            return;
        }
        match self.segments.first_mut() {
            Some(s) if s.kind == AsSegmentType::Sequence && s.asns.len() + count <= 255 => {
                s.asns.splice(0..0, std::iter::repeat_n(asn, count));
            }
            _ => self.segments.insert(
                0,
                AsSegment {
                    kind: AsSegmentType::Sequence,
                    asns: vec![asn; count],
                },
            ),
        }
    }

    /// True when the path has no AS at all.
    pub fn is_empty(&self) -> bool {
        self.segments.iter().all(|s| s.asns.is_empty())
    }
}

impl fmt::Display for AsPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.segments {
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            let list = s
                .asns
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            match s.kind {
                AsSegmentType::Sequence => f.write_str(&list)?,
                AsSegmentType::Set => write!(f, "{{{list}}}")?,
                AsSegmentType::ConfedSequence => write!(f, "({list})")?,
                AsSegmentType::ConfedSet => write!(f, "[{list}]")?,
            }
        }
        Ok(())
    }
}

/// AGGREGATOR (4-octet AS form).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Aggregator {
    /// Aggregating AS.
    pub asn: u32,
    /// Aggregating speaker.
    pub addr: Ipv4Addr,
}

/// A standard community (RFC 1997).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Community(pub u32);

impl Community {
    /// NO_EXPORT.
    pub const NO_EXPORT: Community = Community(0xFFFF_FF01);
    /// NO_ADVERTISE.
    pub const NO_ADVERTISE: Community = Community(0xFFFF_FF02);
    /// NO_EXPORT_SUBCONFED.
    pub const NO_EXPORT_SUBCONFED: Community = Community(0xFFFF_FF03);
    /// BLACKHOLE (RFC 7999): drop traffic to the prefix.
    pub const BLACKHOLE: Community = Community(0xFFFF_029A);
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.0 >> 16, self.0 & 0xFFFF)
    }
}

/// An extended community (RFC 4360), 8 octets kept as received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExtCommunity(pub [u8; 8]);

/// A large community (RFC 8092).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LargeCommunity {
    /// Global administrator.
    pub global: u32,
    /// Local data part 1.
    pub local1: u32,
    /// Local data part 2.
    pub local2: u32,
}

impl fmt::Display for LargeCommunity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.global, self.local1, self.local2)
    }
}

/// An attribute this codec does not interpret, kept with its flags.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RawAttribute {
    /// Flags as received (the extended-length bit is recomputed on encode).
    pub flags: u8,
    /// Type code.
    pub type_code: u8,
    /// Value.
    pub value: Vec<u8>,
}

/// The path attributes of a route, except MP_REACH/MP_UNREACH (which carry
/// NLRI and live in [`UpdateMessage`]). `Hash + Eq` so the RIB can intern
/// identical sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PathAttributes {
    /// ORIGIN (mandatory when NLRI are present).
    pub origin: Option<Origin>,
    /// AS_PATH, merged with AS4_PATH.
    pub as_path: AsPath,
    /// NEXT_HOP (IPv4 unicast NLRI in the UPDATE body).
    pub next_hop: Option<Ipv4Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// ATOMIC_AGGREGATE.
    pub atomic_aggregate: bool,
    /// AGGREGATOR, merged with AS4_AGGREGATOR.
    pub aggregator: Option<Aggregator>,
    /// COMMUNITIES.
    pub communities: Vec<Community>,
    /// ORIGINATOR_ID (RFC 4456).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456).
    pub cluster_list: Vec<Ipv4Addr>,
    /// EXTENDED_COMMUNITIES.
    pub ext_communities: Vec<ExtCommunity>,
    /// LARGE_COMMUNITIES.
    pub large_communities: Vec<LargeCommunity>,
    /// Unrecognised attributes, in order.
    pub unknown: Vec<RawAttribute>,
}

/// The next hop of MP_REACH_NLRI: a global address and, for IPv6, an
/// optional link-local one (RFC 2545). An IPv4 address for IPv6 NLRI is
/// kept as an IPv4-mapped IPv6 address, as Cilium sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MpNextHop {
    /// Global next hop.
    pub global: IpAddr,
    /// IPv6 link-local next hop, when 32 octets were sent.
    pub link_local: Option<Ipv6Addr>,
}

impl MpNextHop {
    /// The address to forward to: the global next hop, or the link-local
    /// one where the global is `::` (what a speaker with no global
    /// address on an unnumbered link sends).
    pub fn forwarding(&self) -> IpAddr {
        match (self.global, self.link_local) {
            (IpAddr::V6(g), Some(l)) if g.is_unspecified() => IpAddr::V6(l),
            (g, _) => g,
        }
    }
}

/// MP_REACH_NLRI (RFC 4760).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpReach {
    /// Family.
    pub family: crate::types::Family,
    /// Next hop.
    pub next_hop: MpNextHop,
    /// Reachable NLRI.
    pub nlri: Vec<Nlri>,
}

/// MP_UNREACH_NLRI (RFC 4760).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MpUnreach {
    /// Family.
    pub family: crate::types::Family,
    /// Withdrawn NLRI.
    pub withdrawn: Vec<Nlri>,
}

/// An UPDATE message as owned values: what the encoder takes and what
/// `Update::to_owned` gives.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateMessage {
    /// Withdrawn IPv4 unicast routes.
    pub withdrawn: Vec<Nlri>,
    /// Path attributes (without MP_REACH/MP_UNREACH).
    pub attributes: PathAttributes,
    /// MP_REACH_NLRI.
    pub mp_reach: Option<MpReach>,
    /// MP_UNREACH_NLRI.
    pub mp_unreach: Option<MpUnreach>,
    /// Reachable IPv4 unicast NLRI.
    pub nlri: Vec<Nlri>,
}

impl UpdateMessage {
    /// The End-of-RIB marker for `family` (RFC 4724 2): an empty UPDATE
    /// for IPv4 unicast, an empty MP_UNREACH_NLRI otherwise.
    pub fn end_of_rib(family: crate::types::Family) -> Self {
        if family == crate::types::Family::IPV4_UNICAST {
            UpdateMessage::default()
        } else {
            UpdateMessage {
                mp_unreach: Some(MpUnreach {
                    family,
                    withdrawn: Vec::new(),
                }),
                ..UpdateMessage::default()
            }
        }
    }

    /// The family this UPDATE marks End-of-RIB for, if it is one.
    pub fn end_of_rib_family(&self) -> Option<crate::types::Family> {
        let no_attrs = self.attributes == PathAttributes::default();
        if !no_attrs || !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match (&self.mp_reach, &self.mp_unreach) {
            (None, None) => Some(crate::types::Family::IPV4_UNICAST),
            (None, Some(u)) if u.withdrawn.is_empty() => Some(u.family),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_next_hop_is_the_global_one_unless_it_is_unspecified() {
        let ll: Ipv6Addr = "fe80::2".parse().unwrap();
        let nh = |g: &str, l| MpNextHop {
            global: g.parse().unwrap(),
            link_local: l,
        };
        let global: IpAddr = "2001:db8::2".parse().unwrap();
        assert_eq!(nh("2001:db8::2", Some(ll)).forwarding(), global);
        assert_eq!(nh("::", Some(ll)).forwarding(), IpAddr::V6(ll));
        assert_eq!(nh("fe80::2", None).forwarding(), IpAddr::V6(ll));
        let v4: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(nh("10.0.0.2", None).forwarding(), v4);
    }

    #[test]
    fn as_path_length_and_neighbor() {
        let p = AsPath {
            segments: vec![
                AsSegment {
                    kind: AsSegmentType::ConfedSequence,
                    asns: vec![1, 2],
                },
                AsSegment {
                    kind: AsSegmentType::Sequence,
                    asns: vec![65100, 65001],
                },
                AsSegment {
                    kind: AsSegmentType::Set,
                    asns: vec![7, 8, 9],
                },
            ],
        };
        assert_eq!(p.path_len(), 3);
        assert_eq!(p.neighbor_as(), Some(65100));
        assert_eq!(p.origin_as(), None);
        assert!(p.contains(8));
        assert_eq!(p.to_string(), "(1 2) 65100 65001 {7 8 9}");
    }

    #[test]
    fn prepend_extends_leading_sequence() {
        let mut p = AsPath::from_sequence(vec![65100]);
        p.prepend(65000, 2);
        assert_eq!(p, AsPath::from_sequence(vec![65000, 65000, 65100]));
        let mut e = AsPath::default();
        e.prepend(65000, 1);
        assert_eq!(e, AsPath::from_sequence(vec![65000]));
    }

    #[test]
    fn end_of_rib_markers() {
        use crate::types::Family;
        for f in [Family::IPV4_UNICAST, Family::IPV6_UNICAST] {
            assert_eq!(UpdateMessage::end_of_rib(f).end_of_rib_family(), Some(f));
        }
    }
}
