//! Capabilities (RFC 5492): the TLVs inside a Capabilities optional
//! parameter, decoded into [`Capability`] values when known and kept raw
//! otherwise.
//!
//! RFC 5492 4:
//!
//! ```text
//! +------------------------------+
//! | Capability Code (1 octet)    |
//! +------------------------------+
//! | Capability Length (1 octet)  |
//! +------------------------------+
//! | Capability Value (variable)  |
//! ~                              ~
//! +------------------------------+
//! ```
//!
//! Malformed values of known capabilities are OPEN Message Error /
//! Unspecific (see `crate::error`). Where a capability's RFC says to
//! ignore a value rather than fail (ADD-PATH with an unknown send/receive
//! mode, RFC 7911 4), or where our types cannot hold the value (an
//! extended next hop SAFI above 255, an FQDN that is not UTF-8), the
//! capability is kept as [`Capability::Unknown`], which the FSM ignores.

use super::parse::{be_u16, be_u32, be_u8, consumed, length_data, run, take, Parser, Res};
use crate::error::{DecodeError, EncodeError};
use crate::msg::open::{
    AddPathMode, Capability, ExtendedNextHop, GracefulRestart, GracefulRestartFamily,
};
use crate::types::Family;
use bytes::{BufMut, BytesMut};
use nom::combinator::all_consuming;
use nom::multi::many0;

/// Capability codes (IANA "Capability Codes").
pub mod code {
    /// 1: Multiprotocol Extensions (RFC 4760).
    pub const MULTIPROTOCOL: u8 = 1;
    /// 2: Route Refresh (RFC 2918).
    pub const ROUTE_REFRESH: u8 = 2;
    /// 5: Extended Next Hop Encoding (RFC 8950).
    pub const EXTENDED_NEXT_HOP: u8 = 5;
    /// 6: BGP Extended Message (RFC 8654).
    pub const EXTENDED_MESSAGE: u8 = 6;
    /// 64: Graceful Restart (RFC 4724).
    pub const GRACEFUL_RESTART: u8 = 64;
    /// 65: 4-octet AS number (RFC 6793).
    pub const FOUR_OCTET_AS: u8 = 65;
    /// 69: ADD-PATH (RFC 7911).
    pub const ADD_PATH: u8 = 69;
    /// 70: Enhanced Route Refresh (RFC 7313).
    pub const ENHANCED_ROUTE_REFRESH: u8 = 70;
    /// 71: Long-Lived Graceful Restart (RFC 9494); kept raw.
    pub const LONG_LIVED_GRACEFUL_RESTART: u8 = 71;
    /// 73: FQDN (draft-walton-bgp-hostname-capability).
    pub const FQDN: u8 = 73;
    /// 128: pre-standard (Cisco) Route Refresh.
    pub const ROUTE_REFRESH_CISCO: u8 = 128;
}

/// RFC 4724 3: the Restart State (R) bit, the most significant bit of the
/// Restart Flags: the sender has restarted.
const GR_FLAG_RESTART: u16 = 0x8000;
/// RFC 8538 2: the Notification (N) bit, next to R: graceful restart also
/// covers NOTIFICATIONs.
const GR_FLAG_NOTIFICATION: u16 = 0x4000;
/// RFC 4724 3: the Restart Time, 12 bits, in seconds.
const GR_TIME_MASK: u16 = 0x0fff;
/// RFC 4724 3: the Forwarding State (F) bit, the most significant bit of a
/// family's flags: forwarding state was preserved for that family.
const GR_FLAG_FORWARDING: u8 = 0x80;

