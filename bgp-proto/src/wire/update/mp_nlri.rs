//! MP_REACH_NLRI and MP_UNREACH_NLRI (RFC 4760 3 and 4), parsed at decode
//! into [`MpSlot`]s and handed out as borrowed views.
//!
//! ```text
//! MP_REACH_NLRI                          MP_UNREACH_NLRI
//! +----------------------------------+   +-----------------------------+
//! | AFI (2) | SAFI (1)               |   | AFI (2) | SAFI (1)          |
//! | Length of Next Hop (1)           |   | Withdrawn Routes (variable) |
//! | Next Hop (variable)              |   +-----------------------------+
//! | Reserved (1)                     |
//! | NLRI (variable)                  |
//! +----------------------------------+
//! ```
//!
//! Next hops: 4 octets (IPv4), 16 (IPv6 global, which may be IPv4-mapped as
//! Cilium sends for IPv6 routes over an IPv4 session: kept as given), or 32
//! (global + link-local, RFC 2545). For IPv4 NLRI, 16 or 32 octets are an
//! IPv6 next hop (RFC 8950). Families other than IPv4/IPv6 unicast and
//! multicast are kept (family, next hop) but their NLRI are not parsed: the
//! iterators yield nothing and the attribute is reported as discarded.

use super::super::parse::{be_u16, be_u8, run, take};
use super::error::{NlriField, UpdateError};
use super::nlri::{self, AddrKind, NlriIter};
use crate::msg::attributes::{type_code as tc, MpNextHop};
use crate::types::{Afi, Family, Nlri, Safi};
use bytes::{BufMut, Bytes, BytesMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// A parsed MP_REACH/MP_UNREACH, as offsets into the UPDATE body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MpSlot {
    pub(crate) family: Family,
    /// The next hop octets (kept small: decoded on access).
    pub(crate) next_hop: Range<u32>,
    pub(crate) nlri: Range<u32>,
    /// `None` when the family's NLRI format is not known.
    pub(crate) kind: Option<AddrKind>,
    pub(crate) add_path: bool,
}

/// The NLRI format of a family we parse.
pub(crate) fn addr_kind(f: Family) -> Option<AddrKind> {
    match (f.afi, f.safi) {
        (Afi::Ipv4, Safi::Unicast | Safi::Multicast) => Some(AddrKind::V4),
        (Afi::Ipv6, Safi::Unicast | Safi::Multicast) => Some(AddrKind::V6),
        _ => None,
    }
}

fn v6(b: &[u8]) -> Option<Ipv6Addr> {
    let a: [u8; 16] = b.try_into().ok()?;
    Some(Ipv6Addr::from(a))
}

/// Decodes a next hop; `None` when its length does not fit the family.
fn next_hop(afi: Afi, nh: &[u8]) -> Option<MpNextHop> {
    match (afi, nh.len()) {
        (Afi::Ipv4 | Afi::Ipv6, 4) => {
            let a: [u8; 4] = nh.try_into().ok()?;
            Some(MpNextHop {
                global: IpAddr::V4(Ipv4Addr::from(a)),
                link_local: None,
            })
        }
        (Afi::Ipv4 | Afi::Ipv6, 16) => Some(MpNextHop {
            global: IpAddr::V6(v6(nh)?),
            link_local: None,
        }),
        (Afi::Ipv4 | Afi::Ipv6, 32) => {
            let (g, l) = nh.split_at_checked(16)?;
            Some(MpNextHop {
                global: IpAddr::V6(v6(g)?),
                link_local: Some(v6(l)?),
            })
        }
        _ => None,
    }
}

/// Parses MP_REACH_NLRI whose value starts at body offset `base`. Errors
/// are session resets (RFC 7606 7.11); `Ok((slot, unsupported))`.
pub(crate) fn parse_reach(
    body: &Bytes,
    attr: Range<usize>,
    base: usize,
    add_path: impl Fn(Family) -> bool,
) -> Result<MpSlot, UpdateError> {
    let v = body.get(base..attr.end).unwrap_or_default();
    let err = |reason| UpdateError::OptionalAttribute {
        offset: attr.start,
        type_code: tc::MP_REACH_NLRI,
        reason,
        data: body.slice(attr.clone()),
    };
    let (r, (afi, safi, nh_len)) = run((be_u16, be_u8, be_u8), v)
        .ok_or_else(|| err("shorter than AFI, SAFI and next hop length"))?;
    let family = Family::new(afi, safi);
    let (r, nh) = run(take(nh_len), r).ok_or_else(|| err("next hop overruns the attribute"))?;
    let (nlri, _reserved) = run(be_u8, r).ok_or_else(|| err("reserved octet missing"))?;
    let kind = addr_kind(family);
    // RFC 7606 7.11: "If the Length of Next Hop Network Address field of
    // the MP_REACH attribute is inconsistent with that which was expected,
    // the attribute is considered malformed. ... the "session reset" or
    // "AFI/SAFI disable" approach MUST be used."
    if kind.is_some() && next_hop(family.afi, nh).is_none() {
        return Err(err("next hop length does not fit the address family"));
    }
    let nh_start = base + 4;
    let next_hop = range32(nh_start..nh_start + nh.len());
    let start = attr.end - nlri.len();
    let ap = add_path(family);
    if let Some(k) = kind {
        nlri::validate(nlri, start, k, ap, NlriField::MpReach)?;
    }
    Ok(MpSlot {
        family,
        next_hop,
        nlri: range32(start..attr.end),
        kind,
        add_path: ap,
    })
}

