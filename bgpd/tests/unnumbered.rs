//! Unnumbered peering against real speakers, every kernel in the loop:
//! rbgpd (FIB on) joined by veth pairs that carry nothing but IPv6
//! link-local addresses to FRR (zebra + bgpd, `neighbor eth0 interface`)
//! and to BIRD 2 (`neighbor fe80::...%eth0`). rbgpd's config names only
//! the interfaces (`interface = "n-frr"`, `interface = "n-b*"`).
//!
//! - FRR finds rbgpd from rbgpd's router advertisements, rbgpd finds FRR
//!   from FRR's (or from its connection); BIRD is passive (`neighbor
//!   fe80::...%eth0`, `protocol radv`): rbgpd finds it from its adverts and
//!   dials it.
//! - Each peer's IPv4 and IPv6 prefixes reach rbgpd with link-local next
//!   hops and are installed via them on the right interface (IPv4 `via
//!   inet6`, RFC 8950); rbgpd passes them on with its own link-local
//!   address, which FRR's and BIRD's kernels install; TCP crosses all
//!   three kernels both ways, over IPv4 and IPv6.
//!
//! - A gobgpd node (the speaker Cilium embeds) with `neighbor-interface`,
//!   which reads rbgpd's link-local from its kernel's neighbour table
//!   (filled by rbgpd's advertisements), announces its IPv6 pod prefix;
//!   then the node comes back with a new MAC (so a new link-local
//!   address) and its new session replaces the old neighbor.
//!
//! - A host on a link floods router advertisements from hundreds of
//!   addresses: the link still has one neighbor, replaced at most once a
//!   second, and the log stays short; forwarded adverts (hop limit below
//!   255) count for nothing.
//!
//! Skipped (with a message) where FRR, BIRD, gobgpd or namespaces are
//! missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod dual_util;
mod interop_util;

use dual_util::{link_local, tcp_connects, DualLab, Role, FRR_BGPD, ZEBRA};
use interop_util::{wait_for, Rbgpctl};
use serde_json::Value;
use testbed::netns::veth;

/// The gobgpd node's IPv6 pod prefix.
const NODE_POD: &str = "fd00:10:1::/64";

/// What the peers announce (on their `lo`), and the host addresses.
const FRR_NET: &str = "10.1.1.0/24";
const FRR_HOST: &str = "10.1.1.1";
const FRR_NET6: &str = "fd00:1::/64";
const FRR_HOST6: &str = "fd00:1::1";
const BIRD_NET: &str = "10.2.2.0/24";
const BIRD_HOST: &str = "10.2.2.1";
const BIRD_NET6: &str = "fd00:2::/64";
const BIRD_HOST6: &str = "fd00:2::1";

const RBGPD_NEIGHBORS: &str = "
[[neighbor]]
interface = \"n-frr\"
remote_as = 65100
connect_retry = 1

[[neighbor]]
interface = \"n-b*\"
remote_as = 65200
connect_retry = 1
";

/// FRR as in a BGP-unnumbered fabric: the neighbor is its interface.
fn frr_config() -> String {
    format!(
        "frr defaults traditional\nhostname unnumbered-frr\nlog stdout informational\n!\n\
         router bgp 65100\n bgp router-id {FRR_HOST}\n no bgp ebgp-requires-policy\n\
         \x20neighbor eth0 interface remote-as 65000\n\
         \x20neighbor eth0 timers connect 1\n !\n\
         \x20address-family ipv4 unicast\n  network {FRR_NET}\n exit-address-family\n\
         \x20address-family ipv6 unicast\n  network {FRR_NET6}\n\
         \x20 neighbor eth0 activate\n exit-address-family\n!\n"
    )
}

