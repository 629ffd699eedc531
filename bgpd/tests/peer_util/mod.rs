//! Helpers shared by the neighbor-session tests against real peers.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bgpd::peer::PeerEvent;
use bytes::Bytes;
use std::process::Child;
use std::time::Duration;
use tokio::sync::mpsc;

/// Kills (and reaps) the process it holds when dropped, also on panic.
pub struct Proc(pub Child);

impl Proc {
    /// Sends SIGTERM (a clean stop: the peer sends its Cease).
    pub fn terminate(&self) {
        // SAFETY: kill(2) on the child we spawned and still own.
        let rc = unsafe { libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM) };
        assert_eq!(rc, 0);
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port free on `ip` right now.
pub fn free_port(ip: &str) -> u16 {
    let l = std::net::TcpListener::bind((ip, 0)).unwrap();
    l.local_addr().unwrap().port()
}

/// Whether `cmd` is an executable on PATH or an absolute path that exists.
pub fn have(cmd: &str) -> bool {
    if cmd.starts_with('/') {
        return std::path::Path::new(cmd).is_file();
    }
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(cmd).is_file()))
        .unwrap_or(false)
}

/// A private scratch directory for one test.
pub fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rbgpd-sessions-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Logs to the test output with `RUST_LOG=bgpd=debug`.
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// Waits for the first event matching `pred`, skipping others.
pub async fn wait_for(
    rx: &mut mpsc::Receiver<PeerEvent>,
    what: &str,
    secs: u64,
    pred: impl Fn(&PeerEvent) -> bool,
) -> PeerEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(ev)) if pred(&ev) => return ev,
            Ok(Some(_)) => {}
            Ok(None) => panic!("event channel closed waiting for {what}"),
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// A whole message of `msg_type` with `body`.
pub fn message(msg_type: u8, body: &[u8]) -> Bytes {
    let mut m = vec![0xff; 16];
    m.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    m.push(msg_type);
    m.extend_from_slice(body);
    Bytes::from(m)
}

/// End-of-RIB for IPv4 unicast (an empty UPDATE) and IPv6 unicast (an
/// empty MP_UNREACH_NLRI), RFC 4724 2.
pub fn end_of_rib() -> Vec<Bytes> {
    let v4 = message(2, &[0, 0, 0, 0]);
    let v6 = message(2, &[0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1]);
    vec![v4, v6]
}
