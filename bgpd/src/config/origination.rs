//! What the router originates and how its sessions pass routes on:
//! `[[route]]`, `[router] redistribute`, and the neighbor keys
//! `default_originate` and `route_reflector_client`, with their checks.

use super::diag::KeyPath;
use super::validate::{check_communities, check_policy_ref, parse_prefix, Checker};
use super::Config;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// What `[router] redistribute` takes.
pub const REDISTRIBUTE_NAMES: [&str; 1] = ["connected"];

/// One `[[route]]`: a prefix this router announces to its peers (never
/// written to its own kernel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticRoute {
    /// The prefix, e.g. `"10.0.0.0/8"` or `"::/0"`.
    pub prefix: String,
    /// The next hop announced; default: our address on each session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop: Option<IpAddr>,
    /// Announce with the BLACKHOLE community (RFC 7999), via us.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blackhole: bool,
    /// Communities ("A:B", "A:B:C" large, or a well-known name).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,
    /// LOCAL_PREF towards iBGP peers (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
}

/// Checks `[[route]]`, `redistribute` and the neighbors' origination and
/// reflection keys.
pub(super) fn check_origination(c: &mut Checker<'_, '_>, cfg: &Config, policies: &[String]) {
    let router = KeyPath::default().key("router");
    for (i, r) in cfg.router.redistribute.iter().enumerate() {
        if !REDISTRIBUTE_NAMES.contains(&r.as_str()) {
            c.err(
                &router.key("redistribute").index(i),
                format!("cannot redistribute \"{r}\", expected \"connected\""),
            );
        }
    }
    if let Some(policy) = &cfg.router.redistribute_policy {
        check_policy_ref(c, &router.key("redistribute_policy"), policy, policies);
    }
    if cfg.router.cluster_id.is_some_and(|id| id.is_unspecified()) {
        c.err(
            &router.key("cluster_id"),
            "cluster_id 0.0.0.0 is invalid, expected a non-zero IPv4 address \
             (the default is the router id)"
                .into(),
        );
    }
    check_routes(c, cfg);
    for (i, n) in cfg.neighbors.iter().enumerate() {
        if let Some(t) = n.table.filter(|t| matches!(t, 0 | 253 | 255)) {
            c.err(
                &KeyPath::default().key("neighbor").index(i).key("table"),
                format!(
                    "table {t} is reserved (0 unspecified, 253 default, 255 local), expected \
                     1 to 252, 254 (main) or 256 and up"
                ),
            );
        }
        if let Some(vrf) = &n.vrf {
            let key = KeyPath::default().key("neighbor").index(i).key("vrf");
            if n.table.is_some() {
                c.err(
                    &key,
                    "vrf and table both set: the VRF device already names the table,                      keep one of them"
                        .into(),
                );
            }
            // IFNAMSIZ: 15 octets and the NUL.
            if vrf.is_empty() || vrf.len() > 15 || vrf.contains(['/', ' ']) {
                c.err(
                    &key,
                    format!(
                        "vrf {vrf:?} is not a link name, expected the name of a VRF device                          (1 to 15 characters, no '/' or space)"
                    ),
                );
            }
        }
        if let Some(name) = &n.cluster {
            if name.is_empty() || name.len() > 64 || name.chars().any(char::is_control) {
                c.err(
                    &KeyPath::default().key("neighbor").index(i).key("cluster"),
                    format!(
                        "cluster {name:?} is not a usable name, expected 1 to 64 printable \
                         characters (a label in rbgpctl and in metrics)"
                    ),
                );
            }
        }
        if n.route_reflector_client && n.remote_as.is_external(cfg.router.asn) {
            c.err(
                &KeyPath::default()
                    .key("neighbor")
                    .index(i)
                    .key("route_reflector_client"),
                format!(
                    "route_reflector_client needs an iBGP neighbor (remote_as {} or \
                     \"internal\"); route reflection is within one AS (RFC 4456)",
                    cfg.router.asn
                ),
            );
        }
    }
}

fn check_routes(c: &mut Checker<'_, '_>, cfg: &Config) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, r) in cfg.routes.iter().enumerate() {
        let p = KeyPath::default().key("route").index(i);
        let net = match parse_prefix(&r.prefix) {
            Ok(net) => net,
            Err(e) => {
                c.err(&p.key("prefix"), e);
                continue;
            }
        };
        let key = net.to_string();
        if let Some(&first) = seen.get(&key) {
            let line = c.loc.line_of(&KeyPath::default().key("route").index(first));
            c.err(
                &p.key("prefix"),
                format!("route {key} is given twice (first at line {line})"),
            );
        } else {
            seen.insert(key, i);
        }
        match (r.next_hop, r.blackhole) {
            (Some(_), true) => c.err(
                &p.key("blackhole"),
                "a blackhole route is announced via us: give next_hop or blackhole, not both"
                    .into(),
            ),
            (Some(nh), false) if nh.is_ipv4() != net.is_ipv4() => c.err(
                &p.key("next_hop"),
                format!(
                    "next hop {nh} is not of the prefix's family, expected an IPv{} address",
                    if net.is_ipv4() { 4 } else { 6 }
                ),
            ),
            (Some(nh), false) if !usable_next_hop(nh) => c.err(
                &p.key("next_hop"),
                format!(
                    "next hop {nh} cannot be announced (unspecified, loopback, broadcast, \
                     multicast or link-local), expected a unicast address on a network the \
                     peers share; leave it out to announce us"
                ),
            ),
            _ => {}
        }
        check_communities(c, &p.key("communities"), Some(&r.communities));
    }
}

/// An address peers can forward to: not unspecified, loopback, broadcast,
/// multicast or link-local (which names no link off the router).
fn usable_next_hop(nh: IpAddr) -> bool {
    !nh.is_unspecified()
        && !nh.is_loopback()
        && !nh.is_multicast()
        && match nh {
            IpAddr::V4(a) => !a.is_broadcast() && !a.is_link_local(),
            IpAddr::V6(a) => !a.is_unicast_link_local(),
        }
}
