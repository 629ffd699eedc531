//! End-to-end harness: the two-cluster Cilium lab of `shared/LAB.md`,
//! rebuilt from network namespaces with real GoBGP speakers.
//!
//! DOC: every node is a network namespace (`rb-c1-cp`, ...) running a
//! `gobgpd` configured as Cilium configures its embedded GoBGP, announcing
//! the node's pod /24 and its cluster's LoadBalancer /32, and serving HTTP
//! on port 80 from addresses on `lo`. The router namespace (`rb-router`)
//! runs either BIRD 2 (the write-up's router, the yardstick) or rbgpd.
//! The two cluster networks are bridges inside a dedicated switch
//! namespace (`rb-switch`), so nothing touches the host's networking.
//! Or, as the write-up ran it ([`topology::BridgeKind::Docker`]), they are
//! the Docker networks `kind` and `kind2` and the router is the rbgpd
//! image as the container `rb-bgp-router` on them ([`docker`]).
//!
//! Invariants:
//! - every namespace this crate creates is named `rb-*` ([`NS_PREFIX`]);
//!   [`netns::Netns`] deletes it (and kills what runs in it) on drop;
//! - every process is started through [`process::Proc`], which stops it
//!   by PID on drop;
//! - the tests sharing these names must run serially
//!   (`cargo test -p e2e -- --test-threads=1`, or nextest's `e2e` group).

pub mod docker;
pub mod gobgp;
pub mod http;
pub mod kernel;
pub mod netns;
pub mod process;
pub mod rogue;
pub mod router;
pub mod topology;

use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Prefix of every namespace (and lab directory) the harness creates.
pub const NS_PREFIX: &str = "rb-";

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command ran but exited unsuccessfully.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        /// The command line.
        cmd: String,
        /// Exit status as text.
        status: String,
        /// What it printed on stderr (trimmed).
        stderr: String,
    },
    /// A command could not be started.
    #[error("could not run `{cmd}`: {source}")]
    Spawn {
        /// The command line.
        cmd: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// File I/O failed.
    #[error("i/o on {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Network I/O failed (rogue peer, HTTP).
    #[error("network i/o with {peer}: {source}")]
    Net {
        /// The remote end.
        peer: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Waited too long for a condition.
    #[error("timed out after {secs:.1} s waiting for {what}")]
    Timeout {
        /// What was awaited, with the last observed state.
        what: String,
        /// How long we waited.
        secs: f64,
    },
    /// A tool printed something we could not understand.
    #[error("cannot parse output of {what}: {detail}")]
    Parse {
        /// Which tool.
        what: String,
        /// What went wrong.
        detail: String,
    },
    /// A required program or binary is not available.
    #[error("missing: {0}")]
    Missing(String),
    /// A process exited when it should be running.
    #[error("{name} exited early ({status}); log tail:\n{log}")]
    Exited {
        /// Process name.
        name: String,
        /// Exit status as text.
        status: String,
        /// Last lines of its log.
        log: String,
    },
}

/// Result type of the harness.
pub type Result<T> = std::result::Result<T, Error>;

/// Polls `f` every `every` until it returns `Ok(Some(v))` or `timeout`
/// passes; the last `Err` or `what` describes the failure.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last = e.to_string(),
        }
        if start.elapsed() >= timeout {
            let what = if last.is_empty() {
                what.to_string()
            } else {
                format!("{what} (last: {last})")
            };
            return Err(Error::Timeout {
                what,
                secs: timeout.as_secs_f64(),
            });
        }
        std::thread::sleep(every);
    }
}

/// Whether this process can build the lab: root, `ip netns` works.
/// Returns the reason when it cannot.
pub fn lab_unavailable_reason() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    let euid = unsafe { libc::geteuid() };
    if euid != 0 {
        return Some("needs root (network namespaces)".into());
    }
    for tool in ["ip", "gobgpd", "gobgp"] {
        if which(tool).is_none() {
            return Some(format!("`{tool}` not found (run scripts/install-deps.sh)"));
        }
    }
    None
}

/// Finds `program` on `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}
