//! Dual stack against real speakers, with every kernel in the loop: rbgpd
//! (FIB on) in a namespace of its own, joined by veth pairs to an FRR
//! (zebra + bgpd) and a BIRD 2 (with `protocol kernel`), each in its own
//! namespace. The links carry IPv6 only; each peer holds an IPv4 prefix
//! on its `lo`.
//!
//! - RFC 8950: FRR (`capability extended-nexthop`) and BIRD (`extended
//!   next hop on`) announce their IPv4 prefix over the IPv6 session with
//!   an IPv6 next hop; rbgpd installs each via its IPv6 gateway (`via
//!   inet6`) and passes it to the other with its own IPv6 address as next
//!   hop, which FRR's and BIRD's kernels install the same way; a TCP
//!   connection between the two IPv4 prefixes crosses all three kernels.
//!
//! - IPv6 routes over an IPv4 session, as Cilium sends them: two gobgpd
//!   nodes on a bridge with rbgpd (IPv4 addresses, IPv6 link-locals only)
//!   announce their IPv6 pod prefix and one IPv6 LoadBalancer address with
//!   IPv4-mapped next hops; rbgpd installs them via each node's link-local
//!   address (found by MAC in the neighbour tables), the LoadBalancer
//!   ECMP over both, and TCP reaches them. Then a node's MAC (and so its
//!   link-local address) changes, and its routes follow.
//!
//! Skipped (with a message) where FRR, BIRD, gobgpd or namespaces are
//! missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dual_util;
mod interop_util;

use dual_util::{tcp_connects, DualLab, Role, FRR_BGPD, ZEBRA};
use interop_util::{wait_for, GobgpdSpeaker, Rbgpctl};
use serde_json::Value;
use testbed::netns::veth;
use testbed::Netns;

/// rbgpd's and FRR's ends of their link.
const RT_FRR: &str = "2001:db8:1::1";
const FRR: &str = "2001:db8:1::2";
/// rbgpd's and BIRD's ends of theirs.
const RT_BIRD: &str = "2001:db8:2::1";
const BIRD: &str = "2001:db8:2::2";
/// The Cilium-like nodes' IPv4 network (a bridge in rbgpd's namespace),
/// rbgpd's global IPv6 address on it, and what the nodes announce.
const BRIDGE_V4: &str = "172.30.0.1";
const BRIDGE_V6: &str = "fd00:30::1";
const NODE1: &str = "172.30.0.2";
const NODE2: &str = "172.30.0.3";
const NODE1_POD: &str = "fd00:10:1::/64";
const NODE1_POD_HOST: &str = "fd00:10:1::1";
const NODE2_POD: &str = "fd00:10:2::/64";
const LB: &str = "fd00:ff::10";
/// The IPv4 prefixes the peers announce, and their host addresses.
const FRR_NET: &str = "10.1.1.0/24";
const FRR_HOST: &str = "10.1.1.1";
const BIRD_NET: &str = "10.2.2.0/24";
const BIRD_HOST: &str = "10.2.2.1";

/// FRR's config: `network 10.1.1.0/24` over the IPv6 session, with RFC
/// 8950.
fn frr_config() -> String {
    format!(
        "frr defaults traditional\nhostname dual-frr\nlog stdout informational\n!\n\
             router bgp 65100\n bgp router-id {FRR_HOST}\n no bgp ebgp-requires-policy\n\
             \x20neighbor {RT_FRR} remote-as 65000\n\
             \x20neighbor {RT_FRR} capability extended-nexthop\n\
             \x20neighbor {RT_FRR} timers connect 1\n !\n\
             \x20address-family ipv4 unicast\n  network {FRR_NET}\n\
             \x20 neighbor {RT_FRR} activate\n exit-address-family\n!\n"
    )
}

/// BIRD's config: the IPv4 prefix on its `lo` over the IPv6 session, with
/// RFC 8950, and BGP routes written into its kernel.
fn bird_config() -> String {
    format!(
        r#"log stderr all;
router id {BIRD_HOST};
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol kernel {{ ipv4 {{ export where source = RTS_BGP; }}; }}
protocol bgp rbgpd {{
    local {BIRD} as 65200;
    neighbor {RT_BIRD} as 65000;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 {{ extended next hop on; import all; export where source = RTS_DEVICE; }};
}}
"#
    )
}

/// Whether `rbgpctl show peer` lists RFC 8950 as negotiated with `peer`.
fn extended_next_hop(lab: &DualLab, peer: &str) -> bool {
    lab.peer(peer)["capabilities"]
        .as_array()
        .is_some_and(|caps| {
            caps.iter().any(|c| {
                c.as_str()
                    .is_some_and(|c| c.starts_with("extended next hop ipv4-unicast"))
            })
        })
}

