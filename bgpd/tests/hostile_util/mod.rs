//! The rig of the hostile-peer suite (`hostile.rs`): the real `rbgpd` in a
//! fresh network namespace (its own `lo`, so 127.0.0.0/8 is all ours:
//! rbgpd on 127.0.0.1:179, peers bound to 127.77.x.y, no addresses to
//! add), `rbgpctl --json` queries with a deadline, rbgpd's resident memory
//! and log, and the two good peers every test keeps and checks.
//!
//! rbgpd's neighbors (all passive: the peers are test code that dials):
//! 127.77.0.2 (AS 65001) and 127.77.0.3 (AS 65002), the good peers;
//! 127.77.0.4 (AS 65003), a good peer that comes late; and the range
//! 127.77.0.0/16 (AS 65100) for everyone else, hostile or feeding.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod speaker;

use serde_json::Value;
use speaker::{pfx, Peer, Spec};
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testbed::{Netns, Proc};

/// The good peers' addresses and ASes.
pub const GOOD_A: (Ipv4Addr, u32) = (Ipv4Addr::new(127, 77, 0, 2), 65001);
/// See [`GOOD_A`].
pub const GOOD_B: (Ipv4Addr, u32) = (Ipv4Addr::new(127, 77, 0, 3), 65002);
/// A good peer that connects after the hostile act.
pub const LATE_C: (Ipv4Addr, u32) = (Ipv4Addr::new(127, 77, 0, 4), 65003);
/// The AS of every peer of the range.
pub const RANGE_AS: u32 = 65100;

/// How a test wants rbgpd.
#[derive(Debug, Clone)]
pub struct Opts {
    /// `[log] level`.
    pub log_level: &'static str,
    /// The range's `limit`.
    pub range_limit: usize,
}

impl Default for Opts {
    fn default() -> Opts {
        Opts {
            log_level: "info",
            range_limit: 1024,
        }
    }
}

/// One test's namespace, scratch directory and rbgpd. Field order
/// matters: rbgpd is stopped before the namespace goes.
pub struct Rig {
    rbgpd: Proc,
    /// The namespace everything runs in.
    pub ns: Netns,
    /// Scratch directory (config, socket, log).
    pub dir: PathBuf,
    /// rbgpd's control socket.
    pub socket: PathBuf,
}

