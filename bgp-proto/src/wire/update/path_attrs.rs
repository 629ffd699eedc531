//! Decoding validated raw attributes into [`PathAttributes`]: the RFC 6793
//! merge of AS4_PATH and AS4_AGGREGATOR on 2-octet sessions (the decoding
//! itself is in `view.rs`), and the straightforward decoder of the raw
//! attributes kept as the tests' reference.

use super::as_path::{self, AS_TRANS};
use crate::msg::attributes::{Aggregator, AsPath, PathAttributes};

/// RFC 6793 4.2.3: "If the AGGREGATOR attribute contains an AS number
/// other than AS_TRANS, then: if the NEW BGP speaker also receives the
/// AS4_AGGREGATOR attribute, then ... the AS4_AGGREGATOR and AS4_PATH
/// attributes SHALL be ignored ... If the AGGREGATOR attribute contains
/// AS_TRANS and AS4_AGGREGATOR is received, then the AS4_AGGREGATOR
/// attribute SHALL be used as the aggregator's AS."
pub(crate) fn merge_as4(
    pa: &mut PathAttributes,
    as4_path: Option<AsPath>,
    as4_agg: Option<Aggregator>,
) {
    if let (Some(agg), Some(agg4)) = (pa.aggregator, as4_agg) {
        if agg.asn != AS_TRANS {
            return;
        }
        pa.aggregator = Some(agg4);
    }
    if let Some(p4) = as4_path {
        let two = std::mem::take(&mut pa.as_path);
        pa.as_path = as_path::merge_as4(two, p4);
    }
}

/// The decoder `Update::attributes` used before the attribute index: walks
/// the raw attributes; the tests check the view against it.
#[cfg(test)]
pub(crate) mod reference {
    use super::super::as_path;
    use super::super::attrs::RawAttr;
    use crate::msg::attributes::{
        flags, type_code as tc, Aggregator, AsPath, Community, ExtCommunity, LargeCommunity,
        Origin, PathAttributes, RawAttribute,
    };
    use std::net::Ipv4Addr;

    #[inline]
    fn be32(v: &[u8]) -> u32 {
        match *v {
            [a, b, c, d] => u32::from_be_bytes([a, b, c, d]),
            _ => 0,
        }
    }

    #[inline]
    fn ip(v: &[u8]) -> Ipv4Addr {
        Ipv4Addr::from(be32(v))
    }

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

    /// Decodes the attributes the walk validated (malformed and duplicate ones
    /// are already skipped by the iterator).
    pub(crate) fn decode<'a>(
        attrs: impl Iterator<Item = RawAttr<'a>>,
        four: bool,
    ) -> PathAttributes {
        let mut pa = PathAttributes::default();
        let mut as4_path: Option<AsPath> = None;
        let mut as4_aggregator: Option<Aggregator> = None;
        for a in attrs {
            let v = a.value;
            match a.type_code {
                tc::ORIGIN => pa.origin = v.first().copied().and_then(Origin::from_code),
                tc::AS_PATH => pa.as_path = as_path::parse(v, four),
                tc::NEXT_HOP => pa.next_hop = Some(ip(v)),
                tc::MULTI_EXIT_DISC => pa.med = Some(be32(v)),
                tc::LOCAL_PREF => pa.local_pref = Some(be32(v)),
                tc::ATOMIC_AGGREGATE => pa.atomic_aggregate = true,
                tc::AGGREGATOR => pa.aggregator = aggregator(v),
                tc::COMMUNITIES => {
                    pa.communities = v.chunks_exact(4).map(|c| Community(be32(c))).collect();
                }
                tc::ORIGINATOR_ID => pa.originator_id = Some(ip(v)),
                tc::CLUSTER_LIST => pa.cluster_list = v.chunks_exact(4).map(ip).collect(),
                tc::EXTENDED_COMMUNITIES => {
                    pa.ext_communities = v
                        .chunks_exact(8)
                        .map(|c| ExtCommunity(c.try_into().unwrap_or([0; 8])))
                        .collect();
                }
                tc::LARGE_COMMUNITIES => {
                    pa.large_communities = v
                        .chunks_exact(12)
                        .map(|c| {
                            let (g, rest) = c.split_at(4);
                            let (l1, l2) = rest.split_at(4);
                            LargeCommunity {
                                global: be32(g),
                                local1: be32(l1),
                                local2: be32(l2),
                            }
                        })
                        .collect();
                }
                tc::AS4_PATH => as4_path = Some(as_path::parse(v, true)),
                tc::AS4_AGGREGATOR => as4_aggregator = aggregator(v),
                tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI => {}
                t => pa.unknown.push(RawAttribute {
                    flags: a.flags & !flags::EXTENDED_LENGTH,
                    type_code: t,
                    value: v.to_vec(),
                }),
            }
        }
        if !four {
            super::merge_as4(&mut pa, as4_path, as4_aggregator);
        }
        pa
    }
}
