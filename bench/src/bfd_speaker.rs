//! The I/O around [`crate::bfd_table::Table`]: two UDP sockets and one
//! thread for all the speakers' BFD sessions, so the harness's side costs
//! little next to the daemon's.
//!
//! - Receiving: one socket on port 3784 of every address of the speakers'
//!   namespace, asking for each datagram's destination address
//!   (`IP_PKTINFO`, which names the feeder) and TTL (`IP_RECVTTL`).
//! - Sending: one socket on a source port in 49152-65535 with TTL 255
//!   (RFC 5881 4 and 5); each packet names its feeder address as source
//!   in an `IP_PKTINFO` control message.
//! - The thread works in rounds [`TICK`] apart (or sooner when a deadline
//!   is due): it drains the receiving socket, runs the timers and sends
//!   what is due, then publishes the table's [`Tally`]. Waking per round
//!   rather than per packet keeps the harness's own CPU small at 1,000
//!   sessions; a packet goes out at most a tick late, which a 900 ms
//!   detection time does not notice.
//!
//! The sockets are opened by the calling thread, so they live in its
//! network namespace (the thread it starts inherits it).

use crate::bfd_table::{Table, Tally};
use crate::{Error, Result};
use bfd::{SessionConfig, CONTROL_PORT, SINGLE_HOP_TTL, SOURCE_PORTS};
use std::io;
use std::mem::{size_of, zeroed};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The longest the thread sleeps before looking at its stop flag.
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// The shortest time between two rounds of the thread.
pub const TICK: Duration = Duration::from_millis(2);

struct Shared {
    stop: AtomicBool,
    tally: Mutex<Tally>,
}

/// The speakers' BFD sessions, running on their own thread until dropped.
pub struct BfdSpeakers {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BfdSpeakers {
    /// Opens the sockets (in the calling thread's namespace) and starts
    /// one active session per address of `locals` towards `remote`.
    pub fn start(
        remote: Ipv4Addr,
        locals: &[Ipv4Addr],
        config: SessionConfig,
    ) -> Result<BfdSpeakers> {
        let rx = receiver().map_err(|e| Error::io("BFD receiving socket (port 3784)", e))?;
        let tx = sender().map_err(|e| Error::io("BFD sending socket", e))?;
        let table = Table::new(remote, locals, config, Instant::now())
            .map_err(|e| Error::Usage(format!("BFD session config: {e}")))?;
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            tally: Mutex::new(table.tally()),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("bench-bfd".into())
            .spawn(move || drive(table, &rx, &tx, remote, &s))
            .map_err(|e| Error::io("spawn the BFD thread", e))?;
        Ok(BfdSpeakers {
            shared,
            thread: Some(thread),
        })
    }

