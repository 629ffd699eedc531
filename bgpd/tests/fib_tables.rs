//! A kernel table per cluster (VRF-lite): the nodes of cluster 1 (AS 65100)
//! are a range with `table = 100`, those of cluster 2 (AS 65200) use the
//! FIB's own table. Each node (BIRD) announces the network on its `lo`.
//!
//! - `ip route show table 100` holds cluster 1's network only, the main
//!   table cluster 2's only; `rbgpctl show fib` and `show routes --table`
//!   agree;
//! - a client whose interface is bound to table 100 (an `ip rule`, with an
//!   unreachable default in the table) connects over TCP to cluster 1's
//!   node and not to cluster 2's.
//!
//! The second test does the same with a VRF device `cluster1` (table 100)
//! named by `vrf = "cluster1"` and the client's link enslaved to it.
//!
//! Skipped (with a message) where BIRD, namespaces or VRF devices (the
//! second test) are missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dual_util;
mod interop_util;

use dual_util::{tcp_connects, DualLab, Role};
use interop_util::{wait_for, Rbgpctl};

const ROUTER: &str = "10.94.0.1";
/// Namespace, bridge port, node address, AS, network on its `lo`.
const NODES: [(Role, &str, &str, u32, &str); 2] = [
    (Role::Node1, "n1", "10.94.0.2", 65100, "10.241.1.1/24"),
    (Role::Node2, "n2", "10.94.0.18", 65200, "10.242.1.1/24"),
];

fn node_config(addr: &str, asn: u32) -> String {
    format!(
        r#"log stderr all;
router id {addr};
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol bgp rbgpd {{
    local {addr} as {asn};
    neighbor {ROUTER} as 65000;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 {{ import none; export where source = RTS_DEVICE; next hop self; }};
}}
"#
    )
}

/// Whether the client connects over TCP to node `i`'s `lo` address.
fn client_reaches(lab: &DualLab, i: usize) -> bool {
    let (role, _, _, _, net) = NODES[i];
    let host = net.split('/').next().unwrap();
    tcp_connects(lab.ns(Role::Frr), "10.95.0.2", lab.ns(role), host)
}

#[test]
fn two_clusters_in_two_kernel_tables() {
    two_clusters(Binding::Rule);
}

#[test]
fn two_clusters_one_in_a_vrf() {
    two_clusters(Binding::Vrf);
}

/// How the client's link is bound to table 100.
#[derive(Clone, Copy, PartialEq)]
enum Binding {
    /// `table = 100` and an `ip rule` for the link.
    Rule,
    /// `vrf = "cluster1"`, a VRF device of table 100 the link is in.
    Vrf,
}

fn two_clusters(binding: Binding) {
    let roles = [Role::Rt, Role::Node1, Role::Node2, Role::Frr];
    let name = if binding == Binding::Vrf {
        "vrf"
    } else {
        "tables"
    };
    let Some(mut lab) = DualLab::new(name, &["bird"], &roles, |lab| {
        let ports: Vec<(Role, &str, &str)> = NODES.iter().map(|n| (n.0, n.1, n.2)).collect();
        lab.wire_bridge(&format!("{ROUTER}/24"), &ports)?;
        let rt = lab.ns(Role::Rt);
        for (role, _, _, _, net) in NODES {
            let ns = lab.ns(role);
            ns.add_addr("lo", net)?;
            ns.ip(&["route", "add", "default", "via", ROUTER])?;
        }
        // The client (in the Frr namespace) on a link of its own, bound
        // to table 100 by a rule, as a VRF's interface would be.
        let client = lab.ns(Role::Frr);
        testbed::netns::veth(rt, "cl", client, "eth0")?;
        rt.add_addr("cl", "10.95.0.1/24")?;
        rt.link_up("cl")?;
        client.add_addr("eth0", "10.95.0.2/24")?;
        client.link_up("eth0")?;
        client.ip(&["route", "add", "default", "via", "10.95.0.1"])?;
        if binding == Binding::Vrf {
            // Fails here on a kernel without VRF devices: the test skips.
            rt.ip(&["link", "add", "cluster1", "type", "vrf", "table", "100"])?;
            rt.link_up("cluster1")?;
            rt.ip(&["link", "set", "cl", "master", "cluster1"])?;
            // The answers of cluster 1 come back through the main table.
            rt.ip(&["route", "add", "10.95.0.0/24", "dev", "cl"])?;
        } else {
            rt.ip(&[
                "rule", "add", "iif", "cl", "lookup", "100", "priority", "100",
            ])?;
        }
        rt.ip(&[
            "route",
            "add",
            "unreachable",
            "default",
            "table",
            "100",
            "metric",
            "4278198272",
        ])?;
        Ok(())
    }) else {
        return;
    };
    let bound = if binding == Binding::Vrf {
        "vrf = \"cluster1\""
    } else {
        "table = 100"
    };
    lab.start_rbgpd_with(&format!(
        "\n[[neighbor]]\nrange = \"10.94.0.0/28\"\nremote_as = 65100\n{bound}\n\
         \n[[neighbor]]\nrange = \"10.94.0.16/28\"\nremote_as = 65200\n"
    ));
    for (role, _, addr, asn, _) in NODES {
        lab.start_bird(role, &node_config(addr, asn));
    }
    let table = |t: &str| {
        lab.ns(Role::Rt)
            .ip(&["-4", "route", "show", "table", t, "proto", "bgp"])
            .unwrap_or_default()
    };
    wait_for("both clusters' networks in their tables", 30, || {
        table("100").contains("10.241.1.0/24") && table("main").contains("10.242.1.0/24")
    });
    assert!(!table("100").contains("10.242.1.0/24"), "{}", table("100"));
    assert!(
        !table("main").contains("10.241.1.0/24"),
        "{}",
        table("main")
    );
    let fib = lab.ctl(&["show", "fib"])["routes"].clone();
    let of = |prefix: &str| {
        fib.as_array()
            .and_then(|rs| rs.iter().find(|r| r["prefix"] == prefix))
            .map(|r| r["table"].clone())
    };
    assert_eq!(of("10.241.1.0/24"), Some(100.into()), "{fib}");
    assert_eq!(of("10.242.1.0/24"), Some(254.into()), "{fib}");
    let prefixes = |table: &str| -> Vec<String> {
        let r = lab.ctl(&["show", "routes", "--table", table])["routes"].clone();
        r.as_array()
            .map(|rs| {
                rs.iter()
                    .map(|r| r["prefix"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(prefixes("100"), ["10.241.1.0/24"]);
    assert_eq!(prefixes("254"), ["10.242.1.0/24"]);
    // Bound to table 100: cluster 1 answers, cluster 2 is unreachable.
    wait_for("the client reaches cluster 1", 10, || {
        client_reaches(&lab, 0)
    });
    assert!(!client_reaches(&lab, 1), "cluster 2 reached from table 100");
    // The router itself (main table) reaches cluster 2.
    assert!(tcp_connects(
        lab.ns(Role::Rt),
        ROUTER,
        lab.ns(Role::Node2),
        "10.242.1.1"
    ));
}
