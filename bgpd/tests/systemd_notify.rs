//! What the systemd unit (debian/rbgpd.service, `Type=notify`,
//! `WatchdogSec=`, `ExecReload=rbgpctl reload`) relies on, against the real
//! daemon and a stand-in for systemd's notification socket: `READY=1` comes
//! once the control socket answers and the BGP listener accepts, `WATCHDOG=1`
//! at half the watchdog period, `RELOADING=1` then `READY=1` around a reload
//! (and `rbgpctl reload` fails on a refused config, so `systemctl reload`
//! does), `STOPPING=1` on SIGTERM. Loopback only; no root needed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The notifications received within `within`, until one contains `until`.
fn receive_until(sock: &UnixDatagram, until: &str, within: Duration) -> Vec<String> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        sock.set_read_timeout(Some(deadline - Instant::now()))
            .unwrap();
        match sock.recv(&mut buf) {
            Ok(n) => {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = text.lines().any(|l| l == until);
                got.push(text);
                if done {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    got
}

fn has(got: &[String], line: &str) -> bool {
    got.iter().any(|m| m.lines().any(|l| l == line))
}

fn rbgpctl(socket: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rbgpctl"))
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn ready_watchdog_reload_and_stopping_reach_the_notify_socket() {
    let dir = std::env::temp_dir().join(format!("rbgpd-notify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let notify = dir.join("notify.sock");
    let sock = UnixDatagram::bind(&notify).unwrap();
    let ctl = dir.join("ctl.sock");
    let port = testbed::free_port("127.0.0.1");
    let config = dir.join("rbgpd.toml");
    let text = format!(
        "[router]\nasn = 65000\nrouter_id = \"10.0.0.1\"\nlisten = [\"127.0.0.1:{port}\"]\n\
         [fib]\nenabled = false\n[control]\nsocket = \"{}\"\n",
        ctl.display()
    );
    std::fs::write(&config, &text).unwrap();

    let child = Command::new(env!("CARGO_BIN_EXE_rbgpd"))
        .arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &notify)
        // 400 ms: a ping every 200 ms.
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _daemon = Daemon(child);

    let got = receive_until(&sock, "READY=1", Duration::from_secs(20));
    assert!(has(&got, "READY=1"), "no READY=1: {got:?}");
    // Ready means both sockets are bound: neither is refused now.
    let summary = rbgpctl(&ctl, &["show", "summary"]);
    assert!(summary.status.success(), "{summary:?}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());

    // Pings keep coming, not only one at the start.
    for _ in 0..3 {
        let got = receive_until(&sock, "WATCHDOG=1", Duration::from_secs(3));
        assert!(has(&got, "WATCHDOG=1"), "no watchdog ping: {got:?}");
    }

    let reload = rbgpctl(&ctl, &["reload"]);
    assert!(reload.status.success(), "{reload:?}");
    let got = receive_until(&sock, "READY=1", Duration::from_secs(5));
    assert!(has(&got, "RELOADING=1"), "no RELOADING=1: {got:?}");
    assert!(
        got.iter()
            .any(|m| m.starts_with("RELOADING=1\nMONOTONIC_USEC=")),
        "RELOADING=1 without the time systemd 253 wants: {got:?}"
    );

    // A refused config: the reload fails (so does `systemctl reload`), the
    // daemon runs on and says it is ready again.
    std::fs::write(&config, text.replace("asn = 65000", "asn = \"x\"")).unwrap();
    let refused = rbgpctl(&ctl, &["reload"]);
    assert!(!refused.status.success(), "{refused:?}");
    let got = receive_until(&sock, "READY=1", Duration::from_secs(5));
    assert!(has(&got, "READY=1"), "{got:?}");

    let killed = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let got = receive_until(&sock, "STOPPING=1", Duration::from_secs(10));
    assert!(has(&got, "STOPPING=1"), "no STOPPING=1: {got:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