/// BIRD peering with rbgpd's link-local address on its `eth0`, passive:
/// rbgpd must find it from its router advertisements and dial it.
fn bird_config(rbgpd_ll: &str) -> String {
    format!(
        r#"log stderr all;
router id {BIRD_HOST};
protocol device {{ }}
protocol direct {{ ipv4; ipv6; interface "lo"; }}
protocol kernel {{ ipv4 {{ export where source = RTS_BGP; }}; }}
protocol kernel {{ ipv6 {{ export where source = RTS_BGP; }}; }}
protocol radv {{
    interface "eth0" {{ min ra interval 3; max ra interval 4; default lifetime 0; }};
}}
protocol bgp rbgpd {{
    local as 65200;
    neighbor {rbgpd_ll} as 65000;
    interface "eth0";
    passive on;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 {{ extended next hop on; import all; export where source = RTS_DEVICE; }};
    ipv6 {{ import all; export where source = RTS_DEVICE; }};
}}
"#
    )
}

/// rbgpd's neighbor on `link`, from `show peers`.
fn peer_on(lab: &DualLab, link: &str) -> Option<Value> {
    lab.ctl(&["show", "peers"])["peers"]
        .as_array()?
        .iter()
        .find(|p| p["interface"] == link)
        .cloned()
}

fn established_on(lab: &DualLab, link: &str) -> bool {
    peer_on(lab, link).is_some_and(|p| p["state"] == "established")
}

