//! A scripted BGP speaker inside the test process: it opens a session with
//! rbgpd from an address of its own, then either keeps reading (a thread
//! decodes what rbgpd sends and keeps the session alive with KEEPALIVEs)
//! or stops reading for good (the hostile peer of the flow-control test).
//! Well-formed messages come from the `bgp_proto` encoder; the hostile ones
//! are built by hand in the tests.

use bgp_proto::msg::{AsPath, Capability, GracefulRestart, GracefulRestartFamily, OpenMessage};
use bgp_proto::msg::{Message, Origin, PathAttributes, SessionContext};
use bgp_proto::wire::update::UpdatePacker;
use bgp_proto::wire::{decode_message, encode_to_bytes, split_frame, Decoded};
use bgp_proto::{Family, Nlri, Prefix, RouteRefreshSubtype};
use bytes::{Bytes, BytesMut};
use std::collections::HashSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// rbgpd's BGP address in every rig (port 179 of a fresh namespace).
pub const RBGPD_ADDR: &str = "127.0.0.1:179";

/// The codec context of every scripted session: both sides announce the
/// 4-octet AS capability, nothing else changes the wire format.
pub fn ctx() -> SessionContext {
    SessionContext {
        four_octet_as: true,
        ..SessionContext::default()
    }
}

/// Who a scripted speaker is and what its OPEN offers.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its address (bound before connecting).
    pub addr: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
    /// Multiprotocol families offered.
    pub families: Vec<Family>,
    /// Offer route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Offer enhanced route refresh (RFC 7313).
    pub enhanced_rr: bool,
    /// Offer graceful restart (RFC 4724) for IPv4 unicast.
    pub graceful_restart: bool,
    /// SO_RCVBUF before connecting (small: rbgpd's writes back up sooner).
    pub rcvbuf: Option<usize>,
    /// Offer the 4-octet AS capability (RFC 6793). Without it rbgpd
    /// encodes this session's UPDATEs apart from the others'; only a
    /// speaker that never reads them may leave it out (the reader decodes
    /// with 4-octet ASes).
    pub four_octet_as: bool,
}

impl Spec {
    /// A plain speaker: IPv4 and IPv6 unicast, route refresh.
    pub fn new(addr: Ipv4Addr, asn: u32) -> Spec {
        Spec {
            addr,
            asn,
            families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
            route_refresh: true,
            enhanced_rr: false,
            graceful_restart: false,
            rcvbuf: None,
            four_octet_as: true,
        }
    }

    /// Its OPEN: hold time 90, BGP Identifier = its address.
    pub fn open(&self) -> Bytes {
        let mut caps: Vec<Capability> = self
            .families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        if self.four_octet_as {
            caps.push(Capability::FourOctetAs(self.asn));
        }
        if self.route_refresh {
            caps.push(Capability::RouteRefresh);
        }
        if self.enhanced_rr {
            caps.push(Capability::EnhancedRouteRefresh);
        }
        if self.graceful_restart {
            caps.push(Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: vec![GracefulRestartFamily {
                    family: Family::IPV4_UNICAST,
                    forwarding_preserved: false,
                }],
            }));
        }
        let open = OpenMessage {
            version: 4,
            my_as: OpenMessage::my_as_for(self.asn),
            hold_time: 90,
            bgp_id: self.addr,
            capabilities: caps,
            other_params: Vec::new(),
            extended_params: false,
        };
        encode_to_bytes(&Message::Open(open), &ctx()).unwrap()
    }
}

/// A TCP connection to rbgpd from `addr` (port chosen by the kernel),
/// with SO_RCVBUF set first when given.
pub fn dial(addr: Ipv4Addr, rcvbuf: Option<usize>) -> std::io::Result<TcpStream> {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n)?;
    }
    sock.bind(&SocketAddr::from((addr, 0)).into())?;
    let remote: SocketAddr = RBGPD_ADDR.parse().unwrap();
    sock.connect_timeout(&remote.into(), Duration::from_secs(5))?;
    Ok(sock.into())
}

/// ORIGIN IGP, `as_path` as one AS_SEQUENCE, NEXT_HOP `nh`.
pub fn attrs(as_path: &[u32], nh: Ipv4Addr) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence(as_path.to_vec()),
        next_hop: Some(nh),
        ..PathAttributes::default()
    }
}

/// `a.b.c.d/len` as a prefix.
pub fn pfx(s: &str) -> Prefix {
    s.parse().unwrap()
}

