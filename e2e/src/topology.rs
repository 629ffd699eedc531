//! The lab topology of shared/LAB.md, built from namespaces.
//!
//! ```text
//!   rb-c1-cp  172.18.0.2 ─┐                        ┌─ 172.19.0.4 rb-c2-cp
//!   rb-c1-w1  172.18.0.3 ─┤ br1 ─ eth0 rb-router eth1 ─ br2 ├─ 172.19.0.3 rb-c2-w1
//!   rb-c1-w2  172.18.0.4 ─┘ (rb-switch) 172.18.0.5   172.19.0.5 └─ 172.19.0.2 rb-c2-w2
//! ```
//! Each node: gobgpd (AS 65100 / 65200) announcing its pod /24 and the
//! cluster's LB /32, and their IPv6 counterparts (`ipv6.rs`); the LB IPs
//! and a pod address (`.10` of its /24) on `lo`; an HTTP server on port
//! 80; the write-up's static routes to the other cluster through the
//! router.

use crate::docker::{DockerNetwork, LAB_NETWORKS};
use crate::gobgp::{GracefulRestart, Speaker, SpeakerConfig, StopMode};
pub use crate::node::{lab_nodes, seventh_node, NodeSpec, LB1, LB2, ROUTER1, ROUTER2};
use crate::router::{
    ContainerNetwork, RbgpdBins, Router, RouterKind, RouterPeer, RouterRange, RouterSetup,
};
use crate::{http, kernel, wait_for, Error, Result};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testbed::netns::{veth, veth_to_host};
use testbed::{Netns, Proc};

/// The router's AS.
pub const ROUTER_AS: u32 = 65000;

/// Namespace of the router.
pub const ROUTER_NS: &str = "rb-router";
/// Namespace holding the two bridges.
pub const SWITCH_NS: &str = "rb-switch";

/// Every namespace name the lab may create (stale ones are removed by
/// [`Lab::up`]; `scripts/lab-down.sh` removes all `rb-*`).
pub fn lab_namespace_names() -> Vec<String> {
    let mut v: Vec<String> = lab_nodes().iter().map(NodeSpec::ns_name).collect();
    v.push(seventh_node().ns_name());
    v.extend([ROUTER_NS, SWITCH_NS, ROGUE_NS].map(String::from));
    v
}

/// Namespace of the rogue peer of check 7 (see [`Lab::add_host`]).
pub const ROGUE_NS: &str = "rb-rogue";

/// The router container of [`BridgeKind::Docker`] (the write-up's
/// `bird-router`).
pub const DOCKER_ROUTER: &str = "rb-bgp-router";

/// What the two cluster networks are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BridgeKind {
    /// Bridges `br1` and `br2` in the namespace `rb-switch`: nothing
    /// touches the host's networking.
    #[default]
    Switch,
    /// The Docker networks `kind` (172.18.0.0/16) and `kind2`
    /// (172.19.0.0/16), created (labelled) and removed on drop, the
    /// nodes' veths plugged into their bridges on the host. The router is
    /// the container [`DOCKER_ROUTER`] started on `kind` and connected to
    /// `kind2` once the nodes are up, as in the write-up. Needs
    /// [`RouterKind::Docker`].
    Docker,
}

/// How to build the lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// The router.
    pub router: RouterKind,
    /// Cilium `gracefulRestart.enabled` on every speaker (and GR on BIRD).
    pub graceful_restart: bool,
    /// GoBGP connect-retry, seconds (Cilium: 120).
    pub connect_retry: u16,
    /// BIRD `merge paths on`.
    pub bird_merge_paths: bool,
    /// Where configs, sockets and logs go (created, removed on drop).
    pub dir: PathBuf,
    /// rbgpd binaries (needed for [`RouterKind::Rbgpd`]).
    pub bins: Option<RbgpdBins>,
    /// The rbgpd image (needed for [`RouterKind::Docker`]).
    pub image: Option<String>,
    /// The cluster networks.
    pub bridges: BridgeKind,
    /// [`BridgeKind::Docker`]: leave the router on `kind` only; the caller
    /// connects it to `kind2` with [`Lab::connect_kind2`].
    pub defer_kind2: bool,
    /// rbgpd only: BFD on the ranges' sessions (the nodes then need a BFD
    /// speaker, [`crate::bfd_node`]); BIRD as router ignores it.
    pub bfd: bool,
    /// rbgpd only: run it on the lab's bird.conf translated by `rbgpd
    /// migrate` instead of its own config.
    pub rbgpd_from_bird: bool,
}