#[test]
fn unnumbered_sessions_with_frr_and_bird_carry_both_families() {
    let roles = [Role::Rt, Role::Frr, Role::Bird];
    let programs = [ZEBRA, FRR_BGPD, "bird"];
    let Some(mut lab) = DualLab::new("unnum", &programs, &roles, |lab| {
        let (rt, frr, bird) = (lab.ns(Role::Rt), lab.ns(Role::Frr), lab.ns(Role::Bird));
        for ns in [rt, frr, bird] {
            // Link-locals usable at once (no duplicate address detection).
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        }
        veth(rt, "n-frr", frr, "eth0")?;
        veth(rt, "n-bird", bird, "eth0")?;
        for (ns, dev) in [(rt, "n-frr"), (rt, "n-bird"), (frr, "eth0"), (bird, "eth0")] {
            ns.link_up(dev)?;
        }
        frr.add_addr("lo", &format!("{FRR_HOST}/24"))?;
        frr.add_addr("lo", &format!("{FRR_HOST6}/64"))?;
        bird.add_addr("lo", &format!("{BIRD_HOST}/24"))?;
        bird.add_addr("lo", &format!("{BIRD_HOST6}/64"))
    }) else {
        return;
    };
    let (rt_to_frr, rt_to_bird) = (
        link_local(lab.ns(Role::Rt), "n-frr"),
        link_local(lab.ns(Role::Rt), "n-bird"),
    );
    let frr_ll = link_local(lab.ns(Role::Frr), "eth0");
    let bird_ll = link_local(lab.ns(Role::Bird), "eth0");
    assert!(rt_to_frr.starts_with("fe80:") && frr_ll.starts_with("fe80:"));

    lab.start_rbgpd_with(RBGPD_NEIGHBORS);
    lab.start_frr(Role::Frr, &frr_config());
    lab.start_bird(Role::Bird, &bird_config(&rt_to_bird));
    wait_for("both unnumbered sessions Established", 40, || {
        established_on(&lab, "n-frr") && established_on(&lab, "n-bird")
    });
    // Each neighbor is the router on its link, at its link-local address.
    let frr = peer_on(&lab, "n-frr").unwrap();
    assert_eq!(frr["address"], frr_ll.as_str(), "{frr}");
    assert_eq!(
        peer_on(&lab, "n-bird").unwrap()["address"],
        bird_ll.as_str()
    );
    // IPv4 rides the IPv6 session (RFC 8950 on by default).
    let v4 = &frr["families"][0];
    assert_eq!(
        (&v4["family"], &v4["next_hop"]),
        (&Value::from("ipv4-unicast"), &Value::from("ipv6")),
        "{frr}"
    );
    let text = lab.ctl_text(&["show", "peers"]);
    assert!(text.contains(&format!("{frr_ll}%n-frr")), "{text}");
    // ... and `show peer` takes it as listed.
    let detail = lab.ctl(&["show", "peer", &format!("{frr_ll}%n-frr")]);
    assert_eq!(
        detail["peer"]["summary"]["address"],
        frr_ll.as_str(),
        "{detail}"
    );

    // Learned with the peers' link-locals as next hops, installed via them
    // on the link each came from.
    wait_for("rbgpd's kernel routes via the link-locals", 30, || {
        lab.kernel_route(Role::Rt, FRR_NET)
            .contains(&format!("via inet6 {frr_ll} dev n-frr"))
            && lab
                .kernel_route(Role::Rt, FRR_NET6)
                .contains(&format!("via {frr_ll} dev n-frr"))
            && lab
                .kernel_route(Role::Rt, BIRD_NET)
                .contains(&format!("via inet6 {bird_ll} dev n-bird"))
            && lab
                .kernel_route(Role::Rt, BIRD_NET6)
                .contains(&format!("via {bird_ll} dev n-bird"))
    });
    // Passed on with rbgpd's own link-local address on each link.
    wait_for("FRR's and BIRD's kernels route via rbgpd", 30, || {
        lab.kernel_route(Role::Frr, BIRD_NET)
            .contains(&format!("via inet6 {rt_to_frr}"))
            && lab.kernel_route(Role::Frr, BIRD_NET6).contains(&rt_to_frr)
            && lab
                .kernel_route(Role::Bird, FRR_NET)
                .contains(&format!("via inet6 {rt_to_bird}"))
            && lab.kernel_route(Role::Bird, FRR_NET6).contains(&rt_to_bird)
    });

    // Traffic crosses the three kernels over links without a single global
    // address, both ways, in both families.
    let (f, b) = (lab.ns(Role::Frr), lab.ns(Role::Bird));
    assert!(
        tcp_connects(f, FRR_HOST, b, BIRD_HOST),
        "rbgpd {} / frr {} / bird {}",
        lab.kernel_route(Role::Rt, BIRD_NET),
        lab.kernel_route(Role::Frr, BIRD_NET),
        lab.kernel_route(Role::Bird, FRR_NET)
    );
    assert!(tcp_connects(b, BIRD_HOST, f, FRR_HOST));
    assert!(tcp_connects(f, FRR_HOST6, b, BIRD_HOST6));
    assert!(tcp_connects(b, BIRD_HOST6, f, FRR_HOST6));

    // A withdrawal follows the same path.
    lab.ns(Role::Bird)
        .ip(&["addr", "del", &format!("{BIRD_HOST}/24"), "dev", "lo"])
        .unwrap();
    wait_for("BIRD's IPv4 prefix withdrawn everywhere", 20, || {
        lab.paths(BIRD_NET).is_empty()
            && lab.kernel_route(Role::Rt, BIRD_NET).is_empty()
            && lab.kernel_route(Role::Frr, BIRD_NET).is_empty()
    });
    assert!(
        !lab.paths(FRR_NET).is_empty(),
        "{}",
        lab.log_tail("rbgpd.log")
    );
}

/// gobgpd as an unnumbered node: its neighbor is whoever its kernel knows
/// on `eth0` (GoBGP reads one link-local from the neighbour table).
fn start_gobgp_node(lab: &mut DualLab) {
    let cfg = r#"[global.config]
  as = 65300
  router-id = "10.10.1.1"
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-interface = "eth0"
    peer-as = 65000
  [neighbors.timers.config]
    hold-time = 9
    keepalive-interval = 3
    connect-retry = 1
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#;
    let conf = lab.path("gobgpd.toml");
    std::fs::write(&conf, cfg).unwrap();
    lab.spawn(
        Role::Node1,
        "gobgpd",
        &["-f", &conf, "--api-hosts", "127.0.0.1:50051"],
        "gobgpd.log",
    );
    let gobgp = |args: &[&str]| {
        let out = lab
            .ns(Role::Node1)
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
    };
    wait_for("gobgpd's API", 10, || !gobgp(&["global"]).contains("rror"));
    let out = gobgp(&["global", "rib", "add", NODE_POD, "-a", "ipv6"]);
    assert!(!out.contains("rror"), "gobgp rib add: {out}");
}