/// Decodes the capabilities in the value of one Capabilities optional
/// parameter. `base` is the offset of `value` in the message, for errors.
pub(crate) fn decode_capabilities(
    value: &[u8],
    base: usize,
    out: &mut Vec<Capability>,
) -> Result<(), DecodeError> {
    let mut r = value;
    while !r.is_empty() {
        let offset = base + consumed(value, r);
        let malformed = |code: u8, reason| DecodeError::MalformedCapability {
            offset,
            code,
            reason,
        };
        let (q, code) = run(be_u8, r).ok_or(malformed(0, "truncated capability header"))?;
        let (q, len) = run(be_u8, q).ok_or(malformed(code, "truncated capability header"))?;
        let (q, v) = run(take(len), q).ok_or(malformed(
            code,
            "capability overruns its optional parameter",
        ))?;
        r = q;
        out.push(decode_one(code, v).map_err(|reason| malformed(code, reason))?);
    }
    Ok(())
}

/// Decodes one capability value; the error is the reason it is malformed.
fn decode_one(code: u8, v: &[u8]) -> Result<Capability, &'static str> {
    let cap = match code {
        // RFC 4760 8: AFI (2), Reserved (1), SAFI (1).
        code::MULTIPROTOCOL => {
            let (afi, _reserved, safi) = fixed(v, 4, (be_u16, be_u8, be_u8))?;
            Capability::Multiprotocol(Family::new(afi, safi))
        }
        // RFC 2918 2, RFC 8654 3, RFC 7313 3: these have length 0.
        code::ROUTE_REFRESH => empty(v, Capability::RouteRefresh)?,
        code::ROUTE_REFRESH_CISCO => empty(v, Capability::RouteRefreshCisco)?,
        code::EXTENDED_MESSAGE => empty(v, Capability::ExtendedMessage)?,
        code::ENHANCED_ROUTE_REFRESH => empty(v, Capability::EnhancedRouteRefresh)?,
        // RFC 6793 3: the value is the 4-octet AS number, length 4.
        code::FOUR_OCTET_AS => Capability::FourOctetAs(fixed(v, 4, be_u32)?),
        // RFC 4724 3: Restart Flags (4 bits), Restart Time (12 bits), then
        // per family AFI (2), SAFI (1), Flags for Address Family (1).
        code::GRACEFUL_RESTART => {
            if v.len() < 2 || (v.len() - 2) % 4 != 0 {
                return Err("graceful restart length is not 2 + 4n");
            }
            let (head, families) = entries(v, (be_u16, many0(afi_safi_octet)), "truncated family")?;
            Capability::GracefulRestart(GracefulRestart {
                restart_state: head & GR_FLAG_RESTART != 0,
                notification: head & GR_FLAG_NOTIFICATION != 0,
                restart_time: head & GR_TIME_MASK,
                families: families
                    .into_iter()
                    .map(|(afi, safi, flags)| GracefulRestartFamily {
                        family: Family::new(afi, safi),
                        forwarding_preserved: flags & GR_FLAG_FORWARDING != 0,
                    })
                    .collect(),
            })
        }
        // RFC 7911 4: AFI (2), SAFI (1), Send/Receive (1), repeated. "If
        // any other value is received, then the capability SHOULD be
        // treated as not understood and ignored."
        code::ADD_PATH => {
            if v.len() % 4 != 0 {
                return Err("ADD-PATH length is not a multiple of 4");
            }
            let list = entries(v, many0(afi_safi_octet), "truncated family")?;
            let modes = list.into_iter().map(|(afi, safi, mode)| {
                AddPathMode::from_code(mode).map(|m| (Family::new(afi, safi), m))
            });
            match modes.collect::<Option<Vec<_>>>() {
                Some(list) => Capability::AddPath(list),
                None => raw(code, v),
            }
        }
        // RFC 8950 3: NLRI AFI (2), NLRI SAFI (2), Nexthop AFI (2),
        // repeated.
        code::EXTENDED_NEXT_HOP => {
            if v.len() % 6 != 0 {
                return Err("extended next hop length is not a multiple of 6");
            }
            let list = entries(v, many0((be_u16, be_u16, be_u16)), "truncated entry")?;
            // A SAFI above 255 does not fit our types: keep the capability
            // raw (the FSM ignores it) rather than refuse the OPEN.
            let entries = list.into_iter().map(|(afi, safi, nh)| {
                Some(ExtendedNextHop {
                    family: Family::new(afi, u8::try_from(safi).ok()?),
                    next_hop_afi: nh,
                })
            });
            match entries.collect::<Option<Vec<_>>>() {
                Some(list) => Capability::ExtendedNextHop(list),
                None => raw(code, v),
            }
        }
        // draft-walton-bgp-hostname-capability 3: Hostname Length (1),
        // Hostname, Domain Name Length (1), Domain Name.
        code::FQDN => {
            let (r, host) = run(length_data(be_u8), v).ok_or("truncated hostname")?;
            let (r, dom) = run(length_data(be_u8), r).ok_or("truncated domain")?;
            if !r.is_empty() {
                return Err("octets after the domain name");
            }
            match (std::str::from_utf8(host), std::str::from_utf8(dom)) {
                (Ok(h), Ok(d)) => Capability::Fqdn {
                    hostname: h.to_owned(),
                    domain: d.to_owned(),
                },
                _ => raw(code, v),
            }
        }
        _ => raw(code, v),
    };
    Ok(cap)
}

