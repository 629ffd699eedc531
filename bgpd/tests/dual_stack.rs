//! Dual stack against real speakers, with every kernel in the loop: rbgpd
//! (FIB on) in a namespace of its own, joined by veth pairs to an FRR
//! (zebra + bgpd) and a BIRD 2 (with `protocol kernel`), each in its own
//! namespace. The links carry IPv6 only; each peer holds an IPv4 prefix
//! on its `lo`.
//!
//! - RFC 8950: FRR (`capability extended-nexthop`) and BIRD (`extended
//!   next hop on`) announce their IPv4 prefix over the IPv6 session with
//!   an IPv6 next hop; rbgpd installs each via its IPv6 gateway (`via
//!   inet6`) and passes it to the other with its own IPv6 address as next
//!   hop, which FRR's and BIRD's kernels install the same way; a TCP
//!   connection between the two IPv4 prefixes crosses all three kernels.
//!
//! Skipped (with a message) where FRR, BIRD or namespaces are missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod interop_util;

use interop_util::{wait_for, Rbgpctl};
use serde_json::Value;
use socket2::{Domain, Socket, Type};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;
use testbed::netns::veth;
use testbed::{Netns, Proc};

const ZEBRA: &str = "/usr/lib/frr/zebra";
const FRR_BGPD: &str = "/usr/lib/frr/bgpd";

/// rbgpd's and FRR's ends of their link.
const RT_FRR: &str = "2001:db8:1::1";
const FRR: &str = "2001:db8:1::2";
/// rbgpd's and BIRD's ends of theirs.
const RT_BIRD: &str = "2001:db8:2::1";
const BIRD: &str = "2001:db8:2::2";
/// The IPv4 prefixes the peers announce, and their host addresses.
const FRR_NET: &str = "10.1.1.0/24";
const FRR_HOST: &str = "10.1.1.1";
const BIRD_NET: &str = "10.2.2.0/24";
const BIRD_HOST: &str = "10.2.2.1";

/// Three namespaces (rbgpd, FRR, BIRD), the processes in them and a
/// scratch directory. Field order matters: processes go first.
struct DualLab {
    procs: Vec<Proc>,
    rt: Netns,
    frr: Netns,
    bird: Netns,
    dir: PathBuf,
    socket: PathBuf,
}

impl Rbgpctl for DualLab {
    fn socket(&self) -> &Path {
        &self.socket
    }
}

