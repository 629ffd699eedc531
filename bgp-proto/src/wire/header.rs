//! The 19-octet message header (RFC 4271 4.1) and framing: finding one
//! whole message in a receive buffer.
//!
//! Invariant: a frame handed out by [`split_frame`] has passed
//! [`check_header`], so its marker is all ones, its length equals
//! the Length field and lies within the session's and the type's bounds,
//! and its type is known. The frame is split off the buffer without copy.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                                                               +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```

use super::parse::{be_u16, be_u8, run, take};
use crate::error::DecodeError;
use crate::msg::message_type as mt;
use crate::msg::SessionContext;
use bytes::{Bytes, BytesMut};

/// Length of the message header.
pub const HEADER_LEN: usize = 19;
/// The marker: 16 octets of all ones.
pub const MARKER: [u8; 16] = [0xff; 16];
/// Largest message without RFC 8654 extended messages.
pub const MAX_MESSAGE_LEN: usize = 4096;
/// Largest message with RFC 8654 extended messages.
pub const MAX_EXTENDED_MESSAGE_LEN: usize = 65535;

/// Offset of the Length field.
const LENGTH_OFFSET: usize = 16;
/// Offset of the Type field.
const TYPE_OFFSET: usize = 18;

/// A checked message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total message length, header included.
    pub length: u16,
    /// Message type (`crate::msg::message_type`).
    pub msg_type: u8,
}

/// The smallest length a message of `msg_type` may have, and whether it
/// must be exactly that long; `None` for an unknown type.
///
/// RFC 4271 4.2-4.5: OPEN 29, UPDATE 23, NOTIFICATION 21, KEEPALIVE
/// exactly 19; RFC 2918 3: ROUTE-REFRESH carries AFI, Reserved and SAFI,
/// so 23.
pub fn min_len(msg_type: u8) -> Option<(usize, bool)> {
    match msg_type {
        mt::OPEN => Some((29, false)),
        mt::UPDATE => Some((23, false)),
        mt::NOTIFICATION => Some((21, false)),
        mt::KEEPALIVE => Some((HEADER_LEN, true)),
        mt::ROUTE_REFRESH => Some((23, false)),
        _ => None,
    }
}

/// The largest length a message of `msg_type` may have on `ctx`.
///
/// RFC 8654 4: "The BGP Extended Message Capability applies to all
/// messages except for OPEN and KEEPALIVE messages."
pub fn max_len(msg_type: u8, ctx: &SessionContext) -> usize {
    match msg_type {
        mt::OPEN | mt::KEEPALIVE => MAX_MESSAGE_LEN,
        _ => ctx.max_message_len(),
    }
}

/// Checks the header at the start of `buf`. `Ok(None)` when fewer than 19
/// octets are there; the message itself may still be incomplete.
///
/// RFC 4271 6.1: the marker must be all ones (else Connection Not
/// Synchronized); "if the Length field of the message header is less than
/// 19 or greater than 4096, or if the Length field of an OPEN message is
/// less than the minimum length of the OPEN message, or if the Length
/// field of an UPDATE message is less than the minimum length of the
/// UPDATE message, or if the Length field of a KEEPALIVE message is not
/// equal to 19, or if the Length field of a NOTIFICATION message is less
/// than the minimum length of the NOTIFICATION message, then the Error
/// Subcode MUST be set to Bad Message Length"; "If the Type field of the
/// message header is not recognized, then the Error Subcode MUST be set
/// to Bad Message Type."
pub fn check_header(buf: &[u8], ctx: &SessionContext) -> Result<Option<Header>, DecodeError> {
    let Some((_, (marker, length, msg_type))) = run((take(MARKER.len()), be_u16, be_u8), buf)
    else {
        return Ok(None);
    };
    if let Some(offset) = marker.iter().position(|&b| b != 0xff) {
        return Err(DecodeError::ConnectionNotSynchronized { offset });
    }
    let bad_len = DecodeError::BadMessageLength {
        offset: LENGTH_OFFSET,
        len: length,
    };
    let len = usize::from(length);
    if len < HEADER_LEN || len > ctx.max_message_len() {
        return Err(bad_len);
    }
    let Some((min, exact)) = min_len(msg_type) else {
        return Err(DecodeError::BadMessageType {
            offset: TYPE_OFFSET,
            msg_type,
        });
    };
    if len < min || (exact && len != min) || len > max_len(msg_type, ctx) {
        return Err(bad_len);
    }
    Ok(Some(Header { length, msg_type }))
}

