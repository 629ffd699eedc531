//! The fast path of the attribute walk, for the common clean UPDATE: one
//! tight pass that checks the same rules as [`super::attrs::walk`] but
//! builds no error. It gives up (returns `false`) at the first attribute
//! that is not a clean first occurrence of a known type (duplicate, flags
//! conflict, bad length or value, unrecognised type, overrun, any MP
//! attribute problem); the caller then runs the full walk from the start,
//! which produces the RFC 7606 findings. So both paths agree on every
//! input: the fast one only ever accepts what the full one accepts without
//! any issue, and records the same [`super::attrs::Walk`].

use super::super::parse::{be_u16, be_u8, run, take};
use super::as_path;
use super::attrs::Walk;
use super::index;
use super::mp_nlri;
use crate::msg::attributes::{flags, type_code as tc};
use crate::msg::SessionContext;
use bytes::Bytes;

/// Walks `body[start..end]` into `w` (fresh from [`Walk::new`]); `false`
/// when the full walk must decide (then `w` is to be reset).
#[inline]
pub(crate) fn walk_clean(
    body: &Bytes,
    start: usize,
    end: usize,
    ctx: &SessionContext,
    w: &mut Walk,
) -> bool {
    let Some(field) = body.get(start..end) else {
        return false;
    };
    let four = ctx.four_octet_as;
    let mut rest = field;
    let mut count = 0u32;
    while !rest.is_empty() {
        let Some((r, (f, t))) = run((be_u8, be_u8), rest) else {
            return false;
        };
        let len = if f & flags::EXTENDED_LENGTH != 0 {
            run(be_u16, r).map(|(r, l)| (r, usize::from(l), 4))
        } else {
            run(be_u8, r).map(|(r, l)| (r, usize::from(l), 3))
        };
        let Some((r, len, hdr)) = len else {
            return false;
        };
        let Some((r, value)) = run(take(len), r) else {
            return false;
        };
        let Some((slot, expected)) = index::lookup(t) else {
            return false;
        };
        if w.has(t) || f & (flags::OPTIONAL | flags::TRANSITIVE) != expected {
            return false;
        }
        w.set(t);
        // Offsets in the body: the value ends where `r` starts.
        let ve = end - r.len();
        let vs = ve - len;
        let ok = match t {
            tc::ORIGIN => matches!(value, [v] if *v <= 2),
            tc::AS_PATH => as_path::validate(value, four).is_ok(),
            tc::AS4_PATH => !four && as_path::validate(value, true) == Ok(false),
            tc::AS4_AGGREGATOR => !four && len == 8,
            tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI => {
                let attr = vs - hdr..ve;
                let add_path = |f| ctx.add_path_rx(f);
                let parsed = if t == tc::MP_REACH_NLRI {
                    mp_nlri::parse_reach(body, attr, vs, ctx)
                } else {
                    mp_nlri::parse_unreach(body, attr, vs, add_path)
                };
                let Ok(slot) = parsed else {
                    return false;
                };
                // Issues are the full path's to record.
                if (slot.kind.is_none() && !slot.nlri.is_empty())
                    || (t == tc::MP_REACH_NLRI && mp_nlri::ipv6_next_hop_refused(&slot, ctx))
                {
                    return false;
                }
                if t == tc::MP_REACH_NLRI {
                    w.mp_reach = Some(slot);
                } else {
                    w.mp_unreach = Some(slot);
                }
                true
            }
            _ => super::attrs::length_ok(t, len, four),
        };
        if !ok {
            return false;
        }
        w.index.put(slot, vs, len);
        count += 1;
        rest = r;
    }
    w.count = count;
    true
}

