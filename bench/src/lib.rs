//! Side-by-side benchmark harness for rbgpd, BIRD 2, GoBGP and FRR.
//!
//! The daemon under test runs alone in a network namespace; the harness's
//! own BGP speakers (feeders that announce a generated table as fast as
//! TCP allows, and a monitor that only counts what the daemon re-announces)
//! live in a second namespace joined to it by a veth pair. Every daemon
//! gets the same UPDATE bytes ([`workload`]), so the numbers compare.
//!
//! Module map: [`workload`] (the generated table and its UPDATEs;
//! [`workload6`] the IPv6 half of a dual-stack one, scenario F),
//! [`speaker`] (the feeder and monitor sessions; [`counts`] the monitor's
//! prefix sets), [`netns`] (the run's
//! namespaces and veth link, on `testbed`), [`daemons`] (one adapter
//! per daemon: config and command line), [`fib`] (counting kernel routes
//! over netlink), [`procstat`] (peak RSS and CPU time from /proc),
//! [`scenario`] (scenarios and one measured run), [`hold`] (BFD's time to
//! Up and the hold after convergence), [`bfd_table`] and [`bfd_speaker`]
//! (the speakers' BFD sessions, sans-IO and their sockets), [`report`]
//! (medians and the table).

pub mod bfd_speaker;
pub mod bfd_table;
pub mod counts;
pub mod daemons;
pub mod fib;
pub mod flap;
pub mod hold;
pub mod netns;
pub mod procstat;
pub mod report;
pub mod scenario;
pub mod speaker;
pub mod workload;
pub mod workload6;

/// Any failure of the harness.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A socket or file operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A command, namespace or child process of the test bed failed.
    #[error(transparent)]
    Testbed(#[from] testbed::Error),
    /// A BGP session misbehaved (bad message, NOTIFICATION, closed).
    #[error("session {peer}: {detail}")]
    Session {
        /// The peer's address.
        peer: String,
        /// What happened.
        detail: String,
    },
    /// Encoding the workload failed.
    #[error("encoding the workload: {0}")]
    Encode(#[from] bgp_proto::error::EncodeError),
    /// A phase did not finish in time.
    #[error("timed out after {secs} s waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        secs: u64,
    },
    /// A daemon is not installed or not usable.
    #[error("daemon {daemon}: {detail}")]
    Daemon {
        /// The daemon's name.
        daemon: String,
        /// What is wrong.
        detail: String,
    },
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An [`Error::Io`] with context.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// The harness's result type.
pub type Result<T> = std::result::Result<T, Error>;