impl LabOptions {
    /// Defaults for `router`: no GR, Cilium's connect-retry, BIRD single
    /// path, directory /tmp/rb-lab.
    pub fn new(router: RouterKind) -> LabOptions {
        LabOptions {
            router,
            graceful_restart: false,
            connect_retry: 120,
            bird_merge_paths: false,
            dir: PathBuf::from("/tmp/rb-lab"),
            bins: None,
            image: None,
            bridges: BridgeKind::Switch,
            defer_kind2: false,
            bfd: false,
            rbgpd_from_bird: false,
        }
    }
}

/// A running node.
#[derive(Debug)]
pub struct Node {
    /// What it is.
    pub spec: NodeSpec,
    speaker: Option<Speaker>,
    http: Option<Proc>,
    ns: Netns,
}

impl Node {
    /// The node's namespace.
    pub fn ns(&self) -> &Netns {
        &self.ns
    }
}

/// The whole lab. Dropping it stops every process and deletes every
/// namespace, unless [`Lab::keep`] was called.
#[derive(Debug)]
pub struct Lab {
    router: Router,
    nodes: Vec<Node>,
    hosts: Vec<Netns>,
    router_ns: Netns,
    switch: Option<Netns>,
    /// The bridge of each cluster's network (in `switch`, or on the host).
    bridges: [String; 2],
    opts: LabOptions,
    keep: bool,
    /// Last: removed once the router container and nodes are gone.
    networks: Vec<DockerNetwork>,
}

