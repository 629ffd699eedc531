//! BFD tied to BGP against real speakers: rbgpd (FIB on) joined by veth
//! pairs to FRR (zebra, bgpd, bfdd; `neighbor X bfd profile`) and to
//! BIRD 2 (`protocol bfd`, `bfd on`). Both BFD sessions come up at
//! 300 ms × 3, before BGP (strict mode: rbgpd holds its OPEN); FRR and
//! BIRD then slow their intervals to 600 ms through a poll sequence,
//! without a flap, and so does rbgpd on a reload. Then FRR's namespace drops every packet (nftables:
//! the node is gone without a word) and rbgpd takes FRR's routes out of
//! its kernel on BFD Down, long before the 30 s hold time; BIRD's stay.
//! When FRR's node comes back, BFD and then BGP come up again.
//!
//! Skipped (with a message) where FRR, BIRD, nft or namespaces are
//! missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dual_util;
mod interop_util;

use dual_util::{DualLab, Role, FRR_BFDD, FRR_BGPD, ZEBRA};
use interop_util::{wait_for, Rbgpctl};
use std::time::{Duration, Instant};
use testbed::netns::veth;

const RT_FRR: &str = "10.0.1.1";
const FRR: &str = "10.0.1.2";
const RT_BIRD: &str = "10.0.2.1";
const BIRD: &str = "10.0.2.2";
const FRR_NET: &str = "10.1.1.0/24";
const BIRD_NET: &str = "10.2.2.0/24";

/// FRR with BFD towards rbgpd. FRR learns its BFD session's interface
/// only when BGP is first established and replaces the session then
/// (bgp_peer_bfd_update_source), which in strict mode costs that first
/// BGP session one reset (docs/config.md).
fn frr_config() -> String {
    format!(
        "frr defaults traditional\nhostname bfd-frr\nlog stdout informational\n!\n\
         router bgp 65100\n bgp router-id 10.1.1.1\n no bgp ebgp-requires-policy\n\
         \x20neighbor {RT_FRR} remote-as 65000\n\
         \x20neighbor {RT_FRR} timers connect 1\n\
         \x20neighbor {RT_FRR} bfd\n\
         \x20neighbor {RT_FRR} bfd profile fast\n !\n\
         \x20address-family ipv4 unicast\n  network {FRR_NET}\n exit-address-family\n!\n"
    )
}

/// BIRD's config with BFD at `interval_ms`.
fn bird_config(interval_ms: u32) -> String {
    format!(
        r#"log stderr all;
router id 10.2.2.1;
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol bfd {{
    interface "eth0" {{ interval {interval_ms} ms; multiplier 3; }};
}}
protocol bgp rbgpd {{
    local {BIRD} as 65200;
    neighbor {RT_BIRD} as 65000;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    bfd on;
    ipv4 {{ import all; export where source = RTS_DEVICE; }};
}}
"#
    )
}

/// rbgpd joined by veth pairs to FRR and BIRD, whose `lo` carry the
/// prefixes they announce.
fn wire(lab: &DualLab) -> testbed::Result<()> {
    let (rt, frr, bird) = (lab.ns(Role::Rt), lab.ns(Role::Frr), lab.ns(Role::Bird));
    veth(rt, "to-frr", frr, "eth0")?;
    veth(rt, "to-bird", bird, "eth0")?;
    for (ns, dev, addr) in [
        (rt, "to-frr", RT_FRR),
        (rt, "to-bird", RT_BIRD),
        (frr, "eth0", FRR),
        (bird, "eth0", BIRD),
    ] {
        ns.add_addr(dev, &format!("{addr}/24"))?;
        ns.link_up(dev)?;
    }
    frr.add_addr("lo", "10.1.1.1/24")?;
    bird.add_addr("lo", "10.2.2.1/24")
}

/// Strict mode: rbgpd logged `peer`'s BFD up before its session came up.
fn assert_bfd_before_bgp(lab: &DualLab, peer: &str) {
    let log = lab.log("rbgpd.log");
    let at = |what: &str| {
        log.lines()
            .position(|l| l.contains(what) && l.contains(&format!("peer={peer}")))
    };
    let (bfd_up, established) = (at("BFD up"), at("session established"));
    assert!(
        bfd_up.is_some() && bfd_up < established,
        "{peer}: BFD up at line {bfd_up:?}, BGP established at line {established:?}"
    );
}

