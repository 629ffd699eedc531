//! Our own connection to a neighbor: the socket options (TTL / GTSM,
//! TCP-MD5, source address) set before the connect.

use super::sockopt;
use super::spec::TtlPolicy;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use tokio::net::{TcpSocket, TcpStream};

/// A connect in progress.
pub(super) type DialFuture = Pin<Box<dyn Future<Output = io::Result<TcpStream>> + Send>>;

/// The connect in progress, if any (pending when none).
pub(super) async fn dial_opt(dial: &mut Option<DialFuture>) -> io::Result<TcpStream> {
    match dial {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

/// Connects to `remote` from `local` with the TTL policy and MD5 key.
pub(super) async fn dial(
    remote: SocketAddr,
    local: Option<IpAddr>,
    ttl: TtlPolicy,
    password: Option<String>,
) -> io::Result<TcpStream> {
    let v6 = remote.is_ipv6();
    let sock = if v6 {
        TcpSocket::new_v6()?
    } else {
        TcpSocket::new_v4()?
    };
    sockopt::apply_ttl(&sock, v6, ttl)?;
    if let Some(pw) = password {
        sockopt::set_md5(&sock, v6, remote.ip(), None, pw.as_bytes())?;
    }
    if let Some(l) = local {
        sock.bind(SocketAddr::new(l, 0))?;
    }
    sock.connect(remote).await
}
