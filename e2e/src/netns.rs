//! Network namespaces, veth pairs and bridges, driven through `ip`.
//!
//! A [`Netns`] owns its namespace: dropping it kills every process still
//! inside (by PID, from `ip netns pids`) and deletes the namespace, which
//! also destroys the veth ends and bridges living in it.

use crate::{Error, Result, NS_PREFIX};
use std::process::{Command, Output};
use std::time::Duration;

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

/// A named network namespace, deleted on drop unless [`Netns::keep`] was called.
#[derive(Debug)]
pub struct Netns {
    name: String,
    keep: bool,
}

impl Netns {
    /// Creates namespace `name` (which must start with `rb-`), removing a
    /// stale one of that name first, and brings its `lo` up.
    pub fn create(name: &str) -> Result<Netns> {
        if !name.starts_with(NS_PREFIX) {
            return Err(Error::Parse {
                what: "namespace name".into(),
                detail: format!("{name} does not start with {NS_PREFIX}"),
            });
        }
        if list()?.iter().any(|n| n == name) {
            destroy(name);
        }
        run(Command::new("ip").args(["netns", "add", name]))?;
        let ns = Netns {
            name: name.to_string(),
            keep: false,
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// Names the network namespace of process `pid` (a container's) as
    /// `name`, so that it can be used like one made by [`Netns::create`].
    /// Dropping it kills what runs inside and removes the name.
    pub fn attach(name: &str, pid: i32) -> Result<Netns> {
        if !name.starts_with(NS_PREFIX) {
            return Err(Error::Parse {
                what: "namespace name".into(),
                detail: format!("{name} does not start with {NS_PREFIX}"),
            });
        }
        if list()?.iter().any(|n| n == name) {
            destroy(name);
        }
        run(Command::new("ip").args(["netns", "attach", name, &pid.to_string()]))?;
        let ns = Netns {
            name: name.to_string(),
            keep: false,
        };
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// Runs `program args` inside the namespace; fails on a non-zero exit.
    pub fn exec(&self, program: &str, args: &[&str]) -> Result<String> {
        run(self.command(program).args(args))
    }

    /// Runs `ip args` inside the namespace.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        run(Command::new("ip").args(["-n", &self.name]).args(args))
    }

    /// Sets a sysctl inside the namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        self.exec("sysctl", &["-q", "-w", &format!("{key}={value}")])
            .map(|_| ())
    }

    /// PIDs of the processes running inside the namespace.
    pub fn pids(&self) -> Vec<i32> {
        pids(&self.name)
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

    /// Leaves the namespace in place when this value is dropped (lab-up).
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

fn pids(name: &str) -> Vec<i32> {
    let out = Command::new("ip").args(["netns", "pids", name]).output();
    match out {
        Ok(o) => String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Kills what runs in namespace `name` (TERM, then KILL) and deletes it.
/// Errors are ignored: this is cleanup.
pub fn destroy(name: &str) {
    let victims = pids(name);
    for &pid in &victims {
        crate::process::signal(pid, libc::SIGTERM);
    }
    for _ in 0..30 {
        if pids(name).is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    for pid in pids(name) {
        crate::process::signal(pid, libc::SIGKILL);
    }
    let _ = Command::new("ip").args(["netns", "del", name]).output();
}

/// Deletes every namespace whose name starts with `rb-` (lab-down).
/// Returns the names deleted.
pub fn destroy_all_lab() -> Result<Vec<String>> {
    let names: Vec<String> = list()?
        .into_iter()
        .filter(|n| n.starts_with(NS_PREFIX))
        .collect();
    for n in &names {
        destroy(n);
    }
    Ok(names)
}

/// Creates a veth pair: `a_if` in `a`, `b_if` in `b`, both left down.
pub fn veth(a: &Netns, a_if: &str, b: &Netns, b_if: &str) -> Result<()> {
    a.ip(&[
        "link",
        "add",
        a_if,
        "type",
        "veth",
        "peer",
        "name",
        b_if,
        "netns",
        b.name(),
    ])
    .map(|_| ())
}

/// Creates bridge `br` in `ns` and brings it up.
pub fn bridge(ns: &Netns, br: &str) -> Result<()> {
    ns.ip(&["link", "add", br, "type", "bridge"])?;
    ns.ip(&["link", "set", br, "up"]).map(|_| ())
}

/// Attaches `port` (in `ns`) to bridge `br` and brings it up.
pub fn attach(ns: &Netns, port: &str, br: &str) -> Result<()> {
    ns.ip(&["link", "set", port, "master", br])?;
    ns.ip(&["link", "set", port, "up"]).map(|_| ())
}

/// Creates a veth pair: `ns_if` in `ns`, `host_if` in the host's
/// namespace (e.g. to join a Docker network's bridge), both left down.
/// Deleting `ns` deletes both ends.
pub fn veth_to_host(ns: &Netns, ns_if: &str, host_if: &str) -> Result<()> {
    run(Command::new("ip").args([
        "link",
        "add",
        host_if,
        "type",
        "veth",
        "peer",
        "name",
        ns_if,
        "netns",
        ns.name(),
    ]))
    .map(|_| ())
}
