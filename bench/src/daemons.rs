//! One adapter per daemon under test: its config and its command line.
//!
//! Every daemon is set up the same way: a plain eBGP router (AS 65000,
//! router id and listen address 10.99.0.1) with one neighbor per feeder
//! and one for the monitor, all passive (the harness's speakers connect),
//! IPv4 unicast only, importing and exporting everything. In FIB mode it
//! also writes its best routes into the kernel of its namespace. rbgpd can
//! also run BFD with every feeder and serve metrics (scenario D's BFD
//! run); the other daemons' configs have neither.
//!
//! Dual stack (scenario F): every neighbor also gets IPv6 unicast over the
//! same IPv4 session (BIRD: a second channel, `ipv6`, whose next hop self
//! is the daemon's address on the link, [`DUT_ADDR6`]: BIRD has no IPv6
//! address of its own on an IPv4 session; FRR: `address-family ipv6
//! unicast`; GoBGP: a second afi-safi), and in FIB mode the daemon writes
//! IPv6 routes too (BIRD: a second `protocol kernel`).

use crate::netns::{DUT_ADDR, DUT_ADDR6};
use crate::{Error, Result};
use bgpd::config::BfdTimers;
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Command;
use testbed::{Netns, Proc};

/// The daemon's AS.
pub const DUT_AS: u32 = 65000;

/// A daemon the harness can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Daemon {
    /// rbgpd, this project.
    Rbgpd,
    /// BIRD 2.
    Bird,
    /// GoBGP (gobgpd).
    Gobgp,
    /// FRR (bgpd, and zebra in FIB mode).
    Frr,
}

impl Daemon {
    /// All of them, in table order.
    pub const ALL: [Daemon; 4] = [Daemon::Rbgpd, Daemon::Bird, Daemon::Gobgp, Daemon::Frr];

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Daemon::Rbgpd => "rbgpd",
            Daemon::Bird => "bird",
            Daemon::Gobgp => "gobgp",
            Daemon::Frr => "frr",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Daemon> {
        Daemon::ALL.into_iter().find(|d| d.name() == s)
    }

    /// Whether the daemon can write routes into the kernel by itself
    /// (gobgpd needs an external zebra for that, so it is left out).
    pub fn supports_fib(self) -> bool {
        self != Daemon::Gobgp
    }

    /// The installed version, one line.
    pub fn version(self, rbgpd: &Path) -> String {
        let (prog, arg) = match self {
            Daemon::Rbgpd => (rbgpd.to_string_lossy().into_owned(), "--version"),
            Daemon::Bird => ("bird".to_string(), "--version"),
            Daemon::Gobgp => ("gobgpd".to_string(), "--version"),
            Daemon::Frr => ("/usr/lib/frr/bgpd".to_string(), "--version"),
        };
        match Command::new(&prog).arg(arg).output() {
            Ok(o) => {
                let text = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                text.lines().next().unwrap_or("?").trim().to_string()
            }
            Err(e) => format!("not runnable: {e}"),
        }
    }
}

/// A BGP neighbor of the daemon.
#[derive(Debug, Clone, Copy)]
pub struct Neighbor {
    /// Its address.
    pub addr: Ipv4Addr,
    /// Its AS.
    pub asn: u32,
}

/// What a daemon is configured with for one run.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The feeders.
    pub feeders: Vec<Neighbor>,
    /// The monitor.
    pub monitor: Neighbor,
    /// A peer that stops reading (`--stalled`), if any.
    pub stalled: Option<Neighbor>,
    /// Write routes into the kernel.
    pub fib: bool,
    /// IPv6 unicast with every neighbor too (dual stack).
    pub ipv6: bool,
    /// Directory for config, sockets, pid files and logs.
    pub dir: PathBuf,
    /// The rbgpd binary.
    pub rbgpd: PathBuf,
    /// BFD with every feeder (rbgpd only).
    pub bfd: Option<BfdTimers>,
    /// rbgpd's Prometheus endpoint.
    pub metrics: Option<SocketAddr>,
}

impl Setup {
    fn all_neighbors(&self) -> impl Iterator<Item = &Neighbor> {
        std::iter::once(&self.monitor)
            .chain(self.stalled.iter())
            .chain(self.feeders.iter())
    }