#[cfg(test)]
mod tests {
    use super::super::path_attrs::reference;
    use super::super::{encode_body, Update};
    use crate::msg::attributes::{
        Aggregator, AsPath, AsSegment, AsSegmentType, Community, ExtCommunity, LargeCommunity,
        MpNextHop, Origin, PathAttributes, RawAttribute,
    };
    use crate::msg::{MpReach, SessionContext, UpdateMessage};
    use crate::types::{Family, Ipv4Prefix, Ipv6Prefix, Nlri, Prefix};
    use bytes::{Bytes, BytesMut};
    use std::net::{Ipv4Addr, Ipv6Addr};

    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn coin(&mut self) -> bool {
            self.below(2) == 0
        }
    }

    fn random_update(r: &mut Rng) -> UpdateMessage {
        let mut segments = Vec::new();
        for _ in 0..r.below(3) {
            let kind = [
                AsSegmentType::Sequence,
                AsSegmentType::Sequence,
                AsSegmentType::Set,
                AsSegmentType::ConfedSequence,
            ][r.below(4) as usize];
            let asns = (0..1 + r.below(5))
                .map(|_| if r.coin() { 64512 } else { 70000 } + r.below(100) as u32)
                .collect();
            segments.push(AsSegment { kind, asns });
        }
        let list = |r: &mut Rng| 0..r.below(3);
        let attributes = PathAttributes {
            origin: r.coin().then_some(Origin::Igp),
            as_path: AsPath { segments },
            next_hop: r.coin().then_some(Ipv4Addr::new(10, 0, 0, 1)),
            med: r.coin().then_some(7),
            local_pref: r.coin().then_some(100),
            atomic_aggregate: r.coin(),
            aggregator: r.coin().then_some(Aggregator {
                asn: 70000,
                addr: Ipv4Addr::new(1, 2, 3, 4),
            }),
            communities: list(r).map(|i| Community(i as u32 + 1)).collect(),
            originator_id: r.coin().then_some(Ipv4Addr::new(9, 9, 9, 9)),
            cluster_list: list(r).map(|_| Ipv4Addr::new(8, 8, 8, 8)).collect(),
            ext_communities: list(r).map(|_| ExtCommunity([2; 8])).collect(),
            large_communities: list(r)
                .map(|i| LargeCommunity {
                    global: 1,
                    local1: i as u32,
                    local2: 3,
                })
                .collect(),
            unknown: list(r)
                .map(|i| RawAttribute {
                    flags: 0xc0,
                    type_code: 100 + i as u8,
                    value: vec![1, 2, 3],
                })
                .collect(),
        };
        let v4 = |r: &mut Rng| {
            let len = [24u8, 24, 16, 32, 0][r.below(5) as usize];
            Nlri::new(Prefix::V4(
                Ipv4Prefix::new(Ipv4Addr::from(r.next() as u32), len).unwrap(),
            ))
        };
        let mp_reach = r.coin().then(|| MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: MpNextHop {
                global: "2001:db8::1".parse().unwrap(),
                link_local: None,
            },
            nlri: (0..r.below(3))
                .map(|_| {
                    let a = Ipv6Addr::from(u128::from(r.next()) << 64);
                    Nlri::new(Prefix::V6(Ipv6Prefix::new(a, 48).unwrap()))
                })
                .collect(),
        });
        UpdateMessage {
            withdrawn: (0..r.below(2)).map(|_| v4(r)).collect(),
            attributes,
            mp_reach,
            mp_unreach: None,
            nlri: (0..r.below(4)).map(|_| v4(r)).collect(),
        }
    }

    /// Fast and full walks agree on valid and mutated UPDATEs, and the
    /// indexed attributes equal the reference decoder's.
    #[test]
    fn fast_path_and_index_agree_with_full_walk() {
        let mut r = Rng(0x5eed_1234_abcd_0001);
        let mut fast_ok = 0;
        for i in 0..30_000 {
            let ctx = SessionContext {
                four_octet_as: i % 3 != 0,
                ..Default::default()
            };
            let msg = random_update(&mut r);
            let mut out = BytesMut::new();
            encode_body(&msg, &ctx, &mut out).unwrap();
            let mut body = out.to_vec();
            if i % 4 != 0 {
                for _ in 0..1 + r.below(3) {
                    let at = r.below(body.len() as u64) as usize;
                    let v = match r.below(4) {
                        0 => r.next() as u8,
                        1 => r.below(20) as u8,
                        2 => [0x40, 0x80, 0xc0, 0x50, 0xd0][r.below(5) as usize],
                        _ => body[at].wrapping_add(1),
                    };
                    body[at] = v;
                }
            }
            let body = Bytes::from(body);
            let fast = Update::decode_with(body.clone(), &ctx, true);
            let full = Update::decode_with(body.clone(), &ctx, false);
            match (fast, full) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.w, b.w, "walk differs for {body:x?}");
                    assert_eq!(format!("{:?}", a.issues), format!("{:?}", b.issues));
                    let want = reference::decode(b.raw_attributes(), ctx.four_octet_as);
                    assert_eq!(a.attributes(), want, "attributes differ for {body:x?}");
                    let v = a.attributes_view();
                    assert_eq!(v.origin(), want.origin);
                    assert_eq!(v.next_hop(), want.next_hop);
                    assert_eq!(v.med(), want.med);
                    assert_eq!(v.local_pref(), want.local_pref);
                    assert_eq!(v.atomic_aggregate(), want.atomic_aggregate);
                    assert_eq!(v.originator_id(), want.originator_id);
                    assert_eq!(v.communities().collect::<Vec<_>>(), want.communities);
                    assert_eq!(v.cluster_list().collect::<Vec<_>>(), want.cluster_list);
                    assert_eq!(v.ext_communities().to_vec(), want.ext_communities);
                    assert_eq!(v.large_communities().to_vec(), want.large_communities);
                    assert_eq!(v.unknown().count(), want.unknown.len());
                    if ctx.four_octet_as {
                        assert_eq!(v.as_path().to_owned(), want.as_path);
                        assert_eq!(v.as_path().path_len(), want.as_path.path_len());
                        assert_eq!(v.aggregator(), want.aggregator);
                    }
                    fast_ok += usize::from(a.issues.is_empty());
                }
                (Err(a), Err(b)) => assert_eq!(format!("{a:?}"), format!("{b:?}")),
                (a, b) => panic!("fast {a:?} vs full {b:?} for {body:x?}"),
            }
        }
        assert!(fast_ok > 7_000, "{fast_ok}");
    }
}
