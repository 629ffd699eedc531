//! The Linux kernel FIB over a raw rtnetlink socket.
//!
//! Speed: a batch is encoded into chunks of many requests, each chunk sent
//! with one `sendmsg`. The kernel handles every request of a chunk in that
//! call and queues replies; only the last request of a chunk asks for an
//! ACK, the others answer only when they fail. So a chunk of ~1,000 routes
//! costs one send and one receive instead of a round trip per route, and
//! the socket buffers are enlarged (`SO_SNDBUFFORCE`/`SO_RCVBUFFORCE`) so
//! error replies are not dropped. If the kernel drops replies anyway
//! (`ENOBUFS`) or an ACK never arrives, the batch is reported as
//! [`FibError::Desync`] and the manager re-reads the table with a dump.
//!
//! The socket is opened in the network namespace of the thread calling
//! [`NetlinkFib::new`] and keeps it for life; blocking socket calls run on
//! tokio's blocking pool.

use std::collections::HashSet;
use std::future::Future;
use std::os::fd::AsRawFd;
use std::time::Duration;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::nlmsg::{self, Reply, RouteParams};
use super::{Connected, Fib, FibError, FibOp, FibRoute, OpFailure, RTPROT_BGP};
use crate::config::FibConfig;

/// Tunables of the netlink backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetlinkOptions {
    /// Kernel routing table id.
    pub table: u32,
    /// Route metric (`RTA_PRIORITY`).
    pub metric: u32,
    /// Protocol number of our routes (186, `proto bgp`).
    pub protocol: u8,
    /// Bytes of requests per `sendmsg`.
    pub chunk_bytes: usize,
    /// Send and receive socket buffer size to force.
    pub socket_buffer: usize,
    /// How long to wait for an ACK before declaring the batch lost.
    pub ack_timeout: Duration,
}

impl NetlinkOptions {
    /// Options for the table and metric of `cfg`.
    pub fn from_config(cfg: &FibConfig) -> Self {
        NetlinkOptions {
            table: cfg.table,
            metric: cfg.metric,
            protocol: RTPROT_BGP,
            chunk_bytes: 128 * 1024,
            socket_buffer: 32 * 1024 * 1024,
            ack_timeout: Duration::from_secs(10),
        }
    }

    pub(super) fn params(&self) -> RouteParams {
        RouteParams {
            table: self.table,
            metric: self.metric,
            protocol: self.protocol,
        }
    }
}

/// One chunk: requests with sequence numbers `first..=last`.
struct Chunk {
    buf: Vec<u8>,
    first: u32,
    last: u32,
}

/// The socket and receive buffer, moved into blocking tasks.
#[derive(Debug)]
struct Conn {
    sock: Socket,
    rx: Vec<u8>,
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> FibError {
    move |source| FibError::Io { op, source }
}

/// Sets an integer socket option, returning whether it worked.
fn setsockopt_int(sock: &Socket, level: libc::c_int, name: libc::c_int, value: usize) -> bool {
    let v = libc::c_int::try_from(value).unwrap_or(libc::c_int::MAX);
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: the fd is a live socket owned by `sock`; the option value
    // points at a c_int that outlives the call, with its size as length.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&v).cast::<libc::c_void>(),
            len,
        )
    };
    rc == 0
}

/// Opens an rtnetlink socket with big buffers and capped ACKs.
pub(super) fn open_socket(buffer: usize, groups: &[u32]) -> Result<Socket, FibError> {
    let mut sock = Socket::new(NETLINK_ROUTE).map_err(io("socket"))?;
    sock.bind_auto().map_err(io("bind"))?;
    sock.connect(&SocketAddr::new(0, 0))
        .map_err(io("connect"))?;
    for (force, plain) in [
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF),
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF),
    ] {
        if !setsockopt_int(&sock, libc::SOL_SOCKET, force, buffer) {
            // Without CAP_NET_ADMIN: as much as net.core.*mem_max allows.
            setsockopt_int(&sock, libc::SOL_SOCKET, plain, buffer);
        }
    }
    // Errors echo only the header of the failed request, not all of it.
    let _ = sock.set_cap_ack(true);
    // Lets route dumps be filtered by table and protocol in the kernel.
    let _ = sock.set_netlink_get_strict_chk(true);
    for g in groups {
        sock.add_membership(*g).map_err(io("add_membership"))?;
    }
    Ok(sock)
}