/// The UPDATEs announcing `prefixes` (IPv4 unicast) with `attrs`.
pub fn announce_msgs(attrs: &PathAttributes, prefixes: &[Prefix]) -> Vec<Bytes> {
    let nlri: Vec<Nlri> = prefixes.iter().copied().map(Nlri::new).collect();
    let c = ctx();
    UpdatePacker::new(&c)
        .announce(attrs, None, Family::IPV4_UNICAST, &nlri)
        .unwrap()
}

/// What a reading speaker has seen from rbgpd so far.
#[derive(Debug, Default)]
pub struct Seen {
    /// IPv4 and IPv6 unicast prefixes currently announced to it.
    pub prefixes: HashSet<Prefix>,
    /// NLRI announced in all (re-announcements counted again).
    pub announced_total: u64,
    /// UPDATE messages other than End-of-RIB.
    pub updates: u64,
    /// Families whose End-of-RIB arrived.
    pub end_of_rib: HashSet<Family>,
    /// RFC 7313 Beginning / End of Route Refresh markers.
    pub borr: u64,
    /// See `borr`.
    pub eorr: u64,
    /// (code, subcode) of a NOTIFICATION from rbgpd.
    pub notification: Option<(u8, u8)>,
    /// rbgpd closed the connection (or it failed).
    pub closed: bool,
    /// Messages that did not decode (with the error).
    pub bad: Vec<String>,
}

impl Seen {
    /// Takes in one decoded message.
    fn take(&mut self, msg: Decoded) {
        match msg {
            Decoded::Update(u) => {
                if let Some(f) = u.end_of_rib() {
                    self.end_of_rib.insert(f);
                    return;
                }
                self.updates += 1;
                let gone = u
                    .withdrawn()
                    .chain(u.mp_unreach().into_iter().flat_map(|m| m.withdrawn()));
                for n in gone {
                    self.prefixes.remove(&n.prefix);
                }
                let new = u
                    .nlri()
                    .chain(u.mp_reach().into_iter().flat_map(|m| m.nlri()));
                for n in new {
                    self.announced_total += 1;
                    self.prefixes.insert(n.prefix);
                }
            }
            Decoded::RouteRefresh(rr) => match rr.subtype {
                RouteRefreshSubtype::Begin => self.borr += 1,
                RouteRefreshSubtype::End => self.eorr += 1,
                _ => {}
            },
            Decoded::Notification(n) => self.notification = Some((n.code, n.subcode)),
            Decoded::Open(_) | Decoded::Keepalive => {}
        }
    }
}

/// Splits the next whole message off `buf` and decodes it; `None` until
/// one is buffered. A bad header empties `buf` (nothing after it can be
/// framed).
fn next_msg(buf: &mut BytesMut) -> Option<Result<Decoded, String>> {
    let c = ctx();
    match split_frame(buf, &c) {
        Ok(Some(frame)) => Some(decode_message(frame, &c).map_err(|e| e.to_string())),
        Ok(None) => None,
        Err(e) => {
            buf.clear();
            Some(Err(format!("bad frame: {e}")))
        }
    }
}

/// A session after the OPEN exchange: rbgpd's OPEN and KEEPALIVE were
/// read and ours sent, so rbgpd holds it Established.
pub struct Session {
    /// The connection.
    pub stream: TcpStream,
    /// Bytes read past rbgpd's KEEPALIVE (the start of its table).
    buf: BytesMut,
    /// Who we are.
    pub spec: Spec,
}

/// Connects to rbgpd as `spec` and exchanges OPENs and KEEPALIVEs; fails
/// with what rbgpd sent instead (a NOTIFICATION, a close).
pub fn establish(spec: &Spec) -> Result<Session, String> {
    let mut stream = dial(spec.addr, spec.rcvbuf).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    stream
        .write_all(&spec.open())
        .map_err(|e| format!("OPEN: {e}"))?;
    let mut buf = BytesMut::new();
    let (mut open, mut keepalive) = (false, false);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut chunk = vec![0u8; 16 * 1024];
    while !(open && keepalive) {
        if Instant::now() > deadline {
            return Err("no OPEN and KEEPALIVE from rbgpd within 15 s".into());
        }
        match stream.read(&mut chunk) {
            Ok(0) => return Err("rbgpd closed the connection".into()),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("read: {e}")),
        }
        // Only the handshake is split off here; whatever follows rbgpd's
        // KEEPALIVE stays in `buf` for the reader.
        while !(open && keepalive) {
            let Some(m) = next_msg(&mut buf) else { break };
            match m {
                Ok(Decoded::Open(_)) => open = true,
                Ok(Decoded::Keepalive) => keepalive = true,
                Ok(Decoded::Notification(n)) => {
                    return Err(format!("NOTIFICATION {}/{}", n.code, n.subcode))
                }
                Ok(other) => return Err(format!("unexpected message type {}", other.msg_type())),
                Err(e) => return Err(e),
            }
        }
    }
    let ka = encode_to_bytes(&Message::Keepalive, &ctx()).unwrap();
    stream
        .write_all(&ka)
        .map_err(|e| format!("KEEPALIVE: {e}"))?;
    Ok(Session {
        stream,
        buf,
        spec: spec.clone(),
    })
}

