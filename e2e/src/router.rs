//! The lab's router, AS 65000: BIRD 2 (the write-up's router, adapted to
//! this lab) or rbgpd (which replaces it). Everything that depends on the
//! router kind (config file, how to start it, how to read its sessions)
//! lives here, so the topology and the tests stay router-agnostic.

use crate::{Error, Result};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use testbed::{output, Netns, Proc};

pub use crate::router_conf::{bird_conf, rbgpd_conf, METRICS_PORT};

/// Which daemon routes the lab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouterKind {
    /// BIRD 2 with the write-up's bird.conf (six explicit neighbors).
    Bird,
    /// rbgpd with neighbor ranges (config.example.toml's shape).
    Rbgpd,
    /// rbgpd from the docker/build.sh image, the container's network
    /// namespace serving as the router namespace (checks 1-3 only: a
    /// restarted container gets a new namespace).
    Docker,
}

impl RouterKind {
    /// "bird" or "rbgpd".
    pub fn as_str(self) -> &'static str {
        match self {
            RouterKind::Bird => "bird",
            RouterKind::Rbgpd => "rbgpd",
            RouterKind::Docker => "docker",
        }
    }
}

impl std::str::FromStr for RouterKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "bird" | "bird2" => Ok(RouterKind::Bird),
            "rbgpd" => Ok(RouterKind::Rbgpd),
            "docker" => Ok(RouterKind::Docker),
            other => Err(Error::Parse {
                what: "router kind".into(),
                detail: format!("{other}: expected bird, rbgpd or docker"),
            }),
        }
    }
}

/// One node the router peers with (BIRD needs each one named).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterPeer {
    /// Protocol name ("c1_cp").
    pub name: String,
    /// Node address.
    pub address: Ipv4Addr,
    /// Node AS.
    pub asn: u32,
}

/// A neighbor range (rbgpd dynamic neighbors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterRange {
    /// CIDR, "172.18.0.0/16".
    pub range: String,
    /// AS of every peer in it.
    pub asn: u32,
    /// Shown by rbgpctl.
    pub description: String,
    /// BFD (300 ms x 3, strict) on its sessions.
    pub bfd: bool,
}

/// Paths of the rbgpd and rbgpctl binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RbgpdBins {
    /// The daemon.
    pub rbgpd: PathBuf,
    /// The control CLI.
    pub rbgpctl: PathBuf,
}

/// Everything needed to (re)start the router.
#[derive(Debug, Clone)]
pub struct RouterSetup {
    /// BIRD or rbgpd.
    pub kind: RouterKind,
    /// AS 65000.
    pub asn: u32,
    /// 172.18.0.5.
    pub router_id: Ipv4Addr,
    /// Explicit neighbors (BIRD).
    pub peers: Vec<RouterPeer>,
    /// Neighbor ranges (rbgpd).
    pub ranges: Vec<RouterRange>,
    /// Graceful restart (BIRD `graceful restart on`; rbgpd announces it
    /// by default).
    pub graceful_restart: bool,
    /// BIRD kernel protocol `merge paths on` (ECMP).
    pub merge_paths: bool,
    /// Config, socket and log directory.
    pub dir: PathBuf,
    /// rbgpd binaries (rbgpd only).
    pub bins: Option<RbgpdBins>,
    /// The image (docker only), e.g. "rbgpd:latest".
    pub image: Option<String>,
    /// Docker only: run the container on a Docker network, as the
    /// write-up did, instead of `--network none` with the lab's veths.
    pub network: Option<ContainerNetwork>,
    /// rbgpd only: its config is the lab's bird.conf through `rbgpd
    /// migrate` (see [`crate::router_conf::migrated_conf`]).
    pub from_bird: bool,
}

/// rbgpd runs as `nobody` with only the capabilities its systemd unit
/// grants (debian/rbgpd.service), as a least-privilege install runs it.
const UNPRIVILEGED: &[&str] = &[
    "--reuid=65534",
    "--regid=65534",
    "--clear-groups",
    "--inh-caps=-all,+net_admin,+net_bind_service,+net_raw",
    "--ambient-caps=-all,+net_admin,+net_bind_service,+net_raw",
    "--bounding-set=-all,+net_admin,+net_bind_service,+net_raw",
];

/// The user and group the image runs rbgpd as (docker/stage-rootfs.sh).
const IMAGE_USER: &str = "65532:65532";

/// The owner `chown` gives rbgpd's directory for [`UNPRIVILEGED`].
const UNPRIVILEGED_ID: &str = "65534:65534";

