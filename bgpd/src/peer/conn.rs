//! One TCP connection of a session: frames are split off a `BytesMut`
//! read buffer (zero copy) and decoded with the session's context;
//! writes go through a writer task so the neighbor task never blocks on
//! a slow peer. Dropping a [`Conn`] lets the writer flush what was queued
//! (a final NOTIFICATION) and then closes the socket.
//!
//! The write queue counts its octets: past [`HIGH_WATER`] the neighbor
//! task tells the core to hold its exports until the queue is back under
//! [`LOW_WATER`]. A writer that can send nothing for the send hold time
//! (RFC 9687) gives up, and the session ends with Send Hold Timer Expired.

use bgp_proto::fsm::Origin;
use bgp_proto::wire::{decode_message, encode_message, split_frame, Decoded};
use bgp_proto::{Message, Notification, SessionContext};
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::mailbox;

/// Queued octets past which the core holds the neighbor's exports.
pub const HIGH_WATER: usize = 1 << 20;
/// Queued octets under which a held neighbor gets exports again.
pub const LOW_WATER: usize = 256 << 10;
/// The send hold time before a session is negotiated, and its floor
/// (RFC 9687: the larger of 8 minutes and twice the hold time).
pub const MIN_SEND_HOLD: Duration = Duration::from_secs(8 * 60);
/// TCP keepalive of a session without hold timer: first probe after a
/// minute idle, then every 10 s; 6 unanswered probes close it (~2 min).
const TCP_KEEPALIVE_IDLE: Duration = Duration::from_secs(60);
const TCP_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const TCP_KEEPALIVE_RETRIES: u32 = 6;
/// Longest a closed connection's writer may flush what was queued (the
/// final NOTIFICATION last).
pub const CLOSE_FLUSH: Duration = Duration::from_secs(30);
/// Read buffer growth step.
const READ_CHUNK: usize = 8192;
/// Most octets the writer hands to one write.
const WRITE_BATCH: usize = 64 * 1024;
/// Most buffers the writer hands to one write (Linux takes 1,024).
const WRITE_IOVECS: usize = 128;

/// What reading a connection produced.
#[derive(Debug)]
// Returned by value once per message and matched at once: boxing the
// common case (an UPDATE) would cost an allocation per message.
#[allow(clippy::large_enum_variant)]
pub enum Input {
    /// A decoded message.
    Message(Decoded),
    /// A message could not be decoded: send this NOTIFICATION.
    DecodeError(Notification, String),
    /// Nothing could be written for the send hold time (RFC 9687).
    SendHoldExpired,
    /// The connection closed or failed.
    Closed(String),
}

/// What the writer task shares with its connection.
#[derive(Debug)]
struct WriteState {
    /// Octets queued and not yet written.
    queued: AtomicUsize,
    /// The send hold time, in milliseconds.
    send_hold_ms: AtomicU64,
    /// Set once when the writer gives up; the reader reports it.
    failed: OnceLock<WriteFailure>,
    failure: Notify,
    /// Woken when the queue falls under [`LOW_WATER`].
    drained: Notify,
}

/// The write queue of a [`Conn`], to wait for it to drain.
#[derive(Debug, Clone)]
pub struct WriteQueue(Arc<WriteState>);

impl WriteQueue {
    /// Waits until the queue is under [`LOW_WATER`] (true) or the writer
    /// gave up (false: the connection's reader reports why).
    pub async fn drained(&self) -> bool {
        let w = &self.0;
        loop {
            // Created before the check: `notify_waiters` reaches a
            // `Notified` from its creation, so a wake in between is kept.
            let notified = w.drained.notified();
            if w.failed.get().is_some() {
                return false;
            }
            if w.queued.load(Ordering::Relaxed) < LOW_WATER {
                return true;
            }
            notified.await;
        }
    }
}

#[derive(Debug, Clone)]
enum WriteFailure {
    SendHold,
    Error(String),
}

impl WriteState {
    fn fail(&self, f: WriteFailure) {
        let _ = self.failed.set(f);
        self.failure.notify_one();
    }

    fn send_hold(&self) -> Duration {
        Duration::from_millis(self.send_hold_ms.load(Ordering::Relaxed))
    }
}

/// An open connection.
#[derive(Debug)]
pub struct Conn {
    rd: OwnedReadHalf,
    buf: BytesMut,
    tx: mailbox::Sender<Bytes>,
    writer: JoinHandle<()>,
    write: Arc<WriteState>,
    /// Codec context (the negotiated one once OPENs are exchanged).
    pub ctx: SessionContext,
    /// Who opened it.
    pub origin: Origin,
    /// Remote address.
    pub remote: SocketAddr,
    /// Local address.
    pub local: SocketAddr,
    /// Set after a read error or EOF, so the connection is not read again.
    closed: bool,
}

