//! UPDATE errors: one variant per RFC 4271 6.3 subcode, each with the byte
//! offset (from the start of the UPDATE body, i.e. after the 19-octet
//! header) and the data the NOTIFICATION carries, and the RFC 7606 action
//! each one warrants.
//!
//! RFC 7606 section 2: "attribute discard", "treat-as-withdraw" and
//! "session reset" are the three approaches. [`UpdateError::action`] gives
//! the approach for an error; [`Update::decode`](super::Update::decode)
//! returns `Err` only for session-reset errors and collects the others as
//! [`AttrIssue`]s.

use crate::msg::attributes::type_code as tc;
use crate::msg::notification::{code, header_subcode, update_subcode};
use crate::msg::Notification;
use bytes::Bytes;
use std::fmt;

/// RFC 7606 action for a malformed attribute (strongest last: the derived
/// `Ord` follows RFC 7606 3 (j), "the approach with the strongest action
/// MUST be used").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AttrAction {
    /// "attribute discard": ignore the attribute, keep the route.
    Discard,
    /// "treat-as-withdraw": every NLRI of the UPDATE (NLRI field and
    /// MP_REACH_NLRI) is handled as withdrawn.
    TreatAsWithdraw,
    /// "session reset": send the NOTIFICATION and close.
    SessionReset,
}

/// Which NLRI-carrying field of an UPDATE an error is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NlriField {
    /// The Withdrawn Routes field.
    Withdrawn,
    /// The Network Layer Reachability Information field.
    Nlri,
    /// The NLRI in MP_REACH_NLRI.
    MpReach,
    /// The withdrawn routes in MP_UNREACH_NLRI.
    MpUnreach,
}

impl fmt::Display for NlriField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NlriField::Withdrawn => "withdrawn routes",
            NlriField::Nlri => "NLRI",
            NlriField::MpReach => "MP_REACH_NLRI",
            NlriField::MpUnreach => "MP_UNREACH_NLRI",
        })
    }
}