/// Where a router container starts on a Docker network (the write-up's
/// `docker run --network=kind`): its config is then mounted at the
/// image's /etc/rbgpd/rbgpd.toml and its socket is the default one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerNetwork {
    /// Container name ("rb-bgp-router").
    pub container: String,
    /// The network it is started on ("kind").
    pub network: String,
    /// Its address there (172.18.0.5).
    pub ip: Ipv4Addr,
}

/// The control socket inside a container started on a Docker network
/// (rbgpd's and rbgpctl's default).
const IMAGE_SOCKET: &str = "/run/rbgpd/rbgpd.sock";

/// Name of the router container ([`RouterKind::Docker`]).
pub const CONTAINER: &str = "rb-router-ctr";
/// Where the lab directory is mounted in the container.
const CONTAINER_DIR: &str = "/lab";

/// A session as the router reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerState {
    /// Peer address.
    pub address: IpAddr,
    /// State text as the router prints it.
    pub state: String,
    /// Whether it is Established.
    pub established: bool,
}

/// The running router.
#[derive(Debug)]
pub struct Router {
    setup: RouterSetup,
    proc: Option<Proc>,
    keep: bool,
}

impl Drop for Router {
    fn drop(&mut self) {
        if !self.keep {
            self.stop();
        }
    }
}

impl Router {
    /// Writes the config and starts the router in `ns`.
    pub fn start(ns: &Netns, setup: RouterSetup) -> Result<Router> {
        let mut r = Router {
            setup,
            proc: None,
            keep: false,
        };
        r.spawn(ns)?;
        Ok(r)
    }

    /// The router kind.
    pub fn kind(&self) -> RouterKind {
        self.setup.kind
    }

    /// The setup it was started with.
    pub fn setup(&self) -> &RouterSetup {
        &self.setup
    }

    fn conf_path(&self) -> PathBuf {
        match self.setup.kind {
            RouterKind::Bird => self.setup.dir.join("bird.conf"),
            RouterKind::Rbgpd | RouterKind::Docker => self.setup.dir.join("rbgpd.toml"),
        }
    }

    /// The control socket (birdc or rbgpctl).
    pub fn socket(&self) -> PathBuf {
        match self.setup.kind {
            RouterKind::Bird => self.setup.dir.join("bird.ctl"),
            RouterKind::Rbgpd | RouterKind::Docker => self.setup.dir.join("rbgpd.sock"),
        }
    }

    fn spawn(&mut self, ns: &Netns) -> Result<()> {
        let conf = self.conf_path();
        let text = match self.setup.kind {
            RouterKind::Bird => bird_conf(&self.setup),
            RouterKind::Rbgpd if self.setup.from_bird => {
                crate::router_conf::migrated_conf(&self.setup, &self.bins()?.rbgpd, &self.socket())?
            }
            RouterKind::Rbgpd => rbgpd_conf(&self.setup, &self.socket()),
            RouterKind::Docker => rbgpd_conf(&self.setup, Path::new(&self.container_socket())),
        };
        std::fs::write(&conf, text).map_err(|source| Error::Io {
            path: conf.clone(),
            source,
        })?;
        let conf_s = conf.to_string_lossy().into_owned();
        let sock_s = self.socket().to_string_lossy().into_owned();
        let log = self
            .setup
            .dir
            .join(format!("{}.out", self.setup.kind.as_str()));
        let proc = match self.setup.kind {
            RouterKind::Bird => Proc::spawn_in(
                ns,
                "bird",
                "bird",
                &["-f", "-c", &conf_s, "-s", &sock_s],
                &log,
            )?,
            RouterKind::Rbgpd => {
                let bins = self.bins()?;
                // A config the daemon refuses fails here, with its message.
                testbed::run(Command::new(&bins.rbgpd).args(["--check-config", &conf_s]))?;
                let bin = bins.rbgpd.to_string_lossy().into_owned();
                // Its control socket goes into the directory.
                testbed::run(
                    Command::new("chown")
                        .arg(UNPRIVILEGED_ID)
                        .arg(&self.setup.dir),
                )?;
                let args = [UNPRIVILEGED, &[bin.as_str(), "--config", &conf_s]].concat();
                Proc::spawn_in(ns, "rbgpd", "setpriv", &args, &log)?
            }
            RouterKind::Docker => {
                // The container is started by `start_container`; its
                // namespace is `ns`. Only wait for rbgpd below.
                return self.wait_socket(ns);
            }
        };
        self.proc = Some(proc);
        self.wait_socket(ns)
    }

