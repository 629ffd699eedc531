//! rbgpctl end to end: a fake core answers canned responses through the
//! real control socket server; the real rbgpctl binary talks to it; the
//! output must equal the golden files in tests/golden/ (regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p bgpd --test rbgpctl_golden`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgpd::ctl::proto::*;
use bgpd::ctl::server::{self, CtlCall};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

static NEXT: AtomicUsize = AtomicUsize::new(0);

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A control socket served by the real server, answered by [`canned`].
struct FakeDaemon {
    dir: PathBuf,
    path: PathBuf,
    rt: tokio::runtime::Runtime,
    events: Option<broadcast::Sender<Event>>,
    seen: Arc<Mutex<Vec<Request>>>,
}

impl FakeDaemon {
    fn start() -> FakeDaemon {
        Self::start_with(false)
    }

    /// `refuse_reload`: answer `reload` with a config error.
    fn start_with(refuse_reload: bool) -> FakeDaemon {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("ctl-golden-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        // The server creates the missing directory itself.
        let path = dir.join("run").join("rbgpd.sock");
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (etx, erx) = broadcast::channel(64);
        let (tx, mut rx) = mpsc::channel::<CtlCall>(8);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let listener = {
            let _g = rt.enter();
            server::bind(&path).unwrap()
        };
        rt.spawn(server::serve_listener(listener, tx, erx));
        let log = seen.clone();
        rt.spawn(async move {
            while let Some((req, answer)) = rx.recv().await {
                log.lock().unwrap().push(req.clone());
                let resp = match req {
                    Request::Reload if refuse_reload => refused_reload(),
                    _ => canned(&req),
                };
                let _ = answer.send(resp);
            }
        });
        FakeDaemon {
            dir,
            path,
            rt,
            events: Some(etx),
            seen,
        }
    }

    fn ctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
            .arg("--socket")
            .arg(&self.path)
            .args(args)
            .env_remove("RBGPD_SOCKET")
            .output()
            .unwrap()
    }

