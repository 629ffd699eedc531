//! A rogue peer inside a neighbor range: it sends hand-made bad bytes and
//! reports the NOTIFICATION the router answers with (check 7).
//!
//! The messages are written byte by byte here on purpose: this must not
//! share code with the codec under test.

use crate::{Error, Result};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What the rogue sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// OPEN with version 5. RFC 4271 §6.2: "If the version number in the
    /// Version field of the received OPEN message is not supported, then
    /// the Error Subcode MUST be set to Unsupported Version Number."
    /// Expect 2/1.
    BadOpen,
    /// A valid OPEN and KEEPALIVE, then an UPDATE whose Total Path
    /// Attribute Length runs past the message. RFC 4271 §6.3: "If the
    /// Withdrawn Routes Length or Total Attribute Length is too large ...
    /// then the Error Subcode MUST be set to Malformed Attribute List."
    /// Expect 3/1.
    BadUpdate,
    /// 19 bytes with a zero marker. RFC 4271 §6.1: "If the Marker field of
    /// the message header is not as expected, then a synchronization
    /// error has occurred and the Error Subcode MUST be set to Connection
    /// Not Synchronized." Expect 1/1.
    Garbage,
}

impl Scenario {
    /// All scenarios, in the order check 7 runs them.
    pub const ALL: [Scenario; 3] = [Scenario::BadOpen, Scenario::BadUpdate, Scenario::Garbage];

    /// Name on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::BadOpen => "bad-open",
            Scenario::BadUpdate => "bad-update",
            Scenario::Garbage => "garbage",
        }
    }

    /// The (code, subcode) RFC 4271 requires in answer.
    pub fn expected(self) -> (u8, u8) {
        match self {
            Scenario::BadOpen => (2, 1),
            Scenario::BadUpdate => (3, 1),
            Scenario::Garbage => (1, 1),
        }
    }
}

impl std::str::FromStr for Scenario {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| Error::Parse {
                what: "rogue scenario".into(),
                detail: format!("{s}: expected bad-open, bad-update or garbage"),
            })
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// The scenario run.
    pub scenario: Scenario,
    /// Whether the TCP connection was accepted at all.
    pub connected: bool,
    /// Whether the router sent an OPEN.
    pub got_open: bool,
    /// The NOTIFICATION received: code, subcode, data.
    pub notification: Option<(u8, u8, Vec<u8>)>,
    /// Whether the router closed the connection.
    pub closed: bool,
}

impl Outcome {
    /// One line of JSON (what the `lab rogue` command prints).
    pub fn to_json(&self) -> String {
        let n = match &self.notification {
            Some((c, s, d)) => {
                let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
                format!("{{\"code\":{c},\"subcode\":{s},\"data\":\"{hex}\"}}")
            }
            None => "null".into(),
        };
        format!(
            "{{\"scenario\":\"{}\",\"connected\":{},\"got_open\":{},\"notification\":{},\"closed\":{}}}",
            self.scenario.as_str(),
            self.connected,
            self.got_open,
            n,
            self.closed
        )
    }

    /// Parses [`Outcome::to_json`]'s output.
    pub fn from_json(s: &str) -> Result<Outcome> {
        let err = |d: &str| Error::Parse {
            what: "rogue outcome".into(),
            detail: d.into(),
        };
        let v: serde_json::Value =
            serde_json::from_str(s.trim()).map_err(|e| err(&e.to_string()))?;
        let scenario: Scenario = v
            .get("scenario")
            .and_then(|x| x.as_str())
            .ok_or_else(|| err("scenario"))?
            .parse()?;
        let flag = |k: &str| v.get(k).and_then(|x| x.as_bool()).unwrap_or(false);
        let notification = match v.get("notification") {
            Some(n) if !n.is_null() => {
                let num = |k: &str| {
                    n.get(k)
                        .and_then(|x| x.as_u64())
                        .and_then(|x| u8::try_from(x).ok())
                };
                let code = num("code").ok_or_else(|| err("code"))?;
                let sub = num("subcode").ok_or_else(|| err("subcode"))?;
                let hex = n.get("data").and_then(|x| x.as_str()).unwrap_or("");
                let data = (0..hex.len() / 2)
                    .filter_map(|i| hex.get(2 * i..2 * i + 2))
                    .filter_map(|h| u8::from_str_radix(h, 16).ok())
                    .collect();
                Some((code, sub, data))
            }
            _ => None,
        };
        Ok(Outcome {
            scenario,
            connected: flag("connected"),
            got_open: flag("got_open"),
            notification,
            closed: flag("closed"),
        })
    }
}

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u16::try_from(19 + body.len()).unwrap_or(u16::MAX);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&len.to_be_bytes());
    m.push(kind);
    m.extend_from_slice(body);
    m
}