impl Lab {
    /// Builds the network, starts the router and the six nodes (with
    /// [`BridgeKind::Docker`], then connects the router to `kind2`).
    pub fn up(opts: LabOptions) -> Result<Lab> {
        if opts.router == RouterKind::Docker && opts.image.is_none() {
            return Err(Error::Missing("image for RouterKind::Docker".into()));
        }
        if opts.router == RouterKind::Rbgpd && opts.bins.is_none() {
            return Err(Error::Missing(
                "rbgpd binaries for RouterKind::Rbgpd".into(),
            ));
        }
        let on_docker = opts.bridges == BridgeKind::Docker;
        if on_docker && opts.router != RouterKind::Docker {
            return Err(Error::Missing(
                "RouterKind::Docker for BridgeKind::Docker (the router is a container)".into(),
            ));
        }
        // Stale state from an earlier run (same names) goes first.
        for name in lab_namespace_names() {
            testbed::netns::destroy(&name);
        }
        let _ = std::fs::remove_dir_all(&opts.dir);
        std::fs::create_dir_all(&opts.dir).map_err(|source| Error::Io {
            path: opts.dir.clone(),
            source,
        })?;

        let (switch, networks) = if on_docker {
            // The router container of an earlier run holds the networks.
            crate::docker::remove(DOCKER_ROUTER);
            let nets = LAB_NETWORKS
                .iter()
                .map(|(name, subnet)| DockerNetwork::create(name, subnet))
                .collect::<Result<Vec<_>>>()?;
            (None, nets)
        } else {
            let switch = Netns::create(SWITCH_NS)?;
            switch.bridge("br1")?;
            switch.bridge("br2")?;
            (Some(switch), Vec::new())
        };
        let bridges = match networks.as_slice() {
            [a, b] => [a.bridge(), b.bridge()],
            _ => ["br1".to_string(), "br2".to_string()],
        };

        let nodes = lab_nodes();
        let setup = RouterSetup {
            kind: opts.router,
            asn: ROUTER_AS,
            router_id: ROUTER1,
            peers: nodes
                .iter()
                .map(|n| RouterPeer {
                    name: n.proto_name(),
                    address: n.ip,
                    asn: n.asn(),
                })
                .collect(),
            ranges: vec![
                RouterRange {
                    range: "172.18.0.0/16".into(),
                    asn: 65100,
                    description: "kind-cilium nodes".into(),
                    bfd: opts.bfd,
                },
                RouterRange {
                    range: "172.19.0.0/16".into(),
                    asn: 65200,
                    description: "kind-cilium2 nodes".into(),
                    bfd: opts.bfd,
                },
            ],
            graceful_restart: opts.graceful_restart,
            merge_paths: opts.bird_merge_paths,
            dir: opts.dir.clone(),
            bins: opts.bins.clone(),
            image: opts.image.clone(),
            network: on_docker.then(|| ContainerNetwork {
                container: DOCKER_ROUTER.into(),
                network: LAB_NETWORKS[0].0.into(),
                ip: ROUTER1,
            }),
            from_bird: opts.rbgpd_from_bird,
        };
        // The router namespace: our own, or the router container's.
        let (router_ns, container) = if opts.router == RouterKind::Docker {
            let (r, pid) = Router::start_container(setup.clone())?;
            (Netns::attach(ROUTER_NS, pid)?, Some(r))
        } else {
            (Netns::create(ROUTER_NS)?, None)
        };
        match &switch {
            Some(switch) => {
                veth(&router_ns, "eth0", switch, "router-1")?;
                veth(&router_ns, "eth1", switch, "router-2")?;
                switch.enslave("router-1", "br1")?;
                switch.enslave("router-2", "br2")?;
                router_ns.ip(&["addr", "add", &format!("{ROUTER1}/16"), "dev", "eth0"])?;
                router_ns.ip(&["addr", "add", &format!("{ROUTER2}/16"), "dev", "eth1"])?;
                router_ns.ip(&["link", "set", "eth0", "up"])?;
                router_ns.ip(&["link", "set", "eth1", "up"])?;
                router_ns.sysctl("net.ipv4.ip_forward", "1")?;
                router_ns.sysctl("net.ipv4.conf.all.rp_filter", "0")?;
                router_ns.sysctl("net.ipv6.conf.all.forwarding", "1")?;
                crate::ipv6::wire_router(&router_ns, &["eth0", "eth1"])?;
            }
            // Docker made eth0; forwarding is what the container inherits
            // (as the write-up's BIRD container), only reported here. The
            // lab's networks have no IPv6 subnet (kind's do), so IPv6 and
            // the router's link-local are turned on as on our bridges.
            None => {
                let fwd = router_ns.exec("sysctl", &["-n", "net.ipv4.ip_forward"])?;
                if fwd.trim() != "1" {
                    eprintln!("note: ip_forward is {} in {DOCKER_ROUTER}", fwd.trim());
                }
                router_ns.sysctl("net.ipv6.conf.all.forwarding", "1")?;
                crate::ipv6::wire_router(&router_ns, &["eth0"])?;
            }
        }

        let router = match container {
            Some(mut r) => {
                r.wait_ready(&router_ns)?;
                r
            }
            None => Router::start(&router_ns, setup)?,
        };
        let mut lab = Lab {
            router,
            nodes: Vec::new(),
            hosts: Vec::new(),
            router_ns,
            switch,
            bridges,
            opts,
            keep: false,
            networks,
        };
        for spec in nodes {
            lab.add_node(spec)?;
        }
        if on_docker && !lab.opts.defer_kind2 {
            lab.connect_kind2()?;
        }
        Ok(lab)
    }

    /// [`BridgeKind::Docker`]: the write-up's `docker network connect
    /// kind2 bird-router`, here `--ip 172.19.0.5 kind2 rb-bgp-router`:
    /// eth1 appears in the running container. Done by [`Lab::up`] unless
    /// [`LabOptions::defer_kind2`].
    pub fn connect_kind2(&self) -> Result<()> {
        if self.opts.bridges != BridgeKind::Docker {
            return Err(Error::Missing(
                "Docker networks (BridgeKind::Docker)".into(),
            ));
        }
        crate::docker::connect(LAB_NETWORKS[1].0, DOCKER_ROUTER, ROUTER2)?;
        crate::ipv6::wire_router(&self.router_ns, &["eth1"])
    }

    /// Adds a namespace on cluster `cluster`'s network with address `ip`
    /// and the routes a node has, but no speaker and no server (e.g. a
    /// rogue peer). Returns its index for [`Lab::host`].
    pub fn add_host(&mut self, name: &str, cluster: u8, ip: Ipv4Addr) -> Result<usize> {
        let ns = self.wire(name, cluster, ip)?;
        self.hosts.push(ns);
        Ok(self.hosts.len() - 1)
    }

    /// A host added by [`Lab::add_host`].
    pub fn host(&self, idx: usize) -> Option<&Netns> {
        self.hosts.get(idx)
    }