    /// Starts the router container (network none: its namespace is then
    /// attached as the router namespace by the caller). Returns the
    /// router and the container's PID.
    pub fn start_container(setup: RouterSetup) -> Result<(Router, i32)> {
        let image = setup
            .image
            .clone()
            .ok_or_else(|| Error::Missing("docker image for RouterKind::Docker".into()))?;
        let r = Router {
            setup,
            proc: None,
            keep: false,
        };
        let conf = r.conf_path();
        let text = rbgpd_conf(&r.setup, Path::new(&r.container_socket()));
        std::fs::write(&conf, text).map_err(|source| Error::Io {
            path: conf.clone(),
            source,
        })?;
        let name = r.container().to_string();
        crate::docker::remove(&name);
        match &r.setup.network {
            // The write-up's way: `docker run -d -v CONFIG:/etc/rbgpd/rbgpd.toml
            // --cap-add=NET_ADMIN --network=kind --ip 172.18.0.5 --name=NAME IMAGE`.
            Some(net) => {
                let mount = format!("{}:/etc/rbgpd/rbgpd.toml", conf.display());
                crate::docker::docker(&[
                    "run",
                    "-d",
                    "-v",
                    &mount,
                    "--cap-add=NET_ADMIN",
                    &format!("--network={}", net.network),
                    "--ip",
                    &net.ip.to_string(),
                    &format!("--name={name}"),
                    &image,
                ])?;
            }
            None => {
                // The image's user (rbgpd, 65532) makes its socket there.
                testbed::run(Command::new("chown").arg(IMAGE_USER).arg(&r.setup.dir))?;
                let mount = format!("{}:{CONTAINER_DIR}", r.setup.dir.display());
                let conf_in = format!("{CONTAINER_DIR}/rbgpd.toml");
                crate::docker::docker(&[
                    "run",
                    "-d",
                    "--name",
                    &name,
                    "--network",
                    "none",
                    "--cap-add",
                    "NET_ADMIN",
                    "-v",
                    &mount,
                    &image,
                    "--config",
                    &conf_in,
                ])?;
            }
        }
        let pid = crate::docker::pid(&name)?;
        Ok((r, pid))
    }

    /// The router container's name ([`RouterKind::Docker`]).
    pub fn container(&self) -> &str {
        self.setup
            .network
            .as_ref()
            .map_or(CONTAINER, |n| n.container.as_str())
    }

    /// The running rbgpd's user id and effective capabilities (the
    /// `CapEff` mask of /proc/PID/status); `None` for BIRD.
    pub fn privileges(&self) -> Result<Option<(u32, u64)>> {
        let pid = match self.setup.kind {
            RouterKind::Bird => return Ok(None),
            RouterKind::Docker => crate::docker::pid(self.container())?.unsigned_abs(),
            RouterKind::Rbgpd => match &self.proc {
                Some(p) => p.pid(),
                None => return Err(Error::Missing("router not running".into())),
            },
        };
        let path = PathBuf::from(format!("/proc/{pid}/status"));
        let status = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let field = |name: &str| status.lines().find_map(|l| l.strip_prefix(name));
        let uid = field("Uid:").and_then(|v| v.split_whitespace().next()?.parse().ok());
        let caps = field("CapEff:").and_then(|v| u64::from_str_radix(v.trim(), 16).ok());
        match (uid, caps) {
            (Some(u), Some(c)) => Ok(Some((u, c))),
            _ => Err(Error::Parse {
                what: path.display().to_string(),
                detail: status,
            }),
        }
    }

    /// The control socket's path inside the router container.
    pub fn container_socket(&self) -> String {
        match self.setup.network {
            Some(_) => IMAGE_SOCKET.to_string(),
            None => format!("{CONTAINER_DIR}/rbgpd.sock"),
        }
    }

    /// `docker stop` of the router container (SIGTERM, SIGKILL after
    /// `grace`), leaving it in place to be inspected; removed on drop.
    pub fn docker_stop(&mut self, grace: Duration) -> Result<crate::docker::Stopped> {
        if self.setup.kind != RouterKind::Docker {
            return Err(Error::Missing(
                "docker stop of a router not in docker".into(),
            ));
        }
        crate::docker::stop(self.container(), grace)
    }

    /// Completes [`Router::start_container`] once the namespace is wired.
    pub fn wait_ready(&mut self, ns: &Netns) -> Result<()> {
        self.wait_socket(ns)
    }