/// rbgpd's Prometheus page, fetched inside its namespace.
fn metrics(lab: &DualLab) -> String {
    use std::io::{Read, Write};
    lab.ns(Role::Rt)
        .run(|| -> std::io::Result<String> {
            let mut s = std::net::TcpStream::connect("127.0.0.1:9179")?;
            s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n")?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })
        .unwrap()
        .unwrap_or_default()
}

#[test]
fn a_silent_node_loses_its_routes_on_bfd_down_not_at_hold_time() {
    let roles = [Role::Rt, Role::Frr, Role::Bird];
    let programs = [ZEBRA, FRR_BGPD, FRR_BFDD, "vtysh", "bird", "birdc", "nft"];
    let Some(mut lab) = DualLab::new("bfd", &programs, &roles, wire) else {
        return;
    };
    lab.start_rbgpd_with(&format!(
        "\n[[neighbor]]\naddress = \"{FRR}\"\nremote_as = 65100\nconnect_retry = 1\n\
         hold_time = 30\nbfd = true\n\
         \n[[neighbor]]\naddress = \"{BIRD}\"\nremote_as = 65200\nconnect_retry = 1\n\
         hold_time = 30\nbfd = true\n\
         \n[metrics]\nlisten = \"127.0.0.1:9179\"\n"
    ));
    lab.start_frr(Role::Frr, &frr_config());
    lab.start_frr_bfdd(Role::Frr);
    set_frr_profile(&lab, 300);
    lab.start_bird(Role::Bird, &bird_config(300));
    wait_for("both sessions Established", 30, || {
        lab.established(FRR) && lab.established(BIRD)
    });
    // BFD up on every side: rbgpd logs it, FRR and BIRD show it.
    wait_for("BFD up with FRR and BIRD", 30, || {
        let log = lab.log("rbgpd.log");
        log.matches("BFD up").count() >= 2
            && lab
                .vtysh(Role::Frr, "show bfd peers")
                .contains("Status: up")
    });
    // `show bfd`: both Up at the negotiated 300 ms, detection 900 ms (the
    // snapshot is at most a second old).
    wait_for("show bfd lists both sessions Up", 5, || {
        let sessions = lab.ctl(&["show", "bfd"])["sessions"].clone();
        sessions.as_array().is_some_and(|ss| {
            ss.len() == 2
                && ss.iter().all(|b| {
                    b["state"] == "Up" && b["tx_interval_ms"] == 300 && b["detection_ms"] == 900
                })
        })
    });
    // The metrics follow it.
    assert!(
        metrics(&lab).contains(&format!("rbgpd_bfd_state{{peer=\"{FRR}\"}} 1")),
        "{}",
        metrics(&lab)
    );
    // `show peers` marks the sessions with BFD.
    let text = lab.ctl_text(&["show", "peers"]);
    assert_eq!(text.matches("established (bfd up)").count(), 2, "{text}");
    let bird_bfd = lab
        .ns(Role::Bird)
        .command("birdc")
        .args(["-s", &lab.path("bird-b.ctl"), "show", "bfd", "sessions"])
        .output()
        .unwrap();
    let bird_bfd = String::from_utf8_lossy(&bird_bfd.stdout).into_owned();
    assert!(
        bird_bfd.contains(RT_BIRD) && bird_bfd.contains("Up"),
        "{bird_bfd}"
    );
    wait_for("both prefixes in rbgpd's kernel", 20, || {
        let r = |p| lab.kernel_route(Role::Rt, p);
        r(FRR_NET).contains(FRR) && r(BIRD_NET).contains(BIRD)
    });
    // Strict mode: BGP came up only once BFD was.
    for peer in [FRR, BIRD] {
        assert_bfd_before_bgp(&lab, peer);
    }

    slower_intervals_go_through_a_poll_sequence(&mut lab);

    // FRR's node goes silent: every packet in and out of its namespace is
    // dropped, no FIN, no NOTIFICATION.
    let cut = Instant::now();
    lab.ns(Role::Frr).drop_all_packets().unwrap();
    wait_for("FRR's routes out of rbgpd's kernel", 10, || {
        lab.kernel_route(Role::Rt, FRR_NET).is_empty()
    });
    let took = cut.elapsed();
    println!("silent node: routes out of the kernel {took:?} after the cut (BFD 300 ms x 3, hold time 30 s)");
    assert!(
        took < Duration::from_secs(10),
        "{took:?}: the hold timer, not BFD"
    );
    let log = lab.log("rbgpd.log");
    assert!(log.contains("BFD down"), "{}", lab.log_tail("rbgpd.log"));
    assert!(lab.kernel_route(Role::Rt, BIRD_NET).contains(BIRD));
    assert!(!lab.established(FRR) && lab.established(BIRD));
    let frr = lab.ctl(&["show", "peers"])["peers"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["address"] == FRR).cloned())
        .unwrap();
    assert_eq!(frr["bfd"], "down", "{frr}");
    assert!(metrics(&lab).contains(&format!("rbgpd_bfd_state{{peer=\"{FRR}\"}} 0")));

    // The node comes back: BFD first, then BGP and its routes.
    lab.ns(Role::Frr).restore_packets().unwrap();
    wait_for("FRR's routes back in rbgpd's kernel", 60, || {
        lab.kernel_route(Role::Rt, FRR_NET).contains(FRR)
    });
    let log = lab.log("rbgpd.log");
    let after_cut = log.rfind("BFD down").unwrap();
    let tail = &log[after_cut..];
    let (up, established) = (tail.find("BFD up"), tail.find("session established"));
    assert!(
        up.is_some() && up < established,
        "after the cut, BFD up at {up:?} and BGP at {established:?}: {tail}"
    );
}

/// FRR's BFD profile `fast` at `interval_ms`, both ways.
fn set_frr_profile(lab: &DualLab, interval_ms: u32) {
    let tx = format!("transmit-interval {interval_ms}");
    let rx = format!("receive-interval {interval_ms}");
    lab.vtysh_all(
        Role::Frr,
        &["configure terminal", "bfd", "profile fast", &tx, &rx],
    );
}

/// rbgpd's `show bfd` entry for `peer`.
fn bfd_of(lab: &DualLab, peer: &str) -> serde_json::Value {
    lab.ctl(&["show", "bfd"])["sessions"]
        .as_array()
        .and_then(|ss| ss.iter().find(|s| s["address"] == peer).cloned())
        .unwrap_or_default()
}

/// FRR and BIRD slow down to 600 ms while Up. RFC 5880 6.8.3: a speaker
/// that lowers its rate keeps sending at the old one until the poll
/// sequence ends with our Final; so their packets arriving at the new
/// rate show rbgpd answered, and the sessions stay Up throughout.
fn slower_intervals_go_through_a_poll_sequence(lab: &mut DualLab) {
    // Settled first: FRR's replaced session (see frr_config) is Up again.
    wait_for("FRR's BFD session Up again", 30, || {
        lab.established(FRR) && bfd_of(lab, FRR)["state"] == "Up"
    });
    let downs = lab.log("rbgpd.log").matches("BFD down").count();
    set_frr_profile(lab, 600);
    let conf = lab.path("bird-b.conf");
    std::fs::write(&conf, bird_config(600)).unwrap();
    let out = lab
        .ns(Role::Bird)
        .command("birdc")
        .args(["-s", &lab.path("bird-b.ctl"), "configure"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    for peer in [FRR, BIRD] {
        // We send at their required 600 ms; detection is 3 x their 600 ms.
        wait_for("the slower intervals in show bfd", 10, || {
            let b = bfd_of(lab, peer);
            b["tx_interval_ms"] == 600 && b["detection_ms"] == 1800
        });
    }
    // Their rate: at most 10 s / (600 ms x 0.75 jitter) = 22 packets in
    // 10 s, where 300 ms brings 33 or more; `show bfd` snapshots may lag a
    // second at either end (± 3 packets at 300 ms).
    std::thread::sleep(Duration::from_secs(2));
    let before: Vec<u64> = [FRR, BIRD]
        .iter()
        .map(|p| bfd_of(lab, p)["packets_in"].as_u64().unwrap())
        .collect();
    std::thread::sleep(Duration::from_secs(10));
    for (peer, before) in [FRR, BIRD].iter().zip(before) {
        let b = bfd_of(lab, peer);
        let got = b["packets_in"].as_u64().unwrap() - before;
        println!("{peer}: {got} BFD packets in 10 s after slowing to 600 ms");
        assert!(
            got <= 27,
            "{peer} still sends at the old rate: {got} in 10 s"
        );
        assert_eq!(b["state"], "Up", "{b}");
    }
    assert_eq!(lab.log("rbgpd.log").matches("BFD down").count(), downs);
    // And back to 300 ms for FRR (a faster rate, through a poll again).
    set_frr_profile(lab, 300);
    wait_for("FRR back at 300 ms", 10, || {
        let b = bfd_of(lab, FRR);
        b["tx_interval_ms"] == 300 && b["detection_ms"] == 900 && b["state"] == "Up"
    });

    // Our side slows down: a reload with 600 ms for FRR changes the
    // running BFD session through our poll sequence, BGP untouched. We
    // keep sending at 300 ms until FRR's Final (RFC 5880 6.8.3).
    let established = lab.peer(FRR)["established_count"].clone();
    let conf = lab.path("rbgpd.toml");
    let text = std::fs::read_to_string(&conf).unwrap();
    let text = text.replacen("bfd = true", "bfd = { interval_ms = 600 }", 1);
    std::fs::write(&conf, text).unwrap();
    let reload = lab.ctl(&["reload"]);
    assert_eq!(reload["result"]["applied"], true, "{reload}");
    wait_for("our 600 ms in show bfd", 10, || {
        let b = bfd_of(lab, FRR);
        b["tx_interval_ms"] == 600 && b["detection_ms"] == 1800
    });
    std::thread::sleep(Duration::from_secs(2));
    let before = bfd_of(lab, FRR)["packets_out"].as_u64().unwrap();
    std::thread::sleep(Duration::from_secs(10));
    let sent = bfd_of(lab, FRR)["packets_out"].as_u64().unwrap() - before;
    println!("rbgpd sent {sent} BFD packets in 10 s after reloading to 600 ms");
    assert!(
        sent <= 27,
        "our poll sequence did not end: {sent} packets in 10 s"
    );
    assert!(
        lab.vtysh(Role::Frr, &format!("show bfd peer {RT_FRR}"))
            .contains("Receive interval: 600ms"),
        "{}",
        lab.vtysh(Role::Frr, &format!("show bfd peer {RT_FRR}"))
    );
    assert_eq!(lab.peer(FRR)["established_count"], established);
    assert_eq!(lab.log("rbgpd.log").matches("BFD down").count(), downs);
    // Back to 300 ms for the cut that follows.
    let text = std::fs::read_to_string(&conf).unwrap();
    std::fs::write(
        &conf,
        text.replacen("bfd = { interval_ms = 600 }", "bfd = true", 1),
    )
    .unwrap();
    assert_eq!(lab.ctl(&["reload"])["result"]["applied"], true);
    wait_for("our 300 ms again", 10, || {
        let b = bfd_of(lab, FRR);
        b["tx_interval_ms"] == 300 && b["detection_ms"] == 900 && b["state"] == "Up"
    });
}

/// Loopback addresses the multihop sessions run between.
const RT_LO: &str = "10.9.0.1";
const FRR_LO: &str = "10.9.1.1";
const BIRD_LO: &str = "10.9.2.1";

#[test]
fn multihop_bfd_between_loopbacks_with_frr_and_bird() {
    let roles = [Role::Rt, Role::Frr, Role::Bird];
    let programs = [ZEBRA, FRR_BGPD, FRR_BFDD, "vtysh", "bird", "birdc", "nft"];
    let Some(mut lab) = DualLab::new("bfdmh", &programs, &roles, |lab| {
        wire(lab)?;
        let (rt, frr, bird) = (lab.ns(Role::Rt), lab.ns(Role::Frr), lab.ns(Role::Bird));
        for (ns, lo) in [(rt, RT_LO), (frr, FRR_LO), (bird, BIRD_LO)] {
            ns.add_addr("lo", &format!("{lo}/32"))?;
            ns.link_up("lo")?;
        }
        rt.ip(&["route", "add", FRR_LO, "via", FRR])?;
        rt.ip(&["route", "add", BIRD_LO, "via", BIRD])?;
        frr.ip(&["route", "add", RT_LO, "via", RT_FRR])?;
        bird.ip(&["route", "add", RT_LO, "via", RT_BIRD])
            .map(|_| ())
    }) else {
        return;
    };
    // FRR starts a multihop BFD session only once its BGP session is up
    // (it learns the source address then), so strict mode would wait
    // forever for it; BIRD starts it with the BGP protocol.
    let neighbor = |addr: &str, asn: u32, strict: bool| {
        format!(
            "\n[[neighbor]]\naddress = \"{addr}\"\nremote_as = {asn}\nconnect_retry = 1\n\
             hold_time = 30\nmultihop = 2\nlocal_address = \"{RT_LO}\"\n\
             bfd = {{ strict = {strict} }}\n"
        )
    };
    lab.start_rbgpd_with(&(neighbor(FRR_LO, 65100, false) + &neighbor(BIRD_LO, 65200, true)));
    lab.start_frr(
        Role::Frr,
        &format!(
            "frr defaults traditional\nhostname bfdmh-frr\nlog stdout informational\n!\n\
             router bgp 65100\n bgp router-id 10.1.1.1\n no bgp ebgp-requires-policy\n\
             \x20neighbor {RT_LO} remote-as 65000\n\
             \x20neighbor {RT_LO} ebgp-multihop 2\n\
             \x20neighbor {RT_LO} update-source {FRR_LO}\n\
             \x20neighbor {RT_LO} timers connect 1\n\
             \x20neighbor {RT_LO} bfd\n !\n\
             \x20address-family ipv4 unicast\n  network {FRR_NET}\n exit-address-family\n!\n"
        ),
    );
    lab.start_frr_bfdd(Role::Frr);
    lab.start_bird(
        Role::Bird,
        &format!(
            r#"log stderr all;
router id 10.2.2.1;
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol static {{ ipv4; route {RT_LO}/32 via {RT_BIRD}; }}
protocol bfd {{
    multihop {{ interval 300 ms; multiplier 3; }};
}}
protocol bgp rbgpd {{
    local {BIRD_LO} as 65200;
    neighbor {RT_LO} as 65000;
    multihop 2;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    bfd on;
    ipv4 {{ import all; export where source = RTS_DEVICE; }};
}}
"#
        ),
    );
    wait_for("both multihop sessions Established", 40, || {
        lab.established(FRR_LO) && lab.established(BIRD_LO)
    });
    // Multihop BFD Up with both, at the negotiated 300 ms; with BIRD
    // before BGP.
    wait_for("show bfd lists both multihop sessions Up", 10, || {
        [FRR_LO, BIRD_LO].iter().all(|p| {
            let b = bfd_of(&lab, p);
            b["state"] == "Up" && b["tx_interval_ms"] == 300 && b["detection_ms"] == 900
        })
    });
    assert_bfd_before_bgp(&lab, BIRD_LO);
    assert!(
        lab.vtysh(Role::Frr, "show bfd peers").contains("multihop"),
        "{}",
        lab.vtysh(Role::Frr, "show bfd peers")
    );
    // Multihop next hops are the peers' loopbacks, which the FIB does not
    // resolve through other routes yet (`show fib`: pending), so the RIB
    // is where the routes are watched.
    let in_rib = |prefix: &str| {
        lab.ctl(&["show", "routes"])["routes"]
            .as_array()
            .is_some_and(|rs| rs.iter().any(|r| r["prefix"] == prefix))
    };
    wait_for("both prefixes in rbgpd's RIB", 20, || {
        in_rib(FRR_NET) && in_rib(BIRD_NET)
    });
    // FRR's node goes silent: BFD takes its routes long before the hold
    // time.
    let cut = Instant::now();
    lab.ns(Role::Frr).drop_all_packets().unwrap();
    wait_for("FRR's routes out of rbgpd's RIB", 10, || !in_rib(FRR_NET));
    println!(
        "multihop: routes out of the RIB {:?} after the cut (BFD 300 ms x 3, hold time 30 s)",
        cut.elapsed()
    );
    assert!(lab.log("rbgpd.log").contains("BFD down"));
    assert!(in_rib(BIRD_NET) && lab.established(BIRD_LO));
}