    fn wire(&self, name: &str, cluster: u8, ip: Ipv4Addr) -> Result<Netns> {
        let ns = Netns::create(&format!("rb-{name}"))?;
        let br = self.bridges[usize::from(cluster != 1)].as_str();
        match &self.switch {
            Some(switch) => {
                veth(&ns, "eth0", switch, name)?;
                switch.enslave(name, br)?;
            }
            None => {
                // The host end is named like the namespace ("rb-c1-cp").
                veth_to_host(&ns, "eth0", ns.name())?;
                crate::docker::enslave(ns.name(), br)?;
            }
        }
        ns.ip(&["addr", "add", &format!("{ip}/16"), "dev", "eth0"])?;
        ns.ip(&["link", "set", "eth0", "up"])?;
        // The write-up's static routes, plus the other node network.
        let (via, others) = if cluster == 1 {
            (ROUTER1, ["10.12.0.0/16", "10.242.0.0/16", "172.19.0.0/16"])
        } else {
            (ROUTER2, ["10.11.0.0/16", "10.241.0.0/16", "172.18.0.0/16"])
        };
        for dst in others {
            ns.ip(&["route", "add", dst, "via", &via.to_string()])?;
        }
        crate::ipv6::static_routes(&ns, cluster)?;
        Ok(ns)
    }

    /// Wires a node, starts its HTTP server and speaker and announces its
    /// pod /24 and the LB /32 (also used for the seventh node).
    pub fn add_node(&mut self, spec: NodeSpec) -> Result<()> {
        let ns = self.wire(&spec.name, spec.cluster, spec.ip)?;
        ns.ip(&["addr", "add", &format!("{}/32", spec.lb_ip()), "dev", "lo"])?;
        ns.ip(&["addr", "add", &format!("{}/32", spec.pod_ip), "dev", "lo"])?;
        crate::ipv6::wire_node(&ns, &spec)?;
        let http = http::serve(&ns, &self.opts.dir)?;
        let mut cfg = SpeakerConfig::cilium(spec.asn(), spec.ip, spec.router_ip());
        cfg.connect_retry = self.opts.connect_retry;
        if self.opts.graceful_restart {
            cfg.graceful_restart = Some(GracefulRestart::default());
        }
        let mut speaker = Speaker::start(&ns, &cfg, &self.opts.dir)?;
        speaker.announce(&ns, &spec.pod_cidr, spec.ip)?;
        speaker.announce(&ns, &format!("{}/32", spec.lb_ip()), spec.ip)?;
        speaker.announce6(&ns, &spec.pod_cidr6())?;
        speaker.announce6(&ns, &format!("{}/128", spec.lb_ip6()))?;
        self.nodes.push(Node {
            spec,
            speaker: Some(speaker),
            http: Some(http),
            ns,
        });
        Ok(())
    }

    /// The options it was built with.
    pub fn options(&self) -> &LabOptions {
        &self.opts
    }

    /// The router.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The router's namespace.
    pub fn router_ns(&self) -> &Netns {
        &self.router_ns
    }

    /// All nodes.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// A node by short name ("c1-cp").
    pub fn node(&self, name: &str) -> Result<&Node> {
        self.nodes
            .iter()
            .find(|n| n.spec.name == name)
            .ok_or_else(|| Error::Missing(format!("node {name}")))
    }

    fn node_mut(&mut self, name: &str) -> Result<&mut Node> {
        self.nodes
            .iter_mut()
            .find(|n| n.spec.name == name)
            .ok_or_else(|| Error::Missing(format!("node {name}")))
    }

    /// Waits until the router reports every node's session Established.
    pub fn wait_established(&mut self, timeout: Duration) -> Result<()> {
        let want: Vec<Ipv4Addr> = self.nodes.iter().map(|n| n.spec.ip).collect();
        let router = &mut self.router;
        let ns = &self.router_ns;
        wait_for(
            "all sessions Established",
            timeout,
            Duration::from_millis(250),
            || {
                router.check_running()?;
                let states = router.peer_states(ns)?;
                let missing: Vec<String> = want
                    .iter()
                    .filter(|ip| {
                        !states
                            .iter()
                            .any(|s| s.established && s.address == std::net::IpAddr::V4(**ip))
                    })
                    .map(|ip| ip.to_string())
                    .collect();
                if missing.is_empty() {
                    Ok(Some(()))
                } else {
                    Err(Error::Missing(format!(
                        "not established: {}",
                        missing.join(", ")
                    )))
                }
            },
        )
    }

