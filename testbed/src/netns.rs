//! Network namespaces, veth pairs and bridges, driven through `ip`.
//!
//! A [`Netns`] owns the namespace it created: dropping it kills every
//! process still inside (by PID, from `ip netns pids`) and deletes the
//! namespace, which also destroys the veth ends and bridges living in it.

use crate::process::signal;
use crate::{run, Error, Result};
use std::ffi::OsStr;
use std::fs::File;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::time::Duration;

/// A named network namespace, deleted on drop unless kept.
#[derive(Debug)]
pub struct Netns {
    name: String,
    keep: bool,
}

impl Netns {
    /// Creates namespace `name`, removing a stale one of that name first,
    /// and brings its `lo` up.
    pub fn create(name: &str) -> Result<Netns> {
        Netns::fresh(name, &["add", name])
    }

    /// Names the network namespace of process `pid` (a container's) as
    /// `name`, so that it can be used like one made by [`Netns::create`].
    /// Dropping it kills what runs inside and removes the name.
    pub fn attach(name: &str, pid: i32) -> Result<Netns> {
        Netns::fresh(name, &["attach", name, &pid.to_string()])
    }

    fn fresh(name: &str, ip_netns: &[&str]) -> Result<Netns> {
        if list()?.iter().any(|n| n == name) {
            destroy(name);
        }
        run(Command::new("ip").arg("netns").args(ip_netns))?;
        let ns = Netns {
            name: name.to_string(),
            keep: false,
        };
        ns.link_up("lo")?;
        Ok(ns)
    }

    /// A handle on an existing namespace `name` (made elsewhere, e.g. by
    /// another handle moved into a thread); dropping it leaves the
    /// namespace in place.
    pub fn open(name: &str) -> Netns {
        Netns {
            name: name.to_string(),
            keep: true,
        }
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace (`ip netns exec`
    /// execs it, so the child's PID is the program's own).
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).arg(program);
        c
    }