/// A malformed UPDATE or path attribute. `offset` counts octets from the
/// start of the UPDATE body (after the 19-octet header); `data` holds what
/// RFC 4271 6.3 says the NOTIFICATION carries (usually the whole erroneous
/// attribute: type, length and value), sliced from the body without copy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The body is shorter than its two mandatory length fields
    /// (Message Header Error / Bad Message Length).
    #[error("UPDATE body of {len} octets is shorter than the 4 octets of its length fields")]
    BodyTooShort {
        /// Body length.
        len: usize,
    },
    /// Withdrawn Routes Length or Total Path Attribute Length overruns the
    /// message, or MP_REACH/MP_UNREACH appears twice (subcode 1).
    #[error("malformed attribute list at byte offset {offset}: {reason}")]
    MalformedAttributeList {
        /// Offset of the offending field.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// An attribute's length overruns the path attributes field, or fewer
    /// octets remain than an attribute header needs (RFC 7606 4; subcode 1).
    #[error("attribute (type {type_code:?}) at byte offset {offset} overruns the attribute list")]
    AttributeOverrun {
        /// Offset of the attribute.
        offset: usize,
        /// Its type code, when at least two octets were left.
        type_code: Option<u8>,
    },
    /// An attribute other than MP_REACH/MP_UNREACH appears more than once;
    /// the later one is discarded (RFC 7606 3 (g)).
    #[error("duplicate attribute type {type_code} at byte offset {offset}")]
    DuplicateAttribute {
        /// Offset of the later occurrence.
        offset: usize,
        /// Type code.
        type_code: u8,
    },
    /// An unknown attribute with the Optional bit clear (subcode 2).
    #[error("unrecognized well-known attribute type {type_code} at byte offset {offset}")]
    UnrecognizedWellKnown {
        /// Offset of the attribute.
        offset: usize,
        /// Type code.
        type_code: u8,
        /// The attribute.
        data: Bytes,
    },
    /// A well-known mandatory attribute is missing (subcode 3).
    #[error("missing well-known attribute type {type_code}")]
    MissingWellKnown {
        /// Type code of the missing attribute.
        type_code: u8,
    },
    /// Optional/Transitive bits conflict with the type (subcode 4).
    #[error("attribute type {type_code} at byte offset {offset} has wrong flags {flags:#04x}")]
    AttributeFlags {
        /// Offset of the attribute.
        offset: usize,
        /// Type code.
        type_code: u8,
        /// Flags received.
        flags: u8,
        /// The attribute.
        data: Bytes,
    },
    /// Length wrong for the type (subcode 5).
    #[error("attribute type {type_code} at byte offset {offset} has bad length {len}")]
    AttributeLength {
        /// Offset of the attribute.
        offset: usize,
        /// Type code.
        type_code: u8,
        /// Length received.
        len: usize,
        /// The attribute.
        data: Bytes,
    },
    /// ORIGIN value undefined (subcode 6).
    #[error("invalid ORIGIN value {value} at byte offset {offset}")]
    InvalidOrigin {
        /// Offset of the attribute.
        offset: usize,
        /// Value received.
        value: u8,
        /// The attribute.
        data: Bytes,
    },
    /// An optional attribute's value is malformed (subcode 9), including an
    /// MP_REACH next hop of the wrong length and AS4_PATH errors.
    #[error("malformed optional attribute type {type_code} at byte offset {offset}: {reason}")]
    OptionalAttribute {
        /// Offset of the attribute.
        offset: usize,
        /// Type code.
        type_code: u8,
        /// What is wrong.
        reason: &'static str,
        /// The attribute.
        data: Bytes,
    },
    /// MP_REACH/MP_UNREACH of a family whose NLRI format this codec does
    /// not know: the attribute is ignored (RFC 4760 7 lets a speaker
    /// ignore a family it did not negotiate).
    #[error("{type_code} at byte offset {offset} for unsupported family {family}: ignored")]
    UnsupportedFamily {
        /// Offset of the attribute.
        offset: usize,
        /// Type code (14 or 15).
        type_code: u8,
        /// The family.
        family: crate::types::Family,
    },
    /// IPv4 NLRI in MP_REACH_NLRI with an IPv6 next hop on a session that
    /// did not negotiate the Extended Next Hop Encoding capability for the
    /// family (RFC 8950 4): a well-formed attribute with a next hop the
    /// session does not allow, so the routes are treat-as-withdraw, as for
    /// a semantically invalid NEXT_HOP (RFC 4271 6.3), not a session reset.
    #[error(
        "IPv6 next hop for {family} at byte offset {offset} without the extended next hop \
         capability (RFC 8950)"
    )]
    NextHopNotNegotiated {
        /// Offset of the attribute.
        offset: usize,
        /// The family of the NLRI.
        family: crate::types::Family,
    },
    /// A prefix in an NLRI field is malformed (subcode 10).
    #[error("invalid network field in {field} at byte offset {offset}: {reason}")]
    InvalidNetworkField {
        /// Offset of the prefix.
        offset: usize,
        /// Which field.
        field: NlriField,
        /// What is wrong.
        reason: &'static str,
    },
    /// AS_PATH is malformed (subcode 11).
    #[error("malformed AS_PATH at byte offset {offset}: {reason}")]
    MalformedAsPath {
        /// Offset of the attribute.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
}

