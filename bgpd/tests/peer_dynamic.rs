//! Dynamic neighbors over loopback, as an operator sees them: a range
//! remembers a node whose session ended (listed, its history kept, the same
//! id when it reconnects); a node shut down stays listed and its reconnects
//! are refused until it is enabled. Node A (explicit neighbor, dialing)
//! connects to B's range 127.0.2.0/30.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peer_util;

use bgp_proto::fsm::State;
use bgpd::config::Config;
use bgpd::peer::{PeerCommand, PeerEvent, PeerId, PeerManager, PeerStatus};
use peer_util::{free_port, init_logs};
use std::time::Duration;
use tokio::sync::mpsc;

fn config(text: &str) -> Config {
    toml::from_str(text).unwrap()
}

async fn wait_for(
    rx: &mut mpsc::Receiver<PeerEvent>,
    what: &str,
    pred: impl Fn(&PeerEvent) -> bool,
) -> PeerEvent {
    peer_util::wait_for(rx, what, 60, pred).await
}

/// Waits for B's session with A to come up; returns B's id of A.
async fn established(rx: &mut mpsc::Receiver<PeerEvent>) -> PeerId {
    match wait_for(rx, "established", |e| {
        matches!(e, PeerEvent::Established { .. })
    })
    .await
    {
        PeerEvent::Established { peer, info } => {
            assert!(info.dynamic);
            peer
        }
        _ => unreachable!(),
    }
}

fn only(m: &PeerManager) -> PeerStatus {
    let mut peers = m.peers();
    assert_eq!(peers.len(), 1, "{peers:?}");
    peers.remove(0)
}

