//! Neighbor tasks against a real FRR `bgpd` on loopback (no zebra, no
//! kernel routes: `-Z -n`; rbgpd's side on 127.0.0.1, FRR on 127.0.0.2,
//! distinct ports), with IPv4 and IPv6 unicast configured on FRR.
//!
//! Checks: Established with both families; FRR's `network` arrives as an
//! UPDATE; stopping FRR (SIGTERM) gives a Down. Skipped when FRR's bgpd
//! is absent.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod peer_util;

use bgp_proto::{Family, Nlri, Prefix};
use bgpd::peer::{PeerCommand, PeerEvent, PeerManager};
use peer_util::{
    end_of_rib, free_port, init_logs, peer_config, scratch, skip_without, spawn, wait_for,
};
use std::process::Command;
use tokio::sync::mpsc;

const FRR_BGPD: &str = "/usr/lib/frr/bgpd";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_session_update_and_down() {
    if skip_without(&[FRR_BGPD]) {
        return;
    }
    init_logs();
    let (ours, theirs) = (free_port("127.0.0.1"), free_port("127.0.0.2"));
    let dir = scratch("frr");
    let conf = dir.join("bgpd.conf");
    std::fs::write(
        &conf,
        format!(
            r#"
frr defaults traditional
hostname rbgpd-sessions-frr
!
router bgp 65100
 bgp router-id 172.18.0.4
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor 127.0.0.1 remote-as 65000
 neighbor 127.0.0.1 port {ours}
 neighbor 127.0.0.1 update-source 127.0.0.2
 neighbor 127.0.0.1 timers 30 90
 !
 address-family ipv4 unicast
  network 10.241.3.0/24
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor 127.0.0.1 activate
 exit-address-family
!
"#
        ),
    )
    .unwrap();
    let mut cmd = Command::new(FRR_BGPD);
    cmd.arg("-f")
        .arg(&conf)
        .arg("-i")
        .arg(dir.join("bgpd.pid"))
        .arg("--vty_socket")
        .arg(&dir)
        .args([
            "-S",
            "-Z",
            "-n",
            "-l",
            "127.0.0.2",
            "-A",
            "127.0.0.1",
            "-P",
            "0",
        ])
        .arg("-p")
        .arg(theirs.to_string());
    let frr = spawn("frr", cmd, &dir, "bgpd.log");

    let config = peer_config(ours, theirs);
    let (tx, mut rx) = mpsc::channel(256);
    let mut mgr = PeerManager::spawn(&config, tx);

    let ev = wait_for(&mut rx, "Established with FRR", 60, |e| {
        matches!(e, PeerEvent::Established { .. })
    })
    .await;
    let PeerEvent::Established { peer, info } = ev else {
        unreachable!()
    };
    let n = &info.negotiated;
    println!("negotiated with FRR: {n:?}");
    assert_eq!(n.peer_asn, 65100);
    assert_eq!(n.peer_id.to_string(), "172.18.0.4");
    assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    assert_eq!((n.hold_time, n.keepalive), (90, 30));
    assert!(n.four_octet_as && n.route_refresh);
    assert!(n.peer_gr.is_some() && n.gr_notification);
    assert!(mgr.send(peer, PeerCommand::Send(end_of_rib())));

    let want: Prefix = "10.241.3.0/24".parse().unwrap();
    wait_for(&mut rx, "UPDATE for 10.241.3.0/24", 30, |e| match e {
        PeerEvent::Update { updates, .. } => updates
            .iter()
            .any(|u| u.nlri().any(|n: Nlri| n.prefix == want)),
        _ => false,
    })
    .await;

    frr.signal(libc::SIGTERM).unwrap();
    let ev = wait_for(&mut rx, "Down after FRR stops", 30, |e| {
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
    // GR with the N bit is negotiated with FRR: a bare close or a Cease
    // other than Hard Reset keeps the routes (RFC 4724, RFC 8538).
    assert_eq!(
        graceful,
        !notification.as_ref().is_some_and(|n| n.is_hard_reset())
    );

    mgr.shutdown(None).await;
    drop(frr);
    let _ = std::fs::remove_dir_all(&dir);
}