/// Whether the node's kernel has `addr` in its neighbour table on `eth0`.
fn node_knows(lab: &DualLab, addr: &str) -> bool {
    lab.ns(Role::Node1)
        .ip(&["-6", "neigh", "show", "dev", "eth0"])
        .unwrap_or_default()
        .contains(addr)
}

#[test]
fn a_gobgp_node_finds_rbgpd_in_its_neighbour_table_and_a_new_node_replaces_it() {
    let roles = [Role::Rt, Role::Node1];
    let Some(mut lab) = DualLab::new("unnum-gobgp", &["gobgpd", "gobgp"], &roles, |lab| {
        let (rt, node) = (lab.ns(Role::Rt), lab.ns(Role::Node1));
        for ns in [rt, node] {
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        }
        // A host: it solicits routers when its link comes up.
        node.sysctl("net.ipv6.conf.all.forwarding", "0")?;
        veth(rt, "veth-n1", node, "eth0")?;
        rt.link_up("veth-n1")?;
        node.link_up("eth0")
    }) else {
        return;
    };
    let rt_ll = link_local(lab.ns(Role::Rt), "veth-n1");
    lab.start_rbgpd_with(
        "\n[[neighbor]]\ninterface = \"veth*\"\nremote_as = 65300\nconnect_retry = 1\n",
    );
    // rbgpd's advertisement (with its MAC) puts it in the node's table.
    wait_for("the node's kernel learns rbgpd's link-local", 15, || {
        node_knows(&lab, &rt_ll)
    });
    start_gobgp_node(&mut lab);
    let node_ll = link_local(lab.ns(Role::Node1), "eth0");
    wait_for("the node's session Established", 30, || {
        established_on(&lab, "veth-n1")
    });
    assert_eq!(
        peer_on(&lab, "veth-n1").unwrap()["address"],
        node_ll.as_str()
    );
    wait_for(
        "the pod prefix installed via the node's link-local",
        20,
        || {
            lab.kernel_route(Role::Rt, NODE_POD)
                .contains(&format!("via {node_ll} dev veth-n1"))
        },
    );

    // The node is replaced: new MAC, so a new link-local address.
    lab.stop_last();
    let node = lab.ns(Role::Node1);
    node.ip(&["link", "set", "eth0", "down"]).unwrap();
    node.ip(&["link", "set", "eth0", "address", "02:00:00:00:01:99"])
        .unwrap();
    node.link_up("eth0").unwrap();
    let new_ll = link_local(lab.ns(Role::Node1), "eth0");
    assert_ne!(new_ll, node_ll);
    wait_for(
        "the new node's kernel learns rbgpd's link-local",
        15,
        || node_knows(&lab, &rt_ll),
    );
    start_gobgp_node(&mut lab);
    wait_for(
        "the new node's session replaces the old neighbor",
        30,
        || {
            let on_link: Vec<Value> = lab.ctl(&["show", "peers"])["peers"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["interface"] == "veth-n1")
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            on_link.len() == 1
                && on_link[0]["address"] == new_ll.as_str()
                && on_link[0]["state"] == "established"
        },
    );
    wait_for("the pod prefix follows the new node", 20, || {
        lab.kernel_route(Role::Rt, NODE_POD)
            .contains(&format!("via {new_ll} dev veth-n1"))
    });
}

