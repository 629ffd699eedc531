//! BFD tied to BGP against real speakers: rbgpd (FIB on) joined by veth
//! pairs to FRR (zebra, bgpd, bfdd; `neighbor X bfd`) and to BIRD 2
//! (`protocol bfd`, `bfd on`). Both BFD sessions come up at 300 ms × 3;
//! then FRR's namespace drops every packet (nftables: the node is gone
//! without a word) and rbgpd takes FRR's routes out of its kernel on BFD
//! Down, long before the 30 s hold time; BIRD's stay.
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

fn frr_config() -> String {
    format!(
        "frr defaults traditional\nhostname bfd-frr\nlog stdout informational\n!\n\
         router bgp 65100\n bgp router-id 10.1.1.1\n no bgp ebgp-requires-policy\n\
         \x20neighbor {RT_FRR} remote-as 65000\n\
         \x20neighbor {RT_FRR} timers connect 1\n\
         \x20neighbor {RT_FRR} bfd\n !\n\
         \x20address-family ipv4 unicast\n  network {FRR_NET}\n exit-address-family\n!\n"
    )
}

fn bird_config() -> String {
    format!(
        r#"log stderr all;
router id 10.2.2.1;
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol bfd {{
    interface "eth0" {{ interval 300 ms; multiplier 3; }};
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
    let Some(mut lab) = DualLab::new("bfd", &programs, &roles, |lab| {
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
    }) else {
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
    lab.start_bird(Role::Bird, &bird_config());
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

    // FRR's node goes silent: every packet in and out of its namespace is
    // dropped, no FIN, no NOTIFICATION.
    let cut = Instant::now();
    lab.ns(Role::Frr)
        .exec(
            "nft",
            &["add table inet cut; \
                 add chain inet cut in { type filter hook input priority -300; policy drop; }; \
                 add chain inet cut out { type filter hook output priority -300; policy drop; }"],
        )
        .unwrap();
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
}
