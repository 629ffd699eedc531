//! The harness's own BGP speakers: feeders and the monitor.
//!
//! A session sends its OPEN as soon as TCP is up (on either side), waits
//! for the peer's OPEN, answers it with a KEEPALIVE and is Established on
//! the peer's first KEEPALIVE (RFC 4271 8.2.2). It then sends a KEEPALIVE
//! every third of the negotiated hold time, also in the middle of a long
//! table transfer (between write batches).
//!
//! A feeder writes its pre-encoded UPDATEs as fast as TCP takes them, then
//! End-of-RIB, and drains whatever the daemon sends back. The monitor
//! decodes every UPDATE and keeps the set of prefixes announced minus
//! withdrawn ([`Counter`], in `counts`) and publishes its size, so the
//! runner can wait for a target and take the time at once.
//!
//! In a dual-stack run every session offers IPv6 unicast too (RFC 4760
//! multiprotocol capability) and insists the daemon offers it back; the
//! monitor keeps IPv6 prefixes (from MP_REACH_NLRI, less MP_UNREACH_NLRI)
//! in a set of their own and counts them apart.

pub use crate::counts::{Counter, Counts};
use crate::workload::{session_context, FeederLoad};
use crate::{Error, Result};
use bgp_proto::msg::{
    Capability, GracefulRestart, GracefulRestartFamily, Message, OpenMessage, SessionContext,
};
use bgp_proto::types::Family;
use bgp_proto::wire::update::UpdatePacker;
use bgp_proto::wire::{decode_message, encode_to_bytes, split_frame, Decoded};
use bytes::{Bytes, BytesMut};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Hold time the harness's speakers propose (long, so a daemon busy with a
/// million routes is not cut off by its own slow keepalives).
pub const HOLD_TIME: u16 = 240;

/// Who a speaker is.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    /// Its AS.
    pub asn: u32,
    /// Its BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Offer graceful restart (the monitor does, so that every daemon
    /// sends it End-of-RIB).
    pub graceful_restart: bool,
    /// Offer IPv6 unicast besides IPv4 unicast (dual stack), and require
    /// the peer to offer it too.
    pub ipv6: bool,
}

impl Identity {
    /// The families offered.
    pub fn families(&self) -> Vec<Family> {
        let mut f = vec![Family::IPV4_UNICAST];
        if self.ipv6 {
            f.push(Family::IPV6_UNICAST);
        }
        f
    }

    fn open(&self) -> OpenMessage {
        let families = self.families();
        let mut capabilities: Vec<Capability> = families
            .iter()
            .map(|f| Capability::Multiprotocol(*f))
            .collect();
        capabilities.push(Capability::RouteRefresh);
        capabilities.push(Capability::FourOctetAs(self.asn));
        if self.graceful_restart {
            capabilities.push(Capability::GracefulRestart(GracefulRestart {
                restart_state: false,
                notification: false,
                restart_time: 120,
                families: families
                    .iter()
                    .map(|f| GracefulRestartFamily {
                        family: *f,
                        forwarding_preserved: false,
                    })
                    .collect(),
            }));
        }
        OpenMessage {
            version: 4,
            my_as: OpenMessage::my_as_for(self.asn),
            hold_time: HOLD_TIME,
            bgp_id: self.router_id,
            capabilities,
            other_params: Vec::new(),
            extended_params: false,
        }
    }
}

/// An Established session, before its reader and writer tasks start.
#[derive(Debug)]
pub struct Session {
    peer: String,
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    buf: BytesMut,
    ctx: SessionContext,
    keepalive: Option<Duration>,
    /// When the session became Established.
    pub established: Instant,
}

fn session_err(peer: &str, detail: impl Into<String>) -> Error {
    Error::Session {
        peer: peer.to_string(),
        detail: detail.into(),
    }
}

