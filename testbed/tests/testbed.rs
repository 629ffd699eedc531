//! The test bed against the real system: processes, waits and checks
//! everywhere; namespaces, veth pairs and bridges where root and `ip`
//! are present (else a `SKIP:` line).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};
use testbed::netns::{destroy, list, veth};
use testbed::{Error, Netns, Proc};

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("testbed-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn poll_returns_the_value_or_times_out_with_the_last_error() {
    let mut n = 0;
    let v = testbed::wait::poll(
        "three calls",
        Duration::from_secs(5),
        Duration::ZERO,
        || {
            n += 1;
            Ok::<_, String>((n == 3).then_some(n))
        },
    );
    assert_eq!(v.unwrap(), 3);
    let e = testbed::wait::poll(
        "never",
        Duration::from_millis(50),
        Duration::from_millis(10),
        || Err::<Option<()>, _>("still down"),
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Timeout { .. }), "{text}");
    assert!(text.contains("never (last: still down)"), "{text}");
}

#[test]
#[should_panic(expected = "timed out after 1.0 s waiting for nothing")]
fn wait_for_panics_after_its_time() {
    testbed::wait::wait_for("nothing", 1, || false);
}

#[test]
fn settles_waits_for_a_stable_run() {
    let start = Instant::now();
    testbed::wait::settles("after 300 ms", 5, 1, || {
        start.elapsed() > Duration::from_millis(300)
    });
    assert!(start.elapsed() >= Duration::from_millis(1300));
}

#[test]
fn prerequisites_are_found_on_path_or_by_absolute_path() {
    assert!(testbed::have("sh"));
    assert!(testbed::have("/bin/sh"));
    assert!(!testbed::have("/no/such/program"));
    let why = testbed::missing(&["sh", "no-such-program-rbgpd"]).unwrap();
    assert!(why.contains("no-such-program-rbgpd"), "{why}");
    assert_eq!(testbed::missing(&["sh"]), None);
    assert_ne!(testbed::free_port("127.0.0.1"), 0);
}

#[test]
fn proc_logs_reports_exit_and_stops_by_pid() {
    let dir = scratch("proc");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "echo one; echo two >&2; exit 3"]);
    let mut p = Proc::spawn("short", cmd, &dir.join("short.log")).unwrap();
    testbed::wait::wait_for("exit", 5, || !p.is_running());
    let err = p.check_running().unwrap_err().to_string();
    assert!(err.contains("short exited early"), "{err}");
    assert_eq!(p.log_tail(2), "one\ntwo");

    // A process that ignores SIGTERM is killed after the grace time.
    let mut cmd = Command::new("sh");
    cmd.args(["-c", "trap '' TERM; while :; do sleep 0.1; done"]);
    let mut p = Proc::spawn("stubborn", cmd, &dir.join("stubborn.log")).unwrap();
    let pid = i32::try_from(p.pid()).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    p.freeze().unwrap();
    let t = Instant::now();
    p.stop(Duration::from_millis(300));
    assert!(t.elapsed() >= Duration::from_millis(300));
    assert!(!p.is_running());
    assert!(testbed::process::signal(pid, 0).is_err(), "reaped");

    // Dropping one stops it.
    let mut cmd = Command::new("sleep");
    cmd.arg("30");
    let p = Proc::spawn("sleeper", cmd, &dir.join("sleep.log")).unwrap();
    let pid = i32::try_from(p.pid()).unwrap();
    drop(p);
    assert!(testbed::process::signal(pid, 0).is_err(), "gone after drop");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn namespaces_veth_bridge_and_threads_inside() {
    if let Some(why) = testbed::netns_unavailable() {
        testbed::skip(why);
        return;
    }
    let me = std::process::id();
    let (a_name, b_name) = (format!("rbtb-{me}-a"), format!("rbtb-{me}-b"));
    let a = Netns::create(&a_name).unwrap();
    let mut stale = Netns::create(&b_name).unwrap();
    stale.keep();
    // A stale namespace of the same name is replaced.
    let b = Netns::create(&b_name).unwrap();

    veth(&a, "tb0", &b, "tb1").unwrap();
    b.bridge("tbbr").unwrap();
    b.enslave("tb1", "tbbr").unwrap();
    a.add_addr("tb0", "10.97.0.1/24").unwrap();
    a.add_addr("tb0", "fd97::1/64").unwrap();
    a.link_up("tb0").unwrap();
    b.add_addr("tbbr", "10.97.0.2/24").unwrap();
    let link = b.ip(&["link", "show", "tb1"]).unwrap();
    assert!(link.contains("master tbbr"), "{link}");
    // A socket made by a thread inside stays there: a listener in b is
    // reached from a through the veth and the bridge.
    let listener = b
        .run(|| std::net::TcpListener::bind("10.97.0.2:0").unwrap())
        .unwrap();
    let to = listener.local_addr().unwrap();
    testbed::wait::wait_for("a TCP connection through the veth", 10, || {
        a.run(|| std::net::TcpStream::connect_timeout(&to, Duration::from_secs(1)).is_ok())
            .unwrap()
    });
    assert!(std::net::TcpStream::connect_timeout(&to, Duration::from_millis(200)).is_err());

    // A thread inside sees the namespace's links; a panic comes back.
    let links = a
        .run(|| std::fs::read_to_string("/proc/thread-self/net/dev").unwrap())
        .unwrap();
    assert!(links.contains("tb0"), "{links}");
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        a.run(|| panic!("inside")).unwrap();
    }));
    assert!(caught.is_err());

    // What runs inside dies with the namespace; `open` handles leave it.
    let dir = scratch("netns");
    let p = Proc::spawn_in(&a, "sleeper", "sleep", &["30"], &dir.join("s.log")).unwrap();
    let pid = i32::try_from(p.pid()).unwrap();
    testbed::wait::wait_for("the sleeper inside", 5, || a.pids() == vec![pid]);
    drop(Netns::open(&a_name));
    assert!(list().unwrap().contains(&a_name));
    drop(a);
    drop(b);
    let names = list().unwrap();
    assert!(
        !names.contains(&a_name) && !names.contains(&b_name),
        "{names:?}"
    );
    drop(p);
    destroy(&a_name);
    let _ = std::fs::remove_dir_all(&dir);
}