/// The Linux kernel routing table, written over rtnetlink.
#[derive(Debug)]
pub struct NetlinkFib {
    conn: Option<Conn>,
    opts: NetlinkOptions,
    seq: u32,
}

impl NetlinkFib {
    /// Opens the socket in the current thread's network namespace.
    pub fn new(mut opts: NetlinkOptions) -> Result<Self, FibError> {
        let sock = open_socket(opts.socket_buffer, &[])?;
        let timeout = Some(opts.ack_timeout);
        let sref = socket2::SockRef::from(&sock);
        sref.set_read_timeout(timeout).map_err(io("SO_RCVTIMEO"))?;
        // A sendmsg larger than the send buffer fails with EMSGSIZE: keep
        // chunks well inside what the kernel granted.
        let sndbuf = sref.send_buffer_size().map_err(io("SO_SNDBUF"))?;
        opts.chunk_bytes = opts.chunk_bytes.clamp(1024, (sndbuf / 2).max(1024));
        Ok(NetlinkFib {
            conn: Some(Conn {
                sock,
                rx: Vec::with_capacity(64 * 1024),
            }),
            opts,
            seq: 1,
        })
    }

    /// The options in use.
    pub fn options(&self) -> &NetlinkOptions {
        &self.opts
    }

    fn next_seq(&mut self, n: usize) -> u32 {
        let first = self.seq;
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.seq = self.seq.wrapping_add(n).max(1);
        first
    }

    /// Runs `f` with the socket on the blocking pool.
    async fn with_conn<T, G>(&mut self, f: G) -> Result<T, FibError>
    where
        T: Send + 'static,
        G: FnOnce(&mut Conn) -> Result<T, FibError> + Send + 'static,
    {
        let mut conn = self
            .conn
            .take()
            .ok_or(FibError::Worker("netlink socket lost".into()))?;
        let joined = tokio::task::spawn_blocking(move || {
            let r = f(&mut conn);
            (conn, r)
        })
        .await;
        match joined {
            Ok((conn, r)) => {
                self.conn = Some(conn);
                r
            }
            Err(e) => Err(FibError::Worker(e.to_string())),
        }
    }

    fn encode(&mut self, batch: &[FibOp]) -> (Vec<Chunk>, u32) {
        let params = self.opts.params();
        let base = self.next_seq(batch.len());
        let mut chunks = Vec::new();
        let mut buf = Vec::with_capacity(self.opts.chunk_bytes + 512);
        let mut first = base;
        let last_index = batch.len().saturating_sub(1);
        for (i, op) in batch.iter().enumerate() {
            let seq = base.wrapping_add(u32::try_from(i).unwrap_or(u32::MAX));
            // Every chunk ends with a request that asks for an ACK.
            let closes = i == last_index || buf.len() + 256 >= self.opts.chunk_bytes;
            nlmsg::push_op(&mut buf, op, &params, seq, closes);
            if closes {
                let full =
                    std::mem::replace(&mut buf, Vec::with_capacity(self.opts.chunk_bytes + 512));
                chunks.push(Chunk {
                    buf: full,
                    first,
                    last: seq,
                });
                first = seq.wrapping_add(1);
            }
        }
        (chunks, base)
    }
}

