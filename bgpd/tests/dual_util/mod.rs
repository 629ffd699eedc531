//! The namespaces, daemons and checks of the dual-stack tests
//! (`dual_stack.rs`, `unnumbered.rs`): rbgpd (FIB on) in a namespace of its
//! own, joined by veth pairs to FRR, BIRD or gobgpd namespaces.

#![allow(dead_code)]

use super::interop_util::{wait_for, Rbgpctl};
use socket2::{Domain, Socket, Type};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;
use testbed::{Netns, Proc};

/// FRR's daemons.
pub const ZEBRA: &str = "/usr/lib/frr/zebra";
pub const FRR_BGPD: &str = "/usr/lib/frr/bgpd";
pub const FRR_BFDD: &str = "/usr/lib/frr/bfdd";

/// The namespaces of a test.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Role {
    /// rbgpd's.
    Rt,
    Frr,
    Bird,
    /// Cilium-like nodes (gobgpd).
    Node1,
    Node2,
}

impl Role {
    pub fn tag(self) -> &'static str {
        match self {
            Role::Rt => "r",
            Role::Frr => "f",
            Role::Bird => "b",
            Role::Node1 => "n1",
            Role::Node2 => "n2",
        }
    }
}

/// A test's namespaces, the processes in them and a scratch directory.
/// Field order matters: processes go first.
pub struct DualLab {
    procs: Vec<Proc>,
    namespaces: Vec<(Role, Netns)>,
    dir: PathBuf,
    socket: PathBuf,
}

impl Rbgpctl for DualLab {
    fn socket(&self) -> &Path {
        &self.socket
    }
}