impl Conn {
    /// Wraps a connected stream and starts its writer task.
    pub fn new(stream: TcpStream, origin: Origin) -> std::io::Result<Self> {
        let remote = stream.peer_addr()?;
        let local = stream.local_addr()?;
        // BGP messages are small and latency matters for KEEPALIVEs.
        stream.set_nodelay(true)?;
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mailbox::mailbox::<Bytes>();
        let write = Arc::new(WriteState {
            queued: AtomicUsize::new(0),
            send_hold_ms: AtomicU64::new(duration_ms(MIN_SEND_HOLD)),
            failed: OnceLock::new(),
            failure: Notify::new(),
            drained: Notify::new(),
        });
        let writer = tokio::spawn(write_loop(wr, rx, write.clone()));
        Ok(Conn {
            rd,
            buf: BytesMut::new(),
            tx,
            writer,
            write,
            ctx: SessionContext::default(),
            origin,
            remote,
            local,
            closed: false,
        })
    }

    /// Encodes and queues a message.
    pub fn send(&self, msg: &Message) -> Result<(), String> {
        let mut out = BytesMut::new();
        encode_message(msg, &self.ctx, &mut out).map_err(|e| e.to_string())?;
        self.send_raw(out.freeze());
        Ok(())
    }

    /// Queues pre-encoded octets.
    pub fn send_raw(&self, b: Bytes) {
        let len = b.len();
        // A failed send means the writer is gone; the reader sees it too.
        if self.tx.send(b).is_ok() {
            self.write.queued.fetch_add(len, Ordering::Relaxed);
        }
    }

    /// Octets queued and not yet written.
    pub fn queued(&self) -> usize {
        self.write.queued.load(Ordering::Relaxed)
    }

    /// Sets the send hold time of the negotiated session: the larger of
    /// [`MIN_SEND_HOLD`] and twice `hold_time` (RFC 9687 section 3).
    pub fn set_send_hold(&self, hold_time: Duration) {
        let d = (hold_time * 2).max(MIN_SEND_HOLD);
        self.write
            .send_hold_ms
            .store(duration_ms(d), Ordering::Relaxed);
    }

    /// Turns on TCP keepalives (a session with hold time 0 sends no
    /// KEEPALIVEs, so nothing else would notice a peer that vanished).
    pub fn set_tcp_keepalive(&self) -> std::io::Result<()> {
        let ka = socket2::TcpKeepalive::new()
            .with_time(TCP_KEEPALIVE_IDLE)
            .with_interval(TCP_KEEPALIVE_INTERVAL)
            .with_retries(TCP_KEEPALIVE_RETRIES);
        socket2::SockRef::from(self.rd.as_ref()).set_tcp_keepalive(&ka)
    }

    #[cfg(test)]
    fn set_send_hold_exactly(&self, d: Duration) {
        self.write
            .send_hold_ms
            .store(duration_ms(d), Ordering::Relaxed);
    }

    /// A handle to wait on the write queue without borrowing the
    /// connection (which its reader borrows).
    pub fn queue(&self) -> WriteQueue {
        WriteQueue(self.write.clone())
    }

    /// Closes the connection once what was queued is written, or after
    /// [`CLOSE_FLUSH`] at most (a peer that stopped reading must not keep
    /// a closed session's queue for the send hold time); the handle ends
    /// when the socket is closed.
    pub fn close(self) -> JoinHandle<()> {
        let mut writer = self.writer;
        tokio::spawn(async move {
            if tokio::time::timeout(CLOSE_FLUSH, &mut writer)
                .await
                .is_err()
            {
                writer.abort();
            }
        })
    }

    /// The next message already in the read buffer, without reading the
    /// socket: `None` if no whole message is buffered (or the connection is
    /// closed).
    pub fn try_next(&mut self) -> Option<Input> {
        if self.closed {
            return None;
        }
        match split_frame(&mut self.buf, &self.ctx) {
            Ok(Some(frame)) => Some(match decode_message(frame, &self.ctx) {
                Ok(d) => Input::Message(d),
                Err(e) => {
                    self.closed = true;
                    Input::DecodeError(e.notification(), e.to_string())
                }
            }),
            Ok(None) => None,
            Err(e) => {
                self.closed = true;
                Some(Input::DecodeError(e.notification(), e.to_string()))
            }
        }
    }

    /// The next message, or the writer's failure. Cancel-safe: bytes read
    /// stay in the buffer and a frame is split and decoded without
    /// awaiting.
    pub async fn next(&mut self) -> Input {
        if self.closed {
            return std::future::pending().await;
        }
        let write = self.write.clone();
        tokio::select! {
            biased;
            f = write_failure(&write) => {
                self.closed = true;
                match f {
                    WriteFailure::SendHold => Input::SendHoldExpired,
                    WriteFailure::Error(e) => Input::Closed(e),
                }
            }
            input = self.read_next() => input,
        }
    }