    fn wait_socket(&mut self, ns: &Netns) -> Result<()> {
        // Wait for the control socket: the daemon is up and answering.
        crate::wait_for(
            "router control socket",
            Duration::from_secs(15),
            Duration::from_millis(100),
            || {
                if let Some(p) = self.proc.as_mut() {
                    p.check_running()?;
                }
                Ok(self.show_peers_text(ns).ok().map(|_| ()))
            },
        )
    }

    fn bins(&self) -> Result<&RbgpdBins> {
        self.setup
            .bins
            .as_ref()
            .ok_or_else(|| Error::Missing("rbgpd binaries".into()))
    }

    /// Stops the router (SIGTERM, as `docker stop`).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop(Duration::from_secs(10));
        }
        if self.setup.kind == RouterKind::Docker {
            crate::docker::remove(self.container());
        }
    }

    /// Stops and starts the router with the same config.
    pub fn restart(&mut self, ns: &Netns) -> Result<()> {
        if self.setup.kind == RouterKind::Docker {
            return Err(Error::Missing(
                "router restart with docker (a new container has a new namespace)".into(),
            ));
        }
        self.stop();
        self.spawn(ns)
    }

    /// Fails with the log tail if the router process died.
    pub fn check_running(&mut self) -> Result<()> {
        if self.setup.kind == RouterKind::Docker {
            let out = crate::docker::inspect(self.container(), "{{.State.Running}}")?;
            return match out.trim() {
                "true" => Ok(()),
                _ => Err(testbed::Error::Exited {
                    name: self.container().into(),
                    status: out.trim().into(),
                    log: self.log_tail(30),
                }
                .into()),
            };
        }
        match self.proc.as_mut() {
            Some(p) => Ok(p.check_running()?),
            None => Err(Error::Missing("router not running".into())),
        }
    }

    /// The router's own log (BIRD's log file, rbgpd's stdout/stderr).
    pub fn log_tail(&self, n: usize) -> String {
        if self.setup.kind == RouterKind::Docker {
            let out = Command::new("docker")
                .args(["logs", "--tail", &n.to_string(), self.container()])
                .output();
            return out
                .map(|o| {
                    format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                })
                .unwrap_or_default();
        }
        self.proc
            .as_ref()
            .map(|p| p.log_tail(n))
            .unwrap_or_default()
    }

    /// Leaves the router running when dropped.
    pub fn keep(&mut self) {
        self.keep = true;
        if let Some(p) = self.proc.as_mut() {
            p.keep();
        }
    }

    /// Runs `rbgpctl --socket S args` in the router namespace (rbgpd), or
    /// inside the container (docker).
    pub fn rbgpctl(&self, ns: &Netns, args: &[&str]) -> Result<String> {
        if self.setup.kind == RouterKind::Docker {
            let mut cmd = Command::new("docker");
            cmd.args(["exec", self.container(), "/usr/local/bin/rbgpctl"]);
            if self.setup.network.is_none() {
                cmd.args(["--socket", &self.container_socket()]);
            }
            return Ok(testbed::run(cmd.args(args))?);
        }
        let sock = self.socket().to_string_lossy().into_owned();
        let ctl = self.bins()?.rbgpctl.to_string_lossy().into_owned();
        Ok(ns.exec(&ctl, &[&["--socket", sock.as_str()][..], args].concat())?)
    }

    /// `birdc show protocols` or `rbgpctl show peers`, as text.
    pub fn show_peers_text(&self, ns: &Netns) -> Result<String> {
        let sock = self.socket().to_string_lossy().into_owned();
        match self.setup.kind {
            RouterKind::Bird => Ok(ns.exec("birdc", &["-s", &sock, "show", "protocols"])?),
            RouterKind::Rbgpd | RouterKind::Docker => self.rbgpctl(ns, &["show", "peers"]),
        }
    }

    /// `birdc show route` or `rbgpctl show routes`, as text.
    pub fn show_routes_text(&self, ns: &Netns) -> Result<String> {
        let sock = self.socket().to_string_lossy().into_owned();
        match self.setup.kind {
            RouterKind::Bird => Ok(ns.exec("birdc", &["-s", &sock, "show", "route"])?),
            RouterKind::Rbgpd | RouterKind::Docker => self.rbgpctl(ns, &["show", "routes"]),
        }
    }

    /// The sessions and their states: the one place that parses router
    /// output about sessions.
    pub fn peer_states(&self, ns: &Netns) -> Result<Vec<PeerState>> {
        match self.setup.kind {
            RouterKind::Bird => Ok(parse_bird_protocols(
                &self.show_peers_text(ns)?,
                &self.setup.peers,
            )),
            RouterKind::Rbgpd | RouterKind::Docker => {
                parse_rbgpctl_peers(&self.rbgpctl(ns, &["show", "peers", "--json"])?)
            }
        }
    }
}