/// rbgpd's path for `prefix` and its next hop.
fn next_hop(lab: &DualLab, prefix: &str) -> Option<String> {
    lab.paths(prefix)
        .first()
        .and_then(|p: &Value| p["next_hop"].as_str().map(str::to_string))
}

#[test]
fn ipv4_routes_with_ipv6_next_hops_between_frr_and_bird_carry_traffic() {
    let roles = [Role::Rt, Role::Frr, Role::Bird];
    let Some(mut lab) = DualLab::new("enh", &[ZEBRA, FRR_BGPD, "vtysh", "bird"], &roles, |lab| {
        let (rt, frr, bird) = (lab.ns(Role::Rt), lab.ns(Role::Frr), lab.ns(Role::Bird));
        veth(rt, "to-frr", frr, "eth0")?;
        veth(rt, "to-bird", bird, "eth0")?;
        for (ns, dev, addr) in [
            (rt, "to-frr", RT_FRR),
            (rt, "to-bird", RT_BIRD),
            (frr, "eth0", FRR),
            (bird, "eth0", BIRD),
        ] {
            ns.ip(&["addr", "add", &format!("{addr}/64"), "dev", dev, "nodad"])?;
            ns.link_up(dev)?;
        }
        frr.add_addr("lo", &format!("{FRR_HOST}/24"))?;
        bird.add_addr("lo", &format!("{BIRD_HOST}/24"))
    }) else {
        return;
    };
    lab.start_rbgpd(&[(FRR, 65100), (BIRD, 65200)]);
    lab.start_frr(Role::Frr, &frr_config());
    lab.start_bird(Role::Bird, &bird_config());
    wait_for("both sessions Established", 30, || {
        lab.established(FRR) && lab.established(BIRD)
    });
    assert!(extended_next_hop(&lab, FRR), "{}", lab.peer(FRR));
    assert!(extended_next_hop(&lab, BIRD), "{}", lab.peer(BIRD));
    // `show peers` marks the family.
    let v4 = &lab.peer(FRR)["summary"]["families"][0];
    assert_eq!(
        (&v4["family"], &v4["next_hop"]),
        (&Value::from("ipv4-unicast"), &Value::from("ipv6")),
        "{v4}"
    );

    // Learned with the peers' IPv6 addresses as next hops...
    wait_for("rbgpd learns both IPv4 prefixes", 20, || {
        lab.has_route_from(FRR_NET, FRR) && lab.has_route_from(BIRD_NET, BIRD)
    });
    assert_eq!(next_hop(&lab, FRR_NET).as_deref(), Some(FRR));
    assert_eq!(next_hop(&lab, BIRD_NET).as_deref(), Some(BIRD));
    // ... installed in rbgpd's kernel via those IPv6 gateways...
    wait_for("rbgpd's kernel routes via inet6", 10, || {
        lab.kernel_route(Role::Rt, FRR_NET)
            .contains(&format!("via inet6 {FRR} dev to-frr"))
            && lab
                .kernel_route(Role::Rt, BIRD_NET)
                .contains(&format!("via inet6 {BIRD} dev to-bird"))
    });
    // ... and passed on with rbgpd's IPv6 address, which each peer's
    // kernel installs as the gateway.
    wait_for("FRR's and BIRD's kernels route via rbgpd", 20, || {
        lab.kernel_route(Role::Frr, BIRD_NET)
            .contains(&format!("via inet6 {RT_FRR}"))
            && lab
                .kernel_route(Role::Bird, FRR_NET)
                .contains(&format!("via inet6 {RT_BIRD}"))
    });

    // IPv4 traffic crosses the three kernels over IPv6-only links, both
    // ways.
    assert!(
        tcp_connects(lab.ns(Role::Frr), FRR_HOST, lab.ns(Role::Bird), BIRD_HOST),
        "FRR -> BIRD: rbgpd {} / frr {} / bird {}",
        lab.kernel_route(Role::Rt, BIRD_NET),
        lab.kernel_route(Role::Frr, BIRD_NET),
        lab.kernel_route(Role::Bird, FRR_NET)
    );
    assert!(tcp_connects(
        lab.ns(Role::Bird),
        BIRD_HOST,
        lab.ns(Role::Frr),
        FRR_HOST
    ));

    // A withdrawal follows the same path: BIRD's prefix gone, it leaves
    // rbgpd's kernel and FRR's.
    lab.ns(Role::Bird)
        .ip(&["addr", "del", &format!("{BIRD_HOST}/24"), "dev", "lo"])
        .unwrap();
    wait_for("BIRD's prefix withdrawn everywhere", 20, || {
        lab.paths(BIRD_NET).is_empty()
            && lab.kernel_route(Role::Rt, BIRD_NET).is_empty()
            && lab.kernel_route(Role::Frr, BIRD_NET).is_empty()
    });
    assert!(
        lab.has_route_from(FRR_NET, FRR),
        "{}",
        lab.log_tail("rbgpd.log")
    );
}

