//! Packing many prefixes into few UPDATE messages for export.
//!
//! [`UpdatePacker`] writes *whole* messages (19-octet header included:
//! marker, length, type 2), each as large as the session allows
//! (`SessionContext::max_message_len`, 4096 or 65535 octets), so that they
//! can be written to the socket as they are. The path attributes are
//! encoded once and copied into every message; the messages share one
//! buffer (each [`Bytes`] is a slice of it).
//!
//! Following RFC 7606 5.1 ("An UPDATE message MUST NOT contain more than
//! one of the following: non-empty Withdrawn Routes field, non-empty
//! Network Layer Reachability Information field, MP_REACH_NLRI attribute,
//! and MP_UNREACH_NLRI attribute"), every message carries one kind only:
//!
//! | family, next hop                   | announcements in              |
//! |------------------------------------|-------------------------------|
//! | IPv4 unicast, IPv4 or no next hop  | NEXT_HOP + NLRI field         |
//! | IPv4 unicast, IPv6 next hop        | MP_REACH_NLRI (RFC 8950; only |
//! |                                    | with the capability, or error)|
//! | any other family                   | MP_REACH_NLRI                 |
//!
//! Withdrawals go in the Withdrawn Routes field for IPv4 unicast and in
//! MP_UNREACH_NLRI otherwise. MP_REACH_NLRI/MP_UNREACH_NLRI are written
//! first among the attributes and always with a 2-octet length.

use super::encode::{patch_len, put_path_attributes};
use super::mp_nlri::{self, next_hop_len};
use super::nlri;
use crate::error::EncodeError;
use crate::msg::attributes::{flags, type_code as tc, MpNextHop, PathAttributes};
use crate::msg::{message_type, SessionContext, UpdateMessage};
use crate::types::{Family, Nlri};
use bytes::{BufMut, Bytes, BytesMut};
use std::net::IpAddr;

const HEADER_LEN: usize = 19;

/// Writes the 19-octet header with a zero length; returns its offset.
fn start_message(out: &mut BytesMut) -> usize {
    let at = out.len();
    out.put_slice(&[0xFF; 16]);
    out.put_u16(0);
    out.put_u8(message_type::UPDATE);
    at
}

/// Fills in the header's length.
fn finish_message(out: &mut BytesMut, at: usize) -> Result<(), EncodeError> {
    let len = out.len() - at;
    let l = u16::try_from(len).map_err(|_| EncodeError::Invalid("message over 65535 octets"))?;
    if let Some(slot) = out.get_mut(at + 16..at + 18) {
        slot.copy_from_slice(&l.to_be_bytes());
    }
    Ok(())
}

/// Writes UPDATE messages for one session (see the module doc).
#[derive(Debug, Clone, Copy)]
pub struct UpdatePacker<'a> {
    ctx: &'a SessionContext,
}

impl<'a> UpdatePacker<'a> {
    /// A packer for the session described by `ctx` (AS size, ADD-PATH,
    /// maximum message size).
    pub fn new(ctx: &'a SessionContext) -> Self {
        UpdatePacker { ctx }
    }

    /// Announces `nlri` of `family` with `attrs` in as few messages as fit.
    /// `next_hop` overrides `attrs.next_hop`; it may be `None` only for
    /// IPv4 unicast with `attrs.next_hop` set. NEXT_HOP is left out of
    /// MP_REACH_NLRI messages. Returns no message for empty `nlri`.
    pub fn announce(
        &self,
        attrs: &PathAttributes,
        next_hop: Option<MpNextHop>,
        family: Family,
        nlri: &[Nlri],
    ) -> Result<Vec<Bytes>, EncodeError> {
        if !mp_nlri::check_family(family, nlri) {
            return Err(EncodeError::Invalid(
                "NLRI of another family than the one packed",
            ));
        }
        if nlri.is_empty() {
            return Ok(Vec::new());
        }
        let four = self.ctx.four_octet_as;
        let ap = self.ctx.add_path_tx(family);
        let classic_nh = match next_hop {
            _ if family != Family::IPV4_UNICAST => None,
            None => attrs.next_hop,
            Some(MpNextHop {
                global: IpAddr::V4(a),
                ..
            }) => Some(a),
            Some(_) => None,
        };
        let mut attr_buf = BytesMut::new();
        match classic_nh {
            Some(nh) => {
                put_path_attributes(&mut attr_buf, attrs, Some(nh), four, true)?;
                self.pack(
                    nlri,
                    ap,
                    0,
                    |out| {
                        out.put_slice(&attr_buf);
                        Ok(attr_buf.len())
                    },
                    |_| Ok(()),
                )
            }
            None => {
                let Some(nh) = next_hop else {
                    return Err(EncodeError::Invalid("no next hop to announce with"));
                };
                // RFC 8950 4: only to a peer that announced the capability.
                if !mp_nlri::next_hop_allowed(self.ctx, family, &nh) {
                    return Err(EncodeError::Invalid(
                        "IPv6 next hop for IPv4 NLRI without the extended next hop capability",
                    ));
                }
                put_path_attributes(&mut attr_buf, attrs, None, four, true)?;
                let nh = mp_nlri::wire_next_hop(family, nh);
                let head = 4 + 5 + next_hop_len(&nh);
                let mp_at = std::cell::Cell::new(0);
                self.pack(
                    nlri,
                    ap,
                    head + attr_buf.len(),
                    |out| {
                        mp_at.set(out.len() + 2);
                        out.put_slice(&[
                            flags::OPTIONAL | flags::EXTENDED_LENGTH,
                            tc::MP_REACH_NLRI,
                        ]);
                        out.put_u16(0);
                        mp_nlri::write_reach_head(out, family, &nh);
                        Ok(0)
                    },
                    |out| {
                        patch_len(out, mp_at.get())?;
                        out.put_slice(&attr_buf);
                        Ok(())
                    },
                )
            }
        }
    }

