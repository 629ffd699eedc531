//! Helpers shared by the whole-daemon tests (`interop_gobgp.rs`,
//! `interop_bird.rs`, `interop_frr.rs`; `daemon_gobgp.rs` takes the
//! namespace, the [`Rbgpctl`] queries and the gobgpd config), on top of
//! `testbed`: a network namespace per test with addresses 10.98.0.1 to
//! 10.98.0.9 on its `lo` (rbgpd is always 10.98.0.1, port 179, AS
//! 65000), or two joined by a veth pair
//! (`Lab::new_split`); rbgpd started from a generated config; `rbgpctl
//! --json` queries; processes owned by PID; a real connection collision
//! forced with nftables (`Lab::start_colliding`); gobgpd configured as
//! Cilium configures it ([`GobgpdSpeaker`]); and, in [`raw`], a scripted
//! BGP speaker (raw OPENs, run inside the namespace through `setns(2)`).
//!
//! Everything made here is removed in `Drop`, also when a test panics.
//! `RBI_KEEP_LOGS=1` keeps the scratch directory (configs, logs) of a
//! passing test too; `RBI_CAPTURE=1` adds a tshark capture of port 179.

#![allow(dead_code, unused_imports, clippy::unwrap_used, clippy::expect_used)]

mod gobgpd;
pub mod raw;

pub use gobgpd::GobgpdSpeaker;
pub use raw::check_refused_sessions;
pub use testbed::wait::{settles, stays, wait_for};
pub use testbed::{Netns, Proc};

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use testbed::netns::veth;

/// rbgpd's address in every lab.
pub const RBGPD: &str = "10.98.0.1";
/// rbgpd's AS in every lab.
pub const RBGPD_AS: u32 = 65000;

/// A namespace `name` with `on_lo` (CIDRs) on its `lo`, or `None` (with
/// a `SKIP:` line) when it cannot be made here.
pub fn netns_with_lo(name: &str, on_lo: &[String]) -> Option<Netns> {
    if let Some(why) = testbed::netns_unavailable() {
        testbed::skip(why);
        return None;
    }
    let made = Netns::create(name).and_then(|ns| {
        for a in on_lo {
            ns.add_addr("lo", a)?;
        }
        Ok(ns)
    });
    made.map_err(|e| testbed::skip(format!("cannot set up network namespace {name}: {e}")))
        .ok()
}

/// `10.98.0.<i>/32` for each `i`.
fn lab_addrs(on_lo: &[u8]) -> Vec<String> {
    on_lo.iter().map(|i| format!("10.98.0.{i}/32")).collect()
}

/// `rbgpctl --json` queries against an rbgpd's control socket.
pub trait Rbgpctl {
    /// The control socket.
    fn socket(&self) -> &Path;

    /// `rbgpctl --json ARGS` (Null when it fails).
    fn ctl(&self, args: &[&str]) -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
            .arg("--socket")
            .arg(self.socket())
            .arg("--json")
            .args(args)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
    }

    /// `rbgpctl ARGS` as text (empty when it fails).
    fn ctl_text(&self, args: &[&str]) -> String {
        let out = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
            .arg("--socket")
            .arg(self.socket())
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `show peer ADDR`'s `peer` object.
    fn peer(&self, addr: &str) -> Value {
        self.ctl(&["show", "peer", addr])["peer"].clone()
    }

    /// Whether rbgpd's session with `addr` is Established.
    fn established(&self, addr: &str) -> bool {
        self.ctl(&["show", "peers"])["peers"]
            .as_array()
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p["address"] == addr && p["state"] == "established")
            })
    }

    /// How many times rbgpd's session with `addr` reached Established.
    fn established_count(&self, addr: &str) -> u64 {
        self.peer(addr)["established_count"].as_u64().unwrap_or(0)
    }

    /// The paths rbgpd holds for exactly `prefix`.
    fn paths(&self, prefix: &str) -> Vec<Value> {
        self.ctl(&["show", "routes", prefix])["routes"]
            .as_array()
            .and_then(|rs| rs.iter().find(|e| e["prefix"] == prefix))
            .and_then(|e| e["paths"].as_array().cloned())
            .unwrap_or_default()
    }

    /// Whether rbgpd holds `prefix` from `peer`.
    fn has_route_from(&self, prefix: &str, peer: &str) -> bool {
        self.paths(prefix).iter().any(|p| p["peer"] == peer)
    }
}

/// One rbgpd neighbor in the generated config.
#[derive(Clone, Debug)]
pub struct Neighbor {
    /// Its address (10.98.0.x).
    pub address: &'static str,
    /// Its AS.
    pub asn: u32,
    /// Wait for it instead of dialling.
    pub passive: bool,
    /// Hold time proposed (None: the default 90).
    pub hold_time: Option<u16>,
}