impl Conn {
    /// Receives one datagram into `self.rx`.
    fn recv(&mut self) -> Result<(), FibError> {
        loop {
            self.rx.clear();
            match self.sock.recv(&mut self.rx, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(FibError::Desync("receive queue overflow (ENOBUFS)".into()))
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(FibError::Desync("no ACK before timeout".into()))
                }
                Err(e) => {
                    return Err(FibError::Io {
                        op: "recv",
                        source: e,
                    })
                }
            }
        }
    }

    fn send(&self, buf: &[u8]) -> Result<(), FibError> {
        loop {
            match self.sock.send(buf, 0) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                    return Err(FibError::Desync("send failed (ENOBUFS)".into()))
                }
                Err(e) => {
                    return Err(FibError::Io {
                        op: "send",
                        source: e,
                    })
                }
            }
        }
    }

    /// Sends chunks; returns (seq, errno) of every refused request.
    fn run_chunks(&mut self, chunks: &[Chunk]) -> Result<Vec<(u32, i32)>, FibError> {
        let mut failed = Vec::new();
        for chunk in chunks {
            self.send(&chunk.buf)?;
            'acks: loop {
                self.recv()?;
                for msg in nlmsg::split(&self.rx) {
                    if let Ok(Reply::Error { seq, errno }) = nlmsg::decode(msg) {
                        let in_chunk =
                            seq.wrapping_sub(chunk.first) <= chunk.last.wrapping_sub(chunk.first);
                        if errno != 0 && in_chunk && !ignorable(errno) {
                            failed.push((seq, errno));
                        }
                        if seq == chunk.last {
                            break 'acks;
                        }
                    }
                }
            }
        }
        Ok(failed)
    }

    /// Sends a dump request and collects every message of the answer.
    fn dump(
        &mut self,
        req: &[u8],
        seq: u32,
        mut each: impl FnMut(RouteNetlinkMessage),
    ) -> Result<(), FibError> {
        self.send(req)?;
        loop {
            self.recv()?;
            for msg in nlmsg::split(&self.rx) {
                match nlmsg::decode(msg) {
                    Ok(Reply::Done { seq: s }) if s == seq => return Ok(()),
                    // A table that does not exist (yet) dumps as ENOENT.
                    Ok(Reply::Error { seq: s, errno }) if s == seq => {
                        return if errno == 0 || -errno == libc::ENOENT {
                            Ok(())
                        } else {
                            Err(FibError::Io {
                                op: "dump",
                                source: std::io::Error::from_raw_os_error(-errno),
                            })
                        };
                    }
                    Ok(Reply::Msg(m)) if nlmsg::header(msg).map(|h| h.1) == Some(seq) => each(*m),
                    Ok(_) => {}
                    Err(e) => return Err(FibError::Decode(e)),
                }
            }
        }
    }
}

/// Deleting a route that is already gone is fine.
fn ignorable(errno: i32) -> bool {
    -errno == libc::ESRCH || -errno == libc::ENOENT
}

fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(-errno).to_string()
}

impl Fib for NetlinkFib {
    fn apply(
        &mut self,
        batch: &[FibOp],
    ) -> impl Future<Output = Result<Vec<OpFailure>, FibError>> + Send {
        let (chunks, base) = self.encode(batch);
        async move {
            if chunks.is_empty() {
                return Ok(Vec::new());
            }
            let failed = self.with_conn(move |c| c.run_chunks(&chunks)).await?;
            Ok(failed
                .into_iter()
                .map(|(seq, errno)| OpFailure {
                    index: seq.wrapping_sub(base) as usize,
                    error: errno_text(errno),
                })
                .collect())
        }
    }

    fn dump(&mut self) -> impl Future<Output = Result<Vec<FibRoute>, FibError>> + Send {
        let params = self.opts.params();
        let seq = self.next_seq(nlmsg::FAMILIES.len());
        async move {
            self.with_conn(move |c| {
                let mut routes = Vec::new();
                for (i, family) in nlmsg::FAMILIES.iter().enumerate() {
                    let s = seq.wrapping_add(u32::try_from(i).unwrap_or(0));
                    let mut req = Vec::new();
                    nlmsg::push_dump(&mut req, nlmsg::RTM_GETROUTE, *family, s, &params);
                    c.dump(&req, s, |m| {
                        if let RouteNetlinkMessage::NewRoute(r) = m {
                            if nlmsg::is_ours(&r, &params) {
                                routes.extend(nlmsg::to_fib_route(&r));
                            }
                        }
                    })?;
                }
                Ok(routes)
            })
            .await
        }
    }

    fn connected(&mut self) -> impl Future<Output = Result<Vec<Connected>, FibError>> + Send {
        let params = self.opts.params();
        let seq = self.next_seq(2);
        async move {
            self.with_conn(move |c| {
                let mut up = HashSet::new();
                let mut req = Vec::new();
                nlmsg::push_dump(&mut req, nlmsg::RTM_GETLINK, 0, seq, &params);
                c.dump(&req, seq, |m| {
                    if let RouteNetlinkMessage::NewLink(l) = m {
                        let (index, is_up) = nlmsg::link_up(&l);
                        if is_up {
                            up.insert(index);
                        }
                    }
                })?;
                let mut out = Vec::new();
                let s = seq.wrapping_add(1);
                req.clear();
                nlmsg::push_dump(&mut req, nlmsg::RTM_GETADDR, 0, s, &params);
                c.dump(&req, s, |m| {
                    if let RouteNetlinkMessage::NewAddress(a) = m {
                        out.extend(nlmsg::to_connected(&a).filter(|c| up.contains(&c.ifindex)));
                    }
                })?;
                Ok(out)
            })
            .await
        }
    }
}
