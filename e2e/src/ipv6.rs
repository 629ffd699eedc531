//! The lab's IPv6 side, as Cilium runs dual stack over IPv4 sessions: each
//! node also announces an IPv6 pod prefix and its cluster's IPv6
//! LoadBalancer address, with no next hop of its own (GoBGP sends its
//! IPv4 address, mapped). The cluster networks carry IPv6 link-locals
//! only; the router answers on `fe80::5` on both (as 172.1x.0.5), and the
//! nodes route the other cluster's IPv6 ranges through it.
//!
//! | cluster | pods (a /64 per node)  | LoadBalancer     |
//! |---------|------------------------|------------------|
//! | 1       | `fd00:10:241:N::/64`   | `fd00:11::248`   |
//! | 2       | `fd00:10:242:N::/64`   | `fd00:12::247`   |

use crate::node::NodeSpec;
use crate::{Error, Result};
use std::net::Ipv6Addr;
use testbed::Netns;

/// The router's link-local address on both cluster networks.
pub const ROUTER_LL: &str = "fe80::5";
/// Cluster 1's IPv6 LoadBalancer address.
pub const LB6_1: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x11, 0, 0, 0, 0, 0, 0x248);
/// Cluster 2's IPv6 LoadBalancer address.
pub const LB6_2: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x12, 0, 0, 0, 0, 0, 0x247);

/// The IPv6 ranges of `cluster`: its pods and its LoadBalancers.
fn cluster_ranges(cluster: u8) -> [&'static str; 2] {
    if cluster == 1 {
        ["fd00:10:241::/48", "fd00:11::/64"]
    } else {
        ["fd00:10:242::/48", "fd00:12::/64"]
    }
}

impl NodeSpec {
    /// The node's IPv6 pod prefix, mirroring its IPv4 one
    /// (10.241.1.0/24: `fd00:10:241:1::/64`).
    pub fn pod_cidr6(&self) -> String {
        format!("{}/64", self.pod_net6(0))
    }

    /// A pod address inside it (`::10`), on `lo`.
    pub fn pod_ip6(&self) -> Ipv6Addr {
        self.pod_net6(0x10)
    }

    /// Address `host` of the IPv6 pod prefix: the IPv4 octets' decimal
    /// digits read as hex, so the two plans look alike.
    fn pod_net6(&self, host: u16) -> Ipv6Addr {
        let net = self.pod_ip.octets();
        let hex = |d: u8| u16::from_str_radix(&d.to_string(), 16).unwrap_or(0);
        Ipv6Addr::new(0xfd00, 0x10, hex(net[1]), hex(net[2]), 0, 0, 0, host)
    }

    /// The cluster's IPv6 LoadBalancer address.
    pub fn lb_ip6(&self) -> Ipv6Addr {
        if self.cluster == 1 {
            LB6_1
        } else {
            LB6_2
        }
    }
}

/// The router's side: `fe80::5` on each cluster link. IPv6 is turned on
/// first: Docker turns it off in a container on a network without IPv6
/// (the rbgpd image as router).
pub fn wire_router(router: &Netns, devs: &[&str]) -> Result<()> {
    router.sysctl("net.ipv6.conf.all.disable_ipv6", "0")?;
    for dev in devs {
        router.sysctl(&format!("net.ipv6.conf.{dev}.disable_ipv6"), "0")?;
        router.ip(&[
            "addr",
            "add",
            &format!("{ROUTER_LL}/64"),
            "dev",
            dev,
            "nodad",
        ])?;
    }
    Ok(())
}

/// A node's side: its pod and LoadBalancer addresses on `lo`.
pub fn wire_node(ns: &Netns, spec: &NodeSpec) -> Result<()> {
    ns.ip(&[
        "addr",
        "add",
        &format!("{}/128", spec.pod_ip6()),
        "dev",
        "lo",
    ])?;
    ns.ip(&[
        "addr",
        "add",
        &format!("{}/128", spec.lb_ip6()),
        "dev",
        "lo",
    ])?;
    Ok(())
}

