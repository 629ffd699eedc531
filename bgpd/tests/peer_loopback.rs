//! Neighbor tasks against each other on loopback: two `PeerManager`s that
//! both dial (RFC 4271 6.8 collision), UPDATE delivery, shutdown with GR
//! (RFC 4724 / RFC 8538) decisions, dynamic neighbors from a range, and
//! refusal of unknown sources.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peer_util;

use bgp_proto::fsm::State;
use bgp_proto::{Nlri, Prefix};
use bgpd::config::Config;
use bgpd::peer::{PeerCommand, PeerEvent, PeerManager, UPDATE_BURST};
use bytes::Bytes;
use peer_util::{free_port, init_logs};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

fn config(text: &str) -> Config {
    toml::from_str(text).unwrap()
}

/// [`peer_util::wait_for`] with 30 s.
async fn wait_for(
    rx: &mut mpsc::Receiver<PeerEvent>,
    what: &str,
    pred: impl Fn(&PeerEvent) -> bool,
) -> PeerEvent {
    peer_util::wait_for(rx, what, 30, pred).await
}

fn is_established(ev: &PeerEvent) -> bool {
    matches!(ev, PeerEvent::Established { .. })
}

/// An UPDATE announcing 10.241.0.0/24 via 127.0.0.1 (ORIGIN IGP, empty
/// AS_PATH), encoded by hand.
fn update_bytes() -> Bytes {
    let attrs: &[u8] = &[
        0x40, 1, 1, 0, // ORIGIN IGP
        0x40, 2, 0, // AS_PATH empty
        0x40, 3, 4, 127, 0, 0, 1, // NEXT_HOP
    ];
    let nlri: &[u8] = &[24, 10, 241, 0];
    let mut body = vec![0, 0];
    body.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
    body.extend_from_slice(attrs);
    body.extend_from_slice(nlri);
    let mut msg = vec![0xff; 16];
    msg.extend_from_slice(&((19 + body.len()) as u16).to_be_bytes());
    msg.push(2);
    msg.extend_from_slice(&body);
    Bytes::from(msg)
}

/// Configs of A (127.0.0.1, AS 65000, its neighbor entry with `a_extra`)
/// and B (127.0.0.2, AS 65100), each dialling the other.
fn dialling_pair(a_extra: &str) -> (Config, Config) {
    let (pa, pb) = (free_port("127.0.0.1"), free_port("127.0.0.2"));
    let side =
        |asn: u32, me: &str, port: u16, peer_asn: u32, peer: &str, peer_port: u16, extra: &str| {
            config(&format!(
                "[router]\nasn = {asn}\nrouter_id = \"10.0.0.{id}\"\nlisten = [\"{me}:{port}\"]\n\
             [[neighbor]]\naddress = \"{peer}\"\nremote_as = {peer_asn}\nport = {peer_port}\n\
             local_address = \"{me}\"\nconnect_retry = 1\n{extra}\n",
                id = if asn == 65000 { 1 } else { 2 },
            ))
        };
    (
        side(65000, "127.0.0.1", pa, 65100, "127.0.0.2", pb, a_extra),
        side(65100, "127.0.0.2", pb, 65000, "127.0.0.1", pa, ""),
    )
}

