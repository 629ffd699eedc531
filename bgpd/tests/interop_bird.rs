//! The whole daemon against BIRD 2 (the router rbgpd replaces): two BIRD
//! speakers in a network namespace of their own, joined by a veth pair to
//! rbgpd's (BIRD refuses a next hop that is one of its own addresses),
//! each listening on its address and dialling rbgpd (IPv4 unicast, as the
//! lab's bird.conf):
//!
//! - both sides dial at once (a real collision, forced with nftables) and
//!   end with exactly one session each;
//! - a static route of one BIRD reaches rbgpd and is re-advertised to the
//!   other BIRD (both ways), seen with `birdc show route`;
//! - wrong AS / unacceptable hold time OPENs get 2/2 / 2/6 and an unknown
//!   address is closed before any BGP, while the BIRD sessions stay up;
//! - the routes of a BIRD with `graceful restart on` survive its crash
//!   (stale) and are fresh again once it is back;
//! - a frozen BIRD (SIGSTOP, hold 9) is dropped at hold-timer expiry with
//!   its routes withdrawn, comes back when thawed, and after a restart.
//!
//! BIRD touches no kernel table (no `protocol kernel`). Skipped (with a
//! message) where `bird` is missing or namespaces cannot be made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_util;

use interop_util::{
    check_frozen_peer, check_refused_sessions, stays, wait_for, Lab, Neighbor, Proc, Rbgpctl, RBGPD,
};
use std::time::Duration;

const A: &str = "10.98.0.2";
const B: &str = "10.98.0.3";

/// Prints a `SKIP:` line and returns true when the peer is not installed.
fn bird_missing() -> bool {
    testbed::missing(&["bird", "birdc"])
        .map(testbed::skip)
        .is_some()
}

/// A BIRD speaker at `addr` announcing `prefix` (a static blackhole),
/// with short connect and error-wait timers so that tests are quick.
fn bird(lab: &Lab, addr: &str, asn: u32, prefix: &str, hold: u16, gr: bool) -> Proc {
    let keepalive = hold / 3;
    // BIRD's default is "aware": the capability, but no family kept.
    let gr = if gr { "graceful restart on;" } else { "" };
    let cfg = format!(
        r#"
log stderr all;
router id {addr};
protocol device {{ }}
protocol static announced {{
    ipv4;
    route {prefix} blackhole;
}}
protocol bgp rbgpd {{
    local {addr} port 179 as {asn};
    neighbor {RBGPD} port 179 as 65000;
    strict bind yes;
    debug {{ states, events }};
    hold time {hold};
    keepalive time {keepalive};
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    {gr}
    ipv4 {{
        import all;
        export where proto = "announced";
        next hop self;
    }};
}}
"#
    );
    let path = lab.dir.join(format!("bird-{addr}.conf"));
    std::fs::write(&path, cfg).unwrap();
    lab.spawn_peer(
        "bird",
        &[
            "-f",
            "-c",
            path.to_str().unwrap(),
            "-s",
            ctl_socket(lab, addr).to_str().unwrap(),
            "-P",
            lab.dir.join(format!("bird-{addr}.pid")).to_str().unwrap(),
        ],
        &format!("bird-{addr}.log"),
    )
}

fn ctl_socket(lab: &Lab, addr: &str) -> std::path::PathBuf {
    lab.dir.join(format!("bird-{addr}.ctl"))
}