    async fn read_next(&mut self) -> Input {
        loop {
            if let Some(input) = self.try_next() {
                return input;
            }
            // An idle connection holds no read buffer: wait for data
            // first, then reserve (a thousand idle sessions would
            // otherwise keep 8 MB).
            if self.buf.is_empty() {
                self.buf = BytesMut::new();
                if let Err(e) = self.rd.readable().await {
                    self.closed = true;
                    return Input::Closed(format!("read error: {e}"));
                }
            }
            self.buf.reserve(READ_CHUNK);
            let read = match self.rd.try_read_buf(&mut self.buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.buf.is_empty() {
                        continue;
                    }
                    self.rd.read_buf(&mut self.buf).await
                }
                other => other,
            };
            match read {
                Ok(0) => {
                    self.closed = true;
                    return Input::Closed("connection closed by peer".into());
                }
                Ok(_) => {}
                Err(e) => {
                    self.closed = true;
                    return Input::Closed(format!("read error: {e}"));
                }
            }
        }
    }
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

async fn write_failure(w: &WriteState) -> WriteFailure {
    loop {
        let notified = w.failure.notified();
        if let Some(f) = w.failed.get() {
            return f.clone();
        }
        notified.await;
    }
}

/// The writer task: writes what is queued, in batches, until the
/// connection is dropped (then shuts the socket down) or a write fails.
async fn write_loop(mut wr: OwnedWriteHalf, mut rx: mailbox::Receiver<Bytes>, w: Arc<WriteState>) {
    while let Some(first) = rx.recv().await {
        // What is queued goes in one vectored write: a table transfer is
        // thousands of small UPDATEs, and one syscall (and TCP segment,
        // with NODELAY) each would cost more. No copy: the buffers may be
        // shared by a thousand sessions (an export group's), and a copy
        // per session would be held for as long as its peer reads slowly.
        let mut total = first.len();
        let mut batch = vec![first];
        while total < WRITE_BATCH && batch.len() < WRITE_IOVECS {
            match rx.try_recv() {
                Some(more) => {
                    total += more.len();
                    batch.push(more);
                }
                None => break,
            }
        }
        if let Err(f) = write_progressing(&mut wr, &batch, &w).await {
            w.fail(f);
            return;
        }
    }
    let _ = tokio::time::timeout(w.send_hold(), wr.shutdown()).await;
}

/// Writes all of `bufs`, counting the queue down as it goes; fails only
/// when a write makes no progress for the
/// send hold time: a peer that reads slowly keeps its session, one that
/// stopped reading loses it (RFC 9687).
async fn write_progressing(
    wr: &mut OwnedWriteHalf,
    bufs: &[Bytes],
    w: &WriteState,
) -> Result<(), WriteFailure> {
    // The first buffer not fully written, and how much of it was.
    let (mut i, mut off) = (0usize, 0usize);
    loop {
        // Past what is written (and empty buffers).
        while bufs.get(i).is_some_and(|b| b.len() == off) {
            i += 1;
            off = 0;
        }
        if i >= bufs.len() {
            return Ok(());
        }
        let write = std::future::poll_fn(|cx| {
            // The slices are made on each poll, on the stack: held across
            // the await, 128 of them would make every connection's writer
            // task 2 KiB larger.
            let mut iov = [std::io::IoSlice::new(&[]); WRITE_IOVECS];
            let mut n_iov = 0;
            for (k, b) in bufs.iter().enumerate().skip(i) {
                let Some(slot) = iov.get_mut(n_iov) else {
                    break;
                };
                let from = if k == i { off } else { 0 };
                *slot = std::io::IoSlice::new(b.get(from..).unwrap_or_default());
                n_iov += 1;
            }
            let slices = iov.get(..n_iov).unwrap_or_default();
            std::pin::Pin::new(&mut *wr).poll_write_vectored(cx, slices)
        });
        let written = tokio::time::timeout(w.send_hold(), write).await;
        match written {
            Ok(Ok(0)) => {
                return Err(WriteFailure::Error(
                    "connection closed while writing".into(),
                ))
            }
            Ok(Ok(mut n)) => {
                // Counted down as written: a large shared buffer would
                // otherwise hold the queue full until its last octet.
                let before = w.queued.fetch_sub(n, Ordering::Relaxed);
                if before.saturating_sub(n) < LOW_WATER {
                    w.drained.notify_waiters();
                }
                while n > 0 {
                    let Some(b) = bufs.get(i) else { break };
                    let rest = b.len() - off;
                    if n >= rest {
                        n -= rest;
                        i += 1;
                        off = 0;
                    } else {
                        off += n;
                        n = 0;
                    }
                }
            }
            Ok(Err(e)) => return Err(WriteFailure::Error(format!("write error: {e}"))),
            Err(_) => return Err(WriteFailure::SendHold),
        }
    }
}