    /// The counts as the thread last published them.
    pub fn tally(&self) -> Tally {
        *self.shared.tally.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until every session has been Up at once; returns when.
    pub async fn wait_all_up(&self, limit: Duration) -> Result<Instant> {
        let deadline = Instant::now() + limit;
        loop {
            let t = self.tally();
            if let Some(at) = t.all_up_at {
                return Ok(at);
            }
            if Instant::now() > deadline {
                return Err(Error::Timeout {
                    what: format!("the speakers' BFD sessions ({} of {} Up)", t.up, t.sessions),
                    secs: limit.as_secs(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for BfdSpeakers {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread's loop.
fn drive(mut table: Table, rx: &OwnedFd, tx: &OwnedFd, remote: Ipv4Addr, shared: &Shared) {
    let to = SocketAddrV4::new(remote, CONTROL_PORT);
    let mut buf = [0u8; 64];
    while !shared.stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        // Deadlines are in the future after a round; datagrams wait in the
        // socket until the next one.
        let sleep = table
            .poll_timeout()
            .map_or(MAX_SLEEP, |at| at.saturating_duration_since(now))
            .clamp(TICK, MAX_SLEEP);
        std::thread::sleep(sleep);
        loop {
            match recv(rx.as_raw_fd(), &mut buf) {
                Ok(Some(d)) => {
                    let bytes = buf.get(..d.len).unwrap_or(&[]);
                    table.datagram_in(Instant::now(), d.from, d.to, d.ttl, bytes);
                }
                Ok(None) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        let now = Instant::now();
        table.handle_timeout(now);
        while let Some((from, bytes)) = table.poll_transmit(now) {
            // A lost packet is made up for by the next one, as in BFD.
            if send_from(tx.as_raw_fd(), from, to, &bytes).is_err() {
                table.count_send_error();
            }
        }
        *shared.tally.lock().unwrap_or_else(|p| p.into_inner()) = table.tally();
    }
}

// ===== sockets (libc) =====

fn last_err() -> io::Error {
    io::Error::last_os_error()
}

fn udp_socket() -> io::Result<OwnedFd> {
    // SAFETY: socket(2) with constant arguments; the fd is owned at once.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        )
    };
    if fd < 0 {
        return Err(last_err());
    }
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn set_int(fd: &OwnedFd, level: libc::c_int, opt: libc::c_int, v: libc::c_int) -> io::Result<()> {
    // SAFETY: the option value is a c_int on the stack, its size given.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            (&v as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(last_err());
    }
    Ok(())
}

fn sockaddr(a: SocketAddrV4) -> libc::sockaddr_in {
    // SAFETY: sockaddr_in is plain data; all-zero is a valid value.
    let mut sa: libc::sockaddr_in = unsafe { zeroed() };
    sa.sin_family = libc::AF_INET as libc::sa_family_t;
    sa.sin_port = a.port().to_be();
    sa.sin_addr.s_addr = u32::from(*a.ip()).to_be();
    sa
}

fn bind(fd: &OwnedFd, a: SocketAddrV4) -> io::Result<()> {
    let sa = sockaddr(a);
    // SAFETY: a valid sockaddr_in and its size.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sa as *const libc::sockaddr_in).cast(),
            size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if rc < 0 {
        return Err(last_err());
    }
    Ok(())
}

/// Asks for a 4 MiB socket buffer: beyond `net.core.[rw]mem_max` as root
/// (`force`), else as much as the limit allows.
fn big_buffer(fd: &OwnedFd, force: libc::c_int, plain: libc::c_int) {
    if set_int(fd, libc::SOL_SOCKET, force, 4 << 20).is_err() {
        let _ = set_int(fd, libc::SOL_SOCKET, plain, 4 << 20);
    }
}

/// Port 3784 of every address, with destination and TTL of each datagram.
fn receiver() -> io::Result<OwnedFd> {
    let fd = udp_socket()?;
    set_int(&fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
    set_int(&fd, libc::IPPROTO_IP, libc::IP_PKTINFO, 1)?;
    set_int(&fd, libc::IPPROTO_IP, libc::IP_RECVTTL, 1)?;
    // Room for a burst: 1,000 sessions' packets can arrive together.
    big_buffer(&fd, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF);
    bind(&fd, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, CONTROL_PORT))?;
    Ok(fd)
}

/// TTL 255, on the first free source port of 49152-65535.
fn sender() -> io::Result<OwnedFd> {
    let fd = udp_socket()?;
    set_int(
        &fd,
        libc::IPPROTO_IP,
        libc::IP_TTL,
        libc::c_int::from(SINGLE_HOP_TTL),
    )?;
    big_buffer(&fd, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF);
    let mut last = io::Error::from(io::ErrorKind::AddrInUse);
    for port in SOURCE_PORTS {
        match bind(&fd, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port)) {
            Ok(()) => return Ok(fd),
            Err(e) if e.kind() == io::ErrorKind::AddrInUse => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// One datagram's length, sender, destination and TTL.
struct Got {
    len: usize,
    from: Ipv4Addr,
    to: Ipv4Addr,
    ttl: Option<u8>,
}

/// Reads one datagram; `None` when there is none.
fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<Got>> {
    // SAFETY: plain data; all-zero is valid.
    let mut name: libc::sockaddr_in = unsafe { zeroed() };
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // u64s: cmsghdr alignment.
    let mut control = [0u64; 16];
    // SAFETY: plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&mut name as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = size_of::<[u64; 16]>() as _;
    // SAFETY: every pointer in `msg` points at a live local of the right
    // size.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        let e = last_err();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    let mut got = Got {
        len: usize::try_from(n).unwrap_or(0).min(buf.len()),
        from: Ipv4Addr::from(u32::from_be(name.sin_addr.s_addr)),
        to: Ipv4Addr::UNSPECIFIED,
        ttl: None,
    };
    // SAFETY: the CMSG_* walk stays within msg_controllen as the kernel
    // set it; the data are read unaligned, at the sizes of their types.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let h = &*c;
            if h.cmsg_level == libc::IPPROTO_IP && h.cmsg_type == libc::IP_PKTINFO {
                let info: libc::in_pktinfo = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                got.to = Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr));
            } else if h.cmsg_level == libc::IPPROTO_IP && h.cmsg_type == libc::IP_TTL {
                let ttl: libc::c_int = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                got.ttl = u8::try_from(ttl).ok();
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(Some(got))
}

/// Sends `bytes` to `to` with `from` as source address.
fn send_from(fd: RawFd, from: Ipv4Addr, to: SocketAddrV4, bytes: &[u8]) -> io::Result<()> {
    let dest = sockaddr(to);
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr().cast_mut().cast(),
        iov_len: bytes.len(),
    };
    let mut control = [0u64; 8];
    // SAFETY: plain data; all-zero is valid.
    let mut msg: libc::msghdr = unsafe { zeroed() };
    msg.msg_name = (&dest as *const libc::sockaddr_in).cast_mut().cast();
    msg.msg_namelen = size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    let info_len = size_of::<libc::in_pktinfo>() as u32;
    // SAFETY: CMSG_SPACE of in_pktinfo (32 octets) fits `control` (64);
    // the header and data are written within it; sendmsg only reads
    // `iov` and `dest`.
    let rc = unsafe {
        msg.msg_controllen = libc::CMSG_SPACE(info_len) as _;
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return Err(io::Error::from(io::ErrorKind::InvalidInput));
        }
        (*c).cmsg_level = libc::IPPROTO_IP;
        (*c).cmsg_type = libc::IP_PKTINFO;
        (*c).cmsg_len = libc::CMSG_LEN(info_len) as _;
        let info = libc::in_pktinfo {
            ipi_ifindex: 0,
            ipi_spec_dst: libc::in_addr {
                s_addr: u32::from(from).to_be(),
            },
            ipi_addr: libc::in_addr { s_addr: 0 },
        };
        std::ptr::write_unaligned(libc::CMSG_DATA(c).cast(), info);
        libc::sendmsg(fd, &msg, 0)
    };
    if rc < 0 {
        return Err(last_err());
    }
    Ok(())
}
