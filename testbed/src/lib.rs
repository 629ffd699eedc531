//! Test support shared by the workspace's labs, benchmarks and tests.
//!
//! DOC: everything here builds or inspects throw-away networks on this
//! host through `ip` and a few syscalls, and cleans up after itself:
//! - [`netns`]: named network namespaces ([`Netns`]), veth pairs, bridges,
//!   addresses, commands run inside (`ip netns exec`) and threads moved
//!   inside (`setns(2)`);
//! - [`process`]: child processes ([`Proc`]) with their output in a log
//!   file, stopped by PID on drop;
//! - [`wait`]: polling until a condition holds, or proving it keeps
//!   holding;
//! - [`prereq`]: whether a test can run here (root, `ip netns`, a peer's
//!   binary), and the `SKIP:` line a test prints when it cannot.
//!
//! Invariants:
//! - a [`Netns`] deletes the namespace it created (killing, by PID, what
//!   still runs inside) when dropped, unless told to keep it;
//! - a [`Proc`] stops its own child by PID when dropped; nothing here
//!   kills by name.

pub mod netns;
pub mod prereq;
pub mod process;
pub mod wait;

pub use netns::Netns;
pub use prereq::{free_port, free_ports, have, is_root, missing, netns_unavailable, skip, which};
pub use process::Proc;

use std::process::{Command, Output};

/// Errors of the test bed.
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
    /// A file or system call failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Waited too long for a condition.
    #[error("timed out after {secs:.1} s waiting for {what}")]
    Timeout {
        /// What was awaited, with the last error seen.
        what: String,
        /// How long we waited.
        secs: f64,
    },
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
    /// A thread moved into a namespace panicked.
    #[error("the thread inside namespace {0} panicked")]
    Panicked(String),
}

impl Error {
    /// An [`Error::Io`] with context.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}

/// Result type of the test bed.
pub type Result<T> = std::result::Result<T, Error>;

/// Runs a command to completion; fails on a non-zero exit. Returns stdout.
pub fn run(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    if !out.status.success() {
        return Err(Error::Command {
            cmd: describe(cmd),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command to completion and returns its output, whatever the exit.
pub fn output(cmd: &mut Command) -> Result<Output> {
    cmd.output().map_err(|source| Error::Spawn {
        cmd: describe(cmd),
        source,
    })
}

/// The command line of `cmd`, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
