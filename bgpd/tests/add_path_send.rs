//! ADD-PATH send (RFC 7911) to a real peer: three BIRD nodes (AS 65100)
//! announce one LoadBalancer /32 to rbgpd, which holds it as ECMP x3; FRR
//! (zebra + bgpd, AS 65300, ADD-PATH receive as FRR offers by default) is
//! a neighbor with `add_path_send = "all"` and `next_hop_unchanged`, and
//! gets all three paths, installing the /32 in its kernel as ECMP over the
//! three nodes. All four namespaces hang off a bridge in rbgpd's.
//!
//! Then one node withdraws: FRR loses that path only, and its kernel
//! route drops to two next hops.
//!
//! Skipped (with a message) where FRR, BIRD or namespaces are missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dual_util;
mod interop_util;

use dual_util::{DualLab, Role, FRR_BGPD, ZEBRA};
use interop_util::{wait_for, Rbgpctl};

const ROUTER: &str = "10.96.0.1";
const FRR: &str = "10.96.0.9";
const LB: &str = "10.11.192.248/32";
/// The nodes: namespace, bridge port, address.
const NODES: [(Role, &str, &str); 3] = [
    (Role::Node1, "n1", "10.96.0.2"),
    (Role::Node2, "n2", "10.96.0.3"),
    (Role::Bird, "n3", "10.96.0.4"),
];

fn node_config(addr: &str) -> String {
    format!(
        r#"log stderr all;
router id {addr};
protocol device {{ }}
protocol static lb {{ ipv4; route {LB} blackhole; }}
protocol bgp rbgpd {{
    local {addr} as 65100;
    neighbor {ROUTER} as 65000;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 {{ import none; export where proto = "lb"; next hop self; }};
}}
"#
    )
}

fn frr_config() -> String {
    format!(
        "frr defaults traditional\nhostname ap-frr\nlog stdout informational\n!\n\
         router bgp 65300\n bgp router-id {FRR}\n no bgp ebgp-requires-policy\n\
         \x20neighbor {ROUTER} remote-as 65000\n\
         \x20neighbor {ROUTER} timers connect 1\n !\n\
         \x20address-family ipv4 unicast\n  maximum-paths 8\n exit-address-family\n!\n"
    )
}

/// The next hops of the kernel route for the LoadBalancer in FRR's namespace.
fn frr_kernel_next_hops(lab: &DualLab) -> Vec<String> {
    let text = lab.kernel_route(Role::Frr, LB);
    let mut hops: Vec<String> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .windows(2)
        .filter(|w| w[0] == "via")
        .map(|w| w[1].to_string())
        .collect();
    hops.sort();
    hops
}

#[test]
fn frr_gets_every_ecmp_path_and_installs_them_all() {
    let roles = [Role::Rt, Role::Frr, Role::Node1, Role::Node2, Role::Bird];
    let Some(mut lab) = DualLab::new(
        "apsend",
        &[ZEBRA, FRR_BGPD, "vtysh", "bird"],
        &roles,
        |lab| {
            let mut ports: Vec<(Role, &str, &str)> = NODES.to_vec();
            ports.push((Role::Frr, "fr", FRR));
            lab.wire_bridge(&format!("{ROUTER}/24"), &ports)
        },
    ) else {
        return;
    };
    lab.start_rbgpd_with(&format!(
        "\n[[neighbor]]\nrange = \"10.96.0.0/29\"\nremote_as = 65100\n\
         \n[[neighbor]]\naddress = \"{FRR}\"\nremote_as = 65300\nconnect_retry = 1\n\
         add_path_send = \"all\"\nnext_hop_unchanged = true\n"
    ));
    lab.start_frr(Role::Frr, &frr_config());
    // The nodes last: the last one started is the one stopped below.
    for (role, _, addr) in NODES {
        lab.start_bird(role, &node_config(addr));
    }
    wait_for("the nodes' and FRR's sessions", 30, || {
        lab.established(FRR) && NODES.iter().all(|(_, _, a)| lab.established(a))
    });
    let caps = lab.peer(FRR)["capabilities"].to_string();
    assert!(caps.contains("add-path send ipv4-unicast"), "{caps}");
    wait_for(
        "FRR's kernel holds the /32 over the three nodes",
        20,
        || frr_kernel_next_hops(&lab) == ["10.96.0.2", "10.96.0.3", "10.96.0.4"],
    );
    let bgp = lab.vtysh(Role::Frr, &format!("show ip bgp {LB}"));
    assert!(bgp.contains("3 available"), "{bgp}");

    // The third node goes (its BIRD killed): that path goes, the others stay.
    lab.stop_last();
    wait_for("FRR's kernel drops the stopped node", 20, || {
        frr_kernel_next_hops(&lab) == ["10.96.0.2", "10.96.0.3"]
    });
    let bgp = lab.vtysh(Role::Frr, &format!("show ip bgp {LB}"));
    assert!(bgp.contains("2 available"), "{bgp}");
}