    fn last_request(&self) -> Request {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn fam(f: &str, r: u64, a: u64, adv: u64) -> FamilyCounters {
    FamilyCounters {
        family: f.into(),
        received: r,
        accepted: a,
        advertised: adv,
        next_hop: None,
    }
}

fn peers() -> Vec<PeerSummary> {
    let node = |a: &str, up: u64, r: u64| PeerSummary {
        address: ip(a),
        description: Some("kind-cilium nodes".into()),
        remote_as: 65100,
        local_as: 65000,
        state: PeerState::Established,
        admin_down: false,
        uptime_secs: Some(up),
        down_secs: None,
        families: vec![fam("ipv4-unicast", r, r, 6), fam("ipv6-unicast", 0, 0, 0)],
        dynamic: true,
        interface: None,
        bfd: None,
    };
    vec![
        node("172.18.0.2", 3725, 2),
        node("172.18.0.3", 3724, 2),
        PeerSummary {
            address: ip("172.19.0.9"),
            description: None,
            remote_as: 65200,
            local_as: 65000,
            state: PeerState::Active,
            admin_down: false,
            uptime_secs: None,
            down_secs: Some(42),
            families: vec![fam("ipv4-unicast", 0, 0, 0)],
            dynamic: false,
            interface: None,
            bfd: None,
        },
        PeerSummary {
            address: ip("fd00::7"),
            description: Some("FRR, RFC 8950".into()),
            remote_as: 65300,
            local_as: 65000,
            state: PeerState::Established,
            admin_down: false,
            uptime_secs: Some(61),
            down_secs: None,
            families: vec![
                FamilyCounters {
                    next_hop: Some("ipv6".into()),
                    ..fam("ipv4-unicast", 1, 1, 6)
                },
                fam("ipv6-unicast", 0, 0, 0),
            ],
            dynamic: false,
            interface: None,
            bfd: None,
        },
        PeerSummary {
            address: ip("fe80::a8c1:abff:fe12:3456"),
            description: None,
            remote_as: 65400,
            local_as: 65000,
            state: PeerState::Established,
            admin_down: false,
            uptime_secs: Some(12),
            down_secs: None,
            families: vec![
                FamilyCounters {
                    next_hop: Some("ipv6".into()),
                    ..fam("ipv4-unicast", 1, 1, 6)
                },
                fam("ipv6-unicast", 1, 1, 6),
            ],
            dynamic: true,
            interface: Some("eth3".into()),
            bfd: Some("up".into()),
        },
        PeerSummary {
            address: ip("fd00::9"),
            description: Some("spare".into()),
            remote_as: 65300,
            local_as: 65000,
            state: PeerState::Idle,
            admin_down: true,
            uptime_secs: None,
            down_secs: None,
            families: vec![],
            dynamic: false,
            interface: None,
            bfd: None,
        },
    ]
}

fn detail() -> PeerDetail {
    PeerDetail {
        summary: peers().remove(0),
        remote_router_id: Some("172.18.0.2".parse().unwrap()),
        local_addr: Some("172.18.0.5:179".parse().unwrap()),
        remote_addr: Some("172.18.0.2:40312".parse().unwrap()),
        configured_hold_time: 90,
        hold_time: Some(90),
        keepalive: Some(30),
        capabilities: vec![
            "multiprotocol ipv4-unicast".into(),
            "multiprotocol ipv6-unicast".into(),
            "4-octet AS".into(),
            "route refresh".into(),
            "graceful restart (restart time 120 s, notification)".into(),
        ],
        messages_sent: MessageCounts {
            open: 1,
            update: 4,
            notification: 0,
            keepalive: 124,
            route_refresh: 0,
        },
        messages_received: MessageCounts {
            open: 1,
            update: 3,
            notification: 0,
            keepalive: 125,
            route_refresh: 0,
        },
        established_count: 2,
        last_error: Some("hold timer expired".into()),
        last_notification_sent: Some("Hold Timer Expired (4/0)".into()),
        last_notification_received: None,
    }
}

fn path(peer: &str, best: bool, multipath: bool) -> RoutePath {
    RoutePath {
        peer: Some(ip(peer)),
        next_hop: peer.into(),
        as_path: "65100".into(),
        origin: "igp".into(),
        med: None,
        local_pref: Some(100),
        communities: vec![],
        large_communities: vec![],
        best,
        multipath,
        stale: false,
        age_secs: 3700,
    }
}

fn routes() -> Vec<RouteEntry> {
    let mut stale = path("172.18.0.4", false, false);
    stale.stale = true;
    stale.communities = vec!["65100:1".into()];
    stale.large_communities = vec!["65100:1:2".into()];
    stale.med = Some(10);
    stale.age_secs = 12;
    vec![
        RouteEntry {
            prefix: "10.11.192.248/32".into(),
            paths: vec![
                path("172.18.0.2", true, true),
                path("172.18.0.3", false, true),
                stale,
            ],
        },
        RouteEntry {
            prefix: "10.241.0.0/24".into(),
            paths: vec![path("172.18.0.2", true, false)],
        },
        RouteEntry {
            prefix: "10.0.0.0/8".into(),
            paths: vec![RoutePath {
                peer: None,
                next_hop: "0.0.0.0".into(),
                as_path: String::new(),
                origin: "incomplete".into(),
                best: true,
                ..RoutePath::default()
            }],
        },
    ]
}

fn canned(req: &Request) -> Response {
    match req {
        Request::ShowPeers => Response::Peers { peers: peers() },
        Request::ShowPeer { address } if *address == ip("172.18.0.2") => Response::Peer {
            peer: Box::new(detail()),
        },
        Request::ShowPeer { address } => Response::Error {
            message: format!("no peer {address}"),
        },
        Request::ShowRoutes(q) if q.prefix.as_deref() == Some("10.99.0.0/16") => {
            Response::Routes { routes: vec![] }
        }
        Request::ShowRoutes(_) => Response::Routes { routes: routes() },
        Request::ShowFib => Response::Fib {
            routes: vec![
                FibEntry {
                    prefix: "10.11.192.248/32".into(),
                    next_hops: vec![
                        "172.18.0.2".into(),
                        "172.18.0.3".into(),
                        "172.18.0.4".into(),
                    ],
                    installed: true,
                    matches_kernel: true,
                    note: None,
                    table: 254,
                },
                FibEntry {
                    prefix: "10.241.0.0/24".into(),
                    next_hops: vec!["172.18.0.2".into()],
                    installed: true,
                    matches_kernel: false,
                    note: Some("kernel has via 172.18.0.9".into()),
                    table: 254,
                },
                FibEntry {
                    prefix: "fd00:10:241::/64".into(),
                    next_hops: vec!["::ffff:172.18.0.2".into()],
                    installed: false,
                    matches_kernel: false,
                    note: Some("Network is unreachable (os error 101)".into()),
                    // A neighbor's own table: the text gets a table column.
                    table: 100,
                },
            ],
        },
        Request::ShowSummary => Response::Summary {
            summary: Summary {
                version: "0.1.0".into(),
                router_id: Some("172.18.0.5".parse().unwrap()),
                asn: 65000,
                uptime_secs: 90061,
                peers_established: 6,
                peers_total: 7,
                rib_prefixes_v4: 8,
                rib_prefixes_v6: 0,
                rib_paths: 14,
                fib_routes: 8,
                memory_rss_bytes: Some(13_002_342),
            },
        },
        Request::ShowBfd => Response::Bfd {
            sessions: vec![
                BfdSession {
                    address: ip("172.18.0.2"),
                    state: "Up".into(),
                    local_discriminator: 2_718_281_828,
                    remote_discriminator: 1,
                    tx_interval_ms: 300,
                    detection_ms: Some(900),
                    uptime_secs: Some(3725),
                    last_diag: "No Diagnostic".into(),
                    remote_control_plane_independent: false,
                    packets_in: 12_414,
                    packets_out: 12_420,
                    packets_discarded: 0,
                },
                BfdSession {
                    address: ip("172.19.0.9"),
                    state: "Down".into(),
                    local_discriminator: 3_141_592_653,
                    remote_discriminator: 0,
                    tx_interval_ms: 1000,
                    detection_ms: None,
                    uptime_secs: None,
                    last_diag: "Control Detection Time Expired".into(),
                    remote_control_plane_independent: false,
                    packets_in: 40,
                    packets_out: 97,
                    packets_discarded: 2,
                },
            ],
        },
        Request::Reload => Response::Reload {
            result: ReloadResult {
                applied: true,
                added: vec!["172.20.0.0/16".into()],
                removed: vec![],
                changed: vec!["172.18.0.0/16".into()],
                errors: vec![],
            },
        },
        Request::PeerReset { address, message } => Response::PeerAction {
            result: PeerActionResult {
                address: *address,
                action: "reset".into(),
                message: message
                    .as_ref()
                    .map(|m| format!("sent shutdown communication {m:?}")),
            },
        },
        Request::PeerShutdown { address, .. } => Response::PeerAction {
            result: PeerActionResult {
                address: *address,
                action: "shutdown".into(),
                message: None,
            },
        },
        Request::PeerEnable { address } => Response::PeerAction {
            result: PeerActionResult {
                address: *address,
                action: "enable".into(),
                message: Some("session was not shut down".into()),
            },
        },
        Request::Watch => Response::Error {
            message: "watch reached the core".into(),
        },
    }
}

fn refused_reload() -> Response {
    let text = "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n[[neighbor]]\n\
                address = \"172.18.0.2\"\nremote_as = 65100\nhold_time = 2\nimport = \"x\"\n";
    let err = bgpd::config::parse(text, "/etc/rbgpd/rbgpd.toml").unwrap_err();
    Response::Reload {
        result: ReloadResult::refused(&err),
    }
}

fn golden(name: &str, actual: &str) {
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, actual).unwrap();
    }
    let want = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", file.display()));
    assert_eq!(actual, want, "output differs from {}", file.display());
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}, stderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn show_peers_table_and_json() {
    let d = FakeDaemon::start();
    golden("show_peers.txt", &ok(&d.ctl(&["show", "peers"])));
    assert_eq!(d.last_request(), Request::ShowPeers);
    // `neighbors` is an alias; the socket may come from RBGPD_SOCKET.
    let o = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .args(["show", "neighbors"])
        .env("RBGPD_SOCKET", &d.path)
        .output()
        .unwrap();
    golden("show_peers.txt", &ok(&o));
    let json = ok(&d.ctl(&["--json", "show", "peers"]));
    golden("show_peers.json", &json);
    // The JSON is the response itself: it parses back to the same value.
    let back: Response = serde_json::from_str(&json).unwrap();
    assert_eq!(back, Response::Peers { peers: peers() });
}

