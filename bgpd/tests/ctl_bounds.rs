//! The control socket's bounds: a client limit, a client that never reads
//! its answers does not hold up the others, and only `watch` clients
//! subscribe to the event broadcast (so the core makes events only for
//! them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use bgpd::ctl::proto::{Event, Request, Response};
use bgpd::ctl::server::{self, CtlCall, MAX_CLIENTS};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc};

struct Server {
    path: PathBuf,
    dir: PathBuf,
    events: broadcast::Sender<Event>,
    _rt: tokio::runtime::Runtime,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A control server whose core answers every request with an error line
/// of 4 KiB (so a client that does not read fills its socket quickly).
fn server(name: &str) -> Server {
    let dir = std::env::temp_dir().join(format!("ctl-bounds-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let path = dir.join("rbgpd.sock");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (etx, erx) = broadcast::channel(16);
    let (tx, mut rx) = mpsc::channel::<CtlCall>(64);
    let listener = {
        let _g = rt.enter();
        server::bind(&path).unwrap()
    };
    rt.spawn(server::serve_listener(listener, tx, erx));
    rt.spawn(async move {
        while let Some((_req, answer)) = rx.recv().await {
            let _ = answer.send(Response::Error {
                message: "x".repeat(4096),
            });
        }
    });
    Server {
        path,
        dir,
        events: etx,
        _rt: rt,
    }
}

fn request_line(r: &Request) -> String {
    format!("{}\n", serde_json::to_string(r).unwrap())
}

fn ask(path: &PathBuf) -> String {
    let mut s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request_line(&Request::ShowSummary).as_bytes())
        .unwrap();
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line).unwrap();
    line
}

#[test]
fn clients_beyond_the_limit_are_told_and_closed() {
    let srv = server("limit");
    let held: Vec<UnixStream> = (0..MAX_CLIENTS)
        .map(|_| UnixStream::connect(&srv.path).unwrap())
        .collect();
    // Give the server time to accept them all.
    std::thread::sleep(Duration::from_millis(300));
    let extra = UnixStream::connect(&srv.path).unwrap();
    extra
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(extra).read_line(&mut line).unwrap();
    assert!(line.contains("too many control clients"), "{line}");
    drop(held);
    // Once they are gone, clients are served again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = ask(&srv.path);
        if answer.contains("xxxx") {
            break;
        }
        assert!(Instant::now() < deadline, "{answer}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_that_never_reads_does_not_hold_up_the_others() {
    let srv = server("stuck");
    let mut stuck = UnixStream::connect(&srv.path).unwrap();
    stuck
        .set_write_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Requests whose 4 KiB answers are never read: the answers fill the
    // socket, the server's writer waits, and the client's own requests
    // back up.
    let line = request_line(&Request::ShowPeers);
    for _ in 0..2000 {
        if stuck.write_all(line.as_bytes()).is_err() {
            break;
        }
    }
    for _ in 0..5 {
        assert!(ask(&srv.path).contains("xxxx"));
    }
}

#[test]
fn only_watch_clients_take_an_event_receiver() {
    let srv = server("watch");
    // The server keeps one receiver to subscribe watchers from.
    assert_eq!(srv.events.receiver_count(), 1);
    let idle = UnixStream::connect(&srv.path).unwrap();
    assert!(ask(&srv.path).contains("xxxx"));
    assert_eq!(srv.events.receiver_count(), 1, "a plain client");
    let mut watcher = UnixStream::connect(&srv.path).unwrap();
    watcher
        .write_all(request_line(&Request::Watch).as_bytes())
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while srv.events.receiver_count() != 2 {
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(idle);
}