    /// The families in rbgpd's and GoBGP's spelling.
    fn family_names(&self) -> &'static [&'static str] {
        if self.ipv6 {
            &["ipv4-unicast", "ipv6-unicast"]
        } else {
            &["ipv4-unicast"]
        }
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    fn write(&self, file: &str, text: &str) -> Result<PathBuf> {
        let p = self.path(file);
        std::fs::write(&p, text).map_err(|e| Error::io(format!("write {}", p.display()), e))?;
        Ok(p)
    }
}

/// The processes of a running daemon.
#[derive(Debug)]
pub struct Running {
    /// Its processes (FRR: zebra first, then bgpd).
    pub procs: Vec<Proc>,
}

impl Running {
    /// Their PIDs.
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().map(Proc::pid).collect()
    }

    /// An error if any process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        for p in &mut self.procs {
            if let Some(st) = p.exited() {
                return Err(Error::Daemon {
                    daemon: p.name().to_string(),
                    detail: format!("exited ({st}); see its log"),
                });
            }
        }
        Ok(())
    }
}

/// Writes the config and starts `daemon` inside `ns`.
pub fn start(daemon: Daemon, ns: &Netns, s: &Setup) -> Result<Running> {
    let procs = match daemon {
        Daemon::Rbgpd => {
            let conf = s.write("rbgpd.toml", &rbgpd_config(s))?;
            let mut c = ns.command(&s.rbgpd);
            c.arg("-c").arg(&conf);
            vec![Proc::spawn("rbgpd", c, &s.path("rbgpd.log"))?]
        }
        Daemon::Bird => {
            let conf = s.write("bird.conf", &bird_config(s))?;
            let mut c = ns.command("bird");
            c.arg("-c")
                .arg(&conf)
                .arg("-s")
                .arg(s.path("bird.ctl"))
                .arg("-P")
                .arg(s.path("bird.pid"))
                .arg("-f");
            vec![Proc::spawn("bird", c, &s.path("bird.log"))?]
        }
        Daemon::Gobgp => {
            let conf = s.write("gobgpd.toml", &gobgp_config(s))?;
            let mut c = ns.command("gobgpd");
            c.arg("-f").arg(&conf).args([
                "-t",
                "toml",
                "-l",
                "warn",
                "--api-hosts",
                "127.0.0.1:50051",
            ]);
            vec![Proc::spawn("gobgpd", c, &s.path("gobgpd.log"))?]
        }
        Daemon::Frr => start_frr(ns, s)?,
    };
    Ok(Running { procs })
}

