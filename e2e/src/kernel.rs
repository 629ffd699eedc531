//! Reading a namespace's kernel routing table (`ip -j route`).

use crate::{Error, Result};
use std::net::Ipv4Addr;
use testbed::Netns;

/// One IPv4 route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRoute {
    /// Destination with prefix length ("10.11.192.248/32", "default").
    pub dst: String,
    /// Routing protocol as `ip` names it ("bird", "bgp", "kernel", ...).
    pub protocol: String,
    /// Gateways: one for a plain route, several for ECMP, none for a
    /// directly connected route.
    pub gateways: Vec<Ipv4Addr>,
    /// Output devices, in the same order as the gateways where present.
    pub devs: Vec<String>,
}

/// The IPv4 main-table routes of `ns`.
pub fn routes(ns: &Netns) -> Result<Vec<KernelRoute>> {
    parse_routes(&ns.ip(&["-j", "-4", "route", "show"])?)
}

/// The human-readable `ip route` of `ns` (as the write-up shows it).
pub fn routes_text(ns: &Netns) -> Result<String> {
    Ok(ns.ip(&["-4", "route", "show"])?)
}

/// Finds the route for `dst` ("10.241.0.0/24" or "10.11.192.248/32").
pub fn find<'a>(routes: &'a [KernelRoute], dst: &str) -> Option<&'a KernelRoute> {
    routes.iter().find(|r| r.dst == dst)
}

/// Parses `ip -j -4 route show`.
pub fn parse_routes(json: &str) -> Result<Vec<KernelRoute>> {
    let err = |d: String| Error::Parse {
        what: "ip -j route".into(),
        detail: d,
    };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
    let arr = v.as_array().ok_or_else(|| err("not an array".into()))?;
    let mut out = Vec::new();
    for r in arr {
        let Some(dst) = r.get("dst").and_then(|d| d.as_str()) else {
            continue;
        };
        let dst = if dst == "default" || dst.contains('/') {
            dst.to_string()
        } else {
            format!("{dst}/32")
        };
        let protocol = r
            .get("protocol")
            .and_then(|p| p.as_str())
            .unwrap_or("boot")
            .to_string();
        let mut gateways = Vec::new();
        let mut devs = Vec::new();
        let mut take = |hop: &serde_json::Value| {
            if let Some(gw) = hop.get("gateway").and_then(|g| g.as_str()) {
                if let Ok(a) = gw.parse() {
                    gateways.push(a);
                }
            }
            if let Some(d) = hop.get("dev").and_then(|d| d.as_str()) {
                devs.push(d.to_string());
            }
        };
        match r.get("nexthops").and_then(|n| n.as_array()) {
            Some(hops) => hops.iter().for_each(&mut take),
            None => take(r),
        }
        out.push(KernelRoute {
            dst,
            protocol,
            gateways,
            devs,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_ecmp() {
        let j = r#"[
 {"dst":"10.11.192.248","gateway":"172.18.0.2","dev":"eth0","protocol":"bird","metric":32,"flags":[]},
 {"dst":"10.12.225.247","protocol":"bgp","metric":32,"flags":[],"nexthops":[
   {"gateway":"172.19.0.2","dev":"eth1","weight":1,"flags":[]},
   {"gateway":"172.19.0.3","dev":"eth1","weight":1,"flags":[]}]},
 {"dst":"172.18.0.0/16","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"172.18.0.5","flags":[]}
]"#;
        let r = parse_routes(j).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[0].dst, "10.11.192.248/32");
        assert_eq!(r[0].gateways, vec![Ipv4Addr::new(172, 18, 0, 2)]);
        assert_eq!(r[1].protocol, "bgp");
        assert_eq!(r[1].gateways.len(), 2);
        assert_eq!(r[1].devs, vec!["eth1", "eth1"]);
        assert!(r[2].gateways.is_empty());
        assert!(find(&r, "172.18.0.0/16").is_some());
    }
}