/// Sends one router advertisement from `source` (an address of `dev` in
/// the calling thread's namespace) to all nodes on `dev`, with hop limit
/// `hops`.
fn send_advert(dev_index: u32, source: std::net::Ipv6Addr, hops: u32) -> std::io::Result<()> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    use std::net::SocketAddrV6;
    let s = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    s.bind(&SockAddr::from(SocketAddrV6::new(source, 0, 0, dev_index)))?;
    s.set_multicast_hops_v6(hops)?;
    // Type 134, code 0, checksum (the kernel's), hop limit, flags,
    // router lifetime 0, reachable and retrans timers 0.
    let advert = [134u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let all_nodes = SocketAddrV6::new("ff02::1".parse().unwrap(), 0, 0, dev_index);
    s.send_to(&advert, &SockAddr::from(all_nodes))?;
    Ok(())
}

/// Interface index of `dev` in `ns`.
fn ifindex(ns: &testbed::Netns, dev: &str) -> u32 {
    let out = ns.ip(&["-o", "link", "show", "dev", dev]).unwrap();
    out.split(':').next().unwrap().trim().parse().unwrap()
}

#[test]
fn a_host_advertising_from_ever_new_addresses_costs_one_neighbor() {
    let roles = [Role::Rt, Role::Node1];
    let Some(mut lab) = DualLab::new("unnum-flood", &[], &roles, |lab| {
        let (rt, host) = (lab.ns(Role::Rt), lab.ns(Role::Node1));
        for ns in [rt, host] {
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0")?;
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0")?;
        }
        veth(rt, "veth-h", host, "eth0")?;
        rt.link_up("veth-h")?;
        host.link_up("eth0")
    }) else {
        return;
    };
    lab.start_rbgpd_with(
        "\n[[neighbor]]\ninterface = \"veth*\"\nremote_as = 65300\nconnect_retry = 1\n",
    );
    let host = lab.ns(Role::Node1);
    let dev = ifindex(host, "eth0");
    const SOURCES: u16 = 300;
    let sources: Vec<std::net::Ipv6Addr> = (1..=SOURCES)
        .map(|i| std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0xbad, i))
        .collect();
    for a in &sources {
        host.ip(&["addr", "add", &format!("{a}/64"), "dev", "eth0", "nodad"])
            .unwrap();
    }
    // Forwarded adverts (hop limit below 255) do not count at all.
    host.run(|| send_advert(dev, sources[0], 254))
        .unwrap()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        peer_on(&lab, "veth-h").is_none(),
        "a forwarded advert made a neighbor"
    );
    // Three rounds of adverts from 300 addresses, as fast as they go.
    let started = std::time::Instant::now();
    for _ in 0..3 {
        for a in &sources {
            host.run(|| send_advert(dev, *a, 255)).unwrap().unwrap();
        }
    }
    let sent = started.elapsed();
    std::thread::sleep(std::time::Duration::from_secs(2));
    // The link has one neighbor (the latest address, at most once a second)
    // plus those still closing; rbgpd answers, and its log stays short.
    let peers = lab.ctl(&["show", "peers"])["peers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let on_link = peers.iter().filter(|p| p["interface"] == "veth-h").count();
    let bound = 2 + sent.as_secs() as usize;
    assert!(
        (1..=bound).contains(&on_link),
        "{on_link} neighbors on the link after {sent:?}: {peers:?}"
    );
    wait_for("the link's neighbors down to one", 10, || {
        lab.ctl(&["show", "peers"])["peers"]
            .as_array()
            .is_some_and(|ps| ps.iter().filter(|p| p["interface"] == "veth-h").count() == 1)
    });
    let log = lab.log("rbgpd.log");
    let removed = log.matches("unnumbered neighbor removed").count();
    println!(
        "{} adverts from {SOURCES} addresses in {sent:?}: {on_link} neighbors on the link \
         2 s later, {removed} removal log lines",
        3 * SOURCES
    );
    assert!(
        removed <= 3 + sent.as_secs() as usize / 10,
        "{removed} removal lines for {} adverts",
        3 * SOURCES
    );
}
