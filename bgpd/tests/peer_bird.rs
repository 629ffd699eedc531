//! Neighbor tasks against a real BIRD 2 on loopback (rbgpd's side on
//! 127.0.0.1, BIRD on 127.0.0.2, distinct ports; no kernel protocol, so
//! BIRD touches no routing table). BIRD offers IPv4 unicast only here.
//!
//! Checks: Established with the intersection of families; BIRD's static
//! route arrives as an UPDATE; stopping BIRD (SIGTERM, Cease) gives a
//! Down that is not graceful: BIRD 2.0.12 has no RFC 8538 N bit, so a
//! NOTIFICATION ends graceful restart. Skipped when `bird` is absent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peer_util;

use bgp_proto::{Family, Nlri, Prefix};
use bgpd::peer::{PeerCommand, PeerEvent, PeerManager};
use peer_util::{
    end_of_rib, free_port, init_logs, peer_config, scratch, skip_without, spawn, wait_for,
};
use std::process::Command;
use tokio::sync::mpsc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_session_update_and_down() {
    if skip_without(&["bird"]) {
        return;
    }
    init_logs();
    let (ours, theirs) = (free_port("127.0.0.1"), free_port("127.0.0.2"));
    let dir = scratch("bird");
    let conf = dir.join("bird.conf");
    std::fs::write(
        &conf,
        format!(
            r#"
router id 172.18.0.3;
protocol device {{ }}
protocol static s4 {{
    ipv4;
    route 10.241.2.0/24 blackhole;
}}
protocol bgp rbgpd {{
    local 127.0.0.2 port {theirs} as 65100;
    neighbor 127.0.0.1 port {ours} as 65000;
    multihop;
    hold time 90;
    ipv4 {{ import all; export all; next hop self; }};
}}
"#
        ),
    )
    .unwrap();
    let mut cmd = Command::new("bird");
    cmd.arg("-f")
        .arg("-c")
        .arg(&conf)
        .arg("-s")
        .arg(dir.join("bird.ctl"))
        .arg("-P")
        .arg(dir.join("bird.pid"));
    let bird = spawn("bird", cmd, &dir, "bird.log");

    let config = peer_config(ours, theirs);
    let (tx, mut rx) = mpsc::channel(256);
    let mut mgr = PeerManager::spawn(&config, tx);

    let ev = wait_for(&mut rx, "Established with BIRD", 60, |e| {
        matches!(e, PeerEvent::Established { .. })
    })
    .await;
    let PeerEvent::Established { peer, info } = ev else {
        unreachable!()
    };
    let n = &info.negotiated;
    println!("negotiated with BIRD: {n:?}");
    assert_eq!(n.peer_asn, 65100);
    assert_eq!(n.peer_id.to_string(), "172.18.0.3");
    assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
    assert!(n.four_octet_as && n.route_refresh && n.enhanced_rr);
    assert!(!n.gr_notification, "BIRD 2.0.12 has no RFC 8538");
    assert!(mgr.send(peer, PeerCommand::Send(end_of_rib()[..1].to_vec())));

    let want: Prefix = "10.241.2.0/24".parse().unwrap();
    wait_for(&mut rx, "UPDATE for 10.241.2.0/24", 30, |e| match e {
        PeerEvent::Update { updates, .. } => updates
            .iter()
            .any(|u| u.nlri().any(|n: Nlri| n.prefix == want)),
        _ => false,
    })
    .await;

    bird.signal(libc::SIGTERM).unwrap();
    let ev = wait_for(&mut rx, "Down after BIRD stops", 30, |e| {
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
    println!("Down: {reason}, graceful {graceful}");
    let n = notification.expect("BIRD sends a Cease when stopping");
    assert_eq!(n.code, 6);
    assert!(!graceful);

    mgr.shutdown(None).await;
    drop(bird);
    let _ = std::fs::remove_dir_all(&dir);
}