/// A speaker whose thread reads and decodes everything rbgpd sends.
pub struct Peer {
    writer: Mutex<TcpStream>,
    seen: Arc<Mutex<Seen>>,
    reader: Option<JoinHandle<()>>,
    /// Who we are.
    pub spec: Spec,
}

impl Session {
    /// Reads on in a thread, which also sends a KEEPALIVE every 20 s
    /// (rbgpd's hold time is 90 s).
    pub fn read_on(self) -> Peer {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let mut stream = self.stream;
        let writer = stream.try_clone().unwrap();
        let mut ka_writer = stream.try_clone().unwrap();
        let shared = seen.clone();
        let mut buf = self.buf;
        let reader = std::thread::spawn(move || {
            let ka = encode_to_bytes(&Message::Keepalive, &ctx()).unwrap();
            let mut next_ka = Instant::now() + Duration::from_secs(20);
            let mut chunk = vec![0u8; 64 * 1024];
            let mut msgs = Vec::new();
            loop {
                while let Some(m) = next_msg(&mut buf) {
                    msgs.push(m);
                }
                if !msgs.is_empty() {
                    let mut s = shared.lock().unwrap();
                    for m in msgs.drain(..) {
                        match m {
                            Ok(d) => s.take(d),
                            Err(e) => s.bad.push(e),
                        }
                    }
                }
                if Instant::now() > next_ka {
                    let _ = ka_writer.write_all(&ka);
                    next_ka = Instant::now() + Duration::from_secs(20);
                }
                match stream.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(_) => break,
                }
            }
            shared.lock().unwrap().closed = true;
        });
        Peer {
            writer: Mutex::new(writer),
            seen,
            reader: Some(reader),
            spec: self.spec,
        }
    }
}

/// A speaker that never reads again but stays alive: a thread sends a
/// KEEPALIVE every 20 s, so only rbgpd's send side can give up on it.
pub struct Stalled {
    stop: Option<std::sync::mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// The connection (kept open; nothing reads it).
    pub stream: TcpStream,
}

impl Session {
    /// Stops reading for good (see [`Stalled`]).
    pub fn stall(self) -> Stalled {
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let mut w = self.stream.try_clone().unwrap();
        let thread = std::thread::spawn(move || {
            let ka = encode_to_bytes(&Message::Keepalive, &ctx()).unwrap();
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(Duration::from_secs(20))
            {
                if w.write_all(&ka).is_err() {
                    return;
                }
            }
        });
        Stalled {
            stop: Some(stop),
            thread: Some(thread),
            stream: self.stream,
        }
    }
}

impl Drop for Stalled {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Peer {
    /// Connects as `spec` and reads on; panics when rbgpd refuses.
    pub fn start(spec: Spec) -> Peer {
        match establish(&spec) {
            Ok(s) => s.read_on(),
            Err(e) => panic!("{}: session not established: {e}", spec.addr),
        }
    }

    /// Writes `bytes` (whole messages) to rbgpd.
    pub fn send(&self, bytes: &[u8]) {
        self.writer.lock().unwrap().write_all(bytes).unwrap();
    }

    /// Announces `prefixes` with AS_PATH = our AS, NEXT_HOP = our address.
    pub fn announce(&self, prefixes: &[Prefix]) {
        let a = attrs(&[self.spec.asn], self.spec.addr);
        self.announce_with(&a, prefixes);
    }