#[tokio::test]
async fn a_dynamic_neighbor_is_remembered_and_a_shut_down_one_stays_down() {
    init_logs();
    let (pa, pb) = (free_port("127.0.2.1"), free_port("127.0.2.2"));
    let cfg_b = config(&format!(
        r#"
        [router]
        asn = 65000
        router_id = "10.0.2.2"
        listen = ["127.0.2.2:{pb}"]
        [[neighbor]]
        range = "127.0.2.0/30"
        remote_as = 65100
        limit = 2
        remember_time = 300
        "#
    ));
    let cfg_a = config(&format!(
        r#"
        [router]
        asn = 65100
        router_id = "10.0.2.1"
        listen = ["127.0.2.1:{pa}"]
        [[neighbor]]
        address = "127.0.2.2"
        remote_as = 65000
        port = {pb}
        local_address = "127.0.2.1"
        connect_retry = 1
        "#
    ));
    let (txb, mut rxb) = mpsc::channel(256);
    let mut b = PeerManager::spawn(&cfg_b, txb);
    let (txa, mut rxa) = mpsc::channel(256);
    let mut a = PeerManager::spawn(&cfg_a, txa);
    let id = established(&mut rxb).await;
    let a_id = only(&a).id;

    // 1. The node ends its session: B remembers it, with its history.
    assert!(a.send(a_id, PeerCommand::Shutdown(None)));
    wait_for(&mut rxb, "down", |e| matches!(e, PeerEvent::Down { .. })).await;
    tokio::time::timeout(Duration::from_secs(2), async {
        while b.counts().live > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    let st = only(&b);
    assert_eq!(st.id, id);
    assert_eq!(st.counters.established, 1);
    assert!(st.last_error.is_some(), "{st:?}");
    assert_eq!(b.counts().remembered, 1);
    // ... and gives it back, under the same id, when it reconnects.
    assert!(a.send(a_id, PeerCommand::Enable));
    assert_eq!(established(&mut rxb).await, id);
    assert_eq!(only(&b).counters.established, 2);

    // 2. B shuts it down: A hears Cease / Administrative Shutdown, B keeps
    // it listed, shut down.
    assert!(b.send(id, PeerCommand::Shutdown(None)));
    let PeerEvent::Down { notification, .. } =
        wait_for(&mut rxa, "A down", |e| matches!(e, PeerEvent::Down { .. })).await
    else {
        unreachable!()
    };
    let n = notification.unwrap();
    assert_eq!((n.code, n.subcode), (6, 2));
    // A tries again (twice: its TCP connections complete, B closes them
    // before any BGP), and B neither starts a session nor forgets it.
    for attempt in ["first", "second"] {
        wait_for(&mut rxa, attempt, |e| {
            matches!(
                e,
                PeerEvent::State {
                    state: State::OpenSent,
                    ..
                }
            )
        })
        .await;
    }
    while let Ok(ev) = rxb.try_recv() {
        assert!(
            !matches!(
                ev,
                PeerEvent::Established { .. } | PeerEvent::Removed { .. }
            ),
            "{ev:?}"
        );
    }
    let st = only(&b);
    assert_eq!(st.id, id);
    assert!(b.is_admin_down(id));
    assert_eq!(b.counts().shut_down, 1);
    assert_eq!(st.counters.established, 2);

    // 3. Enabled: the node is let back in (it dials; a range is passive),
    // under the same id, its history kept.
    assert!(b.send(id, PeerCommand::Enable));
    assert!(!b.is_admin_down(id));
    assert_eq!(established(&mut rxb).await, id);
    let st = only(&b);
    assert_eq!(st.counters.established, 3);
    assert_eq!(b.counts().live, 1);

    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// `rbgpctl --socket SOCKET --json ARGS`: its JSON output (Null when it
/// prints none) and whether it succeeded.
fn rbgpctl(socket: &std::path::Path, args: &[&str]) -> (serde_json::Value, bool) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .arg("--socket")
        .arg(socket)
        .arg("--json")
        .args(args)
        .output()
        .unwrap();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (v, out.status.success())
}

/// `show peers`' entry for `addr`, if listed.
fn listed(socket: &std::path::Path, addr: &str) -> Option<serde_json::Value> {
    let (v, _) = rbgpctl(socket, &["show", "peers"]);
    v["peers"]
        .as_array()?
        .iter()
        .find(|p| p["address"] == addr)
        .cloned()
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..300 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

/// The whole daemon, driven with rbgpctl as an operator would, a node of
/// its range (a neighbor task in this test) dialing it: `peer shutdown`
/// keeps the node listed (admin down) and its reconnects refused, `peer
/// enable` finds it and lets it back, `peer reset` keeps its history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rbgpctl_shutdown_enable_and_reset_of_a_dynamic_peer() {
    init_logs();
    let (pa, pb) = (free_port("127.0.3.1"), free_port("127.0.3.2"));
    let dir = peer_util::scratch("dynamic-ctl");
    let socket = dir.join("ctl.sock");
    let cfg = format!(
        r#"
        [router]
        asn = 65000
        router_id = "10.0.3.2"
        listen = ["127.0.3.2:{pb}"]
        [fib]
        enabled = false
        [control]
        socket = "{}"
        [log]
        level = "info"
        [[neighbor]]
        range = "127.0.3.0/30"
        remote_as = 65100
        "#,
        socket.display()
    );
    let path = dir.join("rbgpd.toml");
    std::fs::write(&path, cfg).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_rbgpd"));
    cmd.arg("--config").arg(&path);
    let _rbgpd = peer_util::spawn("rbgpd", cmd, &dir, "rbgpd.log");
    let node_cfg = config(&format!(
        r#"
        [router]
        asn = 65100
        router_id = "10.0.3.1"
        listen = ["127.0.3.1:{pa}"]
        [[neighbor]]
        address = "127.0.3.2"
        remote_as = 65000
        port = {pb}
        local_address = "127.0.3.1"
        connect_retry = 1
        "#
    ));
    let (tx, mut rx) = mpsc::channel(256);
    let mut node = PeerManager::spawn(&node_cfg, tx);
    let node_addr = "127.0.3.1";
    let up =
        |s: &std::path::Path| listed(s, node_addr).is_some_and(|p| p["state"] == "established");
    until("established", || up(&socket)).await;

    let (_, ok) = rbgpctl(&socket, &["peer", "shutdown", node_addr]);
    assert!(ok);
    wait_for(&mut rx, "node down", |e| {
        matches!(e, PeerEvent::Down { .. })
    })
    .await;
    // The node tries again (its TCP connection completes and is closed
    // before any BGP): it stays listed, admin down, not established.
    wait_for(&mut rx, "a reconnect", |e| {
        matches!(
            e,
            PeerEvent::State {
                state: State::OpenSent,
                ..
            }
        )
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = listed(&socket, node_addr).expect("a shut-down dynamic peer stays listed");
    assert_eq!(p["admin_down"], true, "{p}");
    assert_ne!(p["state"], "established", "{p}");
    let (detail, _) = rbgpctl(&socket, &["show", "peer", node_addr]);
    assert_eq!(detail["peer"]["established_count"], 1, "{detail}");

    let (_, ok) = rbgpctl(&socket, &["peer", "enable", node_addr]);
    assert!(ok, "peer enable must find the shut-down dynamic peer");
    until("established again", || up(&socket)).await;
    let (detail, _) = rbgpctl(&socket, &["show", "peer", node_addr]);
    assert_eq!(detail["peer"]["established_count"], 2, "{detail}");
    assert_eq!(detail["peer"]["summary"]["admin_down"], false, "{detail}");

    let (_, ok) = rbgpctl(&socket, &["peer", "reset", node_addr]);
    assert!(ok);
    // Listed throughout, and its history kept.
    until("established after the reset", || {
        rbgpctl(&socket, &["show", "peer", node_addr]).0["peer"]["established_count"] == 3
    })
    .await;
    assert!(listed(&socket, node_addr).is_some());
    node.shutdown(None).await;
}
