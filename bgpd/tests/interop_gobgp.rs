//! The whole daemon against GoBGP speakers configured as Cilium configures
//! them (IPv4 and IPv6 unicast, hold 90 / keepalive 30, one with graceful
//! restart and one without), each in a network namespace of its own test:
//!
//! - both sides dial at once (a real collision, forced with nftables) and
//!   end with exactly one session each, the one the speaker dialled;
//! - a route from one speaker reaches rbgpd and is re-advertised to the
//!   other (both ways), also IPv6 with an IPv4-mapped next hop;
//! - the GR speaker's routes survive its crash (stale) and are fresh again
//!   once it is back;
//! - wrong AS / unacceptable hold time OPENs get 2/2 / 2/6 and an unknown
//!   address is closed before any BGP, while the sessions stay up;
//! - a frozen speaker (SIGSTOP, hold 9) is dropped at hold-timer expiry
//!   with its routes withdrawn, comes back when thawed, and after a
//!   restart.
//!
//! Skipped (with a message) where gobgpd is missing or namespaces cannot
//! be made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_util;

use interop_util::{
    check_frozen_peer, check_refused_sessions, stays, wait_for, GobgpdSpeaker, Lab, Neighbor, Proc,
    Rbgpctl, RBGPD,
};
use std::time::Duration;

const A: &str = "10.98.0.2";
const B: &str = "10.98.0.3";

/// Prints a `SKIP:` line and returns true when the peer is not installed.
fn gobgp_missing() -> bool {
    testbed::missing(&["gobgpd", "gobgp"])
        .map(testbed::skip)
        .is_some()
}

/// A gobgpd speaker as Cilium runs it: one neighbor (rbgpd), IPv4 and IPv6
/// unicast, the given timers, optionally GR; it listens on `addr`:179 and
/// dials too. Its API is on `addr`:50051 inside the namespace.
fn gobgpd(lab: &Lab, addr: &str, asn: u32, gr: bool, hold: u16, keepalive: u16) -> Proc {
    let cfg = GobgpdSpeaker {
        addr,
        router_id: addr,
        asn,
        listen_port: 179,
        rbgpd: (RBGPD, 179),
        timers: (hold, keepalive, 1),
        gr,
    }
    .config();
    let path = lab.dir.join(format!("gobgpd-{addr}.toml"));
    std::fs::write(&path, cfg).unwrap();
    lab.spawn(
        "gobgpd",
        &[
            "-f",
            path.to_str().unwrap(),
            "--api-hosts",
            &format!("{addr}:50051"),
            "--log-level",
            "info",
        ],
        &format!("gobgpd-{addr}.log"),
    )
}

