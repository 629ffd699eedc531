//! Encoding an owned [`UpdateMessage`] into an UPDATE body.
//!
//! Attribute order: RFC 7606 5.1: "The MP_REACH_NLRI or MP_UNREACH_NLRI
//! attribute (if present) SHALL be encoded as the very first path
//! attribute in an UPDATE message." So MP_REACH_NLRI, then MP_UNREACH_NLRI,
//! then every other attribute in type-code order (unknown attributes
//! sorted in among the known ones). The Extended Length bit is set exactly
//! when a value exceeds 255 octets.
//!
//! 2-octet AS sessions (RFC 6793 4.2.2): AS_PATH carries AS_TRANS for every
//! AS above 65535, and AS4_PATH (without confederation segments) follows
//! whenever there is such an AS; likewise AGGREGATOR carries AS_TRANS and
//! AS4_AGGREGATOR the real AS.
//!
//! Unknown attributes are written with their flags as stored, except that
//! an optional transitive one gets the Partial bit (RFC 4271 5: "If an
//! optional transitive attribute is unrecognized, the Partial bit is set
//! to 1 when the attribute is propagated"): whatever rbgpd writes without
//! recognising it was learned from a peer. Dropping unrecognised optional
//! non-transitive attributes is the exporter's job (they are written as
//! stored here, so that a decoded UPDATE re-encodes faithfully).

use super::as_path::{self, AS_TRANS};
use super::mp_nlri::{self, next_hop_len};
use super::nlri;
use crate::error::EncodeError;
use crate::msg::attributes::{flags, type_code as tc, Aggregator, PathAttributes, RawAttribute};
use crate::msg::{MpReach, MpUnreach, SessionContext, UpdateMessage};
use crate::types::Family;
use bytes::{BufMut, BytesMut};

const WELL_KNOWN: u8 = flags::TRANSITIVE;
const OPT_TRANS: u8 = flags::OPTIONAL | flags::TRANSITIVE;
const OPT: u8 = flags::OPTIONAL;

/// Writes an attribute header, choosing the Extended Length form when the
/// value exceeds 255 octets.
pub(crate) fn attr_header(
    out: &mut BytesMut,
    flags_: u8,
    type_code: u8,
    len: usize,
) -> Result<(), EncodeError> {
    let flags_ = flags_ & !flags::EXTENDED_LENGTH;
    if let Ok(l) = u8::try_from(len) {
        out.put_slice(&[flags_, type_code, l]);
    } else {
        let l =
            u16::try_from(len).map_err(|_| EncodeError::Invalid("attribute over 65535 octets"))?;
        out.put_slice(&[flags_ | flags::EXTENDED_LENGTH, type_code]);
        out.put_u16(l);
    }
    Ok(())
}

fn put_u32_attr(out: &mut BytesMut, f: u8, t: u8, v: u32) {
    out.put_slice(&[f, t, 4]);
    out.put_u32(v);
}

fn put_aggregator(out: &mut BytesMut, a: &Aggregator, four: bool) {
    if four {
        out.put_slice(&[OPT_TRANS, tc::AGGREGATOR, 8]);
        out.put_u32(a.asn);
    } else {
        out.put_slice(&[OPT_TRANS, tc::AGGREGATOR, 6]);
        out.put_u16(u16::try_from(a.asn).unwrap_or(AS_TRANS as u16));
    }
    out.put_slice(&a.addr.octets());
}

fn put_unknown(out: &mut BytesMut, a: &RawAttribute) -> Result<(), EncodeError> {
    let mut f = a.flags;
    if f & OPT_TRANS == OPT_TRANS {
        f |= flags::PARTIAL;
    }
    attr_header(out, f, a.type_code, a.value.len())?;
    out.put_slice(&a.value);
    Ok(())
}

/// Writes MP_REACH_NLRI.
fn put_mp_reach(out: &mut BytesMut, m: &MpReach, ctx: &SessionContext) -> Result<(), EncodeError> {
    if !mp_nlri::check_family(m.family, &m.nlri) {
        return Err(EncodeError::Invalid(
            "MP_REACH_NLRI prefix of another family",
        ));
    }
    if !mp_nlri::next_hop_allowed(ctx, m.family, &m.next_hop) {
        return Err(EncodeError::Invalid(
            "IPv6 next hop for IPv4 NLRI without the extended next hop capability",
        ));
    }
    let ap = ctx.add_path_tx(m.family);
    let nlri_len: usize = m.nlri.iter().map(|n| nlri::encoded_len(n, ap)).sum();
    let nh = mp_nlri::wire_next_hop(m.family, m.next_hop);
    attr_header(
        out,
        OPT,
        tc::MP_REACH_NLRI,
        5 + next_hop_len(&nh) + nlri_len,
    )?;
    mp_nlri::write_reach_head(out, m.family, &nh);
    for n in &m.nlri {
        nlri::write(out, n, ap);
    }
    Ok(())
}