/// The static routes of a host of `cluster` to the other cluster's IPv6
/// ranges through the router (again after a link flap, which drops them).
pub fn static_routes(ns: &Netns, cluster: u8) -> Result<()> {
    let other = if cluster == 1 { 2 } else { 1 };
    for dst in cluster_ranges(other) {
        ns.ip(&[
            "-6", "route", "replace", dst, "via", ROUTER_LL, "dev", "eth0",
        ])?;
    }
    Ok(())
}

/// The link-local address of `dev` in `ns`.
pub fn link_local(ns: &Netns, dev: &str) -> Result<Ipv6Addr> {
    let out = ns.ip(&["-6", "-o", "addr", "show", "dev", dev, "scope", "link"])?;
    out.split_whitespace()
        .nth(3)
        .and_then(|cidr| cidr.split('/').next())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| Error::Missing(format!("link-local address of {dev} in {}", ns.name())))
}

/// One IPv6 route of the main table: destination and (gateway, device)
/// of each next hop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route6 {
    /// Destination with prefix length.
    pub dst: String,
    /// Next hops.
    pub via: Vec<(Ipv6Addr, String)>,
}

/// The IPv6 routes of `ns` with a gateway.
pub fn routes(ns: &Netns) -> Result<Vec<Route6>> {
    parse_routes(&ns.ip(&["-j", "-6", "route", "show"])?)
}

/// Parses `ip -j -6 route show`.
pub fn parse_routes(json: &str) -> Result<Vec<Route6>> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| Error::Parse {
        what: "ip -j -6 route".into(),
        detail: e.to_string(),
    })?;
    let mut out = Vec::new();
    for r in v.as_array().into_iter().flatten() {
        let Some(dst) = r.get("dst").and_then(|d| d.as_str()) else {
            continue;
        };
        let dst = if dst.contains('/') || dst == "default" {
            dst.to_string()
        } else {
            format!("{dst}/128")
        };
        let hop = |h: &serde_json::Value| {
            let gw = h.get("gateway")?.as_str()?.parse().ok()?;
            Some((gw, h.get("dev")?.as_str()?.to_string()))
        };
        let via: Vec<(Ipv6Addr, String)> = match r.get("nexthops").and_then(|n| n.as_array()) {
            Some(hops) => hops.iter().filter_map(hop).collect(),
            None => hop(r).into_iter().collect(),
        };
        if !via.is_empty() {
            out.push(Route6 { dst, via });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::lab_nodes;

    #[test]
    fn node_addresses_mirror_the_ipv4_plan() {
        let nodes = lab_nodes();
        let c1w1 = nodes.iter().find(|n| n.name == "c1-w1").unwrap();
        assert_eq!(c1w1.pod_cidr6(), "fd00:10:241:1::/64");
        let c1cp = nodes.iter().find(|n| n.name == "c1-cp").unwrap();
        assert_eq!(c1cp.pod_cidr6(), "fd00:10:241::/64", "as ip prints it");
        assert_eq!(
            c1w1.pod_ip6(),
            "fd00:10:241:1::10".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(c1w1.lb_ip6(), LB6_1);
    }

    #[test]
    fn parses_plain_and_ecmp_link_local_routes() {
        let j = r#"[
 {"dst":"fd00:10:241:1::/64","gateway":"fe80::42:acff:fe12:3","dev":"eth0","protocol":"bgp","metric":32,"flags":[],"pref":"medium"},
 {"dst":"fd00:12::247","protocol":"bgp","metric":32,"flags":[],"pref":"medium","nexthops":[
   {"gateway":"fe80::1","dev":"eth1","weight":1,"flags":[]},
   {"gateway":"fe80::2","dev":"eth1","weight":1,"flags":[]}]},
 {"dst":"fe80::/64","dev":"eth0","protocol":"kernel","metric":256,"flags":[],"pref":"medium"}
]"#;
        let r = parse_routes(j).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(
            r[0].via,
            vec![("fe80::42:acff:fe12:3".parse().unwrap(), "eth0".into())]
        );
        assert_eq!(r[1].dst, "fd00:12::247/128");
        assert_eq!(r[1].via.len(), 2);
    }
}
