//! Whether a test can run here: root, `ip netns`, a peer's binary; and
//! the line a test prints when it cannot.

use std::path::{Path, PathBuf};

/// Whether this process runs as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Finds `program` on `PATH`; an absolute path is taken as it is when the
/// file exists.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Whether `program` is on `PATH` (or an absolute path that exists).
pub fn have(program: &str) -> bool {
    which(program).is_some()
}

/// Why `programs` cannot all be run here (the first one missing), or
/// `None` when they can.
pub fn missing(programs: &[&str]) -> Option<String> {
    programs
        .iter()
        .find(|p| !have(p))
        .map(|p| format!("`{p}` not installed (scripts/install-deps.sh)"))
}

/// Why network namespaces cannot be made here (not root, no `ip`), or
/// `None` when they can.
pub fn netns_unavailable() -> Option<String> {
    if !is_root() {
        return Some("needs root (network namespaces)".into());
    }
    missing(&["ip"])
}

/// The environment variable naming the file where skipped tests are
/// recorded, one line each (`scripts/test.sh` counts them as skips: the
/// test harness itself can only pass them).
pub const SKIP_FILE_ENV: &str = "RBGPD_TEST_SKIPS";

/// Marks the running test as skipped: prints `SKIP: <why>` and, when
/// [`SKIP_FILE_ENV`] names a file, appends `<test>: <why>` to it.
pub fn skip(why: impl std::fmt::Display) {
    println!("SKIP: {why}");
    let Some(path) = std::env::var_os(SKIP_FILE_ENV) else {
        return;
    };
    // nextest runs one test per process as `BINARY --exact NAME ...`.
    let args: Vec<String> = std::env::args().collect();
    let test = args
        .iter()
        .position(|a| a == "--exact")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| std::thread::current().name().map(String::from))
        .unwrap_or_else(|| "?".into());
    use std::io::Write;
    let line = format!("{test}: {why}\n");
    // One short append per skip: lines of tests running at once stay whole.
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("cannot record the skip: {e}");
    }
}

/// `n` distinct TCP ports free on `ip` right now: all are bound at once,
/// so two picks cannot return the same port (as consecutive
/// [`free_port`] calls can).
///
/// # Panics
/// As [`free_port`].
pub fn free_ports(ip: &str, n: usize) -> Vec<u16> {
    let held: Vec<std::net::TcpListener> = (0..n)
        .map(|_| match std::net::TcpListener::bind((ip, 0)) {
            Ok(l) => l,
            Err(e) => panic!("no free port on {ip}: {e}"),
        })
        .collect();
    held.iter()
        .map(|l| match l.local_addr() {
            Ok(a) => a.port(),
            Err(e) => panic!("no free port on {ip}: {e}"),
        })
        .collect()
}

/// A TCP port free on `ip` right now (the OS's pick for port 0).
///
/// # Panics
/// When `ip` is not an address of this host's (or the caller's
/// namespace's).
pub fn free_port(ip: &str) -> u16 {
    match std::net::TcpListener::bind((ip, 0)).and_then(|l| l.local_addr()) {
        Ok(a) => a.port(),
        Err(e) => panic!("no free port on {ip}: {e}"),
    }
}