impl Neighbor {
    /// An active neighbor (rbgpd dials it too) with the default timers.
    pub fn active(address: &'static str, asn: u32) -> Neighbor {
        Neighbor {
            address,
            asn,
            passive: false,
            hold_time: None,
        }
    }

    /// A passive neighbor.
    pub fn passive(address: &'static str, asn: u32) -> Neighbor {
        Neighbor {
            passive: true,
            ..Neighbor::active(address, asn)
        }
    }

    /// With hold time `h`.
    pub fn hold(mut self, h: u16) -> Neighbor {
        self.hold_time = Some(h);
        self
    }
}

/// One test's namespace(s), scratch directory and rbgpd control socket.
/// Field order matters: processes go before the namespaces.
pub struct Lab {
    procs: Vec<Proc>,
    /// rbgpd's namespace (and the peers', unless split).
    pub ns: Netns,
    /// The peers' namespace of a split lab (see `Lab::new_split`).
    pub peer_ns: Option<Netns>,
    /// Scratch directory (configs, logs, sockets).
    pub dir: PathBuf,
    /// rbgpd's control socket.
    pub socket: PathBuf,
}

impl Lab {
    /// A fresh lab for test `name` (namespace `rbi-<name>-<pid>`, with
    /// 10.98.0.1 to .9 on its `lo`: rbgpd and the peers share it), or
    /// `None` (with a printed reason) when namespaces cannot be made.
    pub fn new(name: &str) -> Option<Lab> {
        let pid = std::process::id();
        let on_lo = lab_addrs(&[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let ns = netns_with_lo(&format!("rbi-{name}-{pid}"), &on_lo)?;
        Lab::with(name, ns, None)
    }

    /// Like `new`, but the peers at 10.98.0.2 and .3 live in a second
    /// namespace (`rbi-<name>-<pid>-p`) joined to rbgpd's by a veth pair
    /// on 10.98.0.0/24, so that rbgpd's address is not local to them
    /// (BIRD refuses a next hop that is one of its own addresses).
    pub fn new_split(name: &str) -> Option<Lab> {
        let pid = std::process::id();
        let ns = netns_with_lo(
            &format!("rbi-{name}-{pid}"),
            &lab_addrs(&[4, 5, 6, 7, 8, 9]),
        )?;
        let peer = netns_with_lo(&format!("rbi-{name}-{pid}-p"), &[])?;
        let wired = veth(&ns, "v0", &peer, "v1")
            .and_then(|()| ns.add_addr("v0", "10.98.0.1/24"))
            .and_then(|()| ns.link_up("v0"))
            .and_then(|()| peer.add_addr("v1", "10.98.0.2/24"))
            .and_then(|()| peer.add_addr("v1", "10.98.0.3/24"))
            .and_then(|()| peer.link_up("v1"));
        if let Err(e) = wired {
            testbed::skip(format!("cannot wire {} to {}: {e}", ns.name(), peer.name()));
            return None;
        }
        Lab::with(name, ns, Some(peer))
    }

    fn with(name: &str, ns: Netns, peer_ns: Option<Netns>) -> Option<Lab> {
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("rbgpd-interop-{name}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // FRR and BIRD run as root here but may drop privileges.
        let _ = Command::new("chmod").arg("777").arg(&dir).status();
        let socket = dir.join("ctl.sock");
        let mut lab = Lab {
            procs: Vec::new(),
            ns,
            peer_ns,
            dir,
            socket,
        };
        // RBI_CAPTURE=1: a packet capture of port 179 kept with the logs.
        if std::env::var_os("RBI_CAPTURE").is_some() && testbed::have("tshark") {
            let pcap = lab.dir.join("bgp.pcap");
            let p = lab.spawn(
                "tshark",
                &[
                    "-i",
                    "any",
                    "-f",
                    "tcp port 179",
                    "-w",
                    pcap.to_str().unwrap(),
                ],
                "tshark.log",
            );
            lab.procs.push(p);
            std::thread::sleep(Duration::from_secs(1));
        }
        Some(lab)
    }

    /// The namespace the peers live in.
    pub fn peers_ns(&self) -> &Netns {
        self.peer_ns.as_ref().unwrap_or(&self.ns)
    }

    fn all_ns(&self) -> Vec<&Netns> {
        std::iter::once(&self.ns)
            .chain(self.peer_ns.as_ref())
            .collect()
    }

    /// Spawns `program args` inside rbgpd's namespace, output to `log` in
    /// the scratch directory.
    pub fn spawn(&self, program: &str, args: &[&str], log: &str) -> Proc {
        self.spawn_in(&self.ns, program, args, log)
    }

    /// Spawns a peer's `program args` inside the peers' namespace.
    pub fn spawn_peer(&self, program: &str, args: &[&str], log: &str) -> Proc {
        self.spawn_in(self.peers_ns(), program, args, log)
    }

    fn spawn_in(&self, ns: &Netns, program: &str, args: &[&str], log: &str) -> Proc {
        Proc::spawn_in(ns, program, program, args, &self.dir.join(log))
            .unwrap()
            .kill_on_drop()
    }

    /// Writes rbgpd's config (listening on 10.98.0.1:179, no FIB,
    /// connect retry 1 s) and starts rbgpd; it lives as long as the lab.
    pub fn start_rbgpd(&mut self, neighbors: &[Neighbor]) {
        let mut cfg = format!(
            "[router]\nasn = {RBGPD_AS}\nrouter_id = \"{RBGPD}\"\nlisten = [\"{RBGPD}:179\"]\n\n\
             [fib]\nenabled = false\n\n[control]\nsocket = \"{}\"\n\n\
             [log]\nlevel = \"info,bgpd=debug\"\n",
            self.socket.display()
        );
        for n in neighbors {
            cfg += &format!(
                "\n[[neighbor]]\naddress = \"{}\"\nremote_as = {}\npassive = {}\n\
                 local_address = \"{RBGPD}\"\nconnect_retry = 1\n",
                n.address, n.asn, n.passive
            );
            if let Some(h) = n.hold_time {
                cfg += &format!("hold_time = {h}\n");
            }
        }
        let path = self.dir.join("rbgpd.toml");
        std::fs::write(&path, cfg).unwrap();
        let p = self.spawn(
            env!("CARGO_BIN_EXE_rbgpd"),
            &["--config", path.to_str().unwrap()],
            "rbgpd.log",
        );
        self.procs.push(p);
        wait_for("rbgpd's control socket", 10, || {
            self.ctl(&["show", "peers"])["peers"].is_array()
        });
    }

    /// TCP connections in state ESTABLISHED between rbgpd and `peer` on
    /// port 179 (counted once, from rbgpd's end).
    pub fn tcp_sessions(&self, peer: &str) -> usize {
        let out = self
            .ns
            .command("ss")
            .args(["-Htn", "state", "established"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let (Some(local), Some(remote)) = (f.get(2), f.get(3)) else {
                    return false;
                };
                host_is(local, RBGPD)
                    && host_is(remote, peer)
                    && (local.ends_with(":179") || remote.ends_with(":179"))
            })
            .count()
    }

    /// Runs an nft script in every namespace of the lab.
    fn nft(&self, script: &str) -> bool {
        self.all_ns().iter().all(|ns| Lab::nft_in(ns, script))
    }

    fn nft_in(ns: &Netns, script: &str) -> bool {
        let Ok(mut child) = ns
            .command("nft")
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        else {
            return false;
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(script.as_bytes());
        }
        child.wait().is_ok_and(|s| s.success())
    }

    /// Drops every packet to a port 179 but SYNs: a dialling side's
    /// connect completes (the SYN-ACK gets back) while the listening side
    /// never sees the final ACK, so it accepts nothing, and no BGP message
    /// gets through. Returns whether it worked (nft may be missing).
    pub fn block_bgp(&self) -> bool {
        self.nft(
            "table inet rbi {\n chain input {\n  type filter hook input priority 0;\n  \
             tcp dport 179 tcp flags & syn == 0 drop\n }\n}\n",
        )
    }

    /// Removes what `block_bgp` added.
    pub fn unblock_bgp(&self) -> bool {
        self.nft("delete table inet rbi\n")
    }

    /// Whether `from` holds an established connection it dialled to
    /// `to`:179.
    pub fn dialled(&self, from: &str, to: &str) -> bool {
        let mut text = String::new();
        for ns in self.all_ns() {
            let out = ns
                .command("ss")
                .args(["-Htn", "state", "established"])
                .output()
                .unwrap();
            text += &String::from_utf8_lossy(&out.stdout);
        }
        text.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(2).is_some_and(|a| host_is(a, from))
                && f.get(3)
                    .is_some_and(|a| host_is(a, to) && a.ends_with(":179"))
        })
    }

    /// Starts rbgpd (with `neighbors`) and the peers (`start_peers`) so
    /// that both sides dial at once, for real (RFC 4271 6.8): with
    /// `block_bgp` in force, each side's dial completes but neither side
    /// accepts anything, until rbgpd has dialled each of `peers` and each
    /// has dialled rbgpd; then the final ACKs and the OPENs go through and
    /// both sides find themselves with two connections: the collision must
    /// be resolved. Without nftables the peers and rbgpd are just started.
    /// Returns what `start_peers` returned and how many peers had dialled
    /// at the same time as rbgpd.
    pub fn start_colliding<T>(
        &mut self,
        peers: &[&str],
        start_peers: impl FnOnce(&Lab) -> T,
        neighbors: &[Neighbor],
    ) -> (T, usize) {
        let blocked = self.block_bgp();
        self.start_rbgpd(neighbors);
        let procs = start_peers(self);
        if !blocked {
            println!("nft unavailable: a collision is left to chance");
            return (procs, 0);
        }
        let both = |p: &str| self.dialled(RBGPD, p) && self.dialled(p, RBGPD);
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(15) && !peers.iter().all(|p| both(p)) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let crossed = peers.iter().filter(|p| both(p)).count();
        assert!(self.unblock_bgp());
        println!(
            "{crossed} of {} peers dialled while rbgpd dialled them",
            peers.len()
        );
        (procs, crossed)
    }

    /// After `start_colliding`: exactly one TCP connection with each of
    /// `peers` and an Established session that stays; where both sides
    /// dialled (`crossed` is all of them), the connection kept is the one
    /// the peer dialled, as its BGP Identifier is the higher (RFC 4271 6.8:
    /// "the connection initiated by the BGP speaker with the higher-valued
    /// BGP Identifier" is kept). `flaps_allowed`: how many extra times a
    /// session may have been re-established on the way (a peer's own
    /// collision handling may drop the survivor once; see the FRR test).
    pub fn check_one_session_each(&self, peers: &[&str], crossed: usize, flaps_allowed: u64) {
        let one_each = || {
            peers
                .iter()
                .all(|p| self.established(p) && self.tcp_sessions(p) == 1)
        };
        if flaps_allowed == 0 {
            // A losing connection may linger for a moment.
            wait_for("one Established session with each peer", 20, one_each);
            stays("one Established session each", 3, one_each);
        } else {
            settles("one Established session with each peer", 30, 3, one_each);
        }
        for p in peers {
            let d = self.peer(p);
            let count = d["established_count"].as_u64().unwrap_or(0);
            assert!(count >= 1 && count <= 1 + flaps_allowed, "{d}");
            println!(
                "{p}: collision seen by rbgpd: {}, established {count} time(s)",
                self.saw_collision(p)
            );
            if crossed == peers.len() && count == 1 {
                let local = d["local_addr"].as_str().unwrap_or_default();
                assert_eq!(local, format!("{RBGPD}:179"), "kept the peer's dial: {d}");
            }
        }
    }

    /// Whether rbgpd's log mentions a connection collision with `peer`.
    pub fn saw_collision(&self, peer: &str) -> bool {
        std::fs::read_to_string(self.dir.join("rbgpd.log"))
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains("collision") && l.contains(&format!("peer={peer}")))
    }