    /// The router's kernel routes to pod and LB prefixes (10.0.0.0/8).
    pub fn router_routes(&self) -> Result<Vec<kernel::KernelRoute>> {
        Ok(kernel::routes(&self.router_ns)?
            .into_iter()
            .filter(|r| r.dst.starts_with("10."))
            .collect())
    }

    /// What the router's kernel table must hold: every node's pod /24 via
    /// that node, and each LB /32 via nodes of its cluster.
    pub fn expected_pod_routes(&self) -> Vec<(String, Ipv4Addr)> {
        self.nodes
            .iter()
            .map(|n| (n.spec.pod_cidr.clone(), n.spec.ip))
            .collect()
    }

    /// Whether the router installs the LB /32s as ECMP over the cluster's
    /// nodes (rbgpd, native or in docker; BIRD with `merge paths on`)
    /// rather than one path.
    pub fn expects_ecmp(&self) -> bool {
        self.opts.router != RouterKind::Bird || self.opts.bird_merge_paths
    }

    /// Node IPs of `cluster`.
    pub fn cluster_ips(&self, cluster: u8) -> Vec<Ipv4Addr> {
        self.nodes
            .iter()
            .filter(|n| n.spec.cluster == cluster)
            .map(|n| n.spec.ip)
            .collect()
    }

    /// Waits until every pod /24 and both LB /32s are in the router's
    /// kernel table (the LB /32s via every node of the cluster when
    /// [`Lab::expects_ecmp`]); returns the routes.
    pub fn wait_routes(&self, timeout: Duration) -> Result<Vec<kernel::KernelRoute>> {
        let pods = self.expected_pod_routes();
        let ecmp = self.expects_ecmp();
        wait_for(
            "pod and LB routes in the router's kernel",
            timeout,
            Duration::from_millis(250),
            || {
                let routes = self.router_routes()?;
                let mut missing: Vec<String> = pods
                    .iter()
                    .filter(|(dst, via)| {
                        kernel::find(&routes, dst).is_none_or(|r| !r.gateways.contains(via))
                    })
                    .map(|(dst, via)| format!("{dst} via {via}"))
                    .collect();
                for (lb, cluster) in [(LB1, 1), (LB2, 2)] {
                    let want = if ecmp {
                        self.cluster_ips(cluster)
                    } else {
                        Vec::new()
                    };
                    match kernel::find(&routes, &format!("{lb}/32")) {
                        None => missing.push(format!("{lb}/32")),
                        Some(r) if ecmp && !want.iter().all(|ip| r.gateways.contains(ip)) => {
                            missing.push(format!(
                                "{lb}/32 via all of {want:?} (has {:?})",
                                r.gateways
                            ))
                        }
                        Some(_) => {}
                    }
                }
                if missing.is_empty() {
                    Ok(Some(routes))
                } else {
                    Err(Error::Missing(format!("routes: {}", missing.join(", "))))
                }
            },
        )
    }

    /// HTTP GET of `host` from the router namespace.
    pub fn get_from_router(&self, host: Ipv4Addr, timeout: Duration) -> Result<u16> {
        http::get(&self.router_ns, host, None, timeout)
    }

    /// HTTP GET of `host` from node `node`, from `source` if given.
    pub fn get_from_node(
        &self,
        node: &str,
        host: Ipv4Addr,
        source: Option<Ipv4Addr>,
        timeout: Duration,
    ) -> Result<u16> {
        http::get(self.node(node)?.ns(), host, source, timeout)
    }

    /// Stops node `name`'s speaker.
    pub fn stop_speaker(&mut self, name: &str, mode: StopMode) -> Result<()> {
        let node = self.node_mut(name)?;
        if let Some(s) = node.speaker.as_mut() {
            s.stop(mode);
        }
        Ok(())
    }

    /// Starts node `name`'s speaker again and re-announces its routes.
    pub fn restart_speaker(&mut self, name: &str) -> Result<()> {
        let dir = self.opts.dir.clone();
        let node = self.node_mut(name)?;
        let ns = &node.ns;
        match node.speaker.as_mut() {
            Some(s) => s.restart(ns, &dir),
            None => Err(Error::Missing(format!("speaker of {name}"))),
        }
    }

    /// The session state node `name`'s speaker reports.
    pub fn speaker_state(&self, name: &str) -> Result<String> {
        let node = self.node(name)?;
        match node.speaker.as_ref() {
            Some(s) => s.session_state(&node.ns),
            None => Err(Error::Missing(format!("speaker of {name}"))),
        }
    }

