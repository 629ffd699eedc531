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
//! IPv6 next hop (RFC 8950), accepted only when the session negotiated the
//! Extended Next Hop Encoding capability for the family (else the routes are
//! treat-as-withdraw: [`ipv6_next_hop_refused`]). Families other than
//! IPv4/IPv6 unicast and
//! multicast are kept (family, next hop) but their NLRI are not parsed: the
//! iterators yield nothing and the attribute is reported as discarded.

use super::super::parse::{be_u16, be_u8, run, take};
use super::error::{NlriField, UpdateError};
use super::nlri::{self, AddrKind, NlriIter};
use crate::msg::attributes::{type_code as tc, MpNextHop};
use crate::msg::SessionContext;
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

/// Parses MP_REACH_NLRI whose value starts at body offset `base`, on the
/// session `ctx` (ADD-PATH). Errors are session resets (RFC 7606 7.11);
/// a next hop the session does not allow is [`ipv6_next_hop_refused`].
pub(crate) fn parse_reach(
    body: &Bytes,
    attr: Range<usize>,
    base: usize,
    ctx: &SessionContext,
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
    let ap = ctx.add_path_rx(family);
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

/// Whether a parsed MP_REACH_NLRI carries IPv4 NLRI with an IPv6 next hop
/// the session `ctx` does not allow. RFC 8950 4: "A BGP speaker MUST only
/// advertise the IPv4 or VPN-IPv4 NLRI with an IPv6 next hop to a BGP peer
/// if the BGP speaker has first ascertained via the BGP Capability
/// Advertisement that the BGP peer supports the Extended Next Hop Encoding
/// capability for the relevant AFI/SAFI pair." The attribute itself is
/// well formed (its NLRI can be found), so this is not RFC 7606 7.11's
/// inconsistent length: the routes are treat-as-withdraw, as for a
/// semantically invalid NEXT_HOP (RFC 4271 6.3), and the session stays.
pub(crate) fn ipv6_next_hop_refused(slot: &MpSlot, ctx: &SessionContext) -> bool {
    let nh_len = slot.next_hop.end.saturating_sub(slot.next_hop.start);
    slot.kind == Some(AddrKind::V4) && nh_len != 4 && !ctx.ipv6_next_hop_for(slot.family)
}

/// Whether `nh` may be sent with NLRI of `family` on the session `ctx`:
/// an IPv6 next hop for IPv4 NLRI only with the extended next hop
/// capability (RFC 8950 4, the check [`parse_reach`] makes on receipt).
pub(crate) fn next_hop_allowed(ctx: &SessionContext, family: Family, nh: &MpNextHop) -> bool {
    addr_kind(family) != Some(AddrKind::V4) || nh.global.is_ipv4() || ctx.ipv6_next_hop_for(family)
}

/// The next hop as it goes on the wire for `family`: an IPv4 address for
/// IPv6 NLRI (our address on an IPv4 session) in its IPv4-mapped form, as
/// GoBGP and Cilium send it. RFC 2545 3 wants an IPv6 address there; BIRD
/// and FRR refuse four octets.
pub(crate) fn wire_next_hop(family: Family, nh: MpNextHop) -> MpNextHop {
    match nh.global {
        IpAddr::V4(a) if addr_kind(family) == Some(AddrKind::V6) => MpNextHop {
            global: IpAddr::V6(a.to_ipv6_mapped()),
            link_local: nh.link_local,
        },
        _ => nh,
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::super::{encode_body, Update, UpdatePacker};
    use crate::msg::attributes::{AsPath, MpNextHop, MpReach, Origin, PathAttributes};
    use crate::msg::{ExtendedNextHop, SessionContext, UpdateMessage};
    use crate::types::{Family, Nlri};
    use bytes::{Bytes, BytesMut};

    /// A 4-octet AS session, with the extended next hop capability
    /// negotiated for `ext` (IPv4 NLRI families, next hop AFI IPv6).
    fn ctx(ext: &[Family]) -> SessionContext {
        SessionContext {
            four_octet_as: true,
            extended_next_hop: ext
                .iter()
                .map(|f| ExtendedNextHop {
                    family: *f,
                    next_hop_afi: 2,
                })
                .collect(),
            ..SessionContext::default()
        }
    }

    /// An UPDATE body announcing 10.242.0.0/24 of `safi` in MP_REACH_NLRI
    /// with next hop `nh`, and the MP_REACH_NLRI attribute alone.
    fn body(safi: u8, nh: &[u8]) -> (Bytes, Vec<u8>) {
        let mut mp = vec![0x00, 0x01, safi, nh.len() as u8];
        mp.extend_from_slice(nh);
        mp.extend_from_slice(&[0, 24, 10, 242, 0]);
        let mut attr = vec![0x80, 0x0e, mp.len() as u8];
        attr.extend_from_slice(&mp);
        let mut attrs = attr.clone();
        attrs.extend_from_slice(&[0x40, 1, 1, 0, 0x40, 2, 6, 2, 1, 0, 0, 0xfe, 0x4c]);
        let mut b = vec![0, 0];
        b.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        b.extend_from_slice(&attrs);
        (Bytes::from(b), attr)
    }

    fn global() -> [u8; 16] {
        "2001:db8::2"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets()
    }

    fn link_local() -> [u8; 16] {
        "fe80::2".parse::<std::net::Ipv6Addr>().unwrap().octets()
    }

    #[test]
    fn ipv6_next_hop_for_ipv4_nlri_needs_the_capability() {
        let both = [global(), link_local()].concat();
        for fast in [true, false] {
            // Without the capability: the session stays, the routes are
            // treat-as-withdraw (RFC 8950 4, RFC 4271 6.3), for 16 and 32
            // octets alike.
            for nh in [&global()[..], &both[..]] {
                let (b, _) = body(1, nh);
                let u = Update::decode_with(b, &ctx(&[]), fast).unwrap();
                assert!(u.is_treat_as_withdraw());
                assert_eq!(u.announcements().count(), 0);
                let gone: Vec<String> =
                    u.withdrawals().map(|(_, n)| n.prefix.to_string()).collect();
                assert_eq!(gone, vec!["10.242.0.0/24"]);
                assert!(matches!(
                    u.issues()[0].error,
                    super::super::UpdateError::NextHopNotNegotiated { .. }
                ));
            }
            // The capability for IPv4 unicast does not cover multicast.
            let (b, _) = body(2, &global());
            let u = Update::decode_with(b, &ctx(&[Family::IPV4_UNICAST]), fast).unwrap();
            assert!(u.is_treat_as_withdraw());

            // With it: global, or global + link-local, or still IPv4.
            let c = ctx(&[Family::IPV4_UNICAST]);
            let u = Update::decode_with(body(1, &global()).0, &c, fast).unwrap();
            assert_eq!(u.issues(), &[]);
            let nh = u.mp_reach().unwrap().next_hop();
            assert_eq!(nh.global.to_string(), "2001:db8::2");
            assert_eq!(nh.link_local, None);
            let got: Vec<_> = u.announcements().collect();
            assert_eq!(got.len(), 1);
            assert_eq!(got[0].0, Family::IPV4_UNICAST);
            assert_eq!(got[0].1.prefix.to_string(), "10.242.0.0/24");
            let u = Update::decode_with(body(1, &both).0, &c, fast).unwrap();
            let nh = u.mp_reach().unwrap().next_hop();
            assert_eq!(
                nh.link_local.map(|a| a.to_string()).as_deref(),
                Some("fe80::2")
            );
            let u = Update::decode_with(body(1, &[172, 18, 0, 2]).0, &c, fast).unwrap();
            assert_eq!(
                u.mp_reach().unwrap().next_hop().global.to_string(),
                "172.18.0.2"
            );

            // A length that fits no form is refused with or without it.
            for len in [0, 8, 17, 48] {
                let nh = vec![0x20; len];
                for c in [ctx(&[]), ctx(&[Family::IPV4_UNICAST])] {
                    let e = Update::decode_with(body(1, &nh).0, &c, fast).unwrap_err();
                    assert_eq!(e.notification().subcode, 9, "length {len}");
                }
            }
        }
    }

    #[test]
    fn ipv6_next_hop_for_ipv4_nlri_is_sent_only_with_the_capability() {
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(vec![65100]),
            ..PathAttributes::default()
        };
        let nh = MpNextHop {
            global: "2001:db8::2".parse().unwrap(),
            link_local: None,
        };
        let nlri = vec![Nlri::new("10.242.0.0/24".parse().unwrap())];
        let msg = UpdateMessage {
            attributes: attrs.clone(),
            mp_reach: Some(MpReach {
                family: Family::IPV4_UNICAST,
                next_hop: nh,
                nlri: nlri.clone(),
            }),
            ..UpdateMessage::default()
        };
        let (without, with) = (ctx(&[]), ctx(&[Family::IPV4_UNICAST]));
        assert!(encode_body(&msg, &without, &mut BytesMut::new()).is_err());
        let mut out = BytesMut::new();
        encode_body(&msg, &with, &mut out).unwrap();
        let u = Update::decode(out.freeze(), &with).unwrap();
        assert_eq!(u.to_owned(), msg);

        let fam = Family::IPV4_UNICAST;
        let p = UpdatePacker::new(&without);
        assert!(p.announce(&attrs, Some(nh), fam, &nlri).is_err());
        let p = UpdatePacker::new(&with);
        let msgs = p.announce(&attrs, Some(nh), fam, &nlri).unwrap();
        assert_eq!(msgs.len(), 1);
        let u = Update::decode(msgs[0].slice(19..), &with).unwrap();
        assert_eq!(u.mp_reach().unwrap().next_hop(), nh);
        // An IPv4 next hop needs no capability.
        let v4 = MpNextHop {
            global: "172.18.0.5".parse().unwrap(),
            link_local: None,
        };
        assert!(UpdatePacker::new(&without)
            .announce(&attrs, Some(v4), fam, &nlri)
            .is_ok());
    }

    #[test]
    fn ipv4_next_hop_for_ipv6_nlri_goes_out_ipv4_mapped() {
        let attrs = PathAttributes {
            origin: Some(Origin::Igp),
            as_path: AsPath::from_sequence(vec![65000]),
            ..PathAttributes::default()
        };
        let v4 = MpNextHop {
            global: "172.18.0.5".parse().unwrap(),
            link_local: None,
        };
        let fam = Family::IPV6_UNICAST;
        let nlri = vec![Nlri::new("fd00:10:244::/64".parse().unwrap())];
        let c = ctx(&[]);
        let mapped: std::net::IpAddr = "::ffff:172.18.0.5".parse().unwrap();
        let packed = UpdatePacker::new(&c)
            .announce(&attrs, Some(v4), fam, &nlri)
            .unwrap();
        let msg = UpdateMessage {
            attributes: attrs,
            mp_reach: Some(MpReach {
                family: fam,
                next_hop: v4,
                nlri,
            }),
            ..UpdateMessage::default()
        };
        let mut encoded = BytesMut::new();
        encode_body(&msg, &c, &mut encoded).unwrap();
        for body in [packed[0].slice(19..), encoded.freeze()] {
            let u = Update::decode(body, &c).unwrap();
            let reach = u.mp_reach().unwrap();
            assert_eq!(reach.family(), fam);
            assert_eq!(reach.next_hop().global, mapped, "16 octets, IPv4-mapped");
        }
        // IPv4 NLRI keep the four octets.
        assert_eq!(super::wire_next_hop(Family::IPV4_UNICAST, v4), v4);
    }
}