/// `gobgp ARGS` against the node in `role`'s API.
fn gobgp(lab: &DualLab, role: Role, args: &[&str]) -> String {
    let out = lab
        .ns(role)
        .command("gobgp")
        .args(["-p", "50051"])
        .args(args)
        .output()
        .unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A gobgpd node as Cilium runs it (IPv4 session, both families, hold 9
/// so that a node's new MAC reaches rbgpd's ARP table within seconds),
/// announcing its pod prefix and the LoadBalancer address with no next
/// hop of its own: GoBGP sends its IPv4 address, mapped.
fn start_node(lab: &mut DualLab, role: Role, addr: &str, pod: &str) {
    let cfg = GobgpdSpeaker {
        addr,
        router_id: addr,
        asn: 65300,
        listen_port: 179,
        rbgpd: (BRIDGE_V4, 179),
        timers: (9, 3, 1),
        gr: false,
    }
    .config();
    let conf = lab.path(&format!("gobgpd-{addr}.toml"));
    std::fs::write(&conf, cfg).unwrap();
    lab.spawn(
        role,
        "gobgpd",
        &["-f", &conf, "--api-hosts", "127.0.0.1:50051"],
        &format!("gobgpd-{addr}.log"),
    );
    wait_for("gobgpd's API", 10, || {
        !gobgp(lab, role, &["global"]).contains("rror")
    });
    for prefix in [pod.to_string(), format!("{LB}/128")] {
        let out = gobgp(lab, role, &["global", "rib", "add", &prefix, "-a", "ipv6"]);
        assert!(!out.contains("rror"), "gobgp rib add {prefix}: {out}");
    }
}

/// The link-local address of `eth0` in `ns`.
fn link_local(ns: &Netns) -> String {
    dual_util::link_local(ns, "eth0")
}

/// The link-local address a node derives from `mac` (EUI-64).
fn eui64(mac: [u8; 6]) -> String {
    let [a, b, c, d, e, f] = mac;
    format!(
        "fe80::{:x}:{:x}:{:x}:{:x}",
        u16::from_be_bytes([a ^ 2, b]),
        u16::from_be_bytes([c, 0xff]),
        u16::from_be_bytes([0xfe, d]),
        u16::from_be_bytes([e, f])
    )
}

#[test]
fn ipv6_routes_over_ipv4_sessions_go_via_the_nodes_link_locals_and_follow_a_new_mac() {
    const MAC1: [u8; 6] = [0x02, 0x42, 0xac, 0x1e, 0x00, 0x02];
    const MAC2: [u8; 6] = [0x02, 0x42, 0xac, 0x1e, 0x00, 0x03];
    const MAC1_NEW: [u8; 6] = [0x02, 0x42, 0xac, 0x1e, 0x00, 0x99];
    let mac = |m: [u8; 6]| {
        m.iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    let roles = [Role::Rt, Role::Node1, Role::Node2];
    let Some(mut lab) = DualLab::new("v6v4", &["gobgpd", "gobgp"], &roles, |lab| {
        let rt = lab.ns(Role::Rt);
        rt.bridge("br0")?;
        rt.add_addr("br0", &format!("{BRIDGE_V4}/24"))?;
        rt.ip(&[
            "addr",
            "add",
            &format!("{BRIDGE_V6}/64"),
            "dev",
            "br0",
            "nodad",
        ])?;
        rt.link_up("br0")?;
        for (role, port, addr, m, host) in [
            (Role::Node1, "n1", NODE1, MAC1, NODE1_POD_HOST),
            (Role::Node2, "n2", NODE2, MAC2, "fd00:10:2::1"),
        ] {
            let node = lab.ns(role);
            veth(node, "eth0", rt, port)?;
            rt.enslave(port, "br0")?;
            rt.link_up(port)?;
            node.ip(&["link", "set", "eth0", "address", &mac(m)])?;
            if role == Role::Node2 {
                // A random link-local, not derived from the MAC (as
                // stable-privacy hosts have): found by pinging all nodes.
                node.sysctl("net.ipv6.conf.eth0.addr_gen_mode", "3")?;
                // No router solicitation either, which would put it in
                // rbgpd's table (rbgpd's namespace forwards).
                node.sysctl("net.ipv6.conf.eth0.router_solicitations", "0")?;
            }
            node.add_addr("eth0", &format!("{addr}/24"))?;
            node.link_up("eth0")?;
            node.ip(&["addr", "add", &format!("{host}/64"), "dev", "lo"])?;
            node.ip(&["addr", "add", &format!("{LB}/128"), "dev", "lo"])?;
            // Replies go back through rbgpd's link-local address.
            let rt_ll = "fe80::1";
            node.ip(&["-6", "route", "add", "default", "via", rt_ll, "dev", "eth0"])?;
        }
        rt.ip(&["addr", "add", "fe80::1/64", "dev", "br0", "nodad"])
            .map(drop)
    }) else {
        return;
    };
    lab.start_rbgpd(&[(NODE1, 65300), (NODE2, 65300)]);
    start_node(&mut lab, Role::Node1, NODE1, NODE1_POD);
    start_node(&mut lab, Role::Node2, NODE2, NODE2_POD);
    wait_for("both sessions Established", 30, || {
        lab.established(NODE1) && lab.established(NODE2)
    });
    wait_for("rbgpd learns the IPv6 routes", 20, || {
        lab.has_route_from(NODE1_POD, NODE1)
            && lab.has_route_from(NODE2_POD, NODE2)
            && lab.paths(&format!("{LB}/128")).len() == 2
    });
    // The IPv4-mapped next hop (rbgpctl shows it as the IPv4 address).
    let nh = next_hop(&lab, NODE1_POD).unwrap_or_default();
    assert!(nh.ends_with(NODE1), "{nh}");

    // Installed via each node's link-local address on the bridge; the
    // LoadBalancer address over both.
    let ll1 = eui64(MAC1);
    let ll2 = link_local(lab.ns(Role::Node2));
    assert!(ll2.starts_with("fe80:") && ll2 != eui64(MAC2), "{ll2}");
    wait_for("IPv6 routes via the nodes' link-locals", 20, || {
        lab.kernel_route(Role::Rt, NODE1_POD)
            .contains(&format!("via {ll1} dev br0"))
            && lab
                .kernel_route(Role::Rt, NODE2_POD)
                .contains(&format!("via {ll2} dev br0"))
    });
    let lb = lab.kernel_route(Role::Rt, LB);
    assert!(
        lb.contains(&format!("via {ll1} dev br0")) && lb.contains(&format!("via {ll2} dev br0")),
        "ECMP over both nodes: {lb}"
    );
    let fib = lab.ctl(&["show", "fib"]);
    let pod = fib["routes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["prefix"] == NODE1_POD)
        .unwrap()
        .clone();
    assert!(
        pod["note"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("172.30.0.2 via {ll1} (same MAC {}", mac(MAC1))),
        "show fib says how the gateway was found: {pod}"
    );
    let rt = lab.ns(Role::Rt);
    assert!(tcp_connects(
        rt,
        BRIDGE_V6,
        lab.ns(Role::Node1),
        NODE1_POD_HOST
    ));
    assert!(tcp_connects(
        rt,
        BRIDGE_V6,
        lab.ns(Role::Node2),
        "fd00:10:2::1"
    ));

    // Node 1 comes back with a new MAC, so a new link-local address: its
    // routes follow, the session stays.
    let count = lab.established_count(NODE1);
    let n1 = lab.ns(Role::Node1);
    n1.ip(&["link", "set", "eth0", "down"]).unwrap();
    n1.ip(&["link", "set", "eth0", "address", &mac(MAC1_NEW)])
        .unwrap();
    n1.link_up("eth0").unwrap();
    n1.ip(&[
        "-6", "route", "replace", "default", "via", "fe80::1", "dev", "eth0",
    ])
    .unwrap();
    let ll1_new = eui64(MAC1_NEW);
    wait_for("node 1's routes via its new link-local", 30, || {
        lab.kernel_route(Role::Rt, NODE1_POD)
            .contains(&format!("via {ll1_new} dev br0"))
            && lab
                .kernel_route(Role::Rt, LB)
                .contains(&format!("via {ll1_new} dev br0"))
    });
    assert!(!lab.kernel_route(Role::Rt, LB).contains(&ll1));
    assert!(tcp_connects(
        rt,
        BRIDGE_V6,
        lab.ns(Role::Node1),
        NODE1_POD_HOST
    ));
    assert_eq!(lab.established_count(NODE1), count, "the session stayed up");
}