#[test]
fn show_peer_detail_and_unknown_peer() {
    let d = FakeDaemon::start();
    golden(
        "show_peer.txt",
        &ok(&d.ctl(&["show", "peer", "172.18.0.2"])),
    );
    let o = d.ctl(&["show", "peer", "10.9.9.9"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "rbgpctl: rbgpd: no peer 10.9.9.9\n"
    );
    assert!(o.stdout.is_empty());
    // With --json an error is printed as JSON, still exiting 1.
    let o = d.ctl(&["show", "peer", "10.9.9.9", "--json"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "{\n  \"type\": \"error\",\n  \"message\": \"no peer 10.9.9.9\"\n}\n"
    );
}

#[test]
fn show_routes_and_query() {
    let d = FakeDaemon::start();
    golden("show_routes.txt", &ok(&d.ctl(&["show", "routes"])));
    assert_eq!(d.last_request(), Request::ShowRoutes(RouteQuery::default()));
    ok(&d.ctl(&[
        "show",
        "routes",
        "10.11.192.248",
        "--peer",
        "172.18.0.2",
        "--family",
        "ipv4",
        "--best",
        "--table",
        "100",
    ]));
    let q = RouteQuery {
        prefix: Some("10.11.192.248".into()),
        peer: Some(ip("172.18.0.2")),
        family: Some("ipv4-unicast".into()),
        best_only: true,
        table: Some(100),
    };
    assert_eq!(
        q.target(),
        Ok(Some(RouteTarget::LongestMatch(ip("10.11.192.248"))))
    );
    assert_eq!(d.last_request(), Request::ShowRoutes(q));
    assert_eq!(
        ok(&d.ctl(&["show", "routes", "10.99.0.0/16"])),
        "No routes.\n"
    );
    ok(&d.ctl(&["show", "route", "--family", "ipv6-unicast"]));
    let q = RouteQuery {
        family: Some("ipv6-unicast".into()),
        ..RouteQuery::default()
    };
    assert_eq!(d.last_request(), Request::ShowRoutes(q));
    // A bad prefix is refused before anything is sent.
    let before = d.seen.lock().unwrap().len();
    let o = d.ctl(&["show", "routes", "10.0.0.0/33"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "rbgpctl: invalid prefix \"10.0.0.0/33\": length 33 is out of range, expected 0 to 32\n"
    );
    let o = d.ctl(&["show", "routes", "10.0.0.0/x"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "rbgpctl: invalid prefix \"10.0.0.0/x\": expected ADDRESS/LENGTH, e.g. 10.0.0.0/24 or 2001:db8::/32\n"
    );
    assert_eq!(d.seen.lock().unwrap().len(), before);
}

#[test]
fn show_fib_summary() {
    let d = FakeDaemon::start();
    golden("show_fib.txt", &ok(&d.ctl(&["show", "fib"])));
    // One table only: no table column.
    let t100 = ok(&d.ctl(&["show", "fib", "--table", "100"]));
    assert_eq!(t100.lines().count(), 2, "{t100}");
    assert!(
        t100.contains("fd00:10:241::/64 ") && !t100.contains("table"),
        "{t100}"
    );
    golden("show_bfd.txt", &ok(&d.ctl(&["show", "bfd"])));
    golden("show_summary.txt", &ok(&d.ctl(&["show", "summary"])));
    golden(
        "show_summary.json",
        &ok(&d.ctl(&["show", "summary", "--json"])),
    );
}

#[test]
fn reload_and_peer_actions() {
    let d = FakeDaemon::start();
    let mut all = ok(&d.ctl(&["reload"]));
    all += &ok(&d.ctl(&["peer", "reset", "172.18.0.2", "--message", "maintenance"]));
    assert_eq!(
        d.last_request(),
        Request::PeerReset {
            address: ip("172.18.0.2"),
            message: Some("maintenance".into())
        }
    );
    all += &ok(&d.ctl(&["peer", "shutdown", "fd00::9"]));
    assert_eq!(
        d.last_request(),
        Request::PeerShutdown {
            address: ip("fd00::9"),
            message: None
        }
    );
    all += &ok(&d.ctl(&["peer", "enable", "172.18.0.3"]));
    golden("actions.txt", &all);
}

#[test]
fn watch_streams_events_until_the_core_stops() {
    let mut d = FakeDaemon::start();
    let child = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .args(["watch", "--socket"])
        .arg(&d.path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let etx = d.events.take().unwrap();
    // The server's accept loop holds one receiver; the client adds one.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while etx.receiver_count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "rbgpctl watch did not connect"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let t = 1_764_168_000_123; // 2025-11-26 14:40:00.123 UTC
    let events = [
        EventKind::PeerState {
            peer: ip("172.18.0.2"),
            from: PeerState::OpenConfirm,
            to: PeerState::Established,
            reason: None,
        },
        EventKind::Route {
            peer: ip("172.18.0.2"),
            prefix: "10.241.0.0/24".into(),
            withdrawn: false,
            next_hop: Some("172.18.0.2".into()),
            as_path: Some("65100".into()),
        },
        EventKind::Best {
            prefix: "10.241.0.0/24".into(),
            next_hops: vec!["172.18.0.2".into()],
        },
        EventKind::Fib {
            prefix: "10.241.0.0/24".into(),
            op: "add".into(),
            error: None,
        },
        EventKind::Route {
            peer: ip("172.18.0.2"),
            prefix: "10.241.0.0/24".into(),
            withdrawn: true,
            next_hop: None,
            as_path: None,
        },
        EventKind::Best {
            prefix: "10.241.0.0/24".into(),
            next_hops: vec![],
        },
        EventKind::Fib {
            prefix: "10.241.0.0/24".into(),
            op: "delete".into(),
            error: Some("No such process".into()),
        },
        EventKind::Reload {
            applied: true,
            message: "1 neighbor added".into(),
        },
        EventKind::PeerState {
            peer: ip("172.18.0.2"),
            from: PeerState::Established,
            to: PeerState::Idle,
            reason: Some("Cease/Administrative Reset received".into()),
        },
    ];
    for (i, kind) in events.into_iter().enumerate() {
        etx.send(Event {
            unix_ms: t + i as u64 * 1001,
            kind,
        })
        .unwrap();
    }
    // Dropping the only sender ends every watch stream.
    drop(etx);
    let out = child.wait_with_output().unwrap();
    golden("watch.txt", &ok(&out));
    // No watch request ever reaches the core.
    assert!(d.seen.lock().unwrap().is_empty());
    d.rt.block_on(async {});
}

#[test]
fn not_running_and_usage_errors() {
    let dir = std::env::temp_dir().join(format!("ctl-golden-none-{}", std::process::id()));
    let sock = dir.join("rbgpd.sock");
    let o = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .args(["show", "peers"])
        .env("RBGPD_SOCKET", &sock)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "rbgpctl: cannot connect to rbgpd at {}: No such file or directory (is rbgpd running?)\n",
            sock.display()
        )
    );
    let o = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .args(["show", "bogus"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.starts_with("error: unrecognized subcommand 'bogus'"),
        "{err}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .args(["show", "peer", "not-an-address"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("invalid value 'not-an-address' for '<ADDRESS>'"),
        "{err}"
    );
    // An unnumbered peer as `show peers` lists it is taken; an interface
    // only on a link-local address.
    for (arg, why) in [
        (
            "10.0.0.1%eth0",
            "only a link-local address takes an interface ('%')",
        ),
        ("fe80::1%", "has an empty interface after '%'"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
            .args(["show", "peer", arg])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{arg}: {err}");
    }
    let o = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .args([
            "--socket",
            "/nonexistent/rbgpd.sock",
            "show",
            "peer",
            "fe80::1%eth0",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "parsed, then no daemon");
}

/// Sends raw lines and reads one answer line per request line.
fn raw(path: &Path, lines: &str, answers: usize) -> Vec<String> {
    use std::io::{BufRead, BufReader, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(lines.as_bytes()).unwrap();
    let mut r = BufReader::new(s);
    (0..answers)
        .map(|_| {
            let mut l = String::new();
            r.read_line(&mut l).unwrap();
            l
        })
        .collect()
}

#[test]
fn protocol_lines_and_errors() {
    let d = FakeDaemon::start();
    let got = raw(
        &d.path,
        "{\"v\":1,\"cmd\":\"show_summary\"}\n\
         \n\
         {\"cmd\":\"show_peer\",\"address\":\"10.9.9.9\"}\n\
         not json\n\
         {\"v\":2,\"cmd\":\"show_peers\"}\n\
         {\"v\":1,\"cmd\":\"frobnicate\"}\n\
         {\"cmd\":\"show_routes\",\"prefix\":\"10.99.0.0/16\",\"best_only\":true}\n",
        6,
    );
    assert!(got[0].starts_with("{\"v\":1,\"type\":\"summary\",\"summary\":{\"version\":\"0.1.0\""));
    assert_eq!(
        got[1],
        "{\"v\":1,\"type\":\"error\",\"message\":\"no peer 10.9.9.9\"}\n"
    );
    assert!(
        got[2].starts_with("{\"v\":1,\"type\":\"error\",\"message\":\"bad request: expected ident"),
        "{}",
        got[2]
    );
    assert_eq!(
        got[3],
        "{\"v\":1,\"type\":\"error\",\"message\":\"protocol version 2 not supported, this rbgpd speaks 1\"}\n"
    );
    assert!(
        got[4].contains("bad request: unknown variant `frobnicate`"),
        "{}",
        got[4]
    );
    assert_eq!(got[5], "{\"v\":1,\"type\":\"routes\",\"routes\":[]}\n");
    assert_eq!(
        d.last_request(),
        Request::ShowRoutes(RouteQuery {
            prefix: Some("10.99.0.0/16".into()),
            best_only: true,
            ..RouteQuery::default()
        })
    );
}

#[test]
fn socket_mode_stale_socket_and_in_use() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let d = FakeDaemon::start();
    let meta = std::fs::metadata(&d.path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o660);
    // A second server on a live socket refuses to steal it.
    let e = {
        let _g = d.rt.enter();
        server::bind(&d.path).unwrap_err()
    };
    assert_eq!(
        e.to_string(),
        format!(
            "control socket {} is in use: is another rbgpd running?",
            d.path.display()
        )
    );
    // A stale socket file (nobody listening) is replaced.
    let stale = d.dir.join("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let _g = d.rt.enter();
    let l = server::bind(&stale).unwrap();
    drop(l);
}

#[test]
fn refused_reload_exits_1() {
    let d = FakeDaemon::start_with(true);
    let o = d.ctl(&["reload"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
    golden("reload_refused.txt", &String::from_utf8(o.stdout).unwrap());
}

#[test]
fn core_gone_or_silent() {
    let dir = std::env::temp_dir().join(format!("ctl-golden-gone-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let (etx, erx) = broadcast::channel::<Event>(4);
    // A core that has stopped: its receiver is gone.
    let (tx, rx) = mpsc::channel::<CtlCall>(1);
    drop(rx);
    let gone = dir.join("gone.sock");
    let path = gone.clone();
    rt.spawn(async move { server::serve(&path, tx, erx).await.unwrap() });
    // A core that drops the answer channel.
    let (tx2, mut rx2) = mpsc::channel::<CtlCall>(1);
    let drops = dir.join("drops.sock");
    let listener = {
        let _g = rt.enter();
        server::bind(&drops).unwrap()
    };
    rt.spawn(server::serve_listener(listener, tx2, etx.subscribe()));
    rt.spawn(async move {
        while let Some((_req, answer)) = rx2.recv().await {
            drop(answer)
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !gone.exists() {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    let o = Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .arg("--socket")
        .arg(&gone)
        .args(["show", "summary"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        "rbgpctl: rbgpd: rbgpd is shutting down\n"
    );
    let got = raw(&drops, "{\"cmd\":\"reload\"}\n", 1);
    assert_eq!(
        got[0],
        "{\"v\":1,\"type\":\"error\",\"message\":\"rbgpd dropped the request\"}\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
