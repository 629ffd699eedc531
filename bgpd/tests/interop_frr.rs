//! The whole daemon against FRR's bgpd (run without zebra: `-Z -n`, with
//! `no bgp ebgp-requires-policy`), two FRR speakers in a network namespace
//! of the test's own, each listening on its address and dialling rbgpd,
//! IPv4 and IPv6 unicast:
//!
//! - both sides dial at once (a real collision, forced with nftables) and
//!   end with exactly one session each;
//! - a `network` of one FRR reaches rbgpd and is re-advertised to the
//!   other FRR (both ways), seen with `vtysh -c 'show bgp ipv4 unicast
//!   json'`;
//! - wrong AS / unacceptable hold time OPENs get 2/2 / 2/6 and an unknown
//!   address is closed before any BGP, while the FRR sessions stay up;
//! - the routes of an FRR with `bgp graceful-restart` survive its crash
//!   (stale) and are fresh again once it is back;
//! - a frozen FRR (SIGSTOP, hold 9, GR off) is dropped at hold-timer
//!   expiry with its routes withdrawn, comes back when thawed, and after a
//!   restart.
//!
//! Skipped (with a message) where FRR's bgpd or vtysh is missing or
//! namespaces cannot be made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_util;

use interop_util::{
    check_frozen_peer, check_refused_sessions, stays, wait_for, Lab, Neighbor, Proc, Rbgpctl, RBGPD,
};
use serde_json::Value;
use std::path::PathBuf;
use std::time::Duration;

const FRR_BGPD: &str = "/usr/lib/frr/bgpd";
const A: &str = "10.98.0.2";
const B: &str = "10.98.0.3";

/// Prints a `SKIP:` line and returns true when the peer is not installed.
fn frr_missing() -> bool {
    testbed::missing(&[FRR_BGPD, "vtysh"])
        .map(testbed::skip)
        .is_some()
}

/// How an FRR speaker handles graceful restart.
#[derive(Clone, Copy)]
enum Gr {
    /// FRR's default: helper only.
    Helper,
    /// `bgp graceful-restart`: restarting speaker too.
    Full,
    /// `bgp graceful-restart-disable`: no GR capability.
    Off,
}

fn vty_dir(lab: &Lab, addr: &str) -> PathBuf {
    lab.dir.join(format!("frr-{addr}"))
}

/// An FRR bgpd at `addr` with `network prefix`, the given hold time
/// (keepalive a third of it) and GR mode, connect retry 1 s.
fn frr(lab: &Lab, addr: &str, asn: u32, prefix: &str, hold: u16, gr: Gr) -> Proc {
    let gr = match gr {
        Gr::Helper => "",
        Gr::Full => " bgp graceful-restart\n",
        Gr::Off => " bgp graceful-restart-disable\n",
    };
    let keepalive = hold / 3;
    let cfg = format!(
        r#"frr defaults traditional
hostname frr-{addr}
log stdout informational
!
router bgp {asn}
 bgp router-id {addr}
 no bgp ebgp-requires-policy
 no bgp network import-check
{gr} neighbor {RBGPD} remote-as 65000
 neighbor {RBGPD} update-source {addr}
 neighbor {RBGPD} disable-connected-check
 neighbor {RBGPD} timers {keepalive} {hold}
 neighbor {RBGPD} timers connect 1
 !
 address-family ipv4 unicast
  network {prefix}
 exit-address-family
 !
 address-family ipv6 unicast
  neighbor {RBGPD} activate
 exit-address-family
!
"#
    );
    let vty = vty_dir(lab, addr);
    std::fs::create_dir_all(&vty).unwrap();
    let conf = lab.dir.join(format!("frr-{addr}.conf"));
    std::fs::write(&conf, cfg).unwrap();
    lab.spawn(
        FRR_BGPD,
        &[
            "-f",
            conf.to_str().unwrap(),
            "-i",
            vty.join("bgpd.pid").to_str().unwrap(),
            "--vty_socket",
            vty.to_str().unwrap(),
            "-S",
            "-Z",
            "-n",
            "-l",
            addr,
            "-p",
            "179",
            "-P",
            "0",
        ],
        &format!("frr-{addr}.log"),
    )
}

