//! Network namespaces, the veth link between them, and child processes;
//! all of it is removed on drop.
//!
//! Layout of one run: namespace `rbbench-<pid>-dut` holds the daemon and
//! veth end `rbb0` (10.99.0.1/16); `rbbench-<pid>-peers` holds `rbb1`
//! with the monitor's address (10.99.0.2) and one address per feeder. The
//! /16 leaves room for the 1,000 sessions of scenario D.

use crate::{Error, Result};
use std::fs::File;
use std::io::Write;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Every namespace the harness makes starts with this.
pub const NS_PREFIX: &str = "rbbench-";
/// The daemon's address.
pub const DUT_ADDR: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 1);
/// The monitor's address.
pub const MONITOR_ADDR: Ipv4Addr = Ipv4Addr::new(10, 99, 0, 2);

/// Runs a command to completion; fails on a non-zero exit. Returns stdout.
pub fn run(cmd: &mut Command) -> Result<String> {
    let line = describe(cmd);
    let out = cmd
        .output()
        .map_err(|e| Error::io(format!("spawn {line}"), e))?;
    if !out.status.success() {
        return Err(Error::Command {
            cmd: line,
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
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

/// A named network namespace, deleted on drop after every process left in
/// it is killed (by PID).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates namespace `name` (which must start with [`NS_PREFIX`]) and
    /// brings its `lo` up.
    pub fn create(name: &str) -> Result<Netns> {
        if !name.starts_with(NS_PREFIX) {
            return Err(Error::Usage(format!(
                "{name} does not start with {NS_PREFIX}"
            )));
        }
        if list().iter().any(|n| n == name) {
            destroy(name);
        }
        run(Command::new("ip").args(["netns", "add", name]))?;
        let ns = Netns {
            name: name.to_string(),
        };
        run(Command::new("ip").args(["-n", name, "link", "set", "lo", "up"]))?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command running `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Feeds `lines` to `ip -n NAME -batch -`.
    pub fn ip_batch(&self, lines: &str) -> Result<()> {
        let mut child = Command::new("ip")
            .args(["-n", &self.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::io("spawn ip -batch", e))?;
        if let Some(mut stdin) = child.stdin.take() {
            stdin
                .write_all(lines.as_bytes())
                .map_err(|e| Error::io("write to ip -batch", e))?;
        }
        let out = child
            .wait_with_output()
            .map_err(|e| Error::io("wait for ip -batch", e))?;
        if !out.status.success() {
            return Err(Error::Command {
                cmd: format!("ip -n {} -batch -", self.name),
                detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(())
    }

    /// Moves the *calling thread* into the namespace; threads it spawns
    /// afterwards are born there too.
    pub fn enter(&self) -> Result<()> {
        let path = format!("/run/netns/{}", self.name);
        let f = File::open(&path).map_err(|e| Error::io(format!("open {path}"), e))?;
        // SAFETY: setns on a valid namespace fd only changes this thread's
        // network namespace.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            return Err(Error::io(
                format!("setns {}", self.name),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        destroy(&self.name);
    }
}

/// Kills the processes in `name` and deletes it (best effort).
fn destroy(name: &str) {
    if let Ok(out) = run(Command::new("ip").args(["netns", "pids", name])) {
        for pid in out.split_whitespace().filter_map(|p| p.parse::<i32>().ok()) {
            // SAFETY: plain kill(2) on a PID found inside our namespace.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    }
    let _ = run(Command::new("ip").args(["netns", "del", name]));
}

/// Names of the existing namespaces.
pub fn list() -> Vec<String> {
    run(Command::new("ip").args(["netns", "list"]))
        .map(|out| {
            out.lines()
                .filter_map(|l| l.split_whitespace().next())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Blocks SIGINT and SIGTERM in this thread (call it before any other
/// thread exists, so that all inherit the mask) and starts a thread that
/// waits for them, removes this process's namespaces (killing the daemons
/// inside) and exits. Without it, Ctrl-C would leave namespaces behind.
pub fn cleanup_on_signal() {
    // SAFETY: sigset manipulation on a local set, then pthread_sigmask on
    // the calling thread; sigwait in the helper thread.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        std::thread::spawn(move || {
            let mut sig = 0;
            libc::sigwait(&set, &mut sig);
            let mine = format!("{NS_PREFIX}{}-", std::process::id());
            for name in list().iter().filter(|n| n.starts_with(&mine)) {
                destroy(name);
            }
            eprintln!("bench: stopped by signal {sig}; namespaces removed");
            std::process::exit(130);
        });
    }
}

/// Removes `rbbench-<pid>-*` namespaces whose harness process is gone.
pub fn remove_stale() {
    for name in list() {
        let Some(rest) = name.strip_prefix(NS_PREFIX) else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or_default();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            destroy(&name);
        }
    }
}

/// The two namespaces of a run and the veth pair between them.
#[derive(Debug)]
pub struct Topology {
    /// The daemon's namespace.
    pub dut: Netns,
    /// The speakers' namespace.
    pub peers: Netns,
}

impl Topology {
    /// Builds the topology; `peer_addrs` (besides the monitor's) go on the
    /// speakers' veth end.
    pub fn create(tag: &str, peer_addrs: &[Ipv4Addr]) -> Result<Topology> {
        let me = std::process::id();
        let dut = Netns::create(&format!("{NS_PREFIX}{me}-{tag}-dut"))?;
        let peers = Netns::create(&format!("{NS_PREFIX}{me}-{tag}-peers"))?;
        run(Command::new("ip").args([
            "-n",
            dut.name(),
            "link",
            "add",
            "rbb0",
            "type",
            "veth",
            "peer",
            "name",
            "rbb1",
            "netns",
            peers.name(),
        ]))?;
        dut.ip_batch(&format!(
            "addr add {DUT_ADDR}/16 dev rbb0\nlink set rbb0 up\n"
        ))?;
        let mut lines = format!("addr add {MONITOR_ADDR}/16 dev rbb1\n");
        for a in peer_addrs {
            lines.push_str(&format!("addr add {a}/16 dev rbb1\n"));
        }
        lines.push_str("link set rbb1 up\n");
        peers.ip_batch(&lines)?;
        Ok(Topology { dut, peers })
    }
}

/// A child process, stopped on drop: SIGTERM, then SIGKILL after 3 s.
#[derive(Debug)]
pub struct Proc {
    /// A name for messages.
    pub name: String,
    child: Child,
}

impl Proc {
    /// Spawns `cmd` with stdout and stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Proc> {
        let out =
            File::create(log).map_err(|e| Error::io(format!("create {}", log.display()), e))?;
        let err = out.try_clone().map_err(|e| Error::io("dup log file", e))?;
        // The harness blocks SIGINT and SIGTERM for its signal thread
        // ([`cleanup_on_signal`]); children must not inherit that mask.
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
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
            .map_err(|e| Error::io(format!("spawn {}", describe(&cmd)), e))?;
        Ok(Proc {
            name: name.to_string(),
            child,
        })
    }

    /// The process ID (`ip netns exec` execs the program, so this is the
    /// daemon's own PID).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it has exited (with its status).
    pub fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Some(st.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// Stops the process now (what drop does).
    pub fn stop(&mut self) {
        if self.exited().is_some() {
            return;
        }
        let Ok(pid) = i32::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Raises the open-file limit to the hard limit (1,000 sessions need
/// more than the usual 1,024 descriptors, on both sides).
pub fn raise_nofile() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
