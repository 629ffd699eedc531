//! The lab once more, the way the write-up ran its router: the rbgpd
//! image as the container `rb-bgp-router` on two Docker networks, `kind`
//! (172.18.0.0/16) and `kind2` (172.19.0.0/16).
//!
//! `docker run -d -v CONFIG:/etc/rbgpd/rbgpd.toml --cap-add=NET_ADMIN
//! --network=kind --ip 172.18.0.5 --name=rb-bgp-router rbgpd:latest`, the
//! six gobgpd nodes (configured like Cilium) plugged into the networks'
//! bridges, then `docker network connect --ip 172.19.0.5 kind2
//! rb-bgp-router`: eth1 appears in the running container and rbgpd must
//! use it without a restart. Checks: before the connect, cluster 1's three
//! sessions and pod routes alone; after it, six sessions Established (rbgpctl in
//! the container), the container's kernel table holds the six pod /24s
//! and both LB /32s as ECMP, HTTP 200 across the clusters, the IPv6 pod
//! prefixes and LoadBalancers via the nodes' link-locals with HTTP over
//! IPv6 across, and
//! `docker stop` ends it cleanly (exit 0 within the grace time, every
//! speaker logs the Cease).
//!
//! Skips (printing why) without root, gobgpd, docker or the image
//! (`docker/build.sh`, or set `RBGPD_IMAGE`), or when a network named
//! `kind`/`kind2` exists that the harness did not create (a real kind
//! cluster's): it is never touched. Shares `rb-*` names with tests/lab.rs:
//! run serially (nextest's `e2e-lab` group covers the whole package).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use e2e::docker::{network_is_ours, LAB_NETWORKS};
use e2e::dual_stack::wait_200_v6;
use e2e::ipv6::LB6_2;
use e2e::kernel::find;
use e2e::router::RouterKind;
use e2e::topology::{BridgeKind, Lab, LabOptions, DOCKER_ROUTER, LB1, LB2, ROUTER1, ROUTER2};
use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;
use std::time::{Duration, Instant};

const SESSIONS: Duration = Duration::from_secs(60);
const ROUTES: Duration = Duration::from_secs(30);

/// Unwraps, or panics with the lab's logs.
fn ok<T, E: std::fmt::Display>(lab: &Lab, what: &str, r: Result<T, E>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: {e}\n{}\n{}", lab.report(), lab.logs()),
    }
}

fn inspect(format: &str) -> String {
    e2e::docker::inspect(DOCKER_ROUTER, format).expect("docker inspect")
}

