//! `rbgpctl show clusters`: the answer's wire form and its text. A cluster
//! is a `range` (or the neighbors sharing a `cluster` label): its nodes
//! Established against those known, End-of-RIB per family, the nodes in a
//! graceful restart with their stale timers, and each service address
//! (a host route its nodes announce) with the ECMP width against the
//! number of nodes announcing it.

use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::net::IpAddr;

use super::format::table;

/// One cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterView {
    /// Its name: the `cluster` label, else the range's description, else
    /// the range.
    pub name: String,
    /// Nodes whose session is Established.
    pub established: usize,
    /// Nodes rbgpd knows (configured, connected, or remembered).
    pub known: usize,
    /// Per negotiated family.
    pub families: Vec<ClusterFamily>,
    /// Nodes down with their routes kept (graceful restart).
    pub restarting: Vec<RestartingNode>,
    /// Host routes (service addresses) its nodes announce.
    pub services: Vec<ServiceView>,
}

/// End-of-RIB of one family across a cluster's Established nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFamily {
    /// `ipv4-unicast` or `ipv6-unicast`.
    pub family: String,
    /// Established nodes that negotiated the family.
    pub sessions: usize,
    /// Of those, the nodes whose End-of-RIB we received.
    pub end_of_rib_received: usize,
    /// Of those, the nodes we sent End-of-RIB (after their initial table).
    pub end_of_rib_sent: usize,
}

/// A node restarting gracefully: its routes are kept, stale, until it is
/// back or the timer ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestartingNode {
    /// The node.
    pub address: IpAddr,
    /// Seconds until its stale routes go.
    pub stale_secs_left: u64,
}

/// A service address of the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceView {
    /// The host route.
    pub prefix: String,
    /// The cluster's nodes announcing it (candidate paths).
    pub announcing: usize,
    /// Paths in the RIB's ECMP group (all clusters).
    pub ecmp_width: usize,
    /// Next hops in the kernel, when the FIB was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_width: Option<usize>,
}

/// The text of `show clusters`.
pub fn text(clusters: &[ClusterView]) -> String {
    if clusters.is_empty() {
        return "No clusters (a cluster is a range, or neighbors sharing a `cluster` label).\n"
            .into();
    }
    let mut out = String::new();
    for (i, c) in clusters.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Cluster {}: {} of {} nodes Established",
            c.name, c.established, c.known
        );
        for f in &c.families {
            let _ = writeln!(
                out,
                "  {}: End-of-RIB received from {} of {}, sent to {} of {}",
                f.family, f.end_of_rib_received, f.sessions, f.end_of_rib_sent, f.sessions
            );
        }
        for r in &c.restarting {
            let _ = writeln!(
                out,
                "  {} restarting: stale routes kept for {} s more",
                r.address, r.stale_secs_left
            );
        }
        if c.services.is_empty() {
            continue;
        }
        let rows: Vec<Vec<String>> = c
            .services
            .iter()
            .map(|s| {
                let kernel = s.kernel_width.map_or_else(|| "-".into(), |k| k.to_string());
                let short = s.kernel_width.unwrap_or(s.ecmp_width) < s.announcing;
                vec![
                    s.prefix.clone(),
                    s.announcing.to_string(),
                    s.ecmp_width.to_string(),
                    kernel,
                    if short {
                        "fewer next hops than nodes"
                    } else {
                        ""
                    }
                    .into(),
                ]
            })
            .collect();
        let t = table(&["Service", "Nodes", "ECMP", "Kernel", ""], &rows);
        for line in t.lines() {
            let _ = writeln!(out, "  {}", line.trim_end());
        }
    }
    out
}
