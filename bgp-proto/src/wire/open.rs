//! The OPEN message (RFC 4271 4.2) with optional parameters in the classic
//! and the RFC 9072 extended format. Capabilities are in
//! [`super::capability`].
//!
//! The codec only parses: hold time, My AS and BGP Identifier are checked
//! by the FSM against its configuration (a hold time of 1 or 2 decodes).
//! The codec does reject a version other than 4, since the rest of the
//! message could not be read reliably then.
//!
//! RFC 9072 2, the extended format:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Non-Ext OP Len.|Non-Ext OP Type|  Extended Opt. Parm. Length   |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! |             Optional Parameters (variable)                    |
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//!
//!  0                   1                   2
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Parm. Type   |        Parameter Length       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ~            Parameter Value (variable)         ~
//! |                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Encoding puts every capability in one Capabilities parameter (as GoBGP
//! and BIRD do), followed by `other_params`; so an OPEN that had one
//! parameter per capability (as FRR sends) decodes to the same value but
//! re-encodes shorter.

use super::capability::{decode_capabilities, encode_capability};
use super::header::HEADER_LEN;
use super::parse::{be_u16, be_u32, be_u8, consumed, run, take, Parser};
use crate::error::{DecodeError, EncodeError};
use crate::msg::open::OpenMessage;
use bytes::{BufMut, BytesMut};
use std::net::Ipv4Addr;

/// The BGP version we speak.
pub const BGP_VERSION: u8 = 4;
/// Optional parameter type of Capabilities (RFC 5492 4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// RFC 9072 2: "Non-Ext OP Type" value that marks the extended format.
pub const PARAM_EXTENDED_LENGTH: u8 = 255;

/// Decodes an OPEN from its body (the message after the 19-octet header).
/// Offsets in errors count from the start of the message.
pub fn decode_open(body: &[u8]) -> Result<OpenMessage, DecodeError> {
    let total = HEADER_LEN + body.len();
    let bad_len = DecodeError::BadMessageLength {
        offset: 16,
        len: u16::try_from(total).unwrap_or(u16::MAX),
    };
    let (r, version) = run(be_u8, body).ok_or(bad_len.clone())?;
    if version != BGP_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            offset: HEADER_LEN,
            version,
        });
    }
    let (r, (my_as, hold_time, bgp_id, opt_len)) =
        run((be_u16, be_u16, be_u32, be_u8), r).ok_or(bad_len.clone())?;

    // RFC 9072 2 (paraphrased): when the one-octet Optional Parameters
    // Length ("Non-Ext OP Len") is non-zero, the octet after it ("Non-Ext
    // OP Type") decides the format: 255 means a two-octet "Extended Opt.
    // Parm. Length" follows and every parameter has a two-octet length;
    // anything else is the RFC 4271 format.
    let extended = opt_len != 0 && r.first() == Some(&PARAM_EXTENDED_LENGTH);
    let (r, params_len) = if extended {
        // The Non-Ext OP Type octet, then the extended length.
        run((be_u8, be_u16).map(|(_, len)| len), r).ok_or(bad_len.clone())?
    } else {
        (r, u16::from(opt_len))
    };
    let params_at = HEADER_LEN + consumed(body, r);
    let (r, params) = run(take(params_len), r).ok_or(bad_len.clone())?;
    if !r.is_empty() {
        return Err(bad_len);
    }

    let mut open = OpenMessage {
        version,
        my_as,
        hold_time,
        bgp_id: Ipv4Addr::from(bgp_id),
        capabilities: Vec::new(),
        other_params: Vec::new(),
        extended_params: extended,
    };
    let mut p = params;
    while !p.is_empty() {
        let offset = params_at + consumed(params, p);
        let malformed = |reason| DecodeError::MalformedOptionalParameter { offset, reason };
        let header = if extended {
            run((be_u8, be_u16), p)
        } else {
            run((be_u8, be_u8.map(u16::from)), p)
        };
        let (q, (param_type, len)) = header.ok_or(malformed("truncated parameter header"))?;
        let value_at = params_at + consumed(params, q);
        let (q, value) =
            run(take(len), q).ok_or(malformed("parameter overruns the optional parameters"))?;
        p = q;
        // RFC 4271 6.2: "If one of the Optional Parameters in the OPEN
        // message is not recognized, then the Error Subcode MUST be set to
        // Unsupported Optional Parameters."
        if param_type != PARAM_CAPABILITIES {
            return Err(DecodeError::UnsupportedOptionalParameter { offset, param_type });
        }
        decode_capabilities(value, value_at, &mut open.capabilities)?;
    }
    Ok(open)
}