impl DualLab {
    /// The namespaces wired up, or `None` (with a `SKIP:` line).
    fn new(name: &str) -> Option<DualLab> {
        if let Some(why) = testbed::missing(&[ZEBRA, FRR_BGPD, "vtysh", "bird", "birdc"])
            .or_else(testbed::netns_unavailable)
        {
            testbed::skip(why);
            return None;
        }
        let pid = std::process::id();
        let make = |role: &str| Netns::create(&format!("rds-{name}-{pid}-{role}"));
        let made = (|| -> testbed::Result<(Netns, Netns, Netns)> {
            let (rt, frr, bird) = (make("r")?, make("f")?, make("b")?);
            veth(&rt, "to-frr", &frr, "eth0")?;
            veth(&rt, "to-bird", &bird, "eth0")?;
            rt.ip(&[
                "addr",
                "add",
                &format!("{RT_FRR}/64"),
                "dev",
                "to-frr",
                "nodad",
            ])?;
            rt.ip(&[
                "addr",
                "add",
                &format!("{RT_BIRD}/64"),
                "dev",
                "to-bird",
                "nodad",
            ])?;
            frr.ip(&["addr", "add", &format!("{FRR}/64"), "dev", "eth0", "nodad"])?;
            bird.ip(&["addr", "add", &format!("{BIRD}/64"), "dev", "eth0", "nodad"])?;
            frr.add_addr("lo", &format!("{FRR_HOST}/24"))?;
            bird.add_addr("lo", &format!("{BIRD_HOST}/24"))?;
            for (ns, dev) in [
                (&rt, "to-frr"),
                (&rt, "to-bird"),
                (&frr, "eth0"),
                (&bird, "eth0"),
            ] {
                ns.link_up(dev)?;
            }
            for ns in [&rt, &frr, &bird] {
                ns.sysctl("net.ipv4.ip_forward", "1")?;
                ns.sysctl("net.ipv6.conf.all.forwarding", "1")?;
            }
            Ok((rt, frr, bird))
        })();
        let (rt, frr, bird) = match made {
            Ok(t) => t,
            Err(e) => {
                testbed::skip(format!("cannot set up the dual-stack namespaces: {e}"));
                return None;
            }
        };
        let dir = std::env::temp_dir().join(format!("rbgpd-dual-{name}-{pid}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // FRR may drop privileges.
        let _ = std::process::Command::new("chmod")
            .arg("777")
            .arg(&dir)
            .status();
        let socket = dir.join("ctl.sock");
        Some(DualLab {
            procs: Vec::new(),
            rt,
            frr,
            bird,
            dir,
            socket,
        })
    }

    fn spawn(&mut self, ns: Role, program: &str, args: &[&str], log: &str) {
        let ns = match ns {
            Role::Rt => &self.rt,
            Role::Frr => &self.frr,
            Role::Bird => &self.bird,
        };
        let p = Proc::spawn_in(ns, program, program, args, &self.dir.join(log))
            .unwrap()
            .kill_on_drop();
        self.procs.push(p);
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_str().unwrap().to_string()
    }

    /// rbgpd with the FIB on and both peers as neighbors, from its config
    /// defaults (extended next hop on for IPv6 neighbors).
    fn start_rbgpd(&mut self) {
        let cfg = format!(
            "[router]\nasn = 65000\nrouter_id = \"10.0.0.1\"\nlisten = [\"[::]:179\"]\n\n\
             [control]\nsocket = \"{}\"\n\n[log]\nlevel = \"info,bgpd=debug\"\n\n\
             [[neighbor]]\naddress = \"{FRR}\"\nremote_as = 65100\nconnect_retry = 1\n\n\
             [[neighbor]]\naddress = \"{BIRD}\"\nremote_as = 65200\nconnect_retry = 1\n",
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

    /// zebra and bgpd: `network 10.1.1.0/24` over the IPv6 session, with
    /// RFC 8950.
    fn start_frr(&mut self) {
        let cfg = format!(
            "frr defaults traditional\nhostname dual-frr\nlog stdout informational\n!\n\
             router bgp 65100\n bgp router-id {FRR_HOST}\n no bgp ebgp-requires-policy\n\
             \x20neighbor {RT_FRR} remote-as 65000\n\
             \x20neighbor {RT_FRR} capability extended-nexthop\n\
             \x20neighbor {RT_FRR} timers connect 1\n !\n\
             \x20address-family ipv4 unicast\n  network {FRR_NET}\n\
             \x20 neighbor {RT_FRR} activate\n exit-address-family\n!\n"
        );
        let conf = self.path("frr.conf");
        std::fs::write(&conf, cfg).unwrap();
        let vty = self.path("frr");
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
            Role::Frr,
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
            "zebra.log",
        );
        wait_for("zebra's socket", 10, || Path::new(&zserv).exists());
        self.spawn(
            Role::Frr,
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
            "frr-bgpd.log",
        );
    }

    /// BIRD announcing the IPv4 prefix on its `lo` over the IPv6 session,
    /// with RFC 8950, and writing BGP routes into its kernel.
    fn start_bird(&mut self) {
        let cfg = format!(
            r#"log stderr all;
router id {BIRD_HOST};
protocol device {{ }}
protocol direct {{ ipv4; interface "lo"; }}
protocol kernel {{ ipv4 {{ export where source = RTS_BGP; }}; }}
protocol bgp rbgpd {{
    local {BIRD} as 65200;
    neighbor {RT_BIRD} as 65000;
    connect delay time 1;
    connect retry time 1;
    error wait time 1, 2;
    ipv4 {{ extended next hop on; import all; export where source = RTS_DEVICE; }};
}}
"#
        );
        let conf = self.path("bird.conf");
        std::fs::write(&conf, cfg).unwrap();
        let ctl = self.path("bird.ctl");
        let pid = self.path("bird.pid");
        self.spawn(
            Role::Bird,
            "bird",
            &["-f", "-c", &conf, "-s", &ctl, "-P", &pid],
            "bird.log",
        );
    }

    /// `ip -n NS route show PREFIX`.
    fn kernel_route(&self, ns: Role, prefix: &str) -> String {
        let ns = match ns {
            Role::Rt => &self.rt,
            Role::Frr => &self.frr,
            Role::Bird => &self.bird,
        };
        ns.ip(&["route", "show", prefix]).unwrap_or_default()
    }

    fn log_tail(&self, log: &str) -> String {
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

#[derive(Clone, Copy)]
enum Role {
    Rt,
    Frr,
    Bird,
}

/// Whether a TCP connection from `src` (in `from`) to a listener on `dst`
/// (in `to`) completes: the SYN and the SYN-ACK each follow the routes of
/// every namespace on the way.
fn tcp_connects(from: &Netns, src: &str, to: &Netns, dst: &str) -> bool {
    let dst: SocketAddr = format!("{dst}:0").parse().unwrap();
    let listener = to.run(|| TcpListener::bind(dst)).unwrap().unwrap();
    let dst = listener.local_addr().unwrap();
    let src: SocketAddr = format!("{src}:0").parse().unwrap();
    from.run(|| -> std::io::Result<()> {
        let s = Socket::new(Domain::for_address(dst), Type::STREAM, None)?;
        s.bind(&src.into())?;
        s.connect_timeout(&dst.into(), Duration::from_secs(2))
    })
    .unwrap()
    .is_ok()
}

/// Whether `rbgpctl show peer` lists RFC 8950 as negotiated with `peer`.
fn extended_next_hop(lab: &DualLab, peer: &str) -> bool {
    lab.peer(peer)["capabilities"]
        .as_array()
        .is_some_and(|caps| {
            caps.iter().any(|c| {
                c.as_str()
                    .is_some_and(|c| c.starts_with("extended next hop ipv4-unicast"))
            })
        })
}

/// rbgpd's path for `prefix` and its next hop.
fn next_hop(lab: &DualLab, prefix: &str) -> Option<String> {
    lab.paths(prefix)
        .first()
        .and_then(|p: &Value| p["next_hop"].as_str().map(str::to_string))
}

#[test]
fn ipv4_routes_with_ipv6_next_hops_between_frr_and_bird_carry_traffic() {
    let Some(mut lab) = DualLab::new("enh") else {
        return;
    };
    lab.start_rbgpd();
    lab.start_frr();
    lab.start_bird();
    wait_for("both sessions Established", 30, || {
        lab.established(FRR) && lab.established(BIRD)
    });
    assert!(extended_next_hop(&lab, FRR), "{}", lab.peer(FRR));
    assert!(extended_next_hop(&lab, BIRD), "{}", lab.peer(BIRD));

    // Learned with the peers' IPv6 addresses as next hops...
    wait_for("rbgpd learns both IPv4 prefixes", 20, || {
        lab.has_route_from(FRR_NET, FRR) && lab.has_route_from(BIRD_NET, BIRD)
    });
    assert_eq!(next_hop(&lab, FRR_NET).as_deref(), Some(FRR));
    assert_eq!(next_hop(&lab, BIRD_NET).as_deref(), Some(BIRD));
    // ... installed in rbgpd's kernel via those IPv6 gateways...
    wait_for("rbgpd's kernel routes via inet6", 10, || {
        lab.kernel_route(Role::Rt, FRR_NET)
            .contains(&format!("via inet6 {FRR} dev to-frr"))
            && lab
                .kernel_route(Role::Rt, BIRD_NET)
                .contains(&format!("via inet6 {BIRD} dev to-bird"))
    });
    // ... and passed on with rbgpd's IPv6 address, which each peer's
    // kernel installs as the gateway.
    wait_for("FRR's and BIRD's kernels route via rbgpd", 20, || {
        lab.kernel_route(Role::Frr, BIRD_NET)
            .contains(&format!("via inet6 {RT_FRR}"))
            && lab
                .kernel_route(Role::Bird, FRR_NET)
                .contains(&format!("via inet6 {RT_BIRD}"))
    });

    // IPv4 traffic crosses the three kernels over IPv6-only links, both
    // ways.
    assert!(
        tcp_connects(&lab.frr, FRR_HOST, &lab.bird, BIRD_HOST),
        "FRR -> BIRD: rbgpd {} / frr {} / bird {}",
        lab.kernel_route(Role::Rt, BIRD_NET),
        lab.kernel_route(Role::Frr, BIRD_NET),
        lab.kernel_route(Role::Bird, FRR_NET)
    );
    assert!(tcp_connects(&lab.bird, BIRD_HOST, &lab.frr, FRR_HOST));

    // A withdrawal follows the same path: BIRD's prefix gone, it leaves
    // rbgpd's kernel and FRR's.
    lab.bird
        .ip(&["addr", "del", &format!("{BIRD_HOST}/24"), "dev", "lo"])
        .unwrap();
    wait_for("BIRD's prefix withdrawn everywhere", 20, || {
        lab.paths(BIRD_NET).is_empty()
            && lab.kernel_route(Role::Rt, BIRD_NET).is_empty()
            && lab.kernel_route(Role::Frr, BIRD_NET).is_empty()
    });
    assert!(
        lab.has_route_from(FRR_NET, FRR),
        "{}",
        lab.log_tail("rbgpd.log")
    );
}