    /// Announces `prefixes` with `attrs`, packed into as few UPDATEs as fit.
    pub fn announce_with(&self, attrs: &PathAttributes, prefixes: &[Prefix]) {
        let msgs = announce_msgs(attrs, prefixes);
        let mut w = self.writer.lock().unwrap();
        for m in msgs {
            w.write_all(&m).unwrap();
        }
    }

    /// Withdraws IPv4 `prefixes`.
    pub fn withdraw(&self, prefixes: &[Prefix]) {
        let nlri: Vec<Nlri> = prefixes.iter().copied().map(Nlri::new).collect();
        let c = ctx();
        let msgs = UpdatePacker::new(&c)
            .withdraw(Family::IPV4_UNICAST, &nlri)
            .unwrap();
        let mut w = self.writer.lock().unwrap();
        for m in msgs {
            w.write_all(&m).unwrap();
        }
    }

    /// What it has seen so far (hold the guard briefly: the reader waits).
    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap()
    }

    /// Polls until `pred` holds for what it has seen, up to `secs`.
    pub fn wait(&self, what: &str, secs: u64, pred: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            {
                let s = self.seen();
                if pred(&s) {
                    return;
                }
                if Instant::now() > deadline {
                    panic!(
                        "{}: timed out waiting for {what}: {} prefixes, {} updates, \
                         EoR {:?}, notification {:?}, closed {}, bad {:?}",
                        self.spec.addr,
                        s.prefixes.len(),
                        s.updates,
                        s.end_of_rib,
                        s.notification,
                        s.closed,
                        s.bad.first()
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Asserts that rbgpd sent it no NOTIFICATION, did not close the
    /// session, and sent only messages that decode.
    pub fn assert_untouched(&self, why: &str) {
        let s = self.seen();
        assert_eq!(
            s.notification, None,
            "{}: NOTIFICATION ({why})",
            self.spec.addr
        );
        assert!(!s.closed, "{}: connection closed ({why})", self.spec.addr);
        assert!(
            s.bad.is_empty(),
            "{}: bad messages {:?}",
            self.spec.addr,
            s.bad
        );
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(w) = self.writer.lock() {
            let _ = w.shutdown(Shutdown::Both);
        }
        if let Some(h) = self.reader.take() {
            let _ = h.join();
        }
    }
}

/// One path attribute as bytes (the extended-length bit is set when the
/// value needs it).
pub fn raw_attr(flags: u8, type_code: u8, value: &[u8]) -> Vec<u8> {
    let mut a = Vec::with_capacity(value.len() + 4);
    if value.len() > 255 {
        a.extend_from_slice(&[flags | 0x10, type_code]);
        a.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    } else {
        a.extend_from_slice(&[flags, type_code, u8::try_from(value.len()).unwrap()]);
    }
    a.extend_from_slice(value);
    a
}

/// ORIGIN IGP and an AS_PATH of one AS_SEQUENCE (4-octet ASes), by hand.
pub fn raw_origin_as_path(as_path: &[u32]) -> Vec<u8> {
    let mut path = vec![2, u8::try_from(as_path.len()).unwrap()];
    for a in as_path {
        path.extend_from_slice(&a.to_be_bytes());
    }
    [raw_attr(0x40, 1, &[0]), raw_attr(0x40, 2, &path)].concat()
}

/// An IPv4 prefix as NLRI bytes (length, then the significant octets).
pub fn raw_nlri(p: &str) -> Vec<u8> {
    let Prefix::V4(v4) = pfx(p) else {
        panic!("{p} is not IPv4")
    };
    let octets = usize::from(v4.len()).div_ceil(8);
    let mut n = vec![v4.len()];
    n.extend_from_slice(&v4.addr().octets()[..octets]);
    n
}

/// A whole UPDATE from its three fields, by hand (no checks).
pub fn raw_update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let len = 19 + 2 + withdrawn.len() + 2 + attrs.len() + nlri.len();
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
    m.push(2);
    m.extend_from_slice(&u16::try_from(withdrawn.len()).unwrap().to_be_bytes());
    m.extend_from_slice(withdrawn);
    m.extend_from_slice(&u16::try_from(attrs.len()).unwrap().to_be_bytes());
    m.extend_from_slice(attrs);
    m.extend_from_slice(nlri);
    m
}

/// A ROUTE-REFRESH request (RFC 2918) for IPv4 unicast.
pub fn route_refresh_v4() -> [u8; 23] {
    let mut m = [0xff; 23];
    m[16..23].copy_from_slice(&[0, 23, 5, 0, 1, 0, 1]);
    m
}