/// Reads from `r` until one whole message is buffered; returns its frame.
async fn read_frame(
    r: &mut OwnedReadHalf,
    buf: &mut BytesMut,
    ctx: &SessionContext,
    peer: &str,
) -> Result<Bytes> {
    loop {
        match split_frame(buf, ctx) {
            Ok(Some(frame)) => return Ok(frame),
            Ok(None) => {}
            Err(e) => return Err(session_err(peer, format!("bad message: {e}"))),
        }
        buf.reserve(64 * 1024);
        let n = r
            .read_buf(buf)
            .await
            .map_err(|e| session_err(peer, format!("read: {e}")))?;
        if n == 0 {
            return Err(session_err(peer, "connection closed by the peer"));
        }
    }
}

/// Runs the OPEN/KEEPALIVE exchange on a connected stream.
pub async fn handshake(stream: TcpStream, me: &Identity) -> Result<Session> {
    let peer = stream
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let (mut reader, mut writer) = stream.into_split();
    let pre = SessionContext::default();
    let open = encode_to_bytes(&Message::Open(me.open()), &pre)?;
    writer
        .write_all(&open)
        .await
        .map_err(|e| session_err(&peer, format!("write OPEN: {e}")))?;
    let mut buf = BytesMut::with_capacity(128 * 1024);
    let frame = read_frame(&mut reader, &mut buf, &pre, &peer).await?;
    let theirs = match decode_message(frame, &pre) {
        Ok(Decoded::Open(o)) => o,
        Ok(Decoded::Notification(n)) => {
            return Err(session_err(&peer, format!("NOTIFICATION {n:?}")))
        }
        Ok(other) => {
            return Err(session_err(
                &peer,
                format!("type {} before OPEN", other.msg_type()),
            ))
        }
        Err(e) => return Err(session_err(&peer, format!("bad OPEN: {e}"))),
    };
    if !theirs
        .capabilities
        .iter()
        .any(|c| matches!(c, Capability::FourOctetAs(_)))
    {
        return Err(session_err(&peer, "peer lacks 4-octet AS support"));
    }
    // Routes of a family the peer did not offer would be dropped (or end
    // the session): better to say so at once than to time out later.
    for f in me.families() {
        if !theirs.capabilities.contains(&Capability::Multiprotocol(f)) {
            return Err(session_err(
                &peer,
                format!("peer does not offer {f} (RFC 4760 multiprotocol capability)"),
            ));
        }
    }
    let ctx = session_context();
    let ka = encode_to_bytes(&Message::Keepalive, &ctx)?;
    writer
        .write_all(&ka)
        .await
        .map_err(|e| session_err(&peer, format!("write KEEPALIVE: {e}")))?;
    loop {
        let frame = read_frame(&mut reader, &mut buf, &ctx, &peer).await?;
        match decode_message(frame, &ctx) {
            Ok(Decoded::Keepalive) => break,
            Ok(Decoded::Notification(n)) => {
                return Err(session_err(&peer, format!("NOTIFICATION {n:?}")))
            }
            Ok(_) => {}
            Err(e) => return Err(session_err(&peer, format!("bad message: {e}"))),
        }
    }
    let hold = theirs.hold_time.min(HOLD_TIME);
    Ok(Session {
        peer,
        reader,
        writer,
        buf,
        ctx,
        keepalive: (hold > 0).then(|| Duration::from_secs(u64::from(hold / 3).max(1))),
        established: Instant::now(),
    })
}

