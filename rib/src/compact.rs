//! A compact private byte form of [`RouteAttrs`] for the interning arena.
//!
//! [`PathAttributes`] is about 240 bytes before its vectors' heap parts,
//! most of it empty vectors; a typical route's attributes fit in about 40
//! bytes here. Not a wire format: it is only read back by [`decode`], from
//! bytes [`encode`] wrote, so decoding returns `None` only on a bug (and
//! never panics).
//!
//! Layout: a presence byte, the fixed fields present, the next hop (tag 4
//! or 6 and the address), then the lists, each as a length and items.
//! Lengths below 255 take one byte, others 255 and four bytes.

use crate::attrs::RouteAttrs;
use bgp_proto::msg::attributes::{
    Aggregator, AsPath, AsSegment, AsSegmentType, Community, ExtCommunity, LargeCommunity, Origin,
    PathAttributes, RawAttribute,
};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const HAS_ORIGIN: u8 = 1;
const HAS_MED: u8 = 2;
const HAS_LOCAL_PREF: u8 = 4;
const ATOMIC: u8 = 8;
const HAS_AGGREGATOR: u8 = 16;
const HAS_ORIGINATOR: u8 = 32;
const HAS_NEXT_HOP_ATTR: u8 = 64;

fn put_len(out: &mut Vec<u8>, n: usize) {
    match u8::try_from(n) {
        Ok(b) if b < 255 => out.push(b),
        _ => {
            out.push(255);
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes());
        }
    }
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

/// Encodes `ra`.
pub(crate) fn encode(ra: &RouteAttrs) -> Box<[u8]> {
    let a = &ra.attrs;
    let mut out = Vec::with_capacity(48);
    let mut present = 0u8;
    for (cond, bit) in [
        (a.origin.is_some(), HAS_ORIGIN),
        (a.med.is_some(), HAS_MED),
        (a.local_pref.is_some(), HAS_LOCAL_PREF),
        (a.atomic_aggregate, ATOMIC),
        (a.aggregator.is_some(), HAS_AGGREGATOR),
        (a.originator_id.is_some(), HAS_ORIGINATOR),
        (a.next_hop.is_some(), HAS_NEXT_HOP_ATTR),
    ] {
        if cond {
            present |= bit;
        }
    }
    out.push(present);
    if let Some(o) = a.origin {
        out.push(o.code());
    }
    if let Some(m) = a.med {
        put_u32(&mut out, m);
    }
    if let Some(lp) = a.local_pref {
        put_u32(&mut out, lp);
    }
    if let Some(ag) = a.aggregator {
        put_u32(&mut out, ag.asn);
        out.extend_from_slice(&ag.addr.octets());
    }
    if let Some(o) = a.originator_id {
        out.extend_from_slice(&o.octets());
    }
    if let Some(nh) = a.next_hop {
        out.extend_from_slice(&nh.octets());
    }
    match ra.next_hop {
        IpAddr::V4(v4) => {
            out.push(4);
            out.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            out.push(6);
            out.extend_from_slice(&v6.octets());
        }
    }
    put_len(&mut out, a.as_path.segments.len());
    for s in &a.as_path.segments {
        out.push(s.kind.code());
        put_len(&mut out, s.asns.len());
        for asn in &s.asns {
            put_u32(&mut out, *asn);
        }
    }
    put_len(&mut out, a.communities.len());
    for c in &a.communities {
        put_u32(&mut out, c.0);
    }
    put_len(&mut out, a.cluster_list.len());
    for c in &a.cluster_list {
        out.extend_from_slice(&c.octets());
    }
    put_len(&mut out, a.ext_communities.len());
    for c in &a.ext_communities {
        out.extend_from_slice(&c.0);
    }
    put_len(&mut out, a.large_communities.len());
    for c in &a.large_communities {
        for v in [c.global, c.local1, c.local2] {
            put_u32(&mut out, v);
        }
    }
    put_len(&mut out, a.unknown.len());
    for u in &a.unknown {
        out.push(u.flags);
        out.push(u.type_code);
        put_len(&mut out, u.value.len());
        out.extend_from_slice(&u.value);
    }
    out.into_boxed_slice()
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|[b]| b)
    }
    fn u32(&mut self) -> Option<u32> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn v4(&mut self) -> Option<Ipv4Addr> {
        self.take::<4>().map(Ipv4Addr::from)
    }
    fn len(&mut self) -> Option<usize> {
        match self.u8()? {
            255 => usize::try_from(self.u32()?).ok(),
            b => Some(usize::from(b)),
        }
    }
    fn skip(&mut self, n: usize) -> Option<()> {
        self.0 = self.0.get(n..)?;
        Some(())
    }
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let n = self.len()?;
        // Each item takes at least one byte: bounds the allocation.
        let mut v = Vec::with_capacity(n.min(self.0.len()));
        for _ in 0..n {
            v.push(item(self)?);
        }
        Some(v)
    }
}

/// The ASes of the AS_PATH of what [`encode`] wrote, every segment's in
/// order, without decoding the rest (the loop check reads only these).
pub(crate) fn as_path_asns(bytes: &[u8]) -> Option<Vec<u32>> {
    let mut r = Reader(bytes);
    let present = r.u8()?;
    // The fixed fields before the next hop, in `encode`'s order.
    let fixed: usize = [
        (HAS_ORIGIN, 1),
        (HAS_MED, 4),
        (HAS_LOCAL_PREF, 4),
        (HAS_AGGREGATOR, 8),
        (HAS_ORIGINATOR, 4),
        (HAS_NEXT_HOP_ATTR, 4),
    ]
    .iter()
    .filter(|(bit, _)| present & bit != 0)
    .map(|(_, n)| n)
    .sum();
    r.skip(fixed)?;
    let next_hop = if r.u8()? == 4 { 4 } else { 16 };
    r.skip(next_hop)?;
    let mut asns = Vec::new();
    for _ in 0..r.len()? {
        r.u8()?;
        let n = r.len()?;
        asns.reserve(n.min(r.0.len() / 4));
        for _ in 0..n {
            asns.push(r.u32()?);
        }
    }
    Some(asns)
}

