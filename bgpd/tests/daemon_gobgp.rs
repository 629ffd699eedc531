//! The whole daemon against real GoBGP speakers on loopback (no FIB):
//! routes learned from one peer are re-advertised to another with our AS
//! prepended and ourselves as next hop, never back to their source; a GR
//! speaker's routes arrive at once (we send End-of-RIB straight away) and
//! survive its crash as stale until it comes back.
//!
//! Topology: a fresh network namespace per test with 10.99.0.1 (rbgpd),
//! 10.99.0.2 (gobgpd, AS 65100) and 10.99.0.3 (gobgpd, AS 65200) on its
//! `lo` (and 10.99.0.4-7 for the test of a range of many ASes) (GoBGP refuses loopback next hops, so not 127.0.0.x), speakers
//! configured as Cilium configures them. Skipped (with a message) where
//! `gobgpd` is not installed or network namespaces cannot be made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_util;

use interop_util::{netns_with_lo, wait_for, GobgpdSpeaker, Rbgpctl};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testbed::{free_port, Netns, Proc};

struct Lab {
    metrics_port: u16,
    ns: Netns,
    dir: PathBuf,
    bgp_port: u16,
    socket: PathBuf,
}

impl Lab {
    fn new(name: &str) -> Option<Lab> {
        let on_lo: Vec<String> = (1..=7).map(|i| format!("10.99.0.{i}/32")).collect();
        let ns = netns_with_lo(&format!("rbd-{name}-{}", std::process::id()), &on_lo)?;
        let dir = std::env::temp_dir().join(format!("rbgpd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("ctl.sock");
        // The namespace is fresh, so ports free on the host are free there.
        let [metrics_port, bgp_port] = api_ports();
        Some(Lab {
            metrics_port,
            ns,
            dir,
            bgp_port,
            socket,
        })
    }

    /// Writes rbgpd's config with explicit (passive) neighbors.
    fn write_config(&self, neighbors: &[(&str, u32)]) -> PathBuf {
        self.write_config_extra(neighbors, "")
    }

    /// Like `write_config`, with `extra` lines added to every neighbor.
    fn write_config_extra(&self, neighbors: &[(&str, u32)], extra: &str) -> PathBuf {
        let mut cfg = format!(
            "[router]\nasn = 65000\nrouter_id = \"10.99.0.1\"\nlisten = [\"10.99.0.1:{}\"]\n\n\
             [fib]\nenabled = false\n\n[control]\nsocket = \"{}\"\n\n\
             [metrics]\nlisten = \"10.99.0.1:{}\"\n",
            self.bgp_port,
            self.socket.display(),
            self.metrics_port
        );
        for (addr, asn) in neighbors {
            cfg += &format!(
                "\n[[neighbor]]\naddress = \"{addr}\"\nremote_as = {asn}\npassive = true\n{extra}\n"
            );
        }
        let path = self.dir.join("rbgpd.toml");
        std::fs::write(&path, cfg).unwrap();
        path
    }

    fn rbgpd(&self) -> Proc {
        self.rbgpd_with(&[("10.99.0.2", 65100), ("10.99.0.3", 65200)])
    }

    fn rbgpd_with(&self, neighbors: &[(&str, u32)]) -> Proc {
        let path = self.write_config(neighbors);
        self.start_rbgpd(&path)
    }

    /// rbgpd with the config at `path`.
    fn start_rbgpd(&self, path: &Path) -> Proc {
        let config = path.to_str().unwrap();
        self.spawn(
            env!("CARGO_BIN_EXE_rbgpd"),
            &["--config", config],
            "rbgpd.log",
        )
    }

    /// `program args` in the namespace, output to `log` in the scratch
    /// directory, killed when dropped.
    fn spawn(&self, program: &str, args: &[&str], log: &str) -> Proc {
        Proc::spawn_in(&self.ns, program, program, args, &self.dir.join(log))
            .unwrap()
            .kill_on_drop()
    }

    /// Speakers A (10.99.0.2, AS 65100) and B (10.99.0.3, AS 65200), their
    /// API ports, once both sessions with rbgpd are Established.
    fn two_speakers(&self) -> (Proc, Proc, [u16; 2]) {
        let [api_a, api_b] = api_ports();
        let a = self.gobgpd("10.99.0.2", 65100, api_a, false);
        let b = self.gobgpd("10.99.0.3", 65200, api_b, false);
        wait_for("both sessions Established", 30, || {
            self.established("10.99.0.2") && self.established("10.99.0.3")
        });
        (a, b, [api_a, api_b])
    }

    /// A gobgpd speaker as Cilium runs it: one neighbor (the router),
    /// IPv4 and IPv6 unicast, hold 90 / keepalive 30, optionally GR.
    fn gobgpd(&self, addr: &str, asn: u32, api_port: u16, gr: bool) -> Proc {
        let cfg = GobgpdSpeaker {
            addr,
            router_id: addr,
            asn,
            listen_port: -1,
            rbgpd: ("10.99.0.1", self.bgp_port),
            timers: (90, 30, 1),
            gr,
        }
        .config();
        let path = self.dir.join(format!("gobgpd-{addr}.toml"));
        std::fs::write(&path, cfg).unwrap();
        self.spawn(
            "gobgpd",
            &[
                "-f",
                path.to_str().unwrap(),
                "--api-hosts",
                &format!("127.0.0.1:{api_port}"),
                "--log-level",
                "info",
            ],
            &format!("gobgpd-{addr}.log"),
        )
    }
}

impl Rbgpctl for Lab {
    fn socket(&self) -> &Path {
        &self.socket
    }
}

fn gobgp(lab: &Lab, api_port: u16, args: &[&str]) -> String {
    let out = lab
        .ns
        .command("gobgp")
        .arg("-p")
        .arg(api_port.to_string())
        .args(args)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// Two distinct free ports (speakers' APIs, or rbgpd's listeners).
fn api_ports() -> [u16; 2] {
    let p = testbed::free_ports("127.0.0.1", 2);
    [p[0], p[1]]
}

/// Announces `prefix` with next hop `nh` from the speaker on `api_port`.
fn announce(lab: &Lab, api_port: u16, prefix: &str, nh: &str) {
    gobgp(
        lab,
        api_port,
        &["global", "rib", "add", prefix, "nexthop", nh, "-a", "ipv4"],
    );
}

/// The lab for one test, or `None` (after a `SKIP:` line) where the test
/// cannot run here.
fn lab_or_skip(name: &str) -> Option<Lab> {
    if let Some(why) = testbed::missing(&["gobgpd", "gobgp"]) {
        testbed::skip(why);
        return None;
    }
    Lab::new(name)
}

#[test]
fn routes_flow_between_gobgp_speakers_through_rbgpd() {
    let Some(lab) = lab_or_skip("flow") else {
        return;
    };
    let _r = lab.rbgpd();
    let (_a, _b, [api_a, api_b]) = lab.two_speakers();

    announce(&lab, api_a, "10.241.0.0/24", "10.99.0.2");
    announce(&lab, api_a, "10.11.192.248/32", "10.99.0.2");
    wait_for("rbgpd holds 10.241.0.0/24", 10, || {
        !lab.paths("10.241.0.0/24").is_empty()
    });
    let paths = lab.paths("10.241.0.0/24");
    assert_eq!(paths[0]["next_hop"], "10.99.0.2");
    assert_eq!(paths[0]["as_path"], serde_json::json!([65100]));
    assert_eq!(paths[0]["best"], true);

    // Re-advertised to B with our AS prepended and ourselves as next hop.
    wait_for("speaker B learns 10.241.0.0/24", 10, || {
        gobgp(&lab, api_b, &["global", "rib", "-a", "ipv4"]).contains("10.241.0.0/24")
    });
    let b_rib = gobgp(&lab, api_b, &["global", "rib", "-a", "ipv4", "-j"]);
    let v: Value = serde_json::from_str(&b_rib).unwrap();
    let dest = &v["10.241.0.0/24"][0];
    let attrs = dest["attrs"].as_array().unwrap();
    let nh = attrs
        .iter()
        .find(|a| a["type"] == 3)
        .map(|a| a["nexthop"].clone());
    assert_eq!(nh, Some(Value::from("10.99.0.1")), "next hop self: {b_rib}");
    let as_path = attrs.iter().find(|a| a["type"] == 2).unwrap().to_string();
    assert!(
        as_path.contains("65000") && as_path.contains("65100"),
        "prepended: {as_path}"
    );

    // Never back to the source: A's Adj-RIB-In from us lacks its own route.
    let a_in = gobgp(
        &lab,
        api_a,
        &["neighbor", "10.99.0.1", "adj-in", "-a", "ipv4"],
    );
    assert!(
        !a_in.contains("10.241.0.0/24"),
        "reflected to its source: {a_in}"
    );

    // The Prometheus endpoint (refreshed every 5 s by the core).
    wait_for("metrics with A's UPDATEs", 15, || {
        let out = lab
            .ns
            .command("curl")
            .args([
                "-s",
                &format!("http://10.99.0.1:{}/metrics", lab.metrics_port),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("rbgpd_peer_up{peer=\"10.99.0.2\"} 1")
            && text.lines().any(|l| {
                l.starts_with("rbgpd_messages_received")
                    && l.contains("peer=\"10.99.0.2\"")
                    && l.contains("type=\"update\"")
                    && !l.ends_with(" 0")
            })
            && text.contains("rbgpd_rib_paths 2")
    });

    // A withdrawal reaches B promptly.
    gobgp(
        &lab,
        api_a,
        &["global", "rib", "del", "10.241.0.0/24", "-a", "ipv4"],
    );
    wait_for("speaker B drops 10.241.0.0/24", 10, || {
        !gobgp(&lab, api_b, &["global", "rib", "-a", "ipv4"]).contains("10.241.0.0/24")
    });
    assert!(lab.paths("10.241.0.0/24").is_empty());
    let _ = std::fs::remove_dir_all(&lab.dir);
}

#[test]
fn graceful_restart_speaker_routes_arrive_at_once_and_survive_its_crash() {
    let Some(lab) = lab_or_skip("gr") else {
        return;
    };
    let _r = lab.rbgpd();
    let api = free_port("127.0.0.1");
    let mut a = lab.gobgpd("10.99.0.2", 65100, api, true);
    wait_for("GR session Established", 30, || {
        lab.established("10.99.0.2")
    });
    announce(&lab, api, "10.241.1.0/24", "10.99.0.2");
    // GoBGP with GR holds its routes until our End-of-RIB for every
    // family, else up to 360 s: they must arrive within seconds.
    wait_for("the GR speaker's route", 15, || {
        !lab.paths("10.241.1.0/24").is_empty()
    });

    // A crash: TCP closes without a NOTIFICATION; the helper keeps the
    // route, marked stale.
    a.kill();
    wait_for("the session to go down", 10, || {
        !lab.established("10.99.0.2")
    });
    let paths = lab.paths("10.241.1.0/24");
    assert_eq!(paths.len(), 1, "route kept across the restart");
    assert_eq!(paths[0]["stale"], true);

    // It comes back, re-announces and sends End-of-RIB: fresh again.
    drop(a);
    let _a2 = lab.gobgpd("10.99.0.2", 65100, api, true);
    wait_for("GR session back", 30, || lab.established("10.99.0.2"));
    announce(&lab, api, "10.241.1.0/24", "10.99.0.2");
    wait_for("the route fresh again", 15, || {
        lab.paths("10.241.1.0/24")
            .first()
            .is_some_and(|p| p["stale"] == false)
    });
    let _ = std::fs::remove_dir_all(&lab.dir);
}

#[test]
fn reload_adds_and_removes_neighbors_without_touching_the_others() {
    let Some(lab) = lab_or_skip("reload") else {
        return;
    };
    let _r = lab.rbgpd_with(&[("10.99.0.2", 65100)]);
    let [api_a, api_b] = api_ports();
    let _a = lab.gobgpd("10.99.0.2", 65100, api_a, false);
    let _b = lab.gobgpd("10.99.0.3", 65200, api_b, false);
    wait_for("A Established", 30, || lab.established("10.99.0.2"));
    std::thread::sleep(Duration::from_secs(2));

    // A broken file is refused; the running config stays.
    std::fs::write(lab.dir.join("rbgpd.toml"), "[router]\nasn = \"x\"\n").unwrap();
    let r = lab.ctl(&["reload"]);
    assert_eq!(r["result"]["applied"], false, "{r}");
    assert!(
        r["result"]["errors"][0].as_str().unwrap().contains("asn"),
        "{r}"
    );
    assert!(lab.established("10.99.0.2"));

    // Adding B brings B up and leaves A's session alone.
    lab.write_config(&[("10.99.0.2", 65100), ("10.99.0.3", 65200)]);
    let r = lab.ctl(&["reload"]);
    assert_eq!(r["result"]["applied"], true, "{r}");
    assert_eq!(
        r["result"]["added"],
        serde_json::json!(["10.99.0.3"]),
        "{r}"
    );
    wait_for("B Established", 30, || lab.established("10.99.0.3"));
    let a = lab.ctl(&["show", "peer", "10.99.0.2"]);
    assert_eq!(
        a["peer"]["established_count"], 1,
        "A's session was not reset: {a}"
    );
    assert!(
        a["peer"]["summary"]["uptime_secs"].as_u64().unwrap() >= 2,
        "{a}"
    );

    // Removing A closes it with Cease / Peer De-configured.
    lab.write_config(&[("10.99.0.3", 65200)]);
    let r = lab.ctl(&["reload"]);
    assert_eq!(
        r["result"]["removed"],
        serde_json::json!(["10.99.0.2"]),
        "{r}"
    );
    wait_for("A gone from show peers", 10, || {
        let p = lab.ctl(&["show", "peers"]);
        p["peers"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["address"] != "10.99.0.2"))
    });
    wait_for("A told why", 10, || {
        let log = std::fs::read_to_string(lab.dir.join("gobgpd-10.99.0.2.log")).unwrap_or_default();
        log.contains("subcode 3(peer deconfigured)")
    });
    assert!(lab.established("10.99.0.3"));
    let _ = std::fs::remove_dir_all(&lab.dir);
}

#[test]
fn max_prefix_stop_closes_the_session_with_cease_1() {
    let Some(lab) = lab_or_skip("maxpfx") else {
        return;
    };
    let path = lab.write_config_extra(
        &[("10.99.0.2", 65100)],
        "max_prefixes = { limit = 2, action = \"stop\" }",
    );
    let _r = lab.start_rbgpd(&path);
    let api = free_port("127.0.0.1");
    let _a = lab.gobgpd("10.99.0.2", 65100, api, false);
    wait_for("A Established", 30, || lab.established("10.99.0.2"));
    for p in ["10.241.0.0/24", "10.241.1.0/24"] {
        announce(&lab, api, p, "10.99.0.2");
    }
    wait_for("two routes", 10, || {
        lab.ctl(&["show", "routes"])["routes"]
            .as_array()
            .is_some_and(|r| r.len() == 2)
    });
    assert!(
        lab.established("10.99.0.2"),
        "at the limit the session stays"
    );
    announce(&lab, api, "10.241.2.0/24", "10.99.0.2");
    wait_for("the session closed", 10, || !lab.established("10.99.0.2"));
    wait_for("its routes gone", 10, || {
        lab.ctl(&["show", "routes"])["routes"]
            .as_array()
            .is_some_and(|r| r.is_empty())
    });
    wait_for("A told Cease / max prefixes", 10, || {
        let log = std::fs::read_to_string(lab.dir.join("gobgpd-10.99.0.2.log")).unwrap_or_default();
        log.contains("\"Code\":6") && log.contains("\"Subcode\":1")
    });
    let p = lab.ctl(&["show", "peers"]);
    assert_eq!(p["peers"][0]["admin_down"], true, "{p}");
    let _ = std::fs::remove_dir_all(&lab.dir);
}

/// AS-per-node: one range with `remote_as = "external"` takes six gobgpd
/// speakers in six ASes; `show peers` shows each session's AS, and an
/// import policy matching `peer_as` takes routes from two of them only.
#[test]
fn one_external_range_takes_speakers_of_six_ases() {
    let Some(lab) = lab_or_skip("anyas") else {
        return;
    };
    let path = lab.write_config(&[]);
    let mut cfg = std::fs::read_to_string(&path).unwrap();
    cfg += "\n[[neighbor]]\nrange = \"10.99.0.0/29\"\nremote_as = \"external\"\n\
            import = \"two-ases\"\n\
            \n[[policy]]\nname = \"two-ases\"\n[[policy.term]]\n\
            match = { peer_as = [65102, 65103] }\naction = { result = \"accept\" }\n";
    std::fs::write(&path, cfg).unwrap();
    let _r = lab.start_rbgpd(&path);
    let nodes: Vec<(String, u32)> = (2..=7)
        .map(|i| (format!("10.99.0.{i}"), 65100 + i))
        .collect();
    let apis = testbed::free_ports("127.0.0.1", nodes.len());
    let _speakers: Vec<Proc> = nodes
        .iter()
        .zip(&apis)
        .map(|((addr, asn), api)| lab.gobgpd(addr, *asn, *api, false))
        .collect();
    wait_for("six sessions Established", 60, || {
        nodes.iter().all(|(a, _)| lab.established(a))
    });
    let peers = lab.ctl(&["show", "peers"])["peers"].clone();
    for (addr, asn) in &nodes {
        let p = peers
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["address"] == addr.as_str()))
            .unwrap_or_else(|| panic!("{addr} missing: {peers}"));
        assert_eq!(p["remote_as"], *asn, "{p}");
    }
    let text = lab.ctl_text(&["show", "peers"]);
    assert!(text.contains("65107") && text.contains("65102"), "{text}");
    // Each node announces its own /24; AS 65102 and 65103's are taken.
    for (i, ((addr, _), api)) in nodes.iter().zip(&apis).enumerate() {
        announce(&lab, *api, &format!("10.250.{i}.0/24"), addr);
    }
    let prefixes = || -> Vec<String> {
        let routes = lab.ctl(&["show", "routes"])["routes"].clone();
        let mut v: Vec<String> = routes
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["prefix"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    wait_for("the two accepted routes", 20, || prefixes().len() == 2);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(prefixes(), ["10.250.0.0/24", "10.250.1.0/24"]);
}

/// What gobgpd on `api` holds for `prefix`: (next hop, AS path), if any.
fn gobgp_route(lab: &Lab, api: u16, prefix: &str, family: &str) -> Option<(String, String)> {
    let rib = gobgp(lab, api, &["global", "rib", "-a", family, "-j"]);
    let v: Value = serde_json::from_str(&rib).ok()?;
    let attrs = v[prefix][0]["attrs"].as_array()?.clone();
    let nh = attrs.iter().find_map(|a| match a["type"].as_u64() {
        Some(3) => a["nexthop"].as_str().map(String::from),
        Some(14) => a["nexthop"].as_str().map(String::from),
        _ => None,
    });
    let path = attrs
        .iter()
        .find(|a| a["type"] == 2)
        .map(|a| a["as_paths"].to_string())
        .unwrap_or_default();
    Some((nh.unwrap_or_default(), path))
}

#[test]
fn originated_routes_a_default_and_connected_networks_reach_gobgp_nodes() {
    let Some(lab) = lab_or_skip("origin") else {
        return;
    };
    let path = lab.write_config(&[("10.99.0.3", 65200)]);
    let cfg = std::fs::read_to_string(&path).unwrap().replace(
        "[router]\n",
        "[router]\nredistribute = [\"connected\"]\nredistribute_policy = \"dc\"\n",
    ) + "\n[[neighbor]]\naddress = \"10.99.0.2\"\nremote_as = 65100\npassive = true\n\
         default_originate = true\n\
         \n[[route]]\nprefix = \"10.200.0.0/16\"\ncommunities = [\"65000:200\"]\n\
         \n[[prefix_list]]\nname = \"dc\"\nentry = [{ prefix = \"10.77.0.0/16\", le = 32 }]\n\
         \n[[policy]]\nname = \"dc\"\n[[policy.term]]\nmatch = { prefix_list = \"dc\" }\n\
         action = { result = \"accept\" }\n";
    std::fs::write(&path, cfg).unwrap();
    let _r = lab.start_rbgpd(&path);
    let (_a, _b, [api_a, api_b]) = lab.two_speakers();
    wait_for("node A holds our default and 10.200.0.0/16", 15, || {
        gobgp_route(&lab, api_a, "0.0.0.0/0", "ipv4").is_some()
            && gobgp_route(&lab, api_a, "10.200.0.0/16", "ipv4").is_some()
    });
    let (nh, as_path) = gobgp_route(&lab, api_a, "0.0.0.0/0", "ipv4").unwrap();
    assert_eq!(nh, "10.99.0.1", "the default goes via the router");
    assert!(as_path.contains("65000"), "{as_path}");
    let v6 = gobgp(&lab, api_a, &["global", "rib", "-a", "ipv6"]);
    assert!(v6.contains("::/0"), "the IPv6 default too: {v6}");
    wait_for("node B holds 10.200.0.0/16", 15, || {
        gobgp_route(&lab, api_b, "10.200.0.0/16", "ipv4").is_some()
    });
    assert!(
        gobgp_route(&lab, api_b, "0.0.0.0/0", "ipv4").is_none(),
        "no default_originate for B"
    );
    // The loopback /32s are connected too, but the policy keeps them out.
    assert!(gobgp_route(&lab, api_b, "10.99.0.2/32", "ipv4").is_none());
    let paths = lab.paths("10.200.0.0/16");
    assert_eq!(paths[0]["peer"], Value::Null, "local: {paths:?}");
    assert_eq!(paths[0]["next_hop"], "self");

    // A network appears on an interface, then goes.
    let ip = |args: &[&str]| {
        let ok = lab.ns.command("ip").args(args).status().unwrap().success();
        assert!(ok, "ip {args:?}");
    };
    // A veth pair: the kernels here may lack the dummy module.
    ip(&[
        "link", "add", "rbdc0", "type", "veth", "peer", "name", "rbdc1",
    ]);
    ip(&["addr", "add", "10.77.1.1/24", "dev", "rbdc0"]);
    ip(&["link", "set", "rbdc0", "up"]);
    ip(&["link", "set", "rbdc1", "up"]);
    let learned = || gobgp_route(&lab, api_b, "10.77.1.0/24", "ipv4").is_some();
    wait_for("node B learns the connected 10.77.1.0/24", 15, learned);
    // The far end going down takes the carrier, and the network with it.
    ip(&["link", "set", "rbdc1", "down"]);
    wait_for("node B drops 10.77.1.0/24 without carrier", 15, || {
        !learned()
    });
    ip(&["link", "set", "rbdc1", "up"]);
    wait_for("node B learns 10.77.1.0/24 again", 15, learned);
    ip(&["addr", "del", "10.77.1.1/24", "dev", "rbdc0"]);
    wait_for("node B drops 10.77.1.0/24", 15, || {
        gobgp_route(&lab, api_b, "10.77.1.0/24", "ipv4").is_none()
    });
    let _ = std::fs::remove_dir_all(&lab.dir);
}

/// Run as an unprivileged user with CAP_NET_BIND_SERVICE and CAP_NET_RAW
/// but without CAP_NET_ADMIN, rbgpd keeps just those two, runs with the
/// FIB off, says so and why (log, `show summary`, `show fib`), and BGP
/// works: a speaker's route is learned and passed on; none is written
/// into the kernel.
#[test]
fn without_net_admin_the_fib_is_off_and_bgp_still_works() {
    let Some(lab) = lab_or_skip("nocap") else {
        return;
    };
    if let Some(why) = testbed::missing(&["setpriv"]) {
        testbed::skip(why);
        return;
    }
    // The unprivileged daemon makes its control socket in the directory.
    let owned = Command::new("chown")
        .args(["65534:65534", lab.dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(owned.success());
    let path = lab.write_config(&[("10.99.0.2", 65100), ("10.99.0.3", 65200)]);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("[fib]\nenabled = false", "[fib]\nenabled = true"),
    )
    .unwrap();
    let caps = "-all,+net_bind_service,+net_raw";
    let r = lab.spawn(
        "setpriv",
        &[
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            &format!("--inh-caps={caps}"),
            &format!("--ambient-caps={caps}"),
            &format!("--bounding-set={caps}"),
            env!("CARGO_BIN_EXE_rbgpd"),
            "--config",
            path.to_str().unwrap(),
        ],
        "rbgpd.log",
    );
    let (_a, _b, [api_a, api_b]) = lab.two_speakers();
    announce(&lab, api_a, "10.241.0.0/24", "10.99.0.2");
    wait_for("speaker B learns 10.241.0.0/24 through rbgpd", 10, || {
        gobgp(&lab, api_b, &["global", "rib", "-a", "ipv4"]).contains("10.241.0.0/24")
    });

    let status = std::fs::read_to_string(format!("/proc/{}/status", r.pid())).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    assert!(field("Uid:").starts_with("65534"), "{status}");
    // CAP_NET_BIND_SERVICE (10) and CAP_NET_RAW (13), nothing else.
    assert_eq!(field("CapEff:"), "0000000000002400", "{status}");
    assert_eq!(field("CapPrm:"), "0000000000002400", "{status}");

    let summary = lab.ctl_text(&["show", "summary"]);
    assert!(
        summary.contains("FIB:     OFF: no CAP_NET_ADMIN, so the FIB is off"),
        "{summary}"
    );
    let fib = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .arg("--socket")
        .arg(&lab.socket)
        .args(["show", "fib"])
        .output()
        .unwrap();
    assert!(!fib.status.success());
    let said = String::from_utf8_lossy(&fib.stderr);
    assert!(said.contains("AmbientCapabilities=CAP_NET_ADMIN"), "{said}");
    let log = std::fs::read_to_string(lab.dir.join("rbgpd.log")).unwrap();
    assert!(
        log.contains("ERROR") && log.contains("no CAP_NET_ADMIN, so the FIB is off"),
        "{log}"
    );
    let kernel = lab.ns.ip(&["route", "show", "proto", "bgp"]).unwrap();
    assert_eq!(kernel.trim(), "", "no route written without the FIB");
    drop(r);
    let _ = std::fs::remove_dir_all(&lab.dir);
}