impl Rig {
    /// A fresh namespace `rbh-<name>-<pid>` and rbgpd in it, or `None`
    /// (after a `SKIP:` line) when namespaces cannot be made here.
    pub fn start(name: &str, opts: &Opts) -> Option<Rig> {
        if let Some(why) = testbed::netns_unavailable() {
            testbed::skip(why);
            return None;
        }
        let pid = std::process::id();
        let ns = match Netns::create(&format!("rbh-{name}-{pid}")) {
            Ok(ns) => ns,
            Err(e) => {
                testbed::skip(format!("cannot make a network namespace: {e}"));
                return None;
            }
        };
        let dir = std::env::temp_dir().join(format!("rbgpd-hostile-{name}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("ctl.sock");
        let config = dir.join("rbgpd.toml");
        std::fs::write(&config, config_text(&socket, opts)).unwrap();
        let mut cmd = ns.command(env!("CARGO_BIN_EXE_rbgpd"));
        cmd.arg("--config").arg(&config);
        // Memory is returned to the system as soon as it is freed (rbgpd
        // waits 2 ms, and a worker thread that goes idle may keep what it
        // freed until it allocates again): its RSS is then what it holds,
        // not a level that differs by 30 MiB between runs.
        cmd.env("MIMALLOC_PURGE_DELAY", "0");
        let rbgpd = Proc::spawn("rbgpd", cmd, &dir.join("rbgpd.log"))
            .unwrap()
            .kill_on_drop();
        let rig = Rig {
            rbgpd,
            ns,
            dir,
            socket,
        };
        rig.wait("rbgpd's control socket", 20, || {
            rig.ctl(&["show", "peers"])["peers"].is_array()
        });
        Some(rig)
    }

    /// Runs `f` on a thread inside the namespace (sockets it opens, and
    /// threads it starts, live there); a panic in `f` is resumed here.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        self.ns.run(f).unwrap()
    }

    /// `rbgpctl --json ARGS`, killed after 20 s; Null when it fails.
    pub fn ctl(&self, args: &[&str]) -> Value {
        self.ctl_within(args, Duration::from_secs(20))
            .unwrap_or(Value::Null)
    }

    /// `rbgpctl --json ARGS`, or `None` when it did not answer within
    /// `limit` (then it is killed, by PID).
    pub fn ctl_within(&self, args: &[&str], limit: Duration) -> Option<Value> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
            .arg("--socket")
            .arg(&self.socket)
            .arg("--json")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                let out = child.wait_with_output().unwrap();
                return Some(serde_json::from_slice(&out.stdout).unwrap_or(Value::Null));
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every peer of `show peers`.
    pub fn peers(&self) -> Vec<Value> {
        self.ctl(&["show", "peers"])["peers"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `show peer ADDR`'s `peer` object.
    pub fn peer(&self, addr: Ipv4Addr) -> Value {
        self.ctl(&["show", "peer", &addr.to_string()])["peer"].clone()
    }

    /// The FSM state rbgpd reports for `addr` ("" when not listed).
    pub fn state(&self, addr: Ipv4Addr) -> String {
        let a = addr.to_string();
        self.peers()
            .iter()
            .find(|p| p["address"] == a.as_str())
            .and_then(|p| p["state"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// IPv4 prefixes received from `addr` (its Adj-RIB-In).
    pub fn received_v4(&self, addr: Ipv4Addr) -> u64 {
        self.peer(addr)["summary"]["families"]
            .as_array()
            .and_then(|fs| fs.iter().find(|f| f["family"] == "ipv4-unicast"))
            .and_then(|f| f["received"].as_u64())
            .unwrap_or(0)
    }

    /// The peers rbgpd holds a path for exactly `prefix` from.
    pub fn route_peers(&self, prefix: &str) -> Vec<String> {
        self.ctl(&["show", "routes", prefix])["routes"]
            .as_array()
            .and_then(|rs| rs.iter().find(|e| e["prefix"] == prefix))
            .and_then(|e| e["paths"].as_array())
            .map(|ps| {
                ps.iter()
                    .filter_map(|p| p["peer"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Whether rbgpd holds `prefix` from `peer`.
    pub fn has_route(&self, prefix: &str, peer: Ipv4Addr) -> bool {
        self.route_peers(prefix).contains(&peer.to_string())
    }

    /// rbgpd's resident set (VmRSS), KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.rbgpd.pid())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap()
    }

    /// rbgpd's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.rbgpd.log_path()).unwrap_or_default()
    }

    /// Lines of rbgpd's log that contain every one of `words`.
    pub fn log_lines(&self, words: &[&str]) -> usize {
        self.log()
            .lines()
            .filter(|l| words.iter().all(|w| l.contains(w)))
            .count()
    }

    /// Polls `cond` every 100 ms until it holds; panics (with rbgpd's
    /// log tail) after `secs`.
    pub fn wait(&self, what: &str, secs: u64, mut cond: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !cond() {
            assert!(
                Instant::now() < deadline,
                "timed out after {secs} s waiting for {what}; rbgpd log tail:\n{}",
                self.rbgpd.log_tail(30)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Connects the two good peers, each announcing two prefixes of its
    /// own, and waits until rbgpd holds all four and each peer has the
    /// other's.
    pub fn good_peers(&self) -> Good {
        let a = Peer::start(Spec::new(GOOD_A.0, GOOD_A.1));
        let b = Peer::start(Spec::new(GOOD_B.0, GOOD_B.1));
        let g = Good {
            a,
            b,
            fresh: std::cell::Cell::new(0),
        };
        g.a.announce(&[pfx("10.1.0.0/24"), pfx("10.1.1.0/24")]);
        g.b.announce(&[pfx("10.2.0.0/24"), pfx("10.2.1.0/24")]);
        self.wait("the good peers' routes", 20, || g.routes_in(self));
        g.a.wait("B's routes at A", 20, |s| {
            s.prefixes.contains(&pfx("10.2.1.0/24"))
        });
        g.b.wait("A's routes at B", 20, |s| {
            s.prefixes.contains(&pfx("10.1.1.0/24"))
        });
        g
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        if std::thread::panicking() || std::env::var_os("RBH_KEEP_LOGS").is_some() {
            eprintln!("rbgpd's config and log kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// rbgpd's config for a rig (see the module doc).
fn config_text(socket: &std::path::Path, opts: &Opts) -> String {
    let mut cfg = format!(
        "[router]\nasn = 65000\nrouter_id = \"10.0.0.1\"\nlisten = [\"127.0.0.1:179\"]\n\n\
         [fib]\nenabled = false\n\n[control]\nsocket = \"{}\"\n\n[log]\nlevel = \"{}\"\n",
        socket.display(),
        opts.log_level
    );
    for (addr, asn) in [GOOD_A, GOOD_B, LATE_C] {
        cfg +=
            &format!("\n[[neighbor]]\naddress = \"{addr}\"\nremote_as = {asn}\npassive = true\n");
    }
    // The range's peers share one AS and must get each other's routes
    // (the hostile peer is fed the feeder's table): no sender-side check.
    cfg += &format!(
        "\n[[neighbor]]\nrange = \"127.77.0.0/16\"\nremote_as = {RANGE_AS}\nlimit = {}\n\
         sender_as_path_loop_detection = false\n",
        opts.range_limit
    );
    cfg
}

/// The two good peers of a test.
pub struct Good {
    /// 127.77.0.2, AS 65001: 10.1.0.0/24, 10.1.1.0/24.
    pub a: Peer,
    /// 127.77.0.3, AS 65002: 10.2.0.0/24, 10.2.1.0/24.
    pub b: Peer,
    fresh: std::cell::Cell<u8>,
}

impl Good {
    /// Whether rbgpd holds each good peer's prefixes from that peer.
    fn routes_in(&self, rig: &Rig) -> bool {
        [
            ("10.1.0.0/24", GOOD_A.0),
            ("10.1.1.0/24", GOOD_A.0),
            ("10.2.0.0/24", GOOD_B.0),
            ("10.2.1.0/24", GOOD_B.0),
        ]
        .iter()
        .all(|(p, from)| rig.has_route(p, *from))
    }

    /// After the hostile act (`after`, for messages): both sessions are
    /// still the first ones (Established once, no NOTIFICATION, no
    /// close), rbgpd still holds their routes and each still has the
    /// other's, and routing goes on: a new prefix from each reaches the
    /// other.
    pub fn check_intact(&self, rig: &Rig, after: &str) {
        for p in [&self.a, &self.b] {
            let d = rig.peer(p.spec.addr);
            assert_eq!(d["summary"]["state"], "established", "{after}: {d}");
            assert_eq!(d["established_count"], 1, "{after}: session reset: {d}");
            p.assert_untouched(after);
        }
        assert!(self.routes_in(rig), "{after}: good routes lost");
        assert!(self.a.seen().prefixes.contains(&pfx("10.2.0.0/24")));
        assert!(self.b.seen().prefixes.contains(&pfx("10.1.0.0/24")));
        let n = self.fresh.get() + 1;
        self.fresh.set(n);
        let (pa, pb) = (
            pfx(&format!("10.1.{n}0.0/24")),
            pfx(&format!("10.2.{n}0.0/24")),
        );
        self.a.announce(&[pa]);
        self.b.announce(&[pb]);
        self.b.wait(&format!("A's new route ({after})"), 30, |s| {
            s.prefixes.contains(&pa)
        });
        self.a.wait(&format!("B's new route ({after})"), 30, |s| {
            s.prefixes.contains(&pb)
        });
    }
}
