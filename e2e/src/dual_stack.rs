//! The lab's dual-stack checks, shared by the lab tests on our bridges and
//! on Docker networks: the router's IPv6 routes via the nodes'
//! link-locals, and HTTP over IPv6.

use crate::http;
use crate::ipv6::{self, LB6_1, LB6_2};
use crate::topology::Lab;
use crate::{Error, Result};
use std::net::Ipv6Addr;
use std::time::Duration;

impl Lab {
    /// Waits (up to `timeout`) until the router routes each node's IPv6
    /// pod prefix via that node's link-local address, and each IPv6
    /// LoadBalancer address ECMP via the link-locals of its cluster's
    /// nodes.
    pub fn wait_routes6(&self, timeout: Duration) -> Result<()> {
        let mut want: Vec<(String, Vec<Ipv6Addr>)> = Vec::new();
        for n in self.nodes() {
            want.push((n.spec.pod_cidr6(), vec![ipv6::link_local(n.ns(), "eth0")?]));
        }
        for (lb, cluster) in [(LB6_1, 1), (LB6_2, 2)] {
            let mut lls = Vec::new();
            for n in self.nodes().iter().filter(|n| n.spec.cluster == cluster) {
                lls.push(ipv6::link_local(n.ns(), "eth0")?);
            }
            lls.sort();
            want.push((format!("{lb}/128"), lls));
        }
        crate::wait_for(
            "IPv6 routes via the nodes' link-locals",
            timeout,
            Duration::from_millis(250),
            || {
                let routes = ipv6::routes(self.router_ns())?;
                let missing: Vec<String> = want
                    .iter()
                    .filter(|(dst, lls)| {
                        let mut have: Vec<Ipv6Addr> = routes
                            .iter()
                            .find(|r| &r.dst == dst)
                            .map(|r| r.via.iter().map(|(gw, _)| *gw).collect())
                            .unwrap_or_default();
                        have.sort();
                        &have != lls
                    })
                    .map(|(dst, lls)| format!("{dst} via {lls:?}"))
                    .collect();
                if missing.is_empty() {
                    Ok(Some(()))
                } else {
                    Err(Error::Missing(missing.join(", ")))
                }
            },
        )
    }
}

/// Waits (up to 10 s) for `host` to answer 200 over IPv6 from namespace
/// `ns`, from `source` if given.
pub fn wait_200_v6(ns: &str, host: Ipv6Addr, source: Option<Ipv6Addr>) -> Result<()> {
    crate::wait_for(
        &format!("HTTP 200 from [{host}] in {ns}"),
        Duration::from_secs(10),
        Duration::from_millis(200),
        || {
            let code = http::get_any(
                ns,
                host.into(),
                source.map(Into::into),
                Duration::from_secs(2),
            )?;
            Ok((code == 200).then_some(()))
        },
    )
}
