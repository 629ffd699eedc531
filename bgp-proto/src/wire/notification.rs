//! The NOTIFICATION message (RFC 4271 4.5). The data is kept raw; its
//! meaning (e.g. an RFC 9003 shutdown communication) is read through
//! [`Notification`]'s methods.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Error code    | Error subcode |   Data (variable)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! There is no NOTIFICATION decode error beyond the header's minimum
//! length of 21: RFC 4271 6.4 forbids answering a NOTIFICATION with one.

use super::parse::{be_u8, rest, run};
use crate::msg::Notification;
use bytes::{BufMut, BytesMut};

/// Decodes a NOTIFICATION body (after the header). `None` when shorter
/// than 2 octets, which a checked header rules out.
pub fn decode_notification(body: &[u8]) -> Option<Notification> {
    let (_, (code, subcode, data)) = run((be_u8, be_u8, rest), body)?;
    Some(Notification::new(code, subcode, data))
}

/// Appends a NOTIFICATION body.
pub fn encode_notification(n: &Notification, out: &mut BytesMut) {
    out.put_u8(n.code);
    out.put_u8(n.subcode);
    out.extend_from_slice(&n.data);
}
