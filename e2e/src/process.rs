//! Long-running processes (daemons, HTTP servers) started inside a
//! namespace, stopped by PID when dropped.

use crate::netns::{describe, Netns};
use crate::{Error, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Sends `sig` to `pid`; errors (no such process) are ignored.
pub fn signal(pid: i32, sig: i32) {
    if pid > 0 {
        // SAFETY: kill(2) has no memory-safety preconditions; pid > 0 so
        // it targets one process, never a group.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// A process running in a namespace, its output in a log file.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    keep: bool,
}

impl Proc {
    /// Starts `program args` in `ns` (through `ip netns exec`, which execs
    /// it, so the PID is the program's own), stdout and stderr to `log`.
    pub fn spawn(ns: &Netns, name: &str, program: &str, args: &[&str], log: &Path) -> Result<Proc> {
        let file = File::create(log).map_err(|source| Error::Io {
            path: log.into(),
            source,
        })?;
        let err = file.try_clone().map_err(|source| Error::Io {
            path: log.into(),
            source,
        })?;
        let mut cmd = ns.command(program);
        cmd.args(args).stdin(Stdio::null()).stdout(file).stderr(err);
        let child = cmd.spawn().map_err(|source| Error::Spawn {
            cmd: describe(&cmd),
            source,
        })?;
        Ok(Proc {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            keep: false,
        })
    }

    /// Process name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The PID.
    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).unwrap_or(0)
    }

    /// Path of the log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Fails with the log tail if the process has exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(Error::Exited {
                name: self.name.clone(),
                status: status.to_string(),
                log: self.log_tail(30),
            }),
            Err(e) => Err(Error::Exited {
                name: self.name.clone(),
                status: e.to_string(),
                log: self.log_tail(30),
            }),
        }
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Sends `sig` without waiting.
    pub fn signal(&self, sig: i32) {
        signal(self.pid(), sig);
    }

    /// SIGTERM, wait up to `grace`, then SIGKILL; waits for the exit.
    pub fn stop(&mut self, grace: Duration) {
        if !self.is_running() {
            return;
        }
        self.signal(libc::SIGTERM);
        let start = Instant::now();
        while start.elapsed() < grace {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    /// SIGKILL (no chance to say goodbye) and wait for the exit.
    pub fn kill(&mut self) {
        if self.is_running() {
            self.signal(libc::SIGKILL);
        }
        let _ = self.child.wait();
    }

    /// Leaves the process running when this value is dropped (lab-up).
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.keep {
            self.stop(Duration::from_secs(3));
        }
    }
}
