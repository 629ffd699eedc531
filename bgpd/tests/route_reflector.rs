//! rbgpd as the route reflector of Calico-like nodes (RFC 4456): BIRD 2 in
//! Calico's shape (one AS, 64512, for every node; node-to-node mesh off;
//! each node an iBGP route-reflector client of the router, `next hop
//! self`, `gateway recursive`) on three nodes of two clusters, each in a
//! network namespace of its own, joined to rbgpd's by a bridge.
//!
//! - every node learns every other node's block through rbgpd, with the
//!   next hop of the node that owns it, ORIGINATOR_ID that node's router
//!   id and CLUSTER_LIST our cluster id, as BIRD's own `show route all`
//!   prints them from the wire;
//! - the router's kernel holds every block via its node;
//! - a node's block never comes back to it.
//!
//! Skipped (with a message) where `bird` is missing or namespaces cannot be
//! made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_util;

use interop_util::{wait_for, Rbgpctl};
use std::path::{Path, PathBuf};
use testbed::{Netns, Proc};

const ROUTER: &str = "10.97.0.1";
const CLUSTER_ID: &str = "10.255.0.1";
/// Node address and its block: two nodes of cluster 1, one of cluster 2.
const NODES: [(&str, &str); 3] = [
    ("10.97.0.2", "10.244.2.0/26"),
    ("10.97.0.3", "10.244.3.0/26"),
    ("10.97.0.18", "10.245.18.0/26"),
];

struct Reflector {
    // Processes first: they go before their namespaces.
    procs: Vec<Proc>,
    nodes: Vec<Netns>,
    ns: Netns,
    dir: PathBuf,
    socket: PathBuf,
}

impl Rbgpctl for Reflector {
    fn socket(&self) -> &Path {
        &self.socket
    }
}

