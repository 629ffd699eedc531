//! DOC: the UPDATE codec (RFC 4271 4.3, RFC 4760, RFC 6793, RFC 7606,
//! RFC 7911, RFC 8950).
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```
//!
//! Decoding: [`Update::decode`] takes the body (the message after the
//! 19-octet header) as [`Bytes`] and validates it once: both length fields,
//! every NLRI field, every attribute (flags, lengths, AS_PATH structure,
//! MP_REACH/MP_UNREACH). Invariant: once `decode` returned `Ok`, no
//! accessor can fail or panic; the NLRI and attribute iterators borrow the
//! body and allocate nothing. Errors that RFC 7606 settles with "attribute
//! discard" or "treat-as-withdraw" do not fail the decode: they are kept as
//! [`AttrIssue`]s ([`Update::issues`], [`Update::action`]); the discarded
//! attributes are skipped by [`Update::raw_attributes`] and
//! [`Update::attributes`]. `Err` means "session reset": send
//! [`UpdateError::notification`] and close.
//!
//! Left to the caller (they need the session's eBGP/iBGP role or the RIB):
//! RFC 7606 7.5 (LOCAL_PREF from an external peer is discarded), 7.2's
//! confederation segments or a wrong first AS from an external peer
//! (treat-as-withdraw), semantic NEXT_HOP checks (7.3: the route is
//! ignored), and RFC 4760's rule that NEXT_HOP is ignored for MP_REACH_NLRI
//! routes ([`PathAttributes::next_hop`] is still reported when sent).
//!
//! Attributes: the validation walk also records where each valid known
//! attribute is (`index.rs`; a tight fast path in `fast.rs` handles clean
//! UPDATEs and falls back to the full RFC 7606 walk at the first doubt), so
//! [`Update::attributes_view`] reads every attribute without allocating or
//! re-scanning, and [`Update::attributes`] builds the owned set from it.
//!
//! Parsing: the length fields, the attribute headers (both walks), AS_PATH
//! validation and MP_REACH/MP_UNREACH are nom parsers (`super::parse`);
//! the per-prefix NLRI loops and the iterators over validated AS_PATH
//! segments are slice code, for speed (`nlri.rs` and `view.rs` say how
//! much).
//!
//! Encoding: [`encode_body`] writes an owned [`UpdateMessage`];
//! [`UpdatePacker`] writes whole messages (with header) that carry as many
//! NLRI as fit. Unknown optional transitive attributes are written with the
//! Partial bit set (RFC 4271 5), see `encode.rs`.

mod as_path;
mod attrs;
mod encode;
pub mod error;
mod fast;
mod index;
mod mp_nlri;
mod nlri;
mod pack;
mod path_attrs;
mod view;

pub use as_path::AS_TRANS;
pub use attrs::{RawAttr, RawAttrIter};
pub use encode::encode_body;
pub use error::{AttrAction, AttrIssue, NlriField, UpdateError};
pub use mp_nlri::{MpReachView, MpUnreachView};
pub use nlri::NlriIter;
pub use pack::UpdatePacker;
pub use view::{AsPathView, Asns, AttrsView, FixedList, SegmentIter};

use super::parse::{be_u16, consumed, length_data, run};
use crate::msg::attributes::type_code as tc;
use crate::msg::{MpReach, MpUnreach, PathAttributes, SessionContext, UpdateMessage};
use crate::types::Family;
use attrs::Walk;
use bytes::Bytes;
use nlri::AddrKind;
use std::ops::Range;

/// A decoded, validated UPDATE that borrows its body (see the module doc
/// for the invariant).
#[derive(Debug, Clone)]
pub struct Update {
    body: Bytes,
    withdrawn: Range<usize>,
    /// Start of the attributes field (the walk records where it ended).
    attrs_start: usize,
    nlri: Range<usize>,
    add_path_v4: bool,
    four_octet_as: bool,
    /// What the attribute walk found: count, end, MP_REACH/MP_UNREACH,
    /// the index of the valid known attributes.
    w: Walk,
    issues: Vec<AttrIssue>,
}

impl Update {
    /// Decodes and validates an UPDATE body (the message after its 19-octet
    /// header). `Err` is a session reset; softer RFC 7606 outcomes are in
    /// [`issues`](Self::issues).
    #[inline]
    pub fn decode(body: Bytes, ctx: &SessionContext) -> Result<Update, UpdateError> {
        Self::decode_with(body, ctx, true)
    }

    /// [`decode`](Self::decode), with the clean-UPDATE fast path of the
    /// attribute walk turned off when `fast` is false (the tests check that
    /// both give the same result).
    pub(crate) fn decode_with(
        body: Bytes,
        ctx: &SessionContext,
        fast: bool,
    ) -> Result<Update, UpdateError> {
        let b: &[u8] = &body;
        // RFC 4271 6.3: "If the Withdrawn Routes Length or Total Attribute
        // Length is too large (i.e., if Withdrawn Routes Length + Total
        // Attribute Length + 23 exceeds the message Length), then the Error
        // Subcode MUST be set to Malformed Attribute List."
        let short = || {
            if b.len() < 4 {
                UpdateError::BodyTooShort { len: b.len() }
            } else {
                UpdateError::MalformedAttributeList {
                    offset: 0,
                    reason: "Withdrawn Routes Length overruns the message",
                }
            }
        };
        let (r, wfield) = run(length_data(be_u16), b).ok_or_else(short)?;
        let (nlri_field, afield) = match run(length_data(be_u16), r) {
            Some(fields) => fields,
            // No room for the Total Path Attribute Length.
            None if r.len() < 2 => return Err(short()),
            None => {
                return Err(UpdateError::MalformedAttributeList {
                    offset: consumed(b, r),
                    reason: "Total Path Attribute Length overruns the message",
                })
            }
        };
        let withdrawn = 2..2 + wfield.len();
        let attrs_end = consumed(b, nlri_field);
        let attrs_start = attrs_end - afield.len();
        let nlri = attrs_end..b.len();
        let add_path_v4 = ctx.add_path_rx(Family::IPV4_UNICAST);
        // RFC 7606 5.3: a syntactically incorrect NLRI field -> reset.
        nlri::validate(wfield, 2, AddrKind::V4, add_path_v4, NlriField::Withdrawn)?;
        let mut u = Update {
            body,
            withdrawn,
            attrs_start,
            nlri,
            add_path_v4,
            four_octet_as: ctx.four_octet_as,
            w: Walk::new(attrs_start, attrs_end),
            issues: Vec::new(),
        };
        // The clean common case in one tight pass; anything else (or any
        // doubt) goes through the full RFC 7606 walk from the start.
        if !(fast && fast::walk_clean(&u.body, attrs_start, attrs_end, ctx, &mut u.w)) {
            u.w = Walk::new(attrs_start, attrs_end);
            attrs::walk(
                &u.body,
                attrs_start,
                attrs_end,
                ctx,
                &mut u.issues,
                &mut u.w,
            )?;
        }
        let b: &[u8] = &u.body;
        nlri::validate(
            b.get(u.nlri.clone()).unwrap_or_default(),
            u.nlri.start,
            AddrKind::V4,
            add_path_v4,
            NlriField::Nlri,
        )?;

        // RFC 7606 3 (d): "If any of the well-known mandatory attributes
        // are not present in an UPDATE message, then "treat-as-withdraw"
        // MUST be used. (Note that [RFC4760] reclassifies NEXT_HOP as what
        // is effectively discretionary.)" NEXT_HOP stays mandatory for the
        // NLRI field. Only checked when the walk reached the end (after an
        // overrun the UPDATE is treat-as-withdraw anyway).
        let w = &u.w;
        if w.end == attrs_end && (!u.nlri.is_empty() || w.mp_reach.is_some()) {
            let mut need = [tc::ORIGIN, tc::AS_PATH, tc::NEXT_HOP].as_slice();
            if u.nlri.is_empty() {
                need = need.get(..2).unwrap_or_default();
            }
            for &t in need {
                if !w.has(t) {
                    let error = UpdateError::MissingWellKnown { type_code: t };
                    u.issues.push(AttrIssue {
                        offset: usize::MAX,
                        error,
                    });
                }
            }
        }
        Ok(u)
    }

    fn slice(&self, r: &Range<usize>) -> &[u8] {
        self.body.get(r.clone()).unwrap_or_default()
    }

    /// The body this UPDATE was decoded from.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Withdrawn IPv4 unicast routes (the Withdrawn Routes field).
    pub fn withdrawn(&self) -> NlriIter<'_> {
        NlriIter::new(self.slice(&self.withdrawn), AddrKind::V4, self.add_path_v4)
    }

    /// Reachable IPv4 unicast routes (the NLRI field).
    pub fn nlri(&self) -> NlriIter<'_> {
        NlriIter::new(self.slice(&self.nlri), AddrKind::V4, self.add_path_v4)
    }

    /// MP_REACH_NLRI, if present.
    pub fn mp_reach(&self) -> Option<MpReachView<'_>> {
        self.w.mp_reach.as_ref().map(|slot| MpReachView {
            slot,
            body: &self.body,
        })
    }

    /// MP_UNREACH_NLRI, if present.
    pub fn mp_unreach(&self) -> Option<MpUnreachView<'_>> {
        self.w.mp_unreach.as_ref().map(|slot| MpUnreachView {
            slot,
            body: &self.body,
        })
    }

    /// Every attribute as on the wire (MP_REACH/MP_UNREACH included),
    /// except those RFC 7606 discarded or found malformed.
    pub fn raw_attributes(&self) -> RawAttrIter<'_> {
        RawAttrIter::new(&self.body, self.attrs_start, self.w.end, &self.issues)
    }

    /// The path attributes, decoded into owned values, with AS4_PATH and
    /// AS4_AGGREGATOR merged on 2-octet AS sessions (RFC 6793 4.2.3).
    pub fn attributes(&self) -> PathAttributes {
        self.attributes_view().to_owned()
    }

    /// Every path attribute, borrowed and decoded on access without
    /// allocating (see [`AttrsView`]); [`AttrsView::to_owned`] equals
    /// [`attributes`](Self::attributes). Reads the positions the decode
    /// walk recorded: no re-scan of the attributes.
    #[inline]
    pub fn attributes_view(&self) -> AttrsView<'_> {
        AttrsView {
            body: &self.body,
            index: &self.w.index,
            raw: self.raw_attributes(),
            four_octet_as: self.four_octet_as,
        }
    }

    /// The non-fatal RFC 7606 findings (discarded attributes with reasons,
    /// treat-as-withdraw causes).
    pub fn issues(&self) -> &[AttrIssue] {
        &self.issues
    }

    /// The strongest RFC 7606 action among [`issues`](Self::issues)
    /// (never `SessionReset`: those fail the decode); `None` when clean.
    pub fn action(&self) -> Option<AttrAction> {
        self.issues.iter().map(AttrIssue::action).max()
    }

    /// Whether every NLRI of this UPDATE (NLRI field and MP_REACH_NLRI)
    /// must be handled as withdrawn (RFC 7606 2).
    pub fn is_treat_as_withdraw(&self) -> bool {
        self.action() == Some(AttrAction::TreatAsWithdraw)
    }

    /// The family this UPDATE marks End-of-RIB for (RFC 4724 2): an empty
    /// UPDATE for IPv4 unicast, or one whose only attribute is an empty
    /// MP_UNREACH_NLRI.
    pub fn end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match (&self.w.mp_unreach, self.w.count) {
            (None, 0) => Some(Family::IPV4_UNICAST),
            (Some(u), 1) if u.nlri.is_empty() => Some(u.family),
            _ => None,
        }
    }

    /// Families for which this UPDATE announces routes (at most two: IPv4
    /// unicast from the NLRI field, and the MP_REACH_NLRI family).
    pub fn announced_families(&self) -> impl Iterator<Item = Family> + '_ {
        let v4 = (!self.nlri.is_empty()).then_some(Family::IPV4_UNICAST);
        let mp = self
            .w
            .mp_reach
            .as_ref()
            .filter(|s| !s.nlri.is_empty())
            .map(|s| s.family);
        v4.into_iter().chain(mp)
    }

    /// Families for which this UPDATE withdraws routes.
    pub fn withdrawn_families(&self) -> impl Iterator<Item = Family> + '_ {
        let v4 = (!self.withdrawn.is_empty()).then_some(Family::IPV4_UNICAST);
        let mp = self
            .w
            .mp_unreach
            .as_ref()
            .filter(|s| !s.nlri.is_empty())
            .map(|s| s.family);
        v4.into_iter().chain(mp)
    }

    /// Every route this UPDATE announces, with its family: the NLRI field
    /// (IPv4 unicast) then MP_REACH_NLRI. Empty when the UPDATE is
    /// treat-as-withdraw (those routes are in [`withdrawals`](Self::withdrawals)).
    pub fn announcements(&self) -> impl Iterator<Item = (Family, crate::types::Nlri)> + '_ {
        let taw = self.is_treat_as_withdraw();
        self.reachable().filter(move |_| !taw)
    }

    /// Every route this UPDATE withdraws, with its family: the Withdrawn
    /// Routes field, MP_UNREACH_NLRI and, when the UPDATE is
    /// treat-as-withdraw (RFC 7606 2), its NLRI field and MP_REACH_NLRI.
    pub fn withdrawals(&self) -> impl Iterator<Item = (Family, crate::types::Nlri)> + '_ {
        let taw = self.is_treat_as_withdraw();
        let v4 = self.withdrawn().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self.mp_unreach().into_iter().flat_map(|m| {
            let f = m.family();
            m.withdrawn().map(move |n| (f, n))
        });
        v4.chain(mp).chain(self.reachable().filter(move |_| taw))
    }

    fn reachable(&self) -> impl Iterator<Item = (Family, crate::types::Nlri)> + '_ {
        let v4 = self.nlri().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self.mp_reach().into_iter().flat_map(|m| {
            let f = m.family();
            m.nlri().map(move |n| (f, n))
        });
        v4.chain(mp)
    }

    /// The whole UPDATE as owned values (what [`encode_body`] takes).
    pub fn to_owned(&self) -> UpdateMessage {
        UpdateMessage {
            withdrawn: self.withdrawn().collect(),
            attributes: self.attributes(),
            mp_reach: self.mp_reach().map(|m| MpReach {
                family: m.family(),
                next_hop: m.next_hop(),
                nlri: m.nlri().collect(),
            }),
            mp_unreach: self.mp_unreach().map(|m| MpUnreach {
                family: m.family(),
                withdrawn: m.withdrawn().collect(),
            }),
            nlri: self.nlri().collect(),
        }
    }
}