    /// Runs `program args` inside the namespace; fails on a non-zero exit.
    /// Returns stdout.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String> {
        run(self.command(program).args(args))
    }

    /// Drops every packet in and out of the namespace (an nftables table
    /// `cut` on the input and output hooks): a node gone silent, nothing
    /// closed. [`Netns::restore_packets`] takes the table away.
    pub fn drop_all_packets(&self) -> Result<()> {
        self.exec(
            "nft",
            &["add table inet cut; \
               add chain inet cut in { type filter hook input priority -300; policy drop; }; \
               add chain inet cut out { type filter hook output priority -300; policy drop; }"],
        )
        .map(|_| ())
    }

    /// Undoes [`Netns::drop_all_packets`].
    pub fn restore_packets(&self) -> Result<()> {
        self.exec("nft", &["delete table inet cut"]).map(|_| ())
    }

    /// Runs `ip -n NAME args`. Returns stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        run(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// Feeds `lines` (one `ip` command a line) to `ip -n NAME -batch -`.
    pub fn ip_batch(&self, lines: &str) -> Result<()> {
        let mut cmd = Command::new("ip");
        cmd.args(["-n", &self.name, "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|source| Error::Spawn {
            cmd: crate::describe(&cmd),
            source,
        })?;
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
                cmd: crate::describe(&cmd),
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(())
    }

    /// Brings link `dev` up.
    pub fn link_up(&self, dev: &str) -> Result<()> {
        self.ip(&["link", "set", dev, "up"]).map(drop)
    }

    /// Adds address `cidr` (e.g. `10.0.0.1/24`) to `dev`; IPv6 addresses
    /// skip duplicate address detection, so they are usable at once.
    pub fn add_addr(&self, dev: &str, cidr: &str) -> Result<()> {
        let mut args = vec!["addr", "add", cidr, "dev", dev];
        if cidr.contains(':') {
            args.push("nodad");
        }
        self.ip(&args).map(drop)
    }

    /// Creates a veth pair with both ends, `a` and `b`, in this namespace,
    /// both left down.
    pub fn veth_pair(&self, a: &str, b: &str) -> Result<()> {
        self.ip(&["link", "add", a, "type", "veth", "peer", "name", b])
            .map(drop)
    }

    /// Creates bridge `br` and brings it up.
    pub fn bridge(&self, br: &str) -> Result<()> {
        self.ip(&["link", "add", br, "type", "bridge"])?;
        self.link_up(br)
    }

    /// Attaches `port` to bridge `br` and brings the port up.
    pub fn enslave(&self, port: &str, br: &str) -> Result<()> {
        self.ip(&["link", "set", port, "master", br])?;
        self.link_up(port)
    }

    /// Sets a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec("sysctl", &["-q", "-w", &format!("{key}={value}")])
            .map(drop)
    }

    /// PIDs of the processes running inside the namespace.
    pub fn pids(&self) -> Vec<i32> {
        pids(&self.name)
    }

    /// Moves the *calling thread* into the namespace (`setns(2)`): sockets
    /// it opens afterwards, and threads it spawns, live there.
    pub fn enter(&self) -> Result<()> {
        let path = format!("/run/netns/{}", self.name);
        let f = File::open(&path).map_err(|e| Error::io(format!("open {path}"), e))?;
        // SAFETY: setns(2) on a valid namespace fd only changes the calling
        // thread's network namespace.
        let rc = unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
        if rc != 0 {
            return Err(Error::io(
                format!("setns {}", self.name),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Runs `f` on a new thread that entered the namespace first, and
    /// returns its result; a panic in `f` is resumed in the caller.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> T + Send) -> Result<T> {
        std::thread::scope(|s| {
            let joined = s
                .spawn(|| {
                    self.enter()?;
                    Ok(f())
                })
                .join();
            match joined {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        })
    }

    /// Removes the name only: what runs inside keeps running and the
    /// namespace lives on as long as its processes (for a name given by
    /// [`Netns::attach`] to a container about to be stopped by Docker).
    /// Commands through this value fail afterwards.
    pub fn detach(&mut self) {
        self.keep = true;
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }

    /// Leaves the namespace in place when this value is dropped.
    pub fn keep(&mut self) {
        self.keep = true;
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if !self.keep {
            destroy(&self.name);
        }
    }
}

/// Names of all namespaces on the host.
pub fn list() -> Result<Vec<String>> {
    let out = run(Command::new("ip").args(["netns", "list"]))?;
    Ok(out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect())
}

/// PIDs of the processes in namespace `name`, never this process's own.
fn pids(name: &str) -> Vec<i32> {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    match Command::new("ip").args(["netns", "pids", name]).output() {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter(|&p| p != me)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Kills what runs in namespace `name` by PID (SIGTERM, SIGKILL after 3 s)
/// and deletes it. Errors are ignored: this is cleanup.
pub fn destroy(name: &str) {
    let victims = pids(name);
    if !victims.is_empty() {
        for &pid in &victims {
            let _ = signal(pid, libc::SIGTERM);
        }
        for _ in 0..30 {
            if pids(name).is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for pid in pids(name) {
            let _ = signal(pid, libc::SIGKILL);
        }
    }
    let _ = Command::new("ip").args(["netns", "del", name]).output();
}

/// Destroys every namespace whose name starts with `prefix`; returns the
/// names.
pub fn destroy_matching(prefix: &str) -> Result<Vec<String>> {
    let names: Vec<String> = list()?
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect();
    for n in &names {
        destroy(n);
    }
    Ok(names)
}

/// Creates a veth pair: `a_if` in `a`, `b_if` in `b`, both left down.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<()> {
    a.ip(&[
        "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", &b.name,
    ])
    .map(drop)
}

/// Creates a veth pair: `ns_if` in `ns`, `host_if` in the host's
/// namespace (e.g. to join a Docker network's bridge), both left down.
/// Deleting `ns` deletes both ends.
pub fn veth_to_host(ns: &Netns, ns_if: &str, host_if: &str) -> Result<()> {
    run(Command::new("ip").args([
        "link", "add", host_if, "type", "veth", "peer", "name", ns_if, "netns", &ns.name,
    ]))
    .map(drop)
}