/// AFI (2), SAFI (1) and one more octet (flags or mode).
fn afi_safi_octet(v: &[u8]) -> Res<'_, (u16, u8, u8)> {
    (be_u16, be_u8, be_u8).parse_complete(v)
}

/// Runs `p` over the whole value (the callers checked its length, so a
/// failure means a truncated entry: `reason`).
fn entries<'a, O>(
    v: &'a [u8],
    p: impl Parser<&'a [u8], Output = O, Error = ()>,
    reason: &'static str,
) -> Result<O, &'static str> {
    run(all_consuming(p), v).map(|(_, o)| o).ok_or(reason)
}

fn raw(code: u8, v: &[u8]) -> Capability {
    Capability::Unknown {
        code,
        value: v.to_vec(),
    }
}

fn empty(v: &[u8], cap: Capability) -> Result<Capability, &'static str> {
    if v.is_empty() {
        Ok(cap)
    } else {
        Err("capability length is not 0")
    }
}

/// Parses a value that must be exactly `len` octets long with `p`.
fn fixed<'a, O>(
    v: &'a [u8],
    len: usize,
    p: impl Parser<&'a [u8], Output = O, Error = ()>,
) -> Result<O, &'static str> {
    if v.len() != len {
        return Err("capability length is wrong for its code");
    }
    entries(v, p, "capability length is wrong for its code")
}

