//! ROUTE-REFRESH (RFC 2918 3) with the RFC 7313 message subtypes in the
//! former Reserved octet.
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Subtype | SAFI  |
//! +-------+-------+-------+-------+
//! ```
//!
//! RFC 7313 5: "If the length, excluding the fixed-size message header,
//! of the received ROUTE-REFRESH message with Message Subtype 1 and 2 is
//! not 4, then the BGP speaker MUST send a NOTIFICATION message with the
//! Error Code of "ROUTE-REFRESH Message Error" and the subcode of "Invalid
//! Message Length". The Data field of the NOTIFICATION message MUST
//! contain the complete ROUTE-REFRESH message." A normal request (subtype
//! 0) may carry ORF entries (RFC 5291) after the four octets; we do not
//! support ORF and ignore them, as we ignore a message with a reserved
//! subtype ("it MUST ignore the received ROUTE-REFRESH message"), which is
//! decoded as [`RouteRefreshSubtype::Reserved`] for the FSM to drop.

use super::header::HEADER_LEN;
use super::parse::{be_u16, be_u8, run};
use crate::error::DecodeError;
use crate::msg::route_refresh::{RouteRefresh, RouteRefreshSubtype};
use crate::types::Family;
use bytes::{BufMut, BytesMut};

/// Decodes a ROUTE-REFRESH from the whole message (header included, as
/// RFC 7313 wants it in the NOTIFICATION data).
pub fn decode_route_refresh(frame: &[u8]) -> Result<RouteRefresh, DecodeError> {
    let len = u16::try_from(frame.len()).unwrap_or(u16::MAX);
    let body = frame.get(HEADER_LEN..).unwrap_or_default();
    let Some((orf, (afi, subtype, safi))) = run((be_u16, be_u8, be_u8), body) else {
        return Err(DecodeError::BadMessageLength { offset: 16, len });
    };
    let subtype = RouteRefreshSubtype::from_code(subtype);
    if matches!(
        subtype,
        RouteRefreshSubtype::Begin | RouteRefreshSubtype::End
    ) && !orf.is_empty()
    {
        return Err(DecodeError::RouteRefreshLength {
            offset: 16,
            len,
            message: frame.to_vec(),
        });
    }
    Ok(RouteRefresh {
        family: Family::new(afi, safi),
        subtype,
    })
}

/// Appends a ROUTE-REFRESH body.
pub fn encode_route_refresh(rr: &RouteRefresh, out: &mut BytesMut) {
    out.put_u16(rr.family.afi.code());
    out.put_u8(rr.subtype.code());
    out.put_u8(rr.family.safi.code());
}
