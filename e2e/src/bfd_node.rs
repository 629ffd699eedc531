//! A BFD speaker on a lab node: BIRD 2 with a static route that asks for
//! BFD to the router (`route ... via ROUTER bfd`), which is all a node
//! needs to answer rbgpd's BFD (Cilium's own BFD is not in this lab's
//! GoBGP). Started before the node's BGP session can come up, as rbgpd's
//! strict mode wants.

use crate::node::NodeSpec;
use crate::{wait_for, Error, Result};
use std::path::Path;
use std::time::Duration;
use testbed::{Netns, Proc};

/// BIRD's config for `node`: BFD at 300 ms x 3 towards its router.
pub fn bird_bfd_conf(node: &NodeSpec) -> String {
    format!(
        "router id {ip};\n\
         protocol device {{ }}\n\
         protocol bfd {{ interface \"*\" {{ interval 300 ms; multiplier 3; }}; }}\n\
         protocol static {{ ipv4; route 198.18.255.255/32 via {router} bfd; }}\n",
        ip = node.ip,
        router = node.router_ip(),
    )
}

/// Starts the BFD speaker of `node` in `ns`, its files in `dir`.
pub fn start(ns: &Netns, node: &NodeSpec, dir: &Path) -> Result<Proc> {
    let conf = dir.join(format!("bfd-{}.conf", node.name));
    let ctl = dir.join(format!("bfd-{}.ctl", node.name));
    let log = dir.join(format!("bfd-{}.log", node.name));
    std::fs::write(&conf, bird_bfd_conf(node)).map_err(|source| Error::Io {
        path: conf.clone(),
        source,
    })?;
    let (conf, ctl) = (conf.to_string_lossy(), ctl.to_string_lossy());
    let mut proc = Proc::spawn_in(
        ns,
        &format!("bird (BFD) in {}", ns.name()),
        "bird",
        &["-f", "-c", &conf, "-s", &ctl],
        &log,
    )?;
    wait_for(
        "BIRD's control socket",
        Duration::from_secs(10),
        Duration::from_millis(100),
        || {
            proc.check_running()?;
            Ok(ns
                .exec("birdc", &["-s", &ctl, "show", "status"])
                .ok()
                .map(|_| ()))
        },
    )?;
    Ok(proc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_static_route_asks_for_bfd_to_the_nodes_router() {
        let node = crate::node::lab_nodes().remove(0);
        let conf = bird_bfd_conf(&node);
        assert!(
            conf.contains(&format!("via {} bfd;", node.router_ip())),
            "{conf}"
        );
        assert!(conf.contains("interval 300 ms; multiplier 3;"), "{conf}");
    }
}