impl Reflector {
    fn new() -> Option<Reflector> {
        if let Some(why) = testbed::missing(&["bird", "birdc"]).or_else(testbed::netns_unavailable)
        {
            testbed::skip(why);
            return None;
        }
        let pid = std::process::id();
        let ns = Netns::create(&format!("rbrr-{pid}")).ok()?;
        let wired = ns
            .bridge("br0")
            .and_then(|()| ns.add_addr("br0", &format!("{ROUTER}/24")))
            .and_then(|()| ns.link_up("br0"));
        if let Err(e) = wired {
            testbed::skip(format!("cannot make the bridge: {e}"));
            return None;
        }
        let mut nodes = Vec::new();
        for (i, (addr, _)) in NODES.iter().enumerate() {
            let node = Netns::create(&format!("rbrr-{pid}-n{i}")).ok()?;
            let port = format!("n{i}");
            let r = testbed::netns::veth(&ns, &port, &node, "eth0")
                .and_then(|()| ns.enslave(&port, "br0"))
                .and_then(|()| ns.link_up(&port))
                .and_then(|()| node.add_addr("eth0", &format!("{addr}/24")))
                .and_then(|()| node.link_up("eth0"))
                .and_then(|()| node.link_up("lo"));
            if let Err(e) = r {
                testbed::skip(format!("cannot wire node {addr}: {e}"));
                return None;
            }
            nodes.push(node);
        }
        let dir = std::env::temp_dir().join(format!("rbgpd-rr-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let _ = std::process::Command::new("chmod")
            .arg("777")
            .arg(&dir)
            .status();
        let socket = dir.join("ctl.sock");
        Some(Reflector {
            procs: Vec::new(),
            nodes,
            ns,
            dir,
            socket,
        })
    }

    /// rbgpd with the FIB on: one range per cluster, both iBGP and
    /// route-reflector clients.
    fn start_rbgpd(&mut self) {
        let cfg = format!(
            "[router]\nasn = 64512\nrouter_id = \"{ROUTER}\"\nlisten = [\"{ROUTER}:179\"]\n\
             cluster_id = \"{CLUSTER_ID}\"\n\n\
             [control]\nsocket = \"{}\"\n\n\
             [[neighbor]]\nrange = \"10.97.0.0/28\"\nremote_as = \"internal\"\n\
             route_reflector_client = true\ndescription = \"cluster 1\"\n\n\
             [[neighbor]]\nrange = \"10.97.0.16/28\"\nremote_as = 64512\n\
             route_reflector_client = true\ndescription = \"cluster 2\"\n",
            self.socket.display()
        );
        let path = self.dir.join("rbgpd.toml");
        std::fs::write(&path, cfg).unwrap();
        let rbgpd = env!("CARGO_BIN_EXE_rbgpd");
        let p = Proc::spawn_in(
            &self.ns,
            rbgpd,
            rbgpd,
            &["--config", path.to_str().unwrap()],
            &self.dir.join("rbgpd.log"),
        )
        .unwrap()
        .kill_on_drop();
        self.procs.push(p);
    }

    /// BIRD on node `i` as Calico configures it towards a route reflector.
    fn start_bird(&mut self, i: usize) {
        let (addr, block) = NODES[i];
        let cfg = format!(
            r#"
log stderr all;
router id {addr};
protocol device {{ scan time 2; }}
protocol direct {{ ipv4; interface "eth0"; }}
protocol static blocks {{
    ipv4;
    route {block} blackhole;
}}
template bgp bgp_template {{
    local {addr} as 64512;
    multihop;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 {{
        gateway recursive;
        import all;
        export where proto = "blocks";
        next hop self;
    }};
}}
protocol bgp reflector from bgp_template {{
    neighbor {ROUTER} as 64512;
}}
"#
        );
        let conf = self.dir.join(format!("bird-{i}.conf"));
        std::fs::write(&conf, cfg).unwrap();
        let p = Proc::spawn_in(
            &self.nodes[i],
            "bird",
            "bird",
            &[
                "-f",
                "-c",
                conf.to_str().unwrap(),
                "-s",
                self.bird_socket(i).to_str().unwrap(),
                "-P",
                self.dir.join(format!("bird-{i}.pid")).to_str().unwrap(),
            ],
            &self.dir.join(format!("bird-{i}.log")),
        )
        .unwrap()
        .kill_on_drop();
        self.procs.push(p);
    }

    fn bird_socket(&self, i: usize) -> PathBuf {
        self.dir.join(format!("bird-{i}.ctl"))
    }

    fn birdc(&self, i: usize, args: &[&str]) -> String {
        let out = std::process::Command::new("birdc")
            .arg("-s")
            .arg(self.bird_socket(i))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `show route all for PREFIX protocol reflector` on node `i`.
    fn route_all(&self, i: usize, prefix: &str) -> String {
        self.birdc(
            i,
            &[
                "show",
                "route",
                "all",
                "for",
                prefix,
                "protocol",
                "reflector",
            ],
        )
    }
}

#[test]
fn calico_like_bird_clients_learn_each_others_blocks_through_the_reflector() {
    let Some(mut lab) = Reflector::new() else {
        return;
    };
    lab.start_rbgpd();
    for i in 0..NODES.len() {
        lab.start_bird(i);
    }
    wait_for("three iBGP sessions Established", 30, || {
        NODES.iter().all(|(a, _)| lab.established(a))
    });
    // Every node holds the two other blocks, reflected.
    for (i, (addr, own)) in NODES.iter().enumerate() {
        for (j, (other, block)) in NODES.iter().enumerate() {
            if i == j {
                continue;
            }
            wait_for(&format!("node {addr} learns {block}"), 20, || {
                lab.route_all(i, block).contains(block)
            });
            let all = lab.route_all(i, block);
            assert!(
                all.contains(&format!("via {other}")),
                "next hop kept: {all}"
            );
            assert!(
                all.contains(&format!("BGP.originator_id: {other}")),
                "originator: {all}"
            );
            assert!(
                all.contains(&format!("BGP.cluster_list: {CLUSTER_ID}")),
                "cluster list: {all}"
            );
            assert!(all.contains("BGP.local_pref: 100"), "{all}");
            assert!(!all.contains("BGP.as_path: 64512"), "no AS added: {all}");
        }
        assert!(
            !lab.route_all(i, own).contains("BGP.cluster_list"),
            "node {addr} got its own block back"
        );
    }
    // The router's kernel has every block via its node.
    wait_for("the router's kernel holds the three blocks", 10, || {
        let routes = lab
            .ns
            .exec("ip", &["-4", "route", "show", "proto", "bgp"])
            .unwrap_or_default();
        // `10.244.2.0/26 nhid 1 via 10.97.0.2 dev br0 ...`
        NODES.iter().all(|(addr, block)| {
            routes
                .lines()
                .any(|l| l.starts_with(block) && l.contains(&format!("via {addr} ")))
        })
    });
    let peers = lab.ctl_text(&["show", "peers"]);
    assert!(peers.contains("64512"), "{peers}");
    let _ = std::fs::remove_dir_all(&lab.dir);
}
