//! Listening sockets: bound with socket2 so TCP-MD5 keys can be set on
//! them before any connection arrives, then handed to tokio. Accepted
//! connections go to [`super::manager::Shared::dispatch`].

use super::shared::Shared;
use super::sockopt;
use socket2::{Domain, Socket, Type};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::warn;

/// Pending connections the listening socket queues.
const LISTEN_BACKLOG: i32 = 4096;

/// Binds a listening socket on `addr` (IPv6 sockets are IPv6-only, so
/// `0.0.0.0:179` and `[::]:179` can both be bound).
pub(crate) fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let sock = Socket::new(domain, Type::STREAM, None)?;
    sock.set_reuse_address(true)?;
    if addr.is_ipv6() {
        sock.set_only_v6(true)?;
    }
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    // A deep accept queue (the kernel caps it at net.core.somaxconn): a
    // large cluster's nodes all connect at once, and a full queue drops
    // SYNs, each of which then waits out a 1 s retransmit.
    sock.listen(LISTEN_BACKLOG)?;
    TcpListener::from_std(sock.into())
}

/// Installs the TCP-MD5 keys of every neighbor and range of `shared` on
/// `listener` (keys of the other address family are skipped).
pub(crate) fn install_keys(listener: &TcpListener, keys: &[super::shared::Md5Key]) {
    let v6 = listener.local_addr().map(|a| a.is_ipv6()).unwrap_or(false);
    for k in keys {
        if k.addr.is_ipv6() != v6 {
            continue;
        }
        if let Err(e) = sockopt::set_md5(listener, v6, k.addr, k.prefix_len, k.key.as_bytes()) {
            warn!(peer = %k.addr, "cannot set TCP-MD5 key on listener: {e}");
        }
    }
}

/// Accepts connections forever.
pub(crate) async fn accept_loop(listener: Arc<TcpListener>, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, from)) => shared.dispatch(stream, from),
            Err(e) => {
                warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
