//! rbgpctl end to end: a fake core answers canned responses through the
//! real control socket server; the real rbgpctl binary talks to it; the
//! output must equal the golden files in tests/golden/ (regenerate with
//! `UPDATE_GOLDEN=1 cargo test -p bgpd --test rbgpctl_golden`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod fake_daemon;

use bgpd::ctl::proto::*;
use bgpd::ctl::server::{self, CtlCall};
use fake_daemon::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};

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
