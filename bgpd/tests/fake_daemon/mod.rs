//! A control socket served by the real server and answered with canned
//! responses, for driving the real rbgpctl binary in tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use bgpd::ctl::proto::*;
use bgpd::ctl::server::{self, CtlCall};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// A control socket served by the real server, answered by [`canned`].
pub struct FakeDaemon {
    pub dir: PathBuf,
    pub path: PathBuf,
    pub rt: tokio::runtime::Runtime,
    pub events: Option<broadcast::Sender<Event>>,
    pub seen: Arc<Mutex<Vec<Request>>>,
}

impl FakeDaemon {
    pub fn start() -> FakeDaemon {
        Self::start_with(false)
    }

    /// `refuse_reload`: answer `reload` with a config error.
    pub fn start_with(refuse_reload: bool) -> FakeDaemon {
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

    pub fn ctl(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
            .arg("--socket")
            .arg(&self.path)
            .args(args)
            .env_remove("RBGPD_SOCKET")
            .output()
            .unwrap()
    }

    pub fn last_request(&self) -> Request {
        self.seen.lock().unwrap().last().cloned().unwrap()
    }
}

impl Drop for FakeDaemon {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn fam(f: &str, r: u64, a: u64, adv: u64) -> FamilyCounters {
    FamilyCounters {
        family: f.into(),
        received: r,
        accepted: a,
        advertised: adv,
        next_hop: None,
    }
}

pub fn peers() -> Vec<PeerSummary> {
    // What the peers below have in common; each sets what differs.
    let base = |a: &str, remote_as: u32, state: PeerState| PeerSummary {
        address: ip(a),
        description: None,
        remote_as,
        local_as: 65000,
        state,
        admin_down: false,
        uptime_secs: None,
        down_secs: None,
        families: vec![],
        dynamic: false,
        interface: None,
        bfd: None,
        updates_received: 0,
        updates_sent: 0,
    };
    let established = PeerState::Established;
    let node = |a: &str, up: u64, r: u64| PeerSummary {
        description: Some("kind-cilium nodes".into()),
        uptime_secs: Some(up),
        families: vec![fam("ipv4-unicast", r, r, 6), fam("ipv6-unicast", 0, 0, 0)],
        dynamic: true,
        updates_received: r + 3,
        updates_sent: 12,
        ..base(a, 65100, established)
    };
    let v4_via_v6 = FamilyCounters {
        next_hop: Some("ipv6".into()),
        ..fam("ipv4-unicast", 1, 1, 6)
    };
    vec![
        node("172.18.0.2", 3725, 2),
        node("172.18.0.3", 3724, 2),
        PeerSummary {
            down_secs: Some(42),
            families: vec![fam("ipv4-unicast", 0, 0, 0)],
            ..base("172.19.0.9", 65200, PeerState::Active)
        },
        PeerSummary {
            description: Some("FRR, RFC 8950".into()),
            uptime_secs: Some(61),
            families: vec![v4_via_v6.clone(), fam("ipv6-unicast", 0, 0, 0)],
            ..base("fd00::7", 65300, established)
        },
        PeerSummary {
            uptime_secs: Some(12),
            families: vec![v4_via_v6, fam("ipv6-unicast", 1, 1, 6)],
            dynamic: true,
            interface: Some("eth3".into()),
            bfd: Some("up".into()),
            ..base("fe80::a8c1:abff:fe12:3456", 65400, established)
        },
        PeerSummary {
            description: Some("spare".into()),
            admin_down: true,
            ..base("fd00::9", 65300, PeerState::Idle)
        },
    ]
}

pub fn detail() -> PeerDetail {
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

pub fn path(peer: &str, best: bool, multipath: bool) -> RoutePath {
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

pub fn routes() -> Vec<RouteEntry> {
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

/// Two clusters, one with a node restarting and a service narrower in
/// ECMP than its nodes.
pub fn clusters() -> Vec<bgpd::ctl::clusters::ClusterView> {
    use bgpd::ctl::clusters::*;
    let v4 = |n: usize, eor: usize| ClusterFamily {
        family: "ipv4-unicast".into(),
        sessions: n,
        end_of_rib_received: eor,
        end_of_rib_sent: n,
    };
    vec![
        ClusterView {
            name: "kind-cilium".into(),
            established: 2,
            known: 3,
            families: vec![v4(2, 2)],
            restarting: vec![RestartingNode {
                address: ip("172.18.0.3"),
                stale_secs_left: 97,
            }],
            services: vec![ServiceView {
                prefix: "10.11.192.248/32".into(),
                announcing: 3,
                ecmp_width: 2,
                kernel_width: Some(2),
            }],
        },
        ClusterView {
            name: "kind2".into(),
            established: 3,
            known: 3,
            families: vec![v4(3, 3)],
            ..ClusterView::default()
        },
    ]
}

/// A LoadBalancer address announced by two nodes, one out of ECMP.
pub fn explain(query: &str) -> bgpd::ctl::explain::Explain {
    use bgpd::ctl::explain::*;
    let node = |a: &str, best: bool, origin: &str| ExplainPath {
        path: RoutePath {
            origin: origin.into(),
            best,
            multipath: best,
            ..path(a, best, best)
        },
        peer_as: Some(65100),
        description: Some("kind-cilium nodes".into()),
        candidate: true,
        import: "accepted by policy all".into(),
        lost_at: (!best).then(|| "origin".into()),
        ecmp_split: (!best).then(|| "ORIGIN incomplete vs igp (best)".into()),
        excluded: None,
    };
    Explain {
        query: query.into(),
        prefix: "10.11.192.248/32".into(),
        paths: vec![
            node("172.18.0.2", true, "igp"),
            node("172.18.0.3", false, "incomplete"),
        ],
        ecmp_width: 1,
        kernel: Some(ExplainKernel {
            state: "installed".into(),
            table: 254,
            next_hops: vec!["172.18.0.2".into()],
            nexthop_id: Some(7),
            matches_kernel: true,
            note: None,
        }),
        exports: vec![ExplainExport {
            peer: ip("172.19.0.2"),
            peer_as: 65200,
            description: None,
            exported: true,
            advertised: true,
            rule: "export policy all".into(),
            next_hop: Some("172.19.0.5".into()),
            as_path: Some("65000 65100".into()),
        }],
    }
}

pub fn canned(req: &Request) -> Response {
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
                fib_off: None,
                memory_rss_bytes: Some(13_002_342),
                fib_queued: 0,
                fib_writes: 16,
                core_inputs: 4321,
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
        Request::ShowClusters => Response::Clusters {
            clusters: clusters(),
        },
        Request::Explain { target } => Response::Explain {
            explain: Box::new(explain(target)),
        },
        Request::Watch => Response::Error {
            message: "watch reached the core".into(),
        },
    }
}

pub fn refused_reload() -> Response {
    let text = "[router]\nasn = 65000\nrouter_id = \"172.18.0.5\"\n[[neighbor]]\n\
                address = \"172.18.0.2\"\nremote_as = 65100\nhold_time = 2\nimport = \"x\"\n";
    let err = bgpd::config::parse(text, "/etc/rbgpd/rbgpd.toml").unwrap_err();
    Response::Reload {
        result: ReloadResult::refused(&err),
    }
}

pub fn golden(name: &str, actual: &str) {
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