    /// Withdraws `nlri` of `family` in as few messages as fit.
    pub fn withdraw(&self, family: Family, nlri: &[Nlri]) -> Result<Vec<Bytes>, EncodeError> {
        if !mp_nlri::check_family(family, nlri) {
            return Err(EncodeError::Invalid(
                "NLRI of another family than the one packed",
            ));
        }
        if nlri.is_empty() {
            return Ok(Vec::new());
        }
        let ap = self.ctx.add_path_tx(family);
        let max = self.ctx.max_message_len();
        let mut out = BytesMut::with_capacity(max.min(nlri.len() * 8 + 64));
        let mut msgs = Vec::new();
        let mut rest = nlri;
        while !rest.is_empty() {
            let at = start_message(&mut out);
            let v4 = family == Family::IPV4_UNICAST;
            let budget = max - HEADER_LEN - 4 - if v4 { 0 } else { 7 };
            let len_at = out.len();
            out.put_u16(0);
            let mp_at = if v4 {
                None
            } else {
                patch_len(&mut out, len_at)?;
                let at_attrs = out.len();
                out.put_u16(0);
                out.put_slice(&[
                    flags::OPTIONAL | flags::EXTENDED_LENGTH,
                    tc::MP_UNREACH_NLRI,
                ]);
                out.put_u16(0);
                out.put_u16(family.afi.code());
                out.put_u8(family.safi.code());
                Some(at_attrs)
            };
            rest = fill(&mut out, rest, ap, budget)?;
            match mp_at {
                None => {
                    patch_len(&mut out, len_at)?;
                    out.put_u16(0);
                }
                Some(at_attrs) => {
                    patch_len(&mut out, at_attrs + 4)?;
                    patch_len(&mut out, at_attrs)?;
                }
            }
            finish_message(&mut out, at)?;
            msgs.push(out.split().freeze());
        }
        Ok(msgs)
    }

    /// The End-of-RIB marker for `family` (RFC 4724 2), header included.
    pub fn end_of_rib(&self, family: Family) -> Result<Bytes, EncodeError> {
        let mut out = BytesMut::with_capacity(32);
        let at = start_message(&mut out);
        super::encode_body(&UpdateMessage::end_of_rib(family), self.ctx, &mut out)?;
        finish_message(&mut out, at)?;
        Ok(out.freeze())
    }

    /// The shared loop: per message, the header, an empty Withdrawn Routes
    /// field, `pre` (attributes before the NLRI; returns octets written
    /// that count against the budget besides `fixed`), NLRI, `post`.
    fn pack(
        &self,
        nlri: &[Nlri],
        ap: bool,
        fixed: usize,
        mut pre: impl FnMut(&mut BytesMut) -> Result<usize, EncodeError>,
        mut post: impl FnMut(&mut BytesMut) -> Result<(), EncodeError>,
    ) -> Result<Vec<Bytes>, EncodeError> {
        let max = self.ctx.max_message_len();
        let mut out = BytesMut::with_capacity(max.min(nlri.len() * 8 + fixed + 64));
        let mut msgs = Vec::new();
        let mut rest = nlri;
        while !rest.is_empty() {
            let at = start_message(&mut out);
            out.put_u16(0); // no withdrawn routes
            let attrs_at = out.len();
            out.put_u16(0);
            let used = fixed + pre(&mut out)?;
            let budget =
                (max - HEADER_LEN - 4)
                    .checked_sub(used)
                    .ok_or(EncodeError::MessageTooLong {
                        len: HEADER_LEN + 4 + used,
                        max,
                    })?;
            let mp = fixed > 0;
            if mp {
                rest = fill(&mut out, rest, ap, budget)?;
                post(&mut out)?;
                patch_len(&mut out, attrs_at)?;
            } else {
                post(&mut out)?;
                patch_len(&mut out, attrs_at)?;
                rest = fill(&mut out, rest, ap, budget)?;
            }
            finish_message(&mut out, at)?;
            msgs.push(out.split().freeze());
        }
        Ok(msgs)
    }
}

/// Writes NLRI from `list` while they fit in `budget` octets; returns the
/// rest. Errors when not even one fits.
fn fill<'n>(
    out: &mut BytesMut,
    list: &'n [Nlri],
    ap: bool,
    budget: usize,
) -> Result<&'n [Nlri], EncodeError> {
    let mut used = 0;
    let mut taken = 0;
    for n in list {
        let l = nlri::encoded_len(n, ap);
        if used + l > budget {
            break;
        }
        nlri::write(out, n, ap);
        used += l;
        taken += 1;
    }
    if taken == 0 {
        let need = list.first().map_or(0, |n| nlri::encoded_len(n, ap));
        return Err(EncodeError::MessageTooLong {
            len: need,
            max: budget,
        });
    }
    Ok(list.get(taken..).unwrap_or_default())
}