/// Appends one capability TLV.
pub(crate) fn encode_capability(cap: &Capability, out: &mut BytesMut) -> Result<(), EncodeError> {
    out.put_u8(cap.code());
    let len_at = out.len();
    out.put_u8(0);
    match cap {
        Capability::Multiprotocol(f) => {
            out.put_u16(f.afi.code());
            out.put_u8(0);
            out.put_u8(f.safi.code());
        }
        Capability::RouteRefresh
        | Capability::RouteRefreshCisco
        | Capability::ExtendedMessage
        | Capability::EnhancedRouteRefresh => {}
        Capability::FourOctetAs(asn) => out.put_u32(*asn),
        Capability::GracefulRestart(gr) => {
            if gr.restart_time > GR_TIME_MASK {
                return Err(EncodeError::Invalid("graceful restart time above 4095"));
            }
            let mut head = gr.restart_time;
            if gr.restart_state {
                head |= GR_FLAG_RESTART;
            }
            if gr.notification {
                head |= GR_FLAG_NOTIFICATION;
            }
            out.put_u16(head);
            for f in &gr.families {
                out.put_u16(f.family.afi.code());
                out.put_u8(f.family.safi.code());
                out.put_u8(if f.forwarding_preserved {
                    GR_FLAG_FORWARDING
                } else {
                    0
                });
            }
        }
        Capability::AddPath(list) => {
            for (f, mode) in list {
                out.put_u16(f.afi.code());
                out.put_u8(f.safi.code());
                out.put_u8(mode.code());
            }
        }
        Capability::ExtendedNextHop(list) => {
            for e in list {
                out.put_u16(e.family.afi.code());
                out.put_u16(u16::from(e.family.safi.code()));
                out.put_u16(e.next_hop_afi);
            }
        }
        Capability::Fqdn { hostname, domain } => {
            for s in [hostname, domain] {
                let n = u8::try_from(s.len())
                    .map_err(|_| EncodeError::Invalid("FQDN name longer than 255 octets"))?;
                out.put_u8(n);
                out.extend_from_slice(s.as_bytes());
            }
        }
        Capability::Unknown { value, .. } => out.extend_from_slice(value),
    }
    let len = out.len() - len_at - 1;
    let len = u8::try_from(len).map_err(|_| EncodeError::Invalid("capability over 255 octets"))?;
    if let Some(b) = out.get_mut(len_at) {
        *b = len;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(v: &[u8]) -> Result<Vec<Capability>, DecodeError> {
        let mut caps = Vec::new();
        decode_capabilities(v, 31, &mut caps).map(|()| caps)
    }

    #[test]
    fn malformed_known_capabilities_fail() {
        let err = |offset, code| {
            Err(DecodeError::MalformedCapability {
                offset,
                code,
                reason: "",
            })
        };
        let strip = |r: Result<Vec<Capability>, DecodeError>| {
            r.map_err(|e| match e {
                DecodeError::MalformedCapability { offset, code, .. } => {
                    DecodeError::MalformedCapability {
                        offset,
                        code,
                        reason: "",
                    }
                }
                e => e,
            })
        };
        assert_eq!(strip(decode(&[1, 3, 0, 1, 0])), err(31, 1));
        assert_eq!(strip(decode(&[2, 0, 2, 1, 0])), err(33, 2));
        assert_eq!(strip(decode(&[65, 2, 0, 1])), err(31, 65));
        assert_eq!(strip(decode(&[64, 3, 0, 120, 0])), err(31, 64));
        assert_eq!(strip(decode(&[69, 3, 0, 1, 1])), err(31, 69));
        assert_eq!(strip(decode(&[5, 4, 0, 1, 0, 1])), err(31, 5));
        assert_eq!(strip(decode(&[73, 2, 5, b'a'])), err(31, 73));
        assert_eq!(strip(decode(&[65, 4, 0, 0])), err(31, 65));
    }

    #[test]
    fn odd_but_legal_values_are_kept_raw() {
        let caps = decode(&[69, 4, 0, 1, 1, 9, 5, 6, 0, 1, 1, 0, 0, 2, 99, 1, 7]).unwrap();
        assert_eq!(
            caps[0],
            Capability::Unknown {
                code: 69,
                value: vec![0, 1, 1, 9]
            }
        );
        assert_eq!(
            caps[1],
            Capability::Unknown {
                code: 5,
                value: vec![0, 1, 1, 0, 0, 2]
            }
        );
        assert_eq!(
            caps[2],
            Capability::Unknown {
                code: 99,
                value: vec![7]
            }
        );
    }

    #[test]
    fn graceful_restart_flags_and_time() {
        let caps = decode(&[64, 6, 0xc0, 0x78, 0, 2, 1, 0x80]).unwrap();
        let gr = GracefulRestart {
            restart_state: true,
            notification: true,
            restart_time: 120,
            families: vec![GracefulRestartFamily {
                family: Family::IPV6_UNICAST,
                forwarding_preserved: true,
            }],
        };
        assert_eq!(caps, vec![Capability::GracefulRestart(gr.clone())]);
        let mut out = BytesMut::new();
        encode_capability(&Capability::GracefulRestart(gr), &mut out).unwrap();
        assert_eq!(&out[..], &[64, 6, 0xc0, 0x78, 0, 2, 1, 0x80]);
    }
}