/// Appends the body of `open` (everything after the header).
///
/// RFC 9072 (paraphrased): the extended format exists for Optional
/// Parameters longer than 255 octets; it is used then, and whenever
/// `open.extended_params` is set. GoBGP 3.10 (so Cilium) cannot read the
/// extended format and answers it with 1/2 (tests/data/README.md).
pub fn encode_open(open: &OpenMessage, out: &mut BytesMut) -> Result<(), EncodeError> {
    out.put_u8(open.version);
    out.put_u16(open.my_as);
    out.put_u16(open.hold_time);
    out.put_u32(u32::from(open.bgp_id));

    let mut params: Vec<(u8, BytesMut)> = Vec::with_capacity(1 + open.other_params.len());
    if !open.capabilities.is_empty() {
        let mut caps = BytesMut::new();
        for cap in &open.capabilities {
            encode_capability(cap, &mut caps)?;
        }
        params.push((PARAM_CAPABILITIES, caps));
    }
    for (t, v) in &open.other_params {
        params.push((*t, BytesMut::from(v.as_slice())));
    }
    let classic_len: usize = params.iter().map(|(_, v)| 2 + v.len()).sum();
    let fits_classic = classic_len <= 255 && params.iter().all(|(_, v)| v.len() <= 255);

    if !open.extended_params && fits_classic {
        out.put_u8(classic_len as u8);
        for (t, v) in &params {
            out.put_u8(*t);
            out.put_u8(v.len() as u8);
            out.extend_from_slice(v);
        }
    } else {
        let ext_len: usize = params.iter().map(|(_, v)| 3 + v.len()).sum();
        let ext_len = u16::try_from(ext_len)
            .map_err(|_| EncodeError::Invalid("optional parameters over 65535 octets"))?;
        out.put_u8(PARAM_EXTENDED_LENGTH);
        out.put_u8(PARAM_EXTENDED_LENGTH);
        out.put_u16(ext_len);
        for (t, v) in &params {
            out.put_u8(*t);
            // Each fits: their sum does.
            out.put_u16(v.len() as u16);
            out.extend_from_slice(v);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::open::Capability;

    fn body(params: &[u8]) -> Vec<u8> {
        let mut b = vec![4, 0xfd, 0xe8, 0, 90, 10, 0, 0, 1];
        b.extend_from_slice(params);
        b
    }

    #[test]
    fn decodes_minimal_and_short_hold_time() {
        let mut b = body(&[0]);
        b[4] = 1; // hold time 1: the FSM, not the codec, refuses it
        let o = decode_open(&b).unwrap();
        assert_eq!(
            (o.my_as, o.hold_time, o.bgp_id),
            (65000, 1, Ipv4Addr::new(10, 0, 0, 1))
        );
        assert!(o.capabilities.is_empty() && !o.extended_params);
    }

    #[test]
    fn length_and_parameter_errors() {
        // Optional Parameters Length beyond the message.
        assert!(matches!(
            decode_open(&body(&[4, 2, 2])),
            Err(DecodeError::BadMessageLength { len: 31, .. })
        ));
        // Octets after the parameters.
        assert!(matches!(
            decode_open(&body(&[0, 1])),
            Err(DecodeError::BadMessageLength { len: 30, .. })
        ));
        // A parameter overrunning the parameters.
        assert_eq!(
            decode_open(&body(&[3, 2, 5, 0])),
            Err(DecodeError::MalformedOptionalParameter {
                offset: 29,
                reason: "parameter overruns the optional parameters"
            })
        );
        // Authentication (type 1, deprecated) is unsupported: 2/4.
        assert_eq!(
            decode_open(&body(&[4, 2, 0, 1, 0])),
            Err(DecodeError::UnsupportedOptionalParameter {
                offset: 31,
                param_type: 1
            })
        );
        assert_eq!(
            decode_open(&[3, 0, 1]),
            Err(DecodeError::UnsupportedVersion {
                offset: 19,
                version: 3
            })
        );
    }

    #[test]
    fn extended_params_round_trip() {
        let b = body(&[255, 255, 0, 5, 2, 0, 2, 2, 0]);
        let o = decode_open(&b).unwrap();
        assert!(o.extended_params);
        assert_eq!(o.capabilities, vec![Capability::RouteRefresh]);
        let mut out = BytesMut::new();
        encode_open(&o, &mut out).unwrap();
        assert_eq!(&out[..], &b[..]);
    }
}