/// `nsenter -t PID -n ip ARGS`: the container's view, read from the host
/// (the FROM-scratch image has no `ip`).
fn nsenter_ip(pid: &str, args: &[&str]) -> String {
    let out = Command::new("nsenter")
        .args(["-t", pid, "-n", "ip"])
        .args(args)
        .output()
        .expect("nsenter");
    assert!(out.status.success(), "nsenter ip {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_200(lab: &Lab, node: &str, host: Ipv4Addr) {
    let r = e2e::wait_for(
        &format!("HTTP 200 from {host} on {node}"),
        Duration::from_secs(10),
        Duration::from_millis(200),
        || Ok((lab.get_from_node(node, host, None, Duration::from_secs(2))? == 200).then_some(())),
    );
    ok(lab, "http", r);
}

#[test]
fn docker_networks_kind_and_kind2() {
    let image = std::env::var("RBGPD_IMAGE").unwrap_or_else(|_| "rbgpd:latest".into());
    if let Some(why) = e2e::lab_unavailable_reason() {
        testbed::skip(why);
        return;
    }
    if testbed::which("nsenter").is_none() {
        testbed::skip("nsenter not found (util-linux)");
        return;
    }
    if let Some(why) = e2e::docker::unavailable_reason(&image) {
        testbed::skip(format!("docker networks: {why}"));
        return;
    }
    let mut opts = LabOptions::new(RouterKind::Docker);
    opts.image = Some(image);
    opts.bridges = BridgeKind::Docker;
    opts.connect_retry = 10;
    opts.dir = "/tmp/rb-lab-docker-networks".into();
    opts.defer_kind2 = true;
    let mut lab = Lab::up(opts).expect("lab up on the Docker networks");
    let pid = inspect("{{.State.Pid}}");
    let started = inspect("{{.State.StartedAt}}");

    // 0: on `kind` only, cluster 1's sessions come up and its routes are
    // installed; cluster 2 cannot reach the router yet.
    let addrs = nsenter_ip(&pid, &["-4", "-o", "addr", "show"]);
    assert!(!addrs.contains("eth1"), "eth1 before connect: {addrs}");
    let c1: Vec<IpAddr> = lab.cluster_ips(1).into_iter().map(IpAddr::V4).collect();
    let r = e2e::wait_for(
        "cluster 1 Established on kind alone",
        SESSIONS,
        Duration::from_millis(250),
        || {
            let states = lab.router().peer_states(lab.router_ns())?;
            let up: Vec<IpAddr> = states
                .iter()
                .filter(|s| s.established)
                .map(|s| s.address)
                .collect();
            if up.iter().any(|a| !c1.contains(a)) {
                return Err(e2e::Error::Missing(format!("unexpected session: {up:?}")));
            }
            Ok((up.len() == c1.len()).then_some(()))
        },
    );
    ok(&lab, "cluster 1 sessions before kind2", r);
    let r = e2e::wait_for(
        "cluster 1 pod routes on kind alone",
        ROUTES,
        Duration::from_millis(250),
        || {
            let routes = lab.router_routes()?;
            Ok(lab
                .nodes()
                .iter()
                .filter(|n| n.spec.cluster == 1)
                .all(|n| find(&routes, &n.spec.pod_cidr).is_some())
                .then_some(routes))
        },
    );
    let before_kind2 = ok(&lab, "cluster 1 routes before kind2", r);
    assert!(
        before_kind2.iter().all(|r| !r.dst.starts_with("10.242.")),
        "{before_kind2:?}"
    );

    // `docker network connect --ip 172.19.0.5 kind2 rb-bgp-router`: eth1
    // appears in the running container; rbgpd must use it as it is.
    let connected = Instant::now();
    ok(&lab, "docker network connect", lab.connect_kind2());

    // The container as Docker sees it: on both networks at .5.
    for (net, ip) in [(LAB_NETWORKS[0].0, ROUTER1), (LAB_NETWORKS[1].0, ROUTER2)] {
        let addr = inspect(&format!(
            "{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"
        ));
        assert_eq!(addr, ip.to_string(), "address on {net}");
    }
    let addrs = nsenter_ip(&pid, &["-4", "-o", "addr", "show"]);
    println!("{addrs}");
    assert!(
        addrs.contains(&format!("eth0    inet {ROUTER1}/16")),
        "{addrs}"
    );
    assert!(
        addrs.contains(&format!("eth1    inet {ROUTER2}/16")),
        "{addrs}"
    );
    println!("bridges: {:?}", lab.bridges());

    // 1: six sessions Established, from rbgpctl in the container.
    let r = lab.wait_established(SESSIONS);
    ok(&lab, "six sessions Established", r);
    println!(
        "kind2 connected -> six Established: {:?}",
        connected.elapsed()
    );
    for n in lab.nodes() {
        let st = ok(&lab, "speaker state", lab.speaker_state(&n.spec.name));
        assert_eq!(st, "established", "{} reports {st}", n.spec.name);
    }

    // 2: the container's kernel table: pod /24s via their node on the
    // right interface, LB /32s as ECMP over the cluster's nodes.
    let routes = ok(&lab, "kernel routes", lab.wait_routes(ROUTES));
    println!(
        "kind2 connected -> all routes installed: {:?}",
        connected.elapsed()
    );
    for n in lab.nodes() {
        let r = find(&routes, &n.spec.pod_cidr).expect("pod route");
        let dev = if n.spec.cluster == 1 { "eth0" } else { "eth1" };
        assert_eq!(r.gateways, vec![n.spec.ip], "{r:?}");
        assert_eq!(r.devs, vec![dev.to_string()], "{r:?}");
        assert_eq!(r.protocol, "bgp", "{r:?}");
    }
    for (lb, cluster) in [(LB1, 1u8), (LB2, 2)] {
        let r = find(&routes, &format!("{lb}/32")).expect("LB route");
        let mut got = r.gateways.clone();
        got.sort();
        let mut want = lab.cluster_ips(cluster);
        want.sort();
        assert_eq!(
            got, want,
            "{lb}/32 must be ECMP over cluster {cluster}: {r:?}"
        );
    }
    let table = nsenter_ip(&pid, &["-4", "route"]);
    println!("== nsenter -t {pid} -n ip -4 route ==\n{table}");
    for n in lab.nodes() {
        assert!(table.contains(&n.spec.pod_cidr), "{table}");
    }
    println!("{}", lab.report());

    // 3: HTTP across the clusters (nodes route the other cluster via the
    // router), and from the router as in the write-up.
    wait_200(&lab, "c1-cp", LB2);
    wait_200(&lab, "c2-cp", LB1);
    wait_200(&lab, "c1-w2", LB2);
    wait_200(&lab, "c2-w1", LB1);
    for lb in [LB1, LB2] {
        let code = ok(
            &lab,
            "GET from the router",
            lab.get_from_router(lb, Duration::from_secs(5)),
        );
        assert_eq!(code, 200, "GET {lb} from the router");
    }

    // 3b: dual stack, as on our bridges: each node's IPv6 pod prefix and
    // the IPv6 LoadBalancers (learned over IPv4 sessions, IPv4-mapped next
    // hops) in the container's kernel via the nodes' link-locals, and HTTP
    // over IPv6 between the clusters through it.
    ok(&lab, "IPv6 routes", lab.wait_routes6(ROUTES));
    let pod6 = |name: &str| lab.node(name).unwrap().spec.pod_ip6();
    for (ns, host, source) in [
        ("rb-c1-cp", LB6_2, pod6("c1-cp")),
        ("rb-c2-w1", pod6("c1-w1"), pod6("c2-w1")),
    ] {
        ok(&lab, "http over IPv6", wait_200_v6(ns, host, Some(source)));
    }
    assert_eq!(inspect("{{.State.StartedAt}}"), started, "router restarted");
    assert_eq!(inspect("{{.RestartCount}}"), "0");
    assert_eq!(inspect("{{.State.Pid}}"), pid, "router restarted");

    // 4: `docker stop`: SIGTERM, rbgpd sends every peer a Cease and exits 0
    // well within the grace time.
    let names: Vec<String> = lab.nodes().iter().map(|n| n.spec.name.clone()).collect();
    let before: Vec<usize> = names
        .iter()
        .map(|n| ok(&lab, "gobgpd log", lab.speaker_log(n)).len())
        .collect();
    let stopped = lab.docker_stop_router(Duration::from_secs(10));
    let stopped = ok(&lab, "docker stop", stopped);
    println!("docker stop: {stopped:?}");
    let logs = lab.router().log_tail(40);
    assert_eq!(stopped.exit_code, 0, "exit code; log:\n{logs}");
    assert!(!stopped.oom_killed);
    assert!(
        stopped.took < Duration::from_secs(9),
        "docker stop took {:?}: rbgpd did not exit on SIGTERM",
        stopped.took
    );
    let r = e2e::wait_for(
        "a Cease in every gobgpd log",
        Duration::from_secs(5),
        Duration::from_millis(100),
        || {
            let missing: Vec<&str> = names
                .iter()
                .zip(&before)
                .filter(|(n, from)| {
                    let log = lab.speaker_log(n).unwrap_or_default();
                    let new = log.get(**from..).unwrap_or_default().to_ascii_lowercase();
                    !new.contains("cease")
                })
                .map(|(n, _)| n.as_str())
                .collect();
            if missing.is_empty() {
                Ok(Some(()))
            } else {
                Err(e2e::Error::Missing(format!(
                    "no Cease logged by {missing:?}"
                )))
            }
        },
    );
    ok(&lab, "speakers see a Cease", r);
    let c1 = lab.speaker_log("c1-cp").unwrap_or_default();
    let line = c1
        .get(before[0]..)
        .unwrap_or_default()
        .lines()
        .find(|l| l.to_ascii_lowercase().contains("cease"))
        .unwrap_or_default()
        .to_string();
    println!("c1-cp gobgpd: {line}");

    // Cleanup: the container, our two networks, the node namespaces.
    drop(lab);
    assert!(
        e2e::docker::inspect(DOCKER_ROUTER, "{{.Id}}").is_err(),
        "container left behind"
    );
    for (net, _) in LAB_NETWORKS {
        assert_eq!(network_is_ours(net), None, "network {net} left behind");
    }
}