/// `gobgp -u ADDR ARGS` against the speaker at `addr`.
fn gobgp(lab: &Lab, addr: &str, args: &[&str]) -> String {
    let out = lab
        .ns
        .command("gobgp")
        .args(["-u", addr, "-p", "50051"])
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn announce(lab: &Lab, addr: &str, prefix: &str) {
    let out = gobgp(
        lab,
        addr,
        &[
            "global", "rib", "add", prefix, "nexthop", addr, "-a", "ipv4",
        ],
    );
    assert!(!out.contains("rror"), "gobgp rib add: {out}");
}

fn speaker_has(lab: &Lab, addr: &str, prefix: &str) -> bool {
    gobgp(lab, addr, &["global", "rib", "-a", "ipv4"]).contains(prefix)
}

fn speaker_established(lab: &Lab, addr: &str) -> bool {
    let out = gobgp(lab, addr, &["neighbor", RBGPD, "-j"]);
    serde_json::from_str::<serde_json::Value>(&out).is_ok_and(|v| v["state"]["session_state"] == 6)
}

/// Cilium-like speakers with and without GR: (a) Established, (c) one
/// session each though both sides dial, (b) routes both ways, (g)/(h)
/// refused sessions noticed by nobody else, (f) GR routes survive a crash.
#[test]
fn gobgp_cilium_speakers_collide_exchange_routes_and_survive_gr_restart() {
    if gobgp_missing() {
        return;
    }
    let Some(mut lab) = Lab::new("gobgp-flow") else {
        return;
    };
    // Both sides dial at once.
    let ((_a, mut b), doubled) = lab.start_colliding(
        &[A, B],
        |lab| {
            (
                gobgpd(lab, A, 65100, false, 90, 30),
                gobgpd(lab, B, 65200, true, 90, 30),
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
    lab.check_one_session_each(&[A, B], doubled, 0);
    assert!(speaker_established(&lab, A) && speaker_established(&lab, B));
    let pa = lab.peer(A);
    let caps = pa["capabilities"].to_string();
    assert!(caps.contains("ipv6"), "IPv6 unicast negotiated: {pa}");
    assert_eq!(pa["hold_time"], 90, "{pa}");

    // (b) Routes both ways.
    announce(&lab, A, "10.241.0.0/24");
    announce(&lab, B, "10.242.0.0/24");
    wait_for("rbgpd learns both routes", 15, || {
        lab.has_route_from("10.241.0.0/24", A) && lab.has_route_from("10.242.0.0/24", B)
    });
    let p = &lab.paths("10.241.0.0/24")[0];
    assert_eq!(p["next_hop"], A, "{p}");
    assert_eq!(p["as_path"], serde_json::json!([65100]), "{p}");
    wait_for("each speaker learns the other's route", 15, || {
        speaker_has(&lab, B, "10.241.0.0/24") && speaker_has(&lab, A, "10.242.0.0/24")
    });
    let rib: serde_json::Value =
        serde_json::from_str(&gobgp(&lab, B, &["global", "rib", "-a", "ipv4", "-j"])).unwrap();
    let attrs = rib["10.241.0.0/24"][0]["attrs"].to_string();
    assert!(attrs.contains(RBGPD), "next hop self: {attrs}");
    assert!(
        attrs.contains("65000") && attrs.contains("65100"),
        "{attrs}"
    );

    // IPv6 as Cilium sends it over an IPv4 session: an IPv4-mapped next
    // hop. It reaches rbgpd and is re-advertised to B.
    let out = gobgp(
        &lab,
        A,
        &[
            "global",
            "rib",
            "add",
            "2001:db8:241::/64",
            "nexthop",
            "::ffff:10.98.0.2",
            "-a",
            "ipv6",
        ],
    );
    assert!(!out.contains("rror"), "gobgp rib add: {out}");
    wait_for("rbgpd learns the IPv6 route", 15, || {
        lab.has_route_from("2001:db8:241::/64", A)
    });
    wait_for("B learns the IPv6 route", 15, || {
        gobgp(&lab, B, &["global", "rib", "-a", "ipv6"]).contains("2001:db8:241::/64")
    });
    let v6 = gobgp(&lab, B, &["global", "rib", "-a", "ipv6"]);
    assert!(v6.contains(RBGPD), "next hop self (IPv4-mapped): {v6}");

    // (g), (h) while A and B are up.
    check_refused_sessions(&lab, &[A, B], &[("10.241.0.0/24", A), ("10.242.0.0/24", B)]);

    // (f) B (GR) crashes: its route stays, stale, and A keeps it too.
    b.kill();
    wait_for("B's session down", 10, || !lab.established(B));
    let paths = lab.paths("10.242.0.0/24");
    assert_eq!(paths.len(), 1, "kept across the restart");
    assert_eq!(paths[0]["stale"], true, "{}", paths[0]);
    stays("A keeps B's route while B restarts", 2, || {
        speaker_has(&lab, A, "10.242.0.0/24")
    });
    let _b2 = gobgpd(&lab, B, 65200, true, 90, 30);
    wait_for("B back", 30, || lab.established(B));
    announce(&lab, B, "10.242.0.0/24");
    wait_for("B's route fresh again", 15, || {
        lab.paths("10.242.0.0/24")
            .first()
            .is_some_and(|p| p["stale"] == false && p["peer"] == B)
    });
    assert!(speaker_has(&lab, A, "10.242.0.0/24"));
    assert_eq!(lab.established_count(A), 1, "A untouched");
}

/// (d) A frozen speaker is dropped at hold-timer expiry with its routes
/// withdrawn (also from the other speaker); (e) it comes back when thawed
/// and after a restart.
#[test]
fn gobgp_frozen_speaker_dropped_at_hold_expiry_then_comes_back() {
    if gobgp_missing() {
        return;
    }
    let Some(mut lab) = Lab::new("gobgp-freeze") else {
        return;
    };
    let mut a = gobgpd(&lab, A, 65100, false, 9, 3);
    let _b = gobgpd(&lab, B, 65200, false, 90, 30);
    lab.start_rbgpd(&[
        Neighbor::active(A, 65100).hold(9),
        Neighbor::active(B, 65200),
    ]);
    wait_for("both sessions Established", 30, || {
        lab.established(A) && lab.established(B)
    });
    assert_eq!(lab.peer(A)["hold_time"], 9);
    announce(&lab, A, "10.241.1.0/24");
    wait_for("B learns A's route", 15, || {
        speaker_has(&lab, B, "10.241.1.0/24")
    });

    check_frozen_peer(
        &lab,
        &mut a,
        (A, B),
        "10.241.1.0/24",
        || speaker_has(&lab, B, "10.241.1.0/24"),
        30,
    );

    // Restarted (stopped cleanly, started again), it comes back.
    let before = lab.established_count(A);
    a.stop(Duration::from_secs(10));
    wait_for("A down after SIGTERM", 10, || !lab.established(A));
    wait_for("no GR: route withdrawn", 5, || {
        lab.paths("10.241.1.0/24").is_empty()
    });
    let _a2 = gobgpd(&lab, A, 65100, false, 9, 3);
    wait_for("A back after restart", 30, || lab.established(A));
    assert_eq!(lab.established_count(A), before + 1);
    announce(&lab, A, "10.241.1.0/24");
    wait_for("B learns A's route again", 15, || {
        speaker_has(&lab, B, "10.241.1.0/24")
    });
    assert_eq!(lab.established_count(B), 1, "B untouched");
}