/// Parses `birdc show protocols`: a line per protocol, name first, BGP
/// protocols end with their state ("Established", "Active", ...).
pub fn parse_bird_protocols(text: &str, peers: &[RouterPeer]) -> Vec<PeerState> {
    peers
        .iter()
        .map(|p| {
            let line = text
                .lines()
                .find(|l| l.split_whitespace().next() == Some(p.name.as_str()))
                .unwrap_or("");
            let info = line
                .split_whitespace()
                .skip(5)
                .collect::<Vec<_>>()
                .join(" ");
            let state = if line.is_empty() {
                "missing".to_string()
            } else {
                info
            };
            PeerState {
                address: IpAddr::V4(p.address),
                established: state.starts_with("Established"),
                state,
            }
        })
        .collect()
}

/// Parses `rbgpctl show peers --json`. The schema is young, so this is
/// lenient: an array of peers, or an object with a `peers` array; the
/// address under `address`/`peer`/`neighbor`/`remote_address` (with or
/// without a port), the state under `state`/`session_state`/`fsm_state`.
pub fn parse_rbgpctl_peers(json: &str) -> Result<Vec<PeerState>> {
    let err = |d: String| Error::Parse {
        what: "rbgpctl show peers --json".into(),
        detail: d,
    };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
    let arr = v
        .as_array()
        .or_else(|| v.get("peers").and_then(|p| p.as_array()))
        .ok_or_else(|| err(format!("no peer array in {json}")))?;
    let first_str = |p: &serde_json::Value, keys: &[&str]| {
        keys.iter()
            .find_map(|k| p.get(*k).and_then(|x| x.as_str()).map(str::to_string))
    };
    let mut out = Vec::new();
    for p in arr {
        let addr = first_str(
            p,
            &[
                "address",
                "peer",
                "neighbor",
                "remote_address",
                "remote_addr",
            ],
        )
        .ok_or_else(|| err(format!("peer without address: {p}")))?;
        let address = addr
            .parse::<IpAddr>()
            .or_else(|_| addr.parse::<std::net::SocketAddr>().map(|s| s.ip()))
            .map_err(|_| err(format!("bad address {addr}")))?;
        let state = first_str(p, &["state", "session_state", "fsm_state"])
            .ok_or_else(|| err(format!("peer without state: {p}")))?;
        out.push(PeerState {
            address,
            established: state.eq_ignore_ascii_case("established"),
            state,
        });
    }
    Ok(out)
}