/// The action for a value error of attribute `type_code` (RFC 7606 7).
fn value_error_action(type_code: u8) -> AttrAction {
    match type_code {
        // 7.11, 7.12: the NLRI cannot be located reliably.
        tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI => AttrAction::SessionReset,
        // 7.6, 7.7; RFC 6793 6: AS4_PATH/AS4_AGGREGATOR are discarded.
        tc::ATOMIC_AGGREGATE | tc::AGGREGATOR | tc::AS4_PATH | tc::AS4_AGGREGATOR => {
            AttrAction::Discard
        }
        // 7.1-7.5, 7.8-7.10, 7.14, RFC 8092 5: everything else we parse.
        tc::ORIGIN
        | tc::AS_PATH
        | tc::NEXT_HOP
        | tc::MULTI_EXIT_DISC
        | tc::LOCAL_PREF
        | tc::COMMUNITIES
        | tc::ORIGINATOR_ID
        | tc::CLUSTER_LIST
        | tc::EXTENDED_COMMUNITIES
        | tc::LARGE_COMMUNITIES => AttrAction::TreatAsWithdraw,
        _ => AttrAction::Discard,
    }
}

impl UpdateError {
    /// The RFC 7606 approach this error calls for.
    pub fn action(&self) -> AttrAction {
        match self {
            UpdateError::BodyTooShort { .. }
            | UpdateError::MalformedAttributeList { .. }
            | UpdateError::UnrecognizedWellKnown { .. }
            | UpdateError::InvalidNetworkField { .. } => AttrAction::SessionReset,
            // RFC 7606 4: an overrunning attribute is treat-as-withdraw,
            // "unless some other, more severe error is encountered": a cut
            // MP_REACH/MP_UNREACH hides NLRI, so that one resets.
            UpdateError::AttributeOverrun { type_code, .. } => match type_code {
                Some(tc::MP_REACH_NLRI | tc::MP_UNREACH_NLRI) => AttrAction::SessionReset,
                _ => AttrAction::TreatAsWithdraw,
            },
            UpdateError::DuplicateAttribute { .. } | UpdateError::UnsupportedFamily { .. } => {
                AttrAction::Discard
            }
            // RFC 7606 3 (d): missing well-known mandatory -> withdraw.
            UpdateError::MissingWellKnown { .. } => AttrAction::TreatAsWithdraw,
            // RFC 7606 3 (c): flags conflict -> treat-as-withdraw, except
            // for attributes whose value errors are only discarded.
            UpdateError::AttributeFlags { type_code, .. } => match value_error_action(*type_code) {
                AttrAction::Discard => AttrAction::Discard,
                _ => AttrAction::TreatAsWithdraw,
            },
            UpdateError::AttributeLength { type_code, .. }
            | UpdateError::OptionalAttribute { type_code, .. } => value_error_action(*type_code),
            UpdateError::InvalidOrigin { .. }
            | UpdateError::MalformedAsPath { .. }
            | UpdateError::NextHopNotNegotiated { .. } => AttrAction::TreatAsWithdraw,
        }
    }

    /// The type code of the attribute the error is about, if any.
    pub fn type_code(&self) -> Option<u8> {
        match self {
            UpdateError::AttributeOverrun { type_code, .. } => *type_code,
            UpdateError::DuplicateAttribute { type_code, .. }
            | UpdateError::UnsupportedFamily { type_code, .. }
            | UpdateError::UnrecognizedWellKnown { type_code, .. }
            | UpdateError::MissingWellKnown { type_code }
            | UpdateError::AttributeFlags { type_code, .. }
            | UpdateError::AttributeLength { type_code, .. }
            | UpdateError::OptionalAttribute { type_code, .. } => Some(*type_code),
            UpdateError::InvalidOrigin { .. } => Some(tc::ORIGIN),
            UpdateError::NextHopNotNegotiated { .. } => Some(tc::MP_REACH_NLRI),
            UpdateError::MalformedAsPath { .. } => Some(tc::AS_PATH),
            UpdateError::BodyTooShort { .. }
            | UpdateError::MalformedAttributeList { .. }
            | UpdateError::InvalidNetworkField { .. } => None,
        }
    }