/// Connects from `local` to `remote` and runs the handshake; retries a
/// refused or reset connection for up to `patience`.
pub async fn connect(
    local: Ipv4Addr,
    remote: SocketAddr,
    me: &Identity,
    patience: Duration,
) -> Result<Session> {
    let deadline = Instant::now() + patience;
    loop {
        let attempt = async {
            let sock = TcpSocket::new_v4().map_err(|e| Error::io("socket", e))?;
            sock.bind(SocketAddr::V4(SocketAddrV4::new(local, 0)))
                .map_err(|e| Error::io(format!("bind {local}"), e))?;
            let stream = sock
                .connect(remote)
                .await
                .map_err(|e| Error::io(format!("connect {local} -> {remote}"), e))?;
            handshake(stream, me).await
        };
        match attempt.await {
            Ok(s) => return Ok(s),
            Err(e) if Instant::now() < deadline => {
                tracing_lite(&format!("retrying after: {e}"));
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Progress notes on stderr when BENCH_VERBOSE is set.
pub fn tracing_lite(msg: &str) {
    if std::env::var_os("BENCH_VERBOSE").is_some() {
        eprintln!("bench: {msg}");
    }
}

/// Writes batches, slipping a KEEPALIVE in whenever one is due.
async fn write_batches(
    w: &mut OwnedWriteHalf,
    batches: &[Bytes],
    ka: &Bytes,
    every: Option<Duration>,
    next_ka: &mut Instant,
) -> std::io::Result<()> {
    for b in batches {
        if every.is_some() && Instant::now() >= *next_ka {
            w.write_all(ka).await?;
            *next_ka = Instant::now() + every.unwrap_or_default();
        }
        w.write_all(b).await?;
    }
    Ok(())
}

/// The writer task: sends what it is given and keepalives in between.
fn spawn_writer(
    mut w: OwnedWriteHalf,
    every: Option<Duration>,
    mut rx: mpsc::UnboundedReceiver<(Vec<Bytes>, Option<watch::Sender<bool>>)>,
    peer: String,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let ka = encode_to_bytes(&Message::Keepalive, &session_context()).unwrap_or_default();
        let period = every.unwrap_or(Duration::from_secs(3600));
        let mut next_ka = Instant::now() + period;
        loop {
            let sleep = tokio::time::sleep_until(next_ka.into());
            tokio::select! {
                () = sleep => {
                    if w.write_all(&ka).await.is_err() {
                        break;
                    }
                    next_ka = Instant::now() + period;
                }
                cmd = rx.recv() => {
                    let Some((batches, done)) = cmd else { break };
                    if let Err(e) = write_batches(&mut w, &batches, &ka, every, &mut next_ka).await {
                        tracing_lite(&format!("{peer}: write failed: {e}"));
                        break;
                    }
                    if let Some(done) = done {
                        done.send_replace(true);
                    }
                }
            }
        }
    })
}

/// A running feeder.
#[derive(Debug)]
pub struct Feeder {
    /// When its session became Established.
    pub established: Instant,
    /// Becomes true when the initial table and End-of-RIB are written.
    pub sent: watch::Receiver<bool>,
    /// UPDATEs received from the daemon (its re-advertisements).
    pub updates_in: Arc<AtomicU64>,
    /// Set when the session ended (NOTIFICATION, close or a bad message).
    pub closed: Arc<AtomicBool>,
    cmd: mpsc::UnboundedSender<(Vec<Bytes>, Option<watch::Sender<bool>>)>,
    tasks: Vec<JoinHandle<()>>,
}

impl Feeder {
    /// Starts sending `load`'s table, then End-of-RIB, on `session`; the
    /// reader drains (and drops) whatever the peer sends.
    pub fn start(session: Session, load: &FeederLoad) -> Result<Feeder> {
        let Session {
            peer,
            mut reader,
            writer,
            mut buf,
            ctx,
            keepalive,
            established,
        } = session;
        let (tx, rx) = mpsc::unbounded_channel();
        let writer_task = spawn_writer(writer, keepalive, rx, peer.clone());
        let mut batches = load.announce.clone();
        for family in load.families() {
            batches.push(UpdatePacker::new(&ctx).end_of_rib(family)?);
        }
        let (sent_tx, sent) = watch::channel(false);
        let _ = tx.send((batches, Some(sent_tx)));
        let updates_in = Arc::new(AtomicU64::new(0));
        let closed = Arc::new(AtomicBool::new(false));
        let (updates, ended) = (updates_in.clone(), closed.clone());
        let reader_task = tokio::spawn(async move {
            loop {
                match read_frame(&mut reader, &mut buf, &ctx, &peer).await {
                    Ok(f) if f.get(18) == Some(&3) => {
                        tracing_lite(&format!("{peer}: NOTIFICATION received"));
                        break;
                    }
                    Ok(f) if f.get(18) == Some(&2) => {
                        updates.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing_lite(&format!("{e}"));
                        break;
                    }
                }
            }
            ended.store(true, Ordering::Relaxed);
        });
        Ok(Feeder {
            established,
            sent,
            updates_in,
            closed,
            cmd: tx,
            tasks: vec![writer_task, reader_task],
        })
    }

    /// Queues more UPDATE batches (churn) behind what is being sent.
    pub fn send(&self, batches: Vec<Bytes>) {
        let _ = self.cmd.send((batches, None));
    }

    /// Ends the session without a word (a node whose agent restarts): the
    /// socket is closed when this returns.
    pub async fn close(mut self) {
        let tasks = std::mem::take(&mut self.tasks);
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            // An aborted task is dropped, with its half of the socket,
            // before its handle resolves.
            let _ = t.await;
        }
    }
}

impl Drop for Feeder {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// A peer that never reads what the daemon sends: after the handshake it
/// writes `refreshes` ROUTE-REFRESHes (IPv4 unicast) and a KEEPALIVE every
/// second, so the session stays up while the daemon's output to it piles
/// up (a hostile peer).
pub struct Stalled {
    task: JoinHandle<()>,
}

impl Stalled {
    /// Starts stalling on `session`.
    pub fn start(session: Session, refreshes: usize) -> Stalled {
        let Session {
            peer,
            reader,
            mut writer,
            ..
        } = session;
        let task = tokio::spawn(async move {
            // Held, never read: the daemon's writes fill the socket.
            let _reader = reader;
            let rr = encode_to_bytes(
                &Message::RouteRefresh(bgp_proto::msg::RouteRefresh {
                    family: Family::IPV4_UNICAST,
                    subtype: bgp_proto::msg::RouteRefreshSubtype::Request,
                }),
                &SessionContext::default(),
            );
            let Ok(rr) = rr else { return };
            let storm: Vec<u8> = rr
                .iter()
                .copied()
                .cycle()
                .take(rr.len() * refreshes)
                .collect();
            let ka = encode_to_bytes(&Message::Keepalive, &SessionContext::default());
            let Ok(ka) = ka else { return };
            // Every second: the storm again, and a KEEPALIVE (never late,
            // whatever the hold time).
            loop {
                if writer.write_all(&storm).await.is_err() || writer.write_all(&ka).await.is_err() {
                    tracing_lite(&format!("{peer}: stalled peer's writes fail; stopping"));
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        Stalled { task }
    }
}

impl Drop for Stalled {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A running monitor session (or, in null-sink mode, the listener and all
/// the sessions it accepted).
#[derive(Debug)]
pub struct Monitor {
    /// The shared counts.
    pub counter: Arc<Counter>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Drop for Monitor {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.lock() {
            for t in tasks.iter() {
                t.abort();
            }
        }
    }
}

/// Starts the reader and keepalive tasks of a monitor session.
fn run_monitor_session(session: Session, counter: Arc<Counter>) -> Vec<JoinHandle<()>> {
    let Session {
        peer,
        mut reader,
        writer,
        mut buf,
        ctx,
        keepalive,
        ..
    } = session;
    let (tx, rx) = mpsc::unbounded_channel();
    let writer_task = spawn_writer(writer, keepalive, rx, peer.clone());
    let reader_task = tokio::spawn(async move {
        let _keep_writer_open = tx;
        loop {
            let frame = match read_frame(&mut reader, &mut buf, &ctx, &peer).await {
                Ok(f) => f,
                Err(e) => {
                    tracing_lite(&format!("monitor: {e}"));
                    break;
                }
            };
            match decode_message(frame, &ctx) {
                Ok(Decoded::Update(u)) => counter.apply(&u),
                Ok(Decoded::Notification(n)) => {
                    tracing_lite(&format!("monitor {peer}: NOTIFICATION {n:?}"));
                    break;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing_lite(&format!("monitor {peer}: bad message {e}"));
                    break;
                }
            }
        }
    });
    vec![writer_task, reader_task]
}

impl Monitor {
    /// Connects to the daemon under test and starts counting.
    pub async fn connect(
        local: Ipv4Addr,
        remote: SocketAddr,
        me: &Identity,
        patience: Duration,
    ) -> Result<Monitor> {
        let session = connect(local, remote, me, patience).await?;
        let counter = Counter::new();
        let tasks = run_monitor_session(session, counter.clone());
        Ok(Monitor {
            counter,
            tasks: Arc::new(Mutex::new(tasks)),
        })
    }

    /// Null-sink mode: listens on `addr` and counts what every accepted
    /// session announces. Returns the monitor and the bound address.
    pub fn listen(addr: SocketAddr, me: Identity) -> Result<(Monitor, SocketAddr)> {
        // A deep accept queue: D connects 1,000 feeders at once, and a
        // full queue drops SYNs (each then waits out a 1 s retransmit).
        let sock = TcpSocket::new_v4().map_err(|e| Error::io("socket", e))?;
        sock.set_reuseaddr(true)
            .map_err(|e| Error::io("SO_REUSEADDR", e))?;
        sock.bind(addr)
            .map_err(|e| Error::io(format!("bind {addr}"), e))?;
        let listener = sock
            .listen(4096)
            .map_err(|e| Error::io(format!("listen on {addr}"), e))?;
        let bound = listener
            .local_addr()
            .map_err(|e| Error::io("local_addr", e))?;
        let counter = Counter::new();
        let tasks: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::new(Mutex::new(Vec::new()));
        let (c2, t2) = (counter.clone(), tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (c3, t3) = (c2.clone(), t2.clone());
                let h = tokio::spawn(async move {
                    match handshake(stream, &me).await {
                        Ok(s) => {
                            let hs = run_monitor_session(s, c3);
                            if let Ok(mut t) = t3.lock() {
                                t.extend(hs);
                            }
                        }
                        Err(e) => tracing_lite(&format!("null sink: {e}")),
                    }
                });
                if let Ok(mut t) = t2.lock() {
                    t.push(h);
                }
            }
        });
        if let Ok(mut t) = tasks.lock() {
            t.push(accept);
        }
        Ok((Monitor { counter, tasks }, bound))
    }

    /// Waits until `pred` holds for the counts; returns when it did.
    pub async fn wait_for(
        &self,
        what: &str,
        limit: Duration,
        pred: impl Fn(&Counts) -> bool,
    ) -> Result<Instant> {
        let mut rx = self.counter.subscribe();
        let waited = tokio::time::timeout(limit, async {
            rx.wait_for(|c| pred(c)).await.map(|_| Instant::now())
        })
        .await;
        match waited {
            Ok(Ok(at)) => Ok(at),
            Ok(Err(_)) => Err(Error::Usage("monitor counter dropped".into())),
            Err(_) => Err(Error::Timeout {
                what: format!("{what} (monitor has {:?})", self.counter.now()),
                secs: limit.as_secs(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dual_stack_speaker_offers_both_families() {
        let mut me = Identity {
            asn: 64_999,
            router_id: Ipv4Addr::new(10, 99, 0, 2),
            graceful_restart: true,
            ipv6: false,
        };
        let mp = |o: &OpenMessage| {
            o.capabilities
                .iter()
                .filter(|c| matches!(c, Capability::Multiprotocol(_)))
                .count()
        };
        assert_eq!(mp(&me.open()), 1);
        me.ipv6 = true;
        let open = me.open();
        assert_eq!(mp(&open), 2);
        assert!(open
            .capabilities
            .contains(&Capability::Multiprotocol(Family::IPV6_UNICAST)));
        let gr = open.capabilities.iter().find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g.families.len()),
            _ => None,
        });
        assert_eq!(gr, Some(2));
    }
}