/// Writes MP_UNREACH_NLRI.
fn put_mp_unreach(
    out: &mut BytesMut,
    m: &MpUnreach,
    ctx: &SessionContext,
) -> Result<(), EncodeError> {
    if !mp_nlri::check_family(m.family, &m.withdrawn) {
        return Err(EncodeError::Invalid(
            "MP_UNREACH_NLRI prefix of another family",
        ));
    }
    let ap = ctx.add_path_tx(m.family);
    let len: usize = m.withdrawn.iter().map(|n| nlri::encoded_len(n, ap)).sum();
    attr_header(out, OPT, tc::MP_UNREACH_NLRI, 3 + len)?;
    out.put_u16(m.family.afi.code());
    out.put_u8(m.family.safi.code());
    for n in &m.withdrawn {
        nlri::write(out, n, ap);
    }
    Ok(())
}

/// Writes every attribute of `pa` except MP_REACH/MP_UNREACH, in
/// type-code order, with `next_hop` as NEXT_HOP. `with_as_path` forces AS_PATH out even when empty (an
/// UPDATE with NLRI needs it; an iBGP path is empty).
pub(crate) fn put_path_attributes(
    out: &mut BytesMut,
    pa: &PathAttributes,
    next_hop: Option<std::net::Ipv4Addr>,
    four: bool,
    with_as_path: bool,
) -> Result<(), EncodeError> {
    let mut unknown: Vec<&RawAttribute> = pa.unknown.iter().collect();
    unknown.sort_by_key(|a| a.type_code);
    let mut unknown = unknown.into_iter().peekable();
    let mut flush = |out: &mut BytesMut, below: u16| -> Result<(), EncodeError> {
        while let Some(a) = unknown.next_if(|a| u16::from(a.type_code) < below) {
            put_unknown(out, a)?;
        }
        Ok(())
    };
    flush(out, u16::from(tc::ORIGIN))?;
    if let Some(o) = pa.origin {
        out.put_slice(&[WELL_KNOWN, tc::ORIGIN, 1, o.code()]);
    }
    flush(out, u16::from(tc::AS_PATH))?;
    let as4 = !four && as_path::needs_as4(&pa.as_path);
    if with_as_path || !pa.as_path.segments.is_empty() {
        attr_header(
            out,
            WELL_KNOWN,
            tc::AS_PATH,
            as_path::encoded_len(&pa.as_path, four, false),
        )?;
        as_path::write(out, &pa.as_path, four, false);
    }
    flush(out, u16::from(tc::NEXT_HOP))?;
    if let Some(nh) = next_hop {
        out.put_slice(&[WELL_KNOWN, tc::NEXT_HOP, 4]);
        out.put_slice(&nh.octets());
    }
    flush(out, u16::from(tc::MULTI_EXIT_DISC))?;
    if let Some(med) = pa.med {
        put_u32_attr(out, OPT, tc::MULTI_EXIT_DISC, med);
    }
    flush(out, u16::from(tc::LOCAL_PREF))?;
    if let Some(lp) = pa.local_pref {
        put_u32_attr(out, WELL_KNOWN, tc::LOCAL_PREF, lp);
    }
    flush(out, u16::from(tc::ATOMIC_AGGREGATE))?;
    if pa.atomic_aggregate {
        out.put_slice(&[WELL_KNOWN, tc::ATOMIC_AGGREGATE, 0]);
    }
    flush(out, u16::from(tc::AGGREGATOR))?;
    if let Some(a) = &pa.aggregator {
        put_aggregator(out, a, four);
    }
    flush(out, u16::from(tc::COMMUNITIES))?;
    if !pa.communities.is_empty() {
        attr_header(out, OPT_TRANS, tc::COMMUNITIES, pa.communities.len() * 4)?;
        for c in &pa.communities {
            out.put_u32(c.0);
        }
    }
    flush(out, u16::from(tc::ORIGINATOR_ID))?;
    if let Some(id) = pa.originator_id {
        out.put_slice(&[OPT, tc::ORIGINATOR_ID, 4]);
        out.put_slice(&id.octets());
    }
    flush(out, u16::from(tc::CLUSTER_LIST))?;
    if !pa.cluster_list.is_empty() {
        attr_header(out, OPT, tc::CLUSTER_LIST, pa.cluster_list.len() * 4)?;
        for id in &pa.cluster_list {
            out.put_slice(&id.octets());
        }
    }
    flush(out, u16::from(tc::EXTENDED_COMMUNITIES))?;
    if !pa.ext_communities.is_empty() {
        attr_header(
            out,
            OPT_TRANS,
            tc::EXTENDED_COMMUNITIES,
            pa.ext_communities.len() * 8,
        )?;
        for c in &pa.ext_communities {
            out.put_slice(&c.0);
        }
    }
    flush(out, u16::from(tc::AS4_PATH))?;
    if as4 {
        attr_header(
            out,
            OPT_TRANS,
            tc::AS4_PATH,
            as_path::encoded_len(&pa.as_path, true, true),
        )?;
        as_path::write(out, &pa.as_path, true, true);
    }
    flush(out, u16::from(tc::AS4_AGGREGATOR))?;
    if let Some(a) = pa.aggregator.filter(|a| !four && a.asn > 0xFFFF) {
        out.put_slice(&[OPT_TRANS, tc::AS4_AGGREGATOR, 8]);
        out.put_u32(a.asn);
        out.put_slice(&a.addr.octets());
    }
    flush(out, u16::from(tc::LARGE_COMMUNITIES))?;
    if !pa.large_communities.is_empty() {
        attr_header(
            out,
            OPT_TRANS,
            tc::LARGE_COMMUNITIES,
            pa.large_communities.len() * 12,
        )?;
        for c in &pa.large_communities {
            out.put_u32(c.global);
            out.put_u32(c.local1);
            out.put_u32(c.local2);
        }
    }
    flush(out, 256)
}

