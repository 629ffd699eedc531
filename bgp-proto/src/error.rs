//! Decode and encode errors. Every decode error maps to the NOTIFICATION
//! to send ([`DecodeError::notification`]); UPDATE attribute errors also
//! carry their RFC 7606 action ([`UpdateError::action`]).
//!
//! Offsets: every `offset` in a [`DecodeError`] counts octets from the
//! first octet of the message (the marker), so offset 16 is the Length
//! field and offset 19 the first body octet. The one exception is
//! [`DecodeError::Update`], whose [`UpdateError`] counts from the start
//! of the UPDATE body, as `crate::wire::update` reports it.
//!
//! Choices where the RFCs leave room (documented here once):
//! - An OPEN whose Optional Parameters Length disagrees with the message
//!   length (parameters overrun the message, or octets trail them) is a
//!   Message Header Error / Bad Message Length, as BIRD reports it: the
//!   Length field and the OPEN's own length cannot both be right.
//! - A parameter or capability TLV that overruns its container, or a
//!   known capability whose value is malformed, is OPEN Message Error /
//!   0 (Unspecific): RFC 4271 6.2, "If one of the Optional Parameters in
//!   the OPEN message is recognized, but is malformed, then the Error
//!   Subcode MUST be set to 0 (Unspecific)". RFC 5492 defines no subcode
//!   for a malformed capability; its subcode 7 is for capabilities that
//!   are understood but refused, which the FSM decides, not the codec.
//! - NOTIFICATION has no decode error of its own: RFC 4271 6.4 forbids
//!   answering a NOTIFICATION with one, and the only check (at least 21
//!   octets) is the header's per-type minimum length.

use crate::msg::notification::{code, header_subcode, open_subcode, route_refresh_subcode};
use crate::msg::Notification;

pub use crate::wire::update::{AttrAction, UpdateError};