/// Reads the next input of an optional connection (pending when absent).
pub async fn next_input(conn: Option<&mut Conn>) -> Input {
    match conn {
        Some(c) => c.next().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A connection to a loopback peer whose socket the test holds.
    async fn pair() -> (Conn, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (ours, theirs) = tokio::join!(TcpStream::connect(addr), l.accept());
        let conn = Conn::new(ours.unwrap(), Origin::Local).unwrap();
        (conn, theirs.unwrap().0)
    }

    /// Queues `mib` MiB in 4 KiB messages.
    fn flood(conn: &Conn, mib: usize) {
        for _ in 0..mib * 256 {
            conn.send_raw(Bytes::from(vec![0u8; 4096]));
        }
    }

    async fn read_all(peer: &mut TcpStream, mut n: usize) {
        let mut buf = vec![0u8; 64 * 1024];
        while n > 0 {
            let got = peer.read(&mut buf).await.unwrap();
            assert!(got > 0, "closed with {n} octets to go");
            n = n.saturating_sub(got);
        }
    }

    #[tokio::test]
    async fn the_queue_counts_its_octets_and_wakes_when_drained() {
        let (conn, mut peer) = pair().await;
        flood(&conn, 16);
        assert!(conn.queued() >= HIGH_WATER, "{}", conn.queued());
        let q = conn.queue();
        let waiter = tokio::spawn(async move { assert!(q.drained().await) });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "the peer has read nothing yet");
        read_all(&mut peer, 16 << 20).await;
        tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("woken once the queue drained")
            .unwrap();
        assert_eq!(conn.queued(), 0);
    }

    #[tokio::test]
    async fn a_peer_that_reads_nothing_ends_in_send_hold_expiry() {
        let (mut conn, _peer) = pair().await;
        conn.set_send_hold_exactly(Duration::from_millis(300));
        flood(&conn, 32);
        let input = tokio::time::timeout(Duration::from_secs(20), conn.next())
            .await
            .expect("the writer gives up");
        assert!(matches!(input, Input::SendHoldExpired), "{input:?}");
        // Nothing more is queued once the writer is gone, and waiting for
        // the queue to drain does not hang.
        conn.send_raw(Bytes::from_static(b"more"));
        let drained = tokio::time::timeout(Duration::from_secs(5), conn.queue().drained())
            .await
            .unwrap();
        assert!(!drained, "a failed writer is not a drained queue");
    }

    #[tokio::test]
    async fn a_peer_that_reads_slowly_keeps_its_connection() {
        let (mut conn, mut peer) = pair().await;
        conn.set_send_hold_exactly(Duration::from_millis(800));
        flood(&conn, 8);
        // Reads a little every 100 ms: slow, but never stalled for the
        // send hold time.
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 256 * 1024];
            let mut total = 0usize;
            while total < 8 << 20 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                total += peer.read(&mut buf).await.unwrap();
            }
            peer
        });
        let outcome = tokio::time::timeout(Duration::from_secs(60), async {
            tokio::select! {
                input = conn.next() => Err(input),
                peer = reader => Ok(peer),
            }
        })
        .await
        .expect("the transfer ends");
        assert!(outcome.is_ok(), "session ended: {:?}", outcome.err());
        assert_eq!(conn.queued(), 0);
    }

    #[tokio::test]
    async fn the_send_hold_time_is_twice_the_hold_time_but_at_least_8_minutes() {
        let (conn, _peer) = pair().await;
        assert_eq!(conn.write.send_hold(), MIN_SEND_HOLD);
        conn.set_send_hold(Duration::from_secs(90));
        assert_eq!(conn.write.send_hold(), MIN_SEND_HOLD);
        conn.set_send_hold(Duration::from_secs(600));
        assert_eq!(conn.write.send_hold(), Duration::from_secs(1200));
        conn.set_send_hold(Duration::ZERO);
        assert_eq!(conn.write.send_hold(), MIN_SEND_HOLD);
    }

    #[tokio::test]
    async fn tcp_keepalive_can_be_turned_on() {
        let (conn, _peer) = pair().await;
        conn.set_tcp_keepalive().unwrap();
        let sock = socket2::SockRef::from(conn.rd.as_ref());
        assert!(sock.keepalive().unwrap());
        assert_eq!(sock.tcp_keepalive_time().unwrap(), TCP_KEEPALIVE_IDLE);
    }
}
