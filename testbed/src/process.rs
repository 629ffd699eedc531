//! Child processes (daemons, peers, servers) with their output in a log
//! file, stopped by PID when dropped.

use crate::netns::Netns;
use crate::{describe, Error, Result};
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Sends `sig` to process `pid` (never to a group: `pid` must be > 0).
pub fn signal(pid: i32, sig: i32) -> std::io::Result<()> {
    if pid <= 0 {
        return Err(std::io::Error::from(std::io::ErrorKind::InvalidInput));
    }
    // SAFETY: kill(2) has no memory-safety preconditions; pid > 0, so it
    // targets one process.
    if unsafe { libc::kill(pid, sig) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A child process whose stdout and stderr go to a log file. Dropping it
/// stops it: SIGTERM, then SIGKILL after a grace time (3 s, or none after
/// [`Proc::kill_on_drop`]), unless [`Proc::keep`] was called.
#[derive(Debug)]
pub struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
    reaped: bool,
    keep: bool,
    drop_grace: Duration,
}

impl Proc {
    /// Spawns `cmd` (stdin from /dev/null, stdout and stderr to a fresh
    /// `log`). The child starts with no signal blocked, whatever the
    /// spawning thread blocks.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Proc> {
        let out =
            File::create(log).map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        let err = out
            .try_clone()
            .map_err(|e| Error::io(format!("dup {}", log.display()), e))?;
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
                Ok(())
            });
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|source| Error::Spawn {
                cmd: describe(&cmd),
                source,
            })?;
        Ok(Proc {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            reaped: false,
            keep: false,
            drop_grace: Duration::from_secs(3),
        })
    }

    /// Spawns `program args` inside `ns` (see [`Proc::spawn`]).
    pub fn spawn_in(
        ns: &Netns,
        name: &str,
        program: impl AsRef<OsStr>,
        args: &[&str],
        log: &Path,
    ) -> Result<Proc> {
        let mut cmd = ns.command(program);
        cmd.args(args);
        Proc::spawn(name, cmd, log)
    }

    /// Drop kills at once (SIGKILL), with no grace time.
    pub fn kill_on_drop(mut self) -> Proc {
        self.drop_grace = Duration::ZERO;
        self
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The PID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file.
    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Its exit status as text once it has exited (reaping it), `None`
    /// while it runs.
    pub fn exited(&mut self) -> Option<String> {
        if self.reaped {
            return Some("reaped".into());
        }
        match self.child.try_wait() {
            Ok(Some(st)) => {
                self.reaped = true;
                Some(st.to_string())
            }
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        self.exited().is_none()
    }

    /// Fails, with the tail of its log, if it has exited.
    pub fn check_running(&mut self) -> Result<()> {
        match self.exited() {
            None => Ok(()),
            Some(status) => Err(Error::Exited {
                name: self.name.clone(),
                status,
                log: self.log_tail(30),
            }),
        }
    }

    /// Sends `sig`; a process already reaped is left alone (its PID may
    /// belong to another by now).
    pub fn signal(&self, sig: i32) -> std::io::Result<()> {
        if self.reaped {
            return Ok(());
        }
        signal(i32::try_from(self.pid()).unwrap_or(0), sig)
    }

    /// Freezes it (SIGSTOP).
    pub fn freeze(&self) -> std::io::Result<()> {
        self.signal(libc::SIGSTOP)
    }

    /// Thaws it (SIGCONT).
    pub fn thaw(&self) -> std::io::Result<()> {
        self.signal(libc::SIGCONT)
    }

    /// Waits for it to exit and reaps it.
    pub fn wait(&mut self) -> Option<ExitStatus> {
        let st = self.child.wait().ok();
        self.reaped = true;
        st
    }

    /// Stops it: SIGTERM (after SIGCONT, should it be frozen), then
    /// SIGKILL if it still runs after `grace`; reaps it.
    pub fn stop(&mut self, grace: Duration) {
        if !self.is_running() {
            return;
        }
        if !grace.is_zero() {
            let _ = self.thaw();
            let _ = self.signal(libc::SIGTERM);
            let start = Instant::now();
            while start.elapsed() < grace {
                if !self.is_running() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        self.kill();
    }

    /// SIGKILL (a crash: no chance to say goodbye) and reap.
    pub fn kill(&mut self) {
        if self.is_running() {
            let _ = self.signal(libc::SIGKILL);
        }
        self.wait();
    }

    /// Leaves the process running when this value is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if !self.keep {
            self.stop(self.drop_grace);
        }
    }
}
