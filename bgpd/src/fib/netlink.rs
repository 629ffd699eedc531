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
//! The links and addresses behind the connected networks are read with the
//! `rtnetlink` crate instead (`rtnl.rs`); our routes and nexthop objects
//! are written and dumped on the raw socket.
//!
//! The sockets are opened in the network namespace of the thread calling
//! [`NetlinkFib::new`] and keep it for life; blocking socket calls run on
//! tokio's blocking pool.

use std::os::fd::AsRawFd;
use std::time::Duration;

use hashbrown::HashSet as FastSet;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};

use super::all_nodes::AllNodesPinger;
use super::neigh::{self, GatewayProber};
use super::nexthops::{self, KernelNexthop, NewObject, NexthopObjects};
use super::nlmsg::{self, Reply, RouteParams};
use super::rtnl::Rtnl;
use super::{
    Connected, Fib, FibError, FibOp, FibRoute, ListId, Neighbour, NextHop, OpFailure, Reach,
    Solicit, RTPROT_BGP,
};
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
    /// Name next hops as kernel nexthop objects where the kernel has them.
    pub nexthop_objects: bool,
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
            nexthop_objects: cfg.nexthop_objects,
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
    /// The raw socket: route and nexthop-object writes, nexthop dumps.
    conn: Option<Conn>,
    /// Link, address and neighbour requests.
    rtnl: Rtnl,
    /// What the kernel was asked about the gateways of stale routes.
    prober: GatewayProber,
    /// Pings all nodes on a link for the stand-ins of IPv4 gateways.
    pinger: AllNodesPinger,
    opts: NetlinkOptions,
    seq: u32,
    /// Our kernel nexthop objects; `None` when off or unsupported.
    objects: Option<NexthopObjects>,
    /// The registry must be re-read from the kernel before the next write
    /// (never read yet, or a route naming an object was refused).
    objects_in_doubt: bool,
    /// A refused route naming an object has been logged (once is enough).
    logged_refusal: bool,
}