/// Offsets in a body (at most 65535 octets by RFC 8654) as `u32`.
fn range32(r: Range<usize>) -> Range<u32> {
    let c = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
    c(r.start)..c(r.end)
}

fn range(r: &Range<u32>) -> Range<usize> {
    r.start as usize..r.end as usize
}

/// Parses MP_UNREACH_NLRI whose value starts at `base` (RFC 7606 7.12).
pub(crate) fn parse_unreach(
    body: &Bytes,
    attr: Range<usize>,
    base: usize,
    add_path: impl Fn(Family) -> bool,
) -> Result<MpSlot, UpdateError> {
    let v = body.get(base..attr.end).unwrap_or_default();
    let Some((nlri, (afi, safi))) = run((be_u16, be_u8), v) else {
        return Err(UpdateError::OptionalAttribute {
            offset: attr.start,
            type_code: tc::MP_UNREACH_NLRI,
            reason: "shorter than AFI and SAFI",
            data: body.slice(attr.clone()),
        });
    };
    let family = Family::new(afi, safi);
    let kind = addr_kind(family);
    let start = attr.end - nlri.len();
    let ap = add_path(family);
    if let Some(k) = kind {
        nlri::validate(nlri, start, k, ap, NlriField::MpUnreach)?;
    }
    Ok(MpSlot {
        family,
        next_hop: 0..0,
        nlri: range32(start..attr.end),
        kind,
        add_path: ap,
    })
}

impl MpSlot {
    pub(crate) fn iter<'a>(&self, body: &'a [u8]) -> NlriIter<'a> {
        match (self.kind, body.get(range(&self.nlri))) {
            (Some(k), Some(b)) => NlriIter::new(b, k, self.add_path),
            _ => NlriIter::empty(),
        }
    }
}

/// A borrowed view of MP_REACH_NLRI.
#[derive(Debug, Clone)]
pub struct MpReachView<'a> {
    pub(crate) slot: &'a MpSlot,
    pub(crate) body: &'a [u8],
}

impl<'a> MpReachView<'a> {
    /// The AFI/SAFI.
    pub fn family(&self) -> Family {
        self.slot.family
    }
    /// The next hop, as received.
    pub fn next_hop(&self) -> MpNextHop {
        let nh = self
            .body
            .get(range(&self.slot.next_hop))
            .unwrap_or_default();
        next_hop(self.slot.family.afi, nh).unwrap_or(MpNextHop {
            global: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            link_local: None,
        })
    }
    /// The next hop octets as received.
    pub fn next_hop_bytes(&self) -> &'a [u8] {
        self.body
            .get(range(&self.slot.next_hop))
            .unwrap_or_default()
    }
    /// Whether the NLRI format of the family is known (IPv4/IPv6 unicast or
    /// multicast); otherwise [`nlri`](Self::nlri) yields nothing.
    pub fn is_supported(&self) -> bool {
        self.slot.kind.is_some()
    }
    /// The reachable NLRI.
    pub fn nlri(&self) -> NlriIter<'a> {
        self.slot.iter(self.body)
    }
}

/// A borrowed view of MP_UNREACH_NLRI.
#[derive(Debug, Clone)]
pub struct MpUnreachView<'a> {
    pub(crate) slot: &'a MpSlot,
    pub(crate) body: &'a [u8],
}

impl<'a> MpUnreachView<'a> {
    /// The AFI/SAFI.
    pub fn family(&self) -> Family {
        self.slot.family
    }
    /// Whether the NLRI format of the family is known.
    pub fn is_supported(&self) -> bool {
        self.slot.kind.is_some()
    }
    /// The withdrawn NLRI.
    pub fn withdrawn(&self) -> NlriIter<'a> {
        self.slot.iter(self.body)
    }
    /// True when nothing is withdrawn (an End-of-RIB marker, if it is the
    /// only attribute).
    pub fn is_empty(&self) -> bool {
        self.slot.nlri.is_empty()
    }
}

/// Octets of the next hop on the wire.
pub(crate) fn next_hop_len(nh: &MpNextHop) -> usize {
    match (nh.global, nh.link_local) {
        (IpAddr::V4(_), _) => 4,
        (IpAddr::V6(_), None) => 16,
        (IpAddr::V6(_), Some(_)) => 32,
    }
}

/// Writes AFI, SAFI, next hop length, next hop and the reserved octet.
pub(crate) fn write_reach_head(out: &mut BytesMut, family: Family, nh: &MpNextHop) {
    out.put_u16(family.afi.code());
    out.put_u8(family.safi.code());
    out.put_u8(next_hop_len(nh) as u8);
    match nh.global {
        IpAddr::V4(a) => out.put_slice(&a.octets()),
        IpAddr::V6(a) => {
            out.put_slice(&a.octets());
            if let Some(l) = nh.link_local {
                out.put_slice(&l.octets());
            }
        }
    }
    out.put_u8(0);
}

/// Whether every NLRI belongs to the family's address kind.
pub(crate) fn check_family(family: Family, list: &[Nlri]) -> bool {
    match addr_kind(family) {
        Some(AddrKind::V4) => list
            .iter()
            .all(|n| matches!(n.prefix, crate::types::Prefix::V4(_))),
        Some(AddrKind::V6) => list
            .iter()
            .all(|n| matches!(n.prefix, crate::types::Prefix::V6(_))),
        None => list.is_empty(),
    }
}
