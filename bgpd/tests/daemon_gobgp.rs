//! The whole daemon against real GoBGP speakers on loopback (no FIB):
//! routes learned from one peer are re-advertised to another with our AS
//! prepended and ourselves as next hop, never back to their source; a GR
//! speaker's routes arrive at once (we send End-of-RIB straight away) and
//! survive its crash as stale until it comes back.
//!
//! Topology: a fresh network namespace per test with 10.99.0.1 (rbgpd),
//! 10.99.0.2 (gobgpd, AS 65100) and 10.99.0.3 (gobgpd, AS 65200) on its
//! `lo` (GoBGP refuses loopback next hops, so not 127.0.0.x), speakers
//! configured as Cilium configures them. Skipped (with a message) where
//! `gobgpd` is not installed or network namespaces cannot be made.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use serde_json::Value;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A network namespace deleted when dropped.
struct Netns(String);

impl Netns {
    fn new(name: &str) -> Option<Netns> {
        let ok = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success())
        };
        if !ok(&["netns", "add", name]) {
            return None;
        }
        let ns = Netns(name.to_string());
        let exec = |args: &[&str]| {
            let mut a = vec!["netns", "exec", name, "ip"];
            a.extend_from_slice(args);
            ok(&a)
        };
        let mut good = exec(&["link", "set", "lo", "up"]);
        for a in ["10.99.0.1/32", "10.99.0.2/32", "10.99.0.3/32"] {
            good &= exec(&["addr", "add", a, "dev", "lo"]);
        }
        good.then_some(ns)
    }

    /// `program` to run inside the namespace.
    fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

/// A child process killed (by PID) when dropped.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn have(cmd: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {cmd}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn free_port() -> u16 {
    // The namespace is fresh, so a port free on the host is free there.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(cmd: &mut Command, log: &Path) -> Proc {
    let f = std::fs::File::create(log).unwrap();
    let g = f.try_clone().unwrap();
    Proc(
        cmd.stdin(Stdio::null())
            .stdout(f)
            .stderr(g)
            .spawn()
            .unwrap(),
    )
}

struct Lab {
    metrics_port: u16,
    ns: Netns,
    dir: PathBuf,
    bgp_port: u16,
    socket: PathBuf,
}