impl NetlinkFib {
    /// Opens the sockets in the current thread's network namespace. Must
    /// be called inside a tokio runtime, which runs the dumps' connection.
    pub fn new(mut opts: NetlinkOptions) -> Result<Self, FibError> {
        let rtnl = Rtnl::open()?;
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
            rtnl,
            prober: GatewayProber::default(),
            pinger: AllNodesPinger::default(),
            objects: opts.nexthop_objects.then(NexthopObjects::new),
            objects_in_doubt: true,
            logged_refusal: false,
            opts,
            seq: 1,
        })
    }

    /// How many kernel nexthop objects we hold (`None`: routes carry their
    /// gateways, objects are off or the kernel has none).
    pub fn nexthop_objects(&self) -> Option<usize> {
        self.objects.as_ref().map(NexthopObjects::len)
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

    /// Encodes route ops; op `i` names object `ids[i]` if there is one.
    fn encode(&mut self, batch: &[FibOp], ids: &[Option<u32>]) -> (Vec<Chunk>, u32) {
        let params = self.opts.params();
        let base = self.next_seq(batch.len());
        let chunks = build_chunks(
            self.opts.chunk_bytes,
            base,
            batch.len(),
            |buf, i, seq, ack| {
                if let Some(op) = batch.get(i) {
                    let id = ids.get(i).copied().flatten();
                    nlmsg::push_op(buf, op, id, &params, seq, ack);
                }
            },
        );
        (chunks, base)
    }

    /// Takes the result of a nexthop dump: the registry follows the kernel
    /// (`referenced`: the ids our routes name, from a full route dump), or
    /// objects are turned off if the kernel has none.
    fn take_objects(
        &mut self,
        dumped: Option<Result<Vec<KernelNexthop>, FibError>>,
        referenced: Option<&FastSet<u32>>,
    ) {
        let (Some(objects), Some(dumped)) = (self.objects.as_mut(), dumped) else {
            return;
        };
        match dumped {
            Ok(list) => {
                objects.sync(&list, self.opts.protocol, referenced);
                self.objects_in_doubt = false;
            }
            Err(FibError::Io { source, .. })
                if matches!(
                    source.raw_os_error(),
                    Some(libc::EOPNOTSUPP | libc::EINVAL | libc::EAFNOSUPPORT)
                ) =>
            {
                tracing::info!(
                    error = %source,
                    "kernel has no nexthop objects; routes carry their gateways"
                );
                self.objects = None;
            }
            Err(e) => {
                tracing::warn!(error = %e, "nexthop objects: dump failed");
                self.objects_in_doubt = true;
            }
        }
    }

    /// Re-reads our nexthop objects if a refused write cast doubt on them.
    async fn verify_objects(&mut self) -> Result<(), FibError> {
        if !self.objects_in_doubt || self.objects.is_none() {
            return Ok(());
        }
        let dumped = self.dump_objects().await?;
        self.take_objects(dumped, None);
        Ok(())
    }

    /// Our nexthop objects as the kernel has them, if we use objects: the
    /// outer error is the socket's, the inner one the dump's (see
    /// [`NetlinkFib::take_objects`]).
    async fn dump_objects(
        &mut self,
    ) -> Result<Option<Result<Vec<KernelNexthop>, FibError>>, FibError> {
        if self.objects.is_none() {
            return Ok(None);
        }
        let seq = self.next_seq(1);
        let dumped = self.with_conn(move |c| Ok(c.dump_nexthops(seq))).await?;
        Ok(Some(dumped))
    }

    /// The object each op of `batch` names (`None`: written the plain way),
    /// after creating the objects missing and deleting the unused ones.
    async fn prepare_objects(&mut self, batch: &[FibOp]) -> Result<Vec<Option<u32>>, FibError> {
        self.verify_objects().await?;
        let Some(objects) = self.objects.as_mut() else {
            return Ok(Vec::new());
        };
        let mut create = Vec::new();
        let mut ids = Vec::with_capacity(batch.len());
        // Neighbouring routes often share a list: skip the lookups.
        let mut last: Option<(bool, ListId, Option<u32>)> = None;
        for op in batch {
            // A route written without the manager has no list: plain.
            let FibOp::Replace(route, Some(list)) = op else {
                ids.push(None);
                continue;
            };
            let v6 = route.prefix.addr().is_ipv6();
            let id = match last {
                Some((l6, l, id)) if l6 == v6 && l == *list => id,
                _ => objects.id_for(v6, *list, &route.next_hops, &mut create),
            };
            last = Some((v6, *list, id));
            ids.push(id);
        }
        let deletes = objects.take_deletes();
        if create.is_empty() && deletes.is_empty() {
            return Ok(ids);
        }
        let failed = self.write_objects(&deletes, &create).await?;
        if let Some(objects) = self.objects.as_mut() {
            for (k, errno) in failed {
                if let Some(obj) = k.checked_sub(deletes.len()).and_then(|k| create.get(k)) {
                    tracing::debug!(id = obj.id(), error = %errno_text(errno), "nexthop object refused");
                    objects.failed(obj.id(), errno);
                }
            }
            for id in &mut ids {
                if id.is_some_and(|i| !objects.holds(i)) {
                    *id = None;
                }
            }
        }
        Ok(ids)
    }

    /// Deletes then creates nexthop objects; returns (index, errno) of the
    /// refused requests (index into `deletes` then `create`).
    async fn write_objects(
        &mut self,
        deletes: &[u32],
        create: &[NewObject],
    ) -> Result<Vec<(usize, i32)>, FibError> {
        let n = deletes.len() + create.len();
        let base = self.next_seq(n);
        let protocol = self.opts.protocol;
        let chunks = build_chunks(self.opts.chunk_bytes, base, n, |buf, i, seq, ack| {
            match (deletes.get(i), i.checked_sub(deletes.len())) {
                (Some(id), _) => nexthops::push_delete(buf, *id, seq, ack),
                (None, Some(k)) => {
                    if let Some(obj) = create.get(k) {
                        nexthops::push_new(buf, obj, protocol, seq, ack);
                    }
                }
                (None, None) => {}
            }
        });
        let failed = self.with_conn(move |c| c.run_chunks(&chunks)).await?;
        Ok(failed
            .into_iter()
            .map(|(seq, errno)| (seq.wrapping_sub(base) as usize, errno))
            .collect())
    }
}

