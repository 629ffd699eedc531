//! The fast path of the attribute walk, for the common clean UPDATE: one
//! tight pass that checks the same rules as [`super::attrs::walk`] but
//! builds no error. It gives up (returns `false`) at the first attribute
//! that is not a clean first occurrence of a known type (duplicate, flags
//! conflict, bad length or value, unrecognised type, overrun, any MP
//! attribute problem); the caller then runs the full walk from the start,
//! which produces the RFC 7606 findings. So both paths agree on every
//! input: the fast one only ever accepts what the full one accepts without
//! any issue, and records the same [`super::attrs::Walk`].

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
    while let [f, t, r @ ..] = rest {
        let (f, t) = (*f, *t);
        let (len, hdr, r) = if f & flags::EXTENDED_LENGTH != 0 {
            let [l0, l1, r @ ..] = r else {
                return false;
            };
            (usize::from(u16::from_be_bytes([*l0, *l1])), 4, r)
        } else {
            let [l, r @ ..] = r else {
                return false;
            };
            (usize::from(*l), 3, r)
        };
        let Some((value, r)) = r.split_at_checked(len) else {
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
                    mp_nlri::parse_reach(body, attr, vs, add_path)
                } else {
                    mp_nlri::parse_unreach(body, attr, vs, add_path)
                };
                let Ok(slot) = parsed else {
                    return false;
                };
                if slot.kind.is_none() && !slot.nlri.is_empty() {
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
    // One or two octets left: an attribute header overruns the field.
    if !rest.is_empty() {
        return false;
    }
    w.count = count;
    true
}
