//! Cluster views (`rbgpctl show clusters`, `rbgpd_cluster_nodes`): a
//! `range`, or the neighbors sharing a `cluster` label, is a cluster; its
//! nodes, End-of-RIB, graceful restarts and service addresses.

use super::{Core, CtlContext, FibView};
use crate::config::NeighborConfig;
use crate::ctl::clusters::{ClusterFamily, ClusterView, RestartingNode, ServiceView};
use crate::ctl::proto::Response;
use crate::peer::PeerStatus;
use bgp_proto::fsm::State;
use bgp_proto::{Family, Prefix};
use std::collections::HashMap;
use std::net::IpAddr;

/// Most service addresses `show clusters` lists (the first by prefix).
pub const SERVICES_MAX: usize = 4096;

/// The cluster name of a neighbor entry, if it makes one.
fn entry_cluster(n: &NeighborConfig) -> Option<String> {
    n.cluster.clone().or_else(|| {
        n.range
            .map(|r| n.description.clone().unwrap_or_else(|| r.to_string()))
    })
}

impl Core {
    /// The neighbor entry a peer belongs to: its `address`, its link's
    /// `interface` entry, else the most specific `range` holding it.
    fn entry_of(&self, addr: IpAddr, interface: Option<&str>) -> Option<&NeighborConfig> {
        let ns = &self.config.neighbors;
        ns.iter()
            .find(|n| n.address == Some(addr))
            .or_else(|| {
                interface.and_then(|i| {
                    ns.iter()
                        .find(|n| n.interface.is_some() && n.matches_link(i))
                })
            })
            .or_else(|| {
                ns.iter()
                    .filter(|n| n.range.is_some_and(|r| r.contains(addr)))
                    .max_by_key(|n| n.range.map_or(0, |r| r.prefix()))
            })
    }

    /// The cluster of a peer, if it is in one.
    pub(super) fn cluster_of(&self, addr: IpAddr, interface: Option<&str>) -> Option<String> {
        self.entry_of(addr, interface).and_then(entry_cluster)
    }

    /// Every cluster the config makes, in config order, with its nodes
    /// among `peers`, and the first `services` host routes; the kernel
    /// width of each from `fib` when given.
    pub fn clusters(
        &self,
        peers: &[PeerStatus],
        fib: Option<&[crate::fib::FibStatusEntry]>,
        services: usize,
    ) -> Vec<ClusterView> {
        let mut views: Vec<ClusterView> = Vec::new();
        for name in self.config.neighbors.iter().filter_map(entry_cluster) {
            if !views.iter().any(|v| v.name == name) {
                views.push(ClusterView {
                    name,
                    ..ClusterView::default()
                });
            }
        }
        let mut of_addr: HashMap<IpAddr, usize> = HashMap::new();
        for p in peers {
            let Some(name) = self.cluster_of(p.addr, p.interface.as_deref()) else {
                continue;
            };
            let Some(i) = views.iter().position(|v| v.name == name) else {
                continue;
            };
            of_addr.insert(p.addr, i);
            if let Some(v) = views.get_mut(i) {
                v.known += 1;
                v.established += usize::from(p.state == State::Established);
            }
        }
        self.cluster_families(&mut views, &of_addr);
        let addr_of: HashMap<u32, IpAddr> = self.rib_ids.iter().map(|(a, id)| (*id, *a)).collect();
        for (id, deadline) in &self.stale_deadlines {
            let Some(addr) = addr_of.get(id) else {
                continue;
            };
            if let Some(v) = of_addr.get(addr).and_then(|&i| views.get_mut(i)) {
                v.restarting.push(RestartingNode {
                    address: *addr,
                    stale_secs_left: deadline.saturating_duration_since(self.now).as_secs(),
                });
            }
        }
        // The kernel's next hops per prefix, looked up once per service.
        let kernel: Option<HashMap<Prefix, usize>> =
            fib.map(|rs| rs.iter().map(|r| (r.prefix, r.installed.len())).collect());
        for h in self.rib.host_routes(services) {
            let mut per: HashMap<usize, usize> = HashMap::new();
            for a in h.announcers.iter().filter_map(|id| addr_of.get(id)) {
                if let Some(&i) = of_addr.get(a) {
                    *per.entry(i).or_default() += 1;
                }
            }
            let kernel_width = kernel
                .as_ref()
                .map(|k| k.get(&h.prefix).copied().unwrap_or(0));
            for (i, announcing) in per {
                if let Some(v) = views.get_mut(i) {
                    v.services.push(ServiceView {
                        prefix: h.prefix.to_string(),
                        announcing,
                        ecmp_width: h.ecmp_width,
                        kernel_width,
                    });
                }
            }
        }
        views
    }

    /// End-of-RIB per family across each cluster's Established sessions.
    fn cluster_families(&self, views: &mut [ClusterView], of_addr: &HashMap<IpAddr, usize>) {
        for s in self.sessions.values() {
            let Some(v) = of_addr.get(&s.info.addr).and_then(|&i| views.get_mut(i)) else {
                continue;
            };
            for f in &s.info.negotiated.families {
                let name = f.to_string();
                let i = match v.families.iter().position(|x| x.family == name) {
                    Some(i) => i,
                    None => {
                        v.families.push(ClusterFamily {
                            family: name,
                            ..ClusterFamily::default()
                        });
                        v.families.len() - 1
                    }
                };
                if let Some(cf) = v.families.get_mut(i) {
                    cf.sessions += 1;
                    // Our End-of-RIB follows the initial table at once.
                    cf.end_of_rib_sent += 1;
                    cf.end_of_rib_received += usize::from(s.eor_received.contains(f));
                }
            }
        }
        for v in views {
            v.families
                .sort_by_key(|f| f.family != Family::IPV4_UNICAST.to_string());
        }
    }

    /// Answers `show clusters`.
    pub(super) fn show_clusters(&self, ctx: &CtlContext) -> Response {
        let fib = match &ctx.fib {
            Some(FibView::Routes(rs)) => Some(&rs[..]),
            _ => None,
        };
        Response::Clusters {
            clusters: self.clusters(&ctx.peers, fib, SERVICES_MAX),
        }
    }

    /// The ECMP width and path count of the first `[metrics]
    /// ecmp_width_max` service addresses.
    pub fn service_widths(&self) -> Vec<crate::metrics::ServiceWidth> {
        let max = self.config.metrics.as_ref().map_or(0, |m| m.ecmp_width_max);
        self.rib
            .host_routes(max)
            .into_iter()
            .map(|h| crate::metrics::ServiceWidth {
                prefix: h.prefix.to_string(),
                paths: h.announcers.len() as u64,
                ecmp_width: h.ecmp_width as u64,
            })
            .collect()
    }

    /// The host routes whose kernel state `show clusters` shows.
    pub(super) fn cluster_service_prefixes(&self) -> Vec<Prefix> {
        self.rib
            .host_routes(SERVICES_MAX)
            .into_iter()
            .map(|h| h.prefix)
            .collect()
    }
}
