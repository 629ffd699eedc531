//! The whole daemon against BIRD 2 (the router rbgpd replaces), two BIRD
//! speakers in a network namespace of the test's own, each listening on
//! its address and dialling rbgpd (IPv4 unicast, as the lab's bird.conf):
//!
//! - both sides dial at once and end with exactly one session each;
//! - a static route of one BIRD reaches rbgpd and is re-advertised to the
//!   other BIRD (both ways), seen with `birdc show route`;
//! - wrong AS / unacceptable hold time OPENs get 2/2 / 2/6 and an unknown
//!   address is closed before any BGP, while the BIRD sessions stay up;
//! - a frozen BIRD (SIGSTOP, hold 9) is dropped at hold-timer expiry with
//!   its routes withdrawn, comes back when thawed, and after a restart.
//!
//! BIRD touches no kernel table (no `protocol kernel`). Skipped (with a
//! message) where `bird` is missing or namespaces cannot be made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_util;

use interop_util::{check_refused_sessions, have, stays, wait_for, Lab, Neighbor, Proc, RBGPD};
use std::time::{Duration, Instant};

const A: &str = "10.98.0.2";
const B: &str = "10.98.0.3";

fn bird_missing() -> bool {
    if have("bird") && have("birdc") {
        return false;
    }
    println!("SKIPPED: bird/birdc not installed");
    true
}

/// A BIRD speaker at `addr` announcing `prefix` (a static blackhole),
/// with short connect and error-wait timers so that tests are quick.
fn bird(lab: &Lab, addr: &str, asn: u32, prefix: &str, hold: u16) -> Proc {
    let keepalive = hold / 3;
    let cfg = format!(
        r#"
log stderr all;
router id {addr};
protocol device {{ }}
# Next hops of routes from rbgpd resolve through this (BIRD checks them).
protocol static nexthops {{
    ipv4;
    route 10.98.0.0/24 via "lo";
}}
protocol static announced {{
    ipv4;
    route {prefix} blackhole;
}}
protocol bgp rbgpd {{
    local {addr} port 179 as {asn};
    neighbor {RBGPD} port 179 as 65000;
    strict bind yes;
    debug {{ states, events }};
    multihop;
    hold time {hold};
    keepalive time {keepalive};
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
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
    lab.spawn(
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
/// (b) routes both ways, (g)/(h) refused sessions noticed by nobody else.
#[test]
fn bird_speakers_collide_and_exchange_routes() {
    if bird_missing() {
        return;
    }
    let Some(mut lab) = Lab::new("bird-flow") else {
        return;
    };
    // Both sides dial at once.
    let ((_a, _b), doubled) = lab.start_colliding(
        &[A, B],
        |lab| {
            (
                bird(lab, A, 65100, "10.241.2.0/24", 90),
                bird(lab, B, 65200, "10.242.2.0/24", 90),
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
    assert!(bird_established(&lab, A) && bird_established(&lab, B));

    wait_for("rbgpd learns both routes", 15, || {
        lab.has_route_from("10.241.2.0/24", A) && lab.has_route_from("10.242.2.0/24", B)
    });
    let p = &lab.paths("10.241.2.0/24")[0];
    assert_eq!(p["next_hop"], A, "{p}");
    assert_eq!(p["as_path"], "65100", "{p}");
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
}

/// (d) A frozen BIRD is dropped at hold-timer expiry with its routes
/// withdrawn (also from the other BIRD); (e) it comes back when thawed and
/// after a restart.
#[test]
fn bird_frozen_speaker_dropped_at_hold_expiry_then_comes_back() {
    if bird_missing() {
        return;
    }
    let Some(mut lab) = Lab::new("bird-freeze") else {
        return;
    };
    let mut a = bird(&lab, A, 65100, "10.241.3.0/24", 9);
    let _b = bird(&lab, B, 65200, "10.242.3.0/24", 90);
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

    a.freeze();
    let frozen = Instant::now();
    wait_for("A dropped", 15, || !lab.established(A));
    let took = frozen.elapsed();
    assert!(
        took >= Duration::from_secs(5),
        "dropped after {took:?}, before the hold time"
    );
    let pa = lab.peer(A);
    let why = format!("{} {}", pa["last_notification_sent"], pa["last_error"]).to_lowercase();
    assert!(why.contains("hold"), "hold timer expiry: {pa}");
    wait_for("A's route withdrawn", 5, || {
        lab.paths("10.241.3.0/24").is_empty()
    });
    wait_for("and withdrawn from B", 10, || {
        !bird_has(&lab, B, "10.241.3.0/24")
    });
    assert!(lab.established(B));

    a.thaw();
    wait_for("A back after thaw", 30, || lab.established(A));
    wait_for("A's route again", 15, || {
        lab.has_route_from("10.241.3.0/24", A)
    });

    let before = lab.established_count(A);
    a.terminate();
    wait_for("A down after SIGTERM", 10, || !lab.established(A));
    wait_for("route withdrawn", 5, || {
        lab.paths("10.241.3.0/24").is_empty()
    });
    let _a2 = bird(&lab, A, 65100, "10.241.3.0/24", 9);
    wait_for("A back after restart", 30, || lab.established(A));
    assert_eq!(lab.established_count(A), before + 1);
    wait_for("B learns A's route again", 15, || {
        bird_has(&lab, B, "10.241.3.0/24")
    });
    assert_eq!(lab.established_count(B), 1, "B untouched");
}
