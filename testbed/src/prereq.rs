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

/// Prints the line that marks a skipped test: `SKIP: <why>`.
pub fn skip(why: impl std::fmt::Display) {
    println!("SKIP: {why}");
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
