//! Helpers shared by the neighbor-session tests (`peer_*.rs`): peer
//! events awaited, raw messages, scratch directories; processes, ports and
//! prerequisites come from `testbed`.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

pub use testbed::{free_port, Proc};

use bgpd::config::Config;
use bgpd::peer::PeerEvent;
use bytes::Bytes;
use std::process::Command;
use std::time::Duration;
use tokio::sync::mpsc;

/// Spawns `cmd` (a peer daemon), output to `log` in `dir`; it is killed
/// (SIGKILL) when dropped, also on panic.
pub fn spawn(name: &str, cmd: Command, dir: &std::path::Path, log: &str) -> Proc {
    Proc::spawn(name, cmd, &dir.join(log))
        .unwrap()
        .kill_on_drop()
}

/// Prints a `SKIP:` line and returns true when one of `programs` is not
/// installed.
pub fn skip_without(programs: &[&str]) -> bool {
    testbed::missing(programs).map(testbed::skip).is_some()
}

/// rbgpd's config for a session on loopback with a real peer: our side
/// AS 65000 on 127.0.0.1:`ours`, the peer AS 65100 on 127.0.0.2:`theirs`,
/// connect retry 1 s.
pub fn peer_config(ours: u16, theirs: u16) -> Config {
    toml::from_str(&format!(
        r#"
        [router]
        asn = 65000
        router_id = "172.18.0.5"
        listen = ["127.0.0.1:{ours}"]
        [[neighbor]]
        address = "127.0.0.2"
        remote_as = 65100
        port = {theirs}
        local_address = "127.0.0.1"
        connect_retry = 1
        "#
    ))
    .unwrap()
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