/// `birdc -s SOCKET ARGS` for the BIRD at `addr`.
fn birdc(lab: &Lab, addr: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("birdc")
        .arg("-s")
        .arg(ctl_socket(lab, addr))
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Whether the BIRD at `addr` has `prefix` from rbgpd in its table.
fn bird_has(lab: &Lab, addr: &str, prefix: &str) -> bool {
    let out = birdc(
        lab,
        addr,
        &["show", "route", "for", prefix, "protocol", "rbgpd"],
    );
    out.lines()
        .any(|l| l.starts_with(prefix) && !l.contains("unreachable"))
}

fn bird_established(lab: &Lab, addr: &str) -> bool {
    birdc(lab, addr, &["show", "protocols", "rbgpd"]).contains("Established")
}

/// (a) Established, (c) one session each though both sides dial,
/// (b) routes both ways, (g)/(h) refused sessions noticed by nobody else,
/// (f) the routes of a BIRD with graceful restart survive its crash.
#[test]
fn bird_speakers_collide_exchange_routes_and_survive_gr_restart() {
    if bird_missing() {
        return;
    }
    let Some(mut lab) = Lab::new_split("bird-flow") else {
        return;
    };
    // Both sides dial at once.
    let ((_a, mut b), doubled) = lab.start_colliding(
        &[A, B],
        |lab| {
            (
                bird(lab, A, 65100, "10.241.2.0/24", 90, false),
                bird(lab, B, 65200, "10.242.2.0/24", 90, true),
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
    // until TCP retransmits it, which may be after BIRD's own connection
    // is Established; BIRD then reads that OPEN as its neighbor having
    // restarted ("Neighbor graceful restart detected", RFC 4724) and
    // closes the session once: it comes back at once.
    lab.check_one_session_each(&[A, B], doubled, 1);
    assert!(bird_established(&lab, A) && bird_established(&lab, B));

    wait_for("rbgpd learns both routes", 15, || {
        lab.has_route_from("10.241.2.0/24", A) && lab.has_route_from("10.242.2.0/24", B)
    });
    let p = &lab.paths("10.241.2.0/24")[0];
    assert_eq!(p["next_hop"], A, "{p}");
    assert_eq!(p["as_path"], serde_json::json!([65100]), "{p}");
    wait_for("each BIRD learns the other's route", 15, || {
        bird_has(&lab, B, "10.241.2.0/24") && bird_has(&lab, A, "10.242.2.0/24")
    });
    let all = birdc(&lab, B, &["show", "route", "for", "10.241.2.0/24", "all"]);
    assert!(all.contains(&format!("BGP.next_hop: {RBGPD}")), "{all}");
    assert!(all.contains("BGP.as_path: 65000 65100"), "{all}");
    // Not reflected to its source.
    let back = birdc(
        &lab,
        A,
        &["show", "route", "for", "10.241.2.0/24", "protocol", "rbgpd"],
    );
    assert!(!back.contains("10.241.2.0/24"), "reflected: {back}");

    check_refused_sessions(&lab, &[A, B], &[("10.241.2.0/24", A), ("10.242.2.0/24", B)]);
    assert!(bird_has(&lab, A, "10.242.2.0/24"));
    let count_a = lab.established_count(A);

    // B (graceful restart on) crashes: its route stays, stale.
    b.kill();
    wait_for("B's session down", 10, || !lab.established(B));
    let paths = lab.paths("10.242.2.0/24");
    assert_eq!(paths.len(), 1, "kept across the restart");
    assert_eq!(paths[0]["stale"], true, "{}", paths[0]);
    stays("A keeps B's route while B restarts", 2, || {
        bird_has(&lab, A, "10.242.2.0/24")
    });
    let _b2 = bird(&lab, B, 65200, "10.242.2.0/24", 90, true);
    wait_for("B back", 30, || lab.established(B));
    wait_for("B's route fresh again", 20, || {
        lab.paths("10.242.2.0/24")
            .first()
            .is_some_and(|p| p["stale"] == false && p["peer"] == B)
    });
    assert!(bird_has(&lab, A, "10.242.2.0/24"));
    assert_eq!(lab.established_count(A), count_a, "A untouched");
}

/// (d) A frozen BIRD is dropped at hold-timer expiry with its routes
/// withdrawn (also from the other BIRD); (e) it comes back when thawed and
/// after a restart.
#[test]
fn bird_frozen_speaker_dropped_at_hold_expiry_then_comes_back() {
    if bird_missing() {
        return;
    }
    let Some(mut lab) = Lab::new_split("bird-freeze") else {
        return;
    };
    let mut a = bird(&lab, A, 65100, "10.241.3.0/24", 9, false);
    let _b = bird(&lab, B, 65200, "10.242.3.0/24", 90, false);
    lab.start_rbgpd(&[
        Neighbor::active(A, 65100).hold(9),
        Neighbor::active(B, 65200),
    ]);
    wait_for("both sessions Established", 30, || {
        lab.established(A) && lab.established(B)
    });
    assert_eq!(lab.peer(A)["hold_time"], 9);
    wait_for("B learns A's route", 15, || {
        bird_has(&lab, B, "10.241.3.0/24")
    });

    check_frozen_peer(
        &lab,
        &mut a,
        (A, B),
        "10.241.3.0/24",
        || bird_has(&lab, B, "10.241.3.0/24"),
        30,
    );

    let before = lab.established_count(A);
    a.stop(Duration::from_secs(10));
    wait_for("A down after SIGTERM", 10, || !lab.established(A));
    wait_for("route withdrawn", 5, || {
        lab.paths("10.241.3.0/24").is_empty()
    });
    let _a2 = bird(&lab, A, 65100, "10.241.3.0/24", 9, false);
    wait_for("A back after restart", 30, || lab.established(A));
    assert_eq!(lab.established_count(A), before + 1);
    wait_for("B learns A's route again", 15, || {
        bird_has(&lab, B, "10.241.3.0/24")
    });
    assert_eq!(lab.established_count(B), 1, "B untouched");
}
