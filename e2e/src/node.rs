//! The lab's nodes as shared/LAB.md lists them: addresses, ASes, pod
//! CIDRs, and the cluster-wide addresses (router, LoadBalancer) a node
//! needs to know. Their IPv6 side is `ipv6.rs`.

use std::net::Ipv4Addr;

/// Router address on the cluster-1 network (eth0).
pub const ROUTER1: Ipv4Addr = Ipv4Addr::new(172, 18, 0, 5);
/// Router address on the cluster-2 network (eth1).
pub const ROUTER2: Ipv4Addr = Ipv4Addr::new(172, 19, 0, 5);
/// Cluster 1's LoadBalancer IP.
pub const LB1: Ipv4Addr = Ipv4Addr::new(10, 11, 192, 248);
/// Cluster 2's LoadBalancer IP.
pub const LB2: Ipv4Addr = Ipv4Addr::new(10, 12, 225, 247);

/// One node of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeSpec {
    /// Short name, "c1-cp"; the namespace is "rb-c1-cp".
    pub name: String,
    /// 1 or 2.
    pub cluster: u8,
    /// Node IP (router id of its speaker).
    pub ip: Ipv4Addr,
    /// Pod CIDR /24 it announces.
    pub pod_cidr: String,
    /// A pod address inside it, on `lo`.
    pub pod_ip: Ipv4Addr,
}

impl NodeSpec {
    fn new(name: &str, cluster: u8, ip: [u8; 4], pod_third_octet: u8) -> NodeSpec {
        let second = if cluster == 1 { 241 } else { 242 };
        NodeSpec {
            name: name.into(),
            cluster,
            ip: ip.into(),
            pod_cidr: format!("10.{second}.{pod_third_octet}.0/24"),
            pod_ip: Ipv4Addr::new(10, second, pod_third_octet, 10),
        }
    }

    /// The namespace name.
    pub fn ns_name(&self) -> String {
        format!("rb-{}", self.name)
    }

    /// Node AS: 65100 or 65200.
    pub fn asn(&self) -> u32 {
        if self.cluster == 1 {
            65100
        } else {
            65200
        }
    }

    /// The cluster's LB IP.
    pub fn lb_ip(&self) -> Ipv4Addr {
        if self.cluster == 1 {
            LB1
        } else {
            LB2
        }
    }

    /// The router's address on this node's network.
    pub fn router_ip(&self) -> Ipv4Addr {
        if self.cluster == 1 {
            ROUTER1
        } else {
            ROUTER2
        }
    }

    /// BIRD protocol name ("c1_cp").
    pub fn proto_name(&self) -> String {
        self.name.replace('-', "_")
    }
}

/// The six nodes, addresses and pod CIDRs exactly as in shared/LAB.md.
pub fn lab_nodes() -> Vec<NodeSpec> {
    vec![
        NodeSpec::new("c1-cp", 1, [172, 18, 0, 2], 0),
        NodeSpec::new("c1-w1", 1, [172, 18, 0, 3], 1),
        NodeSpec::new("c1-w2", 1, [172, 18, 0, 4], 2),
        NodeSpec::new("c2-cp", 2, [172, 19, 0, 4], 0),
        NodeSpec::new("c2-w1", 2, [172, 19, 0, 3], 2),
        NodeSpec::new("c2-w2", 2, [172, 19, 0, 2], 1),
    ]
}

/// A seventh node joining cluster 1 (check 8): 172.18.0.6, 10.241.3.0/24.
pub fn seventh_node() -> NodeSpec {
    NodeSpec::new("c1-w3", 1, [172, 18, 0, 6], 3)
}