impl DualLab {
    /// The namespaces of `roles`, wired up by `wire`, or `None` (with a
    /// `SKIP:` line) where `programs` or namespaces are missing.
    pub fn new(
        name: &str,
        programs: &[&str],
        roles: &[Role],
        wire: impl FnOnce(&DualLab) -> testbed::Result<()>,
    ) -> Option<DualLab> {
        if let Some(why) = testbed::missing(programs).or_else(testbed::netns_unavailable) {
            testbed::skip(why);
            return None;
        }
        let pid = std::process::id();
        let dir = std::env::temp_dir().join(format!("rbgpd-dual-{name}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // FRR may drop privileges.
        let _ = std::process::Command::new("chmod")
            .arg("777")
            .arg(&dir)
            .status();
        let socket = dir.join("ctl.sock");
        let mut lab = DualLab {
            procs: Vec::new(),
            namespaces: Vec::new(),
            dir,
            socket,
        };
        let made = (|| -> testbed::Result<()> {
            for r in roles {
                let ns = Netns::create(&format!("rds-{name}-{pid}-{}", r.tag()))?;
                ns.sysctl("net.ipv4.ip_forward", "1")?;
                ns.sysctl("net.ipv6.conf.all.forwarding", "1")?;
                lab.namespaces.push((*r, ns));
            }
            wire(&lab)
        })();
        if let Err(e) = made {
            testbed::skip(format!("cannot set up the namespaces of {name}: {e}"));
            return None;
        }
        Some(lab)
    }

    /// A bridge `br0` in rbgpd's namespace with `router` (a CIDR) on it,
    /// and each of `ports` (namespace, bridge port, address) joined to it
    /// by a veth pair whose far end is `eth0` with `address/24`, up with
    /// its `lo`.
    pub fn wire_bridge(&self, router: &str, ports: &[(Role, &str, &str)]) -> testbed::Result<()> {
        let rt = self.ns(Role::Rt);
        rt.bridge("br0")?;
        rt.add_addr("br0", router)?;
        rt.link_up("br0")?;
        for &(role, port, addr) in ports {
            let ns = self.ns(role);
            testbed::netns::veth(rt, port, ns, "eth0")?;
            rt.enslave(port, "br0")?;
            rt.link_up(port)?;
            ns.add_addr("eth0", &format!("{addr}/24"))?;
            ns.link_up("eth0")?;
            ns.link_up("lo")?;
        }
        Ok(())
    }

    pub fn ns(&self, role: Role) -> &Netns {
        &self.namespaces.iter().find(|(r, _)| *r == role).unwrap().1
    }

    pub fn spawn(&mut self, role: Role, program: &str, args: &[&str], log: &str) {
        let p = Proc::spawn_in(self.ns(role), program, program, args, &self.dir.join(log))
            .unwrap()
            .kill_on_drop();
        self.procs.push(p);
    }

    /// Stops the process started last (killed, as on a node's crash).
    pub fn stop_last(&mut self) {
        self.procs.pop();
    }

    pub fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_string()
    }

    /// rbgpd with the FIB on and the `[[neighbor]]` tables `neighbors`.
    pub fn start_rbgpd_with(&mut self, neighbors: &str) {
        let cfg = format!(
            "[router]\nasn = 65000\nrouter_id = \"10.0.0.1\"\n\n\
             [control]\nsocket = \"{}\"\n\n[log]\nlevel = \"info,bgpd=debug\"\n{neighbors}",
            self.socket.display()
        );
        let conf = self.path("rbgpd.toml");
        std::fs::write(&conf, cfg).unwrap();
        self.spawn(
            Role::Rt,
            env!("CARGO_BIN_EXE_rbgpd"),
            &["--config", &conf],
            "rbgpd.log",
        );
        wait_for("rbgpd's control socket", 10, || {
            self.ctl(&["show", "peers"])["peers"].is_array()
        });
    }

    /// rbgpd with the FIB on and `neighbors` (address, AS), from its config
    /// defaults otherwise (extended next hop on for IPv6 neighbors).
    pub fn start_rbgpd(&mut self, neighbors: &[(&str, u32)]) {
        let mut text = String::new();
        for (addr, asn) in neighbors {
            text += &format!(
                "\n[[neighbor]]\naddress = \"{addr}\"\nremote_as = {asn}\nconnect_retry = 1\n"
            );
        }
        self.start_rbgpd_with(&text);
    }

    /// FRR's zebra and bgpd in the namespace of `role`, with the config
    /// text `cfg`.
    pub fn start_frr(&mut self, role: Role, cfg: &str) {
        let tag = role.tag();
        let conf = self.path(&format!("frr-{tag}.conf"));
        std::fs::write(&conf, cfg).unwrap();
        let vty = self.path(&format!("frr-{tag}"));
        std::fs::create_dir_all(&vty).unwrap();
        // zebra and bgpd run as user frr once started.
        let _ = std::process::Command::new("chmod")
            .arg("777")
            .arg(&vty)
            .status();
        let zserv = format!("{vty}/zserv.api");
        let zebra_pid = format!("{vty}/zebra.pid");
        let bgpd_pid = format!("{vty}/bgpd.pid");
        self.spawn(
            role,
            ZEBRA,
            &[
                "-z",
                &zserv,
                "-i",
                &zebra_pid,
                "--vty_socket",
                &vty,
                "-f",
                "/dev/null",
            ],
            &format!("zebra-{tag}.log"),
        );
        wait_for("zebra's socket", 10, || Path::new(&zserv).exists());
        self.spawn(
            role,
            FRR_BGPD,
            &[
                "-z",
                &zserv,
                "-i",
                &bgpd_pid,
                "--vty_socket",
                &vty,
                "-f",
                &conf,
                "-P",
                "0",
            ],
            &format!("frr-bgpd-{tag}.log"),
        );
    }

    /// FRR's `bfdd` beside the zebra and bgpd of `role` (started first
    /// with [`DualLab::start_frr`]): bgpd's `neighbor X bfd` sessions run
    /// in it.
    pub fn start_frr_bfdd(&mut self, role: Role) {
        let tag = role.tag();
        let vty = self.path(&format!("frr-{tag}"));
        let zserv = format!("{vty}/zserv.api");
        let pid = format!("{vty}/bfdd.pid");
        self.spawn(
            role,
            FRR_BFDD,
            &[
                "-z",
                &zserv,
                "-i",
                &pid,
                "--vty_socket",
                &vty,
                "-f",
                "/dev/null",
            ],
            &format!("frr-bfdd-{tag}.log"),
        );
    }

    /// `vtysh -c COMMAND` against the FRR daemons of `role`.
    pub fn vtysh(&self, role: Role, command: &str) -> String {
        let vty = self.path(&format!("frr-{}", role.tag()));
        let out = self
            .ns(role)
            .command("vtysh")
            .args(["--vty_socket", &vty, "-c", command])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `vtysh -c C1 -c C2 ...` against the FRR daemons of `role` (a
    /// configuration walk: `configure terminal`, nodes, commands).
    pub fn vtysh_all(&self, role: Role, commands: &[&str]) -> String {
        let vty = self.path(&format!("frr-{}", role.tag()));
        let mut cmd = self.ns(role).command("vtysh");
        cmd.args(["--vty_socket", &vty]);
        for c in commands {
            cmd.args(["-c", c]);
        }
        let out = cmd.output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// BIRD in the namespace of `role`, with the config text `cfg`.
    pub fn start_bird(&mut self, role: Role, cfg: &str) {
        let tag = role.tag();
        let conf = self.path(&format!("bird-{tag}.conf"));
        std::fs::write(&conf, cfg).unwrap();
        let ctl = self.path(&format!("bird-{tag}.ctl"));
        let pid = self.path(&format!("bird-{tag}.pid"));
        self.spawn(
            role,
            "bird",
            &["-f", "-c", &conf, "-s", &ctl, "-P", &pid],
            &format!("bird-{tag}.log"),
        );
    }
    /// `ip -n NS route show PREFIX`.
    pub fn kernel_route(&self, role: Role, prefix: &str) -> String {
        let family = if prefix.contains(':') { "-6" } else { "-4" };
        self.ns(role)
            .ip(&[family, "route", "show", prefix])
            .unwrap_or_default()
    }

    /// The whole log file `log`.
    pub fn log(&self, log: &str) -> String {
        std::fs::read_to_string(self.dir.join(log)).unwrap_or_default()
    }

    pub fn log_tail(&self, log: &str) -> String {
        let text = std::fs::read_to_string(self.dir.join(log)).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for DualLab {
    fn drop(&mut self) {
        self.procs.clear();
        if std::thread::panicking() {
            eprintln!("logs kept in {}", self.dir.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Whether a TCP connection from `src` (in `from`) to a listener on `dst`
/// (in `to`) completes: the SYN and the SYN-ACK each follow the routes of
/// every namespace on the way.
pub fn tcp_connects(from: &Netns, src: &str, to: &Netns, dst: &str) -> bool {
    let dst = SocketAddr::new(dst.parse().unwrap(), 0);
    let listener = to.run(|| TcpListener::bind(dst)).unwrap().unwrap();
    let dst = listener.local_addr().unwrap();
    let src = SocketAddr::new(src.parse().unwrap(), 0);
    from.run(|| -> std::io::Result<()> {
        let s = Socket::new(Domain::for_address(dst), Type::STREAM, None)?;
        s.bind(&src.into())?;
        s.connect_timeout(&dst.into(), Duration::from_secs(2))
    })
    .unwrap()
    .is_ok()
}

/// The (first) link-local address of `dev` in `ns`.
pub fn link_local(ns: &Netns, dev: &str) -> String {
    let out = ns
        .ip(&["-6", "-o", "addr", "show", "dev", dev, "scope", "link"])
        .unwrap();
    let cidr = out.split_whitespace().nth(3).unwrap_or_default();
    cidr.split('/').next().unwrap_or_default().to_string()
}