    /// The NOTIFICATION that RFC 4271 6.3 prescribes for this error.
    pub fn notification(&self) -> Notification {
        let u = |sub: u8, data: &[u8]| Notification::new(code::UPDATE_MESSAGE, sub, data);
        match self {
            UpdateError::BodyTooShort { len } => {
                let total = u16::try_from(len + 19).unwrap_or(u16::MAX);
                Notification::new(
                    code::MESSAGE_HEADER,
                    header_subcode::BAD_MESSAGE_LENGTH,
                    total.to_be_bytes().to_vec(),
                )
            }
            UpdateError::MalformedAttributeList { .. }
            | UpdateError::AttributeOverrun { .. }
            | UpdateError::DuplicateAttribute { .. } => {
                u(update_subcode::MALFORMED_ATTRIBUTE_LIST, &[])
            }
            UpdateError::UnrecognizedWellKnown { data, .. } => {
                u(update_subcode::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, data)
            }
            UpdateError::MissingWellKnown { type_code } => {
                u(update_subcode::MISSING_WELL_KNOWN_ATTRIBUTE, &[*type_code])
            }
            UpdateError::AttributeFlags { data, .. } => {
                u(update_subcode::ATTRIBUTE_FLAGS_ERROR, data)
            }
            UpdateError::AttributeLength { data, .. } => {
                u(update_subcode::ATTRIBUTE_LENGTH_ERROR, data)
            }
            UpdateError::InvalidOrigin { data, .. } => {
                u(update_subcode::INVALID_ORIGIN_ATTRIBUTE, data)
            }
            UpdateError::OptionalAttribute { data, .. } => {
                u(update_subcode::OPTIONAL_ATTRIBUTE_ERROR, data)
            }
            UpdateError::UnsupportedFamily { .. } | UpdateError::NextHopNotNegotiated { .. } => {
                u(update_subcode::OPTIONAL_ATTRIBUTE_ERROR, &[])
            }
            UpdateError::InvalidNetworkField { .. } => {
                u(update_subcode::INVALID_NETWORK_FIELD, &[])
            }
            UpdateError::MalformedAsPath { .. } => u(update_subcode::MALFORMED_AS_PATH, &[]),
        }
    }
}

impl From<&UpdateError> for Notification {
    fn from(e: &UpdateError) -> Self {
        e.notification()
    }
}

/// A non-fatal RFC 7606 finding of a decoded UPDATE: the attribute at
/// `error`'s offset was discarded, or the UPDATE is treat-as-withdraw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrIssue {
    /// Offset of the attribute in the body (`usize::MAX` when the issue is
    /// about the message as a whole, e.g. a missing attribute).
    pub offset: usize,
    /// What is wrong.
    pub error: UpdateError,
}

impl AttrIssue {
    /// The action taken.
    pub fn action(&self) -> AttrAction {
        self.error.action()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_rfc7606() {
        let d = Bytes::new();
        let len = |t| UpdateError::AttributeLength {
            offset: 0,
            type_code: t,
            len: 9,
            data: d.clone(),
        };
        assert_eq!(len(tc::ORIGIN).action(), AttrAction::TreatAsWithdraw);
        assert_eq!(len(tc::AGGREGATOR).action(), AttrAction::Discard);
        assert_eq!(len(tc::ATOMIC_AGGREGATE).action(), AttrAction::Discard);
        assert_eq!(len(tc::MP_REACH_NLRI).action(), AttrAction::SessionReset);
        assert!(AttrAction::SessionReset > AttrAction::TreatAsWithdraw);
        assert!(AttrAction::TreatAsWithdraw > AttrAction::Discard);
        let n = len(tc::MULTI_EXIT_DISC).notification();
        assert_eq!((n.code, n.subcode), (3, 5));
        let n = UpdateError::MissingWellKnown {
            type_code: tc::ORIGIN,
        }
        .notification();
        assert_eq!((n.code, n.subcode, n.data), (3, 3, vec![1]));
        let n = UpdateError::BodyTooShort { len: 2 }.notification();
        assert_eq!((n.code, n.subcode, n.data), (1, 2, vec![0, 21]));
    }
}