/// An OPEN: `version`, `asn` (2-octet field AS_TRANS when 4-octet), hold
/// 90, `id`, capabilities MP ipv4-unicast and 4-octet AS.
pub fn open(version: u8, asn: u32, id: Ipv4Addr) -> Vec<u8> {
    let my_as = u16::try_from(asn).unwrap_or(23456);
    let mut caps = vec![1, 4, 0, 1, 0, 1]; // MP: AFI 1, SAFI 1
    caps.extend_from_slice(&[65, 4]);
    caps.extend_from_slice(&asn.to_be_bytes());
    let mut body = vec![version];
    body.extend_from_slice(&my_as.to_be_bytes());
    body.extend_from_slice(&90u16.to_be_bytes());
    body.extend_from_slice(&id.octets());
    body.push(u8::try_from(caps.len() + 2).unwrap_or(0));
    body.push(2); // optional parameter: capabilities
    body.push(u8::try_from(caps.len()).unwrap_or(0));
    body.extend_from_slice(&caps);
    message(1, &body)
}

/// An UPDATE whose Total Path Attribute Length (200) is larger than what
/// follows (one ORIGIN attribute, 4 bytes).
pub fn bad_update() -> Vec<u8> {
    let mut body = vec![0, 0]; // withdrawn routes length
    body.extend_from_slice(&200u16.to_be_bytes());
    body.extend_from_slice(&[0x40, 1, 1, 0]); // ORIGIN IGP
    message(2, &body)
}

/// A header with an all-zero marker.
pub fn garbage() -> Vec<u8> {
    let mut m = vec![0u8; 16];
    m.extend_from_slice(&19u16.to_be_bytes());
    m.push(4);
    m
}

/// Reads one BGP message (type, body), or None on EOF.
fn read_message(s: &mut TcpStream) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut hdr = [0u8; 19];
    match s.read_exact(&mut hdr) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = usize::from(u16::from_be_bytes([hdr[16], hdr[17]]));
    let mut body = vec![0u8; len.saturating_sub(19)];
    s.read_exact(&mut body)?;
    Ok(Some((hdr[18], body)))
}

/// Runs `scenario` against `target` as AS `asn`, BGP id `id`; waits up to
/// `timeout` for the router's answer.
pub fn run(
    target: SocketAddr,
    asn: u32,
    id: Ipv4Addr,
    scenario: Scenario,
    timeout: Duration,
) -> Result<Outcome> {
    let net = |source| Error::Net {
        peer: target.to_string(),
        source,
    };
    let mut out = Outcome {
        scenario,
        connected: false,
        got_open: false,
        notification: None,
        closed: false,
    };
    let mut s = match TcpStream::connect_timeout(&target, Duration::from_secs(5)) {
        Ok(s) => s,
        Err(_) => {
            out.closed = true;
            return Ok(out);
        }
    };
    out.connected = true;
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .map_err(net)?;
    let first = match scenario {
        Scenario::BadOpen => open(5, asn, id),
        Scenario::BadUpdate => open(4, asn, id),
        Scenario::Garbage => garbage(),
    };
    if s.write_all(&first).is_err() {
        out.closed = true;
        return Ok(out);
    }
    let start = Instant::now();
    let mut sent_update = false;
    while start.elapsed() < timeout {
        match read_message(&mut s) {
            Ok(None) => {
                out.closed = true;
                break;
            }
            Ok(Some((1, _))) => {
                out.got_open = true;
                if scenario == Scenario::BadUpdate {
                    // Confirm the OPEN; the UPDATE follows their KEEPALIVE.
                    let _ = s.write_all(&message(4, &[]));
                }
            }
            Ok(Some((3, body))) => {
                let code = body.first().copied().unwrap_or(0);
                let sub = body.get(1).copied().unwrap_or(0);
                out.notification = Some((code, sub, body.get(2..).unwrap_or(&[]).to_vec()));
            }
            Ok(Some((4, _))) => {
                if scenario == Scenario::BadUpdate && !sent_update {
                    sent_update = true;
                    let _ = s.write_all(&bad_update());
                }
            }
            Ok(Some(_)) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                out.closed = true;
                break;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_bytes() {
        let m = open(4, 65100, Ipv4Addr::new(172, 18, 0, 66));
        assert_eq!(&m[..16], &[0xff; 16]);
        assert_eq!(usize::from(u16::from_be_bytes([m[16], m[17]])), m.len());
        assert_eq!(m[18], 1);
        assert_eq!(m[19], 4);
        assert_eq!(u16::from_be_bytes([m[20], m[21]]), 65100);
        assert_eq!(&m[24..28], &[172, 18, 0, 66]);
        assert_eq!(usize::from(m[28]), m.len() - 29);
    }

    #[test]
    fn bad_update_overruns() {
        let m = bad_update();
        let total = u16::from_be_bytes([m[21], m[22]]);
        assert!(usize::from(total) + 23 > m.len());
    }

    #[test]
    fn outcome_json_roundtrip() {
        let o = Outcome {
            scenario: Scenario::BadOpen,
            connected: true,
            got_open: false,
            notification: Some((2, 1, vec![0, 4])),
            closed: true,
        };
        assert_eq!(Outcome::from_json(&o.to_json()).unwrap(), o);
    }
}
