//! A scripted BGP speaker for the sessions rbgpd must refuse: raw OPENs
//! with a wrong AS or an unacceptable hold time, and a connection from an
//! address that is no neighbor.

use super::{Lab, Rbgpctl, RBGPD};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// A BGP OPEN (RFC 4271 4.2) with the 4-octet AS capability (RFC 6793)
/// and IPv4 unicast.
pub fn open_message(asn: u32, hold: u16, id: [u8; 4]) -> Vec<u8> {
    let my_as = u16::try_from(asn).unwrap_or(23456);
    let caps: Vec<u8> = [
        vec![1, 4, 0, 1, 0, 1],
        [vec![65, 4], asn.to_be_bytes().to_vec()].concat(),
    ]
    .concat();
    let mut body = vec![4];
    body.extend_from_slice(&my_as.to_be_bytes());
    body.extend_from_slice(&hold.to_be_bytes());
    body.extend_from_slice(&id);
    body.push(u8::try_from(caps.len() + 2).unwrap());
    body.extend_from_slice(&[2, u8::try_from(caps.len()).unwrap()]);
    body.extend_from_slice(&caps);
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(19 + body.len()).unwrap().to_be_bytes());
    m.push(1);
    m.extend_from_slice(&body);
    m
}

/// What a scripted speaker saw on one connection to rbgpd.
#[derive(Debug, Default)]
pub struct RawOutcome {
    /// Types of the messages received, in order.
    pub types: Vec<u8>,
    /// (code, subcode) of the NOTIFICATION received, if any.
    pub notification: Option<(u8, u8)>,
    /// Bytes received in all.
    pub bytes: usize,
    /// The connection was closed by rbgpd (EOF or reset).
    pub closed: bool,
    /// The connection was refused or could not be made.
    pub refused: bool,
}

/// Connects from `from` to rbgpd, sends `open` (if any) once rbgpd's OPEN
/// arrived, and reads until rbgpd closes or 8 s pass.
pub fn raw_session(lab: &Lab, from: &'static str, open: Option<Vec<u8>>) -> RawOutcome {
    let outcome = lab.ns.run(move || {
        let mut out = RawOutcome::default();
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let local: SocketAddr = format!("{from}:0").parse().unwrap();
        sock.bind(&local.into()).unwrap();
        let remote: SocketAddr = format!("{RBGPD}:179").parse().unwrap();
        if sock
            .connect_timeout(&remote.into(), Duration::from_secs(3))
            .is_err()
        {
            out.refused = true;
            out.closed = true;
            return out;
        }
        let mut s: TcpStream = sock.into();
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf: Vec<u8> = Vec::new();
        let mut open = open;
        let start = Instant::now();
        let mut chunk = [0u8; 4096];
        while start.elapsed() < Duration::from_secs(8) {
            match s.read(&mut chunk) {
                Ok(0) => {
                    out.closed = true;
                    break;
                }
                Ok(n) => {
                    out.bytes += n;
                    buf.extend_from_slice(&chunk[..n]);
                }
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
            // Whole messages.
            while buf.len() >= 19 {
                let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
                if len < 19 || buf.len() < len {
                    break;
                }
                let msg: Vec<u8> = buf.drain(..len).collect();
                out.types.push(msg[18]);
                if msg[18] == 3 && msg.len() >= 21 {
                    out.notification = Some((msg[19], msg[20]));
                }
                if msg[18] == 1 {
                    if let Some(o) = open.take() {
                        let _ = s.write_all(&o);
                    }
                }
            }
        }
        out
    });
    outcome.unwrap()
}

/// The checks every interop test makes about sessions that must fail,
/// while the sessions in `keep` stay up with their routes (prefix, peer):
/// (g) an OPEN with the wrong AS gets 2/2 (Bad Peer AS), hold times 1 and
/// 2 get 2/6 (Unacceptable Hold Time); (h) a connection from an address
/// that is no neighbor is closed before any BGP message.
///
/// Needs passive neighbors 10.98.0.4 (AS 65300), 10.98.0.5 (AS 65301) and
/// 10.98.0.6 (AS 65302) in rbgpd's config; 10.98.0.9 must be in none.
pub fn check_refused_sessions(lab: &Lab, keep: &[&str], routes: &[(&str, &str)]) {
    let counts: Vec<u64> = keep.iter().map(|a| lab.established_count(a)).collect();

    let bad_as = raw_session(
        lab,
        "10.98.0.4",
        Some(open_message(65399, 90, [10, 98, 0, 4])),
    );
    assert_eq!(bad_as.notification, Some((2, 2)), "wrong AS: {bad_as:?}");
    assert!(bad_as.closed, "closed after 2/2: {bad_as:?}");
    for (from, hold) in [("10.98.0.5", 1), ("10.98.0.6", 2)] {
        let asn = if hold == 1 { 65301 } else { 65302 };
        let o = raw_session(lab, from, Some(open_message(asn, hold, [10, 98, 0, 5])));
        assert_eq!(o.notification, Some((2, 6)), "hold {hold}: {o:?}");
        assert!(o.closed, "closed after 2/6: {o:?}");
    }
    let unknown = raw_session(lab, "10.98.0.9", None);
    assert!(unknown.closed, "unknown address not closed: {unknown:?}");
    assert_eq!(
        unknown.bytes, 0,
        "unknown address got BGP bytes before close: {unknown:?}"
    );
    // Nobody else noticed.
    for (a, c) in keep.iter().zip(counts) {
        assert!(lab.established(a), "{a} went down: {}", lab.peer(a));
        assert_eq!(lab.established_count(a), c, "{a} was reset");
    }
    for (prefix, peer) in routes {
        assert!(
            lab.has_route_from(prefix, peer),
            "{prefix} from {peer} lost"
        );
    }
    let raw = lab.peer("10.98.0.4");
    assert_eq!(raw["established_count"], 0, "{raw}");
}