/// Decodes what [`encode`] wrote.
pub(crate) fn decode(bytes: &[u8]) -> Option<RouteAttrs> {
    let mut r = Reader(bytes);
    let present = r.u8()?;
    let has = |bit: u8| present & bit != 0;
    let mut a = PathAttributes {
        origin: if has(HAS_ORIGIN) {
            Some(Origin::from_code(r.u8()?)?)
        } else {
            None
        },
        med: if has(HAS_MED) { Some(r.u32()?) } else { None },
        local_pref: if has(HAS_LOCAL_PREF) {
            Some(r.u32()?)
        } else {
            None
        },
        atomic_aggregate: has(ATOMIC),
        ..PathAttributes::default()
    };
    if has(HAS_AGGREGATOR) {
        a.aggregator = Some(Aggregator {
            asn: r.u32()?,
            addr: r.v4()?,
        });
    }
    if has(HAS_ORIGINATOR) {
        a.originator_id = Some(r.v4()?);
    }
    if has(HAS_NEXT_HOP_ATTR) {
        a.next_hop = Some(r.v4()?);
    }
    let next_hop = match r.u8()? {
        4 => IpAddr::V4(r.v4()?),
        _ => IpAddr::V6(Ipv6Addr::from(r.take::<16>()?)),
    };
    let segments = r.list(|r| {
        let kind = AsSegmentType::from_code(r.u8()?)?;
        Some(AsSegment {
            kind,
            asns: r.list(Reader::u32)?,
        })
    })?;
    a.as_path = AsPath { segments };
    a.communities = r.list(|r| r.u32().map(Community))?;
    a.cluster_list = r.list(Reader::v4)?;
    a.ext_communities = r.list(|r| r.take::<8>().map(ExtCommunity))?;
    a.large_communities = r.list(|r| {
        Some(LargeCommunity {
            global: r.u32()?,
            local1: r.u32()?,
            local2: r.u32()?,
        })
    })?;
    a.unknown = r.list(|r| {
        let flags = r.u8()?;
        let type_code = r.u8()?;
        let value = r.list(Reader::u8)?;
        Some(RawAttribute {
            flags,
            type_code,
            value,
        })
    })?;
    Some(RouteAttrs { attrs: a, next_hop })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_field() {
        let full = RouteAttrs {
            attrs: PathAttributes {
                origin: Some(Origin::Egp),
                as_path: AsPath {
                    segments: vec![
                        AsSegment {
                            kind: AsSegmentType::Sequence,
                            asns: (0..300).collect(),
                        },
                        AsSegment {
                            kind: AsSegmentType::Set,
                            asns: vec![7, 8],
                        },
                    ],
                },
                next_hop: Some(Ipv4Addr::new(1, 2, 3, 4)),
                med: Some(5),
                local_pref: Some(200),
                atomic_aggregate: true,
                aggregator: Some(Aggregator {
                    asn: 65000,
                    addr: Ipv4Addr::new(9, 9, 9, 9),
                }),
                communities: vec![Community(1), Community::NO_EXPORT],
                originator_id: Some(Ipv4Addr::new(10, 0, 0, 1)),
                cluster_list: vec![Ipv4Addr::new(10, 0, 0, 2)],
                ext_communities: vec![ExtCommunity([1, 2, 3, 4, 5, 6, 7, 8])],
                large_communities: vec![LargeCommunity {
                    global: 1,
                    local1: 2,
                    local2: 3,
                }],
                unknown: vec![RawAttribute {
                    flags: 0xc0,
                    type_code: 99,
                    value: vec![0; 300],
                }],
            },
            next_hop: "2001:db8::1".parse().unwrap(),
        };
        assert_eq!(decode(&encode(&full)), Some(full.clone()));
        let mut path: Vec<u32> = (0..300).collect();
        path.extend([7, 8]);
        assert_eq!(as_path_asns(&encode(&full)), Some(path));
        let small = RouteAttrs {
            attrs: PathAttributes {
                origin: Some(Origin::Igp),
                as_path: AsPath::from_sequence(vec![65100, 3356, 1299, 100_000]),
                med: Some(1),
                communities: vec![Community(3356 << 16)],
                ..PathAttributes::default()
            },
            next_hop: "172.18.0.2".parse().unwrap(),
        };
        let bytes = encode(&small);
        assert!(bytes.len() <= 40, "{} bytes", bytes.len());
        assert_eq!(decode(&bytes), Some(small));
        assert_eq!(as_path_asns(&bytes), Some(vec![65100, 3356, 1299, 100_000]));
        // Every fixed field absent, an IPv4 next hop.
        let bare = RouteAttrs {
            attrs: PathAttributes {
                as_path: AsPath::from_sequence(vec![1, 2]),
                ..PathAttributes::default()
            },
            next_hop: "10.0.0.1".parse().unwrap(),
        };
        assert_eq!(as_path_asns(&encode(&bare)), Some(vec![1, 2]));
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&bytes[..10]), None);
        assert_eq!(as_path_asns(&bytes[..12]), None);
    }
}