/// Why a received message could not be decoded. Each variant maps to one
/// NOTIFICATION code/subcode (RFC 4271 6, RFC 7313 5).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The marker is not 16 octets of 0xff (1/1, Connection Not
    /// Synchronized).
    #[error("connection not synchronized: bad marker at offset {offset}")]
    ConnectionNotSynchronized {
        /// Offset of the first octet that is not 0xff.
        offset: usize,
    },
    /// The Length field is out of bounds for the session or the message
    /// type, or disagrees with the message (1/2, Bad Message Length; data
    /// is the 2-octet Length field).
    #[error("bad message length {len} at offset {offset}")]
    BadMessageLength {
        /// Offset of the Length field (16), or of the field the length
        /// disagrees with.
        offset: usize,
        /// The Length field as received.
        len: u16,
    },
    /// The Type field is not a known message type (1/3, Bad Message Type;
    /// data is the type octet).
    #[error("bad message type {msg_type} at offset {offset}")]
    BadMessageType {
        /// Offset of the Type field (18).
        offset: usize,
        /// The type received.
        msg_type: u8,
    },
    /// The OPEN's version is not 4 (2/1, Unsupported Version Number; data
    /// is the 2-octet largest version we support, 4).
    #[error("unsupported BGP version {version} at offset {offset}")]
    UnsupportedVersion {
        /// Offset of the Version field (19).
        offset: usize,
        /// The version received.
        version: u8,
    },
    /// An optional parameter other than Capabilities (2/4, Unsupported
    /// Optional Parameter).
    #[error("unsupported optional parameter type {param_type} at offset {offset}")]
    UnsupportedOptionalParameter {
        /// Offset of the parameter.
        offset: usize,
        /// Its type.
        param_type: u8,
    },
    /// An optional parameter overruns the Optional Parameters field (2/0,
    /// Unspecific).
    #[error("malformed optional parameter at offset {offset}: {reason}")]
    MalformedOptionalParameter {
        /// Offset of the parameter.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A capability overruns its parameter, or a known capability's value
    /// is malformed (2/0, Unspecific).
    #[error("malformed capability {code} at offset {offset}: {reason}")]
    MalformedCapability {
        /// Offset of the capability (its code octet).
        offset: usize,
        /// Capability code.
        code: u8,
        /// What is wrong.
        reason: &'static str,
    },
    /// A malformed UPDATE that resets the session (offsets in it count
    /// from the start of the UPDATE body).
    #[error("malformed UPDATE: {0}")]
    Update(#[from] UpdateError),
    /// A Beginning- or End-of-Route-Refresh whose length is not 23 (7/1,
    /// Invalid Message Length; data is the whole message).
    #[error("invalid ROUTE-REFRESH length {len} at offset {offset}")]
    RouteRefreshLength {
        /// Offset of the Length field (16).
        offset: usize,
        /// The Length field.
        len: u16,
        /// The complete ROUTE-REFRESH message, as RFC 7313 5 wants it in
        /// the NOTIFICATION.
        message: Vec<u8>,
    },
}

impl DecodeError {
    /// The NOTIFICATION to send for this error.
    pub fn notification(&self) -> Notification {
        let header = |sub: u8, data: Vec<u8>| Notification::new(code::MESSAGE_HEADER, sub, data);
        let open = |sub: u8, data: Vec<u8>| Notification::new(code::OPEN_MESSAGE, sub, data);
        match self {
            // RFC 4271 6.1: "If at least one of the following is true: - if
            // the Length field of the message header is less than 19 or
            // greater than 4096, or [...] then the Error Subcode MUST be
            // set to Bad Message Length. The Data field MUST contain the
            // erroneous Length field."
            DecodeError::ConnectionNotSynchronized { .. } => {
                header(header_subcode::CONNECTION_NOT_SYNCHRONIZED, Vec::new())
            }
            DecodeError::BadMessageLength { len, .. } => header(
                header_subcode::BAD_MESSAGE_LENGTH,
                len.to_be_bytes().to_vec(),
            ),
            // "If the Type field of the message header is not recognized,
            // then the Error Subcode MUST be set to Bad Message Type. The
            // Data field MUST contain the erroneous Type field."
            DecodeError::BadMessageType { msg_type, .. } => {
                header(header_subcode::BAD_MESSAGE_TYPE, vec![*msg_type])
            }
            // RFC 4271 6.2: "The Data field is a 2-octet unsigned integer,
            // which indicates the largest, locally-supported version number
            // less than the version the remote BGP peer bid".
            DecodeError::UnsupportedVersion { .. } => open(
                open_subcode::UNSUPPORTED_VERSION,
                4u16.to_be_bytes().to_vec(),
            ),
            DecodeError::UnsupportedOptionalParameter { .. } => {
                open(open_subcode::UNSUPPORTED_OPTIONAL_PARAMETER, Vec::new())
            }
            DecodeError::MalformedOptionalParameter { .. }
            | DecodeError::MalformedCapability { .. } => open(0, Vec::new()),
            DecodeError::Update(e) => e.notification(),
            // RFC 7313 5: "The Data field of the NOTIFICATION message MUST
            // contain the complete ROUTE-REFRESH message."
            DecodeError::RouteRefreshLength { message, .. } => Notification::new(
                code::ROUTE_REFRESH,
                route_refresh_subcode::INVALID_MESSAGE_LENGTH,
                message.clone(),
            ),
        }
    }

    /// The byte offset of the error from the start of the message; `None`
    /// for [`DecodeError::Update`], whose [`UpdateError`] carries its own
    /// offset from the start of the UPDATE body.
    pub fn offset(&self) -> Option<usize> {
        match self {
            DecodeError::ConnectionNotSynchronized { offset }
            | DecodeError::BadMessageLength { offset, .. }
            | DecodeError::BadMessageType { offset, .. }
            | DecodeError::UnsupportedVersion { offset, .. }
            | DecodeError::UnsupportedOptionalParameter { offset, .. }
            | DecodeError::MalformedOptionalParameter { offset, .. }
            | DecodeError::MalformedCapability { offset, .. }
            | DecodeError::RouteRefreshLength { offset, .. } => Some(*offset),
            DecodeError::Update(_) => None,
        }
    }
}

impl From<&DecodeError> for Notification {
    fn from(e: &DecodeError) -> Self {
        e.notification()
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// The message would exceed the session's maximum length.
    #[error("message of {len} octets exceeds the maximum of {max}")]
    MessageTooLong {
        /// Length it would have.
        len: usize,
        /// Session maximum.
        max: usize,
    },
    /// A field does not fit its wire encoding.
    #[error("cannot encode {0}")]
    Invalid(&'static str),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_carry_rfc_data() {
        let e = DecodeError::BadMessageLength {
            offset: 16,
            len: 17,
        };
        assert_eq!(e.to_string(), "bad message length 17 at offset 16");
        assert_eq!(Notification::from(&e), Notification::new(1, 2, vec![0, 17]));
        let e = DecodeError::BadMessageType {
            offset: 18,
            msg_type: 9,
        };
        assert_eq!(e.notification(), Notification::new(1, 3, vec![9]));
        let e = DecodeError::ConnectionNotSynchronized { offset: 3 };
        assert_eq!(e.notification(), Notification::new(1, 1, vec![]));
        let e = DecodeError::UnsupportedVersion {
            offset: 19,
            version: 3,
        };
        assert_eq!(e.notification(), Notification::new(2, 1, vec![0, 4]));
        let e = DecodeError::UnsupportedOptionalParameter {
            offset: 29,
            param_type: 1,
        };
        assert_eq!(e.notification(), Notification::new(2, 4, vec![]));
        let e = DecodeError::MalformedCapability {
            offset: 31,
            code: 65,
            reason: "x",
        };
        assert_eq!(e.notification(), Notification::new(2, 0, vec![]));
        assert_eq!(e.offset(), Some(31));
        let e = DecodeError::RouteRefreshLength {
            offset: 16,
            len: 24,
            message: vec![1, 2],
        };
        assert_eq!(e.notification(), Notification::new(7, 1, vec![1, 2]));
        let e = DecodeError::from(UpdateError::MissingWellKnown { type_code: 1 });
        assert_eq!(e.notification(), Notification::new(3, 3, vec![1]));
        assert_eq!(e.offset(), None);
    }
}
