//! Neighbor tasks against a real GoBGP (`gobgpd`, as Cilium embeds it),
//! on loopback: rbgpd's side on 127.0.0.1, gobgpd on 127.0.0.2, distinct
//! ports. gobgpd is configured like a Cilium node: AS 65100, families
//! ipv4-unicast and ipv6-unicast, hold 90 s, keepalive 30 s, graceful
//! restart with the RFC 8538 notification bit.
//!
//! Checks: the session reaches Established with both families and GR
//! negotiated; after our End-of-RIB for both families, a route added with
//! `gobgp global rib add` arrives as an UPDATE; stopping gobgpd (SIGTERM)
//! gives a Down. Skipped, with a message, when gobgpd is not installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "interop_util/gobgpd.rs"]
mod gobgpd;
mod peer_util;

use bgp_proto::{Nlri, Prefix};
use bgpd::peer::{PeerCommand, PeerEvent, PeerManager};
use gobgpd::GobgpdSpeaker;
use peer_util::{end_of_rib, free_port, peer_config, scratch, skip_without, spawn, wait_for};
use std::process::Command;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgpd_session_update_and_down() {
    if skip_without(&["gobgpd", "gobgp"]) {
        return;
    }
    let (our_port, gobgp_port, api_port) = (
        free_port("127.0.0.1"),
        free_port("127.0.0.2"),
        free_port("127.0.0.2"),
    );
    let dir = scratch("gobgp");
    let conf = dir.join("gobgpd.toml");
    let speaker = GobgpdSpeaker {
        addr: "127.0.0.2",
        router_id: "172.18.0.2",
        asn: 65100,
        listen_port: i32::from(gobgp_port),
        rbgpd: ("127.0.0.1", our_port),
        timers: (90, 30, 5),
        gr: true,
    };
    std::fs::write(&conf, speaker.config()).unwrap();
    let api = format!("127.0.0.2:{api_port}");
    let mut cmd = Command::new("gobgpd");
    cmd.arg("-f")
        .arg(&conf)
        .arg("--api-hosts")
        .arg(&api)
        .arg("--pprof-disable")
        .arg("-p");
    let mut gobgpd = spawn("gobgpd", cmd, &dir, "gobgpd.log");

    let config = peer_config(our_port, gobgp_port);
    let (tx, mut rx) = mpsc::channel(256);
    let mut mgr = PeerManager::spawn(&config, tx);

    let PeerEvent::Established { peer, info } =
        wait_for(&mut rx, "Established with gobgpd", 60, |e| {
            matches!(e, PeerEvent::Established { .. })
        })
        .await
    else {
        unreachable!()
    };
    let n = &info.negotiated;
    assert_eq!(n.peer_asn, 65100);
    assert_eq!(n.peer_id.to_string(), "172.18.0.2");
    assert_eq!((n.hold_time, n.keepalive), (90, 30));
    assert!(n.families.contains(&bgp_proto::Family::IPV4_UNICAST));
    assert!(n.families.contains(&bgp_proto::Family::IPV6_UNICAST));
    assert!(n.four_octet_as && n.route_refresh);
    let gr = n.peer_gr.clone().expect("GoBGP announces graceful restart");
    assert_eq!(gr.restart_time, 120);
    assert!(n.gr_notification, "both sides set the N bit");

    // GoBGP with GR holds its routes until our End-of-RIB for every family.
    assert!(mgr.send(peer, PeerCommand::Send(end_of_rib())));

    let out = Command::new("gobgp")
        .args(["-u", "127.0.0.2", "-p", &api_port.to_string()])
        .args(["global", "rib", "-a", "ipv4", "add", "10.241.0.0/24"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gobgp rib add: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let want: Prefix = "10.241.0.0/24".parse().unwrap();
    let ev = wait_for(&mut rx, "UPDATE for 10.241.0.0/24", 30, |e| match e {
        PeerEvent::Update { updates, .. } => updates
            .iter()
            .any(|u| u.nlri().any(|n: Nlri| n.prefix == want)),
        _ => false,
    })
    .await;
    let PeerEvent::Update { updates, .. } = ev else {
        unreachable!()
    };
    let update = updates
        .iter()
        .find(|u| u.nlri().any(|n: Nlri| n.prefix == want))
        .unwrap();
    let attrs = update.attributes();
    println!("UPDATE attributes from gobgpd: {attrs:?}");
    let st = mgr.peers();
    assert!(st[0].counters.updates_in >= 1);
    assert!(st[0].counters.keepalives_in >= 1);

    // Stopping gobgpd ends the session.
    gobgpd.signal(libc::SIGTERM).unwrap();
    let ev = wait_for(&mut rx, "Down after gobgpd stops", 30, |e| {
        matches!(e, PeerEvent::Down { .. })
    })
    .await;
    let PeerEvent::Down {
        reason,
        notification,
        graceful,
        ..
    } = ev
    else {
        unreachable!()
    };
    println!("Down: {reason}, notification {notification:?}, graceful {graceful}");
    // With GR and the N bit negotiated, a Cease other than Hard Reset, or
    // a bare TCP close, keeps the routes (RFC 8538 / RFC 4724).
    let hard = notification.as_ref().is_some_and(|n| n.is_hard_reset());
    assert_eq!(graceful, !hard);
    gobgpd.wait();

    mgr.shutdown(None).await;
    drop(gobgpd);
    let _ = std::fs::remove_dir_all(&dir);
}
