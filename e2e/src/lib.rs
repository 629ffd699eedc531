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
//!   its [`testbed::Netns`] deletes it (and kills what runs in it) on
//!   drop;
//! - every process is started through [`testbed::Proc`], which stops it
//!   by PID on drop;
//! - the tests sharing these names must run serially
//!   (`cargo test -p e2e -- --test-threads=1`, or nextest's `e2e` group).

pub mod bfd_node;
pub mod docker;
pub mod dual_stack;
pub mod gobgp;
pub mod http;
pub mod ipv6;
pub mod kernel;
pub mod node;
pub mod rogue;
pub mod router;
pub mod router_conf;
pub mod tmux;
pub mod topology;

use std::path::PathBuf;
use std::time::Duration;

/// Prefix of every namespace (and lab directory) the harness creates.
pub const NS_PREFIX: &str = "rb-";

/// Errors of the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command, namespace, process or wait of the test bed failed.
    #[error(transparent)]
    Testbed(#[from] testbed::Error),
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
}

/// Result type of the harness.
pub type Result<T> = std::result::Result<T, Error>;

/// Whether this process can build the lab: root, `ip netns`, GoBGP.
/// Returns the reason when it cannot.
pub fn lab_unavailable_reason() -> Option<String> {
    testbed::netns_unavailable().or_else(|| testbed::missing(&["gobgpd", "gobgp"]))
}

/// [`testbed::wait::poll`] with the harness's errors: polls `f` every
/// `every` until it returns `Ok(Some(v))` or `timeout` passes; the last
/// `Err` or `what` describes the failure.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    f: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    Ok(testbed::wait::poll(what, timeout, every, f)?)
}
