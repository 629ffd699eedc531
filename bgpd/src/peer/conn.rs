//! One TCP connection of a session: frames are split off a `BytesMut`
//! read buffer (zero copy) and decoded with the session's context;
//! writes go through a writer task so the neighbor task never blocks on
//! a slow peer. Dropping a [`Conn`] lets the writer flush what was queued
//! (a final NOTIFICATION) and then closes the socket.

use bgp_proto::fsm::Origin;
use bgp_proto::wire::{decode_message, encode_message, split_frame, Decoded};
use bgp_proto::{Message, Notification, SessionContext};
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use super::mailbox;

/// How long one write may stall before the writer gives up.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);
/// Read buffer growth step.
const READ_CHUNK: usize = 8192;
/// Most octets the writer coalesces into one write.
const WRITE_BATCH: usize = 64 * 1024;

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
    /// The connection closed or failed.
    Closed(String),
}

/// An open connection.
#[derive(Debug)]
pub struct Conn {
    rd: OwnedReadHalf,
    buf: BytesMut,
    tx: mailbox::Sender<Bytes>,
    writer: JoinHandle<()>,
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
        let (rd, mut wr) = stream.into_split();
        let (tx, mut rx) = mailbox::mailbox::<Bytes>();
        let writer = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Coalesce what is queued into one write: a table transfer
                // is thousands of small UPDATEs, and one syscall (and TCP
                // segment, with NODELAY) each would cost more than the copy.
                let b = if rx.is_empty() {
                    first
                } else {
                    // A fresh buffer per write: an idle session keeps none.
                    let mut batch = BytesMut::new();
                    batch.extend_from_slice(&first);
                    while batch.len() < WRITE_BATCH {
                        match rx.try_recv() {
                            Some(more) => batch.extend_from_slice(&more),
                            None => break,
                        }
                    }
                    batch.freeze()
                };
                match tokio::time::timeout(WRITE_TIMEOUT, wr.write_all(&b)).await {
                    Ok(Ok(())) => {}
                    _ => return,
                }
            }
            let _ = tokio::time::timeout(WRITE_TIMEOUT, wr.shutdown()).await;
        });
        Ok(Conn {
            rd,
            buf: BytesMut::new(),
            tx,
            writer,
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
        // A failed send means the writer is gone; the reader sees it too.
        let _ = self.tx.send(b);
    }

    /// Closes the connection once what was queued is written; the handle
    /// ends when the socket is closed.
    pub fn close(self) -> JoinHandle<()> {
        self.writer
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

    /// The next message. Cancel-safe: bytes read stay in the buffer and a
    /// frame is split and decoded without awaiting.
    pub async fn next(&mut self) -> Input {
        if self.closed {
            return std::future::pending().await;
        }
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

/// Reads the next input of an optional connection (pending when absent).
pub async fn next_input(conn: Option<&mut Conn>) -> Input {
    match conn {
        Some(c) => c.next().await,
        None => std::future::pending().await,
    }
}
