//! Helpers shared by the integration tests: a lab-like RIB (AS 65000,
//! router id 172.18.0.5) and peers like the Cilium nodes.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bgp_proto::msg::attributes::{AsPath, Origin, PathAttributes};
use bgp_proto::types::{Family, Nlri, Prefix};
use rib::policy::{Policy, PolicyRef, PrefixList};
use rib::{PeerInfo, Rib, RibConfig};
use std::net::{IpAddr, Ipv4Addr};

pub const LOCAL_AS: u32 = 65000;

pub fn config() -> RibConfig {
    RibConfig {
        local_as: LOCAL_AS,
        router_id: Ipv4Addr::new(172, 18, 0, 5),
        max_paths: 8,
        multipath_relax: false,
        always_compare_med: false,
        cluster_id: None,
        policies: Vec::new(),
        prefix_lists: Vec::new(),
    }
}

pub fn rib() -> Rib {
    Rib::new(config()).unwrap()
}

pub fn rib_with(policies: Vec<Policy>, prefix_lists: Vec<PrefixList>) -> Rib {
    Rib::new(RibConfig {
        policies,
        prefix_lists,
        ..config()
    })
    .unwrap()
}

/// Peer `id` at 172.18.0.`id` in `asn`, our address 172.18.0.5.
pub fn peer(id: u32, asn: u32) -> PeerInfo {
    let last = u8::try_from(id).unwrap();
    PeerInfo {
        id,
        addr: IpAddr::V4(Ipv4Addr::new(172, 18, 0, last)),
        remote_as: asn,
        router_id: Ipv4Addr::new(172, 18, 0, last),
        local_v4: Some(Ipv4Addr::new(172, 18, 0, 5)),
        local_v6: None,
        import: PolicyRef::All,
        export: PolicyRef::All,
        next_hop_unchanged: false,
        enforce_first_as: false,
        families: vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST],
        extended_next_hop: false,
        route_reflector_client: false,
        default_originate: false,
        add_path_send: Vec::new(),
        add_path_max: 0,
        fib_table: 0,
        sender_as_loop_check: false,
    }
}

pub fn attrs(path: &[u32]) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: AsPath::from_sequence(path.to_vec()),
        ..PathAttributes::default()
    }
}

pub fn p(s: &str) -> Prefix {
    s.parse().unwrap()
}

pub fn n(s: &str) -> Nlri {
    Nlri::new(p(s))
}

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Announces `prefix` from peer `id` (next hop = the peer's address).
pub fn announce(rib: &mut Rib, id: u32, prefix: &str, path: &[u32]) {
    let nh = IpAddr::V4(Ipv4Addr::new(172, 18, 0, u8::try_from(id).unwrap()));
    rib.update(id, [n(prefix)], nh, attrs(path)).unwrap();
}