impl Lab {
    fn new(name: &str) -> Option<Lab> {
        let ns = Netns::new(&format!("rbd-{name}-{}", std::process::id()))?;
        let dir = std::env::temp_dir().join(format!("rbgpd-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("ctl.sock");
        Some(Lab {
            metrics_port: free_port(),
            ns,
            dir,
            bgp_port: free_port(),
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
        spawn(
            self.ns
                .command(env!("CARGO_BIN_EXE_rbgpd"))
                .arg("--config")
                .arg(&path),
            &self.dir.join("rbgpd.log"),
        )
    }

    /// A gobgpd speaker as Cilium runs it: one neighbor (the router),
    /// IPv4 and IPv6 unicast, hold 90 / keepalive 30, optionally GR.
    fn gobgpd(&self, addr: &str, asn: u32, api_port: u16, gr: bool) -> Proc {
        let gr_cfg = if gr {
            "[neighbors.graceful-restart.config]\n  enabled = true\n  restart-time = 120\n  notification-enabled = true\n"
        } else {
            ""
        };
        let fam_gr = if gr {
            "    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n"
        } else {
            ""
        };
        let cfg = format!(
            r#"[global.config]
  as = {asn}
  router-id = "{addr}"
  port = -1
  local-address-list = ["{addr}"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.99.0.1"
    peer-as = 65000
  [neighbors.transport.config]
    remote-port = {port}
    local-address = "{addr}"
  [neighbors.timers.config]
    hold-time = 90
    keepalive-interval = 30
    connect-retry = 1
  {gr_cfg}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
{fam_gr}
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
{fam_gr}
"#,
            port = self.bgp_port
        );
        let path = self.dir.join(format!("gobgpd-{addr}.toml"));
        std::fs::write(&path, cfg).unwrap();
        spawn(
            self.ns
                .command("gobgpd")
                .arg("-f")
                .arg(&path)
                .arg("--api-hosts")
                .arg(format!("127.0.0.1:{api_port}"))
                .arg("--log-level")
                .arg("info"),
            &self.dir.join(format!("gobgpd-{addr}.log")),
        )
    }

    fn ctl(&self, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
            .arg("--socket")
            .arg(&self.socket)
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
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

/// Announces `prefix` with next hop `nh` from the speaker on `api_port`.
fn announce(lab: &Lab, api_port: u16, prefix: &str, nh: &str) {
    gobgp(
        lab,
        api_port,
        &["global", "rib", "add", prefix, "nexthop", nh, "-a", "ipv4"],
    );
}

/// The lab for one test, or `None` (after saying why) where the test
/// cannot run here.
fn lab_or_skip(name: &str) -> Option<Lab> {
    if !have("gobgpd") || !have("gobgp") {
        eprintln!("SKIP: gobgpd/gobgp not installed");
        return None;
    }
    let lab = Lab::new(name);
    if lab.is_none() {
        eprintln!("SKIP: cannot create a network namespace (not root?)");
    }
    lab
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out after {timeout:?} waiting for {what}");
}

fn established(lab: &Lab, addr: &str) -> bool {
    lab.ctl(&["show", "peers"])["peers"]
        .as_array()
        .is_some_and(|ps| {
            ps.iter()
                .any(|p| p["address"] == addr && p["state"] == "established")
        })
}

fn route_paths(lab: &Lab, prefix: &str) -> Vec<Value> {
    let r = lab.ctl(&["show", "routes", prefix]);
    r["routes"]
        .as_array()
        .and_then(|rs| rs.iter().find(|e| e["prefix"] == prefix))
        .and_then(|e| e["paths"].as_array().cloned())
        .unwrap_or_default()
}

#[test]
fn routes_flow_between_gobgp_speakers_through_rbgpd() {
    let Some(lab) = lab_or_skip("flow") else {
        return;
    };
    let _r = lab.rbgpd();
    let (api_a, api_b) = (free_port(), free_port());
    let _a = lab.gobgpd("10.99.0.2", 65100, api_a, false);
    let _b = lab.gobgpd("10.99.0.3", 65200, api_b, false);
    wait_for("both sessions Established", Duration::from_secs(30), || {
        established(&lab, "10.99.0.2") && established(&lab, "10.99.0.3")
    });

    announce(&lab, api_a, "10.241.0.0/24", "10.99.0.2");
    announce(&lab, api_a, "10.11.192.248/32", "10.99.0.2");
    wait_for("rbgpd holds 10.241.0.0/24", Duration::from_secs(10), || {
        !route_paths(&lab, "10.241.0.0/24").is_empty()
    });
    let paths = route_paths(&lab, "10.241.0.0/24");
    assert_eq!(paths[0]["next_hop"], "10.99.0.2");
    assert_eq!(paths[0]["as_path"], "65100");
    assert_eq!(paths[0]["best"], true);

    // Re-advertised to B with our AS prepended and ourselves as next hop.
    wait_for(
        "speaker B learns 10.241.0.0/24",
        Duration::from_secs(10),
        || gobgp(&lab, api_b, &["global", "rib", "-a", "ipv4"]).contains("10.241.0.0/24"),
    );
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
    wait_for("metrics with A's UPDATEs", Duration::from_secs(15), || {
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
    wait_for(
        "speaker B drops 10.241.0.0/24",
        Duration::from_secs(10),
        || !gobgp(&lab, api_b, &["global", "rib", "-a", "ipv4"]).contains("10.241.0.0/24"),
    );
    assert!(route_paths(&lab, "10.241.0.0/24").is_empty());
    let _ = std::fs::remove_dir_all(&lab.dir);
}

#[test]
fn graceful_restart_speaker_routes_arrive_at_once_and_survive_its_crash() {
    let Some(lab) = lab_or_skip("gr") else {
        return;
    };
    let _r = lab.rbgpd();
    let api = free_port();
    let mut a = lab.gobgpd("10.99.0.2", 65100, api, true);
    wait_for("GR session Established", Duration::from_secs(30), || {
        established(&lab, "10.99.0.2")
    });
    announce(&lab, api, "10.241.1.0/24", "10.99.0.2");
    // GoBGP with GR holds its routes until our End-of-RIB for every
    // family, else up to 360 s: they must arrive within seconds.
    wait_for("the GR speaker's route", Duration::from_secs(15), || {
        !route_paths(&lab, "10.241.1.0/24").is_empty()
    });

    // A crash: TCP closes without a NOTIFICATION; the helper keeps the
    // route, marked stale.
    let _ = a.0.kill();
    let _ = a.0.wait();
    wait_for("the session to go down", Duration::from_secs(10), || {
        !established(&lab, "10.99.0.2")
    });
    let paths = route_paths(&lab, "10.241.1.0/24");
    assert_eq!(paths.len(), 1, "route kept across the restart");
    assert_eq!(paths[0]["stale"], true);

    // It comes back, re-announces and sends End-of-RIB: fresh again.
    drop(a);
    let _a2 = lab.gobgpd("10.99.0.2", 65100, api, true);
    wait_for("GR session back", Duration::from_secs(30), || {
        established(&lab, "10.99.0.2")
    });
    announce(&lab, api, "10.241.1.0/24", "10.99.0.2");
    wait_for("the route fresh again", Duration::from_secs(15), || {
        route_paths(&lab, "10.241.1.0/24")
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
    let (api_a, api_b) = (free_port(), free_port());
    let _a = lab.gobgpd("10.99.0.2", 65100, api_a, false);
    let _b = lab.gobgpd("10.99.0.3", 65200, api_b, false);
    wait_for("A Established", Duration::from_secs(30), || {
        established(&lab, "10.99.0.2")
    });
    std::thread::sleep(Duration::from_secs(2));

    // A broken file is refused; the running config stays.
    std::fs::write(lab.dir.join("rbgpd.toml"), "[router]\nasn = \"x\"\n").unwrap();
    let r = lab.ctl(&["reload"]);
    assert_eq!(r["result"]["applied"], false, "{r}");
    assert!(
        r["result"]["errors"][0].as_str().unwrap().contains("asn"),
        "{r}"
    );
    assert!(established(&lab, "10.99.0.2"));

    // Adding B brings B up and leaves A's session alone.
    lab.write_config(&[("10.99.0.2", 65100), ("10.99.0.3", 65200)]);
    let r = lab.ctl(&["reload"]);
    assert_eq!(r["result"]["applied"], true, "{r}");
    assert_eq!(
        r["result"]["added"],
        serde_json::json!(["10.99.0.3"]),
        "{r}"
    );
    wait_for("B Established", Duration::from_secs(30), || {
        established(&lab, "10.99.0.3")
    });
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
    wait_for("A gone from show peers", Duration::from_secs(10), || {
        let p = lab.ctl(&["show", "peers"]);
        p["peers"]
            .as_array()
            .is_some_and(|ps| ps.iter().all(|p| p["address"] != "10.99.0.2"))
    });
    wait_for("A told why", Duration::from_secs(10), || {
        let log = std::fs::read_to_string(lab.dir.join("gobgpd-10.99.0.2.log")).unwrap_or_default();
        log.contains("subcode 3(peer deconfigured)")
    });
    assert!(established(&lab, "10.99.0.3"));
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
    let _r = spawn(
        lab.ns
            .command(env!("CARGO_BIN_EXE_rbgpd"))
            .arg("--config")
            .arg(&path),
        &lab.dir.join("rbgpd.log"),
    );
    let api = free_port();
    let _a = lab.gobgpd("10.99.0.2", 65100, api, false);
    wait_for("A Established", Duration::from_secs(30), || {
        established(&lab, "10.99.0.2")
    });
    for p in ["10.241.0.0/24", "10.241.1.0/24"] {
        announce(&lab, api, p, "10.99.0.2");
    }
    wait_for("two routes", Duration::from_secs(10), || {
        lab.ctl(&["show", "routes"])["routes"]
            .as_array()
            .is_some_and(|r| r.len() == 2)
    });
    assert!(
        established(&lab, "10.99.0.2"),
        "at the limit the session stays"
    );
    announce(&lab, api, "10.241.2.0/24", "10.99.0.2");
    wait_for("the session closed", Duration::from_secs(10), || {
        !established(&lab, "10.99.0.2")
    });
    wait_for("its routes gone", Duration::from_secs(10), || {
        lab.ctl(&["show", "routes"])["routes"]
            .as_array()
            .is_some_and(|r| r.is_empty())
    });
    wait_for(
        "A told Cease / max prefixes",
        Duration::from_secs(10),
        || {
            let log =
                std::fs::read_to_string(lab.dir.join("gobgpd-10.99.0.2.log")).unwrap_or_default();
            log.contains("\"Code\":6") && log.contains("\"Subcode\":1")
        },
    );
    let p = lab.ctl(&["show", "peers"]);
    assert_eq!(p["peers"][0]["admin_down"], true, "{p}");
    let _ = std::fs::remove_dir_all(&lab.dir);
}