    /// The last lines of a log in the scratch directory (for messages).
    pub fn log_tail(&self, log: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(log)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.procs.clear();
        if !std::thread::panicking() && std::env::var_os("RBI_KEEP_LOGS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("logs kept in {}", self.dir.display());
        }
    }
}

impl Rbgpctl for Lab {
    fn socket(&self) -> &Path {
        &self.socket
    }
}

/// Whether `ss`'s `ADDR[%IFACE]:PORT` column is for host `ip`.
fn host_is(column: &str, ip: &str) -> bool {
    let host = column.rsplit_once(':').map_or(column, |(h, _)| h);
    host.split('%').next() == Some(ip)
}

/// Freezes peer `a` (SIGSTOP, its hold time short), and checks that rbgpd
/// drops it at hold-timer expiry (not before 5 s) and withdraws `prefix`
/// from its own table and from peer `b` (`b_has` asks b's RIB); `b` stays
/// up. Then thaws `a` and checks it comes back within `back_secs` with the
/// route again.
pub fn check_frozen_peer(
    lab: &Lab,
    a_proc: &mut Proc,
    (a, b): (&str, &str),
    prefix: &str,
    b_has: impl Fn() -> bool,
    back_secs: u64,
) {
    a_proc.freeze().unwrap();
    let frozen = Instant::now();
    wait_for("A dropped", 15, || !lab.established(a));
    let took = frozen.elapsed();
    assert!(
        took >= Duration::from_secs(5),
        "dropped after {took:?}, before the hold time"
    );
    let pa = lab.peer(a);
    let why = format!("{} {}", pa["last_notification_sent"], pa["last_error"]).to_lowercase();
    assert!(why.contains("hold"), "hold timer expiry: {pa}");
    wait_for("A's route withdrawn", 5, || lab.paths(prefix).is_empty());
    wait_for("and withdrawn from B", 10, || !b_has());
    assert!(lab.established(b));

    // Thawed, it finds its connection gone and comes back.
    a_proc.thaw().unwrap();
    wait_for("A back after thaw", back_secs, || lab.established(a));
    wait_for("A's route again", 15, || lab.has_route_from(prefix, a));
}