/// Finds rbgpd and rbgpctl: `RBGPD_BIN` / `RBGPCTL_BIN`, else next to the
/// running executable (`target/<profile>/` or its `deps/`), else the
/// workspace's target dir. A binary counts only if `rbgpd --help` mentions
/// `--config` (the skeleton's empty main does not). Returns why not
/// otherwise.
pub fn find_rbgpd() -> std::result::Result<RbgpdBins, String> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(d) = exe.parent() {
            dirs.push(d.to_path_buf());
            if let Some(up) = d.parent() {
                dirs.push(up.to_path_buf());
            }
        }
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    dirs.push(target.join("release"));
    dirs.push(target.join("debug"));
    let pick = |env: &str, name: &str| -> Option<PathBuf> {
        if let Some(p) = std::env::var_os(env) {
            return Some(PathBuf::from(p));
        }
        dirs.iter().map(|d| d.join(name)).find(|p| p.is_file())
    };
    let rbgpd = pick("RBGPD_BIN", "rbgpd")
        .ok_or("rbgpd binary not found (build it: cargo build -p bgpd, or set RBGPD_BIN)")?;
    let rbgpctl = pick("RBGPCTL_BIN", "rbgpctl")
        .ok_or("rbgpctl binary not found (build it: cargo build -p bgpd, or set RBGPCTL_BIN)")?;
    let help = output(Command::new(&rbgpd).arg("--help"))
        .map_err(|e| format!("cannot run {}: {e}", rbgpd.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&help.stdout),
        String::from_utf8_lossy(&help.stderr)
    );
    if !text.contains("--config") {
        return Err(format!(
            "{} is not the daemon yet (its --help does not mention --config)",
            rbgpd.display()
        ));
    }
    Ok(RbgpdBins { rbgpd, rbgpctl })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peers() -> Vec<RouterPeer> {
        vec![
            RouterPeer {
                name: "c1_cp".into(),
                address: [172, 18, 0, 2].into(),
                asn: 65100,
            },
            RouterPeer {
                name: "c2_w2".into(),
                address: [172, 19, 0, 2].into(),
                asn: 65200,
            },
        ]
    }

    #[test]
    fn bird_protocols_parse() {
        let text = "BIRD 2.0.12 ready.\n\
Name       Proto      Table      State  Since         Info\n\
device1    Device     ---        up     14:59:47.133  \n\
c1_cp      BGP        ---        up     14:59:51.470  Established   \n\
c2_w2      BGP        ---        start  14:59:47.133  Active        Socket: Connection refused\n";
        let s = parse_bird_protocols(text, &peers());
        assert!(s[0].established);
        assert!(!s[1].established);
        assert!(s[1].state.starts_with("Active"));
    }

    #[test]
    fn rbgpctl_parse_shapes() {
        let a = r#"[{"address":"172.18.0.2","state":"Established"},{"peer":"172.19.0.2:179","state":"Active"}]"#;
        let s = parse_rbgpctl_peers(a).unwrap();
        assert!(s[0].established && !s[1].established);
        assert_eq!(s[1].address, IpAddr::V4([172, 19, 0, 2].into()));
        let b = r#"{"peers":[{"neighbor":"172.18.0.3","session_state":"established"}]}"#;
        assert!(parse_rbgpctl_peers(b).unwrap()[0].established);
        assert!(parse_rbgpctl_peers("{}").is_err());
    }

    #[test]
    fn confs_have_the_lab() {
        let setup = RouterSetup {
            kind: RouterKind::Bird,
            asn: 65000,
            router_id: [172, 18, 0, 5].into(),
            peers: peers(),
            ranges: vec![RouterRange {
                range: "172.18.0.0/16".into(),
                asn: 65100,
                description: "kind-cilium nodes".into(),
                bfd: true,
            }],
            graceful_restart: true,
            merge_paths: false,
            dir: "/tmp/x".into(),
            bins: None,
            image: None,
            network: None,
            from_bird: false,
        };
        let b = bird_conf(&setup);
        assert!(b.contains("neighbor 172.18.0.2 as 65100;"));
        assert!(b.contains("local as 65000;"));
        assert!(b.contains("persist;"));
        assert!(b.contains("graceful restart on;"));
        let r = rbgpd_conf(&setup, Path::new("/tmp/x/rbgpd.sock"));
        assert!(r.contains("range = \"172.18.0.0/16\""));
        assert!(r.contains("\nbfd = true\n"), "{r}");
        assert!(r.contains("remote_as = 65100"));
        assert!(r.contains("socket = \"/tmp/x/rbgpd.sock\""));
    }

    #[test]
    fn rbgpd_conf_keys_exist_in_bgpd_config() {
        // Every key the lab writes must be a field of bgpd's config types
        // (bgpd/src/config.rs, deny_unknown_fields). Checked on the source
        // text so that e2e does not depend on bgpd compiling.
        let setup = RouterSetup {
            kind: RouterKind::Rbgpd,
            asn: 65000,
            router_id: [172, 18, 0, 5].into(),
            peers: Vec::new(),
            ranges: vec![RouterRange {
                range: "172.18.0.0/16".into(),
                asn: 65100,
                description: "kind-cilium nodes".into(),
                bfd: true,
            }],
            graceful_restart: false,
            merge_paths: false,
            dir: "/tmp/x".into(),
            bins: None,
            image: None,
            network: None,
            from_bird: false,
        };
        let text = rbgpd_conf(&setup, Path::new("/tmp/x/rbgpd.sock"));
        let src_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bgpd/src/config.rs");
        let src = std::fs::read_to_string(src_path).unwrap();
        let sections = [
            "[router]",
            "[[neighbor]]",
            "[fib]",
            "[control]",
            "[metrics]",
            "[log]",
        ];
        let mut keys = 0;
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if line.starts_with('[') {
                assert!(sections.contains(&line), "unknown section {line}");
                continue;
            }
            let key = line.split('=').next().unwrap().trim();
            assert!(
                src.contains(&format!("pub {key}:")),
                "bgpd config has no field {key}"
            );
            keys += 1;
        }
        assert!(keys >= 12, "{text}");
    }
}