/// Splits `n` requests into chunks of about `chunk_bytes`; request `i` has
/// sequence number `base + i` and is written by `push(buf, i, seq, ack)`.
/// The last request of every chunk asks for an ACK.
fn build_chunks(
    chunk_bytes: usize,
    base: u32,
    n: usize,
    mut push: impl FnMut(&mut Vec<u8>, usize, u32, bool),
) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut buf = Vec::with_capacity(chunk_bytes + 512);
    let mut first = base;
    for i in 0..n {
        let seq = base.wrapping_add(u32::try_from(i).unwrap_or(u32::MAX));
        let closes = i + 1 == n || buf.len() + 256 >= chunk_bytes;
        push(&mut buf, i, seq, closes);
        if closes {
            let full = std::mem::replace(&mut buf, Vec::with_capacity(chunk_bytes + 512));
            chunks.push(Chunk {
                buf: full,
                first,
                last: seq,
            });
            first = seq.wrapping_add(1);
        }
    }
    chunks
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

    /// Sends a dump request and hands every message of the answer, raw, to
    /// `each`.
    fn dump_raw(
        &mut self,
        req: &[u8],
        seq: u32,
        mut each: impl FnMut(&[u8]) -> Result<(), FibError>,
    ) -> Result<(), FibError> {
        self.send(req)?;
        loop {
            self.recv()?;
            for msg in nlmsg::split(&self.rx) {
                let Some((kind, s)) = nlmsg::header(msg) else {
                    continue;
                };
                if s != seq {
                    continue;
                }
                match kind {
                    nlmsg::NLMSG_DONE => return Ok(()),
                    nlmsg::NLMSG_ERROR => {
                        let errno = match nlmsg::decode(msg) {
                            Ok(Reply::Error { errno, .. }) => errno,
                            _ => -libc::EIO,
                        };
                        // A table that does not exist (yet) dumps as ENOENT.
                        return if errno == 0 || -errno == libc::ENOENT {
                            Ok(())
                        } else {
                            Err(FibError::Io {
                                op: "dump",
                                source: std::io::Error::from_raw_os_error(-errno),
                            })
                        };
                    }
                    _ => each(msg)?,
                }
            }
        }
    }

    /// Sends a route dump request and hands every route of the answer to
    /// `each`.
    fn dump_routes(
        &mut self,
        req: &[u8],
        seq: u32,
        mut each: impl FnMut(RouteMessage),
    ) -> Result<(), FibError> {
        self.dump_raw(req, seq, |msg| match nlmsg::decode(msg) {
            Ok(Reply::Msg(m)) => {
                if let RouteNetlinkMessage::NewRoute(r) = *m {
                    each(r);
                }
                Ok(())
            }
            Ok(_) => Ok(()),
            Err(e) => Err(FibError::Decode(e)),
        })
    }

    /// Every nexthop object in the namespace.
    fn dump_nexthops(&mut self, seq: u32) -> Result<Vec<KernelNexthop>, FibError> {
        let mut req = Vec::new();
        nexthops::push_dump(&mut req, seq);
        let mut out = Vec::new();
        self.dump_raw(&req, seq, |msg| {
            out.extend(nexthops::parse(msg));
            Ok(())
        })?;
        Ok(out)
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
    async fn apply(&mut self, batch: &[FibOp]) -> Result<Vec<OpFailure>, FibError> {
        let ids = if self.objects.is_some() {
            self.prepare_objects(batch).await?
        } else {
            Vec::new()
        };
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let (chunks, base) = self.encode(batch, &ids);
        let failed = self.with_conn(move |c| c.run_chunks(&chunks)).await?;
        let failures: Vec<OpFailure> = failed
            .into_iter()
            .map(|(seq, errno)| OpFailure {
                index: seq.wrapping_sub(base) as usize,
                error: errno_text(errno),
            })
            .collect();
        if failures
            .iter()
            .any(|f| ids.get(f.index).copied().flatten().is_some())
        {
            self.objects_in_doubt = true;
            if !std::mem::replace(&mut self.logged_refusal, true) {
                tracing::info!("a route naming a nexthop object was refused; re-reading objects");
            }
        }
        Ok(failures)
    }

    async fn dump(&mut self) -> Result<Vec<FibRoute>, FibError> {
        let params = self.opts.params();
        let seq = self.next_seq(nlmsg::FAMILIES.len() + 1);
        let objects = self.objects.is_some();
        let (dumped, routes) = self
            .with_conn(move |c| {
                // Objects first, so the routes name only objects the
                // registry has seen.
                let nh_seq = seq.wrapping_add(u32::try_from(nlmsg::FAMILIES.len()).unwrap_or(0));
                let dumped = objects.then(|| c.dump_nexthops(nh_seq));
                let mut routes = Vec::new();
                for (i, family) in nlmsg::FAMILIES.iter().enumerate() {
                    let s = seq.wrapping_add(u32::try_from(i).unwrap_or(0));
                    let mut req = Vec::new();
                    nlmsg::push_route_dump(&mut req, *family, s, &params);
                    c.dump_routes(&req, s, |r| {
                        if nlmsg::is_ours(&r, &params) {
                            if let Some(route) = nlmsg::to_fib_route(&r) {
                                routes.push((route, nlmsg::route_nh_id(&r)));
                            }
                        }
                    })?;
                }
                Ok((dumped, routes))
            })
            .await?;
        let referenced: FastSet<u32> = routes.iter().filter_map(|(_, id)| *id).collect();
        self.take_objects(dumped, Some(&referenced));
        Ok(routes
            .into_iter()
            .map(|(route, id)| {
                // With net.ipv4.nexthop_compat_mode=0 a route shows only
                // its object id.
                match (route.next_hops.is_empty(), id, self.objects.as_ref()) {
                    (true, Some(id), Some(objects)) => match objects.hops(id) {
                        Some(hops) => FibRoute::new(route.prefix, hops),
                        None => route,
                    },
                    _ => route,
                }
            })
            .collect())
    }

    async fn connected(&mut self) -> Result<Vec<Connected>, FibError> {
        let out = self.rtnl.connected().await?;
        // A link that went down took its objects (and their routes) with
        // it, silently.
        let dumped = self.dump_objects().await?;
        self.take_objects(dumped, None);
        Ok(out)
    }

    async fn probe_gateways(&mut self, gateways: &[NextHop]) -> Result<Vec<Reach>, FibError> {
        self.prober.probe(self.rtnl.handle(), gateways).await
    }

    async fn neighbours(&mut self) -> Result<Vec<Neighbour>, FibError> {
        neigh::neighbours(self.rtnl.handle()).await
    }

    async fn solicit(&mut self, asks: &[Solicit]) {
        neigh::solicit(self.rtnl.handle(), &mut self.pinger, asks).await;
    }

    fn release_next_hops(&mut self, lists: &[(ListId, Box<[NextHop]>)]) {
        if let Some(objects) = self.objects.as_mut() {
            for (list, hops) in lists {
                objects.release(*list, hops);
            }
        }
    }

    fn object_of(&self, list: ListId) -> Option<u32> {
        self.objects.as_ref().and_then(|o| o.claimed(list))
    }

    fn holds_object(&self, id: u32) -> bool {
        self.objects.as_ref().is_some_and(|o| o.holds(id))
    }

    async fn cleanup(&mut self) -> Result<(), FibError> {
        let Some(objects) = self.objects.as_mut() else {
            return Ok(());
        };
        let ids = objects.take_all();
        if !ids.is_empty() {
            self.write_objects(&ids, &[]).await?;
        }
        Ok(())
    }
}