    /// OPENs node `name`'s speaker has received (see
    /// [`Speaker::opens_received`]).
    pub fn speaker_opens(&self, name: &str) -> Result<u64> {
        let node = self.node(name)?;
        match node.speaker.as_ref() {
            Some(s) => s.opens_received(&node.ns),
            None => Err(Error::Missing(format!("speaker of {name}"))),
        }
    }

    /// Stops the router process (SIGTERM).
    pub fn stop_router(&mut self) {
        self.router.stop();
    }

    /// `docker stop` of the router container (RouterKind::Docker), as
    /// an operator would: SIGTERM, SIGKILL after `grace`. The router
    /// namespace's name is removed first, so that the namespace goes with
    /// the container; router commands fail afterwards.
    pub fn docker_stop_router(&mut self, grace: Duration) -> Result<crate::docker::Stopped> {
        self.router_ns.detach();
        self.router.docker_stop(grace)
    }

    /// The whole gobgpd log of node `name`.
    pub fn speaker_log(&self, name: &str) -> Result<String> {
        let node = self.node(name)?;
        let path = node
            .speaker
            .as_ref()
            .ok_or_else(|| Error::Missing(format!("speaker of {name}")))?
            .proc()
            .log_path();
        std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The bridge of each cluster's network: `br1`/`br2` in `rb-switch`,
    /// or the Docker networks' `br-<id>` on the host.
    pub fn bridges(&self) -> &[String; 2] {
        &self.bridges
    }

    /// Restarts the router (SIGTERM, then start with the same config).
    pub fn restart_router(&mut self) -> Result<()> {
        self.router.restart(&self.router_ns)
    }

    /// A human summary: router sessions, router routes, kernel table.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let kind = self.router.kind().as_str();
        let peers = self
            .router
            .show_peers_text(&self.router_ns)
            .unwrap_or_else(|e| e.to_string());
        let routes = self
            .router
            .show_routes_text(&self.router_ns)
            .unwrap_or_else(|e| e.to_string());
        let ip = kernel::routes_text(&self.router_ns).unwrap_or_else(|e| e.to_string());
        s.push_str(&format!("== {kind}: sessions ==\n{peers}\n"));
        s.push_str(&format!("== {kind}: routes ==\n{routes}\n"));
        let ip6 = self
            .router_ns
            .ip(&["-6", "route", "show", "proto", "bgp"])
            .unwrap_or_else(|e| e.to_string());
        s.push_str(&format!("== ip route in {ROUTER_NS} ==\n{ip}\n"));
        s.push_str(&format!(
            "== ip -6 route proto bgp in {ROUTER_NS} ==\n{ip6}\n"
        ));
        s
    }

    /// Log tails of the router and every speaker, for failure messages.
    pub fn logs(&self) -> String {
        let mut s = format!("--- router log ---\n{}\n", self.router.log_tail(40));
        let bird_log = self.opts.dir.join("bird.log");
        if let Ok(t) = std::fs::read_to_string(&bird_log) {
            let lines: Vec<&str> = t.lines().collect();
            s.push_str(&format!(
                "--- bird.log ---\n{}\n",
                lines[lines.len().saturating_sub(40)..].join("\n")
            ));
        }
        for n in &self.nodes {
            if let Some(sp) = n.speaker.as_ref() {
                s.push_str(&format!(
                    "--- {} gobgpd ---\n{}\n",
                    n.spec.name,
                    sp.proc().log_tail(10)
                ));
            }
        }
        s
    }

    /// The lab directory (configs, sockets, logs).
    pub fn dir(&self) -> &Path {
        &self.opts.dir
    }

    /// Leaves everything running and in place when dropped (lab-up).
    pub fn keep(&mut self) {
        self.keep = true;
        self.router.keep();
        for n in &mut self.nodes {
            if let Some(s) = n.speaker.as_mut() {
                s.keep();
            }
            if let Some(h) = n.http.as_mut() {
                h.keep();
            }
            n.ns.keep();
        }
        for h in &mut self.hosts {
            h.keep();
        }
        self.router_ns.keep();
        if let Some(s) = self.switch.as_mut() {
            s.keep();
        }
        for n in &mut self.networks {
            n.keep();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        // Fields drop after this: processes first (router, nodes), then the
        // namespaces, the switch last.
        self.router.stop();
        for n in &mut self.nodes {
            if let Some(s) = n.speaker.as_mut() {
                s.stop(StopMode::Kill);
            }
        }
    }
}