#[tokio::test]
async fn two_managers_collide_establish_exchange_and_go_down() {
    init_logs();
    let (cfg_a, cfg_b) = dialling_pair("hold_time = 9");
    let (txa, mut rxa) = mpsc::channel(64);
    let (txb, mut rxb) = mpsc::channel(64);
    let mut a = PeerManager::spawn(&cfg_a, txa);
    let mut b = PeerManager::spawn(&cfg_b, txb);

    let PeerEvent::Established { peer: pa_id, info } =
        wait_for(&mut rxa, "A established", is_established).await
    else {
        unreachable!()
    };
    assert_eq!(info.remote_as, 65100);
    assert_eq!(info.negotiated.hold_time, 9);
    assert_eq!(info.negotiated.keepalive, 3);
    assert!(info.negotiated.peer_gr.is_some() && info.negotiated.gr_notification);
    assert_eq!(info.local.ip().to_string(), "127.0.0.1");
    let PeerEvent::Established { peer: pb_id, .. } =
        wait_for(&mut rxb, "B established", is_established).await
    else {
        unreachable!()
    };

    let st = a.peers();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0].state, State::Established);
    assert!(st[0].counters.opens_in >= 1 && st[0].counters.keepalives_in >= 1);
    assert!(st[0].uptime.is_some());

    // An UPDATE from A reaches B's core.
    assert!(a.send(pa_id, PeerCommand::Send(vec![update_bytes()])));
    let PeerEvent::Update { updates, .. } = wait_for(&mut rxb, "UPDATE", |e| {
        matches!(e, PeerEvent::Update { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(updates.len(), 1);
    let nlri: Vec<Nlri> = updates[0].nlri().collect();
    assert_eq!(nlri.len(), 1);
    assert_eq!(nlri[0].prefix, "10.241.0.0/24".parse::<Prefix>().unwrap());
    assert_eq!(a.peers()[0].counters.updates_out, 1);

    // Keepalives keep it up past the 9 s hold time.
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert_eq!(a.peers()[0].state, State::Established);
    assert_eq!(b.peers()[0].state, State::Established);

    // A shuts the session: B sees a Cease, graceful (GR with N bit, not a
    // Hard Reset); A's own Down is not graceful.
    assert!(a.send(pa_id, PeerCommand::Shutdown(None)));
    let PeerEvent::Down {
        notification,
        graceful,
        ..
    } = wait_for(&mut rxb, "B down", |e| matches!(e, PeerEvent::Down { .. })).await
    else {
        unreachable!()
    };
    let n = notification.unwrap();
    assert_eq!((n.code, n.subcode), (6, 2));
    assert!(graceful);
    let PeerEvent::Down { graceful, .. } =
        wait_for(&mut rxa, "A down", |e| matches!(e, PeerEvent::Down { .. })).await
    else {
        unreachable!()
    };
    assert!(!graceful);
    assert!(a.peers()[0]
        .last_notification
        .as_deref()
        .unwrap()
        .contains("Administrative Shutdown"));

    // And comes back when enabled.
    assert!(a.send(pa_id, PeerCommand::Enable));
    wait_for(&mut rxa, "A re-established", is_established).await;
    wait_for(&mut rxb, "B re-established", is_established).await;

    // UPDATEs reach the core in bursts, and in order with the session's
    // other events: all 40 before the Down that followed them on the wire.
    assert!(a.send(pa_id, PeerCommand::Send(vec![update_bytes(); 40])));
    assert!(a.send(pa_id, PeerCommand::Shutdown(None)));
    let mut received = 0;
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(10), rxb.recv())
            .await
            .expect("B's events")
            .expect("B's queue open");
        match ev {
            PeerEvent::Update { updates, .. } => {
                assert!((1..=UPDATE_BURST).contains(&updates.len()));
                received += updates.len();
            }
            PeerEvent::Down { .. } => break,
            _ => {}
        }
    }
    assert_eq!(received, 40);
    assert!(a.send(pa_id, PeerCommand::Enable));
    wait_for(&mut rxa, "A re-established", is_established).await;
    wait_for(&mut rxb, "B re-established", is_established).await;

    // A Hard Reset is never graceful.
    let hard = bgp_proto::Notification::new(6, 9, []);
    assert!(b.send(pb_id, PeerCommand::Shutdown(Some(hard))));
    let PeerEvent::Down { graceful, .. } = wait_for(&mut rxa, "A down (hard reset)", |e| {
        matches!(e, PeerEvent::Down { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert!(!graceful);

    a.shutdown(None).await;
    b.shutdown(None).await;
}

#[tokio::test]
async fn dynamic_neighbors_come_from_ranges_and_strangers_are_refused() {
    init_logs();
    let (pa, pb) = (free_port("127.0.0.1"), free_port("127.0.1.2"));
    let cfg_b = config(&format!(
        r#"
        [router]
        asn = 65000
        router_id = "10.0.1.2"
        listen = ["127.0.1.2:{pb}"]
        [[neighbor]]
        range = "127.0.1.0/30"
        remote_as = 65100
        limit = 1
        remember_time = 0
        "#
    ));
    let cfg_a = config(&format!(
        r#"
        [router]
        asn = 65100
        router_id = "10.0.1.1"
        listen = ["127.0.1.1:{pa}"]
        [[neighbor]]
        address = "127.0.1.2"
        remote_as = 65000
        port = {pb}
        local_address = "127.0.1.1"
        connect_retry = 1
        "#
    ));
    let (txb, mut rxb) = mpsc::channel(64);
    let mut b = PeerManager::spawn(&cfg_b, txb);
    assert_eq!(b.local_addrs().len(), 1);

    // A source outside every range is closed before any BGP.
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind("127.0.1.9:0".parse().unwrap()).unwrap();
    let mut s = sock
        .connect(format!("127.0.1.2:{pb}").parse().unwrap())
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap();
    assert_eq!(n.unwrap_or(0), 0);
    assert!(b.peers().is_empty());

    let (txa, mut rxa) = mpsc::channel(64);
    let mut a = PeerManager::spawn(&cfg_a, txa);
    let PeerEvent::Established { peer: b_peer, info } =
        wait_for(&mut rxb, "dynamic established", is_established).await
    else {
        unreachable!()
    };
    assert!(info.dynamic);
    assert_eq!(info.addr.to_string(), "127.0.1.1");
    let st = b.peers();
    assert_eq!(st.len(), 1);
    assert!(st[0].dynamic);
    let PeerEvent::Established { peer: a_peer, .. } =
        wait_for(&mut rxa, "A established", is_established).await
    else {
        unreachable!()
    };

    // When the session ends, the dynamic neighbor goes away (at once with
    // `remember_time = 0`; peer_dynamic.rs has it remembered).
    assert!(a.send(a_peer, PeerCommand::Shutdown(None)));
    wait_for(&mut rxb, "dynamic down", |e| {
        matches!(e, PeerEvent::Down { .. })
    })
    .await;
    let ev = wait_for(&mut rxb, "dynamic removed", |e| {
        matches!(e, PeerEvent::Removed { .. })
    })
    .await;
    assert!(matches!(ev, PeerEvent::Removed { peer } if peer == b_peer));
    assert!(b.peers().is_empty());

    a.shutdown(None).await;
    b.shutdown(None).await;
}

fn pair_configs(base: u8, pw_a: &str, pw_b: &str) -> (Config, Config) {
    let (ia, ib) = (format!("127.0.{base}.1"), format!("127.0.{base}.2"));
    let (pa, pb) = (free_port(&ia), free_port(&ib));
    let a = config(&format!(
        r#"
        [router]
        asn = 65000
        router_id = "10.0.{base}.1"
        listen = ["{ia}:{pa}"]
        [[neighbor]]
        address = "{ib}"
        remote_as = 65100
        port = {pb}
        local_address = "{ia}"
        connect_retry = 1
        password = "{pw_a}"
        "#
    ));
    let b = config(&format!(
        r#"
        [router]
        asn = 65100
        router_id = "10.0.{base}.2"
        listen = ["{ib}:{pb}"]
        [[neighbor]]
        address = "{ia}"
        remote_as = 65000
        port = {pa}
        local_address = "{ib}"
        connect_retry = 1
        password = "{pw_b}"
        "#
    ));
    (a, b)
}

#[tokio::test]
async fn tcp_md5_protects_the_session() {
    init_logs();
    // Same key: the session comes up over MD5-signed TCP.
    let (cfg_a, cfg_b) = pair_configs(5, "s3cret", "s3cret");
    let (txa, mut rxa) = mpsc::channel(64);
    let (txb, mut rxb) = mpsc::channel(64);
    let mut a = PeerManager::spawn(&cfg_a, txa);
    let mut b = PeerManager::spawn(&cfg_b, txb);
    wait_for(&mut rxa, "A established with MD5", is_established).await;
    wait_for(&mut rxb, "B established with MD5", is_established).await;
    a.shutdown(None).await;
    b.shutdown(None).await;

    // Different keys: the kernel drops the segments, nothing comes up.
    let (cfg_a, cfg_b) = pair_configs(6, "s3cret", "other");
    let (txa, mut rxa) = mpsc::channel(64);
    let (txb, _rxb) = mpsc::channel(64);
    let mut a = PeerManager::spawn(&cfg_a, txa);
    let mut b = PeerManager::spawn(&cfg_b, txb);
    let up = tokio::time::timeout(Duration::from_secs(4), async {
        while let Some(ev) = rxa.recv().await {
            if is_established(&ev)
                || matches!(
                    ev,
                    PeerEvent::State {
                        state: State::OpenSent,
                        ..
                    }
                )
            {
                return true;
            }
        }
        false
    })
    .await;
    assert!(
        !matches!(up, Ok(true)),
        "a session came up with mismatched TCP-MD5 keys"
    );
    a.shutdown(None).await;
    b.shutdown(None).await;
}

#[tokio::test]
async fn reconfigure_removes_and_adds_neighbors() {
    init_logs();
    let (cfg_a, cfg_b) = pair_configs(7, "", "");
    // No password at all (an empty one is still a key).
    let strip = |mut c: Config| {
        c.neighbors[0].password = None;
        c
    };
    let (cfg_a, cfg_b) = (strip(cfg_a), strip(cfg_b));
    let (txa, mut rxa) = mpsc::channel(64);
    let (txb, mut rxb) = mpsc::channel(64);
    let mut a = PeerManager::spawn(&cfg_a, txa);
    let mut b = PeerManager::spawn(&cfg_b, txb);
    wait_for(&mut rxa, "A established", is_established).await;
    wait_for(&mut rxb, "B established", is_established).await;

    // Removing the neighbor from A's config: B hears Peer De-configured.
    let mut empty = cfg_a.clone();
    empty.neighbors.clear();
    a.reconfigure(&empty);
    wait_for(&mut rxa, "A removed", |e| {
        matches!(e, PeerEvent::Removed { .. })
    })
    .await;
    assert!(a.peers().is_empty());
    let PeerEvent::Down { notification, .. } =
        wait_for(&mut rxb, "B down", |e| matches!(e, PeerEvent::Down { .. })).await
    else {
        unreachable!()
    };
    let n = notification.unwrap();
    assert_eq!((n.code, n.subcode), (6, 3));

    // Unchanged config: nothing happens. Adding it back: up again.
    b.reconfigure(&cfg_b);
    a.reconfigure(&cfg_a);
    assert_eq!(a.peers().len(), 1);
    wait_for(&mut rxa, "A re-established", is_established).await;
    wait_for(&mut rxb, "B re-established", is_established).await;
    assert_eq!(b.peers().len(), 1);
    assert_eq!(b.peers()[0].counters.established, 2);
    a.shutdown(None).await;
    b.shutdown(None).await;
}

#[tokio::test]
async fn ipv6_session_with_md5_on_loopback() {
    init_logs();
    let (pa, pb) = (free_port("::1"), free_port("::1"));
    let side = |asn: u32, peer_as: u32, id: &str, listen: u16, port: u16| {
        config(&format!(
            r#"
            [router]
            asn = {asn}
            router_id = "{id}"
            listen = ["[::1]:{listen}"]
            [[neighbor]]
            address = "::1"
            remote_as = {peer_as}
            port = {port}
            connect_retry = 1
            password = "v6key"
            "#
        ))
    };
    let (txa, mut rxa) = mpsc::channel(64);
    let (txb, mut rxb) = mpsc::channel(64);
    let mut a = PeerManager::spawn(&side(65000, 65100, "10.0.8.1", pa, pb), txa);
    let mut b = PeerManager::spawn(&side(65100, 65000, "10.0.8.2", pb, pa), txb);
    let PeerEvent::Established { info, .. } =
        wait_for(&mut rxa, "A established over IPv6", is_established).await
    else {
        unreachable!()
    };
    assert!(info.remote.is_ipv6() && info.local.is_ipv6());
    assert_eq!(info.negotiated.families.len(), 2);
    wait_for(&mut rxb, "B established over IPv6", is_established).await;
    a.shutdown(None).await;
    b.shutdown(None).await;
}

/// BFD strict mode in the neighbor task: the manager reports each
/// connection of a neighbor with `bfd` (the core starts BFD then), and
/// holds its OPEN until told BFD is up; the peer, which has sent its
/// OPEN, is answered then. Here the test plays the core.
#[tokio::test]
async fn strict_bfd_holds_the_open_until_bfd_is_up() {
    init_logs();
    let (cfg_a, cfg_b) = dialling_pair("bfd = true");
    let (txa, mut rxa) = mpsc::channel(64);
    let (txb, mut rxb) = mpsc::channel(64);
    let a = PeerManager::spawn(&cfg_a, txa);
    let b = PeerManager::spawn(&cfg_b, txb);
    let PeerEvent::Connected {
        peer, remote, bfd, ..
    } = wait_for(&mut rxa, "A connected", |e| {
        matches!(e, PeerEvent::Connected { .. })
    })
    .await
    else {
        unreachable!()
    };
    assert_eq!(remote.ip().to_string(), "127.0.0.2");
    assert_eq!((bfd.interval_ms, bfd.multiplier), (300, 3));
    // Three seconds without BFD: A has sent no OPEN, neither side is up
    // (B, having sent its OPEN, waits in OpenSent).
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(a.peers()[0].counters.opens_out, 0);
    assert_ne!(a.peers()[0].state, State::Established);
    assert_ne!(b.peers()[0].state, State::Established);
    while let Ok(ev) = rxa.try_recv() {
        assert!(!is_established(&ev), "{ev:?}");
    }
    // BFD is up: the OPEN goes, the kept OPEN of B is answered.
    assert!(a.send(peer, PeerCommand::Bfd { up: true }));
    wait_for(&mut rxa, "A established", is_established).await;
    wait_for(&mut rxb, "B established", is_established).await;
    assert_eq!(a.peers()[0].counters.opens_out, 1);
}