/// Takes one whole message (header included) off the front of `buf`,
/// without copy (`split_to(len).freeze()`). `Ok(None)` while the message
/// is incomplete; the header is checked as soon as its 19 octets are
/// there, so a bad header is reported without waiting for the body.
pub fn split_frame(buf: &mut BytesMut, ctx: &SessionContext) -> Result<Option<Bytes>, DecodeError> {
    let Some(header) = check_header(buf, ctx)? else {
        return Ok(None);
    };
    let len = usize::from(header.length);
    if buf.len() < len {
        return Ok(None);
    }
    Ok(Some(buf.split_to(len).freeze()))
}

/// Writes a header with a zero Length; [`finish_message`] fills it in.
pub(crate) fn start_message(out: &mut BytesMut, msg_type: u8) -> usize {
    let start = out.len();
    out.extend_from_slice(&MARKER);
    out.extend_from_slice(&[0, 0, msg_type]);
    start
}

/// Fills in the Length of the message begun at `start`, or removes it and
/// fails when it exceeds `max`.
pub(crate) fn finish_message(
    out: &mut BytesMut,
    start: usize,
    max: usize,
) -> Result<(), crate::error::EncodeError> {
    let len = out.len().saturating_sub(start);
    let field = match u16::try_from(len) {
        Ok(l) if len <= max => l,
        _ => {
            out.truncate(start);
            return Err(crate::error::EncodeError::MessageTooLong { len, max });
        }
    };
    let at = start + LENGTH_OFFSET;
    if let Some(dst) = out.get_mut(at..at + 2) {
        dst.copy_from_slice(&field.to_be_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(len: u16, t: u8) -> Vec<u8> {
        let mut v = MARKER.to_vec();
        v.extend_from_slice(&len.to_be_bytes());
        v.push(t);
        v
    }

    #[test]
    fn checks_marker_length_and_type() {
        let ctx = SessionContext::default();
        assert_eq!(check_header(&header(19, 4)[..18], &ctx), Ok(None));
        assert_eq!(
            check_header(&header(19, 4), &ctx),
            Ok(Some(Header {
                length: 19,
                msg_type: 4
            }))
        );
        let mut h = header(19, 4);
        h[5] = 0;
        assert_eq!(
            check_header(&h, &ctx),
            Err(DecodeError::ConnectionNotSynchronized { offset: 5 })
        );
        let bad = |len| Err(DecodeError::BadMessageLength { offset: 16, len });
        assert_eq!(check_header(&header(18, 4), &ctx), bad(18));
        assert_eq!(check_header(&header(20, 4), &ctx), bad(20));
        assert_eq!(check_header(&header(28, 1), &ctx), bad(28));
        assert_eq!(check_header(&header(22, 2), &ctx), bad(22));
        assert_eq!(check_header(&header(20, 3), &ctx), bad(20));
        assert_eq!(check_header(&header(22, 5), &ctx), bad(22));
        assert_eq!(check_header(&header(4097, 2), &ctx), bad(4097));
        assert_eq!(
            check_header(&header(19, 6), &ctx),
            Err(DecodeError::BadMessageType {
                offset: 18,
                msg_type: 6
            })
        );
        let ext = SessionContext {
            extended_message: true,
            ..Default::default()
        };
        assert!(check_header(&header(65535, 2), &ext).is_ok());
        // RFC 8654: OPEN stays within 4096 octets.
        assert_eq!(check_header(&header(4097, 1), &ext), bad(4097));
    }

    #[test]
    fn splits_whole_frames_only() {
        let ctx = SessionContext::default();
        let mut buf = BytesMut::new();
        let ka = header(19, 4);
        buf.extend_from_slice(&ka[..10]);
        assert_eq!(split_frame(&mut buf, &ctx), Ok(None));
        buf.extend_from_slice(&ka[10..]);
        buf.extend_from_slice(&ka);
        buf.extend_from_slice(&header(23, 5)); // body not yet there
        assert_eq!(split_frame(&mut buf, &ctx).unwrap().unwrap(), &ka[..]);
        assert_eq!(split_frame(&mut buf, &ctx).unwrap().unwrap(), &ka[..]);
        assert_eq!(split_frame(&mut buf, &ctx), Ok(None));
        buf.extend_from_slice(&[0, 1, 0, 1]);
        let frame = split_frame(&mut buf, &ctx).unwrap().unwrap();
        assert!(matches!(
            super::super::decode_message(frame, &ctx),
            Ok(super::super::Decoded::RouteRefresh(_))
        ));
        assert!(buf.is_empty());
    }
}