/// Writes a 2-octet length at `at` for the data written since `at + 2`.
pub(crate) fn patch_len(out: &mut BytesMut, at: usize) -> Result<(), EncodeError> {
    let len = out.len() - at - 2;
    let l = u16::try_from(len).map_err(|_| EncodeError::Invalid("field over 65535 octets"))?;
    if let Some(slot) = out.get_mut(at..at + 2) {
        slot.copy_from_slice(&l.to_be_bytes());
    }
    Ok(())
}

/// Writes the UPDATE body for `msg` (everything after the 19-octet header):
/// withdrawn routes, path attributes (2- or 4-octet AS per
/// `ctx.four_octet_as`, MP_REACH/MP_UNREACH first), NLRI; path identifiers
/// where `ctx.add_path_tx(family)`. The message is written as given (an
/// UPDATE that mixes announcements and withdrawals is allowed here; see
/// [`UpdatePacker`](super::UpdatePacker) for RFC 7606 5.1-compliant
/// packing). On error `out` is left as it was.
pub fn encode_body(
    msg: &UpdateMessage,
    ctx: &SessionContext,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = out.len();
    let r = encode_inner(msg, ctx, out);
    let len = out.len() - start + 19;
    let r = r.and_then(|()| {
        if len > ctx.max_message_len() {
            Err(EncodeError::MessageTooLong {
                len,
                max: ctx.max_message_len(),
            })
        } else {
            Ok(())
        }
    });
    if r.is_err() {
        out.truncate(start);
    }
    r
}

fn encode_inner(
    msg: &UpdateMessage,
    ctx: &SessionContext,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let v4 = Family::IPV4_UNICAST;
    if !mp_nlri::check_family(v4, &msg.withdrawn) || !mp_nlri::check_family(v4, &msg.nlri) {
        return Err(EncodeError::Invalid(
            "IPv6 prefix in the IPv4 NLRI or withdrawn field",
        ));
    }
    let ap = ctx.add_path_tx(v4);
    let at = out.len();
    out.put_u16(0);
    for n in &msg.withdrawn {
        nlri::write(out, n, ap);
    }
    patch_len(out, at)?;
    let at = out.len();
    out.put_u16(0);
    if let Some(m) = &msg.mp_reach {
        put_mp_reach(out, m, ctx)?;
    }
    if let Some(m) = &msg.mp_unreach {
        put_mp_unreach(out, m, ctx)?;
    }
    let carries_nlri = !msg.nlri.is_empty() || msg.mp_reach.is_some();
    let pa = &msg.attributes;
    put_path_attributes(out, pa, pa.next_hop, ctx.four_octet_as, carries_nlri)?;
    patch_len(out, at)?;
    for n in &msg.nlri {
        nlri::write(out, n, ap);
    }
    Ok(())
}