/// `vtysh --vty_socket DIR -d bgpd -c CMD` for the FRR at `addr`.
fn vtysh(lab: &Lab, addr: &str, cmd: &str) -> String {
    let out = lab
        .ns
        .command("vtysh")
        .arg("--vty_socket")
        .arg(vty_dir(lab, addr))
        .args(["-d", "bgpd", "-c", cmd])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The FRR at `addr`'s paths for `prefix` (IPv4 unicast RIB, JSON).
fn frr_paths(lab: &Lab, addr: &str, prefix: &str) -> Vec<Value> {
    let out = vtysh(lab, addr, "show bgp ipv4 unicast json");
    serde_json::from_str::<Value>(&out)
        .ok()
        .and_then(|v| v["routes"][prefix].as_array().cloned())
        .unwrap_or_default()
}

/// Whether the FRR at `addr` holds a valid path for `prefix` from rbgpd.
fn frr_has(lab: &Lab, addr: &str, prefix: &str) -> bool {
    frr_paths(lab, addr, prefix)
        .iter()
        .any(|p| p["valid"] == true && p["peerId"] == RBGPD)
}

fn frr_established(lab: &Lab, addr: &str) -> bool {
    let out = vtysh(lab, addr, &format!("show bgp neighbors {RBGPD} json"));
    serde_json::from_str::<Value>(&out).is_ok_and(|v| v[RBGPD]["bgpState"] == "Established")
}

/// (a) Established, (c) one session each though both sides dial,
/// (b) routes both ways, (g)/(h) refused sessions noticed by nobody else,
/// (f) the routes of an FRR with `bgp graceful-restart` survive its crash.
#[test]
fn frr_speakers_collide_exchange_routes_and_survive_gr_restart() {
    if frr_missing() {
        return;
    }
    let Some(mut lab) = Lab::new("frr-flow") else {
        return;
    };
    // Both sides dial at once.
    let ((_a, mut b), doubled) = lab.start_colliding(
        &[A, B],
        |lab| {
            (
                frr(lab, A, 65100, "10.241.4.0/24", 90, Gr::Helper),
                frr(lab, B, 65200, "10.242.4.0/24", 90, Gr::Full),
            )
        },
        &[
            Neighbor::active(A, 65100),
            Neighbor::active(B, 65200),
            Neighbor::passive("10.98.0.4", 65300),
            Neighbor::passive("10.98.0.5", 65301),
            Neighbor::passive("10.98.0.6", 65302),
        ],
    );
    wait_for("both sessions Established", 30, || {
        lab.established(A) && lab.established(B)
    });
    // (c) Exactly one session with each, the one the peer dialled.
    // The test holds rbgpd's OPEN on the connection rbgpd dialled back
    // until TCP retransmits it. FRR 8.4 resolves the collision too (Cease
    // on that connection), then still processes that OPEN after rbgpd has
    // closed the connection (an RST: FRR's second Cease was unread):
    // `bgp_getsockname() failed ... BGP OPEN receipt failed`, and FRR
    // closes the surviving session too, once; it comes back at once.
    lab.check_one_session_each(&[A, B], doubled, 1);
    let count_a = lab.established_count(A);
    assert!(frr_established(&lab, A) && frr_established(&lab, B));
    let pa = lab.peer(A);
    assert!(pa["capabilities"].to_string().contains("ipv6"), "{pa}");

    wait_for("rbgpd learns both routes", 15, || {
        lab.has_route_from("10.241.4.0/24", A) && lab.has_route_from("10.242.4.0/24", B)
    });
    let p = &lab.paths("10.241.4.0/24")[0];
    assert_eq!(p["next_hop"], A, "{p}");
    assert_eq!(p["as_path"], serde_json::json!([65100]), "{p}");
    wait_for("each FRR learns the other's route", 15, || {
        frr_has(&lab, B, "10.241.4.0/24") && frr_has(&lab, A, "10.242.4.0/24")
    });
    let path = &frr_paths(&lab, B, "10.241.4.0/24")[0];
    assert_eq!(path["path"], "65000 65100", "{path}");
    assert_eq!(path["nexthops"][0]["ip"], RBGPD, "{path}");

    check_refused_sessions(&lab, &[A, B], &[("10.241.4.0/24", A), ("10.242.4.0/24", B)]);
    assert!(frr_has(&lab, A, "10.242.4.0/24"));

    // (f) B (graceful restart) crashes: its route stays, stale.
    b.kill();
    wait_for("B's session down", 10, || !lab.established(B));
    let paths = lab.paths("10.242.4.0/24");
    assert_eq!(paths.len(), 1, "kept across the restart");
    assert_eq!(paths[0]["stale"], true, "{}", paths[0]);
    stays("A keeps B's route while B restarts", 2, || {
        frr_has(&lab, A, "10.242.4.0/24")
    });
    let _b2 = frr(&lab, B, 65200, "10.242.4.0/24", 90, Gr::Full);
    wait_for("B back", 30, || lab.established(B));
    wait_for("B's route fresh again", 20, || {
        lab.paths("10.242.4.0/24")
            .first()
            .is_some_and(|p| p["stale"] == false && p["peer"] == B)
    });
    assert!(frr_has(&lab, A, "10.242.4.0/24"));
    assert_eq!(lab.established_count(A), count_a, "A untouched");
}

/// (d) A frozen FRR is dropped at hold-timer expiry with its routes
/// withdrawn (also from the other FRR); (e) it comes back when thawed and
/// after a restart.
#[test]
fn frr_frozen_speaker_dropped_at_hold_expiry_then_comes_back() {
    if frr_missing() {
        return;
    }
    let Some(mut lab) = Lab::new("frr-freeze") else {
        return;
    };
    // GR off: with RFC 8538 a hold timer expiry keeps the routes (stale).
    let mut a = frr(&lab, A, 65100, "10.241.5.0/24", 9, Gr::Off);
    let _b = frr(&lab, B, 65200, "10.242.5.0/24", 90, Gr::Helper);
    lab.start_rbgpd(&[
        Neighbor::active(A, 65100).hold(9),
        Neighbor::active(B, 65200),
    ]);
    wait_for("both sessions Established", 30, || {
        lab.established(A) && lab.established(B)
    });
    assert_eq!(lab.peer(A)["hold_time"], 9);
    wait_for("B learns A's route", 15, || {
        frr_has(&lab, B, "10.241.5.0/24")
    });

    check_frozen_peer(
        &lab,
        &mut a,
        (A, B),
        "10.241.5.0/24",
        || frr_has(&lab, B, "10.241.5.0/24"),
        40,
    );

    let before = lab.established_count(A);
    a.stop(Duration::from_secs(10));
    wait_for("A down after SIGTERM", 10, || !lab.established(A));
    wait_for("route withdrawn", 5, || {
        lab.paths("10.241.5.0/24").is_empty()
    });
    let _a2 = frr(&lab, A, 65100, "10.241.5.0/24", 9, Gr::Off);
    wait_for("A back after restart", 40, || lab.established(A));
    assert_eq!(lab.established_count(A), before + 1);
    wait_for("B learns A's route again", 15, || {
        frr_has(&lab, B, "10.241.5.0/24")
    });
    assert_eq!(lab.established_count(B), 1, "B untouched");
}