fn start_frr(ns: &Netns, s: &Setup) -> Result<Vec<Proc>> {
    let zsock = s.path("zserv.api");
    let common = |c: &mut Command, name: &str| {
        c.arg("-i")
            .arg(s.path(&format!("{name}.pid")))
            .arg("-z")
            .arg(&zsock)
            .arg("--vty_socket")
            .arg(&s.dir)
            // No vty TCP port.
            .args(["-P", "0"]);
    };
    // FRR drops to its own user (root is not in its vty group), which
    // must be able to write its pid files and sockets.
    testbed::run(Command::new("chown").arg("frr:frr").arg(&s.dir))?;
    let mut procs = Vec::new();
    if s.fib {
        let conf = s.write("zebra.conf", "hostname rbbench-zebra\nlog stdout errors\n")?;
        let mut z = ns.command("/usr/lib/frr/zebra");
        z.arg("-f").arg(&conf);
        common(&mut z, "zebra");
        procs.push(Proc::spawn("zebra", z, &s.path("zebra.log"))?);
        // bgpd must find zebra's socket, or it would retry on a timer.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !zsock.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    let conf = s.write("bgpd.conf", &frr_config(s))?;
    let mut b = ns.command("/usr/lib/frr/bgpd");
    // Not -l ADDR: it implies -n (no kernel routes).
    b.arg("-f").arg(&conf);
    common(&mut b, "bgpd");
    if !s.fib {
        b.arg("--no_zebra");
    }
    procs.push(Proc::spawn("bgpd", b, &s.path("bgpd.log"))?);
    Ok(procs)
}

/// rbgpd's TOML (bgpd/src/config.rs).
pub fn rbgpd_config(s: &Setup) -> String {
    let mut t = format!(
        "[router]\nasn = {DUT_AS}\nrouter_id = \"{DUT_ADDR}\"\nlisten = [\"{DUT_ADDR}:179\"]\n\n"
    );
    let feeder_bfd = s.bfd.map_or_else(String::new, |b| {
        format!(
            "bfd = {{ interval_ms = {}, multiplier = {} }}\n",
            b.interval_ms, b.multiplier
        )
    });
    let families = s
        .family_names()
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect::<Vec<_>>()
        .join(", ");
    for n in s.all_neighbors() {
        let is_feeder = s.feeders.iter().any(|f| f.addr == n.addr);
        let _ = write!(
            t,
            "[[neighbor]]\naddress = \"{}\"\nremote_as = {}\npassive = true\n\
             families = [{families}]\nimport = \"all\"\nexport = \"all\"\n{}\n",
            n.addr,
            n.asn,
            if is_feeder { feeder_bfd.as_str() } else { "" }
        );
    }
    if let Some(m) = s.metrics {
        let _ = write!(t, "[metrics]\nlisten = \"{m}\"\n\n");
    }
    let _ = write!(
        t,
        "[fib]\nenabled = {}\npersist = false\n\n[control]\nsocket = \"{}\"\n\n\
         [log]\nlevel = \"warn\"\n",
        s.fib,
        s.path("rbgpd.sock").display()
    );
    t
}

/// BIRD 2's config.
pub fn bird_config(s: &Setup) -> String {
    let mut t = format!(
        "router id {DUT_ADDR};\nlog stderr {{ warning, error, fatal }};\n\
         protocol device {{ }}\n"
    );
    if s.fib {
        t.push_str("protocol kernel { ipv4 { import none; export all; }; }\n");
        if s.ipv6 {
            t.push_str("protocol kernel { ipv6 { import none; export all; }; }\n");
        }
    }
    t.push_str(&format!(
        "template bgp peer {{\n  local {DUT_ADDR} as {DUT_AS};\n  passive on;\n  \
         ipv4 {{ import all; export all; }};\n"
    ));
    if s.ipv6 {
        // On an IPv4 session BIRD has no IPv6 next hop of its own to send.
        t.push_str(&format!(
            "  ipv6 {{ import all; export all; next hop address {DUT_ADDR6}; }};\n"
        ));
    }
    t.push_str("}\n");
    for (i, n) in s.all_neighbors().enumerate() {
        let _ = writeln!(
            t,
            "protocol bgp p{i} from peer {{ neighbor {} as {}; }}",
            n.addr, n.asn
        );
    }
    t
}

/// GoBGP's TOML.
pub fn gobgp_config(s: &Setup) -> String {
    let mut t = format!(
        "[global.config]\n  as = {DUT_AS}\n  router-id = \"{DUT_ADDR}\"\n  \
         local-address-list = [\"{DUT_ADDR}\"]\n  port = 179\n\n"
    );
    for n in s.all_neighbors() {
        let _ = write!(
            t,
            "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{}\"\n    \
             peer-as = {}\n  [neighbors.transport.config]\n    passive-mode = true\n",
            n.addr, n.asn
        );
        for f in s.family_names() {
            let _ = write!(
                t,
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
                 afi-safi-name = \"{f}\"\n"
            );
        }
        t.push('\n');
    }
    t
}

/// FRR bgpd's config.
pub fn frr_config(s: &Setup) -> String {
    let mut t = format!(
        "frr defaults traditional\nhostname rbbench-bgpd\nlog stdout errors\n!\n\
         router bgp {DUT_AS}\n bgp router-id {DUT_ADDR}\n no bgp ebgp-requires-policy\n \
         no bgp network import-check\n"
    );
    for n in s.all_neighbors() {
        let _ = write!(
            t,
            " neighbor {a} remote-as {asn}\n neighbor {a} passive\n",
            a = n.addr,
            asn = n.asn
        );
    }
    let afs: &[&str] = if s.ipv6 { &["ipv4", "ipv6"] } else { &["ipv4"] };
    for af in afs {
        let _ = writeln!(t, " address-family {af} unicast");
        for n in s.all_neighbors() {
            let _ = writeln!(t, "  neighbor {} activate", n.addr);
        }
        t.push_str(" exit-address-family\n");
    }
    t.push_str("!\n");
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(fib: bool) -> Setup {
        Setup {
            feeders: vec![Neighbor {
                addr: Ipv4Addr::new(10, 99, 1, 1),
                asn: 4_200_000_001,
            }],
            monitor: Neighbor {
                addr: Ipv4Addr::new(10, 99, 0, 2),
                asn: 64_999,
            },
            stalled: None,
            fib,
            ipv6: false,
            dir: PathBuf::from("/tmp/x"),
            rbgpd: PathBuf::from("rbgpd"),
            bfd: None,
            metrics: None,
        }
    }

    #[test]
    fn configs_name_every_neighbor() {
        let s = setup(true);
        for text in [
            rbgpd_config(&s),
            bird_config(&s),
            gobgp_config(&s),
            frr_config(&s),
        ] {
            assert!(text.contains("10.99.1.1"), "{text}");
            assert!(text.contains("4200000001"), "{text}");
            assert!(text.contains("10.99.0.2"), "{text}");
        }
        assert!(bird_config(&s).contains("protocol kernel"));
        assert!(!bird_config(&setup(false)).contains("protocol kernel"));
        assert!(rbgpd_config(&setup(false)).contains("enabled = false"));
        assert_eq!(Daemon::parse("frr"), Some(Daemon::Frr));
        assert_eq!(Daemon::parse("quagga"), None);
    }

    #[test]
    fn dual_stack_configs_carry_ipv6_with_every_neighbor() {
        let mut s = setup(true);
        for text in [
            rbgpd_config(&s),
            bird_config(&s),
            gobgp_config(&s),
            frr_config(&s),
        ] {
            assert!(!text.contains("ipv6"), "{text}");
        }
        s.ipv6 = true;
        let rbgpd = rbgpd_config(&s);
        assert_eq!(
            rbgpd
                .matches("families = [\"ipv4-unicast\", \"ipv6-unicast\"]")
                .count(),
            2,
            "{rbgpd}"
        );
        let parsed = bgpd::config::parse(&rbgpd, "rbgpd.toml").unwrap();
        assert_eq!(parsed.neighbors.len(), 2);
        let bird = bird_config(&s);
        assert!(
            bird.contains("ipv6 { import all; export all; next hop address fd99::1; };"),
            "{bird}"
        );
        assert!(
            bird.contains("protocol kernel { ipv6 { import none; export all; }; }"),
            "{bird}"
        );
        let gobgp = gobgp_config(&s);
        assert_eq!(gobgp.matches("afi-safi-name = \"ipv6-unicast\"").count(), 2);
        let frr = frr_config(&s);
        let v6 = frr.find(" address-family ipv6 unicast").unwrap();
        assert!(frr[v6..].contains("  neighbor 10.99.1.1 activate"), "{frr}");
        assert!(frr[v6..].contains("  neighbor 10.99.0.2 activate"), "{frr}");
        // Without the FIB, BIRD writes no kernel routes of either family.
        s.fib = false;
        assert!(!bird_config(&s).contains("protocol kernel"));
    }

    #[test]
    fn rbgpd_runs_bfd_with_feeders_only() {
        let mut s = setup(false);
        assert!(!rbgpd_config(&s).contains("bfd"));
        assert!(!rbgpd_config(&s).contains("[metrics]"));
        s.bfd = Some(BfdTimers {
            interval_ms: 300,
            multiplier: 3,
        });
        s.metrics = Some("10.99.0.1:9179".parse().unwrap());
        let text = rbgpd_config(&s);
        assert_eq!(
            text.matches("bfd = { interval_ms = 300, multiplier = 3 }")
                .count(),
            1,
            "{text}"
        );
        let feeder = text.find("10.99.1.1").unwrap();
        let bfd = text.find("bfd = ").unwrap();
        assert!(bfd > feeder, "{text}");
        assert!(
            text.contains("[metrics]\nlisten = \"10.99.0.1:9179\""),
            "{text}"
        );
        let parsed = bgpd::config::parse(&text, "rbgpd.toml").unwrap();
        assert_eq!(parsed.neighbors.len(), 2);
    }
}
